/*
 * server.c - the libmicrohttpd wrapper (docs/http.md).
 *
 * Life of a request (MHD 0.9.75 calls the access handler several times per request):
 *  1. MHD_OPTION_URI_LOG_CALLBACK receives the raw request target before MHD decodes it:
 *     the request object is created there (arena, id, client address) and becomes the
 *     connection's *con_cls.
 *  2. First access-handler call (headers parsed): limits on the target, the header bytes
 *     and Content-Length are checked (an answer here makes MHD close the connection,
 *     which is what an oversized request deserves), then the path is decoded and routed.
 *     Nothing else is answered on this call: answering on the first call makes MHD 0.9.75
 *     drop keep-alive (reference/c-deps.md §1, gotcha 1).
 *  3. Body calls: the body is accumulated into a capped buffer (or counted and dropped
 *     once over the cap, or when the request is already refused).
 *  4. The call with no more data: the handler runs and its response is queued; or the
 *     handler defers, the connection is suspended, and this step repeats after a wake,
 *     the deadline, or stop.
 *  5. MHD_OPTION_NOTIFY_COMPLETED: one log line, the request and its arena are freed.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/ids.h"
#include "common/limits.h"
#include "crypto/tls.h"
#include "http/query.h"
#include "json/fastload.h"

_Static_assert(HTTP_DEFERRED >= ERR__COUNT, "HTTP_DEFERRED must not be an enum err value");

#define HTTP_NAME_MAX       32                         /* server name in logs */
#define HTTP_ERRBODY_MAX    (HTTP_ERRMSG_MAX * 6 + 64) /* an escaped error body */
#define HTTP_MIN_HEADER     512                        /* smallest hc_max_header_bytes */
#define HTTP_MAX_HEADER_CFG (16u << 20)                /* largest hc_max_header_bytes */
#define HTTP_MIN_URL        16                         /* smallest hc_max_url_bytes */
#define HTTP_MAX_THREADS    256                        /* largest hc_threads */
#define HTTP_JSON_TYPE      "application/json"
#define HTTP_LOG_PATH_MAX   512 /* bytes of the raw path in a log line */

enum http_phase {
    HTTP_PHASE_NEW,  /* target seen, access handler not called yet */
    HTTP_PHASE_BODY, /* headers checked; receiving the body */
    HTTP_PHASE_RUN,  /* body complete; the handler runs (again, after a wait) */
    HTTP_PHASE_DONE, /* a response is queued */
};

/* A header added by a handler (arena memory). */
struct http_hnode {
    struct http_hnode *hn_next;
    const char *hn_name;
    const char *hn_value;
};

struct http_response {
    struct http_request *rs_req; /* owner */
    int rs_status;               /* 0 until a respond helper succeeded */
    const char *rs_type;         /* Content-Type, or NULL for no body */
    struct buf rs_body;          /* the body (freed when the request completes) */
    struct http_hnode *rs_headers;
    struct http_hnode **rs_tail;
    enum err rs_err;       /* error named by http_respond_error, ERR_OK if none */
    const char *rs_errmsg; /* its message (arena) */
};

struct http_request {
    struct http_server *rq_srv;
    struct MHD_Connection *rq_conn;
    struct arena rq_arena;
    struct buf rq_body;
    struct http_response rq_resp;
    const char *rq_method;      /* "-" until the first access-handler call */
    const char *rq_target;      /* raw request target (arena; NULL if too long or OOM) */
    const char *rq_log_path;    /* raw path for the log lines (no query; cut; "-" if none) */
    size_t rq_target_len;       /* its length as received */
    struct router_path rq_path; /* decoded target */
    struct router_match rq_match;
    enum err rq_refuse;        /* decided before the body, answered after it */
    unsigned rq_retry_after;   /* rq_refuse ERR_RATE_LIMITED: seconds for Retry-After */
    const char *rq_refuse_msg; /* its message, or NULL */
    size_t rq_body_seen;       /* body bytes received, stored or not */
    int rq_body_over;          /* the body passed the cap */
    enum http_phase rq_phase;
    char rq_id[UUID_LEN + 1];
    char rq_ip[INET6_ADDRSTRLEN];
    struct log_scope rq_scope;
    int64_t rq_start_ms;
    int64_t rq_start_us;
    int rq_status;  /* status queued, 0 if none */
    void *rq_state; /* the handler's pointer */
    /* long-poll (rq_expired and the links under the server's mutex) */
    int64_t rq_deadline; /* of the last http_request_wait, 0 if none */
    int rq_wait_called;  /* http_request_wait ran in the current handler call */
    int rq_expired;      /* the handler is called because the wait ended */
    int rq_linked;       /* on the server's waiting list */
    struct http_request *rq_wprev, *rq_wnext;
};

/*
 * One open connection (MHD_OPTION_NOTIFY_CONNECTION), on the server's list under
 * hs_mutex: the timer thread closes one whose request headers have not all arrived within
 * the header deadline (a slowloris client resets MHD's idle timeout with every byte).
 */
struct http_conn {
    struct http_conn *hc_prev, *hc_next;
    int hc_fd;
    int hc_in_request;   /* headers complete, request not yet finished */
    int hc_cut;          /* shut down by us */
    int64_t hc_since_ms; /* connection opened, or its last request finished */
};

struct http_server {
    struct MHD_Daemon *hs_daemon;
    int hs_listen_fd; /* ours until MHD owns it; -1 when closed or owned */
    int hs_port;
    char hs_name[HTTP_NAME_MAX];
    struct router *hs_router;
    void *hs_context;
    size_t hs_max_header;
    size_t hs_max_body;
    size_t hs_max_url;
    unsigned hs_grace_ms;
    void (*hs_on_complete)(void *ctx, const char *route, const char *method, int status,
                           int64_t elapsed_us);
    enum err (*hs_admit)(struct http_request *req, unsigned *retry_after_s);
    struct http_header hs_headers[HTTP_MAX_EXTRA_HEADERS]; /* owned copies */
    size_t hs_nheaders;
    /* long-poll and shutdown state, under hs_mutex */
    pthread_mutex_t hs_mutex;
    pthread_cond_t hs_cond; /* timer wake-ups and stop's wait for hs_inflight == 0 */
    int hs_sync_ready;      /* mutex and cond initialised */
    pthread_t hs_timer;
    int hs_timer_started;
    int hs_timer_exit;
    uint64_t hs_gen; /* bumped by every http_server_wake */
    struct http_request *hs_waiting;
    size_t hs_nwaiting;
    size_t hs_inflight; /* requests created and not completed */
    int hs_stopping;
    int hs_tls; /* holds a tls_server_install reference */
    /* connections (under hs_mutex) */
    struct http_conn *hs_conns;
    size_t hs_nconns;
    size_t hs_nconns_high; /* high-water mark since the last heap trim */
    size_t hs_max_conns;   /* over this, a new connection is answered 503 and closed */
    unsigned hs_header_ms; /* a request's headers must arrive within this */
    uint64_t hs_cut_slow;  /* connections closed for slow headers */
    uint64_t hs_cut_full;  /* connections refused at the limit */
    int64_t hs_trimmed_ms; /* when the heap was last trimmed (timer thread) */
    int hs_trim_due;       /* a connection came or went since: trim once more */
};

/* ---- small helpers ---- */

/* Returns CLOCK_MONOTONIC in milliseconds. */
int64_t http_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns CLOCK_MONOTONIC in microseconds. */
int64_t http_clock_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void http_ms_to_timespec(int64_t ms, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ms / 1000);
    ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

