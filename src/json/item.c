/* item.c - Connect item validation, normalisation and serialisation. */
#include "json/item.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/limits.h"
#include "crypto/crypto.h"
#include "json/generator.h"
#include "json/patch.h"
#include "json/timefmt.h"
#include "json/totp.h"

/* Categories Connect knows (connect-api.md §6.4). */
static const char *const item_categories[] = {
    "LOGIN",
    "PASSWORD",
    "API_CREDENTIAL",
    "SERVER",
    "DATABASE",
    "CREDIT_CARD",
    "MEMBERSHIP",
    "PASSPORT",
    "SOFTWARE_LICENSE",
    "OUTDOOR_LICENSE",
    "SECURE_NOTE",
    "WIRELESS_ROUTER",
    "BANK_ACCOUNT",
    "DRIVER_LICENSE",
    "IDENTITY",
    "REWARD_PROGRAM",
    "DOCUMENT",
    "EMAIL_ACCOUNT",
    "SOCIAL_SECURITY_NUMBER",
    "MEDICAL_RECORD",
    "SSH_KEY",
    "CUSTOM",
};

/* Field types: the first ITEM_INPUT_TYPES are documented for input; the rest are types
 * items created elsewhere carry, accepted and preserved. */
static const char *const item_field_types[] = {
    "STRING",
    "EMAIL",
    "CONCEALED",
    "URL",
    "OTP",
    "DATE",
    "MONTH_YEAR",
    "MENU",
    "ADDRESS",
    "PHONE",
    "CREDIT_CARD_NUMBER",
    "CREDIT_CARD_TYPE",
    "GENDER",
    "REFERENCE",
    "FILE",
    "SSHKEY",
    "UNKNOWN",
};

static const char *const item_purposes[] = {"USERNAME", "PASSWORD", "NOTES"};

/* A built-in field of a category's template. */
struct item_builtin {
    const char *bi_id;
    const char *bi_type;
    const char *bi_purpose; /* "" for none */
    const char *bi_label;
};

struct item_template {
    const char *it_category;
    const struct item_builtin *it_fields;
    size_t it_count;
};

static const struct item_builtin item_notes = {"notesPlain", "STRING", "NOTES", "notesPlain"};

static const struct item_builtin item_login[] = {
    {"username", "STRING", "USERNAME", "username"},
    {"password", "CONCEALED", "PASSWORD", "password"},
    {"notesPlain", "STRING", "NOTES", "notesPlain"},
};
static const struct item_builtin item_password[] = {
    {"password", "CONCEALED", "PASSWORD", "password"},
    {"notesPlain", "STRING", "NOTES", "notesPlain"},
};
static const struct item_builtin item_api_credential[] = {
    {"username", "STRING", "", "username"},
    {"credential", "CONCEALED", "", "credential"},
    {"notesPlain", "STRING", "NOTES", "notesPlain"},
};
static const struct item_builtin item_database[] = {
    {"database_type", "MENU", "", "type"},
    {"hostname", "STRING", "", "server"},
    {"port", "STRING", "", "port"},
    {"database", "STRING", "", "database"},
    {"username", "STRING", "USERNAME", "username"},
    {"password", "CONCEALED", "PASSWORD", "password"},
    {"notesPlain", "STRING", "NOTES", "notesPlain"},
};
static const struct item_builtin item_ssh_key[] = {
    {"private_key", "SSHKEY", "", "private key"},
    {"public_key", "STRING", "", "public key"},
    {"fingerprint", "STRING", "", "fingerprint"},
    {"notesPlain", "STRING", "NOTES", "notesPlain"},
};

#define ITEM_TEMPLATE(cat, arr)                                                                    \
    {                                                                                              \
        cat, arr, sizeof(arr) / sizeof(arr[0])                                                     \
    }
static const struct item_template item_templates[] = {
    ITEM_TEMPLATE("LOGIN", item_login),
    ITEM_TEMPLATE("PASSWORD", item_password),
    ITEM_TEMPLATE("API_CREDENTIAL", item_api_credential),
    ITEM_TEMPLATE("DATABASE", item_database),
    ITEM_TEMPLATE("SSH_KEY", item_ssh_key),
};

/* jansson's iteration and update functions take non-const objects they do not modify. */
static json_t *item_unconst(const json_t *j)
{
    union {
        const json_t *c;
        json_t *m;
    } u = {j};
    return u.m;
}

/* Validation context: where errors go, and what the request is checked against. */
struct item_ctx {
    char *ic_errmsg;
    size_t ic_errcap;
    const struct item_input *ic_in;
};

static enum err item_fail(struct item_ctx *c, enum err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum err item_fail(struct item_ctx *c, enum err e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    e = err_vmsgf(e, c->ic_errmsg, c->ic_errcap, fmt, ap);
    va_end(ap);
    return e;
}

static const char *item_lookup(const char *const *table, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcasecmp(table[i], name) == 0)
            return table[i];
    }
    return NULL;
}

/* Returns 1 if name is a known category; writes its canonical form. */
int item_category_canonical(const char *name, char out[ITEM_CATEGORY_MAX])
{
    const char *c =
        item_lookup(item_categories, sizeof(item_categories) / sizeof(item_categories[0]), name);

    out[0] = '\0';
    if (!c)
        return 0;
    snprintf(out, ITEM_CATEGORY_MAX, "%s", c);
    return 1;
}

static const struct item_template *item_template_of(const char *category)
{
    size_t i;

    for (i = 0; i < sizeof(item_templates) / sizeof(item_templates[0]); i++) {
        if (strcmp(item_templates[i].it_category, category) == 0)
            return &item_templates[i];
    }
    return NULL;
}

/*
 * Reads an optional string member: absent or null gives *out = NULL. Non-strings, strings
 * with NUL bytes and strings over max bytes are errors naming `what`.
 */
