/*
 * hubclient.c - sync's client of the hub's sync endpoints (hubclient.h, docs/sync.md).
 */
#include "sync/hubclient.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/ids.h"
#include "crypto/crypto.h"
#include "crypto/jwk.h"
#include "json/fastload.h"
#include "keys/syncauth.h"

#define HUBCLIENT_PATH_BYTES 512 /* the longest target we build */

struct hubclient {
    const struct credentials *hc_cred; /* borrowed, unlocked */
    struct http_client *hc_http;       /* borrowed: the client requests go through */
    int hc_authed;                     /* 1 while the bearer holds a session */
    char *hc_session; /* secure memory: the session, kept to move it (hubclient_set_http) */
    enum hubclient_failure hc_failure; /* how the last request sent failed */
    char hc_errmsg[HUBCLIENT_ERRMSG_BYTES];
};

/* Records a failure message; returns e. */
static enum err hc_fail(struct hubclient *hc, enum err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum err hc_fail(struct hubclient *hc, enum err e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)err_vmsgf(e, hc->hc_errmsg, sizeof(hc->hc_errmsg), fmt, ap);
    va_end(ap);
    return e;
}

/* Returns CLOCK_MONOTONIC in milliseconds. */
static int64_t hc_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Sets *timeout_ms to what is left until deadline_ms (0: no deadline, the HTTP client's
 * timeout). Returns ERR_OK, or ERR_TIMEOUT (message into hc) when the deadline passed.
 */
static enum err hc_left(struct hubclient *hc, int64_t deadline_ms, long *timeout_ms)
{
    int64_t left;

    *timeout_ms = 0;
    if (deadline_ms == 0)
        return ERR_OK;
    left = deadline_ms - hc_now_ms();
    if (left <= 0)
        return hc_fail(hc, ERR_TIMEOUT, "hub request not sent: its time ran out");
    *timeout_ms = (long)left;
    return ERR_OK;
}

/*
 * Creates a hubclient borrowing cred and http. Owns nothing but itself.
 */
enum err hubclient_new(struct hubclient **out, const struct credentials *cred,
                       struct http_client *http)
{
    struct hubclient *hc;

    if (out)
        *out = NULL;
    if (!out || !cred || !http || !credentials_is_unlocked(cred))
        return ERR_BAD_INPUT;
    hc = mem_calloc(1, sizeof(*hc));
    if (!hc)
        return ERR_NOMEM;
    hc->hc_session = secmem_alloc(SYNCAUTH_SESSION_LEN + 1);
    if (!hc->hc_session) {
        mem_free(hc);
        return ERR_NOMEM;
    }
    hc->hc_cred = cred;
    hc->hc_http = http;
    *out = hc;
    return ERR_OK;
}

/*
 * Moves hc to http (borrowed, as the first): removes the session from the current HTTP
 * client and sets it on http, so the same hub session goes on through another replica.
 */
void hubclient_set_http(struct hubclient *hc, struct http_client *http)
{
    enum err e;

    if (!hc || !http || http == hc->hc_http)
        return;
    e = http_client_set_bearer(hc->hc_http, NULL); /* removing one cannot fail */
    (void)e;
    hc->hc_http = http;
    if (hc->hc_authed && http_client_set_bearer(http, hc->hc_session) != ERR_OK)
        hubclient_drop_session(hc); /* the next request authenticates again */
}

/* Returns the HTTP client hc uses now. */
struct http_client *hubclient_http(const struct hubclient *hc)
{
    return hc ? hc->hc_http : NULL;
}

/* Returns how the last request sent failed. */
enum hubclient_failure hubclient_last_failure(const struct hubclient *hc)
{
    return hc ? hc->hc_failure : HUBCLIENT_FAIL_NONE;
}

/* Wipes the session from the HTTP client and frees hc. */
void hubclient_free(struct hubclient *hc)
{
    if (!hc)
        return;
    hubclient_drop_session(hc);
    secmem_free(hc->hc_session);
    mem_free(hc);
}

/* Returns the last failure message (owned by hc). */
const char *hubclient_errmsg(const struct hubclient *hc)
{
    return hc ? hc->hc_errmsg : "";
}

/* Returns 1 while a session is held. */
int hubclient_has_session(const struct hubclient *hc)
{
    return hc && hc->hc_authed;
}

