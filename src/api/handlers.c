/*
 * handlers.c - the routes of the Connect REST API v1 served by `sesame api`
 * (../shared/reference/connect-api.md §4; docs/connect-api.md says what we chose where
 * Connect's behaviour is not public).
 *
 * Every /v1 handler runs the same steps, in Connect's order of answers: the token (401),
 * the ids of the path (400), the token's scope on the vault (403), readiness (waiting up to
 * OP_SYNC_TIMEOUT for the first sync, then 500), existence (404). Each /v1 request leaves
 * one activity entry, SUCCESS or DENY. Handlers hold no SQL and no crypto: the index
 * decrypts, auth.c verifies.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/log.h"
#include "common/version.h"
#include "http/query.h"
#include "json/filter.h"
#include "json/item.h"

#define H_TITLE_HITS    64 /* `title eq` matches taken from the index's title order (more: a walk) */
#define H_TOKEN_MSG     "Invalid bearer token"
#define H_RATE_MSG      "Too many requests: slow down and retry after the time in Retry-After"
#define H_SCOPE_MSG     "Authorization: token does not have access to vault"
#define H_READ_MSG      "Authorization: token does not have read access to vault"
#define H_WRITE_MSG     "Unauthorized Request, token does not have write access to the Vault"
#define H_STALE_MSG     "the item's version is not the current one: read the item again and retry"
#define H_DEL_CONFLICT  "the item changed while it was being deleted: read it again and retry"
#define H_VAULT_ID_MSG  "Invalid Vault UUID"
#define H_ITEM_ID_MSG   "Invalid Item UUID"
#define H_FILE_ID_MSG   "Invalid File UUID"
#define H_VAULT_MISSING "vault not found"
#define H_ITEM_MISSING  "item not found"
#define H_FILE_MISSING  "file not found"
#define H_INLINE_MSG                                                                               \
    "File is too large to inline in request. Use the "                                             \
    "/v1/vaults/{vaultUUID}/items/{itemUUID}/files/{fileUUID}/content endpoint instead."
#define H_NOT_SYNCED_MSG "the file's content is not synced yet; try again shortly"
#define H_QUERY_NUM_MAX  20

/* What one /v1 request resolved: its caller, its ids and the index generation it reads. */
struct h_ctx {
    struct api *hx_api;
    struct api_principal hx_p;
    const char *hx_vault; /* path ids, validated; NULL when the route has none */
    const char *hx_item;
    const char *hx_file;
    struct api_index *hx_ix;       /* a reference once ready */
    const struct api_vault *hx_av; /* the vault, once found */
    enum activity_action hx_action;
    uint64_t hx_item_version; /* for the activity entry */
};

/* Records the request's activity entry and releases the index. Returns rc. */
static enum err h_end(struct h_ctx *x, struct http_request *req, enum err rc)
{
    if (rc != HTTP_DEFERRED)
        api_activity_record(x->hx_api, req, x->hx_p.ap_jti[0] ? &x->hx_p : NULL, x->hx_action,
                            rc == ERR_OK ? ACTIVITY_SUCCESS : ACTIVITY_DENY, x->hx_vault,
                            x->hx_item, x->hx_item_version);
    api_index_unref(x->hx_ix);
    x->hx_ix = NULL;
    return rc;
}

/* Checks one path id: a 26-character lowercase id, else 400 with msg. */
static enum err h_path_id(struct http_request *req, struct http_response *resp, const char *name,
                          const char *msg, const char **out)
{
    const char *v = http_request_param(req, name);

    *out = NULL;
    if (!v)
        return ERR_OK;
    if (!id_is_valid(v))
        return http_respond_error(resp, ERR_BAD_ID, msg);
    *out = v;
    return ERR_OK;
}

/*
 * Answers a refused authentication (api_auth_request's error rc): 401 with Connect's
 * message, 429 with Retry-After, 500 while not ready; returns the error to return.
 */
static enum err h_auth_refused(struct http_response *resp, enum err rc,
                               const struct api_principal *p)
{
    char secs[16];

    if (rc == ERR_UNAUTHORIZED)
        return http_respond_error(resp, rc, H_TOKEN_MSG);
    if (rc == ERR_NOT_READY)
        return http_respond_error(resp, rc, API_NOT_READY_MSG);
    if (rc == ERR_RATE_LIMITED) {
        (void)snprintf(secs, sizeof(secs), "%u", p->ap_retry_after ? p->ap_retry_after : 1);
        if (http_response_header(resp, "Retry-After", secs) != ERR_OK)
            return ERR_NOMEM;
        return http_respond_error(resp, rc, H_RATE_MSG);
    }
    return rc;
}

/*
 * The common steps of a /v1 handler up to readiness (see the top of this file); need is
 * the access bit the request needs on its vault (0 for requests without one). Returns
 * ERR_OK with x filled (x->hx_ix set), HTTP_DEFERRED (waiting for sync), or an error
 * already answered on resp.
 */
