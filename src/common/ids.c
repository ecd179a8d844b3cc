/* ids.c - random identifiers in Connect's shapes. */
#include "common/ids.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/codec.h"
#include "crypto/crypto.h"

/* Encodes 16 bytes as a 26-character base32 id. */
void id_from_bytes(char out[ID_LEN + 1], const unsigned char bytes[ID_BYTES], int upper)
{
    size_t len;

    /* 16 bytes always encode to 26 characters: cannot fail with this capacity. */
    if (codec_b32_encode(out, ID_LEN + 1, &len, bytes, ID_BYTES, upper ? CODEC_B32_UPPER : 0) !=
            ERR_OK ||
        len != ID_LEN)
        out[0] = '\0';
}

static enum err id_new_cased(char out[ID_LEN + 1], int upper)
{
    unsigned char raw[ID_BYTES];
    enum err rc;

    out[0] = '\0';
    rc = crypto_random(raw, sizeof(raw));
    if (rc != ERR_OK)
        return rc;
    id_from_bytes(out, raw, upper);
    return ERR_OK;
}

/* Writes a new lowercase id. */
enum err id_new(char out[ID_LEN + 1])
{
    return id_new_cased(out, 0);
}

/* Writes a new uppercase id. */
enum err id_new_upper(char out[ID_LEN + 1])
{
    return id_new_cased(out, 1);
}

static int id_check(const char *s, char lo, char hi)
{
    size_t i;

    for (i = 0; i < ID_LEN; i++) {
        char c = s[i];
        if (!((c >= lo && c <= hi) || (c >= '0' && c <= '9')))
            return 0;
    }
    return s[ID_LEN] == '\0';
}

/* Returns 1 for 26 chars of [a-z0-9]. */
int id_is_valid(const char *s)
{
    return s && id_check(s, 'a', 'z');
}

/* Returns 1 for 26 chars of [A-Z0-9]. */
int id_is_valid_upper(const char *s)
{
    return s && id_check(s, 'A', 'Z');
}

/*
 * Random bytes for request ids, drawn from the system a pool at a time (one getrandom per
 * request was a visible part of a cached read); per thread, used bytes wiped.
 */
#define ID_UUID_POOL_BYTES 1024
static _Thread_local unsigned char id_uuid_pool[ID_UUID_POOL_BYTES];
static _Thread_local size_t id_uuid_left;
static pthread_once_t id_uuid_once = PTHREAD_ONCE_INIT;

/* A forked child draws its own bytes: the pool it inherited is its parent's. */
static void id_uuid_forked(void)
{
    explicit_bzero(id_uuid_pool, sizeof(id_uuid_pool));
    id_uuid_left = 0;
}

static void id_uuid_init(void)
{
    (void)pthread_atfork(NULL, NULL, id_uuid_forked);
}

/* Writes a new version 4 UUID. */
enum err id_new_uuid(char out[UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char *r;
    enum err rc;
    size_t i, o = 0;

    out[0] = '\0';
    (void)pthread_once(&id_uuid_once, id_uuid_init);
    if (id_uuid_left < 16) {
        rc = crypto_random(id_uuid_pool, sizeof(id_uuid_pool));
        if (rc != ERR_OK)
            return rc;
        id_uuid_left = sizeof(id_uuid_pool);
    }
    r = id_uuid_pool + sizeof(id_uuid_pool) - id_uuid_left;
    id_uuid_left -= 16;
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[r[i] >> 4];
        out[o++] = hex[r[i] & 0xf];
    }
    out[o] = '\0';
    explicit_bzero(r, 16);
    return ERR_OK;
}
