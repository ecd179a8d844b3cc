/*
 * bus.c - the bus's messages and keys: clearing messages, deriving the bus key, encoding and
 * decoding frame plaintext (docs/bus.md "Frames"), and where a bus listens or is reached
 * (bus_endpoint_from_config). The sockets are in bus_chan.c, bus_server.c and bus_client.c.
 */
#include "bus/bus.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bus/bus_int.h"
#include "common/alloc.h"
#include "common/config.h"
#include "crypto/crypto.h"
#include "crypto/kdf.h"

#define BUS_UNIQUE_MIN_BYTES 16 /* the least uniqueKey material accepted */
#define BUS_JSON_LEN_BYTES   4  /* the JSON length prefix of a plaintext */
#define BUS_SOCKET_NAME      "bus.sock"

/* Wipes and frees what m owns (see bus.h). */
void bus_msg_clear(struct bus_msg *m)
{
    if (!m)
        return;
    json_decref(m->bm_json);
    secmem_free(m->bm_secret);
    memset(m, 0, sizeof(*m));
}

/* Derives the bus key into secure memory (see bus.h). */
enum err bus_key_derive(unsigned char **key, const unsigned char *unique, size_t len)
{
    unsigned char *k = NULL;
    enum err rc;

    if (!key)
        return ERR_BAD_INPUT;
    *key = NULL;
    if (!unique || len < BUS_UNIQUE_MIN_BYTES)
        return ERR_BAD_INPUT;
    k = secmem_alloc(BUS_KEY_BYTES);
    if (!k)
        return ERR_NOMEM;
    rc = kdf_hkdf_sha256(k, BUS_KEY_BYTES, unique, len, NULL, 0,
                         (const unsigned char *)BUS_KEY_INFO, strlen(BUS_KEY_INFO));
    if (rc != ERR_OK) {
        secmem_free(k);
        return rc == ERR_BAD_INPUT ? ERR_CRYPTO : rc;
    }
    *key = k;
    return ERR_OK;
}

/* Wipes and frees a bus key (see bus.h). */
void bus_key_free(unsigned char *key)
{
    secmem_free(key);
}

/* Writes v as 4 big-endian bytes. */
static void bus_put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Reads 4 big-endian bytes. */
static uint32_t bus_get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/*
 * Encodes m with head and tail room (see bus_int.h). The JSON is measured first (json_dumpb
 * with no buffer) so that nothing is allocated for a message over its cap, then dumped
 * straight into the plaintext.
 */
enum err bus_plain_encode_room(const struct bus_msg *m, size_t head, size_t tail,
                               unsigned char **out, size_t *ptlen)
{
    unsigned char *b = NULL;
    size_t jl, n, total;
    enum err rc = ERR_BAD_INPUT;

    if (out)
        *out = NULL;
    if (ptlen)
        *ptlen = 0;
    if (!m || !out || !ptlen || head > 64 || tail > 64)
        goto out;
    if (m->bm_json && !json_is_object(m->bm_json))
        goto out;
    if (m->bm_secret_len > BUS_MAX_SECRET_BYTES) {
        rc = ERR_TOO_LARGE;
        goto out;
    }
    if (m->bm_secret_len > 0 && !m->bm_secret)
        goto out;
    jl = m->bm_json ? json_dumpb(m->bm_json, NULL, 0, JSON_COMPACT) : 2;
    if (jl == 0)
        goto out;
    if (jl > BUS_MAX_JSON_BYTES) {
        rc = ERR_TOO_LARGE;
        goto out;
    }
    n = BUS_JSON_LEN_BYTES + jl + m->bm_secret_len;
    total = head + n + tail;
    b = mem_alloc(total);
    if (!b) {
        rc = ERR_NOMEM;
        goto out;
    }
    memset(b, 0, head);
    bus_put_be32(b + head, (uint32_t)jl);
    if (m->bm_json) {
        /* The object may not change meanwhile; a different length means it did. */
        if (json_dumpb(m->bm_json, (char *)b + head + BUS_JSON_LEN_BYTES, jl, JSON_COMPACT) != jl) {
            bus_plain_free(b, total);
            b = NULL;
            goto out;
        }
    } else {
        memcpy(b + head + BUS_JSON_LEN_BYTES, "{}", 2);
    }
    if (m->bm_secret_len > 0)
        memcpy(b + head + BUS_JSON_LEN_BYTES + jl, m->bm_secret, m->bm_secret_len);
    memset(b + head + n, 0, tail);
    *out = b;
    *ptlen = n;
    rc = ERR_OK;
out:
    return rc;
}

/* Encodes m as frame plaintext (see bus.h). */
enum err bus_plain_encode(const struct bus_msg *m, unsigned char **out, size_t *len)
{
    return bus_plain_encode_room(m, 0, 0, out, len);
}

