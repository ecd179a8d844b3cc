/*
 * activity.c - the audit trail of /v1 requests (Connect's APIRequest entries): each
 * request queues one entry in memory, and the watcher writes the queue to the volume's
 * activity table, from which sync uploads it to the hub. The queue is bounded: when the
 * volume cannot keep up, entries are dropped and counted (sesame_connect_activity_dropped
 * in /metrics), and a request is never failed or slowed by its audit entry.
 */
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"

/* Copies s into out (cap bytes) keeping printable ASCII only (anything else becomes '?'). */
static void act_copy_printable(char *out, size_t cap, const char *s)
{
    size_t i = 0;

    for (; s && *s && i + 1 < cap; s++)
        out[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    out[i] = '\0';
}

/* Copies s (NULL: "") into out (cap bytes), cut to fit; snprintf's "%s" without the
   formatting machinery, which was a visible part of a cached read. */
static void act_copy(char *out, size_t cap, const char *s)
{
    size_t n = s ? strnlen(s, cap - 1) : 0;

    if (n)
        memcpy(out, s, n);
    out[n] = '\0';
}

/* Queues one entry (see api_int.h). */
void api_activity_record(struct api *a, struct http_request *req, const struct api_principal *p,
                         enum activity_action action, enum activity_result result,
                         const char *vault, const char *item, uint64_t item_version)
{
    struct activity ac;
    struct buf b;
    char *text = NULL;
    const char *acct;

    memset(&ac, 0, sizeof(ac));
    act_copy(ac.ac_request_id, sizeof(ac.ac_request_id), http_request_id(req));
    ac.ac_timestamp = api_now();
    ac.ac_action = action;
    ac.ac_result = result;
    act_copy(ac.ac_actor_id, sizeof(ac.ac_actor_id),
             p && p->ap_server[0] ? p->ap_server : credentials_server_id_upper(a->ap_cred));
    acct = p && p->ap_account[0] ? p->ap_account : credentials_account_id(a->ap_cred);
    act_copy(ac.ac_actor_account, sizeof(ac.ac_actor_account), acct);
    if (p)
        act_copy(ac.ac_actor_jti, sizeof(ac.ac_actor_jti), p->ap_jti);
    act_copy_printable(ac.ac_user_agent, sizeof(ac.ac_user_agent),
                       http_request_header(req, "User-Agent"));
    act_copy_printable(ac.ac_request_ip, sizeof(ac.ac_request_ip), http_request_client_ip(req));
    ac.ac_resource = item && *item ? ACTIVITY_ITEM : ACTIVITY_VAULT;
    act_copy(ac.ac_vault_id, sizeof(ac.ac_vault_id), vault);
    act_copy(ac.ac_item_id, sizeof(ac.ac_item_id), item);
    ac.ac_item_version = (int64_t)item_version;
    buf_init(&b, API_ACTIVITY_ENTRY_MAX);
    if (activity_to_text(&b, &ac) != ERR_OK || !(text = buf_take(&b, NULL))) {
        buf_free(&b);
        pthread_mutex_lock(&a->ap_mu);
        a->ap_activity_dropped++;
        pthread_mutex_unlock(&a->ap_mu);
        return;
    }
    pthread_mutex_lock(&a->ap_mu);
    if (a->ap_nactivity < API_ACTIVITY_QUEUE) {
        a->ap_activity[a->ap_nactivity++] = text;
        text = NULL;
    } else {
        a->ap_activity_dropped++;
    }
    pthread_mutex_unlock(&a->ap_mu);
    if (text)
        buf_release(text, strlen(text));
}

/*
 * Serialises writers (the watcher, a /v1/activity read flushing, api_stop) from taking a
 * batch to its commit, so a flush returns only once everything queued before it is in the
 * volume, in order.
 */
static pthread_mutex_t act_write_mu = PTHREAD_MUTEX_INITIALIZER;

/* Writes the queued entries to the volume (see api_int.h). */
size_t api_activity_write(struct api *a)
{
    char **batch;
    size_t i, n, fit;
    uint64_t backlog = 0;

    pthread_mutex_lock(&act_write_mu);
    pthread_mutex_lock(&a->ap_mu);
    n = a->ap_nactivity;
    if (n == 0) {
        pthread_mutex_unlock(&a->ap_mu);
        pthread_mutex_unlock(&act_write_mu);
        return 0;
    }
    batch = mem_calloc(n, sizeof(*batch));
    if (!batch) {
        pthread_mutex_unlock(&a->ap_mu);
        pthread_mutex_unlock(&act_write_mu);
        return 0;
    }
    memcpy(batch, a->ap_activity, n * sizeof(*batch));
    a->ap_nactivity = 0;
    pthread_mutex_unlock(&a->ap_mu);
    /* the volume holds at most ap_activity_backlog_max entries sync has not uploaded */
    fit = n;
    if (volume_activity_backlog(a->ap_volume, &backlog) == ERR_OK) {
        if (backlog >= a->ap_activity_backlog_max)
            fit = 0;
        else if (a->ap_activity_backlog_max - backlog < (uint64_t)n)
            fit = (size_t)(a->ap_activity_backlog_max - backlog);
    }
    if (fit < n && !a->ap_activity_full)
        log_warn("api: %llu activity entries wait in the volume for sync's upload; new ones are "
                 "dropped until it catches up (sesame_connect_activity_dropped_total)",
                 (unsigned long long)a->ap_activity_backlog_max);
    a->ap_activity_full = fit < n;
    if (fit > 0 &&
        volume_activity_append_batch(a->ap_volume, (const char *const *)batch, fit) != ERR_OK) {
        log_warn("api: cannot write %zu activity entries to the volume; dropped", fit);
        fit = 0;
    }
    if (fit < n) {
        pthread_mutex_lock(&a->ap_mu);
        a->ap_activity_dropped += n - fit;
        pthread_mutex_unlock(&a->ap_mu);
    }
    for (i = 0; i < n; i++)
        buf_release(batch[i], strlen(batch[i]));
    mem_free(batch);
    pthread_mutex_unlock(&act_write_mu);
    return n;
}
