/*
 * service.c - the engine of `sesame sync`: unlock, the sync loop with backoff, activity
 * upload, the bus answers and /health (service.h, docs/sync.md).
 */
#include "sync/service.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/version.h"
#include "crypto/crypto.h"
#include "http/client.h"
#include "json/objects.h"
#include "sync/hubclient.h"

#define SVC_LOG_REPEAT_S 600 /* a failure that persists is logged again after this */

struct sync_service {
    struct volume *sv_volume;     /* borrowed */
    struct credentials *sv_cred;  /* borrowed; unlocked under sv_unlock_mu */
    struct http_client *sv_http;  /* owned; used by the engine thread only */
    char *sv_hub_url;             /* owned */
    char *sv_db_path;             /* owned: DIR/sesame.db, for /health */
    unsigned sv_poll_wait_s;      /* the long-poll */
    unsigned sv_backoff_min_ms;   /* the first wait after a failure */
    unsigned sv_backoff_max_ms;   /* the longest */
    unsigned sv_stop_wait_ms;     /* sync_service_stop's wait */
    pthread_mutex_t sv_unlock_mu; /* serialises credentials_unlock */
    pthread_mutex_t sv_mu;        /* everything below */
    pthread_cond_t sv_cond;       /* the engine's waits, and stop's wait for the engine */
    pthread_t sv_thread;
    int sv_thread_live; /* a thread was created and not joined */
    int sv_engine_done; /* the thread has left its loop */
    int sv_stop;        /* stop asked */
    int sv_sync_asked;  /* a full pass asked (bus "sync") */
    struct sync_service_status sv_st;
    /* the engine's log state (engine thread only) */
    enum err sv_logged_err;     /* the failure last logged, ERR_OK after a success */
    int64_t sv_logged_at;       /* when (monotonic ms) */
    enum err sv_act_logged_err; /* the same, for activity uploads */
    int64_t sv_act_logged_at;
    int64_t sv_pruned_at; /* when uploaded activity was last pruned (ms) */
};

/* ---- small helpers ------------------------------------------------------------------------ */

