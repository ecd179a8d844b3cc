/*
 * cli_account.c - `sesame account init|show`: makes the account kit (the admin's keys,
 * never sent anywhere) and registers its public halves with the hub.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/admin.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "common/limits.h"
#include "json/timefmt.h"
#include "keys/kit.h"

/* Creates the missing directories above path (mode 0700), like mkdir -p of its dirname. */
static int ca_make_parents(const char *path)
{
    char dir[CONFIG_MAX_PATH];
    size_t i, n = strnlen(path, sizeof(dir));

    if (n == 0 || n >= sizeof(dir))
        return -1;
    memcpy(dir, path, n + 1);
    for (i = 1; i < n; i++) {
        if (dir[i] != '/')
            continue;
        dir[i] = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return -1;
        dir[i] = '/';
    }
    return 0;
}

/* Builds the registration body of POST /v1/accounts from the kit's public halves. */
static json_t *ca_registration(const struct kit *k)
{
    const struct jwk *sk = kit_signing_key_current(k);
    json_t *sign = jwk_to_json(kit_admin_signing_key(k), 0);
    json_t *wrap = jwk_to_json(kit_admin_wrap_key(k), 0);
    json_t *tok = sk ? jwk_to_json(sk, 0) : NULL;

    if (!sign || !wrap || !tok) {
        json_decref(sign);
        json_decref(wrap);
        json_decref(tok);
        return NULL;
    }
    return json_pack("{s:s, s:o, s:o, s:{s:s, s:o}}", "id", kit_account_id(k), "adminSignJwk", sign,
                     "adminWrapJwk", wrap, "signingKey", "kid", sk->jk_kid, "publicJwk", tok);
}

static int ca_init(struct cli_ctx *x, int argc, char **argv)
{
    const char *hub = NULL, *outp = NULL, *pos[1];
    const struct cli_opt opts[] = {{"--out", &outp, NULL, NULL}};
    struct admin_options ao;
    struct kit *k = NULL;
    struct admin *a = NULL;
    char path[CONFIG_MAX_PATH], *pw = NULL;
    json_t *body = NULL, *rec = NULL;
    struct stat st;
    size_t npos;
    int ec, written = 0;

    ec = cli_parse(x, argc, argv, 3, opts, 1, pos, 0, &npos, "account init");
    if (ec != CLI_EXIT_OK)
        return ec;
    hub = x->cx_ao.ao_hub_url;
    if (!hub)
        return cli_usage("usage: sesame account init --hub URL [--out FILE] "
                         "[--passphrase-file FILE]");
    if (!kit_hub_url_is_valid(hub))
        return cli_usage("--hub must be an http:// or https:// URL of the hub");
    if (outp) {
        if (snprintf(path, sizeof(path), "%s", outp) >= (int)sizeof(path))
            return cli_usage("--out is too long");
    } else if (admin_default_kit_path(path, sizeof(path)) != ERR_OK) {
        return cli_usage("no place for the account kit: give --out FILE, or set "
                         "SESAME_ACCOUNT_KIT or HOME");
    }
    ec = CLI_EXIT_FAIL;
    if (lstat(path, &st) == 0) {
        cli_fail("%s already exists; refusing to overwrite an account kit", path);
        goto out;
    }
    if (x->cx_ao.ao_passphrase_file &&
        admin_read_passphrase(&pw, x->cx_ao.ao_passphrase_file, x->cx_err, sizeof(x->cx_err)) !=
            ERR_OK) {
        cli_fail("%s", x->cx_err);
        goto out;
    }
    if (kit_generate(&k, hub) != ERR_OK) {
        cli_fail("cannot generate the account keys");
        goto out;
    }
    if (!outp && ca_make_parents(path) != 0) {
        cli_fail("cannot create the directory of %s", path);
        goto out;
    }
    if (kit_save(k, path, pw) != ERR_OK) {
        cli_fail("cannot write the account kit to %s", path);
        goto out;
    }
    written = 1;
    memset(&ao, 0, sizeof(ao));
    ao.ao_kit_path = path;
    ao.ao_hub_url = hub;
    ao.ao_passphrase_file = x->cx_ao.ao_passphrase_file;
    body = ca_registration(k);
    if (!body) {
        cli_fail("out of memory");
        goto out;
    }
    if (admin_open(&a, &ao, x->cx_err, sizeof(x->cx_err)) != ERR_OK ||
        admin_call(a, HTTP_CLIENT_POST, "/v1/accounts", body, NULL, &rec, x->cx_err,
                   sizeof(x->cx_err)) != ERR_OK) {
        cli_fail("cannot register the account: %s", x->cx_err);
        goto out;
    }
    written = 0; /* keep it */
    if (x->cx_json) {
        json_decref(body);
        body = json_pack("{s:s, s:s, s:s, s:b}", "id", kit_account_id(k), "kit", path, "hub", hub,
                         "protected", pw != NULL);
        ec = cli_print_json(body);
    } else {
        printf("Account %s registered with %s\nAccount kit written to %s%s\n"
               "Keep this file safe: it holds the keys to every vault of the account.\n"
               "export SESAME_HUB=%s\nexport SESAME_ACCOUNT_KIT=%s\n",
               kit_account_id(k), hub, path, pw ? " (passphrase-protected)" : "", hub, path);
        ec = CLI_EXIT_OK;
    }
out:
    if (written)
        unlink(path);
    admin_close(a);
    admin_passphrase_free(pw);
    kit_free(k);
    json_decref(body);
    json_decref(rec);
    return ec;
}

