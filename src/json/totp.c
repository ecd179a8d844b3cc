/*
 * totp.c - OTP field values: otpauth URIs and bare base32 secrets, and their RFC 6238 /
 * RFC 4226 codes. The decoded secret stays in the caller's struct totp_params; every
 * temporary holding secret text or MAC bytes is wiped before returning.
 */
#include "json/totp.h"

#include <stdio.h>
#include <string.h>

#include "common/codec.h"
#include "crypto/crypto.h"

/* Base32 text of TOTP_SECRET_MAX_BYTES, padded: ceil(128 / 5) groups of 8 characters. */
#define TOTP_B32_MAX_CHARS ((TOTP_SECRET_MAX_BYTES + 4) / 5 * 8)

/* Longest decoded parameter name or small value we look at (algorithm, digits, period). */
#define TOTP_SMALL_MAX 15

/* Client messages: they name the part of the value at fault and never quote it. */
#define TOTP_MSG_EMPTY         "OTP value is empty"
#define TOTP_MSG_TOO_LONG      "OTP value is too long"
#define TOTP_MSG_HOTP          "OTP value is an HOTP URI; only TOTP codes are computed"
#define TOTP_MSG_BAD_URI       "OTP value is not a valid otpauth URI"
#define TOTP_MSG_BAD_TYPE      "OTP value has an unsupported otpauth type"
#define TOTP_MSG_BAD_ESCAPE    "OTP value has a malformed percent-escape"
#define TOTP_MSG_NO_SECRET     "OTP value has no secret parameter"
#define TOTP_MSG_NOT_SECRET    "OTP value is neither an otpauth URI nor a base32 secret"
#define TOTP_MSG_SECRET_EMPTY  "OTP secret is empty"
#define TOTP_MSG_SECRET_BASE32 "OTP secret is not valid base32"
#define TOTP_MSG_SECRET_LONG   "OTP secret is too long"
#define TOTP_MSG_ALGORITHM     "OTP algorithm must be SHA1, SHA256 or SHA512"
#define TOTP_MSG_DIGITS        "OTP digits must be 6, 7 or 8"
#define TOTP_MSG_PERIOD        "OTP period must be 1 to 3600 seconds"

static const char totp_b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* Normalised base32 text of a secret being collected (secret material: wiped after use). */
struct totp_b32 {
    char tb_text[TOTP_B32_MAX_CHARS];
    size_t tb_len;
    int tb_bad;  /* a character outside A-Z a-z 2-7 = (and the ignored space and dash) */
    int tb_long; /* more characters than any secret of TOTP_SECRET_MAX_BYTES can have */
};

/* Outcome of decoding a collected secret. */
enum totp_secret {
    TOTP_SECRET_OK,
    TOTP_SECRET_EMPTY,
    TOTP_SECRET_BAD,
    TOTP_SECRET_LONG,
};

/* Copies msg into errmsg, cut to errcap bytes (cutting is the contract, not an error). */
static void totp_msg(char *errmsg, size_t errcap, const char *msg)
{
    if (errmsg && errcap > 0)
        (void)snprintf(errmsg, errcap, "%s", msg);
}

static int totp_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Returns 1 if the n bytes at s equal the lowercase ASCII word w, ignoring ASCII case. */
static int totp_ieq(const char *s, size_t n, const char *w)
{
    size_t i;

    if (strlen(w) != n)
        return 0;
    for (i = 0; i < n; i++)
        if (totp_lower((unsigned char)s[i]) != w[i])
            return 0;
    return 1;
}

static int totp_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int totp_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)totp_lower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Returns 1 if every '%' among the n bytes at s starts a two-hex-digit escape. */
static int totp_escapes_ok(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] != '%')
            continue;
        if (n - i < 3 || totp_hex_value(s[i + 1]) < 0 || totp_hex_value(s[i + 2]) < 0)
            return 0;
        i += 2;
    }
    return 1;
}

/*
 * Decodes the query byte at s[*i] (of n; escapes already checked) and advances *i:
 * "%XX" is that byte and '+' is a space (form decoding, as Go's net/url does).
 */
