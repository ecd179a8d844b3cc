/*
 * test_hmac.c - HMAC-SHA-1 against RFC 2202 section 3 test cases 1-3, and HMAC-SHA-256 /
 * HMAC-SHA-512 against RFC 4231 section 4 test cases 1, 2 and 6; then the argument checks
 * of hmac_compute (output capacity, NULL with a length, unknown algorithm).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/codec.h"
#include "crypto/hmac.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Decodes hex s into out (at most cap bytes); returns the length. */
static size_t unhex(unsigned char *out, size_t cap, const char *s)
{
    size_t n = 0;

    assert_int_equal(codec_hex_decode(out, cap, &n, s, strlen(s)), ERR_OK);
    return n;
}

/*
 * One published case: key and data are either text or a byte repeated; mac is the
 * published value in hex.
 */
struct hmac_vector {
    const char *hv_name;
    enum hmac_alg hv_alg;
    const char *hv_key_text; /* NULL: hv_key_byte repeated hv_key_len times */
    unsigned char hv_key_byte;
    size_t hv_key_len;
    const char *hv_data_text; /* NULL: hv_data_byte repeated hv_data_len times */
    unsigned char hv_data_byte;
    size_t hv_data_len;
    const char *hv_mac_hex;
};

static const char rfc4231_tc6_data[] = "Test Using Larger Than Block-Size Key - Hash Key First";

