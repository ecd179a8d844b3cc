/*
 * hub_admin.c - the admin endpoints of the hub (docs/hub-api.md "Admin endpoints"), and
 * the item, file and change-feed logic the sync endpoints share. Every handler
 * authenticates (hub_admin_auth) before it parses a JSON body.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/config.h"
#include "common/limits.h"
#include "common/log.h"
#include "crypto/jwk.h"
#include "hub/hub_int.h"
#include "keys/adminsig.h"
#include "keys/keyjson.h"
#include "keys/token.h"

/* Answers 200/201 with a record built by the caller (NULL: out of memory). */
static enum err reply(struct http_response *resp, int status, json_t *body)
{
    if (!body)
        return ERR_NOMEM;
    return http_respond_json(resp, status, body);
}

/* Checks that a string is [A-Z_]+ of at most cap - 1 characters (empty when allow_empty). */
static int word_ok(const char *w, size_t cap, int allow_empty)
{
    size_t i, n;

    if (!w)
        return 0;
    n = strlen(w);
    if (n >= cap || (n == 0 && !allow_empty))
        return 0;
    for (i = 0; i < n; i++)
        if (!((w[i] >= 'A' && w[i] <= 'Z') || w[i] == '_'))
            return 0;
    return 1;
}

/* Reads an optional non-negative integer member (absent: 0). Returns 1 when well-formed. */
static int opt_uint(const json_t *o, const char *key, uint64_t *out)
{
    const json_t *v = json_object_get(o, key);

    *out = 0;
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return 0;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

/* ---- accounts and signing keys -------------------------------------------------------- */

/* Returns the ACCOUNT_RECORD of account, or NULL with *e set. */
static json_t *account_json(struct store *s, const char *account, enum err *e)
{
    struct store_signing_key *k = NULL;
    struct store_account a;
    json_t *o = NULL, *arr = NULL;
    size_t n = 0, i;
    int r;

    memset(&a, 0, sizeof(a));
    *e = store_account_get(s, account, &a);
    if (*e == ERR_OK)
        *e = store_signing_key_list(s, account, &k, &n);
    if (*e != ERR_OK)
        goto out;
    *e = ERR_NOMEM;
    o = json_object();
    arr = json_array();
    if (!o || !arr)
        goto out;
    for (i = 0; i < n; i++)
        if (json_array_append_new(arr, hub_signing_key_json(&k[i])))
            goto out;
    r = json_object_set_new(o, "id", json_string(a.ac_id));
    r |= json_object_set_new(o, "createdAt", json_integer(a.ac_created_at));
    r |= json_object_set_new(o, "lastSeq", json_integer((json_int_t)a.ac_last_seq));
    r |= json_object_set_new(o, "signingKeys", arr);
    arr = NULL;
    if (r)
        goto out;
    *e = ERR_OK;
out:
    store_account_clear(&a);
    store_signing_key_list_free(k, n);
    json_decref(arr);
    if (*e != ERR_OK) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Answers a single signing key of account by kid. */
static enum err reply_signing_key(struct http_response *resp, struct store *s, const char *account,
                                  const char *kid, int status)
{
    struct store_signing_key *k = NULL;
    size_t n = 0, i;
    json_t *o = NULL;
    enum err e;

    e = store_signing_key_list(s, account, &k, &n);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "account not found", NULL);
    for (i = 0; i < n; i++)
        if (strcmp(k[i].sk_kid, kid) == 0)
            o = hub_signing_key_json(&k[i]);
    store_signing_key_list_free(k, n);
    if (!o)
        return ERR_NOMEM;
    return http_respond_json(resp, status, o);
}

/* Reads a signing key object {"kid", "publicJwk"} into *k (*jwk_text: mem_free it). */
static int signing_key_in(const json_t *o, struct store_signing_key *k, char **jwk_text)
{
    const char *kid = hub_str(o, "kid");

    memset(k, 0, sizeof(*k));
    *jwk_text = NULL;
    if (!kid || strlen(kid) == 0 || strlen(kid) > STORE_KID_MAX)
        return 0;
    memcpy(k->sk_kid, kid, strlen(kid) + 1);
    if (!hub_jwk_text(o, "publicJwk", JWK_EC_P256, jwk_text))
        return 0;
    k->sk_public_jwk = *jwk_text;
    return 1;
}

/* POST /v1/accounts */
enum err hub_h_account_create(struct http_request *req, struct http_response *resp)
{
    struct hub *h = hub_of(req);
    char nonce[STORE_NONCE_MAX + 1];
    char *sign = NULL, *wrap = NULL, *kjwk = NULL;
    struct store_signing_key k;
    struct store_account a;
    json_t *body = NULL, *rec;
    int64_t ts = 0;
    enum err e;

    memset(&a, 0, sizeof(a));
    memset(&k, 0, sizeof(k));
    e = hub_body_object(req, resp, &body);
    if (e != ERR_OK)
        return e;
    if (!hub_id_norm(hub_str(body, "id"), 1, a.ac_id)) {
        e = http_respond_error(resp, ERR_BAD_INPUT, "id: not an account id");
        goto out;
    }
    e = hub_admin_auth_register(req, resp, a.ac_id, json_object_get(body, "adminSignJwk"), nonce,
                                &ts);
    if (e != ERR_OK)
        goto out;
    if (!hub_jwk_text(body, "adminSignJwk", JWK_EC_P256, &sign) ||
        !hub_jwk_text(body, "adminWrapJwk", JWK_OKP_X25519, &wrap)) {
        e = http_respond_error(resp, ERR_BAD_INPUT, "adminSignJwk / adminWrapJwk: invalid JWK");
        goto out;
    }
    if (!signing_key_in(json_object_get(body, "signingKey"), &k, &kjwk)) {
        e = http_respond_error(resp, ERR_BAD_INPUT, "signingKey: invalid");
        goto out;
    }
    a.ac_admin_sign_jwk = sign;
    a.ac_admin_wrap_pub = wrap;
    /* without --open-registration only the first account, checked in the same transaction */
    if (h->hb_open_registration)
        e = store_account_create(h->hb_store, &a, &k);
    else
        e = store_account_create_first(h->hb_store, &a, &k);
    if (e == ERR_FORBIDDEN) {
        struct store_account old;

        memset(&old, 0, sizeof(old));
        e = store_account_get(h->hb_store, a.ac_id, &old);
        store_account_clear(&old);
        if (e == ERR_OK)
            e = http_respond_error(resp, ERR_CONFLICT, "account exists");
        else if (e == ERR_NOT_FOUND)
            e = http_respond_error(resp, ERR_FORBIDDEN, "registration is closed");
        else
            e = hub_store_fail(resp, e, NULL, NULL);
        goto out;
    }
    if (e != ERR_OK) {
        e = hub_store_fail(resp, e, NULL, "account exists");
        goto out;
    }
    log_msg(LOG_INFO, http_request_log_scope(req), "hub: account %s registered", a.ac_id);
    /* the registration's nonce, so that the same signed request cannot be replayed */
    if (store_nonce_use(h->hb_store, a.ac_id, nonce, ts + ADMINSIG_WINDOW_SECONDS + 1) != ERR_OK)
        log_msg(LOG_WARN, http_request_log_scope(req), "hub: registration nonce not recorded");
    rec = account_json(h->hb_store, a.ac_id, &e);
    e = rec ? http_respond_json(resp, 201, rec) : hub_store_fail(resp, e, NULL, NULL);
out:
    mem_free(sign);
    mem_free(wrap);
    mem_free(kjwk);
    json_decref(body);
    return e;
}

/* GET /v1/account */
enum err hub_h_account_get(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1];
    json_t *rec;
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e != ERR_OK)
        return e;
    rec = account_json(hub_of(req)->hb_store, account, &e);
    return rec ? http_respond_json(resp, 200, rec) : hub_store_fail(resp, e, NULL, NULL);
}

