/* ids.c - random identifiers in Connect's shapes. */
#include "common/ids.h"

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

/* Writes a new version 4 UUID. */
enum err id_new_uuid(char out[UUID_LEN + 1])
{
    unsigned char r[16];
    char hex[33];
    enum err rc;

    out[0] = '\0';
    rc = crypto_random(r, sizeof(r));
    if (rc != ERR_OK)
        return rc;
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    rc = codec_hex_encode(hex, sizeof(hex), r, sizeof(r));
    if (rc != ERR_OK)
        return rc;
    snprintf(out, UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
    return ERR_OK;
}