/* Returns CLOCK_MONOTONIC in milliseconds. */
static int64_t svc_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns the absolute CLOCK_MONOTONIC time ms milliseconds from now. */
static struct timespec svc_deadline(unsigned ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Returns twice cur within [min_ms, max_ms] (see service.h). */
unsigned sync_backoff_next(unsigned cur, unsigned min_ms, unsigned max_ms)
{
    unsigned next;

    if (max_ms < min_ms)
        max_ms = min_ms;
    if (cur < min_ms)
        return min_ms;
    next = cur > max_ms / 2 ? max_ms : cur * 2;
    return next < min_ms ? min_ms : next;
}

/* Returns base_ms +/- SYNC_SERVICE_JITTER_PCT percent (see service.h). */
unsigned sync_backoff_jitter(unsigned base_ms)
{
    uint64_t span = (uint64_t)base_ms * SYNC_SERVICE_JITTER_PCT / 100; /* each side */
    uint64_t low = base_ms - span;

    if (span == 0 || 2 * span + 1 > UINT32_MAX)
        return base_ms;
    return (unsigned)(low + crypto_random_uniform((uint32_t)(2 * span + 1)));
}

/* Waits (sv_mu held) up to ms for stop or a sync request. */
static void svc_wait_locked(struct sync_service *s, unsigned ms)
{
    struct timespec until = svc_deadline(ms);

    while (!s->sv_stop && !s->sv_sync_asked) {
        if (pthread_cond_timedwait(&s->sv_cond, &s->sv_mu, &until) != 0)
            break; /* ETIMEDOUT */
    }
}

/* Re-reads the volume's progress into the status (outside sv_mu). */
static void svc_refresh_meta(struct sync_service *s)
{
    struct volume_meta m;

    memset(&m, 0, sizeof(m));
    if (volume_meta_get(s->sv_volume, &m) != ERR_OK)
        return; /* keep what we had: the next pass reports the volume's error */
    pthread_mutex_lock(&s->sv_mu);
    s->sv_st.sst_last_seq = m.vm_last_seq;
    s->sv_st.sst_last_sync_at = m.vm_last_sync_at;
    s->sv_st.sst_server_deleted = m.vm_server_deleted;
    pthread_mutex_unlock(&s->sv_mu);
    volume_meta_clear(&m);
}

/*
 * Returns 1 when a failure of kind e should be logged at warn: a new kind (a change of
 * state), or the same one again after SVC_LOG_REPEAT_S. *kind and *at are the log state.
 */
static int svc_should_warn(enum err e, enum err *kind, int64_t *at)
{
    int64_t now = svc_now_ms();

    if (e != *kind || now - *at >= (int64_t)SVC_LOG_REPEAT_S * 1000) {
        *kind = e;
        *at = now;
        return 1;
    }
    return 0;
}

/* ---- activity upload ------------------------------------------------------------------------ */

/* Returns 1 when text (len bytes) is a JSON object, as the hub takes an entry. */
static int svc_entry_ok(const char *text, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    int ok = json_is_object(j);

    json_decref(j);
    return ok;
}

/* Posts {"entries":[texts of arr[idx[0..n)]]}. Errors as hubclient_activity_upload. */
static enum err svc_post_entries(struct hubclient *hc, const struct volume_activity *arr,
                                 const size_t *idx, size_t n)
{
    struct buf body;
    size_t i;
    enum err e;

    buf_init(&body, SYNC_SERVICE_ACTIVITY_BYTES + VOLUME_JSON_MAX_BYTES + 64);
    e = buf_add_str(&body, "{\"entries\":[");
    for (i = 0; i < n && e == ERR_OK; i++) {
        if (i)
            e = buf_add_str(&body, ",");
        if (e == ERR_OK)
            e = buf_add_str(&body, arr[idx[i]].ve_entry_json);
    }
    if (e == ERR_OK)
        e = buf_add_str(&body, "]}");
    if (e == ERR_OK)
        e = hubclient_activity_upload(hc, buf_str(&body), body.b_len);
    buf_free(&body);
    return e;
}

/*
 * Uploads one page of pending entries arr[0..n): as many as fit in one request; entries
 * that are not JSON objects, or that the hub refuses one by one (400, 413), are dropped
 * with a warning. Marks what was sent or dropped uploaded; *handled receives how many
 * entries of arr that covers, *sent how many went to the hub, *from_hub 1 when an error
 * is the hub's (else the volume's).
 */
static enum err svc_upload_page(struct sync_service *s, struct hubclient *hc,
                                const struct volume_activity *arr, size_t n, size_t *handled,
                                uint64_t *sent, int *from_hub)
{
    uint64_t *ids = mem_calloc(n, sizeof(*ids));
    size_t *idx = mem_calloc(n, sizeof(*idx));
    size_t nids = 0, nidx = 0, bytes = 0, k, i;
    enum err e = ERR_OK;

    *handled = 0;
    *sent = 0;
    *from_hub = 0;
    if (!ids || !idx) {
        e = ERR_NOMEM;
        goto out;
    }
    for (k = 0; k < n; k++) {
        size_t len = strlen(arr[k].ve_entry_json);

        if (!svc_entry_ok(arr[k].ve_entry_json, len)) {
            log_warn("sync: activity entry %llu is not a JSON object: dropped",
                     (unsigned long long)arr[k].ve_id);
            ids[nids++] = arr[k].ve_id;
            continue;
        }
        if (nidx > 0 && bytes + len + 1 > SYNC_SERVICE_ACTIVITY_BYTES)
            break;
        bytes += len + 1;
        idx[nidx++] = k;
    }
    *handled = k;
    if (nidx > 0) {
        e = svc_post_entries(hc, arr, idx, nidx);
        if (e == ERR_OK) {
            for (i = 0; i < nidx; i++)
                ids[nids++] = arr[idx[i]].ve_id;
            *sent = nidx;
        } else if (e == ERR_BAD_INPUT || e == ERR_TOO_LARGE) {
            /* one entry spoils the batch: send them one by one, drop the refused */
            e = ERR_OK;
            for (i = 0; i < nidx && e == ERR_OK; i++) {
                e = svc_post_entries(hc, arr, &idx[i], 1);
                if (e == ERR_BAD_INPUT || e == ERR_TOO_LARGE) {
                    log_warn("sync: the hub refused activity entry %llu (%s): dropped",
                             (unsigned long long)arr[idx[i]].ve_id, err_name(e));
                    e = ERR_OK;
                } else if (e == ERR_OK) {
                    (*sent)++;
                } else {
                    break;
                }
                ids[nids++] = arr[idx[i]].ve_id;
            }
            if (e != ERR_OK)
                *handled = 0; /* stop after marking what was done */
        }
        *from_hub = e != ERR_OK;
    }
    if (nids > 0) {
        enum err m = volume_activity_mark_uploaded(s->sv_volume, ids, nids);

        if (e == ERR_OK)
            e = m;
    }
out:
    mem_free(ids);
    mem_free(idx);
    return e;
}

/*
 * Uploads the pending activity (at most SYNC_SERVICE_ACTIVITY_ROUNDS requests) and counts
 * it in the status. A failure is logged (once per change of kind) and left for the next
 * pass: activity never fails a sync pass. Returns 1 when more entries are probably pending
 * (the last batch was full): the engine then polls without waiting and uploads again, so a
 * backlog drains between quick polls and never holds a change back for long.
 */
static int svc_upload_activity(struct sync_service *s, struct hubclient *hc)
{
    uint64_t total = 0;
    unsigned round;
    int from_hub = 0, more = 0;
    enum err e = ERR_OK;

    for (round = 0; round < SYNC_SERVICE_ACTIVITY_ROUNDS && e == ERR_OK; round++) {
        struct volume_activity *arr = NULL;
        size_t n = 0, handled = 0;
        uint64_t sent = 0;

        e = volume_activity_pending(s->sv_volume, SYNC_SERVICE_ACTIVITY_BATCH, &arr, &n);
        if (e != ERR_OK || n == 0)
            break;
        e = svc_upload_page(s, hc, arr, n, &handled, &sent, &from_hub);
        volume_activity_list_free(arr, n);
        total += sent;
        more = e == ERR_OK && n == SYNC_SERVICE_ACTIVITY_BATCH;
        if (e == ERR_OK && handled == n && n < SYNC_SERVICE_ACTIVITY_BATCH)
            break;
    }
    if (total && svc_now_ms() - s->sv_pruned_at >= SYNC_SERVICE_PRUNE_EVERY_MS) {
        size_t removed = 0;

        /* the hub keeps the trail; the volume keeps the newest uploaded entries */
        if (volume_activity_prune(s->sv_volume, SYNC_SERVICE_ACTIVITY_KEEP, &removed) == ERR_OK &&
            removed > 0)
            log_debug("sync: %zu uploaded activity entries pruned from the volume", removed);
        s->sv_pruned_at = svc_now_ms();
    }
    if (total) {
        log_debug("sync: %llu activity entries uploaded", (unsigned long long)total);
        pthread_mutex_lock(&s->sv_mu);
        s->sv_st.sst_activity_sent += total;
        pthread_mutex_unlock(&s->sv_mu);
    }
    if (e != ERR_OK) {
        if (svc_should_warn(e, &s->sv_act_logged_err, &s->sv_act_logged_at))
            log_warn("sync: uploading activity failed (%s): %s; retried after the next pass",
                     err_name(e), from_hub ? hubclient_errmsg(hc) : "reading the volume");
    } else {
        s->sv_act_logged_err = ERR_OK;
    }
    return more;
}

/* ---- the engine ---------------------------------------------------------------------------- */

/* Records the outcome of one exchange in the status (sv_mu held) and logs it. */
static void svc_record(struct sync_service *s, enum err e, const struct sync_ctx *ctx, int full)
{
    struct sync_service_status *st = &s->sv_st;

    if (e == ERR_OK) {
        if (st->sst_failures)
            log_info("sync: the hub answers again after %llu failed attempts; at seq %llu",
                     (unsigned long long)st->sst_failures, (unsigned long long)st->sst_last_seq);
        else if (!st->sst_synced)
            log_info("sync: in step with the hub at seq %llu (%llu vaults pulled whole)",
                     (unsigned long long)st->sst_last_seq, (unsigned long long)ctx->sc_pulled);
        else if (ctx->sc_pulled)
            log_info("sync: %llu newly granted vaults pulled whole",
                     (unsigned long long)ctx->sc_pulled);
        log_debug("sync: %s done: %llu pages, %llu vaults pulled, last seq %llu",
                  full ? "pass" : "poll", (unsigned long long)ctx->sc_pages,
                  (unsigned long long)ctx->sc_pulled, (unsigned long long)st->sst_last_seq);
        st->sst_connected = 1;
        st->sst_synced = 1;
        st->sst_passes++;
        st->sst_pulled += ctx->sc_pulled;
        st->sst_failures = 0;
        st->sst_backoff_ms = 0;
        st->sst_last_error[0] = '\0';
        s->sv_logged_err = ERR_OK;
        return;
    }
    st->sst_connected = 0;
    st->sst_failures++;
    st->sst_pulled += ctx->sc_pulled; /* pulls of a failed pass count too */
    (void)snprintf(st->sst_last_error, sizeof(st->sst_last_error), "%s",
                   ctx->sc_errmsg[0] ? ctx->sc_errmsg : err_message(e));
    if (__atomic_load_n(&s->sv_stop, __ATOMIC_ACQUIRE))
        log_debug("%s (%s); stopping", st->sst_last_error, err_name(e));
    else if (svc_should_warn(e, &s->sv_logged_err, &s->sv_logged_at))
        log_warn("%s (%s); retrying with backoff", st->sst_last_error, err_name(e));
    else
        log_debug("%s (%s); attempt %llu", st->sst_last_error, err_name(e),
                  (unsigned long long)st->sst_failures);
}

/* The engine thread: passes, polls, activity, backoff, until stop. */
static void *svc_engine(void *arg)
{
    struct sync_service *s = arg;
    struct hubclient *hc = NULL;
    struct sync_ctx ctx;
    unsigned backoff = s->sv_backoff_min_ms;
    int full = 1, backlog = 0;

    memset(&ctx, 0, sizeof(ctx));
    ctx.sc_volume = s->sv_volume;
    ctx.sc_hub_url = s->sv_hub_url;
    pthread_mutex_lock(&s->sv_mu);
    while (!s->sv_stop) {
        uint64_t seq0 = s->sv_st.sst_last_seq;
        int64_t t0, elapsed;
        unsigned pause = 0;
        enum err e;

        if (s->sv_sync_asked) {
            full = 1;
            s->sv_sync_asked = 0;
        }
        pthread_mutex_unlock(&s->sv_mu);
        t0 = svc_now_ms();
        ctx.sc_errmsg[0] = '\0';
        ctx.sc_pages = 0;
        ctx.sc_pulled = 0;
        e = hc ? ERR_OK : hubclient_new(&hc, s->sv_cred, s->sv_http);
        if (e != ERR_OK) {
            (void)snprintf(ctx.sc_errmsg, sizeof(ctx.sc_errmsg),
                           "sync: cannot make the hub client: %s", err_name(e));
        } else {
            ctx.sc_hub = hc;
            e = full ? sync_run_once(&ctx) : sync_poll(&ctx, backlog ? 0 : s->sv_poll_wait_s);
        }
        svc_refresh_meta(s);
        backlog = e == ERR_OK ? svc_upload_activity(s, hc) : 0;
        elapsed = svc_now_ms() - t0;
        pthread_mutex_lock(&s->sv_mu);
        svc_record(s, e, &ctx, full);
        if (e == ERR_OK) {
            full = 0;
            backoff = s->sv_backoff_min_ms;
            /* a hub that answers polls at once with nothing new is not hammered */
            if (!backlog && s->sv_st.sst_last_seq == seq0 &&
                elapsed < (int64_t)SYNC_SERVICE_MIN_POLL_MS)
                pause = SYNC_SERVICE_MIN_POLL_MS - (unsigned)elapsed;
        } else {
            full = 1;
            s->sv_st.sst_backoff_ms = backoff;
            pause = sync_backoff_jitter(backoff);
            backoff = sync_backoff_next(backoff, s->sv_backoff_min_ms, s->sv_backoff_max_ms);
        }
        if (pause)
            svc_wait_locked(s, pause);
    }
    s->sv_engine_done = 1;
    s->sv_st.sst_running = 0;
    pthread_cond_broadcast(&s->sv_cond);
    pthread_mutex_unlock(&s->sv_mu);
    hubclient_free(hc);
    log_debug("sync: engine stopped");
    return NULL;
}

/* ---- life cycle -------------------------------------------------------------------------- */

/*
 * Creates the service (see service.h); owns its HTTP client and copies of the strings,
 * borrows the volume and the credentials.
 */
enum err sync_service_new(struct sync_service **out, const struct sync_service_config *cfg,
                          char *errmsg, size_t errcap)
{
    struct http_client_config hcc;
    struct sync_service *s = NULL;
    pthread_condattr_t ca;
    struct volume_meta m;
    const char *url;
    enum err e;
    int n;

    if (out)
        *out = NULL;
    memset(&m, 0, sizeof(m));
    if (!out || !cfg || !cfg->ssc_volume || !cfg->ssc_cred || !cfg->ssc_volume_dir)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "sync: incomplete configuration");
    if (cfg->ssc_poll_wait_s > HUBCLIENT_MAX_WAIT)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "sync: the long-poll wait is over %u s",
                        HUBCLIENT_MAX_WAIT);
    if (credentials_tls_fingerprint(cfg->ssc_cred))
        return err_msgf(ERR_CONFIG, errmsg, errcap,
                        "the credentials file pins the hub's TLS certificate "
                        "(hub.tlsFingerprint), which this version of sync cannot check yet");
    url = cfg->ssc_hub_url ? cfg->ssc_hub_url : credentials_hub_url(cfg->ssc_cred);
    s = mem_calloc(1, sizeof(*s));
    if (!s)
        return err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
    s->sv_volume = cfg->ssc_volume;
    s->sv_cred = cfg->ssc_cred;
    s->sv_poll_wait_s = cfg->ssc_poll_wait_s ? cfg->ssc_poll_wait_s : SYNC_SERVICE_POLL_WAIT_S;
    s->sv_backoff_min_ms =
        cfg->ssc_backoff_min_ms ? cfg->ssc_backoff_min_ms : SYNC_SERVICE_BACKOFF_MIN_MS;
    s->sv_backoff_max_ms =
        cfg->ssc_backoff_max_ms ? cfg->ssc_backoff_max_ms : SYNC_SERVICE_BACKOFF_MAX_MS;
    if (s->sv_backoff_max_ms < s->sv_backoff_min_ms)
        s->sv_backoff_max_ms = s->sv_backoff_min_ms;
    s->sv_stop_wait_ms = cfg->ssc_stop_wait_ms ? cfg->ssc_stop_wait_ms : SYNC_SERVICE_STOP_WAIT_MS;
    pthread_mutex_init(&s->sv_unlock_mu, NULL);
    pthread_mutex_init(&s->sv_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->sv_cond, &ca);
    pthread_condattr_destroy(&ca);

    s->sv_hub_url = url ? mem_strdup(url) : NULL;
    s->sv_db_path = mem_alloc(strlen(cfg->ssc_volume_dir) + sizeof("/" VOLUME_DB_NAME));
    if (!s->sv_hub_url || !s->sv_db_path) {
        e = err_msgf(url ? ERR_NOMEM : ERR_BAD_INPUT, errmsg, errcap,
                     url ? "out of memory" : "sync: no hub URL");
        goto fail;
    }
    n = snprintf(s->sv_db_path, strlen(cfg->ssc_volume_dir) + sizeof("/" VOLUME_DB_NAME),
                 "%s/" VOLUME_DB_NAME, cfg->ssc_volume_dir);
    if (n < 0) {
        e = err_msgf(ERR_INTERNAL, errmsg, errcap, "sync: cannot format the volume path");
        goto fail;
    }
    memset(&hcc, 0, sizeof(hcc));
    hcc.hcc_base_url = s->sv_hub_url;
    hcc.hcc_timeout_ms = cfg->ssc_request_timeout_ms;
    hcc.hcc_proxy = cfg->ssc_proxy;
    e = http_client_new(&s->sv_http, &hcc, errmsg, errcap);
    if (e != ERR_OK)
        goto fail;
    e = volume_meta_get(s->sv_volume, &m);
    if (e != ERR_OK) {
        (void)err_msgf(e, errmsg, errcap, "sync: cannot read the volume (%s)", err_name(e));
        goto fail;
    }
    s->sv_st.sst_last_seq = m.vm_last_seq;
    s->sv_st.sst_last_sync_at = m.vm_last_sync_at;
    s->sv_st.sst_server_deleted = m.vm_server_deleted;
    volume_meta_clear(&m);
    *out = s;
    return ERR_OK;
