#!/usr/bin/env bash
# Runs the C examples against each other as separate processes, joined by
# VXLAN overlays on the loopback interface (no root needed).
#
#   run-examples.sh BINDIR [WRAPPER...]
#
# BINDIR holds the example binaries (built elsewhere, named after their
# examples-c/*.c sources). WRAPPER, if given, prefixes every example run,
# e.g.  run-examples.sh /tmp/ex valgrind --leak-check=full \
#           --errors-for-leak-kinds=definite --error-exitcode=99 -q
# Prints one line per scenario and "examples: N passed, M failed"; exits 1
# if anything failed.
set -u

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
    echo "usage: run-examples.sh BINDIR [WRAPPER...]" >&2
    exit 2
fi
BIN=$(cd "$1" && pwd)
shift
WRAPPER=("$@")
LIMIT=60 # seconds for any one process

WORK=$(mktemp -d "${TMPDIR:-/tmp}/zts-examples.XXXXXX")
cleanup() {
    # Only what this script started and has not reaped yet: the `timeout`
    # wrappers pass the signal on to the example (and to valgrind).
    local pids
    pids=$(jobs -p)
    if [ -n "$pids" ]; then
        kill $pids 2>/dev/null
        wait $pids 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
SCENARIO=""
PROBLEMS=()

# run LOG NAME ARGS...: example NAME in the foreground, bounded; its
# output goes to $WORK/LOG.out and LOG.err; returns its exit status.
run() {
    local log=$1 name=$2
    shift 2
    timeout -k 5 "$LIMIT" "${WRAPPER[@]}" "$BIN/$name" "$@" >"$WORK/$log.out" 2>"$WORK/$log.err"
}

# start LOG NAME ARGS...: the same in the background (its pid in $!).
start() {
    local log=$1 name=$2
    shift 2
    timeout -k 5 "$LIMIT" "${WRAPPER[@]}" "$BIN/$name" "$@" >"$WORK/$log.out" 2>"$WORK/$log.err" &
}

problem() {
    PROBLEMS+=("$*")
}

# wait_ready LOG PID: waits (LIMIT seconds at most) for the server's ready
# line, then sets READY_IP_PORT ("10.0.0.1:7") and UDP_PORT.
wait_ready() {
    local log=$WORK/$1.out pid=$2
    for _ in $(seq $((LIMIT * 10))); do
        if grep -q '^ready ' "$log" 2>/dev/null; then
            READY_IP_PORT=$(sed -n 's/^ready \([0-9.]*:[0-9]*\) .*/\1/p' "$log")
            UDP_PORT=$(sed -n 's/^ready .*(udp port \(-\{0,1\}[0-9]*\)).*/\1/p' "$log")
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            problem "$1 exited before its ready line"
            return 1
        fi
        sleep 0.1
    done
    problem "$1 printed no ready line within ${LIMIT}s"
    return 1
}

# expect_exit LOG PID STATUS: waits for a background process and checks
# how it ended.
expect_exit() {
    local rc
    wait "$2"
    rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        problem "$1 timed out (${LIMIT}s)"
    elif [ "$rc" -ne "$3" ]; then
        problem "$1 exited $rc, expected $3"
    fi
}

# expect_line LOG TEXT: LOG's stdout has a line exactly TEXT.
expect_line() {
    grep -qxF -- "$2" "$WORK/$1.out" || problem "$1 did not print '$2'"
}

have() {
    local b
    for b in "$@"; do
        if [ ! -x "$BIN/$b" ]; then
            problem "no $BIN/$b"
            return 1
        fi
    done
}

begin() {
    SCENARIO=$1
    PROBLEMS=()
    rm -f "$WORK"/*.out "$WORK"/*.err
    T0=$(date +%s%N)
}

end() {
    local ds secs
    ds=$((($(date +%s%N) - T0) / 100000000))
    secs=$((ds / 10)).$((ds % 10))
    if [ ${#PROBLEMS[@]} -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS $SCENARIO (${secs}s)"
    else
        failed=$((failed + 1))
        echo "FAIL $SCENARIO (${secs}s)"
        local p f
        for p in "${PROBLEMS[@]}"; do
            echo "    $p"
        done
        # What the programs said, to see why.
        for f in "$WORK"/*.out "$WORK"/*.err; do
            [ -s "$f" ] || continue
            echo "    --- $(basename "$f")"
            sed 's/^/    | /' "$f" | tail -n 40
        done
    fi
}

# Each overlay: the server binds 127.0.0.1 port 0 and learns its peers;
# every client process binds its own loopback address (127.0.0.K), since
# zts's overlay tells peers apart by IP address only: two client processes
# on one address would share the first one's learned UDP port.
server_uri() { echo "vxlan://127.0.0.1:0?vni=$1&learn=1"; }
client_uri() { echo "vxlan://127.0.0.$2:0?vni=$1&peer=127.0.0.1:$UDP_PORT"; }

scenario_echo_server() {
    begin "echo-server (2 clients) + 2 echo-clients over vxlan"
    if have echo-server echo-client; then
        start server echo-server "$(server_uri 101)" 10.101.0.1/24 7 2
        local spid=$!
        if wait_ready server "$spid"; then
            start client1 echo-client "$(client_uri 101 2)" 10.101.0.2/24 "$READY_IP_PORT" "hello from one" 5
            local c1=$!
            start client2 echo-client "$(client_uri 101 3)" 10.101.0.3/24 "$READY_IP_PORT" "hello from two" 7
            local c2=$!
            expect_exit client1 "$c1" 0
            expect_exit client2 "$c2" 0
            expect_line client1 "echoed 5 messages"
            expect_line client2 "echoed 7 messages"
        fi
        expect_exit server "$spid" 0
        expect_line server "served 2 clients"
    fi
    end
}

scenario_poll_server() {
    begin "poll-server (3 clients) + 3 echo-clients at once over vxlan"
    if have poll-server echo-client; then
        start server poll-server "$(server_uri 102)" 10.102.0.1/24 7 3
        local spid=$!
        if wait_ready server "$spid"; then
            local k pids=()
            for k in 2 3 4; do
                start "client$k" echo-client "$(client_uri 102 "$k")" "10.102.0.$k/24" \
                    "$READY_IP_PORT" "message from client $k" 20
                pids+=($!)
            done
            for k in 2 3 4; do
                expect_exit "client$k" "${pids[$((k - 2))]}" 0
                expect_line "client$k" "echoed 20 messages"
            done
        fi
        expect_exit server "$spid" 0
        expect_line server "served 3 clients"
    fi
    end
}

scenario_udp_echo() {
    begin "udp-echo server + client over vxlan"
    if have udp-echo; then
        start server udp-echo server "$(server_uri 103)" 10.103.0.1/24 7 1
        local spid=$!
        if wait_ready server "$spid"; then
            run client udp-echo client "$(client_uri 103 2)" 10.103.0.2/24 "$READY_IP_PORT" "a datagram"
            local rc=$?
            [ "$rc" -eq 0 ] || problem "client exited $rc, expected 0"
            expect_line client "echoed: a datagram"
        fi
        expect_exit server "$spid" 0
    fi
    end
}

scenario_ping() {
    begin "ping an echo-server over vxlan, then one echo-client"
    if have echo-server ping echo-client; then
        start server echo-server "$(server_uri 104)" 10.104.0.1/24 7 1
        local spid=$!
        if wait_ready server "$spid"; then
            local ip=${READY_IP_PORT%:*}
            run ping ping "$(client_uri 104 2)" 10.104.0.2/24 "$ip" 3
            local rc=$?
            [ "$rc" -eq 0 ] || problem "ping exited $rc, expected 0"
            local seq
            for seq in 1 2 3; do
                grep -q "^64 bytes from $ip: icmp_seq=$seq time=[0-9.]* ms$" "$WORK/ping.out" ||
                    problem "ping printed no reply line for icmp_seq=$seq"
            done
            grep -q "^3 packets transmitted, 3 received, 0% packet loss" "$WORK/ping.out" ||
                problem "ping did not report 3 of 3 received"
            run client echo-client "$(client_uri 104 3)" 10.104.0.3/24 "$READY_IP_PORT" bye
            rc=$?
            [ "$rc" -eq 0 ] || problem "client exited $rc, expected 0"
            expect_line client "echoed 1 messages"
        fi
        expect_exit server "$spid" 0
    fi
    end
}

# Every example that takes arguments (demo takes none) prints a usage
# line and exits 2 when given none.
scenario_usage() {
    local name
    for name in echo-server echo-client udp-echo ping poll-server http-server http-get; do
        [ -x "$BIN/$name" ] || continue
        begin "$name with no arguments: usage, exit 2"
        run "$name" "$name"
        local rc=$?
        [ "$rc" -eq 2 ] || problem "exited $rc, expected 2"
        grep -q "^usage: $name " "$WORK/$name.err" || problem "printed no usage line on stderr"
        end
    done
}

scenario_echo_server
scenario_poll_server
scenario_udp_echo
scenario_ping
scenario_usage

echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