static int http_is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Returns 1 if name is an HTTP token and value holds no CR, LF or other control byte. */
static int http_header_ok(const char *name, const char *value)
{
    const unsigned char *p;

    if (!name || !name[0] || !value)
        return 0;
    for (p = (const unsigned char *)name; *p; p++) {
        if (!http_is_tchar(*p))
            return 0;
    }
    for (p = (const unsigned char *)value; *p; p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return 0;
    }
    return 1;
}

/* Headers only the layer (or MHD) sets. */
static int http_header_reserved(const char *name)
{
    static const char *const reserved[] = {"Content-Type", "Content-Length", "Connection",
                                           "Transfer-Encoding", "Date"};
    size_t i;

    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (strcasecmp(name, reserved[i]) == 0)
            return 1;
    }
    return 0;
}

static const char *http_toe_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return "completed";
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
        return "protocol error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "server shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client closed the connection";
    }
    return "unknown";
}

/* MHD's error log, as our JSON log lines (MHD's messages carry no request data). */
__attribute__((format(printf, 2, 0))) static void http_mhd_log(void *cls, const char *fmt,
                                                               va_list ap)
{
    const struct http_server *srv = cls;
    char msg[512];
    size_t n;

    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_msg(LOG_WARN, NULL, "http[%s]: libmicrohttpd: %s", srv->hs_name, msg);
}

/* ---- responses ---- */

static void http_response_reset(struct http_response *rs)
{
    rs->rs_status = 0;
    rs->rs_type = NULL;
    buf_reset(&rs->rs_body);
    rs->rs_err = ERR_OK;
    rs->rs_errmsg = NULL;
}

static void http_response_drop_headers(struct http_response *rs)
{
    rs->rs_headers = NULL;
    rs->rs_tail = &rs->rs_headers;
}

static int http_status_ok(int status)
{
    return status >= 200 && status <= 599;
}

struct http_dump {
    struct buf *hd_buf; /* the response body */
    enum err hd_rc;     /* the first append error */
};

static int http_json_dump_cb(const char *buffer, size_t size, void *data)
{
    struct http_dump *d = data;

    d->hd_rc = buf_add(d->hd_buf, buffer, size);
    return d->hd_rc == ERR_OK ? 0 : -1;
}

/* Answers status with a JSON body; steals body. See server.h. */
enum err http_respond_json(struct http_response *resp, int status, json_t *body)
{
    struct http_dump d;
    enum err rc = ERR_OK;

    if (!http_status_ok(status) || !body) {
        rc = ERR_INTERNAL;
        goto out;
    }
    http_response_reset(resp);
    d.hd_buf = &resp->rs_body;
    d.hd_rc = ERR_OK;
    if (json_dump_callback(body, http_json_dump_cb, &d, JSON_COMPACT) != 0) {
        rc = d.hd_rc != ERR_OK ? d.hd_rc : ERR_NOMEM;
        buf_free(&resp->rs_body);
        goto out;
    }
    resp->rs_status = status;
    resp->rs_type = HTTP_JSON_TYPE;
out:
    json_decref(body);
    return rc;
}

/* Returns the body answered so far. See server.h. */
const char *http_response_body(const struct http_response *resp, size_t *len)
{
    *len = resp->rs_body.b_len;
    return resp->rs_body.b_data;
}

/* Answers status with len bytes of data as content_type. See server.h. */
enum err http_respond_text(struct http_response *resp, int status, const char *content_type,
                           const void *data, size_t len)
{
    enum err rc;

    if (!http_status_ok(status) || !content_type || !http_header_ok("Content-Type", content_type) ||
        (len > 0 && !data))
        return ERR_INTERNAL;
    http_response_reset(resp);
    if (len > 0) {
        rc = buf_add(&resp->rs_body, data, len);
        if (rc != ERR_OK)
            return rc;
    }
    resp->rs_type = arena_strdup(&resp->rs_req->rq_arena, content_type);
    if (!resp->rs_type)
        return ERR_NOMEM;
    resp->rs_status = status;
    return ERR_OK;
}

/* Answers with a buffer's bytes, taken (see server.h). */
enum err http_respond_buf(struct http_response *resp, int status, const char *content_type,
                          struct buf *body)
{
    enum err rc = http_respond_text(resp, status, content_type, "", 0);
    size_t max = resp->rs_body.b_max;

    if (rc == ERR_OK && body->b_len > max)
        rc = ERR_TOO_LARGE;
    if (rc == ERR_OK) {
        buf_free(&resp->rs_body);
        resp->rs_body = *body; /* the bytes move; the response's cap stays */
        resp->rs_body.b_max = max;
    } else {
        buf_free(body);
    }
    buf_init(body, body->b_max);
    return rc;
}

/* Answers status with no body. See server.h. */
enum err http_respond_empty(struct http_response *resp, int status)
{
    if (!http_status_ok(status))
        return ERR_INTERNAL;
    http_response_reset(resp);
    resp->rs_status = status;
    return ERR_OK;
}

/* Adds a response header. See server.h. */
enum err http_response_header(struct http_response *resp, const char *name, const char *value)
{
    struct arena *a = &resp->rs_req->rq_arena;
    struct http_hnode *h;

    if (!http_header_ok(name, value) || http_header_reserved(name))
        return ERR_INTERNAL;
    h = arena_alloc(a, sizeof(*h));
    if (!h)
        return ERR_NOMEM;
    h->hn_next = NULL;
    h->hn_name = arena_strdup(a, name);
    h->hn_value = arena_strdup(a, value);
    if (!h->hn_name || !h->hn_value)
        return ERR_NOMEM;
    *resp->rs_tail = h;
    resp->rs_tail = &h->hn_next;
    return ERR_OK;
}

/* Copies at most HTTP_ERRMSG_MAX - 1 bytes of valid UTF-8 msg into the arena, or NULL. */
static const char *http_errmsg_copy(struct arena *a, const char *msg)
{
    size_t len, cut = 0;

    if (!msg)
        return NULL;
    len = strlen(msg);
    if (!query_is_text(msg, len))
        return NULL;
    while (cut < len) {
        uint32_t cp;
        size_t k = query_decode_utf8(msg + cut, len - cut, &cp);

        if (k == 0 || cut + k > HTTP_ERRMSG_MAX - 1)
            break;
        cut += k;
    }
    return arena_strndup(a, msg, cut);
}

/* Names the error the handler returns and its message. See server.h. */
enum err http_respond_error(struct http_response *resp, enum err e, const char *msg)
{
    http_response_reset(resp);
    resp->rs_err = e;
    resp->rs_errmsg = http_errmsg_copy(&resp->rs_req->rq_arena, msg);
    return e;
}

/*
 * Replaces the response with the Connect error body for status (0: err_http_status(e))
 * and msg (NULL: err_message(e)). Returns ERR_OK or ERR_NOMEM (the body is then empty).
 */
