/*
 * test_keys_vaultcrypt.c - vault keys, wrapping to X25519 keys, and the AAD-bound sealing
 * of vault attributes, item parts and file contents (keys/vaultcrypt.h).
 *
 * The associated data is checked independently of vaultcrypt.c: ciphertexts are opened,
 * and made, with aead_open / aead_seal over associated data spelled out byte by byte here
 * from the layout in vaultcrypt.h and docs/crypto.md.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "crypto/jwk.h"
#include "crypto/x25519.h"
#include "keys/kit.h"
#include "keys/vaultcrypt.h"

#define V1    "v1aaaaaaaaaaaaaaaaaaaaaaaa"
#define V1_UP "V1AAAAAAAAAAAAAAAAAAAAAAAA"
#define V2    "v2aaaaaaaaaaaaaaaaaaaaaaaa"
#define I1    "i1cccccccccccccccccccccccc"
#define I1_UP "I1CCCCCCCCCCCCCCCCCCCCCCCC"
#define I2    "i2cccccccccccccccccccccccc"
#define F1    "f1eeeeeeeeeeeeeeeeeeeeeeee"
#define F1_MX "F1eeeeeeeeeEEEEEEEEEEEEEEE" /* mixed case: the same id */
#define F2    "f2eeeeeeeeeeeeeeeeeeeeeeee"

#define BIG (64u << 20) /* buffer caps larger than anything sealed here */

static int setup(void **state)
{
    (void)state;
    return crypto_init() == ERR_OK ? 0 : -1;
}

/* ---- associated data, spelled out ---------------------------------------------------- */

struct aad {
    unsigned char a_data[128];
    size_t a_len;
};

static void aad_put(struct aad *a, const void *p, size_t n)
{
    assert_true(a->a_len + n <= sizeof(a->a_data));
    memcpy(a->a_data + a->a_len, p, n);
    a->a_len += n;
}

/* "sesame vault v1" 0x00 vault_id */
static struct aad aad_vault(const char *vault)
{
    struct aad a = {.a_len = 0};

    aad_put(&a, "sesame vault v1", 15);
    aad_put(&a, "\0", 1);
    aad_put(&a, vault, 26);
    return a;
}

/* "sesame item v1" 0x00 vault_id 0x00 item_id 0x00 version (8 bytes BE) 0x00 part */
static struct aad aad_item(const char *vault, const char *item, uint64_t version, const char *part)
{
    struct aad a = {.a_len = 0};
    unsigned char be[8];
    int i;

    for (i = 0; i < 8; i++)
        be[7 - i] = (unsigned char)(version >> (8 * i));
    aad_put(&a, "sesame item v1", 14);
    aad_put(&a, "\0", 1);
    aad_put(&a, vault, 26);
    aad_put(&a, "\0", 1);
    aad_put(&a, item, 26);
    aad_put(&a, "\0", 1);
    aad_put(&a, be, 8);
    aad_put(&a, "\0", 1);
    aad_put(&a, part, strlen(part));
    return a;
}

/* "sesame file v1" 0x00 vault_id 0x00 file_id */
static struct aad aad_file(const char *vault, const char *file)
{
    struct aad a = {.a_len = 0};

    aad_put(&a, "sesame file v1", 14);
    aad_put(&a, "\0", 1);
    aad_put(&a, vault, 26);
    aad_put(&a, "\0", 1);
    aad_put(&a, file, 26);
    return a;
}

/* Seals n bytes of pt by hand with a's bytes; the caller frees *out. */
static size_t hand_seal(unsigned char **out, const unsigned char *key, const struct aad *a,
                        const void *pt, size_t n)
{
    size_t len = 0;

    *out = malloc(n + AEAD_OVERHEAD);
    assert_non_null(*out);
    assert_int_equal(aead_seal(*out, n + AEAD_OVERHEAD, &len, pt, n, a->a_data, a->a_len, key),
                     ERR_OK);
    assert_int_equal(len, n + AEAD_OVERHEAD);
    return len;
}

/* Opens ct by hand with a's bytes into a malloc'd NUL-terminated text; NULL if it fails. */
static char *hand_open(const unsigned char *key, const struct aad *a, const void *ct, size_t len)
{
    size_t n = 0;
    char *pt;

    assert_true(len >= AEAD_OVERHEAD);
    pt = calloc(1, len - AEAD_OVERHEAD + 1);
    assert_non_null(pt);
    if (aead_open((unsigned char *)pt, len - AEAD_OVERHEAD + 1, &n, ct, len, a->a_data, a->a_len,
                  key) != ERR_OK) {
        free(pt);
        return NULL;
    }
    assert_int_equal(n, len - AEAD_OVERHEAD);
    return pt;
}

static const unsigned char *ubytes(const struct buf *b)
{
    return (const unsigned char *)b->b_data;
}

/* ---- vault keys and wrapping ----------------------------------------------------------- */

static void test_key_generate(void **state)
{
    unsigned char *a = NULL, *b = NULL;

    (void)state;
    assert_int_equal(vaultcrypt_key_generate(&a), ERR_OK);
    assert_int_equal(vaultcrypt_key_generate(&b), ERR_OK);
    assert_non_null(a);
    assert_non_null(b);
    assert_memory_not_equal(a, b, VAULTCRYPT_KEY_BYTES);
    vaultcrypt_key_free(a);
    vaultcrypt_key_free(b);
    vaultcrypt_key_free(NULL);
}

/* A copy of k without its secret half. */
static void public_only(struct jwk *out, const struct jwk *k)
{
    json_t *j = jwk_to_json(k, 0);

    assert_non_null(j);
    assert_int_equal(jwk_from_json(out, j), ERR_OK);
    assert_null(out->jk_secret);
    json_decref(j);
}

