/*
 * api.c - the api process's context: start-up (credentials, volume, bus client, HTTP
 * server) and the watcher thread, which keeps the in-memory state in step with the
 * volume that sync writes:
 *   - every API_WATCH_INTERVAL_MS it reads the volume's meta; when the generation moved it
 *     reloads the token-signing keys and, once unlocked, builds a new index generation
 *     (unchanged items shared) and swaps it in;
 *   - it wakes requests waiting for sync (OP_SYNC_TIMEOUT) when readiness may have changed;
 *   - every API_STATUS_INTERVAL_MS (and at once after an unlock) it asks sync for its
 *     status over the bus and sends the unlock secret when sync is locked (first unlock,
 *     or sync restarted);
 *   - every API_ACTIVITY_INTERVAL_MS it writes the queued activity entries to the volume in
 *     one transaction;
 *   - when the volume is damaged (a read of this process found it so) or sync rebuilds it,
 *     it closes the gate (api_volume_gated: data requests answer 503 "the volume is being
 *     rebuilt"), asks sync to check the volume ({"op":"volume_check"}), and opens the gate
 *     again only once sync has checked or rebuilt it, the rebuilt volume is in step with the
 *     hub and the index was built from it. The volume is rebuilt in place through SQLite
 *     (volume_rebuild), so this process's connections stay valid and see the new database.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api_int.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/version.h"
#include "crypto/crypto.h"

static void api_activity_notify(struct api *a);

/* Returns the api of a request. */
struct api *api_of(const struct http_request *req)
{
    return http_request_context(req);
}

/* Returns the current Unix time. */
int64_t api_now(void)
{
    return (int64_t)time(NULL);
}

/* Returns the current index with a reference, or NULL. */
struct api_index *api_current_index(struct api *a)
{
    struct api_index *ix;

    pthread_mutex_lock(&a->ap_mu);
    ix = api_index_ref(a->ap_index);
    pthread_mutex_unlock(&a->ap_mu);
    return ix;
}

/* Returns 1 when data requests can be served (see api_int.h). */
int api_ready(struct api *a)
{
    int ok;

    pthread_mutex_lock(&a->ap_mu);
    ok = a->ap_unlocked && a->ap_index && a->ap_meta_ok && a->ap_meta.vm_last_sync_at > 0 &&
         strcmp(a->ap_meta.vm_server, credentials_server_id(a->ap_cred)) == 0;
    pthread_mutex_unlock(&a->ap_mu);
    return ok;
}

/* Returns 1 while data requests must answer 503 (see api_int.h). */
int api_volume_gated(struct api *a)
{
    int g;

    pthread_mutex_lock(&a->ap_mu);
    g = a->ap_vol_gate;
    pthread_mutex_unlock(&a->ap_mu);
    return g;
}

/* Returns the current time in Unix milliseconds. */
static int64_t api_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wakes the watcher. */
void api_kick(struct api *a)
{
    pthread_mutex_lock(&a->ap_mu);
    a->ap_kick = 1;
    pthread_cond_broadcast(&a->ap_cond);
    pthread_mutex_unlock(&a->ap_mu);
}

/* Flushes queued activity into the volume. */
void api_activity_flush(struct api *a)
{
    if (api_activity_write(a) > 0)
        api_activity_notify(a);
}

