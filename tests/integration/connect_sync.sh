#!/usr/bin/env bash
# connect_sync.sh - `sesame sync` against a real hub: data made with the CLI, sync started
# locked with a credentials file, /heartbeat and /health, unlock over the bus (busreq, as the
# api will), the volume mirrored without plaintext, SIGTERM within 2 s, a restart that
# resumes from the volume's last seq without pulling again, the long-poll bringing a new
# item, and a hub that stops and comes back.
set -euo pipefail
. "$(dirname "$0")/lib.bash"

BUSREQ=${SESAME_BUSREQ:-}
hub_test_init
if [ -z "$BUSREQ" ] || [ ! -x "$BUSREQ" ]; then
    echo "skipped: SESAME_BUSREQ is not set (this build has no busreq)"
    finish
    exit 0
fi
jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The hub on a fixed port, so that it can come back at the URL the credentials name.
HPORT=$(free_port)
hub_start "$T/hub" --addr "127.0.0.1:$HPORT" || { not_ok "the hub starts"; finish; }
ok "the hub starts on port $HPORT"
hub_account_init || { not_ok "account init"; finish; }

# ---- data: a granted vault with two items, a vault that is not granted ------------------------
TITLE=$(rand_marker title)
SECRET=$(rand_marker secret)
cli vault create alpha --format json
VA=$(jqr "$OUT" .id)
cli item create --vault alpha --category LOGIN --title "$TITLE" --field "username=alice" \
    --field "password=$SECRET" --format json
expect_eq "an item with a secret in alpha" 0 "$RC"
cli item create --vault alpha --category SECURE_NOTE --title "second" --format json
cli vault create beta --format json
VB=$(jqr "$OUT" .id)
cli item create --vault beta --category LOGIN --title "$(rand_marker beta)" --format json
cli connect server create srv --vault alpha --out "$T/srv.json" --format json
expect_eq "connect server create" 0 "$RC"
cli connect token create tok --server srv --vault alpha:r
expect_eq "connect token create" 0 "$RC"
TOKEN=$OUT
printf '%s' "$TOKEN" >"$T/token"

# ---- the sync process ----------------------------------------------------------------------
export OP_SESSION="$T/srv.json" XDG_DATA_HOME="$T/xdg" OP_LOG_LEVEL=debug
unset OP_BUS_PORT OP_BUS_PEERS SESAME_BUS_SOCKET OP_HTTP_PORT
DATA="$XDG_DATA_HOME/.op/data"
SYNC_LOG="$T/sync.log"
SYNC_PID=
SYNC_URL=

# sync_start: starts `sesame sync` on a free loopback port and waits for its port file.
sync_start() {
    local i port
    rm -f "$T/sync.port"
    OP_HTTP_PORT=0 "$SESAME" sync --http-addr 127.0.0.1 --port-file "$T/sync.port" \
        >>"$SYNC_LOG" 2>&1 &
    SYNC_PID=$!
    HUB_PIDS+=("$SYNC_PID") # killed by the cleanup trap too
    for i in $(seq 1 100); do
        [ -s "$T/sync.port" ] && break
        kill -0 "$SYNC_PID" 2>/dev/null || break
        sleep 0.1
    done
    port=$(head -n 1 "$T/sync.port" 2>/dev/null || true)
    if ! [[ "$port" =~ ^[0-9]+$ ]]; then
        echo "# sync wrote no port file; log:"
        tail -20 "$SYNC_LOG" | sed 's/^/#   /'
        return 1
    fi
    SYNC_URL="http://127.0.0.1:$port"
}

# sync_stop: SIGTERM; sets STOP_RC and STOP_MS.
sync_stop() {
    local start
    start=$(now_ms)
    STOP_RC=0
    kill -TERM "$SYNC_PID" 2>/dev/null || true
    wait "$SYNC_PID" 2>/dev/null || STOP_RC=$?
    STOP_MS=$(($(now_ms) - start))
    SYNC_PID=
}

