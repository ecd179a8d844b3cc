/* fastload.c - the fast path for plain JSON (see fastload.h). */
#include "json/fastload.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct jf {
    const char *p;   /* the next byte */
    const char *end; /* one past the last */
};

static json_t *jf_value(struct jf *j, unsigned depth);

static void jf_space(struct jf *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

/* Reads a string of plain bytes after its opening quote: *s and *n, or 0 (not plain). */
static int jf_string(struct jf *j, const char **s, size_t *n)
{
    const char *q = j->p;

    while (q < j->end) {
        unsigned char c = (unsigned char)*q;

        if (c == '"') {
            *s = j->p;
            *n = (size_t)(q - j->p);
            j->p = q + 1;
            return 1;
        }
        if (c < 0x20 || c > 0x7e || c == '\\')
            return 0;
        q++;
    }
    return 0;
}

/* An integer (no fraction or exponent, within int64), or NULL. */
static json_t *jf_integer(struct jf *j)
{
    const char *q = j->p;
    int neg = 0;
    uint64_t v = 0, lim;

    if (q < j->end && *q == '-') {
        neg = 1;
        q++;
    }
    if (q >= j->end || *q < '0' || *q > '9')
        return NULL;
    if (*q == '0' && q + 1 < j->end && q[1] >= '0' && q[1] <= '9')
        return NULL; /* a leading zero: jansson refuses it */
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    while (q < j->end && *q >= '0' && *q <= '9') {
        unsigned d = (unsigned)(*q - '0');

        if (v > (lim - d) / 10)
            return NULL;
        v = v * 10 + d;
        q++;
    }
    if (q < j->end && (*q == '.' || *q == 'e' || *q == 'E'))
        return NULL;
    j->p = q;
    if (neg)
        return json_integer(v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)v);
    return json_integer((json_int_t)v);
}

static json_t *jf_literal(struct jf *j, const char *word, size_t n, json_t *v)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return NULL;
    j->p += n;
    return v;
}

static json_t *jf_object(struct jf *j, unsigned depth)
{
    json_t *o = json_object(), *v;
    const char *k;
    size_t kn;

    jf_space(j);
    if (o && j->p < j->end && *j->p == '}') {
        j->p++;
        return o;
    }
    while (o) {
        if (j->p >= j->end || *j->p != '"')
            break;
        j->p++;
        if (!jf_string(j, &k, &kn) || json_object_getn(o, k, kn))
            break; /* not plain, or a duplicate key */
        jf_space(j);
        if (j->p >= j->end || *j->p != ':')
            break;
        j->p++;
        v = jf_value(j, depth + 1);
        if (!v || json_object_setn_new_nocheck(o, k, kn, v) != 0)
            break;
        jf_space(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            jf_space(j);
            continue;
        }
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            return o;
        }
        break;
    }
    json_decref(o);
    return NULL;
}

static json_t *jf_array(struct jf *j, unsigned depth)
{
    json_t *a = json_array(), *v;

    jf_space(j);
    if (a && j->p < j->end && *j->p == ']') {
        j->p++;
        return a;
    }
    while (a) {
        v = jf_value(j, depth + 1);
        if (!v || json_array_append_new(a, v) != 0)
            break;
        jf_space(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return a;
        }
        break;
    }
    json_decref(a);
    return NULL;
}

/* A value at depth (the top level is 1), with the space before it. */
static json_t *jf_value(struct jf *j, unsigned depth)
{
    const char *s;
    size_t n;

    if (depth > JSONFAST_MAX_DEPTH)
        return NULL;
    jf_space(j);
    if (j->p >= j->end)
        return NULL;
    switch (*j->p) {
    case '{':
        j->p++;
        return jf_object(j, depth);
    case '[':
        j->p++;
        return jf_array(j, depth);
    case '"':
        j->p++;
        return jf_string(j, &s, &n) ? json_stringn_nocheck(s, n) : NULL;
    case 't':
        return jf_literal(j, "true", 4, json_true());
    case 'f':
        return jf_literal(j, "false", 5, json_false());
    case 'n':
        return jf_literal(j, "null", 4, json_null());
    default:
        return jf_integer(j);
    }
}

/* Parses plain JSON text (see fastload.h). */
json_t *jsonfast_load(const char *text, size_t len)
{
    struct jf j;
    json_t *v;

    if (!text)
        return NULL;
    j.p = text;
    j.end = text + len;
    jf_space(&j);
    if (j.p >= j.end || (*j.p != '{' && *j.p != '['))
        return NULL; /* jansson wants an object or an array at the top */
    v = jf_value(&j, 1);
    if (!v)
        return NULL;
    jf_space(&j);
    if (j.p != j.end) {
        json_decref(v);
        return NULL; /* text after the value */
    }
    return v;
}

/* Parses with the fast path, else jansson (see fastload.h). */
json_t *jsonfast_loadb(const char *text, size_t len, json_error_t *err)
{
    json_t *v = jsonfast_load(text, len);

    return v ? v : json_loadb(text, len, JSON_REJECT_DUPLICATES, err);
}

static enum err jf_dump(json_t *v, struct buf *b, unsigned depth)
{
    const char *key;
    json_t *m;
    char *text;
    size_t i;
    enum err e = ERR_OK;

    if (!v || depth > JSONFAST_MAX_DEPTH)
        return ERR_BAD_INPUT;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        e = buf_add(b, "{", 1);
        i = 0;
        json_object_foreach((json_t *)v, key, m)
        {
            if (e == ERR_OK && i++ > 0)
                e = buf_add(b, ",", 1);
            if (e == ERR_OK)
                e = buf_add_json_string(b, key);
            if (e == ERR_OK)
                e = buf_add(b, ":", 1);
            if (e == ERR_OK)
                e = jf_dump(m, b, depth + 1);
            if (e != ERR_OK)
                break;
        }
        return e == ERR_OK ? buf_add(b, "}", 1) : e;
    case JSON_ARRAY:
        e = buf_add(b, "[", 1);
        for (i = 0; e == ERR_OK && i < json_array_size(v); i++) {
            if (i > 0)
                e = buf_add(b, ",", 1);
            if (e == ERR_OK)
                e = jf_dump(json_array_get(v, i), b, depth + 1);
        }
        return e == ERR_OK ? buf_add(b, "]", 1) : e;
    case JSON_STRING:
        if (strlen(json_string_value(v)) == json_string_length(v))
            return buf_add_json_string(b, json_string_value(v));
        break; /* a NUL inside: jansson's \u0000 */
    case JSON_INTEGER:
        return buf_add_i64(b, (int64_t)json_integer_value(v));
    case JSON_TRUE:
        return buf_add(b, "true", 4);
    case JSON_FALSE:
        return buf_add(b, "false", 5);
    case JSON_NULL:
        return buf_add(b, "null", 4);
    default:
        break; /* a real: jansson's format */
    }
    text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return ERR_NOMEM;
    e = buf_add_str(b, text);
    free(text);
    return e;
}

/* Appends the compact text of v (see fastload.h). */
enum err jsonfast_dump(json_t *v, struct buf *b)
{
    return b ? jf_dump(v, b, 1) : ERR_BAD_INPUT;
}
