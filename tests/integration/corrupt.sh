#!/usr/bin/env bash
# corrupt.sh - a damaged volume (issue 9): a Connect server (sync + api) with
# CORRUPT_ITEMS items (default 300) and some file attachments, then:
#   1. api and sync stopped, one page of the items table in the middle of sesame.db
#      overwritten with random bytes, both started again;
#   2. the same with sesame.db truncated to half its size;
#   3. one file ciphertext under files/ corrupted while api and sync run;
#   4. a page of the items table overwritten while api and sync run (under reads).
# Each time, while a reader keeps asking for random items and files: every answer is the
# right data (the hub's, checked by title, marker field and SHA-256 of each file) or a JSON
# error {status, message} - never another item's data; sync rebuilds the volume from the
# hub (1, 2, 4) or fetches the file again (3), keeping the damaged database aside as
# DIR/sesame.db.corrupt-<time> (0600; at most 3 kept) or the file as files/<v>/<f>.corrupt;
# afterwards every item and file is served right again. Finally every process stops cleanly
# and no log holds a sanitizer report. KEEP_TMP=1 keeps $T.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"

CORRUPT_ITEMS=${CORRUPT_ITEMS:-300}
hub_test_init
for tool in python3 jq curl; do
    command -v "$tool" >/dev/null 2>&1 || { not_ok "$tool is installed"; finish; exit 1; }
done
jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }

# ---- the checker (python3): every answer right or a JSON error ------------------------------
cat >"$T/check.py" <<'EOF'
# check.py MODE URL TOKEN VAULT REF [SECONDS STOPFILE]: MODE "all" reads the listing, every
# item and every file once; "watch" reads random items and files until SECONDS pass or
# STOPFILE exists. REF: {"items": {id: title}, "files": {name: sha256}}. Prints one JSON
# line: right (the right data), err (a JSON error), down (no answer), wrong (anything
# else: another item's data, a body that is not the JSON error), and the statuses seen.
import hashlib, http.client, json, os, random, sys, time, urllib.parse

mode, url, token, vault, reffile = sys.argv[1:6]
u = urllib.parse.urlparse(url)
out = {"right": 0, "err": 0, "down": 0, "wrong": 0, "codes": {}, "why": []}
conn = [None]

def get(path):
    for attempt in (1, 2):
        try:
            if conn[0] is None:
                conn[0] = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
            conn[0].request("GET", path, headers={"Authorization": "Bearer " + token})
            r = conn[0].getresponse()
            return r.status, r.read(), r.getheader("Content-Type") or ""
        except Exception:
            try:
                conn[0].close()
            except Exception:
                pass
            conn[0] = None
    return 0, b"", ""

def wrong(why):
    out["wrong"] += 1
    if len(out["why"]) < 5:
        out["why"].append(why)

def judge(status, body, ctype, ok):
    out["codes"][str(status)] = out["codes"].get(str(status), 0) + 1
    if status == 0:
        out["down"] += 1
        return None
    if status == 200:
        return body
    try:
        j = json.loads(body)
        if isinstance(j, dict) and j.get("status") == status and isinstance(j.get("message"), str) \
                and ctype.startswith("application/json"):
            out["err"] += 1
            return None
    except Exception:
        pass
    wrong("status %d with a body that is not the JSON error: %r" % (status, body[:100]))
    return None

def check_item(iid):
    b = judge(*get("/v1/vaults/%s/items/%s" % (vault, iid)), ok=True)
    if b is None:
        return None
    try:
        j = json.loads(b)
        m = [f.get("value") for f in j.get("fields", []) if f.get("label") == "m"]
        if j["id"] == iid and j["title"] == ref["items"][iid] and m == [j["title"]]:
            out["right"] += 1
            return j
    except Exception:
        pass
    wrong("item %s: another item's data or a malformed item: %r" % (iid, b[:120]))
    return None

def check_files(iid):
    b = judge(*get("/v1/vaults/%s/items/%s/files" % (vault, iid)), ok=True)
    if b is None:
        return
    try:
        files = json.loads(b)
    except Exception:
        wrong("file list of %s is not JSON" % iid)
        return
    out["right"] += 1
    for f in files:
        c = judge(*get("/v1/vaults/%s/items/%s/files/%s/content" % (vault, iid, f["id"])), ok=True)
        if c is None:
            continue
        if hashlib.sha256(c).hexdigest() == ref["files"].get(f["name"]):
            out["right"] += 1
        else:
            wrong("file %s of item %s: wrong bytes" % (f["name"], iid))

