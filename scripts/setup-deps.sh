#!/usr/bin/env bash
# setup-deps.sh - install what the zkops ZooKeeper tooling needs on a Debian
# machine (run as root).  Idempotent: when everything is present it only checks
# and exits (about a second).
#
#   apt:  zookeeper (3.8, Java server + zkCli), zookeeper-bin (C client cli_mt),
#         libslf4j-java (slf4j-simple = the server's logging backend),
#         libservlet-api-java + libjetty9-java (admin server classes),
#         tcpdump, libpcap-dev, netcat-openbsd, python3-venv,
#         tmux (zktraffic top's terminal test), prometheus (promtool lints /metrics),
#         tcpreplay (zktraffic's live benchmark)
#   venv: ${ZKOPS_VENV:-<repo>/.venv} with kazoo==$KAZOO_VERSION from PyPI
#
# Environment: ZKOPS_VENV (venv path), ZKOPS_PYTHON (interpreter for the venv,
# default /usr/bin/python3), SETUP_DEPS_SKIP_APT=1 (skip the apt part).
set -euo pipefail

KAZOO_VERSION=2.11.0
APT_PACKAGES=(
    zookeeper zookeeper-bin
    libslf4j-java libservlet-api-java libjetty9-java
    tcpdump libpcap-dev netcat-openbsd
    python3 python3-venv
    tmux prometheus tcpreplay
)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${ZKOPS_VENV:-$REPO/.venv}
LOG=$(mktemp "${TMPDIR:-/tmp}/zkops-setup-deps.XXXXXX")
trap 'rm -f "$LOG"' EXIT

fail() {
    echo "setup-deps: error: $*" >&2
    if [[ -s $LOG ]]; then
        echo "---- last lines of output ----" >&2
        tail -n 40 "$LOG" >&2
    fi
    exit 1
}

# ---------------------------------------------------------------- apt
pkg_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

if [[ ${SETUP_DEPS_SKIP_APT:-0} != 1 ]]; then
    missing=()
    for p in "${APT_PACKAGES[@]}"; do
        pkg_installed "$p" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        [[ $(id -u) == 0 ]] || fail "need root to install: ${missing[*]}"
        command -v apt-get >/dev/null || fail "apt-get not found (Debian/Ubuntu only): ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        echo "setup-deps: installing ${missing[*]}" >&2
        # Refresh the package lists only when an install is needed and they
        # are absent or the first attempt fails (stale lists).
        if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
            apt-get update -qq >>"$LOG" 2>&1 || fail "apt-get update failed"
        fi
        if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1; then
            apt-get update -qq >>"$LOG" 2>&1 || fail "apt-get update failed"
            apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 ||
                fail "apt-get install ${missing[*]} failed"
        fi
    fi
    for j in zookeeper.jar zookeeper-jute.jar slf4j-api.jar slf4j-simple.jar servlet-api.jar; do
        [[ -e /usr/share/java/$j ]] || fail "/usr/share/java/$j is missing after install"
    done
    command -v java >/dev/null || fail "java is missing after installing zookeeper"
    [[ -x /usr/lib/zookeeper/bin/cli_mt ]] || fail "/usr/lib/zookeeper/bin/cli_mt is missing"
    command -v tcpdump >/dev/null || fail "tcpdump is missing"
fi

# ---------------------------------------------------------------- venv
PY=${ZKOPS_PYTHON:-}
if [[ -z $PY ]]; then
    if [[ -x /usr/bin/python3 ]]; then PY=/usr/bin/python3; else PY=$(command -v python3 || true); fi
fi
[[ -n $PY && -x $PY ]] || fail "no python3 interpreter found"

venv_ok() {
    [[ -x $VENV/bin/python ]] &&
        "$VENV/bin/python" - "$KAZOO_VERSION" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
sys.exit(0 if version("kazoo") == sys.argv[1] else 1)
EOF
}

if ! venv_ok; then
    echo "setup-deps: preparing venv $VENV (kazoo==$KAZOO_VERSION)" >&2
    if [[ ! -x $VENV/bin/python ]]; then
        "$PY" -m venv "$VENV" >>"$LOG" 2>&1 || fail "python venv creation failed ($PY -m venv $VENV)"
    fi
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        "kazoo==$KAZOO_VERSION" >>"$LOG" 2>&1 || fail "pip install kazoo==$KAZOO_VERSION failed"
    venv_ok || fail "kazoo $KAZOO_VERSION not importable from $VENV"
fi

exit 0
