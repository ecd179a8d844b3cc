/* router.c - request-target decoding and route matching (pure logic, no I/O). */
#include "http/router.h"

#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/limits.h"
#include "http/query.h"

/* One segment of a compiled pattern. */
struct router_seg {
    const char *rs_text; /* literal text, or the parameter name */
    int rs_param;        /* 1 for "{name}" */
};

/* One compiled route. */
struct router_entry {
    struct http_route re_route; /* copy; method and pattern point into the router's arena */
    struct router_seg *re_segs; /* re_nsegs segments */
    size_t re_nsegs;
};

struct router {
    struct arena r_arena;           /* every string and array of the router */
    struct router_entry *r_entries; /* r_n entries, in table order */
    size_t r_n;
};

#define ROUTER_ARENA_MAX (1u << 20) /* a route table is small */

/* RFC 3986 pchar minus pct-encoded: unreserved / sub-delims / ":" / "@". */
static int router_is_pchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("-._~!$&'()*+,;=:@", c) != NULL;
}

static int router_is_param_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int router_is_dot_segment(const char *s, size_t n)
{
    return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

/* Validates a method name: 1..ROUTER_MAX_METHOD_LEN upper-case ASCII letters. */
static int router_method_ok(const char *m)
{
    size_t i;

    if (!m || !m[0])
        return 0;
    for (i = 0; m[i]; i++) {
        if (i >= ROUTER_MAX_METHOD_LEN || m[i] < 'A' || m[i] > 'Z')
            return 0;
    }
    return 1;
}

/* Compiles one pattern into e (segments from the arena). ERR_OK, ERR_CONFIG or ERR_NOMEM. */
static enum err router_compile_pattern(struct router *r, struct router_entry *e, size_t idx,
                                       char *errmsg, size_t errcap)
{
    const char *p = e->re_route.hr_pattern;
    size_t len = strlen(p), nsegs = 0, nparams = 0, i, j;

    if (len == 0 || p[0] != '/')
        return err_msgf(ERR_CONFIG, errmsg, errcap, "route %zu: pattern must start with '/'", idx);
    if (len == 1) {
        e->re_segs = NULL;
        e->re_nsegs = 0;
        return ERR_OK;
    }
    if (p[len - 1] == '/')
        return err_msgf(ERR_CONFIG, errmsg, errcap, "route %zu: pattern ends with '/'", idx);
    for (i = 0; i < len; i++)
        nsegs += p[i] == '/';
    if (nsegs > ROUTER_MAX_SEGMENTS)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "route %zu: pattern has too many segments",
                        idx);
    e->re_segs = arena_calloc(&r->r_arena, nsegs, sizeof(*e->re_segs));
    if (!e->re_segs)
        return ERR_NOMEM;
    e->re_nsegs = nsegs;
    for (i = 0; i < nsegs; i++) {
        const char *s = p + 1;
        const char *end = strchr(s, '/');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        struct router_seg *seg = &e->re_segs[i];

        if (n == 0)
            return err_msgf(ERR_CONFIG, errmsg, errcap, "route %zu: pattern has an empty segment",
                            idx);
        if (s[0] == '{') {
            if (n < 3 || s[n - 1] != '}' || n - 2 > ROUTER_MAX_PARAM_LEN)
                return err_msgf(ERR_CONFIG, errmsg, errcap, "route %zu: malformed parameter", idx);
            for (j = 1; j + 1 < n; j++) {
                if (!router_is_param_char((unsigned char)s[j]))
                    return err_msgf(ERR_CONFIG, errmsg, errcap, "route %zu: malformed parameter",
                                    idx);
            }
            if (++nparams > ROUTER_MAX_PARAMS)
                return err_msgf(ERR_CONFIG, errmsg, errcap, "route %zu: too many parameters", idx);
            seg->rs_param = 1;
            seg->rs_text = arena_strndup(&r->r_arena, s + 1, n - 2);
            if (!seg->rs_text)
                return ERR_NOMEM;
            for (j = 0; j < i; j++) {
                if (e->re_segs[j].rs_param && strcmp(e->re_segs[j].rs_text, seg->rs_text) == 0)
                    return err_msgf(ERR_CONFIG, errmsg, errcap,
                                    "route %zu: repeated parameter name", idx);
            }
        } else {
            for (j = 0; j < n; j++) {
                if (!router_is_pchar((unsigned char)s[j]))
                    return err_msgf(ERR_CONFIG, errmsg, errcap,
                                    "route %zu: invalid character in pattern", idx);
            }
            if (router_is_dot_segment(s, n))
                return err_msgf(ERR_CONFIG, errmsg, errcap, "route %zu: dot segment in pattern",
                                idx);
            seg->rs_param = 0;
            seg->rs_text = arena_strndup(&r->r_arena, s, n);
            if (!seg->rs_text)
                return ERR_NOMEM;
        }
        p = s + n;
    }
    return ERR_OK;
}

