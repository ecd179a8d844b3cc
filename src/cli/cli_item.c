/*
 * cli_item.c - `sesame item create|get|list|edit|delete`. Items are validated and
 * normalised by the data-model module (json/item.h) exactly as the Connect API does it,
 * split into overview and details, sealed under the vault key for the version the hub will
 * give them, and sent as ciphertext; attached files are sealed the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/admin.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "common/alloc.h"
#include "common/ids.h"
#include "common/limits.h"
#include "json/item.h"
#include "json/timefmt.h"
#include "keys/keyjson.h"
#include "keys/vaultcrypt.h"

#define CI_MAX_INPUT_BYTES (8u << 20) /* an item JSON document from a file or stdin */
#define CI_MAX_RETRIES     3          /* edits re-read and retried after a 409 */
#define CI_MAX_CT_BYTES    (VAULTCRYPT_MAX_PART_BYTES + 64)

/* The options of create and edit. */
struct ci_opts {
    const char *co_vault, *co_title, *co_category, *co_tags, *co_url, *co_notes;
    const char *co_generate; /* --generate-password[=recipe]: "" or the recipe */
    const char *co_fields[CLI_MAX_MANY];
    size_t co_nfields;
    const char *co_files[CLI_MAX_MANY];
    size_t co_nfiles;
};

/* One decrypted item. */
struct ci_item {
    struct item_meta it_meta;
    json_t *it_content; /* overview and details joined, or the overview alone in lists */
};

static void ci_item_clear(struct ci_item *it)
{
    json_decref(it->it_content);
    memset(it, 0, sizeof(*it));
}

/* Reads at most max bytes of path ("-" = stdin) into *out (heap, NUL-terminated). */
static enum err ci_read_all(const char *path, size_t max, char **out, size_t *len, char *errmsg,
                            size_t errcap)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    struct buf b;
    char chunk[8192];
    size_t n;
    enum err rc = ERR_OK;

    *out = NULL;
    *len = 0;
    if (!f)
        return err_msgf(ERR_IO, errmsg, errcap, "cannot open %s", path);
    buf_init(&b, max);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = buf_add(&b, chunk, n);
        if (rc != ERR_OK) {
            err_msgf(rc, errmsg, errcap, "%s is larger than %zu bytes", path, max);
            break;
        }
    }
    if (rc == ERR_OK && ferror(f))
        rc = err_msgf(ERR_IO, errmsg, errcap, "cannot read %s", path);
    if (f != stdin)
        fclose(f);
    if (rc != ERR_OK) {
        buf_free(&b);
        return rc;
    }
    if (b.b_len == 0) {
        buf_free(&b);
        *out = mem_strdup("");
        return *out ? ERR_OK : ERR_NOMEM;
    }
    *out = buf_take(&b, len);
    return ERR_OK;
}

/* Maps a field type word of `label[type]=value` to Connect's type. */
static const char *ci_field_type(const char *word, size_t n)
{
    static const char *const map[][2] = {
        {"text", "STRING"},
        {"string", "STRING"},
        {"password", "CONCEALED"},
        {"concealed", "CONCEALED"},
        {"email", "EMAIL"},
        {"url", "URL"},
        {"otp", "OTP"},
        {"totp", "OTP"},
        {"phone", "PHONE"},
        {"date", "DATE"},
        {"monthyear", "MONTH_YEAR"},
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strlen(map[i][0]) == n && strncasecmp(map[i][0], word, n) == 0)
            return map[i][1];
    return NULL;
}

/* Parses a --generate-password recipe: "letters,digits,symbols,32" in any order. */
static json_t *ci_recipe(const char *spec)
{
    json_t *r = json_object(), *sets = json_array();
    const char *p = spec;
    int have_len = 0;

    if (!r || !sets)
        goto fail;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *set = NULL;

        if (n == 7 && strncasecmp(p, "letters", 7) == 0)
            set = "LETTERS";
        else if (n == 6 && strncasecmp(p, "digits", 6) == 0)
            set = "DIGITS";
        else if (n == 7 && strncasecmp(p, "symbols", 7) == 0)
            set = "SYMBOLS";
        if (set) {
            if (json_array_append_new(sets, json_string(set)) != 0)
                goto fail;
        } else {
            char num[8], *end;
            long v;

            if (n == 0 || n >= sizeof(num) || have_len)
                goto fail;
            memcpy(num, p, n);
            num[n] = '\0';
            errno = 0;
            v = strtol(num, &end, 10);
            if (errno || *end || v < 1 || v > 64)
                goto fail;
            if (json_object_set_new(r, "length", json_integer(v)) != 0)
                goto fail;
            have_len = 1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (json_array_size(sets) > 0) {
        if (json_object_set_new(r, "characterSets", sets) != 0) {
            sets = NULL;
            goto fail;
        }
    } else {
        json_decref(sets);
    }
    return r;
fail:
    json_decref(sets);
    json_decref(r);
    return NULL;
}

/* Returns the array member name of obj, created empty if absent; NULL if not an array. */
static json_t *ci_array(json_t *obj, const char *name)
{
    json_t *a = json_object_get(obj, name);

    if (a)
        return json_is_array(a) ? a : NULL;
    a = json_array();
    if (!a || json_object_set_new(obj, name, a) != 0)
        return NULL;
    return a;
}

/*
 * Returns the field of fields whose label or id equals label (n bytes, any letter case);
 * for a new item without such a field, the built-in username and password fields are
 * matched by their ids too, so `--field username=...` fills the LOGIN template's field.
 */
static json_t *ci_field_find(json_t *fields, const char *label, size_t n)
{
    static const char *const builtin[] = {"username", "password"};
    json_t *f;
    size_t i;

    json_array_foreach(fields, i, f)
    {
        const char *l = json_string_value(json_object_get(f, "label"));
        const char *id = json_string_value(json_object_get(f, "id"));

        if ((l && strlen(l) == n && strncasecmp(l, label, n) == 0) ||
            (id && strlen(id) == n && strncasecmp(id, label, n) == 0))
            return f;
    }
    for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
        if (strlen(builtin[i]) != n || strncasecmp(builtin[i], label, n) != 0)
            continue;
        f = json_pack("{s:s, s:s}", "id", builtin[i], "label", builtin[i]);
        if (!f || json_array_append_new(fields, f) != 0)
            return NULL;
        if (i == 1 && json_object_set_new(f, "type", json_string("CONCEALED")) != 0)
            return NULL;
        return f;
    }
    return NULL;
}

