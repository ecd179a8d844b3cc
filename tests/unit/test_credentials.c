/* test_credentials.c - the credentials file: known answer, create/parse/unlock, tampering. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/limits.h"
#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "crypto/kdf.h"
#include "keys/credentials.h"
#include "keys/kit.h"

#define SERVER    "rl5xahcbuydfyy2za2rgie6tdy"
#define SERVER_UC "RL5XAHCBUYDFYY2ZA2RGIE6TDY"
#define ACCOUNT   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define HUB       "https://hub.example.com:7700"
#define FP        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CAP       (64u << 10)

/* RFC 7515 A.3 (P-256), RFC 8037 A.6 / RFC 7748 §6.1 Alice (X25519), RFC 7517 A.1 (public). */
#define A3_X      "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y      "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_D      "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
#define X_ALICE_D "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo"
#define X_ALICE_X "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"
#define A1_X      "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"
#define A1_Y      "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"
#define A2_D      "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"
#define OCT_K     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

/*
 * Known answer, computed independently (Python: hmac/hashlib HKDF per RFC 5869 and
 * cryptography's AESGCM) from: unlock secret = bytes 01..20, salt = bytes a0..af,
 * iv = bytes b0..bb, aad = "sesame credentials v1" NUL SERVER, plaintext =
 * {"account":ACCOUNT,"signingKey":<A.3 with d>,"wrapKey":<Alice with d>} (compact).
 */
#define KAT_SALT "oKGio6SlpqeoqaqrrK2urw"
#define KAT_HASH "nSSq0Xm3sdB7yWHkD9NmZa9bOIKbSllTpI-BmmCxQRA"
#define KAT_IV   "sLGys7S1tre4ubq7"
#define KAT_DATA                                                                                   \
    "-M9TFJy1puLioaCnx1ORTBeN9q612F0HmVQcj9mANZFBx1JGasjOcrFkStpYTOIyNgCSO6phxpIuoLWGenU38MfTM6Sp" \
    "eLjQEG1MvOoyqMJ0N_GG8dPuUhdsLAV4eUIrHUdKJ50StRKT8kY0byJM1doHtIPpgEyO5dtd0f6O3cxJHwWilXY6dc5d" \
    "8spEy_yrMAhbrqAGUKhILeDZaqJ1W6q_uyVGeVJy7vgve_Wg8x31Q1r9YkZkaeaTOYbHDYTKAAZ6BwRVu-WdcfCUqkid" \
    "m3j-ljNqT6WfHrXpccKz1fZIPTXoyHjeLcqiKt2OGzkDvyPpO_F6zIkX4Qk6LyO5veAu0CQ269Yp6SG6-SdAhBli8Od_" \
    "Br4DXpRw10OQIQFaNV6hTFhg9OizE3GgooRm-pyx-8HsxruDsk7MvnXoN-OZL9A7u6I__jjxVpdcPXcsbaWrgC62qnyf" \
    "8Ju2skXY6tffatp-mutbjuvnysrdoZycVAdA_SALG54gRhiisL-pGA"
#define KAT_KEY_HEX "20d5009ad52b4425cf3b478eaecb17f6a5b7f63d2da1b024e4f6d07209412662"

static const char kat_file[] =
    "{\"verifier\":{\"salt\":\"" KAT_SALT "\",\"localHash\":\"" KAT_HASH "\"},"
    "\"encCredentials\":{\"kid\":\"localauthv2keykid\",\"enc\":\"A256GCM\",\"cty\":\"b5+jwk+json\","
    "\"iv\":\"" KAT_IV "\",\"data\":\"" KAT_DATA "\"},"
    "\"version\":\"2\",\"deviceUuid\":\"" SERVER "\","
    "\"uniqueKey\":{\"alg\":\"A256GCM\",\"ext\":true,\"k\":\"" OCT_K "\","
    "\"key_ops\":[\"encrypt\",\"decrypt\"],\"kty\":\"oct\",\"kid\":\"uk\"},"
    "\"hub\":{\"url\":\"" HUB "\",\"tlsFingerprint\":\"" FP "\"},"
    "\"signingKeys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A1_X "\",\"y\":\"" A1_Y
    "\",\"kid\":\"1\"}]}";

static unsigned char secret[32];
static unsigned char wrong[32];
static struct jwk server_sign, server_wrap;
static struct jwk signing[2]; /* token-signing keys "k1", "k2" */

static int group_setup(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < 32; i++) {
        secret[i] = (unsigned char)(i + 1);
        wrong[i] = 0x42;
    }
    if (crypto_init() != ERR_OK || kit_jwk_generate(&server_sign, JWK_EC_P256, NULL) != ERR_OK ||
        kit_jwk_generate(&server_wrap, JWK_OKP_X25519, NULL) != ERR_OK ||
        kit_jwk_generate(&signing[0], JWK_EC_P256, "k1") != ERR_OK ||
        kit_jwk_generate(&signing[1], JWK_EC_P256, "k2") != ERR_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    jwk_clear(&server_sign);
    jwk_clear(&server_wrap);
    jwk_clear(&signing[0]);
    jwk_clear(&signing[1]);
    return 0;
}

