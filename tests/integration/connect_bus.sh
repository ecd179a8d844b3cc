#!/usr/bin/env bash
# connect_bus.sh - the api and sync of one Connect server over a TCP bus, configured the
# way Connect's Helm chart does it (OP_BUS_PORT / OP_BUS_PEERS on both containers): the
# first token unlocks the api, which unlocks sync over TCP, and data flows; an api holding
# ANOTHER server's credentials file pointed at the same bus is refused by sync (the bus key
# differs), unlocks nothing, and sync keeps serving its own api.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"

hub_test_init
jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }
hub_start "$T/hub" || { not_ok "the hub starts"; finish; }
hub_account_init || { not_ok "account init"; finish; }
cli vault create alpha --format json
VA=$(jqr "$OUT" .id)
TITLE=$(rand_marker title)
cli item create --vault alpha --category LOGIN --title "$TITLE" --field username=bob --format json
cli connect server create srv --vault alpha --out "$T/srv.json" >/dev/null
cli connect token create tok --server srv --vault alpha:r
TOK=$OUT
cli connect server create other --vault alpha --out "$T/other.json" >/dev/null
cli connect token create tok2 --server other --vault alpha:r
TOK2=$OUT

SYNC_BUS=$(free_port)
API_BUS=$(free_port)
connect_start sync SYNC "$T/srv.json" "$T/xdg" OP_BUS_PORT="$SYNC_BUS" \
    OP_BUS_PEERS="localhost:$API_BUS" || { not_ok "sync starts with a TCP bus"; finish; }
ok "sync starts with OP_BUS_PORT"
if (exec 3<>"/dev/tcp/127.0.0.1/$SYNC_BUS") 2>/dev/null; then
    ok "sync listens on its OP_BUS_PORT"
else
    not_ok "sync listens on its OP_BUS_PORT"
fi
[ -e "$T/xdg/.op/data/bus.sock" ] && not_ok "no unix socket with a TCP bus" || ok "no unix socket with a TCP bus"
connect_start api API "$T/srv.json" "$T/xdg" OP_BUS_PORT="$API_BUS" \
    OP_BUS_PEERS="localhost:$SYNC_BUS" OP_SYNC_TIMEOUT=15s || { not_ok "api starts"; finish; }
ok "api starts with OP_BUS_PEERS"

TOKEN=$TOK
r=$(ccurl "$API_URL/v1/vaults")
expect_eq "the first token unlocks, sync is unlocked over TCP and the vault is served" \
    "200 $VA" "$(head -n1 <<<"$r") $(jqr "$(tail -n +2 <<<"$r")" '.[0].id')"
r=$(ccurl "$API_URL/v1/vaults/$VA/items")
expect_eq "the item is served" "$TITLE" "$(jqr "$(tail -n +2 <<<"$r")" '.[0].title')"
h=$(curl -s "$SYNC_URL/health")
expect_eq "sync's /health: 1Password ACTIVE" ACTIVE \
    "$(jqr "$h" '.dependencies[] | select(.service == "1Password") | .status')"

# An api with another server's credentials on the same bus: refused by sync.
connect_start api API2 "$T/other.json" "$T/xdg2" OP_BUS_PEERS="localhost:$SYNC_BUS" \
    OP_SYNC_TIMEOUT=2s || { not_ok "a foreign api starts"; finish; }
TOKEN=$TOK2
r=$(ccurl "$API2_URL/v1/vaults")
expect_eq "the foreign api cannot get data through our sync (500 after its timeout)" 500 \
    "$(head -n1 <<<"$r")"
h=$(curl -s "$API2_URL/health")
expect_eq "the foreign api sees no sync on that bus" UNAVAILABLE \
    "$(jqr "$h" '.dependencies[] | select(.service == "sync") | .status')"
if grep -q 'bus' "$SYNC_LOG" && grep -qiE 'refus|handshake|authenticat' "$SYNC_LOG"; then
    ok "sync logs the refused bus connection"
else
    not_ok "sync logs the refused bus connection"
fi
if grep -qF "$TOK2" "$SYNC_LOG" "$API2_LOG"; then
    not_ok "no token in the logs"
else
    ok "no token in the logs"
fi
TOKEN=$TOK
r=$(ccurl "$API_URL/v1/vaults/$VA/items")
expect_eq "our api still serves" 200 "$(head -n1 <<<"$r")"
expect_eq "sync still answers our api's status calls" ACTIVE \
    "$(jqr "$(curl -s "$API_URL/health")" '.dependencies[] | select(.service == "sync") | .status')"

connect_stop API2 && ok "the foreign api stops cleanly" || not_ok "the foreign api stops cleanly"
connect_stop API && ok "api stops cleanly" || not_ok "api stops cleanly"
connect_stop SYNC && ok "sync stops cleanly" || not_ok "sync stops cleanly"
expect_clean_logs "no sanitizer report in the api and sync logs" "$SYNC_LOG" "$API_LOG" "$API2_LOG"
finish
