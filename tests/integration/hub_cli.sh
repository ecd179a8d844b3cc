#!/usr/bin/env bash
# hub_cli.sh - every admin command of the CLI against a real hub: account, vault, item,
# connect (servers, grants, tokens) and activity, checked through the CLI (--format json)
# and through the hub API (hubreq, admin-signed and as a Connect server's sync); conflicts,
# attacks on admin signatures, and the CLI's error lines.
set -euo pipefail
. "$(dirname "$0")/lib.bash"

hub_test_init
hub_start "$T/hub" || { not_ok "the hub starts"; finish; }
ok "the hub starts"
idre='^[a-z2-7]{26}$'
jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }

# ---- account -------------------------------------------------------------------------------
cli account init --hub "$HUB_URL"
expect_eq "account init exits 0" 0 "$RC"
[ -n "$ERR" ] && echo "# account init stderr: $ERR"
expect_eq "the kit is written with mode 600" 600 "$(stat -c %a "$SESAME_ACCOUNT_KIT" 2>/dev/null)"
ACCOUNT=$(jq -r '.account // empty' "$SESAME_ACCOUNT_KIT" 2>/dev/null || true)
expect_match "the kit names an uppercase account" '^[A-Z2-7]{26}$' "$ACCOUNT"
cli account show --format json
expect_eq "account show exits 0" 0 "$RC"
expect_eq "account show: the account id" "$ACCOUNT" "$(jqr "$OUT" '.id // .account')"
cli account show
expect_eq "account show (human) exits 0" 0 "$RC"
expect_match "account show (human) names the account" "$ACCOUNT" "$OUT"
a=$(hreq GET /v1/account)
expect_status "GET /v1/account signed by the kit" 200 "$a"
expect_eq "the hub's account is the kit's" "$ACCOUNT" "$(jqr "$(body_of "$a")" .id)"
cli account init --hub "$HUB_URL"
expect_cli_error "account init over an existing kit fails" 1
cli account init --hub "$HUB_URL" --out "$T/kit2.json"
expect_cli_error "a second account on a closed hub is refused" 1
expect_match "... saying registration is closed (403)" '(closed|403|not allowed|registration)' "$ERR"

# ---- vaults --------------------------------------------------------------------------------
cli vault create alpha --format json
expect_eq "vault create alpha" 0 "$RC"
VA=$(jqr "$OUT" .id)
expect_match "vault alpha: an id" "$idre" "$VA"
expect_eq "vault alpha: its name" alpha "$(jqr "$OUT" .name)"
cli vault create beta --description "the second one" --format json
VB=$(jqr "$OUT" .id)
expect_match "vault beta: an id" "$idre" "$VB"
cli vault create gamma --format json
VC=$(jqr "$OUT" .id)
cli vault list --format json
expect_eq "vault list: three vaults, oldest first" "alpha beta gamma" \
    "$(jqr "$OUT" '[.[].name] | join(" ")')"
cli vault list
expect_match "vault list (human) names beta" beta "$OUT"
cli vault get beta --format json
expect_eq "vault get by name" "$VB" "$(jqr "$OUT" .id)"
cli vault get "$(printf '%s' "$VB" | tr 'a-z' 'A-Z')" --format json
expect_eq "vault get by id (either case)" beta "$(jqr "$OUT" .name)"
cli vault rename alpha alpha2 --format json
expect_eq "vault rename exits 0" 0 "$RC"
cli vault get "$VA" --format json
expect_eq "vault get after rename" alpha2 "$(jqr "$OUT" .name)"
a=$(hreq GET "/v1/vaults/$VA")
expect_eq "the hub's attributeVersion is 2 after the rename" 2 \
    "$(jqr "$(body_of "$a")" .attributeVersion)"
