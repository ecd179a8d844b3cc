/*
 * test_cli_util.c - the pure helpers of the admin commands (cli/cli_util.h, cli/admin.h):
 * option parsing with the shared options, one-line errors and their exit codes, table
 * cells, JSON member helpers, base64url members, request targets, writing a new 0600 file
 * (refusing an existing path or a symlink), the default kit path and reading a passphrase
 * file. Output to stdout/stderr is captured and compared byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/admin.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "common/alloc.h"
#include "crypto/crypto.h"
#include "keys/kit.h"

static char g_dir[64];

static int group_setup(void **state)
{
    (void)state;
    if (crypto_init() != ERR_OK)
        return -1;
    snprintf(g_dir, sizeof(g_dir), "/tmp/test_cli_util.XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    rmdir(g_dir);
    return 0;
}

/* ---- capturing stdout / stderr ----------------------------------------------------- */

struct capture {
    FILE *cp_stream;
    int cp_saved;
    FILE *cp_tmp;
};

/* Redirects stream (stdout or stderr) into a temporary file. */
static void capture_begin(struct capture *c, FILE *stream)
{
    c->cp_stream = stream;
    fflush(stream);
    c->cp_saved = dup(fileno(stream));
    assert_true(c->cp_saved >= 0);
    c->cp_tmp = tmpfile();
    assert_non_null(c->cp_tmp);
    assert_true(dup2(fileno(c->cp_tmp), fileno(stream)) >= 0);
}

/* Restores the stream and returns what was written (NUL-terminated, at most cap-1 bytes). */
static const char *capture_end(struct capture *c, char *out, size_t cap)
{
    size_t n;

    fflush(c->cp_stream);
    assert_true(dup2(c->cp_saved, fileno(c->cp_stream)) >= 0);
    close(c->cp_saved);
    rewind(c->cp_tmp);
    n = fread(out, 1, cap - 1, c->cp_tmp);
    out[n] = '\0';
    fclose(c->cp_tmp);
    return out;
}

/* ---- errors ------------------------------------------------------------------------- */

static void test_fail_and_usage(void **state)
{
    struct capture c;
    char text[256];

    (void)state;
    capture_begin(&c, stderr);
    assert_int_equal(cli_fail("cannot read %s (%d)", "x.json", 3), CLI_EXIT_FAIL);
    assert_int_equal(cli_usage("usage: sesame %s", "vault"), CLI_EXIT_USAGE);
    assert_string_equal(capture_end(&c, text, sizeof(text)),
                        "sesame: cannot read x.json (3)\nsesame: usage: sesame vault\n");
    assert_int_equal(CLI_EXIT_OK, 0);
    assert_int_equal(CLI_EXIT_FAIL, 1);
    assert_int_equal(CLI_EXIT_USAGE, 2);
}

/* ---- option parsing ----------------------------------------------------------------- */

#define MAXARGS 12

struct parse_case {
    const char *args[MAXARGS]; /* after "sesame cmd sub" */
    int ec;
    const char *err; /* stderr, exact */
    /* what is expected on success */
    const char *out, *kit, *hub, *pwfile;
    int json;
    size_t nmany;
    const char *many0, *many1;
    size_t npos;
    const char *pos0, *pos1;
};

