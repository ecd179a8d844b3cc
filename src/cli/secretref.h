/*
 * secretref.h - secret references (op://vault/item[/section]/field[?query]) and the
 * templates that hold them, as the 1Password CLI writes them (op read / op inject / op run).
 * Pure parsing: no I/O, no network. The resolver (the lead's cli code) decides whether a
 * name is an id or a title and fetches the values.
 *
 * Reference syntax (docs/secret-references.md):
 *   op://<vault>/<item>[/<section>]/<field>[?<key>=<value>[&<key>=<value>]]
 * - The scheme is exactly "op://", lower case (1Password documents only that spelling).
 * - Exactly 3 or 4 segments: vault/item/field or vault/item/section/field. Empty segments
 *   are errors. A field segment may name a file attachment (op://vault/item/key.pem): that
 *   is a field syntactically; the resolver looks among the item's files as well.
 * - An unquoted segment holds only the characters 1Password documents: A-Z a-z 0-9 '-' '_'
 *   '.' and space; it may not begin or end with a space.
 * - SESAME EXTENSION (1Password documents no quoting; it says to use the id instead): a
 *   segment may be written in double quotes, "db/prod", holding any bytes but control
 *   characters, as valid UTF-8, with \" and \\ as the only escapes. The quotes must enclose
 *   the whole segment.
 * - Percent-encoding is NOT supported: '%' is an ordinary character (quote it).
 * - Query keys (ASCII case-insensitive, each at most once): "attribute" (alias "attr") and
 *   "ssh-format". Values of attribute, as documented for fields (value, type, id, purpose,
 *   otp) and for files (type, content, size, id, name), plus "totp" (same as otp; which one
 *   was asked is kept). ssh-format takes "openssh". Anything else is an error.
 * - Names are compared by the resolver; 1Password says references are case-insensitive,
 *   so secretref_canonical() can fold ASCII case for keys.
 *
 * Templates (op inject), secretref_next():
 * - enclosed: "{{" optional spaces/tabs, a reference (full syntax above, quoted segments
 *   included), optional spaces/tabs, "}}", on one line;
 * - bare: "op://" not preceded by A-Z a-z 0-9 '-' '+' '\' '.', running to the first byte
 *   outside A-Z a-z 0-9 '-' '?' '_' '.' (1Password's set) plus '/' and '=' (so that
 *   ?attribute=otp works bare); a bare reference has no spaces, quotes or '&' (use braces);
 * - literal escape: {{ "text" }} stands for text (\" and \\ escapes), as op documents;
 * - a "{{" not followed by op:// or a complete {{ "..." }} is ordinary text (so Helm or
 *   Jinja templates pass through); a bare or enclosed reference that does not parse is an
 *   error (write {{ "op://" }} to emit the text op:// literally);
 * - variables ($VAR, ${VAR}) are NOT expanded: they are ordinary text.
 *
 * Error messages say what is wrong and where (segment name, or template line and column),
 * never the text itself: a reference may sit next to a secret.
 */
#ifndef SESAME_CLI_SECRETREF_H
#define SESAME_CLI_SECRETREF_H

#include <stddef.h>

#include "common/err.h"

#define SECRETREF_SCHEME      "op://"
#define SECRETREF_MAX_LEN     4096 /* a reference's text, query included */
#define SECRETREF_MAX_SEGMENT 1024 /* one unescaped name (= ITEM_MAX_TITLE_BYTES) */
/* Room for any canonical form (quotes and escapes can double a name), NUL included. */
#define SECRETREF_CANON_MAX (sizeof(SECRETREF_SCHEME) + 4 * (2 * SECRETREF_MAX_SEGMENT + 3) + 64)

/* What of the field (or file) the reference asks for. */
enum secretref_attr {
    SECRETREF_ATTR_VALUE = 0, /* the field's value (default; "value") */
    SECRETREF_ATTR_TYPE,      /* "type" */
    SECRETREF_ATTR_ID,        /* "id" */
    SECRETREF_ATTR_PURPOSE,   /* "purpose" (fields) */
    SECRETREF_ATTR_OTP,       /* "otp": the current TOTP code */
    SECRETREF_ATTR_TOTP,      /* "totp": the same, spelled so */
    SECRETREF_ATTR_CONTENT,   /* "content" (files) */
    SECRETREF_ATTR_SIZE,      /* "size" (files) */
    SECRETREF_ATTR_NAME,      /* "name" (files) */
};

/* The ssh-format query parameter. */
enum secretref_ssh_format {
    SECRETREF_SSH_NONE = 0, /* not asked */
    SECRETREF_SSH_OPENSSH,  /* "openssh" */
};

