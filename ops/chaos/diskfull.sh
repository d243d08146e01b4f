#!/usr/bin/env bash
# ops/chaos/diskfull.sh — a node whose data directory fills up, then gets space back.
#
# Two nodes, semas and kodit, each reading its own simulated agency (CHAOS_PROGRAMS programs,
# default 500). kodit's data directory is a tmpfs of DISK_MB (16) MiB mounted for the test (needs
# root and `mount -t tmpfs`; without them the script says so and exits 2). Once both converged:
#
#  1. the tmpfs is filled to the last byte (dd), while programs are created and changed at both
#     simulators (kodit's adapter and its pulls from semas now have to write);
#  2. checks: kodit's /readyz answers 503 with a reason within 20 s; /healthz still 200; a push
#     of new versions to kodit (curl with semas's certificate, the body a page of semas's feed)
#     answers 503 with Retry-After; kodit's row for semas (and its own adapter's) says why; kodit
#     stays alive the whole time (polled every second for FULL_SECONDS, default 30);
#     then kodit is killed with SIGKILL and restarted on the still-full disk (what it does is
#     reported: serve not-ready, or exit 1 with a reason);
#  3. the filler is removed: /readyz is 200 again, and both nodes converge (same digest, exactly
#     the programs the simulators list) within CONVERGE_BOUND (120 s), every change present;
#  4. SIGTERM exits 0; integrity_check ok on the replica that ran out of space.
#
# Environment: HANARO, DISK_MB (16), FULL_SECONDS (30), CHAOS_PROGRAMS (500), CONVERGE_BOUND, CHAOS_KEEP=1.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

DISK_MB=${DISK_MB:-16}
FULL=${FULL_SECONDS:-30}
PROGRAMS=${CHAOS_PROGRAMS:-500}
BOUND=${CONVERGE_BOUND:-120}
NODES=(semas kodit)

chaos_init diskfull
failures=0
check() { if eval "$2"; then chaos_log "ok: $1"; else chaos_fail "$1"; failures=$((failures + 1)); fi; }

for a in "${NODES[@]}"; do chaos_start_sim "$a" "$PROGRAMS"; CHANGE_NEXT[$a]=1; done
chaos_layout "${NODES[@]}"
DISK=$CHAOS_DIR/kodit/data
if [[ $(id -u) != 0 ]] || ! mount -t tmpfs -o "size=${DISK_MB}m,mode=0700" tmpfs "$DISK" 2>"$CHAOS_DIR/mount.err"; then
    echo "diskfull.sh: cannot mount a tmpfs on $DISK ($(cat "$CHAOS_DIR/mount.err" 2>/dev/null) uid $(id -u)); run as root where mount -t tmpfs is allowed" >&2
    exit 2
fi
CHAOS_EXIT_HOOKS+=("umount '$DISK' 2>/dev/null")
chaos_log "kodit's data directory is a ${DISK_MB} MiB tmpfs: $(df -h "$DISK" | tail -1)"

REFERRALS_FILE=$CHAOS_DIR/referrals.txt
: >"$REFERRALS_FILE"
for a in "${NODES[@]}"; do chaos_start_node "$a" || chaos_die "node $a did not start"; done
result=$($CHAOS_PY converge --nodes "$(chaos_node_list)" --programs "$(sim_total_programs)" --referrals 0 --after "$(chaos_now)" --timeout 300) \
    || chaos_die "no convergence before the disk fills: $result"
chaos_log "converged: $(sim_total_programs) programs; kodit's tmpfs: $(df -h "$DISK" | tail -1 | awk '{print $3 " used of " $2}')"

# 1. Fill the disk, with edits flowing.
edits=$CHAOS_DIR/edits.txt
: >"$edits"
chaos_edit_loop $(( FULL + 10 )) "$edits" 7 &
edit_pid=$!
dd if=/dev/zero of="$DISK/filler" bs=64k 2>"$CHAOS_DIR/dd.err"
chaos_log "filled: $(tail -1 "$CHAOS_DIR/dd.err"); $(df -h "$DISK" | tail -1 | awk '{print $4 " free"}')"
t_full=$(chaos_now)

