/*
 * secretref.c - secret references and template scanning (see secretref.h for the syntax
 * and the choices made where 1Password documents nothing).
 */
#include "cli/secretref.h"

#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "http/query.h"

#define SR_SCHEME_LEN (sizeof(SECRETREF_SCHEME) - 1)
#define SR_MAX_NAMES  4
#define SR_STR2(x)    #x
#define SR_STR(x)     SR_STR2(x)

/* One name as found in the text, before unescaping. */
struct sr_raw {
    const char *rw_p; /* first byte (inside the quotes when quoted) */
    size_t rw_len;
    int rw_quoted;
};

static const char *const sr_attr_names[] = {
    [SECRETREF_ATTR_VALUE] = "value",     [SECRETREF_ATTR_TYPE] = "type",
    [SECRETREF_ATTR_ID] = "id",           [SECRETREF_ATTR_PURPOSE] = "purpose",
    [SECRETREF_ATTR_OTP] = "otp",         [SECRETREF_ATTR_TOTP] = "totp",
    [SECRETREF_ATTR_CONTENT] = "content", [SECRETREF_ATTR_SIZE] = "size",
    [SECRETREF_ATTR_NAME] = "name",
};

#define SR_ATTR_COUNT (sizeof(sr_attr_names) / sizeof(sr_attr_names[0]))

static int sr_is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The characters 1Password allows in a name without quotes. */
static int sr_is_plain(unsigned char c)
{
    return sr_is_alnum(c) || c == '-' || c == '_' || c == '.' || c == ' ';
}

/* The characters a bare reference in a template runs over (1Password's set, plus / and =). */
static int sr_is_bare(unsigned char c)
{
    return sr_is_alnum(c) || c == '-' || c == '?' || c == '_' || c == '.' || c == '/' || c == '=';
}

/* The characters that, just before "op://", keep it from starting a bare reference. */
static int sr_blocks_bare(unsigned char c)
{
    return sr_is_alnum(c) || c == '-' || c == '+' || c == '\\' || c == '.';
}

static int sr_is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Returns 1 when the n bytes at p equal the NUL-terminated word, ignoring ASCII case. */
static int sr_word_eq(const char *p, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

/* Returns 1 when name (n bytes) must be quoted to be written in a reference. */
static int sr_needs_quotes(const char *name, size_t n)
{
    size_t i;

    if (n == 0 || name[0] == ' ' || name[n - 1] == ' ')
        return 1;
    for (i = 0; i < n; i++) {
        if (!sr_is_plain((unsigned char)name[i]))
            return 1;
    }
    return 0;
}

/* Validates and unescapes one raw name into a new string (*out). what names it. */
static enum err sr_name_decode(const struct sr_raw *raw, const char *what, char **out, char *errmsg,
                               size_t errcap)
{
    char *s = NULL;
    size_t i, n = 0;
    enum err rc = ERR_OK;

    *out = NULL;
    if (raw->rw_len == 0) {
        rc =
            err_msgf(ERR_BAD_INPUT, errmsg, errcap, "secret reference: the %s name is empty", what);
        goto out;
    }
    if (!raw->rw_quoted) {
        for (i = 0; i < raw->rw_len; i++) {
            unsigned char c = (unsigned char)raw->rw_p[i];
            if (c == '"') {
                rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                              "secret reference: quotes must enclose the whole %s name", what);
                goto out;
            }
            if (!sr_is_plain(c)) {
                rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                              "secret reference: the %s name holds a character that must be "
                              "quoted",
                              what);
                goto out;
            }
        }
        if (raw->rw_p[0] == ' ' || raw->rw_p[raw->rw_len - 1] == ' ') {
            rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                          "secret reference: the %s name begins or ends with a space (quote it)",
                          what);
            goto out;
        }
        if (raw->rw_len > SECRETREF_MAX_SEGMENT) {
            rc = err_msgf(ERR_TOO_LARGE, errmsg, errcap,
                          "secret reference: the %s name is longer than %d bytes", what,
                          SECRETREF_MAX_SEGMENT);
            goto out;
        }
        s = mem_strndup(raw->rw_p, raw->rw_len);
        if (!s) {
            rc = err_msgf(ERR_NOMEM, errmsg, errcap, "secret reference: out of memory");
            goto out;
        }
        *out = s;
        s = NULL;
        goto out;
    }

    /* quoted: at most as long as the raw text */
    for (i = 0; i < raw->rw_len; i++) {
        unsigned char c = (unsigned char)raw->rw_p[i];
        if (c < 0x20 || c == 0x7f) {
            rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                          "secret reference: the %s name holds a control character", what);
            goto out;
        }
        if (c == '\\') {
            /* the splitter guarantees a byte after every backslash inside quotes */
            c = (unsigned char)raw->rw_p[++i];
            if (c != '"' && c != '\\') {
                rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                              "secret reference: unknown escape in the %s name (only \\\" and "
                              "\\\\)",
                              what);
                goto out;
            }
        }
        n++;
    }
    if (n == 0) {
        rc =
            err_msgf(ERR_BAD_INPUT, errmsg, errcap, "secret reference: the %s name is empty", what);
        goto out;
    }
    if (n > SECRETREF_MAX_SEGMENT) {
        rc = err_msgf(ERR_TOO_LARGE, errmsg, errcap,
                      "secret reference: the %s name is longer than %d bytes", what,
                      SECRETREF_MAX_SEGMENT);
        goto out;
    }
    s = mem_alloc(n + 1);
    if (!s) {
        rc = err_msgf(ERR_NOMEM, errmsg, errcap, "secret reference: out of memory");
        goto out;
    }
    for (i = 0, n = 0; i < raw->rw_len; i++) {
        if (raw->rw_p[i] == '\\')
            i++;
        s[n++] = raw->rw_p[i];
    }
    s[n] = '\0';
    if (!query_is_text(s, n)) {
        rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                      "secret reference: the %s name is not valid UTF-8", what);
        goto out;
    }
    *out = s;
    s = NULL;
