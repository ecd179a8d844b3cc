# sdk_lib.bash - installs the official 1Password Connect JS SDK for the tests that run it
# (sourced after lib.bash, BEFORE hub_test_init). The SDK goes once into
# ${SESAME_JS_DIR:-$HOME/.cache/sesame-js} and is reused (npm_lib.bash). Sets SDK_SPEC,
# SDK_VERSION and JS_DIR.
. "$(dirname "${BASH_SOURCE[0]}")/npm_lib.bash"

SDK_SPEC=@1password/connect@1.4.2
SDK_VERSION=1.4.2
JS_DIR=${SESAME_JS_DIR:-${SESAME_JS_CACHE:-$REAL_HOME/.cache/sesame-js}}

# sdk_version: prints the version of the SDK that loads from $JS_DIR (nothing if none does).
sdk_version() {
    node -e 'const r = require("module").createRequire(process.argv[1] + "/");
        r("@1password/connect");
        process.stdout.write(r("@1password/connect/package.json").version);' "$JS_DIR" \
        2>/dev/null || true
}

# sdk_install: makes sure $SDK_SPEC loads from $JS_DIR.
sdk_install() {
    npm_ensure "$SDK_SPEC" "$JS_DIR" "$SDK_VERSION" sdk_version "$SDK_SPEC"
}
