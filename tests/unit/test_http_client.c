/*
 * test_http_client.c - the libcurl client against a real HTTP server on 127.0.0.1 that
 * this file starts (raw sockets, one thread per connection), and against
 * `openssl s_server` for TLS (skipped when the openssl program is missing).
 * No traffic leaves 127.0.0.1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/log.h"
#include "crypto/hash.h"
#include "http/client.h"

extern char **environ;

/* ---------------------------------------------------------------------------------------
 * The test server
 * ------------------------------------------------------------------------------------- */

#define TS_MAX_WORKERS 256
#define TS_MAX_HEAD    ((size_t)64 * 1024)
#define TS_MAX_BODY    (4u << 20)
#define TS_ECHO_MAX    (1u << 20)

struct ts_server {
    int ts_fd;
    int ts_port;
    pthread_t ts_thread;
    atomic_int ts_stop;
    atomic_int ts_conns;    /* connections accepted */
    atomic_int ts_requests; /* requests parsed */
    pthread_mutex_t ts_lock;
    pthread_t ts_workers[TS_MAX_WORKERS];
    int ts_nworkers;
};

struct ts_conn {
    struct ts_server *tc_srv;
    int tc_fd;
};

struct ts_req {
    char *rq_buf;      /* head (NUL-terminated at the blank line) then body */
    size_t rq_headlen; /* bytes of the head, through "\r\n\r\n" */
    char rq_method[16];
    char rq_target[8192];
    const char *rq_body;
    size_t rq_bodylen;
};

static struct ts_server srv;
static int closed_port; /* a port on which nothing listens */