/* Forgets the session and removes it from the HTTP client. */
void hubclient_drop_session(struct hubclient *hc)
{
    enum err e;

    if (!hc)
        return;
    e = http_client_set_bearer(hc->hc_http, NULL); /* removing one cannot fail */
    (void)e;
    if (hc->hc_session)
        secmem_wipe(hc->hc_session, SYNCAUTH_SESSION_LEN + 1);
    hc->hc_authed = 0;
}

/*
 * Classifies a request that failed in the HTTP client (e, with its message msg): the
 * connection was never made (nothing reached the hub), or it was lost after the request
 * may have been sent. Other failures (cancelled, refused locally, out of memory) are none.
 */
static enum hubclient_failure hc_classify(enum err e, const char *msg)
{
    static const char *const unsent[] = {"cannot connect",
                                         "cannot resolve",
                                         "TLS handshake",
                                         "not trusted",
                                         "does not match the pinned",
                                         "proxy refused"};
    size_t i;

    if (e != ERR_UPSTREAM && e != ERR_TIMEOUT)
        return HUBCLIENT_FAIL_NONE;
    for (i = 0; e == ERR_UPSTREAM && i < sizeof(unsent) / sizeof(unsent[0]); i++) {
        if (strstr(msg, unsent[i]))
            return HUBCLIENT_FAIL_UNSENT;
    }
    return HUBCLIENT_FAIL_LOST;
}

/*
 * Sends one request (body: JSON text or NULL) and checks the status: ERR_OK for 2xx, the
 * status's error otherwise (the message into hc). resp must be freed by the caller.
 */
static enum err hc_send(struct hubclient *hc, enum http_client_method m, const char *path,
                        const char *body, size_t len, long timeout_ms,
                        struct http_client_response *resp)
{
    struct http_client_header hh = {.hh_name = "Content-Type", .hh_value = "application/json"};
    struct http_client_request rq;
    char msg[160];
    enum err e;

    memset(&rq, 0, sizeof(rq));
    rq.hq_method = m;
    rq.hq_path = path;
    rq.hq_timeout_ms = timeout_ms;
    if (body) {
        rq.hq_headers = &hh;
        rq.hq_nheaders = 1;
        rq.hq_body = body;
        rq.hq_body_len = len;
    }
    hc->hc_failure = HUBCLIENT_FAIL_NONE;
    e = http_client_request(hc->hc_http, &rq, resp);
    if (e != ERR_OK) {
        hc->hc_failure = hc_classify(e, resp->hr_errmsg);
        return hc_fail(hc, e, "hub request failed: %s", resp->hr_errmsg);
    }
    if (resp->hr_status == 502 || resp->hr_status == 503 || resp->hr_status == 504)
        hc->hc_failure = HUBCLIENT_FAIL_GATEWAY;
    e = http_client_response_error(resp, msg, sizeof(msg));
    if (e != ERR_OK)
        return hc_fail(hc, e, "hub answered %d: %s", resp->hr_status, msg);
    return ERR_OK;
}

/* Parses the body of resp as JSON into *out; ERR_UPSTREAM when it is not JSON. */
static enum err hc_parse(struct hubclient *hc, const struct http_client_response *resp,
                         json_t **out)
{
    json_error_t jerr;

    *out = NULL;
    if (resp->hr_body.b_len == 0)
        return hc_fail(hc, ERR_UPSTREAM, "hub answer has no body");
    /* the hub's answers are plain JSON (ids, base64url, integers): the fast path takes
       them, anything else is jansson's to parse or refuse */
    *out = jsonfast_loadb(resp->hr_body.b_data, resp->hr_body.b_len, &jerr);
    if (!*out)
        return hc_fail(hc, ERR_UPSTREAM, "hub answer is not JSON");
    return ERR_OK;
}

/* POSTs obj (compact JSON) to path before deadline_ms (0: none); parses the answer. */
static enum err hc_post_json(struct hubclient *hc, const char *path, const json_t *obj,
                             int64_t deadline_ms, json_t **out)
{
    struct http_client_response resp;
    char *text = NULL;
    long timeout;
    enum err e;

    *out = NULL;
    e = hc_left(hc, deadline_ms, &timeout);
    if (e != ERR_OK)
        return e;
    text = json_dumps(obj, JSON_COMPACT);
    if (!text)
        return hc_fail(hc, ERR_NOMEM, "out of memory");
    memset(&resp, 0, sizeof(resp));
    e = hc_send(hc, HTTP_CLIENT_POST, path, text, strlen(text), timeout, &resp);
    if (e == ERR_OK)
        e = hc_parse(hc, &resp, out);
    http_client_response_free(&resp);
    free(text);
    return e;
}

