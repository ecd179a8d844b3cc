/*
 * admin.h - the admin side of the CLI: the account kit, a signed HTTP client to the hub,
 * and the client-side encryption of vaults, items and files (docs/hub-api.md). Every
 * admin command (account, vault, item, connect, activity) goes through it; nothing
 * secret is ever sent to the hub in clear.
 *
 * Where things come from:
 *   kit:        --kit FILE, else $SESAME_ACCOUNT_KIT, else
 *               $XDG_CONFIG_HOME/sesame/account-kit.json ($HOME/.config/... without it)
 *   passphrase: --passphrase-file FILE (first line), only for a protected kit
 *   hub URL:    --hub URL, else $SESAME_HUB, else the kit's hub URL
 */
#ifndef SESAME_CLI_ADMIN_H
#define SESAME_CLI_ADMIN_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "common/ids.h"
#include "http/client.h"
#include "keys/kit.h"

#define ADMIN_ERRMSG_BYTES 512

/* What admin_open needs; NULL members take the defaults above. */
struct admin_options {
    const char *ao_kit_path;
    const char *ao_passphrase_file;
    const char *ao_hub_url;
};

struct admin;

/*
 * Returns the default kit path into out (cap bytes): $SESAME_ACCOUNT_KIT, else the XDG
 * path above. ERR_OK, ERR_CONFIG (no HOME either) or ERR_TOO_LARGE.
 */
enum err admin_default_kit_path(char *out, size_t cap) SESAME_WUR;

/*
 * Reads the first line of path (a kit passphrase, 1..KIT_MAX_PASSPHRASE bytes, a final CR
 * dropped) into *out, secure memory freed with admin_passphrase_free. Returns ERR_OK,
 * ERR_IO or ERR_BAD_INPUT (empty, too long) with one line in errmsg, or ERR_NOMEM.
 */
enum err admin_read_passphrase(char **out, const char *path, char *errmsg,
                               size_t errcap) SESAME_WUR;

/* Wipes and frees a passphrase from admin_read_passphrase. NULL is fine. */
void admin_passphrase_free(char *pw);

/*
 * Loads the kit and opens a client to the hub. On failure one line in errmsg. Returns
 * ERR_OK (*out: admin_close it), ERR_CONFIG, ERR_IO, ERR_BAD_INPUT, ERR_CRYPTO, ERR_NOMEM.
 */
enum err admin_open(struct admin **out, const struct admin_options *o, char *errmsg,
                    size_t errcap) SESAME_WUR;

/* Wipes and frees everything (cached vault keys included). NULL is fine. */
void admin_close(struct admin *a);

/* Returns the loaded kit (owned by a). */
const struct kit *admin_kit(const struct admin *a);

/*
 * Returns the loaded kit for changes (owned by a; e.g. kit_signing_key_rotate), to be
 * written back with kit_save to admin_kit_path. Requests keep being signed by its admin
 * signing key.
 */
struct kit *admin_kit_edit(struct admin *a);

/* Returns the path the kit was loaded from (owned by a). */
const char *admin_kit_path(const struct admin *a);

/*
 * Sends a signed JSON request (body may be NULL) to target ("/v1/..." with an optional
 * query, already escaped) and parses the answer. On a 2xx answer returns ERR_OK with
 * *out the parsed JSON (NULL for 204; json_decref it) and *status; otherwise the error
 * that matches the HTTP status (err.h), with the hub's message (or the transport error)
 * in errmsg, prefixed "hub: ". status and out may be NULL.
 */
enum err admin_call(struct admin *a, enum http_client_method m, const char *target,
                    const json_t *body, int *status, json_t **out, char *errmsg,
                    size_t errcap) SESAME_WUR;

/*
 * As admin_call with a raw body (application/octet-stream, len bytes) and the raw answer
 * in resp (http_client_response_free it). Errors as admin_call.
 */
enum err admin_call_raw(struct admin *a, enum http_client_method m, const char *target,
                        const void *body, size_t len, struct http_client_response *resp,
                        char *errmsg, size_t errcap) SESAME_WUR;

/*
 * Returns the key of vault_id (fetched and unwrapped with the admin wrap key the first
 * time, then cached in a; owned by a) in *key. ERR_OK, ERR_NOT_FOUND, ERR_CRYPTO, ...
 */
enum err admin_vault_key(struct admin *a, const char *vault_id, const unsigned char **key,
                         char *errmsg, size_t errcap) SESAME_WUR;

/*
 * Resolves a vault given by id (either case) or by name (exact, case-sensitive; the
 * names are decrypted on the client) into id (lowercase). A name matching several vaults
 * is ERR_CONFLICT ("several vaults are named so; use the id"), none ERR_NOT_FOUND.
 */
enum err admin_vault_resolve(struct admin *a, const char *name_or_id, char id[ID_LEN + 1],
                             char *errmsg, size_t errcap) SESAME_WUR;

#endif
