/*
 * fuzz_config.c - config_load over an environment built from the input: one "NAME=value"
 * entry per line (at most FUZZ_MAX_ENTRIES lines). Checks the invariants of a loaded
 * configuration, and that a failure leaves one line of message and an empty struct.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

#define FUZZ_MAX_ENTRIES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_loaded(const struct config *cf)
{
    size_t i;

    /* 0 = any free port (Sesame only, configuration.md) */
    if (cf->cf_http_port > 65535 || cf->cf_https_port > 65535 || cf->cf_bus_port > 65535)
        abort();
    /* the data directory may be unknown (no HOME): only the api and sync need it */
    if (cf->cf_data_dir && strlen(cf->cf_data_dir) >= CONFIG_MAX_PATH)
        abort();
    if (cf->cf_bus_peer_count > CONFIG_MAX_BUS_PEERS)
        abort();
    for (i = 0; i < cf->cf_bus_peer_count; i++) {
        if (!cf->cf_bus_peers[i].ca_host[0] || cf->cf_bus_peers[i].ca_port < 1 ||
            cf->cf_bus_peers[i].ca_port > 65535)
            abort();
    }
    if (cf->cf_sync_timeout_ms < CONFIG_MIN_SYNC_TIMEOUT_MS ||
        cf->cf_sync_timeout_ms > CONNECT_MAX_SYNC_TIMEOUT_MS)
        abort();
    if (cf->cf_max_inline_kb < 1 || cf->cf_max_inline_kb > CONFIG_MAX_INLINE_FILE_KB)
        abort();
    if (cf->cf_max_body_bytes < CONFIG_MIN_BODY_BYTES ||
        cf->cf_max_body_bytes > CONFIG_MAX_BODY_BYTES ||
        cf->cf_max_header_bytes < CONFIG_MIN_HEADER_BYTES ||
        cf->cf_max_header_bytes > CONFIG_MAX_HEADER_BYTES)
        abort();
    if (cf->cf_log_level < LOG_ERROR || cf->cf_log_level > LOG_TRACE)
        abort();
    if ((cf->cf_tls_cert_file == NULL) != (cf->cf_tls_key_file == NULL) ||
        (cf->cf_hub_tls_cert == NULL) != (cf->cf_hub_tls_key == NULL))
        abort();
    if (cf->cf_unknown_count > CONFIG_MAX_UNKNOWN_VARS)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text, *envp[FUZZ_MAX_ENTRIES + 1];
    struct config cf;
    char msg[512];
    size_t i, n = 0;
    enum err rc;

    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    envp[n++] = text;
    for (i = 0; i < size && n < FUZZ_MAX_ENTRIES; i++) {
        if (text[i] == '\n') {
            text[i] = '\0';
            envp[n++] = text + i + 1;
        }
    }
    envp[n] = NULL;

    memset(msg, 'x', sizeof(msg));
    rc = config_load(&cf, envp, msg, sizeof(msg));
    if (rc == ERR_OK) {
        if (msg[0] != '\0')
            abort();
        fuzz_check_loaded(&cf);
    } else {
        if (rc != ERR_CONFIG && rc != ERR_NOMEM)
            abort();
        if (!memchr(msg, '\0', sizeof(msg)) || msg[0] == '\0' || strchr(msg, '\n'))
            abort();
        if (cf.cf_data_dir || cf.cf_home || cf.cf_session)
            abort();
    }
    config_free(&cf);
    free(text);
    return 0;
}
