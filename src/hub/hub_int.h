/*
 * hub_int.h - what the hub's source files share (not for other modules): the hub context,
 * the route handlers, authentication (hub_auth.c) and the JSON helpers (hub.c).
 *
 * Handlers hold no SQL and call crypto only through src/keys helpers. Every error answer
 * is {"status": N, "message": "..."} with a message that never echoes request data; the
 * reason of an authentication failure goes to the log only.
 */
#ifndef SESAME_HUB_HUB_INT_H
#define SESAME_HUB_HUB_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/ratelimit.h"
#include "http/server.h"
#include "keys/syncauth.h"
#include "store/store.h"

#define HUB_MAX_QUERY_NUMBER      20               /* digits of a numeric query value */
#define HUB_ERRMSG_MAX            256              /* a start-up error line from the store */
#define HUB_SECRET_SYNC_CHALLENGE "sync-challenge" /* store_secret_share name of its key */

/*
 * A page of GET /v1/sync/vaults/{v}/items (docs/hub-api.md "Sync endpoints"): at most
 * HUB_ITEMS_PAGE_ITEMS items and HUB_ITEMS_PAGE_BYTES of ciphertext (one item alone may
 * exceed it). 3 MiB of ciphertext is 4 MiB as base64url; with the members of 1000 items
 * (about 300 bytes each) a page is under 4.5 MiB of JSON, and an item larger than the
 * budget is at most a 4 MiB JSON body (HTTP_MAX_BODY_BYTES) when written - either way a
 * quarter of what sync accepts in one answer (HTTP_CLIENT_DEFAULT_MAX_BODY_BYTES, 16 MiB).
 * The hub holds one page per request (copies, JSON tree and text: about 3x the page).
 */
#define HUB_ITEMS_PAGE_ITEMS 1000
#define HUB_ITEMS_PAGE_BYTES (3u << 20)

/* The hub context (hc_context of the HTTP server). */
struct hub {
    struct store *hb_store;
    struct http_server *hb_srv;   /* set once started; woken by the commit hook */
    pthread_mutex_t hb_wake_mu;   /* guards hb_srv use by the commit hook against stop */
    int hb_stopping;              /* under hb_wake_mu: no more wakes */
    int hb_open_registration;     /* --open-registration */
    unsigned char *hb_sync_key;   /* SYNCAUTH_HUB_KEY_BYTES, secure memory */
    struct ratelimit *hb_rl_ip;   /* requests per client address (NULL: no limits) */
    struct ratelimit *hb_rl_fail; /* failed authentications per client address */
};

/*
 * Rate limits (SESAME_HUB_RATE_LIMIT_RPS = R per client address; 0 disables both): an
 * address may burst to HUB_RL_BURST_FACTOR * R; failed authentications per address refill
 * at HUB_RL_FAIL_RPS with a burst of HUB_RL_FAIL_BURST, and an address that spent them gets
 * 429 before its next request is looked at. Every Connect server and admin CLI behind one
 * address shares its budget, so the default is generous.
 */
#define HUB_RL_BURST_FACTOR 2
#define HUB_RL_FAIL_RPS     5
#define HUB_RL_FAIL_BURST   50

/* Counts a failed authentication against the request's client address (hub_auth.c). */
void hub_auth_failed(struct http_request *req);

/* ---- hub.c: helpers ---------------------------------------------------------------- */

/* Returns the hub of a request. */
struct hub *hub_of(const struct http_request *req);

/* Returns the current Unix time. */
int64_t hub_now(void);

/*
 * Answers a store error: ERR_NOT_FOUND with notfound (404), ERR_CONFLICT with conflict
 * (409), ERR_BAD_INPUT "invalid request" (400), anything else its default message.
 * Returns the error for the handler to return.
 */
enum err hub_store_fail(struct http_response *resp, enum err e, const char *notfound,
                        const char *conflict);

/*
 * Copies path parameter name into out as an id of the given case (either case is
 * accepted). Returns ERR_OK, or ERR_BAD_ID answered on resp.
 */
enum err hub_param_id(struct http_request *req, struct http_response *resp, const char *name,
                      int upper, char out[ID_LEN + 1]);

/*
 * Normalises an id string from a body into out (upper or lower case); returns 1 when it is
 * a well-formed id, else 0.
 */
int hub_id_norm(const char *in, int upper, char out[ID_LEN + 1]);

/*
 * Reads query value name as an unsigned decimal number into *out (def when absent).
 * Returns ERR_OK or ERR_BAD_INPUT answered on resp.
 */
