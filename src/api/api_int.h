/*
 * api_int.h - what the api's source files share (not for other modules): the api context,
 * the in-memory index (index.c), authentication and unlock (auth.c), activity
 * (activity.c), metrics (metrics.c) and the route handlers (handlers.c).
 *
 * Handlers hold no SQL and no crypto: they go through the index (which decrypts) and
 * auth.c (which verifies tokens).
 */
#ifndef SESAME_API_API_INT_H
#define SESAME_API_API_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "bus/bus.h"
#include "common/ratelimit.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/ids.h"
#include "http/server.h"
#include "json/item.h"
#include "json/objects.h"
#include "keys/credentials.h"
#include "keys/token.h"
#include "store/volume.h"

#define API_WATCH_INTERVAL_MS 5 /* how often the watcher looks at the volume */
/* While the api's own writes stream in (one patched in within API_REBUILD_QUIET_MS), the
   watcher rebuilds the index at most once per API_REBUILD_SHARE times the last build took
   (at most a quarter of a core); changes from elsewhere are taken at once. */
#define API_REBUILD_SHARE        4
#define API_INDEX_CHANGES_MAX    512 /* item changes applied to the last index; more: reread */
#define API_REBUILD_QUIET_MS     250
#define API_ACTIVITY_INTERVAL_MS 250   /* how often queued activity is written */
#define API_STATUS_INTERVAL_MS   1000  /* how often it asks sync for its status */
#define API_STATUS_GATED_MS      200   /* ... while the volume is damaged or rebuilt */
#define API_VOLUME_ASK_MS        2000  /* how often it asks sync to check a damaged volume */
#define API_CORRUPT_WAIT_MS      30000 /* at start: a volume too damaged to open, for sync */
#define API_BUS_TIMEOUT_MS       2000  /* one bus call */
#define API_BUS_WRITERS          4     /* bus connections for writes (sync has as many sessions) */
#define API_ACTIVITY_QUEUE       10000 /* activity entries waiting for the volume */
#define API_ACTIVITY_BACKLOG_MAX                                                                   \
    500000 /* entries in the volume waiting for sync's upload (about 250 MB); beyond, new ones     \
              are dropped and counted: under reads faster than the hub takes entries, or with      \
              the hub away, the volume grew without bound (600 MB in a bench session) */
#define API_ACTIVITY_ENTRY_MAX 2048 /* bytes of one entry's JSON text (fields are capped) */
#define API_ACTIVITY_PAGE      50   /* /v1/activity default limit */
#define API_ACTIVITY_MAX_PAGE  1000 /* /v1/activity largest limit */
#define API_TOKEN_CACHE        1024 /* revocation states remembered per generation */
#define API_VERIFIED_CACHE     64   /* verified tokens remembered (direct-mapped) */
#define API_MAX_ROUTES         16   /* routes with their own metrics */
#define API_MAX_STATUSES       12   /* distinct statuses counted per route */
#define API_HIST_BUCKETS       14   /* latency histogram buckets (+Inf apart) */
#define API_NOT_READY_MSG      "failed to initiate, review service logs for details"
#define API_LOCKED_MSG         "Make a request with a valid bearer token to initialize"

/* ---- the index (index.c) ------------------------------------------------------------- */

/* One item's overview, decrypted (shared between index generations while unchanged). */
struct api_item {
    uint64_t ai_born; /* ix_serial of the generation that made it */
    char ai_id[ID_LEN + 1];
    char ai_vault[ID_LEN + 1];
    uint64_t ai_version;
    char ai_state[VOLUME_STATE_MAX];
    char ai_category[VOLUME_CATEGORY_MAX];
    int64_t ai_created_at;
    int64_t ai_updated_at;
    char ai_last_edited_by[ID_LEN + 1];
    json_t *ai_overview;  /* {title, tags, urls, favorite} */
    const char *ai_title; /* in ai_overview ("" when none) */
    char *ai_title_key;   /* filter_fold_key(ai_title): `title eq` without folding per request */
    size_t ai_title_key_len;
    const char **ai_tags; /* in ai_overview */
    size_t ai_ntags;
};

/* A vault key unwrapped from a grant, shared between index generations while the grant
   stays the same (an unwrap is an X25519 operation: not one per vault per change). */
struct api_vkey {
    unsigned vk_refs;          /* atomic */
    unsigned char *vk_key;     /* VAULTCRYPT_KEY_BYTES, secure memory */
    unsigned char *vk_wrapped; /* the grant's wrapped key it was unwrapped from */
    size_t vk_wrapped_len;
};

