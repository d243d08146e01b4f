# shellcheck shell=bash
# ops/chaos/lib.sh — shared helpers of the fault campaign (sourced, not run).
#
# Lays out an N-node federation in a temporary directory (development PKI, one node file and one
# agencies/ directory per node, one data directory per node), starts and stops `hanaro serve` and
# `hanaro simulate` processes, waits for their ready lines, and reads the status port through
# ops/chaos/chaos.py (python3, stdlib only).
#
# The binary: HANARO (default .build/release/hanaro, relative to the current directory).
# Scratch space: CHAOS_TMP (default /tmp). CHAOS_KEEP=1 keeps the directory after a passing run
# (a failing run always keeps it, and says where).
#
# Every process is started by this shell (never in a command substitution) so that `wait` can
# reap it and read its exit status. Nothing here kills by name: only the process ids recorded.

HANARO=${HANARO:-.build/release/hanaro}
CHAOS_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CHAOS_PY="python3 $CHAOS_HERE/chaos.py"

declare -gA FED_PORT=()      # agency -> federation port (fixed before start: peers name it)
declare -gA STATUS_PORT=()   # agency -> status port (as reported by the ready line)
declare -gA NODE_PID=()      # agency -> pid of the running node (the wrapper's pid under faketime/prlimit)
declare -gA NODE_STARTS=()   # agency -> how many times it was started
declare -gA SIM_PORT=()      # agency -> simulator port
declare -gA SIM_PID=()       # agency -> simulator pid
declare -gA PEER_URL=()      # "node:peer" -> federation.url that node uses for peer (default: the peer itself)
declare -gA ADAPTER_EXTRA=() # agency -> extra lines for the adapter block of its own agency file
declare -ga CHAOS_AGENCIES=()
declare -ga CHAOS_EXTRA_PIDS=()  # other processes to stop at exit (proxies, edit loops)
declare -ga CHAOS_EXIT_HOOKS=()  # commands run at exit once every process is stopped (umount...)
CHAOS_FAILED=0

