#!/usr/bin/env bash
# bench-zkserver.sh - zkserver against Apache ZooKeeper 3.8 standalone under
# the same closed-loop load (server/benches/vs_zookeeper.rs), sized for a
# 2-core machine. Builds zkserver in release (bench profile) first.
#
# Usage: scripts/bench-zkserver.sh [bench args...]
#   defaults: --clients 32 --seconds 20 --warmup 3 --rounds 2
#   e.g.      scripts/bench-zkserver.sh --clients 64 --seconds 30
#             scripts/bench-zkserver.sh --only zkserver --zkserver-arg --events-level --zkserver-arg warn
# Prints the table and the two ratios; writes <target dir>/bench-vs-zookeeper.json.
# Needs java and the Debian zookeeper jars (scripts/setup-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
defaults=(--clients 32 --seconds 20 --warmup 3 --rounds 2)
# Later arguments win, so the caller's override the defaults.
exec cargo bench -p zkserver --bench vs_zookeeper -- "${defaults[@]}" "$@"
