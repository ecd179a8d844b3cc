/*
 * envfile.h - environment files for `sesame run --env-file` (dotenv style, as
 * `op run --env-file` reads them). Pure parsing: the caller reads the file and resolves
 * any op:// references in the values (secretref.h).
 *
 * Syntax (docs/secret-references.md, "Environment files"):
 * - one KEY=VALUE per line; lines end with LF or CRLF; a UTF-8 BOM at the start is skipped;
 * - blank lines and lines whose first non-blank byte is '#' are skipped;
 * - an optional "export" and blanks before KEY; optional blanks (space, tab) around '=';
 * - KEY is [A-Za-z_][A-Za-z0-9_]*, at most ENVFILE_MAX_KEY_BYTES;
 * - VALUE unquoted: the rest of the line with blanks trimmed; " #" (a blank then '#')
 *   starts a comment; quote characters inside are ordinary;
 * - VALUE in double quotes: \n \r \t \" \\ are escapes, a backslash before any other byte
 *   is kept as is (Windows paths survive); may span lines (as 1Password documents);
 * - VALUE in single quotes: literal, no escapes; may span lines;
 * - after a closing quote only blanks and an optional "# comment" may follow;
 * - a CR right before an LF is dropped everywhere, inside quoted values too;
 * - no $VAR expansion (values are taken as written); a NUL byte is an error;
 * - a KEY given twice: the later value wins, at the first one's position.
 * Errors name the line ("env file line N: ..."), never the text.
 */
#ifndef SESAME_CLI_ENVFILE_H
#define SESAME_CLI_ENVFILE_H

#include <stddef.h>

#include "common/err.h"

#define ENVFILE_MAX_BYTES       (1u << 20) /* the whole file */
#define ENVFILE_MAX_VARS        4096       /* distinct variables */
#define ENVFILE_MAX_LINE_BYTES  65536      /* one physical line, without its line end */
#define ENVFILE_MAX_VALUE_BYTES 65536      /* one value after unquoting (a PEM key fits) */
#define ENVFILE_MAX_KEY_BYTES   256        /* one variable name */

/* One variable. Strings are NUL-terminated and owned by the array. */
struct envfile_var {
    char *ev_key;        /* the name */
    char *ev_value;      /* the value, unquoted and unescaped ("" when empty) */
    size_t ev_value_len; /* strlen(ev_value): values never hold NUL */
    size_t ev_line;      /* line of the (last) assignment, 1-based */
};

/*
 * Parses text (len bytes, need not be NUL-terminated). On ERR_OK *out is an array of *n
 * variables in the order of their first assignment (NULL when *n is 0); the caller frees it
 * with envfile_free(). On error *out is NULL, *n is 0 and errmsg (errcap bytes, may be
 * NULL) says "env file line N: <what is wrong>" (or "env file: ..." for the size caps);
 * it is "" on success. Returns ERR_OK, ERR_BAD_INPUT, ERR_TOO_LARGE (over one of the caps
 * above) or ERR_NOMEM.
 */
enum err envfile_parse(const char *text, size_t len, struct envfile_var **out, size_t *n,
                       char *errmsg, size_t errcap) SESAME_WUR;

/* Wipes and frees the n variables of vars and the array. NULL is fine. */
void envfile_free(struct envfile_var *vars, size_t n);

#endif
