/*
 * err.h - the one project-wide error enum, and its single table mapping each
 * error to an HTTP status and the Connect error body {"status": N, "message": "..."}.
 */
#ifndef SESAME_COMMON_ERR_H
#define SESAME_COMMON_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define SESAME_WUR __attribute__((warn_unused_result))

enum err {
    ERR_OK = 0,       /* success */
    ERR_NOMEM,        /* allocation failed */
    ERR_TOO_LARGE,    /* input over a named limit (413) */
    ERR_BAD_INPUT,    /* malformed or invalid input (400) */
    ERR_BAD_JSON,     /* body is not valid JSON (400) */
    ERR_BAD_ID,       /* malformed id in a path (400) */
    ERR_UNAUTHORIZED, /* missing, malformed, expired, revoked or foreign token (401) */
    ERR_READ_ONLY,    /* write attempted with a token lacking write (401, as Connect) */
    ERR_FORBIDDEN,    /* vault not in the token's scope (403) */
    ERR_NOT_FOUND,    /* no such resource (404) */
    ERR_METHOD,       /* method not allowed on this route (405) */
    ERR_CONFLICT,     /* stale version (409) */
    ERR_RATE_LIMITED, /* token bucket empty (429) */
    ERR_INTERNAL,     /* a bug or an unexpected state (500) */
    ERR_STORAGE,      /* the database failed (500) */
    ERR_CRYPTO,       /* a crypto primitive failed or a ciphertext did not verify (500) */
    ERR_IO,           /* a file or socket operation failed (500) */
    ERR_CONFIG,       /* the configuration is unusable (500) */
    ERR_NOT_READY,    /* locked, or sync not healthy within OP_SYNC_TIMEOUT (500, as Connect) */
    ERR_UPSTREAM,     /* the hub refused or could not be reached (502) */
    ERR_TIMEOUT,      /* an operation ran out of time (504) */
    ERR_NO_SPACE,     /* the disk is full: SQLITE_FULL or ENOSPC (507) */
    ERR_CORRUPT,      /* the volume's database is damaged (503 while it is rebuilt) */
    ERR__COUNT
};

/* Returns the HTTP status for e (500 for values outside the enum). */
int err_http_status(enum err e);

/* Returns the default external message for e: a static string, safe to send to a client. */
const char *err_message(enum err e);

/* Returns the symbolic name of e ("ERR_NOT_FOUND"), for logs and tests. */
const char *err_name(enum err e);

/*
 * Writes the Connect error body {"status": <http status of e>, "message": <msg>} into out,
 * NUL-terminated. msg NULL means err_message(e); msg is JSON-escaped and must never hold
 * request data. Returns ERR_OK, or ERR_TOO_LARGE when out (of size cap) is too small.
 */
enum err err_to_json(enum err e, const char *msg, char *out, size_t cap) SESAME_WUR;

/*
 * Writes a printf-formatted, client-safe message into errmsg (errcap bytes, truncated;
 * nothing when errmsg is NULL or errcap is 0) and returns e, so that a validator can say
 * `return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "...")`. The message names what was wrong;
 * it must never contain request data.
 */
enum err err_msgf(enum err e, char *errmsg, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* va_list form of err_msgf. */
enum err err_vmsgf(enum err e, char *errmsg, size_t errcap, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

#endif
