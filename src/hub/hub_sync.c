/*
 * hub_sync.c - the sync endpoints of the hub (docs/hub-api.md "Sync endpoints"): the
 * challenge/session exchange, the server's state, its filtered change feed (long-poll),
 * its granted vaults' items and files, and activity uploads.
 */
#include <string.h>

#include "common/alloc.h"
#include "common/limits.h"
#include "common/log.h"
#include "crypto/jwk.h"
#include "hub/hub_int.h"
#include "json/fastload.h"
#include "keys/syncauth.h"

#define HUB_SYNC_FAILED "authentication failed"

/* Reads the account and server ids of a sync auth body. Returns 1 when both are ids. */
static int sync_ids(const json_t *body, char account[ID_LEN + 1], char server[ID_LEN + 1])
{
    return hub_id_norm(hub_str(body, "account"), 1, account) &&
           hub_id_norm(hub_str(body, "server"), 0, server);
}

/* POST /v1/sync/challenge {"account", "server"} */
enum err hub_h_sync_challenge(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], server[ID_LEN + 1], ch[SYNCAUTH_CHALLENGE_LEN + 1];
    json_t *body = NULL, *o;
    enum err e = hub_body_object(req, resp, &body);

    if (e != ERR_OK)
        return e;
    if (!sync_ids(body, account, server)) {
        json_decref(body);
        return http_respond_error(resp, ERR_BAD_INPUT, "account and server ids required");
    }
    json_decref(body);
    /* answered for unknown servers too: no oracle of which servers exist */
    e = syncauth_challenge_new(ch, hub_of(req)->hb_sync_key, account, server, hub_now());
    if (e != ERR_OK)
        return http_respond_error(resp, e == ERR_BAD_INPUT ? ERR_BAD_INPUT : ERR_INTERNAL, NULL);
    o = json_pack("{s:s, s:i}", "challenge", ch, "expiresIn", SYNCAUTH_CHALLENGE_SECONDS);
    if (!o)
        return ERR_NOMEM;
    return http_respond_json(resp, 200, o);
}

/* Logs why a session was refused and answers 401. */
static enum err session_deny(struct http_request *req, struct http_response *resp,
                             const char *reason)
{
    log_msg(LOG_WARN, http_request_log_scope(req), "hub: sync session refused: %s", reason);
    hub_auth_failed(req);
    return http_respond_error(resp, ERR_UNAUTHORIZED, HUB_SYNC_FAILED);
}

/* POST /v1/sync/session {"account", "server", "challenge", "signature"} */
enum err hub_h_sync_session(struct http_request *req, struct http_response *resp)
{
    char account[ID_LEN + 1], server[ID_LEN + 1], nonce[SYNCAUTH_NONCE_LEN + 1];
    char secret[SYNCAUTH_SESSION_LEN + 1];
    unsigned char sha[STORE_SHA256_BYTES];
    struct hub *h = hub_of(req);
    const char *challenge, *sig;
    struct store_server sv;
    json_t *body = NULL, *o;
    int64_t now = hub_now(), expires = 0;
    struct jwk k;
    enum err e;

    memset(&sv, 0, sizeof(sv));
    memset(&k, 0, sizeof(k));
    e = hub_body_object(req, resp, &body);
    if (e != ERR_OK)
        return e;
    challenge = hub_str(body, "challenge");
    sig = hub_str(body, "signature");
    if (!sync_ids(body, account, server) || !challenge || !sig) {
        e = http_respond_error(resp, ERR_BAD_INPUT,
                               "account, server, challenge and signature required");
        goto out;
    }
    if (syncauth_challenge_check(challenge, h->hb_sync_key, account, server, now, nonce,
                                 &expires) != ERR_OK) {
        e = session_deny(req, resp, "bad or expired challenge");
        goto out;
    }
    e = store_server_get(h->hb_store, account, server, &sv);
    if (e == ERR_NOT_FOUND || e == ERR_BAD_INPUT) {
        e = session_deny(req, resp, "unknown server");
        goto out;
    }
    if (e != ERR_OK) {
        e = hub_store_fail(resp, e, NULL, NULL);
        goto out;
    }
    if (jwk_parse(&k, sv.se_sign_jwk, strlen(sv.se_sign_jwk)) != ERR_OK ||
        k.jk_kind != JWK_EC_P256 || !k.jk_ec) {
        e = http_respond_error(resp, ERR_INTERNAL, NULL);
        goto out;
    }
    if (syncauth_verify(k.jk_ec, challenge, server, sig) != ERR_OK) {
        e = session_deny(req, resp, "bad signature");
        goto out;
    }
    if (expires <= now)
        expires = now + 1;
    e = store_nonce_use(h->hb_store, account, nonce, expires);
    if (e == ERR_CONFLICT) {
        e = session_deny(req, resp, "challenge already used");
        goto out;
    }
    if (e != ERR_OK) {
        e = hub_store_fail(resp, e, NULL, NULL);
        goto out;
    }
    if (syncauth_session_new(secret, sha) != ERR_OK) {
        e = http_respond_error(resp, ERR_INTERNAL, NULL);
        goto out;
    }
    e = store_session_create(h->hb_store, sha, account, server, now + SYNCAUTH_SESSION_SECONDS);
    if (e != ERR_OK) {
        e = hub_store_fail(resp, e, NULL, NULL);
        goto out;
    }
    if (store_session_purge(h->hb_store, NULL) != ERR_OK) /* expired ones, now and then */
        log_msg(LOG_WARN, http_request_log_scope(req), "hub: expired sessions not purged");
    o = json_pack("{s:s, s:i}", "session", secret, "expiresIn", SYNCAUTH_SESSION_SECONDS);
    e = o ? http_respond_json(resp, 200, o) : ERR_NOMEM;
    log_msg(LOG_INFO, http_request_log_scope(req), "hub: sync session for server %s", server);
out:
    explicit_bzero(secret, sizeof(secret));
    jwk_clear(&k);
    store_server_clear(&sv);
    json_decref(body);
    return e;
}

