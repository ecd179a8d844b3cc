# npm_lib.bash - installs an npm package once for the tests that need one (sourced after
# lib.bash, BEFORE hub_test_init: npm keeps the real HOME, cache and proxy settings). node
# and npm come from scripts/install-deps.sh. Without the package and without the npm
# registry the calling test fails.

REAL_HOME=${REAL_HOME:-${HOME:-/tmp}}
NPM_CACHE=${npm_config_cache:-$REAL_HOME/.npm}

# npm_ensure WHAT DIR VERSION VERSION_FN [NPM INSTALL ARGS...]: makes sure WHAT (a name for
# messages) at VERSION is in DIR, as VERSION_FN (a function printing the version that loads
# from DIR, or nothing) says; otherwise runs `npm install ARGS --prefix DIR` under a lock
# shared by concurrent runs. Records ok / not ok and exits the test on failure.
npm_ensure() {
    local what=$1 dir=$2 version=$3 version_fn=$4 npm_log rc=0
    shift 4
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        not_ok "node and npm are installed (run scripts/install-deps.sh)"
        finish
        exit 1
    fi
    ok "node $(node --version) and npm $(npm --version 2>/dev/null) are installed"
    if ! mkdir -p "$dir" 2>/dev/null || ! : >>"$dir/.install.lock" 2>/dev/null; then
        not_ok "the directory $dir for $what is writable"
        finish
        exit 1
    fi
    exec 9>"$dir/.install.lock"
    flock -w 300 9 || true # another run installing: wait for it
    if [ "$("$version_fn")" != "$version" ]; then
        echo "# installing $what into $dir"
        npm_log=$(mktemp "${TMPDIR:-/tmp}/sesame-npm.XXXXXX")
        npm_config_cache="$NPM_CACHE" timeout 240 npm install --no-audit --no-fund \
            --fetch-retries=1 --fetch-retry-mintimeout=1000 --fetch-retry-maxtimeout=5000 \
            --fetch-timeout=60000 --prefix "$dir" "$@" >"$npm_log" 2>&1 || rc=$?
        if [ "$rc" -ne 0 ] || [ "$("$version_fn")" != "$version" ]; then
            not_ok "npm installs $what into $dir (exit $rc; is the npm registry $(npm config get registry 2>/dev/null) reachable?)"
            { grep -E 'npm (error|ERR!) (code|errno|network|request|syscall|[0-9]{3})' "$npm_log" ||
                tail -8 "$npm_log"; } | head -8 | sed 's/^/#   /'
            rm -f "$npm_log"
            finish
            exit 1
        fi
        rm -f "$npm_log"
        ok "npm installs $what into $dir"
    else
        ok "$what is installed in $dir"
    fi
    flock -u 9
    exec 9>&-
}
