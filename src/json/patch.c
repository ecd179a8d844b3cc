/*
 * patch.c - Connect's JSON Patch on a FullItem (RFC 6902 add/remove/replace, RFC 6901
 * pointers), all or nothing. See patch.h and docs/data-model-patch.md for the rules.
 *
 * Error messages are static strings chosen here: they name the operation by position and
 * say what is wrong with its op, path or value, and never quote the request.
 */
#include "json/patch.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/limits.h"

enum patch_kind {
    PATCH_ADD,
    PATCH_REMOVE,
    PATCH_REPLACE,
};

/*
 * A parsed RFC 6901 pointer. The unescaped tokens live back to back in pp_buf, each
 * NUL-terminated; pp_ntok == 0 is the empty pointer "" (the whole document).
 */
struct patch_ptr {
    char *pp_buf;                       /* owned; NULL for "" */
    const char *pp_tok[JSON_MAX_DEPTH]; /* the tokens, pointing into pp_buf */
    size_t pp_ntok;                     /* how many */
};

/* The reasons an operation fails (after "Invalid patch operation N: "). */
#define WHY_NOT_OBJECT    "the operation must be a JSON object"
#define WHY_OP_MISSING    "op is missing"
#define WHY_OP_TYPE       "op must be a string"
#define WHY_OP_UNKNOWN    "op must be add, remove or replace"
#define WHY_OP_MOVE       "the move operation is not supported, only add, remove and replace"
#define WHY_OP_COPY       "the copy operation is not supported, only add, remove and replace"
#define WHY_OP_TEST       "the test operation is not supported, only add, remove and replace"
#define WHY_PATH_MISSING  "path is missing"
#define WHY_PATH_TYPE     "path must be a string"
#define WHY_PATH_SLASH    "path must start with \"/\""
#define WHY_PATH_NUL      "path must not contain a NUL character"
#define WHY_PATH_ESCAPE   "path has an invalid ~ escape (only ~0 and ~1 are allowed)"
#define WHY_PATH_DEEP     "path has too many segments"
#define WHY_VALUE_MISSING "value is missing"
#define WHY_NO_PATH       "path does not exist"
#define WHY_INDEX         "path has an invalid array index"
#define WHY_RANGE         "array index is out of range"
#define WHY_DASH          "\"-\" is only allowed as the last segment of an add path"
#define WHY_SCALAR        "path goes into a value that is neither an object nor an array"
#define WHY_ROOT_REMOVE   "the whole item cannot be removed"
#define WHY_ROOT_VALUE    "value must be an object to replace the whole item"
#define WHY_FIELD_VALUE   "value must be an object (a field)"
#define WHY_FIELD_NOID    "the field id in the path is empty"
#define WHY_FIELD_ID      "the field id in the value does not match the path"
#define WHY_FIELDS_TYPE   "the fields attribute is not an array"

/* Returns 1 when the JSON string s holds exactly the NUL-terminated text t. */
static int patch_str_is(const json_t *s, const char *t)
{
    size_t len = strlen(t);

    return json_is_string(s) && json_string_length(s) == len &&
           memcmp(json_string_value(s), t, len) == 0;
}

/* Reads the op member; returns NULL and sets *kind, or the reason it is unacceptable. */
static const char *patch_kind_parse(const json_t *jop, enum patch_kind *kind)
{
    static const struct {
        const char *k_name;
        enum patch_kind k_kind;
        const char *k_why; /* NULL: supported */
    } kinds[] = {
        {"add", PATCH_ADD, NULL},         {"remove", PATCH_REMOVE, NULL},
        {"replace", PATCH_REPLACE, NULL}, {"move", PATCH_ADD, WHY_OP_MOVE},
        {"copy", PATCH_ADD, WHY_OP_COPY}, {"test", PATCH_ADD, WHY_OP_TEST},
    };
    size_t i;

    if (!jop)
        return WHY_OP_MISSING;
    if (!json_is_string(jop))
        return WHY_OP_TYPE;
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (patch_str_is(jop, kinds[i].k_name)) {
            *kind = kinds[i].k_kind;
            return kinds[i].k_why;
        }
    }
    return WHY_OP_UNKNOWN;
}

/*
 * Parses the path member into pp (which the caller releases with mem_free(pp->pp_buf),
 * also on error). Returns ERR_OK, ERR_BAD_INPUT with *why set, or ERR_NOMEM.
 */
static enum err patch_ptr_parse(const json_t *jpath, struct patch_ptr *pp, const char **why)
{
    const char *s;
    size_t len, i;
    char *out;