/*
 * Applies the convenience flags to a request body (a FullItem-shaped object). Returns
 * CLI_EXIT_OK or CLI_EXIT_USAGE (printed).
 */
static int ci_apply_flags(json_t *body, const struct ci_opts *o)
{
    json_t *fields, *f;
    size_t i;

    if (o->co_title && json_object_set_new(body, "title", json_string(o->co_title)) != 0)
        return cli_usage("--title must be UTF-8 text");
    if (o->co_category && json_object_set_new(body, "category", json_string(o->co_category)) != 0)
        return cli_usage("--category must be text");
    if (o->co_tags) {
        json_t *tags = json_array();
        const char *p = o->co_tags;

        while (tags && *p) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);

            if (n > 0 && json_array_append_new(tags, json_stringn(p, n)) != 0) {
                json_decref(tags);
                return cli_usage("--tags must be UTF-8 text");
            }
            p += n;
            if (*p == ',')
                p++;
        }
        if (!tags || json_object_set_new(body, "tags", tags) != 0)
            return cli_usage("--tags must be UTF-8 text");
    }
    if (o->co_url) {
        json_t *urls = json_pack("[{s:s, s:b}]", "href", o->co_url, "primary", 1);

        if (!urls || json_object_set_new(body, "urls", urls) != 0)
            return cli_usage("--url must be UTF-8 text");
    }
    fields = ci_array(body, "fields");
    if (!fields)
        return cli_usage("the item's fields must be an array");
    if (o->co_notes) {
        /* the item's notes field (id notesPlain) when it has one, else a new one */
        f = ci_field_find(fields, "notesPlain", strlen("notesPlain"));
        if (f) {
            if (json_object_set_new(f, "value", json_string(o->co_notes)) != 0)
                return cli_usage("--notes must be UTF-8 text");
        } else {
            f = json_pack("{s:s, s:s, s:s, s:s}", "id", "notesPlain", "label", "notesPlain", "type",
                          "STRING", "purpose", "NOTES");
            if (!f || json_object_set_new(f, "value", json_string(o->co_notes)) != 0 ||
                json_array_append_new(fields, f) != 0)
                return cli_usage("--notes must be UTF-8 text");
        }
    }
    for (i = 0; i < o->co_nfields; i++) {
        const char *spec = o->co_fields[i], *eq = strchr(spec, '='), *br, *type = "STRING";
        size_t llen;

        if (!eq || eq == spec)
            return cli_usage("--field must be 'label=value' or 'label[type]=value'");
        llen = (size_t)(eq - spec);
        br = memchr(spec, '[', llen);
        if (br) {
            if (spec[llen - 1] != ']' || br == spec)
                return cli_usage("--field must be 'label=value' or 'label[type]=value'");
            type = ci_field_type(br + 1, (size_t)(spec + llen - 1 - (br + 1)));
            if (!type)
                return cli_usage("--field type must be one of text, password, email, url, otp, "
                                 "phone, date, monthyear");
            llen = (size_t)(br - spec);
        }
        f = ci_field_find(fields, spec, llen);
        if (f) {
            /* an existing field of that label (or id): a built-in, or one being edited */
            if (json_object_set_new(f, "value", json_string(eq + 1)) != 0 ||
                (br && json_object_set_new(f, "type", json_string(type)) != 0))
                return cli_usage("--field must be UTF-8 text");
            continue;
        }
        f = json_object();
        if (!f || json_object_set_new(f, "label", json_stringn(spec, llen)) != 0 ||
            json_object_set_new(f, "value", json_string(eq + 1)) != 0 ||
            json_object_set_new(f, "type", json_string(type)) != 0 ||
            json_array_append_new(fields, f) != 0)
            return cli_usage("--field must be UTF-8 text");
    }
    if (o->co_generate) {
        json_t *recipe = NULL, *target = NULL;

        if (*o->co_generate) {
            recipe = ci_recipe(o->co_generate);
            if (!recipe)
                return cli_usage("--generate-password recipe must be like "
                                 "'letters,digits,symbols,32' (length 1-64)");
        }
        json_array_foreach(fields, i, f)
        {
            const char *purpose = json_string_value(json_object_get(f, "purpose"));
            const char *id = json_string_value(json_object_get(f, "id"));

            if ((purpose && strcmp(purpose, "PASSWORD") == 0) ||
                (id && strcmp(id, "password") == 0))
                target = f;
        }
        if (!target) {
            target = json_pack("{s:s, s:s, s:s}", "id", "password", "type", "CONCEALED", "purpose",
                               "PASSWORD");
            if (!target || json_array_append_new(fields, target) != 0) {
                json_decref(recipe);
                return cli_fail("out of memory");
            }
        }
        json_object_del(target, "value");
        if (json_object_set_new(target, "generate", json_true()) != 0 ||
            (recipe && json_object_set_new(target, "recipe", recipe) != 0))
            return cli_fail("out of memory");
    }
    return CLI_EXIT_OK;
}

