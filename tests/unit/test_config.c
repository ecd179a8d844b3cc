/*
 * test_config.c - configuration from the environment: defaults, every variable's good and
 * bad forms with the exact error text, Go durations, TLS pairs, bus peers, the data
 * directory, unknown names, allocation failures, and every OP_SESSION form.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/config.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- building environments without the heap ------------------------------------------ */

#define ENV_MAX       48
#define ENV_ENTRY_MAX 1024

struct env {
    char e_store[ENV_MAX][ENV_ENTRY_MAX];
    char *e_ptrs[ENV_MAX + 1];
    size_t e_n;
};

static void env_reset(struct env *e)
{
    e->e_n = 0;
    e->e_ptrs[0] = NULL;
}

static void env_add(struct env *e, const char *entry)
{
    assert_true(e->e_n < ENV_MAX);
    assert_true(strlen(entry) < ENV_ENTRY_MAX);
    memcpy(e->e_store[e->e_n], entry, strlen(entry) + 1);
    e->e_ptrs[e->e_n] = e->e_store[e->e_n];
    e->e_n++;
    e->e_ptrs[e->e_n] = NULL;
}

static struct env g_env; /* too big for the stack of a test */

/* Loads HOME=/home/opuser plus the given entries (NULL-terminated list). */
static enum err load(struct config *cf, char *msg, size_t cap, const char *const *entries)
{
    size_t i;

    env_reset(&g_env);
    env_add(&g_env, "HOME=/home/opuser");
    for (i = 0; entries && entries[i]; i++)
        env_add(&g_env, entries[i]);
    return config_load(cf, g_env.e_ptrs, msg, cap);
}

/* ---- defaults --------------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    struct config cf;
    char msg[512];
    size_t i;

    (void)state;
    assert_int_equal(load(&cf, msg, sizeof(msg), NULL), ERR_OK);
    assert_string_equal(msg, "");
    assert_null(cf.cf_session);
    assert_int_equal(cf.cf_http_port, 8080);
    assert_int_equal(cf.cf_https_port, 8443);
    assert_null(cf.cf_tls_cert_file);
    assert_null(cf.cf_tls_key_file);
    assert_int_equal(cf.cf_tls_letsencrypt, 0);
    assert_null(cf.cf_tls_domain);
    assert_int_equal(cf.cf_log_level, LOG_INFO);
    assert_int_equal(cf.cf_debug, 0);
    assert_int_equal(cf.cf_pretty_logs, 0);
    assert_string_equal(cf.cf_home, "/home/opuser");
    assert_null(cf.cf_xdg_data_home);
    assert_string_equal(cf.cf_data_dir, "/home/opuser/.op/data");
    assert_int_equal(cf.cf_bus_port, 0);
    assert_int_equal(cf.cf_bus_peer_count, 0);
    assert_int_equal(cf.cf_sync_timeout_ms, 10000);
    assert_int_equal(cf.cf_max_inline_kb, 100);
    assert_string_equal(cf.cf_hub_addr.ca_host, "127.0.0.1");
    assert_int_equal(cf.cf_hub_addr.ca_port, 7700);
    assert_string_equal(cf.cf_hub_data, "./sesame-hub");
    assert_null(cf.cf_hub_database_url);
    assert_null(cf.cf_hub_url);
    assert_int_equal(cf.cf_hub_url_count, 0);
    assert_null(cf.cf_hub_urls[0]);
    assert_null(cf.cf_account_kit);
    assert_null(cf.cf_hub_tls_cert);
    assert_null(cf.cf_hub_tls_key);
    assert_null(cf.cf_bus_socket);
    assert_int_equal(cf.cf_rate_limit_rps, 1000);
    assert_int_equal(cf.cf_max_body_bytes, 4u << 20);
    assert_int_equal(cf.cf_max_header_bytes, 16384);
    assert_int_equal(cf.cf_unknown_count, 0);
    assert_int_equal(cf.cf_unknown_dropped, 0);
    for (i = 0; i < CONFIG__COUNT; i++)
        assert_int_equal(config_is_set(&cf, (enum config_var)i), i == CONFIG_HOME);
    config_free(&cf);
    assert_null(cf.cf_home);
    config_free(&cf); /* twice is fine */
    config_free(NULL);

    assert_string_equal(config_var_name(CONFIG_OP_SYNC_TIMEOUT), "OP_SYNC_TIMEOUT");
    assert_string_equal(config_var_name(CONFIG_SESAME_MAX_HEADER_BYTES), "SESAME_MAX_HEADER_BYTES");
    assert_string_equal(config_var_name(CONFIG__COUNT), "?");
}

/* ---- every variable: good and bad forms ------------------------------------------------ */

enum chk { C_NONE, C_UINT, C_ULONG, C_INT, C_STR, C_NULL, C_ADDR };

struct row {
    const char *r_env[4];
    const char *r_msg; /* exact error text; NULL: must load */
    enum chk r_chk;
    size_t r_off;
    unsigned long r_num; /* C_UINT, C_ULONG, C_INT; the port for C_ADDR */
    const char *r_str;   /* C_STR; the host for C_ADDR */
};

#define M(member) offsetof(struct config, member)

#define E_PORT(v) v ": expected a port number from 1 to 65535"
#define E_BOOL(v) v ": expected a boolean (1, 0, true, false, yes, no, on, off)"
#define E_LEVEL   "OP_LOG_LEVEL: expected a log level (trace, debug, info, warn, error)"
#define E_PATH(v) v ": expected a path without control characters, shorter than 4096 bytes"
#define E_DOMAIN  "OP_TLS_DOMAIN: expected a domain name"
#define E_ADDR_TEXT                                                                                \
    "host:port (an IPv4 address, [IPv6 address] or host name, and a port from 1 to 65535)"
#define E_ADDR     "SESAME_HUB_ADDR: expected " E_ADDR_TEXT
#define E_URL      "SESAME_HUB: expected an http:// or https:// URL with a host"
#define E_DB       "SESAME_HUB_DATABASE_URL: expected a postgresql:// or postgres:// URL"
#define E_INLINE   "OP_MAX_INLINE_FILE_SIZE_KB: expected an integer from 1 to 10240"
#define E_RPS      "SESAME_RATE_LIMIT_RPS: expected an integer from 0 to 1000000"
#define E_BODY     "SESAME_MAX_BODY_BYTES: expected an integer from 1024 to 67108864"
#define E_HEADER   "SESAME_MAX_HEADER_BYTES: expected an integer from 4096 to 262144"
#define E_TLS_PAIR "OP_TLS_CERT_FILE and OP_TLS_KEY_FILE: set both or neither"
#define E_HUB_PAIR "SESAME_HUB_TLS_CERT and SESAME_HUB_TLS_KEY: set both or neither"

