/*
 * adminsig.h - signatures on admin requests to the hub (docs/hub-api.md, "Authentication").
 *
 * The CLI sends
 *   Authorization: Sesame-Admin account=<ACCOUNT>, ts=<unix seconds>, nonce=<b64url 16 bytes>,
 *                  sig=<b64url r||s>
 * where sig is ES256 by the account kit's admin signing key over the canonical string
 *   "sesame-admin-v1\n" METHOD "\n" PATH?QUERY "\n" ts "\n" nonce "\n" hex(SHA-256(body))
 * (PATH?QUERY is the request target exactly as sent on the request line, ts the decimal
 * text, nonce the base64url text as it appears in the header, no newline at the end).
 *
 * Parsing (hub side) is strict: the scheme "Sesame-Admin" (any letter case, as RFC 9110
 * says of schemes), one or more spaces, then exactly the four parameters account, ts, nonce
 * and sig (lowercase names) in any order, separated by commas with optional spaces or tabs
 * around them; values are bare (no quoted strings) of [A-Za-z0-9_-]; a duplicate, unknown
 * or missing parameter, an account that is not an uppercase id, a ts that is not a
 * canonical non-negative decimal integer (no sign, no leading zero), a nonce that is not
 * strict base64url of exactly 16 bytes, or a sig that is not strict base64url of exactly
 * 64 bytes is refused. Verification checks |now - ts| <= ADMINSIG_WINDOW_SECONDS, then the
 * signature. Remembering nonces (each accepted once within the window) is the store's job:
 * the parsed nonce is returned for that. Every failure is ERR_UNAUTHORIZED with a reason
 * for the log; the header text is never quoted.
 */
#ifndef SESAME_KEYS_ADMINSIG_H
#define SESAME_KEYS_ADMINSIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/ids.h"
#include "crypto/ecdsa.h"

#define ADMINSIG_SCHEME         "Sesame-Admin"
#define ADMINSIG_CONTEXT        "sesame-admin-v1"
#define ADMINSIG_WINDOW_SECONDS 300
#define ADMINSIG_NONCE_BYTES    16
#define ADMINSIG_NONCE_LEN      22  /* base64url characters of the nonce */
#define ADMINSIG_SIG_LEN        86  /* base64url characters of r||s */
#define ADMINSIG_MAX_HEADER     512 /* Authorization value; a real one is about 190 bytes */
#define ADMINSIG_MAX_METHOD     16

enum adminsig_reason {
    ADMINSIG_OK = 0,
    ADMINSIG_EMPTY,            /* no header value */
    ADMINSIG_TOO_LONG,         /* over ADMINSIG_MAX_HEADER */
    ADMINSIG_BAD_SCHEME,       /* not "Sesame-Admin" followed by a space */
    ADMINSIG_MALFORMED,        /* not name=value pairs separated by commas */
    ADMINSIG_UNKNOWN_PARAM,    /* a parameter other than account, ts, nonce, sig */
    ADMINSIG_DUPLICATE_PARAM,  /* a parameter given twice */
    ADMINSIG_MISSING_PARAM,    /* one of the four is missing */
    ADMINSIG_BAD_ACCOUNT,      /* account is not an uppercase id */
    ADMINSIG_BAD_TS,           /* ts is not a canonical decimal integer */
    ADMINSIG_BAD_NONCE,        /* nonce is not base64url of 16 bytes */
    ADMINSIG_BAD_SIG_ENCODING, /* sig is not base64url of 64 bytes */
    ADMINSIG_OUTSIDE_WINDOW,   /* |now - ts| > ADMINSIG_WINDOW_SECONDS */
    ADMINSIG_BAD_SIGNATURE,    /* the signature does not verify */
    ADMINSIG_BAD_REQUEST,      /* method or target unusable (caller's arguments) */
    ADMINSIG_INTERNAL,         /* allocation or library failure */
    ADMINSIG__COUNT
};

/* A parsed Authorization value. */
struct adminsig_auth {
    char aa_account[ID_LEN + 1];                /* uppercase account id */
    int64_t aa_ts;                              /* unix seconds */
    char aa_nonce[ADMINSIG_NONCE_LEN + 1];      /* base64url text, for the replay check */
    unsigned char aa_sig[ECDSA_P256_SIG_BYTES]; /* r || s */
};

/* Returns the log name of r ("outside_window", ...); "unknown" outside the enum. */
const char *adminsig_reason_name(enum adminsig_reason r);

/*
 * Appends the canonical string for a request to out. method: 1..ADMINSIG_MAX_METHOD
 * uppercase letters; target: the request target (starts with '/', visible ASCII, at most
 * HTTP_MAX_URL_BYTES); ts >= 0; nonce: ADMINSIG_NONCE_LEN base64url characters; body may
 * be NULL when body_len is 0. Returns ERR_OK, ERR_BAD_INPUT, ERR_NOMEM or ERR_CRYPTO.
 */
enum err adminsig_canonical(struct buf *out, const char *method, const char *target, int64_t ts,
                            const char *nonce, const void *body, size_t body_len) SESAME_WUR;

/*
 * Signs a request with key (the admin signing key) at time now with a fresh random nonce,
 * and appends the Authorization value ("Sesame-Admin account=..., ts=..., nonce=...,
 * sig=...") to out. Returns ERR_OK, ERR_BAD_INPUT, ERR_NOMEM or ERR_CRYPTO.
 */
enum err adminsig_sign(struct buf *out, const struct ec_key *key, const char *account,
                       const char *method, const char *target, const void *body, size_t body_len,
                       int64_t now) SESAME_WUR;

/* adminsig_sign with a given nonce (for tests and known answers). Errors as adminsig_sign. */
enum err adminsig_sign_nonce(struct buf *out, const struct ec_key *key, const char *account,
                             const char *method, const char *target, const void *body,
                             size_t body_len, int64_t now,
                             const unsigned char nonce[ADMINSIG_NONCE_BYTES]) SESAME_WUR;

/*
 * Parses an Authorization value (len bytes) into *out (zeroed first). Returns ERR_OK, or
 * ERR_UNAUTHORIZED with *why set (why may be NULL).
 */
enum err adminsig_parse(struct adminsig_auth *out, const char *value, size_t len,
                        enum adminsig_reason *why) SESAME_WUR;

/*
 * Verifies a parsed value against the request and key (the account's admin public key) at
 * time now: the window, then the signature over the canonical string. Returns ERR_OK, or
 * ERR_UNAUTHORIZED with *why set (why may be NULL).
 */
enum err adminsig_verify(const struct adminsig_auth *a, const struct ec_key *key,
                         const char *method, const char *target, const void *body, size_t body_len,
                         int64_t now, enum adminsig_reason *why) SESAME_WUR;

#endif