fail:
    sync_service_free(s);
    return e;
}

/* Unlocks the credentials and starts the engine (see service.h). */
enum err sync_service_unlock(struct sync_service *s, const unsigned char *secret, size_t len)
{
    enum err e;
    int first;

    if (!s || !secret)
        return ERR_BAD_INPUT;
    pthread_mutex_lock(&s->sv_unlock_mu);
    e = credentials_unlock(s->sv_cred, secret, len);
    if (e != ERR_OK) {
        pthread_mutex_unlock(&s->sv_unlock_mu);
        if (e == ERR_UNAUTHORIZED)
            log_warn("sync: an unlock with a wrong secret was refused");
        else
            log_error("sync: unlocking the credentials failed (%s)", err_name(e));
        return e;
    }
    pthread_mutex_lock(&s->sv_mu);
    first = !s->sv_st.sst_unlocked;
    s->sv_st.sst_unlocked = 1;
    if (!s->sv_thread_live && !s->sv_stop) {
        s->sv_engine_done = 0;
        s->sv_st.sst_running = 1;
        if (pthread_create(&s->sv_thread, NULL, svc_engine, s) != 0) {
            s->sv_st.sst_running = 0;
            e = ERR_INTERNAL;
            log_error("sync: cannot start the engine thread");
        } else {
            s->sv_thread_live = 1;
            if (first)
                log_info("sync: unlocked; syncing with the hub");
        }
    }
    pthread_mutex_unlock(&s->sv_mu);
    pthread_mutex_unlock(&s->sv_unlock_mu);
    return e;
}

