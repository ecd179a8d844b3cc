/*
 * resolve.h - resolves secret references (cli/secretref.h) against a Connect server named
 * by OP_CONNECT_HOST with the token OP_CONNECT_TOKEN, using only the public Connect API:
 * the client side of `sesame read`, `sesame run` and `sesame inject` (docs/cli.md).
 *
 * Vaults and items are taken by id when the name looks like one (26 of [a-z0-9], as every
 * SDK decides) and by title otherwise, through the server's `filter=... eq "..."`, with the
 * SDKs' rule: exactly one match, else an error that says none or several. Sections, fields
 * and files are matched on the fetched item by id or by label / name, ignoring ASCII case.
 * Each item is fetched once per resolver, each distinct reference resolved once.
 *
 * Values live in secure memory owned by the resolver until resolver_free(). Error messages
 * name the reference and carry the server's message; they never hold a secret value.
 */
#ifndef SESAME_CLI_RESOLVE_H
#define SESAME_CLI_RESOLVE_H

#include <stddef.h>

#include "cli/secretref.h"
#include "common/err.h"

#define RESOLVE_MAX_VALUES     4096        /* distinct references per resolver */
#define RESOLVE_MAX_ITEMS      1024        /* distinct items fetched per resolver */
#define RESOLVE_MAX_BODY_BYTES (64u << 20) /* one answer of the server (file contents) */
#define RESOLVE_ERRMSG_BYTES   1536        /* room for the reference and the server's message */
#define RESOLVE_CONCEALED      "<concealed by sesame>"

struct resolver;

/*
 * Makes a resolver from the environment: OP_CONNECT_HOST (a URL; "host:port" without a
 * scheme gets http://, as load-secrets-action does), OP_CONNECT_TOKEN, and SSL_CERT_FILE
 * (a PEM bundle trusted instead of the system's CAs, for a server with a private CA).
 * Returns ERR_OK (*out owned: resolver_free), ERR_CONFIG with errmsg (a variable missing or
 * unusable) or ERR_NOMEM.
 */
enum err resolver_new(struct resolver **out, char *errmsg, size_t errcap) SESAME_WUR;

/* Frees r and wipes every value it resolved. NULL is fine. */
void resolver_free(struct resolver *r);

/*
 * Resolves ref: *value points to its bytes (secure memory, NUL-terminated, owned by r until
 * resolver_free) and *len to their count. errmsg gets "<reference>: <what went wrong>".
 * Returns ERR_OK, ERR_NOT_FOUND (no such vault, item, section, field or file), ERR_CONFLICT
 * (several match), ERR_BAD_INPUT (an attribute the field or file does not have), an error
 * of the server's answer (ERR_UNAUTHORIZED, ERR_FORBIDDEN, ...), ERR_UPSTREAM (no answer),
 * ERR_TOO_LARGE (over RESOLVE_MAX_*) or ERR_NOMEM.
 */
enum err resolver_get(struct resolver *r, const struct secretref *ref, const char **value,
                      size_t *len, char *errmsg, size_t errcap) SESAME_WUR;

/*
 * Parses the reference text s (len bytes) and resolves it as resolver_get does; a
 * malformed reference is ERR_BAD_INPUT / ERR_TOO_LARGE with the parser's message.
 */
enum err resolver_get_text(struct resolver *r, const char *s, size_t len, const char **value,
                           size_t *vlen, char *errmsg, size_t errcap) SESAME_WUR;

#endif