static const struct row rows[] = {
    /* OP_SESSION: kept as given, decoded later */
    {{"OP_SESSION=/secrets/op-session"}, NULL, C_STR, M(cf_session), 0, "/secrets/op-session"},
    {{"OP_SESSION="}, NULL, C_NULL, M(cf_session), 0, NULL},
    /* ports */
    {{"OP_HTTP_PORT=80"}, NULL, C_UINT, M(cf_http_port), 80, NULL},
    {{"OP_HTTP_PORT=1"}, NULL, C_UINT, M(cf_http_port), 1, NULL},
    {{"OP_HTTP_PORT=65535"}, NULL, C_UINT, M(cf_http_port), 65535, NULL},
    {{"OP_HTTP_PORT=08081"}, NULL, C_UINT, M(cf_http_port), 8081, NULL},
    {{"OP_HTTP_PORT="}, NULL, C_UINT, M(cf_http_port), 8080, NULL},
    {{"OP_HTTP_PORT=0"}, NULL, C_UINT, M(cf_http_port), 0, NULL}, /* any free port */
    {{"OP_HTTP_PORT=00"}, E_PORT("OP_HTTP_PORT"), C_NONE, 0, 0, NULL},
    {{"OP_HTTPS_PORT=0"}, NULL, C_UINT, M(cf_https_port), 0, NULL}, /* any free port */
    {{"OP_HTTPS_PORT=00"}, E_PORT("OP_HTTPS_PORT"), C_NONE, 0, 0, NULL},
    {{"OP_HTTP_PORT=65536"}, E_PORT("OP_HTTP_PORT"), C_NONE, 0, 0, NULL},
    {{"OP_HTTP_PORT=80a"}, E_PORT("OP_HTTP_PORT"), C_NONE, 0, 0, NULL},
    {{"OP_HTTP_PORT= 80"}, E_PORT("OP_HTTP_PORT"), C_NONE, 0, 0, NULL},
    {{"OP_HTTP_PORT=80 "}, E_PORT("OP_HTTP_PORT"), C_NONE, 0, 0, NULL},
    {{"OP_HTTP_PORT=+80"}, E_PORT("OP_HTTP_PORT"), C_NONE, 0, 0, NULL},
    {{"OP_HTTP_PORT=-1"}, E_PORT("OP_HTTP_PORT"), C_NONE, 0, 0, NULL},
    {{"OP_HTTP_PORT=0x50"}, E_PORT("OP_HTTP_PORT"), C_NONE, 0, 0, NULL},
    {{"OP_HTTP_PORT=99999999999999999999999"}, E_PORT("OP_HTTP_PORT"), C_NONE, 0, 0, NULL},
    {{"OP_HTTPS_PORT=443"}, NULL, C_UINT, M(cf_https_port), 443, NULL},
    {{"OP_HTTPS_PORT=https"}, E_PORT("OP_HTTPS_PORT"), C_NONE, 0, 0, NULL},
    {{"OP_BUS_PORT=11220"}, NULL, C_UINT, M(cf_bus_port), 11220, NULL},
    {{"OP_BUS_PORT=0"}, E_PORT("OP_BUS_PORT"), C_NONE, 0, 0, NULL},
    /* log level and the booleans */
    {{"OP_LOG_LEVEL=debug"}, NULL, C_INT, M(cf_log_level), LOG_DEBUG, NULL},
    {{"OP_LOG_LEVEL=TRACE"}, NULL, C_INT, M(cf_log_level), LOG_TRACE, NULL},
    {{"OP_LOG_LEVEL=Warn"}, NULL, C_INT, M(cf_log_level), LOG_WARN, NULL},
    {{"OP_LOG_LEVEL=error"}, NULL, C_INT, M(cf_log_level), LOG_ERROR, NULL},
    {{"OP_LOG_LEVEL=verbose"}, E_LEVEL, C_NONE, 0, 0, NULL},
    {{"OP_LOG_LEVEL=info "}, E_LEVEL, C_NONE, 0, 0, NULL},
    {{"OP_DEBUG=true"}, NULL, C_INT, M(cf_debug), 1, NULL},
    {{"OP_DEBUG=ON"}, NULL, C_INT, M(cf_log_level), LOG_DEBUG, NULL},
    {{"OP_DEBUG=Yes"}, NULL, C_INT, M(cf_debug), 1, NULL},
    {{"OP_DEBUG=0"}, NULL, C_INT, M(cf_log_level), LOG_INFO, NULL},
    {{"OP_DEBUG=off"}, NULL, C_INT, M(cf_debug), 0, NULL},
    {{"OP_DEBUG=1", "OP_LOG_LEVEL=trace"}, NULL, C_INT, M(cf_log_level), LOG_TRACE, NULL},
    {{"OP_DEBUG=1", "OP_LOG_LEVEL=error"}, NULL, C_INT, M(cf_log_level), LOG_DEBUG, NULL},
    {{"OP_DEBUG=maybe"}, E_BOOL("OP_DEBUG"), C_NONE, 0, 0, NULL},
    {{"OP_PRETTY_LOGS=1"}, NULL, C_INT, M(cf_pretty_logs), 1, NULL},
    {{"OP_PRETTY_LOGS=FALSE"}, NULL, C_INT, M(cf_pretty_logs), 0, NULL},
    {{"OP_PRETTY_LOGS=2"}, E_BOOL("OP_PRETTY_LOGS"), C_NONE, 0, 0, NULL},
    /* TLS */
    {{"OP_TLS_CERT_FILE=/tls/cert.pem", "OP_TLS_KEY_FILE=/tls/key.pem"},
     NULL,
     C_STR,
     M(cf_tls_key_file),
     0,
     "/tls/key.pem"},
    {{"OP_TLS_CERT_FILE=/tls/cert.pem", "OP_TLS_KEY_FILE=/tls/key.pem"},
     NULL,
     C_INT,
     M(cf_tls_letsencrypt),
     0,
     NULL},
    {{"OP_TLS_CERT_FILE=/tls/cert.pem"}, E_TLS_PAIR, C_NONE, 0, 0, NULL},
    {{"OP_TLS_KEY_FILE=/tls/key.pem"}, E_TLS_PAIR, C_NONE, 0, 0, NULL},
    {{"OP_TLS_KEY_FILE=/tls/key.pem", "OP_TLS_CERT_FILE="}, E_TLS_PAIR, C_NONE, 0, 0, NULL},
    {{"OP_TLS_CERT_FILE=/tls/cert.pem\n", "OP_TLS_KEY_FILE=/tls/key.pem"},
     E_PATH("OP_TLS_CERT_FILE"),
     C_NONE,
     0,
     0,
     NULL},
    {{"OP_TLS_USE_LETSENCRYPT=1", "OP_TLS_DOMAIN=connect.example.com"},
     NULL,
     C_INT,
     M(cf_tls_letsencrypt),
     1,
     NULL},
    {{"OP_TLS_USE_LETSENCRYPT=false", "OP_TLS_DOMAIN=connect.example.com"}, /* any value */
     NULL,
     C_INT,
     M(cf_tls_letsencrypt),
     1,
     NULL},
    {{"OP_TLS_DOMAIN=connect.example.com"}, NULL, C_INT, M(cf_tls_letsencrypt), 1, NULL},
    {{"OP_TLS_DOMAIN=connect.example.com"},
     NULL,
     C_STR,
     M(cf_tls_domain),
     0,
     "connect.example.com"},
    {{"OP_TLS_DOMAIN=connect.example.com", "OP_TLS_CERT_FILE=/c", "OP_TLS_KEY_FILE=/k"},
     NULL,
     C_INT,
     M(cf_tls_letsencrypt),
     0,
     NULL},
    {{"OP_TLS_USE_LETSENCRYPT=1"},
     "OP_TLS_USE_LETSENCRYPT: needs OP_TLS_DOMAIN",
     C_NONE,
     0,
     0,
     NULL},
    {{"OP_TLS_USE_LETSENCRYPT=1", "OP_TLS_DOMAIN=a.example", "OP_TLS_CERT_FILE=/c",
      "OP_TLS_KEY_FILE=/k"},
     "OP_TLS_USE_LETSENCRYPT: cannot be combined with OP_TLS_CERT_FILE and OP_TLS_KEY_FILE",
     C_NONE,
     0,
     0,
     NULL},
    {{"OP_TLS_DOMAIN=exa mple.com"}, E_DOMAIN, C_NONE, 0, 0, NULL},
    {{"OP_TLS_DOMAIN=-bad.example.com"}, E_DOMAIN, C_NONE, 0, 0, NULL},
    {{"OP_TLS_DOMAIN=bad-.example.com"}, E_DOMAIN, C_NONE, 0, 0, NULL},
    {{"OP_TLS_DOMAIN=a..example.com"}, E_DOMAIN, C_NONE, 0, 0, NULL},
    {{"OP_TLS_DOMAIN=192.0.2.1"}, E_DOMAIN, C_NONE, 0, 0, NULL},
    {{"OP_TLS_DOMAIN=connect.example.com:443"}, E_DOMAIN, C_NONE, 0, 0, NULL},
    /* limits */
    {{"OP_MAX_INLINE_FILE_SIZE_KB=1"}, NULL, C_ULONG, M(cf_max_inline_kb), 1, NULL},
    {{"OP_MAX_INLINE_FILE_SIZE_KB=10240"}, NULL, C_ULONG, M(cf_max_inline_kb), 10240, NULL},
    {{"OP_MAX_INLINE_FILE_SIZE_KB=0"}, E_INLINE, C_NONE, 0, 0, NULL},
    {{"OP_MAX_INLINE_FILE_SIZE_KB=10241"}, E_INLINE, C_NONE, 0, 0, NULL},
    {{"OP_MAX_INLINE_FILE_SIZE_KB=1k"}, E_INLINE, C_NONE, 0, 0, NULL},
    {{"SESAME_RATE_LIMIT_RPS=0"}, NULL, C_ULONG, M(cf_rate_limit_rps), 0, NULL},
    {{"SESAME_RATE_LIMIT_RPS=1000000"}, NULL, C_ULONG, M(cf_rate_limit_rps), 1000000, NULL},
    {{"SESAME_RATE_LIMIT_RPS=1000001"}, E_RPS, C_NONE, 0, 0, NULL},
    {{"SESAME_RATE_LIMIT_RPS=-5"}, E_RPS, C_NONE, 0, 0, NULL},
    {{"SESAME_MAX_BODY_BYTES=1024"}, NULL, C_ULONG, M(cf_max_body_bytes), 1024, NULL},
    {{"SESAME_MAX_BODY_BYTES=67108864"}, NULL, C_ULONG, M(cf_max_body_bytes), 67108864, NULL},
    {{"SESAME_MAX_BODY_BYTES=1023"}, E_BODY, C_NONE, 0, 0, NULL},
    {{"SESAME_MAX_BODY_BYTES=67108865"}, E_BODY, C_NONE, 0, 0, NULL},
    {{"SESAME_MAX_BODY_BYTES=4MiB"}, E_BODY, C_NONE, 0, 0, NULL},
    {{"SESAME_MAX_HEADER_BYTES=4096"}, NULL, C_ULONG, M(cf_max_header_bytes), 4096, NULL},
    {{"SESAME_MAX_HEADER_BYTES=262144"}, NULL, C_ULONG, M(cf_max_header_bytes), 262144, NULL},
    {{"SESAME_MAX_HEADER_BYTES=4095"}, E_HEADER, C_NONE, 0, 0, NULL},
    {{"SESAME_MAX_HEADER_BYTES=262145"}, E_HEADER, C_NONE, 0, 0, NULL},
    /* hub address */
    {{"SESAME_HUB_ADDR=0.0.0.0:7700"}, NULL, C_ADDR, M(cf_hub_addr), 7700, "0.0.0.0"},
    {{"SESAME_HUB_ADDR=[::1]:8000"}, NULL, C_ADDR, M(cf_hub_addr), 8000, "::1"},
    {{"SESAME_HUB_ADDR=[2001:db8::7]:443"}, NULL, C_ADDR, M(cf_hub_addr), 443, "2001:db8::7"},
    {{"SESAME_HUB_ADDR=hub.internal:443"}, NULL, C_ADDR, M(cf_hub_addr), 443, "hub.internal"},
    {{"SESAME_HUB_ADDR=sesame_hub:7700"}, NULL, C_ADDR, M(cf_hub_addr), 7700, "sesame_hub"},
    {{"SESAME_HUB_ADDR=7700"}, E_ADDR, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_ADDR=localhost"}, E_ADDR, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_ADDR=::1:80"}, E_ADDR, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_ADDR=[::1]"}, E_ADDR, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_ADDR=[::1]80"}, E_ADDR, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_ADDR=[zz]:80"}, E_ADDR, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_ADDR=host:"}, E_ADDR, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_ADDR=:80"}, E_ADDR, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_ADDR=1.2.3:80"}, E_ADDR, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_ADDR=256.1.1.1:80"}, E_ADDR, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_ADDR=ho st:80"}, E_ADDR, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_ADDR=-h:80"}, E_ADDR, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_ADDR=hub:70000"}, E_ADDR, C_NONE, 0, 0, NULL},
    /* hub paths, URLs */
    {{"SESAME_HUB_DATA=/var/lib/sesame-hub"},
     NULL,
     C_STR,
     M(cf_hub_data),
     0,
     "/var/lib/sesame-hub"},
    {{"SESAME_HUB_DATA=/var/\x1b[31m"}, E_PATH("SESAME_HUB_DATA"), C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_DATABASE_URL=postgresql://sesame:pw@db:5432/sesame"},
     NULL,
     C_STR,
     M(cf_hub_database_url),
     0,
     "postgresql://sesame:pw@db:5432/sesame"},
    {{"SESAME_HUB_DATABASE_URL=postgres:///sesame"},
     NULL,
     C_STR,
     M(cf_hub_database_url),
     0,
     "postgres:///sesame"},
    {{"SESAME_HUB_DATABASE=postgresql://sesame:pw@db:5432/sesame"},
     NULL,
     C_STR,
     M(cf_hub_database),
     0,
     "postgresql://sesame:pw@db:5432/sesame"},
    {{"SESAME_HUB_DATABASE=sqlite:/var/lib/hub.db"},
     "SESAME_HUB_DATABASE: expected a postgresql:// or postgres:// URL",
     C_NONE,
     0,
     0,
     NULL},
    {{"SESAME_HUB_DATABASE_URL=mysql://db/sesame"}, E_DB, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_DATABASE_URL=POSTGRESQL://db/sesame"}, E_DB, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_DATABASE_URL=postgresql://u:p w@db"}, E_DB, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_DATABASE_URL=host=db user=sesame"}, E_DB, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB=https://hub.example.com:7700"},
     NULL,
     C_STR,
     M(cf_hub_url),
     0,
     "https://hub.example.com:7700"},
    {{"SESAME_HUB=http://127.0.0.1:7700/"},
     NULL,
     C_STR,
     M(cf_hub_url),
     0,
     "http://127.0.0.1:7700/"},
    {{"SESAME_HUB=HTTP://[::1]:7700"}, NULL, C_STR, M(cf_hub_url), 0, "HTTP://[::1]:7700"},
    {{"SESAME_HUB=https://hub"}, NULL, C_STR, M(cf_hub_url), 0, "https://hub"},
    {{"SESAME_HUB=ftp://hub.example.com"}, E_URL, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB=hub.example.com:7700"}, E_URL, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB=http://"}, E_URL, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB=http:///path"}, E_URL, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB=https://user:pw@hub.example.com"}, E_URL, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB=https://hub:99999"}, E_URL, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB=https://hub/a b"}, E_URL, C_NONE, 0, 0, NULL},
    {{"SESAME_ACCOUNT_KIT=/home/opuser/kit.json"},
     NULL,
     C_STR,
     M(cf_account_kit),
     0,
     "/home/opuser/kit.json"},
    {{"SESAME_HUB_TLS_CERT=/tls/hub.crt", "SESAME_HUB_TLS_KEY=/tls/hub.key"},
     NULL,
     C_STR,
     M(cf_hub_tls_cert),
     0,
     "/tls/hub.crt"},
    {{"SESAME_HUB_TLS_CERT=/tls/hub.crt"}, E_HUB_PAIR, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_TLS_KEY=/tls/hub.key"}, E_HUB_PAIR, C_NONE, 0, 0, NULL},
    {{"SESAME_HUB_CA_FILE=/tls/ca.pem"}, NULL, C_STR, M(cf_hub_ca_file), 0, "/tls/ca.pem"},
    {{"SESAME_BUS_SOCKET=/home/opuser/.op/data/bus.sock"},
     NULL,
     C_STR,
     M(cf_bus_socket),
     0,
     "/home/opuser/.op/data/bus.sock"},
    {{"SESAME_BUS_SOCKET=\t"}, E_PATH("SESAME_BUS_SOCKET"), C_NONE, 0, 0, NULL},
    /* the first occurrence wins, as with getenv; entries without '=' are skipped */
    {{"OP_HTTP_PORT=81", "OP_HTTP_PORT=82"}, NULL, C_UINT, M(cf_http_port), 81, NULL},
    {{"OP_HTTP_PORT", "OP_HTTP_PORT=82"}, NULL, C_UINT, M(cf_http_port), 82, NULL},
    {{"OP_HTTP_PORT=", "OP_HTTP_PORT=82"}, NULL, C_UINT, M(cf_http_port), 8080, NULL},
    {{"op_http_port=82"}, NULL, C_UINT, M(cf_http_port), 8080, NULL},
};

