/* hash.c - SHA-256 and HMAC-SHA-256 (OpenSSL libcrypto). */
#include "crypto/hash.h"

#include <limits.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Stands in for a NULL pointer with a zero length: OpenSSL wants real pointers. */
static const unsigned char hash_empty[1];

/* Writes SHA-256(in) to out; in may be NULL when n is 0. Returns ERR_OK or ERR_CRYPTO. */
enum err hash_sha256(unsigned char out[HASH_SHA256_BYTES], const void *in, size_t n)
{
    unsigned int len = 0;

    if (!in) {
        if (n)
            return ERR_CRYPTO;
        in = hash_empty;
    }
    if (EVP_Digest(in, n, out, &len, EVP_sha256(), NULL) != 1 || len != HASH_SHA256_BYTES)
        return ERR_CRYPTO;
    return ERR_OK;
}

/*
 * Writes HMAC-SHA-256(key, in) to out. key and in may be NULL when their lengths are 0;
 * keys longer than the block size are hashed first, as RFC 2104 says.
 * Returns ERR_OK or ERR_CRYPTO.
 */
enum err hash_hmac_sha256(unsigned char out[HASH_SHA256_BYTES], const void *key, size_t keylen,
                          const void *in, size_t n)
{
    unsigned int len = 0;

    if ((!key && keylen) || (!in && n) || keylen > INT_MAX)
        return ERR_CRYPTO;
    if (!key)
        key = hash_empty;
    if (!in)
        in = hash_empty;
    if (!HMAC(EVP_sha256(), key, (int)keylen, in, n, out, &len) || len != HASH_SHA256_BYTES)
        return ERR_CRYPTO;
    return ERR_OK;
}
