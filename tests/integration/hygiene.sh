#!/usr/bin/env bash
# hygiene.sh - secrets hygiene (issue 9, part 6). A whole life at debug log level — hub,
# sync and api, admin commands, Connect reads and writes, failed and forged tokens, the
# client commands, `sesame up` — with marker values in every kind of secret; then:
#   - no log line and no error output holds a secret value, a token, the unlock secret, a
#     private key of the account kit or the credentials file's uniqueKey;
#   - every file Sesame made is 0600 and every directory 0700 (the TLS certificates and
#     the CA are public: 0644);
#   - the api and sync keep their key material in locked memory (VmLck > 0) and cannot
#     dump core (RLIMIT_CORE 0).
set -uo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"
. "$(dirname "$0")/up_lib.bash"

hub_test_init
export OP_LOG_LEVEL=debug
hub_start "$T/hub" || { not_ok "the hub starts"; finish; exit 1; }
hub_account_init || { not_ok "account init"; finish; exit 1; }
M_PASS="pw-$(rand_marker p)"
M_NOTE="note-$(rand_marker n)"
M_FILE="file-$(rand_marker f)"
M_API="apiwrite-$(rand_marker w)"
M_TITLE="title-$(rand_marker t)"
printf '%s\n' "$M_FILE" >"$T/secret.txt"
cli vault create Hygiene --format json
VID=$(printf '%s' "$OUT" | jq -r .id)
cli item create --vault Hygiene --title "$M_TITLE" --category LOGIN --field "username=u" \
    --field "password[password]=$M_PASS" --notes "$M_NOTE" --file "$T/secret.txt" --format json
IID=$(printf '%s' "$OUT" | jq -r .id)
cli connect server create h --vault Hygiene --out "$T/creds.json"
cli connect token create app --server h --vault Hygiene:rw
TOKEN=$OUT
cli connect token create revoked --server h --vault Hygiene:r
REVOKED=$OUT
cli connect token revoke "$(jwt_payload "$REVOKED" | jq -r .jti)"
connect_start sync SYNC "$T/creds.json" "$T/xdg" || { not_ok "sync starts"; finish; exit 1; }
connect_start api API "$T/creds.json" "$T/xdg" || { not_ok "api starts"; finish; exit 1; }
served() { [ "$(status_of "$(ccurl "$API_URL/v1/vaults/$VID/items/$IID")")" = 200 ]; }
wait_within "the api serves the item" 30 served || { finish; exit 1; }

# reads, a write, the file, failures
ccurl "$API_URL/v1/vaults/$VID/items?filter=title%20eq%20%22$M_TITLE%22" >/dev/null
FID=$(body_of "$(ccurl "$API_URL/v1/vaults/$VID/items/$IID")" | jq -r '.files[0].id')
ccurl "$API_URL/v1/vaults/$VID/items/$IID/files/$FID/content" >/dev/null
ans=$(ccurl "$API_URL/v1/vaults/$VID/items" -X POST -H 'Content-Type: application/json' \
    -d "{\"title\":\"w\",\"category\":\"PASSWORD\",\"fields\":[{\"id\":\"password\",\"type\":\"CONCEALED\",\"purpose\":\"PASSWORD\",\"value\":\"$M_API\"}]}")
expect_eq "a write through the api" 200 "$(status_of "$ans")"
TOKEN=$REVOKED ccurl "$API_URL/v1/vaults" >/dev/null
TOKEN="${TOKEN%.*}.AAAA" ccurl "$API_URL/v1/vaults" >/dev/null
TOKEN="$M_PASS" ccurl "$API_URL/v1/vaults" >/dev/null # a secret sent as a token
ccurl "$API_URL/v1/vaults/$VID/items?filter=title%20eq%20%22$M_PASS%22" >/dev/null
ccurl "$API_URL/v1/vaults/$VID/items/$IID" -X PATCH -H 'Content-Type: application/json' \
    -d "[{\"op\":\"replace\",\"path\":\"/fields/nope/value\",\"value\":\"$M_API\"}]" >/dev/null
# the client commands, with a failing reference too
export OP_CONNECT_HOST="$API_URL" OP_CONNECT_TOKEN="$TOKEN"
"$SESAME" read "op://Hygiene/$M_TITLE/password" >/dev/null 2>>"$T/client.err"
"$SESAME" read "op://Hygiene/$M_TITLE/nofield" >/dev/null 2>>"$T/client.err"
PW="op://Hygiene/$M_TITLE/password" "$SESAME" run -- sh -c 'echo "$PW"; echo "$PW" >&2' \
    >>"$T/client.out" 2>>"$T/client.err"
