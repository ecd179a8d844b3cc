/*
 * itemcache.c - the rendered bodies of recently read items (GET .../items/{id}), so that a
 * client polling the same items is answered without a volume read, two decryptions and a
 * JSON rendering each time (docs/benchmarks.md).
 *
 * The bodies hold secrets, so they live in one block of secure memory (locked, guarded,
 * wiped when freed): a ring of API_ITEM_CACHE_BYTES written at an ever-growing position
 * (ic_head), and a table of API_ITEM_CACHE_SLOTS entries naming (vault, item, version) and
 * where their bytes start. An entry is valid while the ring has not written over it
 * (ic_head - start <= ring size); a new version of an item is a new key, so a changed item
 * is never served from an old entry, and the old one ages out. Items with OTP fields are
 * not cached (their codes change every period). One mutex guards it all; a hit copies at
 * most one body under it.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "api/api_int.h"
#include "common/alloc.h"
#include "crypto/crypto.h"

#define IC_PROBE 4 /* slots looked at for one key */

struct ic_slot {
    char is_vault[ID_LEN + 1];
    char is_item[ID_LEN + 1];
    uint64_t is_version;
    uint64_t is_start; /* ring position of the first byte; 0 with is_len 0: empty */
    size_t is_len;
};

struct api_itemcache {
    pthread_mutex_t ic_mu;
    unsigned char *ic_ring; /* secure memory, ic_size bytes */
    size_t ic_size;
    uint64_t ic_head; /* bytes ever written */
    struct ic_slot *ic_slots;
    size_t ic_nslots; /* a power of two */
    uint64_t ic_hits, ic_misses;
};

/* FNV-1a over the key: which slots it may take. */
static size_t ic_hash(const char *vault, const char *item, uint64_t version)
{
    uint64_t h = 1469598103934665603u;
    const char *s;

    for (s = vault; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    for (s = item; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    h = (h ^ version) * 1099511628211u;
    return (size_t)(h ^ (h >> 29));
}

/* Returns 1 when slot still holds bytes the ring has not written over. */
static int ic_live(const struct api_itemcache *c, const struct ic_slot *sl)
{
    return sl->is_len > 0 && c->ic_head - sl->is_start <= c->ic_size;
}

static int ic_same(const struct ic_slot *sl, const char *vault, const char *item, uint64_t version)
{
    return sl->is_version == version && strcmp(sl->is_item, item) == 0 &&
           strcmp(sl->is_vault, vault) == 0;
}

/* Writes len bytes of p into the ring at position pos (wrapping). */
static void ic_write(struct api_itemcache *c, uint64_t pos, const unsigned char *p, size_t len)
{
    size_t at = (size_t)(pos % c->ic_size), first = c->ic_size - at;

    if (first > len)
        first = len;
    memcpy(c->ic_ring + at, p, first);
    memcpy(c->ic_ring, p + first, len - first);
}

/* Appends len bytes of the ring at position pos (wrapping) to out. */
static enum err ic_read(const struct api_itemcache *c, uint64_t pos, size_t len, struct buf *out)
{
    size_t at = (size_t)(pos % c->ic_size), first = c->ic_size - at;
    enum err rc;

    if (first > len)
        first = len;
    rc = buf_add(out, c->ic_ring + at, first);
    if (rc == ERR_OK && len > first)
        rc = buf_add(out, c->ic_ring, len - first);
    return rc;
}

/* Makes a cache (see api_int.h). */
enum err api_itemcache_new(struct api_itemcache **out, size_t bytes, size_t slots)
{
    struct api_itemcache *c;

    *out = NULL;
    if (bytes < 4096 || slots < IC_PROBE || (slots & (slots - 1)) != 0)
        return ERR_BAD_INPUT;
    c = mem_calloc(1, sizeof(*c));
    if (!c)
        return ERR_NOMEM;
    c->ic_ring = secmem_alloc(bytes);
    c->ic_slots = mem_calloc(slots, sizeof(*c->ic_slots));
    if (!c->ic_ring || !c->ic_slots) {
        api_itemcache_free(c);
        return ERR_NOMEM;
    }
    pthread_mutex_init(&c->ic_mu, NULL);
    c->ic_size = bytes;
    c->ic_nslots = slots;
    *out = c;
    return ERR_OK;
}

/* Frees c (its ring wiped). NULL is fine. */
void api_itemcache_free(struct api_itemcache *c)
{
    if (!c)
        return;
    if (c->ic_ring) {
        secmem_free(c->ic_ring);
        pthread_mutex_destroy(&c->ic_mu);
    }
    mem_free(c->ic_slots);
    mem_free(c);
}

/* Looks a body up (see api_int.h). */
int api_itemcache_get(struct api_itemcache *c, const char *vault, const char *item,
                      uint64_t version, struct buf *out)
{
    size_t h, i;
    int hit = 0;

    buf_reset(out);
    if (!c)
        return 0;
    h = ic_hash(vault, item, version);
    pthread_mutex_lock(&c->ic_mu);
    for (i = 0; i < IC_PROBE; i++) {
        struct ic_slot *sl = &c->ic_slots[(h + i) & (c->ic_nslots - 1)];

        if (ic_live(c, sl) && ic_same(sl, vault, item, version)) {
            hit = ic_read(c, sl->is_start, sl->is_len, out) == ERR_OK;
            if (!hit)
                buf_reset(out);
            break;
        }
    }
    if (hit)
        c->ic_hits++;
    else
        c->ic_misses++;
    pthread_mutex_unlock(&c->ic_mu);
    return hit;
}

/* Remembers a body (see api_int.h). */
void api_itemcache_put(struct api_itemcache *c, const char *vault, const char *item,
                       uint64_t version, const void *body, size_t len)
{
    struct ic_slot *victim = NULL;
    size_t h, i;

    if (!c || len == 0 || len > c->ic_size / 8 || strlen(vault) > ID_LEN || strlen(item) > ID_LEN)
        return;
    h = ic_hash(vault, item, version);
    pthread_mutex_lock(&c->ic_mu);
    for (i = 0; i < IC_PROBE; i++) {
        struct ic_slot *sl = &c->ic_slots[(h + i) & (c->ic_nslots - 1)];

        if (!ic_live(c, sl) || ic_same(sl, vault, item, version)) {
            victim = sl;
            break;
        }
        if (!victim || sl->is_start < victim->is_start)
            victim = sl; /* else the oldest of the probed slots */
    }
    ic_write(c, c->ic_head, body, len);
    memcpy(victim->is_vault, vault, strlen(vault) + 1);
    memcpy(victim->is_item, item, strlen(item) + 1);
    victim->is_version = version;
    victim->is_start = c->ic_head;
    victim->is_len = len;
    c->ic_head += len;
    pthread_mutex_unlock(&c->ic_mu);
}

/* Returns the hits and misses so far (metrics). */
void api_itemcache_stats(struct api_itemcache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = *misses = 0;
    if (!c)
        return;
    pthread_mutex_lock(&c->ic_mu);
    *hits = c->ic_hits;
    *misses = c->ic_misses;
    pthread_mutex_unlock(&c->ic_mu);
}