static enum err h_begin_as(struct h_ctx *x, struct http_request *req, struct http_response *resp,
                           unsigned need, enum activity_action action)
{
    struct api *a = api_of(req);
    enum err rc;

    memset(x, 0, sizeof(*x));
    x->hx_api = a;
    x->hx_action = action;
    rc = api_auth_request(a, req, &x->hx_p); /* a valid token also unlocks the api */
    /* a damaged volume or one being rebuilt: nothing is read from it, and a token the
       rebuilt volume does not know yet is not refused for it */
    if (rc != ERR_RATE_LIMITED && api_volume_gated(a)) {
        memset(&x->hx_p, 0, sizeof(x->hx_p));
        return http_respond_error(resp, ERR_CORRUPT, NULL);
    }
    if (rc != ERR_OK) {
        rc = h_auth_refused(resp, rc, &x->hx_p);
        memset(&x->hx_p, 0, sizeof(x->hx_p));
        return rc;
    }
    if ((rc = h_path_id(req, resp, "vaultUuid", H_VAULT_ID_MSG, &x->hx_vault)) != ERR_OK ||
        (rc = h_path_id(req, resp, "itemUuid", H_ITEM_ID_MSG, &x->hx_item)) != ERR_OK ||
        (rc = h_path_id(req, resp, "fileUuid", H_FILE_ID_MSG, &x->hx_file)) != ERR_OK)
        return rc;
    if (x->hx_vault) {
        unsigned acc = api_auth_access(&x->hx_p, x->hx_vault);

        if (acc == 0)
            return http_respond_error(resp, ERR_FORBIDDEN, H_SCOPE_MSG);
        if ((need & TOKEN_ACCESS_WRITE) && !(acc & TOKEN_ACCESS_WRITE))
            return http_respond_error(resp, ERR_READ_ONLY, H_WRITE_MSG); /* Connect: 401 */
        if ((need & TOKEN_ACCESS_READ) && !(acc & TOKEN_ACCESS_READ))
            return http_respond_error(resp, ERR_FORBIDDEN, H_READ_MSG);
    }
    if (!api_ready(a)) {
        if (http_request_wait_expired(req))
            return http_respond_error(resp, ERR_NOT_READY, API_NOT_READY_MSG);
        return http_request_wait(req,
                                 http_request_wait_deadline(req) > 0
                                     ? http_request_wait_deadline(req)
                                     : http_clock_ms() + (int64_t)a->ap_cfg->cf_sync_timeout_ms);
    }
    x->hx_ix = api_current_index(a);
    if (!x->hx_ix)
        return http_respond_error(resp, ERR_NOT_READY, API_NOT_READY_MSG);
    if (x->hx_vault) {
        x->hx_av = api_index_vault(x->hx_ix, x->hx_vault);
        if (!x->hx_av)
            return http_respond_error(resp, ERR_NOT_FOUND, H_VAULT_MISSING);
    }
    return ERR_OK;
}

/* h_begin_as for reads. */
static enum err h_begin(struct h_ctx *x, struct http_request *req, struct http_response *resp,
                        unsigned need)
{
    return h_begin_as(x, req, resp, need, ACTIVITY_READ);
}

/* Reads a filter from the query (400 on a malformed one). */
static enum err h_filter(struct http_request *req, struct http_response *resp, enum filter_target t,
                         struct filter *f)
{
    char msg[FILTER_ERRMSG_MAX];
    const char *q;
    size_t qlen;
    int present = 0;
    enum err rc;

    q = http_request_query(req, &qlen);
    rc = filter_parse_query(f, &present, t, q, qlen, msg, sizeof(msg));
    if (rc == ERR_NOMEM)
        return rc;
    if (rc != ERR_OK)
        return http_respond_error(resp, ERR_BAD_INPUT, msg);
    return ERR_OK;
}

/* Reads query value name (decoded) into out; *found says whether it was there. */
static enum err h_query(struct http_request *req, struct http_response *resp, const char *name,
                        struct buf *out, int *found)
{
    char msg[128];
    const char *q;
    size_t qlen;
    enum err rc;

    q = http_request_query(req, &qlen);
    rc = query_get(out, q, qlen, name, found, msg, sizeof(msg));
    if (rc == ERR_NOMEM)
        return rc;
    if (rc != ERR_OK)
        return http_respond_error(resp, ERR_BAD_INPUT, msg);
    return ERR_OK;
}

/* Reads an unsigned decimal query value (def when absent; 400 when malformed). */
static enum err h_query_num(struct http_request *req, struct http_response *resp, const char *name,
                            uint64_t def, uint64_t *out)
{
    struct buf b;
    int found = 0;
    uint64_t v = 0;
    size_t i;
    enum err rc;

    *out = def;
    rc = h_query(req, resp, name, &b, &found);
    if (rc != ERR_OK || !found) {
        buf_free(&b);
        return rc;
    }
    if (b.b_len == 0 || b.b_len > H_QUERY_NUM_MAX) {
        buf_free(&b);
        return http_respond_error(resp, ERR_BAD_INPUT, "limit and offset must be numbers");
    }
    for (i = 0; i < b.b_len; i++) {
        if (b.b_data[i] < '0' || b.b_data[i] > '9' || v > (UINT64_MAX - 9) / 10) {
            buf_free(&b);
            return http_respond_error(resp, ERR_BAD_INPUT, "limit and offset must be numbers");
        }
        v = v * 10 + (uint64_t)(b.b_data[i] - '0');
    }
    buf_free(&b);
    *out = v;
    return ERR_OK;
}

/* ---- unauthenticated routes --------------------------------------------------------- */

/* GET /heartbeat: liveness. */
static enum err h_heartbeat(struct http_request *req, struct http_response *resp)
{
    (void)req;
    return http_respond_text(resp, 200, "text/plain", ".", 1);
}

/* GET /health: readiness, Connect's ServerHealth; a valid bearer token also unlocks. */
static enum err h_health(struct http_request *req, struct http_response *resp)
{
    struct api *a = api_of(req);
    struct api_principal p;
    struct health_dependency deps[4];
    char sqlite_msg[CONFIG_MAX_PATH + 64], data_msg[128], sync_msg[256];
    struct api_sync_status st;
    int64_t last;
    int unlocked;
    json_t *body = NULL;
    enum err rc;

    if (http_request_header(req, "Authorization") && api_auth_request(a, req, &p) == ERR_OK)
        api_kick(a); /* it unlocked (or was unlocked); /health answers either way */
    pthread_mutex_lock(&a->ap_mu);
    unlocked = a->ap_unlocked;
    last = a->ap_meta_ok ? a->ap_meta.vm_last_sync_at : 0;
    st = a->ap_sync;
    pthread_mutex_unlock(&a->ap_mu);