/*
 * Runs the challenge and session exchange before deadline_ms (0: none; each request then
 * has the HTTP client's timeout) and keeps the session as the bearer.
 */
static enum err hc_authenticate(struct hubclient *hc, int64_t deadline_ms)
{
    char sig[SYNCAUTH_SIG_LEN + 1];
    const char *account, *server, *ch, *session;
    const struct jwk *key;
    json_t *req = NULL, *ans = NULL;
    enum err e;

    if (!hc)
        return ERR_BAD_INPUT;
    hc->hc_errmsg[0] = '\0';
    hubclient_drop_session(hc);
    account = credentials_account_id(hc->hc_cred);
    server = credentials_server_id(hc->hc_cred);
    key = credentials_server_signing_key(hc->hc_cred);
    if (!account || !server || !key || !key->jk_ec)
        return hc_fail(hc, ERR_BAD_INPUT, "credentials are not unlocked");
    req = json_pack("{s:s, s:s}", "account", account, "server", server);
    if (!req) {
        e = hc_fail(hc, ERR_NOMEM, "out of memory");
        goto out;
    }
    e = hc_post_json(hc, "/v1/sync/challenge", req, deadline_ms, &ans);
    if (e != ERR_OK)
        goto out;
    ch = json_string_value(json_object_get(ans, "challenge"));
    if (!ch || strlen(ch) != SYNCAUTH_CHALLENGE_LEN) {
        e = hc_fail(hc, ERR_UPSTREAM, "hub challenge is malformed");
        goto out;
    }
    e = syncauth_sign(sig, key->jk_ec, ch, server);
    if (e != ERR_OK) {
        e = hc_fail(hc, e, "cannot sign the hub challenge");
        goto out;
    }
    if (json_object_set(req, "challenge", json_object_get(ans, "challenge")) != 0 ||
        json_object_set_new(req, "signature", json_string(sig)) != 0) {
        e = hc_fail(hc, ERR_NOMEM, "out of memory");
        goto out;
    }
    json_decref(ans);
    ans = NULL;
    e = hc_post_json(hc, "/v1/sync/session", req, deadline_ms, &ans);
    if (e != ERR_OK)
        goto out;
    session = json_string_value(json_object_get(ans, "session"));
    if (!session || strlen(session) != SYNCAUTH_SESSION_LEN) {
        e = hc_fail(hc, ERR_UPSTREAM, "hub session is malformed");
        goto out;
    }
    e = http_client_set_bearer(hc->hc_http, session);
    if (e != ERR_OK) {
        e = hc_fail(hc, e, "cannot keep the hub session");
        goto out;
    }
    memcpy(hc->hc_session, session, SYNCAUTH_SESSION_LEN + 1);
    hc->hc_authed = 1;
out:
    json_decref(req);
    json_decref(ans);
    return e;
}

/* Authenticates with the HTTP client's timeouts (see hubclient.h). */
enum err hubclient_authenticate(struct hubclient *hc)
{
    return hc ? hc_authenticate(hc, 0) : ERR_BAD_INPUT;
}

/*
 * Sends a request with the session into resp (2xx only), authenticating when needed and
 * once more after a 401. body (len bytes of JSON text) may be NULL. timeout_ms (0: the
 * HTTP client's per request) bounds the whole call, authentication included. resp must be
 * freed by the caller in every case.
 */
static enum err hc_request(struct hubclient *hc, enum http_client_method m, const char *path,
                           const char *body, size_t len, long timeout_ms,
                           struct http_client_response *resp)
{
    int64_t deadline = timeout_ms > 0 ? hc_now_ms() + timeout_ms : 0;
    enum err e = ERR_INTERNAL;
    long left;
    int attempt;

    memset(resp, 0, sizeof(*resp));
    for (attempt = 0; attempt < 2; attempt++) {
        if (!hc->hc_authed) {
            e = hc_authenticate(hc, deadline);
            if (e != ERR_OK)
                return e;
        }
        e = hc_left(hc, deadline, &left);
        if (e != ERR_OK)
            return e;
        e = hc_send(hc, m, path, body, len, left, resp);
        if (e != ERR_UNAUTHORIZED)
            return e;
        /* the session expired (or the hub restarted its sessions): authenticate again */
        http_client_response_free(resp);
        memset(resp, 0, sizeof(*resp));
        hubclient_drop_session(hc);
    }
    return e;
}