/* Wipes and frees an encoded plaintext (see bus.h). */
void bus_plain_free(unsigned char *p, size_t len)
{
    if (!p)
        return;
    secmem_wipe(p, len);
    mem_free(p);
}

/* Decodes frame plaintext (see bus.h); every length is checked before any allocation. */
enum err bus_plain_decode(const unsigned char *p, size_t n, struct bus_msg *out)
{
    json_t *j = NULL;
    json_error_t jerr;
    unsigned char *sec = NULL;
    size_t jl, sl;
    enum err rc = ERR_BAD_INPUT;

    if (!out)
        return ERR_BAD_INPUT;
    memset(out, 0, sizeof(*out));
    if ((!p && n) || n < BUS_JSON_LEN_BYTES)
        goto out;
    if (n > BUS_MAX_PLAIN_BYTES) {
        rc = ERR_TOO_LARGE;
        goto out;
    }
    jl = bus_get_be32(p);
    if (jl > BUS_MAX_JSON_BYTES) {
        rc = ERR_TOO_LARGE;
        goto out;
    }
    if (jl > n - BUS_JSON_LEN_BYTES || jl == 0)
        goto out;
    sl = n - BUS_JSON_LEN_BYTES - jl;
    if (sl > BUS_MAX_SECRET_BYTES) {
        rc = ERR_TOO_LARGE;
        goto out;
    }
    j = json_loadb((const char *)p + BUS_JSON_LEN_BYTES, jl, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        rc = ERR_BAD_JSON;
        goto out;
    }
    if (!json_is_object(j))
        goto out;
    if (sl > 0) {
        sec = secmem_alloc(sl);
        if (!sec) {
            rc = ERR_NOMEM;
            goto out;
        }
        memcpy(sec, p + BUS_JSON_LEN_BYTES + jl, sl);
    }
    out->bm_json = j;
    out->bm_secret = sec;
    out->bm_secret_len = sl;
    j = NULL;
    sec = NULL;
    rc = ERR_OK;
out:
    json_decref(j);
    secmem_free(sec);
    return rc;
}

/*
 * Chooses the endpoint for role (see bus.h). A client without OP_BUS_PEERS but with
 * OP_BUS_PORT reaches 127.0.0.1:OP_BUS_PORT, so that one environment shared by both
 * processes (one host, `sesame up`) gives them the same endpoint.
 */
enum err bus_endpoint_from_config(struct bus_endpoint *ep, char *pathbuf, size_t cap,
                                  const struct config *cf, enum bus_role role, char *errmsg,
                                  size_t errcap)
{
    const char *path;
    size_t len;

    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (!ep)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "bus: no endpoint to fill");
    memset(ep, 0, sizeof(*ep));
    if (!cf || (role != BUS_ROLE_SERVER && role != BUS_ROLE_CLIENT))
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "bus: no configuration or role");
    if (role == BUS_ROLE_CLIENT && cf->cf_bus_peer_count > 0) {
        ep->be_host = cf->cf_bus_peers[0].ca_host;
        ep->be_port = cf->cf_bus_peers[0].ca_port;
        return ERR_OK;
    }
    if (config_is_set(cf, CONFIG_OP_BUS_PORT) && cf->cf_bus_port > 0) {
        ep->be_host = NULL; /* listen: 0.0.0.0; connect: 127.0.0.1 */
        ep->be_port = cf->cf_bus_port;
        return ERR_OK;
    }
    if (cf->cf_bus_socket) {
        path = cf->cf_bus_socket;
        len = strlen(path);
        if (len > BUS_SOCKET_PATH_MAX)
            return err_msgf(ERR_CONFIG, errmsg, errcap,
                            "SESAME_BUS_SOCKET: too long for a unix socket (%zu bytes, at most "
                            "%d): set SESAME_BUS_SOCKET to a shorter path",
                            len, BUS_SOCKET_PATH_MAX);
        if (!pathbuf || len + 1 > cap)
            return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "bus: path buffer too small");
        memcpy(pathbuf, path, len + 1);
    } else {
        if (!cf->cf_data_dir)
            return err_msgf(ERR_CONFIG, errmsg, errcap, "%s", CONFIG_NO_DATA_DIR_MSG);
        len = strlen(cf->cf_data_dir) + 1 + strlen(BUS_SOCKET_NAME);
        if (len > BUS_SOCKET_PATH_MAX)
            return err_msgf(ERR_CONFIG, errmsg, errcap,
                            "bus socket path too long for a unix socket (%zu bytes, at most %d): "
                            "set SESAME_BUS_SOCKET to a shorter path (the default is %s/%s)",
                            len, BUS_SOCKET_PATH_MAX, cf->cf_data_dir, BUS_SOCKET_NAME);
        if (!pathbuf || len + 1 > cap)
            return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "bus: path buffer too small");
        (void)snprintf(pathbuf, cap, "%s/%s", cf->cf_data_dir, BUS_SOCKET_NAME);
    }
    ep->be_path = pathbuf;
    return ERR_OK;
}