static enum err http_response_fail(struct http_response *rs, int status, enum err e,
                                   const char *msg)
{
    char body[HTTP_ERRBODY_MAX];
    enum err rc;

    http_response_reset(rs);
    if (status == 0 || status == err_http_status(e)) {
        status = err_http_status(e);
        rc = err_to_json(e, msg, body, sizeof(body));
    } else {
        struct buf b;

        buf_init(&b, sizeof(body) - 1);
        rc = buf_addf(&b, "{\"status\":%d,\"message\":", status);
        if (rc == ERR_OK)
            rc = buf_add_json_string(&b, msg ? msg : err_message(e));
        if (rc == ERR_OK)
            rc = buf_add(&b, "}", 1);
        if (rc == ERR_OK)
            memcpy(body, b.b_data, b.b_len + 1);
        buf_free(&b);
    }
    if (rc == ERR_OK)
        rc = buf_add_str(&rs->rs_body, body);
    if (rc != ERR_OK)
        return rc;
    rs->rs_status = status;
    rs->rs_type = HTTP_JSON_TYPE;
    return ERR_OK;
}

/* Queues rq's response on its connection. Returns what MHD should be told. */
static enum MHD_Result http_queue(struct http_request *rq)
{
    static char empty[1];
    struct http_server *srv = rq->rq_srv;
    struct http_response *rs = &rq->rq_resp;
    struct MHD_Response *mr;
    struct http_hnode *h;
    enum MHD_Result ret = MHD_NO;
    size_t i;

    rq->rq_phase = HTTP_PHASE_DONE;
    mr = MHD_create_response_from_buffer(
        rs->rs_body.b_len, rs->rs_body.b_len ? rs->rs_body.b_data : empty, MHD_RESPMEM_PERSISTENT);
    if (!mr)
        return MHD_NO;
    if (rs->rs_type &&
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, rs->rs_type) != MHD_YES)
        goto out;
    for (i = 0; i < srv->hs_nheaders; i++) {
        if (MHD_add_response_header(mr, srv->hs_headers[i].hh_name, srv->hs_headers[i].hh_value) !=
            MHD_YES)
            goto out;
    }
    for (h = rs->rs_headers; h; h = h->hn_next) {
        if (MHD_add_response_header(mr, h->hn_name, h->hn_value) != MHD_YES)
            goto out;
    }
    ret = MHD_queue_response(rq->rq_conn, (unsigned)rs->rs_status, mr);
    if (ret == MHD_YES)
        rq->rq_status = rs->rs_status;
out:
    MHD_destroy_response(mr);
    return ret;
}

/* Answers now with an error body (status 0: the status of e). */
static enum MHD_Result http_answer_error(struct http_request *rq, int status, enum err e,
                                         const char *msg)
{
    if (http_response_fail(&rq->rq_resp, status, e, msg) != ERR_OK)
        return MHD_NO;
    return http_queue(rq);
}

/* ---- the request accessors ---- */

/* Returns the method. */
const char *http_request_method(const struct http_request *req)
{
    return req->rq_method;
}

/* Returns the decoded path. */
const char *http_request_path(const struct http_request *req)
{
    return req->rq_path.rp_path;
}

/* Returns the raw query. */
const char *http_request_query(const struct http_request *req, size_t *len)
{
    if (len)
        *len = req->rq_path.rp_query_len;
    return req->rq_path.rp_query;
}

/* Returns a path parameter. */
const char *http_request_param(const struct http_request *req, const char *name)
{
    return router_match_param(&req->rq_match, name);
}

/* Returns a request header, or NULL. */
const char *http_request_header(const struct http_request *req, const char *name)
{
    const char *v = NULL;
    size_t vlen = 0;

    if (!name || !req->rq_conn)
        return NULL;
    if (MHD_lookup_connection_value_n(req->rq_conn, MHD_HEADER_KIND, name, strlen(name), &v,
                                      &vlen) != MHD_YES ||
        !v)
        return NULL;
    if (strlen(v) != vlen)
        return NULL;
    return v;
}

/* Returns the raw request target as sent. See server.h. */
const char *http_request_target(const struct http_request *req, size_t *len)
{
    if (len)
        *len = req->rq_target ? req->rq_target_len : 0;
    return req->rq_target ? req->rq_target : "";
}

/* Returns the body. */
const char *http_request_body(const struct http_request *req, size_t *len)
{
    if (len)
        *len = req->rq_body.b_len;
    return buf_str(&req->rq_body);
}

/* Returns 1 when no bracket nesting in the JSON text s goes deeper than max. */
static int http_json_depth_ok(const char *s, size_t n, int max)
{
    int depth = 0, in_str = 0, esc = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        char c = s[i];

        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return 0;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 1;
}

/* Parses the body as JSON. See server.h. */
enum err http_request_json(const struct http_request *req, json_t **out, char *errmsg,
                           size_t errcap)
{
    json_error_t jerr;
    json_t *j;

    *out = NULL;
    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (req->rq_body.b_len == 0)
        return err_msgf(ERR_BAD_JSON, errmsg, errcap, "Request body is empty");
    if (req->rq_body.b_len > HTTP_MAX_BODY_BYTES)
        return err_msgf(ERR_TOO_LARGE, errmsg, errcap, "JSON request body is larger than %u bytes",
                        (unsigned)HTTP_MAX_BODY_BYTES);
    if (!http_json_depth_ok(req->rq_body.b_data, req->rq_body.b_len, JSON_MAX_DEPTH))
        return err_msgf(ERR_BAD_JSON, errmsg, errcap,
                        "JSON in request body is nested deeper than %d levels", JSON_MAX_DEPTH);
    /* plain JSON (sealed items, activity uploads) on the fast path; anything else, and
       every error, is jansson's */
    j = jsonfast_loadb(req->rq_body.b_data, req->rq_body.b_len, &jerr);
    if (!j) {
        /* jansson's text quotes the input: give only the position. */
        if (json_error_code(&jerr) == json_error_out_of_memory)
            return ERR_NOMEM;
        if (json_error_code(&jerr) == json_error_duplicate_key)
            return err_msgf(ERR_BAD_JSON, errmsg, errcap,
                            "Invalid JSON in request body: duplicate object key");
        if (json_error_code(&jerr) == json_error_invalid_utf8)
            return err_msgf(ERR_BAD_JSON, errmsg, errcap,
                            "Invalid JSON in request body: invalid UTF-8");
        return err_msgf(ERR_BAD_JSON, errmsg, errcap,
                        "Invalid JSON in request body (line %d, column %d)", jerr.line,
                        jerr.column);
    }
    *out = j;
    return ERR_OK;
}

/* Returns the arena. */
struct arena *http_request_arena(struct http_request *req)
{
    return &req->rq_arena;
}

/* Returns the request id. */
const char *http_request_id(const struct http_request *req)
{
    return req->rq_id;
}

/* Returns the client address. */
const char *http_request_client_ip(const struct http_request *req)
{
    return req->rq_ip;
}

/* Returns the log scope. */
const struct log_scope *http_request_log_scope(const struct http_request *req)
{
    return &req->rq_scope;
}

/* Records the token id for the log lines. */
enum err http_request_set_jti(struct http_request *req, const char *jti)
{
    char *copy;

    if (!jti)
        return ERR_INTERNAL;
    copy = arena_strdup(&req->rq_arena, jti);
    if (!copy)
        return ERR_NOMEM;
    req->rq_scope.ls_jti = copy;
    return ERR_OK;
}

/* Returns the configured context. */
void *http_request_context(const struct http_request *req)
{
    return req->rq_srv->hs_context;
}

/* Returns the handler's pointer. */
void *http_request_state(const struct http_request *req)
{
    return req->rq_state;
}

/* Sets the handler's pointer. */
void http_request_set_state(struct http_request *req, void *state)
{
    req->rq_state = state;
}