static enum err item_opt_string(struct item_ctx *c, const json_t *obj, const char *key, size_t max,
                                const char *what, const char **out)
{
    const json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_string(v))
        return item_fail(c, ERR_BAD_INPUT, "%s must be a string", what);
    if (json_string_length(v) != strlen(json_string_value(v)))
        return item_fail(c, ERR_BAD_INPUT, "%s must not contain NUL characters", what);
    if (json_string_length(v) > max)
        return item_fail(c, ERR_BAD_INPUT, "%s is too long (at most %zu bytes)", what, max);
    *out = json_string_value(v);
    return ERR_OK;
}

/* Reads an optional boolean member (absent or null: 0). */
static enum err item_opt_bool(struct item_ctx *c, const json_t *obj, const char *key,
                              const char *what, int *out)
{
    const json_t *v = json_object_get(obj, key);

    *out = 0;
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_boolean(v))
        return item_fail(c, ERR_BAD_INPUT, "%s must be true or false", what);
    *out = json_is_true(v);
    return ERR_OK;
}

/* Reads an optional array member with at most max elements (absent or null: NULL). */
static enum err item_opt_array(struct item_ctx *c, const json_t *obj, const char *key, size_t max,
                               const char *what, const json_t **out)
{
    const json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_array(v))
        return item_fail(c, ERR_BAD_INPUT, "%s must be an array", what);
    if (json_array_size(v) > max)
        return item_fail(c, ERR_TOO_LARGE, "%s has too many entries (at most %zu)", what, max);
    *out = v;
    return ERR_OK;
}

/* Reads the "id" of an optional {"id": ...} reference object such as "vault" or "section". */
static enum err item_opt_ref_id(struct item_ctx *c, const json_t *obj, const char *key,
                                const char *what, const char **out)
{
    const json_t *v = json_object_get(obj, key);
    char name[64];

    *out = NULL;
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_object(v))
        return item_fail(c, ERR_BAD_INPUT, "%s must be an object", what);
    snprintf(name, sizeof(name), "%s.id", what);
    return item_opt_string(c, v, "id", ITEM_MAX_ID_BYTES, name, out);
}

static enum err item_set(json_t *obj, const char *key, json_t *v)
{
    if (!v)
        return ERR_NOMEM;
    return json_object_set_new(obj, key, v) == 0 ? ERR_OK : ERR_NOMEM;
}

static enum err item_set_str(json_t *obj, const char *key, const char *s)
{
    return item_set(obj, key, json_string(s));
}

static enum err item_append(json_t *arr, json_t *v)
{
    if (!v)
        return ERR_NOMEM;
    return json_array_append_new(arr, v) == 0 ? ERR_OK : ERR_NOMEM;
}

static enum err item_new_id(char out[ID_LEN + 1])
{
    return id_new(out);
}

/* tags: unique non-empty strings, order kept. */
static enum err item_norm_tags(struct item_ctx *c, const json_t *body, json_t *content)
{
    const json_t *tags, *t;
    json_t *out = NULL;
    size_t i, j;
    enum err rc;
    char what[32];

    rc = item_opt_array(c, body, "tags", ITEM_MAX_TAGS, "tags", &tags);
    if (rc != ERR_OK || !tags || json_array_size(tags) == 0)
        return rc;
    out = json_array();
    if (!out)
        return ERR_NOMEM;
    json_array_foreach(tags, i, t)
    {
        const char *s;
        int dup = 0;

        snprintf(what, sizeof(what), "tags[%zu]", i);
        if (!json_is_string(t)) {
            rc = item_fail(c, ERR_BAD_INPUT, "%s must be a string", what);
            goto out;
        }
        s = json_string_value(t);
        if (json_string_length(t) == 0 || json_string_length(t) != strlen(s)) {
            rc = item_fail(c, ERR_BAD_INPUT, "%s must be a non-empty string", what);
            goto out;
        }
        if (json_string_length(t) > ITEM_MAX_TAG_BYTES) {
            rc = item_fail(c, ERR_BAD_INPUT, "%s is too long (at most %u bytes)", what,
                           ITEM_MAX_TAG_BYTES);
            goto out;
        }
        for (j = 0; j < json_array_size(out) && !dup; j++)
            dup = strcmp(json_string_value(json_array_get(out, j)), s) == 0;
        if (!dup && (rc = item_append(out, json_string(s))) != ERR_OK)
            goto out;
    }
    rc = item_set(content, "tags", out);
    out = NULL;
out:
    json_decref(out);
    return rc;
}

/* urls: objects with a non-empty href, optional label, at most one primary. */
static enum err item_norm_urls(struct item_ctx *c, const json_t *body, json_t *content)
{
    const json_t *urls, *u;
    json_t *out = NULL, *o;
    size_t i;
    int primaries = 0;
    enum err rc;
    char what[64];

    rc = item_opt_array(c, body, "urls", ITEM_MAX_URLS, "urls", &urls);
    if (rc != ERR_OK || !urls || json_array_size(urls) == 0)
        return rc;
    out = json_array();
    if (!out)
        return ERR_NOMEM;
    json_array_foreach(urls, i, u)
    {
        const char *href, *label;
        int primary;

        if (!json_is_object(u)) {
            rc = item_fail(c, ERR_BAD_INPUT, "urls[%zu] must be an object", i);
            goto out;
        }
        snprintf(what, sizeof(what), "urls[%zu].href", i);
        if ((rc = item_opt_string(c, u, "href", ITEM_MAX_VALUE_BYTES, what, &href)) != ERR_OK)
            goto out;
        if (!href || !*href) {
            rc = item_fail(c, ERR_BAD_INPUT, "urls[%zu].href is required", i);
            goto out;
        }
        snprintf(what, sizeof(what), "urls[%zu].label", i);
        if ((rc = item_opt_string(c, u, "label", ITEM_MAX_LABEL_BYTES, what, &label)) != ERR_OK)
            goto out;
        snprintf(what, sizeof(what), "urls[%zu].primary", i);
        if ((rc = item_opt_bool(c, u, "primary", what, &primary)) != ERR_OK)
            goto out;
        if (primary && ++primaries > 1) {
            rc = item_fail(c, ERR_BAD_INPUT, "urls[%zu].primary: only one URL can be primary", i);
            goto out;
        }
        o = json_object();
        if (!o) {
            rc = ERR_NOMEM;
            goto out;
        }
        if ((rc = item_append(out, o)) != ERR_OK)
            goto out;
        if (label && *label && (rc = item_set_str(o, "label", label)) != ERR_OK)
            goto out;
        if (primary && (rc = item_set(o, "primary", json_true())) != ERR_OK)
            goto out;
        if ((rc = item_set_str(o, "href", href)) != ERR_OK)
            goto out;
    }
    rc = item_set(content, "urls", out);
    out = NULL;
out:
    json_decref(out);
    return rc;
}

