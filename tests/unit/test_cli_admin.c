/*
 * test_cli_admin.c - the admin client (cli/admin.h) and the commands `sesame account`,
 * `sesame vault` and `sesame item` against a hub started in-process (127.0.0.1, port 0, a
 * temporary SQLite file). The commands run through their entry points with stdout and
 * stderr captured: account init (written 0600, refusing an existing file, removed again
 * when the hub refuses), the admin client's error mapping, vault names and keys resolved
 * on the client, vaults and items created, read, edited, listed and deleted (titles,
 * ambiguity, attachments), and token-signing key rotation and retirement in the kit and on
 * the hub. The tests run in order and share one hub and one account.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/admin.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "common/ids.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "http/client.h"
#include "hub/hub.h"
#include "keys/kit.h"

#define MAXARGS 24
#define OUTCAP  (64u << 10)

static struct {
    char dir[64];
    char kit[128];
    char url[64];
    char account[ID_LEN + 1];
    char vault[ID_LEN + 1]; /* "Alpha", later "Beta" */
    struct hub *hub;
    FILE *log; /* the hub's log lines: the real stderr, not what a command writes */
} g;

static char g_out[OUTCAP], g_err[OUTCAP];

/* ---- running a command -------------------------------------------------------------- */

/* Runs cmd ("sesame" a0 a1 ... NULL) with stdout in g_out and stderr in g_err. */
static int run(int (*cmd)(int, char **), const char *a0, ...)
{
    char *argv[MAXARGS + 2];
    FILE *to = tmpfile(), *te = tmpfile();
    int argc = 1, so, se, ec;
    const char *a;
    size_t n;
    va_list ap;

    assert_non_null(to);
    assert_non_null(te);
    argv[0] = (char *)(uintptr_t) "sesame";
    va_start(ap, a0);
    for (a = a0; a; a = va_arg(ap, const char *)) {
        assert_true(argc < MAXARGS);
        argv[argc++] = (char *)(uintptr_t)a;
    }
    va_end(ap);
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    so = dup(STDOUT_FILENO);
    se = dup(STDERR_FILENO);
    assert_true(so >= 0 && se >= 0);
    assert_true(dup2(fileno(to), STDOUT_FILENO) >= 0);
    assert_true(dup2(fileno(te), STDERR_FILENO) >= 0);
    ec = cmd(argc, argv);
    fflush(stdout);
    fflush(stderr);
    assert_true(dup2(so, STDOUT_FILENO) >= 0);
    assert_true(dup2(se, STDERR_FILENO) >= 0);
    close(so);
    close(se);
    rewind(to);
    rewind(te);
    n = fread(g_out, 1, OUTCAP - 1, to);
    g_out[n] = '\0';
    n = fread(g_err, 1, OUTCAP - 1, te);
    g_err[n] = '\0';
    fclose(to);
    fclose(te);
    return ec;
}

/* Parses g_out as JSON (the test fails if it is not). */
static json_t *out_json(void)
{
    json_error_t jerr;
    json_t *j = json_loads(g_out, 0, &jerr);

    if (!j)
        print_error("not JSON (%s): %s\n", jerr.text, g_out);
    assert_non_null(j);
    return j;
}

/* Returns the field of a FullItem whose label is label, or NULL. */
static json_t *field_of(const json_t *item, const char *label)
{
    json_t *f;
    size_t i;

    json_array_foreach(json_object_get(item, "fields"), i, f)
    {
        const char *l = json_string_value(json_object_get(f, "label"));
        if (l && strcmp(l, label) == 0)
            return f;
    }
    return NULL;
}

static const char *jstr(const json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));

    return s ? s : "";
}

static json_int_t jint(const json_t *o, const char *name)
{
    return json_integer_value(json_object_get(o, name));
}

/* Opens the admin client of the test account. */
static struct admin *admin_of(void)
{
    struct admin_options ao;
    struct admin *a = NULL;
    char msg[ADMIN_ERRMSG_BYTES];

    memset(&ao, 0, sizeof(ao));
    ao.ao_kit_path = g.kit;
    assert_int_equal(admin_open(&a, &ao, msg, sizeof(msg)), ERR_OK);
    return a;
}

/* GET /v1/account as the test account. */
static json_t *account_record(void)
{
    struct admin *a = admin_of();
    char msg[ADMIN_ERRMSG_BYTES];
    json_t *rec = NULL;

    assert_int_equal(
        admin_call(a, HTTP_CLIENT_GET, "/v1/account", NULL, NULL, &rec, msg, sizeof(msg)), ERR_OK);
    admin_close(a);
    return rec;
}