static void test_wrap_roundtrip(void **state)
{
    static const size_t sizes[] = {1, 16, VAULTCRYPT_KEY_BYTES, 64};
    unsigned char secret[64], *back = NULL;
    struct jwk me, pub;
    struct buf w;
    size_t i, len = 99;

    (void)state;
    assert_int_equal(kit_jwk_generate(&me, JWK_OKP_X25519, "me"), ERR_OK);
    public_only(&pub, &me);
    for (i = 0; i < sizeof(secret); i++)
        secret[i] = (unsigned char)(0xa0 ^ i);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        buf_init(&w, VAULTCRYPT_MAX_WRAPPED);
        /* sealing needs only the public half */
        assert_int_equal(vaultcrypt_wrap(&w, secret, sizes[i], &pub), ERR_OK);
        assert_int_equal(w.b_len, sizes[i] + X25519_SEAL_OVERHEAD);
        assert_true(w.b_len <= VAULTCRYPT_MAX_WRAPPED);
        assert_int_equal(vaultcrypt_unwrap(&back, &len, ubytes(&w), w.b_len, &me), ERR_OK);
        assert_non_null(back);
        assert_int_equal(len, sizes[i]);
        assert_memory_equal(back, secret, sizes[i]);
        vaultcrypt_key_free(back);
        back = NULL;
        /* libsodium's box opens it too: the format is a plain sealed box */
        {
            unsigned char raw[64];
            size_t n = 0;

            assert_int_equal(
                x25519_open(raw, sizeof(raw), &n, ubytes(&w), w.b_len, me.jk_pub, me.jk_secret),
                ERR_OK);
            assert_int_equal(n, sizes[i]);
            assert_memory_equal(raw, secret, n);
        }
        buf_free(&w);
    }
    /* a vault key wraps to 80 bytes, and two wraps differ (fresh ephemeral key) */
    {
        struct buf w2;

        buf_init(&w, VAULTCRYPT_MAX_WRAPPED);
        buf_init(&w2, VAULTCRYPT_MAX_WRAPPED);
        assert_int_equal(vaultcrypt_wrap(&w, secret, VAULTCRYPT_KEY_BYTES, &me), ERR_OK);
        assert_int_equal(vaultcrypt_wrap(&w2, secret, VAULTCRYPT_KEY_BYTES, &me), ERR_OK);
        assert_int_equal(w.b_len, 80);
        assert_int_equal(w2.b_len, 80);
        assert_memory_not_equal(w.b_data, w2.b_data, 80);
        /* appended after what the buffer held */
        assert_int_equal(vaultcrypt_wrap(&w, secret, VAULTCRYPT_KEY_BYTES, &me), ERR_OK);
        assert_int_equal(w.b_len, 160);
        assert_int_equal(vaultcrypt_unwrap(&back, &len, ubytes(&w) + 80, 80, &me), ERR_OK);
        assert_memory_equal(back, secret, VAULTCRYPT_KEY_BYTES);
        vaultcrypt_key_free(back);
        buf_free(&w);
        buf_free(&w2);
    }
    jwk_clear(&me);
    jwk_clear(&pub);
}

static void test_wrap_errors(void **state)
{
    unsigned char secret[65] = {1}, *back = (unsigned char *)1;
    struct jwk me, pub, ec;
    struct buf w, small;
    size_t len = 7;

    (void)state;
    assert_int_equal(kit_jwk_generate(&me, JWK_OKP_X25519, NULL), ERR_OK);
    assert_int_equal(kit_jwk_generate(&ec, JWK_EC_P256, NULL), ERR_OK);
    public_only(&pub, &me);
    buf_init(&w, VAULTCRYPT_MAX_WRAPPED);
    assert_int_equal(vaultcrypt_wrap(&w, secret, 0, &me), ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_wrap(&w, secret, 65, &me), ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_wrap(&w, NULL, 32, &me), ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_wrap(&w, secret, 32, NULL), ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_wrap(&w, secret, 32, &ec), ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_wrap(NULL, secret, 32, &me), ERR_BAD_INPUT);
    assert_int_equal(w.b_len, 0);
    /* the output buffer's cap */
    buf_init(&small, 79);
    assert_int_equal(vaultcrypt_wrap(&small, secret, 32, &me), ERR_TOO_LARGE);
    assert_int_equal(small.b_len, 0);
    buf_free(&small);

    assert_int_equal(vaultcrypt_wrap(&w, secret, 32, &me), ERR_OK);
    /* opening needs the secret half, of an X25519 key */
    assert_int_equal(vaultcrypt_unwrap(&back, &len, ubytes(&w), w.b_len, &pub), ERR_BAD_INPUT);
    assert_null(back);
    assert_int_equal(len, 0);
    assert_int_equal(vaultcrypt_unwrap(&back, &len, ubytes(&w), w.b_len, &ec), ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_unwrap(&back, &len, ubytes(&w), w.b_len, NULL), ERR_BAD_INPUT);
    /* no input does not open */
    assert_int_equal(vaultcrypt_unwrap(&back, &len, NULL, 80, &me), ERR_CRYPTO);
    assert_null(back);
    buf_free(&w);
    jwk_clear(&me);
    jwk_clear(&pub);
    jwk_clear(&ec);
}

static void test_unwrap_refusals(void **state)
{
    unsigned char secret[VAULTCRYPT_KEY_BYTES], box[200], *back = NULL;
    struct jwk me, other;
    struct buf w;
    size_t i, len = 0, n;

    (void)state;
    memset(secret, 0x5c, sizeof(secret));
    assert_int_equal(kit_jwk_generate(&me, JWK_OKP_X25519, NULL), ERR_OK);
    assert_int_equal(kit_jwk_generate(&other, JWK_OKP_X25519, NULL), ERR_OK);
    buf_init(&w, VAULTCRYPT_MAX_WRAPPED);
    assert_int_equal(vaultcrypt_wrap(&w, secret, sizeof(secret), &me), ERR_OK);
    n = w.b_len;
    memcpy(box, w.b_data, n);
    /* another key pair */
    assert_int_equal(vaultcrypt_unwrap(&back, &len, box, n, &other), ERR_CRYPTO);
    assert_null(back);
    assert_int_equal(len, 0);
    /* every single flipped byte */
    for (i = 0; i < n; i++) {
        box[i] ^= 0x01;
        assert_int_equal(vaultcrypt_unwrap(&back, &len, box, n, &me), ERR_CRYPTO);
        assert_null(back);
        assert_int_equal(len, 0);
        box[i] ^= 0x01;
    }
    /* truncated, empty, bare overhead, one byte too many, longer than any secret */
    assert_int_equal(vaultcrypt_unwrap(&back, &len, box, n - 1, &me), ERR_CRYPTO);
    assert_int_equal(vaultcrypt_unwrap(&back, &len, box, 0, &me), ERR_CRYPTO);
    assert_int_equal(vaultcrypt_unwrap(&back, &len, box, X25519_SEAL_OVERHEAD, &me), ERR_CRYPTO);
    box[n] = 0;
    assert_int_equal(vaultcrypt_unwrap(&back, &len, box, n + 1, &me), ERR_CRYPTO);
    assert_int_equal(vaultcrypt_unwrap(&back, &len, box, 64 + X25519_SEAL_OVERHEAD + 1, &me),
                     ERR_CRYPTO);
    assert_null(back);
    /* the intact box still opens */
    assert_int_equal(vaultcrypt_unwrap(&back, &len, box, n, &me), ERR_OK);
    assert_memory_equal(back, secret, sizeof(secret));
    vaultcrypt_key_free(back);
    buf_free(&w);
    jwk_clear(&me);
    jwk_clear(&other);
}

