/* mask.c - concealing secret values in a stream. See mask.h. */
#include "cli/mask.h"

#include <string.h>

#include "common/alloc.h"
#include "crypto/crypto.h"

struct mask_value {
    const char *mv_p;
    size_t mv_len;
};

struct mask {
    struct mask_value *mk_v; /* longest first */
    size_t mk_n;
    unsigned char mk_first[256]; /* 1 where a value begins with that byte */
};

/* Orders values longest first (insertion sort: n is small). */
static void mask_sort(struct mask_value *v, size_t n)
{
    size_t i, j;

    for (i = 1; i < n; i++) {
        struct mask_value x = v[i];

        for (j = i; j > 0 && v[j - 1].mv_len < x.mv_len; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Makes a mask. See mask.h. */
enum err mask_new(struct mask **out, const char *const *values, const size_t *lens, size_t n)
{
    struct mask *m;
    size_t i;

    *out = NULL;
    if (n > MASK_MAX_VALUES)
        return ERR_TOO_LARGE;
    m = mem_calloc(1, sizeof(*m));
    if (!m)
        return ERR_NOMEM;
    m->mk_v = mem_calloc(n ? n : 1, sizeof(*m->mk_v));
    if (!m->mk_v) {
        mem_free(m);
        return ERR_NOMEM;
    }
    for (i = 0; i < n; i++) {
        if (!values[i] || !lens[i])
            continue;
        m->mk_v[m->mk_n].mv_p = values[i];
        m->mk_v[m->mk_n].mv_len = lens[i];
        m->mk_first[(unsigned char)values[i][0]] = 1;
        m->mk_n++;
    }
    mask_sort(m->mk_v, m->mk_n);
    *out = m;
    return ERR_OK;
}

/* Frees a mask. See mask.h. */
void mask_free(struct mask *m)
{
    if (!m)
        return;
    mem_free(m->mk_v);
    mem_free(m);
}

/* Wipes a stream's held bytes. See mask.h. */
void mask_stream_free(struct mask_stream *s)
{
    secmem_free(s->ms_held);
    memset(s, 0, sizeof(*s));
}

/*
 * Looks at the n bytes at p: returns the length of the longest value that starts there
 * (0: none), and sets *partial when the bytes are a proper prefix of some value (more
 * input could still make a longer match).
 */
static size_t mask_match(const struct mask *m, const char *p, size_t n, int *partial)
{
    size_t i;

    *partial = 0;
    if (!m->mk_first[(unsigned char)p[0]])
        return 0;
    for (i = 0; i < m->mk_n; i++) { /* longest first */
        const struct mask_value *v = &m->mk_v[i];

        if (v->mv_len > n) {
            if (!*partial && memcmp(p, v->mv_p, n) == 0)
                *partial = 1;
        } else if (memcmp(p, v->mv_p, v->mv_len) == 0) {
            return v->mv_len;
        }
    }
    return 0;
}

/* Feeds a chunk. See mask.h. */
enum err mask_feed(const struct mask *m, struct mask_stream *s, const char *data, size_t len,
                   int eof, int (*emit)(void *arg, const char *p, size_t n), void *arg)
{
    size_t total = s->ms_len + len, i = 0, from = 0, cap;
    enum err e = ERR_OK;
    char *w;

    if (total == 0)
        return ERR_OK;
    w = secmem_alloc(total);
    if (!w)
        return ERR_NOMEM;
    if (s->ms_len)
        memcpy(w, s->ms_held, s->ms_len);
    if (len)
        memcpy(w + s->ms_len, data, len);
    while (i < total) {
        int partial = 0;
        size_t hit = mask_match(m, w + i, total - i, &partial);

        if (partial && !eof)
            break; /* a longer value may still begin here: hold from i */
        if (hit) {
            if ((i > from && emit(arg, w + from, i - from) != 0) ||
                emit(arg, MASK_TEXT, sizeof(MASK_TEXT) - 1) != 0) {
                e = ERR_IO;
                goto out;
            }
            i += hit;
            from = i;
            continue;
        }
        i++;
    }
    if (i > from && emit(arg, w + from, i - from) != 0) {
        e = ERR_IO;
        goto out;
    }
    /* Keep w[i..total) as the held bytes (w is reused when it is big enough). */
    cap = total - i;
    if (cap == 0) {
        s->ms_len = 0;
        goto out;
    }
    memmove(w, w + i, cap);
    secmem_free(s->ms_held);
    s->ms_held = w;
    s->ms_len = cap;
    s->ms_cap = total;
    w = NULL;
out:
    secmem_free(w);
    return e;
}
