# shellcheck shell=bash
# lib.sh - the set-up shared by `make bench` (scripts/bench/run.sh) and `make soak`
# (scripts/soak/run.sh); sourced, not run. Both measure a real hub + sync + api on loopback,
# with data made by the admin CLI, using the integration tests' helpers
# (tests/integration/lib.bash and connect_lib.bash: hub_start, cli, connect_start, ...).
#
#   bench_init BUILD_DIR        the binaries of BUILD_DIR, the helpers, a private $T
#   bench_hub VAULT             a hub, an account kit and the vault VAULT
#   bench_items VAULT N TAG     N LOGIN items "item 1".."item N" ($T/titles)
#   bench_server SERVER VAULT   a Connect server for VAULT ($T/creds.json)
#   bench_connect_start         its sync and its api (SYNC_*, API_*)
#   bench_api_start             (re)starts the api on the same volume
# Everything started is stopped, and $T removed, when the script exits (hub_cleanup).

# bench_init BUILD_DIR: sets ROOT, points SESAME_BINARY / SESAME_HUBREQ at BUILD_DIR's
# binaries, sources the integration helpers and makes the private temporary directory $T
# (hub_test_init). Exits 1 when the binaries are not built.
bench_init() {
    local build=$1
    ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    case $build in
    /*) ;;
    *) build="$ROOT/$build" ;;
    esac
    if [ ! -x "$build/sesame" ] || [ ! -x "$build/hubreq" ]; then
        echo "bench: no sesame/hubreq in $build (build it first: make build BUILD=...)" >&2
        exit 1
    fi
    export SESAME_BINARY="$build/sesame" SESAME_HUBREQ="$build/hubreq"
    # shellcheck source=../../tests/integration/lib.bash
    . "$ROOT/tests/integration/lib.bash"
    # shellcheck source=../../tests/integration/connect_lib.bash
    . "$ROOT/tests/integration/connect_lib.bash"
    hub_test_init
}

# ms_now: the current time in milliseconds.
ms_now() { date +%s%3N; }

# bench_hub VAULT: starts a hub on $T/hub, creates the account (kit at $SESAME_ACCOUNT_KIT)
# and the vault VAULT. Exits 1 when any of it fails.
bench_hub() {
    hub_start "$T/hub" >/dev/null || {
        echo "bench: the hub does not start" >&2
        exit 1
    }
    hub_account_init >/dev/null || {
        echo "bench: account init fails" >&2
        exit 1
    }
    cli vault create "$1" --format json
    if [ "$RC" -ne 0 ]; then
        echo "bench: vault create $1 fails: $ERR" >&2
        exit 1
    fi
}

# bench_items VAULT N TAG: creates N LOGIN items titled "item 1".."item N" in VAULT with the
# admin CLI: tags TAG and n(i % 10), field username=user<i>, a generated password, plus the
# arguments a function named by $BENCH_ITEM_ARGS (if set) puts into the array ITEM_ARGS
# when called with i. Writes the titles, one a line, to $T/titles. Exits 1 on a failure.
bench_items() {
    local vault=$1 n=$2 tag=$3 i t0 t1
    echo "bench: creating $n items with the admin CLI..."
    : >"$T/titles"
    t0=$(ms_now)
    for i in $(seq 1 "$n"); do
        ITEM_ARGS=()
        if [ -n "${BENCH_ITEM_ARGS:-}" ]; then "$BENCH_ITEM_ARGS" "$i"; fi
        "$SESAME" item create --vault "$vault" --category LOGIN --title "item $i" \
            --tags "$tag,n$((i % 10))" --field "username=user$i" --generate-password \
            "${ITEM_ARGS[@]}" >/dev/null || {
            echo "bench: item create \"item $i\" fails" >&2
            exit 1
        }
        echo "item $i" >>"$T/titles"
    done
    t1=$(ms_now)
    echo "bench: $n items created in $(((t1 - t0) / 1000)) s"
}

# bench_server SERVER VAULT: creates the Connect server SERVER with access to VAULT
# (credentials in $T/creds.json). Tokens are made by the caller (cli connect token create
# NAME --server SERVER --vault VAULT:r). Exits 1 on a failure.
bench_server() {
    cli connect server create "$1" --vault "$2" --out "$T/creds.json"
    if [ "$RC" -ne 0 ]; then
        echo "bench: connect server create fails: $ERR" >&2
        exit 1
    fi
}

# bench_connect_start: starts the Connect server's sync (SYNC_*) and api (API_*, see
# bench_api_start) on the volume under $T/xdg. Exits 1 when either does not start.
bench_connect_start() {
    connect_start sync SYNC "$T/creds.json" "$T/xdg" >/dev/null || {
        echo "bench: sync does not start" >&2
        exit 1
    }
    bench_api_start
}

# bench_api_start: starts the api (API_PID, API_URL, API_LOG) on $T/xdg with
# $T/creds.json. One token from one address goes well over the default
# SESAME_RATE_LIMIT_RPS (1000/s): the limiter stays on (its cost is measured) with a
# ceiling the load never reaches. Exits 1 when it does not start.
bench_api_start() {
    connect_start api API "$T/creds.json" "$T/xdg" SESAME_RATE_LIMIT_RPS=1000000 >/dev/null || {
        echo "bench: the api does not start" >&2
        exit 1
    }
}