/* POST /v1/signing-keys */
enum err hub_h_signing_key_add(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1];
    struct store_signing_key k;
    char *jwk = NULL;
    json_t *body = NULL;
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e != ERR_OK)
        return e;
    e = hub_body_object(req, resp, &body);
    if (e != ERR_OK)
        return e;
    if (!signing_key_in(body, &k, &jwk)) {
        e = http_respond_error(resp, ERR_BAD_INPUT, "kid / publicJwk: invalid");
        goto out;
    }
    e = store_signing_key_add(hub_of(req)->hb_store, account, &k);
    if (e != ERR_OK) {
        e = hub_store_fail(resp, e, "account not found", "signing key exists");
        goto out;
    }
    e = reply_signing_key(resp, hub_of(req)->hb_store, account, k.sk_kid, 201);
out:
    mem_free(jwk);
    json_decref(body);
    return e;
}

/* DELETE /v1/signing-keys/{kid} */
enum err hub_h_signing_key_retire(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1];
    const char *kid = http_request_param(req, "kid");
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e != ERR_OK)
        return e;
    if (!kid || !kid[0] || strlen(kid) > STORE_KID_MAX)
        return http_respond_error(resp, ERR_BAD_ID, "invalid kid in path");
    e = store_signing_key_retire(hub_of(req)->hb_store, account, kid);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "signing key not found", NULL);
    return http_respond_empty(resp, 204);
}

/* ---- vaults ------------------------------------------------------------------------------ */

/* GET /v1/vaults */
enum err hub_h_vault_list(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1];
    struct store_vault *v = NULL;
    size_t n = 0, i;
    json_t *arr;
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e != ERR_OK)
        return e;
    e = store_vault_list(hub_of(req)->hb_store, account, &v, &n);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "account not found", NULL);
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, hub_vault_json(&v[i], 1))) {
            json_decref(arr);
            arr = NULL;
        }
    }
    store_vault_list_free(v, n);
    return reply(resp, 200, arr);
}