/* GET /v1/sync/state */
enum err hub_h_sync_state(struct http_request *req, struct http_response *resp)
{
    struct store *s = hub_of(req)->hb_store;
    struct store_signing_key *k = NULL;
    struct store_grant *g = NULL;
    struct store_session ss;
    struct store_server sv;
    size_t nk = 0, ng = 0, i;
    json_t *o = NULL, *srv = NULL, *grants = NULL, *keys = NULL;
    enum err e = hub_sync_auth(req, resp, &ss);

    if (e != ERR_OK)
        return e;
    memset(&sv, 0, sizeof(sv));
    e = store_server_get(s, ss.ss_account, ss.ss_server, &sv);
    if (e == ERR_OK)
        srv = hub_server_json(s, ss.ss_account, &sv, &e);
    if (e == ERR_OK)
        e = store_grant_list_by_server(s, ss.ss_account, ss.ss_server, &g, &ng);
    if (e == ERR_OK)
        e = store_signing_key_list(s, ss.ss_account, &k, &nk);
    if (e != ERR_OK) {
        e = hub_store_fail(resp, e, "server not found", NULL);
        goto out;
    }
    e = ERR_NOMEM;
    grants = json_array();
    keys = json_array();
    o = json_object();
    if (!grants || !keys || !o)
        goto out;
    for (i = 0; i < ng; i++)
        if (json_array_append_new(grants, hub_grant_json(&g[i], 1)))
            goto out;
    for (i = 0; i < nk; i++)
        if (json_array_append_new(keys, hub_signing_key_json(&k[i])))
            goto out;
    if (json_object_set_new(o, "account", json_string(ss.ss_account)) ||
        json_object_set_new(o, "server", srv) || json_object_set_new(o, "grants", grants) ||
        json_object_set_new(o, "signingKeys", keys) ||
        json_object_set_new(o, "lastSeq",
                            json_integer((json_int_t)store_last_seq(s, ss.ss_account)))) {
        srv = grants = keys = NULL;
        goto out;
    }
    srv = grants = keys = NULL;
    e = http_respond_json(resp, 200, o);
    o = NULL;
out:
    json_decref(o);
    json_decref(srv);
    json_decref(grants);
    json_decref(keys);
    store_grant_list_free(g, ng);
    store_signing_key_list_free(k, nk);
    store_server_clear(&sv);
    return e;
}

/* GET /v1/sync/changes?since=N[&limit=L][&wait=D] */
enum err hub_h_sync_changes(struct http_request *req, struct http_response *resp)
{
    struct store_session ss;
    enum err e = hub_sync_auth(req, resp, &ss);

    if (e != ERR_OK)
        return e;
    return hub_do_changes(req, resp, ss.ss_account, ss.ss_server, HUB_CHANGES_PAGE, 1);
}

/* Authenticates a sync request on a granted vault: *ss, vault (and item, if item_param). */
static enum err sync_vault(struct http_request *req, struct http_response *resp,
                           struct store_session *ss, char vault[ID_LEN + 1], const char *item_param,
                           char item[ID_LEN + 1])
{
    enum err e = hub_sync_auth(req, resp, ss);

    if (e == ERR_OK)
        e = hub_param_id(req, resp, "vault", 0, vault);
    if (e == ERR_OK && item_param)
        e = hub_param_id(req, resp, item_param, 0, item);
    if (e == ERR_OK)
        e = hub_sync_grant(req, resp, ss, vault, NULL);
    return e;
}

