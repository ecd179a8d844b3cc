/*
 * hub.c - the hub's context, start-up and shutdown, its route table, and the helpers its
 * handlers share (query and body parsing, id checks, the JSON records of
 * docs/hub-api.md "Records").
 */
#include "hub/hub.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/limits.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "crypto/ecdsa.h"
#include "crypto/jwk.h"
#include "http/query.h"
#include "keys/keyjson.h"
#include "hub/hub_int.h"

/* ---- helpers ---------------------------------------------------------------------------- */

/* Returns the hub of a request. */
struct hub *hub_of(const struct http_request *req)
{
    return http_request_context(req);
}

/* Returns the current Unix time. */
int64_t hub_now(void)
{
    return (int64_t)time(NULL);
}

/* Answers a store error (see hub_int.h). */
enum err hub_store_fail(struct http_response *resp, enum err e, const char *notfound,
                        const char *conflict)
{
    switch (e) {
    case ERR_NOT_FOUND:
        return http_respond_error(resp, e, notfound ? notfound : "not found");
    case ERR_CONFLICT:
        return http_respond_error(resp, e, conflict ? conflict : "conflict");
    case ERR_BAD_INPUT:
        return http_respond_error(resp, e, "invalid request");
    default:
        return http_respond_error(resp, e, NULL);
    }
}

/* Normalises an id (see hub_int.h). */
int hub_id_norm(const char *in, int upper, char out[ID_LEN + 1])
{
    size_t i;

    out[0] = '\0';
    if (!in || strlen(in) != ID_LEN)
        return 0;
    for (i = 0; i < ID_LEN; i++)
        out[i] = (char)(upper ? toupper((unsigned char)in[i]) : tolower((unsigned char)in[i]));
    out[ID_LEN] = '\0';
    if (upper ? !id_is_valid_upper(out) : !id_is_valid(out)) {
        out[0] = '\0';
        return 0;
    }
    return 1;
}

/* Reads a path parameter as an id (see hub_int.h). */
enum err hub_param_id(struct http_request *req, struct http_response *resp, const char *name,
                      int upper, char out[ID_LEN + 1])
{
    if (!hub_id_norm(http_request_param(req, name), upper, out))
        return http_respond_error(resp, ERR_BAD_ID, "invalid id in path");
    return ERR_OK;
}

/* Reads a query value (see hub_int.h). */
enum err hub_query_str(struct http_request *req, struct http_response *resp, const char *name,
                       const char **out)
{
    char msg[160];
    struct buf b;
    const char *q;
    size_t qlen;
    int found = 0;
    enum err e;

    *out = NULL;
    q = http_request_query(req, &qlen);
    e = query_get(&b, q, qlen, name, &found, msg, sizeof(msg));
    if (e != ERR_OK) {
        buf_free(&b);
        if (e == ERR_NOMEM)
            return e;
        return http_respond_error(resp, ERR_BAD_INPUT, msg[0] ? msg : "invalid query");
    }
    if (found) {
        *out = arena_strdup(http_request_arena(req), buf_str(&b));
        buf_free(&b);
        if (!*out)
            return ERR_NOMEM;
        return ERR_OK;
    }
    buf_free(&b);
    return ERR_OK;
}

/* Reads a numeric query value (see hub_int.h). */
enum err hub_query_u64(struct http_request *req, struct http_response *resp, const char *name,
                       uint64_t def, uint64_t *out)
{
    const char *v = NULL;
    unsigned long long n;
    char *end = NULL;
    enum err e;

    *out = def;
    e = hub_query_str(req, resp, name, &v);
    if (e != ERR_OK || !v)
        return e;
    if (!v[0] || strlen(v) > HUB_MAX_QUERY_NUMBER || !isdigit((unsigned char)v[0]))
        return http_respond_error(resp, ERR_BAD_INPUT, "invalid number in query");
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0 || !end || *end != '\0' || n > (unsigned long long)INT64_MAX)
        return http_respond_error(resp, ERR_BAD_INPUT, "invalid number in query");
    *out = (uint64_t)n;
    return ERR_OK;
}

/* Parses the body as a JSON object (see hub_int.h). */
enum err hub_body_object(struct http_request *req, struct http_response *resp, json_t **out)
{
    char msg[HTTP_ERRMSG_MAX];
    json_t *j = NULL;
    enum err e;

