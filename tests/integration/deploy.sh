#!/usr/bin/env bash
# deploy.sh - the deployment material in deploy/ (docs/deployment.md), parsed and then run.
#
# 1. Parsed and checked on values: deploy/docker-compose.yml, deploy/k8s/connect.yaml and
#    deploy/k8s/hub.yaml (YAML read by the `yaml` npm package, pinned in
#    tests/deploy/package.json, installed with npm like connect_sdk.sh installs the SDK;
#    tests/deploy/yaml2json.mjs), deploy/Dockerfile (every FROM is Debian 12, USER 999, the
#    runtime packages provide every shared library `ldd $SESAME_BINARY` lists, the build
#    stage installs the build packages of scripts/install-deps.sh), the systemd units
#    (read as INI here; `systemd-analyze verify` and `security --offline` when the tool
#    exists).
# 2. Run: for the compose file, the Kubernetes manifests and the systemd units, each
#    service's / container's / unit's command and environment are taken from the parsed
#    file and the real binary is started with exactly those variables; an account, a vault,
#    an item, a Connect server and a token are made with the admin CLI; the credentials
#    file goes where the file says (for Kubernetes OP_SESSION is the file in base64, as the
#    op-credentials Secret gives it); then the probes the file declares must answer 200 on
#    the declared ports and paths, GET /v1/vaults with the token must list the vault, sync
#    must report 1Password ACTIVE (so the bus the file sets up works), and every process
#    must stop cleanly on SIGTERM.
#
# WHAT IS REMAPPED to run on this machine (nothing else is changed or added):
#   - the filesystem: every container gets its own root directory R under $T/<scenario>
#     (the three systemd units share one: one machine), and an absolute path P from the
#     file (a variable's value, a mount point, a unit's %S = /var/lib and
#     %d = /run/credentials/UNIT) becomes R/P. A mount (compose volume, Kubernetes
#     volumeMount) is a symbolic link R/MOUNTPOINT to the volume's directory under
#     $T/<scenario> (a named volume gets the mode the image gives its mount point, 0700; an
#     emptyDir or PVC 0777 as the kubelet makes it); a bind mount links to the file in the
#     test's stand-in for the compose project directory, where the credentials file is put.
#     For the units, what systemd would do is done by hand: StateDirectory= made 0700,
#     LoadCredential= copied to R/run/credentials/UNIT/, the EnvironmentFile=s installed
#     from the *.env.example files. The Dockerfile's WORKDIR is the working directory.
#   - the executable: `sesame` (the image's ENTRYPOINT / the container command) and
#     /usr/local/bin/sesame (the units' ExecStart) are $SESAME_BINARY.
#   - ports: every port a process listens on (OP_HTTP_PORT, OP_BUS_PORT, the port of
#     SESAME_HUB_ADDR) is a free port, one per (network namespace, declared port): a compose
#     service or a unit host is one namespace, the Kubernetes pod one, the hub's pod
#     another. api and sync also get `--http-addr 127.0.0.1` and the hub's
#     SESAME_HUB_ADDR host 0.0.0.0 becomes 127.0.0.1 (loopback only; the bus port still
#     binds every interface for the few seconds of the test, as sync has no flag for it).
#   - host names: a compose service name, a Kubernetes Service name (through its port and
#     targetPort) and `localhost` in a value (OP_BUS_PEERS, SESAME_HUB) become 127.0.0.1
#     with the mapped port of the process they name.
#   - the environment: the processes get exactly the file's variables (plus the image's
#     ENV from the Dockerfile for compose and Kubernetes) and, from the test's own
#     environment, only PATH and the sanitizer options.
# The Kubernetes init container is run too (it chowns the emptyDir) when the test runs as
# root; docker, a cluster and systemd as PID 1 are not available here. A port picked free
# but taken by another process before ours binds it reruns that scenario once.
set -uo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/connect_lib.bash"
. "$(dirname "$0")/npm_lib.bash"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
SESAME=$(readlink -f "$SESAME") # the processes run in other directories
DEPLOY=$SRC/deploy
YAML_VERSION=$(jq -r '.dependencies.yaml' "$SRC/tests/deploy/package.json")
REAL_HOME=${HOME:-/tmp}
JS_DIR=${SESAME_DEPLOY_JS_DIR:-$REAL_HOME/.cache/sesame-deploy-js}
SANITIZER_ENV=()
for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
    [ -n "${!v:-}" ] && SANITIZER_ENV+=("$v=${!v}")
done

# A build without hubreq skips (hub_test_init says so) before anything is installed.
if [ -z "$HUBREQ" ] || [ ! -x "$HUBREQ" ]; then hub_test_init; fi

# ---- the yaml package (before hub_test_init: npm keeps the real HOME and cache) -----------
yaml_version() {
    node -e 'const r = require("module").createRequire(process.argv[1] + "/");
        process.stdout.write(r("yaml/package.json").version);' "$JS_DIR" 2>/dev/null || true
}
# npm installs what the pinned package.json lists (copied in when the version differs)
[ "$(yaml_version)" = "$YAML_VERSION" ] ||
    { mkdir -p "$JS_DIR" && cp "$SRC/tests/deploy/package.json" "$JS_DIR/package.json"; }
npm_ensure "yaml@$YAML_VERSION" "$JS_DIR" "$YAML_VERSION" yaml_version

hub_test_init
unset OP_SESSION XDG_DATA_HOME OP_HTTP_PORT OP_BUS_PORT OP_BUS_PEERS SESAME_BUS_SOCKET

# yj FILE...: the YAML documents of the files as one JSON array (yaml2json.mjs); a parse
# error, a warning or a YAML 1.1/1.2 difference is a failure (its message on stderr).
yj() {
    SESAME_DEPLOY_JS_DIR="$JS_DIR" node "$SRC/tests/deploy/yaml2json.mjs" "$@"
}
jqr() { printf '%s' "$1" | jq -r "$2" 2>/dev/null || true; }
jqc() { printf '%s' "$1" | jq -c "$2" 2>/dev/null || true; }

# =========================================================================================
# 1. Parsed and checked
# =========================================================================================

# ---- the Dockerfile ---------------------------------------------------------------------
DF=$DEPLOY/Dockerfile
# Logical lines (continuations joined), comments dropped.
DFL=$(sed -e 's/^[[:space:]]*#.*$//' "$DF" | sed -e ':a' -e '/\\$/{N;s/\\\n/ /;ba}' |
    grep -v '^[[:space:]]*$' | tr -s ' ')
froms=$(grep -E '^FROM ' <<<"$DFL" | awk '{print $2}' | tr '\n' ' ')
expect_eq "Dockerfile: two stages, debian:12 builder and debian:12-slim runtime" \
    "debian:12 debian:12-slim " "$froms"