cli vault delete gamma
expect_eq "vault delete exits 0" 0 "$RC"
cli vault list --format json
expect_eq "vault list after delete" "alpha2 beta" "$(jqr "$OUT" '[.[].name] | join(" ")')"
cli vault get gamma
expect_cli_error "vault get of a deleted vault: one line, exit 1" 1
cli vault get "no such vault"
expect_cli_error "vault get of an unknown name: one line, exit 1" 1
cli vault create "$(head -c 1025 /dev/zero | tr '\0' 'v')"
expect_cli_error "vault create with a 1025-byte name: one line, exit 2" 2
cli vault create "$(printf 'bad\001name')"
[ "$RC" -ne 0 ] && ok "vault create with a control character fails" ||
    not_ok "vault create with a control character fails"

# ---- items ---------------------------------------------------------------------------------
cli item create --vault alpha2 --category LOGIN --title "web login" --field "username=alice" \
    --generate-password --format json
expect_eq "item create from flags" 0 "$RC"
I1=$(jqr "$OUT" .id)
expect_match "item 1: an id" "$idre" "$I1"
cli item get "$I1" --vault alpha2 --format json
expect_eq "item get: title" "web login" "$(jqr "$OUT" .title)"
expect_eq "item get: the --field username=alice" 1 \
    "$(jqr "$OUT" '[.fields[] | select(.label == "username" and .value == "alice")] | length')"
pw=$(jqr "$OUT" '.fields[] | select(.purpose == "PASSWORD") | .value')
expect_match "item get: a generated password" '^.{16,}$' "$pw"
expect_eq "item get: version 1" 1 "$(jqr "$OUT" .version)"
expect_eq "item get: vault" "$VA" "$(jqr "$OUT" .vault.id)"

cat >"$T/full.json" <<'EOF'
{"title": "db creds", "category": "DATABASE", "tags": ["prod", "db"],
 "urls": [{"href": "https://db.example.com", "primary": true}],
 "sections": [{"id": "s1", "label": "extra"}],
 "fields": [{"id": "hostname", "value": "db.internal"},
            {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "value": "hunter2"},
            {"id": "note1", "type": "STRING", "label": "comment", "value": "x", "section": {"id": "s1"}}]}
EOF
cli item create --vault "$VA" --format json "$T/full.json"
expect_eq "item create from a FullItem JSON file" 0 "$RC"
I2=$(jqr "$OUT" .id)
expect_match "item 2: an id" "$idre" "$I2"
cli item create --vault "$VA" --format json - <"$T/full.json"
expect_eq "item create from a FullItem JSON on stdin" 0 "$RC"
I3=$(jqr "$OUT" .id)
cli item get "$I2" --vault "$VA" --format json
expect_eq "item 2: tags" "db,prod" "$(jqr "$OUT" '.tags | sort | join(",")')"
expect_eq "item 2: password" hunter2 "$(jqr "$OUT" '.fields[] | select(.id == "password") | .value')"
expect_eq "item 2: section field" x "$(jqr "$OUT" '.fields[] | select(.id == "note1") | .value')"
expect_eq "item 2: category" DATABASE "$(jqr "$OUT" .category)"

printf 'first attachment\n' >"$T/a.txt"
head -c 70000 /dev/urandom >"$T/b.bin"
cli item create --vault "$VA" --category SECURE_NOTE --title "with files" --file "$T/a.txt" \
    --file "$T/b.bin" --format json
