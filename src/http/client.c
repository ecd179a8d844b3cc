/*
 * client.c - HTTP client over one libcurl easy handle per thread (see client.h and
 * docs/http-client.md).
 *
 * Only this file includes curl.h. Nothing here writes a header value, a body or a query
 * string into an error message or a log line: messages name the method, the base URL
 * (which cannot hold credentials: they are refused) and the path up to its '?'.
 */
#include "http/client.h"

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/limits.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "crypto/tls.h"
#include "json/objects.h"

#define HTTP_CLIENT_BEARER_PREFIX "Authorization: Bearer "
#define HTTP_CLIENT_PIN_PREFIX    "sha256//"
#define HTTP_CLIENT_PIN_B64_LEN   44 /* padded base64 of 32 bytes */
#define HTTP_CLIENT_MAX_PIN_BYTES 1024

struct http_client {
    CURL *cl_curl;                   /* the easy handle: keeps the connection cache */
    char *cl_base;                   /* normalised base URL without a trailing '/' */
    size_t cl_base_len;              /* strlen(cl_base) */
    long cl_connect_timeout_ms;      /* TCP connect + TLS handshake */
    long cl_timeout_ms;              /* default total timeout of a request */
    size_t cl_max_body;              /* default response body cap */
    char *cl_bearer;                 /* secure memory, NUL-terminated; NULL when none */
    size_t cl_bearer_len;            /* strlen(cl_bearer) */
    char cl_errbuf[CURL_ERROR_SIZE]; /* curl's detail of the last failure */
    int cl_cancelled;                /* atomic: http_client_cancel was called */
    unsigned char cl_cert_fp[TLS_FINGERPRINT_LEN]; /* the pinned certificate's SHA-256 */
};

/* State of one transfer, seen by the curl callbacks. */
struct http_client_xfer {
    struct http_client_response *xf_resp;
    enum err xf_rc;      /* ERR_TOO_LARGE or ERR_NOMEM when a callback stopped the transfer */
    int xf_headers_full; /* 1: the stop was the header cap, not the body cap */
    CURL *xf_curl;       /* the transfer's handle (its Content-Length) */
};

static pthread_mutex_t http_client_global_lock = PTHREAD_MUTEX_INITIALIZER;
static int http_client_global_refs;

/* CURLOPT_XFERINFOFUNCTION: aborts the transfer once the client was cancelled. */
static int http_client_on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
                                   curl_off_t ultotal, curl_off_t ulnow)
{
    const struct http_client *c = clientp;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return __atomic_load_n(&c->cl_cancelled, __ATOMIC_ACQUIRE) ? 1 : 0;
}

/*
 * libcurl's allocator: plain malloc underneath, but every block is wiped before it is
 * released, so the request headers it copied (the bearer token) and the response bytes
 * it buffered (decrypted items, when the CLI reads from a Connect server) do not linger
 * in freed heap memory.
 */
static void *http_client_curl_malloc(size_t n)
{
    return malloc(n);
}

static void http_client_curl_free(void *p)
{
    if (p) {
        explicit_bzero(p, malloc_usable_size(p));
        free(p);
    }
}

static void *http_client_curl_realloc(void *p, size_t n)
{
    size_t old;
    void *q;

    if (!p)
        return malloc(n);
    if (n == 0) {
        http_client_curl_free(p);
        return NULL;
    }
    old = malloc_usable_size(p);
    if (old >= n)
        return p;
    /* No realloc: the old block is wiped before it is released. */
    q = malloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, old);
    http_client_curl_free(p);
    return q;
}

static char *http_client_curl_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p)
        memcpy(p, s, n);
    return p;
}

static void *http_client_curl_calloc(size_t n, size_t size)
{
    return calloc(n, size);
}

/* Sets up libcurl and crypto once per process (reference counted); see client.h. */
enum err http_client_global_init(void)
{
    const curl_version_info_data *vi;
    enum err rc = ERR_OK;

    pthread_mutex_lock(&http_client_global_lock);
    if (http_client_global_refs > 0) {
        http_client_global_refs++;
        goto out;
    }
    if (crypto_init() != ERR_OK) {
        rc = ERR_INTERNAL;
        goto out;
    }
    if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, http_client_curl_malloc, http_client_curl_free,
                             http_client_curl_realloc, http_client_curl_strdup,
                             http_client_curl_calloc) != CURLE_OK) {
        rc = ERR_INTERNAL;
        goto out;
    }
    vi = curl_version_info(CURLVERSION_NOW);
    if (!vi || vi->version_num < 0x075800) { /* CURLOPT_PROTOCOLS_STR, tested on 7.88 */
        curl_global_cleanup();
        rc = ERR_INTERNAL;
        goto out;
    }
    http_client_global_refs = 1;
out:
    pthread_mutex_unlock(&http_client_global_lock);
    return rc;
}

/* Undoes one http_client_global_init(); the last one cleans libcurl up. */
void http_client_global_cleanup(void)
{
    pthread_mutex_lock(&http_client_global_lock);
    if (http_client_global_refs > 0 && --http_client_global_refs == 0)
        curl_global_cleanup();
    pthread_mutex_unlock(&http_client_global_lock);
}

static int http_client_global_ready(void)
{
    int ready;

    pthread_mutex_lock(&http_client_global_lock);
    ready = http_client_global_refs > 0;
    pthread_mutex_unlock(&http_client_global_lock);
    return ready;
}

/* Returns "GET", "POST", ... for m, or NULL. */
const char *http_client_method_name(enum http_client_method m)
{
    switch (m) {
    case HTTP_CLIENT_GET:
        return "GET";
    case HTTP_CLIENT_POST:
        return "POST";
    case HTTP_CLIENT_PUT:
        return "PUT";
    case HTTP_CLIENT_PATCH:
        return "PATCH";
    case HTTP_CLIENT_DELETE:
        return "DELETE";
    }
    return NULL;
}