/* GETs path with the session into resp (see hc_request). */
static enum err hc_get(struct hubclient *hc, const char *path, long timeout_ms,
                       struct http_client_response *resp)
{
    return hc_request(hc, HTTP_CLIENT_GET, path, NULL, 0, timeout_ms, resp);
}

/* GETs path and parses the answer (see hubclient.h). */
enum err hubclient_get_json(struct hubclient *hc, const char *path, long timeout_ms, json_t **out)
{
    struct http_client_response resp;
    enum err e;

    if (out)
        *out = NULL;
    if (!hc || !path || !out)
        return ERR_BAD_INPUT;
    e = hc_get(hc, path, timeout_ms, &resp);
    if (e == ERR_OK)
        e = hc_parse(hc, &resp, out);
    http_client_response_free(&resp);
    return e;
}

/* GET /v1/sync/state. */
enum err hubclient_state(struct hubclient *hc, json_t **out)
{
    enum err e = hubclient_get_json(hc, "/v1/sync/state", 0, out);

    if (e == ERR_OK && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        e = hc_fail(hc, ERR_UPSTREAM, "hub state is not an object");
    }
    return e;
}

/* GET /v1/sync/changes (see hubclient.h). */
enum err hubclient_changes(struct hubclient *hc, uint64_t since, unsigned limit, unsigned wait_s,
                           uint64_t pulled, json_t **out)
{
    char path[HUBCLIENT_PATH_BYTES];
    long timeout = 0;
    enum err e;
    int n;

    if (out)
        *out = NULL;
    if (!hc || !out)
        return ERR_BAD_INPUT;
    if (limit == 0 || limit > HUBCLIENT_MAX_LIMIT)
        limit = HUBCLIENT_MAX_LIMIT;
    if (wait_s > HUBCLIENT_MAX_WAIT)
        wait_s = HUBCLIENT_MAX_WAIT;
    if (wait_s) {
        n = snprintf(path, sizeof(path), "/v1/sync/changes?since=%llu&limit=%u&wait=%u",
                     (unsigned long long)since, limit, wait_s);
        timeout = (long)wait_s * 1000L + HUBCLIENT_WAIT_MARGIN_MS;
    } else {
        n = snprintf(path, sizeof(path), "/v1/sync/changes?since=%llu&limit=%u",
                     (unsigned long long)since, limit);
    }
    if (n > 0 && pulled && (size_t)n < sizeof(path))
        n += snprintf(path + n, sizeof(path) - (size_t)n, "&pulled=%llu",
                      (unsigned long long)pulled);
    if (n < 0 || (size_t)n >= sizeof(path))
        return ERR_INTERNAL;
    e = hubclient_get_json(hc, path, timeout, out);
    if (e == ERR_OK && (!json_is_object(*out) || !json_is_array(json_object_get(*out, "changes")) ||
                        !json_is_integer(json_object_get(*out, "next")) ||
                        !json_is_boolean(json_object_get(*out, "more")))) {
        json_decref(*out);
        *out = NULL;
        e = hc_fail(hc, ERR_UPSTREAM, "hub changes page is malformed");
    }
    return e;
}

/* Builds "/v1/sync/vaults/<vault><suffix>" into path; ERR_BAD_INPUT for a malformed id. */
static enum err hc_vault_path(char *path, size_t cap, const char *vault, const char *suffix)
{
    int n;

    if (!vault || !id_is_valid(vault))
        return ERR_BAD_INPUT;
    n = snprintf(path, cap, "/v1/sync/vaults/%s%s", vault, suffix);
    return n < 0 || (size_t)n >= cap ? ERR_INTERNAL : ERR_OK;
}

/* GET /v1/sync/vaults/{vault}. */
enum err hubclient_vault(struct hubclient *hc, const char *vault, json_t **out)
{
    char path[HUBCLIENT_PATH_BYTES];
    enum err e;

    if (out)
        *out = NULL;
    if (!hc || !out)
        return ERR_BAD_INPUT;
    e = hc_vault_path(path, sizeof(path), vault, "");
    if (e != ERR_OK)
        return e;
    e = hubclient_get_json(hc, path, 0, out);
    if (e == ERR_OK && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        e = hc_fail(hc, ERR_UPSTREAM, "hub vault record is not an object");
    }
    return e;
}