static void std_params(struct credentials_params *p)
{
    memset(p, 0, sizeof(*p));
    p->cp_server_id = SERVER_UC; /* either case in; written lowercase */
    p->cp_account_id = "abcdefghijklmnopqrstuvwxyz";
    p->cp_server_sign = &server_sign;
    p->cp_server_wrap = &server_wrap;
    p->cp_unlock = secret;
    p->cp_unlock_len = sizeof(secret);
    p->cp_hub_url = HUB;
    p->cp_tls_fingerprint = NULL;
    p->cp_signing_keys = signing;
    p->cp_nsigning = 2;
}

/* Creates a file with the standard parameters into out (initialised here). */
static void make_file(struct buf *out, const char *fingerprint)
{
    struct credentials_params p;

    std_params(&p);
    p.cp_tls_fingerprint = fingerprint;
    buf_init(out, CAP);
    assert_int_equal(credentials_create(out, &p), ERR_OK);
}

/*
 * Returns a copy of json (malloc'ed text) with member `name` of object `obj` (NULL: the root)
 * replaced by the JSON text value, or removed when value is NULL.
 */
static char *mutate(const char *json, const char *obj, const char *name, const char *value)
{
    json_t *root = json_loads(json, 0, NULL), *o;
    char *text;

    assert_non_null(root);
    o = obj ? json_object_get(root, obj) : root;
    assert_non_null(o);
    if (value) {
        json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        assert_int_equal(json_object_set_new(o, name, v), 0);
    } else {
        assert_int_equal(json_object_del(o, name), 0);
    }
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    assert_non_null(text);
    return text;
}

/* Returns a copy of the string member obj.name of json (malloc'ed). */
static char *member(const char *json, const char *obj, const char *name)
{
    json_t *root = json_loads(json, 0, NULL), *o, *v;
    char *s;

    assert_non_null(root);
    o = obj ? json_object_get(root, obj) : root;
    v = json_object_get(o, name);
    assert_true(json_is_string(v));
    s = strdup(json_string_value(v));
    json_decref(root);
    assert_non_null(s);
    return s;
}

static void b64u(unsigned char *out, size_t n, const char *s)
{
    size_t got = 0;

    assert_int_equal(codec_b64_decode(out, n, &got, s, strlen(s), CODEC_B64_URL), ERR_OK);
    assert_int_equal(got, n);
}

static void test_known_answer(void **state)
{
    static const char a3[] = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y
                             "\",\"d\":\"" A3_D "\"}";
    static const char alice[] =
        "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"d\":\"" X_ALICE_D "\",\"x\":\"" X_ALICE_X "\"}";
    unsigned char salt[16], key[32], want_key[32], hash[32], want_hash[32];
    struct credentials *c = NULL;
    const struct jws_key *keys;
    struct jwk k;
    char err[256];
    size_t n = 0, got = 0;

    (void)state;
    /* Our HKDF reproduces the independently computed verifier and key. */
    b64u(salt, sizeof(salt), KAT_SALT);
    b64u(want_hash, sizeof(want_hash), KAT_HASH);
    assert_int_equal(
        codec_hex_decode(want_key, sizeof(want_key), &got, KAT_KEY_HEX, strlen(KAT_KEY_HEX)),
        ERR_OK);
    assert_int_equal(kdf_hkdf_sha256(hash, 32, secret, 32, salt, 16,
                                     (const unsigned char *)CREDENTIALS_INFO_VERIFIER,
                                     strlen(CREDENTIALS_INFO_VERIFIER)),
                     ERR_OK);
    assert_memory_equal(hash, want_hash, 32);
    assert_int_equal(kdf_hkdf_sha256(key, 32, secret, 32, salt, 16,
                                     (const unsigned char *)CREDENTIALS_INFO_ENCRYPTION,
                                     strlen(CREDENTIALS_INFO_ENCRYPTION)),
                     ERR_OK);
    assert_memory_equal(key, want_key, 32);

    assert_int_equal(credentials_parse(&c, kat_file, strlen(kat_file), err, sizeof(err)), ERR_OK);
    assert_string_equal(credentials_server_id(c), SERVER);
    assert_string_equal(credentials_server_id_upper(c), SERVER_UC);
    assert_string_equal(credentials_hub_url(c), HUB);
    assert_string_equal(credentials_tls_fingerprint(c), FP);
    assert_int_equal(credentials_unique_key(c)->jk_kind, JWK_OCT_256);
    assert_string_equal(credentials_unique_key(c)->jk_kid, "uk");
    keys = credentials_signing_keys(c, &n);
    assert_int_equal(n, 1);
    assert_string_equal(keys[0].jk_kid, "1");
    assert_false(credentials_is_unlocked(c));
    assert_null(credentials_account_id(c));
    assert_null(credentials_server_signing_key(c));
    assert_null(credentials_server_wrap_key(c));

    assert_int_equal(credentials_unlock(c, wrong, sizeof(wrong)), ERR_UNAUTHORIZED);
    assert_false(credentials_is_unlocked(c));
    assert_int_equal(credentials_unlock(c, secret, sizeof(secret)), ERR_OK);
    assert_true(credentials_is_unlocked(c));
    assert_string_equal(credentials_account_id(c), ACCOUNT);
    assert_int_equal(jwk_parse(&k, a3, strlen(a3)), ERR_OK);
    assert_true(jwk_equal(&k, credentials_server_signing_key(c)));
    jwk_clear(&k);
    assert_int_equal(jwk_parse(&k, alice, strlen(alice)), ERR_OK);
    assert_true(jwk_equal(&k, credentials_server_wrap_key(c)));
    jwk_clear(&k);
    credentials_free(c);
}