/* Builds "/v1/vaults/<v>/items[/<i>]" (ids are checked, so nothing needs escaping). */
static void ci_target(char *out, size_t cap, const char *vault, const char *item)
{
    if (item)
        snprintf(out, cap, "/v1/vaults/%s/items/%s", vault, item);
    else
        snprintf(out, cap, "/v1/vaults/%s/items", vault);
}

/* Fills m from an ITEM record of the hub. Returns ERR_OK or ERR_UPSTREAM. */
static enum err ci_meta(const json_t *rec, struct item_meta *m)
{
    const char *id = cli_str(rec, "id"), *vault = cli_str(rec, "vault");
    const char *cat = cli_str(rec, "category"), *state = cli_str(rec, "state");
    const char *by = cli_str(rec, "lastEditedBy");

    memset(m, 0, sizeof(*m));
    if (!id_is_valid(id) || !id_is_valid(vault) || strlen(cat) >= sizeof(m->im_category) ||
        strlen(state) >= sizeof(m->im_state) || strlen(by) > ID_LEN || cli_int(rec, "version") < 1)
        return ERR_UPSTREAM;
    memcpy(m->im_id, id, ID_LEN + 1);
    memcpy(m->im_vault_id, vault, ID_LEN + 1);
    memcpy(m->im_category, cat, strlen(cat) + 1);
    memcpy(m->im_state, state, strlen(state) + 1);
    memcpy(m->im_last_edited_by, by, strlen(by) + 1);
    m->im_version = cli_int(rec, "version");
    m->im_created_at = cli_int(rec, "createdAt");
    m->im_updated_at = cli_int(rec, "updatedAt");
    return ERR_OK;
}

/* Opens one sealed part (member name of rec) into *out. */
static enum err ci_open_part(const json_t *rec, const char *name, const unsigned char *key,
                             const struct item_meta *m, enum vaultcrypt_part part, json_t **out)
{
    unsigned char *ct = NULL;
    size_t len;
    enum err rc;

    *out = NULL;
    if (cli_b64_member(rec, name, &ct, &len) != ERR_OK)
        return ERR_UPSTREAM;
    rc = vaultcrypt_item_open(out, key, m->im_vault_id, m->im_id, (uint64_t)m->im_version, part, ct,
                              len);
    mem_free(ct);
    return rc;
}

/* Decrypts an ITEM record (with details when full) into it. x->cx_err says why on error. */
static enum err ci_decrypt(struct cli_ctx *x, const json_t *rec, int full, struct ci_item *it)
{
    const unsigned char *key;
    json_t *ov = NULL, *det = NULL;
    enum err rc;

    memset(it, 0, sizeof(*it));
    if (ci_meta(rec, &it->it_meta) != ERR_OK)
        return err_msgf(ERR_UPSTREAM, x->cx_err, sizeof(x->cx_err), "hub: a malformed item");
    rc = admin_vault_key(x->cx_admin, it->it_meta.im_vault_id, &key, x->cx_err, sizeof(x->cx_err));
    if (rc != ERR_OK)
        return rc;
    rc = ci_open_part(rec, "overview", key, &it->it_meta, VAULTCRYPT_OVERVIEW, &ov);
    if (rc == ERR_OK && full)
        rc = ci_open_part(rec, "details", key, &it->it_meta, VAULTCRYPT_DETAILS, &det);
    if (rc == ERR_OK && full)
        rc = item_content_join(ov, det, &it->it_content);
    else if (rc == ERR_OK) {
        it->it_content = ov;
        ov = NULL;
    }
    json_decref(ov);
    json_decref(det);
    if (rc != ERR_OK)
        err_msgf(rc == ERR_NOMEM ? ERR_NOMEM : ERR_CRYPTO, x->cx_err, sizeof(x->cx_err),
                 "item %s does not decrypt", it->it_meta.im_id);
    return rc == ERR_OK ? ERR_OK : (rc == ERR_NOMEM ? ERR_NOMEM : ERR_CRYPTO);
}

/*
 * Finds item ITEM (id or exact title) in a vault: fetches the list, decrypts overviews.
 * Fills id. Returns ERR_OK or an error with x->cx_err set.
 */
static enum err ci_resolve(struct cli_ctx *x, const char *vault, const char *item,
                           char id[ID_LEN + 1])
{
    char target[128], lower[ID_LEN + 1];
    json_t *list = NULL, *rec;
    size_t i, found = 0, n = strlen(item);
    enum err rc;

    ci_target(target, sizeof(target), vault, NULL);
    rc = admin_call(x->cx_admin, HTTP_CLIENT_GET, target, NULL, NULL, &list, x->cx_err,
                    sizeof(x->cx_err));
    if (rc != ERR_OK)
        return rc;
    if (n == ID_LEN) {
        for (i = 0; i <= ID_LEN; i++)
            lower[i] = (char)(item[i] >= 'A' && item[i] <= 'Z' ? item[i] - 'A' + 'a' : item[i]);
        json_array_foreach(list, i, rec)
        {
            if (strcmp(cli_str(rec, "id"), lower) == 0) {
                memcpy(id, lower, ID_LEN + 1);
                goto out;
            }
        }
    }
    json_array_foreach(list, i, rec)
    {
        struct ci_item it;

        if (ci_decrypt(x, rec, 0, &it) != ERR_OK)
            continue;
        if (strcmp(cli_str(it.it_content, "title"), item) == 0 && found++ == 0)
            memcpy(id, it.it_meta.im_id, ID_LEN + 1);
        ci_item_clear(&it);
    }
    if (found == 0)
        rc = err_msgf(ERR_NOT_FOUND, x->cx_err, sizeof(x->cx_err),
                      "no item in that vault has that id or title");
    else if (found > 1)
        rc = err_msgf(ERR_CONFLICT, x->cx_err, sizeof(x->cx_err),
                      "%zu items have that title; use the item id", found);
out:
    json_decref(list);
    return rc;
}