/* ---- vault attributes ------------------------------------------------------------------ */

static void test_attrs_roundtrip(void **state)
{
    static const char text[] = "{\"name\":\"Prod\",\"description\":\"Production secrets\"}";
    unsigned char *key = NULL, *hand = NULL;
    json_t *attrs, *back = NULL;
    struct aad a = aad_vault(V1);
    struct buf ct, ct2;
    size_t n;
    char *pt;

    (void)state;
    assert_int_equal(vaultcrypt_key_generate(&key), ERR_OK);
    attrs = json_pack("{s:s, s:s}", "name", "Prod", "description", "Production secrets");
    assert_non_null(attrs);
    buf_init(&ct, BIG);
    buf_init(&ct2, BIG);
    assert_int_equal(vaultcrypt_attrs_seal(&ct, key, V1, attrs), ERR_OK);
    /* nonce || compact JSON encrypted || tag */
    assert_int_equal(ct.b_len, strlen(text) + AEAD_OVERHEAD);
    pt = hand_open(key, &a, ct.b_data, ct.b_len);
    assert_non_null(pt);
    assert_string_equal(pt, text);
    free(pt);
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V1, ubytes(&ct), ct.b_len), ERR_OK);
    assert_non_null(back);
    assert_true(json_equal(back, attrs));
    json_decref(back);
    /* an uppercase id is the same id: the AAD holds it lowercase */
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V1_UP, ubytes(&ct), ct.b_len), ERR_OK);
    json_decref(back);
    assert_int_equal(vaultcrypt_attrs_seal(&ct2, key, V1_UP, attrs), ERR_OK);
    pt = hand_open(key, &a, ct2.b_data, ct2.b_len);
    assert_non_null(pt);
    assert_string_equal(pt, text);
    free(pt);
    /* a fresh nonce each time */
    assert_int_equal(ct2.b_len, ct.b_len);
    assert_memory_not_equal(ct.b_data, ct2.b_data, AEAD_NONCE_BYTES);
    /* made by hand with the documented AAD, opened by vaultcrypt */
    n = hand_seal(&hand, key, &a, text, strlen(text));
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V1, hand, n), ERR_OK);
    assert_string_equal(json_string_value(json_object_get(back, "name")), "Prod");
    json_decref(back);
    free(hand);
    /* an empty object is an object */
    json_decref(attrs);
    attrs = json_object();
    buf_reset(&ct);
    assert_int_equal(vaultcrypt_attrs_seal(&ct, key, V1, attrs), ERR_OK);
    assert_int_equal(ct.b_len, 2 + AEAD_OVERHEAD);
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V1, ubytes(&ct), ct.b_len), ERR_OK);
    assert_int_equal(json_object_size(back), 0);
    json_decref(back);
    json_decref(attrs);
    buf_free(&ct);
    buf_free(&ct2);
    vaultcrypt_key_free(key);
}

/* Plaintexts that open but are not one JSON object. */
static const char *const not_objects[] = {
    "",
    "[]",
    "[{\"name\":\"x\"}]",
    "\"name\"",
    "42",
    "null",
    "true",
    "{",
    "{\"name\":\"x\"",
    "{\"name\":\"x\"}{}",
    "{\"name\":\"x\"} x",
    "{\"name\":\"a\",\"name\":\"b\"}", /* duplicate keys */
    "{\"name\":\"\\u0000\"}",          /* NUL inside a string */
    "{name:\"x\"}",
};

static void test_attrs_refusals(void **state)
{
    unsigned char *key = NULL, *key2 = NULL, *hand = NULL, bytes[256];
    json_t *attrs, *arr, *back = (json_t *)1;
    struct aad a = aad_vault(V1);
    struct buf ct;
    size_t i, n;

    (void)state;
    assert_int_equal(vaultcrypt_key_generate(&key), ERR_OK);
    assert_int_equal(vaultcrypt_key_generate(&key2), ERR_OK);
    attrs = json_pack("{s:s}", "name", "Prod");
    buf_init(&ct, BIG);
    assert_int_equal(vaultcrypt_attrs_seal(&ct, key, V1, attrs), ERR_OK);
    n = ct.b_len;
    assert_true(n <= sizeof(bytes));
    memcpy(bytes, ct.b_data, n);
    /* another vault, another key */
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V2, bytes, n), ERR_CRYPTO);
    assert_null(back);
    assert_int_equal(vaultcrypt_attrs_open(&back, key2, V1, bytes, n), ERR_CRYPTO);
    assert_null(back);
    /* every flipped byte, truncation */
    for (i = 0; i < n; i++) {
        bytes[i] ^= 0x80;
        assert_int_equal(vaultcrypt_attrs_open(&back, key, V1, bytes, n), ERR_CRYPTO);
        assert_null(back);
        bytes[i] ^= 0x80;
    }
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V1, bytes, n - 1), ERR_CRYPTO);
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V1, bytes, AEAD_OVERHEAD), ERR_CRYPTO);
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V1, bytes, AEAD_OVERHEAD - 1), ERR_CRYPTO);
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V1, bytes, 0), ERR_CRYPTO);
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V1, NULL, 0), ERR_CRYPTO);
    assert_null(back);
    /* plaintexts that are not one JSON object, sealed with the right AAD */
    for (i = 0; i < sizeof(not_objects) / sizeof(not_objects[0]); i++) {
        n = hand_seal(&hand, key, &a, not_objects[i], strlen(not_objects[i]));
        back = (json_t *)1;
        assert_int_equal(vaultcrypt_attrs_open(&back, key, V1, hand, n), ERR_CRYPTO);
        assert_null(back);
        free(hand);
    }
    /* sealing: only objects, only ids */
    arr = json_array();
    buf_reset(&ct);
    assert_int_equal(vaultcrypt_attrs_seal(&ct, key, V1, arr), ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_attrs_seal(&ct, key, V1, NULL), ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_attrs_seal(&ct, NULL, V1, attrs), ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_attrs_seal(&ct, key, "short", attrs), ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_attrs_seal(&ct, key, NULL, attrs), ERR_BAD_INPUT);
    assert_int_equal(ct.b_len, 0);
    assert_int_equal(vaultcrypt_attrs_open(&back, key, "v1aaaaaaaaaaaaaaaaaaaaaaa-", bytes, 60),
                     ERR_BAD_INPUT);
    assert_null(back);
    json_decref(arr);
    json_decref(attrs);
    buf_free(&ct);
    vaultcrypt_key_free(key);
    vaultcrypt_key_free(key2);
}

