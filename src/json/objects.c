/* objects.c - Vault, File, APIRequest, ServerHealth and ErrorResponse JSON. */
#include "json/objects.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json/timefmt.h"

static const char *const vault_types[] = {"USER_CREATED", "PERSONAL", "EVERYONE", "TRANSFER"};

static enum err obj_set(json_t *o, const char *key, json_t *v)
{
    if (!v)
        return ERR_NOMEM;
    return json_object_set_new(o, key, v) == 0 ? ERR_OK : ERR_NOMEM;
}

/* Sets key to s unless s is empty. */
static enum err obj_set_nonempty(json_t *o, const char *key, const char *s)
{
    if (!s || !*s)
        return ERR_OK;
    return obj_set(o, key, json_string(s));
}

static enum err obj_set_time(json_t *o, const char *key, int64_t t)
{
    char ts[TIMEFMT_RFC3339_LEN + 1];

    if (timefmt_rfc3339(ts, t) != ERR_OK)
        return ERR_BAD_INPUT;
    return obj_set(o, key, json_string(ts));
}

/*
 * Copies the string member key of obj into dst (cap bytes). Absent: "" (an error if
 * required). Not a string, a NUL inside, or too long: an error naming key.
 */
static enum err obj_get_string(const json_t *obj, const char *key, char *dst, size_t cap,
                               int required, char *errmsg, size_t errcap)
{
    const json_t *v = json_object_get(obj, key);

    dst[0] = '\0';
    if (!v || json_is_null(v)) {
        if (required)
            return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s is required", key);
        return ERR_OK;
    }
    if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)))
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s must be a string", key);
    if (json_string_length(v) >= cap)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s is too long", key);
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return ERR_OK;
}

static enum err obj_get_int(const json_t *obj, const char *key, int64_t *out, int required,
                            char *errmsg, size_t errcap)
{
    const json_t *v = json_object_get(obj, key);

    *out = 0;
    if (!v || json_is_null(v))
        return required ? err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s is required", key) : ERR_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s must be a non-negative integer", key);
    *out = json_integer_value(v);
    return ERR_OK;
}

static enum err obj_get_time(const json_t *obj, const char *key, int64_t *out, char *errmsg,
                             size_t errcap)
{
    char s[64];
    enum err rc = obj_get_string(obj, key, s, sizeof(s), 0, errmsg, errcap);

    *out = 0;
    if (rc != ERR_OK || !s[0])
        return rc;
    if (timefmt_parse_rfc3339(out, s) != ERR_OK)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s is not an RFC 3339 date-time", key);
    return ERR_OK;
}

/* Returns 1 for the four vault types Connect clients accept. */
int vault_type_valid(const char *type)
{
    size_t i;

    for (i = 0; i < sizeof(vault_types) / sizeof(vault_types[0]); i++) {
        if (strcmp(type, vault_types[i]) == 0)
            return 1;
    }
    return 0;
}

/* Builds a Vault object. */
enum err vault_to_json(json_t **out, const struct vault_meta *v)
{
    json_t *o;
    enum err rc;

    *out = NULL;
    if (!vault_type_valid(v->vm_type))
        return ERR_BAD_INPUT;
    o = json_object();
    if (!o)
        return ERR_NOMEM;
    if ((rc = obj_set(o, "id", json_string(v->vm_id))) != ERR_OK ||
        (rc = obj_set(o, "name", json_string(v->vm_name))) != ERR_OK ||
        (rc = obj_set_nonempty(o, "description", v->vm_description)) != ERR_OK ||
        (rc = obj_set(o, "attributeVersion", json_integer(v->vm_attribute_version))) != ERR_OK ||
        (rc = obj_set(o, "contentVersion", json_integer(v->vm_content_version))) != ERR_OK ||
        (rc = obj_set(o, "items", json_integer(v->vm_items))) != ERR_OK ||
        (rc = obj_set(o, "type", json_string(v->vm_type))) != ERR_OK ||
        (rc = obj_set_time(o, "createdAt", v->vm_created_at)) != ERR_OK ||
        (rc = obj_set_time(o, "updatedAt", v->vm_updated_at)) != ERR_OK) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return ERR_OK;
}

/* Parses a Vault object. */
enum err vault_from_json(struct vault_meta *v, const json_t *obj, char *errmsg, size_t errcap)
{
    enum err rc;

