/*
 * metrics.c - GET /metrics: Prometheus text exposition (format 0.0.4) of request counts
 * and latency histograms by route, method and status, and gauges of the server's state:
 * locked or not, how long ago the last sync completed, vaults and items held, activity
 * entries dropped, and the process's resident memory.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/api_int.h"
#include "common/buf.h"

/* Upper bounds of the latency buckets, in microseconds (Prometheus prints seconds). */
static const int64_t metrics_bounds_us[API_HIST_BUCKETS] = {
    500,    1000,   2500,   5000,    10000,   25000,   50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

/* Counts one completed request (hc_on_complete). */
void api_metrics_on_complete(void *ctx, const char *route, const char *method, int status,
                             int64_t elapsed_us)
{
    struct api *a = ctx;
    struct api_route_metrics *m = NULL;
    size_t i;
    int b;

    (void)method;
    if (!a || !route)
        return;
    pthread_mutex_lock(&a->ap_metrics_mu);
    for (i = 0; i < a->ap_nmetrics && !m; i++)
        if (strcmp(a->ap_metrics[i].rm_route, route) == 0)
            m = &a->ap_metrics[i];
    if (!m && a->ap_nmetrics < API_MAX_ROUTES) {
        m = &a->ap_metrics[a->ap_nmetrics++];
        m->rm_route = route; /* a pattern of the static route table, or "" */
    }
    if (m) {
        for (i = 0; i < API_MAX_STATUSES; i++) {
            if (m->rm_status[i] == status || m->rm_count[i] == 0) {
                m->rm_status[i] = status;
                m->rm_count[i]++;
                break;
            }
        }
        for (b = 0; b < API_HIST_BUCKETS && elapsed_us > metrics_bounds_us[b]; b++)
            ;
        m->rm_bucket[b]++;
        m->rm_sum_us += elapsed_us > 0 ? (uint64_t)elapsed_us : 0;
        m->rm_total++;
    }
    pthread_mutex_unlock(&a->ap_metrics_mu);
}

/* Appends printf-formatted text to out. */
__attribute__((format(printf, 3, 4))) static void metrics_put(struct buf *out, enum err *rc,
                                                              const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    if (*rc != ERR_OK)
        return;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        *rc = ERR_INTERNAL;
        return;
    }
    *rc = buf_add(out, line, (size_t)n);
}

