/*
 * fuzz_router.c - libFuzzer driver for the request-target decoder and the route matcher
 * (http/router.c).
 *
 * Input: <method> '\n' <request target> ['\n' <extra route pattern>]. The driver compiles
 * Connect's route table (plus the extra pattern as a GET route when given), decodes the
 * target, matches it, and aborts when an invariant breaks:
 *  - decode returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND or ERR_NOMEM; messages fit and are
 *    "" on success; a failed decode leaves the path cleared;
 *  - a decoded path is "/" plus its segments joined by '/', no longer than the target;
 *    segments are valid UTF-8 without NUL, control characters, '/', "." or "..";
 *  - the query is exactly the bytes after the first '?';
 *  - decoding is stable: percent-encoding every segment again (plus a trailing '/')
 *    decodes to the same segments;
 *  - a match binds non-empty parameters taken from the path, to a route whose method is
 *    the request method (or GET for HEAD) and whose pattern has as many segments;
 *    a 405 lists an Allow set without the method, and every method in it matches;
 *    a 404 has no Allow.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/limits.h"
#include "http/query.h"
#include "http/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT 8192

static void fuzz_check(int ok)
{
    if (!ok)
        abort();
}

static enum err fuzz_handler(struct http_request *req, struct http_response *resp)
{
    (void)req;
    (void)resp;
    return ERR_OK;
}

static const struct http_route fuzz_routes[] = {
    {"GET", "/heartbeat", fuzz_handler},
    {"GET", "/health", fuzz_handler},
    {"GET", "/metrics", fuzz_handler},
    {"GET", "/v1/activity", fuzz_handler},
    {"GET", "/v1/vaults", fuzz_handler},
    {"GET", "/v1/vaults/{vaultUuid}", fuzz_handler},
    {"GET", "/v1/vaults/{vaultUuid}/items", fuzz_handler},
    {"POST", "/v1/vaults/{vaultUuid}/items", fuzz_handler},
    {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}", fuzz_handler},
    {"PUT", "/v1/vaults/{vaultUuid}/items/{itemUuid}", fuzz_handler},
    {"PATCH", "/v1/vaults/{vaultUuid}/items/{itemUuid}", fuzz_handler},
    {"DELETE", "/v1/vaults/{vaultUuid}/items/{itemUuid}", fuzz_handler},
    {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}/files", fuzz_handler},
    {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}/files/{fileUuid}", fuzz_handler},
    {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}/files/{fileUuid}/content", fuzz_handler},
    {"HEAD", "/probe", fuzz_handler},
    {"POST", "/v1/vaults/special", fuzz_handler},
    {"GET", "/", fuzz_handler},
};
#define FUZZ_NROUTES (sizeof(fuzz_routes) / sizeof(fuzz_routes[0]))

static int fuzz_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '~';
}

/* Checks the decoded path p of target (len bytes). */
static void fuzz_check_path(const struct router_path *p, const char *target, size_t len)
{
    const char *q = memchr(target, '?', len);
    size_t i, off = 1;

    fuzz_check(p->rp_path[0] == '/');
    fuzz_check(strlen(p->rp_path) <= len);
    fuzz_check(p->rp_nsegs <= ROUTER_MAX_SEGMENTS);
    fuzz_check(p->rp_nsegs == 0 || p->rp_segs != NULL);
    if (p->rp_nsegs == 0)
        fuzz_check(strcmp(p->rp_path, "/") == 0);
    for (i = 0; i < p->rp_nsegs; i++) {
        const char *s = p->rp_segs[i];
        size_t n = strlen(s), k;

        fuzz_check(query_is_text(s, n));
        fuzz_check(strcmp(s, ".") != 0 && strcmp(s, "..") != 0);
        for (k = 0; k < n; k++) {
            unsigned char c = (unsigned char)s[k];

            fuzz_check(c >= 0x20 && c != 0x7f && c != '/');
        }
        if (i > 0) {
            fuzz_check(p->rp_path[off] == '/');
            off++;
        }
        fuzz_check(strncmp(p->rp_path + off, s, n) == 0);
        off += n;
    }
    fuzz_check(p->rp_path[off] == '\0');
    if (q) {
        fuzz_check(p->rp_query_len == len - (size_t)(q - target) - 1);
        fuzz_check(memcmp(p->rp_query, q + 1, p->rp_query_len) == 0);
    } else {
        fuzz_check(p->rp_query_len == 0);
    }
    fuzz_check(strlen(p->rp_query) == p->rp_query_len);
    fuzz_check(strlen(p->rp_raw) <= len);
}

