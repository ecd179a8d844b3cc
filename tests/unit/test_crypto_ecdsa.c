/* test_crypto_ecdsa.c - ES256 keys and raw r||s signatures, with RFC 7515 A.3. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "crypto/crypto.h"
#include "crypto/ecdsa.h"

/* RFC 7515 appendix A.3.1: the P-256 key (JWK members x, y, d). */
static const char a3_x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
static const char a3_y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
static const char a3_d[] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
/* RFC 7515 A.3.1: the JWS Signing Input (ASCII) and the signature, base64url. */
static const char a3_input[] = "eyJhbGciOiJFUzI1NiJ9"
                               ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcG"
                               "xlLmNvbS9pc19yb290Ijp0cnVlfQ";
static const char a3_sig[] =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
/* RFC 7515 A.3.1 also lists R and S as octet arrays. */
static const unsigned char a3_r[32] = {14,  209, 33, 83,  121, 99,  108, 72,  60,  47, 127,
                                       21,  88,  7,  212, 2,   163, 178, 40,  3,   58, 249,
                                       124, 126, 23, 129, 154, 195, 22,  158, 166, 101};
static const unsigned char a3_s[32] = {197, 10,  7,   211, 140, 60,  112, 229, 216, 241, 45,
                                       175, 8,   74,  84,  128, 166, 101, 144, 197, 242, 147,
                                       80,  154, 143, 63,  127, 138, 131, 163, 84,  213};
/* RFC 7517 appendix A.2: a different P-256 private scalar. */
static const char a2_d[] = "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE";

/* The order n of P-256 (FIPS 186-4 D.1.2.3), big-endian. */
static const unsigned char p256_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

static void b64u(unsigned char *out, size_t n, const char *s)
{
    size_t got = 0;

    assert_int_equal(codec_b64_decode(out, n, &got, s, strlen(s), CODEC_B64_URL), ERR_OK);
    assert_int_equal(got, n);
}

static int group_setup(void **state)
{
    (void)state;
    return crypto_init() == ERR_OK ? 0 : -1;
}

static void test_generate_sign_verify(void **state)
{
    static const char msg[] = "attack at dawn";
    unsigned char sig[ECDSA_P256_SIG_BYTES], sig2[ECDSA_P256_SIG_BYTES];
    struct ec_key *k = NULL, *pub = NULL;

    (void)state;
    assert_int_equal(ecdsa_p256_generate(&k), ERR_OK);
    assert_non_null(k);
    assert_int_equal(ecdsa_p256_has_private(k), 1);
    assert_int_equal(ecdsa_p256_sign(k, msg, strlen(msg), sig), ERR_OK);
    assert_int_equal(ecdsa_p256_verify(k, msg, strlen(msg), sig, sizeof(sig)), ERR_OK);

    pub = ecdsa_p256_public_dup(k);
    assert_non_null(pub);
    assert_int_equal(ecdsa_p256_has_private(pub), 0);
    assert_int_equal(ecdsa_p256_verify(pub, msg, strlen(msg), sig, sizeof(sig)), ERR_OK);
    /* A public key cannot sign; the output is zeroed. */
    memset(sig2, 0xaa, sizeof(sig2));
    assert_int_equal(ecdsa_p256_sign(pub, msg, strlen(msg), sig2), ERR_CRYPTO);
    assert_int_equal(sig2[0], 0);
    /* ECDSA is randomised: a second signature differs but verifies too. */
    assert_int_equal(ecdsa_p256_sign(k, msg, strlen(msg), sig2), ERR_OK);
    assert_memory_not_equal(sig, sig2, sizeof(sig));
    assert_int_equal(ecdsa_p256_verify(pub, msg, strlen(msg), sig2, sizeof(sig2)), ERR_OK);
    /* Empty message. */
    assert_int_equal(ecdsa_p256_sign(k, "", 0, sig), ERR_OK);
    assert_int_equal(ecdsa_p256_verify(pub, "", 0, sig, sizeof(sig)), ERR_OK);
    assert_int_equal(ecdsa_p256_has_private(NULL), 0);
    ecdsa_p256_free(pub);
    ecdsa_p256_free(k);
    ecdsa_p256_free(NULL);
}

