/* test_arena.c - per-request arenas: alignment, caps, reuse, allocation failure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdalign.h>
#include <string.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/limits.h"

static void test_alloc_and_align(void **state)
{
    struct arena a;
    size_t i;

    (void)state;
    arena_init(&a, 1 << 20);
    for (i = 1; i < 200; i++) {
        unsigned char *p = arena_alloc(&a, i);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
        memset(p, (int)i, i);
    }
    /* A request larger than a block gets its own block. */
    assert_non_null(arena_alloc(&a, ARENA_BLOCK_SIZE * 3));
    arena_free(&a);
    assert_null(a.ar_head);
    assert_int_equal(a.ar_used, 0);
}

static void test_strings(void **state)
{
    struct arena a;
    char *s;

    (void)state;
    arena_init(&a, 4096);
    s = arena_strdup(&a, "hello");
    assert_non_null(s);
    assert_string_equal(s, "hello");
    s = arena_strndup(&a, "hello world", 5);
    assert_non_null(s);
    assert_string_equal(s, "hello");
    s = arena_printf(&a, "%s-%03d", "item", 7);
    assert_non_null(s);
    assert_string_equal(s, "item-007");
    s = arena_calloc(&a, 4, 8);
    assert_non_null(s);
    assert_memory_equal(s, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 32);
    arena_free(&a);
}

static void test_cap(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, 256);
    assert_non_null(arena_alloc(&a, 128));
    assert_non_null(arena_alloc(&a, 128));
    assert_null(arena_alloc(&a, 1)); /* over the cap */
    assert_null(arena_alloc(&a, SIZE_MAX));
    assert_null(arena_calloc(&a, SIZE_MAX / 2, 4)); /* overflow */
    arena_free(&a);
    /* Reusable after free. */
    assert_non_null(arena_alloc(&a, 200));
    arena_free(&a);
}

static void test_allocation_failure(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, 1 << 20);
    mem_fail_after(0);
    assert_null(arena_alloc(&a, 16));
    mem_fail_after(-1);
    assert_non_null(arena_alloc(&a, 16));
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_and_align),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
