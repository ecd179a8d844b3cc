/* admin.c - the admin client of the CLI: kit, signed requests to the hub, vault keys. */
#include "cli/admin.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/limits.h"
#include "crypto/crypto.h"
#include "json/objects.h"
#include "keys/adminsig.h"
#include "keys/keyjson.h"
#include "keys/vaultcrypt.h"

#define ADMIN_MAX_VAULT_KEYS 256        /* vault keys cached by one command */
#define ADMIN_MAX_JSON_BODY  (4u << 20) /* a JSON request body (HTTP_MAX_BODY_BYTES) */
#define ADMIN_KIT_SUFFIX     "/sesame/account-kit.json"

struct admin_vault_key {
    char vk_id[ID_LEN + 1];
    unsigned char *vk_key; /* secure memory, VAULTCRYPT_KEY_BYTES */
};

struct admin {
    struct kit *ad_kit;
    char ad_kit_path[CONFIG_MAX_PATH];
    struct http_client *ad_http;
    struct admin_vault_key ad_keys[ADMIN_MAX_VAULT_KEYS];
    size_t ad_nkeys;
};

/* Copies s into out (cap bytes) or fails with ERR_TOO_LARGE. */
static enum err admin_copy(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s%s", a, b ? b : "");

    if (n < 0 || (size_t)n >= cap)
        return ERR_TOO_LARGE;
    return ERR_OK;
}

/* Returns the default kit path; see admin.h. */
enum err admin_default_kit_path(char *out, size_t cap)
{
    const char *env = getenv("SESAME_ACCOUNT_KIT");
    const char *home;

    if (env && *env)
        return admin_copy(out, cap, env, NULL);
    env = getenv("XDG_CONFIG_HOME");
    if (env && env[0] == '/')
        return admin_copy(out, cap, env, ADMIN_KIT_SUFFIX);
    home = getenv("HOME");
    if (!home || home[0] != '/')
        return ERR_CONFIG;
    return admin_copy(out, cap, home, "/.config" ADMIN_KIT_SUFFIX);
}

/* Reads a passphrase file; see admin.h. */
enum err admin_read_passphrase(char **out, const char *path, char *errmsg, size_t errcap)
{
    FILE *f = NULL;
    char *pw = NULL;
    size_t n = 0;
    int c;
    enum err rc;

    *out = NULL;
    pw = secmem_alloc(KIT_MAX_PASSPHRASE + 1);
    if (!pw)
        return ERR_NOMEM;
    f = fopen(path, "rb");
    if (!f) {
        rc = err_msgf(ERR_IO, errmsg, errcap, "cannot read the passphrase file %s", path);
        goto out;
    }
    while ((c = fgetc(f)) != EOF && c != '\n') {
        if (n == KIT_MAX_PASSPHRASE) {
            rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                          "the passphrase in %s is longer than %u bytes", path,
                          (unsigned)KIT_MAX_PASSPHRASE);
            goto out;
        }
        pw[n++] = (char)c;
    }
    if (n > 0 && pw[n - 1] == '\r')
        n--;
    pw[n] = '\0';
    if (n == 0) {
        rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap, "the passphrase file %s is empty", path);
        goto out;
    }
    *out = pw;
    pw = NULL;
    rc = ERR_OK;
out:
    if (f)
        fclose(f);
    if (pw) {
        secmem_wipe(pw, KIT_MAX_PASSPHRASE + 1);
        secmem_free(pw);
    }
    return rc;
}

/* Wipes and frees a passphrase; see admin.h. */
void admin_passphrase_free(char *pw)
{
    if (!pw)
        return;
    secmem_wipe(pw, KIT_MAX_PASSPHRASE + 1);
    secmem_free(pw);
}

/* Opens the kit and the hub client; see admin.h. */
enum err admin_open(struct admin **out, const struct admin_options *o, char *errmsg, size_t errcap)
{
    struct admin *a = NULL;
    struct http_client_config hc;
    char path[CONFIG_MAX_PATH];
    char *pw = NULL;
    char first[KIT_MAX_URL_BYTES + 1];
    const char *hub, *ca;
    enum err rc;

