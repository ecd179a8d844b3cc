/*
 * fuzz_filter.c - libFuzzer driver for the query-string decoder (http/query.c) and the
 * Connect filter parser and matcher (json/filter.c).
 *
 * Input: <raw query string> '\n' <name/title> '\n' <tag> '\n' <tag> ... (everything after
 * the first '\n' is optional). The driver
 *  - decodes `filter` from the query with query_get and parses it for both targets;
 *  - parses the raw query bytes themselves as filter text for both targets;
 *  - runs filter_parse_query for both targets;
 *  - matches every parsed filter against the name/title and tags;
 * and checks invariants, aborting on a violation: messages are NUL-terminated, fit the
 * caller's room, start with "Invalid filter: " on a client error and are "" on success;
 * failed parses leave the filter cleared; a parsed value always matches itself with eq
 * and co, and eq implies co; the case-folded value matches the value; the fold is stable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "http/query.h"
#include "json/filter.h"

#define FUZZ_MAX_TAGS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
    if (!ok)
        abort();
}

static void fuzz_check_msg(enum err rc, const char *msg, size_t cap)
{
    size_t n = strnlen(msg, cap);

    fuzz_check(n < cap);
    if (rc == ERR_OK)
        fuzz_check(n == 0);
    else
        fuzz_check(n > 0);
}

static void fuzz_check_cleared(const struct filter *f)
{
    fuzz_check(f->f_attr == FILTER_ATTR_NONE && f->f_value == NULL && f->f_fold == NULL &&
               f->f_next == NULL);
}

/* Properties every successfully parsed filter has. */
static void fuzz_check_filter(const struct filter *f)
{
    const char *self[1];
    size_t i;

    fuzz_check(f->f_value != NULL && strlen(f->f_value) == f->f_value_len);
    fuzz_check(f->f_fold_len <= f->f_value_len);
    for (i = 0; i < f->f_fold_len; i++)
        fuzz_check(filter_fold_codepoint(f->f_fold[i]) == f->f_fold[i]);
    /* The value matches itself, whatever the operator. */
    self[0] = f->f_value;
    if (f->f_target == FILTER_VAULTS)
        fuzz_check(filter_match_vault(f, f->f_value) == 1);
    else if (f->f_attr == FILTER_ATTR_TAG)
        fuzz_check(filter_match_item(f, "", self, 1) == 1);
    else
        fuzz_check(filter_match_item(f, f->f_value, NULL, 0) == 1);
}

static void fuzz_match(const struct filter *f, const char *name, const char *const *tags,
                       size_t ntags)
{
    int v = filter_match_vault(f, name);
    int it = filter_match_item(f, name, tags, ntags);

    fuzz_check(v == 0 || v == 1);
    fuzz_check(it == 0 || it == 1);
    if (f->f_target == FILTER_VAULTS)
        fuzz_check(it == 0);
    else
        fuzz_check(v == 0);
}

