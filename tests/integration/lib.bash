# lib.bash - helpers for the integration tests (sourced, not run: no test of its own).
# Each test prints "ok - ..." / "not ok - ..." lines and finishes with `finish`, which
# prints the "N passed, N failed" line and sets the exit status.
set -u
SESAME=${SESAME_BINARY:?SESAME_BINARY must point at the sesame executable}
PASSED=0
FAILED=0

ok() {
    PASSED=$((PASSED + 1))
    echo "ok - $1"
}

not_ok() {
    FAILED=$((FAILED + 1))
    echo "not ok - $1"
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected [$2], got [$3]"; fi
}

# expect_match DESCRIPTION REGEX TEXT
expect_match() {
    if printf '%s' "$3" | grep -qE -- "$2"; then ok "$1"; else not_ok "$1: [$3] does not match /$2/"; fi
}

finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