/* Returns the uppercase form of a server id (the editor of sync writes). */
static void editor_of(const struct store_session *ss, char out[ID_LEN + 1])
{
    (void)hub_id_norm(ss->ss_server, 1, out);
}

/* GET /v1/sync/vaults/{vault} */
enum err hub_h_sync_vault_get(struct http_request *req, struct http_response *resp)
{
    char vault[ID_LEN + 1];
    struct store_session ss;
    struct store_vault v;
    json_t *o;
    enum err e = sync_vault(req, resp, &ss, vault, NULL, NULL);

    if (e != ERR_OK)
        return e;
    e = store_vault_get(hub_of(req)->hb_store, ss.ss_account, vault, &v);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "vault not found", NULL);
    o = hub_vault_json(&v, 0);
    store_vault_clear(&v);
    return o ? http_respond_json(resp, 200, o) : ERR_NOMEM;
}

/*
 * GET /v1/sync/vaults/{vault}/items[?limit=L][&after=ID] (details included), in item id
 * order. With limit or after: one page {"items": [...], "next": last id or null}; limit
 * 1..HUB_ITEMS_PAGE_ITEMS (more is cut; default the maximum), also cut by
 * HUB_ITEMS_PAGE_BYTES. Without either (a sync before paging): the bare array, if the
 * vault fits in one page; else 413 rather than an unbounded answer.
 */
enum err hub_h_sync_item_list(struct http_request *req, struct http_response *resp)
{
    char vault[ID_LEN + 1], after[ID_LEN + 1];
    struct store_session ss;
    struct store_item *v = NULL;
    const char *after_q = NULL, *limit_q = NULL;
    uint64_t limit = HUB_ITEMS_PAGE_ITEMS;
    size_t n = 0;
    int more = 0, paged;
    struct buf b;
    enum err e = sync_vault(req, resp, &ss, vault, NULL, NULL);

    after[0] = '\0';
    if (e == ERR_OK)
        e = hub_query_str(req, resp, "after", &after_q);
    if (e == ERR_OK)
        e = hub_query_str(req, resp, "limit", &limit_q);
    if (e == ERR_OK)
        e = hub_query_u64(req, resp, "limit", HUB_ITEMS_PAGE_ITEMS, &limit);
    if (e != ERR_OK)
        return e;
    if (limit == 0)
        return http_respond_error(resp, ERR_BAD_INPUT, "limit must be at least 1");
    if (limit > HUB_ITEMS_PAGE_ITEMS)
        limit = HUB_ITEMS_PAGE_ITEMS;
    if (after_q && !hub_id_norm(after_q, 0, after))
        return http_respond_error(resp, ERR_BAD_INPUT, "after must be an item id");
    e = store_item_page(hub_of(req)->hb_store, ss.ss_account, vault, after, (size_t)limit,
                        HUB_ITEMS_PAGE_BYTES, &v, &n, &more);
    if (e != ERR_OK)
        return hub_store_fail(resp, e, "vault not found", NULL);
    if (!after_q && !limit_q && more) {
        store_item_list_free(v, n);
        return http_respond_error(resp, ERR_TOO_LARGE,
                                  "the vault is too large for one answer: ask for pages (?limit=)");
    }
    /* {"items": [...], "next": the last id or null}, or the bare array */
    paged = after_q || limit_q;
    buf_init(&b, HTTP_MAX_RESPONSE_BYTES);
    e = paged ? buf_add_str(&b, "{\"items\":") : ERR_OK;
    if (e == ERR_OK)
        e = hub_items_text(&b, v, n);
    if (e == ERR_OK && paged)
        e = buf_add_str(&b, ",\"next\":");
    if (e == ERR_OK && paged)
        e = more && n > 0 ? buf_add_json_string(&b, v[n - 1].it_id) : buf_add_str(&b, "null");
    if (e == ERR_OK && paged)
        e = buf_add(&b, "}", 1);
    store_item_list_free(v, n);
    if (e == ERR_OK)
        e = http_respond_buf(resp, 200, "application/json", &b);
    buf_free(&b);
    return e;
}

/* GET /v1/sync/vaults/{vault}/items/{item} */
enum err hub_h_sync_item_get(struct http_request *req, struct http_response *resp)
{
    char vault[ID_LEN + 1], item[ID_LEN + 1];
    struct store_session ss;
    enum err e = sync_vault(req, resp, &ss, vault, "item", item);

    return e == ERR_OK ? hub_do_item_get(req, resp, ss.ss_account, vault, item) : e;
}

