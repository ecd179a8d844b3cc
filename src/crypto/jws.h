/*
 * jws.h - JWS compact serialisation with ES256 only (RFC 7515, RFC 7518 §3.4), for
 * Connect bearer tokens (JWTs, RFC 7519).
 *
 * Rules: the token is at most JWS_MAX_TOKEN_BYTES; exactly three parts of strict
 * base64url without padding; the header is a JSON object without duplicate keys whose
 * alg is exactly "ES256" (never taken from the token to choose a verifier); the kid
 * selects the key; the 64-byte r||s signature is verified over the ASCII
 * "header.payload" before any claim is read; then exp / nbf / iat are checked with
 * JWS_CLOCK_LEEWAY_SECONDS of leeway, and aud / iss when asked.
 * Every failure gives the same external answer (ERR_UNAUTHORIZED) and a distinct internal
 * reason for the log.
 */
#ifndef SESAME_CRYPTO_JWS_H
#define SESAME_CRYPTO_JWS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "crypto/ecdsa.h"

enum jws_reason {
    JWS_OK = 0,
    JWS_EMPTY,              /* no token at all */
    JWS_TOO_LONG,           /* over JWS_MAX_TOKEN_BYTES */
    JWS_MALFORMED,          /* not three dot-separated parts, or a part too long */
    JWS_BAD_BASE64,         /* a part is not strict unpadded base64url */
    JWS_BAD_HEADER,         /* header not a JSON object, duplicate keys, bad typ/crit */
    JWS_ALG_NONE,           /* "alg":"none" */
    JWS_ALG_UNSUPPORTED,    /* any alg other than ES256 (HS256 with the public key, RS256...) */
    JWS_NO_KID,             /* no kid, or not a string */
    JWS_UNKNOWN_KID,        /* kid not among the trusted keys */
    JWS_BAD_SIGNATURE_SIZE, /* signature not exactly 64 bytes */
    JWS_BAD_SIGNATURE,      /* signature does not verify */
    JWS_BAD_PAYLOAD,        /* payload not a JSON object, duplicate keys, bad claim types */
    JWS_EXPIRED,            /* exp <= now - leeway */
    JWS_NOT_YET_VALID,      /* nbf > now + leeway */
    JWS_ISSUED_IN_FUTURE,   /* iat > now + leeway */
    JWS_BAD_AUDIENCE,       /* required audience missing from aud */
    JWS_BAD_ISSUER,         /* iss differs from the required issuer */
    JWS_INTERNAL,           /* allocation or library failure */
    JWS__COUNT
};

/* A trusted verification key and its id. */
struct jws_key {
    const char *jk_kid;          /* key id matched against the header's kid */
    const struct ec_key *jk_key; /* P-256 public key */
};

struct jws_verify_opts {
    int64_t jv_now;          /* current time, seconds since the epoch */
    const char *jv_audience; /* if not NULL: must appear in aud (string or array) */
    const char *jv_issuer;   /* if not NULL: iss must equal it */
};

/* Returns a short stable name for a reason ("expired", "alg_none", ...), for logs. */
const char *jws_reason_name(enum jws_reason r);

/*
 * Signs claims (a JSON object) with key: header {"alg":"ES256","kid":kid,"typ":"JWT"}.
 * Appends the compact token to out. Returns ERR_OK, ERR_BAD_INPUT, ERR_TOO_LARGE,
 * ERR_NOMEM or ERR_CRYPTO.
 */
enum err jws_sign_es256(struct buf *out, const struct ec_key *key, const char *kid,
                        const json_t *claims) SESAME_WUR;

/*
 * Verifies the ES256 signature of token (len bytes) with key, ignoring kid and claims.
 * On success *payload (if not NULL) receives the decoded payload object (caller decrefs).
 * Returns ERR_OK or ERR_UNAUTHORIZED with *why set (why may not be NULL).
 */
enum err jws_verify_signature(json_t **payload, enum jws_reason *why, const char *token, size_t len,
                              const struct ec_key *key) SESAME_WUR;

/*
 * Full verification: kid lookup among nkeys trusted keys, signature, then claims per opts.
 * On success *claims receives the payload object (caller decrefs). Returns ERR_OK or
 * ERR_UNAUTHORIZED with *why set; *claims is NULL on error.
 */
enum err jws_verify_es256(json_t **claims, enum jws_reason *why, const char *token, size_t len,
                          const struct jws_key *keys, size_t nkeys,
                          const struct jws_verify_opts *opts) SESAME_WUR;

#endif