    memset(v, 0, sizeof(*v));
    if (!json_is_object(obj))
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "the vault must be a JSON object");
    if ((rc = obj_get_string(obj, "id", v->vm_id, sizeof(v->vm_id), 1, errmsg, errcap)) ||
        (rc = obj_get_string(obj, "name", v->vm_name, sizeof(v->vm_name), 0, errmsg, errcap)) ||
        (rc = obj_get_string(obj, "description", v->vm_description, sizeof(v->vm_description), 0,
                             errmsg, errcap)) ||
        (rc = obj_get_int(obj, "attributeVersion", &v->vm_attribute_version, 0, errmsg, errcap)) ||
        (rc = obj_get_int(obj, "contentVersion", &v->vm_content_version, 0, errmsg, errcap)) ||
        (rc = obj_get_int(obj, "items", &v->vm_items, 0, errmsg, errcap)) ||
        (rc = obj_get_string(obj, "type", v->vm_type, sizeof(v->vm_type), 0, errmsg, errcap)) ||
        (rc = obj_get_time(obj, "createdAt", &v->vm_created_at, errmsg, errcap)) ||
        (rc = obj_get_time(obj, "updatedAt", &v->vm_updated_at, errmsg, errcap)))
        return rc;
    if (!id_is_valid(v->vm_id))
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "id is not a valid vault id");
    if (v->vm_type[0] && !vault_type_valid(v->vm_type))
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "type is not a known vault type");
    return ERR_OK;
}

/* Builds a File object with its content_path. */
enum err file_to_json(json_t **out, const struct file_meta *f, const char *vault_id,
                      const char *item_id, const char *content_b64)
{
    char path[160];
    json_t *o;
    enum err rc;

    *out = NULL;
    if ((size_t)snprintf(path, sizeof(path), "/v1/vaults/%s/items/%s/files/%s/content", vault_id,
                         item_id, f->fm_id) >= sizeof(path))
        return ERR_BAD_INPUT;
    o = json_object();
    if (!o)
        return ERR_NOMEM;
    if ((rc = obj_set(o, "id", json_string(f->fm_id))) != ERR_OK ||
        (rc = obj_set(o, "name", json_string(f->fm_name))) != ERR_OK ||
        (rc = obj_set(o, "size", json_integer(f->fm_size))) != ERR_OK ||
        (rc = obj_set(o, "content_path", json_string(path))) != ERR_OK ||
        (f->fm_section_id[0] &&
         (rc = obj_set(o, "section", json_pack("{s:s}", "id", f->fm_section_id))) != ERR_OK) ||
        (rc = obj_set_nonempty(o, "content", content_b64)) != ERR_OK) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return ERR_OK;
}

/* Parses a File object. */
enum err file_from_json(struct file_meta *f, const json_t *obj, char *errmsg, size_t errcap)
{
    const json_t *sec;
    enum err rc;

    memset(f, 0, sizeof(*f));
    if (!json_is_object(obj))
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "the file must be a JSON object");
    if ((rc = obj_get_string(obj, "id", f->fm_id, sizeof(f->fm_id), 1, errmsg, errcap)) ||
        (rc = obj_get_string(obj, "name", f->fm_name, sizeof(f->fm_name), 0, errmsg, errcap)) ||
        (rc = obj_get_int(obj, "size", &f->fm_size, 0, errmsg, errcap)))
        return rc;
    sec = json_object_get(obj, "section");
    if (sec && !json_is_null(sec)) {
        if (!json_is_object(sec))
            return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "section must be an object");
        rc = obj_get_string(sec, "id", f->fm_section_id, sizeof(f->fm_section_id), 0, errmsg,
                            errcap);
    }
    return rc;
}

static const char *const activity_actions[] = {"", "READ", "CREATE", "UPDATE", "DELETE"};
static const char *const activity_results[] = {"", "SUCCESS", "DENY"};
static const char *const activity_resources[] = {"", "VAULT", "ITEM"};

#define OBJ_NAME(table, v)                                                                         \
    ((size_t)(v) < sizeof(table) / sizeof(table[0]) ? table[(size_t)(v)] : "")

/* Wire name of an action. */
const char *activity_action_name(enum activity_action a)
{
    return OBJ_NAME(activity_actions, a);
}

