#!/usr/bin/env bash
# Fuzz the canonical reader with libFuzzer for a fixed number of executions, corpus kept in the
# repo (ops/fuzz/corpus/canonical). HanaroCore has no dependencies, so its sources are compiled
# with the target directly (no instrumented rebuild of the whole package).
#   ops/fuzz/run.sh [RUNS]        default 200000
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-200000}
out=.build-fuzz
mkdir -p "$out"
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name HanaroFuzz \
  -enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility \
  $(find Sources/HanaroCore -name '*.swift') ops/fuzz/canonical.swift -o "$out/fuzz-canonical" 2>&1 | grep -v "Cannot export local symbol" || true
mkdir -p "$out/new-canonical"
"$out/fuzz-canonical" -runs="$runs" -max_len=4096 -print_final_stats=1 "$out/new-canonical" ops/fuzz/corpus/canonical
