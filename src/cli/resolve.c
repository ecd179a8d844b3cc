/*
 * resolve.c - secret references resolved through the Connect API. See resolve.h.
 *
 * Caches (all per resolver, linear: an invocation holds a handful of references):
 *   rs_values  canonical folded reference -> value (secure memory)
 *   rs_items   vault id + item id -> the item's JSON (jansson memory wipes when freed)
 *   rs_names   "v\x1f<name>" or "i\x1f<vault id>\x1f<title>" (folded) -> id
 */
#include "cli/resolve.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "crypto/crypto.h"
#include "http/client.h"

#define RS_ID_LEN  26
#define RS_URL_MAX 2048

struct rs_value {
    char *rv_key;
    char *rv_val; /* secure memory */
    size_t rv_len;
};

struct rs_item {
    char rsi_vault[RS_ID_LEN + 1];
    char rsi_item[RS_ID_LEN + 1];
    json_t *rsi_json;
};

struct rs_name {
    char *rn_key;
    char rn_id[RS_ID_LEN + 1];
};

struct resolver {
    struct http_client *rs_http;
    struct rs_value *rs_values;
    size_t rs_nvalues;
    struct rs_item *rs_items;
    size_t rs_nitems;
    struct rs_name *rs_names;
    size_t rs_nnames;
    char rs_ref[SECRETREF_CANON_MAX]; /* the reference being resolved, for messages */
};

