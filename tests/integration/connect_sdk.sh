#!/usr/bin/env bash
# connect_sdk.sh - the official 1Password Connect JS SDK (@1password/connect 1.4.2, installed
# with npm) against a real Connect server: a hub, an account with vaults and items (tags, urls,
# an OTP field, attachments, duplicate titles, a deleted item, a deleted vault) made with the
# admin CLI, `sesame sync` and `sesame api` on one volume, then tests/js/conformance.mjs
# calls every read method of the SDK and checks what it returns and how it fails.
#
# The SDK is installed once into ${SESAME_JS_DIR:-$HOME/.cache/sesame-js} (HOME as it is
# before the test replaces it) and reused; without it and without the npm registry the test
# fails. node and npm come from scripts/install-deps.sh.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/sdk_lib.bash"

# A build without hubreq skips (hub_test_init says so) before anything is installed.
if [ -z "$HUBREQ" ] || [ ! -x "$HUBREQ" ]; then hub_test_init; fi
sdk_install

# ---- the account ---------------------------------------------------------------------------
hub_test_init
hub_start "$T/hub" || { not_ok "the hub starts"; finish; exit 1; }
ok "the hub starts"
# shellcheck disable=SC2119 # no extra arguments for account init
hub_account_init || { not_ok "account init"; finish; exit 1; }
ACCOUNT=$(jq -r .account "$SESAME_ACCOUNT_KIT")
jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }

# must DESCRIPTION ARGS...: runs the CLI; a failure stops the test (the setup is needed).
must() {
    local desc=$1
    shift
    cli "$@"
    if [ "$RC" -ne 0 ]; then
        not_ok "setup: $desc: exit $RC: $ERR"
        finish
        exit 1
    fi
}

# vault KEY NAME [ARGS...]: creates a vault; sets V_KEY to its id.
vault() {
    local key=$1
    shift
    must "vault create $1" vault create "$@" --format json
    printf -v "V_$key" '%s' "$(jqr "$OUT" .id)"
}

# item KEY VAULT ARGS...: creates an item; sets I_KEY to its id and keeps its JSON (the hub's
# view of the FullItem) in $T/item.KEY.json.
item() {
    local key=$1 vault=$2
    shift 2
    must "item create $key" item create --vault "$vault" --format json "$@"
    printf '%s' "$OUT" >"$T/item.$key.json"
    printf -v "I_$key" '%s' "$(jqr "$OUT" .id)"
}

V_alpha='' V_beta='' V_dup1='' V_dup2='' V_scoped='' V_ungranted='' V_gone='' I_deleted=''
vault alpha sdk-alpha --description "the SDK vault"
vault beta "sdk beta"
vault dup1 "sdk dup"
vault dup2 "sdk dup"
vault scoped "sdk scoped"
vault ungranted "sdk ungranted"
vault gone "sdk gone"

OTP_SECRET=JBSWY3DPEHPK3PXP
OTP_URI="otpauth://totp/x?secret=$OTP_SECRET"
cat >"$T/login.json" <<'EOF'
{"title": "sdk login", "category": "LOGIN", "tags": ["web", "prod"],
 "urls": [{"href": "https://login.example.com", "primary": true, "label": "website"},
          {"href": "https://alt.example.com"}],
 "sections": [{"id": "s1", "label": "extra"}],
 "fields": [{"id": "username", "type": "STRING", "purpose": "USERNAME", "label": "username",
             "value": "alice"},
            {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password",
             "value": "p4ss w0rd é"},
            {"id": "note1", "type": "STRING", "label": "comment", "value": "in a section",
             "section": {"id": "s1"}}]}
EOF
mkdir -p "$T/files"
printf 'h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93\nsecond line\n' >"$T/files/a.txt"
head -c 70000 /dev/urandom >"$T/files/b.bin"
: >"$T/files/empty.txt"

item login "$V_alpha" "$T/login.json" --field "otp[otp]=$OTP_URI"
item files "$V_alpha" --category SECURE_NOTE --title "sdk files" --file "$T/files/a.txt" \
    --file "$T/files/b.bin" --file "$T/files/empty.txt"
