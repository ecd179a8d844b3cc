/*
 * fuzz_secretref.c - secret references and template scanning (src/cli/secretref.c). The
 * input is parsed as one reference, then scanned as a template.
 * Checks: a parsed reference has its names (at most SECRETREF_MAX_SEGMENT bytes, no
 * control bytes, section optional), its canonical form (exact and folded) fits
 * SECRETREF_CANON_MAX and parses back to an equal reference whose canonical form is byte
 * for byte the same; a refusal is one of the documented errors with a one-line
 * "secret reference: " message and an empty struct. A template scan only moves forward,
 * every span lies inside the text, every reference span's text parses to the reference
 * returned, a literal unescapes to at most its length, and a failure carries a
 * "template line " message. Any broken invariant abort()s.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/secretref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_name(const char *s, int optional)
{
    size_t n, i;

    if (!s) {
        if (!optional)
            abort();
        return;
    }
    n = strlen(s);
    if (n == 0 || n > SECRETREF_MAX_SEGMENT)
        abort();
    for (i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            abort();
    }
}

static void fuzz_check_ref(const struct secretref *r, size_t inlen)
{
    static char canon[SECRETREF_CANON_MAX], canon2[SECRETREF_CANON_MAX];
    struct secretref back;
    size_t n = 0, n2 = 0;
    enum err rc;

    fuzz_check_name(r->sr_vault, 0);
    fuzz_check_name(r->sr_item, 0);
    fuzz_check_name(r->sr_section, 1);
    fuzz_check_name(r->sr_field, 0);
    if (strcmp(secretref_attr_name(r->sr_attr), "?") == 0 ||
        (r->sr_ssh_format != SECRETREF_SSH_NONE && r->sr_ssh_format != SECRETREF_SSH_OPENSSH))
        abort();
    if (secretref_canonical(r, 0, canon, sizeof(canon), &n) != ERR_OK || n != strlen(canon))
        abort();
    /* the canonical form grows only by spelling "attr" as "attribute" */
    if (n > inlen + 5)
        abort();
    rc = secretref_parse(&back, canon, n, NULL, 0);
    if (n > SECRETREF_MAX_LEN) {
        if (rc != ERR_TOO_LARGE)
            abort();
    } else {
        if (rc != ERR_OK || !secretref_equal(r, &back))
            abort();
        if (secretref_canonical(&back, 0, canon2, sizeof(canon2), &n2) != ERR_OK || n2 != n ||
            memcmp(canon, canon2, n) != 0)
            abort();
        secretref_clear(&back);
    }
    if (secretref_canonical(r, SECRETREF_CANON_FOLD, canon, sizeof(canon), &n) != ERR_OK ||
        n > inlen + 5)
        abort();
    if (n <= SECRETREF_MAX_LEN) {
        if (secretref_parse(&back, canon, n, NULL, 0) != ERR_OK)
            abort();
        secretref_clear(&back);
    }
    if (secretref_canonical(r, SECRETREF_CANON_ITEM, canon, sizeof(canon), &n) != ERR_OK ||
        strncmp(canon, "op://", 5) != 0)
        abort();
}

static void fuzz_template(const char *text, size_t len)
{
    struct secretref_span sp;
    struct secretref ref, again;
    char msg[512], *lit;
    size_t from = 0;
    enum err rc;

    for (;;) {
        msg[0] = 'x';
        rc = secretref_next(text, len, from, &sp, &ref, msg, sizeof(msg));
        if (rc == ERR_NOT_FOUND) {
            if (ref.sr_vault || sp.ss_end)
                abort();
            return;
        }
        if (rc != ERR_OK) {
            if (rc != ERR_BAD_INPUT && rc != ERR_TOO_LARGE && rc != ERR_NOMEM)
                abort();
            if (strncmp(msg, "template line ", 14) != 0 || strchr(msg, '\n') || ref.sr_vault ||
                sp.ss_start < from || sp.ss_start >= len)
                abort();
            return;
        }
        if (msg[0] != '\0' || sp.ss_start < from || sp.ss_end <= sp.ss_start || sp.ss_end > len ||
            sp.ss_ref_start < sp.ss_start || sp.ss_ref_end < sp.ss_ref_start ||
            sp.ss_ref_end > sp.ss_end)
            abort();
        switch (sp.ss_kind) {
        case SECRETREF_SPAN_BARE:
        case SECRETREF_SPAN_ENCLOSED:
            if (secretref_parse(&again, text + sp.ss_ref_start, sp.ss_ref_end - sp.ss_ref_start,
                                NULL, 0) != ERR_OK ||
                !secretref_equal(&ref, &again))
                abort();
            if (sp.ss_kind == SECRETREF_SPAN_BARE &&
                (sp.ss_ref_start != sp.ss_start || sp.ss_ref_end != sp.ss_end))
                abort();
            secretref_clear(&again);
            break;
        case SECRETREF_SPAN_LITERAL:
            if (ref.sr_vault || text[sp.ss_ref_start - 1] != '"' || text[sp.ss_ref_end] != '"')
                abort();
            lit = malloc(sp.ss_ref_end - sp.ss_ref_start + 1);
            if (!lit)
                abort();
            if (secretref_literal_unescape(text + sp.ss_ref_start, sp.ss_ref_end - sp.ss_ref_start,
                                           lit) > sp.ss_ref_end - sp.ss_ref_start)
                abort();
            free(lit);
            break;
        default:
            abort();
        }
        secretref_clear(&ref);
        from = sp.ss_end;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct secretref r;
    char msg[512];
    enum err rc;

    msg[0] = 'x';
    rc = secretref_parse(&r, s, size, msg, sizeof(msg));
    if (rc == ERR_OK) {
        if (msg[0] != '\0')
            abort();
        fuzz_check_ref(&r, size);
        secretref_clear(&r);
    } else {
        if (rc != ERR_BAD_INPUT && rc != ERR_TOO_LARGE && rc != ERR_NOMEM)
            abort();
        if (strncmp(msg, "secret reference: ", 18) != 0 || strchr(msg, '\n') || r.sr_vault ||
            r.sr_item || r.sr_section || r.sr_field)
            abort();
    }
    fuzz_template(s, size);
    return 0;
}
