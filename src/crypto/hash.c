/* hash.c - SHA-256 and HMAC-SHA-256 (OpenSSL libcrypto). */
#include "crypto/hash.h"

#include <limits.h>
#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Stands in for a NULL pointer with a zero length: OpenSSL wants real pointers. */
static const unsigned char hash_empty[1];

/*
 * SHA-256 fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up (under a lock)
 * at every digest, a visible cost on the api's per-request token hash.
 */
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;
static EVP_MD *hash_md;

static void hash_fetch(void)
{
    hash_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *hash_sha256_md(void)
{
    (void)pthread_once(&hash_once, hash_fetch);
    return hash_md ? hash_md : EVP_sha256();
}

/* Writes SHA-256(in) to out; in may be NULL when n is 0. Returns ERR_OK or ERR_CRYPTO. */
enum err hash_sha256(unsigned char out[HASH_SHA256_BYTES], const void *in, size_t n)
{
    unsigned int len = 0;

    if (!in) {
        if (n)
            return ERR_CRYPTO;
        in = hash_empty;
    }
    if (EVP_Digest(in, n, out, &len, hash_sha256_md(), NULL) != 1 || len != HASH_SHA256_BYTES)
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
    if (!HMAC(hash_sha256_md(), key, (int)keylen, in, n, out, &len) || len != HASH_SHA256_BYTES)
        return ERR_CRYPTO;
    return ERR_OK;
}