out:
    mem_free(s);
    return rc;
}

/* Parses the query text q (n bytes, after '?') into r. */
static enum err sr_query_parse(struct secretref *r, const char *q, size_t n, char *errmsg,
                               size_t errcap)
{
    int seen_attr = 0, seen_ssh = 0;
    size_t pos = 0, a;

    if (n == 0)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "secret reference: empty query");
    while (pos <= n) {
        const char *pair = q + pos, *eq, *val;
        const char *amp = memchr(pair, '&', n - pos);
        size_t plen = amp ? (size_t)(amp - pair) : n - pos, klen, vlen;

        if (plen == 0)
            return err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                            "secret reference: empty query parameter");
        eq = memchr(pair, '=', plen);
        if (!eq)
            return err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                            "secret reference: query parameter without a value");
        klen = (size_t)(eq - pair);
        val = eq + 1;
        vlen = plen - klen - 1;
        if (sr_word_eq(pair, klen, "attribute") || sr_word_eq(pair, klen, "attr")) {
            if (seen_attr++)
                return err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                                "secret reference: attribute given twice");
            for (a = 0; a < SR_ATTR_COUNT; a++) {
                if (sr_word_eq(val, vlen, sr_attr_names[a]))
                    break;
            }
            if (a == SR_ATTR_COUNT)
                return err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                                "secret reference: unknown attribute (value, type, id, purpose, "
                                "otp, totp, content, size or name)");
            r->sr_attr = (enum secretref_attr)a;
        } else if (sr_word_eq(pair, klen, "ssh-format")) {
            if (seen_ssh++)
                return err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                                "secret reference: ssh-format given twice");
            if (!sr_word_eq(val, vlen, "openssh"))
                return err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                                "secret reference: unknown ssh-format (openssh)");
            r->sr_ssh_format = SECRETREF_SSH_OPENSSH;
        } else {
            return err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                            "secret reference: unknown query parameter (attribute, attr or "
                            "ssh-format)");
        }
        pos += plen + 1;
    }
    return ERR_OK;
}

