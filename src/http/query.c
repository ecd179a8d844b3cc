/* query.c - Go net/url compatible query-string decoding (see query.h). */
#include "http/query.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/codec.h"
#include "common/limits.h"

/* Returns 1 when every '%' in s (len bytes) starts a "%XX" escape (Go's unescape check). */
static int query_escapes_ok(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] != '%')
            continue;
        if (len - i < 3 || codec_hex_digit((unsigned char)s[i + 1]) < 0 ||
            codec_hex_digit((unsigned char)s[i + 2]) < 0)
            return 0;
        i += 2;
    }
    return 1;
}

/*
 * Decodes the byte at s[*i] (an already validated component of len bytes) and advances
 * *i past it: '+' is a space, "%XX" the byte 0xXX.
 */
static unsigned char query_next_byte(const char *s, size_t *i)
{
    unsigned char c = (unsigned char)s[*i];

    if (c == '+') {
        *i += 1;
        return ' ';
    }
    if (c == '%') {
        c = (unsigned char)(codec_hex_digit((unsigned char)s[*i + 1]) * 16 +
                            codec_hex_digit((unsigned char)s[*i + 2]));
        *i += 3;
        return c;
    }
    *i += 1;
    return c;
}

/* Returns 1 when the validated component s (len bytes) decodes to exactly name. */
static int query_key_equals(const char *s, size_t len, const char *name)
{
    size_t i = 0, j = 0, nlen = strlen(name);

    while (i < len) {
        if (j == nlen || query_next_byte(s, &i) != (unsigned char)name[j])
            return 0;
        j++;
    }
    return j == nlen;
}

/* Appends the decoded form of the validated component s (len bytes) to out. */
static enum err query_add_decoded(struct buf *out, const char *s, size_t len)
{
    size_t i = 0, run;
    unsigned char c;
    enum err rc;

    while (i < len) {
        /* Copy a run of literal bytes in one go. */
        for (run = i; run < len && s[run] != '%' && s[run] != '+'; run++)
            ;
        if (run > i) {
            rc = buf_add(out, s + i, run - i);
            if (rc != ERR_OK)
                return rc;
            i = run;
            continue;
        }
        c = query_next_byte(s, &i);
        rc = buf_add(out, &c, 1);
        if (rc != ERR_OK)
            return rc;
    }
    return ERR_OK;
}

/* Decodes one UTF-8 sequence; see query.h. */
size_t query_decode_utf8(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t c, min;
    size_t n, k;

    *cp = 0;
    if (len == 0)
        return 0;
    c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        c &= 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        c &= 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        return 0; /* continuation byte, C0/C1 (overlong) or F5..FF */
    }
    if (len < n)
        return 0;
    for (k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (p[k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

/* Returns 1 when s is valid UTF-8 without NUL; see query.h. */
int query_is_text(const char *s, size_t len)
{
    size_t i = 0, n;
    uint32_t cp;

    while (i < len) {
        n = query_decode_utf8(s + i, len - i, &cp);
        if (n == 0 || cp == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* Looks up name in the raw query; see query.h. */
enum err query_get(struct buf *out, const char *query, size_t len, const char *name, int *found,
                   char *errmsg, size_t errcap)
{
    enum err rc = ERR_OK;
    size_t pos = 0, end, eq;
    const char *pair;
    size_t plen, klen;
    int have = 0;

    buf_init(out, HTTP_MAX_URL_BYTES);
    *found = 0;
    err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s", "");
    if (len > HTTP_MAX_URL_BYTES) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "query string is too long");
        rc = ERR_TOO_LARGE;
        goto out;
    }
    while (pos < len) {
        for (end = pos; end < len && query[end] != '&'; end++)
            ;
        pair = query + pos;
        plen = end - pos;
        pos = end < len ? end + 1 : end;
        if (plen == 0)
            continue;
        if (memchr(pair, ';', plen)) {
            err_msgf(ERR_BAD_INPUT, errmsg, errcap, "invalid semicolon separator in query");
            rc = ERR_BAD_INPUT;
            goto out;
        }
        for (eq = 0; eq < plen && pair[eq] != '='; eq++)
            ;
        klen = eq;
        if (!query_escapes_ok(pair, plen)) {
            err_msgf(ERR_BAD_INPUT, errmsg, errcap, "invalid URL escape in query");
            rc = ERR_BAD_INPUT;
            goto out;
        }
        if (have || !query_key_equals(pair, klen, name))
            continue;
        have = 1;
        if (klen < plen) {
            rc = query_add_decoded(out, pair + klen + 1, plen - klen - 1);
            if (rc != ERR_OK) {
                err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s", err_message(rc));
                goto out;
            }
        }
    }
    if (have && !query_is_text(out->b_data, out->b_len)) {
        if (out->b_len && memchr(out->b_data, '\0', out->b_len))
            err_msgf(ERR_BAD_INPUT, errmsg, errcap, "query parameter %s contains a NUL byte", name);
        else
            err_msgf(ERR_BAD_INPUT, errmsg, errcap, "query parameter %s is not valid UTF-8", name);
        rc = ERR_BAD_INPUT;
        goto out;
    }
    *found = have;
out:
    if (rc != ERR_OK)
        buf_free(out);
    return rc;
}
