/*
 * jwk.c - strict JSON Web Keys for EC P-256, OKP X25519 and 256-bit oct keys.
 *
 * Members we understand are checked exactly (types, base64url without padding, exact
 * decoded lengths, curve membership, private part matching the public part); members we
 * do not understand are ignored, as RFC 7517 §4 requires. Decoded secrets go straight
 * into secure memory; the base64url text of secrets is wiped where we own it.
 */
#include "crypto/jwk.h"

#include <stdint.h>
#include <string.h>

#include "common/codec.h"
#include "crypto/crypto.h"

/* Base64url text of a 32-byte value: 43 characters (+ NUL). */
#define JWK_B64_32_LEN 43
#define JWK_B64_32_CAP (JWK_B64_32_LEN + 1)

/* Returns 1 if s (n bytes) is an acceptable kid: 1..KID_MAX_LEN visible ASCII characters. */
static int jwk_kid_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > KID_MAX_LEN)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e)
            return 0;
    }
    return 1;
}

/* Returns 1 if member name of obj is a string equal to want. */
static int jwk_str_is(const json_t *obj, const char *name, const char *want)
{
    const json_t *v = json_object_get(obj, name);

    return json_is_string(v) && json_string_length(v) == strlen(want) &&
           memcmp(json_string_value(v), want, json_string_length(v)) == 0;
}

/*
 * Decodes member name of obj, a base64url string without padding, into exactly n bytes
 * at out. *present (may be NULL) is set to whether the member exists; a missing member
 * is ERR_OK only if !required. Returns ERR_OK or ERR_BAD_INPUT (out wiped).
 */
static enum err jwk_get_b64(const json_t *obj, const char *name, unsigned char *out, size_t n,
                            int required, int *present)
{
    const json_t *v = json_object_get(obj, name);
    size_t got = 0;

    if (present)
        *present = v != NULL;
    if (!v)
        return required ? ERR_BAD_INPUT : ERR_OK;
    if (!json_is_string(v) || json_string_length(v) != codec_b64_encoded_len(n, 0))
        return ERR_BAD_INPUT;
    if (codec_b64_decode(out, n, &got, json_string_value(v), json_string_length(v),
                         CODEC_B64_URL) != ERR_OK ||
        got != n) {
        secmem_wipe(out, n);
        return ERR_BAD_INPUT;
    }
    return ERR_OK;
}

/* Checks the members common to every kind: kid, use, key_ops, ext; copies kid. */
static enum err jwk_check_common(struct jwk *out, const json_t *obj)
{
    const json_t *v, *op;
    size_t i;

    v = json_object_get(obj, "kid");
    if (v) {
        if (!json_is_string(v) || !jwk_kid_ok(json_string_value(v), json_string_length(v)))
            return ERR_BAD_INPUT;
        memcpy(out->jk_kid, json_string_value(v), json_string_length(v));
        out->jk_kid[json_string_length(v)] = '\0';
    }
    v = json_object_get(obj, "use");
    if (v && !json_is_string(v))
        return ERR_BAD_INPUT;
    v = json_object_get(obj, "key_ops");
    if (v) {
        if (!json_is_array(v))
            return ERR_BAD_INPUT;
        json_array_foreach(v, i, op)
        {
            if (!json_is_string(op))
                return ERR_BAD_INPUT;
        }
    }
    v = json_object_get(obj, "ext");
    if (v && !json_is_boolean(v))
        return ERR_BAD_INPUT;
    return ERR_OK;
}

/* EC P-256: x, y, optional d; alg ES256 if present. */
static enum err jwk_from_json_ec(struct jwk *out, const json_t *obj)
{
    unsigned char x[EC_P256_COORD_BYTES], y[EC_P256_COORD_BYTES];
    unsigned char *d = NULL;
    int has_d = 0;
    enum err rc = ERR_BAD_INPUT;

    if (!jwk_str_is(obj, "crv", "P-256"))
        goto out;
    if (json_object_get(obj, "alg") && !jwk_str_is(obj, "alg", "ES256"))
        goto out;
    if (jwk_get_b64(obj, "x", x, sizeof(x), 1, NULL) != ERR_OK ||
        jwk_get_b64(obj, "y", y, sizeof(y), 1, NULL) != ERR_OK)
        goto out;
    if (json_object_get(obj, "d")) {
        d = secmem_alloc(EC_P256_COORD_BYTES);
        if (!d) {
            rc = ERR_NOMEM;
            goto out;
        }
        if (jwk_get_b64(obj, "d", d, EC_P256_COORD_BYTES, 1, &has_d) != ERR_OK)
            goto out;
    }
    rc = ecdsa_p256_from_raw(&out->jk_ec, x, y, has_d ? d : NULL);
    if (rc != ERR_OK)
        goto out;
    out->jk_kind = JWK_EC_P256;
out:
    secmem_free(d);
    return rc;
}

