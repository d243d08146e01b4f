#!/usr/bin/env bash
# ops/chaos/kill9.sh [TRIALS] — kill -9 campaign against a real three-node federation.
#
# Three nodes (semas, kodit, kamco), each with its own simulated agency (`hanaro simulate`,
# CHAOS_PROGRAMS programs each, default 2000) read by its adapter, plus referrals between the
# agencies. Data directories are kept across trials: a killed node restarts on its own replica.
# Each trial, while programs are created and changed and referrals made at the simulators:
#
#   mode "edits" (3 trials in 4): SIGKILL a random node at a random moment of the edit window,
#       leave it down 0-2.5 s, restart it on its replica;
#   mode "resync" (1 in 4): SIGKILL a random node, wipe its data directory (a rebuilt node), restart
#       it, SIGKILL it again at a random moment of its initial sync (0-1.5 s after its ready line;
#       the records its file then holds are counted), restart it on the partial replica.
#
# then waits (CONVERGE_BOUND s, default 120) until all three nodes hold the same digest, exactly
# the programs the simulators list and the referrals made, nothing pending delivery, and each
# owner's adapter finished a read that began after the last edit; then checks that every program
# changed in the trial carries the change on every node and that every referral reached its
# target's intake. Any mismatch is a failure, printed loudly; the run exits 1.
#
# Environment: HANARO (binary, default .build/release/hanaro), CHAOS_SEED (reproduce the victims
# and timings), CHAOS_BUDGET (seconds: start no trial after this; default 2400),
# CONVERGE_BOUND (120), CHAOS_PROGRAMS (2000), CHAOS_MODE (mixed, or edits/resync for every
# trial), CHAOS_RESULTS (copy the per-trial table there), CHAOS_KEEP=1 (keep the scratch directory).
set -uo pipefail
source "$(dirname "$0")/lib.sh"

TRIALS=${1:-100}
SEED=${CHAOS_SEED:-$(( $(date +%s) % 100000 ))}
BUDGET=${CHAOS_BUDGET:-2400}
BOUND=${CONVERGE_BOUND:-120}
PROGRAMS=${CHAOS_PROGRAMS:-2000}
RANDOM=$SEED
NODES=(semas kodit kamco)

chaos_init kill9
RESULTS=$CHAOS_DIR/results.tsv
REFERRALS_FILE=$CHAOS_DIR/referrals.txt
: >"$REFERRALS_FILE"
printf 'trial\tmode\tvictim\tkill_at_s\tdown_s\tkills\tsync_progress\tedits\tready_s\tconverge_s\tprograms\treferrals\tlost\tdup\tlost_updates\tundelivered\tverdict\n' >"$RESULTS"

for a in "${NODES[@]}"; do chaos_start_sim "$a" "$PROGRAMS"; done
chaos_layout "${NODES[@]}"
for a in "${NODES[@]}"; do CHANGE_NEXT[$a]=1; done


# ---- start the federation -------------------------------------------------------------------
t0=$(chaos_now)
for a in "${NODES[@]}"; do chaos_start_node "$a" || chaos_die "node $a did not start"; done
for a in "${NODES[@]}"; do
    for t in $(other_than "$a"); do make_referral "$a" "$t" >>"$REFERRALS_FILE" || chaos_die "referral $a->$t refused"; done
done
expected_programs=$(sim_total_programs)
expected_referrals=$(wc -l <"$REFERRALS_FILE")
result=$($CHAOS_PY converge --nodes "$(chaos_node_list)" --programs "$expected_programs" --referrals "$expected_referrals" --after "$(chaos_now)" --timeout 300)
rc=$?
t1=$(chaos_now)
chaos_log "initial sync: $expected_programs programs, $expected_referrals referrals on three nodes in $(chaos_elapsed "$t0" "$t1") s (seed $SEED)"
[[ $rc -eq 0 ]] || chaos_die "the federation did not converge at start: $result"