static void ts_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Receives into p; returns bytes, 0 at EOF, -1 on error or when the server stops. */
static ssize_t ts_recv(struct ts_server *s, int fd, char *p, size_t cap)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    ssize_t n;

    for (;;) {
        if (atomic_load(&s->ts_stop))
            return -1;
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        n = recv(fd, p, cap, 0);
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

static int ts_send(int fd, const void *p, size_t n)
{
    const char *c = p;
    ssize_t w;

    while (n > 0) {
        w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int ts_send_str(int fd, const char *s)
{
    return ts_send(fd, s, strlen(s));
}

/* Sends a whole response with Content-Length. extra: more header lines, each "...\r\n". */
static int ts_respond(int fd, int status, const char *extra, const char *ctype, const char *body,
                      size_t blen)
{
    char head[1024];
    int n;

    n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\n%s%s%s%sContent-Length: %zu\r\n\r\n", status,
                 extra ? extra : "", ctype ? "Content-Type: " : "", ctype ? ctype : "",
                 ctype ? "\r\n" : "", blen);
    if (n < 0 || (size_t)n >= sizeof(head))
        return -1;
    if (ts_send(fd, head, (size_t)n) != 0)
        return -1;
    return blen ? ts_send(fd, body, blen) : 0;
}

/* Returns the value of header name in the request head (copied into out), or NULL. */
static const char *ts_header(const struct ts_req *rq, const char *name, char *out, size_t cap)
{
    const char *p = strstr(rq->rq_buf, "\r\n"), *end, *colon;
    size_t nlen = strlen(name), vlen;

    while (p && p[2] != '\r') {
        p += 2;
        end = strstr(p, "\r\n");
        colon = memchr(p, ':', (size_t)(end - p));
        if (colon && (size_t)(colon - p) == nlen && strncasecmp(p, name, nlen) == 0) {
            colon++;
            while (*colon == ' ')
                colon++;
            vlen = (size_t)(end - colon);
            if (vlen >= cap)
                vlen = cap - 1;
            memcpy(out, colon, vlen);
            out[vlen] = '\0';
            return out;
        }
        p = end;
    }
    return NULL;
}

/*
 * Reads one request. Returns 1 with rq filled, 0 when the peer closed, -1 on error, and
 * 2 when the first byte is a TLS handshake record (the caller answers in plain text).
 */
static int ts_read_request(struct ts_server *s, int fd, struct ts_req *rq)
{
    size_t have = 0, need, i, j;
    char *eoh, clbuf[32], *endp;
    unsigned long long clen = 0;
    ssize_t n;

    for (;;) {
        n = ts_recv(s, fd, rq->rq_buf + have, TS_MAX_HEAD - have);
        if (n <= 0)
            return n == 0 && have == 0 ? 0 : -1;
        have += (size_t)n;
        if ((unsigned char)rq->rq_buf[0] == 0x16)
            return 2;
        rq->rq_buf[have] = '\0';
        eoh = strstr(rq->rq_buf, "\r\n\r\n");
        if (eoh)
            break;
        if (have == TS_MAX_HEAD)
            return -1;
    }
    rq->rq_headlen = (size_t)(eoh - rq->rq_buf) + 4;
    for (i = 0; i < sizeof(rq->rq_method) - 1 && rq->rq_buf[i] != ' '; i++)
        rq->rq_method[i] = rq->rq_buf[i];
    rq->rq_method[i] = '\0';
    for (i++, j = 0; j < sizeof(rq->rq_target) - 1 && rq->rq_buf[i] != ' '; i++, j++)
        rq->rq_target[j] = rq->rq_buf[i];
    rq->rq_target[j] = '\0';
    if (ts_header(rq, "Content-Length", clbuf, sizeof(clbuf))) {
        clen = strtoull(clbuf, &endp, 10);
        if (*endp || clen > TS_MAX_BODY)
            return -1;
    }
    need = rq->rq_headlen + (size_t)clen;
    while (have < need) {
        n = ts_recv(s, fd, rq->rq_buf + have, need - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
    rq->rq_body = rq->rq_buf + rq->rq_headlen;
    rq->rq_bodylen = (size_t)clen;
    rq->rq_buf[rq->rq_headlen - 2] = '\0'; /* the head ends with its last "\r\n" */
    atomic_fetch_add(&s->ts_requests, 1);
    return 1;
}

/* /echo: the request as JSON {method, target, headers{lower-case name: value}, bodylen, bodyhex}.
 */
static int ts_echo(int fd, const struct ts_req *rq)
{
    json_t *o = json_object(), *h = json_object();
    const char *p = strstr(rq->rq_buf, "\r\n"), *end, *colon, *v;
    char name[256], *hex, *out;
    size_t i, nlen, n;
    int rc = -1;

    hex = malloc(rq->rq_bodylen * 2 + 1);
    out = malloc(TS_ECHO_MAX);
    if (!o || !h || !hex || !out)
        goto done;
    while (p && p[2] != '\0') {
        p += 2;
        end = strstr(p, "\r\n");
        if (!end)
            break;
        colon = memchr(p, ':', (size_t)(end - p));
        if (colon) {
            nlen = (size_t)(colon - p) < sizeof(name) - 1 ? (size_t)(colon - p) : sizeof(name) - 1;
            for (i = 0; i < nlen; i++)
                name[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i]);
            name[nlen] = '\0';
            for (v = colon + 1; *v == ' '; v++)
                ;
            json_object_set_new(h, name, json_stringn(v, (size_t)(end - v)));
        }
        p = end;
    }
    for (i = 0; i < rq->rq_bodylen; i++)
        (void)snprintf(hex + 2 * i, 3, "%02x", (unsigned char)rq->rq_body[i]);
    hex[2 * rq->rq_bodylen] = '\0';
    json_object_set_new(o, "method", json_string(rq->rq_method));
    json_object_set_new(o, "target", json_string(rq->rq_target));
    json_object_set(o, "headers", h);
    json_object_set_new(o, "bodylen", json_integer((json_int_t)rq->rq_bodylen));
    if (rq->rq_bodylen <= 4096)
        json_object_set_new(o, "bodyhex", json_string(hex));
    n = json_dumpb(o, out, TS_ECHO_MAX, JSON_COMPACT | JSON_SORT_KEYS);
    if (n == 0 || n > TS_ECHO_MAX)
        goto done;
    rc = ts_respond(fd, 200, NULL, "application/json", out, n);
done:
    json_decref(h);
    json_decref(o);
    free(hex);
    free(out);
    return rc;
}

/* Sends n bytes of 'a' with Content-Length, or chunked. */
static int ts_send_size(int fd, size_t n, int chunked)
{
    char block[4096], line[64];
    size_t k;

    memset(block, 'a', sizeof(block));
    if (!chunked) {
        (void)snprintf(line, sizeof(line), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
        if (ts_send_str(fd, line) != 0)
            return -1;
    } else if (ts_send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") != 0) {
        return -1;
    }
    while (n > 0) {
        k = n < sizeof(block) ? n : sizeof(block);
        if (chunked) {
            (void)snprintf(line, sizeof(line), "%zx\r\n", k);
            if (ts_send_str(fd, line) != 0)
                return -1;
        }
        if (ts_send(fd, block, k) != 0 || (chunked && ts_send_str(fd, "\r\n") != 0))
            return -1;
        n -= k;
    }
    return chunked ? ts_send_str(fd, "0\r\n\r\n") : 0;
}

/* Waits until the peer closes (or the server stops). */
static void ts_wait_close(struct ts_server *s, int fd)
{
    char sink[4096];

    while (ts_recv(s, fd, sink, sizeof(sink)) > 0)
        ;
}

/* Answers one request; returns 1 to keep the connection, 0 to close it. */
static int ts_handle(struct ts_server *s, int fd, const struct ts_req *rq)
{
    const char *path = rq->rq_target, *q;
    char route[256];
    size_t len;
    int i, rc;

    /* A proxy request carries an absolute URL: route on its path. */
    if (strncmp(path, "http://", 7) == 0) {
        q = strchr(path + 7, '/');
        path = q ? q : "/";
    }
    if (strncmp(path, "/prefix/", 8) == 0)
        path += 7;
    len = strcspn(path, "?");
    if (len >= sizeof(route))
        return 0;
    memcpy(route, path, len);
    route[len] = '\0';

    if (strcmp(route, "/echo") == 0)
        return ts_echo(fd, rq) == 0;
    if (strcmp(route, "/headers") == 0)
        return ts_send_str(fd, "HTTP/1.1 200 OK\r\n"
                               "Content-Type: application/json; charset=utf-8\r\n"
                               "Content-Range: 1-50/1134\r\n"
                               "1Password-Connect-Version: 1.8.1\r\n"
                               "Retry-After:   7  \r\n"
                               "X-Dup: first\r\n"
                               "X-Dup: second\r\n"
                               "X-Empty:\r\n"
                               "Content-Length: 2\r\n\r\n{}") == 0;
    if (strcmp(route, "/continue") == 0)
        return ts_send_str(fd,
                           "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
                           "HTTP/1.1 200 OK\r\nX-Final: yes\r\nContent-Length: 2\r\n\r\nok") == 0;
    if (strcmp(route, "/err/404") == 0)
        return ts_respond(fd, 404, NULL, "application/json",
                          "{\"status\":404,\"message\":\"item abc not found\"}", 45) == 0;
    if (strcmp(route, "/err/text500") == 0)
        return ts_respond(fd, 500, NULL, "text/plain", "upstream exploded", 17) == 0;
    if (strcmp(route, "/err/empty503") == 0)
        return ts_respond(fd, 503, "Retry-After: 2\r\n", NULL, NULL, 0) == 0;
    if (strcmp(route, "/redirect") == 0)
        return ts_respond(fd, 302, "Location: /echo\r\n", NULL, NULL, 0) == 0;
    if (strncmp(route, "/size/", 6) == 0)
        return ts_send_size(fd, strtoul(route + 6, NULL, 10), 0) == 0;
    if (strncmp(route, "/chunked/", 9) == 0)
        return ts_send_size(fd, strtoul(route + 9, NULL, 10), 1) == 0;
    if (strcmp(route, "/bigheaders") == 0) {
        char line[1100];

        if (ts_send_str(fd, "HTTP/1.1 200 OK\r\n") != 0)
            return 0;
        for (i = 0; i < 70; i++) {
            rc = snprintf(line, sizeof(line), "X-Pad-%02d: %01000d\r\n", i, 0);
            if (rc < 0 || ts_send(fd, line, (size_t)rc) != 0)
                return 0;
        }
        return ts_send_str(fd, "Content-Length: 0\r\n\r\n") == 0;
    }
    if (strcmp(route, "/slow") == 0) {
        if (ts_send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n") != 0)
            return 0;
        for (i = 0; i < 10; i++) {
            ts_sleep_ms(100);
            if (atomic_load(&s->ts_stop) || ts_send(fd, &"0123456789"[i], 1) != 0)
                return 0;
        }
        return 1;
    }
    if (strcmp(route, "/hang") == 0) {
        ts_wait_close(s, fd);
        return 0;
    }
    if (strcmp(route, "/close") == 0)
        return 0;
    (void)ts_respond(fd, 404, NULL, "text/plain", "no route", 8);
    return 1;
}

static void *ts_worker(void *arg)
{
    struct ts_conn *tc = arg;
    struct ts_req rq;
    int r;

    memset(&rq, 0, sizeof(rq));
    rq.rq_buf = malloc(TS_MAX_HEAD + TS_MAX_BODY + 1);
    while (rq.rq_buf) {
        r = ts_read_request(tc->tc_srv, tc->tc_fd, &rq);
        if (r == 2) /* TLS ClientHello on a plain port: answer as a plain server would */
            (void)ts_send_str(tc->tc_fd, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                                         "Content-Length: 0\r\n\r\n");
        if (r != 1 || !ts_handle(tc->tc_srv, tc->tc_fd, &rq))
            break;
    }
    free(rq.rq_buf);
    close(tc->tc_fd);
    free(tc);
    return NULL;
}

static void *ts_accept_loop(void *arg)
{
    struct ts_server *s = arg;
    struct pollfd pfd = {.fd = s->ts_fd, .events = POLLIN};
    struct ts_conn *tc;
    int fd;

    while (!atomic_load(&s->ts_stop)) {
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        fd = accept(s->ts_fd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&s->ts_conns, 1);
        tc = malloc(sizeof(*tc));
        pthread_mutex_lock(&s->ts_lock);
        if (!tc || s->ts_nworkers == TS_MAX_WORKERS) {
            pthread_mutex_unlock(&s->ts_lock);
            free(tc);
            close(fd);
            continue;
        }
        tc->tc_srv = s;
        tc->tc_fd = fd;
        if (pthread_create(&s->ts_workers[s->ts_nworkers], NULL, ts_worker, tc) == 0)
            s->ts_nworkers++;
        else {
            close(fd);
            free(tc);
        }
        pthread_mutex_unlock(&s->ts_lock);
    }
    return NULL;
}

/* Binds a TCP socket to 127.0.0.1:0 and returns it (port in *port), or -1. */
static int ts_bind_loopback(int *port)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    if (fd < 0)
        return -1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

static int ts_start(struct ts_server *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->ts_lock, NULL);
    s->ts_fd = ts_bind_loopback(&s->ts_port);
    if (s->ts_fd < 0 || listen(s->ts_fd, 64) != 0)
        return -1;
    return pthread_create(&s->ts_thread, NULL, ts_accept_loop, s) == 0 ? 0 : -1;
}

static void ts_stop(struct ts_server *s)
{
    int i;

    atomic_store(&s->ts_stop, 1);
    pthread_join(s->ts_thread, NULL);
    for (i = 0; i < s->ts_nworkers; i++)
        pthread_join(s->ts_workers[i], NULL);
    close(s->ts_fd);
    pthread_mutex_destroy(&s->ts_lock);
}

/* ---------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------- */

static char base_url[64];

static struct http_client *client_new_opts(const char *base, long timeout_ms, size_t max_body)
{
    struct http_client_config cfg = {0};
    struct http_client *c = NULL;
    char msg[256];

    cfg.hcc_base_url = base;
    cfg.hcc_timeout_ms = timeout_ms;
    cfg.hcc_max_body = max_body;
    assert_int_equal(http_client_new(&c, &cfg, msg, sizeof(msg)), ERR_OK);
    assert_string_equal(msg, "");
    assert_non_null(c);
    return c;
}

static struct http_client *client_new(void)
{
    return client_new_opts(base_url, 0, 0);
}

/* Sends a request without headers or body. */
static enum err do_get(struct http_client *c, enum http_client_method m, const char *path,
                       struct http_client_response *resp)
{
    struct http_client_request req = {0};

    req.hq_method = m;
    req.hq_path = path;
    return http_client_request(c, &req, resp);
}

/* Parses an /echo answer; the caller json_decref()s it. */
static json_t *echo_json(const struct http_client_response *resp)
{
    json_t *j;

    assert_int_equal(resp->hr_status, 200);
    j = json_loadb(resp->hr_body.b_data, resp->hr_body.b_len, 0, NULL);
    assert_non_null(j);
    return j;
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const char *jhdr(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(json_object_get(o, "headers"), name));
}

/* Returns 1 when msg starts with prefix. */
static int starts_with(const char *msg, const char *prefix)
{
    return strncmp(msg, prefix, strlen(prefix)) == 0;
}

/* ---------------------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------------------- */

struct url_case {
    const char *url;
    enum err rc;
    const char *msg;  /* expected errmsg (prefix when it ends with '(') */
    const char *base; /* expected normalised base on success */
};

#define SCHEME_MSG "the base URL must start with http:// or https:// and a host"

static const struct url_case url_cases[] = {
    {NULL, ERR_CONFIG, "the base URL is empty", NULL},
    {"", ERR_CONFIG, "the base URL is empty", NULL},
    {"ftp://127.0.0.1/", ERR_CONFIG, SCHEME_MSG, NULL},
    {"file:///etc/passwd", ERR_CONFIG, SCHEME_MSG, NULL},
    {"gopher://127.0.0.1/", ERR_CONFIG, SCHEME_MSG, NULL},
    {"127.0.0.1:8080", ERR_CONFIG, SCHEME_MSG, NULL},
    {"localhost", ERR_CONFIG, SCHEME_MSG, NULL},
    {"//127.0.0.1/", ERR_CONFIG, SCHEME_MSG, NULL},
    {"http://", ERR_CONFIG, SCHEME_MSG, NULL},
    {"https://", ERR_CONFIG, SCHEME_MSG, NULL},
    {"http:///x", ERR_CONFIG, SCHEME_MSG, NULL},
    {"http:/127.0.0.1", ERR_CONFIG, SCHEME_MSG, NULL},
    {"http:127.0.0.1", ERR_CONFIG, SCHEME_MSG, NULL},
    {" http://127.0.0.1", ERR_CONFIG, SCHEME_MSG, NULL},
    {"http://user:secret@127.0.0.1/", ERR_CONFIG, "the base URL must not hold credentials", NULL},
    {"http://user@127.0.0.1/", ERR_CONFIG, "the base URL must not hold credentials", NULL},
    {"http://127.0.0.1/?a=b", ERR_CONFIG, "the base URL must not have a query or a fragment", NULL},
    {"http://127.0.0.1/#frag", ERR_CONFIG, "the base URL must not have a query or a fragment",
     NULL},
    {"http://127.0.0.1/a b", ERR_CONFIG, "the base URL is malformed (", NULL},
    {"http://127.0.0.1:99999/", ERR_CONFIG, "the base URL is malformed (", NULL},
    {"http://127.0.0.1:1", ERR_OK, "", "http://127.0.0.1:1"},
    {"http://127.0.0.1:8080/", ERR_OK, "", "http://127.0.0.1:8080"},
    {"HTTPS://hub.example.com///", ERR_OK, "", "https://hub.example.com"},
    {"https://hub.example.com/connect/", ERR_OK, "", "https://hub.example.com/connect"},
    {"http://[::1]:8080", ERR_OK, "", "http://[::1]:8080"},
};

static void test_config_base_urls(void **state)
{
    struct http_client_config cfg = {0};
    struct http_client *c;
    char msg[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
        const struct url_case *uc = &url_cases[i];

        cfg.hcc_base_url = uc->url;
        c = (struct http_client *)&cfg; /* proves *out is reset */
        assert_int_equal(http_client_new(&c, &cfg, msg, sizeof(msg)), uc->rc);
        if (uc->msg[0] && uc->msg[strlen(uc->msg) - 1] == '(')
            assert_true(starts_with(msg, uc->msg));
        else
            assert_string_equal(msg, uc->msg);
        if (uc->rc != ERR_OK) {
            assert_null(c);
            continue;
        }
        assert_string_equal(http_client_base_url(c), uc->base);
        http_client_free(c);
    }
    /* A base URL longer than HTTP_MAX_URL_BYTES. */
    {
        char *longurl = malloc(5000);

        assert_non_null(longurl);
        memcpy(longurl, "http://a/", 9);
        memset(longurl + 9, 'x', 5000 - 10);
        longurl[4999] = '\0';
        cfg.hcc_base_url = longurl;
        assert_int_equal(http_client_new(&c, &cfg, msg, sizeof(msg)), ERR_CONFIG);
        assert_string_equal(msg, "the base URL is longer than 4096 bytes");
        free(longurl);
    }
    assert_int_equal(http_client_new(&c, NULL, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, "no client configuration");
    assert_null(http_client_base_url(NULL));
}

#define PIN_A   "sha256//Q69QU9GPBHJEvLFQpewpxcqq+2qWJDp4rCFfeuPhKV4="
#define PIN_B   "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define PIN_MSG "the pinned key must be sha256//<base64 of 32 bytes>, ';'-separated"

struct opt_case {
    const char *base;
    const char *pin;
    const char *ca;
    const char *proxy;
    long connect_ms, total_ms;
    enum err rc;
    const char *msg;
};

static const struct opt_case opt_cases[] = {
    {"https://127.0.0.1", PIN_A, NULL, NULL, 0, 0, ERR_OK, ""},
    {"https://127.0.0.1", PIN_A ";" PIN_B, NULL, NULL, 0, 0, ERR_OK, ""},
    {"https://127.0.0.1", "SHA256//Q69QU9GPBHJEvLFQpewpxcqq+2qWJDp4rCFfeuPhKV4=", NULL, NULL, 0, 0,
     ERR_CONFIG, PIN_MSG}, /* curl reads anything but "sha256//" as a file name */
    {"https://127.0.0.1", "", NULL, NULL, 0, 0, ERR_CONFIG, PIN_MSG},
    {"https://127.0.0.1", "sha256//", NULL, NULL, 0, 0, ERR_CONFIG, PIN_MSG},
    {"https://127.0.0.1", "Q69QU9GPBHJEvLFQpewpxcqq+2qWJDp4rCFfeuPhKV4=", NULL, NULL, 0, 0,
     ERR_CONFIG, PIN_MSG},
    {"https://127.0.0.1", "sha1//Q69QU9GPBHJEvLFQpewpxcqq+2qWJDp4rCFfeuPhKV4=", NULL, NULL, 0, 0,
     ERR_CONFIG, PIN_MSG},
    /* base64url alphabet, unpadded, 31 bytes, trailing ';', hex digest */
    {"https://127.0.0.1", "sha256//Q69QU9GPBHJEvLFQpewpxcqq-2qWJDp4rCFfeuPhKV4=", NULL, NULL, 0, 0,
     ERR_CONFIG, PIN_MSG},
    {"https://127.0.0.1", "sha256//Q69QU9GPBHJEvLFQpewpxcqq+2qWJDp4rCFfeuPhKV4", NULL, NULL, 0, 0,
     ERR_CONFIG, PIN_MSG},
    {"https://127.0.0.1", "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", NULL, NULL, 0, 0,
     ERR_CONFIG, PIN_MSG},
    {"https://127.0.0.1", PIN_A ";", NULL, NULL, 0, 0, ERR_CONFIG, PIN_MSG},
    {"https://127.0.0.1",
     "sha256//43ebd053d18f04724bcb150a5ec29c5caaabed96a2583a78ac215f7ae3e1295e", NULL, NULL, 0, 0,
     ERR_CONFIG, PIN_MSG},
    {"http://127.0.0.1", PIN_A, NULL, NULL, 0, 0, ERR_CONFIG,
     "a pinned key needs an https:// base URL"},
    {"https://127.0.0.1", NULL, "/nonexistent/ca.pem", NULL, 0, 0, ERR_CONFIG,
     "the CA file cannot be read"},
    {"https://127.0.0.1", NULL, "", NULL, 0, 0, ERR_CONFIG, "the CA file cannot be read"},
    {"https://127.0.0.1", NULL, NULL, "http://proxy .example:3128", 0, 0, ERR_CONFIG,
     "the proxy URL is malformed"},
    {"https://127.0.0.1", NULL, NULL, "", 0, 0, ERR_OK, ""},
    {"https://127.0.0.1", NULL, NULL, "http://127.0.0.1:3128", 0, 0, ERR_OK, ""},
    {"http://127.0.0.1", NULL, NULL, NULL, -1, 0, ERR_CONFIG, "timeouts must be 0 to 3600000 ms"},
    {"http://127.0.0.1", NULL, NULL, NULL, 0, -5, ERR_CONFIG, "timeouts must be 0 to 3600000 ms"},
    {"http://127.0.0.1", NULL, NULL, NULL, 0, 3600001, ERR_CONFIG,
     "timeouts must be 0 to 3600000 ms"},
    {"http://127.0.0.1", NULL, NULL, NULL, 3600000, 3600000, ERR_OK, ""},
};

static void test_config_options(void **state)
{
    struct http_client_config cfg;
    struct http_client *c;
    char msg[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(opt_cases) / sizeof(opt_cases[0]); i++) {
        const struct opt_case *oc = &opt_cases[i];

        memset(&cfg, 0, sizeof(cfg));
        cfg.hcc_base_url = oc->base;
        cfg.hcc_pin = oc->pin;
        cfg.hcc_ca_file = oc->ca;
        cfg.hcc_proxy = oc->proxy;
        cfg.hcc_connect_timeout_ms = oc->connect_ms;
        cfg.hcc_timeout_ms = oc->total_ms;
        assert_int_equal(http_client_new(&c, &cfg, msg, sizeof(msg)), oc->rc);
        assert_string_equal(msg, oc->msg);
        if (oc->rc == ERR_OK)
            assert_non_null(c);
        else
            assert_null(c);
        http_client_free(c);
    }
    /* errmsg may be NULL. */
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(http_client_new(&c, &cfg, NULL, 0), ERR_CONFIG);
    assert_null(c);
    http_client_free(NULL);
}

/* Before http_client_global_init() nothing can be created; init/cleanup are counted. */
static void test_config_global_init(void **state)
{
    struct http_client_config cfg = {0};
    struct http_client *c;
    char msg[256];

    (void)state;
    cfg.hcc_base_url = "http://127.0.0.1:1";
    http_client_global_cleanup(); /* the group's reference: now uninitialised */
    assert_int_equal(http_client_new(&c, &cfg, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, "http_client_global_init() was not called");
    assert_null(c);
    http_client_global_cleanup(); /* one too many: harmless */
    assert_int_equal(http_client_global_init(), ERR_OK);
    assert_int_equal(http_client_global_init(), ERR_OK);
    http_client_global_cleanup(); /* still one reference */
    assert_int_equal(http_client_new(&c, &cfg, msg, sizeof(msg)), ERR_OK);
    http_client_free(c);
}

static void test_config_nomem(void **state)
{
    struct http_client_config cfg = {0};
    struct http_client *c;
    char msg[256];
    long n;
    enum err rc;

    (void)state;
    cfg.hcc_base_url = "https://127.0.0.1:8443/prefix";
    cfg.hcc_pin = PIN_A;
    for (n = 0;; n++) {
        mem_fail_after(n);
        rc = http_client_new(&c, &cfg, msg, sizeof(msg));
        mem_fail_after(-1);
        if (rc == ERR_OK)
            break;
        assert_int_equal(rc, ERR_NOMEM);
        assert_string_equal(msg, "out of memory");
        assert_null(c);
    }
    assert_true(n > 0);
    http_client_free(c);
}

/* ---------------------------------------------------------------------------------------
 * Escaping and request validation (nothing is sent)
 * ------------------------------------------------------------------------------------- */

struct esc_case {
    const char *in, *out;
};

static const struct esc_case esc_cases[] = {
    {"", ""},
    {"abcXYZ019-._~", "abcXYZ019-._~"},
    {"a b", "a%20b"},
    {"title eq \"My Item\"", "title%20eq%20%22My%20Item%22"},
    {"/?&=#+%;", "%2F%3F%26%3D%23%2B%25%3B"},
    {"\xc3\xa9t\xc3\xa9", "%C3%A9t%C3%A9"},
    {"\x01\x7f\xff", "%01%7F%FF"},
    {"C++", "C%2B%2B"},
};

static void test_escape(void **state)
{
    struct buf b;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
        buf_init(&b, 1024);
        assert_int_equal(http_client_escape(&b, esc_cases[i].in), ERR_OK);
        assert_string_equal(buf_str(&b), esc_cases[i].out);
        buf_free(&b);
    }
    /* Appends. */
    buf_init(&b, 1024);
    assert_int_equal(buf_add_str(&b, "/v1/x?filter="), ERR_OK);
    assert_int_equal(http_client_escape(&b, "a&b"), ERR_OK);
    assert_string_equal(buf_str(&b), "/v1/x?filter=a%26b");
    buf_free(&b);
    /* The cap holds (and empties the buffer). */
    buf_init(&b, 5);
    assert_int_equal(http_client_escape(&b, "ab c"), ERR_TOO_LARGE);
    assert_null(b.b_data);
    assert_int_equal(http_client_escape(&b, NULL), ERR_BAD_INPUT);
    assert_int_equal(http_client_escape(NULL, "x"), ERR_BAD_INPUT);
    /* NOMEM */
    buf_init(&b, 100);
    mem_fail_after(0);
    assert_int_equal(http_client_escape(&b, "a b"), ERR_NOMEM);
    mem_fail_after(-1);
    assert_null(b.b_data);
}

struct path_case {
    const char *path;
    const char *msg;
};

#define PCT_MSG "the path holds a character that must be percent-encoded"
#define DOT_MSG "the path has a '.' or '..' segment"

static const struct path_case path_cases[] = {
    {NULL, "the path must start with '/'"},
    {"", "the path must start with '/'"},
    {"v1/vaults", "the path must start with '/'"},
    {"?a=b", "the path must start with '/'"},
    {"http://evil.example/", "the path must start with '/'"},
    {"/a b", PCT_MSG},
    {"/a\r\nX-Injected: 1", PCT_MSG},
    {"/a\tb", PCT_MSG},
    {"/x#frag", PCT_MSG},
    {"/\xc3\xa9", PCT_MSG},
    {"/v1/../admin", DOT_MSG},
    {"/v1/./x", DOT_MSG},
    {"/..", DOT_MSG},
    {"/v1/..?a=b", DOT_MSG},
};

static void test_request_validation(void **state)
{
    struct http_client *c = client_new();
    struct http_client_response resp;
    struct http_client_request req = {0};
    int before = atomic_load(&srv.ts_requests);
    char *longpath;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
        assert_int_equal(do_get(c, HTTP_CLIENT_GET, path_cases[i].path, &resp), ERR_BAD_INPUT);
        assert_string_equal(resp.hr_errmsg, path_cases[i].msg);
        assert_int_equal(resp.hr_status, 0);
        assert_null(resp.hr_body.b_data);
    }
    /* Dot segments inside the query, or dots within a segment, are fine. */
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo?x=/../y&.=..", &resp), ERR_OK);
    http_client_response_free(&resp);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo/..a/.b./...", &resp), ERR_OK);
    assert_int_equal(resp.hr_status, 404); /* the server's "no route" */
    http_client_response_free(&resp);
    before += 2;

    longpath = malloc(4098);
    assert_non_null(longpath);
    longpath[0] = '/';
    memset(longpath + 1, 'a', 4096);
    longpath[4097] = '\0';
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, longpath, &resp), ERR_BAD_INPUT);
    assert_string_equal(resp.hr_errmsg, "the path is longer than 4096 bytes");
    free(longpath);

    /* Method and body. */
    assert_int_equal(do_get(c, (enum http_client_method)42, "/echo", &resp), ERR_BAD_INPUT);
    assert_string_equal(resp.hr_errmsg, "unknown method");
    req.hq_method = HTTP_CLIENT_GET;
    req.hq_path = "/echo";
    req.hq_body = "x";
    req.hq_body_len = 1;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_BAD_INPUT);
    assert_string_equal(resp.hr_errmsg, "GET: a GET request has no body");
    req.hq_method = HTTP_CLIENT_POST;
    req.hq_body = NULL;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_BAD_INPUT);
    assert_string_equal(resp.hr_errmsg, "POST: body missing");
    req.hq_body_len = 0;
    req.hq_timeout_ms = -1;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_BAD_INPUT);
    assert_string_equal(resp.hr_errmsg, "POST: timeout must be 0 to 3600000 ms");
    req.hq_timeout_ms = 0;
    assert_int_equal(http_client_request(NULL, &req, &resp), ERR_BAD_INPUT);
    assert_string_equal(resp.hr_errmsg, "no client or no request");
    assert_int_equal(http_client_request(c, NULL, &resp), ERR_BAD_INPUT);
    assert_int_equal(http_client_request(c, &req, NULL), ERR_BAD_INPUT);

    assert_int_equal(atomic_load(&srv.ts_requests), before);
    http_client_free(c);
}

