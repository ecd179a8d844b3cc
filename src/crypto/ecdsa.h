/*
 * ecdsa.h - ECDSA over P-256 with SHA-256 (ES256), signatures in JOSE's raw r||s form.
 *
 * struct ec_key is opaque: a public key, or a key pair whose private half is kept only
 * in secure memory and inside OpenSSL.
 */
#ifndef SESAME_CRYPTO_ECDSA_H
#define SESAME_CRYPTO_ECDSA_H

#include <stddef.h>

#include "common/err.h"

#define EC_P256_COORD_BYTES  32 /* x, y and d */
#define ECDSA_P256_SIG_BYTES 64 /* r || s, each 32 bytes big-endian */

struct ec_key;

/* Generates a new P-256 key pair into *out (caller frees). Returns ERR_OK or ERR_CRYPTO. */
enum err ecdsa_p256_generate(struct ec_key **out) SESAME_WUR;

/*
 * Builds a key from big-endian coordinates x, y and, if d is not NULL, the private scalar.
 * Rejects points not on the curve, and a d that does not match (x, y).
 * Returns ERR_OK, ERR_BAD_INPUT or ERR_CRYPTO; *out is NULL on error.
 */
enum err ecdsa_p256_from_raw(struct ec_key **out, const unsigned char x[EC_P256_COORD_BYTES],
                             const unsigned char y[EC_P256_COORD_BYTES],
                             const unsigned char *d) SESAME_WUR;

/*
 * Writes the key's coordinates to x and y, and, if d is not NULL, the private scalar
 * (ERR_BAD_INPUT if the key has none; d should be secure memory). Returns ERR_OK or ERR_*.
 */
enum err ecdsa_p256_to_raw(const struct ec_key *k, unsigned char x[EC_P256_COORD_BYTES],
                           unsigned char y[EC_P256_COORD_BYTES], unsigned char *d) SESAME_WUR;

/* Returns 1 if k holds a private key. */
int ecdsa_p256_has_private(const struct ec_key *k);

/* Returns a new key holding only the public half of k, or NULL. */
struct ec_key *ecdsa_p256_public_dup(const struct ec_key *k);

/* Signs SHA-256(msg) with k's private key; writes r||s to sig. Returns ERR_OK or ERR_CRYPTO. */
enum err ecdsa_p256_sign(const struct ec_key *k, const void *msg, size_t n,
                         unsigned char sig[ECDSA_P256_SIG_BYTES]) SESAME_WUR;

/*
 * Verifies an r||s signature over SHA-256(msg). siglen must be exactly 64.
 * Returns ERR_OK, or ERR_CRYPTO for any bad signature.
 */
enum err ecdsa_p256_verify(const struct ec_key *k, const void *msg, size_t n,
                           const unsigned char *sig, size_t siglen) SESAME_WUR;

/* Frees k, wiping its private half. NULL is fine. */
void ecdsa_p256_free(struct ec_key *k);

#endif
