/* test_codec.c - RFC 4648 §10 vectors and strict decoding. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/codec.h"

struct vec {
    const char *plain;
    const char *b64;
    const char *b32;
    const char *hex;
};

/* RFC 4648 §10. */
static const struct vec rfc4648[] = {
    {"", "", "", ""},
    {"f", "Zg==", "MY======", "66"},
    {"fo", "Zm8=", "MZXQ====", "666f"},
    {"foo", "Zm9v", "MZXW6===", "666f6f"},
    {"foob", "Zm9vYg==", "MZXW6YQ=", "666f6f62"},
    {"fooba", "Zm9vYmE=", "MZXW6YTB", "666f6f6261"},
    {"foobar", "Zm9vYmFy", "MZXW6YTBOI======", "666f6f626172"},
};

static size_t unpadded_len(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '=')
        n--;
    return n;
}

static void test_rfc4648_base64(void **state)
{
    char out[64];
    unsigned char dec[64];
    size_t i, len;

    (void)state;
    for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        const struct vec *v = &rfc4648[i];
        size_t n = strlen(v->plain);

        assert_int_equal(
            codec_b64_encode(out, sizeof(out), &len, v->plain, n, CODEC_B64_STD | CODEC_PAD),
            ERR_OK);
        assert_string_equal(out, v->b64);
        assert_int_equal(len, codec_b64_encoded_len(n, 1));
        /* Unpadded form is the padded one without '='. */
        assert_int_equal(codec_b64_encode(out, sizeof(out), &len, v->plain, n, CODEC_B64_URL),
                         ERR_OK);
        assert_int_equal(len, unpadded_len(v->b64));
        assert_memory_equal(out, v->b64, len);
        /* Decoding: padded with CODEC_PAD, and unpadded without. */
        assert_int_equal(codec_b64_decode(dec, sizeof(dec), &len, v->b64, strlen(v->b64),
                                          CODEC_B64_STD | CODEC_PAD),
                         ERR_OK);
        assert_int_equal(len, n);
        assert_memory_equal(dec, v->plain, n);
        assert_int_equal(
            codec_b64_decode(dec, sizeof(dec), &len, v->b64, unpadded_len(v->b64), CODEC_B64_URL),
            ERR_OK);
        assert_int_equal(len, n);
        assert_memory_equal(dec, v->plain, n);
    }
}

static void test_rfc4648_base32_and_hex(void **state)
{
    char out[64], lower[64];
    unsigned char dec[64];
    size_t i, j, len;

    (void)state;
    for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        const struct vec *v = &rfc4648[i];
        size_t n = strlen(v->plain);

        assert_int_equal(
            codec_b32_encode(out, sizeof(out), &len, v->plain, n, CODEC_B32_UPPER | CODEC_PAD),
            ERR_OK);
        assert_string_equal(out, v->b32);
        assert_int_equal(codec_b32_decode(dec, sizeof(dec), &len, v->b32, strlen(v->b32),
                                          CODEC_B32_UPPER | CODEC_PAD),
                         ERR_OK);
        assert_int_equal(len, n);
        assert_memory_equal(dec, v->plain, n);
        /* Lowercase, unpadded (the id form). */
        for (j = 0; v->b32[j]; j++)
            lower[j] = (char)(v->b32[j] >= 'A' && v->b32[j] <= 'Z' ? v->b32[j] + 32 : v->b32[j]);
        lower[j] = '\0';
        assert_int_equal(codec_b32_encode(out, sizeof(out), &len, v->plain, n, 0), ERR_OK);
        assert_int_equal(len, unpadded_len(lower));
        assert_memory_equal(out, lower, len);
        assert_int_equal(codec_b32_decode(dec, sizeof(dec), &len, lower, unpadded_len(lower), 0),
                         ERR_OK);
        assert_int_equal(len, n);
        assert_int_equal(
            codec_b32_decode(dec, sizeof(dec), &len, lower, unpadded_len(lower), CODEC_B32_ANYCASE),
            ERR_OK);
        /* Hex. */
        assert_int_equal(codec_hex_encode(out, sizeof(out), v->plain, n), ERR_OK);
        assert_string_equal(out, v->hex);
        assert_int_equal(codec_hex_decode(dec, sizeof(dec), &len, v->hex, strlen(v->hex)), ERR_OK);
        assert_int_equal(len, n);
        assert_memory_equal(dec, v->plain, n);
    }
}

