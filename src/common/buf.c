/* buf.c - capped growable buffers. */
#include "common/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/limits.h"

/* Initialises an empty buffer with a cap of max bytes. */
void buf_init(struct buf *b, size_t max)
{
    b->b_data = NULL;
    b->b_len = 0;
    b->b_cap = 0;
    b->b_max = max;
}

/* Wipes and frees b's memory; b stays usable. */
void buf_free(struct buf *b)
{
    if (b->b_data) {
        explicit_bzero(b->b_data, b->b_cap);
        mem_free(b->b_data);
    }
    b->b_data = NULL;
    b->b_len = 0;
    b->b_cap = 0;
}

/* Grows b so that it can take extra more bytes plus the terminator. */
static enum err buf_reserve(struct buf *b, size_t extra)
{
    size_t need, ncap;
    char *p;

    if (extra > b->b_max || b->b_len > b->b_max - extra) {
        buf_free(b);
        return ERR_TOO_LARGE;
    }
    need = b->b_len + extra + 1;
    if (need <= b->b_cap)
        return ERR_OK;
    ncap = b->b_cap ? b->b_cap : BUF_MIN_ALLOC;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->b_max + 1)
        ncap = b->b_max + 1;
    /* No realloc: the old block is wiped before it is released. */
    p = mem_alloc(ncap);
    if (!p) {
        buf_free(b);
        return ERR_NOMEM;
    }
    if (b->b_data) {
        memcpy(p, b->b_data, b->b_len + 1);
        explicit_bzero(b->b_data, b->b_cap);
        mem_free(b->b_data);
    }
    b->b_data = p;
    b->b_cap = ncap;
    return ERR_OK;
}

/* Appends n bytes; see buf.h. */
enum err buf_add(struct buf *b, const void *p, size_t n)
{
    enum err rc = buf_reserve(b, n);

    if (rc != ERR_OK)
        return rc;
    if (n)
        memcpy(b->b_data + b->b_len, p, n);
    b->b_len += n;
    b->b_data[b->b_len] = '\0';
    return ERR_OK;
}

/* Makes room for n more bytes (see buf.h). */
enum err buf_prepare(struct buf *b, size_t n)
{
    if (b->b_len >= b->b_max)
        return ERR_OK;
    return buf_reserve(b, n < b->b_max - b->b_len ? n : b->b_max - b->b_len);
}

/* Appends a NUL-terminated string. */
enum err buf_add_str(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

/* Appends formatted text; see buf.h. */
enum err buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    enum err rc;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        buf_free(b);
        return ERR_INTERNAL;
    }
    rc = buf_reserve(b, (size_t)n);
    if (rc != ERR_OK)
        return rc;
    vsnprintf(b->b_data + b->b_len, (size_t)n + 1, fmt, ap);
    b->b_len += (size_t)n;
    return ERR_OK;
}

/* Appends formatted text; see buf.h. */
enum err buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    enum err rc;

    va_start(ap, fmt);
    rc = buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* Appends the decimal text of v (see buf.h). */
enum err buf_add_i64(struct buf *b, int64_t v)
{
    char text[24], *p = text + sizeof(text);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0)
        *--p = '-';
    return buf_add(b, p, (size_t)(text + sizeof(text) - p));
}

/* Appends base64url text, encoded in place (see buf.h). */
enum err buf_add_b64url(struct buf *b, const void *p, size_t n, int quote)
{
    size_t len = codec_b64_encoded_len(n, 0), q = quote ? 1 : 0;
    enum err rc;

    rc = buf_reserve(b, len + 2 * q);
    if (rc != ERR_OK)
        return rc;
    if (q)
        b->b_data[b->b_len] = '"';
    rc = codec_b64_encode(b->b_data + b->b_len + q, len + 1, NULL, n ? p : "", n, CODEC_B64_URL);
    if (rc != ERR_OK) {
        b->b_data[b->b_len] = '\0';
        return rc;
    }
    if (q)
        b->b_data[b->b_len + 1 + len] = '"';
    b->b_len += len + 2 * q;
    b->b_data[b->b_len] = '\0';
    return ERR_OK;
}

