#!/usr/bin/env bash
# readme.sh - the README's five-minute tour works when pasted: starts `sesame up` (as
# `make run` does, on a free port and a temporary data directory), then runs the README's
# shell blocks marked <!-- tour:curl -->, <!-- tour:js -->, <!-- tour:run --> and
# <!-- tour:cli --> exactly as
# written, with only these substitutions: the port 8080 -> the free port, sesame-data ->
# the temporary data directory, ./build/sesame -> the binary under test, and (tour:js)
# `npm install <spec>` -> a link to the SDK that sdk_lib.bash installed, after checking
# that <spec> is the version the tests use.
set -uo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"
. "$(dirname "$0")/sdk_lib.bash"

README="$(cd "$(dirname "$0")/../.." && pwd)/README.md"
if [ -z "$HUBREQ" ] || [ ! -x "$HUBREQ" ]; then hub_test_init; fi
sdk_install
hub_test_init

# block NAME: prints the fenced block that follows <!-- tour:NAME --> in the README.
block() {
    awk -v m="<!-- tour:$1 -->" '
        $0 == m { want = 1; next }
        want && /^```/ { if (inb) exit; inb = 1; next }
        inb { print }' "$README"
}
for b in curl js run cli; do
    expect_eq "the README has a tour:$b block" 1 "$([ -n "$(block "$b")" ] && echo 1 || echo 0)"
done

D="$T/sesame-data"
PORT=$(free_port)
"$SESAME" up --data "$D" --port "$PORT" >"$T/up.out" 2>"$T/up.err" &
UP_PID=$!
HUB_PIDS+=("$UP_PID")
announced() { grep -q '^Ctrl-C stops all three\.$' "$T/up.out" 2>/dev/null; }
wait_within "sesame up prints its block" 60 announced ||
    { tail -20 "$T/up.err" | sed 's/^/#   /'; finish; exit 1; }

# run_block NAME: runs the block in $T/work with the substitutions; stdout in $OUT (stderr in
# $T/block.err: curl's progress meter), status in $RC.
W="$T/work"
mkdir -p "$W"
run_block() {
    local code
    code=$(block "$1" | sed -e "s#:8080#:$PORT#g" -e "s#sesame-data#$D#g" \
        -e "s#\./build/sesame#$SESAME#g")
    RC=0
    OUT=$(cd "$W" && bash -eo pipefail -c "$code" 2>"$T/block.err") || RC=$?
}

# tour:curl
run_block curl
expect_eq "tour:curl exits 0" 0 "$RC"
expect_eq "tour:curl lists the Demo vault" Demo "$(printf '%s' "$OUT" | jq -r '.[].name' 2>/dev/null)"

# tour:js: the npm line must install the SDK version the tests run; it is replaced by a link.
spec=$(block js | sed -n 's/.*npm install \(@1password\/connect@[0-9.]*\).*/\1/p')
expect_eq "tour:js installs $SDK_SPEC" "$SDK_SPEC" "$spec"
js=$(block js | sed "s#npm install $SDK_SPEC#mkdir -p node_modules \&\& ln -sfn $JS_DIR/node_modules/@1password node_modules/@1password#")
# the SDK's own dependencies resolve from $JS_DIR/node_modules through the link's real path
RC=0
OUT=$(cd "$W" && env OP_CONNECT_HOST="http://127.0.0.1:$PORT" OP_CONNECT_TOKEN="$(cat "$D/token")" \
    bash -eo pipefail -c "$js" 2>&1) || RC=$?
expect_eq "tour:js exits 0" 0 "$RC"
expect_eq "tour:js prints what the README says" "Demo Demo login demo" "$OUT"

# tour:run
export OP_CONNECT_HOST="http://127.0.0.1:$PORT"
OP_CONNECT_TOKEN=$(cat "$D/token")
export OP_CONNECT_TOKEN
run_block run
expect_eq "tour:run exits 0" 0 "$RC"
expect_eq "tour:run prints what the README says" "demo
connecting with <concealed by sesame>" "$OUT"

# tour:cli, with the admin variables sesame up printed.
eval "$(grep -m1 '^  export SESAME_HUB=' "$T/up.out")"
export OP_CONNECT_HOST="http://127.0.0.1:$PORT" OP_CONNECT_TOKEN
OP_CONNECT_TOKEN=$(cat "$D/token")
run_block cli
expect_eq "tour:cli exits 0" 0 "$RC"
expect_match "tour:cli shows the new item" 'db' "$OUT"
titles=$(printf '%s\n' "$OUT" | sed -n '/^\[/,$p' | jq -r '.[].title' 2>/dev/null | sort | tr '\n' ' ')
expect_eq "tour:cli's curl lists the new item next to Demo login" "Demo login db " "$titles"

kill -TERM "$UP_PID"
wait "$UP_PID"
expect_eq "sesame up stops with status 0" 0 "$?"
expect_clean_logs "no sanitizer report" "$D"/logs/*.log "$T/up.err"
finish
