/* test_adminsig.c - Sesame-Admin request signatures: canonical string, sign/verify, parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "crypto/crypto.h"
#include "keys/adminsig.h"

#define ACCOUNT "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define TS      1700000000LL
#define NONCE   "AAECAwQFBgcICQoLDA0ODw" /* bytes 00..0f */
#define BODY    "{}"
#define SIG86                                                                                      \
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static struct ec_key *admin, *other;
static unsigned char nonce[ADMINSIG_NONCE_BYTES];

static int group_setup(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(nonce); i++)
        nonce[i] = (unsigned char)i;
    if (crypto_init() != ERR_OK || ecdsa_p256_generate(&admin) != ERR_OK ||
        ecdsa_p256_generate(&other) != ERR_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ecdsa_p256_free(admin);
    ecdsa_p256_free(other);
    return 0;
}

static void test_canonical(void **state)
{
    struct buf b;

    (void)state;
    assert_int_equal(strlen(SIG86), ADMINSIG_SIG_LEN);
    assert_int_equal(strlen(NONCE), ADMINSIG_NONCE_LEN);
    buf_init(&b, 8192);
    assert_int_equal(adminsig_canonical(&b, "POST", "/v1/vaults?x=1&y=%20", TS, NONCE, BODY, 2),
                     ERR_OK);
    /* SHA-256("{}") = 44136fa3...aff8a */
    assert_string_equal(buf_str(&b),
                        "sesame-admin-v1\nPOST\n/v1/vaults?x=1&y=%20\n1700000000\n" NONCE
                        "\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    buf_free(&b);
    /* Empty body: SHA-256 of the empty string. */
    assert_int_equal(adminsig_canonical(&b, "GET", "/v1/vaults", 0, NONCE, NULL, 0), ERR_OK);
    assert_string_equal(buf_str(&b),
                        "sesame-admin-v1\nGET\n/v1/vaults\n0\n" NONCE
                        "\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    buf_free(&b);

    assert_int_equal(adminsig_canonical(&b, "get", "/v1", TS, NONCE, NULL, 0), ERR_BAD_INPUT);
    assert_int_equal(adminsig_canonical(&b, "", "/v1", TS, NONCE, NULL, 0), ERR_BAD_INPUT);
    assert_int_equal(adminsig_canonical(&b, "AVERYLONGMETHODNAME", "/v1", TS, NONCE, NULL, 0),
                     ERR_BAD_INPUT);
    assert_int_equal(adminsig_canonical(&b, "GET", "v1", TS, NONCE, NULL, 0), ERR_BAD_INPUT);
    assert_int_equal(adminsig_canonical(&b, "GET", "/v1 x", TS, NONCE, NULL, 0), ERR_BAD_INPUT);
    assert_int_equal(adminsig_canonical(&b, "GET", "/v1\n", TS, NONCE, NULL, 0), ERR_BAD_INPUT);
    assert_int_equal(adminsig_canonical(&b, "GET", "/v1", -1, NONCE, NULL, 0), ERR_BAD_INPUT);
    assert_int_equal(adminsig_canonical(&b, "GET", "/v1", TS, "AAEC", NULL, 0), ERR_BAD_INPUT);
    assert_int_equal(adminsig_canonical(&b, "GET", "/v1", TS, NONCE, NULL, 1), ERR_BAD_INPUT);
    assert_int_equal(b.b_len, 0);
}

/* Signs the standard request into b (initialised here). */
static void sign_std(struct buf *b, const struct ec_key *key)
{
    buf_init(b, 1024);
    assert_int_equal(
        adminsig_sign_nonce(b, key, ACCOUNT, "POST", "/v1/vaults?x=1", BODY, 2, TS, nonce), ERR_OK);
}

static void test_sign_verify(void **state)
{
    static const char prefix[] =
        "Sesame-Admin account=" ACCOUNT ", ts=1700000000, nonce=" NONCE ", sig=";
    struct adminsig_auth a;
    enum adminsig_reason why = ADMINSIG_INTERNAL;
    struct buf b;

    (void)state;
    sign_std(&b, admin);
    assert_int_equal(b.b_len, strlen(prefix) + ADMINSIG_SIG_LEN);
    assert_memory_equal(buf_str(&b), prefix, strlen(prefix));

    assert_int_equal(adminsig_parse(&a, buf_str(&b), b.b_len, &why), ERR_OK);
    assert_int_equal(why, ADMINSIG_OK);
    assert_string_equal(a.aa_account, ACCOUNT);
    assert_int_equal(a.aa_ts, TS);
    assert_string_equal(a.aa_nonce, NONCE);

    /* The window: exactly 300 s either way is accepted, 301 is not. */
    assert_int_equal(adminsig_verify(&a, admin, "POST", "/v1/vaults?x=1", BODY, 2, TS, &why),
                     ERR_OK);
    assert_int_equal(adminsig_verify(&a, admin, "POST", "/v1/vaults?x=1", BODY, 2, TS + 300, &why),
                     ERR_OK);
    assert_int_equal(adminsig_verify(&a, admin, "POST", "/v1/vaults?x=1", BODY, 2, TS - 300, &why),
                     ERR_OK);
    assert_int_equal(adminsig_verify(&a, admin, "POST", "/v1/vaults?x=1", BODY, 2, TS + 301, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, ADMINSIG_OUTSIDE_WINDOW);
    assert_int_equal(adminsig_verify(&a, admin, "POST", "/v1/vaults?x=1", BODY, 2, TS - 301, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, ADMINSIG_OUTSIDE_WINDOW);
    assert_int_equal(adminsig_verify(&a, admin, "POST", "/v1/vaults?x=1", BODY, 2, INT64_MIN, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, ADMINSIG_OUTSIDE_WINDOW);

    /* Anything changed: the signature fails. */
    assert_int_equal(adminsig_verify(&a, other, "POST", "/v1/vaults?x=1", BODY, 2, TS, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, ADMINSIG_BAD_SIGNATURE);
    assert_int_equal(adminsig_verify(&a, admin, "PUT", "/v1/vaults?x=1", BODY, 2, TS, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, ADMINSIG_BAD_SIGNATURE);
    assert_int_equal(adminsig_verify(&a, admin, "POST", "/v1/vaultz?x=1", BODY, 2, TS, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, ADMINSIG_BAD_SIGNATURE);
    assert_int_equal(adminsig_verify(&a, admin, "POST", "/v1/vaults?x=2", BODY, 2, TS, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, ADMINSIG_BAD_SIGNATURE);
    assert_int_equal(adminsig_verify(&a, admin, "POST", "/v1/vaults", BODY, 2, TS, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, ADMINSIG_BAD_SIGNATURE);
    assert_int_equal(adminsig_verify(&a, admin, "POST", "/v1/vaults?x=1", "{ }", 3, TS, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, ADMINSIG_BAD_SIGNATURE);
    assert_int_equal(adminsig_verify(&a, admin, "POST", "/v1/vaults?x=1", NULL, 0, TS, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, ADMINSIG_BAD_SIGNATURE);
    {
        struct adminsig_auth t = a;
        t.aa_ts = TS + 1;
        assert_int_equal(adminsig_verify(&t, admin, "POST", "/v1/vaults?x=1", BODY, 2, TS, &why),
                         ERR_UNAUTHORIZED);
        assert_int_equal(why, ADMINSIG_BAD_SIGNATURE);
        t = a;
        t.aa_nonce[0] = 'B';
        assert_int_equal(adminsig_verify(&t, admin, "POST", "/v1/vaults?x=1", BODY, 2, TS, &why),
                         ERR_UNAUTHORIZED);
        assert_int_equal(why, ADMINSIG_BAD_SIGNATURE);
        t = a;
        memcpy(t.aa_account, "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", ID_LEN); /* not signed: key decides */
        assert_int_equal(adminsig_verify(&t, admin, "POST", "/v1/vaults?x=1", BODY, 2, TS, &why),
                         ERR_OK);
        t = a;
        t.aa_sig[5] ^= 1;
        assert_int_equal(adminsig_verify(&t, admin, "POST", "/v1/vaults?x=1", BODY, 2, TS, &why),
                         ERR_UNAUTHORIZED);
        assert_int_equal(why, ADMINSIG_BAD_SIGNATURE);
        t = a;
        t.aa_nonce[0] = '\0';
        assert_int_equal(adminsig_verify(&t, admin, "POST", "/v1/vaults?x=1", BODY, 2, TS, &why),
                         ERR_UNAUTHORIZED);
        assert_int_equal(why, ADMINSIG_BAD_REQUEST);
    }
    assert_int_equal(adminsig_verify(&a, admin, "post", "/v1/vaults?x=1", BODY, 2, TS, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, ADMINSIG_BAD_REQUEST);
    assert_int_equal(adminsig_verify(&a, admin, "POST", "v1/vaults", BODY, 2, TS, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, ADMINSIG_BAD_REQUEST);
    assert_int_equal(adminsig_verify(NULL, admin, "POST", "/v1", BODY, 2, TS, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, ADMINSIG_INTERNAL);
    assert_int_equal(adminsig_verify(&a, NULL, "POST", "/v1", BODY, 2, TS, NULL), ERR_UNAUTHORIZED);
    buf_free(&b);

    /* Fresh nonces with adminsig_sign. */
    {
        struct adminsig_auth a1, a2;
        struct buf b1, b2;
        buf_init(&b1, 1024);
        buf_init(&b2, 1024);
        assert_int_equal(adminsig_sign(&b1, admin, ACCOUNT, "GET", "/v1/vaults", NULL, 0, TS),
                         ERR_OK);
        assert_int_equal(adminsig_sign(&b2, admin, ACCOUNT, "GET", "/v1/vaults", NULL, 0, TS),
                         ERR_OK);
        assert_int_equal(adminsig_parse(&a1, buf_str(&b1), b1.b_len, NULL), ERR_OK);
        assert_int_equal(adminsig_parse(&a2, buf_str(&b2), b2.b_len, NULL), ERR_OK);
        assert_string_not_equal(a1.aa_nonce, a2.aa_nonce);
        assert_int_equal(adminsig_verify(&a1, admin, "GET", "/v1/vaults", NULL, 0, TS, NULL),
                         ERR_OK);
        assert_int_equal(adminsig_verify(&a2, admin, "GET", "/v1/vaults", "", 0, TS, NULL), ERR_OK);
        buf_free(&b1);
        buf_free(&b2);
    }

    /* Signing refuses bad arguments. */
    buf_init(&b, 1024);
    assert_int_equal(
        adminsig_sign(&b, admin, "abcdefghijklmnopqrstuvwxyz", "GET", "/v1", NULL, 0, TS),
        ERR_BAD_INPUT);
    assert_int_equal(adminsig_sign(&b, admin, ACCOUNT, "GET", "/v1", NULL, 0, -1), ERR_BAD_INPUT);
    assert_int_equal(adminsig_sign(&b, admin, ACCOUNT, "Get", "/v1", NULL, 0, TS), ERR_BAD_INPUT);
    {
        struct ec_key *pub = ecdsa_p256_public_dup(admin);
        assert_int_equal(adminsig_sign(&b, pub, ACCOUNT, "GET", "/v1", NULL, 0, TS), ERR_CRYPTO);
        ecdsa_p256_free(pub);
    }
    assert_int_equal(b.b_len, 0);
    buf_free(&b);
}

struct parse_case {
    const char *value;
    enum adminsig_reason why;
};

#define P_ACC "account=" ACCOUNT
#define P_TS  "ts=1700000000"
#define P_NON "nonce=" NONCE
#define P_SIG "sig=" SIG86

static void test_parse_table(void **state)
{
    static const struct parse_case cases[] = {
        {"Sesame-Admin " P_ACC ", " P_TS ", " P_NON ", " P_SIG, ADMINSIG_OK},
        {"Sesame-Admin " P_ACC "," P_TS "," P_NON "," P_SIG, ADMINSIG_OK},
        {"Sesame-Admin   " P_ACC " ,\t" P_TS " , " P_NON ",  " P_SIG " \t", ADMINSIG_OK},
        {"sesame-admin " P_ACC ", " P_TS ", " P_NON ", " P_SIG, ADMINSIG_OK},
        {"SESAME-ADMIN " P_SIG ", " P_NON ", " P_TS ", " P_ACC, ADMINSIG_OK},
        {"Sesame-Admin " P_ACC ", ts=0, " P_NON ", " P_SIG, ADMINSIG_OK},
        {"Sesame-Admin " P_ACC ", ts=9223372036854775807, " P_NON ", " P_SIG, ADMINSIG_OK},
        {"", ADMINSIG_EMPTY},
        {"Bearer abc", ADMINSIG_BAD_SCHEME},
        {"Sesame-Admin", ADMINSIG_BAD_SCHEME},
        {"Sesame-Admin\t" P_ACC, ADMINSIG_BAD_SCHEME},
        {"Sesame-Adminaccount=" ACCOUNT, ADMINSIG_BAD_SCHEME},
        {" Sesame-Admin " P_ACC ", " P_TS ", " P_NON ", " P_SIG, ADMINSIG_BAD_SCHEME},
        {"Sesame-Admins " P_ACC, ADMINSIG_BAD_SCHEME},
        {"Sesame-Admin ", ADMINSIG_MALFORMED},
        {"Sesame-Admin " P_ACC ", " P_TS ", " P_NON ", " P_SIG ",", ADMINSIG_MALFORMED},
        {"Sesame-Admin " P_ACC ", " P_TS ", " P_NON ", " P_SIG ", ", ADMINSIG_MALFORMED},
        {"Sesame-Admin ," P_ACC ", " P_TS ", " P_NON ", " P_SIG, ADMINSIG_MALFORMED},
        {"Sesame-Admin " P_ACC ",, " P_TS ", " P_NON ", " P_SIG, ADMINSIG_MALFORMED},
        {"Sesame-Admin " P_ACC " " P_TS ", " P_NON ", " P_SIG, ADMINSIG_MALFORMED},
        {"Sesame-Admin " P_ACC "; " P_TS ", " P_NON ", " P_SIG, ADMINSIG_MALFORMED},
        {"Sesame-Admin account=\"" ACCOUNT "\", " P_TS ", " P_NON ", " P_SIG, ADMINSIG_MALFORMED},
        {"Sesame-Admin account =" ACCOUNT ", " P_TS ", " P_NON ", " P_SIG, ADMINSIG_MALFORMED},
        {"Sesame-Admin account= " ACCOUNT ", " P_TS ", " P_NON ", " P_SIG, ADMINSIG_MALFORMED},
        {"Sesame-Admin Account=" ACCOUNT ", " P_TS ", " P_NON ", " P_SIG, ADMINSIG_MALFORMED},
        {"Sesame-Admin " P_ACC ", ts=1.5, " P_NON ", " P_SIG, ADMINSIG_MALFORMED},
        {"Sesame-Admin " P_ACC ", " P_TS ", nonce=" NONCE "==, " P_SIG, ADMINSIG_MALFORMED},
        {"Sesame-Admin " P_ACC ", " P_TS ", " P_NON ", sig=" SIG86 "+", ADMINSIG_MALFORMED},
        {"Sesame-Admin " P_ACC ", " P_TS ", " P_NON ", " P_SIG "\r\n", ADMINSIG_MALFORMED},
        {"Sesame-Admin " P_ACC ", " P_TS ", " P_NON ", " P_SIG ", x=1", ADMINSIG_UNKNOWN_PARAM},
        {"Sesame-Admin foo=bar, " P_ACC ", " P_TS ", " P_NON ", " P_SIG, ADMINSIG_UNKNOWN_PARAM},
        {"Sesame-Admin " P_ACC ", " P_TS ", " P_NON ", " P_SIG ", " P_TS, ADMINSIG_DUPLICATE_PARAM},
        {"Sesame-Admin " P_ACC ", " P_ACC ", " P_TS ", " P_NON ", " P_SIG,
         ADMINSIG_DUPLICATE_PARAM},
        {"Sesame-Admin " P_ACC ", " P_TS ", " P_NON, ADMINSIG_MISSING_PARAM},
        {"Sesame-Admin " P_TS ", " P_NON ", " P_SIG, ADMINSIG_MISSING_PARAM},
        {"Sesame-Admin account=abcdefghijklmnopqrstuvwxyz, " P_TS ", " P_NON ", " P_SIG,
         ADMINSIG_BAD_ACCOUNT},
        {"Sesame-Admin account=ABCDEFGHIJKLMNOPQRSTUVWXY, " P_TS ", " P_NON ", " P_SIG,
         ADMINSIG_BAD_ACCOUNT},
        {"Sesame-Admin account=ABCDEFGHIJKLMNOPQRSTUVWXY_, " P_TS ", " P_NON ", " P_SIG,
         ADMINSIG_BAD_ACCOUNT},
        {"Sesame-Admin " P_ACC ", ts=-1, " P_NON ", " P_SIG, ADMINSIG_BAD_TS},
        {"Sesame-Admin " P_ACC ", ts=01700000000, " P_NON ", " P_SIG, ADMINSIG_BAD_TS},
        {"Sesame-Admin " P_ACC ", ts=9223372036854775808, " P_NON ", " P_SIG, ADMINSIG_BAD_TS},
        {"Sesame-Admin " P_ACC ", ts=99999999999999999999, " P_NON ", " P_SIG, ADMINSIG_BAD_TS},
        {"Sesame-Admin " P_ACC ", ts=abc, " P_NON ", " P_SIG, ADMINSIG_BAD_TS},
        {"Sesame-Admin " P_ACC ", " P_TS ", nonce=AAECAwQFBgcICQoLDA0OD, " P_SIG,
         ADMINSIG_BAD_NONCE},
        {"Sesame-Admin " P_ACC ", " P_TS ", nonce=AAECAwQFBgcICQoLDA0ODx, " P_SIG,
         ADMINSIG_BAD_NONCE},
        {"Sesame-Admin " P_ACC ", " P_TS ", nonce=AAECAwQFBgcICQoLDA0ODwA, " P_SIG,
         ADMINSIG_BAD_NONCE},
        {"Sesame-Admin " P_ACC ", " P_TS ", " P_NON ", sig=AAAA", ADMINSIG_BAD_SIG_ENCODING},
        {"Sesame-Admin " P_ACC ", " P_TS ", " P_NON ", " P_SIG "A", ADMINSIG_BAD_SIG_ENCODING},
        {"Sesame-Admin " P_ACC ", " P_TS ", " P_NON ", sig=" SIG86 "AA", ADMINSIG_BAD_SIG_ENCODING},
    };
    struct adminsig_auth a;
    enum adminsig_reason why;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum err rc = adminsig_parse(&a, cases[i].value, strlen(cases[i].value), &why);
        if (why != cases[i].why)
            fail_msg("case %zu: %s, expected %s", i, adminsig_reason_name(why),
                     adminsig_reason_name(cases[i].why));
        assert_int_equal(rc, cases[i].why == ADMINSIG_OK ? ERR_OK : ERR_UNAUTHORIZED);
        if (cases[i].why != ADMINSIG_OK) {
            assert_string_equal(a.aa_account, ""); /* nothing half-parsed is left */
            assert_string_equal(a.aa_nonce, "");
        }
    }

    /* A NUL inside, the length cap, no value. */
    {
        static const char with_nul[] = "Sesame-Admin " P_ACC "\0, " P_TS ", " P_NON ", " P_SIG;
        char big[ADMINSIG_MAX_HEADER + 2];
        assert_int_equal(adminsig_parse(&a, with_nul, sizeof(with_nul) - 1, &why),
                         ERR_UNAUTHORIZED);
        assert_int_equal(why, ADMINSIG_MALFORMED);
        memset(big, ' ', sizeof(big));
        assert_int_equal(adminsig_parse(&a, big, ADMINSIG_MAX_HEADER + 1, &why), ERR_UNAUTHORIZED);
        assert_int_equal(why, ADMINSIG_TOO_LONG);
        assert_int_equal(adminsig_parse(&a, NULL, 0, &why), ERR_UNAUTHORIZED);
        assert_int_equal(why, ADMINSIG_EMPTY);
        assert_int_equal(adminsig_parse(NULL, "x", 1, &why), ERR_UNAUTHORIZED);
        assert_int_equal(why, ADMINSIG_INTERNAL);
    }
}

static void test_reason_names(void **state)
{
    int r, s;

    (void)state;
    assert_string_equal(adminsig_reason_name(ADMINSIG_OUTSIDE_WINDOW), "outside_window");
    assert_string_equal(adminsig_reason_name(ADMINSIG_DUPLICATE_PARAM), "duplicate_param");
    assert_string_equal(adminsig_reason_name(ADMINSIG__COUNT), "unknown");
    for (r = 0; r < ADMINSIG__COUNT; r++) {
        assert_string_not_equal(adminsig_reason_name((enum adminsig_reason)r), "unknown");
        for (s = 0; s < r; s++)
            assert_string_not_equal(adminsig_reason_name((enum adminsig_reason)r),
                                    adminsig_reason_name((enum adminsig_reason)s));
    }
}

/* Every allocation of ours failing in turn: an error, nothing leaked. */
static void test_allocation_failures(void **state)
{
    struct adminsig_auth a;
    struct buf b, t;
    long total, n;
    enum err rc;

    (void)state;
    mem_fail_after(-1);
    sign_std(&b, admin);
    total = mem_fail_after(-1);
    assert_true(total > 0);
    for (n = 0; n < total; n++) {
        buf_init(&t, 1024);
        mem_fail_after(n);
        rc = adminsig_sign_nonce(&t, admin, ACCOUNT, "POST", "/v1/vaults?x=1", BODY, 2, TS, nonce);
        mem_fail_after(-1);
        assert_int_equal(rc, ERR_NOMEM);
        buf_free(&t);
    }
    assert_int_equal(adminsig_parse(&a, buf_str(&b), b.b_len, NULL), ERR_OK);
    mem_fail_after(-1);
    assert_int_equal(adminsig_verify(&a, admin, "POST", "/v1/vaults?x=1", BODY, 2, TS, NULL),
                     ERR_OK);
    total = mem_fail_after(-1);
    for (n = 0; n < total; n++) {
        enum adminsig_reason why = ADMINSIG_OK;
        mem_fail_after(n);
        rc = adminsig_verify(&a, admin, "POST", "/v1/vaults?x=1", BODY, 2, TS, &why);
        mem_fail_after(-1);
        assert_int_equal(rc, ERR_UNAUTHORIZED);
        assert_int_equal(why, ADMINSIG_INTERNAL);
    }
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical),           cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_parse_table),         cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_allocation_failures),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