/* Percent-encodes p's segments again (plus a trailing '/') and checks they decode the same. */
static void fuzz_check_stable(const struct router_path *p)
{
    static const char hex[] = "0123456789ABCDEF";
    struct arena a;
    struct router_path again;
    char *enc;
    size_t cap = 2, i, k, n = 0;

    for (i = 0; i < p->rp_nsegs; i++)
        cap += 1 + 3 * strlen(p->rp_segs[i]);
    enc = malloc(cap + 1);
    if (!enc)
        return;
    for (i = 0; i < p->rp_nsegs; i++) {
        const unsigned char *s = (const unsigned char *)p->rp_segs[i];

        enc[n++] = '/';
        for (k = 0; s[k]; k++) {
            if (fuzz_unreserved(s[k])) {
                enc[n++] = (char)s[k];
            } else {
                enc[n++] = '%';
                enc[n++] = hex[s[k] >> 4];
                enc[n++] = hex[s[k] & 15];
            }
        }
    }
    enc[n++] = '/';
    if (p->rp_nsegs == 0)
        enc[n++] = '/';
    arena_init(&a, ARENA_MAX_BYTES);
    fuzz_check(router_path_decode(&a, enc, n, &again, NULL, 0) == ERR_OK);
    fuzz_check(again.rp_nsegs == p->rp_nsegs);
    for (i = 0; i < p->rp_nsegs; i++)
        fuzz_check(strcmp(again.rp_segs[i], p->rp_segs[i]) == 0);
    fuzz_check(strcmp(again.rp_path, p->rp_path) == 0);
    arena_free(&a);
    free(enc);
}

/* Returns the number of '/'-separated segments of a (valid) pattern. */
static size_t fuzz_pattern_segs(const char *pattern)
{
    size_t n = 0;

    if (strcmp(pattern, "/") == 0)
        return 0;
    for (; *pattern; pattern++)
        n += *pattern == '/';
    return n;
}

/* Returns 1 if method is one of the ", "-separated names of allow. */
static int fuzz_allow_has(const char *allow, const char *method)
{
    size_t n = strlen(method);

    while (*allow) {
        const char *end = strstr(allow, ", ");
        size_t k = end ? (size_t)(end - allow) : strlen(allow);

        if (k == n && memcmp(allow, method, n) == 0)
            return 1;
        allow += k;
        if (*allow)
            allow += 2;
    }
    return 0;
}

