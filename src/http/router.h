/*
 * router.h - the route table of an HTTP server and the pure logic that picks a route:
 * request-target decoding (path segments, percent-escapes, trailing slash) and matching
 * against patterns such as "/v1/vaults/{vaultUuid}/items/{itemUuid}".
 *
 * Rules (docs/http.md §2):
 * - the request target must be in origin form ("/..."); the query (after the first '?')
 *   is not decoded here, only split off (http/query.h decodes it); a '#' is refused;
 * - one trailing '/' is ignored ("/v1/vaults/" is "/v1/vaults", connect-api.md §2.1);
 *   other empty segments are kept and match nothing;
 * - each segment is percent-decoded after the path is split on '/', and refused (400)
 *   when an escape is malformed or the decoded segment holds NUL, a control character,
 *   '/', invalid UTF-8, or is "." or "..";
 * - routes are tried in table order: the first whose pattern matches the path and whose
 *   method equals the request method wins; a HEAD request falls back to the first
 *   matching GET route when no route is declared for HEAD;
 * - a path that matches no pattern is ERR_NOT_FOUND (404); a path that matches patterns
 *   but none with the method is ERR_METHOD (405) with the Allow list of their methods
 *   (plus HEAD wherever GET is allowed).
 */
#ifndef SESAME_HTTP_ROUTER_H
#define SESAME_HTTP_ROUTER_H

#include <stddef.h>

#include "common/arena.h"
#include "common/err.h"

#define ROUTER_MAX_SEGMENTS   32  /* segments of a path; a deeper path matches no route */
#define ROUTER_MAX_PARAMS     8   /* {params} in one pattern */
#define ROUTER_MAX_ROUTES     256 /* routes in one table */
#define ROUTER_MAX_METHOD_LEN 16  /* an HTTP method name of a route */
#define ROUTER_MAX_PARAM_LEN  64  /* a parameter name */
#define ROUTER_ALLOW_MAX      160 /* the Allow header value of a 405 */
#define ROUTER_ERRMSG_MAX     160 /* room for the messages of this module */

struct http_request;
struct http_response;

/*
 * One entry of a route table. The handler fills resp (http/server.h) and returns ERR_OK,
 * or returns an error that the server turns into a Connect error body.
 */
struct http_route {
    const char *hr_method;  /* "GET", "POST", ... (upper case, compared exactly) */
    const char *hr_pattern; /* "/v1/vaults/{vaultUuid}"; "{name}" is a whole segment */
    enum err (*hr_handler)(struct http_request *req, struct http_response *resp);
};

/* A compiled route table (opaque). */
struct router;

/* A decoded request target. Everything points into the arena given to the decoder. */
struct router_path {
    const char *rp_path;  /* normalised decoded path: "/" and the segments joined by '/' */
    char **rp_segs;       /* rp_nsegs decoded, NUL-terminated segments */
    size_t rp_nsegs;      /* 0 for "/" */
    const char *rp_raw;   /* raw path as received, without the query (NUL-terminated) */
    const char *rp_query; /* raw query after '?', NUL-terminated; "" when absent */
    size_t rp_query_len;  /* its length */
};

/* The outcome of router_match. */
struct router_match {
    const struct http_route *rm_route;        /* the router's copy of the route, on ERR_OK */
    size_t rm_nparams;                        /* parameters bound */
    const char *rm_names[ROUTER_MAX_PARAMS];  /* their names (owned by the router) */
    const char *rm_values[ROUTER_MAX_PARAMS]; /* their decoded values (the path's segments) */
    char rm_allow[ROUTER_ALLOW_MAX];          /* on ERR_METHOD: "GET, HEAD, POST"; else "" */
};

/*
 * Compiles a route table of n entries (copies everything, so routes may be freed after).
 * Refuses with ERR_CONFIG and a message in errmsg (errcap bytes, may be NULL): more than
 * ROUTER_MAX_ROUTES entries, a method that is not 1..ROUTER_MAX_METHOD_LEN upper-case
 * letters, a NULL handler, a pattern that does not start with '/', has an empty segment,
 * a trailing '/', a character outside RFC 3986 pchar (or '%'), a malformed or repeated
 * {param}, too many segments or params, or the same method and shape as an earlier route.
 * Returns ERR_OK (*out owned by the caller, freed with router_free), ERR_CONFIG or ERR_NOMEM.
 */
enum err router_new(struct router **out, const struct http_route *routes, size_t n, char *errmsg,
                    size_t errcap) SESAME_WUR;

/* Frees a router from router_new. NULL is fine. */
void router_free(struct router *r);

/*
 * Decodes the request target (len bytes, need not be NUL-terminated) into out, allocating
 * from a. Returns ERR_OK; ERR_BAD_INPUT with a client-safe message (never request data) for
 * a target that is not origin form or a path refused by the rules above; ERR_NOT_FOUND for
 * a path of more than ROUTER_MAX_SEGMENTS segments; ERR_NOMEM when the arena is exhausted.
 * On error *out is cleared (rp_path "" and no segments).
 */
enum err router_path_decode(struct arena *a, const char *target, size_t len,
                            struct router_path *out, char *errmsg, size_t errcap) SESAME_WUR;

/*
 * Finds the route for method and path. Returns ERR_OK (m->rm_route and the parameters
 * set), ERR_NOT_FOUND or ERR_METHOD (m->rm_allow set). m is always initialised.
 */
enum err router_match(const struct router *r, const char *method, const struct router_path *path,
                      struct router_match *m) SESAME_WUR;

/* Returns the value bound to parameter name by a successful match, or NULL. */
const char *router_match_param(const struct router_match *m, const char *name);

#endif
