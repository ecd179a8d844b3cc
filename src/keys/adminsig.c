/*
 * adminsig.c - the Sesame-Admin Authorization scheme: canonical string, signing, strict
 * parsing and verification (rules in adminsig.h).
 */
#include "keys/adminsig.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "common/codec.h"
#include "common/limits.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"

#define ADMINSIG_CANON_MAX (HTTP_MAX_URL_BYTES + 256)
#define ADMINSIG_TS_DIGITS 19 /* INT64_MAX has 19 digits */

static const char *const adminsig_reason_names[ADMINSIG__COUNT] = {
    [ADMINSIG_OK] = "ok",
    [ADMINSIG_EMPTY] = "empty",
    [ADMINSIG_TOO_LONG] = "too_long",
    [ADMINSIG_BAD_SCHEME] = "bad_scheme",
    [ADMINSIG_MALFORMED] = "malformed",
    [ADMINSIG_UNKNOWN_PARAM] = "unknown_param",
    [ADMINSIG_DUPLICATE_PARAM] = "duplicate_param",
    [ADMINSIG_MISSING_PARAM] = "missing_param",
    [ADMINSIG_BAD_ACCOUNT] = "bad_account",
    [ADMINSIG_BAD_TS] = "bad_ts",
    [ADMINSIG_BAD_NONCE] = "bad_nonce",
    [ADMINSIG_BAD_SIG_ENCODING] = "bad_sig_encoding",
    [ADMINSIG_OUTSIDE_WINDOW] = "outside_window",
    [ADMINSIG_BAD_SIGNATURE] = "bad_signature",
    [ADMINSIG_BAD_REQUEST] = "bad_request",
    [ADMINSIG_INTERNAL] = "internal",
};

/* Returns the log name of r. */
const char *adminsig_reason_name(enum adminsig_reason r)
{
    if ((unsigned)r >= ADMINSIG__COUNT)
        return "unknown";
    return adminsig_reason_names[r];
}

/* Returns 1 if method is 1..ADMINSIG_MAX_METHOD uppercase ASCII letters. */
static int adminsig_method_ok(const char *method)
{
    size_t i, n;

    if (!method)
        return 0;
    n = strnlen(method, ADMINSIG_MAX_METHOD + 1);
    if (n == 0 || n > ADMINSIG_MAX_METHOD)
        return 0;
    for (i = 0; i < n; i++) {
        if (method[i] < 'A' || method[i] > 'Z')
            return 0;
    }
    return 1;
}

/* Returns 1 if target starts with '/' and is at most HTTP_MAX_URL_BYTES of visible ASCII. */
static int adminsig_target_ok(const char *target)
{
    size_t i, n;

    if (!target || target[0] != '/')
        return 0;
    n = strnlen(target, HTTP_MAX_URL_BYTES + 1);
    if (n > HTTP_MAX_URL_BYTES)
        return 0;
    for (i = 0; i < n; i++) {
        if ((unsigned char)target[i] < 0x21 || (unsigned char)target[i] > 0x7e)
            return 0;
    }
    return 1;
}

/* Returns 1 if s (n bytes) is strict unpadded base64url of exactly want bytes. */
static int adminsig_b64_is(const char *s, size_t n, unsigned char *out, size_t want)
{
    size_t got = 0;

    if (n != codec_b64_encoded_len(want, 0))
        return 0;
    return codec_b64_decode(out, want, &got, s, n, CODEC_B64_URL) == ERR_OK && got == want;
}

/* Builds the canonical string; see adminsig.h. */
enum err adminsig_canonical(struct buf *out, const char *method, const char *target, int64_t ts,
                            const char *nonce, const void *body, size_t body_len)
{
    unsigned char h[HASH_SHA256_BYTES], raw[ADMINSIG_NONCE_BYTES];
    char hex[2 * HASH_SHA256_BYTES + 1];
    struct buf b;
    enum err rc = ERR_BAD_INPUT;

    buf_init(&b, ADMINSIG_CANON_MAX);
    if (!out || !adminsig_method_ok(method) || !adminsig_target_ok(target) || ts < 0 || !nonce ||
        !adminsig_b64_is(nonce, strnlen(nonce, ADMINSIG_NONCE_LEN + 1), raw, sizeof(raw)) ||
        (!body && body_len > 0))
        goto out;
    rc = hash_sha256(h, body ? body : "", body_len);
    if (rc == ERR_OK)
        rc = codec_hex_encode(hex, sizeof(hex), h, sizeof(h));
    if (rc == ERR_OK)
        rc = buf_addf(&b, ADMINSIG_CONTEXT "\n%s\n%s\n%" PRId64 "\n%s\n%s", method, target, ts,
                      nonce, hex);
    if (rc == ERR_OK)
        rc = buf_add(out, b.b_data, b.b_len);
out:
    buf_free(&b);
    return rc;
}