/* Fetches and decrypts one item. */
static enum err ci_fetch(struct cli_ctx *x, const char *vault, const char *id, struct ci_item *it)
{
    char target[128];
    json_t *rec = NULL;
    enum err rc;

    memset(it, 0, sizeof(*it));
    ci_target(target, sizeof(target), vault, id);
    rc = admin_call(x->cx_admin, HTTP_CLIENT_GET, target, NULL, NULL, &rec, x->cx_err,
                    sizeof(x->cx_err));
    if (rc == ERR_OK)
        rc = ci_decrypt(x, rec, 1, it);
    json_decref(rec);
    return rc;
}

/* Returns the last component of a path. */
static const char *ci_basename(const char *path)
{
    const char *s = strrchr(path, '/');

    return s ? s + 1 : path;
}

/*
 * Seals and uploads the --file attachments, appending their entries ({id, name, size}) to
 * the array files. Returns ERR_OK or an error with x->cx_err.
 */
static enum err ci_attach(struct cli_ctx *x, const char *vault, const struct ci_opts *o,
                          json_t *files)
{
    const unsigned char *key;
    size_t i;
    enum err rc;

    if (o->co_nfiles == 0)
        return ERR_OK;
    if (!files)
        return err_msgf(ERR_BAD_INPUT, x->cx_err, sizeof(x->cx_err), "files is not an array");
    rc = admin_vault_key(x->cx_admin, vault, &key, x->cx_err, sizeof(x->cx_err));
    if (rc != ERR_OK)
        return rc;
    for (i = 0; i < o->co_nfiles; i++) {
        struct http_client_response resp;
        char fid[ID_LEN + 1], target[160], *data = NULL;
        const char *name = ci_basename(o->co_files[i]);
        struct buf ct;
        size_t len;
        json_t *entry;

        if (json_array_size(files) >= ITEM_MAX_FILES)
            return err_msgf(ERR_TOO_LARGE, x->cx_err, sizeof(x->cx_err),
                            "an item has at most %d files", ITEM_MAX_FILES);
        if (!*name || strlen(name) > FILE_MAX_NAME_BYTES)
            return err_msgf(ERR_BAD_INPUT, x->cx_err, sizeof(x->cx_err),
                            "--file needs a file name of at most %d bytes", FILE_MAX_NAME_BYTES);
        rc = ci_read_all(o->co_files[i], VAULTCRYPT_MAX_FILE_BYTES, &data, &len, x->cx_err,
                         sizeof(x->cx_err));
        if (rc != ERR_OK)
            return rc;
        buf_init(&ct, VAULTCRYPT_MAX_FILE_BYTES + 64);
        rc = id_new(fid);
        if (rc == ERR_OK)
            rc = vaultcrypt_file_seal(&ct, key, vault, fid, data, len);
        memset(data, 0, len);
        mem_free(data);
        if (rc != ERR_OK) {
            buf_free(&ct);
            return err_msgf(rc, x->cx_err, sizeof(x->cx_err), "cannot seal %s", name);
        }
        snprintf(target, sizeof(target), "/v1/vaults/%s/files/%s?size=%zu", vault, fid, len);
        rc = admin_call_raw(x->cx_admin, HTTP_CLIENT_PUT, target, ct.b_data, ct.b_len, &resp,
                            x->cx_err, sizeof(x->cx_err));
        http_client_response_free(&resp);
        buf_free(&ct);
        if (rc != ERR_OK)
            return rc;
        entry = json_pack("{s:s, s:s, s:I}", "id", fid, "name", name, "size", (json_int_t)len);
        if (!entry || json_array_append_new(files, entry) != 0)
            return err_msgf(ERR_NOMEM, x->cx_err, sizeof(x->cx_err), "out of memory");
    }
    return ERR_OK;
}

/*
 * Seals content for item id at version base + 1 and PUTs it with baseVersion base (0: a
 * create, which the hub refuses for an id already used). On success *rec is the hub's ITEM record.
 * Returns ERR_OK or the error (ERR_CONFLICT for a stale base) with x->cx_err.
 */
static enum err ci_put(struct cli_ctx *x, const char *vault, const char *id, const char *category,
                       const char *state, const json_t *content, int64_t base, json_t **rec)
{
    const unsigned char *key;
    json_t *ov = NULL, *det = NULL, *body = NULL;
    struct buf c1, c2;
    char target[128];
    uint64_t version = (uint64_t)base + 1;
    enum err rc;

    *rec = NULL;
    buf_init(&c1, CI_MAX_CT_BYTES);
    buf_init(&c2, CI_MAX_CT_BYTES);
    rc = admin_vault_key(x->cx_admin, vault, &key, x->cx_err, sizeof(x->cx_err));
    if (rc != ERR_OK)
        goto out;
    rc = item_content_split(content, &ov, &det);
    if (rc == ERR_OK)
        rc = vaultcrypt_item_seal(&c1, key, vault, id, version, VAULTCRYPT_OVERVIEW, ov);
    if (rc == ERR_OK)
        rc = vaultcrypt_item_seal(&c2, key, vault, id, version, VAULTCRYPT_DETAILS, det);
    body = json_pack("{s:s, s:s}", "category", category, "state", state);
    if (rc == ERR_OK && !body)
        rc = ERR_NOMEM;
    if (rc == ERR_OK)
        rc = cli_set_b64(body, "overview", &c1);
    if (rc == ERR_OK)
        rc = cli_set_b64(body, "details", &c2);
    if (rc == ERR_OK &&
        json_object_set_new(body, "baseVersion", json_integer((json_int_t)base)) != 0)
        rc = ERR_NOMEM;
    if (rc != ERR_OK) {
        err_msgf(rc, x->cx_err, sizeof(x->cx_err), "cannot seal the item");
        goto out;
    }
    ci_target(target, sizeof(target), vault, id);
    rc = admin_call(x->cx_admin, HTTP_CLIENT_PUT, target, body, NULL, rec, x->cx_err,
                    sizeof(x->cx_err));
out:
    buf_free(&c1);
    buf_free(&c2);
    json_decref(ov);
    json_decref(det);
    json_decref(body);
    return rc;
}