printf 'x={{ op://Hygiene/%s/password }}\n' "$M_TITLE" | "$SESAME" inject >/dev/null 2>>"$T/client.err"
unset OP_CONNECT_HOST OP_CONNECT_TOKEN
expect_eq "run masked the secret on its output" "<concealed by sesame>" "$(cat "$T/client.out")"
# admin reads that print secrets print them only on stdout
"$SESAME" item get "$IID" --vault Hygiene >/dev/null 2>>"$T/admin.err"
"$SESAME" item get nope --vault Hygiene >/dev/null 2>>"$T/admin.err"

# sesame up, its first and a second run
D="$T/up"
up_start up1 "$(free_port)"
wait_within "sesame up runs" 60 announced up1
UPTOKEN=$(cat "$D/token")
up_stop

# memory: locked, no core
expect_eq "the api holds locked memory (VmLck > 0)" 1 \
    "$(awk '/^VmLck:/ {print ($2 > 0)}' "/proc/$API_PID/status")"
expect_eq "sync holds locked memory (VmLck > 0)" 1 \
    "$(awk '/^VmLck:/ {print ($2 > 0)}' "/proc/$SYNC_PID/status")"
for p in "$API_PID" "$SYNC_PID" "$HUB_PID"; do
    expect_eq "pid $p cannot dump core (RLIMIT_CORE 0)" 0 \
        "$(awk '/^Max core file size/ {print $5}' "/proc/$p/limits")"
done
connect_stop API
connect_stop SYNC
hub_stop TERM >/dev/null 2>&1

# ---- no secret anywhere in the logs -------------------------------------------------------------
# what must never appear: marker values, tokens (whole, or their signature part), the
# account kit's and the credentials file's private key material
needles=("$M_PASS" "$M_NOTE" "$M_FILE" "$M_API" "$TOKEN" "${TOKEN##*.}" "$REVOKED" "$UPTOKEN"
    "${UPTOKEN##*.}")
while IFS= read -r d; do needles+=("$d"); done < <(
    jq -r '.. | objects | select(has("d")) | .d' "$SESAME_ACCOUNT_KIT" "$D/account-kit.json"
    jq -r '.uniqueKey.k' "$T/creds.json" "$D/1password-credentials.json"
)
expect_eq "there are needles to look for (markers, 4 tokens, kit and credential keys)" 1 \
    "$([ "${#needles[@]}" -ge 15 ] && echo 1 || echo 0)"
logs=("$HUB_LOG" "$API_LOG" "$SYNC_LOG" "$T/client.err" "$T/admin.err" "$D"/logs/*.log
    "$T/up1.err")
found=
for n in "${needles[@]}"; do
    [ -n "$n" ] || continue
    f=$(grep -l -F -- "$n" "${logs[@]}" 2>/dev/null | head -n 3 | tr '\n' ' ')
    [ -z "$f" ] || found="$found [${n:0:6}… in $f]"
done
expect_eq "no secret, token or key in any log or error output (${#logs[@]} files)" "" "$found"
expect_match "the logs are not empty (debug level)" '"level":4' "$(cat "$API_LOG")"
expect_eq "the title marker is not logged either" "" "$(grep -l -F -- "$M_TITLE" "$API_LOG" "$SYNC_LOG" "$HUB_LOG")"

# ---- file modes ------------------------------------------------------------------------------------
bad=
while IFS= read -r -d '' f; do
    m=$(stat -c %a "$f")
    case "$f" in
    *.pem | */logs) continue ;; # certificates are public
    esac
    if [ -d "$f" ]; then [ "$m" = 700 ] || bad="$bad $f:$m"; else [ "$m" = 600 ] || bad="$bad $f:$m"; fi
done < <(find "$T/hub" "$T/xdg/.op" "$D" -mindepth 1 -print0)
expect_eq "every file Sesame made is 0600 and every directory 0700" "" "$bad"
for f in "$T/creds.json" "$SESAME_ACCOUNT_KIT"; do
    expect_eq "$(basename "$f") is 0600" 600 "$(stat -c %a "$f")"
done

expect_clean_logs "no sanitizer report" "${logs[@]}"
finish
