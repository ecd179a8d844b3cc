#!/usr/bin/env bash
# hub_backup.sh - `sesame hub backup` and `sesame hub restore` end to end (issue 7): a real
# hub and a Connect server (sync + api) that has synced item A; an online backup while the
# hub runs; then item B created and A deleted; the hub stopped, the backup restored (a stale
# -wal/-shm left behind is dealt with), the hub started again on the same port. A Connect
# server with a new, empty volume sees A and not B; the existing one, whose volume is ahead
# of the restored hub, converges to the restored state (A back, B gone). Also: backup
# refuses an existing --out, restore refuses while the hub runs, a second hub on the same
# data directory is refused, bad paths and a PostgreSQL URL give one line and a non-zero
# exit, and nothing is left half-written.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"

hub_test_init
jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }
yes_if() { if "$@"; then echo 1; else echo 0; fi; }
mode_of() { stat -c %a "$1" 2>/dev/null || echo none; }
sum_of() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
hub_seq() { jqr "$(body_of "$(hreq GET /v1/account)")" .lastSeq; }
# titles URL TOKEN VAULT: the item titles the api at URL serves for VAULT, sorted, one line.
titles() {
    local r
    r=$(TOKEN=$2 ccurl "$1/v1/vaults/$3/items")
    [ "$(status_of "$r")" = 200 ] || return 0
    body_of "$r" | jq -r '.[].title' 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//'
}
# serves URL TOKEN VAULT TITLES: the api serves exactly these titles (sorted, space-separated)
serves() { [ "$(titles "$1" "$2" "$3")" = "$4" ]; }
# sync_sees_hub_down URL: the sync at URL reports the hub UNREACHABLE on its /health.
sync_sees_hub_down() {
    [ "$(curl -s --max-time 5 "$1/health" | jq -r '.dependencies[] | select(.service == "hub") |
        .status' 2>/dev/null || true)" = UNREACHABLE ]
}

DATA="$T/hub"
# the hub on a fixed port (the credentials name its URL); free_port can race, so try a few
for _ in 1 2 3 4 5; do
    HPORT=$(free_port)
    if hub_start "$DATA" --addr "127.0.0.1:$HPORT" >"$T/hub-start.txt"; then break; fi
    HPORT=
done
[ -n "$HPORT" ] || { cat "$T/hub-start.txt"; not_ok "the hub starts"; finish; }
ok "the hub starts on port $HPORT"
hub_account_init || { not_ok "account init"; finish; }

# ---- an account: a vault with item A, two servers (the second one starts after restore) -----
TA="A $(rand_marker a)"
TB="B $(rand_marker b)"
cli vault create "backup $(rand_marker v)" --format json
V=$(jqr "$OUT" .id)
cli item create --vault "$V" --category LOGIN --title "$TA" --field "password=$(rand_marker p)" \
    --format json
IA=$(jqr "$OUT" .id)
expect_eq "vault and item A made" "0 1" "$RC $(yes_if [ -n "$IA" ])"
cli connect server create one --vault "$V" --out "$T/one.json" --format json
expect_eq "server one (synced before the backup)" 0 "$RC"
cli connect server create two --vault "$V" --out "$T/two.json" --format json
expect_eq "server two (first started after the restore)" 0 "$RC"
cli connect token create t1 --server one --vault "$V:r" --format json
TOK1=$(jqr "$OUT" .token)
cli connect token create t2 --server two --vault "$V:r" --format json
TOK2=$(jqr "$OUT" .token)
expect_eq "a token for each server" "1 1" "$(yes_if [ -n "$TOK1" ]) $(yes_if [ -n "$TOK2" ])"

connect_start sync SYNC1 "$T/one.json" "$T/x1" || { not_ok "sync of one starts"; finish; }
connect_start api API1 "$T/one.json" "$T/x1" || { not_ok "api of one starts"; finish; }
curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer $TOK1" "$API1_URL/health" || true
wait_for "server one: unlocked and synced" 20 connect_synced "$API1_URL" || finish
wait_for "server one serves A" 20 serves "$API1_URL" "$TOK1" "$V" "$TA" || true

# ---- online backup while the hub runs ------------------------------------------------------
SEQ_BACKUP=$(hub_seq)
cli hub backup --data "$DATA" --out "$T/backup.db"
expect_eq "hub backup while the hub runs: exit 0, no stderr" "0 " "$RC $ERR"
expect_match "... says what it wrote" "^backup of $DATA/hub.db written to $T/backup.db \([0-9]+ bytes, schema version [0-9]+\)$" "$OUT"
expect_eq "... the backup is 0600, no .tmp left" "600 0" "$(mode_of "$T/backup.db") $(yes_if [ -e "$T/backup.db.tmp" ])"
expect_eq "... the hub still answers" "$SEQ_BACKUP" "$(hub_seq)"
if command -v sqlite3 >/dev/null 2>&1; then
    expect_eq "... the backup passes integrity_check, rollback journal, lastSeq $SEQ_BACKUP" \
        "ok delete $SEQ_BACKUP" \
        "$(sqlite3 "$T/backup.db" 'PRAGMA integrity_check;' | tr '\n' ' ')$(sqlite3 "$T/backup.db" \
            'PRAGMA journal_mode;' | tr -d '\n') $(sqlite3 "$T/backup.db" \
            'SELECT next_seq - 1 FROM accounts;')"
fi
SUM=$(sum_of "$T/backup.db")

# ---- refusals while the hub runs -------------------------------------------------------------
cli hub backup --data "$DATA" --out "$T/backup.db"
expect_cli_error "backup refuses an existing --out: exit 1, one line" 1
expect_match "... saying so" 'exists: refusing to overwrite it' "$ERR"
expect_eq "... the existing file is unchanged" "$SUM" "$(sum_of "$T/backup.db")"
cli hub restore --data "$DATA" --from "$T/backup.db"
expect_cli_error "restore refuses while the hub runs: exit 1, one line" 1
expect_match "... naming the lock" 'a hub is running on .*hub\.lock is locked' "$ERR"
expect_eq "... the hub's database is untouched" "0 0" \
    "$(yes_if [ -e "$DATA/hub.db.restoring" ]) $(ls "$DATA" | grep -c replaced || true)"
cli hub --addr 127.0.0.1:0 --data "$DATA"
expect_cli_error "a second hub on the same data directory: exit 1, one line" 1
cli hub backup --data "$T/nowhere" --out "$T/b2.db"
expect_cli_error "backup of a data directory without hub.db: exit 1, one line" 1
expect_match "... saying so" "no hub database at $T/nowhere/hub.db" "$ERR"
expect_eq "... which is not created" 0 "$(yes_if [ -e "$T/nowhere" ])"
cli hub backup --data "$DATA" --out "$T/no/such/dir/b.db"
expect_cli_error "backup into a missing directory: exit 1, one line" 1
cli hub backup --data "$DATA"
expect_cli_error "backup without --out: exit 2, one line" 2
cli hub backup --data "$DATA" --out "$T/b3.db" --bogus
expect_cli_error "backup with an unknown flag: exit 2, one line" 2
RC=0
ERR=$(SESAME_HUB_DATABASE_URL='postgresql://sesame:hunter2@db.example/hub' \
    "$SESAME" hub backup --out "$T/pg.dump" 2>&1 >/dev/null) || RC=$?
expect_cli_error "backup with a PostgreSQL URL: exit 1, one line" 1
expect_match "... pointing at pg_dump" 'pg_dump' "$ERR"
expect_eq "... without echoing the URL" 0 "$(grep -c hunter2 <<<"$ERR" || true)"
expect_eq "no output file was left by any refusal" "0 0 0" \
    "$(yes_if [ -e "$T/b2.db" ]) $(yes_if [ -e "$T/b3.db" ]) $(yes_if [ -e "$T/pg.dump" ])"

# ---- after the backup: B created, A deleted; server one follows -----------------------------
cli item create --vault "$V" --category LOGIN --title "$TB" --format json
IB=$(jqr "$OUT" .id)
cli item delete "$IA" --vault "$V"
expect_eq "B created and A deleted after the backup" "0 1" "$RC $(yes_if [ -n "$IB" ])"
wait_for "server one serves B and not A" 20 serves "$API1_URL" "$TOK1" "$V" "$TB" || true
SEQ_AHEAD=$(hub_seq)
expect_eq "the hub's lastSeq moved on" 1 "$(yes_if [ "$SEQ_AHEAD" -gt "$SEQ_BACKUP" ])"

# ---- restore ----------------------------------------------------------------------------------
rc=0
hub_stop TERM || rc=$?
expect_eq "the hub stops cleanly" 0 "$rc"
# A restore takes the hub down for a while; sync notices (its next poll fails), and its first
# pass after the hub is back compares lastSeq. (A hub back before sync's next poll is seen
# by the poll itself: the page's lastSeq is below the volume's; unit.test_sync checks that.)
wait_for "server one's sync sees the hub down" 20 sync_sees_hub_down "$SYNC1_URL" || true
cli hub restore --data "$DATA" --from "$T/missing.db"
expect_cli_error "restore from a missing file: exit 1, one line" 1
printf 'not a database at all\n' >"$T/junk.db"
cli hub restore --data "$DATA" --from "$T/junk.db"
expect_cli_error "restore from a file that is not a database: exit 1, one line" 1
expect_eq "... the hub's database is untouched" "0 0" \
    "$(yes_if [ -e "$DATA/hub.db.restoring" ]) $(ls "$DATA" | grep -c replaced || true)"
cli hub restore --data "$DATA"
expect_cli_error "restore without --from: exit 2, one line" 2
# leftovers of a hub that died: a stale shared-memory file and a WAL (moved aside with it)
printf 'stale' >"$DATA/hub.db-shm"
printf 'stale' >"$DATA/hub.db-wal"
cli hub restore --data "$DATA" --from "$T/backup.db"
expect_eq "hub restore: exit 0, no stderr" "0 " "$RC $ERR"
expect_match "... says what it did" "^restored $T/backup.db to $DATA/hub.db \([0-9]+ bytes, schema version [0-9]+\); the previous database is kept as $DATA/hub.db.replaced-[0-9]{8}T[0-9]{6}Z; start the hub$" "$OUT"
OLD=$(ls -d "$DATA"/hub.db.replaced-* 2>/dev/null | grep -v -- '-wal$' | head -n 1 || true)
expect_eq "... the previous database and its WAL kept beside it, the shm removed" "1 1 0 0 0" \
    "$(yes_if [ -s "$OLD" ]) $(yes_if [ -e "$OLD-wal" ]) $(yes_if [ -e "$DATA/hub.db-shm" ]) \
$(yes_if [ -e "$DATA/hub.db-wal" ]) $(yes_if [ -e "$DATA/hub.db.restoring" ])"
expect_eq "... hub.db is 0600 and the backup file is unchanged" "600 $SUM" \
    "$(mode_of "$DATA/hub.db") $(sum_of "$T/backup.db")"

hub_start "$DATA" --addr "127.0.0.1:$HPORT" || { not_ok "the hub starts on the restored data"; finish; }
ok "the hub starts on the restored data, same port"
expect_eq "the restored hub's lastSeq is the backup's" "$SEQ_BACKUP" "$(hub_seq)"
cli item list --vault "$V" --format json
expect_eq "the admin CLI sees A and not B" "$TA" "$(jqr "$OUT" '.[].title' | sort | tr '\n' ' ' | sed 's/ $//')"

# ---- a Connect server with a new volume --------------------------------------------------------
connect_start sync SYNC2 "$T/two.json" "$T/x2" || { not_ok "sync of two starts"; finish; }
connect_start api API2 "$T/two.json" "$T/x2" || { not_ok "api of two starts"; finish; }
curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer $TOK2" "$API2_URL/health" || true
wait_for "server two (new volume): unlocked and synced" 20 connect_synced "$API2_URL" || true
wait_for "server two serves A and not B" 20 serves "$API2_URL" "$TOK2" "$V" "$TA" || true
r=$(TOKEN=$TOK2 ccurl "$API2_URL/v1/vaults/$V/items/$IA")
expect_eq "server two: GET item A is 200" 200 "$(status_of "$r")"

# ---- the existing Connect server, whose volume is ahead of the restored hub ---------------------
wait_for "server one converges: A back, B gone" 40 serves "$API1_URL" "$TOK1" "$V" "$TA" || true
r=$(TOKEN=$TOK1 ccurl "$API1_URL/v1/vaults/$V/items/$IB")
expect_eq "server one: GET item B is 404" 404 "$(status_of "$r")"
r=$(TOKEN=$TOK1 ccurl "$API1_URL/v1/vaults/$V/items/$IA")
expect_eq "server one: GET item A is 200 with its title" "200 $TA" \
    "$(status_of "$r") $(jqr "$(body_of "$r")" .title)"
expect_match "server one's sync noticed the older hub" 'resyncing from the start' \
    "$(cat "$SYNC1_LOG")"

# ---- the restored hub goes on: a new item reaches both servers -----------------------------------
TC="C $(rand_marker c)"
cli item create --vault "$V" --category LOGIN --title "$TC" --format json
WANT=$(printf '%s\n%s\n' "$TA" "$TC" | sort | tr '\n' ' ' | sed 's/ $//')
wait_for "a new item after the restore reaches server one" 20 serves "$API1_URL" "$TOK1" "$V" "$WANT" || true
wait_for "... and server two" 20 serves "$API2_URL" "$TOK2" "$V" "$WANT" || true

for n in API2 SYNC2 API1 SYNC1; do connect_stop "$n" || true; done
rc=0
hub_stop TERM || rc=$?
expect_eq "the hub stops cleanly" 0 "$rc"
expect_clean_log "no sanitizer report in the hub log"
expect_clean_logs "no sanitizer report in the sync and api logs" "$SYNC1_LOG" "$API1_LOG" \
    "$SYNC2_LOG" "$API2_LOG"
finish