    (void)snprintf(sqlite_msg, sizeof(sqlite_msg), "Connected to %s/%s", a->ap_volume_dir,
                   VOLUME_DB_NAME);
    deps[0] = (struct health_dependency){"sqlite", "ACTIVE", sqlite_msg};
    if (last > 0) {
        (void)snprintf(data_msg, sizeof(data_msg), "last synced %lld seconds ago",
                       (long long)(api_now() - last));
        deps[1] = (struct health_dependency){"account_data", "ACTIVE", data_msg};
    } else {
        deps[1] = (struct health_dependency){
            "account_data", "NOT_SYNCED",
            "Account data is not available because synchronization has not yet started"};
    }
    if (!st.ss_reachable) {
        (void)snprintf(sync_msg, sizeof(sync_msg), "%s",
                       st.ss_error[0] ? st.ss_error : "the sync process has not answered yet");
        deps[2] = (struct health_dependency){"sync", "UNAVAILABLE", sync_msg};
    } else if (!st.ss_unlocked) {
        deps[2] = (struct health_dependency){"sync", "TOKEN_NEEDED", NULL};
    } else if (!st.ss_connected) {
        (void)snprintf(sync_msg, sizeof(sync_msg),
                       "the hub is unreachable; serving the data synced %lld seconds ago%s%s",
                       last > 0 ? (long long)(api_now() - last) : -1LL, st.ss_error[0] ? ": " : "",
                       st.ss_error);
        deps[2] = (struct health_dependency){"sync", "DISCONNECTED", sync_msg};
    } else {
        deps[2] = (struct health_dependency){"sync", "ACTIVE", NULL};
    }
    deps[3] = unlocked ? (struct health_dependency){"1Password", "ACTIVE", NULL}
                       : (struct health_dependency){"1Password", "UNINITIALIZED", API_LOCKED_MSG};
    rc = health_to_json(&body, "1Password Connect API", CONNECT_COMPAT_VERSION, deps, 4);
    if (rc != ERR_OK)
        return rc;
    return http_respond_json(resp, 200, body);
}

/* GET /metrics: Prometheus text. */
static enum err h_metrics(struct http_request *req, struct http_response *resp)
{
    struct buf out;
    enum err rc;

    buf_init(&out, HTTP_MAX_RESPONSE_BYTES);
    rc = api_metrics_render(api_of(req), &out);
    if (rc == ERR_OK)
        rc = http_respond_text(resp, 200, "text/plain; version=0.0.4", out.b_data ? out.b_data : "",
                               out.b_len);
    buf_free(&out);
    return rc;
}

/* ---- /v1 ------------------------------------------------------------------------------ */

/* GET /v1/activity: the audit trail of this server, limit/offset, Content-Range. */
static enum err h_activity(struct http_request *req, struct http_response *resp)
{
    struct h_ctx x;
    struct volume_activity *arr = NULL;
    uint64_t limit, offset, total = 0;
    size_t i, n = 0;
    char range[96];
    json_t *list = NULL;
    enum err rc;

    memset(&x, 0, sizeof(x));
    x.hx_api = api_of(req);
    x.hx_action = ACTIVITY_READ;
    rc = api_auth_request(x.hx_api, req, &x.hx_p);
    if (rc != ERR_OK) {
        rc = h_auth_refused(resp, rc, &x.hx_p);
        memset(&x.hx_p, 0, sizeof(x.hx_p));
        return h_end(&x, req, rc);
    }
    if ((rc = h_query_num(req, resp, "limit", API_ACTIVITY_PAGE, &limit)) != ERR_OK ||
        (rc = h_query_num(req, resp, "offset", 0, &offset)) != ERR_OK)
        return h_end(&x, req, rc);
    if (limit == 0 || limit > API_ACTIVITY_MAX_PAGE)
        return h_end(&x, req,
                     http_respond_error(resp, ERR_BAD_INPUT, "limit must be from 1 to 1000"));
    /* this request is part of the trail it reads */
    api_activity_record(x.hx_api, req, &x.hx_p, ACTIVITY_READ, ACTIVITY_SUCCESS, "", NULL, 0);
    api_activity_flush(x.hx_api);
    rc =
        volume_activity_query(x.hx_api->ap_volume, (size_t)limit, (size_t)offset, &arr, &n, &total);
    if (rc != ERR_OK)
        goto out;
    list = json_array();
    if (!list) {
        rc = ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        json_t *e = json_loads(arr[i].ve_entry_json, JSON_REJECT_DUPLICATES, NULL);

        if (e && json_array_append_new(list, e) != 0) {
            rc = ERR_NOMEM;
            goto out;
        }
    }
    if (n > 0)
        (void)snprintf(range, sizeof(range), "%llu-%llu/%llu", (unsigned long long)offset + 1,
                       (unsigned long long)(offset + n), (unsigned long long)total);
    else
        (void)snprintf(range, sizeof(range), "*/%llu", (unsigned long long)total);
    if ((rc = http_response_header(resp, "Content-Range", range)) != ERR_OK)
        goto out;
    rc = http_respond_json(resp, 200, list);
    list = NULL;
out:
    json_decref(list);
    volume_activity_list_free(arr, n);
    return rc; /* recorded above */
}

/* GET /v1/vaults: the vaults of the token's scope, optionally filtered by name. */
static enum err h_vaults(struct http_request *req, struct http_response *resp)
{
    struct h_ctx x;
    struct filter f;
    json_t *list = NULL;
    size_t i;
    enum err rc;

