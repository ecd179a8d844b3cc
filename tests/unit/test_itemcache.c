/*
 * test_itemcache.c - api/itemcache.c: a body comes back byte for byte under its exact key
 * (vault, item, version) only; a new version misses; the ring writes over the oldest
 * bodies (also across its end); oversized bodies are not kept; bad parameters; NULL cache.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "common/buf.h"

#define V1 "aaaaaaaaaaaaaaaaaaaaaaaaaa"
#define V2 "bbbbbbbbbbbbbbbbbbbbbbbbbb"
#define I1 "cccccccccccccccccccccccccc"
#define I2 "dddddddddddddddddddddddddd"

static void test_hit_and_keys(void **state)
{
    struct api_itemcache *c = NULL;
    struct buf b;
    uint64_t hits, misses;

    (void)state;
    buf_init(&b, 1u << 20);
    assert_int_equal(api_itemcache_new(&c, 4096, 16), ERR_OK);
    assert_int_equal(api_itemcache_get(c, V1, I1, 1, &b), 0);
    api_itemcache_put(c, V1, I1, 1, "{\"v\":1}", 7);
    assert_int_equal(api_itemcache_get(c, V1, I1, 1, &b), 1);
    assert_int_equal(b.b_len, 7);
    assert_memory_equal(b.b_data, "{\"v\":1}", 7);
    /* another version, item or vault: no */
    assert_int_equal(api_itemcache_get(c, V1, I1, 2, &b), 0);
    assert_int_equal(b.b_len, 0);
    assert_int_equal(api_itemcache_get(c, V1, I2, 1, &b), 0);
    assert_int_equal(api_itemcache_get(c, V2, I1, 1, &b), 0);
    /* the same key again replaces the body */
    api_itemcache_put(c, V1, I1, 1, "{\"v\":11}", 8);
    assert_int_equal(api_itemcache_get(c, V1, I1, 1, &b), 1);
    assert_int_equal(b.b_len, 8);
    assert_memory_equal(b.b_data, "{\"v\":11}", 8);
    api_itemcache_stats(c, &hits, &misses);
    assert_int_equal(hits, 2);
    assert_int_equal(misses, 4);
    buf_free(&b);
    api_itemcache_free(c);
}

static void test_ring_wraps(void **state)
{
    struct api_itemcache *c = NULL;
    char body[500], want[500];
    struct buf b;
    uint64_t v;

    (void)state;
    buf_init(&b, 1u << 20);
    assert_int_equal(api_itemcache_new(&c, 4096, 64), ERR_OK);
    /* 40 bodies of 500 bytes through a 4096-byte ring: only the last 8 can still be there,
       and each one that is comes back exactly (several of them cross the ring's end) */
    for (v = 1; v <= 40; v++) {
        memset(body, (int)('a' + v % 26), sizeof(body));
        (void)snprintf(body, sizeof(body), "{\"version\":%llu}", (unsigned long long)v);
        api_itemcache_put(c, V1, I1, v, body, sizeof(body));
    }
    for (v = 1; v <= 40; v++) {
        int hit = api_itemcache_get(c, V1, I1, v, &b);

        if (v <= 32) {
            assert_int_equal(hit, 0);
            continue;
        }
        assert_int_equal(hit, 1);
        memset(want, (int)('a' + v % 26), sizeof(want));
        (void)snprintf(want, sizeof(want), "{\"version\":%llu}", (unsigned long long)v);
        assert_int_equal(b.b_len, sizeof(want));
        assert_memory_equal(b.b_data, want, sizeof(want));
    }
    buf_free(&b);
    api_itemcache_free(c);
}

static void test_limits(void **state)
{
    struct api_itemcache *c = NULL;
    static char big[4096 / 8 + 1];
    struct buf b;
    uint64_t hits, misses;

    (void)state;
    buf_init(&b, 1u << 20);
    assert_int_equal(api_itemcache_new(&c, 100, 16), ERR_BAD_INPUT);
    assert_null(c);
    assert_int_equal(api_itemcache_new(&c, 4096, 12), ERR_BAD_INPUT);
    assert_int_equal(api_itemcache_new(&c, 4096, 2), ERR_BAD_INPUT);
    assert_int_equal(api_itemcache_new(&c, 4096, 16), ERR_OK);
    memset(big, 'x', sizeof(big));
    api_itemcache_put(c, V1, I1, 1, big, sizeof(big)); /* over 1/8 of the ring */
    assert_int_equal(api_itemcache_get(c, V1, I1, 1, &b), 0);
    api_itemcache_put(c, V1, I1, 1, big, 0);
    assert_int_equal(api_itemcache_get(c, V1, I1, 1, &b), 0);
    api_itemcache_free(c);
    /* no cache: nothing kept, nothing found */
    api_itemcache_put(NULL, V1, I1, 1, "x", 1);
    assert_int_equal(api_itemcache_get(NULL, V1, I1, 1, &b), 0);
    api_itemcache_stats(NULL, &hits, &misses);
    assert_int_equal(hits + misses, 0);
    api_itemcache_free(NULL);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_and_keys),
        cmocka_unit_test(test_ring_wraps),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
