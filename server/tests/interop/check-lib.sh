# check-lib.sh - assertions shared by cli_mt.sh and zkcli.sh (sourced).
# Each check prints PASS/FAIL with a description; FAILS counts failures and
# finish() turns it into the exit status.

FAILS=0
CHECKS=0

# expect DESC NEEDLE HAYSTACK: HAYSTACK contains the fixed string NEEDLE
expect() {
    CHECKS=$((CHECKS + 1))
    if grep -qF -- "$2" <<<"$3"; then
        echo "PASS  $1"
    else
        FAILS=$((FAILS + 1))
        echo "FAIL  $1: expected to find: $2"
        sed 's/^/      | /' <<<"$3" | head -n 40
    fi
}

# expect_not DESC NEEDLE HAYSTACK: HAYSTACK does not contain NEEDLE
expect_not() {
    CHECKS=$((CHECKS + 1))
    if grep -qF -- "$2" <<<"$3"; then
        FAILS=$((FAILS + 1))
        echo "FAIL  $1: did not expect: $2"
        sed 's/^/      | /' <<<"$3" | head -n 40
    else
        echo "PASS  $1"
    fi
}

# expect_line DESC LINE HAYSTACK: some line of HAYSTACK is exactly LINE
expect_line() {
    CHECKS=$((CHECKS + 1))
    if grep -qxF -- "$2" <<<"$3"; then
        echo "PASS  $1"
    else
        FAILS=$((FAILS + 1))
        echo "FAIL  $1: expected the line: $2"
        sed 's/^/      | /' <<<"$3" | head -n 40
    fi
}

# expect_no_line DESC LINE HAYSTACK: no line of HAYSTACK is exactly LINE
expect_no_line() {
    CHECKS=$((CHECKS + 1))
    if grep -qxF -- "$2" <<<"$3"; then
        FAILS=$((FAILS + 1))
        echo "FAIL  $1: did not expect the line: $2"
        sed 's/^/      | /' <<<"$3" | head -n 40
    else
        echo "PASS  $1"
    fi
}

# expect_rc DESC WANT GOT
expect_rc() {
    CHECKS=$((CHECKS + 1))
    if [[ $2 == "$3" ]]; then
        echo "PASS  $1"
    else
        FAILS=$((FAILS + 1))
        echo "FAIL  $1: exit status $3, expected $2"
    fi
}

check_hostport() {
    [[ ${1:-} =~ ^[A-Za-z0-9.:-]+:[0-9]+$ ]] || {
        echo "usage: $(basename "$0") HOST:PORT" >&2
        exit 2
    }
}

# check_reachable HOST:PORT: a TCP connection opens within 3 s, else exit 2
# (the clients would otherwise retry until their timeouts)
check_reachable() {
    local host=${1%:*} port=${1##*:}
    if ! timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null; then
        echo "$(basename "$0"): nothing accepts connections on $1" >&2
        exit 2
    fi
}

finish() {
    echo "---- $((CHECKS - FAILS))/$CHECKS checks passed"
    ((FAILS == 0))
}