struct hdr_case {
    const char *name, *value;
    const char *msg;
};

static const struct hdr_case hdr_cases[] = {
    {NULL, "v", "request header 0 is incomplete"},
    {"X-A", NULL, "request header 0 is incomplete"},
    {"", "v", "request header 0 is empty"},
    {"X-A", "", "request header 0 is empty"},
    {"X A", "v", "request header 0 has a bad name"},
    {"X-A:", "v", "request header 0 has a bad name"},
    {"X-\xc3\xa9", "v", "request header 0 has a bad name"},
    {"X-A", "v\r\nX-Injected: 1", "request header 0 has a bad value"},
    {"X-A", "v\n", "request header 0 has a bad value"},
    {"X-A", "v\x01", "request header 0 has a bad value"},
    {"X-A", "v\x7f", "request header 0 has a bad value"},
    {"X-A", " v", "request header 0 has a bad value"},
    {"Host", "evil.example", "request header 0 is managed by the client"},
    {"content-length", "5", "request header 0 is managed by the client"},
    {"Transfer-Encoding", "chunked", "request header 0 is managed by the client"},
    {"Connection", "close", "request header 0 is managed by the client"},
    {"Expect", "100-continue", "request header 0 is managed by the client"},
};

static void test_request_header_validation(void **state)
{
    struct http_client *c = client_new();
    struct http_client_response resp;
    struct http_client_request req = {0};
    struct http_client_header h[HTTP_CLIENT_MAX_HEADERS + 1];
    int before = atomic_load(&srv.ts_requests);
    char *big, names[HTTP_CLIENT_MAX_HEADERS][16];
    json_t *j;
    size_t i;

    (void)state;
    req.hq_method = HTTP_CLIENT_GET;
    req.hq_path = "/echo";
    req.hq_headers = h;
    req.hq_nheaders = 1;
    for (i = 0; i < sizeof(hdr_cases) / sizeof(hdr_cases[0]); i++) {
        h[0].hh_name = hdr_cases[i].name;
        h[0].hh_value = hdr_cases[i].value;
        assert_int_equal(http_client_request(c, &req, &resp), ERR_BAD_INPUT);
        assert_string_equal(resp.hr_errmsg, hdr_cases[i].msg);
    }
    for (i = 0; i < HTTP_CLIENT_MAX_HEADERS + 1; i++) {
        h[i].hh_name = "X-Many";
        h[i].hh_value = "1";
    }
    req.hq_nheaders = HTTP_CLIENT_MAX_HEADERS + 1;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_BAD_INPUT);
    assert_string_equal(resp.hr_errmsg, "more than 16 request headers");
    req.hq_headers = NULL;
    req.hq_nheaders = 1;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_BAD_INPUT);
    assert_string_equal(resp.hr_errmsg, "request headers missing");
    /* "X-Big: " + value over HTTP_CLIENT_MAX_HEADER_BYTES */
    big = malloc(HTTP_CLIENT_MAX_HEADER_BYTES);
    assert_non_null(big);
    memset(big, 'b', HTTP_CLIENT_MAX_HEADER_BYTES - 1);
    big[HTTP_CLIENT_MAX_HEADER_BYTES - 1] = '\0';
    h[0].hh_name = "X-Big";
    h[0].hh_value = big;
    req.hq_headers = h;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_BAD_INPUT);
    assert_string_equal(resp.hr_errmsg, "request header 0 is longer than 8192 bytes");
    free(big);
    assert_int_equal(atomic_load(&srv.ts_requests), before);

    /* 16 headers are fine and all arrive. */
    for (i = 0; i < HTTP_CLIENT_MAX_HEADERS; i++) {
        (void)snprintf(names[i], sizeof(names[i]), "X-H%zu", i);
        h[i].hh_name = names[i];
        h[i].hh_value = "v";
    }
    req.hq_nheaders = HTTP_CLIENT_MAX_HEADERS;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_OK);
    j = echo_json(&resp);
    for (i = 0; i < HTTP_CLIENT_MAX_HEADERS; i++) {
        char lower[16];

        (void)snprintf(lower, sizeof(lower), "x-h%zu", i);
        assert_string_equal(jhdr(j, lower), "v");
    }
    json_decref(j);
    http_client_response_free(&resp);
    http_client_free(c);
}

