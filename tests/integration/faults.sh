#!/usr/bin/env bash
# faults.sh - fault injection with invariants (issue 9): a real hub and TWO Connect servers
# of one account (A and B: each its credentials file, volume, `sesame sync` and `sesame api`,
# one rw token on the vault V), a client load of 4 writers (POST/PUT/PATCH through A and B,
# bash + curl) and 4 readers (GETs of the acknowledged items on A and B), and these faults:
#   1. hubdown:   the hub stopped with SIGTERM and restarted on the same port under the load;
#   2. blackhole: sync A talks to the hub through a TCP proxy (python3, SESAME_HUB for sync A)
#                 that is switched to "accept but never answer" and back under the load;
#   3. kill-*:    FAULT_ROUNDS rounds (default 10) of SIGKILL of the hub, sync A or api A (in
#                 turn) at a random point of the load, the killed process restarted.
# After each scenario / round, with the load stopped and the servers caught up, the
# invariants (inv_* below) are checked:
#   - every acknowledged write (200 with the item) is on the hub, A and B exactly once with
#     the acknowledged content or a later write of the same item (its marker field);
#   - every item is whole everywhere (title = marker field, the key field is the item's): an
#     unacknowledged write is fully there or fully absent, an unacknowledged POST is on all
#     three or on none; the hub, A and B list the same items at the same versions;
#   - every read answered 200 carries the requested item's own data; reads on a server of
#     items written through it never fail unless that server's api was killed;
#   - a failed write whose message says, without condition, that nothing was written ("...;
#     nothing was written", "sync is locked") is nowhere;
#   - every failed write is a 5xx JSON {status, message} (or no answer when api A was killed);
#   - A and B serve the hub's contentVersion of the vault;
#   - the hub's change feed (admin view, GET /v1/changes) runs 1..lastSeq without a gap.
# The state checks cover every item written so far (all phases); the checks of answers, the
# writes and reads of the phase. Finally every process stops cleanly and no log holds a
# sanitizer report.
# The load is 8 curl loops with short sleeps (well under SESAME_RATE_LIMIT_RPS, which is
# left at its default). The CI run (FAULT_ROUNDS=10) takes about 50-60 s on an idle machine;
# the long run: FAULT_ROUNDS=50 bash tests/integration/faults.sh (about 4 minutes).
# KEEP_TMP=1 keeps the temporary directory (logs, the client's records: w/PHASE.N.tsv, one
# line per write "srv op id key marker status body", r/PHASE.N.tsv one per read).
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"

FAULT_ROUNDS=${FAULT_ROUNDS:-10}
SYNC_TIMEOUT_S=4 # OP_SYNC_TIMEOUT of both api's

hub_test_init
for tool in python3 jq curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        not_ok "$tool is installed (the proxy and the checks need it)"
        finish
        exit 1
    fi
done
T_START=$(now_ms)

# ---- helper programs (python3): the proxy and the checker ---------------------------------
cat >"$T/proxy.py" <<'EOF'
# proxy.py PORTFILE TARGET_PORT MODEFILE: a TCP proxy on 127.0.0.1 to TARGET_PORT. While
# MODEFILE says "hole" it accepts connections and reads them but never forwards or answers
# (existing connections included); when it says "pass" again, the connections that were
# held are closed and new ones are relayed.
import os, select, socket, sys, threading, time

pf, target, modef = sys.argv[1], int(sys.argv[2]), sys.argv[3]
state = {"mode": "pass"}


def mode_loop():
    while True:
        try:
            with open(modef) as f:
                state["mode"] = f.read().strip() or "pass"
        except OSError:
            state["mode"] = "pass"
        time.sleep(0.05)


def relay(c):
    u = None
    held = False
    try:
        while True:
            if state["mode"] == "hole":
                held = True
                r, _, _ = select.select([c], [], [], 0.1)
                if r and not c.recv(65536):
                    return
                continue
            if held:
                return
            if u is None:
                u = socket.create_connection(("127.0.0.1", target), timeout=5)
                u.settimeout(None)
            r, _, _ = select.select([c, u], [], [], 0.1)
            for s in r:
                d = s.recv(65536)
                if not d:
                    return
                (u if s is c else c).sendall(d)
    except OSError:
        pass
    finally:
        for s in (c, u):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass


srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(64)
with open(pf + ".tmp", "w") as f:
    f.write("%d\n" % srv.getsockname()[1])
os.rename(pf + ".tmp", pf)
threading.Thread(target=mode_loop, daemon=True).start()
while True:
    conn, _ = srv.accept()
    threading.Thread(target=relay, args=(conn,), daemon=True).start()
EOF

cat >"$T/check.py" <<'EOF'
# check.py DIR COMMAND ARGS: the invariants over the client's records in DIR.
#   snap URL_A TOKEN_A URL_B TOKEN_B VAULT PHASE: every item of VAULT as A and B serve it
#       (DIR/snapA.json, DIR/snapB.json); prints the ids to read in full from the hub (touched
#       by unacknowledged writes of PHASE, at most 3, plus one other)
#   all PHASE ALLOW: the invariants (acked, whole, reads, werrors), one line each
# Records: DIR/w/*.tsv (writes: srv op id key marker code body), DIR/r/PHASE.*.tsv (reads:
# srv origin id code body), DIR/snapA.json, DIR/snapB.json, DIR/hub.list.json (item list),
# DIR/hub.gets.jsonl (item get). Prints "OK summary" or "FAIL details" (one line each).
import glob, http.client, json, os, random, re, sys
from urllib.parse import urlparse

