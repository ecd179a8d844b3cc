#!/usr/bin/env bash
# client.sh - `sesame read`, `sesame run` and `sesame inject` (issue 8) against a real
# Connect server (hub, sync, api on 127.0.0.1): every reference form (titles, ids, quoted
# names, sections, case, attributes, one-time passwords, file attachments), read -o/-n,
# run with env files, masking (split writes included), exit codes and signals, inject with
# several references per line and literals, each reference fetched once, and every failure
# mode: one line naming the reference, exit 1, no secret in it.
set -uo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"

hub_test_init
hub_start "$T/hub" || { not_ok "the hub starts"; finish; exit 1; }
hub_account_init || { not_ok "account init"; finish; exit 1; }
jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }
must() {
    local desc=$1
    shift
    cli "$@"
    [ "$RC" -eq 0 ] || { not_ok "$desc: exit $RC [$ERR]"; finish; exit 1; }
}

# ---- the account ----------------------------------------------------------------------------
must "vault create" vault create Infra --format json
VI=$(jqr "$OUT" .id)
must "vault create" vault create Hidden --format json
VH=$(jqr "$OUT" .id)
must "vault create" vault create Twin --format json
must "vault create" vault create twin --format json
DBPASS="db-Pa55-$(rand_marker x)"
PORTVAL=5432
cat >"$T/db.json" <<EOF
{"title": "db", "category": "LOGIN",
 "sections": [{"id": "extra", "label": "Extra"}, {"id": "more", "label": "More"}],
 "fields": [{"id": "username", "type": "STRING", "purpose": "USERNAME", "label": "username",
             "value": "admin"},
            {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password",
             "value": "$DBPASS"},
            {"id": "port", "type": "STRING", "label": "port", "value": "$PORTVAL",
             "section": {"id": "extra"}},
            {"id": "tok1", "type": "CONCEALED", "label": "token", "value": "tok-extra",
             "section": {"id": "extra"}},
            {"id": "tok2", "type": "CONCEALED", "label": "token", "value": "tok-more",
             "section": {"id": "more"}},
            {"id": "otp", "type": "OTP", "label": "one-time password",
             "value": "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"}]}
EOF
printf -- '-----BEGIN TEST KEY-----\nline two\n-----END TEST KEY-----\n' >"$T/key.pem"
must "item create db" item create --vault Infra --format json "$T/db.json" --file "$T/key.pem"
IDB=$(jqr "$OUT" .id)
WEBPASS="web-$(rand_marker y)"
must "item create web/prod" item create --vault Infra --title "web/prod" --category LOGIN \
    --field "password[password]=$WEBPASS"
must "item create dup" item create --vault Infra --title dup --field "username=one"
must "item create dup" item create --vault Infra --title dup --field "username=two"
must "item create hidden" item create --vault Hidden --title secret --field "username=hid"
must "server create" connect server create cli --vault Infra --vault Hidden --vault Twin \
    --vault twin --out "$T/creds.json"
must "token create" connect token create cli --server cli --vault Infra:r --vault Twin:r \
    --vault twin:r
TOKEN=$OUT
XDG="$T/xdg"
connect_start sync SYNC "$T/creds.json" "$XDG" || { not_ok "sync starts"; finish; exit 1; }
connect_start api API "$T/creds.json" "$XDG" || { not_ok "api starts"; finish; exit 1; }
served() { [ "$(status_of "$(ccurl "$API_URL/v1/vaults/$VI/items")")" = 200 ]; }
wait_within "the Connect server serves the account" 30 served || { finish; exit 1; }
export OP_CONNECT_HOST="$API_URL" OP_CONNECT_TOKEN="$TOKEN"
unset SESAME_HUB

