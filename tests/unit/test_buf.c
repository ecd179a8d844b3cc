/* test_buf.c - capped buffers, including every allocation failure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"

static void test_add_and_take(void **state)
{
    struct buf b;
    char *p;
    size_t len;

    (void)state;
    buf_init(&b, 100);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(buf_add(&b, "abc", 3), ERR_OK);
    assert_int_equal(buf_add_str(&b, "def"), ERR_OK);
    assert_int_equal(buf_addf(&b, "-%d-%s", 42, "x"), ERR_OK);
    assert_string_equal(buf_str(&b), "abcdef-42-x");
    assert_int_equal(b.b_len, 11);
    p = buf_take(&b, &len);
    assert_int_equal(len, 11);
    assert_string_equal(p, "abcdef-42-x");
    assert_null(b.b_data);
    assert_int_equal(b.b_len, 0);
    buf_release(p, len);
    assert_null(buf_take(&b, &len));
    assert_int_equal(len, 0);
    buf_free(&b);
}

static void test_cap_is_exact(void **state)
{
    struct buf b;
    char big[64];

    (void)state;
    memset(big, 'a', sizeof(big));
    buf_init(&b, 10);
    assert_int_equal(buf_add(&b, big, 10), ERR_OK); /* exactly the cap: fine */
    assert_int_equal(b.b_len, 10);
    assert_int_equal(buf_add(&b, "b", 1), ERR_TOO_LARGE); /* one more: refused */
    assert_null(b.b_data);                                /* and the buffer freed */
    assert_int_equal(b.b_len, 0);
    assert_int_equal(buf_addf(&b, "%s", "0123456789A"), ERR_TOO_LARGE);
    assert_int_equal(buf_add(&b, big, SIZE_MAX), ERR_TOO_LARGE); /* no overflow */
    buf_free(&b);
}

static void test_growth(void **state)
{
    struct buf b;
    size_t i;

    (void)state;
    buf_init(&b, 1 << 20);
    for (i = 0; i < 10000; i++)
        assert_int_equal(buf_add(&b, "0123456789", 10), ERR_OK);
    assert_int_equal(b.b_len, 100000);
    assert_int_equal(b.b_data[b.b_len], '\0');
    assert_memory_equal(b.b_data + 99990, "0123456789", 10);
    buf_reset(&b);
    assert_int_equal(b.b_len, 0);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(buf_add_str(&b, "again"), ERR_OK);
    assert_string_equal(buf_str(&b), "again");
    buf_free(&b);
}

static void test_json_string(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 256);
    assert_int_equal(buf_add_json_string(&b, "plain"), ERR_OK);
    assert_int_equal(buf_add_json_string(&b, "q\"b\\\t\r\n\x1f\x7f"
                                             "\xc3\xa9"),
                     ERR_OK);
    assert_string_equal(buf_str(&b), "\"plain\"\"q\\\"b\\\\\\t\\r\\n\\u001f\\u007f\xc3\xa9\"");
    buf_free(&b);
    /* runs between escapes, an escape last */
    assert_int_equal(buf_add_json_string(&b, "ab\"cd\\ef\n"), ERR_OK);
    assert_string_equal(buf_str(&b), "\"ab\\\"cd\\\\ef\\n\"");
    buf_free(&b);
    /* room made at once, never past the max (256 here) */
    assert_int_equal(buf_prepare(&b, 200), ERR_OK);
    assert_true(b.b_cap >= 201);
    assert_int_equal(b.b_len, 0);
    buf_free(&b);
    {
        struct buf small;

        buf_init(&small, 10);
        assert_int_equal(buf_prepare(&small, 500), ERR_OK);
        assert_int_equal(small.b_cap, 11);
        assert_int_equal(buf_add(&small, "0123456789", 10), ERR_OK);
        assert_int_equal(buf_prepare(&small, 5), ERR_OK);
        assert_int_equal(buf_add(&small, "x", 1), ERR_TOO_LARGE);
        buf_free(&small);
    }
}

