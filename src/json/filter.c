/* filter.c - Connect list filters: parsing and case-insensitive matching (see filter.h). */
#include "json/filter.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "http/query.h"

#define FILTER_PREFIX "Invalid filter: "

/* Stands for an invalid byte b of a stored string: never equal to a decoded code point. */
#define FILTER_BAD_BYTE(b) (0x110000u + (uint32_t)(b))

/*
 * Unicode 14.0.0 simple case folding (CaseFolding.txt lines with status C or S), as runs:
 * every fr_stride-th code point from fr_first to fr_last folds to itself plus fr_delta.
 * Derived mechanically from the published file (1454 mappings in 202 runs);
 * tests/unit/test_filter.c checks every code point against the 1454 mappings.
 */
struct filter_fold_run {
    uint32_t fr_first;
    uint32_t fr_last;
    uint32_t fr_stride;
    int32_t fr_delta;
};

static const struct filter_fold_run filter_fold_runs[] = {
    {0x0041, 0x005A, 1, 32},     {0x00B5, 0x00B5, 1, 775},    {0x00C0, 0x00D6, 1, 32},
    {0x00D8, 0x00DE, 1, 32},     {0x0100, 0x012E, 2, 1},      {0x0132, 0x0136, 2, 1},
    {0x0139, 0x0147, 2, 1},      {0x014A, 0x0176, 2, 1},      {0x0178, 0x0178, 1, -121},
    {0x0179, 0x017D, 2, 1},      {0x017F, 0x017F, 1, -268},   {0x0181, 0x0181, 1, 210},
    {0x0182, 0x0184, 2, 1},      {0x0186, 0x0186, 1, 206},    {0x0187, 0x0187, 1, 1},
    {0x0189, 0x018A, 1, 205},    {0x018B, 0x018B, 1, 1},      {0x018E, 0x018E, 1, 79},
    {0x018F, 0x018F, 1, 202},    {0x0190, 0x0190, 1, 203},    {0x0191, 0x0191, 1, 1},
    {0x0193, 0x0193, 1, 205},    {0x0194, 0x0194, 1, 207},    {0x0196, 0x0196, 1, 211},
    {0x0197, 0x0197, 1, 209},    {0x0198, 0x0198, 1, 1},      {0x019C, 0x019C, 1, 211},
    {0x019D, 0x019D, 1, 213},    {0x019F, 0x019F, 1, 214},    {0x01A0, 0x01A4, 2, 1},
    {0x01A6, 0x01A6, 1, 218},    {0x01A7, 0x01A7, 1, 1},      {0x01A9, 0x01A9, 1, 218},
    {0x01AC, 0x01AC, 1, 1},      {0x01AE, 0x01AE, 1, 218},    {0x01AF, 0x01AF, 1, 1},
    {0x01B1, 0x01B2, 1, 217},    {0x01B3, 0x01B5, 2, 1},      {0x01B7, 0x01B7, 1, 219},
    {0x01B8, 0x01B8, 1, 1},      {0x01BC, 0x01BC, 1, 1},      {0x01C4, 0x01C4, 1, 2},
    {0x01C5, 0x01C5, 1, 1},      {0x01C7, 0x01C7, 1, 2},      {0x01C8, 0x01C8, 1, 1},
    {0x01CA, 0x01CA, 1, 2},      {0x01CB, 0x01DB, 2, 1},      {0x01DE, 0x01EE, 2, 1},
    {0x01F1, 0x01F1, 1, 2},      {0x01F2, 0x01F4, 2, 1},      {0x01F6, 0x01F6, 1, -97},
    {0x01F7, 0x01F7, 1, -56},    {0x01F8, 0x021E, 2, 1},      {0x0220, 0x0220, 1, -130},
    {0x0222, 0x0232, 2, 1},      {0x023A, 0x023A, 1, 10795},  {0x023B, 0x023B, 1, 1},
    {0x023D, 0x023D, 1, -163},   {0x023E, 0x023E, 1, 10792},  {0x0241, 0x0241, 1, 1},
    {0x0243, 0x0243, 1, -195},   {0x0244, 0x0244, 1, 69},     {0x0245, 0x0245, 1, 71},
    {0x0246, 0x024E, 2, 1},      {0x0345, 0x0345, 1, 116},    {0x0370, 0x0372, 2, 1},
    {0x0376, 0x0376, 1, 1},      {0x037F, 0x037F, 1, 116},    {0x0386, 0x0386, 1, 38},
    {0x0388, 0x038A, 1, 37},     {0x038C, 0x038C, 1, 64},     {0x038E, 0x038F, 1, 63},
    {0x0391, 0x03A1, 1, 32},     {0x03A3, 0x03AB, 1, 32},     {0x03C2, 0x03C2, 1, 1},
    {0x03CF, 0x03CF, 1, 8},      {0x03D0, 0x03D0, 1, -30},    {0x03D1, 0x03D1, 1, -25},
    {0x03D5, 0x03D5, 1, -15},    {0x03D6, 0x03D6, 1, -22},    {0x03D8, 0x03EE, 2, 1},
    {0x03F0, 0x03F0, 1, -54},    {0x03F1, 0x03F1, 1, -48},    {0x03F4, 0x03F4, 1, -60},
    {0x03F5, 0x03F5, 1, -64},    {0x03F7, 0x03F7, 1, 1},      {0x03F9, 0x03F9, 1, -7},
    {0x03FA, 0x03FA, 1, 1},      {0x03FD, 0x03FF, 1, -130},   {0x0400, 0x040F, 1, 80},
    {0x0410, 0x042F, 1, 32},     {0x0460, 0x0480, 2, 1},      {0x048A, 0x04BE, 2, 1},
    {0x04C0, 0x04C0, 1, 15},     {0x04C1, 0x04CD, 2, 1},      {0x04D0, 0x052E, 2, 1},
    {0x0531, 0x0556, 1, 48},     {0x10A0, 0x10C5, 1, 7264},   {0x10C7, 0x10C7, 1, 7264},
    {0x10CD, 0x10CD, 1, 7264},   {0x13F8, 0x13FD, 1, -8},     {0x1C80, 0x1C80, 1, -6222},
    {0x1C81, 0x1C81, 1, -6221},  {0x1C82, 0x1C82, 1, -6212},  {0x1C83, 0x1C84, 1, -6210},
    {0x1C85, 0x1C85, 1, -6211},  {0x1C86, 0x1C86, 1, -6204},  {0x1C87, 0x1C87, 1, -6180},
    {0x1C88, 0x1C88, 1, 35267},  {0x1C90, 0x1CBA, 1, -3008},  {0x1CBD, 0x1CBF, 1, -3008},
    {0x1E00, 0x1E94, 2, 1},      {0x1E9B, 0x1E9B, 1, -58},    {0x1E9E, 0x1E9E, 1, -7615},
    {0x1EA0, 0x1EFE, 2, 1},      {0x1F08, 0x1F0F, 1, -8},     {0x1F18, 0x1F1D, 1, -8},
    {0x1F28, 0x1F2F, 1, -8},     {0x1F38, 0x1F3F, 1, -8},     {0x1F48, 0x1F4D, 1, -8},
    {0x1F59, 0x1F5F, 2, -8},     {0x1F68, 0x1F6F, 1, -8},     {0x1F88, 0x1F8F, 1, -8},
    {0x1F98, 0x1F9F, 1, -8},     {0x1FA8, 0x1FAF, 1, -8},     {0x1FB8, 0x1FB9, 1, -8},
    {0x1FBA, 0x1FBB, 1, -74},    {0x1FBC, 0x1FBC, 1, -9},     {0x1FBE, 0x1FBE, 1, -7173},
    {0x1FC8, 0x1FCB, 1, -86},    {0x1FCC, 0x1FCC, 1, -9},     {0x1FD8, 0x1FD9, 1, -8},
    {0x1FDA, 0x1FDB, 1, -100},   {0x1FE8, 0x1FE9, 1, -8},     {0x1FEA, 0x1FEB, 1, -112},
    {0x1FEC, 0x1FEC, 1, -7},     {0x1FF8, 0x1FF9, 1, -128},   {0x1FFA, 0x1FFB, 1, -126},
    {0x1FFC, 0x1FFC, 1, -9},     {0x2126, 0x2126, 1, -7517},  {0x212A, 0x212A, 1, -8383},
    {0x212B, 0x212B, 1, -8262},  {0x2132, 0x2132, 1, 28},     {0x2160, 0x216F, 1, 16},
    {0x2183, 0x2183, 1, 1},      {0x24B6, 0x24CF, 1, 26},     {0x2C00, 0x2C2F, 1, 48},
    {0x2C60, 0x2C60, 1, 1},      {0x2C62, 0x2C62, 1, -10743}, {0x2C63, 0x2C63, 1, -3814},
    {0x2C64, 0x2C64, 1, -10727}, {0x2C67, 0x2C6B, 2, 1},      {0x2C6D, 0x2C6D, 1, -10780},
    {0x2C6E, 0x2C6E, 1, -10749}, {0x2C6F, 0x2C6F, 1, -10783}, {0x2C70, 0x2C70, 1, -10782},
    {0x2C72, 0x2C72, 1, 1},      {0x2C75, 0x2C75, 1, 1},      {0x2C7E, 0x2C7F, 1, -10815},
    {0x2C80, 0x2CE2, 2, 1},      {0x2CEB, 0x2CED, 2, 1},      {0x2CF2, 0x2CF2, 1, 1},
    {0xA640, 0xA66C, 2, 1},      {0xA680, 0xA69A, 2, 1},      {0xA722, 0xA72E, 2, 1},
    {0xA732, 0xA76E, 2, 1},      {0xA779, 0xA77B, 2, 1},      {0xA77D, 0xA77D, 1, -35332},
    {0xA77E, 0xA786, 2, 1},      {0xA78B, 0xA78B, 1, 1},      {0xA78D, 0xA78D, 1, -42280},
    {0xA790, 0xA792, 2, 1},      {0xA796, 0xA7A8, 2, 1},      {0xA7AA, 0xA7AA, 1, -42308},
    {0xA7AB, 0xA7AB, 1, -42319}, {0xA7AC, 0xA7AC, 1, -42315}, {0xA7AD, 0xA7AD, 1, -42305},
    {0xA7AE, 0xA7AE, 1, -42308}, {0xA7B0, 0xA7B0, 1, -42258}, {0xA7B1, 0xA7B1, 1, -42282},
    {0xA7B2, 0xA7B2, 1, -42261}, {0xA7B3, 0xA7B3, 1, 928},    {0xA7B4, 0xA7C2, 2, 1},
    {0xA7C4, 0xA7C4, 1, -48},    {0xA7C5, 0xA7C5, 1, -42307}, {0xA7C6, 0xA7C6, 1, -35384},
    {0xA7C7, 0xA7C9, 2, 1},      {0xA7D0, 0xA7D0, 1, 1},      {0xA7D6, 0xA7D8, 2, 1},
    {0xA7F5, 0xA7F5, 1, 1},      {0xAB70, 0xABBF, 1, -38864}, {0xFF21, 0xFF3A, 1, 32},
    {0x10400, 0x10427, 1, 40},   {0x104B0, 0x104D3, 1, 40},   {0x10570, 0x1057A, 1, 39},
    {0x1057C, 0x1058A, 1, 39},   {0x1058C, 0x10592, 1, 39},   {0x10594, 0x10595, 1, 39},
    {0x10C80, 0x10CB2, 1, 64},   {0x118A0, 0x118BF, 1, 32},   {0x16E40, 0x16E5F, 1, 32},
    {0x1E900, 0x1E921, 1, 34},
};

