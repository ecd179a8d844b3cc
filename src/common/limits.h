/*
 * limits.h - every limit and timeout of Sesame as a named constant (OpenBSD httpd style).
 *
 * Defaults only: where a limit is configurable, config.h names the variable that
 * overrides it. Small limits are enforced before authentication. docs/limits.md lists
 * them for operators.
 */
#ifndef SESAME_COMMON_LIMITS_H
#define SESAME_COMMON_LIMITS_H

/* Memory and buffers */
#define BUF_MIN_ALLOC    64         /* first allocation of a growing buffer */
#define ARENA_BLOCK_SIZE 4096       /* default arena block */
#define ARENA_MAX_BYTES  (8u << 20) /* one request's arena: 8 MiB */

/* HTTP (api, sync, hub) */
#define HTTP_MAX_HEADER_BYTES 16384      /* request line + headers, per connection */
#define HTTP_MAX_BODY_BYTES   (4u << 20) /* JSON request body: 4 MiB */
#define HTTP_MAX_URL_BYTES    4096       /* request target, with the query */
#define HTTP_MAX_CONNECTIONS  10000      /* open connections per listener */
#define HTTP_MAX_PER_IP       1024       /* open connections per client address */
#define HTTP_TIMEOUT_SECONDS                                                                       \
    30                           /* idle timeout, and the time a request's headers                 \
                                    may take to arrive (SESAME_HTTP_TIMEOUT_SECONDS) */
#define HTTP_REFUSE_MARGIN    64 /* connections over the limit taken to be refused */
#define HTTP_THREADS          4  /* handler threads per listener */
#define PROCESS_MALLOC_ARENAS 2  /* glibc heap arenas (mallopt M_ARENA_MAX; main.c) */
#define PROCESS_MALLOC_MMAP_BYTES                                                                  \
    (256 * 1024) /* blocks from this size mapped on their own (M_MMAP_THRESHOLD; main.c) */
#define HTTP_TRIM_INTERVAL_MS                                                                      \
    5000 /* while connections are open, the heap's free pages go back to the system this often     \
            (glibc keeps them in per-thread arenas: the soak's slow RSS growth, the api's RSS      \
            after a burst of reads). 1 s was tried (benchmarks.md): no clear gain in the peak */

/* JSON */
#define JSON_MAX_DEPTH 32 /* nesting of any request body */

/* Tokens and keys */
#define JWS_MAX_TOKEN_BYTES      8192 /* a bearer token, before any parsing */
#define JWS_MAX_HEADER_BYTES     1024 /* decoded JWS protected header */
#define JWS_MAX_PAYLOAD_BYTES    6144 /* decoded JWS payload (claims) */
#define JWS_CLOCK_LEEWAY_SECONDS 60   /* tolerance on exp / nbf / iat */
#define JWK_MAX_BYTES            4096 /* one JWK document */
#define KID_MAX_LEN              64   /* a key id */

/* Configuration */
#define CONFIG_MAX_SESSION_BYTES (64u << 10) /* OP_SESSION value or credentials file */
#define CONFIG_MAX_PATH          4096        /* any path taken from the environment */
#define CONFIG_MAX_BUS_PEERS     16          /* entries in OP_BUS_PEERS */
#define CONFIG_MAX_VALUE_BYTES   8192        /* any other environment value */

/* Defaults of Connect's environment (connect-api.md §10.1) */
#define CONNECT_DEFAULT_HTTP_PORT       8080
#define CONNECT_DEFAULT_HTTPS_PORT      8443
#define CONNECT_DEFAULT_SYNC_TIMEOUT_MS 10000
#define CONNECT_DEFAULT_MAX_INLINE_KB   100
#define CONNECT_MAX_SYNC_TIMEOUT_MS     (10 * 60 * 1000)