# ---- trials ---------------------------------------------------------------------------------
campaign_start=$(date +%s)
trials_run=0 kills=0 failures=0 lost_total=0 dup_total=0 lost_updates_total=0 undelivered_total=0
midsync_kills=0 resync_trials=0
converge_times=()
for ((trial = 1; trial <= TRIALS; trial++)); do
    if (( $(date +%s) - campaign_start > BUDGET )); then
        chaos_log "time budget of $BUDGET s spent: stopping after $trials_run trials"
        break
    fi
    victim=${NODES[RANDOM % 3]}
    mode=edits; (( RANDOM % 4 == 0 )) && mode=resync
    [[ ${CHAOS_MODE:-mixed} != mixed ]] && mode=$CHAOS_MODE
    window=$(rand_ms 5 8)                  # seconds of edits
    kill_at=$(rand_ms 200 $(( window * 1000 - 500 )))
    down=$(rand_ms 0 2500)
    edits_file=$CHAOS_DIR/edits-$trial.txt
    : >"$edits_file"
    chaos_edit_loop "$window" "$edits_file" $(( SEED * 1000 + trial )) &
    edit_pid=$!
    sleep "$(secs "$kill_at")"
    chaos_kill9 "$victim"; kills=$((kills + 1)); trial_kills=1
    progress=-
    if [[ $mode == resync ]]; then
        resync_trials=$((resync_trials + 1))
        rm -rf "$CHAOS_DIR/$victim/data"
        mkdir -m 700 "$CHAOS_DIR/$victim/data"
        chaos_start_node "$victim" || chaos_die "trial $trial: $victim did not restart on an empty data directory"
        sleep "$(secs "$(rand_ms 0 1500)")"
        chaos_kill9 "$victim"; kills=$((kills + 1)); trial_kills=2
        # How far the sync had got: the records in the dead node's file (read-only, as it was left).
        progress=$(sqlite3 "file:$CHAOS_DIR/$victim/data/replica.sqlite?mode=ro" 'SELECT count(*) FROM record' 2>/dev/null || echo "?")
        total_now=$(( $(sim_total_programs) + $(wc -l <"$REFERRALS_FILE") ))
        [[ $progress =~ ^[0-9]+$ ]] && (( progress < total_now )) && midsync_kills=$((midsync_kills + 1))
        progress="$progress/$total_now"
    fi
    sleep "$(secs "$down")"
    restart=$(chaos_now)
    chaos_start_node "$victim" || chaos_die "trial $trial: $victim did not restart after kill -9 (see $CHAOS_DIR/$victim/serve.log)"
    ready_s=$(chaos_elapsed "$restart" "$(chaos_now)")
    wait "$edit_pid"
    for a in "${NODES[@]}"; do
        chaos_alive "$a" || { chaos_fail "trial $trial: node $a is not running"; failures=$((failures + 1)); chaos_start_node "$a"; }
    done
    after=$(chaos_now)
    chaos_absorb_edits "$edits_file"
    n_edits=$EDITS
    expected_programs=$(sim_total_programs)
    expected_referrals=$(wc -l <"$REFERRALS_FILE")

    result=$($CHAOS_PY converge --nodes "$(chaos_node_list)" --programs "$expected_programs" --referrals "$expected_referrals" --after "$after" --timeout "$BOUND")
    converged=$?
    seconds=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$result")
    read -r lost dup programs referrals < <(python3 - "$result" "$expected_programs" "$expected_referrals" <<'EOF'
import json, sys
r = json.loads(sys.argv[1]); ep, er = int(sys.argv[2]), int(sys.argv[3])
nodes = [n for n in r["nodes"] if n.get("programs") is not None]
if not nodes:
    print("? ? ? ?"); sys.exit()
lost = max(max(0, ep - n["programs"]) + max(0, er - n["referrals"]) for n in nodes)
dup = max(max(0, n["programs"] - ep) + max(0, n["referrals"] - er) for n in nodes)
print(lost, dup, "/".join(str(n["programs"]) for n in nodes), "/".join(str(n["referrals"]) for n in nodes))
EOF
)
    verdict=ok
    lost_updates=0 undelivered=0
    if [[ $converged -ne 0 ]]; then
        verdict=NOT-CONVERGED
        chaos_fail "trial $trial ($mode, victim $victim): no convergence within $BOUND s: $result"
        # Was it slow, or stuck? Give it five more minutes and say which.
        late=$($CHAOS_PY converge --nodes "$(chaos_node_list)" --programs "$expected_programs" --referrals "$expected_referrals" --after "$after" --timeout 300)
        if [[ $? -eq 0 ]]; then
            chaos_fail "trial $trial: converged late, $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$late") s after the bound"
            verdict=LATE
        else
            chaos_fail "trial $trial: still not converged after 300 s more: $late"
        fi
    fi
    keys=$CHANGED_KEYS
    if [[ -n $keys && $converged -eq 0 ]]; then
        # shellcheck disable=SC2086
        check=$($CHAOS_PY changed --sockets "$(chaos_socket_list)" $keys) || {
            lost_updates=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["bad"]))' "$check")
            verdict=LOST-UPDATE
            chaos_fail "trial $trial: changes missing: $check"
        }
    fi
    if [[ $converged -eq 0 ]]; then
        check=$($CHAOS_PY intake --sims "$(chaos_sim_list)" "$REFERRALS_FILE") || {
            undelivered=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["missing"]))' "$check")
            verdict=UNDELIVERED
            chaos_fail "trial $trial: referrals not delivered: $check"
        }
    fi
    [[ $lost != 0 || $dup != 0 ]] && verdict="$verdict,COUNT-MISMATCH"
    [[ $verdict != ok ]] && failures=$((failures + 1))
    [[ $lost =~ ^[0-9]+$ ]] && lost_total=$((lost_total + lost))
    [[ $dup =~ ^[0-9]+$ ]] && dup_total=$((dup_total + dup))
    lost_updates_total=$((lost_updates_total + lost_updates))
    undelivered_total=$((undelivered_total + undelivered))
    [[ $converged -eq 0 ]] && converge_times+=("$seconds")
    trials_run=$trial
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$trial" "$mode" "$victim" "$(secs "$kill_at")" "$(secs "$down")" \
        "$trial_kills" "$progress" "$n_edits" "$ready_s" "$seconds" "$programs" "$referrals" "$lost" "$dup" "$lost_updates" "$undelivered" "$verdict" >>"$RESULTS"
    chaos_log "trial $trial/$TRIALS $mode victim=$victim kill@$(secs "$kill_at")s down=$(secs "$down")s sync=$progress edits=$n_edits ready=${ready_s}s converge=${seconds}s programs=$expected_programs referrals=$expected_referrals: $verdict"
    if [[ $verdict == NOT-CONVERGED ]]; then
        chaos_fail "stopping the campaign: the federation is stuck (state kept in $CHAOS_DIR)"
        break
    fi