/* One vault the server holds, with its key and its items sorted by id. */
struct api_vault {
    struct vault_meta av_meta;    /* decrypted name and description, versions, counts */
    unsigned char *av_key;        /* vault key, secure memory (owned by av_vkey) */
    struct api_vkey *av_vkey;     /* the key, shared by generations holding the same grant */
    struct api_item **av_items;   /* live items, oldest first (the listing order) */
    struct api_item **av_byid;    /* the same, sorted by ai_id */
    struct api_item **av_bytitle; /* the same, sorted by title key, then id (`title eq`) */
    size_t av_nitems;
    int av_applied; /* while its generation is built: made from the predecessor's changes */
};

/*
 * An immutable generation of the index; readers hold a reference. Items are shared by
 * consecutive generations without a count per item (touching every item of a 10,000-item
 * vault at each change cost more than the change): a generation made from prev holds a
 * reference from prev (ix_next), so generations are freed oldest first, and it lists the
 * items of prev it no longer holds (ix_retired), which are freed when prev is. The newest
 * generation, freed, frees every item it holds.
 */
struct api_index {
    unsigned ix_refs;             /* atomic */
    uint64_t ix_serial;           /* unique per generation made (ai_born) */
    struct api_index *ix_next;    /* the generation made from this one (a reference), or NULL */
    struct api_item **ix_retired; /* the predecessor's items not in this one */
    size_t ix_nretired, ix_capretired;
    uint64_t ix_generation;      /* the volume generation it reflects */
    uint64_t ix_item_seq;        /* every item change up to this volume seq is in it */
    uint64_t ix_item_epoch;      /* the volume's item epoch it was read in */
    struct api_vault *ix_vaults; /* sorted by id */
    size_t ix_nvaults;
    size_t ix_items; /* items held, all vaults */
};

/*
 * Builds the index of the volume whose meta m was just read, decrypting with the unlocked
 * credentials; unchanged items (same id and version) are taken over from prev (may be
 * NULL). When prev saw the same item rows (the same item epoch) and at most
 * API_INDEX_CHANGES_MAX items changed since, only those are read and applied to prev's
 * vaults; else every item's id and version is read. Returns ERR_OK (*out with one
 * reference), or the error of the volume / crypto. prev must be the newest generation (none
 * made from it yet: ERR_INTERNAL otherwise); on success the new one is its successor.
 */
enum err api_index_build(struct api_index **out, struct volume *v, const struct credentials *cred,
                         struct api_index *prev, const struct volume_meta *m) SESAME_WUR;

/*
 * Derives a new generation from prev (borrowed) with one item of vault changed: m and
 * content (the api's own write, plaintext) replace or add item, or with m NULL the item is
 * removed. Everything else is shared. The result keeps prev's volume generation, so the
 * watcher still reloads from the volume afterwards. Returns ERR_OK (*out, one reference;
 * the successor of prev, as api_index_build), ERR_NOT_FOUND (no such vault in prev) or
 * ERR_NOMEM / ERR_BAD_INPUT / ERR_INTERNAL.
 */
enum err api_index_patch(struct api_index **out, struct api_index *prev, const char *vault,
                         const char *item, const struct item_meta *m,
                         const json_t *content) SESAME_WUR;

/* Takes / drops a reference. NULL is fine for the drop. */
struct api_index *api_index_ref(struct api_index *ix);
void api_index_unref(struct api_index *ix);

/* Finds a vault by id, or NULL. */
const struct api_vault *api_index_vault(const struct api_index *ix, const char *id);

/* Finds an item of a vault by id, or NULL. */
const struct api_item *api_index_item(const struct api_vault *av, const char *id);

/*
 * Finds the items of av whose title key (filter_fold_key) is key (len bytes): at most cap
 * of them into out, in the vault's listing order. Returns how many there are (may be more
 * than cap). Costs a binary search, not a walk over the vault.
 */
size_t api_index_by_title(const struct api_vault *av, const char *key, size_t len,
                          const struct api_item **out, size_t cap);

/* ---- itemcache.c: rendered item bodies in secure memory ------------------------------- */

#define API_ITEM_CACHE_BYTES (4u << 20) /* the ring of rendered bodies (secure memory) */
#define API_ITEM_CACHE_SLOTS 8192       /* entries (a power of two) */

struct api_itemcache;

/*
 * Makes a cache of bytes (at least 4096) of secure memory with slots entries (a power of
 * two, at least 4). Returns ERR_OK (*out owned: api_itemcache_free), ERR_BAD_INPUT or
 * ERR_NOMEM (secure memory refused).
 */
