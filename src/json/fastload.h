/*
 * fastload.h - a fast path for parsing the hub's answers: JSON text of the plain shape
 * the hub writes (objects, arrays, integers, true/false/null, strings of printable ASCII
 * without escapes - ids, base64url ciphertext) is turned into the same jansson tree as
 * json_loadb(text, len, JSON_REJECT_DUPLICATES, ...) would give, several times faster
 * (jansson reads a string one character at a time through its stream layer: a 1.5 MB
 * item page took sync longer to parse than the hub took to write it).
 *
 * Anything outside that shape - an escape, a byte outside 0x20..0x7e in a string, a
 * fraction or exponent, an integer beyond int64, a duplicate key, nesting deeper than
 * JSONFAST_MAX_DEPTH, a top level that is not an object or array, malformed text - is
 * left to jansson: jsonfast_load returns NULL, and jsonfast_loadb (what callers use) calls
 * json_loadb, which parses it or reports the error. So the fast path never accepts what jansson
 * refuses, nor gives another tree (tests/fuzz/fuzz_jsonfast.c checks both against jansson).
 */
#ifndef SESAME_JSON_FASTLOAD_H
#define SESAME_JSON_FASTLOAD_H

#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"

#define JSONFAST_MAX_DEPTH 32 /* deeper nesting goes to jansson */

/* Returns the tree of text[0..len) (a new reference), or NULL: parse it with jansson. */
json_t *jsonfast_load(const char *text, size_t len);

/*
 * Parses text[0..len) as json_loadb(text, len, JSON_REJECT_DUPLICATES, err) does, taking
 * the fast path first. Returns a new reference, or NULL with *err (may be NULL) jansson's.
 */
json_t *jsonfast_loadb(const char *text, size_t len, json_error_t *err);

/*
 * Appends the compact JSON text of v (any value; nesting at most JSONFAST_MAX_DEPTH) to b:
 * text that parses back to a tree equal to v (json_equal), written into one buffer instead
 * of jansson's dump (a string buffer per call, a function call per character) - what the
 * hub does with each of a thousand activity entries per upload. Reals and strings holding
 * a NUL are written by jansson. ERR_OK, ERR_BAD_INPUT (NULL, too deep), ERR_NOMEM or
 * ERR_TOO_LARGE (b's cap); on an error b may hold part of the text.
 */
enum err jsonfast_dump(json_t *v, struct buf *b);

#endif
