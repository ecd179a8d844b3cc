/*
 * hubclient.h - sync's client of the hub's sync endpoints (docs/hub-api.md, "Sync
 * endpoints"; docs/sync.md): challenge-response authentication with the server signing
 * key of the unlocked credentials, a bearer session kept on the HTTP client and renewed
 * on a 401, and typed GETs that answer parsed JSON (jansson).
 *
 * A hubclient borrows its credentials (unlocked) and its HTTP client (whose base URL is the
 * hub's); both must outlive it. One hubclient per thread, as the HTTP client.
 *
 * Nothing is decrypted here: answers carry ciphertexts exactly as the hub sent them.
 * Error messages (hubclient_errmsg) never quote bodies, sessions or signatures.
 */
#ifndef SESAME_SYNC_HUBCLIENT_H
#define SESAME_SYNC_HUBCLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/ids.h"
#include "http/client.h"
#include "keys/credentials.h"

#define HUBCLIENT_ERRMSG_BYTES   256    /* hubclient_errmsg */
#define HUBCLIENT_MAX_WAIT       30     /* longest long-poll the hub grants, seconds */
#define HUBCLIENT_WAIT_MARGIN_MS 15000L /* added to a long-poll's wait for its request timeout */
#define HUBCLIENT_MAX_LIMIT      500    /* most changes the hub returns to sync per page */
#define HUBCLIENT_ITEMS_PAGE     1000   /* items asked per page of a vault pull (the hub's most) */

struct hubclient;

/* How the last request a hubclient sent failed (hubclient_last_failure). */
enum hubclient_failure {
    HUBCLIENT_FAIL_NONE = 0, /* it was answered (other than 502-504), or failed locally
                                (cancelled, refused before sending, out of memory) */
    HUBCLIENT_FAIL_UNSENT,   /* no connection was made (cannot connect or resolve, TLS
                                refused): nothing reached the hub */
    HUBCLIENT_FAIL_LOST,     /* the connection failed or timed out after the request may
                                have been sent (reset, closed, cut short, timeout) */
    HUBCLIENT_FAIL_GATEWAY,  /* the answer was 502, 503 or 504 */
};

/* One item version to write (hubclient_item_put); every string borrowed. */
struct hubclient_item_write {
    const char *hiw_category;  /* e.g. "LOGIN" ([A-Z_], as the hub takes it) */
    const char *hiw_state;     /* "" (active) or e.g. "ARCHIVED"; NULL: "" */
    const char *hiw_overview;  /* unpadded base64url of the overview ciphertext */
    const char *hiw_details;   /* unpadded base64url of the details ciphertext */
    uint64_t hiw_base_version; /* the version replaced; 0: none (sent without baseVersion) */
};

/*
 * Creates a client of the hub over http for the unlocked credentials cred (both borrowed).
 * *out receives it (hubclient_free it) or NULL. No request is made. Returns ERR_OK,
 * ERR_BAD_INPUT (cred not unlocked, or a NULL argument) or ERR_NOMEM.
 */
enum err hubclient_new(struct hubclient **out, const struct credentials *cred,
                       struct http_client *http) SESAME_WUR;

/*
 * Moves hc to another HTTP client (borrowed; another replica of the same hub, whose
 * sessions are shared): the session, if any, is taken off the current client and set on
 * http, so it is kept (a replica that refuses it answers 401, and hc authenticates again
 * as ever). No request is made. NULL or the current client: nothing changes.
 */
void hubclient_set_http(struct hubclient *hc, struct http_client *http);

/* Returns the HTTP client hc sends through now (NULL for NULL). */
struct http_client *hubclient_http(const struct hubclient *hc);

/*
 * Returns how the last request hc sent failed (HUBCLIENT_FAIL_NONE when it was answered,
 * or failed without reaching the network): sync fails over to the next hub URL on any
 * other value (docs/sync.md, "Several hub URLs").
 */
enum hubclient_failure hubclient_last_failure(const struct hubclient *hc);

/* Removes the session from the HTTP client and frees hc. NULL is fine. */
void hubclient_free(struct hubclient *hc);

/* Returns the message of hc's last failure ("" if none); owned by hc. */
const char *hubclient_errmsg(const struct hubclient *hc);

/* Returns 1 while hc holds a session (it may have expired on the hub). */
int hubclient_has_session(const struct hubclient *hc);

/* Forgets the session (the next request authenticates again). */
void hubclient_drop_session(struct hubclient *hc);

/*
 * Authenticates: POST /v1/sync/challenge {account, server}, signs the challenge with the
 * server signing key (syncauth_sign), POST /v1/sync/session, and sets the session as the
 * HTTP client's bearer. Returns ERR_OK, ERR_UNAUTHORIZED (the hub refused: unknown or
 * deleted server, wrong key), ERR_UPSTREAM (unreachable, or a malformed answer),
 * ERR_TIMEOUT, ERR_CRYPTO, ERR_NOMEM, or the error of another status.
 */
enum err hubclient_authenticate(struct hubclient *hc) SESAME_WUR;

/*
 * GETs path ("/v1/sync/..." with an optional query) with the session - authenticating
 * first if there is none, and once more after a 401 - and parses the 2xx answer into *out
 * (json_decref it; NULL on error). timeout_ms bounds the whole call, authentication
 * included (ERR_TIMEOUT when it runs out); 0: the HTTP client's timeout for each request
 * it sends. Returns ERR_OK, the
 * status's error (http_client_response_error: 403 ERR_FORBIDDEN, 404 ERR_NOT_FOUND...),
 * ERR_UPSTREAM (transport failure or an answer that is not JSON), ERR_TIMEOUT, ERR_NOMEM,
 * or an error of hubclient_authenticate.
 */