enum err api_itemcache_new(struct api_itemcache **out, size_t bytes, size_t slots) SESAME_WUR;

/* Frees c, wiping its bodies. NULL is fine. */
void api_itemcache_free(struct api_itemcache *c);

/*
 * Looks up the body of (vault, item, version): 1 with it in out, else 0 with out empty
 * (out is emptied first; the caller wipes it with buf_free). c NULL: 0.
 */
int api_itemcache_get(struct api_itemcache *c, const char *vault, const char *item,
                      uint64_t version, struct buf *out);

/*
 * Remembers len bytes of body for (vault, item, version), writing over the oldest bodies
 * (bodies over 1/8 of the ring are not kept). c NULL: nothing.
 */
void api_itemcache_put(struct api_itemcache *c, const char *vault, const char *item,
                       uint64_t version, const void *body, size_t len);

/* Sets *hits and *misses to the lookups so far. */
void api_itemcache_stats(struct api_itemcache *c, uint64_t *hits, uint64_t *misses);

/*
 * Reads item id of vault av from the volume and decrypts it whole: *meta, and *content
 * (overview and details joined; caller decrefs). Returns ERR_OK, ERR_NOT_FOUND, or the
 * error of the volume / crypto.
 */
enum err api_index_item_content(struct volume *v, const struct api_vault *av, const char *id,
                                struct item_meta *meta, json_t **content) SESAME_WUR;

/*
 * Reads and decrypts file id of vault av into out (buf_init'd here; buf_free wipes).
 * Returns ERR_OK, ERR_NOT_FOUND (no such file), ERR_NOT_READY (content not synced yet),
 * or the error of the volume / crypto.
 */
enum err api_index_file_content(struct volume *v, const struct api_vault *av, const char *id,
                                struct buf *out) SESAME_WUR;

/* ---- the api context (api.c) --------------------------------------------------------- */

/* What sync last said over the bus. */
struct api_sync_status {
    int ss_reachable; /* the last bus call was answered */
    int ss_unlocked;
    int ss_connected;
    int64_t ss_last_sync_at;
    uint64_t ss_last_seq;
    int ss_volume_rebuilding;     /* sync rebuilds a damaged volume */
    int64_t ss_volume_checked_ms; /* when sync's last volume check ended (Unix ms) */
    char ss_error[160];
};

/* Request counters and latency histogram of one route. */
struct api_route_metrics {
    const char *rm_route; /* pattern, "" for unmatched */
    int rm_status[API_MAX_STATUSES];
    uint64_t rm_count[API_MAX_STATUSES];
    uint64_t rm_bucket[API_HIST_BUCKETS + 1]; /* cumulative at output; last = +Inf */
    uint64_t rm_sum_us;
    uint64_t rm_total;
};

struct api {
    const struct config *ap_cfg;
    struct credentials *ap_cred;
    struct volume *ap_volume;
    char ap_volume_dir[CONFIG_MAX_PATH + 1];
    struct ratelimit *ap_rl_ip;       /* requests per client address (NULL: no limits) */
    struct ratelimit *ap_rl_token;    /* requests per token */
    struct ratelimit *ap_rl_fail;     /* failed authentications per client address */
    struct http_server *ap_srv;       /* the API: HTTPS when TLS is configured */
    struct http_server *ap_plain_srv; /* TLS only: probes on OP_HTTP_PORT; else NULL */
    unsigned char *ap_bus_key;
    struct api_itemcache *ap_itemcache; /* rendered item bodies (NULL: none) */
    struct bus_client *ap_bus;
    struct bus_client *ap_wbus[API_BUS_WRITERS]; /* writes' connections to sync, in turn */
    unsigned ap_wbus_next;                       /* the next one (atomic) */
    struct api_keyset *ap_keyset;                /* token-signing keys in force (under ap_mu) */
    struct api_verified *ap_verified;            /* API_VERIFIED_CACHE slots (under ap_mu) */
    uint64_t ap_keys_gen;                        /* volume generation they reflect (watcher only) */
    int ap_keys_loaded;

