#!/usr/bin/env bash
# hub_zero_knowledge.sh - the hub stores only ciphertext: items written through the CLI
# with random markers in vault names and descriptions, titles, tags, URLs, field values,
# notes, section labels and file contents; the hub's database files (hub.db, -wal, -shm;
# under TEST_HUB_STORE=pg every file of the PostgreSQL test cluster, data and WAL) are
# scanned byte by byte while it runs and after a clean stop, and so are the records
# the hub serves (decoded from base64url) and its log. No marker may appear. The markers
# do come back through `sesame item get`.
set -euo pipefail
. "$(dirname "$0")/lib.bash"

hub_test_init
hub_start "$T/hub" || { not_ok "the hub starts"; finish; }
ok "the hub starts"
hub_account_init || { not_ok "account init"; finish; }
ok "account init"

M_VAULT=$(rand_marker ZKvault)
M_DESC=$(rand_marker ZKdesc)
M_TITLE=$(rand_marker ZKtitle)
M_TAG=$(rand_marker ZKtag)
M_URL=$(rand_marker ZKurl)
M_USER=$(rand_marker ZKuser)
M_PASS=$(rand_marker ZKpass)
M_NOTE=$(rand_marker ZKnote)
M_FIELD=$(rand_marker ZKfield)
M_SECTION=$(rand_marker ZKsection)
M_FILE=$(rand_marker ZKfile)
M_FLAGTITLE=$(rand_marker ZKflagtitle)
M_FLAGFIELD=$(rand_marker ZKflagfield)
M_FLAGTAG=$(rand_marker ZKflagtag)
M_FLAGNOTE=$(rand_marker ZKflagnote)
M_FLAGURL=$(rand_marker ZKflagurl)
M_EDIT=$(rand_marker ZKedit)
MARKERS=("$M_VAULT" "$M_DESC" "$M_TITLE" "$M_TAG" "$M_URL" "$M_USER" "$M_PASS" "$M_NOTE"
    "$M_FIELD" "$M_SECTION" "$M_FILE" "$M_FLAGTITLE" "$M_FLAGFIELD" "$M_EDIT" "$M_FLAGTAG"
    "$M_FLAGNOTE" "$M_FLAGURL")

cli_ok "vault create with a marker name and description" \
    vault create "$M_VAULT" --description "$M_DESC" --format json
V=$(printf '%s' "$OUT" | jq -r '.id // empty' 2>/dev/null || true)
expect_match "the vault has an id" '^[a-z2-7]{26}$' "$V"