/* Returns 1 when a and b have the same method and the same shape (params compare equal). */
static int router_same_route(const struct router_entry *a, const struct router_entry *b)
{
    size_t i;

    if (strcmp(a->re_route.hr_method, b->re_route.hr_method) != 0 || a->re_nsegs != b->re_nsegs)
        return 0;
    for (i = 0; i < a->re_nsegs; i++) {
        if (a->re_segs[i].rs_param != b->re_segs[i].rs_param)
            return 0;
        if (!a->re_segs[i].rs_param && strcmp(a->re_segs[i].rs_text, b->re_segs[i].rs_text) != 0)
            return 0;
    }
    return 1;
}

/* Compiles a route table; see router.h. */
enum err router_new(struct router **out, const struct http_route *routes, size_t n, char *errmsg,
                    size_t errcap)
{
    struct router *r = NULL;
    enum err rc = ERR_OK;
    size_t i, j;

    *out = NULL;
    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (n > ROUTER_MAX_ROUTES || (n > 0 && !routes)) {
        rc = err_msgf(ERR_CONFIG, errmsg, errcap, "too many routes");
        goto out;
    }
    r = mem_calloc(1, sizeof(*r));
    if (!r) {
        rc = ERR_NOMEM;
        goto out;
    }
    arena_init(&r->r_arena, ROUTER_ARENA_MAX);
    if (n > 0) {
        r->r_entries = arena_calloc(&r->r_arena, n, sizeof(*r->r_entries));
        if (!r->r_entries) {
            rc = ERR_NOMEM;
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        struct router_entry *e = &r->r_entries[i];

        if (!router_method_ok(routes[i].hr_method)) {
            rc = err_msgf(ERR_CONFIG, errmsg, errcap, "route %zu: invalid method", i);
            goto out;
        }
        if (!routes[i].hr_pattern || !routes[i].hr_handler) {
            rc = err_msgf(ERR_CONFIG, errmsg, errcap, "route %zu: missing pattern or handler", i);
            goto out;
        }
        e->re_route.hr_handler = routes[i].hr_handler;
        e->re_route.hr_method = arena_strdup(&r->r_arena, routes[i].hr_method);
        e->re_route.hr_pattern = arena_strdup(&r->r_arena, routes[i].hr_pattern);
        if (!e->re_route.hr_method || !e->re_route.hr_pattern) {
            rc = ERR_NOMEM;
            goto out;
        }
        rc = router_compile_pattern(r, e, i, errmsg, errcap);
        if (rc != ERR_OK)
            goto out;
        for (j = 0; j < i; j++) {
            if (router_same_route(&r->r_entries[j], e)) {
                rc =
                    err_msgf(ERR_CONFIG, errmsg, errcap, "route %zu: duplicate of route %zu", i, j);
                goto out;
            }
        }
        r->r_n = i + 1;
    }
    *out = r;
    r = NULL;
out:
    router_free(r);
    return rc;
}

/* Frees a router. */
void router_free(struct router *r)
{
    if (!r)
        return;
    arena_free(&r->r_arena);
    mem_free(r);
}

/*
 * Percent-decodes the raw segment s (n bytes) into dst (room for n + 1 bytes) and checks
 * it. Returns the decoded length, or (size_t)-1 when the segment must be refused.
 */
static size_t router_decode_segment(const char *s, size_t n, char *dst)
{
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '%') {
            int hi, lo;

            if (n - i < 3)
                return (size_t)-1;
            hi = codec_hex_digit((unsigned char)s[i + 1]);
            lo = codec_hex_digit((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return (size_t)-1;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || c == '/')
            return (size_t)-1;
        dst[k++] = (char)c;
    }
    dst[k] = '\0';
    if (!query_is_text(dst, k) || router_is_dot_segment(dst, k))
        return (size_t)-1;
    return k;
}

static void router_path_clear(struct router_path *out)
{
    out->rp_path = "";
    out->rp_segs = NULL;
    out->rp_nsegs = 0;
    out->rp_raw = "";
    out->rp_query = "";
    out->rp_query_len = 0;
}

/* Decodes a request target; see router.h. */
enum err router_path_decode(struct arena *a, const char *target, size_t len,
                            struct router_path *out, char *errmsg, size_t errcap)
{
    const char *q;
    size_t plen, nsegs = 0, i, off = 0;
    char *raw, *path, *segbuf, *query;
    char **segs = NULL;
    enum err rc = ERR_OK;

    router_path_clear(out);
    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (len == 0 || target[0] != '/' || memchr(target, '\0', len) || memchr(target, '#', len)) {
        rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap, "Invalid request path");
        goto out;
    }
    q = memchr(target, '?', len);
    plen = q ? (size_t)(q - target) : len;
    raw = arena_strndup(a, target, plen);
    query = q ? arena_strndup(a, q + 1, len - plen - 1) : arena_strdup(a, "");
    if (!raw || !query) {
        rc = ERR_NOMEM;
        goto out;
    }
    /* One trailing slash is the same as none (connect-api.md §2.1). */
    if (plen > 1 && target[plen - 1] == '/')
        plen--;
    for (i = 1; i < plen; i++)
        nsegs += target[i] == '/';
    if (plen > 1)
        nsegs++;
    if (nsegs > ROUTER_MAX_SEGMENTS) {
        rc = err_msgf(ERR_NOT_FOUND, errmsg, errcap, "Resource not found");
        goto out;
    }
    path = arena_alloc(a, plen + 1);
    segbuf = arena_alloc(a, plen + 1);
    if (nsegs > 0)
        segs = arena_calloc(a, nsegs, sizeof(*segs));
    if (!path || !segbuf || (nsegs > 0 && !segs)) {
        rc = ERR_NOMEM;
        goto out;
    }
    path[0] = '/';
    path[1] = '\0';
    {
        const char *s = target + 1;
        size_t plen_out = 0; /* bytes written to path after the leading '/' */

        for (i = 0; i < nsegs; i++) {
            const char *end = memchr(s, '/', (size_t)(target + plen - s));
            size_t n = end ? (size_t)(end - s) : (size_t)(target + plen - s);
            size_t k = router_decode_segment(s, n, segbuf + off);

            if (k == (size_t)-1) {
                rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap, "Invalid request path");
                goto out;
            }
            segs[i] = segbuf + off;
            if (i > 0)
                path[1 + plen_out++] = '/';
            memcpy(path + 1 + plen_out, segs[i], k);
            plen_out += k;
            path[1 + plen_out] = '\0';
            off += k + 1;
            s += n + 1;
        }
    }
    out->rp_path = path;
    out->rp_segs = segs;
    out->rp_nsegs = nsegs;
    out->rp_raw = raw;
    out->rp_query = query;
    out->rp_query_len = q ? len - (size_t)(q - target) - 1 : 0;