static unsigned char totp_query_byte(const char *s, size_t n, size_t *i)
{
    unsigned char c = (unsigned char)s[*i];

    if (c == '%' && n - *i >= 3) {
        c = (unsigned char)(totp_hex_value(s[*i + 1]) << 4 | totp_hex_value(s[*i + 2]));
        *i += 3;
        return c;
    }
    *i += 1;
    return c == '+' ? ' ' : c;
}

/*
 * Decodes the query component s (n bytes) into out (at most TOTP_SMALL_MAX bytes, NUL-
 * terminated), lower-cased. Returns the decoded length, or TOTP_SMALL_MAX + 1 if longer.
 */
static size_t totp_query_small(char out[TOTP_SMALL_MAX + 1], const char *s, size_t n)
{
    size_t i = 0, o = 0;

    while (i < n) {
        unsigned char c = totp_query_byte(s, n, &i);
        if (o == TOTP_SMALL_MAX) {
            out[0] = '\0';
            return TOTP_SMALL_MAX + 1;
        }
        out[o++] = (char)totp_lower(c);
    }
    out[o] = '\0';
    return o;
}

/* Adds one character of secret text: drops spaces and dashes, upper-cases, checks. */
static void totp_b32_add(struct totp_b32 *b, unsigned char c)
{
    if (c == ' ' || c == '-')
        return;
    if (c >= 'a' && c <= 'z')
        c = (unsigned char)(c - 'a' + 'A');
    if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7') || c == '=')) {
        b->tb_bad = 1;
        return;
    }
    if (b->tb_len == sizeof(b->tb_text)) {
        b->tb_long = 1;
        return;
    }
    b->tb_text[b->tb_len++] = (char)c;
}

/*
 * Decodes the collected text into out->tp_secret. Unused low bits of the last character
 * are cleared first: generators that pick random base32 characters (rather than encoding
 * random bytes) leave them set, and authenticator apps ignore them; codec.h is
 * strict about them, so we make the text canonical before handing it over.
 */
static enum totp_secret totp_b32_decode(struct totp_params *out, struct totp_b32 *b)
{
    size_t data = b->tb_len, n = 0;
    unsigned unused;
    enum err rc;

    if (b->tb_bad)
        return TOTP_SECRET_BAD;
    if (b->tb_long)
        return TOTP_SECRET_LONG;
    if (b->tb_len == 0)
        return TOTP_SECRET_EMPTY;
    while (data > 0 && b->tb_text[data - 1] == '=')
        data--;
    /* A final group of 2, 4, 5 or 7 characters ends with 2, 4, 1 or 3 unused bits. */
    switch (data % 8) {
    case 2:
    case 4:
    case 5:
    case 7:
        unused = (unsigned)(data % 8 * 5 % 8);
        {
            const char *p = memchr(totp_b32_alphabet, b->tb_text[data - 1], 32);
            unsigned v = (unsigned)(p - totp_b32_alphabet) & ~((1u << unused) - 1u);
            b->tb_text[data - 1] = totp_b32_alphabet[v];
        }
        break;
    default:
        break;
    }
    rc = codec_b32_decode(out->tp_secret, sizeof(out->tp_secret), &n, b->tb_text, b->tb_len,
                          CODEC_B32_UPPER | CODEC_B32_ANYCASE | CODEC_PAD_OPTIONAL);
    if (rc == ERR_TOO_LARGE)
        return TOTP_SECRET_LONG;
    if (rc != ERR_OK)
        return TOTP_SECRET_BAD;
    if (n == 0)
        return TOTP_SECRET_EMPTY;
    out->tp_secret_len = n;
    return TOTP_SECRET_OK;
}

/* Parses 1..9 decimal digits (nothing else) into *v. Returns 1 on success. */
static int totp_small_uint(const char *s, size_t n, unsigned *v)
{
    unsigned long acc = 0;
    size_t i;

    if (n == 0 || n > 9)
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        acc = acc * 10 + (unsigned long)(s[i] - '0');
    }
    *v = (unsigned)acc;
    return 1;
}

