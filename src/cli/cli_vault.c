/*
 * cli_vault.c - `sesame vault create|list|get|rename|delete`. A vault's name and
 * description are sealed under its vault key on the client; the key itself goes to the hub
 * only sealed to the admin wrap key (keyAdmin).
 */
#include <stdio.h>
#include <string.h>

#include "cli/admin.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "common/alloc.h"
#include "common/ids.h"
#include "common/limits.h"
#include "json/objects.h"
#include "json/timefmt.h"
#include "keys/vaultcrypt.h"

#define CV_TYPE "USER_CREATED"

/* Checks a vault name or description: not empty (names), capped, no control characters. */
static int cv_text_ok(const char *s, size_t max, int may_be_empty, const char *what)
{
    size_t i, n = strnlen(s, max + 1);

    if (n == 0 && !may_be_empty)
        return cli_usage("the vault %s is empty", what);
    if (n > max)
        return cli_usage("the vault %s is longer than %zu bytes", what, max);
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return cli_usage("the vault %s contains a control character", what);
    return CLI_EXIT_OK;
}

/*
 * Fills m from a VAULT record of the hub, decrypting its attributes with the vault key.
 * Returns ERR_OK or an error with x->cx_err set.
 */
static enum err cv_meta(struct cli_ctx *x, const json_t *rec, struct vault_meta *m)
{
    const char *id = cli_str(rec, "id"), *s;
    const unsigned char *key;
    unsigned char *ct = NULL;
    json_t *attrs = NULL;
    size_t ctlen;
    enum err rc;

    memset(m, 0, sizeof(*m));
    if (!id_is_valid(id))
        return err_msgf(ERR_UPSTREAM, x->cx_err, sizeof(x->cx_err), "hub: a vault has no id");
    rc = admin_vault_key(x->cx_admin, id, &key, x->cx_err, sizeof(x->cx_err));
    if (rc != ERR_OK)
        return rc;
    if (cli_b64_member(rec, "attrs", &ct, &ctlen) != ERR_OK)
        return err_msgf(ERR_UPSTREAM, x->cx_err, sizeof(x->cx_err),
                        "hub: vault %s has no attributes", id);
    rc = vaultcrypt_attrs_open(&attrs, key, id, ct, ctlen);
    mem_free(ct);
    if (rc != ERR_OK)
        return err_msgf(ERR_CRYPTO, x->cx_err, sizeof(x->cx_err),
                        "the attributes of vault %s do not decrypt", id);
    memcpy(m->vm_id, id, ID_LEN + 1);
    s = cli_str(attrs, "name");
    snprintf(m->vm_name, sizeof(m->vm_name), "%s", s);
    s = cli_str(attrs, "description");
    snprintf(m->vm_description, sizeof(m->vm_description), "%s", s);
    json_decref(attrs);
    s = cli_str(rec, "type");
    snprintf(m->vm_type, sizeof(m->vm_type), "%s", vault_type_valid(s) ? s : CV_TYPE);
    m->vm_attribute_version = cli_int(rec, "attributeVersion");
    m->vm_content_version = cli_int(rec, "contentVersion");
    m->vm_items = cli_int(rec, "items");
    m->vm_created_at = cli_int(rec, "createdAt");
    m->vm_updated_at = cli_int(rec, "updatedAt");
    return ERR_OK;
}

/* Prints one vault in Connect's JSON shape or as text. */
static int cv_print(const struct cli_ctx *x, const struct vault_meta *m)
{
    json_t *j = NULL;
    char created[TIMEFMT_RFC3339_LEN + 1] = "-", updated[TIMEFMT_RFC3339_LEN + 1] = "-";
    int ec;

    if (x->cx_json) {
        if (vault_to_json(&j, m) != ERR_OK)
            return cli_fail("out of memory");
        ec = cli_print_json(j);
        json_decref(j);
        return ec;
    }
    if (timefmt_rfc3339(created, m->vm_created_at) != ERR_OK)
        snprintf(created, sizeof(created), "-");
    if (timefmt_rfc3339(updated, m->vm_updated_at) != ERR_OK)
        snprintf(updated, sizeof(updated), "-");
    printf("ID:           %s\nName:         ", m->vm_id);
    cli_put_safe(m->vm_name);
    printf("\nDescription:  ");
    cli_put_safe(m->vm_description);
    printf("\nItems:        %lld\nVersion:      %lld (attributes %lld)\nCreated:      %s\n"
           "Updated:      %s\n",
           (long long)m->vm_items, (long long)m->vm_content_version,
           (long long)m->vm_attribute_version, created, updated);
    return CLI_EXIT_OK;
}

/* Seals {"name", "description"} under key for vault id into the base64url member "attrs". */
static enum err cv_seal_attrs(json_t *body, const unsigned char *key, const char *id,
                              const char *name, const char *desc)
{
    json_t *attrs = json_pack("{s:s, s:s}", "name", name, "description", desc ? desc : "");
    struct buf ct;
    enum err rc;

    if (!attrs)
        return ERR_NOMEM;
    buf_init(&ct, VAULTCRYPT_MAX_ATTR_BYTES + 64);
    rc = vaultcrypt_attrs_seal(&ct, key, id, attrs);
    if (rc == ERR_OK)
        rc = cli_set_b64(body, "attrs", &ct);
    buf_free(&ct);
    json_decref(attrs);
    return rc;
}