/* Asks to be called again; returns HTTP_DEFERRED. */
enum err http_request_wait(struct http_request *req, int64_t deadline_ms)
{
    req->rq_deadline = deadline_ms;
    req->rq_wait_called = 1;
    return HTTP_DEFERRED;
}

/* Returns 1 when the wait ended by deadline or stop. */
int http_request_wait_expired(const struct http_request *req)
{
    return req->rq_expired;
}

/* Returns the last wait deadline. */
int64_t http_request_wait_deadline(const struct http_request *req)
{
    return req->rq_deadline;
}

/* ---- the request life cycle ---- */

static void http_request_free(struct http_request *rq)
{
    buf_free(&rq->rq_body);
    buf_free(&rq->rq_resp.rs_body);
    arena_free(&rq->rq_arena);
    mem_free(rq);
}

/* Unlinks rq from the waiting list; under hs_mutex. */
static void http_wait_unlink(struct http_server *srv, struct http_request *rq)
{
    if (!rq->rq_linked)
        return;
    if (rq->rq_wprev)
        rq->rq_wprev->rq_wnext = rq->rq_wnext;
    else
        srv->hs_waiting = rq->rq_wnext;
    if (rq->rq_wnext)
        rq->rq_wnext->rq_wprev = rq->rq_wprev;
    rq->rq_wprev = rq->rq_wnext = NULL;
    rq->rq_linked = 0;
    srv->hs_nwaiting--;
}

/* MHD_OPTION_URI_LOG_CALLBACK: creates the request from the raw target. */
static void *http_on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_server *srv = cls;
    const union MHD_ConnectionInfo *ci;
    struct http_request *rq;
    size_t keep;

    rq = mem_calloc(1, sizeof(*rq));
    if (!rq)
        return NULL;
    rq->rq_srv = srv;
    rq->rq_conn = conn;
    rq->rq_start_ms = http_clock_ms();
    rq->rq_start_us = http_clock_us();
    arena_init(&rq->rq_arena, ARENA_MAX_BYTES);
    buf_init(&rq->rq_body, srv->hs_max_body);
    buf_init(&rq->rq_resp.rs_body, HTTP_MAX_RESPONSE_BYTES);
    rq->rq_resp.rs_req = rq;
    http_response_drop_headers(&rq->rq_resp);
    rq->rq_method = "-";
    rq->rq_path.rp_path = "";
    rq->rq_path.rp_raw = "";
    rq->rq_path.rp_query = "";
    rq->rq_refuse = ERR_OK;
    rq->rq_phase = HTTP_PHASE_NEW;
    rq->rq_target_len = strlen(uri);
    /* A target over the limit is answered 414 in the first call: do not copy it. */
    keep = rq->rq_target_len > srv->hs_max_url ? 0 : rq->rq_target_len;
    rq->rq_target = arena_strndup(&rq->rq_arena, uri, keep);
    keep = strcspn(uri, "?");
    rq->rq_log_path =
        arena_strndup(&rq->rq_arena, uri, keep < HTTP_LOG_PATH_MAX ? keep : HTTP_LOG_PATH_MAX);
    if (!rq->rq_log_path || !rq->rq_log_path[0])
        rq->rq_log_path = "-";
    if (id_new_uuid(rq->rq_id) != ERR_OK)
        (void)snprintf(rq->rq_id, sizeof(rq->rq_id), "unknown");
    rq->rq_scope.ls_request_id = rq->rq_id;
    (void)snprintf(rq->rq_ip, sizeof(rq->rq_ip), "unknown");
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        socklen_t salen =
            sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

        if (getnameinfo(sa, salen, rq->rq_ip, sizeof(rq->rq_ip), NULL, 0, NI_NUMERICHOST) != 0)
            (void)snprintf(rq->rq_ip, sizeof(rq->rq_ip), "unknown");
    }
    pthread_mutex_lock(&srv->hs_mutex);
    srv->hs_inflight++;
    pthread_mutex_unlock(&srv->hs_mutex);
    return rq;
}

static void http_conn_mark(struct http_server *srv, struct MHD_Connection *conn, int in_request);

/* MHD_OPTION_NOTIFY_COMPLETED: logs the request and frees it. */
static void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct http_request *rq = *con_cls;
    long long ms;

    if (!rq)
        return;
    *con_cls = NULL;
    ms = (long long)(http_clock_ms() - rq->rq_start_ms);
    if (rq->rq_status != 0 && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        const char *reason = MHD_get_reason_phrase_for((unsigned)rq->rq_status);

        log_msg(LOG_INFO, &rq->rq_scope, "%s %s completed (%d: %s) in %lldms", rq->rq_method,
                rq->rq_log_path, rq->rq_status, reason && reason[0] ? reason : "Unknown", ms);
    } else {
        log_msg(LOG_WARN, &rq->rq_scope,
                "%s %s ended after %lldms without a complete response "
                "(%s%s)",
                rq->rq_method, rq->rq_log_path, ms, http_toe_name(toe),
                rq->rq_status ? ", response started" : "");
    }
    if (srv->hs_on_complete) {
        const struct http_route *route = rq->rq_match.rm_route;
        int done = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? rq->rq_status : 0;

        srv->hs_on_complete(srv->hs_context, route ? route->hr_pattern : "", rq->rq_method, done,
                            http_clock_us() - rq->rq_start_us);
    }
    http_conn_mark(srv, conn, 0);
    pthread_mutex_lock(&srv->hs_mutex);
    http_wait_unlink(srv, rq);
    srv->hs_inflight--;
    if (srv->hs_stopping)
        pthread_cond_broadcast(&srv->hs_cond);
    pthread_mutex_unlock(&srv->hs_mutex);
    http_request_free(rq);
}

/* Sums the bytes of the header lines as received ("name: value\r\n"). */
static enum MHD_Result http_count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                         size_t key_size, const char *value, size_t value_size)
{
    size_t *sum = cls;

    (void)kind;
    (void)key;
    (void)value;
    *sum += key_size + 2 + value_size + 2;
    return MHD_YES;
}

