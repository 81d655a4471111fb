#!/usr/bin/env bash
# The project's test command (README "Run the tests"; .ci/run calls exactly this).
# Installs what it needs on a fresh Debian machine, then: format, lint, every
# test, a real ZooKeeper ensemble smoke check, a short fuzz run and a quick
# benchmark pass. Idempotent; fails on the first failure.
#
# Environment: ZKOPS_FUZZ_SECONDS (default 60), ZKOPS_SKIP_BENCH=1.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
FUZZ_SECONDS=${ZKOPS_FUZZ_SECONDS:-60}

step() { printf '\n==> %s\n' "$*"; }

step "dependencies (apt, Python venv with kazoo, cargo-fuzz)"
"$REPO/scripts/setup-deps.sh"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install --locked --quiet cargo-fuzz
fi
export ZKOPS_VENV=${ZKOPS_VENV:-$REPO/.venv}

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo test"
cargo test --workspace --quiet 2>&1 | tee target/test-output.txt
# A suite that silently ran nothing must not pass.
grep -q "test result: ok" target/test-output.txt

step "real Apache ZooKeeper: 3-node ensemble on 127.0.0.11-13 (scripts/zk.sh)"
ZKDIR=$(mktemp -d "${TMPDIR:-/tmp}/zkops-ensemble.XXXXXX")
trap '"$REPO/scripts/zk.sh" stop "$ZKDIR" >/dev/null 2>&1 || true; rm -rf "$ZKDIR"' EXIT
"$REPO/scripts/zk.sh" ensemble "$ZKDIR" 3 --client-port 22181
"$REPO/scripts/zk.sh" status "$ZKDIR" | tee "$ZKDIR/status.txt"
[[ $(awk '$3 == "leader"' "$ZKDIR/status.txt" | wc -l) == 1 ]] || { echo "expected exactly one leader" >&2; exit 1; }
"$REPO/scripts/zk.sh" stop "$ZKDIR"

fuzz() { # crate dir, target, extra libFuzzer flags
    step "fuzz $1/$2 for ${FUZZ_SECONDS}s"
    (
        cd "$1"
        # cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP lets the stable toolchain take them.
        RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz "$2" -- \
            -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -print_final_stats=1 "${@:3}" 2>&1 |
            grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|panicked|SUMMARY"
        # A crash makes cargo fuzz exit non-zero, which fails this script.
        exit "${PIPESTATUS[0]}"
    )
}
fuzz proto decode -malloc_limit_mb=64
fuzz zktraffic pipeline -malloc_limit_mb=128

if [[ ${ZKOPS_SKIP_BENCH:-0} != 1 ]]; then
    step "benchmark (quick pass): zkproto decode vs plain copy"
    cargo bench -p zkproto --bench decode -- --warm-up-time 1 --measurement-time 2 2>&1 |
        grep -E "^(mixed_stream|zkproto decode)|thrpt"
fi

step "all checks passed"
# The closing line CI reads: totals over every cargo test binary above.
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' target/test-output.txt
