#!/usr/bin/env bash
# tls.sh - TLS everywhere, with real handshakes on 127.0.0.1 (issue 7, part 2):
#   1. `sesame up --tls`: a local CA, the hub and the api over HTTPS, the credentials file
#      pinning the hub's certificate; the printed curl line and the admin variables work;
#      the official JS SDK works with NODE_EXTRA_CA_CERTS and refuses without it; a second
#      run reuses the CA, the certificates and the token; --tls on a plain directory is
#      refused.
#   2. Operator-provided files (made with the openssl program, RSA and EC): the hub with
#      SESAME_HUB_TLS_CERT/KEY, the api with OP_TLS_CERT_FILE/KEY on OP_HTTPS_PORT (the
#      plain OP_HTTP_PORT keeps the probes and refuses the API with 403); TLS 1.1 and CBC
#      ciphers refused; SIGHUP reloads the certificate (a bad one is refused and the old one
#      stays); sync refuses a credentials file pinning another certificate, and refuses an
#      impostor hub on the right address (same name, another certificate) until the real
#      one is back.
set -uo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"
. "$(dirname "$0")/sdk_lib.bash"
. "$(dirname "$0")/up_lib.bash"

if [ -z "$HUBREQ" ] || [ ! -x "$HUBREQ" ]; then hub_test_init; fi
sdk_install
hub_test_init

# fp_of CERT: the SHA-256 of a PEM certificate as 64 lowercase hex digits.
fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f; }
# served_fp HOST:PORT: the fingerprint of the certificate a TLS server presents now.
served_fp() {
    echo | timeout 10 openssl s_client -connect "$1" 2>/dev/null | openssl x509 -noout \
        -fingerprint -sha256 2>/dev/null | cut -d= -f2 | tr -d : | tr A-F a-f
}

# ================================ 1. sesame up --tls =======================================
D="$T/d"

PORT=$(free_port)
up_start up1 "$PORT" --tls
wait_within "up --tls: the first run prints the block" 60 announced up1 ||
    { sed 's/^/#   /' "$T/up1.err" | tail -20; finish; exit 1; }
HUBPORT=$(cut -d: -f2 "$D/hub.addr" | tr -d '\n')
expected=$(
    cat <<EOF
Sesame is running over TLS (hub, sync and api; data in $D; local CA $D/tls/ca.pem). In another shell:
  export OP_CONNECT_HOST=https://127.0.0.1:$PORT
  export OP_CONNECT_TOKEN=\$(cat $D/token)
  export NODE_EXTRA_CA_CERTS=$D/tls/ca.pem   # for Node.js clients
  curl --cacert $D/tls/ca.pem -H "Authorization: Bearer \$OP_CONNECT_TOKEN" \$OP_CONNECT_HOST/v1/vaults
Admin commands (sesame vault …, sesame item …, sesame connect …):
  export SESAME_HUB=https://127.0.0.1:$HUBPORT SESAME_ACCOUNT_KIT=$D/account-kit.json SESAME_HUB_CA_FILE=$D/tls/ca.pem
Ctrl-C stops all three.
EOF
)
expect_eq "up --tls: the block is exact" "$expected" "$(cat "$T/up1.out")"
out=$(bash -c "$(sed -n '2,5p' "$T/up1.out") -s --max-time 10" 2>&1)
expect_eq "up --tls: the printed curl line lists the Demo vault over HTTPS" "Demo" \
    "$(printf '%s' "$out" | jq -r '.[].name' 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "https://127.0.0.1:$PORT/heartbeat" || true)
expect_eq "up --tls: without the CA curl refuses the api's certificate" 000 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/heartbeat" || true)
expect_eq "up --tls: plain HTTP to the HTTPS port gets no HTTP answer" 000 "$code"
for f in ca.key hub.key api.key; do
    expect_eq "up --tls: tls/$f is mode 600" 600 "$(stat -c %a "$D/tls/$f")"
done
expect_eq "up --tls: tls/ is mode 700" 700 "$(stat -c %a "$D/tls")"
expect_eq "up --tls: the credentials file pins the hub's certificate" "$(fp_of "$D/tls/hub.pem")" \
    "$(jq -r .hub.tlsFingerprint "$D/1password-credentials.json")"
expect_eq "up --tls: the credentials file names the hub over https" "https://127.0.0.1:$HUBPORT" \
    "$(jq -r .hub.url "$D/1password-credentials.json")"