D = sys.argv[1]
CMD = sys.argv[2]
ARGS = sys.argv[3:]


def field(item, label):
    for f in item.get("fields") or []:
        if f.get("label") == label:
            return f.get("value")
    return None


def key_of_marker(m):
    return m.rsplit(".", 1)[0] if isinstance(m, str) and "." in m else None


def gen_of_marker(m):
    try:
        return int(m.rsplit(".", 1)[1])
    except (AttributeError, IndexError, ValueError):
        return -1


def load_writes(phase=None):
    rows = []
    for fn in sorted(glob.glob(os.path.join(D, "w", "*.tsv"))):
        ph = os.path.basename(fn).split(".")[0]
        if phase is not None and ph != phase:
            continue
        with open(fn, errors="replace") as f:
            for line in f:
                p = line.rstrip("\n").split("\t", 6)
                if len(p) < 7:
                    continue
                srv, op, iid, key, mk, code, body = p
                try:
                    b = json.loads(body) if body else None
                except ValueError:
                    b = None
                rows.append(dict(ph=ph, srv=srv, op=op, id=iid, key=key, mk=mk, code=code,
                                 body=b, raw=body, file=os.path.basename(fn)))
    return rows


def is_ack(w):
    b = w["body"]
    return (w["code"] == "200" and isinstance(b, dict) and isinstance(b.get("id"), str)
            and len(b["id"]) == 26 and isinstance(b.get("version"), int))


def ack_ok(w):
    # an acknowledgement carries the written content: the marker as title and field
    b = w["body"]
    return (b.get("title") == w["mk"] and field(b, "marker") == w["mk"]
            and field(b, "fkey") == w["key"] and (w["op"] == "POST" or b["id"] == w["id"]))


def keymap(rows):
    # item id -> key, from the acknowledged POSTs (and the ids the PUT/PATCHes named)
    km = {}
    for w in rows:
        if w["op"] == "POST" and is_ack(w):
            km[w["body"]["id"]] = w["key"]
        elif w["id"]:
            km.setdefault(w["id"], w["key"])
    return km


