/* arena.c - capped bump allocator made of chained blocks. */
#include "common/arena.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/limits.h"

struct arena_block {
    struct arena_block *ab_next; /* older block */
    size_t ab_size;              /* usable bytes in ab_mem */
    size_t ab_off;               /* bytes used in ab_mem */
    alignas(max_align_t) unsigned char ab_mem[];
};

#define ARENA_ALIGN (alignof(max_align_t))

/* Initialises an empty arena with a cap of max bytes. */
void arena_init(struct arena *a, size_t max)
{
    a->ar_head = NULL;
    a->ar_used = 0;
    a->ar_max = max;
}

/* Returns n aligned bytes from the arena, or NULL. */
void *arena_alloc(struct arena *a, size_t n)
{
    struct arena_block *blk = a->ar_head;
    size_t need, size;
    void *p;

    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    need = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    if (need > a->ar_max || a->ar_used > a->ar_max - need)
        return NULL;
    if (!blk || blk->ab_size - blk->ab_off < need) {
        size = need > ARENA_BLOCK_SIZE ? need : ARENA_BLOCK_SIZE;
        blk = mem_alloc(sizeof(*blk) + size);
        if (!blk)
            return NULL;
        blk->ab_size = size;
        blk->ab_off = 0;
        blk->ab_next = a->ar_head;
        a->ar_head = blk;
    }
    p = blk->ab_mem + blk->ab_off;
    blk->ab_off += need;
    a->ar_used += need;
    return p;
}

/* Returns zeroed memory from the arena, or NULL. */
void *arena_calloc(struct arena *a, size_t n, size_t size)
{
    void *p;

    if (size && n > SIZE_MAX / size)
        return NULL;
    p = arena_alloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

/* Returns an arena copy of the first n bytes of s, NUL-terminated. */
char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p;

    if (n == SIZE_MAX)
        return NULL;
    p = arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Returns an arena copy of s. */
char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

/* Returns arena-owned formatted text, or NULL. */
char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    p = arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* Wipes and frees all blocks. */
void arena_free(struct arena *a)
{
    struct arena_block *blk = a->ar_head, *next;

    while (blk) {
        next = blk->ab_next;
        explicit_bzero(blk->ab_mem, blk->ab_off);
        mem_free(blk);
        blk = next;
    }
    a->ar_head = NULL;
    a->ar_used = 0;
}