/* Parses a reference; see secretref.h. */
enum err secretref_parse(struct secretref *out, const char *s, size_t len, char *errmsg,
                         size_t errcap)
{
    static const char *const names3[] = {"vault", "item", "field"};
    static const char *const names4[] = {"vault", "item", "section", "field"};
    struct sr_raw raw[SR_MAX_NAMES];
    const char *const *what;
    char **dst[SR_MAX_NAMES];
    size_t count = 0, p, i;
    enum err rc = ERR_OK;

    memset(out, 0, sizeof(*out));
    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (len > SECRETREF_MAX_LEN) {
        rc = err_msgf(ERR_TOO_LARGE, errmsg, errcap, "secret reference: longer than %d bytes",
                      SECRETREF_MAX_LEN);
        goto out;
    }
    if (len < SR_SCHEME_LEN || memcmp(s, SECRETREF_SCHEME, SR_SCHEME_LEN) != 0) {
        rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                      "secret reference: must begin with op:// (lower case)");
        goto out;
    }

    /* split into names, honouring quotes */
    p = SR_SCHEME_LEN;
    for (;;) {
        struct sr_raw seg;

        if (count == SR_MAX_NAMES) {
            rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                          "secret reference: too many names: expected "
                          "op://vault/item[/section]/field (quote a name holding '/')");
            goto out;
        }
        if (p < len && s[p] == '"') {
            size_t q = p + 1;
            while (q < len && s[q] != '"') {
                if (s[q] == '\\')
                    q++;
                q++;
            }
            if (q >= len) {
                rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                              "secret reference: unterminated quoted name");
                goto out;
            }
            seg.rw_p = s + p + 1;
            seg.rw_len = q - p - 1;
            seg.rw_quoted = 1;
            p = q + 1;
            if (p < len && s[p] != '/' && s[p] != '?') {
                rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                              "secret reference: quotes must enclose a whole name");
                goto out;
            }
        } else {
            size_t q = p;
            while (q < len && s[q] != '/' && s[q] != '?')
                q++;
            seg.rw_p = s + p;
            seg.rw_len = q - p;
            seg.rw_quoted = 0;
            p = q;
        }
        raw[count++] = seg;
        if (p < len && s[p] == '/') {
            p++;
            continue;
        }
        break;
    }
    if (count < 3) {
        rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                      "secret reference: too few names: expected op://vault/item[/section]/field");
        goto out;
    }
    what = count == 3 ? names3 : names4;
    dst[0] = &out->sr_vault;
    dst[1] = &out->sr_item;
    dst[2] = count == 3 ? &out->sr_field : &out->sr_section;
    dst[3] = &out->sr_field;
    for (i = 0; i < count; i++) {
        rc = sr_name_decode(&raw[i], what[i], dst[i], errmsg, errcap);
        if (rc != ERR_OK)
            goto out;
    }
    if (p < len) /* s[p] == '?' */
        rc = sr_query_parse(out, s + p + 1, len - p - 1, errmsg, errcap);
out:
    if (rc != ERR_OK)
        secretref_clear(out);
    return rc;
}

/* Frees and zeroes r. */
void secretref_clear(struct secretref *r)
{
    if (!r)
        return;
    mem_free(r->sr_vault);
    mem_free(r->sr_item);
    mem_free(r->sr_section);
    mem_free(r->sr_field);
    memset(r, 0, sizeof(*r));
}

static int sr_str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Returns 1 when a and b are the same reference. */
int secretref_equal(const struct secretref *a, const struct secretref *b)
{
    return sr_str_eq(a->sr_vault, b->sr_vault) && sr_str_eq(a->sr_item, b->sr_item) &&
           sr_str_eq(a->sr_section, b->sr_section) && sr_str_eq(a->sr_field, b->sr_field) &&
           a->sr_attr == b->sr_attr && a->sr_ssh_format == b->sr_ssh_format;
}

/* Returns the spelling of an attribute. */
const char *secretref_attr_name(enum secretref_attr a)
{
    if ((size_t)a >= SR_ATTR_COUNT)
        return "?";
    return sr_attr_names[a];
}

/* A capped output for secretref_canonical. */
struct sr_out {
    char *o_p;
    size_t o_cap;
    size_t o_len;
    int o_over;
};