    memset(&f, 0, sizeof(f));
    rc = h_begin(&x, req, resp, 0);
    if (rc != ERR_OK)
        return h_end(&x, req, rc);
    if ((rc = h_filter(req, resp, FILTER_VAULTS, &f)) != ERR_OK)
        goto out;
    if (!(list = json_array())) {
        rc = ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < x.hx_ix->ix_nvaults; i++) {
        const struct api_vault *av = &x.hx_ix->ix_vaults[i];
        json_t *o = NULL;

        if (api_auth_access(&x.hx_p, av->av_meta.vm_id) == 0 ||
            !filter_match_vault(&f, av->av_meta.vm_name))
            continue;
        if ((rc = vault_to_json(&o, &av->av_meta)) != ERR_OK)
            goto out;
        if (json_array_append_new(list, o) != 0) {
            rc = ERR_NOMEM;
            goto out;
        }
    }
    rc = http_respond_json(resp, 200, list);
    list = NULL;
out:
    json_decref(list);
    filter_clear(&f);
    return h_end(&x, req, rc);
}

/* GET /v1/vaults/{vaultUuid} */
static enum err h_vault(struct http_request *req, struct http_response *resp)
{
    struct h_ctx x;
    json_t *o = NULL;
    enum err rc;

    rc = h_begin(&x, req, resp, 0);
    if (rc == ERR_OK && (rc = vault_to_json(&o, &x.hx_av->av_meta)) == ERR_OK)
        rc = http_respond_json(resp, 200, o);
    return h_end(&x, req, rc);
}

/* Fills an item_meta from an index entry. */
static void h_item_meta(struct item_meta *m, const struct api_item *it)
{
    memset(m, 0, sizeof(*m));
    memcpy(m->im_id, it->ai_id, sizeof(m->im_id));
    memcpy(m->im_vault_id, it->ai_vault, sizeof(m->im_vault_id));
    (void)snprintf(m->im_category, sizeof(m->im_category), "%s", it->ai_category);
    m->im_version = (int64_t)it->ai_version;
    m->im_created_at = it->ai_created_at;
    m->im_updated_at = it->ai_updated_at;
    memcpy(m->im_last_edited_by, it->ai_last_edited_by, sizeof(m->im_last_edited_by));
    (void)snprintf(m->im_state, sizeof(m->im_state), "%s", it->ai_state);
}

/* GET /v1/vaults/{vaultUuid}/items: summaries of the active items, optionally filtered. */
static enum err h_items(struct http_request *req, struct http_response *resp)
{
    const struct api_item *hits[H_TITLE_HITS];
    struct h_ctx x;
    struct filter f;
    json_t *list = NULL;
    int64_t now = api_now();
    size_t i, nhit = SIZE_MAX; /* SIZE_MAX: walk the vault */
    enum err rc;

    memset(&f, 0, sizeof(f));
    rc = h_begin(&x, req, resp, TOKEN_ACCESS_READ);
    if (rc != ERR_OK)
        return h_end(&x, req, rc);
    if ((rc = h_filter(req, resp, FILTER_ITEMS, &f)) != ERR_OK)
        goto out;
    if (!(list = json_array())) {
        rc = ERR_NOMEM;
        goto out;
    }
    /* `title eq`, what the operator, External Secrets and the SDKs' item-by-title ask: the
       index's title order answers it without a walk over the vault */
    if (f.f_attr == FILTER_ATTR_TITLE && f.f_op == FILTER_OP_EQ && (f.f_key || f.f_fold_len == 0))
        nhit = api_index_by_title(x.hx_av, f.f_key, f.f_key_len, hits, H_TITLE_HITS);
    for (i = 0; i < (nhit <= H_TITLE_HITS ? nhit : x.hx_av->av_nitems); i++) {
        const struct api_item *it = nhit <= H_TITLE_HITS ? hits[i] : x.hx_av->av_items[i];
        struct item_meta m;
        json_t *o = NULL;

        if (it->ai_state[0] != '\0' ||
            !filter_match_item_key(&f, it->ai_title, it->ai_title_key, it->ai_title_key_len,
                                   it->ai_tags, it->ai_ntags))
            continue;
        h_item_meta(&m, it);
        if ((rc = item_to_json(&o, &m, it->ai_overview, 0, now)) != ERR_OK)
            goto out;
        if (json_array_append_new(list, o) != 0) {
            rc = ERR_NOMEM;
            goto out;
        }
    }
    rc = http_respond_json(resp, 200, list);
    list = NULL;
out:
    json_decref(list);
    filter_clear(&f);
    return h_end(&x, req, rc);
}

/*
 * Loads the whole item of the request (x->hx_item) into *meta and *content. Returns
 * ERR_OK or an error answered on resp (404 when it is not there).
 */
static enum err h_load_item(struct h_ctx *x, struct http_response *resp, struct item_meta *meta,
                            json_t **content)
{
    enum err rc;

    *content = NULL;
    if (!api_index_item(x->hx_av, x->hx_item))
        return http_respond_error(resp, ERR_NOT_FOUND, H_ITEM_MISSING);
    rc = api_index_item_content(x->hx_api->ap_volume, x->hx_av, x->hx_item, meta, content);
    if (rc == ERR_NOT_FOUND)
        return http_respond_error(resp, rc, H_ITEM_MISSING);
    if (rc == ERR_OK)
        x->hx_item_version = (uint64_t)meta->im_version;
    return rc;
}

/* Returns 1 when content has an OTP field (its answer holds a code of this period). */
static int h_has_otp(const json_t *content)
{
    const json_t *f;
    size_t i;

    json_array_foreach(json_object_get(content, "fields"), i, f)
    {
        const char *t = json_string_value(json_object_get(f, "type"));

        if (t && strcmp(t, "OTP") == 0)
            return 1;
    }
    return 0;
}

