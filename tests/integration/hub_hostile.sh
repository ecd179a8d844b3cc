#!/usr/bin/env bash
# hub_hostile.sh - hostile input against every hub endpoint family: malformed JSON, wrong
# types, oversized bodies, headers and URLs, bad ids, unknown routes, wrong methods, missing
# or garbage authentication, forged sync signatures. Each gets the right 4xx with a JSON
# {status, message} that does not echo the input; afterwards the hub still answers.
set -euo pipefail
. "$(dirname "$0")/lib.bash"

hub_test_init
hub_start "$T/hub" || { not_ok "the hub starts"; finish; }
ok "the hub starts"
hub_account_init || { not_ok "account init"; finish; }
ok "account init"

# EVIL goes into bodies, headers, queries and bearers; PEVIL into paths (which the hub logs).
EVIL="EVIL$(rand_marker x)"
PEVIL="PEVIL$(rand_marker x)"

# A vault the CLI can use (for a server and token), one made directly with random blobs
# (never granted), and an item in it.
cli vault create "hostile-$EVIL" --format json
VA=$(printf '%s' "$OUT" | jq -r '.id // empty' 2>/dev/null || true)
expect_match "vault create gives an id" '^[a-z2-7]{26}$' "$VA"
VB=$(rand_id)
a=$(printf '{"id":"%s","type":"USER_CREATED","attrs":"%s","keyAdmin":"%s"}' "$VB" \
    "$(b64rand 60)" "$(b64rand 80)" | hreq --body - POST /v1/vaults)
expect_status "POST /v1/vaults with opaque blobs" 201 "$a"
IB=$(rand_id)
a=$(printf '{"category":"LOGIN","overview":"%s","details":"%s"}' "$(b64rand 50)" \
    "$(b64rand 90)" | hreq --body - PUT "/v1/vaults/$VB/items/$IB")
expect_status "PUT an item with opaque blobs" 200 "$a"

cli connect server create "hostile-srv" --vault "$VA" --out "$T/cred.json" --format json
SRV=$(printf '%s' "$OUT" | jq -r '.id // empty' 2>/dev/null || true)
expect_match "server create gives an id" '^[a-z2-7]{26}$' "$SRV"
cli connect token create "hostile-tok" --server "$SRV" --vault "$VA:rw"
TOKEN=$OUT
expect_match "token create prints a JWT" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$TOKEN"
SESSION=$(hsync "$T/cred.json" "$TOKEN" --print-session GET /v1/sync/state | head -n 1 || true)
expect_match "a sync session opens" '^[A-Za-z0-9_-]{43}$' "$SESSION"
ACCOUNT=$(jq -r ".account // empty" "$SESAME_ACCOUNT_KIT" 2>/dev/null || true)

