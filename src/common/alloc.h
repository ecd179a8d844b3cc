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
 * Test hook: makes the allocation after the next n succeed-able ones fail, once armed;
 * n < 0 disarms. Returns how many allocations were made since the last call.
 */
long mem_fail_after(long n);

#endif