out:
    if (rc != ERR_OK)
        router_path_clear(out);
    return rc;
}

/* Binds e's pattern to path into m; returns 1 on a match (params set), 0 otherwise. */
static int router_entry_match(const struct router_entry *e, const struct router_path *path,
                              struct router_match *m)
{
    size_t i, np = 0;

    if (e->re_nsegs != path->rp_nsegs)
        return 0;
    for (i = 0; i < e->re_nsegs; i++) {
        const struct router_seg *seg = &e->re_segs[i];
        const char *v = path->rp_segs[i];

        if (seg->rs_param) {
            if (v[0] == '\0')
                return 0;
        } else if (strcmp(seg->rs_text, v) != 0) {
            return 0;
        }
    }
    for (i = 0; i < e->re_nsegs; i++) {
        if (e->re_segs[i].rs_param) {
            m->rm_names[np] = e->re_segs[i].rs_text;
            m->rm_values[np] = path->rp_segs[i];
            np++;
        }
    }
    m->rm_nparams = np;
    return 1;
}

/* Appends method to the Allow list unless present (silently drops what does not fit). */
static void router_allow_add(struct router_match *m, const char *method)
{
    size_t have = strlen(m->rm_allow), n = strlen(method);
    const char *p = m->rm_allow;

    while (*p) {
        const char *end = strstr(p, ", ");
        size_t k = end ? (size_t)(end - p) : strlen(p);

        if (k == n && memcmp(p, method, n) == 0)
            return;
        p += k;
        if (*p)
            p += 2;
    }
    if (have + (have ? 2 : 0) + n + 1 > sizeof(m->rm_allow))
        return;
    if (have) {
        memcpy(m->rm_allow + have, ", ", 2);
        have += 2;
    }
    memcpy(m->rm_allow + have, method, n + 1);
}

