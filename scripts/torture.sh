#!/usr/bin/env bash
# torture.sh BUILD_DIR [POINTS] - allocation-failure torture over the unit tests of the
# pure modules (as curl's torture tests do): each test binary is run once to count its
# allocations through common/alloc (SESAME_ALLOC_COUNT_FILE), then again with the N-th
# allocation failing (SESAME_ALLOC_FAIL_AT=N) for every N, or for POINTS points spread
# evenly over the count when it has more. A run may fail its assertions (an operation that
# met ERR_NOMEM does not do what the test expects) but must never crash, hang (30 s) or
# trip a sanitizer (in an ASan+UBSan build). Leaks are not judged here: a failed cmocka
# assertion leaves the test's own memory behind; the normal test runs check leaks.
# `make torture` (every point, long) and `make test` (POINTS=25 on the ASan build).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-asan}
points=${2:-0} # 0: every allocation
tests=(arena buf codec config credentials crypto_jwk crypto_jws envfile filter generator
    item keys_vaultcrypt kit mask objects patch ratelimit router secretref timefmt token totp
    adminsig)
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:${ASAN_OPTIONS:-}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sesame-torture.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
status=0 total_runs=0
for t in "${tests[@]}"; do
    bin="$build/test_$t"
    [ -x "$bin" ] || { echo "torture: $bin is missing"; status=1; continue; }
    rm -f "$tmp/count"
    SESAME_ALLOC_COUNT_FILE="$tmp/count" "$bin" >/dev/null 2>&1 || true
    n=$(cat "$tmp/count" 2>/dev/null || echo 0)
    if [ "$n" -eq 0 ]; then
        echo "torture: $t: no allocations"
        continue
    fi
    if [ "$points" -gt 0 ] && [ "$n" -gt "$points" ]; then
        mapfile -t at < <(awk -v n="$n" -v p="$points" 'BEGIN { for (i = 0; i < p; i++) print int(i * n / p) }')
    else
        mapfile -t at < <(seq 0 $((n - 1)))
    fi
    bad=0
    for a in "${at[@]}"; do
        rc=0
        SESAME_ALLOC_FAIL_AT=$a timeout 30 "$bin" >"$tmp/out" 2>&1 || rc=$?
        total_runs=$((total_runs + 1))
        if [ "$rc" -ge 124 ] || grep -qE 'ERROR: AddressSanitizer|runtime error:|Segmentation fault' "$tmp/out"; then
            echo "torture: $t: allocation $a of $n: $([ "$rc" -eq 124 ] && echo "hang" || echo "crash (exit $rc)")"
            grep -E -m 5 'ERROR: AddressSanitizer|runtime error:|#[0-9] ' "$tmp/out" | sed 's/^/torture:   /'
            bad=$((bad + 1))
            status=1
        fi
    done
    echo "torture: $t: $n allocations, ${#at[@]} failed in turn, $bad bad"
done
echo "torture: $total_runs runs, $([ "$status" -eq 0 ] && echo "no crash, hang or sanitizer report" || echo FAILED)"
exit $status
