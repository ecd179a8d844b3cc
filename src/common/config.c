/*
 * config.c - configuration from the environment, driven by one table (config_defs).
 *
 * Each variable has a kind; each kind has one parser and one "expected ..." message. The
 * messages name the variable and what was expected, never the value: OP_SESSION and
 * SESAME_HUB_DATABASE_URL hold secrets, and a secret pasted into the wrong variable must
 * not end up in a log either.
 */
#include "common/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/alloc.h"
#include "common/codec.h"

enum config_kind {
    CK_SECRET,    /* kept as given (OP_SESSION; decoded by config_session_read) */
    CK_PORT,      /* 1-65535 */
    CK_UINT,      /* decimal, cd_min..cd_max */
    CK_DURATION,  /* Go duration, stored in ms, cd_min..cd_max ms */
    CK_BOOL,      /* 1 0 true false yes no on off, any case */
    CK_PRESENCE,  /* any value means on (Connect's OP_TLS_USE_LETSENCRYPT) */
    CK_LOG_LEVEL, /* log_level_parse */
    CK_PATH,      /* no control characters, shorter than CONFIG_MAX_PATH */
    CK_DOMAIN,    /* a DNS name */
    CK_ADDR,      /* host:port */
    CK_URL,       /* http:// or https:// with a host */
    CK_URL_LIST,  /* comma-separated CK_URLs, at most CONFIG_MAX_HUB_URLS, no repeats */
    CK_DB_URL,    /* postgresql:// or postgres:// */
    CK_PEERS,     /* comma-separated host:port, at most CONFIG_MAX_BUS_PEERS */
};

struct config_def {
    const char *cd_name;
    enum config_kind cd_kind;
    size_t cd_off;          /* the member of struct config it fills */
    const char *cd_def_str; /* default of a text kind, parsed like a value; or NULL */
    unsigned long cd_def;   /* default of a numeric kind */
    unsigned long cd_min;   /* bounds of CK_UINT, or of CK_DURATION in ms */
    unsigned long cd_max;
    size_t cd_max_len; /* longest value accepted (bytes); 0: CONFIG_MAX_VALUE_BYTES */
};

#define OFF(m) offsetof(struct config, m)

