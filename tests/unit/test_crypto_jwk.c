/* test_crypto_jwk.c - strict JWK parsing and serialisation (RFC 7517, RFC 8037, RFC 7748). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "crypto/crypto.h"
#include "crypto/jwk.h"

/* RFC 7517 appendix A.1 (first key) and A.2 (its private part). */
#define A1_X "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"
#define A1_Y "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"
#define A2_D "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"
/* RFC 7515 appendix A.3 key (its y contains '_', so it has a std-alphabet twin). */
#define A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_D "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
/* RFC 8037 A.6 (X25519): the ephemeral key pair, which is RFC 7748 §6.1's Alice. */
#define X_ALICE_D "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo"
#define X_ALICE_X "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"
#define X_BOB_X   "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"
/* 32 bytes 00 01 .. 1f. */
#define OCT_K "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

static const char a1_public[] = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A1_X "\",\"y\":\"" A1_Y
                                "\",\"use\":\"enc\",\"kid\":\"1\"}";
static const char a2_private[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A1_X "\",\"y\":\"" A1_Y "\",\"d\":\"" A2_D
    "\",\"use\":\"enc\",\"kid\":\"1\"}";

/* RFC 7748 §6.1 in hex. */
static const char alice_sk_hex[] =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char alice_pk_hex[] =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
static const char bob_pk_hex[] = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";

static void hex(unsigned char *out, size_t n, const char *s)
{
    size_t got = 0;

    assert_int_equal(codec_hex_decode(out, n, &got, s, strlen(s)), ERR_OK);
    assert_int_equal(got, n);
}

static int group_setup(void **state)
{
    (void)state;
    return crypto_init() == ERR_OK ? 0 : -1;
}

static int jwk_has_secret(const struct jwk *k)
{
    return k->jk_kind == JWK_EC_P256 ? ecdsa_p256_has_private(k->jk_ec) : k->jk_secret != NULL;
}

/* Serialises k, parses the result back, and checks both are the same key. */
static void check_round_trip(const struct jwk *k, int with_private)
{
    struct jwk back;
    json_t *j = jwk_to_json(k, with_private);

    assert_non_null(j);
    assert_int_equal(jwk_from_json(&back, j), ERR_OK);
    if (with_private || !jwk_has_secret(k))
        assert_int_equal(jwk_equal(k, &back), 1);
    else
        assert_int_equal(jwk_equal(k, &back), 0);
    json_decref(j);
    jwk_clear(&back);
}

static void test_rfc7517_a1_public(void **state)
{
    unsigned char x[32], y[32], ex[32], ey[32];
    struct jwk k;

    (void)state;
    assert_int_equal(jwk_parse(&k, a1_public, strlen(a1_public)), ERR_OK);
    assert_int_equal(k.jk_kind, JWK_EC_P256);
    assert_string_equal(k.jk_kid, "1");
    assert_non_null(k.jk_ec);
    assert_null(k.jk_secret);
    assert_int_equal(ecdsa_p256_has_private(k.jk_ec), 0);
    hex(ex, 32, "30a0424cd21c2944838a2d75c92b37e76ea20d9f00893a3b4eee8a3c0aafec3e");
    hex(ey, 32, "e04b65e92456d9888b52b379bdfbd51ee869ef1f0fc65b6659695b6cce081723");
    assert_int_equal(ecdsa_p256_to_raw(k.jk_ec, x, y, NULL), ERR_OK);
    assert_memory_equal(x, ex, 32);
    assert_memory_equal(y, ey, 32);
    check_round_trip(&k, 0);
    /* No private part to give. */
    assert_null(jwk_to_json(&k, 1));
    jwk_clear(&k);
    assert_null(k.jk_ec);
    assert_int_equal(k.jk_kind, 0);
}

static void test_rfc7517_a2_private(void **state)
{
    static const char expect[] = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A1_X
                                 "\",\"y\":\"" A1_Y "\",\"d\":\"" A2_D "\",\"kid\":\"1\"}";
    static const char expect_pub[] =
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A1_X "\",\"y\":\"" A1_Y "\",\"kid\":\"1\"}";
    unsigned char x[32], y[32], ed[32];
    unsigned char *d = secmem_alloc(32);
    struct jwk k;
    json_t *j;
    char *text;

    (void)state;
    assert_non_null(d);
    assert_int_equal(jwk_parse(&k, a2_private, strlen(a2_private)), ERR_OK);
    assert_int_equal(k.jk_kind, JWK_EC_P256);
    assert_int_equal(ecdsa_p256_has_private(k.jk_ec), 1);
    hex(ed, 32, "f3bd0c07a81fb932781ed52752f60cc89a6be5e51934fe01938ddb55d8f77801");
    assert_int_equal(ecdsa_p256_to_raw(k.jk_ec, x, y, d), ERR_OK);
    assert_memory_equal(d, ed, 32);

    j = jwk_to_json(&k, 1);
    assert_non_null(j);
    text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(text, expect);
    secmem_wipe(text, strlen(text));
    free(text);
    json_decref(j);
    j = jwk_to_json(&k, 0);
    text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(text, expect_pub);
    free(text);
    json_decref(j);
    check_round_trip(&k, 1);
    check_round_trip(&k, 0);
    jwk_clear(&k);
    secmem_free(d);
}

static void test_x25519_rfc8037(void **state)
{
    static const char alice[] =
        "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"d\":\"" X_ALICE_D "\",\"x\":\"" X_ALICE_X "\"}";
    static const char bob[] =
        "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"kid\":\"Bob\",\"x\":\"" X_BOB_X "\"}";
    static const char expect[] =
        "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" X_ALICE_X "\",\"d\":\"" X_ALICE_D "\"}";
    unsigned char sk[32], pk[32];
    struct jwk k;
    json_t *j;
    char *text;

    (void)state;
    assert_int_equal(jwk_parse(&k, alice, strlen(alice)), ERR_OK);
    assert_int_equal(k.jk_kind, JWK_OKP_X25519);
    assert_string_equal(k.jk_kid, "");
    assert_null(k.jk_ec);
    assert_non_null(k.jk_secret);
    hex(sk, 32, alice_sk_hex);
    hex(pk, 32, alice_pk_hex);
    assert_memory_equal(k.jk_secret, sk, 32);
    assert_memory_equal(k.jk_pub, pk, 32);
    j = jwk_to_json(&k, 1);
    text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(text, expect);
    free(text);
    json_decref(j);
    check_round_trip(&k, 1);
    check_round_trip(&k, 0);
    jwk_clear(&k);

    assert_int_equal(jwk_parse(&k, bob, strlen(bob)), ERR_OK);
    assert_int_equal(k.jk_kind, JWK_OKP_X25519);
    assert_string_equal(k.jk_kid, "Bob");
    assert_null(k.jk_secret);
    hex(pk, 32, bob_pk_hex);
    assert_memory_equal(k.jk_pub, pk, 32);
    check_round_trip(&k, 0);
    assert_null(jwk_to_json(&k, 1));
    jwk_clear(&k);
}

static void test_oct(void **state)
{
    /* The shape of a 1Password credentials file's uniqueKey. */
    static const char text[] = "{\"alg\":\"A256GCM\",\"ext\":true,\"k\":\"" OCT_K
                               "\",\"key_ops\":[\"encrypt\",\"decrypt\"],\"kty\":\"oct\","
                               "\"kid\":\"abcdefghijklmnopqrstuvwxyz\"}";
    static const char expect[] = "{\"kty\":\"oct\",\"k\":\"" OCT_K
                                 "\",\"alg\":\"A256GCM\",\"kid\":\"abcdefghijklmnopqrstuvwxyz\"}";
    unsigned char want[32];
    struct jwk k;
    json_t *j;
    char *out;
    size_t i;

    (void)state;
    for (i = 0; i < 32; i++)
        want[i] = (unsigned char)i;
    assert_int_equal(jwk_parse(&k, text, strlen(text)), ERR_OK);
    assert_int_equal(k.jk_kind, JWK_OCT_256);
    assert_string_equal(k.jk_kid, "abcdefghijklmnopqrstuvwxyz");
    assert_non_null(k.jk_secret);
    assert_memory_equal(k.jk_secret, want, 32);
    j = jwk_to_json(&k, 1);
    out = json_dumps(j, JSON_COMPACT);
    assert_string_equal(out, expect);
    free(out);
    json_decref(j);
    /* An oct key has no public form. */
    assert_null(jwk_to_json(&k, 0));
    check_round_trip(&k, 1);
    jwk_clear(&k);
}

static void test_generated_round_trip(void **state)
{
    struct jwk k, back;
    json_t *j;

    (void)state;
    memset(&k, 0, sizeof(k));
    k.jk_kind = JWK_EC_P256;
    memcpy(k.jk_kid, "token-signing-1", sizeof("token-signing-1"));
    assert_int_equal(ecdsa_p256_generate(&k.jk_ec), ERR_OK);
    check_round_trip(&k, 1);
    check_round_trip(&k, 0);
    /* A public copy is not equal to the pair. */
    j = jwk_to_json(&k, 0);
    assert_int_equal(jwk_from_json(&back, j), ERR_OK);
    assert_int_equal(jwk_equal(&k, &back), 0);
    json_decref(j);
    jwk_clear(&back);
    jwk_clear(&k);

    memset(&k, 0, sizeof(k));
    k.jk_kind = JWK_OKP_X25519;
    k.jk_secret = secmem_alloc(32);
    assert_non_null(k.jk_secret);
    assert_int_equal(x25519_keypair(k.jk_pub, k.jk_secret), ERR_OK);
    check_round_trip(&k, 1);
    check_round_trip(&k, 0);
    jwk_clear(&k);

    memset(&k, 0, sizeof(k));
    k.jk_kind = JWK_OCT_256;
    k.jk_secret = secmem_alloc(32);
    assert_non_null(k.jk_secret);
    assert_int_equal(crypto_random(k.jk_secret, 32), ERR_OK);
    check_round_trip(&k, 1);
    jwk_clear(&k);
}

static void test_kid_limits(void **state)
{
    char text[256], kid[KID_MAX_LEN + 2];
    struct jwk k;

    (void)state;
    memset(kid, 'k', sizeof(kid));
    kid[KID_MAX_LEN] = '\0'; /* exactly the limit: fine */
    assert_true((size_t)snprintf(text, sizeof(text),
                                 "{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"%s\"}", OCT_K,
                                 kid) < sizeof(text));
    assert_int_equal(jwk_parse(&k, text, strlen(text)), ERR_OK);
    assert_string_equal(k.jk_kid, kid);
    jwk_clear(&k);
    kid[KID_MAX_LEN] = 'k'; /* one more */
    kid[KID_MAX_LEN + 1] = '\0';
    assert_true((size_t)snprintf(text, sizeof(text),
                                 "{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"%s\"}", OCT_K,
                                 kid) < sizeof(text));
    assert_int_equal(jwk_parse(&k, text, strlen(text)), ERR_BAD_INPUT);
    assert_int_equal(k.jk_kind, 0);
    assert_null(k.jk_secret);
}

static void test_size_limit(void **state)
{
    char *text = malloc(JWK_MAX_BYTES + 2);
    size_t base = strlen(a1_public);
    struct jwk k;

    (void)state;
    assert_non_null(text);
    /* Exactly JWK_MAX_BYTES (the key then trailing blanks) parses; one byte more does not. */
    memcpy(text, a1_public, base);
    memset(text + base, ' ', JWK_MAX_BYTES + 1 - base);
    assert_int_equal(jwk_parse(&k, text, JWK_MAX_BYTES), ERR_OK);
    jwk_clear(&k);
    assert_int_equal(jwk_parse(&k, text, JWK_MAX_BYTES + 1), ERR_TOO_LARGE);
    assert_int_equal(jwk_parse(&k, NULL, 0), ERR_BAD_INPUT);
    free(text);
}

struct bad_case {
    const char *name;
    const char *text;
    enum err want;
};

#define EC_XY(x, y) "\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" x "\",\"y\":\"" y "\""

static const struct bad_case bad_cases[] = {
    {"not json", "{\"kty\":\"EC\"", ERR_BAD_INPUT},
    {"empty", "", ERR_BAD_INPUT},
    {"array",
     "["
     "{" EC_XY(A1_X, A1_Y) "}"
                           "]",
     ERR_BAD_INPUT},
    {"string", "\"EC\"", ERR_BAD_INPUT},
    {"trailing garbage", "{" EC_XY(A1_X, A1_Y) "} x", ERR_BAD_INPUT},
    {"two objects", "{" EC_XY(A1_X, A1_Y) "}{}", ERR_BAD_INPUT},
    {"kty RSA", "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", ERR_BAD_INPUT},
    {"kty missing", "{\"crv\":\"P-256\",\"x\":\"" A1_X "\",\"y\":\"" A1_Y "\"}", ERR_BAD_INPUT},
    {"kty number", "{\"kty\":1,\"crv\":\"P-256\",\"x\":\"" A1_X "\",\"y\":\"" A1_Y "\"}",
     ERR_BAD_INPUT},
    {"kty lowercase ec", "{\"kty\":\"ec\",\"crv\":\"P-256\",\"x\":\"" A1_X "\",\"y\":\"" A1_Y "\"}",
     ERR_BAD_INPUT},
    {"kty OCT", "{\"kty\":\"OCT\",\"k\":\"" OCT_K "\"}", ERR_BAD_INPUT},
    {"crv P-384", "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"" A1_X "\",\"y\":\"" A1_Y "\"}",
     ERR_BAD_INPUT},
    {"crv missing", "{\"kty\":\"EC\",\"x\":\"" A1_X "\",\"y\":\"" A1_Y "\"}", ERR_BAD_INPUT},
    {"crv X25519 on EC",
     "{\"kty\":\"EC\",\"crv\":\"X25519\",\"x\":\"" A1_X "\",\"y\":\"" A1_Y "\"}", ERR_BAD_INPUT},
    {"crv Ed25519 on OKP", "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" X_ALICE_X "\"}",
     ERR_BAD_INPUT},
    {"crv P-256 on OKP", "{\"kty\":\"OKP\",\"crv\":\"P-256\",\"x\":\"" X_ALICE_X "\"}",
     ERR_BAD_INPUT},
    {"x padded", "{" EC_XY(A1_X "=", A1_Y) "}", ERR_BAD_INPUT},
    {"y std alphabet", "{" EC_XY(A3_X, "x/FEzRu9m36HLN/tue659LNpXW6pCyStikYjKIWI5a0") "}",
     ERR_BAD_INPUT},
    {"x short", "{" EC_XY("MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D", A1_Y) "}", ERR_BAD_INPUT},
    {"x 31 bytes", "{" EC_XY("MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7A", A1_Y) "}",
     ERR_BAD_INPUT},
    {"x 33 bytes", "{" EC_XY(A1_X "A", A1_Y) "}", ERR_BAD_INPUT},
    {"x 45 chars", "{" EC_XY(A1_X "AA", A1_Y) "}", ERR_BAD_INPUT},
    {"y non-canonical bits", "{" EC_XY(A1_X, "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyN") "}",
     ERR_BAD_INPUT},
    {"y with space", "{" EC_XY(A1_X, "4Etl6SRW2YiLUrN5vfvVHuhp7x8Pxltm WlbbM4IFyM") "}",
     ERR_BAD_INPUT},
    {"point off curve", "{" EC_XY(A1_X, "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyI") "}",
     ERR_BAD_INPUT},
    {"point zero",
     "{" EC_XY("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") "}",
     ERR_BAD_INPUT},
    {"x and y swapped", "{" EC_XY(A1_Y, A1_X) "}", ERR_BAD_INPUT},
    {"y missing", "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A1_X "\"}", ERR_BAD_INPUT},
    {"duplicate kty", "{\"kty\":\"EC\"," EC_XY(A1_X, A1_Y) "}", ERR_BAD_INPUT},
    {"duplicate x", "{" EC_XY(A1_X, A1_Y) ",\"x\":\"" A1_X "\"}", ERR_BAD_INPUT},
    {"duplicate d", "{" EC_XY(A1_X, A1_Y) ",\"d\":\"" A2_D "\",\"d\":\"" A2_D "\"}", ERR_BAD_INPUT},
    {"EC d mismatch", "{" EC_XY(A1_X, A1_Y) ",\"d\":\"" A3_D "\"}", ERR_BAD_INPUT},
    {"EC d zero", "{" EC_XY(A1_X, A1_Y) ",\"d\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
     ERR_BAD_INPUT},
    {"EC d short", "{" EC_XY(A1_X, A1_Y) ",\"d\":\"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eA\"}",
     ERR_BAD_INPUT},
    {"EC d number", "{" EC_XY(A1_X, A1_Y) ",\"d\":7}", ERR_BAD_INPUT},
    {"EC d null", "{" EC_XY(A1_X, A1_Y) ",\"d\":null}", ERR_BAD_INPUT},
    {"x number", "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":12,\"y\":\"" A1_Y "\"}", ERR_BAD_INPUT},
    {"y null", "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A1_X "\",\"y\":null}", ERR_BAD_INPUT},
    {"crv array", "{\"kty\":\"EC\",\"crv\":[\"P-256\"],\"x\":\"" A1_X "\",\"y\":\"" A1_Y "\"}",
     ERR_BAD_INPUT},
    {"EC alg RS256", "{" EC_XY(A1_X, A1_Y) ",\"alg\":\"RS256\"}", ERR_BAD_INPUT},
    {"EC alg es256", "{" EC_XY(A1_X, A1_Y) ",\"alg\":\"es256\"}", ERR_BAD_INPUT},
    {"EC alg number", "{" EC_XY(A1_X, A1_Y) ",\"alg\":256}", ERR_BAD_INPUT},
    {"kid number", "{" EC_XY(A1_X, A1_Y) ",\"kid\":1}", ERR_BAD_INPUT},
    {"kid empty", "{" EC_XY(A1_X, A1_Y) ",\"kid\":\"\"}", ERR_BAD_INPUT},
    {"kid control char", "{" EC_XY(A1_X, A1_Y) ",\"kid\":\"a\\u0001b\"}", ERR_BAD_INPUT},
    {"kid space", "{" EC_XY(A1_X, A1_Y) ",\"kid\":\"a b\"}", ERR_BAD_INPUT},
    {"kid non-ascii", "{" EC_XY(A1_X, A1_Y) ",\"kid\":\"caf\\u00e9\"}", ERR_BAD_INPUT},
    {"kid NUL", "{" EC_XY(A1_X, A1_Y) ",\"kid\":\"a\\u0000b\"}", ERR_BAD_INPUT},
    {"kid too long",
     "{" EC_XY(A1_X, A1_Y) ",\"kid\":\"0123456789012345678901234567890123456789012345678901234567"
                           "890123456789\"}",
     ERR_BAD_INPUT},
    {"use number", "{" EC_XY(A1_X, A1_Y) ",\"use\":1}", ERR_BAD_INPUT},
    {"key_ops string", "{" EC_XY(A1_X, A1_Y) ",\"key_ops\":\"sign\"}", ERR_BAD_INPUT},
    {"key_ops number item", "{" EC_XY(A1_X, A1_Y) ",\"key_ops\":[\"sign\",1]}", ERR_BAD_INPUT},
    {"ext string", "{\"kty\":\"oct\",\"k\":\"" OCT_K "\",\"ext\":\"true\"}", ERR_BAD_INPUT},
    {"OKP x missing", "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"d\":\"" X_ALICE_D "\"}",
     ERR_BAD_INPUT},
    {"OKP d mismatch",
     "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" X_BOB_X "\",\"d\":\"" X_ALICE_D "\"}",
     ERR_BAD_INPUT},
    {"OKP x short",
     "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTm\"}",
     ERR_BAD_INPUT},
    {"OKP x padded", "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" X_ALICE_X "=\"}",
     ERR_BAD_INPUT},
    {"OKP x std alphabet",
     "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo\"}",
     ERR_BAD_INPUT},
    {"OKP d number", "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" X_ALICE_X "\",\"d\":1}",
     ERR_BAD_INPUT},
    {"OKP alg number", "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" X_ALICE_X "\",\"alg\":1}",
     ERR_BAD_INPUT},
    {"oct k missing", "{\"kty\":\"oct\",\"alg\":\"A256GCM\"}", ERR_BAD_INPUT},
    {"oct k 31 bytes", "{\"kty\":\"oct\",\"k\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg\"}",
     ERR_BAD_INPUT},
    {"oct k 33 bytes", "{\"kty\":\"oct\",\"k\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\"}",
     ERR_BAD_INPUT},
    {"oct k padded", "{\"kty\":\"oct\",\"k\":\"" OCT_K "=\"}", ERR_BAD_INPUT},
    {"oct k number", "{\"kty\":\"oct\",\"k\":32}", ERR_BAD_INPUT},
    {"oct alg A128GCM", "{\"kty\":\"oct\",\"k\":\"" OCT_K "\",\"alg\":\"A128GCM\"}", ERR_BAD_INPUT},
    {"oct alg HS256", "{\"kty\":\"oct\",\"k\":\"" OCT_K "\",\"alg\":\"HS256\"}", ERR_BAD_INPUT},
};

static void test_bad_jwks(void **state)
{
    struct jwk k;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        enum err got = jwk_parse(&k, bad_cases[i].text, strlen(bad_cases[i].text));
        if (got != bad_cases[i].want)
            fail_msg("case '%s': got %s, want %s", bad_cases[i].name, err_name(got),
                     err_name(bad_cases[i].want));
        /* Nothing to free after an error. */
        assert_int_equal(k.jk_kind, 0);
        assert_null(k.jk_ec);
        assert_null(k.jk_secret);
        assert_string_equal(k.jk_kid, "");
    }
}

