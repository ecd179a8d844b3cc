/*
 * config.h - Sesame's configuration, read once from the environment.
 *
 * Every variable of Connect (connect-api.md §10.1) is accepted unchanged, so existing
 * manifests only swap the image; Sesame's own settings use the SESAME_ prefix. One static
 * table in config.c drives parsing; docs/configuration.md lists every variable, its
 * default, its accepted forms and its error text.
 *
 * Rules common to all variables: a variable set to the empty string counts as unset; when
 * a name occurs twice in the environment the first occurrence wins (as getenv); a malformed
 * value fails with one line naming the variable and what was expected, and never echoes
 * the value (it may be a secret).
 */
#ifndef SESAME_COMMON_CONFIG_H
#define SESAME_COMMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"

#define CONFIG_MAX_HUB_URLS 8 /* URLs in SESAME_HUB (hub replicas sync fails over between) */

/* What a process that needs the data volume (api, sync) says when cf_data_dir is NULL. */
#define CONFIG_NO_DATA_DIR_MSG                                                                     \
    "XDG_DATA_HOME: not set, and HOME is not set either, so there is no data directory"

/* The variables config_load reads, in the order they are checked. */
enum config_var {
    CONFIG_OP_SESSION,
    CONFIG_OP_HTTP_PORT,
    CONFIG_OP_HTTPS_PORT,
    CONFIG_OP_TLS_CERT_FILE,
    CONFIG_OP_TLS_KEY_FILE,
    CONFIG_OP_TLS_USE_LETSENCRYPT,
    CONFIG_OP_TLS_DOMAIN,
    CONFIG_OP_LOG_LEVEL,
    CONFIG_OP_DEBUG,
    CONFIG_OP_PRETTY_LOGS,
    CONFIG_HOME,
    CONFIG_XDG_DATA_HOME,
    CONFIG_OP_BUS_PORT,
    CONFIG_OP_BUS_PEERS,
    CONFIG_OP_SYNC_TIMEOUT,
    CONFIG_OP_MAX_INLINE_FILE_SIZE_KB,
    CONFIG_SESAME_HUB_ADDR,
    CONFIG_SESAME_HUB_DATA,
    CONFIG_SESAME_HUB_DATABASE_URL,
    CONFIG_SESAME_HUB_DATABASE,
    CONFIG_SESAME_HUB,
    CONFIG_SESAME_ACCOUNT_KIT,
    CONFIG_SESAME_HUB_TLS_CERT,
    CONFIG_SESAME_HUB_TLS_KEY,
    CONFIG_SESAME_HUB_CA_FILE,
    CONFIG_SESAME_BUS_SOCKET,
    CONFIG_SESAME_RATE_LIMIT_RPS,
    CONFIG_SESAME_HUB_RATE_LIMIT_RPS,
    CONFIG_SESAME_MAX_BODY_BYTES,
    CONFIG_SESAME_MAX_HEADER_BYTES,
    CONFIG_SESAME_HTTP_TIMEOUT_SECONDS,
    CONFIG__COUNT
};

/* A host and port: a host name, a dotted IPv4 address, or an IPv6 address (no brackets). */
struct config_addr {
    char ca_host[CONFIG_MAX_HOST_LEN + 1];
    unsigned ca_port; /* 1-65535; 0 when absent (an optional URL port) */
};

/*
 * The whole configuration. Strings are owned by the struct (NULL when unset and without a
 * default) and wiped when freed. Filled only by config_load, released by config_free.
 */
struct config {
    /* Connect's variables */
    char *cf_session;            /* OP_SESSION as given (a secret), or NULL */
    unsigned cf_http_port;       /* OP_HTTP_PORT */
    unsigned cf_https_port;      /* OP_HTTPS_PORT */
    char *cf_tls_cert_file;      /* OP_TLS_CERT_FILE, or NULL */
    char *cf_tls_key_file;       /* OP_TLS_KEY_FILE, or NULL */
    int cf_tls_letsencrypt;      /* OP_TLS_USE_LETSENCRYPT set, or OP_TLS_DOMAIN alone */
    char *cf_tls_domain;         /* OP_TLS_DOMAIN, or NULL */
    enum log_level cf_log_level; /* OP_LOG_LEVEL, raised to debug by OP_DEBUG */
    int cf_debug;                /* OP_DEBUG */
    int cf_pretty_logs;          /* OP_PRETTY_LOGS (accepted; logs stay JSON) */
    char *cf_home;               /* HOME, or NULL */
    char *cf_xdg_data_home;      /* XDG_DATA_HOME, or NULL */
    char *cf_data_dir;           /* derived: $XDG_DATA_HOME/.op/data or $HOME/.op/data;
                                    NULL when neither is set (CONFIG_NO_DATA_DIR_MSG) */
    unsigned cf_bus_port;        /* OP_BUS_PORT; 0 when unset (any free port) */
    struct config_addr cf_bus_peers[CONFIG_MAX_BUS_PEERS]; /* OP_BUS_PEERS */
    size_t cf_bus_peer_count;
    unsigned long cf_sync_timeout_ms; /* OP_SYNC_TIMEOUT */
    unsigned long cf_max_inline_kb;   /* OP_MAX_INLINE_FILE_SIZE_KB */