/* Asks sync for its status; sends the unlock secret when sync is locked and we are not. */
static void api_watch_bus(struct api *a)
{
    struct bus_msg req, resp;
    struct api_sync_status st;
    unsigned char secret[TOKEN_UNLOCK_BYTES];
    int have_secret = 0;
    enum err rc;

    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    memset(&st, 0, sizeof(st));
    req.bm_json = json_pack("{s:s}", "op", "status");
    if (!req.bm_json)
        return;
    rc = bus_client_call(a->ap_bus, &req, &resp, API_BUS_TIMEOUT_MS);
    json_decref(req.bm_json);
    req.bm_json = NULL;
    if (rc == ERR_OK && json_is_true(json_object_get(resp.bm_json, "ok"))) {
        const char *e = json_string_value(json_object_get(resp.bm_json, "lastError"));

        st.ss_reachable = 1;
        st.ss_unlocked = json_is_true(json_object_get(resp.bm_json, "unlocked"));
        st.ss_connected = json_is_true(json_object_get(resp.bm_json, "connected"));
        st.ss_last_sync_at = json_integer_value(json_object_get(resp.bm_json, "lastSyncAt"));
        st.ss_last_seq = (uint64_t)json_integer_value(json_object_get(resp.bm_json, "lastSeq"));
        st.ss_volume_rebuilding = json_is_true(json_object_get(resp.bm_json, "volumeRebuilding"));
        st.ss_volume_checked_ms =
            (int64_t)json_integer_value(json_object_get(resp.bm_json, "volumeCheckedAt"));
        (void)snprintf(st.ss_error, sizeof(st.ss_error), "%s", e ? e : "");
    } else if (rc != ERR_OK) {
        (void)snprintf(st.ss_error, sizeof(st.ss_error),
                       "the sync process does not answer on the bus (%s)", err_name(rc));
    }
    bus_msg_clear(&resp);
    pthread_mutex_lock(&a->ap_mu);
    if (st.ss_reachable && !st.ss_unlocked && a->ap_unlocked) {
        memcpy(secret, a->ap_unlock, sizeof(secret));
        have_secret = 1;
    }
    a->ap_sync = st;
    pthread_mutex_unlock(&a->ap_mu);
    if (!have_secret)
        return;
    req.bm_json = json_pack("{s:s}", "op", "unlock");
    req.bm_secret = secmem_alloc(sizeof(secret));
    if (req.bm_json && req.bm_secret) {
        memcpy(req.bm_secret, secret, sizeof(secret));
        req.bm_secret_len = sizeof(secret);
        rc = bus_client_call(a->ap_bus, &req, &resp, API_BUS_TIMEOUT_MS);
        if (rc == ERR_OK && json_is_true(json_object_get(resp.bm_json, "ok"))) {
            log_info("api: sync unlocked");
            pthread_mutex_lock(&a->ap_mu);
            a->ap_sync.ss_unlocked = 1;
            pthread_mutex_unlock(&a->ap_mu);
        } else {
            log_warn("api: sync did not accept the unlock (%s)",
                     rc != ERR_OK ? err_name(rc) : "refused");
        }
    }
    secmem_wipe(secret, sizeof(secret));
    bus_msg_clear(&req);
    bus_msg_clear(&resp);
}

/* Asks sync over the bus to check (and if need be rebuild) the volume (best effort);
 * damaged: SQLite reported the database damaged (not only a file content). */
static void api_ask_volume_check(struct api *a, int damaged, int64_t seen_ms)
{
    struct bus_msg req, resp;

    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.bm_json = json_pack("{s:s, s:b, s:I}", "op", "volume_check", "damaged", damaged, "seenAt",
                            (json_int_t)seen_ms);
    if (req.bm_json && bus_client_call(a->ap_bus, &req, &resp, API_BUS_TIMEOUT_MS) != ERR_OK)
        log_warn("api: sync did not take the request to check the volume; asked again");
    bus_msg_clear(&req);
    bus_msg_clear(&resp);
}

/* Tells sync over the bus that activity entries wait in the volume (best effort). */
static void api_activity_notify(struct api *a)
{
    struct bus_msg req, resp;

    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.bm_json = json_pack("{s:s}", "op", "activity");
    if (req.bm_json && bus_client_call(a->ap_bus, &req, &resp, API_BUS_TIMEOUT_MS) != ERR_OK)
        log_debug("api: sync did not take the activity notice");
    bus_msg_clear(&req);
    bus_msg_clear(&resp);
}

static void api_watch_volume_locked(struct api *a, int now_please);

/* One look at the volume: meta, keys, and (unlocked) a new index when it changed. */
static void api_watch_volume(struct api *a)
{
    pthread_mutex_lock(&a->ap_build_mu);
    api_watch_volume_locked(a, 0);
    pthread_mutex_unlock(&a->ap_build_mu);
}

/* Brings the index up to the volume now (see api_int.h). */
void api_refresh(struct api *a)
{
    pthread_mutex_lock(&a->ap_build_mu);
    api_watch_volume_locked(a, 1);
    pthread_mutex_unlock(&a->ap_build_mu);
}

/* Puts one written item into the current index (see api_int.h). */
void api_index_note_write(struct api *a, const char *vault, const char *item,
                          const struct item_meta *m, const json_t *content)
{
    struct api_index *prev, *ix = NULL;
    enum err rc;

    pthread_mutex_lock(&a->ap_build_mu);
    prev = api_current_index(a);
    rc = api_index_patch(&ix, prev, vault, item, m, content);
    api_index_unref(prev);
    a->ap_noted_ms = http_clock_ms();
    if (rc == ERR_OK) {
        pthread_mutex_lock(&a->ap_mu);
        prev = a->ap_index;
        a->ap_index = ix;
        pthread_mutex_unlock(&a->ap_mu);
        api_index_unref(prev);
    } else {
        api_watch_volume_locked(a, 1);
    }
    pthread_mutex_unlock(&a->ap_build_mu);
}

