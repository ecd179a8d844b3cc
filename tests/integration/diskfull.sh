#!/usr/bin/env bash
# diskfull.sh - a full disk (issue 9): the hub's data directory, then a Connect server's
# volume, on a small tmpfs filled up with a filler file.
#   1. hub: writes through the admin CLI and through a Connect server (api -> sync -> hub)
#      are refused with 507 JSON (the hub's transaction rolled back: nothing half-written),
#      reads keep being served (the Connect api, the admin CLI), and once the filler is
#      removed writes are accepted again;
#   2. volume: server B's XDG_DATA_HOME on a tmpfs; writes made on the hub cannot be applied
#      by sync B: sync logs the failure (a few lines, not a flood), its /health shows the
#      sqlite dependency ERROR "... full", the api keeps serving what the volume has, a
#      Connect write through B is stored on the hub and answered 507 (the hub has it, the
#      volume cannot take it yet); once the filler is removed sync catches up by itself.
# After each: every write acknowledged to a client is on the hub and on both Connect
# servers exactly once with its content; a write refused with "nothing was written" is
# nowhere; one the hub stored but B's volume could not take arrives everywhere exactly
# once; no read returned another item's data; the hub's change feed runs 1..lastSeq
# without a gap; and no log holds a sanitizer report.
# Needs root (mount -t tmpfs); otherwise, or when the mount fails, it is skipped with one
# line. Every tmpfs it mounted is unmounted on exit (trap). KEEP_TMP=1 keeps $T.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"

hub_test_init
MOUNTS=()
df_cleanup() {
    local p m
    for p in "${HUB_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    for m in "${MOUNTS[@]}"; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    hub_cleanup
}
trap df_cleanup EXIT
trap 'exit 143' TERM INT # so that the EXIT trap unmounts on a timeout too
# mount_small DIR SIZE: a tmpfs of SIZE at DIR (0700); 1 when it cannot be mounted.
mount_small() {
    mkdir -p "$1"
    mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" 2>/dev/null || return 1
    MOUNTS+=("$1")
}
if [ "$(id -u)" != 0 ]; then
    ok "skipped: not root (mount -t tmpfs needs root)"
    finish
    exit 0
fi
if ! mount_small "$T/hubfs" 16m; then
    ok "skipped: mount -t tmpfs is not allowed here"
    finish
    exit 0
fi
for tool in jq curl; do
    command -v "$tool" >/dev/null 2>&1 || { not_ok "$tool is installed"; finish; exit 1; }
done

jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }
# fill DIR: writes DIR/filler until the file system is full.
fill() {
    dd if=/dev/zero of="$1/filler" bs=1M 2>/dev/null || true
    dd if=/dev/zero of="$1/filler2" bs=4k 2>/dev/null || true
    sync
}
unfill() { rm -f "$1/filler" "$1/filler2"; }
PAD=$(head -c 12000 /dev/urandom | base64 -w 0) # 16 KiB: every write needs new pages
# post URL MARKER: POST an item titled MARKER (field m = MARKER, a 16 KiB pad) to V; prints
# the status line and the body. The attempt is recorded in $T/writes (URL MARKER STATUS).
post() {
    local body a
    body=$(jq -cn --arg v "$V" --arg t "$2" --arg p "$PAD" '{vault: {id: $v}, title: $t,
        category: "LOGIN", fields: [{id: "m", type: "STRING", label: "m", value: $t},
        {id: "pad", type: "STRING", label: "pad", value: $p}]}')
    a=$(TOKEN=$3 ccurl "$1/v1/vaults/$V/items" -X POST -H 'Content-Type: application/json' \
        --data-binary "$body")
    printf '%s %s %s %s\n' "$1" "$2" "$(status_of "$a")" "$(jqr "$(body_of "$a")" .id)" \
        >>"$T/writes"
    printf '%s' "$a"
}
# titles_hub: every item title of V on the hub (sorted, with repeats); titles_api URL TOKEN.
titles_hub() {
    cli item list --vault "$V" --format json
    [ "$RC" -eq 0 ] && jqr "$OUT" '.[].title' | sort
    return 0
}
titles_api() { jqr "$(body_of "$(TOKEN=$2 ccurl "$1/v1/vaults/$V/items")")" '.[].title' | sort; }
# check_reads URL TOKEN: GETs every acknowledged item on that api; each 200 must carry the
# item's own id and marker. Prints the number of reads that were not the item's data.
check_reads() {
    local url=$1 tok=$2 u m st id bad=0 a
    while read -r u m st id; do
        [ "$st" = 200 ] && [ -n "$id" ] || continue
        a=$(TOKEN=$tok ccurl "$url/v1/vaults/$V/items/$id")
        [ "$(status_of "$a")" = 200 ] || continue
        if [ "$(jqr "$(body_of "$a")" '"\(.id) \(.title) \(.fields[] | select(.label == "m") | .value)"')" != "$id $m $m" ]; then
            bad=$((bad + 1))
        fi
    done <"$T/writes"
    echo "$bad"
}
# invariants PHASE: the checks listed at the top, after catch-up.
invariants() {
    local phase=$1 hub a b u m st id want miss=0 twice=0 stray=0 since=0 next last more pages=0
    hub=$(titles_hub)
    a=$(titles_api "$APIA_URL" "$TOKA")
    b=$(titles_api "$APIB_URL" "$TOKB")
    while read -r u m st id; do
        case $st in
        200) want=1 ;;                                        # acknowledged
        507) want=$(grep -qF "$m" "$T/stored" && echo 1 || echo 0) ;; # stored on the hub or not
        *) want=x ;;                                          # unknown: everywhere or nowhere
        esac
        local nh na nb
        nh=$(grep -cxF "$m" <<<"$hub" || true)
        na=$(grep -cxF "$m" <<<"$a" || true)
        nb=$(grep -cxF "$m" <<<"$b" || true)
        if [ "$want" = x ]; then
            [ "$nh$na$nb" = 111 ] || [ "$nh$na$nb" = 000 ] || stray=$((stray + 1))
        elif [ "$nh$na$nb" != "$want$want$want" ]; then
            if [ "$nh" -gt 1 ] || [ "$na" -gt 1 ] || [ "$nb" -gt 1 ]; then twice=$((twice + 1)); fi
            miss=$((miss + 1))
            echo "# $phase: $m ($st): hub $nh, A $na, B $nb; expected $want each"
        fi
    done <"$T/writes"
    expect_eq "$phase: every acknowledged or stored write is on the hub, A and B exactly once; a write refused with 'nothing was written' is nowhere" \
        "0 0" "$miss $twice"
    expect_eq "$phase: a write of unknown outcome is everywhere or nowhere" 0 "$stray"
    expect_eq "$phase: the hub, A and B list the same items" "$hub" "$a"
    expect_eq "$phase: ... (B)" "$hub" "$b"
    expect_eq "$phase: no read on A or B returned another item's data" "0 0" \
        "$(check_reads "$APIA_URL" "$TOKA") $(check_reads "$APIB_URL" "$TOKB")"
    : >"$T/changes.jsonl"
    last=0
    while :; do
        r=$(hreq GET "/v1/changes?since=$since&limit=200")
        [ "$(status_of "$r")" = 200 ] || { not_ok "$phase: GET /v1/changes: $(status_of "$r")"; return; }
        body_of "$r" >"$T/page.json"
        jq -c '.changes[]' "$T/page.json" >>"$T/changes.jsonl" || true
        pages=$((pages + 1))
        more=$(jq -r '.more' "$T/page.json" || echo false)
        next=$(jq -r '.next' "$T/page.json" || echo 0)
        last=$(jq -r '.lastSeq' "$T/page.json" || echo 0)
        if [ "$more" != true ] || [ "$pages" -gt 500 ] || [ "$next" -le "$since" ]; then break; fi
        since=$next
    done
    expect_eq "$phase: the hub's change feed runs 1..lastSeq ($last) without a gap" \
        "$(seq 1 "$last" | tr '\n' ' ')" "$(jq -r .seq "$T/changes.jsonl" | tr '\n' ' ')"
}
# count_is URL TOKEN N: that api lists N items of V; both_have: A and B list what the hub has.
count_is() { [ "$(titles_api "$1" "$2" | grep -c . || true)" = "$3" ]; }
both_have() {
    local n
    n=$(titles_hub | grep -c . || true)
    count_is "$APIA_URL" "$TOKA" "$n" && count_is "$APIB_URL" "$TOKB" "$n"
}
: >"$T/writes"
: >"$T/stored"