/* curl's torture idea: make each allocation fail in turn; every failure is clean. */
static void test_allocation_failures(void **state)
{
    long n, total;
    int failures = 0;

    (void)state;
    mem_fail_after(-1);
    {
        struct buf b;
        size_t i;
        buf_init(&b, 1 << 16);
        for (i = 0; i < 100; i++)
            assert_int_equal(buf_add(&b, "0123456789abcdef", 16), ERR_OK);
        buf_free(&b);
    }
    total = mem_fail_after(-1);
    assert_true(total > 1);
    for (n = 0; n < total; n++) {
        struct buf b;
        size_t i;
        enum err rc = ERR_OK;

        buf_init(&b, 1 << 16);
        mem_fail_after(n);
        for (i = 0; i < 100 && rc == ERR_OK; i++)
            rc = buf_add(&b, "0123456789abcdef", 16);
        mem_fail_after(-1);
        if (rc != ERR_OK) {
            assert_int_equal(rc, ERR_NOMEM);
            assert_null(b.b_data);
            failures++;
        }
        buf_free(&b);
    }
    assert_int_equal(failures, total);
}

/* Decimal integers and base64url text, appended in place. */
static void test_numbers_and_base64(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 1024);
    assert_int_equal(buf_add_i64(&b, 0), ERR_OK);
    assert_int_equal(buf_add(&b, " ", 1), ERR_OK);
    assert_int_equal(buf_add_i64(&b, -1), ERR_OK);
    assert_int_equal(buf_add(&b, " ", 1), ERR_OK);
    assert_int_equal(buf_add_i64(&b, INT64_MAX), ERR_OK);
    assert_int_equal(buf_add(&b, " ", 1), ERR_OK);
    assert_int_equal(buf_add_i64(&b, INT64_MIN), ERR_OK);
    assert_string_equal(buf_str(&b), "0 -1 9223372036854775807 -9223372036854775808");
    buf_reset(&b);
    assert_int_equal(buf_add_b64url(&b, "", 0, 1), ERR_OK);
    assert_int_equal(buf_add_b64url(&b, "foob", 4, 0), ERR_OK);
    assert_int_equal(buf_add_b64url(&b, "\xfb\xff\xbf", 3, 1), ERR_OK);
    assert_string_equal(buf_str(&b), "\"\"Zm9vYg\"-_-_\"");
    assert_int_equal(b.b_len, 14);
    buf_free(&b);
    /* the cap holds: 6 bytes are 8 characters, 10 quoted */
    buf_init(&b, 9);
    assert_int_equal(buf_add_b64url(&b, "foobar", 6, 1), ERR_TOO_LARGE);
    assert_int_equal(b.b_len, 0);
    assert_int_equal(buf_add_b64url(&b, "foobar", 6, 0), ERR_OK);
    assert_string_equal(buf_str(&b), "Zm9vYmFy");
    buf_free(&b);
    /* members of an object being written: a comma between, none after '{' */
    buf_init(&b, 1024);
    assert_int_equal(buf_add(&b, "{", 1), ERR_OK);
    assert_int_equal(buf_add_member_str(&b, "id", "a\"b"), ERR_OK);
    assert_int_equal(buf_add_member_i64(&b, "n", -3), ERR_OK);
    assert_int_equal(buf_add_member_b64url(&b, "ct", "foob", 4), ERR_OK);
    assert_int_equal(buf_add_member_str(&b, "none", NULL), ERR_OK);
    assert_int_equal(buf_add(&b, ",\"o\":{", 6), ERR_OK);
    assert_int_equal(buf_add_member_i64(&b, "k", 1), ERR_OK);
    assert_int_equal(buf_add(&b, "}}", 2), ERR_OK);
    assert_string_equal(
        buf_str(&b),
        "{\"id\":\"a\\\"b\",\"n\":-3,\"ct\":\"Zm9vYg\",\"none\":\"\",\"o\":{\"k\":1}}");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_take),
        cmocka_unit_test(test_cap_is_exact),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_numbers_and_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
