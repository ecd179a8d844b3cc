/*
 * jws.c - ES256-only JWS compact serialisation for Connect bearer tokens.
 *
 * Verification is a fixed pipeline, cheapest and most hostile-input-facing checks
 * first, and nothing from the payload is looked at before the signature verifies:
 *   1. length (empty, over JWS_MAX_TOKEN_BYTES)
 *   2. exactly three dot-separated parts, header and payload within their caps
 *   3. header: strict base64url, JSON object, no duplicate keys
 *   4. alg exactly "ES256" ("none" in any case and every other alg refused distinctly)
 *   5. typ, if present, "JWT" in any case; any "crit" refused
 *   6. kid lookup (jws_verify_es256 only)
 *   7. signature: strict base64url, exactly 64 bytes, verifies over "header.payload"
 *   8. payload: strict base64url, JSON object, no duplicate keys
 *   9. claims (jws_verify_es256 only): types, exp / nbf / iat with leeway, aud, iss
 * The decoded header and payload live on the stack and are wiped before returning (the
 * payload of a Connect token carries the server's unlock secret).
 */
#include "crypto/jws.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "common/codec.h"
#include "common/limits.h"
#include "crypto/crypto.h"

#define JWS_ALG           "ES256"
#define JWS_SIG_MAX_CHARS 172 /* beyond this the signature cannot be 64 bytes anyway */
#define JWS_SIG_DECODE    129 /* decode buffer for at most JWS_SIG_MAX_CHARS characters */

static const char *const jws_reason_names[JWS__COUNT] = {
    [JWS_OK] = "ok",
    [JWS_EMPTY] = "empty",
    [JWS_TOO_LONG] = "too_long",
    [JWS_MALFORMED] = "malformed",
    [JWS_BAD_BASE64] = "bad_base64",
    [JWS_BAD_HEADER] = "bad_header",
    [JWS_ALG_NONE] = "alg_none",
    [JWS_ALG_UNSUPPORTED] = "alg_unsupported",
    [JWS_NO_KID] = "no_kid",
    [JWS_UNKNOWN_KID] = "unknown_kid",
    [JWS_BAD_SIGNATURE_SIZE] = "bad_signature_size",
    [JWS_BAD_SIGNATURE] = "bad_signature",
    [JWS_BAD_PAYLOAD] = "bad_payload",
    [JWS_EXPIRED] = "expired",
    [JWS_NOT_YET_VALID] = "not_yet_valid",
    [JWS_ISSUED_IN_FUTURE] = "issued_in_future",
    [JWS_BAD_AUDIENCE] = "bad_audience",
    [JWS_BAD_ISSUER] = "bad_issuer",
    [JWS_INTERNAL] = "internal",
};

/* Returns the log name of r; "unknown" outside the enum. */
const char *jws_reason_name(enum jws_reason r)
{
    if ((unsigned)r >= JWS__COUNT || !jws_reason_names[r])
        return "unknown";
    return jws_reason_names[r];
}

/* Returns 1 if s (n bytes, not NUL-terminated) is exactly the string want. */
static int jws_bytes_are(const char *s, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(s, want, n) == 0;
}

/* Returns 1 if the JSON string v equals want exactly. */
static int jws_json_str_is(const json_t *v, const char *want)
{
    return json_is_string(v) && jws_bytes_are(json_string_value(v), json_string_length(v), want);
}

/* Returns 1 if kid is acceptable in a header we sign: 1..KID_MAX_LEN visible ASCII. */
static int jws_kid_ok(const char *kid)
{
    size_t i, n = strlen(kid);

    if (n == 0 || n > KID_MAX_LEN)
        return 0;
    for (i = 0; i < n; i++) {
        if ((unsigned char)kid[i] < 0x21 || (unsigned char)kid[i] > 0x7e)
            return 0;
    }
    return 1;
}

/* Appends the base64url (unpadded) of n bytes at p to b. */
static enum err jws_add_b64(struct buf *b, const void *p, size_t n)
{
    size_t cap = codec_b64_encoded_len(n, 0) + 1, len = 0;
    char *text;
    enum err rc;

    if (cap > JWS_MAX_TOKEN_BYTES + 1)
        return ERR_TOO_LARGE;
    text = secmem_alloc(cap);
    if (!text)
        return ERR_NOMEM;
    rc = codec_b64_encode(text, cap, &len, p, n, CODEC_B64_URL);
    if (rc == ERR_OK)
        rc = buf_add(b, text, len);
    secmem_wipe(text, cap);
    secmem_free(text);
    return rc;
}