static json_t *item_find_by_id(const json_t *arr, const char *id)
{
    size_t i;
    json_t *e;

    json_array_foreach(arr, i, e)
    {
        const char *eid = json_string_value(json_object_get(e, "id"));
        if (eid && strcmp(eid, id) == 0)
            return e;
    }
    return NULL;
}

/* sections: {id, label}; ids generated when missing, unique. */
static enum err item_norm_sections(struct item_ctx *c, const json_t *body, json_t *sections)
{
    const json_t *arr, *s;
    size_t i;
    enum err rc;
    char what[64];

    rc = item_opt_array(c, body, "sections", ITEM_MAX_SECTIONS, "sections", &arr);
    if (rc != ERR_OK || !arr)
        return rc;
    json_array_foreach(arr, i, s)
    {
        const char *id, *label;
        char gen[ID_LEN + 1];
        json_t *o;

        if (!json_is_object(s))
            return item_fail(c, ERR_BAD_INPUT, "sections[%zu] must be an object", i);
        snprintf(what, sizeof(what), "sections[%zu].id", i);
        if ((rc = item_opt_string(c, s, "id", ITEM_MAX_ID_BYTES, what, &id)) != ERR_OK)
            return rc;
        snprintf(what, sizeof(what), "sections[%zu].label", i);
        if ((rc = item_opt_string(c, s, "label", ITEM_MAX_LABEL_BYTES, what, &label)) != ERR_OK)
            return rc;
        if (!id || !*id) {
            if (c->ic_in->ii_mode == ITEM_LOAD)
                return item_fail(c, ERR_BAD_INPUT, "sections[%zu].id is required", i);
            if ((rc = item_new_id(gen)) != ERR_OK)
                return rc;
            id = gen;
        }
        if (item_find_by_id(sections, id))
            return item_fail(c, ERR_BAD_INPUT, "sections[%zu].id is not unique", i);
        o = json_object();
        if ((rc = item_append(sections, o)) != ERR_OK)
            return rc;
        if ((rc = item_set_str(o, "id", id)) != ERR_OK)
            return rc;
        if (label && *label && (rc = item_set_str(o, "label", label)) != ERR_OK)
            return rc;
    }
    return ERR_OK;
}

/* Normalises the value of a field of a given type (DATE, MONTH_YEAR, OTP checks). */
static enum err item_norm_value(struct item_ctx *c, size_t i, const char *type, const char *value,
                                json_t *field)
{
    char buf[32];
    enum err rc;

    if (!value || !*value)
        return ERR_OK;
    if (c->ic_in->ii_mode != ITEM_LOAD && strcmp(type, "DATE") == 0) {
        if (timefmt_date_normalize(buf, sizeof(buf), value) != ERR_OK)
            return item_fail(c, ERR_BAD_INPUT,
                             "fields[%zu].value is not a valid DATE (expected YYYY-MM-DD or "
                             "Unix seconds)",
                             i);
        return item_set_str(field, "value", buf);
    }
    if (c->ic_in->ii_mode != ITEM_LOAD && strcmp(type, "MONTH_YEAR") == 0) {
        if (timefmt_month_year_normalize(buf, sizeof(buf), value) != ERR_OK)
            return item_fail(c, ERR_BAD_INPUT,
                             "fields[%zu].value is not a valid MONTH_YEAR (expected YYYYMM or "
                             "YYYY/MM)",
                             i);
        return item_set_str(field, "value", buf);
    }
    if (c->ic_in->ii_mode != ITEM_LOAD && strcmp(type, "OTP") == 0) {
        struct totp_params p;
        char msg[128];

        rc = totp_parse(&p, value, strlen(value), msg, sizeof(msg));
        secmem_wipe(&p, sizeof(p));
        if (rc != ERR_OK && rc != ERR_NOT_FOUND)
            return item_fail(c, ERR_BAD_INPUT,
                             "fields[%zu].value is not a valid one-time password (expected an "
                             "otpauth:// URI or a base32 secret)",
                             i);
    }
    return item_set_str(field, "value", value);
}

/* Generates a password for a field with "generate": true. */
static enum err item_generate(struct item_ctx *c, size_t i, const json_t *f, json_t *field)
{
    struct gen_recipe r;
    char msg[160], *pw = NULL;
    double entropy = 0;
    const json_t *recipe = json_object_get(f, "recipe");
    enum err rc;

    if (recipe && json_is_null(recipe))
        recipe = NULL;
    if (recipe && !json_is_object(recipe))
        return item_fail(c, ERR_BAD_INPUT, "fields[%zu].recipe must be an object", i);
    rc = gen_recipe_from_json(&r, recipe, msg, sizeof(msg));
    if (rc != ERR_OK)
        return item_fail(c, rc, "fields[%zu].%s", i, msg);
    pw = secmem_alloc(GEN_MAX_LENGTH + 1);
    if (!pw)
        return ERR_NOMEM;
    rc = gen_password(pw, GEN_MAX_LENGTH + 1, &r, &entropy);
    if (rc == ERR_OK)
        rc = item_set_str(field, "value", pw);
    if (rc == ERR_OK)
        rc = item_set(field, "entropy", json_real(entropy));
    secmem_free(pw);
    return rc;
}

