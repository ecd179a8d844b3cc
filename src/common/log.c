/* log.c - JSON-lines logging in Connect's shape. */
#include "common/log.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/limits.h"

static atomic_int log_threshold = LOG_INFO;
static FILE *_Atomic log_stream;

static const char log_letters[] = "?EWIDT";

/* Parses a level name; see log.h. */
int log_level_parse(const char *name, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {
        {"error", LOG_ERROR}, {"warn", LOG_WARN},   {"warning", LOG_WARN},
        {"info", LOG_INFO},   {"debug", LOG_DEBUG}, {"trace", LOG_TRACE},
    };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return -1;
}

/* Sets the threshold. */
void log_set_level(enum log_level level)
{
    if (level < LOG_ERROR)
        level = LOG_ERROR;
    if (level > LOG_TRACE)
        level = LOG_TRACE;
    atomic_store(&log_threshold, (int)level);
}

/* Returns the threshold. */
enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&log_threshold);
}

/* Redirects log output (NULL: stderr). */
void log_set_stream(FILE *f)
{
    atomic_store(&log_stream, f);
}

/* Returns 1 if level passes the threshold. */
int log_enabled(enum log_level level)
{
    return (int)level <= atomic_load(&log_threshold);
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 if invalid. */
static size_t log_utf8_len(const unsigned char *p, size_t n)
{
    size_t len, i;
    uint32_t cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
        cp = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

struct log_line {
    char ll_buf[LOG_MAX_LINE_BYTES]; /* the line being built */
    size_t ll_len;                   /* bytes used */
    int ll_full;                     /* something did not fit */
};

static void log_put(struct log_line *l, const char *s, size_t n)
{
    /* Keep 3 bytes for the closing "}}\n" ... and the terminating NUL. */
    if (l->ll_full || n > sizeof(l->ll_buf) - 4 - l->ll_len) {
        l->ll_full = 1;
        return;
    }
    memcpy(l->ll_buf + l->ll_len, s, n);
    l->ll_len += n;
}

/*
 * Appends s as JSON string contents (no quotes), stopping with "..." before the line
 * reaches room bytes; invalid UTF-8 becomes U+FFFD.
 */
static void log_put_escaped(struct log_line *l, const char *s, size_t room)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);

    while (n > 0 && l->ll_len < room) {
        char esc[7];
        size_t k = 1, elen;

        /* a run of printable ASCII needing no escape goes in one copy */
        while (k < n && k < room - l->ll_len && p[k] >= 0x20 && p[k] < 0x7f && p[k] != '"' &&
               p[k] != '\\')
            k++;
        if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') {
            log_put(l, (const char *)p, k);
            p += k;
            n -= k;
            continue;
        }
        k = 1;
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            elen = 2;
        } else if (*p == '\n' || *p == '\r' || *p == '\t') {
            esc[0] = '\\';
            esc[1] = *p == '\n' ? 'n' : (*p == '\r' ? 'r' : 't');
            elen = 2;
        } else if (*p < 0x20 || *p == 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 0xf];
            elen = 6;
        } else if (*p < 0x80) {
            esc[0] = (char)*p;
            elen = 1;
        } else {
            k = log_utf8_len(p, n);
            if (k == 0) {
                k = 1;
                memcpy(esc, "\\ufffd", 6);
                elen = 6;
            } else {
                memcpy(esc, p, k);
                elen = k;
            }
        }
        if (l->ll_len + elen >= room)
            break;
        log_put(l, esc, elen);
        p += k;
        n -= k;
    }
    if (n > 0)
        log_put(l, "...", 3);
}

/* Appends "key":"value" (escaped), preceded by a comma unless first. */
static void log_put_field(struct log_line *l, int first, const char *key, const char *value)
{
    log_put(l, first ? "\"" : ",\"", first ? 1 : 2);
    log_put(l, key, strlen(key));
    log_put(l, "\":\"", 3);
    log_put_escaped(l, value, sizeof(l->ll_buf) - 8);
    log_put(l, "\"", 1);
}

/*
 * Writes now as "YYYY-MM-DDTHH:MM:SS.mmmZ" into ts (at least 25 bytes). The part up to the
 * seconds is kept per thread for the second it names (gmtime_r and a formatted print per
 * line were a visible part of a request). Returns the length, or 0.
 */
static size_t log_timestamp(char *ts, const struct timespec *now)
{
    static _Thread_local time_t sec = (time_t)-1;
    static _Thread_local char head[24];
    long ms = now->tv_nsec / 1000000;
    struct tm tm;

    if (now->tv_sec != sec) {
        if (!gmtime_r(&now->tv_sec, &tm) ||
            snprintf(head, sizeof(head), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec) != 19)
            return 0;
        sec = now->tv_sec;
    }
    memcpy(ts, head, 19);
    ts[19] = '.';
    ts[20] = (char)('0' + ms / 100);
    ts[21] = (char)('0' + ms / 10 % 10);
    ts[22] = (char)('0' + ms % 10);
    ts[23] = 'Z';
    ts[24] = '\0';
    return 24;
}

/* Writes one log line; see log.h. */
void log_vmsg(enum log_level level, const struct log_scope *scope, const char *fmt, va_list ap)
{
    struct log_line l;
    char msg[LOG_MAX_LINE_BYTES], ts[40], lv[16];
    struct timespec now;
    FILE *f;

    if (level < LOG_ERROR || level > LOG_TRACE || !log_enabled(level))
        return;
    l.ll_len = 0;
    l.ll_full = 0;
    msg[0] = '(';
    msg[1] = log_letters[level];
    msg[2] = ')';
    msg[3] = ' ';
    if (vsnprintf(msg + 4, sizeof(msg) - 4, fmt, ap) < 0)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    if (log_timestamp(ts, &now) == 0)
        return;
    log_put(&l, "{\"log_message\":\"", 16);
    /* Leave room for the other fields so that a long message is cut, never the line. */
    log_put_escaped(&l, msg, sizeof(l.ll_buf) - 256);
    log_put(&l, "\"", 1);
    log_put_field(&l, 0, "timestamp", ts);
    memcpy(lv, ",\"level\":", 9); /* levels are one digit (LOG_ERROR..LOG_TRACE) */
    lv[9] = (char)('0' + (int)level);
    log_put(&l, lv, 10);
    if (scope && (scope->ls_request_id || scope->ls_jti)) {
        log_put(&l, ",\"scope\":{", 10);
        if (scope->ls_request_id)
            log_put_field(&l, 1, "request_id", scope->ls_request_id);
        if (scope->ls_jti)
            log_put_field(&l, !scope->ls_request_id, "jti", scope->ls_jti);
        log_put(&l, "}", 1);
    }
    if (l.ll_full)
        return;
    memcpy(l.ll_buf + l.ll_len, "}\n", 2);
    l.ll_len += 2;
    f = atomic_load(&log_stream);
    if (!f)
        f = stderr;
    flockfile(f);
    fwrite(l.ll_buf, 1, l.ll_len, f);
    fflush(f);
    funlockfile(f);
}

/* Writes one log line; see log.h. */
void log_msg(enum log_level level, const struct log_scope *scope, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(level, scope, fmt, ap);
    va_end(ap);
}