static void test_create_parse_unlock(void **state)
{
    unsigned char salt[16], hash[32], key[32], iv[12], aad[64];
    unsigned char ct[4096], pt[4096];
    struct credentials *c = NULL;
    const struct jws_key *keys;
    struct buf file;
    char err[256], *s;
    size_t n = 0, ctlen = 0, aadlen;
    json_t *plain, *root;

    (void)state;
    make_file(&file, NULL);

    /* Connect's member names and constant values; no secret in clear. */
    root = json_loads(buf_str(&file), JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "version")), "2");
    assert_string_equal(json_string_value(json_object_get(root, "deviceUuid")), SERVER);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(root, "uniqueKey"), "kty")), "oct");
    assert_true(json_is_true(json_object_get(json_object_get(root, "uniqueKey"), "ext")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "hub"), "url")),
                        HUB);
    assert_null(json_object_get(json_object_get(root, "hub"), "tlsFingerprint"));
    json_decref(root);
    {
        json_t *j = jwk_to_json(&server_sign, 1);
        assert_null(strstr(buf_str(&file), json_string_value(json_object_get(j, "d"))));
        json_decref(j);
        j = jwk_to_json(&server_wrap, 1);
        assert_null(strstr(buf_str(&file), json_string_value(json_object_get(j, "d"))));
        json_decref(j);
        assert_null(strstr(buf_str(&file), "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA"));
        assert_null(strstr(buf_str(&file), ACCOUNT));
        assert_null(strstr(buf_str(&file), "\"d\""));
    }

    assert_int_equal(credentials_parse(&c, buf_str(&file), file.b_len, err, sizeof(err)), ERR_OK);
    assert_string_equal(credentials_server_id(c), SERVER);
    assert_null(credentials_tls_fingerprint(c));
    keys = credentials_signing_keys(c, &n);
    assert_int_equal(n, 2);
    assert_string_equal(keys[0].jk_kid, "k1");
    assert_string_equal(keys[1].jk_kid, "k2");

    /* The documented derivations, recomputed from the file's own salt, iv and data. */
    s = member(buf_str(&file), "verifier", "salt");
    b64u(salt, sizeof(salt), s);
    free(s);
    s = member(buf_str(&file), "verifier", "localHash");
    b64u(hash, sizeof(hash), s);
    free(s);
    assert_int_equal(kdf_hkdf_sha256(key, 32, secret, 32, salt, 16,
                                     (const unsigned char *)CREDENTIALS_INFO_VERIFIER,
                                     strlen(CREDENTIALS_INFO_VERIFIER)),
                     ERR_OK);
    assert_memory_equal(key, hash, 32);
    assert_int_equal(kdf_hkdf_sha256(key, 32, secret, 32, salt, 16,
                                     (const unsigned char *)CREDENTIALS_INFO_ENCRYPTION,
                                     strlen(CREDENTIALS_INFO_ENCRYPTION)),
                     ERR_OK);
    s = member(buf_str(&file), "encCredentials", "iv");
    b64u(iv, sizeof(iv), s);
    free(s);
    s = member(buf_str(&file), "encCredentials", "data");
    assert_int_equal(codec_b64_decode(ct, sizeof(ct), &ctlen, s, strlen(s), CODEC_B64_URL), ERR_OK);
    free(s);
    memcpy(aad, "sesame credentials v1\0" SERVER, 22 + 26);
    aadlen = 22 + 26;
    assert_int_equal(aead_aes256gcm_decrypt(pt, ct, ctlen, aad, aadlen, iv, key), ERR_OK);
    plain = json_loadb((const char *)pt, ctlen - 16, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(plain);
    assert_int_equal(json_object_size(plain), 3);
    assert_string_equal(json_string_value(json_object_get(plain, "account")), ACCOUNT);
    assert_non_null(json_object_get(json_object_get(plain, "signingKey"), "d"));
    assert_non_null(json_object_get(json_object_get(plain, "wrapKey"), "d"));
    json_decref(plain);
    secmem_wipe(pt, sizeof(pt));

    /* check_secret alone decrypts nothing; unlock then exposes the keys. */
    assert_int_equal(credentials_check_secret(c, secret, 32), ERR_OK);
    assert_int_equal(credentials_check_secret(c, wrong, 32), ERR_UNAUTHORIZED);
    assert_int_equal(credentials_check_secret(c, secret, 31), ERR_UNAUTHORIZED);
    assert_false(credentials_is_unlocked(c));
    assert_int_equal(credentials_unlock(c, NULL, 32), ERR_UNAUTHORIZED);
    assert_int_equal(credentials_unlock(c, secret, 0), ERR_UNAUTHORIZED);
    assert_int_equal(credentials_unlock(c, secret, 33), ERR_UNAUTHORIZED);
    assert_int_equal(credentials_unlock(c, wrong, 32), ERR_UNAUTHORIZED);
    assert_false(credentials_is_unlocked(c));
    assert_int_equal(credentials_unlock(c, secret, 32), ERR_OK);
    assert_string_equal(credentials_account_id(c), ACCOUNT);
    assert_true(jwk_equal(credentials_server_signing_key(c), &server_sign));
    assert_true(jwk_equal(credentials_server_wrap_key(c), &server_wrap));
    /* Unlocked: the right secret is still accepted, a wrong one refused, keys kept. */
    assert_int_equal(credentials_unlock(c, secret, 32), ERR_OK);
    assert_int_equal(credentials_unlock(c, wrong, 32), ERR_UNAUTHORIZED);
    assert_true(credentials_is_unlocked(c));
    credentials_free(c);
    buf_free(&file);

    /* A fingerprint given in upper case is written in lower case. */
    make_file(&file, "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF");
    assert_int_equal(credentials_parse(&c, buf_str(&file), file.b_len, err, sizeof(err)), ERR_OK);
    assert_string_equal(credentials_tls_fingerprint(c), FP);
    credentials_free(c);
    buf_free(&file);
}