# Item 1: a FullItem JSON on stdin.
cat >"$T/item.json" <<EOF
{"title": "$M_TITLE", "category": "LOGIN", "tags": ["$M_TAG", "plain"],
 "urls": [{"href": "https://$M_URL.example.com/", "primary": true}],
 "sections": [{"id": "sec1", "label": "$M_SECTION"}],
 "fields": [
  {"id": "username", "type": "STRING", "purpose": "USERNAME", "label": "username", "value": "$M_USER"},
  {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password", "value": "$M_PASS"},
  {"id": "notesPlain", "type": "STRING", "purpose": "NOTES", "label": "notesPlain", "value": "$M_NOTE"},
  {"id": "custom1", "type": "STRING", "label": "custom", "value": "$M_FIELD", "section": {"id": "sec1"}}
 ]}
EOF
cli item create --vault "$V" --format json - <"$T/item.json"
if [ "$RC" -eq 0 ]; then ok "item create from FullItem JSON on stdin"; else
    not_ok "item create from FullItem JSON on stdin: exit $RC: $ERR"; fi
I1=$(printf '%s' "$OUT" | jq -r '.id // empty' 2>/dev/null || true)
expect_match "item 1 has an id" '^[a-z2-7]{26}$' "$I1"

# Item 2: from flags, with a field and a file attachment whose contents hold a marker.
printf 'attachment %s end\n' "$M_FILE" >"$T/secret.txt"
head -c 3000 /dev/urandom >>"$T/secret.txt"
cli item create --vault "$V" --category LOGIN --title "$M_FLAGTITLE" \
    --field "api key=$M_FLAGFIELD" --field "pin[password]=$M_FLAGFIELD-2" --tags "$M_FLAGTAG,x" \
    --notes "$M_FLAGNOTE" --url "https://$M_FLAGURL.example.org" --file "$T/secret.txt" --format json
if [ "$RC" -eq 0 ]; then ok "item create from flags with --field and --file"; else
    not_ok "item create from flags with --field and --file: exit $RC: $ERR"; fi
I2=$(printf '%s' "$OUT" | jq -r '.id // empty' 2>/dev/null || true)
expect_match "item 2 has an id" '^[a-z2-7]{26}$' "$I2"

# An edit (a new version, encrypted for it) with another marker.
cli item edit "$I1" --vault "$V" --field "edited=$M_EDIT" --format json
if [ "$RC" -eq 0 ]; then ok "item edit adds a field"; else
    not_ok "item edit adds a field: exit $RC: $ERR"; fi

# ---- the markers come back through the CLI ---------------------------------------------
cli item get "$I1" --vault "$V" --format json
got1=$OUT
for m in "$M_TITLE" "$M_TAG" "$M_URL" "$M_USER" "$M_PASS" "$M_NOTE" "$M_FIELD" "$M_SECTION" \
    "$M_EDIT"; do
    if grep -qF -- "$m" <<<"$got1"; then ok "item get returns ${m:0:10}..."; else
        not_ok "item get returns ${m:0:10}...: [$(printf '%s' "$got1" | head -c 300)] $ERR"; fi
done
expect_eq "item get: the title" "$M_TITLE" "$(printf '%s' "$got1" | jq -r '.title' 2>/dev/null)"
expect_eq "item get: the password" "$M_PASS" \
    "$(printf '%s' "$got1" | jq -r '.fields[] | select(.id == "password") | .value' 2>/dev/null)"
cli item get "$I2" --vault "$V" --format json
got2=$OUT
expect_eq "item 2: the title" "$M_FLAGTITLE" "$(printf '%s' "$got2" | jq -r '.title' 2>/dev/null)"
for m in "$M_FLAGFIELD" "$M_FLAGTAG" "$M_FLAGNOTE" "$M_FLAGURL"; do
    if grep -qF -- "$m" <<<"$got2"; then ok "item 2 returns ${m:0:12}..."; else
        not_ok "item 2 returns ${m:0:12}...: [$(printf '%s' "$got2" | head -c 300)]"; fi
done
expect_eq "item 2: one file, named secret.txt" "secret.txt" \
    "$(printf '%s' "$got2" | jq -r '.files[0].name' 2>/dev/null)"
cli vault get "$V" --format json
expect_eq "vault get: the name" "$M_VAULT" "$(printf '%s' "$OUT" | jq -r '.name' 2>/dev/null)"
if grep -qF -- "$M_DESC" <<<"$OUT"; then ok "vault get: the description"; else
    not_ok "vault get: the description: [$OUT]"; fi

# ---- the hub's records hold no marker, even once base64url-decoded -----------------------
b64u_decode() {
    local s
    s=$(tr '_-' '/+')
    case $((${#s} % 4)) in
    2) s="$s==" ;;
    3) s="$s=" ;;
    esac
    printf '%s' "$s" | base64 -d 2>/dev/null || true
}
markers_in() { # markers_in FILE: prints the start of each marker found in FILE
    local m
    for m in "${MARKERS[@]}"; do
        if grep -q -a -F -- "$m" "$1" 2>/dev/null; then printf ' %s' "${m:0:12}"; fi
    done
}
scan_file() { # scan_file DESCRIPTION FILE
    local hits
    hits=$(markers_in "$2")
    if [ -z "$hits" ]; then ok "$1"; else not_ok "$1: markers found:$hits"; fi
}
# The scan itself finds markers where they are (the item JSON given to the CLI has 8).
expect_eq "control: the scan finds the markers of the item JSON" 8 "$(markers_in "$T/item.json" | wc -w)"
: >"$T/served.bin"
for target in "/v1/vaults/$V" /v1/vaults "/v1/vaults/$V/items" "/v1/vaults/$V/items/$I1" \
    "/v1/vaults/$V/items/$I2" "/v1/changes?since=0"; do
    { hreq GET "$target"; echo; } >>"$T/served.bin"
done
scan_file "the hub's JSON answers hold no marker" "$T/served.bin"
: >"$T/decoded.bin"
jq -r '.. | strings' "$T/served.bin" 2>/dev/null | grep -E '^[A-Za-z0-9_-]{16,}$' |
    while IFS= read -r s; do printf '%s' "$s" | b64u_decode; done >>"$T/decoded.bin" || true
scan_file "no marker in any base64url value the hub serves" "$T/decoded.bin"
expect_eq "the decoded values are not empty (the check looked at something)" 1 \
    "$([ "$(wc -c <"$T/decoded.bin")" -gt 200 ] && echo 1 || echo 0)"
for fid in $(jq -r '.. | objects | select(.kind? == "file_put") | .ref' "$T/served.bin" 2>/dev/null); do
    "$HUBREQ" --kit "$SESAME_ACCOUNT_KIT" --hub "$HUB_URL" GET "/v1/vaults/$V/files/$fid" \
        >"$T/file.$fid" 2>/dev/null || true
    expect_eq "file $fid is served (200)" 200 "$(head -n 1 "$T/file.$fid")"
    scan_file "file $fid: the ciphertext holds no marker" "$T/file.$fid"
done
expect_eq "one file_put change" 1 \
    "$(jq -r '.. | objects | select(.kind? == "file_put") | .ref' "$T/served.bin" 2>/dev/null | wc -l)"

# ---- the database at rest, while the hub runs and after a clean stop --------------------
hub_db_snapshot "$T/hub" "$T/running.db"
scan_file "running: the database holds no marker" "$T/running.db"
expect_eq "the database exists" 1 "$([ -s "$T/running.db" ] && echo 1 || echo 0)"
rc=0
hub_stop TERM || rc=$?
expect_eq "the hub stops cleanly on SIGTERM" 0 "$rc"
hub_db_snapshot "$T/hub" "$T/stopped.db"
scan_file "stopped: the database holds no marker" "$T/stopped.db"
expect_eq "the database is not trivially small" 1 \
    "$([ "$(wc -c <"$T/stopped.db")" -gt 8192 ] && echo 1 || echo 0)"
scan_file "the hub log holds no marker" "$HUB_LOG"
expect_clean_log "no sanitizer report in the hub log"
finish