/* The table: one row per variable, in enum config_var order (= the order of checking). */
static const struct config_def config_defs[CONFIG__COUNT] = {
    [CONFIG_OP_SESSION] = {.cd_name = "OP_SESSION",
                           .cd_kind = CK_SECRET,
                           .cd_off = OFF(cf_session),
                           .cd_max_len = 2 * CONFIG_MAX_SESSION_BYTES},
    [CONFIG_OP_HTTP_PORT] = {.cd_name = "OP_HTTP_PORT",
                             .cd_kind = CK_PORT,
                             .cd_off = OFF(cf_http_port),
                             .cd_def = CONNECT_DEFAULT_HTTP_PORT},
    [CONFIG_OP_HTTPS_PORT] = {.cd_name = "OP_HTTPS_PORT",
                              .cd_kind = CK_PORT,
                              .cd_off = OFF(cf_https_port),
                              .cd_def = CONNECT_DEFAULT_HTTPS_PORT},
    [CONFIG_OP_TLS_CERT_FILE] = {.cd_name = "OP_TLS_CERT_FILE",
                                 .cd_kind = CK_PATH,
                                 .cd_off = OFF(cf_tls_cert_file)},
    [CONFIG_OP_TLS_KEY_FILE] = {.cd_name = "OP_TLS_KEY_FILE",
                                .cd_kind = CK_PATH,
                                .cd_off = OFF(cf_tls_key_file)},
    [CONFIG_OP_TLS_USE_LETSENCRYPT] = {.cd_name = "OP_TLS_USE_LETSENCRYPT",
                                       .cd_kind = CK_PRESENCE,
                                       .cd_off = OFF(cf_tls_letsencrypt)},
    [CONFIG_OP_TLS_DOMAIN] = {.cd_name = "OP_TLS_DOMAIN",
                              .cd_kind = CK_DOMAIN,
                              .cd_off = OFF(cf_tls_domain)},
    [CONFIG_OP_LOG_LEVEL] = {.cd_name = "OP_LOG_LEVEL",
                             .cd_kind = CK_LOG_LEVEL,
                             .cd_off = OFF(cf_log_level),
                             .cd_def = LOG_INFO},
    [CONFIG_OP_DEBUG] = {.cd_name = "OP_DEBUG", .cd_kind = CK_BOOL, .cd_off = OFF(cf_debug)},
    [CONFIG_OP_PRETTY_LOGS] = {.cd_name = "OP_PRETTY_LOGS",
                               .cd_kind = CK_BOOL,
                               .cd_off = OFF(cf_pretty_logs)},
    [CONFIG_HOME] = {.cd_name = "HOME", .cd_kind = CK_PATH, .cd_off = OFF(cf_home)},
    [CONFIG_XDG_DATA_HOME] = {.cd_name = "XDG_DATA_HOME",
                              .cd_kind = CK_PATH,
                              .cd_off = OFF(cf_xdg_data_home)},
    [CONFIG_OP_BUS_PORT] = {.cd_name = "OP_BUS_PORT",
                            .cd_kind = CK_PORT,
                            .cd_off = OFF(cf_bus_port),
                            .cd_def = 0},
    [CONFIG_OP_BUS_PEERS] = {.cd_name = "OP_BUS_PEERS",
                             .cd_kind = CK_PEERS,
                             .cd_off = OFF(cf_bus_peers)},
    [CONFIG_OP_SYNC_TIMEOUT] = {.cd_name = "OP_SYNC_TIMEOUT",
                                .cd_kind = CK_DURATION,
                                .cd_off = OFF(cf_sync_timeout_ms),
                                .cd_def = CONNECT_DEFAULT_SYNC_TIMEOUT_MS,
                                .cd_min = CONFIG_MIN_SYNC_TIMEOUT_MS,
                                .cd_max = CONNECT_MAX_SYNC_TIMEOUT_MS},
    [CONFIG_OP_MAX_INLINE_FILE_SIZE_KB] = {.cd_name = "OP_MAX_INLINE_FILE_SIZE_KB",
                                           .cd_kind = CK_UINT,
                                           .cd_off = OFF(cf_max_inline_kb),
                                           .cd_def = CONNECT_DEFAULT_MAX_INLINE_KB,
                                           .cd_min = 1,
                                           .cd_max = CONFIG_MAX_INLINE_FILE_KB},
    [CONFIG_SESAME_HUB_ADDR] = {.cd_name = "SESAME_HUB_ADDR",
                                .cd_kind = CK_ADDR,
                                .cd_off = OFF(cf_hub_addr),
                                .cd_def_str = HUB_DEFAULT_ADDR},
    [CONFIG_SESAME_HUB_DATA] = {.cd_name = "SESAME_HUB_DATA",
                                .cd_kind = CK_PATH,
                                .cd_off = OFF(cf_hub_data),
                                .cd_def_str = CONFIG_DEFAULT_HUB_DATA},
    [CONFIG_SESAME_HUB_DATABASE_URL] = {.cd_name = "SESAME_HUB_DATABASE_URL",
                                        .cd_kind = CK_DB_URL,
                                        .cd_off = OFF(cf_hub_database_url)},
    [CONFIG_SESAME_HUB_DATABASE] = {.cd_name = "SESAME_HUB_DATABASE",
                                    .cd_kind = CK_DB_URL,
                                    .cd_off = OFF(cf_hub_database)},
    [CONFIG_SESAME_HUB] = {.cd_name = "SESAME_HUB",
                           .cd_kind = CK_URL_LIST,
                           .cd_off = OFF(cf_hub_url)},
    [CONFIG_SESAME_ACCOUNT_KIT] = {.cd_name = "SESAME_ACCOUNT_KIT",
                                   .cd_kind = CK_PATH,
                                   .cd_off = OFF(cf_account_kit)},
    [CONFIG_SESAME_HUB_TLS_CERT] = {.cd_name = "SESAME_HUB_TLS_CERT",
                                    .cd_kind = CK_PATH,
                                    .cd_off = OFF(cf_hub_tls_cert)},
    [CONFIG_SESAME_HUB_TLS_KEY] = {.cd_name = "SESAME_HUB_TLS_KEY",
                                   .cd_kind = CK_PATH,
                                   .cd_off = OFF(cf_hub_tls_key)},
    [CONFIG_SESAME_HUB_CA_FILE] = {.cd_name = "SESAME_HUB_CA_FILE",
                                   .cd_kind = CK_PATH,
                                   .cd_off = OFF(cf_hub_ca_file)},
    [CONFIG_SESAME_BUS_SOCKET] = {.cd_name = "SESAME_BUS_SOCKET",
                                  .cd_kind = CK_PATH,
                                  .cd_off = OFF(cf_bus_socket)},
    [CONFIG_SESAME_RATE_LIMIT_RPS] = {.cd_name = "SESAME_RATE_LIMIT_RPS",
                                      .cd_kind = CK_UINT,
                                      .cd_off = OFF(cf_rate_limit_rps),
                                      .cd_def = CONFIG_DEFAULT_RATE_LIMIT_RPS,
                                      .cd_min = 0,
                                      .cd_max = CONFIG_MAX_RATE_LIMIT_RPS},
    [CONFIG_SESAME_HUB_RATE_LIMIT_RPS] = {.cd_name = "SESAME_HUB_RATE_LIMIT_RPS",
                                          .cd_kind = CK_UINT,
                                          .cd_off = OFF(cf_hub_rate_limit_rps),
                                          .cd_def = CONFIG_DEFAULT_HUB_RATE_LIMIT_RPS,
                                          .cd_min = 0,
                                          .cd_max = CONFIG_MAX_RATE_LIMIT_RPS},
    [CONFIG_SESAME_MAX_BODY_BYTES] = {.cd_name = "SESAME_MAX_BODY_BYTES",
                                      .cd_kind = CK_UINT,
                                      .cd_off = OFF(cf_max_body_bytes),
                                      .cd_def = HTTP_MAX_BODY_BYTES,
                                      .cd_min = CONFIG_MIN_BODY_BYTES,
                                      .cd_max = CONFIG_MAX_BODY_BYTES},
    [CONFIG_SESAME_MAX_HEADER_BYTES] = {.cd_name = "SESAME_MAX_HEADER_BYTES",
                                        .cd_kind = CK_UINT,
                                        .cd_off = OFF(cf_max_header_bytes),
                                        .cd_def = HTTP_MAX_HEADER_BYTES,
                                        .cd_min = CONFIG_MIN_HEADER_BYTES,
                                        .cd_max = CONFIG_MAX_HEADER_BYTES},
    [CONFIG_SESAME_HTTP_TIMEOUT_SECONDS] = {.cd_name = "SESAME_HTTP_TIMEOUT_SECONDS",
                                            .cd_kind = CK_UINT,
                                            .cd_off = OFF(cf_http_timeout_s),
                                            .cd_def = HTTP_TIMEOUT_SECONDS,
                                            .cd_min = 1,
                                            .cd_max = CONFIG_MAX_HTTP_TIMEOUT_SECONDS},
};

/*
 * Names under our prefixes that config_load does not read but must not report as unknown:
 * Connect's profiler settings (set by its Helm chart; accepted and ignored) and the
 * client-side variables the CLI reads itself (connect-api.md §12).
 */
static const char *const config_ignored_prefixes[] = {"OP_PROFILER_"};
static const char *const config_ignored_names[] = {
    "OP_CONNECT_HOST",         "OP_CONNECT_TOKEN",         "OP_VAULT",
    "OP_CONNECT_CLIENT_ASYNC", "OP_SERVICE_ACCOUNT_TOKEN", "OP_CONNECT_CLIENT_REQ_TIMEOUT",
};

#define CONFIG_ADDR_EXPECT                                                                         \
    "host:port (an IPv4 address, [IPv6 address] or host name, and a port from 1 to 65535)"
#define CONFIG_SESSION_EXPECT                                                                      \
    "OP_SESSION: expected a path to the credentials file, or its contents base64-encoded "         \
    "(standard or URL-safe alphabet, padded or not)"
#define CONFIG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char config_default_session[] = "/.op/1password-credentials.json";
static const char config_data_suffix[] = "/.op/data";

static int config_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int config_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* 1 if any of len bytes of s is a control character (or DEL). */
static int config_has_control(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    }
    return 0;
}

