/*
 * alloc.h - the project's heap allocation wrappers.
 *
 * All heap memory of our own code goes through these, so that tests can make the
 * n-th allocation fail (curl's "torture" testing) and prove every ERR_NOMEM path
 * cleans up. Libraries (jansson, OpenSSL, SQLite) keep their own allocators.
 */
#ifndef SESAME_COMMON_ALLOC_H
#define SESAME_COMMON_ALLOC_H

#include <stddef.h>

/* Returns n bytes of uninitialised memory, or NULL (also when an injected failure fires). */
void *mem_alloc(size_t n);

/* Returns n*size zeroed bytes, or NULL on overflow or failure. */
void *mem_calloc(size_t n, size_t size);

/* Frees memory from mem_alloc/mem_calloc. NULL is fine. */
void mem_free(void *p);

/* Returns a copy of s (NUL-terminated), or NULL. */
char *mem_strdup(const char *s);

/* Returns a NUL-terminated copy of the first n bytes of s, or NULL. */
char *mem_strndup(const char *s, size_t n);

/*
 * Tunes the C library's malloc for a long-running server (glibc; nothing elsewhere): at
 * most arenas arenas (each thread would otherwise get one that keeps what it freed), and
 * blocks of mmap_bytes or more always mapped and unmapped on their own (glibc otherwise
 * raises that threshold after the first free of a large block, and then keeps every
 * 1 MB file buffer in the heap). Call it before starting threads.
 */
void mem_tune_server(int arenas, size_t mmap_bytes);

/* Returns freed heap memory to the system where the C library keeps it (glibc). */
void mem_trim(void);

/*
 * Test hook: makes the allocation after the next n succeed-able ones fail, once armed;
 * n < 0 disarms. Returns how many allocations were made since the last call.
 */
long mem_fail_after(long n);

#endif