/* Returns 1 when c is an ASCII letter or digit (whatever the locale). */
static int http_client_is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Returns 1 when c is an RFC 9110 tchar (header names). */
static int http_client_is_tchar(unsigned char c)
{
    return http_client_is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Returns 1 when every byte of s (len bytes) is printable ASCII without space. */
static int http_client_is_visible(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

/* Returns 1 when every ';'-separated entry of pin is "sha256//" + base64 of 32 bytes. */
static int http_client_pin_ok(const char *pin)
{
    unsigned char digest[HASH_SHA256_BYTES];
    const char *p = pin, *end;
    size_t plen = strlen(HTTP_CLIENT_PIN_PREFIX), n, dlen;

    if (strlen(pin) > HTTP_CLIENT_MAX_PIN_BYTES)
        return 0;
    for (;;) {
        end = strchr(p, ';');
        n = end ? (size_t)(end - p) : strlen(p);
        if (n != plen + HTTP_CLIENT_PIN_B64_LEN || strncmp(p, HTTP_CLIENT_PIN_PREFIX, plen) != 0)
            return 0;
        if (codec_b64_decode(digest, sizeof(digest), &dlen, p + plen, HTTP_CLIENT_PIN_B64_LEN,
                             CODEC_B64_STD | CODEC_PAD) != ERR_OK ||
            dlen != sizeof(digest))
            return 0;
        if (!end)
            return 1;
        p = end + 1;
    }
}

/* Returns 1 when s starts with "http://" or "https://" (any case) and a non-'/' byte. */
static int http_client_scheme_ok(const char *s, int *https)
{
    size_t n;

    if (strncasecmp(s, "http://", 7) == 0)
        n = 7, *https = 0;
    else if (strncasecmp(s, "https://", 8) == 0)
        n = 8, *https = 1;
    else
        return 0;
    return s[n] != '\0' && s[n] != '/';
}

/*
 * Validates base with curl's URL parser and stores its normalised form, without the
 * trailing '/', in c->cl_base. Returns ERR_OK, ERR_CONFIG or ERR_NOMEM.
 */
static enum err http_client_set_base(struct http_client *c, const char *base, int *https,
                                     char *errmsg, size_t errcap)
{
    CURLU *u = NULL;
    CURLUcode uc;
    char *part = NULL, *url = NULL;
    size_t len;
    enum err rc;

    if (!base || !*base)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "the base URL is empty");
    if (strlen(base) > HTTP_MAX_URL_BYTES)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "the base URL is longer than %u bytes",
                        (unsigned)HTTP_MAX_URL_BYTES);
    if (!http_client_scheme_ok(base, https))
        return err_msgf(ERR_CONFIG, errmsg, errcap,
                        "the base URL must start with http:// or https:// and a host");
    u = curl_url();
    if (!u)
        return ERR_NOMEM;
    uc = curl_url_set(u, CURLUPART_URL, base, 0);
    if (uc == CURLUE_OUT_OF_MEMORY) {
        rc = ERR_NOMEM;
        goto out;
    }
    if (uc != CURLUE_OK) {
        rc = err_msgf(ERR_CONFIG, errmsg, errcap, "the base URL is malformed (%s)",
                      curl_url_strerror(uc));
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &part, 0) != CURLUE_NO_USER ||
        curl_url_get(u, CURLUPART_PASSWORD, &part, 0) != CURLUE_NO_PASSWORD) {
        rc = err_msgf(ERR_CONFIG, errmsg, errcap, "the base URL must not hold credentials");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &part, 0) != CURLUE_NO_QUERY ||
        curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) != CURLUE_NO_FRAGMENT) {
        rc = err_msgf(ERR_CONFIG, errmsg, errcap,
                      "the base URL must not have a query or a fragment");
        goto out;
    }
    uc = curl_url_get(u, CURLUPART_URL, &url, 0);
    if (uc != CURLUE_OK) {
        rc = uc == CURLUE_OUT_OF_MEMORY
                 ? ERR_NOMEM
                 : err_msgf(ERR_CONFIG, errmsg, errcap, "the base URL is malformed");
        goto out;
    }
    len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    c->cl_base = mem_strndup(url, len);
    if (!c->cl_base) {
        rc = ERR_NOMEM;
        goto out;
    }
    c->cl_base_len = len;
    rc = ERR_OK;
out:
    curl_free(part);
    curl_free(url);
    curl_url_cleanup(u);
    return rc;
}

