/*
 * totp.h - the value of a Connect OTP field (connect-api.md §6.3) and the `totp` code
 * Sesame adds to it on output: RFC 6238 TOTP over RFC 4226 HOTP.
 *
 * An OTP value is either an otpauth URI in Google Authenticator's Key Uri Format,
 *   otpauth://totp/LABEL?secret=BASE32&issuer=...&algorithm=SHA1|SHA256|SHA512
 *                       &digits=6|7|8&period=SECONDS
 * or a bare base32 secret ("JBSW Y3DP EHPK 3PXP", any case, spaces and dashes between
 * groups), which gets the defaults SHA1 / 6 digits / 30 s. The rules, and where they
 * differ from Connect, are in docs/data-model-totp.md.
 *
 * The decoded secret lives in struct totp_params; keep that struct on the stack (or in
 * secure memory) and wipe it with totp_params_clear() as soon as the code is made.
 */
#ifndef SESAME_JSON_TOTP_H
#define SESAME_JSON_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "crypto/hmac.h"

/* Limits (candidates for common/limits.h). */
#define TOTP_VALUE_MAX_BYTES  4096 /* a whole OTP field value, URI or bare secret */
#define TOTP_SECRET_MAX_BYTES 128  /* decoded secret (RFC 4226 asks for >= 16; 20 is usual) */
#define TOTP_DIGITS_MIN       6
#define TOTP_DIGITS_MAX       8
#define TOTP_PERIOD_MAX       3600 /* seconds; the minimum is 1 */

/* Defaults of the Key Uri Format, also used for bare secrets. */
#define TOTP_DEFAULT_ALG    HMAC_SHA1
#define TOTP_DEFAULT_DIGITS 6
#define TOTP_DEFAULT_PERIOD 30

#define TOTP_CODE_BYTES (TOTP_DIGITS_MAX + 1) /* enough for any code and its NUL */

/*
 * The "no TOTP here" outcome of totp_parse / totp_from_value: an otpauth://hotp/ URI (a
 * counter-based secret: no current code exists) or an empty value. Not a client error:
 * the caller omits `totp` and must never turn this into an HTTP status.
 */
#define TOTP_ERR_NOT_TOTP ERR_NOT_FOUND

/* A parsed OTP value. */
struct totp_params {
    enum hmac_alg tp_alg;                           /* HMAC hash */
    unsigned tp_digits;                             /* TOTP_DIGITS_MIN..TOTP_DIGITS_MAX */
    unsigned tp_period;                             /* seconds, 1..TOTP_PERIOD_MAX */
    size_t tp_secret_len;                           /* 1..TOTP_SECRET_MAX_BYTES */
    unsigned char tp_secret[TOTP_SECRET_MAX_BYTES]; /* the shared secret: wipe after use */
};

/*
 * Parses an OTP field value (len bytes, not necessarily NUL-terminated; value may be NULL
 * when len is 0) into *out, which is zeroed first and wiped again on any error. errmsg (if
 * not NULL and errcap > 0) receives "" on success or a message for the client that names
 * the offending part but never echoes the value, cut to errcap bytes.
 * Returns ERR_OK; TOTP_ERR_NOT_TOTP for an empty value or an otpauth://hotp/ URI; or
 * ERR_BAD_INPUT (too long, malformed URI or percent-escape, other otpauth type, missing,
 * duplicate, empty, over-long or non-base32 secret, bad algorithm / digits / period).
 */
enum err totp_parse(struct totp_params *out, const char *value, size_t len, char *errmsg,
                    size_t errcap) SESAME_WUR;

/*
 * Writes the RFC 6238 code of p for unix_time (seconds since the epoch, T0 = 0) to out:
 * tp_digits decimal digits, zero-padded, NUL-terminated; out is "" on error (if cap > 0).
 * Returns ERR_OK, ERR_TOO_LARGE (cap < tp_digits + 1), ERR_BAD_INPUT (unix_time < 0 or p
 * out of range), or ERR_CRYPTO.
 */
enum err totp_code(char *out, size_t cap, const struct totp_params *p,
                   int64_t unix_time) SESAME_WUR;

/*
 * Writes the RFC 4226 HOTP code of p's secret, hash and digits for counter to out (tp_period
 * is ignored). Errors as totp_code (ERR_BAD_INPUT only for p out of range).
 */
enum err totp_hotp_code(char *out, size_t cap, const struct totp_params *p,
                        uint64_t counter) SESAME_WUR;

/*
 * Convenience for the item serialiser: parses value, writes its current code for time now
 * into code (cap bytes; "" on error) and wipes the parsed secret. Returns ERR_OK,
 * TOTP_ERR_NOT_TOTP, ERR_BAD_INPUT (no code can be made: omit `totp`), ERR_TOO_LARGE (cap)
 * or ERR_CRYPTO.
 */
enum err totp_from_value(char *code, size_t cap, const char *value, size_t len,
                         int64_t now) SESAME_WUR;

/* Wipes *p (secret included); p may be NULL. */
void totp_params_clear(struct totp_params *p);

#endif