/* ---------------------------------------------------------------------------------------
 * Requests against the test server
 * ------------------------------------------------------------------------------------- */

static void test_echo_methods(void **state)
{
    static const char binary[] = {'a', '\0', 'b', '\xff', '\n'};
    struct http_client *c = client_new();
    struct http_client_response resp;
    struct http_client_request req = {0};
    struct http_client_header h[2];
    json_t *j;

    (void)state;
    /* GET with a query: no body headers; the User-Agent; no Expect. */
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo?filter=title%20eq%20%22A%22&x=1", &resp),
                     ERR_OK);
    assert_string_equal(resp.hr_errmsg, "");
    j = echo_json(&resp);
    assert_string_equal(jstr(j, "method"), "GET");
    assert_string_equal(jstr(j, "target"), "/echo?filter=title%20eq%20%22A%22&x=1");
    assert_string_equal(jhdr(j, "user-agent"), "sesame/" SESAME_VERSION);
    assert_string_equal(jhdr(j, "host"), base_url + 7);
    assert_null(jhdr(j, "content-type"));
    assert_null(jhdr(j, "content-length"));
    assert_null(jhdr(j, "expect"));
    assert_null(jhdr(j, "authorization"));
    assert_int_equal(json_integer_value(json_object_get(j, "bodylen")), 0);
    assert_string_equal(http_client_response_header(&resp, "Content-Type"), "application/json");
    json_decref(j);
    http_client_response_free(&resp);

    /* POST with a binary body and a custom header; Content-Type defaults to JSON. */
    h[0].hh_name = "X-Custom";
    h[0].hh_value = "one two\tthree";
    req.hq_method = HTTP_CLIENT_POST;
    req.hq_path = "/echo";
    req.hq_headers = h;
    req.hq_nheaders = 1;
    req.hq_body = binary;
    req.hq_body_len = sizeof(binary);
    assert_int_equal(http_client_request(c, &req, &resp), ERR_OK);
    j = echo_json(&resp);
    assert_string_equal(jstr(j, "method"), "POST");
    assert_string_equal(jstr(j, "target"), "/echo");
    assert_string_equal(jhdr(j, "content-type"), "application/json");
    assert_string_equal(jhdr(j, "content-length"), "5");
    assert_string_equal(jhdr(j, "x-custom"), "one two\tthree");
    assert_string_equal(jstr(j, "bodyhex"), "610062ff0a");
    json_decref(j);
    http_client_response_free(&resp);

    /* PUT; PATCH with the caller's Content-Type (sent once). */
    req.hq_method = HTTP_CLIENT_PUT;
    req.hq_nheaders = 0;
    req.hq_body = "{\"a\":1}";
    req.hq_body_len = 7;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_OK);
    j = echo_json(&resp);
    assert_string_equal(jstr(j, "method"), "PUT");
    assert_string_equal(jhdr(j, "content-type"), "application/json");
    assert_string_equal(jstr(j, "bodyhex"), "7b2261223a317d");
    json_decref(j);
    http_client_response_free(&resp);

    h[0].hh_name = "content-type";
    h[0].hh_value = "application/json-patch+json";
    req.hq_method = HTTP_CLIENT_PATCH;
    req.hq_nheaders = 1;
    req.hq_body = "[]";
    req.hq_body_len = 2;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_OK);
    j = echo_json(&resp);
    assert_string_equal(jstr(j, "method"), "PATCH");
    assert_string_equal(jhdr(j, "content-type"), "application/json-patch+json");
    assert_string_equal(jstr(j, "bodyhex"), "5b5d");
    json_decref(j);
    http_client_response_free(&resp);

    /* DELETE without a body: no body headers at all. */
    assert_int_equal(do_get(c, HTTP_CLIENT_DELETE, "/echo/x", &resp), ERR_OK);
    assert_int_equal(resp.hr_status, 404);
    http_client_response_free(&resp);
    assert_int_equal(do_get(c, HTTP_CLIENT_DELETE, "/echo", &resp), ERR_OK);
    j = echo_json(&resp);
    assert_string_equal(jstr(j, "method"), "DELETE");
    assert_null(jhdr(j, "content-length"));
    assert_null(jhdr(j, "content-type"));
    json_decref(j);
    http_client_response_free(&resp);

    /* DELETE with a body. */
    req.hq_method = HTTP_CLIENT_DELETE;
    req.hq_nheaders = 0;
    req.hq_body = "{}";
    req.hq_body_len = 2;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_OK);
    j = echo_json(&resp);
    assert_string_equal(jstr(j, "method"), "DELETE");
    assert_string_equal(jhdr(j, "content-length"), "2");
    assert_string_equal(jhdr(j, "content-type"), "application/json");
    assert_string_equal(jstr(j, "bodyhex"), "7b7d");
    json_decref(j);
    http_client_response_free(&resp);

    /* POST with an empty body: Content-Length 0. */
    req.hq_method = HTTP_CLIENT_POST;
    req.hq_nheaders = 0;
    req.hq_body = NULL;
    req.hq_body_len = 0;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_OK);
    j = echo_json(&resp);
    assert_string_equal(jstr(j, "method"), "POST");
    assert_string_equal(jhdr(j, "content-length"), "0");
    assert_string_equal(jstr(j, "bodyhex"), "");
    json_decref(j);
    http_client_response_free(&resp);

    /* GET after POST on the same handle is a GET again. */
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo", &resp), ERR_OK);
    j = echo_json(&resp);
    assert_string_equal(jstr(j, "method"), "GET");
    assert_null(jhdr(j, "content-length"));
    json_decref(j);
    http_client_response_free(&resp);

    assert_string_equal(http_client_method_name(HTTP_CLIENT_PATCH), "PATCH");
    assert_null(http_client_method_name((enum http_client_method)99));
    http_client_free(c);
}

