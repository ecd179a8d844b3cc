#!/usr/bin/env bash
# run.sh BUILD_DIR - `make bench` (docs/benchmarks.md): measures a real hub + two Connect
# servers (sync + api each, own volume) on loopback, against two ceilings serving the same
# bytes, and writes the table to BUILD_DIR/bench/results.md (and into docs/benchmarks.md).
#
# Set-up: a hub, an account, the vault "Bench" and BENCH_VAULTS-1 more; BENCH_FILE_ITEMS
# LOGIN items with attachments made with the admin CLI (the first with a BENCH_FILE_MB MB
# file; the Connect API cannot attach files); Connect server A (all vaults) with its sync and
# api; BENCH_ITEMS realistic LOGIN items (scripts/bench/common.mjs benchItem) POSTed into
# Bench through A's api (api -> sync -> hub, BENCH_SETUP_CONNS at a time:
# scripts/bench/populate.mjs), BENCH_OTHER_ITEMS into each other vault.
#
# Scenarios, each read scenario with wrk (scripts/bench/wrk.lua: BENCH_CONC keep-alive
# connections, BENCH_WRK_THREADS threads, BENCH_SECONDS):
#   - server B (its own sync, api and volume, the vault Bench), started before the items are
#     made: the second server of the propagation scenario, following the change feed;
#   - cold start: server C (the same, on an empty volume) started after the set-up; the
#     time from its first request (the unlocking token) to the first right answer (the item
#     by id: unlock, full pull of every item, index), at most BENCH_COLD_TIMEOUT s; then
#     stopped. A cold start that fails is reported (not met) and the run goes on;
#   - ceilings: the exact bytes of "item 1" as its GET answers them, from nginx (a static
#     file, one worker per core, keep-alive, access_log off) and from nullhttpd (a do-nothing
#     libmicrohttpd responder with the api's flags and thread pool);
#   - GET item by id; list items with `title eq` (round 1000 titles of the vault); the
#     operator cycle (vault by title, item by title, item by id, its files); GET file
#     content (the BENCH_FILE_MB MB file, with its own two ceilings); the JS SDK's
#     getItemByTitle from Node with BENCH_SDK_CONC calls in flight (scripts/bench/sdk.mjs);
#   - RSS of hub, sync and api at rest (after the set-up) and the most during the reads;
#   - propagation: BENCH_EDITS PATCHes through A's api, each timed until B serves it
#     (scripts/bench/propagation.mjs): median, p90, p99;
#   - writes: BENCH_WRITERS writers (POST, PUT, PATCH, each write read back) for
#     BENCH_WRITE_SECONDS (scripts/bench/connect-write.mjs);
#   - api restart: A's api restarted on its volume, the first answer.
# scripts/bench/report.mjs turns the results into the table and marks each target met / not
# met. Every answer used to make a ceiling, and the file's bytes, are checked first.
#
# Knobs (environment): BENCH_ITEMS (10000), BENCH_VAULTS (3), BENCH_OTHER_ITEMS (100),
# BENCH_FILE_ITEMS (4), BENCH_FILE_MB (1), BENCH_SECONDS (20), BENCH_CONC (16),
# BENCH_WRK_THREADS (nproc), BENCH_WRITERS (16), BENCH_WRITE_SECONDS (BENCH_SECONDS),
# BENCH_EDITS (200), BENCH_SDK_CONC (32), BENCH_SETUP_CONNS (16), BENCH_COLD_TIMEOUT (60),
# BENCH_OUT (BUILD_DIR/bench), BENCH_UPDATE_DOC (auto: docs/benchmarks.md is rewritten only
# by a run with the default BENCH_ITEMS and BENCH_SECONDS; 1 always, 0 never).
#
# The hub's backend: BENCH_HUB_DATABASE (sqlite, the default: the hub's own file; or
# postgresql: a throwaway PostgreSQL 15 started by scripts/pg-test-cluster.sh in
# BENCH_OUT/pg, a fresh database `sesame_bench` made in it, the hub started with
# SESAME_HUB_DATABASE_URL naming it - never printed, it holds a password - and the cluster
# stopped and removed when the script exits, however it exits). A postgresql run leaves the
# main table of docs/benchmarks.md alone unless BENCH_UPDATE_DOC=1.
# BENCH_SCENARIOS (all, or hub: only the set-up, propagation and writes - the scenarios the
# hub's backend takes part in - with the CPU the hub, PostgreSQL, api and sync spend per
# write and PostgreSQL's commits and WAL flushes; one row per backend goes between the
# bench:backends markers of docs/benchmarks.md, by scripts/bench/backends.mjs, unless
# BENCH_UPDATE_DOC=0; the main table is never touched; a PostgreSQL run also saves the
# cluster's per-table and per-index counters in raw/pg-stats.txt). The comparison, about 3
# minutes each on 2 cores, with the same knobs on both:
#   make bench BENCH_SCENARIOS=hub BENCH_HUB_DATABASE=sqlite
#   make bench BENCH_SCENARIOS=hub BENCH_HUB_DATABASE=postgresql
# Quick mode: BENCH_ITEMS=1000 BENCH_SECONDS=5 BENCH_EDITS=50.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ITEMS=${BENCH_ITEMS:-10000}
VAULTS=${BENCH_VAULTS:-3}
OTHER_ITEMS=${BENCH_OTHER_ITEMS:-100}
FILE_ITEMS=${BENCH_FILE_ITEMS:-4}
FILE_MB=${BENCH_FILE_MB:-1}
SECONDS_RUN=${BENCH_SECONDS:-20}
CONC=${BENCH_CONC:-16}
WRK_THREADS=${BENCH_WRK_THREADS:-$(nproc)}
WRITERS=${BENCH_WRITERS:-16}
WRITE_SECONDS=${BENCH_WRITE_SECONDS:-$SECONDS_RUN}
EDITS=${BENCH_EDITS:-200}
SDK_CONC=${BENCH_SDK_CONC:-32}
SETUP_CONNS=${BENCH_SETUP_CONNS:-16}
COLD_TIMEOUT=${BENCH_COLD_TIMEOUT:-60}
UPDATE_DOC=${BENCH_UPDATE_DOC:-auto}
HUB_DATABASE=${BENCH_HUB_DATABASE:-sqlite}
SCENARIOS=${BENCH_SCENARIOS:-all}
# the knobs this run was given (the backends table prints them as its command line)
GIVEN_KNOBS=$(env | grep -E '^BENCH_[A-Z_]+=' | grep -Ev '^BENCH_(OUT|UPDATE_DOC|HUB_DATABASE|SCENARIOS)=' |
    LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//' || true)
# the integration helpers would put the hub on a database of their own under TEST_HUB_STORE=pg
unset TEST_HUB_STORE
# the hub comparison's row is written unless BENCH_UPDATE_DOC=0; the main table stays the
# SQLite hub's unless asked (BENCH_UPDATE_DOC=1)
BACKENDS_UPDATE=1
[ "$UPDATE_DOC" != 0 ] || BACKENDS_UPDATE=0
if [ "$HUB_DATABASE" = postgresql ] && [ "$UPDATE_DOC" = auto ]; then UPDATE_DOC=0; fi
for v in ITEMS VAULTS OTHER_ITEMS FILE_ITEMS FILE_MB SECONDS_RUN CONC WRK_THREADS WRITERS \
    WRITE_SECONDS EDITS SDK_CONC SETUP_CONNS COLD_TIMEOUT; do
    if ! [[ ${!v} =~ ^[0-9]+$ ]] || [ "${!v}" -eq 0 ] || [ "${!v}" -gt 1000000 ]; then
        echo "bench: $v must be a positive integer (see the knobs in scripts/bench/run.sh)" >&2
        exit 2
    fi
done
if [ "$ITEMS" -lt 2 ] || [ "$WRK_THREADS" -gt "$CONC" ]; then
    echo "bench: BENCH_ITEMS must be >= 2 and BENCH_WRK_THREADS <= BENCH_CONC" >&2
    exit 2
fi
case $UPDATE_DOC in auto | 0 | 1) ;; *)
    echo "bench: BENCH_UPDATE_DOC is auto, 0 or 1" >&2
    exit 2
    ;;