static void test_raw_round_trip(void **state)
{
    static const char msg[] = "round trip";
    unsigned char x[32], y[32], x2[32], y2[32], sig[64];
    unsigned char *d = secmem_alloc(32), *d2 = secmem_alloc(32);
    struct ec_key *k = NULL, *k2 = NULL, *pub = NULL;

    (void)state;
    assert_non_null(d);
    assert_non_null(d2);
    assert_int_equal(ecdsa_p256_generate(&k), ERR_OK);
    assert_int_equal(ecdsa_p256_to_raw(k, x, y, d), ERR_OK);
    assert_int_equal(ecdsa_p256_from_raw(&k2, x, y, d), ERR_OK);
    assert_int_equal(ecdsa_p256_has_private(k2), 1);
    assert_int_equal(ecdsa_p256_to_raw(k2, x2, y2, d2), ERR_OK);
    assert_memory_equal(x, x2, 32);
    assert_memory_equal(y, y2, 32);
    assert_memory_equal(d, d2, 32);
    /* The imported pair signs for the original's public key. */
    assert_int_equal(ecdsa_p256_sign(k2, msg, strlen(msg), sig), ERR_OK);
    assert_int_equal(ecdsa_p256_verify(k, msg, strlen(msg), sig, 64), ERR_OK);
    /* Public-only import; asking it for d is refused. */
    assert_int_equal(ecdsa_p256_from_raw(&pub, x, y, NULL), ERR_OK);
    assert_int_equal(ecdsa_p256_has_private(pub), 0);
    assert_int_equal(ecdsa_p256_to_raw(pub, x2, y2, NULL), ERR_OK);
    assert_memory_equal(x, x2, 32);
    assert_int_equal(ecdsa_p256_to_raw(pub, x2, y2, d2), ERR_BAD_INPUT);
    assert_int_equal(ecdsa_p256_verify(pub, msg, strlen(msg), sig, 64), ERR_OK);
    ecdsa_p256_free(pub);
    ecdsa_p256_free(k2);
    ecdsa_p256_free(k);
    secmem_free(d);
    secmem_free(d2);
}

static void test_point_not_on_curve(void **state)
{
    unsigned char x[32], y[32];
    struct ec_key *k = (struct ec_key *)&k; /* must be reset to NULL */

    (void)state;
    b64u(x, 32, a3_x);
    b64u(y, 32, a3_y);
    y[31] ^= 0x01;
    assert_int_equal(ecdsa_p256_from_raw(&k, x, y, NULL), ERR_BAD_INPUT);
    assert_null(k);
    /* (0, 0) and coordinates >= p are not points either. */
    memset(x, 0, 32);
    memset(y, 0, 32);
    assert_int_equal(ecdsa_p256_from_raw(&k, x, y, NULL), ERR_BAD_INPUT);
    assert_null(k);
    memset(x, 0xff, 32);
    b64u(y, 32, a3_y);
    assert_int_equal(ecdsa_p256_from_raw(&k, x, y, NULL), ERR_BAD_INPUT);
    assert_null(k);
}

static void test_mismatched_d(void **state)
{
    unsigned char x[32], y[32];
    unsigned char *d = secmem_alloc(32);
    struct ec_key *k = NULL;

    (void)state;
    assert_non_null(d);
    b64u(x, 32, a3_x);
    b64u(y, 32, a3_y);
    b64u(d, 32, a2_d); /* RFC 7517's scalar with RFC 7515's point */
    assert_int_equal(ecdsa_p256_from_raw(&k, x, y, d), ERR_BAD_INPUT);
    assert_null(k);
    memset(d, 0, 32); /* zero */
    assert_int_equal(ecdsa_p256_from_raw(&k, x, y, d), ERR_BAD_INPUT);
    memcpy(d, p256_n, 32); /* n */
    assert_int_equal(ecdsa_p256_from_raw(&k, x, y, d), ERR_BAD_INPUT);
    memset(d, 0xff, 32); /* > n */
    assert_int_equal(ecdsa_p256_from_raw(&k, x, y, d), ERR_BAD_INPUT);
    assert_null(k);
    /* The right scalar is accepted. */
    b64u(d, 32, a3_d);
    assert_int_equal(ecdsa_p256_from_raw(&k, x, y, d), ERR_OK);
    ecdsa_p256_free(k);
    secmem_free(d);
}

