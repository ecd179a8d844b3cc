#!/usr/bin/env bash
# up.sh - `sesame up` (issue 7, part 1): the first run makes a Demo vault and a token and
# prints how to use the server (and the printed curl line works); the token file is 0600;
# a second `up` on the same directory is refused; SIGTERM stops every child; a second run
# reuses the token, the vault and the hub port; a killed api is restarted; an api port in
# use gives one clear stderr line while `up` keeps retrying.
set -uo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"
. "$(dirname "$0")/up_lib.bash"

hub_test_init
D="$T/d"
no_child_left() { ! pgrep -f "$D/" >/dev/null; }
api_pid() { pgrep -f "$D/api.port" | head -n 1; }
vaults() { TOKEN=$(cat "$D/token") ccurl "http://127.0.0.1:$PORT/v1/vaults"; }
api_answers() { [ "$(status_of "$(vaults)")" = 200 ]; }
demo_id() { body_of "$(vaults)" | jq -r '.[] | select(.name == "Demo") | .id' 2>/dev/null; }

# ---- usage ----------------------------------------------------------------------------
cli up --bogus
expect_cli_error "up with an unknown flag exits 2 with one line" 2
cli up --port 70000
expect_cli_error "up with a port over 65535 exits 2 with one line" 2
cli up --data
expect_cli_error "up --data without a value exits 2 with one line" 2
cli up --help
expect_eq "up --help exits 0" 0 "$RC"
expect_match "up --help shows the usage" '^usage: sesame up \[--data DIR\] \[--port PORT\]' "$OUT"
expect_eq "no data directory is made by a usage error" 0 "$(ls -A "$T" | grep -c '^d$' || true)"

# ---- first run ------------------------------------------------------------------------
PORT=$(free_port)
up_start up1 "$PORT"
wait_within "the first run prints the block" 60 announced up1 ||
    { sed 's/^/#   /' "$T/up1.err" | tail -20; finish; exit 1; }
HUBPORT=$(cut -d: -f2 "$D/hub.addr" | tr -d '\n')
expected=$(
    cat <<EOF
Sesame is running (hub, sync and api; data in $D). In another shell:
  export OP_CONNECT_HOST=http://127.0.0.1:$PORT
  export OP_CONNECT_TOKEN=\$(cat $D/token)
  curl -H "Authorization: Bearer \$OP_CONNECT_TOKEN" \$OP_CONNECT_HOST/v1/vaults
Admin commands (sesame vault …, sesame item …, sesame connect …):
  export SESAME_HUB=http://127.0.0.1:$HUBPORT SESAME_ACCOUNT_KIT=$D/account-kit.json
Ctrl-C stops all three.
EOF
)
expect_eq "the block is exact" "$expected" "$(cat "$T/up1.out")"
out=$(bash -c "$(sed -n '2,4p' "$T/up1.out") -s --max-time 10" 2>&1)
expect_eq "the printed curl line lists the Demo vault" "Demo" \
    "$(printf '%s' "$out" | jq -r '.[].name' 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
expect_eq "the token file is mode 600" 600 "$(stat -c %a "$D/token")"
expect_eq "the data directory is mode 700" 700 "$(stat -c %a "$D")"
out=$(SESAME_HUB="http://127.0.0.1:$HUBPORT" SESAME_ACCOUNT_KIT="$D/account-kit.json" \
    "$SESAME" item list --vault Demo 2>&1)
expect_match "the printed admin variables work (item list shows Demo login)" 'Demo login' "$out"
VID=$(demo_id)
expect_match "Demo has a vault id" '^[a-z2-7]{26}$' "$VID"
cp "$D/token" "$T/token.first"

cli up --data "$D" --port "$(free_port)"
expect_eq "a second up on the same directory exits 1" 1 "$RC"
expect_eq "a second up says why in one line" \
    "sesame: up: another sesame up is running on $D" "$ERR"
expect_eq "a second up prints nothing on stdout" "" "$OUT"