    pp->pp_buf = NULL;
    pp->pp_ntok = 0;
    if (!jpath) {
        *why = WHY_PATH_MISSING;
        return ERR_BAD_INPUT;
    }
    if (!json_is_string(jpath)) {
        *why = WHY_PATH_TYPE;
        return ERR_BAD_INPUT;
    }
    s = json_string_value(jpath);
    len = json_string_length(jpath);
    if (len == 0)
        return ERR_OK;
    if (memchr(s, '\0', len)) {
        *why = WHY_PATH_NUL;
        return ERR_BAD_INPUT;
    }
    if (s[0] != '/') {
        *why = WHY_PATH_SLASH;
        return ERR_BAD_INPUT;
    }
    /* The first '/' yields no byte, every other one a NUL: len bytes always suffice. */
    pp->pp_buf = mem_alloc(len);
    if (!pp->pp_buf)
        return ERR_NOMEM;
    out = pp->pp_buf;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (c == '/') {
            if (pp->pp_ntok == JSON_MAX_DEPTH) {
                *why = WHY_PATH_DEEP;
                return ERR_BAD_INPUT;
            }
            if (i > 0)
                *out++ = '\0';
            pp->pp_tok[pp->pp_ntok++] = out;
            continue;
        }
        if (c == '~') {
            if (i + 1 < len && s[i + 1] == '0') {
                c = '~';
            } else if (i + 1 < len && s[i + 1] == '1') {
                c = '/';
            } else {
                *why = WHY_PATH_ESCAPE;
                return ERR_BAD_INPUT;
            }
            i++;
        }
        *out++ = c;
    }
    *out = '\0';
    return ERR_OK;
}

/*
 * Parses an RFC 6901 array index: "0", or decimal digits without a leading zero. Values
 * too large for size_t saturate at SIZE_MAX (out of range for any array). Returns 0 on
 * success, -1 when tok is not an index.
 */
static int patch_index_parse(const char *tok, size_t *idx)
{
    size_t v = 0;

    if (tok[0] == '\0' || (tok[0] == '0' && tok[1] != '\0'))
        return -1;
    for (; *tok; tok++) {
        size_t d;

        if (*tok < '0' || *tok > '9')
            return -1;
        d = (size_t)(*tok - '0');
        v = v > (SIZE_MAX - d) / 10 ? SIZE_MAX : v * 10 + d;
    }
    *idx = v;
    return 0;
}

/* Moves from cur to its child named tok; returns NULL and sets *next, or the reason. */
static const char *patch_step(json_t *cur, const char *tok, json_t **next)
{
    size_t idx;

    *next = NULL;
    if (json_is_object(cur)) {
        *next = json_object_get(cur, tok);
        return *next ? NULL : WHY_NO_PATH;
    }
    if (json_is_array(cur)) {
        if (strcmp(tok, "-") == 0)
            return WHY_DASH;
        if (patch_index_parse(tok, &idx) != 0)
            return WHY_INDEX;
        if (idx >= json_array_size(cur))
            return WHY_RANGE;
        *next = json_array_get(cur, idx);
        return NULL;
    }
    return WHY_SCALAR;
}

/*
 * Applies one operation to the member or element tok of parent, with RFC 6902 semantics:
 * add creates or replaces an object member and inserts into an array (index <= size, "-"
 * appends); replace and remove need an existing target. value is copied.
 */
static enum err patch_target(json_t *parent, const char *tok, enum patch_kind kind,
                             const json_t *value, const char **why)
{
    json_t *copy;
    size_t idx, size;
    int rc;

    if (json_is_object(parent)) {
        if (kind != PATCH_ADD && !json_object_get(parent, tok)) {
            *why = WHY_NO_PATH;
            return ERR_BAD_INPUT;
        }
        if (kind == PATCH_REMOVE)
            return json_object_del(parent, tok) == 0 ? ERR_OK : ERR_INTERNAL;
        copy = json_deep_copy(value);
        if (!copy)
            return ERR_NOMEM;
        /* Fails only on allocation: the key is valid UTF-8, cut from a JSON string. */
        return json_object_set_new(parent, tok, copy) == 0 ? ERR_OK : ERR_NOMEM;
    }
    if (!json_is_array(parent)) {
        *why = WHY_SCALAR;
        return ERR_BAD_INPUT;
    }
    size = json_array_size(parent);
    if (strcmp(tok, "-") == 0) {
        if (kind != PATCH_ADD) {
            *why = WHY_DASH;
            return ERR_BAD_INPUT;
        }
        idx = size;
    } else if (patch_index_parse(tok, &idx) != 0) {
        *why = WHY_INDEX;
        return ERR_BAD_INPUT;
    }
    if (idx > size || (kind != PATCH_ADD && idx == size)) {
        *why = WHY_RANGE;
        return ERR_BAD_INPUT;
    }
    if (kind == PATCH_REMOVE)
        return json_array_remove(parent, idx) == 0 ? ERR_OK : ERR_INTERNAL;
    copy = json_deep_copy(value);
    if (!copy)
        return ERR_NOMEM;
    if (kind == PATCH_REPLACE)
        rc = json_array_set_new(parent, idx, copy);
    else
        rc = json_array_insert_new(parent, idx, copy);
    return rc == 0 ? ERR_OK : ERR_NOMEM;
}