/* Sets one curl option and jumps to out on failure (NOMEM or a refused value). */
#define HC_SETOPT(h, opt, val)                                                                     \
    do {                                                                                           \
        CURLcode setopt_cc_ = curl_easy_setopt((h), opt, val);                                     \
        if (setopt_cc_ != CURLE_OK) {                                                              \
            rc = setopt_cc_ == CURLE_OUT_OF_MEMORY                                                 \
                     ? ERR_NOMEM                                                                   \
                     : err_msgf(ERR_CONFIG, errmsg, errcap, "libcurl refused %s: %s", #opt,        \
                                curl_easy_strerror(setopt_cc_));                                   \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* CURLOPT_SSL_CTX_FUNCTION: the certificate pin (hcc_cert_sha256) on each new context. */
static CURLcode http_client_on_ssl_ctx(CURL *curl, void *ssl_ctx, void *userptr)
{
    struct http_client *c = userptr;

    (void)curl;
    return tls_client_pin_cert(ssl_ctx, c->cl_cert_fp) == ERR_OK ? CURLE_OK : CURLE_SSL_CERTPROBLEM;
}

/* Creates a client; see client.h. */
enum err http_client_new(struct http_client **out, const struct http_client_config *cfg,
                         char *errmsg, size_t errcap)
{
    struct http_client *c = NULL;
    const curl_version_info_data *vi;
    int https = 0;
    long connect_ms, total_ms;
    enum err rc;

    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (!out)
        return ERR_INTERNAL;
    *out = NULL;
    if (!cfg)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "no client configuration");
    if (!http_client_global_ready())
        return err_msgf(ERR_CONFIG, errmsg, errcap, "http_client_global_init() was not called");
    connect_ms = cfg->hcc_connect_timeout_ms ? cfg->hcc_connect_timeout_ms
                                             : HTTP_CLIENT_DEFAULT_CONNECT_TIMEOUT_MS;
    total_ms = cfg->hcc_timeout_ms ? cfg->hcc_timeout_ms : HTTP_CLIENT_DEFAULT_TIMEOUT_MS;
    if (connect_ms < 0 || connect_ms > HTTP_CLIENT_MAX_TIMEOUT_MS || total_ms < 0 ||
        total_ms > HTTP_CLIENT_MAX_TIMEOUT_MS)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "timeouts must be 0 to %ld ms",
                        HTTP_CLIENT_MAX_TIMEOUT_MS);

    c = mem_calloc(1, sizeof(*c));
    if (!c) {
        rc = ERR_NOMEM;
        goto out;
    }
    c->cl_connect_timeout_ms = connect_ms;
    c->cl_timeout_ms = total_ms;
    c->cl_max_body = cfg->hcc_max_body ? cfg->hcc_max_body : HTTP_CLIENT_DEFAULT_MAX_BODY_BYTES;
    rc = http_client_set_base(c, cfg->hcc_base_url, &https, errmsg, errcap);
    if (rc != ERR_OK)
        goto out;
    if (cfg->hcc_pin && !http_client_pin_ok(cfg->hcc_pin)) {
        rc = err_msgf(ERR_CONFIG, errmsg, errcap,
                      "the pinned key must be sha256//<base64 of 32 bytes>, ';'-separated");
        goto out;
    }
    if (cfg->hcc_pin && !https) {
        rc = err_msgf(ERR_CONFIG, errmsg, errcap, "a pinned key needs an https:// base URL");
        goto out;
    }
    if (cfg->hcc_cert_sha256) {
        size_t n = 0;

        if (strnlen(cfg->hcc_cert_sha256, 2 * TLS_FINGERPRINT_LEN + 1) != 2 * TLS_FINGERPRINT_LEN ||
            codec_hex_decode(c->cl_cert_fp, sizeof(c->cl_cert_fp), &n, cfg->hcc_cert_sha256,
                             2 * TLS_FINGERPRINT_LEN) != ERR_OK ||
            n != TLS_FINGERPRINT_LEN) {
            rc = err_msgf(ERR_CONFIG, errmsg, errcap,
                          "the certificate fingerprint must be 64 hex digits (SHA-256)");
            goto out;
        }
        if (!https) {
            rc = err_msgf(ERR_CONFIG, errmsg, errcap,
                          "a certificate fingerprint needs an https:// base URL");
            goto out;
        }
    }
    if (cfg->hcc_ca_file && (!*cfg->hcc_ca_file || access(cfg->hcc_ca_file, R_OK) != 0)) {
        rc = err_msgf(ERR_CONFIG, errmsg, errcap, "the CA file cannot be read");
        goto out;
    }
    if (cfg->hcc_proxy && !http_client_is_visible(cfg->hcc_proxy, strlen(cfg->hcc_proxy))) {
        rc = err_msgf(ERR_CONFIG, errmsg, errcap, "the proxy URL is malformed");
        goto out;
    }
    vi = curl_version_info(CURLVERSION_NOW);
    if (https && !(vi->features & CURL_VERSION_SSL)) {
        rc = err_msgf(ERR_CONFIG, errmsg, errcap, "this libcurl has no TLS support");
        goto out;
    }

    c->cl_curl = curl_easy_init();
    if (!c->cl_curl) {
        rc = ERR_NOMEM;
        goto out;
    }
    /* Never CURLOPT_VERBOSE: it would print the Authorization header. */
    HC_SETOPT(c->cl_curl, CURLOPT_VERBOSE, 0L);
    HC_SETOPT(c->cl_curl, CURLOPT_NOSIGNAL, 1L);
    HC_SETOPT(c->cl_curl, CURLOPT_NOPROGRESS, 0L);
    HC_SETOPT(c->cl_curl, CURLOPT_XFERINFOFUNCTION, http_client_on_progress);
    HC_SETOPT(c->cl_curl, CURLOPT_XFERINFODATA, (void *)c);
    HC_SETOPT(c->cl_curl, CURLOPT_ERRORBUFFER, c->cl_errbuf);
    HC_SETOPT(c->cl_curl, CURLOPT_PROTOCOLS_STR, "http,https");
    HC_SETOPT(c->cl_curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    HC_SETOPT(c->cl_curl, CURLOPT_FOLLOWLOCATION, 0L);
    HC_SETOPT(c->cl_curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    HC_SETOPT(c->cl_curl, CURLOPT_USERAGENT, HTTP_CLIENT_USER_AGENT);
    HC_SETOPT(c->cl_curl, CURLOPT_TCP_KEEPALIVE, 1L);
    HC_SETOPT(c->cl_curl, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    HC_SETOPT(c->cl_curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    HC_SETOPT(c->cl_curl, CURLOPT_PROXY_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (cfg->hcc_ca_file) {
        /* The file replaces the system store: no CA directory either. */
        HC_SETOPT(c->cl_curl, CURLOPT_CAINFO, cfg->hcc_ca_file);
        HC_SETOPT(c->cl_curl, CURLOPT_CAPATH, (char *)NULL);
    }
    if (cfg->hcc_pin) {
        HC_SETOPT(c->cl_curl, CURLOPT_PINNEDPUBLICKEY, cfg->hcc_pin);
        if (!cfg->hcc_ca_file) {
            /*
             * A pin alone is the trust anchor (a hub with a self-signed certificate,
             * addressed by name or by IP): the chain and the name are not checked, the
             * server's public key must equal the pin. curl checks the pin even with
             * peer verification off.
             */
            HC_SETOPT(c->cl_curl, CURLOPT_SSL_VERIFYPEER, 0L);
            HC_SETOPT(c->cl_curl, CURLOPT_SSL_VERIFYHOST, 0L);
        }
    }
    if (cfg->hcc_cert_sha256) {
        /*
         * The certificate itself is the trust anchor: tls_client_pin_cert replaces the
         * chain check with "is it exactly this certificate", so the name need not match
         * either (a hub addressed by IP or through a tunnel).
         */
        HC_SETOPT(c->cl_curl, CURLOPT_SSL_CTX_FUNCTION, http_client_on_ssl_ctx);
        HC_SETOPT(c->cl_curl, CURLOPT_SSL_CTX_DATA, (void *)c);
        HC_SETOPT(c->cl_curl, CURLOPT_SSL_VERIFYPEER, 1L);
        HC_SETOPT(c->cl_curl, CURLOPT_SSL_VERIFYHOST, 0L);
        /* A session resumed from another context would skip the check: none are kept. */
        HC_SETOPT(c->cl_curl, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    }
    if (cfg->hcc_proxy)
        HC_SETOPT(c->cl_curl, CURLOPT_PROXY, cfg->hcc_proxy);
    *out = c;
    c = NULL;
    rc = ERR_OK;
out:
    if (rc != ERR_OK && errmsg && errcap && !errmsg[0])
        err_msgf(rc, errmsg, errcap, "%s", rc == ERR_NOMEM ? "out of memory" : err_message(rc));
    http_client_free(c);
    return rc;
}

#undef HC_SETOPT

/* Frees c; see client.h. */
void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    if (c->cl_curl)
        curl_easy_cleanup(c->cl_curl);
    secmem_free(c->cl_bearer);
    mem_free(c->cl_base);
    explicit_bzero(c, sizeof(*c));
    mem_free(c);
}

/* Returns the normalised base URL of c; see client.h. */
const char *http_client_base_url(const struct http_client *c)
{
    return c ? c->cl_base : NULL;
}

/* Replaces the bearer token; see client.h. */
enum err http_client_set_bearer(struct http_client *c, const char *token)
{
    char *copy;
    size_t len;

    if (!c)
        return ERR_BAD_INPUT;
    len = token ? strnlen(token, HTTP_CLIENT_MAX_BEARER_BYTES + 1) : 0;
    if (len > HTTP_CLIENT_MAX_BEARER_BYTES)
        return ERR_TOO_LARGE;
    if (!http_client_is_visible(token, len))
        return ERR_BAD_INPUT;
    copy = NULL;
    if (len > 0) {
        copy = secmem_alloc(len + 1);
        if (!copy)
            return ERR_NOMEM;
        memcpy(copy, token, len);
        copy[len] = '\0';
    }
    secmem_free(c->cl_bearer);
    c->cl_bearer = copy;
    c->cl_bearer_len = len;
    return ERR_OK;
}

/* Empties resp (no allocation). */
static void http_client_response_init(struct http_client_response *resp, size_t max_body)
{
    resp->hr_status = 0;
    buf_init(&resp->hr_body, max_body);
    buf_init(&resp->hr_headers, HTTP_CLIENT_MAX_RESPONSE_HEADER_BYTES);
    resp->hr_errmsg[0] = '\0';
}

/* Wipes and frees resp's buffers; see client.h. */
void http_client_response_free(struct http_client_response *resp)
{
    if (!resp)
        return;
    buf_free(&resp->hr_body);
    buf_free(&resp->hr_headers);
}

/* curl write callback: appends body bytes, stopping the transfer at the cap. */
static size_t http_client_on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct http_client_xfer *xf = ud;
    size_t n = size * nmemb;
    curl_off_t len = -1;
    enum err rc = ERR_OK;

    /* the first bytes: room for the whole body at once when its length is known (a 1.5 MB
       item page grew by doubling: 8 copies, each wiped) - the cap still holds */
    if (xf->xf_resp->hr_body.b_len == 0 &&
        curl_easy_getinfo(xf->xf_curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len) == CURLE_OK &&
        len > 0)
        rc = buf_prepare(&xf->xf_resp->hr_body, (size_t)len);
    if (rc == ERR_OK)
        rc = buf_add(&xf->xf_resp->hr_body, ptr, n);
    if (rc != ERR_OK) {
        xf->xf_rc = rc;
        return 0;
    }
    return n;
}

/*
 * curl header callback: keeps the headers of the final response as "name\0value\0"
 * pairs. A status line starts a new response (after 1xx, or a proxy's CONNECT answer).
 * Lines that are not "token: value" (folded, or holding NUL) are skipped.
 */
static size_t http_client_on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct http_client_xfer *xf = ud;
    struct buf *h = &xf->xf_resp->hr_headers;
    size_t n = size * nmemb, name_len, vs, ve, i;
    enum err rc;

    if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
        buf_reset(h);
        return n;
    }
    if (memchr(ptr, '\0', n))
        return n;
    for (name_len = 0; name_len < n && ptr[name_len] != ':'; name_len++)
        if (!http_client_is_tchar((unsigned char)ptr[name_len]))
            return n;
    if (name_len == 0 || name_len == n)
        return n;
    vs = name_len + 1;
    ve = n;
    while (vs < ve && (ptr[vs] == ' ' || ptr[vs] == '\t'))
        vs++;
    while (ve > vs && strchr(" \t\r\n", ptr[ve - 1]))
        ve--;
    for (i = vs; i < ve; i++)
        if (ptr[i] == '\r' || ptr[i] == '\n')
            return n;
    rc = buf_add(h, ptr, name_len);
    if (rc == ERR_OK)
        rc = buf_add(h, "", 1);
    if (rc == ERR_OK)
        rc = buf_add(h, ptr + vs, ve - vs);
    if (rc == ERR_OK)
        rc = buf_add(h, "", 1);
    if (rc != ERR_OK) {
        xf->xf_rc = rc;
        xf->xf_headers_full = rc == ERR_TOO_LARGE;
        return 0;
    }
    return n;
}

/* Returns the value of header name in resp, or NULL; see client.h. */
const char *http_client_response_header(const struct http_client_response *resp, const char *name)
{
    const char *p, *end, *value;

    if (!resp || !name || !resp->hr_headers.b_data)
        return NULL;
    p = resp->hr_headers.b_data;
    end = p + resp->hr_headers.b_len;
    while (p < end) {
        value = p + strlen(p) + 1;
        if (value >= end)
            break;
        if (strcasecmp(p, name) == 0)
            return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

/*
 * Checks a request path: "/" first, printable ASCII without space or '#', at most
 * HTTP_MAX_URL_BYTES, and no "." or ".." segment before the query.
 */
static enum err http_client_check_path(const char *path, char *errmsg, size_t errcap)
{
    size_t len, i, seg;

    if (!path || path[0] != '/')
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "the path must start with '/'");
    len = strnlen(path, HTTP_MAX_URL_BYTES + 1);
    if (len > HTTP_MAX_URL_BYTES)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "the path is longer than %u bytes",
                        (unsigned)HTTP_MAX_URL_BYTES);
    if (!http_client_is_visible(path, len) || memchr(path, '#', len))
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                        "the path holds a character that must be percent-encoded");
    for (i = 0; i < len && path[i] != '?';) {
        seg = ++i; /* just after a '/' */
        while (i < len && path[i] != '/' && path[i] != '?')
            i++;
        if ((i - seg == 1 && path[seg] == '.') ||
            (i - seg == 2 && path[seg] == '.' && path[seg + 1] == '.'))
            return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "the path has a '.' or '..' segment");
    }
    return ERR_OK;
}

