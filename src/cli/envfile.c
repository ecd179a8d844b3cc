/* envfile.c - dotenv-style environment files (see envfile.h for the syntax). */
#include "cli/envfile.h"

#include <string.h>

#include "common/alloc.h"

/* The array being built. */
struct ef_vars {
    struct envfile_var *vs_v;
    size_t vs_n;
    size_t vs_cap;
};

static int ef_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int ef_is_key_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int ef_is_key_char(char c)
{
    return ef_is_key_start(c) || (c >= '0' && c <= '9');
}

static void ef_str_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        mem_free(s);
    }
}

/* Wipes and frees the variables and the array. */
void envfile_free(struct envfile_var *vars, size_t n)
{
    size_t i;

    if (!vars)
        return;
    for (i = 0; i < n; i++) {
        ef_str_free(vars[i].ev_key);
        ef_str_free(vars[i].ev_value);
    }
    explicit_bzero(vars, n * sizeof(*vars));
    mem_free(vars);
}

/*
 * Stores key (n bytes) = value (taken over) assigned on line; a known key gets the new value.
 * On error value is freed.
 */
static enum err ef_store(struct ef_vars *vs, const char *key, size_t klen, char *value, size_t vlen,
                         size_t line, char *errmsg, size_t errcap)
{
    struct envfile_var *v;
    size_t i;

    for (i = 0; i < vs->vs_n; i++) {
        v = &vs->vs_v[i];
        if (strlen(v->ev_key) == klen && memcmp(v->ev_key, key, klen) == 0) {
            ef_str_free(v->ev_value);
            v->ev_value = value;
            v->ev_value_len = vlen;
            v->ev_line = line;
            return ERR_OK;
        }
    }
    if (vs->vs_n == ENVFILE_MAX_VARS) {
        ef_str_free(value);
        return err_msgf(ERR_TOO_LARGE, errmsg, errcap, "env file line %zu: more than %d variables",
                        line, ENVFILE_MAX_VARS);
    }
    if (vs->vs_n == vs->vs_cap) {
        size_t cap = vs->vs_cap ? vs->vs_cap * 2 : 16;
        struct envfile_var *nv;

        if (cap > ENVFILE_MAX_VARS)
            cap = ENVFILE_MAX_VARS;
        nv = mem_calloc(cap, sizeof(*nv));
        if (!nv) {
            ef_str_free(value);
            return err_msgf(ERR_NOMEM, errmsg, errcap, "env file: out of memory");
        }
        if (vs->vs_n)
            memcpy(nv, vs->vs_v, vs->vs_n * sizeof(*nv));
        if (vs->vs_v) {
            explicit_bzero(vs->vs_v, vs->vs_n * sizeof(*nv));
            mem_free(vs->vs_v);
        }
        vs->vs_v = nv;
        vs->vs_cap = cap;
    }
    v = &vs->vs_v[vs->vs_n];
    v->ev_key = mem_strndup(key, klen);
    if (!v->ev_key) {
        ef_str_free(value);
        return err_msgf(ERR_NOMEM, errmsg, errcap, "env file: out of memory");
    }
    v->ev_value = value;
    v->ev_value_len = vlen;
    v->ev_line = line;
    vs->vs_n++;
    return ERR_OK;
}

/* Checks the caps that apply to the whole text and to each physical line, and NUL bytes. */
static enum err ef_check_lines(const char *text, size_t len, char *errmsg, size_t errcap)
{
    size_t pos = 0, line = 1;

    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t eol = nl ? (size_t)(nl - text) : len, end = eol;

        if (end > pos && text[end - 1] == '\r')
            end--;
        if (memchr(text + pos, '\0', eol - pos))
            return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "env file line %zu: NUL byte", line);
        if (end - pos > ENVFILE_MAX_LINE_BYTES)
            return err_msgf(ERR_TOO_LARGE, errmsg, errcap,
                            "env file line %zu: longer than %d bytes", line,
                            ENVFILE_MAX_LINE_BYTES);
        pos = eol + 1;
        line++;
    }
    return ERR_OK;
}

/*
 * Reads a quoted value whose opening quote is at *pos; on success *pos is just past the
 * closing quote, *line counts the line ends crossed and *value and *vlen hold the decoded value
 */
static enum err ef_quoted(const char *text, size_t len, size_t *pos, size_t *line, char **value,
                          size_t *vlen, char *errmsg, size_t errcap)
{
    char q = text[*pos], *v = NULL;
    size_t start = *pos + 1, k = start, n = 0, first = *line;
    enum err rc = ERR_OK;

    *value = NULL;
    *vlen = 0;
    while (k < len && text[k] != q) {
        if (q == '"' && text[k] == '\\' && k + 1 < len)
            k++;
        k++;
    }
    if (k >= len) {
        rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap, "env file line %zu: unterminated quoted value",
                      first);
        goto out;
    }
    v = mem_alloc(k - start + 1);
    if (!v) {
        rc = err_msgf(ERR_NOMEM, errmsg, errcap, "env file: out of memory");
        goto out;
    }
    for (size_t i = start; i < k; i++) {
        char c = text[i];

        if (c == '\r' && i + 1 < k && text[i + 1] == '\n')
            continue;
        if (c == '\n')
            (*line)++;
        if (q == '"' && c == '\\') {
            char e = text[i + 1];
            switch (e) {
            case 'n':
                c = '\n';
                i++;
                break;
            case 'r':
                c = '\r';
                i++;
                break;
            case 't':
                c = '\t';
                i++;
                break;
            case '"':
            case '\\':
                c = e;
                i++;
                break;
            default:
                break; /* kept as is; the next byte is read on its own */
            }
        }
        v[n++] = c;
    }
    v[n] = '\0';
    if (n > ENVFILE_MAX_VALUE_BYTES) {
        rc =
            err_msgf(ERR_TOO_LARGE, errmsg, errcap, "env file line %zu: value longer than %d bytes",
                     first, ENVFILE_MAX_VALUE_BYTES);
        goto out;
    }
    *value = v;
    *vlen = n;
    v = NULL;
    *pos = k + 1;