/* Each creation draws a fresh salt, iv and uniqueKey. */
static void test_create_is_fresh(void **state)
{
    struct buf a, b;
    char *x, *y;

    (void)state;
    make_file(&a, NULL);
    make_file(&b, NULL);
    x = member(buf_str(&a), "verifier", "salt");
    y = member(buf_str(&b), "verifier", "salt");
    assert_string_not_equal(x, y);
    free(x);
    free(y);
    x = member(buf_str(&a), "encCredentials", "iv");
    y = member(buf_str(&b), "encCredentials", "iv");
    assert_string_not_equal(x, y);
    free(x);
    free(y);
    buf_free(&a);
    buf_free(&b);
}

static void test_create_refuses(void **state)
{
    struct credentials_params p;
    struct jwk pub, nokid, dup[2];
    struct buf out;
    int i;

    (void)state;
    memset(&pub, 0, sizeof(pub));
    pub.jk_kind = JWK_EC_P256;
    pub.jk_ec = ecdsa_p256_public_dup(server_sign.jk_ec);
    assert_non_null(pub.jk_ec);
    assert_int_equal(kit_jwk_generate(&nokid, JWK_EC_P256, NULL), ERR_OK);
    dup[0] = signing[0];
    dup[1] = signing[0];
    buf_init(&out, CAP);
    for (i = 0; i < 15; i++) {
        std_params(&p);
        switch (i) {
        case 0:
            p.cp_unlock_len = 31;
            break;
        case 1:
            p.cp_unlock = NULL;
            break;
        case 2:
            p.cp_server_id = "rl5xahcbuydfyy2za2rgie6td";
            break;
        case 3:
            p.cp_account_id = "ABCDEFGHIJKLMNOPQRSTUVWXY!";
            break;
        case 4:
            p.cp_server_sign = &pub; /* no private half */
            break;
        case 5:
            p.cp_server_sign = &server_wrap;
            break;
        case 6:
            p.cp_server_wrap = &server_sign;
            break;
        case 7:
            p.cp_hub_url = "ftp://hub";
            break;
        case 8:
            p.cp_hub_url = "https://";
            break;
        case 9:
            p.cp_tls_fingerprint = "0123";
            break;
        case 10:
            p.cp_tls_fingerprint =
                "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
            break;
        case 11:
            p.cp_signing_keys = &nokid;
            p.cp_nsigning = 1;
            break;
        case 12:
            p.cp_signing_keys = dup;
            break;
        case 13:
            p.cp_nsigning = 0;
            break;
        default:
            p.cp_nsigning = CREDENTIALS_MAX_SIGNING_KEYS + 1;
            break;
        }
        if (credentials_create(&out, &p) != ERR_BAD_INPUT)
            fail_msg("case %d accepted", i);
        assert_int_equal(out.b_len, 0);
    }
    assert_int_equal(credentials_create(&out, NULL), ERR_BAD_INPUT);
    ecdsa_p256_free(pub.jk_ec);
    jwk_clear(&nokid);
}

/* Tampering with the file: which error, and that a wrong secret is refused before decrypt. */
struct tamper_case {
    const char *obj, *name, *value;
    enum err with_right; /* unlock with the right secret */
};

