/*
 * service.c - the engine of `sesame sync`: unlock, the sync loop with backoff, activity
 * upload, the bus answers and /health (service.h, docs/sync.md).
 */
#include "sync/service.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/version.h"
#include "crypto/crypto.h"
#include "http/client.h"
#include "json/fastload.h"
#include "json/objects.h"
#include "sync/hubclient.h"

#define SVC_LOG_REPEAT_S 600 /* a failure that persists is logged again after this */

/* One of the writes' hub sessions: its own HTTP client, never behind the engine's poll. */
struct svc_wsession {
    struct http_client *ws_http[SYNC_SERVICE_MAX_HUBS]; /* owned: one per hub URL */
    struct hubclient *ws_hc; /* owned: made at unlock (or by the first write) */
    int ws_busy;             /* under sv_ws_mu: held by a write */
};

struct sync_service {
    struct volume *sv_volume;                           /* borrowed */
    struct credentials *sv_cred;                        /* borrowed; unlocked under sv_unlock_mu */
    struct http_client *sv_http[SYNC_SERVICE_MAX_HUBS]; /* owned: one per hub URL; used by
                                                           the engine thread only */
    struct svc_wsession sv_ws[SYNC_SERVICE_WRITE_SESSIONS]; /* the writes' sessions */
    pthread_mutex_t sv_ws_mu;                               /* guards every ws_busy */
    pthread_cond_t sv_ws_cond; /* broadcast when a session is released */
    int sv_ws_draining;        /* under sv_ws_mu: the repair thread takes every session */
    pthread_mutex_t sv_act_mu; /* one activity upload at a time (engine, bus) */
    char *sv_urls[SYNC_SERVICE_MAX_HUBS]; /* owned: the hub URLs, preferred first */
    size_t sv_nurls;                      /* 1..SYNC_SERVICE_MAX_HUBS */
    size_t sv_cur;                /* under sv_mu: the hub requests go to (failover moves it on) */
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
    pthread_t sv_repair_thread;
    int sv_repair_live;       /* the repair thread was created and not joined */
    int sv_repair_asked;      /* a volume check asked (bus "volume_check", or damage seen) */
    int sv_repair_damaged;    /* ... because SQLite reported damage (not just a file) */
    int64_t sv_repair_ok_ms;  /* when (monotonic ms) reported damage last checked out fine */
    int64_t sv_rebuilt_at_ms; /* when (Unix ms) the volume was last rebuilt */
    int sv_repairing;         /* the repair thread is rebuilding: the engine waits */
    struct sync_service_status sv_st;
    /* the engine's log state (engine thread only) */
    uint64_t sv_logged_err;     /* the kind of failure last logged, 0 after a success */
    int64_t sv_logged_at;       /* when (monotonic ms) */
    uint64_t sv_act_logged_err; /* the same, for activity uploads */
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

/* Asks the repair thread for a check of the volume (sv_mu held); damaged: SQLite itself
 * reported the database damaged (to this process or to the api). */
static void svc_ask_repair_locked(struct sync_service *s, int damaged)
{
    s->sv_repair_asked = 1;
    s->sv_repair_damaged |= damaged;
    pthread_cond_broadcast(&s->sv_cond);
}

/* Returns the current time in Unix milliseconds. */
static int64_t svc_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Re-reads the volume's progress into the status (outside sv_mu). */
static void svc_refresh_meta(struct sync_service *s)
{
    struct volume_meta m;

    pthread_mutex_lock(&s->sv_mu);
    s->sv_st.sst_volume_full = volume_out_of_space(s->sv_volume);
    pthread_mutex_unlock(&s->sv_mu);
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
 * Returns 1 when failure e with message msg should be logged at warn: a new kind (another
 * error, or another message once numbers are ignored: "cannot connect" then "certificate
 * not the pinned one" are two kinds), or the same one again after SVC_LOG_REPEAT_S.
 * *kind (0: none) and *at are the log state.
 */
static int svc_should_warn(enum err e, const char *msg, uint64_t *kind, int64_t *at)
{
    uint64_t k = 1469598103934665603ull ^ (uint64_t)e;
    int64_t now = svc_now_ms();

    for (; msg && *msg; msg++) {
        if (*msg < '0' || *msg > '9')
            k = (k ^ (unsigned char)*msg) * 1099511628211ull;
    }
    k |= 1; /* never 0 */
    if (k != *kind || now - *at >= (int64_t)SVC_LOG_REPEAT_S * 1000) {
        *kind = k;
        *at = now;
        return 1;
    }
    return 0;
}

/* ---- several hub URLs: failover (docs/sync.md, "Several hub URLs") ------------------------ */

/* Returns the index of the current hub. */
static size_t svc_current(struct sync_service *s)
{
    size_t i;

    pthread_mutex_lock(&s->sv_mu);
    i = s->sv_cur;
    pthread_mutex_unlock(&s->sv_mu);
    return i;
}

/*
 * Points hc at the current hub: https are the caller's HTTP clients, one per hub URL (the
 * engine's or a write session's). The session is kept. Returns the index of that hub.
 */
static size_t svc_bind(struct sync_service *s, struct hubclient *hc,
                       struct http_client *const *https)
{
    size_t i = svc_current(s);

    hubclient_set_http(hc, https[i]);
    return i;
}

/*
 * After a request through hub used failed as f (hubclient_last_failure): when f is a
 * transport failure or a 502/503/504 and there is another URL, makes the next URL (in list
 * order, wrapping around) current and logs it - once per failure of the current hub: a
 * failure through a hub that another thread already left changes nothing. Returns 1 when
 * the next attempt goes to another hub than used.
 */
static int svc_failover(struct sync_service *s, size_t used, enum hubclient_failure f)
{
    size_t next;

    if (f == HUBCLIENT_FAIL_NONE || s->sv_nurls < 2)
        return 0;
    pthread_mutex_lock(&s->sv_mu);
    if (s->sv_cur == used) {
        next = (used + 1) % s->sv_nurls;
        s->sv_cur = next;
        log_info("sync: hub %s unreachable, trying %s", s->sv_urls[used], s->sv_urls[next]);
    }
    pthread_mutex_unlock(&s->sv_mu);
    return 1;
}

/* ---- activity upload ------------------------------------------------------------------------ */

/* Returns 1 when text (len bytes) is a JSON object, as the hub takes an entry. */
static int svc_entry_ok(const char *text, size_t len)
{
    json_error_t jerr;
    json_t *j = jsonfast_loadb(text, len, &jerr); /* the api's entries are plain JSON */
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

    /* the engine and the bus's "activity" request never send the same entries twice */
    pthread_mutex_lock(&s->sv_act_mu);

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
        if (svc_should_warn(e, from_hub ? hubclient_errmsg(hc) : NULL, &s->sv_act_logged_err,
                            &s->sv_act_logged_at))
            log_warn("sync: uploading activity failed (%s): %s; retried after the next pass",
                     err_name(e), from_hub ? hubclient_errmsg(hc) : "reading the volume");
    } else {
        s->sv_act_logged_err = 0;
    }
    pthread_mutex_unlock(&s->sv_act_mu);
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
        s->sv_logged_err = 0;
        if (full && st->sst_volume_rebuilding) {
            st->sst_volume_rebuilding = 0;
            log_info("sync: the volume is rebuilt: in step with the hub at seq %llu",
                     (unsigned long long)st->sst_last_seq);
        }
        return;
    }
    st->sst_connected = 0;
    st->sst_failures++;
    st->sst_pulled += ctx->sc_pulled; /* pulls of a failed pass count too */
    if (e == ERR_NO_SPACE && st->sst_volume_full)
        (void)snprintf(st->sst_last_error, sizeof(st->sst_last_error),
                       "the volume's disk is full (%.160s): nothing is lost, sync retries "
                       "until space is freed",
                       ctx->sc_errmsg[0] ? ctx->sc_errmsg : err_message(e));
    else
        (void)snprintf(st->sst_last_error, sizeof(st->sst_last_error), "%s",
                       ctx->sc_errmsg[0] ? ctx->sc_errmsg : err_message(e));
    if (__atomic_load_n(&s->sv_stop, __ATOMIC_ACQUIRE))
        log_debug("%s (%s); stopping", st->sst_last_error, err_name(e));
    else if (svc_should_warn(e, st->sst_last_error, &s->sv_logged_err, &s->sv_logged_at))
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
    ctx.sc_hub_url = s->sv_urls[0]; /* the volume records the preferred hub: failover between
                                       the listed URLs is not a change of hub */
    pthread_mutex_lock(&s->sv_mu);
    while (!s->sv_stop) {
        uint64_t seq0 = s->sv_st.sst_last_seq;
        int64_t t0, elapsed;
        unsigned pause = 0;
        size_t used = 0;
        enum err e;

        /* while the repair thread rebuilds the volume, the engine does not touch it */
        while (s->sv_repairing && !s->sv_stop)
            pthread_cond_wait(&s->sv_cond, &s->sv_mu);
        if (s->sv_stop)
            break;
        if (s->sv_sync_asked) {
            full = 1;
            s->sv_sync_asked = 0;
        }
        pthread_mutex_unlock(&s->sv_mu);
        t0 = svc_now_ms();
        ctx.sc_errmsg[0] = '\0';
        ctx.sc_pages = 0;
        ctx.sc_pulled = 0;
        ctx.sc_epoch = volume_epoch(s->sv_volume);
        e = hc ? ERR_OK : hubclient_new(&hc, s->sv_cred, s->sv_http[svc_current(s)]);
        if (e != ERR_OK) {
            (void)snprintf(ctx.sc_errmsg, sizeof(ctx.sc_errmsg),
                           "sync: cannot make the hub client: %s", err_name(e));
        } else {
            used = svc_bind(s, hc, s->sv_http);
            ctx.sc_hub = hc;
            e = full ? sync_run_once(&ctx) : sync_poll(&ctx, backlog ? 0 : s->sv_poll_wait_s);
            if (e != ERR_OK) /* the next attempt (after the backoff) goes to the next hub */
                (void)svc_failover(s, used, hubclient_last_failure(hc));
        }
        svc_refresh_meta(s);
        backlog = e == ERR_OK ? svc_upload_activity(s, hc) : 0;
        elapsed = svc_now_ms() - t0;
        pthread_mutex_lock(&s->sv_mu);
        if (volume_take_corrupt(s->sv_volume))
            svc_ask_repair_locked(s, 1); /* damage seen by this process: check, rebuild */
        if (e != ERR_OK && volume_epoch(s->sv_volume) != ctx.sc_epoch) {
            /* the repair thread rebuilt the volume meanwhile: start again, no failure */
            log_info("sync: the volume was rebuilt during an exchange; a full pass follows");
            full = 1;
            continue;
        }
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
            /* a full or damaged volume is retried at least every SYNC_SERVICE_FAULT_RETRY_MS
               (the hub is not what fails), so sync catches up soon after space is freed */
            if ((e == ERR_NO_SPACE || e == ERR_CORRUPT) && backoff > SYNC_SERVICE_FAULT_RETRY_MS)
                backoff = SYNC_SERVICE_FAULT_RETRY_MS;
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

/* ---- the repair thread: a damaged volume -------------------------------------------------- */

/*
 * Takes every write session for the repair thread: new writes wait (or time out) from now
 * on, writes in flight finish first. Returns the first session's hub session (made if
 * needed), or NULL when it cannot be made; give them back with svc_write_unlock_all.
 */
static struct hubclient *svc_write_lock_all(struct sync_service *s)
{
    struct svc_wsession *ws0 = &s->sv_ws[0];
    size_t i;

    pthread_mutex_lock(&s->sv_ws_mu);
    s->sv_ws_draining = 1;
    for (i = 0; i < SYNC_SERVICE_WRITE_SESSIONS; i++) {
        while (s->sv_ws[i].ws_busy)
            pthread_cond_wait(&s->sv_ws_cond, &s->sv_ws_mu);
        s->sv_ws[i].ws_busy = 1;
    }
    pthread_mutex_unlock(&s->sv_ws_mu);
    if (!ws0->ws_hc &&
        hubclient_new(&ws0->ws_hc, s->sv_cred, ws0->ws_http[svc_current(s)]) != ERR_OK)
        ws0->ws_hc = NULL;
    if (ws0->ws_hc)
        (void)svc_bind(s, ws0->ws_hc, ws0->ws_http);
    return ws0->ws_hc;
}

/* Gives back what svc_write_lock_all took. */
static void svc_write_unlock_all(struct sync_service *s)
{
    size_t i;

    pthread_mutex_lock(&s->sv_ws_mu);
    for (i = 0; i < SYNC_SERVICE_WRITE_SESSIONS; i++)
        s->sv_ws[i].ws_busy = 0;
    s->sv_ws_draining = 0;
    pthread_cond_broadcast(&s->sv_ws_cond);
    pthread_mutex_unlock(&s->sv_ws_mu);
}

/*
 * Rebuilds the damaged database (why: SQLite's complaint) and, when unlocked, pulls
 * everything again from the hub over a writes' session - the engine may sit in a 30 s
 * long-poll on its own. Holds every write session (writes wait, or time out) and, for the reset
 * itself, sv_act_mu (no activity upload straddles it); the engine waits on sv_repairing.
 */
static void svc_rebuild(struct sync_service *s, const char *why)
{
    char aside[VOLUME_PATH_MAX], msg[256];
    struct hubclient *hc;
    struct sync_ctx ctx;
    int unlocked;
    enum err e;

    pthread_mutex_lock(&s->sv_mu);
    s->sv_repairing = 1;
    s->sv_st.sst_volume_rebuilding = 1;
    unlocked = s->sv_st.sst_unlocked;
    pthread_mutex_unlock(&s->sv_mu);
    hc = svc_write_lock_all(s);
    pthread_mutex_lock(&s->sv_act_mu);
    e = volume_rebuild(s->sv_volume, aside, sizeof(aside), msg, sizeof(msg));
    pthread_mutex_unlock(&s->sv_act_mu);
    if (e != ERR_OK) {
        log_error("sync: the volume database is damaged (%s) and could not be rebuilt: %s (%s); "
                  "retried",
                  why, msg, err_name(e));
    } else {
        log_error("sync: the volume database was damaged (%s): kept as %s; rebuilding it from "
                  "the hub",
                  why, aside[0] ? aside : "(no copy could be made)");
        pthread_mutex_lock(&s->sv_mu);
        s->sv_rebuilt_at_ms = svc_wall_ms();
        s->sv_st.sst_volume_rebuilds++;
        (void)snprintf(s->sv_st.sst_volume_aside, sizeof(s->sv_st.sst_volume_aside), "%s", aside);
        s->sv_st.sst_last_seq = 0;
        s->sv_st.sst_last_sync_at = 0;
        pthread_mutex_unlock(&s->sv_mu);
    }
    if (e == ERR_OK && unlocked && hc) {
        memset(&ctx, 0, sizeof(ctx));
        ctx.sc_volume = s->sv_volume;
        ctx.sc_hub = hc;
        ctx.sc_hub_url = s->sv_urls[0];
        ctx.sc_epoch = volume_epoch(s->sv_volume);
        e = sync_run_once(&ctx);
        if (e == ERR_OK)
            log_info("sync: the volume is rebuilt from the hub (%llu vaults pulled, %llu file "
                     "contents kept after their SHA-256 check)",
                     (unsigned long long)ctx.sc_pulled, (unsigned long long)ctx.sc_adopted);
        else
            log_warn("sync: pulling the volume again failed (%s): %s; the engine retries",
                     err_name(e), ctx.sc_errmsg);
    }
    svc_write_unlock_all(s);
    svc_refresh_meta(s);
    pthread_mutex_lock(&s->sv_mu);
    s->sv_repairing = 0;
    s->sv_sync_asked = 1; /* the engine's full pass ends the rebuilding state */
    pthread_cond_broadcast(&s->sv_cond);
    pthread_mutex_unlock(&s->sv_mu);
}

/*
 * One check: the database's structure, then the file contents (see svc_repair). damaged:
 * SQLite reported damage that a quick check might not see (an index): then the full
 * integrity check runs too, and a second report within SYNC_SERVICE_REPORT_AGAIN_MS of
 * one both checks passed rebuilds anyway - the data comes from the hub, and a volume that
 * keeps failing reads must not keep the api answering 503.
 */
static void svc_check_volume(struct sync_service *s, int damaged)
{
    struct hubclient *hc;
    struct sync_ctx ctx;
    char msg[256];
    size_t bad = 0;
    int64_t t0 = svc_now_ms();
    int unlocked;
    enum err e;

    (void)volume_take_corrupt(s->sv_volume);
    e = volume_check(s->sv_volume, 0, msg, sizeof(msg));
    if (e == ERR_OK && damaged)
        e = volume_check(s->sv_volume, 1, msg, sizeof(msg));
    if (e == ERR_OK && damaged && s->sv_repair_ok_ms &&
        svc_now_ms() - s->sv_repair_ok_ms < SYNC_SERVICE_REPORT_AGAIN_MS) {
        (void)snprintf(msg, sizeof(msg), "reads keep failing although the checks pass");
        e = ERR_CORRUPT;
    } else if (e == ERR_OK && damaged) {
        s->sv_repair_ok_ms = svc_now_ms();
        log_warn("sync: damage was reported but the volume checks out; rebuilt if it is "
                 "reported again");
    }
    if (e == ERR_CORRUPT) {
        s->sv_repair_ok_ms = 0;
        svc_rebuild(s, msg);
    } else if (e != ERR_OK) {
        log_warn("sync: the volume could not be checked (%s): %s", err_name(e), msg);
    } else {
        log_debug("sync: the volume database checks out (%lld ms)", (long long)(svc_now_ms() - t0));
        (void)volume_take_file_corrupt(s->sv_volume);
        e = volume_files_verify(s->sv_volume, &bad);
        if (e != ERR_OK)
            log_warn("sync: the file contents could not be checked (%s)", err_name(e));
        if (bad) {
            log_warn("sync: %zu file content(s) failed their SHA-256 check: fetched again from "
                     "the hub",
                     bad);
            pthread_mutex_lock(&s->sv_mu);
            s->sv_st.sst_volume_bad_files += bad;
            pthread_mutex_unlock(&s->sv_mu);
            /* fetched now over the writes' session (the engine may be in a long-poll) */
            pthread_mutex_lock(&s->sv_mu);
            unlocked = s->sv_st.sst_unlocked;
            pthread_mutex_unlock(&s->sv_mu);
            hc = unlocked ? svc_write_lock_all(s) : NULL;
            if (hc) {
                memset(&ctx, 0, sizeof(ctx));
                ctx.sc_volume = s->sv_volume;
                ctx.sc_hub = hc;
                if (sync_fetch_files(&ctx) != ERR_OK)
                    log_warn("sync: fetching the damaged file contents again failed: %s; the "
                             "engine retries",
                             ctx.sc_errmsg);
            }
            if (unlocked)
                svc_write_unlock_all(s);
        }
    }
    pthread_mutex_lock(&s->sv_mu);
    s->sv_st.sst_volume_checked_ms = svc_wall_ms();
    if (bad)
        s->sv_sync_asked = 1;
    pthread_cond_broadcast(&s->sv_cond);
    pthread_mutex_unlock(&s->sv_mu);
}

/* The repair thread: waits for a check request (bus "volume_check", damage seen), until stop. */
static void *svc_repair(void *arg)
{
    struct sync_service *s = arg;
    int damaged;

    pthread_mutex_lock(&s->sv_mu);
    while (!s->sv_stop) {
        if (!s->sv_repair_asked) {
            pthread_cond_wait(&s->sv_cond, &s->sv_mu);
            continue;
        }
        s->sv_repair_asked = 0;
        damaged = s->sv_repair_damaged;
        s->sv_repair_damaged = 0;
        pthread_mutex_unlock(&s->sv_mu);
        svc_check_volume(s, damaged);
        pthread_mutex_lock(&s->sv_mu);
    }
    pthread_mutex_unlock(&s->sv_mu);
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
    const char *urls[SYNC_SERVICE_MAX_HUBS];
    struct volume_meta m;
    size_t i, j, nurls = 0;
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
    /* the hub URLs: SESAME_HUB's list, else its one URL, else the credentials file's */
    if (cfg->ssc_hub_url_count > 0) {
        if (!cfg->ssc_hub_urls || cfg->ssc_hub_url_count > SYNC_SERVICE_MAX_HUBS)
            return err_msgf(ERR_CONFIG, errmsg, errcap, "sync: more than %d hub URLs",
                            SYNC_SERVICE_MAX_HUBS);
        for (nurls = 0; nurls < cfg->ssc_hub_url_count; nurls++)
            urls[nurls] = cfg->ssc_hub_urls[nurls];
    } else if (cfg->ssc_hub_url) {
        urls[nurls++] = cfg->ssc_hub_url;
    } else {
        for (i = 0; i < credentials_hub_url_count(cfg->ssc_cred) && i < SYNC_SERVICE_MAX_HUBS; i++)
            urls[nurls++] = credentials_hub_url_at(cfg->ssc_cred, i);
    }
    for (i = 0; i < nurls; i++) {
        if (credentials_tls_fingerprint(cfg->ssc_cred) && urls[i] &&
            strncasecmp(urls[i], "https://", 8) != 0)
            return err_msgf(ERR_CONFIG, errmsg, errcap,
                            "the credentials file pins the hub's TLS certificate "
                            "(hub.tlsFingerprint) but the hub URL is not https://");
    }
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
    pthread_mutex_init(&s->sv_ws_mu, NULL);
    pthread_mutex_init(&s->sv_act_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->sv_cond, &ca);
    pthread_cond_init(&s->sv_ws_cond, &ca);
    pthread_condattr_destroy(&ca);

    for (i = 0; i < nurls; i++) {
        if (!urls[i]) {
            e = err_msgf(ERR_BAD_INPUT, errmsg, errcap, "sync: no hub URL");
            goto fail;
        }
        s->sv_urls[i] = mem_strdup(urls[i]);
        if (!s->sv_urls[i]) {
            e = err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
            goto fail;
        }
        s->sv_nurls = i + 1;
    }
    s->sv_db_path = mem_alloc(strlen(cfg->ssc_volume_dir) + sizeof("/" VOLUME_DB_NAME));
    if (nurls == 0 || !s->sv_db_path) {
        e = err_msgf(nurls ? ERR_NOMEM : ERR_BAD_INPUT, errmsg, errcap,
                     nurls ? "out of memory" : "sync: no hub URL");
        goto fail;
    }
    n = snprintf(s->sv_db_path, strlen(cfg->ssc_volume_dir) + sizeof("/" VOLUME_DB_NAME),
                 "%s/" VOLUME_DB_NAME, cfg->ssc_volume_dir);
    if (n < 0) {
        e = err_msgf(ERR_INTERNAL, errmsg, errcap, "sync: cannot format the volume path");
        goto fail;
    }
    memset(&hcc, 0, sizeof(hcc));
    hcc.hcc_timeout_ms = cfg->ssc_request_timeout_ms;
    hcc.hcc_proxy = cfg->ssc_proxy;
    /* A pinned certificate is the only one accepted, whoever signed it (the CA file would
     * add nothing); else the CA file, else the system's store. */
    hcc.hcc_cert_sha256 = credentials_tls_fingerprint(cfg->ssc_cred);
    hcc.hcc_ca_file = hcc.hcc_cert_sha256 ? NULL : cfg->ssc_ca_file;
    /* one HTTP client per hub URL for the engine and for each write session: failing over
       switches clients, and a stop cancels every one */
    e = ERR_OK;
    for (j = 0; e == ERR_OK && j < s->sv_nurls; j++) {
        hcc.hcc_base_url = s->sv_urls[j];
        e = http_client_new(&s->sv_http[j], &hcc, errmsg, errcap);
        for (i = 0; e == ERR_OK && i < SYNC_SERVICE_WRITE_SESSIONS; i++)
            e = http_client_new(&s->sv_ws[i].ws_http[j], &hcc, errmsg, errcap);
    }
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
    if (cfg->ssc_rebuilt_aside) {
        s->sv_st.sst_volume_rebuilding = 1;
        s->sv_st.sst_volume_rebuilds = 1;
        s->sv_st.sst_volume_checked_ms = svc_wall_ms();
        (void)snprintf(s->sv_st.sst_volume_aside, sizeof(s->sv_st.sst_volume_aside), "%s",
                       cfg->ssc_rebuilt_aside);
    }
    if (pthread_create(&s->sv_repair_thread, NULL, svc_repair, s) != 0) {
        e = err_msgf(ERR_INTERNAL, errmsg, errcap, "sync: cannot start the repair thread");
        goto fail;
    }
    s->sv_repair_live = 1;
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
    size_t i;
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
    /* the writes' sessions (no request yet; a failure here is retried by the first write) */
    pthread_mutex_lock(&s->sv_ws_mu);
    for (i = 0; i < SYNC_SERVICE_WRITE_SESSIONS; i++) {
        struct svc_wsession *ws = &s->sv_ws[i];

        if (!ws->ws_busy && !ws->ws_hc &&
            hubclient_new(&ws->ws_hc, s->sv_cred, ws->ws_http[0]) != ERR_OK)
            ws->ws_hc = NULL;
    }
    pthread_mutex_unlock(&s->sv_ws_mu);
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
    size_t i, j;

    if (!s)
        return ERR_OK;
    until = svc_deadline(s->sv_stop_wait_ms);
    pthread_mutex_lock(&s->sv_mu);
    s->sv_stop = 1;
    pthread_cond_broadcast(&s->sv_cond);
    /* a long-poll in flight ends at the client's next progress tick (about 1 s) */
    for (j = 0; j < s->sv_nurls; j++) {
        http_client_cancel(s->sv_http[j]);                /* NULL is fine */
        for (i = 0; i < SYNC_SERVICE_WRITE_SESSIONS; i++) /* writes in flight end too (503) */
            http_client_cancel(s->sv_ws[i].ws_http[j]);
    }
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
    size_t i, j;
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
    if (s->sv_repair_live) {
        pthread_mutex_lock(&s->sv_mu);
        s->sv_stop = 1;
        pthread_cond_broadcast(&s->sv_cond);
        pthread_mutex_unlock(&s->sv_mu);
        pthread_join(s->sv_repair_thread, NULL);
    }
    for (i = 0; i < SYNC_SERVICE_WRITE_SESSIONS; i++) {
        hubclient_free(s->sv_ws[i].ws_hc); /* before its clients: it removes its bearer */
        for (j = 0; j < SYNC_SERVICE_MAX_HUBS; j++)
            http_client_free(s->sv_ws[i].ws_http[j]);
    }
    for (j = 0; j < SYNC_SERVICE_MAX_HUBS; j++) {
        http_client_free(s->sv_http[j]);
        mem_free(s->sv_urls[j]);
    }
    mem_free(s->sv_db_path);
    pthread_cond_destroy(&s->sv_cond);
    pthread_mutex_destroy(&s->sv_mu);
    pthread_mutex_destroy(&s->sv_unlock_mu);
    pthread_mutex_destroy(&s->sv_ws_mu);
    pthread_cond_destroy(&s->sv_ws_cond);
    pthread_mutex_destroy(&s->sv_act_mu);
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
    bad |= svc_set(o, "volumeRebuilding", json_boolean(st.sst_volume_rebuilding));
    bad |= svc_set(o, "volumeFull", json_boolean(st.sst_volume_full));
    bad |= svc_set(o, "volumeRebuilds", json_integer((json_int_t)st.sst_volume_rebuilds));
    bad |= svc_set(o, "volumeBadFiles", json_integer((json_int_t)st.sst_volume_bad_files));
    bad |= svc_set(o, "volumeCheckedAt", json_integer((json_int_t)st.sst_volume_checked_ms));
    bad |= svc_set(o, "hubUrl", json_string(s->sv_urls[svc_current(s)]));
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
    char dbmsg[2 * VOLUME_PATH_MAX + 96], hubmsg[SYNC_ERRMSG_BYTES + 32];
    uint64_t gen = 0;
    int64_t ago;

    *out = NULL;
    sync_service_get_status(s, &st);
    deps[0].hd_service = "sqlite";
    if (st.sst_volume_rebuilding) {
        deps[0].hd_status = "ERROR";
        (void)snprintf(dbmsg, sizeof(dbmsg),
                       "%s was damaged and is being rebuilt from the hub (kept as %s)",
                       s->sv_db_path, st.sst_volume_aside[0] ? st.sst_volume_aside : "no copy");
    } else if (volume_out_of_space(s->sv_volume)) {
        deps[0].hd_status = "ERROR";
        (void)snprintf(dbmsg, sizeof(dbmsg),
                       "The disk of %s is full: writes fail until space is freed", s->sv_db_path);
    } else if (volume_generation(s->sv_volume, &gen) == ERR_OK) {
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

/* ---- writes: item_put, item_delete (docs/sync.md, "Writes") -------------------------- */

/* A write request of the api, checked (strings borrowed from the request). */
struct svc_write {
    char sw_vault[ID_LEN + 1];
    char sw_item[ID_LEN + 1];
    struct hubclient_item_write sw_put; /* item_put only */
    uint64_t sw_base;                   /* baseVersion */
    long sw_budget_ms;                  /* sync_service_write_timeout(timeoutMs) */
};

/* Returns timeout_ms less the margin, within the bounds (see service.h). */
long sync_service_write_timeout(long timeout_ms)
{
    long t;

    if (timeout_ms <= 0)
        return SYNC_SERVICE_WRITE_MAX_MS;
    t = timeout_ms - SYNC_SERVICE_WRITE_MARGIN_MS;
    if (t < SYNC_SERVICE_WRITE_MIN_MS)
        return SYNC_SERVICE_WRITE_MIN_MS;
    return t > SYNC_SERVICE_WRITE_MAX_MS ? SYNC_SERVICE_WRITE_MAX_MS : t;
}

/* Fills resp with {"ok":false,"status":status,"message":...}; ERR_OK or ERR_NOMEM. */
static enum err svc_refuse(struct bus_msg *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum err svc_refuse(struct bus_msg *resp, int status, const char *fmt, ...)
{
    char msg[SYNC_ERRMSG_BYTES + HUBCLIENT_ERRMSG_BYTES];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    resp->bm_json = json_pack("{s:b, s:i, s:s}", "ok", 0, "status", status, "message", msg);
    return resp->bm_json ? ERR_OK : ERR_NOMEM;
}

/* Returns 1 when text is an [A-Z_] word shorter than cap (empty only if allow_empty). */
static int svc_word_ok(const char *text, size_t cap, int allow_empty)
{
    size_t i, n;

    if (!text)
        return 0;
    n = strlen(text);
    if (n >= cap || (n == 0 && !allow_empty))
        return 0;
    for (i = 0; i < n; i++) {
        if (!((text[i] >= 'A' && text[i] <= 'Z') || text[i] == '_'))
            return 0;
    }
    return 1;
}

/* Returns 1 when text is non-empty unpadded base64url (it decodes). */
static int svc_b64_ok(const char *text)
{
    size_t len = text ? strlen(text) : 0, cap, n = 0;
    unsigned char *tmp;
    enum err e;

    if (len == 0)
        return 0;
    cap = codec_b64_decoded_max(len) + 1;
    tmp = mem_alloc(cap);
    if (!tmp)
        return 0;
    e = codec_b64_decode(tmp, cap, &n, text, len, CODEC_B64_URL);
    mem_free(tmp);
    return e == ERR_OK && n > 0;
}

/* Copies id member key of req into out; 1 when it is a lowercase id. */
static int svc_id(const json_t *req, const char *key, char out[ID_LEN + 1])
{
    const char *v = json_string_value(json_object_get(req, key));

    out[0] = '\0';
    if (!v || !id_is_valid(v))
        return 0;
    memcpy(out, v, ID_LEN + 1);
    return 1;
}

/*
 * Reads the members every write has (vault, item, baseVersion, timeoutMs) into *w. Returns
 * NULL, or what is wrong (a static message).
 */
static const char *svc_parse_target(const json_t *req, struct svc_write *w)
{
    const json_t *base = json_object_get(req, "baseVersion");
    const json_t *tmo = json_object_get(req, "timeoutMs");

    memset(w, 0, sizeof(*w));
    if (!svc_id(req, "vault", w->sw_vault))
        return "vault is not a valid id";
    if (!svc_id(req, "item", w->sw_item))
        return "item is not a valid id";
    if (!json_is_integer(base) || json_integer_value(base) < 0)
        return "baseVersion must be an integer of at least 0";
    w->sw_base = (uint64_t)json_integer_value(base);
    if (tmo && (!json_is_integer(tmo) || json_integer_value(tmo) <= 0))
        return "timeoutMs must be a positive integer";
    if (tmo) /* anything over the bound is the bound */
        w->sw_budget_ms = sync_service_write_timeout(
            json_integer_value(tmo) > SYNC_SERVICE_WRITE_MAX_MS + SYNC_SERVICE_WRITE_MARGIN_MS
                ? SYNC_SERVICE_WRITE_MAX_MS + SYNC_SERVICE_WRITE_MARGIN_MS
                : (long)json_integer_value(tmo));
    else
        w->sw_budget_ms = sync_service_write_timeout(0);
    return NULL;
}

/* Reads an item_put request into *w (see svc_parse_target). */
static const char *svc_parse_put(const json_t *req, struct svc_write *w)
{
    const json_t *state = json_object_get(req, "state");
    const char *bad = svc_parse_target(req, w);

    if (bad)
        return bad;
    w->sw_put.hiw_category = json_string_value(json_object_get(req, "category"));
    w->sw_put.hiw_state = state ? json_string_value(state) : "";
    w->sw_put.hiw_overview = json_string_value(json_object_get(req, "overview"));
    w->sw_put.hiw_details = json_string_value(json_object_get(req, "details"));
    w->sw_put.hiw_base_version = w->sw_base;
    if (!svc_word_ok(w->sw_put.hiw_category, VOLUME_CATEGORY_MAX, 0))
        return "category must be 1 to 31 of A-Z and _";
    if (!svc_word_ok(w->sw_put.hiw_state, VOLUME_STATE_MAX, 1))
        return "state must be up to 15 of A-Z and _";
    if (!svc_b64_ok(w->sw_put.hiw_overview))
        return "overview must be unpadded base64url";
    if (!svc_b64_ok(w->sw_put.hiw_details))
        return "details must be unpadded base64url";
    return NULL;
}

/* Gives a write session back and wakes a write waiting for one. */
static void svc_write_unlock(struct sync_service *s, struct svc_wsession *ws)
{
    pthread_mutex_lock(&s->sv_ws_mu);
    ws->ws_busy = 0;
    pthread_cond_broadcast(&s->sv_ws_cond); /* a write or the repair thread may wait */
    pthread_mutex_unlock(&s->sv_ws_mu);
}

/*
 * Takes one of the write sessions for a write due at deadline (monotonic ms): sync must be
 * unlocked and running, and a session free before the deadline (at most
 * SYNC_SERVICE_WRITE_SESSIONS writes go to the hub at once). Returns the session, held
 * (give it back with svc_write_unlock), with *left the milliseconds left; or NULL with the
 * refusal in resp (*rc: ERR_OK, or ERR_NOMEM when it could not be made).
 */
static struct svc_wsession *svc_write_lock(struct sync_service *s, int64_t deadline, long *left,
                                           struct bus_msg *resp, enum err *rc)
{
    struct svc_wsession *ws = NULL;
    struct timespec until;
    int unlocked, stop;
    int64_t ms;
    size_t i;

    pthread_mutex_lock(&s->sv_mu);
    unlocked = s->sv_st.sst_unlocked;
    stop = s->sv_stop;
    pthread_mutex_unlock(&s->sv_mu);
    if (!unlocked || stop) {
        *rc = svc_refuse(resp, 503, "%s", stop ? "sync is stopping" : "sync is locked");
        return NULL;
    }
    ms = deadline - svc_now_ms();
    until = svc_deadline(ms > 0 ? (unsigned)ms : 0u);
    pthread_mutex_lock(&s->sv_ws_mu);
    while (ms > 0) {
        for (i = 0; i < SYNC_SERVICE_WRITE_SESSIONS && !ws && !s->sv_ws_draining; i++)
            if (!s->sv_ws[i].ws_busy)
                ws = &s->sv_ws[i];
        if (ws) {
            ws->ws_busy = 1;
            break;
        }
        if (pthread_cond_timedwait(&s->sv_ws_cond, &s->sv_ws_mu, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&s->sv_ws_mu);
    *left = (long)(deadline - svc_now_ms());
    if (ws && *left <= 0) {
        svc_write_unlock(s, ws);
        ws = NULL;
    }
    if (!ws) {
        *rc = svc_refuse(resp, 504,
                         "sync was busy with earlier writes until the timeout; nothing was "
                         "written");
        return NULL;
    }
    if (!ws->ws_hc && hubclient_new(&ws->ws_hc, s->sv_cred, ws->ws_http[0]) != ERR_OK) {
        ws->ws_hc = NULL;
        svc_write_unlock(s, ws);
        *rc = svc_refuse(resp, 500, "sync cannot make its hub session; nothing was written");
        return NULL;
    }
    return ws;
}

/*
 * Answers a write the hub refused or could not take (e, from the write session; called
 * with the session ws held, as the message is the session's; replayed: an earlier attempt
 * may have reached another hub, so "nothing was written" cannot be said). ERR_OK or ERR_NOMEM.
 */
static enum err svc_hub_refusal(struct sync_service *s, struct svc_wsession *ws, enum err e,
                                long budget_ms, int replayed, struct bus_msg *resp)
{
    const char *why = hubclient_errmsg(ws->ws_hc);
    int stop;

    switch (e) {
    case ERR_FORBIDDEN:
        return svc_refuse(resp, 403, "the vault is not granted to this server");
    case ERR_NOT_FOUND:
        return svc_refuse(resp, 404, "the vault or item is not on the hub");
    case ERR_BAD_INPUT:
        return svc_refuse(resp, 400, "the hub refused the write: %s", why);
    case ERR_TOO_LARGE:
        return svc_refuse(resp, 413, "the hub refused the write: %s", why);
    case ERR_TIMEOUT:
        return svc_refuse(resp, 504,
                          "the hub did not answer within %ld ms (%s): the write may or may not "
                          "have been applied; read the item before retrying",
                          budget_ms, why);
    case ERR_NOMEM:
        return svc_refuse(resp, 500, "sync ran out of memory during the write");
    case ERR_NO_SPACE: /* the hub's transaction rolled back */
        return svc_refuse(resp, 507, "the hub's storage is full: nothing was written");
    default:
        break;
    }
    pthread_mutex_lock(&s->sv_mu);
    stop = s->sv_stop;
    pthread_mutex_unlock(&s->sv_mu);
    if (stop && e == ERR_IO) /* the client was cancelled by sync_service_stop */
        return svc_refuse(resp, 503,
                          "sync is stopping: the write was cut short and may or may not have "
                          "reached the hub");
    /* Only a connection that was never made proves the hub did not get the write; a reset
     * or an empty reply may come after the hub committed it (integration.faults). */
    if (!replayed && why && (strstr(why, "cannot connect") || strstr(why, "cannot resolve")))
        return svc_refuse(resp, 502, "the hub could not be reached: %s; nothing was written", why);
    return svc_refuse(resp, 502,
                      "the hub's answer was lost: %s; the write may or may not have been "
                      "applied: read the item before retrying",
                      why);
}

/* Logs a refused write: warn when the hub failed (5xx), else debug (the api's to report). */
static void svc_log_refusal(const char *verb, const struct svc_write *w, enum err e,
                            const struct bus_msg *resp)
{
    const char *msg = json_string_value(json_object_get(resp->bm_json, "message"));

    if (json_integer_value(json_object_get(resp->bm_json, "status")) >= 500)
        log_warn("sync: %s item %s of vault %s failed (%s): %s", verb, w->sw_item, w->sw_vault,
                 err_name(e), msg ? msg : "");
    else
        log_debug("sync: %s item %s of vault %s refused (%s): %s", verb, w->sw_item, w->sw_vault,
                  err_name(e), msg ? msg : "");
}

/* Applies the hub's ITEM record to the volume in one transaction; errmsg says why not. */
static enum err svc_apply_record(struct sync_service *s, const json_t *rec, char *errmsg,
                                 size_t errcap)
{
    struct volume_tx *tx = NULL;
    enum err e = volume_tx_begin(s->sv_volume, &tx);

    if (e != ERR_OK)
        return err_msgf(e, errmsg, errcap, "sync: cannot begin a volume transaction: %s",
                        err_name(e));
    e = sync_apply_item_record(tx, rec, errmsg, errcap);
    if (e != ERR_OK) {
        volume_tx_rollback(tx);
        return e;
    }
    e = volume_tx_commit(tx);
    if (e != ERR_OK)
        return err_msgf(e, errmsg, errcap, "sync: the item record was not committed: %s",
                        err_name(e));
    return ERR_OK;
}

/*
 * After the hub's 409 (or a create of an item the volume holds): reads the item's current
 * version from the hub and applies it, so that the api re-reads it, then answers 409 - or
 * 404 when the hub has no live item any more, 403 when the vault is not granted. Called
 * with the session ws held. ERR_OK or ERR_NOMEM.
 */
static enum err svc_conflict(struct sync_service *s, struct svc_wsession *ws,
                             const struct svc_write *w, int64_t deadline, struct bus_msg *resp)
{
    char msg[SYNC_ERRMSG_BYTES];
    json_t *rec = NULL;
    int64_t left = deadline - svc_now_ms();
    enum err e = ERR_TIMEOUT;

    if (left > 0)
        e = hubclient_item_get(ws->ws_hc, w->sw_vault, w->sw_item, (long)left, &rec);
    if (e == ERR_OK) {
        e = svc_apply_record(s, rec, msg, sizeof(msg));
        json_decref(rec);
        if (e != ERR_OK)
            log_warn("%s (%s): the item's current version is left to the next sync", msg,
                     err_name(e));
    } else if (e == ERR_NOT_FOUND) {
        return svc_refuse(resp, 404, "the item is not on the hub any more");
    } else if (e == ERR_FORBIDDEN) {
        return svc_refuse(resp, 403, "the vault is not granted to this server");
    } else {
        log_warn("sync: re-reading item %s after a conflict failed (%s): %s", w->sw_item,
                 err_name(e),
                 e == ERR_TIMEOUT && left <= 0 ? "no time left" : hubclient_errmsg(ws->ws_hc));
    }
    return svc_refuse(resp, 409, "the item changed concurrently");
}

/*
 * Answers a write the hub committed (what: "stored version" / "deleted the item at
 * version", version) that the volume could not apply because it is full (507) or damaged
 * (503; a check is asked). The write is not lost: the hub has it, and it reaches this
 * volume with the next pass once space is freed or the volume rebuilt. ERR_OK or ERR_NOMEM.
 */
static enum err svc_volume_refusal(struct sync_service *s, struct bus_msg *resp, enum err e,
                                   const char *what, long long version)
{
    if (e == ERR_CORRUPT) {
        pthread_mutex_lock(&s->sv_mu);
        svc_ask_repair_locked(s, 1);
        pthread_mutex_unlock(&s->sv_mu);
        return svc_refuse(resp, 503,
                          "the hub %s %lld, but this server's volume is damaged and being "
                          "rebuilt: the write is served here once it is (do not repeat it)",
                          what, version);
    }
    return svc_refuse(resp, 507,
                      "the hub %s %lld, but this server's volume is full: the write is served "
                      "here once space is freed (do not repeat it)",
                      what, version);
}

/* Returns 1 when the hub's record names the item and vault written. */
static int svc_record_ok(const json_t *rec, const struct svc_write *w)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    const char *vault = json_string_value(json_object_get(rec, "vault"));

    return id && vault && strcasecmp(id, w->sw_item) == 0 && strcasecmp(vault, w->sw_vault) == 0;
}

/*
 * Sends a write (put: item_put, the hub's record into *rec; else item_delete) through the
 * held session ws, to the current hub - and on to the next URLs while failing over is safe
 * (docs/sync.md, "Several hub URLs"): always when no connection was made (nothing reached
 * the hub); after a lost answer or a 502/503/504 only for a put (it always carries its
 * baseVersion, 0 for a create: a replay of a write the hub did take meets 409, which the
 * caller checks with svc_replay_landed). Each URL is tried at most once, within deadline.
 * *replayed is set when a retry followed a failure that may have reached the hub. Returns
 * the last attempt's result.
 */
static enum err svc_write_send(struct sync_service *s, struct svc_wsession *ws,
                               const struct svc_write *w, int put, int64_t deadline, json_t **rec,
                               int *replayed)
{
    enum hubclient_failure f;
    size_t tries, used;
    long left;
    enum err e;

    *replayed = 0;
    for (tries = 0;; tries++) {
        left = (long)(deadline - svc_now_ms());
        used = svc_bind(s, ws->ws_hc, ws->ws_http);
        if (put)
            e = hubclient_item_put(ws->ws_hc, w->sw_vault, w->sw_item, &w->sw_put,
                                   left > 0 ? left : 1, rec);
        else
            e = hubclient_item_delete(ws->ws_hc, w->sw_vault, w->sw_item, w->sw_base,
                                      left > 0 ? left : 1);
        if (e == ERR_OK)
            return e;
        f = hubclient_last_failure(ws->ws_hc);
        if (!svc_failover(s, used, f) || tries + 1 >= s->sv_nurls)
            return e;
        if (f != HUBCLIENT_FAIL_UNSENT && !put)
            return e; /* it may have been applied, and a replay is not safe */
        if (deadline - svc_now_ms() <= 0)
            return e;
        if (f != HUBCLIENT_FAIL_UNSENT)
            *replayed = 1;
        log_debug("sync: %s item %s of vault %s sent again to the next hub (%s)",
                  put ? "writing" : "deleting", w->sw_item, w->sw_vault,
                  f == HUBCLIENT_FAIL_UNSENT ? "the first was never sent" : "a replay");
    }
}

/*
 * After a replayed update met 409: reads the item from the hub and returns 1 (its record
 * into *rec) when the hub's current version is the one this write made - version
 * baseVersion + 1 with exactly the overview and details sent (fresh ciphertexts: no other
 * writer has them) - so the first attempt did land and its answer was lost. Else 0.
 */
static int svc_replay_landed(struct svc_wsession *ws, const struct svc_write *w, int64_t deadline,
                             json_t **rec)
{
    int64_t left = deadline - svc_now_ms();
    json_t *cur = NULL;
    const char *ov, *det;

    *rec = NULL;
    if (left <= 0 ||
        hubclient_item_get(ws->ws_hc, w->sw_vault, w->sw_item, (long)left, &cur) != ERR_OK)
        return 0;
    ov = json_string_value(json_object_get(cur, "overview"));
    det = json_string_value(json_object_get(cur, "details"));
    if (json_integer_value(json_object_get(cur, "version")) == (json_int_t)(w->sw_base + 1) && ov &&
        det && strcmp(ov, w->sw_put.hiw_overview) == 0 && strcmp(det, w->sw_put.hiw_details) == 0) {
        *rec = cur;
        return 1;
    }
    json_decref(cur);
    return 0;
}

/* {"op":"item_put"} (see service.h and docs/sync.md "Writes"). */
static enum err svc_item_put(struct sync_service *s, const json_t *req, struct bus_msg *resp)
{
    char msg[SYNC_ERRMSG_BYTES];
    struct volume_item held;
    struct svc_wsession *ws;
    struct svc_write w;
    json_t *rec = NULL;
    const char *bad = svc_parse_put(req, &w);
    int64_t deadline, version;
    long left = 0;
    int replayed = 0;
    enum err e, rc = ERR_OK;

    if (bad)
        return svc_refuse(resp, 400, "item_put: %s", bad);
    deadline = svc_now_ms() + w.sw_budget_ms;
    ws = svc_write_lock(s, deadline, &left, resp, &rc);
    if (!ws)
        return rc;
    (void)left; /* svc_write_send measures from the deadline */
    (void)svc_bind(s, ws->ws_hc, ws->ws_http);
    /* a create (baseVersion 0) must not replace an item: the hub would take it (last
     * writer wins) with content sealed for version 1. The volume knows every item this
     * server's api can name; an id made by the api is new anywhere. */
    memset(&held, 0, sizeof(held));
    if (w.sw_base == 0 && volume_item_get(s->sv_volume, w.sw_vault, w.sw_item, &held) == ERR_OK) {
        volume_item_clear(&held);
        rc = svc_conflict(s, ws, &w, deadline, resp);
        svc_write_unlock(s, ws);
        return rc;
    }
    e = svc_write_send(s, ws, &w, 1, deadline, &rec, &replayed);
    if (e == ERR_CONFLICT && replayed && svc_replay_landed(ws, &w, deadline, &rec)) {
        log_info("sync: item %s of vault %s: the hub had taken the write whose answer was "
                 "lost",
                 w.sw_item, w.sw_vault);
        e = ERR_OK;
    }
    if (e == ERR_CONFLICT) {
        rc = svc_conflict(s, ws, &w, deadline, resp);
        svc_write_unlock(s, ws);
        return rc;
    }
    if (e != ERR_OK) {
        rc = svc_hub_refusal(s, ws, e, w.sw_budget_ms, replayed, resp);
        svc_write_unlock(s, ws);
        svc_log_refusal("writing", &w, e, resp);
        return rc;
    }
    svc_write_unlock(s, ws);
    version = (int64_t)json_integer_value(json_object_get(rec, "version"));
    if (!svc_record_ok(rec, &w)) {
        json_decref(rec);
        return svc_refuse(resp, 502, "the hub answered the write with another item's record");
    }
    if ((uint64_t)version != w.sw_base + 1)
        log_error("sync: the hub stored item %s at version %lld, not %llu (an item with this id "
                  "existed)",
                  w.sw_item, (long long)version, (unsigned long long)(w.sw_base + 1));
    e = svc_apply_record(s, rec, msg, sizeof(msg));
    if (e != ERR_OK) {
        json_decref(rec);
        log_error("%s (%s)", msg, err_name(e));
        sync_service_request_sync(s);
        if (e == ERR_NO_SPACE || e == ERR_CORRUPT)
            return svc_volume_refusal(s, resp, e, "stored version", version);
        return svc_refuse(resp, 500,
                          "the hub stored version %lld but the volume could not take it (%s); "
                          "it arrives with the next sync",
                          (long long)version, err_name(e));
    }
    log_debug("sync: item %s of vault %s written at version %lld", w.sw_item, w.sw_vault,
              (long long)version);
    resp->bm_json = json_pack("{s:b, s:o}", "ok", 1, "item", rec);
    return resp->bm_json ? ERR_OK : ERR_NOMEM;
}

/* {"op":"item_delete"} (see service.h and docs/sync.md "Writes"). */
static enum err svc_item_delete(struct sync_service *s, const json_t *req, struct bus_msg *resp)
{
    struct volume_tx *tx = NULL;
    struct svc_wsession *ws;
    struct svc_write w;
    const char *bad = svc_parse_target(req, &w);
    int64_t deadline;
    long left = 0;
    int replayed = 0;
    enum err e, rc = ERR_OK;

    if (!bad && w.sw_base == 0)
        bad = "baseVersion must be the version deleted (at least 1)";
    if (bad)
        return svc_refuse(resp, 400, "item_delete: %s", bad);
    deadline = svc_now_ms() + w.sw_budget_ms;
    ws = svc_write_lock(s, deadline, &left, resp, &rc);
    if (!ws)
        return rc;
    (void)left; /* svc_write_send measures from the deadline */
    e = svc_write_send(s, ws, &w, 0, deadline, NULL, &replayed);
    if (e == ERR_CONFLICT) {
        rc = svc_conflict(s, ws, &w, deadline, resp);
        svc_write_unlock(s, ws);
        return rc;
    }
    if (e == ERR_NOT_FOUND) {
        svc_write_unlock(s, ws);
        return svc_refuse(resp, 404, "the item is not on the hub any more");
    }
    if (e != ERR_OK) {
        rc = svc_hub_refusal(s, ws, e, w.sw_budget_ms, replayed, resp);
        svc_write_unlock(s, ws);
        svc_log_refusal("deleting", &w, e, resp);
        return rc;
    }
    svc_write_unlock(s, ws);
    /* the hub gave the deletion the next version; the feed brings the same later */
    e = volume_tx_begin(s->sv_volume, &tx);
    if (e == ERR_OK)
        e = volume_tx_item_delete(tx, w.sw_vault, w.sw_item, w.sw_base + 1, (int64_t)time(NULL),
                                  credentials_server_id_upper(s->sv_cred));
    if (e == ERR_OK) {
        e = volume_tx_commit(tx);
        tx = NULL;
    }
    volume_tx_rollback(tx);
    if (e != ERR_OK) {
        log_error("sync: the hub deleted item %s but the volume could not apply it (%s)", w.sw_item,
                  err_name(e));
        sync_service_request_sync(s);
        if (e == ERR_NO_SPACE || e == ERR_CORRUPT)
            return svc_volume_refusal(s, resp, e, "deleted the item at version",
                                      (long long)(w.sw_base + 1));
        return svc_refuse(resp, 500,
                          "the hub deleted the item but the volume could not apply it (%s); it "
                          "arrives with the next sync",
                          err_name(e));
    }
    log_debug("sync: item %s of vault %s deleted at version %llu", w.sw_item, w.sw_vault,
              (unsigned long long)(w.sw_base + 1));
    resp->bm_json = json_pack("{s:b, s:I}", "ok", 1, "version", (json_int_t)(w.sw_base + 1));
    return resp->bm_json ? ERR_OK : ERR_NOMEM;
}

/*
 * The bus's {"op":"activity"}: the api has just written activity entries to the volume;
 * upload them now over the writes' session rather than after the engine's next long-poll
 * (up to 30 s away on an idle server). Answers {"ok":true}, or the refusal of
 * svc_write_lock (locked, busy).
 */
static enum err svc_activity_now(struct sync_service *s, struct bus_msg *resp)
{
    struct svc_wsession *ws;
    enum err rc = ERR_OK;
    long left = 0;

    ws = svc_write_lock(s, svc_now_ms() + SYNC_SERVICE_ACTIVITY_NOW_MS, &left, resp, &rc);
    if (!ws)
        return rc;
    (void)svc_bind(s, ws->ws_hc, ws->ws_http);
    (void)svc_upload_activity(s, ws->ws_hc);
    svc_write_unlock(s, ws);
    return svc_answer(resp, 1, NULL);
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
    if (strcmp(op, "activity") == 0)
        return svc_activity_now(s, resp);
    if (strcmp(op, "volume_check") == 0) {
        json_int_t seen = json_integer_value(json_object_get(req->bm_json, "seenAt"));

        pthread_mutex_lock(&s->sv_mu);
        /* damage the api saw before the last rebuild is what that rebuild repaired */
        svc_ask_repair_locked(s, json_is_true(json_object_get(req->bm_json, "damaged")) &&
                                     (int64_t)seen > s->sv_rebuilt_at_ms);
        pthread_mutex_unlock(&s->sv_mu);
        return svc_answer(resp, 1, NULL);
    }
    if (strcmp(op, "item_put") == 0)
        return svc_item_put(s, req->bm_json, resp);
    if (strcmp(op, "item_delete") == 0)
        return svc_item_delete(s, req->bm_json, resp);
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
