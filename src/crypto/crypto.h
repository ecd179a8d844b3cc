/*
 * crypto.h - process set-up, randomness, constant-time comparison, secure memory.
 *
 * src/crypto/ is the only code that includes libsodium or OpenSSL headers; the rest of
 * Sesame sees only these headers. Key material and decrypted secrets live in secure
 * memory: locked (never swapped), excluded from core dumps, guarded, wiped on free.
 */
#ifndef SESAME_CRYPTO_CRYPTO_H
#define SESAME_CRYPTO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/*
 * Initialises libsodium and OpenSSL and disables core dumps (RLIMIT_CORE = 0 and
 * PR_SET_DUMPABLE = 0). Call once at start-up, before any thread is created; later calls
 * are no-ops. Returns ERR_OK or ERR_CRYPTO.
 */
enum err crypto_init(void) SESAME_WUR;

/* Fills out with n bytes from the OS CSPRNG. Returns ERR_OK or ERR_CRYPTO. */
enum err crypto_random(void *out, size_t n) SESAME_WUR;

/* Returns a uniformly random integer in [0, upper) (0 when upper < 2). */
uint32_t crypto_random_uniform(uint32_t upper);

/* Compares n bytes of a and b in time independent of their contents. Returns 1 if equal. */
int crypto_memeq(const void *a, const void *b, size_t n);

/* Returns n bytes of secure memory (guarded, locked, not dumped), or NULL. */
void *secmem_alloc(size_t n);

/* Wipes and frees memory from secmem_alloc. NULL is fine. */
void secmem_free(void *p);

/* Wipes n bytes at p in a way the compiler cannot remove. */
void secmem_wipe(void *p, size_t n);

#endif
