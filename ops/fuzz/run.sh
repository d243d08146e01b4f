#!/usr/bin/env bash
# Fuzz every parser of outside bytes with libFuzzer, a fixed number of executions per target, the
# corpus kept in the repo (ops/fuzz/corpus/<target>):
#   wire-frames  the federation batch body (LEB128 frames of canonical versions)
#   canonical    one canonical record version
#   semas koreg kodit kamco kinfa ewpc   each agency's native program page / daily export
#   config       the node configuration file (YAML)
#   log-checkpoint   a peer's checkpoint note and leaves body, as a witness reads them
#   evidence-bundle  an evidence bundle, as `hanaro evidence verify` reads one
# The whole package is built with -sanitize=fuzzer,address into .build-fuzz (the first build takes
# about as long as a clean debug build); `hanaro-fuzz TARGET` then runs libFuzzer's driver on one
# target (Sources/HanaroFuzzTargets: each target checks properties beyond "no trap").
#
#   ops/fuzz/run.sh [RUNS] [TARGET...]     default 200000 executions, every target
#   MERGE=1 ops/fuzz/run.sh ...            afterwards, merge what was found into the repo corpus
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-200000}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(wire-frames canonical semas koreg kodit kamco kinfa ewpc config log-checkpoint evidence-bundle)
scratch=.build-fuzz
swift build --scratch-path "$scratch" --product hanaro-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DHANARO_FUZZ 2>&1 | grep -E "error|warning: |Compiling hanaro|Build" || true
fuzz="$scratch/debug/hanaro-fuzz"
[[ -x $fuzz ]] || { echo "fuzz: the instrumented build failed" >&2; exit 1; }
# libFuzzer, not the Swift runtime, reports a trap: it keeps the input as crash-<sha1>.
# Leak detection is off: LeakSanitizer reports only one-time allocations inside libxml2 (behind
# Foundation's XMLParser), CoreFoundation and swift-configuration's file reads, not ours.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=detect_leaks=0
status=0
for target in "${targets[@]}"; do
    corpus=ops/fuzz/corpus/$target
    found=$scratch/found-$target
    mkdir -p "$corpus" "$found" "$scratch/crashes"
    echo "== $target: $runs executions on $(ls "$corpus" | wc -l) corpus inputs"
    export HANARO_FUZZ_TARGET=$target
    if ! "$fuzz" "$target" -runs="$runs" -max_len=8192 -timeout=10 -rss_limit_mb=4096 -detect_leaks=0 -print_final_stats=1 \
        -artifact_prefix="$scratch/crashes/$target-" "$found" "$corpus" 2>"$scratch/$target.log"; then
        status=1
        echo "   CRASH: see $scratch/$target.log and $scratch/crashes/" >&2
    fi
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE" "$scratch/$target.log" | sed 's/^/   /'
    if [[ ${MERGE:-0} == 1 ]]; then
        "$fuzz" "$target" -merge=1 -detect_leaks=0 -artifact_prefix="$scratch/crashes/$target-merge-" "$corpus" "$found" 2>/dev/null || true
        echo "   corpus now $(ls "$corpus" | wc -l) inputs"
    fi
done
exit $status