    pthread_mutex_t ap_build_mu; /* one index build at a time (watcher, api_refresh) */
    pthread_mutex_t ap_mu;       /* guards everything below */
    pthread_cond_t ap_cond;      /* wakes the watcher */
    int ap_stop;
    int ap_unlocked;
    unsigned char *ap_unlock;   /* the unlock secret (secure memory) once unlocked */
    int ap_kick;                /* the watcher should act now */
    struct api_index *ap_index; /* the current index, NULL before unlock */
    struct volume_meta ap_meta; /* the volume's meta as last read */
    int ap_meta_ok;
    struct api_sync_status ap_sync;
    char ap_jti_cache[API_TOKEN_CACHE][ID_LEN + 1]; /* revocation states of this generation */
    unsigned char ap_jti_state[API_TOKEN_CACHE];
    size_t ap_njti;
    uint64_t ap_jti_gen;
    char *ap_activity[API_ACTIVITY_QUEUE]; /* entries waiting for the volume */
    size_t ap_nactivity;
    uint64_t ap_activity_dropped;
    uint64_t ap_activity_backlog_max; /* API_ACTIVITY_BACKLOG_MAX (tests lower it) */
    int ap_activity_full;             /* the backlog was at its cap at the last write */
    /* a damaged volume (api.c): data requests answer 503 while ap_vol_gate is set */
    int ap_vol_gate;           /* damaged or being rebuilt: 503, not served */
    int ap_vol_damaged;        /* this api's reads found the database damaged */
    int64_t ap_vol_damaged_ms; /* when (Unix ms) */
    int64_t ap_vol_asked_ms;   /* when sync was last asked to check it (monotonic ms) */
    int ap_was_ready;          /* data was served from a synced volume since start */
    int ap_build_failed;       /* the last index build failed (logged once) */
    int64_t ap_built_ms;       /* when the last index build from the volume ended (ap_build_mu) */
    int64_t ap_build_cost_ms;  /* how long it took */
    int64_t ap_noted_ms;       /* when the api last patched its own write in (ap_build_mu) */

    pthread_mutex_t ap_metrics_mu;
    struct api_route_metrics ap_metrics[API_MAX_ROUTES];
    size_t ap_nmetrics;
    uint64_t ap_unlocks;

    pthread_t ap_watcher;
    int ap_watcher_started;
};

/* Returns the api of a request. */
struct api *api_of(const struct http_request *req);

/* Returns the current Unix time. */
int64_t api_now(void);

/* Returns the current index with a reference (api_index_unref), or NULL while locked. */
struct api_index *api_current_index(struct api *a);

/*
 * Returns 1 when data requests can be served: unlocked, the index built, and the volume
 * synced at least once for this server.
 */
int api_ready(struct api *a);

/*
 * Returns 1 while the volume is damaged or being rebuilt by sync: data requests then answer
 * 503 ERR_CORRUPT ("the volume is being rebuilt") at once instead of anything read from it.
 */
int api_volume_gated(struct api *a);

/* Wakes the watcher (after an unlock). */
void api_kick(struct api *a);

/* Flushes queued activity into the volume (before /v1/activity reads it). */
void api_activity_flush(struct api *a);

/* ---- authentication (auth.c) ----------------------------------------------------------- */

/* The caller of a /v1 request, from its verified token. */
struct api_principal {
    char ap_jti[ID_LEN + 1];
    char ap_server[ID_LEN + 1];  /* uppercase */
    char ap_account[ID_LEN + 1]; /* uppercase */
    struct token_vault ap_vaults[TOKEN_MAX_VAULTS];
    size_t ap_nvaults;
    unsigned ap_retry_after; /* ERR_RATE_LIMITED: seconds for Retry-After (kept on error) */
};

/* The token-signing keys in force: the credentials' and the volume's, minus retired ones. */
struct api_keyset {
    unsigned ks_refs;        /* atomic */
    uint64_t ks_serial;      /* distinct for every keyset built */
    struct jws_key *ks_keys; /* for token_verify */
    size_t ks_nkeys;
    struct jwk *ks_jwks; /* the volume's keys, parsed (ks_keys point into them) */
    size_t ks_njwks;
};

/*
 * Verifies the bearer token of req for this server (signature with the credentials' and
 * the volume's signing keys, sub, exp/nbf, revocation, the unlock secret) and unlocks the
 * api with it if it is locked. Returns ERR_OK with *p filled, ERR_UNAUTHORIZED (the reason
 * is logged only), or ERR_NOMEM / ERR_STORAGE / ERR_INTERNAL.
 */
enum err api_auth_request(struct api *a, struct http_request *req,
                          struct api_principal *p) SESAME_WUR;

/*
 * A token verified earlier, remembered by the SHA-256 of its text so that a client sending
 * the same token again (every SDK does, on every request) skips the ES256 verification.
 * Valid only with the keyset it was verified against and until its exp; revocation is
 * checked on every request regardless. Holds no secret (never the unlock secret).
 */