/* Query parameters of the Key Uri Format that we read. */
enum totp_param {
    TOTP_P_SECRET,
    TOTP_P_ALGORITHM,
    TOTP_P_DIGITS,
    TOTP_P_PERIOD,
    TOTP_P__COUNT,
};

static const char *const totp_param_names[TOTP_P__COUNT] = {"secret", "algorithm", "digits",
                                                            "period"};

/*
 * Parses the query q (n bytes, between '?' and '#' or the end) of a totp URI into out.
 * Returns ERR_OK or ERR_BAD_INPUT with *msg set.
 */
static enum err totp_parse_query(struct totp_params *out, const char *q, size_t n, const char **msg)
{
    int seen[TOTP_P__COUNT] = {0};
    struct totp_b32 b32;
    char small[TOTP_SMALL_MAX + 1];
    size_t pos = 0, end, eq, k;
    enum totp_secret sec;
    enum err rc = ERR_BAD_INPUT;

    memset(&b32, 0, sizeof(b32));
    if (!totp_escapes_ok(q, n)) {
        *msg = TOTP_MSG_BAD_ESCAPE;
        goto out;
    }
    for (; pos <= n; pos = end + 1) {
        const char *amp = memchr(q + pos, '&', n - pos);
        const char *val;
        size_t namelen, vallen;
        enum totp_param which = TOTP_P__COUNT;

        end = amp ? (size_t)(amp - q) : n;
        if (end == pos)
            continue;
        eq = pos;
        while (eq < end && q[eq] != '=')
            eq++;
        namelen = eq - pos;
        val = q + (eq < end ? eq + 1 : end);
        vallen = eq < end ? end - eq - 1 : 0;
        namelen = totp_query_small(small, q + pos, namelen);
        for (k = 0; k < TOTP_P__COUNT; k++)
            if (totp_ieq(small, namelen, totp_param_names[k]))
                which = (enum totp_param)k;
        if (which == TOTP_P__COUNT)
            continue; /* issuer, image, counter, and anything else: ignored */
        if (seen[which]) {
            static const char *const dup[TOTP_P__COUNT] = {
                "OTP value has a duplicate secret parameter",
                "OTP value has a duplicate algorithm parameter",
                "OTP value has a duplicate digits parameter",
                "OTP value has a duplicate period parameter",
            };
            *msg = dup[which];
            goto out;
        }
        seen[which] = 1;
        if (which == TOTP_P_SECRET) {
            k = 0;
            while (k < vallen)
                totp_b32_add(&b32, totp_query_byte(val, vallen, &k));
            continue;
        }
        vallen = totp_query_small(small, val, vallen);
        if (which == TOTP_P_ALGORITHM) {
            if (totp_ieq(small, vallen, "sha1")) {
                out->tp_alg = HMAC_SHA1;
            } else if (totp_ieq(small, vallen, "sha256")) {
                out->tp_alg = HMAC_SHA256;
            } else if (totp_ieq(small, vallen, "sha512")) {
                out->tp_alg = HMAC_SHA512;
            } else {
                *msg = TOTP_MSG_ALGORITHM;
                goto out;
            }
        } else if (which == TOTP_P_DIGITS) {
            if (!totp_small_uint(small, vallen, &out->tp_digits) ||
                out->tp_digits < TOTP_DIGITS_MIN || out->tp_digits > TOTP_DIGITS_MAX) {
                *msg = TOTP_MSG_DIGITS;
                goto out;
            }
        } else {
            if (!totp_small_uint(small, vallen, &out->tp_period) || out->tp_period < 1 ||
                out->tp_period > TOTP_PERIOD_MAX) {
                *msg = TOTP_MSG_PERIOD;
                goto out;
            }
        }
    }
    if (!seen[TOTP_P_SECRET]) {
        *msg = TOTP_MSG_NO_SECRET;
        goto out;
    }
    sec = totp_b32_decode(out, &b32);
    if (sec == TOTP_SECRET_EMPTY) {
        *msg = TOTP_MSG_SECRET_EMPTY;
        goto out;
    }
    if (sec == TOTP_SECRET_BAD) {
        *msg = TOTP_MSG_SECRET_BASE32;
        goto out;
    }
    if (sec == TOTP_SECRET_LONG) {
        *msg = TOTP_MSG_SECRET_LONG;
        goto out;
    }
    rc = ERR_OK;
out:
    secmem_wipe(&b32, sizeof(b32));
    secmem_wipe(small, sizeof(small));
    return rc;
}

