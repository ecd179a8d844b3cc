#!/usr/bin/env bash
# connect_api.sh - the Connect server end to end (issue 5): a real hub, `sesame sync` and
# `sesame api` on free loopback ports sharing one volume, the data made with the admin CLI.
# Checks the lock before the first token (and that another server's token opens nothing),
# OP_SYNC_TIMEOUT, every read endpoint with its status codes and the quirks clients depend
# on (connect-api.md §2-§4, §13), activity and metrics, live changes and revocation through
# the hub, the hub going away, restarts of either process, no plaintext on the volume, and
# hostile input.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"

hub_test_init
hub_start "$T/hub" || { not_ok "the hub starts"; finish; }
ok "the hub starts"
hub_account_init || { not_ok "account init"; finish; }
ACCOUNT=$(jq -r .account "$SESAME_ACCOUNT_KIT")
BUSREQ=${SESAME_BUSREQ:-}
XDG="$T/xdg"
DATA="$XDG/.op/data"
idre='^[a-z2-7]{26}$'
timere='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
uuidre='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
NOT_READY='failed to initiate, review service logs for details'
LOCKED='Make a request with a valid bearer token to initialize'
INLINE_MSG='File is too large to inline in request. Use the '
INLINE_MSG+='/v1/vaults/{vaultUUID}/items/{itemUUID}/files/{fileUUID}/content endpoint instead.'

jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }
jqs() { printf '%s' "$1" | jq -cS "$2" 2>/dev/null || true; }
# ids ANSWER: the status and the ids of a JSON array answer, in order.
ids() { printf '%s %s' "$(status_of "$1")" "$(jqr "$(body_of "$1")" '[.[].id] | join(" ")')"; }
# same ANSWER: the status and the sorted compact JSON of an answer.
same() { printf '%s %s' "$(status_of "$1")" "$(jqs "$(body_of "$1")" .)"; }
pct() { printf '%s' "$1" | sed 's/ /%20/g'; }
plus() { printf '%s' "$1" | sed 's/ /+/g'; }
upper() { printf '%s' "$1" | tr '[:lower:]' '[:upper:]'; }
size() { stat -c %s "$1"; }
# raw TEXT: sends TEXT on a new connection to the api; prints what comes back (5 s at most).
raw() {
    ( (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT" && printf '%b' "$1" >&3 && timeout 5 cat <&3) \
        2>/dev/null || true)
}
# yes_if COMMAND...: prints 1 when COMMAND succeeds, else 0 (for expect_eq).
yes_if() { if "$@"; then echo 1; else echo 0; fi; }
between() { [ "$1" -ge "$2" ] && [ "$1" -lt "$3" ]; }
matches() { [[ $1 =~ $2 ]]; }

# get TOKEN PATH [CURL ARGS...]: GET $API_URL$PATH with TOKEN as the bearer (none when
# empty); status line then body; the response headers in $T/h.
get() {
    local tok=$1 path=$2
    shift 2
    TOKEN=$tok ccurl "$API_URL$path" -D "$T/h" "$@"
}
# hdr NAME: a header of the last get (without the CR).
hdr() {
    grep -i "^$1:" "$T/h" 2>/dev/null | head -n 1 | cut -d: -f2- | sed 's/^ *//; s/\r$//' || true
}
# expect_err DESCRIPTION STATUS MESSAGE ANSWER: exactly {"status":STATUS,"message":MESSAGE}.
expect_err() {
    local want
    want=$(jq -cSn --argjson s "$2" --arg m "$3" '{status: $s, message: $m}')
    if [ "$(status_of "$4")" = "$2" ] && [ "$(jqs "$(body_of "$4")" .)" = "$want" ]; then
        ok "$1"
    else
        not_ok "$1: expected $2 $want, got [$(status_of "$4")] [$(body_of "$4" | head -c 300)]"
    fi
}
# health URL [CURL ARGS]: the /health body of the process at URL.
health() {
    local u=$1
    shift
    body_of "$(TOKEN='' ccurl "$u/health" "$@")"
}
# dep BODY SERVICE: the status of one dependency of a /health body.
dep() { jqr "$1" ".dependencies[] | select(.service == \"$2\") | .status"; }
depmsg() { jqr "$1" ".dependencies[] | select(.service == \"$2\") | .message // empty"; }
# totp_at BASE32_SECRET UNIX_TIME: the RFC 6238 code (SHA-1, 30 s, 6 digits).
totp_at() {
    local key ctr mac off bin
    key=$(printf '%s' "$1" | base32 -d | od -An -tx1 | tr -d ' \n')
    ctr=$(printf '%016x' $(($2 / 30)))
    mac=$(printf '%s' "$ctr" | xxd -r -p |
        openssl dgst -sha1 -mac HMAC -macopt "hexkey:$key" | awk '{print $NF}')
    off=$((16#${mac:39:1}))
    bin=$((16#${mac:$((off * 2)):8} & 0x7fffffff))
    printf '%06d' $((bin % 1000000))
}
# mk_token NAME SERVER VAULT[:ACCESS]...: a token; sets TOKV and JTIV.
mk_token() {
    local name=$1 server=$2 v args=()
    shift 2
    for v in "$@"; do args+=(--vault "$v"); done
    cli connect token create "$name" --server "$server" "${args[@]}" --format json
    TOKV=$(jqr "$OUT" .token)
    JTIV=$(jqr "$OUT" .jti)
    [ "$RC" -eq 0 ] && [[ "$JTIV" =~ $idre ]] || echo "# token $name: exit $RC: $ERR"
}

# ---- the account: vaults, items, files, servers, tokens (with the CLI) ----------------------
M_VA=$(rand_marker va)
M_VB=$(rand_marker vb)
NAME_A="Alpha Vault $M_VA"
NAME_B="Beta $M_VB"
cli vault create "$NAME_A" --description "the first one" --format json
VA=$(jqr "$OUT" .id)
cli vault create "$NAME_B" --format json
VB=$(jqr "$OUT" .id)
cli vault create delta --format json
VD=$(jqr "$OUT" .id)
expect_eq "three vaults created" "1 1 1" \
    "$(yes_if matches "$VA" "$idre") $(yes_if matches "$VB" "$idre") $(yes_if matches "$VD" "$idre")"

M_TL=$(rand_marker tl)
M_PW=$(rand_marker pw)
M_NT=$(rand_marker nt)
M_TD=$(rand_marker td)
M_TF=$(rand_marker tf)
M_TB=$(rand_marker tb)
M_F1=$(rand_marker fa)
M_F2=$(rand_marker fb)
M_F3=$(rand_marker fc)
OTP_SECRET=$(head -c 20 /dev/urandom | base32 | tr -d '=')
T_LOGIN="Web Login $M_TL"
T_DUP="Twin $M_TD"
T_FILES="Files $M_TF"
T_BIG="Big $M_TB"
cat >"$T/login.json" <<EOF
{"title": "$T_LOGIN", "category": "LOGIN", "tags": ["prod", "web"],
 "urls": [{"href": "https://login.example.com", "primary": true}],
 "fields": [{"id": "username", "type": "STRING", "purpose": "USERNAME", "label": "username", "value": "alice"},
            {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password", "value": "$M_PW"},
            {"id": "otp1", "type": "OTP", "label": "one-time password",
             "value": "otpauth://totp/Sesame:alice?secret=$OTP_SECRET&issuer=Sesame"},
            {"id": "notesPlain", "type": "STRING", "purpose": "NOTES", "label": "notesPlain", "value": "$M_NT"}]}
EOF
cli item create --vault "$VA" --format json "$T/login.json"
IL=$(jqr "$OUT" .id)
expect_match "item create (login with OTP)" "$idre" "$IL"
cli item create --vault "$VA" --category PASSWORD --title "$T_DUP" --tags dup,twin --format json
ID1=$(jqr "$OUT" .id)
cli item create --vault "$VA" --category PASSWORD --title "$T_DUP" --tags dup --format json
ID2=$(jqr "$OUT" .id)
expect_eq "two items with the same title" "1 1" "$(yes_if matches "$ID1" "$idre") $(yes_if matches "$ID2" "$idre")"
mkdir -p "$T/f"
printf '%s\n' "$M_F1" >"$T/f/notes.txt"
{ printf '%s' "$M_F2"; head -c 70000 /dev/urandom; } >"$T/f/data.bin"
{ printf '%s' "$M_F3"; head -c 120000 /dev/urandom; } >"$T/f/big.bin"
cli item create --vault "$VA" --category SECURE_NOTE --title "$T_FILES" --file "$T/f/notes.txt" \
    --file "$T/f/data.bin" --format json
IF=$(jqr "$OUT" .id)
expect_match "item create with two files" "$idre" "$IF"
cli item create --vault "$VA" --category SECURE_NOTE --title "$T_BIG" --file "$T/f/big.bin" --format json
IG=$(jqr "$OUT" .id)
expect_match "item create with a 120 KB file" "$idre" "$IG"
cli item create --vault "$VB" --category LOGIN --title "in beta" --field "username=bob" --format json
IB=$(jqr "$OUT" .id)
expect_match "item create in beta" "$idre" "$IB"
cli item get "$IL" --vault "$VA" --format json
CLI_LOGIN=$OUT

cli connect server create srv1 --vault "$VA" --vault "$VB" --vault "$VD" --out "$T/srv1.json" --format json
S1=$(jqr "$OUT" .id)
S1U=$(printf '%s' "$S1" | tr 'a-z' 'A-Z')
expect_match "server srv1 (alpha, beta, delta)" "$idre" "$S1"
cli connect server create srv2 --vault "$VA" --out "$T/srv2.json" --format json
expect_match "server srv2 (alpha), with its own credentials file" "$idre" "$(jqr "$OUT" .id)"
mk_token main srv1 "$VA:r" "$VB:r" "$VD:r"
TOK=$TOKV JTI=$JTIV
mk_token alpha-only srv1 "$VA:r"
TOK_A=$TOKV JTI_A=$JTIV
mk_token write-only srv1 "$VB:w"
TOK_W=$TOKV
mk_token read-write srv1 "$VA:rw"
TOK_RW=$TOKV
mk_token to-revoke srv1 "$VA:r"
TOK_REV=$TOKV JTI_REV=$JTIV
mk_token other srv2 "$VA:r"
TOK2=$TOKV
expect_eq "six tokens" 6 "$(for t in "$TOK" "$TOK_A" "$TOK_W" "$TOK_RW" "$TOK_REV" "$TOK2"; do
    [ -n "$t" ] && echo; done | wc -l)"
# delta stays in the main token's vts but is no longer granted to the server: 404.
cli connect vault revoke srv1 "$VD"
expect_eq "revoke delta from srv1" 0 "$RC"
UNLOCK=$(jwt_payload "$TOK" | jq -r '."1password.com/token"')

# ---- the api alone: locked, another server's token, OP_SYNC_TIMEOUT -------------------------
connect_start api API "$T/srv1.json" "$XDG" OP_SYNC_TIMEOUT=2s || { not_ok "the api starts"; finish; }
ok "the api starts (sync not running)"
a=$(get "" /heartbeat)
expect_eq "GET /heartbeat: 200 ." "200 ." "$(status_of "$a") $(body_of "$a")"
expect_match "... text/plain" '^text/plain' "$(hdr Content-Type)"
expect_eq "... 1Password-Connect-Version: 1.8.1" 1.8.1 "$(hdr 1Password-Connect-Version)"
a=$(get "" /health)
h=$(body_of "$a")
expect_eq "GET /health: 200" 200 "$(status_of "$a")"
expect_eq "... name and version" "1Password Connect API 1.8.1" "$(jqr "$h" '"\(.name) \(.version)"')"
expect_eq "... the four dependencies" "sqlite account_data sync 1Password" \
    "$(jqr "$h" '[.dependencies[].service] | join(" ")')"
expect_eq "... 1Password UNINITIALIZED with Connect's message" "UNINITIALIZED $LOCKED" \
    "$(dep "$h" 1Password) $(depmsg "$h" 1Password)"
expect_eq "... sqlite ACTIVE" ACTIVE "$(dep "$h" sqlite)"
expect_eq "... account_data NOT_SYNCED" NOT_SYNCED "$(dep "$h" account_data)"
expect_eq "... 1Password-Connect-Version" 1.8.1 "$(hdr 1Password-Connect-Version)"
expect_err "GET /v1/vaults without a token: 401" 401 "Invalid bearer token" "$(get "" /v1/vaults)"
expect_eq "... 1Password-Connect-Version on errors too" 1.8.1 "$(hdr 1Password-Connect-Version)"
expect_match "... JSON" '^application/json' "$(hdr Content-Type)"
expect_err "another server's token: 401" 401 "Invalid bearer token" "$(get "$TOK2" /v1/vaults)"
expect_err "... on an item too" 401 "Invalid bearer token" "$(get "$TOK2" "/v1/vaults/$VA/items/$IL")"
h=$(health "$API_URL" -H "Authorization: Bearer $TOK2")
expect_eq "/health with another server's token: still UNINITIALIZED" UNINITIALIZED "$(dep "$h" 1Password)"
LONG5000=$(b64rand 4000 | head -c 4998)
LONG5000="${LONG5000:0:1000}.${LONG5000:1000:3000}.${LONG5000:4000}"
expect_eq "a 5000-byte token is 5000 bytes" 5000 "${#LONG5000}"
expect_err "a 5000-byte garbage token: 401" 401 "Invalid bearer token" "$(get "$LONG5000" /v1/vaults)"
expect_err "a tampered token of this server: 401" 401 "Invalid bearer token" \
    "$(get "${TOK%.*}.$(b64rand 64)" /v1/vaults)"
h=$(health "$API_URL")
expect_eq "... none of them unlocked anything" UNINITIALIZED "$(dep "$h" 1Password)"

# timed GET in the background: timed NAME TOKEN PATH writes the answer to $T/NAME.out and
# the milliseconds it took to $T/NAME.ms.
timed() {
    local s
    s=$(now_ms)
    TOKEN=$2 ccurl "$API_URL$3" >"$T/$1.out"
    elapsed_ms "$s" >"$T/$1.ms"
}
timed wait1 "$TOK" /v1/vaults &
w1=$!
sleep 0.3
# delta is in the token's scope but unknown to this volume: readiness comes before the 404
timed wait2 "$TOK" "/v1/vaults/$VD/items/$IL" &
w2=$!
sleep 0.3
t0=$(now_ms)
a=$(TOKEN='' ccurl "$API_URL/heartbeat")
ms=$(elapsed_ms "$t0")
expect_eq "while two requests wait for sync, /heartbeat answers at once (${ms} ms)" "200 1" \
    "$(status_of "$a") $(yes_if between "$ms" 0 1000)"
wait "$w1" "$w2" || true
ms=$(cat "$T/wait1.ms")
expect_err "a valid token without sync: 500 after OP_SYNC_TIMEOUT" 500 "$NOT_READY" "$(cat "$T/wait1.out")"
expect_eq "... waited about 2 s (${ms} ms)" 1 "$(yes_if between "$ms" 1900 10000)"
ms=$(cat "$T/wait2.ms")
expect_err "an item of a vault in scope but not synced: 500 too (not 404)" 500 "$NOT_READY" "$(cat "$T/wait2.out")"
expect_eq "... after the same wait (${ms} ms)" 1 "$(yes_if between "$ms" 1900 10000)"
h=$(health "$API_URL")
expect_eq "... the valid token unlocked the api (1Password ACTIVE)" ACTIVE "$(dep "$h" 1Password)"
expect_eq "... sync UNAVAILABLE, account_data NOT_SYNCED" "UNAVAILABLE NOT_SYNCED" \
    "$(dep "$h" sync) $(dep "$h" account_data)"
# Connect's order of answers: token, path ids, scope, then readiness - no wait before a 400/403.
t0=$(now_ms)
expect_err "before sync: a malformed vault id is 400 at once" 400 "Invalid Vault UUID" \
    "$(get "$TOK" /v1/vaults/NOT-AN-ID)"
expect_err "before sync: a vault outside the token is 403 at once" 403 \
    "Authorization: token does not have access to vault" "$(get "$TOK_A" "/v1/vaults/$VB")"
expect_err "before sync: a write-only token reading items is 403 at once" 403 \
    "Authorization: token does not have read access to vault" "$(get "$TOK_W" "/v1/vaults/$VB/items")"
expect_err "before sync: no token is 401 at once" 401 "Invalid bearer token" "$(get "" /v1/activity)"
ms=$(elapsed_ms "$t0")
expect_eq "... the four answers took no sync wait (${ms} ms)" 1 "$(yes_if between "$ms" 0 1500)"

# ---- sync starts: the api hands it the unlock secret, data flows -----------------------------
connect_start sync SYNC "$T/srv1.json" "$XDG" || { not_ok "sync starts"; finish; }
ok "sync starts"
api_synced() {
    local b
    b=$(health "$API_URL")
    [ "$(dep "$b" sync)" = ACTIVE ] && [ "$(dep "$b" account_data)" = ACTIVE ]
}
if ! wait_for "the api's /health: sync ACTIVE and account_data ACTIVE" 20 api_synced; then
    kill -0 "$API_PID" 2>/dev/null || not_ok "the api died; its log ends with:"
    { grep -E -A3 'runtime error|Sanitizer' "$API_LOG" || tail -5 "$API_LOG"; } | head -8 | sed 's/^/#   api: /'
    tail -10 "$SYNC_LOG" | sed 's/^/#   sync: /'
    finish
fi
h=$(health "$API_URL")
expect_match "... account_data says how old the data is" '^last synced [0-9]+ seconds ago$' \
    "$(depmsg "$h" account_data)"
a=$(TOKEN='' ccurl "$SYNC_URL/heartbeat" -D "$T/h")
expect_eq "sync: GET /heartbeat 200 ." "200 ." "$(status_of "$a") $(body_of "$a")"
expect_eq "... 1Password-Connect-Version" 1.8.1 "$(hdr 1Password-Connect-Version)"
h=$(health "$SYNC_URL")
expect_eq "sync: /health names the sync process" "1Password Connect Sync 1.8.1" \
    "$(jqr "$h" '"\(.name) \(.version)"')"
expect_eq "sync: /health 1Password ACTIVE, hub ACTIVE" "ACTIVE ACTIVE" "$(dep "$h" 1Password) $(dep "$h" hub)"
expect_match "sync log: first pass pulled the two granted vaults" \
    'in step with the hub at seq [0-9]+ \(2 vaults pulled whole\)' "$(cat "$SYNC_LOG")"

# ---- GET /v1/vaults and /v1/vaults/{v} --------------------------------------------------------
a=$(get "$TOK" /v1/vaults)
VAULTS=$(body_of "$a")
expect_status "GET /v1/vaults: 200" 200 "$a"
expect_match "... JSON" '^application/json' "$(hdr Content-Type)"
expect_eq "... alpha and beta (delta is not granted any more)" "$(printf '%s\n' "$VA" "$VB" | sort | tr '\n' ' ')" \
    "$(jqr "$VAULTS" '.[].id' | sort | tr '\n' ' ')"
expect_eq "... names decrypted" "$NAME_A|$NAME_B" \
    "$(jqr "$VAULTS" "[(.[] | select(.id == \"$VA\") | .name), (.[] | select(.id == \"$VB\") | .name)] | join(\"|\")")"
VAJ=$(jqs "$VAULTS" ".[] | select(.id == \"$VA\")")
expect_eq "... alpha: description, items 5, attributeVersion 1, type USER_CREATED" \
    "the first one 5 1 USER_CREATED" "$(jqr "$VAJ" '"\(.description) \(.items) \(.attributeVersion) \(.type)"')"
expect_eq "... alpha: contentVersion counts its five item writes" 1 \
    "$(jqr "$VAJ" 'if .contentVersion >= 5 then 1 else 0 end')"
expect_eq "... createdAt and updatedAt are RFC 3339 UTC" "1 1" \
    "$(yes_if matches "$(jqr "$VAJ" .createdAt)" "$timere") $(yes_if matches "$(jqr "$VAJ" .updatedAt)" "$timere")"
expect_eq "... beta has one item and no description key" "1 false" \
    "$(jqr "$VAULTS" ".[] | select(.id == \"$VB\") | \"\(.items) \(has(\"description\"))\"")"
a=$(get "$TOK" /v1/vaults/)
expect_eq "GET /v1/vaults/ (JS SDK, trailing slash): the same list" "200 $(jqs "$VAULTS" .)" \
    "$(status_of "$a") $(jqs "$(body_of "$a")" .)"
a=$(get "$TOK" "/v1/vaults/$VA")
expect_eq "GET /v1/vaults/{alpha}: the object of the list" "200 $VAJ" "$(status_of "$a") $(jqs "$(body_of "$a")" .)"
a=$(get "$TOK" "/v1/vaults/$VA/")
expect_eq "GET /v1/vaults/{alpha}/ (trailing slash)" "200 $VAJ" "$(status_of "$a") $(jqs "$(body_of "$a")" .)"
vfilter() { # QUERY-STRING -> the ids listed, sorted, space-separated
    local r
    r=$(get "$TOK" "/v1/vaults?$1")
    printf '%s ' "$(status_of "$r")"
    jqr "$(body_of "$r")" '[.[].id] | sort | join(" ")'
}
UPPER_A=$(upper "$NAME_A")
GO_A=$(plus "$UPPER_A")
expect_eq "filter name eq (exact)" "200 $VA" "$(vfilter "filter=name%20eq%20%22$(pct "$NAME_A")%22")"
expect_eq "filter name eq (another case)" "200 $VA" "$(vfilter "filter=name%20eq%20%22$(pct "$UPPER_A")%22")"
expect_eq "filter title eq, Go SDK encoding (+ and %22)" "200 $VA" "$(vfilter "filter=title+eq+%22$GO_A%22")"
expect_eq "filter name co" "200 $VA" "$(vfilter 'filter=name+co+%22alpha+vault%22')"
expect_eq "filter with no match: []" "200 " "$(vfilter 'filter=name+eq+%22nothing+like+it%22')"
a=$(get "$TOK" "/v1/vaults/?filter=title%20eq%20%22$(pct "$NAME_B")%22")
expect_eq "GET /v1/vaults/?filter= (JS SDK)" "200 $VB" "$(ids "$a")"
expect_eq "unknown query parameters are ignored" "200 $VA" \
    "$(vfilter "foo=bar&filter=title+eq+%22$GO_A%22&inline_files=maybe&x")"
r=$(get "$TOK" "/v1/vaults?filter=name%20eq%20%27x%27")
expect_error "a filter with single quotes: 400" 400 "$r" "'x'"
r=$(get "$TOK" "/v1/vaults?filter=owner%20eq%20%22x%22")
expect_error "a filter on an unknown attribute: 400" 400 "$r" owner
r=$(get "$TOK" "/v1/vaults?filter=name%20eq%20%22x%22%20or%20name%20eq%20%22y%22")
expect_error "a filter with or: 400" 400 "$r"
a=$(get "$TOK_A" /v1/vaults)
expect_eq "a token for alpha only lists alpha only" "$VA" "$(jqr "$(body_of "$a")" '[.[].id] | join(" ")')"
a=$(get "$TOK_W" /v1/vaults)
expect_eq "a write-only token lists its vault" "$VB" "$(jqr "$(body_of "$a")" '[.[].id] | join(" ")')"
a=$(get "$TOK_W" "/v1/vaults/$VB")
expect_eq "a write-only token gets the vault object" "200 $VB" "$(status_of "$a") $(jqr "$(body_of "$a")" .id)"
expect_err "a write-only token cannot list items: 403" 403 \
    "Authorization: token does not have read access to vault" "$(get "$TOK_W" "/v1/vaults/$VB/items")"
expect_err "a write-only token cannot read an item: 403" 403 \
    "Authorization: token does not have read access to vault" "$(get "$TOK_W" "/v1/vaults/$VB/items/$IB")"
expect_err "a write-only token cannot read files: 403" 403 \
    "Authorization: token does not have read access to vault" "$(get "$TOK_W" "/v1/vaults/$VB/items/$IB/files")"
a=$(get "$TOK_RW" "/v1/vaults/$VA/items/$IL")
expect_eq "a read-write token reads" "200 $IL" "$(status_of "$a") $(jqr "$(body_of "$a")" .id)"
expect_err "a vault outside the token: 403" 403 "Authorization: token does not have access to vault" \
    "$(get "$TOK_A" "/v1/vaults/$VB")"
expect_err "an unknown well-formed vault id: 403 (not in the token)" 403 \
    "Authorization: token does not have access to vault" "$(get "$TOK" "/v1/vaults/$(rand_id)")"
expect_err "a vault of the token no longer granted to the server: 404" 404 "vault not found" \
    "$(get "$TOK" "/v1/vaults/$VD")"
expect_err "... its items: 404" 404 "vault not found" "$(get "$TOK" "/v1/vaults/$VD/items")"
expect_err "an uppercase vault id: 400" 400 "Invalid Vault UUID" "$(get "$TOK" "/v1/vaults/$(upper "$VA")")"
expect_err "a 25-character vault id: 400" 400 "Invalid Vault UUID" "$(get "$TOK" "/v1/vaults/${VA:0:25}")"
expect_err "a vault id with 0/1/8/9 is well-formed ([a-z0-9]{26}, as the SDKs check): 403" 403 \
    "Authorization: token does not have access to vault" "$(get "$TOK" "/v1/vaults/0189${VA:4}")"
expect_err "a vault id with - or _: 400" 400 "Invalid Vault UUID" "$(get "$TOK" "/v1/vaults/-_${VA:2}")"
expect_err "a vault name in the path: 400" 400 "Invalid Vault UUID" "$(get "$TOK" /v1/vaults/delta)"

# ---- items ------------------------------------------------------------------------------------
a=$(get "$TOK" "/v1/vaults/$VA/items")
ITEMS=$(body_of "$a")
expect_status "GET items of alpha: 200" 200 "$a"
expect_eq "... five summaries, oldest first" "$IL $ID1 $ID2 $IF $IG" "$(jqr "$ITEMS" '[.[].id] | join(" ")')"
expect_eq "... every summary has vault.id, version 1, createdAt, updatedAt" 5 \
    "$(jqr "$ITEMS" "[.[] | select(.vault.id == \"$VA\" and .version == 1 and
        (.createdAt | test(\"$timere\")) and (.updatedAt | test(\"$timere\")))] | length")"
expect_eq "... and no fields, sections or files" 0 \
    "$(jqr "$ITEMS" '[.[] | select(has("fields") or has("sections") or has("files"))] | length')"
S_LOGIN=$(jqs "$ITEMS" ".[] | select(.id == \"$IL\")")
expect_eq "... the login summary: title, category, tags, url, lastEditedBy" \
    "$T_LOGIN|LOGIN|prod,web|https://login.example.com|$ACCOUNT" \
    "$(jqr "$S_LOGIN" '"\(.title)|\(.category)|\(.tags | sort | join(","))|\(.urls[0].href)|\(.lastEditedBy)"')"
a=$(get "$TOK" "/v1/vaults/$VA/items/")
expect_eq "GET …/items/ (trailing slash): the same list" "200 $(jqs "$ITEMS" .)" "$(same "$a")"
ifilter() { # VAULT QUERY-STRING -> the ids listed (in order)
    local r
    r=$(get "$TOK" "/v1/vaults/$1/items?$2")
    printf '%s ' "$(status_of "$r")"
    jqr "$(body_of "$r")" '[.[].id] | join(" ")'
}
GO_LOGIN=$(printf '%s' "$T_LOGIN" | sed 's/ /+/g')
expect_eq "items filter title eq, Go SDK encoding" "200 $IL" "$(ifilter "$VA" "filter=title+eq+%22$GO_LOGIN%22")"
a=$(get "$TOK" "/v1/vaults/$VA/items/?filter=title%20eq%20%22$(printf '%s' "$T_LOGIN" | sed 's/ /%20/g')%22")
expect_eq "items/?filter=title eq, JS SDK encoding and trailing slash" "200 $IL" \
    "$(status_of "$a") $(jqr "$(body_of "$a")" '[.[].id] | join(" ")')"
expect_eq "items filter title eq, another case" "200 $IL" \
    "$(ifilter "$VA" "filter=title+eq+%22$(printf '%s' "$GO_LOGIN" | tr 'a-z' 'A-Z')%22")"
expect_eq "items filter title co" "200 $IL" "$(ifilter "$VA" "filter=title+co+%22login+${M_TL:0:8}%22")"
expect_eq "items filter title co matching several" "200 $ID1 $ID2" "$(ifilter "$VA" 'filter=title+co+%22twin%22')"
expect_eq "duplicate titles: both listed" "200 $ID1 $ID2" \
    "$(ifilter "$VA" "filter=title+eq+%22$(printf '%s' "$T_DUP" | sed 's/ /+/g')%22")"
expect_eq "items filter tag eq" "200 $IL" "$(ifilter "$VA" 'filter=tag+eq+%22prod%22')"
expect_eq "items filter tag eq (two items)" "200 $ID1 $ID2" "$(ifilter "$VA" 'filter=tag+eq+%22DUP%22')"
expect_eq "items filter with no match: []" "200 " "$(ifilter "$VA" 'filter=title+eq+%22zzz%22')"
r=$(get "$TOK" "/v1/vaults/$VA/items?filter=name+eq+%22x%22")
expect_error "items filter on a vault attribute: 400" 400 "$r"
r=$(get "$TOK" "/v1/vaults/$VA/items?filter=title+eq+%27it%27s%27")
expect_error "items filter with single quotes: 400" 400 "$r"

a=$(get "$TOK" "/v1/vaults/$VA/items/$IL")
FULL=$(body_of "$a")
t_now=$(date +%s)
expect_status "GET the login item: 200" 200 "$a"
expect_eq "... id, title, category, version, vault, lastEditedBy" "$IL|$T_LOGIN|LOGIN|1|$VA|$ACCOUNT" \
    "$(jqr "$FULL" '"\(.id)|\(.title)|\(.category)|\(.version)|\(.vault.id)|\(.lastEditedBy)"')"
expect_eq "... the password" "$M_PW" "$(jqr "$FULL" '.fields[] | select(.id == "password") | .value')"
expect_eq "... the notes" "$M_NT" "$(jqr "$FULL" '.fields[] | select(.purpose == "NOTES") | .value')"
expect_eq "... the username" alice "$(jqr "$FULL" '.fields[] | select(.purpose == "USERNAME") | .value')"
totp=$(jqr "$FULL" '.fields[] | select(.type == "OTP") | .totp')
expect_match "... the OTP field carries totp, 6 digits" '^[0-9]{6}$' "$totp"
if [ "$totp" = "$(totp_at "$OTP_SECRET" "$t_now")" ] || [ "$totp" = "$(totp_at "$OTP_SECRET" $((t_now - 2)))" ] ||
    [ "$totp" = "$(totp_at "$OTP_SECRET" $((t_now + 2)))" ]; then
    ok "... which is the RFC 6238 code of its secret now"
else
    not_ok "... which is the RFC 6238 code of its secret now: got $totp, expected $(totp_at "$OTP_SECRET" "$t_now")"
fi
expect_eq "... the OTP value is the otpauth URI" "otpauth://totp/Sesame:alice?secret=$OTP_SECRET&issuer=Sesame" \
    "$(jqr "$FULL" '.fields[] | select(.type == "OTP") | .value')"
expect_eq "... the api's FullItem is the CLI's (totp aside)" "$(jqs "$CLI_LOGIN" 'del(.fields[].totp)')" \
    "$(jqs "$FULL" 'del(.fields[].totp)')"
expect_eq "... the summary attributes agree with the list" "$S_LOGIN" \
    "$(jqs "$FULL" 'del(.fields, .sections, .files)')"
a=$(get "$TOK" "/v1/vaults/$VA/items/$ID2")
expect_eq "GET the second twin" "200 $ID2 $T_DUP" "$(status_of "$a") $(jqr "$(body_of "$a")" '"\(.id) \(.title)"')"
a=$(get "$TOK" "/v1/vaults/$VB/items/$IB")
expect_eq "GET the beta item" "200 bob" \
    "$(status_of "$a") $(jqr "$(body_of "$a")" '.fields[] | select(.purpose == "USERNAME") | .value')"
expect_err "an unknown item id: 404" 404 "item not found" "$(get "$TOK" "/v1/vaults/$VA/items/$(rand_id)")"
expect_err "an item of another vault: 404" 404 "item not found" "$(get "$TOK" "/v1/vaults/$VB/items/$IL")"
expect_err "a malformed item id: 400" 400 "Invalid Item UUID" "$(get "$TOK" "/v1/vaults/$VA/items/${IL:0:20}")"
expect_err "an item title in the path: 400" 400 "Invalid Item UUID" "$(get "$TOK" "/v1/vaults/$VA/items/Twin")"
expect_err "a malformed vault id comes first: 400 vault" 400 "Invalid Vault UUID" "$(get "$TOK" "/v1/vaults/x/items/y")"
expect_err "the token comes before the ids: 401" 401 "Invalid bearer token" "$(get "" "/v1/vaults/x/items/y")"
expect_err "the ids come before the scope: 400" 400 "Invalid Item UUID" "$(get "$TOK_A" "/v1/vaults/$VB/items/y")"

# ---- files ------------------------------------------------------------------------------------
a=$(get "$TOK" "/v1/vaults/$VA/items/$IF/files")
FILES=$(body_of "$a")
expect_status "GET files: 200" 200 "$a"
expect_eq "... 1Password-Connect-Version (the Go SDK needs it here)" 1.8.1 "$(hdr 1Password-Connect-Version)"
expect_eq "... two files with names and sizes" "data.bin:$(size "$T/f/data.bin") notes.txt:$(size "$T/f/notes.txt")" \
    "$(jqr "$FILES" '[.[] | "\(.name):\(.size)"] | sort | join(" ")')"
expect_eq "... no content without inline_files" 0 "$(jqr "$FILES" '[.[] | select(has("content"))] | length')"
F1=$(jqr "$FILES" '.[] | select(.name == "notes.txt") | .id')
F2=$(jqr "$FILES" '.[] | select(.name == "data.bin") | .id')
expect_eq "... file ids" "1 1" "$(yes_if matches "$F1" "$idre") $(yes_if matches "$F2" "$idre")"
expect_eq "... content_path starts with / and names the file" \
    "/v1/vaults/$VA/items/$IF/files/$F1/content" "$(jqr "$FILES" '.[] | select(.name == "notes.txt") | .content_path')"
a=$(get "$TOK" "/v1/vaults/$VA/items/$IF/files/")
expect_eq "GET files/ (JS SDK, trailing slash)" "200 $(jqs "$FILES" .)" "$(status_of "$a") $(jqs "$(body_of "$a")" .)"
for q in inline_files inline_content; do
    a=$(get "$TOK" "/v1/vaults/$VA/items/$IF/files?$q=true")
    expect_status "GET files?$q=true: 200" 200 "$a"
    jqr "$(body_of "$a")" '.[] | select(.name == "data.bin") | .content' |
        base64 -d >"$T/inline.bin" 2>/dev/null || true
    if cmp -s "$T/inline.bin" "$T/f/data.bin"; then ok "... data.bin inline: the exact bytes"; else
        not_ok "... data.bin inline: the exact bytes"; fi
    expect_eq "... notes.txt inline (standard base64, padded)" "$(base64 -w 0 "$T/f/notes.txt")" \
        "$(jqr "$(body_of "$a")" '.[] | select(.name == "notes.txt") | .content')"
done
a=$(get "$TOK" "/v1/vaults/$VA/items/$IF/files/$F1")
expect_eq "GET one file: the File of the list" "200 $(jqs "$FILES" ".[] | select(.id == \"$F1\")")" \
    "$(status_of "$a") $(jqs "$(body_of "$a")" .)"
a=$(get "$TOK" "/v1/vaults/$VA/items/$IF/files/$F1?inline_files=true")
expect_eq "GET one file inline" "200 $(base64 -w 0 "$T/f/notes.txt")" \
    "$(status_of "$a") $(jqr "$(body_of "$a")" .content)"
code=$(curl -s -o "$T/content.bin" -D "$T/h" -w '%{http_code}' -H "Authorization: Bearer $TOK" \
    "$API_URL/v1/vaults/$VA/items/$IF/files/$F2/content" || true)
expect_eq "GET file content: 200" 200 "$code"
if cmp -s "$T/content.bin" "$T/f/data.bin"; then ok "... the exact bytes (cmp)"; else
    not_ok "... the exact bytes (cmp)"; fi
expect_eq "... application/octet-stream" application/octet-stream "$(hdr Content-Type)"
expect_eq "... Content-Disposition" 'attachment; filename="data.bin"' "$(hdr Content-Disposition)"
expect_eq "... Content-Length" "$(stat -c %s "$T/f/data.bin")" "$(hdr Content-Length)"
expect_eq "... 1Password-Connect-Version" 1.8.1 "$(hdr 1Password-Connect-Version)"
cp_path=$(jqr "$FILES" '.[] | select(.name == "notes.txt") | .content_path')
code=$(curl -s -o "$T/content2.bin" -w '%{http_code}' -H "Authorization: Bearer $TOK" "$API_URL$cp_path" || true)
if [ "$code" = 200 ] && cmp -s "$T/content2.bin" "$T/f/notes.txt"; then
    ok "host + content_path (the Go SDK's way) gives the bytes"
else not_ok "host + content_path (the Go SDK's way) gives the bytes: $code"; fi
expect_err "an unknown file id: 404" 404 "file not found" "$(get "$TOK" "/v1/vaults/$VA/items/$IF/files/$(rand_id)")"
expect_err "... its content: 404" 404 "file not found" \
    "$(get "$TOK" "/v1/vaults/$VA/items/$IF/files/$(rand_id)/content")"
expect_err "a file of another item: 404" 404 "file not found" "$(get "$TOK" "/v1/vaults/$VA/items/$IL/files/$F1")"
expect_err "a malformed file id: 400" 400 "Invalid File UUID" "$(get "$TOK" "/v1/vaults/$VA/items/$IF/files/notes.txt")"
expect_err "files of an unknown item: 404" 404 "item not found" "$(get "$TOK" "/v1/vaults/$VA/items/$(rand_id)/files")"
a=$(get "$TOK" "/v1/vaults/$VA/items/$IL/files")
expect_eq "files of an item without files: []" "200 []" "$(status_of "$a") $(jqs "$(body_of "$a")" .)"
a=$(get "$TOK" "/v1/vaults/$VA/items/$IG/files")
FG=$(jqr "$(body_of "$a")" '.[0].id')
expect_eq "the 120 KB file is listed (no inline)" "200 $(size "$T/f/big.bin")" \
    "$(status_of "$a") $(jqr "$(body_of "$a")" '.[0].size')"
expect_err "... inline_files over OP_MAX_INLINE_FILE_SIZE_KB (100): 413" 413 "$INLINE_MSG" \
    "$(get "$TOK" "/v1/vaults/$VA/items/$IG/files?inline_files=true")"
expect_err "... one file with inline_content: 413" 413 "$INLINE_MSG" \
    "$(get "$TOK" "/v1/vaults/$VA/items/$IG/files/$FG?inline_content=true")"
code=$(curl -s -o "$T/big.back" -w '%{http_code}' -H "Authorization: Bearer $TOK" \
    "$API_URL/v1/vaults/$VA/items/$IG/files/$FG/content" || true)
if [ "$code" = 200 ] && cmp -s "$T/big.back" "$T/f/big.bin"; then ok "... its content: the exact bytes"; else
    not_ok "... its content: the exact bytes ($code)"; fi

# ---- activity -----------------------------------------------------------------------------------
UA_OK="capi-ok-$(rand_marker u)"
UA_DENY="capi-deny-$(rand_marker u)"
UA_401="capi-401-$(rand_marker u)"
get "$TOK" "/v1/vaults/$VA/items/$IL" -A "$UA_OK" >/dev/null
get "$TOK_A" "/v1/vaults/$VB" -A "$UA_DENY" >/dev/null
get "Bearer-garbage" "/v1/vaults" -A "$UA_401" >/dev/null
a=$(get "$TOK" "/v1/activity?limit=1000")
ACT=$(body_of "$a")
expect_status "GET /v1/activity: 200" 200 "$a"
N=$(jqr "$ACT" length)
expect_eq "... Content-Range 1-N/N" "1-$N/$N" "$(hdr Content-Range)"
e=$(jqs "$ACT" ".[] | select(.actor.userAgent == \"$UA_OK\")")
expect_eq "... the item read: READ SUCCESS ITEM, vault, item, version, server, account, jti" \
    "READ SUCCESS ITEM $VA $IL 1 $S1U $ACCOUNT $JTI" \
    "$(jqr "$e" '[.action, .result, .resource.type, .resource.vault.id, .resource.item.id,
        .resource.itemVersion, .actor.id, .actor.account, .actor.jti] | map(tostring) | join(" ")')"
expect_match "... requestId is a UUID" "$uuidre" "$(jqr "$e" .requestId)"
expect_match "... timestamp RFC 3339" "$timere" "$(jqr "$e" .timestamp)"
expect_eq "... requestIp" 127.0.0.1 "$(jqr "$e" .actor.requestIp)"
e=$(jqs "$ACT" ".[] | select(.actor.userAgent == \"$UA_DENY\")")
expect_eq "... the 403: READ DENY VAULT beta, with the token's jti" "READ DENY VAULT $VB $JTI_A" \
    "$(jqr "$e" '"\(.action) \(.result) \(.resource.type) \(.resource.vault.id) \(.actor.jti)"')"
e=$(jqs "$ACT" ".[] | select(.actor.userAgent == \"$UA_401\")")
expect_eq "... the 401: DENY, no jti" "DENY " "$(jqr "$e" '"\(.result) \(.actor.jti // "")"')"
expect_eq "... DENY entries of the 401s before the unlock too" 1 \
    "$(jqr "$ACT" '[.[] | select(.result == "DENY" and ((.actor.jti // "") == ""))] |
        if length >= 5 then 1 else 0 end')"
expect_eq "... oldest first" 1 "$(jqr "$ACT" 'if [.[].timestamp] == ([.[].timestamp] | sort) then 1 else 0 end')"
a=$(get "$TOK" "/v1/activity?limit=2")
expect_eq "GET /v1/activity?limit=2: two entries, Content-Range 1-2/N+1" "200 2 1-2/$((N + 1))" \
    "$(status_of "$a") $(jqr "$(body_of "$a")" length) $(hdr Content-Range)"
a=$(get "$TOK" "/v1/activity?limit=3&offset=1")
expect_eq "... limit=3&offset=1: 2-4/N+2" "200 3 2-4/$((N + 2))" \
    "$(status_of "$a") $(jqr "$(body_of "$a")" length) $(hdr Content-Range)"
a=$(get "$TOK" "/v1/activity?offset=100000")
expect_eq "... an offset past the end: [] and */N+3" "200 [] */$((N + 3))" \
    "$(status_of "$a") $(jqs "$(body_of "$a")" .) $(hdr Content-Range)"
a=$(get "$TOK" "/v1/activity/")
expect_eq "... default limit 50" "200 50 1-50/$((N + 4))" \
    "$(status_of "$a") $(jqr "$(body_of "$a")" length) $(hdr Content-Range)"
expect_error "... limit=0: 400" 400 "$(get "$TOK" "/v1/activity?limit=0")"
expect_error "... limit=1001: 400" 400 "$(get "$TOK" "/v1/activity?limit=1001")"
expect_error "... limit=abc: 400" 400 "$(get "$TOK" "/v1/activity?limit=abc")"
expect_error "... offset=-1: 400" 400 "$(get "$TOK" "/v1/activity?offset=-1")"
expect_err "... without a token: 401" 401 "Invalid bearer token" "$(get "" /v1/activity)"

# ---- the cache of rendered items -------------------------------------------------------------
cache_hits() { body_of "$(get "" /metrics)" | awk '$1 == "sesame_connect_item_cache_hits_total" { print $2 }'; }
h0=$(cache_hits)
b1=$(body_of "$(get "$TOK" "/v1/vaults/$VA/items/$IF")")
b2=$(body_of "$(get "$TOK" "/v1/vaults/$VA/items/$IF")")
b3=$(body_of "$(get "$TOK" "/v1/vaults/$VA/items/$IF")")
expect_eq "an item read three times: the same bytes each time" 1 "$([ "$b1" = "$b2" ] && [ "$b2" = "$b3" ] && echo 1 || echo 0)"
expect_eq "... the second and third from the cache" 2 "$(( $(cache_hits) - h0 ))"
h0=$(cache_hits)
for i in 1 2 3; do get "$TOK" "/v1/vaults/$VA/items/$IL" >/dev/null; done
expect_eq "an item with an OTP field is never served from the cache (its code changes)" 0 "$(( $(cache_hits) - h0 ))"

# ---- metrics ------------------------------------------------------------------------------------
a=$(get "" /metrics)
M=$(body_of "$a")
mval() { printf '%s\n' "$M" | awk -v k="$1" '$1 == k { print $2; exit }'; }
expect_status "GET /metrics (no token): 200" 200 "$a"
expect_match "... Prometheus text" '^text/plain' "$(hdr Content-Type)"
expect_eq "... sesame_connect_unlocked 1" 1 "$(mval sesame_connect_unlocked)"
expect_eq "... sesame_connect_unlocks_total 1" 1 "$(mval sesame_connect_unlocks_total)"
expect_eq "... sesame_connect_vaults 2" 2 "$(mval sesame_connect_vaults)"
expect_eq "... sesame_connect_items 6" 6 "$(mval sesame_connect_items)"
expect_eq "... the 500 of the first request is counted" 1 \
    "$(mval 'sesame_http_requests_total{route="/v1/vaults",status="500"}')"
expect_match "... 200s of /v1/vaults counted" '^[0-9]+$' \
    "$(mval 'sesame_http_requests_total{route="/v1/vaults",status="200"}')"
expect_eq "... the five 401s of /v1/vaults counted" 5 \
    "$(mval 'sesame_http_requests_total{route="/v1/vaults",status="401"}')"
r1='/v1/vaults/{vaultUuid}/items/{itemUuid}/files'
expect_eq "... the 413s of the file routes counted" "1 1" \
    "$(mval "sesame_http_requests_total{route=\"$r1\",status=\"413\"}") $(mval \
        "sesame_http_requests_total{route=\"$r1/{fileUuid}\",status=\"413\"}")"
expect_match "... the latency histogram" '^[0-9]+$' \
    "$(mval 'sesame_http_request_duration_seconds_bucket{route="/v1/vaults",le="+Inf"}')"
expect_match "... sync lag in seconds" '^[0-9]+$' "$(mval sesame_connect_sync_lag_seconds)"
expect_match "... process_resident_memory_bytes" '^[1-9][0-9]{5,}$' "$(mval process_resident_memory_bytes)"
expect_eq "... sesame_connect_activity_dropped_total 0" 0 "$(mval sesame_connect_activity_dropped_total)"

# ---- live changes through the hub -----------------------------------------------------------
M_TN=$(rand_marker tn)
M_TN2=$(rand_marker tm)
item_is() { # ID VERSION [TITLE]: the api serves the item at that version (and title)
    local r
    r=$(get "$TOK" "/v1/vaults/$VA/items/$1")
    [ "$(status_of "$r")" = 200 ] && [ "$(jqr "$(body_of "$r")" .version)" = "$2" ] &&
        { [ -z "${3:-}" ] || [ "$(jqr "$(body_of "$r")" .title)" = "$3" ]; }
}
item_gone() {
    local r
    r=$(get "$TOK" "/v1/vaults/$VA/items/$1")
    [ "$(status_of "$r")" = 404 ]
}
cv0=$(jqr "$(body_of "$(get "$TOK" "/v1/vaults/$VA")")" .contentVersion)
cli item create --vault "$VA" --category LOGIN --title "New $M_TN" --field "user=carol" --format json
IN=$(jqr "$OUT" .id)
t0=$(now_ms)
wait_for "an item created with the CLI appears on the api" 8 item_is "$IN" 1 "New $M_TN" || true
echo "# ... after $(elapsed_ms "$t0") ms"
expect_eq "... listed by title" "200 $IN" "$(ifilter "$VA" "filter=title+eq+%22New+$M_TN%22")"
a=$(get "$TOK" "/v1/vaults/$VA")
expect_eq "... the vault counts six items, contentVersion up" "6 1" \
    "$(jqr "$(body_of "$a")" ".items") $(jqr "$(body_of "$a")" "if .contentVersion > $cv0 then 1 else 0 end")"
cli item edit "$IN" --vault "$VA" --title "Renamed $M_TN2" --field "user=dave" --format json
expect_eq "item edit with the CLI" 0 "$RC"
t0=$(now_ms)
wait_for "... the api serves version 2 with the new title" 8 item_is "$IN" 2 "Renamed $M_TN2" || true
echo "# ... after $(elapsed_ms "$t0") ms"
a=$(get "$TOK" "/v1/vaults/$VA/items/$IN")
expect_eq "... and the new field value" dave "$(jqr "$(body_of "$a")" '.fields[] | select(.label == "user") | .value')"
expect_eq "... the old title is not listed any more" "200 " "$(ifilter "$VA" "filter=title+eq+%22New+$M_TN%22")"
cli item delete "$IN" --vault "$VA"
expect_eq "item delete with the CLI" 0 "$RC"
t0=$(now_ms)
wait_for "... the api answers 404 for it" 8 item_gone "$IN" || true
echo "# ... after $(elapsed_ms "$t0") ms"
expect_err "... item not found" 404 "item not found" "$(get "$TOK" "/v1/vaults/$VA/items/$IN")"
expect_eq "... and does not list it" "200 $IL $ID1 $ID2 $IF $IG" "$(ifilter "$VA" "")"
vault_status() { [ "$(status_of "$(get "$TOK" "/v1/vaults/$VB")")" = "$1" ]; }
cli connect vault revoke srv1 "$VB"
wait_for "a grant revoked on the hub: the vault is 404 on the api" 8 vault_status 404 || true
expect_eq "... and not listed" "$VA" "$(jqr "$(body_of "$(get "$TOK" /v1/vaults)")" '[.[].id] | join(" ")')"
cli connect vault grant srv1 "$VB"
wait_for "... granted again: back" 8 vault_status 200 || true
a=$(get "$TOK" "/v1/vaults/$VB/items/$IB")
expect_eq "... with its item" "200 $IB" "$(status_of "$a") $(jqr "$(body_of "$a")" .id)"
hub_has_activity() {
    cli activity --limit 10000 --format json
    [ "$RC" -eq 0 ] && [ "$(jqr "$OUT" "[.[] | select(.actor.userAgent == \"$UA_OK\")] | length")" = 1 ]
}
wait_for "the api's activity reaches the hub through sync (sesame activity)" 15 hub_has_activity || true

# ---- revocation -------------------------------------------------------------------------------
a=$(get "$TOK_REV" "/v1/vaults/$VA/items/$IL")
expect_status "the token to revoke works" 200 "$a"
cli connect token revoke "$JTI_REV"
expect_eq "connect token revoke" 0 "$RC"
t0=$(now_ms)
refused=0
while [ "$(elapsed_ms "$t0")" -lt 5000 ]; do
    if [ "$(status_of "$(get "$TOK_REV" "/v1/vaults/$VA/items/$IL")")" = 401 ]; then refused=1; break; fi
    sleep 0.1
done
ms=$(elapsed_ms "$t0")
expect_eq "the revoked token is refused within 2 s (${ms} ms)" "1 1" "$refused $(yes_if between "$ms" 0 2000)"
expect_err "... with 401 Invalid bearer token" 401 "Invalid bearer token" "$(get "$TOK_REV" /v1/vaults)"
h=$(health "$API_URL" -H "Authorization: Bearer $TOK_REV")
expect_eq "... on /health it is ignored (still 200, still ACTIVE)" ACTIVE "$(dep "$h" 1Password)"
expect_status "... the other tokens still work" 200 "$(get "$TOK" /v1/vaults)"

# ---- hostile input ------------------------------------------------------------------------------
hostile_401() { # DESCRIPTION AUTHORIZATION-HEADER
    expect_err "$1: 401" 401 "Invalid bearer token" "$(get "" /v1/vaults -H "Authorization: $2")"
}
hostile_401 "Authorization: Bearer (no token)" "Bearer"
hostile_401 "Authorization: Bearer and blanks" "Bearer    "
hostile_401 "Authorization: Basic" "Basic dXNlcjpwYXNz"
hostile_401 "Authorization: the token without a scheme" "$TOK"
hostile_401 "Authorization: Bearer a.b.c" "Bearer a.b.c"
hostile_401 "Authorization: Bearer .." "Bearer .."
hostile_401 "a 5000-byte token" "Bearer $LONG5000"
hostile_401 "a 9000-byte token" "Bearer $(b64rand 6750 | head -c 9000)"
hostile_401 "high bytes in the token" $'Bearer \xff\xfe\xfd.\xc3\x28.\xe2\x82'
hostile_401 "the token's signature replaced" "Bearer ${TOK%.*}.$(printf '%s' "${TOK##*.}" | rev)"
hostile_401 "another server's claims with this token's signature" \
    "Bearer $(printf '%s' "$TOK2" | cut -d. -f1-2).${TOK##*.}"
hostile_401 "this token's claims with another server's signature" \
    "Bearer $(printf '%s' "$TOK" | cut -d. -f1-2).${TOK2##*.}"
NONE=$(printf '{"alg":"none","typ":"JWT"}' | base64 -w 0 | tr '+/' '-_' | tr -d '=')
hostile_401 "alg none" "Bearer $NONE.$(printf '%s' "$TOK" | cut -d. -f2)."
hostile_401 "the revoked token with a space appended" "Bearer $TOK_REV "
a=$(get "" /v1/vaults -H "Authorization: bearer $TOK")
expect_status "Authorization: bearer (lower-case scheme) works" 200 "$a"
code=$(curl -s -o "$T/big.out" -w '%{http_code}' -H "Authorization: Bearer $(b64rand 15000)" \
    "$API_URL/v1/vaults" || true)
expect_eq "a 20 KB Authorization header: 431" 431 "$code"
expect_eq "... with a JSON body" 431 "$(jq -r .status "$T/big.out" 2>/dev/null || true)"
r=$(get "$TOK" "/v1/vaults?filter=%zz")
expect_error "bad percent-encoding in the query (%zz): 400" 400 "$r"
r=$(get "$TOK" "/v1/vaults?filter=name+eq+%22x%")
expect_error "a truncated escape at the end of the query: 400" 400 "$r"
r=$(get "$TOK" "/v1/vaults?filter=name+eq+%22a%00b%22")
expect_error "a NUL in the filter: 400" 400 "$r"
r=$(get "$TOK" "/v1/vaults?filter=name+eq+%22%ff%fe%22")
expect_error "invalid UTF-8 in the filter: 400" 400 "$r"
r=$(get "$TOK" "/v1/vaults?filter=name+eq+%22x%22;x=1")
expect_error "a semicolon in the query: 400" 400 "$r"
r=$(get "$TOK" "/v1/vaults/$VA/items?filter=title+eq+%22$(head -c 3000 /dev/zero | tr '\0' 'a')%22")
expect_eq "a 3000-byte filter value: 200 []" "200 []" "$(status_of "$r") $(jqs "$(body_of "$r")" .)"
r=$(get "$TOK" "/v1/vaults?filter=$(head -c 5000 /dev/zero | tr '\0' 'a')")
expect_error "a 5000-byte query: 414" 414 "$r"
r=$(get "$TOK" "/v1/$(head -c 6000 /dev/zero | tr '\0' 'x')")
expect_error "a 6000-byte path: 414" 414 "$r"
r=$(get "$TOK" "$(printf '/v1%.0s' {1..40})")
expect_error "a path of 40 segments: 404" 404 "$r"
r=$(get "$TOK" "/v1/vaults/$(head -c 3000 /dev/zero | tr '\0' 'a')")
expect_err "a 3000-byte vault id: 400" 400 "Invalid Vault UUID" "$r"
r=$(get "$TOK" "/v1/vaults/..%2f..%2fetc" --path-as-is)
expect_error "an encoded / in the path: 400" 400 "$r"
r=$(get "$TOK" "/v1/vaults/%zz" --path-as-is)
expect_error "a bad escape in the path: 400" 400 "$r"
expect_err "a .. segment: 400" 400 "Invalid request path" "$(get "$TOK" "/v1/vaults/../vaults" --path-as-is)"
expect_err "an encoded .. segment: 400" 400 "Invalid request path" "$(get "$TOK" "/v1/%2e%2e/v1/vaults" --path-as-is)"
expect_err "an unknown /v1 path: 404" 404 "Resource not found" "$(get "$TOK" /v1/secrets)"
expect_eq "... JSON, with 1Password-Connect-Version" "application/json 1.8.1" \
    "$(hdr Content-Type | cut -d';' -f1) $(hdr 1Password-Connect-Version)"
expect_err "an unknown path under a vault: 404" 404 "Resource not found" "$(get "$TOK" "/v1/vaults/$VA/users")"
expect_err "/v1//vaults: 404" 404 "Resource not found" "$(get "$TOK" //v1//vaults --path-as-is)"
for m in PUT POST PATCH DELETE; do
    r=$(get "$TOK" "/v1/vaults/$VA/items/$IL/files" -X "$m" -H 'Content-Type: application/json' -d '{"title":"x"}')
    expect_err "$m on an item's files: 405" 405 "Method not allowed" "$r"
    expect_match "... Allow lists GET" 'GET' "$(hdr Allow)"
done
r=$(get "$TOK" "/v1/vaults" -X POST -H 'Content-Type: application/json' -d '{"name":"x"}')
expect_err "POST /v1/vaults (no vault creation in Connect): 405" 405 "Method not allowed" "$r"
r=$(get "$TOK" /v1/vaults -X OPTIONS)
expect_err "OPTIONS: 405" 405 "Method not allowed" "$r"
cli item list --vault "$VA" --format json
expect_eq "... none of them wrote anything" 5 "$(jqr "$OUT" length)"
code=$(curl -s -o /dev/null -D "$T/h" -w '%{http_code} %{size_download}' -I "$API_URL/heartbeat" || true)
expect_eq "HEAD /heartbeat: 200, no body" "200 0" "$code"
code=$(curl -s -o /dev/null -D "$T/h" -w '%{http_code} %{size_download}' -I -H "Authorization: Bearer $TOK" \
    "$API_URL/v1/vaults/$VA/items/$IL" || true)
expect_eq "HEAD an item: 200, no body, a Content-Length" "200 0 1" \
    "$code $(yes_if [ "$(hdr Content-Length)" -gt 100 ])"
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$API_URL/v1/vaults" || true)
expect_eq "HEAD without a token: 401" 401 "$code"
# a raw request line curl would not send
resp=$(raw 'GET /v1/vaults HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\nConnection: close\r\n\r\n')
expect_match "a raw request with an empty bearer: 401" '^HTTP/1\.1 401' "$resp"
resp=$(raw 'GARBAGE\r\n\r\n')
expect_match "a garbage request line: 400 or the connection closed" '^(HTTP/1\.[01] 400.*)?$' "$(head -n 1 <<<"$resp")"
resp=$(raw 'GET /v1/vaults HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n')
expect_match "a header line without a colon: 400 or the connection closed" '^(HTTP/1\.[01] 400.*)?$' \
    "$(head -n 1 <<<"$resp")"
a=$(get "" /heartbeat)
expect_eq "after all of it the api still answers /heartbeat" "200 ." "$(status_of "$a") $(body_of "$a")"
expect_eq "... and runs" 1 "$(yes_if kill -0 "$API_PID")"
expect_status "... and serves" 200 "$(get "$TOK" "/v1/vaults/$VA/items/$IL")"

# ---- the hub goes away: reads keep working ------------------------------------------------
BEFORE_VAULTS=$(jqs "$(body_of "$(get "$TOK" /v1/vaults)")" .)
BEFORE_ITEM=$(jqs "$(body_of "$(get "$TOK" "/v1/vaults/$VA/items/$IL")")" 'del(.fields[].totp)')
OLD_HUB_PORT=$HUB_PORT
rc=0
hub_stop TERM || rc=$?
expect_eq "the hub stops" 0 "$rc"
sync_not_active() { [ "$(dep "$(health "$API_URL")" sync)" = DISCONNECTED ]; }
wait_for "the api's /health: sync DISCONNECTED" 10 sync_not_active || true
h=$(health "$API_URL")
expect_match "... saying the data's age" 'serving the data synced [0-9]+ seconds ago' "$(depmsg "$h" sync)"
expect_eq "... account_data still ACTIVE" ACTIVE "$(dep "$h" account_data)"
h=$(health "$SYNC_URL")
expect_eq "sync's own /health: hub UNREACHABLE" UNREACHABLE "$(dep "$h" hub)"
expect_eq "hub down: the vault list is the same" "$BEFORE_VAULTS" "$(jqs "$(body_of "$(get "$TOK" /v1/vaults)")" .)"
expect_eq "hub down: the item is the same" "$BEFORE_ITEM" \
    "$(jqs "$(body_of "$(get "$TOK" "/v1/vaults/$VA/items/$IL")")" 'del(.fields[].totp)')"
code=$(curl -s -o "$T/c3.bin" -w '%{http_code}' -H "Authorization: Bearer $TOK" \
    "$API_URL/v1/vaults/$VA/items/$IF/files/$F2/content" || true)
if [ "$code" = 200 ] && cmp -s "$T/c3.bin" "$T/f/data.bin"; then ok "hub down: file content served"; else
    not_ok "hub down: file content served ($code)"; fi
expect_eq "hub down: filters work" "200 $ID1 $ID2" "$(ifilter "$VA" 'filter=tag+eq+%22dup%22')"
hub_start "$T/hub" --addr "127.0.0.1:$OLD_HUB_PORT" || { not_ok "the hub restarts on its port"; finish; }
ok "the hub restarts on the same port with the same data"
wait_for "the api's /health: sync ACTIVE again" 25 api_synced || true
cli item create --vault "$VA" --category PASSWORD --title "after the outage" --format json
IO=$(jqr "$OUT" .id)
wait_for "... a new item flows again" 10 item_is "$IO" 1 || true

# ---- restarting the api: locked again, then the same data -------------------------------------
rc=0
connect_stop API || rc=$?
expect_eq "the api stops on SIGTERM with status 0" 0 "$rc"
# alpha's counts move with the item added after the outage; everything else must not
STABLE='map(if .id == "'"$VA"'" then del(.contentVersion, .items, .updatedAt) else . end)'
BEFORE_VAULTS=$(jqs "$BEFORE_VAULTS" "$STABLE")
connect_start api API "$T/srv1.json" "$XDG" || { not_ok "the api restarts"; finish; }
ok "the api restarts"
h=$(health "$API_URL")
expect_eq "... locked again: 1Password UNINITIALIZED" UNINITIALIZED "$(dep "$h" 1Password)"
expect_err "... no token: 401" 401 "Invalid bearer token" "$(get "" /v1/vaults)"
expect_err "... another server's token: 401" 401 "Invalid bearer token" "$(get "$TOK2" /v1/vaults)"
expect_eq "... still locked" UNINITIALIZED "$(dep "$(health "$API_URL")" 1Password)"
expect_err "... the revoked token does not unlock it" 401 "Invalid bearer token" "$(get "$TOK_REV" /v1/vaults)"
expect_eq "... still locked after it" UNINITIALIZED "$(dep "$(health "$API_URL")" 1Password)"
h=$(health "$API_URL" -H "Authorization: Bearer $TOK")
expect_eq "... a valid token on /health unlocks it" ACTIVE "$(dep "$h" 1Password)"
t0=$(now_ms)
a=$(get "$TOK" /v1/vaults)
ms=$(elapsed_ms "$t0")
expect_status "... then data: 200" 200 "$a"
expect_eq "... served at once from the volume (${ms} ms)" 1 "$(yes_if between "$ms" 0 3000)"
expect_eq "... the same vaults" "$BEFORE_VAULTS" \
    "$(jqs "$(body_of "$a")" "$STABLE")"
expect_eq "... the same item" "$BEFORE_ITEM" \
    "$(jqs "$(body_of "$(get "$TOK" "/v1/vaults/$VA/items/$IL")")" 'del(.fields[].totp)')"
expect_eq "... and the one added after the outage" "200 $IO" \
    "$(ifilter "$VA" 'filter=title+eq+%22after+the+outage%22')"
expect_eq "... 1Password ACTIVE" ACTIVE "$(dep "$(health "$API_URL")" 1Password)"
a=$(get "$TOK" "/v1/activity?limit=1000")
expect_eq "... the activity of the first api run is kept" 1 \
    "$(jqr "$(body_of "$a")" "[.[] | select(.actor.userAgent == \"$UA_OK\")] | length")"

# ---- restarting sync: nothing is pulled again ---------------------------------------------
dbq() { sqlite3 -readonly -cmd '.timeout 3000' "$DATA/sesame.db" "$1" 2>/dev/null || true; }
SEQ0=$(dbq 'SELECT last_seq FROM meta')
expect_match "the volume's meta has a last_seq" '^[1-9][0-9]*$' "$SEQ0"
rc=0
connect_stop SYNC || rc=$?
expect_eq "sync stops on SIGTERM with status 0" 0 "$rc"
sync_unavailable() { [ "$(dep "$(health "$API_URL")" sync)" = UNAVAILABLE ]; }
wait_for "the api's /health: sync UNAVAILABLE" 5 sync_unavailable || true
expect_status "sync down: the api still serves" 200 "$(get "$TOK" "/v1/vaults/$VA/items/$IL")"
connect_start sync SYNC2 "$T/srv1.json" "$XDG" || { not_ok "sync restarts"; finish; }
ok "sync restarts"
wait_for "... the api unlocks it again: sync ACTIVE" 15 api_synced || true
in_step() { grep -q 'in step with the hub' "$SYNC2_LOG"; }
wait_for "... its first pass is logged" 10 in_step || true
expect_match "... and pulled no vault again" 'in step with the hub at seq [0-9]+ \(0 vaults pulled whole\)' \
    "$(grep 'in step with the hub' "$SYNC2_LOG" || true)"
expect_eq "... no other pull either" 1 "$(grep -c 'pulled whole' "$SYNC2_LOG" || true)"
expect_eq "... the volume's last_seq did not move" "$SEQ0" "$(dbq 'SELECT last_seq FROM meta')"
if [ -n "$BUSREQ" ] && [ -x "$BUSREQ" ]; then
    st=$(env OP_SESSION="$T/srv1.json" XDG_DATA_HOME="$XDG" "$BUSREQ" status 2>&1 || true)
    expect_eq "... bus status: unlocked, connected, 0 vaults pulled since start" "true true 0" \
        "$(jqr "$st" '"\(.unlocked) \(.connected) \(.pulled)"')"
fi
expect_eq "... the api serves the same vaults" "$BEFORE_VAULTS" \
    "$(jqs "$(body_of "$(get "$TOK" /v1/vaults)")" "$STABLE")"
cli item edit "$IO" --vault "$VA" --title "after the restarts" --format json
wait_for "... and changes flow through the new sync" 10 item_is "$IO" 2 "after the restarts" || true

# ---- no plaintext on the volume ------------------------------------------------------------
MARKERS=("$M_VA" "$M_VB" "$M_TL" "$M_PW" "$M_NT" "$M_TD" "$M_TF" "$M_TB" "$M_F1" "$M_F2" "$M_F3"
    "$M_TN" "$M_TN2" "$OTP_SECRET" "$UNLOCK" "${TOK##*.}" "$(printf '%s' "$TOK" | cut -d. -f2)")
no_plaintext() { # DESCRIPTION
    local args=() m found
    for m in "${MARKERS[@]}"; do args+=(-e "$m"); done
    found=$(grep -a -r -D skip -l -F "${args[@]}" "$DATA" 2>/dev/null || true)
    if [ -z "$found" ]; then ok "$1"; else
        not_ok "$1: found in $(echo "$found" | tr '\n' ' ')"
        for m in "${MARKERS[@]}"; do
            if grep -a -r -D skip -q -F -e "$m" "$DATA"; then echo "#   marker $m"; fi
        done
    fi
}
expect_eq "the volume has its database, WAL and files" "1 1 1" \
    "$(yes_if [ -s "$DATA/sesame.db" ]) $(yes_if [ -e "$DATA/sesame.db-wal" ])$(printf ' %s' \
        "$(yes_if [ -n "$(ls -A "$DATA/files" 2>/dev/null)" ])")"
expect_eq "grep sees ids in the volume (the search works)" 1 "$(yes_if grep -a -r -D skip -q -F "$IL" "$DATA")"
no_plaintext "no title, field value, file content, vault name, OTP secret, unlock secret or token \
on the volume (processes running)"

# ---- clean stop ----------------------------------------------------------------------------------
rc=0
connect_stop API || rc=$?
expect_eq "the api stops on SIGTERM with status 0" 0 "$rc"
rc=0
connect_stop SYNC2 || rc=$?
expect_eq "sync stops on SIGTERM with status 0" 0 "$rc"
no_plaintext "no plaintext on the volume after both stopped (WAL checkpointed or not)"
logs_leak=$(grep -l -F -e "$M_PW" -e "$M_NT" -e "$M_F1" -e "$OTP_SECRET" -e "$UNLOCK" -e "${TOK##*.}" \
    -e "$M_TL" "$API_LOG" "$SYNC_LOG" "$SYNC2_LOG" 2>/dev/null || true)
expect_eq "no secret, title or token in the api and sync logs" "" "$logs_leak"
expect_eq "every api and sync log line is JSON" 0 \
    "$(cat "$API_LOG" "$SYNC_LOG" "$SYNC2_LOG" | grep -v '^sesame: ' |
        jq -R 'fromjson? // "bad"' 2>/dev/null | grep -c '^"bad"$' || true)"
expect_clean_logs "no sanitizer report in the api and sync logs" "$API_LOG" "$SYNC_LOG" "$SYNC2_LOG"
rc=0
hub_stop TERM || rc=$?
expect_eq "the hub stops cleanly" 0 "$rc"
expect_clean_log "no sanitizer report in the hub log"
finish
