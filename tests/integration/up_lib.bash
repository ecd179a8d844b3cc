# up_lib.bash - starting and stopping `sesame up` in the tests (sourced after lib.bash and
# connect_lib.bash, with D set to the data directory).

UP_PID=

# up_start NAME PORT [ARGS...]: starts `sesame up --data $D --port PORT ARGS...` in the
# background, output in $T/NAME.out and $T/NAME.err; sets UP_PID.
up_start() {
    local name=$1 port=$2
    shift 2
    "$SESAME" up --data "$D" --port "$port" "$@" >"$T/$name.out" 2>"$T/$name.err" &
    UP_PID=$!
    HUB_PIDS+=("$UP_PID")
}

# up_stop: SIGTERM to `up`; waits at most 20 s; returns its exit status (124: still there).
up_stop() {
    local i rc=0
    kill -TERM "$UP_PID" 2>/dev/null || true
    for i in $(seq 1 200); do
        kill -0 "$UP_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$UP_PID" 2>/dev/null; then
        kill -KILL "$UP_PID" 2>/dev/null || true
        rc=124
    fi
    wait "$UP_PID" 2>/dev/null || rc=$?
    return "$rc"
}

# announced NAME: true once the run NAME printed its whole block.
announced() { grep -q '^Ctrl-C stops all three\.$' "$T/$1.out" 2>/dev/null; }