static int cv_create(struct cli_ctx *x, int argc, char **argv)
{
    const char *desc = NULL, *pos[1];
    const struct cli_opt opts[] = {{"--description", &desc, NULL, NULL}};
    unsigned char *key = NULL;
    struct buf wrapped;
    json_t *body = NULL, *rec = NULL;
    struct vault_meta m;
    char id[ID_LEN + 1];
    size_t npos;
    int ec;

    buf_init(&wrapped, VAULTCRYPT_MAX_WRAPPED);
    ec = cli_parse(x, argc, argv, 3, opts, 1, pos, 1, &npos, "vault create");
    if (ec == CLI_EXIT_OK && npos != 1)
        ec = cli_usage("usage: sesame vault create NAME [--description TEXT]");
    if (ec == CLI_EXIT_OK)
        ec = cv_text_ok(pos[0], VAULT_MAX_NAME_BYTES, 0, "name");
    if (ec == CLI_EXIT_OK && desc)
        ec = cv_text_ok(desc, VAULT_MAX_DESC_BYTES, 1, "description");
    if (ec == CLI_EXIT_OK)
        ec = cli_open(x);
    if (ec != CLI_EXIT_OK)
        goto out;
    ec = CLI_EXIT_FAIL;
    if (id_new(id) != ERR_OK || vaultcrypt_key_generate(&key) != ERR_OK ||
        vaultcrypt_wrap(&wrapped, key, VAULTCRYPT_KEY_BYTES,
                        kit_admin_wrap_key(admin_kit(x->cx_admin))) != ERR_OK) {
        cli_fail("cannot make the vault key");
        goto out;
    }
    body = json_pack("{s:s, s:s}", "id", id, "type", CV_TYPE);
    if (!body || cv_seal_attrs(body, key, id, pos[0], desc) != ERR_OK ||
        cli_set_b64(body, "keyAdmin", &wrapped) != ERR_OK) {
        cli_fail("cannot seal the vault attributes");
        goto out;
    }
    if (admin_call(x->cx_admin, HTTP_CLIENT_POST, "/v1/vaults", body, NULL, &rec, x->cx_err,
                   sizeof(x->cx_err)) != ERR_OK) {
        cli_fail("cannot create the vault: %s", x->cx_err);
        goto out;
    }
    if (cv_meta(x, rec, &m) != ERR_OK) {
        cli_fail("%s", x->cx_err);
        goto out;
    }
    ec = cv_print(x, &m);
out:
    vaultcrypt_key_free(key);
    buf_free(&wrapped);
    json_decref(body);
    json_decref(rec);
    return ec;
}

static int cv_list(struct cli_ctx *x, int argc, char **argv)
{
    const char *pos[1];
    json_t *list = NULL, *rec, *out = NULL, *j;
    struct vault_meta *metas = NULL;
    size_t i, n = 0, npos, wname = 4;
    int ec;

    ec = cli_parse(x, argc, argv, 3, NULL, 0, pos, 0, &npos, "vault list");
    if (ec == CLI_EXIT_OK)
        ec = cli_open(x);
    if (ec != CLI_EXIT_OK)
        return ec;
    ec = CLI_EXIT_FAIL;
    if (admin_call(x->cx_admin, HTTP_CLIENT_GET, "/v1/vaults", NULL, NULL, &list, x->cx_err,
                   sizeof(x->cx_err)) != ERR_OK) {
        cli_fail("cannot list the vaults: %s", x->cx_err);
        goto out;
    }
    if (!json_is_array(list)) {
        cli_fail("hub: the vault list is not an array");
        goto out;
    }
    metas = mem_calloc(json_array_size(list) + 1, sizeof(*metas));
    out = json_array();
    if (!metas || !out) {
        cli_fail("out of memory");
        goto out;
    }
    json_array_foreach(list, i, rec)
    {
        if (cv_meta(x, rec, &metas[n]) != ERR_OK) {
            cli_fail("%s", x->cx_err);
            goto out;
        }
        if (cli_width(metas[n].vm_name) > wname)
            wname = cli_width(metas[n].vm_name);
        n++;
    }
    if (x->cx_json) {
        for (i = 0; i < n; i++) {
            if (vault_to_json(&j, &metas[i]) != ERR_OK || json_array_append_new(out, j) != 0) {
                cli_fail("out of memory");
                goto out;
            }
        }
        ec = cli_print_json(out);
        goto out;
    }
    cli_put_cell("ID", ID_LEN);
    cli_put_cell("NAME", wname);
    printf("ITEMS  VERSION\n");
    for (i = 0; i < n; i++) {
        cli_put_cell(metas[i].vm_id, ID_LEN);
        cli_put_cell(metas[i].vm_name, wname);
        printf("%-5lld  %lld\n", (long long)metas[i].vm_items,
               (long long)metas[i].vm_content_version);
    }
    ec = CLI_EXIT_OK;
out:
    mem_free(metas);
    json_decref(list);
    json_decref(out);
    return ec;
}