/* Returns 1 when name is one of the request headers curl must manage itself. */
static int http_client_header_reserved(const char *name)
{
    static const char *const reserved[] = {
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Expect", "Upgrade", "TE"};
    size_t i;

    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return 1;
    return 0;
}

/* Appends "name: value" to *list (curl copies it). Returns ERR_OK or ERR_NOMEM. */
static enum err http_client_list_add(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);

    if (!l)
        return ERR_NOMEM;
    *list = l;
    return ERR_OK;
}

/*
 * Builds the request's header list: "Expect:" (no 100-continue round trip), the caller's
 * headers (validated), a default Content-Type for bodies, and the bearer token unless the
 * caller sent its own Authorization. The bearer line is assembled in secure memory.
 */
static enum err http_client_build_headers(const struct http_client *c,
                                          const struct http_client_request *req,
                                          struct curl_slist **list, char *errmsg, size_t errcap)
{
    const struct http_client_header *h;
    int has_auth = 0, has_type = 0;
    struct buf line;
    char *bearer = NULL;
    size_t i, nlen, vlen, plen;
    enum err rc;

    buf_init(&line, HTTP_CLIENT_MAX_HEADER_BYTES);
    if (req->hq_nheaders > HTTP_CLIENT_MAX_HEADERS) {
        rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap, "more than %d request headers",
                      HTTP_CLIENT_MAX_HEADERS);
        goto out;
    }
    if (req->hq_nheaders && !req->hq_headers) {
        rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap, "request headers missing");
        goto out;
    }
    rc = http_client_list_add(list, "Expect:");
    if (rc != ERR_OK)
        goto out;
    for (i = 0; i < req->hq_nheaders; i++) {
        h = &req->hq_headers[i];
        if (!h->hh_name || !h->hh_value) {
            rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap, "request header %zu is incomplete", i);
            goto out;
        }
        nlen = strlen(h->hh_name);
        vlen = strlen(h->hh_value);
        if (nlen == 0 || vlen == 0) {
            rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap, "request header %zu is empty", i);
            goto out;
        }
        for (plen = 0; plen < nlen; plen++)
            if (!http_client_is_tchar((unsigned char)h->hh_name[plen]))
                break;
        if (plen != nlen) {
            rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap, "request header %zu has a bad name", i);
            goto out;
        }
        if (http_client_header_reserved(h->hh_name)) {
            rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                          "request header %zu is managed by the client", i);
            goto out;
        }
        /* No control byte (CR and LF above all) and no leading space. */
        plen = h->hh_value[0] == ' ' || h->hh_value[0] == '\t' ? vlen + 1 : 0;
        for (; plen < vlen; plen++) {
            unsigned char ch = (unsigned char)h->hh_value[plen];
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                break;
        }
        if (plen != vlen) {
            rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap, "request header %zu has a bad value", i);
            goto out;
        }
        has_auth |= strcasecmp(h->hh_name, "Authorization") == 0;
        has_type |= strcasecmp(h->hh_name, "Content-Type") == 0;
        buf_reset(&line);
        rc = buf_add_str(&line, h->hh_name);
        if (rc == ERR_OK)
            rc = buf_add(&line, ": ", 2);
        if (rc == ERR_OK)
            rc = buf_add_str(&line, h->hh_value);
        if (rc == ERR_TOO_LARGE) {
            rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                          "request header %zu is longer than %d bytes", i,
                          HTTP_CLIENT_MAX_HEADER_BYTES);
            goto out;
        }
        if (rc != ERR_OK)
            goto out;
        rc = http_client_list_add(list, buf_str(&line));
        if (rc != ERR_OK)
            goto out;
    }
    if (!has_type && req->hq_method != HTTP_CLIENT_GET &&
        (req->hq_body_len > 0 || req->hq_method != HTTP_CLIENT_DELETE)) {
        rc = http_client_list_add(list, "Content-Type: application/json");
        if (rc != ERR_OK)
            goto out;
    }
    if (!has_auth && c->cl_bearer) {
        plen = strlen(HTTP_CLIENT_BEARER_PREFIX);
        bearer = secmem_alloc(plen + c->cl_bearer_len + 1);
        if (!bearer) {
            rc = ERR_NOMEM;
            goto out;
        }
        memcpy(bearer, HTTP_CLIENT_BEARER_PREFIX, plen);
        memcpy(bearer + plen, c->cl_bearer, c->cl_bearer_len + 1);
        rc = http_client_list_add(list, bearer);
        if (rc != ERR_OK)
            goto out;
    }
    rc = ERR_OK;
