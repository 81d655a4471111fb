#!/usr/bin/env bash
# capture-peers.sh - regenerate zktraffic/tests/fixtures/zkserver-peers.pcap:
# zkserver's peer protocol (Raft RPCs over TCP) between three real members.
#
#   scripts/capture-peers.sh
#
# Runs the `three_members_elect_replicate_and_fail_over` test of
# server/tests/peer_transport.rs with ZKOPS_PEER_TEST_PORT=$PEER_PORT (default
# 2888, the quorum port zktraffic decodes by default), so its members listen
# on 127.0.0.61-63:$PEER_PORT, while `tcpdump -i lo` records that port on
# those addresses. The workload (what zktraffic/tests/peer_capture.rs checks):
# member 1 initializes {1,2,3}, an election, one create (/peer-a) through the
# leader, the leader is shut down, a second election, a refused Hello (wrong
# cluster) and one for the wrong member, three connections of garbage, a
# correct Hello, a second create (/peer-b) through the new leader.
#
# Environment: FIXTURE_DIR (default <repo>/zktraffic/tests/fixtures), PEER_PORT,
# CARGO_TARGET_DIR (honoured), KEEP_WORK=1 keeps the temporary directory.
# Needs root (tcpdump on lo).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${FIXTURE_DIR:-$REPO/zktraffic/tests/fixtures}
PORT=${PEER_PORT:-2888}
NAME=zkserver-peers.pcap
MAX_BYTES=$((200 * 1024))

say() { echo "capture-peers: $*" >&2; }
die() { say "error: $*"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/zkops-peers.XXXXXX")
. "$REPO/scripts/tcpdump-lib.sh"

cleanup() {
    local rc=$?
    set +e
    stop_tcpdump
    finish_work "$rc"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

test_cmd=(cargo test -p zkserver --test peer_transport)
say "building the test (${test_cmd[*]} --no-run)"
(cd "$REPO" && "${test_cmd[@]}" --no-run) >&2 || die "building the test failed"

pcap=$WORK/$NAME
filter="tcp port $PORT and (host 127.0.0.61 or host 127.0.0.62 or host 127.0.0.63)"
start_tcpdump "$pcap" "$filter"
say "capturing ($filter)"
(cd "$REPO" && ZKOPS_PEER_TEST_PORT=$PORT "${test_cmd[@]}" -- --exact \
    three_members_elect_replicate_and_fail_over) >"$WORK/test.out" 2>&1 ||
    { cat "$WORK/test.out" >&2; die "the test failed"; }
sleep 1 # let the last FIN/ACKs through
stop_tcpdump

size=$(stat -c %s "$pcap")
((size > 0)) || die "empty capture"
((size <= MAX_BYTES)) || die "capture is $size bytes, over $MAX_BYTES"
mkdir -p "$OUT"
cp "$pcap" "$OUT/.$NAME.tmp" && mv "$OUT/.$NAME.tmp" "$OUT/$NAME"
say "captured $OUT/$NAME ($size bytes)"