# status: the bus status answer (JSON) or "".
status() { "$BUSREQ" status 2>/dev/null || true; }

# wait_status JQ_EXPR [SECONDS]: waits until the status satisfies the jq boolean expression.
wait_status() {
    local i s
    for i in $(seq 1 $((${2:-10} * 10))); do
        s=$(status)
        if [ "$(jqr "$s" "$1")" = true ]; then
            STATUS=$s
            return 0
        fi
        sleep 0.1
    done
    STATUS=$(status)
    return 1
}

health() { curl -s --max-time 5 "$SYNC_URL/health" || true; }
dep() { jqr "$1" ".dependencies[] | select(.service == \"$2\") | $3"; }
hub_seq() { jqr "$(body_of "$(hreq GET /v1/account)")" .lastSeq; }

# ---- start-up failures: one line, exit 1 ----------------------------------------------------
cli_env() { # ENV... -- runs sesame sync with extra environment; sets RC and ERR
    local tmp
    tmp=$(mktemp "$T/err.XXXXXX")
    RC=0
    env -u SESAME_BINARY -u SESAME_SOURCE_DIR -u SESAME_HUBREQ -u SESAME_BUSREQ "$@" \
        OP_HTTP_PORT=0 "$SESAME" sync >/dev/null 2>"$tmp" || RC=$?
    ERR=$(cat "$tmp")
    rm -f "$tmp"
}
cli_env OP_SESSION="$T/missing.json"
expect_cli_error "a missing credentials file: one line, exit 1" 1
mkdir -p "$T/bad/.op"
: >"$T/bad/.op/data"
cli_env XDG_DATA_HOME="$T/bad"
expect_cli_error "a data directory that is a file: one line, exit 1" 1
"$SESAME" sync --bogus >/dev/null 2>&1 && rc=0 || rc=$?
expect_eq "an unknown flag: exit 2" 2 "$rc"

# ---- locked ----------------------------------------------------------------------------------
sync_start || { not_ok "sync starts"; finish; }
ok "sync starts"
sync_stop
expect_eq "a locked sync stops on SIGTERM: exit 0 within 1 s (${STOP_MS} ms)" "0 1" \
    "$STOP_RC $([ "$STOP_MS" -lt 1000 ] && echo 1 || echo 0)"
sync_start || { not_ok "sync starts again"; finish; }
a=$(curl -s -D "$T/hb.h" --max-time 5 "$SYNC_URL/heartbeat" || true)
expect_eq "/heartbeat answers ." "." "$a"
expect_match "... with 1Password-Connect-Version" '^1Password-Connect-Version: 1\.8\.1' \
    "$(tr -d '\r' <"$T/hb.h")"
h=$(health)
expect_eq "/health: the name" "1Password Connect Sync" "$(jqr "$h" .name)"
expect_eq "/health: the version" "1.8.1" "$(jqr "$h" .version)"
expect_eq "/health: 1Password UNINITIALIZED while locked" UNINITIALIZED "$(dep "$h" 1Password .status)"
expect_eq "/health: the message asks for a token" \
    "Make a request with a valid bearer token to initialize" "$(dep "$h" 1Password .message)"
expect_eq "/health: sqlite ACTIVE on the volume" "ACTIVE Connected to $DATA/sesame.db" \
    "$(dep "$h" sqlite '"\(.status) \(.message)"')"
expect_eq "/health: hub NOT_SYNCED while locked" NOT_SYNCED "$(dep "$h" hub .status)"
s=$(status)
expect_eq "bus status while locked" "true false false" "$(jqr "$s" '"\(.ok) \(.unlocked) \(.connected)"')"
s=$("$BUSREQ" --wrong-secret unlock 2>&1 || true)
expect_eq "a wrong secret is refused" "false unlock refused" "$(jqr "$s" '"\(.ok) \(.message)"')"
s=$("$BUSREQ" --no-secret unlock 2>&1 || true)
expect_eq "an unlock without a secret is refused" false "$(jqr "$s" .ok)"
s=$("$BUSREQ" frobnicate 2>&1 || true)
expect_eq "an unknown operation" "false unknown operation" "$(jqr "$s" '"\(.ok) \(.message)"')"
expect_eq "still locked" false "$(jqr "$(status)" .unlocked)"
SOCK_MODE=$(stat -c %a "$DATA/bus.sock" 2>/dev/null || true)
expect_eq "the bus socket is mode 600" 600 "$SOCK_MODE"