/* Signs claims; see jws.h. */
enum err jws_sign_es256(struct buf *out, const struct ec_key *key, const char *kid,
                        const json_t *claims)
{
    unsigned char sig[ECDSA_P256_SIG_BYTES];
    struct buf hdr, tok;
    char *payload = NULL;
    size_t plen = 0;
    enum err rc = ERR_BAD_INPUT;

    buf_init(&hdr, JWS_MAX_HEADER_BYTES);
    buf_init(&tok, JWS_MAX_TOKEN_BYTES);
    if (!out || !key || !json_is_object(claims) || !ecdsa_p256_has_private(key))
        goto out;
    if (kid && !jws_kid_ok(kid))
        goto out;

    /* Header: fixed member order, so equal inputs give equal tokens up to the signature. */
    rc = buf_add_str(&hdr, "{\"alg\":\"" JWS_ALG "\"");
    if (rc == ERR_OK && kid) {
        rc = buf_add_str(&hdr, ",\"kid\":");
        if (rc == ERR_OK)
            rc = buf_add_json_string(&hdr, kid);
    }
    if (rc == ERR_OK)
        rc = buf_add_str(&hdr, ",\"typ\":\"JWT\"}");
    if (rc != ERR_OK)
        goto out;

    payload = json_dumps(claims, JSON_COMPACT);
    if (!payload) {
        rc = ERR_NOMEM;
        goto out;
    }
    plen = strlen(payload);
    if (plen > JWS_MAX_PAYLOAD_BYTES) {
        rc = ERR_TOO_LARGE;
        goto out;
    }

    rc = jws_add_b64(&tok, hdr.b_data, hdr.b_len);
    if (rc == ERR_OK)
        rc = buf_add(&tok, ".", 1);
    if (rc == ERR_OK)
        rc = jws_add_b64(&tok, payload, plen);
    if (rc != ERR_OK)
        goto out;
    rc = ecdsa_p256_sign(key, tok.b_data, tok.b_len, sig);
    if (rc != ERR_OK)
        goto out;
    rc = buf_add(&tok, ".", 1);
    if (rc == ERR_OK)
        rc = jws_add_b64(&tok, sig, sizeof(sig));
    if (rc == ERR_OK)
        rc = buf_add(out, tok.b_data, tok.b_len);
out:
    if (payload) {
        json_free_t jfree = NULL;
        secmem_wipe(payload, plen);
        json_get_alloc_funcs(NULL, &jfree); /* json_dumps allocated it */
        jfree(payload);
    }
    buf_free(&hdr);
    buf_free(&tok);
    return rc;
}

/*
 * Decodes len characters of strict unpadded base64url at s into out (cap bytes).
 * Returns JWS_OK, JWS_BAD_BASE64, or too_large when the result does not fit in cap.
 */
static enum jws_reason jws_b64(unsigned char *out, size_t cap, size_t *outlen, const char *s,
                               size_t len, enum jws_reason too_large)
{
    switch (codec_b64_decode(out, cap, outlen, s, len, CODEC_B64_URL)) {
    case ERR_OK:
        return JWS_OK;
    case ERR_TOO_LARGE:
        return too_large;
    default:
        return JWS_BAD_BASE64;
    }
}

/* The three parts of a compact token, as offsets into it. */
struct jws_parts {
    const char *jp_hdr; /* header text (base64url) */
    size_t jp_hdr_len;
    const char *jp_pay; /* payload text (base64url) */
    size_t jp_pay_len;
    const char *jp_sig; /* signature text (base64url) */
    size_t jp_sig_len;
};

/* Splits token into three parts. Returns JWS_OK, JWS_EMPTY, JWS_TOO_LONG, JWS_MALFORMED. */
static enum jws_reason jws_split(struct jws_parts *p, const char *token, size_t len)
{
    const char *d1, *d2;

    if (!token || len == 0)
        return JWS_EMPTY;
    if (len > JWS_MAX_TOKEN_BYTES)
        return JWS_TOO_LONG;
    d1 = memchr(token, '.', len);
    if (!d1)
        return JWS_MALFORMED;
    d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return JWS_MALFORMED;
    p->jp_hdr = token;
    p->jp_hdr_len = (size_t)(d1 - token);
    p->jp_pay = d1 + 1;
    p->jp_pay_len = (size_t)(d2 - p->jp_pay);
    p->jp_sig = d2 + 1;
    p->jp_sig_len = len - (size_t)(p->jp_sig - token);
    if (p->jp_hdr_len > codec_b64_encoded_len(JWS_MAX_HEADER_BYTES, 0) ||
        p->jp_pay_len > codec_b64_encoded_len(JWS_MAX_PAYLOAD_BYTES, 0))
        return JWS_MALFORMED;
    return JWS_OK;
}