/* POST /v1/vaults */
enum err hub_h_vault_create(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1];
    struct store_vault v;
    const char *type;
    json_t *body = NULL;
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e != ERR_OK)
        return e;
    e = hub_body_object(req, resp, &body);
    if (e != ERR_OK)
        return e;
    memset(&v, 0, sizeof(v));
    type = hub_str(body, "type");
    if (!hub_id_norm(hub_str(body, "id"), 0, v.va_id) || !word_ok(type, STORE_TYPE_MAX, 0) ||
        !hub_b64(req, body, "attrs", &v.va_attrs_ct, &v.va_attrs_ct_len) ||
        !hub_b64(req, body, "keyAdmin", &v.va_key_admin, &v.va_key_admin_len)) {
        json_decref(body);
        return http_respond_error(resp, ERR_BAD_INPUT, "id, type, attrs and keyAdmin required");
    }
    memcpy(v.va_type, type, strlen(type) + 1);
    json_decref(body);
    e = store_vault_create(hub_of(req)->hb_store, account, &v);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "account not found", "vault exists");
    return reply(resp, 201, hub_vault_json(&v, 1));
}

/* Answers the VAULT of a live vault. */
static enum err reply_vault(struct http_response *resp, struct store *s, const char *account,
                            const char *vault, int status, int with_key_admin)
{
    struct store_vault v;
    json_t *o;
    enum err e = store_vault_get(s, account, vault, &v);

    if (e != ERR_OK)
        return hub_store_fail(resp, e, "vault not found", NULL);
    o = hub_vault_json(&v, with_key_admin);
    store_vault_clear(&v);
    return reply(resp, status, o);
}

/* GET /v1/vaults/{vault} */
enum err hub_h_vault_get(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], vault[ID_LEN + 1];
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = hub_param_id(req, resp, "vault", 0, vault);
    if (e != ERR_OK)
        return e;
    return reply_vault(resp, hub_of(req)->hb_store, account, vault, 200, 1);
}

/* PATCH /v1/vaults/{vault} */
enum err hub_h_vault_patch(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], vault[ID_LEN + 1];
    const unsigned char *attrs;
    size_t alen;
    json_t *body = NULL;
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = hub_param_id(req, resp, "vault", 0, vault);
    if (e == ERR_OK)
        e = hub_body_object(req, resp, &body);
    if (e != ERR_OK)
        return e;
    if (!hub_b64(req, body, "attrs", &attrs, &alen)) {
        json_decref(body);
        return http_respond_error(resp, ERR_BAD_INPUT, "attrs required");
    }
    json_decref(body);
    e = store_vault_update_attrs(hub_of(req)->hb_store, account, vault, attrs, alen, NULL);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "vault not found", NULL);
    return reply_vault(resp, hub_of(req)->hb_store, account, vault, 200, 1);
}

/* DELETE /v1/vaults/{vault} */
enum err hub_h_vault_delete(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], vault[ID_LEN + 1];
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = hub_param_id(req, resp, "vault", 0, vault);
    if (e != ERR_OK)
        return e;
    e = store_vault_delete(hub_of(req)->hb_store, account, vault);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "vault not found", NULL);
    return http_respond_empty(resp, 204);
}

/* ---- items (shared with sync) ------------------------------------------------------------ */

/* GET /v1/vaults/{vault}/items */
enum err hub_h_item_list(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], vault[ID_LEN + 1];
    struct store_item *v = NULL;
    size_t n = 0;
    struct buf b;
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = hub_param_id(req, resp, "vault", 0, vault);
    if (e != ERR_OK)
        return e;
    e = store_item_list(hub_of(req)->hb_store, account, vault, &v, &n);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "vault not found", NULL);
    buf_init(&b, HTTP_MAX_RESPONSE_BYTES);
    e = hub_items_text(&b, v, n);
    store_item_list_free(v, n);
    if (e == ERR_OK)
        e = http_respond_buf(resp, 200, "application/json", &b);
    buf_free(&b);
    return e;
}

/* Answers 200 with the ITEM record of it. */
static enum err reply_item(struct http_response *resp, const struct store_item *it)
{
    struct buf b;
    enum err e;

    buf_init(&b, HTTP_MAX_RESPONSE_BYTES);
    e = hub_item_text(&b, it);
    if (e == ERR_OK)
        e = http_respond_buf(resp, 200, "application/json", &b);
    buf_free(&b);
    return e;
}

/* Answers an item (details included). */
enum err hub_do_item_get(struct http_request *req, struct http_response *resp, const char *account,
                         const char *vault, const char *item)
{
    struct store_item it;
    enum err e = store_item_get(hub_of(req)->hb_store, account, vault, item, &it);

    if (e != ERR_OK)
        return hub_store_fail(resp, e, "item not found", NULL);
    e = reply_item(resp, &it);
    store_item_clear(&it);
    return e;
}

