/*
 * fuzz_session.c - OP_SESSION decoding: raw JSON, or base64 / base64url of it (padded or
 * not, with blanks anywhere). Fuzzes config_session_decode, the part of config_session_read
 * that never touches the file system, so no input can make the driver open a file.
 * Checks: success yields a non-empty NUL-terminated text; failure yields an empty buffer
 * and one line starting "OP_SESSION: ".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf out;
    char msg[512];
    enum err rc;

    memset(msg, 'x', sizeof(msg));
    rc = config_session_decode(&out, (const char *)data, size, msg, sizeof(msg));
    if (rc == ERR_OK) {
        if (out.b_len == 0 || out.b_len > CONFIG_MAX_SESSION_BYTES || !out.b_data ||
            out.b_data[out.b_len] != '\0' || msg[0] != '\0')
            abort();
    } else {
        if (rc != ERR_CONFIG && rc != ERR_NOMEM)
            abort();
        if (out.b_data || out.b_len)
            abort();
        if (!memchr(msg, '\0', sizeof(msg)) || strchr(msg, '\n') ||
            strncmp(msg, "OP_SESSION: ", 12) != 0)
            abort();
    }
    buf_free(&out);
    return 0;
}