static void fuzz_match(const struct router *r, const char *method, const struct router_path *p)
{
    struct router_match m;
    enum err rc = router_match(r, method, p, &m);
    size_t i, j;

    fuzz_check(rc == ERR_OK || rc == ERR_NOT_FOUND || rc == ERR_METHOD);
    fuzz_check(strlen(m.rm_allow) < sizeof(m.rm_allow));
    if (rc == ERR_OK) {
        fuzz_check(m.rm_route != NULL && m.rm_allow[0] == '\0');
        fuzz_check(strcmp(m.rm_route->hr_method, method) == 0 ||
                   (strcmp(method, "HEAD") == 0 && strcmp(m.rm_route->hr_method, "GET") == 0));
        fuzz_check(fuzz_pattern_segs(m.rm_route->hr_pattern) == p->rp_nsegs);
        fuzz_check(m.rm_nparams <= ROUTER_MAX_PARAMS);
        for (i = 0; i < m.rm_nparams; i++) {
            int found = 0;

            fuzz_check(m.rm_values[i][0] != '\0');
            for (j = 0; j < p->rp_nsegs; j++)
                found |= m.rm_values[i] == p->rp_segs[j];
            fuzz_check(found);
            fuzz_check(router_match_param(&m, m.rm_names[i]) != NULL);
        }
        return;
    }
    fuzz_check(m.rm_route == NULL && m.rm_nparams == 0);
    if (rc == ERR_NOT_FOUND) {
        fuzz_check(m.rm_allow[0] == '\0');
        return;
    }
    fuzz_check(m.rm_allow[0] != '\0');
    fuzz_check(!fuzz_allow_has(m.rm_allow, method));
    /* Every allowed method matches. */
    {
        char allow[ROUTER_ALLOW_MAX];
        char *s = allow;

        memcpy(allow, m.rm_allow, sizeof(allow));
        while (s && *s) {
            char *end = strstr(s, ", ");
            struct router_match m2;

            if (end)
                *end = '\0';
            fuzz_check(router_match(r, s, p, &m2) == ERR_OK);
            s = end ? end + 2 : NULL;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in, *method, *target, *pattern = NULL, *nl;
    size_t tlen;
    struct router *r = NULL, *r2 = NULL;
    struct arena a;
    struct router_path p;
    char msg[ROUTER_ERRMSG_MAX], tiny[5];
    enum err rc;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    in = malloc(size + 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    method = in;
    nl = memchr(in, '\n', size);
    if (!nl) {
        free(in);
        return 0;
    }
    *nl = '\0';
    target = nl + 1;
    tlen = size - (size_t)(target - in);
    nl = memchr(target, '\n', tlen);
    if (nl) {
        *nl = '\0';
        pattern = nl + 1;
        tlen = (size_t)(nl - target);
    }

    fuzz_check(router_new(&r, fuzz_routes, FUZZ_NROUTES, msg, sizeof(msg)) == ERR_OK);
    if (pattern) {
        struct http_route t[FUZZ_NROUTES + 1];

        memcpy(t, fuzz_routes, sizeof(fuzz_routes));
        t[FUZZ_NROUTES].hr_method = "GET";
        t[FUZZ_NROUTES].hr_pattern = pattern;
        t[FUZZ_NROUTES].hr_handler = fuzz_handler;
        rc = router_new(&r2, t, FUZZ_NROUTES + 1, msg, sizeof(msg));
        fuzz_check(rc == ERR_OK || rc == ERR_CONFIG || rc == ERR_NOMEM);
        fuzz_check(strlen(msg) < sizeof(msg));
        fuzz_check(rc == ERR_OK ? r2 != NULL && msg[0] == '\0' : r2 == NULL);
        if (rc == ERR_CONFIG)
            fuzz_check(strncmp(msg, "route ", 6) == 0);
    }

    arena_init(&a, ARENA_MAX_BYTES);
    rc = router_path_decode(&a, target, tlen, &p, msg, sizeof(msg));
    fuzz_check(rc == ERR_OK || rc == ERR_BAD_INPUT || rc == ERR_NOT_FOUND || rc == ERR_NOMEM);
    fuzz_check(strlen(msg) < sizeof(msg));
    {
        struct arena a2;
        struct router_path p2;

        arena_init(&a2, ARENA_MAX_BYTES);
        fuzz_check(router_path_decode(&a2, target, tlen, &p2, tiny, sizeof(tiny)) == rc);
        fuzz_check(strlen(tiny) < sizeof(tiny));
        arena_free(&a2);
    }
    if (rc == ERR_OK) {
        fuzz_check(msg[0] == '\0');
        fuzz_check_path(&p, target, tlen);
        fuzz_check_stable(&p);
        fuzz_match(r, method, &p);
        if (r2)
            fuzz_match(r2, method, &p);
    } else {
        if (rc != ERR_NOMEM)
            fuzz_check(msg[0] != '\0');
        fuzz_check(strcmp(p.rp_path, "") == 0 && p.rp_nsegs == 0 && p.rp_segs == NULL &&
                   p.rp_query_len == 0);
    }
    arena_free(&a);
    router_free(r);
    router_free(r2);
    free(in);
    return 0;
}
