/*
 * test_keys_syncauth.c - sync authentication (keys/syncauth.h): the hub's stateless
 * challenge, the server's ES256 signature over it, and session secrets.
 *
 * The challenge layout is checked against a known answer computed outside Sesame (Python's
 * hmac/hashlib/base64 over the layout in syncauth.h), and against a MAC recomputed here
 * with hash_hmac_sha256; the signed text is rebuilt here and verified with ecdsa_p256_verify.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "common/codec.h"
#include "crypto/crypto.h"
#include "crypto/ecdsa.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "keys/kit.h"
#include "keys/syncauth.h"

#define ACC    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define ACC_LO "abcdefghijklmnopqrstuvwxyz"
#define ACC2   "ZBCDEFGHIJKLMNOPQRSTUVWXYZ"
#define SRV    "bbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SRV_UP "BBBBBBBBBBBBBBBBBBBBBBBBBB"
#define SRV2   "cccccccccccccccccccccccccc"
#define T0     INT64_C(1800000000)

/*
 * Known answer: key = 00 01 .. 1f, ACC, SRV, ts = 1800000000, rnd = a0 a1 .. af;
 * challenge = base64url(ts || rnd || HMAC-SHA256(key, "sesame-challenge-v1" 0x00 ACC 0x00
 * SRV 0x00 ts || rnd)), computed with Python's standard library.
 */
#define KAT_CHALLENGE "AAAAAGtJ0gCgoaKjpKWmp6ipqqusra6vVU0vLA093nYZ5FuKfNCq_xUhlzPd1mRP_JmRjmbDeEY"
#define KAT_NONCE     "oKGio6SlpqeoqaqrrK2urw"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int setup(void **state)
{
    (void)state;
    return crypto_init() == ERR_OK ? 0 : -1;
}

static void kat_key(unsigned char key[SYNCAUTH_HUB_KEY_BYTES])
{
    int i;

    for (i = 0; i < SYNCAUTH_HUB_KEY_BYTES; i++)
        key[i] = (unsigned char)i;
}

/* Makes a challenge by hand from ts and rnd, MACed with key for (acc, srv) as given. */
static void hand_challenge(char out[SYNCAUTH_CHALLENGE_LEN + 1],
                           const unsigned char key[SYNCAUTH_HUB_KEY_BYTES], const char *acc,
                           const char *srv, uint64_t ts, const unsigned char rnd[16])
{
    unsigned char raw[SYNCAUTH_CHALLENGE_BYTES], msg[128];
    size_t n = 0, len = 0;
    int i;

    for (i = 0; i < 8; i++)
        raw[i] = (unsigned char)(ts >> (56 - 8 * i));
    memcpy(raw + 8, rnd, 16);
    memcpy(msg, "sesame-challenge-v1", 19);
    n = 19;
    msg[n++] = 0;
    memcpy(msg + n, acc, 26);
    n += 26;
    msg[n++] = 0;
    memcpy(msg + n, srv, 26);
    n += 26;
    msg[n++] = 0;
    memcpy(msg + n, raw, 24);
    n += 24;
    assert_int_equal(hash_hmac_sha256(raw + 24, key, SYNCAUTH_HUB_KEY_BYTES, msg, n), ERR_OK);
    assert_int_equal(
        codec_b64_encode(out, SYNCAUTH_CHALLENGE_LEN + 1, &len, raw, sizeof(raw), CODEC_B64_URL),
        ERR_OK);
    assert_int_equal(len, SYNCAUTH_CHALLENGE_LEN);
}

/* Expects challenge to be refused, with nonce and expiry cleared. */
static void expect_refused(const char *challenge, const unsigned char *key, const char *acc,
                           const char *srv, int64_t now)
{
    char nonce[SYNCAUTH_NONCE_LEN + 1];
    int64_t exp = 12345;

    memset(nonce, 'x', sizeof(nonce));
    assert_int_equal(syncauth_challenge_check(challenge, key, acc, srv, now, nonce, &exp),
                     ERR_UNAUTHORIZED);
    assert_string_equal(nonce, "");
    assert_int_equal(exp, 0);
}