/* Follows toks[0..n-2] from cur (n >= 1) and applies the operation to toks[n-1]. */
static enum err patch_walk(json_t *cur, const char *const *toks, size_t n, enum patch_kind kind,
                           const json_t *value, const char **why)
{
    size_t i;

    for (i = 0; i + 1 < n; i++) {
        *why = patch_step(cur, toks[i], &cur);
        if (*why)
            return ERR_BAD_INPUT;
    }
    return patch_target(cur, toks[n - 1], kind, value, why);
}

/* Returns the position of the first field object of fields whose id is id, or SIZE_MAX. */
static size_t patch_field_find(const json_t *fields, const char *id)
{
    size_t i, n = json_array_size(fields);

    for (i = 0; i < n; i++) {
        if (patch_str_is(json_object_get(json_array_get(fields, i), "id"), id))
            return i;
    }
    return SIZE_MAX;
}

/*
 * Stores a copy of the field object value in root's fields array (fields, NULL when the
 * item has none yet: then it is created): at position pos, or appended when pos is
 * SIZE_MAX. With id (the field id of the path) the value's id must be absent, null, "" or
 * id itself, and the stored field gets id.
 */
static enum err patch_field_put(json_t *root, json_t *fields, size_t pos, const char *id,
                                const json_t *value, const char **why)
{
    const json_t *vid;
    json_t *copy = NULL;
    enum err rc = ERR_NOMEM;
    int set;

    if (!json_is_object(value)) {
        *why = WHY_FIELD_VALUE;
        return ERR_BAD_INPUT;
    }
    vid = json_object_get(value, "id");
    if (id && vid && !json_is_null(vid) && !patch_str_is(vid, "") && !patch_str_is(vid, id)) {
        *why = WHY_FIELD_ID;
        return ERR_BAD_INPUT;
    }
    copy = json_deep_copy(value);
    if (!copy)
        goto out;
    if (id && !patch_str_is(vid, id) && json_object_set_new(copy, "id", json_string(id)) != 0)
        goto out;
    if (!fields) {
        fields = json_array();
        if (json_object_set_new(root, "fields", fields) != 0)
            goto out;
    }
    set = pos == SIZE_MAX ? json_array_append_new(fields, copy)
                          : json_array_set_new(fields, pos, copy);
    copy = NULL; /* taken by jansson, also on failure */
    if (set == 0)
        rc = ERR_OK;
out:
    json_decref(copy);
    return rc;
}

/*
 * Connect's rules under /fields: add /fields (or /fields/-) with an object appends a field;
 * /fields/<id> is the field with that id (add creates or replaces it, replace needs it,
 * remove deletes it); /fields/<id>/... continues as a plain pointer inside that field.
 * /fields with any other operation or value is the whole array, as in RFC 6902.
 */
static enum err patch_fields(json_t *root, const struct patch_ptr *pp, enum patch_kind kind,
                             const json_t *value, const char **why)
{
    json_t *fields = json_object_get(root, "fields");
    const char *id;
    size_t pos;

    if (pp->pp_ntok == 1 && !(kind == PATCH_ADD && json_is_object(value)))
        return patch_target(root, "fields", kind, value, why);
    if (fields && !json_is_array(fields)) {
        *why = WHY_FIELDS_TYPE;
        return ERR_BAD_INPUT;
    }
    if (pp->pp_ntok == 1 ||
        (pp->pp_ntok == 2 && kind == PATCH_ADD && strcmp(pp->pp_tok[1], "-") == 0))
        return patch_field_put(root, fields, SIZE_MAX, NULL, value, why);
    id = pp->pp_tok[1];
    if (id[0] == '\0') {
        *why = WHY_FIELD_NOID;
        return ERR_BAD_INPUT;
    }
    pos = fields ? patch_field_find(fields, id) : SIZE_MAX;
    if (pos == SIZE_MAX && !(kind == PATCH_ADD && pp->pp_ntok == 2)) {
        *why = WHY_NO_PATH;
        return ERR_BAD_INPUT;
    }
    if (pp->pp_ntok > 2)
        return patch_walk(json_array_get(fields, pos), pp->pp_tok + 2, pp->pp_ntok - 2, kind, value,
                          why);
    if (kind == PATCH_REMOVE)
        return json_array_remove(fields, pos) == 0 ? ERR_OK : ERR_INTERNAL;
    return patch_field_put(root, fields, pos, id, value, why);
}

