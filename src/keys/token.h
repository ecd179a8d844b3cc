/*
 * token.h - Connect bearer tokens with Connect's claim layout (docs/tokens.md).
 *
 * A token is a JWS compact ES256 JWT, header {"alg":"ES256","kid":K,"typ":"JWT"}, claims:
 *   iss "sesame", aud ["com.1password.connect"], sub server id (uppercase), jti token id
 *   (lowercase), iat, exp (optional), "1password.com/auuid" account id (uppercase),
 *   "1password.com/token" the server's unlock secret (base64url of 32 bytes),
 *   "1password.com/fts" ["vaultaccess"], "1password.com/vts" [{"u": vault id, "a": bits}].
 * token_verify runs jws_verify_es256 (signature before any claim, exp / nbf / iat, aud,
 * iss) and then the Connect claim checks; every failure is ERR_UNAUTHORIZED with a distinct
 * reason for the log. The token text never appears in an error message or a log reason.
 */
#ifndef SESAME_KEYS_TOKEN_H
#define SESAME_KEYS_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/ids.h"
#include "common/limits.h"
#include "crypto/ecdsa.h"
#include "crypto/hash.h"
#include "crypto/jws.h"

#define TOKEN_ISSUER           "sesame"
#define TOKEN_AUDIENCE         "com.1password.connect"
#define TOKEN_FEATURE_VAULTS   "vaultaccess"
#define TOKEN_CLAIM_ACCOUNT    "1password.com/auuid"
#define TOKEN_CLAIM_SECRET     "1password.com/token"
#define TOKEN_CLAIM_FEATURES   "1password.com/fts"
#define TOKEN_CLAIM_VAULTS     "1password.com/vts"
#define TOKEN_UNLOCK_BYTES     32  /* the unlock secret the token carries */
#define TOKEN_MAX_VAULTS       100 /* vts entries in one token (they fit JWS_MAX_PAYLOAD_BYTES) */
#define TOKEN_MAX_FEATURES     16  /* fts entries */
#define TOKEN_HASH_HEX_LEN     (2 * HASH_SHA256_BYTES)
#define TOKEN_MAX_LIFETIME_SEC (10LL * 366 * 24 * 3600)   /* longest --expires-in: ten years */
#define TOKEN_MAX_VAULT_SPEC   (VAULT_MAX_NAME_BYTES + 3) /* a --vault argument */

/* Access bits of a vts entry ("a"); any other bit makes a token invalid. */
#define TOKEN_ACCESS_READ  0x1u
#define TOKEN_ACCESS_WRITE 0x2u
#define TOKEN_ACCESS_ALL   (TOKEN_ACCESS_READ | TOKEN_ACCESS_WRITE)

/*
 * Why token_verify refused a token. Values below JWS__COUNT are the enum jws_reason of the
 * same value (the JWS layer refused it); the rest are the Connect claim checks.
 */
enum token_reason {
    TOKEN_OK = JWS_OK,
    TOKEN_BAD_SUBJECT = JWS__COUNT, /* sub missing or not an uppercase id */
    TOKEN_WRONG_SERVER,             /* sub is another server */
    TOKEN_BAD_JTI,                  /* jti missing or not a lowercase id */
    TOKEN_BAD_TIMES,                /* iat missing, or iat / exp / nbf not an integer */
    TOKEN_BAD_ACCOUNT,              /* auuid missing or not an uppercase id */
    TOKEN_NO_SECRET,                /* 1password.com/token missing or not a string */
    TOKEN_BAD_SECRET,               /* unlock secret not base64url of exactly 32 bytes */
    TOKEN_BAD_FEATURES,             /* fts not an array of strings */
    TOKEN_NO_VAULTACCESS,           /* vts present but fts lacks "vaultaccess" */
    TOKEN_BAD_VAULTS,               /* vts malformed: entry shape, vault id, repeats, count */
    TOKEN_UNKNOWN_ACCESS,           /* an "a" with no known bit, or an unknown bit */
    TOKEN_INTERNAL,                 /* bad arguments or allocation failure */
    TOKEN__COUNT
};

