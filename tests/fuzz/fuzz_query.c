/*
 * fuzz_query.c - libFuzzer driver for the query-string decoder (http/query.c): query_get,
 * query_decode_utf8 and query_is_text, checked against a small independent model of Go's
 * url.ParseQuery + Values.Get and of RFC 3629.
 *
 * Input: <name> '\n' <raw query>; without a '\n' the name is "filter" and the whole input
 * is the query. Checks, aborting on a violation:
 *  - query_get agrees with the model: the result code, found, the decoded value byte for
 *    byte; the message is "" on success and one of the documented texts otherwise; out is
 *    empty and found 0 on error;
 *  - the found value is text (query_is_text), and a value the model builds back into a
 *    query ("name=" + %XX of every byte) decodes to the same value;
 *  - query_is_text agrees with a table-free UTF-8 model, and query_decode_utf8 returns
 *    0 with *cp = 0, or 1..4 with the code point the model decodes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/limits.h"
#include "http/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_NAME 64

static void fuzz_check(int ok)
{
    if (!ok)
        abort();
}

static int fuzz_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * The model of one UTF-8 sequence: the code point and length, or 0. Built from the
 * definition (RFC 3629 section 3): shortest form, no surrogates, at most U+10FFFF.
 */
static size_t fuzz_utf8(const unsigned char *p, size_t len, uint32_t *cp)
{
    size_t n, k;
    uint32_t c;

    *cp = 0;
    if (len == 0)
        return 0;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xE0) == 0xC0)
        n = 2;
    else if ((p[0] & 0xF0) == 0xE0)
        n = 3;
    else if ((p[0] & 0xF8) == 0xF0)
        n = 4;
    else
        return 0;
    if (len < n)
        return 0;
    c = p[0] & (0x7Fu >> n);
    for (k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (p[k] & 0x3Fu);
    }
    if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10FFFF ||
        (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

static int fuzz_is_text(const unsigned char *p, size_t len)
{
    size_t i = 0, n;
    uint32_t cp;

    while (i < len) {
        n = fuzz_utf8(p + i, len - i, &cp);
        if (n == 0 || cp == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* Decodes component s (n bytes) into out (room for n bytes); returns -1 on a bad escape. */
static long fuzz_unescape(const char *s, size_t n, unsigned char *out)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            if (n - i < 3 || fuzz_hex((unsigned char)s[i + 1]) < 0 ||
                fuzz_hex((unsigned char)s[i + 2]) < 0)
                return -1;
            out[o++] = (unsigned char)(fuzz_hex((unsigned char)s[i + 1]) * 16 +
                                       fuzz_hex((unsigned char)s[i + 2]));
            i += 2;
        } else {
            out[o++] = (unsigned char)s[i];
        }
    }
    return (long)o;
}

/* The model's answer: ERR_OK / ERR_BAD_INPUT / ERR_TOO_LARGE, *found, the value. */
static enum err fuzz_model(const char *q, size_t len, const char *name, int *found,
                           unsigned char *val, size_t *vlen)
{
    unsigned char *key = malloc(len + 1);
    size_t pos = 0;
    enum err rc = ERR_OK;

    *found = 0;
    *vlen = 0;
    if (len > HTTP_MAX_URL_BYTES) {
        free(key);
        return ERR_TOO_LARGE;
    }
    fuzz_check(key != NULL);
    while (pos <= len) {
        const char *amp = memchr(q + pos, '&', len - pos);
        size_t end = amp ? (size_t)(amp - q) : len;
        const char *pair = q + pos, *eq;
        size_t plen = end - pos, klen;
        long kn, vn;

        pos = end + 1;
        if (plen == 0)
            continue;
        if (memchr(pair, ';', plen)) {
            rc = ERR_BAD_INPUT;
            break;
        }
        eq = memchr(pair, '=', plen);
        klen = eq ? (size_t)(eq - pair) : plen;
        kn = fuzz_unescape(pair, klen, key);
        vn = eq ? fuzz_unescape(eq + 1, plen - klen - 1, *found ? key : val) : 0;
        if (kn < 0 || vn < 0) {
            rc = ERR_BAD_INPUT;
            break;
        }
        if (!*found && (size_t)kn == strlen(name) && memcmp(key, name, (size_t)kn) == 0) {
            *found = 1;
            *vlen = (size_t)vn;
        }
    }
    free(key);
    if (rc == ERR_OK && *found && !fuzz_is_text(val, *vlen))
        rc = ERR_BAD_INPUT;
    if (rc != ERR_OK) {
        *found = 0;
        *vlen = 0;
    }
    return rc;
}

static int fuzz_known_message(const char *msg, const char *name)
{
    char nul[FUZZ_MAX_NAME + 64], utf[FUZZ_MAX_NAME + 64];

    snprintf(nul, sizeof(nul), "query parameter %s contains a NUL byte", name);
    snprintf(utf, sizeof(utf), "query parameter %s is not valid UTF-8", name);
    return strcmp(msg, "invalid semicolon separator in query") == 0 ||
           strcmp(msg, "invalid URL escape in query") == 0 || strcmp(msg, nul) == 0 ||
           strcmp(msg, utf) == 0;
}

/* query_get on q for name, compared with the model. */
static void fuzz_get(const char *q, size_t len, const char *name)
{
    unsigned char *val = malloc(len + 1);
    size_t vlen = 0;
    int found = 7, mfound = 0;
    char msg[FUZZ_MAX_NAME + 64];
    struct buf out;
    enum err rc, mrc;

    fuzz_check(val != NULL);
    memset(msg, 'x', sizeof(msg));
    rc = query_get(&out, q, len, name, &found, msg, sizeof(msg));
    mrc = fuzz_model(q, len, name, &mfound, val, &vlen);
    fuzz_check(memchr(msg, '\0', sizeof(msg)) != NULL);
    fuzz_check(rc == mrc);
    fuzz_check(found == mfound);
    if (rc == ERR_OK) {
        fuzz_check(msg[0] == '\0');
        fuzz_check(out.b_len == vlen && (vlen == 0 || memcmp(out.b_data, val, vlen) == 0));
        if (found)
            fuzz_check(query_is_text(out.b_data, out.b_len));
    } else {
        fuzz_check(out.b_len == 0 && out.b_data == NULL);
        if (rc == ERR_TOO_LARGE)
            fuzz_check(strcmp(msg, "query string is too long") == 0);
        else
            fuzz_check(fuzz_known_message(msg, name));
    }
    /* The value escaped back: "name=%XX%XX..." decodes to the same bytes. */
    if (rc == ERR_OK && found && 3 * vlen + strlen(name) + 1 <= HTTP_MAX_URL_BYTES &&
        strchr(name, '&') == NULL && strchr(name, '=') == NULL && strchr(name, ';') == NULL &&
        strchr(name, '%') == NULL && strchr(name, '+') == NULL) {
        struct buf q2, again;
        size_t i;
        int f2 = 0;

        buf_init(&q2, HTTP_MAX_URL_BYTES);
        fuzz_check(buf_add_str(&q2, name) == ERR_OK && buf_add(&q2, "=", 1) == ERR_OK);
        for (i = 0; i < vlen; i++)
            fuzz_check(buf_addf(&q2, "%%%02X", val[i]) == ERR_OK);
        fuzz_check(query_get(&again, q2.b_data, q2.b_len, name, &f2, NULL, 0) == ERR_OK);
        fuzz_check(f2 == 1 && again.b_len == vlen &&
                   (vlen == 0 || memcmp(again.b_data, val, vlen) == 0));
        buf_free(&again);
        buf_free(&q2);
    }
    buf_free(&out);
    free(val);
}

/* query_is_text and query_decode_utf8 against the model. */
static void fuzz_utf8_check(const char *s, size_t len)
{
    size_t i, n, m;
    uint32_t cp, mcp;

    fuzz_check(query_is_text(s, len) == fuzz_is_text((const unsigned char *)s, len));
    for (i = 0; i < len && i < 64; i++) {
        cp = 0xFFFFFFFFu;
        n = query_decode_utf8(s + i, len - i, &cp);
        m = fuzz_utf8((const unsigned char *)s + i, len - i, &mcp);
        fuzz_check(n == m && cp == mcp);
    }
    cp = 1;
    fuzz_check(query_decode_utf8(s, 0, &cp) == 0 && cp == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    char name[FUZZ_MAX_NAME + 1] = "filter";
    const char *q = in;
    size_t qlen = size;

    if (nl && (size_t)(nl - in) <= FUZZ_MAX_NAME) {
        size_t nlen = (size_t)(nl - in);

        memcpy(name, in, nlen);
        name[nlen] = '\0'; /* an embedded NUL shortens the name */
        q = nl + 1;
        qlen = size - nlen - 1;
    }
    fuzz_get(q, qlen, name);
    fuzz_get(q, qlen, "");
    fuzz_utf8_check(q, qlen);
    return 0;
}
