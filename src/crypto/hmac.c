/* hmac.c - HMAC-SHA-1/256/512 through OpenSSL's one-shot HMAC(). */
#include "crypto/hmac.h"

#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Stands in for a NULL pointer with a zero length: OpenSSL wants real pointers. */
static const unsigned char hmac_empty[1];

/* Returns the OpenSSL digest for alg, or NULL. */
static const EVP_MD *hmac_md(enum hmac_alg alg)
{
    switch (alg) {
    case HMAC_SHA1:
        return EVP_sha1();
    case HMAC_SHA256:
        return EVP_sha256();
    case HMAC_SHA512:
        return EVP_sha512();
    }
    return NULL;
}

/* Output length of alg; 0 when alg is not one of ours. */
size_t hmac_size(enum hmac_alg alg)
{
    switch (alg) {
    case HMAC_SHA1:
        return HMAC_SHA1_BYTES;
    case HMAC_SHA256:
        return HMAC_SHA256_BYTES;
    case HMAC_SHA512:
        return HMAC_SHA512_BYTES;
    }
    return 0;
}

/*
 * Computes HMAC-alg(key, msg) into out; see hmac.h. The caller owns every buffer; OpenSSL
 * copies the key into a context it cleanses before returning.
 */
enum err hmac_compute(enum hmac_alg alg, unsigned char *out, size_t cap, size_t *outlen,
                      const void *key, size_t keylen, const void *msg, size_t n)
{
    const EVP_MD *md = hmac_md(alg);
    size_t want = hmac_size(alg);
    unsigned int len = 0;
    enum err rc = ERR_CRYPTO;

    if (outlen)
        *outlen = 0;
    if (!md || !want || !out || !outlen)
        goto out;
    if (cap < want) {
        rc = ERR_TOO_LARGE;
        goto out;
    }
    if ((!key && keylen) || (!msg && n) || keylen > INT_MAX)
        goto out;
    if (!key)
        key = hmac_empty;
    if (!msg)
        msg = hmac_empty;
    if (!HMAC(md, key, (int)keylen, msg, n, out, &len) || len != want) {
        OPENSSL_cleanse(out, want);
        goto out;
    }
    *outlen = want;
    rc = ERR_OK;
out:
    return rc;
}
