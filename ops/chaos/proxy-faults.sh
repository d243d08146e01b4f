#!/usr/bin/env bash
# ops/chaos/proxy-faults.sh — network faults between real nodes, through ops/chaos/faultproxy.py.
#
# Three nodes (semas, kodit, kamco), each reading its own simulated agency (CHAOS_PROGRAMS
# programs, default 1000). Every node pulls every peer through the proxy: six routes, one per
# direction (route "semas>kodit" carries semas's pulls from kodit). long_poll_seconds is 5, so a
# pull's request timeout is 20 s.
#
# For each fault in turn — reset, truncate, delay, blackhole, duplicate, replay — set on all six
# routes for PHASE_SECONDS (blackhole: 45 s, longer than the 20 s request timeout), with programs
# created and changed and referrals made at the simulators throughout, and a full resync of
# every peer started on one node at the start of the phase (so that large pages cross the fault,
# not only idle long-polls). During the phase each node's /status is polled every second.
#
# Checks, per phase: every node stays alive and answers /status; for reset, truncate, blackhole
# and duplicate, every node shows each peer `failing` (or `stale`) at some point, with a
# last_error reason (and hanaro_sync_failures_total counts the failures); under delay, the
# federation still converges with the delay on; once the fault is cleared, the federation
# converges within CONVERGE_BOUND (120 s) with exactly the programs and referrals made, before
# the next fault starts. At the end: nothing quarantined (no garbage accepted), every change
# present on every node, every referral at its target's intake; SIGTERM exits 0;
# integrity_check ok.
#
# Environment: HANARO, PHASE_SECONDS (30), CONVERGE_BOUND (120), CHAOS_PROGRAMS (1000),
# CHAOS_FAULTS (the list of faults, default "reset truncate delay blackhole duplicate replay"),
# CHAOS_KEEP=1.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

