/*
 * query.h - URL query strings decoded exactly as Go's net/url ParseQuery does
 * (connect-api.md §2.4), so that every Connect client's encoding of a parameter
 * (Go's QueryEscape with '+' for space, JS/Python percent-encoding) means the same here
 * as it does to Connect.
 *
 * Rules (docs/data-model-filters.md §1):
 * - the query is the raw text after '?' (no '?', no fragment), at most HTTP_MAX_URL_BYTES;
 * - pairs are separated by '&'; empty pairs are skipped; a key without '=' has the
 *   empty value;
 * - in keys and values '+' is a space and "%XX" (hex digits of either case) is the byte
 *   0xXX; a '%' not followed by two hex digits is an error (400
 *   "invalid URL escape in query");
 * - a raw ';' anywhere in a pair is an error (400 "invalid semicolon separator in query"),
 *   Go >= 1.17's ParseQuery error; "%3B" is ordinary data;
 * - any malformed pair fails the whole query, whichever key is asked for (ParseQuery
 *   returns an error for the query; we never silently drop a pair);
 * - keys compare byte for byte after decoding (case-sensitive); the first occurrence of
 *   a repeated key wins (Go's Values.Get);
 * - the returned value must be valid UTF-8 (RFC 3629) without NUL bytes, else 400.
 */
#ifndef SESAME_HTTP_QUERY_H
#define SESAME_HTTP_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/*
 * Looks up parameter name (NUL-terminated, compared with the decoded key) in the raw
 * query text (len bytes, need not be NUL-terminated; NULL is fine when len is 0).
 *
 * out is an out-parameter: it is initialised here (any previous contents are NOT freed),
 * with a cap of HTTP_MAX_URL_BYTES. On ERR_OK, *found is 1 and out holds the decoded value
 * of the first occurrence (empty for "name" or "name="), or *found is 0 and out is empty;
 * the caller frees out with buf_free(). On error out is empty and *found is 0.
 *
 * errmsg (errcap bytes, may be NULL) receives a message safe to send to the client (never
 * any request data); it is "" on success. Returns ERR_OK, ERR_BAD_INPUT (malformed
 * escape, semicolon, value not UTF-8 or holding NUL), ERR_TOO_LARGE (query longer than
 * HTTP_MAX_URL_BYTES) or ERR_NOMEM.
 */
enum err query_get(struct buf *out, const char *query, size_t len, const char *name, int *found,
                   char *errmsg, size_t errcap) SESAME_WUR;

/*
 * Decodes one UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF) at the start of s (len bytes). Returns the number of bytes it takes (1-4) and
 * stores the code point in *cp, or returns 0 (and *cp = 0) when s does not start with a
 * valid sequence or len is 0.
 */
size_t query_decode_utf8(const char *s, size_t len, uint32_t *cp);

/* Returns 1 when s (len bytes) is valid UTF-8 with no NUL byte, else 0. */
int query_is_text(const char *s, size_t len);

#endif
