#!/usr/bin/env bash
# The project's main job (README "Run it"): install dependencies, build every
# tool and show what each does. Later issues turn this into a local 3-node
# ensemble with the tools pointed at it.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
"$REPO/scripts/setup-deps.sh"
cargo build --release --workspace --quiet
for bin in zkserver zktraffic zksmoketest zklogview; do
    printf '\n===== %s =====\n' "$bin"
    "target/release/$bin" --help
done