/* Trims ASCII whitespace at both ends of [*s, *s + *len). */
static void config_trim(const char **s, size_t *len)
{
    while (*len > 0 && config_is_space((*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && config_is_space((*s)[*len - 1]))
        (*len)--;
}

/* Parses len decimal digits (no sign, no space) into *out. Returns 0, or -1. */
static int config_parse_ulong(const char *s, size_t len, unsigned long *out)
{
    unsigned long v = 0;
    size_t i;

    *out = 0;
    if (len == 0)
        return -1;
    for (i = 0; i < len; i++) {
        unsigned d;
        if (!config_is_digit(s[i]))
            return -1;
        d = (unsigned)(s[i] - '0');
        if (v > (ULONG_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int config_parse_port(const char *s, size_t len, unsigned *port)
{
    unsigned long v;

    *port = 0;
    if (config_parse_ulong(s, len, &v) != 0 || v < 1 || v > 65535)
        return -1;
    *port = (unsigned)v;
    return 0;
}

/* 1 if len bytes of s are a DNS-style host name: labels of [A-Za-z0-9_-], 1-63 bytes. */
static int config_host_name_ok(const char *s, size_t len)
{
    size_t i, label = 0;

    if (len == 0 || len > CONFIG_MAX_HOST_LEN)
        return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || config_is_digit(c) || c == '-' ||
              c == '_'))
            return 0;
        if (label == 0 && c == '-')
            return 0;
        if (++label > 63)
            return 0;
    }
    return label > 0 && s[len - 1] != '-';
}

/* 1 if s (len bytes) consists of digits and dots only: then it must be an IPv4 address. */
static int config_all_numeric(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (!config_is_digit(s[i]) && s[i] != '.')
            return 0;
    }
    return 1;
}

/*
 * Parses a host: "[IPv6]", a dotted IPv4 address, or a host name, into out (without the
 * brackets). Returns 0, or -1.
 */
static int config_parse_host(const char *s, size_t len, char out[CONFIG_MAX_HOST_LEN + 1])
{
    char tmp[CONFIG_MAX_HOST_LEN + 1];
    unsigned char bin[16];

    out[0] = '\0';
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        if (len - 2 >= INET6_ADDRSTRLEN)
            return -1;
        memcpy(tmp, s + 1, len - 2);
        tmp[len - 2] = '\0';
        if (inet_pton(AF_INET6, tmp, bin) != 1)
            return -1;
    } else {
        if (len == 0 || len > CONFIG_MAX_HOST_LEN)
            return -1;
        memcpy(tmp, s, len);
        tmp[len] = '\0';
        if (config_all_numeric(s, len)) {
            if (inet_pton(AF_INET, tmp, bin) != 1)
                return -1;
        } else if (!config_host_name_ok(s, len)) {
            return -1;
        }
    }
    memcpy(out, tmp, strlen(tmp) + 1);
    return 0;
}

/* Parses "host:port" (port optional unless port_required) into *a. Returns 0, or -1. */
static int config_parse_addr(const char *s, size_t len, int port_required, struct config_addr *a)
{
    const char *colon = NULL;
    size_t hlen;

    memset(a, 0, sizeof(*a));
    if (len == 0)
        return -1;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return -1;
        hlen = (size_t)(close - s) + 1;
        if (hlen < len) {
            if (s[hlen] != ':')
                return -1;
            colon = s + hlen;
        }
    } else {
        colon = memrchr(s, ':', len);
        hlen = colon ? (size_t)(colon - s) : len;
    }
    if (config_parse_host(s, hlen, a->ca_host) != 0)
        return -1;
    if (colon) {
        if (config_parse_port(colon + 1, len - hlen - 1, &a->ca_port) != 0)
            return -1;
    } else if (port_required) {
        return -1;
    }
    return 0;
}

/* 1 if v is an http:// or https:// URL whose authority is a host[:port] (no user info). */
static int config_url_ok(const char *v, size_t len)
{
    struct config_addr a;
    size_t p, end;

    if (len > 7 && strncasecmp(v, "http://", 7) == 0)
        p = 7;
    else if (len > 8 && strncasecmp(v, "https://", 8) == 0)
        p = 8;
    else
        return 0;
    for (end = 0; end < len; end++) {
        if ((unsigned char)v[end] <= 0x20 || v[end] == 0x7f)
            return 0;
    }
    for (end = p; end < len && v[end] != '/' && v[end] != '?' && v[end] != '#'; end++) {
        if (v[end] == '@')
            return 0;
    }
    return config_parse_addr(v + p, end - p, 0, &a) == 0;
}

/* 1 if v is a libpq connection URI (its scheme is case-sensitive for libpq). */
static int config_db_url_ok(const char *v, size_t len)
{
    size_t i;

    if (!(len > 13 && strncmp(v, "postgresql://", 13) == 0) &&
        !(len > 11 && strncmp(v, "postgres://", 11) == 0))
        return 0;
    for (i = 0; i < len; i++) {
        if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f)
            return 0;
    }
    return 1;
}