expect_eq "up --tls: the hub serves its pinned certificate" "$(fp_of "$D/tls/hub.pem")" \
    "$(served_fp "127.0.0.1:$HUBPORT")"
expect_eq "up --tls: the api serves its own certificate" "$(fp_of "$D/tls/api.pem")" \
    "$(served_fp "127.0.0.1:$PORT")"
openssl verify -CAfile "$D/tls/ca.pem" "$D/tls/hub.pem" "$D/tls/api.pem" >/dev/null 2>&1
expect_eq "up --tls: both certificates verify against the local CA" 0 "$?"
out=$(SESAME_HUB="https://127.0.0.1:$HUBPORT" SESAME_ACCOUNT_KIT="$D/account-kit.json" \
    SESAME_HUB_CA_FILE="$D/tls/ca.pem" "$SESAME" item list --vault Demo 2>&1)
expect_match "up --tls: the printed admin variables work (item list shows Demo login)" 'Demo login' "$out"
cli_env() { env SESAME_HUB="https://127.0.0.1:$HUBPORT" SESAME_ACCOUNT_KIT="$D/account-kit.json" "$@"; }
RC=0
ERR=$(cli_env "$SESAME" vault list 2>&1 >/dev/null) || RC=$?
expect_eq "up --tls: the CLI without SESAME_HUB_CA_FILE exits 1" 1 "$RC"
expect_match "up --tls: ... with one line saying the certificate is not trusted" \
    '^sesame: .*not trusted' "$ERR"

# The official JS SDK, as the README's tour pastes it, with the CA through Node's variable.
cat >"$T/tour.mjs" <<'EOF'
import { createRequire } from "module";
const require = createRequire(process.env.SESAME_JS_DIR + "/");
const { OnePasswordConnect } = require("@1password/connect");
const op = OnePasswordConnect({
    serverURL: process.env.OP_CONNECT_HOST,
    token: process.env.OP_CONNECT_TOKEN,
    keepAlive: true,
});
try {
    const vaults = await op.listVaults();
    const item = await op.getItemByTitle(vaults[0].id, "Demo login");
    const user = item.fields.find((f) => f.id === "username");
    console.log(JSON.stringify({ vaults: vaults.map((v) => v.name), username: user.value }));
} catch (e) {
    console.log(JSON.stringify({ error: String(e && (e.code || e.message || e)) }));
}
EOF
sdk_run() {
    env OP_CONNECT_HOST="https://127.0.0.1:$PORT" OP_CONNECT_TOKEN="$(cat "$D/token")" \
        SESAME_JS_DIR="$JS_DIR" "$@" timeout 60 node "$T/tour.mjs" 2>&1
}
out=$(sdk_run NODE_EXTRA_CA_CERTS="$D/tls/ca.pem")
expect_eq "up --tls: the JS SDK lists Demo and reads Demo login over HTTPS" \
    '{"vaults":["Demo"],"username":"demo"}' "$out"
out=$(sdk_run NODE_EXTRA_CA_CERTS=)
expect_match "up --tls: the JS SDK without the CA refuses the certificate" \
    'SELF_SIGNED|UNABLE_TO_VERIFY|self.signed|unable to verify|CERT' "$out"

cp "$D/token" "$T/token.first"
cas=$(sha256sum "$D/tls/ca.pem" "$D/tls/hub.pem" "$D/tls/api.pem" "$D/tls/ca.key")
up_stop
expect_eq "up --tls: SIGTERM stops it with status 0" 0 "$?"

PORT=$(free_port)
up_start up2 "$PORT" # without --tls: the directory remembers
wait_within "up --tls: the second run prints the block again" 20 announced up2 ||
    { tail -5 "$T/up2.err" "$D/logs/api.log" | sed 's/^/#   /'; }
expect_eq "up --tls: the second run reuses the token" "" "$(cmp "$T/token.first" "$D/token" 2>&1)"
expect_eq "up --tls: ... and the CA, keys and certificates" "$cas" \
    "$(sha256sum "$D/tls/ca.pem" "$D/tls/hub.pem" "$D/tls/api.pem" "$D/tls/ca.key")"
out=$(sdk_run NODE_EXTRA_CA_CERTS="$D/tls/ca.pem")
expect_eq "up --tls: the JS SDK works on the second run" '{"vaults":["Demo"],"username":"demo"}' "$out"
expect_eq "up --tls: a second run without --tls stays on TLS" 1 "$(grep -c 'OP_CONNECT_HOST=https' "$T/up2.out")"
up_stop

