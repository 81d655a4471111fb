#!/usr/bin/env bash
# zk.sh - run real Apache ZooKeeper 3.8 (Debian's `zookeeper` package) on
# loopback addresses, by hand or from test/capture scripts.
#
# Usage:
#   zk.sh standalone DIR [--port P] [--addr A] [--tick MS] [key=value ...]
#   zk.sh ensemble   DIR N [--client-port P] [--quorum-port P] [--election-port P]
#                          [--first-addr 127.0.0.11] [--tick MS] [key=value ...]
#   zk.sh start      DIR [--no-wait]  (re)start the server(s) from the zoo.cfg(s)
#                            already in DIR; --no-wait: launch only, no 4lw probes
#   zk.sh stop       DIR     stop every server under DIR (TERM, then KILL)
#   zk.sh restart    DIR [--no-wait]  stop + start
#   zk.sh status     DIR     print the srvr Mode of each node
#   zk.sh 4lw        ADDR PORT WORD   send one four-letter word, print the answer
#   zk.sh cli        ADDR:PORT [zkCli args...]   run the Java CLI (ZooKeeperMain)
#   zk.sh classpath          print the Java classpath used
#
# Layouts: standalone = DIR/zoo.cfg, DIR/data, DIR/zk.log, DIR/zk.pid;
#          ensemble   = DIR/nodeI/{zoo.cfg,data/myid,zk.log,zk.pid}, I = 1..N,
#                       node I listens on 127.0.0.(10+I) (clientPort 2181,
#                       quorum 2888, election 3888 by default, each on its own
#                       address).
# Extra key=value arguments are appended to every zoo.cfg written.
#
# Environment: ZK_JAVA (default: java), ZK_JVM_OPTS (default: small heap),
#              ZK_START_TIMEOUT (seconds, default 30), ZK_LOG_LEVEL (default info).
set -euo pipefail

PROG=$(basename "$0")
ZK_JAVA=${ZK_JAVA:-java}
ZK_JVM_OPTS=${ZK_JVM_OPTS:--Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}
ZK_START_TIMEOUT=${ZK_START_TIMEOUT:-30}
ZK_LOG_LEVEL=${ZK_LOG_LEVEL:-info}
MAIN_CLASS=org.apache.zookeeper.server.quorum.QuorumPeerMain

die() { echo "$PROG: error: $*" >&2; exit 1; }
say() { echo "$PROG: $*" >&2; }

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
}