/*
 * Parses an otpauth URI s (n bytes, starting with "otpauth:" in any case) into out.
 * Returns ERR_OK, TOTP_ERR_NOT_TOTP (hotp) or ERR_BAD_INPUT, with *msg set on error.
 */
static enum err totp_parse_uri(struct totp_params *out, const char *s, size_t n, const char **msg)
{
    const char *hash, *q;
    size_t pos, type_end;
    enum err rc = ERR_BAD_INPUT;

    /* The fragment, if any, is not part of the URI's data. */
    hash = memchr(s, '#', n);
    if (hash)
        n = (size_t)(hash - s);
    pos = strlen("otpauth:");
    if (n - pos < 2 || s[pos] != '/' || s[pos + 1] != '/') {
        *msg = TOTP_MSG_BAD_URI;
        goto out;
    }
    pos += 2;
    type_end = pos;
    while (type_end < n && s[type_end] != '/' && s[type_end] != '?')
        type_end++;
    if (type_end == pos) {
        *msg = TOTP_MSG_BAD_URI;
        goto out;
    }
    if (totp_ieq(s + pos, type_end - pos, "hotp")) {
        *msg = TOTP_MSG_HOTP;
        rc = TOTP_ERR_NOT_TOTP;
        goto out;
    }
    if (!totp_ieq(s + pos, type_end - pos, "totp")) {
        *msg = TOTP_MSG_BAD_TYPE;
        goto out;
    }
    /* The label (issuer:account, any text) is not used: skip to the query. */
    q = memchr(s + type_end, '?', n - type_end);
    if (!q) {
        *msg = TOTP_MSG_NO_SECRET;
        goto out;
    }
    q++;
    rc = totp_parse_query(out, q, n - (size_t)(q - s), msg);
out:
    return rc;
}

/* Parses a bare base32 secret s (n bytes, trimmed, not empty) into out. */
static enum err totp_parse_bare(struct totp_params *out, const char *s, size_t n, const char **msg)
{
    struct totp_b32 b32;
    enum totp_secret sec;
    enum err rc = ERR_BAD_INPUT;
    size_t i;

    memset(&b32, 0, sizeof(b32));
    for (i = 0; i < n; i++)
        totp_b32_add(&b32, (unsigned char)s[i]);
    sec = totp_b32_decode(out, &b32);
    if (sec == TOTP_SECRET_LONG) {
        *msg = TOTP_MSG_SECRET_LONG;
        goto out;
    }
    if (sec != TOTP_SECRET_OK) {
        *msg = TOTP_MSG_NOT_SECRET;
        goto out;
    }
    rc = ERR_OK;
out:
    secmem_wipe(&b32, sizeof(b32));
    return rc;
}

/*
 * Parses an OTP field value into *out (caller's storage; wiped on error). See totp.h.
 */
enum err totp_parse(struct totp_params *out, const char *value, size_t len, char *errmsg,
                    size_t errcap)
{
    const char *msg = NULL;
    enum err rc = ERR_BAD_INPUT;

    secmem_wipe(out, sizeof(*out));
    if (errmsg && errcap > 0)
        errmsg[0] = '\0';
    if (len > TOTP_VALUE_MAX_BYTES) {
        msg = TOTP_MSG_TOO_LONG;
        goto out;
    }
    if (!value)
        len = 0;
    while (len > 0 && totp_is_space(value[0])) {
        value++;
        len--;
    }
    while (len > 0 && totp_is_space(value[len - 1]))
        len--;
    if (len == 0) {
        msg = TOTP_MSG_EMPTY;
        rc = TOTP_ERR_NOT_TOTP;
        goto out;
    }
    out->tp_alg = TOTP_DEFAULT_ALG;
    out->tp_digits = TOTP_DEFAULT_DIGITS;
    out->tp_period = TOTP_DEFAULT_PERIOD;
    if (len >= strlen("otpauth:") && totp_ieq(value, strlen("otpauth:"), "otpauth:"))
        rc = totp_parse_uri(out, value, len, &msg);
    else
        rc = totp_parse_bare(out, value, len, &msg);
out:
    if (rc != ERR_OK) {
        secmem_wipe(out, sizeof(*out));
        totp_msg(errmsg, errcap, msg ? msg : TOTP_MSG_NOT_SECRET);
    }
    return rc;
}