bad_from=$(grep -E '^FROM ' <<<"$DFL" | grep -vE '^FROM (debian:(12|bookworm)(-slim)?)( AS [a-z]+)?$' || true)
expect_eq "Dockerfile: every FROM is pinned to Debian 12 (bookworm)" "" "$bad_from"
RUNTIME=$(awk '/^FROM /{n++} n==2' <<<"$DFL")
BUILD=$(awk '/^FROM /{n++} n==1' <<<"$DFL")
expect_eq "Dockerfile: the last USER is 999:999" "999:999" "$(grep -E '^USER ' <<<"$RUNTIME" | tail -1 | awk '{print $2}')"
IMAGE_ENTRYPOINT=$(grep -E '^ENTRYPOINT ' <<<"$RUNTIME" | tail -1 | sed 's/^ENTRYPOINT //')
expect_eq "Dockerfile: ENTRYPOINT [\"sesame\"]" '["sesame"]' "$(jqc "$IMAGE_ENTRYPOINT" .)"
IMAGE_WORKDIR=$(grep -E '^WORKDIR ' <<<"$RUNTIME" | tail -1 | awk '{print $2}')
expect_eq "Dockerfile: WORKDIR /home/opuser" /home/opuser "$IMAGE_WORKDIR"
# The image's environment (ENV k=v ...), as NAME=VALUE lines.
IMAGE_ENV=$(grep -E '^ENV ' <<<"$RUNTIME" | sed 's/^ENV //' | tr ' ' '\n' | grep '=' || true)
expect_eq "Dockerfile: ENV HOME=/home/opuser XDG_DATA_HOME=/home/opuser" \
    "HOME=/home/opuser XDG_DATA_HOME=/home/opuser" "$(tr '\n' ' ' <<<"$IMAGE_ENV" | sed 's/ $//')"
expect_match "Dockerfile: the binary is copied from the build stage to /usr/local/bin/sesame" \
    '^COPY --from=build /build/sesame /usr/local/bin/sesame$' "$(grep -E '^COPY ' <<<"$RUNTIME")"
expect_match "Dockerfile: the build stage builds the sesame target in Release" \
    'cmake -S \. -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build /build --target sesame' "$BUILD"
expect_match "Dockerfile: user and group 999 opuser, home /home/opuser" \
    'groupadd --gid 999 opuser && useradd --uid 999 --gid 999 --home-dir /home/opuser ' "$RUNTIME"
expect_match "Dockerfile: /home/opuser/.op/data and /home/opuser/hub made 0700, owned by 999" \
    'install -d -m 0700 -o 999 -g 999 /home/opuser /home/opuser/.op /home/opuser/.op/data /home/opuser/hub' "$RUNTIME"

IMAGE_DIRS_0700=$(grep -oE 'install -d -m 0700 -o 999 -g 999 [^&]*' <<<"$RUNTIME" |
    sed 's/install -d -m 0700 -o 999 -g 999 //')

# apt_packages STAGE: the packages of the stage's `apt-get install ... --no-install-recommends`.
apt_packages() {
    grep -oE 'apt-get install -y --no-install-recommends [^&]*' <<<"$1" |
        sed 's/apt-get install -y --no-install-recommends //' | tr ' ' '\n' | grep -v '^$' | sort -u
}
RUNTIME_PKGS=$(apt_packages "$RUNTIME")
BUILD_PKGS=$(apt_packages "$BUILD")
expect_eq "Dockerfile: the runtime stage installs no -dev package" "" \
    "$(grep -E -- '-dev$' <<<"$RUNTIME_PKGS" | tr '\n' ' ')"
# The build stage needs the build tools and every header package of install-deps.sh (its
# "build" and "runtime libraries" groups; clang-format only formats) and cmocka
# (CMakeLists.txt requires it).
want_build=$(sed -n '/^PACKAGES=(/,/^)/p' "$SRC/scripts/install-deps.sh" |
    sed -n '/# build/,/# tests/p' | grep -v '#' | tr ' ' '\n' | grep -E '^[a-z0-9.+-]+$' |
    grep -vx clang-format)
missing=$(comm -23 <(printf '%s\nlibcmocka-dev\n' "$want_build" | sort -u) <(printf '%s\n' "$BUILD_PKGS"))
expect_eq "Dockerfile: the build stage installs the build packages of install-deps.sh and cmocka" "" \
    "$(printf '%s' "$missing" | tr '\n' ' ')"

# Every library the binary loads comes from a runtime package or one of its dependencies
# (Depends/Pre-Depends, transitively, as this Debian 12 system has them installed), or from
# the slim image's base (the Priority: required packages). A sanitizer build's runtime
# (libasan, libubsan and their libstdc++) is not part of a release image and is left out.
if ! command -v dpkg-query >/dev/null 2>&1; then
    ok "Dockerfile libraries: skipped (no dpkg-query: not a Debian system)"
