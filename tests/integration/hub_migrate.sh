#!/usr/bin/env bash
# hub_migrate.sh - `sesame hub migrate` (docs/scaling.md "Moving a hub to PostgreSQL"): a
# hub on SQLite with an account, a vault, items, a file and a synced Connect server is moved
# to a PostgreSQL database of the test cluster; the hub then runs on PostgreSQL at the same
# URL and the Connect server carries on from where it was - the items it had, a new one
# made after the move, the same change sequence. Refusals: a hub still running on the
# source, no destination, a destination that already holds a hub, a source that is not
# there, a database that cannot be reached (whose password never appears in the message).
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"

if ! [ -s "${TEST_PG_URL_FILE:-}" ]; then
    echo "skipped: no PostgreSQL test cluster (TEST_PG_URL_FILE; ctest's pg fixture)"
    exit 77
fi
hub_test_init
jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }
unset TEST_HUB_STORE # the source is a SQLite hub

HPORT=
for _ in 1 2 3 4 5; do
    HPORT=$(free_port)
    if hub_start "$T/hub" --addr "127.0.0.1:$HPORT" >"$T/start.txt"; then break; fi
    HPORT=
done
[ -n "$HPORT" ] || { cat "$T/start.txt"; not_ok "the hub starts"; finish; }
hub_account_init || { not_ok "account init"; finish; }
cli vault create "moving $(rand_marker v)" --format json
V=$(jqr "$OUT" .id)
T1="before $(rand_marker one)"
cli item create --vault "$V" --category LOGIN --title "$T1" --field "password=$(rand_marker p)" \
    --format json
printf 'attached %s\n' "$(rand_marker f)" >"$T/attach.txt"
cli item create --vault "$V" --category SECURE_NOTE --title "with a file" \
    --file "$T/attach.txt" --format json
expect_eq "two items, one with a file" 0 "$RC"
cli connect server create srv --vault "$V" --out "$T/srv.json" --format json
cli connect token create tok --server srv --vault "$V:r" --format json
TOKEN=$(jqr "$OUT" .token)
connect_start sync SYNC "$T/srv.json" "$T/xdg" || { not_ok "sync starts"; finish; }
connect_start api API "$T/srv.json" "$T/xdg" OP_SYNC_TIMEOUT=10s || { not_ok "api starts"; finish; }
curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer $TOKEN" "$API_URL/health" || true
wait_within "the Connect server is synced" 20 connect_synced "$API_URL"
titles() { ccurl "$API_URL/v1/vaults/$V/items" | sed 1d | jq -r '.[].title' | sort; }
expect_eq "it serves both items" 2 "$(titles | grep -c '')"

DB=$(pg_database migrate) || { not_ok "a database to migrate to"; finish; }
PASSWORD=$(sed -E 's|^postgresql://[^:]*:([^@]*)@.*|\1|' "$TEST_PG_URL_FILE")

# ---- refusals ----------------------------------------------------------------------------
SESAME_HUB_DATABASE_URL=$DB cli hub migrate --from "$T/hub/hub.db"
expect_cli_error "a hub still running on the source: refused" 1
expect_match "... saying so" "a hub is running on $T/hub" "$ERR"
hub_stop TERM || true
env -u SESAME_HUB_DATABASE_URL "$SESAME" hub migrate --from "$T/hub/hub.db" >/dev/null 2>"$T/err" ||
    RC=$?
ERR=$(cat "$T/err")
expect_cli_error "no destination: a usage error" 2
cli hub migrate --from "$T/nowhere/hub.db" --to "$DB"
expect_cli_error "a source that is not there" 1
expect_eq "... names it, creates nothing" "sesame: hub migrate: no hub database at $T/nowhere/hub.db 0" \
    "$ERR $([ -e "$T/nowhere" ] && echo 1 || echo 0)"
SESAME_HUB_DATABASE_URL="postgresql://sesame:$PASSWORD@127.0.0.1:1/sesame" \
    cli hub migrate --from "$T/hub/hub.db"
expect_cli_error "a database that cannot be reached" 1
expect_eq "... and the password is in no message" 0 "$(printf '%s' "$ERR$OUT" | grep -c -F -- "$PASSWORD" || true)"

# ---- the move ----------------------------------------------------------------------------
SESAME_HUB_DATABASE_URL=$DB cli hub migrate --from "$T/hub/hub.db"
expect_eq "hub migrate: exit 0, nothing on stderr" "0 " "$RC $ERR"
expect_match "... says what it copied" "^copied $T/hub/hub.db to the SESAME_HUB_DATABASE_URL database:" "$OUT"
expect_match "... every table with its rows" $'\n  items +2\n' "$OUT"
expect_match "... verified" "every table counted on both sides and equal; ciphertext copied as stored, nothing decrypted" "$OUT"
expect_eq "... and never the password" 0 "$(printf '%s' "$OUT" | grep -c -F -- "$PASSWORD" || true)"
SESAME_HUB_DATABASE_URL=$DB cli hub migrate --from "$T/hub/hub.db"
expect_cli_error "a second migration into the same database: refused" 1
expect_match "... because it holds a hub" "already holds a hub" "$ERR"

# ---- the hub runs on PostgreSQL, at the same URL -----------------------------------------
export SESAME_HUB_DATABASE_URL=$DB
hub_start "$T/hub-pg" --addr "127.0.0.1:$HPORT" || { not_ok "the hub starts on PostgreSQL"; finish; }
unset SESAME_HUB_DATABASE_URL
cli item list --vault "$V" --format json
expect_eq "the CLI lists the same items from the PostgreSQL hub" "$(printf '%s\n' "$T1" "with a file" | sort)" \
    "$(jqr "$OUT" '.[].title' | sort)"
cli item get "with a file" --vault "$V" --format json
FID=$(jqr "$OUT" '.files[0].id')
cli item file "with a file" "$FID" --vault "$V" --out "$T/got.txt"
expect_eq "the file comes back byte for byte" 0 "$(cmp -s "$T/attach.txt" "$T/got.txt"; echo $?)"
T2="after $(rand_marker two)"
cli item create --vault "$V" --category LOGIN --title "$T2" --format json
expect_eq "a new item through the PostgreSQL hub" 0 "$RC"
has_t2() { titles | grep -qxF -- "$T2"; }
wait_within "the Connect server follows the moved hub: it serves the new item" 30 has_t2
expect_eq "... and still the two it had" 3 "$(titles | grep -c '')"
expect_eq "its sync did not start over (no full pull after the move)" 0 \
    "$(grep -c -i 'resync' "$SYNC_LOG" || true)"
expect_clean_log "no sanitizer report in the hub's log"
expect_clean_logs "no sanitizer report in sync's or api's log" "$SYNC_LOG" "$API_LOG"
finish