enum err hub_query_u64(struct http_request *req, struct http_response *resp, const char *name,
                       uint64_t def, uint64_t *out);

/*
 * Reads query value name (decoded, NUL-terminated, arena memory) into *out, or NULL when
 * absent. Returns ERR_OK, ERR_BAD_INPUT answered on resp, or ERR_NOMEM.
 */
enum err hub_query_str(struct http_request *req, struct http_response *resp, const char *name,
                       const char **out);

/*
 * Parses the request body as a JSON object into *out (json_decref it). Returns ERR_OK, or
 * ERR_BAD_JSON / ERR_BAD_INPUT / ERR_TOO_LARGE answered on resp.
 */
enum err hub_body_object(struct http_request *req, struct http_response *resp, json_t **out);

/* Returns the string member key of o, or NULL when absent or not a string. */
const char *hub_str(const json_t *o, const char *key);

/*
 * Decodes the base64url string member key of o into arena memory (*p, *n). Returns 1 on
 * success (a non-empty value), 0 when absent, malformed or empty.
 */
int hub_b64(struct http_request *req, const json_t *o, const char *key, const unsigned char **p,
            size_t *n);

/*
 * Checks that member key of o is a public JWK of kind (jwk.h JWK_EC_P256 or
 * JWK_OKP_X25519) and returns its canonical compact text in *text (mem_free it).
 * Returns 1 on success, 0 otherwise.
 */
int hub_jwk_text(const json_t *o, const char *key, int kind, char **text);

/* Sets o[key] = base64url(p, n); returns 0 or -1. */
int hub_set_b64(json_t *o, const char *key, const unsigned char *p, size_t n);

/* Returns the JSON value of a stored JSON text (a new reference), or NULL. */
json_t *hub_json_text(const char *text);

/* ---- hub.c: records (docs/hub-api.md "Records"); NULL on allocation failure ------------ */

json_t *hub_vault_json(const struct store_vault *v, int with_key_admin);

/*
 * Appends the JSON text of an ITEM record to b: id, vault, version, state, category,
 * overview (base64url), createdAt, updatedAt, lastEditedBy, and details only when the item
 * carries them - written directly, not through a JSON tree (a page of 1000 items built as
 * trees was half the hub's time in a cold start). ERR_OK, ERR_NOMEM or ERR_TOO_LARGE (b's
 * cap). hub_items_text appends the records v[0..n) as an array.
 */
enum err hub_item_text(struct buf *b, const struct store_item *it);
enum err hub_items_text(struct buf *b, const struct store_item *v, size_t n);
json_t *hub_file_json(const struct store_file *f);
json_t *hub_grant_json(const struct store_grant *g, int with_key);
json_t *hub_token_json(const struct store_token *t);
json_t *hub_signing_key_json(const struct store_signing_key *k);

/*
 * Returns the SERVER record of sv, with the ids of its grants (read from the store).
 * On failure returns NULL and sets *e.
 */
json_t *hub_server_json(struct store *s, const char *account, const struct store_server *sv,
                        enum err *e);

/* Returns the CHANGES record. */
json_t *hub_changes_json(const struct store_change *v, size_t n, uint64_t next, int more,
                         uint64_t last_seq);

/* ---- hub_auth.c -------------------------------------------------------------------- */

/*
 * Authenticates an admin request (Sesame-Admin header) before its body is parsed: the JSON
 * body cap first when json_body is set, then the header, the account's key, the signature
 * over the raw target and body, and the nonce. account receives the uppercase account id.
 * Returns ERR_OK, or an error answered on resp (401 with a generic message).
 */
enum err hub_admin_auth(struct http_request *req, struct http_response *resp, int json_body,
                        char account[ID_LEN + 1]);

/*
 * Authenticates the registration of account id with its own admin signing key (the JWK
 * object jwk of the body). The nonce is recorded by the caller once the account exists
 * (*nonce, ts). Returns ERR_OK, or an error answered on resp.
 */
enum err hub_admin_auth_register(struct http_request *req, struct http_response *resp,
                                 const char *id, const json_t *jwk, char nonce[STORE_NONCE_MAX + 1],
                                 int64_t *ts);

/*
 * Authenticates a sync request ("Authorization: Bearer <session>") into *ss.
 * Returns ERR_OK, or ERR_UNAUTHORIZED answered on resp.
 */
enum err hub_sync_auth(struct http_request *req, struct http_response *resp,
                       struct store_session *ss);