/* Asks for a full pass now. */
void sync_service_request_sync(struct sync_service *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->sv_mu);
    s->sv_sync_asked = 1;
    pthread_cond_broadcast(&s->sv_cond);
    pthread_mutex_unlock(&s->sv_mu);
}

/* Copies the status. */
void sync_service_get_status(struct sync_service *s, struct sync_service_status *out)
{
    if (!s || !out) {
        if (out)
            memset(out, 0, sizeof(*out));
        return;
    }
    pthread_mutex_lock(&s->sv_mu);
    *out = s->sv_st;
    pthread_mutex_unlock(&s->sv_mu);
}

/* Stops the engine, waiting up to the stop wait (see service.h). */
enum err sync_service_stop(struct sync_service *s)
{
    struct timespec until;
    int live, done;

    if (!s)
        return ERR_OK;
    until = svc_deadline(s->sv_stop_wait_ms);
    pthread_mutex_lock(&s->sv_mu);
    s->sv_stop = 1;
    pthread_cond_broadcast(&s->sv_cond);
    /* a long-poll in flight ends at the client's next progress tick (about 1 s) */
    if (s->sv_http)
        http_client_cancel(s->sv_http);
    while (s->sv_thread_live && !s->sv_engine_done) {
        if (pthread_cond_timedwait(&s->sv_cond, &s->sv_mu, &until) != 0)
            break;
    }
    live = s->sv_thread_live;
    done = s->sv_engine_done;
    if (live && done)
        s->sv_thread_live = 0;
    pthread_mutex_unlock(&s->sv_mu);
    if (!live)
        return ERR_OK;
    if (!done)
        return ERR_TIMEOUT;
    pthread_join(s->sv_thread, NULL);
    return ERR_OK;
}