expect_eq "item create with two --file attachments" 0 "$RC"
I4=$(jqr "$OUT" .id)
cli item get "$I4" --vault "$VA" --format json
expect_eq "item 4: two files" "a.txt b.bin" "$(jqr "$OUT" '[.files[].name] | sort | join(" ")')"
expect_eq "item 4: sizes" "17 70000" "$(jqr "$OUT" '[.files[] | .size] | sort | map(tostring) | join(" ")')"
rc=0; "$SESAME" item file "$I4" b.bin --vault "$VA" >"$T/b.back" 2>"$T/b.err" || rc=$?
expect_eq "item file: exits 0" 0 "$rc"
if cmp -s "$T/b.bin" "$T/b.back"; then ok "item file: the attachment comes back byte for byte"
else not_ok "item file: the attachment comes back byte for byte"; fi
rc=0; "$SESAME" item file "$I4" a.txt --vault "$VA" --out "$T/a.back" 2>"$T/a.err" || rc=$?
expect_eq "item file --out: exits 0" 0 "$rc"
expect_eq "item file --out: mode 600" 600 "$(stat -c %a "$T/a.back")"
expect_eq "item file --out: contents" "first attachment" "$(cat "$T/a.back")"
rc=0; "$SESAME" item file "$I4" a.txt --vault "$VA" --out "$T/a.back" 2>"$T/a.err" || rc=$?
expect_eq "item file --out over an existing file: exit 1" 1 "$rc"
rc=0; "$SESAME" item file "$I4" missing.txt --vault "$VA" >/dev/null 2>"$T/m.err" || rc=$?
expect_eq "item file of an unknown name: exit 1" 1 "$rc"
expect_eq "item file of an unknown name: one line" 1 "$(wc -l <"$T/m.err")"
a=$(hreq GET "/v1/changes?since=0")
expect_eq "the hub has two file_put changes" 2 \
    "$(jqr "$(body_of "$a")" '[.changes[] | select(.kind == "file_put")] | length')"

cli item list --vault "$VA" --format json
expect_eq "item list: four items" 4 "$(jqr "$OUT" length)"
expect_eq "item list: titles" "db creds,db creds,web login,with files" \
    "$(jqr "$OUT" '[.[].title] | sort | join(",")')"
cli item list --vault "$VB" --format json
expect_eq "item list of an empty vault" 0 "$(jqr "$OUT" length)"

cli item edit "$I1" --vault "$VA" --title "web login 2" --field "extra=42" --format json
expect_eq "item edit" 0 "$RC"
cli item get "$I1" --vault "$VA" --format json
expect_eq "item edit: new title" "web login 2" "$(jqr "$OUT" .title)"
expect_eq "item edit: new field" 42 "$(jqr "$OUT" '.fields[] | select(.label == "extra") | .value')"
expect_eq "item edit: the password is kept" "$pw" "$(jqr "$OUT" '.fields[] | select(.purpose == "PASSWORD") | .value')"
expect_eq "item edit: version 2" 2 "$(jqr "$OUT" .version)"
a=$(hreq GET "/v1/vaults/$VA/items/$I1")
expect_eq "the hub's item is version 2" 2 "$(jqr "$(body_of "$a")" .version)"
expect_eq "lastEditedBy is the account" "$ACCOUNT" "$(jqr "$(body_of "$a")" .lastEditedBy)"
cli item edit "$I1" --vault "$VA" --notes "first note" --format json
expect_eq "item edit --notes adds the notes field" "first note" "$(jqr "$OUT" '.fields[] | select(.id == "notesPlain") | .value')"
cli item edit "$I1" --vault "$VA" --notes "second note" --format json
expect_eq "item edit --notes again changes it (no duplicate field)" "second note" \
    "$(jqr "$OUT" '[.fields[] | select(.id == "notesPlain") | .value] | join(",")')"

# Two edits racing: both succeed (a 409 makes the CLI re-read and retry), two versions more.
"$SESAME" item edit "$I2" --vault "$VA" --field "race1=a" >"$T/race1.out" 2>&1 &
p1=$!
"$SESAME" item edit "$I2" --vault "$VA" --field "race2=b" >"$T/race2.out" 2>&1 &
p2=$!
r1=0 r2=0
wait $p1 || r1=$?
wait $p2 || r2=$?
expect_eq "two racing edits both succeed" "0 0" "$r1 $r2"
cli item get "$I2" --vault "$VA" --format json
expect_eq "after the race: version 3" 3 "$(jqr "$OUT" .version)"
expect_eq "after the race: both fields" "a b" \
    "$(jqr "$OUT" '[.fields[] | select(.label == "race1" or .label == "race2") | .value] | sort | join(" ")')"