/* Writes an item from the JSON body (see hub_int.h). */
enum err hub_do_item_put(struct http_request *req, struct http_response *resp, const char *account,
                         const char *vault, const char *item, const char *editor)
{
    const char *category, *state;
    struct store_item it;
    uint64_t base = 0;
    json_t *body = NULL;
    enum err e;

    e = hub_body_object(req, resp, &body);
    if (e != ERR_OK)
        return e;
    memset(&it, 0, sizeof(it));
    category = hub_str(body, "category");
    state = json_object_get(body, "state") ? hub_str(body, "state") : "";
    if (!word_ok(category, STORE_CATEGORY_MAX, 0) || !word_ok(state, STORE_STATE_MAX, 1) ||
        !hub_b64(req, body, "overview", &it.it_overview, &it.it_overview_len) ||
        !hub_b64(req, body, "details", &it.it_details, &it.it_details_len) ||
        !opt_uint(body, "baseVersion", &base)) {
        json_decref(body);
        return http_respond_error(resp, ERR_BAD_INPUT,
                                  "category, overview and details required; state, baseVersion "
                                  "optional");
    }
    /* an explicit baseVersion 0 is a create: its content is sealed for version 1, which an
     * id already used (live or deleted) can no longer take */
    if (base == 0 && json_is_integer(json_object_get(body, "baseVersion")))
        base = STORE_BASE_NEW;
    memcpy(it.it_id, item, ID_LEN + 1);
    memcpy(it.it_vault, vault, ID_LEN + 1);
    memcpy(it.it_category, category, strlen(category) + 1);
    memcpy(it.it_state, state, strlen(state) + 1);
    memcpy(it.it_last_edited_by, editor, ID_LEN + 1);
    json_decref(body);
    e = store_item_put(hub_of(req)->hb_store, account, &it, base);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "vault or item not found",
                              base == STORE_BASE_NEW ? "an item with this id exists"
                                                     : "the item changed: baseVersion is stale");
    return reply_item(resp, &it);
}

/* Deletes an item, honouring ?baseVersion=N (see hub_int.h). */
enum err hub_do_item_delete(struct http_request *req, struct http_response *resp,
                            const char *account, const char *vault, const char *item,
                            const char *editor)
{
    uint64_t base = 0;
    enum err e = hub_query_u64(req, resp, "baseVersion", 0, &base);

    if (e != ERR_OK)
        return e;
    e = store_item_delete_version(hub_of(req)->hb_store, account, vault, item, editor, base);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "item not found", "the item changed: baseVersion is stale");
    return http_respond_empty(resp, 204);
}

/* Reads the vault and item ids of the path. */
static enum err vault_item_ids(struct http_request *req, struct http_response *resp,
                               char vault[ID_LEN + 1], char item[ID_LEN + 1])
{
    enum err e = hub_param_id(req, resp, "vault", 0, vault);

    if (e == ERR_OK)
        e = hub_param_id(req, resp, "item", 0, item);
    return e;
}

/* GET /v1/vaults/{vault}/items/{item} */
enum err hub_h_item_get(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], vault[ID_LEN + 1], item[ID_LEN + 1];
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = vault_item_ids(req, resp, vault, item);
    return e == ERR_OK ? hub_do_item_get(req, resp, account, vault, item) : e;
}

/* PUT /v1/vaults/{vault}/items/{item} */
enum err hub_h_item_put(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], vault[ID_LEN + 1], item[ID_LEN + 1];
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = vault_item_ids(req, resp, vault, item);
    return e == ERR_OK ? hub_do_item_put(req, resp, account, vault, item, account) : e;
}

/* DELETE /v1/vaults/{vault}/items/{item} */
enum err hub_h_item_delete(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], vault[ID_LEN + 1], item[ID_LEN + 1];
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = vault_item_ids(req, resp, vault, item);
    return e == ERR_OK ? hub_do_item_delete(req, resp, account, vault, item, account) : e;
}

/* ---- files (shared with sync) ------------------------------------------------------------- */