mkdir -m 700 "$T/plain"
echo x >"$T/plain/token"
cli up --data "$T/plain" --port "$(free_port)" --tls
expect_eq "up --tls on a directory set up without TLS exits 1" 1 "$RC"
expect_eq "... and says why in one line" \
    "sesame: up: $T/plain was set up without TLS; --tls works on a new data directory (give another --data)" \
    "$(printf '%s\n' "$ERR" | grep -v '"log_message"')"

# ============================ 2. operator-provided files ===================================
C="$T/certs"
mkdir -p "$C"
# mkcert NAME KEYTYPE: a self-signed certificate for localhost and 127.0.0.1.
mkcert() {
    openssl req -x509 -newkey "$2" -nodes -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -days 2 \
        -keyout "$C/$1.key" -out "$C/$1.pem" >/dev/null 2>&1
}
mkcert hub1 rsa:2048
mkcert hub2 rsa:2048 # the impostor: same name, another key
mkcert api1 ec:<(openssl ecparam -name prime256v1)
mkcert api2 rsa:2048
expect_eq "openssl made four certificates" 4 "$(ls "$C"/*.pem | wc -l)"

# hub_tls_start CERT: the hub over HTTPS on $HPORT with $C/CERT.{pem,key}.
HPORT=$(free_port)
HLOG="$T/hub-tls.log"
hub_tls_start() {
    SESAME_HUB_TLS_CERT="$C/$1.pem" SESAME_HUB_TLS_KEY="$C/$1.key" \
        "$SESAME" hub --addr "127.0.0.1:$HPORT" --data "$T/hubdata" >>"$HLOG" 2>&1 &
    HPID=$!
    HUB_PIDS+=("$HPID")
    wait_within "the hub serves HTTPS with $1" 20 eval \
        "[ \"\$(served_fp 127.0.0.1:$HPORT)\" = \"$(fp_of "$C/$1.pem")\" ]"
}
hub_tls_stop() {
    kill -TERM "$HPID" 2>/dev/null
    wait "$HPID" 2>/dev/null
}
hub_tls_start hub1
export SESAME_HUB="https://127.0.0.1:$HPORT" SESAME_HUB_CA_FILE="$C/hub1.pem"
export SESAME_ACCOUNT_KIT="$T/kit2.json"
cli_ok "account init against the HTTPS hub (CA file = its certificate)" account init --hub "$SESAME_HUB"
cli_ok "vault create" vault create Ops
cli_ok "item create" item create --vault Ops --title first --field username=one
cli_ok "server create, pinning the hub's certificate" connect server create good --vault Ops \
    --out "$T/good.json" --tls-fingerprint "$(fp_of "$C/hub1.pem")"
# (as openssl prints it: upper case, colons between pairs)
cli_ok "server create, pinning another certificate" connect server create bad --vault Ops \
    --out "$T/bad.json" --tls-fingerprint \
    "$(openssl x509 -in "$C/hub2.pem" -noout -fingerprint -sha256 | cut -d= -f2)"
expect_eq "the credentials file holds the fingerprint in lower case without colons" \
    "$(fp_of "$C/hub2.pem")" "$(jq -r .hub.tlsFingerprint "$T/bad.json")"
cli connect server create worse --vault Ops --out "$T/worse.json" --tls-fingerprint "ab:cd"
expect_cli_error "a malformed fingerprint is a usage error" 2
cli connect token create app --server good --vault Ops:r
GOOD_TOKEN=$OUT
cli connect token create app --server bad --vault Ops:r
BAD_TOKEN=$OUT
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$HPORT/v1/account" || true)
expect_eq "plain HTTP to the HTTPS hub gets no HTTP answer" 000 "$code"

# The good server: sync, and the api over HTTPS with the probes on the plain port.
APLAIN=$(free_port)
connect_start sync gsync "$T/good.json" "$T/gx" || { not_ok "sync starts"; finish; exit 1; }
connect_start api gapi "$T/good.json" "$T/gx" OP_HTTPS_PORT=0 OP_HTTP_PORT="$APLAIN" \
    OP_TLS_CERT_FILE="$C/api1.pem" OP_TLS_KEY_FILE="$C/api1.key" ||
    { not_ok "the api starts with TLS"; finish; exit 1; }