/*
 * A body over 1 MiB is sent at once: curl would otherwise add "Expect: 100-continue" and
 * wait up to a second for an interim answer before sending it.
 */
static void test_large_post(void **state)
{
    struct http_client *c = client_new();
    struct http_client_response resp;
    struct http_client_request req = {0};
    char *body = malloc(3u << 20);
    json_t *j;

    (void)state;
    assert_non_null(body);
    memset(body, 'z', 3u << 20);
    req.hq_method = HTTP_CLIENT_PUT;
    req.hq_path = "/echo";
    req.hq_body = body;
    req.hq_body_len = 3u << 20;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_OK);
    j = echo_json(&resp);
    assert_null(jhdr(j, "expect"));
    assert_int_equal(json_integer_value(json_object_get(j, "bodylen")), 3u << 20);
    json_decref(j);
    http_client_response_free(&resp);
    free(body);
    http_client_free(c);
}

static void test_base_prefix(void **state)
{
    char base[96];
    struct http_client *c;
    struct http_client_response resp;
    json_t *j;

    (void)state;
    (void)snprintf(base, sizeof(base), "%s/prefix/", base_url);
    c = client_new_opts(base, 0, 0);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo?a=1", &resp), ERR_OK);
    j = echo_json(&resp);
    assert_string_equal(jstr(j, "target"), "/prefix/echo?a=1");
    json_decref(j);
    http_client_response_free(&resp);
    http_client_free(c);
}

static void test_response_headers(void **state)
{
    struct http_client *c = client_new();
    struct http_client_response resp;

    (void)state;
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/headers", &resp), ERR_OK);
    assert_int_equal(resp.hr_status, 200);
    assert_string_equal(buf_str(&resp.hr_body), "{}");
    assert_string_equal(http_client_response_header(&resp, "Content-Type"),
                        "application/json; charset=utf-8");
    assert_string_equal(http_client_response_header(&resp, "content-range"), "1-50/1134");
    assert_string_equal(http_client_response_header(&resp, "1Password-Connect-Version"), "1.8.1");
    assert_string_equal(http_client_response_header(&resp, "RETRY-AFTER"), "7");
    assert_string_equal(http_client_response_header(&resp, "X-Dup"), "first");
    assert_string_equal(http_client_response_header(&resp, "X-Empty"), "");
    assert_string_equal(http_client_response_header(&resp, "Content-Length"), "2");
    assert_null(http_client_response_header(&resp, "X-Missing"));
    assert_null(http_client_response_header(&resp, "Content"));
    assert_null(http_client_response_header(&resp, NULL));
    assert_null(http_client_response_header(NULL, "X-Dup"));
    http_client_response_free(&resp);
    assert_null(http_client_response_header(&resp, "X-Dup"));

    /* Only the final response's headers are kept. */
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/continue", &resp), ERR_OK);
    assert_int_equal(resp.hr_status, 200);
    assert_null(http_client_response_header(&resp, "X-Interim"));
    assert_string_equal(http_client_response_header(&resp, "X-Final"), "yes");
    assert_string_equal(buf_str(&resp.hr_body), "ok");
    http_client_response_free(&resp);

    /* Redirects are returned, not followed. */
    {
        int before = atomic_load(&srv.ts_requests);

        assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/redirect", &resp), ERR_OK);
        assert_int_equal(resp.hr_status, 302);
        assert_string_equal(http_client_response_header(&resp, "Location"), "/echo");
        assert_int_equal(resp.hr_body.b_len, 0);
        assert_int_equal(atomic_load(&srv.ts_requests), before + 1);
        http_client_response_free(&resp);
    }

    /* Headers over HTTP_CLIENT_MAX_RESPONSE_HEADER_BYTES. */
    {
        char want[160];

        assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/bigheaders", &resp), ERR_TOO_LARGE);
        (void)snprintf(want, sizeof(want),
                       "GET %s/bigheaders: the response headers are over 65536 bytes", base_url);
        assert_string_equal(resp.hr_errmsg, want);
        assert_int_equal(resp.hr_status, 0);
        assert_null(resp.hr_headers.b_data);
    }
    http_client_free(c);
}

struct status_case {
    int status;
    const char *body;
    enum err rc;
    const char *msg;
};

static const struct status_case status_cases[] = {
    {200, "", ERR_OK, ""},
    {204, "", ERR_OK, ""},
    {299, "{\"status\":299,\"message\":\"odd\"}", ERR_OK, ""},
    {400, "{\"status\":400,\"message\":\"Invalid Vault UUID\"}", ERR_BAD_INPUT,
     "Invalid Vault UUID"},
    {401, "{\"status\":401,\"message\":\"Invalid bearer token\"}", ERR_UNAUTHORIZED,
     "Invalid bearer token"},
    {403, "{\"status\":403,\"message\":\"Authorization: token does not have access to vault\"}",
     ERR_FORBIDDEN, "Authorization: token does not have access to vault"},
    {404, "{\"status\":404,\"message\":\"vault abc not found\"}", ERR_NOT_FOUND,
     "vault abc not found"},
    {405, "", ERR_METHOD, "HTTP 405"},
    {409, "{\"status\":409,\"message\":\"Conflict\"}", ERR_CONFLICT, "Conflict"},
    {413, "{\"message\":\"File is too large\"}", ERR_TOO_LARGE, "File is too large"},
    {418, "{\"status\":418}", ERR_BAD_INPUT, "HTTP 418"},
    {429, "not json", ERR_RATE_LIMITED, "HTTP 429"},
    {500, "{\"status\":500,\"message\":\"Something went wrong\"}", ERR_UPSTREAM,
     "Something went wrong"},
    {502, "<html>bad gateway</html>", ERR_UPSTREAM, "HTTP 502"},
    {503, "", ERR_UPSTREAM, "HTTP 503"},
    {504, "{\"status\":504,\"message\":\"timeout\"}", ERR_TIMEOUT, "timeout"},
    {302, "", ERR_UPSTREAM, "HTTP 302"},
    /* Not the convention: message not a string, status not an integer, an array, empty. */
    {400, "{\"status\":400,\"message\":42}", ERR_BAD_INPUT, "HTTP 400"},
    {400, "{\"status\":\"400\",\"message\":\"x\"}", ERR_BAD_INPUT, "HTTP 400"},
    {400, "[\"x\"]", ERR_BAD_INPUT, "HTTP 400"},
    {400, "{\"status\":400,\"message\":\"\"}", ERR_BAD_INPUT, "HTTP 400"},
    {400, "{\"message\":\"a\",\"message\":\"b\"}", ERR_BAD_INPUT, "HTTP 400"},
    /* Control characters are neutralised (terminals, logs). */
    {400, "{\"status\":400,\"message\":\"bad\\u0001\\nthing\\u001b[31m\"}", ERR_BAD_INPUT,
     "bad??thing?[31m"},
};

static void test_response_error_table(void **state)
{
    struct http_client_response resp;
    char msg[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(status_cases) / sizeof(status_cases[0]); i++) {
        memset(&resp, 0, sizeof(resp));
        resp.hr_status = status_cases[i].status;
        buf_init(&resp.hr_body, 1024);
        assert_int_equal(buf_add_str(&resp.hr_body, status_cases[i].body), ERR_OK);
        assert_int_equal(http_client_response_error(&resp, msg, sizeof(msg)), status_cases[i].rc);
        assert_string_equal(msg, status_cases[i].msg);
        assert_int_equal(http_client_response_error(&resp, NULL, 0), status_cases[i].rc);
        http_client_response_free(&resp);
    }
    /* A long message is cut without splitting a UTF-8 sequence. */
    memset(&resp, 0, sizeof(resp));
    resp.hr_status = 404;
    buf_init(&resp.hr_body, 1024);
    assert_int_equal(buf_add_str(&resp.hr_body, "{\"message\":\"abcdefgh\xc3\xa9z\"}"), ERR_OK);
    assert_int_equal(http_client_response_error(&resp, msg, 10), ERR_NOT_FOUND);
    assert_string_equal(msg, "abcdefgh");
    assert_int_equal(http_client_response_error(&resp, msg, 11), ERR_NOT_FOUND);
    assert_string_equal(msg, "abcdefgh\xc3\xa9");
    http_client_response_free(&resp);
    assert_int_equal(http_client_response_error(NULL, msg, sizeof(msg)), ERR_INTERNAL);
}

static void test_error_statuses(void **state)
{
    struct http_client *c = client_new();
    struct http_client_response resp;
    char msg[128];

    (void)state;
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/err/404", &resp), ERR_OK);
    assert_int_equal(resp.hr_status, 404);
    assert_string_equal(resp.hr_errmsg, "");
    assert_int_equal(http_client_response_error(&resp, msg, sizeof(msg)), ERR_NOT_FOUND);
    assert_string_equal(msg, "item abc not found");
    http_client_response_free(&resp);

    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/err/text500", &resp), ERR_OK);
    assert_int_equal(resp.hr_status, 500);
    assert_string_equal(buf_str(&resp.hr_body), "upstream exploded");
    assert_int_equal(http_client_response_error(&resp, msg, sizeof(msg)), ERR_UPSTREAM);
    assert_string_equal(msg, "HTTP 500");
    http_client_response_free(&resp);

    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/err/empty503", &resp), ERR_OK);
    assert_int_equal(resp.hr_status, 503);
    assert_string_equal(http_client_response_header(&resp, "Retry-After"), "2");
    assert_int_equal(http_client_response_error(&resp, msg, sizeof(msg)), ERR_UPSTREAM);
    assert_string_equal(msg, "HTTP 503");
    http_client_response_free(&resp);
    http_client_free(c);
}

