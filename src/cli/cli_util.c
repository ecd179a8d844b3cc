/*
 * cli_util.c - what every admin command shares: option parsing, one-line errors, the
 * admin client, JSON and table output, hub record helpers, and writing new 0600 files.
 */
#include "cli/cli_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/alloc.h"
#include "common/codec.h"
#include "common/limits.h"
#include "crypto/crypto.h"
#include "json/timefmt.h"
#include "keys/keyjson.h"
#include "keys/vaultcrypt.h"

/* Prints "sesame: " and the formatted message on stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("sesame: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAIL;
}

/* As cli_fail, for bad usage; returns CLI_EXIT_USAGE. */
int cli_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("sesame: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_USAGE;
}

/*
 * Parses argv[start..] into the options of opts (plus the shared --kit,
 * --passphrase-file, --hub, --format) and at most maxpos positional arguments. Accepts
 * "--name value" and "--name=value"; "--" ends the options. Returns CLI_EXIT_OK, or
 * CLI_EXIT_USAGE after printing why (what names the command for messages).
 */
int cli_parse(struct cli_ctx *x, int argc, char **argv, int start, const struct cli_opt *opts,
              size_t nopts, const char **pos, size_t maxpos, size_t *npos, const char *what)
{
    const struct cli_opt common[] = {
        {"--kit", &x->cx_ao.ao_kit_path, NULL, NULL},
        {"--passphrase-file", &x->cx_ao.ao_passphrase_file, NULL, NULL},
        {"--hub", &x->cx_ao.ao_hub_url, NULL, NULL},
        {"--format", &x->cx_format, NULL, NULL},
    };
    int i, dashdash = 0;
    size_t j;

    *npos = 0;
    for (i = start; i < argc; i++) {
        const char *arg = argv[i], *eq, *val;
        const struct cli_opt *o = NULL;
        size_t nlen;

        if (dashdash || arg[0] != '-' || arg[1] == '\0') {
            if (*npos == maxpos)
                return cli_usage("'%s' takes %zu argument%s; see 'sesame %s --help'", what, maxpos,
                                 maxpos == 1 ? "" : "s", x->cx_cmd);
            pos[(*npos)++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            dashdash = 1;
            continue;
        }
        eq = strchr(arg, '=');
        nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        for (j = 0; j < nopts + sizeof(common) / sizeof(common[0]) && !o; j++) {
            const struct cli_opt *c = j < nopts ? &opts[j] : &common[j - nopts];
            if (strlen(c->o_name) == nlen && strncmp(c->o_name, arg, nlen) == 0)
                o = c;
        }
        if (!o)
            return cli_usage("'%s' has no option %.*s", what, (int)(nlen > 64 ? 64 : nlen), arg);
        if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return cli_usage("%s needs a value", o->o_name);
        }
        if (o->o_one) {
            if (*o->o_one)
                return cli_usage("%s is given twice", o->o_name);
            *o->o_one = val;
        } else {
            if (*o->o_nmany == CLI_MAX_MANY)
                return cli_usage("%s is given more than %d times", o->o_name, CLI_MAX_MANY);
            o->o_many[(*o->o_nmany)++] = val;
        }
    }
    if (x->cx_format && strcmp(x->cx_format, "json") != 0 && strcmp(x->cx_format, "human") != 0)
        return cli_usage("--format must be human or json");
    x->cx_json = x->cx_format && strcmp(x->cx_format, "json") == 0;
    return CLI_EXIT_OK;
}

/* Opens the kit and the hub client. Returns CLI_EXIT_OK or CLI_EXIT_FAIL (printed). */
int cli_open(struct cli_ctx *x)
{
    if (admin_open(&x->cx_admin, &x->cx_ao, x->cx_err, sizeof(x->cx_err)) != ERR_OK)
        return cli_fail("%s", x->cx_err);
    return CLI_EXIT_OK;
}

/* Prints v as JSON (indented) and a newline on stdout; returns the exit code. */
int cli_print_json(const json_t *v)
{
    if (!v || json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
        fputc('\n', stdout) == EOF)
        return cli_fail("cannot write the output");
    return CLI_EXIT_OK;
}

/* Writes s with control characters replaced by '?' (names come from the hub). */
void cli_put_safe(const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        fputc(c < 0x20 || c == 0x7f ? '?' : c, stdout);
    }
}