else
    declare -A CLOSURE=()
    queue=()
    for p in $RUNTIME_PKGS $(dpkg-query -W -f='${Package} ${Priority}\n' 2>/dev/null |
        awk '$2 == "required" {print $1}'); do
        queue+=("$p")
    done
    while [ ${#queue[@]} -gt 0 ]; do
        p=${queue[0]}
        queue=("${queue[@]:1}")
        [ -n "${CLOSURE[$p]:-}" ] && continue
        CLOSURE[$p]=1
        deps=$(dpkg-query -W -f='${Depends}, ${Pre-Depends}' "$p" 2>/dev/null || true)
        IFS=',' read -ra alts <<<"$deps"
        for a in "${alts[@]}"; do
            # "x (>= 1) | y": the first alternative installed here
            IFS='|' read -ra choice <<<"$a"
            for c in "${choice[@]}"; do
                c=$(sed -e 's/([^)]*)//g' -e 's/:any//' <<<"$c" | tr -d ' ')
                [ -n "$c" ] || continue
                if dpkg-query -W -f='${Status}' "$c" 2>/dev/null | grep -q 'install ok installed'; then
                    queue+=("$c")
                    break
                fi
            done
        done
    done
    asan=$(readelf -d "$SESAME" 2>/dev/null | grep -c 'NEEDED.*libasan' || true)
    uncovered=
    nlibs=0
    while read -r lib; do
        [ -n "$lib" ] || continue
        pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true)
        pkg=${pkg%%:*}
        if [ "$asan" != 0 ] && [[ "$pkg" =~ ^(libasan[0-9]*|libubsan[0-9]*|libstdc\+\+6)$ ]]; then
            continue
        fi
        nlibs=$((nlibs + 1))
        if [ -z "$pkg" ] || [ -z "${CLOSURE[$pkg]:-}" ]; then uncovered="$uncovered $lib(${pkg:-?})"; fi
    done < <(ldd "$SESAME" | awk '/=> \//{print $3} /^[[:space:]]*\/.*ld-linux/{print $1}')
    if [ "$nlibs" -gt 5 ] && [ -z "$uncovered" ]; then
        ok "Dockerfile: the runtime packages provide all $nlibs libraries ldd lists"
    else
        not_ok "Dockerfile: libraries the runtime image lacks ($nlibs checked):$uncovered"
    fi
fi
dockerignore=$(grep -v '^#' "$SRC/.dockerignore" 2>/dev/null | tr '\n' ' ')
expect_match "the .dockerignore of the build context keeps build trees and .git out" \
    '(^| )\.git .*build build-\* ' "$dockerignore"

# ---- docker-compose.yml -----------------------------------------------------------------
COMPOSE=$(yj "$DEPLOY/docker-compose.yml") && ok "docker-compose.yml parses (YAML 1.1 and 1.2 alike)" ||
    not_ok "docker-compose.yml parses"
COMPOSE=$(jqc "$COMPOSE" '.[0]')
cs() { jqc "$COMPOSE" ".services[\"$1\"]$2"; }
# cenv SERVICE: the service's environment as NAME=VALUE lines (map or list form).
cenv() {
    jqr "$COMPOSE" ".services[\"$1\"].environment // {} |
        if type == \"array\" then .[] else to_entries[] | select(.value != null) |
        \"\(.key)=\(.value)\" end"
}
expect_eq "compose: services op-connect-api, op-connect-sync, sesame-hub" \
    '["op-connect-api","op-connect-sync","sesame-hub"]' "$(jqc "$COMPOSE" '.services | keys')"
for s in op-connect-api op-connect-sync sesame-hub; do
    expect_eq "compose: $s runs sesame:latest built from deploy/Dockerfile (context ..)" \
        '{"image":"sesame:latest","context":"..","dockerfile":"deploy/Dockerfile"}' \
        "$(jqc "$COMPOSE" ".services[\"$s\"] | {image, context: .build.context, dockerfile: .build.dockerfile}")"
    expect_eq "compose: $s runs as 999:999, read-only, no capabilities, no new privileges" \
        '{"cap_drop":["ALL"],"read_only":true,"security_opt":["no-new-privileges:true"],"user":"999:999"}' \
        "$(jqc "$COMPOSE" ".services[\"$s\"] | {cap_drop, read_only, security_opt, user}")"
done
expect_eq "compose: the build context and dockerfile name deploy/Dockerfile" "$(readlink -f "$DF")" \
    "$(readlink -f "$DEPLOY/$(jqr "$COMPOSE" '.services["op-connect-api"].build.context')/$(jqr "$COMPOSE" '.services["op-connect-api"].build.dockerfile')")"
expect_eq "compose: commands api, sync, hub" '["api"] ["sync"] ["hub"]' \
    "$(cs op-connect-api .command) $(cs op-connect-sync .command) $(cs sesame-hub .command)"
for s in op-connect-api op-connect-sync; do
    expect_eq "compose: $s has Connect's variables" \
        "OP_SESSION=/home/opuser/.op/1password-credentials.json XDG_DATA_HOME=/home/opuser OP_HTTP_PORT=8080" \
        "$(cenv "$s" | grep -E '^(OP_SESSION|XDG_DATA_HOME|OP_HTTP_PORT)=' | tr '\n' ' ' | sed 's/ $//')"
    expect_eq "compose: $s mounts the credentials file read-only and the shared volume" \
        '["./1password-credentials.json:/home/opuser/.op/1password-credentials.json:ro","data:/home/opuser/.op/data"]' \
        "$(cs "$s" .volumes)"
done
expect_eq "compose: only the api's 8080 is published" '["8080:8080"] null' \
    "$(cs op-connect-api .ports) $(cs op-connect-sync .ports)"
expect_eq "compose: the hub is published on the host's loopback only" '["127.0.0.1:7700:7700"]' \
    "$(cs sesame-hub .ports)"
expect_eq "compose: the hub listens on 7700 with its database on the named volume hub-data" \
    'SESAME_HUB_ADDR=0.0.0.0:7700 SESAME_HUB_DATA=/home/opuser/hub/data ["hub-data:/home/opuser/hub"]' \
    "$(cenv sesame-hub | tr '\n' ' ')$(cs sesame-hub .volumes)"
expect_eq "compose: sync reaches the hub by its service name" "SESAME_HUB=http://sesame-hub:7700" \
    "$(cenv op-connect-sync | grep '^SESAME_HUB=')"
expect_eq "compose: named volumes data and hub-data" '["data","hub-data"]' "$(jqc "$COMPOSE" '.volumes | keys')"
expect_eq "compose: api after sync after hub" '["op-connect-sync"] ["sesame-hub"]' \
    "$(cs op-connect-api .depends_on) $(cs op-connect-sync .depends_on)"

# ---- Kubernetes --------------------------------------------------------------------------
K_CONNECT=$(yj "$DEPLOY/k8s/connect.yaml") && ok "k8s/connect.yaml parses (YAML 1.1 and 1.2 alike)" ||
    not_ok "k8s/connect.yaml parses"
K_HUB=$(yj "$DEPLOY/k8s/hub.yaml") && ok "k8s/hub.yaml parses (YAML 1.1 and 1.2 alike)" ||
    not_ok "k8s/hub.yaml parses"
expect_eq "k8s/connect.yaml: a Deployment and a Service" '["Deployment","Service"]' "$(jqc "$K_CONNECT" 'map(.kind)')"
expect_eq "k8s/hub.yaml: a StatefulSet and a Service" '["StatefulSet","Service"]' "$(jqc "$K_HUB" 'map(.kind)')"
DEP=$(jqc "$K_CONNECT" '.[0]')
POD=$(jqc "$DEP" '.spec.template.spec')
kc() { jqc "$POD" ".containers[] | select(.name == \"$1\") | $2"; }
kenv() { jqr "$POD" ".containers[] | select(.name == \"$1\") | .env[] | select(.name == \"$2\") | .value"; }
expect_eq "k8s: one replica; containers connect-api and connect-sync" '1 ["connect-api","connect-sync"]' \
    "$(jqr "$DEP" .spec.replicas) $(jqc "$POD" '[.containers[].name]')"
expect_eq "k8s: the selector matches the pod's labels" true \
    "$(jqr "$DEP" '.spec.selector.matchLabels as $m | .spec.template.metadata.labels | contains($m)')"
expect_eq "k8s: shared-data is an emptyDir" '{}' "$(jqc "$POD" '.volumes[] | select(.name == "shared-data") | .emptyDir')"
expect_eq "k8s: no service account token in the pod" false "$(jqr "$POD" .automountServiceAccountToken)"
for c in connect-api connect-sync; do
    if [ $c = connect-api ]; then http=8080 bus=11220 peer=11221 role=api; else http=8081 bus=11221 peer=11220 role=sync; fi
    expect_eq "k8s: $c runs sesame $role" "[\"sesame\",\"$role\"]" "$(kc $c .command)"
    expect_eq "k8s: $c mounts shared-data at /home/opuser/.op/data" '"/home/opuser/.op/data"' \
        "$(kc $c '.volumeMounts[] | select(.name == "shared-data") | .mountPath')"
    expect_eq "k8s: $c XDG_DATA_HOME, OP_HTTP_PORT, OP_BUS_PORT, OP_BUS_PEERS" \
        "/home/opuser $http $bus localhost:$peer" \
        "$(kenv $c XDG_DATA_HOME) $(kenv $c OP_HTTP_PORT) $(kenv $c OP_BUS_PORT) $(kenv $c OP_BUS_PEERS)"
    expect_eq "k8s: $c takes OP_SESSION from secret op-credentials, key op-session" \
        '{"name":"op-credentials","key":"op-session"}' \
        "$(kc $c '.env[] | select(.name == "OP_SESSION") | .valueFrom.secretKeyRef')"
    expect_eq "k8s: $c liveness GET /heartbeat and readiness GET /health on $http" \
        "{\"path\":\"/heartbeat\",\"port\":$http} {\"path\":\"/health\",\"port\":$http}" \
        "$(kc $c .livenessProbe.httpGet) $(kc $c .readinessProbe.httpGet)"
    expect_eq "k8s: $c declares containerPort $http" "$http" "$(kc $c '.ports[0].containerPort')"
    expect_eq "k8s: $c runs as 999, read-only root, no privilege escalation, no capabilities" \
        '{"allowPrivilegeEscalation":false,"drop":["ALL"],"readOnlyRootFilesystem":true,"runAsNonRoot":true,"runAsUser":999}' \
        "$(kc $c '.securityContext | {allowPrivilegeEscalation, drop: .capabilities.drop, readOnlyRootFilesystem, runAsNonRoot, runAsUser}')"
    expect_eq "k8s: $c has cpu and memory requests and limits" true \
        "$(kc $c '[.resources.requests.cpu, .resources.requests.memory, .resources.limits.cpu, .resources.limits.memory] | all(. != null)')"
done
expect_eq "k8s: sync reaches the hub through hub.yaml's Service" "http://sesame-hub:7700" "$(kenv connect-sync SESAME_HUB)"
INIT=$(jqc "$POD" '.initContainers[0]')
expect_eq "k8s: the init container only chowns and chmods the shared volume, with CHOWN and FOWNER" \
    '["CHOWN","FOWNER"] /home/opuser/.op/data' \
    "$(jqc "$INIT" .securityContext.capabilities.add) $(jqr "$INIT" '.volumeMounts[0].mountPath')"
CSVC=$(jqc "$K_CONNECT" '.[1]')
expect_eq "k8s: the Service sends 8080 to the api's containerPort" '8080 8080' \
    "$(jqr "$CSVC" '.spec.ports[0].port') $(jqr "$CSVC" '.spec.ports[0].targetPort')"
expect_eq "k8s: the Service selects the Connect pod" true \
    "$(jq -rn --argjson s "$CSVC" --argjson d "$DEP" '$d.spec.template.metadata.labels | contains($s.spec.selector)')"
STS=$(jqc "$K_HUB" '.[0]')
HPOD=$(jqc "$STS" '.spec.template.spec')
HSVC=$(jqc "$K_HUB" '.[1]')
expect_eq "k8s hub: one replica of container hub running sesame hub" '1 hub ["sesame","hub"]' \
    "$(jqr "$STS" .spec.replicas) $(jqr "$HPOD" '.containers[0].name') $(jqc "$HPOD" '.containers[0].command')"
expect_eq "k8s hub: SESAME_HUB_ADDR=0.0.0.0:7700, data under the PVC hub-data at /home/opuser/hub" \
    '0.0.0.0:7700 /home/opuser/hub/data hub-data /home/opuser/hub hub-data' \
    "$(jqr "$HPOD" '.containers[0] | [(.env[] | select(.name == "SESAME_HUB_ADDR") .value), (.env[] | select(.name == "SESAME_HUB_DATA") .value), .volumeMounts[0].name, .volumeMounts[0].mountPath] | join(" ")') $(jqr "$STS" '.spec.volumeClaimTemplates[0].metadata.name')"
expect_eq "k8s hub: TCP probes on 7700" '7700 7700' \
    "$(jqr "$HPOD" '.containers[0].livenessProbe.tcpSocket.port') $(jqr "$HPOD" '.containers[0].readinessProbe.tcpSocket.port')"
expect_eq "k8s hub: runs as 999, read-only root, no privilege escalation" '999 true false' \
    "$(jqr "$HPOD" '.containers[0].securityContext | [.runAsUser, .readOnlyRootFilesystem, .allowPrivilegeEscalation] | map(tostring) | join(" ")')"
expect_eq "k8s hub: Service sesame-hub on 7700 to 7700, selecting the hub pod" 'sesame-hub 7700 7700 true' \
    "$(jqr "$HSVC" '.metadata.name') $(jqr "$HSVC" '.spec.ports[0].port') $(jqr "$HSVC" '.spec.ports[0].targetPort') $(jq -rn --argjson s "$HSVC" --argjson d "$STS" '$d.spec.template.metadata.labels | contains($s.spec.selector)')"

# ---- systemd units -------------------------------------------------------------------------
SD=$DEPLOY/systemd
# unit_get FILE SECTION KEY: every value of KEY in [SECTION], one a line (comments and
# blank lines skipped, continuation lines joined, an empty assignment resets the list).
unit_get() {
    sed -e ':a' -e '/\\$/{N;s/\\\n/ /;ba}' "$1" | awk -v sec="[$2]" -v key="$3" '
        /^[[:space:]]*[#;]/ || /^[[:space:]]*$/ { next }
        /^\[/ { cur = $0; next }
        cur == sec {
            i = index($0, "="); if (i == 0) next
            k = substr($0, 1, i - 1); v = substr($0, i + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", k); gsub(/^[ \t]+/, "", v)
            if (k != key) next
            if (v == "") { n = 0; next }
            vals[n++] = v
        }
        END { for (j = 0; j < n; j++) print vals[j] }'
}
ug() { unit_get "$SD/$1" Service "$2" | tr '\n' ' ' | sed 's/ $//'; }
# uenv UNIT NAME: the value of NAME in the unit's Environment= lines.
uenv() { unit_get "$SD/$1" Service Environment | sed -n "s/^$2=//p" | tail -1; }
HUBU=sesame-hub.service APIU=sesame-connect-api.service SYNCU=sesame-connect-sync.service
expect_eq "systemd: ExecStart of the three units" \
    "/usr/local/bin/sesame hub|/usr/local/bin/sesame api|/usr/local/bin/sesame sync" \
    "$(ug $HUBU ExecStart)|$(ug $APIU ExecStart)|$(ug $SYNCU ExecStart)"
for u in $HUBU $APIU $SYNCU; do
    expect_eq "systemd: $u: DynamicUser, NoNewPrivileges, ProtectSystem=strict, ProtectHome, PrivateTmp, PrivateDevices, no capabilities" \
        "yes yes strict yes yes yes ." \
        "$(ug $u DynamicUser) $(ug $u NoNewPrivileges) $(ug $u ProtectSystem) $(ug $u ProtectHome) $(ug $u PrivateTmp) $(ug $u PrivateDevices) .$(ug $u CapabilityBoundingSet)"
    expect_eq "systemd: $u has a 0700 StateDirectory and UMask 0077" "0700 0077" \
        "$(ug $u StateDirectoryMode) $(ug $u UMask)"
done
expect_eq "systemd: the hub listens on 127.0.0.1:7700, data in its StateDirectory" \
    "127.0.0.1:7700 %S/sesame-hub sesame-hub" \
    "$(uenv $HUBU SESAME_HUB_ADDR) $(uenv $HUBU SESAME_HUB_DATA) $(ug $HUBU StateDirectory)"
expect_eq "systemd: the api wants and comes after the sync unit" "yes yes" \
    "$(unit_get "$SD/$APIU" Unit Wants | grep -qw $SYNCU && echo yes) $(unit_get "$SD/$APIU" Unit After | grep -qw $SYNCU && echo yes)"
expect_eq "systemd: api and sync share the dynamic user, the state directory, the volume and the credentials" \
    "$(ug $SYNCU User)|$(ug $SYNCU StateDirectory)|$(uenv $SYNCU XDG_DATA_HOME)|$(uenv $SYNCU OP_SESSION)|$(ug $SYNCU LoadCredential)" \
    "$(ug $APIU User)|$(ug $APIU StateDirectory)|$(uenv $APIU XDG_DATA_HOME)|$(uenv $APIU OP_SESSION)|$(ug $APIU LoadCredential)"
expect_eq "systemd: the volume is the state directory, OP_SESSION the loaded credential" \
    "%S/sesame-connect sesame-connect %d/1password-credentials.json 1password-credentials.json:/etc/sesame/1password-credentials.json" \
    "$(uenv $SYNCU XDG_DATA_HOME) $(ug $SYNCU StateDirectory) $(uenv $SYNCU OP_SESSION) $(ug $SYNCU LoadCredential)"
expect_eq "systemd: api on 8080, sync on 8081, sync to the hub unit's address" \
    "8080 8081 http://$(uenv $HUBU SESAME_HUB_ADDR)" \
    "$(uenv $APIU OP_HTTP_PORT) $(uenv $SYNCU OP_HTTP_PORT) $(uenv $SYNCU SESAME_HUB)"
for f in hub.env.example connect.env.example; do
    expect_eq "systemd: $f only holds comments (the units work without it)" "" \
        "$(grep -vE '^[[:space:]]*(#|$)' "$SD/$f" || true)"
done
if command -v systemd-analyze >/dev/null 2>&1; then
    # The units as installed, with ExecStart pointing at this build (verify checks that the
    # executable exists).
    mkdir -p "$T/units"
    for u in $HUBU $APIU $SYNCU; do
        sed "s#^ExecStart=/usr/local/bin/sesame #ExecStart=$SESAME #" "$SD/$u" >"$T/units/$u"
    done
    out=$(cd "$T/units" && systemd-analyze verify ./$HUBU ./$APIU ./$SYNCU 2>&1)
    rc=$?
    expect_eq "systemd-analyze verify: no error or warning" "0 " "$rc $out"
    for u in $HUBU $APIU $SYNCU; do
        out=$(cd "$T/units" && systemd-analyze security --offline=true --threshold=20 --no-pager "./$u" 2>&1)
        rc=$?
        level=$(grep -oE 'Overall exposure level for [^:]*: [0-9.]+' <<<"$out" | awk '{print $NF}')
        expect_eq "systemd-analyze security: $u exposure at most 2.0 (got ${level:-?})" 0 "$rc"
    done
else
    ok "systemd-analyze verify: skipped (systemd-analyze is not installed)"
fi

# =========================================================================================
# 2. Run
# =========================================================================================
PORTMAP=       # a file of "NAMESPACE:PORT FREEPORT" lines (one per scenario; a file, as
declare -A PROC_PID=() PROC_LOG=() # port_of also runs in subshells)
PROCS=()

# listen_port: a free loopback port below the kernel's ephemeral range (where outgoing
# connections - the api's bus client, other tests' clients - take their source ports), or
# free_port's pick when that range leaves no room.
EPHEMERAL_LOW=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 0)
listen_port() {
    local p i
    if [ "${EPHEMERAL_LOW:-0}" -le 21000 ]; then
        free_port
        return
    fi
    for i in $(seq 1 50); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % (EPHEMERAL_LOW - 20000)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# port_of NS PORT: the free port standing for PORT in network namespace NS.
port_of() {
    local k="$1:$2" p
    p=$(awk -v k="$k" '$1 == k {print $2}' "$PORTMAP")
    if [ -z "$p" ]; then
        while :; do
            p=$(listen_port) || return 1
            awk -v p="$p" '$2 == p {f = 1} END {exit !f}' "$PORTMAP" || break
        done
        echo "$k $p" >>"$PORTMAP"
    fi
    printf '%s' "$p"
}

# ROUTE[host:port as written in a value] = "NS:PORT" of the process it reaches (a compose
# service name, a Kubernetes Service); localhost/127.0.0.1 stay in the caller's namespace.
declare -A ROUTE=()

# remap NS ROOT NAME VALUE: prints VALUE as it must be on this machine (see the header).
remap() {
    local ns=$1 root=$2 name=$3 v=$4 out="" e host port rest scheme parts
    case $name in
    OP_HTTP_PORT | OP_BUS_PORT | OP_HTTPS_PORT)
        port_of "$ns" "$v"
        return
        ;;
    SESAME_HUB_ADDR)
        printf '127.0.0.1:%s' "$(port_of "$ns" "${v##*:}")"
        return
        ;;
    esac
    if [[ $v == /* ]]; then
        printf '%s%s' "$root" "$v"
        return
    fi
    # a URL or a list of host:port entries
    if [[ $v =~ ^(https?://)([^/:]+):([0-9]+)(.*)$ ]]; then
        scheme=${BASH_REMATCH[1]} host=${BASH_REMATCH[2]} port=${BASH_REMATCH[3]} rest=${BASH_REMATCH[4]}
        printf '%s127.0.0.1:%s%s' "$scheme" "$(route "$ns" "$host" "$port")" "$rest"
        return
    fi
    if [[ $v =~ ^[A-Za-z0-9.-]+:[0-9]+(,[A-Za-z0-9.-]+:[0-9]+)*$ ]]; then
        IFS=',' read -ra parts <<<"$v"
        for e in "${parts[@]}"; do
            out="$out${out:+,}127.0.0.1:$(route "$ns" "${e%%:*}" "${e##*:}")"
        done
        printf '%s' "$out"
        return
    fi
    printf '%s' "$v"
}

# route NS HOST PORT: the mapped port HOST:PORT reaches from namespace NS.
route() {
    local ns=$1 host=$2 port=$3 target
    case $host in
    localhost | 127.0.0.1) port_of "$ns" "$port" ;;
    *)
        target=${ROUTE[$host:$port]:-}
        if [ -z "$target" ]; then
            echo "# no route to $host:$port" >&2
            printf '1'
            return
        fi
        port_of "${target%%:*}" "${target##*:}"
        ;;
    esac
}

# start_proc NAME ROOT WORKDIR ENVFILE ARGV...: starts ARGV (its argv[0] `sesame` or
# /usr/local/bin/sesame is $SESAME) in ROOT/WORKDIR with exactly the NAME=VALUE lines of
# ENVFILE (already remapped) plus PATH and the sanitizer options. Log $LOGDIR/NAME.log.
start_proc() {
    local name=$1 root=$2 wd=$3 envf=$4 line
    shift 4
    local -a envs=() argv=("$@")
    case ${argv[0]} in sesame | /usr/local/bin/sesame) argv[0]=$SESAME ;; esac
    while IFS= read -r line; do [ -n "$line" ] && envs+=("$line"); done <"$envf"
    case ${argv[1]:-} in api | sync) argv+=(--http-addr 127.0.0.1) ;; esac
    mkdir -p "$LOGDIR" "$root$wd"
    (cd "$root$wd" && exec env -i PATH="$PATH" "${SANITIZER_ENV[@]}" "${envs[@]}" "${argv[@]}") \
        >>"$LOGDIR/$name.log" 2>&1 &
    PROC_PID[$name]=$!
    PROC_LOG[$name]=$LOGDIR/$name.log
    PROCS+=("$name")
    HUB_PIDS+=("$!")
}

# stop_all DESCRIPTION: SIGTERM to every process started (reverse order), each must exit 0
# within 10 s; then their logs must hold no sanitizer report.
stop_all() {
    local desc=$1 n i pid rc bad="" logs=()
    for ((i = ${#PROCS[@]} - 1; i >= 0; i--)); do
        n=${PROCS[$i]}
        pid=${PROC_PID[$n]}
        kill -TERM "$pid" 2>/dev/null || true
        rc=0
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null
            rc=124
        fi
        wait "$pid" 2>/dev/null || rc=$?
        [ "$rc" = 0 ] || bad="$bad $n:$rc"
        logs+=("${PROC_LOG[$n]}")
    done
    expect_eq "$desc: every process stops with status 0 on SIGTERM" "" "$bad"
    expect_clean_logs "$desc: no sanitizer report" "${logs[@]}"
    expect_eq "$desc: no process finds its data directory open to group or others" "" \
        "$(cat "${logs[@]}" | grep -oE 'the data directory [^ ]+ is accessible to group or others' | sort -u | tr '\n' ' ')"
    # every variable the file sets is one Sesame knows (a typo would be logged and ignored)
    expect_eq "$desc: no process reports an unknown variable" "" \
        "$(cat "${logs[@]}" | grep -oE 'unknown variable [A-Z0-9_]+' | sort -u | tr '\n' ' ')"
    PROCS=()
}

# await DESCRIPTION SECONDS COMMAND...: wait_within, but gives up as soon as a process of
# the scenario has exited (naming it, with its log's tail).
await() {
    local desc=$1 secs=$2 t0 n
    shift 2
    t0=$(now_ms)
    while :; do
        if "$@" >/dev/null 2>&1; then
            ok "$desc"
            return 0
        fi
        for n in "${PROCS[@]}"; do
            if ! kill -0 "${PROC_PID[$n]}" 2>/dev/null; then
                not_ok "$desc: $n exited"
                tail -n 5 "${PROC_LOG[$n]}" | sed "s/^/#   $n: /"
                return 1
            fi
        done
        if [ "$(elapsed_ms "$t0")" -ge $((secs * 1000)) ]; then
            not_ok "$desc (not within ${secs}s)"
            return 1
        fi
        sleep 0.1
    done
}

# http_status URL: the status code (000 when nothing answers).
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" || true; }
http_200() { [ "$(http_status "$1")" = 200 ]; }
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# admin_setup SCENARIO HUB_URL SERVER_HUB: account, vault, item, Connect server (its
# credentials file naming SERVER_HUB, the hub URL as the deployment names it) and a token,
# with the admin CLI. Sets CREDS (the file), TOKEN, VAULT_ID, VAULT_NAME.
admin_setup() {
    local sc=$1 url=$2 server_hub=$3
    export SESAME_ACCOUNT_KIT="$T/$sc/kit.json" SESAME_HUB="$url"
    # shellcheck disable=SC2034 # read by hub_account_init (lib.bash)
    HUB_URL=$url
    VAULT_NAME="deploy-$sc"
    CREDS="$T/$sc/1password-credentials.json"
    TOKEN=
    hub_account_init || return 1
    cli vault create "$VAULT_NAME" --format json
    [ "$RC" = 0 ] || return 1
    VAULT_ID=$(jqr "$OUT" .id)
    cli item create --vault "$VAULT_ID" --category LOGIN --title "$sc login" --field "username=$sc" \
        --format json
    [ "$RC" = 0 ] || return 1
    cli connect server create "$sc-server" --vault "$VAULT_ID" --out "$CREDS" \
        --server-hub "$server_hub"
    [ "$RC" = 0 ] || return 1
    cli connect token create "$sc-token" --server "$sc-server" --vault "$VAULT_ID:r"
    [ "$RC" = 0 ] || return 1
    TOKEN=$OUT
    [ -s "$CREDS" ] && [ -n "$TOKEN" ]
}

# serves_vault URL: GET URL/v1/vaults with the token lists exactly the vault.
serves_vault() {
    local a
    a=$(ccurl "$1/v1/vaults")
    [ "$(status_of "$a")" = 200 ] &&
        [ "$(body_of "$a" | jq -r '[.[] | .id + " " + .name] | join(",")' 2>/dev/null)" = "$VAULT_ID $VAULT_NAME" ]
}
# unlocked URL: /health of a process reports the 1Password dependency ACTIVE.
unlocked() {
    [ "$(curl -s --max-time 5 "$1/health" | jq -r '.dependencies[] | select(.service == "1Password") | .status' 2>/dev/null)" = ACTIVE ]
}
# image_env: the Dockerfile's ENV, as NAME=VALUE lines.
image_env() { printf '%s\n' "$IMAGE_ENV"; }

# mount_at ROOT MOUNTPOINT TARGET: the mount as a symbolic link ROOT/MOUNTPOINT -> TARGET.
mount_at() {
    mkdir -p "$(dirname "$1$2")"
    ln -sfn "$3" "$1$2"
}

# ---- compose ------------------------------------------------------------------------------
run_compose() {
    local sc=compose P="$T/compose/project" s root ns envf line name val m src dst order=() left
    mkdir -p "$P" "$T/compose/volumes"
    # start order from depends_on
    left=" $(jqr "$COMPOSE" '.services | keys | join(" ")') "
    for _ in 1 2 3 4 5 6 7 8; do
        [ -n "${left// /}" ] || break
        for s in $left; do
            if [ -z "$(jqr "$COMPOSE" ".services[\"$s\"].depends_on // [] | .[]" |
                while read -r d; do [[ "$left" == *" $d "* ]] && echo "$d"; done)" ]; then
                order+=("$s")
                left=${left/ $s / }
            fi
        done
    done
    [ -z "${left// /}" ] || { not_ok "compose: depends_on has a cycle among$left"; return 1; }
    # routes: SERVICE:PORT -> the service's namespace and the same port (one network
    # namespace per service, container ports as written)
    for s in "${order[@]}"; do
        for name in OP_HTTP_PORT SESAME_HUB_ADDR; do
            val=$(cenv "$s" | sed -n "s/^$name=//p")
            [ -n "$val" ] && ROUTE["$s:${val##*:}"]="$s:${val##*:}"
        done
    done
    HUBPORT=$(port_of sesame-hub "$(cenv sesame-hub | sed -n 's/^SESAME_HUB_ADDR=.*://p')")
    for s in "${order[@]}"; do
        root="$T/compose/$s"
        envf="$T/compose/$s.env"
        : >"$envf"
        { image_env; cenv "$s"; } | while IFS= read -r line; do
            name=${line%%=*}
            printf '%s=%s\n' "$name" "$(remap "$s" "$root" "$name" "${line#*=}")"
        done >"$envf"
        while read -r m; do
            src=${m%%:*} dst=${m#*:} dst=${dst%%:*}
            if [[ $src == ./* ]]; then
                mount_at "$root" "$dst" "$P/${src#./}"
            else
                # Docker fills a new named volume from the image's directory at the mount
                # point, mode included: 0700 where the Dockerfile's `install -d -m 0700`
                # made it so
                if [ ! -d "$T/compose/volumes/$src" ]; then
                    if [[ " $IMAGE_DIRS_0700 " == *" $dst "* ]]; then
                        mkdir -m 0700 "$T/compose/volumes/$src"
                    else
                        mkdir "$T/compose/volumes/$src"
                    fi
                fi
                mount_at "$root" "$dst" "$T/compose/volumes/$src"
            fi
        done < <(jqr "$COMPOSE" ".services[\"$s\"].volumes // [] | .[]")
        if [ "$s" = op-connect-sync ]; then
            # the account, before Connect starts: the credentials file goes to the bind
            # mount's source next to the compose file
            admin_setup compose "http://127.0.0.1:$HUBPORT" "$(cenv op-connect-sync | sed -n 's/^SESAME_HUB=//p')" ||
                { not_ok "compose: the admin CLI sets up an account, a vault, a server and a token: exit $RC: $ERR"; return 1; }
            ok "compose: the admin CLI sets up an account, a vault, a server and a token"
            cp "$CREDS" "$P/1password-credentials.json"
        fi
        # shellcheck disable=SC2046 # the entrypoint and command words
        start_proc "compose-$s" "$root" "$IMAGE_WORKDIR" "$envf" \
            $(jqr "$IMAGE_ENTRYPOINT" '.[]') $(jqr "$COMPOSE" ".services[\"$s\"].command[]")
        if [ "$s" = sesame-hub ]; then
            await "compose: the hub listens on its published port" 20 tcp_open "$HUBPORT" || return 1
            expect_eq "compose: the hub's database is on the hub-data volume" yes \
                "$([ -f "$T/compose/volumes/hub-data/data/hub.db" ] && echo yes)"
        fi
    done
    # the api's published port: "HOST:CONTAINER" -> the api's container port
    local pub api_url sync_url
    pub=$(jqr "$COMPOSE" '.services["op-connect-api"].ports[0]')
    api_url="http://127.0.0.1:$(port_of op-connect-api "${pub##*:}")"
    sync_url="http://127.0.0.1:$(port_of op-connect-sync "$(cenv op-connect-sync | sed -n 's/^OP_HTTP_PORT=//p')")"
    await "compose: the api answers GET /heartbeat 200 on its published port" 20 http_200 "$api_url/heartbeat"
    await "compose: sync answers GET /heartbeat 200 on its port" 20 http_200 "$sync_url/heartbeat"
    expect_eq "compose: GET /health answers 200 on the api and on sync" "200 200" \
        "$(http_status "$api_url/health") $(http_status "$sync_url/health")"
    await "compose: GET /v1/vaults with the token lists the vault" 40 serves_vault "$api_url"
    await "compose: sync is unlocked through the bus (the unix socket on the shared volume)" 20 unlocked "$sync_url"
    expect_eq "compose: the bus socket is on the shared volume" yes \
        "$([ -S "$T/compose/volumes/data/bus.sock" ] && echo yes)"
}

# ---- Kubernetes -----------------------------------------------------------------------------
# kube_env POD CONTAINER ROOT NS: the container's environment (the image's ENV, then env:),
# remapped; a secretKeyRef is the Secret's value from $T/k8s/secrets/NAME/KEY.
kube_env() {
    local pod=$1 c=$2 root=$3 ns=$4 line name
    {
        image_env
        jqr "$pod" ".containers[] | select(.name == \"$c\") | .env[] |
            if .value != null then \"\(.name)=\(.value)\"
            else \"\(.name)=@secret:\(.valueFrom.secretKeyRef.name)/\(.valueFrom.secretKeyRef.key)\" end"
    } | while IFS= read -r line; do
        name=${line%%=*}
        case ${line#*=} in
        @secret:*) printf '%s=%s\n' "$name" "$(cat "$T/k8s/secrets/${line#*=@secret:}")" ;;
        *) printf '%s=%s\n' "$name" "$(remap "$ns" "$root" "$name" "${line#*=}")" ;;
        esac
    done
}
# kube_mounts POD CONTAINER ROOT VOLDIR: every volumeMount as a link to VOLDIR/<volume>.
kube_mounts() {
    local vol path
    while IFS=' ' read -r vol path; do
        # the kubelet makes an emptyDir (and here any volume) mode 0777
        [ -d "$4/$vol" ] || { mkdir -p "$4/$vol" && chmod 0777 "$4/$vol"; }
        mount_at "$3" "$path" "$4/$vol"
    done < <(jqr "$1" ".containers[], .initContainers[]? | select(.name == \"$2\") | .volumeMounts[] | \"\(.name) \(.mountPath)\"")
}

run_k8s() {
    local c root envf api_url p path port kind
    mkdir -p "$T/k8s/volumes" "$T/k8s/hubvolumes" "$T/k8s/secrets/op-credentials"
    # Services: NAME:PORT -> the selected pod's namespace and targetPort
    ROUTE["$(jqr "$HSVC" .metadata.name):$(jqr "$HSVC" '.spec.ports[0].port')"]="hubpod:$(jqr "$HSVC" '.spec.ports[0].targetPort')"
    ROUTE["$(jqr "$CSVC" .metadata.name):$(jqr "$CSVC" '.spec.ports[0].port')"]="connectpod:$(jqr "$CSVC" '.spec.ports[0].targetPort')"
    # the hub's pod
    root="$T/k8s/hub"
    envf="$T/k8s/hub.env"
    kube_env "$HPOD" hub "$root" hubpod >"$envf"
    kube_mounts "$HPOD" hub "$root" "$T/k8s/hubvolumes"
    # shellcheck disable=SC2046
    start_proc k8s-hub "$root" "$IMAGE_WORKDIR" "$envf" $(jqr "$HPOD" '.containers[0].command[]')
    port=$(port_of hubpod "$(jqr "$HPOD" '.containers[0].readinessProbe.tcpSocket.port')")
    await "k8s hub: the readiness probe (TCP $(jqr "$HPOD" '.containers[0].readinessProbe.tcpSocket.port')) connects" 20 tcp_open "$port" || return 1
    ok "k8s hub: the liveness probe (TCP $(jqr "$HPOD" '.containers[0].livenessProbe.tcpSocket.port')) connects"
    expect_eq "k8s hub: the database is on the PVC" yes \
        "$([ -f "$T/k8s/hubvolumes/hub-data/data/hub.db" ] && echo yes)"
    # the account; the Secret as `kubectl create secret ... --from-literal=op-session=$(base64 -w 0 FILE)`
    admin_setup k8s "http://127.0.0.1:$port" "$(kenv connect-sync SESAME_HUB)" ||
        { not_ok "k8s: the admin CLI sets up an account, a vault, a server and a token: exit $RC: $ERR"; return 1; }
    ok "k8s: the admin CLI sets up an account, a vault, a server and a token"
    base64 -w 0 "$CREDS" >"$T/k8s/secrets/op-credentials/op-session"
    # the Connect pod: init container, then the containers
    if [ "$(id -u)" = 0 ]; then
        root="$T/k8s/$(jqr "$INIT" .name)"
        kube_mounts "$POD" "$(jqr "$INIT" .name)" "$root" "$T/k8s/volumes"
        # its one shell command, with the mount path remapped
        local cmd
        cmd=$(jqr "$INIT" '.command[2]' | sed "s#/home/opuser/#$root/home/opuser/#g")
        (cd "$root" && env -i PATH="$PATH" sh -c "$cmd")
        expect_eq "k8s: the init container leaves the volume owned by 999, mode 700" "999:999 700" \
            "$(stat -L -c '%u:%g %a' "$root/home/opuser/.op/data")"
    else
        chmod 0700 "$T/k8s/volumes/shared-data"
        ok "k8s: the init container is not run (the test does not run as root): only its chmod is done"
    fi
    for c in connect-api connect-sync; do
        root="$T/k8s/$c"
        envf="$T/k8s/$c.env"
        kube_env "$POD" "$c" "$root" connectpod >"$envf"
        kube_mounts "$POD" "$c" "$root" "$T/k8s/volumes"
        # shellcheck disable=SC2046
        start_proc "k8s-$c" "$root" "$IMAGE_WORKDIR" "$envf" \
            $(jqr "$POD" ".containers[] | select(.name == \"$c\") | .command[]")
    done
    for c in connect-api connect-sync; do
        for kind in livenessProbe readinessProbe; do
            path=$(jqr "$POD" ".containers[] | select(.name == \"$c\") | .$kind.httpGet.path")
            p=$(jqr "$POD" ".containers[] | select(.name == \"$c\") | .$kind.httpGet.port")
            await "k8s: $c $kind GET $path on $p answers 200" 20 http_200 "http://127.0.0.1:$(port_of connectpod "$p")$path"
        done
    done
    api_url="http://127.0.0.1:$(route client "$(jqr "$CSVC" .metadata.name)" "$(jqr "$CSVC" '.spec.ports[0].port')")"
    await "k8s: GET /v1/vaults through the Service lists the vault" 40 serves_vault "$api_url"
    await "k8s: sync is unlocked through the TCP bus (OP_BUS_PORT/OP_BUS_PEERS)" 20 unlocked \
        "http://127.0.0.1:$(port_of connectpod "$(kenv connect-sync OP_HTTP_PORT)")"
    expect_eq "k8s: the bus is TCP: sync listens on its OP_BUS_PORT, no unix socket on the volume" "yes no" \
        "$(tcp_open "$(port_of connectpod "$(kenv connect-sync OP_BUS_PORT)")" && echo yes || echo no) $([ -S "$T/k8s/volumes/shared-data/bus.sock" ] && echo yes || echo no)"
}

# ---- systemd ----------------------------------------------------------------------------------
# unit_env UNIT ROOT: the unit's environment (Environment=, then EnvironmentFile=), with %S
# (/var/lib) and %d (/run/credentials/UNIT) expanded and remapped.
unit_env() {
    local u=$1 root=$2 line f name val
    {
        unit_get "$SD/$u" Service Environment
        for f in $(unit_get "$SD/$u" Service EnvironmentFile); do
            f=${f#-}
            [ -f "$root$f" ] && grep -vE '^[[:space:]]*(#|$)' "$root$f"
        done
    } | while IFS= read -r line; do
        name=${line%%=*}
        val=${line#*=}
        val=${val//%S//var/lib}
        val=${val//%d//run/credentials/$u}
        printf '%s=%s\n' "$name" "$(remap host "$root" "$name" "$val")"
    done
}

run_systemd() {
    local root="$T/systemd/root" u sd cred name src hubport api_url sync_url
    mkdir -p "$root/etc/sesame"
    # as docs/deployment.md installs them: the env files from the examples
    cp "$SD/hub.env.example" "$root/etc/sesame/hub.env"
    cp "$SD/connect.env.example" "$root/etc/sesame/connect.env"
    for u in $HUBU $SYNCU $APIU; do
        # StateDirectory= (made 0700 by systemd)
        for sd in $(ug $u StateDirectory); do mkdir -p "$root/var/lib" && { [ -d "$root/var/lib/$sd" ] || mkdir -m 0700 "$root/var/lib/$sd"; }; done
        if [ $u = $SYNCU ]; then
            hubport=$(port_of host "$(uenv $HUBU SESAME_HUB_ADDR | sed 's/.*://')")
            admin_setup systemd "http://127.0.0.1:$hubport" "http://$(uenv $HUBU SESAME_HUB_ADDR)" ||
                { not_ok "systemd: the admin CLI sets up an account, a vault, a server and a token: exit $RC: $ERR"; return 1; }
            ok "systemd: the admin CLI sets up an account, a vault, a server and a token"
            install -m 0600 "$CREDS" "$root/etc/sesame/1password-credentials.json"
        fi
        # LoadCredential=NAME:PATH -> /run/credentials/UNIT/NAME
        for cred in $(ug $u LoadCredential); do
            name=${cred%%:*} src=${cred#*:}
            mkdir -p "$root/run/credentials" && { [ -d "$root/run/credentials/$u" ] || mkdir -m 0700 "$root/run/credentials/$u"; }
            install -m 0400 "$root$src" "$root/run/credentials/$u/$name"
        done
        unit_env $u "$root" >"$T/systemd/$u.env"
        # shellcheck disable=SC2046
        start_proc "systemd-$u" "$root" / "$T/systemd/$u.env" $(ug $u ExecStart)
        if [ $u = $HUBU ]; then
            await "systemd: the hub listens on its SESAME_HUB_ADDR" 20 tcp_open "$(port_of host 7700)" || return 1
            expect_eq "systemd: the hub's database is in its StateDirectory" yes \
                "$([ -f "$root/var/lib/sesame-hub/hub.db" ] && echo yes)"
        fi
    done
    api_url="http://127.0.0.1:$(port_of host "$(uenv $APIU OP_HTTP_PORT)")"
    sync_url="http://127.0.0.1:$(port_of host "$(uenv $SYNCU OP_HTTP_PORT)")"
    await "systemd: the api answers GET /heartbeat 200 on OP_HTTP_PORT" 20 http_200 "$api_url/heartbeat"
    await "systemd: sync answers GET /heartbeat 200 on OP_HTTP_PORT" 20 http_200 "$sync_url/heartbeat"
    await "systemd: GET /v1/vaults with the token lists the vault" 40 serves_vault "$api_url"
    await "systemd: sync is unlocked through the bus (the unix socket in the state directory)" 20 unlocked "$sync_url"
    expect_eq "systemd: the volume is in the shared state directory" yes \
        "$([ -S "$root/var/lib/sesame-connect/.op/data/bus.sock" ] && echo yes)"
}

# The scenarios, each with its own ports, routes and processes. A port picked free can be
# taken by another process before ours binds it: when a scenario fails and a log says
# EADDRINUSE, it is run once more with other ports (its first results are dropped).
for scenario in compose k8s systemd; do
    for attempt in 1 2; do
        rm -rf "${T:?}/$scenario"
        mkdir -p "$T/$scenario"
        LOGDIR="$T/logs.$scenario.$attempt"
        PORTMAP="$T/ports.$scenario.$attempt"
        : >"$PORTMAP"
        ROUTE=()
        p0=$PASSED f0=$FAILED
        {
            if ! "run_$scenario"; then
                not_ok "$scenario: stopped early (see above)"
                for n in "${PROCS[@]}"; do tail -n 5 "${PROC_LOG[$n]}" | sed "s/^/#   $n: /"; done
            fi
            stop_all "$scenario"
        } >"$T/$scenario.$attempt.out" 2>&1
        if [ "$attempt" = 1 ] && [ "$FAILED" -gt "$f0" ] && grep -qs EADDRINUSE "$LOGDIR"/*.log; then
            echo "# $scenario: a port was taken meanwhile (EADDRINUSE); running it again with other ports"
            PASSED=$p0 FAILED=$f0
            continue
        fi
        cat "$T/$scenario.$attempt.out"
        break
    done
done
finish
