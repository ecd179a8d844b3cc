#!/usr/bin/env bash
# ratelimit.sh - the api's rate limits (issue 9): per token (SESAME_RATE_LIMIT_RPS, burst
# twice that), per client address (twice the token's), failed authentications per address
# (5/s, burst 50, checked before the token is looked at); 429 with Retry-After and a JSON
# body; other tokens unaffected by one token's limit; 0 turns every limit off. And the hub's
# (SESAME_HUB_RATE_LIMIT_RPS per client address, failed authentications per address).
set -uo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"

hub_test_init
hub_start "$T/hub" || { not_ok "the hub starts"; finish; exit 1; }
hub_account_init || { not_ok "account init"; finish; exit 1; }
cli vault create Limits --format json
VID=$(printf '%s' "$OUT" | jq -r .id)
cli item create --vault Limits --title one --field username=u
cli connect server create rl --vault Limits --out "$T/creds.json"
cli connect token create a --server rl --vault Limits:r
TA=$OUT
cli connect token create b --server rl --vault Limits:r
TB=$OUT
cli connect token create c --server rl --vault Limits:r
TC=$OUT
connect_start sync SYNC "$T/creds.json" "$T/xdg" || { not_ok "sync starts"; finish; exit 1; }
# 20/s per token (burst 40), 40/s per address (burst 80)
connect_start api API "$T/creds.json" "$T/xdg" SESAME_RATE_LIMIT_RPS=20 ||
    { not_ok "api starts"; finish; exit 1; }
served() { [ "$(status_of "$(TOKEN=$TB ccurl "$API_URL/v1/vaults")")" = 200 ]; }
wait_within "the api serves" 30 served || { finish; exit 1; }
sleep 4 # let the buckets fill again after the wait above

# burst N TOKEN [PROBE]: N requests as fast as curl goes (one connection); prints the status
# codes. With PROBE, the last request's headers and body are written to that file.
burst() {
    local n=$1 tok=$2 probe=${3:-} i args=()
    for i in $(seq 1 "$n"); do
        if [ -n "$probe" ] && [ "$i" -eq "$n" ]; then
            args+=(--next -s -i -w '%{http_code}\n' -H "Authorization: Bearer $tok" -o "$probe"
                "$API_URL/v1/vaults/$VID/items")
        else
            args+=(-o /dev/null "$API_URL/v1/vaults/$VID/items")
        fi
    done
    curl -s -w '%{http_code}\n' -H "Authorization: Bearer $tok" "${args[@]}"
}
# (the burst's last request keeps its headers and body: a probe sent after the burst by
# another curl could find a token refilled meanwhile, every 50 ms, on a slow machine)
codes=$(burst 60 "$TA" "$T/probe")
ok200=$(grep -c '^200$' <<<"$codes")
n429=$(grep -c '^429$' <<<"$codes")
expect_eq "a token's burst of 60 at 20/s: every answer is 200 or 429" 60 "$((ok200 + n429))"
expect_eq "... about the burst (40) pass" 1 "$([ "$ok200" -ge 40 ] && [ "$ok200" -le 45 ] && echo 1 || echo 0)"
ans=$(cat "$T/probe")
# (a bad token is a token too: repeating one counts against its own bucket as well)
expect_match "a limited request gets 429" '^HTTP/1.1 429' "$ans"
expect_match "... with Retry-After in whole seconds" $'\nRetry-After: [1-9][0-9]*\r' "$ans"
expect_eq "... and Connect's JSON error shape" \
    '{"message":"Too many requests: slow down and retry after the time in Retry-After","status":429}' \
    "$(printf '%s' "$ans" | sed -n '/^\r$/,$p' | tail -n 1 | jq -cS .)"
expect_eq "another token from the same address is not limited by the first one's bucket" 200 \
    "$(status_of "$(TOKEN=$TB ccurl "$API_URL/v1/vaults/$VID/items")")"
sleep 1.2
expect_eq "the token is served again after a second" 200 \
    "$(status_of "$(TOKEN=$TA ccurl "$API_URL/v1/vaults/$VID/items")")"

# the address: three tokens together (3 x 40 of token budget) meet its burst of 80
sleep 4
t0=$(now_ms)
codes=$( (burst 50 "$TA" & burst 50 "$TB" & burst 50 "$TC" & wait))
secs=$(( ($(now_ms) - t0 + 999) / 1000 ))
ok200=$(grep -c '^200$' <<<"$codes")
# without the address's budget the three tokens would pass 3 x 40; with it, at most 80 plus
# the refill (fewer when a slow machine spreads the burst: the tokens' own buckets refill too)
expect_eq "three tokens from one address share its budget (80, plus 40/s for ${secs}s): got $ok200" 1 \
    "$([ "$ok200" -ge 40 ] && [ "$ok200" -le $((80 + 40 * secs)) ] && [ "$ok200" -lt 120 ] && echo 1 || echo 0)"

# badburst N: N requests, each with another invalid token (as a brute force would send).
badburst() {
    local i args=()
    for i in $(seq 1 "$1"); do
        args+=(-o /dev/null -H "Authorization: Bearer forged.token.$i" "$API_URL/v1/vaults/$VID/items")
        args+=(--next -s -w '%{http_code}\n')
    done
    curl -s -w '%{http_code}\n' "${args[@]}" /dev/null 2>/dev/null | head -n "$1"
}
# failed authentications: 50, then 429 before the token is checked
sleep 4
codes=$(badburst 60)
expect_eq "50 failed authentications get 401" 50 "$(grep -c '^401$' <<<"$codes")"
expect_eq "... then the address gets 429" 10 "$(grep -c '^429$' <<<"$codes")"
expect_eq "... even with a valid token, while the failures have not refilled" 429 \
    "$(status_of "$(TOKEN=$TA ccurl "$API_URL/v1/vaults/$VID/items")")"
