/*
 * server.h - the HTTP layer of every Sesame server (hub, Connect api, sync health port):
 * a small wrapper over GNU libmicrohttpd 0.9.75 with routing (http/router.h), capped
 * request bodies, Connect-shaped JSON errors, per-request arenas, request logging in
 * Connect's shape, and long-poll support. docs/http.md describes what it guarantees.
 *
 * A handler (struct http_route in router.h) runs on one of the server's pool threads. It
 * reads the request through the http_request_* accessors and either fills the response
 * with one of the http_respond_* helpers and returns ERR_OK, or returns an error: the
 * server then answers {"status": err_http_status(e), "message": ...} (common/err.h), with
 * the message given to http_respond_error() or err_message(e). Messages never echo
 * request data.
 *
 * Long-poll: a handler that has nothing to say yet returns http_request_wait(req, deadline).
 * The connection is suspended (no pool thread is held) and the same handler is called
 * again when http_server_wake() is called or the deadline passes
 * (http_request_wait_expired() then says so), or when the server stops.
 */
#ifndef SESAME_HTTP_SERVER_H
#define SESAME_HTTP_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "http/router.h"

/*
 * Returned by a handler (through http_request_wait) to be called again later. Not an
 * enum err value: err_http_status() maps it to 500, so a handler returning it without
 * calling http_request_wait() gets a 500.
 */
#define HTTP_DEFERRED ((enum err)0x4000)

#define HTTP_MAX_RESPONSE_BYTES (256u << 20) /* one response body built in memory */
#define HTTP_ERRMSG_MAX         512          /* an error message set by a handler */
#define HTTP_MAX_EXTRA_HEADERS  16           /* configured headers added to every response */
#define HTTP_STOP_GRACE_MS      5000         /* how long stop waits for requests in flight */

/* A response header (name and value, NUL-terminated). */
struct http_header {
    const char *hh_name;
    const char *hh_value;
};

/*
 * Server configuration. Zero numeric fields take the defaults of common/limits.h;
 * http_server_config_init() fills them in explicitly. Strings and arrays are copied by
 * http_server_start(), so the configuration may be freed afterwards.
 */
struct http_server_config {
    const char *hc_name;                /* for logs: "api", "hub", "sync" (NULL: "http") */
    const char *hc_addr;                /* IPv4 or IPv6 literal (brackets allowed), "localhost"
                                           (= 127.0.0.1); NULL or "" = 0.0.0.0 */
    int hc_port;                        /* 0..65535; 0 = ephemeral (see http_server_port) */
    const struct http_route *hc_routes; /* the route table (router.h) */
    size_t hc_nroutes;
    void *hc_context;            /* user pointer, see http_request_context() */
    unsigned hc_threads;         /* handler threads (HTTP_THREADS) */
    size_t hc_max_header_bytes;  /* request line + headers (HTTP_MAX_HEADER_BYTES) */
    size_t hc_max_body_bytes;    /* request body (HTTP_MAX_BODY_BYTES) */
    size_t hc_max_url_bytes;     /* request target with the query (HTTP_MAX_URL_BYTES) */
    unsigned hc_max_connections; /* open connections (HTTP_MAX_CONNECTIONS) */
    unsigned hc_max_per_ip;      /* open connections per client address (HTTP_MAX_PER_IP) */
    unsigned hc_timeout_seconds; /* idle / slow client (HTTP_TIMEOUT_SECONDS) */
    unsigned hc_stop_grace_ms;   /* http_server_stop's wait for requests (HTTP_STOP_GRACE_MS) */
    const struct http_header *hc_headers; /* added to every response, e.g. */
    size_t hc_nheaders;                   /* 1Password-Connect-Version (<= 16) */
    /*
     * Called once per completed request (NULL: none), on an MHD thread, after the log
     * line: the matched route pattern ("" when no route matched), the method, the status
     * sent (0 when the response never completed) and the time from the first byte to the
     * end in microseconds. Used for metrics; must be quick and thread-safe.
     */
    void (*hc_on_complete)(void *ctx, const char *route, const char *method, int status,
                           int64_t elapsed_us);
    /*
     * Admission (NULL: every request): called once per request, routed or not, after its headers
     * and before its body is read or its handler runs, with the request (its client
     * address, context). ERR_OK lets it in; any other error is answered as that error
     * without running the handler, ERR_RATE_LIMITED as 429 with Retry-After set to
     * *retry_after_s (at least 1). Must be quick and thread-safe.
     */
    enum err (*hc_admit)(struct http_request *req, unsigned *retry_after_s);
    /*
     * TLS (crypto/tls.h): both set = HTTPS only on this port, TLS 1.2+ with AEAD ciphers;
     * PEM files, the certificate chain leaf first. One set of files per process.
     */
    const char *hc_tls_cert_file;
    const char *hc_tls_key_file;
};

