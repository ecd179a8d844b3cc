/*
 * fuzz_timefmt.c - libFuzzer driver for the time formats of the Connect wire
 * (json/timefmt.c): timefmt_parse_rfc3339, timefmt_date_normalize and
 * timefmt_month_year_normalize, each given the input as a C string (up to its first NUL).
 *
 * Checks, aborting on a violation:
 *  - RFC 3339: a parsed time formats back with timefmt_rfc3339, the text parses to the
 *    same value and formats to itself; "t"/"z" mean "T"/"Z"; a UTC time without a leap
 *    second formats to its own date and clock; a refused text leaves 0;
 *  - DATE: the output is a decimal number that normalises to itself and formats as an RFC
 *    3339 time (years 1..9999); "YYYY-MM-DD" is midnight UTC of that date; a too small
 *    buffer is ERR_TOO_LARGE; a refused value leaves "";
 *  - MONTH_YEAR: the output is "YYYYMM" taken from the input's digits, normalises to itself
 *    and its first day is a valid DATE; a refused value leaves "".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_TEXT 64 /* longer texts are cut: every format is shorter */

static void fuzz_check(int ok)
{
    if (!ok)
        abort();
}

static int fuzz_is_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return 1;
}

/* Parses a decimal integer (optional '-') that the driver knows is well formed. */
static int64_t fuzz_decimal(const char *s)
{
    int neg = *s == '-';
    int64_t v = 0;

    for (s += neg; *s; s++)
        v = v * 10 + (*s - '0');
    return neg ? -v : v;
}

static void fuzz_rfc3339(const char *s)
{
    char f[TIMEFMT_RFC3339_LEN + 1], f2[TIMEFMT_RFC3339_LEN + 1], low[FUZZ_MAX_TEXT + 1];
    int64_t t = -1, t2 = -1, t3 = -1;
    size_t n = strlen(s);
    enum err rc;

    rc = timefmt_parse_rfc3339(&t, s);
    fuzz_check(rc == ERR_OK || rc == ERR_BAD_INPUT);
    if (rc != ERR_OK) {
        fuzz_check(t == 0);
        return;
    }
    /* A parsed time formats back, and the text is canonical. */
    fuzz_check(timefmt_rfc3339(f, t) == ERR_OK);
    fuzz_check(strlen(f) == TIMEFMT_RFC3339_LEN && f[10] == 'T' && f[19] == 'Z');
    fuzz_check(timefmt_parse_rfc3339(&t2, f) == ERR_OK && t2 == t);
    fuzz_check(timefmt_rfc3339(f2, t2) == ERR_OK && strcmp(f, f2) == 0);
    /* Case of the separator and of the zone letter do not matter. */
    fuzz_check(n >= TIMEFMT_RFC3339_LEN && n <= FUZZ_MAX_TEXT);
    memcpy(low, s, n + 1);
    low[10] = (char)(low[10] == 'T' ? 't' : 'T');
    if (low[n - 1] == 'Z' || low[n - 1] == 'z')
        low[n - 1] = (char)(low[n - 1] == 'Z' ? 'z' : 'Z');
    fuzz_check(timefmt_parse_rfc3339(&t3, low) == ERR_OK && t3 == t);
    /* UTC without a leap second: the same date and clock. */
    if ((s[n - 1] == 'Z' || s[n - 1] == 'z') && memcmp(s + 17, "60", 2) != 0)
        fuzz_check(memcmp(f, s, 10) == 0 && memcmp(f + 11, s + 11, 8) == 0);
}

static void fuzz_date(const char *s)
{
    char out[32], again[32], f[TIMEFMT_RFC3339_LEN + 1];
    int64_t t, back = -1;
    enum err rc;

    memset(out, 'x', sizeof(out));
    fuzz_check(timefmt_date_normalize(out, 23, s) == ERR_TOO_LARGE);
    memset(out, 'x', sizeof(out));
    rc = timefmt_date_normalize(out, sizeof(out), s);
    fuzz_check(rc == ERR_OK || rc == ERR_BAD_INPUT);
    if (rc != ERR_OK) {
        fuzz_check(out[0] == '\0');
        return;
    }
    fuzz_check(strnlen(out, sizeof(out)) < 24);
    fuzz_check(out[0] == '-' ? fuzz_is_digits(out + 1, strlen(out) - 1) && out[1] != '0'
                             : fuzz_is_digits(out, strlen(out)) && (out[0] != '0' || !out[1]));
    fuzz_check(timefmt_date_normalize(again, sizeof(again), out) == ERR_OK);
    fuzz_check(strcmp(again, out) == 0);
    t = fuzz_decimal(out);
    fuzz_check(timefmt_rfc3339(f, t) == ERR_OK);
    fuzz_check(timefmt_parse_rfc3339(&back, f) == ERR_OK && back == t);
    if (strlen(s) == 10 && s[4] == '-' && s[7] == '-')
        fuzz_check(memcmp(f, s, 10) == 0 && strcmp(f + 10, "T00:00:00Z") == 0);
    else
        fuzz_check(t == fuzz_decimal(s));
}

static void fuzz_month_year(const char *s)
{
    char out[16], again[16], date[16], secs[32];
    size_t n = strlen(s);
    enum err rc;

    memset(out, 'x', sizeof(out));
    fuzz_check(timefmt_month_year_normalize(out, 6, s) == ERR_TOO_LARGE);
    memset(out, 'x', sizeof(out));
    rc = timefmt_month_year_normalize(out, sizeof(out), s);
    fuzz_check(rc == ERR_OK || rc == ERR_BAD_INPUT);
    if (rc != ERR_OK) {
        fuzz_check(out[0] == '\0');
        return;
    }
    fuzz_check(strlen(out) == 6 && fuzz_is_digits(out, 6));
    fuzz_check(n == 6 || (n == 7 && s[4] == '/'));
    fuzz_check(memcmp(out, s, 4) == 0 && memcmp(out + 4, s + n - 2, 2) == 0);
    fuzz_check(timefmt_month_year_normalize(again, sizeof(again), out) == ERR_OK);
    fuzz_check(strcmp(again, out) == 0);
    /* Its first day is a DATE. */
    memcpy(date, out, 4);
    date[4] = '-';
    memcpy(date + 5, out + 4, 2);
    memcpy(date + 7, "-01", 4);
    fuzz_check(timefmt_date_normalize(secs, sizeof(secs), date) == ERR_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[FUZZ_MAX_TEXT + 1];
    size_t n = size < FUZZ_MAX_TEXT ? size : FUZZ_MAX_TEXT;

    memcpy(s, data, n);
    s[n] = '\0';
    fuzz_rfc3339(s);
    fuzz_date(s);
    fuzz_month_year(s);
    return 0;
}
