/*
 * test_crypto_x25519.c - X25519 against RFC 7748 section 5.2 (the two single vectors and
 * the 1 and 1,000 iteration results; the 1,000,000 one is skipped for time) and section 6.1
 * (Alice and Bob), low-order points, and sealed-box key wrapping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/codec.h"
#include "crypto/crypto.h"
#include "crypto/x25519.h"

/* Decodes exactly X25519_KEY_BYTES of hex s into out. */
static void unhex32(unsigned char out[X25519_KEY_BYTES], const char *s)
{
    size_t n = 0;

    assert_int_equal(codec_hex_decode(out, X25519_KEY_BYTES, &n, s, strlen(s)), ERR_OK);
    assert_int_equal(n, X25519_KEY_BYTES);
}

static int all_zero(const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* RFC 7748 section 5.2, the two X25519 test vectors (input scalar, input u, output u). */
static const struct {
    const char *scalar, *u, *out;
} rfc7748_vectors[] = {
    {"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
     "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
     "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
    /* The u here has its top bit set: X25519 must ignore it (RFC 7748 section 5). */
    {"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
     "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
     "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
};

static void test_rfc7748_vectors(void **state)
{
    unsigned char k[32], u[32], want[32], out[32];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(rfc7748_vectors) / sizeof(rfc7748_vectors[0]); i++) {
        unhex32(k, rfc7748_vectors[i].scalar);
        unhex32(u, rfc7748_vectors[i].u);
        unhex32(want, rfc7748_vectors[i].out);
        assert_int_equal(x25519_scalarmult(out, k, u), ERR_OK);
        assert_memory_equal(out, want, 32);
    }
}

/*
 * RFC 7748 section 5.2 iterations: k = u = 9; repeatedly (k, u) = (X25519(k, u), k).
 * After 1 iteration and after 1,000 iterations k has the published values.
 */
static void test_rfc7748_iterations(void **state)
{
    unsigned char k[32], u[32], r[32], want[32];
    int i;

    (void)state;
    memset(k, 0, sizeof(k));
    k[0] = 9;
    memcpy(u, k, sizeof(u));
    for (i = 1; i <= 1000; i++) {
        assert_int_equal(x25519_scalarmult(r, k, u), ERR_OK);
        memcpy(u, k, sizeof(u));
        memcpy(k, r, sizeof(k));
        if (i == 1) {
            unhex32(want, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
            assert_memory_equal(k, want, 32);
        }
    }
    unhex32(want, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
    assert_memory_equal(k, want, 32);
}

/* RFC 7748 section 6.1: Alice's and Bob's key pairs and their shared secret. */
static void test_rfc7748_diffie_hellman(void **state)
{
    unsigned char a_sk[32], a_pk[32], b_sk[32], b_pk[32], want[32], k1[32], k2[32];

    (void)state;
    unhex32(a_sk, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    unhex32(b_sk, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    assert_int_equal(x25519_public_from_secret(a_pk, a_sk), ERR_OK);
    unhex32(want, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    assert_memory_equal(a_pk, want, 32);
    assert_int_equal(x25519_public_from_secret(b_pk, b_sk), ERR_OK);
    unhex32(want, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    assert_memory_equal(b_pk, want, 32);
    assert_int_equal(x25519_scalarmult(k1, a_sk, b_pk), ERR_OK);
    assert_int_equal(x25519_scalarmult(k2, b_sk, a_pk), ERR_OK);
    unhex32(want, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    assert_memory_equal(k1, want, 32);
    assert_memory_equal(k2, want, 32);
}

/*
 * Points of small order: X25519 with them yields 0 for every scalar (RFC 7748 section 6.1
 * "check for the all-zero value"), and libsodium refuses them outright.
 */
static const char *const low_order_points[] = {
    /* 0 */
    "0000000000000000000000000000000000000000000000000000000000000000",
    /* 1 */
    "0100000000000000000000000000000000000000000000000000000000000000",
    /* a point of order 8 */
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    /* p - 1 (order 2) */
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

static void test_low_order_points(void **state)
{
    unsigned char sk[32], pk[32], u[32], out[32];
    size_t i;

    (void)state;
    unhex32(sk, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    for (i = 0; i < sizeof(low_order_points) / sizeof(low_order_points[0]); i++) {
        unhex32(u, low_order_points[i]);
        memset(out, 0xEE, sizeof(out));
        assert_int_equal(x25519_scalarmult(out, sk, u), ERR_CRYPTO);
        assert_true(all_zero(out, sizeof(out)));
    }
    /* A sealed box whose ephemeral public key is a low-order point does not open. */
    assert_int_equal(x25519_public_from_secret(pk, sk), ERR_OK);
    {
        unsigned char box[X25519_SEAL_OVERHEAD + 8], msg[8];
        size_t n;

        memset(box, 0, sizeof(box)); /* ephemeral pk = 0 */
        assert_int_equal(x25519_open(msg, sizeof(msg), &n, box, sizeof(box), pk, sk), ERR_CRYPTO);
        unhex32(box, low_order_points[2]);
        assert_int_equal(x25519_open(msg, sizeof(msg), &n, box, sizeof(box), pk, sk), ERR_CRYPTO);
    }
}

static void test_keypair(void **state)
{
    unsigned char pk[32], pk2[32], pk3[32], *sk, *sk2;

    (void)state;
    sk = secmem_alloc(X25519_KEY_BYTES);
    sk2 = secmem_alloc(X25519_KEY_BYTES);
    assert_non_null(sk);
    assert_non_null(sk2);
    assert_int_equal(x25519_keypair(pk, sk), ERR_OK);
    assert_int_equal(x25519_keypair(pk2, sk2), ERR_OK);
    assert_memory_not_equal(pk, pk2, 32);
    assert_memory_not_equal(sk, sk2, 32);
    assert_int_equal(x25519_public_from_secret(pk3, sk), ERR_OK);
    assert_memory_equal(pk, pk3, 32);
    secmem_free(sk);
    secmem_free(sk2);
}

static void test_seal_open(void **state)
{
    static const char msg[] = "0123456789abcdef0123456789abcdef"; /* a 32-byte vault key */
    unsigned char pk[32], *sk, box[X25519_SEAL_OVERHEAD + 32], box2[sizeof(box)];
    unsigned char *out;
    size_t boxlen = 99, box2len, outlen = 99;

    (void)state;
    sk = secmem_alloc(X25519_KEY_BYTES);
    out = secmem_alloc(32);
    assert_non_null(sk);
    assert_non_null(out);
    assert_int_equal(x25519_keypair(pk, sk), ERR_OK);
    assert_int_equal(x25519_seal(box, sizeof(box), &boxlen, (const unsigned char *)msg, 32, pk),
                     ERR_OK);
    assert_int_equal(boxlen, 32 + X25519_SEAL_OVERHEAD);
    assert_int_equal(x25519_seal(box2, sizeof(box2), &box2len, (const unsigned char *)msg, 32, pk),
                     ERR_OK);
    /* A fresh ephemeral key every time. */
    assert_memory_not_equal(box, box2, X25519_KEY_BYTES);
    assert_memory_not_equal(box + 32, box2 + 32, boxlen - 32);
    assert_int_equal(x25519_open(out, 32, &outlen, box, boxlen, pk, sk), ERR_OK);
    assert_int_equal(outlen, 32);
    assert_memory_equal(out, msg, 32);
    assert_int_equal(x25519_open(out, 32, &outlen, box2, box2len, pk, sk), ERR_OK);
    assert_memory_equal(out, msg, 32);
    secmem_free(out);
    secmem_free(sk);
}

static void test_seal_open_empty(void **state)
{
    unsigned char pk[32], sk[32], box[X25519_SEAL_OVERHEAD];
    size_t boxlen, outlen = 99;

    (void)state;
    assert_int_equal(x25519_keypair(pk, sk), ERR_OK);
    assert_int_equal(x25519_seal(box, sizeof(box), &boxlen, NULL, 0, pk), ERR_OK);
    assert_int_equal(boxlen, X25519_SEAL_OVERHEAD);
    assert_int_equal(x25519_open(NULL, 0, &outlen, box, boxlen, pk, sk), ERR_OK);
    assert_int_equal(outlen, 0);
    secmem_wipe(sk, sizeof(sk));
}

static void test_open_rejects(void **state)
{
    static const unsigned char msg[32] = {1, 2, 3, 4, 5, 6, 7, 8};
    unsigned char pk[32], sk[32], pk2[32], sk2[32], box[X25519_SEAL_OVERHEAD + 32], out[32];
    size_t boxlen, outlen, i;

    (void)state;
    assert_int_equal(x25519_keypair(pk, sk), ERR_OK);
    assert_int_equal(x25519_keypair(pk2, sk2), ERR_OK);
    assert_int_equal(x25519_seal(box, sizeof(box), &boxlen, msg, sizeof(msg), pk), ERR_OK);

    /* Sealed to another key. */
    memset(out, 0xEE, sizeof(out));
    outlen = 99;
    assert_int_equal(x25519_open(out, sizeof(out), &outlen, box, boxlen, pk2, sk2), ERR_CRYPTO);
    assert_int_equal(outlen, 0);
    assert_true(all_zero(out, sizeof(out)));
    /* The right secret key with the wrong public key (it is part of the nonce). */
    assert_int_equal(x25519_open(out, sizeof(out), &outlen, box, boxlen, pk2, sk), ERR_CRYPTO);

    /* Every flipped byte: ephemeral key, MAC, ciphertext. */
    for (i = 0; i < boxlen; i++) {
        box[i] ^= 0x20;
        memset(out, 0xEE, sizeof(out));
        assert_int_equal(x25519_open(out, sizeof(out), &outlen, box, boxlen, pk, sk), ERR_CRYPTO);
        assert_true(all_zero(out, sizeof(out)));
        box[i] ^= 0x20;
    }
    /* Truncated: by one byte, to the bare overhead, and below it. */
    assert_int_equal(x25519_open(out, sizeof(out), &outlen, box, boxlen - 1, pk, sk), ERR_CRYPTO);
    assert_int_equal(x25519_open(out, sizeof(out), &outlen, box, X25519_SEAL_OVERHEAD, pk, sk),
                     ERR_CRYPTO);
    for (i = 0; i < X25519_SEAL_OVERHEAD; i++)
        assert_int_equal(x25519_open(out, sizeof(out), &outlen, box, i, pk, sk), ERR_CRYPTO);
    /* Output capacity. */
    assert_int_equal(x25519_open(out, sizeof(out) - 1, &outlen, box, boxlen, pk, sk),
                     ERR_TOO_LARGE);
    /* Still fine untouched. */
    assert_int_equal(x25519_open(out, sizeof(out), &outlen, box, boxlen, pk, sk), ERR_OK);
    assert_memory_equal(out, msg, sizeof(msg));
    secmem_wipe(sk, sizeof(sk));
    secmem_wipe(sk2, sizeof(sk2));
}

static void test_seal_cap(void **state)
{
    static const unsigned char msg[32] = {0};
    unsigned char pk[32], sk[32], box[X25519_SEAL_OVERHEAD + 32];
    size_t boxlen = 99;

    (void)state;
    assert_int_equal(x25519_keypair(pk, sk), ERR_OK);
    assert_int_equal(x25519_seal(box, sizeof(box) - 1, &boxlen, msg, sizeof(msg), pk),
                     ERR_TOO_LARGE);
    assert_int_equal(boxlen, 0);
    assert_int_equal(x25519_seal(box, SIZE_MAX, &boxlen, msg, SIZE_MAX - 10, pk), ERR_TOO_LARGE);
    secmem_wipe(sk, sizeof(sk));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7748_vectors),
        cmocka_unit_test(test_rfc7748_iterations),
        cmocka_unit_test(test_rfc7748_diffie_hellman),
        cmocka_unit_test(test_low_order_points),
        cmocka_unit_test(test_keypair),
        cmocka_unit_test(test_seal_open),
        cmocka_unit_test(test_seal_open_empty),
        cmocka_unit_test(test_open_rejects),
        cmocka_unit_test(test_seal_cap),
    };

    assert_int_equal(crypto_init(), ERR_OK);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
