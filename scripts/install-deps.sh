#!/usr/bin/env bash
# Installs the Debian 12 (bookworm) packages Sesame needs to build, test and run.
# Idempotent: packages already present are skipped, and nothing runs when all are there.
# The list and the reason for each package are in docs/architecture.md ("Dependencies").
#
#   scripts/install-deps.sh          what build, test and run need (what CI installs)
#   scripts/install-deps.sh --bench  also the load generator and the ceiling of `make bench`
#                                    (docs/benchmarks.md): wrk, nginx-light
set -euo pipefail

BENCH=0
case "${1:-}" in
    "") ;;
    --bench) BENCH=1 ;;
    *)
        printf 'usage: install-deps.sh [--bench]\n' >&2
        exit 2
        ;;
esac

PACKAGES=(
    # build
    build-essential pkg-config cmake ninja-build clang-format
    # runtime libraries (headers for the build)
    libmicrohttpd-dev libgnutls28-dev libjansson-dev libsodium-dev libssl-dev
    libsqlite3-dev libpq-dev libcurl4-openssl-dev
    # tests: unit tests, fuzzers (clang's libFuzzer runtime), PostgreSQL, SQLite shell
    libcmocka-dev clang-14 libclang-rt-14-dev postgresql sqlite3
    # integration tests and tools
    curl ca-certificates openssl jq
)
# `make bench` only: the HTTP load generator (wrk, scripted in Lua) and nginx
# (the static-file ceiling every read figure is compared with). Run in the foreground by
# scripts/bench/run.sh on a loopback port with its own configuration; the package's own
# service is not used.
BENCH_PACKAGES=(wrk nginx-light)
if [ "$BENCH" -eq 1 ]; then
    PACKAGES+=("${BENCH_PACKAGES[@]}")
fi

die() {
    printf 'install-deps: %s\n' "$1" >&2
    exit 1
}

[ -r /etc/debian_version ] || die "this script supports Debian 12 (bookworm); /etc/debian_version not found"
command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: not a Debian system"

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing+=("$p") ;;
    esac
done

# The JS SDK conformance test (tests/integration/connect_sdk.sh) needs node and npm. Any
# install that provides both will do (e.g. NodeSource's nodejs, which bundles npm): Debian's
# packages are added only when a command is missing, so such an install is left alone.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#PACKAGES[@]} packages present (and node, npm)"
    exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "not root and sudo is not installed; run as root: apt-get install ${missing[*]}"
    SUDO=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq || die "apt-get update failed (network or apt sources?)"
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install failed for: ${missing[*]}"
echo "install-deps: done"