static int config_parse_bool(const char *v, int *out)
{
    static const struct {
        const char *name;
        int value;
    } names[] = {
        {"1", 1}, {"0", 0}, {"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0}, {"on", 1}, {"off", 0},
    };
    size_t i;

    for (i = 0; i < CONFIG_ARRAY_LEN(names); i++) {
        if (strcasecmp(v, names[i].name) == 0) {
            *out = names[i].value;
            return 0;
        }
    }
    return -1;
}

/* Writes ms as a short Go-style duration ("10m", "1ms") into out. */
static void config_format_ms(char *out, size_t cap, unsigned long ms)
{
    if (ms != 0 && ms % 3600000 == 0)
        snprintf(out, cap, "%luh", ms / 3600000);
    else if (ms != 0 && ms % 60000 == 0)
        snprintf(out, cap, "%lum", ms / 60000);
    else if (ms != 0 && ms % 1000 == 0)
        snprintf(out, cap, "%lus", ms / 1000);
    else
        snprintf(out, cap, "%lums", ms);
}

/* Parses a Go duration; see config.h. Mirrors time.ParseDuration, including its limits. */
enum err config_duration_parse(const char *s, size_t len, int64_t *ns)
{
    static const struct {
        const char *name;
        size_t len;
        uint64_t ns;
    } units[] = {
        {"ns", 2, 1ULL},           {"us", 2, 1000ULL},
        {"\xc2\xb5s", 3, 1000ULL}, /* U+00B5 MICRO SIGN */
        {"\xce\xbcs", 3, 1000ULL}, /* U+03BC GREEK SMALL LETTER MU */
        {"ms", 2, 1000000ULL},     {"s", 1, 1000000000ULL},
        {"m", 1, 60000000000ULL},  {"h", 1, 3600000000000ULL},
    };
    const uint64_t lim = (uint64_t)1 << 63;
    uint64_t total = 0;
    size_t i = 0;
    int neg = 0;

    *ns = 0;
    if (i < len && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    }
    if (len - i == 1 && s[i] == '0')
        return ERR_OK;
    if (i == len)
        return ERR_BAD_INPUT;
    while (i < len) {
        uint64_t v = 0, f = 0, unit = 0;
        double scale = 1;
        int pre = 0, post = 0, frac_over = 0;
        size_t u0, k;

        if (!(s[i] == '.' || config_is_digit(s[i])))
            return ERR_BAD_INPUT;
        for (; i < len && config_is_digit(s[i]); i++) {
            if (v > lim / 10)
                return ERR_BAD_INPUT;
            v = v * 10 + (uint64_t)(s[i] - '0');
            if (v > lim)
                return ERR_BAD_INPUT;
            pre = 1;
        }
        if (i < len && s[i] == '.') {
            /* Fraction digits beyond int64 precision are consumed and ignored, as in Go. */
            for (i++; i < len && config_is_digit(s[i]); i++) {
                post = 1;
                if (frac_over)
                    continue;
                if (f > (lim - 1) / 10) {
                    frac_over = 1;
                    continue;
                }
                f = f * 10 + (uint64_t)(s[i] - '0');
                scale *= 10;
            }
        }
        if (!pre && !post)
            return ERR_BAD_INPUT;
        for (u0 = i; i < len && s[i] != '.' && !config_is_digit(s[i]); i++)
            ;
        for (k = 0; k < CONFIG_ARRAY_LEN(units); k++) {
            if (units[k].len == i - u0 && memcmp(units[k].name, s + u0, i - u0) == 0) {
                unit = units[k].ns;
                break;
            }
        }
        if (unit == 0) /* missing or unknown unit */
            return ERR_BAD_INPUT;
        if (v > lim / unit)
            return ERR_BAD_INPUT;
        v *= unit;
        if (f > 0) {
            /* f < scale, so this is below unit: no overflow in the conversion. */
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > lim)
                return ERR_BAD_INPUT;
        }
        if (v > lim - total)
            return ERR_BAD_INPUT;
        total += v;
    }
    if (neg) {
        *ns = total == lim ? INT64_MIN : -(int64_t)total;
        return ERR_OK;
    }
    if (total > lim - 1)
        return ERR_BAD_INPUT;
    *ns = (int64_t)total;
    return ERR_OK;
}

/* Writes the "expected ..." message of d's kind. */
static void config_err_expected(const struct config_def *d, char *errmsg, size_t errcap)
{
    switch (d->cd_kind) {
    case CK_PORT:
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: expected a port number from 1 to 65535",
                 d->cd_name);
        break;
    case CK_UINT:
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: expected an integer from %lu to %lu",
                 d->cd_name, d->cd_min, d->cd_max);
        break;
    case CK_DURATION:
        err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                 "%s: expected a duration such as 10s, 1m30s or 500ms "
                 "(units ns, us, ms, s, m, h)",
                 d->cd_name);
        break;
    case CK_BOOL:
        err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                 "%s: expected a boolean (1, 0, true, false, yes, no, on, off)", d->cd_name);
        break;
    case CK_LOG_LEVEL:
        err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                 "%s: expected a log level (trace, debug, info, warn, error)", d->cd_name);
        break;
    case CK_PATH:
        err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                 "%s: expected a path without control characters, shorter than %d bytes",
                 d->cd_name, CONFIG_MAX_PATH);
        break;
    case CK_DOMAIN:
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: expected a domain name", d->cd_name);
        break;
    case CK_ADDR:
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: expected " CONFIG_ADDR_EXPECT, d->cd_name);
        break;
    case CK_URL:
    case CK_URL_LIST:
        err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                 "%s: expected an http:// or https:// URL with a host", d->cd_name);
        break;
    case CK_DB_URL:
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: expected a postgresql:// or postgres:// URL",
                 d->cd_name);
        break;
    case CK_SECRET:
    case CK_PRESENCE:
    case CK_PEERS:
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: invalid value", d->cd_name);
        break;
    }
}

/*
 * Parses SESAME_HUB: one URL (as CK_URL), or several separated by commas (no blanks: a URL
 * has none), at most CONFIG_MAX_HUB_URLS, none repeated. cf_hub_url receives the first,
 * cf_hub_urls every one. A value without a comma is parsed and reported as a CK_URL.
 */
static enum err config_parse_url_list(struct config *cf, const struct config_def *d, const char *v,
                                      char *errmsg, size_t errcap)
{
    char **first = (char **)(void *)((char *)cf + d->cd_off);
    const char *p = v;
    size_t n = 0, i;

    if (!strchr(v, ',')) {
        if (!config_url_ok(v, strlen(v))) {
            config_err_expected(d, errmsg, errcap);
            return ERR_CONFIG;
        }
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (n == CONFIG_MAX_HUB_URLS) {
            err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: more than %d URLs", d->cd_name,
                     CONFIG_MAX_HUB_URLS);
            return ERR_CONFIG;
        }
        if (!config_url_ok(p, len)) {
            err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                     "%s: entry %zu: expected an http:// or https:// URL with a host", d->cd_name,
                     n + 1);
            return ERR_CONFIG;
        }
        for (i = 0; i < n; i++) {
            if (strlen(cf->cf_hub_urls[i]) == len && memcmp(cf->cf_hub_urls[i], p, len) == 0) {
                err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: entry %zu repeats entry %zu",
                         d->cd_name, n + 1, i + 1);
                return ERR_CONFIG;
            }
        }
        cf->cf_hub_urls[n] = mem_strndup(p, len);
        if (!cf->cf_hub_urls[n])
            return ERR_NOMEM;
        cf->cf_hub_url_count = ++n;
        if (!comma)
            break;
        p = comma + 1;
    }
    *first = mem_strdup(cf->cf_hub_urls[0]);
    return *first ? ERR_OK : ERR_NOMEM;
}

