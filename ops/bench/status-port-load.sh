#!/usr/bin/env bash
# Status-port latency under probe load while a 1,000,000-record sync runs, and the sync's
# slowdown under that load (issue: operator surface). Run from the repository root after
#   swift build -c release --product hanaro && swift build -c release --product hanaro-bench
#
#   ops/bench/status-port-load.sh [RECORDS] [RATE]      (defaults: 1000000 1000)
#
# A source node (kodit) holds RECORDS versions; a sink node (semas, a real `hanaro serve`) pulls
# them all over mutual TLS, twice: once with no probes, once with wrk (Debian's package) sending
# RATE requests/s, rotating /healthz, /readyz, /status and /metrics, to the sink's status port.
# Prints wrk's latency distribution and the two sync times.
set -euo pipefail
RECORDS=${1:-1000000}
RATE=${2:-1000}
CONNECTIONS=10
BIN=${BIN:-.build/release}
NAME=statusload
. "$(dirname "$0")/two-nodes.sh"
node kodit kodit "$PK" "$SK"
echo "# ops/bench/status-port-load.sh $RECORDS $RATE   ($(date -u +%FT%TZ), $(nproc) cores)"
echo "seeding $RECORDS versions at the source..."
# Signed by kodit's key, as kodit's node signs: the sink verifies every version (an unsigned one
# would be quarantined as signature_missing and the sync would never reach RECORDS).
$BIN/hanaro-bench sync-seed --path "$dir/kodit/replica.sqlite" --key "$dir/kodit/replica.key" --records "$RECORDS" \
  --signing-key "$dir/kodit-signing.key"
$BIN/hanaro serve --config "$dir/kodit.yaml" --log-level error > "$dir/kodit.log" 2>&1 &
sleep 2
DELAY_MS=$(( 1000 * CONNECTIONS / RATE ))
cat > "$dir/probes.lua" <<LUA
local paths = {"/healthz", "/readyz", "/status", "/metrics"}
local i = 0
request = function() i = i + 1; return wrk.format("GET", paths[(i % #paths) + 1]) end
delay = function() return $DELAY_MS end
LUA

run() { # label load(0|1)
  local data="semas-$1"
  mkdir -p "$dir/$data"; chmod 700 "$dir/$data"
  node semas "$data" "$PS" "$SS"
  $BIN/hanaro serve --config "$dir/semas.yaml" --log-level error > "$dir/semas-$1.log" 2>&1 &
  local pid=$!
  local wrkpid=""
  until curl -sf "http://127.0.0.1:$SS/healthz" >/dev/null; do sleep 0.05; done
  local start=$(date +%s.%N)
  if [ "$2" = 1 ]; then
    $WRK -t2 -c$CONNECTIONS -d3600s -s "$dir/probes.lua" --latency "http://127.0.0.1:$SS" > "$dir/wrk.txt" 2>&1 &
    wrkpid=$!
  fi
  local deadline=$(( $(date +%s) + 3600 ))
  while true; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "sync $1 did not finish within an hour; quarantine: $(curl -s "http://127.0.0.1:$SS/status" | head -c 400)" >&2; exit 1; }
    n=$(curl -s "http://127.0.0.1:$SS/status" | python3 -c 'import sys,json; r=json.load(sys.stdin)["replica"]; print(r["programs"]+r["referrals"])' 2>/dev/null || echo 0)
    [ "$n" -ge "$RECORDS" ] && break
    sleep 0.5
  done
  local end=$(date +%s.%N)
  if [ -n "$wrkpid" ]; then kill -INT "$wrkpid"; wait "$wrkpid" || true; fi
  kill -TERM "$pid"; wait "$pid" || true
  python3 -c "print('sync $1: %.1f s, %d records/s' % ($end-$start, $RECORDS/($end-$start)))"
  echo "$end - $start" | bc > "$dir/time-$1"
}
# Baseline: the same probes against the idle source node (it holds the RECORDS versions).
until curl -sf "http://127.0.0.1:$SK/healthz" >/dev/null; do sleep 0.05; done
# Idle means after the source's first checkpoint: signing it reads every leaf the seed logged
# (up to ten minutes allowed; the log's size and checkpointed size are on /status).
for _ in $(seq 1 600); do
  curl -s "http://127.0.0.1:$SK/status" | python3 -c 'import sys, json
l = json.load(sys.stdin).get("log") or {}
sys.exit(0 if l.get("size", 0) > 0 and l.get("checkpoint_size") == l.get("size") else 1)' 2>/dev/null && break
  sleep 1
done
$WRK -t2 -c$CONNECTIONS -d15s -s "$dir/probes.lua" --latency "http://127.0.0.1:$SK" > "$dir/wrk-idle.txt" 2>&1
run noload 0
run load 1
echo "--- baseline: wrk against an idle node's status port (same rate, no sync running) ---"
grep -E "Latency|50%|90%|99%|Requests/sec" "$dir/wrk-idle.txt"
echo "--- wrk against the sink's status port during the loaded sync (target rate $RATE req/s, $CONNECTIONS connections) ---"
cat "$dir/wrk.txt"
python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
a = float(open(f"{d}/time-noload").read()); b = float(open(f"{d}/time-load").read())
print(f"sync slowdown under probe load: {100*(b/a-1):+.1f}% ({a:.1f} s -> {b:.1f} s)")
PY