/* Validates one field into a new normalised object appended to fields. */
static enum err item_norm_field(struct item_ctx *c, size_t i, const json_t *f, json_t *fields,
                                json_t *sections, int *id_given)
{
    const char *id, *type_in, *purpose_in, *label, *value, *section_id;
    const char *type = "STRING", *purpose = NULL;
    char gen[ID_LEN + 1], what[64];
    const json_t *ent;
    json_t *o;
    int generate;
    enum err rc;

    *id_given = 0;
    if (!json_is_object(f))
        return item_fail(c, ERR_BAD_INPUT, "fields[%zu] must be an object", i);
#define ITEM_STR(key, max, out)                                                                    \
    do {                                                                                           \
        snprintf(what, sizeof(what), "fields[%zu]." key, i);                                       \
        if ((rc = item_opt_string(c, f, key, max, what, out)) != ERR_OK)                           \
            return rc;                                                                             \
    } while (0)
    ITEM_STR("id", ITEM_MAX_ID_BYTES, &id);
    ITEM_STR("type", 64, &type_in);
    ITEM_STR("purpose", 64, &purpose_in);
    ITEM_STR("label", ITEM_MAX_LABEL_BYTES, &label);
    ITEM_STR("value", ITEM_MAX_VALUE_BYTES, &value);
#undef ITEM_STR
    snprintf(what, sizeof(what), "fields[%zu].section", i);
    if ((rc = item_opt_ref_id(c, f, "section", what, &section_id)) != ERR_OK)
        return rc;
    snprintf(what, sizeof(what), "fields[%zu].generate", i);
    if ((rc = item_opt_bool(c, f, "generate", what, &generate)) != ERR_OK)
        return rc;

    if (type_in && *type_in) {
        if (strcasecmp(type_in, "TOTP") == 0)
            return item_fail(c, ERR_BAD_INPUT,
                             "fields[%zu] has unsupported field type: totp (use OTP)", i);
        type = item_lookup(item_field_types, sizeof(item_field_types) / sizeof(item_field_types[0]),
                           type_in);
        if (!type && c->ic_in->ii_mode == ITEM_LOAD)
            type = "UNKNOWN";
        if (!type)
            return item_fail(c, ERR_BAD_INPUT, "fields[%zu] has unsupported field type", i);
    }
    if (purpose_in && *purpose_in) {
        purpose = item_lookup(item_purposes, sizeof(item_purposes) / sizeof(item_purposes[0]),
                              purpose_in);
        if (!purpose)
            return item_fail(c, ERR_BAD_INPUT,
                             "fields[%zu].purpose must be one of \"\", USERNAME, PASSWORD, NOTES",
                             i);
    }
    if (id && *id) {
        *id_given = 1;
    } else {
        if (c->ic_in->ii_mode == ITEM_LOAD)
            return item_fail(c, ERR_BAD_INPUT, "fields[%zu].id is required", i);
        if ((rc = item_new_id(gen)) != ERR_OK)
            return rc;
        id = gen;
    }
    if (item_find_by_id(fields, id))
        return item_fail(c, ERR_BAD_INPUT, "fields[%zu].id is not unique", i);

    o = json_object();
    if ((rc = item_append(fields, o)) != ERR_OK)
        return rc;
    if ((rc = item_set_str(o, "id", id)) != ERR_OK)
        return rc;
    if (section_id && *section_id) {
        json_t *ref = json_object();
        if ((rc = item_set(o, "section", ref)) != ERR_OK ||
            (rc = item_set_str(ref, "id", section_id)) != ERR_OK)
            return rc;
        /* A field may name a section the item does not list: the section is added. */
        if (!item_find_by_id(sections, section_id)) {
            json_t *s = json_object();
            if ((rc = item_append(sections, s)) != ERR_OK ||
                (rc = item_set_str(s, "id", section_id)) != ERR_OK)
                return rc;
        }
    }
    if ((rc = item_set_str(o, "type", type)) != ERR_OK)
        return rc;
    if (purpose && (rc = item_set_str(o, "purpose", purpose)) != ERR_OK)
        return rc;
    if (label && *label && (rc = item_set_str(o, "label", label)) != ERR_OK)
        return rc;
    if (generate && c->ic_in->ii_mode != ITEM_LOAD)
        return item_generate(c, i, f, o);
    if ((rc = item_norm_value(c, i, type, value, o)) != ERR_OK)
        return rc;
    /* entropy is read-only: kept only when loading what a server returned. */
    ent = json_object_get(f, "entropy");
    if (c->ic_in->ii_mode == ITEM_LOAD && json_is_number(ent) && json_number_value(ent) > 0)
        rc = item_set(o, "entropy", json_real(json_number_value(ent)));
    return rc;
}

/* Adds the category's built-in fields (LOGIN: username, password, notesPlain, ...). */
static enum err item_add_builtins(const char *category, json_t *fields, const int *id_given)
{
    const struct item_template *t = item_template_of(category);
    const struct item_builtin *list = t ? t->it_fields : &item_notes;
    size_t n = t ? t->it_count : 1, k, i;
    json_t *front = json_array(), *f;
    enum err rc = ERR_OK;