static void test_tampering(void **state)
{
    static const struct tamper_case cases[] = {
        /* The verifier: refused as a wrong secret, nothing decrypted. */
        {"verifier", "salt", "\"AAAAAAAAAAAAAAAAAAAAAA\"", ERR_UNAUTHORIZED},
        {"verifier", "localHash", "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"",
         ERR_UNAUTHORIZED},
        /* The envelope: the secret is right but the ciphertext no longer verifies. */
        {"encCredentials", "iv", "\"AAAAAAAAAAAAAAAA\"", ERR_CRYPTO},
        {NULL, "deviceUuid", "\"aaaaaaaaaaaaaaaaaaaaaaaaaa\"", ERR_CRYPTO}, /* the AAD */
    };
    struct credentials *c = NULL;
    struct buf file;
    char err[256], *text, *data;
    size_t i;

    (void)state;
    make_file(&file, NULL);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        text = mutate(buf_str(&file), cases[i].obj, cases[i].name, cases[i].value);
        assert_int_equal(credentials_parse(&c, text, strlen(text), err, sizeof(err)), ERR_OK);
        assert_int_equal(credentials_unlock(c, wrong, 32), ERR_UNAUTHORIZED);
        assert_int_equal(credentials_unlock(c, secret, 32), cases[i].with_right);
        assert_false(credentials_is_unlocked(c));
        assert_null(credentials_server_signing_key(c));
        credentials_free(c);
        free(text);
    }

    /* Every single character of data changed in turn (a sample of positions). */
    data = member(buf_str(&file), "encCredentials", "data");
    for (i = 0; i < strlen(data); i += 7) {
        char *d2 = strdup(data), quoted[CAP];
        assert_non_null(d2);
        d2[i] = d2[i] == 'A' ? 'B' : 'A';
        /* The last character may carry only zero bits: keep it decodable. */
        if (i == strlen(data) - 1)
            d2[i] = data[i] == 'A' ? 'Q' : 'A';
        (void)snprintf(quoted, sizeof(quoted), "\"%s\"", d2);
        text = mutate(buf_str(&file), "encCredentials", "data", quoted);
        assert_int_equal(credentials_parse(&c, text, strlen(text), err, sizeof(err)), ERR_OK);
        assert_int_equal(credentials_unlock(c, wrong, 32), ERR_UNAUTHORIZED);
        assert_int_equal(credentials_unlock(c, secret, 32), ERR_CRYPTO);
        credentials_free(c);
        free(text);
        free(d2);
    }
    free(data);
    buf_free(&file);
}

struct parse_case {
    const char *obj, *name, *value; /* a mutation of a valid file */
    const char *message;
};

static void test_parse_errors(void **state)
{
    static const struct parse_case cases[] = {
        {NULL, "version", "\"1\"", "credentials file is not version 2"},
        {NULL, "version", "2", "credentials file is not version 2"},
        {NULL, "version", NULL, "credentials file is not version 2"},
        {NULL, "deviceUuid", "\"" SERVER_UC "\"",
         "credentials file: deviceUuid is not a 26-character lowercase server id"},
        {NULL, "deviceUuid", NULL,
         "credentials file: deviceUuid is not a 26-character lowercase server id"},
        {NULL, "verifier", NULL, "credentials file: verifier is missing or not an object"},
        {"verifier", "salt", "\"AAAAAAAAAAAAAAAAAAAA\"",
         "credentials file: verifier.salt is not 16 bytes of base64url"},
        {"verifier", "salt", "\"AAAAAAAAAAAAAAAAAAAAAA==\"",
         "credentials file: verifier.salt is not 16 bytes of base64url"},
        {"verifier", "localHash", "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+\"",
         "credentials file: verifier.localHash is not 32 bytes of base64url"},
        {NULL, "encCredentials", "[]",
         "credentials file: encCredentials is missing or not an object"},
        {"encCredentials", "kid", "\"other\"",
         "credentials file: encCredentials must have kid \"localauthv2keykid\", enc \"A256GCM\" "
         "and cty \"b5+jwk+json\""},
        {"encCredentials", "enc", "\"A128GCM\"",
         "credentials file: encCredentials must have kid \"localauthv2keykid\", enc \"A256GCM\" "
         "and cty \"b5+jwk+json\""},
        {"encCredentials", "cty", NULL,
         "credentials file: encCredentials must have kid \"localauthv2keykid\", enc \"A256GCM\" "
         "and cty \"b5+jwk+json\""},
        {"encCredentials", "iv", "\"AAAAAAAAAAAAAAAAAAAAAA\"",
         "credentials file: encCredentials.iv is not 12 bytes of base64url"},
        {"encCredentials", "data", "\"AAAAAAAAAAAAAAAAAAAAAA\"",
         "credentials file: encCredentials.data is not base64url of a ciphertext and its tag"},
        {"encCredentials", "data", "\"mDthYuIf3Ozr…\"",
         "credentials file: encCredentials.data is not base64url of a ciphertext and its tag"},
        {"encCredentials", "data", "7",
         "credentials file: encCredentials.data is missing or longer than 8192 bytes"},
        {NULL, "uniqueKey", NULL, "credentials file: uniqueKey is not a 256-bit oct JWK"},
        {NULL, "uniqueKey",
         "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A1_X "\",\"y\":\"" A1_Y "\"}",
         "credentials file: uniqueKey is not a 256-bit oct JWK"},
        {NULL, "uniqueKey", "{\"kty\":\"oct\",\"k\":\"AAEC\"}",
         "credentials file: uniqueKey is not a 256-bit oct JWK"},
        {NULL, "hub", NULL,
         "credentials file: hub is missing or not an object (not a Sesame credentials file?)"},
        {"hub", "url", "\"ftp://hub.example.com\"",
         "credentials file: hub.url is not an http:// or https:// URL"},
        {"hub", "url", "\"https://hub example\"",
         "credentials file: hub.url is not an http:// or https:// URL"},
        {"hub", "tlsFingerprint",
         "\"0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\"",
         "credentials file: hub.tlsFingerprint is not 64 lowercase hex digits"},
        {"hub", "tlsFingerprint", "\"0123\"",
         "credentials file: hub.tlsFingerprint is not 64 lowercase hex digits"},
        {NULL, "signingKeys", "[]", "credentials file: signingKeys is not a non-empty array"},
        {NULL, "signingKeys", NULL, "credentials file: signingKeys is not a non-empty array"},
        {NULL, "signingKeys",
         "[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A1_X "\",\"y\":\"" A1_Y "\",\"d\":\"" A2_D
         "\",\"kid\":\"1\"}]",
         "credentials file: signingKeys[0] holds a private key"},
        {NULL, "signingKeys",
         "[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A1_X "\",\"y\":\"" A1_Y "\"}]",
         "credentials file: signingKeys[0] has no kid"},
        {NULL, "signingKeys",
         "[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A1_X "\",\"y\":\"" A1_Y "\",\"kid\":\"1\"},"
         "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\",\"kid\":\"1\"}]",
         "credentials file: signingKeys[1] repeats the kid of signingKeys[0]"},
        {NULL, "signingKeys",
         "[{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" X_ALICE_X "\",\"kid\":\"1\"}]",
         "credentials file: signingKeys[0] is not a valid public P-256 JWK"},
        {NULL, "signingKeys",
         "[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A1_X "\",\"y\":\"" A3_Y "\",\"kid\":\"1\"}]",
         "credentials file: signingKeys[0] is not a valid public P-256 JWK"},
        /* Unknown members are ignored. */
        {NULL, "x-extra", "{\"a\":1}", NULL},
    };
    struct credentials *c = NULL;
    struct buf file;
    char err[512], *text;
    size_t i;

    (void)state;
    make_file(&file, FP);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        text = mutate(buf_str(&file), cases[i].obj, cases[i].name, cases[i].value);
        err[0] = '\0';
        if (cases[i].message) {
            assert_int_equal(credentials_parse(&c, text, strlen(text), err, sizeof(err)),
                             ERR_BAD_INPUT);
            assert_null(c);
            if (strcmp(err, cases[i].message) != 0)
                fail_msg("case %zu: \"%s\", expected \"%s\"", i, err, cases[i].message);
        } else {
            assert_int_equal(credentials_parse(&c, text, strlen(text), err, sizeof(err)), ERR_OK);
            credentials_free(c);
        }
        free(text);
    }
    buf_free(&file);
}

