#!/usr/bin/env bash
# Program search over HTTP from outside: wrk (Debian's package, C, its own process) against the
# Agency API of a real `hanaro serve` holding PROGRAMS programs (issue 12's row "search p99 ≤ 10 ms
# over 100,000 programs at 200 requests/s (wrk)"). Run from the repository root after
#   swift build -c release --product hanaro && swift build -c release --product hanaro-bench
#
#   ops/bench/search-load.sh [PROGRAMS] [RATE] [SECONDS]      (defaults: 100000 200 30)
#
# A source node (kodit) is seeded with signed versions (`hanaro-bench sync-seed`: four in five
# programs, one in five a referral); a second node (semas, with `api.listen` and a tokens file)
# pulls them all over mutual TLS, then wrk sends RATE searches/s to semas's API: the same ten texts
# as `hanaro-bench api` (one and two syllables, spacing, a year), a third of them with `region=42`.
# A second wrk pass lists programs without text (the cheap path) at the same rate as the anchor of
# the node's HTTP cost. Prints wrk's latency distribution, its exact p50/p90/p99/p99.9/max, and the
# non-200 answers.
#
# wrk paces with a per-connection `delay()` (CONNECTIONS / RATE apart): a connection waits for its
# answer before its next request, so an answer slower than that delay postpones the next request
# (coordinated omission). At 200/s over 8 connections the delay is 40 ms, so latencies under 40 ms
# are measured as an open-loop client would; the script prints the achieved rate so that a slower
# run shows. WRK_NICE=-15 runs wrk at that nice value (root or CAP_SYS_NICE), as in
# status-port-load.sh: on two shared cores the client's own wait for a core otherwise counts as
# the server's latency.
set -euo pipefail
PROGRAMS=${1:-100000}
RATE=${2:-200}
SECONDS_=${3:-30}
CONNECTIONS=${CONNECTIONS:-8}
BIN=${BIN:-.build/release}
NAME=searchload
. "$(dirname "$0")/two-nodes.sh"
PA=$(port)
mkdir -p "$dir/semas"; chmod 700 "$dir/semas"
node kodit kodit "$PK" "$SK"
TOKEN=$($BIN/hanaro tokens add --file "$dir/api-tokens" --name bench --scopes read | grep -o 'hnr_[A-Za-z0-9_-]*' | head -1)
[ -n "$TOKEN" ] || { echo "hanaro tokens add printed no token" >&2; exit 1; }
node semas semas "$PS" "$SS" "$(printf 'api:\n  listen: 127.0.0.1:%s\n  tokens_file: %s\n' "$PA" "$dir/api-tokens")"
RECORDS=$(( PROGRAMS * 5 / 4 ))
echo "# ops/bench/search-load.sh $PROGRAMS $RATE $SECONDS_   ($(date -u +%FT%TZ), $(nproc) cores, $CONNECTIONS connections, wrk nice ${WRK_NICE:-0})"
echo "seeding $RECORDS versions ($PROGRAMS programs) at kodit..."
$BIN/hanaro-bench sync-seed --path "$dir/kodit/replica.sqlite" --key "$dir/kodit/replica.key" --records "$RECORDS" \
  --signing-key "$dir/kodit-signing.key"
$BIN/hanaro serve --config "$dir/kodit.yaml" --log-level error > "$dir/kodit.log" 2>&1 &
$BIN/hanaro serve --config "$dir/semas.yaml" --log-level error > "$dir/semas.log" 2>&1 &
until curl -sf "http://127.0.0.1:$SS/healthz" >/dev/null; do sleep 0.1; done
start=$(date +%s)
while true; do
  n=$(curl -s "http://127.0.0.1:$SS/status" | python3 -c 'import sys,json; print(json.load(sys.stdin)["replica"]["programs"])' 2>/dev/null || echo 0)
  [ "$n" -ge "$PROGRAMS" ] && break
  [ $(( $(date +%s) - start )) -lt 1800 ] || { echo "semas holds $n of $PROGRAMS programs after 30 minutes" >&2; tail -5 "$dir/semas.log" >&2; exit 1; }
  sleep 1
