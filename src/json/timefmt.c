/* timefmt.c - RFC 3339 timestamps, DATE and MONTH_YEAR values. */
#include "json/timefmt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECONDS_PER_DAY 86400

/* Days from civil (Howard Hinnant's algorithm), valid for the whole int64 year range used. */
int64_t timefmt_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void timefmt_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int timefmt_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Returns 1 for a real calendar date within the supported years. */
int timefmt_valid_date(int64_t y, unsigned m, unsigned d)
{
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (y < TIMEFMT_MIN_YEAR || y > TIMEFMT_MAX_YEAR || m < 1 || m > 12 || d < 1)
        return 0;
    return d <= mdays[m - 1] + (m == 2 && timefmt_leap(y));
}

/* Formats t as an RFC 3339 UTC timestamp. */
enum err timefmt_rfc3339(char out[TIMEFMT_RFC3339_LEN + 1], int64_t t)
{
    int64_t days, secs, y;
    unsigned m, d;

    out[0] = '\0';
    days = t / SECONDS_PER_DAY;
    secs = t % SECONDS_PER_DAY;
    if (secs < 0) {
        secs += SECONDS_PER_DAY;
        days--;
    }
    timefmt_civil_from_days(days, &y, &m, &d);
    if (y < TIMEFMT_MIN_YEAR || y > TIMEFMT_MAX_YEAR)
        return ERR_BAD_INPUT;
    snprintf(out, TIMEFMT_RFC3339_LEN + 1, "%04d-%02u-%02uT%02d:%02d:%02dZ", (int)y, m, d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    return ERR_OK;
}

/* Reads exactly n decimal digits at s into *v. Returns 1 on success. */
static int timefmt_digits(const char *s, size_t n, unsigned *v)
{
    size_t i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (unsigned)(s[i] - '0');
    }
    return 1;
}

/* Parses an RFC 3339 date-time into Unix seconds. */
enum err timefmt_parse_rfc3339(int64_t *out, const char *s)
{
    unsigned y, mo, d, h, mi, sec, oh, om;
    const char *p;
    int64_t t, off = 0;

    *out = 0;
    if (strlen(s) < TIMEFMT_RFC3339_LEN || !timefmt_digits(s, 4, &y) || s[4] != '-' ||
        !timefmt_digits(s + 5, 2, &mo) || s[7] != '-' || !timefmt_digits(s + 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't') || !timefmt_digits(s + 11, 2, &h) || s[13] != ':' ||
        !timefmt_digits(s + 14, 2, &mi) || s[16] != ':' || !timefmt_digits(s + 17, 2, &sec))
        return ERR_BAD_INPUT;
    /* A leap second (60) is accepted by RFC 3339; fold it into the next second. */
    if (!timefmt_valid_date(y, mo, d) || h > 23 || mi > 59 || sec > 60)
        return ERR_BAD_INPUT;
    p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return ERR_BAD_INPUT;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        if (!timefmt_digits(p + 1, 2, &oh) || p[3] != ':' || !timefmt_digits(p + 4, 2, &om) ||
            oh > 23 || om > 59)
            return ERR_BAD_INPUT;
        off = ((int64_t)oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return ERR_BAD_INPUT;
    }
    if (*p != '\0')
        return ERR_BAD_INPUT;
    t = timefmt_days_from_civil(y, mo, d) * SECONDS_PER_DAY + (int64_t)h * 3600 + mi * 60 + sec;
    /* the offset or a leap second may carry the instant out of years 1..9999 */
    if (t - off < TIMEFMT_GO_ZERO || t - off > TIMEFMT_MAX_SECONDS)
        return ERR_BAD_INPUT;
    *out = t - off;
    return ERR_OK;
}

/* Normalises a DATE value into Unix seconds. */
enum err timefmt_date_normalize(char *out, size_t cap, const char *s)
{
    unsigned y, m, d;
    int64_t t;
    char *end;

    if (cap < 24)
        return ERR_TOO_LARGE;
    out[0] = '\0';
    if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
        if (!timefmt_digits(s, 4, &y) || !timefmt_digits(s + 5, 2, &m) ||
            !timefmt_digits(s + 8, 2, &d) || !timefmt_valid_date(y, m, d))
            return ERR_BAD_INPUT;
        t = timefmt_days_from_civil(y, m, d) * SECONDS_PER_DAY;
    } else {
        const char *q = s;
        if (*q == '-')
            q++;
        if (*q < '0' || *q > '9' || strlen(q) > 18)
            return ERR_BAD_INPUT;
        errno = 0;
        t = strtoll(s, &end, 10);
        if (errno || *end != '\0')
            return ERR_BAD_INPUT;
        /* Keep it within years 1..9999 so that it can be shown as a date. */
        if (t < TIMEFMT_GO_ZERO || t > TIMEFMT_MAX_SECONDS)
            return ERR_BAD_INPUT;
    }
    snprintf(out, cap, "%" PRId64, t);
    return ERR_OK;
}

/* Normalises a MONTH_YEAR value into YYYYMM. */
enum err timefmt_month_year_normalize(char *out, size_t cap, const char *s)
{
    unsigned y, m;
    size_t n = strlen(s);

    if (cap < 7)
        return ERR_TOO_LARGE;
    out[0] = '\0';
    if (n == 6) {
        if (!timefmt_digits(s, 4, &y) || !timefmt_digits(s + 4, 2, &m))
            return ERR_BAD_INPUT;
    } else if (n == 7 && s[4] == '/') {
        if (!timefmt_digits(s, 4, &y) || !timefmt_digits(s + 5, 2, &m))
            return ERR_BAD_INPUT;
    } else {
        return ERR_BAD_INPUT;
    }
    if (y < TIMEFMT_MIN_YEAR || m < 1 || m > 12)
        return ERR_BAD_INPUT;
    snprintf(out, cap, "%04u%02u", y, m);
    return ERR_OK;
}