    *out = NULL;
    e = http_request_json(req, &j, msg, sizeof(msg));
    if (e != ERR_OK)
        return e == ERR_NOMEM ? e : http_respond_error(resp, e, msg);
    if (!json_is_object(j)) {
        json_decref(j);
        return http_respond_error(resp, ERR_BAD_INPUT, "request body must be a JSON object");
    }
    *out = j;
    return ERR_OK;
}

/* Returns a string member. */
const char *hub_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Decodes a base64url member into arena memory (see hub_int.h). */
int hub_b64(struct http_request *req, const json_t *o, const char *key, const unsigned char **p,
            size_t *n)
{
    const json_t *v = json_object_get(o, key);
    const char *s;
    unsigned char *out;
    size_t len, cap, got = 0;

    *p = NULL;
    *n = 0;
    if (!json_is_string(v))
        return 0;
    s = json_string_value(v);
    len = json_string_length(v);
    if (len == 0)
        return 0;
    cap = codec_b64_decoded_max(len);
    out = arena_alloc(http_request_arena(req), cap ? cap : 1);
    if (!out)
        return 0;
    if (codec_b64_decode(out, cap, &got, s, len, CODEC_B64_URL) != ERR_OK || got == 0)
        return 0;
    *p = out;
    *n = got;
    return 1;
}

/* Validates a public JWK member and returns its canonical text (see hub_int.h). */
int hub_jwk_text(const json_t *o, const char *key, int kind, char **text)
{
    const json_t *v = json_object_get(o, key);
    struct jwk k;
    json_t *canon = NULL;
    char *t = NULL;
    int ok = 0;

    *text = NULL;
    memset(&k, 0, sizeof(k));
    if (!json_is_object(v) || jwk_from_json(&k, v) != ERR_OK)
        return 0;
    if ((int)k.jk_kind != kind || k.jk_secret ||
        (k.jk_kind == JWK_EC_P256 && (!k.jk_ec || ecdsa_p256_has_private(k.jk_ec))))
        goto out;
    canon = jwk_to_json(&k, 0);
    if (!canon)
        goto out;
    t = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
    if (!t || strlen(t) > STORE_TEXT_MAX_BYTES)
        goto out;
    *text = mem_strdup(t);
    ok = *text != NULL;
out:
    keyjson_text_drop(t);
    json_decref(canon);
    jwk_clear(&k);
    return ok;
}

/* Sets a base64url member. */
int hub_set_b64(json_t *o, const char *key, const unsigned char *p, size_t n)
{
    size_t cap = codec_b64_encoded_len(n, 0) + 1;
    char *text = mem_alloc(cap);
    int r = -1;

    if (!text)
        return -1;
    if (codec_b64_encode(text, cap, NULL, p ? (const void *)p : "", n, CODEC_B64_URL) == ERR_OK)
        r = json_object_set_new(o, key, json_string(text));
    mem_free(text);
    return r;
}

/* Parses stored JSON text. */
json_t *hub_json_text(const char *text)
{
    json_error_t je;

    if (!text)
        return NULL;
    return json_loads(text, JSON_DECODE_ANY, &je);
}

/* ---- records ---------------------------------------------------------------------------- */

/* Sets an integer member; returns 0 or -1. */
static int set_int(json_t *o, const char *key, int64_t v)
{
    return json_object_set_new(o, key, json_integer((json_int_t)v));
}

/* Sets a string member; returns 0 or -1. */
static int set_str(json_t *o, const char *key, const char *v)
{
    return json_object_set_new(o, key, json_string(v ? v : ""));
}

/* Sets a member parsed from stored JSON text; returns 0 or -1. */
static int set_text(json_t *o, const char *key, const char *text)
{
    json_t *v = hub_json_text(text);

    return v ? json_object_set_new(o, key, v) : -1;
}