# ---- the hub on the tmpfs, servers A and B on the normal disk ------------------------------
hub_start "$T/hubfs" || { not_ok "the hub starts on a 16 MiB tmpfs"; finish; }
ok "the hub starts on a 16 MiB tmpfs"
hub_account_init || { not_ok "account init"; finish; }
cli vault create "full $(rand_marker f)" --format json
V=$(jqr "$OUT" .id)
cli connect server create srvA --vault "$V" --out "$T/A.json" --format json
cli connect server create srvB --vault "$V" --out "$T/B.json" --format json
cli connect token create a --server srvA --vault "$V:rw" --format json
TOKA=$(jqr "$OUT" .token)
cli connect token create b --server srvB --vault "$V:rw" --format json
TOKB=$(jqr "$OUT" .token)
expect_eq "a vault, servers A and B, a token each" "1 1" \
    "$([ -n "$TOKA" ] && echo 1 || echo 0) $([ -n "$TOKB" ] && echo 1 || echo 0)"
XA="$T/xa"
connect_start sync SYNCA "$T/A.json" "$XA" || { not_ok "sync A starts"; finish; }
connect_start api APIA "$T/A.json" "$XA" OP_SYNC_TIMEOUT=5s || { not_ok "api A starts"; finish; }
XB="$T/xb"
if ! mount_small "$XB" 8m; then
    not_ok "a tmpfs for B's volume"
    finish
fi
connect_start sync SYNCB "$T/B.json" "$XB" || { not_ok "sync B starts"; finish; }
connect_start api APIB "$T/B.json" "$XB" OP_SYNC_TIMEOUT=5s || { not_ok "api B starts"; finish; }
curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer $TOKA" "$APIA_URL/health" || true
curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer $TOKB" "$APIB_URL/health" || true
both_synced() { connect_synced "$APIA_URL" && connect_synced "$APIB_URL"; }
wait_within "A and B: unlocked and synced" 20 both_synced || { finish; }
for i in 1 2 3 4 5; do post "$APIA_URL" "base-$i-$(rand_marker b)" "$TOKA" >/dev/null; done
expect_eq "five items written through A before the disk fills" 5 "$(grep -c ' 200 ' "$T/writes")"

# ---- 1. the hub's disk full ------------------------------------------------------------------
fill "$T/hubfs"
ok "the hub's tmpfs is full ($(df -k --output=avail "$T/hubfs" | tail -1 | tr -d ' ') KiB left)"
NFULL=0
WANT507=$(jq -cS -n '{status: 507, message: "the hub'"'"'s storage is full: nothing was written"}')
for i in $(seq 1 40); do
    a=$(post "$APIA_URL" "full-$i-$(rand_marker h)" "$TOKA")
    if [ "$(status_of "$a")" = 507 ]; then
        NFULL=$((NFULL + 1))
        [ "$(body_of "$a" | jq -cS . 2>/dev/null)" = "$WANT507" ] || NFULL=-1000
        [ "$NFULL" -ge 3 ] && break
    fi
done
expect_eq "Connect writes through A are refused 507 {\"status\":507,\"message\":\"the hub's storage is full: nothing was written\"} (3 in a row, at most 40 tried)" \
    3 "$NFULL"
cli item create --vault "$V" --category LOGIN --title "cli-full-$(rand_marker c)" --notes "$PAD" \
    --format json
expect_match "an admin write is refused: 'the server's storage is full'" "storage is full" \
    "$RC $ERR"
a=$(TOKEN=$TOKA ccurl "$APIA_URL/v1/vaults/$V/items")
expect_eq "reads are still served by A (200, the items written before)" "200 1" \
    "$(status_of "$a") $([ "$(jqr "$(body_of "$a")" 'length')" -ge 5 ] && echo 1 || echo 0)"
cli vault list --format json
# an admin request records its nonce (replay protection), a write: on a full disk it is
# refused like one - 507 "the server's storage is full" - unless the WAL still has room
expect_match "an admin read on the full hub: served, or refused with 'the server's storage is full'" \
    "^(0 |1 sesame: cannot list the vaults: hub: the server's storage is full$)" "$RC $ERR"
expect_match "the hub logs the full disk" "the disk is full" "$(cat "$HUB_LOG")"
unfill "$T/hubfs"
ok "the filler is removed"
wrote=0
for i in $(seq 1 20); do
    a=$(post "$APIA_URL" "after-$i-$(rand_marker a)" "$TOKA")
    if [ "$(status_of "$a")" = 200 ]; then wrote=1 && break; fi
    sleep 0.5