PIDS=$(pgrep -f "$D/" | tr '\n' ' ')
expect_match "hub, sync and api run" '^[0-9]+ [0-9]+ [0-9]+ $' "$PIDS"
up_stop
expect_eq "SIGTERM stops up with status 0" 0 "$?"
left=
for p in $PIDS; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
expect_eq "no child is left after SIGTERM" "" "$left"
expect_eq "pgrep finds nothing on the data directory" 1 "$(
    no_child_left
    echo $(($? == 0))
)"

# ---- second run -----------------------------------------------------------------------
PORT=$(free_port)
t0=$(now_ms)
up_start up2 "$PORT"
wait_within "the second run prints the block again" 20 announced up2 ||
    { tail -5 "$T/up2.err" "$D/logs/api.log" | sed 's/^/#   /'; }
expect_eq "the second run answers within a few seconds" 1 "$(($(elapsed_ms "$t0") < 10000))"
expect_eq "the token is reused byte for byte" "" "$(cmp "$T/token.first" "$D/token" 2>&1)"
expect_eq "the hub keeps its port" "  export SESAME_HUB=http://127.0.0.1:$HUBPORT SESAME_ACCOUNT_KIT=$D/account-kit.json" \
    "$(sed -n 6p "$T/up2.out")"
expect_eq "the Demo vault is the same" "$VID" "$(demo_id)"

# ---- a killed api comes back ----------------------------------------------------------
old=$(api_pid)
kill -KILL "$old" 2>/dev/null
wait_within "the api answers again after kill -9" 10 api_answers
new=$(api_pid)
expect_eq "the api runs with a new pid" 1 "$([ -n "$new" ] && [ "$new" != "$old" ] && echo 1 || echo 0)"
expect_match "up logged the unexpected exit" '"\(W\) up: api \(pid [0-9]+\) exited unexpectedly \(signal 9\)' \
    "$(cat "$T/up2.err")"
PIDS=$(pgrep -f "$D/" | tr '\n' ' ')
up_stop
expect_eq "SIGTERM stops the second run with status 0" 0 "$?"
left=
for p in $PIDS; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
expect_eq "no child is left after the second run" "" "$left"

# ---- the api port is in use -----------------------------------------------------------
BUSY=$(free_port)
python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(60)' "$BUSY" &
HOLDER=$!
HUB_PIDS+=("$HOLDER")
sleep 0.3
rm -f "$D/hub.addr" # lost: the hub must come back on the port the credentials file names
up_start up3 "$BUSY"
said() { grep -q "^sesame: up: the api could not start (is port $BUSY in use?); see $D/logs/api.log; retrying$" "$T/up3.err"; }
wait_within "an api port in use gives one clear stderr line" 15 said
sleep 1
expect_eq "the line is printed once" 1 "$(grep -c 'the api could not start' "$T/up3.err")"
expect_eq "a lost hub.addr is rewritten with the hub's old port" "127.0.0.1:$HUBPORT" "$(cat "$D/hub.addr")"
expect_match "... and up says where the port came from" "hub.addr is missing: the hub takes port $HUBPORT again" "$(cat "$T/up3.err")"
expect_eq "up keeps running while the api cannot start" 1 "$(kill -0 "$UP_PID" 2>/dev/null && echo 1 || echo 0)"
expect_match "the api is restarted with a backoff" 'restarting in (500|1000|2000) ms' "$(cat "$T/up3.err")"
up_stop
expect_eq "SIGTERM stops it with status 0" 0 "$?"
kill -KILL "$HOLDER" 2>/dev/null
wait_within "nothing is left on the data directory" 5 no_child_left

# ---- an unfinished first run ----------------------------------------------------------
mkdir -m 700 "$T/p"
echo '{}' >"$T/p/account-kit.json"
cli up --data "$T/p" --port "$(free_port)"
expect_eq "an unfinished first run exits 1" 1 "$RC"
expect_eq "an unfinished first run says how to start over" \
    "sesame: up: $T/p/account-kit.json exists but $T/p/token does not: an earlier first run did not finish; remove $T/p to start over" \
    "$(printf '%s\n' "$ERR" | grep -v '"log_message"')"
wait_within "it leaves no child behind" 5 eval '! pgrep -f "$T/p/" >/dev/null'

expect_clean_logs "no sanitizer report" "$D"/logs/*.log "$T"/p/logs/*.log "$T"/up*.err
finish