/* PUT /v1/sync/vaults/{vault}/items/{item} (lastEditedBy = the server) */
enum err hub_h_sync_item_put(struct http_request *req, struct http_response *resp)
{
    char vault[ID_LEN + 1], item[ID_LEN + 1], editor[ID_LEN + 1];
    struct store_session ss;
    size_t blen;
    enum err e;

    (void)http_request_body(req, &blen);
    if (blen > HTTP_MAX_BODY_BYTES)
        return http_respond_error(resp, ERR_TOO_LARGE, "request body is too large");
    e = sync_vault(req, resp, &ss, vault, "item", item);
    if (e != ERR_OK)
        return e;
    editor_of(&ss, editor);
    return hub_do_item_put(req, resp, ss.ss_account, vault, item, editor);
}

/* DELETE /v1/sync/vaults/{vault}/items/{item}[?baseVersion=N] */
enum err hub_h_sync_item_delete(struct http_request *req, struct http_response *resp)
{
    char vault[ID_LEN + 1], item[ID_LEN + 1], editor[ID_LEN + 1];
    struct store_session ss;
    enum err e = sync_vault(req, resp, &ss, vault, "item", item);

    if (e != ERR_OK)
        return e;
    editor_of(&ss, editor);
    return hub_do_item_delete(req, resp, ss.ss_account, vault, item, editor);
}

/* PUT /v1/sync/vaults/{vault}/files/{file} */
enum err hub_h_sync_file_put(struct http_request *req, struct http_response *resp)
{
    char vault[ID_LEN + 1], file[ID_LEN + 1];
    struct store_session ss;
    enum err e = sync_vault(req, resp, &ss, vault, "file", file);

    return e == ERR_OK ? hub_do_file_put(req, resp, ss.ss_account, vault, file) : e;
}

/* GET /v1/sync/vaults/{vault}/files/{file} */
enum err hub_h_sync_file_get(struct http_request *req, struct http_response *resp)
{
    char vault[ID_LEN + 1], file[ID_LEN + 1];
    struct store_session ss;
    enum err e = sync_vault(req, resp, &ss, vault, "file", file);

    return e == ERR_OK ? hub_do_file_get(req, resp, ss.ss_account, vault, file) : e;
}

/* POST /v1/sync/activity {"entries": [APIRequest, ...]} */
enum err hub_h_sync_activity(struct http_request *req, struct http_response *resp)
{
    struct store_session ss;
    const json_t *entries;
    const char **texts = NULL;
    size_t *at = NULL;
    json_t *body = NULL, *v;
    size_t n = 0, i, blen;
    struct buf all;
    enum err e;

    buf_init(&all, HTTP_MAX_BODY_BYTES * 2);

    (void)http_request_body(req, &blen);
    if (blen > HTTP_MAX_BODY_BYTES)
        return http_respond_error(resp, ERR_TOO_LARGE, "request body is too large");
    e = hub_sync_auth(req, resp, &ss);
    if (e == ERR_OK)
        e = hub_body_object(req, resp, &body);
    if (e != ERR_OK)
        return e;
    entries = json_object_get(body, "entries");
    if (!json_is_array(entries) || json_array_size(entries) == 0 ||
        json_array_size(entries) > HUB_ACTIVITY_MAX_IN) {
        e = http_respond_error(resp, ERR_BAD_INPUT, "entries: 1 to 1000 objects required");
        goto out;
    }
    texts = mem_calloc(json_array_size(entries), sizeof(*texts));
    at = mem_calloc(json_array_size(entries), sizeof(*at));
    if (!texts || !at || buf_prepare(&all, blen + json_array_size(entries)) != ERR_OK) {
        e = ERR_NOMEM;
        goto out;
    }
    /* every entry's compact text into one buffer, NUL after each (jansson's dump of each
       was most of the hub's work under a read load) */
    json_array_foreach(entries, i, v)
    {
        if (!json_is_object(v)) {
            e = http_respond_error(resp, ERR_BAD_INPUT, "entries: 1 to 1000 objects required");
            goto out;
        }
        at[n++] = all.b_len;
        e = jsonfast_dump(v, &all);
        if (e == ERR_OK)
            e = buf_add(&all, "", 1);
        if (e != ERR_OK) {
            e = e == ERR_NOMEM ? e : http_respond_error(resp, ERR_BAD_INPUT, "entry too large");
            goto out;
        }
    }
    for (i = 0; i < n; i++)
        texts[i] = all.b_data + at[i];
    e = store_activity_append(hub_of(req)->hb_store, ss.ss_account, ss.ss_server, hub_now(), texts,
                              n);
    if (e != ERR_OK) {
        e = hub_store_fail(resp, e, "server not found", NULL);
        goto out;
    }
    e = http_respond_empty(resp, 204);
out:
    mem_free(texts);
    mem_free(at);
    buf_free(&all);
    json_decref(body);
    return e;
}
