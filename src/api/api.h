/*
 * api.h - `sesame api`, the Connect API process (docs/connect-api.md): serves the Connect
 * REST API v1 from the volume that `sesame sync` mirrors, decrypting in memory. It starts
 * locked; the first request carrying a valid token for this server unlocks it (and, over
 * the bus, sync).
 */
#ifndef SESAME_API_API_H
#define SESAME_API_API_H

#include <stddef.h>

#include "common/config.h"
#include "common/err.h"

struct api;

/* What api_start needs (borrowed for the life of the api). */
struct api_options {
    const struct config *ao_config;  /* Connect's environment (config_load) */
    const char *ao_credentials_json; /* the credentials file's text (config_session_read) */
    size_t ao_credentials_len;
    const char *ao_http_addr; /* listen address; NULL = 0.0.0.0 */
};

/*
 * Opens the credentials and the volume (cf_data_dir), starts the HTTP server on
 * OP_HTTP_PORT (with OP_TLS_CERT_FILE and OP_TLS_KEY_FILE: the API over HTTPS on
 * OP_HTTPS_PORT, and only the probes and metrics on OP_HTTP_PORT), the watcher thread and
 * the bus client. Returns ERR_OK (*out owned; api_stop
 * it), ERR_CONFIG with errmsg (one line for the user), ERR_IO, ERR_STORAGE or ERR_NOMEM.
 */
enum err api_start(struct api **out, const struct api_options *opt, char *errmsg,
                   size_t errcap) SESAME_WUR;

/* Returns the port the API is served on (the HTTPS one when TLS is on). */
int api_port(const struct api *a);

/* Returns the plain HTTP port (probes only) of an api serving TLS, else 0. */
int api_plain_port(const struct api *a);

/*
 * Reads the TLS certificate and key files again (SIGHUP); later handshakes use them.
 * Returns ERR_OK, or ERR_CONFIG / ERR_NOMEM with errmsg, the old files still in use.
 */
enum err api_tls_reload(struct api *a, char *errmsg, size_t errcap) SESAME_WUR;

/* Stops the server and the watcher, flushes activity, closes everything. NULL is fine. */
void api_stop(struct api *a);

#endif