/*
 * Notes damage this process found (a read or the meta) and asks sync for a check at most
 * every API_VOLUME_ASK_MS while it lasts; closes the gate at once. With ap_build_mu held.
 */
static void api_watch_damage(struct api *a, int damaged, int file_bad)
{
    int64_t now = http_clock_ms(), seen;
    int ask = 0, first = 0, bad;

    pthread_mutex_lock(&a->ap_mu);
    if (damaged && !a->ap_vol_damaged) {
        a->ap_vol_damaged = 1;
        a->ap_vol_damaged_ms = api_wall_ms();
        a->ap_vol_gate = 1;
        first = 1;
    }
    if (a->ap_vol_damaged && a->ap_sync.ss_volume_checked_ms >= a->ap_vol_damaged_ms &&
        !a->ap_sync.ss_volume_rebuilding && !damaged)
        a->ap_vol_damaged = 0; /* sync checked (and rebuilt) it since */
    if ((first || file_bad ||
         (a->ap_vol_damaged && now - a->ap_vol_asked_ms >= API_VOLUME_ASK_MS))) {
        a->ap_vol_asked_ms = now;
        ask = 1;
    }
    bad = a->ap_vol_damaged;
    seen = a->ap_vol_damaged ? a->ap_vol_damaged_ms : api_wall_ms();
    pthread_mutex_unlock(&a->ap_mu);
    if (first)
        log_error("api: the volume database is damaged: data requests answer 503 until sync "
                  "has checked and rebuilt it");
    if (ask)
        api_ask_volume_check(a, bad, seen);
}

/* api_watch_volume with ap_build_mu held. */
static void api_watch_volume_locked(struct api *a, int now_please)
{
    struct volume_meta m;
    struct api_index *prev, *ix = NULL;
    int unlocked, rebuild, synced, want_gate, damaged, file_bad;
    int64_t t0 = http_clock_ms();
    enum err rc;

    memset(&m, 0, sizeof(m));
    rc = volume_meta_get(a->ap_volume, &m);
    damaged = volume_take_corrupt(a->ap_volume) || rc == ERR_CORRUPT;
    file_bad = volume_take_file_corrupt(a->ap_volume);
    if (damaged || file_bad || a->ap_vol_damaged)
        api_watch_damage(a, damaged, file_bad);
    if (rc != ERR_OK) {
        volume_meta_clear(&m);
        return;
    }
    api_auth_refresh_keys(a, m.vm_generation);
    synced = m.vm_last_sync_at > 0 && strcmp(m.vm_server, credentials_server_id(a->ap_cred)) == 0;
    pthread_mutex_lock(&a->ap_mu);
    /* the gate closes before the new meta is published: a volume emptied by a rebuild
       (synced no more) is never served from */
    want_gate =
        a->ap_vol_damaged || a->ap_sync.ss_volume_rebuilding || (a->ap_was_ready && !synced);
    if (want_gate && !a->ap_vol_gate) {
        a->ap_vol_gate = 1;
        log_warn("api: the volume is being rebuilt by sync: data requests answer 503 meanwhile");
    }
    volume_meta_clear(&a->ap_meta);
    a->ap_meta = m;
    a->ap_meta_ok = 1;
    unlocked = a->ap_unlocked;
    /* a damaged database is not read into the index: it would fail, or worse */
    rebuild = unlocked && !a->ap_vol_damaged &&
              (!a->ap_index || a->ap_index->ix_generation != m.vm_generation);
    /* Paced while this api's own writes stream in: a build reads every item of the volume,
       those writes change it every few ms, and they are in the index already (note_write).
       Changes from elsewhere (other servers' writes, propagation) are taken at once. */
    if (rebuild && !now_please && a->ap_index && t0 - a->ap_noted_ms < API_REBUILD_QUIET_MS &&
        t0 - a->ap_built_ms < (API_REBUILD_SHARE - 1) * a->ap_build_cost_ms)
        rebuild = 0;
    prev = rebuild ? api_index_ref(a->ap_index) : NULL;
    pthread_mutex_unlock(&a->ap_mu);
    if (rebuild) {
        rc = api_index_build(&ix, a->ap_volume, a->ap_cred, prev, &m);
        api_index_unref(prev);
        if (rc != ERR_OK) {
            if (!a->ap_build_failed)
                log_error("api: cannot load the volume into memory (%s); retrying", err_name(rc));
            else
                log_debug("api: cannot load the volume into memory (%s); retrying", err_name(rc));
            a->ap_build_failed = 1;
            return;
        }
        if (a->ap_build_failed)
            log_info("api: the volume is loaded into memory again");
        a->ap_build_failed = 0;
        a->ap_built_ms = http_clock_ms();
        a->ap_build_cost_ms = a->ap_built_ms - t0;
        pthread_mutex_lock(&a->ap_mu);
        prev = a->ap_index;
        a->ap_index = ix;
        pthread_mutex_unlock(&a->ap_mu);
        api_index_unref(prev);
        log_debug("api: index generation %llu: %zu vaults, %zu items",
                  (unsigned long long)ix->ix_generation, ix->ix_nvaults, ix->ix_items);
    }
    pthread_mutex_lock(&a->ap_mu);
    if (a->ap_index && a->ap_index->ix_generation == m.vm_generation && synced && unlocked) {
        /* the gate opens only with an index built from a volume in step with the hub */
        if (a->ap_vol_gate && !want_gate) {
            a->ap_vol_gate = 0;
            log_info("api: the volume is in step with the hub again: serving data");
        }
        a->ap_was_ready = 1;
    }
    pthread_mutex_unlock(&a->ap_mu);
}