/* Embedded NUL inside the text (not in a string): refused, not truncated. */
static void test_embedded_nul(void **state)
{
    char text[sizeof(a1_public) + 2];
    struct jwk k;

    (void)state;
    memcpy(text, a1_public, sizeof(a1_public)); /* with its NUL */
    text[sizeof(a1_public)] = ' ';
    assert_int_equal(jwk_parse(&k, text, sizeof(a1_public) + 1), ERR_BAD_INPUT);
}

/* jwk_from_json on a non-object and a NULL. */
static void test_from_json_types(void **state)
{
    struct jwk k;
    json_t *v = json_string("EC");

    (void)state;
    assert_int_equal(jwk_from_json(&k, v), ERR_BAD_INPUT);
    assert_int_equal(jwk_from_json(&k, NULL), ERR_BAD_INPUT);
    json_decref(v);
    assert_null(jwk_to_json(NULL, 0));
    jwk_clear(NULL);
}

/* Unknown members are ignored (RFC 7517 §4), known ones still checked. */
static void test_unknown_members_ignored(void **state)
{
    static const char text[] = "{" EC_XY(A1_X, A1_Y) ",\"x5t\":\"abc\",\"k\":7,\"ext\":false,"
                                                     "\"key_ops\":[\"verify\"],\"alg\":\"ES256\"}";
    struct jwk k;

    (void)state;
    assert_int_equal(jwk_parse(&k, text, strlen(text)), ERR_OK);
    assert_int_equal(k.jk_kind, JWK_EC_P256);
    jwk_clear(&k);
}

/* Every allocation failure of our own gives ERR_NOMEM and leaks nothing. */
static void test_allocation_failures(void **state)
{
    struct jwk k;
    long n;
    enum err rc;

    (void)state;
    for (n = 0;; n++) {
        mem_fail_after(n);
        rc = jwk_parse(&k, a2_private, strlen(a2_private));
        mem_fail_after(-1);
        if (rc == ERR_OK)
            break;
        assert_int_equal(rc, ERR_NOMEM);
        assert_null(k.jk_ec);
    }
    assert_true(n >= 1);
    assert_int_equal(ecdsa_p256_has_private(k.jk_ec), 1);
    jwk_clear(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7517_a1_public),
        cmocka_unit_test(test_rfc7517_a2_private),
        cmocka_unit_test(test_x25519_rfc8037),
        cmocka_unit_test(test_oct),
        cmocka_unit_test(test_generated_round_trip),
        cmocka_unit_test(test_kid_limits),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_bad_jwks),
        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_from_json_types),
        cmocka_unit_test(test_unknown_members_ignored),
        cmocka_unit_test(test_allocation_failures),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL);
}