/* OKP X25519: x, optional d that must give x. */
static enum err jwk_from_json_okp(struct jwk *out, const json_t *obj)
{
    unsigned char pub[X25519_KEY_BYTES];
    unsigned char *sk = NULL;
    enum err rc = ERR_BAD_INPUT;

    if (!jwk_str_is(obj, "crv", "X25519"))
        goto out;
    if (json_object_get(obj, "alg") && !json_is_string(json_object_get(obj, "alg")))
        goto out;
    if (jwk_get_b64(obj, "x", out->jk_pub, X25519_KEY_BYTES, 1, NULL) != ERR_OK)
        goto out;
    if (json_object_get(obj, "d")) {
        sk = secmem_alloc(X25519_KEY_BYTES);
        if (!sk) {
            rc = ERR_NOMEM;
            goto out;
        }
        if (jwk_get_b64(obj, "d", sk, X25519_KEY_BYTES, 1, NULL) != ERR_OK)
            goto out;
        rc = x25519_public_from_secret(pub, sk);
        if (rc != ERR_OK)
            goto out;
        if (!crypto_memeq(pub, out->jk_pub, X25519_KEY_BYTES)) {
            rc = ERR_BAD_INPUT;
            goto out;
        }
        out->jk_secret = sk;
        sk = NULL;
    }
    out->jk_kind = JWK_OKP_X25519;
    rc = ERR_OK;
out:
    secmem_free(sk);
    return rc;
}

/* oct: k of exactly 32 bytes; alg A256GCM if present. */
static enum err jwk_from_json_oct(struct jwk *out, const json_t *obj)
{
    unsigned char *k = NULL;
    enum err rc = ERR_BAD_INPUT;

    if (json_object_get(obj, "alg") && !jwk_str_is(obj, "alg", "A256GCM"))
        goto out;
    k = secmem_alloc(JWK_OCT_BYTES);
    if (!k) {
        rc = ERR_NOMEM;
        goto out;
    }
    if (jwk_get_b64(obj, "k", k, JWK_OCT_BYTES, 1, NULL) != ERR_OK)
        goto out;
    out->jk_secret = k;
    k = NULL;
    out->jk_kind = JWK_OCT_256;
    rc = ERR_OK;
out:
    secmem_free(k);
    return rc;
}

/* Parses a JWK object; see jwk.h. */
enum err jwk_from_json(struct jwk *out, const json_t *obj)
{
    enum err rc = ERR_BAD_INPUT;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(obj))
        goto out;
    rc = jwk_check_common(out, obj);
    if (rc != ERR_OK)
        goto out;
    rc = ERR_BAD_INPUT;
    if (jwk_str_is(obj, "kty", "EC"))
        rc = jwk_from_json_ec(out, obj);
    else if (jwk_str_is(obj, "kty", "OKP"))
        rc = jwk_from_json_okp(out, obj);
    else if (jwk_str_is(obj, "kty", "oct"))
        rc = jwk_from_json_oct(out, obj);
out:
    if (rc != ERR_OK)
        jwk_clear(out);
    return rc;
}

/* Wipes the text of a string member of obj in place (obj is ours and about to go). */
static void jwk_wipe_member(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);

    if (json_is_string(v))
        secmem_wipe((void *)(uintptr_t)json_string_value(v), json_string_length(v));
}

/* Parses JWK text; see jwk.h. */
enum err jwk_parse(struct jwk *out, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *obj = NULL;
    enum err rc = ERR_BAD_INPUT;

    memset(out, 0, sizeof(*out));
    if (!text)
        goto out;
    if (len > JWK_MAX_BYTES) {
        rc = ERR_TOO_LARGE;
        goto out;
    }
    obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj)
        goto out;
    rc = jwk_from_json(out, obj);
out:
    if (obj) {
        jwk_wipe_member(obj, "d");
        jwk_wipe_member(obj, "k");
        json_decref(obj);
    }
    return rc;
}

/* Sets obj[name] to a new string; returns 0 on success, -1 on failure. */
static int jwk_set_str(json_t *obj, const char *name, const char *value)
{
    return json_object_set_new(obj, name, json_string(value));
}

/* Sets obj[name] to the base64url of 32 bytes; the text is wiped afterwards. */
static int jwk_set_b64(json_t *obj, const char *name, const unsigned char *v)
{
    char text[JWK_B64_32_CAP];
    int r = -1;

    if (codec_b64_encode(text, sizeof(text), NULL, v, 32, CODEC_B64_URL) == ERR_OK)
        r = jwk_set_str(obj, name, text);
    secmem_wipe(text, sizeof(text));
    return r;
}

