/*
 * hub_auth.c - authentication of hub requests (docs/hub-api.md "Authentication"):
 * Sesame-Admin signatures for the admin CLI, and sync sessions (challenge, session,
 * Bearer) for Connect servers. Every failure answers 401 with the same generic message;
 * the reason goes to the log only.
 */
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/limits.h"
#include "common/log.h"
#include "crypto/jwk.h"
#include "hub/hub_int.h"
#include "keys/adminsig.h"
#include "keys/syncauth.h"

#define HUB_AUTH_FAILED "authentication failed"

/* Counts a failed authentication (see hub_int.h). */
void hub_auth_failed(struct http_request *req)
{
    struct hub *h = hub_of(req);
    const char *ip = http_request_client_ip(req);

    if (h->hb_rl_fail)
        (void)ratelimit_take(h->hb_rl_fail, ip, strlen(ip), 1, http_clock_ms(), NULL);
}

/* Logs why a request was refused, counts it against the address and answers 401. */
static enum err hub_deny(struct http_request *req, struct http_response *resp, const char *kind,
                         const char *reason)
{
    hub_auth_failed(req);
    log_msg(LOG_WARN, http_request_log_scope(req), "hub: %s authentication failed: %s", kind,
            reason);
    return http_respond_error(resp, ERR_UNAUTHORIZED, HUB_AUTH_FAILED);
}

/* Parses the Authorization header into *a. Returns ERR_OK or an answered 401. */
static enum err admin_header(struct http_request *req, struct http_response *resp,
                             struct adminsig_auth *a)
{
    enum adminsig_reason why = ADMINSIG_OK;
    const char *hv = http_request_header(req, "Authorization");

    memset(a, 0, sizeof(*a));
    if (!hv)
        return hub_deny(req, resp, "admin", "no Authorization header");
    if (adminsig_parse(a, hv, strlen(hv), &why) != ERR_OK)
        return hub_deny(req, resp, "admin", adminsig_reason_name(why));
    return ERR_OK;
}

/* Verifies the signature of a parsed header with key over the raw target and body. */
static enum err admin_verify(struct http_request *req, struct http_response *resp,
                             const struct adminsig_auth *a, const struct ec_key *key)
{
    enum adminsig_reason why = ADMINSIG_OK;
    const char *target, *body;
    size_t tlen, blen;

    target = http_request_target(req, &tlen);
    body = http_request_body(req, &blen);
    if (tlen == 0)
        return hub_deny(req, resp, "admin", "no request target");
    if (adminsig_verify(a, key, http_request_method(req), target, body, blen, hub_now(), &why) !=
        ERR_OK)
        return hub_deny(req, resp, "admin", adminsig_reason_name(why));
    return ERR_OK;
}

/* Authenticates an admin request (see hub_int.h). */
enum err hub_admin_auth(struct http_request *req, struct http_response *resp, int json_body,
                        char account[ID_LEN + 1])
{
    struct hub *h = hub_of(req);
    struct store_account acc;
    struct adminsig_auth a;
    struct jwk k;
    size_t blen;
    enum err e;

    account[0] = '\0';
    memset(&acc, 0, sizeof(acc));
    memset(&k, 0, sizeof(k));
    (void)http_request_body(req, &blen);
    if (json_body && blen > HTTP_MAX_BODY_BYTES)
        return http_respond_error(resp, ERR_TOO_LARGE, "request body is too large");
    e = admin_header(req, resp, &a);
    if (e != ERR_OK)
        return e;
    e = store_account_get(h->hb_store, a.aa_account, &acc);
    if (e == ERR_NOT_FOUND)
        return hub_deny(req, resp, "admin", "unknown account");
    if (e != ERR_OK)
        return hub_store_fail(resp, e, NULL, NULL);
    e = jwk_parse(&k, acc.ac_admin_sign_jwk, strlen(acc.ac_admin_sign_jwk));
    store_account_clear(&acc);
    if (e != ERR_OK || k.jk_kind != JWK_EC_P256 || !k.jk_ec) {
        jwk_clear(&k);
        log_msg(LOG_ERROR, http_request_log_scope(req), "hub: stored admin key unusable");
        return http_respond_error(resp, ERR_INTERNAL, NULL);
    }
    e = admin_verify(req, resp, &a, k.jk_ec);
    jwk_clear(&k);
    if (e != ERR_OK)
        return e;
    e = store_nonce_use(h->hb_store, a.aa_account, a.aa_nonce,
                        a.aa_ts + ADMINSIG_WINDOW_SECONDS + 1);
    if (e == ERR_CONFLICT)
        return hub_deny(req, resp, "admin", "replayed nonce");
    if (e != ERR_OK)
        return hub_store_fail(resp, e, NULL, NULL);
    memcpy(account, a.aa_account, ID_LEN + 1);
    return ERR_OK;
}