    if (!front)
        return ERR_NOMEM;
    for (k = 0; k < n; k++) {
        const struct item_builtin *b = &list[k];
        json_t *hit = item_find_by_id(fields, b->bi_id);

        if (!hit && *b->bi_purpose) {
            /* A field with this purpose but no client-chosen id becomes the built-in. */
            json_array_foreach(fields, i, f)
            {
                const char *p = json_string_value(json_object_get(f, "purpose"));
                if (!id_given[i] && p && strcmp(p, b->bi_purpose) == 0) {
                    if ((rc = item_set_str(f, "id", b->bi_id)) != ERR_OK)
                        goto out;
                    hit = f;
                    break;
                }
            }
        }
        if (hit) {
            if (*b->bi_purpose && !json_object_get(hit, "purpose") &&
                (rc = item_set_str(hit, "purpose", b->bi_purpose)) != ERR_OK)
                goto out;
            if (!json_object_get(hit, "label") &&
                (rc = item_set_str(hit, "label", b->bi_label)) != ERR_OK)
                goto out;
            continue;
        }
        /* Not there: add it empty, unless another field already has this purpose. */
        if (*b->bi_purpose) {
            int taken = 0;
            json_array_foreach(fields, i, f)
            {
                const char *p = json_string_value(json_object_get(f, "purpose"));
                taken |= p && strcmp(p, b->bi_purpose) == 0;
            }
            if (taken)
                continue;
        }
        f = json_pack("{s:s, s:s, s:s}", "id", b->bi_id, "type", b->bi_type, "label", b->bi_label);
        if (!f) {
            rc = ERR_NOMEM;
            goto out;
        }
        if (*b->bi_purpose && (rc = item_set_str(f, "purpose", b->bi_purpose)) != ERR_OK) {
            json_decref(f);
            goto out;
        }
        if ((rc = item_append(front, f)) != ERR_OK)
            goto out;
    }
    /* Template fields that were missing go first, in template order. */
    if (json_array_size(front) && json_array_insert(fields, 0, json_null()) == 0) {
        json_array_remove(fields, 0);
        for (k = json_array_size(front); k-- > 0;) {
            if (json_array_insert(fields, 0, json_array_get(front, k)) != 0) {
                rc = ERR_NOMEM;
                goto out;
            }
        }
    }
out:
    json_decref(front);
    return rc;
}

/* Counts PASSWORD-purpose fields and computes entropy for those without one. */
static enum err item_check_passwords(struct item_ctx *c, json_t *fields)
{
    size_t i, count = 0;
    json_t *f;
    enum err rc;

    json_array_foreach(fields, i, f)
    {
        const char *p = json_string_value(json_object_get(f, "purpose"));
        const char *v = json_string_value(json_object_get(f, "value"));

        if (!p || strcmp(p, "PASSWORD") != 0)
            continue;
        if (++count > 1)
            return item_fail(c, ERR_BAD_INPUT, "You can only use one \"password\" field.");
        if (v && *v && !json_object_get(f, "entropy") &&
            (rc = item_set(f, "entropy", json_real(gen_entropy_estimate(v, strlen(v))))) != ERR_OK)
            return rc;
    }
    return ERR_OK;
}

static const json_t *item_password_field(const json_t *content)
{
    const json_t *fields = json_object_get(content, "fields"), *f;
    size_t i;

    json_array_foreach(fields, i, f)
    {
        const char *p = json_string_value(json_object_get(f, "purpose"));
        if (p && strcmp(p, "PASSWORD") == 0)
            return f;
    }
    return NULL;
}

/*
 * PUT keeps what a client cannot send: the stored files, and the password history, to which
 * the old password is added when it changes; an unchanged password keeps its entropy.
 */
static enum err item_carry_over(struct item_ctx *c, json_t *content)
{
    const json_t *old = c->ic_in->ii_existing, *oldpw, *files, *hist;
    json_t *newpw, *nh = NULL;
    const char *ov, *nv;
    enum err rc = ERR_OK;

    if (!old)
        return ERR_OK;
    files = json_object_get(old, "files");
    if (json_is_array(files) && json_array_size(files) &&
        (rc = item_set(content, "files", json_deep_copy(files))) != ERR_OK)
        return rc;
    hist = json_object_get(old, "passwordHistory");
    nh = json_is_array(hist) ? json_deep_copy(hist) : json_array();
    if (!nh)
        return ERR_NOMEM;
    oldpw = item_password_field(old);
    newpw = item_unconst(item_password_field(content));
    ov = json_string_value(json_object_get(oldpw, "value"));
    nv = newpw ? json_string_value(json_object_get(newpw, "value")) : NULL;
    if (ov && *ov && (!nv || strcmp(ov, nv) != 0)) {
        if ((rc = item_append(nh, json_pack("{s:s, s:I}", "value", ov, "time",
                                            (json_int_t)c->ic_in->ii_now))) != ERR_OK)
            goto out;
        while (json_array_size(nh) > ITEM_MAX_HISTORY)
            json_array_remove(nh, 0);
    } else if (ov && nv && json_object_get(oldpw, "entropy") && newpw) {
        rc = item_set(newpw, "entropy", json_deep_copy(json_object_get(oldpw, "entropy")));
        if (rc != ERR_OK)
            goto out;
    }
    if (json_array_size(nh))
        rc = item_set(content, "passwordHistory", nh);
    else
        json_decref(nh);
    nh = NULL;
out:
    json_decref(nh);
    return rc;
}

/* files (ITEM_LOAD only): {id, name, size, section?}. */
static enum err item_load_files(struct item_ctx *c, const json_t *body, json_t *content)
{
    const json_t *arr, *f;
    json_t *out = NULL;
    size_t i;
    enum err rc;
    char what[64];

    rc = item_opt_array(c, body, "files", ITEM_MAX_FILES, "files", &arr);
    if (rc != ERR_OK || !arr || json_array_size(arr) == 0)
        return rc;
    out = json_array();
    if (!out)
        return ERR_NOMEM;
    json_array_foreach(arr, i, f)
    {
        const char *id, *name, *section;
        const json_t *size;
        json_t *o;

        if (!json_is_object(f)) {
            rc = item_fail(c, ERR_BAD_INPUT, "files[%zu] must be an object", i);
            goto out;
        }
        snprintf(what, sizeof(what), "files[%zu].id", i);
        if ((rc = item_opt_string(c, f, "id", ITEM_MAX_ID_BYTES, what, &id)) != ERR_OK)
            goto out;
        snprintf(what, sizeof(what), "files[%zu].name", i);
        if ((rc = item_opt_string(c, f, "name", FILE_MAX_NAME_BYTES, what, &name)) != ERR_OK)
            goto out;
        snprintf(what, sizeof(what), "files[%zu].section", i);
        if ((rc = item_opt_ref_id(c, f, "section", what, &section)) != ERR_OK)
            goto out;
        size = json_object_get(f, "size");
        if (!id || !*id || (size && (!json_is_integer(size) || json_integer_value(size) < 0))) {
            rc = item_fail(c, ERR_BAD_INPUT, "files[%zu] needs an id and a non-negative size", i);
            goto out;
        }
        o = json_pack("{s:s, s:s, s:I}", "id", id, "name", name ? name : "", "size",
                      size ? json_integer_value(size) : (json_int_t)0);
        if ((rc = item_append(out, o)) != ERR_OK)
            goto out;
        if (section && *section &&
            (rc = item_set(o, "section", json_pack("{s:s}", "id", section))) != ERR_OK)
            goto out;
    }
    rc = item_set(content, "files", out);
    out = NULL;
out:
    json_decref(out);
    return rc;
}

