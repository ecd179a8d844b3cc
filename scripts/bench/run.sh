#!/usr/bin/env bash
# run.sh BUILD_DIR - `make bench`: measures a real Connect server (hub + sync + api on
# loopback, data made with the admin CLI) and prints the figures docs/benchmarks.md
# records:
#   1. read throughput and latency with the operator's request pattern (vault by title,
#      items by title, item by id) over keep-alive connections, and the api's resident
#      memory during the run (it must stay flat under endless polling);
#   2. propagation: from `sesame item edit` returning (the hub committed) to the new
#      version being served by the api, median and worst of BENCH_EDITS edits;
#   3. writes: PATCH + GET pairs on 4 connections for 10 s (writes/s, latency, and that
#      every GET sees its write);
#   4. start-up: the api's first answer after a restart (locked -> unlocked -> served).
# Knobs: BENCH_ITEMS (1000), BENCH_SECONDS (20), BENCH_CONC (8), BENCH_EDITS (20).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init "${1:-build}"
ITEMS=${BENCH_ITEMS:-1000}
SECONDS_RUN=${BENCH_SECONDS:-20}
CONC=${BENCH_CONC:-8}
EDITS=${BENCH_EDITS:-20}

bench_hub Bench
bench_items Bench "$ITEMS" bench
bench_server bench Bench
cli connect token create bench --server bench --vault Bench:r
TOKEN=$OUT
bench_connect_start
t0=$(ms_now)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API_URL/v1/vaults")
t1=$(ms_now)
echo "bench: first request (unlock + initial pull of $ITEMS items + index): HTTP $code in $((t1 - t0)) ms"

echo "bench: read load, $CONC connections, $SECONDS_RUN s..."
node "$ROOT/scripts/bench/connect-read.mjs" "$API_URL" "$TOKEN" "$API_PID" "$SECONDS_RUN" "$CONC" \
    Bench "$T/titles" | tee "$T/read.json"

echo "bench: propagation, $EDITS edits..."
ID=$(curl -s -H "Authorization: Bearer $TOKEN" \
    "$API_URL/v1/vaults?filter=title%20eq%20%22Bench%22" | jq -r '.[0].id')
IT=$(curl -s -H "Authorization: Bearer $TOKEN" \
    "$API_URL/v1/vaults/$ID/items?filter=title%20eq%20%22item%201%22" | jq -r '.[0].id')
node "$ROOT/scripts/bench/propagation.mjs" "$API_URL" "$TOKEN" "$SESAME" "$ID" "$IT" Bench "$EDITS"

echo "bench: write load (PATCH + read-your-writes GET), 4 connections, 10 s..."
cli connect token create bench-rw --server bench --vault Bench:rw
RW=$OUT
WITEMS=$(curl -s -H "Authorization: Bearer $RW" "$API_URL/v1/vaults/$ID/items" |
    jq -r '.[0:4][].id' | tr '\n' ' ')
# shellcheck disable=SC2086
node "$ROOT/scripts/bench/connect-write.mjs" "$API_URL" "$RW" "$ID" 10 4 $WITEMS

connect_stop API
bench_api_start
t0=$(ms_now)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API_URL/v1/vaults/$ID/items")
t1=$(ms_now)
echo "bench: api restart: first item listing (unlock + index of $ITEMS items from the volume): HTTP $code in $((t1 - t0)) ms"
connect_stop API
connect_stop SYNC