/* ---- hub key and challenges ------------------------------------------------------------ */

static void test_hub_key(void **state)
{
    unsigned char a[SYNCAUTH_HUB_KEY_BYTES], b[SYNCAUTH_HUB_KEY_BYTES];

    (void)state;
    assert_int_equal(syncauth_hub_key_generate(a), ERR_OK);
    assert_int_equal(syncauth_hub_key_generate(b), ERR_OK);
    assert_memory_not_equal(a, b, sizeof(a));
}

static void test_challenge_known_answer(void **state)
{
    static const unsigned char rnd[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                                          0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};
    unsigned char key[SYNCAUTH_HUB_KEY_BYTES];
    char ch[SYNCAUTH_CHALLENGE_LEN + 1], nonce[SYNCAUTH_NONCE_LEN + 1];
    int64_t exp = 0;

    (void)state;
    kat_key(key);
    assert_int_equal(strlen(KAT_CHALLENGE), SYNCAUTH_CHALLENGE_LEN);
    /* the hand-made challenge equals the published-layout known answer */
    hand_challenge(ch, key, ACC, SRV, (uint64_t)T0, rnd);
    assert_string_equal(ch, KAT_CHALLENGE);
    /* and syncauth accepts it, with the nonce base64url(rnd) and expiry ts + 60 */
    assert_int_equal(syncauth_challenge_check(KAT_CHALLENGE, key, ACC, SRV, T0, nonce, &exp),
                     ERR_OK);
    assert_string_equal(nonce, KAT_NONCE);
    assert_int_equal(exp, T0 + SYNCAUTH_CHALLENGE_SECONDS);
    /* ids in the other case are the same ids (account uppercase, server lowercase) */
    assert_int_equal(
        syncauth_challenge_check(KAT_CHALLENGE, key, ACC_LO, SRV_UP, T0 + 5, nonce, &exp), ERR_OK);
    assert_string_equal(nonce, KAT_NONCE);
}

static void test_challenge_roundtrip(void **state)
{
    unsigned char key[SYNCAUTH_HUB_KEY_BYTES], raw[SYNCAUTH_CHALLENGE_BYTES + 2];
    char ch[SYNCAUTH_CHALLENGE_LEN + 1], ch2[SYNCAUTH_CHALLENGE_LEN + 1];
    char nonce[SYNCAUTH_NONCE_LEN + 1], expect[SYNCAUTH_NONCE_LEN + 1], again[80];
    int64_t exp = 0;
    uint64_t ts = 0;
    size_t i, n = 0;

    (void)state;
    assert_int_equal(syncauth_hub_key_generate(key), ERR_OK);
    assert_int_equal(syncauth_challenge_new(ch, key, ACC, SRV, T0), ERR_OK);
    assert_int_equal(strlen(ch), SYNCAUTH_CHALLENGE_LEN);
    for (i = 0; i < SYNCAUTH_CHALLENGE_LEN; i++)
        assert_non_null(strchr(b64url, ch[i]));
    /* layout: ts (8 bytes BE) || rnd (16) || MAC (32), recomputed here */
    assert_int_equal(codec_b64_decode(raw, sizeof(raw), &n, ch, strlen(ch), CODEC_B64_URL), ERR_OK);
    assert_int_equal(n, SYNCAUTH_CHALLENGE_BYTES);
    for (i = 0; i < 8; i++)
        ts = (ts << 8) | raw[i];
    assert_int_equal(ts, (uint64_t)T0);
    hand_challenge(again, key, ACC, SRV, ts, raw + 8);
    assert_string_equal(again, ch);
    /* check: nonce = base64url(rnd), expiry = ts + 60 */
    assert_int_equal(syncauth_challenge_check(ch, key, ACC, SRV, T0 + 10, nonce, &exp), ERR_OK);
    assert_int_equal(codec_b64_encode(expect, sizeof(expect), NULL, raw + 8, 16, CODEC_B64_URL),
                     ERR_OK);
    assert_int_equal(strlen(nonce), SYNCAUTH_NONCE_LEN);
    assert_string_equal(nonce, expect);
    assert_int_equal(exp, T0 + SYNCAUTH_CHALLENGE_SECONDS);
    /* a second challenge has other random bytes (another nonce) */
    assert_int_equal(syncauth_challenge_new(ch2, key, ACC, SRV, T0), ERR_OK);
    assert_string_not_equal(ch, ch2);
    assert_memory_equal(ch, ch2, 10); /* same time: the first 8 bytes (10 characters) agree */
    /* ids given in the other case are normalised: the MAC is over ACCOUNT and server */
    assert_int_equal(syncauth_challenge_new(ch2, key, ACC_LO, SRV_UP, T0), ERR_OK);
    assert_int_equal(codec_b64_decode(raw, sizeof(raw), &n, ch2, strlen(ch2), CODEC_B64_URL),
                     ERR_OK);
    hand_challenge(again, key, ACC, SRV, (uint64_t)T0, raw + 8);
    assert_string_equal(again, ch2);
    assert_int_equal(syncauth_challenge_check(ch2, key, ACC, SRV, T0, nonce, &exp), ERR_OK);
}

