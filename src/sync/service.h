/*
 * service.h - the long-running engine of `sesame sync` (docs/sync.md, "The engine"): it
 * holds the credentials (locked until the api sends the unlock secret over the bus), and
 * once unlocked runs one thread that keeps the volume in step with the hub - a full pass
 * (sync_run_once) first and after any error, then long-polls (sync_poll) - uploads the
 * api's pending activity after each good pass, and backs off with jitter while the hub
 * fails. It also answers the bus messages of the api (unlock, status, sync) and builds the
 * /health document of the sync process; sync_main.c wires both to their servers.
 *
 * Thread safety: every function may be called from any thread (the bus and HTTP servers'
 * threads) except sync_service_free. The status is kept under a mutex; nothing here
 * blocks on the hub except the engine thread itself and a bus write (item_put,
 * item_delete), which uses a second HTTP client and hub session of its own (under a
 * mutex of its own: writes go one at a time), so a write never waits for the engine's
 * long-poll.
 */
#ifndef SESAME_SYNC_SERVICE_H
#define SESAME_SYNC_SERVICE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "common/err.h"
#include "keys/credentials.h"
#include "store/volume.h"
#include "sync/apply.h"

#define SYNC_SERVICE_POLL_WAIT_S     HUBCLIENT_MAX_WAIT /* long-poll of the change feed */
#define SYNC_SERVICE_BACKOFF_MIN_MS  250u               /* first wait after a failure */
#define SYNC_SERVICE_BACKOFF_MAX_MS  30000u             /* longest wait after failures */
#define SYNC_SERVICE_JITTER_PCT      20u                /* waits are +/- this percentage */
#define SYNC_SERVICE_STOP_WAIT_MS    2500u              /* how long stop waits for the engine */
#define SYNC_SERVICE_MIN_POLL_MS     1000u      /* an empty poll faster than this is paced */
#define SYNC_SERVICE_ACTIVITY_BATCH  1000u      /* entries per activity upload (the hub's cap) */
#define SYNC_SERVICE_ACTIVITY_BYTES  (3u << 20) /* JSON text per upload (the hub takes 4 MiB) */
#define SYNC_SERVICE_ACTIVITY_NOW_MS 2000    /* the bus's "activity" waits for writes this long */
#define SYNC_SERVICE_WRITE_SESSIONS  4       /* writes sent to the hub at once */
#define SYNC_SERVICE_ACTIVITY_KEEP   100000u /* uploaded entries the volume keeps */
#define SYNC_SERVICE_PRUNE_EVERY_MS  10000   /* at most one prune per 10 s */
#define SYNC_SERVICE_ACTIVITY_ROUNDS 1u      /* uploads after one pass (then a quick poll) */
#define SYNC_SERVICE_HEALTH_NAME     "1Password Connect Sync"
#define SYNC_SERVICE_WRITE_MARGIN_MS 500L   /* a write's hub time = timeoutMs less this */
#define SYNC_SERVICE_WRITE_MIN_MS    1000L  /* ... but at least this */
#define SYNC_SERVICE_WRITE_MAX_MS    60000L /* ... and at most this (also without timeoutMs) */
#define SYNC_SERVICE_FAULT_RETRY_MS  5000u  /* longest wait after a full disk or damage */
#define SYNC_SERVICE_REPORT_AGAIN_MS 60000  /* damage reported again this soon: rebuild */
#define SYNC_SERVICE_MAX_HUBS        (1 + CREDENTIALS_MAX_HUB_URLS) /* hub URLs (replicas) */