/* Takes the page answer *out apart: the items array stays in *out, next is copied. */
static enum err hc_items_page(struct hubclient *hc, json_t **out, const char *after,
                              char next[ID_LEN + 1])
{
    json_t *items, *nx;
    const char *id;

    if (json_is_array(*out))
        return ERR_OK; /* a hub before paging: the whole vault in one answer */
    items = json_object_get(*out, "items");
    nx = json_object_get(*out, "next");
    if (!json_is_object(*out) || !json_is_array(items) || !nx ||
        (!json_is_null(nx) && !json_is_string(nx)))
        return hc_fail(hc, ERR_UPSTREAM, "hub item page is malformed");
    if (json_is_string(nx)) {
        const char *last;

        id = json_string_value(nx);
        last = json_string_value(
            json_object_get(json_array_get(items, json_array_size(items) - 1), "id"));
        /* the pages follow the vault's listing order, not ids: next must be the page's last
           item and not the cursor it was asked after, or the pull would loop */
        if (!id_is_valid(id) || json_array_size(items) == 0 || !last || strcasecmp(id, last) != 0 ||
            strcasecmp(id, after) == 0)
            return hc_fail(hc, ERR_UPSTREAM, "hub item page does not advance");
        memcpy(next, id, ID_LEN + 1);
    }
    json_incref(items);
    json_decref(*out);
    *out = items;
    return ERR_OK;
}

/* GET /v1/sync/vaults/{vault}/items?limit=L[&after=A] (see hubclient.h). */
enum err hubclient_vault_items_page(struct hubclient *hc, const char *vault, const char *after,
                                    unsigned limit, json_t **out, char next[ID_LEN + 1])
{
    char path[HUBCLIENT_PATH_BYTES], suffix[ID_LEN + 48], from[ID_LEN + 1];
    enum err e;
    int n, bad = 0;

    if (out)
        *out = NULL;
    from[0] = '\0'; /* a copy: next may be the caller's after */
    if (after && after[0]) {
        if (id_is_valid(after))
            memcpy(from, after, ID_LEN + 1);
        else
            bad = 1;
    }
    if (next)
        next[0] = '\0';
    if (!hc || !out || !next || bad)
        return ERR_BAD_INPUT;
    if (limit == 0 || limit > HUBCLIENT_ITEMS_PAGE)
        limit = HUBCLIENT_ITEMS_PAGE;
    n = from[0] ? snprintf(suffix, sizeof(suffix), "/items?limit=%u&after=%s", limit, from)
                : snprintf(suffix, sizeof(suffix), "/items?limit=%u", limit);
    if (n < 0 || (size_t)n >= sizeof(suffix))
        return ERR_INTERNAL;
    e = hc_vault_path(path, sizeof(path), vault, suffix);
    if (e != ERR_OK)
        return e;
    e = hubclient_get_json(hc, path, 0, out);
    if (e == ERR_OK)
        e = hc_items_page(hc, out, from, next);
    if (e != ERR_OK) {
        json_decref(*out);
        *out = NULL;
        next[0] = '\0';
    }
    return e;
}

/* GET /v1/sync/vaults/{vault}/files/{file}: the raw bytes, copied to our heap. */
enum err hubclient_file_get(struct hubclient *hc, const char *vault, const char *file,
                            unsigned char **data, size_t *len)
{
    char path[HUBCLIENT_PATH_BYTES], suffix[ID_LEN + 16];
    struct http_client_response resp;
    enum err e;

    if (data)
        *data = NULL;
    if (len)
        *len = 0;
    if (!hc || !data || !len || !file || !id_is_valid(file))
        return ERR_BAD_INPUT;
    (void)snprintf(suffix, sizeof(suffix), "/files/%s", file);
    e = hc_vault_path(path, sizeof(path), vault, suffix);
    if (e != ERR_OK)
        return e;
    e = hc_get(hc, path, 0, &resp);
    if (e == ERR_OK) {
        *data = mem_alloc(resp.hr_body.b_len ? resp.hr_body.b_len : 1);
        if (!*data) {
            e = hc_fail(hc, ERR_NOMEM, "out of memory");
        } else {
            if (resp.hr_body.b_len)
                memcpy(*data, resp.hr_body.b_data, resp.hr_body.b_len);
            *len = resp.hr_body.b_len;
        }
    }
    http_client_response_free(&resp);
    return e;
}

/* POST /v1/sync/activity with the JSON text body (see hubclient.h). */
enum err hubclient_activity_upload(struct hubclient *hc, const char *body, size_t len)
{
    struct http_client_response resp;
    enum err e;