chaos_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
chaos_fail() { CHAOS_FAILED=1; printf '[%s] FAIL: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
chaos_die() { chaos_fail "$*"; exit 1; }
chaos_now() { date +%s.%N | cut -c1-14; }          # seconds since the epoch, 3 decimals
chaos_elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

# chaos_init NAME: checks the binary, makes the scratch directory and the development PKI.
chaos_init() {
    local name=$1
    if [[ ! -x $HANARO ]]; then
        echo "chaos: HANARO=$HANARO is not an executable (build it, or set HANARO=/path/to/hanaro)" >&2
        exit 2
    fi
    HANARO=$(readlink -f "$HANARO")
    umask 077
    CHAOS_DIR=$(mktemp -d "${CHAOS_TMP:-/tmp}/hanaro-chaos-$name.XXXXXX")
    "$HANARO" certs dev --dir "$CHAOS_DIR/pki" >/dev/null || chaos_die "hanaro certs dev failed"
    trap chaos_cleanup EXIT
    trap 'exit 130' INT TERM
    chaos_log "scratch directory $CHAOS_DIR, binary $HANARO"
}

# A free TCP port on 127.0.0.1 outside the ephemeral range (the nodes' agency files must name the
# federation ports before the nodes start, so port 0 cannot be used for those).
chaos_free_port() {
    python3 - "${FED_PORT[@]}" <<'EOF'
import random, socket, sys
taken = set(sys.argv[1:])
while True:
    port = random.randint(20000, 29999)
    if str(port) in taken:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
EOF
}

# chaos_start_sim AGENCY PROGRAMS: starts `hanaro simulate` on a kernel-chosen port.
chaos_start_sim() {
    local agency=$1 programs=$2 out="$CHAOS_DIR/sim-$1.out"
    : >"$out"
    "$HANARO" simulate --agency "$agency" --listen 127.0.0.1:0 --programs "$programs" >"$out" 2>>"$CHAOS_DIR/sim-$agency.log" &
    SIM_PID[$agency]=$!
    local i
    for ((i = 0; i < 600; i++)); do
        if grep -q '^simulating' "$out"; then
            SIM_PORT[$agency]=$(grep -o '127\.0\.0\.1:[0-9]*' "$out" | head -1 | cut -d: -f2)
            return 0
        fi
        kill -0 "${SIM_PID[$agency]}" 2>/dev/null || chaos_die "simulator $agency exited: $(cat "$CHAOS_DIR/sim-$agency.log")"
        sleep 0.1
    done
    chaos_die "simulator $agency did not start within 60 s"
}

# sim_url AGENCY
sim_url() { echo "http://127.0.0.1:${SIM_PORT[$1]}"; }

# chaos_layout AGENCY...: ports, data directories, node files and agencies/ directories.
# Call after the simulators are up (their ports go into the adapter blocks); a node whose agency
# has no simulator gets no adapter. PEER_URL["node:peer"] may be set before to route a link
# through a proxy; chaos_write_agencies NODE rewrites one node's agencies/ after a change.
chaos_layout() {
    CHAOS_AGENCIES=("$@")
    local a
    for a in "$@"; do
        [[ -n ${FED_PORT[$a]:-} ]] || FED_PORT[$a]=$(chaos_free_port)
    done
    for a in "$@"; do
        mkdir -p "$CHAOS_DIR/$a/data" "$CHAOS_DIR/$a/agencies"
        chmod 700 "$CHAOS_DIR/$a" "$CHAOS_DIR/$a/data"
        cat >"$CHAOS_DIR/$a/node.yaml" <<EOF
node:
  agency: $a
  data_dir: data
  agencies_dir: agencies
federation:
  listen: 127.0.0.1:${FED_PORT[$a]}
  certificate: $CHAOS_DIR/pki/$a.pem
  private_key: $CHAOS_DIR/pki/$a-key.pem
  ca: $CHAOS_DIR/pki/federation-ca.pem
  page_size: ${CHAOS_PAGE_SIZE:-500}
  long_poll_seconds: ${CHAOS_LONG_POLL:-25}
status:
  listen: 127.0.0.1:0
EOF
        chaos_write_agencies "$a"
    done
}

chaos_write_agencies() {
    local node=$1 b url
    for b in "${CHAOS_AGENCIES[@]}"; do
        url=${PEER_URL[$node:$b]:-https://127.0.0.1:${FED_PORT[$b]}}
        {
            echo "id: $b"
            echo "federation:"
            echo "  url: $url"
            echo "stale_after: ${CHAOS_STALE_AFTER:-5m}"
            echo "signing_keys: [\"$("$HANARO" keys public "$CHAOS_DIR/pki/$b-signing.key")\"]"
            if [[ $b == "$node" && -n ${SIM_PORT[$b]:-} ]]; then
                echo "adapter:"
                echo "  base_url: $(sim_url "$b")"
                echo "  service_key: demo-key"
                echo "  poll_interval: ${CHAOS_POLL:-1s}"
                echo "  page_size: 200"
                echo "  rate_limit: 100"
                echo "  referral_events: true"
                [[ -n ${ADAPTER_EXTRA[$b]:-} ]] && echo "${ADAPTER_EXTRA[$b]}"
            fi
        } >"$CHAOS_DIR/$node/agencies/$b.yaml"
    done
}

# chaos_start_node AGENCY [WRAPPER...]: starts `hanaro serve` (optionally under a wrapper such as
# `prlimit --nofile=...` or `faketime`), waits for its ready line, sets STATUS_PORT and NODE_PID.
# Returns 1 (after logging) if the node exits or does not become ready within CHAOS_READY_TIMEOUT s.
chaos_start_node() {
    local a=$1; shift
    local n=$(( ${NODE_STARTS[$a]:-0} + 1 ))
    NODE_STARTS[$a]=$n
    local out="$CHAOS_DIR/$a/serve.out"
    : >"$out"
    echo "=== start #$n $(date -u +%FT%T.%3NZ) ${*:-} ===" >>"$CHAOS_DIR/$a/serve.log"
    "$@" "$HANARO" serve --config "$CHAOS_DIR/$a/node.yaml" --log-level "${CHAOS_LOG_LEVEL:-warning}" >"$out" 2>>"$CHAOS_DIR/$a/serve.log" &
    NODE_PID[$a]=$!
    local i limit=$(( ${CHAOS_READY_TIMEOUT:-60} * 20 ))
    for ((i = 0; i < limit; i++)); do
        if grep -q '^hanaro: ready:' "$out"; then
            STATUS_PORT[$a]=$(sed -n 's/^hanaro: ready:.*status [0-9.]*:\([0-9]*\).*/\1/p' "$out" | head -1)
            return 0
        fi
        if ! kill -0 "${NODE_PID[$a]}" 2>/dev/null; then
            wait "${NODE_PID[$a]}" 2>/dev/null; local rc=$?
            chaos_fail "node $a exited with status $rc before it was ready; last lines of $CHAOS_DIR/$a/serve.log:"
            tail -5 "$CHAOS_DIR/$a/serve.log" >&2
            NODE_PID[$a]=""
            return 1
        fi
        sleep 0.05
    done
    chaos_fail "node $a printed no ready line within ${CHAOS_READY_TIMEOUT:-60} s"
    return 1
}

# The pids of a process and all its descendants (a node under faketime is faketime's child).
chaos_tree() {
    local pid=$1 child
    echo "$pid"
    for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do chaos_tree "$child"; done
}

# chaos_kill9 AGENCY: SIGKILL to the node (and whatever it runs under); reaps it.
chaos_kill9() {
    local a=$1 pid=${NODE_PID[$1]:-}
    [[ -n $pid ]] || return 0
    local pids
    pids=$(chaos_tree "$pid")
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    wait "$pid" 2>/dev/null
    NODE_PID[$a]=""
}

# chaos_stop AGENCY: SIGTERM, up to CHAOS_STOP_TIMEOUT (15) s for the node and everything it runs
# under to exit, then SIGKILL. Sets STOP_STATUS to the exit status of the started process (0 after
# a clean shutdown; under a wrapper such as faketime, the wrapper's) and STOP_HOW to "term" (all
# gone after SIGTERM) or "kill"; STOP_SECONDS to how long it took.
chaos_stop() {
    local a=$1 pid=${NODE_PID[$1]:-} i p left t0
    STOP_STATUS=""; STOP_HOW=""; STOP_SECONDS=""
    [[ -n $pid ]] || return 0
    t0=$(chaos_now)
    local pids
    pids=$(chaos_tree "$pid")
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null
    STOP_HOW=term
    for ((i = 0; i < ${CHAOS_STOP_TIMEOUT:-15} * 10; i++)); do
        left=""
        for p in $pids; do
            [[ -d /proc/$p ]] && [[ $(awk '{print $3}' /proc/"$p"/stat 2>/dev/null) != Z ]] && left+=" $p"
        done
        [[ -z $left ]] && break
        sleep 0.1
    done
    if [[ -n $left ]]; then
        STOP_HOW=kill
        # shellcheck disable=SC2086
        kill -KILL $left 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    STOP_STATUS=$?
    STOP_SECONDS=$(chaos_elapsed "$t0" "$(chaos_now)")
    NODE_PID[$a]=""
}

# chaos_stop_all NODE...: SIGTERM each node (logging how it exited) and check its replica file;
# an unclean exit or a failed integrity check is a failure, counted in $failures.
chaos_stop_all() {
    local a integrity
    for a in "$@"; do
        chaos_stop "$a"
        chaos_log "stop $a: SIGTERM -> exit $STOP_STATUS ($STOP_HOW)"
        [[ $STOP_HOW == term && $STOP_STATUS == 0 ]] || { chaos_fail "$a did not shut down cleanly on SIGTERM"; failures=$((failures + 1)); }
        integrity=$(sqlite3 "$CHAOS_DIR/$a/data/replica.sqlite" 'PRAGMA integrity_check' 2>&1)
        [[ $integrity == ok ]] || { chaos_fail "integrity_check $a: $integrity"; failures=$((failures + 1)); }
    done
}

chaos_alive() { [[ -n ${NODE_PID[$1]:-} ]] && kill -0 "${NODE_PID[$1]}" 2>/dev/null; }

status_url() { echo "http://127.0.0.1:${STATUS_PORT[$1]}"; }

# status_json AGENCY: the node's /status, or nothing.
status_json() { curl -s --max-time 3 "$(status_url "$1")/status"; }

# status_get AGENCY PYTHON-EXPR: evaluates an expression over the status JSON `s`, e.g.
#   status_get semas 's["replica"]["programs"]'
#   status_get semas 'row("kodit")["state"]'
status_get() { $CHAOS_PY get "$(status_url "$1")" "$2"; }

# admin AGENCY PATH: an admin API GET over the node's Unix socket.
admin_get() { curl -s --max-time 5 --unix-socket "$CHAOS_DIR/$1/data/admin.sock" "http://node$2"; }

# Comma-separated "agency=statusport" list of the running nodes, for chaos.py.
chaos_node_list() {
    local a out=""
    for a in "${CHAOS_AGENCIES[@]}"; do out+="${out:+,}$a=${STATUS_PORT[$a]}"; done
    echo "$out"
}

# The programs the simulators list, summed (what every replica must hold once converged).
sim_total_programs() {
    local a total=0 n
    for a in "${CHAOS_AGENCIES[@]}"; do
        [[ -n ${SIM_PORT[$a]:-} ]] || continue
        n=$(curl -s --max-time 5 "$(sim_url "$a")/_sim/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["programs"])')
        total=$((total + n))
    done
    echo "$total"
}

# sim_post AGENCY PATH [JSON]: a control request to a simulator; prints the body, fails on non-2xx.
sim_post() {
    local a=$1 path=$2 body=${3:-}
    if [[ -n $body ]]; then
        curl -sf --max-time 5 -X POST -H 'Content-Type: application/json' -d "$body" "$(sim_url "$a")$path"
    else
        curl -sf --max-time 5 -X POST "$(sim_url "$a")$path"
    fi
}

# Native id of the n-th seeded program of an agency (SimulatorDataSet.nativeID).
sim_native_id() {
    case $1 in
        semas) echo $((100000 + $2)) ;;
        kodit) printf 'KODIT-%06d' "$2" ;;
        kamco) printf 'KC%07d' "$2" ;;
        koreg) printf 'PBLN_%012d' $((126000 + $2)) ;;
        kinfa) printf 'FP%08d' $((4000 + $2)) ;;
        ewpc) printf 'AIG2026%08d-%d' $((412000 + $2)) $(($2 % 3 + 1)) ;;
    esac
}