# ---- unlocked: the volume gets alpha ----------------------------------------------------------
s=$("$BUSREQ" unlock <"$T/token" 2>&1 || true)
expect_eq "unlock with the token's secret" true "$(jqr "$s" .ok)"
SEQ=$(hub_seq)
wait_status ".synced == true and .lastSeq == $SEQ" 15 || true
expect_eq "synced at the hub's last seq ($SEQ)" "true true $SEQ" \
    "$(jqr "$STATUS" '"\(.unlocked) \(.connected) \(.lastSeq)"')"
expect_eq "one vault pulled whole" 1 "$(jqr "$STATUS" .pulled)"
expect_match "lastSyncAt is set" '^[1-9][0-9]{9}$' "$(jqr "$STATUS" .lastSyncAt)"
expect_eq "no lastError" null "$(jqr "$STATUS" .lastError)"
s=$("$BUSREQ" unlock <"$T/token" 2>&1 || true)
expect_eq "a second unlock is fine" true "$(jqr "$s" .ok)"
h=$(health)
expect_eq "/health: 1Password ACTIVE" ACTIVE "$(dep "$h" 1Password .status)"
expect_eq "/health: hub ACTIVE" ACTIVE "$(dep "$h" hub .status)"
expect_match "/health: hub last synced" '^last synced [0-9]+ seconds ago$' "$(dep "$h" hub .message)"
expect_eq "the volume exists (0600)" 600 "$(stat -c %a "$DATA/sesame.db" 2>/dev/null || true)"
expect_eq "the data directory is 0700" 700 "$(stat -c %a "$DATA" 2>/dev/null || true)"
expect_eq "the volume holds no item title in clear" 0 \
    "$(cat "$DATA"/sesame.db* | grep -c -a -F -- "$TITLE" || true)"
expect_eq "the volume holds no secret in clear" 0 \
    "$(cat "$DATA"/sesame.db* | grep -c -a -F -- "$SECRET" || true)"
n=$(cat "$DATA"/sesame.db* | grep -c -a -F -- "$VA" || true)
expect_eq "the volume holds alpha's id" 1 "$([ "${n:-0}" -gt 0 ] && echo 1 || echo 0)"
expect_eq "... and not beta's (not granted)" 0 \
    "$(cat "$DATA"/sesame.db* | grep -c -a -F -- "$VB" || true)"
if command -v sqlite3 >/dev/null; then
    expect_eq "the volume: alpha with its two items" "$VA 2" \
        "$(sqlite3 -readonly "$DATA/sesame.db" "SELECT vault_id, count(*) FROM items GROUP BY vault_id" | tr '|' ' ')"
fi

# ---- SIGTERM while a long-poll waits, and a restart -------------------------------------------
sleep 1
sync_stop
expect_eq "sync exits 0 on SIGTERM" 0 "$STOP_RC"
expect_eq "... within 2 s (${STOP_MS} ms)" 1 "$([ "$STOP_MS" -lt 2000 ] && echo 1 || echo 0)"
expect_eq "the bus socket is removed" 0 "$([ -e "$DATA/bus.sock" ] && echo 1 || echo 0)"
sync_start || { not_ok "sync restarts"; finish; }
s=$(status)
expect_eq "after a restart: locked, the volume's seq" "false $SEQ" "$(jqr "$s" '"\(.unlocked) \(.lastSeq)"')"
"$BUSREQ" unlock <"$T/token" >/dev/null 2>&1 || true
wait_status '.synced == true' 15 || true
expect_eq "resumed at the same seq, nothing pulled again" "true $SEQ 0" \
    "$(jqr "$STATUS" '"\(.connected) \(.lastSeq) \(.pulled)"')"