static void check_row(const struct row *r, size_t idx)
{
    struct config cf;
    char msg[512];
    enum err rc;
    const char *base;

    memset(msg, 'x', sizeof(msg));
    rc = load(&cf, msg, sizeof(msg), r->r_env);
    if (r->r_msg) {
        if (rc != ERR_CONFIG || strcmp(msg, r->r_msg) != 0)
            print_error("row %zu (%s): rc %s, message \"%s\"\n", idx, r->r_env[0], err_name(rc),
                        msg);
        assert_int_equal(rc, ERR_CONFIG);
        assert_string_equal(msg, r->r_msg);
        assert_null(cf.cf_home); /* left empty */
        config_free(&cf);
        return;
    }
    if (rc != ERR_OK)
        print_error("row %zu (%s): %s\n", idx, r->r_env[0], msg);
    assert_int_equal(rc, ERR_OK);
    assert_string_equal(msg, "");
    base = (const char *)&cf;
    switch (r->r_chk) {
    case C_UINT:
        assert_int_equal(*(const unsigned *)(const void *)(base + r->r_off), r->r_num);
        break;
    case C_ULONG:
        assert_int_equal(*(const unsigned long *)(const void *)(base + r->r_off), r->r_num);
        break;
    case C_INT:
        assert_int_equal(*(const int *)(const void *)(base + r->r_off), (int)r->r_num);
        break;
    case C_STR:
        assert_string_equal(*(char *const *)(const void *)(base + r->r_off), r->r_str);
        break;
    case C_NULL:
        assert_null(*(char *const *)(const void *)(base + r->r_off));
        break;
    case C_ADDR: {
        const struct config_addr *a = (const void *)(base + r->r_off);
        assert_string_equal(a->ca_host, r->r_str);
        assert_int_equal(a->ca_port, r->r_num);
        break;
    }
    case C_NONE:
        break;
    }
    config_free(&cf);
}

static void test_variables(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(rows); i++)
        check_row(&rows[i], i);
}