/*
 * Checks and applies one operation to *doc (which it may replace, for the path "/").
 * Returns ERR_OK, ERR_BAD_INPUT with *why set, ERR_NOMEM or ERR_INTERNAL.
 */
static enum err patch_op_apply(json_t **doc, const json_t *op, const char **why)
{
    struct patch_ptr pp;
    enum patch_kind kind = PATCH_ADD;
    const json_t *value = NULL;
    json_t *copy;
    enum err rc = ERR_BAD_INPUT;

    pp.pp_buf = NULL;
    pp.pp_ntok = 0;
    if (!json_is_object(op)) {
        *why = WHY_NOT_OBJECT;
        goto out;
    }
    *why = patch_kind_parse(json_object_get(op, "op"), &kind);
    if (*why)
        goto out;
    rc = patch_ptr_parse(json_object_get(op, "path"), &pp, why);
    if (rc != ERR_OK)
        goto out;
    rc = ERR_BAD_INPUT;
    if (kind != PATCH_REMOVE) {
        value = json_object_get(op, "value");
        if (!value) {
            *why = WHY_VALUE_MISSING;
            goto out;
        }
    }
    if (pp.pp_ntok == 0 || (pp.pp_ntok == 1 && pp.pp_tok[0][0] == '\0')) {
        /* "" (RFC 6901) and "/" (Connect) are the whole item. */
        if (kind == PATCH_REMOVE) {
            *why = WHY_ROOT_REMOVE;
            goto out;
        }
        if (!json_is_object(value)) {
            *why = WHY_ROOT_VALUE;
            goto out;
        }
        copy = json_deep_copy(value);
        if (!copy) {
            rc = ERR_NOMEM;
            goto out;
        }
        json_decref(*doc);
        *doc = copy;
        rc = ERR_OK;
        goto out;
    }
    if (strcmp(pp.pp_tok[0], "fields") == 0)
        rc = patch_fields(*doc, &pp, kind, value, why);
    else
        rc = patch_walk(*doc, pp.pp_tok, pp.pp_ntok, kind, value, why);
out:
    mem_free(pp.pp_buf);
    return rc;
}

/* Applies ops to a copy of *item and swaps it in on success (see patch.h). */
enum err patch_apply(json_t **item, const json_t *ops, char *errmsg, size_t errcap)
{
    json_t *doc = NULL;
    const char *why = NULL;
    size_t i, n;
    enum err rc;

    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (!item || !json_is_object(*item)) {
        rc = ERR_INTERNAL;
        goto out;
    }
    if (!json_is_array(ops)) {
        rc = ERR_BAD_INPUT;
        if (errmsg && errcap)
            snprintf(errmsg, errcap, "Invalid patch: the body must be a JSON array of operations");
        goto out;
    }
    n = json_array_size(ops);
    if (n > PATCH_MAX_OPS) {
        rc = ERR_BAD_INPUT;
        if (errmsg && errcap)
            snprintf(errmsg, errcap, "Invalid patch: more than %d operations", PATCH_MAX_OPS);
        goto out;
    }
    rc = ERR_OK;
    if (n == 0)
        goto out;
    doc = json_deep_copy(*item);
    if (!doc) {
        rc = ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        rc = patch_op_apply(&doc, json_array_get(ops, i), &why);
        if (rc == ERR_BAD_INPUT && errmsg && errcap)
            snprintf(errmsg, errcap, "Invalid patch operation %zu: %s", i, why);
        if (rc != ERR_OK)
            goto out;
    }
    json_decref(*item);
    *item = doc;
    doc = NULL;
out:
    if (rc != ERR_OK && rc != ERR_BAD_INPUT && errmsg && errcap)
        snprintf(errmsg, errcap, "%s", err_message(rc));
    json_decref(doc);
    return rc;
}

/* Adds the missing FullItem defaults to item (see patch.h). */
enum err patch_fill_defaults(json_t *item)
{
    static const char *const arrays[] = {"tags", "urls", "sections", "fields", "files"};
    size_t i;

    if (!json_is_object(item))
        return ERR_INTERNAL;
    if (!json_object_get(item, "title") && json_object_set_new(item, "title", json_string("")))
        return ERR_NOMEM;
    if (!json_object_get(item, "favorite") && json_object_set_new(item, "favorite", json_false()))
        return ERR_NOMEM;
    for (i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++) {
        if (!json_object_get(item, arrays[i]) &&
            json_object_set_new(item, arrays[i], json_array()) != 0)
            return ERR_NOMEM;
    }
    return ERR_OK;
}