PHASE=${PHASE_SECONDS:-30}
BOUND=${CONVERGE_BOUND:-120}
PROGRAMS=${CHAOS_PROGRAMS:-1000}
FAULTS=${CHAOS_FAULTS:-reset truncate delay blackhole duplicate replay}
NODES=(semas kodit kamco)
CHAOS_LONG_POLL=5
CHAOS_STALE_AFTER=30s
SEED=${CHAOS_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$SEED

chaos_init proxy
REFERRALS_FILE=$CHAOS_DIR/referrals.txt
: >"$REFERRALS_FILE"
for a in "${NODES[@]}"; do chaos_start_sim "$a" "$PROGRAMS"; CHANGE_NEXT[$a]=1; done
for a in "${NODES[@]}"; do FED_PORT[$a]=$(chaos_free_port); done

# The proxy: one route per direction.
routes=()
for a in "${NODES[@]}"; do
    for b in "${NODES[@]}"; do
        [[ $a == "$b" ]] || routes+=(--route "$a>$b=127.0.0.1:0>127.0.0.1:${FED_PORT[$b]}")
    done
done
python3 "$CHAOS_HERE/faultproxy.py" --seed "$SEED" "${routes[@]}" >"$CHAOS_DIR/proxy.out" 2>"$CHAOS_DIR/proxy.log" &
PROXY_PID=$!
chaos_track "$PROXY_PID"
for ((i = 0; i < 100; i++)); do grep -q '^faultproxy: ready' "$CHAOS_DIR/proxy.out" && break; sleep 0.1; done
grep -q '^faultproxy: ready' "$CHAOS_DIR/proxy.out" || chaos_die "the proxy did not start: $(cat "$CHAOS_DIR/proxy.log")"
CONTROL=$(sed -n 's/^faultproxy: ready control \([0-9.:]*\) .*/\1/p' "$CHAOS_DIR/proxy.out")
for pair in $(sed -n 's/.* routes //p' "$CHAOS_DIR/proxy.out" | tr ',' ' '); do
    name=${pair%=*}; port=${pair##*=}
    PEER_URL[${name%>*}:${name#*>}]=https://127.0.0.1:$port
done
proxy() { curl -s --max-time 5 "http://$CONTROL/$1"; }

chaos_layout "${NODES[@]}"
for a in "${NODES[@]}"; do chaos_start_node "$a" || chaos_die "node $a did not start"; done
for a in "${NODES[@]}"; do
    for t in $(other_than "$a"); do make_referral "$a" "$t" >>"$REFERRALS_FILE" || chaos_die "referral refused"; done
done
result=$($CHAOS_PY converge --nodes "$(chaos_node_list)" --programs "$(sim_total_programs)" --referrals "$(wc -l <"$REFERRALS_FILE")" --after "$(chaos_now)" --timeout 300) \
    || chaos_die "no convergence through the proxy before any fault: $result"
chaos_log "converged through the proxy (no fault) in $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$result") s"

pids() { local a out=""; for a in "${NODES[@]}"; do out+="${out:+,}$a=${NODE_PID[$a]}"; done; echo "$out"; }
failures=0
SUMMARY=$CHAOS_DIR/phases.jsonl
: >"$SUMMARY"
all_changed=""
phase_no=0
for fault in $FAULTS; do
    phase_no=$((phase_no + 1))
    seconds=$PHASE
    [[ $fault == blackhole ]] && seconds=$(( PHASE > 45 ? PHASE : 45 ))
    before=$(proxy stats)
    failures_before=$($CHAOS_PY metric --nodes "$(chaos_node_list)" hanaro_sync_failures_total)
    case $fault in
        reset) proxy "set?fault=reset&max=${RESET_MAX:-4096}" >/dev/null ;;       # most connections die in or just after the handshake
        truncate) proxy "set?fault=truncate&max=${TRUNCATE_MAX:-16384}" >/dev/null ;;
        delay) proxy "set?fault=delay&ms=${DELAY_MS:-500}&jitter=200" >/dev/null ;;
        *) proxy "set?fault=$fault" >/dev/null ;;
    esac
    # A full resync of every peer on one node, so that big pages cross the fault.
    resyncer=${NODES[$(( phase_no % 3 ))]}
    "$HANARO" resync all --full --config "$CHAOS_DIR/$resyncer/node.yaml" >"$CHAOS_DIR/resync-$fault.out" 2>&1 &
    resync_pid=$!
    edits_file=$CHAOS_DIR/edits-$fault.txt
    : >"$edits_file"
    chaos_edit_loop "$seconds" "$edits_file" $(( SEED + phase_no )) &
    edit_pid=$!
    watch=$($CHAOS_PY watch --nodes "$(chaos_node_list)" --seconds "$seconds" --pids "$(pids)")
    wait "$edit_pid"
    wait "$resync_pid"; resync_rc=$?
    chaos_absorb_edits "$edits_file"
    all_changed+=" $CHANGED_KEYS"
    after=$(proxy stats)
    failures_after=$($CHAOS_PY metric --nodes "$(chaos_node_list)" hanaro_sync_failures_total)
    verdict=$(python3 - "$fault" "$watch" "$before" "$after" "$failures_before" "$failures_after" <<'EOF'
import json, sys
fault, watch, before, after = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
fb, fa = json.loads(sys.argv[5]), json.loads(sys.argv[6])
counted = {}
for node, values in fa.items():
    for labels, v in (values or {}).items():
        d = v - ((fb.get(node) or {}).get(labels, 0))
        if d:
            counted[node + labels] = int(d)
keys = ["connections", "resets", "truncations", "blackholed", "duplicated_chunks", "replays", "replayed_bytes", "delayed_chunks", "aborted_on_change", "upstream_failures"]
injected = {k: sum(after[r][k] - before[r][k] for r in after) for k in keys}
problems = []
if any(not v for v in watch["alive"].values()):
    problems.append("a node died: %s" % watch["alive"])
if any(watch["missed"].values()):
    problems.append("status polls missed: %s" % watch["missed"])
shown = {link: e for link, e in watch["links"].items()}
if fault in ("reset", "truncate", "blackhole", "duplicate"):
    # A route whose failed pulls were retried within stale_after may stay `fresh` (that is what
    # fresh means: data pulled up to a known point within stale_after). What must not happen: a
    # non-fresh state without its reason, or a fault that no route showed at all.
    for link, e in shown.items():
        if set(e["states"]) & {"failing", "stale"} and not e["errors"]:
            problems.append("%s showed %s without a reason" % (link, e["states"]))
    if not any(set(e["states"]) & {"failing", "stale"} and e["errors"] for e in shown.values()):
        problems.append("no route showed failing/stale with a reason (states %s)" % {l: e["states"] for l, e in shown.items()})
print(json.dumps({"fault": fault, "injected": injected, "sync_failures_counted": counted, "links": shown, "alive": watch["alive"],
                  "missed": watch["missed"], "problems": problems}, ensure_ascii=False))
EOF
)
    echo "$verdict" >>"$SUMMARY"
    chaos_log "phase $fault (${seconds}s, $EDITS edits, full resync on $resyncer exit $resync_rc): $(python3 -c '