    /* Sesame's variables */
    struct config_addr cf_hub_addr;  /* SESAME_HUB_ADDR: where `sesame hub` listens */
    char *cf_hub_data;               /* SESAME_HUB_DATA: the hub's data directory */
    char *cf_hub_database_url;       /* SESAME_HUB_DATABASE_URL (may hold a password), or NULL */
    char *cf_hub_database;           /* SESAME_HUB_DATABASE: the same, by its other name */
    char *cf_hub_url;                /* SESAME_HUB: its (first) hub URL, or NULL */
    char *cf_account_kit;            /* SESAME_ACCOUNT_KIT, or NULL */
    char *cf_hub_tls_cert;           /* SESAME_HUB_TLS_CERT, or NULL */
    char *cf_hub_tls_key;            /* SESAME_HUB_TLS_KEY, or NULL */
    char *cf_hub_ca_file;            /* SESAME_HUB_CA_FILE: CAs to trust for an https hub */
    char *cf_bus_socket;             /* SESAME_BUS_SOCKET, or NULL (derived by the caller) */
    unsigned long cf_rate_limit_rps; /* SESAME_RATE_LIMIT_RPS; 0 disables */
    unsigned long cf_hub_rate_limit_rps; /* SESAME_HUB_RATE_LIMIT_RPS; 0 disables */
    unsigned long cf_max_body_bytes;     /* SESAME_MAX_BODY_BYTES */
    unsigned long cf_max_header_bytes;   /* SESAME_MAX_HEADER_BYTES */
    unsigned long cf_http_timeout_s;     /* SESAME_HTTP_TIMEOUT_SECONDS */

    /* SESAME_HUB's comma-separated list of hub URLs (replicas), in order; [0] = cf_hub_url */
    char *cf_hub_urls[CONFIG_MAX_HUB_URLS];
    size_t cf_hub_url_count; /* entries in cf_hub_urls; 0 when unset */

    /* Bookkeeping */
    unsigned char cf_set[CONFIG__COUNT];       /* 1 where the variable was set (non-empty) */
    char *cf_unknown[CONFIG_MAX_UNKNOWN_VARS]; /* names of unknown OP_* / SESAME_* variables */
    size_t cf_unknown_count;                   /* entries in cf_unknown */
    size_t cf_unknown_dropped;                 /* unknown names not recorded (too many, odd) */
};

/*
 * Fills cf from envp, a NULL-terminated array of "NAME=value" strings (production passes
 * environ; entries without '=' are skipped). Variables not set take their defaults.
 * Returns ERR_OK; ERR_CONFIG with a one-line message in errmsg (errcap bytes, always
 * NUL-terminated, naming the variable and never its value); or ERR_NOMEM. On error cf is
 * left empty; config_free(cf) is safe either way. Unknown OP_* / SESAME_* names are listed
 * in cf_unknown for the caller to warn about.
 */
enum err config_load(struct config *cf, char *const *envp, char *errmsg, size_t errcap) SESAME_WUR;

/* Wipes and frees everything cf owns and zeroes it. NULL is fine. */
void config_free(struct config *cf);

/* Returns 1 if variable v was set (to a non-empty value) when cf was loaded. */
int config_is_set(const struct config *cf, enum config_var v);

/* Returns the name of variable v ("OP_HTTP_PORT"), or "?" outside the enum. */
const char *config_var_name(enum config_var v);

/*
 * Applies one variable's value to cf as config_load does (value NULL or empty: the
 * default), for a command that reads only a few variables itself (the hub). cf must be
 * zeroed or loaded. Returns ERR_OK, ERR_CONFIG (one-line message naming the variable) or
 * ERR_NOMEM.
 */
enum err config_load_var(struct config *cf, enum config_var v, const char *value, char *errmsg,
                         size_t errcap) SESAME_WUR;

/*
 * Parses len bytes of s as a Go duration (time.ParseDuration: "10s", "1m30s", "1.5h",
 * "500ms"; units ns us µs μs ms s m h; an optional sign; "0" alone needs no unit) into
 * *ns. Bare numbers other than "0" are refused, as in Go. Returns ERR_OK, or ERR_BAD_INPUT
 * for malformed text or a value outside the int64 nanoseconds range (*ns is then 0).
 */
enum err config_duration_parse(const char *s, size_t len, int64_t *ns) SESAME_WUR;

/*
 * Reads the credentials file as OP_SESSION designates it (value may be NULL or empty: the
 * default path $HOME/.op/1password-credentials.json). Otherwise, after trimming ASCII
 * whitespace at both ends, in this order: raw JSON (first character '{'); the path of an
 * existing file (a regular file of at most CONFIG_MAX_SESSION_BYTES, holding the JSON);
 * else the file's contents in base64 (standard or URL-safe alphabet, padded or not, any
 * ASCII whitespace inside ignored). The JSON must be an object without duplicate keys whose
 * "version" is "2". out is initialised here and receives the JSON text (the caller frees
 * it with buf_free, which wipes it). Returns ERR_OK, ERR_CONFIG with a one-line message in
 * errmsg (a path may be named, never the contents), or ERR_NOMEM.
 */
enum err config_session_read(struct buf *out, const char *value, const char *home, char *errmsg,
                             size_t errcap) SESAME_WUR;

/*
 * The part of config_session_read that needs no file system: len bytes of an OP_SESSION
 * value holding raw JSON or base64 of it (for the fuzzer and the tests). Errors, and out,
 * as config_session_read.
 */
enum err config_session_decode(struct buf *out, const char *bytes, size_t len, char *errmsg,
                               size_t errcap) SESAME_WUR;

#endif