/* Signs with a given nonce; see adminsig.h. */
enum err adminsig_sign_nonce(struct buf *out, const struct ec_key *key, const char *account,
                             const char *method, const char *target, const void *body,
                             size_t body_len, int64_t now,
                             const unsigned char nonce[ADMINSIG_NONCE_BYTES])
{
    unsigned char sig[ECDSA_P256_SIG_BYTES];
    char nonce_text[ADMINSIG_NONCE_LEN + 1], sig_text[ADMINSIG_SIG_LEN + 1];
    struct buf canon, hdr;
    enum err rc = ERR_BAD_INPUT;

    buf_init(&canon, ADMINSIG_CANON_MAX);
    buf_init(&hdr, ADMINSIG_MAX_HEADER);
    if (!out || !key || !nonce || !account || !id_is_valid_upper(account) || now < 0)
        goto out;
    rc = codec_b64_encode(nonce_text, sizeof(nonce_text), NULL, nonce, ADMINSIG_NONCE_BYTES,
                          CODEC_B64_URL);
    if (rc == ERR_OK)
        rc = adminsig_canonical(&canon, method, target, now, nonce_text, body, body_len);
    if (rc == ERR_OK)
        rc = ecdsa_p256_sign(key, canon.b_data, canon.b_len, sig);
    if (rc == ERR_OK)
        rc = codec_b64_encode(sig_text, sizeof(sig_text), NULL, sig, sizeof(sig), CODEC_B64_URL);
    if (rc == ERR_OK)
        rc = buf_addf(&hdr, ADMINSIG_SCHEME " account=%s, ts=%" PRId64 ", nonce=%s, sig=%s",
                      account, now, nonce_text, sig_text);
    if (rc == ERR_OK)
        rc = buf_add(out, hdr.b_data, hdr.b_len);
out:
    buf_free(&canon);
    buf_free(&hdr);
    return rc;
}

/* Signs with a fresh random nonce; see adminsig.h. */
enum err adminsig_sign(struct buf *out, const struct ec_key *key, const char *account,
                       const char *method, const char *target, const void *body, size_t body_len,
                       int64_t now)
{
    unsigned char nonce[ADMINSIG_NONCE_BYTES];
    enum err rc;

    rc = crypto_random(nonce, sizeof(nonce));
    if (rc != ERR_OK)
        return rc;
    return adminsig_sign_nonce(out, key, account, method, target, body, body_len, now, nonce);
}

/* Parses a canonical non-negative decimal integer of n digits into *ts; 1 on success. */
static int adminsig_parse_ts(const char *s, size_t n, int64_t *ts)
{
    int64_t v = 0;
    size_t i;

    if (n == 0 || n > ADMINSIG_TS_DIGITS || (n > 1 && s[0] == '0'))
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[i] - '0', &v))
            return 0;
    }
    *ts = v;
    return 1;
}

/* Returns 1 for a byte allowed in a parameter value: [A-Za-z0-9_-]. */
static int adminsig_value_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Returns 1 for a byte allowed in a parameter name: lowercase letters. */
static int adminsig_name_char(char c)
{
    return c >= 'a' && c <= 'z';
}

/* Returns 1 for optional white space: SP or HTAB. */
static int adminsig_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Parameter indexes. */
enum { AS_ACCOUNT, AS_TS, AS_NONCE, AS_SIG, AS__COUNT };

/* Stores one parameter's value; returns ADMINSIG_OK or why it is bad. */
static enum adminsig_reason adminsig_take(struct adminsig_auth *out, int which, const char *v,
                                          size_t n)
{
    switch (which) {
    case AS_ACCOUNT:
        if (n != ID_LEN)
            return ADMINSIG_BAD_ACCOUNT;
        memcpy(out->aa_account, v, ID_LEN);
        out->aa_account[ID_LEN] = '\0';
        return id_is_valid_upper(out->aa_account) ? ADMINSIG_OK : ADMINSIG_BAD_ACCOUNT;
    case AS_TS:
        return adminsig_parse_ts(v, n, &out->aa_ts) ? ADMINSIG_OK : ADMINSIG_BAD_TS;
    case AS_NONCE: {
        unsigned char raw[ADMINSIG_NONCE_BYTES];
        if (!adminsig_b64_is(v, n, raw, sizeof(raw)))
            return ADMINSIG_BAD_NONCE;
        memcpy(out->aa_nonce, v, n);
        out->aa_nonce[n] = '\0';
        return ADMINSIG_OK;
    }
    default:
        return adminsig_b64_is(v, n, out->aa_sig, sizeof(out->aa_sig)) ? ADMINSIG_OK
                                                                       : ADMINSIG_BAD_SIG_ENCODING;
    }
}