static void test_parse(void **state)
{
    static const struct parse_case cases[] = {
        {.args = {NULL}, .ec = CLI_EXIT_OK, .err = ""},
        {.args = {"--out", "f", "--kit=k.json", "--hub", "http://h:1", "--passphrase-file", "pw"},
         .ec = CLI_EXIT_OK,
         .err = "",
         .out = "f",
         .kit = "k.json",
         .hub = "http://h:1",
         .pwfile = "pw"},
        {.args = {"a", "--field", "x=1", "--field=y=2", "b", "--format", "json"},
         .ec = CLI_EXIT_OK,
         .err = "",
         .json = 1,
         .nmany = 2,
         .many0 = "x=1",
         .many1 = "y=2",
         .npos = 2,
         .pos0 = "a",
         .pos1 = "b"},
        {.args = {"--format=human", "-"}, .ec = CLI_EXIT_OK, .err = "", .npos = 1, .pos0 = "-"},
        /* "--" ends the options: what follows is positional, even with a leading dash */
        {.args = {"--", "--out", "-x"},
         .ec = CLI_EXIT_OK,
         .err = "",
         .npos = 2,
         .pos0 = "--out",
         .pos1 = "-x"},
        /* an empty value is a value */
        {.args = {"--out="}, .ec = CLI_EXIT_OK, .err = "", .out = ""},
        {.args = {"--nope"},
         .ec = CLI_EXIT_USAGE,
         .err = "sesame: 'vault get' has no option --nope\n"},
        /* the value of an unknown option is not echoed */
        {.args = {"--nope=secret"},
         .ec = CLI_EXIT_USAGE,
         .err = "sesame: 'vault get' has no option --nope\n"},
        {.args = {"-o", "f"},
         .ec = CLI_EXIT_USAGE,
         .err = "sesame: 'vault get' has no option -o\n"},
        {.args = {"--out"}, .ec = CLI_EXIT_USAGE, .err = "sesame: --out needs a value\n"},
        {.args = {"--out", "a", "--out=b"},
         .ec = CLI_EXIT_USAGE,
         .err = "sesame: --out is given twice\n"},
        {.args = {"--hub", "a", "--hub", "b"},
         .ec = CLI_EXIT_USAGE,
         .err = "sesame: --hub is given twice\n"},
        {.args = {"a", "b", "c"},
         .ec = CLI_EXIT_USAGE,
         .err = "sesame: 'vault get' takes 2 arguments; see 'sesame vault --help'\n"},
        {.args = {"--format", "yaml"},
         .ec = CLI_EXIT_USAGE,
         .err = "sesame: --format must be human or json\n"},
        {.args = {"--format", "JSON"},
         .ec = CLI_EXIT_USAGE,
         .err = "sesame: --format must be human or json\n"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct parse_case *pc = &cases[i];
        char *argv[MAXARGS + 3], text[256];
        const char *out = NULL, *many[CLI_MAX_MANY], *pos[2];
        size_t nmany = 0, npos = 99;
        const struct cli_opt opts[] = {
            {"--out", &out, NULL, NULL},
            {"--field", NULL, many, &nmany},
        };
        struct cli_ctx x;
        struct capture c;
        int argc = 3, ec;

        memset(&x, 0, sizeof(x));
        x.cx_cmd = "vault";
        argv[0] = (char *)(uintptr_t) "sesame";
        argv[1] = (char *)(uintptr_t) "vault";
        argv[2] = (char *)(uintptr_t) "get";
        while (argc - 3 < MAXARGS && pc->args[argc - 3])
            argv[argc] = (char *)(uintptr_t)pc->args[argc - 3], argc++;
        argv[argc] = NULL;
        capture_begin(&c, stderr);
        ec = cli_parse(&x, argc, argv, 3, opts, 2, pos, 2, &npos, "vault get");
        capture_end(&c, text, sizeof(text));
        print_message("case %zu\n", i);
        assert_int_equal(ec, pc->ec);
        assert_string_equal(text, pc->err);
        if (ec != CLI_EXIT_OK)
            continue;
        if (pc->out)
            assert_string_equal(out, pc->out);
        else
            assert_null(out);
        if (pc->kit)
            assert_string_equal(x.cx_ao.ao_kit_path, pc->kit);
        else
            assert_null(x.cx_ao.ao_kit_path);
        if (pc->hub)
            assert_string_equal(x.cx_ao.ao_hub_url, pc->hub);
        else
            assert_null(x.cx_ao.ao_hub_url);
        if (pc->pwfile)
            assert_string_equal(x.cx_ao.ao_passphrase_file, pc->pwfile);
        else
            assert_null(x.cx_ao.ao_passphrase_file);
        assert_int_equal(x.cx_json, pc->json);
        assert_int_equal(nmany, pc->nmany);
        if (pc->nmany > 0)
            assert_string_equal(many[0], pc->many0);
        if (pc->nmany > 1)
            assert_string_equal(many[1], pc->many1);
        assert_int_equal(npos, pc->npos);
        if (pc->npos > 0)
            assert_string_equal(pos[0], pc->pos0);
        if (pc->npos > 1)
            assert_string_equal(pos[1], pc->pos1);
    }
}

/* A repeatable option takes CLI_MAX_MANY values, not one more. */
static void test_parse_many_cap(void **state)
{
    char *argv[3 + 2 * (CLI_MAX_MANY + 1)], text[256];
    const char *many[CLI_MAX_MANY], *pos[1];
    size_t nmany = 0, npos;
    const struct cli_opt opts[] = {{"--vault", NULL, many, &nmany}};
    struct cli_ctx x;
    struct capture c;
    int argc = 3, i, ec;

    (void)state;
    memset(&x, 0, sizeof(x));
    x.cx_cmd = "connect";
    argv[0] = argv[1] = argv[2] = (char *)(uintptr_t) "x";
    for (i = 0; i < CLI_MAX_MANY; i++) {
        argv[argc++] = (char *)(uintptr_t) "--vault";
        argv[argc++] = (char *)(uintptr_t) "v";
    }
    assert_int_equal(cli_parse(&x, argc, argv, 3, opts, 1, pos, 0, &npos, "t"), CLI_EXIT_OK);
    assert_int_equal(nmany, CLI_MAX_MANY);
    nmany = 0;
    argv[argc++] = (char *)(uintptr_t) "--vault=w";
    capture_begin(&c, stderr);
    ec = cli_parse(&x, argc, argv, 3, opts, 1, pos, 0, &npos, "t");
    capture_end(&c, text, sizeof(text));
    assert_int_equal(ec, CLI_EXIT_USAGE);
    assert_string_equal(text, "sesame: --vault is given more than 100 times\n");
}

/* ---- table cells -------------------------------------------------------------------- */

static void test_width_and_cells(void **state)
{
    struct capture c;
    char text[256];

    (void)state;
    assert_int_equal(cli_width(NULL), 0);
    assert_int_equal(cli_width(""), 0);
    assert_int_equal(cli_width("Infra"), 5);
    assert_int_equal(cli_width("caf\xc3\xa9"), 4);              /* café */
    assert_int_equal(cli_width("\xe6\x97\xa5\xe6\x9c\xac"), 2); /* two CJK code points */
    assert_int_equal(cli_width("\xf0\x9f\x94\x91"), 1);         /* one 4-byte code point */
    assert_int_equal(cli_width("a\tb"), 3);

    capture_begin(&c, stdout);
    cli_put_cell("ID", 4);
    cli_put_cell("caf\xc3\xa9", 5);
    fputs("|\n", stdout);
    cli_put_cell("longer", 2); /* never truncated: two spaces follow */
    fputs("|\n", stdout);
    cli_put_safe("a\tb\x1b[31m\x7f"
                 "c\n");
    cli_put_safe(NULL);
    assert_string_equal(capture_end(&c, text, sizeof(text)),
                        "ID    caf\xc3\xa9   |\nlonger  |\na?b?[31m?c?");
}

/* ---- JSON members ------------------------------------------------------------------- */

static void test_members(void **state)
{
    json_t *o = json_loads("{\"s\":\"text\",\"n\":42,\"neg\":-7,\"f\":1.5,\"b\":true,\"z\":null,"
                           "\"ns\":\"12\"}",
                           0, NULL);
    json_t *t;

    (void)state;
    assert_non_null(o);
    assert_string_equal(cli_str(o, "s"), "text");
    assert_string_equal(cli_str(o, "n"), "");
    assert_string_equal(cli_str(o, "missing"), "");
    assert_string_equal(cli_str(NULL, "s"), "");
    assert_int_equal(cli_int(o, "n"), 42);
    assert_int_equal(cli_int(o, "neg"), -7);
    assert_int_equal(cli_int(o, "f"), 0);
    assert_int_equal(cli_int(o, "b"), 0);
    assert_int_equal(cli_int(o, "z"), 0);
    assert_int_equal(cli_int(o, "ns"), 0);
    assert_int_equal(cli_int(o, "missing"), 0);
    json_decref(o);

    t = cli_json_time(0);
    assert_true(json_is_null(t));
    json_decref(t);
    t = cli_json_time(1);
    assert_string_equal(json_string_value(t), "1970-01-01T00:00:01Z");
    json_decref(t);
    t = cli_json_time(1700000000);
    assert_string_equal(json_string_value(t), "2023-11-14T22:13:20Z");
    json_decref(t);
    t = cli_json_time(INT64_MAX);
    assert_true(json_is_null(t));
    json_decref(t);

    o = json_loads("{\"a\":\"Infra\"}", 0, NULL);
    assert_string_equal(cli_vault_label(o, "a"), "Infra");
    assert_string_equal(cli_vault_label(o, "b"), "b");
    assert_string_equal(cli_vault_label(NULL, "c"), "c");
    json_decref(o);
}

static void test_b64_members(void **state)
{
    static const struct {
        const char *json;
        enum err rc;
        size_t len;
        const char *bytes;
    } cases[] = {
        {"{\"k\":\"\"}", ERR_OK, 0, ""},
        {"{\"k\":\"Zg\"}", ERR_OK, 1, "f"},
        {"{\"k\":\"Zm9vYmFy\"}", ERR_OK, 6, "foobar"},
        {"{\"k\":\"-_8\"}", ERR_OK, 2, "\xfb\xff"},
        {"{\"k\":\"Zg==\"}", ERR_BAD_INPUT, 0, NULL}, /* padding refused */
        {"{\"k\":\"+/8\"}", ERR_BAD_INPUT, 0, NULL},  /* standard alphabet refused */
        {"{\"k\":\"Z\"}", ERR_BAD_INPUT, 0, NULL},
        {"{\"k\":\"Zm 9v\"}", ERR_BAD_INPUT, 0, NULL},
        {"{\"k\":12}", ERR_BAD_INPUT, 0, NULL},
        {"{\"other\":\"Zg\"}", ERR_BAD_INPUT, 0, NULL},
    };
    unsigned char all[256], *out;
    struct buf b;
    json_t *o;
    size_t i, len;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        o = json_loads(cases[i].json, 0, NULL);
        assert_non_null(o);
        out = (unsigned char *)&len; /* must be reset */
        len = 99;
        assert_int_equal(cli_b64_member(o, "k", &out, &len), cases[i].rc);
        if (cases[i].rc == ERR_OK) {
            assert_non_null(out);
            assert_int_equal(len, cases[i].len);
            assert_memory_equal(out, cases[i].bytes, len);
        } else {
            assert_null(out);
            assert_int_equal(len, 0);
        }
        mem_free(out);
        json_decref(o);
    }

    /* every byte value survives cli_set_b64 -> cli_b64_member */
    for (i = 0; i < sizeof(all); i++)
        all[i] = (unsigned char)i;
    buf_init(&b, 1024);
    assert_int_equal(buf_add(&b, all, sizeof(all)), ERR_OK);
    o = json_object();
    assert_int_equal(cli_set_b64(o, "ct", &b), ERR_OK);
    assert_null(strchr(json_string_value(json_object_get(o, "ct")), '='));
    assert_int_equal(json_string_length(json_object_get(o, "ct")), 342);
    assert_int_equal(cli_b64_member(o, "ct", &out, &len), ERR_OK);
    assert_int_equal(len, sizeof(all));
    assert_memory_equal(out, all, sizeof(all));
    mem_free(out);
    buf_free(&b);
    json_decref(o);
}