/* Stops, joins and frees. */
void sync_service_free(struct sync_service *s)
{
    int live;

    if (!s)
        return;
    if (sync_service_stop(s) == ERR_TIMEOUT) {
        pthread_mutex_lock(&s->sv_mu);
        live = s->sv_thread_live;
        s->sv_thread_live = 0;
        pthread_mutex_unlock(&s->sv_mu);
        if (live)
            pthread_join(s->sv_thread, NULL);
    }
    http_client_free(s->sv_http);
    mem_free(s->sv_hub_url);
    mem_free(s->sv_db_path);
    pthread_cond_destroy(&s->sv_cond);
    pthread_mutex_destroy(&s->sv_mu);
    pthread_mutex_destroy(&s->sv_unlock_mu);
    mem_free(s);
}

/* ---- answers: bus status, /health, the bus handler ------------------------------------- */

/* Sets o[key] = v (stolen); returns 0 or -1. */
static int svc_set(json_t *o, const char *key, json_t *v)
{
    return json_object_set_new(o, key, v);
}

/* Builds the status answer (see service.h). */
enum err sync_service_status_json(struct sync_service *s, json_t **out)
{
    struct sync_service_status st;
    json_t *o;
    int bad = 0;

    *out = NULL;
    sync_service_get_status(s, &st);
    o = json_object();
    if (!o)
        return ERR_NOMEM;
    bad |= svc_set(o, "ok", json_true());
    bad |= svc_set(o, "unlocked", json_boolean(st.sst_unlocked));
    bad |= svc_set(o, "connected", json_boolean(st.sst_connected));
    bad |= svc_set(o, "lastSyncAt", json_integer((json_int_t)st.sst_last_sync_at));
    bad |= svc_set(o, "lastSeq", json_integer((json_int_t)st.sst_last_seq));
    bad |= svc_set(o, "serverDeleted", json_boolean(st.sst_server_deleted));
    if (st.sst_last_error[0])
        bad |= svc_set(o, "lastError", json_string(st.sst_last_error));
    bad |= svc_set(o, "synced", json_boolean(st.sst_synced));
    bad |= svc_set(o, "passes", json_integer((json_int_t)st.sst_passes));
    bad |= svc_set(o, "pulled", json_integer((json_int_t)st.sst_pulled));
    bad |= svc_set(o, "failures", json_integer((json_int_t)st.sst_failures));
    bad |= svc_set(o, "backoffMs", json_integer((json_int_t)st.sst_backoff_ms));
    bad |= svc_set(o, "activitySent", json_integer((json_int_t)st.sst_activity_sent));
    if (bad) {
        json_decref(o);
        return ERR_NOMEM;
    }
    *out = o;
    return ERR_OK;
}

