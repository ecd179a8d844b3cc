/*
 * bus.h - the channel between `sesame api` and `sesame sync` (docs/bus.md).
 *
 * Connect's two containers talk over a "bus"; ours is a request/response channel over a
 * stream socket: a unix socket on the shared volume by default, TCP when OP_BUS_PORT /
 * OP_BUS_PEERS are set. sync serves (bus_server_*), the api calls (bus_client_*).
 *
 * Every connection is authenticated and encrypted in both directions with keys derived
 * from the bus key (bus_key_derive over the credentials file's uniqueKey, which both
 * processes hold) and fresh random nonces of both sides: a peer without the credentials
 * file can neither talk nor listen, and a recorded frame cannot be replayed, reordered or
 * reflected. A message is a JSON object plus an optional binary secret (the unlock secret
 * travels there, never inside JSON text); both are capped and wiped after use.
 */
#ifndef SESAME_BUS_BUS_H
#define SESAME_BUS_BUS_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"

#define BUS_KEY_BYTES        32          /* the bus key */
#define BUS_MAX_JSON_BYTES   (20u << 20) /* the JSON text of one message */
#define BUS_MAX_SECRET_BYTES 64          /* the binary secret of one message */
#define BUS_MAX_CONNECTIONS  16          /* connections a server serves at once */
#define BUS_IO_TIMEOUT_MS    10000       /* a started handshake or frame must finish in this */
#define BUS_KEY_INFO         "sesame bus v1"
#define BUS_SOCKET_PATH_MAX  107 /* bytes of a unix socket path (sun_path less its NUL) */
/* A frame's plaintext: u32 JSON length, JSON text, secret (docs/bus.md "Frames"). */
#define BUS_MAX_PLAIN_BYTES (4u + BUS_MAX_JSON_BYTES + BUS_MAX_SECRET_BYTES)
/* A frame's length field: its plaintext plus the 16-byte AES-GCM tag. */
#define BUS_MAX_FRAME_BYTES (BUS_MAX_PLAIN_BYTES + 16u)

/* One message: a JSON object and an optional secret. */
struct bus_msg {
    json_t *bm_json;          /* a JSON object (owned; NULL = none) */
    unsigned char *bm_secret; /* secure memory (secmem_alloc; owned), or NULL */
    size_t bm_secret_len;     /* 0..BUS_MAX_SECRET_BYTES */
};

/* Where a bus listens or is reached: a unix socket path, or (path NULL) TCP host:port. */
struct bus_endpoint {
    const char *be_path; /* unix socket path, or NULL for TCP */
    const char *be_host; /* TCP: host name or address literal; NULL = 127.0.0.1 (listen: 0.0.0.0) */
    unsigned be_port;    /* TCP: 1..65535 (listening: 0 = any free port) */
};

/* What a server calls for each request, on one of its threads (must be thread-safe). */
struct bus_server_config {
    struct bus_endpoint bs_listen; /* unix: created mode 0600, a stale socket file replaced */
    const unsigned char *bs_key;   /* BUS_KEY_BYTES (borrowed; outlives the server) */
    /* Fills resp (zeroed on entry) for req; a non-OK return closes the connection. */
    enum err (*bs_handler)(void *ctx, const struct bus_msg *req, struct bus_msg *resp);
    void *bs_ctx;
};

/* Which side of the bus a process is (bus_endpoint_from_config). */
enum bus_role {
    BUS_ROLE_SERVER, /* sync: listens */
    BUS_ROLE_CLIENT, /* api: connects */
};

struct bus_server;
struct bus_client;
struct config;

/* Wipes and frees what m owns and zeroes it. NULL is fine. */
void bus_msg_clear(struct bus_msg *m);

/*
 * Fills ep with where role listens (server) or connects (client), by the rule of docs/bus.md:
 * the server listens on TCP 0.0.0.0:OP_BUS_PORT when OP_BUS_PORT is set; the client connects
 * to the first entry of OP_BUS_PEERS, else to 127.0.0.1:OP_BUS_PORT when that is set; else
 * both use the unix socket SESAME_BUS_SOCKET, or "<data dir>/bus.sock", copied into pathbuf
 * (cap bytes). ep borrows from cf and pathbuf. Returns ERR_OK; ERR_CONFIG with a one-line
 * message in errmsg (no data directory: CONFIG_NO_DATA_DIR_MSG; a socket path over
 * BUS_SOCKET_PATH_MAX bytes: set SESAME_BUS_SOCKET to a shorter path); or ERR_BAD_INPUT
 * (NULL arguments, or pathbuf too small for a path that would fit a socket).
 */
