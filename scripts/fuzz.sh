#!/usr/bin/env bash
# Runs every libFuzzer driver of a fuzz build for N seconds each, on a scratch copy of its
# corpus (new inputs land in tests/fuzz/findings/NAME/, crashes as crash-* files there).
# Usage: scripts/fuzz.sh BUILD_DIR SECONDS     (make fuzz FUZZ_SECONDS=N builds and calls it)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${2:-60}
status=0
for bin in "$build"/fuzz_*; do
    [ -x "$bin" ] || continue
    name=${bin##*/fuzz_}
    work=tests/fuzz/findings/$name
    mkdir -p "$work/corpus"
    cp -n tests/fuzz/corpus/"$name"/* "$work/corpus/" 2>/dev/null || true
    dict=()
    [ -f tests/fuzz/"$name".dict ] && dict=(-dict=tests/fuzz/"$name".dict)
    echo "fuzz: $name for ${seconds}s"
    if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/" \
        "${dict[@]}" "$work/corpus" 2>"$work/log"; then
        echo "fuzz: $name FAILED: see $work/log and $work/crash-*"
        status=1
    fi
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$work/log" || true
done
exit $status