sleep 0.5
expect_eq "a valid token is served again once one failure has refilled (5/s)" 200 \
    "$(status_of "$(TOKEN=$TA ccurl "$API_URL/v1/vaults/$VID/items")")"
expect_match "the api logs the refusals without the token" 'api: rate limited \(client address\)' \
    "$(cat "$API_LOG")"
expect_eq "no token in the api's log" 0 "$(grep -c -F -e "$TA" -e "$TB" "$API_LOG")"
expect_eq "the probes are never limited" 200 "$(status_of "$(ccurl "$API_URL/heartbeat")")"

# 0 turns the limits off
connect_stop API
connect_start api API "$T/creds.json" "$T/xdg" SESAME_RATE_LIMIT_RPS=0 ||
    { not_ok "api restarts"; finish; exit 1; }
wait_within "the api serves again" 30 served
codes=$(burst 200 "$TA")
expect_eq "SESAME_RATE_LIMIT_RPS=0: 200 requests in a burst all get 200" 200 "$(grep -c '^200$' <<<"$codes")"
codes=$(badburst 80)
expect_eq "... and 80 failed authentications all get 401" 80 "$(grep -c '^401$' <<<"$codes")"
codes=$(burst 100 "the.same.forged")
expect_eq "... and one bad token 100 times: 100 times 401" 100 "$(grep -c '^401$' <<<"$codes")"

# The hub: SESAME_HUB_RATE_LIMIT_RPS per client address (burst twice that) over every
# request, routed or not; failed authentications 5/s with a burst of 50, then 429 first.
MAIN_HUB_LOG=$HUB_LOG
SESAME_HUB_RATE_LIMIT_RPS=10 hub_start "$T/hub2" || { not_ok "a limited hub starts"; finish; exit 1; }
HUB2="http://127.0.0.1:$HUB_PORT"
hubburst() { # hubburst N PATH [AUTH]: N requests on one connection; prints the codes
    local i args=()
    for i in $(seq 1 "$1"); do args+=(-o /dev/null "$HUB2$2"); done
    curl -s -w '%{http_code}\n' ${3:+-H "Authorization: $3"} "${args[@]}"
}
sleep 2.1 # the start-up probe's request has refilled
codes=$(hubburst 30 /no/such/path)
expect_eq "hub at 10/s: a burst of 30 to an unknown path: 404 for the burst (20)" 20 \
    "$(grep -c '^404$' <<<"$codes")"
expect_eq "... then 429" 1 "$(n=$(grep -c '^429$' <<<"$codes"); [ "$n" -ge 8 ] && [ "$n" -le 10 ] && echo 1 || echo 0)"
ans=$(curl -s -i --max-time 5 "$HUB2/v1/account")
expect_match "a limited hub request gets 429" '^HTTP/1.1 429' "$ans"
expect_match "... with Retry-After" $'\nRetry-After: [1-9][0-9]*\r' "$ans"
expect_eq "... and a JSON error" '{"message":"Too many requests","status":429}' \
    "$(printf '%s' "$ans" | sed -n '/^\r$/,$p' | tail -n 1 | jq -cS .)"
hub_stop_all() { kill "$HUB_PID" 2>/dev/null; wait "$HUB_PID" 2>/dev/null; }
hub_stop_all
SESAME_HUB_RATE_LIMIT_RPS=1000 hub_start "$T/hub3" || { not_ok "a third hub starts"; finish; exit 1; }
HUB2="http://127.0.0.1:$HUB_PORT"
sleep 1 # hub_start's probe (an unauthenticated request) has refilled
codes=$(hubburst 60 /v1/account 'Sesame-Admin forged')
expect_eq "hub: 50 failed admin authentications get 401" 50 "$(grep -c '^401$' <<<"$codes")"
expect_eq "... then the address gets 429" 10 "$(grep -c '^429$' <<<"$codes")"
expect_match "the hub logs the refusals" 'hub: rate limited \(client address\)' "$(cat "$HUB_LOG")"
sleep 0.5
expect_eq "served again once a failure has refilled" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Sesame-Admin forged' "$HUB2/v1/account")"
expect_eq "the main hub (default 5000/s) never limited this test's traffic" 0 \
    "$(grep -c 'rate limited' "$MAIN_HUB_LOG")"
expect_eq "SESAME_HUB_RATE_LIMIT_RPS=abc: the hub refuses to start with one line" \
    "sesame: hub: SESAME_HUB_RATE_LIMIT_RPS: expected an integer from 0 to 1000000" \
    "$(SESAME_HUB_RATE_LIMIT_RPS=abc "$SESAME" hub --addr 127.0.0.1:0 --data "$T/hub4" 2>&1 | sed 's/ (usage.*//')"
hub_stop_all
SESAME_HUB_RATE_LIMIT_RPS=0 hub_start "$T/hub5" || { not_ok "an unlimited hub starts"; finish; exit 1; }
HUB2="http://127.0.0.1:$HUB_PORT"
codes=$(hubburst 80 /v1/account 'Sesame-Admin forged')
expect_eq "SESAME_HUB_RATE_LIMIT_RPS=0: 80 failed authentications all get 401" 80 "$(grep -c '^401$' <<<"$codes")"

expect_clean_logs "no sanitizer report" "$API_LOG" "$SYNC_LOG" "$MAIN_HUB_LOG" "$HUB_LOG"
finish