/* Returns 1 if p can make a code (digits, hash and secret length in range). */
static int totp_params_ok(const struct totp_params *p)
{
    return p && hmac_size(p->tp_alg) != 0 && p->tp_digits >= TOTP_DIGITS_MIN &&
           p->tp_digits <= TOTP_DIGITS_MAX && p->tp_secret_len >= 1 &&
           p->tp_secret_len <= TOTP_SECRET_MAX_BYTES;
}

/*
 * RFC 4226 section 5.3: HMAC over the 8-byte big-endian counter, dynamic truncation to 31
 * bits, then modulo 10^digits, zero-padded. The caller owns every buffer; the MAC is wiped.
 */
enum err totp_hotp_code(char *out, size_t cap, const struct totp_params *p, uint64_t counter)
{
    static const unsigned long pow10[TOTP_DIGITS_MAX + 1] = {
        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
    unsigned char msg[8], mac[HMAC_MAX_BYTES];
    size_t maclen = 0, i;
    unsigned long bin;
    unsigned off;
    enum err rc = ERR_BAD_INPUT;

    if (out && cap > 0)
        out[0] = '\0';
    if (!totp_params_ok(p))
        goto out;
    if (!out || cap < (size_t)p->tp_digits + 1) {
        rc = ERR_TOO_LARGE;
        goto out;
    }
    for (i = 0; i < sizeof(msg); i++)
        msg[i] = (unsigned char)(counter >> (8 * (sizeof(msg) - 1 - i)));
    rc = hmac_compute(p->tp_alg, mac, sizeof(mac), &maclen, p->tp_secret, p->tp_secret_len, msg,
                      sizeof(msg));
    if (rc != ERR_OK)
        goto out;
    off = mac[maclen - 1] & 0x0fu;
    bin = (unsigned long)(mac[off] & 0x7fu) << 24 | (unsigned long)mac[off + 1] << 16 |
          (unsigned long)mac[off + 2] << 8 | (unsigned long)mac[off + 3];
    if (snprintf(out, cap, "%0*lu", (int)p->tp_digits, bin % pow10[p->tp_digits]) !=
        (int)p->tp_digits) {
        out[0] = '\0';
        rc = ERR_INTERNAL;
        goto out;
    }
    rc = ERR_OK;
out:
    secmem_wipe(mac, sizeof(mac));
    return rc;
}

/* RFC 6238 section 4: counter = floor(unix_time / period), T0 = 0; then HOTP. */
enum err totp_code(char *out, size_t cap, const struct totp_params *p, int64_t unix_time)
{
    enum err rc = ERR_BAD_INPUT;

    if (out && cap > 0)
        out[0] = '\0';
    if (!totp_params_ok(p) || p->tp_period < 1 || p->tp_period > TOTP_PERIOD_MAX || unix_time < 0)
        goto out;
    rc = totp_hotp_code(out, cap, p, (uint64_t)unix_time / p->tp_period);
out:
    return rc;
}

/* Parses value and writes its code at time now; the parsed secret is wiped. See totp.h. */
enum err totp_from_value(char *code, size_t cap, const char *value, size_t len, int64_t now)
{
    struct totp_params p;
    enum err rc;

    if (code && cap > 0)
        code[0] = '\0';
    rc = totp_parse(&p, value, len, NULL, 0);
    if (rc == ERR_OK)
        rc = totp_code(code, cap, &p, now);
    totp_params_clear(&p);
    return rc;
}

/* Wipes p. */
void totp_params_clear(struct totp_params *p)
{
    if (p)
        secmem_wipe(p, sizeof(*p));
}
