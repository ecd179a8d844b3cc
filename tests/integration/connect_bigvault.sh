#!/usr/bin/env bash
# connect_bigvault.sh - a new Connect server pulls a vault larger than one page of the hub's
# item listing (docs/hub-api.md "Sync endpoints": at most 1000 items and 3 MiB of ciphertext
# a page): the vault is written through the admin CLI (in parallel) before the server
# exists, then sync pulls it page by page (docs/sync.md "A vault pulled in pages") and the
# api serves every item: the exact count, every title, and many items' fields compared with
# what was written. The hub refuses the old unpaged listing of such a vault (413) instead of
# sending it whole, and answers pages with a cursor.
#
# The default vault (400 items of about 9 KB of ciphertext, 3.6 MiB) is cut by the byte
# budget, so that it is written in seconds; BIGVAULT_ITEMS=10000 BIGVAULT_NOTE=1000 gives
# `make bench`'s cold-start case (10,000 items of ~1.5 KB, cut by count; minutes).
# BIGVAULT_JOBS (default 3) sets how many CLI writers run at once.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"

hub_test_init
N=${BIGVAULT_ITEMS:-400}
NOTE_BYTES=${BIGVAULT_NOTE:-9000}
JOBS=${BIGVAULT_JOBS:-3}
jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }
START=$(now_ms)

hub_start "$T/hub" || { not_ok "the hub starts"; finish; }
ok "the hub starts"
hub_account_init || { not_ok "account init"; finish; }

# ---- the vault, written before any Connect server exists ----------------------------------------
MARK=$(rand_marker m)
cli vault create "big $MARK" --format json
VB=$(jqr "$OUT" .id)
expect_match "a vault" '^[a-z2-7]{26}$' "$VB"
# one item: title "big-I", username "user-I", password "pw-I-MARK", a note of NOTE_BYTES
NOTE=$(head -c "$NOTE_BYTES" /dev/zero | tr '\0' 'n')
export VB MARK NOTE SESAME
mkitem() {
    "$SESAME" item create --vault "$VB" --category LOGIN --title "big-$1" \
        --field "username=user-$1" --field "password=pw-$1-$MARK" --field "notesPlain=$NOTE $1" \
        --format json >/dev/null 2>>"$T/mkitem.err" || echo "$1" >>"$T/mkitem.failed"
}
export -f mkitem
export T
seq 1 "$N" | xargs -P "$JOBS" -I{} bash -c 'mkitem {}'
expect_eq "$N items written through the CLI ($JOBS at a time)" "0" \
    "$(cat "$T/mkitem.failed" 2>/dev/null | wc -l)"
[ -s "$T/mkitem.err" ] && head -5 "$T/mkitem.err" | sed 's/^/#   /'
cli vault get "$VB" --format json
expect_eq "the hub counts $N items" "$N" "$(jqr "$OUT" .items)"
echo "# written in $(elapsed_ms "$START") ms"

# ---- a new Connect server pulls it -------------------------------------------------------------
cli connect server create big --vault "$VB" --out "$T/srv.json" --format json
expect_eq "connect server create" 0 "$RC"
cli connect token create tok --server big --vault "$VB:r" --format json
TOK=$(jqr "$OUT" .token)
expect_match "a token" '^ey' "$TOK"
XDG="$T/xdg"
T_PULL=$(now_ms)
connect_start sync SYNC "$T/srv.json" "$XDG" OP_LOG_LEVEL=info || { not_ok "sync starts"; finish; }
connect_start api API "$T/srv.json" "$XDG" OP_SYNC_TIMEOUT=60s || { not_ok "the api starts"; finish; }
# the first request unlocks (and waits for the first sync, within OP_SYNC_TIMEOUT)
r=$(TOKEN=$TOK ccurl "$API_URL/v1/vaults" --max-time 70)
expect_eq "the first request is answered once the vault is pulled" 200 "$(status_of "$r")"
wait_within "the api is synced" 30 connect_synced "$API_URL"
echo "# pulled and served in $(elapsed_ms "$T_PULL") ms"
expect_eq "the vault's item count" "$N" "$(jqr "$(body_of "$r")" ".[] | select(.id == \"$VB\") | .items")"
PAGES=$(grep -o "vault $VB pulled: $N items in [0-9]* pages" "$SYNC_LOG" | grep -o '[0-9]* pages' |
    cut -d' ' -f1 || true)
expect_eq "sync pulled the vault in more than one page (${PAGES:-?})" 1 \
    "$([ "${PAGES:-0}" -ge 2 ] && echo 1 || echo 0)"
