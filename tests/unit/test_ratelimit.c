/*
 * test_ratelimit.c - common/ratelimit.h: burst then refill at the rate, Retry-After,
 * looking without spending, keys apart, eviction of stale keys when the table is full,
 * bad parameters, and many threads at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/ratelimit.h"

static void test_burst_and_refill(void **state)
{
    struct ratelimit *rl = NULL;
    unsigned retry = 0;
    int i;

    (void)state;
    assert_int_equal(ratelimit_new(&rl, 10, 20), ERR_OK);
    for (i = 0; i < 20; i++)
        assert_int_equal(ratelimit_take(rl, "a", 1, 1, 1000, &retry), 1);
    assert_int_equal(ratelimit_take(rl, "a", 1, 1, 1000, &retry), 0);
    assert_int_equal(retry, 1);
    /* 10 per second: after 100 ms one more */
    assert_int_equal(ratelimit_take(rl, "a", 1, 1, 1099, &retry), 0);
    assert_int_equal(ratelimit_take(rl, "a", 1, 1, 1100, &retry), 1);
    assert_int_equal(ratelimit_take(rl, "a", 1, 1, 1100, &retry), 0);
    /* a long pause refills only up to the burst */
    for (i = 0; i < 20; i++)
        assert_int_equal(ratelimit_take(rl, "a", 1, 1, 100000, NULL), 1);
    assert_int_equal(ratelimit_take(rl, "a", 1, 1, 100000, NULL), 0);
    /* the clock going back spends nothing extra and refills nothing */
    assert_int_equal(ratelimit_take(rl, "a", 1, 1, 50000, NULL), 0);
    /* other keys are apart */
    assert_int_equal(ratelimit_take(rl, "b", 1, 1, 100000, NULL), 1);
    assert_int_equal(ratelimit_take(rl, "ab", 2, 1, 100000, NULL), 1);
    ratelimit_free(rl);
}

static void test_retry_after_and_peek(void **state)
{
    struct ratelimit *rl = NULL;
    unsigned retry = 0;

    (void)state;
    assert_int_equal(ratelimit_new(&rl, 0.1, 1), ERR_OK); /* one every 10 s */
    /* cost 0 looks only */
    assert_int_equal(ratelimit_take(rl, "k", 1, 0, 0, &retry), 1);
    assert_int_equal(ratelimit_take(rl, "k", 1, 0, 0, &retry), 1);
    assert_int_equal(ratelimit_take(rl, "k", 1, 1, 0, &retry), 1);
    assert_int_equal(ratelimit_take(rl, "k", 1, 0, 0, &retry), 0);
    assert_int_equal(retry, 10);
    assert_int_equal(ratelimit_take(rl, "k", 1, 1, 7000, &retry), 0);
    assert_int_equal(retry, 3);
    assert_int_equal(ratelimit_take(rl, "k", 1, 1, 10000, &retry), 1);
    ratelimit_free(rl);
    /* Retry-After is capped at an hour */
    assert_int_equal(ratelimit_new(&rl, 0.0001, 1), ERR_OK);
    assert_int_equal(ratelimit_take(rl, "k", 1, 1, 0, &retry), 1);
    assert_int_equal(ratelimit_take(rl, "k", 1, 1, 0, &retry), 0);
    assert_int_equal(retry, 3600);
    ratelimit_free(rl);
}

static void test_bad_parameters(void **state)
{
    struct ratelimit *rl = (struct ratelimit *)1;

    (void)state;
    assert_int_equal(ratelimit_new(&rl, 0, 10), ERR_BAD_INPUT);
    assert_null(rl);
    assert_int_equal(ratelimit_new(&rl, -1, 10), ERR_BAD_INPUT);
    assert_int_equal(ratelimit_new(&rl, 10, 0.5), ERR_BAD_INPUT);
    assert_int_equal(ratelimit_new(&rl, 1.0 / 0.0, 10), ERR_BAD_INPUT);
    ratelimit_free(NULL);
}

static void test_table_full(void **state)
{
    struct ratelimit *rl = NULL;
    char key[32];
    int i, n;

    (void)state;
    assert_int_equal(ratelimit_new(&rl, 1, 1), ERR_OK);
    /* spend the one request of "victim", then flood the table with 4x its size of keys */
    assert_int_equal(ratelimit_take(rl, "victim", 6, 1, 0, NULL), 1);
    assert_int_equal(ratelimit_take(rl, "victim", 6, 1, 0, NULL), 0);
    for (i = 0; i < 4 * RATELIMIT_SLOTS; i++) {
        n = snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(ratelimit_take(rl, key, (size_t)n, 1, 1 + i / 1000, NULL), 1);
    }
    /* every new key got a full bucket; the victim may have been evicted (then full again),
     * which errs on letting a request through, never on refusing one */
    assert_int_equal(ratelimit_take(rl, "victim", 6, 1, 100, NULL), 1);
    ratelimit_free(rl);
}

struct worker {
    struct ratelimit *w_rl;
    int w_allowed;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int i;

    for (i = 0; i < 10000; i++)
        w->w_allowed += ratelimit_take(w->w_rl, "shared", 6, 1, 0, NULL);
    return NULL;
}

static void test_threads(void **state)
{
    struct worker w[4];
    pthread_t t[4];
    int i, total = 0;
    struct ratelimit *rl = NULL;

    (void)state;
    assert_int_equal(ratelimit_new(&rl, 1, 1000), ERR_OK);
    for (i = 0; i < 4; i++) {
        w[i].w_rl = rl;
        w[i].w_allowed = 0;
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        total += w[i].w_allowed;
    }
    assert_int_equal(total, 1000); /* exactly the burst, however the threads interleave */
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_and_refill), cmocka_unit_test(test_retry_after_and_peek),
        cmocka_unit_test(test_bad_parameters),   cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
