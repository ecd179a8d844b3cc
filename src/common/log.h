/*
 * log.h - JSON-lines logging in Connect's shape, one object per line on stderr:
 *   {"log_message":"(I) GET /v1/vaults completed (200: OK) in 5ms",
 *    "timestamp":"2026-11-28T04:15:31.123Z","level":3,
 *    "scope":{"request_id":"...","jti":"..."}}
 * Levels follow Connect: (E)=1 (W)=2 (I)=3 (D)=4, plus (T)=5 for trace. The threshold
 * comes from OP_LOG_LEVEL. Never pass a secret or a token to these functions.
 */
#ifndef SESAME_COMMON_LOG_H
#define SESAME_COMMON_LOG_H

#include <stdarg.h>
#include <stdio.h>

enum log_level {
    LOG_ERROR = 1,
    LOG_WARN = 2,
    LOG_INFO = 3,
    LOG_DEBUG = 4,
    LOG_TRACE = 5,
};

/* Request-scoped fields of a log line; either may be NULL. */
struct log_scope {
    const char *ls_request_id; /* server-generated UUID of the request */
    const char *ls_jti;        /* token id, never the token */
};

/*
 * Parses a level name (trace, debug, info, warn, warning, error; any case) into *out.
 * Returns 0 on success, -1 for an unknown name.
 */
int log_level_parse(const char *name, enum log_level *out);

/* Sets the threshold: lines above it are dropped. Default LOG_INFO. */
void log_set_level(enum log_level level);

/* Returns the threshold. */
enum log_level log_get_level(void);

/* Sends lines to f instead of stderr (NULL restores stderr); for tests. */
void log_set_stream(FILE *f);

/* Returns 1 if a line at level would be written. */
int log_enabled(enum log_level level);

/*
 * Writes one JSON line at level with the given scope (may be NULL). The message is
 * printf-formatted, prefixed with the level letter, cut to LOG_MAX_LINE_BYTES, and
 * written with a single write so lines of concurrent threads never interleave.
 */
void log_msg(enum log_level level, const struct log_scope *scope, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* va_list form of log_msg. */
void log_vmsg(enum log_level level, const struct log_scope *scope, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define log_error(...) log_msg(LOG_ERROR, NULL, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, NULL, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)

#endif