/* Prints an item as Connect's FullItem JSON (the human and the json format alike). */
static int ci_print_full(const struct ci_item *it)
{
    json_t *out = NULL;
    int ec;

    if (item_to_json(&out, &it->it_meta, it->it_content, ITEM_OUT_FULL, (int64_t)time(NULL)) !=
        ERR_OK)
        return cli_fail("cannot format the item");
    ec = cli_print_json(out);
    json_decref(out);
    return ec;
}

/* Parses the options of create / edit into o; pos gets at most maxpos positionals. */
static int ci_parse(struct cli_ctx *x, int argc, char **argv, struct ci_opts *o, const char **pos,
                    size_t maxpos, size_t *npos, const char *what)
{
    const struct cli_opt opts[] = {
        {"--vault", &o->co_vault, NULL, NULL},
        {"--title", &o->co_title, NULL, NULL},
        {"--category", &o->co_category, NULL, NULL},
        {"--tags", &o->co_tags, NULL, NULL},
        {"--url", &o->co_url, NULL, NULL},
        {"--notes", &o->co_notes, NULL, NULL},
        {"--field", NULL, o->co_fields, &o->co_nfields},
        {"--file", NULL, o->co_files, &o->co_nfiles},
        {"--generate-password", &o->co_generate, NULL, NULL},
    };
    int i;

    /* --generate-password may stand alone (no recipe): rewrite it to an empty value. */
    for (i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--generate-password") == 0)
            argv[i] = (char *)(uintptr_t) "--generate-password=";
    }
    return cli_parse(x, argc, argv, 3, opts, sizeof(opts) / sizeof(opts[0]), pos, maxpos, npos,
                     what);
}

/*
 * Reads an item JSON document (a FullItem-shaped object) from path ("-" = stdin) into *doc.
 * The text is wiped once parsed. Returns CLI_EXIT_OK or CLI_EXIT_FAIL (printed).
 */
static int ci_load_doc(struct cli_ctx *x, const char *path, json_t **doc)
{
    json_error_t jerr;
    char *text = NULL;
    size_t len = 0;

    *doc = NULL;
    if (ci_read_all(path, CI_MAX_INPUT_BYTES, &text, &len, x->cx_err, sizeof(x->cx_err)) != ERR_OK)
        return cli_fail("%s", x->cx_err);
    *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    memset(text, 0, len);
    mem_free(text);
    if (!json_is_object(*doc)) {
        json_decref(*doc);
        *doc = NULL;
        return cli_fail("the item in %s is not a JSON object (line %d)",
                        strcmp(path, "-") == 0 ? "stdin" : path, jerr.line);
    }
    return CLI_EXIT_OK;
}

static int ci_create(struct cli_ctx *x, int argc, char **argv)
{
    struct ci_opts o;
    struct item_input in;
    struct ci_item it;
    const char *pos[1];
    char vault[ID_LEN + 1], id[ID_LEN + 1], category[ITEM_CATEGORY_MAX];
    json_t *body = NULL, *content = NULL, *rec = NULL;
    size_t npos;
    int ec;

    memset(&o, 0, sizeof(o));
    memset(&it, 0, sizeof(it));
    ec = ci_parse(x, argc, argv, &o, pos, 1, &npos, "item create");
    if (ec == CLI_EXIT_OK && !o.co_vault)
        ec = cli_usage("usage: sesame item create --vault VAULT [FILE|-] [--title T] "
                       "[--category C] [--field 'label=value']... [--generate-password[=recipe]] "
                       "[--file PATH]...");
    if (ec == CLI_EXIT_OK)
        ec = cli_open(x);
    if (ec != CLI_EXIT_OK)
        return ec;
    ec = CLI_EXIT_FAIL;
    if (npos == 1) {
        if (ci_load_doc(x, pos[0], &body) != CLI_EXIT_OK)
            goto out;
    } else {
        body = json_pack("{s:s}", "category", "LOGIN");
    }
    if (!body) {
        cli_fail("out of memory");
        goto out;
    }
    ec = ci_apply_flags(body, &o);
    if (ec != CLI_EXIT_OK)
        goto out;
    ec = CLI_EXIT_FAIL;
    if (admin_vault_resolve(x->cx_admin, o.co_vault, vault, x->cx_err, sizeof(x->cx_err)) !=
        ERR_OK) {
        cli_fail("%s", x->cx_err);
        goto out;
    }
    memset(&in, 0, sizeof(in));
    in.ii_mode = ITEM_CREATE;
    in.ii_vault_id = vault;
    in.ii_now = (int64_t)time(NULL);
    if (item_from_request(&content, category, body, &in, x->cx_err, sizeof(x->cx_err)) != ERR_OK) {
        cli_fail("invalid item: %s", x->cx_err);
        goto out;
    }
    if (id_new(id) != ERR_OK || ci_attach(x, vault, &o, ci_array(content, "files")) != ERR_OK ||
        ci_put(x, vault, id, category, "", content, 0, &rec) != ERR_OK ||
        ci_meta(rec, &it.it_meta) != ERR_OK) {
        cli_fail("cannot create the item: %s", x->cx_err);
        goto out;
    }
    it.it_content = content;
    content = NULL;
    ec = ci_print_full(&it);
out:
    ci_item_clear(&it);
    json_decref(body);
    json_decref(content);
    json_decref(rec);
    return ec;
}

