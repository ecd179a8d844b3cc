# lib.bash - helpers for the integration tests (sourced, not run: no test of its own).
# Each test prints "ok - ..." / "not ok - ..." lines and finishes with `finish`, which
# prints the "N passed, N failed" line and sets the exit status.
set -u
SESAME=${SESAME_BINARY:?SESAME_BINARY must point at the sesame executable}
PASSED=0
FAILED=0

ok() {
    PASSED=$((PASSED + 1))
    echo "ok - $1"
}

not_ok() {
    FAILED=$((FAILED + 1))
    echo "not ok - $1"
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected [$2], got [$3]"; fi
}

# expect_match DESCRIPTION REGEX TEXT
expect_match() {
    if grep -qE -- "$2" <<<"$3"; then ok "$1"; else not_ok "$1: [$3] does not match /$2/"; fi
}

finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# ---- hub helpers (tests/integration/hub_*.sh) ----------------------------------------
# A hub test calls hub_test_init (a private temporary directory in $T, cleaned up on exit,
# with every hub it started stopped), then hub_start DATA_DIR, which sets HUB_PID,
# HUB_PORT and HUB_URL. hubreq (tests/tools/hubreq.c) is $HUBREQ.
HUBREQ=${SESAME_HUBREQ:-}
HUB_PIDS=()
HUB_PID=
HUB_PORT=
HUB_URL=
HUB_LOG=
HUB_READY_SECONDS=${HUB_READY_SECONDS:-20}

# Creates $T, sets a private HOME, kit path and hub URL for the CLI, installs the cleanup
# trap. Exits 0 (skipped) when this build has no hubreq (a SESAME_FUZZ build).
hub_test_init() {
    if [ -z "$HUBREQ" ] || [ ! -x "$HUBREQ" ]; then
        echo "skipped: SESAME_HUBREQ is not set (this build has no hubreq)"
        echo "0 passed, 0 failed"
        exit 0
    fi
    if [ "${TEST_HUB_STORE:-}" = pg ] && ! [ -s "${TEST_PG_URL_FILE:-}" ]; then
        echo "skipped: TEST_HUB_STORE=pg but no PostgreSQL test cluster (TEST_PG_URL_FILE)"
        exit 77
    fi
    T=$(mktemp -d "${TMPDIR:-/tmp}/sesame-it.XXXXXX")
    export HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config"
    mkdir -p "$HOME"
    export SESAME_ACCOUNT_KIT="$T/kit.json"
    unset SESAME_HUB SESAME_HUB_ADDR SESAME_HUB_DATA OP_CONNECT_HOST OP_CONNECT_TOKEN
    unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
    trap hub_cleanup EXIT
}