cli item delete "$I3" --vault "$VA"
expect_eq "item delete" 0 "$RC"
cli item get "$I3" --vault "$VA"
expect_cli_error "item get of a deleted item: one line, exit 1" 1
cli item list --vault "$VA" --format json
expect_eq "item list after delete: three" 3 "$(jqr "$OUT" length)"

# ---- Connect servers, grants, tokens ----------------------------------------------------------
cli connect server create srv1 --vault "$VA" --vault beta --out "$T/srv1.json" --format json
expect_eq "connect server create" 0 "$RC"
S1=$(jqr "$OUT" .id)
expect_match "server 1: an id" "$idre" "$S1"
expect_eq "the credentials file is mode 600" 600 "$(stat -c %a "$T/srv1.json" 2>/dev/null)"
expect_eq "the credentials file names the server" "$S1" "$(jq -r .deviceUuid "$T/srv1.json")"
cli connect server create srv1b --vault "$VA" --out "$T/srv1.json"
expect_cli_error "server create refuses to overwrite a credentials file" 1
cli connect server list --format json
expect_eq "server list: srv1 with alpha2 and beta" "alpha2 beta" \
    "$(jqr "$OUT" '.[] | select(.name == "srv1") | [.vaults[].name] | sort | join(" ")')"
cli connect vault revoke srv1 beta
expect_eq "connect vault revoke" 0 "$RC"
cli connect vault grant srv1 "$VC" 
expect_cli_error "granting a deleted vault fails" 1
a=$(hreq GET "/v1/servers/$S1")
expect_eq "the hub's server has one grant" "$VA" "$(jqr "$(body_of "$a")" '.grants | join(" ")')"
cli connect vault grant srv1 beta
expect_eq "connect vault grant" 0 "$RC"
a=$(hreq GET "/v1/servers/$S1")
expect_eq "the hub's server has two grants" "$(printf '%s\n' "$VA" "$VB" | sort | tr '\n' ' ')" \
    "$(jqr "$(body_of "$a")" '.grants[]' | sort | tr '\n' ' ')"

cli connect token create tok-r --server srv1 --vault "alpha2:r"
expect_eq "connect token create (read only, alpha2)" 0 "$RC"
TOK_R=$OUT
claims=$(jwt_payload "$TOK_R")
expect_eq "token vts: alpha2 only, access 1" "[{\"u\":\"$VA\",\"a\":1}]" "$(jqr "$claims" '."1password.com/vts" | tojson')"
expect_eq "token sub: the server id in uppercase" "$(printf '%s' "$S1" | tr 'a-z' 'A-Z')" "$(jqr "$claims" .sub)"
expect_eq "token auuid: the account" "$ACCOUNT" "$(jqr "$claims" '."1password.com/auuid"')"
expect_eq "token: no exp without --expires-in" null "$(jqr "$claims" .exp)"
JTI_R=$(jqr "$claims" .jti)
cli connect token create tok-rw --server "$S1" --vault alpha2:rw --vault beta:w --expires-in 1h --format json
expect_eq "connect token create (json, two vaults, expiry)" 0 "$RC"
TOK_RW=$(jqr "$OUT" .token)
JTI_RW=$(jqr "$OUT" .jti)
claims=$(jwt_payload "$TOK_RW")
expect_eq "token 2 vts" "$(printf '%s\n' "$VA:3" "$VB:2" | sort | tr '\n' ' ')" \
    "$(jqr "$claims" '."1password.com/vts"[] | "\(.u):\(.a)"' | sort | tr '\n' ' ')"