static int ci_get(struct cli_ctx *x, int argc, char **argv)
{
    const char *pos[1], *vopt = NULL;
    const struct cli_opt opts[] = {{"--vault", &vopt, NULL, NULL}};
    char vault[ID_LEN + 1], id[ID_LEN + 1];
    struct ci_item it;
    size_t npos;
    int ec;

    memset(&it, 0, sizeof(it));
    ec = cli_parse(x, argc, argv, 3, opts, 1, pos, 1, &npos, "item get");
    if (ec == CLI_EXIT_OK && (npos != 1 || !vopt))
        ec = cli_usage("usage: sesame item get ITEM --vault VAULT");
    if (ec == CLI_EXIT_OK)
        ec = cli_open(x);
    if (ec != CLI_EXIT_OK)
        return ec;
    if (admin_vault_resolve(x->cx_admin, vopt, vault, x->cx_err, sizeof(x->cx_err)) != ERR_OK ||
        ci_resolve(x, vault, pos[0], id) != ERR_OK || ci_fetch(x, vault, id, &it) != ERR_OK)
        return cli_fail("%s", x->cx_err);
    ec = ci_print_full(&it);
    ci_item_clear(&it);
    return ec;
}

static int ci_list(struct cli_ctx *x, int argc, char **argv)
{
    const char *pos[1], *vopt = NULL;
    const struct cli_opt opts[] = {{"--vault", &vopt, NULL, NULL}};
    char vault[ID_LEN + 1], target[128];
    json_t *list = NULL, *rec, *out = NULL, *j;
    struct ci_item *items = NULL;
    size_t i, n = 0, npos, wtitle = 5;
    int ec;

    ec = cli_parse(x, argc, argv, 3, opts, 1, pos, 0, &npos, "item list");
    if (ec == CLI_EXIT_OK && !vopt)
        ec = cli_usage("usage: sesame item list --vault VAULT");
    if (ec == CLI_EXIT_OK)
        ec = cli_open(x);
    if (ec != CLI_EXIT_OK)
        return ec;
    ec = CLI_EXIT_FAIL;
    if (admin_vault_resolve(x->cx_admin, vopt, vault, x->cx_err, sizeof(x->cx_err)) != ERR_OK) {
        cli_fail("%s", x->cx_err);
        goto out;
    }
    ci_target(target, sizeof(target), vault, NULL);
    if (admin_call(x->cx_admin, HTTP_CLIENT_GET, target, NULL, NULL, &list, x->cx_err,
                   sizeof(x->cx_err)) != ERR_OK ||
        !json_is_array(list)) {
        cli_fail("cannot list the items: %s", x->cx_err);
        goto out;
    }
    items = mem_calloc(json_array_size(list) + 1, sizeof(*items));
    out = json_array();
    if (!items || !out) {
        cli_fail("out of memory");
        goto out;
    }
    json_array_foreach(list, i, rec)
    {
        if (ci_decrypt(x, rec, 0, &items[n]) != ERR_OK) {
            cli_fail("%s", x->cx_err);
            goto out;
        }
        if (cli_width(cli_str(items[n].it_content, "title")) > wtitle)
            wtitle = cli_width(cli_str(items[n].it_content, "title"));
        n++;
    }
    if (x->cx_json) {
        for (i = 0; i < n; i++) {
            if (item_to_json(&j, &items[i].it_meta, items[i].it_content, 0, (int64_t)time(NULL)) !=
                    ERR_OK ||
                json_array_append_new(out, j) != 0) {
                cli_fail("cannot format the items");
                goto out;
            }
        }
        ec = cli_print_json(out);
        goto out;
    }
    cli_put_cell("ID", ID_LEN);
    cli_put_cell("TITLE", wtitle);
    printf("%-16s  VERSION  UPDATED\n", "CATEGORY");
    for (i = 0; i < n; i++) {
        char upd[TIMEFMT_RFC3339_LEN + 1];

        if (timefmt_rfc3339(upd, items[i].it_meta.im_updated_at) != ERR_OK)
            snprintf(upd, sizeof(upd), "-");
        cli_put_cell(items[i].it_meta.im_id, ID_LEN);
        cli_put_cell(cli_str(items[i].it_content, "title"), wtitle);
        printf("%-16s  %-7lld  %s\n", items[i].it_meta.im_category,
               (long long)items[i].it_meta.im_version, upd);
    }
    ec = CLI_EXIT_OK;
out:
    for (i = 0; items && i < n; i++)
        ci_item_clear(&items[i]);
    mem_free(items);
    json_decref(list);
    json_decref(out);
    return ec;
}

