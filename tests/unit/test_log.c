/* test_log.c - JSON-lines logs in Connect's shape. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/limits.h"
#include "common/log.h"

/* Captures what the logger writes into a memory stream. */
struct capture {
    char *cp_data;
    size_t cp_len;
    FILE *cp_f;
};

static void capture_start(struct capture *c)
{
    c->cp_data = NULL;
    c->cp_len = 0;
    c->cp_f = open_memstream(&c->cp_data, &c->cp_len);
    assert_non_null(c->cp_f);
    log_set_stream(c->cp_f);
}

static void capture_end(struct capture *c)
{
    log_set_stream(NULL);
    fclose(c->cp_f);
}

static json_t *parse_line(const char *line)
{
    json_error_t jerr;
    json_t *j = json_loads(line, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &jerr);
    assert_non_null(j);
    return j;
}

static void test_shape(void **state)
{
    struct capture c;
    struct log_scope scope = {"9f1c3a2e-0000-4000-8000-000000000001", "abcdefghijklmnopqrstuvwxyz"};
    json_t *j, *sc;
    const char *ts;

    char before[32], after[32];
    time_t t0, t1;
    struct tm tm;

    (void)state;
    log_set_level(LOG_INFO);
    t0 = time(NULL);
    capture_start(&c);
    log_msg(LOG_INFO, &scope, "GET %s completed (%d: %s) in %dms", "/v1/vaults", 200, "OK", 5);
    capture_end(&c);
    t1 = time(NULL);
    strftime(before, sizeof(before), "%Y-%m-%dT%H:%M:%S", gmtime_r(&t0, &tm));
    strftime(after, sizeof(after), "%Y-%m-%dT%H:%M:%S", gmtime_r(&t1, &tm));
    assert_true(c.cp_len > 0);
    assert_int_equal(c.cp_data[c.cp_len - 1], '\n');
    assert_null(memchr(c.cp_data, '\n', c.cp_len - 1)); /* exactly one line */
    j = parse_line(c.cp_data);
    assert_string_equal(json_string_value(json_object_get(j, "log_message")),
                        "(I) GET /v1/vaults completed (200: OK) in 5ms");
    assert_int_equal(json_integer_value(json_object_get(j, "level")), 3);
    ts = json_string_value(json_object_get(j, "timestamp"));
    assert_non_null(ts);
    assert_int_equal(strlen(ts), 24); /* 2026-11-28T04:15:31.123Z */
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[19], '.');
    assert_int_equal(ts[23], 'Z');
    /* the second it was written (the per-thread cache of the date part is right) */
    assert_true(strncmp(ts, before, 19) == 0 || strncmp(ts, after, 19) == 0);
    sc = json_object_get(j, "scope");
    assert_string_equal(json_string_value(json_object_get(sc, "request_id")), scope.ls_request_id);
    assert_string_equal(json_string_value(json_object_get(sc, "jti")), scope.ls_jti);
    json_decref(j);
    free(c.cp_data);
}

static void test_levels(void **state)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {{"error", LOG_ERROR}, {"WARN", LOG_WARN},   {"warning", LOG_WARN},
                 {"Info", LOG_INFO},   {"debug", LOG_DEBUG}, {"trace", LOG_TRACE}};
    struct capture c;
    enum log_level lv;
    size_t i;
    json_t *j;

    (void)state;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_int_equal(log_level_parse(names[i].name, &lv), 0);
        assert_int_equal(lv, names[i].level);
    }
    assert_int_equal(log_level_parse("verbose", &lv), -1);
    assert_int_equal(log_level_parse("", &lv), -1);

    log_set_level(LOG_WARN);
    assert_int_equal(log_get_level(), LOG_WARN);
    assert_true(log_enabled(LOG_ERROR));
    assert_false(log_enabled(LOG_INFO));
    capture_start(&c);
    log_info("dropped");
    log_debug("dropped too");
    log_error("kept %d", 1);
    log_warn("kept %d", 2);
    capture_end(&c);
    /* Two lines: (E) level 1, then (W) level 2. */
    j = parse_line(c.cp_data);
    assert_string_equal(json_string_value(json_object_get(j, "log_message")), "(E) kept 1");
    assert_int_equal(json_integer_value(json_object_get(j, "level")), 1);
    assert_null(json_object_get(j, "scope"));
    json_decref(j);
    j = parse_line(strchr(c.cp_data, '\n') + 1);
    assert_string_equal(json_string_value(json_object_get(j, "log_message")), "(W) kept 2");
    json_decref(j);
    free(c.cp_data);
    log_set_level(LOG_INFO);
}

static void test_escaping_and_bad_utf8(void **state)
{
    struct capture c;
    json_t *j;

    (void)state;
    capture_start(&c);
    log_msg(LOG_INFO, NULL, "q\"uote\\ tab\t nl\n ctl\x01 bad\xff ok\xc3\xa9 sur\xed\xa0\x80");
    capture_end(&c);
    j = parse_line(c.cp_data);
    assert_string_equal(json_string_value(json_object_get(j, "log_message")),
                        "(I) q\"uote\\ tab\t nl\n ctl\x01 bad\xef\xbf\xbd ok\xc3\xa9 "
                        "sur\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(j);
    free(c.cp_data);
}

static void test_long_message_is_cut(void **state)
{
    struct capture c;
    static char big[LOG_MAX_LINE_BYTES * 2];
    struct log_scope scope = {"rid", NULL};
    json_t *j;
    const char *m;

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    capture_start(&c);
    log_msg(LOG_ERROR, &scope, "%s", big);
    capture_end(&c);
    assert_true(c.cp_len <= LOG_MAX_LINE_BYTES);
    j = parse_line(c.cp_data);
    m = json_string_value(json_object_get(j, "log_message"));
    assert_true(strlen(m) > 1000);
    assert_string_equal(m + strlen(m) - 3, "...");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "scope"), "request_id")), "rid");
    assert_null(json_object_get(json_object_get(j, "scope"), "jti"));
    json_decref(j);
    free(c.cp_data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_escaping_and_bad_utf8),
        cmocka_unit_test(test_long_message_is_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