enum err bus_endpoint_from_config(struct bus_endpoint *ep, char *pathbuf, size_t cap,
                                  const struct config *cf, enum bus_role role, char *errmsg,
                                  size_t errcap) SESAME_WUR;

/*
 * Decodes n bytes of frame plaintext (u32 big-endian JSON length || JSON object text ||
 * 0..BUS_MAX_SECRET_BYTES secret bytes) into out (zeroed on entry; on success it owns a JSON
 * object and, if any, a secure-memory secret; bus_msg_clear it). Every cap is checked before
 * anything is allocated. Returns ERR_OK; ERR_TOO_LARGE (n, the JSON length or the secret
 * over its cap); ERR_BAD_INPUT (shorter than 4 bytes, a JSON length past the end, or JSON
 * that is not an object); ERR_BAD_JSON (not valid JSON, or duplicate keys); or ERR_NOMEM.
 * On error out is left empty.
 */
enum err bus_plain_decode(const unsigned char *p, size_t n, struct bus_msg *out) SESAME_WUR;

/*
 * Encodes m as frame plaintext (compact JSON; a NULL bm_json is sent as {}) into a new
 * buffer *out of *len bytes, which the caller releases with bus_plain_free (it holds the
 * secret). Returns ERR_OK; ERR_BAD_INPUT (bm_json not an object or not serialisable, or a
 * secret length without a secret); ERR_TOO_LARGE (JSON text or secret over its cap); or
 * ERR_NOMEM. On error *out is NULL and *len 0.
 */
enum err bus_plain_encode(const struct bus_msg *m, unsigned char **out, size_t *len) SESAME_WUR;

/* Wipes and frees a buffer from bus_plain_encode. NULL is fine. */
void bus_plain_free(unsigned char *p, size_t len);

/*
 * Derives the bus key (BUS_KEY_BYTES of secure memory into *key; bus_key_free) from the
 * uniqueKey bytes (HKDF-SHA256, info BUS_KEY_INFO). Returns ERR_OK, ERR_BAD_INPUT (fewer
 * than 16 bytes), ERR_NOMEM or ERR_CRYPTO.
 */
enum err bus_key_derive(unsigned char **key, const unsigned char *unique, size_t len) SESAME_WUR;

/* Wipes and frees a bus key. NULL is fine. */
void bus_key_free(unsigned char *key);

/*
 * Starts a server listening on cfg->bs_listen (its own threads). Returns ERR_OK,
 * ERR_CONFIG (cannot listen: errmsg says why, naming the path or port), ERR_BAD_INPUT or
 * ERR_NOMEM.
 */
enum err bus_server_start(struct bus_server **out, const struct bus_server_config *cfg,
                          char *errmsg, size_t errcap) SESAME_WUR;

/* Returns the TCP port a server listens on (the real one when 0 was asked), 0 for unix. */
int bus_server_port(const struct bus_server *s);

/* Stops a server: closes its socket (removing a unix socket file), ends its threads. */
void bus_server_stop(struct bus_server *s);

/*
 * Makes a client for peer (copied) with key (borrowed; outlives the client). It connects
 * lazily, on the first call. Returns ERR_OK, ERR_BAD_INPUT or ERR_NOMEM.
 */
enum err bus_client_new(struct bus_client **out, const struct bus_endpoint *peer,
                        const unsigned char *key) SESAME_WUR;

/*
 * Sends req and waits up to timeout_ms for the answer into resp (zeroed first; the caller
 * clears it). Calls on one client are serialised. A broken connection is reopened once.
 * Returns ERR_OK, ERR_IO (no peer listening, or the connection failed),
 * ERR_TIMEOUT, ERR_UNAUTHORIZED (the peer does not hold the same key) or ERR_NOMEM; and,
 * before anything is sent, ERR_TOO_LARGE (req over a cap) or ERR_BAD_INPUT (req->bm_json
 * not an object, NULL arguments). timeout_ms <= 0 means BUS_IO_TIMEOUT_MS.
 */
enum err bus_client_call(struct bus_client *c, const struct bus_msg *req, struct bus_msg *resp,
                         int timeout_ms) SESAME_WUR;

/* Closes and frees a client. NULL is fine. */
void bus_client_free(struct bus_client *c);

#endif
