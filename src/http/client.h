/*
 * client.h - the HTTP client of sync (to the hub) and of the CLI (to the hub, and to any
 * Connect server named by OP_CONNECT_HOST), over libcurl. docs/http-client.md.
 *
 * One struct http_client per thread: it wraps one curl easy handle, so consecutive
 * requests reuse the kept-alive connection. The process calls http_client_global_init()
 * once before any thread starts and http_client_global_cleanup() once at exit.
 *
 * What is never written anywhere (error messages, logs): request or response bodies,
 * header values (the Authorization header above all), query strings, URL credentials.
 */
#ifndef SESAME_HTTP_CLIENT_H
#define SESAME_HTTP_CLIENT_H

#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"

/* Defaults and bounds (docs/http-client.md). */
#define HTTP_CLIENT_DEFAULT_CONNECT_TIMEOUT_MS 10000L      /* TCP + TLS handshake */
#define HTTP_CLIENT_DEFAULT_TIMEOUT_MS         30000L      /* a whole request */
#define HTTP_CLIENT_MAX_TIMEOUT_MS             3600000L    /* ceiling of any timeout: 1 h */
#define HTTP_CLIENT_DEFAULT_MAX_BODY_BYTES     (16u << 20) /* response body */
#define HTTP_CLIENT_MAX_RESPONSE_HEADER_BYTES  (64u << 10) /* all response headers, stored */
#define HTTP_CLIENT_MAX_HEADERS                16          /* request headers per request */
#define HTTP_CLIENT_MAX_HEADER_BYTES           8192        /* one request header line */
#define HTTP_CLIENT_MAX_BEARER_BYTES           8192        /* = JWS_MAX_TOKEN_BYTES */
#define HTTP_CLIENT_ERRMSG_BYTES               256         /* hr_errmsg */
#define HTTP_CLIENT_USER_AGENT                 "sesame/" SESAME_VERSION

enum http_client_method {
    HTTP_CLIENT_GET = 0,
    HTTP_CLIENT_POST,
    HTTP_CLIENT_PUT,
    HTTP_CLIENT_PATCH,
    HTTP_CLIENT_DELETE,
};

struct http_client_config {
    const char *hcc_base_url;    /* http:// or https:// origin, optional path prefix */
    long hcc_connect_timeout_ms; /* 0: HTTP_CLIENT_DEFAULT_CONNECT_TIMEOUT_MS */
    long hcc_timeout_ms;         /* whole request; 0: HTTP_CLIENT_DEFAULT_TIMEOUT_MS */
    size_t hcc_max_body;         /* response body cap; 0: HTTP_CLIENT_DEFAULT_MAX_BODY_BYTES */
    const char *hcc_ca_file;     /* PEM bundle to trust instead of the system store; NULL */
    const char *hcc_pin;         /* "sha256//<base64 SHA-256 of the SPKI>"[;...]; NULL */
    const char *hcc_cert_sha256; /* 64 hex digits: accept exactly the server certificate
                                    with this SHA-256 and no other (the credentials file's
                                    hub.tlsFingerprint); https only; NULL */
    const char *hcc_proxy;       /* NULL: curl's environment variables; "": none; else URL */
};

struct http_client_header {
    const char *hh_name;  /* token characters only */
    const char *hh_value; /* no CR, LF or NUL; not empty */
};

struct http_client_request {
    enum http_client_method hq_method;
    const char *hq_path; /* "/..." with an optional "?query" (callers escape the values) */
    const struct http_client_header *hq_headers; /* hq_nheaders entries; may be NULL */
    size_t hq_nheaders;
    const void *hq_body; /* hq_body_len bytes; not allowed with GET */
    size_t hq_body_len;
    long hq_timeout_ms; /* 0: the client's total timeout */
    size_t hq_max_body; /* 0: the client's body cap */
};

struct http_client_response {
    int hr_status;                            /* final HTTP status; 0 when none arrived */
    struct buf hr_body;                       /* capped; empty after an error */
    struct buf hr_headers;                    /* private: "name\0value\0" pairs */
    char hr_errmsg[HTTP_CLIENT_ERRMSG_BYTES]; /* why the request failed; "" on ERR_OK */
};

struct http_client;

/*
 * Initialises libcurl (with an allocator that wipes every block it frees, so request
 * headers and response bytes do not outlive their use in the heap) and crypto (for the
 * secure memory holding bearer tokens). Call once before any thread starts; each call
 * must be paired with http_client_global_cleanup(). Returns ERR_OK or ERR_INTERNAL.
 */
enum err http_client_global_init(void) SESAME_WUR;

/* Releases what http_client_global_init() set up (the last call does the work). */
void http_client_global_cleanup(void);