/* Parses OP_BUS_PEERS: comma-separated host:port, blanks around entries allowed. */
static enum err config_parse_peers(struct config *cf, const struct config_def *d, const char *v,
                                   char *errmsg, size_t errcap)
{
    const char *p = v;
    size_t n = 0;

    for (;;) {
        const char *comma = strchr(p, ',');
        const char *s = p;
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        while (len > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
        }
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        if (n == CONFIG_MAX_BUS_PEERS) {
            err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: more than %d peers", d->cd_name,
                     CONFIG_MAX_BUS_PEERS);
            return ERR_CONFIG;
        }
        if (config_parse_addr(s, len, 1, &cf->cf_bus_peers[n]) != 0) {
            err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: entry %zu: expected " CONFIG_ADDR_EXPECT,
                     d->cd_name, n + 1);
            return ERR_CONFIG;
        }
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    cf->cf_bus_peer_count = n;
    return ERR_OK;
}

/* Copies a text value into the member of d. */
static enum err config_set_str(struct config *cf, const struct config_def *d, const char *v)
{
    char **dst = (char **)(void *)((char *)cf + d->cd_off);

    *dst = mem_strdup(v);
    return *dst ? ERR_OK : ERR_NOMEM;
}

/*
 * Applies variable d: v is its value, or NULL when unset (then the default applies).
 * Returns ERR_OK, ERR_CONFIG (message written) or ERR_NOMEM.
 */
static enum err config_apply(struct config *cf, const struct config_def *d, const char *v,
                             char *errmsg, size_t errcap)
{
    void *member = (char *)cf + d->cd_off;
    size_t max_len = d->cd_max_len ? d->cd_max_len : CONFIG_MAX_VALUE_BYTES;
    size_t len;
    unsigned long num = d->cd_def;
    int64_t ns;
    enum log_level level;

    if (!v) {
        switch (d->cd_kind) {
        case CK_PORT:
            *(unsigned *)member = (unsigned)d->cd_def;
            return ERR_OK;
        case CK_UINT:
        case CK_DURATION:
            *(unsigned long *)member = d->cd_def;
            return ERR_OK;
        case CK_BOOL:
        case CK_PRESENCE:
            *(int *)member = (int)d->cd_def;
            return ERR_OK;
        case CK_LOG_LEVEL:
            *(enum log_level *)member = (enum log_level)d->cd_def;
            return ERR_OK;
        case CK_ADDR:
            if (!d->cd_def_str)
                return ERR_OK;
            if (config_parse_addr(d->cd_def_str, strlen(d->cd_def_str), 1, member) != 0) {
                err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: the built-in default is invalid",
                         d->cd_name);
                return ERR_INTERNAL;
            }
            return ERR_OK;
        default:
            return d->cd_def_str ? config_set_str(cf, d, d->cd_def_str) : ERR_OK;
        }
    }

    len = strlen(v);
    if (d->cd_kind == CK_PATH) {
        if (len >= CONFIG_MAX_PATH || config_has_control(v, len))
            goto bad;
        return config_set_str(cf, d, v);
    }
    if (len > max_len) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: value is longer than %zu bytes", d->cd_name,
                 max_len);
        return ERR_CONFIG;
    }
    switch (d->cd_kind) {
    case CK_SECRET:
        return config_set_str(cf, d, v);
    case CK_PORT:
        /* OP_HTTP(S)_PORT=0: any free port (Sesame only: tests, `sesame up`; --port-file says
           which) */
        if ((d == &config_defs[CONFIG_OP_HTTP_PORT] || d == &config_defs[CONFIG_OP_HTTPS_PORT]) &&
            len == 1 && v[0] == '0') {
            *(unsigned *)member = 0;
            return ERR_OK;
        }
        if (config_parse_port(v, len, member) != 0)
            goto bad;
        return ERR_OK;
    case CK_UINT:
        if (config_parse_ulong(v, len, &num) != 0 || num < d->cd_min || num > d->cd_max)
            goto bad;
        *(unsigned long *)member = num;
        return ERR_OK;
    case CK_DURATION:
        if (config_duration_parse(v, len, &ns) != ERR_OK)
            goto bad;
        if (ns < 0 || (uint64_t)ns < (uint64_t)d->cd_min * 1000000u ||
            (uint64_t)ns > (uint64_t)d->cd_max * 1000000u) {
            char lo[32], hi[32];
            config_format_ms(lo, sizeof(lo), d->cd_min);
            config_format_ms(hi, sizeof(hi), d->cd_max);
            err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s: expected a duration from %s to %s",
                     d->cd_name, lo, hi);
            return ERR_CONFIG;
        }
        *(unsigned long *)member = (unsigned long)(ns / 1000000);
        return ERR_OK;
    case CK_BOOL:
        if (config_parse_bool(v, member) != 0)
            goto bad;
        return ERR_OK;
    case CK_PRESENCE:
        *(int *)member = 1;
        return ERR_OK;
    case CK_LOG_LEVEL:
        if (log_level_parse(v, &level) != 0)
            goto bad;
        *(enum log_level *)member = level;
        return ERR_OK;
    case CK_DOMAIN:
        if (!config_host_name_ok(v, len) || config_all_numeric(v, len))
            goto bad;
        return config_set_str(cf, d, v);
    case CK_ADDR:
        if (config_parse_addr(v, len, 1, member) != 0)
            goto bad;
        return ERR_OK;
    case CK_URL:
        if (!config_url_ok(v, len))
            goto bad;
        return config_set_str(cf, d, v);
    case CK_DB_URL:
        if (!config_db_url_ok(v, len))
            goto bad;
        return config_set_str(cf, d, v);
    case CK_PEERS:
        return config_parse_peers(cf, d, v, errmsg, errcap);
    case CK_URL_LIST:
        return config_parse_url_list(cf, d, v, errmsg, errcap);
    case CK_PATH:
        break;
    }
bad:
    config_err_expected(d, errmsg, errcap);
    return ERR_CONFIG;
}