enum err hubclient_get_json(struct hubclient *hc, const char *path, long timeout_ms,
                            json_t **out) SESAME_WUR;

/* GET /v1/sync/state into *out (an object). Errors as hubclient_get_json. */
enum err hubclient_state(struct hubclient *hc, json_t **out) SESAME_WUR;

/*
 * GET /v1/sync/changes?since=since&limit=limit[&wait=wait_s][&pulled=pulled] into *out (a
 * CHANGES object). limit 0: HUBCLIENT_MAX_LIMIT. wait_s 0: no long-poll; else at most
 * HUBCLIENT_MAX_WAIT (cut), with a request timeout of the wait plus
 * HUBCLIENT_WAIT_MARGIN_MS. pulled > 0: every vault was just pulled whole after the
 * account's seq pulled (item changes up to it are left out: docs/hub-api.md). Errors as
 * hubclient_get_json; ERR_UPSTREAM when the answer is not a CHANGES object.
 */
enum err hubclient_changes(struct hubclient *hc, uint64_t since, unsigned limit, unsigned wait_s,
                           uint64_t pulled, json_t **out) SESAME_WUR;

/* GET /v1/sync/vaults/{vault} (a VAULT object) into *out. ERR_FORBIDDEN: not granted. */
enum err hubclient_vault(struct hubclient *hc, const char *vault, json_t **out) SESAME_WUR;

/*
 * One page of a vault's items: GET /v1/sync/vaults/{vault}/items?limit=L[&after=A] - the
 * live items with details in item id order, those after item id after (NULL or "": from the
 * first); limit 0: HUBCLIENT_ITEMS_PAGE (the hub also cuts a page by bytes). *out receives
 * the array of ITEM objects (json_decref it; NULL on error); next receives the id to pass
 * as after for the following page, "" when this page was the last. A hub that answers the
 * bare array (one before paging) has sent the whole vault: next "". Returns the errors of
 * hubclient_get_json (ERR_FORBIDDEN: not granted; ERR_NOT_FOUND: no such vault), and
 * ERR_UPSTREAM when the answer is not a page, or its next does not move past after.
 */
enum err hubclient_vault_items_page(struct hubclient *hc, const char *vault, const char *after,
                                    unsigned limit, json_t **out, char next[ID_LEN + 1]) SESAME_WUR;

/*
 * GET /v1/sync/vaults/{vault}/files/{file}: the raw ciphertext into *data (*len bytes;
 * mem_free it; NULL/0 on error). Errors as hubclient_get_json (without the JSON parsing).
 */
enum err hubclient_file_get(struct hubclient *hc, const char *vault, const char *file,
                            unsigned char **data, size_t *len) SESAME_WUR;

/*
 * POST /v1/sync/activity with body (len bytes of JSON text: {"entries": [APIRequest, ...]},
 * 1..1000 entries; borrowed) and the session, authenticating as hubclient_get_json does.
 * Returns ERR_OK (the hub answered 2xx), ERR_BAD_INPUT (the hub refused the body: 400, or
 * an empty body given), ERR_TOO_LARGE (413), or the errors of hubclient_get_json.
 */
enum err hubclient_activity_upload(struct hubclient *hc, const char *body, size_t len) SESAME_WUR;

/*
 * GET /v1/sync/vaults/{vault}/items/{item} (an ITEM with details) into *out, within
 * timeout_ms as hubclient_get_json. ERR_NOT_FOUND: no live item; ERR_FORBIDDEN: the vault is
 * not granted; ERR_UPSTREAM: the answer is not an ITEM object (no "id" or "version").
 */
enum err hubclient_item_get(struct hubclient *hc, const char *vault, const char *item,
                            long timeout_ms, json_t **out) SESAME_WUR;

/*
 * PUT /v1/sync/vaults/{vault}/items/{item} {"category","state","overview","details"
 * [,"baseVersion"]} (docs/hub-api.md) with the session, authenticating as
 * hubclient_get_json does (a 401 is retried once: the hub refused it before writing), and
 * the hub's stored ITEM record (details and new version included) into *out (json_decref
 * it; NULL on error). timeout_ms bounds the whole call as in hubclient_get_json. Never
 * retried otherwise. Returns ERR_OK, ERR_CONFLICT (409: hiw_base_version is stale),
 * ERR_FORBIDDEN (403: not granted), ERR_NOT_FOUND (404: no such vault), ERR_BAD_INPUT (a
 * malformed id or write, or the hub's 400), ERR_TOO_LARGE (413), ERR_TIMEOUT, ERR_UPSTREAM
 * (unreachable, 5xx, or an answer that is not an ITEM object), ERR_IO (the HTTP client was
 * cancelled), ERR_NOMEM, or an error of hubclient_authenticate.
 */
enum err hubclient_item_put(struct hubclient *hc, const char *vault, const char *item,
                            const struct hubclient_item_write *w, long timeout_ms,
                            json_t **out) SESAME_WUR;

/*
 * DELETE /v1/sync/vaults/{vault}/items/{item}[?baseVersion=N] (N omitted for 0: no check)
 * with the session as hubclient_item_put. Returns ERR_OK (204: the hub gave the deletion
 * version base_version + 1), ERR_CONFLICT (409: base_version is stale), ERR_NOT_FOUND (no
 * live item), or the other errors of hubclient_item_put.
 */
enum err hubclient_item_delete(struct hubclient *hc, const char *vault, const char *item,
                               uint64_t base_version, long timeout_ms) SESAME_WUR;

#endif