/* GET /v1/vaults/{vaultUuid}/items/{itemUuid}: the FullItem, OTP codes computed now. */
static enum err h_item(struct http_request *req, struct http_response *resp)
{
    struct h_ctx x;
    struct item_meta m;
    json_t *content = NULL, *o = NULL;
    enum err rc;

    const struct api_item *it;
    struct buf cached;
    const char *body;
    size_t len;

    buf_init(&cached, HTTP_MAX_RESPONSE_BYTES);
    rc = h_begin(&x, req, resp, TOKEN_ACCESS_READ);
    if (rc != ERR_OK)
        goto out;
    /* the index names the version served: a cached body of it is the same answer */
    it = api_index_item(x.hx_av, x.hx_item);
    if (it && !it->ai_state[0] &&
        api_itemcache_get(x.hx_api->ap_itemcache, it->ai_vault, it->ai_id, it->ai_version,
                          &cached)) {
        x.hx_item_version = it->ai_version;
        rc = http_respond_buf(resp, 200, "application/json", &cached); /* moved, not copied */
        goto out;
    }
    if ((rc = h_load_item(&x, resp, &m, &content)) == ERR_OK &&
        (rc = item_to_json(&o, &m, content, ITEM_OUT_FULL, api_now())) == ERR_OK) {
        rc = http_respond_json(resp, 200, o);
        body = http_response_body(resp, &len);
        /* OTP codes change every period: those items are rendered each time */
        if (rc == ERR_OK && body && !m.im_state[0] && !h_has_otp(content))
            api_itemcache_put(x.hx_api->ap_itemcache, m.im_vault_id, m.im_id,
                              (uint64_t)m.im_version, body, len);
    }
out:
    buf_free(&cached);
    json_decref(content);
    return h_end(&x, req, rc);
}

/* Returns 1 when the query asks for inline contents (inline_files or inline_content true). */
static enum err h_inline(struct http_request *req, struct http_response *resp, int *on)
{
    static const char *const names[] = {"inline_files", "inline_content"};
    size_t i;
    enum err rc;

    *on = 0;
    for (i = 0; i < 2 && !*on; i++) {
        struct buf b;
        int found = 0;

        rc = h_query(req, resp, names[i], &b, &found);
        if (rc != ERR_OK) {
            buf_free(&b);
            return rc;
        }
        *on = found && b.b_data && strcmp(b.b_data, "true") == 0;
        buf_free(&b);
    }
    return ERR_OK;
}

/* Builds the File object of entry (from the item's files), with its contents if inline. */
static enum err h_file_json(struct h_ctx *x, struct http_response *resp, const json_t *entry,
                            int inline_on, json_t **out)
{
    struct file_meta fm;
    struct buf plain;
    char msg[128], *b64 = NULL;
    size_t need;
    enum err rc;

    *out = NULL;
    if (file_from_json(&fm, entry, msg, sizeof(msg)) != ERR_OK)
        return ERR_INTERNAL; /* the item's own record is malformed */
    if (!inline_on)
        return file_to_json(out, &fm, x->hx_vault, x->hx_item, NULL);
    if (fm.fm_size < 0 ||
        (uint64_t)fm.fm_size > (uint64_t)x->hx_api->ap_cfg->cf_max_inline_kb * 1024u)
        return http_respond_error(resp, ERR_TOO_LARGE, H_INLINE_MSG);
    rc = api_index_file_content(x->hx_api->ap_volume, x->hx_av, fm.fm_id, &plain);
    if (rc == ERR_NOT_READY)
        rc = http_respond_error(resp, rc, H_NOT_SYNCED_MSG);
    if (rc != ERR_OK) {
        buf_free(&plain);
        return rc;
    }
    need = codec_b64_encoded_len(plain.b_len, 1) + 1;
    b64 = mem_alloc(need);
    rc = b64 ? ERR_OK : ERR_NOMEM;
    if (rc == ERR_OK)
        rc = codec_b64_encode(b64, need, NULL, plain.b_data ? plain.b_data : "", plain.b_len,
                              CODEC_B64_STD | CODEC_PAD);
    if (rc == ERR_OK)
        rc = file_to_json(out, &fm, x->hx_vault, x->hx_item, b64);
    buf_free(&plain);
    mem_free(b64);
    return rc;
}

/* Finds the entry of file id among the item's files, or NULL. */
static const json_t *h_file_entry(const json_t *content, const char *id)
{
    const json_t *files = json_object_get(content, "files"), *f;
    size_t i;

    json_array_foreach(files, i, f)
    {
        const char *fid = json_string_value(json_object_get(f, "id"));

        if (fid && strcmp(fid, id) == 0)
            return f;
    }
    return NULL;
}

/* GET …/items/{itemUuid}/files: the item's files (inline contents on request). */
static enum err h_files(struct http_request *req, struct http_response *resp)
{
    struct h_ctx x;
    struct item_meta m;
    json_t *content = NULL, *list = NULL, *f;
    size_t i;
    int inline_on = 0;
    enum err rc;

    rc = h_begin(&x, req, resp, TOKEN_ACCESS_READ);
    if (rc != ERR_OK || (rc = h_inline(req, resp, &inline_on)) != ERR_OK ||
        (rc = h_load_item(&x, resp, &m, &content)) != ERR_OK)
        goto out;
    if (!(list = json_array())) {
        rc = ERR_NOMEM;
        goto out;
    }
    json_array_foreach(json_object_get(content, "files"), i, f)
    {
        json_t *o = NULL;

        if ((rc = h_file_json(&x, resp, f, inline_on, &o)) != ERR_OK)
            goto out;
        if (json_array_append_new(list, o) != 0) {
            rc = ERR_NOMEM;
            goto out;
        }
    }
    rc = http_respond_json(resp, 200, list);
    list = NULL;
out:
    json_decref(list);
    json_decref(content);
    return h_end(&x, req, rc);
}