/* Checks the category of a write; see item.h. */
static enum err item_norm_category(struct item_ctx *c, const json_t *body,
                                   char category[ITEM_CATEGORY_MAX])
{
    const struct item_input *in = c->ic_in;
    const char *cat;
    enum err rc;

    rc = item_opt_string(c, body, "category", 64, "category", &cat);
    if (rc != ERR_OK)
        return rc;
    if (!cat || !*cat) {
        if (in->ii_mode == ITEM_REPLACE && in->ii_existing_category) {
            snprintf(category, ITEM_CATEGORY_MAX, "%s", in->ii_existing_category);
            return ERR_OK;
        }
        if (in->ii_mode == ITEM_LOAD) {
            snprintf(category, ITEM_CATEGORY_MAX, "CUSTOM");
            return ERR_OK;
        }
        return item_fail(c, ERR_BAD_INPUT, "category is required");
    }
    if (!item_category_canonical(cat, category)) {
        /* The Go SDK maps categories it does not know to CUSTOM; so does loading. */
        if (in->ii_mode == ITEM_LOAD) {
            snprintf(category, ITEM_CATEGORY_MAX, "CUSTOM");
            return ERR_OK;
        }
        return item_fail(c, ERR_BAD_INPUT, "Invalid item category");
    }
    if ((strcmp(category, "CUSTOM") == 0 || strcmp(category, "DOCUMENT") == 0) &&
        (in->ii_mode == ITEM_CREATE ||
         (in->ii_mode == ITEM_REPLACE &&
          (!in->ii_existing_category || strcmp(in->ii_existing_category, category) != 0))))
        return item_fail(c, ERR_BAD_INPUT,
                         "category: %s items cannot be created through the Connect API", category);
    return ERR_OK;
}

/* Validates and normalises a write; see item.h. */
static enum err item_normalize(json_t **content, char category[ITEM_CATEGORY_MAX],
                               const json_t *body, struct item_ctx *c)
{
    const struct item_input *in = c->ic_in;
    const char *title, *vault_id, *id;
    const json_t *farr, *f;
    json_t *out = NULL, *sections = NULL, *fields = NULL;
    int favorite, *id_given = NULL;
    size_t i;
    enum err rc;

    *content = NULL;
    category[0] = '\0';
    if (!json_is_object(body))
        return item_fail(c, ERR_BAD_INPUT, "the item must be a JSON object");
    if ((rc = item_opt_ref_id(c, body, "vault", "vault", &vault_id)) != ERR_OK)
        return rc;
    if (in->ii_mode != ITEM_LOAD && vault_id && *vault_id && in->ii_vault_id &&
        strcmp(vault_id, in->ii_vault_id) != 0)
        return item_fail(c, ERR_BAD_INPUT, "vault.id does not match the vault in the path");
    if ((rc = item_opt_string(c, body, "id", ITEM_MAX_ID_BYTES, "id", &id)) != ERR_OK)
        return rc;
    if (in->ii_mode == ITEM_REPLACE && id && *id && in->ii_item_id &&
        strcmp(id, in->ii_item_id) != 0)
        return item_fail(c, ERR_BAD_INPUT, "id does not match the item in the path");
    if ((rc = item_norm_category(c, body, category)) != ERR_OK)
        return rc;
    if ((rc = item_opt_string(c, body, "title", ITEM_MAX_TITLE_BYTES, "title", &title)) != ERR_OK)
        return rc;
    if ((rc = item_opt_bool(c, body, "favorite", "favorite", &favorite)) != ERR_OK)
        return rc;

    out = json_object();
    sections = json_array();
    fields = json_array();
    if (!out || !sections || !fields) {
        rc = ERR_NOMEM;
        goto out;
    }
    if ((rc = item_set_str(out, "title", title ? title : "")) != ERR_OK)
        goto out;
    if ((rc = item_norm_tags(c, body, out)) != ERR_OK)
        goto out;
    if ((rc = item_norm_urls(c, body, out)) != ERR_OK)
        goto out;
    if (favorite && (rc = item_set(out, "favorite", json_true())) != ERR_OK)
        goto out;
    if ((rc = item_norm_sections(c, body, sections)) != ERR_OK)
        goto out;
    if ((rc = item_opt_array(c, body, "fields", ITEM_MAX_FIELDS, "fields", &farr)) != ERR_OK)
        goto out;
    id_given = mem_calloc(farr ? json_array_size(farr) + 1 : 1, sizeof(*id_given));
    if (!id_given) {
        rc = ERR_NOMEM;
        goto out;
    }
    json_array_foreach(farr, i, f)
    {
        if ((rc = item_norm_field(c, i, f, fields, sections, &id_given[i])) != ERR_OK)
            goto out;
    }
    if (in->ii_mode != ITEM_LOAD) {
        if ((rc = item_add_builtins(category, fields, id_given)) != ERR_OK)
            goto out;
        /* Built-ins may have been inserted in front: ids are unique again by construction. */
        if ((rc = item_check_passwords(c, fields)) != ERR_OK)
            goto out;
    }
    if (json_array_size(sections) &&
        (rc = item_set(out, "sections", json_incref(sections))) != ERR_OK)
        goto out;
    if (json_array_size(fields) && (rc = item_set(out, "fields", json_incref(fields))) != ERR_OK)
        goto out;
    if (in->ii_mode == ITEM_LOAD)
        rc = item_load_files(c, body, out);
    else if (in->ii_mode == ITEM_REPLACE)
        rc = item_carry_over(c, out);
    if (rc != ERR_OK)
        goto out;
    *content = out;
    out = NULL;
out:
    mem_free(id_given);
    json_decref(sections);
    json_decref(fields);
    json_decref(out);
    return rc;
}