/* get, rename and delete: one vault named by id or name. */
static int cv_one(struct cli_ctx *x, int argc, char **argv, const char *what)
{
    const char *pos[2], *desc = NULL;
    const struct cli_opt opts[] = {{"--description", &desc, NULL, NULL}};
    int is_get = strcmp(what, "get") == 0, is_rename = strcmp(what, "rename") == 0;
    char id[ID_LEN + 1], target[64], sub[32];
    json_t *rec = NULL, *body = NULL;
    struct vault_meta m;
    size_t npos;
    int ec;

    snprintf(sub, sizeof(sub), "vault %s", what);
    ec = cli_parse(x, argc, argv, 3, opts, is_rename ? 1 : 0, pos, is_rename ? 2 : 1, &npos, sub);
    if (ec == CLI_EXIT_OK && npos != (is_rename ? 2u : 1u))
        ec = cli_usage("usage: sesame vault %s VAULT%s", what,
                       is_rename ? " NEW-NAME [--description TEXT]" : "");
    if (ec == CLI_EXIT_OK && is_rename)
        ec = cv_text_ok(pos[1], VAULT_MAX_NAME_BYTES, 0, "name");
    if (ec == CLI_EXIT_OK && desc)
        ec = cv_text_ok(desc, VAULT_MAX_DESC_BYTES, 1, "description");
    if (ec == CLI_EXIT_OK)
        ec = cli_open(x);
    if (ec != CLI_EXIT_OK)
        return ec;
    ec = CLI_EXIT_FAIL;
    if (admin_vault_resolve(x->cx_admin, pos[0], id, x->cx_err, sizeof(x->cx_err)) != ERR_OK) {
        cli_fail("%s", x->cx_err);
        goto out;
    }
    snprintf(target, sizeof(target), "/v1/vaults/%s", id);
    if (strcmp(what, "delete") == 0) {
        if (admin_call(x->cx_admin, HTTP_CLIENT_DELETE, target, NULL, NULL, NULL, x->cx_err,
                       sizeof(x->cx_err)) != ERR_OK) {
            cli_fail("cannot delete the vault: %s", x->cx_err);
            goto out;
        }
        if (x->cx_json) {
            body = json_pack("{s:s, s:b}", "id", id, "deleted", 1);
            ec = cli_print_json(body);
        } else
            ec = printf("Deleted vault %s\n", id) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
        goto out;
    }
    if (admin_call(x->cx_admin, HTTP_CLIENT_GET, target, NULL, NULL, &rec, x->cx_err,
                   sizeof(x->cx_err)) != ERR_OK ||
        cv_meta(x, rec, &m) != ERR_OK) {
        cli_fail("%s", x->cx_err);
        goto out;
    }
    if (!is_get) {
        const unsigned char *key;

        body = json_object();
        if (!body ||
            admin_vault_key(x->cx_admin, id, &key, x->cx_err, sizeof(x->cx_err)) != ERR_OK ||
            cv_seal_attrs(body, key, id, pos[1], desc ? desc : m.vm_description) != ERR_OK) {
            cli_fail("cannot seal the vault attributes");
            goto out;
        }
        json_decref(rec);
        rec = NULL;
        if (admin_call(x->cx_admin, HTTP_CLIENT_PATCH, target, body, NULL, &rec, x->cx_err,
                       sizeof(x->cx_err)) != ERR_OK ||
            cv_meta(x, rec, &m) != ERR_OK) {
            cli_fail("cannot rename the vault: %s", x->cx_err);
            goto out;
        }
    }
    ec = cv_print(x, &m);
out:
    json_decref(rec);
    json_decref(body);
    return ec;
}

static void cv_help(FILE *f)
{
    fprintf(f, "Usage: sesame vault COMMAND [ARGS] [--kit FILE] [--hub URL] "
               "[--passphrase-file FILE] [--format human|json]\n"
               "\n"
               "  create NAME [--description TEXT]   create a vault (its key made here)\n"
               "  list                               list the vaults\n"
               "  get VAULT                          show one vault (by id or name)\n"
               "  rename VAULT NEW-NAME [--description TEXT]\n"
               "  delete VAULT                       delete a vault and everything in it\n");
}

/* Runs `sesame vault ...`; see commands.h. */
int cli_cmd_vault(int argc, char **argv)
{
    struct cli_ctx x;
    const char *sub = argc > 2 ? argv[2] : NULL;
    int ec;

    memset(&x, 0, sizeof(x));
    x.cx_cmd = "vault";
    if (!sub) {
        cv_help(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
        cv_help(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(sub, "create") == 0)
        ec = cv_create(&x, argc, argv);
    else if (strcmp(sub, "list") == 0)
        ec = cv_list(&x, argc, argv);
    else if (strcmp(sub, "get") == 0 || strcmp(sub, "rename") == 0 || strcmp(sub, "delete") == 0)
        ec = cv_one(&x, argc, argv, sub);
    else
        ec = cli_usage("unknown vault command; see 'sesame vault --help'");
    admin_close(x.cx_admin);
    return ec;
}