# ---------------------------------------------------------------- classpath
# zookeeper.jar's manifest Class-Path already pulls in jute, netty, jetty,
# jackson, metrics, commons-*, snappy and slf4j-api.  What it lacks:
#   * an slf4j binding (else no server log at all): slf4j-simple (libslf4j-java)
#   * the servlet API used by the Jetty-based admin server (libservlet-api-java)
# jline is deliberately left out so that zkCli reads plain stdin (scriptable).
zk_classpath() {
    local j cp="" missing=()
    for j in zookeeper.jar zookeeper-jute.jar slf4j-api.jar slf4j-simple.jar servlet-api.jar; do
        if [[ -e /usr/share/java/$j ]]; then
            cp+="${cp:+:}/usr/share/java/$j"
        else
            missing+=("$j")
        fi
    done
    ((${#missing[@]} == 0)) ||
        die "missing jars in /usr/share/java: ${missing[*]} (run scripts/setup-deps.sh)"
    printf '%s\n' "$cp"
}

check_java() {
    command -v "$ZK_JAVA" >/dev/null 2>&1 || die "java not found (run scripts/setup-deps.sh)"
}

# ---------------------------------------------------------------- 4lw helper
# fourlw ADDR PORT WORD -> prints the server's answer (empty on failure).
fourlw() {
    local addr=$1 port=$2 word=$3
    timeout 5 bash -c '
        exec 3<>"/dev/tcp/$0/$1" || exit 1
        printf "%s" "$2" >&3
        cat <&3
    ' "$addr" "$port" "$word" 2>/dev/null || true
}

# ---------------------------------------------------------------- helpers
cfg_get() { # cfg_get FILE KEY -> value (last occurrence)
    sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$1" | tail -n1
}

pid_alive() { # pid_alive PIDFILE -> 0 if the pid in it is a running ZooKeeper
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    is_zk_pid "$pid"
}

is_zk_pid() { # is_zk_pid PID -> 0 if that process runs QuorumPeerMain
    local cmd
    cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
    [[ $cmd == *"$MAIN_CLASS"* ]]
}

node_dirs() { # node_dirs DIR -> every directory under DIR holding a zoo.cfg
    local d=$1 n
    if [[ -f $d/zoo.cfg ]]; then
        printf '%s\n' "$d"
        return 0
    fi
    local found=0
    for n in "$d"/node*/; do
        [[ -f ${n}zoo.cfg ]] || continue
        printf '%s\n' "${n%/}"
        found=1
    done
    ((found)) || return 1
}

node_endpoint() { # node_endpoint NODEDIR -> "ADDR PORT"
    local cfg=$1/zoo.cfg addr port
    addr=$(cfg_get "$cfg" clientPortAddress)
    port=$(cfg_get "$cfg" clientPort)
    printf '%s %s\n' "${addr:-127.0.0.1}" "${port:-2181}"
}

log_tail() {
    echo "---- last lines of $1 ----" >&2
    tail -n "${2:-30}" "$1" >&2 2>/dev/null || true
    echo "----" >&2
}

check_loopback() {
    [[ $1 =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] ||
        die "address '$1' is not in 127.0.0.0/8; this tool only runs ZooKeeper on loopback"
}

check_port() {
    [[ $1 =~ ^[0-9]+$ ]] && (($1 > 0 && $1 < 65536)) || die "bad port '$1'"
}

# ---------------------------------------------------------------- start/stop
# launch_node NODEDIR : starts java in the background, writes zk.pid
launch_node() { # launch_node NODEDIR [probe=1]
    local nd=$1 probe=${2:-1} cp addr port pid
    nd=$(cd "$nd" && pwd)
    pid_alive "$nd/zk.pid" && die "ZooKeeper already running in $nd (pid $(<"$nd/zk.pid")); stop it first"
    read -r addr port < <(node_endpoint "$nd")
    if ((probe)) && [[ -n $(fourlw "$addr" "$port" ruok) ]]; then
        die "something already answers on $addr:$port; refusing to start"
    fi
    cp=$(zk_classpath)
    mkdir -p "$nd/data"
    rm -f "$nd/zk.pid"
    # shellcheck disable=SC2086
    setsid "$ZK_JAVA" $ZK_JVM_OPTS \
        -Dorg.slf4j.simpleLogger.defaultLogLevel="$ZK_LOG_LEVEL" \
        -Dorg.slf4j.simpleLogger.showDateTime=true \
        -Dorg.slf4j.simpleLogger.dateTimeFormat="yyyy-MM-dd HH:mm:ss,SSS" \
        -Dzookeeper.jmx.log4j.disable=true \
        -cp "$cp" "$MAIN_CLASS" "$nd/zoo.cfg" \
        >>"$nd/zk.log" 2>&1 </dev/null &
    pid=$!
    # $! is first a copy of this shell, then setsid, then java (exec chain):
    # wait until it really is the JVM so that pid_alive() recognises it.
    local i
    for ((i = 0; i < 100; i++)); do
        is_zk_pid "$pid" && break
        if ! kill -0 "$pid" 2>/dev/null; then
            log_tail "$nd/zk.log"
            die "ZooKeeper in $nd exited immediately (log: $nd/zk.log)"
        fi
        sleep 0.02
    done
    echo "$pid" >"$nd/zk.pid"
}

# wait_imok NODEDIR... : bounded wait until every node answers ruok
wait_imok() {
    local deadline=$((SECONDS + ZK_START_TIMEOUT)) nd addr port pending
    while :; do
        pending=()
        for nd in "$@"; do
            if ! pid_alive "$nd/zk.pid"; then
                log_tail "$nd/zk.log"
                die "ZooKeeper in $nd exited during startup (log: $nd/zk.log)"
            fi
            read -r addr port < <(node_endpoint "$nd")
            [[ $(fourlw "$addr" "$port" ruok) == imok ]] || pending+=("$nd")
        done
        ((${#pending[@]} == 0)) && return 0
        if ((SECONDS >= deadline)); then
            for nd in "${pending[@]}"; do log_tail "$nd/zk.log"; done
            die "timed out after ${ZK_START_TIMEOUT}s waiting for 'imok' from: ${pending[*]}"
        fi
        sleep 0.3
    done
}

node_mode() { # node_mode NODEDIR -> leader|follower|standalone|observer|down|?
    local addr port out mode
    read -r addr port < <(node_endpoint "$1")
    out=$(fourlw "$addr" "$port" srvr)
    [[ -n $out ]] || { echo down; return 0; }
    mode=$(sed -n 's/^Mode:[[:space:]]*//p' <<<"$out" | tr -d '\r')
    echo "${mode:-?}"
}

# wait_serving NODEDIR... : imok everywhere, then every node reports a Mode
# in srvr (ruok answers before the server is actually serving), and for an
# ensemble exactly one leader.
wait_serving() {
    wait_imok "$@"
    local deadline=$((SECONDS + ZK_START_TIMEOUT)) nd m leaders others standalone
    while :; do
        leaders=0 others=0 standalone=0
        for nd in "$@"; do
            m=$(node_mode "$nd")
            case $m in
                leader) leaders=$((leaders + 1)) ;;
                follower | observer) others=$((others + 1)) ;;
                standalone) standalone=$((standalone + 1)) ;;
            esac
        done
        if (($# == 1)); then
            ((standalone + leaders == 1)) && return 0
        else
            ((leaders == 1 && leaders + others == $#)) && return 0
        fi
        if ((SECONDS >= deadline)); then
            for nd in "$@"; do
                echo "$nd: $(node_mode "$nd")" >&2
                log_tail "$nd/zk.log" 15
            done
            die "timed out after ${ZK_START_TIMEOUT}s waiting for the server(s) to serve (leaders=$leaders followers=$others standalone=$standalone)"
        fi
        sleep 0.2
    done
}

stop_pidfile() { # stop_pidfile PIDFILE
    local pf=$1 pid i
    if ! pid_alive "$pf"; then
        rm -f "$pf"
        return 0
    fi
    pid=$(<"$pf")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "pid $pid did not exit after TERM; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 30; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$pf"
    say "stopped pid $pid ($(dirname "$pf"))"
}

# ---------------------------------------------------------------- zoo.cfg
write_common_cfg() { # write_common_cfg FILE NODEDIR TICK
    cat >"$1" <<EOF
# written by zkops scripts/zk.sh
tickTime=$3
initLimit=10
syncLimit=5
dataDir=$2/data
4lw.commands.whitelist=*
extendedTypesEnabled=true
admin.enableServer=false
maxClientCnxns=0
autopurge.purgeInterval=0
EOF
}

append_extra() { # append_extra FILE key=value...
    local f=$1 kv
    shift
    for kv in "$@"; do
        [[ $kv == *=* ]] || die "extra zoo.cfg setting '$kv' is not key=value"
        # a later setting overrides an earlier one of the same key
        local key=${kv%%=*}
        sed -i "/^${key//./\\.}=/d" "$f"
        printf '%s\n' "$kv" >>"$f"
    done
}

prepare_dir() { # prepare_dir DIR -> absolute path, refuses if a server runs there
    local d=$1 nd
    mkdir -p "$d"
    d=$(cd "$d" && pwd)
    while read -r nd; do
        [[ -n $nd ]] || continue
        pid_alive "$nd/zk.pid" && die "ZooKeeper already running in $nd (pid $(<"$nd/zk.pid")); run: $PROG stop $d"
    done < <(node_dirs "$d" 2>/dev/null || true)
    printf '%s\n' "$d"
}

# ---------------------------------------------------------------- commands
cmd_standalone() {
    (($# >= 1)) || usage
    local dir=$1 port=2181 addr=127.0.0.1 tick=2000 extra=()
    shift
    while (($#)); do
        case $1 in
            --port) port=${2:?--port needs a value}; shift 2 ;;
            --addr) addr=${2:?--addr needs a value}; shift 2 ;;
            --tick) tick=${2:?--tick needs a value}; shift 2 ;;
            *=*) extra+=("$1"); shift ;;
            *) die "standalone: unknown argument '$1'" ;;
        esac
    done
    check_loopback "$addr"
    check_port "$port"
    check_java
    dir=$(prepare_dir "$dir")
    rm -rf "$dir"/node*/ 2>/dev/null || true
    mkdir -p "$dir/data"
    write_common_cfg "$dir/zoo.cfg" "$dir" "$tick"
    cat >>"$dir/zoo.cfg" <<EOF
clientPortAddress=$addr
clientPort=$port
EOF
    append_extra "$dir/zoo.cfg" "${extra[@]}"
    launch_node "$dir"
    wait_serving "$dir"
    say "standalone ZooKeeper up on $addr:$port (pid $(<"$dir/zk.pid"), log $dir/zk.log)"
}

cmd_ensemble() {
    (($# >= 2)) || usage
    local dir=$1 n=$2 cport=2181 qport=2888 eport=3888 first=127.0.0.11 tick=2000 extra=()
    shift 2
    [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 9)) || die "ensemble size must be 1..9, got '$n'"
    while (($#)); do
        case $1 in
            --client-port | --base-port) cport=${2:?$1 needs a value}; shift 2 ;;
            --quorum-port) qport=${2:?$1 needs a value}; shift 2 ;;
            --election-port) eport=${2:?$1 needs a value}; shift 2 ;;
            --first-addr) first=${2:?$1 needs a value}; shift 2 ;;
            --tick) tick=${2:?$1 needs a value}; shift 2 ;;
            *=*) extra+=("$1"); shift ;;
            *) die "ensemble: unknown argument '$1'" ;;
        esac
    done
    check_loopback "$first"
    check_port "$cport"; check_port "$qport"; check_port "$eport"
    local prefix=${first%.*} last=${first##*.}
    ((last + n - 1 <= 254)) || die "address range starting at $first is too short for $n nodes"
    check_java
    dir=$(prepare_dir "$dir")
    rm -f "$dir/zoo.cfg" "$dir/zk.pid"
    local i j nd servers="" nodes=()
    for ((j = 1; j <= n; j++)); do
        servers+="server.$j=$prefix.$((last + j - 1)):$qport:$eport"$'\n'
    done
    for ((i = 1; i <= n; i++)); do
        nd=$dir/node$i
        mkdir -p "$nd/data"
        echo "$i" >"$nd/data/myid"
        write_common_cfg "$nd/zoo.cfg" "$nd" "$tick"
        {
            echo "clientPortAddress=$prefix.$((last + i - 1))"
            echo "clientPort=$cport"
            printf '%s' "$servers"
        } >>"$nd/zoo.cfg"
        append_extra "$nd/zoo.cfg" "${extra[@]}"
        nodes+=("$nd")
    done
    for nd in "${nodes[@]}"; do launch_node "$nd"; done
    wait_serving "${nodes[@]}"
    say "ensemble of $n up:"
    cmd_status "$dir"
}

cmd_start() {
    local dir="" wait=1 nodes=()
    while (($#)); do
        case $1 in
            --no-wait) wait=0; shift ;;
            -*) die "start: unknown option '$1'" ;;
            *) [[ -z $dir ]] || usage; dir=$1; shift ;;
        esac
    done
    [[ -n $dir ]] || usage
    [[ -d $dir ]] || die "no such directory: $dir"
    dir=$(cd "$dir" && pwd)
    mapfile -t nodes < <(node_dirs "$dir" || true)
    ((${#nodes[@]})) || die "no zoo.cfg in $dir or $dir/node*/ (use 'standalone' or 'ensemble' first)"
    check_java
    local nd
    for nd in "${nodes[@]}"; do launch_node "$nd" "$wait"; done
    if ((wait)); then
        wait_serving "${nodes[@]}"
        say "started ${#nodes[@]} node(s) in $dir"
    else
        say "launched ${#nodes[@]} node(s) in $dir (not waiting)"
    fi
}

cmd_stop() {
    (($# == 1)) || usage
    local dir=$1 pf any=0
    [[ -d $dir ]] || die "no such directory: $dir"
    for pf in "$dir/zk.pid" "$dir"/node*/zk.pid; do
        [[ -e $pf ]] || continue
        any=1
        stop_pidfile "$pf"
    done
    ((any)) || say "nothing to stop in $dir"
}

cmd_restart() {
    (($# >= 1)) || usage
    local a dir=""
    for a in "$@"; do [[ $a == -* ]] || dir=$a; done
    [[ -n $dir ]] || usage
    cmd_stop "$dir"
    cmd_start "$@"
}

cmd_status() {
    (($# == 1)) || usage
    local dir=$1 nd addr port state rc=0
    [[ -d $dir ]] || die "no such directory: $dir"
    local nodes=()
    mapfile -t nodes < <(node_dirs "$dir" || true)
    ((${#nodes[@]})) || die "no zoo.cfg in $dir or $dir/node*/"
    for nd in "${nodes[@]}"; do
        read -r addr port < <(node_endpoint "$nd")
        if pid_alive "$nd/zk.pid"; then state="pid $(<"$nd/zk.pid")"; else state="not running"; fi
        local m
        m=$(node_mode "$nd")
        [[ $m == down ]] && rc=1
        printf '%s\t%s:%s\t%s\t%s\n' "$(basename "$nd")" "$addr" "$port" "$m" "$state"
    done
    return $rc
}

cmd_4lw() {
    (($# == 3)) || usage
    check_loopback "$1"
    local out
    out=$(fourlw "$1" "$2" "$3")
    [[ -n $out ]] || die "no answer to '$3' from $1:$2"
    printf '%s\n' "$out"
}

cmd_cli() {
    (($# >= 1)) || usage
    local server=$1 cp
    shift
    check_loopback "${server%:*}"
    check_java
    cp=$(zk_classpath)
    # shellcheck disable=SC2086
    exec "$ZK_JAVA" -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Dorg.slf4j.simpleLogger.defaultLogLevel="${ZK_CLI_LOG_LEVEL:-warn}" \
        -cp "$cp" org.apache.zookeeper.ZooKeeperMain -server "$server" "$@"
}

main() {
    (($#)) || usage
    local cmd=$1
    shift
    case $cmd in
        standalone) cmd_standalone "$@" ;;
        ensemble) cmd_ensemble "$@" ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        restart) cmd_restart "$@" ;;
        status) cmd_status "$@" ;;
        4lw) cmd_4lw "$@" ;;
        cli) cmd_cli "$@" ;;
        classpath) zk_classpath ;;
        -h | --help | help) usage ;;
        *) die "unknown command '$cmd' (try: $PROG help)" ;;
    esac
}

main "$@"