/* The parsing proper; see adminsig_parse. */
static enum adminsig_reason adminsig_parse_value(struct adminsig_auth *out, const char *s,
                                                 size_t len)
{
    static const char *const names[AS__COUNT] = {"account", "ts", "nonce", "sig"};
    const size_t slen = sizeof(ADMINSIG_SCHEME) - 1;
    int seen[AS__COUNT] = {0};
    size_t i = 0, start, nlen, vlen;
    int which, k;
    enum adminsig_reason r;

    if (!s || len == 0)
        return ADMINSIG_EMPTY;
    if (len > ADMINSIG_MAX_HEADER)
        return ADMINSIG_TOO_LONG;
    if (len <= slen || strncasecmp(s, ADMINSIG_SCHEME, slen) != 0 || s[slen] != ' ')
        return ADMINSIG_BAD_SCHEME;
    i = slen;
    while (i < len && s[i] == ' ')
        i++;
    for (;;) {
        /* name */
        start = i;
        while (i < len && adminsig_name_char(s[i]))
            i++;
        nlen = i - start;
        if (nlen == 0 || i >= len || s[i] != '=')
            return ADMINSIG_MALFORMED;
        which = -1;
        for (k = 0; k < AS__COUNT; k++) {
            if (nlen == strlen(names[k]) && memcmp(s + start, names[k], nlen) == 0)
                which = k;
        }
        if (which < 0)
            return ADMINSIG_UNKNOWN_PARAM;
        if (seen[which])
            return ADMINSIG_DUPLICATE_PARAM;
        seen[which] = 1;
        /* value */
        start = ++i;
        while (i < len && adminsig_value_char(s[i]))
            i++;
        vlen = i - start;
        if (vlen == 0)
            return ADMINSIG_MALFORMED;
        r = adminsig_take(out, which, s + start, vlen);
        if (r != ADMINSIG_OK)
            return r;
        /* separator, or the end */
        while (i < len && adminsig_ows(s[i]))
            i++;
        if (i == len)
            break;
        if (s[i] != ',')
            return ADMINSIG_MALFORMED;
        i++;
        while (i < len && adminsig_ows(s[i]))
            i++;
    }
    for (k = 0; k < AS__COUNT; k++) {
        if (!seen[k])
            return ADMINSIG_MISSING_PARAM;
    }
    return ADMINSIG_OK;
}

/* Parses an Authorization value; see adminsig.h. */
enum err adminsig_parse(struct adminsig_auth *out, const char *value, size_t len,
                        enum adminsig_reason *why)
{
    enum adminsig_reason r = ADMINSIG_INTERNAL, dummy;

    if (!why)
        why = &dummy;
    if (out) {
        memset(out, 0, sizeof(*out));
        r = adminsig_parse_value(out, value, len);
        if (r != ADMINSIG_OK)
            memset(out, 0, sizeof(*out));
    }
    *why = r;
    return r == ADMINSIG_OK ? ERR_OK : ERR_UNAUTHORIZED;
}

/* Verifies a parsed value; see adminsig.h. */
enum err adminsig_verify(const struct adminsig_auth *a, const struct ec_key *key,
                         const char *method, const char *target, const void *body, size_t body_len,
                         int64_t now, enum adminsig_reason *why)
{
    enum adminsig_reason r = ADMINSIG_INTERNAL, dummy;
    struct buf canon;
    int64_t diff;

    buf_init(&canon, ADMINSIG_CANON_MAX);
    if (!why)
        why = &dummy;
    if (!a || !key)
        goto out;
    r = ADMINSIG_OUTSIDE_WINDOW;
    if (__builtin_sub_overflow(now, a->aa_ts, &diff) || diff > ADMINSIG_WINDOW_SECONDS ||
        diff < -ADMINSIG_WINDOW_SECONDS)
        goto out;
    switch (adminsig_canonical(&canon, method, target, a->aa_ts, a->aa_nonce, body, body_len)) {
    case ERR_OK:
        break;
    case ERR_BAD_INPUT:
        r = ADMINSIG_BAD_REQUEST;
        goto out;
    default:
        r = ADMINSIG_INTERNAL;
        goto out;
    }
    r = ecdsa_p256_verify(key, canon.b_data, canon.b_len, a->aa_sig, sizeof(a->aa_sig)) == ERR_OK
            ? ADMINSIG_OK
            : ADMINSIG_BAD_SIGNATURE;
out:
    buf_free(&canon);
    *why = r;
    return r == ADMINSIG_OK ? ERR_OK : ERR_UNAUTHORIZED;
}
