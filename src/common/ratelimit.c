/* ratelimit.c - token buckets. See ratelimit.h. */
#include "common/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include "common/alloc.h"

struct rl_slot {
    uint64_t rs_key;    /* the key's hash; 0 = empty */
    double rs_tokens;   /* requests left */
    int64_t rs_last_ms; /* last refill */
};

struct ratelimit {
    pthread_mutex_t rl_mu;
    double rl_rate;  /* per millisecond */
    double rl_burst; /* bucket size */
    uint64_t rl_seed[2];
    struct rl_slot rl_slots[RATELIMIT_SLOTS];
};

/* Makes a table. See ratelimit.h. */
enum err ratelimit_new(struct ratelimit **out, double rate, double burst)
{
    struct ratelimit *rl;

    *out = NULL;
    if (!(rate > 0) || !(burst >= 1) || !isfinite(rate) || !isfinite(burst))
        return ERR_BAD_INPUT;
    rl = mem_calloc(1, sizeof(*rl));
    if (!rl)
        return ERR_NOMEM;
    if (getrandom(rl->rl_seed, sizeof(rl->rl_seed), 0) != (ssize_t)sizeof(rl->rl_seed) ||
        pthread_mutex_init(&rl->rl_mu, NULL) != 0) {
        mem_free(rl);
        return ERR_NOMEM;
    }
    rl->rl_rate = rate / 1000.0;
    rl->rl_burst = burst;
    *out = rl;
    return ERR_OK;
}

/* Frees a table. See ratelimit.h. */
void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->rl_mu);
    mem_free(rl);
}

/* A 64-bit rotate left. */
static uint64_t rl_rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

/*
 * Hashes key with the table's seed: SipHash-1-3 rounds over 8-byte words (a keyed hash,
 * so collisions cannot be chosen without the seed). Never returns 0.
 */
static uint64_t rl_hash(const struct ratelimit *rl, const unsigned char *p, size_t n)
{
    uint64_t v0 = 0x736f6d6570736575ull ^ rl->rl_seed[0],
             v1 = 0x646f72616e646f6dull ^ rl->rl_seed[1];
    uint64_t v2 = 0x6c7967656e657261ull ^ rl->rl_seed[0],
             v3 = 0x7465646279746573ull ^ rl->rl_seed[1];
    uint64_t m, b = (uint64_t)n << 56;
    size_t i;

#define RL_ROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rl_rotl(v1, 13) ^ v0;                                                                 \
        v0 = rl_rotl(v0, 32);                                                                      \
        v2 += v3;                                                                                  \
        v3 = rl_rotl(v3, 16) ^ v2;                                                                 \
        v0 += v3;                                                                                  \
        v3 = rl_rotl(v3, 21) ^ v0;                                                                 \
        v2 += v1;                                                                                  \
        v1 = rl_rotl(v1, 17) ^ v2;                                                                 \
        v2 = rl_rotl(v2, 32);                                                                      \
    } while (0)
    for (i = 0; i + 8 <= n; i += 8) {
        memcpy(&m, p + i, 8);
        v3 ^= m;
        RL_ROUND;
        v0 ^= m;
    }
    for (; i < n; i++)
        b |= (uint64_t)p[i] << (8 * (i & 7));
    v3 ^= b;
    RL_ROUND;
    v0 ^= b;
    v2 ^= 0xff;
    RL_ROUND;
    RL_ROUND;
    RL_ROUND;
#undef RL_ROUND
    m = v0 ^ v1 ^ v2 ^ v3;
    return m ? m : 1;
}

/* Spends from a bucket. See ratelimit.h. */
int ratelimit_take(struct ratelimit *rl, const void *key, size_t keylen, unsigned cost,
                   int64_t now_ms, unsigned *retry_after_s)
{
    uint64_t h = rl_hash(rl, key, keylen);
    struct rl_slot *s = NULL, *oldest = NULL;
    size_t i, at = (size_t)h & (RATELIMIT_SLOTS - 1);
    int ok;

    pthread_mutex_lock(&rl->rl_mu);
    for (i = 0; i < RATELIMIT_PROBE; i++) {
        struct rl_slot *c = &rl->rl_slots[(at + i) & (RATELIMIT_SLOTS - 1)];

        if (c->rs_key == h) {
            s = c;
            break;
        }
        if (!oldest || c->rs_key == 0 ||
            (oldest->rs_key != 0 && c->rs_last_ms < oldest->rs_last_ms))
            oldest = c;
    }
    if (!s) { /* a new key: the emptiest or stalest slot of its window */
        s = oldest;
        s->rs_key = h;
        s->rs_tokens = rl->rl_burst;
        s->rs_last_ms = now_ms;
    }
    if (now_ms > s->rs_last_ms) {
        s->rs_tokens += (double)(now_ms - s->rs_last_ms) * rl->rl_rate;
        if (s->rs_tokens > rl->rl_burst)
            s->rs_tokens = rl->rl_burst;
        s->rs_last_ms = now_ms;
    }
    ok = s->rs_tokens >= (cost ? (double)cost : 1.0);
    if (ok)
        s->rs_tokens -= cost;
    else if (retry_after_s) {
        double need = (cost ? (double)cost : 1.0) - s->rs_tokens;
        double secs = ceil(need / rl->rl_rate / 1000.0);

        *retry_after_s = secs < 1 ? 1 : secs > 3600 ? 3600 : (unsigned)secs;
    }
    pthread_mutex_unlock(&rl->rl_mu);
    return ok;
}