/* The watcher thread (see the top of this file). */
static void *api_watcher(void *arg)
{
    struct api *a = arg;
    int64_t next_status = 0, next_activity = 0;

    for (;;) {
        struct timespec ts;
        int64_t now;
        int kick;

        pthread_mutex_lock(&a->ap_mu);
        if (a->ap_stop) {
            pthread_mutex_unlock(&a->ap_mu);
            break;
        }
        kick = a->ap_kick;
        a->ap_kick = 0;
        pthread_mutex_unlock(&a->ap_mu);

        api_watch_volume(a);
        now = http_clock_ms();
        if (kick || now >= next_status) {
            api_watch_bus(a);
            /* while the gate is closed, sync's progress is followed more closely */
            next_status =
                now + (api_volume_gated(a) ? API_STATUS_GATED_MS : API_STATUS_INTERVAL_MS);
            api_watch_volume(a); /* an unlock may have made a build possible */
        }
        if (now >= next_activity) {
            /* batched: fewer write transactions competing with sync's; then sync uploads
               them to the hub at once instead of after its next long-poll */
            if (api_activity_write(a) > 0)
                api_activity_notify(a);
            next_activity = now + API_ACTIVITY_INTERVAL_MS;
        }

        if (http_server_waiting(a->ap_srv) > 0)
            http_server_wake(a->ap_srv);

        pthread_mutex_lock(&a->ap_mu);
        if (!a->ap_stop && !a->ap_kick) {
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += (long)API_WATCH_INTERVAL_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            (void)pthread_cond_timedwait(&a->ap_cond, &a->ap_mu, &ts);
        }
        pthread_mutex_unlock(&a->ap_mu);
    }
    return NULL;
}

/* Frees everything a (partly) started api holds. */
static void api_free(struct api *a)
{
    size_t i;

    if (!a)
        return;
    http_server_stop(a->ap_plain_srv);
    http_server_stop(a->ap_srv);
    ratelimit_free(a->ap_rl_ip);
    ratelimit_free(a->ap_rl_token);
    ratelimit_free(a->ap_rl_fail);
    (void)api_activity_write(a);
    bus_client_free(a->ap_bus);
    api_itemcache_free(a->ap_itemcache);
    for (i = 0; i < API_BUS_WRITERS; i++)
        bus_client_free(a->ap_wbus[i]);
    bus_key_free(a->ap_bus_key);
    api_index_unref(a->ap_index);
    api_auth_free_keys(a);
    volume_meta_clear(&a->ap_meta);
    for (i = 0; i < a->ap_nactivity; i++)
        free(a->ap_activity[i]);
    volume_close(a->ap_volume);
    credentials_free(a->ap_cred);
    if (a->ap_unlock)
        secmem_free(a->ap_unlock);
    pthread_mutex_destroy(&a->ap_mu);
    pthread_mutex_destroy(&a->ap_build_mu);
    pthread_mutex_destroy(&a->ap_metrics_mu);
    pthread_cond_destroy(&a->ap_cond);
    mem_free(a);
}