/* Builds /health (see service.h). */
enum err sync_service_health_json(struct sync_service *s, json_t **out)
{
    struct health_dependency deps[3];
    struct sync_service_status st;
    char dbmsg[VOLUME_PATH_MAX + 32], hubmsg[SYNC_ERRMSG_BYTES + 32];
    uint64_t gen = 0;
    int64_t ago;

    *out = NULL;
    sync_service_get_status(s, &st);
    deps[0].hd_service = "sqlite";
    if (volume_generation(s->sv_volume, &gen) == ERR_OK) {
        deps[0].hd_status = "ACTIVE";
        (void)snprintf(dbmsg, sizeof(dbmsg), "Connected to %s", s->sv_db_path);
    } else {
        deps[0].hd_status = "ERROR";
        (void)snprintf(dbmsg, sizeof(dbmsg), "Cannot read %s", s->sv_db_path);
    }
    deps[0].hd_message = dbmsg;
    deps[1].hd_service = "1Password";
    deps[1].hd_status = st.sst_unlocked ? "ACTIVE" : "UNINITIALIZED";
    deps[1].hd_message =
        st.sst_unlocked ? NULL : "Make a request with a valid bearer token to initialize";
    deps[2].hd_service = "hub";
    deps[2].hd_message = hubmsg;
    if (!st.sst_unlocked) {
        deps[2].hd_status = "NOT_SYNCED";
        (void)snprintf(hubmsg, sizeof(hubmsg), "Sync starts once the server is unlocked");
    } else if (st.sst_connected) {
        ago = st.sst_last_sync_at ? (int64_t)time(NULL) - st.sst_last_sync_at : 0;
        deps[2].hd_status = "ACTIVE";
        (void)snprintf(hubmsg, sizeof(hubmsg), "last synced %lld seconds ago",
                       (long long)(ago > 0 ? ago : 0));
    } else if (st.sst_failures) {
        deps[2].hd_status = "UNREACHABLE";
        (void)snprintf(hubmsg, sizeof(hubmsg), "%s", st.sst_last_error);
    } else {
        deps[2].hd_status = "NOT_SYNCED";
        (void)snprintf(hubmsg, sizeof(hubmsg), "The first sync with the hub is under way");
    }
    return health_to_json(out, SYNC_SERVICE_HEALTH_NAME, CONNECT_COMPAT_VERSION, deps, 3);
}