/* Stores the raw body as file contents (see hub_int.h). */
enum err hub_do_file_put(struct http_request *req, struct http_response *resp, const char *account,
                         const char *vault, const char *file)
{
    char hex[TOKEN_HASH_HEX_LEN + 1];
    struct store *s = hub_of(req)->hb_store;
    struct store_file f, meta;
    size_t blen, dlen = 0;
    const char *body;
    uint64_t size = 0;
    enum err e;

    e = hub_query_u64(req, resp, "size", UINT64_MAX, &size);
    if (e != ERR_OK)
        return e;
    if (size == UINT64_MAX)
        return http_respond_error(resp, ERR_BAD_INPUT, "size required in query");
    body = http_request_body(req, &blen);
    if (blen == 0)
        return http_respond_error(resp, ERR_BAD_INPUT, "file contents required");
    memset(&f, 0, sizeof(f));
    memcpy(f.fi_id, file, ID_LEN + 1);
    memcpy(f.fi_vault, vault, ID_LEN + 1);
    f.fi_size = size;
    f.fi_content = (const unsigned char *)body;
    f.fi_content_len = blen;
    /* SHA-256 of the ciphertext through the keys helper, then back to bytes */
    if (token_hash(hex, body, blen) != ERR_OK ||
        codec_hex_decode(f.fi_sha256, sizeof(f.fi_sha256), &dlen, hex, strlen(hex)) != ERR_OK ||
        dlen != STORE_SHA256_BYTES)
        return http_respond_error(resp, ERR_INTERNAL, NULL);
    memset(&meta, 0, sizeof(meta));
    e = store_file_exists(s, account, vault, file, &meta);
    if (e == ERR_OK) {
        int same = memcmp(meta.fi_sha256, f.fi_sha256, STORE_SHA256_BYTES) == 0;
        json_t *o = same ? hub_file_json(&meta) : NULL;

        store_file_clear(&meta);
        if (!same)
            return http_respond_error(resp, ERR_CONFLICT, "another file exists under this id");
        return reply(resp, 200, o);
    }
    if (e != ERR_NOT_FOUND)
        return hub_store_fail(resp, e, NULL, NULL);
    e = store_file_put(s, account, &f);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "vault not found", "another file exists under this id");
    e = store_file_exists(s, account, vault, file, &meta);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "file not found", NULL);
    {
        json_t *o = hub_file_json(&meta);

        store_file_clear(&meta);
        return reply(resp, 201, o);
    }
}

/* Answers the raw file contents (see hub_int.h). */
enum err hub_do_file_get(struct http_request *req, struct http_response *resp, const char *account,
                         const char *vault, const char *file)
{
    char hex[STORE_SHA256_HEX_LEN + 1], size[24];
    struct store_file f;
    enum err e = store_file_get(hub_of(req)->hb_store, account, vault, file, &f);

    if (e != ERR_OK)
        return hub_store_fail(resp, e, "file not found", NULL);
    (void)snprintf(size, sizeof(size), "%llu", (unsigned long long)f.fi_size);
    e = codec_hex_encode(hex, sizeof(hex), f.fi_sha256, STORE_SHA256_BYTES);
    if (e == ERR_OK)
        e = http_response_header(resp, "Sesame-File-Size", size);
    if (e == ERR_OK)
        e = http_response_header(resp, "Sesame-File-Sha256", hex);
    if (e == ERR_OK)
        e = http_respond_text(resp, 200, "application/octet-stream", f.fi_content,
                              f.fi_content_len);
    store_file_clear(&f);
    return e;
}

/* Reads the vault and file ids of the path. */
static enum err vault_file_ids(struct http_request *req, struct http_response *resp,
                               char vault[ID_LEN + 1], char file[ID_LEN + 1])
{
    enum err e = hub_param_id(req, resp, "vault", 0, vault);

    if (e == ERR_OK)
        e = hub_param_id(req, resp, "file", 0, file);
    return e;
}

/* PUT /v1/vaults/{vault}/files/{file} */
enum err hub_h_file_put(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], vault[ID_LEN + 1], file[ID_LEN + 1];
    enum err e = hub_admin_auth(req, resp, 0, account);

    if (e == ERR_OK)
        e = vault_file_ids(req, resp, vault, file);
    return e == ERR_OK ? hub_do_file_put(req, resp, account, vault, file) : e;
}

/* GET /v1/vaults/{vault}/files/{file} */
enum err hub_h_file_get(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], vault[ID_LEN + 1], file[ID_LEN + 1];
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = vault_file_ids(req, resp, vault, file);
    return e == ERR_OK ? hub_do_file_get(req, resp, account, vault, file) : e;
}

/* ---- servers and grants ----------------------------------------------------------------- */

/* GET /v1/servers */
enum err hub_h_server_list(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1];
    struct store_server *v = NULL;
    struct store *s = hub_of(req)->hb_store;
    size_t n = 0, i;
    json_t *arr;
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e != ERR_OK)
        return e;
    e = store_server_list(s, account, &v, &n);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "account not found", NULL);
    arr = json_array();
    for (i = 0; arr && i < n && e == ERR_OK; i++) {
        json_t *o = hub_server_json(s, account, &v[i], &e);

        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    store_server_list_free(v, n);
    if (!arr && e != ERR_OK && e != ERR_NOMEM)
        return hub_store_fail(resp, e, NULL, NULL);
    return reply(resp, 200, arr);
}

/* Answers the SERVER of a live server. */
static enum err reply_server(struct http_response *resp, struct store *s, const char *account,
                             const char *server, int status)
{
    struct store_server sv;
    json_t *o;
    enum err e = store_server_get(s, account, server, &sv);

    if (e != ERR_OK)
        return hub_store_fail(resp, e, "server not found", NULL);
    o = hub_server_json(s, account, &sv, &e);
    store_server_clear(&sv);
    if (!o)
        return hub_store_fail(resp, e, "server not found", NULL);
    return http_respond_json(resp, status, o);
}

