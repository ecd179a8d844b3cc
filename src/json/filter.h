/*
 * filter.h - Connect's list filters (connect-api.md §5): `<attribute> <op> "<value>"`.
 *
 * Attributes: vaults `name` and `title` (synonyms); items `title` and `tag`. Operators:
 * `eq` (equal) and `co` (contains). Attribute and operator names are case-insensitive
 * (RFC 7644 §3.4.2.2); spaces and tabs between the tokens and around the filter are
 * ignored, and the operator and the value must be separated by at least one of them.
 * The value is a double-quoted string compared literally: no escapes, so a value cannot
 * contain '"'. Anything else - single quotes, no quotes, unknown attribute or operator,
 * empty filter, text after the value, and/or/not, parentheses - is refused with
 * ERR_BAD_INPUT and a message that names what was wrong but never echoes the request.
 *
 * Matching is case-insensitive by Unicode simple case folding (CaseFolding.txt status C
 * and S, Unicode 14.0.0) over code points: no full folding (German sharp s does not match
 * "ss"), no Turkic rules, no normalisation (precomposed and decomposed accents differ).
 * `eq` means equal after folding, `co` a substring after folding (`co ""` matches every
 * string). `tag eq`/`tag co` match an item with at least one tag that matches.
 * docs/data-model-filters.md has every rule and each difference from Connect.
 */
#ifndef SESAME_JSON_FILTER_H
#define SESAME_JSON_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"

/* The longest filter text accepted (it arrives in a URL, so this never bites a client). */
#define FILTER_MAX_BYTES HTTP_MAX_URL_BYTES

/* Room for any message filter_parse or filter_parse_query writes. */
#define FILTER_ERRMSG_MAX 128

/* Which list a filter applies to; decides the attributes it may name. */
enum filter_target {
    FILTER_VAULTS, /* GET /v1/vaults: name, title */
    FILTER_ITEMS   /* GET /v1/vaults/{id}/items: title, tag */
};

enum filter_attr {
    FILTER_ATTR_NONE = 0, /* no filter: matches everything */
    FILTER_ATTR_NAME,     /* vault name (spelt `name` or `title`) */
    FILTER_ATTR_TITLE,    /* item title */
    FILTER_ATTR_TAG       /* one of an item's tags */
};

enum filter_op {
    FILTER_OP_EQ = 1, /* equal after case folding */
    FILTER_OP_CO      /* contains after case folding */
};

/*
 * A parsed filter. All memory is owned by the struct and released by filter_clear().
 * A zeroed or cleared struct (f_attr FILTER_ATTR_NONE) matches everything.
 */
struct filter {
    enum filter_target f_target; /* the list it was parsed for */
    enum filter_attr f_attr;     /* FILTER_ATTR_NONE when there is no filter */
    enum filter_op f_op;
    char *f_value;      /* the value as given, NUL-terminated (mem_alloc'd) */
    size_t f_value_len; /* its length in bytes */
    uint32_t *f_fold;   /* the value as case-folded code points (mem_alloc'd, may be NULL) */
    size_t f_fold_len;  /* number of code points */
    size_t *f_next;     /* KMP failure table over f_fold for `co` (mem_alloc'd, may be NULL) */
    char *f_key;        /* f_fold as a key (filter_fold_key's form; mem_alloc'd, may be NULL) */
    size_t f_key_len;   /* its length in bytes (4 per code point) */
};

/*
 * Parses the filter text (len bytes, need not be NUL-terminated; the decoded value of the
 * `filter` query parameter) for target t into *out, which is cleared on entry and owns its
 * memory on success (free with filter_clear(); on error it is left cleared).
 *
 * errmsg (errcap bytes, may be NULL; FILTER_ERRMSG_MAX is always enough) receives a
 * client-safe message - starting "Invalid filter: " for ERR_BAD_INPUT and ERR_TOO_LARGE,
 * err_message(ERR_NOMEM) for ERR_NOMEM - or "" on success. Returns ERR_OK,
 * ERR_BAD_INPUT (any syntax error, unknown attribute or operator, empty text, text that is
 * not UTF-8 or holds NUL), ERR_TOO_LARGE (over FILTER_MAX_BYTES) or ERR_NOMEM.
 */
enum err filter_parse(struct filter *out, enum filter_target t, const char *text, size_t len,
                      char *errmsg, size_t errcap) SESAME_WUR;

/*
 * Takes the `filter` parameter out of the raw query string (query.h rules) and parses it
 * for target t. A missing parameter, or an empty one (`filter=`), leaves *out cleared,
 * i.e. matching everything; *present (may be NULL) says whether a filter was parsed.
 * Ownership, errmsg and errors as filter_parse, plus query_get's (400 for a malformed
 * query, 413 for an over-long one).
 */
enum err filter_parse_query(struct filter *out, int *present, enum filter_target t,
                            const char *query, size_t len, char *errmsg, size_t errcap) SESAME_WUR;

/* Wipes and frees what f owns and leaves it cleared (matching everything). NULL is fine. */
void filter_clear(struct filter *f);

/*
 * Returns 1 when the vault named name (NUL-terminated UTF-8; NULL counts as "") passes f,
 * else 0. f NULL or cleared matches every vault; a filter parsed for FILTER_ITEMS matches
 * no vault.
 */
int filter_match_vault(const struct filter *f, const char *name);

/*
 * Returns 1 when the item with this title (NULL counts as "") and these ntags tags (tags
 * may be NULL when ntags is 0; NULL entries are skipped) passes f, else 0. f NULL or
 * cleared matches every item; a filter parsed for FILTER_VAULTS matches no item.
 */
int filter_match_item(const struct filter *f, const char *title, const char *const *tags,
                      size_t ntags);

/*
 * Makes the key filters compare text by: s (NUL-terminated UTF-8; invalid bytes are kept
 * apart from any character) case-folded, each code point as 4 big-endian bytes, so that an
 * `eq` is one memcmp and a `co` an aligned memmem. Precomputed for titles held in memory
 * (the api's index). Returns ERR_OK with *key (mem_alloc'd, NUL-terminated; mem_free) and
 * *len, or ERR_NOMEM / ERR_TOO_LARGE.
 */
enum err filter_fold_key(const char *s, char **key, size_t *len) SESAME_WUR;

/*
 * filter_match_item for a title whose filter_fold_key is title_key (title_key_len bytes):
 * the same answers, with no folding per call. title_key NULL: as filter_match_item.
 */
int filter_match_item_key(const struct filter *f, const char *title, const char *title_key,
                          size_t title_key_len, const char *const *tags, size_t ntags);

/*
 * Returns the simple case folding of code point cp (Unicode 14.0.0 CaseFolding.txt,
 * status C and S), or cp itself when it has none. Used by the matcher; exposed for tests.
 */
uint32_t filter_fold_codepoint(uint32_t cp);

#endif