# ---- malformed JSON and wrong types, signed (the signature is right; the body is not) --
# Each line: METHOD TARGET BODY (the body mentions $EVIL so an echo would show).
bad_bodies() {
    cat <<EOF
POST /v1/vaults {"id": "$EVIL
POST /v1/vaults {"id": 5, "type": [], "attrs": 1, "keyAdmin": {}, "x": "$EVIL"}
POST /v1/vaults {"id": "$EVIL", "type": "USER_CREATED", "attrs": "AAAA", "keyAdmin": "AAAA"}
POST /v1/vaults ["$EVIL"]
PATCH /v1/vaults/$VB {"attrs": null, "x": "$EVIL"}
PATCH /v1/vaults/$VB {"attrs": "$EVIL!!"}
PUT /v1/vaults/$VB/items/$IB {"category": 7, "overview": "$EVIL", "details": []}
PUT /v1/vaults/$VB/items/$IB {"category": "LOGIN", "overview": "$EVIL!!", "details": "AAAA"}
PUT /v1/vaults/$VB/items/$IB {"category": "LOGIN", "overview": "AAAA", "details": "AAAA", "baseVersion": "$EVIL"}
PUT /v1/vaults/$VB/items/$IB {"category": "LOGIN", "overview": "AAAA", "details": "AAAA", "baseVersion": -1}
PUT /v1/vaults/$VB/items/$IB $EVIL
POST /v1/servers {"id": "$EVIL"}
POST /v1/servers {"id": "$(rand_id)", "name": 3, "signJwk": "$EVIL", "wrapJwk": {}, "unlockAdmin": 1}
PUT /v1/servers/$SRV/grants/$VB {"keyWrapped": 12, "x": "$EVIL"}
PUT /v1/servers/$SRV/grants/$VB {"keyWrapped": "$EVIL!!"}
POST /v1/tokens {"jti": "$EVIL", "name": "t", "server": "$SRV", "vaults": [], "expiresAt": 0, "sha256": "00"}
POST /v1/tokens {"jti": "$(rand_id)", "name": "t", "server": "$SRV", "vaults": [{"u": "$EVIL", "a": 1}], "expiresAt": 0, "sha256": "$(printf '%064d' 0)"}
POST /v1/tokens {"jti": "$(rand_id)", "name": "t", "server": "$SRV", "vaults": [{"u": "$VA", "a": 99}], "expiresAt": "$EVIL", "sha256": "$(printf '%064d' 0)"}
POST /v1/signing-keys {"kid": "", "publicJwk": "$EVIL"}
POST /v1/signing-keys {"kid": "$(rand_id)", "publicJwk": {"kty": "EC", "crv": "P-256", "x": "$EVIL", "y": "AA"}}
POST /v1/accounts ["$EVIL"]
EOF
}
while IFS= read -r line; do
    m=${line%% *}
    rest=${line#* }
    target=${rest%% *}
    body=${rest#* }
    a=$(printf '%s' "$body" | hreq --body - "$m" "$target")
    expect_error "$m $target bad body [${body:0:40}...] -> 400" 400 "$a" "$EVIL"
done < <(bad_bodies)

# JSON nested 33 deep (the limit is 32) -> 400
deep=$(printf '%.0s[' $(seq 1 33))$(printf '%.0s]' $(seq 1 33))
a=$(printf '%s' "$deep" | hreq --body - POST /v1/vaults)
expect_error "JSON nested 33 deep -> 400" 400 "$a"

# ---- bad query values -------------------------------------------------------------------
for target in "/v1/changes?since=$EVIL" "/v1/changes?since=-1" "/v1/changes?since=1&limit=$EVIL" \
    "/v1/changes?since=1&limit=0" "/v1/changes?since=1&limit=99999999999999999999" \
    "/v1/activity?limit=$EVIL" "/v1/activity?offset=-5" "/v1/tokens?server=$EVIL"; do
    a=$(hreq GET "$target")
    expect_error "GET $target -> 400" 400 "$a" "$EVIL"
done
FID=$(rand_id)
printf 'x%.0s' $(seq 1 64) >"$T/blob"
for target in "/v1/vaults/$VB/files/$FID?size=$EVIL" "/v1/vaults/$VB/files/$FID" \
    "/v1/vaults/$VB/files/$FID?size=-1"; do
    a=$(hreq --body "$T/blob" --content-type application/octet-stream PUT "$target")
    expect_error "PUT $target -> 400" 400 "$a" "$EVIL"
done
a=$(hreq DELETE "/v1/vaults/$VB/items/$IB?baseVersion=$EVIL")
expect_error "DELETE item ?baseVersion=garbage -> 400" 400 "$a" "$EVIL"

# ---- bad ids in paths (400) and unknown well-formed ids (404) -------------------------
for target in "/v1/vaults/$PEVIL" "/v1/vaults/$VB/items/$PEVIL" "/v1/vaults/${PEVIL}x/items" \
    "/v1/servers/$PEVIL" "/v1/vaults/%00%01" "/v1/vaults/$(rand_id)zz" \
    "/v1/vaults/$VB/files/$PEVIL"; do
    a=$(hreq GET "$target")
    expect_error "GET $target (bad id) -> 400" 400 "$a" "$PEVIL"
done
a=$(hreq DELETE "/v1/tokens/$PEVIL")
expect_error "DELETE /v1/tokens/bad -> 400" 400 "$a" "$PEVIL"
a=$(hreq DELETE "/v1/signing-keys/$PEVIL%0A")
expect_error "DELETE /v1/signing-keys/bad -> 400" 400 "$a" "$PEVIL"
for target in "/v1/vaults/$(rand_id)" "/v1/vaults/$VB/items/$(rand_id)" "/v1/servers/$(rand_id)" \
    "/v1/vaults/$VB/files/$(rand_id)"; do
    a=$(hreq GET "$target")
    expect_error "GET $target (unknown id) -> 404" 404 "$a"
done

# ---- unknown routes and wrong methods ---------------------------------------------------
for target in "/" "/v1" "/v1/$PEVIL" "/v2/vaults" "/v1/vaults/$VB/$PEVIL" "/v1/sync/$PEVIL"; do
    a=$(hreq GET "$target")
    expect_error "GET $target -> 404" 404 "$a" "$PEVIL"
done
for mt in "DELETE /v1/account" "PUT /v1/vaults" "DELETE /v1/changes?since=0" \
    "POST /v1/vaults/$VB/items/$IB" "PATCH /v1/servers" "PUT /v1/tokens" "POST /v1/activity" \
    "GET /v1/sync/challenge" "GET /v1/sync/session" "PUT /v1/sync/state" \
    "POST /v1/sync/changes?since=0" "GET /v1/sync/activity"; do
    a=$(hcurl ${mt% *} "${mt#* }")
    expect_error "$mt -> 405" 405 "$a"
done

# ---- admin authentication ---------------------------------------------------------------
for target in /v1/account /v1/vaults "/v1/vaults/$VB" "/v1/vaults/$VB/items" /v1/servers \
    /v1/tokens "/v1/changes?since=0" /v1/activity; do
    a=$(hcurl GET "$target")
    expect_error "GET $target without Authorization -> 401" 401 "$a"
done
a=$(hcurl POST /v1/vaults -H 'Content-Type: application/json' --data '{}')
expect_error "POST /v1/vaults without Authorization -> 401" 401 "$a"
a=$(hcurl PUT "/v1/vaults/$VB/files/$FID?size=64" -H 'Content-Type: application/octet-stream' \
    --data-binary @"$T/blob")
expect_error "PUT a file without Authorization -> 401" 401 "$a"
for auth in "Sesame-Admin $EVIL" "Bearer $EVIL" "Basic $(printf 'a:%s' "$EVIL" | base64 -w0)" \
    "Sesame-Admin account=$(rand_id_upper), ts=$(date +%s), nonce=$(b64rand 16), sig=$(b64rand 64)" \
    "Sesame-Admin account=${ACCOUNT:-$(rand_id_upper)}, ts=$(date +%s), nonce=$(b64rand 16), sig=$(b64rand 64)" \
    "Sesame-Admin account=$EVIL, ts=1, nonce=$EVIL, sig=$EVIL, sig=$EVIL" \
    "$(printf 'Sesame-Admin %0600d' 0)"; do
    a=$(hcurl GET /v1/vaults -H "Authorization: $auth")
    expect_error "garbage Authorization [${auth:0:30}...] -> 401" 401 "$a" "$EVIL"
done
a=$(hreq --bad-sig GET /v1/vaults)
expect_error "a flipped signature bit -> 401" 401 "$a"
a=$(hreq --ts-offset 400 GET /v1/vaults)
expect_error "ts 400 s in the future -> 401" 401 "$a"
a=$(hreq --ts-offset -400 GET /v1/vaults)
expect_error "ts 400 s in the past -> 401" 401 "$a"
a=$(hreq --replay 2 GET /v1/vaults)
expect_eq "a replayed request: the first passes, the replays are 401" "200 401 401" \
    "$(status_of "$a")"
expect_error "the replay's answer is a JSON 401" 401 "$(printf '401\n'; body_of "$a")"
a=$(printf '{"attrs":"%s"}' "$(b64rand 40)" | hreq --tamper-body --body - PATCH "/v1/vaults/$VB")
expect_error "a body other than the signed one -> 401" 401 "$a"
# The signature covers the target: the same header on another target is refused.
auth=$("$HUBREQ" --kit "$SESAME_ACCOUNT_KIT" --hub "$HUB_URL" --print-auth GET /v1/vaults)
a=$(hcurl GET /v1/servers -H "Authorization: $auth")
expect_error "a signature for another target -> 401" 401 "$a"
a=$(hcurl GET /v1/vaults?x=1 -H "Authorization: $auth")
expect_error "a signature for another query -> 401" 401 "$a"
a=$(hcurl GET /v1/vaults -H "Authorization: $auth")
expect_status "the printed signature is good once" 200 "$a"

# ---- sync authentication ---------------------------------------------------------------
for target in /v1/sync/state "/v1/sync/changes?since=0" "/v1/sync/vaults/$VA" \
    "/v1/sync/vaults/$VA/items"; do
    a=$(hcurl GET "$target")
    expect_error "GET $target without a session -> 401" 401 "$a"
    for bearer in "$EVIL" "$(b64rand 32)" "$(b64rand 32)=" "$SESSION$SESSION" \
        "$(printf '%09000d' 0)"; do
        a=$(hcurl GET "$target" -H "Authorization: Bearer $bearer")
        expect_error "GET $target with a garbage bearer [${bearer:0:12}...] -> 401" 401 "$a" "$EVIL"
    done
done
a=$(hcurl POST /v1/sync/activity -H "Authorization: Bearer $(b64rand 32)" \
    -H 'Content-Type: application/json' --data '{"entries": []}')
expect_error "POST /v1/sync/activity with a garbage bearer -> 401" 401 "$a"
a=$(hcurl GET "/v1/vaults" -H "Authorization: Bearer $SESSION")
expect_error "a sync session on an admin endpoint -> 401" 401 "$a"

# challenge: malformed and wrong types -> 400; an unknown server still gets one (no oracle)
for body in "{\"account\": \"$EVIL" "[\"$EVIL\"]" "{\"account\": 1, \"server\": [\"$EVIL\"]}" \
    "{\"account\": \"$EVIL\", \"server\": \"$EVIL\"}"; do
    a=$(hcurl POST /v1/sync/challenge -H 'Content-Type: application/json' --data "$body")
    expect_error "challenge with [${body:0:30}...] -> 400" 400 "$a" "$EVIL"
done
a=$(hcurl POST /v1/sync/challenge -H 'Content-Type: application/json' \
    --data "{\"account\": \"${ACCOUNT:-$(rand_id_upper)}\", \"server\": \"$(rand_id)\"}")
expect_status "a challenge for an unknown server is still 200" 200 "$a"
a=$(hcurl POST /v1/sync/challenge -H 'Content-Type: application/json' \
    --data "{\"account\": \"${ACCOUNT:-$(rand_id_upper)}\", \"server\": \"$SRV\"}")
expect_status "a challenge for the server" 200 "$a"
CH=$(body_of "$a" | jq -r '.challenge // empty' 2>/dev/null || true)
expect_match "the challenge is base64url" '^[A-Za-z0-9_-]{75}$' "$CH"
for sig in "$(b64rand 64)" "$EVIL" "" "$(b64rand 63)"; do
    a=$(hcurl POST /v1/sync/session -H 'Content-Type: application/json' \
        --data "{\"account\": \"${ACCOUNT:-}\", \"server\": \"$SRV\", \"challenge\": \"$CH\", \"signature\": \"$sig\"}")
    expect_error "session with a forged signature [${sig:0:10}...] -> 401" 401 "$a" "$EVIL"
done
a=$(hcurl POST /v1/sync/session -H 'Content-Type: application/json' \
    --data "{\"account\": \"${ACCOUNT:-}\", \"server\": \"$SRV\", \"challenge\": \"$(b64rand 56)\", \"signature\": \"$(b64rand 64)\"}")
expect_error "session with a forged challenge -> 401" 401 "$a"
a=$(hcurl POST /v1/sync/session -H 'Content-Type: application/json' \
    --data "{\"account\": \"${ACCOUNT:-}\", \"server\": \"$(rand_id)\", \"challenge\": \"$CH\", \"signature\": \"$(b64rand 64)\"}")
expect_error "session with another server's challenge -> 401" 401 "$a"
a=$(hcurl POST /v1/sync/session -H 'Content-Type: application/json' --data "{\"server\": 1, \"x\": \"$EVIL\"}")
expect_error "session with wrong types -> 400" 400 "$a" "$EVIL"

# ---- a good session, hostile bodies ----------------------------------------------------
SB=(-H "Authorization: Bearer $SESSION" -H 'Content-Type: application/json')
a=$(hcurl PUT "/v1/sync/vaults/$VA/items/$(rand_id)" "${SB[@]}" --data "{\"category\": \"$EVIL")
expect_error "sync PUT with malformed JSON -> 400" 400 "$a" "$EVIL"
a=$(hcurl PUT "/v1/sync/vaults/$VA/items/$(rand_id)" "${SB[@]}" --data "{\"category\": [\"$EVIL\"], \"overview\": 1}")
expect_error "sync PUT with wrong types -> 400" 400 "$a" "$EVIL"
a=$(hcurl GET "/v1/sync/vaults/$VB/items" -H "Authorization: Bearer $SESSION")
expect_error "sync GET of a vault not granted -> 403" 403 "$a"
a=$(hcurl GET "/v1/sync/vaults/$PEVIL/items" -H "Authorization: Bearer $SESSION")
expect_error "sync GET with a bad vault id -> 400" 400 "$a" "$PEVIL"
a=$(hcurl GET "/v1/sync/changes?since=$EVIL" -H "Authorization: Bearer $SESSION")
expect_error "sync changes ?since=garbage -> 400" 400 "$a" "$EVIL"
a=$(hcurl GET "/v1/sync/changes?since=0&wait=$EVIL" -H "Authorization: Bearer $SESSION")
expect_error "sync changes ?wait=garbage -> 400" 400 "$a" "$EVIL"
for body in '{"entries": []}' "{\"entries\": \"$EVIL\"}" "[\"$EVIL\"]" "{\"entries\": [1, \"$EVIL\"]}"; do
    a=$(hcurl POST /v1/sync/activity "${SB[@]}" --data "$body")
    expect_error "sync activity [${body:0:24}...] -> 400" 400 "$a" "$EVIL"
done
{
    printf '{"entries": ['
    for i in $(seq 1 1001); do
        if [ "$i" -gt 1 ]; then printf ','; fi
        printf '{"requestId":"%08d-0000-4000-8000-000000000000","timestamp":"2024-01-01T00:00:00Z","action":"READ","result":"SUCCESS","actor":{"id":"a","account":"b","jti":"c","userAgent":"d","requestIp":"127.0.0.1"},"resource":{"type":"ITEM","vault":{"id":"%s"},"item":{"id":"%s"},"itemVersion":1}}' \
            "$i" "$VA" "$IB"
    done
    printf ']}'
} >"$T/activity1001.json"
a=$(hcurl POST /v1/sync/activity "${SB[@]}" --data-binary @"$T/activity1001.json")
expect_error "sync activity with 1001 entries -> 400" 400 "$a"

# ---- size limits (enforced before authentication) --------------------------------------
{
    printf '{"id": "%s", "type": "USER_CREATED", "keyAdmin": "AAAA", "attrs": "' "$(rand_id)"
    head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' 'A'
    printf '"}'
} >"$T/big.json"
a=$(hcurl POST /v1/vaults -H 'Content-Type: application/json' --data-binary @"$T/big.json")
expect_error "a 5 MiB JSON body -> 413" 413 "$a"
a=$(hreq --body "$T/big.json" POST /v1/vaults)
expect_error "a 5 MiB JSON body, signed -> 413" 413 "$a"
a=$(hcurl PUT "/v1/vaults/$VB/items/$IB" -H 'Content-Type: application/json' \
    -H 'Transfer-Encoding: chunked' --data-binary @"$T/big.json")
expect_error "a 5 MiB chunked JSON body -> 413" 413 "$a"
a=$(hcurl PUT "/v1/sync/vaults/$VA/items/$(rand_id)" "${SB[@]}" --data-binary @"$T/big.json")
expect_error "a 5 MiB JSON body to sync -> 413" 413 "$a"
head -c $((16 * 1024 * 1024 + 1)) /dev/zero >"$T/big.bin"
a=$(hcurl PUT "/v1/vaults/$VB/files/$(rand_id)?size=16777189" \
    -H 'Content-Type: application/octet-stream' --data-binary @"$T/big.bin")
expect_error "a 16 MiB + 1 file body -> 413" 413 "$a"
a=$(hcurl PUT "/v1/sync/vaults/$VA/files/$(rand_id)?size=16777189" \
    -H "Authorization: Bearer $SESSION" -H 'Content-Type: application/octet-stream' \
    --data-binary @"$T/big.bin")
expect_error "a 16 MiB + 1 file body to sync -> 413" 413 "$a"
rm -f "$T/big.bin" "$T/big.json"
a=$(hcurl GET /v1/vaults -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' 'h')")
expect_error "20 KB of headers -> 431" 431 "$a"
a=$(hcurl GET "/v1/vaults?x=$(head -c 5000 /dev/zero | tr '\0' 'q')")
expect_error "a 5 KB URL -> 414" 414 "$a"

# ---- the hub survived -------------------------------------------------------------------
if hub_alive; then ok "the hub process is alive"; else not_ok "the hub process is alive"; fi
a=$(hreq GET /v1/account)
expect_status "a good admin request still answers 200" 200 "$a"
a=$(hreq GET /v1/vaults)
expect_eq "the vaults are still there" 2 "$(body_of "$a" | jq 'length' 2>/dev/null || echo x)"
a=$(hsync "$T/cred.json" "$TOKEN" GET /v1/sync/state)
expect_status "a good sync request still answers 200" 200 "$a"
rc=0
hub_stop TERM || rc=$?
expect_eq "the hub stops cleanly on SIGTERM" 0 "$rc"
expect_clean_log "no sanitizer report in the hub log"
expect_eq "the hub log never holds a body, header, query or bearer value" 0 \
    "$(grep -c -a -F -- "$EVIL" "$HUB_LOG" || true)"
finish
