/*
 * cli_util.h - helpers shared by the admin commands (account, vault, item, connect,
 * activity): option parsing with the common --kit / --passphrase-file / --hub / --format
 * options, one-line errors on stderr, the admin client, JSON and table output, hub record
 * helpers, and writing a new 0600 file.
 */
#ifndef SESAME_CLI_CLI_UTIL_H
#define SESAME_CLI_CLI_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/admin.h"
#include "common/buf.h"
#include "common/err.h"

#define CLI_MAX_POS  4   /* positional arguments of any subcommand */
#define CLI_MAX_MANY 100 /* values of a repeatable option (TOKEN_MAX_VAULTS) */
#define CLI_ERR      ADMIN_ERRMSG_BYTES

/* What every subcommand shares: the admin options, the output format and the client. */
struct cli_ctx {
    const char *cx_cmd; /* "vault", "connect", ... for usage messages */
    struct admin_options cx_ao;
    const char *cx_format; /* NULL, "human" or "json" */
    int cx_json;
    struct admin *cx_admin;
    char cx_err[CLI_ERR];
};

/* One option of a subcommand: a single value, or a repeatable one collected in a list. */
struct cli_opt {
    const char *o_name;  /* "--out" */
    const char **o_one;  /* single value (NULL if repeatable) */
    const char **o_many; /* CLI_MAX_MANY slots (NULL if single) */
    size_t *o_nmany;
};

/* Prints "sesame: " and the formatted message on stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* As cli_fail, for bad usage; returns CLI_EXIT_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parses argv[start..] into the options of opts (plus the shared --kit,
 * --passphrase-file, --hub, --format) and at most maxpos positional arguments. Accepts
 * "--name value" and "--name=value"; "--" ends the options. Returns CLI_EXIT_OK, or
 * CLI_EXIT_USAGE after printing why (what names the subcommand for messages).
 */
int cli_parse(struct cli_ctx *x, int argc, char **argv, int start, const struct cli_opt *opts,
              size_t nopts, const char **pos, size_t maxpos, size_t *npos, const char *what);

/* Opens the kit and the hub client into x->cx_admin. Returns CLI_EXIT_OK or CLI_EXIT_FAIL. */
int cli_open(struct cli_ctx *x);

/* Prints v as indented JSON and a newline on stdout; returns the exit code. */
int cli_print_json(const json_t *v);

/* Writes s to stdout with control characters replaced by '?'. */
void cli_put_safe(const char *s);

/* Returns the display width of s (UTF-8 code points). */
size_t cli_width(const char *s);

/* Writes s padded with spaces to width w, then two spaces. */
void cli_put_cell(const char *s, size_t w);

/* Returns member name of obj as a string, or "" when absent. */
const char *cli_str(const json_t *obj, const char *name);

/* Returns member name of obj as an integer, or 0. */
int64_t cli_int(const json_t *obj, const char *name);

/* Returns a JSON string of t in RFC 3339, or null for 0 / out of range (caller owns it). */
json_t *cli_json_time(int64_t t);

/*
 * Decodes the unpadded base64url member name of obj into *out (mem_alloc'ed, *len bytes;
 * mem_free it). Returns ERR_OK, ERR_BAD_INPUT or ERR_NOMEM.
 */
enum err cli_b64_member(const json_t *obj, const char *name, unsigned char **out,
                        size_t *len) SESAME_WUR;

/* Sets obj[name] to the unpadded base64url of b; returns ERR_OK or ERR_NOMEM. */
enum err cli_set_b64(json_t *obj, const char *name, const struct buf *b) SESAME_WUR;

/*
 * Returns in *names a JSON object mapping the id of every vault of the account to its
 * decrypted name (vaults whose attributes do not open are left out). Returns ERR_OK or
 * the error of the hub call (x->cx_err says why).
 */
enum err cli_vault_names(struct cli_ctx *x, json_t **names) SESAME_WUR;

/* Returns the name of vault id in names, else the id itself. */
const char *cli_vault_label(const json_t *names, const char *id);

/* Builds "<prefix><id1 escaped>[<mid><id2 escaped>]" into out. Returns ERR_OK or an error. */
enum err cli_target(struct buf *out, const char *prefix, const char *id1, const char *mid,
                    const char *id2) SESAME_WUR;

/*
 * Writes len bytes of data to a new file at path with mode 0600: refuses an existing path
 * (O_EXCL, no symlink followed), fsyncs the file and its directory, and removes what it
 * created on failure. Returns ERR_OK, ERR_CONFLICT (exists) or ERR_IO, with errmsg.
 */
enum err cli_write_new_file(const char *path, const char *data, size_t len, char *errmsg,
                            size_t errcap) SESAME_WUR;

#define CLI_READ_CHUNK (64u << 10) /* first buffer of cli_read_all_secure */

/* Writes len bytes to fd, retrying short writes and EINTR. Returns 0, or -1 with errno set. */
int cli_write_all(int fd, const void *data, size_t len);

/*
 * Reads fd to its end into secure memory: *out (NUL-terminated; secmem_free it) and *len.
 * Returns ERR_OK, ERR_TOO_LARGE (more than max bytes), ERR_IO (a read failed; errno set)
 * or ERR_NOMEM; *out is NULL on error.
 */
enum err cli_read_all_secure(int fd, size_t max, char **out, size_t *len) SESAME_WUR;

/*
 * Writes len bytes of data to path with mode 0600, atomically: a new temporary file beside
 * it (fsynced), then renamed over path (overwrite) or linked to it (refusing an existing
 * path), then the directory fsynced; readers see the old file or the whole new one, never
 * a part. Returns ERR_OK, ERR_CONFLICT (exists, without overwrite) or ERR_IO, with errmsg.
 */
enum err cli_write_file_atomic(const char *path, const char *data, size_t len, int overwrite,
                               char *errmsg, size_t errcap) SESAME_WUR;

/*
 * Writes "PORT\n" to path atomically (a temporary file beside it, fsync, rename): the
 * --port-file of `sesame hub`, `sesame sync` and `sesame api`, read by tests and by
 * `sesame up`. Returns 0, or -1 with errno set.
 */
int cli_port_file_write(const char *path, int port);

#endif