static int ci_edit(struct cli_ctx *x, int argc, char **argv)
{
    struct ci_opts o;
    struct item_input in;
    struct ci_item it, done;
    const char *pos[2];
    char vault[ID_LEN + 1], id[ID_LEN + 1], category[ITEM_CATEGORY_MAX];
    json_t *doc = NULL, *body = NULL, *content = NULL, *rec = NULL, *extra = NULL;
    size_t npos;
    int ec, attempt;
    enum err rc = ERR_CONFLICT;

    memset(&o, 0, sizeof(o));
    memset(&it, 0, sizeof(it));
    memset(&done, 0, sizeof(done));
    ec = ci_parse(x, argc, argv, &o, pos, 2, &npos, "item edit");
    if (ec == CLI_EXIT_OK && (npos < 1 || !o.co_vault))
        ec =
            cli_usage("usage: sesame item edit ITEM --vault VAULT [FILE|-] [--title T] "
                      "[--field 'label=value']... [--generate-password[=recipe]] [--file PATH]...");
    if (ec == CLI_EXIT_OK)
        ec = cli_open(x);
    if (ec != CLI_EXIT_OK)
        return ec;
    ec = CLI_EXIT_FAIL;
    if (npos == 2 && ci_load_doc(x, pos[1], &doc) != CLI_EXIT_OK)
        goto out;
    if (admin_vault_resolve(x->cx_admin, o.co_vault, vault, x->cx_err, sizeof(x->cx_err)) !=
            ERR_OK ||
        ci_resolve(x, vault, pos[0], id) != ERR_OK) {
        cli_fail("%s", x->cx_err);
        goto out;
    }
    /* Files are uploaded once, before the first attempt (immutable by id), and added to
     * the content of every attempt. */
    extra = json_array();
    if (!extra || ci_attach(x, vault, &o, extra) != ERR_OK) {
        cli_fail("cannot attach the files: %s", x->cx_err);
        goto out;
    }
    for (attempt = 0; attempt < CI_MAX_RETRIES && rc == ERR_CONFLICT; attempt++) {
        ci_item_clear(&it);
        json_decref(body);
        json_decref(content);
        json_decref(rec);
        body = content = rec = NULL;
        if (ci_fetch(x, vault, id, &it) != ERR_OK) {
            cli_fail("%s", x->cx_err);
            goto out;
        }
        if (doc) {
            body = json_deep_copy(doc);
        } else if (item_to_json(&body, &it.it_meta, it.it_content, ITEM_OUT_FULL, 0) != ERR_OK) {
            body = NULL;
        }
        if (!body) {
            cli_fail("out of memory");
            goto out;
        }
        ec = ci_apply_flags(body, &o);
        if (ec != CLI_EXIT_OK)
            goto out;
        ec = CLI_EXIT_FAIL;
        memset(&in, 0, sizeof(in));
        in.ii_mode = ITEM_REPLACE;
        in.ii_vault_id = vault;
        in.ii_item_id = id;
        in.ii_existing_category = it.it_meta.im_category;
        in.ii_existing = it.it_content;
        in.ii_now = (int64_t)time(NULL);
        if (item_from_request(&content, category, body, &in, x->cx_err, sizeof(x->cx_err)) !=
            ERR_OK) {
            cli_fail("invalid item: %s", x->cx_err);
            goto out;
        }
        if (json_array_size(extra) > 0) {
            json_t *files = ci_array(content, "files");

            if (!files || json_array_extend(files, extra) != 0) {
                cli_fail("cannot attach the files");
                goto out;
            }
            if (json_array_size(files) > ITEM_MAX_FILES) {
                cli_fail("an item has at most %d files", ITEM_MAX_FILES);
                goto out;
            }
        }
        rc = ci_put(x, vault, id, category, it.it_meta.im_state, content, it.it_meta.im_version,
                    &rec);
    }
    if (rc != ERR_OK || ci_meta(rec, &done.it_meta) != ERR_OK) {
        cli_fail("cannot update the item: %s", x->cx_err);
        goto out;
    }
    done.it_content = content;
    content = NULL;
    ec = ci_print_full(&done);
out:
    ci_item_clear(&it);
    ci_item_clear(&done);
    json_decref(extra);
    json_decref(doc);
    json_decref(body);
    json_decref(content);
    json_decref(rec);
    return ec;
}

/* `item file ITEM FILE --vault V [--out PATH]`: one attachment, decrypted here. */
static int ci_file(struct cli_ctx *x, int argc, char **argv)
{
    const char *pos[2], *vopt = NULL, *outp = NULL, *fid = NULL;
    const struct cli_opt opts[] = {{"--vault", &vopt, NULL, NULL}, {"--out", &outp, NULL, NULL}};
    char vault[ID_LEN + 1], id[ID_LEN + 1], target[160];
    struct http_client_response resp;
    const unsigned char *key;
    struct ci_item it;
    struct buf plain;
    json_t *f;
    size_t i, npos, hits = 0;
    int ec;

    memset(&it, 0, sizeof(it));
    memset(&resp, 0, sizeof(resp));
    buf_init(&plain, VAULTCRYPT_MAX_FILE_BYTES);
    ec = cli_parse(x, argc, argv, 3, opts, 2, pos, 2, &npos, "item file");
    if (ec == CLI_EXIT_OK && (npos != 2 || !vopt))
        ec = cli_usage("usage: sesame item file ITEM FILE --vault VAULT [--out PATH]");
    if (ec == CLI_EXIT_OK)
        ec = cli_open(x);
    if (ec != CLI_EXIT_OK)
        return ec;
    ec = CLI_EXIT_FAIL;
    if (admin_vault_resolve(x->cx_admin, vopt, vault, x->cx_err, sizeof(x->cx_err)) != ERR_OK ||
        ci_resolve(x, vault, pos[0], id) != ERR_OK || ci_fetch(x, vault, id, &it) != ERR_OK) {
        cli_fail("%s", x->cx_err);
        goto out;
    }
    /* the file by id, else by name (which must be unique in the item) */
    json_array_foreach(json_object_get(it.it_content, "files"), i, f)
    {
        if (strcmp(cli_str(f, "id"), pos[1]) == 0) {
            fid = cli_str(f, "id");
            hits = 1;
            break;
        }
        if (strcmp(cli_str(f, "name"), pos[1]) == 0 && hits++ == 0)
            fid = cli_str(f, "id");
    }
    if (hits > 1) {
        cli_fail("%zu files of the item have that name; use the file id", hits);
        goto out;
    }
    if (hits == 0 || !id_is_valid(fid)) {
        cli_fail("the item has no file with that id or name");
        goto out;
    }
    snprintf(target, sizeof(target), "/v1/vaults/%s/files/%s", vault, fid);
    if (admin_call_raw(x->cx_admin, HTTP_CLIENT_GET, target, NULL, 0, &resp, x->cx_err,
                       sizeof(x->cx_err)) != ERR_OK ||
        admin_vault_key(x->cx_admin, vault, &key, x->cx_err, sizeof(x->cx_err)) != ERR_OK) {
        cli_fail("cannot read the file: %s", x->cx_err);
        goto out;
    }
    if (vaultcrypt_file_open(&plain, key, vault, fid, (const unsigned char *)resp.hr_body.b_data,
                             resp.hr_body.b_len) != ERR_OK) {
        cli_fail("the file does not decrypt");
        goto out;
    }
    if (outp) {
        if (cli_write_new_file(outp, plain.b_data ? plain.b_data : "", plain.b_len, x->cx_err,
                               sizeof(x->cx_err)) != ERR_OK) {
            cli_fail("%s", x->cx_err);
            goto out;
        }
    } else if (plain.b_len > 0 && fwrite(plain.b_data, 1, plain.b_len, stdout) != plain.b_len) {
        cli_fail("cannot write the output");
        goto out;
    }
    ec = CLI_EXIT_OK;
out:
    buf_free(&plain);
    http_client_response_free(&resp);
    ci_item_clear(&it);
    return ec;
}