hub_cleanup() {
    local p
    for p in "${HUB_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    jobs -p | xargs -r kill -KILL 2>/dev/null || true
    if [ -n "${KEEP_TMP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on now, from below the
# kernel's ephemeral range (so an outgoing connection cannot take it before we bind it).
free_port() {
    local p i lo=32768
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
    [ "$lo" -gt 11000 ] || lo=32768
    for i in $(seq 1 50); do
        p=$((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# pg_database NAME: prints the URL of the test cluster's database sesame_it_NAME_<pid>,
# creating it the first time (tests run under TEST_HUB_STORE=pg; the cluster comes from
# ctest's pg fixture, scripts/pg-test-cluster.sh). Returns 1 when it cannot.
pg_database() {
    local base name
    base=$(cat "$TEST_PG_URL_FILE") || return 1
    name="sesame_it_$1_$$"
    if [ "$(psql "$base" -XtAc "SELECT 1 FROM pg_database WHERE datname = '$name'")" != 1 ]; then
        psql "$base" -XqAc "CREATE DATABASE $name" >/dev/null || return 1
    fi
    echo "${base%/*}/$name"
}

# hub_database_env DATA_DIR: under TEST_HUB_STORE=pg, prints the
# SESAME_HUB_DATABASE_URL=... assignment of the PostgreSQL database that stands for
# DATA_DIR (one per directory, the same across restarts); else prints nothing.
hub_database_env() {
    local url
    [ "${TEST_HUB_STORE:-}" = pg ] || return 0
    url=$(pg_database "$(basename "$1" | tr -c 'a-zA-Z0-9_\n' '_')") || return 1
    echo "SESAME_HUB_DATABASE_URL=$url"
}

# hub_db_snapshot DATA_DIR OUT: concatenates into OUT the bytes at rest of the database of
# the hub on DATA_DIR, to search for what must never be stored: its SQLite files (hub.db,
# -wal, -shm), or under TEST_HUB_STORE=pg every file of the test cluster (data, WAL).
hub_db_snapshot() {
    local f
    : >"$2"
    if [ "${TEST_HUB_STORE:-}" = pg ]; then
        find "$(cat "$(dirname "$TEST_PG_URL_FILE")/cluster")" -type f -print0 2>/dev/null |
            xargs -0 -r cat >>"$2" 2>/dev/null || true
        return 0
    fi
    for f in hub.db hub.db-wal hub.db-shm; do
        [ -e "$1/$f" ] && cat "$1/$f" >>"$2"
    done
    return 0
}

# hub_start DATA_DIR [ARGS...]: starts `sesame hub` on an ephemeral loopback port with
# DATA_DIR (under TEST_HUB_STORE=pg, on a PostgreSQL database of its own instead of
# DATA_DIR/hub.db: hub_database_env), waits until it listens (its --port-file) and
# answers. Log: DATA_DIR.log. Sets HUB_PID, HUB_PORT, HUB_URL, HUB_LOG, exports
# SESAME_HUB. Returns 1 on failure.
hub_start() {
    local data=$1 portfile i dbenv
    shift
    portfile="$data.port"
    HUB_LOG="$data.log"
    rm -f "$portfile"
    dbenv=$(hub_database_env "$data") || return 1
    env $dbenv "$SESAME" hub --addr 127.0.0.1:0 --data "$data" --port-file "$portfile" "$@" \
        >>"$HUB_LOG" 2>&1 &
    HUB_PID=$!
    HUB_PIDS+=("$HUB_PID")
    for i in $(seq 1 $((HUB_READY_SECONDS * 10))); do
        if [ -s "$portfile" ] && [ "$(tail -c 1 "$portfile" | od -An -c | tr -d ' ')" = '\n' ]; then
            break
        fi
        if ! kill -0 "$HUB_PID" 2>/dev/null; then
            echo "# hub exited at start; log:" && sed 's/^/#   /' "$HUB_LOG" | tail -20
            return 1
        fi
        sleep 0.1
    done
    HUB_PORT=$(head -n 1 "$portfile" 2>/dev/null || true)
    if ! [[ "$HUB_PORT" =~ ^[0-9]+$ ]]; then
        echo "# hub wrote no port file within ${HUB_READY_SECONDS}s; log:"
        sed 's/^/#   /' "$HUB_LOG" | tail -20
        return 1
    fi
    HUB_URL="http://127.0.0.1:$HUB_PORT"
    export SESAME_HUB="$HUB_URL"
    hub_wait_ready
}

# hub_wait_ready: waits until the hub answers HTTP at all (any status).
hub_wait_ready() {
    local i code
    for i in $(seq 1 $((HUB_READY_SECONDS * 10))); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$HUB_URL/v1/account" || true)
        if [ -n "$code" ] && [ "$code" != 000 ]; then return 0; fi
        sleep 0.1
    done
    echo "# hub at $HUB_URL does not answer"
    return 1
}

# hub_alive: true while the hub process runs.
hub_alive() {
    kill -0 "$HUB_PID" 2>/dev/null
}

# hub_stop [SIGNAL]: stops the hub (TERM by default) and waits for it; prints nothing and
# returns the hub's exit status (for TERM 0 is a clean stop; under ASan a leak or error
# makes it non-zero).
hub_stop() {
    local sig=${1:-TERM} rc=0 p
    [ -n "$HUB_PID" ] || return 0
    kill -"$sig" "$HUB_PID" 2>/dev/null || true
    wait "$HUB_PID" 2>/dev/null || rc=$?
    for p in "${!HUB_PIDS[@]}"; do
        [ "${HUB_PIDS[$p]}" = "$HUB_PID" ] && unset 'HUB_PIDS[p]'
    done
    HUB_PIDS=("${HUB_PIDS[@]}")
    HUB_PID=
    return "$rc"
}

# expect_clean_log DESCRIPTION: the hub log holds no sanitizer report.
expect_clean_log() {
    if grep -qE 'AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|runtime error:' \
        "$HUB_LOG" 2>/dev/null; then
        not_ok "$1: sanitizer report in $HUB_LOG"
        grep -E -A15 'Sanitizer|runtime error:' "$HUB_LOG" | head -40 | sed 's/^/#   /'
    else
        ok "$1"
    fi
}

# hcurl METHOD TARGET [CURL ARGS...]: a raw request to the hub; prints the status on the
# first line, then the body (as hubreq does).
hcurl() {
    local m=$1 target=$2 body code
    shift 2
    body=$(mktemp "$T/hcurl.XXXXXX")
    code=$(curl -s -o "$body" -w '%{http_code}' --max-time 30 -X "$m" "$@" "$HUB_URL$target" ||
        true)
    echo "${code:-000}"
    cat "$body"
    rm -f "$body"
}

# hubreq_run ARGS...: runs hubreq; never fails: when hubreq fails, prints "000" and its
# stderr (so the status check reports it).
hubreq_run() {
    local err out rc=0
    err=$(mktemp "$T/hubreq.XXXXXX")
    out=$("$HUBREQ" "$@" 2>"$err") || rc=$?
    if [ "$rc" -ne 0 ]; then
        printf "000\n%s%s" "$out" "$(cat "$err")"
    else
        printf "%s" "$out"
    fi
    rm -f "$err"
}

# hreq ARGS...: hubreq signed by the test's kit, to the current hub.
hreq() {
    hubreq_run --kit "$SESAME_ACCOUNT_KIT" --hub "$HUB_URL" "$@"
}

# hsync CREDENTIALS TOKEN ARGS...: hubreq in sync mode, to the current hub.
hsync() {
    local cred=$1 token=$2
    shift 2
    hubreq_run --sync --credentials "$cred" --token "$token" --hub "$HUB_URL" "$@"
}

# status_of TEXT / body_of TEXT: the first line / the rest of a hubreq or hcurl answer.
status_of() {
    printf '%s\n' "${1%%$'\n'*}"
}
body_of() {
    case $1 in
    *$'\n'*) printf '%s\n' "${1#*$'\n'}" ;;
    esac
}

# expect_status DESCRIPTION EXPECTED ANSWER: the answer's status line is EXPECTED.
expect_status() {
    local got
    got=$(status_of "$3")
    if [ "$got" = "$2" ]; then
        ok "$1"
    else
        not_ok "$1: expected status $2, got [$got] body [$(body_of "$3" | head -c 300)]"
    fi
}

# expect_error DESCRIPTION STATUS ANSWER [INPUT]: the answer is STATUS with a JSON
# {"status": STATUS, "message": "..."} body whose message does not contain INPUT.
expect_error() {
    local desc=$1 want=$2 answer=$3 input=${4:-} got body st msg
    got=$(status_of "$answer")
    body=$(body_of "$answer")
    st=$(printf '%s' "$body" | jq -r 'if type == "object" then .status else empty end' \
        2>/dev/null || true)
    msg=$(printf '%s' "$body" | jq -r 'if type == "object" and (.message | type) == "string"
        then .message else empty end' 2>/dev/null || true)
    if [ "$got" != "$want" ]; then
        not_ok "$desc: expected status $want, got [$got] body [$(printf '%s' "$body" | head -c 300)]"
    elif [ "$st" != "$want" ] || [ -z "$msg" ]; then
        not_ok "$desc: status $want but the body is not {status,message}: [$(printf '%s' "$body" | head -c 300)]"
    elif [ -n "$input" ] && grep -qF -- "$input" <<<"$msg"; then
        not_ok "$desc: the message echoes the input: [$msg]"
    else
        ok "$desc"
    fi
}

# cli ARGS...: runs sesame ARGS; sets OUT (stdout), ERR (stderr) and RC (exit status).
cli() {
    local tmp
    tmp=$(mktemp "$T/cli.XXXXXX")
    RC=0
    OUT=$("$SESAME" "$@" 2>"$tmp") || RC=$?
    ERR=$(cat "$tmp")
    rm -f "$tmp"
}

# cli_ok DESCRIPTION ARGS...: runs cli ARGS and records ok when it exits 0 with no stderr.
cli_ok() {
    local desc=$1
    shift
    cli "$@"
    if [ "$RC" -eq 0 ]; then
        ok "$desc"
    else
        not_ok "$desc: exit $RC, stderr [$ERR]"
    fi
}

# expect_cli_error DESCRIPTION RC: the last cli run exited RC with one "sesame: " line on
# stderr.
expect_cli_error() {
    local n
    n=$(printf '%s\n' "$ERR" | grep -c '' || true)
    if [ "$RC" != "$2" ]; then
        not_ok "$1: expected exit $2, got $RC (stderr [$ERR])"
    elif [ "$n" != 1 ] || [[ "$ERR" != "sesame: "* ]]; then
        not_ok "$1: stderr is not one 'sesame: ' line: [$ERR]"
    else
        ok "$1"
    fi
}

# rand_marker PREFIX: prints PREFIX followed by 24 random hex digits.
rand_marker() {
    printf '%s%s' "$1" "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
}

# jwt_payload TOKEN: prints the decoded claims (JSON) of a JWT.
jwt_payload() {
    local p
    p=$(printf '%s' "$1" | cut -d. -f2 | tr '_-' '/+')
    case $((${#p} % 4)) in
    2) p="$p==" ;;
    3) p="$p=" ;;
    esac
    printf '%s' "$p" | base64 -d
}

# b64rand N: N random bytes as unpadded base64url.
b64rand() {
    head -c "$1" /dev/urandom | base64 -w 0 | tr '+/' '-_' | tr -d '='
}

# rand_id: a random lowercase 26-character id; rand_id_upper: its uppercase form.
rand_id() {
    head -c 16 /dev/urandom | base32 | tr -d '=' | tr 'A-Z' 'a-z'
}
rand_id_upper() {
    head -c 16 /dev/urandom | base32 | tr -d '='
}

# hub_account_init: `sesame account init` against the current hub, writing
# $SESAME_ACCOUNT_KIT (no passphrase). Returns the command's status.
hub_account_init() {
    cli account init --hub "$HUB_URL" "$@"
    if [ "$RC" -ne 0 ]; then
        echo "# account init failed: exit $RC: $ERR"
        return 1
    fi
    [ -s "$SESAME_ACCOUNT_KIT" ]
}
