#!/usr/bin/env bash
# scaleout.sh - issue 11's scale-out, end to end (docs/scaling.md): ONE PostgreSQL database
# (the test cluster of ctest's pg fixture), TWO hub replicas on it (A and B, each its own
# process and port), THREE Connect servers (1, 2, 3: each its own credentials file listing
# both replicas, volume, `sesame sync` and `sesame api`):
#   - server 1 and 3 prefer replica A, server 2 prefers B: writes through server 1 land on A
#     and writes through server 2 on B (each replica's request log), and every server
#     converges to the same items (each server's list of the vault);
#   - a sync session opened on one replica is valid on the other, and a change made on one
#     wakes the long-polls waiting on the other (LISTEN/NOTIFY): server 3 sees server 2's
#     write (made through B) quickly although it long-polls A;
#   - replica A is SIGKILLed in the middle of a burst of writes through servers 1 and 2:
#     every acknowledged write is on the hub (B), on every server, exactly once; servers 1
#     and 3 fail over to B (their sync logs say so) and keep syncing.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"

if ! [ -s "${TEST_PG_URL_FILE:-}" ]; then
    echo "skipped: no PostgreSQL test cluster (TEST_PG_URL_FILE; ctest's pg fixture)"
    exit 77
fi
hub_test_init
if ! command -v node >/dev/null 2>&1; then
    not_ok "node is installed (the burst client is a node script)"
    finish
    exit 1
fi
jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }
BURST_JS="$(dirname "$0")/burst.js"

# ---- two replicas on one database --------------------------------------------------------
DB=$(pg_database scaleout) || { not_ok "a database for the replicas"; finish; }
export SESAME_HUB_DATABASE_URL="$DB"
hub_start "$T/hubA" || { not_ok "replica A starts"; finish; }
HA_PID=$HUB_PID HA_URL=$HUB_URL HA_LOG=$HUB_LOG
hub_start "$T/hubB" || { not_ok "replica B starts"; finish; }
HB_PID=$HUB_PID HB_URL=$HUB_URL HB_LOG=$HUB_LOG
ok "two replicas on one PostgreSQL database: A $HA_URL, B $HB_URL"
unset SESAME_HUB_DATABASE_URL
export SESAME_HUB="$HA_URL" # the admin CLI talks to A
hub_account_init || { not_ok "account init (through A)"; finish; }
expect_eq "B sees the account A registered (one database)" 1 \
    "$(SESAME_HUB=$HB_URL cli vault list --format json >/dev/null; [ "$RC" -eq 0 ] && echo 1 || echo 0)"

cli vault create "scale $(rand_marker v)" --format json
V=$(jqr "$OUT" .id)
cli item create --vault "$V" --category LOGIN --title "seed $(rand_marker s)" --format json
expect_eq "an item made through A" 0 "$RC"

# ---- three Connect servers, each listing both replicas -----------------------------------
# server N: credentials with the replicas in the given order, a read-write token, sync + api
declare -A TOK
mkserver() { # NAME FIRST_HUB SECOND_HUB
    connect_server_with_hubs "srv$1" "$T/srv$1.json" "$2" "$3" -- --vault "$V" --format json
    [ "$RC" -eq 0 ] || { not_ok "server $1 is created: $ERR"; return 1; }
    cli connect token create "tok$1" --server "srv$1" --vault "$V:rw" --format json
    TOK[$1]=$(jqr "$OUT" .token)
    mkdir -p "$T/xdg$1"
    # SESAME_HUB (the CLI's) must not override the credentials' list
    connect_start sync "S$1" "$T/srv$1.json" "$T/xdg$1" SESAME_HUB= OP_LOG_LEVEL=info ||
        { not_ok "sync $1 starts"; return 1; }
    connect_start api "A$1" "$T/srv$1.json" "$T/xdg$1" SESAME_HUB= OP_SYNC_TIMEOUT=10s ||
        { not_ok "api $1 starts"; return 1; }
    local url="A$1_URL"
    curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer ${TOK[$1]}" "${!url}/health" || true
    wait_within "server $1 unlocked and synced" 30 connect_synced "${!url}"
}
mkserver 1 "$HA_URL" "$HB_URL" || { finish; exit 1; }
mkserver 2 "$HB_URL" "$HA_URL" || { finish; exit 1; }
mkserver 3 "$HA_URL" "$HB_URL" || { finish; exit 1; }
API=([1]="$A1_URL" [2]="$A2_URL" [3]="$A3_URL")

# titles N: the sorted titles of the vault as server N serves them
titles() { TOKEN=${TOK[$1]} ccurl "${API[$1]}/v1/vaults/$V/items" | sed 1d | jq -r '.[].title' | sort; }
# post N TITLE: a POST through server N; prints the status
post() {
    TOKEN=${TOK[$1]} ccurl "${API[$1]}/v1/vaults/$V/items" -X POST \
        -H 'Content-Type: application/json' --data-binary \
        "$(jq -cn --arg v "$V" --arg t "$2" '{vault: {id: $v}, title: $t, category: "LOGIN"}')" |
        head -n 1
}
# the hub request lines of sync's item writes in a replica's log
hub_writes() { grep -cE 'PUT /v1/sync/vaults/[a-z0-9]+/items/[a-z0-9]+ completed \(200' "$1" || true; }
has_title() { titles "$1" | grep -qxF -- "$2"; }

# ---- writes through different servers land on different replicas -------------------------
a0=$(hub_writes "$HA_LOG")
b0=$(hub_writes "$HB_LOG")
T1="through one $(rand_marker one)"
T2="through two $(rand_marker two)"
expect_eq "a write through server 1 is acknowledged" 200 "$(post 1 "$T1")"
expect_eq "a write through server 2 is acknowledged" 200 "$(post 2 "$T2")"
expect_eq "server 1's write went to replica A, server 2's to B (their request logs)" "1 1" \
    "$(($(hub_writes "$HA_LOG") - a0)) $(($(hub_writes "$HB_LOG") - b0))"