/* Index of the table row named by len bytes of name, or -1. */
static int config_def_find(const char *name, size_t len)
{
    int i;

    for (i = 0; i < CONFIG__COUNT; i++) {
        if (strlen(config_defs[i].cd_name) == len && memcmp(config_defs[i].cd_name, name, len) == 0)
            return i;
    }
    return -1;
}

static int config_has_prefix(const char *name, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);

    return len >= n && memcmp(name, prefix, n) == 0;
}

/* 1 if the name is ours but deliberately not read here. */
static int config_is_ignored(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < CONFIG_ARRAY_LEN(config_ignored_prefixes); i++) {
        if (config_has_prefix(name, len, config_ignored_prefixes[i]))
            return 1;
    }
    for (i = 0; i < CONFIG_ARRAY_LEN(config_ignored_names); i++) {
        if (strlen(config_ignored_names[i]) == len &&
            memcmp(config_ignored_names[i], name, len) == 0)
            return 1;
    }
    return 0;
}

/* Records an unknown OP_* / SESAME_* name (once), or counts it as dropped. */
static enum err config_unknown_add(struct config *cf, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < cf->cf_unknown_count; i++) {
        if (strlen(cf->cf_unknown[i]) == len && memcmp(cf->cf_unknown[i], name, len) == 0)
            return ERR_OK;
    }
    for (i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || config_is_digit(c) || c == '_'))
            break;
    }
    if (i < len || len > CONFIG_MAX_VAR_NAME || cf->cf_unknown_count == CONFIG_MAX_UNKNOWN_VARS) {
        cf->cf_unknown_dropped++;
        return ERR_OK;
    }
    cf->cf_unknown[cf->cf_unknown_count] = mem_strndup(name, len);
    if (!cf->cf_unknown[cf->cf_unknown_count])
        return ERR_NOMEM;
    cf->cf_unknown_count++;
    return ERR_OK;
}

/* Checks that two variables are both set or both unset. */
static enum err config_check_pair(const struct config *cf, enum config_var a, enum config_var b,
                                  char *errmsg, size_t errcap)
{
    if (cf->cf_set[a] == cf->cf_set[b])
        return ERR_OK;
    err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s and %s: set both or neither",
             config_defs[a].cd_name, config_defs[b].cd_name);
    return ERR_CONFIG;
}

/* Rules between variables, and the derived values. */
static enum err config_finish(struct config *cf, char *errmsg, size_t errcap)
{
    const char *base;
    enum config_var base_var;
    size_t blen, need;
    enum err rc;

    rc = config_check_pair(cf, CONFIG_OP_TLS_CERT_FILE, CONFIG_OP_TLS_KEY_FILE, errmsg, errcap);
    if (rc != ERR_OK)
        return rc;
    if (cf->cf_set[CONFIG_OP_TLS_USE_LETSENCRYPT]) {
        if (cf->cf_set[CONFIG_OP_TLS_CERT_FILE]) {
            err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                     "OP_TLS_USE_LETSENCRYPT: cannot be combined with OP_TLS_CERT_FILE and "
                     "OP_TLS_KEY_FILE");
            return ERR_CONFIG;
        }
        if (!cf->cf_set[CONFIG_OP_TLS_DOMAIN]) {
            err_msgf(ERR_BAD_INPUT, errmsg, errcap, "OP_TLS_USE_LETSENCRYPT: needs OP_TLS_DOMAIN");
            return ERR_CONFIG;
        }
    } else if (cf->cf_set[CONFIG_OP_TLS_DOMAIN] && !cf->cf_set[CONFIG_OP_TLS_CERT_FILE]) {
        /* Connect's Swarm example: OP_TLS_DOMAIN alone turns on the certificate manager. */
        cf->cf_tls_letsencrypt = 1;
    }
    rc = config_check_pair(cf, CONFIG_SESAME_HUB_TLS_CERT, CONFIG_SESAME_HUB_TLS_KEY, errmsg,
                           errcap);
    if (rc != ERR_OK)
        return rc;
    if (cf->cf_debug && cf->cf_log_level < LOG_DEBUG)
        cf->cf_log_level = LOG_DEBUG;

    /* The data volume: $XDG_DATA_HOME/.op/data, else $HOME/.op/data, else none (NULL). */
    if (cf->cf_xdg_data_home) {
        base = cf->cf_xdg_data_home;
        base_var = CONFIG_XDG_DATA_HOME;
    } else if (cf->cf_home) {
        base = cf->cf_home;
        base_var = CONFIG_HOME;
    } else {
        /* Not fatal: the hub and the CLI need no data volume; api and sync refuse to start
         * with CONFIG_NO_DATA_DIR_MSG when cf_data_dir is NULL. */
        return ERR_OK;
    }
    blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    need = blen + sizeof(config_data_suffix); /* with the NUL */
    if (need > CONFIG_MAX_PATH) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                 "%s: the data directory path would be %zu bytes or longer",
                 config_defs[base_var].cd_name, (size_t)CONFIG_MAX_PATH);
        return ERR_CONFIG;
    }
    cf->cf_data_dir = mem_alloc(need);
    if (!cf->cf_data_dir)
        return ERR_NOMEM;
    memcpy(cf->cf_data_dir, base, blen);
    memcpy(cf->cf_data_dir + blen, config_data_suffix, sizeof(config_data_suffix));
    return ERR_OK;
}

/* Applies one variable; see config.h. */
enum err config_load_var(struct config *cf, enum config_var v, const char *value, char *errmsg,
                         size_t errcap)
{
    enum err rc;

    if (errmsg && errcap)
        errmsg[0] = '\0';
    if ((unsigned)v >= CONFIG__COUNT)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "configuration: unknown variable");
    if (value && !value[0])
        value = NULL;
    cf->cf_set[v] = value != NULL;
    rc = config_apply(cf, &config_defs[v], value, errmsg, errcap);
    if (rc == ERR_NOMEM)
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "configuration: out of memory");
    return rc == ERR_INTERNAL ? ERR_CONFIG : rc;
}

/* Fills cf from envp; see config.h. */
enum err config_load(struct config *cf, char *const *envp, char *errmsg, size_t errcap)
{
    const char *vals[CONFIG__COUNT];
    enum err rc = ERR_OK;
    size_t i;