/* Returns the display width of s (UTF-8 code points; control characters count 1). */
size_t cli_width(const char *s)
{
    size_t w = 0;

    for (; s && *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

/* Writes s padded with spaces to width w, then two spaces. */
void cli_put_cell(const char *s, size_t w)
{
    size_t n = cli_width(s);

    cli_put_safe(s);
    for (; n < w; n++)
        fputc(' ', stdout);
    fputs("  ", stdout);
}

/* Returns member name of obj as a string, or "" when absent. */
const char *cli_str(const json_t *obj, const char *name)
{
    const char *s = json_string_value(json_object_get(obj, name));

    return s ? s : "";
}

/* Returns member name of obj as an integer, or 0. */
int64_t cli_int(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* Returns a JSON string of t in RFC 3339, or null for 0 / out of range (caller owns it). */
json_t *cli_json_time(int64_t t)
{
    char text[TIMEFMT_RFC3339_LEN + 1];

    if (t == 0 || timefmt_rfc3339(text, t) != ERR_OK)
        return json_null();
    return json_string(text);
}

/*
 * Decodes the unpadded base64url member name of obj into *out (mem_alloc'ed, *len bytes;
 * mem_free it). Returns ERR_OK, ERR_BAD_INPUT or ERR_NOMEM.
 */
enum err cli_b64_member(const json_t *obj, const char *name, unsigned char **out, size_t *len)
{
    const json_t *v = json_object_get(obj, name);
    size_t cap;
    enum err rc;

    *out = NULL;
    *len = 0;
    if (!json_is_string(v))
        return ERR_BAD_INPUT;
    cap = codec_b64_decoded_max(json_string_length(v)) + 1;
    *out = mem_alloc(cap);
    if (!*out)
        return ERR_NOMEM;
    rc = codec_b64_decode(*out, cap, len, json_string_value(v), json_string_length(v),
                          CODEC_B64_URL);
    if (rc != ERR_OK) {
        mem_free(*out);
        *out = NULL;
        return ERR_BAD_INPUT;
    }
    return ERR_OK;
}

/* Sets obj[name] to the unpadded base64url of b; returns ERR_OK or ERR_NOMEM. */
enum err cli_set_b64(json_t *obj, const char *name, const struct buf *b)
{
    return keyjson_set_b64(obj, name, (const unsigned char *)b->b_data, b->b_len) == 0 ? ERR_OK
                                                                                       : ERR_NOMEM;
}

/*
 * Returns in *names a JSON object mapping the id of every vault of the account to its
 * name, decrypted here (vaults whose attributes do not open are left out). Returns ERR_OK
 * or the error of the hub call (x->cx_err says why).
 */
enum err cli_vault_names(struct cli_ctx *x, json_t **names)
{
    json_t *list = NULL, *v, *map;
    size_t i;
    enum err rc;

    *names = NULL;
    map = json_object();
    if (!map)
        return ERR_NOMEM;
    rc = admin_call(x->cx_admin, HTTP_CLIENT_GET, "/v1/vaults", NULL, NULL, &list, x->cx_err,
                    sizeof(x->cx_err));
    if (rc != ERR_OK) {
        json_decref(map);
        return rc;
    }
    json_array_foreach(list, i, v)
    {
        const char *id = cli_str(v, "id");
        const unsigned char *key;
        unsigned char *ct = NULL;
        json_t *attrs = NULL;
        size_t ctlen;
        char ignored[CLI_ERR];

        if (!id_is_valid(id) || cli_b64_member(v, "attrs", &ct, &ctlen) != ERR_OK)
            continue;
        if (admin_vault_key(x->cx_admin, id, &key, ignored, sizeof(ignored)) == ERR_OK &&
            vaultcrypt_attrs_open(&attrs, key, id, ct, ctlen) == ERR_OK &&
            json_is_string(json_object_get(attrs, "name")))
            json_object_set(map, id, json_object_get(attrs, "name"));
        json_decref(attrs);
        mem_free(ct);
    }
    json_decref(list);
    *names = map;
    return ERR_OK;
}

/* Returns the name of vault id in names, else the id itself. */
const char *cli_vault_label(const json_t *names, const char *id)
{
    const char *n = json_string_value(json_object_get(names, id));

    return n ? n : id;
}

/* Builds "/v1/<a>/<b escaped>[/<c>/<d escaped>]" into out. Returns ERR_OK or an error. */
enum err cli_target(struct buf *out, const char *prefix, const char *id1, const char *mid,
                    const char *id2)
{
    enum err rc = buf_add_str(out, prefix);

    if (rc == ERR_OK)
        rc = http_client_escape(out, id1);
    if (rc == ERR_OK && mid)
        rc = buf_add_str(out, mid);
    if (rc == ERR_OK && id2)
        rc = http_client_escape(out, id2);
    return rc;
}

/* Fsyncs the directory holding path (best effort). */
static void cli_fsync_dir_of(const char *path)
{
    char dir[CONFIG_MAX_PATH + 1];
    const char *slash = strrchr(path, '/');
    int dfd;

    if (slash && (size_t)(slash - path) < sizeof(dir)) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
        if (dir[0] == '\0')
            dir[0] = '/', dir[1] = '\0';
    } else {
        dir[0] = '.', dir[1] = '\0';
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
}

/* Writes len bytes to fd. See cli_util.h. */
int cli_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads all of fd into secure memory. See cli_util.h. */
enum err cli_read_all_secure(int fd, size_t max, char **out, size_t *len)
{
    size_t cap = max < CLI_READ_CHUNK ? max + 1 : CLI_READ_CHUNK, n = 0;
    char *b = secmem_alloc(cap + 1), *nb;
    ssize_t got;

    *out = NULL;
    *len = 0;
    if (!b)
        return ERR_NOMEM;
    for (;;) {
        if (n == cap) { /* full: grow, up to one byte over max (which says "too large") */
            size_t ncap = cap > (max + 1) / 2 ? max + 1 : 2 * cap;

            if (cap >= max + 1) {
                secmem_free(b);
                return ERR_TOO_LARGE;
            }
            nb = secmem_alloc(ncap + 1);
            if (!nb) {
                secmem_free(b);
                return ERR_NOMEM;
            }
            memcpy(nb, b, n);
            secmem_free(b);
            b = nb;
            cap = ncap;
        }
        got = read(fd, b + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            secmem_free(b);
            return ERR_IO;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    if (n > max) {
        secmem_free(b);
        return ERR_TOO_LARGE;
    }
    b[n] = '\0';
    *out = b;
    *len = n;
    return ERR_OK;
}

/*
 * Writes len bytes of data to a new file at path with mode 0600: refuses an existing path
 * (O_EXCL, no symlink followed), fsyncs the file and its directory, and removes what it
 * created on failure. Returns ERR_OK, ERR_CONFLICT (exists) or ERR_IO, with errmsg.
 */
enum err cli_write_new_file(const char *path, const char *data, size_t len, char *errmsg,
                            size_t errcap)
{
    int fd, saved;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return err_msgf(ERR_CONFLICT, errmsg, errcap,
                            "%s already exists; refusing to overwrite it", path);
        return err_msgf(ERR_IO, errmsg, errcap, "cannot create %s (%s)", path,
                        strerrorname_np(errno) ? strerrorname_np(errno) : "error");
    }
    if (fchmod(fd, 0600) != 0 || cli_write_all(fd, data, len) != 0 || fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    cli_fsync_dir_of(path);
    return ERR_OK;
fail:
    saved = errno;
    if (fd >= 0)
        close(fd);
    unlink(path);
    return err_msgf(ERR_IO, errmsg, errcap, "cannot write %s (%s)", path,
                    strerrorname_np(saved) ? strerrorname_np(saved) : "error");
}

/* Writes the port file (see cli_util.h). */
int cli_port_file_write(const char *path, int port)
{
    char tmp[CONFIG_MAX_PATH + 32], line[16];
    int fd, n, ok, saved;

    n = snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    n = snprintf(line, sizeof(line), "%d\n", port);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
    saved = errno;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        saved = ok ? errno : saved;
        (void)unlink(tmp);
        errno = saved;
        return -1;
    }
    return 0;
}

/* Writes a file atomically. See cli_util.h. */
enum err cli_write_file_atomic(const char *path, const char *data, size_t len, int overwrite,
                               char *errmsg, size_t errcap)
{
    char tmp[CONFIG_MAX_PATH + 32];
    enum err e = ERR_IO;
    int fd, n;

    n = snprintf(tmp, sizeof(tmp), "%s.sesame-XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return err_msgf(ERR_IO, errmsg, errcap, "the output path is too long");
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return err_msgf(ERR_IO, errmsg, errcap, "cannot create a file beside %s (%s)", path,
                        strerrorname_np(errno) ? strerrorname_np(errno) : "error");
    if (fchmod(fd, 0600) != 0 || cli_write_all(fd, data, len) != 0 || fsync(fd) != 0)
        goto fail;
    n = close(fd);
    fd = -1;
    if (n != 0)
        goto fail;
    if (overwrite) {
        if (rename(tmp, path) != 0)
            goto fail;
    } else {
        if (link(tmp, path) != 0) {
            if (errno == EEXIST) {
                (void)unlink(tmp);
                return err_msgf(ERR_CONFLICT, errmsg, errcap,
                                "%s already exists; refusing to overwrite it (--force)", path);
            }
            goto fail;
        }
        (void)unlink(tmp);
    }
    cli_fsync_dir_of(path);
    return ERR_OK;
fail:
    e = err_msgf(ERR_IO, errmsg, errcap, "cannot write %s (%s)", path,
                 strerrorname_np(errno) ? strerrorname_np(errno) : "error");
    if (fd >= 0)
        close(fd);
    (void)unlink(tmp);
    return e;
}