    *out = NULL;
    if (o && o->ao_kit_path) {
        rc = admin_copy(path, sizeof(path), o->ao_kit_path, NULL);
    } else {
        rc = admin_default_kit_path(path, sizeof(path));
        if (rc == ERR_CONFIG)
            return err_msgf(rc, errmsg, errcap,
                            "no account kit: give --kit FILE or set SESAME_ACCOUNT_KIT");
    }
    if (rc != ERR_OK)
        return err_msgf(rc, errmsg, errcap, "the account kit path is too long");
    if (o && o->ao_passphrase_file) {
        rc = admin_read_passphrase(&pw, o->ao_passphrase_file, errmsg, errcap);
        if (rc != ERR_OK)
            return rc;
    }
    a = mem_calloc(1, sizeof(*a));
    if (!a) {
        rc = err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
        goto out;
    }
    memcpy(a->ad_kit_path, path, sizeof(path));
    rc = kit_load(&a->ad_kit, path, pw, errmsg, errcap);
    if (rc != ERR_OK)
        goto out;
    hub = o && o->ao_hub_url ? o->ao_hub_url : getenv("SESAME_HUB");
    if (hub && hub == getenv("SESAME_HUB") && strchr(hub, ',')) {
        /* SESAME_HUB may list several hub replicas (configuration.md): the CLI uses the
           first */
        size_t n = (size_t)(strchr(hub, ',') - hub);

        if (n < sizeof(first)) {
            memcpy(first, hub, n);
            first[n] = '\0';
            hub = first;
        } else {
            hub = "";
        }
    }
    if (!hub || !*hub)
        hub = kit_hub_url(a->ad_kit);
    if (!kit_hub_url_is_valid(hub)) {
        rc = err_msgf(ERR_CONFIG, errmsg, errcap,
                      "the hub URL is not valid: give --hub http(s)://HOST:PORT");
        goto out;
    }
    memset(&hc, 0, sizeof(hc));
    hc.hcc_base_url = hub;
    hc.hcc_max_body = VAULTCRYPT_MAX_FILE_BYTES + (1u << 20);
    ca = getenv("SESAME_HUB_CA_FILE"); /* an https hub whose CA the system does not know */
    hc.hcc_ca_file = ca && *ca ? ca : NULL;
    rc = http_client_new(&a->ad_http, &hc, errmsg, errcap);
    if (rc != ERR_OK)
        goto out;
    *out = a;
    a = NULL;
out:
    admin_passphrase_free(pw);
    admin_close(a);
    return rc;
}

/* Frees a; see admin.h. */
void admin_close(struct admin *a)
{
    size_t i;

    if (!a)
        return;
    for (i = 0; i < a->ad_nkeys; i++)
        vaultcrypt_key_free(a->ad_keys[i].vk_key);
    http_client_free(a->ad_http);
    kit_free(a->ad_kit);
    mem_free(a);
}

/* Returns the kit; see admin.h. */
const struct kit *admin_kit(const struct admin *a)
{
    return a->ad_kit;
}

/* Returns the kit for changes; see admin.h. */
struct kit *admin_kit_edit(struct admin *a)
{
    return a->ad_kit;
}

/* Returns the kit's path; see admin.h. */
const char *admin_kit_path(const struct admin *a)
{
    return a->ad_kit_path;
}

/* Signs and sends one request; the answer (any status) lands in resp. */
static enum err admin_send(struct admin *a, enum http_client_method m, const char *target,
                           const void *body, size_t len, const char *ctype,
                           struct http_client_response *resp, char *errmsg, size_t errcap)
{
    struct http_client_request req;
    struct http_client_header hdr[2];
    struct buf auth;
    const struct jwk *key = kit_admin_signing_key(a->ad_kit);
    enum err rc;

    buf_init(&auth, ADMINSIG_MAX_HEADER);
    rc = adminsig_sign(&auth, key->jk_ec, kit_account_id(a->ad_kit), http_client_method_name(m),
                       target, body, len, (int64_t)time(NULL));
    if (rc != ERR_OK) {
        err_msgf(rc, errmsg, errcap, "cannot sign the request to the hub");
        goto out;
    }
    memset(&req, 0, sizeof(req));
    hdr[0].hh_name = "Authorization";
    hdr[0].hh_value = buf_str(&auth);
    req.hq_method = m;
    req.hq_path = target;
    req.hq_headers = hdr;
    req.hq_nheaders = 1;
    if (len > 0) {
        hdr[1].hh_name = "Content-Type";
        hdr[1].hh_value = ctype;
        req.hq_nheaders = 2;
        req.hq_body = body;
        req.hq_body_len = len;
    }
    rc = http_client_request(a->ad_http, &req, resp);
    if (rc != ERR_OK)
        err_msgf(rc, errmsg, errcap, "hub: %s", resp->hr_errmsg);
out:
    buf_free(&auth);
    return rc;
}

