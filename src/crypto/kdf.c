/* kdf.c - HKDF-SHA-256 (OpenSSL EVP_KDF) and Argon2id (libsodium crypto_pwhash). */
#include "crypto/kdf.h"

#include <errno.h>
#include <stdint.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#include "crypto/crypto.h"

/* libsodium's Argon2id takes at most this many output bytes here (the header's 16..1024). */
#define KDF_ARGON2ID_OUT_MIN 16u
#define KDF_ARGON2ID_OUT_MAX 1024u

/* Stands in for a NULL pointer with a zero length (OpenSSL wants real pointers). */
static unsigned char kdf_empty[1];

/*
 * HKDF-SHA-256 (extract then expand, RFC 5869) into out. ikm, salt and info may be NULL
 * when their lengths are 0; an empty salt means HashLen zero bytes, as the RFC says.
 * Returns ERR_OK, ERR_BAD_INPUT (outlen 0 or over KDF_HKDF_MAX_OUT) or ERR_CRYPTO.
 */
enum err kdf_hkdf_sha256(unsigned char *out, size_t outlen, const unsigned char *ikm, size_t ikmlen,
                         const unsigned char *salt, size_t saltlen, const unsigned char *info,
                         size_t infolen)
{
    OSSL_PARAM params[5];
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *ctx = NULL;
    enum err rc = ERR_BAD_INPUT;
    char digest[] = "SHA256";
    size_t n = 0;

    if (!out || outlen == 0 || outlen > KDF_HKDF_MAX_OUT)
        goto out;
    if ((!ikm && ikmlen) || (!salt && saltlen) || (!info && infolen))
        goto out;
    rc = ERR_CRYPTO;
    /* OSSL_PARAM takes non-const pointers but only reads these buffers. */
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_KEY, ikmlen ? (void *)(uintptr_t)ikm : kdf_empty, ikmlen);
    if (saltlen)
        params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                        (void *)(uintptr_t)salt, saltlen);
    if (infolen)
        params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                        (void *)(uintptr_t)info, infolen);
    params[n] = OSSL_PARAM_construct_end();
    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (!kdf)
        goto out;
    ctx = EVP_KDF_CTX_new(kdf);
    if (!ctx)
        goto out;
    if (EVP_KDF_derive(ctx, out, outlen, params) != 1) {
        secmem_wipe(out, outlen);
        goto out;
    }
    rc = ERR_OK;
out:
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

/*
 * Argon2id v1.3 (crypto_pwhash, one lane) into out. pass may be NULL when passlen is 0.
 * Returns ERR_OK, ERR_BAD_INPUT (outlen, passlen, opslimit or memlimit out of range),
 * ERR_NOMEM (libsodium could not get the memory) or ERR_CRYPTO (libsodium unusable).
 */
enum err kdf_argon2id(unsigned char *out, size_t outlen, const char *pass, size_t passlen,
                      const unsigned char salt[KDF_ARGON2ID_SALT_BYTES],
                      unsigned long long opslimit, size_t memlimit)
{
    enum err rc = ERR_BAD_INPUT;

    if (!out || !salt || (!pass && passlen))
        goto out;
    if (outlen < KDF_ARGON2ID_OUT_MIN || outlen > KDF_ARGON2ID_OUT_MAX)
        goto out;
    if (passlen > crypto_pwhash_argon2id_PASSWD_MAX)
        goto out;
    if (opslimit < KDF_ARGON2ID_OPS_MIN || opslimit > KDF_ARGON2ID_OPS_MAX)
        goto out;
    if (memlimit < KDF_ARGON2ID_MEM_MIN || memlimit > KDF_ARGON2ID_MEM_MAX)
        goto out;
    /* Thread-safe and idempotent; it only picks the fastest Argon2 code for this CPU. */
    if (sodium_init() < 0) {
        rc = ERR_CRYPTO;
        goto out;
    }
    if (!pass)
        pass = (const char *)kdf_empty;
    if (crypto_pwhash(out, outlen, pass, passlen, salt, opslimit, memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        /* Parameters were checked above, so what is left is the memory allocation. */
        rc = errno == EINVAL ? ERR_BAD_INPUT : ERR_NOMEM;
        secmem_wipe(out, outlen);
        goto out;
    }
    rc = ERR_OK;
out:
    return rc;
}