static void test_challenge_window(void **state)
{
    static const unsigned char rnd[16] = {1, 2, 3};
    struct {
        int64_t w_now;
        enum err w_want;
    } const cases[] = {
        {T0, ERR_OK},
        {T0 + 1, ERR_OK},
        {T0 + SYNCAUTH_CHALLENGE_SECONDS, ERR_OK},
        {T0 + SYNCAUTH_CHALLENGE_SECONDS + 1, ERR_UNAUTHORIZED}, /* expired: now + 61 */
        {T0 + 3600, ERR_UNAUTHORIZED},
        {T0 - 60, ERR_OK},           /* made 60 s "in the future" (clock step): accepted */
        {T0 - 61, ERR_UNAUTHORIZED}, /* from further in the future */
        {0, ERR_UNAUTHORIZED},
        {-1, ERR_UNAUTHORIZED},
        {INT64_MIN, ERR_UNAUTHORIZED},
        {INT64_MAX, ERR_UNAUTHORIZED},
    };
    unsigned char key[SYNCAUTH_HUB_KEY_BYTES];
    char ch[SYNCAUTH_CHALLENGE_LEN + 1], nonce[SYNCAUTH_NONCE_LEN + 1];
    int64_t exp;
    size_t i;

    (void)state;
    assert_int_equal(syncauth_hub_key_generate(key), ERR_OK);
    assert_int_equal(syncauth_challenge_new(ch, key, ACC, SRV, T0), ERR_OK);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum err e;

        exp = 777;
        e = syncauth_challenge_check(ch, key, ACC, SRV, cases[i].w_now, nonce, &exp);
        if (e != cases[i].w_want)
            fail_msg("case %zu (now %lld): got %s", i, (long long)cases[i].w_now, err_name(e));
        assert_int_equal(exp, e == ERR_OK ? T0 + SYNCAUTH_CHALLENGE_SECONDS : 0);
    }
    /* MAC-valid challenges with times no hub makes: refused, no overflow */
    hand_challenge(ch, key, ACC, SRV, UINT64_MAX, rnd);
    expect_refused(ch, key, ACC, SRV, INT64_MAX);
    expect_refused(ch, key, ACC, SRV, -1);
    hand_challenge(ch, key, ACC, SRV, UINT64_C(1) << 63, rnd);
    expect_refused(ch, key, ACC, SRV, INT64_MAX);
    hand_challenge(ch, key, ACC, SRV, (uint64_t)INT64_MAX, rnd);
    expect_refused(ch, key, ACC, SRV, INT64_MAX);
    /* time 0 is a time */
    hand_challenge(ch, key, ACC, SRV, 0, rnd);
    assert_int_equal(syncauth_challenge_check(ch, key, ACC, SRV, 60, nonce, &exp), ERR_OK);
    assert_int_equal(exp, 60);
    expect_refused(ch, key, ACC, SRV, 61);
    /* making one: the time must not be negative */
    memset(ch, 'x', sizeof(ch));
    assert_int_equal(syncauth_challenge_new(ch, key, ACC, SRV, -1), ERR_BAD_INPUT);
    assert_string_equal(ch, "");
}