/* Ids that are not ids, in either case. */
static const char *const bad_ids[] = {
    "",
    "v1aaaaaaaaaaaaaaaaaaaaaaa",        /* 25 */
    "v1aaaaaaaaaaaaaaaaaaaaaaaaa",      /* 27 */
    "v1aaaaaaaaaaaaaaaaaaaaaaa-",       /* '-' */
    "v1aaaaaaaaaaaaaaaaaaaaaaa_",       /* '_' */
    "v1aaaaaaaaaaaaaaaaaaaaaaa ",       /* space */
    "v1aaaaaaaaaaaaaaaaaaaaaa\xc3\xa9", /* non-ASCII */
};

static void test_bad_ids(void **state)
{
    unsigned char *key = NULL, ct[64] = {0};
    json_t *obj = json_object(), *back = NULL;
    struct buf out;
    size_t i;

    (void)state;
    assert_int_equal(vaultcrypt_key_generate(&key), ERR_OK);
    buf_init(&out, BIG);
    for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        const char *b = bad_ids[i];

        assert_int_equal(vaultcrypt_attrs_seal(&out, key, b, obj), ERR_BAD_INPUT);
        assert_int_equal(vaultcrypt_item_seal(&out, key, b, I1, 1, VAULTCRYPT_OVERVIEW, obj),
                         ERR_BAD_INPUT);
        assert_int_equal(vaultcrypt_item_seal(&out, key, V1, b, 1, VAULTCRYPT_DETAILS, obj),
                         ERR_BAD_INPUT);
        assert_int_equal(vaultcrypt_file_seal(&out, key, b, F1, "x", 1), ERR_BAD_INPUT);
        assert_int_equal(vaultcrypt_file_seal(&out, key, V1, b, "x", 1), ERR_BAD_INPUT);
        assert_int_equal(vaultcrypt_attrs_open(&back, key, b, ct, sizeof(ct)), ERR_BAD_INPUT);
        assert_int_equal(
            vaultcrypt_item_open(&back, key, V1, b, 1, VAULTCRYPT_OVERVIEW, ct, sizeof(ct)),
            ERR_BAD_INPUT);
        assert_int_equal(vaultcrypt_file_open(&out, key, b, F1, ct, sizeof(ct)), ERR_BAD_INPUT);
        assert_int_equal(vaultcrypt_file_open(&out, key, V1, b, ct, sizeof(ct)), ERR_BAD_INPUT);
        assert_null(back);
        assert_int_equal(out.b_len, 0);
    }
    buf_free(&out);
    json_decref(obj);
    vaultcrypt_key_free(key);
}

/* ---- item parts ------------------------------------------------------------------------ */

static void test_item_roundtrip(void **state)
{
    static const char ov_text[] = "{\"title\":\"Database\",\"tags\":[\"prod\"]}";
    static const char det_text[] = "{\"fields\":[{\"id\":\"password\",\"value\":\"hunter2\"}]}";
    const uint64_t ver = UINT64_C(0x0102030405060708);
    unsigned char *key = NULL, *hand = NULL;
    json_t *ov, *det, *back = NULL;
    struct aad a;
    struct buf c1, c2;
    size_t n;
    char *pt;

    (void)state;
    assert_int_equal(vaultcrypt_key_generate(&key), ERR_OK);
    ov = json_loads(ov_text, 0, NULL);
    det = json_loads(det_text, 0, NULL);
    assert_non_null(ov);
    assert_non_null(det);
    buf_init(&c1, BIG);
    buf_init(&c2, BIG);
    assert_int_equal(vaultcrypt_item_seal(&c1, key, V1, I1, ver, VAULTCRYPT_OVERVIEW, ov), ERR_OK);
    assert_int_equal(vaultcrypt_item_seal(&c2, key, V1_UP, I1_UP, ver, VAULTCRYPT_DETAILS, det),
                     ERR_OK);
    assert_int_equal(c1.b_len, strlen(ov_text) + AEAD_OVERHEAD);
    assert_int_equal(c2.b_len, strlen(det_text) + AEAD_OVERHEAD);
    /* the documented AAD, spelled out as one literal too */
    a = aad_item(V1, I1, ver, "overview");
    {
        static const char lit[] = "sesame item v1\0" V1 "\0" I1 "\0"
                                  "\x01\x02\x03\x04\x05\x06\x07\x08"
                                  "\0overview";

        assert_int_equal(a.a_len, sizeof(lit) - 1);
        assert_int_equal(a.a_len, 86);
        assert_memory_equal(a.a_data, lit, a.a_len);
    }
    pt = hand_open(key, &a, c1.b_data, c1.b_len);
    assert_non_null(pt);
    assert_string_equal(pt, ov_text);
    free(pt);
    a = aad_item(V1, I1, ver, "details");
    pt = hand_open(key, &a, c2.b_data, c2.b_len);
    assert_non_null(pt);
    assert_string_equal(pt, det_text);
    free(pt);
    /* vaultcrypt opens both, ids in either case */
    assert_int_equal(
        vaultcrypt_item_open(&back, key, V1, I1, ver, VAULTCRYPT_OVERVIEW, ubytes(&c1), c1.b_len),
        ERR_OK);
    assert_true(json_equal(back, ov));
    json_decref(back);
    assert_int_equal(
        vaultcrypt_item_open(&back, key, V1_UP, I1, ver, VAULTCRYPT_DETAILS, ubytes(&c2), c2.b_len),
        ERR_OK);
    assert_true(json_equal(back, det));
    json_decref(back);
    /* made by hand for version 1 */
    a = aad_item(V1, I1, 1, "details");
    n = hand_seal(&hand, key, &a, det_text, strlen(det_text));
    assert_int_equal(vaultcrypt_item_open(&back, key, V1, I1, 1, VAULTCRYPT_DETAILS, hand, n),
                     ERR_OK);
    assert_true(json_equal(back, det));
    json_decref(back);
    free(hand);
    json_decref(ov);
    json_decref(det);
    buf_free(&c1);
    buf_free(&c2);
    vaultcrypt_key_free(key);
}