static int ca_show(struct cli_ctx *x, int argc, char **argv)
{
    const char *pos[1];
    json_t *rec = NULL, *keys, *key;
    size_t i, npos;
    int ec;

    ec = cli_parse(x, argc, argv, 3, NULL, 0, pos, 0, &npos, "account show");
    if (ec == CLI_EXIT_OK)
        ec = cli_open(x);
    if (ec != CLI_EXIT_OK)
        return ec;
    if (admin_call(x->cx_admin, HTTP_CLIENT_GET, "/v1/account", NULL, NULL, &rec, x->cx_err,
                   sizeof(x->cx_err)) != ERR_OK) {
        ec = cli_fail("cannot read the account: %s", x->cx_err);
        goto out;
    }
    if (x->cx_json) {
        ec = cli_print_json(rec);
        goto out;
    }
    printf("Account:      %s\nHub:          %s\nChanges:      %lld\nSigning keys:\n",
           kit_account_id(admin_kit(x->cx_admin)), kit_hub_url(admin_kit(x->cx_admin)),
           (long long)cli_int(rec, "lastSeq"));
    keys = json_object_get(rec, "signingKeys");
    json_array_foreach(keys, i, key)
    {
        char created[TIMEFMT_RFC3339_LEN + 1];

        if (timefmt_rfc3339(created, cli_int(key, "createdAt")) != ERR_OK)
            snprintf(created, sizeof(created), "-");
        printf("  ");
        cli_put_safe(cli_str(key, "kid"));
        printf("  created %s%s\n", created, cli_int(key, "retiredAt") ? "  (retired)" : "");
    }
    ec = CLI_EXIT_OK;
out:
    json_decref(rec);
    return ec;
}

static void ca_help(FILE *f)
{
    fprintf(f, "Usage: sesame account COMMAND\n"
               "\n"
               "  init --hub URL [--out FILE] [--passphrase-file FILE]\n"
               "        make a new account kit (mode 0600) and register the account with the "
               "hub\n"
               "  show [--kit FILE] [--hub URL] [--format human|json]\n"
               "        show the account as the hub knows it\n");
}

/* Runs `sesame account ...`; see commands.h. */
int cli_cmd_account(int argc, char **argv)
{
    struct cli_ctx x;
    const char *sub = argc > 2 ? argv[2] : NULL;
    int ec;

    memset(&x, 0, sizeof(x));
    x.cx_cmd = "account";
    if (!sub) {
        ca_help(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
        ca_help(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(sub, "init") == 0)
        ec = ca_init(&x, argc, argv);
    else if (strcmp(sub, "show") == 0)
        ec = ca_show(&x, argc, argv);
    else
        ec = cli_usage("unknown account command; see 'sesame account --help'");
    admin_close(x.cx_admin);
    return ec;
}