# ---- read: every reference form ---------------------------------------------------------------
# rd DESCRIPTION EXPECTED REF [ARGS]: `sesame read REF` prints EXPECTED (and exits 0).
rd() {
    local desc=$1 want=$2
    shift 2
    cli read "$@"
    if [ "$RC" -eq 0 ] && [ "$OUT" = "$want" ] && [ -z "$ERR" ]; then ok "read: $desc"; else
        not_ok "read: $desc: exit $RC, out [$OUT], err [$ERR]"
    fi
}
rd "vault and item by title, field by id" admin "op://Infra/db/username"
rd "the password" "$DBPASS" "op://Infra/db/password"
rd "vault and item by id" admin "op://$VI/$IDB/username"
rd "field by label in a section" "$PORTVAL" "op://Infra/db/Extra/port"
rd "section by id" "$PORTVAL" "op://Infra/db/extra/port"
rd "names ignore case" "$PORTVAL" "op://INFRA/DB/eXtra/PORT"
rd "a field outside sections needs no section" admin "op://Infra/db/USERNAME"
rd "two fields named token: the section decides (1)" tok-extra "op://Infra/db/Extra/token"
rd "two fields named token: the section decides (2)" tok-more "op://Infra/db/More/token"
rd "a quoted title with a slash" "$WEBPASS" 'op://Infra/"web/prod"/password'
rd "attribute=type" CONCEALED "op://Infra/db/password?attribute=type"
rd "attribute=id" tok1 "op://Infra/db/Extra/token?attribute=id"
rd "attribute=purpose" PASSWORD "op://Infra/db/password?attribute=purpose"
rd "attr= is an alias" STRING "op://Infra/db/username?attr=type"
rd "a field label with spaces" "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP" "op://Infra/db/one-time password"
api_totp() { ccurl "$API_URL/v1/vaults/$VI/items/$IDB" | body_of "$(cat)" | jq -r '.fields[] | select(.id == "otp") | .totp'; }
cli read "op://Infra/db/one-time password?attribute=totp"
code=$OUT
want=$(TOKEN=$TOKEN api_totp)
[ "$code" = "$want" ] || { cli read "op://Infra/db/otp?attribute=otp"; code=$OUT; want=$(TOKEN=$TOKEN api_totp); }
expect_match "read: attribute=totp gives the current 6-digit code" '^[0-9]{6}$' "$code"
expect_eq "read: ... the code the server computes now" "$want" "$code"
cli read "op://Infra/db/key.pem"
expect_eq "read: a file attachment by name (content)" "$(cat "$T/key.pem")" "$OUT"
rd "attribute=size of a file" "$(stat -c %s "$T/key.pem")" "op://Infra/db/key.pem?attribute=size"
rd "attribute=name of a file" key.pem "op://Infra/db/key.pem?attribute=name"

# -n, -o
RC=0
"$SESAME" read -n "op://Infra/db/username" >"$T/n.out" 2>"$T/n.err" || RC=$?
expect_eq "read -n: no newline" "adminx" "$(cat "$T/n.out"; echo x)"
"$SESAME" read "op://Infra/db/username" >"$T/nl.out"
expect_eq "read: a newline by default" 6 "$(stat -c %s "$T/nl.out")"
cli read "op://Infra/db/key.pem" -o "$T/out.pem"
expect_eq "read -o: exit 0, nothing on stdout" "0:" "$RC:$OUT"
expect_eq "read -o: the file holds exactly the value" "" "$(cmp "$T/key.pem" "$T/out.pem" 2>&1)"
expect_eq "read -o: mode 600" 600 "$(stat -c %a "$T/out.pem")"
cli read "op://Infra/db/username" -o "$T/out.pem"
expect_cli_error "read -o: an existing file is refused without --force" 1
expect_eq "... and left as it was" "" "$(cmp "$T/key.pem" "$T/out.pem" 2>&1)"
cli read "op://Infra/db/username" -o "$T/out.pem" --force
expect_eq "read -o --force: replaced" "admin" "$(cat "$T/out.pem")"

# ---- read: failures ------------------------------------------------------------------------------
# rf DESCRIPTION MESSAGE-REGEX REF: exit 1, one line naming the reference, no secret in it.
rf() {
    local desc=$1 re=$2 ref=$3
    cli read "$ref"
    expect_cli_error "read fails: $desc" 1
    expect_match "read fails: $desc: the message" "$re" "$ERR"
    case "$ERR" in *"$DBPASS"* | *"$WEBPASS"* | *tok-extra* | *"$TOKEN"*)
        not_ok "read fails: $desc: a secret is in the message" ;;
    esac
}
rf "no such vault" '^sesame: read: op://Nope/db/password: no vault named "Nope"' "op://Nope/db/password"
rf "a vault the token does not cover" "op://Hidden/secret/username: no vault named \"Hidden\"" "op://Hidden/secret/username"
rf "a vault id the token does not cover" "op://$VH/secret/username: " "op://$VH/secret/username"
rf "two vaults of that name" 'several vaults are named "Twin": use the vault'"'"'s id' "op://Twin/x/y"
rf "no such item" 'op://Infra/nope/password: no item named "nope"' "op://Infra/nope/password"
rf "two items of that title" 'op://Infra/dup/username: several items are named "dup"' "op://Infra/dup/username"
rf "no such field" 'op://Infra/db/nofield: the item has no field or file "nofield"' "op://Infra/db/nofield"
rf "two fields of that label" 'several fields are named "token": add the section' "op://Infra/db/token"
rf "no such section" 'the item has no section "Nowhere"' "op://Infra/db/Nowhere/port"
rf "totp of a field that is not one" 'attribute=totp: the field is not a one-time password' "op://Infra/db/password?attribute=totp"
rf "a file attribute on a field" 'attribute=size is for files' "op://Infra/db/password?attribute=size"
rf "a malformed reference" '^sesame: read: secret reference: ' "op://Infra/db"
rf "not a reference" '^sesame: read: secret reference: ' "https://example.com"
rf "an unknown attribute" '^sesame: read: secret reference: ' "op://Infra/db/password?attribute=bogus"
OP_CONNECT_TOKEN="${TOKEN%.*}.AAAA" rf "a forged token" 'the Connect server answered 401' "op://Infra/db/password"
OP_CONNECT_HOST= rf "no OP_CONNECT_HOST" '^sesame: read: OP_CONNECT_HOST is not set' "op://Infra/db/password"
OP_CONNECT_TOKEN= rf "no OP_CONNECT_TOKEN" '^sesame: read: OP_CONNECT_TOKEN is not set' "op://Infra/db/password"
OP_CONNECT_HOST="http://127.0.0.1:$(free_port)" rf "a server that is not there" 'did not answer' "op://Infra/db/password"
OP_CONNECT_HOST="127.0.0.1:$API_PORT" rd "OP_CONNECT_HOST without a scheme gets http://" admin "op://Infra/db/username"
cli read
expect_cli_error "read without a reference is a usage error" 2