static void test_parse_shapes(void **state)
{
    /* Connect's published example (connect#67, abbreviated): not ours, refused clearly. */
    static const char connect67[] =
        "{\"verifier\":{\"salt\":\"LXTNtdiGiX4qubks1-M1Uw\",\"localHash\":"
        "\"cLmz2Nu8sJVSUt__I6HpJYGz5VcKJ8YqTDGezPre1fo\"},\"encCredentials\":{\"kid\":"
        "\"localauthv2keykid\",\"enc\":\"A256GCM\",\"cty\":\"b5+jwk+json\",\"iv\":"
        "\"otZagi8vomLpGB2L\",\"data\":\"mDthYuIf3Ozr\"},\"version\":\"2\",\"deviceUuid\":"
        "\"rl5xahcbuydfyy2za2rgie6tdy\",\"uniqueKey\":{\"alg\":\"A256GCM\",\"ext\":true,\"k\":"
        "\"84eqZDcnB0qfOjuqRnyzOPJFiwy-u1TVobyJuM0evho\",\"key_ops\":[\"encrypt\",\"decrypt\"],"
        "\"kty\":\"oct\",\"kid\":\"x\"}}";
    struct credentials *c = NULL;
    char err[256], *big;
    size_t len;

    (void)state;
    assert_int_equal(credentials_parse(&c, connect67, strlen(connect67), err, sizeof(err)),
                     ERR_BAD_INPUT);
    assert_string_equal(
        err, "credentials file: encCredentials.data is not base64url of a ciphertext and its tag");

    assert_int_equal(credentials_parse(&c, "{\"version\":\"2\"", 14, err, sizeof(err)),
                     ERR_BAD_INPUT);
    assert_true(strncmp(err, "credentials file is not valid JSON (line 1, column ", 51) == 0);
    assert_int_equal(credentials_parse(&c, "[]", 2, err, sizeof(err)), ERR_BAD_INPUT);
    assert_string_equal(err, "credentials file is not a JSON object");
    assert_int_equal(
        credentials_parse(&c, "{\"version\":\"2\",\"version\":\"2\"}", 29, err, sizeof(err)),
        ERR_BAD_INPUT);
    assert_true(strncmp(err, "credentials file is not valid JSON", 34) == 0);
    assert_int_equal(credentials_parse(&c, "", 0, err, sizeof(err)), ERR_BAD_INPUT);
    assert_int_equal(credentials_parse(&c, NULL, 0, err, sizeof(err)), ERR_BAD_INPUT);
    assert_string_equal(err, "credentials file: empty");
    /* 1Password's document-item JSON, the mistake connect#18 reports. */
    assert_int_equal(credentials_parse(&c, "{\"title\":\"x\",\"fields\":[]}", 25, err, sizeof(err)),
                     ERR_BAD_INPUT);
    assert_string_equal(err, "credentials file is not version 2");

    len = CONFIG_MAX_SESSION_BYTES + 1;
    big = malloc(len);
    assert_non_null(big);
    memset(big, ' ', len);
    assert_int_equal(credentials_parse(&c, big, len, err, sizeof(err)), ERR_TOO_LARGE);
    assert_string_equal(err, "credentials file is larger than 65536 bytes");
    free(big);
    assert_null(c);
}

