/*
 * mask.h - conceals secret values in a byte stream (the output of `sesame run`): every
 * occurrence of any of the values is replaced by MASK_TEXT, also when an occurrence is
 * split across reads. Only bytes that may begin a value are held back, so ordinary output
 * passes at once; held bytes go out as soon as the next read (or the end) shows they are
 * not a value. Pure logic: the caller reads and writes.
 */
#ifndef SESAME_CLI_MASK_H
#define SESAME_CLI_MASK_H

#include <stddef.h>

#include "common/err.h"

#define MASK_TEXT       "<concealed by sesame>"
#define MASK_MAX_VALUES 4096 /* = RESOLVE_MAX_VALUES */

struct mask;

/*
 * Makes a mask for n values (values[i], lens[i] bytes; borrowed: they must outlive the
 * mask). Empty values are ignored; where values overlap at one position the longest wins. Returns
 * ERR_OK (*out owned: mask_free), ERR_TOO_LARGE (n over MASK_MAX_VALUES) or ERR_NOMEM.
 */
enum err mask_new(struct mask **out, const char *const *values, const size_t *lens,
                  size_t n) SESAME_WUR;

/* Frees m (NULL is fine). */
void mask_free(struct mask *m);

/* One output stream's state (stdout, stderr): bytes held back; free with mask_stream_free. */
struct mask_stream {
    char *ms_held; /* secure memory: the bytes that may begin a value */
    size_t ms_len;
    size_t ms_cap;
};

/*
 * Feeds len bytes of data read from the stream: calls emit(arg, bytes, n) for what can go
 * out now (masked), holding back a tail that may be the start of a value. With eof, all
 * is emitted. emit returns 0, or -1 to stop (then ERR_IO). Returns ERR_OK, ERR_IO or
 * ERR_NOMEM.
 */
enum err mask_feed(const struct mask *m, struct mask_stream *s, const char *data, size_t len,
                   int eof, int (*emit)(void *arg, const char *p, size_t n), void *arg) SESAME_WUR;

/* Wipes and frees what s holds. */
void mask_stream_free(struct mask_stream *s);

#endif
