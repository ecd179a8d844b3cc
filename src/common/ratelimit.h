/*
 * ratelimit.h - token buckets keyed by short byte strings (a client address, a token's
 * hash): each key may spend `rate` requests per second on average and `burst` at once.
 * A fixed table (RATELIMIT_SLOTS) under one mutex: a key that has not been seen for a
 * while loses its slot to a new one (an evicted bucket starts full again, which only ever
 * errs on the side of letting a request through). Keys are hashed with a per-table random
 * seed, so a client cannot aim its keys at another client's slot.
 */
#ifndef SESAME_COMMON_RATELIMIT_H
#define SESAME_COMMON_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define RATELIMIT_SLOTS 16384 /* buckets per table (a power of two) */
#define RATELIMIT_PROBE 8     /* slots looked at for one key */

struct ratelimit;

/*
 * Makes a table of buckets refilling at rate per second up to burst (both > 0).
 * Returns ERR_OK (*out owned: ratelimit_free), ERR_BAD_INPUT or ERR_NOMEM.
 */
enum err ratelimit_new(struct ratelimit **out, double rate, double burst) SESAME_WUR;

/* Frees rl. NULL is fine. */
void ratelimit_free(struct ratelimit *rl);

/*
 * Spends one request of key's bucket at now_ms (a monotonic clock). Returns 1 when it was
 * there; 0 when the bucket is empty, with *retry_after_s (may be NULL) the whole seconds
 * until one is back (at least 1). With cost 0 it only looks (no spending).
 */
int ratelimit_take(struct ratelimit *rl, const void *key, size_t keylen, unsigned cost,
                   int64_t now_ms, unsigned *retry_after_s);

#endif