esac
case $HUB_DATABASE in sqlite | postgresql) ;; *)
    echo "bench: BENCH_HUB_DATABASE is sqlite or postgresql" >&2
    exit 2
    ;;
esac
case $SCENARIOS in all | hub) ;; *)
    echo "bench: BENCH_SCENARIOS is all or hub" >&2
    exit 2
    ;;
esac

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
for tool in wrk "$NGINX" node jq curl; do
    if ! command -v "$tool" >/dev/null; then
        echo "bench: $tool is not installed (scripts/install-deps.sh --bench)" >&2
        exit 1
    fi
done

BUILD_ARG=${1:-build}
case $BUILD_ARG in
/*) OUTDIR=${BENCH_OUT:-$BUILD_ARG/bench} ;;
*) OUTDIR=${BENCH_OUT:-$(cd "$(dirname "$0")/../.." && pwd)/$BUILD_ARG/bench} ;;
esac
rm -rf "$OUTDIR/raw" "$OUTDIR/results.md" "$OUTDIR/results.json"
mkdir -p "$OUTDIR/raw"
RAW=$OUTDIR/raw

# bench_sdk_prepare: installs (or finds) the JS SDK as the SDK tests do, with the real HOME
# (called by bench_init before hub_test_init). Without it the SDK scenario is skipped.
# shellcheck disable=SC2317
bench_sdk_prepare() {
    SDK_OK=0
    # shellcheck source=../../tests/integration/sdk_lib.bash
    . "$ROOT/tests/integration/sdk_lib.bash"
    if (sdk_install) >"$RAW/sdk-install.log" 2>&1 && [ "$(sdk_version)" = "$SDK_VERSION" ]; then
        SDK_OK=1
    fi
}
bench_init "$BUILD_ARG" bench_sdk_prepare
if [ ! -x "$BUILD/nullhttpd" ]; then
    echo "bench: no nullhttpd in $BUILD (cmake --build $BUILD)" >&2
    exit 1
fi

NGINX_PID=
RSS_PID=
# bench_cleanup: stops nginx (its workers go with the master) and the RSS sampler, then
# everything else (hub_cleanup: hub, syncs, apis, nullhttpd; $T removed).
bench_cleanup() {
    local rc=$? i
    if [ "$rc" -ne 0 ] && [ -d "${T:-}" ]; then
        # a failed run keeps the servers' logs (the temporary directory goes)
        mkdir -p "$RAW/logs"
        cp "$T"/*.log "$T"/hub.log "$RAW/logs/" 2>/dev/null || true
        echo "bench: failed (exit $rc); the logs are in $RAW/logs" >&2
    fi
    if [ -n "$RSS_PID" ]; then kill "$RSS_PID" 2>/dev/null || true; fi
    if [ -n "$NGINX_PID" ]; then
        kill -TERM "$NGINX_PID" 2>/dev/null || true
        for i in $(seq 1 50); do
            kill -0 "$NGINX_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    fi
    hub_cleanup
    if [ "$HUB_DATABASE" = postgresql ]; then
        "$ROOT/scripts/pg-test-cluster.sh" stop "$OUTDIR/pg" || true
    fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "bench: $*"; }
PG_DB=sesame_bench
PG_HOME=
PG_PORT=
# bench_psql ARGS...: psql as the cluster's superuser over its Unix socket (trust), on the
# database postgres.
bench_psql() {
    "${PG_BIN:-/usr/lib/postgresql/15/bin}/psql" -X -q -h "$PG_HOME" -p "$PG_PORT" -U postgres \
        -d "${PSQL_DB:-postgres}" "$@"
}
# rss_of PID: its resident set in KiB (0 when it is gone).
rss_of() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
RUN_T0=$(ms_now)

# ---- set-up ---------------------------------------------------------------------------------
say "set-up: hub ($HUB_DATABASE), account, $VAULTS vaults, $FILE_ITEMS items with files (admin CLI)..."
t_setup0=$(ms_now)
if [ "$HUB_DATABASE" = postgresql ]; then
    # a throwaway PostgreSQL 15 on loopback; its URL (with a password) is never printed
    "$ROOT/scripts/pg-test-cluster.sh" stop "$OUTDIR/pg"
    "$ROOT/scripts/pg-test-cluster.sh" start "$OUTDIR/pg" >/dev/null || {
        echo "bench: the PostgreSQL cluster does not start" >&2
        exit 1
    }
    PG_HOME=$(cat "$OUTDIR/pg/cluster")
    PG_PORT=$(cat "$OUTDIR/pg/port")
    # a fresh database for the hub, made over the superuser's socket (no password anywhere)
    bench_psql -v ON_ERROR_STOP=1 -c "CREATE DATABASE $PG_DB OWNER sesame" >/dev/null || {
        echo "bench: cannot create the database $PG_DB" >&2
        exit 1
    }
    pg_url=$(cat "$OUTDIR/pg/url")
    SESAME_HUB_DATABASE_URL=${pg_url%/*}/$PG_DB bench_hub Bench
    pg_url=
else
    bench_hub Bench
fi
VID=$(jq -r .id <<<"$OUT")
vault_names=(Bench)
declare -A VAULT_IDS=([Bench]=$VID)
for i in $(seq 2 "$VAULTS"); do
    cli vault create "Bench $i" --format json
    [ "$RC" -eq 0 ] || {
        echo "bench: vault create fails: $ERR" >&2
        exit 1
    }
    vault_names+=("Bench $i")
    VAULT_IDS["Bench $i"]=$(jq -r .id <<<"$OUT")
done
bench_server bench "${vault_names[@]}"
rw_args=()
for v in "${vault_names[@]}"; do rw_args+=(--vault "$v:rw"); done
cli connect token create bench-rw --server bench "${rw_args[@]}"
RW_TOKEN=$OUT
cli connect token create bench-read --server bench --vault Bench:r
READ_TOKEN=$OUT

# Attachments can only be made with the admin CLI (Connect's API has no file upload).
mkdir -p "$T/files" "$T/www"
head -c $((FILE_MB * 1048576)) /dev/urandom >"$T/files/big.bin"
for j in $(seq 1 "$FILE_ITEMS"); do
    fargs=()
    if [ "$j" -eq 1 ]; then
        fargs=(--file "$T/files/big.bin")
    else
        for _ in $(seq 1 32); do echo "file item $j: release notes, line after line, 64 bytes"; done \
            >"$T/files/notes-$j.txt"
        head -c 24576 /dev/urandom >"$T/files/blob-$j.bin"
        fargs=(--file "$T/files/notes-$j.txt" --file "$T/files/blob-$j.bin")
    fi
    "$SESAME" item create --vault Bench --category LOGIN --title "file item $j" \
        --tags "bench,files" --field "username=files$j" --generate-password \
        --url "https://files$j.example.com" --notes "An item with attachments." "${fargs[@]}" \
        >/dev/null || {
        echo "bench: item create \"file item $j\" fails" >&2
        exit 1
    }
done

bench_connect_start
curl -s -o /dev/null --max-time 60 -H "Authorization: Bearer $RW_TOKEN" "$API_URL/v1/vaults" || true
wait_within "server A is synced" 120 connect_synced "$API_URL" >/dev/null || {
    echo "bench: server A is not synced within 120 s" >&2
    exit 1
}
# Server B follows the hub's change feed from here on (propagation is measured on it).
BENCH_CREDS=$T/creds-b.json bench_server bench-b Bench
cli connect token create bench-b --server bench-b --vault Bench:r
B_TOKEN=$OUT
bench_connect_start _B "$T/creds-b.json" "$T/xdg-b"
curl -s -o /dev/null --max-time 60 -H "Authorization: Bearer $B_TOKEN" "$API_B_URL/v1/vaults" || true
wait_within "server B is synced" 120 connect_synced "$API_B_URL" >/dev/null || {
    echo "bench: server B is not synced within 120 s" >&2
    exit 1
}
say "set-up: $ITEMS items into Bench through the api ($SETUP_CONNS at a time)..."
: >"$T/ids"
node "$ROOT/scripts/bench/populate.mjs" "$API_URL" "$RW_TOKEN" "$VID" "item " "$ITEMS" \
    "$SETUP_CONNS" "$T/ids" >"$RAW/populate.json" || {
    echo "bench: populating Bench fails" >&2
    exit 1
}
say "  $(jq -r '"\(.created) items in \(.seconds) s (\(.per_s)/s)"' "$RAW/populate.json")"
for v in "${vault_names[@]:1}"; do
    node "$ROOT/scripts/bench/populate.mjs" "$API_URL" "$RW_TOKEN" "${VAULT_IDS[$v]}" \
        "$v item " "$OTHER_ITEMS" "$SETUP_CONNS" "$T/other-ids" >/dev/null || {
        echo "bench: populating $v fails" >&2
        exit 1
    }
done
# bench_count API_URL TOKEN: the number of items the api lists in Bench.
bench_count() {
    curl -s --max-time 30 -H "Authorization: Bearer $2" "$1/v1/vaults/$VID/items" | jq length
}
bench_all_listed() { [ "$(bench_count "$1" "$2")" = "$((ITEMS + FILE_ITEMS))" ]; }
wait_within "A lists every item" 60 bench_all_listed "$API_URL" "$RW_TOKEN" >/dev/null || {
    echo "bench: A lists $(bench_count "$API_URL" "$RW_TOKEN") items in Bench, not $((ITEMS + FILE_ITEMS))" >&2
    exit 1
}
wait_within "B lists every item" 120 bench_all_listed "$API_B_URL" "$B_TOKEN" >/dev/null || {
    echo "bench: B lists $(bench_count "$API_B_URL" "$B_TOKEN") items in Bench, not $((ITEMS + FILE_ITEMS))" >&2
    exit 1
}
t_setup1=$(ms_now)
SETUP_MS=$((t_setup1 - t_setup0))
say "set-up done in $((SETUP_MS / 1000)) s"

ITEM1=$(awk -F'\t' '$2 == "item 1" {print $1}' "$T/ids")
ITEM2=$(awk -F'\t' '$2 == "item 2" {print $1}' "$T/ids")
FILEITEM=$(curl -s -H "Authorization: Bearer $READ_TOKEN" \
    "$API_URL/v1/vaults/$VID/items?filter=title%20eq%20%22file%20item%201%22" | jq -r '.[0].id')
FILEID=$(curl -s -H "Authorization: Bearer $READ_TOKEN" \
    "$API_URL/v1/vaults/$VID/items/$FILEITEM/files" | jq -r '.[0].id')
if ! [[ $ITEM1 =~ ^[a-z0-9]{26}$ && $FILEITEM =~ ^[a-z0-9]{26}$ && $FILEID =~ ^[a-z0-9]{26}$ ]]; then
    echo "bench: cannot find item 1 ($ITEM1), file item 1 ($FILEITEM) or its file ($FILEID)" >&2
    exit 1
fi
ITEM_PATH=/v1/vaults/$VID/items/$ITEM1
FILE_PATH=/v1/vaults/$VID/items/$FILEITEM/files/$FILEID/content

if [ "$SCENARIOS" = all ]; then # cold start, ceilings, reads (not in BENCH_SCENARIOS=hub)
# ---- cold start: Connect server C, started on an empty volume after the set-up --------------
say "cold start: server C (own sync, api, volume) with $((ITEMS + FILE_ITEMS)) items in Bench..."
BENCH_CREDS=$T/creds-c.json bench_server bench-c Bench
cli connect token create bench-c --server bench-c --vault Bench:r
C_TOKEN=$OUT
bench_connect_start _C "$T/creds-c.json" "$T/xdg-c"
sleep 1
cold_first=
cold_tries=0
cold_ok=false
t0=$(ms_now)
while :; do
    code=$(curl -s -o "$T/cold.json" -w '%{http_code}' --max-time "$COLD_TIMEOUT" \
        -H "Authorization: Bearer $C_TOKEN" "$API_C_URL$ITEM_PATH" || true)
    cold_tries=$((cold_tries + 1))
    [ -n "$cold_first" ] || cold_first=$code
    if [ "$code" = 200 ] && [ "$(jq -r .id "$T/cold.json" 2>/dev/null)" = "$ITEM1" ]; then
        cold_ok=true
        break
    fi
    [ $(($(ms_now) - t0)) -lt $((COLD_TIMEOUT * 1000)) ] || break
    sleep 0.005
done
COLD_MS=$(($(ms_now) - t0))
cold_why=
if $cold_ok; then
    say "  first right answer after $COLD_MS ms (first answer HTTP $cold_first, $cold_tries requests)"
else
    # what sync said (its warnings), for the report
    cold_why=$(grep '"level":[12][,}]' "$SYNC_C_LOG" | tail -n1 | jq -r .log_message 2>/dev/null || true)
    say "  NO right answer within $COLD_TIMEOUT s (last HTTP $code, $cold_tries requests); sync: ${cold_why:-nothing logged}"
    grep -E '"level":[12][,}]' "$SYNC_C_LOG" "$API_C_LOG" | head -20 >"$RAW/log-cold.txt" || true
fi
jq -n --argjson ms "$COLD_MS" --arg first "$cold_first" --argjson tries "$cold_tries" \
    --argjson items "$((ITEMS + FILE_ITEMS))" --argjson ok "$cold_ok" --arg last "$code" \
    --arg why "$cold_why" --argjson limit "$COLD_TIMEOUT" \
    '{ok: $ok, ms: $ms, first_status: $first, last_status: $last, requests: $tries, items: $items,
      timeout_s: $limit, sync_said: $why}' >"$RAW/cold.json"
connect_stop API_C || true
connect_stop SYNC_C || true

# ---- RSS at rest -------------------------------------------------------------------------------
sleep 2
jq -n --argjson hub "$(rss_of "$HUB_PID")" --argjson sync "$(rss_of "$SYNC_PID")" \
    --argjson api "$(rss_of "$API_PID")" --argjson sync_b "$(rss_of "$SYNC_B_PID")" \
    --argjson api_b "$(rss_of "$API_B_PID")" \
    '{hub: $hub, sync: $sync, api: $api, sync_b: $sync_b, api_b: $api_b}' >"$RAW/rss-rest.json"

# ---- the bytes of the ceilings, checked -------------------------------------------------------
code=$(curl -s -o "$T/www/item.json" -w '%{http_code}' -H "Authorization: Bearer $READ_TOKEN" \
    "$API_URL$ITEM_PATH")
if [ "$code" != 200 ] || [ "$(jq -r '.id + " " + .title' "$T/www/item.json")" != "$ITEM1 item 1" ]; then
    echo "bench: GET item 1 answers HTTP $code with the wrong item" >&2
    exit 1
fi
code=$(curl -s -o "$T/www/file.bin" -w '%{http_code}' -H "Authorization: Bearer $READ_TOKEN" \
    "$API_URL$FILE_PATH")
if [ "$code" != 200 ] || ! cmp -s "$T/www/file.bin" "$T/files/big.bin"; then
    echo "bench: GET file content answers HTTP $code and not the attached bytes (server bug)" >&2
    exit 1
fi
n=$(curl -s -H "Authorization: Bearer $READ_TOKEN" \
    "$API_URL/v1/vaults/$VID/items?filter=title%20eq%20%22item%20$ITEMS%22" | jq -c '[.[].title]')
if [ "$n" != "[\"item $ITEMS\"]" ]; then
    echo "bench: title eq \"item $ITEMS\" answers $n (server bug)" >&2
    exit 1
fi

# nginx: a static file server on loopback, one worker per core, keep-alive, no access log,
# open files cached.
NGX_PORT=$(free_port)
mkdir -p "$T/nginx/tmp"
nginx_user=
if [ "$(id -u)" -eq 0 ]; then nginx_user="user root;"; fi # $T is 0700: workers read it as root
cat >"$T/nginx/nginx.conf" <<EOF
$nginx_user
worker_processes $(nproc);
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 100000000;
    client_body_temp_path $T/nginx/tmp/body;
    proxy_temp_path $T/nginx/tmp/proxy;
    fastcgi_temp_path $T/nginx/tmp/fastcgi;
    uwsgi_temp_path $T/nginx/tmp/uwsgi;
    scgi_temp_path $T/nginx/tmp/scgi;
    open_file_cache max=64 inactive=60s;
    open_file_cache_valid 60s;
    types { application/json json; application/octet-stream bin; }
    server {
        listen 127.0.0.1:$NGX_PORT;
        root $T/www;
        # the fastest of the usual settings for each size (measured on the 2-core machine)
        location = /item.json { sendfile off; }
        location = /file.bin { sendfile on; }
    }
}
EOF
"$NGINX" -e "$T/nginx/error.log" -p "$T/nginx" -c "$T/nginx/nginx.conf" &
NGINX_PID=$!
# nullhttpd: libmicrohttpd answering every request with the bytes of one file.
NULL_ITEM_PID=
NULL_FILE_PID=
for what in item file; do
    ext=json
    [ "$what" = file ] && ext=bin
    rm -f "$T/null-$what.port"
    "$BUILD/nullhttpd" --file "$T/www/$what.$ext" --port-file "$T/null-$what.port" \
        --content-type "$([ "$what" = file ] && echo application/octet-stream || echo application/json)" \
        2>>"$T/nullhttpd.log" &
    HUB_PIDS+=("$!")
    printf -v "NULL_${what^^}_PID" '%s' "$!"
done
# ceiling_ok URL FILE: the URL answers 200 with exactly the bytes of FILE.
ceiling_ok() { curl -s --max-time 5 "$1" -o "$T/ceiling.out" && cmp -s "$T/ceiling.out" "$2"; }
for what in item file; do
    if ! wait_within "nullhttpd listens" 10 test -s "$T/null-$what.port" >/dev/null; then
        echo "bench: nullhttpd does not start: $(cat "$T/nullhttpd.log")" >&2
        exit 1
    fi
done
NGX_URL=http://127.0.0.1:$NGX_PORT
NULL_ITEM_URL=http://127.0.0.1:$(head -n1 "$T/null-item.port")
NULL_FILE_URL=http://127.0.0.1:$(head -n1 "$T/null-file.port")
for c in "$NGX_URL/item.json $T/www/item.json" "$NGX_URL/file.bin $T/www/file.bin" \
    "$NULL_ITEM_URL/ $T/www/item.json" "$NULL_FILE_URL/ $T/www/file.bin"; do
    # shellcheck disable=SC2086 # two words: URL FILE
    wait_within "ceiling answers" 10 ceiling_ok $c >/dev/null || {
        echo "bench: the ceiling ${c%% *} does not serve the bytes (nginx log: $(tail -3 "$T/nginx/error.log"))" >&2
        exit 1
    }
done

# ---- read scenarios ----------------------------------------------------------------------------
# The RSS of hub, sync and api every 0.5 s during the reads.
(
    while :; do
        echo "$(rss_of "$HUB_PID") $(rss_of "$SYNC_PID") $(rss_of "$API_PID")"
        sleep 0.5
    done
) >"$RAW/rss-load.txt" &
RSS_PID=$!

# run_wrk NAME URL TOKEN [PATHS_FILE]: one wrk run; raw output in raw/NAME.txt, the figures in
# raw/NAME.json, the command in raw/NAME.cmd.
run_wrk() {
    local name=$1 url=$2 tok=$3 paths=${4:-}
    local cmd=(wrk -t "$WRK_THREADS" -c "$CONC" -d "${SECONDS_RUN}s" --timeout 10s --latency
        -s "$ROOT/scripts/bench/wrk.lua" "$url")
    printf '%s%s%s\n' "${tok:+BENCH_TOKEN=<token> }" "${paths:+BENCH_PATHS=$(basename "$paths") }" \
        "${cmd[*]}" | sed "s|$ROOT/||; s|$T|\$T|g" >"$RAW/$name.cmd"
    BENCH_TOKEN=$tok BENCH_PATHS=$paths timeout $((SECONDS_RUN + 60)) "${cmd[@]}" \
        >"$RAW/$name.txt" 2>&1 || true
    sed -n 's/^BENCH_JSON //p' "$RAW/$name.txt" >"$RAW/$name.json"
    if [ ! -s "$RAW/$name.json" ]; then
        echo "bench: wrk gave no result for $name:" >&2
        tail -5 "$RAW/$name.txt" >&2
        exit 1
    fi
    say "  $name: $(jq -r '"\(.rps) req/s, p50 \(.p50_us / 1000) ms, p99 \(.p99_us / 1000) ms, errors \(.errors | add)"' "$RAW/$name.json")"
}

# the paths: 1000 titles spread over the vault; the operator cycle over 250 items
step=$((ITEMS / 1000))
[ "$step" -ge 1 ] || step=1
awk -F'\t' -v s="$step" '(NR - 1) % s == 0 {print $2}' "$T/ids" | head -n 1000 >"$T/titles"
sed 's/ /%20/g; s|^|/v1/vaults/'"$VID"'/items?filter=title%20eq%20%22|; s|$|%22|' "$T/titles" \
    >"$T/paths-title"
awk -F'\t' -v s="$step" -v v="$VID" '(NR - 1) % s == 0 && n++ < 250 {
    t = $2; gsub(/ /, "%20", t)
    print "/v1/vaults?filter=title%20eq%20%22Bench%22"
    print "/v1/vaults/" v "/items?filter=title%20eq%20%22" t "%22"
    print "/v1/vaults/" v "/items/" $1
    print "/v1/vaults/" v "/items/" $1 "/files"
}' "$T/ids" >"$T/paths-operator"

say "reads: $CONC connections, $WRK_THREADS wrk threads, $SECONDS_RUN s each..."
run_wrk ceiling-nginx-item "$NGX_URL/item.json" "$READ_TOKEN"
run_wrk ceiling-mhd-item "$NULL_ITEM_URL/" "$READ_TOKEN"
run_wrk item-by-id "$API_URL$ITEM_PATH" "$READ_TOKEN"
run_wrk title-eq "$API_URL" "$READ_TOKEN" "$T/paths-title"
run_wrk operator-cycle "$API_URL" "$READ_TOKEN" "$T/paths-operator"
run_wrk ceiling-nginx-file "$NGX_URL/file.bin" "$READ_TOKEN"
run_wrk ceiling-mhd-file "$NULL_FILE_URL/" "$READ_TOKEN"
run_wrk file-content "$API_URL$FILE_PATH" "$READ_TOKEN"
if [ "$SDK_OK" -eq 1 ]; then
    say "  JS SDK getItemByTitle, $SDK_CONC in flight..."
    node "$ROOT/scripts/bench/sdk.mjs" "$JS_DIR" "$API_URL" "$READ_TOKEN" "$VID" "$T/titles" \
        "$SECONDS_RUN" "$SDK_CONC" >"$RAW/sdk.json" || true
    say "  sdk: $(jq -r '"\(.calls_per_s) calls/s, p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, errors \(.errors)"' "$RAW/sdk.json")"
else
    say "  JS SDK: not installed (see $RAW/sdk-install.log): skipped"
fi
kill "$RSS_PID" 2>/dev/null || true
wait "$RSS_PID" 2>/dev/null || true
RSS_PID=
kill -TERM "$NGINX_PID" 2>/dev/null || true
wait "$NGINX_PID" 2>/dev/null || true
NGINX_PID=
kill "$NULL_ITEM_PID" "$NULL_FILE_PID" 2>/dev/null || true
wait "$NULL_ITEM_PID" "$NULL_FILE_PID" 2>/dev/null || true

fi # the read scenarios

# ---- propagation A -> hub -> B -------------------------------------------------------------
say "propagation: $EDITS edits through A, polled on B..."
node "$ROOT/scripts/bench/propagation.mjs" "$API_URL" "$RW_TOKEN" "$API_B_URL" "$B_TOKEN" \
    "$VID" "$ITEM2" "$EDITS" 1 >"$RAW/propagation.json" || true
say "  $(jq -r '"median \(.median_ms) ms, p90 \(.p90_ms) ms, p99 \(.p99_ms) ms, worst \(.worst_ms) ms over \(.edits) edits"' "$RAW/propagation.json")"

# ---- writes ----------------------------------------------------------------------------------
# Where the CPU goes: each process's user + system time over the write scenario (the
# cluster's processes summed), the machine's busy share, and PostgreSQL's commits and WAL
# flushes (its statistics reach pg_stat_* within 10 s of a backend going idle: hence the
# pauses, taken on both backends so that their runs stay alike).
# proc_ticks PID: its user + system CPU in clock ticks (0 when it is gone).
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# pg_pids: the cluster's processes (postmaster and children); nothing on SQLite.
pg_pids() {
    local pm
    [ -n "$PG_HOME" ] || return 0
    pm=$(head -n1 "$PG_HOME/data/postmaster.pid" 2>/dev/null) || return 0
    echo "$pm"
    ps -o pid= --ppid "$pm" 2>/dev/null || true
}
# machine_ticks: "BUSY TOTAL" of /proc/stat (busy: all but idle and iowait).
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
# pg_counters: "COMMITS WAL_SYNCS" of the hub's database (0 0 on SQLite).
pg_counters() {
    if [ -z "$PG_HOME" ]; then echo "0 0"; else
        bench_psql -tA -F' ' -c "SELECT (SELECT xact_commit FROM pg_stat_database
            WHERE datname = '$PG_DB'), (SELECT wal_sync FROM pg_stat_wal)" 2>/dev/null || echo "0 0"
    fi
}
declare -A CPU0=()
# cpu_snap PID...: remembers their CPU; cpu_since PID...: the ticks since (0 before for new).
cpu_snap() { local p; for p in "$@"; do CPU0[$p]=$(proc_ticks "$p"); done; }
cpu_since() {
    local p s=0
    for p in "$@"; do s=$((s + $(proc_ticks "$p") - ${CPU0[$p]:-0})); done
    echo "$s"
}
sleep 11
read -r pg_c0 pg_w0 <<<"$(pg_counters)"
read -r mb0 mt0 <<<"$(machine_ticks)"
# shellcheck disable=SC2046 # pg_pids: one pid a word
cpu_snap "$HUB_PID" "$SYNC_PID" "$API_PID" "$SYNC_B_PID" "$API_B_PID" $(pg_pids)
say "writes: $WRITERS writers (POST, PUT, PATCH, each read back) for $WRITE_SECONDS s..."
node "$ROOT/scripts/bench/connect-write.mjs" "$API_URL" "$RW_TOKEN" "$VID" "$WRITE_SECONDS" \
    "$WRITERS" >"$RAW/writes.json" || true
cpu_hub=$(cpu_since "$HUB_PID")
cpu_conn=$(cpu_since "$SYNC_PID" "$API_PID")
cpu_conn_b=$(cpu_since "$SYNC_B_PID" "$API_B_PID")
# shellcheck disable=SC2046
cpu_pg=$(cpu_since $(pg_pids))
read -r mb1 mt1 <<<"$(machine_ticks)"
say "  $(jq -r '"\(.writes_per_s) writes/s, p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, \(.read_after_write_misses) misses, \(.errors) errors"' "$RAW/writes.json")"
jq -n --argjson hub "$(rss_of "$HUB_PID")" --argjson sync "$(rss_of "$SYNC_PID")" \
    --argjson api "$(rss_of "$API_PID")" '{hub: $hub, sync: $sync, api: $api}' \
    >"$RAW/rss-after-writes.json"
if [ -n "$PG_HOME" ]; then sleep 11; fi
read -r pg_c1 pg_w1 <<<"$(pg_counters)"
jq -n --argjson tck "$(getconf CLK_TCK)" --argjson hub "$cpu_hub" --argjson conn "$cpu_conn" \
    --argjson conn_b "$cpu_conn_b" --argjson pg "$cpu_pg" --argjson busy "$((mb1 - mb0))" \
    --argjson total "$((mt1 - mt0))" --argjson commits "$((pg_c1 - pg_c0))" \
    --argjson wal_syncs "$((pg_w1 - pg_w0))" --argjson pg_on "$([ -n "$PG_HOME" ] && echo true || echo false)" \
    --slurpfile w "$RAW/writes.json" \
    '($w[0].writes // 0) as $n | ($w[0].seconds // 1) as $s | (1000 / $tck) as $ms |
     def per(t): if $n > 0 then (t * $ms / $n * 100 | round) / 100 else null end;
     {hub_ms_per_write: per($hub), db_ms_per_write: (if $pg_on then per($pg) else null end),
      api_sync_ms_per_write: per($conn), server_b_ms_per_write: per($conn_b),
      machine_busy_pct: (if $total > 0 then ($busy * 100 / $total | round) else null end),
      db_commits_per_s: (if $pg_on then ($commits / $s | round) else null end),
      db_wal_flushes_per_s: (if $pg_on then ($wal_syncs / $s | round) else null end)}' \
    >"$RAW/cpu-writes.json"
say "  CPU per write (ms): $(jq -r '"hub \(.hub_ms_per_write), database \(.db_ms_per_write // "in the hub"), api + sync \(.api_sync_ms_per_write); machine \(.machine_busy_pct) % busy; commits/s \(.db_commits_per_s // "-"), WAL flushes/s \(.db_wal_flushes_per_s // "-")"' "$RAW/cpu-writes.json")"
if [ -n "$PG_HOME" ]; then
    # the whole run's work per table and index (where PostgreSQL's CPU goes)
    PSQL_DB=$PG_DB bench_psql -c "SELECT relname, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch,
        n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, n_live_tup, n_dead_tup
        FROM pg_stat_user_tables ORDER BY seq_tup_read + idx_tup_fetch DESC" \
        -c "SELECT relname, indexrelname, idx_scan, idx_tup_read, idx_tup_fetch
        FROM pg_stat_user_indexes ORDER BY idx_tup_read DESC" \
        -c "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted,
        tup_updated FROM pg_stat_database WHERE datname = '$PG_DB'" >"$RAW/pg-stats.txt" 2>&1 || true
fi

WARM_MS=0
if [ "$SCENARIOS" = all ]; then
# ---- api restart on its volume ----------------------------------------------------------------
connect_stop API || true
bench_api_start
t0=$(ms_now)
while :; do
    code=$(curl -s -o "$T/warm.json" -w '%{http_code}' --max-time 60 \
        -H "Authorization: Bearer $READ_TOKEN" "$API_URL$ITEM_PATH" || true)
    if [ "$code" = 200 ] && [ "$(jq -r .id "$T/warm.json" 2>/dev/null)" = "$ITEM1" ]; then break; fi
    if [ $(($(ms_now) - t0)) -gt 60000 ]; then
        echo "bench: the restarted api does not serve item 1 within 60 s" >&2
        exit 1
    fi
    sleep 0.005
done
WARM_MS=$(($(ms_now) - t0))
say "api restart: first right answer after $WARM_MS ms"

fi # api restart

# ---- stop, logs ----------------------------------------------------------------------------------
# log_count LOG LEVEL: the lines logged at LEVEL (1 error, 2 warning).
log_count() { grep -c "\"level\":$2[,}]" "$1" 2>/dev/null || true; }
logs='{}'
for p in HUB:"$HUB_LOG" SYNC:"$SYNC_LOG" API:"$API_LOG" SYNC_B:"$SYNC_B_LOG" API_B:"$API_B_LOG" \
    SYNC_C:"${SYNC_C_LOG:-}" API_C:"${API_C_LOG:-}"; do
    [ -n "${p#*:}" ] || continue # server C: not started by BENCH_SCENARIOS=hub
    logs=$(jq -c --arg k "${p%%:*}" --argjson e "$(log_count "${p#*:}" 1)" \
        --argjson w "$(log_count "${p#*:}" 2)" '. + {($k): {errors: $e, warnings: $w}}' <<<"$logs")
    grep -E '"level":[12][,}]' "${p#*:}" | head -20 >"$RAW/log-${p%%:*}.txt" || true
done
stops=
connect_stop API_B || stops="$stops api_b"
connect_stop SYNC_B || stops="$stops sync_b"
connect_stop API || stops="$stops api"
connect_stop SYNC || stops="$stops sync"
hub_stop || stops="$stops hub"

git_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    git_rev="$git_rev + uncommitted changes"
fi
if [ "$SCENARIOS" = hub ]; then
    # the hub comparison: one row per backend in docs/benchmarks.md (bench:backends)
    jq -n --arg backend "$HUB_DATABASE" --arg date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
        --arg commit "$git_rev" --argjson items "$((ITEMS + FILE_ITEMS))" --argjson writers "$WRITERS" \
        --argjson seconds "$WRITE_SECONDS" --argjson edits "$EDITS" \
        --argjson hub_rss "$(jq .hub "$RAW/rss-after-writes.json")" \
        --arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
        --argjson cores "$(nproc)" --arg load "$LOAD_START / $(cut -d' ' -f1-3 /proc/loadavg)" \
        --arg mem "$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)" \
        --arg command "make bench BENCH_SCENARIOS=hub BENCH_HUB_DATABASE=$HUB_DATABASE${GIVEN_KNOBS:+ $GIVEN_KNOBS}" \
        --argjson setup_s "$((SETUP_MS / 1000))" \
        --slurpfile w "$RAW/writes.json" --slurpfile p "$RAW/propagation.json" \
        --slurpfile c "$RAW/cpu-writes.json" \
        '{backend: $backend, date: $date, commit: $commit, command: $command, items: $items,
          writers: $writers, seconds: $seconds, edits: $edits, hub_rss_kib: $hub_rss,
          machine: {cpu: $cpu, cores: $cores, mem: $mem, load: $load}, setup_s: $setup_s,
          writes: ($w[0] | del(.error_samples, .by_kind)), propagation: $p[0],
          cpu_writes: $c[0]}' >"$RAW/backend.json"
    node "$ROOT/scripts/bench/backends.mjs" "$RAW/backend.json" "$ROOT/docs/benchmarks.md" \
        "$BACKENDS_UPDATE"
    exit 0
fi

# ---- the report ---------------------------------------------------------------------------------
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
jq -n \
    --arg date "$(date -u '+%Y-%m-%d %H:%M UTC')" --arg commit "$git_rev" \
    --arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
    --argjson cores "$(nproc)" \
    --arg mem "$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)" \
    --arg kernel "$(uname -r)" --arg load_start "$LOAD_START" \
    --arg load_end "$(cut -d' ' -f1-3 /proc/loadavg)" --arg build "${build_type:-?}" \
    --arg wrk "$(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)" \
    --arg nginx "$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')" --arg node "$(node --version)" \
    --arg mhd "$(pkg-config --modversion libmicrohttpd 2>/dev/null || echo '?')" \
    --argjson setup_ms "$SETUP_MS" --argjson warm_ms "$WARM_MS" \
    --argjson run_s "$((($(ms_now) - RUN_T0) / 1000))" --argjson logs "$logs" \
    --arg stops "$stops" --arg item_bytes "$(stat -c %s "$T/www/item.json")" \
    --argjson knobs "$(jq -n --argjson items "$ITEMS" --argjson vaults "$VAULTS" \
        --argjson other "$OTHER_ITEMS" --argjson file_items "$FILE_ITEMS" \
        --argjson file_mb "$FILE_MB" --argjson seconds "$SECONDS_RUN" --argjson conc "$CONC" \
        --argjson threads "$WRK_THREADS" --argjson writers "$WRITERS" \
        --argjson write_seconds "$WRITE_SECONDS" --argjson edits "$EDITS" \
        --argjson sdk_conc "$SDK_CONC" --argjson setup_conns "$SETUP_CONNS" \
        --argjson cold_timeout "$COLD_TIMEOUT" \
        '{BENCH_ITEMS: $items, BENCH_VAULTS: $vaults, BENCH_OTHER_ITEMS: $other,
          BENCH_FILE_ITEMS: $file_items, BENCH_FILE_MB: $file_mb, BENCH_SECONDS: $seconds,
          BENCH_CONC: $conc, BENCH_WRK_THREADS: $threads, BENCH_WRITERS: $writers,
          BENCH_WRITE_SECONDS: $write_seconds, BENCH_EDITS: $edits, BENCH_SDK_CONC: $sdk_conc,
          BENCH_SETUP_CONNS: $setup_conns, BENCH_COLD_TIMEOUT: $cold_timeout}')" \
    '{date: $date, commit: $commit, cpu: $cpu, cores: $cores, mem: $mem, kernel: $kernel,
      load_start: $load_start, load_end: $load_end, build_type: $build,
      tools: {wrk: $wrk, nginx: $nginx, node: $node, libmicrohttpd: $mhd},
      setup_ms: $setup_ms, warm_restart_ms: $warm_ms, run_seconds: $run_s, logs: $logs,
      unclean_stops: $stops, item_bytes: ($item_bytes | tonumber), knobs: $knobs}' \
    >"$RAW/meta.json"
node "$ROOT/scripts/bench/report.mjs" "$OUTDIR"

doc=$ROOT/docs/benchmarks.md
if [ "$UPDATE_DOC" = 1 ] || { [ "$UPDATE_DOC" = auto ] && [ -z "${BENCH_ITEMS:-}${BENCH_SECONDS:-}" ]; }; then
    if grep -q '^<!-- bench:results:begin -->$' "$doc" && grep -q '^<!-- bench:results:end -->$' "$doc"; then
        awk -v f="$OUTDIR/results.md" '
            /^<!-- bench:results:end -->$/ { while ((getline l < f) > 0) print l; skip = 0 }
            !skip { print }
            /^<!-- bench:results:begin -->$/ { skip = 1 }' "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
        say "results written to $OUTDIR/results.md and docs/benchmarks.md"
    else
        say "results written to $OUTDIR/results.md (docs/benchmarks.md has no results markers)"
    fi
else
    say "results written to $OUTDIR/results.md (docs/benchmarks.md left alone: BENCH_UPDATE_DOC)"
fi
