/*
 * aead.h - AES-256-GCM (OpenSSL libcrypto, so it runs on CPUs without AES-NI too).
 *
 * Nonce policy (docs/crypto.md): every seal draws a fresh random 96-bit nonce from the
 * CSPRNG; one key must seal fewer than 2^32 messages (NIST SP 800-38D), which vault keys
 * and credentials-file keys stay far below. Decryption verifies the tag before releasing
 * any plaintext and wipes the output on failure.
 */
#ifndef SESAME_CRYPTO_AEAD_H
#define SESAME_CRYPTO_AEAD_H

#include <stddef.h>

#include "common/err.h"

#define AEAD_KEY_BYTES   32
#define AEAD_NONCE_BYTES 12
#define AEAD_TAG_BYTES   16
#define AEAD_OVERHEAD    (AEAD_NONCE_BYTES + AEAD_TAG_BYTES) /* of aead_seal's output */

/*
 * Encrypts ptlen bytes of pt with key and nonce, authenticating aad too; writes
 * ptlen + AEAD_TAG_BYTES bytes (ciphertext then tag) to ct. Returns ERR_OK or ERR_CRYPTO.
 */
enum err aead_aes256gcm_encrypt(unsigned char *ct, const unsigned char *pt, size_t ptlen,
                                const unsigned char *aad, size_t aadlen,
                                const unsigned char nonce[AEAD_NONCE_BYTES],
                                const unsigned char key[AEAD_KEY_BYTES]) SESAME_WUR;

/*
 * Verifies and decrypts ctlen bytes (ciphertext then tag) into pt (ctlen - AEAD_TAG_BYTES
 * bytes). Returns ERR_OK, or ERR_CRYPTO when the tag does not verify (pt is then wiped)
 * or ctlen < AEAD_TAG_BYTES.
 */
enum err aead_aes256gcm_decrypt(unsigned char *pt, const unsigned char *ct, size_t ctlen,
                                const unsigned char *aad, size_t aadlen,
                                const unsigned char nonce[AEAD_NONCE_BYTES],
                                const unsigned char key[AEAD_KEY_BYTES]) SESAME_WUR;

/*
 * Seals pt under key with a fresh random nonce: out = nonce || ciphertext || tag
 * (ptlen + AEAD_OVERHEAD bytes, which must fit in cap). *outlen gets the length.
 * Returns ERR_OK, ERR_TOO_LARGE (cap) or ERR_CRYPTO.
 */
enum err aead_seal(unsigned char *out, size_t cap, size_t *outlen, const unsigned char *pt,
                   size_t ptlen, const unsigned char *aad, size_t aadlen,
                   const unsigned char key[AEAD_KEY_BYTES]) SESAME_WUR;

/*
 * Opens the output of aead_seal into out (inlen - AEAD_OVERHEAD bytes, within cap).
 * Returns ERR_OK, ERR_TOO_LARGE (cap), or ERR_CRYPTO (short input or bad tag; out wiped).
 */
enum err aead_open(unsigned char *out, size_t cap, size_t *outlen, const unsigned char *in,
                   size_t inlen, const unsigned char *aad, size_t aadlen,
                   const unsigned char key[AEAD_KEY_BYTES]) SESAME_WUR;

#endif