struct http_server;
struct http_request;
struct http_response;

/* Fills cfg with the defaults of limits.h (no routes, address 127.0.0.1, port 0). */
void http_server_config_init(struct http_server_config *cfg);

/*
 * Binds the listening socket, compiles the routes and starts the server threads.
 * Returns ERR_OK (*out owned by the caller, stopped with http_server_stop), ERR_CONFIG
 * (bad address, port, limit, route table or header; unusable TLS files), ERR_IO (the socket
 * could not be bound or MHD would not start) or ERR_NOMEM. The reason is logged.
 */
enum err http_server_start(struct http_server **out,
                           const struct http_server_config *cfg) SESAME_WUR;

/*
 * Reads the TLS certificate and key files again (SIGHUP): later handshakes use them; on
 * error the old ones stay and errmsg says why. Returns ERR_OK, ERR_CONFIG (not a TLS
 * server, or unusable files) or ERR_NOMEM.
 */
enum err http_server_tls_reload(struct http_server *srv, char *errmsg, size_t errcap) SESAME_WUR;

/* Returns 1 when srv serves HTTPS. */
int http_server_is_tls(const struct http_server *srv);

/* Returns the TCP port the server listens on (the real one when 0 was asked for). */
int http_server_port(const struct http_server *srv);

/*
 * Wakes every request waiting in http_request_wait(): each handler is called again and
 * re-checks its condition. Call it after the change the waiters look for is visible.
 * Safe from any thread, including handlers.
 */
void http_server_wake(struct http_server *srv);

/* Returns how many requests are suspended in http_request_wait() right now. */
size_t http_server_waiting(struct http_server *srv);

/*
 * Stops the server: stops accepting, calls every waiting handler once more with
 * http_request_wait_expired() true, waits up to the stop grace for requests in flight to
 * finish, then stops MHD and frees everything. NULL is fine. No other thread may use srv
 * (http_server_wake included) once stop has begun.
 */
void http_server_stop(struct http_server *srv);

/* Returns a monotonic clock in milliseconds, the clock of http_request_wait deadlines. */
int64_t http_clock_ms(void);

/* Returns the same monotonic clock in microseconds. */
int64_t http_clock_us(void);

/* ---- the request, for handlers ---- */

/* Returns the request method ("GET", ...), as sent. */
const char *http_request_method(const struct http_request *req);

/* Returns the decoded, normalised path (no trailing slash, no query). */
const char *http_request_path(const struct http_request *req);

/* Returns the raw query string (after '?', not decoded; "" if none); *len gets its length. */
const char *http_request_query(const struct http_request *req, size_t *len);

/*
 * Returns the request target exactly as sent (raw path and "?query", not decoded), e.g.
 * for a request signature; *len (may be NULL) gets its length. Never NULL.
 */
const char *http_request_target(const struct http_request *req, size_t *len);

/* Returns the decoded value of path parameter name ("vaultUuid"), or NULL. */
const char *http_request_param(const struct http_request *req, const char *name);

/*
 * Returns the value of request header name (case-insensitive; the first one if repeated),
 * or NULL when absent or when the value holds a NUL byte. Valid until the request ends.
 */
const char *http_request_header(const struct http_request *req, const char *name);

/* Returns the request body ("" when empty, NUL-terminated); *len gets its length. */
const char *http_request_body(const struct http_request *req, size_t *len);

/*
 * Parses the body as JSON into *out (caller owns it: json_decref): nesting at most
 * JSON_MAX_DEPTH, valid UTF-8, no duplicate keys, an object or an array at the top.
 * A body larger than HTTP_MAX_BODY_BYTES (possible when the server's hc_max_body_bytes is
 * larger, e.g. the hub's, for raw file uploads) is ERR_TOO_LARGE (413).
 * Returns ERR_OK, ERR_BAD_JSON or ERR_TOO_LARGE with a client-safe message in errmsg
 * (errcap bytes, may be NULL), or ERR_NOMEM.
 */
enum err http_request_json(const struct http_request *req, json_t **out, char *errmsg,
                           size_t errcap) SESAME_WUR;