static void test_base64_alphabets(void **state)
{
    static const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
    char out[16];
    unsigned char dec[16];
    size_t len;

    (void)state;
    assert_int_equal(codec_b64_encode(out, sizeof(out), &len, bytes, 3, CODEC_B64_STD), ERR_OK);
    assert_string_equal(out, "+/+/");
    assert_int_equal(codec_b64_encode(out, sizeof(out), &len, bytes, 3, CODEC_B64_URL), ERR_OK);
    assert_string_equal(out, "-_-_");
    /* Each alphabet only where allowed; both allowed, but never mixed. */
    assert_int_equal(codec_b64_decode(dec, sizeof(dec), &len, "+/+/", 4, CODEC_B64_URL),
                     ERR_BAD_INPUT);
    assert_int_equal(codec_b64_decode(dec, sizeof(dec), &len, "-_-_", 4, CODEC_B64_STD),
                     ERR_BAD_INPUT);
    assert_int_equal(
        codec_b64_decode(dec, sizeof(dec), &len, "-_-_", 4, CODEC_B64_STD | CODEC_B64_URL), ERR_OK);
    assert_memory_equal(dec, bytes, 3);
    assert_int_equal(
        codec_b64_decode(dec, sizeof(dec), &len, "+/-_", 4, CODEC_B64_STD | CODEC_B64_URL),
        ERR_BAD_INPUT);
    assert_int_equal(len, 0);
}

static void test_strict_rejections(void **state)
{
    static const struct {
        const char *text;
        unsigned flags;
    } bad[] = {
        {"Zg=", CODEC_B64_STD | CODEC_PAD},              /* short padding */
        {"Zg==", CODEC_B64_STD},                         /* padding where refused */
        {"Zg", CODEC_B64_STD | CODEC_PAD},               /* padding required */
        {"Z", CODEC_B64_STD | CODEC_PAD_OPTIONAL},       /* impossible length */
        {"Zh==", CODEC_B64_STD | CODEC_PAD},             /* non-zero trailing bits */
        {"Zm9=", CODEC_B64_STD | CODEC_PAD},             /* non-zero trailing bits */
        {"Zm 9v", CODEC_B64_STD},                        /* whitespace */
        {"Zm9v\n", CODEC_B64_STD},                       /* newline */
        {"Zm9v!", CODEC_B64_STD},                        /* outside the alphabet */
        {"Z=g=", CODEC_B64_STD | CODEC_PAD},             /* padding in the middle */
        {"Zg=====", CODEC_B64_STD | CODEC_PAD_OPTIONAL}, /* too much padding */
        {"====", CODEC_B64_STD | CODEC_PAD},             /* only padding */
    };
    unsigned char dec[16];
    size_t i, len;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        len = 99;
        assert_int_equal(codec_b64_decode(dec, sizeof(dec), &len, bad[i].text, strlen(bad[i].text),
                                          bad[i].flags),
                         ERR_BAD_INPUT);
        assert_int_equal(len, 0);
    }
    /* Optional padding takes both forms. */
    assert_int_equal(
        codec_b64_decode(dec, sizeof(dec), &len, "Zg==", 4, CODEC_B64_STD | CODEC_PAD_OPTIONAL),
        ERR_OK);
    assert_int_equal(
        codec_b64_decode(dec, sizeof(dec), &len, "Zg", 2, CODEC_B64_STD | CODEC_PAD_OPTIONAL),
        ERR_OK);
    assert_int_equal(len, 1);
    /* An embedded NUL is not part of any alphabet. */
    assert_int_equal(codec_b64_decode(dec, sizeof(dec), &len, "Zm\0v", 4, CODEC_B64_STD),
                     ERR_BAD_INPUT);
    /* Base32: bad tail lengths, mixed case, wrong case, non-canonical bits. */
    assert_int_equal(codec_b32_decode(dec, sizeof(dec), &len, "mzx", 3, 0), ERR_BAD_INPUT);
    assert_int_equal(codec_b32_decode(dec, sizeof(dec), &len, "MZXW6", 5, 0), ERR_BAD_INPUT);
    assert_int_equal(codec_b32_decode(dec, sizeof(dec), &len, "mZxw6", 5, CODEC_B32_ANYCASE),
                     ERR_BAD_INPUT);
    assert_int_equal(codec_b32_decode(dec, sizeof(dec), &len, "mz", 2, 0), ERR_BAD_INPUT);
    assert_int_equal(codec_b32_decode(dec, sizeof(dec), &len, "my", 2, 0), ERR_OK);
    assert_int_equal(codec_b32_decode(dec, sizeof(dec), &len, "m1", 2, 0), ERR_BAD_INPUT);
    /* Hex: odd length, bad digit. */
    assert_int_equal(codec_hex_decode(dec, sizeof(dec), &len, "abc", 3), ERR_BAD_INPUT);
    assert_int_equal(codec_hex_decode(dec, sizeof(dec), &len, "zz", 2), ERR_BAD_INPUT);
    assert_int_equal(codec_hex_decode(dec, sizeof(dec), &len, "ABcd", 4), ERR_OK);
    assert_int_equal(dec[0], 0xab);
    assert_int_equal(dec[1], 0xcd);
}