static void test_body_cap(void **state)
{
    struct http_client *c = client_new_opts(base_url, 0, 1000);
    struct http_client_response resp;
    struct http_client_request req = {0};
    char want[160];
    size_t i;

    (void)state;
    /* Exactly the cap: fine, by Content-Length and chunked. */
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/size/1000", &resp), ERR_OK);
    assert_int_equal(resp.hr_body.b_len, 1000);
    for (i = 0; i < 1000; i++)
        assert_int_equal(resp.hr_body.b_data[i], 'a');
    http_client_response_free(&resp);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/chunked/1000", &resp), ERR_OK);
    assert_int_equal(resp.hr_body.b_len, 1000);
    http_client_response_free(&resp);

    /* One byte more: refused from Content-Length, or while streaming. */
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/size/1001", &resp), ERR_TOO_LARGE);
    (void)snprintf(want, sizeof(want), "GET %s/size/1001: the response body is over 1000 bytes",
                   base_url);
    assert_string_equal(resp.hr_errmsg, want);
    assert_int_equal(resp.hr_status, 0);
    assert_null(resp.hr_body.b_data);
    assert_null(resp.hr_headers.b_data);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/chunked/1001", &resp), ERR_TOO_LARGE);
    (void)snprintf(want, sizeof(want), "GET %s/chunked/1001: the response body is over 1000 bytes",
                   base_url);
    assert_string_equal(resp.hr_errmsg, want);
    assert_null(resp.hr_body.b_data);

    /* A huge body is cut off early, both ways. */
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/size/4000000", &resp), ERR_TOO_LARGE);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/chunked/4000000", &resp), ERR_TOO_LARGE);

    /* A per-request cap overrides the client's. */
    req.hq_method = HTTP_CLIENT_GET;
    req.hq_path = "/chunked/5000";
    req.hq_max_body = 5000;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_OK);
    assert_int_equal(resp.hr_body.b_len, 5000);
    http_client_response_free(&resp);
    req.hq_max_body = 10;
    req.hq_path = "/size/11";
    assert_int_equal(http_client_request(c, &req, &resp), ERR_TOO_LARGE);
    (void)snprintf(want, sizeof(want), "GET %s/size/11: the response body is over 10 bytes",
                   base_url);
    assert_string_equal(resp.hr_errmsg, want);

    /* The client is still usable. */
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/size/3", &resp), ERR_OK);
    assert_string_equal(buf_str(&resp.hr_body), "aaa");
    http_client_response_free(&resp);
    http_client_free(c);
}

static void test_timeouts(void **state)
{
    struct http_client *c = client_new_opts(base_url, 300, 0);
    struct http_client_response resp;
    struct http_client_request req = {0};
    char want[192];
    long t0, dt;

    (void)state;
    /* Never answered. */
    t0 = now_ms();
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/hang?token=QUERY-SECRET", &resp), ERR_TIMEOUT);
    dt = now_ms() - t0;
    assert_true(dt >= 290 && dt < 3000);
    (void)snprintf(want, sizeof(want),
                   "GET %s/hang: timed out (limits: connect 10000 ms, request 300 ms)", base_url);
    assert_string_equal(resp.hr_errmsg, want);
    assert_int_equal(resp.hr_status, 0);

    /* Answered slowly (10 bytes over ~1 s): too slow for 300 ms... */
    t0 = now_ms();
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/slow", &resp), ERR_TIMEOUT);
    dt = now_ms() - t0;
    assert_true(dt >= 290 && dt < 3000);
    assert_null(resp.hr_body.b_data);

    /* ...but fine with a per-request override (the long-poll case). */
    req.hq_method = HTTP_CLIENT_GET;
    req.hq_path = "/slow";
    req.hq_timeout_ms = 5000;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_OK);
    assert_string_equal(buf_str(&resp.hr_body), "0123456789");
    http_client_response_free(&resp);

    /* A shorter per-request timeout on a client with the default one. */
    http_client_free(c);
    c = client_new();
    req.hq_path = "/hang";
    req.hq_timeout_ms = 200;
    t0 = now_ms();
    assert_int_equal(http_client_request(c, &req, &resp), ERR_TIMEOUT);
    dt = now_ms() - t0;
    assert_true(dt >= 190 && dt < 3000);
    (void)snprintf(want, sizeof(want),
                   "GET %s/hang: timed out (limits: connect 10000 ms, request 200 ms)", base_url);
    assert_string_equal(resp.hr_errmsg, want);
    http_client_free(c);
}

/* reads one request's head from fd (up to the blank line); returns 1 when one came */
static int rs_read_head(int fd)
{
    char buf[4096];
    size_t got = 0;
    ssize_t n;

    while (got < sizeof(buf) - 1) {
        n = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (n <= 0)
            return 0;
        got += (size_t)n;
        buf[got] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            return 1;
    }
    return 0;
}

