/*
 * x25519.h - X25519 key agreement (RFC 7748) and key wrapping: sealing a message
 * (a vault key) to a recipient's public key so that only its secret key opens it
 * (libsodium's sealed boxes: ephemeral X25519 + XSalsa20-Poly1305).
 */
#ifndef SESAME_CRYPTO_X25519_H
#define SESAME_CRYPTO_X25519_H

#include <stddef.h>

#include "common/err.h"

#define X25519_KEY_BYTES     32
#define X25519_SEAL_OVERHEAD 48 /* ephemeral public key + MAC */

/* Makes a key pair: pk (public), sk (secret; should be secure memory). ERR_OK or ERR_CRYPTO. */
enum err x25519_keypair(unsigned char pk[X25519_KEY_BYTES],
                        unsigned char sk[X25519_KEY_BYTES]) SESAME_WUR;

/* Computes pk from sk. Returns ERR_OK or ERR_CRYPTO. */
enum err x25519_public_from_secret(unsigned char pk[X25519_KEY_BYTES],
                                   const unsigned char sk[X25519_KEY_BYTES]) SESAME_WUR;

/*
 * RFC 7748 X25519(scalar, u): writes the shared u-coordinate to out.
 * Returns ERR_OK, or ERR_CRYPTO for a low-order point (all-zero result).
 */
enum err x25519_scalarmult(unsigned char out[X25519_KEY_BYTES],
                           const unsigned char scalar[X25519_KEY_BYTES],
                           const unsigned char u[X25519_KEY_BYTES]) SESAME_WUR;

/*
 * Seals n bytes of msg to pk; writes n + X25519_SEAL_OVERHEAD bytes to out (within cap).
 * Returns ERR_OK, ERR_TOO_LARGE (cap) or ERR_CRYPTO.
 */
enum err x25519_seal(unsigned char *out, size_t cap, size_t *outlen, const unsigned char *msg,
                     size_t n, const unsigned char pk[X25519_KEY_BYTES]) SESAME_WUR;

/*
 * Opens a sealed message with the recipient's key pair into out (n - X25519_SEAL_OVERHEAD
 * bytes, within cap). Returns ERR_OK, ERR_TOO_LARGE, or ERR_CRYPTO (forged, truncated, or
 * sealed to another key; out wiped).
 */
enum err x25519_open(unsigned char *out, size_t cap, size_t *outlen, const unsigned char *in,
                     size_t n, const unsigned char pk[X25519_KEY_BYTES],
                     const unsigned char sk[X25519_KEY_BYTES]) SESAME_WUR;

#endif