import json,sys
v = json.loads(sys.argv[1])
inj = ", ".join(f"{k}={n}" for k, n in v["injected"].items() if n)
states = sorted({s for e in v["links"].values() for s in e["states"]})
errs = sorted({x for e in v["links"].values() for x in e["errors"]})
problems = v["problems"] or "none"
counted = sum(v["sync_failures_counted"].values())
print(f"injected {inj}; sync failures counted {counted}; states seen {states}; reasons {errs[:3]}; problems {problems}")' "$verdict")"
    if [[ $(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["problems"]))' "$verdict") != 0 ]]; then
        chaos_fail "phase $fault: $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["problems"])' "$verdict")"
        failures=$((failures + 1))
    fi
    for a in "${NODES[@]}"; do chaos_alive "$a" || { chaos_fail "node $a died during $fault"; failures=$((failures + 1)); chaos_start_node "$a"; }; done
    if [[ $fault == delay ]]; then
        # Latency is not a failure: the federation must converge with the delay still on.
        result=$($CHAOS_PY converge --nodes "$(chaos_node_list)" --programs "$(sim_total_programs)" --referrals "$(wc -l <"$REFERRALS_FILE")" --after "$(chaos_now)" --timeout "$BOUND")
        if [[ $? -eq 0 ]]; then
            chaos_log "converged with the delay still on in $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$result") s"
        else
            chaos_fail "no convergence under delay within $BOUND s: $result"; failures=$((failures + 1))
        fi
    fi
    proxy clear >/dev/null
    # Each fault is followed by its recovery: faults cleared, the federation must converge.
    result=$($CHAOS_PY converge --nodes "$(chaos_node_list)" --programs "$(sim_total_programs)" --referrals "$(wc -l <"$REFERRALS_FILE")" --after "$(chaos_now)" --timeout "$BOUND")
    if [[ $? -eq 0 ]]; then
        chaos_log "recovered from $fault: converged $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$result") s after the fault was cleared"
    else
        chaos_fail "no convergence within $BOUND s after $fault was cleared: $result"; failures=$((failures + 1))
    fi
done

# ---- faults cleared: convergence and checks -------------------------------------------------
cleared=$(chaos_now)
expected_programs=$(sim_total_programs)
expected_referrals=$(wc -l <"$REFERRALS_FILE")
result=$($CHAOS_PY converge --nodes "$(chaos_node_list)" --programs "$expected_programs" --referrals "$expected_referrals" --after "$cleared" --timeout "$BOUND")
if [[ $? -eq 0 ]]; then
    chaos_log "faults cleared: converged in $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$result") s ($expected_programs programs, $expected_referrals referrals)"
else
    chaos_fail "faults cleared: no convergence within $BOUND s: $result"; failures=$((failures + 1))
fi
$CHAOS_PY snapshot --nodes "$(chaos_node_list)"
quarantined=0
for a in "${NODES[@]}"; do quarantined=$(( quarantined + $(status_get "$a" 's["replica"]["quarantined"]') )); done
[[ $quarantined == 0 ]] || { chaos_fail "$quarantined versions quarantined (garbage accepted or refused?)"; failures=$((failures + 1)); }
# shellcheck disable=SC2086
check=$($CHAOS_PY changed --sockets "$(chaos_socket_list)" $all_changed) || { chaos_fail "changes missing: $check"; failures=$((failures + 1)); }
chaos_log "changes present on every node: $check"
check=$($CHAOS_PY intake --sims "$(chaos_sim_list)" "$REFERRALS_FILE") || { chaos_fail "referrals not delivered: $check"; failures=$((failures + 1)); }
chaos_log "referrals at their targets' intakes: $(python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(v["referrals"] - len(v["missing"]), "of", v["referrals"])' "$check")"
errors=$(grep -ci 'error' "$CHAOS_DIR"/*/serve.log | paste -sd' ')
chaos_log "node log lines mentioning 'error' (per node): $errors"
chaos_stop_all "${NODES[@]}"
echo "proxy-faults summary: faults=[$FAULTS] phase=${PHASE}s failures=$failures programs=$expected_programs referrals=$expected_referrals quarantined=$quarantined seed=$SEED (per-phase detail: $SUMMARY)"
cp "$SUMMARY" "${CHAOS_RESULTS:-/dev/null}" 2>/dev/null
(( failures == 0 ))
