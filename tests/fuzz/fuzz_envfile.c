/*
 * fuzz_envfile.c - environment files (src/cli/envfile.c).
 * Checks: a parsed file has at most ENVFILE_MAX_VARS distinct keys matching
 * [A-Za-z_][A-Za-z0-9_]* (at most ENVFILE_MAX_KEY_BYTES), values of the length they claim
 * (at most ENVFILE_MAX_VALUE_BYTES) and line numbers inside the file; written back as
 * KEY="escaped value" lines, the result parses to the same keys and values in the same
 * order. A refusal is one of the documented errors with a one-line "env file" message and
 * nothing to free. Any broken invariant abort()s.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/envfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes v as a file of KEY="..." lines into a new buffer; NULL when over the caps. */
static char *fuzz_serialise(const struct envfile_var *v, size_t n, size_t *len)
{
    size_t cap = 0, i, k, o = 0;
    char *t;

    for (i = 0; i < n; i++) {
        size_t line = strlen(v[i].ev_key) + 3 + 2 * v[i].ev_value_len;
        if (line > ENVFILE_MAX_LINE_BYTES)
            return NULL;
        cap += line + 1;
    }
    if (cap > ENVFILE_MAX_BYTES)
        return NULL;
    t = malloc(cap + 1);
    if (!t)
        abort();
    for (i = 0; i < n; i++) {
        size_t kl = strlen(v[i].ev_key);
        memcpy(t + o, v[i].ev_key, kl);
        o += kl;
        t[o++] = '=';
        t[o++] = '"';
        for (k = 0; k < v[i].ev_value_len; k++) {
            char c = v[i].ev_value[k];
            if (c == '\n' || c == '\r' || c == '"' || c == '\\') {
                t[o++] = '\\';
                c = c == '\n' ? 'n' : c == '\r' ? 'r' : c;
            }
            t[o++] = c;
        }
        t[o++] = '"';
        t[o++] = '\n';
    }
    *len = o;
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct envfile_var *v = NULL, *w = NULL;
    char msg[512], *text;
    size_t n = 0, m = 0, i, j, len = 0, lines = 1;
    enum err rc;

    msg[0] = 'x';
    rc = envfile_parse((const char *)data, size, &v, &n, msg, sizeof(msg));
    if (rc != ERR_OK) {
        if (rc != ERR_BAD_INPUT && rc != ERR_TOO_LARGE && rc != ERR_NOMEM)
            abort();
        if (v || n || strncmp(msg, "env file", 8) != 0 || strchr(msg, '\n'))
            abort();
        return 0;
    }
    if (msg[0] != '\0' || n > ENVFILE_MAX_VARS || (n == 0) != (v == NULL))
        abort();
    for (i = 0; i < size; i++)
        lines += data[i] == '\n';
    for (i = 0; i < n; i++) {
        const char *k = v[i].ev_key;
        size_t kl = strlen(k);

        if (kl == 0 || kl > ENVFILE_MAX_KEY_BYTES || (k[0] >= '0' && k[0] <= '9'))
            abort();
        for (j = 0; j < kl; j++) {
            char c = k[j];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_'))
                abort();
        }
        for (j = 0; j < i; j++) {
            if (strcmp(v[j].ev_key, k) == 0)
                abort();
        }
        if (strlen(v[i].ev_value) != v[i].ev_value_len ||
            v[i].ev_value_len > ENVFILE_MAX_VALUE_BYTES || v[i].ev_line < 1 || v[i].ev_line > lines)
            abort();
    }
    text = fuzz_serialise(v, n, &len);
    if (text) {
        if (envfile_parse(text, len, &w, &m, NULL, 0) != ERR_OK || m != n)
            abort();
        for (i = 0; i < n; i++) {
            if (strcmp(v[i].ev_key, w[i].ev_key) != 0 || w[i].ev_value_len != v[i].ev_value_len ||
                memcmp(v[i].ev_value, w[i].ev_value, v[i].ev_value_len) != 0 ||
                w[i].ev_line != i + 1)
                abort();
        }
        envfile_free(w, m);
        free(text);
    }
    envfile_free(v, n);
    return 0;
}