/* ---- request targets ---------------------------------------------------------------- */

static void test_target(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 512);
    assert_int_equal(cli_target(&b, "/v1/servers/", "s1s1s1s1s1s1s1s1s1s1s1s1s1", "/grants/",
                                "v1v1v1v1v1v1v1v1v1v1v1v1v1"),
                     ERR_OK);
    assert_string_equal(buf_str(&b),
                        "/v1/servers/s1s1s1s1s1s1s1s1s1s1s1s1s1/grants/v1v1v1v1v1v1v1v1v1v1v1v1v1");
    buf_free(&b);
    buf_init(&b, 512);
    assert_int_equal(cli_target(&b, "/v1/signing-keys/", "a b/c?d%e~f.g_h-i", NULL, NULL), ERR_OK);
    assert_string_equal(buf_str(&b), "/v1/signing-keys/a%20b%2Fc%3Fd%25e~f.g_h-i");
    buf_free(&b);
    buf_init(&b, 512);
    assert_int_equal(cli_target(&b, "/v1/tokens?server=", "\xc3\xa9&x=1", NULL, NULL), ERR_OK);
    assert_string_equal(buf_str(&b), "/v1/tokens?server=%C3%A9%26x%3D1");
    buf_free(&b);
    buf_init(&b, 24);
    assert_int_equal(cli_target(&b, "/v1/signing-keys/", "0123456789", NULL, NULL), ERR_TOO_LARGE);
    buf_free(&b);
}