/* Validates and normalises a POST/PUT body; see item.h. */
enum err item_from_request(json_t **content, char category[ITEM_CATEGORY_MAX], const json_t *body,
                           const struct item_input *in, char *errmsg, size_t errcap)
{
    struct item_ctx c = {errmsg, errcap, in};

    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (in->ii_mode == ITEM_LOAD) {
        *content = NULL;
        return item_fail(&c, ERR_INTERNAL, "item_from_request does not load items");
    }
    return item_normalize(content, category, body, &c);
}

static enum err item_put_time(json_t *o, const char *key, int64_t t)
{
    char ts[TIMEFMT_RFC3339_LEN + 1];

    if (timefmt_rfc3339(ts, t) != ERR_OK)
        return ERR_OK; /* out of range: omitted rather than sent as "" (the Go SDK fails on "") */
    return item_set_str(o, key, ts);
}

/* Copies a field for output: values only when allowed, the current TOTP code for OTP. */
static json_t *item_field_out(const json_t *f, unsigned flags, int64_t now)
{
    json_t *o = json_deep_copy(f);
    const char *type, *value;
    char code[16];

    if (!o)
        return NULL;
    if (flags & ITEM_OUT_REDACT) {
        json_object_del(o, "value");
        json_object_del(o, "entropy");
        return o;
    }
    type = json_string_value(json_object_get(o, "type"));
    value = json_string_value(json_object_get(o, "value"));
    if (type && value && strcmp(type, "OTP") == 0 &&
        totp_from_value(code, sizeof(code), value, strlen(value), now) == ERR_OK &&
        json_object_set_new(o, "totp", json_string(code)) != 0) {
        json_decref(o);
        return NULL;
    }
    secmem_wipe(code, sizeof(code));
    return o;
}

/* Builds the Item summary or FullItem JSON; see item.h. */
enum err item_to_json(json_t **out, const struct item_meta *m, const json_t *content,
                      unsigned flags, int64_t now)
{
    json_t *o = NULL, *arr = NULL, *e;
    const json_t *v;
    size_t i;
    enum err rc = ERR_NOMEM;
    char path[160];

    *out = NULL;
    if (!json_is_object(content))
        return ERR_BAD_INPUT;
    o = json_object();
    if (!o)
        goto out;
    if ((rc = item_set_str(o, "id", m->im_id)) != ERR_OK)
        goto out;
    v = json_object_get(content, "title");
    if ((rc = item_set_str(o, "title", json_is_string(v) ? json_string_value(v) : "")) != ERR_OK)
        goto out;
    if ((rc = item_set(o, "version", json_integer(m->im_version))) != ERR_OK)
        goto out;
    if ((rc = item_set(o, "vault", json_pack("{s:s}", "id", m->im_vault_id))) != ERR_OK)
        goto out;
    if ((rc = item_set_str(o, "category", m->im_category)) != ERR_OK)
        goto out;
    v = json_object_get(content, "urls");
    if (json_array_size(v) && (rc = item_set(o, "urls", json_deep_copy(v))) != ERR_OK)
        goto out;
    if (json_is_true(json_object_get(content, "favorite")) &&
        (rc = item_set(o, "favorite", json_true())) != ERR_OK)
        goto out;
    v = json_object_get(content, "tags");
    if (json_array_size(v) && (rc = item_set(o, "tags", json_deep_copy(v))) != ERR_OK)
        goto out;
    if (m->im_state[0] && (rc = item_set_str(o, "state", m->im_state)) != ERR_OK)
        goto out;
    if (m->im_last_edited_by[0] &&
        (rc = item_set_str(o, "lastEditedBy", m->im_last_edited_by)) != ERR_OK)
        goto out;
    if ((rc = item_put_time(o, "createdAt", m->im_created_at)) != ERR_OK)
        goto out;
    if ((rc = item_put_time(o, "updatedAt", m->im_updated_at)) != ERR_OK)
        goto out;
    if (!(flags & ITEM_OUT_FULL))
        goto done;

    v = json_object_get(content, "sections");
    if (json_array_size(v) && (rc = item_set(o, "sections", json_deep_copy(v))) != ERR_OK)
        goto out;
    v = json_object_get(content, "fields");
    if (json_array_size(v)) {
        arr = json_array();
        if (!arr) {
            rc = ERR_NOMEM;
            goto out;
        }
        json_array_foreach(v, i, e)
        {
            if ((rc = item_append(arr, item_field_out(e, flags, now))) != ERR_OK)
                goto out;
        }
        rc = item_set(o, "fields", arr);
        arr = NULL;
        if (rc != ERR_OK)
            goto out;
    }
    v = json_object_get(content, "files");
    if (json_array_size(v)) {
        arr = json_array();
        if (!arr) {
            rc = ERR_NOMEM;
            goto out;
        }
        json_array_foreach(v, i, e)
        {
            json_t *fo = json_deep_copy(e);
            const char *fid = json_string_value(json_object_get(e, "id"));

            if ((rc = item_append(arr, fo)) != ERR_OK)
                goto out;
            snprintf(path, sizeof(path), "/v1/vaults/%s/items/%s/files/%s/content", m->im_vault_id,
                     m->im_id, fid ? fid : "");
            if ((rc = item_set_str(fo, "content_path", path)) != ERR_OK)
                goto out;
        }
        rc = item_set(o, "files", arr);
        arr = NULL;
        if (rc != ERR_OK)
            goto out;
    }
done:
    *out = o;
    o = NULL;
    rc = ERR_OK;
out:
    json_decref(arr);
    json_decref(o);
    return rc;
}

