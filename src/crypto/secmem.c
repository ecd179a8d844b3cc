/*
 * secmem.c - process set-up, randomness, constant-time comparison and secure memory
 * (libsodium for all of them; OpenSSL is only initialised here).
 */
#include "crypto/crypto.h"

#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <openssl/crypto.h>
#include <sodium.h>

#define CRYPTO_SECURE_HEAP_BYTES   (64 * 1024) /* OpenSSL secure heap: a power of two */
#define CRYPTO_SECURE_HEAP_MINSIZE 32          /* its smallest allocation */

static pthread_once_t crypto_lib_once = PTHREAD_ONCE_INIT;
static enum err crypto_lib_rc = ERR_CRYPTO;

/*
 * jansson holds decrypted item contents (field values) while a request is served: its
 * memory is wiped when freed, so that no secret outlives its JSON tree in the heap.
 */
static void *crypto_json_malloc(size_t n)
{
    return malloc(n);
}

static void crypto_json_free(void *p)
{
    if (p) {
        explicit_bzero(p, malloc_usable_size(p));
        free(p);
    }
}

/*
 * Runs once per process: libsodium (CSPRNG, page size for sodium_malloc), OpenSSL, and the
 * wiping allocator for jansson (both allocators are malloc underneath, so memory jansson
 * allocated before this point is still freed correctly).
 */
static void crypto_lib_init_once(void)
{
    json_set_alloc_funcs(crypto_json_malloc, crypto_json_free);
    if (sodium_init() < 0)
        return;
    if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL) != 1)
        return;
    /*
     * OpenSSL's "secure heap" keeps private scalars (P-256 keys) in locked, guarded memory.
     * Failing to set it up (no mlock allowance) is not fatal: OpenSSL then falls back to
     * the ordinary heap, still clearing on free, and core dumps are off anyway.
     */
    if (CRYPTO_secure_malloc_initialized() == 0)
        (void)CRYPTO_secure_malloc_init(CRYPTO_SECURE_HEAP_BYTES, CRYPTO_SECURE_HEAP_MINSIZE);
    crypto_lib_rc = ERR_OK;
}

/* Initialises the libraries once (thread-safe); returns the result of that one run. */
static enum err crypto_lib_init(void)
{
    if (pthread_once(&crypto_lib_once, crypto_lib_init_once) != 0)
        return ERR_CRYPTO;
    return crypto_lib_rc;
}

/*
 * Initialises libsodium and OpenSSL once, then turns core dumps off (RLIMIT_CORE soft and
 * hard limits 0, and the process not dumpable). Repeating it is harmless.
 * Returns ERR_OK or ERR_CRYPTO.
 */
enum err crypto_init(void)
{
    struct rlimit rl = {.rlim_cur = 0, .rlim_max = 0};
    enum err rc;

    rc = crypto_lib_init();
    if (rc != ERR_OK)
        goto out;
    if (setrlimit(RLIMIT_CORE, &rl) != 0) {
        rc = ERR_CRYPTO;
        goto out;
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        rc = ERR_CRYPTO;
        goto out;
    }
out:
    return rc;
}

/* Fills out with n CSPRNG bytes (libsodium's randombytes, i.e. getrandom()). */
enum err crypto_random(void *out, size_t n)
{
    if (n == 0)
        return ERR_OK;
    if (!out || crypto_lib_init() != ERR_OK)
        return ERR_CRYPTO;
    randombytes_buf(out, n);
    return ERR_OK;
}

/* Returns a uniform value in [0, upper) without modulo bias; 0 when upper < 2. */
uint32_t crypto_random_uniform(uint32_t upper)
{
    if (upper < 2 || crypto_lib_init() != ERR_OK)
        return 0;
    return randombytes_uniform(upper);
}

/* Constant-time comparison of n bytes; returns 1 when equal (always for n == 0). */
int crypto_memeq(const void *a, const void *b, size_t n)
{
    if (n == 0)
        return 1;
    return sodium_memcmp(a, b, n) == 0;
}

/* Returns n bytes of guarded, mlock'ed, MADV_DONTDUMP memory (sodium_malloc), or NULL. */
void *secmem_alloc(size_t n)
{
    if (crypto_lib_init() != ERR_OK)
        return NULL;
    return sodium_malloc(n);
}

/* Wipes and frees memory from secmem_alloc (sodium_free wipes and unlocks). NULL is fine. */
void secmem_free(void *p)
{
    if (p)
        sodium_free(p);
}

/* Wipes n bytes at p (sodium_memzero: not optimised away). NULL/0 is fine. */
void secmem_wipe(void *p, size_t n)
{
    if (p && n)
        sodium_memzero(p, n);
}