static void test_challenge_refusals(void **state)
{
    unsigned char key[SYNCAUTH_HUB_KEY_BYTES], key2[SYNCAUTH_HUB_KEY_BYTES];
    char ch[SYNCAUTH_CHALLENGE_LEN + 1], bad[SYNCAUTH_CHALLENGE_LEN + 8];
    char nonce[SYNCAUTH_NONCE_LEN + 1];
    int64_t exp = 0;
    size_t i;

    (void)state;
    assert_int_equal(syncauth_hub_key_generate(key), ERR_OK);
    assert_int_equal(syncauth_hub_key_generate(key2), ERR_OK);
    assert_int_equal(syncauth_challenge_new(ch, key, ACC, SRV, T0), ERR_OK);
    /* other hub key, account, server; ids swapped */
    expect_refused(ch, key2, ACC, SRV, T0);
    expect_refused(ch, key, ACC2, SRV, T0);
    expect_refused(ch, key, ACC, SRV2, T0);
    expect_refused(ch, key, SRV_UP, ACC_LO, T0);
    /* malformed ids */
    expect_refused(ch, key, "ABC", SRV, T0);
    expect_refused(ch, key, ACC, "bbbbbbbbbbbbbbbbbbbbbbbbb-", T0);
    expect_refused(ch, key, NULL, SRV, T0);
    expect_refused(ch, key, ACC, NULL, T0);
    /* every character replaced by another base64url character */
    for (i = 0; i < SYNCAUTH_CHALLENGE_LEN; i++) {
        memcpy(bad, ch, sizeof(ch));
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        expect_refused(bad, key, ACC, SRV, T0);
    }
    /* lengths and alphabets */
    expect_refused(NULL, key, ACC, SRV, T0);
    expect_refused("", key, ACC, SRV, T0);
    memcpy(bad, ch, sizeof(ch));
    bad[SYNCAUTH_CHALLENGE_LEN - 1] = '\0'; /* 74 characters */
    expect_refused(bad, key, ACC, SRV, T0);
    memcpy(bad, ch, SYNCAUTH_CHALLENGE_LEN);
    memcpy(bad + SYNCAUTH_CHALLENGE_LEN, "A", 2); /* 76 */
    expect_refused(bad, key, ACC, SRV, T0);
    memcpy(bad + SYNCAUTH_CHALLENGE_LEN, "=", 2); /* padded */
    expect_refused(bad, key, ACC, SRV, T0);
    memcpy(bad, ch, sizeof(ch));
    bad[30] = '+'; /* standard alphabet */
    expect_refused(bad, key, ACC, SRV, T0);
    bad[30] = '/';
    expect_refused(bad, key, ACC, SRV, T0);
    bad[30] = ' ';
    expect_refused(bad, key, ACC, SRV, T0);
    /* the untouched challenge still passes */
    assert_int_equal(syncauth_challenge_check(ch, key, ACC, SRV, T0, nonce, &exp), ERR_OK);
    /* making one for malformed ids */
    memset(bad, 'x', sizeof(bad));
    assert_int_equal(syncauth_challenge_new(bad, key, "acc", SRV, T0), ERR_BAD_INPUT);
    assert_string_equal(bad, "");
    assert_int_equal(syncauth_challenge_new(bad, key, ACC, "srv", T0), ERR_BAD_INPUT);
    assert_int_equal(syncauth_challenge_new(bad, key, NULL, SRV, T0), ERR_BAD_INPUT);
    assert_int_equal(syncauth_challenge_new(bad, key, ACC, "bbbbbbbbbbbbbbbbbbbbbbbbb_", T0),
                     ERR_BAD_INPUT);
}

/* ---- signatures ------------------------------------------------------------------------ */