ok "the api starts with TLS"
A="https://127.0.0.1:$gapi_PORT"
vault_names() { TOKEN=$GOOD_TOKEN ccurl "$A/v1/vaults" --cacert "$C/api1.pem"; }
ops_listed() { [ "$(body_of "$(vault_names)" | jq -r '.[].name' 2>/dev/null)" = Ops ]; }
wait_within "the api answers GET /v1/vaults over HTTPS (sync pinned the hub)" 20 ops_listed
expect_match "the api logs both ports" "serving HTTPS on port $gapi_PORT .*over HTTP on port $APLAIN" \
    "$(cat "$gapi_LOG")"
ans=$(TOKEN=$GOOD_TOKEN ccurl "http://127.0.0.1:$APLAIN/v1/vaults")
expect_err "the plain port refuses the API with 403" 403 \
    "this Connect server serves its API over HTTPS only (OP_HTTPS_PORT)" "$ans"
expect_eq "the plain port serves /heartbeat" 200 "$(status_of "$(ccurl "http://127.0.0.1:$APLAIN/heartbeat")")"
expect_eq "the plain port serves /health" 200 "$(status_of "$(ccurl "http://127.0.0.1:$APLAIN/health")")"
expect_eq "the plain port serves /metrics" 200 "$(status_of "$(ccurl "http://127.0.0.1:$APLAIN/metrics")")"
expect_eq "the HTTPS port serves /heartbeat" 200 \
    "$(status_of "$(ccurl "$A/heartbeat" --cacert "$C/api1.pem")")"

# Protocol versions and ciphers.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$C/api1.pem" --tlsv1.1 \
    --tls-max 1.1 "$A/heartbeat" || true)
expect_eq "TLS 1.1 is refused" 000 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$C/api1.pem" --tlsv1.2 \
    --tls-max 1.2 "$A/heartbeat" || true)
expect_eq "TLS 1.2 is accepted" 200 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$C/api1.pem" --tlsv1.3 \
    "$A/heartbeat" || true)
expect_eq "TLS 1.3 is accepted" 200 "$code"
out=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$gapi_PORT" -tls1_2 \
    -cipher 'ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256' 2>&1 | grep -c 'Cipher is (NONE)')
expect_eq "CBC cipher suites are refused" 1 "$out"
out=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$gapi_PORT" -tls1_2 2>&1 |
    sed -n 's/^New, TLSv1.2, Cipher is //p')
expect_match "TLS 1.2 negotiates an ECDHE AEAD suite" '^ECDHE-ECDSA-(AES256-GCM-SHA384|CHACHA20-POLY1305|AES128-GCM-SHA256)$' "$out"

# SIGHUP: a new certificate (RSA this time) for the next handshakes; a bad one is refused.
cp "$C/api2.pem" "$T/live.pem" && cp "$C/api2.key" "$T/live.key"
connect_stop gapi
connect_start api gapi "$T/good.json" "$T/gx" OP_HTTPS_PORT=0 OP_HTTP_PORT="$(free_port)" \
    OP_TLS_CERT_FILE="$T/live.pem" OP_TLS_KEY_FILE="$T/live.key" ||
    { not_ok "the api restarts with the live files"; finish; exit 1; }
AP="127.0.0.1:$gapi_PORT"
expect_eq "the api serves the live certificate" "$(fp_of "$C/api2.pem")" "$(served_fp "$AP")"
cp "$C/api1.pem" "$T/live.pem" && cp "$C/api1.key" "$T/live.key"
kill -HUP "$gapi_PID"
wait_within "after SIGHUP the api serves the new certificate" 10 eval \
    "[ \"\$(served_fp $AP)\" = \"$(fp_of "$C/api1.pem")\" ]"
expect_match "the api logs the reload" 'api: SIGHUP: TLS certificate and key reloaded' "$(cat "$gapi_LOG")"
cp "$C/api2.key" "$T/live.key" # does not match api1.pem
kill -HUP "$gapi_PID"
logged_bad() { grep -q 'TLS reload failed, the old certificate stays: the TLS key does not match' "$gapi_LOG"; }
wait_within "a mismatched key on SIGHUP is refused and logged" 10 logged_bad
expect_eq "... and the old certificate keeps serving" "$(fp_of "$C/api1.pem")" "$(served_fp "$AP")"
expect_eq "... and the api still answers" Ops \
    "$(TOKEN=$GOOD_TOKEN ccurl "https://$AP/v1/vaults" --cacert "$C/api1.pem" | body_of "$(cat)" | jq -r '.[].name' 2>/dev/null)"
