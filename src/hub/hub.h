/*
 * hub.h - the hub (`sesame hub`): an HTTP server over the store (store/store.h) answering
 * the admin and sync endpoints of docs/hub-api.md ("Wire format"). It holds no secret in
 * clear except its own sync challenge key (secure memory, new at every start).
 *
 * hub_start opens the store, generates the challenge key, starts the HTTP server and wires
 * the store's commit hook to wake long-polls; hub_stop stops the server, then closes the
 * store. Used by hub_main.c and, in-process, by the unit tests.
 */
#ifndef SESAME_HUB_HUB_H
#define SESAME_HUB_HUB_H

#include <stddef.h>

#include "common/err.h"

/* What hub_start needs. */
struct hub_options {
    const char *ho_host;      /* IP literal to listen on ("127.0.0.1", "::1"); NULL: 127.0.0.1 */
    int ho_port;              /* 0..65535; 0 = ephemeral (see hub_port) */
    const char *ho_store_url; /* store_open URL or path (e.g. DIR/hub.db) */
    int ho_open_registration; /* accept account registrations after the first */
    unsigned ho_threads;      /* handler threads; 0: HTTP_THREADS */
    const char *ho_tls_cert;  /* SESAME_HUB_TLS_CERT: PEM chain; with ho_tls_key, HTTPS */
    const char *ho_tls_key;   /* SESAME_HUB_TLS_KEY: PEM private key */
    unsigned long ho_rate_limit_rps; /* SESAME_HUB_RATE_LIMIT_RPS per client address; 0: none */
};

struct hub;

/*
 * Starts a hub. *out receives it (hub_stop it) or NULL. Every failure writes one line to
 * errmsg. Returns ERR_OK, ERR_CONFIG, ERR_IO, ERR_NOMEM, ERR_STORAGE or ERR_CRYPTO.
 */
enum err hub_start(struct hub **out, const struct hub_options *opt, char *errmsg,
                   size_t errcap) SESAME_WUR;

/* Returns the TCP port the hub listens on. */
int hub_port(const struct hub *h);

/*
 * Reads the TLS certificate and key files again (SIGHUP). Returns ERR_OK, or ERR_CONFIG /
 * ERR_NOMEM with errmsg (not serving TLS, unusable files: the old ones stay).
 */
enum err hub_tls_reload(struct hub *h, char *errmsg, size_t errcap) SESAME_WUR;

/* Stops the HTTP server (requests in flight finish), closes the store, frees h. NULL is fine. */
void hub_stop(struct hub *h);

#endif