/* GET …/files/{fileUuid}: one File (inline contents on request). */
static enum err h_file(struct http_request *req, struct http_response *resp)
{
    struct h_ctx x;
    struct item_meta m;
    json_t *content = NULL, *o = NULL;
    const json_t *entry;
    int inline_on = 0;
    enum err rc;

    rc = h_begin(&x, req, resp, TOKEN_ACCESS_READ);
    if (rc != ERR_OK || (rc = h_inline(req, resp, &inline_on)) != ERR_OK ||
        (rc = h_load_item(&x, resp, &m, &content)) != ERR_OK)
        goto out;
    entry = h_file_entry(content, x.hx_file);
    if (!entry) {
        rc = http_respond_error(resp, ERR_NOT_FOUND, H_FILE_MISSING);
        goto out;
    }
    if ((rc = h_file_json(&x, resp, entry, inline_on, &o)) == ERR_OK)
        rc = http_respond_json(resp, 200, o);
out:
    json_decref(content);
    return h_end(&x, req, rc);
}

/*
 * Writes the Content-Disposition value for file name: an ASCII-safe quoted filename
 * (anything else becomes '_'), plus filename* (RFC 5987) when the name is not plain ASCII.
 */
static void h_disposition(char *out, size_t cap, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o, i;
    int plain = 1;

    o = (size_t)snprintf(out, cap, "attachment; filename=\"");
    for (i = 0; name[i] && o + 4 < cap; i++) {
        unsigned char c = (unsigned char)name[i];
        int ok = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';

        plain &= c < 0x80 && c >= 0x20 && c != 0x7f;
        out[o++] = ok ? (char)c : '_';
    }
    out[o++] = '"';
    out[o] = '\0';
    if (plain || o + 20 >= cap)
        return;
    o += (size_t)snprintf(out + o, cap - o, "; filename*=UTF-8''");
    for (i = 0; name[i] && o + 4 < cap; i++) {
        unsigned char c = (unsigned char)name[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("!#$&+-.^_`|~", c)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* GET …/files/{fileUuid}/content: the raw bytes. */
static enum err h_file_content(struct http_request *req, struct http_response *resp)
{
    struct h_ctx x;
    struct item_meta m;
    struct buf plain;
    json_t *content = NULL;
    const json_t *entry;
    char disp[FILE_MAX_NAME_BYTES * 3 + 64];
    const char *name;
    enum err rc;

    buf_init(&plain, 1);
    rc = h_begin(&x, req, resp, TOKEN_ACCESS_READ);
    if (rc != ERR_OK || (rc = h_load_item(&x, resp, &m, &content)) != ERR_OK)
        goto out;
    entry = h_file_entry(content, x.hx_file);
    if (!entry) {
        rc = http_respond_error(resp, ERR_NOT_FOUND, H_FILE_MISSING);
        goto out;
    }
    rc = api_index_file_content(x.hx_api->ap_volume, x.hx_av, x.hx_file, &plain);
    if (rc == ERR_NOT_READY)
        rc = http_respond_error(resp, rc, H_NOT_SYNCED_MSG);
    else if (rc == ERR_NOT_FOUND)
        rc = http_respond_error(resp, rc, H_FILE_MISSING);
    if (rc != ERR_OK)
        goto out;
    name = json_string_value(json_object_get(entry, "name"));
    h_disposition(disp, sizeof(disp), name ? name : "file");
    if ((rc = http_response_header(resp, "Content-Disposition", disp)) == ERR_OK)
        rc = http_respond_buf(resp, 200, "application/octet-stream", &plain);
out:
    buf_free(&plain);
    json_decref(content);
    return h_end(&x, req, rc);
}

/* ---- writes ------------------------------------------------------------------------------ */

/* Returns the flags of item_to_json for the caller: no secret values without the read bit. */
static unsigned h_out_flags(const struct h_ctx *x)
{
    return ITEM_OUT_FULL |
           ((api_auth_access(&x->hx_p, x->hx_vault) & TOKEN_ACCESS_READ) ? 0u : ITEM_OUT_REDACT);
}

/* The deadline of a write: OP_SYNC_TIMEOUT from now. */
static int64_t h_write_deadline(const struct h_ctx *x)
{
    return http_clock_ms() + (int64_t)x->hx_api->ap_cfg->cf_sync_timeout_ms;
}

/* Reads the request body as JSON (400 with the parser's client-safe message). */
static enum err h_body(struct http_request *req, struct http_response *resp, json_t **body)
{
    char msg[160];
    enum err rc;

    *body = NULL;
    rc = http_request_json(req, body, msg, sizeof(msg));
    if (rc == ERR_NOMEM || rc == ERR_OK)
        return rc;
    return http_respond_error(resp, rc, msg[0] ? msg : NULL);
}

/* Answers the error of a write (message from the validator or from sync). */
static enum err h_write_fail(struct http_response *resp, enum err rc, const char *msg)
{
    if (rc == ERR_NOMEM || rc == HTTP_DEFERRED)
        return rc;
    return http_respond_error(resp, rc, msg && *msg ? msg : NULL);
}

/*
 * Answers 200 with the FullItem m + content (redacted for a caller without read), the
 * version shown being answered_version (Connect's PUT quirk), after putting the stored
 * item into the index (read-your-writes: the next listing here shows it).
 */
static enum err h_item_answer(struct h_ctx *x, struct http_response *resp,
                              const struct item_meta *m, const json_t *content,
                              int64_t answered_version)
{
    struct item_meta shown = *m;
    json_t *o = NULL;
    enum err rc;

    api_index_note_write(x->hx_api, x->hx_vault, m->im_id, m, content);
    shown.im_version = answered_version;
    rc = item_to_json(&o, &shown, content, h_out_flags(x), api_now());
    if (rc != ERR_OK)
        return rc;
    return http_respond_json(resp, 200, o);
}

/* POST /v1/vaults/{vaultUuid}/items: create (200 with the complete stored item). */
static enum err h_item_create(struct http_request *req, struct http_response *resp)
{
    struct h_ctx x;
    struct item_input in;
    struct item_meta m;
    char category[ITEM_CATEGORY_MAX], msg[256], id[ID_LEN + 1];
    json_t *body = NULL, *content = NULL;
    enum err rc;

    msg[0] = '\0';
    rc = h_begin_as(&x, req, resp, TOKEN_ACCESS_WRITE, ACTIVITY_CREATE);
    if (rc != ERR_OK || (rc = h_body(req, resp, &body)) != ERR_OK)
        goto out;
    memset(&in, 0, sizeof(in));
    in.ii_mode = ITEM_CREATE;
    in.ii_vault_id = x.hx_vault;
    in.ii_now = api_now();
    rc = item_from_request(&content, category, body, &in, msg, sizeof(msg));
    if (rc == ERR_OK && (rc = id_new(id)) == ERR_OK) {
        x.hx_item = id;
        rc = api_write_put(x.hx_api, x.hx_av, id, category, content, 0, h_write_deadline(&x), &m,
                           msg, sizeof(msg));
    }
    if (rc != ERR_OK) {
        rc = h_write_fail(resp, rc, msg);
        goto out;
    }
    x.hx_item_version = (uint64_t)m.im_version;
    rc = h_item_answer(&x, resp, &m, content, m.im_version);
out:
    json_decref(body);
    json_decref(content);
    rc = h_end(&x, req, rc);
    x.hx_item = NULL;
    return rc;
}

/* Returns the client's base version in body ("version", 0 when absent or not positive). */
static int64_t h_client_version(const json_t *body)
{
    json_int_t v = json_is_integer(json_object_get(body, "version"))
                       ? json_integer_value(json_object_get(body, "version"))
                       : 0;

    return v > 0 ? (int64_t)v : 0;
}

/* Returns the version a PATCH document names (a replace/add of "/version" or "/"), or 0. */
static int64_t h_patch_version(const json_t *ops)
{
    const json_t *op;
    size_t i;

    json_array_foreach(ops, i, op)
    {
        const char *path = json_string_value(json_object_get(op, "path"));
        const json_t *val = json_object_get(op, "value");

        if (!path)
            continue;
        if (strcmp(path, "/version") == 0 && json_is_integer(val) && json_integer_value(val) > 0)
            return (int64_t)json_integer_value(val);
        if (strcmp(path, "/") == 0 && json_is_object(val) && h_client_version(val) > 0)
            return h_client_version(val);
    }
    return 0;
}

/*
 * The shared part of PUT and PATCH: read the current item, build the new content
 * (patch != 0: body is a JSON Patch), check the client's version, write version + 1; when
 * another writer got there first and the client named no version, read again and retry.
 * On success *m and *content hold the stored item; *before its version before the write.
 */
static enum err h_item_change(struct h_ctx *x, struct http_response *resp, const json_t *body,
                              int patch, struct item_meta *m, json_t **content, int64_t *before)
{
    int64_t want = patch ? h_patch_version(body) : h_client_version(body);
    int64_t deadline = h_write_deadline(x);
    char category[ITEM_CATEGORY_MAX], msg[256];
    unsigned attempt;
    enum err rc = ERR_CONFLICT;

    *content = NULL;
    msg[0] = '\0';
    if (patch && !json_is_array(body))
        return http_respond_error(resp, ERR_BAD_INPUT,
                                  "a PATCH body is a JSON array of operations");
    for (attempt = 0; attempt < API_WRITE_ATTEMPTS && rc == ERR_CONFLICT; attempt++) {
        struct item_meta cur;
        json_t *existing = NULL;

        json_decref(*content);
        *content = NULL;
        rc = api_index_item_content(x->hx_api->ap_volume, x->hx_av, x->hx_item, &cur, &existing);
        if (rc == ERR_NOT_FOUND)
            return http_respond_error(resp, rc, H_ITEM_MISSING);
        if (rc != ERR_OK)
            return rc;
        if (want > 0 && want != cur.im_version) {
            json_decref(existing);
            return http_respond_error(resp, ERR_CONFLICT, H_STALE_MSG);
        }
        if (patch && json_array_size(body) == 0) {
            /* an empty patch changes nothing: the item as it is, no new version */
            *m = cur;
            *content = existing;
            *before = cur.im_version;
            return ERR_OK;
        }
        if (patch) {
            memcpy(category, cur.im_category, sizeof(category));
            rc = item_apply_patch(content, category, &cur, existing, body, api_now(), msg,
                                  sizeof(msg));
        } else {
            struct item_input in;

            memset(&in, 0, sizeof(in));
            in.ii_mode = ITEM_REPLACE;
            in.ii_vault_id = x->hx_vault;
            in.ii_item_id = x->hx_item;
            in.ii_existing_category = cur.im_category;
            in.ii_existing = existing;
            in.ii_now = api_now();
            rc = item_from_request(content, category, body, &in, msg, sizeof(msg));
        }
        json_decref(existing);
        if (rc == ERR_OK)
            rc = api_write_put(x->hx_api, x->hx_av, x->hx_item, category, *content,
                               (uint64_t)cur.im_version, deadline, m, msg, sizeof(msg));
        *before = cur.im_version;
        if (rc == ERR_CONFLICT && want > 0)
            return http_respond_error(resp, rc, H_STALE_MSG);
    }
    if (rc == ERR_CONFLICT)
        return http_respond_error(resp, rc, "the item is being changed by other writers; retry");
    return rc == ERR_OK ? rc : h_write_fail(resp, rc, msg);
}

/* PUT or PATCH of …/items/{itemUuid}. */
static enum err h_item_write(struct http_request *req, struct http_response *resp, int patch)
{
    struct h_ctx x;
    struct item_meta m;
    json_t *body = NULL, *content = NULL;
    int64_t before = 0;
    enum err rc;

    rc = h_begin_as(&x, req, resp, TOKEN_ACCESS_WRITE, ACTIVITY_UPDATE);
    if (rc != ERR_OK)
        goto out;
    if (!api_index_item(x.hx_av, x.hx_item)) {
        rc = http_respond_error(resp, ERR_NOT_FOUND, H_ITEM_MISSING);
        goto out;
    }
    if ((rc = h_body(req, resp, &body)) != ERR_OK ||
        (rc = h_item_change(&x, resp, body, patch, &m, &content, &before)) != ERR_OK)
        goto out;
    x.hx_item_version = (uint64_t)m.im_version;
    /* Connect's quirk, relied on by Terraform: PUT answers the version before the update;
       GETs show the new one */
    rc = h_item_answer(&x, resp, &m, content, patch ? m.im_version : before);
out:
    json_decref(body);
    json_decref(content);
    return h_end(&x, req, rc);
}

/* PUT …/items/{itemUuid}: full replacement. */
static enum err h_item_replace(struct http_request *req, struct http_response *resp)
{
    return h_item_write(req, resp, 0);
}

/* PATCH …/items/{itemUuid}: RFC 6902 subset with Connect's paths. */
static enum err h_item_patch(struct http_request *req, struct http_response *resp)
{
    return h_item_write(req, resp, 1);
}

/* DELETE …/items/{itemUuid}: exactly 204, empty body; 409 if it changed meanwhile. */
static enum err h_item_delete(struct http_request *req, struct http_response *resp)
{
    struct h_ctx x;
    const struct api_item *it;
    char msg[256];
    enum err rc;

    msg[0] = '\0';
    rc = h_begin_as(&x, req, resp, TOKEN_ACCESS_WRITE, ACTIVITY_DELETE);
    if (rc != ERR_OK)
        goto out;
    it = api_index_item(x.hx_av, x.hx_item);
    if (!it) {
        rc = http_respond_error(resp, ERR_NOT_FOUND, H_ITEM_MISSING);
        goto out;
    }
    x.hx_item_version = it->ai_version;
    rc = api_write_delete(x.hx_api, x.hx_av, x.hx_item, it->ai_version, h_write_deadline(&x), msg,
                          sizeof(msg));
    if (rc == ERR_CONFLICT) {
        api_refresh(x.hx_api); /* sync applied the current version: a retry sees it */
        rc = http_respond_error(resp, rc, H_DEL_CONFLICT);
    } else if (rc != ERR_OK)
        rc = h_write_fail(resp, rc, msg);
    else {
        api_index_note_write(x.hx_api, x.hx_vault, x.hx_item, NULL, NULL);
        rc = http_respond_empty(resp, 204);
    }
out:
    return h_end(&x, req, rc);
}

const struct http_route api_routes[] = {
    {"GET", "/heartbeat", h_heartbeat},
    {"GET", "/health", h_health},
    {"GET", "/metrics", h_metrics},
    {"GET", "/v1/activity", h_activity},
    {"GET", "/v1/vaults", h_vaults},
    {"GET", "/v1/vaults/{vaultUuid}", h_vault},
    {"GET", "/v1/vaults/{vaultUuid}/items", h_items},
    {"POST", "/v1/vaults/{vaultUuid}/items", h_item_create},
    {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}", h_item},
    {"PUT", "/v1/vaults/{vaultUuid}/items/{itemUuid}", h_item_replace},
    {"PATCH", "/v1/vaults/{vaultUuid}/items/{itemUuid}", h_item_patch},
    {"DELETE", "/v1/vaults/{vaultUuid}/items/{itemUuid}", h_item_delete},
    {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}/files", h_files},
    {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}/files/{fileUuid}", h_file},
    {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}/files/{fileUuid}/content", h_file_content},
};

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);

/* Any API route on the plain HTTP port of a TLS server. */
static enum err h_https_only(struct http_request *req, struct http_response *resp)
{
    (void)req;
    return http_respond_error(resp, ERR_FORBIDDEN,
                              "this Connect server serves its API over HTTPS only (OP_HTTPS_PORT)");
}

/*
 * The plain HTTP port when TLS is on: the probes and metrics, as Connect's charts expect
 * them on OP_HTTP_PORT; every API path answers 403 and points to HTTPS.
 */
const struct http_route api_plain_routes[] = {
    {"GET", "/heartbeat", h_heartbeat},
    {"GET", "/health", h_health},
    {"GET", "/metrics", h_metrics},
    {"GET", "/v1/activity", h_https_only},
    {"GET", "/v1/vaults", h_https_only},
    {"GET", "/v1/vaults/{vaultUuid}", h_https_only},
    {"GET", "/v1/vaults/{vaultUuid}/items", h_https_only},
    {"POST", "/v1/vaults/{vaultUuid}/items", h_https_only},
    {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}", h_https_only},
    {"PUT", "/v1/vaults/{vaultUuid}/items/{itemUuid}", h_https_only},
    {"PATCH", "/v1/vaults/{vaultUuid}/items/{itemUuid}", h_https_only},
    {"DELETE", "/v1/vaults/{vaultUuid}/items/{itemUuid}", h_https_only},
    {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}/files", h_https_only},
    {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}/files/{fileUuid}", h_https_only},
    {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}/files/{fileUuid}/content", h_https_only},
};

const size_t api_plain_nroutes = sizeof(api_plain_routes) / sizeof(api_plain_routes[0]);