/* Wire name of a result. */
const char *activity_result_name(enum activity_result r)
{
    return OBJ_NAME(activity_results, r);
}

/* Wire name of a resource type. */
const char *activity_resource_name(enum activity_resource r)
{
    return OBJ_NAME(activity_resources, r);
}

static int obj_enum_parse(const char *const *table, size_t n, const char *s)
{
    size_t i;

    for (i = 1; i < n; i++) {
        if (strcmp(table[i], s) == 0)
            return (int)i;
    }
    return 0;
}

/* Appends "key":"value" (escaped) when value is not empty, after a comma unless *first. */
static enum err act_put(struct buf *b, int *first, const char *key, const char *value)
{
    enum err rc;

    if (!value[0])
        return ERR_OK;
    if ((rc = buf_addf(b, "%s\"%s\":", *first ? "" : ",", key)) != ERR_OK)
        return rc;
    *first = 0;
    return buf_add_json_string(b, value);
}

/* Writes an APIRequest object as compact JSON text (see objects.h). */
enum err activity_to_text(struct buf *out, const struct activity *a)
{
    char ts[TIMEFMT_RFC3339_LEN + 1];
    int first = 1;
    enum err rc;

    if (!*activity_action_name(a->ac_action) || !*activity_result_name(a->ac_result) ||
        !*activity_resource_name(a->ac_resource) || timefmt_rfc3339(ts, a->ac_timestamp) != ERR_OK)
        return ERR_BAD_INPUT;
    if ((rc = buf_prepare(out, ACTIVITY_TEXT_GUESS)) != ERR_OK)
        return rc;
    /* the request, then who made it ("actor": the members that are known) */
    if ((rc = buf_add_str(out, "{\"requestId\":")) != ERR_OK ||
        (rc = buf_add_json_string(out, a->ac_request_id)) != ERR_OK ||
        (rc = buf_addf(out, ",\"timestamp\":\"%s\",\"action\":\"%s\",\"result\":\"%s\",\"actor\":{",
                       ts, activity_action_name(a->ac_action),
                       activity_result_name(a->ac_result))) != ERR_OK ||
        (rc = act_put(out, &first, "id", a->ac_actor_id)) != ERR_OK ||
        (rc = act_put(out, &first, "account", a->ac_actor_account)) != ERR_OK ||
        (rc = act_put(out, &first, "jti", a->ac_actor_jti)) != ERR_OK ||
        (rc = act_put(out, &first, "userAgent", a->ac_user_agent)) != ERR_OK ||
        (rc = act_put(out, &first, "requestIp", a->ac_request_ip)) != ERR_OK)
        return rc;
    /* what it was about */
    if ((rc = buf_addf(out, "},\"resource\":{\"type\":\"%s\",\"vault\":{\"id\":",
                       activity_resource_name(a->ac_resource))) != ERR_OK ||
        (rc = buf_add_json_string(out, a->ac_vault_id)) != ERR_OK ||
        (rc = buf_add_str(out, "}")) != ERR_OK)
        return rc;
    if (a->ac_item_id[0]) {
        if ((rc = buf_add_str(out, ",\"item\":{\"id\":")) != ERR_OK ||
            (rc = buf_add_json_string(out, a->ac_item_id)) != ERR_OK ||
            (rc = buf_add_str(out, "}")) != ERR_OK)
            return rc;
        if (a->ac_item_version > 0 &&
            (rc = buf_addf(out, ",\"itemVersion\":%lld", (long long)a->ac_item_version)) != ERR_OK)
            return rc;
    }
    return buf_add_str(out, "}}");
}

/* Parses an APIRequest object. */
enum err activity_from_json(struct activity *a, const json_t *obj, char *errmsg, size_t errcap)
{
    const json_t *actor, *res, *ref;
    char word[16];
    enum err rc;

