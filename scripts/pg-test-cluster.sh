#!/usr/bin/env bash
# pg-test-cluster.sh - a throwaway PostgreSQL 15 for the tests and the benchmark.
#
#   scripts/pg-test-cluster.sh start DIR   creates DIR, starts a cluster listening on
#                                          127.0.0.1 only (a free port), prints its URL and
#                                          writes it to DIR/url (0600); the cluster's files
#                                          are in a new /tmp/sesame-pg.XXXXXX (named in
#                                          DIR/cluster), which the postgres user can reach
#                                          wherever DIR is (e.g. under /root)
#   scripts/pg-test-cluster.sh url DIR     prints the URL
#   scripts/pg-test-cluster.sh stop DIR    stops the cluster and removes DIR (no DIR: exit 0)
#
# The URL is postgresql://sesame:PASSWORD@127.0.0.1:PORT/sesame: a role `sesame` with a
# random password and CREATEDB (tests make a database per case), owning the database
# `sesame`; TCP needs that password (scram-sha-256), the socket in DIR is the superuser's.
# fsync stays on: the tests check durability. As root the cluster runs as the `postgres`
# user (runuser), otherwise as the calling user. Every failure is one line on stderr, exit 1.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
START_TIMEOUT_S=30

die() {
    echo "pg-test-cluster: $*" >&2
    exit 1
}

[ $# -eq 2 ] || die "usage: pg-test-cluster.sh start|url|stop DIR"
cmd=$1
dir=$2
[ -n "$dir" ] || die "DIR must not be empty"
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac

# as_owner CMD...: runs CMD as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on, below the ephemeral range.
free_port() {
    local p i lo=32768
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
    [ "$lo" -gt 11000 ] || lo=32768
    for i in $(seq 1 50); do
        p=$((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

case "$cmd" in
start)
    [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] ||
        die "PostgreSQL 15 is not installed ($PG_BIN/initdb): run scripts/install-deps.sh"
    if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
        die "$dir exists and is not empty (stop it first: pg-test-cluster.sh stop $dir)"
    fi
    mkdir -p "$dir"
    chmod 0700 "$dir"
    home=$(mktemp -d "${TMPDIR:-/tmp}/sesame-pg.XXXXXX")
    printf '%s\n' "$home" >"$dir/cluster"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$home"
    password=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
    as_owner "$PG_BIN/initdb" -D "$home/data" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        die "initdb failed; see $dir/initdb.log"
    cat >>"$home/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$home'
max_connections = 300
shared_buffers = 128MB
fsync = on
log_min_messages = warning
EOF
    printf '%s\n' "local all postgres trust" "host all all 127.0.0.1/32 scram-sha-256" \
        >"$home/data/pg_hba.conf"
    port=
    for _ in 1 2 3 4 5; do
        port=$(free_port) || die "no free port"
        if as_owner "$PG_BIN/pg_ctl" -D "$home/data" -l "$home/log" -w -t "$START_TIMEOUT_S" \
            -o "-p $port" start >/dev/null 2>&1; then
            break
        fi
        port=
    done
    [ -n "$port" ] || die "the cluster did not start; see $home/log"
    as_owner "$PG_BIN/psql" -X -q -h "$home" -p "$port" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -v pw="$password" >/dev/null <<'EOF' ||
SET password_encryption = 'scram-sha-256';
CREATE ROLE sesame LOGIN CREATEDB PASSWORD :'pw';
CREATE DATABASE sesame OWNER sesame;
EOF
        die "cannot create the sesame role and database"
    url="postgresql://sesame:$password@127.0.0.1:$port/sesame"
    (umask 077 && printf '%s\n' "$url" >"$dir/url")
    printf '%s\n' "$port" >"$dir/port"
    echo "$url"
    ;;
url)
    [ -s "$dir/url" ] || die "no cluster in $dir"
    cat "$dir/url"
    ;;
stop)
    [ -e "$dir" ] || exit 0
    home=$(cat "$dir/cluster" 2>/dev/null || true)
    case "$home" in "${TMPDIR:-/tmp}"/sesame-pg.*) ;; *) home= ;; esac
    if [ -n "$home" ] && [ -f "$home/data/postmaster.pid" ]; then
        as_owner "$PG_BIN/pg_ctl" -D "$home/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            as_owner "$PG_BIN/pg_ctl" -D "$home/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
            true
    fi
    [ -z "$home" ] || rm -rf "$home"
    rm -rf "$dir"
    ;;
*)
    die "unknown command $cmd (start, url or stop)"
    ;;
esac