item deleted "$V_alpha" --category LOGIN --title "sdk deleted" --field "username=gone"
item dup1 "$V_alpha" --category LOGIN --title "sdk duplicate" --field "username=first"
item dup2 "$V_alpha" --category PASSWORD --title "sdk duplicate" --field "password=second"
item needle1 "$V_alpha" --category SECURE_NOTE --title "alpha needle one" --notes "one"
item needle2 "$V_alpha" --category SECURE_NOTE --title "Alpha NEEDLE two" --tags "x,y"
item betaItem "$V_beta" --category LOGIN --title "beta item" --field "username=bob" \
    --url "https://beta.example.com"
item betaNeedle "$V_beta" --category SECURE_NOTE --title "beta needle"
item scopedItem "$V_scoped" --category LOGIN --title "scoped item"
item goneItem "$V_gone" --category LOGIN --title "gone item"
must "item delete" item delete "$I_deleted" --vault "$V_alpha"
ok "setup: seven vaults, eleven items (one deleted), three attachments"

# ---- the Connect server and its tokens -------------------------------------------------------
must "connect server create" connect server create sdk-srv --out "$T/creds.json" \
    --vault "$V_alpha" --vault "$V_beta" --vault "$V_dup1" --vault "$V_dup2" \
    --vault "$V_scoped" --vault "$V_gone"
must "connect server create (another)" connect server create sdk-other --out "$T/other.json" \
    --vault "$V_alpha"

# token NAME ARGS...: mints a token (printed by the CLI) into TOK.
token() {
    local name=$1
    shift
    must "connect token create $name" connect token create "$name" "$@"
    TOK=$OUT
}
token sdk-main --server sdk-srv --vault "$V_alpha:r" --vault "$V_beta:r" --vault "$V_dup1:r" \
    --vault "$V_dup2:r" --vault "$V_gone:r"
TOKEN=$TOK
token sdk-narrow --server sdk-srv --vault "$V_alpha:r"
NARROW=$TOK
token sdk-wo --server sdk-srv --vault "$V_beta:w"
WO=$TOK
token sdk-other --server sdk-other --vault "$V_alpha:r"
OTHER=$TOK
token sdk-revoked --server sdk-srv --vault "$V_alpha:r"
REVOKED=$TOK
must "connect token revoke" connect token revoke "$(jwt_payload "$REVOKED" | jq -r .jti)"
FORGED="${TOKEN%.*}.$(b64rand 64)"
must "vault delete (a vault of the token)" vault delete "$V_gone"
must "vault list" vault list --format json
VAULTS=$OUT
ok "setup: two Connect servers, five tokens (one revoked), a granted vault deleted"

# ---- sync and api ------------------------------------------------------------------------------
XDG="$T/xdg"
mkdir -p "$XDG"
connect_start sync SYNC "$T/creds.json" "$XDG" OP_SYNC_TIMEOUT=20s ||
    { not_ok "sesame sync starts"; finish; exit 1; }
ok "sesame sync starts"
connect_start api API "$T/creds.json" "$XDG" OP_SYNC_TIMEOUT=20s ||
    { not_ok "sesame api starts"; finish; exit 1; }
ok "sesame api starts"

# synced: the api serves alpha's six active items (the first request also unlocks).
synced() {
    local a
    a=$(ccurl "$API_URL/v1/vaults/$V_alpha/items")
    [ "$(status_of "$a")" = 200 ] && [ "$(jqr "$(body_of "$a")" length)" = 6 ]
}
ready=0
for _ in $(seq 1 300); do
    if synced; then ready=1 && break; fi
    if ! kill -0 "$API_PID" 2>/dev/null || ! kill -0 "$SYNC_PID" 2>/dev/null; then break; fi
    sleep 0.1
done
if [ "$ready" = 1 ]; then
    ok "the api unlocks and serves the synced vaults"
else
    not_ok "the api unlocks and serves the synced vaults (not within 30 s, or a process exited)"
    echo "# last answer: $(ccurl "$API_URL/v1/vaults/$V_alpha/items" | head -c 300)"
    echo "# health: $(ccurl "$API_URL/health" | tail -n +2 | head -c 600)"
    tail -5 "$SYNC_LOG" | sed 's/^/#   sync: /'
    grep -v '"(W) api: unknown variable' "$API_LOG" | tail -12 | sed 's/^/#   api: /'
    not_ok "the SDK suite is not run: the api does not serve the account"
    finish
    exit 1
fi