/* One changed component of an item part's AAD. */
struct item_case {
    const char *ic_name;
    const char *ic_vault;
    const char *ic_item;
    uint64_t ic_version;
    enum vaultcrypt_part ic_part;
    enum err ic_want;
};

static void test_item_aad_components(void **state)
{
    static const struct item_case cases[] = {
        {"control", V1, I1, 7, VAULTCRYPT_OVERVIEW, ERR_OK},
        {"control, uppercase ids", V1_UP, I1_UP, 7, VAULTCRYPT_OVERVIEW, ERR_OK},
        {"other vault", V2, I1, 7, VAULTCRYPT_OVERVIEW, ERR_CRYPTO},
        {"other item", V1, I2, 7, VAULTCRYPT_OVERVIEW, ERR_CRYPTO},
        {"ids swapped", I1, V1, 7, VAULTCRYPT_OVERVIEW, ERR_CRYPTO},
        {"newer version", V1, I1, 8, VAULTCRYPT_OVERVIEW, ERR_CRYPTO},
        {"older version", V1, I1, 6, VAULTCRYPT_OVERVIEW, ERR_CRYPTO},
        {"version high byte", V1, I1, 7 | (UINT64_C(1) << 56), VAULTCRYPT_OVERVIEW, ERR_CRYPTO},
        {"other part", V1, I1, 7, VAULTCRYPT_DETAILS, ERR_CRYPTO},
        {"version 0", V1, I1, 0, VAULTCRYPT_OVERVIEW, ERR_BAD_INPUT},
        {"part out of range", V1, I1, 7, (enum vaultcrypt_part)2, ERR_BAD_INPUT},
        {"part negative", V1, I1, 7, (enum vaultcrypt_part) - 1, ERR_BAD_INPUT},
    };
    unsigned char *key = NULL, *key2 = NULL;
    json_t *ov, *back = NULL;
    struct buf ct;
    size_t i;

    (void)state;
    assert_int_equal(vaultcrypt_key_generate(&key), ERR_OK);
    assert_int_equal(vaultcrypt_key_generate(&key2), ERR_OK);
    ov = json_pack("{s:s}", "title", "x");
    buf_init(&ct, BIG);
    assert_int_equal(vaultcrypt_item_seal(&ct, key, V1, I1, 7, VAULTCRYPT_OVERVIEW, ov), ERR_OK);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct item_case *c = &cases[i];
        enum err e;

        back = (json_t *)1;
        e = vaultcrypt_item_open(&back, key, c->ic_vault, c->ic_item, c->ic_version, c->ic_part,
                                 ubytes(&ct), ct.b_len);
        if (e != c->ic_want)
            fail_msg("%s: got %s, want %s", c->ic_name, err_name(e), err_name(c->ic_want));
        if (e == ERR_OK)
            assert_true(json_equal(back, ov));
        else
            assert_null(back);
        json_decref(back);
    }
    /* wrong key */
    assert_int_equal(
        vaultcrypt_item_open(&back, key2, V1, I1, 7, VAULTCRYPT_OVERVIEW, ubytes(&ct), ct.b_len),
        ERR_CRYPTO);
    assert_null(back);
    /* sealing refuses what opening refuses */
    assert_int_equal(vaultcrypt_item_seal(&ct, key, V1, I1, 0, VAULTCRYPT_OVERVIEW, ov),
                     ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_item_seal(&ct, key, V1, I1, 1, (enum vaultcrypt_part)2, ov),
                     ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_item_seal(&ct, NULL, V1, I1, 1, VAULTCRYPT_OVERVIEW, ov),
                     ERR_BAD_INPUT);
    assert_int_equal(
        vaultcrypt_item_open(&back, NULL, V1, I1, 7, VAULTCRYPT_OVERVIEW, ubytes(&ct), ct.b_len),
        ERR_BAD_INPUT);
    json_decref(ov);
    buf_free(&ct);
    vaultcrypt_key_free(key);
    vaultcrypt_key_free(key2);
}

static void test_item_tamper(void **state)
{
    unsigned char *key = NULL, *hand = NULL, bytes[256];
    json_t *ov, *back = NULL;
    struct aad a = aad_item(V1, I1, 3, "details");
    struct buf ct;
    size_t i, n;

    (void)state;
    assert_int_equal(vaultcrypt_key_generate(&key), ERR_OK);
    ov = json_pack("{s:s, s:i}", "title", "Login", "n", 3);
    buf_init(&ct, BIG);
    assert_int_equal(vaultcrypt_item_seal(&ct, key, V1, I1, 3, VAULTCRYPT_DETAILS, ov), ERR_OK);
    n = ct.b_len;
    assert_true(n + 1 <= sizeof(bytes));
    memcpy(bytes, ct.b_data, n);
    for (i = 0; i < n; i++) {
        bytes[i] ^= 0x01;
        back = (json_t *)1;
        assert_int_equal(vaultcrypt_item_open(&back, key, V1, I1, 3, VAULTCRYPT_DETAILS, bytes, n),
                         ERR_CRYPTO);
        assert_null(back);
        bytes[i] ^= 0x01;
    }
    {
        static const size_t lens[] = {0, 1, AEAD_OVERHEAD - 1, AEAD_OVERHEAD};

        for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
            assert_int_equal(
                vaultcrypt_item_open(&back, key, V1, I1, 3, VAULTCRYPT_DETAILS, bytes, lens[i]),
                ERR_CRYPTO);
    }
    assert_int_equal(vaultcrypt_item_open(&back, key, V1, I1, 3, VAULTCRYPT_DETAILS, bytes, n - 1),
                     ERR_CRYPTO);
    bytes[n] = 0;
    assert_int_equal(vaultcrypt_item_open(&back, key, V1, I1, 3, VAULTCRYPT_DETAILS, bytes, n + 1),
                     ERR_CRYPTO);
    assert_int_equal(vaultcrypt_item_open(&back, key, V1, I1, 3, VAULTCRYPT_DETAILS, NULL, n),
                     ERR_CRYPTO);
    assert_null(back);
    assert_int_equal(vaultcrypt_item_open(&back, key, V1, I1, 3, VAULTCRYPT_DETAILS, bytes, n),
                     ERR_OK);
    json_decref(back);
    /* non-object plaintexts with the right AAD */
    for (i = 0; i < sizeof(not_objects) / sizeof(not_objects[0]); i++) {
        size_t m = hand_seal(&hand, key, &a, not_objects[i], strlen(not_objects[i]));

        back = (json_t *)1;
        assert_int_equal(vaultcrypt_item_open(&back, key, V1, I1, 3, VAULTCRYPT_DETAILS, hand, m),
                         ERR_CRYPTO);
        assert_null(back);
        free(hand);
    }
    /* only objects are sealed */
    {
        json_t *nots[4];

        nots[0] = json_array();
        nots[1] = json_string("x");
        nots[2] = json_integer(1);
        nots[3] = json_null();
        for (i = 0; i < 4; i++) {
            assert_int_equal(
                vaultcrypt_item_seal(&ct, key, V1, I1, 3, VAULTCRYPT_OVERVIEW, nots[i]),
                ERR_BAD_INPUT);
            json_decref(nots[i]);
        }
        assert_int_equal(vaultcrypt_item_seal(&ct, key, V1, I1, 3, VAULTCRYPT_OVERVIEW, NULL),
                         ERR_BAD_INPUT);
    }
    json_decref(ov);
    buf_free(&ct);
    vaultcrypt_key_free(key);
}