/* Values over the length limits get their own message, without the value. */
static void test_long_values(void **state)
{
    static char big[2 * 65536 + 64];
    struct config cf;
    char msg[512];
    size_t n;

    (void)state;
    /* a domain of 8193 bytes */
    n = (size_t)snprintf(big, sizeof(big), "OP_TLS_DOMAIN=");
    memset(big + n, 'a', 8193);
    big[n + 8193] = '\0';
    env_reset(&g_env);
    env_add(&g_env, "HOME=/h");
    g_env.e_ptrs[1] = big;
    g_env.e_ptrs[2] = NULL;
    assert_int_equal(config_load(&cf, g_env.e_ptrs, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, "OP_TLS_DOMAIN: value is longer than 8192 bytes");

    /* a path of 4096 bytes (the limit is 4095) and one of 4095 */
    n = (size_t)snprintf(big, sizeof(big), "SESAME_ACCOUNT_KIT=");
    memset(big + n, 'p', 4096);
    big[n + 4096] = '\0';
    assert_int_equal(config_load(&cf, g_env.e_ptrs, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, E_PATH("SESAME_ACCOUNT_KIT"));
    big[n + 4095] = '\0';
    assert_int_equal(config_load(&cf, g_env.e_ptrs, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(strlen(cf.cf_account_kit), 4095);
    config_free(&cf);

    /* OP_SESSION: up to 128 KiB is taken as is */
    n = (size_t)snprintf(big, sizeof(big), "OP_SESSION=");
    memset(big + n, 'Q', 131072);
    big[n + 131072] = '\0';
    assert_int_equal(config_load(&cf, g_env.e_ptrs, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(strlen(cf.cf_session), 131072);
    config_free(&cf);
    big[n + 131072] = 'Q';
    big[n + 131073] = '\0';
    assert_int_equal(config_load(&cf, g_env.e_ptrs, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, "OP_SESSION: value is longer than 131072 bytes");

    /* a small message buffer cuts the message but keeps it terminated */
    env_reset(&g_env);
    env_add(&g_env, "HOME=/h");
    env_add(&g_env, "OP_HTTP_PORT=x");
    assert_int_equal(config_load(&cf, g_env.e_ptrs, msg, 10), ERR_CONFIG);
    assert_string_equal(msg, "OP_HTTP_P");
    assert_int_equal(config_load(&cf, g_env.e_ptrs, NULL, 0), ERR_CONFIG);
}

/* ---- durations ------------------------------------------------------------------------ */

struct dur_row {
    const char *d_text;
    int d_ok;
    int64_t d_ns;
};

static const struct dur_row dur_rows[] = {
    {"1s", 1, 1000000000LL},
    {"1m30s", 1, 90000000000LL},
    {"500ms", 1, 500000000LL},
    {"1.5s", 1, 1500000000LL},
    {"1h", 1, 3600000000000LL},
    {"2h45m30.5s", 1, 9930500000000LL},
    {".5s", 1, 500000000LL},
    {"1.s", 1, 1000000000LL},
    {"+5s", 1, 5000000000LL},
    {"-1s", 1, -1000000000LL},
    {"-1.5h", 1, -5400000000000LL},
    {"0", 1, 0},
    {"-0", 1, 0},
    {"0s", 1, 0},
    {"1ns", 1, 1},
    {"1us", 1, 1000},
    {"1\xc2\xb5s", 1, 1000}, /* µs, micro sign */
    {"1\xce\xbcs", 1, 1000}, /* μs, Greek mu */
    {"1.0000000000000000000000001s", 1, 1000000000LL},
    {"0.000000001s", 1, 1},
    {"9223372036854775807ns", 1, INT64_MAX},
    {"-9223372036854775808ns", 1, INT64_MIN},
    {"2562047h", 1, 9223369200000000000LL},
    {"", 0, 0},
    {"10", 0, 0},
    {"1x", 0, 0},
    {"1S", 0, 0},
    {"1sec", 0, 0},
    {"s", 0, 0},
    {".s", 0, 0},
    {".", 0, 0},
    {"-", 0, 0},
    {"+", 0, 0},
    {"1s ", 0, 0},
    {" 1s", 0, 0},
    {"1h-5m", 0, 0},
    {"1..5s", 0, 0},
    {"1e3s", 0, 0},
    {"9223372036854775808ns", 0, 0},
    {"2562048h", 0, 0},
    {"99999999999999999999s", 0, 0},
    {"5000000h5000000h", 0, 0},
    {"1s1", 0, 0},
};

static void test_duration_parse(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(dur_rows); i++) {
        int64_t ns = 42;
        enum err rc = config_duration_parse(dur_rows[i].d_text, strlen(dur_rows[i].d_text), &ns);
        if ((rc == ERR_OK) != dur_rows[i].d_ok || ns != dur_rows[i].d_ns)
            print_error("duration \"%s\": %s %lld\n", dur_rows[i].d_text, err_name(rc),
                        (long long)ns);
        assert_int_equal(rc, dur_rows[i].d_ok ? ERR_OK : ERR_BAD_INPUT);
        assert_true(ns == dur_rows[i].d_ns);
    }
}

#define E_DUR_FORM                                                                                 \
    "OP_SYNC_TIMEOUT: expected a duration such as 10s, 1m30s or 500ms (units ns, us, ms, s, m, h)"
#define E_DUR_RANGE "OP_SYNC_TIMEOUT: expected a duration from 1ms to 10m"

static const struct row sync_rows[] = {
    {{"OP_SYNC_TIMEOUT=1s"}, NULL, C_ULONG, M(cf_sync_timeout_ms), 1000, NULL},
    {{"OP_SYNC_TIMEOUT=1m30s"}, NULL, C_ULONG, M(cf_sync_timeout_ms), 90000, NULL},
    {{"OP_SYNC_TIMEOUT=500ms"}, NULL, C_ULONG, M(cf_sync_timeout_ms), 500, NULL},
    {{"OP_SYNC_TIMEOUT=1.5s"}, NULL, C_ULONG, M(cf_sync_timeout_ms), 1500, NULL},
    {{"OP_SYNC_TIMEOUT=1ms"}, NULL, C_ULONG, M(cf_sync_timeout_ms), 1, NULL},
    {{"OP_SYNC_TIMEOUT=1500us"}, NULL, C_ULONG, M(cf_sync_timeout_ms), 1, NULL},
    {{"OP_SYNC_TIMEOUT=10m"}, NULL, C_ULONG, M(cf_sync_timeout_ms), 600000, NULL},
    {{"OP_SYNC_TIMEOUT=10m1ms"}, E_DUR_RANGE, C_NONE, 0, 0, NULL},
    {{"OP_SYNC_TIMEOUT=1h"}, E_DUR_RANGE, C_NONE, 0, 0, NULL},
    {{"OP_SYNC_TIMEOUT=0s"}, E_DUR_RANGE, C_NONE, 0, 0, NULL},
    {{"OP_SYNC_TIMEOUT=0"}, E_DUR_RANGE, C_NONE, 0, 0, NULL},
    {{"OP_SYNC_TIMEOUT=-1s"}, E_DUR_RANGE, C_NONE, 0, 0, NULL},
    {{"OP_SYNC_TIMEOUT=999us"}, E_DUR_RANGE, C_NONE, 0, 0, NULL},
    {{"OP_SYNC_TIMEOUT=10"}, E_DUR_FORM, C_NONE, 0, 0, NULL},
    {{"OP_SYNC_TIMEOUT=1x"}, E_DUR_FORM, C_NONE, 0, 0, NULL},
    {{"OP_SYNC_TIMEOUT=10 s"}, E_DUR_FORM, C_NONE, 0, 0, NULL},
    {{"OP_SYNC_TIMEOUT=99999999999999999999h"}, E_DUR_FORM, C_NONE, 0, 0, NULL},
    {{"OP_SYNC_TIMEOUT=2562048h"}, E_DUR_FORM, C_NONE, 0, 0, NULL},
};

static void test_sync_timeout(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(sync_rows); i++)
        check_row(&sync_rows[i], i);
}

/* ---- bus peers ------------------------------------------------------------------------- */

static void test_bus_peers(void **state)
{
    static const struct {
        const char *p_value;
        const char *p_msg; /* NULL: good */
        size_t p_count;
        const char *p_host0;
        unsigned p_port0;
        const char *p_hostl; /* the last entry */
        unsigned p_portl;
    } cases[] = {
        {"localhost:11221", NULL, 1, "localhost", 11221, "localhost", 11221},
        {"op-connect-sync:11223, op-connect-api:11223", NULL, 2, "op-connect-sync", 11223,
         "op-connect-api", 11223},
        {"[::1]:1,10.0.0.1:2", NULL, 2, "::1", 1, "10.0.0.1", 2},
        {" a:1 ,\tb:2\t", NULL, 2, "a", 1, "b", 2},
        {"a:1,,b:2", "OP_BUS_PEERS: entry 2: expected " E_ADDR_TEXT, 0, NULL, 0, NULL, 0},
        {"a:1,", "OP_BUS_PEERS: entry 2: expected " E_ADDR_TEXT, 0, NULL, 0, NULL, 0},
        {",a:1", "OP_BUS_PEERS: entry 1: expected " E_ADDR_TEXT, 0, NULL, 0, NULL, 0},
        {"a", "OP_BUS_PEERS: entry 1: expected " E_ADDR_TEXT, 0, NULL, 0, NULL, 0},
        {"a:1 b:2", "OP_BUS_PEERS: entry 1: expected " E_ADDR_TEXT, 0, NULL, 0, NULL, 0},
        {"a:1;b:2", "OP_BUS_PEERS: entry 1: expected " E_ADDR_TEXT, 0, NULL, 0, NULL, 0},
        {"a:1,b:0", "OP_BUS_PEERS: entry 2: expected " E_ADDR_TEXT, 0, NULL, 0, NULL, 0},
    };
    struct config cf;
    char msg[512], entry[1024];
    const char *env[2] = {entry, NULL};
    size_t i, n;

    (void)state;
    for (i = 0; i < ARRAY_LEN(cases); i++) {
        snprintf(entry, sizeof(entry), "OP_BUS_PEERS=%s", cases[i].p_value);
        if (cases[i].p_msg) {
            assert_int_equal(load(&cf, msg, sizeof(msg), env), ERR_CONFIG);
            assert_string_equal(msg, cases[i].p_msg);
            continue;
        }
        assert_int_equal(load(&cf, msg, sizeof(msg), env), ERR_OK);
        assert_int_equal(cf.cf_bus_peer_count, cases[i].p_count);
        assert_string_equal(cf.cf_bus_peers[0].ca_host, cases[i].p_host0);
        assert_int_equal(cf.cf_bus_peers[0].ca_port, cases[i].p_port0);
        assert_string_equal(cf.cf_bus_peers[cf.cf_bus_peer_count - 1].ca_host, cases[i].p_hostl);
        assert_int_equal(cf.cf_bus_peers[cf.cf_bus_peer_count - 1].ca_port, cases[i].p_portl);
        config_free(&cf);
    }

    /* 16 peers are fine, 17 are not */
    n = (size_t)snprintf(entry, sizeof(entry), "OP_BUS_PEERS=");
    for (i = 0; i < CONFIG_MAX_BUS_PEERS; i++)
        n += (size_t)snprintf(entry + n, sizeof(entry) - n, "%sp%zu:%zu", i ? "," : "", i,
                              11000 + i);
    assert_int_equal(load(&cf, msg, sizeof(msg), env), ERR_OK);
    assert_int_equal(cf.cf_bus_peer_count, 16);
    assert_string_equal(cf.cf_bus_peers[15].ca_host, "p15");
    assert_int_equal(cf.cf_bus_peers[15].ca_port, 11015);
    config_free(&cf);
    snprintf(entry + n, sizeof(entry) - n, ",p16:11016");
    assert_int_equal(load(&cf, msg, sizeof(msg), env), ERR_CONFIG);
    assert_string_equal(msg, "OP_BUS_PEERS: more than 16 peers");
}

/* SESAME_HUB: one URL as ever, or a comma-separated list of hub replicas. */
static void test_hub_url_list(void **state)
{
    static const struct {
        const char *h_value;
        const char *h_msg; /* NULL: good */
        size_t h_count;
        const char *h_first;
        const char *h_last;
    } cases[] = {
        {"https://hub.example.com:7700", NULL, 1, "https://hub.example.com:7700",
         "https://hub.example.com:7700"},
        {"HTTP://[::1]:7700", NULL, 1, "HTTP://[::1]:7700", "HTTP://[::1]:7700"},
        {"http://a:7700,http://b:7700", NULL, 2, "http://a:7700", "http://b:7700"},
        {"https://a/p,https://b,https://[::1]:1", NULL, 3, "https://a/p", "https://[::1]:1"},
        {"http://a:7700,https://a:7700", NULL, 2, "http://a:7700", "https://a:7700"},
        {"ftp://hub", E_URL, 0, NULL, NULL},
        {"https://hub/a b", E_URL, 0, NULL, NULL},
        {"http://a,", "SESAME_HUB: entry 2: expected an http:// or https:// URL with a host", 0,
         NULL, NULL},
        {",http://a", "SESAME_HUB: entry 1: expected an http:// or https:// URL with a host", 0,
         NULL, NULL},
        {"http://a,,http://b",
         "SESAME_HUB: entry 2: expected an http:// or https:// URL with a host", 0, NULL, NULL},
        {"http://a, http://b",
         "SESAME_HUB: entry 2: expected an http:// or https:// URL with a host", 0, NULL, NULL},
        {"http://a,hub:7700",
         "SESAME_HUB: entry 2: expected an http:// or https:// URL with a host", 0, NULL, NULL},
        {"http://a,https://u:p@b",
         "SESAME_HUB: entry 2: expected an http:// or https:// URL with a host", 0, NULL, NULL},
        {"http://a,http://b,http://a", "SESAME_HUB: entry 3 repeats entry 1", 0, NULL, NULL},
        {"http://a:1,http://a:1", "SESAME_HUB: entry 2 repeats entry 1", 0, NULL, NULL},
    };
    struct config cf;
    char msg[512], entry[1024];
    const char *env[2] = {entry, NULL};
    size_t i, n;

    (void)state;
    assert_int_equal(CONFIG_MAX_HUB_URLS, 8);
    for (i = 0; i < ARRAY_LEN(cases); i++) {
        snprintf(entry, sizeof(entry), "SESAME_HUB=%s", cases[i].h_value);
        if (cases[i].h_msg) {
            assert_int_equal(load(&cf, msg, sizeof(msg), env), ERR_CONFIG);
            assert_string_equal(msg, cases[i].h_msg);
            assert_null(cf.cf_hub_url);
            assert_int_equal(cf.cf_hub_url_count, 0);
            config_free(&cf);
            continue;
        }
        assert_int_equal(load(&cf, msg, sizeof(msg), env), ERR_OK);
        assert_int_equal(cf.cf_hub_url_count, cases[i].h_count);
        assert_string_equal(cf.cf_hub_url, cases[i].h_first);
        assert_string_equal(cf.cf_hub_urls[0], cases[i].h_first);
        assert_string_equal(cf.cf_hub_urls[cf.cf_hub_url_count - 1], cases[i].h_last);
        assert_true(config_is_set(&cf, CONFIG_SESAME_HUB));
        config_free(&cf);
        assert_null(cf.cf_hub_urls[0]);
    }

    /* 8 URLs are fine, 9 are not */
    n = (size_t)snprintf(entry, sizeof(entry), "SESAME_HUB=");
    for (i = 0; i < CONFIG_MAX_HUB_URLS; i++)
        n += (size_t)snprintf(entry + n, sizeof(entry) - n, "%shttp://h%zu:7700", i ? "," : "", i);
    assert_int_equal(load(&cf, msg, sizeof(msg), env), ERR_OK);
    assert_int_equal(cf.cf_hub_url_count, 8);
    assert_string_equal(cf.cf_hub_url, "http://h0:7700");
    assert_string_equal(cf.cf_hub_urls[7], "http://h7:7700");
    config_free(&cf);
    snprintf(entry + n, sizeof(entry) - n, ",http://h8:7700");
    assert_int_equal(load(&cf, msg, sizeof(msg), env), ERR_CONFIG);
    assert_string_equal(msg, "SESAME_HUB: more than 8 URLs");
    config_free(&cf);
}

/* ---- the data directory -------------------------------------------------------------- */

static void test_data_dir(void **state)
{
    static const struct {
        const char *d_env[3];
        const char *d_dir; /* NULL: error d_msg, or no data directory when d_msg is NULL */
        const char *d_msg;
    } cases[] = {
        {{"HOME=/home/opuser"}, "/home/opuser/.op/data", NULL},
        {{"XDG_DATA_HOME=/data"}, "/data/.op/data", NULL},
        {{"HOME=/home/opuser", "XDG_DATA_HOME=/data/"}, "/data/.op/data", NULL},
        {{"XDG_DATA_HOME=/", "HOME=/home/opuser"}, "/.op/data", NULL},
        {{"HOME=/home/opuser", "XDG_DATA_HOME="}, "/home/opuser/.op/data", NULL},
        {{"XDG_DATA_HOME=relative"}, "relative/.op/data", NULL},
        /* no data volume is not an error: cf_data_dir stays NULL (the hub and CLI need none) */
        {{"PATH=/bin"}, NULL, NULL},
        {{"HOME=", "XDG_DATA_HOME="}, NULL, NULL},
        {{"XDG_DATA_HOME=/a\nb"}, NULL, E_PATH("XDG_DATA_HOME")},
        {{"HOME=/a\x7f"}, NULL, E_PATH("HOME")},
    };
    static char longhome[4200];
    struct config cf;
    char msg[512];
    size_t i, j;

    (void)state;
    for (i = 0; i < ARRAY_LEN(cases); i++) {
        env_reset(&g_env);
        for (j = 0; cases[i].d_env[j]; j++)
            env_add(&g_env, cases[i].d_env[j]);
        if (cases[i].d_dir) {
            assert_int_equal(config_load(&cf, g_env.e_ptrs, msg, sizeof(msg)), ERR_OK);
            assert_string_equal(cf.cf_data_dir, cases[i].d_dir);
            config_free(&cf);
        } else if (!cases[i].d_msg) {
            assert_int_equal(config_load(&cf, g_env.e_ptrs, msg, sizeof(msg)), ERR_OK);
            assert_null(cf.cf_data_dir);
            config_free(&cf);
        } else {
            assert_int_equal(config_load(&cf, g_env.e_ptrs, msg, sizeof(msg)), ERR_CONFIG);
            assert_string_equal(msg, cases[i].d_msg);
        }
    }
    /* HOME of 4090 bytes is a valid path, but the data directory would pass the limit */
    memcpy(longhome, "HOME=/", 6);
    memset(longhome + 6, 'h', 4089);
    longhome[6 + 4089] = '\0';
    env_reset(&g_env);
    g_env.e_ptrs[0] = longhome;
    g_env.e_ptrs[1] = NULL;
    assert_int_equal(config_load(&cf, g_env.e_ptrs, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, "HOME: the data directory path would be 4096 bytes or longer");
}

/* ---- unknown names --------------------------------------------------------------------- */

static void test_unknown(void **state)
{
    struct config cf;
    char msg[512], name[64];
    size_t i;

    (void)state;
    env_reset(&g_env);
    env_add(&g_env, "HOME=/h");
    env_add(&g_env, "OP_FOO=1");
    env_add(&g_env, "SESAME_BAR=secret-value");
    env_add(&g_env, "OP_FOO=3");                     /* once only */
    env_add(&g_env, "OP_PROFILER_OUTPUT_DIR=/prof"); /* Connect's profiler: ignored */
    env_add(&g_env, "OP_PROFILER_INTERVAL=6h");
    env_add(&g_env, "OP_PROFILER_KEEP_LAST=12");
    env_add(&g_env, "OP_CONNECT_HOST=http://localhost:8080"); /* read by the CLI itself */
    env_add(&g_env, "OP_CONNECT_TOKEN=eyJhbGciOiJFUzI1NiJ9.e30.sig");
    env_add(&g_env, "OP_SERVICE_ACCOUNT_TOKEN=ops_x");
    env_add(&g_env, "PATH=/usr/bin");   /* not ours */
    env_add(&g_env, "OP_weird-name=1"); /* not a plain name: counted */
    env_add(&g_env, "SESAME_=1");
    assert_int_equal(config_load(&cf, g_env.e_ptrs, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(cf.cf_unknown_count, 3);
    assert_string_equal(cf.cf_unknown[0], "OP_FOO");
    assert_string_equal(cf.cf_unknown[1], "SESAME_BAR");
    assert_string_equal(cf.cf_unknown[2], "SESAME_");
    assert_int_equal(cf.cf_unknown_dropped, 1);
    config_free(&cf);

    /* 40 unknown names: 32 recorded, 8 counted */
    env_reset(&g_env);
    env_add(&g_env, "HOME=/h");
    for (i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "SESAME_UNKNOWN_%zu=x", i);
        env_add(&g_env, name);
    }
    assert_int_equal(config_load(&cf, g_env.e_ptrs, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(cf.cf_unknown_count, CONFIG_MAX_UNKNOWN_VARS);
    assert_string_equal(cf.cf_unknown[31], "SESAME_UNKNOWN_31");
    assert_int_equal(cf.cf_unknown_dropped, 8);
    config_free(&cf);
}

/* ---- no message ever quotes a value ----------------------------------------------------- */

static void test_never_echoes(void **state)
{
    static const char *const values[] = {
        "Leak9Q\x01", "Leak9Q",  "Leak9Q:99999", "https://Leak9Q@x",
        "[Leak9Q]:1", "-Leak9Q", "1Leak9Q",      "Leak9Q,Leak9Q",
    };
    struct config cf;
    char msg[512], entry[256];
    size_t i, j;
    enum err rc;

    (void)state;
    for (i = 0; i < CONFIG__COUNT; i++) {
        for (j = 0; j < ARRAY_LEN(values); j++) {
            env_reset(&g_env);
            env_add(&g_env, "HOME=/h");
            snprintf(entry, sizeof(entry), "%s=%s", config_var_name((enum config_var)i), values[j]);
            env_add(&g_env, entry);
            rc = config_load(&cf, g_env.e_ptrs, msg, sizeof(msg));
            assert_true(rc == ERR_OK || rc == ERR_CONFIG);
            if (rc == ERR_OK)
                config_free(&cf);
            assert_null(strstr(msg, "Leak9Q"));
            assert_null(strchr(msg, '\n'));
        }
    }
}

/* ---- allocation failures --------------------------------------------------------------- */

static void test_load_nomem(void **state)
{
    static const char *const env[] = {
        "OP_SESSION=eyJ2ZXJzaW9uIjoiMiJ9",
        "OP_TLS_CERT_FILE=/c",
        "OP_TLS_KEY_FILE=/k",
        "OP_TLS_DOMAIN=connect.example.com",
        "XDG_DATA_HOME=/data",
        "OP_BUS_PEERS=a:1,b:2",
        "SESAME_HUB=https://hub",
        "SESAME_HUB_DATABASE_URL=postgres:///db",
        "SESAME_ACCOUNT_KIT=/kit",
        "SESAME_HUB_TLS_CERT=/hc",
        "SESAME_HUB_TLS_KEY=/hk",
        "SESAME_BUS_SOCKET=/s",
        "OP_UNKNOWN_ONE=1",
        "SESAME_UNKNOWN_TWO=2",
        NULL,
    };
    struct config cf;
    char msg[512];
    long n;
    enum err rc = ERR_NOMEM;

    (void)state;
    for (n = 0; n < 1000 && rc != ERR_OK; n++) {
        mem_fail_after(n);
        rc = load(&cf, msg, sizeof(msg), env);
        mem_fail_after(-1);
        if (rc == ERR_NOMEM) {
            assert_string_equal(msg, "configuration: out of memory");
            assert_null(cf.cf_home);
        }
        assert_true(rc == ERR_OK || rc == ERR_NOMEM);
    }
    assert_int_equal(rc, ERR_OK);
    assert_true(n > 15); /* every string above was one allocation */
    assert_string_equal(cf.cf_unknown[1], "SESAME_UNKNOWN_TWO");
    config_free(&cf);
}

/* ---- OP_SESSION ---------------------------------------------------------------------- */

/* A credentials file in Connect's shape (connect-api.md §11), with made-up values. */
static const char creds_json[] =
    "{\n"
    "  \"verifier\": {\n"
    "    \"salt\": \"RairAMZDcqh_UDFaJTZ6RA\",\n"
    "    \"localHash\": \"TgF1ztbl12RcgD9rlk77dRGNPs4WkloeoKQpWWsLbfo\"\n"
    "  },\n"
    "  \"encCredentials\": {\n"
    "    \"kid\": \"localauthv2keykid\",\n"
    "    \"enc\": \"A256GCM\",\n"
    "    \"cty\": \"b5+jwk+json\",\n"
    "    \"iv\": \"6rB7iZexpsiLOkkH\",\n"
    "    \"data\": \"ZFEJ-ZZ5tabKyrE6wbOYYbnuspdxlG-jVz8KPznr91fPTSp-2Y28hmkG_8QVtL6czpElhNDdlAZuvD"
    "zP4ZmdU_wiMaANTrP06ejIcwueCrtw0gHSVxcsQlXfCVHsHFnkFuLzIEV0wSMSxczOSMf_F4fHwqDa7O5f1Q0Jw0D"
    "jDtUtWN3ta6aa9CKPwAZN6puAB6HYj0ypHrdCNNIxbBvqZCShUrGh1VX5u3M-wEddoKl70pZmkNXmDQMEk26VkiI3"
    "Mt7gr6wQspW-jNKowIYI90HlREHJ7LvXBgUS6lKxss0s1glEqa85NZESFubn7y9O\"\n"
    "  },\n"
    "  \"version\": \"2\",\n"
    "  \"deviceUuid\": \"grwvb2myf4pycmhgdoy3a44ppc\",\n"
    "  \"uniqueKey\": {\n"
    "    \"alg\": \"A256GCM\",\n"
    "    \"ext\": true,\n"
    "    \"k\": \"hYiHbBtLKEj4YelTRNncsdIM96OMMBfCx-2r-t4iMLQ\",\n"
    "    \"key_ops\": [\"encrypt\", \"decrypt\"],\n"
    "    \"kty\": \"oct\",\n"
    "    \"kid\": \"otnafugtcvskd5j7lplxfhhdu2\"\n"
    "  },\n"
    "  \"hub\": {\"url\": \"https://hub.example.com:7700\", \"name\": \"Z\xc3\xbcrich >> prod?\"}\n"
    "}\n";

#define S_EXPECT                                                                                   \
    "OP_SESSION: expected a path to the credentials file, or its contents base64-encoded "         \
    "(standard or URL-safe alphabet, padded or not)"

static char tmpdir[256];

static void write_file(const char *name, const void *data, size_t len)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static int session_setup(void **state)
{
    static char big[65536 + 2];
    char path[512];

    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_config.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    write_file("creds.json", creds_json, strlen(creds_json));
    write_file("bom.json", "\xef\xbb\xbf{\"version\":\"2\"}", 18);
    write_file("array.json", "[{\"version\":\"2\"}]", 17);
    write_file("v1.json", "{\"version\":\"1\"}\n", 16);
    write_file("empty.json", "", 0);
    write_file("b64.json", "eyJ2ZXJzaW9uIjoiMiJ9", 20);
    /* 65536 bytes exactly: a valid object padded with spaces; one more byte is too many */
    memset(big, ' ', sizeof(big));
    memcpy(big, "{\"version\":\"2\"}", 15);
    write_file("max.json", big, 65536);
    write_file("over.json", big, 65537);
    snprintf(path, sizeof(path), "%s/dir.json", tmpdir);
    if (mkdir(path, 0700) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/fifo", tmpdir);
    if (mkfifo(path, 0600) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/home", tmpdir);
    if (mkdir(path, 0700) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/home/.op", tmpdir);
    if (mkdir(path, 0700) != 0)
        return -1;
    write_file("home/.op/1password-credentials.json", creds_json, strlen(creds_json));
    return 0;
}

static int session_teardown(void **state)
{
    static const char *const names[] = {
        "creds.json",
        "bom.json",
        "array.json",
        "v1.json",
        "empty.json",
        "b64.json",
        "max.json",
        "over.json",
        "fifo",
        "noread.json",
        "home/.op/1password-credentials.json",
    };
    char path[512];
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(names); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/home/.op", tmpdir);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/home", tmpdir);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/dir.json", tmpdir);
    rmdir(path);
    rmdir(tmpdir);
    return 0;
}

/* Encodes creds_json with the given flags, wrapping at `wrap` columns (0: none) + '\n'. */
static void encode_creds(char *out, size_t cap, unsigned flags, size_t wrap)
{
    static char flat[4096];
    size_t len, i, o = 0;

    assert_int_equal(
        codec_b64_encode(flat, sizeof(flat), &len, creds_json, strlen(creds_json), flags), ERR_OK);
    if (!wrap) {
        assert_true(len < cap);
        memcpy(out, flat, len + 1);
        return;
    }
    for (i = 0; i < len; i += wrap) {
        size_t n = len - i < wrap ? len - i : wrap;
        assert_true(o + n + 2 < cap);
        memcpy(out + o, flat + i, n);
        o += n;
        out[o++] = '\n';
    }
    out[o] = '\0';
}

struct sess_case {
    const char *s_name;
    const char *s_value;
    const char *s_home;
    const char *s_msg; /* NULL: success */
    const char *s_out; /* the expected JSON on success */
};

static void check_session(const struct sess_case *c)
{
    struct buf out;
    char msg[1024];
    enum err rc;

    memset(&out, 0xa5, sizeof(out));
    memset(msg, 'x', sizeof(msg));
    rc = config_session_read(&out, c->s_value, c->s_home, msg, sizeof(msg));
    if ((c->s_msg && (rc != ERR_CONFIG || strcmp(msg, c->s_msg) != 0)) ||
        (!c->s_msg && rc != ERR_OK))
        print_error("case %s: %s \"%s\"\n", c->s_name, err_name(rc), msg);
    if (c->s_msg) {
        assert_int_equal(rc, ERR_CONFIG);
        assert_string_equal(msg, c->s_msg);
        assert_null(out.b_data);
        assert_int_equal(out.b_len, 0);
    } else {
        assert_int_equal(rc, ERR_OK);
        assert_string_equal(msg, "");
        assert_int_equal(out.b_len, strlen(c->s_out));
        assert_string_equal(buf_str(&out), c->s_out);
    }
    buf_free(&out);
}

static void test_session_forms(void **state)
{
    static char std_pad[4096], std_raw[4096], url_pad[4096], url_raw[4096], wrapped[4096],
        url_wrapped[4096], crlf[4096];
    static char p_creds[512], p_spaced[512], p_bom[512], p_array[512], p_v1[512], p_empty[512],
        p_b64[512], p_max[512], p_over[512], p_dir[512], p_fifo[512], p_missing[512], p_home[512],
        p_dotdot[512];
    static char m_missing[700], m_dir[700], m_fifo[700], m_over[700], m_home_missing[700],
        m_relative[700];
    static const char max_json_prefix[] = "{\"version\":\"2\"}";
    static char max_json[65537], creds_trimmed[sizeof(creds_json)];
    size_t i, o;

    (void)state;
    encode_creds(std_pad, sizeof(std_pad), CODEC_B64_STD | CODEC_PAD, 0);
    encode_creds(std_raw, sizeof(std_raw), CODEC_B64_STD, 0);
    encode_creds(url_pad, sizeof(url_pad), CODEC_B64_URL | CODEC_PAD, 0);
    encode_creds(url_raw, sizeof(url_raw), CODEC_B64_URL, 0);
    encode_creds(wrapped, sizeof(wrapped), CODEC_B64_STD | CODEC_PAD, 76);
    encode_creds(url_wrapped, sizeof(url_wrapped), CODEC_B64_URL, 64);
    /* the two alphabets differ on this fixture, and padding is really there */
    assert_true(strpbrk(std_pad, "+/") != NULL);
    assert_true(strpbrk(url_pad, "-_") != NULL);
    assert_true(std_pad[strlen(std_pad) - 1] == '=');
    assert_true(strchr(wrapped, '\n') < wrapped + 77);
    /* CRLF line ends and indentation, as pasted from a Windows editor or YAML */
    for (i = 0, o = 0; std_pad[i]; i++) {
        if (i % 60 == 0) {
            memcpy(crlf + o, i ? "\r\n    " : "    ", i ? 6 : 4);
            o += i ? 6 : 4;
        }
        crlf[o++] = std_pad[i];
    }
    memcpy(crlf + o, "\r\n", 3);

    snprintf(p_creds, sizeof(p_creds), "%s/creds.json", tmpdir);
    snprintf(p_spaced, sizeof(p_spaced), "  %s/creds.json\n", tmpdir);
    snprintf(p_bom, sizeof(p_bom), "%s/bom.json", tmpdir);
    snprintf(p_array, sizeof(p_array), "%s/array.json", tmpdir);
    snprintf(p_v1, sizeof(p_v1), "%s/v1.json", tmpdir);
    snprintf(p_empty, sizeof(p_empty), "%s/empty.json", tmpdir);
    snprintf(p_b64, sizeof(p_b64), "%s/b64.json", tmpdir);
    snprintf(p_max, sizeof(p_max), "%s/max.json", tmpdir);
    snprintf(p_over, sizeof(p_over), "%s/over.json", tmpdir);
    snprintf(p_dir, sizeof(p_dir), "%s/dir.json", tmpdir);
    snprintf(p_fifo, sizeof(p_fifo), "%s/fifo", tmpdir);
    snprintf(p_missing, sizeof(p_missing), "%s/missing.json", tmpdir);
    snprintf(p_dotdot, sizeof(p_dotdot), "%s/dir.json/../creds.json", tmpdir);
    snprintf(p_home, sizeof(p_home), "%s/home", tmpdir);
    snprintf(m_missing, sizeof(m_missing), "OP_SESSION: credentials file %s: no such file",
             p_missing);
    snprintf(m_dir, sizeof(m_dir), "OP_SESSION: credentials file %s: is a directory", p_dir);
    snprintf(m_fifo, sizeof(m_fifo), "OP_SESSION: credentials file %s: not a regular file", p_fifo);
    snprintf(m_over, sizeof(m_over), "OP_SESSION: credentials file %s: larger than 65536 bytes",
             p_over);
    snprintf(m_home_missing, sizeof(m_home_missing),
             "OP_SESSION: credentials file %s/.op/1password-credentials.json: no such file",
             tmpdir);
    snprintf(m_relative, sizeof(m_relative),
             "OP_SESSION: credentials file sesame-no-such-creds.json: no such file");
    memcpy(creds_trimmed, creds_json, sizeof(creds_json) - 2); /* without the final newline */
    creds_trimmed[sizeof(creds_json) - 2] = '\0';
    memset(max_json, ' ', 65536);
    memcpy(max_json, max_json_prefix, sizeof(max_json_prefix) - 1);
    max_json[65536] = '\0';

    {
        const struct sess_case cases[] = {
            /* the good forms */
            {"path", p_creds, NULL, NULL, creds_json},
            {"path with blanks around", p_spaced, NULL, NULL, creds_json},
            {"path through ..", p_dotdot, NULL, NULL, creds_json},
            {"path, BOM skipped", p_bom, NULL, NULL, "{\"version\":\"2\"}"},
            {"path, exactly 64 KiB", p_max, NULL, NULL, max_json},
            {"default path", NULL, p_home, NULL, creds_json},
            {"default path (empty)", "", p_home, NULL, creds_json},
            {"raw JSON", creds_json, NULL, NULL, creds_trimmed},
            {"raw JSON, blanks around", "\n  {\"version\":\"2\"}  \n", NULL, NULL,
             "{\"version\":\"2\"}"},
            {"std padded", std_pad, NULL, NULL, creds_json},
            {"std unpadded", std_raw, NULL, NULL, creds_json},
            {"url padded", url_pad, NULL, NULL, creds_json},
            {"url unpadded", url_raw, NULL, NULL, creds_json},
            {"base64 wrapped at 76 + newline", wrapped, NULL, NULL, creds_json},
            {"base64url wrapped at 64", url_wrapped, NULL, NULL, creds_json},
            {"base64 with CRLF and indent", crlf, NULL, NULL, creds_json},
            {"base64 of BOM + JSON", "77u/eyJ2ZXJzaW9uIjoiMiJ9", NULL, NULL, "{\"version\":\"2\"}"},
            /* the bad ones */
            {"not base64", "not base64!", NULL, S_EXPECT, NULL},
            {"JWT by mistake", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", NULL, S_EXPECT, NULL},
            {"mixed alphabets", "ab+_", NULL, S_EXPECT, NULL},
            {"bad length", "eyJ2ZXJzaW9uIjoiMiJ9e", NULL, S_EXPECT, NULL},
            {"non-canonical tail", "eyJ2ZXJzaW9uIjoiMiJ9fQ=", NULL, S_EXPECT, NULL},
            {"blanks only", " \t\n", NULL, S_EXPECT, NULL},
            {"raw JSON array", "[{\"version\":\"2\"}]", NULL, S_EXPECT, NULL},
            {"base64 of non-JSON", "aGVsbG8gd29ybGQ=", NULL,
             "OP_SESSION: credentials file is not valid JSON (line 1, column 5)", NULL},
            {"base64 of JSON array", "W3sidmVyc2lvbiI6IjIifV0", NULL,
             "OP_SESSION: credentials file is not a JSON object", NULL},
            {"base64 of version 1", "eyJ2ZXJzaW9uIjoiMSJ9", NULL,
             "OP_SESSION: credentials file is not version 2", NULL},
            {"raw version 1", "{\"version\":\"1\",\"deviceUuid\":\"x\"}", NULL,
             "OP_SESSION: credentials file is not version 2", NULL},
            {"raw version number 2", "{\"version\":2}", NULL,
             "OP_SESSION: credentials file is not version 2", NULL},
            {"raw no version", "{\"deviceUuid\":\"x\"}", NULL,
             "OP_SESSION: credentials file is not version 2", NULL},
            {"raw duplicate keys", "{\"version\":\"2\",\"version\":\"2\"}", NULL,
             "OP_SESSION: credentials file has a duplicate key (line 1)", NULL},
            {"raw duplicate nested", "{\"version\":\"2\",\n\"a\":{\"k\":1,\n\"k\":2}}", NULL,
             "OP_SESSION: credentials file has a duplicate key (line 3)", NULL},
            {"raw truncated", "{\"version\":\"2\"", NULL,
             "OP_SESSION: credentials file is not valid JSON (line 1, column 14)", NULL},
            {"raw trailing data", "{\"version\":\"2\"} {}", NULL,
             "OP_SESSION: credentials file is not valid JSON (line 1, column 17)", NULL},
            {"file: array", p_array, NULL, "OP_SESSION: credentials file is not a JSON object",
             NULL},
            {"file: version 1", p_v1, NULL, "OP_SESSION: credentials file is not version 2", NULL},
            {"file: empty", p_empty, NULL,
             "OP_SESSION: credentials file is not valid JSON (line 1, column 0)", NULL},
            {"file: base64 inside", p_b64, NULL,
             "OP_SESSION: credentials file is not valid JSON (line 1, column 3)", NULL},
            {"missing path", p_missing, NULL, m_missing, NULL},
            {"missing relative .json", "sesame-no-such-creds.json", NULL, m_relative, NULL},
            {"directory", p_dir, NULL, m_dir, NULL},
            {"fifo", p_fifo, NULL, m_fifo, NULL},
            {"over-size file", p_over, NULL, m_over, NULL},
            {"default path missing", NULL, tmpdir, m_home_missing, NULL},
            {"no value, no HOME", NULL, NULL,
             "OP_SESSION: not set, and HOME is not set either, so there is no default "
             "credentials file",
             NULL},
            {"no value, empty HOME", "", "",
             "OP_SESSION: not set, and HOME is not set either, so there is no default "
             "credentials file",
             NULL},
        };

        for (i = 0; i < ARRAY_LEN(cases); i++)
            check_session(&cases[i]);
    }
}

/* Sizes: the raw value, the decoded file, and a path that is too long. */
static void test_session_sizes(void **state)
{
    static char value[200000], json[70000];
    struct buf out;
    char msg[512];
    size_t n, len;

    (void)state;
    /* base64 of 65537 bytes of JSON */
    memset(json, ' ', 65537);
    memcpy(json, "{\"version\":\"2\"}", 15);
    assert_int_equal(codec_b64_encode(value, sizeof(value), &len, json, 65537, CODEC_B64_STD),
                     ERR_OK);
    assert_int_equal(config_session_read(&out, value, NULL, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, "OP_SESSION: credentials file is larger than 65536 bytes");
    assert_null(out.b_data);
    /* base64 of exactly 65536 bytes is fine */
    assert_int_equal(codec_b64_encode(value, sizeof(value), &len, json, 65536, CODEC_B64_STD),
                     ERR_OK);
    assert_int_equal(config_session_read(&out, value, NULL, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(out.b_len, 65536);
    buf_free(&out);
    /* raw JSON over the limit (blanks inside: those at the ends would be trimmed) */
    memset(json, ' ', 65537);
    json[0] = '{';
    memcpy(json + 65537 - 14, "\"version\":\"2\"}", 14);
    json[65537] = '\0';
    assert_int_equal(config_session_read(&out, json, NULL, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, "OP_SESSION: credentials file is larger than 65536 bytes");
    /* a huge value */
    memset(value, 'A', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    assert_int_equal(config_session_read(&out, value, NULL, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, "OP_SESSION: credentials file is larger than 65536 bytes");
    /* a path of 5000 bytes */
    value[0] = '/';
    value[5000] = '\0';
    assert_int_equal(config_session_read(&out, value, NULL, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, "OP_SESSION: the credentials file path is too long");
    /* a HOME too long for the default path */
    n = 4090;
    memset(value, 'h', n);
    value[0] = '/';
    value[n] = '\0';
    assert_int_equal(config_session_read(&out, NULL, value, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, "OP_SESSION: the default credentials file path is too long");
    /* a path with a control character inside is named with '?' in its place */
    snprintf(value, sizeof(value), "/no/such\x1b[2J.json");
    assert_int_equal(config_session_read(&out, value, NULL, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, "OP_SESSION: credentials file /no/such?[2J.json: no such file");
}

/* An unreadable file (skipped as root, who reads everything). */
static void test_session_permission(void **state)
{
    char path[512], expect[700];
    struct buf out;
    char msg[1024];

    (void)state;
    if (geteuid() == 0)
        skip();
    write_file("noread.json", "{\"version\":\"2\"}", 15);
    snprintf(path, sizeof(path), "%s/noread.json", tmpdir);
    assert_int_equal(chmod(path, 0), 0);
    snprintf(expect, sizeof(expect), "OP_SESSION: credentials file %s: permission denied", path);
    assert_int_equal(config_session_read(&out, path, NULL, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, expect);
}

/* Secrets that fail to decode are never quoted. */
static void test_session_never_echoes(void **state)
{
    static const char *const values[] = {
        "Leak9QLeak9QLeak9Q", "Leak9Q Leak9Q", "Leak9Q!",      "{Leak9Q}",
        "Leak9Q.Leak9Q.sig",  "Leak9Q/Leak9Q", "Leak9Q\n\x01", "Leak9Q=Leak9Q",
    };
    struct buf out;
    char msg[1024];
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(values); i++) {
        assert_int_equal(config_session_read(&out, values[i], "/nonexistent", msg, sizeof(msg)),
                         ERR_CONFIG);
        assert_null(strstr(msg, "Leak9Q"));
        assert_null(strchr(msg, '\n'));
    }
}

/* The decoder alone (the fuzzer's entry point) works on bytes, NULs included. */
static void test_session_decode(void **state)
{
    static const char with_nul[] = "{\"version\":\"2\"}\0";
    struct buf out;
    char msg[512];

    (void)state;
    assert_int_equal(config_session_decode(&out, "eyJ2ZXJzaW9uIjoiMiJ9", 20, msg, sizeof(msg)),
                     ERR_OK);
    assert_string_equal(buf_str(&out), "{\"version\":\"2\"}");
    buf_free(&out);
    assert_int_equal(config_session_decode(&out, with_nul, sizeof(with_nul) - 1, msg, sizeof(msg)),
                     ERR_CONFIG);
    assert_string_equal(msg, "OP_SESSION: credentials file is not valid JSON (line 1, column 16)");
    assert_int_equal(config_session_decode(&out, "eyJ2\0ZXJz", 9, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, S_EXPECT);
    assert_int_equal(config_session_decode(&out, "", 0, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, S_EXPECT);
    /* a path is not looked at by the decoder */
    assert_int_equal(config_session_decode(&out, "/etc/passwd", 11, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, S_EXPECT);
}

static void test_session_nomem(void **state)
{
    static char std_pad[4096];
    char path[512];
    const char *values[3];
    struct buf out;
    char msg[512];
    size_t v;
    long n;
    enum err rc;

    (void)state;
    encode_creds(std_pad, sizeof(std_pad), CODEC_B64_STD | CODEC_PAD, 76);
    snprintf(path, sizeof(path), "%s/creds.json", tmpdir);
    values[0] = std_pad;
    values[1] = path;
    values[2] = creds_json;
    for (v = 0; v < ARRAY_LEN(values); v++) {
        rc = ERR_NOMEM;
        for (n = 0; n < 1000 && rc != ERR_OK; n++) {
            mem_fail_after(n);
            rc = config_session_read(&out, values[v], NULL, msg, sizeof(msg));
            mem_fail_after(-1);
            assert_true(rc == ERR_OK || rc == ERR_NOMEM);
            if (rc == ERR_NOMEM) {
                assert_string_equal(msg, "OP_SESSION: out of memory");
                assert_null(out.b_data);
            }
        }
        assert_int_equal(rc, ERR_OK);
        /* raw JSON comes back trimmed of the blanks around it */
        assert_int_equal(out.b_len, strlen(creds_json) - (v == 2));
        assert_memory_equal(out.b_data, creds_json, out.b_len);
        buf_free(&out);
    }
}

/* config_load_var: one variable as config_load reads it (the hub's rate limit). */
static void test_load_var(void **state)
{
    struct config cf;
    char msg[256];

    (void)state;
    memset(&cf, 0, sizeof(cf));
    assert_int_equal(config_load_var(&cf, CONFIG_SESAME_HUB_RATE_LIMIT_RPS, NULL, msg, sizeof(msg)),
                     ERR_OK);
    assert_int_equal(cf.cf_hub_rate_limit_rps, CONFIG_DEFAULT_HUB_RATE_LIMIT_RPS);
    assert_int_equal(cf.cf_set[CONFIG_SESAME_HUB_RATE_LIMIT_RPS], 0);
    assert_int_equal(config_load_var(&cf, CONFIG_SESAME_HUB_RATE_LIMIT_RPS, "", msg, sizeof(msg)),
                     ERR_OK);
    assert_int_equal(cf.cf_hub_rate_limit_rps, CONFIG_DEFAULT_HUB_RATE_LIMIT_RPS);
    assert_int_equal(config_load_var(&cf, CONFIG_SESAME_HUB_RATE_LIMIT_RPS, "0", msg, sizeof(msg)),
                     ERR_OK);
    assert_int_equal(cf.cf_hub_rate_limit_rps, 0);
    assert_int_equal(cf.cf_set[CONFIG_SESAME_HUB_RATE_LIMIT_RPS], 1);
    assert_int_equal(
        config_load_var(&cf, CONFIG_SESAME_HUB_RATE_LIMIT_RPS, "250", msg, sizeof(msg)), ERR_OK);
    assert_int_equal(cf.cf_hub_rate_limit_rps, 250);
    assert_int_equal(
        config_load_var(&cf, CONFIG_SESAME_HUB_RATE_LIMIT_RPS, "12abc", msg, sizeof(msg)),
        ERR_CONFIG);
    assert_string_equal(msg, "SESAME_HUB_RATE_LIMIT_RPS: expected an integer from 0 to 1000000");
    assert_int_equal(
        config_load_var(&cf, CONFIG_SESAME_HUB_RATE_LIMIT_RPS, "1000001", msg, sizeof(msg)),
        ERR_CONFIG);
    assert_null(strstr(msg, "1000001 "));
    assert_int_equal(config_load_var(&cf, CONFIG__COUNT, "1", msg, sizeof(msg)), ERR_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),           cmocka_unit_test(test_variables),
        cmocka_unit_test(test_long_values),        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_sync_timeout),       cmocka_unit_test(test_bus_peers),
        cmocka_unit_test(test_data_dir),           cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_never_echoes),       cmocka_unit_test(test_load_nomem),
        cmocka_unit_test(test_session_forms),      cmocka_unit_test(test_session_sizes),
        cmocka_unit_test(test_session_permission), cmocka_unit_test(test_session_never_echoes),
        cmocka_unit_test(test_session_decode),     cmocka_unit_test(test_session_nomem),
        cmocka_unit_test(test_load_var),           cmocka_unit_test(test_hub_url_list),
    };

    return cmocka_run_group_tests(tests, session_setup, session_teardown);
}
