/* test_crypto_secmem.c - crypto_init, CSPRNG, constant-time compare, secure memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "crypto/crypto.h"

static void test_init_idempotent(void **state)
{
    (void)state;
    assert_int_equal(crypto_init(), ERR_OK);
    assert_int_equal(crypto_init(), ERR_OK);
    assert_int_equal(crypto_init(), ERR_OK);
}

static void test_init_disables_core_dumps(void **state)
{
    struct rlimit rl;

    (void)state;
    assert_int_equal(crypto_init(), ERR_OK);
    assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
    assert_true(rl.rlim_cur == 0);
    assert_true(rl.rlim_max == 0);
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
}

static void test_random_differs(void **state)
{
    unsigned char a[32], b[32], zero[32];

    (void)state;
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    memset(zero, 0, sizeof(zero));
    assert_int_equal(crypto_random(a, sizeof(a)), ERR_OK);
    assert_int_equal(crypto_random(b, sizeof(b)), ERR_OK);
    /* 2^-256 chance of a false failure for each comparison. */
    assert_memory_not_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, zero, sizeof(a));
    assert_int_equal(crypto_random(NULL, 0), ERR_OK);
    assert_int_equal(crypto_random(a, 0), ERR_OK);
}

static void test_random_uniform_range(void **state)
{
    static const uint32_t uppers[] = {2, 3, 7, 10, 26, 32, 1000, 0x80000001u, UINT32_MAX};
    int seen[10];
    size_t i;
    int k;

    (void)state;
    assert_int_equal(crypto_random_uniform(0), 0);
    assert_int_equal(crypto_random_uniform(1), 0);
    for (i = 0; i < sizeof(uppers) / sizeof(uppers[0]); i++)
        for (k = 0; k < 1000; k++)
            assert_true(crypto_random_uniform(uppers[i]) < uppers[i]);
    /* Every value of [0, 10) turns up in 1000 draws (failure chance ~ 10 * 0.9^1000). */
    memset(seen, 0, sizeof(seen));
    for (k = 0; k < 1000; k++)
        seen[crypto_random_uniform(10)] = 1;
    for (k = 0; k < 10; k++)
        assert_int_equal(seen[k], 1);
}

static void test_memeq(void **state)
{
    static const unsigned char a[] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const unsigned char b[] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const unsigned char c[] = {1, 2, 3, 4, 5, 6, 7, 9};
    static const unsigned char d[] = {0, 2, 3, 4, 5, 6, 7, 8};

    (void)state;
    assert_int_equal(crypto_memeq(a, b, sizeof(a)), 1);
    assert_int_equal(crypto_memeq(a, c, sizeof(a)), 0);
    assert_int_equal(crypto_memeq(a, d, sizeof(a)), 0);
    assert_int_equal(crypto_memeq(a, c, sizeof(a) - 1), 1); /* differ only in the last byte */
    assert_int_equal(crypto_memeq(a, c, 0), 1);
    assert_int_equal(crypto_memeq(a, a, sizeof(a)), 1);
}

static void test_secmem(void **state)
{
    static const unsigned char zero[64] = {0};
    unsigned char *p;
    size_t i;

    (void)state;
    p = secmem_alloc(64);
    assert_non_null(p);
    for (i = 0; i < 64; i++)
        p[i] = (unsigned char)(0xA5 ^ i);
    assert_int_equal(p[0], 0xA5);
    assert_int_equal(p[63], 0xA5 ^ 63);
    secmem_wipe(p, 64);
    assert_memory_equal(p, zero, 64);
    memset(p, 0x5A, 64);
    secmem_wipe(p + 16, 32); /* only the middle */
    assert_int_equal(p[15], 0x5A);
    assert_memory_equal(p + 16, zero, 32);
    assert_int_equal(p[48], 0x5A);
    secmem_free(p);
    secmem_free(NULL);
    secmem_wipe(NULL, 0);

    /* Odd sizes and a large-ish one (several pages). */
    p = secmem_alloc(1);
    assert_non_null(p);
    p[0] = 1;
    secmem_free(p);
    p = secmem_alloc(3 * 4096 + 17);
    assert_non_null(p);
    memset(p, 0xFF, 3 * 4096 + 17);
    secmem_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_idempotent), cmocka_unit_test(test_init_disables_core_dumps),
        cmocka_unit_test(test_random_differs),  cmocka_unit_test(test_random_uniform_range),
        cmocka_unit_test(test_memeq),           cmocka_unit_test(test_secmem),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