static int ci_delete(struct cli_ctx *x, int argc, char **argv)
{
    const char *pos[1], *vopt = NULL;
    const struct cli_opt opts[] = {{"--vault", &vopt, NULL, NULL}};
    char vault[ID_LEN + 1], id[ID_LEN + 1], target[160];
    struct ci_item it;
    json_t *j;
    size_t npos;
    int ec;

    memset(&it, 0, sizeof(it));
    ec = cli_parse(x, argc, argv, 3, opts, 1, pos, 1, &npos, "item delete");
    if (ec == CLI_EXIT_OK && (npos != 1 || !vopt))
        ec = cli_usage("usage: sesame item delete ITEM --vault VAULT");
    if (ec == CLI_EXIT_OK)
        ec = cli_open(x);
    if (ec != CLI_EXIT_OK)
        return ec;
    if (admin_vault_resolve(x->cx_admin, vopt, vault, x->cx_err, sizeof(x->cx_err)) != ERR_OK ||
        ci_resolve(x, vault, pos[0], id) != ERR_OK || ci_fetch(x, vault, id, &it) != ERR_OK)
        return cli_fail("%s", x->cx_err);
    snprintf(target, sizeof(target), "/v1/vaults/%s/items/%s?baseVersion=%lld", vault, id,
             (long long)it.it_meta.im_version);
    ci_item_clear(&it);
    if (admin_call(x->cx_admin, HTTP_CLIENT_DELETE, target, NULL, NULL, NULL, x->cx_err,
                   sizeof(x->cx_err)) != ERR_OK)
        return cli_fail("cannot delete the item: %s", x->cx_err);
    if (!x->cx_json)
        return printf("Deleted item %s\n", id) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    j = json_pack("{s:s, s:s, s:b}", "id", id, "vault", vault, "deleted", 1);
    ec = cli_print_json(j);
    json_decref(j);
    return ec;
}

static void ci_help(FILE *f)
{
    fprintf(
        f, "Usage: sesame item COMMAND [ARGS] [--kit FILE] [--hub URL] [--passphrase-file FILE] "
           "[--format human|json]\n"
           "\n"
           "  create --vault VAULT [FILE|-] [FLAGS]  create an item (Connect FullItem JSON from "
           "FILE or stdin, and/or flags)\n"
           "  get ITEM --vault VAULT                 print an item (by id or exact title)\n"
           "  list --vault VAULT                     list the items of a vault\n"
           "  edit ITEM --vault VAULT [FILE|-] [FLAGS]\n"
           "                                         replace an item (FILE) or change it (flags)\n"
           "  delete ITEM --vault VAULT              delete an item\n"
           "  file ITEM FILE --vault VAULT [--out PATH]\n"
           "                                         print (or write, mode 0600) an attached file\n"
           "\n"
           "FLAGS: --title T  --category C  --tags a,b  --url U  --notes TEXT\n"
           "       --field 'label=value' | 'label[type]=value' (text, password, email, url, otp,\n"
           "         phone, date, monthyear)   repeatable\n"
           "       --generate-password[=letters,digits,symbols,LENGTH]\n"
           "       --file PATH   attach a file (encrypted here)   repeatable\n");
}

/* Runs `sesame item ...`; see commands.h. */
int cli_cmd_item(int argc, char **argv)
{
    struct cli_ctx x;
    const char *sub = argc > 2 ? argv[2] : NULL;
    int ec;

    memset(&x, 0, sizeof(x));
    x.cx_cmd = "item";
    if (!sub) {
        ci_help(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
        ci_help(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(sub, "create") == 0)
        ec = ci_create(&x, argc, argv);
    else if (strcmp(sub, "get") == 0)
        ec = ci_get(&x, argc, argv);
    else if (strcmp(sub, "list") == 0)
        ec = ci_list(&x, argc, argv);
    else if (strcmp(sub, "edit") == 0)
        ec = ci_edit(&x, argc, argv);
    else if (strcmp(sub, "delete") == 0)
        ec = ci_delete(&x, argc, argv);
    else if (strcmp(sub, "file") == 0)
        ec = ci_file(&x, argc, argv);
    else
        ec = cli_usage("unknown item command; see 'sesame item --help'");
    admin_close(x.cx_admin);
    return ec;
}