static const struct http_header api_headers[] = {
    {"1Password-Connect-Version", CONNECT_COMPAT_VERSION},
};

/* Starts the api (see api.h). */
enum err api_start(struct api **out, const struct api_options *opt, char *errmsg, size_t errcap)
{
    const struct config *cf = opt->ao_config;
    struct http_server_config hc;
    struct bus_endpoint ep;
    char sock[CONFIG_MAX_PATH + 1], msg[256];
    const struct jwk *uk;
    struct api *a;
    enum err rc;
    size_t i;
    int tls = cf->cf_tls_cert_file && cf->cf_tls_key_file;

    *out = NULL;
    if (errcap)
        errmsg[0] = '\0';
    if (cf->cf_tls_letsencrypt) {
        (void)snprintf(errmsg, errcap,
                       "api: OP_TLS_USE_LETSENCRYPT / OP_TLS_DOMAIN alone (Let's Encrypt) is not "
                       "supported: give OP_TLS_CERT_FILE and OP_TLS_KEY_FILE");
        return ERR_CONFIG;
    }
    a = mem_calloc(1, sizeof(*a));
    if (!a)
        return ERR_NOMEM;
    pthread_mutex_init(&a->ap_mu, NULL);
    pthread_mutex_init(&a->ap_build_mu, NULL);
    pthread_mutex_init(&a->ap_metrics_mu, NULL);
    pthread_cond_init(&a->ap_cond, NULL);
    a->ap_cfg = cf;
    a->ap_activity_backlog_max = API_ACTIVITY_BACKLOG_MAX;
    if (api_ratelimit_init(a) != ERR_OK) {
        rc = ERR_NOMEM;
        goto fail;
    }
    rc = credentials_parse(&a->ap_cred, opt->ao_credentials_json, opt->ao_credentials_len, msg,
                           sizeof(msg));
    if (rc != ERR_OK) {
        (void)snprintf(errmsg, errcap, "api: the credentials file is not usable: %s", msg);
        rc = rc == ERR_NOMEM ? rc : ERR_CONFIG;
        goto fail;
    }
    if (!cf->cf_data_dir) {
        (void)snprintf(errmsg, errcap, "api: %s", CONFIG_NO_DATA_DIR_MSG);
        rc = ERR_CONFIG;
        goto fail;
    }
    (void)snprintf(a->ap_volume_dir, sizeof(a->ap_volume_dir), "%s", cf->cf_data_dir);
    rc = volume_open(&a->ap_volume, cf->cf_data_dir, msg, sizeof(msg));
    for (int waited = 0; rc == ERR_CORRUPT && waited < API_CORRUPT_WAIT_MS; waited += 200) {
        /* damaged beyond opening: sync rebuilds it at its start (volume_open_repair) */
        if (waited == 0)
            log_warn("api: the data volume is damaged (%s); waiting for sync to rebuild it", msg);
        (void)nanosleep(&(struct timespec){0, 200 * 1000000L}, NULL);
        rc = volume_open(&a->ap_volume, cf->cf_data_dir, msg, sizeof(msg));
    }
    if (rc != ERR_OK) {
        (void)snprintf(errmsg, errcap, "api: cannot open the data volume: %s", msg);
        goto fail;
    }
    uk = credentials_unique_key(a->ap_cred);
    if (!uk || !uk->jk_secret) {
        (void)snprintf(errmsg, errcap, "api: the credentials file has no uniqueKey");
        rc = ERR_CONFIG;
        goto fail;
    }
    if ((rc = bus_key_derive(&a->ap_bus_key, uk->jk_secret, 32)) != ERR_OK) {
        (void)snprintf(errmsg, errcap, "api: cannot derive the bus key (%s)", err_name(rc));
        goto fail;
    }
    rc = bus_endpoint_from_config(&ep, sock, sizeof(sock), cf, BUS_ROLE_CLIENT, msg, sizeof(msg));
    if (rc != ERR_OK) {
        (void)snprintf(errmsg, errcap, "api: %s", msg);
        goto fail;
    }
    if ((rc = bus_client_new(&a->ap_bus, &ep, a->ap_bus_key)) != ERR_OK) {
        (void)snprintf(errmsg, errcap, "api: cannot set up the bus (%s)", err_name(rc));
        goto fail;
    }
    for (i = 0; i < API_BUS_WRITERS; i++) {
        if ((rc = bus_client_new(&a->ap_wbus[i], &ep, a->ap_bus_key)) != ERR_OK) {
            (void)snprintf(errmsg, errcap, "api: cannot set up the bus (%s)", err_name(rc));
            goto fail;
        }
    }
    if (api_itemcache_new(&a->ap_itemcache, API_ITEM_CACHE_BYTES, API_ITEM_CACHE_SLOTS) != ERR_OK) {
        a->ap_itemcache = NULL;
        log_warn("api: no secure memory for the item cache: every item read decrypts again");
    }
    api_watch_volume(a); /* meta and signing keys before the first request */
    if (!a->ap_keyset) {
        (void)snprintf(errmsg, errcap, "api: cannot read the data volume");
        rc = ERR_STORAGE;
        goto fail;
    }