# ---- each item fetched once ----------------------------------------------------------------------
reqs() { curl -s "$API_URL/metrics" | awk '/^sesame_http_requests_total\{route="\/v1/ {n += $2} END {print n + 0}'; }
cat >"$T/many.tpl" <<'EOF'
user={{ op://Infra/db/username }} pass={{op://Infra/db/password}} again={{ op://infra/DB/password }}
port=op://Infra/db/Extra/port tok={{ op://Infra/db/More/token }} type={{ op://Infra/db/password?attribute=type }}
literal={{ "op://not/a/ref" }} plain text {{ not a ref }} end
EOF
before=$(reqs)
cli inject -i "$T/many.tpl"
after=$(reqs)
expect_eq "inject: exit 0" 0 "$RC"
expected=$(
    cat <<EOF
user=admin pass=$DBPASS again=$DBPASS
port=$PORTVAL tok=tok-more type=CONCEALED
literal=op://not/a/ref plain text {{ not a ref }} end
EOF
)
expect_eq "inject: several references per line, bare ones, literals, other braces kept" "$expected" "$OUT"
expect_eq "inject: six references of one item cost three requests (vault, item lookup, item)" 3 "$((after - before))"

# ---- inject: files and failures -----------------------------------------------------------------
cli inject -i "$T/many.tpl" -o "$T/out.conf"
expect_eq "inject -o: exit 0, nothing on stdout" "0:" "$RC:$OUT"
expect_eq "inject -o: the file holds the result" "$expected" "$(cat "$T/out.conf")"
expect_eq "inject -o: mode 600" 600 "$(stat -c %a "$T/out.conf")"
printf 'a={{ op://Infra/db/username }}\nb={{ op://Infra/db/nofield }}\n' >"$T/bad.tpl"
cli inject -i "$T/bad.tpl" -o "$T/out.conf" --force
expect_cli_error "inject: one bad reference fails the whole template" 1
expect_match "inject: ... naming it" 'op://Infra/db/nofield: the item has no field or file' "$ERR"
expect_eq "inject: ... and the existing output is untouched" "$expected" "$(cat "$T/out.conf")"
cli inject -i "$T/bad.tpl" -o "$T/new.conf"
expect_eq "inject: ... and no new file appears" "1:0" "$RC:$(ls "$T" | grep -c 'new.conf')"
printf 'x={{ op://Infra }}\n' >"$T/bad2.tpl"
cli inject -i "$T/bad2.tpl"
expect_cli_error "inject: a malformed reference" 1
expect_match "inject: ... says where" 'template line 1, column 3' "$ERR"
out=$(printf 'from stdin: {{ op://Infra/db/username }}\n' | "$SESAME" inject)
expect_eq "inject: reads the template from stdin" "from stdin: admin" "$out"
cli inject -i "$T/missing.tpl"
expect_cli_error "inject: a missing template" 1

# ---- run -------------------------------------------------------------------------------------------
# runc DESCRIPTION ...: runs `sesame run ARGS`, stdout in RUN_OUT, stderr in RUN_ERR, RC.
runc() {
    RC=0
    "$SESAME" run "$@" >"$T/run.out" 2>"$T/run.err" || RC=$?
    RUN_OUT=$(cat "$T/run.out")
    RUN_ERR=$(cat "$T/run.err")
}
DB_PASSWORD="op://Infra/db/password" PLAIN=hello runc -- sh -c 'echo "pw=$DB_PASSWORD plain=$PLAIN"; echo "err=$DB_PASSWORD" >&2'
expect_eq "run: exit 0" 0 "$RC"
expect_eq "run: the secret reaches the child, masked on stdout" "pw=<concealed by sesame> plain=hello" "$RUN_OUT"
expect_eq "run: ... and on stderr" "err=<concealed by sesame>" "$RUN_ERR"
DB_PASSWORD="op://Infra/db/password" runc -- sh -c 'test "$DB_PASSWORD" = "'"$DBPASS"'" && echo same'
expect_eq "run: the child sees the real value" same "$RUN_OUT"
# split writes: the secret printed one byte at a time, with pauses
DB_PASSWORD="op://Infra/db/password" runc -- sh -c \
    'v=$DB_PASSWORD; while [ -n "$v" ]; do rest=${v#?}; printf %s "${v%"$rest"}"; v=$rest; sleep 0.01; done; echo; echo done'
expect_eq "run: a secret written byte by byte is still masked" "<concealed by sesame>
done" "$RUN_OUT"
DB_PASSWORD="op://Infra/db/password" runc -- sh -c 'head -c 100000 /dev/zero | tr "\0" a; printf %s "$DB_PASSWORD"; head -c 100000 /dev/zero | tr "\0" b'
expect_eq "run: masking across read boundaries in a long output" \
    "$(head -c 100000 /dev/zero | tr '\0' a)<concealed by sesame>$(head -c 100000 /dev/zero | tr '\0' b)" "$RUN_OUT"
DB_PASSWORD="op://Infra/db/password" runc --no-masking -- sh -c 'echo "$DB_PASSWORD"'
expect_eq "run --no-masking: the value is printed" "$DBPASS" "$RUN_OUT"
cat >"$T/a.env" <<'EOF'
# comment
export APP_USER=op://Infra/db/username
APP_PORT="op://Infra/db/Extra/port"
APP_MODE=first
EOF
cat >"$T/b.env" <<'EOF'
APP_MODE=second
APP_TOKEN='op://Infra/db/More/token'
EOF
APP_MODE=shell runc --env-file "$T/a.env" --env-file="$T/b.env" -- sh -c 'echo "$APP_USER $APP_PORT $APP_MODE"; test "$APP_TOKEN" = tok-more && echo token-ok'
expect_eq "run --env-file: references resolved, later files win over earlier ones and the shell" \
    "<concealed by sesame> <concealed by sesame> second
token-ok" "$RUN_OUT"
runc -- sh -c 'exit 7'
expect_eq "run: the child's exit code passes through" 7 "$RC"
runc -- sh -c 'kill -TERM $$'
expect_eq "run: a child killed by a signal: run dies of it (143)" 143 "$RC"
runc -- no-such-command-xyz
expect_eq "run: a command that does not exist: 127" 127 "$RC"
expect_match "run: ... with one line" '^sesame: run: cannot run no-such-command-xyz \(ENOENT\)$' "$RUN_ERR"
runc --no-masking -- no-such-command-xyz
expect_eq "run --no-masking: a command that does not exist: 127" 127 "$RC"
# a signal sent to `sesame run` reaches the child
"$SESAME" run -- sh -c 'trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.05; done' >"$T/sig.out" 2>&1 &
rp=$!
HUB_PIDS+=("$rp")
wait_within "run: the child started" 10 grep -q ready "$T/sig.out"
kill -TERM "$rp"
wait "$rp"
expect_eq "run: SIGTERM to sesame run reaches the child, which exits 0" 0 "$?"
expect_eq "run: ... and the child's output got through" "ready
got-term" "$(cat "$T/sig.out")"
DB_PASSWORD="op://Infra/db/nofield" runc -- sh -c 'echo should-not-run'
expect_eq "run: a failing reference stops before running anything" "1:" "$RC:$RUN_OUT"
expect_match "run: ... naming the variable and the reference" '^sesame: run: DB_PASSWORD: op://Infra/db/nofield: the item has no field' "$RUN_ERR"
runc --env-file "$T/missing.env" -- true
expect_match "run: a missing env file" '^sesame: run: cannot open .*missing.env \(ENOENT\)$' "$RUN_ERR"
printf 'GOOD=1\nBAD LINE\n' >"$T/bad.env"
runc --env-file "$T/bad.env" -- true
expect_eq "run: a malformed env file: exit 1" 1 "$RC"
expect_match "run: ... names the line" 'bad.env: .*line 2' "$RUN_ERR"
runc
expect_eq "run without a command is a usage error" 2 "$RC"

expect_clean_logs "no sanitizer report" "$API_LOG" "$SYNC_LOG" "$HUB_LOG"
finish