/* Returns the request's arena: memory from it is freed when the request completes. */
struct arena *http_request_arena(struct http_request *req);

/* Returns the server-generated request id (an RFC 4122 UUID, as in Connect's logs). */
const char *http_request_id(const struct http_request *req);

/* Returns the client's address as a numeric string ("127.0.0.1", "::1"). */
const char *http_request_client_ip(const struct http_request *req);

/* Returns the log scope of the request (request_id, and jti once set). */
const struct log_scope *http_request_log_scope(const struct http_request *req);

/*
 * Records the token id (never the token) for the request's log lines. Copies jti.
 * Returns ERR_OK or ERR_NOMEM.
 */
enum err http_request_set_jti(struct http_request *req, const char *jti) SESAME_WUR;

/* Returns the hc_context pointer of the server configuration. */
void *http_request_context(const struct http_request *req);

/* Returns the handler's own per-request pointer (NULL at first; kept across waits). */
void *http_request_state(const struct http_request *req);

/* Sets the handler's per-request pointer (typically memory from the request's arena). */
void http_request_set_state(struct http_request *req, void *state);

/*
 * Asks to be called again later; the handler must return the value returned here
 * (HTTP_DEFERRED). deadline_ms is on http_clock_ms(); the handler is called again on
 * http_server_wake(), at the deadline (http_request_wait_expired() then returns 1), or
 * when the server stops (likewise expired). A handler called with the wait expired must
 * answer: deferring again then is a bug, answered 500.
 */
enum err http_request_wait(struct http_request *req, int64_t deadline_ms);

/* Returns 1 when the handler is called because its wait deadline passed (or on stop). */
int http_request_wait_expired(const struct http_request *req);

/* Returns the deadline of the last http_request_wait() of this request, or 0. */
int64_t http_request_wait_deadline(const struct http_request *req);

/* ---- the response, for handlers ---- */

/*
 * Answers status (200..599) with body serialised compactly as application/json. Steals
 * body (always released). Returns ERR_OK, ERR_INTERNAL (bad status or body NULL),
 * ERR_TOO_LARGE (over HTTP_MAX_RESPONSE_BYTES) or ERR_NOMEM.
 */
enum err http_respond_json(struct http_response *resp, int status, json_t *body) SESAME_WUR;

/*
 * http_respond_text with the bytes of body taken, not copied (a 1 MB file is not held
 * twice): body is left empty, also on failure. Returns ERR_OK, ERR_INTERNAL (a bad status
 * or type), ERR_TOO_LARGE (over HTTP_MAX_RESPONSE_BYTES) or ERR_NOMEM.
 */
enum err http_respond_buf(struct http_response *resp, int status, const char *content_type,
                          struct buf *body) SESAME_WUR;

/*
 * Answers status (200..599) with len bytes of data (copied) as content_type (a header
 * value without CR/LF). Returns ERR_OK, ERR_INTERNAL, ERR_TOO_LARGE or ERR_NOMEM.
 */
enum err http_respond_text(struct http_response *resp, int status, const char *content_type,
                           const void *data, size_t len) SESAME_WUR;

/* Returns the body answered so far (NULL when none), its length in *len. */
const char *http_response_body(const struct http_response *resp, size_t *len);

/* Answers status (usually 204) with no body. Returns ERR_OK or ERR_INTERNAL (bad status). */
enum err http_respond_empty(struct http_response *resp, int status) SESAME_WUR;

/*
 * Adds a response header (copied). The layer's own headers (Content-Type, Content-Length,
 * Connection, Transfer-Encoding, Date) are refused, as are names that are not HTTP tokens
 * and values with CR, LF or NUL. Headers are kept on error responses too (e.g.
 * WWW-Authenticate on a 401). Returns ERR_OK, ERR_INTERNAL or ERR_NOMEM.
 */
enum err http_response_header(struct http_response *resp, const char *name,
                              const char *value) SESAME_WUR;

/*
 * Sets the message of the error the handler is about to return (copied; at most
 * HTTP_ERRMSG_MAX bytes, cut at a character boundary; invalid UTF-8 falls back to
 * err_message(e)) and returns e, so that a handler can `return http_respond_error(resp,
 * ERR_NOT_FOUND, "vault not found");`. msg must never hold request data. A body set
 * earlier is dropped.
 */
enum err http_respond_error(struct http_response *resp, enum err e, const char *msg);

#endif