expect_eq "token 2 exp is iat + 3600" 3600 "$(jqr "$claims" '.exp - .iat')"
cli connect token list --format json
expect_eq "token list: two tokens" "tok-r tok-rw" "$(jqr "$OUT" '[.[].name] | sort | join(" ")')"
expect_eq "token list: not revoked" "null null" "$(jqr "$OUT" '[.[].revokedAt | tostring] | join(" ")')"
a=$(hreq GET "/v1/tokens?server=$S1")
expect_eq "the hub lists both tokens of the server" 2 "$(jqr "$(body_of "$a")" length)"
TOK_R_SHA=$(printf '%s' "$TOK_R" | sha256sum | cut -d' ' -f1)
if grep -qF -- "$(printf '%s' "$TOK_R" | cut -d. -f3)" <<<"$(body_of "$a")"; then
    not_ok "the hub never sees the token text"; else ok "the hub never sees the token text"; fi

# Deleting a granted vault: the server's grant goes, with reason vaultDeleted in its feed.
cli vault create delta --format json
VD=$(jqr "$OUT" .id)
cli item create --vault delta --category LOGIN --title "in delta" --format json
ID=$(jqr "$OUT" .id)
cli connect vault grant srv1 delta
expect_eq "grant delta to srv1" 0 "$RC"
a=$(hsync "$T/srv1.json" "$TOK_R" GET /v1/sync/state)
SEQD=$(jqr "$(body_of "$a")" .lastSeq)
expect_eq "sync state lists the grant of delta" 1 "$(jqr "$(body_of "$a")" "[.grants[] | select(.vault == \"$VD\")] | length")"
a=$(hsync "$T/srv1.json" "$TOK_R" GET "/v1/sync/vaults/$VD/items/$ID")
expect_status "sync reads an item of delta" 200 "$a"
cli vault delete delta
expect_eq "vault delete of a granted vault" 0 "$RC"
a=$(hsync "$T/srv1.json" "$TOK_R" GET "/v1/sync/changes?since=$SEQD")
expect_eq "sync feed: grant_delete of delta, reason vaultDeleted" "vaultDeleted" \
    "$(jqr "$(body_of "$a")" ".changes[] | select(.kind == \"grant_delete\" and .vault == \"$VD\") | .payload.reason")"
a=$(hsync "$T/srv1.json" "$TOK_R" GET /v1/sync/state)
expect_eq "sync state no longer lists delta" 0 "$(jqr "$(body_of "$a")" "[.grants[] | select(.vault == \"$VD\")] | length")"
a=$(hsync "$T/srv1.json" "$TOK_R" GET "/v1/sync/vaults/$VD/items/$ID")
expect_error "sync read of an item of the deleted vault -> 403" 403 "$a"
a=$(hreq GET "/v1/vaults/$VD/items/$ID")
expect_error "admin read of an item of the deleted vault -> 404" 404 "$a"

# Sync view with the token: state, changes, items.
a=$(hsync "$T/srv1.json" "$TOK_R" GET /v1/sync/state)
expect_status "sync state with the server's token" 200 "$a"
expect_eq "sync state: two grants with wrapped keys" 2 \
    "$(jqr "$(body_of "$a")" '[.grants[] | select(.keyWrapped | length > 40)] | length')"
a=$(hsync "$T/srv1.json" "$TOK_R" GET "/v1/sync/vaults/$VA/items")
expect_eq "sync items of alpha2: three, with details" 3 \
    "$(jqr "$(body_of "$a")" '[.[] | select(.details | length > 0)] | length')"
a=$(hsync "$T/srv1.json" "$TOK_R" GET "/v1/sync/vaults/$(rand_id)/items")
expect_error "sync items of an unknown (so not granted) vault -> 403" 403 "$a"

# Revocation appears in both change feeds.
a=$(hsync "$T/srv1.json" "$TOK_R" GET /v1/sync/state)
SEQ0=$(jqr "$(body_of "$a")" .lastSeq)
cli connect token revoke "$JTI_R"
expect_eq "connect token revoke" 0 "$RC"
cli connect token revoke "$JTI_R"
expect_eq "revoking again is fine" 0 "$RC"
cli connect token list --format json
expect_match "token list: tok-r revoked" '^[0-9]{4}-' "$(jqr "$OUT" '.[] | select(.name == "tok-r") | .revokedAt')"
a=$(hreq GET "/v1/changes?since=0")
expect_eq "admin feed: one token_revoke for the jti" 1 \
    "$(jqr "$(body_of "$a")" "[.changes[] | select(.kind == \"token_revoke\" and .ref == \"$JTI_R\")] | length")"
a=$(hsync "$T/srv1.json" "$TOK_RW" GET "/v1/sync/changes?since=$SEQ0")
expect_status "sync changes" 200 "$a"
expect_eq "sync feed: the token_revoke of the jti" "$JTI_R" \
    "$(jqr "$(body_of "$a")" '.changes[] | select(.kind == "token_revoke") | .ref')"
a=$(hsync "$T/srv1.json" "$TOK_RW" GET "/v1/sync/changes?since=0&wait=1")
expect_eq "sync feed from 0: no other server's changes" 0 \
    "$(jqr "$(body_of "$a")" "[.changes[] | select(.server != \"\" and .server != \"$S1\")] | length")"

# Activity uploaded by sync is listed by the CLI.
cat >"$T/activity.json" <<EOF
{"entries": [{"requestId": "7a1b5a5c-5e0b-4b1e-9d6c-0d2f7f3e9a10", "timestamp": "2024-05-01T10:00:00Z",
  "action": "READ", "result": "SUCCESS",
  "actor": {"id": "$S1", "account": "$ACCOUNT", "jti": "$JTI_RW", "userAgent": "test", "requestIp": "127.0.0.1"},
  "resource": {"type": "ITEM", "vault": {"id": "$VA"}, "item": {"id": "$I1"}, "itemVersion": 2}}]}
EOF
a=$(hsync "$T/srv1.json" "$TOK_RW" --body "$T/activity.json" POST /v1/sync/activity)
expect_status "sync uploads activity" 204 "$a"
cli activity --format json
expect_eq "activity lists the upload" 1 "$(jqr "$OUT" 'length')"
expect_match "activity: the item" "$I1" "$OUT"
cli activity --server srv1
expect_eq "activity --server (human)" 0 "$RC"
expect_match "activity (human) shows the resource" "$I1" "$OUT"

# Long-poll: a sync request waiting for changes returns as soon as an item is written.
a=$(hsync "$T/srv1.json" "$TOK_RW" GET /v1/sync/state)
SEQ1=$(jqr "$(body_of "$a")" .lastSeq)
start=$(date +%s%N)
hsync "$T/srv1.json" "$TOK_RW" GET "/v1/sync/changes?since=$SEQ1&wait=20s" >"$T/poll.out" &
pp=$!
sleep 1
cli item create --vault "$VA" --category LOGIN --title "wake up" --format json
IW=$(jqr "$OUT" .id)
wait $pp || true
ms=$((($(date +%s%N) - start) / 1000000))
expect_eq "the long-poll returns the new item" "$IW" \
    "$(jq -r '.changes[]? | select(.kind == "item_put") | .ref' <<<"$(body_of "$(cat "$T/poll.out")")" 2>/dev/null)"
expect_eq "... well before its 20 s deadline (${ms} ms)" 1 "$([ "$ms" -lt 10000 ] && echo 1 || echo 0)"
a=$(hreq GET /v1/account)
SEQ2=$(jqr "$(body_of "$a")" .lastSeq)
start=$(date +%s%N)
a=$(hsync "$T/srv1.json" "$TOK_RW" GET "/v1/sync/changes?since=$SEQ2&wait=2")
ms=$((($(date +%s%N) - start) / 1000000))
expect_eq "a long-poll with nothing new answers empty" "200 0" \
    "$(status_of "$a") $(jqr "$(body_of "$a")" '.changes | length')"
expect_eq "... after about its 2 s wait (${ms} ms)" 1 "$([ "$ms" -ge 1500 ] && [ "$ms" -lt 8000 ] && echo 1 || echo 0)"
cli item delete "$IW" --vault "$VA"

# ---- admin signatures under attack ------------------------------------------------------------
a=$(hreq --replay 1 GET /v1/vaults)
expect_eq "a replayed admin request is 401" "200 401" "$(status_of "$a")"
expect_error "... with a JSON body" 401 "$(printf '401\n'; body_of "$a")"
expect_error "a wrong signature is 401" 401 "$(hreq --bad-sig GET /v1/vaults)"
expect_error "ts now+301 is 401" 401 "$(hreq --ts-offset 301 GET /v1/account)"
expect_error "ts now-301 is 401" 401 "$(hreq --ts-offset -301 GET /v1/account)"
expect_status "ts now-250 is still fine" 200 "$(hreq --ts-offset -250 GET /v1/account)"
printf '{"attrs":"%s"}' "$(b64rand 40)" >"$T/patch.json"
expect_error "a tampered body is 401" 401 "$(hreq --tamper-body --body "$T/patch.json" PATCH "/v1/vaults/$VB")"
cli vault get beta --format json
expect_eq "the tampered request changed nothing" beta "$(jqr "$OUT" .name)"

# ---- stale base versions: 409 (on a throw-away item of opaque blobs) --------------------------
IX=$(rand_id)
put() { printf '{"category":"LOGIN","overview":"%s","details":"%s"%s}' "$(b64rand 40)" \
    "$(b64rand 60)" "$1" | hreq --body - PUT "/v1/vaults/$VB/items/$IX"; }
a=$(put "")
expect_eq "PUT without baseVersion creates version 1" "200 1" "$(status_of "$a") $(jqr "$(body_of "$a")" .version)"
a=$(put ',"baseVersion":1')
expect_eq "PUT with baseVersion 1 gives version 2" "200 2" "$(status_of "$a") $(jqr "$(body_of "$a")" .version)"
expect_error "a second PUT with baseVersion 1 is 409" 409 "$(put ',"baseVersion":1')"
expect_error "DELETE with a stale baseVersion is 409" 409 "$(hreq DELETE "/v1/vaults/$VB/items/$IX?baseVersion=1")"
expect_status "DELETE with the right baseVersion" 204 "$(hreq DELETE "/v1/vaults/$VB/items/$IX?baseVersion=2")"

# ---- server delete -----------------------------------------------------------------------------
cli connect server delete srv1
expect_eq "connect server delete" 0 "$RC"
cli connect server list --format json
expect_eq "server list after delete" 0 "$(jqr "$OUT" length)"
a=$(hsync "$T/srv1.json" "$TOK_RW" GET /v1/sync/state)
expect_eq "a deleted server gets no session" 1 "$([ "$(status_of "$a")" != 200 ] && echo 1 || echo 0)"

# ---- CLI errors: one line on stderr, non-zero exit --------------------------------------------
SESAME_ACCOUNT_KIT="$T/nope/kit.json" cli vault list
expect_cli_error "a missing kit: one line, exit 1" 1
expect_match "... naming the kit file" 'nope/kit.json' "$ERR"
cli vault list --hub "http://127.0.0.1:$(free_port)"
expect_cli_error "an unreachable hub: one line, exit 1" 1
cli vault get "no-such-vault-$(rand_id)"
expect_cli_error "an unknown vault: one line, exit 1" 1
cli item list --vault "no-such-vault"
expect_cli_error "item list of an unknown vault: one line, exit 1" 1
cli item get "$(rand_id)" --vault "$VA"
expect_cli_error "an unknown item: one line, exit 1" 1
cli vault frobnicate
expect_cli_error "an unknown vault command: one line, exit 2" 2
cli item create --vault "$VA" --category NOT_A_CATEGORY --title x
expect_cli_error "a bad category: one line" "$RC"
[ "$RC" -ne 0 ] || not_ok "a bad category exits non-zero"
cli connect token create t --server "$(rand_id)" --vault "$VA"
expect_cli_error "a token for an unknown server: one line, exit 1" 1
cli connect token revoke not-a-jti
expect_cli_error "revoke with a malformed jti: one line, exit 2" 2
chmod 644 "$SESAME_ACCOUNT_KIT"
cli vault list
expect_cli_error "a kit readable by others is refused: one line, exit 1" 1
chmod 600 "$SESAME_ACCOUNT_KIT"

# ---- a passphrase-protected kit on a hub with open registration -------------------------------
# SIGTERM while a sync long-poll waits: the hub still stops promptly and cleanly.
cli connect server create srv2 --vault "$VA" --out "$T/srv2.json" --format json
cli connect token create tok2 --server srv2 --vault "$VA:r"
TOK2=$OUT
a=$(hreq GET /v1/account)
hsync "$T/srv2.json" "$TOK2" GET "/v1/sync/changes?since=$(jqr "$(body_of "$a")" .lastSeq)&wait=30" \
    >"$T/poll2.out" &
pp=$!
sleep 1
if kill -0 "$pp" 2>/dev/null; then ok "a sync long-poll is waiting"; else
    not_ok "a sync long-poll is waiting: [$(head -c 200 "$T/poll2.out")]"; fi
start=$(date +%s%N)
rc=0
hub_stop TERM || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
wait $pp || true
expect_eq "hub 1 stops cleanly on SIGTERM" 0 "$rc"
expect_eq "... within 5 s although a long-poll was waiting (${ms} ms)" 1 "$([ "$ms" -lt 5000 ] && echo 1 || echo 0)"
expect_clean_log "no sanitizer report in the log of hub 1"
# The hub keeps the SHA-256 of each token, never the token.
hub_db_snapshot "$T/hub" "$T/hub-at-rest"
expect_eq "the database holds the token's SHA-256" 1 \
    "$(grep -q -a -F -- "$TOK_R_SHA" "$T/hub-at-rest" && echo 1 || echo 0)"
expect_eq "the database does not hold the token" 0 \
    "$(grep -c -a -F -- "$(printf '%s' "$TOK_R" | cut -d. -f2)" "$T/hub-at-rest" || true)"
rm -f "$T/hub-at-rest"
hub_start "$T/hub2" --open-registration || { not_ok "hub 2 starts"; finish; }
printf 'correct horse battery staple\n' >"$T/pass"
cli account init --hub "$HUB_URL" --out "$T/kitp.json" --passphrase-file "$T/pass"
expect_eq "account init with a passphrase" 0 "$RC"
cli account init --hub "$HUB_URL" --out "$T/kitq.json"
expect_eq "open registration: a second account" 0 "$RC"
cli account show --kit "$T/kitp.json" --passphrase-file "$T/pass" --format json
expect_eq "account show with the passphrase" "$(jq -r .account "$T/kitp.json")" "$(jqr "$OUT" '.id // .account')"
cli account show --kit "$T/kitp.json"
expect_cli_error "a protected kit without the passphrase: one line, exit 1" 1
a=$("$HUBREQ" --kit "$T/kitp.json" --passphrase-file "$T/pass" --hub "$HUB_URL" GET /v1/account)
expect_status "hubreq with a protected kit" 200 "$a"
a=$("$HUBREQ" --kit "$T/kitq.json" --hub "$HUB_URL" GET /v1/vaults)
expect_eq "the second account sees none of the first's vaults" "200 0" "$(status_of "$a") $(jqr "$(body_of "$a")" length)"

rc=0
hub_stop TERM || rc=$?
expect_eq "the hub stops cleanly on SIGTERM" 0 "$rc"
expect_clean_log "no sanitizer report in the hub log"
finish