/* Hub defaults */
#define HUB_DEFAULT_ADDR         "127.0.0.1:7700"
#define HUB_MAX_LONGPOLL_SECONDS 30
#define HUB_MAX_BODY_BYTES       (16u << 20) /* hub request body: raw file ciphertext */
#define HUB_CHANGES_PAGE         500         /* changes per answer: default, and sync's maximum */
#define HUB_CHANGES_PAGE_BYTES   (8u << 20)  /* and their payloads' JSON text (at least one) */
#define HUB_ACTIVITY_PAGE        100         /* activity entries per admin answer by default */
#define HUB_ACTIVITY_MAX_IN      1000        /* entries in one POST /v1/sync/activity */

/* Logging */
#define LOG_MAX_LINE_BYTES 8192 /* one JSON log line; longer messages are cut */

/* Configuration bounds and defaults of Sesame's own variables (config.c, docs/configuration.md) */
#define CONFIG_DEFAULT_HUB_DATA           "./sesame-hub" /* SESAME_HUB_DATA */
#define CONFIG_DEFAULT_RATE_LIMIT_RPS     1000           /* SESAME_RATE_LIMIT_RPS; 0 disables */
#define CONFIG_DEFAULT_HUB_RATE_LIMIT_RPS 5000           /* SESAME_HUB_RATE_LIMIT_RPS; 0 disables */
#define CONFIG_MAX_RATE_LIMIT_RPS         1000000        /* ceiling of SESAME_RATE_LIMIT_RPS */
#define CONFIG_MAX_INLINE_FILE_KB         10240          /* ceiling of OP_MAX_INLINE_FILE_SIZE_KB */
#define CONFIG_MIN_SYNC_TIMEOUT_MS        1              /* floor of OP_SYNC_TIMEOUT */
#define CONFIG_MIN_BODY_BYTES             1024           /* floor of SESAME_MAX_BODY_BYTES */
#define CONFIG_MAX_BODY_BYTES             (64u << 20)    /* ceiling of SESAME_MAX_BODY_BYTES */
#define CONFIG_MAX_HTTP_TIMEOUT_SECONDS   3600         /* ceiling of SESAME_HTTP_TIMEOUT_SECONDS */
#define CONFIG_MIN_HEADER_BYTES           4096         /* floor of SESAME_MAX_HEADER_BYTES */
#define CONFIG_MAX_HEADER_BYTES           (256u << 10) /* ceiling of SESAME_MAX_HEADER_BYTES */
#define CONFIG_MAX_HOST_LEN               253          /* a host name or address literal */
#define CONFIG_MAX_UNKNOWN_VARS           32           /* unknown OP_* / SESAME_* names recorded */
#define CONFIG_MAX_VAR_NAME               128          /* longest unknown name recorded */

/* Connect data model (src/json/) */
#define ITEM_MAX_TITLE_BYTES 1024       /* item title */
#define ITEM_MAX_TAGS        256        /* tags per item */
#define ITEM_MAX_TAG_BYTES   256        /* one tag */
#define ITEM_MAX_URLS        256        /* urls per item */
#define ITEM_MAX_SECTIONS    256        /* sections per item */
#define ITEM_MAX_FIELDS      1024       /* fields per item */
#define ITEM_MAX_FILES       256        /* files per item */
#define ITEM_MAX_ID_BYTES    256        /* a field or section id chosen by a client */
#define ITEM_MAX_LABEL_BYTES 1024       /* a field, section or url label */
#define ITEM_MAX_VALUE_BYTES (1u << 20) /* one field value, or a url href */
#define ITEM_MAX_HISTORY     32         /* previous passwords kept per item */
#define VAULT_MAX_NAME_BYTES 1024       /* vault name */
#define VAULT_MAX_DESC_BYTES 4096       /* vault description */
#define FILE_MAX_NAME_BYTES  1024       /* attachment file name */

/* JSON Patch (PATCH /v1/vaults/{v}/items/{i}, src/json/patch.c) */
#define PATCH_MAX_OPS 256 /* operations in one patch document */

#endif