def load_json(name, default):
    try:
        with open(os.path.join(D, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def places():
    a = load_json("snapA.json", {"items": {}, "dups": []})
    b = load_json("snapB.json", {"items": {}, "dups": []})
    hub = {}
    hubdups = []
    for it in load_json("hub.list.json", []):
        if it["id"] in hub:
            hubdups.append(it["id"])
        hub[it["id"]] = {"version": it.get("version"), "title": it.get("title")}
    return {"A": a["items"], "B": b["items"], "hub": hub}, {"A": a["dups"], "B": b["dups"],
                                                           "hub": hubdups}


def out(fails, summary):
    if fails:
        print("FAIL " + "; ".join(fails[:8]) + (" (+%d more)" % (len(fails) - 8)
                                                 if len(fails) > 8 else ""))
    else:
        print("OK " + summary)


def cmd_snap(url, tok, vault, dest):
    u = urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    h = {"Authorization": "Bearer " + tok}

    def get(path):
        for attempt in range(3):
            try:
                c.request("GET", path, headers=h)
                r = c.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                c.close()
        return 0, b""

    st, body = get("/v1/vaults/%s/items" % vault)
    items, dups, errs = {}, [], []
    if st != 200:
        errs.append("list: %d" % st)
        lst = []
    else:
        lst = json.loads(body)
    # an item at a version already read in full (earlier phase) is taken from the last
    # snapshot, but for 5 of them read again: what a version holds does not change
    try:
        with open(dest) as f:
            prev = json.load(f)["items"]
    except (OSError, ValueError, KeyError):
        prev = {}
    again = set(random.sample(sorted(prev), min(5, len(prev))))
    for s in lst:
        if s["id"] in items:
            dups.append(s["id"])
        p = prev.get(s["id"])
        if p and p["version"] == s.get("version") and s["id"] not in again:
            items[s["id"]] = dict(p, listVersion=s.get("version"))
            continue
        st, body = get("/v1/vaults/%s/items/%s" % (vault, s["id"]))
        if st != 200:
            errs.append("%s: %d" % (s["id"], st))
            continue
        it = json.loads(body)
        items[s["id"]] = {"id": it.get("id"), "version": it.get("version"),
                          "title": it.get("title"), "key": field(it, "fkey"),
                          "marker": field(it, "marker"), "listVersion": s.get("version")}
    with open(dest, "w") as f:
        json.dump({"items": items, "dups": dups, "errors": errs}, f)
    if errs:
        print("snapshot of %s: %s" % (url, " ".join(errs[:5])), file=sys.stderr)


def cmd_hubpick(phase):
    rows = load_writes()
    km = keymap(rows)
    touched = sorted({w["id"] for w in rows if w["ph"] == phase and w["id"] and not is_ack(w)})
    hub, _ = places()
    pick = [i for i in touched if i in hub["hub"]][:3]
    rest = [i for i in km if i not in pick and i in hub["hub"]]
    random.shuffle(rest)
    print(" ".join(pick + rest[:1]))


def cmd_acked():
    # every acknowledged write: on the hub, A and B exactly once, with its content or a later
    # write of the same item
    rows = load_writes()
    pl, dups = places()
    fails = []
    for where, d in dups.items():
        if d:
            fails.append("%s lists ids twice: %s" % (where, " ".join(d[:3])))
    last_ack, max_gen, bad_ack = {}, {}, []
    nack = 0
    for w in rows:
        g = gen_of_marker(w["mk"])
        max_gen[w["key"]] = max(max_gen.get(w["key"], 0), g)
        if is_ack(w):
            nack += 1
            if not ack_ok(w):
                bad_ack.append("%s %s %s answered %s" % (w["op"], w["id"] or "new", w["mk"],
                                                         w["raw"][:200]))
                continue
            iid = w["body"]["id"]
            if g >= last_ack.get(iid, (0, ""))[0]:
                last_ack[iid] = (g, w["key"], w["mk"], w["op"])
    fails += ["acknowledged with other content: " + x for x in bad_ack]
    keycount = {"A": {}, "B": {}, "hub": {}}
    for where in ("A", "B"):
        for iid, it in pl[where].items():
            k = it.get("key")
            keycount[where][k] = keycount[where].get(k, 0) + 1
    for iid, it in pl["hub"].items():
        k = key_of_marker(it.get("title"))
        keycount["hub"][k] = keycount["hub"].get(k, 0) + 1
    for iid, (g, key, mk, op) in sorted(last_ack.items()):
        for where in ("hub", "A", "B"):
            it = pl[where].get(iid)
            if it is None:
                fails.append("acknowledged %s %s (%s) missing on %s" % (op, iid, mk, where))
                continue
            m = it["title"] if where == "hub" else it.get("marker")
            if key_of_marker(m) != key or gen_of_marker(m) < g or gen_of_marker(m) > max_gen[key]:
                fails.append("%s: %s holds %s, acknowledged %s" % (where, iid, m, mk))
            if keycount[where].get(key, 0) != 1:
                fails.append("%s: key %s of %s is there %d times" % (where, key, iid,
                                                                     keycount[where].get(key, 0)))
    out(fails, "%d acknowledged writes of %d items (of %d writes)" % (nack, len(last_ack),
                                                                       len(rows)))


def cmd_whole(phase):
    # every item whole and the same on the hub, A and B; unacknowledged POSTs all or nothing
    rows = load_writes()
    km = keymap(rows)
    keys = {w["key"] for w in rows}
    pl, _ = places()
    fails = []
    ids = set(pl["hub"]) | set(pl["A"]) | set(pl["B"])
    for iid in sorted(ids):
        h, a, b = pl["hub"].get(iid), pl["A"].get(iid), pl["B"].get(iid)
        if h is None or a is None or b is None:
            fails.append("%s not everywhere (hub %d A %d B %d)" % (iid, h is not None,
                                                                  a is not None, b is not None))
            continue
        for where, it in (("A", a), ("B", b)):
            if it["id"] != iid:
                fails.append("%s: GET %s answered item %s" % (where, iid, it["id"]))
            if it["title"] != it["marker"] or key_of_marker(it["marker"]) != it["key"]:
                fails.append("%s: %s is half-written: title %s, marker %s, key %s" %
                             (where, iid, it["title"], it["marker"], it["key"]))
            if it["version"] != it["listVersion"]:
                fails.append("%s: %s lists version %s, serves %s" % (where, iid,
                                                                    it["listVersion"],
                                                                    it["version"]))
        if (h["version"], h["title"]) != (a["version"], a["title"]) or \
                (a["version"], a["title"], a["marker"]) != (b["version"], b["title"], b["marker"]):
            fails.append("%s differs: hub %s %s, A %s %s, B %s %s" % (
                iid, h["version"], h["title"], a["version"], a["title"], b["version"],
                b["title"]))
        if a["key"] not in keys:
            fails.append("%s has a key no client wrote: %s" % (iid, a["key"]))
        if iid in km and km[iid] != a["key"]:
            fails.append("%s holds the key %s of another item (its own: %s)" % (iid, a["key"],
                                                                                 km[iid]))
    # unacknowledged POSTs: on all three once, or on none
    for w in rows:
        if w["op"] != "POST" or is_ack(w):
            continue
        n = [sum(1 for it in pl[x].values() if (key_of_marker(it["title"]) if x == "hub"
                                                 else it["key"]) == w["key"])
             for x in ("hub", "A", "B")]
        if n not in ([0, 0, 0], [1, 1, 1]):
            fails.append("unacknowledged POST %s (%s): hub/A/B hold it %s times" % (
                w["key"], w["code"], n))
    # a failure of this phase that says, without condition, that nothing was written must
    # be true
    final = {}
    for x in ("hub", "A", "B"):
        for iid, it in pl[x].items():
            final.setdefault(x, set()).add(it["title"] if x == "hub" else it.get("marker"))
    nsaid = 0
    for w in rows:
        b = w["body"]
        msg = b.get("message") if isinstance(b, dict) else None
        if w["ph"] != phase or is_ack(w) or not isinstance(msg, str) or \
                not re.search(r"; nothing was written|^sync is locked$", msg):
            continue
        nsaid += 1
        held = [x for x in ("hub", "A", "B") if w["mk"] in final.get(x, set())]
        if held:
            fails.append("%s %s answered %s %r, yet %s hold %s" % (
                w["op"], w["id"] or w["key"], w["code"], msg, "/".join(held), w["mk"]))
    # the hub's own decryption of the items picked (item get)
    ng = 0
    try:
        with open(os.path.join(D, "hub.gets.jsonl")) as f:
            for line in f:
                try:
                    it = json.loads(line)
                except ValueError:
                    fails.append("hub: item get answered no JSON: %s" % line[:200])
                    continue
                ng += 1
                a = pl["A"].get(it.get("id"), {})
                if it.get("title") != field(it, "marker") or \
                        key_of_marker(field(it, "marker")) != field(it, "fkey"):
                    fails.append("hub: %s is half-written: title %s marker %s key %s" % (
                        it.get("id"), it.get("title"), field(it, "marker"), field(it, "fkey")))
                elif field(it, "marker") != a.get("marker"):
                    fails.append("hub: %s holds %s, A %s" % (it.get("id"), field(it, "marker"),
                                                            a.get("marker")))
    except OSError:
        pass
    unacked = sum(1 for w in rows if not is_ack(w))
    out(fails, "%d items the same and whole on hub/A/B, %d checked in full on the hub, "
               "%d unacknowledged writes, %d said nothing was written" % (len(ids), ng, unacked,
                                                                          nsaid))


def cmd_reads(phase, allow_a):
    rows = load_writes()
    km = keymap(rows)
    fails = []
    n = n200 = nother = 0
    for fn in sorted(glob.glob(os.path.join(D, "r", phase + ".*.tsv"))):
        with open(fn, errors="replace") as f:
            for line in f:
                p = line.rstrip("\n").split("\t", 4)
                if len(p) < 5:
                    continue
                srv, origin, iid, code, body = p
                n += 1
                if code == "200":
                    n200 += 1
                    try:
                        it = json.loads(body)
                    except ValueError:
                        fails.append("%s GET %s: 200 without JSON" % (srv, iid))
                        continue
                    mk = field(it, "marker")
                    if it.get("id") != iid or field(it, "fkey") != km.get(iid) or \
                            it.get("title") != mk or key_of_marker(mk) != km.get(iid):
                        fails.append("%s GET %s answered id %s title %s marker %s key %s "
                                     "(its key: %s)" % (srv, iid, it.get("id"), it.get("title"),
                                                        mk, field(it, "fkey"), km.get(iid)))
                    continue
                nother += 1
                if srv == "A" and allow_a == "1":
                    continue
                if origin == "other" and code == "404":
                    continue  # written through the other server, not there yet
                fails.append("%s GET %s (%s): %s %s" % (srv, iid, origin, code, body[:120]))
    if n == 0:
        fails.append("no read was made")
    out(fails, "%d reads, %d answered 200, %d others allowed" % (n, n200, nother))


def cmd_werrors(phase, allow000):
    rows = load_writes(phase)
    fails = []
    kinds = {}
    for w in rows:
        if is_ack(w):
            continue
        b = w["body"]
        kinds[w["code"]] = kinds.get(w["code"], 0) + 1
        if w["code"] == "000" and allow000 == "1":
            continue
        c = int(w["code"]) if w["code"].isdigit() else 0
        if not (500 <= c < 600 and isinstance(b, dict) and b.get("status") == c and
                isinstance(b.get("message"), str) and b["message"]):
            fails.append("%s %s %s: %s %s" % (w["srv"], w["op"], w["id"] or w["key"], w["code"],
                                              w["raw"][:150]))
    out(fails, "%d writes, %d failed: %s" % (len(rows), sum(kinds.values()),
                                             " ".join("%sx%d" % kv for kv in sorted(kinds.items()))))


if CMD == "snap":  # snap URL_A TOKEN_A URL_B TOKEN_B VAULT PHASE: both snapshots, then hubpick
    cmd_snap(ARGS[0], ARGS[1], ARGS[4], os.path.join(D, "snapA.json"))
    cmd_snap(ARGS[2], ARGS[3], ARGS[4], os.path.join(D, "snapB.json"))
    cmd_hubpick(ARGS[5])
elif CMD == "all":  # all PHASE ALLOW: every invariant, one line each, prefixed by its name
    for name, fn, a in (("acked", cmd_acked, ()), ("whole", cmd_whole, (ARGS[0],)),
                        ("reads", cmd_reads, (ARGS[0], ARGS[1])),
                        ("werrors", cmd_werrors, (ARGS[0], ARGS[1]))):
        print(name + " ", end="")
        try:
            fn(*a)
        except Exception as e:  # a checker bug must fail the check, not pass it
            print("FAIL checker error: %r" % (e,))
EOF
check() { python3 "$T/check.py" "$T" "$@" 2>&1 || true; }

jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }
yes_if() { if "$@"; then echo 1; else echo 0; fi; }
between() { [ "$1" -ge "$2" ] && [ "$1" -lt "$3" ]; }

# ---- hub, account, vault, two servers, one rw token each -------------------------------------
for _ in 1 2 3 4 5; do
    HPORT=$(free_port)
    if hub_start "$T/hub" --addr "127.0.0.1:$HPORT" >"$T/hub-start.txt"; then break; fi
    HPORT=
done
[ -n "$HPORT" ] || { cat "$T/hub-start.txt"; not_ok "the hub starts"; finish; }
hub_account_init || { not_ok "account init"; finish; }
cli vault create "faults $(rand_marker f)" --format json
V=$(jqr "$OUT" .id)
cli connect server create srvA --vault "$V" --out "$T/A.json" --format json
cli connect server create srvB --vault "$V" --out "$T/B.json" --format json
cli connect token create ta --server srvA --vault "$V:rw" --format json
TA=$(jqr "$OUT" .token)
cli connect token create tb --server srvB --vault "$V:rw" --format json
TB=$(jqr "$OUT" .token)
matches() { [[ $1 =~ $2 ]]; }
expect_eq "hub, vault, servers A and B, a rw token each" "1 1 1 1 1" \
    "$(yes_if matches "$V" '^[a-z2-7]{26}$') $(yes_if [ -s "$T/A.json" ]) $(yes_if [ -s "$T/B.json" ]) \
$(yes_if [ -n "$TA" ]) $(yes_if [ -n "$TB" ])"

# the proxy between sync A and the hub
echo pass >"$T/proxy.mode"
python3 "$T/proxy.py" "$T/proxy.port" "$HPORT" "$T/proxy.mode" >"$T/proxy.log" 2>&1 &
PROXY_PID=$!
HUB_PIDS+=("$PROXY_PID")
for _ in $(seq 1 50); do
    [ -s "$T/proxy.port" ] && break
    sleep 0.1
done
PPORT=$(head -n 1 "$T/proxy.port" 2>/dev/null || true)
[[ "$PPORT" =~ ^[0-9]+$ ]] || { not_ok "the proxy starts"; finish; }
PROXY_URL="http://127.0.0.1:$PPORT"

XA="$T/xa"
XB="$T/xb"
start_synca() { connect_start sync SYNCA "$T/A.json" "$XA" SESAME_HUB="$PROXY_URL"; }
start_apia() {
    connect_start api APIA "$T/A.json" "$XA" OP_SYNC_TIMEOUT=${SYNC_TIMEOUT_S}s "$@"
}
start_synca || { not_ok "sync A starts"; finish; }
start_apia || { not_ok "api A starts"; finish; }
connect_start sync SYNCB "$T/B.json" "$XB" || { not_ok "sync B starts"; finish; }
connect_start api APIB "$T/B.json" "$XB" OP_SYNC_TIMEOUT=${SYNC_TIMEOUT_S}s ||
    { not_ok "api B starts"; finish; }
APIA_FIXED_PORT=$APIA_PORT
curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer $TA" "$APIA_URL/health" || true
curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer $TB" "$APIB_URL/health" || true
if ! wait_within "A (sync through the proxy) and B: unlocked and synced" 30 \
    eval 'connect_synced "$APIA_URL" && connect_synced "$APIB_URL"'; then
    tail -5 "$SYNCA_LOG" "$APIA_LOG" "$SYNCB_LOG" "$APIB_LOG" | sed 's/^/#   /'
    finish
fi

# ---- the client load ------------------------------------------------------------------------------
mkdir -p "$T/w" "$T/r"
: >"$T/pool.A"
: >"$T/pool.B"
STOPF="$T/stop"
# writer PHASE W SRV URL TOKEN: until $STOPF exists, POSTs new items (title = marker field =
# KEY.1, field fkey = KEY) and PUTs / PATCHes its own acknowledged items to KEY.N+1; records
# each request (srv op id key marker status body) in $T/w/PHASE.W.tsv; acknowledged ids go
# to $T/pool.SRV.
writer() {
    local ph=$1 w=$2 srv=$3 url=$4 tok=$5 out="$T/w/$1.$2.tsv" tmp="$T/w/$1.$2.body" n=0
    local op id key mk g code body ids=() method path
    declare -A kof=() gof=()
    while [ ! -e "$STOPF" ]; do
        n=$((n + 1))
        if [ ${#ids[@]} -lt 3 ] || [ $((RANDOM % 5)) = 0 ]; then
            op=POST id='' key="k$ph-$w-$n-$RANDOM"
            mk="$key.1"
            method=POST path="/v1/vaults/$V/items"
            body="{\"vault\":{\"id\":\"$V\"},\"title\":\"$mk\",\"category\":\"LOGIN\",\"fields\":[\
{\"id\":\"fkey\",\"type\":\"STRING\",\"label\":\"fkey\",\"value\":\"$key\"},\
{\"id\":\"marker\",\"type\":\"STRING\",\"label\":\"marker\",\"value\":\"$mk\"}]}"
        else
            id=${ids[RANDOM % ${#ids[@]}]}
            key=${kof[$id]}
            g=$((gof[$id] + 1))
            gof[$id]=$g
            mk="$key.$g"
            path="/v1/vaults/$V/items/$id"
            if [ $((RANDOM % 2)) = 0 ]; then
                op=PUT method=PUT
                body="{\"id\":\"$id\",\"vault\":{\"id\":\"$V\"},\"title\":\"$mk\",\"category\":\"LOGIN\",\
\"fields\":[{\"id\":\"fkey\",\"type\":\"STRING\",\"label\":\"fkey\",\"value\":\"$key\"},\
{\"id\":\"marker\",\"type\":\"STRING\",\"label\":\"marker\",\"value\":\"$mk\"}]}"
            else
                op=PATCH method=PATCH
                body="[{\"op\":\"replace\",\"path\":\"/title\",\"value\":\"$mk\"},\
{\"op\":\"replace\",\"path\":\"/fields/marker/value\",\"value\":\"$mk\"}]"
            fi
        fi
        : >"$tmp"
        code=$(curl -s -o "$tmp" -w '%{http_code}' --max-time 15 -X "$method" \
            -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
            --data-binary "$body" "$url$path" 2>/dev/null || true)
        code=${code:-000}
        if [ "$op" = POST ] && [ "$code" = 200 ]; then
            id=$(jq -r '.id // empty' "$tmp" 2>/dev/null || true)
            if [[ "$id" =~ ^[a-z2-7]{26}$ ]]; then
                ids+=("$id")
                kof[$id]=$key
                gof[$id]=1
                printf '%s %s\n' "$id" "$key" >>"$T/pool.$srv"
            fi
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$srv" "$op" "$id" "$key" "$mk" "$code" \
            "$(tr -d '\n\t' <"$tmp")" >>"$out"
        if [ "$code" = 200 ]; then sleep 0.03; else sleep 0.1; fi
    done
}
# reader PHASE R SRV URL TOKEN: until $STOPF exists, GETs a random acknowledged item (3 of 4
# from those written through SRV, "own", else "other"); records srv origin id status body in
# $T/r/PHASE.R.tsv.
reader() {
    local ph=$1 srv=$3 url=$4 tok=$5 out="$T/r/$1.$2.tsv" tmp="$T/r/$1.$2.body"
    local origin pool other arr line id code
    other=A
    [ "$srv" = A ] && other=B
    while [ ! -e "$STOPF" ]; do
        if [ $((RANDOM % 4)) = 0 ]; then origin=other pool="$T/pool.$other"; else origin=own pool="$T/pool.$srv"; fi
        mapfile -t arr <"$pool" 2>/dev/null || arr=()
        if [ ${#arr[@]} -eq 0 ]; then
            sleep 0.05
            continue
        fi
        line=${arr[RANDOM % ${#arr[@]}]}
        id=${line%% *}
        : >"$tmp"
        code=$(curl -s -o "$tmp" -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $tok" \
            "$url/v1/vaults/$V/items/$id" 2>/dev/null || true)
        printf '%s\t%s\t%s\t%s\t%s\n' "$srv" "$origin" "$id" "${code:-000}" \
            "$(tr -d '\n\t' <"$tmp")" >>"$out"
        sleep 0.03
    done
}
LOAD_PIDS=()
# load_start PHASE: 4 writers (2 on A, 2 on B) and 4 readers (2 on A, 2 on B).
load_start() {
    local ph=$1
    rm -f "$STOPF"
    LOAD_PIDS=()
    writer "$ph" 1 A "$APIA_URL" "$TA" &
    LOAD_PIDS+=($!)
    writer "$ph" 2 A "$APIA_URL" "$TA" &
    LOAD_PIDS+=($!)
    writer "$ph" 3 B "$APIB_URL" "$TB" &
    LOAD_PIDS+=($!)
    writer "$ph" 4 B "$APIB_URL" "$TB" &
    LOAD_PIDS+=($!)
    reader "$ph" 1 A "$APIA_URL" "$TA" &
    LOAD_PIDS+=($!)
    reader "$ph" 2 A "$APIA_URL" "$TA" &
    LOAD_PIDS+=($!)
    reader "$ph" 3 B "$APIB_URL" "$TB" &
    LOAD_PIDS+=($!)
    reader "$ph" 4 B "$APIB_URL" "$TB" &
    LOAD_PIDS+=($!)
}
# load_stop: asks the loops to stop and waits for them (each finishes its request: < 16 s).
load_stop() {
    local p
    touch "$STOPF"
    for p in "${LOAD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    LOAD_PIDS=()
}
# acked_in PHASE: the number of acknowledged writes recorded in PHASE so far.
acked_in() {
    cat "$T/w/$1".*.tsv 2>/dev/null | awk -F'\t' '$6 == 200' | grep -c '' || true
}

# ---- catching up, snapshots and the invariants ---------------------------------------------------
list_api() { # URL TOKEN: "id version title" of every item of V, sorted
    curl -s --max-time 10 -H "Authorization: Bearer $2" "$1/v1/vaults/$V/items" |
        jq -r '.[] | "\(.id) \(.version) \(.title)"' 2>/dev/null | sort
}
cv_api() { # URL TOKEN: V's contentVersion
    curl -s --max-time 10 -H "Authorization: Bearer $2" "$1/v1/vaults/$V" |
        jq -r .contentVersion 2>/dev/null || true
}
# caught_up: the hub, A and B list the same items at the same versions.
caught_up() {
    cli item list --vault "$V" --format json
    [ "$RC" -eq 0 ] || return 1
    printf '%s' "$OUT" >"$T/hub.list.json"
    jq -r '.[] | "\(.id) \(.version) \(.title)"' "$T/hub.list.json" 2>/dev/null | sort >"$T/cu.hub"
    list_api "$APIA_URL" "$TA" >"$T/cu.a"
    list_api "$APIB_URL" "$TB" >"$T/cu.b"
    cmp -s "$T/cu.hub" "$T/cu.a" && cmp -s "$T/cu.hub" "$T/cu.b"
}
# snapshots PHASE: A's and B's items in full, the hub's list, and some items in full from the
# hub (the admin CLI decrypts them).
snapshots() {
    local id ids
    ids=$(python3 "$T/check.py" "$T" snap "$APIA_URL" "$TA" "$APIB_URL" "$TB" "$V" "$1" \
        2>"$T/snap.err" || true)
    if [ -s "$T/snap.err" ]; then
        not_ok "$1: the snapshots of A and B: $(head -c 300 "$T/snap.err")"
    fi
    : >"$T/hub.gets.jsonl"
    for id in $ids; do
        cli item get "$id" --vault "$V" --format json
        if [ "$RC" -eq 0 ]; then
            printf '%s' "$OUT" | jq -c . >>"$T/hub.gets.jsonl" 2>/dev/null ||
                echo "unparsable item get $id" >>"$T/hub.gets.jsonl"
        else
            echo "item get $id: exit $RC $ERR" >>"$T/hub.gets.jsonl"
        fi
    done
}
# inv_report DESCRIPTION NAME: ok when the checker's line NAME (in $T/inv.out, written by
# check_all) says "OK ...", else not ok with its words.
inv_report() {
    local line
    line=$(grep -m1 "^$2 " "$T/inv.out" 2>/dev/null || true)
    line=${line#"$2 "}
    case $line in
    OK*) ok "$1 (${line#OK })" ;;
    *) not_ok "$1: ${line#FAIL }" ;;
    esac
}
check_all() { check all "$1" "${2:-0}" >"$T/inv.out"; }
inv_acked() { inv_report "$1: every acknowledged write is on the hub, A and B exactly once with its content" acked; }
inv_whole() { inv_report "$1: no half-written item; hub, A and B hold the same items" whole; }
inv_reads() { inv_report "$1: every read returned the item's own data; no read failed${2:+ (but on api A)}" reads; }
inv_werrors() { inv_report "$1: every failed write answered a 5xx JSON error${2:+ or no answer}" werrors; }
# inv_feed PHASE: the admin change feed runs 1..lastSeq without a gap, lastSeq = the account's.
inv_feed() {
    local since=0 pages=0 last=0 a more next acct
    : >"$T/feed.seqs"
    while :; do
        a=$(hreq GET "/v1/changes?since=$since&limit=1000")
        if [ "$(status_of "$a")" != 200 ]; then
            not_ok "$1: GET /v1/changes?since=$since: $(printf '%s' "$a" | head -c 200)"
            return 0
        fi
        body_of "$a" >"$T/feed.page"
        jq -r '.changes[].seq' "$T/feed.page" >>"$T/feed.seqs" 2>/dev/null || true
        pages=$((pages + 1))
        more=$(jq -r .more "$T/feed.page" 2>/dev/null || true)
        next=$(jq -r .next "$T/feed.page" 2>/dev/null || echo 0)
        last=$(jq -r .lastSeq "$T/feed.page" 2>/dev/null || echo 0)
        [ "$more" = true ] && [ "$pages" -lt 200 ] && [ "$next" -gt "$since" ] || break
        since=$next
    done
    acct=$(body_of "$(hreq GET /v1/account)" | jq -r .lastSeq 2>/dev/null || true)
    if [ "$(seq 1 "$last" | md5sum)" = "$(md5sum <"$T/feed.seqs")" ] && [ "$acct" = "$last" ]; then
        ok "$1: the hub's change feed runs 1..$last without a gap"
    else
        not_ok "$1: the change feed is not 1..lastSeq ($last, account $acct): $(tr '\n' ' ' <"$T/feed.seqs" |
            head -c 300)"
    fi
}
# cv_agree: A and B serve the hub's contentVersion of V (sets CVS to "hub A B").
cv_agree() {
    local h
    cli vault get "$V" --format json
    h=$(jqr "$OUT" .contentVersion)
    CVS="$h $(cv_api "$APIA_URL" "$TA") $(cv_api "$APIB_URL" "$TB")"
    [ "$CVS" = "$h $h $h" ]
}
CV_WAIT=2
# invariants PHASE ALLOW_A_DOWN: waits until the hub, A and B agree, then checks them all.
invariants() {
    local ph=$1 allow=${2:-0} t0
    t0=$(now_ms)
    if ! wait_within "$ph: hub, A and B caught up (the same items at the same versions)" 30 caught_up; then
        echo "#   hub $(grep -c '' "$T/cu.hub") A $(grep -c '' "$T/cu.a") B $(grep -c '' "$T/cu.b") items;" \
            "diff hub/A: $(diff "$T/cu.hub" "$T/cu.a" | grep '^[<>]' | head -3 | tr '\n' ' ')" \
            "hub/B: $(diff "$T/cu.hub" "$T/cu.b" | grep '^[<>]' | head -3 | tr '\n' ' ')"
    fi
    CVS=
    # (waits 2 s the first time; once they differed, one look: the difference does not heal)
    if ! wait_within "$ph: A and B serve the hub's contentVersion of the vault" "$CV_WAIT" cv_agree; then
        echo "#   contentVersion hub A B: $CVS"
        CV_WAIT=0
    fi
    echo "# $ph: caught up in $(elapsed_ms "$t0") ms"
    snapshots "$ph"
    check_all "$ph" "$allow"
    inv_acked "$ph"
    inv_whole "$ph"
    if [ "$allow" = 1 ]; then
        inv_reads "$ph" 1
        inv_werrors "$ph" 1
    else
        inv_reads "$ph"
        inv_werrors "$ph"
    fi
    inv_feed "$ph"
    echo "# $ph: invariants in $(elapsed_ms "$t0") ms"
}
# one_write SRV URL TOKEN: one POST outside the load (an item like the writers', recorded in
# $T/w/$PH.probe.tsv for the invariants); sets ONE (status line, then body) and ONE_MS.
one_write() {
    local t0 key mk id
    key="k$PH-probe-$(rand_marker p)"
    mk="$key.1"
    t0=$(now_ms)
    ONE=$(TOKEN=$3 ccurl "$2/v1/vaults/$V/items" -X POST -H 'Content-Type: application/json' \
        --data-binary "{\"vault\":{\"id\":\"$V\"},\"title\":\"$mk\",\"category\":\"LOGIN\",\"fields\":[\
{\"id\":\"fkey\",\"type\":\"STRING\",\"label\":\"fkey\",\"value\":\"$key\"},\
{\"id\":\"marker\",\"type\":\"STRING\",\"label\":\"marker\",\"value\":\"$mk\"}]}")
    ONE_MS=$(elapsed_ms "$t0")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" POST "" "$key" "$mk" "$(status_of "$ONE")" \
        "$(body_of "$ONE" | tr -d '\n\t')" >>"$T/w/$PH.probe.tsv"
    id=$(jqr "$(body_of "$ONE")" '.id // empty')
    if [ "$(status_of "$ONE")" = 200 ] && [ -n "$id" ]; then
        printf '%s %s\n' "$id" "$key" >>"$T/pool.$1"
    fi
}
# clean_5xx ANSWER: the answer is a 5xx with a {status: that status, message} JSON body.
clean_5xx() {
    local st
    st=$(status_of "$1")
    between "${st:-0}" 500 600 && [ "$(jqr "$(body_of "$1")" .status)" = "$st" ] &&
        [ -n "$(jqr "$(body_of "$1")" '.message // empty')" ]
}

# ---- 1. the hub stopped (SIGTERM) and restarted on the same port under the load ------------------
PH=hubdown
load_start $PH
sleep 1
rc=0
hub_stop TERM || rc=$?
expect_eq "$PH: the hub stops on SIGTERM under the load" 0 "$rc"
sleep 0.5 # the answers sent before the hub stopped reach the records
n0=$(acked_in $PH)
sleep 1
one_write A "$APIA_URL" "$TA"
expect_eq "$PH: a write on A fails at once with a 5xx JSON error (got $(status_of "$ONE") in $ONE_MS ms)" 1 \
    "$(yes_if clean_5xx "$ONE")"
n1=$(acked_in $PH)
expect_eq "$PH: no write is acknowledged while the hub is down ($n0 -> $n1)" "$n0" "$n1"
HUB_READY_SECONDS=20 hub_start "$T/hub" --addr "127.0.0.1:$HPORT" >"$T/hub-start.txt" ||
    { cat "$T/hub-start.txt"; not_ok "$PH: the hub restarts"; finish; }
ok "$PH: the hub restarts on the same port"
wait_within "$PH: writes are acknowledged again after the restart" 20 \
    eval '[ "$(acked_in '$PH')" -gt '"$n1"' ]' || true
load_stop
invariants $PH

# ---- 2. the hub black-holed between sync A and the hub, then reachable again ---------------------
PH=blackhole
load_start $PH
sleep 1
echo hole >"$T/proxy.mode"
sleep 0.3
one_write A "$APIA_URL" "$TA"
expect_eq "$PH: a write on A times out within OP_SYNC_TIMEOUT + 2.5 s with a 5xx JSON error (got $(status_of "$ONE") in $ONE_MS ms)" "1 1" \
    "$(yes_if clean_5xx "$ONE") $(yes_if between "$ONE_MS" 0 $((SYNC_TIMEOUT_S * 1000 + 2500)))"
ONE_KEY=$(jqr "$(body_of "$ONE")" .message)
echo "# ... $(status_of "$ONE"): $ONE_KEY"
one_write B "$APIB_URL" "$TB"
expect_eq "$PH: meanwhile a write on B succeeds" 200 "$(status_of "$ONE")"
IB=$(jqr "$(body_of "$ONE")" .id)
a_has_ib() { [ "$(status_of "$(TOKEN=$TA ccurl "$APIA_URL/v1/vaults/$V/items/$IB")")" = 200 ]; }
expect_eq "$PH: ... and A does not have it while black-holed" 0 "$(yes_if a_has_ib)"
echo pass >"$T/proxy.mode"
wait_within "$PH: sync A recovers: the write made on B reaches A" 30 a_has_ib || true
sleep 0.5
load_stop
invariants $PH

# ---- 3. SIGKILL of the hub, sync A or api A at a random point of the load ------------------------
victims=(hub SYNCA APIA)
for round in $(seq 1 "$FAULT_ROUNDS"); do
    victim=${victims[$(((round - 1) % 3))]}
    PH="kill$round"
    load_start $PH
    sleep "0.$((3 + RANDOM % 7))"
    case $victim in
    hub)
        hub_stop KILL || true
        hub_start "$T/hub" --addr "127.0.0.1:$HPORT" >"$T/hub-start.txt" ||
            { cat "$T/hub-start.txt"; not_ok "$PH: the hub restarts"; }
        ;;
    SYNCA)
        connect_stop SYNCA KILL || true
        start_synca || not_ok "$PH: sync A restarts"
        ;;
    APIA)
        connect_stop APIA KILL || true
        start_apia OP_HTTP_PORT="$APIA_FIXED_PORT" || not_ok "$PH: api A restarts"
        [ "$APIA_PORT" = "$APIA_FIXED_PORT" ] || not_ok "$PH: api A restarts on its port"
        ;;
    esac
    sleep 0.7
    load_stop
    echo "# $PH: SIGKILL $victim; $(acked_in $PH) writes acknowledged"
    if [ "$victim" = APIA ]; then invariants $PH 1; else invariants $PH; fi
done

# ---- clean stop, logs -----------------------------------------------------------------------------
for name in APIA SYNCA APIB SYNCB; do
    rc=0
    connect_stop "$name" || rc=$?
    expect_eq "$name stops on SIGTERM with status 0" 0 "$rc"
done
rc=0
hub_stop TERM || rc=$?
expect_eq "the hub stops cleanly" 0 "$rc"
expect_clean_logs "no sanitizer report in the api and sync logs of A and B" \
    "$APIA_LOG" "$SYNCA_LOG" "$APIB_LOG" "$SYNCB_LOG"
expect_clean_log "no sanitizer report in the hub log"
echo "# $(cat "$T"/w/*.tsv | grep -c '') writes and $(cat "$T"/r/*.tsv | grep -c '') reads in" \
    "$(($(elapsed_ms "$T_START") / 1000)) s"
finish