# ---- the expected values -------------------------------------------------------------------------
items_args=()
for k in login files deleted dup1 dup2 needle1 needle2 betaItem betaNeedle scopedItem; do
    items_args+=(--slurpfile "$k" "$T/item.$k.json")
done
jq -n --arg url "$API_URL" --arg token "$TOKEN" --arg narrow "$NARROW" --arg wo "$WO" \
    --arg other "$OTHER" --arg revoked "$REVOKED" --arg forged "$FORGED" \
    --arg account "$ACCOUNT" --arg secret "$OTP_SECRET" --arg uri "$OTP_URI" \
    --arg unknown "$(rand_id)" --argjson vaults "$VAULTS" --arg filesdir "$T/files" \
    --arg va "$V_alpha" --arg vb "$V_beta" --arg vd1 "$V_dup1" --arg vd2 "$V_dup2" \
    --arg vs "$V_scoped" --arg vu "$V_ungranted" --arg vg "$V_gone" \
    "${items_args[@]}" '
    def vault($id): ($vaults[] | select(.id == $id));
    {serverURL: $url, token: $token, narrowToken: $narrow, writeOnlyToken: $wo,
     account: $account, otpSecret: $secret, otpUri: $uri, unknownId: $unknown,
     badTokens: {"a malformed token": "not-a-token",
                 "a token with a forged signature": $forged,
                 "a token of another Connect server": $other,
                 "a token revoked at the hub": $revoked},
     vaults: {alpha: vault($va), beta: vault($vb), dup1: vault($vd1), dup2: vault($vd2),
              scoped: vault($vs), ungranted: vault($vu), gone: {id: $vg, name: "sdk gone"}},
     visibleVaults: ["alpha", "beta", "dup1", "dup2"],
     items: {login: $login[0], files: $files[0], deleted: $deleted[0], dup1: $dup1[0],
             dup2: $dup2[0], needle1: $needle1[0], needle2: $needle2[0],
             betaItem: $betaItem[0], betaNeedle: $betaNeedle[0], scopedItem: $scopedItem[0]},
     alphaOrder: ["login", "files", "dup1", "dup2", "needle1", "needle2"],
     filePaths: {"a.txt": ($filesdir + "/a.txt"), "b.bin": ($filesdir + "/b.bin"),
                 "empty.txt": ($filesdir + "/empty.txt")}}' >"$T/expected.json" ||
    { not_ok "setup: the expected values are written"; finish; exit 1; }
chmod 600 "$T/expected.json"

# ---- the SDK ---------------------------------------------------------------------------------------
rc=0
start=$(date +%s%N)
SESAME_SDK_EXPECT="$T/expected.json" SESAME_JS_DIR="$JS_DIR" timeout 90 \
    node "$SRC/tests/js/conformance.mjs" >"$T/sdk.out" 2>"$T/sdk.err" || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
n_ok=0
n_bad=0
while IFS= read -r line; do
    case $line in
    "ok - "*)
        ok "sdk: ${line#ok - }"
        n_ok=$((n_ok + 1))
        ;;
    "not ok - "*)
        not_ok "sdk: ${line#not ok - }"
        n_bad=$((n_bad + 1))
        ;;
    *" passed, "*" failed") ;;
    *) echo "# sdk: $line" ;;
    esac
done <"$T/sdk.out"
sed 's/^/# sdk stderr: /' "$T/sdk.err" | head -20
if [ "$rc" -eq 0 ] && [ "$n_bad" -eq 0 ] && [ "$n_ok" -gt 50 ]; then
    ok "conformance.mjs: $n_ok checks pass, exit 0 (${ms} ms)"
elif [ "$n_bad" -eq 0 ]; then
    not_ok "conformance.mjs: exit $rc after $n_ok checks (${ms} ms)"
fi

# ---- the processes stop cleanly -----------------------------------------------------------------
for name in API SYNC; do
    src=0
    connect_stop "$name" TERM || src=$?
    expect_eq "${name,,} stops cleanly on SIGTERM" 0 "$src"
    logv="${name}_LOG"
    if grep -qE 'AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|runtime error:' \
        "${!logv}"; then
        not_ok "no sanitizer report in the $name log"
        grep -E -A15 'Sanitizer|runtime error:' "${!logv}" | head -40 | sed 's/^/#   /'
    else
        ok "no sanitizer report in the $name log"
    fi
done
hub_stop TERM || true
finish
