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

for cmd in sync api; do
    err=$(env -u SESAME_BINARY -u SESAME_SOURCE_DIR -u SESAME_HUBREQ -u SESAME_BUSREQ -u SESAME_JS_DIR \
        HOME=/nonexistent-sesame-home "$SESAME" "$cmd" 2>&1 >/dev/null); rc=$?
    expect_eq "$cmd without a credentials file exits 1" 1 "$rc"
    expect_eq "$cmd without a credentials file says so in one line" \
        "sesame: $cmd: OP_SESSION: credentials file /nonexistent-sesame-home/.op/1password-credentials.json: no such file" "$err"
    err=$("$SESAME" "$cmd" --bogus 2>&1 >/dev/null); rc=$?
    expect_eq "$cmd with an unknown flag exits 2" 2 "$rc"
done

# the client commands (tests/integration/client.sh has the rest)
err=$("$SESAME" read 2>&1 >/dev/null); rc=$?
expect_eq "read without a reference exits 2 with one line" \
    "2 sesame: read: give a secret reference, op://vault/item/field" "$rc $err"
err=$("$SESAME" run 2>&1 >/dev/null); rc=$?
expect_eq "run without a command exits 2 with one line" \
    "2 sesame: run: give the command to run after --" "$rc $err"
err=$(env -u OP_CONNECT_HOST "$SESAME" inject 2>&1 >/dev/null </dev/null); rc=$?
expect_eq "inject without OP_CONNECT_HOST exits 1 with one line" \
    "1 sesame: inject: OP_CONNECT_HOST is not set (the URL of the Connect server)" "$rc $err"

for cmd in account vault item connect; do
    "$SESAME" "$cmd" >/dev/null 2>&1; rc=$?
    expect_eq "$cmd without a subcommand exits 2" 2 "$rc"
    out=$("$SESAME" "$cmd" --help); rc=$?
    expect_eq "$cmd --help exits 0" 0 "$rc"
    expect_match "$cmd --help shows usage" 'sesame' "$out"
done
err=$(HOME=/nonexistent SESAME_ACCOUNT_KIT= XDG_CONFIG_HOME= "$SESAME" vault list 2>&1 >/dev/null); rc=$?
expect_eq "vault list without a kit exits 1" 1 "$rc"
expect_eq "vault list without a kit: one line" 1 "$(printf '%s\n' "$err" | wc -l)"
expect_match "vault list without a kit: says so" '^sesame: .*account kit' "$err"

err=$("$SESAME" frobnicate 2>&1 >/dev/null); rc=$?
expect_eq "unknown command exits 2" 2 "$rc"
expect_eq "unknown command: one clear line" "sesame: unknown command; see 'sesame --help'" "$err"

err=$("$SESAME" version extra 2>&1 >/dev/null); rc=$?
expect_eq "version with arguments exits 2" 2 "$rc"
expect_eq "version with arguments: one line" 1 "$(printf '%s\n' "$err" | wc -l)"

finish