/* Returns cp's simple case folding; see filter.h. */
uint32_t filter_fold_codepoint(uint32_t cp)
{
    size_t lo = 0, hi = sizeof(filter_fold_runs) / sizeof(filter_fold_runs[0]), mid;
    const struct filter_fold_run *r;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        r = &filter_fold_runs[mid];
        if (cp < r->fr_first) {
            hi = mid;
        } else if (cp > r->fr_last) {
            lo = mid + 1;
        } else {
            if ((cp - r->fr_first) % r->fr_stride != 0)
                return cp;
            return (uint32_t)((int64_t)cp + r->fr_delta);
        }
    }
    return cp;
}

static void filter_set_msg(char *errmsg, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "Invalid filter: " and a client-safe message into errmsg (may be NULL). */
static void filter_set_msg(char *errmsg, size_t errcap, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!errmsg || errcap == 0)
        return;
    va_start(ap, fmt);
    n = snprintf(errmsg, errcap, "%s", FILTER_PREFIX);
    if (n >= 0 && (size_t)n < errcap)
        (void)vsnprintf(errmsg + n, errcap - (size_t)n, fmt, ap);
    va_end(ap);
}

static int filter_is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Returns the length of the word (attribute or operator) at s: up to a space, quote or parenthesis.
 */
static size_t filter_word_len(const char *s, size_t len)
{
    size_t n;

    for (n = 0; n < len; n++) {
        char c = s[n];
        if (filter_is_space(c) || c == '"' || c == '\'' || c == '(' || c == ')')
            break;
    }
    return n;
}