/* ---- fixture ------------------------------------------------------------------------ */

static int fx_setup(void **state)
{
    struct hub_options opt;
    char db[96], err[256];

    (void)state;
    if (crypto_init() != ERR_OK || http_client_global_init() != ERR_OK)
        return -1;
    g.log = fdopen(dup(STDERR_FILENO), "w");
    if (!g.log)
        return -1;
    log_set_stream(g.log);
    unsetenv("SESAME_HUB");
    unsetenv("SESAME_ACCOUNT_KIT");
    snprintf(g.dir, sizeof(g.dir), "/tmp/test_cli_admin.XXXXXX");
    if (!mkdtemp(g.dir))
        return -1;
    snprintf(db, sizeof(db), "%s/hub.db", g.dir);
    snprintf(g.kit, sizeof(g.kit), "%s/kit.json", g.dir);
    memset(&opt, 0, sizeof(opt));
    opt.ho_host = "127.0.0.1";
    opt.ho_store_url = db;
    if (hub_start(&g.hub, &opt, err, sizeof(err)) != ERR_OK)
        return -1;
    snprintf(g.url, sizeof(g.url), "http://127.0.0.1:%d", hub_port(g.hub));
    return 0;
}

static int fx_teardown(void **state)
{
    static const char *const names[] = {"hub.db",   "hub.db-wal", "hub.db-shm",
                                        "kit.json", "att.bin",    "att.out"};
    char path[160];
    size_t i;

    (void)state;
    hub_stop(g.hub);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", g.dir, names[i]);
        unlink(path);
    }
    rmdir(g.dir);
    http_client_global_cleanup();
    log_set_stream(stderr);
    fclose(g.log);
    return 0;
}

/* ---- account ------------------------------------------------------------------------ */

