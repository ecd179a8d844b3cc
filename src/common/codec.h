/*
 * codec.h - RFC 4648 encodings: base64, base64url, base32 (both cases), hex.
 *
 * Decoders are strict: no whitespace, no characters outside the chosen alphabet(s),
 * padding only where allowed, and non-zero trailing bits rejected (so each byte string
 * has exactly one accepted encoding per alphabet and padding choice).
 */
#ifndef SESAME_COMMON_CODEC_H
#define SESAME_COMMON_CODEC_H

#include <stddef.h>

#include "common/err.h"

/* Flags for the base64 and base32 functions. */
#define CODEC_B64_STD      0x01u /* alphabet A-Z a-z 0-9 + / */
#define CODEC_B64_URL      0x02u /* alphabet A-Z a-z 0-9 - _ */
#define CODEC_PAD          0x04u /* encode: add '=' padding; decode: padding required */
#define CODEC_PAD_OPTIONAL 0x08u /* decode: padding allowed but not required */
#define CODEC_B32_UPPER    0x10u /* base32 in upper case (default lower case) */
#define CODEC_B32_ANYCASE  0x20u /* decode: accept either case (not mixed) */

/* Returns the length of the base64 text for n bytes (without NUL), padded if pad. */
size_t codec_b64_encoded_len(size_t n, int pad);

/* Returns an upper bound of the bytes decoded from len characters of base64. */
size_t codec_b64_decoded_max(size_t len);

/*
 * Encodes n bytes of in as base64 into out (cap bytes, NUL-terminated). flags: exactly one
 * of CODEC_B64_STD / CODEC_B64_URL, plus CODEC_PAD. *outlen (if not NULL) gets the length.
 * Returns ERR_OK, or ERR_TOO_LARGE when cap is too small.
 */
enum err codec_b64_encode(char *out, size_t cap, size_t *outlen, const void *in, size_t n,
                          unsigned flags) SESAME_WUR;

/*
 * Decodes len characters of s into out (cap bytes). flags: one or both alphabets (if both,
 * the text must not mix them), and CODEC_PAD (padding required) or CODEC_PAD_OPTIONAL;
 * with neither, padding is refused. Returns ERR_OK, ERR_BAD_INPUT for malformed text,
 * or ERR_TOO_LARGE when cap is too small. On error *outlen is 0 and out is wiped.
 */
enum err codec_b64_decode(unsigned char *out, size_t cap, size_t *outlen, const char *s, size_t len,
                          unsigned flags) SESAME_WUR;

/* Returns the length of the base32 text for n bytes (without NUL), padded if pad. */
size_t codec_b32_encoded_len(size_t n, int pad);

/* Encodes in as base32 (RFC 4648 alphabet; CODEC_B32_UPPER, CODEC_PAD); see b64 encode. */
enum err codec_b32_encode(char *out, size_t cap, size_t *outlen, const void *in, size_t n,
                          unsigned flags) SESAME_WUR;

/* Decodes base32 text (case per CODEC_B32_UPPER / CODEC_B32_ANYCASE; padding as b64). */
enum err codec_b32_decode(unsigned char *out, size_t cap, size_t *outlen, const char *s, size_t len,
                          unsigned flags) SESAME_WUR;

/* Returns the value of hex digit c (either case), or -1. */
int codec_hex_digit(int c);

/* Encodes in as lowercase hex into out (cap >= 2n+1). Returns ERR_OK or ERR_TOO_LARGE. */
enum err codec_hex_encode(char *out, size_t cap, const void *in, size_t n) SESAME_WUR;

/* Decodes hex text (either case) of even length. Errors as codec_b64_decode. */
enum err codec_hex_decode(unsigned char *out, size_t cap, size_t *outlen, const char *s,
                          size_t len) SESAME_WUR;

#endif