/*
 * Checks that the session's server holds a grant on vault (lowercase); *g (may be NULL)
 * receives it (store_grant_clear). Returns ERR_OK, or ERR_FORBIDDEN answered on resp.
 */
enum err hub_sync_grant(struct http_request *req, struct http_response *resp,
                        const struct store_session *ss, const char *vault, struct store_grant *g);

/* ---- shared by admin and sync handlers (hub_admin.c) -------------------------------- */

enum err hub_do_item_get(struct http_request *req, struct http_response *resp, const char *account,
                         const char *vault, const char *item);
enum err hub_do_item_put(struct http_request *req, struct http_response *resp, const char *account,
                         const char *vault, const char *item, const char *editor);
enum err hub_do_item_delete(struct http_request *req, struct http_response *resp,
                            const char *account, const char *vault, const char *item,
                            const char *editor);
enum err hub_do_file_put(struct http_request *req, struct http_response *resp, const char *account,
                         const char *vault, const char *file);
enum err hub_do_file_get(struct http_request *req, struct http_response *resp, const char *account,
                         const char *vault, const char *file);

/*
 * Answers a page of changes (server NULL: admin view) from query since/limit; with
 * allow_wait, waits up to the query's wait (at most HUB_MAX_LONGPOLL_SECONDS) for one.
 */
enum err hub_do_changes(struct http_request *req, struct http_response *resp, const char *account,
                        const char *server, size_t max_limit, int allow_wait);

/* ---- route handlers ------------------------------------------------------------------ */

enum err hub_h_account_create(struct http_request *req, struct http_response *resp);
enum err hub_h_account_get(struct http_request *req, struct http_response *resp);
enum err hub_h_signing_key_add(struct http_request *req, struct http_response *resp);
enum err hub_h_signing_key_retire(struct http_request *req, struct http_response *resp);
enum err hub_h_vault_list(struct http_request *req, struct http_response *resp);
enum err hub_h_vault_create(struct http_request *req, struct http_response *resp);
enum err hub_h_vault_get(struct http_request *req, struct http_response *resp);
enum err hub_h_vault_patch(struct http_request *req, struct http_response *resp);
enum err hub_h_vault_delete(struct http_request *req, struct http_response *resp);
enum err hub_h_item_list(struct http_request *req, struct http_response *resp);
enum err hub_h_item_get(struct http_request *req, struct http_response *resp);
enum err hub_h_item_put(struct http_request *req, struct http_response *resp);
enum err hub_h_item_delete(struct http_request *req, struct http_response *resp);
enum err hub_h_file_put(struct http_request *req, struct http_response *resp);
enum err hub_h_file_get(struct http_request *req, struct http_response *resp);
enum err hub_h_server_list(struct http_request *req, struct http_response *resp);
enum err hub_h_server_create(struct http_request *req, struct http_response *resp);
enum err hub_h_server_get(struct http_request *req, struct http_response *resp);
enum err hub_h_server_delete(struct http_request *req, struct http_response *resp);
enum err hub_h_grant_put(struct http_request *req, struct http_response *resp);
enum err hub_h_grant_delete(struct http_request *req, struct http_response *resp);
enum err hub_h_token_list(struct http_request *req, struct http_response *resp);
enum err hub_h_token_create(struct http_request *req, struct http_response *resp);
enum err hub_h_token_revoke(struct http_request *req, struct http_response *resp);
enum err hub_h_changes(struct http_request *req, struct http_response *resp);
enum err hub_h_activity_query(struct http_request *req, struct http_response *resp);

enum err hub_h_sync_challenge(struct http_request *req, struct http_response *resp);
enum err hub_h_sync_session(struct http_request *req, struct http_response *resp);
enum err hub_h_sync_state(struct http_request *req, struct http_response *resp);
enum err hub_h_sync_changes(struct http_request *req, struct http_response *resp);
enum err hub_h_sync_vault_get(struct http_request *req, struct http_response *resp);
enum err hub_h_sync_item_list(struct http_request *req, struct http_response *resp);
enum err hub_h_sync_item_get(struct http_request *req, struct http_response *resp);
enum err hub_h_sync_item_put(struct http_request *req, struct http_response *resp);
enum err hub_h_sync_item_delete(struct http_request *req, struct http_response *resp);
enum err hub_h_sync_file_put(struct http_request *req, struct http_response *resp);
enum err hub_h_sync_file_get(struct http_request *req, struct http_response *resp);
enum err hub_h_sync_activity(struct http_request *req, struct http_response *resp);

#endif