A="https://$AP"
kill -HUP "$HPID"
wait_within "the hub reloads on SIGHUP too" 10 grep -q 'hub: SIGHUP: TLS certificate and key reloaded' "$HLOG"

# A credentials file pinning another certificate: sync refuses the hub.
connect_start sync bsync "$T/bad.json" "$T/bx" || { not_ok "the second sync starts"; finish; exit 1; }
connect_start api bapi "$T/bad.json" "$T/bx" OP_SYNC_TIMEOUT=2s ||
    { not_ok "the second api starts"; finish; exit 1; }
ans=$(TOKEN=$BAD_TOKEN ccurl "$bapi_URL/v1/vaults")
expect_eq "a server pinning another certificate never syncs (500 after OP_SYNC_TIMEOUT)" 500 "$(status_of "$ans")"
pin_refused() { grep -q 'not trusted (or not the pinned one)' "$bsync_LOG"; }
wait_within "its sync logs that the hub's certificate is not the pinned one" 10 pin_refused
expect_eq "nothing of the vault reached its volume" "" \
    "$(sqlite3 "$T/bx/.op/data/"*.db 'select count(*) from items' 2>/dev/null | grep -v '^0$' || true)"
connect_stop bapi
connect_stop bsync

# The impostor: the hub restarted on the same address with another certificate.
item_count() { TOKEN=$GOOD_TOKEN ccurl "$A/v1/vaults/$VID/items" --cacert "$C/api1.pem" | sed 1d | jq length 2>/dev/null; }
VID=$(TOKEN=$GOOD_TOKEN ccurl "$A/v1/vaults" --cacert "$C/api1.pem" | sed 1d | jq -r '.[0].id')
expect_eq "the good server holds one item" 1 "$(item_count)"
hub_tls_stop
: >"$HLOG"
hub_tls_start hub2
SESAME_HUB_CA_FILE="$C/hub2.pem" cli item create --vault Ops --title second --field username=two
expect_eq "an item is created through the impostor (the CLI trusts it)" 0 "$RC"
impostor_refused() { [ "$(grep -c 'not trusted (or not the pinned one)' "$gsync_LOG")" -ge 1 ]; }
wait_within "sync refuses the impostor hub (pin mismatch logged)" 40 impostor_refused
sleep 1
expect_eq "nothing from the impostor reaches the api" 1 "$(item_count)"
hub_tls_stop
hub_tls_start hub1
two_items() { [ "$(item_count)" = 2 ]; }
wait_within "with the real hub back, sync resumes (the item made meanwhile arrives)" 60 two_items

# Start-up errors are one clear line.
RC=0
ERR=$(OP_SESSION="$T/good.json" XDG_DATA_HOME="$T/ex" OP_HTTP_PORT=0 OP_HTTPS_PORT=0 \
    OP_TLS_CERT_FILE="$C/none.pem" OP_TLS_KEY_FILE="$C/api1.key" "$SESAME" api 2>&1 | grep -v '"log_message"') || RC=$?
expect_match "an api with a missing certificate file exits with a clear line" \
    '^sesame: api: cannot serve HTTPS on port 0' "$ERR"
ERR=$(OP_SESSION="$T/good.json" XDG_DATA_HOME="$T/ex" OP_HTTP_PORT=0 \
    OP_TLS_CERT_FILE="$C/api1.pem" "$SESAME" api 2>&1 | grep -v '"log_message"')
expect_eq "an api with a certificate but no key says so" \
    "sesame: api: OP_TLS_CERT_FILE and OP_TLS_KEY_FILE: set both or neither" "$ERR"
ERR=$(OP_SESSION="$T/good.json" XDG_DATA_HOME="$T/ex" OP_HTTP_PORT=0 OP_TLS_DOMAIN=example.com \
    "$SESAME" api 2>&1 | grep -v '"log_message"')
expect_match "Let's Encrypt is refused with a clear line" "^sesame: api: OP_TLS_USE_LETSENCRYPT / OP_TLS_DOMAIN alone" "$ERR"
ERR=$(SESAME_HUB_TLS_CERT="$C/hub1.pem" "$SESAME" hub --addr 127.0.0.1:0 --data "$T/h3" 2>&1 | grep -v '"log_message"')
expect_match "a hub with a certificate but no key says so" 'SESAME_HUB_TLS_CERT and SESAME_HUB_TLS_KEY: set both or neither' "$ERR"

expect_clean_logs "no sanitizer report" "$D"/logs/*.log "$T"/up*.err "$HLOG" "$T"/*.log
finish