# ---- the long-poll brings a new item ---------------------------------------------------------
sleep 1
start=$(now_ms)
cli item create --vault alpha --category LOGIN --title "third" --format json
SEQ2=$(hub_seq)
wait_status ".lastSeq == $SEQ2" 5 || true
ms=$(($(now_ms) - start))
expect_eq "a new item arrives by the long-poll (seq $SEQ -> $SEQ2, ${ms} ms)" "$SEQ2" \
    "$(jqr "$STATUS" .lastSeq)"
expect_eq "... seq grew" 1 "$([ "${SEQ2:-0}" -gt "$SEQ" ] && echo 1 || echo 0)"

# ---- the hub stops and comes back -------------------------------------------------------------
rc=0
hub_stop TERM || rc=$?
expect_eq "the hub stops" 0 "$rc"
wait_status '.connected == false and (.lastError | length) > 0' 10 || true
expect_eq "status: not connected, with lastError" "false true" \
    "$(jqr "$STATUS" '"\(.connected) \((.lastError | length) > 0)"')"
sleep 2
f1=$(jqr "$(status)" .failures)
expect_eq "backoff: failures pile up slowly (${f1} in ~3 s)" 1 \
    "$([ "${f1:-0}" -ge 2 ] && [ "${f1:-99}" -le 12 ] && echo 1 || echo 0)"
h=$(health)
expect_eq "/health: hub UNREACHABLE" UNREACHABLE "$(dep "$h" hub .status)"
expect_match "/health: the hub message says why" 'hub' "$(dep "$h" hub .message)"
hub_start "$T/hub" --addr "127.0.0.1:$HPORT" || { not_ok "the hub restarts"; finish; }
ok "the hub restarts on port $HPORT"
cli item create --vault alpha --category LOGIN --title "fourth" --format json
SEQ3=$(hub_seq)
s=$("$BUSREQ" sync 2>&1 || true)
expect_eq "a bus sync request" true "$(jqr "$s" .ok)"
wait_status ".connected == true and .lastSeq == $SEQ3" 10 || true
expect_eq "recovered: connected at the hub's seq $SEQ3" "true $SEQ3" \
    "$(jqr "$STATUS" '"\(.connected) \(.lastSeq)"')"
expect_eq "/health: hub ACTIVE again" ACTIVE "$(dep "$(health)" hub .status)"

# ---- the end: stopped while waiting to retry (the whole clean-up path runs) --------------------
hub_stop TERM || true
wait_status '.connected == false' 10 || true
sync_stop
expect_eq "sync exits 0 on SIGTERM while the hub is down" 0 "$STOP_RC"
expect_eq "... within 2 s (${STOP_MS} ms)" 1 "$([ "$STOP_MS" -lt 2000 ] && echo 1 || echo 0)"
expect_eq "... after releasing everything" 1 \
    "$(tail -n 1 "$SYNC_LOG" | grep -q '"(I) sync: stopped"' && echo 1 || echo 0)"
if grep -qE 'AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|runtime error:' "$SYNC_LOG"; then
    not_ok "no sanitizer report in the sync log"
    grep -E -A15 'Sanitizer|runtime error:' "$SYNC_LOG" | head -40 | sed 's/^/#   /'
else
    ok "no sanitizer report in the sync log"
fi
expect_eq "the sync log holds no token or secret" 0 \
    "$(grep -c -F -e "$(printf '%s' "$TOKEN" | cut -d. -f3)" -e "$SECRET" "$SYNC_LOG" || true)"
expect_eq "the sync log is JSON lines" 0 \
    "$(grep -v '^{' "$SYNC_LOG" | grep -c '' || true)"
expect_clean_log "no sanitizer report in the hub log"
finish
