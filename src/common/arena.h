/*
 * arena.h - per-request memory arenas (h2o's pools).
 *
 * Everything a request allocates comes from its arena and is released at once when the
 * request completes, so handlers free nothing one by one. An arena has a hard cap:
 * an allocation past it returns NULL, which the caller reports as ERR_TOO_LARGE or
 * ERR_NOMEM. Memory is wiped when the arena is reset or freed.
 */
#ifndef SESAME_COMMON_ARENA_H
#define SESAME_COMMON_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
    struct arena_block *ar_head; /* most recent block, chained to older ones */
    size_t ar_used;              /* bytes handed out, with alignment padding */
    size_t ar_max;               /* the most bytes this arena may hand out */
};

/* Initialises an empty arena that may hand out up to max bytes. Allocates nothing. */
void arena_init(struct arena *a, size_t max);

/* Returns n bytes aligned for any type, owned by the arena; NULL when over the cap or OOM. */
void *arena_alloc(struct arena *a, size_t n);

/* Returns n*size zeroed bytes owned by the arena, or NULL (also on overflow). */
void *arena_calloc(struct arena *a, size_t n, size_t size);

/* Returns an arena-owned NUL-terminated copy of the first n bytes of s, or NULL. */
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* Returns an arena-owned copy of s, or NULL. */
char *arena_strdup(struct arena *a, const char *s);

/* Returns arena-owned printf-formatted text, or NULL. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Wipes and frees every block; the arena is empty again and may be reused. */
void arena_free(struct arena *a);

#endif