/* What sync_service_new needs. Pointers are borrowed; strings are copied. */
struct sync_service_config {
    struct volume *ssc_volume;       /* the volume written (outlives the service) */
    struct credentials *ssc_cred;    /* parsed, normally locked (outlives the service) */
    const char *ssc_volume_dir;      /* the data directory, for /health */
    const char *ssc_hub_url;         /* NULL: the credentials file's hub.url and hub.urls */
    const char *const *ssc_hub_urls; /* several hub URLs (SESAME_HUB's list), preferred
                                        first; used instead of ssc_hub_url when
                                        ssc_hub_url_count > 0 */
    size_t ssc_hub_url_count;        /* 0..SYNC_SERVICE_MAX_HUBS */
    const char *ssc_proxy;           /* the HTTP client's hcc_proxy (NULL: curl's env) */
    const char *ssc_ca_file;         /* SESAME_HUB_CA_FILE: CAs for an https hub (NULL: the
                                        system's); unused when the credentials pin the hub */
    unsigned ssc_poll_wait_s;        /* 1..HUBCLIENT_MAX_WAIT; 0: SYNC_SERVICE_POLL_WAIT_S */
    unsigned ssc_backoff_min_ms;     /* 0: SYNC_SERVICE_BACKOFF_MIN_MS */
    unsigned ssc_backoff_max_ms;     /* 0: SYNC_SERVICE_BACKOFF_MAX_MS */
    unsigned ssc_stop_wait_ms;       /* 0: SYNC_SERVICE_STOP_WAIT_MS */
    long ssc_request_timeout_ms;     /* a hub request (not a long-poll); 0: the client's */
    const char *ssc_rebuilt_aside;   /* not NULL: the volume was rebuilt at start-up (damaged);
                                        where the damaged database was kept ("" if not) */
};

/* A snapshot of the service's state (sync_service_get_status). */
struct sync_service_status {
    int sst_unlocked;                       /* credentials_unlock succeeded */
    int sst_running;                        /* the engine thread runs */
    int sst_connected;                      /* the last hub exchange succeeded */
    int sst_synced;                         /* a pass succeeded since the process started */
    int64_t sst_last_sync_at;               /* the volume's last sync (Unix seconds), 0 = never */
    uint64_t sst_last_seq;                  /* the volume's last applied seq */
    int sst_server_deleted;                 /* the volume says the hub deleted this server */
    uint64_t sst_passes;                    /* successful passes and polls since start */
    uint64_t sst_pulled;                    /* vaults pulled whole since start */
    uint64_t sst_failures;                  /* failed exchanges in a row (0 after a success) */
    uint64_t sst_activity_sent;             /* activity entries uploaded since start */
    unsigned sst_backoff_ms;                /* the base of the next wait after a failure */
    char sst_last_error[SYNC_ERRMSG_BYTES]; /* why the last exchange failed; "" if it did not */
    int sst_volume_rebuilding;              /* rebuilt after damage, not yet in step again */
    int sst_volume_full;                    /* the volume's last write failed for space */
    uint64_t sst_volume_rebuilds;           /* rebuilds of a damaged volume since start */
    uint64_t sst_volume_bad_files;          /* damaged file contents fetched again since start */
    int64_t sst_volume_checked_ms;          /* when the last volume check ended (Unix ms), 0 */
    char sst_volume_aside[VOLUME_PATH_MAX]; /* where the last damaged database was kept */
};

struct sync_service;

/*
 * Creates the service for cfg (locked: no thread yet) and its HTTP clients of the hub (one
 * per hub URL for the engine and for each write session; docs/sync.md, "Several hub URLs":
 * requests go to one URL at a time, and a transport failure or a 502/503/504 moves them on
 * to the next).
 * *out receives it (sync_service_free) or NULL; errmsg (errcap bytes) says why on error.
 * Returns ERR_OK, ERR_BAD_INPUT (a missing member), ERR_CONFIG (the hub URL is unusable,
 * or the credentials pin the hub's certificate, which cannot be checked yet), ERR_STORAGE
 * (the volume cannot be read) or ERR_NOMEM.
 */
enum err sync_service_new(struct sync_service **out, const struct sync_service_config *cfg,
                          char *errmsg, size_t errcap) SESAME_WUR;

/*
 * Unlocks the credentials with the unlock secret (len bytes; borrowed) - once, under the
 * service's lock; later calls only check the secret - and starts the engine thread if it
 * does not run. Returns ERR_OK, ERR_UNAUTHORIZED (wrong secret), ERR_CRYPTO or
 * ERR_BAD_INPUT (the credentials file is damaged), ERR_INTERNAL (no thread could be
 * started) or ERR_NOMEM.
 */