static void test_bad_signatures(void **state)
{
    static const char msg[] = "the message";
    unsigned char sig[64], bad[66];
    struct ec_key *k = NULL;
    size_t i;

    (void)state;
    assert_int_equal(ecdsa_p256_generate(&k), ERR_OK);
    assert_int_equal(ecdsa_p256_sign(k, msg, strlen(msg), sig), ERR_OK);
    assert_int_equal(ecdsa_p256_verify(k, msg, strlen(msg), sig, 64), ERR_OK);
    /* Every single flipped bit is refused (a sample: one per byte, rotating). */
    for (i = 0; i < 64; i++) {
        memcpy(bad, sig, 64);
        bad[i] ^= (unsigned char)(1u << (i % 8));
        assert_int_equal(ecdsa_p256_verify(k, msg, strlen(msg), bad, 64), ERR_CRYPTO);
    }
    /* Wrong message, one byte shorter. */
    assert_int_equal(ecdsa_p256_verify(k, msg, strlen(msg) - 1, sig, 64), ERR_CRYPTO);
    assert_int_equal(ecdsa_p256_verify(k, "the massage", 11, sig, 64), ERR_CRYPTO);
    /* 63 and 65 bytes (also with the right 64 as prefix), 0 bytes, NULL. */
    assert_int_equal(ecdsa_p256_verify(k, msg, strlen(msg), sig, 63), ERR_CRYPTO);
    memcpy(bad, sig, 64);
    bad[64] = 0;
    assert_int_equal(ecdsa_p256_verify(k, msg, strlen(msg), bad, 65), ERR_CRYPTO);
    assert_int_equal(ecdsa_p256_verify(k, msg, strlen(msg), sig, 0), ERR_CRYPTO);
    assert_int_equal(ecdsa_p256_verify(k, msg, strlen(msg), NULL, 64), ERR_CRYPTO);
    /* r = 0, s = 0, both 0, r = n, s = n. */
    memcpy(bad, sig, 64);
    memset(bad, 0, 32);
    assert_int_equal(ecdsa_p256_verify(k, msg, strlen(msg), bad, 64), ERR_CRYPTO);
    memcpy(bad, sig, 64);
    memset(bad + 32, 0, 32);
    assert_int_equal(ecdsa_p256_verify(k, msg, strlen(msg), bad, 64), ERR_CRYPTO);
    memset(bad, 0, 64);
    assert_int_equal(ecdsa_p256_verify(k, msg, strlen(msg), bad, 64), ERR_CRYPTO);
    memcpy(bad, p256_n, 32);
    memcpy(bad + 32, sig + 32, 32);
    assert_int_equal(ecdsa_p256_verify(k, msg, strlen(msg), bad, 64), ERR_CRYPTO);
    memcpy(bad, sig, 32);
    memcpy(bad + 32, p256_n, 32);
    assert_int_equal(ecdsa_p256_verify(k, msg, strlen(msg), bad, 64), ERR_CRYPTO);
    /* A NULL key verifies nothing. */
    assert_int_equal(ecdsa_p256_verify(NULL, msg, strlen(msg), sig, 64), ERR_CRYPTO);
    ecdsa_p256_free(k);
}