done

# ---- the end: audit chains, graceful stop, integrity ----------------------------------------
for a in "${NODES[@]}"; do
    out=$("$HANARO" audit verify --config "$CHAOS_DIR/$a/node.yaml" 2>&1) || { chaos_fail "audit verify on $a: $out"; failures=$((failures + 1)); }
    chaos_log "audit verify $a: $out"
    # The transparency logs: after kills, restarts and rebuilt nodes, no witness may hold proof of
    # an equivocation (a rebuilt node starts a new log; a restarted one continues its own).
    equivocations=$(status_json "$a" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("log", {}).get("equivocations", "?"))' 2>/dev/null || echo "?")
    chaos_log "log of $a: equivocations held = $equivocations"
    [[ $equivocations == 0 ]] || { chaos_fail "$a holds $equivocations equivocation(s) after the campaign"; failures=$((failures + 1)); }
done
$CHAOS_PY snapshot --nodes "$(chaos_node_list)"
chaos_stop_all "${NODES[@]}"

read -r cmax cmed cp90 < <(printf '%s\n' "${converge_times[@]:-}" | python3 -c '
import sys, statistics
v = sorted(float(x) for x in sys.stdin.read().split())
if not v: print("- - -")
else: print(f"{v[-1]:.2f} {statistics.median(v):.2f} {v[min(len(v)-1, int(0.9*len(v)))]:.2f}")')
echo "kill9 summary: trials=$trials_run (of $TRIALS asked; $resync_trials rebuilt-node trials, $midsync_kills kills landed mid-initial-sync) kills=$kills records_lost=$lost_total duplicated=$dup_total lost_updates=$lost_updates_total undelivered_referrals=$undelivered_total failures=$failures converge_s: max=$cmax median=$cmed p90=$cp90 bound=${BOUND}s seed=$SEED wall=$(( $(date +%s) - campaign_start ))s"
cp "$RESULTS" "${CHAOS_RESULTS:-/dev/null}" 2>/dev/null
(( failures == 0 ))