/* POST /v1/servers */
enum err hub_h_server_create(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1];
    struct store_server sv;
    char *sign = NULL, *wrap = NULL;
    const char *name;
    json_t *body = NULL;
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = hub_body_object(req, resp, &body);
    if (e != ERR_OK)
        return e;
    memset(&sv, 0, sizeof(sv));
    name = hub_str(body, "name");
    if (!hub_id_norm(hub_str(body, "id"), 0, sv.se_id) || !name || !name[0] ||
        strlen(name) > STORE_NAME_MAX_BYTES || !hub_jwk_text(body, "signJwk", JWK_EC_P256, &sign) ||
        !hub_jwk_text(body, "wrapJwk", JWK_OKP_X25519, &wrap) ||
        !hub_b64(req, body, "unlockAdmin", &sv.se_unlock_admin, &sv.se_unlock_admin_len)) {
        e = http_respond_error(resp, ERR_BAD_INPUT,
                               "id, name, signJwk, wrapJwk and unlockAdmin required");
        goto out;
    }
    sv.se_name = name;
    sv.se_sign_jwk = sign;
    sv.se_wrap_pub = wrap;
    e = store_server_create(hub_of(req)->hb_store, account, &sv);
    if (e != ERR_OK) {
        e = hub_store_fail(resp, e, "account not found", "server exists");
        goto out;
    }
    e = reply_server(resp, hub_of(req)->hb_store, account, sv.se_id, 201);
out:
    mem_free(sign);
    mem_free(wrap);
    json_decref(body);
    return e;
}

/* GET /v1/servers/{server} */
enum err hub_h_server_get(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], server[ID_LEN + 1];
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = hub_param_id(req, resp, "server", 0, server);
    return e == ERR_OK ? reply_server(resp, hub_of(req)->hb_store, account, server, 200) : e;
}

/* DELETE /v1/servers/{server} */
enum err hub_h_server_delete(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], server[ID_LEN + 1];
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = hub_param_id(req, resp, "server", 0, server);
    if (e != ERR_OK)
        return e;
    e = store_server_delete(hub_of(req)->hb_store, account, server);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "server not found", NULL);
    return http_respond_empty(resp, 204);
}

/* PUT /v1/servers/{server}/grants/{vault} */
enum err hub_h_grant_put(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1];
    struct store *s = hub_of(req)->hb_store;
    struct store_grant g, *v = NULL;
    size_t n = 0, i;
    json_t *body = NULL, *o = NULL;
    enum err e = hub_admin_auth(req, resp, 1, account);

    memset(&g, 0, sizeof(g));
    if (e == ERR_OK)
        e = hub_param_id(req, resp, "server", 0, g.gr_server);
    if (e == ERR_OK)
        e = hub_param_id(req, resp, "vault", 0, g.gr_vault);
    if (e == ERR_OK)
        e = hub_body_object(req, resp, &body);
    if (e != ERR_OK)
        return e;
    if (!hub_b64(req, body, "keyWrapped", &g.gr_key_wrapped, &g.gr_key_wrapped_len)) {
        json_decref(body);
        return http_respond_error(resp, ERR_BAD_INPUT, "keyWrapped required");
    }
    json_decref(body);
    e = store_grant_put(s, account, &g);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "server or vault not found", NULL);
    e = store_grant_list_by_server(s, account, g.gr_server, &v, &n);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "server not found", NULL);
    for (i = 0; i < n; i++)
        if (strcmp(v[i].gr_vault, g.gr_vault) == 0)
            o = hub_grant_json(&v[i], 1);
    store_grant_list_free(v, n);
    return reply(resp, 200, o);
}

/* DELETE /v1/servers/{server}/grants/{vault} */
enum err hub_h_grant_delete(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], server[ID_LEN + 1], vault[ID_LEN + 1];
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = hub_param_id(req, resp, "server", 0, server);
    if (e == ERR_OK)
        e = hub_param_id(req, resp, "vault", 0, vault);
    if (e != ERR_OK)
        return e;
    e = store_grant_delete(hub_of(req)->hb_store, account, server, vault);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "grant not found", NULL);
    return http_respond_empty(resp, 204);
}

/* ---- tokens ------------------------------------------------------------------------------ */

/* GET /v1/tokens[?server=S] */
enum err hub_h_token_list(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], server[ID_LEN + 1];
    struct store_token *v = NULL;
    const char *q = NULL;
    size_t n = 0, i;
    json_t *arr;
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = hub_query_str(req, resp, "server", &q);
    if (e != ERR_OK)
        return e;
    if (q && !hub_id_norm(q, 0, server))
        return http_respond_error(resp, ERR_BAD_ID, "invalid server id in query");
    e = store_token_list(hub_of(req)->hb_store, account, q ? server : NULL, &v, &n);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "account not found", NULL);
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, hub_token_json(&v[i]))) {
            json_decref(arr);
            arr = NULL;
        }
    }
    store_token_list_free(v, n);
    return reply(resp, 200, arr);
}