/* The high-s twin (r, n - s) is also a valid ECDSA signature; ES256 accepts it, as OpenSSL. */
static void test_high_s_twin(void **state)
{
    static const char msg[] = "malleable";
    unsigned char sig[64], twin[64];
    struct ec_key *k = NULL;
    unsigned borrow = 0;
    int i;

    (void)state;
    assert_int_equal(ecdsa_p256_generate(&k), ERR_OK);
    assert_int_equal(ecdsa_p256_sign(k, msg, strlen(msg), sig), ERR_OK);
    memcpy(twin, sig, 32);
    for (i = 31; i >= 0; i--) {
        unsigned v = (unsigned)p256_n[i] - sig[32 + i] - borrow;
        twin[32 + i] = (unsigned char)v;
        borrow = (v >> 8) & 1u;
    }
    assert_int_equal(borrow, 0);
    assert_int_equal(ecdsa_p256_verify(k, msg, strlen(msg), twin, 64), ERR_OK);
    ecdsa_p256_free(k);
}

static void test_rfc7515_a3(void **state)
{
    unsigned char x[32], y[32], sig[64], x2[32], y2[32];
    unsigned char *d = secmem_alloc(32), *d2 = secmem_alloc(32);
    struct ec_key *pub = NULL, *pair = NULL;

    (void)state;
    assert_non_null(d);
    assert_non_null(d2);
    b64u(x, 32, a3_x);
    b64u(y, 32, a3_y);
    b64u(d, 32, a3_d);
    b64u(sig, 64, a3_sig);
    assert_memory_equal(sig, a3_r, 32);
    assert_memory_equal(sig + 32, a3_s, 32);

    assert_int_equal(ecdsa_p256_from_raw(&pub, x, y, NULL), ERR_OK);
    assert_int_equal(ecdsa_p256_verify(pub, a3_input, strlen(a3_input), sig, 64), ERR_OK);
    /* One character of the signing input changed: refused. */
    {
        char in2[sizeof(a3_input)];
        memcpy(in2, a3_input, sizeof(a3_input));
        in2[5] = 'X';
        assert_int_equal(ecdsa_p256_verify(pub, in2, strlen(in2), sig, 64), ERR_CRYPTO);
    }

    /* The published d matches the published point, and exports unchanged. */
    assert_int_equal(ecdsa_p256_from_raw(&pair, x, y, d), ERR_OK);
    assert_int_equal(ecdsa_p256_to_raw(pair, x2, y2, d2), ERR_OK);
    assert_memory_equal(x2, x, 32);
    assert_memory_equal(y2, y, 32);
    assert_memory_equal(d2, d, 32);
    /* A fresh signature with it verifies under the published public key. */
    assert_int_equal(ecdsa_p256_sign(pair, a3_input, strlen(a3_input), sig), ERR_OK);
    assert_int_equal(ecdsa_p256_verify(pub, a3_input, strlen(a3_input), sig, 64), ERR_OK);

    ecdsa_p256_free(pub);
    ecdsa_p256_free(pair);
    secmem_free(d);
    secmem_free(d2);
}

/* Every allocation failure gives ERR_NOMEM and leaks nothing (the ASan build checks). */
static void test_allocation_failures(void **state)
{
    unsigned char x[32], y[32];
    struct ec_key *k = NULL;
    long n;
    enum err rc;

    (void)state;
    b64u(x, 32, a3_x);
    b64u(y, 32, a3_y);
    for (n = 0;; n++) {
        mem_fail_after(n);
        rc = ecdsa_p256_generate(&k);
        mem_fail_after(-1);
        if (rc == ERR_OK)
            break;
        assert_int_equal(rc, ERR_NOMEM);
        assert_null(k);
    }
    ecdsa_p256_free(k);
    for (n = 0;; n++) {
        mem_fail_after(n);
        rc = ecdsa_p256_from_raw(&k, x, y, NULL);
        mem_fail_after(-1);
        if (rc == ERR_OK)
            break;
        assert_int_equal(rc, ERR_NOMEM);
        assert_null(k);
    }
    assert_true(n >= 1);
    ecdsa_p256_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_sign_verify), cmocka_unit_test(test_raw_round_trip),
        cmocka_unit_test(test_point_not_on_curve),   cmocka_unit_test(test_mismatched_d),
        cmocka_unit_test(test_bad_signatures),       cmocka_unit_test(test_high_s_twin),
        cmocka_unit_test(test_rfc7515_a3),           cmocka_unit_test(test_allocation_failures),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL);
}