static void test_signature(void **state)
{
    unsigned char key[SYNCAUTH_HUB_KEY_BYTES], rs[ECDSA_P256_SIG_BYTES + 2];
    char ch[SYNCAUTH_CHALLENGE_LEN + 1], ch2[SYNCAUTH_CHALLENGE_LEN + 1];
    char sig[SYNCAUTH_SIG_LEN + 1], sig2[SYNCAUTH_SIG_LEN + 1], msg[160];
    struct ec_key *pub;
    struct jwk a, b;
    size_t i, n = 0, m;

    (void)state;
    assert_int_equal(syncauth_hub_key_generate(key), ERR_OK);
    assert_int_equal(kit_jwk_generate(&a, JWK_EC_P256, "a"), ERR_OK);
    assert_int_equal(kit_jwk_generate(&b, JWK_EC_P256, "b"), ERR_OK);
    pub = ecdsa_p256_public_dup(a.jk_ec);
    assert_non_null(pub);
    assert_int_equal(syncauth_challenge_new(ch, key, ACC, SRV, T0), ERR_OK);
    assert_int_equal(syncauth_challenge_new(ch2, key, ACC, SRV, T0), ERR_OK);
    assert_int_equal(syncauth_sign(sig, a.jk_ec, ch, SRV), ERR_OK);
    assert_int_equal(strlen(sig), SYNCAUTH_SIG_LEN);
    for (i = 0; i < SYNCAUTH_SIG_LEN; i++)
        assert_non_null(strchr(b64url, sig[i]));
    /* the signed text is "sesame-sync-v1\n" challenge "\n" server */
    assert_int_equal(codec_b64_decode(rs, sizeof(rs), &n, sig, strlen(sig), CODEC_B64_URL), ERR_OK);
    assert_int_equal(n, ECDSA_P256_SIG_BYTES);
    m = (size_t)snprintf(msg, sizeof(msg), "sesame-sync-v1\n%s\n%s", ch, SRV);
    assert_int_equal(m, 15 + SYNCAUTH_CHALLENGE_LEN + 1 + 26);
    assert_int_equal(ecdsa_p256_verify(pub, msg, m, rs, n), ERR_OK);
    /* round trip, with the public half only, and the server id in either case */
    assert_int_equal(syncauth_verify(a.jk_ec, ch, SRV, sig), ERR_OK);
    assert_int_equal(syncauth_verify(pub, ch, SRV, sig), ERR_OK);
    assert_int_equal(syncauth_verify(pub, ch, SRV_UP, sig), ERR_OK);
    assert_int_equal(syncauth_sign(sig2, a.jk_ec, ch, SRV_UP), ERR_OK);
    assert_int_equal(syncauth_verify(pub, ch, SRV, sig2), ERR_OK);
    /* another key, server or challenge */
    assert_int_equal(syncauth_verify(b.jk_ec, ch, SRV, sig), ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_verify(pub, ch, SRV2, sig), ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_verify(pub, ch2, SRV, sig), ERR_UNAUTHORIZED);
    /* every character of the signature replaced */
    for (i = 0; i < SYNCAUTH_SIG_LEN; i++) {
        memcpy(sig2, sig, sizeof(sig));
        sig2[i] = sig2[i] == 'A' ? 'B' : 'A';
        assert_int_equal(syncauth_verify(pub, ch, SRV, sig2), ERR_UNAUTHORIZED);
    }
    /* the signature's shape */
    memcpy(sig2, sig, sizeof(sig));
    sig2[SYNCAUTH_SIG_LEN - 1] = '\0';
    assert_int_equal(syncauth_verify(pub, ch, SRV, sig2), ERR_UNAUTHORIZED);
    {
        char longer[SYNCAUTH_SIG_LEN + 3];

        memcpy(longer, sig, SYNCAUTH_SIG_LEN);
        memcpy(longer + SYNCAUTH_SIG_LEN, "==", 3);
        assert_int_equal(syncauth_verify(pub, ch, SRV, longer), ERR_UNAUTHORIZED);
        memcpy(longer + SYNCAUTH_SIG_LEN, "A", 2);
        assert_int_equal(syncauth_verify(pub, ch, SRV, longer), ERR_UNAUTHORIZED);
    }
    memcpy(sig2, sig, sizeof(sig));
    sig2[10] = '+';
    assert_int_equal(syncauth_verify(pub, ch, SRV, sig2), ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_verify(pub, ch, SRV, ""), ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_verify(pub, ch, SRV, NULL), ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_verify(NULL, ch, SRV, sig), ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_verify(pub, NULL, SRV, sig), ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_verify(pub, ch, NULL, sig), ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_verify(pub, ch, "srv", sig), ERR_UNAUTHORIZED);
    memcpy(ch2, ch, sizeof(ch));
    ch2[SYNCAUTH_CHALLENGE_LEN - 1] = '\0';
    assert_int_equal(syncauth_verify(pub, ch2, SRV, sig), ERR_UNAUTHORIZED);
    /* signing: a key pair, a challenge-shaped challenge, a server id */
    memset(sig2, 'x', sizeof(sig2));
    assert_int_equal(syncauth_sign(sig2, pub, ch, SRV), ERR_BAD_INPUT);
    assert_string_equal(sig2, "");
    assert_int_equal(syncauth_sign(sig2, NULL, ch, SRV), ERR_BAD_INPUT);
    assert_int_equal(syncauth_sign(sig2, a.jk_ec, ch2, SRV), ERR_BAD_INPUT);
    assert_int_equal(syncauth_sign(sig2, a.jk_ec, NULL, SRV), ERR_BAD_INPUT);
    assert_int_equal(syncauth_sign(sig2, a.jk_ec, ch, "srv"), ERR_BAD_INPUT);
    assert_int_equal(syncauth_sign(sig2, a.jk_ec, ch, NULL), ERR_BAD_INPUT);
    assert_string_equal(sig2, "");
    ecdsa_p256_free(pub);
    jwk_clear(&a);
    jwk_clear(&b);
}