    if (!hc || !body || len == 0)
        return ERR_BAD_INPUT;
    e = hc_request(hc, HTTP_CLIENT_POST, "/v1/sync/activity", body, len, 0, &resp);
    http_client_response_free(&resp);
    return e;
}

/* Answers ERR_UPSTREAM (message into hc) and drops *out when it is not an ITEM object. */
static enum err hc_check_item(struct hubclient *hc, json_t **out)
{
    if (json_is_object(*out) && json_is_string(json_object_get(*out, "id")) &&
        json_is_integer(json_object_get(*out, "version")))
        return ERR_OK;
    json_decref(*out);
    *out = NULL;
    return hc_fail(hc, ERR_UPSTREAM, "hub item record is malformed");
}

/* Builds "/v1/sync/vaults/<vault>/items/<item>" into path (cap bytes). */
static enum err hc_item_path(char *path, size_t cap, const char *vault, const char *item)
{
    char suffix[ID_LEN + 16];

    if (!item || !id_is_valid(item))
        return ERR_BAD_INPUT;
    (void)snprintf(suffix, sizeof(suffix), "/items/%s", item);
    return hc_vault_path(path, cap, vault, suffix);
}

/* GET /v1/sync/vaults/{vault}/items/{item} (see hubclient.h). */
enum err hubclient_item_get(struct hubclient *hc, const char *vault, const char *item,
                            long timeout_ms, json_t **out)
{
    char path[HUBCLIENT_PATH_BYTES];
    enum err e;

    if (out)
        *out = NULL;
    if (!hc || !out)
        return ERR_BAD_INPUT;
    e = hc_item_path(path, sizeof(path), vault, item);
    if (e != ERR_OK)
        return e;
    e = hubclient_get_json(hc, path, timeout_ms, out);
    return e == ERR_OK ? hc_check_item(hc, out) : e;
}

/* PUT /v1/sync/vaults/{vault}/items/{item} (see hubclient.h). */
enum err hubclient_item_put(struct hubclient *hc, const char *vault, const char *item,
                            const struct hubclient_item_write *w, long timeout_ms, json_t **out)
{
    char path[HUBCLIENT_PATH_BYTES];
    struct http_client_response resp;
    json_t *body = NULL;
    char *text = NULL;
    enum err e;

    if (out)
        *out = NULL;
    if (!hc || !out || !w || !w->hiw_category || !w->hiw_overview || !w->hiw_details)
        return ERR_BAD_INPUT;
    e = hc_item_path(path, sizeof(path), vault, item);
    if (e != ERR_OK)
        return e;
    body = json_pack("{s:s, s:s, s:s, s:s}", "category", w->hiw_category, "state",
                     w->hiw_state ? w->hiw_state : "", "overview", w->hiw_overview, "details",
                     w->hiw_details);
    /* always sent: 0 is a create, which the hub refuses (409) once the id is used - a
     * replayed create whose first attempt landed cannot replace the item */
    if (body &&
        json_object_set_new(body, "baseVersion", json_integer((json_int_t)w->hiw_base_version)))
        text = NULL;
    else
        text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return hc_fail(hc, ERR_NOMEM, "out of memory");
    e = hc_request(hc, HTTP_CLIENT_PUT, path, text, strlen(text), timeout_ms, &resp);
    free(text);
    if (e == ERR_OK)
        e = hc_parse(hc, &resp, out);
    http_client_response_free(&resp);
    return e == ERR_OK ? hc_check_item(hc, out) : e;
}

/* DELETE /v1/sync/vaults/{vault}/items/{item}[?baseVersion=N] (see hubclient.h). */
enum err hubclient_item_delete(struct hubclient *hc, const char *vault, const char *item,
                               uint64_t base_version, long timeout_ms)
{
    char path[HUBCLIENT_PATH_BYTES], query[48];
    struct http_client_response resp;
    size_t n;
    enum err e;

    if (!hc)
        return ERR_BAD_INPUT;
    e = hc_item_path(path, sizeof(path), vault, item);
    if (e != ERR_OK)
        return e;
    if (base_version) {
        (void)snprintf(query, sizeof(query), "?baseVersion=%llu", (unsigned long long)base_version);
        n = strlen(path);
        if (n + strlen(query) >= sizeof(path))
            return ERR_INTERNAL;
        memcpy(path + n, query, strlen(query) + 1);
    }
    e = hc_request(hc, HTTP_CLIENT_DELETE, path, NULL, 0, timeout_ms, &resp);
    http_client_response_free(&resp);
    return e;
}
