#!/usr/bin/env bash
# hub_failover.sh - a Connect server whose credentials list several hub URLs (issue 11,
# scale-out; docs/sync.md "Several hub URLs"). Two `sesame hub` processes cannot share one
# SQLite database (each locks DIR/hub.lock), so this test uses ONE real hub and a dead URL
# (a free port where nothing listens) as the other "replica":
#   1. credentials listing the dead URL first, the hub second (`connect server create` with
#      --server-hub twice): sync fails over (one info line), the api serves the items, and a
#      write through the api lands on the hub;
#   2. the hub first, the dead URL second: nothing fails over and nothing is logged about it;
#   3. the same server restarted with SESAME_HUB="dead,hub" (overriding the file): it fails
#      over again, and the volume keeps serving.
# The real two-replica test (two hubs on one PostgreSQL database, one killed) is the lead's;
# connect_server_with_hubs (connect_lib.bash) builds its credentials the same way.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"

hub_test_init
jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }

hub_start "$T/hub" || { not_ok "the hub starts"; finish; }
ok "the hub starts on port $HUB_PORT"
hub_account_init || { not_ok "account init"; finish; }

TITLE=$(rand_marker title)
cli vault create alpha --format json
VA=$(jqr "$OUT" .id)
cli item create --vault alpha --category LOGIN --title "$TITLE" --field "username=alice" \
    --format json
expect_eq "an item in alpha" 0 "$RC"
ITEM=$(jqr "$OUT" .id)

DEAD="http://127.0.0.1:$(free_port)"
LINE1="sync: hub $DEAD unreachable, trying $HUB_URL"

# serve NAME CREDENTIALS XDG [VAR=VALUE...]: starts sync and api of one server, unlocks them
# with $TOKEN and waits until the api serves synced data. Sync runs without hub_start's
# SESAME_HUB (which would override the file's URLs) unless VAR=VALUE sets it.
serve() {
    local name=$1 creds=$2 xdg=$3
    shift 3
    connect_start sync "S$name" "$creds" "$xdg" OP_LOG_LEVEL=info SESAME_HUB= "$@" ||
        { not_ok "sync $name starts"; return 1; }
    connect_start api "A$name" "$creds" "$xdg" OP_SYNC_TIMEOUT=5s ||
        { not_ok "api $name starts"; return 1; }
    local url="A${name}_URL"
    curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer $TOKEN" "${!url}/health" || true
    wait_within "server $name: unlocked and synced" 20 connect_synced "${!url}"
}

# write_lands URL DESCRIPTION: a POST through the api at URL is answered 200 and the hub has it.
write_lands() {
    local t r id
    t="Written $(rand_marker w)"
    r=$(ccurl "$1/v1/vaults/$VA/items" -X POST -H 'Content-Type: application/json' \
        --data-binary "$(jq -cn --arg v "$VA" --arg t "$t" \
            '{vault: {id: $v}, title: $t, category: "LOGIN"}')")
    id=$(jqr "$(body_of "$r")" .id)
    expect_eq "$2: the api's write is answered 200" 200 "$(status_of "$r")"
    cli item get "$id" --vault alpha --format json
    expect_eq "$2: the write landed on the hub" "$t" "$(jqr "$OUT" .title)"
}

# ---- 1. the dead URL first, the hub second ----------------------------------------------
connect_server_with_hubs srv1 "$T/s1.json" "$DEAD" "$HUB_URL" -- --vault alpha --format json
expect_eq "connect server create with --server-hub twice" 0 "$RC"
expect_eq "hub.url is the first --server-hub" "$DEAD" "$(jq -r .hub.url "$T/s1.json")"
expect_eq "hub.urls holds the others" "[\"$HUB_URL\"]" "$(jq -c .hub.urls "$T/s1.json")"
cli connect token create tok1 --server srv1 --vault alpha:rw
expect_eq "token for srv1" 0 "$RC"
TOKEN=$OUT

serve 1 "$T/s1.json" "$T/x1" || { tail -5 "$S1_LOG" "$A1_LOG" | sed 's/^/#   /'; finish; }
r=$(ccurl "$A1_URL/v1/vaults/$VA/items/$ITEM")
expect_eq "server 1 serves the item (through the failover)" "200 $TITLE" \
    "$(status_of "$r") $(jqr "$(body_of "$r")" .title)"
expect_eq "sync 1 logged the failover once" 1 "$(grep -cF "$LINE1" "$S1_LOG" || true)"
write_lands "$A1_URL" "server 1"
expect_eq "sync 1 logged nothing more about failover" 1 \
    "$(grep -c 'unreachable, trying' "$S1_LOG" || true)"
connect_stop A1 || true
connect_stop S1 || true

# ---- 2. the hub first, the dead URL second -------------------------------------------------
connect_server_with_hubs srv2 "$T/s2.json" "$HUB_URL" "$DEAD" -- --vault alpha --format json
expect_eq "server 2 created" 0 "$RC"
cli connect token create tok2 --server srv2 --vault alpha:rw
TOKEN=$OUT
serve 2 "$T/s2.json" "$T/x2" || { tail -5 "$S2_LOG" "$A2_LOG" | sed 's/^/#   /'; finish; }
r=$(ccurl "$A2_URL/v1/vaults/$VA/items/$ITEM")
expect_eq "server 2 serves the item" 200 "$(status_of "$r")"
write_lands "$A2_URL" "server 2"
expect_eq "sync 2 logged nothing about failover" 0 \
    "$(grep -cE 'unreachable, trying|sync: hub .* unreachable' "$S2_LOG" || true)"
connect_stop A2 || true
connect_stop S2 || true

# ---- 3. SESAME_HUB lists the URLs (it overrides the file's) ---------------------------------
: >"$S2_LOG"
serve 2 "$T/s2.json" "$T/x2" SESAME_HUB="$DEAD,$HUB_URL" ||
    { tail -5 "$S2_LOG" | sed 's/^/#   /'; finish; }
expect_eq "SESAME_HUB=dead,hub: sync 2 failed over once" 1 "$(grep -cF "$LINE1" "$S2_LOG" || true)"
write_lands "$A2_URL" "server 2 with SESAME_HUB"
connect_stop A2 || true
connect_stop S2 || true

expect_clean_logs "no sanitizer report" "$S1_LOG" "$A1_LOG" "$S2_LOG" "$A2_LOG"
expect_clean_log "no sanitizer report in the hub's log"
finish