/* Returns 1 when the word w (n bytes) is kw (lowercase ASCII) in any ASCII case. */
static int filter_word_is(const char *w, size_t n, const char *kw)
{
    return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

static int filter_word_is_logical(const char *w, size_t n)
{
    return filter_word_is(w, n, "and") || filter_word_is(w, n, "or") || filter_word_is(w, n, "not");
}

/* Returns the next code point of s (len bytes) at *i, folded, advancing *i. */
static uint32_t filter_next_folded(const char *s, size_t len, size_t *i)
{
    uint32_t cp;
    size_t n = query_decode_utf8(s + *i, len - *i, &cp);

    if (n == 0) {
        cp = FILTER_BAD_BYTE((unsigned char)s[*i]);
        *i += 1;
        return cp;
    }
    *i += n;
    return filter_fold_codepoint(cp);
}

/* Writes code point cp as 4 big-endian bytes (the key form). */
static void filter_put_key(char *p, uint32_t cp)
{
    p[0] = (char)(unsigned char)(cp >> 24);
    p[1] = (char)(unsigned char)(cp >> 16);
    p[2] = (char)(unsigned char)(cp >> 8);
    p[3] = (char)(unsigned char)cp;
}

/* Fills f's value, folded code points and (for co) KMP table from the value text. */
static enum err filter_store_value(struct filter *f, const char *v, size_t vlen)
{
    size_t i, n = 0, k;

    f->f_value = mem_strndup(v, vlen);
    if (!f->f_value)
        return ERR_NOMEM;
    f->f_value_len = vlen;
    for (i = 0; i < vlen; n++)
        (void)filter_next_folded(v, vlen, &i);
    if (n == 0)
        return ERR_OK;
    f->f_fold = mem_calloc(n, sizeof(*f->f_fold));
    if (!f->f_fold)
        return ERR_NOMEM;
    for (i = 0, k = 0; i < vlen; k++)
        f->f_fold[k] = filter_next_folded(v, vlen, &i);
    f->f_fold_len = n;
    f->f_key = mem_alloc(n * 4 + 1);
    if (!f->f_key)
        return ERR_NOMEM;
    for (k = 0; k < n; k++)
        filter_put_key(f->f_key + 4 * k, f->f_fold[k]);
    f->f_key[n * 4] = '\0';
    f->f_key_len = n * 4;
    if (f->f_op != FILTER_OP_CO)
        return ERR_OK;
    /* KMP: f_next[q] = longest proper prefix of f_fold[0..q] that is also its suffix. */
    f->f_next = mem_calloc(n, sizeof(*f->f_next));
    if (!f->f_next)
        return ERR_NOMEM;
    f->f_next[0] = 0;
    for (i = 1, k = 0; i < n; i++) {
        while (k > 0 && f->f_fold[i] != f->f_fold[k])
            k = f->f_next[k - 1];
        if (f->f_fold[i] == f->f_fold[k])
            k++;
        f->f_next[i] = k;
    }
    return ERR_OK;
}

/* Wipes and frees f's memory; see filter.h. */
void filter_clear(struct filter *f)
{
    if (!f)
        return;
    if (f->f_value) {
        explicit_bzero(f->f_value, f->f_value_len);
        mem_free(f->f_value);
    }
    if (f->f_fold) {
        explicit_bzero(f->f_fold, f->f_fold_len * sizeof(*f->f_fold));
        mem_free(f->f_fold);
    }
    if (f->f_key) {
        explicit_bzero(f->f_key, f->f_key_len);
        mem_free(f->f_key);
    }
    if (f->f_next) {
        explicit_bzero(f->f_next, f->f_fold_len * sizeof(*f->f_next));
        mem_free(f->f_next);
    }
    memset(f, 0, sizeof(*f));
}

/* Parses a filter; see filter.h. */
enum err filter_parse(struct filter *out, enum filter_target t, const char *text, size_t len,
                      char *errmsg, size_t errcap)
{
    static const char logical[] = "and, or, not and parentheses are not supported";
    const char *attr_name = NULL, *op_name = NULL, *attr_help;
    enum err rc = ERR_BAD_INPUT;
    size_t i = 0, n, sp, vstart, vend;
    const char *q;

    memset(out, 0, sizeof(*out));
    if (errmsg && errcap)
        errmsg[0] = '\0';
    attr_help = t == FILTER_VAULTS ? "use title or name" : "use title or tag";
    if (len > FILTER_MAX_BYTES) {
        filter_set_msg(errmsg, errcap, "the filter is too long");
        rc = ERR_TOO_LARGE;
        goto out;
    }
    if (len && memchr(text, '\0', len)) {
        filter_set_msg(errmsg, errcap, "the filter contains a NUL byte");
        goto out;
    }
    if (!query_is_text(text, len)) {
        filter_set_msg(errmsg, errcap, "the filter is not valid UTF-8");
        goto out;
    }

    /* Attribute. */
    while (i < len && filter_is_space(text[i]))
        i++;
    if (i == len) {
        filter_set_msg(errmsg, errcap, "the filter is empty");
        goto out;
    }
    n = filter_word_len(text + i, len - i);
    if (n == 0) {
        if (text[i] == '(' || text[i] == ')')
            filter_set_msg(errmsg, errcap, "%s", logical);
        else
            filter_set_msg(errmsg, errcap, "missing attribute; %s", attr_help);
        goto out;
    }
    if (filter_word_is_logical(text + i, n)) {
        filter_set_msg(errmsg, errcap, "%s", logical);
        goto out;
    }
    if (t == FILTER_VAULTS && filter_word_is(text + i, n, "name")) {
        out->f_attr = FILTER_ATTR_NAME;
        attr_name = "name";
    } else if (t == FILTER_VAULTS && filter_word_is(text + i, n, "title")) {
        out->f_attr = FILTER_ATTR_NAME;
        attr_name = "title";
    } else if (t == FILTER_ITEMS && filter_word_is(text + i, n, "title")) {
        out->f_attr = FILTER_ATTR_TITLE;
        attr_name = "title";
    } else if (t == FILTER_ITEMS && filter_word_is(text + i, n, "tag")) {
        out->f_attr = FILTER_ATTR_TAG;
        attr_name = "tag";
    } else {
        filter_set_msg(errmsg, errcap, "unknown attribute; %s", attr_help);
        goto out;
    }
    i += n;

    /* Operator. */
    while (i < len && filter_is_space(text[i]))
        i++;
    if (i < len && (text[i] == '(' || text[i] == ')')) {
        filter_set_msg(errmsg, errcap, "%s", logical);
        goto out;
    }
    n = filter_word_len(text + i, len - i);
    if (n == 0) {
        filter_set_msg(errmsg, errcap, "missing operator after %s; use eq or co", attr_name);
        goto out;
    }
    if (filter_word_is(text + i, n, "eq")) {
        out->f_op = FILTER_OP_EQ;
        op_name = "eq";
    } else if (filter_word_is(text + i, n, "co")) {
        out->f_op = FILTER_OP_CO;
        op_name = "co";
    } else {
        filter_set_msg(errmsg, errcap, "unknown operator after %s; use eq or co", attr_name);
        goto out;
    }
    i += n;

    /* Value. */
    for (sp = 0; i < len && filter_is_space(text[i]); sp++)
        i++;
    if (i == len) {
        filter_set_msg(errmsg, errcap, "missing value after %s; put the value in double quotes",
                       op_name);
        goto out;
    }
    if (text[i] == '\'') {
        filter_set_msg(errmsg, errcap, "the value must be in double quotes, not single quotes");
        goto out;
    }
    if (text[i] != '"') {
        filter_set_msg(errmsg, errcap, "the value must be in double quotes");
        goto out;
    }
    if (sp == 0) {
        filter_set_msg(errmsg, errcap, "expected a space between %s and the value", op_name);
        goto out;
    }
    vstart = i + 1;
    q = memchr(text + vstart, '"', len - vstart);
    if (!q) {
        filter_set_msg(errmsg, errcap, "the value has no closing double quote");
        goto out;
    }
    vend = (size_t)(q - text);

    /* Nothing but spaces may follow. */
    i = vend + 1;
    while (i < len && filter_is_space(text[i]))
        i++;
    if (i < len) {
        n = filter_word_len(text + i, len - i);
        if (filter_word_is_logical(text + i, n) || text[i] == '(' || text[i] == ')')
            filter_set_msg(errmsg, errcap, "%s", logical);
        else
            filter_set_msg(errmsg, errcap,
                           "unexpected text after the value; a value cannot contain a double "
                           "quote");
        goto out;
    }

    out->f_target = t;
    rc = filter_store_value(out, text + vstart, vend - vstart);
    if (rc != ERR_OK && errmsg && errcap)
        (void)snprintf(errmsg, errcap, "%s", err_message(rc)); /* not the client's fault */
out:
    if (rc != ERR_OK)
        filter_clear(out);
    return rc;
}

/* Parses the filter query parameter; see filter.h. */
enum err filter_parse_query(struct filter *out, int *present, enum filter_target t,
                            const char *query, size_t len, char *errmsg, size_t errcap)
{
    struct buf value;
    int found = 0;
    enum err rc;

    memset(out, 0, sizeof(*out));
    if (present)
        *present = 0;
    rc = query_get(&value, query, len, "filter", &found, errmsg, errcap);
    if (rc != ERR_OK)
        goto out;
    if (!found || value.b_len == 0)
        goto out;
    rc = filter_parse(out, t, value.b_data, value.b_len, errmsg, errcap);
    if (rc == ERR_OK && present)
        *present = 1;
out:
    buf_free(&value);
    return rc;
}

/* Returns 1 when s passes f's operator and value. */
static int filter_match_text(const struct filter *f, const char *s)
{
    size_t len, i = 0, q = 0;
    uint32_t cp;

    if (!s)
        s = "";
    len = strlen(s);
    if (f->f_op == FILTER_OP_EQ) {
        while (i < len) {
            cp = filter_next_folded(s, len, &i);
            if (q == f->f_fold_len || f->f_fold[q] != cp)
                return 0;
            q++;
        }
        return q == f->f_fold_len;
    }
    if (f->f_fold_len == 0)
        return 1;
    /* co: Knuth-Morris-Pratt over the folded code points, linear in len. */
    while (i < len) {
        cp = filter_next_folded(s, len, &i);
        while (q > 0 && f->f_fold[q] != cp)
            q = f->f_next[q - 1];
        if (f->f_fold[q] == cp)
            q++;
        if (q == f->f_fold_len)
            return 1;
    }
    return 0;
}

/* Matches a vault name; see filter.h. */
int filter_match_vault(const struct filter *f, const char *name)
{
    if (!f || f->f_attr == FILTER_ATTR_NONE)
        return 1;
    if (f->f_target != FILTER_VAULTS || f->f_attr != FILTER_ATTR_NAME)
        return 0;
    return filter_match_text(f, name);
}

/* Makes the folded key of s; see filter.h. */
enum err filter_fold_key(const char *s, char **key, size_t *len)
{
    size_t n = strlen(s), i = 0, k = 0;
    char *out;

    *key = NULL;
    *len = 0;
    if (n > (SIZE_MAX - 1) / 4)
        return ERR_TOO_LARGE;
    out = mem_alloc(n * 4 + 1); /* at most one code point per byte */
    if (!out)
        return ERR_NOMEM;
    while (i < n) {
        filter_put_key(out + k, filter_next_folded(s, n, &i));
        k += 4;
    }
    out[k] = '\0';
    *key = out;
    *len = k;
    return ERR_OK;
}

/* Returns 1 when key (len bytes) matches f's title condition. */
static int filter_match_key(const struct filter *f, const char *key, size_t len)
{
    const char *p = key, *end = key + len, *hit;

    if (f->f_op == FILTER_OP_EQ)
        return len == f->f_key_len && (len == 0 || memcmp(key, f->f_key, len) == 0);
    if (f->f_key_len == 0)
        return 1;
    /* co: a byte match counts only at a code point's start (offsets of 4) */
    while (p < end && (hit = memmem(p, (size_t)(end - p), f->f_key, f->f_key_len)) != NULL) {
        if ((size_t)(hit - key) % 4 == 0)
            return 1;
        p = hit + 1;
    }
    return 0;
}

/* Matches with a precomputed title key; see filter.h. */
int filter_match_item_key(const struct filter *f, const char *title, const char *title_key,
                          size_t title_key_len, const char *const *tags, size_t ntags)
{
    if (title_key && f && f->f_attr == FILTER_ATTR_TITLE && f->f_target == FILTER_ITEMS &&
        (f->f_key || f->f_fold_len == 0))
        return filter_match_key(f, title_key, title_key_len);
    return filter_match_item(f, title, tags, ntags);
}

/* Matches an item's title or tags; see filter.h. */
int filter_match_item(const struct filter *f, const char *title, const char *const *tags,
                      size_t ntags)
{
    size_t i;

    if (!f || f->f_attr == FILTER_ATTR_NONE)
        return 1;
    if (f->f_target != FILTER_ITEMS)
        return 0;
    if (f->f_attr == FILTER_ATTR_TITLE)
        return filter_match_text(f, title);
    if (f->f_attr != FILTER_ATTR_TAG || !tags)
        return 0;
    for (i = 0; i < ntags; i++) {
        if (tags[i] && filter_match_text(f, tags[i]))
            return 1;
    }
    return 0;
}