/* ---- sessions -------------------------------------------------------------------------- */

static void test_session_new(void **state)
{
    char s[SYNCAUTH_SESSION_LEN + 1], s2[SYNCAUTH_SESSION_LEN + 1];
    unsigned char h[32], h2[32], want[32], raw[40];
    size_t i, n = 0;

    (void)state;
    assert_int_equal(syncauth_session_new(s, h), ERR_OK);
    assert_int_equal(syncauth_session_new(s2, h2), ERR_OK);
    assert_int_equal(strlen(s), SYNCAUTH_SESSION_LEN);
    assert_string_not_equal(s, s2);
    assert_memory_not_equal(h, h2, 32);
    /* 32 random bytes as base64url; the hash is SHA-256 of that text */
    assert_int_equal(codec_b64_decode(raw, sizeof(raw), &n, s, strlen(s), CODEC_B64_URL), ERR_OK);
    assert_int_equal(n, SYNCAUTH_SESSION_BYTES);
    assert_int_equal(hash_sha256(want, s, strlen(s)), ERR_OK);
    assert_memory_equal(h, want, 32);
    /* syncauth_session_hash agrees with what session_new gave */
    for (i = 0; i < 2; i++) {
        const char *t = i ? s2 : s;

        assert_int_equal(syncauth_session_hash(want, t, strlen(t)), ERR_OK);
        assert_memory_equal(want, i ? h2 : h, 32);
    }
}