struct api_verified {
    unsigned char av_hash[32]; /* SHA-256 of the token text */
    uint64_t av_keys;          /* ks_serial of the keyset that verified it; 0 = empty slot */
    int64_t av_exp;            /* the token's exp (0 = none) */
    struct api_principal av_p;
};

/* Returns the TOKEN_ACCESS_* bits p has on vault id (0 when the vault is not in scope). */
unsigned api_auth_access(const struct api_principal *p, const char *vault);

/* Reloads the signing keys from the volume when its generation moved (watcher). */
void api_auth_refresh_keys(struct api *a, uint64_t gen);

/* Frees the signing keys. */
void api_auth_free_keys(struct api *a);

/* ---- activity (activity.c) ------------------------------------------------------------ */

/*
 * Queues one APIRequest entry for req (taken from the principal when p is not NULL).
 * Never fails the request: a full queue drops the entry and counts it.
 */
void api_activity_record(struct api *a, struct http_request *req, const struct api_principal *p,
                         enum activity_action action, enum activity_result result,
                         const char *vault, const char *item, uint64_t item_version);

/* Writes queued entries to the volume (caller holds no lock); returns how many. */
size_t api_activity_write(struct api *a);

/* ---- metrics (metrics.c) ---------------------------------------------------------------- */

/* hc_on_complete: counts one request. */
void api_metrics_on_complete(void *ctx, const char *route, const char *method, int status,
                             int64_t elapsed_us);

/* Renders the Prometheus text exposition into out. Returns ERR_OK or ERR_NOMEM. */
enum err api_metrics_render(struct api *a, struct buf *out) SESAME_WUR;

/* ---- writes (write.c) ------------------------------------------------------------------- */

#define API_WRITE_ATTEMPTS 5 /* tries of a write racing other writers (no client version) */
#define API_HTTP_THREADS   8 /* handler threads of the api's HTTP server */

/*
 * Rate limits (SESAME_RATE_LIMIT_RPS = R requests per second per token; 0 disables all):
 * a token may burst to API_RL_BURST_FACTOR * R; a client address gets API_RL_IP_FACTOR
 * times the token's rate and burst; failed authentications from one address refill at
 * API_RL_FAIL_RPS with a burst of API_RL_FAIL_BURST, and an address that spent them gets
 * 429 before its token is even looked at.
 */
#define API_RL_BURST_FACTOR 2
#define API_RL_IP_FACTOR    2
#define API_RL_FAIL_RPS     5
#define API_RL_FAIL_BURST   50

/*
 * Makes the rate limiters of a from its configuration (none when the rate is 0).
 * Returns ERR_OK or ERR_NOMEM.
 */
enum err api_ratelimit_init(struct api *a) SESAME_WUR;

/*
 * Seals content as version base_version + 1 of item (vault av; category) and has sync
 * write it to the hub and apply the hub's record to the volume (bus op item_put; 0 =
 * create). *out receives the stored item's metadata. Returns ERR_OK, or ERR_CONFLICT (the
 * item moved on: sync has applied the current version to the volume), ERR_NOT_FOUND,
 * ERR_FORBIDDEN, ERR_NOT_READY (sync locked), ERR_UPSTREAM / ERR_TIMEOUT (hub or sync
 * unreachable) or ERR_TOO_LARGE / ERR_NOMEM, with a client-safe errmsg.
 */
enum err api_write_put(struct api *a, const struct api_vault *av, const char *item,
                       const char *category, const json_t *content, uint64_t base_version,
                       int64_t deadline_ms, struct item_meta *out, char *errmsg,
                       size_t errcap) SESAME_WUR;

/* Deletes version base_version of item (bus op item_delete). Errors as api_write_put. */
enum err api_write_delete(struct api *a, const struct api_vault *av, const char *item,
                          uint64_t base_version, int64_t deadline_ms, char *errmsg,
                          size_t errcap) SESAME_WUR;

/*
 * Brings the index up to the volume now. Serialised with the watcher's own rebuilds.
 */
void api_refresh(struct api *a);

/*
 * After a write: puts the written item (m and content; m NULL: removed) into the current
 * index at once, so that the next listing on this server shows it (read-your-writes)
 * without re-reading the vault from the volume. Falls back to api_refresh on failure.
 */
void api_index_note_write(struct api *a, const char *vault, const char *item,
                          const struct item_meta *m, const json_t *content);

/* ---- handlers (handlers.c) -------------------------------------------------------------- */

/* The route table. */
extern const struct http_route api_routes[];
extern const size_t api_nroutes;
extern const struct http_route api_plain_routes[]; /* the plain port of a TLS api */
extern const size_t api_plain_nroutes;

#endif