/* Returns 1 when the request announces a Content-Length over the body cap. */
static int http_content_length_over(const struct http_request *rq)
{
    const char *te = http_request_header(rq, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *cl = http_request_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long v;
    char *end;

    if (te || !cl || cl[0] < '0' || cl[0] > '9')
        return 0;
    errno = 0;
    v = strtoull(cl, &end, 10);
    if (errno == ERANGE)
        return 1;
    if (errno != 0 || *end != '\0')
        return 0; /* MHD refuses malformed values itself */
    return v > rq->rq_srv->hs_max_body;
}

/* First access-handler call: limits, then routing. */
static enum MHD_Result http_begin(struct http_request *rq, const char *method, const char *version)
{
    struct http_server *srv = rq->rq_srv;
    char msg[ROUTER_ERRMSG_MAX];
    size_t hbytes;
    enum err rc;

    rq->rq_phase = HTTP_PHASE_BODY;
    rq->rq_method = arena_strdup(&rq->rq_arena, method);
    if (!rq->rq_method) {
        rq->rq_method = "-";
        return http_answer_error(rq, 0, ERR_NOMEM, NULL);
    }
    if (rq->rq_target_len > srv->hs_max_url)
        return http_answer_error(rq, MHD_HTTP_URI_TOO_LONG, ERR_TOO_LARGE,
                                 "Request URI is too long");
    if (!rq->rq_target)
        return http_answer_error(rq, 0, ERR_NOMEM, NULL);
    hbytes = strlen(method) + 1 + rq->rq_target_len + 1 + strlen(version) + 2 + 2;
    (void)MHD_get_connection_values_n(rq->rq_conn, MHD_HEADER_KIND, http_count_header, &hbytes);
    if (hbytes > srv->hs_max_header)
        return http_answer_error(rq, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, ERR_TOO_LARGE,
                                 "Request header fields are too large");
    rc = router_path_decode(&rq->rq_arena, rq->rq_target, rq->rq_target_len, &rq->rq_path, msg,
                            sizeof(msg));
    if (rc == ERR_OK)
        rc = router_match(srv->hs_router, method, &rq->rq_path, &rq->rq_match);
    if (srv->hs_admit) {
        /* Every request counts, routed or not; an admitted one keeps its routing answer. */
        enum err admit = srv->hs_admit(rq, &rq->rq_retry_after);

        if (admit != ERR_OK)
            rc = admit;
    }
    if (http_content_length_over(rq))
        return http_answer_error(rq, 0, ERR_TOO_LARGE, "Request body is too large");
    if (rc != ERR_OK) {
        rq->rq_refuse = rc;
        if (rc == ERR_BAD_INPUT)
            rq->rq_refuse_msg = arena_strdup(&rq->rq_arena, msg);
    }
    if (log_enabled(LOG_DEBUG))
        log_msg(LOG_DEBUG, &rq->rq_scope, "%s %s received", rq->rq_method, rq->rq_log_path);
    return MHD_YES;
}

/* A body chunk: stored while under the cap and routed, else counted and dropped. */
static enum MHD_Result http_consume(struct http_request *rq, const char *data, size_t n)
{
    struct http_server *srv = rq->rq_srv;
    enum err rc;

    rq->rq_body_seen = n > SIZE_MAX - rq->rq_body_seen ? SIZE_MAX : rq->rq_body_seen + n;
    if (rq->rq_body_seen > srv->hs_max_body)
        rq->rq_body_over = 1;
    if (rq->rq_body_over || rq->rq_refuse != ERR_OK) {
        buf_free(&rq->rq_body);
        /* Read and drop at most another cap's worth, then give up on the connection. */
        return rq->rq_body_seen / 2 > srv->hs_max_body ? MHD_NO : MHD_YES;
    }
    rc = buf_add(&rq->rq_body, data, n);
    if (rc == ERR_TOO_LARGE)
        rq->rq_body_over = 1;
    else if (rc != ERR_OK)
        rq->rq_refuse = rc;
    return MHD_YES;
}

/* Runs the handler (again), suspending the connection when it defers. */
static enum MHD_Result http_run(struct http_request *rq)
{
    struct http_server *srv = rq->rq_srv;
    struct http_response *rs = &rq->rq_resp;
    const struct http_route *route = rq->rq_match.rm_route;
    enum err rc;

    if (rq->rq_body_over)
        return http_answer_error(rq, 0, ERR_TOO_LARGE, "Request body is too large");
    if (rq->rq_refuse != ERR_OK) {
        if (http_response_fail(rs, 0, rq->rq_refuse, rq->rq_refuse_msg) != ERR_OK)
            return MHD_NO;
        if (rq->rq_refuse == ERR_METHOD &&
            http_response_header(rs, MHD_HTTP_HEADER_ALLOW, rq->rq_match.rm_allow) != ERR_OK)
            return MHD_NO;
        if (rq->rq_refuse == ERR_RATE_LIMITED) {
            char secs[16];

            (void)snprintf(secs, sizeof(secs), "%u", rq->rq_retry_after ? rq->rq_retry_after : 1u);
            if (http_response_header(rs, "Retry-After", secs) != ERR_OK)
                return MHD_NO;
        }
        return http_queue(rq);
    }
    for (;;) {
        uint64_t gen;

        pthread_mutex_lock(&srv->hs_mutex);
        gen = srv->hs_gen;
        if (srv->hs_stopping && rq->rq_deadline != 0)
            rq->rq_expired = 1;
        pthread_mutex_unlock(&srv->hs_mutex);
        http_response_reset(rs);
        http_response_drop_headers(rs);
        rq->rq_wait_called = 0;
        rc = route->hr_handler(rq, rs);
        if (rc != HTTP_DEFERRED || !rq->rq_wait_called)
            break;
        if (rq->rq_expired) {
            log_msg(LOG_ERROR, &rq->rq_scope,
                    "http[%s]: handler for %s %s deferred after its "
                    "wait expired",
                    srv->hs_name, rq->rq_method, route->hr_pattern);
            rc = ERR_INTERNAL;
            break;
        }
        pthread_mutex_lock(&srv->hs_mutex);
        if (srv->hs_stopping || rq->rq_deadline <= http_clock_ms()) {
            rq->rq_expired = 1;
            pthread_mutex_unlock(&srv->hs_mutex);
            continue;
        }
        if (srv->hs_gen != gen) {
            /* A wake came after the handler's check began: check again now. */
            pthread_mutex_unlock(&srv->hs_mutex);
            continue;
        }
        MHD_suspend_connection(rq->rq_conn);
        rq->rq_linked = 1;
        rq->rq_wprev = NULL;
        rq->rq_wnext = srv->hs_waiting;
        if (srv->hs_waiting)
            srv->hs_waiting->rq_wprev = rq;
        srv->hs_waiting = rq;
        srv->hs_nwaiting++;
        pthread_cond_broadcast(&srv->hs_cond);
        pthread_mutex_unlock(&srv->hs_mutex);
        return MHD_YES;
    }
    if (rc == ERR_OK && rs->rs_status == 0) {
        log_msg(LOG_ERROR, &rq->rq_scope, "http[%s]: handler for %s %s returned no response",
                srv->hs_name, rq->rq_method, route->hr_pattern);
        rc = ERR_INTERNAL;
    }
    if (rc != ERR_OK) {
        const char *msg = rs->rs_err == rc ? rs->rs_errmsg : NULL;

        /* states the process reports once itself (a damaged volume being rebuilt, a full
           disk, not unlocked yet) would otherwise log a warning per request */
        if (err_http_status(rc) >= 500)
            log_msg(rc == ERR_CORRUPT || rc == ERR_NO_SPACE || rc == ERR_NOT_READY ? LOG_DEBUG
                                                                                   : LOG_WARN,
                    &rq->rq_scope, "http[%s]: %s %s failed: %s", srv->hs_name, rq->rq_method,
                    rq->rq_log_path, err_name(rc));
        if (http_response_fail(rs, 0, rc, msg) != ERR_OK)
            return MHD_NO;
    }
    return http_queue(rq);
}

/* Returns the struct http_conn MHD keeps for conn, or NULL. */
static struct http_conn *http_conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

/* The answer to a connection over the limit (plain HTTP only: TLS would need a handshake). */
static const char http_busy[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 60\r\n"
    "Connection: close\r\n"
    "Retry-After: 1\r\n\r\n"
    "{\"status\":503,\"message\":\"Too many connections, retry later\"}";

/*
 * MHD_OPTION_NOTIFY_CONNECTION: tracks open connections. A connection over hs_max_conns
 * gets 503 (plain HTTP) and is shut down at once, so that a client at the limit is refused
 * rather than left waiting in the listen backlog.
 */
static void http_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                               enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *srv = cls;
    struct http_conn *hc = *socket_context;
    const union MHD_ConnectionInfo *ci;

    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (!hc)
            return;
        pthread_mutex_lock(&srv->hs_mutex);
        if (hc->hc_prev)
            hc->hc_prev->hc_next = hc->hc_next;
        else
            srv->hs_conns = hc->hc_next;
        if (hc->hc_next)
            hc->hc_next->hc_prev = hc->hc_prev;
        srv->hs_nconns--;
        srv->hs_trim_due = 1; /* what its requests freed goes back after the burst too */
        pthread_mutex_unlock(&srv->hs_mutex);
        mem_free(hc);
        *socket_context = NULL;
        return;
    }
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    hc = mem_calloc(1, sizeof(*hc));
    if (!hc || !ci) {
        mem_free(hc);
        return; /* untracked: MHD's own limits and idle timeout still apply */
    }
    hc->hc_fd = ci->connect_fd;
    hc->hc_since_ms = http_clock_ms();
    pthread_mutex_lock(&srv->hs_mutex);
    hc->hc_next = srv->hs_conns;
    if (srv->hs_conns)
        srv->hs_conns->hc_prev = hc;
    srv->hs_conns = hc;
    srv->hs_nconns++;
    pthread_cond_broadcast(&srv->hs_cond); /* the timer now has a deadline to watch */
    if (srv->hs_nconns > srv->hs_nconns_high)
        srv->hs_nconns_high = srv->hs_nconns;
    if (srv->hs_nconns > srv->hs_max_conns) {
        hc->hc_cut = 1;
        srv->hs_cut_full++;
        if (!srv->hs_tls)
            (void)send(hc->hc_fd, http_busy, sizeof(http_busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)shutdown(hc->hc_fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&srv->hs_mutex);
    *socket_context = hc;
}

/* Marks conn's request as begun (headers complete) or finished. */
static void http_conn_mark(struct http_server *srv, struct MHD_Connection *conn, int in_request)
{
    struct http_conn *hc = conn ? http_conn_of(conn) : NULL;

    if (!hc)
        return;
    pthread_mutex_lock(&srv->hs_mutex);
    hc->hc_in_request = in_request;
    if (!in_request)
        hc->hc_since_ms = http_clock_ms();
    pthread_mutex_unlock(&srv->hs_mutex);
}

/*
 * Shuts down connections whose request headers did not all arrive within the header
 * deadline; returns when the next one is due (INT64_MAX: none). Under hs_mutex.
 */
static int64_t http_cut_slow(struct http_server *srv, int64_t now)
{
    struct http_conn *hc;
    int64_t next = INT64_MAX;

    for (hc = srv->hs_conns; hc; hc = hc->hc_next) {
        int64_t due = hc->hc_since_ms + srv->hs_header_ms;

        if (hc->hc_in_request || hc->hc_cut)
            continue;
        if (due <= now) {
            hc->hc_cut = 1;
            srv->hs_cut_slow++;
            (void)shutdown(hc->hc_fd, SHUT_RDWR);
        } else if (due < next) {
            next = due;
        }
    }
    if (srv->hs_nconns_high >= 512 && srv->hs_nconns * 8 < srv->hs_nconns_high) {
        /* a crowd has gone: give the heap it left behind back to the system */
        srv->hs_nconns_high = srv->hs_nconns;
        (void)malloc_trim(0);
    }
    return next;
}

/* The MHD access handler. */
static enum MHD_Result http_on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    struct http_request *rq = *con_cls;
    size_t n = *upload_data_size;

    (void)cls;
    (void)conn;
    (void)url;
    if (!rq)
        return MHD_NO; /* the request object could not be allocated */
    *upload_data_size = 0;
    switch (rq->rq_phase) {
    case HTTP_PHASE_NEW:
        http_conn_mark(rq->rq_srv, conn, 1);
        return http_begin(rq, method, version);
    case HTTP_PHASE_BODY:
        if (n > 0)
            return http_consume(rq, upload_data, n);
        rq->rq_phase = HTTP_PHASE_RUN;
        return http_run(rq);
    case HTTP_PHASE_RUN:
        return http_run(rq); /* resumed after a wait */
    case HTTP_PHASE_DONE:
        return MHD_YES;
    }
    return MHD_NO;
}

/* ---- long-poll ---- */

/* Resumes every waiting request (expired says why); under hs_mutex. */
static void http_resume_all(struct http_server *srv, int expired)
{
    while (srv->hs_waiting) {
        struct http_request *rq = srv->hs_waiting;
        struct MHD_Connection *conn = rq->rq_conn;

        http_wait_unlink(srv, rq);
        if (expired)
            rq->rq_expired = 1;
        MHD_resume_connection(conn);
    }
}

/* The timer thread: resumes waiting requests whose deadline passed. */
static void *http_timer_main(void *arg)
{
    struct http_server *srv = arg;

    pthread_mutex_lock(&srv->hs_mutex);
    srv->hs_trimmed_ms = http_clock_ms();
    while (!srv->hs_timer_exit) {
        int64_t now = http_clock_ms(), next = http_cut_slow(srv, now);
        struct http_request *rq = srv->hs_waiting;

        if ((srv->hs_conns || srv->hs_trim_due) &&
            now - srv->hs_trimmed_ms >= HTTP_TRIM_INTERVAL_MS) {
            /* Memory freed by the handlers stays in glibc's arenas, fragmented, and RSS
               creeps up under endless polling; give the free pages back (not under the
               lock: it takes a few ms). */
            srv->hs_trimmed_ms = now;
            srv->hs_trim_due = 0;
            pthread_mutex_unlock(&srv->hs_mutex);
            (void)malloc_trim(0);
            pthread_mutex_lock(&srv->hs_mutex);
            continue;
        }

        while (rq) {
            struct http_request *nx = rq->rq_wnext;

            if (rq->rq_deadline <= now) {
                struct MHD_Connection *conn = rq->rq_conn;

                http_wait_unlink(srv, rq);
                rq->rq_expired = 1;
                MHD_resume_connection(conn);
            } else if (rq->rq_deadline < next) {
                next = rq->rq_deadline;
            }
            rq = nx;
        }
        if (next != INT64_MAX && next - now > 1000)
            next = now + 1000; /* connections opened meanwhile get their deadline looked at */
        if (next == INT64_MAX && !srv->hs_conns && srv->hs_trim_due)
            next = srv->hs_trimmed_ms + HTTP_TRIM_INTERVAL_MS; /* the trim after a burst */
        if (next == INT64_MAX && !srv->hs_conns) {
            pthread_cond_wait(&srv->hs_cond, &srv->hs_mutex);
        } else {
            if (next == INT64_MAX)
                next = now + 1000;
            struct timespec ts;

            http_ms_to_timespec(next, &ts);
            (void)pthread_cond_timedwait(&srv->hs_cond, &srv->hs_mutex, &ts);
        }
    }
    pthread_mutex_unlock(&srv->hs_mutex);
    return NULL;
}

/* Wakes every waiting request. */
void http_server_wake(struct http_server *srv)
{
    pthread_mutex_lock(&srv->hs_mutex);
    srv->hs_gen++;
    http_resume_all(srv, 0);
    pthread_mutex_unlock(&srv->hs_mutex);
}

/* Returns the number of waiting requests. */
size_t http_server_waiting(struct http_server *srv)
{
    size_t n;

    pthread_mutex_lock(&srv->hs_mutex);
    n = srv->hs_nwaiting;
    pthread_mutex_unlock(&srv->hs_mutex);
    return n;
}

/* ---- start and stop ---- */

/* Fills cfg with the defaults. */
void http_server_config_init(struct http_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->hc_name = "http";
    cfg->hc_addr = "127.0.0.1";
    cfg->hc_threads = HTTP_THREADS;
    cfg->hc_max_header_bytes = HTTP_MAX_HEADER_BYTES;
    cfg->hc_max_body_bytes = HTTP_MAX_BODY_BYTES;
    cfg->hc_max_url_bytes = HTTP_MAX_URL_BYTES;
    cfg->hc_max_connections = HTTP_MAX_CONNECTIONS;
    cfg->hc_max_per_ip = HTTP_MAX_PER_IP;
    cfg->hc_timeout_seconds = HTTP_TIMEOUT_SECONDS;
    cfg->hc_stop_grace_ms = HTTP_STOP_GRACE_MS;
}

/* Parses the listen address into ss. Returns ERR_OK or ERR_CONFIG. */
static enum err http_parse_addr(const char *addr, int port, struct sockaddr_storage *ss,
                                socklen_t *sslen)
{
    char host[INET6_ADDRSTRLEN + 2];
    size_t n;
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (!addr || !addr[0])
        addr = "0.0.0.0";
    else if (strcmp(addr, "localhost") == 0)
        addr = "127.0.0.1";
    n = strlen(addr);
    if (n >= sizeof(host))
        return ERR_CONFIG;
    if (addr[0] == '[') {
        if (n < 3 || addr[n - 1] != ']')
            return ERR_CONFIG;
        memcpy(host, addr + 1, n - 2);
        host[n - 2] = '\0';
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
            return ERR_CONFIG;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *sslen = sizeof(*sin6);
        return ERR_OK;
    }
    memcpy(host, addr, n + 1);
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *sslen = sizeof(*sin);
        return ERR_OK;
    }
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *sslen = sizeof(*sin6);
        return ERR_OK;
    }
    return ERR_CONFIG;
}