/* Checks and re-serialises the token's vault list [{"u": vault, "a": bits}, ...]. */
static char *token_vaults_text(const json_t *vaults)
{
    json_t *out = json_array(), *o, *e;
    char id[ID_LEN + 1];
    char *t = NULL, *copy = NULL;
    size_t i;

    if (!out || !json_is_array(vaults) || json_array_size(vaults) == 0)
        goto done;
    json_array_foreach(vaults, i, e)
    {
        const json_t *a = json_object_get(e, "a");

        if (!json_is_object(e) || json_object_size(e) != 2 ||
            !hub_id_norm(hub_str(e, "u"), 0, id) || !json_is_integer(a) ||
            json_integer_value(a) < 0)
            goto done;
        o = json_pack("{s:s, s:I}", "u", id, "a", (json_int_t)json_integer_value(a));
        if (!o || json_array_append_new(out, o))
            goto done;
    }
    t = json_dumps(out, JSON_COMPACT);
    if (t && strlen(t) <= STORE_JSON_MAX_BYTES)
        copy = mem_strdup(t);
done:
    keyjson_text_drop(t);
    json_decref(out);
    return copy;
}

/* POST /v1/tokens */
enum err hub_h_token_create(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1];
    struct store_token t;
    const char *name, *sha;
    const json_t *exp;
    char *vaults = NULL;
    json_t *body = NULL;
    size_t i;
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = hub_body_object(req, resp, &body);
    if (e != ERR_OK)
        return e;
    memset(&t, 0, sizeof(t));
    name = hub_str(body, "name");
    sha = hub_str(body, "sha256");
    exp = json_object_get(body, "expiresAt");
    vaults = token_vaults_text(json_object_get(body, "vaults"));
    if (!hub_id_norm(hub_str(body, "jti"), 0, t.tk_jti) ||
        !hub_id_norm(hub_str(body, "server"), 0, t.tk_server) || !name || !name[0] ||
        strlen(name) > STORE_NAME_MAX_BYTES || !sha || strlen(sha) != STORE_SHA256_HEX_LEN ||
        (exp && !json_is_integer(exp)) || (exp && json_integer_value(exp) < 0) || !vaults) {
        e = http_respond_error(resp, ERR_BAD_INPUT,
                               "jti, name, server, vaults, expiresAt and sha256 required");
        goto out;
    }
    for (i = 0; i < STORE_SHA256_HEX_LEN; i++)
        t.tk_sha256[i] = (char)((sha[i] >= 'A' && sha[i] <= 'F') ? sha[i] - 'A' + 'a' : sha[i]);
    t.tk_name = name;
    t.tk_vaults_json = vaults;
    t.tk_expires_at = exp ? (int64_t)json_integer_value(exp) : 0;
    e = store_token_register(hub_of(req)->hb_store, account, &t);
    if (e != ERR_OK) {
        e = hub_store_fail(resp, e, "server not found", "token exists");
        goto out;
    }
    e = reply(resp, 201, hub_token_json(&t));
out:
    mem_free(vaults);
    json_decref(body);
    return e;
}

/* DELETE /v1/tokens/{jti} */
enum err hub_h_token_revoke(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], jti[ID_LEN + 1];
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = hub_param_id(req, resp, "jti", 0, jti);
    if (e != ERR_OK)
        return e;
    e = store_token_revoke(hub_of(req)->hb_store, account, jti);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "token not found", NULL);
    return http_respond_empty(resp, 204);
}

/* ---- change feed and activity ------------------------------------------------------------ */

/* Parses a wait value: seconds ("10") or a Go duration ("10s", "1m"); capped. */
static int parse_wait(const char *v, int64_t *ms)
{
    int64_t ns = 0;
    size_t i, n = strlen(v);
    int digits = n > 0;

    *ms = 0;
    for (i = 0; i < n; i++)
        if (v[i] < '0' || v[i] > '9')
            digits = 0;
    if (digits) {
        if (n > 6)
            *ms = (int64_t)HUB_MAX_LONGPOLL_SECONDS * 1000;
        else
            for (i = 0; i < n; i++)
                *ms = *ms * 10 + 1000 * (v[i] - '0');
    } else {
        if (config_duration_parse(v, n, &ns) != ERR_OK || ns < 0)
            return 0;
        *ms = ns / 1000000;
    }
    if (*ms > (int64_t)HUB_MAX_LONGPOLL_SECONDS * 1000)
        *ms = (int64_t)HUB_MAX_LONGPOLL_SECONDS * 1000;
    return 1;
}