    memset(a, 0, sizeof(*a));
    if (!json_is_object(obj))
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "the activity entry must be a JSON object");
    actor = json_object_get(obj, "actor");
    res = json_object_get(obj, "resource");
    if (!json_is_object(actor) || !json_is_object(res))
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "actor and resource are required objects");
    if ((rc = obj_get_string(obj, "requestId", a->ac_request_id, sizeof(a->ac_request_id), 1,
                             errmsg, errcap)) ||
        (rc = obj_get_time(obj, "timestamp", &a->ac_timestamp, errmsg, errcap)))
        return rc;
    if ((rc = obj_get_string(obj, "action", word, sizeof(word), 1, errmsg, errcap)))
        return rc;
    a->ac_action = (enum activity_action)obj_enum_parse(
        activity_actions, sizeof(activity_actions) / sizeof(activity_actions[0]), word);
    if ((rc = obj_get_string(obj, "result", word, sizeof(word), 1, errmsg, errcap)))
        return rc;
    a->ac_result = (enum activity_result)obj_enum_parse(
        activity_results, sizeof(activity_results) / sizeof(activity_results[0]), word);
    if ((rc = obj_get_string(res, "type", word, sizeof(word), 1, errmsg, errcap)))
        return rc;
    a->ac_resource = (enum activity_resource)obj_enum_parse(
        activity_resources, sizeof(activity_resources) / sizeof(activity_resources[0]), word);
    if (!a->ac_action || !a->ac_result || !a->ac_resource)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                        "action, result or resource.type has an unknown value");
    if ((rc = obj_get_string(actor, "id", a->ac_actor_id, sizeof(a->ac_actor_id), 0, errmsg,
                             errcap)) ||
        (rc = obj_get_string(actor, "account", a->ac_actor_account, sizeof(a->ac_actor_account), 0,
                             errmsg, errcap)) ||
        (rc = obj_get_string(actor, "jti", a->ac_actor_jti, sizeof(a->ac_actor_jti), 0, errmsg,
                             errcap)) ||
        (rc = obj_get_string(actor, "userAgent", a->ac_user_agent, sizeof(a->ac_user_agent), 0,
                             errmsg, errcap)) ||
        (rc = obj_get_string(actor, "requestIp", a->ac_request_ip, sizeof(a->ac_request_ip), 0,
                             errmsg, errcap)))
        return rc;
    ref = json_object_get(res, "vault");
    if (json_is_object(ref) &&
        (rc = obj_get_string(ref, "id", a->ac_vault_id, sizeof(a->ac_vault_id), 0, errmsg, errcap)))
        return rc;
    ref = json_object_get(res, "item");
    if (json_is_object(ref) &&
        (rc = obj_get_string(ref, "id", a->ac_item_id, sizeof(a->ac_item_id), 0, errmsg, errcap)))
        return rc;
    return obj_get_int(res, "itemVersion", &a->ac_item_version, 0, errmsg, errcap);
}

/* Builds a ServerHealth object. */
enum err health_to_json(json_t **out, const char *name, const char *version,
                        const struct health_dependency *deps, size_t ndeps)
{
    json_t *o, *arr, *d;
    enum err rc;
    size_t i;

    *out = NULL;
    o = json_object();
    arr = json_array();
    if (!o || !arr) {
        json_decref(o);
        json_decref(arr);
        return ERR_NOMEM;
    }
    if ((rc = obj_set(o, "dependencies", arr)) != ERR_OK ||
        (rc = obj_set(o, "name", json_string(name))) != ERR_OK ||
        (rc = obj_set(o, "version", json_string(version))) != ERR_OK)
        goto fail;
    for (i = 0; i < ndeps; i++) {
        d = json_pack("{s:s, s:s}", "service", deps[i].hd_service, "status", deps[i].hd_status);
        if (!d || json_array_append_new(arr, d) != 0) {
            rc = ERR_NOMEM;
            goto fail;
        }
        if ((rc = obj_set_nonempty(d, "message", deps[i].hd_message)) != ERR_OK)
            goto fail;
    }
    *out = o;
    return ERR_OK;
fail:
    json_decref(o);
    return rc;
}

/* Reads a Connect ErrorResponse. */
enum err error_from_json(int *status, const char **message, const json_t *obj)
{
    const json_t *s, *m;

    *status = 0;
    *message = NULL;
    if (!json_is_object(obj))
        return ERR_BAD_INPUT;
    s = json_object_get(obj, "status");
    m = json_object_get(obj, "message");
    if ((s && !json_is_integer(s)) || (m && !json_is_string(m)))
        return ERR_BAD_INPUT;
    if (s)
        *status = (int)json_integer_value(s);
    if (m)
        *message = json_string_value(m);
    return ERR_OK;
}