/* A JSON object whose compact text is exactly n bytes: {"notes":"xxx..."}. */
static json_t *object_of_size(size_t n)
{
    static const size_t frame = 12; /* {"notes":""} */
    json_t *o;
    char *s;

    assert_true(n >= frame);
    s = malloc(n - frame + 1);
    assert_non_null(s);
    memset(s, 'x', n - frame);
    s[n - frame] = '\0';
    o = json_pack("{s:s}", "notes", s);
    free(s);
    assert_non_null(o);
    return o;
}

static void test_size_caps(void **state)
{
    unsigned char *key = NULL, *hand = NULL, *pt;
    json_t *o, *back = NULL;
    struct aad a;
    struct buf ct;
    size_t n;

    (void)state;
    assert_int_equal(vaultcrypt_key_generate(&key), ERR_OK);
    buf_init(&ct, BIG);

    /* item parts: VAULTCRYPT_MAX_PART_BYTES of compact JSON exactly, then one more */
    o = object_of_size(VAULTCRYPT_MAX_PART_BYTES);
    assert_int_equal(vaultcrypt_item_seal(&ct, key, V1, I1, 1, VAULTCRYPT_DETAILS, o), ERR_OK);
    assert_int_equal(ct.b_len, VAULTCRYPT_MAX_PART_BYTES + AEAD_OVERHEAD);
    assert_int_equal(
        vaultcrypt_item_open(&back, key, V1, I1, 1, VAULTCRYPT_DETAILS, ubytes(&ct), ct.b_len),
        ERR_OK);
    assert_true(json_equal(back, o));
    json_decref(back);
    json_decref(o);
    buf_reset(&ct);
    o = object_of_size(VAULTCRYPT_MAX_PART_BYTES + 1);
    assert_int_equal(vaultcrypt_item_seal(&ct, key, V1, I1, 1, VAULTCRYPT_DETAILS, o),
                     ERR_TOO_LARGE);
    assert_int_equal(ct.b_len, 0);
    json_decref(o);
    /* ... and a ciphertext of one byte more is refused before it is opened */
    pt = calloc(1, VAULTCRYPT_MAX_PART_BYTES + 1);
    assert_non_null(pt);
    a = aad_item(V1, I1, 1, "details");
    n = hand_seal(&hand, key, &a, pt, VAULTCRYPT_MAX_PART_BYTES + 1);
    back = (json_t *)1;
    assert_int_equal(vaultcrypt_item_open(&back, key, V1, I1, 1, VAULTCRYPT_DETAILS, hand, n),
                     ERR_TOO_LARGE);
    assert_null(back);
    free(hand);
    free(pt);

    /* vault attributes: VAULTCRYPT_MAX_ATTR_BYTES */
    o = object_of_size(VAULTCRYPT_MAX_ATTR_BYTES);
    assert_int_equal(vaultcrypt_attrs_seal(&ct, key, V1, o), ERR_OK);
    assert_int_equal(ct.b_len, VAULTCRYPT_MAX_ATTR_BYTES + AEAD_OVERHEAD);
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V1, ubytes(&ct), ct.b_len), ERR_OK);
    assert_true(json_equal(back, o));
    json_decref(back);
    json_decref(o);
    buf_reset(&ct);
    o = object_of_size(VAULTCRYPT_MAX_ATTR_BYTES + 1);
    assert_int_equal(vaultcrypt_attrs_seal(&ct, key, V1, o), ERR_TOO_LARGE);
    json_decref(o);
    pt = calloc(1, VAULTCRYPT_MAX_ATTR_BYTES + 1);
    assert_non_null(pt);
    a = aad_vault(V1);
    n = hand_seal(&hand, key, &a, pt, VAULTCRYPT_MAX_ATTR_BYTES + 1);
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V1, hand, n), ERR_TOO_LARGE);
    assert_null(back);
    free(hand);
    free(pt);

    /* the output buffer's own cap */
    {
        struct buf small;

        o = json_pack("{s:s}", "name", "x");
        buf_init(&small, 10 + AEAD_OVERHEAD); /* {"name":"x"} is 12 bytes */
        assert_int_equal(vaultcrypt_attrs_seal(&small, key, V1, o), ERR_TOO_LARGE);
        assert_int_equal(small.b_len, 0);
        buf_free(&small);
        json_decref(o);
    }
    buf_free(&ct);
    vaultcrypt_key_free(key);
}

/* ---- files ----------------------------------------------------------------------------- */