/* One vault grant of a token. */
struct token_vault {
    char tv_id[ID_LEN + 1]; /* lowercase vault id */
    unsigned tv_access;     /* TOKEN_ACCESS_* bits */
};

/* The claims of a token (minted or verified). Clear with token_claims_clear. */
struct token_claims {
    char tc_server[ID_LEN + 1];  /* sub: server id, uppercase */
    char tc_jti[ID_LEN + 1];     /* token id, lowercase */
    char tc_account[ID_LEN + 1]; /* 1password.com/auuid, uppercase */
    int64_t tc_iat;              /* issued at, seconds */
    int64_t tc_exp;              /* expiry, seconds; 0 = none */
    unsigned char *tc_unlock;    /* secure memory, TOKEN_UNLOCK_BYTES; owned by the claims */
    struct token_vault tc_vaults[TOKEN_MAX_VAULTS];
    size_t tc_nvaults;
};

/* Returns the log name of r ("wrong_server", or the jws reason name); "unknown" outside. */
const char *token_reason_name(enum token_reason r);

/*
 * Copies the unlock secret (len must be TOKEN_UNLOCK_BYTES) into secure memory owned by c
 * (replacing any previous one). Returns ERR_OK, ERR_BAD_INPUT or ERR_NOMEM.
 */
enum err token_claims_set_secret(struct token_claims *c, const unsigned char *secret,
                                 size_t len) SESAME_WUR;

/* Wipes and frees the unlock secret and zeroes every member of c. */
void token_claims_clear(struct token_claims *c);

/*
 * Signs c with signing_key (P-256 private) under kid and appends the compact token to out.
 * Checks c first: valid ids in the expected cases, iat >= 0, exp 0 or > iat, the secret
 * set, vault ids valid and distinct, access bits known and not 0. Returns ERR_OK,
 * ERR_BAD_INPUT, ERR_TOO_LARGE, ERR_NOMEM or ERR_CRYPTO. The claims text (it holds the
 * secret) is wiped.
 */
enum err token_mint(struct buf *out, const struct ec_key *signing_key, const char *kid,
                    const struct token_claims *c) SESAME_WUR;

/*
 * Verifies token (len bytes) against nkeys trusted keys at time now, for the server
 * expected_server_id (26 characters, either case; sub must be its uppercase form). On
 * success *out holds the claims (clear them with token_claims_clear). Returns ERR_OK, or
 * ERR_UNAUTHORIZED with *why set (why may be NULL) and *out zeroed.
 */
enum err token_verify(struct token_claims *out, const char *token, size_t len,
                      const struct jws_key *keys, size_t nkeys, const char *expected_server_id,
                      int64_t now, enum token_reason *why) SESAME_WUR;

/*
 * Writes the lowercase hex SHA-256 of the token text (what the hub stores) to out.
 * Returns ERR_OK or ERR_CRYPTO.
 */
enum err token_hash(char out[TOKEN_HASH_HEX_LEN + 1], const char *token, size_t len) SESAME_WUR;

/*
 * Parses a CLI vault grant "V", "V:r", "V:w" or "V:rw" (also "wr"): V is s[0 .. *vault_len)
 * (not empty; a name or an id, the caller resolves it), *access the TOKEN_ACCESS_* bits. The
 * last ':' separates V from the access only when what follows it is one of those; without
 * it the access is read only. Returns ERR_OK or ERR_BAD_INPUT with a one-line errmsg.
 */
enum err token_vault_spec_parse(const char *s, size_t *vault_len, unsigned *access, char *errmsg,
                                size_t errcap) SESAME_WUR;

/*
 * Parses a CLI lifetime "<digits><unit>", unit s, m, h or d ("90d", "12h", "30m",
 * "3600s"), into *seconds: at least 1 second and at most TOKEN_MAX_LIFETIME_SEC. No sign,
 * spaces, fractions or bare numbers. Returns ERR_OK or ERR_BAD_INPUT with a one-line errmsg.
 */
enum err token_duration_parse(const char *s, int64_t *seconds, char *errmsg,
                              size_t errcap) SESAME_WUR;

#endif