/* Maps a non-2xx answer to its error with the hub's message. */
static enum err admin_status(const struct http_client_response *resp, char *errmsg, size_t errcap)
{
    char msg[HTTP_CLIENT_ERRMSG_BYTES];
    enum err rc = http_client_response_error(resp, msg, sizeof(msg));

    if (rc != ERR_OK)
        err_msgf(rc, errmsg, errcap, "hub: %s", msg);
    return rc;
}

/* Sends a signed JSON request; see admin.h. */
enum err admin_call(struct admin *a, enum http_client_method m, const char *target,
                    const json_t *body, int *status, json_t **out, char *errmsg, size_t errcap)
{
    struct http_client_response resp;
    json_error_t jerr;
    char *text = NULL;
    size_t len = 0;
    enum err rc;

    if (out)
        *out = NULL;
    if (status)
        *status = 0;
    memset(&resp, 0, sizeof(resp));
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text)
            return err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
        len = strlen(text);
        if (len > ADMIN_MAX_JSON_BODY) {
            rc = err_msgf(ERR_TOO_LARGE, errmsg, errcap, "the request is too large");
            goto out;
        }
    }
    rc = admin_send(a, m, target, text, len, "application/json", &resp, errmsg, errcap);
    if (rc != ERR_OK)
        goto out;
    if (status)
        *status = resp.hr_status;
    rc = admin_status(&resp, errmsg, errcap);
    if (rc != ERR_OK || !out || resp.hr_status == 204 || resp.hr_body.b_len == 0)
        goto out;
    *out = json_loadb(resp.hr_body.b_data, resp.hr_body.b_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out)
        rc = err_msgf(ERR_UPSTREAM, errmsg, errcap, "hub: the answer is not valid JSON");
out:
    keyjson_text_drop(text);
    http_client_response_free(&resp);
    return rc;
}

/* Sends a signed raw request; see admin.h. */
enum err admin_call_raw(struct admin *a, enum http_client_method m, const char *target,
                        const void *body, size_t len, struct http_client_response *resp,
                        char *errmsg, size_t errcap)
{
    enum err rc;

    memset(resp, 0, sizeof(*resp));
    rc = admin_send(a, m, target, body, len, "application/octet-stream", resp, errmsg, errcap);
    if (rc != ERR_OK)
        return rc;
    return admin_status(resp, errmsg, errcap);
}

/* Decodes the base64url member name of obj into a fresh heap buffer. */
static enum err admin_b64_member(const json_t *obj, const char *name, unsigned char **out,
                                 size_t *len)
{
    const char *s = json_string_value(json_object_get(obj, name));
    size_t slen, cap;
    enum err rc;

    *out = NULL;
    *len = 0;
    if (!s)
        return ERR_UPSTREAM;
    slen = strlen(s);
    cap = codec_b64_decoded_max(slen) + 1;
    *out = mem_alloc(cap);
    if (!*out)
        return ERR_NOMEM;
    rc = codec_b64_decode(*out, cap, len, s, slen, CODEC_B64_URL);
    if (rc != ERR_OK) {
        mem_free(*out);
        *out = NULL;
        return ERR_UPSTREAM;
    }
    return ERR_OK;
}

