#!/usr/bin/env bash
# cli.sh - the sesame executable: help, version, and the commands later issues fill in.
. "$(dirname "$0")/lib.bash"

out=$("$SESAME" version); rc=$?
expect_eq "version exits 0" 0 "$rc"
expect_match "version prints the version" '^sesame [0-9]+\.[0-9]+\.[0-9]+$' "$out"
out=$("$SESAME" --version); expect_match "--version works" '^sesame [0-9]' "$out"

out=$("$SESAME" --help); rc=$?
expect_eq "--help exits 0" 0 "$rc"
expect_match "--help lists commands" 'Usage: sesame COMMAND' "$out"
expect_match "--help lists up" '^  up ' "$out"
out=$("$SESAME" help); expect_match "help works" 'Commands:' "$out"

"$SESAME" >/dev/null 2>&1; expect_eq "no command exits 2" 2 "$?"

for cmd in up hub sync api account vault item connect activity read run inject; do
    err=$("$SESAME" "$cmd" 2>&1 >/dev/null); rc=$?
    expect_eq "$cmd exits 2 for now" 2 "$rc"
    expect_eq "$cmd says it is not yet available" "sesame: '$cmd' is not yet available in this version" "$err"
done

err=$("$SESAME" frobnicate 2>&1 >/dev/null); rc=$?
expect_eq "unknown command exits 2" 2 "$rc"
expect_eq "unknown command: one clear line" "sesame: unknown command; see 'sesame --help'" "$err"

err=$("$SESAME" version extra 2>&1 >/dev/null); rc=$?
expect_eq "version with arguments exits 2" 2 "$rc"
expect_eq "version with arguments: one line" 1 "$(printf '%s\n' "$err" | wc -l)"

finish
