#!/usr/bin/env bash
# hub_crash.sh - durability: concurrent item creates through the CLI, the hub SIGKILLed in
# the middle, restarted on the same data. Every create the CLI acknowledged (exit 0 with
# the new item) is there, and the admin change feed is gap-free from 1 to lastSeq.
set -euo pipefail
. "$(dirname "$0")/lib.bash"

LOOPS=4
PER_LOOP=25
KILL_AFTER=${KILL_AFTER:-30} # acknowledged creates before the SIGKILL

hub_test_init
hub_start "$T/hub" || { not_ok "the hub starts"; finish; }
ok "the hub starts"
hub_account_init || { not_ok "account init"; finish; }
ok "account init"
cli vault create crash --format json
V=$(printf '%s' "$OUT" | jq -r '.id // empty' 2>/dev/null || true)
expect_match "vault create" '^[a-z2-7]{26}$' "$V"

# Each loop records the ids the CLI acknowledged, one per line.
burst() {
    local l=$1 n out
    for n in $(seq 1 "$PER_LOOP"); do
        if out=$("$SESAME" item create --vault "$V" --category LOGIN --title "crash-$l-$n" \
            --field "n=$l-$n" --format json 2>>"$T/burst.$l.err"); then
            printf '%s\n' "$out" | jq -r '.id // empty' 2>/dev/null >>"$T/ack.$l" || true
        fi
    done
}
pids=()
for l in $(seq 1 "$LOOPS"); do
    : >"$T/ack.$l"
    burst "$l" &
    pids+=($!)
done
acked() { cat "$T"/ack.* 2>/dev/null | grep -c . || true; }
for i in $(seq 1 600); do
    [ "$(acked)" -ge "$KILL_AFTER" ] && break
    sleep 0.05
done
before=$(acked)
hub_stop KILL || true
for p in "${pids[@]}"; do wait "$p" || true; done
total=$(acked)
echo "# acknowledged: $before when the SIGKILL was sent, $total in all"
if [ "$before" -ge 1 ] && [ "$total" -lt $((LOOPS * PER_LOOP)) ]; then
    ok "the hub was killed in the middle of the burst ($total of $((LOOPS * PER_LOOP)) acknowledged)"
else
    not_ok "the hub was killed in the middle of the burst ($before before, $total in all)"
    sed 's/^/#   /' "$T"/burst.*.err | sort | uniq -c | head -5
fi

hub_start "$T/hub" || { not_ok "the hub restarts on the same data"; finish; }
ok "the hub restarts on the same data"

# ---- every acknowledged item is there ---------------------------------------------------
cat "$T"/ack.* | sort -u >"$T/acked.ids"
cli item list --vault "$V" --format json
printf '%s' "$OUT" | jq -r '.[].id' 2>/dev/null | sort -u >"$T/listed.ids" || true
missing=$(comm -23 "$T/acked.ids" "$T/listed.ids" | wc -l)
expect_eq "every acknowledged item is listed after the crash" 0 "$missing"
got=0
checked=0
for id in $(shuf -n 10 "$T/acked.ids"); do
    checked=$((checked + 1))
    cli item get "$id" --vault "$V" --format json
    t=$(printf '%s' "$OUT" | jq -r '.title // empty' 2>/dev/null || true)
    [[ "$RC" -eq 0 && "$t" == crash-* ]] && got=$((got + 1))
done
expect_eq "item get decrypts a sample of the acknowledged items" "$checked" "$got"
cli item create --vault "$V" --category LOGIN --title after-crash --format json
expect_eq "a create after the restart works" 0 "$RC"

# ---- the change feed has no gap -----------------------------------------------------------
since=0
pages=0
last=0
: >"$T/changes.jsonl"
while :; do
    a=$(hreq GET "/v1/changes?since=$since&limit=7")
    if [ "$(status_of "$a")" != 200 ]; then
        not_ok "GET /v1/changes?since=$since: $(printf '%s' "$a" | head -c 300)"
        break
    fi
    body_of "$a" >"$T/page.json"
    jq -c '.changes[]' "$T/page.json" >>"$T/changes.jsonl" || true
    pages=$((pages + 1))
    more=$(jq -r '.more' "$T/page.json" || true)
    next=$(jq -r '.next' "$T/page.json" || echo 0)
    last=$(jq -r '.lastSeq' "$T/page.json" || echo 0)
    if [ "$more" != true ] || [ "$pages" -gt 1000 ]; then break; fi
    if [ "$next" -le "$since" ]; then
        not_ok "the change feed's next ($next) does not advance past $since"
        break
    fi
    since=$next
done
expect_eq "the change feed runs 1..lastSeq ($last) without a gap" "$(seq 1 "$last" | tr '\n' ' ')" \
    "$(jq -r .seq "$T/changes.jsonl" | tr '\n' ' ')"
expect_eq "the change feed came in several pages" 1 "$([ "$pages" -gt 1 ] && echo 1 || echo 0)"
jq -r 'select(.kind == "item_put") | .ref' "$T/changes.jsonl" | sort -u >"$T/put.ids"
expect_eq "every acknowledged item has an item_put change" 0 \
    "$(comm -23 "$T/acked.ids" "$T/put.ids" | wc -l)"
a=$(hreq GET /v1/account)
expect_eq "the account's lastSeq is the feed's" "$last" "$(body_of "$a" | jq -r '.lastSeq')"

rc=0
hub_stop TERM || rc=$?
expect_eq "the hub stops cleanly on SIGTERM" 0 "$rc"
expect_clean_log "no sanitizer report in the hub log"
finish