out:
    secmem_free(bearer);
    buf_free(&line);
    return rc;
}

/* Maps a curl result to an error and a short phrase for the message. */
/* Cancels c: a request in flight ends within about a second, later ones fail at once. */
void http_client_cancel(struct http_client *c)
{
    if (c)
        __atomic_store_n(&c->cl_cancelled, 1, __ATOMIC_RELEASE);
}

static enum err http_client_map_curl(CURLcode cc, const char **what)
{
    switch (cc) {
    case CURLE_OK:
        *what = "ok";
        return ERR_OK;
    case CURLE_OPERATION_TIMEDOUT:
        *what = "timed out";
        return ERR_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
        *what = "cannot resolve the host name";
        return ERR_UPSTREAM;
    case CURLE_COULDNT_RESOLVE_PROXY:
        *what = "cannot resolve the proxy name";
        return ERR_UPSTREAM;
    case CURLE_COULDNT_CONNECT:
        *what = "cannot connect";
        return ERR_UPSTREAM;
    case CURLE_PROXY:
        *what = "the proxy refused the connection";
        return ERR_UPSTREAM;
    case CURLE_SSL_CONNECT_ERROR:
        *what = "TLS handshake failed";
        return ERR_UPSTREAM;
    case CURLE_PEER_FAILED_VERIFICATION:
        *what = "the server certificate is not trusted (or not the pinned one)";
        return ERR_UPSTREAM;
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        *what = "the server public key does not match the pinned key";
        return ERR_UPSTREAM;
    case CURLE_SSL_CACERT_BADFILE:
        *what = "the CA file cannot be used";
        return ERR_CONFIG;
    case CURLE_GOT_NOTHING:
        *what = "the server closed the connection without answering";
        return ERR_UPSTREAM;
    case CURLE_SEND_ERROR:
        *what = "the connection failed while sending";
        return ERR_UPSTREAM;
    case CURLE_RECV_ERROR:
        *what = "the connection failed while receiving";
        return ERR_UPSTREAM;
    case CURLE_PARTIAL_FILE:
        *what = "the answer was cut short";
        return ERR_UPSTREAM;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
        *what = "the answer is malformed";
        return ERR_UPSTREAM;
    case CURLE_UNSUPPORTED_PROTOCOL:
        *what = "the protocol is not supported";
        return ERR_UPSTREAM;
    case CURLE_URL_MALFORMAT:
        *what = "the URL is malformed";
        return ERR_BAD_INPUT;
    case CURLE_OUT_OF_MEMORY:
        *what = "out of memory";
        return ERR_NOMEM;
    default:
        *what = "the transfer failed";
        return ERR_UPSTREAM;
    }
}

