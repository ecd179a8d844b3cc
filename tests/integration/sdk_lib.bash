# sdk_lib.bash - installs the official 1Password Connect JS SDK for the tests that run it
# (sourced after lib.bash, BEFORE hub_test_init: npm keeps the real HOME, cache and proxy
# settings). The SDK goes once into ${SESAME_JS_DIR:-$HOME/.cache/sesame-js} and is reused;
# without it and without the npm registry the calling test fails. node and npm come from
# scripts/install-deps.sh. Sets SDK_SPEC, SDK_VERSION and JS_DIR.

SDK_SPEC=@1password/connect@1.4.2
SDK_VERSION=1.4.2
REAL_HOME=${HOME:-/tmp}
JS_DIR=${SESAME_JS_DIR:-${SESAME_JS_CACHE:-$REAL_HOME/.cache/sesame-js}}
NPM_CACHE=${npm_config_cache:-$REAL_HOME/.npm}

# sdk_version: prints the version of the SDK that loads from $JS_DIR (nothing if none does).
sdk_version() {
    node -e 'const r = require("module").createRequire(process.argv[1] + "/");
        r("@1password/connect");
        process.stdout.write(r("@1password/connect/package.json").version);' "$JS_DIR" \
        2>/dev/null || true
}

# sdk_install: makes sure $SDK_SPEC loads from $JS_DIR (installing it under a lock shared
# by concurrent runs); records ok / not ok and exits the test on failure.
sdk_install() {
    local npm_log rc=0
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        not_ok "node and npm are installed (run scripts/install-deps.sh)"
        finish
        exit 1
    fi
    ok "node $(node --version) and npm $(npm --version 2>/dev/null) are installed"
    if ! mkdir -p "$JS_DIR" 2>/dev/null || ! : >>"$JS_DIR/.install.lock" 2>/dev/null; then
        not_ok "the SDK directory $JS_DIR is writable (set SESAME_JS_DIR to another one)"
        finish
        exit 1
    fi
    exec 9>"$JS_DIR/.install.lock"
    flock -w 300 9 || true # another run installing: wait for it
    if [ "$(sdk_version)" != "$SDK_VERSION" ]; then
        echo "# installing $SDK_SPEC into $JS_DIR"
        npm_log=$(mktemp "${TMPDIR:-/tmp}/sesame-npm.XXXXXX")
        npm_config_cache="$NPM_CACHE" timeout 240 npm install --no-audit --no-fund \
            --fetch-retries=1 --fetch-retry-mintimeout=1000 --fetch-retry-maxtimeout=5000 \
            --fetch-timeout=60000 --prefix "$JS_DIR" "$SDK_SPEC" >"$npm_log" 2>&1 || rc=$?
        if [ "$rc" -ne 0 ] || [ "$(sdk_version)" != "$SDK_VERSION" ]; then
            not_ok "npm installs $SDK_SPEC into $JS_DIR (exit $rc; is the npm registry $(npm config get registry 2>/dev/null) reachable?)"
            { grep -E 'npm (error|ERR!) (code|errno|network|request|syscall|[0-9]{3})' "$npm_log" ||
                tail -8 "$npm_log"; } | head -8 | sed 's/^/#   /'
            rm -f "$npm_log"
            finish
            exit 1
        fi
        rm -f "$npm_log"
        ok "npm installs $SDK_SPEC into $JS_DIR"
    else
        ok "$SDK_SPEC is installed in $JS_DIR"
    fi
    flock -u 9
    exec 9>&-
}