/*
 * Creates a client for cfg->hcc_base_url. The base URL must be http:// or https://, with
 * a host, without user:password, query or fragment; a trailing '/' is dropped. *out is
 * NULL on entry and on error; the caller frees a client with http_client_free(). errmsg
 * (errcap bytes, may be NULL) says what was wrong. Returns ERR_OK, ERR_CONFIG (bad base
 * URL, timeout, pin, certificate fingerprint, CA file or proxy; or
 * http_client_global_init() not called) or
 * ERR_NOMEM.
 */
enum err http_client_new(struct http_client **out, const struct http_client_config *cfg,
                         char *errmsg, size_t errcap) SESAME_WUR;

/* Closes the client's connections, wipes its bearer token and frees it. NULL is fine. */
void http_client_free(struct http_client *c);

/*
 * Cancels c from any thread (e.g. at shutdown): a request in flight ends within about a
 * second (libcurl's progress tick) with ERR_IO "cancelled", and every later request fails
 * at once the same way. There is no undo.
 */
void http_client_cancel(struct http_client *c);

/*
 * Returns c's base URL as it is used: curl's normalised form without the trailing '/'
 * ("HTTP://Hub:7700/" gives "http://hub:7700"). Owned by c; NULL when c is NULL.
 */
const char *http_client_base_url(const struct http_client *c);

/*
 * Sets the bearer token sent as "Authorization: Bearer <token>" on every later request
 * (unless a request carries its own Authorization header). The token is copied into
 * secure memory; the previous one is wiped. NULL or "" removes it. Returns ERR_OK,
 * ERR_BAD_INPUT (a character outside printable ASCII, or a space), ERR_TOO_LARGE (over
 * HTTP_CLIENT_MAX_BEARER_BYTES) or ERR_NOMEM; on error the previous token is kept.
 */
enum err http_client_set_bearer(struct http_client *c, const char *token) SESAME_WUR;

/*
 * Sends req and reads the answer into resp, which is initialised here (anything it held
 * is NOT freed: call http_client_response_free() between requests). ERR_OK means an HTTP
 * answer arrived, whatever its status: see http_client_response_error(). On any other
 * result resp->hr_status is 0, the body and headers are empty and resp->hr_errmsg says
 * what happened without any secret. Returns ERR_OK, ERR_BAD_INPUT (request refused before
 * sending: path, header or body), ERR_UPSTREAM (connection refused, name not resolved,
 * TLS failure, pin mismatch, connection closed, malformed answer), ERR_TIMEOUT,
 * ERR_CONFIG (the CA file could not be used), ERR_TOO_LARGE (body over the cap, or headers over
 * HTTP_CLIENT_MAX_RESPONSE_HEADER_BYTES; the transfer is aborted) or ERR_NOMEM.
 */
enum err http_client_request(struct http_client *c, const struct http_client_request *req,
                             struct http_client_response *resp) SESAME_WUR;

/*
 * Returns the value of response header name (compared without case; the first one when
 * repeated; surrounding spaces trimmed), or NULL. The pointer stays owned by resp.
 */
const char *http_client_response_header(const struct http_client_response *resp, const char *name);

/*
 * Reads a response with the Connect/hub error convention: ERR_OK for 2xx; otherwise the
 * error for the status (400 ERR_BAD_INPUT, 401 ERR_UNAUTHORIZED, 403 ERR_FORBIDDEN,
 * 404 ERR_NOT_FOUND, 405 ERR_METHOD, 409 ERR_CONFLICT, 413 ERR_TOO_LARGE, 429
 * ERR_RATE_LIMITED, 504 ERR_TIMEOUT, other 4xx ERR_BAD_INPUT, anything else ERR_UPSTREAM)
 * and msg (msgcap bytes, may be NULL) gets the "message" of a JSON {status, message}
 * body with control characters replaced by '?', or "HTTP <status>" when there is none.
 */
enum err http_client_response_error(const struct http_client_response *resp, char *msg,
                                    size_t msgcap) SESAME_WUR;

/* Wipes and frees the body and headers of resp; resp stays usable. */
void http_client_response_free(struct http_client_response *resp);

/*
 * Appends s percent-encoded for a path segment or a query value: every byte except
 * A-Z a-z 0-9 - . _ ~ becomes %XX (upper-case hex). Errors as buf_add (ERR_TOO_LARGE,
 * ERR_NOMEM; out is then freed).
 */
enum err http_client_escape(struct buf *out, const char *s) SESAME_WUR;

/* Returns "GET", "POST", ... for m, or NULL for a value outside the enum. */
const char *http_client_method_name(enum http_client_method m);

#endif