/* Answers a page of changes (see hub_int.h). */
enum err hub_do_changes(struct http_request *req, struct http_response *resp, const char *account,
                        const char *server, size_t max_limit, int allow_wait)
{
    struct store *s = hub_of(req)->hb_store;
    struct store_change *v = NULL;
    const char *wait = NULL;
    uint64_t since = 0, limit = 0, next = 0, pulled = 0, last;
    size_t n = 0, i, bytes;
    int64_t wait_ms = 0;
    json_t *o;
    enum err e;

    e = hub_query_u64(req, resp, "since", 0, &since);
    if (e == ERR_OK)
        e = hub_query_u64(req, resp, "limit", HUB_CHANGES_PAGE, &limit);
    if (e == ERR_OK && allow_wait)
        e = hub_query_str(req, resp, "wait", &wait);
    if (e == ERR_OK && allow_wait && server) /* a sync that pulled its vaults whole */
        e = hub_query_u64(req, resp, "pulled", 0, &pulled);
    if (e != ERR_OK)
        return e;
    if (limit == 0)
        return http_respond_error(resp, ERR_BAD_INPUT, "limit must be at least 1");
    if (limit > max_limit)
        limit = max_limit;
    if (wait && !parse_wait(wait, &wait_ms))
        return http_respond_error(resp, ERR_BAD_INPUT, "invalid wait duration");
    e = store_changes_pulled(s, account, since, (size_t)limit, server, pulled, &v, &n, &next);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "account or server not found", NULL);
    /* an empty page whose items a pull covered is answered at once: the client moves on */
    if (n == 0 && wait_ms > 0 && !(pulled && next > since) && !http_request_wait_expired(req)) {
        int64_t deadline = http_request_wait_deadline(req);

        store_change_list_free(v, 0);
        if (deadline == 0)
            deadline = http_clock_ms() + wait_ms;
        if (http_clock_ms() < deadline)
            return http_request_wait(req, deadline);
    }
    /* the account's true last seq: below since, the caller's history is ahead of this hub's
       (a hub restored from an older backup) */
    last = store_last_seq(s, account);
    /* a byte budget too: 500 item changes of large items would pass the 16 MiB a sync
       client takes in one answer; the page ends before the change that would pass it */
    for (i = 0, bytes = 0; i < n; i++) {
        size_t b = v[i].ch_payload ? strlen(v[i].ch_payload) : 0;

        if (i > 0 && bytes + b > HUB_CHANGES_PAGE_BYTES)
            break;
        bytes += b;
    }
    if (i < n)
        next = v[i - 1].ch_seq;
    o = hub_changes_json(v, i, next, i < n || n == limit, last);
    store_change_list_free(v, n);
    return reply(resp, 200, o);
}

/* GET /v1/changes?since=N[&limit=L] */
enum err hub_h_changes(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1];
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e != ERR_OK)
        return e;
    return hub_do_changes(req, resp, account, NULL, STORE_MAX_PAGE, 0);
}

/* GET /v1/activity[?server=S][&limit=L][&offset=O] */
enum err hub_h_activity_query(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], server[ID_LEN + 1], range[80];
    struct store_activity *v = NULL;
    uint64_t limit = 0, offset = 0, total = 0;
    const char *q = NULL;
    size_t n = 0, i;
    json_t *arr;
    enum err e = hub_admin_auth(req, resp, 1, account);

    if (e == ERR_OK)
        e = hub_query_str(req, resp, "server", &q);
    if (e == ERR_OK)
        e = hub_query_u64(req, resp, "limit", HUB_ACTIVITY_PAGE, &limit);
    if (e == ERR_OK)
        e = hub_query_u64(req, resp, "offset", 0, &offset);
    if (e != ERR_OK)
        return e;
    if (q && !hub_id_norm(q, 0, server))
        return http_respond_error(resp, ERR_BAD_ID, "invalid server id in query");
    if (limit == 0 || limit > STORE_MAX_PAGE)
        return http_respond_error(resp, ERR_BAD_INPUT, "limit must be 1 to 10000");
    e = store_activity_query(hub_of(req)->hb_store, account, q ? server : NULL, (size_t)limit,
                             (size_t)offset, &v, &n, &total);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "account or server not found", NULL);
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        json_t *o = json_object(), *entry = hub_json_text(v[i].av_entry_json);
        int r = !o || !entry;

        if (!r) {
            r = json_object_set_new(o, "id", json_integer((json_int_t)v[i].av_id)) |
                json_object_set_new(o, "server", json_string(v[i].av_server)) |
                json_object_set_new(o, "receivedAt", json_integer(v[i].av_received_at)) |
                json_object_set_new(o, "entry", entry);
            entry = NULL;
        }
        json_decref(entry);
        if (r || json_array_append_new(arr, o)) {
            if (r)
                json_decref(o);
            json_decref(arr);
            arr = NULL;
        }
    }
    store_activity_list_free(v, n);
    if (n > 0)
        (void)snprintf(range, sizeof(range), "%llu-%llu/%llu", (unsigned long long)offset,
                       (unsigned long long)(offset + n - 1), (unsigned long long)total);
    else
        (void)snprintf(range, sizeof(range), "*/%llu", (unsigned long long)total);
    if (arr && http_response_header(resp, "Content-Range", range) != ERR_OK) {
        json_decref(arr);
        arr = NULL;
    }
    return reply(resp, 200, arr);
}
