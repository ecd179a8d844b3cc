/* test_timefmt.c - RFC 3339 timestamps, DATE and MONTH_YEAR values. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "json/timefmt.h"

static void test_format(void **state)
{
    static const struct {
        int64_t t;
        const char *s;
    } cases[] = {
        {0, "1970-01-01T00:00:00Z"},
        {1603993937, "2020-10-29T17:52:17Z"},
        {951782400, "2000-02-29T00:00:00Z"},
        {-1, "1969-12-31T23:59:59Z"},
        {TIMEFMT_GO_ZERO, "0001-01-01T00:00:00Z"},
        {253402300799LL, "9999-12-31T23:59:59Z"},
    };
    char out[TIMEFMT_RFC3339_LEN + 1];
    int64_t back;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(timefmt_rfc3339(out, cases[i].t), ERR_OK);
        assert_string_equal(out, cases[i].s);
        assert_int_equal(timefmt_parse_rfc3339(&back, cases[i].s), ERR_OK);
        assert_int_equal(back, cases[i].t);
    }
    assert_int_equal(timefmt_rfc3339(out, TIMEFMT_GO_ZERO - 1), ERR_BAD_INPUT);
    assert_string_equal(out, "");
    assert_int_equal(timefmt_rfc3339(out, 253402300800LL), ERR_BAD_INPUT);
}

static void test_parse(void **state)
{
    static const struct {
        const char *s;
        int ok;
        int64_t t;
    } cases[] = {
        {"2020-10-29T17:52:17Z", 1, 1603993937},
        {"2020-10-29t17:52:17z", 1, 1603993937},
        {"2020-10-29T17:52:17.999999999Z", 1, 1603993937},
        {"2020-10-29T19:52:17+02:00", 1, 1603993937},
        {"2020-10-29T12:52:17-05:00", 1, 1603993937},
        {"2016-12-31T23:59:60Z", 1, 1483228800},
        {"2020-10-29 17:52:17Z", 0, 0},
        {"2020-10-29T17:52:17", 0, 0},
        {"2020-10-29T17:52:17.Z", 0, 0},
        {"2020-13-01T00:00:00Z", 0, 0},
        {"2021-02-29T00:00:00Z", 0, 0},
        {"2020-10-29T24:00:00Z", 0, 0},
        {"2020-10-29T17:52:17+2:00", 0, 0},
        {"2020-10-29T17:52:17Zjunk", 0, 0},
        {"0000-01-01T00:00:00Z", 0, 0},
        /* found by fuzz_timefmt: the offset or a leap second leaving years 1..9999 */
        {"9999-12-31T23:59:60Z", 0, 0},
        {"9999-12-31T23:59:59-00:01", 0, 0},
        {"0001-01-01T00:00:00+00:01", 0, 0},
        {"9999-12-31T23:59:59Z", 1, 253402300799LL},
        {"0001-01-01T00:00:00Z", 1, -62135596800LL},
        {"", 0, 0},
        {"yesterday", 0, 0},
    };
    int64_t t;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum err rc = timefmt_parse_rfc3339(&t, cases[i].s);
        if ((rc == ERR_OK) != cases[i].ok)
            fail_msg("case %zu (%s): rc %d", i, cases[i].s, rc);
        assert_int_equal(t, cases[i].t);
    }
}

static void test_date(void **state)
{
    static const struct {
        const char *in;
        const char *out; /* NULL: rejected */
    } cases[] = {
        {"2021-03-04", "1614816000"},
        {"1970-01-01", "0"},
        {"2000-02-29", "951782400"},
        {"0001-01-01", "-62135596800"},
        {"1614816060", "1614816060"},
        {"-86400", "-86400"},
        {"0", "0"},
        {"2021-02-29", NULL},
        {"2021-3-4", NULL},
        {"21-03-04", NULL},
        {"2021/03/04", NULL},
        {"", NULL},
        {"-", NULL},
        {"12a", NULL},
        {"1e9", NULL},
        {"999999999999999999999", NULL},
        {"253402300800", NULL},
        {" 1", NULL},
    };
    char out[32];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum err rc = timefmt_date_normalize(out, sizeof(out), cases[i].in);
        if (cases[i].out) {
            if (rc != ERR_OK)
                fail_msg("case %zu (%s) rejected", i, cases[i].in);
            assert_string_equal(out, cases[i].out);
        } else {
            if (rc != ERR_BAD_INPUT)
                fail_msg("case %zu (%s) accepted", i, cases[i].in);
            assert_string_equal(out, "");
        }
    }
    assert_int_equal(timefmt_date_normalize(out, 8, "0"), ERR_TOO_LARGE);
}

static void test_month_year(void **state)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"202107", "202107"}, {"2021/07", "202107"}, {"000101", "000101"}, {"999912", "999912"},
        {"202100", NULL},     {"202113", NULL},      {"2021/7", NULL},     {"07/2021", NULL},
        {"2021-07", NULL},    {"20217", NULL},       {"", NULL},           {"2021/071", NULL},
        {"000001", NULL},
    };
    char out[8];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum err rc = timefmt_month_year_normalize(out, sizeof(out), cases[i].in);
        if (cases[i].out) {
            if (rc != ERR_OK)
                fail_msg("case %zu (%s) rejected", i, cases[i].in);
            assert_string_equal(out, cases[i].out);
        } else if (rc != ERR_BAD_INPUT) {
            fail_msg("case %zu (%s) accepted", i, cases[i].in);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_month_year),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