static void test_capacity(void **state)
{
    char out[4];
    unsigned char dec[2];
    size_t len;

    (void)state;
    /* "foo" needs 4 characters plus the NUL. */
    assert_int_equal(codec_b64_encode(out, sizeof(out), &len, "foo", 3, CODEC_B64_STD),
                     ERR_TOO_LARGE);
    assert_int_equal(codec_b64_decode(dec, sizeof(dec), &len, "Zm9v", 4, CODEC_B64_STD),
                     ERR_TOO_LARGE);
    assert_int_equal(codec_hex_encode(out, sizeof(out), "ab", 2), ERR_TOO_LARGE);
    assert_int_equal(codec_hex_decode(dec, sizeof(dec), &len, "aabbcc", 6), ERR_TOO_LARGE);
    assert_int_equal(codec_b64_encode(out, 0, &len, "", 0, CODEC_B64_STD), ERR_TOO_LARGE);
}

/* Every byte string round-trips through every encoding. */
static void test_round_trip(void **state)
{
    unsigned char in[64], dec[64];
    char text[128];
    size_t n, i, len, dlen;

    (void)state;
    for (n = 0; n <= sizeof(in); n++) {
        for (i = 0; i < n; i++)
            in[i] = (unsigned char)(i * 37 + n * 11);
        assert_int_equal(codec_b64_encode(text, sizeof(text), &len, in, n, CODEC_B64_URL), ERR_OK);
        assert_int_equal(codec_b64_decode(dec, sizeof(dec), &dlen, text, len, CODEC_B64_URL),
                         ERR_OK);
        assert_int_equal(dlen, n);
        assert_memory_equal(dec, in, n);
        assert_int_equal(codec_b32_encode(text, sizeof(text), &len, in, n, 0), ERR_OK);
        assert_int_equal(codec_b32_decode(dec, sizeof(dec), &dlen, text, len, 0), ERR_OK);
        assert_int_equal(dlen, n);
        assert_memory_equal(dec, in, n);
    }
}

/* Every byte as a character: decoded iff it is in the alphabet, to its place there. */
static void test_every_character(void **state)
{
    static const struct {
        const char *alpha;
        unsigned flags, bits, group;
        int b32;
    } al[] = {
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", CODEC_B64_STD, 6, 4,
         0},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", CODEC_B64_URL, 6, 4,
         0},
        {"abcdefghijklmnopqrstuvwxyz234567", 0, 5, 8, 1},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", CODEC_B32_UPPER, 5, 8, 1},
    };
    unsigned char dec[8];
    char text[9];
    size_t a, len;
    int c;

    (void)state;
    for (a = 0; a < sizeof(al) / sizeof(al[0]); a++) {
        for (c = 1; c < 256; c++) {
            const char *at = memchr(al[a].alpha, c, strlen(al[a].alpha));
            enum err e;

            memset(text, al[a].alpha[0], al[a].group);
            text[0] = (char)c;
            text[al[a].group] = '\0';
            e = al[a].b32
                    ? codec_b32_decode(dec, sizeof(dec), &len, text, al[a].group, al[a].flags)
                    : codec_b64_decode(dec, sizeof(dec), &len, text, al[a].group, al[a].flags);
            assert_int_equal(e, at ? ERR_OK : ERR_BAD_INPUT);
            if (at)
                assert_int_equal(dec[0], (unsigned)(at - al[a].alpha) << (8 - al[a].bits));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_base64),   cmocka_unit_test(test_rfc4648_base32_and_hex),
        cmocka_unit_test(test_base64_alphabets), cmocka_unit_test(test_strict_rejections),
        cmocka_unit_test(test_capacity),         cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_every_character),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
