#!/usr/bin/env bash
# connect_write.sh - the Connect write API end to end (issue 6): a real hub and TWO Connect
# servers of one account (A and B: each its own credentials file, volume, `sesame sync` and
# `sesame api`), the data made with the admin CLI. Writes go to A; B must see them through
# the hub's change feed. Covers POST/PUT/PATCH/DELETE of items with their exact status codes
# and bodies (connect-api.md §4.8-§4.12, §7, §13), read-only and write-only tokens, the
# activity of writes (api and hub), 1000 read-after-write pairs, versions and parallel
# writers, the hub down or hung during a write (nothing half-written), and SIGKILL of sync
# or api in the middle of a burst of writes (every acknowledged write exactly once on the
# hub, A and B).
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"

hub_test_init
if ! command -v node >/dev/null 2>&1; then
    not_ok "node is installed (the read-after-write and burst clients are node scripts)"
    finish
    exit 1
fi
# a fixed port (so that it can come back at the URL the credentials name); free_port can race
# with other tests, so try a few
for _ in 1 2 3 4 5; do
    HPORT=$(free_port)
    if hub_start "$T/hub" --addr "127.0.0.1:$HPORT" >"$T/hub-start.txt"; then break; fi
    HPORT=
done
[ -n "$HPORT" ] || { cat "$T/hub-start.txt"; not_ok "the hub starts"; finish; }
ok "the hub starts on port $HPORT"
hub_account_init || { not_ok "account init"; finish; }
ACCOUNT=$(jq -r .account "$SESAME_ACCOUNT_KIT")
idre='^[a-z2-7]{26}$'
timere='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
WRITE_MSG='Unauthorized Request, token does not have write access to the Vault'
SCOPE_MSG='Authorization: token does not have access to vault'
READ_MSG='Authorization: token does not have read access to vault'
STALE_MSG="the item's version is not the current one: read the item again and retry"

jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }
jqs() { printf '%s' "$1" | jq -cS "$2" 2>/dev/null || true; }
yes_if() { if "$@"; then echo 1; else echo 0; fi; }
between() { [ "$1" -ge "$2" ] && [ "$1" -lt "$3" ]; }
matches() { [[ $1 =~ $2 ]]; }
upper() { printf '%s' "$1" | tr '[:lower:]' '[:upper:]'; }
hdr() {
    grep -i "^$1:" "$T/h" 2>/dev/null | head -n 1 | cut -d: -f2- | sed 's/^ *//; s/\r$//' || true
}
# on URL TOKEN METHOD PATH [BODY [CURL ARGS...]]: a request with TOKEN as the bearer (none
# when empty) and BODY as JSON (none when empty); status line then body, headers in $T/h.
on() {
    local url=$1 tok=$2 m=$3 path=$4 body=${5-}
    shift 4
    [ $# -gt 0 ] && shift
    if [ -n "$body" ]; then
        TOKEN=$tok ccurl "$url$path" -X "$m" -D "$T/h" -H 'Content-Type: application/json' \
            --data-binary "$body" "$@"
    else
        TOKEN=$tok ccurl "$url$path" -X "$m" -D "$T/h" "$@"
    fi
}
A() { on "$APIA_URL" "$@"; }
B() { on "$APIB_URL" "$@"; }
# novalues JSON: the number of objects carrying a value, totp or entropy member.
novalues() { jqr "$1" '[.. | objects | select(has("value") or has("totp") or has("entropy"))] | length'; }
# fval JSON ID: the value of the field with that id.
fval() { jqr "$1" ".fields[] | select(.id == \"$2\") | .value"; }
# item_on URL TOKEN VAULT ID: the item as that api serves it (body only; "" unless 200).
item_on() {
    local r
    r=$(on "$1" "$2" GET "/v1/vaults/$3/items/$4")
    [ "$(status_of "$r")" = 200 ] && body_of "$r"
    return 0
}
# b_has ID VERSION: B serves the item of VW at that version.
b_has() { [ "$(jqr "$(item_on "$APIB_URL" "$TOKB" "$VW" "$1")" .version)" = "$2" ]; }
b_gone() { [ "$(status_of "$(B "$TOKB" GET "/v1/vaults/$VW/items/$1")")" = 404 ]; }
# cv URL TOKEN VAULT: the vault's contentVersion on that api.
cv() { jqr "$(body_of "$(on "$1" "$2" GET "/v1/vaults/$3")")" .contentVersion; }
# cv_step DESCRIPTION: records whether A's contentVersion of VW rose since the last call.
CV_LAST=0
CV_FAILS=""
CV_STEPS=0
cv_step() {
    local now
    now=$(cv "$APIA_URL" "$TOK" "$VW")
    CV_STEPS=$((CV_STEPS + 1))
    if ! [[ "$now" =~ ^[0-9]+$ ]] || [ "$now" -le "$CV_LAST" ]; then
        CV_FAILS="$CV_FAILS [$1: $CV_LAST -> $now]"
    fi
    [[ "$now" =~ ^[0-9]+$ ]] && CV_LAST=$now
    return 0
}
# titles_hub VAULT / titles_api URL TOKEN VAULT: the item titles, one per line, sorted.
titles_hub() {
    cli item list --vault "$1" --format json
    [ "$RC" -eq 0 ] && jqr "$OUT" '.[].title' | sort
    return 0
}
titles_api() { jqr "$(body_of "$(on "$1" "$2" GET "/v1/vaults/$3/items")")" '.[].title' | sort; }
mk_token() { # NAME SERVER VAULT:ACCESS...: sets TOKV (the token) and JTIV
    local name=$1 server=$2 v args=()
    shift 2
    for v in "$@"; do args+=(--vault "$v"); done
    cli connect token create "$name" --server "$server" "${args[@]}" --format json
    TOKV=$(jqr "$OUT" .token)
    JTIV=$(jqr "$OUT" .jti)
    [ "$RC" -eq 0 ] || echo "# token $name: exit $RC: $ERR"
}

# ---- the account: four vaults, two servers, tokens --------------------------------------------
cli vault create "write $(rand_marker w)" --format json
VW=$(jqr "$OUT" .id)
cli vault create "crash $(rand_marker c)" --format json
VC=$(jqr "$OUT" .id)
cli vault create "other $(rand_marker o)" --format json
VO=$(jqr "$OUT" .id)
cli vault create "gone $(rand_marker g)" --format json
VX=$(jqr "$OUT" .id)
expect_eq "four vaults" "1 1 1 1" "$(yes_if matches "$VW" "$idre") $(yes_if matches "$VC" "$idre") \
$(yes_if matches "$VO" "$idre") $(yes_if matches "$VX" "$idre")"
cli item create --vault "$VW" --category PASSWORD --title "seed $(rand_marker s)" --format json
ISEED=$(jqr "$OUT" .id)
cli connect server create srvA --vault "$VW" --vault "$VC" --vault "$VO" --vault "$VX" \
    --out "$T/A.json" --format json
SA=$(jqr "$OUT" .id)
SAU=$(upper "$SA")
cli connect server create srvB --vault "$VW" --vault "$VC" --out "$T/B.json" --format json
SB=$(jqr "$OUT" .id)
expect_eq "servers A and B, each with its credentials file" "1 1 1 1" \
    "$(yes_if matches "$SA" "$idre") $(yes_if matches "$SB" "$idre") $(yes_if [ -s "$T/A.json" ]) \
$(yes_if [ -s "$T/B.json" ])"
mk_token rw srvA "$VW:rw" "$VC:rw" "$VX:rw"
TOK=$TOKV JTI=$JTIV
mk_token ro srvA "$VW:r"
TOK_R=$TOKV JTI_R=$JTIV
mk_token wo srvA "$VW:w"
TOK_W=$TOKV JTI_W=$JTIV
mk_token b srvB "$VW:r" "$VC:r"
TOKB=$TOKV
expect_eq "four tokens" 4 "$(for t in "$TOK" "$TOK_R" "$TOK_W" "$TOKB"; do [ -n "$t" ] && echo; done | wc -l)"
# VX stays in the rw token's vts but is no longer granted to A: a vault in scope A lacks
cli connect vault revoke srvA "$VX"
expect_eq "vault gone: revoked from A (still in the token)" 0 "$RC"

# ---- both servers: sync and api each, OP_SYNC_TIMEOUT=5s ----------------------------------
XA="$T/xa"
XB="$T/xb"
connect_start sync SYNCA "$T/A.json" "$XA" || { not_ok "sync A starts"; finish; }
connect_start api APIA "$T/A.json" "$XA" OP_SYNC_TIMEOUT=5s || { not_ok "api A starts"; finish; }
connect_start sync SYNCB "$T/B.json" "$XB" || { not_ok "sync B starts"; finish; }
connect_start api APIB "$T/B.json" "$XB" OP_SYNC_TIMEOUT=5s || { not_ok "api B starts"; finish; }
ok "sync and api of A and of B start"
curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer $TOK" "$APIA_URL/health" || true
curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer $TOKB" "$APIB_URL/health" || true
if ! wait_for "A: unlocked and synced" 20 connect_synced "$APIA_URL" ||
    ! wait_for "B: unlocked and synced" 20 connect_synced "$APIB_URL"; then
    tail -5 "$SYNCA_LOG" "$APIA_LOG" "$SYNCB_LOG" "$APIB_LOG" | sed 's/^/#   /'
    finish
fi
CV_LAST=$(cv "$APIA_URL" "$TOK" "$VW")
NVW=$(jqr "$(body_of "$(A "$TOK" GET "/v1/vaults/$VW")")" .items)
expect_eq "A serves the write vault with its one seed item" 1 "$NVW"

# ---- POST ---------------------------------------------------------------------------------------
T_C="Create $(rand_marker c)"
OTP_SECRET=$(head -c 20 /dev/urandom | base32 | tr -d '=')
OTP_URI="otpauth://totp/Sesame:admin?secret=$OTP_SECRET&issuer=Sesame"
# what the Go SDK sends for a new item: empty id, zero times, version 0, empty editor
POST_BODY=$(jq -cn --arg v "$VW" --arg t "$T_C" --arg otp "$OTP_URI" '{
  id: "", vault: {id: $v}, title: $t, category: "LOGIN", tags: ["prod"], version: 0,
  favorite: false, trashed: false, lastEditedBy: "",
  createdAt: "0001-01-01T00:00:00Z", updatedAt: "0001-01-01T00:00:00Z",
  sections: [{id: "", label: "Extra"}, {id: "sec1", label: "Named"}],
  fields: [
    {id: "username", purpose: "USERNAME", type: "STRING", label: "username", value: "admin"},
    {id: "password", purpose: "PASSWORD", type: "CONCEALED", label: "password", generate: true,
     recipe: {length: 40, characterSets: ["LETTERS", "DIGITS"], excludeCharacters: "0O1l"}},
    {id: "", type: "STRING", label: "port", value: "5432", section: {id: "sec1"}},
    {type: "OTP", label: "one-time password", value: $otp}],
  urls: [{primary: true, href: "https://db.example.com", label: "website"}]}' 2>/dev/null || true)
UA_CREATE="cw-create-$(rand_marker u)"
a=$(A "$TOK" POST "/v1/vaults/$VW/items" "$POST_BODY" -A "$UA_CREATE")
P=$(body_of "$a")
expect_status "POST …/items: 200 (not 201)" 200 "$a"
expect_match "... JSON" '^application/json' "$(hdr Content-Type)"
IC=$(jqr "$P" .id)
expect_match "... a server-made id (the Go SDK's \"\" ignored)" "$idre" "$IC"
expect_eq "... version 1, vault, title, category, tags, url" \
    "1|$VW|$T_C|LOGIN|prod|https://db.example.com|website|true" \
    "$(jqr "$P" '"\(.version)|\(.vault.id)|\(.title)|\(.category)|\(.tags | join(","))|\(.urls[0].href)|\(.urls[0].label)|\(.urls[0].primary)"')"
expect_eq "... createdAt and updatedAt are real times (Go's zero time ignored)" "1 1 0" \
    "$(yes_if matches "$(jqr "$P" .createdAt)" "$timere") $(yes_if matches "$(jqr "$P" .updatedAt)" \
        "$timere") $(yes_if matches "$(jqr "$P" .createdAt)" '^0001')"
expect_eq "... lastEditedBy: server A (upper case)" "$SAU" "$(jqr "$P" .lastEditedBy)"
PW=$(fval "$P" password)
expect_match "... the generated password: 40 letters and digits" '^[A-Za-z0-9]{40}$' "$PW"
expect_eq "... none of the excluded characters 0 O 1 l" "" "$(printf '%s' "$PW" | tr -cd '0O1l')"
expect_eq "... at least one letter and one digit" "1 1" \
    "$(yes_if matches "$PW" '[A-Za-z]') $(yes_if matches "$PW" '[0-9]')"
expect_eq "... the password field: purpose, type, label" "PASSWORD CONCEALED password" \
    "$(jqr "$P" '.fields[] | select(.id == "password") | "\(.purpose) \(.type) \(.label)"')"
ENT=$(jqr "$P" '.fields[] | select(.id == "password") | .entropy')
# 50 letters (no O, l) and 8 digits (no 0, 1), at least one of each: 58^40 - 50^40 - 8^40
ENT_WANT=$(awk 'BEGIN { printf "%.9f", 40 * log(58) / log(2) + log(1 - (50 / 58)^40 - (8 / 58)^40) / log(2) }')
expect_eq "... entropy = log2(58^40 - 50^40 - 8^40) = $ENT_WANT" 1 \
    "$(awk -v a="$ENT" -v b="$ENT_WANT" 'BEGIN { d = a - b; if (d < 0) d = -d; print (a != "" && d < 1e-6) ? 1 : 0 }')"
expect_eq "... generate and recipe are not stored" 0 \
    "$(jqr "$P" '[.fields[] | select(has("generate") or has("recipe"))] | length')"
expect_eq "... the port field got an id and keeps its section and value" "1 sec1 5432" \
    "$(yes_if matches "$(jqr "$P" '.fields[] | select(.label == "port") | .id')" "$idre") $(jqr "$P" \
        '.fields[] | select(.label == "port") | "\(.section.id) \(.value)"')"
expect_eq "... the OTP field got an id and a 6-digit totp" "1 1" \
    "$(yes_if matches "$(jqr "$P" '.fields[] | select(.type == "OTP") | .id')" "$idre") $(yes_if matches \
        "$(jqr "$P" '.fields[] | select(.type == "OTP") | .totp')" '^[0-9]{6}$')"
expect_eq "... the section without an id got one; the named one kept its own" "1 Extra sec1 Named" \
    "$(yes_if matches "$(jqr "$P" '.sections[] | select(.label == "Extra") | .id')" "$idre") $(jqr "$P" \
        '[(.sections[] | select(.label == "Extra") | .label), (.sections[] | select(.id == "sec1") | .id, .label)] | join(" ")')"
expect_eq "... the username and the built-in notesPlain (no value)" "admin NOTES false" \
    "$(fval "$P" username) $(jqr "$P" '.fields[] | select(.id == "notesPlain") | "\(.purpose) \(has("value"))"')"
G=$(item_on "$APIA_URL" "$TOK" "$VW" "$IC")
expect_eq "a GET on A right after: the item the POST answered" "$(jqs "$P" 'del(.fields[].totp)')" \
    "$(jqs "$G" 'del(.fields[].totp)')"
cli item get "$IC" --vault "$VW" --format json
expect_eq "the admin CLI decrypts the same item from the hub" "$(jqs "$P" 'del(.fields[].totp)')" \
    "$(jqs "$OUT" 'del(.fields[].totp)')"
t0=$(now_ms)
wait_within "B serves it (version 1) within 5 s" 5 b_has "$IC" 1 || true
echo "# ... after $(elapsed_ms "$t0") ms"
expect_eq "... the same item on B" "$(jqs "$P" 'del(.fields[].totp)')" \
    "$(jqs "$(item_on "$APIB_URL" "$TOKB" "$VW" "$IC")" 'del(.fields[].totp)')"
cv_step POST

# refused bodies: 400, nothing written
post_400() { # DESCRIPTION BODY
    local r
    r=$(A "$TOK" POST "/v1/vaults/$VW/items" "$2")
    expect_error "$1: 400" 400 "$r"
}
post_400 "POST a CUSTOM item" "{\"vault\":{\"id\":\"$VW\"},\"title\":\"c\",\"category\":\"CUSTOM\"}"
post_400 "POST a DOCUMENT item" "{\"vault\":{\"id\":\"$VW\"},\"title\":\"d\",\"category\":\"DOCUMENT\"}"
post_400 "POST an unknown category" "{\"vault\":{\"id\":\"$VW\"},\"title\":\"s\",\"category\":\"SPACESHIP\"}"
post_400 "POST two password fields" "{\"vault\":{\"id\":\"$VW\"},\"title\":\"p\",\"category\":\"LOGIN\",
 \"fields\":[{\"id\":\"p1\",\"purpose\":\"PASSWORD\",\"type\":\"CONCEALED\",\"value\":\"a\"},
             {\"id\":\"p2\",\"purpose\":\"PASSWORD\",\"type\":\"CONCEALED\",\"value\":\"b\"}]}"
post_400 "POST bad JSON" '{"vault":{"id":"x"},"title":'
post_400 "POST a JSON array" "[{\"vault\":{\"id\":\"$VW\"},\"title\":\"a\",\"category\":\"LOGIN\"}]"
post_400 "POST without a category" "{\"vault\":{\"id\":\"$VW\"},\"title\":\"n\"}"
post_400 "POST with another vault's id in the body" "{\"vault\":{\"id\":\"$VC\"},\"title\":\"v\",\"category\":\"LOGIN\"}"
UA_RO="cw-ro-$(rand_marker u)"
expect_err "POST with a read-only token: 401 (Connect's text)" 401 "$WRITE_MSG" \
    "$(A "$TOK_R" POST "/v1/vaults/$VW/items" "$POST_BODY" -A "$UA_RO")"
UA_SCOPE="cw-scope-$(rand_marker u)"
expect_err "POST to a vault A holds but the token does not: 403" 403 "$SCOPE_MSG" \
    "$(A "$TOK" POST "/v1/vaults/$VO/items" "{\"vault\":{\"id\":\"$VO\"},\"title\":\"o\",\"category\":\"LOGIN\"}" \
        -A "$UA_SCOPE")"
expect_err "POST to a vault in the token that A does not hold: 404" 404 "vault not found" \
    "$(A "$TOK" POST "/v1/vaults/$VX/items" "{\"vault\":{\"id\":\"$VX\"},\"title\":\"x\",\"category\":\"LOGIN\"}")"
expect_err "POST without a token: 401" 401 "Invalid bearer token" "$(A "" POST "/v1/vaults/$VW/items" "$POST_BODY")"
expect_err "POST to a malformed vault id: 400" 400 "Invalid Vault UUID" "$(A "$TOK" POST /v1/vaults/nope/items "$POST_BODY")"
{
    printf '{"vault":{"id":"%s"},"category":"LOGIN","title":"' "$VW"
    head -c 4300000 /dev/zero | tr '\0' 'a'
    printf '"}'
} >"$T/big.json"
r=$(A "$TOK" POST "/v1/vaults/$VW/items" "" -H 'Content-Type: application/json' --data-binary "@$T/big.json")
expect_error "POST a 4.3 MB body (over SESAME_MAX_BODY_BYTES, 4 MiB): 413" 413 "$r"
r=$(A "$TOK" POST "/v1/vaults/$VW/items" "" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    --data-binary "@$T/big.json")
expect_error "... sent chunked: 413 too" 413 "$r"
expect_eq "none of the refused POSTs wrote anything (A, hub)" "2 2" \
    "$(jqr "$(body_of "$(A "$TOK" GET "/v1/vaults/$VW/items")")" length) $(titles_hub "$VW" | grep -c '' || true)"

# ---- PUT ----------------------------------------------------------------------------------------
T_U="Update $(rand_marker u)"
PW2="pw2-$(rand_marker p)"
PUT_BODY=$(printf '%s' "$G" | jq -c --arg t "$T_U" --arg pw "$PW2" \
    '.title = $t | del(.version) | .fields |= map(select(.label != "port") |
     if .id == "password" then .value = $pw else . end)' 2>/dev/null || true)
UA_UPDATE="cw-update-$(rand_marker u)"
a=$(A "$TOK" PUT "/v1/vaults/$VW/items/$IC" "$PUT_BODY" -A "$UA_UPDATE")
U=$(body_of "$a")
expect_status "PUT (full replacement, no version): 200" 200 "$a"
expect_eq "... the answer carries the version before the update (1: Terraform's quirk)" 1 "$(jqr "$U" .version)"
expect_eq "... and the new content" "$T_U $PW2 0" \
    "$(jqr "$U" .title) $(fval "$U" password) $(jqr "$U" '[.fields[] | select(.label == "port")] | length')"
G2=$(item_on "$APIA_URL" "$TOK" "$VW" "$IC")
expect_eq "... a GET right after shows version 2" 2 "$(jqr "$G2" .version)"
expect_eq "... and the answer's item (version aside)" "$(jqs "$U" 'del(.version, .fields[].totp)')" \
    "$(jqs "$G2" 'del(.version, .fields[].totp)')"
expect_eq "... createdAt kept, id kept" "$(jqr "$P" .createdAt) $IC" "$(jqr "$G2" '"\(.createdAt) \(.id)"')"
expect_eq "... the supplied password gets an estimated entropy" 1 \
    "$(jqr "$G2" '.fields[] | select(.id == "password") | if (.entropy | type) == "number" and .entropy > 0 then 1 else 0 end')"
expect_eq "... the password history is kept encrypted and never returned" "false false" \
    "$(jqr "$G2" 'has("passwordHistory")') $(jqr "$U" 'has("passwordHistory")')"
cv_step PUT
wait_within "B serves version 2 within 5 s" 5 b_has "$IC" 2 || true
# a PUT that keeps the password keeps its entropy
ENT2=$(jqr "$G2" '.fields[] | select(.id == "password") | .entropy')
a=$(A "$TOK" PUT "/v1/vaults/$VW/items/$IC" "$(jqs "$G2" 'del(.version) | .tags = ["kept"]')")
G3=$(item_on "$APIA_URL" "$TOK" "$VW" "$IC")
expect_eq "a PUT keeping the password: 200, answer version 2, GET 3, same entropy" "200 2 3 $ENT2 kept" \
    "$(status_of "$a") $(jqr "$(body_of "$a")" .version) $(jqr "$G3" .version) $(jqr "$G3" \
        '.fields[] | select(.id == "password") | .entropy') $(jqr "$G3" '.tags | join(",")')"
cv_step PUT2
# two writers: X read version 3, Y writes first
X_BODY=$(jqs "$G3" '.title = "X wins"')
a=$(A "$TOK" PUT "/v1/vaults/$VW/items/$IC" "$(jqs "$G3" 'del(.version) | .title = "Y was here"')")
expect_eq "writer Y: PUT 200 (answer 3)" "200 3" "$(status_of "$a") $(jqr "$(body_of "$a")" .version)"
cv_step PUT-Y
expect_err "writer X with its stale version (3, current 4): 409" 409 "$STALE_MSG" \
    "$(A "$TOK" PUT "/v1/vaults/$VW/items/$IC" "$X_BODY")"
expect_eq "... nothing written: still version 4 by Y" "4 Y was here" \
    "$(jqr "$(item_on "$APIA_URL" "$TOK" "$VW" "$IC")" '"\(.version) \(.title)"')"
a=$(A "$TOK" PUT "/v1/vaults/$VW/items/$IC" "$(jqs "$X_BODY" 'del(.version)')")
expect_eq "writer X without a version (Terraform): 200, the last writer wins" "200 4" \
    "$(status_of "$a") $(jqr "$(body_of "$a")" .version)"
cv_step PUT-X
expect_eq "... GET: version 5, X's title" "5 X wins" \
    "$(jqr "$(item_on "$APIA_URL" "$TOK" "$VW" "$IC")" '"\(.version) \(.title)"')"
a=$(A "$TOK" PUT "/v1/vaults/$VW/items/$IC" "$(jqs "$X_BODY" '.version = 5 | .title = "current"')")
expect_eq "a PUT naming the current version (5): 200, answer 5" "200 5" \
    "$(status_of "$a") $(jqr "$(body_of "$a")" .version)"
cv_step PUT-current
expect_eq "... GET: version 6" "6 current" "$(jqr "$(item_on "$APIA_URL" "$TOK" "$VW" "$IC")" '"\(.version) \(.title)"')"
expect_err "PUT of an unknown item: 404" 404 "item not found" \
    "$(A "$TOK" PUT "/v1/vaults/$VW/items/$(rand_id)" "$(jqs "$X_BODY" 'del(.version, .id)')")"
r=$(A "$TOK" PUT "/v1/vaults/$VW/items/$IC" "$(jqs "$X_BODY" "del(.version) | .id = \"$ISEED\"")")
expect_error "PUT whose body names another item: 400" 400 "$r"
expect_err "PUT with a read-only token: 401" 401 "$WRITE_MSG" "$(A "$TOK_R" PUT "/v1/vaults/$VW/items/$IC" "$X_BODY")"
r=$(A "$TOK" PUT "/v1/vaults/$VW/items/$IC" '[1,2]')
expect_error "PUT with an array body: 400" 400 "$r"
expect_eq "... none of these changed the item (version 6)" 6 "$(jqr "$(item_on "$APIA_URL" "$TOK" "$VW" "$IC")" .version)"

# ---- PATCH --------------------------------------------------------------------------------------
VER=6
UA_PATCH="cw-patch-$(rand_marker u)"
# patch_ok DESCRIPTION OPS [CURL ARGS]: 200 with the new version, equal to a GET right after
patch_ok() {
    local desc=$1 ops=$2 r b g
    shift 2
    r=$(A "$TOK" PATCH "/v1/vaults/$VW/items/$IC" "$ops" "$@")
    b=$(body_of "$r")
    g=$(item_on "$APIA_URL" "$TOK" "$VW" "$IC")
    expect_eq "$desc: 200, answer and GET at version $((VER + 1))" "200 $((VER + 1)) $((VER + 1))" \
        "$(status_of "$r") $(jqr "$b" .version) $(jqr "$g" .version)"
    expect_eq "... the answer is the item a GET shows" "$(jqs "$b" 'del(.fields[].totp)')" \
        "$(jqs "$g" 'del(.fields[].totp)')"
    VER=$((VER + 1))
    PG=$g
    cv_step "PATCH $VER"
}
PW3="pw3-$(rand_marker p)"
patch_ok "PATCH replace /fields/password/value" \
    "[{\"op\":\"replace\",\"path\":\"/fields/password/value\",\"value\":\"$PW3\"}]" -A "$UA_PATCH"
expect_eq "... the new password" "$PW3" "$(fval "$PG" password)"
patch_ok "PATCH replace /title" '[{"op":"replace","path":"/title","value":"Patched title"}]'
expect_eq "... the new title" "Patched title" "$(jqr "$PG" .title)"
patch_ok "PATCH add /tags/0" '[{"op":"add","path":"/tags/0","value":"first"}]'
expect_eq "... tags first,kept" "first,kept" "$(jqr "$PG" '.tags | join(",")')"
patch_ok "PATCH replace /tags/0" '[{"op":"replace","path":"/tags/0","value":"second"}]'
expect_eq "... tags second,kept" "second,kept" "$(jqr "$PG" '.tags | join(",")')"
NF=$(jqr "$PG" '.fields | length')
patch_ok "PATCH add /fields (a field object)" '[{"op":"add","path":"/fields","value":{"type":"STRING","label":"added","value":"v-added"}}]'
FID=$(jqr "$PG" '.fields[] | select(.label == "added") | .id')
expect_eq "... appended last, with a generated id and its value" "$((NF + 1)) 1 $FID v-added" \
    "$(jqr "$PG" '.fields | length') $(yes_if matches "$FID" "$idre") $(jqr "$PG" '.fields[-1] | "\(.id) \(.value)"')"
patch_ok "PATCH remove /fields/<id>" "[{\"op\":\"remove\",\"path\":\"/fields/$FID\"}]"
expect_eq "... the field is gone" "$NF 0" \
    "$(jqr "$PG" '.fields | length') $(jqr "$PG" "[.fields[] | select(.id == \"$FID\")] | length")"
BEFORE=$(jqs "$PG" 'del(.fields[].totp)')
r=$(A "$TOK" PATCH "/v1/vaults/$VW/items/$IC" '{"op":"replace","path":"/title","value":"single"}')
expect_error "PATCH with a single operation object (not an array): 400" 400 "$r"
r=$(A "$TOK" PATCH "/v1/vaults/$VW/items/$IC" '[{"op":"move","from":"/title","path":"/x"}]')
expect_error "PATCH with a move operation: 400" 400 "$r"
r=$(A "$TOK" PATCH "/v1/vaults/$VW/items/$IC" \
    '[{"op":"replace","path":"/title","value":"half"},{"op":"remove","path":"/fields/nosuchfield"}]')
expect_error "PATCH whose second operation fails: 400" 400 "$r"
expect_err "PATCH with a stale version in a replace of / : 409" 409 "$STALE_MSG" \
    "$(A "$TOK" PATCH "/v1/vaults/$VW/items/$IC" "[{\"op\":\"replace\",\"path\":\"/\",\"value\":$(jqs "$PG" \
        '.version = 2 | .title = "stale"')}]")"
expect_err "PATCH with a read-only token: 401" 401 "$WRITE_MSG" \
    "$(A "$TOK_R" PATCH "/v1/vaults/$VW/items/$IC" '[{"op":"replace","path":"/title","value":"ro"}]')"
expect_err "PATCH of an unknown item: 404" 404 "item not found" \
    "$(A "$TOK" PATCH "/v1/vaults/$VW/items/$(rand_id)" '[{"op":"replace","path":"/title","value":"u"}]')"
expect_eq "... none of these changed the item" "$BEFORE" \
    "$(jqs "$(item_on "$APIA_URL" "$TOK" "$VW" "$IC")" 'del(.fields[].totp)')"
a=$(A "$TOK" PATCH "/v1/vaults/$VW/items/$IC" '[]')
expect_eq "PATCH with an empty array: 200, the item unchanged (version $VER)" "200 $BEFORE" \
    "$(status_of "$a") $(jqs "$(body_of "$a")" 'del(.fields[].totp)')"
expect_eq "... a GET still shows version $VER" "$BEFORE" \
    "$(jqs "$(item_on "$APIA_URL" "$TOK" "$VW" "$IC")" 'del(.fields[].totp)')"
VER=$(jqr "$(item_on "$APIA_URL" "$TOK" "$VW" "$IC")" .version)
patch_ok "PATCH replace / (a whole item, no version)" \
    "[{\"op\":\"replace\",\"path\":\"/\",\"value\":$(jqs "$PG" 'del(.version) | .title = "whole"')}]"
expect_eq "... the new title" whole "$(jqr "$PG" .title)"
wait_within "B serves version $VER within 5 s" 5 b_has "$IC" "$VER" || true
expect_eq "... the same item on B" "$(jqs "$PG" 'del(.fields[].totp)')" \
    "$(jqs "$(item_on "$APIB_URL" "$TOKB" "$VW" "$IC")" 'del(.fields[].totp)')"

# ---- write-only token ---------------------------------------------------------------------------
M_WO=$(rand_marker wo)
WO_BODY=$(jq -cn --arg v "$VW" --arg pw "$M_WO" --arg otp "$OTP_URI" '{vault: {id: $v}, title: "write only",
  category: "LOGIN", fields: [{id: "username", purpose: "USERNAME", value: "wo-user"},
  {id: "password", purpose: "PASSWORD", type: "CONCEALED", value: $pw},
  {id: "gen", type: "CONCEALED", label: "generated", generate: true},
  {id: "otp", type: "OTP", label: "otp", value: $otp}]}')
a=$(A "$TOK_W" POST "/v1/vaults/$VW/items" "$WO_BODY")
WB=$(body_of "$a")
IW=$(jqr "$WB" .id)
expect_eq "write-only token: POST 200, version 1" "200 1 1" \
    "$(status_of "$a") $(yes_if matches "$IW" "$idre") $(jqr "$WB" .version)"
expect_eq "... the answer has no value, totp or entropy" 0 "$(novalues "$WB")"
expect_eq "... but the fields with their ids" "gen notesPlain otp password username" \
    "$(jqr "$WB" '[.fields[].id] | sort | join(" ")')"
expect_eq "... and no secret anywhere in it" 0 "$(printf '%s' "$WB" | grep -c -e "$M_WO" -e "$OTP_SECRET" || true)"
expect_err "... GET of the item: 403" 403 "$READ_MSG" "$(A "$TOK_W" GET "/v1/vaults/$VW/items/$IW")"
RW=$(item_on "$APIA_URL" "$TOK" "$VW" "$IW")
expect_eq "... the rw token reads what it wrote (password, username, a generated value)" "$M_WO wo-user 1" \
    "$(fval "$RW" password) $(fval "$RW" username) $(yes_if matches "$(fval "$RW" gen)" '^.{32}$')"
a=$(A "$TOK_W" PUT "/v1/vaults/$VW/items/$IW" "$(jqs "$WO_BODY" '.title = "write only 2" | .fields[1].value = "wo-pw-2"')")
expect_eq "write-only token: PUT 200, answer version 1" "200 1" "$(status_of "$a") $(jqr "$(body_of "$a")" .version)"
expect_eq "... no value, totp or entropy" 0 "$(novalues "$(body_of "$a")")"
a=$(A "$TOK_W" PATCH "/v1/vaults/$VW/items/$IW" '[{"op":"replace","path":"/fields/password/value","value":"wo-pw-3"}]')
expect_eq "write-only token: PATCH 200, version 3" "200 3" "$(status_of "$a") $(jqr "$(body_of "$a")" .version)"
expect_eq "... no value, totp or entropy" 0 "$(novalues "$(body_of "$a")")"
expect_eq "... the rw token reads version 3 with the new title and password" "3 write only 2 wo-pw-3" \
    "$(jqr "$(item_on "$APIA_URL" "$TOK" "$VW" "$IW")" '"\(.version) \(.title) \(.fields[] | select(.id == "password") | .value)"')"
expect_err "write-only token: GET of another item: 403" 403 "$READ_MSG" "$(A "$TOK_W" GET "/v1/vaults/$VW/items/$IC")"
cv_step write-only

# ---- DELETE -------------------------------------------------------------------------------------
UA_DELETE="cw-delete-$(rand_marker u)"
code=$(curl -s -o "$T/del.out" -D "$T/h" -w '%{http_code}' --max-time 20 -X DELETE -A "$UA_DELETE" \
    -H "Authorization: Bearer $TOK" "$APIA_URL/v1/vaults/$VW/items/$IW" || true)
expect_eq "DELETE: exactly 204 with an empty body" "204 0" "$code $(stat -c %s "$T/del.out")"
expect_err "... GET on A right after: 404" 404 "item not found" "$(A "$TOK" GET "/v1/vaults/$VW/items/$IW")"
cv_step DELETE
t0=$(now_ms)
wait_within "... B answers 404 within 5 s" 5 b_gone "$IW" || true
echo "# ... after $(elapsed_ms "$t0") ms"
expect_eq "... and the hub no longer lists it" "" "$(titles_hub "$VW" | grep -x 'write only 2' || true)"
expect_err "DELETE again: 404" 404 "item not found" "$(A "$TOK" DELETE "/v1/vaults/$VW/items/$IW")"
expect_err "DELETE of an unknown item: 404" 404 "item not found" "$(A "$TOK" DELETE "/v1/vaults/$VW/items/$(rand_id)")"
expect_err "DELETE with a read-only token: 401" 401 "$WRITE_MSG" "$(A "$TOK_R" DELETE "/v1/vaults/$VW/items/$IC")"
expect_err "DELETE with a malformed item id: 400" 400 "Invalid Item UUID" "$(A "$TOK" DELETE "/v1/vaults/$VW/items/nope")"
expect_eq "contentVersion of the vault rose on each of the $CV_STEPS writes (read right after each)" "" "$CV_FAILS"
cva=$(cv "$APIA_URL" "$TOK" "$VW")
cvb_is() { [ "$(cv "$APIB_URL" "$TOKB" "$VW")" = "$cva" ]; }
wait_within "B reaches the same contentVersion ($cva)" 5 cvb_is || true

# ---- activity: every write and denial, on A and on the hub --------------------------------------
# act_entry JSON UA: "action result type vault item itemVersion jti" of the entry of that user agent
act_entry() {
    jqr "$1" "[.[] | select(.actor.userAgent == \"$2\")] | if length == 1 then .[0] |
        [.action, .result, .resource.type, .resource.vault.id, (.resource.item.id // \"-\"),
         (.resource.itemVersion // \"-\"), (.actor.jti // \"-\")] | map(tostring) | join(\" \")
        else \"\(length) entries\" end"
}
a=$(A "$TOK" GET "/v1/activity?limit=1")
total=$(hdr Content-Range | sed 's|.*/||')
off=$((total > 1000 ? total - 1000 : 0))
ACT=$(body_of "$(A "$TOK" GET "/v1/activity?limit=1000&offset=$off")")
declare -A WANT_ACT=(
    ["$UA_CREATE"]="CREATE SUCCESS ITEM $VW $IC 1 $JTI"
    ["$UA_UPDATE"]="UPDATE SUCCESS ITEM $VW $IC 2 $JTI"
    ["$UA_PATCH"]="UPDATE SUCCESS ITEM $VW $IC 7 $JTI"
    ["$UA_DELETE"]="DELETE SUCCESS ITEM $VW $IW 3 $JTI"
    ["$UA_RO"]="CREATE DENY VAULT $VW - - $JTI_R"
    ["$UA_SCOPE"]="CREATE DENY VAULT $VO - - $JTI"
)
for ua in "$UA_CREATE" "$UA_UPDATE" "$UA_PATCH" "$UA_DELETE" "$UA_RO" "$UA_SCOPE"; do
    expect_eq "A's /v1/activity: ${WANT_ACT[$ua]% *}" "${WANT_ACT[$ua]}" "$(act_entry "$ACT" "$ua")"
done
expect_eq "... the actor of a write: server A, the account, the client's address" "$SAU $ACCOUNT 127.0.0.1" \
    "$(jqr "$ACT" ".[] | select(.actor.userAgent == \"$UA_CREATE\") | .actor | \"\(.id) \(.account) \(.requestIp)\"")"
expect_eq "... the write-only token's GET: READ DENY" DENY \
    "$(jqr "$ACT" "[.[] | select(.actor.jti == \"$JTI_W\" and .action == \"READ\") | .result] | unique | join(\" \")")"
expect_eq "... every write answered is there: CREATE/UPDATE/DELETE entries of the rw token" 1 \
    "$(jqr "$ACT" "[.[] | select(.actor.jti == \"$JTI\" and .action != \"READ\")] | if length >= 25 then 1 else 0 end")"
hub_act_ok() {
    local ua
    cli activity --limit 10000 --format json
    [ "$RC" -eq 0 ] || return 1
    HUB_ACT=$OUT
    for ua in "$UA_CREATE" "$UA_UPDATE" "$UA_PATCH" "$UA_DELETE" "$UA_RO" "$UA_SCOPE"; do
        [ "$(act_entry "$HUB_ACT" "$ua")" = "${WANT_ACT[$ua]}" ] || return 1
    done
}
HUB_ACT=
t0=$(now_ms)
if wait_within "the hub has the six entries within 5 s (sesame activity --format json)" 5 hub_act_ok; then
    echo "# ... after $(elapsed_ms "$t0") ms"
else
    for ua in "$UA_CREATE" "$UA_UPDATE" "$UA_PATCH" "$UA_DELETE" "$UA_RO" "$UA_SCOPE"; do
        echo "#   $ua: want [${WANT_ACT[$ua]}] hub [$(act_entry "$HUB_ACT" "$ua")]"
    done
    # how late, then (sync uploads activity after each pass or long-poll, up to 30 s)
    if wait_within "... they reach the hub within 35 s" 35 hub_act_ok; then
        echo "# ... after $(elapsed_ms "$t0") ms"
    fi
fi
n=$(jqr "$ACT" '[.[] | select(.action != "READ")] | length')
expect_eq "... and so does every other write or write denial in A's activity ($n entries)" "" \
    "$(comm -23 <(jqr "$ACT" '.[] | select(.action != "READ") | .requestId' | sort) \
        <(jqr "$HUB_ACT" '.[].requestId' | sort) | head -3 | tr '\n' ' ')"

# ---- versions under parallel writers --------------------------------------------------------
PIDS=()
for i in 1 2 3 4 5 6 7 8; do
    a=$(A "$TOK" POST "/v1/vaults/$VW/items" "{\"vault\":{\"id\":\"$VW\"},\"title\":\"par $i\",\"category\":\"PASSWORD\"}")
    printf '%s' "$(jqr "$(body_of "$a")" .id)" >"$T/par$i.id"
done
for i in 1 2 3 4 5 6 7 8; do
    (A "$TOK" PUT "/v1/vaults/$VW/items/$(cat "$T/par$i.id")" \
        "{\"title\":\"par $i v2\",\"category\":\"PASSWORD\",\"tags\":[\"t$i\"]}" -o /dev/null >"$T/par$i.out" 2>&1) &
    PIDS+=($!)
done
wait "${PIDS[@]}" || true
got=""
for i in 1 2 3 4 5 6 7 8; do
    got="$got $(head -n 1 "$T/par$i.out")"
done
expect_eq "8 parallel PUTs of 8 items of one vault: all 200 (no spurious 409)" \
    " 200 200 200 200 200 200 200 200" "$got"
got=""
for i in 1 2 3 4 5 6 7 8; do
    got="$got $(jqr "$(item_on "$APIA_URL" "$TOK" "$VW" "$(cat "$T/par$i.id")")" '"\(.version)/\(.title)"')"
done
expect_eq "... each at version 2 with its own title" \
    " 2/par 1 v2 2/par 2 v2 2/par 3 v2 2/par 4 v2 2/par 5 v2 2/par 6 v2 2/par 7 v2 2/par 8 v2" "$got"
IP=$(cat "$T/par1.id")
PIDS=()
for i in 1 2 3 4; do
    (A "$TOK" PATCH "/v1/vaults/$VW/items/$IP" \
        "[{\"op\":\"add\",\"path\":\"/fields\",\"value\":{\"label\":\"w$i\",\"value\":\"v$i\"}}]" >"$T/pp$i.out" 2>&1) &
    PIDS+=($!)
done
wait "${PIDS[@]}" || true
expect_eq "4 parallel PATCHes of one item, no version: all 200 (retried on the hub's 409)" "200 200 200 200" \
    "$(for i in 1 2 3 4; do head -n 1 "$T/pp$i.out"; done | tr '\n' ' ' | sed 's/ $//')"
g=$(item_on "$APIA_URL" "$TOK" "$VW" "$IP")
expect_eq "... version 2 + 4 = 6, and all four fields are there (each re-applied)" "6 v1 v2 v3 v4" \
    "$(jqr "$g" .version) $(jqr "$g" '[.fields[] | select(.label | test("^w[0-9]$")) | .value] | sort | join(" ")')"

# ---- read-after-write: 1000 write->read pairs on A, no retry, no sleep -----------------------------
cat >"$T/raw.js" <<'EOF'
// raw.js URL TOKEN VAULT ITEM N: N pairs (PUT or PATCH, then GET) on one keep-alive socket;
// prints {"pairs","fails","first":[...],"ms"}.
const http = require('http');
const [base, token, vault, item, nArg] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const u = new URL(base);
const path = `/v1/vaults/${vault}/items/${item}`;
function req(method, body) {
  return new Promise((resolve) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const headers = { Authorization: `Bearer ${token}`, 'User-Agent': 'connect-write-raw' };
    if (data) { headers['Content-Type'] = 'application/json'; headers['Content-Length'] = data.length; }
    const r = http.request({ host: u.hostname, port: u.port, path, method, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        let j = null;
        try { j = JSON.parse(Buffer.concat(chunks).toString()); } catch (e) { /* not JSON */ }
        resolve({ status: res.statusCode, body: j });
      });
    });
    r.on('error', (e) => resolve({ status: 0, body: String(e) }));
    r.setTimeout(20000, () => r.destroy(new Error('client timeout')));
    r.end(data || undefined);
  });
}
(async () => {
  const n = Number(nArg);
  const t0 = Date.now();
  const first = [];
  let fails = 0;
  const g0 = await req('GET');
  let v = g0.body && g0.body.version;
  for (let i = 0; i < n; i++) {
    const pw = `raw-${i}-${Math.random().toString(36).slice(2)}`;
    const title = `raw ${i}`;
    let w;
    let wantAnswer;
    if (i % 2 === 0) {
      w = await req('PUT', { title, category: 'LOGIN', fields: [
        { id: 'username', purpose: 'USERNAME', value: `u${i}` },
        { id: 'password', purpose: 'PASSWORD', type: 'CONCEALED', value: pw }] });
      wantAnswer = v; // PUT answers the version before the update
    } else {
      w = await req('PATCH', [{ op: 'replace', path: '/fields/password/value', value: pw },
                              { op: 'replace', path: '/title', value: title }]);
      wantAnswer = v + 1;
    }
    const g = await req('GET');
    const gp = g.body && Array.isArray(g.body.fields) ? g.body.fields.find((f) => f.id === 'password') : null;
    const ok = w.status === 200 && w.body && w.body.version === wantAnswer && g.status === 200 &&
      g.body.version === v + 1 && g.body.title === title && gp && gp.value === pw;
    if (!ok) {
      fails++;
      if (first.length < 5) {
        first.push({ i, method: i % 2 ? 'PATCH' : 'PUT', write: w.status, answer: w.body && w.body.version,
          wantAnswer, get: g.status, version: g.body && g.body.version, want: v + 1,
          title: g.body && g.body.title, pwOk: !!(gp && gp.value === pw),
          message: w.body && w.body.message });
      }
    }
    if (g.status === 200 && g.body && typeof g.body.version === 'number') v = g.body.version;
    else v = v + 1;
  }
  console.log(JSON.stringify({ pairs: n, fails, first, ms: Date.now() - t0 }));
  agent.destroy();
})();
EOF
a=$(A "$TOK" POST "/v1/vaults/$VW/items" "{\"vault\":{\"id\":\"$VW\"},\"title\":\"raw\",\"category\":\"LOGIN\"}")
IR=$(jqr "$(body_of "$a")" .id)
RAW=$(node "$T/raw.js" "$APIA_URL" "$TOK" "$VW" "$IR" 1000 2>&1 || true)
echo "# read-after-write: $(jqr "$RAW" '"\(.pairs) pairs in \(.ms) ms"')"
expect_eq "1000 write->read pairs on A (PUT/PATCH then GET, no retry, no sleep): all read their write" "1000 0" \
    "$(jqr "$RAW" '"\(.pairs) \(.fails)"')"
[ "$(jqr "$RAW" .fails)" = 0 ] || echo "# first failures: $(jqr "$RAW" .first)"
wait_within "... B reaches the last version (1001) within 5 s" 5 b_has "$IR" 1001 || true

# ---- the hub down: a write fails within OP_SYNC_TIMEOUT, nothing half-written -------------------
rc=0
hub_stop TERM || rc=$?
expect_eq "the hub stops" 0 "$rc"
T_H="Hub down $(rand_marker h)"
t0=$(now_ms)
a=$(A "$TOK" POST "/v1/vaults/$VW/items" "{\"vault\":{\"id\":\"$VW\"},\"title\":\"$T_H\",\"category\":\"LOGIN\"}")
ms=$(elapsed_ms "$t0")
st=$(status_of "$a")
expect_eq "hub down: POST answers a 5xx JSON error {status = HTTP status, message} (got $st)" "1 $st 1" \
    "$(yes_if between "${st:-0}" 500 600) $(jqr "$(body_of "$a")" .status) $(yes_if [ -n "$(jqr "$(body_of "$a")" '.message // empty')" ])"
echo "# ... $st $(jqr "$(body_of "$a")" .message)"
expect_eq "... within OP_SYNC_TIMEOUT = 5 s (${ms} ms)" 1 "$(yes_if between "$ms" 0 5500)"
expect_eq "... A does not list it" 0 "$(titles_api "$APIA_URL" "$TOK" "$VW" | grep -cxF "$T_H" || true)"
IP2=$(cat "$T/par2.id")
a=$(A "$TOK" DELETE "/v1/vaults/$VW/items/$IP2")
st=$(status_of "$a")
expect_eq "hub down: DELETE answers a 5xx JSON error (got $st)" "1 $st" \
    "$(yes_if between "${st:-0}" 500 600) $(jqr "$(body_of "$a")" .status)"
a=$(A "$TOK" PATCH "/v1/vaults/$VW/items/$IP2" '[{"op":"replace","path":"/title","value":"down"}]')
st=$(status_of "$a")
expect_eq "hub down: PATCH answers a 5xx JSON error (got $st)" "1 $st" \
    "$(yes_if between "${st:-0}" 500 600) $(jqr "$(body_of "$a")" .status)"
expect_eq "... the item is still there, unchanged, on A" "2 par 2 v2" \
    "$(jqr "$(item_on "$APIA_URL" "$TOK" "$VW" "$IP2")" '"\(.version) \(.title)"')"
HUB_READY_SECONDS=20 hub_start "$T/hub" --addr "127.0.0.1:$HPORT" || { not_ok "the hub restarts"; finish; }
ok "the hub restarts on the same port with the same data"
wait_for "... A is synced again" 25 connect_synced "$APIA_URL" || true
wait_for "... B is synced again" 25 connect_synced "$APIB_URL" || true
T_CAN="canary $(rand_marker k)"
cli item create --vault "$VW" --category PASSWORD --title "$T_CAN" --format json
ICAN=$(jqr "$OUT" .id)
a_has_can() { [ -n "$(item_on "$APIA_URL" "$TOK" "$VW" "$ICAN")" ]; }
b_has_can() { b_has "$ICAN" 1; }
wait_for "... a canary item made after the restart reaches A" 15 a_has_can || true
wait_for "... and B" 15 b_has_can || true
expect_eq "... the refused POST exists nowhere (hub, A, B)" "0 0 0" \
    "$(titles_hub "$VW" | grep -cxF "$T_H" || true) $(titles_api "$APIA_URL" "$TOK" "$VW" | grep -cxF "$T_H" ||
        true) $(titles_api "$APIB_URL" "$TOKB" "$VW" | grep -cxF "$T_H" || true)"
cli item get "$IP2" --vault "$VW" --format json
expect_eq "... the refused DELETE and PATCH changed nothing (hub, A, B)" "2 par 2 v2|2 par 2 v2|2 par 2 v2" \
    "$(jqr "$OUT" '"\(.version) \(.title)"')|$(jqr "$(item_on "$APIA_URL" "$TOK" "$VW" "$IP2")" \
        '"\(.version) \(.title)"')|$(jqr "$(item_on "$APIB_URL" "$TOKB" "$VW" "$IP2")" '"\(.version) \(.title)"')"
a=$(A "$TOK" POST "/v1/vaults/$VW/items" "{\"vault\":{\"id\":\"$VW\"},\"title\":\"after\",\"category\":\"LOGIN\"}")
expect_eq "... and writes work again" "200 1" "$(status_of "$a") $(jqr "$(body_of "$a")" .version)"

# the hub hung (SIGSTOP): the write times out within OP_SYNC_TIMEOUT; afterwards the item is
# everywhere or nowhere
T_S="Hub hung $(rand_marker s)"
kill -STOP "$HUB_PID"
t0=$(now_ms)
a=$(A "$TOK" POST "/v1/vaults/$VW/items" "{\"vault\":{\"id\":\"$VW\"},\"title\":\"$T_S\",\"category\":\"LOGIN\"}")
ms=$(elapsed_ms "$t0")
kill -CONT "$HUB_PID"
st=$(status_of "$a")
expect_eq "hub hung: POST answers a 5xx JSON error (got $st: $(jqr "$(body_of "$a")" .message))" "1 $st" \
    "$(yes_if between "${st:-0}" 500 600) $(jqr "$(body_of "$a")" .status)"
expect_eq "... within OP_SYNC_TIMEOUT = 5 s plus 1 s (${ms} ms)" 1 "$(yes_if between "$ms" 0 6000)"
hung_agree() {
    local h a b
    h=$(titles_hub "$VW" | grep -cxF "$T_S" || true)
    a=$(titles_api "$APIA_URL" "$TOK" "$VW" | grep -cxF "$T_S" || true)
    b=$(titles_api "$APIB_URL" "$TOKB" "$VW" | grep -cxF "$T_S" || true)
    HUNG="$h $a $b"
    [ "$h" = "$a" ] && [ "$a" = "$b" ] && [ "$h" -le 1 ]
}
HUNG=
if wait_within "... afterwards the hub, A and B agree on it (all once or none)" 15 hung_agree; then
    echo "# ... present on hub/A/B: $HUNG"
else echo "#   hub/A/B: $HUNG"; fi

# ---- crash: SIGKILL of sync A, then of api A, in the middle of a burst of writes --------------
# burst.js (beside this script): N POSTs at a fixed concurrency, one JSON line per answer
BURST_JS="$(dirname "$0")/burst.js"
printf '%s\n' "$APIA_URL" >"$T/apia.url"
# burst_round NAME VICTIM(SYNCA|APIA): 200 POSTs to VC; VICTIM is SIGKILLed after 50
# answers and restarted; then every acknowledged write must be on the hub, A and B once.
burst_round() {
    local name=$1 victim=$2 out="$T/burst-$1.out" prefix np i n port acked lines
    prefix="$name-$(rand_marker b)-"
    : >"$out"
    node "$BURST_JS" "$T/apia.url" "$TOK" "$VC" "$prefix" 200 4 "$out" &
    np=$!
    for i in $(seq 1 300); do
        n=$(grep -c '' "$out" || true)
        [ "$n" -ge 50 ] && break
        sleep 0.05
    done
    echo "# $name: SIGKILL $victim after $n answers"
    connect_stop "$victim" KILL 2>/dev/null || true
    sleep 0.3
    if [ "$victim" = SYNCA ]; then
        connect_start sync SYNCA "$T/A.json" "$XA" || not_ok "$name: sync A restarts"
    else
        port=$APIA_PORT
        connect_start api APIA "$T/A.json" "$XA" OP_SYNC_TIMEOUT=5s OP_HTTP_PORT="$port" ||
            not_ok "$name: api A restarts"
        printf '%s\n' "$APIA_URL" >"$T/apia.url"
    fi
    wait "$np" || true
    lines=$(grep -c '' "$out" || true)
    expect_eq "$name: the client got an answer (or an error) for each of the 200 POSTs" 200 "$lines"
    acked=$(jq -r 'select(.s == 200) | .t' "$out" | sort)
    echo "# $name: $(printf '%s\n' "$acked" | grep -c . || true) acknowledged;" \
        "others: $(jq -r 'select(.s != 200) | "\(.s)"' "$out" | sort | uniq -c | tr '\n' ' ')"
    expect_eq "$name: writes were acknowledged before and after the kill" "1 1" \
        "$(yes_if [ "$(head -n 50 "$out" | jq -r 'select(.s == 200) | .t' | grep -c . || true)" -gt 0 ]) \
$(yes_if [ "$(tail -n 30 "$out" | jq -r 'select(.s == 200) | .t' | grep -c . || true)" -gt 0 ])"
    wait_for "$name: A synced after the restart" 20 connect_synced "$APIA_URL" || true
    # the three copies of the burst's titles, once they agree
    converged() {
        titles_hub "$VC" | grep -F "$prefix" >"$T/$name.hub" || true
        titles_api "$APIA_URL" "$TOK" "$VC" | grep -F "$prefix" >"$T/$name.a" || true
        titles_api "$APIB_URL" "$TOKB" "$VC" | grep -F "$prefix" >"$T/$name.b" || true
        cmp -s "$T/$name.hub" "$T/$name.a" && cmp -s "$T/$name.hub" "$T/$name.b"
    }
    wait_within "$name: the hub, A and B list the same burst items" 15 converged ||
        echo "#   hub $(grep -c '' "$T/$name.hub") A $(grep -c '' "$T/$name.a") B $(grep -c '' "$T/$name.b")"
    for where in hub a b; do
        local missing dup
        missing=$(comm -23 <(printf '%s\n' "$acked" | grep . || true) <(sort -u "$T/$name.$where") | head -5)
        dup=$(uniq -d "$T/$name.$where" | head -5)
        expect_eq "$name: every acknowledged write is on $where exactly once" "|" \
            "$(printf '%s' "$missing" | tr '\n' ' ')|$(printf '%s' "$dup" | tr '\n' ' ')"
    done
    expect_eq "$name: every item on the hub has its own title (no write applied twice)" \
        "$(sort -u "$T/$name.hub" | grep -c '' || true)" "$(grep -c '' "$T/$name.hub" || true)"
    # a failure that says, without condition, that nothing was written must be true
    local said
    said=$(jq -r 'select(.s != 200 and (.m | test("; nothing was written|^sync is locked$"))) | .t' "$out" | sort)
    echo "# $name: $(printf '%s\n' "$said" | grep -c . || true) answers said nothing was written"
    expect_eq "$name: no write answered \"nothing was written\" or \"sync is locked\" exists on the hub" "" \
        "$(comm -12 <(printf '%s\n' "$said" | grep . || true) "$T/$name.hub" | head -3 | tr '\n' ' ')"
}
burst_round crash-sync SYNCA
burst_round crash-api APIA

# ---- clean stop ----------------------------------------------------------------------------------
for name in APIA SYNCA APIB SYNCB; do
    rc=0
    connect_stop "$name" || rc=$?
    expect_eq "$name stops on SIGTERM with status 0" 0 "$rc"
done
expect_clean_logs "no sanitizer report in the api and sync logs of A and B" \
    "$APIA_LOG" "$SYNCA_LOG" "$APIB_LOG" "$SYNCB_LOG"
rc=0
hub_stop TERM || rc=$?
expect_eq "the hub stops cleanly" 0 "$rc"
expect_clean_log "no sanitizer report in the hub log"
finish