/* Checks the header object: alg, typ, crit. */
static enum jws_reason jws_check_header(const json_t *hdr)
{
    const json_t *alg, *typ;

    alg = json_object_get(hdr, "alg");
    if (!json_is_string(alg))
        return JWS_BAD_HEADER;
    if (!jws_json_str_is(alg, JWS_ALG)) {
        if (json_string_length(alg) == 4 && strncasecmp(json_string_value(alg), "none", 4) == 0)
            return JWS_ALG_NONE;
        return JWS_ALG_UNSUPPORTED;
    }
    typ = json_object_get(hdr, "typ");
    if (typ && !(json_is_string(typ) && json_string_length(typ) == 3 &&
                 strncasecmp(json_string_value(typ), "JWT", 3) == 0))
        return JWS_BAD_HEADER;
    if (json_object_get(hdr, "crit"))
        return JWS_BAD_HEADER;
    return JWS_OK;
}

/* Finds the key for the header's kid among keys. */
static enum jws_reason jws_find_key(const struct ec_key **key, const json_t *hdr,
                                    const struct jws_key *keys, size_t nkeys)
{
    const json_t *kid = json_object_get(hdr, "kid");
    size_t i;

    *key = NULL;
    if (!json_is_string(kid) || json_string_length(kid) == 0)
        return JWS_NO_KID;
    for (i = 0; keys && i < nkeys; i++) {
        if (keys[i].jk_kid && keys[i].jk_key &&
            jws_bytes_are(json_string_value(kid), json_string_length(kid), keys[i].jk_kid)) {
            *key = keys[i].jk_key;
            return JWS_OK;
        }
    }
    return JWS_UNKNOWN_KID;
}

/*
 * The common pipeline (steps 1-8). With by_kid the key is chosen by kid among keys,
 * otherwise key is used. On JWS_OK *payload holds the payload object (caller decrefs).
 */
static enum jws_reason jws_check(json_t **payload, const char *token, size_t len,
                                 const struct ec_key *key, int by_kid, const struct jws_key *keys,
                                 size_t nkeys)
{
    unsigned char hbuf[JWS_MAX_HEADER_BYTES];
    unsigned char pbuf[JWS_MAX_PAYLOAD_BYTES];
    unsigned char sig[JWS_SIG_DECODE];
    size_t hlen = 0, plen = 0, slen = 0;
    struct jws_parts p;
    json_t *hdr = NULL, *pay = NULL;
    enum jws_reason why;

    *payload = NULL;
    why = jws_split(&p, token, len);
    if (why != JWS_OK)
        goto out;

    why = jws_b64(hbuf, sizeof(hbuf), &hlen, p.jp_hdr, p.jp_hdr_len, JWS_MALFORMED);
    if (why != JWS_OK)
        goto out;
    why = JWS_BAD_HEADER;
    hdr = json_loadb((const char *)hbuf, hlen, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(hdr))
        goto out;
    why = jws_check_header(hdr);
    if (why != JWS_OK)
        goto out;
    if (by_kid) {
        why = jws_find_key(&key, hdr, keys, nkeys);
        if (why != JWS_OK)
            goto out;
    }
    if (!key) {
        why = JWS_INTERNAL;
        goto out;
    }

    why = JWS_BAD_SIGNATURE_SIZE;
    if (p.jp_sig_len > JWS_SIG_MAX_CHARS)
        goto out;
    why = jws_b64(sig, sizeof(sig), &slen, p.jp_sig, p.jp_sig_len, JWS_BAD_SIGNATURE_SIZE);
    if (why != JWS_OK)
        goto out;
    if (slen != ECDSA_P256_SIG_BYTES) {
        why = JWS_BAD_SIGNATURE_SIZE;
        goto out;
    }
    /* The signing input is the token's own ASCII "header.payload". */
    if (ecdsa_p256_verify(key, token, p.jp_hdr_len + 1 + p.jp_pay_len, sig, slen) != ERR_OK) {
        why = JWS_BAD_SIGNATURE;
        goto out;
    }

    /* Only now is the payload looked at. */
    why = jws_b64(pbuf, sizeof(pbuf), &plen, p.jp_pay, p.jp_pay_len, JWS_MALFORMED);
    if (why != JWS_OK)
        goto out;
    why = JWS_BAD_PAYLOAD;
    pay = json_loadb((const char *)pbuf, plen, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(pay))
        goto out;
    *payload = pay;
    pay = NULL;
    why = JWS_OK;
out:
    json_decref(hdr);
    json_decref(pay);
    secmem_wipe(hbuf, hlen);
    secmem_wipe(pbuf, plen);
    return why;
}