/* a server that answers one request, then takes the next and dies (reset, no listener) */
static void *rs_run(void *p)
{
    static const char ans[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    int *lfd = p, fd;

    fd = accept(*lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    if (rs_read_head(fd) && write(fd, ans, sizeof(ans) - 1) == (ssize_t)(sizeof(ans) - 1) &&
        rs_read_head(fd)) {
        close(*lfd); /* the retry on a new connection is refused */
        *lfd = -1;
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(fd);
    return NULL;
}

/*
 * A request sent on a kept-alive connection that is then reset, to a server that no longer
 * listens: curl sends it again on a new connection, which is refused. The request may have
 * reached the server, so the message must not say "cannot connect" (which callers read as
 * "nothing was sent": sync's failover of writes).
 */
static void test_reset_after_reuse(void **state)
{
    struct http_client *c;
    struct http_client_response resp;
    char base[64];
    pthread_t th;
    int lfd, port = 0;

    (void)state;
    lfd = ts_bind_loopback(&port);
    assert_true(lfd >= 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(pthread_create(&th, NULL, rs_run, &lfd), 0);
    (void)snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    c = client_new_opts(base, 2000, 0);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/one", &resp), ERR_OK);
    assert_int_equal(resp.hr_status, 200);
    http_client_response_free(&resp);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/two", &resp), ERR_UPSTREAM);
    assert_null(strstr(resp.hr_errmsg, "cannot connect"));
    assert_non_null(strstr(resp.hr_errmsg, ": the connection failed"));
    http_client_response_free(&resp);
    http_client_free(c);
    assert_int_equal(pthread_join(th, NULL), 0);
    if (lfd >= 0)
        close(lfd);
}

/* The connect timeout: a listener whose accept queue is full drops new SYNs. */
static void test_connect_timeout(void **state)
{
    struct http_client_config cfg = {0};
    struct http_client *c = NULL;
    struct http_client_response resp;
    struct sockaddr_in sa;
    char base[64], msg[256], want[192];
    int lfd, port = 0, fillers[4], i;
    long t0, dt;

    (void)state;
    lfd = ts_bind_loopback(&port);
    assert_true(lfd >= 0);
    assert_int_equal(listen(lfd, 0), 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    for (i = 0; i < 4; i++) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        assert_true(fillers[i] >= 0);
        (void)connect(fillers[i], (struct sockaddr *)&sa, sizeof(sa));
    }
    ts_sleep_ms(50);
    (void)snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    cfg.hcc_base_url = base;
    cfg.hcc_connect_timeout_ms = 250;
    cfg.hcc_timeout_ms = 5000;
    assert_int_equal(http_client_new(&c, &cfg, msg, sizeof(msg)), ERR_OK);
    t0 = now_ms();
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo", &resp), ERR_TIMEOUT);
    dt = now_ms() - t0;
    assert_true(dt >= 240 && dt < 3000);
    (void)snprintf(want, sizeof(want),
                   "GET %s/echo: timed out (limits: connect 250 ms, request 5000 ms)", base);
    assert_string_equal(resp.hr_errmsg, want);
    http_client_free(c);
    for (i = 0; i < 4; i++)
        close(fillers[i]);
    close(lfd);
}

static void test_network_failures(void **state)
{
    struct http_client *c;
    struct http_client_response resp;
    char base[64], want[192];

    (void)state;
    /* Connection refused. */
    (void)snprintf(base, sizeof(base), "http://127.0.0.1:%d", closed_port);
    c = client_new_opts(base, 2000, 0);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo?q=QUERY-SECRET", &resp), ERR_UPSTREAM);
    (void)snprintf(want, sizeof(want), "GET %s/echo: cannot connect (", base);
    assert_true(starts_with(resp.hr_errmsg, want));
    assert_null(strstr(resp.hr_errmsg, "SECRET"));
    assert_int_equal(resp.hr_status, 0);
    http_client_free(c);

    /* Closed without an answer. */
    c = client_new();
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/close", &resp), ERR_UPSTREAM);
    (void)snprintf(want, sizeof(want),
                   "GET %s/close: the server closed the connection without answering", base_url);
    assert_true(starts_with(resp.hr_errmsg, want));
    http_client_free(c);

    /* https:// to a plain HTTP server. */
    (void)snprintf(base, sizeof(base), "https://127.0.0.1:%d", srv.ts_port);
    c = client_new_opts(base, 2000, 0);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo", &resp), ERR_UPSTREAM);
    (void)snprintf(want, sizeof(want), "GET %s/echo: TLS handshake failed (", base);
    assert_true(starts_with(resp.hr_errmsg, want));
    assert_int_equal(resp.hr_status, 0);
    http_client_free(c);
}

/* Two requests on one client share one connection; a second client opens its own. */
static void test_keep_alive(void **state)
{
    struct http_client *c = client_new(), *c2;
    struct http_client_response resp;
    int conns = atomic_load(&srv.ts_conns), reqs = atomic_load(&srv.ts_requests);

    (void)state;
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo", &resp), ERR_OK);
    http_client_response_free(&resp);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/size/10", &resp), ERR_OK);
    http_client_response_free(&resp);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/err/404", &resp), ERR_OK);
    http_client_response_free(&resp);
    assert_int_equal(atomic_load(&srv.ts_requests), reqs + 3);
    assert_int_equal(atomic_load(&srv.ts_conns), conns + 1);

    c2 = client_new();
    assert_int_equal(do_get(c2, HTTP_CLIENT_GET, "/echo", &resp), ERR_OK);
    http_client_response_free(&resp);
    assert_int_equal(atomic_load(&srv.ts_conns), conns + 2);
    http_client_free(c2);

    /* After an aborted transfer the next request needs a new connection. */
    http_client_free(c);
    c = client_new_opts(base_url, 0, 100);
    conns = atomic_load(&srv.ts_conns);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/chunked/5000", &resp), ERR_TOO_LARGE);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/size/5", &resp), ERR_OK);
    http_client_response_free(&resp);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/size/5", &resp), ERR_OK);
    http_client_response_free(&resp);
    assert_int_equal(atomic_load(&srv.ts_conns), conns + 2);
    http_client_free(c);
}

static void test_bearer(void **state)
{
    struct http_client *c = client_new();
    struct http_client_response resp;
    struct http_client_request req = {0};
    struct http_client_header h[1];
    char *big;
    json_t *j;

    (void)state;
    assert_int_equal(http_client_set_bearer(c, "eyJhbGciOiJFUzI1NiJ9.e30.sig-_1"), ERR_OK);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo", &resp), ERR_OK);
    j = echo_json(&resp);
    assert_string_equal(jhdr(j, "authorization"), "Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig-_1");
    json_decref(j);
    http_client_response_free(&resp);

    /* Replaced. */
    assert_int_equal(http_client_set_bearer(c, "second"), ERR_OK);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo", &resp), ERR_OK);
    j = echo_json(&resp);
    assert_string_equal(jhdr(j, "authorization"), "Bearer second");
    json_decref(j);
    http_client_response_free(&resp);

    /* Refused tokens leave the previous one in place. */
    assert_int_equal(http_client_set_bearer(c, "a b"), ERR_BAD_INPUT);
    assert_int_equal(http_client_set_bearer(c, "a\r\nX-Injected: 1"), ERR_BAD_INPUT);
    assert_int_equal(http_client_set_bearer(c, "caf\xc3\xa9"), ERR_BAD_INPUT);
    big = malloc(HTTP_CLIENT_MAX_BEARER_BYTES + 2);
    assert_non_null(big);
    memset(big, 't', HTTP_CLIENT_MAX_BEARER_BYTES + 1);
    big[HTTP_CLIENT_MAX_BEARER_BYTES + 1] = '\0';
    assert_int_equal(http_client_set_bearer(c, big), ERR_TOO_LARGE);
    assert_int_equal(http_client_set_bearer(NULL, "x"), ERR_BAD_INPUT);

    /* A request's own Authorization wins (signed admin requests). */
    h[0].hh_name = "Authorization";
    h[0].hh_value = "Sesame-Admin account=ABC, ts=1700000000, nonce=bm9uY2U, sig=c2ln";
    req.hq_method = HTTP_CLIENT_GET;
    req.hq_path = "/echo";
    req.hq_headers = h;
    req.hq_nheaders = 1;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_OK);
    j = echo_json(&resp);
    assert_string_equal(jhdr(j, "authorization"),
                        "Sesame-Admin account=ABC, ts=1700000000, nonce=bm9uY2U, sig=c2ln");
    json_decref(j);
    http_client_response_free(&resp);

    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo", &resp), ERR_OK);
    j = echo_json(&resp);
    assert_string_equal(jhdr(j, "authorization"), "Bearer second");
    json_decref(j);
    http_client_response_free(&resp);

    /* The longest token allowed. */
    big[HTTP_CLIENT_MAX_BEARER_BYTES] = '\0';
    assert_int_equal(http_client_set_bearer(c, big), ERR_OK);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo", &resp), ERR_OK);
    j = echo_json(&resp);
    assert_int_equal(strlen(jhdr(j, "authorization")), 7 + HTTP_CLIENT_MAX_BEARER_BYTES);
    json_decref(j);
    http_client_response_free(&resp);
    free(big);

    /* Removed by NULL and by "". */
    assert_int_equal(http_client_set_bearer(c, NULL), ERR_OK);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo", &resp), ERR_OK);
    j = echo_json(&resp);
    assert_null(jhdr(j, "authorization"));
    json_decref(j);
    http_client_response_free(&resp);
    assert_int_equal(http_client_set_bearer(c, "third"), ERR_OK);
    assert_int_equal(http_client_set_bearer(c, ""), ERR_OK);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo", &resp), ERR_OK);
    j = echo_json(&resp);
    assert_null(jhdr(j, "authorization"));
    json_decref(j);
    http_client_response_free(&resp);

    /* Freed while holding a token (ASan: nothing leaks). */
    assert_int_equal(http_client_set_bearer(c, "fourth"), ERR_OK);
    http_client_free(c);
}

/* Neither the log nor the error messages ever carry tokens, bodies, queries or headers. */
static void test_nothing_secret_logged(void **state)
{
    struct http_client *c = client_new_opts(base_url, 300, 0);
    struct http_client_response resp;
    struct http_client_request req = {0};
    struct http_client_header h[1];
    enum log_level old = log_get_level();
    char logbuf[8192], want[160];
    size_t n;
    FILE *f = tmpfile();

    (void)state;
    assert_non_null(f);
    log_set_stream(f);
    log_set_level(LOG_TRACE);
    assert_int_equal(http_client_set_bearer(c, "TOKEN-SECRET"), ERR_OK);
    h[0].hh_name = "X-Header";
    h[0].hh_value = "HEADER-SECRET";
    req.hq_method = HTTP_CLIENT_POST;
    req.hq_path = "/echo?filter=QUERY-SECRET";
    req.hq_headers = h;
    req.hq_nheaders = 1;
    req.hq_body = "BODY-SECRET";
    req.hq_body_len = 11;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_OK);
    assert_non_null(strstr(buf_str(&resp.hr_body), "TOKEN-SECRET")); /* it was sent */
    http_client_response_free(&resp);
    req.hq_path = "/hang?filter=QUERY-SECRET";
    assert_int_equal(http_client_request(c, &req, &resp), ERR_TIMEOUT);
    assert_null(strstr(resp.hr_errmsg, "SECRET"));
    req.hq_path = "/size/1?filter=QUERY-SECRET";
    req.hq_max_body = 0;
    assert_int_equal(http_client_request(c, &req, &resp), ERR_OK);
    http_client_response_free(&resp);
    log_set_stream(NULL);
    log_set_level(old);

    rewind(f);
    n = fread(logbuf, 1, sizeof(logbuf) - 1, f);
    logbuf[n] = '\0';
    (void)fclose(f);
    assert_null(strstr(logbuf, "SECRET"));
    (void)snprintf(want, sizeof(want), "http client: POST %s/echo -> 200 in ", base_url);
    assert_non_null(strstr(logbuf, want));
    (void)snprintf(want, sizeof(want), "http client: POST %s/hang failed: ERR_TIMEOUT", base_url);
    assert_non_null(strstr(logbuf, want));
    http_client_free(c);
}

/* Every allocation of ours in a request can fail cleanly. */
static void test_request_nomem(void **state)
{
    struct http_client *c = client_new();
    struct http_client_response resp;
    struct http_client_request req = {0};
    struct http_client_header h[1] = {{"X-A", "b"}};
    long n;
    enum err rc;

    (void)state;
    assert_int_equal(http_client_set_bearer(c, "tok"), ERR_OK);
    req.hq_method = HTTP_CLIENT_PUT;
    req.hq_path = "/echo?a=b";
    req.hq_headers = h;
    req.hq_nheaders = 1;
    req.hq_body = "{}";
    req.hq_body_len = 2;
    for (n = 0;; n++) {
        mem_fail_after(n);
        rc = http_client_request(c, &req, &resp);
        mem_fail_after(-1);
        if (rc == ERR_OK)
            break;
        assert_int_equal(rc, ERR_NOMEM);
        assert_int_equal(resp.hr_status, 0);
        assert_null(resp.hr_body.b_data);
        assert_null(resp.hr_headers.b_data);
        assert_true(strstr(resp.hr_errmsg, "out of memory") != NULL);
    }
    assert_true(n >= 3); /* URL, header line, headers, body */
    assert_int_equal(resp.hr_status, 200);
    http_client_response_free(&resp);
    http_client_free(c);
}