static void test_file_roundtrip(void **state)
{
    unsigned char data[1000], *key = NULL, *hand = NULL;
    struct aad a = aad_file(V1, F1);
    struct buf ct, out;
    size_t i, n;
    char *pt;

    (void)state;
    for (i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 7); /* every byte value, NULs included */
    assert_int_equal(vaultcrypt_key_generate(&key), ERR_OK);
    buf_init(&ct, BIG);
    buf_init(&out, VAULTCRYPT_MAX_FILE_BYTES);
    assert_int_equal(vaultcrypt_file_seal(&ct, key, V1, F1_MX, data, sizeof(data)), ERR_OK);
    assert_int_equal(ct.b_len, sizeof(data) + AEAD_OVERHEAD);
    pt = hand_open(key, &a, ct.b_data, ct.b_len);
    assert_non_null(pt);
    assert_memory_equal(pt, data, sizeof(data));
    free(pt);
    assert_int_equal(vaultcrypt_file_open(&out, key, V1_UP, F1, ubytes(&ct), ct.b_len), ERR_OK);
    assert_int_equal(out.b_len, sizeof(data));
    assert_memory_equal(out.b_data, data, sizeof(data));
    /* appended after what the buffer held */
    assert_int_equal(vaultcrypt_file_open(&out, key, V1, F1, ubytes(&ct), ct.b_len), ERR_OK);
    assert_int_equal(out.b_len, 2 * sizeof(data));
    assert_memory_equal(out.b_data + sizeof(data), data, sizeof(data));
    buf_reset(&out);
    /* made by hand with the documented AAD */
    n = hand_seal(&hand, key, &a, "hello", 5);
    assert_int_equal(vaultcrypt_file_open(&out, key, V1, F1, hand, n), ERR_OK);
    assert_int_equal(out.b_len, 5);
    assert_memory_equal(out.b_data, "hello", 5);
    free(hand);
    buf_reset(&out);
    /* an empty file */
    buf_reset(&ct);
    assert_int_equal(vaultcrypt_file_seal(&ct, key, V1, F1, NULL, 0), ERR_OK);
    assert_int_equal(ct.b_len, AEAD_OVERHEAD);
    assert_int_equal(vaultcrypt_file_open(&out, key, V1, F1, ubytes(&ct), ct.b_len), ERR_OK);
    assert_int_equal(out.b_len, 0);
    assert_int_equal(vaultcrypt_file_seal(&ct, key, V1, F1, NULL, 1), ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_file_seal(&ct, NULL, V1, F1, data, 1), ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_file_seal(NULL, key, V1, F1, data, 1), ERR_BAD_INPUT);
    buf_free(&ct);
    buf_free(&out);
    vaultcrypt_key_free(key);
}

static void test_file_refusals(void **state)
{
    unsigned char data[100], bytes[200], *key = NULL, *key2 = NULL;
    struct buf ct, out;
    size_t i, n;

    (void)state;
    memset(data, 'd', sizeof(data));
    assert_int_equal(vaultcrypt_key_generate(&key), ERR_OK);
    assert_int_equal(vaultcrypt_key_generate(&key2), ERR_OK);
    buf_init(&ct, BIG);
    buf_init(&out, VAULTCRYPT_MAX_FILE_BYTES);
    assert_int_equal(vaultcrypt_file_seal(&ct, key, V1, F1, data, sizeof(data)), ERR_OK);
    n = ct.b_len;
    memcpy(bytes, ct.b_data, n);
    /* each AAD component, swapped ids, wrong key */
    assert_int_equal(vaultcrypt_file_open(&out, key, V2, F1, bytes, n), ERR_CRYPTO);
    assert_int_equal(vaultcrypt_file_open(&out, key, V1, F2, bytes, n), ERR_CRYPTO);
    assert_int_equal(vaultcrypt_file_open(&out, key, F1, V1, bytes, n), ERR_CRYPTO);
    assert_int_equal(vaultcrypt_file_open(&out, key2, V1, F1, bytes, n), ERR_CRYPTO);
    assert_int_equal(out.b_len, 0);
    /* every flipped byte, truncation */
    for (i = 0; i < n; i++) {
        bytes[i] ^= 0x10;
        assert_int_equal(vaultcrypt_file_open(&out, key, V1, F1, bytes, n), ERR_CRYPTO);
        bytes[i] ^= 0x10;
    }
    assert_int_equal(vaultcrypt_file_open(&out, key, V1, F1, bytes, n - 1), ERR_CRYPTO);
    assert_int_equal(vaultcrypt_file_open(&out, key, V1, F1, bytes, AEAD_OVERHEAD), ERR_CRYPTO);
    assert_int_equal(vaultcrypt_file_open(&out, key, V1, F1, bytes, AEAD_OVERHEAD - 1), ERR_CRYPTO);
    assert_int_equal(vaultcrypt_file_open(&out, key, V1, F1, NULL, 0), ERR_CRYPTO);
    assert_int_equal(out.b_len, 0);
    /* opened in place: a buffer capped below the contents takes nothing */
    {
        struct buf small;

        buf_init(&small, sizeof(data) - 1);
        assert_int_equal(vaultcrypt_file_open(&small, key, V1, F1, bytes, n), ERR_TOO_LARGE);
        assert_int_equal(small.b_len, 0);
        buf_free(&small);
        buf_init(&small, sizeof(data));
        assert_int_equal(vaultcrypt_file_open(&small, key, V1, F1, bytes, n), ERR_OK);
        assert_int_equal(small.b_len, sizeof(data));
        assert_memory_equal(small.b_data, data, sizeof(data));
        buf_free(&small);
    }
    assert_int_equal(vaultcrypt_file_open(&out, key, V1, F1, bytes, n), ERR_OK);
    assert_int_equal(out.b_len, sizeof(data));
    buf_free(&ct);
    buf_free(&out);
    vaultcrypt_key_free(key);
    vaultcrypt_key_free(key2);
}

static void test_file_caps(void **state)
{
    unsigned char *data, *key = NULL, *hand = NULL;
    struct aad a = aad_file(V1, F1);
    struct buf ct, out, small;
    size_t n;

    (void)state;
    assert_int_equal(vaultcrypt_key_generate(&key), ERR_OK);
    data = malloc(VAULTCRYPT_MAX_FILE_BYTES + 1);
    assert_non_null(data);
    memset(data, 0x3c, VAULTCRYPT_MAX_FILE_BYTES + 1);
    data[0] = 1;
    data[VAULTCRYPT_MAX_FILE_BYTES - 1] = 2;
    buf_init(&ct, VAULTCRYPT_MAX_FILE_BYTES + AEAD_OVERHEAD);
    buf_init(&out, VAULTCRYPT_MAX_FILE_BYTES);
    assert_int_equal(vaultcrypt_file_seal(&ct, key, V1, F1, data, VAULTCRYPT_MAX_FILE_BYTES),
                     ERR_OK);
    assert_int_equal(ct.b_len, VAULTCRYPT_MAX_FILE_BYTES + AEAD_OVERHEAD);
    assert_int_equal(vaultcrypt_file_open(&out, key, V1, F1, ubytes(&ct), ct.b_len), ERR_OK);
    assert_int_equal(out.b_len, VAULTCRYPT_MAX_FILE_BYTES);
    assert_memory_equal(out.b_data, data, VAULTCRYPT_MAX_FILE_BYTES);
    /* an output buffer capped below the plaintext */
    buf_init(&small, 1000);
    assert_int_equal(vaultcrypt_file_open(&small, key, V1, F1, ubytes(&ct), ct.b_len),
                     ERR_TOO_LARGE);
    assert_int_equal(small.b_len, 0);
    buf_free(&small);
    buf_free(&out);
    buf_reset(&ct);
    /* one byte more */
    assert_int_equal(vaultcrypt_file_seal(&ct, key, V1, F1, data, VAULTCRYPT_MAX_FILE_BYTES + 1),
                     ERR_TOO_LARGE);
    assert_int_equal(ct.b_len, 0);
    n = hand_seal(&hand, key, &a, data, VAULTCRYPT_MAX_FILE_BYTES + 1);
    buf_init(&out, BIG);
    assert_int_equal(vaultcrypt_file_open(&out, key, V1, F1, hand, n), ERR_TOO_LARGE);
    assert_int_equal(out.b_len, 0);
    free(hand);
    free(data);
    buf_free(&ct);
    buf_free(&out);
    vaultcrypt_key_free(key);
}