/* Verifies only the signature; see jws.h. */
enum err jws_verify_signature(json_t **payload, enum jws_reason *why, const char *token, size_t len,
                              const struct ec_key *key)
{
    enum jws_reason r, dummy;
    json_t *pay = NULL;

    if (!why)
        why = &dummy;
    if (payload)
        *payload = NULL;
    r = key ? jws_check(&pay, token, len, key, 0, NULL, 0) : JWS_INTERNAL;
    *why = r;
    if (r != JWS_OK)
        return ERR_UNAUTHORIZED;
    if (payload)
        *payload = pay;
    else
        json_decref(pay);
    return ERR_OK;
}

/* Subtracts / adds the leeway to now without overflow. */
static int64_t jws_sat_add(int64_t a, int64_t b)
{
    int64_t r;

    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/*
 * Compares the numeric date v (integer or real) with t: returns -1, 0 or 1 for v < t,
 * v == t, v > t.
 */
static int jws_cmp_date(const json_t *v, int64_t t)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        return i < t ? -1 : i > t;
    } else {
        double d = json_real_value(v), dt = (double)t;
        return d < dt ? -1 : d > dt;
    }
}

/* Returns 1 if the aud claim v (string or array of strings) contains want. */
static int jws_aud_has(const json_t *v, const char *want)
{
    const json_t *e;
    size_t i;

    if (json_is_string(v))
        return jws_json_str_is(v, want);
    json_array_foreach(v, i, e)
    {
        if (jws_json_str_is(e, want))
            return 1;
    }
    return 0;
}

/* Checks the registered claims of a verified payload (step 9). */
static enum jws_reason jws_check_claims(const json_t *c, const struct jws_verify_opts *o)
{
    static const char *const dates[] = {"exp", "nbf", "iat"};
    static const char *const strings[] = {"iss", "sub", "jti"};
    const json_t *v, *e;
    size_t i, j;
    int64_t past = jws_sat_add(o->jv_now, -JWS_CLOCK_LEEWAY_SECONDS);
    int64_t future = jws_sat_add(o->jv_now, JWS_CLOCK_LEEWAY_SECONDS);

    for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        v = json_object_get(c, dates[i]);
        if (v && !json_is_number(v))
            return JWS_BAD_PAYLOAD;
    }
    for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        v = json_object_get(c, strings[i]);
        if (v && !json_is_string(v))
            return JWS_BAD_PAYLOAD;
    }
    v = json_object_get(c, "aud");
    if (v && !json_is_string(v)) {
        if (!json_is_array(v))
            return JWS_BAD_PAYLOAD;
        json_array_foreach(v, j, e)
        {
            if (!json_is_string(e))
                return JWS_BAD_PAYLOAD;
        }
    }

    v = json_object_get(c, "exp");
    if (v && jws_cmp_date(v, past) <= 0)
        return JWS_EXPIRED;
    v = json_object_get(c, "nbf");
    if (v && jws_cmp_date(v, future) > 0)
        return JWS_NOT_YET_VALID;
    v = json_object_get(c, "iat");
    if (v && jws_cmp_date(v, future) > 0)
        return JWS_ISSUED_IN_FUTURE;
    if (o->jv_audience && !jws_aud_has(json_object_get(c, "aud"), o->jv_audience))
        return JWS_BAD_AUDIENCE;
    if (o->jv_issuer && !jws_json_str_is(json_object_get(c, "iss"), o->jv_issuer))
        return JWS_BAD_ISSUER;
    return JWS_OK;
}

/* Full verification; see jws.h. */
enum err jws_verify_es256(json_t **claims, enum jws_reason *why, const char *token, size_t len,
                          const struct jws_key *keys, size_t nkeys,
                          const struct jws_verify_opts *opts)
{
    enum jws_reason r, dummy;
    json_t *pay = NULL;

    if (!why)
        why = &dummy;
    if (claims)
        *claims = NULL;
    if (!claims || !opts) {
        r = JWS_INTERNAL;
        goto out;
    }
    /* An empty key set still runs the pipeline: the reason is then unknown_kid. */
    r = jws_check(&pay, token, len, NULL, 1, keys, nkeys);
    if (r != JWS_OK)
        goto out;
    r = jws_check_claims(pay, opts);
    if (r != JWS_OK)
        goto out;
    *claims = pay;
    pay = NULL;
out:
    json_decref(pay);
    *why = r;
    return r == JWS_OK ? ERR_OK : ERR_UNAUTHORIZED;
}
