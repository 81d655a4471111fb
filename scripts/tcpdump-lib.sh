# Sourced by the capture scripts: start and stop one tcpdump on lo.
# Needs `die` from the caller; sets and clears TCPDUMP_PID.

TCPDUMP_PID=""

start_tcpdump() { # start_tcpdump FILE FILTER: returns once tcpdump is listening
    local file=$1 filter=$2 i
    # -Z root: do not drop to the tcpdump user (it could not write the file);
    # -B: a 16 MiB kernel buffer, so that a busy machine does not drop packets
    # (the cross-check then fails on the missing frames)
    tcpdump -i lo -s 0 -B 16384 -U --immediate-mode -Z root -w "$file" "$filter" 2>"$file.log" &
    TCPDUMP_PID=$!
    for ((i = 0; i < 100; i++)); do
        grep -q "listening on" "$file.log" 2>/dev/null && break
        kill -0 "$TCPDUMP_PID" 2>/dev/null || { cat "$file.log" >&2; die "tcpdump failed to start"; }
        sleep 0.05
    done
    grep -q "listening on" "$file.log" || die "tcpdump did not start listening"
    # Give the kernel filter a moment before the first packet we care about.
    sleep 0.3
}

stop_pid() { # stop_pid PID SIGNAL [SECONDS]: signal, wait (default 5 s), then KILL
    local pid=$1 i
    [[ -n $pid ]] || return 0
    kill "-$2" "$pid" 2>/dev/null || true
    for ((i = 0; i < ${3:-5} * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

stop_tcpdump() { # SIGINT lets tcpdump flush
    stop_pid "$TCPDUMP_PID" INT
    TCPDUMP_PID=""
}

finish_work() { # finish_work RC: keeps $WORK when asked (KEEP_WORK=1) or on failure
    if [[ ${KEEP_WORK:-0} == 1 || $1 != 0 ]]; then
        say "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
