/*
 * hmac.h - HMAC (RFC 2104) over SHA-1, SHA-256 and SHA-512 (OpenSSL libcrypto), for
 * one-time passwords (RFC 4226 / RFC 6238) where the hash is chosen by the secret's owner.
 * SHA-1 is here only because TOTP and HOTP use it; new designs use hash.h.
 */
#ifndef SESAME_CRYPTO_HMAC_H
#define SESAME_CRYPTO_HMAC_H

#include <stddef.h>

#include "common/err.h"

enum hmac_alg {
    HMAC_SHA1,
    HMAC_SHA256,
    HMAC_SHA512,
};

#define HMAC_SHA1_BYTES   20
#define HMAC_SHA256_BYTES 32
#define HMAC_SHA512_BYTES 64
#define HMAC_MAX_BYTES    HMAC_SHA512_BYTES /* the largest output of hmac_compute */

/* Returns the output length of alg in bytes, or 0 for a value outside the enum. */
size_t hmac_size(enum hmac_alg alg);

/*
 * Writes HMAC-alg(key, msg) to out (cap bytes, at least hmac_size(alg)) and its length to
 * *outlen (0 on error). key and msg may be NULL when their lengths are 0; keys longer than
 * the hash's block size are hashed first (RFC 2104). Nothing is retained.
 * Returns ERR_OK, ERR_TOO_LARGE (cap too small; out untouched), or ERR_CRYPTO (unknown
 * alg, a NULL pointer with a length, or a libcrypto failure; out wiped).
 */
enum err hmac_compute(enum hmac_alg alg, unsigned char *out, size_t cap, size_t *outlen,
                      const void *key, size_t keylen, const void *msg, size_t n) SESAME_WUR;

#endif