/* Appends "key": to an object being written, after a comma unless it ends with '{'. */
static enum err buf_add_member_key(struct buf *b, const char *key)
{
    enum err rc = ERR_OK;

    if (b->b_len > 0 && b->b_data[b->b_len - 1] != '{')
        rc = buf_add(b, ",", 1);
    if (rc == ERR_OK)
        rc = buf_add_json_string(b, key);
    return rc == ERR_OK ? buf_add(b, ":", 1) : rc;
}

/* Appends "key":"v" (see buf.h). */
enum err buf_add_member_str(struct buf *b, const char *key, const char *v)
{
    enum err rc = buf_add_member_key(b, key);

    return rc == ERR_OK ? buf_add_json_string(b, v ? v : "") : rc;
}

/* Appends "key":v (see buf.h). */
enum err buf_add_member_i64(struct buf *b, const char *key, int64_t v)
{
    enum err rc = buf_add_member_key(b, key);

    return rc == ERR_OK ? buf_add_i64(b, v) : rc;
}

/* Appends "key":"base64url" (see buf.h). */
enum err buf_add_member_b64url(struct buf *b, const char *key, const void *p, size_t n)
{
    enum err rc = buf_add_member_key(b, key);

    return rc == ERR_OK ? buf_add_b64url(b, p, n, 1) : rc;
}

/* Appends s as a quoted, escaped JSON string. */
enum err buf_add_json_string(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    enum err rc = buf_add(b, "\"", 1);

    for (; rc == ERR_OK && *p; p++) {
        const unsigned char *run = p;
        char esc[6];

        /* a run of bytes that need no escape goes in one copy */
        while (*p >= 0x20 && *p != 0x7f && *p != '"' && *p != '\\')
            p++;
        if (p > run) {
            rc = buf_add(b, run, (size_t)(p - run));
            if (rc != ERR_OK || !*p)
                break;
        }
        switch (*p) {
        case '"':
            rc = buf_add(b, "\\\"", 2);
            break;
        case '\\':
            rc = buf_add(b, "\\\\", 2);
            break;
        case '\n':
            rc = buf_add(b, "\\n", 2);
            break;
        case '\r':
            rc = buf_add(b, "\\r", 2);
            break;
        case '\t':
            rc = buf_add(b, "\\t", 2);
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                esc[0] = '\\';
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[*p >> 4];
                esc[5] = hex[*p & 0xf];
                rc = buf_add(b, esc, sizeof(esc));
            } else {
                rc = buf_add(b, p, 1);
            }
        }
    }
    if (rc == ERR_OK)
        rc = buf_add(b, "\"", 1);
    return rc;
}

/* Returns the contents, "" when empty. */
const char *buf_str(const struct buf *b)
{
    return b->b_data ? b->b_data : "";
}

/* Hands the allocation to the caller; see buf.h. */
char *buf_take(struct buf *b, size_t *len)
{
    char *p = b->b_data;

    if (len)
        *len = b->b_len;
    if (p && b->b_cap > b->b_len + 1)
        explicit_bzero(p + b->b_len + 1, b->b_cap - b->b_len - 1);
    b->b_data = NULL;
    b->b_len = 0;
    b->b_cap = 0;
    return p;
}

/* Wipes and frees memory from buf_take(). */
void buf_release(char *p, size_t len)
{
    if (!p)
        return;
    explicit_bzero(p, len);
    mem_free(p);
}

/* Empties b, wiping the bytes, keeping the allocation. */
void buf_reset(struct buf *b)
{
    if (b->b_data) {
        explicit_bzero(b->b_data, b->b_len);
        b->b_data[0] = '\0';
    }
    b->b_len = 0;
}