/* ---- across kinds ---------------------------------------------------------------------- */

static void test_cross_kind(void **state)
{
    /* one id used as vault, item and file id: only the context and layout tell them apart */
    unsigned char *key = NULL;
    json_t *o, *back = NULL;
    struct buf attrs, item, file, out;

    (void)state;
    assert_int_equal(vaultcrypt_key_generate(&key), ERR_OK);
    o = json_pack("{s:s}", "name", "x");
    buf_init(&attrs, BIG);
    buf_init(&item, BIG);
    buf_init(&file, BIG);
    buf_init(&out, BIG);
    assert_int_equal(vaultcrypt_attrs_seal(&attrs, key, V1, o), ERR_OK);
    assert_int_equal(vaultcrypt_item_seal(&item, key, V1, V1, 1, VAULTCRYPT_OVERVIEW, o), ERR_OK);
    assert_int_equal(vaultcrypt_file_seal(&file, key, V1, V1, "{\"name\":\"x\"}", 12), ERR_OK);
    assert_int_equal(vaultcrypt_item_open(&back, key, V1, V1, 1, VAULTCRYPT_OVERVIEW,
                                          ubytes(&attrs), attrs.b_len),
                     ERR_CRYPTO);
    assert_int_equal(vaultcrypt_file_open(&out, key, V1, V1, ubytes(&attrs), attrs.b_len),
                     ERR_CRYPTO);
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V1, ubytes(&item), item.b_len), ERR_CRYPTO);
    assert_int_equal(vaultcrypt_file_open(&out, key, V1, V1, ubytes(&item), item.b_len),
                     ERR_CRYPTO);
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V1, ubytes(&file), file.b_len), ERR_CRYPTO);
    assert_int_equal(
        vaultcrypt_item_open(&back, key, V1, V1, 1, VAULTCRYPT_OVERVIEW, ubytes(&file), file.b_len),
        ERR_CRYPTO);
    assert_null(back);
    assert_int_equal(out.b_len, 0);
    json_decref(o);
    buf_free(&attrs);
    buf_free(&item);
    buf_free(&file);
    buf_free(&out);
    vaultcrypt_key_free(key);
}

/* ---- allocation failures --------------------------------------------------------------- */

static void test_nomem(void **state)
{
    unsigned char *key = NULL, *back = NULL;
    json_t *o, *j = NULL;
    struct buf ct, out, w;
    struct jwk me;
    long k;
    size_t len = 0;
    int failed = 0;

    (void)state;
    assert_int_equal(vaultcrypt_key_generate(&key), ERR_OK);
    assert_int_equal(kit_jwk_generate(&me, JWK_OKP_X25519, NULL), ERR_OK);
    o = json_pack("{s:s}", "title", "x");
    buf_init(&ct, BIG);
    buf_init(&out, BIG);
    buf_init(&w, VAULTCRYPT_MAX_WRAPPED);
    /* the k-th allocation fails: each call fails cleanly with ERR_NOMEM, or succeeds */
    for (k = 0; k < 8; k++) {
        enum err e;

        buf_free(&ct);
        buf_free(&out);
        buf_free(&w);
        mem_fail_after(k);
        e = vaultcrypt_item_seal(&ct, key, V1, I1, 1, VAULTCRYPT_OVERVIEW, o);
        mem_fail_after(-1);
        assert_true(e == ERR_OK || e == ERR_NOMEM);
        failed += e == ERR_NOMEM;
        if (e != ERR_OK) {
            assert_int_equal(ct.b_len, 0);
            continue;
        }
        mem_fail_after(k);
        e = vaultcrypt_file_seal(&out, key, V1, F1, "abc", 3);
        mem_fail_after(-1);
        assert_true(e == ERR_OK || e == ERR_NOMEM);
        mem_fail_after(k);
        e = vaultcrypt_wrap(&w, key, VAULTCRYPT_KEY_BYTES, &me);
        mem_fail_after(-1);
        assert_true(e == ERR_OK || e == ERR_NOMEM);
        if (e == ERR_OK) {
            assert_int_equal(vaultcrypt_unwrap(&back, &len, ubytes(&w), w.b_len, &me), ERR_OK);
            vaultcrypt_key_free(back);
            back = NULL;
        }
        assert_int_equal(
            vaultcrypt_item_open(&j, key, V1, I1, 1, VAULTCRYPT_OVERVIEW, ubytes(&ct), ct.b_len),
            ERR_OK);
        json_decref(j);
        j = NULL;
    }
    assert_true(failed > 0);
    json_decref(o);
    buf_free(&ct);
    buf_free(&out);
    buf_free(&w);
    jwk_clear(&me);
    vaultcrypt_key_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_generate),
        cmocka_unit_test(test_wrap_roundtrip),
        cmocka_unit_test(test_wrap_errors),
        cmocka_unit_test(test_unwrap_refusals),
        cmocka_unit_test(test_attrs_roundtrip),
        cmocka_unit_test(test_attrs_refusals),
        cmocka_unit_test(test_bad_ids),
        cmocka_unit_test(test_item_roundtrip),
        cmocka_unit_test(test_item_aad_components),
        cmocka_unit_test(test_item_tamper),
        cmocka_unit_test(test_size_caps),
        cmocka_unit_test(test_file_roundtrip),
        cmocka_unit_test(test_file_refusals),
        cmocka_unit_test(test_file_caps),
        cmocka_unit_test(test_cross_kind),
        cmocka_unit_test(test_nomem),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