/* Serialises k; see jwk.h. */
json_t *jwk_to_json(const struct jwk *k, int with_private)
{
    unsigned char x[EC_P256_COORD_BYTES], y[EC_P256_COORD_BYTES];
    unsigned char *d = NULL;
    json_t *obj = NULL;
    int ok = 0;

    if (!k)
        goto out;
    obj = json_object();
    if (!obj)
        goto out;
    switch (k->jk_kind) {
    case JWK_EC_P256:
        if (with_private) {
            d = secmem_alloc(EC_P256_COORD_BYTES);
            if (!d)
                goto out;
        }
        if (ecdsa_p256_to_raw(k->jk_ec, x, y, with_private ? d : NULL) != ERR_OK)
            goto out;
        if (jwk_set_str(obj, "kty", "EC") || jwk_set_str(obj, "crv", "P-256") ||
            jwk_set_b64(obj, "x", x) || jwk_set_b64(obj, "y", y))
            goto out;
        if (with_private && jwk_set_b64(obj, "d", d))
            goto out;
        break;
    case JWK_OKP_X25519:
        if (jwk_set_str(obj, "kty", "OKP") || jwk_set_str(obj, "crv", "X25519") ||
            jwk_set_b64(obj, "x", k->jk_pub))
            goto out;
        if (with_private && k->jk_secret && jwk_set_b64(obj, "d", k->jk_secret))
            goto out;
        if (with_private && !k->jk_secret)
            goto out;
        break;
    case JWK_OCT_256:
        /* An oct key is all secret: there is no public form. */
        if (!with_private || !k->jk_secret)
            goto out;
        if (jwk_set_str(obj, "kty", "oct") || jwk_set_b64(obj, "k", k->jk_secret) ||
            jwk_set_str(obj, "alg", "A256GCM"))
            goto out;
        break;
    default:
        goto out;
    }
    if (k->jk_kid[0] && jwk_set_str(obj, "kid", k->jk_kid))
        goto out;
    ok = 1;
out:
    secmem_free(d);
    if (!ok) {
        json_decref(obj);
        obj = NULL;
    }
    return obj;
}

/* Compares two keys; see jwk.h. */
int jwk_equal(const struct jwk *a, const struct jwk *b)
{
    unsigned char ax[EC_P256_COORD_BYTES], ay[EC_P256_COORD_BYTES];
    unsigned char bx[EC_P256_COORD_BYTES], by[EC_P256_COORD_BYTES];
    unsigned char *ad = NULL, *bd = NULL;
    int eq = 0;

    if (!a || !b || a->jk_kind != b->jk_kind || strcmp(a->jk_kid, b->jk_kid) != 0)
        goto out;
    switch (a->jk_kind) {
    case JWK_EC_P256:
        if (ecdsa_p256_has_private(a->jk_ec) != ecdsa_p256_has_private(b->jk_ec))
            goto out;
        if (ecdsa_p256_has_private(a->jk_ec)) {
            ad = secmem_alloc(EC_P256_COORD_BYTES);
            bd = secmem_alloc(EC_P256_COORD_BYTES);
            if (!ad || !bd)
                goto out;
        }
        if (ecdsa_p256_to_raw(a->jk_ec, ax, ay, ad) != ERR_OK ||
            ecdsa_p256_to_raw(b->jk_ec, bx, by, bd) != ERR_OK)
            goto out;
        eq = memcmp(ax, bx, sizeof(ax)) == 0 && memcmp(ay, by, sizeof(ay)) == 0 &&
             (!ad || crypto_memeq(ad, bd, EC_P256_COORD_BYTES));
        break;
    case JWK_OKP_X25519:
        if (memcmp(a->jk_pub, b->jk_pub, X25519_KEY_BYTES) != 0 ||
            (a->jk_secret == NULL) != (b->jk_secret == NULL))
            goto out;
        eq = !a->jk_secret || crypto_memeq(a->jk_secret, b->jk_secret, X25519_KEY_BYTES);
        break;
    case JWK_OCT_256:
        eq =
            a->jk_secret && b->jk_secret && crypto_memeq(a->jk_secret, b->jk_secret, JWK_OCT_BYTES);
        break;
    default:
        break;
    }
out:
    secmem_free(ad);
    secmem_free(bd);
    return eq;
}

/* Frees and wipes what k holds; k is zeroed. */
void jwk_clear(struct jwk *k)
{
    if (!k)
        return;
    ecdsa_p256_free(k->jk_ec);
    secmem_free(k->jk_secret);
    secmem_wipe(k, sizeof(*k));
}