done
expect_eq "writes are accepted again once space is freed" 1 "$wrote"
cli item create --vault "$V" --category LOGIN --title "cli-after-$(rand_marker c)" --format json
expect_eq "... through the admin CLI too" 0 "$RC"
wait_within "A and B are in step with the hub" 20 both_have || true
invariants "hub full"

# ---- 2. B's volume full ------------------------------------------------------------------
fill "$XB"
ok "B's volume tmpfs is full ($(df -k --output=avail "$XB" | tail -1 | tr -d ' ') KiB left)"
B_LOG_LINES=$(wc -l <"$SYNCB_LOG")
stored=0
for i in $(seq 1 30); do
    m="hubonly-$i-$(rand_marker v)"
    cli item create --vault "$V" --category LOGIN --title "$m" --field "m=$m" --notes "$PAD" \
        --format json
    if [ "$RC" = 0 ]; then
        printf 'cli %s 200 %s\n' "$m" "$(jqr "$OUT" .id)" >>"$T/writes"
        stored=$((stored + 1))
    fi
    h=$(curl -s --max-time 5 "$SYNCB_URL/health" || true)
    if [ "$(jqr "$h" '.dependencies[] | select(.service == "sqlite") | .status')" = ERROR ]; then
        break
    fi
done
h=$(curl -s --max-time 5 "$SYNCB_URL/health" || true)
expect_match "sync B's /health: sqlite ERROR, the disk is full" '^ERROR .*full' \
    "$(jqr "$h" '.dependencies[] | select(.service == "sqlite") | "\(.status) \(.message)"')"
expect_eq "the hub took every admin write ($stored)" 1 "$([ "$stored" -ge 1 ] && echo 1 || echo 0)"
a=$(TOKEN=$TOKB ccurl "$APIB_URL/v1/vaults/$V/items")
expect_eq "api B keeps serving what its volume has (200)" 200 "$(status_of "$a")"
id=$(head -n 1 "$T/writes" | cut -d' ' -f4)
a=$(TOKEN=$TOKB ccurl "$APIB_URL/v1/vaults/$V/items/$id")
expect_eq "... an item written before, whole" "200 $id" "$(status_of "$a") $(jqr "$(body_of "$a")" .id)"
m="viab-$(rand_marker w)"
a=$(post "$APIB_URL" "$m" "$TOKB")
case "$(status_of "$a")" in
507)
    expect_match "a Connect write through B: 507, stored on the hub, not yet on B's volume" \
        "^the hub stored version 1, but this server's volume is full: the write is served here once space is freed" \
        "$(jqr "$(body_of "$a")" .message)"
    echo "$m" >>"$T/stored"
    ;;
*) not_ok "a Connect write through B while its volume is full: expected 507, got $(status_of "$a") $(body_of "$a" | head -c 200)" ;;
esac
sleep 3 # sync B keeps failing meanwhile
n=$(tail -n +"$((B_LOG_LINES + 1))" "$SYNCB_LOG" | grep -ciE 'full|ERR_NO_SPACE' || true)
expect_eq "sync B logs the full volume in a few lines, not a flood ($n)" 1 \
    "$([ "$n" -ge 1 ] && [ "$n" -le 12 ] && echo 1 || echo 0)"
expect_eq "B does not list the items it could not store" 0 \
    "$(titles_api "$APIB_URL" "$TOKB" | grep -c '^hubonly-' || true)"
unfill "$XB"
ok "the filler is removed from B's volume"
wait_within "sync B catches up by itself once space is freed" 20 both_have || true
h=$(curl -s --max-time 5 "$SYNCB_URL/health" || true)
expect_eq "sync B's /health: sqlite ACTIVE again" ACTIVE \
    "$(jqr "$h" '.dependencies[] | select(.service == "sqlite") | .status')"
invariants "volume full"

rc=0
for n in APIA SYNCA APIB SYNCB; do connect_stop "$n" || rc=$((rc + 1)); done
hub_stop TERM || rc=$((rc + 1))
expect_eq "every process stops cleanly" 0 "$rc"
expect_clean_log "no sanitizer report in the hub log"
expect_clean_logs "no sanitizer report in the api and sync logs" "$APIA_LOG" "$SYNCA_LOG" \
    "$APIB_LOG" "$SYNCB_LOG"
finish
