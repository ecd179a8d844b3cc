/*
 * timefmt.h - the time formats of the Connect wire: RFC 3339 UTC timestamps with second
 * precision ("2020-10-29T17:52:17Z"), DATE field values (input "YYYY-MM-DD" or Unix
 * seconds, output Unix seconds) and MONTH_YEAR values (input "YYYYMM" or "YYYY/MM",
 * output "YYYYMM").
 */
#ifndef SESAME_JSON_TIMEFMT_H
#define SESAME_JSON_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define TIMEFMT_RFC3339_LEN 20 /* "YYYY-MM-DDTHH:MM:SSZ" without the NUL */
#define TIMEFMT_MIN_YEAR    1
#define TIMEFMT_MAX_YEAR    9999
/* Go's zero time.Time, which the Go SDK sends for unset timestamps. */
#define TIMEFMT_GO_ZERO     (-62135596800LL)
#define TIMEFMT_MAX_SECONDS 253402300799LL /* 9999-12-31T23:59:59Z */

/* Returns days since 1970-01-01 of the proleptic Gregorian date y-m-d (no range checks). */
int64_t timefmt_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Returns 1 if y-m-d is a real calendar date with TIMEFMT_MIN_YEAR <= y <= TIMEFMT_MAX_YEAR. */
int timefmt_valid_date(int64_t y, unsigned m, unsigned d);

/*
 * Formats t (Unix seconds) as "YYYY-MM-DDTHH:MM:SSZ" into out. Returns ERR_OK, or
 * ERR_BAD_INPUT when t is outside years 1..9999.
 */
enum err timefmt_rfc3339(char out[TIMEFMT_RFC3339_LEN + 1], int64_t t) SESAME_WUR;

/*
 * Parses an RFC 3339 date-time ("T" or "t" separator, optional fraction which is dropped,
 * "Z" or a numeric offset) into Unix seconds. Returns ERR_OK or ERR_BAD_INPUT.
 */
enum err timefmt_parse_rfc3339(int64_t *out, const char *s) SESAME_WUR;

/*
 * Normalises a DATE field value: "YYYY-MM-DD" (midnight UTC) or an optionally signed
 * decimal number of Unix seconds, into decimal Unix seconds in out (cap >= 24).
 * Returns ERR_OK or ERR_BAD_INPUT.
 */
enum err timefmt_date_normalize(char *out, size_t cap, const char *s) SESAME_WUR;

/*
 * Normalises a MONTH_YEAR field value: "YYYYMM" or "YYYY/MM" (month 01-12) into "YYYYMM"
 * in out (cap >= 7). Returns ERR_OK or ERR_BAD_INPUT.
 */
enum err timefmt_month_year_normalize(char *out, size_t cap, const char *s) SESAME_WUR;

#endif
