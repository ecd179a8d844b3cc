/*
 * test_crypto_aead.c - AES-256-GCM against the GCM specification's test cases 13-16
 * (McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", appendix B: the AES-256
 * cases with 96-bit IVs and 128-bit tags), tamper detection, and the aead_seal framing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/codec.h"
#include "crypto/aead.h"
#include "crypto/crypto.h"

#define MAXLEN 128

/* Decodes hex s into out (at most cap bytes); returns the length. */
static size_t unhex(unsigned char *out, size_t cap, const char *s)
{
    size_t n = 0;

    assert_int_equal(codec_hex_decode(out, cap, &n, s, strlen(s)), ERR_OK);
    return n;
}

static int all_zero(const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

struct gcm_vector {
    int tc;
    const char *key, *iv, *pt, *aad, *ct, *tag;
};

static const struct gcm_vector gcm_vectors[] = {
    {13, "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {14, "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {15, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {16, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

/* One decoded vector. */
struct gcm_case {
    unsigned char key[AEAD_KEY_BYTES], iv[AEAD_NONCE_BYTES];
    unsigned char pt[MAXLEN], aad[MAXLEN], ct[MAXLEN + AEAD_TAG_BYTES];
    size_t ptlen, aadlen, ctlen; /* ctlen includes the tag */
};

static void gcm_load(struct gcm_case *c, const struct gcm_vector *v)
{
    memset(c, 0, sizeof(*c));
    assert_int_equal(unhex(c->key, sizeof(c->key), v->key), AEAD_KEY_BYTES);
    assert_int_equal(unhex(c->iv, sizeof(c->iv), v->iv), AEAD_NONCE_BYTES);
    c->ptlen = unhex(c->pt, sizeof(c->pt), v->pt);
    c->aadlen = unhex(c->aad, sizeof(c->aad), v->aad);
    c->ctlen = unhex(c->ct, MAXLEN, v->ct);
    assert_int_equal(c->ctlen, c->ptlen);
    assert_int_equal(unhex(c->ct + c->ctlen, AEAD_TAG_BYTES, v->tag), AEAD_TAG_BYTES);
    c->ctlen += AEAD_TAG_BYTES;
}

static void test_gcm_encrypt_vectors(void **state)
{
    unsigned char out[MAXLEN + AEAD_TAG_BYTES];
    struct gcm_case c;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(gcm_vectors) / sizeof(gcm_vectors[0]); i++) {
        gcm_load(&c, &gcm_vectors[i]);
        memset(out, 0xEE, sizeof(out));
        assert_int_equal(aead_aes256gcm_encrypt(out, c.pt, c.ptlen, c.aad, c.aadlen, c.iv, c.key),
                         ERR_OK);
        if (memcmp(out, c.ct, c.ctlen) != 0)
            fail_msg("GCM test case %d: ciphertext or tag differs", gcm_vectors[i].tc);
        assert_int_equal(out[c.ctlen], 0xEE); /* nothing written past ct || tag */
    }
}

static void test_gcm_decrypt_vectors(void **state)
{
    unsigned char out[MAXLEN + 1];
    struct gcm_case c;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(gcm_vectors) / sizeof(gcm_vectors[0]); i++) {
        gcm_load(&c, &gcm_vectors[i]);
        memset(out, 0xEE, sizeof(out));
        assert_int_equal(aead_aes256gcm_decrypt(out, c.ct, c.ctlen, c.aad, c.aadlen, c.iv, c.key),
                         ERR_OK);
        if (memcmp(out, c.pt, c.ptlen) != 0)
            fail_msg("GCM test case %d: plaintext differs", gcm_vectors[i].tc);
        assert_int_equal(out[c.ptlen], 0xEE);
    }
}

enum tamper { T_CT, T_TAG, T_AAD, T_NONCE, T_KEY, T_TRUNCATE };

/* Decrypts test case tc with one thing altered; expects ERR_CRYPTO and a wiped output. */
static void gcm_tampered(int idx, enum tamper what)
{
    unsigned char out[MAXLEN];
    struct gcm_case c;
    size_t ctlen;

    gcm_load(&c, &gcm_vectors[idx]);
    ctlen = c.ctlen;
    switch (what) {
    case T_CT:
        c.ct[0] ^= 0x01;
        break;
    case T_TAG:
        c.ct[c.ctlen - 1] ^= 0x80;
        break;
    case T_AAD:
        c.aad[c.aadlen - 1] ^= 0x01;
        break;
    case T_NONCE:
        c.iv[11] ^= 0x01;
        break;
    case T_KEY:
        c.key[31] ^= 0x01;
        break;
    case T_TRUNCATE:
        ctlen--;
        break;
    }
    memset(out, 0xEE, sizeof(out));
    assert_int_equal(aead_aes256gcm_decrypt(out, c.ct, ctlen, c.aad, c.aadlen, c.iv, c.key),
                     ERR_CRYPTO);
    assert_true(all_zero(out, ctlen - AEAD_TAG_BYTES));
}

static void test_gcm_tampering(void **state)
{
    (void)state;
    /* Test case 16 has plaintext and AAD, so every part can be altered. */
    gcm_tampered(3, T_CT);
    gcm_tampered(3, T_TAG);
    gcm_tampered(3, T_AAD);
    gcm_tampered(3, T_NONCE);
    gcm_tampered(3, T_KEY);
    gcm_tampered(3, T_TRUNCATE);
    /* Test case 13: only a tag. */
    gcm_tampered(0, T_TAG);
    gcm_tampered(0, T_NONCE);
    gcm_tampered(1, T_CT);
}

static void test_gcm_dropped_or_added_aad(void **state)
{
    unsigned char out[MAXLEN];
    struct gcm_case c;

    (void)state;
    gcm_load(&c, &gcm_vectors[3]);
    memset(out, 0xEE, sizeof(out));
    assert_int_equal(aead_aes256gcm_decrypt(out, c.ct, c.ctlen, NULL, 0, c.iv, c.key), ERR_CRYPTO);
    assert_true(all_zero(out, c.ctlen - AEAD_TAG_BYTES));
    gcm_load(&c, &gcm_vectors[2]);
    memset(out, 0xEE, sizeof(out));
    assert_int_equal(
        aead_aes256gcm_decrypt(out, c.ct, c.ctlen, (const unsigned char *)"x", 1, c.iv, c.key),
        ERR_CRYPTO);
    assert_true(all_zero(out, c.ctlen - AEAD_TAG_BYTES));
}

static void test_gcm_short_input(void **state)
{
    unsigned char key[AEAD_KEY_BYTES] = {0}, iv[AEAD_NONCE_BYTES] = {0}, ct[AEAD_TAG_BYTES] = {0};
    unsigned char out[1] = {0xEE};

    (void)state;
    assert_int_equal(aead_aes256gcm_decrypt(out, ct, AEAD_TAG_BYTES - 1, NULL, 0, iv, key),
                     ERR_CRYPTO);
    assert_int_equal(aead_aes256gcm_decrypt(out, ct, 0, NULL, 0, iv, key), ERR_CRYPTO);
    /* A tag-only input of zeros is not test case 13's tag. */
    assert_int_equal(aead_aes256gcm_decrypt(NULL, ct, AEAD_TAG_BYTES, NULL, 0, iv, key),
                     ERR_CRYPTO);
}

static const unsigned char seal_key[AEAD_KEY_BYTES] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
static const char seal_aad[] = "vault-id|item-id|7|details";
static const char seal_msg[] = "{\"fields\":[{\"id\":\"password\",\"value\":\"hunter2\"}]}";

static void test_seal_open_round_trip(void **state)
{
    unsigned char a[256], b[256], pt[256], ct[256];
    size_t alen, blen, ptlen, msglen = strlen(seal_msg), aadlen = strlen(seal_aad);

    (void)state;
    assert_int_equal(aead_seal(a, sizeof(a), &alen, (const unsigned char *)seal_msg, msglen,
                               (const unsigned char *)seal_aad, aadlen, seal_key),
                     ERR_OK);
    assert_int_equal(alen, msglen + AEAD_OVERHEAD);
    assert_int_equal(aead_seal(b, sizeof(b), &blen, (const unsigned char *)seal_msg, msglen,
                               (const unsigned char *)seal_aad, aadlen, seal_key),
                     ERR_OK);
    assert_int_equal(blen, alen);
    /* Fresh random nonces, hence different ciphertexts. */
    assert_memory_not_equal(a, b, AEAD_NONCE_BYTES);
    assert_memory_not_equal(a + AEAD_NONCE_BYTES, b + AEAD_NONCE_BYTES, alen - AEAD_NONCE_BYTES);

    /* The framing is nonce || aead_aes256gcm_encrypt(nonce) output. */
    assert_int_equal(aead_aes256gcm_encrypt(ct, (const unsigned char *)seal_msg, msglen,
                                            (const unsigned char *)seal_aad, aadlen, a, seal_key),
                     ERR_OK);
    assert_memory_equal(ct, a + AEAD_NONCE_BYTES, msglen + AEAD_TAG_BYTES);

    memset(pt, 0xEE, sizeof(pt));
    assert_int_equal(aead_open(pt, sizeof(pt), &ptlen, a, alen, (const unsigned char *)seal_aad,
                               aadlen, seal_key),
                     ERR_OK);
    assert_int_equal(ptlen, msglen);
    assert_memory_equal(pt, seal_msg, msglen);
    assert_int_equal(
        aead_open(pt, msglen, &ptlen, b, blen, (const unsigned char *)seal_aad, aadlen, seal_key),
        ERR_OK); /* cap exactly the plaintext length */
    assert_int_equal(ptlen, msglen);
    assert_memory_equal(pt, seal_msg, msglen);
}

static void test_seal_open_empty(void **state)
{
    unsigned char a[AEAD_OVERHEAD], pt[1];
    size_t alen = 99, ptlen = 99;

    (void)state;
    assert_int_equal(aead_seal(a, sizeof(a), &alen, NULL, 0, NULL, 0, seal_key), ERR_OK);
    assert_int_equal(alen, AEAD_OVERHEAD);
    assert_int_equal(aead_open(pt, 0, &ptlen, a, alen, NULL, 0, seal_key), ERR_OK);
    assert_int_equal(ptlen, 0);
}

static void test_open_rejects(void **state)
{
    unsigned char a[256], pt[256];
    size_t alen, ptlen, i, msglen = strlen(seal_msg), aadlen = strlen(seal_aad);
    const unsigned char *aad = (const unsigned char *)seal_aad;
    unsigned char other_key[AEAD_KEY_BYTES];

    (void)state;
    assert_int_equal(aead_seal(a, sizeof(a), &alen, (const unsigned char *)seal_msg, msglen, aad,
                               aadlen, seal_key),
                     ERR_OK);
    /* Every single flipped byte (nonce, ciphertext, tag) fails, output wiped. */
    for (i = 0; i < alen; i++) {
        a[i] ^= 0x04;
        memset(pt, 0xEE, sizeof(pt));
        ptlen = 99;
        assert_int_equal(aead_open(pt, sizeof(pt), &ptlen, a, alen, aad, aadlen, seal_key),
                         ERR_CRYPTO);
        assert_int_equal(ptlen, 0);
        assert_true(all_zero(pt, msglen));
        a[i] ^= 0x04;
    }
    /* Wrong AAD (another part of the same item), wrong key. */
    memset(pt, 0xEE, sizeof(pt));
    assert_int_equal(aead_open(pt, sizeof(pt), &ptlen, a, alen,
                               (const unsigned char *)"vault-id|item-id|7|overview", aadlen + 1,
                               seal_key),
                     ERR_CRYPTO);
    assert_true(all_zero(pt, msglen));
    memcpy(other_key, seal_key, sizeof(other_key));
    other_key[0] ^= 1;
    memset(pt, 0xEE, sizeof(pt));
    assert_int_equal(aead_open(pt, sizeof(pt), &ptlen, a, alen, aad, aadlen, other_key),
                     ERR_CRYPTO);
    assert_true(all_zero(pt, msglen));
    /* Truncated by one byte. */
    assert_int_equal(aead_open(pt, sizeof(pt), &ptlen, a, alen - 1, aad, aadlen, seal_key),
                     ERR_CRYPTO);
    /* Short input: less than nonce + tag. */
    for (i = 0; i < AEAD_OVERHEAD; i++)
        assert_int_equal(aead_open(pt, sizeof(pt), &ptlen, a, i, aad, aadlen, seal_key),
                         ERR_CRYPTO);
    /* And the untouched box still opens. */
    assert_int_equal(aead_open(pt, sizeof(pt), &ptlen, a, alen, aad, aadlen, seal_key), ERR_OK);
    assert_memory_equal(pt, seal_msg, msglen);
}

static void test_cap_too_small(void **state)
{
    unsigned char a[256], pt[256];
    size_t alen = 99, ptlen = 99, msglen = strlen(seal_msg);

    (void)state;
    assert_int_equal(aead_seal(a, msglen + AEAD_OVERHEAD - 1, &alen,
                               (const unsigned char *)seal_msg, msglen, NULL, 0, seal_key),
                     ERR_TOO_LARGE);
    assert_int_equal(alen, 0);
    assert_int_equal(aead_seal(a, 0, &alen, NULL, 0, NULL, 0, seal_key), ERR_TOO_LARGE);
    assert_int_equal(aead_seal(a, SIZE_MAX, &alen, (const unsigned char *)seal_msg,
                               SIZE_MAX - AEAD_OVERHEAD + 1, NULL, 0, seal_key),
                     ERR_TOO_LARGE);
    assert_int_equal(
        aead_seal(a, sizeof(a), &alen, (const unsigned char *)seal_msg, msglen, NULL, 0, seal_key),
        ERR_OK);
    assert_int_equal(aead_open(pt, msglen - 1, &ptlen, a, alen, NULL, 0, seal_key), ERR_TOO_LARGE);
    assert_int_equal(ptlen, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gcm_encrypt_vectors), cmocka_unit_test(test_gcm_decrypt_vectors),
        cmocka_unit_test(test_gcm_tampering),       cmocka_unit_test(test_gcm_dropped_or_added_aad),
        cmocka_unit_test(test_gcm_short_input),     cmocka_unit_test(test_seal_open_round_trip),
        cmocka_unit_test(test_seal_open_empty),     cmocka_unit_test(test_open_rejects),
        cmocka_unit_test(test_cap_too_small),
    };

    assert_int_equal(crypto_init(), ERR_OK);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