# 2. Not ready, with a reason; alive; pushes refused with 503 + Retry-After.
code=000 body=""
for ((i = 0; i < 80; i++)); do
    body=$(curl -s --max-time 3 -w '\n%{http_code}' "$(status_url kodit)/readyz")
    code=${body##*$'\n'}; body=${body%$'\n'*}
    [[ $code == 503 ]] && break
    sleep 0.25
done
readyz_full=$code
check "kodit /readyz -> $code after $(chaos_elapsed "$t_full" "$(chaos_now)") s: $body" '[[ $code == 503 && $body == *reason* ]]'
health=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$(status_url kodit)/healthz")
check "kodit /healthz -> $health while full" '[[ $health == 200 ]]'

# A page of semas's feed (pulled with kodit's certificate), pushed to kodit as semas.
sleep 3   # let semas read some of the new programs, so the page holds versions kodit lacks
PKI=$CHAOS_DIR/pki
curl -s --max-time 20 --cert "$PKI/kodit.pem" --key "$PKI/kodit-key.pem" --cacert "$PKI/federation-ca.pem" \
    -o "$CHAOS_DIR/page.bin" "https://127.0.0.1:${FED_PORT[semas]}/v1/changes?after=0&limit=5000&echo=0"
push=$(curl -s --max-time 60 --cert "$PKI/semas.pem" --key "$PKI/semas-key.pem" --cacert "$PKI/federation-ca.pem" \
    -H 'Content-Type: application/x-hanaro-batch' --data-binary @"$CHAOS_DIR/page.bin" -D "$CHAOS_DIR/push.headers" \
    -w '\n%{http_code}' "https://127.0.0.1:${FED_PORT[kodit]}/v1/push")
push_code=${push##*$'\n'}; push_body=${push%$'\n'*}
retry_after=$(grep -i '^retry-after:' "$CHAOS_DIR/push.headers" | tr -d '\r' | cut -d' ' -f2)
check "push of $(stat -c %s "$CHAOS_DIR/page.bin") bytes to the full node -> $push_code, Retry-After: ${retry_after:-none}: ${push_body:0:200}" \
    '[[ $push_code == 503 && -n $retry_after ]]'

watch=$($CHAOS_PY watch --nodes "$(chaos_node_list)" --seconds "$FULL" --pids "kodit=${NODE_PID[kodit]},semas=${NODE_PID[semas]}")
alive=$(python3 -c 'import json,sys; print(all(json.loads(sys.argv[1])["alive"].values()))' "$watch")
check "both nodes alive through ${FULL} s of a full disk" '[[ $alive == True ]]'
chaos_log "what kodit's status said while full: $(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["links"], ensure_ascii=False))' "$watch")"
own=$(status_get kodit 'row("kodit")["state"] + " / " + str(row("kodit")["last_error"])')
not_ready=$(status_get kodit 'str(s["ready"]) + " / " + str(s["not_ready_reason"])')
chaos_log "kodit's own adapter row: $own; ready/not_ready_reason: $not_ready"
wait "$edit_pid"
chaos_absorb_edits "$edits"

# 2b. kill -9 while full, and a restart on the full disk: it either serves (not ready) or exits
# with a one-line reason; either way nothing may be lost once space is back.
chaos_kill9 kodit
failed_before=$CHAOS_FAILED
if chaos_start_node kodit; then
    sleep 6
    restart_full="started on the full disk; /readyz $(curl -s -w ' %{http_code}' --max-time 3 "$(status_url kodit)/readyz" | tail -c 200)"
else
    restart_full="refused to start on the full disk: $(grep '^hanaro:' "$CHAOS_DIR/kodit/serve.log" | tail -1)"
    CHAOS_FAILED=$failed_before   # an exit with a reason is an acceptable outcome here, not a failure
fi
chaos_log "kill -9 while full, restart while still full: $restart_full"

# 3. Space back.
rm -f "$DISK/filler"
chaos_alive kodit || chaos_start_node kodit || chaos_die "kodit did not start once space was back"
t_free=$(chaos_now)
code=000
for ((i = 0; i < 120; i++)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$(status_url kodit)/readyz")
    [[ $code == 200 ]] && break
    sleep 0.25
done
check "kodit /readyz -> $code $(chaos_elapsed "$t_free" "$(chaos_now)") s after the space came back" '[[ $code == 200 ]]'
expected=$(sim_total_programs)
result=$($CHAOS_PY converge --nodes "$(chaos_node_list)" --programs "$expected" --referrals "$(wc -l <"$REFERRALS_FILE")" --after "$(chaos_now)" --timeout "$BOUND")
rc=$?
check "converged after the disk was freed: $(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["converged"], r["seconds"], "s", [(n["node"], n.get("programs"), n.get("digest")) for n in r["nodes"]])' "$result") (expected $expected programs)" '(( rc == 0 ))'
# shellcheck disable=SC2086
changed=$($CHAOS_PY changed --sockets "$(chaos_socket_list)" $CHANGED_KEYS)
rc=$?
check "every change made while kodit was full is on both nodes: ${changed:0:300}" '(( rc == 0 ))'
intake=$($CHAOS_PY intake --sims "$(chaos_sim_list)" "$REFERRALS_FILE")
rc=$?
check "every referral made meanwhile reached its target's intake: $intake" '(( rc == 0 ))'
check "both nodes alive" 'chaos_alive semas && chaos_alive kodit'
$CHAOS_PY snapshot --nodes "$(chaos_node_list)"
chaos_stop_all "${NODES[@]}"
echo "diskfull summary: tmpfs=${DISK_MB}MiB full_for=${FULL}s readyz_full=$readyz_full push=$push_code retry_after=${retry_after:-none} failures=$failures programs=$expected"
(( failures == 0 ))