/* ---- new 0600 files ----------------------------------------------------------------- */

/* Returns the content of path (at most cap-1 bytes), or NULL. */
static const char *slurp(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f)
        return NULL;
    n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
    return out;
}

static void test_write_new_file(void **state)
{
    char path[128], link[128], target[128], msg[512], expect[512], text[64];
    struct stat st;
    mode_t old = umask(0);

    (void)state;
    snprintf(path, sizeof(path), "%s/new.json", g_dir);
    assert_int_equal(cli_write_new_file(path, "{\"a\":1}\n", 8, msg, sizeof(msg)), ERR_OK);
    umask(old);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_string_equal(slurp(path, text, sizeof(text)), "{\"a\":1}\n");

    /* an existing file is neither overwritten nor truncated */
    assert_int_equal(cli_write_new_file(path, "other", 5, msg, sizeof(msg)), ERR_CONFLICT);
    snprintf(expect, sizeof(expect), "%s already exists; refusing to overwrite it", path);
    assert_string_equal(msg, expect);
    assert_string_equal(slurp(path, text, sizeof(text)), "{\"a\":1}\n");
    assert_int_equal(unlink(path), 0);

    /* a dangling symlink is not followed: nothing appears at its target */
    snprintf(link, sizeof(link), "%s/link", g_dir);
    snprintf(target, sizeof(target), "%s/target", g_dir);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(cli_write_new_file(link, "x", 1, msg, sizeof(msg)), ERR_CONFLICT);
    assert_int_equal(access(target, F_OK), -1);
    assert_int_equal(unlink(link), 0);

    /* an empty file is fine */
    assert_int_equal(cli_write_new_file(path, "", 0, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(unlink(path), 0);

    /* a missing directory */
    snprintf(path, sizeof(path), "%s/no/such.json", g_dir);
    assert_int_equal(cli_write_new_file(path, "x", 1, msg, sizeof(msg)), ERR_IO);
    snprintf(expect, sizeof(expect), "cannot create %s (ENOENT)", path);
    assert_string_equal(msg, expect);
}

/* ---- the default kit path ----------------------------------------------------------- */

static void test_default_kit_path(void **state)
{
    static const struct {
        const char *kit, *xdg, *home; /* NULL: unset */
        enum err rc;
        const char *path;
    } cases[] = {
        {"/k/kit.json", "/x", "/h", ERR_OK, "/k/kit.json"},
        {"rel/kit.json", NULL, NULL, ERR_OK, "rel/kit.json"},
        {"", "/x", "/h", ERR_OK, "/x/sesame/account-kit.json"},
        {NULL, "/x", "/h", ERR_OK, "/x/sesame/account-kit.json"},
        {NULL, "relative", "/h", ERR_OK, "/h/.config/sesame/account-kit.json"},
        {NULL, "", "/h", ERR_OK, "/h/.config/sesame/account-kit.json"},
        {NULL, NULL, "/home/me", ERR_OK, "/home/me/.config/sesame/account-kit.json"},
        {NULL, NULL, NULL, ERR_CONFIG, ""},
        {NULL, NULL, "relative", ERR_CONFIG, ""},
    };
    char *saved[3], out[128];
    const char *names[3] = {"SESAME_ACCOUNT_KIT", "XDG_CONFIG_HOME", "HOME"};
    size_t i, j;

    (void)state;
    for (j = 0; j < 3; j++) {
        const char *v = getenv(names[j]);
        saved[j] = v ? mem_strdup(v) : NULL;
    }
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *vals[3] = {cases[i].kit, cases[i].xdg, cases[i].home};

        for (j = 0; j < 3; j++) {
            if (vals[j])
                assert_int_equal(setenv(names[j], vals[j], 1), 0);
            else
                assert_int_equal(unsetenv(names[j]), 0);
        }
        out[0] = '\0';
        assert_int_equal(admin_default_kit_path(out, sizeof(out)), cases[i].rc);
        if (cases[i].rc == ERR_OK)
            assert_string_equal(out, cases[i].path);
    }
    assert_int_equal(setenv("HOME", "/home/me", 1), 0);
    assert_int_equal(unsetenv("SESAME_ACCOUNT_KIT"), 0);
    assert_int_equal(unsetenv("XDG_CONFIG_HOME"), 0);
    assert_int_equal(admin_default_kit_path(out, 40), ERR_TOO_LARGE); /* 40 bytes + NUL */
    assert_int_equal(admin_default_kit_path(out, 41), ERR_OK);
    for (j = 0; j < 3; j++) {
        if (saved[j])
            assert_int_equal(setenv(names[j], saved[j], 1), 0);
        else
            assert_int_equal(unsetenv(names[j]), 0);
        mem_free(saved[j]);
    }
}

/* ---- passphrase files --------------------------------------------------------------- */

static void test_read_passphrase(void **state)
{
    static char longest[KIT_MAX_PASSPHRASE + 2];
    static const struct {
        const char *content; /* NULL: the longest / one byte more, see below */
        size_t len;
        enum err rc;
        const char *pw;
    } cases[] = {
        {"correct horse\n", 14, ERR_OK, "correct horse"},
        {"correct horse", 13, ERR_OK, "correct horse"},
        {"pw\r\n", 4, ERR_OK, "pw"},
        {"pw\r", 3, ERR_OK, "pw"},
        {"first\nsecond\n", 13, ERR_OK, "first"},
        {" spaced \n", 9, ERR_OK, " spaced "},
        {"", 0, ERR_BAD_INPUT, NULL},
        {"\n", 1, ERR_BAD_INPUT, NULL},
        {"\r\n", 2, ERR_BAD_INPUT, NULL},
        {"\nsecond\n", 8, ERR_BAD_INPUT, NULL},
    };
    char path[128], msg[512], expect[512], *pw;
    FILE *f;
    size_t i;

    (void)state;
    snprintf(path, sizeof(path), "%s/pw", g_dir);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(cases[i].content, 1, cases[i].len, f), cases[i].len);
        fclose(f);
        pw = (char *)(uintptr_t)path; /* must be reset */
        msg[0] = '\0';
        assert_int_equal(admin_read_passphrase(&pw, path, msg, sizeof(msg)), cases[i].rc);
        if (cases[i].rc == ERR_OK) {
            assert_string_equal(pw, cases[i].pw);
            assert_string_equal(msg, "");
        } else {
            assert_null(pw);
            snprintf(expect, sizeof(expect), "the passphrase file %s is empty", path);
            assert_string_equal(msg, expect);
        }
        admin_passphrase_free(pw);
    }

    /* KIT_MAX_PASSPHRASE bytes are fine, one more is refused */
    memset(longest, 'p', KIT_MAX_PASSPHRASE);
    for (i = 0; i < 2; i++) {
        f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(longest, 1, KIT_MAX_PASSPHRASE + i, f), KIT_MAX_PASSPHRASE + i);
        fputc('\n', f);
        fclose(f);
        if (i == 0) {
            assert_int_equal(admin_read_passphrase(&pw, path, msg, sizeof(msg)), ERR_OK);
            assert_int_equal(strlen(pw), KIT_MAX_PASSPHRASE);
            admin_passphrase_free(pw);
        } else {
            assert_int_equal(admin_read_passphrase(&pw, path, msg, sizeof(msg)), ERR_BAD_INPUT);
            assert_null(pw);
            snprintf(expect, sizeof(expect), "the passphrase in %s is longer than 1024 bytes",
                     path);
            assert_string_equal(msg, expect);
        }
    }
    assert_int_equal(unlink(path), 0);

    assert_int_equal(admin_read_passphrase(&pw, path, msg, sizeof(msg)), ERR_IO);
    assert_null(pw);
    snprintf(expect, sizeof(expect), "cannot read the passphrase file %s", path);
    assert_string_equal(msg, expect);
    admin_passphrase_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fail_and_usage),   cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_many_cap),   cmocka_unit_test(test_width_and_cells),
        cmocka_unit_test(test_members),          cmocka_unit_test(test_b64_members),
        cmocka_unit_test(test_target),           cmocka_unit_test(test_write_new_file),
        cmocka_unit_test(test_default_kit_path), cmocka_unit_test(test_read_passphrase),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
