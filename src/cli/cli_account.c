/*
 * cli_account.c - `sesame account init|show|rotate-signing-key|retire-signing-key`: makes
 * the account kit (the admin's keys, never sent anywhere), registers its public halves with
 * the hub, and adds or retires token-signing keys in both.
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

/*
 * Reads the kit's passphrase again for writing the kit back (protected kits only; the file
 * was read once by cli_open). Returns CLI_EXIT_OK or CLI_EXIT_FAIL (printed).
 */
static int ca_kit_passphrase(struct cli_ctx *x, char **pw)
{
    *pw = NULL;
    if (!kit_is_protected(admin_kit(x->cx_admin)))
        return CLI_EXIT_OK;
    if (!x->cx_ao.ao_passphrase_file)
        return cli_fail("the account kit is protected: give --passphrase-file FILE");
    if (admin_read_passphrase(pw, x->cx_ao.ao_passphrase_file, x->cx_err, sizeof(x->cx_err)) !=
        ERR_OK)
        return cli_fail("%s", x->cx_err);
    return CLI_EXIT_OK;
}

/* Retires kid on the hub (DELETE /v1/signing-keys/{kid}). Returns the error, x->cx_err. */
static enum err ca_retire_on_hub(struct cli_ctx *x, const char *kid)
{
    struct buf target;
    enum err rc;

    buf_init(&target, 512);
    rc = cli_target(&target, "/v1/signing-keys/", kid, NULL, NULL);
    if (rc == ERR_OK)
        rc = admin_call(x->cx_admin, HTTP_CLIENT_DELETE, buf_str(&target), NULL, NULL, NULL,
                        x->cx_err, sizeof(x->cx_err));
    else
        err_msgf(rc, x->cx_err, sizeof(x->cx_err), "the key id is too long");
    buf_free(&target);
    return rc;
}

/*
 * `account rotate-signing-key`: a new token-signing key in the kit, registered with the
 * hub first (so that no token is ever signed by a key the Connect servers cannot learn),
 * then the kit written back; if that fails the new key is retired on the hub again.
 */
static int ca_rotate(struct cli_ctx *x, int argc, char **argv)
{
    const char *pos[1];
    struct kit *k;
    const struct jwk *sk;
    char *pw = NULL, kid[KID_MAX_LEN + 1];
    json_t *body = NULL, *rec = NULL, *pub;
    size_t npos;
    enum err rc;
    int ec;

    ec = cli_parse(x, argc, argv, 3, NULL, 0, pos, 0, &npos, "account rotate-signing-key");
    if (ec == CLI_EXIT_OK)
        ec = cli_open(x);
    if (ec == CLI_EXIT_OK)
        ec = ca_kit_passphrase(x, &pw);
    if (ec != CLI_EXIT_OK)
        return ec;
    ec = CLI_EXIT_FAIL;
    k = admin_kit_edit(x->cx_admin);
    rc = kit_signing_key_rotate(k, (int64_t)time(NULL));
    if (rc != ERR_OK) {
        if (rc == ERR_TOO_LARGE)
            cli_fail("the kit holds %d token-signing keys already; retire one first",
                     KIT_MAX_SIGNING_KEYS);
        else
            cli_fail("cannot make a new token-signing key (%s)", err_name(rc));
        goto out;
    }
    sk = kit_signing_key_current(k);
    pub = sk ? jwk_to_json(sk, 0) : NULL;
    if (!pub || snprintf(kid, sizeof(kid), "%s", sk->jk_kid) >= (int)sizeof(kid)) {
        json_decref(pub);
        cli_fail("cannot make a new token-signing key");
        goto out;
    }
    body = json_pack("{s:s, s:o}", "kid", kid, "publicJwk", pub);
    if (!body) {
        cli_fail("out of memory");
        goto out;
    }
    if (admin_call(x->cx_admin, HTTP_CLIENT_POST, "/v1/signing-keys", body, NULL, &rec, x->cx_err,
                   sizeof(x->cx_err)) != ERR_OK) {
        cli_fail("cannot register the new key (the kit is unchanged): %s", x->cx_err);
        goto out;
    }
    rc = kit_save(k, admin_kit_path(x->cx_admin), pw);
    if (rc != ERR_OK) {
        if (ca_retire_on_hub(x, kid) == ERR_OK)
            cli_fail("cannot write the account kit %s (%s); the new key was retired on the hub "
                     "again",
                     admin_kit_path(x->cx_admin), err_name(rc));
        else
            cli_fail("cannot write the account kit %s (%s), and the new key %s stays active on "
                     "the hub: retire it with 'sesame account retire-signing-key %s'",
                     admin_kit_path(x->cx_admin), err_name(rc), kid, kid);
        goto out;
    }
    if (x->cx_json) {
        ec = cli_print_json(rec);
        goto out;
    }
    printf("New token-signing key %s (current; %zu in the kit)\nAccount kit updated: %s\n"
           "New tokens are signed by it; tokens signed by earlier keys keep working until "
           "those keys are retired.\n",
           kid, kit_signing_key_count(k), admin_kit_path(x->cx_admin));
    ec = CLI_EXIT_OK;
out:
    admin_passphrase_free(pw);
    json_decref(body);
    json_decref(rec);
    return ec;
}