/* Applies a PATCH document and re-validates the result; see item.h. */
enum err item_apply_patch(json_t **content, char category[ITEM_CATEGORY_MAX],
                          const struct item_meta *m, const json_t *existing, const json_t *ops,
                          int64_t now, char *errmsg, size_t errcap)
{
    struct item_input in = {ITEM_REPLACE, m->im_vault_id, m->im_id, m->im_category, existing, now};
    json_t *doc = NULL;
    enum err rc;

    *content = NULL;
    category[0] = '\0';
    if (errmsg && errcap)
        errmsg[0] = '\0';
    /* The document the paths point into: the FullItem as the client reads it, with the
     * attributes that are omitted when empty present, so that "/favorite" or "/tags/-"
     * address something. */
    rc = item_to_json(&doc, m, existing, ITEM_OUT_FULL, now);
    if (rc != ERR_OK)
        goto out;
    if ((rc = patch_fill_defaults(doc)) != ERR_OK)
        goto out;
    if ((rc = patch_apply(&doc, ops, errmsg, errcap)) != ERR_OK)
        goto out;
    rc = item_from_request(content, category, doc, &in, errmsg, errcap);
out:
    json_decref(doc);
    return rc;
}

/* Copies a string member into a fixed buffer if it fits; otherwise an error. */
static enum err item_meta_string(struct item_ctx *c, const json_t *obj, const char *key, char *dst,
                                 size_t cap, int required)
{
    const char *s;
    enum err rc = item_opt_string(c, obj, key, cap - 1, key, &s);

    dst[0] = '\0';
    if (rc != ERR_OK)
        return rc;
    if (!s || !*s)
        return required ? item_fail(c, ERR_BAD_INPUT, "%s is required", key) : ERR_OK;
    snprintf(dst, cap, "%s", s);
    return ERR_OK;
}

static enum err item_meta_time(struct item_ctx *c, const json_t *obj, const char *key, int64_t *out)
{
    const char *s;
    enum err rc = item_opt_string(c, obj, key, 64, key, &s);

    *out = 0;
    if (rc != ERR_OK || !s)
        return rc;
    if (timefmt_parse_rfc3339(out, s) != ERR_OK)
        return item_fail(c, ERR_BAD_INPUT, "%s is not an RFC 3339 date-time", key);
    return ERR_OK;
}

/* Parses a server's Item / FullItem; see item.h. */
enum err item_from_json(struct item_meta *m, json_t **content, const json_t *obj, char *errmsg,
                        size_t errcap)
{
    struct item_input in = {ITEM_LOAD, NULL, NULL, NULL, NULL, 0};
    struct item_ctx c = {errmsg, errcap, &in};
    const json_t *vault, *ver;
    enum err rc;

    memset(m, 0, sizeof(*m));
    *content = NULL;
    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (!json_is_object(obj))
        return item_fail(&c, ERR_BAD_INPUT, "the item must be a JSON object");
    if ((rc = item_meta_string(&c, obj, "id", m->im_id, sizeof(m->im_id), 1)) != ERR_OK)
        return rc;
    vault = json_object_get(obj, "vault");
    if (!json_is_object(vault))
        return item_fail(&c, ERR_BAD_INPUT, "vault is required");
    if ((rc = item_meta_string(&c, vault, "id", m->im_vault_id, sizeof(m->im_vault_id), 1)) !=
        ERR_OK)
        return rc;
    ver = json_object_get(obj, "version");
    if (ver && !json_is_integer(ver))
        return item_fail(&c, ERR_BAD_INPUT, "version must be an integer");
    m->im_version = ver ? json_integer_value(ver) : 0;
    if ((rc = item_meta_string(&c, obj, "lastEditedBy", m->im_last_edited_by,
                               sizeof(m->im_last_edited_by), 0)) != ERR_OK ||
        (rc = item_meta_string(&c, obj, "state", m->im_state, sizeof(m->im_state), 0)) != ERR_OK ||
        (rc = item_meta_time(&c, obj, "createdAt", &m->im_created_at)) != ERR_OK ||
        (rc = item_meta_time(&c, obj, "updatedAt", &m->im_updated_at)) != ERR_OK)
        return rc;
    return item_normalize(content, m->im_category, obj, &c);
}

/* Splits content into overview and details; see item.h. */
enum err item_content_split(const json_t *content, json_t **overview, json_t **details)
{
    static const char *const overview_keys[] = {"title", "tags", "urls", "favorite"};
    json_t *ov = NULL, *dt = NULL;
    const char *key;
    json_t *v;
    size_t i;
    int is_overview;

    *overview = NULL;
    *details = NULL;
    if (!json_is_object(content))
        return ERR_BAD_INPUT;
    ov = json_object();
    dt = json_object();
    if (!ov || !dt)
        goto nomem;
    json_object_foreach(item_unconst(content), key, v)
    {
        is_overview = 0;
        for (i = 0; i < sizeof(overview_keys) / sizeof(overview_keys[0]); i++)
            is_overview |= strcmp(key, overview_keys[i]) == 0;
        if (json_object_set_new(is_overview ? ov : dt, key, json_deep_copy(v)) != 0)
            goto nomem;
    }
    *overview = ov;
    *details = dt;
    return ERR_OK;
nomem:
    json_decref(ov);
    json_decref(dt);
    return ERR_NOMEM;
}

/* Joins overview and details; see item.h. */
enum err item_content_join(const json_t *overview, const json_t *details, json_t **content)
{
    json_t *o;

    *content = NULL;
    if (!json_is_object(overview) || !json_is_object(details))
        return ERR_BAD_INPUT;
    o = json_deep_copy(overview);
    if (!o)
        return ERR_NOMEM;
    if (json_object_update(o, item_unconst(details)) != 0) {
        json_decref(o);
        return ERR_NOMEM;
    }
    *content = o;
    return ERR_OK;
}
