#!/usr/bin/env bash
# run.sh BUILD_DIR - `make soak`: a long run of a real hub + sync + api (loopback, data made
# with the admin CLI; the set-up is scripts/bench/lib.sh, shared with `make bench`) under
# an operator-like polling load with a trickle of writes, checking that memory stays flat
# and that every answer is right. docs/reliability.md ("Soak") records a run.
#
#   1. A hub, an account, the vault Soak with SOAK_ITEMS LOGIN items (username, generated
#      password, a "soak" text field); every SOAK_FILES_EVERY-th item has two attachments
#      (a 2 KiB text file and 24 KiB of random bytes). A Connect server with a read-write
#      token, its sync and its api.
#   2. scripts/soak/load.mjs for SOAK_MINUTES: SOAK_CONC readers polling vault by title,
#      items by title, the item, its files and every file's content (SOAK_READ_RPS requests
#      per second in all, 0: as fast as they go), every answer checked (right item, exact
#      file bytes, versions never going back, each version's data the one written); one
#      writer at SOAK_WRITES_PER_S (PATCH, PUT with the current version, and a PUT with a
#      stale version that must get 409), each write read back. VmRSS of hub, sync and api
#      every 10 s into OUT/rss.csv.
#   3. Checks: no error but the expected 409s; RSS growth from the end of the warm-up
#      (SOAK_WARMUP_SECONDS, default 1/6 of the run: 5 minutes of the default 30) to the end
#      under SOAK_MAX_GROWTH_PCT (5) for each process; no sanitizer report in the logs;
#      api, sync and hub stop cleanly on SIGTERM. Prints a summary table (also in
#      OUT/summary.txt, OUT/summary.json; the logs gzipped in OUT). Exit status 1 when a
#      check fails.
# Knobs: SOAK_MINUTES (30), SOAK_ITEMS (1000), SOAK_FILES_EVERY (50), SOAK_CONC (8),
# SOAK_READ_RPS (400), SOAK_WRITES_PER_S (2), SOAK_WARMUP_SECONDS, SOAK_MAX_GROWTH_PCT (5),
# SOAK_OUT (BUILD_DIR/soak).
set -euo pipefail
# shellcheck source=../bench/lib.sh
. "$(dirname "$0")/../bench/lib.sh"
BUILD_ARG=${1:-build}
bench_init "$BUILD_ARG"
MINUTES=${SOAK_MINUTES:-30}
ITEMS=${SOAK_ITEMS:-1000}
FILES_EVERY=${SOAK_FILES_EVERY:-50}
CONC=${SOAK_CONC:-8}
READ_RPS=${SOAK_READ_RPS:-400}
WRITES_PER_S=${SOAK_WRITES_PER_S:-2}
MAX_GROWTH=${SOAK_MAX_GROWTH_PCT:-5}
for v in MINUTES ITEMS FILES_EVERY CONC READ_RPS WRITES_PER_S MAX_GROWTH; do
    if ! [[ ${!v} =~ ^[0-9]+$ ]] || { [ "$v" != READ_RPS ] && [ "$v" != WRITES_PER_S ] && [ "${!v}" -eq 0 ]; }; then
        echo "soak: SOAK_$v must be a positive integer (READ_RPS, WRITES_PER_S: >= 0)" >&2
        exit 2
    fi