static void test_account_init(void **state)
{
    char expect[1024], other[160];
    struct kit *k = NULL;
    struct stat st;

    (void)state;
    assert_int_equal(run(cli_cmd_account, "account", "init", "--out", g.kit, NULL), CLI_EXIT_USAGE);
    assert_string_equal(g_err, "sesame: usage: sesame account init --hub URL [--out FILE] "
                               "[--passphrase-file FILE]\n");
    assert_int_equal(access(g.kit, F_OK), -1);

    assert_int_equal(run(cli_cmd_account, "account", "init", "--hub", g.url, "--out", g.kit, NULL),
                     CLI_EXIT_OK);
    assert_string_equal(g_err, "");
    assert_int_equal(stat(g.kit, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(kit_load(&k, g.kit, NULL, expect, sizeof(expect)), ERR_OK);
    memcpy(g.account, kit_account_id(k), ID_LEN + 1);
    assert_string_equal(kit_hub_url(k), g.url);
    kit_free(k);
    snprintf(expect, sizeof(expect),
             "Account %s registered with %s\nAccount kit written to %s\n"
             "Keep this file safe: it holds the keys to every vault of the account.\n"
             "export SESAME_HUB=%s\nexport SESAME_ACCOUNT_KIT=%s\n",
             g.account, g.url, g.kit, g.url, g.kit);
    assert_string_equal(g_out, expect);

    /* never overwritten */
    assert_int_equal(run(cli_cmd_account, "account", "init", "--hub", g.url, "--out", g.kit, NULL),
                     CLI_EXIT_FAIL);
    snprintf(expect, sizeof(expect),
             "sesame: %s already exists; refusing to overwrite an account kit\n", g.kit);
    assert_string_equal(g_err, expect);
    assert_string_equal(g_out, "");

    /* a second account: registration is closed, and the new file goes again */
    snprintf(other, sizeof(other), "%s/kit2.json", g.dir);
    assert_int_equal(run(cli_cmd_account, "account", "init", "--hub", g.url, "--out", other, NULL),
                     CLI_EXIT_FAIL);
    assert_string_equal(g_err,
                        "sesame: cannot register the account: hub: registration is closed\n");
    assert_int_equal(access(other, F_OK), -1);

    /* show */
    assert_int_equal(run(cli_cmd_account, "account", "show", "--kit", g.kit, NULL), CLI_EXIT_OK);
    snprintf(expect, sizeof(expect), "Account:      %s\nHub:          %s\n", g.account, g.url);
    assert_memory_equal(g_out, expect, strlen(expect));
    assert_int_equal(
        run(cli_cmd_account, "account", "show", "--kit", g.kit, "--format", "json", NULL),
        CLI_EXIT_OK);
    {
        json_t *j = out_json();
        assert_string_equal(jstr(j, "id"), g.account);
        assert_int_equal(json_array_size(json_object_get(j, "signingKeys")), 1);
        json_decref(j);
    }
}

/* ---- the admin client --------------------------------------------------------------- */

static void test_admin_client(void **state)
{
    struct admin_options ao;
    struct admin *a = NULL;
    char msg[ADMIN_ERRMSG_BYTES], missing[160];
    json_t *rec = NULL;
    int status = 0;

    (void)state;
    a = admin_of();
    assert_string_equal(admin_kit_path(a), g.kit);
    assert_ptr_equal(admin_kit_edit(a), admin_kit(a));
    assert_int_equal(
        admin_call(a, HTTP_CLIENT_GET, "/v1/account", NULL, &status, &rec, msg, sizeof(msg)),
        ERR_OK);
    assert_int_equal(status, 200);
    assert_string_equal(jstr(rec, "id"), g.account);
    json_decref(rec);
    rec = NULL;

    /* non-2xx: the error of the status, with the hub's message */
    assert_int_equal(admin_call(a, HTTP_CLIENT_GET, "/v1/vaults/zzzzzzzzzzzzzzzzzzzzzzzzzz", NULL,
                                &status, &rec, msg, sizeof(msg)),
                     ERR_NOT_FOUND);
    assert_int_equal(status, 404);
    assert_null(rec);
    assert_string_equal(msg, "hub: vault not found");
    assert_int_equal(
        admin_call(a, HTTP_CLIENT_POST, "/v1/vaults", NULL, &status, &rec, msg, sizeof(msg)),
        ERR_BAD_INPUT);
    assert_int_equal(status, 400);
    assert_memory_equal(msg, "hub: ", 5);
    assert_int_equal(
        admin_vault_key(a, "not-an-id", &(const unsigned char *){NULL}, msg, sizeof(msg)),
        ERR_BAD_ID);
    admin_close(a);

    /* a hub that is not there, a URL that is not one, a kit that is not there */
    memset(&ao, 0, sizeof(ao));
    ao.ao_kit_path = g.kit;
    ao.ao_hub_url = "http://127.0.0.1:1";
    assert_int_equal(admin_open(&a, &ao, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(
        admin_call(a, HTTP_CLIENT_GET, "/v1/account", NULL, &status, &rec, msg, sizeof(msg)),
        ERR_UPSTREAM);
    assert_memory_equal(msg, "hub: ", 5);
    admin_close(a);
    a = NULL;
    ao.ao_hub_url = "ftp://127.0.0.1";
    assert_int_equal(admin_open(&a, &ao, msg, sizeof(msg)), ERR_CONFIG);
    assert_null(a);
    assert_string_equal(msg, "the hub URL is not valid: give --hub http(s)://HOST:PORT");
    snprintf(missing, sizeof(missing), "%s/none.json", g.dir);
    ao.ao_kit_path = missing;
    ao.ao_hub_url = NULL;
    assert_int_equal(admin_open(&a, &ao, msg, sizeof(msg)), ERR_IO);
    assert_null(a);
    admin_close(NULL);
}

/* ---- vaults ------------------------------------------------------------------------- */

static void test_vaults(void **state)
{
    char id[ID_LEN + 1], upper[ID_LEN + 1], msg[ADMIN_ERRMSG_BYTES], b1[ID_LEN + 1];
    const unsigned char *k1 = NULL, *k2 = NULL;
    struct admin *a;
    json_t *j;
    size_t i;

    (void)state;
    assert_int_equal(run(cli_cmd_vault, "vault", "create", "Alpha", "--description", "first",
                         "--kit", g.kit, "--format", "json", NULL),
                     CLI_EXIT_OK);
    j = out_json();
    assert_true(id_is_valid(jstr(j, "id")));
    memcpy(g.vault, jstr(j, "id"), ID_LEN + 1);
    assert_string_equal(jstr(j, "name"), "Alpha");
    assert_string_equal(jstr(j, "description"), "first");
    assert_string_equal(jstr(j, "type"), "USER_CREATED");
    assert_int_equal(jint(j, "attributeVersion"), 1);
    assert_int_equal(jint(j, "items"), 0);
    json_decref(j);
    assert_int_equal(
        run(cli_cmd_vault, "vault", "create", "Twin", "--kit", g.kit, "--format", "json", NULL),
        CLI_EXIT_OK);
    j = out_json();
    memcpy(b1, jstr(j, "id"), ID_LEN + 1);
    json_decref(j);
    assert_int_equal(run(cli_cmd_vault, "vault", "create", "Twin", "--kit", g.kit, NULL),
                     CLI_EXIT_OK);
    assert_int_equal(run(cli_cmd_vault, "vault", "create", "bad\tname", "--kit", g.kit, NULL),
                     CLI_EXIT_USAGE);
    assert_string_equal(g_err, "sesame: the vault name contains a control character\n");

    /* names are resolved on the client */
    a = admin_of();
    assert_int_equal(admin_vault_resolve(a, "Alpha", id, msg, sizeof(msg)), ERR_OK);
    assert_string_equal(id, g.vault);
    for (i = 0; i <= ID_LEN; i++)
        upper[i] = (char)(g.vault[i] >= 'a' && g.vault[i] <= 'z' ? g.vault[i] - 32 : g.vault[i]);
    assert_int_equal(admin_vault_resolve(a, upper, id, msg, sizeof(msg)), ERR_OK);
    assert_string_equal(id, g.vault);
    assert_int_equal(admin_vault_resolve(a, "Twin", id, msg, sizeof(msg)), ERR_CONFLICT);
    assert_string_equal(msg, "2 vaults are named so; use the vault id");
    assert_string_equal(id, "");
    assert_int_equal(admin_vault_resolve(a, "alpha", id, msg, sizeof(msg)), ERR_NOT_FOUND);
    assert_string_equal(msg, "no vault has that id or name");
    assert_int_equal(admin_vault_resolve(a, b1, id, msg, sizeof(msg)), ERR_OK);
    assert_string_equal(id, b1);
    /* the key is fetched once, then cached */
    assert_int_equal(admin_vault_key(a, g.vault, &k1, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(admin_vault_key(a, upper, &k2, msg, sizeof(msg)), ERR_OK);
    assert_non_null(k1);
    assert_ptr_equal(k1, k2);
    admin_close(a);

    assert_int_equal(run(cli_cmd_vault, "vault", "get", "Twin", "--kit", g.kit, NULL),
                     CLI_EXIT_FAIL);
    assert_string_equal(g_err, "sesame: 2 vaults are named so; use the vault id\n");
    assert_int_equal(run(cli_cmd_vault, "vault", "delete", b1, "--kit", g.kit, NULL), CLI_EXIT_OK);
    snprintf(msg, sizeof(msg), "Deleted vault %s\n", b1);
    assert_string_equal(g_out, msg);
    assert_int_equal(run(cli_cmd_vault, "vault", "rename", "Twin", "Gamma", "--kit", g.kit, NULL),
                     CLI_EXIT_OK);
    assert_int_equal(run(cli_cmd_vault, "vault", "rename", "Alpha", "Beta", "--kit", g.kit,
                         "--format", "json", NULL),
                     CLI_EXIT_OK);
    j = out_json();
    assert_string_equal(jstr(j, "id"), g.vault);
    assert_string_equal(jstr(j, "name"), "Beta");
    assert_string_equal(jstr(j, "description"), "first"); /* kept */
    assert_int_equal(jint(j, "attributeVersion"), 2);
    json_decref(j);

    assert_int_equal(run(cli_cmd_vault, "vault", "list", "--kit", g.kit, "--format", "json", NULL),
                     CLI_EXIT_OK);
    j = out_json();
    assert_int_equal(json_array_size(j), 2);
    assert_string_equal(jstr(json_array_get(j, 0), "name"), "Beta");
    assert_string_equal(jstr(json_array_get(j, 1), "name"), "Gamma");
    json_decref(j);
    assert_int_equal(run(cli_cmd_vault, "vault", "list", "--kit", g.kit, NULL), CLI_EXIT_OK);
    assert_memory_equal(g_out, "ID                          NAME   ITEMS  VERSION\n", 50);
    assert_non_null(strstr(g_out, "  Beta   0      1\n"));
    assert_int_equal(run(cli_cmd_vault, "vault", "get", "Alpha", "--kit", g.kit, NULL),
                     CLI_EXIT_FAIL);
    assert_string_equal(g_err, "sesame: no vault has that id or name\n");
}

/* ---- items -------------------------------------------------------------------------- */

static void test_items(void **state)
{
    char id[ID_LEN + 1], id2[ID_LEN + 1], att[160], outp[160], expect[256], back[64];
    json_t *j, *f;
    FILE *fp;
    size_t n;

    (void)state;
    snprintf(att, sizeof(att), "%s/att.bin", g.dir);
    snprintf(outp, sizeof(outp), "%s/att.out", g.dir);
    fp = fopen(att, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite("attached\0bytes", 1, 14, fp), 14);
    fclose(fp);

    assert_int_equal(run(cli_cmd_item, "item", "create", "--vault", "Beta", "--kit", g.kit,
                         "--title", "db admin", "--field", "username=admin", "--field",
                         "pin[password]=1234", "--tags", "prod,db", "--url", "https://db.example",
                         "--file", att, "--generate-password=letters,digits,20", NULL),
                     CLI_EXIT_OK);
    assert_string_equal(g_err, "");
    j = out_json();
    assert_true(id_is_valid(jstr(j, "id")));
    memcpy(id, jstr(j, "id"), ID_LEN + 1);
    assert_string_equal(jstr(j, "title"), "db admin");
    assert_string_equal(jstr(j, "category"), "LOGIN");
    assert_int_equal(jint(j, "version"), 1);
    assert_string_equal(jstr(json_object_get(j, "vault"), "id"), g.vault);
    assert_string_equal(jstr(j, "lastEditedBy"), g.account);
    assert_int_equal(json_array_size(json_object_get(j, "tags")), 2);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "urls"), 0), "href"),
                        "https://db.example");
    f = field_of(j, "username");
    assert_string_equal(jstr(f, "value"), "admin");
    f = field_of(j, "pin");
    assert_string_equal(jstr(f, "value"), "1234");
    assert_string_equal(jstr(f, "type"), "CONCEALED");
    f = field_of(j, "password");
    assert_int_equal(strlen(jstr(f, "value")), 20);
    f = json_array_get(json_object_get(j, "files"), 0);
    assert_string_equal(jstr(f, "name"), "att.bin");
    assert_int_equal(jint(f, "size"), 14);
    json_decref(j);

    /* get by title, and by id in upper case */
    assert_int_equal(
        run(cli_cmd_item, "item", "get", "db admin", "--vault", g.vault, "--kit", g.kit, NULL),
        CLI_EXIT_OK);
    j = out_json();
    assert_string_equal(jstr(j, "id"), id);
    assert_string_equal(jstr(field_of(j, "pin"), "value"), "1234");
    json_decref(j);

    /* the attachment comes back, decrypted here, into a new 0600 file */
    assert_int_equal(run(cli_cmd_item, "item", "file", id, "att.bin", "--vault", "Beta", "--kit",
                         g.kit, "--out", outp, NULL),
                     CLI_EXIT_OK);
    fp = fopen(outp, "rb");
    assert_non_null(fp);
    n = fread(back, 1, sizeof(back), fp);
    fclose(fp);
    assert_int_equal(n, 14);
    assert_memory_equal(back, "attached\0bytes", 14);

    /* edit: flags on top of the stored item, version + 1 */
    assert_int_equal(run(cli_cmd_item, "item", "edit", "db admin", "--vault", "Beta", "--kit",
                         g.kit, "--field", "pin=5678", "--tags", "rotated", NULL),
                     CLI_EXIT_OK);
    j = out_json();
    assert_int_equal(jint(j, "version"), 2);
    assert_string_equal(jstr(field_of(j, "pin"), "value"), "5678");
    assert_string_equal(jstr(field_of(j, "username"), "value"), "admin");
    assert_int_equal(json_array_size(json_object_get(j, "tags")), 1);
    assert_int_equal(json_array_size(json_object_get(j, "files")), 1);
    json_decref(j);

    /* a second item of the same title makes the title ambiguous */
    assert_int_equal(run(cli_cmd_item, "item", "create", "--vault", "Beta", "--kit", g.kit,
                         "--title", "db admin", "--category", "PASSWORD", NULL),
                     CLI_EXIT_OK);
    j = out_json();
    memcpy(id2, jstr(j, "id"), ID_LEN + 1);
    assert_string_equal(jstr(j, "category"), "PASSWORD");
    json_decref(j);
    assert_int_equal(
        run(cli_cmd_item, "item", "get", "db admin", "--vault", "Beta", "--kit", g.kit, NULL),
        CLI_EXIT_FAIL);
    assert_string_equal(g_err, "sesame: 2 items have that title; use the item id\n");
    assert_string_equal(g_out, "");

    assert_int_equal(run(cli_cmd_item, "item", "list", "--vault", "Beta", "--kit", g.kit,
                         "--format", "json", NULL),
                     CLI_EXIT_OK);
    j = out_json();
    assert_int_equal(json_array_size(j), 2);
    assert_null(json_object_get(json_array_get(j, 0), "fields")); /* summaries */
    json_decref(j);

    /* bad input: one line, exit 1 or 2, nothing stored */
    assert_int_equal(run(cli_cmd_item, "item", "create", "--vault", "Beta", "--kit", g.kit,
                         "--category", "NOPE", NULL),
                     CLI_EXIT_FAIL);
    assert_string_equal(g_err, "sesame: invalid item: Invalid item category\n");
    assert_int_equal(run(cli_cmd_item, "item", "create", "--vault", "Beta", "--kit", g.kit,
                         "--field", "=x", NULL),
                     CLI_EXIT_USAGE);
    assert_int_equal(run(cli_cmd_item, "item", "create", "--kit", g.kit, NULL), CLI_EXIT_USAGE);

    /* delete */
    assert_int_equal(
        run(cli_cmd_item, "item", "delete", id2, "--vault", "Beta", "--kit", g.kit, NULL),
        CLI_EXIT_OK);
    snprintf(expect, sizeof(expect), "Deleted item %s\n", id2);
    assert_string_equal(g_out, expect);
    assert_int_equal(run(cli_cmd_item, "item", "get", id2, "--vault", "Beta", "--kit", g.kit, NULL),
                     CLI_EXIT_FAIL);
    assert_string_equal(g_err, "sesame: no item in that vault has that id or title\n");
    assert_int_equal(run(cli_cmd_item, "item", "list", "--vault", "Beta", "--kit", g.kit, NULL),
                     CLI_EXIT_OK);
    assert_non_null(strstr(g_out, id));
    assert_null(strstr(g_out, id2));
}

/* ---- concurrent edits ---------------------------------------------------------------- */

#define EDITORS 3 /* each loses at most EDITORS - 1 races: within CI_MAX_RETRIES (3) */

/*
 * Three `sesame item edit` processes (the real binary) change the same item at once: a
 * loser of a race gets 409 and retries on the new version, so every edit lands.
 */
static void test_concurrent_edits(void **state)
{
    const char *bin = getenv("SESAME_BINARY");
    char id[ID_LEN + 1], field[EDITORS][32], label[16];
    pid_t pid[EDITORS];
    json_int_t version;
    json_t *j;
    int i, status;

    (void)state;
    if (!bin || !*bin)
        skip();
    assert_int_equal(run(cli_cmd_item, "item", "create", "--vault", "Beta", "--kit", g.kit,
                         "--title", "contended", NULL),
                     CLI_EXIT_OK);
    j = out_json();
    memcpy(id, jstr(j, "id"), ID_LEN + 1);
    version = jint(j, "version");
    json_decref(j);
    fflush(stdout);
    fflush(stderr);
    for (i = 0; i < EDITORS; i++) {
        snprintf(field[i], sizeof(field[i]), "editor%d=value%d", i, i);
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if (pid[i] == 0) {
            int dn = open("/dev/null", O_WRONLY);
            if (dn >= 0)
                dup2(dn, STDOUT_FILENO);
            execl(bin, bin, "item", "edit", id, "--vault", g.vault, "--kit", g.kit, "--field",
                  field[i], (char *)NULL);
            _exit(127);
        }
    }
    for (i = 0; i < EDITORS; i++) {
        assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(run(cli_cmd_item, "item", "get", id, "--vault", "Beta", "--kit", g.kit, NULL),
                     CLI_EXIT_OK);
    j = out_json();
    assert_int_equal(jint(j, "version"), version + EDITORS);
    for (i = 0; i < EDITORS; i++) {
        snprintf(label, sizeof(label), "editor%d", i);
        snprintf(field[i], sizeof(field[i]), "value%d", i);
        assert_string_equal(jstr(field_of(j, label), "value"), field[i]);
    }
    json_decref(j);
}

/* ---- token-signing keys ------------------------------------------------------------- */

static void test_signing_keys(void **state)
{
    char old[KID_MAX_LEN + 1], cur[KID_MAX_LEN + 1], msg[512];
    struct kit *k = NULL;
    json_t *rec, *keys;
    struct stat st;

    (void)state;
    assert_int_equal(kit_load(&k, g.kit, NULL, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(kit_signing_key_count(k), 1);
    snprintf(old, sizeof(old), "%s", kit_signing_key_current(k)->jk_kid);
    kit_free(k);

    assert_int_equal(run(cli_cmd_account, "account", "rotate-signing-key", "--kit", g.kit,
                         "--format", "json", NULL),
                     CLI_EXIT_OK);
    rec = out_json();
    snprintf(cur, sizeof(cur), "%s", jstr(rec, "kid"));
    assert_string_not_equal(cur, old);
    assert_int_equal(jint(rec, "retiredAt"), 0);
    json_decref(rec);
    /* the kit holds both, the new one current, and keeps mode 0600 */
    assert_int_equal(stat(g.kit, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(kit_load(&k, g.kit, NULL, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(kit_signing_key_count(k), 2);
    assert_string_equal(kit_signing_key(k, 0, NULL)->jk_kid, old);
    assert_string_equal(kit_signing_key_current(k)->jk_kid, cur);
    kit_free(k);
    rec = account_record();
    keys = json_object_get(rec, "signingKeys");
    assert_int_equal(json_array_size(keys), 2);
    assert_string_equal(jstr(json_array_get(keys, 1), "kid"), cur);
    json_decref(rec);

    /* the current key cannot be retired */
    assert_int_equal(
        run(cli_cmd_account, "account", "retire-signing-key", cur, "--kit", g.kit, NULL),
        CLI_EXIT_FAIL);
    snprintf(msg, sizeof(msg),
             "sesame: %s is the current token-signing key; rotate first ('sesame account "
             "rotate-signing-key')\n",
             cur);
    assert_string_equal(g_err, msg);

    /* the old one: retired on the hub, removed from the kit */
    assert_int_equal(
        run(cli_cmd_account, "account", "retire-signing-key", old, "--kit", g.kit, NULL),
        CLI_EXIT_OK);
    snprintf(msg, sizeof(msg),
             "Retired token-signing key %s and removed it from the account kit\n"
             "Tokens it signed stop working once the Connect servers have synced.\n",
             old);
    assert_string_equal(g_out, msg);
    assert_int_equal(kit_load(&k, g.kit, NULL, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(kit_signing_key_count(k), 1);
    assert_string_equal(kit_signing_key_current(k)->jk_kid, cur);
    kit_free(k);
    rec = account_record();
    keys = json_object_get(rec, "signingKeys");
    assert_string_equal(jstr(json_array_get(keys, 0), "kid"), old);
    assert_true(jint(json_array_get(keys, 0), "retiredAt") > 0);
    assert_int_equal(jint(json_array_get(keys, 1), "retiredAt"), 0);
    json_decref(rec);

    /* an unknown kid; one with a slash is escaped into one path segment (which the hub's
     * router refuses) */
    assert_int_equal(
        run(cli_cmd_account, "account", "retire-signing-key", "nosuchkid", "--kit", g.kit, NULL),
        CLI_EXIT_FAIL);
    assert_string_equal(g_err, "sesame: cannot retire the key: hub: signing key not found\n");
    assert_int_equal(
        run(cli_cmd_account, "account", "retire-signing-key", "a/b", "--kit", g.kit, NULL),
        CLI_EXIT_FAIL);
    assert_string_equal(g_err, "sesame: cannot retire the key: hub: Invalid request path\n");
    assert_int_equal(run(cli_cmd_account, "account", "retire-signing-key", "--kit", g.kit, NULL),
                     CLI_EXIT_USAGE);
    assert_string_equal(g_err, "sesame: usage: sesame account retire-signing-key KID\n");
    assert_int_equal(
        run(cli_cmd_account, "account", "rotate-signing-key", "extra", "--kit", g.kit, NULL),
        CLI_EXIT_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_init),     cmocka_unit_test(test_admin_client),
        cmocka_unit_test(test_vaults),           cmocka_unit_test(test_items),
        cmocka_unit_test(test_concurrent_edits), cmocka_unit_test(test_signing_keys),
    };

    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
