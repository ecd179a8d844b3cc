/* alloc.c - heap wrappers with an allocation-failure injector for tests. */
#include "common/alloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_long mem_countdown = -1; /* < 0: disarmed; 0: next allocation fails */
static atomic_long mem_count;          /* allocations since the last mem_fail_after() */
static atomic_long mem_total;          /* allocations since the process started */
static const char *mem_count_file;     /* SESAME_ALLOC_COUNT_FILE */

/* Writes the process's allocation count to SESAME_ALLOC_COUNT_FILE (torture runs). */
static void mem_write_count(void)
{
    char line[32];
    int n;
    FILE *f = fopen(mem_count_file, "we");

    if (!f)
        return;
    n = snprintf(line, sizeof(line), "%ld\n", atomic_load(&mem_total));
    if (n > 0)
        (void)fwrite(line, 1, (size_t)n, f);
    (void)fclose(f);
}

/*
 * Torture runs (scripts/torture.sh): SESAME_ALLOC_FAIL_AT=N makes the process's N-th
 * allocation through this module fail (0 = the first), as mem_fail_after(N) would; and
 * SESAME_ALLOC_COUNT_FILE=PATH receives the number of allocations made, at exit.
 */
__attribute__((constructor)) static void mem_torture_init(void)
{
    const char *at = getenv("SESAME_ALLOC_FAIL_AT");
    const char *file = getenv("SESAME_ALLOC_COUNT_FILE");
    char *end = NULL;
    long n;

    if (at && *at) {
        errno = 0;
        n = strtol(at, &end, 10);
        if (errno == 0 && end && *end == '\0' && n >= 0)
            atomic_store(&mem_countdown, n);
    }
    if (file && *file) {
        mem_count_file = file;
        (void)atexit(mem_write_count);
    }
}

static int mem_should_fail(void)
{
    long left;

    atomic_fetch_add(&mem_count, 1);
    atomic_fetch_add(&mem_total, 1);
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
