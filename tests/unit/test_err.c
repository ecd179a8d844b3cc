/* test_err.c - the error table: HTTP statuses and Connect error bodies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "common/err.h"

static void test_status_table(void **state)
{
    static const struct {
        enum err e;
        int status;
    } cases[] = {
        {ERR_OK, 200},        {ERR_BAD_INPUT, 400},    {ERR_BAD_JSON, 400},
        {ERR_BAD_ID, 400},    {ERR_UNAUTHORIZED, 401}, {ERR_READ_ONLY, 401},
        {ERR_FORBIDDEN, 403}, {ERR_NOT_FOUND, 404},    {ERR_METHOD, 405},
        {ERR_CONFLICT, 409},  {ERR_TOO_LARGE, 413},    {ERR_RATE_LIMITED, 429},
        {ERR_INTERNAL, 500},  {ERR_NOMEM, 500},        {ERR_STORAGE, 500},
        {ERR_CRYPTO, 500},    {ERR_IO, 500},           {ERR_CONFIG, 500},
        {ERR_NOT_READY, 500}, {ERR_UPSTREAM, 502},     {ERR_TIMEOUT, 504},
        {ERR_NO_SPACE, 507},  {ERR_CORRUPT, 503},
    };
    size_t i;

    (void)state;
    assert_int_equal(sizeof(cases) / sizeof(cases[0]), ERR__COUNT);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(err_http_status(cases[i].e), cases[i].status);
    /* Every entry has a name and a message. */
    for (i = 0; i < ERR__COUNT; i++) {
        assert_non_null(err_name((enum err)i));
        assert_true(strncmp(err_name((enum err)i), "ERR_", 4) == 0);
        assert_true(strlen(err_message((enum err)i)) > 0);
    }
    /* Out-of-range values are internal errors, never a crash. */
    assert_int_equal(err_http_status((enum err)ERR__COUNT), 500);
    assert_int_equal(err_http_status((enum err) - 1), 500);
    assert_string_equal(err_name((enum err)999), "ERR_INTERNAL");
}

static void test_connect_messages(void **state)
{
    (void)state;
    assert_string_equal(err_message(ERR_UNAUTHORIZED), "Invalid bearer token");
    assert_string_equal(err_message(ERR_INTERNAL), "Something went wrong");
    assert_string_equal(err_message(ERR_READ_ONLY),
                        "Unauthorized Request, token does not have write access to the Vault");
    assert_string_equal(err_message(ERR_FORBIDDEN),
                        "Authorization: token does not have access to vault");
    assert_string_equal(err_message(ERR_NO_SPACE), "the server's storage is full");
    assert_string_equal(err_message(ERR_CORRUPT), "the volume is being rebuilt");
}

static void test_json_body(void **state)
{
    char out[256];
    json_t *j;
    json_error_t jerr;

    (void)state;
    assert_int_equal(err_to_json(ERR_NOT_FOUND, "item not found", out, sizeof(out)), ERR_OK);
    assert_string_equal(out, "{\"status\":404,\"message\":\"item not found\"}");
    assert_int_equal(err_to_json(ERR_UNAUTHORIZED, NULL, out, sizeof(out)), ERR_OK);
    assert_string_equal(out, "{\"status\":401,\"message\":\"Invalid bearer token\"}");

    /* Quotes, backslashes and control characters are escaped; the result parses back. */
    assert_int_equal(err_to_json(ERR_BAD_INPUT, "a \"b\" \\ c\n\x01", out, sizeof(out)), ERR_OK);
    assert_string_equal(out, "{\"status\":400,\"message\":\"a \\\"b\\\" \\\\ c\\n\\u0001\"}");
    j = json_loads(out, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 400);
    assert_string_equal(json_string_value(json_object_get(j, "message")), "a \"b\" \\ c\n\x01");
    json_decref(j);
}

static void test_json_body_too_small(void **state)
{
    char out[16];

    (void)state;
    memset(out, 'x', sizeof(out));
    assert_int_equal(err_to_json(ERR_NOT_FOUND, NULL, out, sizeof(out)), ERR_TOO_LARGE);
    assert_string_equal(out, "");
    assert_int_equal(err_to_json(ERR_NOT_FOUND, NULL, out, 0), ERR_TOO_LARGE);
}

static void test_msgf(void **state)
{
    char msg[16];

    (void)state;
    assert_int_equal(err_msgf(ERR_BAD_INPUT, msg, sizeof(msg), "fields[%d] bad", 3), ERR_BAD_INPUT);
    assert_string_equal(msg, "fields[3] bad");
    /* Truncated to the capacity, always terminated. */
    assert_int_equal(err_msgf(ERR_TOO_LARGE, msg, sizeof(msg), "%s", "0123456789abcdefghij"),
                     ERR_TOO_LARGE);
    assert_string_equal(msg, "0123456789abcde");
    /* No buffer: only the code comes back. */
    assert_int_equal(err_msgf(ERR_NOT_FOUND, NULL, 0, "x"), ERR_NOT_FOUND);
    assert_int_equal(err_msgf(ERR_NOT_FOUND, msg, 0, "y"), ERR_NOT_FOUND);
    assert_string_equal(msg, "0123456789abcde");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_table), cmocka_unit_test(test_connect_messages),
        cmocka_unit_test(test_json_body),    cmocka_unit_test(test_json_body_too_small),
        cmocka_unit_test(test_msgf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