done
echo "semas holds $n programs (pulled in $(( $(date +%s) - start )) s); letting both nodes settle (checkpoints, witnesses)..."
sleep 20
DELAY_MS=$(( 1000 * CONNECTIONS / RATE ))
lua() { # file request-lines
  cat > "$1" <<LUA
local paths = {$2}
local i = 0
wrk.headers["Authorization"] = "Bearer $TOKEN"
request = function() i = i + 1; return wrk.format("GET", paths[(i % #paths) + 1]) end
delay = function() return $DELAY_MS end
done = function(summary, latency, requests)
  local s = ""
  for _, p in ipairs({50, 90, 99, 99.9}) do s = s .. string.format("p%s %.2f ms, ", p, latency:percentile(p) / 1000) end
  io.write(string.format("exact: %smax %.2f ms; %d requests in %.1f s = %.1f/s; errors: connect %d, read %d, write %d, timeout %d, non-2xx %d\n",
    s, latency.max / 1000, summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status))
end
LUA
}
# The ten texts of `hanaro-bench api`, URL-encoded; every third request with region=42 (강원, read as 51).
paths=$(python3 - <<'PY'
import urllib.parse
texts = ["창업", "소상공인 자금", "창", "컨설팅", "지원", "보증", "재도전", "수출 판로", "2026년", "교육"]
out = []
for i in range(30):
    p = "/v1/programs?q=" + urllib.parse.quote(texts[i % len(texts)])
    if i % 3 == 1: p += "&region=42"
    out.append('"' + p + '"')
print(", ".join(out))
PY
)
lua "$dir/search.lua" "$paths"
lua "$dir/list.lua" '"/v1/programs", "/v1/programs?region=42"'
# Each answer checked once by hand before timing: 200 and items.
curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PA/v1/programs?q=%EC%B0%BD%EC%97%85&limit=3" | python3 -c 'import sys,json; d=json.load(sys.stdin); print("check: q=창업 answers", len(d["items"]), "items, first:", d["items"][0]["title"] if d["items"] else None)'
SEMAS_PID=$(pgrep -f "$dir/semas.yaml" | head -1)
cpu() { awk '{print $14 + $15}' "/proc/$SEMAS_PID/stat"; }   # the node's user + system CPU, in ticks
per_request() { # ticks-before ticks-after wrk-output: the node's CPU per answered request
  python3 -c "import sys,re; t=(int(sys.argv[2])-int(sys.argv[1]))/$(getconf CLK_TCK); n=int(re.search(r'(\\d+) requests in', open(sys.argv[3]).read()).group(1)); print(f'the node used {t:.1f} s of CPU: {1000*t/n:.2f} ms a request ({t/$SECONDS_:.2f} cores)')" "$@"
}
echo "--- wrk: searches at $RATE/s for $SECONDS_ s ($CONNECTIONS connections, ${DELAY_MS} ms apart each) ---"
# PERF_OUT=FILE records a profile of the API node (perf record -g) during the searches.
if [ -n "${PERF_OUT:-}" ]; then perf record -g -o "$PERF_OUT" -p "$SEMAS_PID" -- sleep "$SECONDS_" 2>/dev/null & fi
before=$(cpu)
$WRK -t2 -c"$CONNECTIONS" -d"${SECONDS_}s" -s "$dir/search.lua" --latency "http://127.0.0.1:$PA" | tee "$dir/wrk-search.txt"
per_request "$before" "$(cpu)" "$dir/wrk-search.txt"
echo "--- wrk: lists without text at $RATE/s for $SECONDS_ s (the node's HTTP cost without a search) ---"
if [ -n "${PERF_OUT:-}" ]; then sleep 1; perf record -g -o "$PERF_OUT.list" -p "$SEMAS_PID" -- sleep "$SECONDS_" 2>/dev/null & fi
before=$(cpu)
$WRK -t2 -c"$CONNECTIONS" -d"${SECONDS_}s" -s "$dir/list.lua" --latency "http://127.0.0.1:$PA" | tee "$dir/wrk-list.txt"
per_request "$before" "$(cpu)" "$dir/wrk-list.txt"
echo "semas peak RSS: $(grep VmHWM /proc/$SEMAS_PID/status | awk '{print $2/1024 " MB"}')"
