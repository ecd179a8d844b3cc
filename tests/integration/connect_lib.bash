# connect_lib.bash - helpers for the Connect server tests (sourced after lib.bash): start
# and stop `sesame sync` / `sesame api` the way Connect's containers run (OP_SESSION,
# XDG_DATA_HOME, OP_HTTP_PORT), and build a small account with the real admin CLI.

# connect_start ROLE NAME CREDENTIALS XDG_DATA_HOME [VAR=VALUE...]: starts `sesame ROLE`
# (api or sync) on a free loopback port with Connect's variables (plus the given ones);
# sets ${NAME}_PID, ${NAME}_PORT, ${NAME}_URL and ${NAME}_LOG. The process is killed on
# exit by hub_cleanup. Returns non-zero (with the log's tail) if it does not come up.
connect_start() {
    local role=$1 name=$2 creds=$3 xdg=$4 pf log pid port i
    shift 4
    pf="$T/$name.port"
    log="$T/$name.log"
    rm -f "$pf"
    env OP_SESSION="$creds" XDG_DATA_HOME="$xdg" OP_HTTP_PORT=0 "$@" \
        "$SESAME" "$role" --http-addr 127.0.0.1 --port-file "$pf" >>"$log" 2>&1 &
    pid=$!
    HUB_PIDS+=("$pid")
    printf -v "${name}_PID" '%s' "$pid"
    printf -v "${name}_LOG" '%s' "$log"
    for i in $(seq 1 200); do
        if [ -s "$pf" ] && [ "$(tail -c 1 "$pf" | od -An -c | tr -d ' ')" = '\n' ]; then
            break
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "# $role ($name) exited at start; log:" && tail -20 "$log" | sed 's/^/#   /'
            return 1
        fi
        sleep 0.1
    done
    port=$(head -n 1 "$pf" 2>/dev/null || true)
    if ! [[ "$port" =~ ^[0-9]+$ ]]; then
        echo "# $role ($name) wrote no port file; log:" && tail -20 "$log" | sed 's/^/#   /'
        return 1
    fi
    printf -v "${name}_PORT" '%s' "$port"
    printf -v "${name}_URL" '%s' "http://127.0.0.1:$port"
}

# connect_stop NAME [SIGNAL]: stops the process started as NAME (TERM by default), waits
# at most 10 s, and returns its exit status (124 when it had to be killed).
connect_stop() {
    local name=$1 sig=${2:-TERM} pidvar="${1}_PID" pid rc=0 i p
    pid=${!pidvar:-}
    [ -n "$pid" ] || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        rc=124
    else
        wait "$pid" 2>/dev/null || rc=$?
    fi
    for p in "${!HUB_PIDS[@]}"; do
        [ "${HUB_PIDS[$p]}" = "$pid" ] && unset 'HUB_PIDS[p]'
    done
    HUB_PIDS=("${HUB_PIDS[@]}")
    printf -v "$pidvar" '%s' ""
    return "$rc"
}

# ccurl URL [CURL ARGS...]: a request to a Connect server with $TOKEN (if set) as the
# bearer; prints the status on the first line, then the body.
ccurl() {
    local url=$1 tmp code
    shift
    tmp=$(mktemp "$T/ccurl.XXXXXX")
    if [ -n "${TOKEN:-}" ]; then
        code=$(curl -s -o "$tmp" -w '%{http_code}' --max-time 20 \
            -H "Authorization: Bearer $TOKEN" "$@" "$url" || true)
    else
        code=$(curl -s -o "$tmp" -w '%{http_code}' --max-time 20 "$@" "$url" || true)
    fi
    echo "$code"
    cat "$tmp"
    rm -f "$tmp"
}