/* Creates, binds and listens; sets hs_listen_fd and hs_port. ERR_OK, ERR_CONFIG or ERR_IO. */
static enum err http_listen(struct http_server *srv, const char *addr, int port, int *v6)
{
    struct sockaddr_storage ss, got;
    socklen_t sslen = 0, glen = sizeof(got);
    const char *why = NULL;
    int fd, one = 1;

    if (port < 0 || port > 65535 || http_parse_addr(addr, port, &ss, &sslen) != ERR_OK) {
        log_msg(LOG_ERROR, NULL, "http[%s]: invalid listen address or port", srv->hs_name);
        return ERR_CONFIG;
    }
    *v6 = ss.ss_family == AF_INET6;
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        why = "socket";
        goto fail;
    }
    srv->hs_listen_fd = fd;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
        why = "setsockopt";
        goto fail;
    }
    if (*v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
        why = "setsockopt";
        goto fail;
    }
    if (bind(fd, (struct sockaddr *)&ss, sslen) != 0) {
        why = "bind";
        goto fail;
    }
    if (listen(fd, SOMAXCONN) != 0) {
        why = "listen";
        goto fail;
    }
    memset(&got, 0, sizeof(got));
    if (getsockname(fd, (struct sockaddr *)&got, &glen) != 0) {
        why = "getsockname";
        goto fail;
    }
    srv->hs_port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                   : ((struct sockaddr_in *)&got)->sin_port);
    return ERR_OK;