/* Parses text for target t with a full and a tiny message buffer, checks and matches. */
static void fuzz_parse(enum filter_target t, const char *text, size_t len, const char *name,
                       const char *const *tags, size_t ntags)
{
    struct filter f, co;
    char msg[FILTER_ERRMSG_MAX], tiny[7];
    enum err rc, rc2;

    rc = filter_parse(&f, t, text, len, msg, sizeof(msg));
    fuzz_check_msg(rc, msg, sizeof(msg));
    fuzz_check(rc == ERR_OK || rc == ERR_BAD_INPUT || rc == ERR_TOO_LARGE || rc == ERR_NOMEM);
    if (rc == ERR_BAD_INPUT || rc == ERR_TOO_LARGE)
        fuzz_check(strncmp(msg, "Invalid filter: ", 16) == 0);
    rc2 = filter_parse(&co, t, text, len, tiny, sizeof(tiny));
    fuzz_check(rc2 == rc);
    fuzz_check(strnlen(tiny, sizeof(tiny)) < sizeof(tiny));
    filter_clear(&co);
    if (rc != ERR_OK) {
        fuzz_check_cleared(&f);
        return;
    }
    fuzz_check(f.f_target == t);
    fuzz_check_filter(&f);
    fuzz_match(&f, name, tags, ntags);
    /* eq implies co: the same attribute with co must match whatever eq matched. */
    if (f.f_op == FILTER_OP_EQ) {
        struct buf b;
        const char *attr = f.f_attr == FILTER_ATTR_TAG ? "tag" : "title";

        buf_init(&b, FILTER_MAX_BYTES + 64);
        if (buf_addf(&b, "%s co \"%s\"", attr, f.f_value) == ERR_OK &&
            filter_parse(&co, t, b.b_data, b.b_len, NULL, 0) == ERR_OK) {
            if (filter_match_vault(&f, name))
                fuzz_check(filter_match_vault(&co, name));
            if (filter_match_item(&f, name, tags, ntags))
                fuzz_check(filter_match_item(&co, name, tags, ntags));
            filter_clear(&co);
        }
        buf_free(&b);
    }
    filter_clear(&f);
    fuzz_check_cleared(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    size_t qlen = nl ? (size_t)(nl - in) : size;
    char *rest = NULL, *name = NULL;
    const char *tags[FUZZ_MAX_TAGS];
    size_t ntags = 0;
    struct buf value;
    struct filter f;
    char msg[FILTER_ERRMSG_MAX];
    int found, present, t;
    enum err rc;

    /* Name and tags: NUL-terminated copies of the lines after the query. */
    if (nl) {
        size_t rlen = size - qlen - 1;
        char *p, *end;

        rest = malloc(rlen + 1);
        if (!rest)
            return 0;
        memcpy(rest, nl + 1, rlen);
        rest[rlen] = '\0';
        name = rest;
        end = rest + strlen(rest); /* an embedded NUL ends the list */
        p = strchr(rest, '\n');
        if (p)
            *p++ = '\0';
        while (p && p < end && ntags < FUZZ_MAX_TAGS) {
            char *q = strchr(p, '\n');

            if (q)
                *q = '\0';
            tags[ntags++] = p;
            p = q ? q + 1 : NULL;
        }
    }

    /* The query decoder, then the decoded filter. */
    rc = query_get(&value, in, qlen, "filter", &found, msg, sizeof(msg));
    fuzz_check_msg(rc, msg, sizeof(msg));
    fuzz_check(rc == ERR_OK || rc == ERR_BAD_INPUT || rc == ERR_TOO_LARGE || rc == ERR_NOMEM);
    if (rc == ERR_OK && found) {
        fuzz_check(query_is_text(value.b_data, value.b_len));
        for (t = FILTER_VAULTS; t <= FILTER_ITEMS; t++)
            fuzz_parse((enum filter_target)t, value.b_data, value.b_len, name, tags, ntags);
    } else {
        fuzz_check(value.b_len == 0);
    }
    buf_free(&value);

    /* The raw bytes as filter text (NUL, invalid UTF-8 and all). */
    for (t = FILTER_VAULTS; t <= FILTER_ITEMS; t++)
        fuzz_parse((enum filter_target)t, in, qlen, name, tags, ntags);

    /* The combined entry point. */
    for (t = FILTER_VAULTS; t <= FILTER_ITEMS; t++) {
        rc = filter_parse_query(&f, &present, (enum filter_target)t, in, qlen, msg, sizeof(msg));
        fuzz_check_msg(rc, msg, sizeof(msg));
        if (rc != ERR_OK || !present) {
            fuzz_check_cleared(&f);
            fuzz_check(filter_match_vault(&f, name) == 1);
            fuzz_check(filter_match_item(&f, name, tags, ntags) == 1);
        } else {
            fuzz_match(&f, name, tags, ntags);
        }
        filter_clear(&f);
    }

    free(rest);
    return 0;
}
