/*
 * cli_read.c - `sesame read` and `sesame inject`: secret references resolved against the
 * Connect server of OP_CONNECT_HOST / OP_CONNECT_TOKEN (resolve.h) and written out.
 *
 *   sesame read REF [-o FILE] [--force] [-n | --no-newline]
 *     prints the value (and a newline unless -n); with -o writes exactly the value to FILE
 *     (mode 0600, atomically; an existing FILE only with --force).
 *   sesame inject [-i TEMPLATE] [-o FILE] [--force]
 *     copies TEMPLATE (or stdin) with every {{ op://... }} and bare op://... reference
 *     replaced by its value and {{ "text" }} by text; to FILE (0600, atomically, nothing
 *     written on any error) or stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/resolve.h"
#include "cli/secretref.h"
#include "common/alloc.h"
#include "crypto/crypto.h"
#include "http/client.h"

#define INJECT_MAX_BYTES  (16u << 20) /* a template */
#define INJECT_MAX_OUTPUT (64u << 20) /* what it becomes */
#define INJECT_MAX_SPANS  65536       /* references and literals in one template */

/* Initialises crypto and the HTTP client and makes the resolver; prints why not. */
static int cr_open(const char *cmd, struct resolver **r)
{
    char msg[RESOLVE_ERRMSG_BYTES];

    *r = NULL;
    if (crypto_init() != ERR_OK || http_client_global_init() != ERR_OK) {
        fprintf(stderr, "sesame: %s: cannot initialise the crypto and HTTP libraries\n", cmd);
        return CLI_EXIT_FAIL;
    }
    if (resolver_new(r, msg, sizeof(msg)) != ERR_OK) {
        http_client_global_cleanup();
        fprintf(stderr, "sesame: %s: %s\n", cmd, msg);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* Frees the resolver and the HTTP client. */
static void cr_close(struct resolver *r)
{
    resolver_free(r);
    http_client_global_cleanup();
}

/* `sesame read`: see the top of this file. */
int cli_cmd_read(int argc, char **argv)
{
    const char *ref = NULL, *out = NULL, *value = NULL;
    char msg[RESOLVE_ERRMSG_BYTES];
    struct resolver *r = NULL;
    int i, force = 0, newline = 1, rc;
    size_t len = 0;

    for (i = 2; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-o") == 0 || strcmp(a, "--out-file") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0])
                return cli_usage("read: %s needs a file name", a);
            out = argv[++i];
        } else if (strncmp(a, "--out-file=", 11) == 0 && a[11]) {
            out = a + 11;
        } else if (strcmp(a, "-n") == 0 || strcmp(a, "--no-newline") == 0) {
            newline = 0;
        } else if (strcmp(a, "-f") == 0 || strcmp(a, "--force") == 0) {
            force = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("usage: sesame read op://VAULT/ITEM[/SECTION]/FIELD[?attribute=A] "
                   "[-o FILE] [--force] [-n]\n");
            return CLI_EXIT_OK;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage("read: unknown option %s", a);
        } else if (ref) {
            return cli_usage("read: one reference at a time (use sesame inject for more)");
        } else {
            ref = a;
        }
    }
    if (!ref)
        return cli_usage("read: give a secret reference, op://vault/item/field");
    rc = cr_open("read", &r);
    if (rc != CLI_EXIT_OK)
        return rc;
    rc = CLI_EXIT_FAIL;
    if (resolver_get_text(r, ref, strlen(ref), &value, &len, msg, sizeof(msg)) != ERR_OK) {
        fprintf(stderr, "sesame: read: %s\n", msg);
        goto out;
    }
    if (out) {
        if (cli_write_file_atomic(out, value, len, force, msg, sizeof(msg)) != ERR_OK) {
            fprintf(stderr, "sesame: read: %s\n", msg);
            goto out;
        }
    } else if (cli_write_all(STDOUT_FILENO, value, len) != 0 ||
               (newline && cli_write_all(STDOUT_FILENO, "\n", 1) != 0)) {
        fprintf(stderr, "sesame: read: cannot write to stdout (%s)\n", strerrorname_np(errno));
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    cr_close(r);
    return rc;
}

/* One replacement in a template. */
struct cr_span {
    size_t cs_start, cs_end; /* the bytes replaced */
    const char *cs_val;      /* what replaces them (borrowed from the resolver or template) */
    size_t cs_len;
    int cs_literal; /* cs_val must be unescaped (a {{ "text" }} literal) */
};

/*
 * Finds and resolves every reference of text; *spans (mem_alloc) and *n describe them and
 * *outlen the size of the result. Returns ERR_OK or an error with msg.
 */
static enum err cr_inject_scan(struct resolver *r, const char *text, size_t len,
                               struct cr_span **spans, size_t *n, size_t *outlen, char *msg,
                               size_t cap)
{
    struct cr_span *v = NULL, *nv;
    size_t from = 0, count = 0, vcap = 0, total = len;
    enum err e;

    *spans = NULL;
    *n = 0;
    for (;;) {
        struct secretref_span sp;
        struct secretref ref;
        const char *val = NULL;
        size_t vlen = 0;

        e = secretref_next(text, len, from, &sp, &ref, msg, cap);
        if (e == ERR_NOT_FOUND) {
            e = ERR_OK;
            break;
        }
        if (e != ERR_OK)
            break;
        if (sp.ss_kind == SECRETREF_SPAN_LITERAL) {
            val = text + sp.ss_ref_start;
            vlen = sp.ss_ref_end - sp.ss_ref_start; /* an upper bound: unescaping shrinks */
        } else {
            e = resolver_get(r, &ref, &val, &vlen, msg, cap);
        }
        secretref_clear(&ref);
        if (e != ERR_OK)
            break;
        if (count == vcap) {
            if (vcap >= INJECT_MAX_SPANS) {
                e = err_msgf(ERR_TOO_LARGE, msg, cap, "more than %d references in the template",
                             INJECT_MAX_SPANS);
                break;
            }
            vcap = vcap ? 2 * vcap : 16;
            nv = mem_calloc(vcap, sizeof(*nv));
            if (!nv) {
                e = err_msgf(ERR_NOMEM, msg, cap, "out of memory");
                break;
            }
            if (count)
                memcpy(nv, v, count * sizeof(*v));
            mem_free(v);
            v = nv;
        }
        v[count].cs_start = sp.ss_start;
        v[count].cs_end = sp.ss_end;
        v[count].cs_val = val;
        v[count].cs_len = vlen;
        v[count].cs_literal = sp.ss_kind == SECRETREF_SPAN_LITERAL;
        count++;
        total = total - (sp.ss_end - sp.ss_start) + vlen;
        if (total > INJECT_MAX_OUTPUT) {
            e = err_msgf(ERR_TOO_LARGE, msg, cap, "the result would be over %u MiB",
                         INJECT_MAX_OUTPUT >> 20);
            break;
        }
        from = sp.ss_end;
    }
    if (e != ERR_OK) {
        mem_free(v);
        return e;
    }
    *spans = v;
    *n = count;
    *outlen = total;
    return ERR_OK;
}

/* `sesame inject`: see the top of this file. */
int cli_cmd_inject(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    char msg[RESOLVE_ERRMSG_BYTES], *text = NULL, *res = NULL;
    struct resolver *r = NULL;
    struct cr_span *spans = NULL;
    size_t len = 0, nspans = 0, outlen = 0, pos = 0, at = 0, i;
    int a, force = 0, fd = -1, rc;
    enum err e;

    for (a = 2; a < argc; a++) {
        const char *s = argv[a];

        if (strcmp(s, "-i") == 0 || strcmp(s, "--in-file") == 0 || strcmp(s, "-o") == 0 ||
            strcmp(s, "--out-file") == 0) {
            if (a + 1 >= argc || !argv[a + 1][0])
                return cli_usage("inject: %s needs a file name", s);
            if (s[1] == 'i' || s[2] == 'i')
                in = argv[++a];
            else
                out = argv[++a];
        } else if (strcmp(s, "-f") == 0 || strcmp(s, "--force") == 0) {
            force = 1;
        } else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            printf("usage: sesame inject [-i TEMPLATE] [-o FILE] [--force]\n");
            return CLI_EXIT_OK;
        } else {
            return cli_usage("inject: unknown argument %s", s);
        }
    }
    if (in) {
        fd = open(in, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "sesame: inject: cannot open %s (%s)\n", in, strerrorname_np(errno));
            return CLI_EXIT_FAIL;
        }
    }
    e = cli_read_all_secure(in ? fd : STDIN_FILENO, INJECT_MAX_BYTES, &text, &len);
    if (fd >= 0)
        close(fd);
    if (e != ERR_OK) {
        fprintf(stderr, "sesame: inject: cannot read the template (%s)\n",
                e == ERR_TOO_LARGE ? "over 16 MiB" : err_name(e));
        return CLI_EXIT_FAIL;
    }
    rc = cr_open("inject", &r);
    if (rc != CLI_EXIT_OK) {
        secmem_free(text);
        return rc;
    }
    rc = CLI_EXIT_FAIL;
    if (cr_inject_scan(r, text, len, &spans, &nspans, &outlen, msg, sizeof(msg)) != ERR_OK) {
        fprintf(stderr, "sesame: inject: %s\n", msg);
        goto out;
    }
    res = secmem_alloc(outlen + 1);
    if (!res) {
        fprintf(stderr, "sesame: inject: out of memory\n");
        goto out;
    }
    for (i = 0; i < nspans; i++) {
        memcpy(res + pos, text + at, spans[i].cs_start - at);
        pos += spans[i].cs_start - at;
        if (spans[i].cs_literal) {
            pos += secretref_literal_unescape(spans[i].cs_val, spans[i].cs_len, res + pos);
        } else {
            memcpy(res + pos, spans[i].cs_val, spans[i].cs_len);
            pos += spans[i].cs_len;
        }
        at = spans[i].cs_end;
    }
    memcpy(res + pos, text + at, len - at);
    pos += len - at;
    if (out) {
        if (cli_write_file_atomic(out, res, pos, force, msg, sizeof(msg)) != ERR_OK) {
            fprintf(stderr, "sesame: inject: %s\n", msg);
            goto out;
        }
    } else if (cli_write_all(STDOUT_FILENO, res, pos) != 0) {
        fprintf(stderr, "sesame: inject: cannot write to stdout (%s)\n", strerrorname_np(errno));
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    mem_free(spans);
    secmem_free(res);
    secmem_free(text);
    cr_close(r);
    return rc;
}