/* Returns the VAULT record. */
json_t *hub_vault_json(const struct store_vault *v, int with_key_admin)
{
    json_t *o = json_object();
    int r;

    if (!o)
        return NULL;
    r = set_str(o, "id", v->va_id) | set_str(o, "type", v->va_type) |
        hub_set_b64(o, "attrs", v->va_attrs_ct, v->va_attrs_ct_len) |
        set_int(o, "attributeVersion", (int64_t)v->va_attribute_version) |
        set_int(o, "contentVersion", (int64_t)v->va_content_version) |
        set_int(o, "items", (int64_t)v->va_items) | set_int(o, "createdAt", v->va_created_at) |
        set_int(o, "updatedAt", v->va_updated_at);
    if (with_key_admin)
        r |= hub_set_b64(o, "keyAdmin", v->va_key_admin, v->va_key_admin_len);
    if (r) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Appends one ITEM record (see hub_int.h). */
enum err hub_item_text(struct buf *b, const struct store_item *it)
{
    enum err e = buf_add(b, "{", 1);

    if (e == ERR_OK)
        e = buf_add_member_str(b, "id", it->it_id);
    if (e == ERR_OK)
        e = buf_add_member_str(b, "vault", it->it_vault);
    if (e == ERR_OK)
        e = buf_add_member_i64(b, "version", (int64_t)it->it_version);
    if (e == ERR_OK)
        e = buf_add_member_str(b, "state", it->it_state);
    if (e == ERR_OK)
        e = buf_add_member_str(b, "category", it->it_category);
    if (e == ERR_OK)
        e = buf_add_member_b64url(b, "overview", it->it_overview, it->it_overview_len);
    if (e == ERR_OK)
        e = buf_add_member_i64(b, "createdAt", it->it_created_at);
    if (e == ERR_OK)
        e = buf_add_member_i64(b, "updatedAt", it->it_updated_at);
    if (e == ERR_OK)
        e = buf_add_member_str(b, "lastEditedBy", it->it_last_edited_by);
    if (e == ERR_OK && it->it_details)
        e = buf_add_member_b64url(b, "details", it->it_details, it->it_details_len);
    return e == ERR_OK ? buf_add(b, "}", 1) : e;
}

/* Appends the ITEM records as a JSON array (see hub_int.h). */
enum err hub_items_text(struct buf *b, const struct store_item *v, size_t n)
{
    size_t i, need = 2;
    enum err e;

    for (i = 0; i < n; i++) /* one allocation: base64 is 4/3 of the bytes, + the members */
        need += (v[i].it_overview_len + v[i].it_details_len) / 3 * 4 + 8 + 320;
    e = buf_prepare(b, need);
    if (e == ERR_OK)
        e = buf_add(b, "[", 1);
    for (i = 0; e == ERR_OK && i < n; i++) {
        if (i > 0)
            e = buf_add(b, ",", 1);
        if (e == ERR_OK)
            e = hub_item_text(b, &v[i]);
    }
    return e == ERR_OK ? buf_add(b, "]", 1) : e;
}

/* Returns the FILE record. */
json_t *hub_file_json(const struct store_file *f)
{
    char hex[STORE_SHA256_HEX_LEN + 1];
    json_t *o;
    int r;

    if (codec_hex_encode(hex, sizeof(hex), f->fi_sha256, STORE_SHA256_BYTES) != ERR_OK)
        return NULL;
    o = json_object();
    if (!o)
        return NULL;
    r = set_str(o, "id", f->fi_id) | set_str(o, "vault", f->fi_vault) |
        set_int(o, "size", (int64_t)f->fi_size) | set_str(o, "sha256", hex) |
        set_int(o, "createdAt", f->fi_created_at);
    if (r) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Returns the GRANT record. */
json_t *hub_grant_json(const struct store_grant *g, int with_key)
{
    json_t *o = json_object();
    int r;

    if (!o)
        return NULL;
    r = set_str(o, "server", g->gr_server) | set_str(o, "vault", g->gr_vault) |
        set_int(o, "createdAt", g->gr_created_at);
    if (with_key)
        r |= hub_set_b64(o, "keyWrapped", g->gr_key_wrapped, g->gr_key_wrapped_len);
    if (r) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Returns the TOKEN record. */
json_t *hub_token_json(const struct store_token *t)
{
    json_t *o = json_object();
    int r;

    if (!o)
        return NULL;
    r = set_str(o, "jti", t->tk_jti) | set_str(o, "name", t->tk_name) |
        set_str(o, "server", t->tk_server) | set_text(o, "vaults", t->tk_vaults_json) |
        set_int(o, "expiresAt", t->tk_expires_at) | set_int(o, "createdAt", t->tk_created_at) |
        set_int(o, "revokedAt", t->tk_revoked_at);
    if (r) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Returns the SIGNING_KEY record. */
json_t *hub_signing_key_json(const struct store_signing_key *k)
{
    json_t *o = json_object();
    int r;

    if (!o)
        return NULL;
    r = set_str(o, "kid", k->sk_kid) | set_text(o, "publicJwk", k->sk_public_jwk) |
        set_int(o, "createdAt", k->sk_created_at) | set_int(o, "retiredAt", k->sk_retired_at);
    if (r) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Returns the SERVER record (see hub_int.h). */
json_t *hub_server_json(struct store *s, const char *account, const struct store_server *sv,
                        enum err *e)
{
    struct store_grant *g = NULL;
    json_t *o = NULL, *ids = NULL;
    size_t n = 0, i;
    int r;

    *e = store_grant_list_by_server(s, account, sv->se_id, &g, &n);
    if (*e != ERR_OK)
        return NULL;
    *e = ERR_NOMEM;
    o = json_object();
    ids = json_array();
    if (!o || !ids)
        goto fail;
    for (i = 0; i < n; i++)
        if (json_array_append_new(ids, json_string(g[i].gr_vault)))
            goto fail;
    r = set_str(o, "id", sv->se_id) | set_str(o, "name", sv->se_name) |
        set_text(o, "signJwk", sv->se_sign_jwk) | set_text(o, "wrapJwk", sv->se_wrap_pub) |
        hub_set_b64(o, "unlockAdmin", sv->se_unlock_admin, sv->se_unlock_admin_len) |
        set_int(o, "createdAt", sv->se_created_at);
    r |= json_object_set_new(o, "grants", ids);
    ids = NULL;
    if (r)
        goto fail;
    store_grant_list_free(g, n);
    *e = ERR_OK;
    return o;
fail:
    store_grant_list_free(g, n);
    json_decref(ids);
    json_decref(o);
    return NULL;
}

/* Returns the CHANGES record. */
json_t *hub_changes_json(const struct store_change *v, size_t n, uint64_t next, int more,
                         uint64_t last_seq)
{
    json_t *o = json_object(), *arr = json_array(), *c;
    size_t i;
    int r = 0;

    if (!o || !arr)
        goto fail;
    for (i = 0; i < n && r == 0; i++) {
        c = json_object();
        if (!c)
            goto fail;
        r = set_int(c, "seq", (int64_t)v[i].ch_seq) |
            set_str(c, "kind", store_change_kind_name(v[i].ch_kind)) |
            set_str(c, "vault", v[i].ch_vault) | set_str(c, "ref", v[i].ch_ref) |
            set_str(c, "server", v[i].ch_server) | set_text(c, "payload", v[i].ch_payload) |
            set_int(c, "committedAt", v[i].ch_committed_at);
        r |= json_array_append_new(arr, c);
    }
    if (r)
        goto fail;
    r = json_object_set_new(o, "changes", arr);
    arr = NULL;
    r |= set_int(o, "next", (int64_t)next) | json_object_set_new(o, "more", json_boolean(more)) |
         set_int(o, "lastSeq", (int64_t)last_seq);
    if (r)
        goto fail;
    return o;
fail:
    json_decref(arr);
    json_decref(o);
    return NULL;
}

/* ---- routes ----------------------------------------------------------------------------- */

static const struct http_route hub_routes[] = {
    {"POST", "/v1/accounts", hub_h_account_create},
    {"GET", "/v1/account", hub_h_account_get},
    {"POST", "/v1/signing-keys", hub_h_signing_key_add},
    {"DELETE", "/v1/signing-keys/{kid}", hub_h_signing_key_retire},
    {"GET", "/v1/vaults", hub_h_vault_list},
    {"POST", "/v1/vaults", hub_h_vault_create},
    {"GET", "/v1/vaults/{vault}", hub_h_vault_get},
    {"PATCH", "/v1/vaults/{vault}", hub_h_vault_patch},
    {"DELETE", "/v1/vaults/{vault}", hub_h_vault_delete},
    {"GET", "/v1/vaults/{vault}/items", hub_h_item_list},
    {"GET", "/v1/vaults/{vault}/items/{item}", hub_h_item_get},
    {"PUT", "/v1/vaults/{vault}/items/{item}", hub_h_item_put},
    {"DELETE", "/v1/vaults/{vault}/items/{item}", hub_h_item_delete},
    {"PUT", "/v1/vaults/{vault}/files/{file}", hub_h_file_put},
    {"GET", "/v1/vaults/{vault}/files/{file}", hub_h_file_get},
    {"GET", "/v1/servers", hub_h_server_list},
    {"POST", "/v1/servers", hub_h_server_create},
    {"GET", "/v1/servers/{server}", hub_h_server_get},
    {"DELETE", "/v1/servers/{server}", hub_h_server_delete},
    {"PUT", "/v1/servers/{server}/grants/{vault}", hub_h_grant_put},
    {"DELETE", "/v1/servers/{server}/grants/{vault}", hub_h_grant_delete},
    {"GET", "/v1/tokens", hub_h_token_list},
    {"POST", "/v1/tokens", hub_h_token_create},
    {"DELETE", "/v1/tokens/{jti}", hub_h_token_revoke},
    {"GET", "/v1/changes", hub_h_changes},
    {"GET", "/v1/activity", hub_h_activity_query},
    {"POST", "/v1/sync/challenge", hub_h_sync_challenge},
    {"POST", "/v1/sync/session", hub_h_sync_session},
    {"GET", "/v1/sync/state", hub_h_sync_state},
    {"GET", "/v1/sync/changes", hub_h_sync_changes},
    {"GET", "/v1/sync/vaults/{vault}", hub_h_sync_vault_get},
    {"GET", "/v1/sync/vaults/{vault}/items", hub_h_sync_item_list},
    {"GET", "/v1/sync/vaults/{vault}/items/{item}", hub_h_sync_item_get},
    {"PUT", "/v1/sync/vaults/{vault}/items/{item}", hub_h_sync_item_put},
    {"DELETE", "/v1/sync/vaults/{vault}/items/{item}", hub_h_sync_item_delete},
    {"PUT", "/v1/sync/vaults/{vault}/files/{file}", hub_h_sync_file_put},
    {"GET", "/v1/sync/vaults/{vault}/files/{file}", hub_h_sync_file_get},
    {"POST", "/v1/sync/activity", hub_h_sync_activity},
};

/* ---- start and stop --------------------------------------------------------------------- */

/* The store's commit hook: wakes the long-polls (unless the hub is stopping). */
static void hub_on_commit(void *arg, const char *account, uint64_t last_seq)
{
    struct hub *h = arg;

    (void)account;
    (void)last_seq;
    pthread_mutex_lock(&h->hb_wake_mu);
    if (!h->hb_stopping && h->hb_srv)
        http_server_wake(h->hb_srv);
    pthread_mutex_unlock(&h->hb_wake_mu);
}

/* Admits a request unless its client address is over a rate limit (hc_admit). */
static enum err hub_admit(struct http_request *req, unsigned *retry_after_s)
{
    struct hub *h = hub_of(req);
    const char *ip = http_request_client_ip(req);
    int64_t now = http_clock_ms();

    if (!h->hb_rl_ip)
        return ERR_OK;
    /* The address's own budget, then whether it spent its failed authentications. */
    if (ratelimit_take(h->hb_rl_ip, ip, strlen(ip), 1, now, retry_after_s) &&
        ratelimit_take(h->hb_rl_fail, ip, strlen(ip), 0, now, retry_after_s))
        return ERR_OK;
    log_msg(LOG_WARN, http_request_log_scope(req), "hub: rate limited (client address)");
    return ERR_RATE_LIMITED;
}

/* Frees a hub whose server is stopped (or never started). */
static void hub_free(struct hub *h)
{
    if (!h)
        return;
    if (h->hb_store) {
        store_set_commit_hook(h->hb_store, NULL, NULL);
        store_close(h->hb_store);
    }
    secmem_free(h->hb_sync_key);
    ratelimit_free(h->hb_rl_ip);
    ratelimit_free(h->hb_rl_fail);
    pthread_mutex_destroy(&h->hb_wake_mu);
    mem_free(h);
}

/* Starts a hub (see hub.h). */
enum err hub_start(struct hub **out, const struct hub_options *opt, char *errmsg, size_t errcap)
{
    struct http_server_config cfg;
    struct http_server *srv = NULL;
    char msg[HUB_ERRMSG_MAX];
    struct hub *h;
    enum err e;

    *out = NULL;
    msg[0] = '\0';
    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (!opt || !opt->ho_store_url || opt->ho_port < 0 || opt->ho_port > 65535)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "hub: invalid options");
    h = mem_calloc(1, sizeof(*h));
    if (!h)
        return err_msgf(ERR_NOMEM, errmsg, errcap, "hub: out of memory");
    pthread_mutex_init(&h->hb_wake_mu, NULL);
    h->hb_open_registration = opt->ho_open_registration;
    h->hb_sync_key = secmem_alloc(SYNCAUTH_HUB_KEY_BYTES);
    if (!h->hb_sync_key) {
        hub_free(h);
        return err_msgf(ERR_NOMEM, errmsg, errcap, "hub: out of secure memory");
    }
    e = syncauth_hub_key_generate(h->hb_sync_key);
    if (e != ERR_OK) {
        hub_free(h);
        return err_msgf(e, errmsg, errcap, "hub: could not generate the challenge key");
    }
    if (opt->ho_rate_limit_rps > 0) {
        double r = (double)opt->ho_rate_limit_rps;

        if (ratelimit_new(&h->hb_rl_ip, r, HUB_RL_BURST_FACTOR * r) != ERR_OK ||
            ratelimit_new(&h->hb_rl_fail, HUB_RL_FAIL_RPS, HUB_RL_FAIL_BURST) != ERR_OK) {
            hub_free(h);
            return err_msgf(ERR_NOMEM, errmsg, errcap, "hub: out of memory");
        }
    }
    e = store_open(&h->hb_store, opt->ho_store_url, msg, sizeof(msg));
    if (e != ERR_OK) {
        hub_free(h);
        return err_msgf(e, errmsg, errcap, "hub: database: %s", msg[0] ? msg : err_message(e));
    }
    /* every hub on the database signs sync challenges with one key, so that a challenge
       one replica issued is answered at another (docs/scaling.md) */
    e = store_secret_share(h->hb_store, HUB_SECRET_SYNC_CHALLENGE, h->hb_sync_key,
                           SYNCAUTH_HUB_KEY_BYTES, h->hb_sync_key);
    if (e != ERR_OK) {
        hub_free(h);
        return err_msgf(e, errmsg, errcap, "hub: database: cannot share the challenge key (%s)",
                        err_name(e));
    }
    store_set_commit_hook(h->hb_store, hub_on_commit, h);

    http_server_config_init(&cfg);
    cfg.hc_name = "hub";
    cfg.hc_addr = opt->ho_host ? opt->ho_host : "127.0.0.1";
    cfg.hc_port = opt->ho_port;
    cfg.hc_routes = hub_routes;
    cfg.hc_nroutes = sizeof(hub_routes) / sizeof(hub_routes[0]);
    cfg.hc_context = h;
    cfg.hc_max_body_bytes = HUB_MAX_BODY_BYTES;
    cfg.hc_tls_cert_file = opt->ho_tls_cert;
    cfg.hc_tls_key_file = opt->ho_tls_key;
    cfg.hc_admit = hub_admit;
    if (opt->ho_threads)
        cfg.hc_threads = opt->ho_threads;
    e = http_server_start(&srv, &cfg);
    if (e != ERR_OK) {
        hub_free(h);
        return err_msgf(e, errmsg, errcap, "hub: could not listen on %s port %d (%s)", cfg.hc_addr,
                        opt->ho_port, err_name(e));
    }
    pthread_mutex_lock(&h->hb_wake_mu);
    h->hb_srv = srv;
    pthread_mutex_unlock(&h->hb_wake_mu);
    *out = h;
    return ERR_OK;
}

/* Returns the port. */
int hub_port(const struct hub *h)
{
    return h && h->hb_srv ? http_server_port(h->hb_srv) : 0;
}

/* Reloads the TLS files; see hub.h. */
enum err hub_tls_reload(struct hub *h, char *errmsg, size_t errcap)
{
    return http_server_tls_reload(h ? h->hb_srv : NULL, errmsg, errcap);
}

/* Stops a hub (see hub.h). */
void hub_stop(struct hub *h)
{
    struct http_server *srv;

    if (!h)
        return;
    pthread_mutex_lock(&h->hb_wake_mu);
    h->hb_stopping = 1;
    srv = h->hb_srv;
    h->hb_srv = NULL;
    pthread_mutex_unlock(&h->hb_wake_mu);
    http_server_stop(srv);
    hub_free(h);
}
