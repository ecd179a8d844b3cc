#!/usr/bin/env bash
# Static checks of the source tree, run by `make test`:
#   1. banned libc functions (c-style.md), in src/ and tests/;
#   2. libsodium / OpenSSL / GnuTLS headers only under src/crypto/;
#   3. clang-format conformance (.clang-format).
set -uo pipefail
cd "$(dirname "$0")/.."

fail=0
mapfile -t files < <(find src tests -name '*.[ch]' | sort)

banned='strcpy|strcat|strncpy|strncat|sprintf|vsprintf|gets|strtok|atoi|atol|atoll|atof|sscanf|strerror|gmtime|localtime|asctime|ctime|tmpnam|mktemp|rand|srand'
# A call is the name followed by '(' and not preceded by an identifier character, '.' or '>'
# (so snprintf, gmtime_r, strerror_r, foo.gets( stay allowed).
hits=$(grep -nE "(^|[^A-Za-z0-9_.>])($banned)[[:space:]]*\(" "${files[@]}" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)')
if [ -n "$hits" ]; then
    echo "check-source: banned functions used (see docs/architecture.md, 'House rules'):"
    echo "$hits"
    fail=1
fi

hits=$(grep -nE '#[[:space:]]*include[[:space:]]*[<"](sodium|openssl/|gnutls/)' "${files[@]}" | grep -v '^src/crypto/')
if [ -n "$hits" ]; then
    echo "check-source: libsodium/OpenSSL/GnuTLS headers outside src/crypto/:"
    echo "$hits"
    fail=1
fi

if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/check-format.$$; then
    echo "check-source: files not formatted with .clang-format (run 'make format'):"
    grep -oE '^[^:]+\.[ch]' /tmp/check-format.$$ | sort -u
    fail=1
fi
rm -f /tmp/check-format.$$

if [ "$fail" -ne 0 ]; then
    exit 1
fi
echo "check-source: ${#files[@]} files: no banned calls, crypto headers confined, formatted"