/* Every allocation of ours failing in turn: ERR_NOMEM, nothing leaked (the ASan run checks). */
static void test_allocation_failures(void **state)
{
    struct credentials_params p;
    struct credentials *c = NULL;
    struct buf out;
    char err[256];
    long total, n;
    enum err rc;

    (void)state;
    std_params(&p);
    buf_init(&out, CAP);
    mem_fail_after(-1);
    assert_int_equal(credentials_create(&out, &p), ERR_OK);
    total = mem_fail_after(-1);
    buf_free(&out);
    assert_true(total > 0);
    for (n = 0; n < total; n++) {
        mem_fail_after(n);
        rc = credentials_create(&out, &p);
        mem_fail_after(-1);
        assert_int_equal(rc, ERR_NOMEM);
        assert_int_equal(out.b_len, 0);
    }

    assert_int_equal(credentials_parse(&c, kat_file, strlen(kat_file), err, sizeof(err)), ERR_OK);
    assert_int_equal(credentials_unlock(c, secret, 32), ERR_OK);
    credentials_free(c);
    total = mem_fail_after(-1);
    assert_true(total > 0);
    for (n = 0; n < total; n++) {
        mem_fail_after(n);
        rc = credentials_parse(&c, kat_file, strlen(kat_file), err, sizeof(err));
        if (rc == ERR_OK)
            rc = credentials_unlock(c, secret, 32);
        mem_fail_after(-1);
        assert_int_equal(rc, ERR_NOMEM);
        credentials_free(c);
        c = NULL;
    }
}