expect_eq "... each a request of its own to the hub" "$PAGES" \
    "$(grep -c "GET /v1/sync/vaults/$VB/items completed (200" "$HUB_LOG" || true)"
expect_eq "sync logged no size failure" 0 "$(grep -c 'ERR_TOO_LARGE\|over 16777216' "$SYNC_LOG" || true)"

# ---- every item is there, many are checked field by field -------------------------------------
r=$(TOKEN=$TOK ccurl "$API_URL/v1/vaults/$VB/items")
expect_eq "the item list answers 200" 200 "$(status_of "$r")"
body_of "$r" >"$T/list.json"
expect_eq "the api lists exactly $N items" "$N" "$(jq length "$T/list.json")"
expect_eq "... with every title once" "$N" "$(jq -r '.[].title' "$T/list.json" | sort -u | grep -c '^big-[0-9]*$')"
expect_eq "... big-1 to big-$N" "$(seq 1 "$N" | sort)" "$(jq -r '.[].title | ltrimstr("big-")' "$T/list.json" | sort)"
bad=""
checked=0
for i in 1 2 3 $((N / 2)) $((N - 1)) "$N" $(shuf -i 1-"$N" -n 60 --random-source=<(yes "$MARK")); do
    id=$(jq -r --arg t "big-$i" '.[] | select(.title == $t) | .id' "$T/list.json")
    r=$(TOKEN=$TOK ccurl "$API_URL/v1/vaults/$VB/items/$id")
    got=$(body_of "$r" | jq -r '[.title, .category, (.fields[] | select(.label == "username" or .id == "username") | .value), (.fields[] | select(.label == "password" or .id == "password") | .value)] | join(" ")' 2>/dev/null || true)
    want="big-$i LOGIN user-$i pw-$i-$MARK"
    if [ "$(status_of "$r")" != 200 ] || [ "$got" != "$want" ]; then
        bad="$bad [$i: $(status_of "$r") $got]"
    fi
    checked=$((checked + 1))
done
expect_eq "$checked items served with the fields written" "" "$bad"

# ---- the hub: pages on request; the old unpaged listing of this vault is refused ---------------
a=$(hsync "$T/srv.json" "$TOK" GET "/v1/sync/vaults/$VB/items")
expect_eq "the unpaged listing of a vault over one page: 413" \
    "413 the vault is too large for one answer: ask for pages (?limit=)" \
    "$(status_of "$a") $(jqr "$(body_of "$a")" .message)"
a=$(hsync "$T/srv.json" "$TOK" GET "/v1/sync/vaults/$VB/items?limit=5000")
FIRST=$(jqr "$(body_of "$a")" '.items | length')
NEXT=$(jqr "$(body_of "$a")" .next)
expect_eq "a page asked larger than the most: cut (at most 1000 items, under 4.5 MB), a next" \
    "200 1 1 $(jqr "$(body_of "$a")" '.items[-1].id')" \
    "$(status_of "$a") $([ "${FIRST:-0}" -le 1000 ] && [ "$FIRST" -lt "$N" ] && echo 1 || echo 0) $([ "$(body_of "$a" | wc -c)" -lt 4500000 ] && echo 1 || echo 0) $NEXT"
P1=$(jqr "$(body_of "$a")" '[.items[].id] | join(" ")')
a=$(hsync "$T/srv.json" "$TOK" GET "/v1/sync/vaults/$VB/items?limit=5000&after=$NEXT")
P2=$(jqr "$(body_of "$a")" '[.items[].id] | join(" ")')
expect_eq "... the next page after it: none of the first page's items again" "200 0" \
    "$(status_of "$a") $(comm -12 <(tr ' ' '\n' <<<"$P1" | sort) <(tr ' ' '\n' <<<"$P2" | sort) | wc -l)"
expect_eq "... the two pages hold every item once, in the order the api lists them" \
    "$(jq -r '.[].id' "$T/list.json" | tr '\n' ' ')" \
    "$(printf '%s %s\n' "$P1" "$P2" | tr ' ' '\n' | grep -v '^$' | tr '\n' ' ')"
if command -v sqlite3 >/dev/null; then
    expect_eq "the volume holds $N live items of the vault" "$N" \
        "$(sqlite3 -readonly "$XDG/.op/data/sesame.db" "SELECT count(*) FROM items WHERE vault_id = '$VB' AND deleted = 0")"
fi

expect_clean_logs "no sanitizer report in the api and sync logs" "$API_LOG" "$SYNC_LOG"
expect_clean_log "no sanitizer report in the hub log"
echo "# total $(elapsed_ms "$START") ms"
finish