# server 3 long-polls A; server 2's write was committed by B: NOTIFY wakes A's long-poll
t0=$(now_ms)
wait_within "server 3 (on A) serves server 2's write (made on B)" 10 has_title 3 "$T2"
echo "# server 3 saw the write made on B after ${WAITED_MS} ms"
expect_eq "... well before a long-poll times out (${WAITED_MS} ms < 5000)" 1 \
    "$([ "$WAITED_MS" -lt 5000 ] && echo 1 || echo 0)"
converged() {
    titles 1 >"$T/t1" && titles 2 >"$T/t2" && titles 3 >"$T/t3" &&
        [ -s "$T/t1" ] && cmp -s "$T/t1" "$T/t2" && cmp -s "$T/t1" "$T/t3"
}
wait_within "the three servers list the same items" 15 converged
expect_eq "... both writes among them" "1 1" \
    "$(grep -cxF -- "$T1" "$T/t1") $(grep -cxF -- "$T2" "$T/t1")"

# ---- replica A dies in the middle of a burst ---------------------------------------------
printf '%s\n' "${API[1]}" >"$T/a1.url"
printf '%s\n' "${API[2]}" >"$T/a2.url"
P1="burst-one-$(rand_marker b)-"
P2="burst-two-$(rand_marker b)-"
: >"$T/burst1.out"
: >"$T/burst2.out"
node "$BURST_JS" "$T/a1.url" "${TOK[1]}" "$V" "$P1" 150 3 "$T/burst1.out" &
n1=$!
node "$BURST_JS" "$T/a2.url" "${TOK[2]}" "$V" "$P2" 150 3 "$T/burst2.out" &
n2=$!
for _ in $(seq 1 300); do
    [ "$(grep -c '' "$T/burst1.out" || true)" -ge 40 ] && break
    sleep 0.05
done
echo "# SIGKILL replica A after $(grep -c '' "$T/burst1.out" || true) answers to server 1"
kill -KILL "$HA_PID" 2>/dev/null || true
wait "$HA_PID" 2>/dev/null || true
wait "$n1" "$n2" || true
expect_eq "every POST of both bursts got an answer (or an error)" "150 150" \
    "$(grep -c '' "$T/burst1.out") $(grep -c '' "$T/burst2.out")"
jq -r 'select(.s == 200) | .t' "$T/burst1.out" "$T/burst2.out" | sort >"$T/acked"
echo "# acknowledged: $(grep -c '' "$T/acked"); others:" \
    "$(jq -r 'select(.s != 200) | "\(.s) \(.m)"' "$T/burst1.out" "$T/burst2.out" | sort | uniq -c | tr '\n' ';')"
expect_eq "server 1 acknowledged writes after A died (it failed over)" 1 \
    "$([ "$(tail -n 30 "$T/burst1.out" | jq -r 'select(.s == 200) | .t' | grep -c . || true)" -gt 0 ] && echo 1 || echo 0)"
expect_match "server 1's sync says it failed over to B" "unreachable, trying ${HB_URL//./\\.}" \
    "$(cat "$S1_LOG")"

# the hub's own view, through the surviving replica
hub_titles() {
    SESAME_HUB=$HB_URL cli item list --vault "$V" --format json
    [ "$RC" -eq 0 ] || { printf 'exit %s: %s\n' "$RC" "$ERR" >"$T/hub.err"; return 1; }
    rm -f "$T/hub.err"
    jqr "$OUT" '.[].title' | sort
}
all_have_burst() {
    hub_titles | grep -F -e "$P1" -e "$P2" >"$T/hub" || true
    titles 1 | grep -F -e "$P1" -e "$P2" >"$T/b1" || true
    titles 2 | grep -F -e "$P1" -e "$P2" >"$T/b2" || true
    titles 3 | grep -F -e "$P1" -e "$P2" >"$T/b3" || true
    [ -z "$(comm -23 "$T/acked" "$T/hub")" ] && cmp -s "$T/hub" "$T/b1" &&
        cmp -s "$T/hub" "$T/b2" && cmp -s "$T/hub" "$T/b3"
}
wait_within "the hub (B) and the three servers hold the same burst items, every acknowledged one among them" \
    30 all_have_burst ||
    echo "#   hub $(grep -c '' "$T/hub") s1 $(grep -c '' "$T/b1") s2 $(grep -c '' "$T/b2") s3 $(grep -c '' "$T/b3")" \
        "$(cat "$T/hub.err" 2>/dev/null | head -c 400)"
for w in hub b1 b2 b3; do
    expect_eq "no acknowledged write is missing from $w, and none is there twice" "|" \
        "$(comm -23 "$T/acked" <(sort -u "$T/$w") | head -3 | tr '\n' ' ')|$(uniq -d "$T/$w" | head -3 | tr '\n' ' ')"
done

# after the failover: a new write through server 3 (which preferred A) reaches everyone
T3="after the failover $(rand_marker three)"
expect_eq "server 3 still takes writes (through B)" 200 "$(post 3 "$T3")"
others_have_t3() { has_title 1 "$T3" && has_title 2 "$T3"; }
wait_within "server 1 and 2 serve it" 15 others_have_t3
expect_match "server 3's sync says it failed over to B" "unreachable, trying ${HB_URL//./\\.}" \
    "$(cat "$S3_LOG")"

expect_clean_logs "no sanitizer report in any log" "$HA_LOG" "$HB_LOG" "$S1_LOG" "$S2_LOG" \
    "$S3_LOG" "$A1_LOG" "$A2_LOG" "$A3_LOG"
finish
