/* kdf.h - HKDF-SHA-256 (RFC 5869) and Argon2id (RFC 9106, libsodium). */
#ifndef SESAME_CRYPTO_KDF_H
#define SESAME_CRYPTO_KDF_H

#include <stddef.h>

#include "common/err.h"

#define KDF_HKDF_MAX_OUT        (255 * 32) /* RFC 5869: 255 * HashLen */
#define KDF_ARGON2ID_SALT_BYTES 16
/* Parameters for passphrase-protected account kits (libsodium's "moderate"). */
#define KDF_ARGON2ID_OPS_DEFAULT 3ULL
#define KDF_ARGON2ID_MEM_DEFAULT (256u << 20)
/* Bounds accepted when reading parameters from a file (minimums are libsodium's). */
#define KDF_ARGON2ID_OPS_MIN 1ULL
#define KDF_ARGON2ID_OPS_MAX 16ULL /* upper bound accepted when reading a file */
#define KDF_ARGON2ID_MEM_MIN 8192u
#define KDF_ARGON2ID_MEM_MAX (1u << 30)

/*
 * HKDF-SHA-256: derives outlen bytes (<= KDF_HKDF_MAX_OUT) from ikm, salt (may be empty)
 * and info (may be empty) into out. Returns ERR_OK, ERR_BAD_INPUT or ERR_CRYPTO.
 */
enum err kdf_hkdf_sha256(unsigned char *out, size_t outlen, const unsigned char *ikm, size_t ikmlen,
                         const unsigned char *salt, size_t saltlen, const unsigned char *info,
                         size_t infolen) SESAME_WUR;

/*
 * Argon2id (version 0x13, one lane, as libsodium's crypto_pwhash): derives outlen bytes
 * (16..1024) from pass and a 16-byte salt with opslimit passes over memlimit bytes.
 * opslimit must be in KDF_ARGON2ID_OPS_MIN..KDF_ARGON2ID_OPS_MAX and memlimit in
 * KDF_ARGON2ID_MEM_MIN..KDF_ARGON2ID_MEM_MAX. Returns ERR_OK, ERR_BAD_INPUT (parameters
 * out of range), ERR_NOMEM, or ERR_CRYPTO (libsodium failed to initialise).
 */
enum err kdf_argon2id(unsigned char *out, size_t outlen, const char *pass, size_t passlen,
                      const unsigned char salt[KDF_ARGON2ID_SALT_BYTES],
                      unsigned long long opslimit, size_t memlimit) SESAME_WUR;

#endif