/* hub.urls: the further hub URLs (replicas), written only when given, parsed strictly. */
static void test_hub_urls(void **state)
{
    static const char *const two[] = {"https://replica-b.example.com:7700",
                                      "https://10.0.0.3:7700/prefix"};
    static const char *const eight[] = {"https://h1", "https://h2", "https://h3", "https://h4",
                                        "https://h5", "https://h6", "https://h7", "https://h8"};
    static const char *const nine[] = {"https://h1", "https://h2", "https://h3",
                                       "https://h4", "https://h5", "https://h6",
                                       "https://h7", "https://h8", "https://h9"};
    static const char *const plain[] = {"http://replica-b:7700"};
    static const char *const bad_scheme[] = {"ftp://replica-b"};
    static const char *const repeats_first[] = {HUB};
    static const char *const repeats_other[] = {"https://b", "https://c", "https://b"};
    static const struct {
        const char *value; /* hub.urls, JSON text */
        int pinned;        /* the file has hub.tlsFingerprint */
        const char *message;
    } cases[] = {
        {"[]", 1, "credentials file: hub.urls is not a non-empty array"},
        {"\"https://b\"", 1, "credentials file: hub.urls is not a non-empty array"},
        {"{}", 1, "credentials file: hub.urls is not a non-empty array"},
        {"[1]", 1, "credentials file: hub.urls[0] is not an http:// or https:// URL"},
        {"[\"https://b\",null]", 1,
         "credentials file: hub.urls[1] is not an http:// or https:// URL"},
        {"[\"ftp://evil.example\"]", 1,
         "credentials file: hub.urls[0] is not an http:// or https:// URL"},
        {"[\"https://evil example\"]", 1,
         "credentials file: hub.urls[0] is not an http:// or https:// URL"},

        {"[\"https://b\",\"https://ev\\u0001il\"]", 1,
         "credentials file: hub.urls[1] is not an http:// or https:// URL"},
        {"[\"" HUB "\"]", 1, "credentials file: hub.urls[0] repeats hub.url"},
        {"[\"https://b\",\"https://c\",\"https://c\"]", 1,
         "credentials file: hub.urls[2] repeats hub.urls[1]"},
        {"[\"https://b\",\"http://evil.example\"]", 1,
         "credentials file: hub.urls[1] is not https:// although hub.tlsFingerprint pins the "
         "hub's certificate"},
        {"[\"https://1\",\"https://2\",\"https://3\",\"https://4\",\"https://5\",\"https://6\","
         "\"https://7\",\"https://8\",\"https://9\"]",
         1, "credentials file: hub.urls has more than 8 entries"},
        /* accepted */
        {"[\"http://b:7700\",\"https://c\"]", 0, NULL},
        {"[\"https://1\",\"https://2\",\"https://3\",\"https://4\",\"https://5\",\"https://6\","
         "\"https://7\",\"https://8\"]",
         1, NULL},
    };
    struct credentials_params p;
    struct credentials *c = NULL;
    struct buf out, pinned, unpinned;
    char err[512], *text;
    json_t *root, *hub, *val;
    const char *key;
    size_t i;

    (void)state;
    assert_int_equal(CREDENTIALS_MAX_HUB_URLS, 8);

    /* Without further URLs nothing is written: the file is as it always was. */
    make_file(&unpinned, NULL);
    assert_null(strstr(buf_str(&unpinned), "\"urls\""));
    assert_int_equal(credentials_parse(&c, buf_str(&unpinned), unpinned.b_len, err, sizeof(err)),
                     ERR_OK);
    assert_int_equal(credentials_hub_url_count(c), 1);
    assert_string_equal(credentials_hub_url_at(c, 0), HUB);
    assert_ptr_equal(credentials_hub_url_at(c, 0), credentials_hub_url(c));
    assert_null(credentials_hub_url_at(c, 1));
    credentials_free(c);
    c = NULL;

    /* Two further URLs, pinned: written in order between url and tlsFingerprint. */
    std_params(&p);
    p.cp_tls_fingerprint = FP;
    p.cp_hub_urls = two;
    p.cp_hub_url_count = 2;
    buf_init(&out, CAP);
    assert_int_equal(credentials_create(&out, &p), ERR_OK);
    root = json_loads(buf_str(&out), 0, NULL);
    assert_non_null(root);
    hub = json_object_get(root, "hub");
    i = 0;
    json_object_foreach(hub, key, val)
    {
        static const char *const order[] = {"url", "urls", "tlsFingerprint"};
        assert_true(i < 3);
        assert_non_null(val);
        assert_string_equal(key, order[i]);
        i++;
    }
    assert_int_equal(i, 3);
    assert_int_equal(json_array_size(json_object_get(hub, "urls")), 2);
    json_decref(root);
    assert_int_equal(credentials_parse(&c, buf_str(&out), out.b_len, err, sizeof(err)), ERR_OK);
    assert_int_equal(credentials_hub_url_count(c), 3);
    assert_string_equal(credentials_hub_url_at(c, 0), HUB);
    assert_string_equal(credentials_hub_url_at(c, 1), two[0]);
    assert_string_equal(credentials_hub_url_at(c, 2), two[1]);
    assert_null(credentials_hub_url_at(c, 3));
    assert_null(credentials_hub_url_at(c, 100));
    assert_string_equal(credentials_hub_url(c), HUB);
    assert_int_equal(credentials_unlock(c, secret, sizeof(secret)), ERR_OK);
    credentials_free(c);
    c = NULL;
    buf_free(&out);

    /* Eight is the most; http:// replicas are fine when nothing is pinned. */
    std_params(&p);
    p.cp_hub_urls = eight;
    p.cp_hub_url_count = 8;
    buf_init(&out, CAP);
    assert_int_equal(credentials_create(&out, &p), ERR_OK);
    buf_free(&out);
    p.cp_hub_urls = plain;
    p.cp_hub_url_count = 1;
    buf_init(&out, CAP);
    assert_int_equal(credentials_create(&out, &p), ERR_OK);
    assert_int_equal(credentials_parse(&c, buf_str(&out), out.b_len, err, sizeof(err)), ERR_OK);
    assert_int_equal(credentials_hub_url_count(c), 2);
    assert_string_equal(credentials_hub_url_at(c, 1), plain[0]);
    credentials_free(c);
    c = NULL;
    buf_free(&out);

    /* Refused by credentials_create, nothing appended. */
    {
        static const struct {
            const char *const *urls;
            size_t n;
            const char *fp;
        } bad[] = {
            {nine, 9, NULL},          {bad_scheme, 1, NULL}, {repeats_first, 1, NULL},
            {repeats_other, 3, NULL}, {plain, 1, FP},        {NULL, 1, NULL},
        };
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            std_params(&p);
            p.cp_hub_urls = bad[i].urls;
            p.cp_hub_url_count = bad[i].n;
            p.cp_tls_fingerprint = bad[i].fp;
            buf_init(&out, CAP);
            if (credentials_create(&out, &p) != ERR_BAD_INPUT)
                fail_msg("create case %zu accepted", i);
            assert_int_equal(out.b_len, 0);
            buf_free(&out);
        }
    }

    /* Parsing: every rule, one line naming the member, never quoting the file. */
    make_file(&pinned, FP);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        text =
            mutate(buf_str(cases[i].pinned ? &pinned : &unpinned), "hub", "urls", cases[i].value);
        err[0] = '\0';
        if (cases[i].message) {
            if (credentials_parse(&c, text, strlen(text), err, sizeof(err)) != ERR_BAD_INPUT)
                fail_msg("case %zu accepted", i);
            assert_null(c);
            if (strcmp(err, cases[i].message) != 0)
                fail_msg("case %zu: \"%s\", expected \"%s\"", i, err, cases[i].message);
            assert_null(strstr(err, "evil"));
            assert_null(strchr(err, '\n'));
        } else {
            assert_int_equal(credentials_parse(&c, text, strlen(text), err, sizeof(err)), ERR_OK);
            assert_true(credentials_hub_url_count(c) >= 3);
            credentials_free(c);
            c = NULL;
        }
        free(text);
    }
    buf_free(&pinned);
    buf_free(&unpinned);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),    cmocka_unit_test(test_create_parse_unlock),
        cmocka_unit_test(test_create_is_fresh), cmocka_unit_test(test_create_refuses),
        cmocka_unit_test(test_tampering),       cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_shapes),    cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_hub_urls),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
