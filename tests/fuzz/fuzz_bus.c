/*
 * fuzz_bus.c - the bus's frame plaintext decoder (bus_plain_decode): u32 big-endian JSON
 * length || JSON object text || secret bytes. This is what a server or client decodes after
 * a frame has verified, so it must hold against any bytes an authenticated but buggy peer
 * could send. Checks: success yields a JSON object and a secret of at most
 * BUS_MAX_SECRET_BYTES (non-NULL exactly when its length is not 0), and re-encoding it
 * decodes to an equal message whose encoding is byte for byte the same (the encoder is
 * canonical); failure yields one of the documented errors and an empty message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bus_msg m, back;
    unsigned char *enc = NULL, *enc2 = NULL;
    size_t len = 0, len2 = 0;
    enum err rc;

    rc = bus_plain_decode(data, size, &m);
    if (rc != ERR_OK) {
        if (rc != ERR_BAD_INPUT && rc != ERR_BAD_JSON && rc != ERR_TOO_LARGE && rc != ERR_NOMEM)
            abort();
        if (m.bm_json || m.bm_secret || m.bm_secret_len)
            abort();
        return 0;
    }
    if (!json_is_object(m.bm_json) || m.bm_secret_len > BUS_MAX_SECRET_BYTES ||
        (m.bm_secret_len > 0) != (m.bm_secret != NULL))
        abort();
    if (m.bm_secret_len && memcmp(m.bm_secret, data + size - m.bm_secret_len, m.bm_secret_len))
        abort();
    if (bus_plain_encode(&m, &enc, &len) != ERR_OK || len > BUS_MAX_PLAIN_BYTES)
        abort();
    if (bus_plain_decode(enc, len, &back) != ERR_OK)
        abort();
    if (!json_equal(m.bm_json, back.bm_json) || back.bm_secret_len != m.bm_secret_len ||
        (m.bm_secret_len && !crypto_memeq(back.bm_secret, m.bm_secret, m.bm_secret_len)))
        abort();
    if (bus_plain_encode(&back, &enc2, &len2) != ERR_OK || len2 != len || memcmp(enc, enc2, len))
        abort();
    bus_plain_free(enc, len);
    bus_plain_free(enc2, len2);
    bus_msg_clear(&back);
    bus_msg_clear(&m);
    return 0;
}