    memset(cf, 0, sizeof(*cf));
    memset(vals, 0, sizeof(vals));
    if (errmsg && errcap)
        errmsg[0] = '\0';
    for (i = 0; envp && envp[i]; i++) {
        const char *e = envp[i], *eq = strchr(e, '=');
        size_t nlen;
        int k;

        if (!eq)
            continue;
        nlen = (size_t)(eq - e);
        k = config_def_find(e, nlen);
        if (k >= 0) {
            if (!vals[k]) /* the first occurrence wins, as with getenv */
                vals[k] = eq + 1;
            continue;
        }
        if (config_is_ignored(e, nlen))
            continue;
        if (config_has_prefix(e, nlen, "OP_") || config_has_prefix(e, nlen, "SESAME_")) {
            rc = config_unknown_add(cf, e, nlen);
            if (rc != ERR_OK)
                goto out;
        }
    }
    for (i = 0; i < CONFIG__COUNT; i++) {
        const char *v = vals[i] && vals[i][0] ? vals[i] : NULL;

        cf->cf_set[i] = v != NULL;
        rc = config_apply(cf, &config_defs[i], v, errmsg, errcap);
        if (rc != ERR_OK)
            goto out;
    }
    rc = config_finish(cf, errmsg, errcap);
out:
    if (rc != ERR_OK) {
        if (rc == ERR_NOMEM)
            err_msgf(ERR_BAD_INPUT, errmsg, errcap, "configuration: out of memory");
        config_free(cf);
    }
    return rc;
}

/* Wipes and frees a string member. */
static void config_str_free(char **p)
{
    if (*p) {
        explicit_bzero(*p, strlen(*p));
        mem_free(*p);
        *p = NULL;
    }
}

/* Frees everything cf owns; see config.h. */
void config_free(struct config *cf)
{
    size_t i;

    if (!cf)
        return;
    for (i = 0; i < CONFIG__COUNT; i++) {
        switch (config_defs[i].cd_kind) {
        case CK_SECRET:
        case CK_PATH:
        case CK_DOMAIN:
        case CK_URL:
        case CK_URL_LIST:
        case CK_DB_URL:
            config_str_free((char **)(void *)((char *)cf + config_defs[i].cd_off));
            break;
        default:
            break;
        }
    }
    config_str_free(&cf->cf_data_dir);
    for (i = 0; i < cf->cf_hub_url_count; i++)
        config_str_free(&cf->cf_hub_urls[i]);
    for (i = 0; i < cf->cf_unknown_count; i++)
        config_str_free(&cf->cf_unknown[i]);
    explicit_bzero(cf, sizeof(*cf));
}

/* Returns 1 if v was set; see config.h. */
int config_is_set(const struct config *cf, enum config_var v)
{
    if ((int)v < 0 || v >= CONFIG__COUNT)
        return 0;
    return cf->cf_set[v] != 0;
}

/* Returns the variable's name; see config.h. */
const char *config_var_name(enum config_var v)
{
    if ((int)v < 0 || v >= CONFIG__COUNT)
        return "?";
    return config_defs[v].cd_name;
}

/* ---- OP_SESSION ------------------------------------------------------------------------ */

/* Copies a path for a message: control characters become '?', so the message stays one line. */
static void config_path_clean(char *dst, size_t cap, const char *src)
{
    size_t i;

    for (i = 0; i + 1 < cap && src[i]; i++)
        dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? '?' : src[i];
    dst[i] = '\0';
}

/*
 * Checks that len bytes at p (a leading UTF-8 byte order mark is skipped) are a JSON object
 * without duplicate keys whose "version" is "2", and appends them to out.
 */
static enum err config_session_json(struct buf *out, const char *p, size_t len, char *errmsg,
                                    size_t errcap)
{
    json_error_t jerr;
    json_t *root = NULL, *version;
    enum err rc = ERR_CONFIG;

    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3;
        len -= 3;
    }
    if (len > CONFIG_MAX_SESSION_BYTES) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                 "OP_SESSION: credentials file is larger than %u bytes", CONFIG_MAX_SESSION_BYTES);
        goto out;
    }
    /* jansson's error text quotes the input: report only its position. */
    root = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_duplicate_key)
            err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                     "OP_SESSION: credentials file has a duplicate key (line %d)", jerr.line);
        else
            err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                     "OP_SESSION: credentials file is not valid JSON (line %d, column %d)",
                     jerr.line, jerr.column);
        goto out;
    }
    if (!json_is_object(root)) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                 "OP_SESSION: credentials file is not a JSON object");
        goto out;
    }
    version = json_object_get(root, "version");
    if (!json_is_string(version) || strcmp(json_string_value(version), "2") != 0) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "OP_SESSION: credentials file is not version 2");
        goto out;
    }
    rc = buf_add(out, p, len);
    if (rc == ERR_NOMEM)
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "OP_SESSION: out of memory");
out:
    json_decref(root);
    return rc;
}

/* Decodes raw JSON or base64 of it; see config.h. */
enum err config_session_decode(struct buf *out, const char *bytes, size_t len, char *errmsg,
                               size_t errcap)
{
    char *compact = NULL;
    unsigned char *dec = NULL;
    size_t clen = 0, dcap = 0, dlen = 0, i;
    enum err rc = ERR_CONFIG;

    buf_init(out, CONFIG_MAX_SESSION_BYTES);
    if (errmsg && errcap)
        errmsg[0] = '\0';
    config_trim(&bytes, &len);
    if (len > 0 && bytes[0] == '{')
        return config_session_json(out, bytes, len, errmsg, errcap);
    if (len > 2 * (size_t)CONFIG_MAX_SESSION_BYTES) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                 "OP_SESSION: credentials file is larger than %u bytes", CONFIG_MAX_SESSION_BYTES);
        goto out;
    }
    /* base64(1) wraps at 76 columns and ends with a newline: drop all ASCII whitespace. */
    compact = mem_alloc(len + 1);
    if (!compact) {
        rc = ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < len; i++) {
        if (!config_is_space(bytes[i]))
            compact[clen++] = bytes[i];
    }
    if (clen == 0) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s", CONFIG_SESSION_EXPECT);
        goto out;
    }
    if (clen > codec_b64_encoded_len(CONFIG_MAX_SESSION_BYTES + 3, 1)) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                 "OP_SESSION: credentials file is larger than %u bytes", CONFIG_MAX_SESSION_BYTES);
        goto out;
    }
    dcap = codec_b64_decoded_max(clen);
    dec = mem_alloc(dcap);
    if (!dec) {
        rc = ERR_NOMEM;
        goto out;
    }
    if (codec_b64_decode(dec, dcap, &dlen, compact, clen,
                         CODEC_B64_STD | CODEC_B64_URL | CODEC_PAD_OPTIONAL) != ERR_OK) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s", CONFIG_SESSION_EXPECT);
        goto out;
    }
    rc = config_session_json(out, (const char *)dec, dlen, errmsg, errcap);
