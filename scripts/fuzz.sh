#!/usr/bin/env bash
# Runs every libFuzzer driver of a fuzz build for N seconds each, on a scratch copy of its
# corpus (new inputs land in tests/fuzz/findings/NAME/corpus/, crashes as crash-* files in
# tests/fuzz/findings/NAME/, libFuzzer's output in tests/fuzz/findings/NAME/log).
# Prints one line per driver ("fuzz: NAME  RUNS runs  ok" or "... FAILED: see ...") and
# a total; exits 1 if any driver found a crash (or failed to run), else 0.
# Usage: scripts/fuzz.sh BUILD_DIR SECONDS   (make fuzz FUZZ_SECONDS=N, make fuzz-short)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${2:-60}
status=0
drivers=0
failed=0
start=$SECONDS
for bin in "$build"/fuzz_*; do
    [ -x "$bin" ] || continue
    name=${bin##*/fuzz_}
    work=tests/fuzz/findings/$name
    mkdir -p "$work/corpus"
    cp -n tests/fuzz/corpus/"$name"/* "$work/corpus/" 2>/dev/null || true
    dict=()
    [ -f tests/fuzz/"$name".dict ] && dict=(-dict=tests/fuzz/"$name".dict)
    drivers=$((drivers + 1))
    # -timeout: one input taking over 20 s is a finding (a hang), not a stalled gate.
    rc=0
    touch "$work/log.start"
    "$bin" -max_total_time="$seconds" -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$work/" "${dict[@]}" "$work/corpus" >"$work/log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        printf 'fuzz: %-12s %10s runs  %5s MB  ok\n' "$name" "${runs:-?}" "${rss:-?}"
    else
        crashes=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
            -o -name 'timeout-*' -o -name 'oom-*' \) -newer "$work/log.start" 2>/dev/null |
            tr '\n' ' ' || true)
        printf 'fuzz: %-12s %10s runs  %5s MB  FAILED (exit %s): see %s/log %s\n' "$name" \
            "${runs:-?}" "${rss:-?}" "$rc" "$work" "$crashes"
        failed=$((failed + 1))
        status=1
    fi
done
if [ "$drivers" -eq 0 ]; then
    echo "fuzz: no fuzz_* drivers in $build (run make fuzz-build first)" >&2
    exit 1
fi
echo "fuzz: $drivers drivers, $failed failed, $((SECONDS - start)) s"
exit $status