fail:
    log_msg(LOG_ERROR, NULL, "http[%s]: cannot listen on %s port %d: %s failed (%s)", srv->hs_name,
            addr && addr[0] ? addr : "0.0.0.0", port, why,
            strerrorname_np(errno) ? strerrorname_np(errno) : "?");
    return ERR_IO;
}

/* Frees whatever part of srv exists (MHD already stopped). */
static void http_server_free(struct http_server *srv)
{
    size_t i;

    if (srv->hs_timer_started) {
        pthread_mutex_lock(&srv->hs_mutex);
        srv->hs_timer_exit = 1;
        pthread_cond_broadcast(&srv->hs_cond);
        pthread_mutex_unlock(&srv->hs_mutex);
        pthread_join(srv->hs_timer, NULL);
    }
    if (srv->hs_listen_fd >= 0)
        close(srv->hs_listen_fd);
    if (srv->hs_sync_ready) {
        pthread_cond_destroy(&srv->hs_cond);
        pthread_mutex_destroy(&srv->hs_mutex);
    }
    for (i = 0; i < srv->hs_nheaders; i++) {
        mem_free((void *)(uintptr_t)srv->hs_headers[i].hh_name);
        mem_free((void *)(uintptr_t)srv->hs_headers[i].hh_value);
    }
    router_free(srv->hs_router);
    if (srv->hs_tls)
        tls_server_release();
    mem_free(srv);
}

/* Validates and copies the limits and headers of cfg into srv. ERR_OK, ERR_CONFIG, ERR_NOMEM. */
static enum err http_server_configure(struct http_server *srv, const struct http_server_config *cfg)
{
    size_t i;

    srv->hs_max_header =
        cfg->hc_max_header_bytes ? cfg->hc_max_header_bytes : HTTP_MAX_HEADER_BYTES;
    srv->hs_max_body = cfg->hc_max_body_bytes ? cfg->hc_max_body_bytes : HTTP_MAX_BODY_BYTES;
    srv->hs_max_url = cfg->hc_max_url_bytes ? cfg->hc_max_url_bytes : HTTP_MAX_URL_BYTES;
    srv->hs_grace_ms = cfg->hc_stop_grace_ms ? cfg->hc_stop_grace_ms : HTTP_STOP_GRACE_MS;
    srv->hs_max_conns = cfg->hc_max_connections ? cfg->hc_max_connections : HTTP_MAX_CONNECTIONS;
    srv->hs_header_ms =
        1000u * (cfg->hc_timeout_seconds ? cfg->hc_timeout_seconds : HTTP_TIMEOUT_SECONDS);
    srv->hs_on_complete = cfg->hc_on_complete;
    srv->hs_admit = cfg->hc_admit;
    srv->hs_context = cfg->hc_context;
    if (srv->hs_max_header < HTTP_MIN_HEADER || srv->hs_max_header > HTTP_MAX_HEADER_CFG ||
        srv->hs_max_body > CONFIG_MAX_BODY_BYTES || srv->hs_max_url < HTTP_MIN_URL ||
        srv->hs_max_url > srv->hs_max_header || cfg->hc_threads > HTTP_MAX_THREADS) {
        log_msg(LOG_ERROR, NULL, "http[%s]: a limit is out of range", srv->hs_name);
        return ERR_CONFIG;
    }
    if (cfg->hc_nheaders > HTTP_MAX_EXTRA_HEADERS || (cfg->hc_nheaders > 0 && !cfg->hc_headers)) {
        log_msg(LOG_ERROR, NULL, "http[%s]: too many extra headers", srv->hs_name);
        return ERR_CONFIG;
    }
    for (i = 0; i < cfg->hc_nheaders; i++) {
        const struct http_header *h = &cfg->hc_headers[i];
        char *name, *value;

        if (!http_header_ok(h->hh_name, h->hh_value) || http_header_reserved(h->hh_name)) {
            log_msg(LOG_ERROR, NULL, "http[%s]: extra header %zu is invalid", srv->hs_name, i);
            return ERR_CONFIG;
        }
        name = mem_strdup(h->hh_name);
        value = mem_strdup(h->hh_value);
        if (!name || !value) {
            mem_free(name);
            mem_free(value);
            return ERR_NOMEM;
        }
        srv->hs_headers[i].hh_name = name;
        srv->hs_headers[i].hh_value = value;
        srv->hs_nheaders = i + 1;
    }
    return ERR_OK;
}