out:
    if (rc == ERR_NOMEM)
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "OP_SESSION: out of memory");
    if (compact) {
        explicit_bzero(compact, len + 1);
        mem_free(compact);
    }
    if (dec) {
        explicit_bzero(dec, dcap);
        mem_free(dec);
    }
    if (rc != ERR_OK)
        buf_free(out);
    return rc;
}

/* Writes "OP_SESSION: credentials file PATH: reason" for an errno from open(). */
static void config_session_path_err(const char *path, int e, char *errmsg, size_t errcap)
{
    char clean[CONFIG_MAX_PATH];
    const char *why;

    config_path_clean(clean, sizeof(clean), path);
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        why = "no such file";
        break;
    case EACCES:
    case EPERM:
        why = "permission denied";
        break;
    case ELOOP:
        why = "too many symbolic links";
        break;
    case ENAMETOOLONG:
        why = "name too long";
        break;
    default:
        why = strerrorname_np(e);
        if (!why)
            why = "cannot open";
        break;
    }
    err_msgf(ERR_BAD_INPUT, errmsg, errcap, "OP_SESSION: credentials file %s: %s", clean, why);
}

/* Reads the credentials file at path (a regular file of JSON) into out. */
static enum err config_session_file(struct buf *out, const char *path, char *errmsg, size_t errcap)
{
    char clean[CONFIG_MAX_PATH];
    char chunk[4096];
    struct buf raw;
    struct stat st;
    enum err rc = ERR_CONFIG;
    int fd;

    buf_init(&raw, CONFIG_MAX_SESSION_BYTES);
    config_path_clean(clean, sizeof(clean), path);
    /* O_NONBLOCK: a FIFO must not hang start-up; it is refused below anyway. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        config_session_path_err(path, errno, errmsg, errcap);
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        config_session_path_err(path, errno, errmsg, errcap);
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "OP_SESSION: credentials file %s: is a directory",
                 clean);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                 "OP_SESSION: credentials file %s: not a regular file", clean);
        goto out;
    }
    if (st.st_size > (off_t)CONFIG_MAX_SESSION_BYTES)
        goto too_large;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const char *name = strerrorname_np(errno);
            err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                     "OP_SESSION: credentials file %s: cannot read (%s)", clean,
                     name ? name : "error");
            goto out;
        }
        if (n == 0)
            break;
        rc = buf_add(&raw, chunk, (size_t)n);
        if (rc == ERR_TOO_LARGE) /* it grew after fstat */
            goto too_large;
        if (rc != ERR_OK) {
            err_msgf(ERR_BAD_INPUT, errmsg, errcap, "OP_SESSION: out of memory");
            goto out;
        }
    }
    rc = config_session_json(out, buf_str(&raw), raw.b_len, errmsg, errcap);
    goto out;
too_large:
    err_msgf(ERR_BAD_INPUT, errmsg, errcap, "OP_SESSION: credentials file %s: larger than %u bytes",
             clean, CONFIG_MAX_SESSION_BYTES);
    rc = ERR_CONFIG;
out:
    if (fd >= 0)
        close(fd);
    explicit_bzero(chunk, sizeof(chunk));
    buf_free(&raw);
    if (rc != ERR_OK)
        buf_free(out);
    return rc;
}

/*
 * 1 if a value that names no existing file should still be reported as a missing path. Only
 * forms that base64 of a JSON document can never take ('/' would encode a first byte
 * >= 0xfc; '.' and '~' are not base64), so a mangled secret is never echoed as a "path".
 */
static int config_looks_like_path(const char *s, size_t len)
{
    return len > 0 && (s[0] == '/' || s[0] == '.' || s[0] == '~' ||
                       (len > 5 && memcmp(s + len - 5, ".json", 5) == 0 && !memchr(s, ' ', len)));
}

/* Reads the credentials file as OP_SESSION designates it; see config.h. */
enum err config_session_read(struct buf *out, const char *value, const char *home, char *errmsg,
                             size_t errcap)
{
    char path[CONFIG_MAX_PATH];
    struct stat st;
    const char *s = value;
    size_t n;
    enum err rc;

    buf_init(out, CONFIG_MAX_SESSION_BYTES);
    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (!value || !value[0]) {
        size_t hlen = home ? strlen(home) : 0;
        if (hlen == 0) {
            err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                     "OP_SESSION: not set, and HOME is not set either, so there is no "
                     "default credentials file");
            return ERR_CONFIG;
        }
        if (hlen + sizeof(config_default_session) > sizeof(path)) {
            err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                     "OP_SESSION: the default credentials file path is too long");
            return ERR_CONFIG;
        }
        memcpy(path, home, hlen);
        memcpy(path + hlen, config_default_session, sizeof(config_default_session));
        return config_session_file(out, path, errmsg, errcap);
    }
    n = strlen(value);
    config_trim(&s, &n);
    if (n > 0 && s[0] == '{')
        return config_session_decode(out, s, n, errmsg, errcap);
    if (n > 0 && n < sizeof(path)) {
        int exists;

        memcpy(path, s, n);
        path[n] = '\0';
        /* Anything but "not there" means the value is a path (EACCES on a directory ...). */
        exists = stat(path, &st) == 0 ||
                 (errno != ENOENT && errno != ENOTDIR && errno != ENAMETOOLONG && errno != EINVAL);
        if (exists || config_looks_like_path(s, n)) {
            rc = config_session_file(out, path, errmsg, errcap);
            explicit_bzero(path, sizeof(path));
            return rc;
        }
        explicit_bzero(path, sizeof(path));
    } else if (config_looks_like_path(s, n)) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                 "OP_SESSION: the credentials file path is too long");
        return ERR_CONFIG;
    }
    return config_session_decode(out, s, n, errmsg, errcap);
}
