/* alloc.c - heap wrappers with an allocation-failure injector for tests. */
#include "common/alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_long mem_countdown = -1; /* < 0: disarmed; 0: next allocation fails */
static atomic_long mem_count;          /* allocations since the last mem_fail_after() */

static int mem_should_fail(void)
{
    long left;

    atomic_fetch_add(&mem_count, 1);
    left = atomic_load(&mem_countdown);
    while (left >= 0) {
        if (atomic_compare_exchange_weak(&mem_countdown, &left, left - 1))
            return left == 0;
    }
    return 0;
}

/* Returns n bytes or NULL. */
void *mem_alloc(size_t n)
{
    if (mem_should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

/* Returns n*size zeroed bytes or NULL. */
void *mem_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    if (mem_should_fail())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

/* Frees p. */
void mem_free(void *p)
{
    free(p);
}

/* Returns a NUL-terminated copy of the first n bytes of s, or NULL. */
char *mem_strndup(const char *s, size_t n)
{
    char *p;

    if (n == SIZE_MAX)
        return NULL;
    p = mem_alloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Returns a copy of s or NULL. */
char *mem_strdup(const char *s)
{
    return mem_strndup(s, strlen(s));
}

/* Arms or disarms the failure injector; returns allocations counted since the last call. */
long mem_fail_after(long n)
{
    atomic_store(&mem_countdown, n < 0 ? -1 : n);
    return atomic_exchange(&mem_count, 0);
}