/* Lowercases an id of either case into out; returns 0 if it is not an id. */
static int admin_id_lower(char out[ID_LEN + 1], const char *s)
{
    size_t i;

    if (strlen(s) != ID_LEN)
        return 0;
    for (i = 0; i < ID_LEN; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[ID_LEN] = '\0';
    return id_is_valid(out);
}

/* Unwraps the keyAdmin of a VAULT record and caches it. */
static enum err admin_vault_key_cache(struct admin *a, const json_t *vault,
                                      const unsigned char **key)
{
    struct admin_vault_key *slot;
    unsigned char *wrapped = NULL, *k = NULL;
    size_t wlen, klen = 0;
    char id[ID_LEN + 1];
    const char *vid = json_string_value(json_object_get(vault, "id"));
    enum err rc;

    if (!vid || !admin_id_lower(id, vid))
        return ERR_UPSTREAM;
    if (a->ad_nkeys == ADMIN_MAX_VAULT_KEYS)
        return ERR_TOO_LARGE;
    rc = admin_b64_member(vault, "keyAdmin", &wrapped, &wlen);
    if (rc != ERR_OK)
        return rc;
    rc = vaultcrypt_unwrap(&k, &klen, wrapped, wlen, kit_admin_wrap_key(a->ad_kit));
    mem_free(wrapped);
    if (rc != ERR_OK)
        return ERR_CRYPTO;
    if (klen != VAULTCRYPT_KEY_BYTES) {
        vaultcrypt_key_free(k);
        return ERR_CRYPTO;
    }
    slot = &a->ad_keys[a->ad_nkeys++];
    memcpy(slot->vk_id, id, sizeof(id));
    slot->vk_key = k;
    *key = k;
    return ERR_OK;
}

/* Returns the cached key of a vault, or NULL. */
static const unsigned char *admin_vault_key_cached(const struct admin *a, const char *id)
{
    size_t i;

    for (i = 0; i < a->ad_nkeys; i++)
        if (strcmp(a->ad_keys[i].vk_id, id) == 0)
            return a->ad_keys[i].vk_key;
    return NULL;
}

/* Returns a vault's key; see admin.h. */
enum err admin_vault_key(struct admin *a, const char *vault_id, const unsigned char **key,
                         char *errmsg, size_t errcap)
{
    char id[ID_LEN + 1], target[64];
    json_t *vault = NULL;
    enum err rc;

    *key = NULL;
    if (!admin_id_lower(id, vault_id))
        return err_msgf(ERR_BAD_ID, errmsg, errcap, "not a vault id");
    *key = admin_vault_key_cached(a, id);
    if (*key)
        return ERR_OK;
    snprintf(target, sizeof(target), "/v1/vaults/%s", id);
    rc = admin_call(a, HTTP_CLIENT_GET, target, NULL, NULL, &vault, errmsg, errcap);
    if (rc != ERR_OK)
        return rc;
    rc = admin_vault_key_cache(a, vault, key);
    if (rc != ERR_OK)
        err_msgf(rc, errmsg, errcap, "cannot open the key of vault %s with this account kit", id);
    json_decref(vault);
    return rc;
}

/* Resolves a vault by id or name; see admin.h. */
enum err admin_vault_resolve(struct admin *a, const char *name_or_id, char id[ID_LEN + 1],
                             char *errmsg, size_t errcap)
{
    json_t *vaults = NULL, *v, *attrs = NULL;
    const unsigned char *key;
    unsigned char *ct = NULL;
    size_t i, ctlen, found = 0;
    char cand[ID_LEN + 1];
    const char *name;
    enum err rc;

    id[0] = '\0';
    rc = admin_call(a, HTTP_CLIENT_GET, "/v1/vaults", NULL, NULL, &vaults, errmsg, errcap);
    if (rc != ERR_OK)
        return rc;
    if (!json_is_array(vaults)) {
        rc = err_msgf(ERR_UPSTREAM, errmsg, errcap, "hub: the vault list is not an array");
        goto out;
    }
    if (admin_id_lower(cand, name_or_id)) {
        json_array_foreach(vaults, i, v)
        {
            const char *vid = json_string_value(json_object_get(v, "id"));
            if (vid && strcmp(vid, cand) == 0) {
                memcpy(id, cand, sizeof(cand));
                rc = ERR_OK;
                goto out;
            }
        }
    }
    json_array_foreach(vaults, i, v)
    {
        const char *vid = json_string_value(json_object_get(v, "id"));
        char lid[ID_LEN + 1];

        if (!vid || !admin_id_lower(lid, vid))
            continue;
        key = admin_vault_key_cached(a, lid);
        if (!key && admin_vault_key_cache(a, v, &key) != ERR_OK)
            continue;
        if (admin_b64_member(v, "attrs", &ct, &ctlen) != ERR_OK)
            continue;
        rc = vaultcrypt_attrs_open(&attrs, key, lid, ct, ctlen);
        mem_free(ct);
        ct = NULL;
        if (rc != ERR_OK)
            continue;
        name = json_string_value(json_object_get(attrs, "name"));
        if (name && strcmp(name, name_or_id) == 0) {
            if (found++ == 0)
                memcpy(id, lid, sizeof(lid));
        }
        json_decref(attrs);
        attrs = NULL;
    }
    if (found == 1) {
        rc = ERR_OK;
    } else if (found == 0) {
        id[0] = '\0';
        rc = err_msgf(ERR_NOT_FOUND, errmsg, errcap, "no vault has that id or name");
    } else {
        id[0] = '\0';
        rc = err_msgf(ERR_CONFLICT, errmsg, errcap, "%zu vaults are named so; use the vault id",
                      found);
    }
out:
    json_decref(vaults);
    return rc;
}