/* Writes "<reference>: <message>" into errmsg and returns e. */
static enum err rs_fail(const struct resolver *r, enum err e, char *errmsg, size_t errcap,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static enum err rs_fail(const struct resolver *r, enum err e, char *errmsg, size_t errcap,
                        const char *fmt, ...)
{
    char what[RESOLVE_ERRMSG_BYTES];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return err_msgf(e, errmsg, errcap, "%s: %s", r->rs_ref, what);
}

/*
 * Returns a copy of the array old (n elements of size bytes) with room for one more (zeroed),
 * freeing old; NULL (old kept) when out of memory.
 */
static void *rs_grow(void *old, size_t n, size_t size)
{
    void *p = mem_calloc(n + 1, size);

    if (!p)
        return NULL;
    if (n)
        memcpy(p, old, n * size);
    mem_free(old);
    return p;
}

/* Returns 1 when s looks like a Connect id: 26 of [a-z0-9]. */
static int rs_id_shaped(const char *s)
{
    size_t i;

    for (i = 0; i < RS_ID_LEN; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    }
    return s[RS_ID_LEN] == '\0';
}

/* Returns 1 when a and b are equal ignoring ASCII case (both may be NULL: 0). */
static int rs_ieq(const char *a, const char *b)
{
    return a && b && strcasecmp(a, b) == 0;
}

/* Makes a resolver. See resolve.h. */
enum err resolver_new(struct resolver **out, char *errmsg, size_t errcap)
{
    const char *host = getenv("OP_CONNECT_HOST"), *token = getenv("OP_CONNECT_TOKEN");
    const char *ca = getenv("SSL_CERT_FILE");
    struct http_client_config cfg;
    struct resolver *r = NULL;
    char url[RS_URL_MAX], msg[256];
    enum err e;
    int n;

    *out = NULL;
    if (!host || !*host)
        return err_msgf(ERR_CONFIG, errmsg, errcap,
                        "OP_CONNECT_HOST is not set (the URL of the Connect server)");
    if (!token || !*token)
        return err_msgf(ERR_CONFIG, errmsg, errcap,
                        "OP_CONNECT_TOKEN is not set (a Connect server token)");
    if (strstr(host, "://"))
        n = snprintf(url, sizeof(url), "%s", host);
    else
        n = snprintf(url, sizeof(url), "http://%s", host);
    if (n < 0 || (size_t)n >= sizeof(url))
        return err_msgf(ERR_CONFIG, errmsg, errcap, "OP_CONNECT_HOST is too long");
    r = mem_calloc(1, sizeof(*r));
    if (!r)
        return err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
    memset(&cfg, 0, sizeof(cfg));
    cfg.hcc_base_url = url;
    cfg.hcc_max_body = RESOLVE_MAX_BODY_BYTES;
    cfg.hcc_ca_file = ca && *ca ? ca : NULL;
    e = http_client_new(&r->rs_http, &cfg, msg, sizeof(msg));
    if (e != ERR_OK) {
        e = err_msgf(e, errmsg, errcap, "OP_CONNECT_HOST%s: %s",
                     cfg.hcc_ca_file ? " or SSL_CERT_FILE" : "", msg);
        goto fail;
    }
    e = http_client_set_bearer(r->rs_http, token);
    if (e != ERR_OK) {
        e = err_msgf(ERR_CONFIG, errmsg, errcap, "OP_CONNECT_TOKEN is not a usable token (%s)",
                     err_name(e));
        goto fail;
    }
    *out = r;
    return ERR_OK;
fail:
    resolver_free(r);
    return e;
}

/* Frees a resolver. See resolve.h. */
void resolver_free(struct resolver *r)
{
    size_t i;

    if (!r)
        return;
    for (i = 0; i < r->rs_nvalues; i++) {
        mem_free(r->rs_values[i].rv_key);
        secmem_free(r->rs_values[i].rv_val);
    }
    for (i = 0; i < r->rs_nitems; i++)
        json_decref(r->rs_items[i].rsi_json);
    for (i = 0; i < r->rs_nnames; i++)
        mem_free(r->rs_names[i].rn_key);
    mem_free(r->rs_values);
    mem_free(r->rs_items);
    mem_free(r->rs_names);
    http_client_free(r->rs_http);
    mem_free(r);
}

/*
 * GETs path; on a 2xx answer *out gets the body (JSON when json, else raw bytes copied to
 * secure memory in *raw / *rawlen). Errors carry the server's message.
 */
static enum err rs_get(struct resolver *r, const char *path, json_t **out, char **raw,
                       size_t *rawlen, char *errmsg, size_t errcap)
{
    struct http_client_request req = {.hq_method = HTTP_CLIENT_GET, .hq_path = path};
    struct http_client_response resp;
    char msg[512];
    enum err e;

    if (out)
        *out = NULL;
    memset(&resp, 0, sizeof(resp));
    e = http_client_request(r->rs_http, &req, &resp);
    if (e != ERR_OK) {
        e = rs_fail(r, e, errmsg, errcap, "the Connect server did not answer: %s", resp.hr_errmsg);
        goto out;
    }
    e = http_client_response_error(&resp, msg, sizeof(msg));
    if (e != ERR_OK) {
        e = rs_fail(r, e, errmsg, errcap, "the Connect server answered %d: %s", resp.hr_status,
                    msg);
        goto out;
    }
    if (raw) {
        *raw = secmem_alloc(resp.hr_body.b_len + 1);
        if (!*raw) {
            e = rs_fail(r, ERR_NOMEM, errmsg, errcap, "out of memory");
            goto out;
        }
        if (resp.hr_body.b_len)
            memcpy(*raw, resp.hr_body.b_data, resp.hr_body.b_len);
        (*raw)[resp.hr_body.b_len] = '\0';
        *rawlen = resp.hr_body.b_len;
        goto out;
    }
    *out = json_loadb(resp.hr_body.b_data ? resp.hr_body.b_data : "", resp.hr_body.b_len, 0, NULL);
    if (!*out)
        e = rs_fail(r, ERR_UPSTREAM, errmsg, errcap, "the Connect server's answer is not JSON");
out:
    http_client_response_free(&resp);
    return e;
}

/* Returns the cached id for key, or NULL. */
static const char *rs_name_get(const struct resolver *r, const char *key)
{
    size_t i;

    for (i = 0; i < r->rs_nnames; i++) {
        if (strcmp(r->rs_names[i].rn_key, key) == 0)
            return r->rs_names[i].rn_id;
    }
    return NULL;
}

/* Remembers key -> id (best effort: a full cache or no memory only costs a lookup). */
static void rs_name_put(struct resolver *r, const char *key, const char *id)
{
    struct rs_name *v;

    if (r->rs_nnames >= RESOLVE_MAX_ITEMS)
        return;
    v = rs_grow(r->rs_names, r->rs_nnames, sizeof(*v));
    if (!v)
        return;
    r->rs_names = v;
    v[r->rs_nnames].rn_key = mem_strdup(key);
    if (!v[r->rs_nnames].rn_key)
        return;
    (void)snprintf(v[r->rs_nnames].rn_id, sizeof(v[r->rs_nnames].rn_id), "%s", id);
    r->rs_nnames++;
}

/* Builds a cache key "<kind>\x1f<a>[\x1f<b>]" folded to lower case into b. */
static enum err rs_key(struct buf *b, char kind, const char *a, const char *c)
{
    enum err e;
    size_t i;

    buf_init(b, 4 * SECRETREF_MAX_SEGMENT);
    e = buf_addf(b, "%c\x1f%s%s%s", kind, a, c ? "\x1f" : "", c ? c : "");
    for (i = 0; e == ERR_OK && i < b->b_len; i++)
        b->b_data[i] = (char)tolower((unsigned char)b->b_data[i]);
    return e;
}

/*
 * Finds the one entry of list (a JSON array of objects with an "id") whose member equals
 * name ignoring ASCII case. With filtered (the server applied `eq`, which may fold case
 * beyond ASCII), entries the server returned count when none matches in ASCII. Returns
 * ERR_OK (*id set), ERR_NOT_FOUND or ERR_CONFLICT.
 */
static enum err rs_pick(const json_t *list, const char *member, const char *name, int filtered,
                        const char **id)
{
    const json_t *v;
    const char *any = NULL;
    size_t i, n = 0, nany = 0;

    *id = NULL;
    json_array_foreach(list, i, v)
    {
        const char *vid = json_string_value(json_object_get(v, "id"));

        if (!vid || !rs_id_shaped(vid))
            continue;
        if (++nany == 1)
            any = vid;
        if (rs_ieq(json_string_value(json_object_get(v, member)), name) && ++n == 1)
            *id = vid;
    }
    if (n == 0 && filtered) {
        n = nany;
        *id = any;
    }
    if (n == 0)
        return ERR_NOT_FOUND;
    return n == 1 ? ERR_OK : ERR_CONFLICT;
}

/*
 * Lists base (".../vaults" or ".../items") filtered by `attr eq "name"` when the name can be
 * written in a filter (no '"'), else whole, and picks the one match. Returns the id in
 * out (RS_ID_LEN + 1 bytes).
 */
static enum err rs_lookup(struct resolver *r, const char *base, const char *attr,
                          const char *member, const char *name, const char *what, char *out,
                          char *errmsg, size_t errcap)
{
    struct buf path, filter;
    json_t *list = NULL;
    const char *id = NULL;
    enum err e;
    int filtered = strchr(name, '"') == NULL;

    buf_init(&path, RS_URL_MAX + 4 * SECRETREF_MAX_SEGMENT);
    buf_init(&filter, 2 * SECRETREF_MAX_SEGMENT);
    e = buf_add_str(&path, base);
    if (e == ERR_OK && filtered) {
        e = buf_addf(&filter, "%s eq \"%s\"", attr, name);
        if (e == ERR_OK)
            e = buf_add_str(&path, "?filter=");
        if (e == ERR_OK)
            e = http_client_escape(&path, filter.b_data);
    }
    if (e != ERR_OK) {
        e = rs_fail(r, e, errmsg, errcap, "the %s name is too long", what);
        goto out;
    }
    e = rs_get(r, path.b_data, &list, NULL, NULL, errmsg, errcap);
    if (e != ERR_OK)
        goto out;
    if (!json_is_array(list)) {
        e = rs_fail(r, ERR_UPSTREAM, errmsg, errcap, "the Connect server's list is not an array");
        goto out;
    }
    e = rs_pick(list, member, name, filtered, &id);
    if (e == ERR_NOT_FOUND)
        e = rs_fail(r, e, errmsg, errcap, "no %s named \"%s\" (or the token cannot see it)", what,
                    name);
    else if (e == ERR_CONFLICT)
        e = rs_fail(r, e, errmsg, errcap, "several %ss are named \"%s\": use the %s's id instead",
                    what, name, what);
    else
        (void)snprintf(out, RS_ID_LEN + 1, "%s", id);
out:
    json_decref(list);
    buf_free(&path);
    buf_free(&filter);
    return e;
}

/* Resolves the vault of ref into vid (RS_ID_LEN + 1 bytes). */
static enum err rs_vault(struct resolver *r, const struct secretref *ref, char *vid, char *errmsg,
                         size_t errcap)
{
    char path[64];
    struct buf key;
    const char *cached;
    json_t *v = NULL;
    enum err e;

    if (rs_key(&key, 'v', ref->sr_vault, NULL) != ERR_OK) {
        buf_free(&key);
        return rs_fail(r, ERR_NOMEM, errmsg, errcap, "out of memory");
    }
    cached = rs_name_get(r, key.b_data);
    if (cached) {
        (void)snprintf(vid, RS_ID_LEN + 1, "%s", cached);
        e = ERR_OK;
        goto out;
    }
    if (rs_id_shaped(ref->sr_vault)) {
        (void)snprintf(path, sizeof(path), "/v1/vaults/%s", ref->sr_vault);
        e = rs_get(r, path, &v, NULL, NULL, errmsg, errcap);
        json_decref(v);
        if (e == ERR_OK) {
            (void)snprintf(vid, RS_ID_LEN + 1, "%s", ref->sr_vault);
            goto done;
        }
        if (e != ERR_NOT_FOUND && e != ERR_FORBIDDEN)
            goto out;
        /* As the SDKs: a 26-character name that is not an id may still be a title. */
    }
    e = rs_lookup(r, "/v1/vaults", "name", "name", ref->sr_vault, "vault", vid, errmsg, errcap);
    if (e != ERR_OK)
        goto out;
done:
    rs_name_put(r, key.b_data, vid);
out:
    buf_free(&key);
    return e;
}

/* Returns the cached item JSON for vid/iid, or NULL. */
static json_t *rs_item_get(const struct resolver *r, const char *vid, const char *iid)
{
    size_t i;

    for (i = 0; i < r->rs_nitems; i++) {
        if (strcmp(r->rs_items[i].rsi_vault, vid) == 0 && strcmp(r->rs_items[i].rsi_item, iid) == 0)
            return r->rs_items[i].rsi_json;
    }
    return NULL;
}

/* Fetches (or finds cached) the item vid/iid into *item (borrowed). */
static enum err rs_item_fetch(struct resolver *r, const char *vid, const char *iid, json_t **item,
                              char *errmsg, size_t errcap)
{
    struct rs_item *v;
    char path[96];
    json_t *j = NULL;
    enum err e;

    *item = rs_item_get(r, vid, iid);
    if (*item)
        return ERR_OK;
    if (r->rs_nitems >= RESOLVE_MAX_ITEMS)
        return rs_fail(r, ERR_TOO_LARGE, errmsg, errcap, "more than %d items in one command",
                       RESOLVE_MAX_ITEMS);
    (void)snprintf(path, sizeof(path), "/v1/vaults/%s/items/%s", vid, iid);
    e = rs_get(r, path, &j, NULL, NULL, errmsg, errcap);
    if (e != ERR_OK)
        return e;
    if (!json_is_object(j)) {
        json_decref(j);
        return rs_fail(r, ERR_UPSTREAM, errmsg, errcap,
                       "the Connect server's item is not an object");
    }
    v = rs_grow(r->rs_items, r->rs_nitems, sizeof(*v));
    if (!v) {
        json_decref(j);
        return rs_fail(r, ERR_NOMEM, errmsg, errcap, "out of memory");
    }
    r->rs_items = v;
    (void)snprintf(v[r->rs_nitems].rsi_vault, sizeof(v[0].rsi_vault), "%s", vid);
    (void)snprintf(v[r->rs_nitems].rsi_item, sizeof(v[0].rsi_item), "%s", iid);
    v[r->rs_nitems].rsi_json = j;
    r->rs_nitems++;
    *item = j;
    return ERR_OK;
}

/* Resolves the item of ref in vault vid into *item (borrowed from the cache). */
static enum err rs_item(struct resolver *r, const struct secretref *ref, const char *vid,
                        json_t **item, char *errmsg, size_t errcap)
{
    char iid[RS_ID_LEN + 1], base[64];
    struct buf key;
    const char *cached;
    enum err e;

    *item = NULL;
    if (rs_key(&key, 'i', vid, ref->sr_item) != ERR_OK) {
        buf_free(&key);
        return rs_fail(r, ERR_NOMEM, errmsg, errcap, "out of memory");
    }
    cached = rs_name_get(r, key.b_data);
    if (cached) {
        e = rs_item_fetch(r, vid, cached, item, errmsg, errcap);
        goto out;
    }
    if (rs_id_shaped(ref->sr_item)) {
        e = rs_item_fetch(r, vid, ref->sr_item, item, errmsg, errcap);
        if (e != ERR_NOT_FOUND)
            goto out;
    }
    (void)snprintf(base, sizeof(base), "/v1/vaults/%s/items", vid);
    e = rs_lookup(r, base, "title", "title", ref->sr_item, "item", iid, errmsg, errcap);
    if (e == ERR_OK)
        e = rs_item_fetch(r, vid, iid, item, errmsg, errcap);
    if (e == ERR_OK)
        rs_name_put(r, key.b_data, iid);
out:
    buf_free(&key);
    return e;
}

/* Returns the section id of a field or file object, or NULL. */
static const char *rs_section_of(const json_t *o)
{
    return json_string_value(json_object_get(json_object_get(o, "section"), "id"));
}

/*
 * Finds the one section of item whose id or label is name. Returns ERR_OK (*sid set),
 * ERR_NOT_FOUND or ERR_CONFLICT (with errmsg).
 */
static enum err rs_section(struct resolver *r, const json_t *item, const char *name,
                           const char **sid, char *errmsg, size_t errcap)
{
    const json_t *s;
    size_t i, n = 0;

    *sid = NULL;
    json_array_foreach(json_object_get(item, "sections"), i, s)
    {
        const char *id = json_string_value(json_object_get(s, "id"));

        if (id &&
            (rs_ieq(id, name) || rs_ieq(json_string_value(json_object_get(s, "label")), name)) &&
            ++n == 1)
            *sid = id;
    }
    if (n == 1)
        return ERR_OK;
    if (n == 0)
        return rs_fail(r, ERR_NOT_FOUND, errmsg, errcap, "the item has no section \"%s\"", name);
    return rs_fail(r, ERR_CONFLICT, errmsg, errcap,
                   "the item has several sections \"%s\": use the section's id", name);
}

/* Returns 1 when field or file o is in section sid (NULL: any section). */
static int rs_in_section(const json_t *o, const char *sid)
{
    const char *s = rs_section_of(o);

    return !sid || (s && strcmp(s, sid) == 0);
}

/*
 * Finds the field (or, failing that, the file) the reference names. Fields match by id or
 * label; without a section, fields outside any section win over the others. Returns
 * ERR_OK with *field or *file set, ERR_NOT_FOUND or ERR_CONFLICT (with errmsg).
 */
static enum err rs_target(struct resolver *r, const json_t *item, const char *sid, const char *name,
                          const json_t **field, const json_t **file, char *errmsg, size_t errcap)
{
    const json_t *f, *best = NULL;
    size_t i, n = 0, nbest = 0;

    *field = *file = NULL;
    json_array_foreach(json_object_get(item, "fields"), i, f)
    {
        if (!rs_in_section(f, sid) ||
            !(rs_ieq(json_string_value(json_object_get(f, "id")), name) ||
              rs_ieq(json_string_value(json_object_get(f, "label")), name)))
            continue;
        n++;
        if (!sid && !rs_section_of(f)) { /* outside every section */
            if (++nbest == 1)
                best = f;
        } else if (n == 1) {
            *field = f;
        }
    }
    if (nbest == 1 || (nbest == 0 && n == 1)) {
        *field = nbest == 1 ? best : *field;
        return ERR_OK;
    }
    if (n > 1)
        return rs_fail(r, ERR_CONFLICT, errmsg, errcap,
                       "several fields are named \"%s\": add the section or use the field's id",
                       name);
    n = 0;
    json_array_foreach(json_object_get(item, "files"), i, f)
    {
        if (rs_in_section(f, sid) &&
            (rs_ieq(json_string_value(json_object_get(f, "name")), name) ||
             rs_ieq(json_string_value(json_object_get(f, "id")), name)) &&
            ++n == 1)
            *file = f;
    }
    if (n == 1)
        return ERR_OK;
    *file = NULL;
    if (n > 1)
        return rs_fail(r, ERR_CONFLICT, errmsg, errcap,
                       "several files are named \"%s\": use the file's id", name);
    return rs_fail(r, ERR_NOT_FOUND, errmsg, errcap, "the item has no field or file \"%s\"%s", name,
                   sid ? " in that section" : "");
}

/* Copies s (len bytes) into a new secure-memory string in *out. */
static enum err rs_dup(const char *s, size_t len, char **out)
{
    *out = secmem_alloc(len + 1);
    if (!*out)
        return ERR_NOMEM;
    if (len)
        memcpy(*out, s, len);
    (*out)[len] = '\0';
    return ERR_OK;
}

/* The text s (NULL: "") as a resolved value in *val / *len. */
static enum err rs_dup_text(struct resolver *r, const char *s, char **val, size_t *len,
                            char *errmsg, size_t errcap)
{
    if (!s)
        s = "";
    *len = strlen(s);
    return rs_dup(s, *len, val) == ERR_OK ? ERR_OK
                                          : rs_fail(r, ERR_NOMEM, errmsg, errcap, "out of memory");
}

/* The value of a field for the reference's attribute, in secure memory. */
static enum err rs_field_value(struct resolver *r, const struct secretref *ref, const json_t *f,
                               char **val, size_t *len, char *errmsg, size_t errcap)
{
    const char *s = NULL, *type = json_string_value(json_object_get(f, "type"));

    switch (ref->sr_attr) {
    case SECRETREF_ATTR_VALUE:
        s = json_string_value(json_object_get(f, "value"));
        break;
    case SECRETREF_ATTR_TYPE:
        s = type;
        break;
    case SECRETREF_ATTR_ID:
        s = json_string_value(json_object_get(f, "id"));
        break;
    case SECRETREF_ATTR_PURPOSE:
        s = json_string_value(json_object_get(f, "purpose"));
        break;
    case SECRETREF_ATTR_OTP:
    case SECRETREF_ATTR_TOTP:
        if (!type || strcmp(type, "OTP") != 0)
            return rs_fail(r, ERR_BAD_INPUT, errmsg, errcap,
                           "attribute=%s: the field is not a one-time password (type %s)",
                           secretref_attr_name(ref->sr_attr), type ? type : "?");
        s = json_string_value(json_object_get(f, "totp"));
        if (!s)
            return rs_fail(r, ERR_BAD_INPUT, errmsg, errcap,
                           "the Connect server gave no current code for this field");
        break;
    case SECRETREF_ATTR_CONTENT:
    case SECRETREF_ATTR_SIZE:
    case SECRETREF_ATTR_NAME:
        return rs_fail(r, ERR_BAD_INPUT, errmsg, errcap,
                       "attribute=%s is for files, and this is a field",
                       secretref_attr_name(ref->sr_attr));
    }
    return rs_dup_text(r, s, val, len, errmsg, errcap);
}

/* The value of a file for the reference's attribute (the content is downloaded). */
static enum err rs_file_value(struct resolver *r, const struct secretref *ref, const char *vid,
                              const json_t *item, const json_t *file, char **val, size_t *len,
                              char *errmsg, size_t errcap)
{
    const char *fid = json_string_value(json_object_get(file, "id"));
    const char *iid = json_string_value(json_object_get(item, "id"));
    char path[160], num[32];
    const char *s = NULL;

    switch (ref->sr_attr) {
    case SECRETREF_ATTR_VALUE:
    case SECRETREF_ATTR_CONTENT:
        if (!fid || !iid || !rs_id_shaped(fid) || !rs_id_shaped(iid))
            return rs_fail(r, ERR_UPSTREAM, errmsg, errcap, "the file has no usable id");
        (void)snprintf(path, sizeof(path), "/v1/vaults/%s/items/%s/files/%s/content", vid, iid,
                       fid);
        return rs_get(r, path, NULL, val, len, errmsg, errcap);
    case SECRETREF_ATTR_TYPE:
        s = "FILE";
        break;
    case SECRETREF_ATTR_ID:
        s = fid;
        break;
    case SECRETREF_ATTR_NAME:
        s = json_string_value(json_object_get(file, "name"));
        break;
    case SECRETREF_ATTR_SIZE:
        (void)snprintf(num, sizeof(num), "%lld",
                       (long long)json_integer_value(json_object_get(file, "size")));
        s = num;
        break;
    case SECRETREF_ATTR_PURPOSE:
    case SECRETREF_ATTR_OTP:
    case SECRETREF_ATTR_TOTP:
        return rs_fail(r, ERR_BAD_INPUT, errmsg, errcap,
                       "attribute=%s is for fields, and this is a file",
                       secretref_attr_name(ref->sr_attr));
    }
    return rs_dup_text(r, s, val, len, errmsg, errcap);
}

/* Resolves a reference. See resolve.h. */
enum err resolver_get(struct resolver *r, const struct secretref *ref, const char **value,
                      size_t *len, char *errmsg, size_t errcap)
{
    char key[SECRETREF_CANON_MAX], vid[RS_ID_LEN + 1], *val = NULL;
    const json_t *field = NULL, *file = NULL;
    const char *sid = NULL;
    struct rs_value *v;
    json_t *item = NULL;
    size_t i, vlen = 0;
    enum err e;

    *value = NULL;
    *len = 0;
    if (secretref_canonical(ref, 0, r->rs_ref, sizeof(r->rs_ref), NULL) != ERR_OK ||
        secretref_canonical(ref, SECRETREF_CANON_FOLD, key, sizeof(key), NULL) != ERR_OK)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "an incomplete secret reference");
    for (i = 0; i < r->rs_nvalues; i++) {
        if (strcmp(r->rs_values[i].rv_key, key) == 0) {
            *value = r->rs_values[i].rv_val;
            *len = r->rs_values[i].rv_len;
            return ERR_OK;
        }
    }
    if (r->rs_nvalues >= RESOLVE_MAX_VALUES)
        return rs_fail(r, ERR_TOO_LARGE, errmsg, errcap, "more than %d references in one command",
                       RESOLVE_MAX_VALUES);
    if (ref->sr_ssh_format != SECRETREF_SSH_NONE)
        return rs_fail(r, ERR_BAD_INPUT, errmsg, errcap,
                       "ssh-format is not supported: read the key as stored");
    e = rs_vault(r, ref, vid, errmsg, errcap);
    if (e == ERR_OK)
        e = rs_item(r, ref, vid, &item, errmsg, errcap);
    if (e == ERR_OK && ref->sr_section)
        e = rs_section(r, item, ref->sr_section, &sid, errmsg, errcap);
    if (e == ERR_OK)
        e = rs_target(r, item, sid, ref->sr_field, &field, &file, errmsg, errcap);
    if (e == ERR_OK && field)
        e = rs_field_value(r, ref, field, &val, &vlen, errmsg, errcap);
    else if (e == ERR_OK)
        e = rs_file_value(r, ref, vid, item, file, &val, &vlen, errmsg, errcap);
    if (e != ERR_OK)
        goto out;
    v = rs_grow(r->rs_values, r->rs_nvalues, sizeof(*v));
    if (!v) {
        e = rs_fail(r, ERR_NOMEM, errmsg, errcap, "out of memory");
        goto out;
    }
    r->rs_values = v;
    v[r->rs_nvalues].rv_key = mem_strdup(key);
    if (!v[r->rs_nvalues].rv_key) {
        e = rs_fail(r, ERR_NOMEM, errmsg, errcap, "out of memory");
        goto out;
    }
    v[r->rs_nvalues].rv_val = val;
    v[r->rs_nvalues].rv_len = vlen;
    r->rs_nvalues++;
    *value = val;
    *len = vlen;
    val = NULL;
out:
    secmem_free(val);
    return e;
}

/* Parses and resolves a reference's text. See resolve.h. */
enum err resolver_get_text(struct resolver *r, const char *s, size_t len, const char **value,
                           size_t *vlen, char *errmsg, size_t errcap)
{
    struct secretref ref;
    enum err e;

    *value = NULL;
    *vlen = 0;
    e = secretref_parse(&ref, s, len, errmsg, errcap);
    if (e == ERR_OK)
        e = resolver_get(r, &ref, value, vlen, errmsg, errcap);
    secretref_clear(&ref);
    return e;
}