/* Fills resp with {"ok":ok[,"message":msg]}; ERR_OK or ERR_NOMEM. */
static enum err svc_answer(struct bus_msg *resp, int ok, const char *msg)
{
    resp->bm_json =
        msg ? json_pack("{s:b, s:s}", "ok", ok, "message", msg) : json_pack("{s:b}", "ok", ok);
    return resp->bm_json ? ERR_OK : ERR_NOMEM;
}

/* The bus handler (see service.h). */
enum err sync_service_bus_handler(void *ctx, const struct bus_msg *req, struct bus_msg *resp)
{
    struct sync_service *s = ctx;
    const char *op = json_string_value(json_object_get(req->bm_json, "op"));
    enum err e;

    if (!op)
        return svc_answer(resp, 0, "unknown operation");
    if (strcmp(op, "status") == 0)
        return sync_service_status_json(s, &resp->bm_json);
    if (strcmp(op, "sync") == 0) {
        sync_service_request_sync(s);
        return svc_answer(resp, 1, NULL);
    }
    if (strcmp(op, "unlock") != 0)
        return svc_answer(resp, 0, "unknown operation");
    if (!req->bm_secret || req->bm_secret_len == 0)
        return svc_answer(resp, 0, "unlock needs the unlock secret");
    e = sync_service_unlock(s, req->bm_secret, req->bm_secret_len);
    switch (e) {
    case ERR_OK:
        return svc_answer(resp, 1, NULL);
    case ERR_UNAUTHORIZED:
        return svc_answer(resp, 0, "unlock refused");
    case ERR_NOMEM:
        return ERR_NOMEM;
    case ERR_CRYPTO:
        return svc_answer(resp, 0, "unlock failed: the credentials file does not decrypt");
    case ERR_BAD_INPUT:
        return svc_answer(resp, 0, "unlock failed: the credentials file is invalid");
    default:
        return svc_answer(resp, 0, "unlock failed: the sync engine could not start");
    }
}