/* Sets one per-request curl option; a failure here is a bug or NOMEM. */
#define HC_REQOPT(opt, val)                                                                        \
    do {                                                                                           \
        CURLcode reqopt_cc_ = curl_easy_setopt(c->cl_curl, opt, val);                              \
        if (reqopt_cc_ != CURLE_OK) {                                                              \
            rc = reqopt_cc_ == CURLE_OUT_OF_MEMORY                                                 \
                     ? ERR_NOMEM                                                                   \
                     : err_msgf(ERR_INTERNAL, errmsg, errcap, "libcurl refused %s", #opt);         \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* Sends one request; see client.h. */
enum err http_client_request(struct http_client *c, const struct http_client_request *req,
                             struct http_client_response *resp)
{
    static char empty_body[1];
    struct http_client_xfer xf;
    struct curl_slist *headers = NULL;
    struct buf url;
    const char *method, *what = "";
    char *errmsg;
    size_t errcap, pathlen = 0, max_body;
    long timeout_ms, status = 0;
    curl_off_t micros = 0;
    CURLcode cc;
    enum err rc;

    if (!resp)
        return ERR_BAD_INPUT;
    errmsg = resp->hr_errmsg;
    errcap = sizeof(resp->hr_errmsg);
    http_client_response_init(resp, 0);
    buf_init(&url, HTTP_MAX_URL_BYTES + 1);
    if (!c || !req)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "no client or no request");
    method = http_client_method_name(req->hq_method);
    if (!method)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "unknown method");
    rc = http_client_check_path(req->hq_path, errmsg, errcap);
    if (rc != ERR_OK)
        return rc;
    pathlen = strcspn(req->hq_path, "?");
    if (req->hq_body_len > 0 && !req->hq_body)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: body missing", method);
    if (req->hq_body_len > 0 && req->hq_method == HTTP_CLIENT_GET)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "GET: a GET request has no body");
    if (req->hq_timeout_ms < 0 || req->hq_timeout_ms > HTTP_CLIENT_MAX_TIMEOUT_MS)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: timeout must be 0 to %ld ms", method,
                        HTTP_CLIENT_MAX_TIMEOUT_MS);
    timeout_ms = req->hq_timeout_ms ? req->hq_timeout_ms : c->cl_timeout_ms;
    max_body = req->hq_max_body ? req->hq_max_body : c->cl_max_body;
    buf_init(&resp->hr_body, max_body); /* still empty: nothing to free */

    rc = buf_add(&url, c->cl_base, c->cl_base_len);
    if (rc == ERR_OK)
        rc = buf_add_str(&url, req->hq_path);
    if (rc != ERR_OK) {
        rc = rc == ERR_NOMEM ? ERR_NOMEM
                             : err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: URL too long", method);
        goto out;
    }
    rc = http_client_build_headers(c, req, &headers, errmsg, errcap);
    if (rc != ERR_OK)
        goto out;

    if (__atomic_load_n(&c->cl_cancelled, __ATOMIC_ACQUIRE)) {
        rc = err_msgf(ERR_IO, errmsg, errcap, "%s %s%.*s: cancelled", method, c->cl_base,
                      (int)pathlen, req->hq_path);
        goto out;
    }
    xf.xf_resp = resp;
    xf.xf_rc = ERR_OK;
    xf.xf_headers_full = 0;
    xf.xf_curl = c->cl_curl;
    HC_REQOPT(CURLOPT_URL, buf_str(&url));
    HC_REQOPT(CURLOPT_HTTPHEADER, headers);
    HC_REQOPT(CURLOPT_TIMEOUT_MS, timeout_ms);
    HC_REQOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_body);
    HC_REQOPT(CURLOPT_WRITEFUNCTION, http_client_on_body);
    HC_REQOPT(CURLOPT_WRITEDATA, &xf);
    HC_REQOPT(CURLOPT_HEADERFUNCTION, http_client_on_header);
    HC_REQOPT(CURLOPT_HEADERDATA, &xf);
    if (req->hq_method == HTTP_CLIENT_GET ||
        (req->hq_method == HTTP_CLIENT_DELETE && req->hq_body_len == 0)) {
        HC_REQOPT(CURLOPT_HTTPGET, 1L);
    } else {
        HC_REQOPT(CURLOPT_POST, 1L);
        HC_REQOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->hq_body_len);
        if (req->hq_body_len > 0)
            HC_REQOPT(CURLOPT_POSTFIELDS, req->hq_body);
        else
            HC_REQOPT(CURLOPT_POSTFIELDS, empty_body);
    }
    HC_REQOPT(CURLOPT_CUSTOMREQUEST,
              (req->hq_method == HTTP_CLIENT_GET || req->hq_method == HTTP_CLIENT_POST) ? NULL
                                                                                        : method);

    c->cl_errbuf[0] = '\0';
    cc = curl_easy_perform(c->cl_curl);
    /* Forget the per-request pointers before they go out of scope. */
    (void)curl_easy_setopt(c->cl_curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    (void)curl_easy_setopt(c->cl_curl, CURLOPT_WRITEDATA, (void *)NULL);
    (void)curl_easy_setopt(c->cl_curl, CURLOPT_HEADERDATA, (void *)NULL);
    (void)curl_easy_getinfo(c->cl_curl, CURLINFO_TOTAL_TIME_T, &micros);

    if (cc == CURLE_WRITE_ERROR && xf.xf_rc != ERR_OK) {
        rc = xf.xf_rc;
        if (rc == ERR_TOO_LARGE && xf.xf_headers_full)
            err_msgf(rc, errmsg, errcap, "%s %s%.*s: the response headers are over %u bytes",
                     method, c->cl_base, (int)pathlen, req->hq_path,
                     (unsigned)HTTP_CLIENT_MAX_RESPONSE_HEADER_BYTES);
        else if (rc == ERR_TOO_LARGE)
            err_msgf(rc, errmsg, errcap, "%s %s%.*s: the response body is over %zu bytes", method,
                     c->cl_base, (int)pathlen, req->hq_path, max_body);
        else
            err_msgf(rc, errmsg, errcap, "%s %s%.*s: out of memory", method, c->cl_base,
                     (int)pathlen, req->hq_path);
        goto out;
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK && __atomic_load_n(&c->cl_cancelled, __ATOMIC_ACQUIRE)) {
        rc = err_msgf(ERR_IO, errmsg, errcap, "%s %s%.*s: cancelled", method, c->cl_base,
                      (int)pathlen, req->hq_path);
        goto out;
    }
    if (cc == CURLE_FILESIZE_EXCEEDED) {
        rc = err_msgf(ERR_TOO_LARGE, errmsg, errcap,
                      "%s %s%.*s: the response body is over %zu bytes", method, c->cl_base,
                      (int)pathlen, req->hq_path, max_body);
        goto out;
    }
    rc = http_client_map_curl(cc, &what);
    /* a request sent on a kept-alive connection that died is sent again by curl on a new
     * one: when that connect fails, the result says "cannot connect" but the error text is
     * the first attempt's, and that request may have reached the server */
    if (cc == CURLE_COULDNT_CONNECT && (strncmp(c->cl_errbuf, "Recv failure", 12) == 0 ||
                                        strncmp(c->cl_errbuf, "Send failure", 12) == 0))
        what = "the connection failed, and so did a new one";
    if (rc != ERR_OK) {
        size_t el = strnlen(c->cl_errbuf, sizeof(c->cl_errbuf) - 1);

        while (el > 0 && (c->cl_errbuf[el - 1] == '\n' || c->cl_errbuf[el - 1] == '\r'))
            el--;
        c->cl_errbuf[el] = '\0';
        if (rc == ERR_TIMEOUT)
            err_msgf(rc, errmsg, errcap,
                     "%s %s%.*s: timed out (limits: connect %ld ms, request %ld ms)", method,
                     c->cl_base, (int)pathlen, req->hq_path, c->cl_connect_timeout_ms, timeout_ms);
        else if (el > 0)
            err_msgf(rc, errmsg, errcap, "%s %s%.*s: %s (%s)", method, c->cl_base, (int)pathlen,
                     req->hq_path, what, c->cl_errbuf);
        else
            err_msgf(rc, errmsg, errcap, "%s %s%.*s: %s", method, c->cl_base, (int)pathlen,
                     req->hq_path, what);
        goto out;
    }
    if (curl_easy_getinfo(c->cl_curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
        status < 100 || status > 999) {
        rc = err_msgf(ERR_UPSTREAM, errmsg, errcap, "%s %s%.*s: no HTTP status", method, c->cl_base,
                      (int)pathlen, req->hq_path);
        goto out;
    }
    resp->hr_status = (int)status;
    rc = ERR_OK;
out:
    if (rc != ERR_OK && !errmsg[0])
        err_msgf(rc, errmsg, errcap, "%s %s%.*s: %s", method, c->cl_base, (int)pathlen,
                 req->hq_path, rc == ERR_NOMEM ? "out of memory" : err_message(rc));
    if (rc != ERR_OK)
        log_debug("http client: %s %s%.*s failed: %s", method, c->cl_base, (int)pathlen,
                  req->hq_path, err_name(rc));
    else
        log_debug("http client: %s %s%.*s -> %d in %lld ms", method, c->cl_base, (int)pathlen,
                  req->hq_path, resp->hr_status, (long long)(micros / 1000));
    if (rc != ERR_OK) {
        resp->hr_status = 0;
        http_client_response_free(resp);
    }
    curl_slist_free_all(headers);
    buf_free(&url);
    return rc;
}

#undef HC_REQOPT

/* Maps a non-2xx status to an error (see client.h). */
static enum err http_client_status_err(int status)
{
    switch (status) {
    case 400:
        return ERR_BAD_INPUT;
    case 401:
        return ERR_UNAUTHORIZED;
    case 403:
        return ERR_FORBIDDEN;
    case 404:
        return ERR_NOT_FOUND;
    case 405:
        return ERR_METHOD;
    case 409:
        return ERR_CONFLICT;
    case 413:
        return ERR_TOO_LARGE;
    case 429:
        return ERR_RATE_LIMITED;
    case 504:
        return ERR_TIMEOUT;
    case 507:
        return ERR_NO_SPACE;
    default:
        return status >= 400 && status < 500 ? ERR_BAD_INPUT : ERR_UPSTREAM;
    }
}

/*
 * Copies s into msg (msgcap bytes) with control characters replaced by '?', without
 * cutting a UTF-8 sequence in two.
 */
static void http_client_copy_message(char *msg, size_t msgcap, const char *s)
{
    size_t n = strlen(s), i;

    if (n > msgcap - 1) {
        n = msgcap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch < 0x20 || ch == 0x7f)
            msg[i] = '?';
        else
            msg[i] = s[i];
    }
    msg[n] = '\0';
}

