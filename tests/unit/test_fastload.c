/*
 * test_fastload.c - json/fastload.c: plain JSON (what the hub writes) is parsed on the
 * fast path to the tree jansson gives; everything outside that shape is left to jansson
 * (NULL), so jansson decides, and errors stay jansson's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "json/fastload.h"

/* text parses on the fast path, to the same tree as jansson's */
static json_t *fast_same(const char *text)
{
    json_error_t jerr;
    json_t *f = jsonfast_load(text, strlen(text));
    json_t *r = json_loadb(text, strlen(text), JSON_REJECT_DUPLICATES, &jerr);

    assert_non_null(f);
    assert_non_null(r);
    assert_true(json_equal(f, r));
    json_decref(r);
    return f;
}

static void test_plain(void **state)
{
    json_t *v, *it;

    (void)state;
    v = fast_same(" {\"items\":[{\"id\":\"abc\",\"version\":3,\"overview\":\"AA-_\","
                  "\"createdAt\":-5,\"n\":null,\"t\":true,\"f\":false}],\r\n\t\"next\":null} ");
    it = json_array_get(json_object_get(v, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "id")), "abc");
    assert_int_equal(json_integer_value(json_object_get(it, "version")), 3);
    assert_int_equal(json_integer_value(json_object_get(it, "createdAt")), -5);
    assert_string_equal(json_string_value(json_object_get(it, "overview")), "AA-_");
    assert_true(json_is_null(json_object_get(it, "n")));
    assert_true(json_is_true(json_object_get(it, "t")));
    assert_true(json_is_false(json_object_get(it, "f")));
    assert_true(json_is_null(json_object_get(v, "next")));
    json_decref(v);
    v = fast_same("[-9223372036854775808,9223372036854775807,0,-0,[],{},\"\",[[{}]]]");
    assert_int_equal(json_integer_value(json_array_get(v, 0)), INT64_MIN);
    assert_int_equal(json_integer_value(json_array_get(v, 1)), INT64_MAX);
    assert_int_equal(json_array_size(v), 8);
    json_decref(v);
}

/* outside the plain shape: NULL, whether jansson takes it or not */
static void test_left_to_jansson(void **state)
{
    static const char *const texts[] = {
        "",
        "   ",
        "\"top\"",
        "12",
        "null",
        "{\"a\":\"\\u00e9\"}",
        "{\"a\":\"\\\"\"}",
        "{\"a\":\"caf\xc3\xa9\"}",
        "{\"a\":\"tab\there\"}",
        "{\"a\":1.5}",
        "{\"a\":1e3}",
        "{\"a\":01}",
        "{\"a\":-}",
        "{\"a\":9223372036854775808}",
        "{\"a\":-9223372036854775809}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":1} x",
        "{\"a\":1,}",
        "[1,]",
        "{\"a\" 1}",
        "{a:1}",
        "{\"a\":tru}",
        "[1 2]",
        "{\"a\":[1}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        assert_null(jsonfast_load(texts[i], strlen(texts[i])));
    /* a NUL inside the length */
    assert_null(jsonfast_load("{\"a\":\"x\0y\"}", 11));
    assert_null(jsonfast_load("[1]\0", 4));
    assert_null(jsonfast_load(NULL, 0));
}

/* jsonfast_loadb: the fast path's tree, else jansson's, with jansson's errors */
static void test_loadb(void **state)
{
    json_error_t jerr;
    json_t *v;

    (void)state;
    v = jsonfast_loadb("{\"a\":1}", 7, &jerr);
    assert_non_null(v);
    assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
    json_decref(v);
    v = jsonfast_loadb("{\"a\":\"\\u00e9\"}", 14, &jerr); /* an escape: jansson's */
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "a")), "\xc3\xa9");
    json_decref(v);
    assert_null(jsonfast_loadb("{\"a\":1,\"a\":2}", 13, &jerr));
    assert_int_equal(json_error_code(&jerr), json_error_duplicate_key);
    assert_null(jsonfast_loadb("[1,", 3, NULL));
}

/* jsonfast_dump: text jansson reads back to an equal tree, the plain parts byte for byte */
static void test_dump(void **state)
{
    static const char *const texts[] = {
        "{\"items\":[{\"id\":\"abc\",\"n\":-5,\"t\":true,\"f\":false,\"z\":null}],\"e\":{}}",
        "[\"caf\u00e9\",\"tab\\there\",\"q\\\"\\\\\",\"\\u0001\\u007f\",1.5,-0.25,1e300,[]]",
        "{\"\\u00e9\":\"x\"}",
    };
    json_error_t jerr;
    struct buf b;
    json_t *v, *back;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        v = json_loads(texts[i], 0, &jerr);
        assert_non_null(v);
        buf_init(&b, 4096);
        assert_int_equal(jsonfast_dump(v, &b), ERR_OK);
        back = json_loadb(b.b_data, b.b_len, JSON_REJECT_DUPLICATES, &jerr);
        assert_non_null(back);
        assert_true(json_equal(back, v));
        if (i == 0)
            assert_string_equal(b.b_data, texts[0]);
        json_decref(back);
        json_decref(v);
        buf_free(&b);
    }
    /* a NUL inside a string (jansson's own escape), the cap, NULL */
    v = json_stringn("a\0b", 3);
    buf_init(&b, 64);
    assert_int_equal(jsonfast_dump(v, &b), ERR_OK);
    assert_string_equal(b.b_data, "\"a\\u0000b\"");
    buf_free(&b);
    json_decref(v);
    v = json_pack("{s:s}", "k", "a value longer than the cap");
    buf_init(&b, 8);
    assert_int_equal(jsonfast_dump(v, &b), ERR_TOO_LARGE);
    buf_free(&b);
    json_decref(v);
    assert_int_equal(jsonfast_dump(NULL, &b), ERR_BAD_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_left_to_jansson),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_loadb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