/* Returns the resident set size in bytes (0 when /proc is not there). */
static uint64_t metrics_rss(void)
{
    char text[128];
    unsigned long long size = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    char *end;

    if (!f)
        return 0;
    if (!fgets(text, sizeof(text), f)) {
        (void)fclose(f);
        return 0;
    }
    (void)fclose(f);
    size = strtoull(text, &end, 10);
    if (end != text)
        rss = strtoull(end, NULL, 10);
    (void)size;
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Renders the exposition (see api_int.h). */
enum err api_metrics_render(struct api *a, struct buf *out)
{
    struct api_route_metrics snap[API_MAX_ROUTES];
    struct api_index *ix;
    size_t i, j, n;
    int64_t last_sync;
    uint64_t dropped, unlocks, hits, misses;
    int unlocked;
    enum err rc = ERR_OK;

    pthread_mutex_lock(&a->ap_metrics_mu);
    n = a->ap_nmetrics;
    memcpy(snap, a->ap_metrics, sizeof(snap));
    pthread_mutex_unlock(&a->ap_metrics_mu);
    pthread_mutex_lock(&a->ap_mu);
    unlocked = a->ap_unlocked;
    last_sync = a->ap_meta_ok ? a->ap_meta.vm_last_sync_at : 0;
    dropped = a->ap_activity_dropped;
    unlocks = a->ap_unlocks;
    pthread_mutex_unlock(&a->ap_mu);
    ix = api_current_index(a);

    metrics_put(out, &rc,
                "# HELP sesame_http_requests_total Requests answered, by route "
                "pattern and HTTP status (0: the response did not complete).\n"
                "# TYPE sesame_http_requests_total counter\n");
    for (i = 0; i < n; i++)
        for (j = 0; j < API_MAX_STATUSES && snap[i].rm_count[j] > 0; j++)
            metrics_put(out, &rc,
                        "sesame_http_requests_total{route=\"%s\",status=\"%d\"} %" PRIu64 "\n",
                        snap[i].rm_route, snap[i].rm_status[j], snap[i].rm_count[j]);
    metrics_put(out, &rc,
                "# HELP sesame_http_request_duration_seconds Time from the first byte "
                "of a request to the end of its response, by route pattern.\n"
                "# TYPE sesame_http_request_duration_seconds histogram\n");
    for (i = 0; i < n; i++) {
        uint64_t cum = 0;

        for (j = 0; j < API_HIST_BUCKETS; j++) {
            cum += snap[i].rm_bucket[j];
            metrics_put(
                out, &rc,
                "sesame_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %" PRIu64 "\n",
                snap[i].rm_route, (double)metrics_bounds_us[j] / 1e6, cum);
        }
        metrics_put(out, &rc,
                    "sesame_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %" PRIu64
                    "\n"
                    "sesame_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                    "sesame_http_request_duration_seconds_count{route=\"%s\"} %" PRIu64 "\n",
                    snap[i].rm_route, snap[i].rm_total, snap[i].rm_route,
                    (double)snap[i].rm_sum_us / 1e6, snap[i].rm_route, snap[i].rm_total);
    }
    metrics_put(out, &rc,
                "# HELP sesame_connect_unlocked 1 once a valid token has unlocked this server.\n"
                "# TYPE sesame_connect_unlocked gauge\nsesame_connect_unlocked %d\n"
                "# HELP sesame_connect_unlocks_total Unlocks since the process started.\n"
                "# TYPE sesame_connect_unlocks_total counter\nsesame_connect_unlocks_total %" PRIu64
                "\n",
                unlocked, unlocks);
    metrics_put(
        out, &rc,
        "# HELP sesame_connect_last_sync_timestamp_seconds When sync last completed a "
        "pass with the hub (0: never).\n"
        "# TYPE sesame_connect_last_sync_timestamp_seconds gauge\n"
        "sesame_connect_last_sync_timestamp_seconds %lld\n"
        "# HELP sesame_connect_sync_lag_seconds Seconds since the last completed sync "
        "(-1: never synced).\n"
        "# TYPE sesame_connect_sync_lag_seconds gauge\nsesame_connect_sync_lag_seconds %lld\n",
        (long long)last_sync, last_sync > 0 ? (long long)(api_now() - last_sync) : -1LL);
    metrics_put(out, &rc,
                "# HELP sesame_connect_vaults Vaults held in the in-memory index.\n"
                "# TYPE sesame_connect_vaults gauge\nsesame_connect_vaults %zu\n"
                "# HELP sesame_connect_items Items held in the in-memory index.\n"
                "# TYPE sesame_connect_items gauge\nsesame_connect_items %zu\n",
                ix ? ix->ix_nvaults : 0, ix ? ix->ix_items : 0);
    metrics_put(out, &rc,
                "# HELP sesame_connect_activity_dropped_total Activity entries dropped because "
                "the volume could not keep up.\n"
                "# TYPE sesame_connect_activity_dropped_total counter\n"
                "sesame_connect_activity_dropped_total %" PRIu64 "\n"
                "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %" PRIu64
                "\n",
                dropped, metrics_rss());
    api_itemcache_stats(a->ap_itemcache, &hits, &misses);
    metrics_put(out, &rc,
                "# HELP sesame_connect_item_cache_hits_total Item reads answered from the cache "
                "of rendered items.\n"
                "# TYPE sesame_connect_item_cache_hits_total counter\n"
                "sesame_connect_item_cache_hits_total %" PRIu64 "\n"
                "# HELP sesame_connect_item_cache_misses_total Item reads rendered from the "
                "volume.\n"
                "# TYPE sesame_connect_item_cache_misses_total counter\n"
                "sesame_connect_item_cache_misses_total %" PRIu64 "\n",
                hits, misses);
    api_index_unref(ix);
    return rc;
}