out:
    if (v) {
        explicit_bzero(v, k - start + 1);
        mem_free(v);
    }
    return rc;
}

/* Parses an environment file; see envfile.h. */
enum err envfile_parse(const char *text, size_t len, struct envfile_var **out, size_t *n,
                       char *errmsg, size_t errcap)
{
    struct ef_vars vs = {NULL, 0, 0};
    size_t pos = 0, line = 1;
    enum err rc = ERR_OK;

    *out = NULL;
    *n = 0;
    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (len > ENVFILE_MAX_BYTES) {
        rc = err_msgf(ERR_TOO_LARGE, errmsg, errcap, "env file: larger than %u bytes",
                      ENVFILE_MAX_BYTES);
        goto out;
    }
    rc = ef_check_lines(text, len, errmsg, errcap);
    if (rc != ERR_OK)
        goto out;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        pos = 3;

    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t eol = nl ? (size_t)(nl - text) : len, end = eol, p = pos, key, klen, vstart;
        size_t at = line, vlen = 0;
        char *value = NULL;

        if (end > pos && text[end - 1] == '\r')
            end--;
        while (p < end && ef_is_blank(text[p]))
            p++;
        if (p == end || text[p] == '#')
            goto next;
        if (end - p > 6 && memcmp(text + p, "export", 6) == 0 && ef_is_blank(text[p + 6])) {
            p += 6;
            while (p < end && ef_is_blank(text[p]))
                p++;
        }
        if (p == end || !ef_is_key_start(text[p])) {
            rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                          "env file line %zu: expected a variable name ([A-Za-z_][A-Za-z0-9_]*)",
                          at);
            goto out;
        }
        key = p;
        while (p < end && ef_is_key_char(text[p]))
            p++;
        klen = p - key;
        if (klen > ENVFILE_MAX_KEY_BYTES) {
            rc = err_msgf(ERR_TOO_LARGE, errmsg, errcap,
                          "env file line %zu: variable name longer than %d bytes", at,
                          ENVFILE_MAX_KEY_BYTES);
            goto out;
        }
        while (p < end && ef_is_blank(text[p]))
            p++;
        if (p == end || text[p] != '=') {
            rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                          "env file line %zu: expected '=' after the variable name", at);
            goto out;
        }
        vstart = ++p;
        while (p < end && ef_is_blank(text[p]))
            p++;

        if (p < end && (text[p] == '"' || text[p] == '\'')) {
            rc = ef_quoted(text, len, &p, &line, &value, &vlen, errmsg, errcap);
            if (rc != ERR_OK)
                goto out;
            /* the rest of the closing quote's line: blanks, then maybe a comment */
            nl = memchr(text + p, '\n', len - p);
            eol = nl ? (size_t)(nl - text) : len;
            end = eol;
            if (end > p && text[end - 1] == '\r')
                end--;
            while (p < end && ef_is_blank(text[p]))
                p++;
            if (p < end && text[p] != '#') {
                ef_str_free(value);
                rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                              "env file line %zu: unexpected text after the closing quote", line);
                goto out;
            }
        } else {
            size_t q = p, vend;

            while (q < end && !(text[q] == '#' && q > vstart && ef_is_blank(text[q - 1])))
                q++;
            vend = q;
            while (vend > p && ef_is_blank(text[vend - 1]))
                vend--;
            vlen = vend - p;
            if (vlen > ENVFILE_MAX_VALUE_BYTES) { /* unreachable with the line cap; kept */
                rc = err_msgf(ERR_TOO_LARGE, errmsg, errcap,
                              "env file line %zu: value longer than %d bytes", at,
                              ENVFILE_MAX_VALUE_BYTES);
                goto out;
            }
            value = mem_strndup(text + p, vlen);
            if (!value) {
                rc = err_msgf(ERR_NOMEM, errmsg, errcap, "env file: out of memory");
                goto out;
            }
        }
        rc = ef_store(&vs, text + key, klen, value, vlen, at, errmsg, errcap);
        if (rc != ERR_OK)
            goto out;
    next:
        pos = eol + 1;
        line++;
    }
    *out = vs.vs_v;
    *n = vs.vs_n;
    vs.vs_v = NULL;
    vs.vs_n = 0;
out:
    envfile_free(vs.vs_v, vs.vs_n);
    return rc;
}