/*
 * `account retire-signing-key KID`: retires an earlier token-signing key on the hub (tokens
 * it signed stop verifying), then removes it from the kit. The current key is refused.
 */
static int ca_retire(struct cli_ctx *x, int argc, char **argv)
{
    const char *pos[1];
    struct kit *k;
    const struct jwk *cur;
    char *pw = NULL;
    json_t *j = NULL;
    size_t i, npos;
    int ec, in_kit = 0;
    enum err rc;

    ec = cli_parse(x, argc, argv, 3, NULL, 0, pos, 1, &npos, "account retire-signing-key");
    if (ec == CLI_EXIT_OK && npos != 1)
        ec = cli_usage("usage: sesame account retire-signing-key KID");
    if (ec == CLI_EXIT_OK && (pos[0][0] == '\0' || strlen(pos[0]) > KID_MAX_LEN))
        ec = cli_usage("KID must be 1 to %d characters", KID_MAX_LEN);
    if (ec == CLI_EXIT_OK)
        ec = cli_open(x);
    if (ec == CLI_EXIT_OK)
        ec = ca_kit_passphrase(x, &pw);
    if (ec != CLI_EXIT_OK)
        return ec;
    ec = CLI_EXIT_FAIL;
    k = admin_kit_edit(x->cx_admin);
    cur = kit_signing_key_current(k);
    if (cur && strcmp(cur->jk_kid, pos[0]) == 0) {
        cli_fail("%s is the current token-signing key; rotate first "
                 "('sesame account rotate-signing-key')",
                 pos[0]);
        goto out;
    }
    for (i = 0; i < kit_signing_key_count(k); i++)
        if (strcmp(kit_signing_key(k, i, NULL)->jk_kid, pos[0]) == 0)
            in_kit = 1;
    if (ca_retire_on_hub(x, pos[0]) != ERR_OK) {
        cli_fail("cannot retire the key: %s", x->cx_err);
        goto out;
    }
    if (in_kit) {
        rc = kit_signing_key_remove(k, pos[0]);
        if (rc == ERR_OK)
            rc = kit_save(k, admin_kit_path(x->cx_admin), pw);
        if (rc != ERR_OK) {
            cli_fail("the key is retired on the hub, but the account kit %s was not updated (%s)",
                     admin_kit_path(x->cx_admin), err_name(rc));
            goto out;
        }
    }
    if (x->cx_json) {
        j = json_pack("{s:s, s:b, s:b}", "kid", pos[0], "retired", 1, "removedFromKit", in_kit);
        ec = cli_print_json(j);
        goto out;
    }
    printf("Retired token-signing key ");
    cli_put_safe(pos[0]);
    printf("%s\nTokens it signed stop working once the Connect servers have synced.\n",
           in_kit ? " and removed it from the account kit" : " (it was not in this kit)");
    ec = CLI_EXIT_OK;
out:
    admin_passphrase_free(pw);
    json_decref(j);
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
               "        show the account as the hub knows it\n"
               "  rotate-signing-key\n"
               "        add a new token-signing key (it signs new tokens) to the kit and the "
               "hub\n"
               "  retire-signing-key KID\n"
               "        retire an earlier token-signing key: tokens it signed stop working\n");
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
    else if (strcmp(sub, "rotate-signing-key") == 0)
        ec = ca_rotate(&x, argc, argv);
    else if (strcmp(sub, "retire-signing-key") == 0)
        ec = ca_retire(&x, argc, argv);
    else
        ec = cli_usage("unknown account command; see 'sesame account --help'");
    admin_close(x.cx_admin);
    return ec;
}