    http_server_config_init(&hc);
    hc.hc_name = "api";
    hc.hc_addr = opt->ao_http_addr ? opt->ao_http_addr : "0.0.0.0";
    hc.hc_port = (int)(tls ? cf->cf_https_port : cf->cf_http_port);
    hc.hc_tls_cert_file = tls ? cf->cf_tls_cert_file : NULL;
    hc.hc_tls_key_file = tls ? cf->cf_tls_key_file : NULL;
    hc.hc_routes = api_routes;
    hc.hc_nroutes = api_nroutes;
    hc.hc_context = a;
    hc.hc_headers = api_headers;
    hc.hc_nheaders = sizeof(api_headers) / sizeof(api_headers[0]);
    hc.hc_on_complete = api_metrics_on_complete;
    hc.hc_threads = API_HTTP_THREADS; /* a write holds its thread until sync answers */
    if (cf->cf_max_body_bytes)
        hc.hc_max_body_bytes = cf->cf_max_body_bytes;
    if (cf->cf_max_header_bytes)
        hc.hc_max_header_bytes = cf->cf_max_header_bytes;
    if (cf->cf_http_timeout_s)
        hc.hc_timeout_seconds = (unsigned)cf->cf_http_timeout_s;
    rc = http_server_start(&a->ap_srv, &hc);
    if (rc != ERR_OK) {
        (void)snprintf(errmsg, errcap, "api: cannot %s on port %d (%s)",
                       tls ? "serve HTTPS" : "listen", hc.hc_port, err_name(rc));
        goto fail;
    }
    if (tls) {
        hc.hc_name = "api-http";
        hc.hc_port = (int)cf->cf_http_port;
        hc.hc_tls_cert_file = hc.hc_tls_key_file = NULL;
        hc.hc_routes = api_plain_routes;
        hc.hc_nroutes = api_plain_nroutes;
        hc.hc_threads = 2;
        rc = http_server_start(&a->ap_plain_srv, &hc);
        if (rc != ERR_OK) {
            (void)snprintf(errmsg, errcap, "api: cannot listen on port %u (%s)", cf->cf_http_port,
                           err_name(rc));
            goto fail;
        }
    }
    if (pthread_create(&a->ap_watcher, NULL, api_watcher, a) != 0) {
        (void)snprintf(errmsg, errcap, "api: cannot start the watcher thread");
        rc = ERR_NOMEM;
        goto fail;
    }
    a->ap_watcher_started = 1;
    *out = a;
    return ERR_OK;
fail:
    api_free(a);
    return rc;
}

/* Returns the API's port. */
int api_port(const struct api *a)
{
    return http_server_port(a->ap_srv);
}

/* Returns the plain HTTP port of a TLS api, or 0. */
int api_plain_port(const struct api *a)
{
    return a->ap_plain_srv ? http_server_port(a->ap_plain_srv) : 0;
}

/* Reloads the TLS files. See api.h. */
enum err api_tls_reload(struct api *a, char *errmsg, size_t errcap)
{
    return http_server_tls_reload(a->ap_srv, errmsg, errcap);
}

/* Stops the api (see api.h). */
void api_stop(struct api *a)
{
    if (!a)
        return;
    if (a->ap_watcher_started) {
        pthread_mutex_lock(&a->ap_mu);
        a->ap_stop = 1;
        pthread_cond_broadcast(&a->ap_cond);
        pthread_mutex_unlock(&a->ap_mu);
        (void)pthread_join(a->ap_watcher, NULL);
    }
    api_free(a);
}