static void router_match_clear(struct router_match *m)
{
    m->rm_route = NULL;
    m->rm_nparams = 0;
    m->rm_allow[0] = '\0';
}

/* Finds the route for method and path; see router.h. */
enum err router_match(const struct router *r, const char *method, const struct router_path *path,
                      struct router_match *m)
{
    const struct router_entry *fallback = NULL;
    int any = 0, head = strcmp(method, "HEAD") == 0;
    size_t i;

    router_match_clear(m);
    for (i = 0; i < r->r_n; i++) {
        const struct router_entry *e = &r->r_entries[i];

        if (!router_entry_match(e, path, m))
            continue;
        any = 1;
        if (strcmp(e->re_route.hr_method, method) == 0) {
            m->rm_route = &e->re_route;
            m->rm_allow[0] = '\0';
            return ERR_OK;
        }
        if (head && !fallback && strcmp(e->re_route.hr_method, "GET") == 0)
            fallback = e;
    }
    if (fallback) {
        (void)router_entry_match(fallback, path, m);
        m->rm_route = &fallback->re_route;
        return ERR_OK;
    }
    m->rm_nparams = 0;
    if (!any)
        return ERR_NOT_FOUND;
    for (i = 0; i < r->r_n; i++) {
        const struct router_entry *e = &r->r_entries[i];
        struct router_match scratch;

        if (!router_entry_match(e, path, &scratch))
            continue;
        router_allow_add(m, e->re_route.hr_method);
        if (strcmp(e->re_route.hr_method, "GET") == 0)
            router_allow_add(m, "HEAD");
    }
    return ERR_METHOD;
}

/* Returns the value of a bound parameter, or NULL. */
const char *router_match_param(const struct router_match *m, const char *name)
{
    size_t i;

    if (!name)
        return NULL;
    for (i = 0; i < m->rm_nparams; i++) {
        if (strcmp(m->rm_names[i], name) == 0)
            return m->rm_values[i];
    }
    return NULL;
}