/* A parsed reference. Strings are NUL-terminated, unescaped, owned (mem_alloc). */
struct secretref {
    char *sr_vault;                          /* vault name or id */
    char *sr_item;                           /* item title or id */
    char *sr_section;                        /* section label or id; NULL when absent */
    char *sr_field;                          /* field label/id or file name */
    enum secretref_attr sr_attr;             /* attribute asked for */
    enum secretref_ssh_format sr_ssh_format; /* ssh-format asked for */
};

/*
 * Parses the reference s (len bytes, need not be NUL-terminated; no surrounding blanks)
 * into out, which is zeroed on entry and on error. On ERR_OK the caller owns out's strings
 * and frees them with secretref_clear(). errmsg (errcap bytes, may be NULL) receives
 * "secret reference: <what is wrong>" on error and "" on success.
 * Returns ERR_OK, ERR_BAD_INPUT, ERR_TOO_LARGE (text over SECRETREF_MAX_LEN or a name over
 * SECRETREF_MAX_SEGMENT) or ERR_NOMEM.
 */
enum err secretref_parse(struct secretref *out, const char *s, size_t len, char *errmsg,
                         size_t errcap) SESAME_WUR;

/* Frees r's strings and zeroes r. NULL or an already cleared r is fine. */
void secretref_clear(struct secretref *r);

/* Returns 1 when a and b are the same reference (names byte for byte, same query). */
int secretref_equal(const struct secretref *a, const struct secretref *b);

/* Flags of secretref_canonical(). */
#define SECRETREF_CANON_FOLD 0x01u /* ASCII lower-case the names (case-insensitive key) */
#define SECRETREF_CANON_ITEM 0x02u /* only "op://vault/item": the key of the item to fetch */

/*
 * Writes r's canonical text into out (cap bytes, NUL-terminated; *outlen, if not NULL,
 * gets the length): names quoted only when they need it, "attribute=" omitted for value,
 * "?attribute=X" before "ssh-format=Y". Without SECRETREF_CANON_ITEM the result is a
 * reference that parses back to r (unless it exceeds SECRETREF_MAX_LEN, which an input of
 * at most SECRETREF_MAX_LEN - 5 bytes never does); with it, the text is a key only.
 * SECRETREF_CANON_MAX bytes always suffice. Returns ERR_OK, ERR_BAD_INPUT (r incomplete)
 * or ERR_TOO_LARGE (cap too small; out is then "").
 */
enum err secretref_canonical(const struct secretref *r, unsigned flags, char *out, size_t cap,
                             size_t *outlen) SESAME_WUR;

/* Returns the query spelling of a ("value", "otp", ...), or "?" for an unknown value. */
const char *secretref_attr_name(enum secretref_attr a);

/* What secretref_next() found. */
enum secretref_span_kind {
    SECRETREF_SPAN_BARE = 1, /* op://... */
    SECRETREF_SPAN_ENCLOSED, /* {{ op://... }} */
    SECRETREF_SPAN_LITERAL,  /* {{ "text" }}: emit the unescaped text */
};

/* One match in a template; offsets are bytes from the start of the text. */
struct secretref_span {
    enum secretref_span_kind ss_kind;
    size_t ss_start;     /* first byte of the match (braces included); on error, of the bad one */
    size_t ss_end;       /* one past its last byte: where the next search starts */
    size_t ss_ref_start; /* the reference text, or the literal's text between its quotes */
    size_t ss_ref_end;
};

/*
 * Finds the first reference or literal at or after offset from in text (len bytes, need
 * not be NUL-terminated; NUL bytes are ordinary text). To scan a whole template, start at
 * 0 and continue from span->ss_end. When ref is not NULL and a reference is found, it is
 * parsed into ref (zeroed on entry; the caller frees it with secretref_clear()).
 * Returns ERR_OK (span filled), ERR_NOT_FOUND (nothing left; span zeroed), or for a
 * malformed reference ERR_BAD_INPUT / ERR_TOO_LARGE with errmsg "template line L, column
 * C: <what is wrong>" and span->ss_start at the bad match, or ERR_NOMEM.
 */
enum err secretref_next(const char *text, size_t len, size_t from, struct secretref_span *span,
                        struct secretref *ref, char *errmsg, size_t errcap) SESAME_WUR;

/*
 * Unescapes a literal's raw text (span ss_ref_start..ss_ref_end: \" and \\ become " and \,
 * any other byte is copied) into out, which must hold len bytes. Returns the bytes written.
 */
size_t secretref_literal_unescape(const char *raw, size_t len, char *out);

#endif
