/* test_syncauth.c - sync challenges, signatures and session secrets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "common/codec.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "keys/kit.h"
#include "keys/syncauth.h"

#define ACC "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define SRV "bbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SR2 "cccccccccccccccccccccccccc"

static int setup(void **state)
{
    (void)state;
    return crypto_init() == ERR_OK ? 0 : -1;
}

static void test_challenge(void **state)
{
    unsigned char key[SYNCAUTH_HUB_KEY_BYTES], key2[SYNCAUTH_HUB_KEY_BYTES];
    char ch[SYNCAUTH_CHALLENGE_LEN + 1], nonce[SYNCAUTH_NONCE_LEN + 1],
        bad[SYNCAUTH_CHALLENGE_LEN + 1];
    int64_t exp = 0, now = 1800000000;

    (void)state;
    assert_int_equal(syncauth_hub_key_generate(key), ERR_OK);
    assert_int_equal(syncauth_hub_key_generate(key2), ERR_OK);
    assert_int_equal(syncauth_challenge_new(ch, key, ACC, SRV, now), ERR_OK);
    assert_int_equal(strlen(ch), SYNCAUTH_CHALLENGE_LEN);
    assert_int_equal(syncauth_challenge_check(ch, key, ACC, SRV, now + 10, nonce, &exp), ERR_OK);
    assert_int_equal(exp, now + SYNCAUTH_CHALLENGE_SECONDS);
    assert_int_equal(strlen(nonce), SYNCAUTH_NONCE_LEN);
    {
        unsigned char raw[SYNCAUTH_CHALLENGE_BYTES + 2];
        char expect[SYNCAUTH_NONCE_LEN + 1];
        size_t n;

        /* the nonce is base64url of the 16 random bytes after the 8-byte time */
        assert_int_equal(codec_b64_decode(raw, sizeof(raw), &n, ch, strlen(ch), CODEC_B64_URL),
                         ERR_OK);
        assert_int_equal(n, SYNCAUTH_CHALLENGE_BYTES);
        assert_int_equal(codec_b64_encode(expect, sizeof(expect), NULL, raw + 8, 16, CODEC_B64_URL),
                         ERR_OK);
        assert_string_equal(nonce, expect);
    }
    assert_int_equal(
        syncauth_challenge_check(ch, key, ACC, SRV, now + SYNCAUTH_CHALLENGE_SECONDS, nonce, &exp),
        ERR_OK);
    assert_int_equal(syncauth_challenge_check(ch, key, ACC, SRV,
                                              now + SYNCAUTH_CHALLENGE_SECONDS + 1, nonce, &exp),
                     ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_challenge_check(ch, key, ACC, SRV, now - 61, nonce, &exp),
                     ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_challenge_check(ch, key2, ACC, SRV, now, nonce, &exp),
                     ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_challenge_check(ch, key, ACC, SR2, now, nonce, &exp),
                     ERR_UNAUTHORIZED);
    assert_int_equal(
        syncauth_challenge_check(ch, key, "ZBCDEFGHIJKLMNOPQRSTUVWXYZ", SRV, now, nonce, &exp),
        ERR_UNAUTHORIZED);
    memcpy(bad, ch, sizeof(bad));
    bad[20] = bad[20] == 'A' ? 'B' : 'A';
    assert_int_equal(syncauth_challenge_check(bad, key, ACC, SRV, now, nonce, &exp),
                     ERR_UNAUTHORIZED);
    assert_int_equal(exp, 0);
    bad[SYNCAUTH_CHALLENGE_LEN - 1] = '\0';
    assert_int_equal(syncauth_challenge_check(bad, key, ACC, SRV, now, nonce, &exp),
                     ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_challenge_check("", key, ACC, SRV, now, nonce, &exp),
                     ERR_UNAUTHORIZED);
    /* malformed ids are refused when making one */
    assert_int_equal(syncauth_challenge_new(ch, key, "acc", SRV, now), ERR_BAD_INPUT);
    assert_int_equal(syncauth_challenge_new(ch, key, ACC, "ABC", now), ERR_BAD_INPUT);
}

static void test_signature(void **state)
{
    unsigned char key[SYNCAUTH_HUB_KEY_BYTES];
    char ch[SYNCAUTH_CHALLENGE_LEN + 1], sig[SYNCAUTH_SIG_LEN + 1];
    struct jwk a, b;

    (void)state;
    assert_int_equal(syncauth_hub_key_generate(key), ERR_OK);
    assert_int_equal(kit_jwk_generate(&a, JWK_EC_P256, "a"), ERR_OK);
    assert_int_equal(kit_jwk_generate(&b, JWK_EC_P256, "b"), ERR_OK);
    assert_int_equal(syncauth_challenge_new(ch, key, ACC, SRV, 1800000000), ERR_OK);
    assert_int_equal(syncauth_sign(sig, a.jk_ec, ch, SRV), ERR_OK);
    assert_int_equal(strlen(sig), SYNCAUTH_SIG_LEN);
    assert_int_equal(syncauth_verify(a.jk_ec, ch, SRV, sig), ERR_OK);
    assert_int_equal(syncauth_verify(b.jk_ec, ch, SRV, sig), ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_verify(a.jk_ec, ch, SR2, sig), ERR_UNAUTHORIZED);
    sig[5] = sig[5] == 'A' ? 'B' : 'A';
    assert_int_equal(syncauth_verify(a.jk_ec, ch, SRV, sig), ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_verify(a.jk_ec, ch, SRV, "short"), ERR_UNAUTHORIZED);
    jwk_clear(&a);
    jwk_clear(&b);
}

static void test_session(void **state)
{
    char s[SYNCAUTH_SESSION_LEN + 1], s2[SYNCAUTH_SESSION_LEN + 1];
    unsigned char h[32], h2[32];

    (void)state;
    assert_int_equal(syncauth_session_new(s, h), ERR_OK);
    assert_int_equal(syncauth_session_new(s2, h2), ERR_OK);
    assert_int_equal(strlen(s), SYNCAUTH_SESSION_LEN);
    assert_string_not_equal(s, s2);
    assert_int_equal(syncauth_session_hash(h2, s, strlen(s)), ERR_OK);
    assert_memory_equal(h, h2, 32);
    assert_int_equal(syncauth_session_hash(h2, s, strlen(s) - 1), ERR_UNAUTHORIZED);
    s[3] = '+';
    assert_int_equal(syncauth_session_hash(h2, s, strlen(s)), ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_session_hash(h2, NULL, 0), ERR_UNAUTHORIZED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_challenge),
        cmocka_unit_test(test_signature),
        cmocka_unit_test(test_session),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