/* Authenticates a registration with the key of its own body (see hub_int.h). */
enum err hub_admin_auth_register(struct http_request *req, struct http_response *resp,
                                 const char *id, const json_t *jwk, char nonce[STORE_NONCE_MAX + 1],
                                 int64_t *ts)
{
    struct adminsig_auth a;
    struct jwk k;
    enum err e;

    nonce[0] = '\0';
    *ts = 0;
    memset(&k, 0, sizeof(k));
    e = admin_header(req, resp, &a);
    if (e != ERR_OK)
        return e;
    if (strcmp(a.aa_account, id) != 0)
        return http_respond_error(resp, ERR_FORBIDDEN, "the signing account is not the account");
    if (!json_is_object(jwk) || jwk_from_json(&k, jwk) != ERR_OK || k.jk_kind != JWK_EC_P256 ||
        !k.jk_ec) {
        jwk_clear(&k);
        return http_respond_error(resp, ERR_BAD_INPUT, "adminSignJwk: not a P-256 public JWK");
    }
    e = admin_verify(req, resp, &a, k.jk_ec);
    jwk_clear(&k);
    if (e != ERR_OK)
        return e;
    memcpy(nonce, a.aa_nonce, sizeof(a.aa_nonce));
    *ts = a.aa_ts;
    return ERR_OK;
}

/* Authenticates a sync request (see hub_int.h). */
enum err hub_sync_auth(struct http_request *req, struct http_response *resp,
                       struct store_session *ss)
{
    unsigned char sha[STORE_SHA256_BYTES];
    const char *hv = http_request_header(req, "Authorization");
    const char *secret;
    enum err e;

    memset(ss, 0, sizeof(*ss));
    if (!hv)
        return hub_deny(req, resp, "sync", "no Authorization header");
    if (strncasecmp(hv, "Bearer ", 7) != 0)
        return hub_deny(req, resp, "sync", "not a Bearer authorization");
    secret = hv + 7;
    while (*secret == ' ')
        secret++;
    if (syncauth_session_hash(sha, secret, strlen(secret)) != ERR_OK)
        return hub_deny(req, resp, "sync", "malformed session");
    e = store_session_lookup(hub_of(req)->hb_store, sha, ss);
    if (e == ERR_NOT_FOUND)
        return hub_deny(req, resp, "sync", "unknown or expired session");
    if (e != ERR_OK)
        return hub_store_fail(resp, e, NULL, NULL);
    return ERR_OK;
}

/* Checks the session's grant on a vault (see hub_int.h). */
enum err hub_sync_grant(struct http_request *req, struct http_response *resp,
                        const struct store_session *ss, const char *vault, struct store_grant *g)
{
    struct store_grant *v = NULL;
    size_t n = 0, i;
    enum err e;

    if (g)
        memset(g, 0, sizeof(*g));
    e = store_grant_list_by_server(hub_of(req)->hb_store, ss->ss_account, ss->ss_server, &v, &n);
    if (e == ERR_NOT_FOUND)
        return hub_deny(req, resp, "sync", "server deleted");
    if (e != ERR_OK)
        return hub_store_fail(resp, e, NULL, NULL);
    for (i = 0; i < n; i++) {
        if (strcmp(v[i].gr_vault, vault) == 0) {
            if (g) {
                *g = v[i];
                memset(&v[i], 0, sizeof(v[i]));
            }
            store_grant_list_free(v, n);
            return ERR_OK;
        }
    }
    store_grant_list_free(v, n);
    return http_respond_error(resp, ERR_FORBIDDEN, "vault not granted to this server");
}