# ---- edits at the simulators ----------------------------------------------------------------
# CHANGE_NEXT[agency]: the next seeded program to change (each is changed once, so a change that
# got lost shows: its title lacks the simulator's "(변경" mark). REFERRALS_FILE: "origin target id".
declare -gA CHANGE_NEXT=()

sim_agencies() { local a; for a in "${CHAOS_AGENCIES[@]}"; do [[ -n ${SIM_PORT[$a]:-} ]] && echo "$a"; done; }
other_than() { local x; for x in $(sim_agencies); do [[ $x != "$1" ]] && echo "$x"; done; }
rand_ms() { echo $(( $1 + RANDOM % ($2 - $1 + 1) )); }          # a random integer in [$1, $2]
secs() { printf '%d.%03d' $(( $1 / 1000 )) $(( $1 % 1000 )); }  # milliseconds -> seconds

# make_referral ORIGIN TARGET: a referral made by ORIGIN's counsellor; prints "origin target id".
make_referral() {
    local body rid
    body=$(sim_post "$1" /_sim/referrals "{\"target\":\"$2\"}") || return 1
    rid=$(sed -n 's/.*"referral_id":"\([^"]*\)".*/\1/p' <<<"$body")
    echo "$1 $2 $rid"
}

# chaos_edit_loop SECONDS FILE SEED: for SECONDS, every 0.15-0.35 s one action at a random
# simulator: create a program (5 in 10), change a seeded program never changed before (4 in 10),
# or make a referral to another agency (1 in 10). Each action that succeeded is logged to FILE
# ("create A ID", "change A ID N", "referral A B ID"). Run it in the background; then
# chaos_absorb_edits FILE.
chaos_edit_loop() {
    local until=$(( $(date +%s%N) / 1000000 + $1 * 1000 )) file=$2 a r id idx body t
    RANDOM=$3
    local -a agencies others
    mapfile -t agencies < <(sim_agencies)
    local -A next=()
    for a in "${agencies[@]}"; do next[$a]=${CHANGE_NEXT[$a]:-1}; done
    while (( $(date +%s%N) / 1000000 < until )); do
        a=${agencies[RANDOM % ${#agencies[@]}]}
        r=$(( RANDOM % 10 ))
        if (( r < 5 )); then
            body=$(sim_post "$a" /_sim/programs) && echo "create $a $(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' <<<"$body")"
        elif (( r < 9 )); then
            idx=${next[$a]}; next[$a]=$(( idx + 1 ))
            id=$(sim_native_id "$a" "$idx")
            sim_post "$a" "/_sim/programs/$id/change" >/dev/null && echo "change $a $id $idx"
        else
            mapfile -t others < <(other_than "$a")
            t=${others[RANDOM % ${#others[@]}]}
            make_referral "$a" "$t" | sed 's/^/referral /'
        fi
        sleep "0.$(rand_ms 150 350)"
    done >>"$file"
}

# chaos_absorb_edits FILE: moves CHANGE_NEXT past the programs changed, appends the referrals
# made to REFERRALS_FILE, and sets EDITS (actions) and CHANGED_KEYS (program/A/ID ...).
chaos_absorb_edits() {
    local file=$1 a idx
    grep '^referral ' "$file" | cut -d' ' -f2- >>"$REFERRALS_FILE"
    while read -r _ a _ idx; do
        (( idx + 1 > ${CHANGE_NEXT[$a]:-1} )) && CHANGE_NEXT[$a]=$(( idx + 1 ))
    done < <(grep '^change ' "$file")
    EDITS=$(wc -l <"$file")
    CHANGED_KEYS=$(awk '$1 == "change" { printf "program/%s/%s ", $2, $3 }' "$file")
}

chaos_socket_list() {
    local a out=""
    for a in "${CHAOS_AGENCIES[@]}"; do out+="${out:+,}$a=$CHAOS_DIR/$a/data/admin.sock"; done
    echo "$out"
}
chaos_sim_list() {
    local a out=""
    for a in $(sim_agencies); do out+="${out:+,}$a=${SIM_PORT[$a]}"; done
    echo "$out"
}

chaos_track() { CHAOS_EXTRA_PIDS+=("$1"); }

chaos_cleanup() {
    local rc=$? a p
    trap - EXIT
    for p in "${CHAOS_EXTRA_PIDS[@]}"; do
        [[ -n $p ]] && kill -TERM "$p" 2>/dev/null
    done
    for a in "${!NODE_PID[@]}"; do
        [[ -n ${NODE_PID[$a]} ]] && chaos_stop "$a"
    done
    for a in "${!SIM_PID[@]}"; do
        [[ -n ${SIM_PID[$a]} ]] || continue
        kill -TERM "${SIM_PID[$a]}" 2>/dev/null
        sleep 0.2
        kill -KILL "${SIM_PID[$a]}" 2>/dev/null
        wait "${SIM_PID[$a]}" 2>/dev/null
    done
    for p in "${CHAOS_EXTRA_PIDS[@]}"; do
        [[ -n $p ]] && kill -KILL "$p" 2>/dev/null
    done
    for p in "${CHAOS_EXIT_HOOKS[@]}"; do eval "$p"; done
    if [[ $rc -ne 0 || $CHAOS_FAILED -ne 0 || ${CHAOS_KEEP:-0} == 1 ]]; then
        echo "chaos: kept $CHAOS_DIR (configs, replicas, logs)" >&2
    else
        rm -rf "$CHAOS_DIR"
    fi
    [[ $CHAOS_FAILED -ne 0 && $rc -eq 0 ]] && rc=1
    exit "$rc"
}
