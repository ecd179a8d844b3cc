/*
 * jwk.h - JSON Web Keys (RFC 7517/7518/8037) for the three key kinds Sesame uses:
 *   EC P-256 ("kty":"EC","crv":"P-256", x, y[, d])   - token-signing and server keys
 *   OKP X25519 ("kty":"OKP","crv":"X25519", x[, d])   - wrap keys
 *   oct 256-bit ("kty":"oct", k; "alg":"A256GCM")      - symmetric keys (uniqueKey)
 * Parsing is strict: base64url without padding, exact coordinate lengths, points on the
 * curve, no duplicate keys, at most JWK_MAX_BYTES of text. Secret parts live in secure
 * memory.
 */
#ifndef SESAME_CRYPTO_JWK_H
#define SESAME_CRYPTO_JWK_H

#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/limits.h"
#include "crypto/ecdsa.h"
#include "crypto/x25519.h"

enum jwk_kind {
    JWK_EC_P256 = 1,
    JWK_OKP_X25519,
    JWK_OCT_256,
};

#define JWK_OCT_BYTES 32

struct jwk {
    enum jwk_kind jk_kind;
    char jk_kid[KID_MAX_LEN + 1];           /* "" when absent */
    struct ec_key *jk_ec;                   /* JWK_EC_P256 */
    unsigned char jk_pub[X25519_KEY_BYTES]; /* JWK_OKP_X25519: public key */
    unsigned char *jk_secret; /* secure memory: X25519 sk or oct key; NULL if public */
};

/*
 * Parses a JWK from a JSON object into *out (zeroed first). Returns ERR_OK, ERR_BAD_INPUT
 * (not a supported or valid JWK), ERR_TOO_LARGE, ERR_NOMEM or ERR_CRYPTO. On error *out
 * holds nothing to free.
 */
enum err jwk_from_json(struct jwk *out, const json_t *obj) SESAME_WUR;

/* Parses JWK text (at most JWK_MAX_BYTES, duplicate keys rejected); errors as jwk_from_json. */
enum err jwk_parse(struct jwk *out, const char *text, size_t len) SESAME_WUR;

/*
 * Returns a new JSON object for k (caller json_decref()s), with the private part only if
 * with_private; NULL on failure. Output text of private keys must be wiped by the caller.
 * An oct key has no public form: it gives NULL unless with_private (and so does asking
 * for the private part of a public-only key). Members: kty, crv, x, y, d / k, alg
 * ("A256GCM", oct only), kid (when not empty).
 */
json_t *jwk_to_json(const struct jwk *k, int with_private);

/*
 * Returns 1 if a and b are the same key: kind, kid, public part, and private part (both
 * absent, or equal, compared in constant time); 0 otherwise.
 */
int jwk_equal(const struct jwk *a, const struct jwk *b);

/* Frees what k holds, wiping secrets; k is zeroed. */
void jwk_clear(struct jwk *k);

#endif