static void sr_put(struct sr_out *o, char c)
{
    if (o->o_len + 1 >= o->o_cap) {
        o->o_over = 1;
        return;
    }
    o->o_p[o->o_len++] = c;
}

static void sr_puts(struct sr_out *o, const char *s)
{
    while (*s)
        sr_put(o, *s++);
}

static void sr_put_name(struct sr_out *o, const char *name, int fold)
{
    size_t n = strlen(name), i;
    int quote = sr_needs_quotes(name, n);

    if (quote)
        sr_put(o, '"');
    for (i = 0; i < n; i++) {
        char c = name[i];
        if (fold && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (quote && (c == '"' || c == '\\'))
            sr_put(o, '\\');
        sr_put(o, c);
    }
    if (quote)
        sr_put(o, '"');
}

/* Writes the canonical text of r; see secretref.h. */
enum err secretref_canonical(const struct secretref *r, unsigned flags, char *out, size_t cap,
                             size_t *outlen)
{
    struct sr_out o = {out, cap, 0, 0};
    int fold = (flags & SECRETREF_CANON_FOLD) != 0;
    char sep = '?';

    if (outlen)
        *outlen = 0;
    if (cap)
        out[0] = '\0';
    if (!r->sr_vault || !r->sr_item || (!r->sr_field && !(flags & SECRETREF_CANON_ITEM)))
        return ERR_BAD_INPUT;
    sr_puts(&o, SECRETREF_SCHEME);
    sr_put_name(&o, r->sr_vault, fold);
    sr_put(&o, '/');
    sr_put_name(&o, r->sr_item, fold);
    if (!(flags & SECRETREF_CANON_ITEM)) {
        if (r->sr_section) {
            sr_put(&o, '/');
            sr_put_name(&o, r->sr_section, fold);
        }
        sr_put(&o, '/');
        sr_put_name(&o, r->sr_field, fold);
        if (r->sr_attr != SECRETREF_ATTR_VALUE) {
            sr_put(&o, sep);
            sep = '&';
            sr_puts(&o, "attribute=");
            sr_puts(&o, secretref_attr_name(r->sr_attr));
        }
        if (r->sr_ssh_format == SECRETREF_SSH_OPENSSH) {
            sr_put(&o, sep);
            sr_puts(&o, "ssh-format=openssh");
        }
    }
    if (o.o_over || cap == 0) {
        if (cap)
            out[0] = '\0';
        return ERR_TOO_LARGE;
    }
    out[o.o_len] = '\0';
    if (outlen)
        *outlen = o.o_len;
    return ERR_OK;
}

/* Writes "template line L, column C: " + the parser's message for the match at pos. */
static enum err sr_template_error(enum err rc, const char *text, size_t pos, const char *why,
                                  char *errmsg, size_t errcap)
{
    size_t line = 1, col = 1, i;

    for (i = 0; i < pos; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return err_msgf(rc, errmsg, errcap, "template line %zu, column %zu: %s", line, col, why);
}

/*
 * Tries "{{ "text" }}" at i (text[i..i+1] is "{{", q the opening quote): fills span and
 * returns 1 when it is a complete literal on one line of at most SECRETREF_MAX_LEN bytes.
 */
static int sr_try_literal(const char *text, size_t len, size_t i, size_t q,
                          struct secretref_span *span)
{
    size_t k = q + 1, end;

    while (k < len && text[k] != '"' && text[k] != '\n' && k - q <= SECRETREF_MAX_LEN) {
        if (text[k] == '\\' && k + 1 < len && text[k + 1] != '\n')
            k++;
        k++;
    }
    if (k >= len || text[k] != '"')
        return 0;
    end = k + 1;
    while (end < len && sr_is_blank((unsigned char)text[end]))
        end++;
    if (end + 1 >= len || text[end] != '}' || text[end + 1] != '}')
        return 0;
    span->ss_kind = SECRETREF_SPAN_LITERAL;
    span->ss_start = i;
    span->ss_end = end + 2;
    span->ss_ref_start = q + 1;
    span->ss_ref_end = k;
    return 1;
}

/* Parses the reference text[a..b) for a match starting at start, reporting by position. */
static enum err sr_parse_at(const char *text, size_t start, size_t a, size_t b,
                            struct secretref *ref, char *errmsg, size_t errcap)
{
    struct secretref tmp;
    char why[256];
    enum err rc;

    rc = secretref_parse(&tmp, text + a, b - a, why, sizeof(why));
    if (rc != ERR_OK)
        return sr_template_error(rc, text, start, why, errmsg, errcap);
    if (ref)
        *ref = tmp;
    else
        secretref_clear(&tmp);
    return ERR_OK;
}

/* Finds the next reference or literal in a template; see secretref.h. */
enum err secretref_next(const char *text, size_t len, size_t from, struct secretref_span *span,
                        struct secretref *ref, char *errmsg, size_t errcap)
{
    size_t i;
    enum err rc = ERR_NOT_FOUND;

    memset(span, 0, sizeof(*span));
    if (ref)
        memset(ref, 0, sizeof(*ref));
    if (errmsg && errcap)
        errmsg[0] = '\0';
    for (i = from; i < len; i++) {
        if (text[i] == '{' && i + 1 < len && text[i + 1] == '{') {
            size_t j = i + 2, k;
            int quoted = 0;

            while (j < len && sr_is_blank((unsigned char)text[j]))
                j++;
            if (j < len && text[j] == '"') {
                if (sr_try_literal(text, len, i, j, span))
                    return ERR_OK;
                continue;
            }
            if (len - j < SR_SCHEME_LEN || memcmp(text + j, SECRETREF_SCHEME, SR_SCHEME_LEN) != 0)
                continue;
            /* an enclosed reference: find "}}" outside quotes, on this line */
            span->ss_start = i;
            for (k = j; k < len; k++) {
                if (text[k] == '\n' || text[k] == '\r')
                    break;
                if (k - j > SECRETREF_MAX_LEN + 64) {
                    return sr_template_error(
                        ERR_TOO_LARGE, text, i,
                        "secret reference: longer than " SR_STR(SECRETREF_MAX_LEN) " bytes", errmsg,
                        errcap);
                }
                if (quoted && text[k] == '\\' && k + 1 < len && text[k + 1] != '\n') {
                    k++;
                    continue;
                }
                if (text[k] == '"')
                    quoted = !quoted;
                else if (!quoted && text[k] == '}' && k + 1 < len && text[k + 1] == '}')
                    break;
            }
            if (k >= len || text[k] != '}')
                return sr_template_error(ERR_BAD_INPUT, text, i,
                                         "unterminated {{ (expected }} on the same line)", errmsg,
                                         errcap);
            span->ss_kind = SECRETREF_SPAN_ENCLOSED;
            span->ss_end = k + 2;
            span->ss_ref_start = j;
            while (k > j && sr_is_blank((unsigned char)text[k - 1]))
                k--;
            span->ss_ref_end = k;
            rc = sr_parse_at(text, i, j, k, ref, errmsg, errcap);
            if (rc != ERR_OK) {
                span->ss_start = i;
                span->ss_end = 0;
            }
            return rc;
        }
        if (text[i] == 'o' && len - i >= SR_SCHEME_LEN &&
            memcmp(text + i, SECRETREF_SCHEME, SR_SCHEME_LEN) == 0 &&
            (i == 0 || !sr_blocks_bare((unsigned char)text[i - 1]))) {
            size_t k = i + SR_SCHEME_LEN;

            while (k < len && sr_is_bare((unsigned char)text[k]))
                k++;
            span->ss_kind = SECRETREF_SPAN_BARE;
            span->ss_start = i;
            span->ss_end = k;
            span->ss_ref_start = i;
            span->ss_ref_end = k;
            rc = sr_parse_at(text, i, i, k, ref, errmsg, errcap);
            if (rc != ERR_OK)
                span->ss_end = 0;
            return rc;
        }
    }
    return ERR_NOT_FOUND;
}

/* Unescapes a literal's text. */
size_t secretref_literal_unescape(const char *raw, size_t len, char *out)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        if (raw[i] == '\\' && i + 1 < len && (raw[i + 1] == '"' || raw[i + 1] == '\\'))
            i++;
        out[n++] = raw[i];
    }
    return n;
}
