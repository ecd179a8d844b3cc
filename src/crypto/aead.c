/*
 * aead.c - AES-256-GCM with a 96-bit nonce and a 128-bit tag (OpenSSL EVP), and the
 * nonce || ciphertext || tag framing of aead_seal / aead_open.
 */
#include "crypto/aead.h"

#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/crypto.h"

/* EVP_*Update take an int length: longer inputs go through in chunks of this size. */
#define AEAD_CHUNK (1u << 30)

enum aead_dir {
    AEAD_DECRYPT = 0,
    AEAD_ENCRYPT = 1,
};

/* Sets ctx up for AES-256-GCM in direction dir with key and a 12-byte nonce. */
static int aead_ctx_init(EVP_CIPHER_CTX *ctx, enum aead_dir dir,
                         const unsigned char nonce[AEAD_NONCE_BYTES],
                         const unsigned char key[AEAD_KEY_BYTES])
{
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, (int)dir) != 1)
        return 0;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, AEAD_NONCE_BYTES, NULL) != 1)
        return 0;
    return EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, (int)dir) == 1;
}

/* Feeds n bytes of AAD (out NULL) or of text (into out) through ctx, in int-sized chunks. */
static int aead_update(EVP_CIPHER_CTX *ctx, unsigned char *out, const unsigned char *in, size_t n)
{
    int len;

    while (n > 0) {
        size_t chunk = n < AEAD_CHUNK ? n : AEAD_CHUNK;

        len = 0;
        if (EVP_CipherUpdate(ctx, out, &len, in, (int)chunk) != 1 || (size_t)len != chunk)
            return 0;
        if (out)
            out += chunk;
        in += chunk;
        n -= chunk;
    }
    return 1;
}

/* Encrypts pt into ct (ciphertext then tag); see aead.h. */
enum err aead_aes256gcm_encrypt(unsigned char *ct, const unsigned char *pt, size_t ptlen,
                                const unsigned char *aad, size_t aadlen,
                                const unsigned char nonce[AEAD_NONCE_BYTES],
                                const unsigned char key[AEAD_KEY_BYTES])
{
    EVP_CIPHER_CTX *ctx = NULL;
    enum err rc = ERR_CRYPTO;
    int len = 0;

    if (!ct || !nonce || !key || (!pt && ptlen) || (!aad && aadlen))
        goto out;
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx || !aead_ctx_init(ctx, AEAD_ENCRYPT, nonce, key))
        goto out;
    if (!aead_update(ctx, NULL, aad, aadlen) || !aead_update(ctx, ct, pt, ptlen))
        goto out;
    if (EVP_CipherFinal_ex(ctx, ct + ptlen, &len) != 1 || len != 0)
        goto out;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AEAD_TAG_BYTES, ct + ptlen) != 1)
        goto out;
    rc = ERR_OK;
out:
    if (rc != ERR_OK && ct)
        secmem_wipe(ct, ptlen + AEAD_TAG_BYTES);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/* Verifies and decrypts ct (ciphertext then tag) into pt; pt is wiped on failure. */
enum err aead_aes256gcm_decrypt(unsigned char *pt, const unsigned char *ct, size_t ctlen,
                                const unsigned char *aad, size_t aadlen,
                                const unsigned char nonce[AEAD_NONCE_BYTES],
                                const unsigned char key[AEAD_KEY_BYTES])
{
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char tag[AEAD_TAG_BYTES];
    enum err rc = ERR_CRYPTO;
    size_t ptlen;
    int len = 0;

    if (!ct || ctlen < AEAD_TAG_BYTES)
        return ERR_CRYPTO;
    ptlen = ctlen - AEAD_TAG_BYTES;
    if ((!pt && ptlen) || !nonce || !key || (!aad && aadlen))
        goto out;
    /* OpenSSL wants a writable tag buffer; copy it before pt may overwrite ct in place. */
    memcpy(tag, ct + ptlen, AEAD_TAG_BYTES);
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx || !aead_ctx_init(ctx, AEAD_DECRYPT, nonce, key))
        goto out;
    if (!aead_update(ctx, NULL, aad, aadlen) || !aead_update(ctx, pt, ct, ptlen))
        goto out;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AEAD_TAG_BYTES, tag) != 1)
        goto out;
    /* The tag check: GCM writes no bytes here. */
    if (EVP_CipherFinal_ex(ctx, pt ? pt + ptlen : tag, &len) != 1 || len != 0)
        goto out;
    rc = ERR_OK;
out:
    if (rc != ERR_OK && pt)
        secmem_wipe(pt, ptlen);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/* Seals pt with a fresh random nonce: out = nonce || ciphertext || tag; see aead.h. */
enum err aead_seal(unsigned char *out, size_t cap, size_t *outlen, const unsigned char *pt,
                   size_t ptlen, const unsigned char *aad, size_t aadlen,
                   const unsigned char key[AEAD_KEY_BYTES])
{
    enum err rc;

    if (outlen)
        *outlen = 0;
    if (!out || !outlen)
        return ERR_CRYPTO;
    if (ptlen > SIZE_MAX - AEAD_OVERHEAD || ptlen + AEAD_OVERHEAD > cap)
        return ERR_TOO_LARGE;
    rc = crypto_random(out, AEAD_NONCE_BYTES);
    if (rc != ERR_OK)
        return rc;
    rc = aead_aes256gcm_encrypt(out + AEAD_NONCE_BYTES, pt, ptlen, aad, aadlen, out, key);
    if (rc != ERR_OK) {
        secmem_wipe(out, AEAD_NONCE_BYTES);
        return rc;
    }
    *outlen = ptlen + AEAD_OVERHEAD;
    return ERR_OK;
}

/* Opens aead_seal's output into out; see aead.h. */
enum err aead_open(unsigned char *out, size_t cap, size_t *outlen, const unsigned char *in,
                   size_t inlen, const unsigned char *aad, size_t aadlen,
                   const unsigned char key[AEAD_KEY_BYTES])
{
    size_t ptlen;
    enum err rc;

    if (outlen)
        *outlen = 0;
    if (!outlen || !in || inlen < AEAD_OVERHEAD)
        return ERR_CRYPTO;
    ptlen = inlen - AEAD_OVERHEAD;
    if (ptlen > cap)
        return ERR_TOO_LARGE;
    rc = aead_aes256gcm_decrypt(out, in + AEAD_NONCE_BYTES, inlen - AEAD_NONCE_BYTES, aad, aadlen,
                                in, key);
    if (rc != ERR_OK)
        return rc;
    *outlen = ptlen;
    return ERR_OK;
}