static void test_session_hash(void **state)
{
    /* SHA-256 of the text, from Python's hashlib */
    static const unsigned char sha_a43[32] = {0x0f, 0x00, 0x73, 0x85, 0xb6, 0xf9, 0xd4, 0xb7,
                                              0xee, 0xb2, 0x74, 0x86, 0x05, 0xaf, 0xe1, 0xa9,
                                              0x84, 0xa0, 0xa3, 0xbf, 0xa3, 0xf0, 0x14, 0xd0,
                                              0x9e, 0x2a, 0x78, 0x4c, 0xe9, 0xe5, 0xcd, 0x1a};
    static const unsigned char sha_seq[32] = {0xea, 0x86, 0x6a, 0x75, 0x7e, 0x4c, 0x38, 0xba,
                                              0xbf, 0xa8, 0x12, 0x7c, 0xbe, 0x9a, 0x40, 0x9d,
                                              0x3e, 0x1f, 0x93, 0xa0, 0x0f, 0xf1, 0x48, 0x8f,
                                              0xf7, 0x35, 0xfc, 0xf9, 0x17, 0xaf, 0xff, 0xd0};
    static const char seq[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"; /* bytes 0..31 */
    char a43[SYNCAUTH_SESSION_LEN + 1], t[SYNCAUTH_SESSION_LEN + 4];
    unsigned char h[32];
    size_t i;

    (void)state;
    memset(a43, 'A', SYNCAUTH_SESSION_LEN);
    a43[SYNCAUTH_SESSION_LEN] = '\0';
    assert_int_equal(syncauth_session_hash(h, a43, SYNCAUTH_SESSION_LEN), ERR_OK);
    assert_memory_equal(h, sha_a43, 32);
    assert_int_equal(strlen(seq), SYNCAUTH_SESSION_LEN);
    assert_int_equal(syncauth_session_hash(h, seq, strlen(seq)), ERR_OK);
    assert_memory_equal(h, sha_seq, 32);
    /* lengths: only the len given counts */
    assert_int_equal(syncauth_session_hash(h, seq, SYNCAUTH_SESSION_LEN - 1), ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_session_hash(h, seq, 0), ERR_UNAUTHORIZED);
    memcpy(t, seq, SYNCAUTH_SESSION_LEN);
    memcpy(t + SYNCAUTH_SESSION_LEN, "A", 2);
    assert_int_equal(syncauth_session_hash(h, t, SYNCAUTH_SESSION_LEN + 1), ERR_UNAUTHORIZED);
    memcpy(t + SYNCAUTH_SESSION_LEN, "=", 2);
    assert_int_equal(syncauth_session_hash(h, t, SYNCAUTH_SESSION_LEN + 1), ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_session_hash(h, t, SYNCAUTH_SESSION_LEN), ERR_OK); /* prefix */
    assert_int_equal(syncauth_session_hash(h, NULL, SYNCAUTH_SESSION_LEN), ERR_UNAUTHORIZED);
    assert_int_equal(syncauth_session_hash(h, NULL, 0), ERR_UNAUTHORIZED);
    /* characters outside base64url, anywhere */
    {
        static const char bad_chars[] = {'+', '/', '=', ' ', '.', '\0', '\n', '\x80'};
        size_t j;

        for (j = 0; j < sizeof(bad_chars); j++) {
            for (i = 0; i < SYNCAUTH_SESSION_LEN; i += 7) {
                memcpy(t, seq, SYNCAUTH_SESSION_LEN + 1);
                t[i] = bad_chars[j];
                assert_int_equal(syncauth_session_hash(h, t, SYNCAUTH_SESSION_LEN),
                                 ERR_UNAUTHORIZED);
            }
        }
    }
    /* non-zero trailing bits: the last character of 32 bytes carries 4 bits, 2 unused */
    memcpy(t, seq, SYNCAUTH_SESSION_LEN + 1);
    t[SYNCAUTH_SESSION_LEN - 1] = 'g'; /* index 32: canonical */
    assert_int_equal(syncauth_session_hash(h, t, SYNCAUTH_SESSION_LEN), ERR_OK);
    t[SYNCAUTH_SESSION_LEN - 1] = 'h'; /* index 33: a stray bit */
    assert_int_equal(syncauth_session_hash(h, t, SYNCAUTH_SESSION_LEN), ERR_UNAUTHORIZED);
    t[SYNCAUTH_SESSION_LEN - 1] = '_'; /* index 63 */
    assert_int_equal(syncauth_session_hash(h, t, SYNCAUTH_SESSION_LEN), ERR_UNAUTHORIZED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hub_key),
        cmocka_unit_test(test_challenge_known_answer),
        cmocka_unit_test(test_challenge_roundtrip),
        cmocka_unit_test(test_challenge_window),
        cmocka_unit_test(test_challenge_refusals),
        cmocka_unit_test(test_signature),
        cmocka_unit_test(test_session_new),
        cmocka_unit_test(test_session_hash),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
