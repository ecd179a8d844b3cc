/* hash.h - SHA-256 and HMAC-SHA-256. */
#ifndef SESAME_CRYPTO_HASH_H
#define SESAME_CRYPTO_HASH_H

#include <stddef.h>

#include "common/err.h"

#define HASH_SHA256_BYTES 32

/* Writes SHA-256(in) to out. Returns ERR_OK or ERR_CRYPTO. */
enum err hash_sha256(unsigned char out[HASH_SHA256_BYTES], const void *in, size_t n) SESAME_WUR;

/* Writes HMAC-SHA-256(key, in) to out. Returns ERR_OK or ERR_CRYPTO. */
enum err hash_hmac_sha256(unsigned char out[HASH_SHA256_BYTES], const void *key, size_t keylen,
                          const void *in, size_t n) SESAME_WUR;

#endif
