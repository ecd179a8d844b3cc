# shellcheck shell=bash
# lib.sh - the set-up shared by `make bench` (scripts/bench/run.sh) and `make soak`
# (scripts/soak/run.sh); sourced, not run. Both measure a real hub + sync + api on loopback,
# with data made by the admin CLI, using the integration tests' helpers
# (tests/integration/lib.bash and connect_lib.bash: hub_start, cli, connect_start, ...).
#
#   bench_init BUILD_DIR [FN]   the binaries of BUILD_DIR, the helpers, a private $T
#   bench_hub VAULT             a hub, an account kit and the vault VAULT
#   bench_items VAULT N TAG     N LOGIN items "item 1".."item N" ($T/titles), one admin CLI
#                               process each (make bench makes its items with
#                               scripts/bench/populate.mjs instead: see run.sh)
#   bench_server SERVER VAULT...  a Connect server for the vaults ($BENCH_CREDS, default
#                               $T/creds.json)
#   bench_connect_start [SUFFIX CREDS XDG]  its sync and its api (SYNC*, API*)
#   bench_api_start [SUFFIX CREDS XDG]      (re)starts the api on the same volume
# Everything started is stopped, and $T removed, when the script exits (hub_cleanup).

# bench_init BUILD_DIR [FN]: sets ROOT and BUILD (absolute), points SESAME_BINARY /
# SESAME_HUBREQ at BUILD_DIR's binaries, sources the integration helpers, calls the function
# FN if given (while HOME is still the real one: npm installs, see tests/integration/
# sdk_lib.bash) and makes the private temporary directory $T (hub_test_init). Exits 1 when
# the binaries are not built.
bench_init() {
    local build=$1 before=${2:-}
    ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    case $build in
    /*) ;;
    *) build="$ROOT/$build" ;;
    esac
    if [ ! -x "$build/sesame" ] || [ ! -x "$build/hubreq" ]; then
        echo "bench: no sesame/hubreq in $build (build it first: make build BUILD=...)" >&2
        exit 1
    fi
    # shellcheck disable=SC2034 # for the callers
    BUILD=$build
    # not exported: the servers would warn about unknown SESAME_ variables
    SESAME_BINARY="$build/sesame"
    SESAME_HUBREQ="$build/hubreq"
    export -n SESAME_BINARY SESAME_HUBREQ
    # shellcheck source=../../tests/integration/lib.bash
    . "$ROOT/tests/integration/lib.bash"
    # shellcheck source=../../tests/integration/connect_lib.bash
    . "$ROOT/tests/integration/connect_lib.bash"
    if [ -n "$before" ]; then "$before"; fi
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

# bench_server SERVER VAULT...: creates the Connect server SERVER with access to the vaults
# (credentials in ${BENCH_CREDS:-$T/creds.json}). Tokens are made by the caller (cli connect
# token create NAME --server SERVER --vault VAULT:r). Exits 1 on a failure.
bench_server() {
    local server=$1 v args=()
    shift
    for v in "$@"; do args+=(--vault "$v"); done
    cli connect server create "$server" "${args[@]}" --out "${BENCH_CREDS:-$T/creds.json}"
    if [ "$RC" -ne 0 ]; then
        echo "bench: connect server create fails: $ERR" >&2
        exit 1
    fi
}

# bench_connect_start [SUFFIX CREDS XDG]: starts a Connect server's sync (SYNC<SUFFIX>_PID,
# _URL, _LOG) and api (API<SUFFIX>_*, see bench_api_start) with the credentials file CREDS
# (default $T/creds.json) on the volume under XDG (default $T/xdg). Exits 1 when either
# does not start.
bench_connect_start() {
    local sfx=${1:-} creds=${2:-$T/creds.json} xdg=${3:-$T/xdg}
    connect_start sync "SYNC$sfx" "$creds" "$xdg" >/dev/null || {
        echo "bench: sync$sfx does not start" >&2
        exit 1
    }
    bench_api_start "$sfx" "$creds" "$xdg"
}

# bench_api_start [SUFFIX CREDS XDG]: starts the api (API<SUFFIX>_PID, _URL, _LOG) on XDG
# (default $T/xdg) with CREDS (default $T/creds.json). One token from one address goes well
# over the default SESAME_RATE_LIMIT_RPS (1000/s): the limiter stays on (its cost is
# measured) with a ceiling the load never reaches. Exits 1 when it does not start.
bench_api_start() {
    local sfx=${1:-} creds=${2:-$T/creds.json} xdg=${3:-$T/xdg}
    connect_start api "API$sfx" "$creds" "$xdg" SESAME_RATE_LIMIT_RPS=1000000 >/dev/null || {
        echo "bench: the api$sfx does not start" >&2
        exit 1
    }
}
