#!/usr/bin/env bash
# connect_sdk_write.sh - the official 1Password Connect JS SDK (@1password/connect 1.4.2)
# WRITING through real Connect servers: a hub, an account with two vaults (made with the admin
# CLI), and TWO Connect servers of that account (each its own credentials file, volume,
# `sesame sync` and `sesame api`), both granted both vaults. tests/js/conformance_write.mjs
# then calls every write method of the SDK (createItem, updateItem, deleteItem,
# deleteItemById, deleteItemByTitle, the ItemBuilder with generated passwords) on server A
# and reads the results back from A at once (read-your-writes) and from B within 5 s.
#
# Tokens: read-write on A (the writer), read-only on B (the independent read-back),
# read-only on A and write-only on A (the refusals and the redacted answers); none of them
# names the second vault (the out-of-scope write).
#
# The SDK is installed as tests/integration/connect_sdk.sh does (same directory, same lock):
# once into ${SESAME_JS_DIR:-$HOME/.cache/sesame-js} and reused.
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

must "vault create (main)" vault create "sdkw main" --format json
V_MAIN=$(jqr "$OUT" .id)
must "vault create (second)" vault create "sdkw second" --format json
V_SECOND=$(jqr "$OUT" .id)
# one item made with the admin CLI: both servers have synced once they list it
must "item create (seed)" item create --vault "$V_MAIN" --format json --category SECURE_NOTE \
    --title "sdkw seed" --notes "made by the admin CLI"
I_SEED=$(jqr "$OUT" .id)

for s in a b; do
    must "connect server create sdkw-$s" connect server create "sdkw-$s" --out "$T/creds-$s.json" \
        --vault "$V_MAIN" --vault "$V_SECOND"
done
# token NAME ARGS...: mints a token (printed by the CLI) into TOK.
token() {
    local name=$1
    shift
    must "connect token create $name" connect token create "$name" "$@"
    TOK=$OUT
}
token sdkw-rw-a --server sdkw-a --vault "$V_MAIN:rw"
RW_A=$TOK
token sdkw-ro-b --server sdkw-b --vault "$V_MAIN:r"
RO_B=$TOK
token sdkw-ro-a --server sdkw-a --vault "$V_MAIN:r"
RO_A=$TOK
token sdkw-wo-a --server sdkw-a --vault "$V_MAIN:w"
WO_A=$TOK
ok "setup: two vaults, a seed item, two Connect servers granted both, four tokens"

# ---- two Connect servers: sync and api each ----------------------------------------------------
for s in A B; do
    lc=${s,,}
    mkdir -p "$T/xdg-$lc"
    connect_start sync "SYNC_$s" "$T/creds-$lc.json" "$T/xdg-$lc" OP_SYNC_TIMEOUT=10s ||
        { not_ok "sesame sync of server $s starts"; finish; exit 1; }
    connect_start api "API_$s" "$T/creds-$lc.json" "$T/xdg-$lc" OP_SYNC_TIMEOUT=10s ||
        { not_ok "sesame api of server $s starts"; finish; exit 1; }
    ok "server $s: sesame sync and sesame api start"
done

# synced URL TOKEN: the api serves the main vault with the seed item (the first request also
# unlocks it).
synced() {
    local a
    a=$(TOKEN=$2 ccurl "$1/v1/vaults/$V_MAIN/items")
    [ "$(status_of "$a")" = 200 ] && [ "$(jqr "$(body_of "$a")" '.[0].id')" = "$I_SEED" ]
}
for s in A B; do
    urlv="API_${s}_URL"
    tok=$RW_A
    [ "$s" = B ] && tok=$RO_B
    ready=0
    for _ in $(seq 1 300); do
        if synced "${!urlv}" "$tok"; then ready=1 && break; fi
        sleep 0.1
    done
    if [ "$ready" = 1 ]; then
        ok "server $s unlocks and serves the synced vault"
    else
        not_ok "server $s unlocks and serves the synced vault (not within 30 s)"
        echo "# last answer: $(TOKEN=$tok ccurl "${!urlv}/v1/vaults/$V_MAIN/items" | head -c 300)"
        for p in SYNC API; do
            logv="${p}_${s}_LOG"
            { grep -v 'unknown variable' "${!logv}" || true; } | tail -8 |
                sed "s/^/#   ${p,,} $s: /"
        done
        not_ok "the SDK write suite is not run: server $s does not serve the account"
        finish
        exit 1
    fi
done

# ---- the SDK ---------------------------------------------------------------------------------------
jq -n --arg a "$API_A_URL" --arg b "$API_B_URL" --arg rwa "$RW_A" --arg rob "$RO_B" \
    --arg roa "$RO_A" --arg woa "$WO_A" --arg vm "$V_MAIN" --arg vs "$V_SECOND" \
    --arg unknown "$(rand_id)" --arg run "$(rand_marker r)" --arg seed "$I_SEED" \
    '{serverA: $a, serverB: $b, tokens: {rwA: $rwa, roB: $rob, roA: $roa, woA: $woa},
      vaults: {main: $vm, second: $vs}, seedId: $seed, unknownId: $unknown, run: $run}' >"$T/expected.json" ||
    { not_ok "setup: the parameters are written"; finish; exit 1; }
chmod 600 "$T/expected.json"

rc=0
start=$(now_ms)
SESAME_SDK_EXPECT="$T/expected.json" SESAME_JS_DIR="$JS_DIR" timeout 90 \
    node "$SRC/tests/js/conformance_write.mjs" >"$T/sdk.out" 2>"$T/sdk.err" || rc=$?
ms=$(elapsed_ms "$start")
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
    *) echo "# sdk: ${line#\# }" ;;
    esac
done <"$T/sdk.out"
sed 's/^/# sdk stderr: /' "$T/sdk.err" | head -20
if [ "$rc" -eq 0 ] && [ "$n_bad" -eq 0 ] && [ "$n_ok" -gt 60 ]; then
    ok "conformance_write.mjs: $n_ok checks pass, exit 0 (${ms} ms)"
elif [ "$n_bad" -eq 0 ]; then
    not_ok "conformance_write.mjs: exit $rc after $n_ok checks (${ms} ms)"
else
    echo "# conformance_write.mjs: $n_ok ok, $n_bad not ok, exit $rc (${ms} ms)"
    for p in SYNC_A API_A SYNC_B API_B; do
        logv="${p}_LOG"
        { grep -E '"\((E|W)\)' "${!logv}" || true; } | grep -v 'unknown variable' | tail -6 |
            sed "s/^/#   $p: /" || true
    done
fi

# ---- the processes stop cleanly -----------------------------------------------------------------
for name in API_A SYNC_A API_B SYNC_B; do
    src=0
    connect_stop "$name" TERM || src=$?
    expect_eq "${name,,} stops cleanly on SIGTERM" 0 "$src"
done
expect_clean_logs "no sanitizer report in the sync and api logs" "$SYNC_A_LOG" "$API_A_LOG" \
    "$SYNC_B_LOG" "$API_B_LOG"
hub_stop TERM || true
finish
