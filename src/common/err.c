/* err.c - the single table from error to HTTP status and Connect message. */
#include "common/err.h"

#include <stdio.h>
#include <string.h>

#include "common/buf.h"

struct err_entry {
    int ee_status;          /* HTTP status */
    const char *ee_name;    /* symbolic name for logs */
    const char *ee_message; /* default external message (Connect's wording where known) */
};

static const struct err_entry err_table[ERR__COUNT] = {
    [ERR_OK] = {200, "ERR_OK", "OK"},
    [ERR_NOMEM] = {500, "ERR_NOMEM", "Something went wrong"},
    [ERR_TOO_LARGE] = {413, "ERR_TOO_LARGE", "Request is too large"},
    [ERR_BAD_INPUT] = {400, "ERR_BAD_INPUT", "Invalid request"},
    [ERR_BAD_JSON] = {400, "ERR_BAD_JSON", "Invalid JSON in request body"},
    [ERR_BAD_ID] = {400, "ERR_BAD_ID", "Invalid UUID"},
    [ERR_UNAUTHORIZED] = {401, "ERR_UNAUTHORIZED", "Invalid bearer token"},
    [ERR_READ_ONLY] = {401, "ERR_READ_ONLY",
                       "Unauthorized Request, token does not have write access to the Vault"},
    [ERR_FORBIDDEN] = {403, "ERR_FORBIDDEN", "Authorization: token does not have access to vault"},
    [ERR_NOT_FOUND] = {404, "ERR_NOT_FOUND", "Resource not found"},
    [ERR_METHOD] = {405, "ERR_METHOD", "Method not allowed"},
    [ERR_CONFLICT] = {409, "ERR_CONFLICT", "Conflict"},
    [ERR_RATE_LIMITED] = {429, "ERR_RATE_LIMITED", "Too many requests"},
    [ERR_INTERNAL] = {500, "ERR_INTERNAL", "Something went wrong"},
    [ERR_STORAGE] = {500, "ERR_STORAGE", "Something went wrong"},
    [ERR_CRYPTO] = {500, "ERR_CRYPTO", "Something went wrong"},
    [ERR_IO] = {500, "ERR_IO", "Something went wrong"},
    [ERR_CONFIG] = {500, "ERR_CONFIG", "failed to initiate, review service logs for details"},
    [ERR_NOT_READY] = {500, "ERR_NOT_READY", "failed to initiate, review service logs for details"},
    [ERR_UPSTREAM] = {502, "ERR_UPSTREAM", "The hub could not be reached"},
    [ERR_TIMEOUT] = {504, "ERR_TIMEOUT", "The operation timed out"},
    [ERR_NO_SPACE] = {507, "ERR_NO_SPACE", "the server's storage is full"},
    [ERR_CORRUPT] = {503, "ERR_CORRUPT", "the volume is being rebuilt"},
};

static const struct err_entry *err_entry_get(enum err e)
{
    if ((int)e < 0 || e >= ERR__COUNT)
        return &err_table[ERR_INTERNAL];
    return &err_table[e];
}

/* Returns the HTTP status for e (500 for values outside the enum). */
int err_http_status(enum err e)
{
    return err_entry_get(e)->ee_status;
}

/* Returns the default external message for e: a static string. */
const char *err_message(enum err e)
{
    return err_entry_get(e)->ee_message;
}

/* Returns the symbolic name of e; "ERR_INTERNAL" for values outside the enum. */
const char *err_name(enum err e)
{
    return err_entry_get(e)->ee_name;
}

/* Writes {"status":N,"message":"..."} into out; see err.h. */
enum err err_to_json(enum err e, const char *msg, char *out, size_t cap)
{
    struct buf b;
    enum err rc;

    if (cap == 0)
        return ERR_TOO_LARGE;
    out[0] = '\0';
    buf_init(&b, cap - 1);
    rc = buf_addf(&b, "{\"status\":%d,\"message\":", err_http_status(e));
    if (rc != ERR_OK)
        goto out;
    rc = buf_add_json_string(&b, msg ? msg : err_message(e));
    if (rc != ERR_OK)
        goto out;
    rc = buf_add(&b, "}", 1);
    if (rc != ERR_OK)
        goto out;
    memcpy(out, b.b_data, b.b_len);
    out[b.b_len] = '\0';
out:
    buf_free(&b);
    return rc;
}

/* Formats a client-safe message into errmsg and returns e; see err.h. */
enum err err_vmsgf(enum err e, char *errmsg, size_t errcap, const char *fmt, va_list ap)
{
    if (errmsg && errcap)
        (void)vsnprintf(errmsg, errcap, fmt, ap);
    return e;
}

/* Formats a client-safe message into errmsg and returns e; see err.h. */
enum err err_msgf(enum err e, char *errmsg, size_t errcap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    e = err_vmsgf(e, errmsg, errcap, fmt, ap);
    va_end(ap);
    return e;
}