enum err sync_service_unlock(struct sync_service *s, const unsigned char *secret,
                             size_t len) SESAME_WUR;

/* Asks the engine for a full pass now: ends a backoff or pause (not a long-poll in flight). */
void sync_service_request_sync(struct sync_service *s);

/* Copies the current state into *out. */
void sync_service_get_status(struct sync_service *s, struct sync_service_status *out);

/*
 * Builds the bus answer to {"op":"status"} into *out (json_decref it): {"ok":true,
 * "unlocked","connected","lastSyncAt","lastSeq","serverDeleted", "lastError" (only after a
 * failure), and Sesame's "synced","passes","pulled","failures","backoffMs",
 * "activitySent", and the volume's "volumeRebuilding","volumeFull","volumeRebuilds",
 * "volumeBadFiles","volumeCheckedAt" (Unix ms of the last check's end, 0: none), and
 * "hubUrl": the hub URL requests go to now (the current one after a failover)}. ERR_OK or
 * ERR_NOMEM.
 */
enum err sync_service_status_json(struct sync_service *s, json_t **out) SESAME_WUR;

/*
 * Builds the /health document into *out (json_decref it): sqlite, 1Password (locked:
 * UNINITIALIZED) and hub (ACTIVE, UNREACHABLE or NOT_SYNCED). ERR_OK or ERR_NOMEM.
 */
enum err sync_service_health_json(struct sync_service *s, json_t **out) SESAME_WUR;

/*
 * The bus handler (struct bus_server_config's bs_handler; ctx is the service): answers
 * {"op":"unlock"} + secret, {"op":"status"}, {"op":"sync"}, {"op":"volume_check",
 * "damaged"?: true, "seenAt"?: Unix ms} (the api found the volume or a file content damaged,
 * at seenAt; damage seen before the last rebuild counts as repaired: the repair thread
 * checks it, rebuilds a damaged database from the hub, fetches damaged file contents
 * again; answered at once), the writes
 * {"op":"item_put"}
 * and {"op":"item_delete"} (docs/sync.md, "Writes": pushed to the hub through the writes'
 * own session, one at a time, then applied to the volume before the answer; refusals are
 * {"ok":false,"status":400|403|404|409|413|500|502|503|504|507,"message"}), and anything else
 * with {"ok":false,"message":"unknown operation"}. Returns ERR_OK with resp filled, or
 * ERR_NOMEM (the connection is then closed).
 */
enum err sync_service_bus_handler(void *ctx, const struct bus_msg *req,
                                  struct bus_msg *resp) SESAME_WUR;

/*
 * Stops the engine: sets the stop flag, ends any backoff wait and waits up to the stop
 * wait for the thread to end. A hub request in flight (a long-poll waits up to
 * ssc_poll_wait_s) cannot be interrupted: then ERR_TIMEOUT, and the thread ends when that
 * request returns (sync_service_free waits for it). Writes are refused from then on (503
 * "sync is stopping"), and one in flight is cut short within about a second (503: it may
 * or may not have reached the hub). ERR_OK when no engine runs any more.
 */
enum err sync_service_stop(struct sync_service *s) SESAME_WUR;

/* Stops the engine, waits for its thread (however long), frees s. NULL is fine. */
void sync_service_free(struct sync_service *s);

/*
 * Returns the hub time of a write whose api gave it timeout_ms (the bus's "timeoutMs"):
 * timeout_ms less SYNC_SERVICE_WRITE_MARGIN_MS, within [SYNC_SERVICE_WRITE_MIN_MS,
 * SYNC_SERVICE_WRITE_MAX_MS]; timeout_ms <= 0 (absent) gives the maximum.
 */
long sync_service_write_timeout(long timeout_ms);

/* Returns the next backoff base after a failure: twice cur, within [min_ms, max_ms]. */
unsigned sync_backoff_next(unsigned cur, unsigned min_ms, unsigned max_ms);

/* Returns base_ms with +/- SYNC_SERVICE_JITTER_PCT percent of random jitter. */
unsigned sync_backoff_jitter(unsigned base_ms);

#endif