/* Reads the Connect/hub error convention; see client.h. */
enum err http_client_response_error(const struct http_client_response *resp, char *msg,
                                    size_t msgcap)
{
    json_error_t jerr;
    json_t *root = NULL;
    const char *message = NULL;
    int status = 0;
    enum err rc;

    if (msg && msgcap)
        msg[0] = '\0';
    if (!resp)
        return ERR_INTERNAL;
    if (resp->hr_status >= 200 && resp->hr_status < 300)
        return ERR_OK;
    rc = http_client_status_err(resp->hr_status);
    if (!msg || !msgcap)
        return rc;
    if (resp->hr_body.b_len > 0) {
        root = json_loadb(resp->hr_body.b_data, resp->hr_body.b_len, JSON_REJECT_DUPLICATES, &jerr);
        if (root && error_from_json(&status, &message, root) == ERR_OK && message && *message)
            http_client_copy_message(msg, msgcap, message);
    }
    if (!msg[0])
        (void)snprintf(msg, msgcap, "HTTP %d", resp->hr_status);
    json_decref(root);
    return rc;
}

/* Percent-encodes s onto out; see client.h. */
enum err http_client_escape(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *run;
    char esc[3];
    enum err rc;

    if (!out || !s)
        return ERR_BAD_INPUT;
    while (*s) {
        for (run = s; *s && (http_client_is_alnum((unsigned char)*s) || strchr("-._~", *s)); s++)
            ;
        if (s > run) {
            rc = buf_add(out, run, (size_t)(s - run));
            if (rc != ERR_OK)
                return rc;
            continue;
        }
        esc[0] = '%';
        esc[1] = hex[(unsigned char)*s >> 4];
        esc[2] = hex[(unsigned char)*s & 0x0f];
        rc = buf_add(out, esc, 3);
        if (rc != ERR_OK)
            return rc;
        s++;
    }
    return ERR_OK;
}
