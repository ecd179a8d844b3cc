/* test_router.c - request-target decoding and route matching (http/router.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/limits.h"
#include "http/router.h"

static enum err h_dummy(struct http_request *req, struct http_response *resp)
{
    (void)req;
    (void)resp;
    return ERR_OK;
}

/* A Connect-shaped table, plus a few entries for precedence rules. */
static const struct http_route routes[] = {
    /* 0 */ {"GET", "/heartbeat", h_dummy},
    /* 1 */ {"GET", "/health", h_dummy},
    /* 2 */ {"GET", "/v1/vaults", h_dummy},
    /* 3 */ {"GET", "/v1/vaults/{vaultUuid}", h_dummy},
    /* 4 */ {"GET", "/v1/vaults/{vaultUuid}/items", h_dummy},
    /* 5 */ {"POST", "/v1/vaults/{vaultUuid}/items", h_dummy},
    /* 6 */ {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}", h_dummy},
    /* 7 */ {"PUT", "/v1/vaults/{vaultUuid}/items/{itemUuid}", h_dummy},
    /* 8 */ {"PATCH", "/v1/vaults/{vaultUuid}/items/{itemUuid}", h_dummy},
    /* 9 */ {"DELETE", "/v1/vaults/{vaultUuid}/items/{itemUuid}", h_dummy},
    /* 10 */ {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}/files", h_dummy},
    /* 11 */ {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}/files/{fileUuid}", h_dummy},
    /* 12 */ {"GET", "/v1/vaults/{vaultUuid}/items/{itemUuid}/files/{fileUuid}/content", h_dummy},
    /* 13 */ {"GET", "/", h_dummy},
    /* 14 */ {"GET", "/probe", h_dummy},
    /* 15 */ {"HEAD", "/probe", h_dummy},
    /* 16 */ {"POST", "/v1/vaults/special", h_dummy},
    /* 17 */ {"GET", "/a:b@c/x-y_z.~!$&'()*+,;=", h_dummy},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

#define BADPATH "Invalid request path"
#define V26     "abcdefghijklmnopqrstuvwxyz"
#define I26     "zyxwvutsrqponmlkjihgfedcba"

struct mcase {
    const char *method;
    const char *target;
    enum err rc;        /* of decode, then of match */
    int route;          /* index in routes[] on ERR_OK */
    const char *params; /* "name=value;..." in pattern order */
    const char *path;   /* decoded normalised path (on decode success) */
    const char *query;  /* raw query (on decode success) */
    const char *allow;  /* on ERR_METHOD */
};

static const struct mcase mcases[] = {
    /* Plain routes, with and without a trailing slash (connect-api.md §2.1). */
    {"GET", "/heartbeat", ERR_OK, 0, "", "/heartbeat", "", ""},
    {"GET", "/heartbeat/", ERR_OK, 0, "", "/heartbeat", "", ""},
    {"GET", "/health", ERR_OK, 1, "", "/health", "", ""},
    {"GET", "/v1/vaults", ERR_OK, 2, "", "/v1/vaults", "", ""},
    {"GET", "/v1/vaults/", ERR_OK, 2, "", "/v1/vaults", "", ""},
    {"GET", "/v1/vaults/?filter=name%20eq%20%22x%22", ERR_OK, 2, "", "/v1/vaults",
     "filter=name%20eq%20%22x%22", ""},
    {"GET", "/v1/vaults?", ERR_OK, 2, "", "/v1/vaults", "", ""},
    {"GET", "/v1/vaults?a=1?b=2", ERR_OK, 2, "", "/v1/vaults", "a=1?b=2", ""},
    {"GET", "/", ERR_OK, 13, "", "/", "", ""},
    {"GET", "/?x", ERR_OK, 13, "", "/", "x", ""},
    /* "//" is the root with a trailing slash. */
    {"GET", "//", ERR_OK, 13, "", "/", "", ""},
    /* Parameters. */
    {"GET", "/v1/vaults/" V26, ERR_OK, 3, "vaultUuid=" V26, "/v1/vaults/" V26, "", ""},
    {"GET", "/v1/vaults/" V26 "/items/", ERR_OK, 4, "vaultUuid=" V26, "/v1/vaults/" V26 "/items",
     "", ""},
    {"POST", "/v1/vaults/" V26 "/items/", ERR_OK, 5, "vaultUuid=" V26, "/v1/vaults/" V26 "/items",
     "", ""},
    {"GET", "/v1/vaults/" V26 "/items/" I26, ERR_OK, 6, "vaultUuid=" V26 ";itemUuid=" I26,
     "/v1/vaults/" V26 "/items/" I26, "", ""},
    {"PUT", "/v1/vaults/v/items/i", ERR_OK, 7, "vaultUuid=v;itemUuid=i", "/v1/vaults/v/items/i", "",
     ""},
    {"PATCH", "/v1/vaults/v/items/i/", ERR_OK, 8, "vaultUuid=v;itemUuid=i", "/v1/vaults/v/items/i",
     "", ""},
    {"DELETE", "/v1/vaults/v/items/i", ERR_OK, 9, "vaultUuid=v;itemUuid=i", "/v1/vaults/v/items/i",
     "", ""},
    {"GET", "/v1/vaults/v/items/i/files/", ERR_OK, 10, "vaultUuid=v;itemUuid=i",
     "/v1/vaults/v/items/i/files", "", ""},
    {"GET", "/v1/vaults/v/items/i/files/f", ERR_OK, 11, "vaultUuid=v;itemUuid=i;fileUuid=f",
     "/v1/vaults/v/items/i/files/f", "", ""},
    {"GET", "/v1/vaults/v/items/i/files/f/content?inline_files=true", ERR_OK, 12,
     "vaultUuid=v;itemUuid=i;fileUuid=f", "/v1/vaults/v/items/i/files/f/content",
     "inline_files=true", ""},
    /* Percent-decoding of segments: params and literals alike. */
    {"GET", "/v1/vaults/%61bc", ERR_OK, 3, "vaultUuid=abc", "/v1/vaults/abc", "", ""},
    {"GET", "/v1/%76aults", ERR_OK, 2, "", "/v1/vaults", "", ""},
    {"GET", "/v1/vaults/a%20b", ERR_OK, 3, "vaultUuid=a b", "/v1/vaults/a b", "", ""},
    {"GET", "/v1/vaults/a+b", ERR_OK, 3, "vaultUuid=a+b", "/v1/vaults/a+b", "", ""},
    {"GET", "/v1/vaults/%C3%A9t%c3%a9", ERR_OK, 3, "vaultUuid=\xc3\xa9t\xc3\xa9",
     "/v1/vaults/\xc3\xa9t\xc3\xa9", "", ""},
    {"GET", "/v1/vaults/%2e%2e.", ERR_OK, 3, "vaultUuid=...", "/v1/vaults/...", "", ""},
    {"GET", "/v1/vaults/%3F%23", ERR_OK, 3, "vaultUuid=?#", "/v1/vaults/?#", "", ""},
    {"GET", "/a:b@c/x-y_z.~!$&'()*+,;=", ERR_OK, 17, "", "/a:b@c/x-y_z.~!$&'()*+,;=", "", ""},
    /* Literals are case-sensitive; params take any non-empty segment. */
    {"GET", "/V1/vaults", ERR_NOT_FOUND, -1, "", "/V1/vaults", "", ""},
    {"GET", "/v1/vaults/special", ERR_OK, 3, "vaultUuid=special", "/v1/vaults/special", "", ""},
    {"POST", "/v1/vaults/special", ERR_OK, 16, "", "/v1/vaults/special", "", ""},
    /* Unknown paths: 404. */
    {"GET", "/nope", ERR_NOT_FOUND, -1, "", "/nope", "", ""},
    {"GET", "/v1", ERR_NOT_FOUND, -1, "", "/v1", "", ""},
    {"GET", "/v1/vaults/v/items/i/files/f/content/x", ERR_NOT_FOUND, -1, "",
     "/v1/vaults/v/items/i/files/f/content/x", "", ""},
    {"GET", "/heartbeatx", ERR_NOT_FOUND, -1, "", "/heartbeatx", "", ""},
    /* Only one trailing slash is ignored; other empty segments match nothing. */
    {"GET", "/v1/vaults//", ERR_NOT_FOUND, -1, "", "/v1/vaults/", "", ""},
    {"GET", "/v1//vaults", ERR_NOT_FOUND, -1, "", "/v1//vaults", "", ""},
    {"GET", "/v1/vaults//items", ERR_NOT_FOUND, -1, "", "/v1/vaults//items", "", ""},
    {"GET", "//heartbeat", ERR_NOT_FOUND, -1, "", "//heartbeat", "", ""},
    /* Known paths, other methods: 405 with Allow (HEAD wherever GET is). */
    {"POST", "/v1/vaults", ERR_METHOD, -1, "", "/v1/vaults", "", "GET, HEAD"},
    {"DELETE", "/v1/vaults/x/items", ERR_METHOD, -1, "", "/v1/vaults/x/items", "",
     "GET, HEAD, POST"},
    {"POST", "/v1/vaults/x/items/y/", ERR_METHOD, -1, "", "/v1/vaults/x/items/y", "",
     "GET, HEAD, PUT, PATCH, DELETE"},
    {"get", "/v1/vaults", ERR_METHOD, -1, "", "/v1/vaults", "", "GET, HEAD"},
    {"OPTIONS", "/heartbeat", ERR_METHOD, -1, "", "/heartbeat", "", "GET, HEAD"},
    {"PUT", "/v1/vaults/special", ERR_METHOD, -1, "", "/v1/vaults/special", "", "GET, HEAD, POST"},
    {"PUT", "/probe", ERR_METHOD, -1, "", "/probe", "", "GET, HEAD"},
    /* HEAD falls back to GET, unless a HEAD route exists. */
    {"HEAD", "/v1/vaults/", ERR_OK, 2, "", "/v1/vaults", "", ""},
    {"HEAD", "/v1/vaults/v/items/i", ERR_OK, 6, "vaultUuid=v;itemUuid=i", "/v1/vaults/v/items/i",
     "", ""},
    {"HEAD", "/probe", ERR_OK, 15, "", "/probe", "", ""},
    {"GET", "/probe", ERR_OK, 14, "", "/probe", "", ""},
    /* Refused targets: 400 with a fixed message. */
    {"GET", "", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "*", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "v1/vaults", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "http://h/v1/vaults", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "?x=1", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults#frag", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults?x=#", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/%00", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/a%00b", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/%0a", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/%7F", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/%2F", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/a%2fb/items", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/%", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/%4", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/%4g", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/%g4/items", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/%ff", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/%C3", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/%C0%AF", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/%ED%A0%80", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/\xff", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/\x01", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/..", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/../heartbeat", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/./heartbeat", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/.", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/./", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/%2e%2E", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/v1/vaults/%2e", ERR_BAD_INPUT, -1, "", "", "", ""},
    {"GET", "/..", ERR_BAD_INPUT, -1, "", "", "", ""},
    /* The query is not decoded here: escapes in it are fine. */
    {"GET", "/v1/vaults?filter=%zz", ERR_OK, 2, "", "/v1/vaults", "filter=%zz", ""},
};

/* Formats the bound parameters as "name=value;..." into out. */
static void fmt_params(const struct router_match *m, char *out, size_t cap)
{
    size_t i, off = 0;

    out[0] = '\0';
    for (i = 0; i < m->rm_nparams; i++) {
        int n = snprintf(out + off, cap - off, "%s%s=%s", i ? ";" : "", m->rm_names[i],
                         m->rm_values[i]);
        assert_true(n > 0 && (size_t)n < cap - off);
        off += (size_t)n;
    }
}

static void test_match_table(void **state)
{
    struct router *r = NULL;
    char msg[ROUTER_ERRMSG_MAX];
    size_t i;

    (void)state;
    assert_int_equal(router_new(&r, routes, NROUTES, msg, sizeof(msg)), ERR_OK);
    assert_string_equal(msg, "");
    for (i = 0; i < sizeof(mcases) / sizeof(mcases[0]); i++) {
        const struct mcase *c = &mcases[i];
        struct arena a;
        struct router_path p;
        struct router_match m;
        char params[512];
        enum err rc;

        print_message("case %zu: %s %s\n", i, c->method, c->target);
        arena_init(&a, ARENA_MAX_BYTES);
        rc = router_path_decode(&a, c->target, strlen(c->target), &p, msg, sizeof(msg));
        if (c->rc == ERR_BAD_INPUT) {
            assert_int_equal(rc, ERR_BAD_INPUT);
            assert_string_equal(msg, BADPATH);
            assert_string_equal(p.rp_path, "");
            assert_int_equal(p.rp_nsegs, 0);
            assert_null(p.rp_segs);
            arena_free(&a);
            continue;
        }
        assert_int_equal(rc, ERR_OK);
        assert_string_equal(msg, "");
        assert_string_equal(p.rp_path, c->path);
        assert_string_equal(p.rp_query, c->query);
        assert_int_equal(p.rp_query_len, strlen(c->query));
        rc = router_match(r, c->method, &p, &m);
        assert_int_equal(rc, c->rc);
        assert_string_equal(m.rm_allow, c->allow);
        if (rc == ERR_OK) {
            assert_non_null(m.rm_route);
            assert_string_equal(m.rm_route->hr_pattern, routes[c->route].hr_pattern);
            assert_string_equal(m.rm_route->hr_method, routes[c->route].hr_method);
            assert_ptr_equal(m.rm_route->hr_handler, h_dummy);
            fmt_params(&m, params, sizeof(params));
            assert_string_equal(params, c->params);
        } else {
            assert_null(m.rm_route);
            assert_int_equal(m.rm_nparams, 0);
        }
        arena_free(&a);
    }
    router_free(r);
}

static void test_params_lookup(void **state)
{
    struct router *r = NULL;
    struct arena a;
    struct router_path p;
    struct router_match m;
    const char *t = "/v1/vaults/" V26 "/items/" I26 "/files/f%2Bx/content";

    (void)state;
    assert_int_equal(router_new(&r, routes, NROUTES, NULL, 0), ERR_OK);
    arena_init(&a, ARENA_MAX_BYTES);
    assert_int_equal(router_path_decode(&a, t, strlen(t), &p, NULL, 0), ERR_OK);
    assert_int_equal(p.rp_nsegs, 8);
    assert_string_equal(p.rp_segs[0], "v1");
    assert_string_equal(p.rp_segs[7], "content");
    assert_string_equal(p.rp_raw, t);
    assert_int_equal(router_match(r, "GET", &p, &m), ERR_OK);
    assert_string_equal(router_match_param(&m, "vaultUuid"), V26);
    assert_string_equal(router_match_param(&m, "itemUuid"), I26);
    assert_string_equal(router_match_param(&m, "fileUuid"), "f+x");
    assert_null(router_match_param(&m, "vaultuuid"));
    assert_null(router_match_param(&m, "nope"));
    assert_null(router_match_param(&m, NULL));
    /* A 404 binds nothing. */
    assert_int_equal(router_path_decode(&a, "/x/y", 4, &p, NULL, 0), ERR_OK);
    assert_int_equal(router_match(r, "GET", &p, &m), ERR_NOT_FOUND);
    assert_null(router_match_param(&m, "vaultUuid"));
    arena_free(&a);
    router_free(r);
}

/* The raw path keeps the trailing slash (for logs); the target need not be NUL-terminated. */
static void test_decode_raw_and_length(void **state)
{
    struct arena a;
    struct router_path p;
    char buf[32];
    char msg[ROUTER_ERRMSG_MAX];

    (void)state;
    arena_init(&a, ARENA_MAX_BYTES);
    assert_int_equal(router_path_decode(&a, "/v1/vaults/?q=1", 15, &p, NULL, 0), ERR_OK);
    assert_string_equal(p.rp_raw, "/v1/vaults/");
    assert_string_equal(p.rp_path, "/v1/vaults");
    memcpy(buf, "/v1/vaultsXXXX", 14);
    assert_int_equal(router_path_decode(&a, buf, 10, &p, NULL, 0), ERR_OK);
    assert_string_equal(p.rp_path, "/v1/vaults");
    /* An embedded NUL byte in the target is refused. */
    memcpy(buf, "/v1/\0aults", 10);
    assert_int_equal(router_path_decode(&a, buf, 10, &p, msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_string_equal(msg, BADPATH);
    /* A small message buffer is truncated, never overrun. */
    assert_int_equal(router_path_decode(&a, "x", 1, &p, msg, 8), ERR_BAD_INPUT);
    assert_string_equal(msg, "Invalid");
    arena_free(&a);
}

static void test_segment_limit(void **state)
{
    struct arena a;
    struct router_path p;
    char t[ROUTER_MAX_SEGMENTS * 2 + 8];
    char msg[ROUTER_ERRMSG_MAX];
    size_t i;

    (void)state;
    arena_init(&a, ARENA_MAX_BYTES);
    for (i = 0; i < ROUTER_MAX_SEGMENTS; i++) {
        t[2 * i] = '/';
        t[2 * i + 1] = 'a';
    }
    t[2 * ROUTER_MAX_SEGMENTS] = '\0';
    assert_int_equal(router_path_decode(&a, t, strlen(t), &p, NULL, 0), ERR_OK);
    assert_int_equal(p.rp_nsegs, ROUTER_MAX_SEGMENTS);
    /* A trailing slash does not count. */
    t[2 * ROUTER_MAX_SEGMENTS] = '/';
    t[2 * ROUTER_MAX_SEGMENTS + 1] = '\0';
    assert_int_equal(router_path_decode(&a, t, strlen(t), &p, NULL, 0), ERR_OK);
    assert_int_equal(p.rp_nsegs, ROUTER_MAX_SEGMENTS);
    t[2 * ROUTER_MAX_SEGMENTS + 1] = 'a';
    t[2 * ROUTER_MAX_SEGMENTS + 2] = '\0';
    assert_int_equal(router_path_decode(&a, t, strlen(t), &p, msg, sizeof(msg)), ERR_NOT_FOUND);
    assert_string_equal(msg, "Resource not found");
    assert_int_equal(p.rp_nsegs, 0);
    arena_free(&a);
}

/* An arena too small for the decoded path: ERR_NOMEM, and the output cleared. */
static void test_decode_nomem(void **state)
{
    struct arena a;
    struct router_path p;

    (void)state;
    arena_init(&a, 16);
    assert_int_equal(router_path_decode(&a, "/v1/vaults/abcdefghijklmnop", 27, &p, NULL, 0),
                     ERR_NOMEM);
    assert_string_equal(p.rp_path, "");
    assert_int_equal(p.rp_nsegs, 0);
    arena_free(&a);
}

struct ccase {
    const char *method;
    const char *pattern;
    const char *msg;
};

static void test_compile_errors(void **state)
{
    static const struct ccase ccases[] = {
        {"GET", "", "route 1: pattern must start with '/'"},
        {"GET", "v1/vaults", "route 1: pattern must start with '/'"},
        {"GET", "/v1/", "route 1: pattern ends with '/'"},
        {"GET", "/v1//vaults", "route 1: pattern has an empty segment"},
        {"GET", "//", "route 1: pattern ends with '/'"},
        {"GET", "/v1/{}", "route 1: malformed parameter"},
        {"GET", "/v1/{a", "route 1: malformed parameter"},
        {"GET", "/v1/{a-b}", "route 1: malformed parameter"},
        {"GET", "/v1/{a}x", "route 1: malformed parameter"},
        {"GET", "/v1/x{a}", "route 1: invalid character in pattern"},
        {"GET", "/v1/a b", "route 1: invalid character in pattern"},
        {"GET", "/v1/a%20b", "route 1: invalid character in pattern"},
        {"GET", "/v1/a?b", "route 1: invalid character in pattern"},
        {"GET", "/v1/a#b", "route 1: invalid character in pattern"},
        {"GET", "/v1/\xc3\xa9", "route 1: invalid character in pattern"},
        {"GET", "/v1/..", "route 1: dot segment in pattern"},
        {"GET", "/./x", "route 1: dot segment in pattern"},
        {"GET", "/{a}/{a}", "route 1: repeated parameter name"},
        {"GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", "route 1: too many parameters"},
        {"get", "/x", "route 1: invalid method"},
        {"", "/x", "route 1: invalid method"},
        {NULL, "/x", "route 1: invalid method"},
        {"G-T", "/x", "route 1: invalid method"},
        {"ABCDEFGHIJKLMNOPQ", "/x", "route 1: invalid method"},
        {"GET", NULL, "route 1: missing pattern or handler"},
        /* Same method and shape as route 0 ("GET /v1/{id}"). */
        {"GET", "/v1/{other}", "route 1: duplicate of route 0"},
    };
    char longp[ROUTER_MAX_SEGMENTS * 2 + 8];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ccases) / sizeof(ccases[0]); i++) {
        struct http_route t[2] = {{"GET", "/v1/{id}", h_dummy},
                                  {ccases[i].method, ccases[i].pattern, h_dummy}};
        struct router *r = (struct router *)&t; /* must be reset to NULL */
        char msg[ROUTER_ERRMSG_MAX];

        print_message("compile case %zu\n", i);
        assert_int_equal(router_new(&r, t, 2, msg, sizeof(msg)), ERR_CONFIG);
        assert_null(r);
        assert_string_equal(msg, ccases[i].msg);
    }
    {
        struct http_route t[1] = {{"GET", "/x", NULL}};
        struct router *r = NULL;
        char msg[ROUTER_ERRMSG_MAX];

        assert_int_equal(router_new(&r, t, 1, msg, sizeof(msg)), ERR_CONFIG);
        assert_string_equal(msg, "route 0: missing pattern or handler");
    }
    for (i = 0; i <= ROUTER_MAX_SEGMENTS; i++) {
        longp[2 * i] = '/';
        longp[2 * i + 1] = 'a';
    }
    longp[2 * (ROUTER_MAX_SEGMENTS + 1)] = '\0';
    {
        struct http_route t[1] = {{"GET", longp, h_dummy}};
        struct router *r = NULL;
        char msg[ROUTER_ERRMSG_MAX];

        assert_int_equal(router_new(&r, t, 1, msg, sizeof(msg)), ERR_CONFIG);
        assert_string_equal(msg, "route 0: pattern has too many segments");
        longp[2 * ROUTER_MAX_SEGMENTS] = '\0'; /* exactly the maximum is fine */
        assert_int_equal(router_new(&r, t, 1, msg, sizeof(msg)), ERR_OK);
        router_free(r);
    }
}

/* Same pattern with different methods, and different shapes, are fine; an empty table too. */
static void test_compile_ok(void **state)
{
    static const struct http_route t[] = {
        {"GET", "/v1/{a}", h_dummy},     {"POST", "/v1/{a}", h_dummy},  {"GET", "/v1/x", h_dummy},
        {"GET", "/v1/{a}/{b}", h_dummy}, {"QUERY", "/v1/{a}", h_dummy},
    };
    struct router *r = NULL;
    struct arena a;
    struct router_path p;
    struct router_match m;

    (void)state;
    assert_int_equal(router_new(&r, t, sizeof(t) / sizeof(t[0]), NULL, 0), ERR_OK);
    arena_init(&a, ARENA_MAX_BYTES);
    assert_int_equal(router_path_decode(&a, "/v1/q", 5, &p, NULL, 0), ERR_OK);
    assert_int_equal(router_match(r, "DELETE", &p, &m), ERR_METHOD);
    assert_string_equal(m.rm_allow, "GET, HEAD, POST, QUERY");
    assert_int_equal(router_match(r, "QUERY", &p, &m), ERR_OK);
    assert_string_equal(m.rm_route->hr_method, "QUERY");
    arena_free(&a);
    router_free(r);

    assert_int_equal(router_new(&r, NULL, 0, NULL, 0), ERR_OK);
    arena_init(&a, ARENA_MAX_BYTES);
    assert_int_equal(router_path_decode(&a, "/", 1, &p, NULL, 0), ERR_OK);
    assert_int_equal(router_match(r, "GET", &p, &m), ERR_NOT_FOUND);
    arena_free(&a);
    router_free(r);
    router_free(NULL);
}

/* The router copies the table: the caller's strings may change afterwards. */
static void test_compile_copies(void **state)
{
    char method[8] = "GET", pattern[32] = "/v1/{id}";
    struct http_route t[1] = {{method, pattern, h_dummy}};
    struct router *r = NULL;
    struct arena a;
    struct router_path p;
    struct router_match m;

    (void)state;
    assert_int_equal(router_new(&r, t, 1, NULL, 0), ERR_OK);
    memset(method, 'X', sizeof(method) - 1);
    memset(pattern, 'Y', sizeof(pattern) - 1);
    arena_init(&a, ARENA_MAX_BYTES);
    assert_int_equal(router_path_decode(&a, "/v1/z", 5, &p, NULL, 0), ERR_OK);
    assert_int_equal(router_match(r, "GET", &p, &m), ERR_OK);
    assert_string_equal(m.rm_route->hr_pattern, "/v1/{id}");
    assert_string_equal(router_match_param(&m, "id"), "z");
    arena_free(&a);
    router_free(r);
}

/* Every allocation failure of router_new is ERR_NOMEM with nothing leaked. */
static void test_compile_nomem(void **state)
{
    long n;
    int failed = 0;

    (void)state;
    for (n = 0; n < 64; n++) {
        struct router *r = NULL;
        enum err rc;

        mem_fail_after(n);
        rc = router_new(&r, routes, NROUTES, NULL, 0);
        mem_fail_after(-1);
        if (rc == ERR_OK) {
            router_free(r);
            break;
        }
        assert_int_equal(rc, ERR_NOMEM);
        assert_null(r);
        failed++;
    }
    assert_true(failed > 0);
    assert_true(n < 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_table),
        cmocka_unit_test(test_params_lookup),
        cmocka_unit_test(test_decode_raw_and_length),
        cmocka_unit_test(test_segment_limit),
        cmocka_unit_test(test_decode_nomem),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_compile_ok),
        cmocka_unit_test(test_compile_copies),
        cmocka_unit_test(test_compile_nomem),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