def check_list():
    b = judge(*get("/v1/vaults/%s/items" % vault), ok=True)
    if b is None:
        return
    try:
        got = {i["id"]: i["title"] for i in json.loads(b)}
    except Exception:
        wrong("the item list is not JSON")
        return
    if all(ref["items"].get(k, v if mode == "watch" else None) == v for k, v in got.items()) and (mode == "watch" or
                                                                   got == ref["items"]):
        out["right"] += 1
    else:
        wrong("the item list differs from the hub's (%d listed, %d on the hub)" %
              (len(got), len(ref["items"])))

if mode == "mk":  # check.py mk URL TOKEN VAULT N: POSTs N items (4 threads), titles c-<n>-<rand>
    import threading
    n = int(reffile)
    def mk(part):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        for i in range(part, n + 1, 4):
            t = "c-%d-%s" % (i, os.urandom(8).hex())
            body = json.dumps({"vault": {"id": vault}, "title": t, "category": "LOGIN",
                               "fields": [{"id": "m", "label": "m", "type": "STRING", "value": t},
                                          {"id": "password", "purpose": "PASSWORD",
                                           "type": "CONCEALED", "label": "password",
                                           "value": os.urandom(12).hex()}]})
            c.request("POST", "/v1/vaults/%s/items" % vault, body=body, headers={
                "Authorization": "Bearer " + token, "Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            if r.status != 200:
                print("POST: %d" % r.status, file=sys.stderr)
    th = [threading.Thread(target=mk, args=(k,)) for k in (1, 2, 3, 4)]
    [t.start() for t in th]
    [t.join() for t in th]
    sys.exit(0)
ref = json.load(open(reffile))
with_files = ref.get("with_files", [])
if mode == "all":
    check_list()
    for iid in ref["items"]:
        check_item(iid)
    for iid in with_files:
        check_files(iid)
else:
    secs, stop = float(sys.argv[6]), sys.argv[7]
    end = time.time() + secs
    ids = list(ref["items"])
    while time.time() < end and not os.path.exists(stop):
        r = random.random()
        if r < 0.1:
            check_list()
        elif r < 0.3 and with_files:
            check_files(random.choice(with_files))
        else:
            check_item(random.choice(ids))
        time.sleep(0.005)
print(json.dumps(out))
EOF
cat >"$T/page.py" <<'EOF'
# page.py DB MODE: MODE "pick" prints the byte offset of a page of the items table in the
# middle of the file (dbstat); "checkpoint" runs a TRUNCATE checkpoint of the live file.
import sqlite3, sys
db, mode = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db, timeout=10)
if mode == "checkpoint":
    print(c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())
else:
    ps = c.execute("PRAGMA page_size").fetchone()[0]
    n = c.execute("PRAGMA page_count").fetchone()[0]
    pages = sorted(p for (p,) in c.execute(
        "SELECT pageno FROM dbstat WHERE name = 'items' AND pagetype = 'leaf'"))
    p = min(pages, key=lambda x: abs(x - n // 2))
    print((p - 1) * ps, ps)
c.close()
EOF

# ---- the account: CORRUPT_ITEMS items, 6 with two files each ------------------------------
hub_start "$T/hub" || { not_ok "the hub starts"; finish; }
hub_account_init || { not_ok "account init"; finish; }
cli vault create "damaged $(rand_marker d)" --format json
V=$(jqr "$OUT" .id)
mkdir -p "$T/f"
for i in 1 2 3 4 5 6; do
    head -c 3000 /dev/urandom | base64 >"$T/f/notes-$i.txt"
    head -c 20000 /dev/urandom >"$T/f/blob-$i.bin"
done
cli connect server create srvA --vault "$V" --out "$T/A.json" --format json
cli connect token create a --server srvA --vault "$V:rw" --format json
TOK=$(jqr "$OUT" .token)
X="$T/x"
DATA="$X/.op/data"
start_both() {
    connect_start sync SYNC "$T/A.json" "$X" || return 1
    connect_start api API "$T/A.json" "$X" OP_SYNC_TIMEOUT=5s SESAME_RATE_LIMIT_RPS=0 || return 1
    curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer $TOK" "$API_URL/v1/vaults" || true
}
stop_both() {
    local rc=0
    connect_stop API || rc=$?
    connect_stop SYNC || rc=$((rc + $?))
    return "$rc"
}
start_both || { not_ok "sync and api start"; finish; }
api_synced() { connect_synced "$API_URL"; }
wait_within "the api is unlocked and synced" 20 api_synced || { finish; }
t0=$(now_ms)
python3 "$T/check.py" mk "$API_URL" "$TOK" "$V" "$CORRUPT_ITEMS" 2>"$T/mk.err" &
MKPID=$!
for i in 1 2 3 4 5 6; do
    m="f-$i-$(rand_marker m)"
    "$SESAME" item create --vault "$V" --category SECURE_NOTE --title "$m" --field "m=$m" \
        --file "$T/f/notes-$i.txt" --file "$T/f/blob-$i.bin" --format json >/dev/null \
        2>>"$T/mk.err" || true
done
wait "$MKPID" || true
cli item list --vault "$V" --format json
printf '%s' "$OUT" >"$T/hub-items.json"
NITEMS=$(jq length "$T/hub-items.json")
expect_eq "$CORRUPT_ITEMS items (Connect POSTs) and 6 with files (CLI) on the hub ($(elapsed_ms "$t0") ms)" \
    $((CORRUPT_ITEMS + 6)) "$NITEMS"
jq -n --slurpfile items "$T/hub-items.json" --argjson files "$(
    for f in "$T"/f/*; do printf '{"%s":"%s"}\n' "$(basename "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"; done |
        jq -s add)" '{items: ($items[0] | map({(.id): .title}) | add), files: $files,
        with_files: [$items[0][] | select(.title | startswith("f-")) | .id]}' >"$T/ref.json"

# all_right: one full read is entirely right
all_right() {
    local r
    r=$(python3 "$T/check.py" all "$API_URL" "$TOK" "$V" "$T/ref.json")
    [ "$(jqr "$r" '"\(.right) \(.err) \(.wrong) \(.down)"')" = "$((NITEMS + 1 + 6 * 3)) 0 0 0" ]
}
wait_within "the api serves every item and file right" 60 all_right || { finish; }

# watch_start / watch_stop DESC: a reader of random items and files in the background,
# then its verdict: no wrong answer.
watch_start() {
    rm -f "$T/stop"
    python3 "$T/check.py" watch "$API_URL" "$TOK" "$V" "$T/ref.json" 120 "$T/stop" \
        >"$T/watch.json" 2>"$T/watch.err" &
    WATCH_PID=$!
}
watch_stop() {
    touch "$T/stop"
    wait "$WATCH_PID" || true
    local w
    w=$(cat "$T/watch.json")
    expect_eq "$1: every answer under the reader was the right data or a JSON error ($(jqr "$w" '"\(.right) right, \(.err) JSON errors \(.codes)"'))" \
        "0" "$(jqr "$w" .wrong)"
    [ "$(jqr "$w" .wrong)" = 0 ] || echo "# $(jqr "$w" .why)"
}
corrupt_copies() { find "$DATA" -maxdepth 1 -name 'sesame.db.corrupt-*' ! -name '*-wal' | wc -l; }
# after DESC: the rebuild is logged, the damaged copy kept 0600, then all is right again.
after() {
    local desc=$1 before=$2 f
    wait_within "$desc: every item and file is served right again" 45 all_right || true
    f=$(find "$DATA" -maxdepth 1 -name 'sesame.db.corrupt-*' ! -name '*-wal' -newer "$T/mark" |
        head -n 1)
    expect_eq "$desc: the damaged database is kept aside, 0600" "1 600" \
        "$([ -n "$f" ] && echo 1 || echo 0) $([ -n "$f" ] && stat -c %a "$f")"
    expect_match "$desc: sync logs the damage and the rebuild" \
        "damaged .*kept as .*sesame\.db\.corrupt-[0-9]+;" \
        "$(tail -n +"$before" "$SYNC_LOG")"
}

# ---- 1. a page overwritten while stopped ----------------------------------------------------
stop_both || true
read -r OFF PS <<<"$(python3 "$T/page.py" "$DATA/sesame.db" pick)"
expect_eq "no WAL left after a clean stop; a page of the items table picked" "0 1" \
    "$([ -s "$DATA/sesame.db-wal" ] && echo 1 || echo 0) $([ "$OFF" -gt 0 ] && echo 1 || echo 0)"
head -c "$PS" /dev/urandom | dd of="$DATA/sesame.db" bs=1 seek="$OFF" conv=notrunc 2>/dev/null
touch -d '-1 second' "$T/mark"
before=$(($(wc -l <"$SYNC_LOG") + 1))
start_both || not_ok "1: sync and api start on the damaged volume"
watch_start
after "1. page overwritten" "$before"
watch_stop "1. page overwritten"

# ---- 2. truncated to half while stopped ----------------------------------------------------
stop_both || true
size=$(stat -c %s "$DATA/sesame.db")
truncate -s $((size / 2)) "$DATA/sesame.db"
touch -d '-1 second' "$T/mark"
before=$(($(wc -l <"$SYNC_LOG") + 1))
start_both || not_ok "2: sync and api start on the truncated volume"
watch_start
after "2. truncated to half" "$before"
watch_stop "2. truncated to half"

# ---- 3. a file ciphertext corrupted while running -------------------------------------------
FID=$(find "$DATA/files" -type f -size +10k | head -n 1)
printf 'XXXXXXXXXXXXXXXX' | dd of="$FID" bs=1 seek=5000 conv=notrunc 2>/dev/null
FITEM=
for iid in $(jq -r '.with_files[]' "$T/ref.json"); do
    a=$(TOKEN=$TOK ccurl "$API_URL/v1/vaults/$V/items/$iid/files")
    if jqr "$(body_of "$a")" '.[].id' | grep -qx "$(basename "$FID")"; then FITEM=$iid; fi
done
a=$(TOKEN=$TOK ccurl "$API_URL/v1/vaults/$V/items/$FITEM/files/$(basename "$FID")/content")
expect_err "3. the damaged file's content: 503 JSON, never the damaged bytes" 503 \
    "the volume is being rebuilt" "$a"
watch_start
file_right() {
    local b
    b=$(TOKEN=$TOK ccurl "$API_URL/v1/vaults/$V/items/$FITEM/files/$(basename "$FID")/content" |
        tail -c +5 | sha256sum | cut -d' ' -f1)
    jq -e --arg s "$b" '.files | to_entries | any(.value == $s)' "$T/ref.json" >/dev/null
}
wait_within "3. the file is fetched again from the hub and served right" 20 file_right || true
expect_eq "3. the damaged content is kept as files/<vault>/<file>.corrupt" 1 \
    "$([ -f "$FID.corrupt" ] && echo 1 || echo 0)"
wait_within "3. every item and file is served right" 30 all_right || true
watch_stop "3. a file corrupted"

# ---- 4. a page overwritten while running --------------------------------------------------
watch_start
python3 "$T/page.py" "$DATA/sesame.db" checkpoint >/dev/null || true
read -r OFF PS <<<"$(python3 "$T/page.py" "$DATA/sesame.db" pick)"
touch -d '-1 second' "$T/mark"
before=$(($(wc -l <"$SYNC_LOG") + 1))
head -c "$PS" /dev/urandom | dd of="$DATA/sesame.db" bs=1 seek="$OFF" conv=notrunc 2>/dev/null
# a write moves the volume on: every connection drops its cached pages and reads the disk
m="after-$(rand_marker a)"
cli item create --vault "$V" --category LOGIN --title "$m" --field "m=$m" --format json
python3 "$T/check.py" all "$API_URL" "$TOK" "$V" "$T/ref.json" >/dev/null || true
sleep 1
jq --slurpfile x <(cli item list --vault "$V" --format json && printf '%s' "$OUT") \
    '.items = ($x[0] | map({(.id): .title}) | add)' "$T/ref.json" >"$T/ref2.json" &&
    mv "$T/ref2.json" "$T/ref.json"
NITEMS=$(jq '.items | length' "$T/ref.json")
after "4. page overwritten while running" "$before"
watch_stop "4. page overwritten while running"
expect_eq "at most 3 damaged copies are kept" 1 "$([ "$(corrupt_copies)" -le 3 ] && echo 1 || echo 0)"

rc=0
stop_both || rc=$?
hub_stop TERM || rc=$((rc + 1))
expect_eq "api, sync and the hub stop cleanly" 0 "$rc"
expect_clean_log "no sanitizer report in the hub log"
expect_clean_logs "no sanitizer report in the api and sync logs" "$API_LOG" "$SYNC_LOG"
finish