/* Proxies: curl's environment variables by default; "" turns them off; or explicit. */
static void test_proxy(void **state)
{
    struct http_client_config cfg = {0};
    struct http_client *c = NULL;
    struct http_client_response resp;
    char origin[64], proxy[64], want[128], msg[256];
    json_t *j;

    (void)state;
    (void)snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", closed_port);
    (void)snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", srv.ts_port);
    (void)snprintf(want, sizeof(want), "%s/echo?x=1", origin);

    /* http_proxy from the environment: the request reaches the test server as a proxy. */
    assert_int_equal(setenv("http_proxy", proxy, 1), 0);
    c = client_new_opts(origin, 2000, 0);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo?x=1", &resp), ERR_OK);
    j = echo_json(&resp);
    assert_string_equal(jstr(j, "target"), want);
    json_decref(j);
    http_client_response_free(&resp);
    http_client_free(c);

    /* NO_PROXY is honoured too. */
    assert_int_equal(setenv("no_proxy", "127.0.0.1", 1), 0);
    c = client_new_opts(origin, 2000, 0);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo", &resp), ERR_UPSTREAM);
    http_client_free(c);
    assert_int_equal(unsetenv("no_proxy"), 0);

    /* hcc_proxy "" ignores the environment: straight to the closed port. */
    cfg.hcc_base_url = origin;
    cfg.hcc_proxy = "";
    assert_int_equal(http_client_new(&c, &cfg, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo", &resp), ERR_UPSTREAM);
    http_client_free(c);
    assert_int_equal(unsetenv("http_proxy"), 0);

    /* An explicit proxy. */
    cfg.hcc_proxy = proxy;
    assert_int_equal(http_client_new(&c, &cfg, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(do_get(c, HTTP_CLIENT_GET, "/echo?x=1", &resp), ERR_OK);
    j = echo_json(&resp);
    assert_string_equal(jstr(j, "target"), want);
    json_decref(j);
    http_client_response_free(&resp);
    http_client_free(c);
}

/* ---------------------------------------------------------------------------------------
 * TLS against `openssl s_server` (skipped without the openssl program)
 * ------------------------------------------------------------------------------------- */

#define OPENSSL_BIN "/usr/bin/openssl"

struct tls_server {
    pid_t tl_pid;
    int tl_port;
    char tl_cert[128];
    char tl_key[128];
    char tl_pin[64]; /* sha256//base64 of the SPKI */
};

static char tls_dir[64];
static struct tls_server tls_ip;   /* certificate for IP:127.0.0.1 */
static struct tls_server tls_name; /* certificate for DNS:hub.invalid only */
static int tls_ready;

/* Starts args[0] with args (stdio on /dev/null); returns its pid or -1. */
static pid_t spawn_quiet(const char *const args[])
{
    posix_spawn_file_actions_t fa;
    char *argv[32];
    size_t n, i;
    pid_t pid;
    int rc = -1;

    for (n = 0; args[n] && n < 31; n++) {
        argv[n] = strdup(args[n]);
        if (!argv[n])
            goto done;
    }
    argv[n] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
done:
    for (i = 0; i < n; i++)
        free(argv[i]);
    return rc == 0 ? pid : -1;
}

/* Runs args quietly; returns its exit status or -1. */
static int run_quiet(const char *const args[])
{
    pid_t pid = spawn_quiet(args);
    int st;

    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* Makes a P-256 key and a self-signed certificate for san; computes the SPKI pin. */
static int tls_make(struct tls_server *t, const char *tag, const char *san)
{
    char spki[128], spki_pem[128], sanarg[128];
    unsigned char der[512], digest[HASH_SHA256_BYTES];
    char b64[48];
    size_t n;
    FILE *f;

    (void)snprintf(t->tl_cert, sizeof(t->tl_cert), "%s/%s-cert.pem", tls_dir, tag);
    (void)snprintf(t->tl_key, sizeof(t->tl_key), "%s/%s-key.pem", tls_dir, tag);
    (void)snprintf(spki, sizeof(spki), "%s/%s-spki.der", tls_dir, tag);
    (void)snprintf(spki_pem, sizeof(spki_pem), "%s/%s-spki.pem", tls_dir, tag);
    (void)snprintf(sanarg, sizeof(sanarg), "subjectAltName=%s", san);
    {
        const char *const argv[] = {OPENSSL_BIN,
                                    "req",
                                    "-x509",
                                    "-newkey",
                                    "ec",
                                    "-pkeyopt",
                                    "ec_paramgen_curve:P-256",
                                    "-nodes",
                                    "-subj",
                                    "/CN=sesame-test",
                                    "-addext",
                                    sanarg,
                                    "-days",
                                    "2",
                                    "-keyout",
                                    t->tl_key,
                                    "-out",
                                    t->tl_cert,
                                    NULL};
        if (run_quiet(argv) != 0)
            return -1;
    }
    {
        /* The pin recipe of docs/http-client.md: SHA-256 of the DER SubjectPublicKeyInfo. */
        const char *const argv[] = {OPENSSL_BIN, "x509", "-in",    t->tl_cert, "-noout",
                                    "-pubkey",   "-out", spki_pem, NULL};
        const char *const argv2[] = {OPENSSL_BIN, "pkey", "-pubin", "-in", spki_pem,
                                     "-outform",  "DER",  "-out",   spki,  NULL};
        if (run_quiet(argv) != 0 || run_quiet(argv2) != 0)
            return -1;
    }
    f = fopen(spki, "rb");
    if (!f)
        return -1;
    n = fread(der, 1, sizeof(der), f);
    (void)fclose(f);
    unlink(spki);
    unlink(spki_pem);
    if (n == 0 || n == sizeof(der) || hash_sha256(digest, der, n) != ERR_OK ||
        codec_b64_encode(b64, sizeof(b64), NULL, digest, sizeof(digest),
                         CODEC_B64_STD | CODEC_PAD) != ERR_OK)
        return -1;
    (void)snprintf(t->tl_pin, sizeof(t->tl_pin), "sha256//%s", b64);
    return 0;
}

/* Starts `openssl s_server -www` on 127.0.0.1 and waits until it accepts. */
static int tls_start(struct tls_server *t)
{
    struct sockaddr_in sa;
    char accept_arg[32];
    int fd, i, ok = 0;

    fd = ts_bind_loopback(&t->tl_port);
    if (fd < 0)
        return -1;
    close(fd);
    (void)snprintf(accept_arg, sizeof(accept_arg), "127.0.0.1:%d", t->tl_port);
    {
        const char *const argv[] = {OPENSSL_BIN, "s_server", "-quiet", "-www",
                                    "-accept",   accept_arg, "-cert",  t->tl_cert,
                                    "-key",      t->tl_key,  NULL};

        t->tl_pid = spawn_quiet(argv);
    }
    if (t->tl_pid <= 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)t->tl_port);
    for (i = 0; i < 100 && !ok; i++) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (fd >= 0)
            close(fd);
        if (!ok)
            ts_sleep_ms(50);
    }
    return ok ? 0 : -1;
}

static void tls_stop(struct tls_server *t)
{
    if (t->tl_pid > 0) {
        kill(t->tl_pid, SIGTERM);
        (void)waitpid(t->tl_pid, NULL, 0);
        t->tl_pid = 0;
    }
    if (t->tl_cert[0])
        unlink(t->tl_cert);
    if (t->tl_key[0])
        unlink(t->tl_key);
}

static int tls_teardown(void **state);

static int tls_setup(void **state)
{
    (void)state;
    if (access(OPENSSL_BIN, X_OK) != 0)
        return 0;
    (void)snprintf(tls_dir, sizeof(tls_dir), "/tmp/sesame-http-tls-XXXXXX");
    if (!mkdtemp(tls_dir))
        return 0;
    if (tls_make(&tls_ip, "ip", "IP:127.0.0.1") != 0 ||
        tls_make(&tls_name, "name", "DNS:hub.invalid") != 0 || tls_start(&tls_ip) != 0 ||
        tls_start(&tls_name) != 0) {
        (void)tls_teardown(state); /* cmocka skips the group teardown when setup fails */
        return -1;
    }
    tls_ready = 1;
    return 0;
}

static int tls_teardown(void **state)
{
    (void)state;
    tls_stop(&tls_ip);
    tls_stop(&tls_name);
    if (tls_dir[0])
        rmdir(tls_dir);
    return 0;
}

/* Sends GET / to t with the given trust settings; returns the result, status in *status. */
static enum err tls_get(const struct tls_server *t, const char *ca, const char *pin, int *status,
                        char *errmsg, size_t errcap)
{
    struct http_client_config cfg = {0};
    struct http_client *c = NULL;
    struct http_client_response resp;
    char base[64], msg[256];
    enum err rc;

    (void)snprintf(base, sizeof(base), "https://127.0.0.1:%d", t->tl_port);
    cfg.hcc_base_url = base;
    cfg.hcc_ca_file = ca;
    cfg.hcc_pin = pin;
    cfg.hcc_timeout_ms = 5000;
    assert_int_equal(http_client_new(&c, &cfg, msg, sizeof(msg)), ERR_OK);
    rc = do_get(c, HTTP_CLIENT_GET, "/", &resp);
    *status = resp.hr_status;
    (void)snprintf(errmsg, errcap, "%s", resp.hr_errmsg);
    http_client_response_free(&resp);
    http_client_free(c);
    return rc;
}

static void test_tls_trust(void **state)
{
    char msg[256], want[160], twopins[160];
    int status;

    (void)state;
    if (!tls_ready)
        skip();
    /* The system store does not know a self-signed certificate. */
    assert_int_equal(tls_get(&tls_ip, NULL, NULL, &status, msg, sizeof(msg)), ERR_UPSTREAM);
    (void)snprintf(want, sizeof(want),
                   "GET https://127.0.0.1:%d/: the server certificate is not trusted (",
                   tls_ip.tl_port);
    assert_true(starts_with(msg, want));
    assert_int_equal(status, 0);

    /* CA file: chain and name verified. */
    assert_int_equal(tls_get(&tls_ip, tls_ip.tl_cert, NULL, &status, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(status, 200);
    assert_int_equal(tls_get(&tls_ip, tls_name.tl_cert, NULL, &status, msg, sizeof(msg)),
                     ERR_UPSTREAM); /* another CA */
    assert_int_equal(tls_get(&tls_name, tls_name.tl_cert, NULL, &status, msg, sizeof(msg)),
                     ERR_UPSTREAM); /* the name does not match 127.0.0.1 */
    (void)snprintf(want, sizeof(want),
                   "GET https://127.0.0.1:%d/: the server certificate is not trusted (",
                   tls_name.tl_port);
    assert_true(starts_with(msg, want));

    /* Pin alone: the key decides, whatever the chain and the name. */
    assert_int_equal(tls_get(&tls_ip, NULL, tls_ip.tl_pin, &status, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(status, 200);
    assert_int_equal(tls_get(&tls_name, NULL, tls_name.tl_pin, &status, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(status, 200);
    assert_int_equal(tls_get(&tls_ip, NULL, tls_name.tl_pin, &status, msg, sizeof(msg)),
                     ERR_UPSTREAM);
    (void)snprintf(want, sizeof(want),
                   "GET https://127.0.0.1:%d/: the server public key does not match the pinned "
                   "key",
                   tls_ip.tl_port);
    assert_true(starts_with(msg, want));
    assert_int_equal(status, 0);

    /* Several pins (key rotation): any one matches. */
    (void)snprintf(twopins, sizeof(twopins), "%s;%s", tls_name.tl_pin, tls_ip.tl_pin);
    assert_int_equal(tls_get(&tls_ip, NULL, twopins, &status, msg, sizeof(msg)), ERR_OK);

    /* CA file and pin: both must hold. */
    assert_int_equal(tls_get(&tls_ip, tls_ip.tl_cert, tls_ip.tl_pin, &status, msg, sizeof(msg)),
                     ERR_OK);
    assert_int_equal(tls_get(&tls_ip, tls_ip.tl_cert, tls_name.tl_pin, &status, msg, sizeof(msg)),
                     ERR_UPSTREAM);
    assert_int_equal(
        tls_get(&tls_name, tls_name.tl_cert, tls_name.tl_pin, &status, msg, sizeof(msg)),
        ERR_UPSTREAM);
}

/* ---------------------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    static const char *const proxy_vars[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                                             "HTTPS_PROXY", "all_proxy",  "ALL_PROXY",
                                             "no_proxy",    "NO_PROXY"};
    size_t i;
    int fd;

    (void)state;
    for (i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++)
        unsetenv(proxy_vars[i]);
    if (http_client_global_init() != ERR_OK || ts_start(&srv) != 0)
        return -1;
    (void)snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", srv.ts_port);
    fd = ts_bind_loopback(&closed_port);
    if (fd < 0)
        return -1;
    close(fd);
    return tls_setup(state);
}

static int group_teardown(void **state)
{
    tls_teardown(state);
    ts_stop(&srv);
    http_client_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_base_urls),
        cmocka_unit_test(test_config_options),
        cmocka_unit_test(test_config_global_init),
        cmocka_unit_test(test_config_nomem),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_request_validation),
        cmocka_unit_test(test_request_header_validation),
        cmocka_unit_test(test_echo_methods),
        cmocka_unit_test(test_large_post),
        cmocka_unit_test(test_base_prefix),
        cmocka_unit_test(test_response_headers),
        cmocka_unit_test(test_response_error_table),
        cmocka_unit_test(test_error_statuses),
        cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_reset_after_reuse),
        cmocka_unit_test(test_network_failures),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_nothing_secret_logged),
        cmocka_unit_test(test_request_nomem),
        cmocka_unit_test(test_proxy),
        cmocka_unit_test(test_tls_trust),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
