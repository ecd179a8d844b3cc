#!/usr/bin/env bash
# connect_keys.sh - token-signing key rotation end to end: a token signed by a key added
# after the server was created (so not in its credentials file) is accepted once sync has
# brought the key to the volume; retiring the old key makes the api refuse the tokens it
# signed, while the new key's tokens keep working.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"

hub_test_init
jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }
kid_of() { printf '%s' "$1" | cut -d. -f1 | tr '_-' '/+' | base64 -d 2>/dev/null | jq -r .kid; }
status_with() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$API_URL/v1/vaults"; }
# status_is TOKEN CODE: true when a request with TOKEN answers CODE now (wait_for calls it
# again and again; a "$(...)" in wait_for's arguments would be evaluated only once).
status_is() { test "$(status_with "$1")" = "$2"; }
hub_start "$T/hub" || { not_ok "the hub starts"; finish; }
hub_account_init || { not_ok "account init"; finish; }
cli vault create alpha --format json
cli connect server create srv --vault alpha --out "$T/srv.json" >/dev/null
cli connect token create old --server srv --vault alpha:r
TOLD=$OUT
connect_start sync SYNC "$T/srv.json" "$T/xdg" || { not_ok "sync starts"; finish; }
connect_start api API "$T/srv.json" "$T/xdg" || { not_ok "api starts"; finish; }
expect_eq "a token of the original key is accepted" 200 "$(status_with "$TOLD")"

cli account rotate-signing-key
expect_eq "account rotate-signing-key" 0 "$RC"
cli connect token create new --server srv --vault alpha:r
TNEW=$OUT
[ "$(kid_of "$TNEW")" != "$(kid_of "$TOLD")" ] && ok "the new token names the new key" ||
    not_ok "the new token names the new key"
if grep -qF "$(kid_of "$TNEW")" "$T/srv.json"; then
    not_ok "the new key is not in the credentials file (it comes through sync)"
else
    ok "the new key is not in the credentials file (it comes through sync)"
fi
wait_for "a token of the rotated-in key is accepted once synced" 15 status_is "$TNEW" 200
expect_eq "the old key's token still works" 200 "$(status_with "$TOLD")"

cli account retire-signing-key "$(kid_of "$TOLD")"
expect_eq "account retire-signing-key" 0 "$RC"
if ! wait_for "the retired key's token is refused" 15 status_is "$TOLD" 401; then
    echo "# diagnostics: sync and api logs (tail), hub changes"
    tail -n 5 "$SYNC_LOG" "$API_LOG" | sed 's/^/#   /'
    grep -E 'signing-keys|sync/changes' "$HUB_LOG" | tail -6 | cut -c1-160 | sed 's/^/#   /'
fi
expect_eq "the new key's token still works" 200 "$(status_with "$TNEW")"
r=$(TOKEN=$TOLD ccurl "$API_URL/v1/vaults")
expect_eq "the refusal is Connect's 401 body" '{"status":401,"message":"Invalid bearer token"}' \
    "$(tail -n +2 <<<"$r")"
connect_stop API && ok "api stops cleanly" || not_ok "api stops cleanly"
connect_stop SYNC && ok "sync stops cleanly" || not_ok "sync stops cleanly"
expect_clean_logs "no sanitizer report in the api and sync logs" "$SYNC_LOG" "$API_LOG"
finish