static const struct hmac_vector hmac_vectors[] = {
    /* RFC 2202 section 3 (HMAC-SHA-1), test cases 1-3. */
    {"rfc2202 tc1", HMAC_SHA1, NULL, 0x0b, 20, "Hi There", 0, 0,
     "b617318655057264e28bc0b6fb378c8ef146be00"},
    {"rfc2202 tc2", HMAC_SHA1, "Jefe", 0, 0, "what do ya want for nothing?", 0, 0,
     "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
    {"rfc2202 tc3", HMAC_SHA1, NULL, 0xaa, 20, NULL, 0xdd, 50,
     "125d7342b9ac11cd91a39af48aa17b4f63f175d3"},
    /* RFC 4231 section 4.2, 4.3, 4.7 (HMAC-SHA-256). */
    {"rfc4231 tc1 sha256", HMAC_SHA256, NULL, 0x0b, 20, "Hi There", 0, 0,
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {"rfc4231 tc2 sha256", HMAC_SHA256, "Jefe", 0, 0, "what do ya want for nothing?", 0, 0,
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {"rfc4231 tc6 sha256", HMAC_SHA256, NULL, 0xaa, 131, rfc4231_tc6_data, 0, 0,
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    /* The same cases, HMAC-SHA-512. */
    {"rfc4231 tc1 sha512", HMAC_SHA512, NULL, 0x0b, 20, "Hi There", 0, 0,
     "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
     "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
    {"rfc4231 tc2 sha512", HMAC_SHA512, "Jefe", 0, 0, "what do ya want for nothing?", 0, 0,
     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
     "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
    {"rfc4231 tc6 sha512", HMAC_SHA512, NULL, 0xaa, 131, rfc4231_tc6_data, 0, 0,
     "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
     "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
};

static void test_hmac_vectors(void **state)
{
    unsigned char key[256], data[256], want[HMAC_MAX_BYTES], got[HMAC_MAX_BYTES + 8];
    size_t i, keylen, datalen, wantlen, gotlen;

    (void)state;
    for (i = 0; i < NELEM(hmac_vectors); i++) {
        const struct hmac_vector *v = &hmac_vectors[i];

        print_message("%s\n", v->hv_name);
        if (v->hv_key_text) {
            keylen = strlen(v->hv_key_text);
            memcpy(key, v->hv_key_text, keylen);
        } else {
            keylen = v->hv_key_len;
            memset(key, v->hv_key_byte, keylen);
        }
        if (v->hv_data_text) {
            datalen = strlen(v->hv_data_text);
            memcpy(data, v->hv_data_text, datalen);
        } else {
            datalen = v->hv_data_len;
            memset(data, v->hv_data_byte, datalen);
        }
        wantlen = unhex(want, sizeof(want), v->hv_mac_hex);
        assert_int_equal(wantlen, hmac_size(v->hv_alg));

        /* A larger buffer: exactly hmac_size bytes are written, nothing after them. */
        memset(got, 0x5a, sizeof(got));
        gotlen = 999;
        assert_int_equal(
            hmac_compute(v->hv_alg, got, sizeof(got), &gotlen, key, keylen, data, datalen), ERR_OK);
        assert_int_equal(gotlen, wantlen);
        assert_memory_equal(got, want, wantlen);
        assert_int_equal(got[wantlen], 0x5a);

        /* An exact-size buffer works too. */
        memset(got, 0, sizeof(got));
        assert_int_equal(hmac_compute(v->hv_alg, got, wantlen, &gotlen, key, keylen, data, datalen),
                         ERR_OK);
        assert_memory_equal(got, want, wantlen);
    }
}

static void test_hmac_sizes(void **state)
{
    (void)state;
    assert_int_equal(hmac_size(HMAC_SHA1), 20);
    assert_int_equal(hmac_size(HMAC_SHA256), 32);
    assert_int_equal(hmac_size(HMAC_SHA512), 64);
    assert_int_equal(hmac_size((enum hmac_alg)7), 0);
    assert_int_equal(hmac_size((enum hmac_alg) - 1), 0);
}

static void test_hmac_small_output(void **state)
{
    static const enum hmac_alg algs[] = {HMAC_SHA1, HMAC_SHA256, HMAC_SHA512};
    unsigned char out[HMAC_MAX_BYTES];
    size_t i, outlen;

    (void)state;
    for (i = 0; i < NELEM(algs); i++) {
        memset(out, 0x77, sizeof(out));
        outlen = 123;
        assert_int_equal(
            hmac_compute(algs[i], out, hmac_size(algs[i]) - 1, &outlen, "k", 1, "m", 1),
            ERR_TOO_LARGE);
        assert_int_equal(outlen, 0);
        assert_int_equal(out[0], 0x77); /* untouched */
        assert_int_equal(hmac_compute(algs[i], out, 0, &outlen, "k", 1, "m", 1), ERR_TOO_LARGE);
    }
}

static void test_hmac_bad_arguments(void **state)
{
    unsigned char out[HMAC_MAX_BYTES], ref[HMAC_MAX_BYTES];
    size_t outlen = 5, reflen = 0;

    (void)state;
    /* Unknown algorithm. */
    assert_int_equal(hmac_compute((enum hmac_alg)3, out, sizeof(out), &outlen, "k", 1, "m", 1),
                     ERR_CRYPTO);
    assert_int_equal(outlen, 0);
    /* NULL with a length. */
    outlen = 5;
    assert_int_equal(hmac_compute(HMAC_SHA1, out, sizeof(out), &outlen, NULL, 1, "m", 1),
                     ERR_CRYPTO);
    assert_int_equal(outlen, 0);
    assert_int_equal(hmac_compute(HMAC_SHA1, out, sizeof(out), &outlen, "k", 1, NULL, 1),
                     ERR_CRYPTO);
    assert_int_equal(hmac_compute(HMAC_SHA1, NULL, sizeof(out), &outlen, "k", 1, "m", 1),
                     ERR_CRYPTO);
    assert_int_equal(hmac_compute(HMAC_SHA1, out, sizeof(out), NULL, "k", 1, "m", 1), ERR_CRYPTO);
    /* NULL with a zero length is the empty string. */
    assert_int_equal(hmac_compute(HMAC_SHA256, ref, sizeof(ref), &reflen, "", 0, "", 0), ERR_OK);
    assert_int_equal(hmac_compute(HMAC_SHA256, out, sizeof(out), &outlen, NULL, 0, NULL, 0),
                     ERR_OK);
    assert_int_equal(outlen, reflen);
    assert_memory_equal(out, ref, reflen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_vectors),
        cmocka_unit_test(test_hmac_sizes),
        cmocka_unit_test(test_hmac_small_output),
        cmocka_unit_test(test_hmac_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