/* Starts a server. See server.h. */
enum err http_server_start(struct http_server **out, const struct http_server_config *cfg)
{
    struct http_server *srv;
    pthread_condattr_t ca;
    struct MHD_OptionItem tls_opts[3];
    char msg[ROUTER_ERRMSG_MAX], tls_msg[256];
    void (*tls_cb)(void);
    unsigned threads, flags;
    int v6 = 0;
    enum err rc;

    *out = NULL;
    memset(tls_opts, 0, sizeof(tls_opts));
    tls_opts[0].option = MHD_OPTION_END;
    srv = mem_calloc(1, sizeof(*srv));
    if (!srv)
        return ERR_NOMEM;
    srv->hs_listen_fd = -1;
    (void)snprintf(srv->hs_name, sizeof(srv->hs_name), "%s",
                   cfg->hc_name && cfg->hc_name[0] ? cfg->hc_name : "http");
    if (cfg->hc_tls_cert_file || cfg->hc_tls_key_file) {
        rc = tls_server_install(cfg->hc_tls_cert_file, cfg->hc_tls_key_file, tls_msg,
                                sizeof(tls_msg));
        if (rc != ERR_OK) {
            log_msg(LOG_ERROR, NULL, "http[%s]: %s", srv->hs_name, tls_msg);
            goto out;
        }
        srv->hs_tls = 1;
        tls_cb = tls_server_cert_callback();
        memcpy(&tls_opts[0].ptr_value, &tls_cb, sizeof(tls_opts[0].ptr_value));
        tls_opts[0].option = MHD_OPTION_HTTPS_CERT_CALLBACK;
        tls_opts[1].option = MHD_OPTION_HTTPS_PRIORITIES;
        tls_opts[1].ptr_value = (void *)(uintptr_t)tls_server_priorities();
        tls_opts[2].option = MHD_OPTION_END;
    }
    rc = http_server_configure(srv, cfg);
    if (rc != ERR_OK)
        goto out;
    rc = router_new(&srv->hs_router, cfg->hc_routes, cfg->hc_nroutes, msg, sizeof(msg));
    if (rc != ERR_OK) {
        log_msg(LOG_ERROR, NULL, "http[%s]: %s", srv->hs_name,
                rc == ERR_NOMEM ? "out of memory" : msg);
        goto out;
    }
    if (pthread_condattr_init(&ca) != 0) {
        rc = ERR_NOMEM;
        goto out;
    }
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_mutex_init(&srv->hs_mutex, NULL) != 0) {
        pthread_condattr_destroy(&ca);
        rc = ERR_NOMEM;
        goto out;
    }
    if (pthread_cond_init(&srv->hs_cond, &ca) != 0) {
        pthread_mutex_destroy(&srv->hs_mutex);
        pthread_condattr_destroy(&ca);
        rc = ERR_NOMEM;
        goto out;
    }
    pthread_condattr_destroy(&ca);
    srv->hs_sync_ready = 1;
    rc = http_listen(srv, cfg->hc_addr, cfg->hc_port, &v6);
    if (rc != ERR_OK)
        goto out;
    if (pthread_create(&srv->hs_timer, NULL, http_timer_main, srv) != 0) {
        log_msg(LOG_ERROR, NULL, "http[%s]: cannot start the timer thread", srv->hs_name);
        rc = ERR_IO;
        goto out;
    }
    srv->hs_timer_started = 1;
    threads = cfg->hc_threads ? cfg->hc_threads : HTTP_THREADS;
    flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    if (srv->hs_tls)
        flags |= MHD_USE_TLS;
    /* SIGPIPE: MHD suppresses it itself on the threads it starts (MSG_NOSIGNAL), and
     * MHD_OPTION_SIGPIPE_HANDLED_BY_APP is only valid without an internal thread. */
    srv->hs_daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, http_on_access, srv, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, srv,
        MHD_OPTION_LISTEN_SOCKET, srv->hs_listen_fd, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(srv->hs_max_conns + HTTP_REFUSE_MARGIN),
        MHD_OPTION_NOTIFY_CONNECTION, http_on_connection, srv, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        cfg->hc_max_per_ip ? cfg->hc_max_per_ip : HTTP_MAX_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
        cfg->hc_timeout_seconds ? cfg->hc_timeout_seconds : HTTP_TIMEOUT_SECONDS,
        /* MHD's per-connection pool: headers are checked exactly against hs_max_header by
         * http_begin; the pool is twice that, for MHD's bookkeeping and the reply. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)2 * srv->hs_max_header,
        MHD_OPTION_URI_LOG_CALLBACK, http_on_uri, srv, MHD_OPTION_NOTIFY_COMPLETED,
        http_on_completed, srv, MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!srv->hs_daemon) {
        log_msg(LOG_ERROR, NULL, "http[%s]: libmicrohttpd would not start", srv->hs_name);
        rc = ERR_IO;
        goto out;
    }
    srv->hs_listen_fd = -1; /* MHD owns it now */
    log_msg(LOG_INFO, NULL, "http[%s]: listening on port %d%s", srv->hs_name, srv->hs_port,
            srv->hs_tls ? " (https)" : "");
    *out = srv;
    srv = NULL;
out:
    if (srv)
        http_server_free(srv);
    return rc;
}

/* Reloads the TLS files. See server.h. */
enum err http_server_tls_reload(struct http_server *srv, char *errmsg, size_t errcap)
{
    if (!srv || !srv->hs_tls)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "this server does not serve TLS");
    return tls_server_reload(errmsg, errcap);
}

/* Returns 1 for an HTTPS server. */
int http_server_is_tls(const struct http_server *srv)
{
    return srv && srv->hs_tls;
}

/* Returns the listening port. */
int http_server_port(const struct http_server *srv)
{
    return srv->hs_port;
}

/* Stops the server. See server.h. */
void http_server_stop(struct http_server *srv)
{
    MHD_socket fd;
    int64_t until;

    if (!srv)
        return;
    /* No new connections; the listening socket is ours again. */
    fd = MHD_quiesce_daemon(srv->hs_daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    pthread_mutex_lock(&srv->hs_mutex);
    srv->hs_stopping = 1;
    http_resume_all(srv, 1);
    until = http_clock_ms() + srv->hs_grace_ms;
    while (srv->hs_inflight > 0) {
        struct timespec ts;

        if (http_clock_ms() >= until)
            break;
        http_ms_to_timespec(until, &ts);
        (void)pthread_cond_timedwait(&srv->hs_cond, &srv->hs_mutex, &ts);
    }
    if (srv->hs_inflight > 0)
        log_msg(LOG_WARN, NULL, "http[%s]: stopping with %zu requests in flight", srv->hs_name,
                srv->hs_inflight);
    pthread_mutex_unlock(&srv->hs_mutex);
    MHD_stop_daemon(srv->hs_daemon);
    srv->hs_daemon = NULL;
    log_msg(LOG_INFO, NULL, "http[%s]: stopped", srv->hs_name);
    http_server_free(srv);
}
