/*
 * cli_connect.h - the pure parts of `sesame connect` and `sesame activity` (no network, no
 * files), shared by cli_connect.c and cli_activity.c and tested by
 * tests/unit/test_cli_connect.c: names, access bits, finding a server in the hub's list,
 * building a credentials file from the account kit, and minting a token for a server.
 */
#ifndef SESAME_CLI_CLI_CONNECT_H
#define SESAME_CLI_CLI_CONNECT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/ids.h"
#include "crypto/jwk.h"
#include "keys/kit.h"
#include "keys/token.h"

#define CONNECT_NAME_MAX_BYTES   1024 /* a server or token name (the hub's limit) */
#define CONNECT_CREDENTIALS_FILE "1password-credentials.json" /* server create's --out */
#define CONNECT_CREDENTIALS_MAX  (64u << 10) /* the file's text (CONFIG_MAX_SESSION_BYTES) */
#define CONNECT_TOKEN_MAX        8192        /* a token's text (JWS_MAX_TOKEN_BYTES) */

/*
 * Checks a server or token name: 1..CONNECT_NAME_MAX_BYTES bytes, no control character
 * (names are printed in tables). what ("server", "token") names it in errmsg. Returns
 * ERR_OK or ERR_BAD_INPUT with a one-line errmsg that does not repeat the name.
 */
enum err connect_name_check(const char *name, const char *what, char *errmsg,
                            size_t errcap) SESAME_WUR;

/* Returns "r", "w" or "rw" for TOKEN_ACCESS_* bits, "-" for anything else. */
const char *connect_access_name(unsigned access);

/*
 * Finds the server named by id_or_name in servers (the hub's GET /v1/servers array):
 * an id of either case matches a record's "id"; otherwise the exact (case-sensitive)
 * "name" must match exactly one live record. *found points into servers (borrowed).
 * Returns ERR_OK, ERR_NOT_FOUND ("no server ..."), ERR_CONFLICT ("several servers are
 * named so; use the id") or ERR_BAD_INPUT (servers is not an array), with errmsg.
 */
enum err connect_server_find(const json_t *servers, const char *id_or_name, const json_t **found,
                             char *errmsg, size_t errcap) SESAME_WUR;

/*
 * Builds the credentials file of a new server and appends its text to out: server_id,
 * the server's keys (sign: P-256 private, wrap: X25519 private) and unlock secret
 * (CREDENTIALS_UNLOCK_BYTES), the account id and the public halves of every token-signing
 * key of the kit k, hub_url and fingerprint (NULL when the hub is not pinned). Returns the
 * errors of credentials_create, or ERR_BAD_INPUT for an unusable kit.
 */
enum err connect_credentials_build(struct buf *out, const struct kit *k, const char *server_id,
                                   const struct jwk *sign, const struct jwk *wrap,
                                   const unsigned char *unlock, const char *hub_url,
                                   const char *fingerprint) SESAME_WUR;

/*
 * As connect_credentials_build, with further hub URLs (replicas of the same hub, written
 * as hub.urls; nmore 0..CREDENTIALS_MAX_HUB_URLS, each valid, none repeated, all https://
 * when fingerprint pins the hub): more[0..nmore) borrowed.
 */
enum err connect_credentials_build_urls(struct buf *out, const struct kit *k, const char *server_id,
                                        const struct jwk *sign, const struct jwk *wrap,
                                        const unsigned char *unlock, const char *hub_url,
                                        const char *const *more, size_t nmore,
                                        const char *fingerprint) SESAME_WUR;

/*
 * Mints a token for server_id (either case) carrying unlock (TOKEN_UNLOCK_BYTES) and the
 * nvaults grants of vaults, issued at iat and expiring lifetime seconds later (0: never),
 * signed with the kit's current token-signing key. A new jti is written to jti and the
 * token text appended to out (a secret: out is wiped when freed). Returns ERR_OK,
 * ERR_BAD_INPUT, ERR_TOO_LARGE, ERR_NOMEM or ERR_CRYPTO.
 */
enum err connect_token_build(struct buf *out, char jti[ID_LEN + 1], const struct kit *k,
                             const char *server_id, const unsigned char *unlock,
                             const struct token_vault *vaults, size_t nvaults, int64_t iat,
                             int64_t lifetime) SESAME_WUR;

/*
 * Writes t (Unix seconds) for people into out: RFC 3339 UTC ("YYYY-MM-DDTHH:MM:SSZ"), or
 * "-" when t is 0 or outside years 1..9999. Returns out.
 */
const char *connect_time_text(char out[32], int64_t t);

/*
 * Formats the resource of an activity entry (an APIRequest) into out (cap bytes,
 * truncated): "ITEM vault/item", "ITEM vault/item@v3", "VAULT vault", or "-". Returns out.
 */
const char *connect_activity_resource(char *out, size_t cap, const json_t *entry);

/*
 * Parses a non-negative decimal integer option value (no sign, no spaces, at most max)
 * into *out. Returns ERR_OK or ERR_BAD_INPUT with errmsg naming option.
 */
enum err connect_uint_parse(const char *s, long long max, long long *out, const char *option,
                            char *errmsg, size_t errcap) SESAME_WUR;

#endif
