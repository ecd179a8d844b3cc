/*
 * buf.h - growable byte buffers with a hard cap (curl's dynbuf).
 *
 * A buffer is created with the most bytes it may ever hold; an append that would pass
 * it fails with ERR_TOO_LARGE and frees the buffer, so a failed buffer is always empty.
 * The contents are kept NUL-terminated (the terminator is not counted in b_len).
 * Memory is wiped before it is released, so a buffer may briefly hold secret text;
 * long-lived secrets belong in secure memory (crypto/secmem.h), not here.
 */
#ifndef SESAME_COMMON_BUF_H
#define SESAME_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct buf {
    char *b_data; /* NUL-terminated contents, NULL while empty */
    size_t b_len; /* bytes used, without the terminator */
    size_t b_cap; /* bytes allocated */
    size_t b_max; /* the most bytes b_len may reach */
};

/* Initialises an empty buffer that may grow to max bytes. Allocates nothing. */
void buf_init(struct buf *b, size_t max);

/* Appends n bytes. On ERR_NOMEM or ERR_TOO_LARGE the buffer is freed (left empty). */
enum err buf_add(struct buf *b, const void *p, size_t n) SESAME_WUR;

/*
 * Makes room for n more bytes at once, or as many as the buffer's max allows (a buffer
 * that will take many small appends grows once, not by doubling). ERR_OK or ERR_NOMEM
 * (which frees the buffer, as buf_add).
 */
enum err buf_prepare(struct buf *b, size_t n) SESAME_WUR;

/* Appends a NUL-terminated string; errors as buf_add. */
enum err buf_add_str(struct buf *b, const char *s) SESAME_WUR;

/* Appends printf-formatted text; errors as buf_add. */
enum err buf_addf(struct buf *b, const char *fmt, ...) SESAME_WUR
    __attribute__((format(printf, 2, 3)));

/* va_list form of buf_addf. */
enum err buf_vaddf(struct buf *b, const char *fmt, va_list ap) SESAME_WUR
    __attribute__((format(printf, 2, 0)));

/* Appends s as a JSON string literal with its quotes, escaping as RFC 8259 requires. */
enum err buf_add_json_string(struct buf *b, const char *s) SESAME_WUR;

/* Appends the decimal text of v; errors as buf_add. */
enum err buf_add_i64(struct buf *b, int64_t v) SESAME_WUR;

/*
 * Appends n bytes of p as unpadded base64url text, quoted when quote (a JSON string: the
 * alphabet needs no escaping); errors as buf_add.
 */
enum err buf_add_b64url(struct buf *b, const void *p, size_t n, int quote) SESAME_WUR;

/*
 * Appends one member of a JSON object being written: "key": (after a comma unless b ends
 * with '{'), then the value - a string (escaped; NULL: ""), an integer, or n bytes as a
 * base64url string. Errors as buf_add.
 */
enum err buf_add_member_str(struct buf *b, const char *key, const char *v) SESAME_WUR;
enum err buf_add_member_i64(struct buf *b, const char *key, int64_t v) SESAME_WUR;
enum err buf_add_member_b64url(struct buf *b, const char *key, const void *p, size_t n) SESAME_WUR;

/* Returns the contents ("" when empty); the pointer stays owned by b. */
const char *buf_str(const struct buf *b);

/*
 * Hands the allocation to the caller and leaves b empty. Returns NULL when b is empty.
 * *len (if not NULL) receives the length. The caller frees the result with buf_release().
 */
char *buf_take(struct buf *b, size_t *len);

/* Wipes and frees memory obtained from buf_take(); len is its length. NULL is fine. */
void buf_release(char *p, size_t len);

/* Empties b (wiping its bytes) but keeps its allocation. */
void buf_reset(struct buf *b);

/* Wipes and frees b's memory; b stays usable as an empty buffer with the same max. */
void buf_free(struct buf *b);

#endif