# wait_for DESCRIPTION SECONDS COMMAND...: retries COMMAND every 0.1 s until it succeeds;
# records ok / not ok.
wait_for() {
    local desc=$1 secs=$2 i
    shift 2
    for i in $(seq 1 $((secs * 10))); do
        if "$@" >/dev/null 2>&1; then
            ok "$desc"
            return 0
        fi
        sleep 0.1
    done
    not_ok "$desc (not within ${secs}s)"
    return 1
}

# expect_clean_logs DESCRIPTION LOG...: none of the logs (of api, sync, ...) holds a
# sanitizer report (expect_clean_log does the same for the hub's log).
expect_clean_logs() {
    local desc=$1 f bad=
    shift
    for f in "$@"; do
        if grep -qE 'AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|runtime error:' \
            "$f" 2>/dev/null; then
            bad="$bad $f"
            grep -E -A15 'Sanitizer|runtime error:' "$f" | head -40 | sed 's/^/#   /'
        fi
    done
    if [ -n "$bad" ]; then not_ok "$desc: sanitizer report in$bad"; else ok "$desc"; fi
}

# now_ms: the current time in milliseconds; elapsed_ms START_MS: milliseconds since then.
now_ms() {
    echo $(($(date +%s%N) / 1000000))
}
elapsed_ms() {
    echo $(($(now_ms) - $1))
}

# connect_synced URL: true when the api at URL is unlocked and serving synced data (its
# /health reports sync ACTIVE and account_data ACTIVE).
connect_synced() {
    local h
    h=$(curl -s --max-time 5 "$1/health" || true)
    [ "$(printf '%s' "$h" | jq -r '[.dependencies[] | select(.service == "sync" or
        .service == "account_data") | .status] | join(" ")' 2>/dev/null || true)" = "ACTIVE ACTIVE" ]
}

# expect_err DESCRIPTION STATUS MESSAGE ANSWER: the answer (status line, then body, as ccurl
# prints it) is exactly STATUS with the body {"status":STATUS,"message":MESSAGE}.
expect_err() {
    local want got
    want=$(jq -cSn --argjson s "$2" --arg m "$3" '{status: $s, message: $m}')
    got=$(body_of "$4" | jq -cS . 2>/dev/null || true)
    if [ "$(status_of "$4")" = "$2" ] && [ "$got" = "$want" ]; then
        ok "$1"
    else
        not_ok "$1: expected $2 $want, got [$(status_of "$4")] [$(body_of "$4" | head -c 300)]"
    fi
}

# wait_within DESCRIPTION SECONDS COMMAND...: like wait_for, but SECONDS is wall-clock time
# (wait_for counts 0.1 s sleeps, so a slow COMMAND stretches it); retries every 0.1 s and
# records ok / not ok. Sets WAITED_MS to the time it took.
wait_within() {
    local desc=$1 secs=$2 t0
    shift 2
    t0=$(now_ms)
    while :; do
        if "$@" >/dev/null 2>&1; then
            WAITED_MS=$(elapsed_ms "$t0")
            ok "$desc"
            return 0
        fi
        if [ "$(elapsed_ms "$t0")" -ge $((secs * 1000)) ]; then
            WAITED_MS=$(elapsed_ms "$t0")
            not_ok "$desc (not within ${secs}s)"
            return 1
        fi
        sleep 0.1
    done
}

# connect_server_with_hubs NAME OUT HUB_URL... [-- CLI ARGS...]: `sesame connect server
# create NAME --out OUT` with one --server-hub per HUB_URL - the first becomes hub.url (the
# preferred hub), the others hub.urls (replicas of the same hub that sync fails over to,
# docs/sync.md "Several hub URLs") - then the CLI ARGS (e.g. --vault V --format json). Sets
# RC, OUT and ERR as cli does. Reusable by the scale-out tests (several hubs on one database).
connect_server_with_hubs() {
    local name=$1 out=$2 args=()
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        args+=(--server-hub "$1")
        shift
    done
    [ $# -gt 0 ] && shift
    cli connect server create "$name" --out "$out" "${args[@]}" "$@"
}