done
RUN_SECONDS=$((MINUTES * 60))
WARMUP=${SOAK_WARMUP_SECONDS:-$((RUN_SECONDS / 6))}
case $BUILD_ARG in
/*) OUTDIR=${SOAK_OUT:-$BUILD_ARG/soak} ;;
*) OUTDIR=${SOAK_OUT:-$ROOT/$BUILD_ARG/soak} ;;
esac
mkdir -p "$OUTDIR"
command -v node >/dev/null || {
    echo "soak: node is not installed (scripts/install-deps.sh)" >&2
    exit 1
}

# soak_item_args I: every FILES_EVERY-th item gets two attachments, written to
# $T/files/I/ (load.mjs compares the served bytes with them). Called by bench_items.
# shellcheck disable=SC2317
soak_item_args() {
    local i=$1 d
    ITEM_ARGS=(--field "soak=0")
    if [ $((i % FILES_EVERY)) -eq 0 ]; then
        d="$T/files/$i"
        mkdir -p "$d"
        for _ in $(seq 1 32); do echo "soak item $i: a text attachment, line after line"; done >"$d/notes-$i.txt"
        head -c 24576 /dev/urandom >"$d/blob-$i.bin"
        ITEM_ARGS+=(--file "$d/notes-$i.txt" --file "$d/blob-$i.bin")
    fi
}

echo "soak: $MINUTES min, $ITEMS items (attachments on every ${FILES_EVERY}th), $CONC readers" \
    "at ${READ_RPS} req/s (0: unthrottled), $WRITES_PER_S writes/s; results in $OUTDIR"
mkdir -p "$T/files"
bench_hub Soak
BENCH_ITEM_ARGS=soak_item_args bench_items Soak "$ITEMS" soak
bench_server soak Soak
cli connect token create soak --server soak --vault Soak:rw
TOKEN=$OUT
bench_connect_start
# the first request with a token unlocks the api (it then has sync pull everything)
curl -s -o /dev/null --max-time 30 -H "Authorization: Bearer $TOKEN" "$API_URL/v1/vaults" || true
wait_within "the api serves synced data" 120 connect_synced "$API_URL" >/dev/null || {
    echo "soak: the api does not report synced data within 120 s" >&2
    exit 1
}

config=$(jq -cn --arg url "$API_URL" --arg token "$TOKEN" --arg titles "$T/titles" \
    --arg files "$T/files" --argjson hub "$HUB_PID" --argjson sync "$SYNC_PID" \
    --argjson api "$API_PID" --argjson seconds "$RUN_SECONDS" --argjson warmup "$WARMUP" \
    --argjson conc "$CONC" --argjson rps "$READ_RPS" --argjson wps "$WRITES_PER_S" \
    --argjson growth "$MAX_GROWTH" --arg csv "$OUTDIR/rss.csv" --arg summary "$OUTDIR/summary.json" \
    '{url: $url, token: $token, vault: "Soak", titles: $titles, filesDir: $files,
      pids: {hub: $hub, sync: $sync, api: $api}, seconds: $seconds, warmupSeconds: $warmup,
      conc: $conc, readRps: $rps, writesPerS: $wps, sampleSeconds: 10, maxGrowthPct: $growth,
      csv: $csv, summary: $summary}')
rc=0
node "$ROOT/scripts/soak/load.mjs" "$config" | tee "$OUTDIR/summary.txt" || rc=$?

# After the load: no sanitizer report, and each process stops cleanly on SIGTERM.
report() { echo "$1" | tee -a "$OUTDIR/summary.txt"; }
bad=
for f in "$HUB_LOG" "$SYNC_LOG" "$API_LOG"; do
    if grep -qE 'AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|runtime error:' "$f"; then
        bad="$bad $(basename "$f")"
    fi
done
if [ -n "$bad" ]; then
    report "FAIL no sanitizer report in the logs: found in$bad"
    rc=1
else
    report "ok   no sanitizer report in the logs"
fi
stops=
connect_stop API || stops="$stops api:$?"
connect_stop SYNC || stops="$stops sync:$?"
hub_stop || stops="$stops hub:$?"
if [ -n "$stops" ]; then
    report "FAIL api, sync and hub stop cleanly on SIGTERM:$stops"
    rc=1
else
    report "ok   api, sync and hub stop cleanly on SIGTERM"
fi
# the api logs every request (about 6 MB a minute at 400 req/s): the logs are kept gzipped
gzip -c "$HUB_LOG" >"$OUTDIR/hub.log.gz"
gzip -c "$SYNC_LOG" >"$OUTDIR/sync.log.gz"
gzip -c "$API_LOG" >"$OUTDIR/api.log.gz"
if [ "$rc" -eq 0 ]; then report "soak: PASS"; else report "soak: FAIL"; fi
exit "$rc"
