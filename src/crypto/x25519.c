/*
 * x25519.c - X25519 (RFC 7748) and key wrapping with libsodium's sealed boxes
 * (ephemeral X25519 + XSalsa20-Poly1305): out = ephemeral pk (32) || MAC (16) || ciphertext.
 */
#include "crypto/x25519.h"

#include <stdint.h>

#include <sodium.h>

#include "crypto/crypto.h"

#if X25519_KEY_BYTES != crypto_box_PUBLICKEYBYTES ||                                               \
    X25519_KEY_BYTES != crypto_box_SECRETKEYBYTES ||                                               \
    X25519_KEY_BYTES != crypto_scalarmult_BYTES ||                                                 \
    X25519_KEY_BYTES != crypto_scalarmult_SCALARBYTES
#error "X25519_KEY_BYTES does not match libsodium"
#endif
#if X25519_SEAL_OVERHEAD != crypto_box_SEALBYTES
#error "X25519_SEAL_OVERHEAD does not match libsodium"
#endif

/* Makes a fresh key pair from the CSPRNG into pk and sk. Returns ERR_OK or ERR_CRYPTO. */
enum err x25519_keypair(unsigned char pk[X25519_KEY_BYTES], unsigned char sk[X25519_KEY_BYTES])
{
    if (!pk || !sk || sodium_init() < 0)
        return ERR_CRYPTO;
    if (crypto_box_keypair(pk, sk) != 0) {
        secmem_wipe(sk, X25519_KEY_BYTES);
        return ERR_CRYPTO;
    }
    return ERR_OK;
}

/* Writes X25519(sk, 9) to pk. Returns ERR_OK or ERR_CRYPTO. */
enum err x25519_public_from_secret(unsigned char pk[X25519_KEY_BYTES],
                                   const unsigned char sk[X25519_KEY_BYTES])
{
    if (!pk || !sk || sodium_init() < 0)
        return ERR_CRYPTO;
    if (crypto_scalarmult_base(pk, sk) != 0)
        return ERR_CRYPTO;
    return ERR_OK;
}

/*
 * Writes X25519(scalar, u) to out (scalar clamped, top bit of u ignored, as RFC 7748).
 * Returns ERR_OK, or ERR_CRYPTO when u is a low-order point (libsodium refuses those and
 * all-zero results); out is then wiped.
 */
enum err x25519_scalarmult(unsigned char out[X25519_KEY_BYTES],
                           const unsigned char scalar[X25519_KEY_BYTES],
                           const unsigned char u[X25519_KEY_BYTES])
{
    if (!out || !scalar || !u || sodium_init() < 0)
        return ERR_CRYPTO;
    if (crypto_scalarmult(out, scalar, u) != 0) {
        secmem_wipe(out, X25519_KEY_BYTES);
        return ERR_CRYPTO;
    }
    return ERR_OK;
}

/* Seals msg to pk (crypto_box_seal) into out; see x25519.h. */
enum err x25519_seal(unsigned char *out, size_t cap, size_t *outlen, const unsigned char *msg,
                     size_t n, const unsigned char pk[X25519_KEY_BYTES])
{
    if (outlen)
        *outlen = 0;
    if (!out || !outlen || !pk || (!msg && n) || sodium_init() < 0)
        return ERR_CRYPTO;
    if (n > SIZE_MAX - X25519_SEAL_OVERHEAD || n + X25519_SEAL_OVERHEAD > cap ||
        n > crypto_box_MESSAGEBYTES_MAX - X25519_SEAL_OVERHEAD)
        return ERR_TOO_LARGE;
    if (crypto_box_seal(out, n ? msg : out, n, pk) != 0) {
        secmem_wipe(out, n + X25519_SEAL_OVERHEAD);
        return ERR_CRYPTO;
    }
    *outlen = n + X25519_SEAL_OVERHEAD;
    return ERR_OK;
}

/* Opens a sealed box with the recipient's pk and sk into out; see x25519.h. */
enum err x25519_open(unsigned char *out, size_t cap, size_t *outlen, const unsigned char *in,
                     size_t n, const unsigned char pk[X25519_KEY_BYTES],
                     const unsigned char sk[X25519_KEY_BYTES])
{
    unsigned char empty[1];
    size_t mlen;

    if (outlen)
        *outlen = 0;
    if (!outlen || !in || !pk || !sk || n < X25519_SEAL_OVERHEAD || sodium_init() < 0)
        return ERR_CRYPTO;
    mlen = n - X25519_SEAL_OVERHEAD;
    if (mlen > cap)
        return ERR_TOO_LARGE;
    if (!out && mlen)
        return ERR_CRYPTO;
    if (crypto_box_seal_open(mlen ? out : empty, in, n, pk, sk) != 0) {
        if (mlen)
            secmem_wipe(out, mlen);
        return ERR_CRYPTO;
    }
    *outlen = mlen;
    return ERR_OK;
}
