/*
 * cli_connect.c - `sesame connect server|vault|token ...`: Connect servers, their vault
 * grants and their tokens, through the hub (docs/hub-api.md) with the account kit.
 *
 * Everything secret is made here and leaves only sealed: a new server's keys go into its
 * credentials file (encrypted under its unlock secret), the unlock secret goes to the hub
 * sealed to the admin wrap key (unlockAdmin) and into the tokens, vault keys go to the hub
 * sealed to the server's wrap key. The hub learns a token's jti and SHA-256, never the
 * token: a token is printed only once the hub has registered it.
 */
#include "cli/cli_connect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/admin.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "common/alloc.h"
#include "common/codec.h"
#include "common/limits.h"
#include "crypto/crypto.h"
#include "json/timefmt.h"
#include "keys/credentials.h"
#include "keys/keyjson.h"
#include "keys/vaultcrypt.h"

/* ---- pure helpers (cli_connect.h) ---------------------------------------------------- */

/* Checks a server or token name; see cli_connect.h. */
enum err connect_name_check(const char *name, const char *what, char *errmsg, size_t errcap)
{
    size_t i, n;

    n = name ? strnlen(name, CONNECT_NAME_MAX_BYTES + 1) : 0;
    if (n == 0)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "the %s name is empty", what);
    if (n > CONNECT_NAME_MAX_BYTES)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "the %s name is longer than %d bytes", what,
                        CONNECT_NAME_MAX_BYTES);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                            "the %s name contains a control character", what);
    }
    return ERR_OK;
}

/* Returns the short name of access bits; see cli_connect.h. */
const char *connect_access_name(unsigned access)
{
    switch (access) {
    case TOKEN_ACCESS_READ:
        return "r";
    case TOKEN_ACCESS_WRITE:
        return "w";
    case TOKEN_ACCESS_ALL:
        return "rw";
    default:
        return "-";
    }
}

/* Copies s into out lowercased if it is an id of either case; returns 1 if so. */
static int connect_id_lower(char out[ID_LEN + 1], const char *s)
{
    size_t i;

    if (!s || strnlen(s, ID_LEN + 1) != ID_LEN)
        return 0;
    for (i = 0; i < ID_LEN; i++)
        out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    out[ID_LEN] = '\0';
    return id_is_valid(out);
}

/* Finds a server by id or name in the hub's list; see cli_connect.h. */
enum err connect_server_find(const json_t *servers, const char *id_or_name, const json_t **found,
                             char *errmsg, size_t errcap)
{
    char id[ID_LEN + 1];
    const json_t *rec, *hit = NULL;
    size_t i, nhits = 0;

    *found = NULL;
    if (!json_is_array(servers) || !id_or_name)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "hub: the server list is not an array");
    if (connect_id_lower(id, id_or_name)) {
        json_array_foreach(servers, i, rec)
        {
            const char *rid = json_string_value(json_object_get(rec, "id"));
            if (rid && strcmp(rid, id) == 0) {
                *found = rec;
                return ERR_OK;
            }
        }
    }
    json_array_foreach(servers, i, rec)
    {
        const char *name = json_string_value(json_object_get(rec, "name"));
        if (name && strcmp(name, id_or_name) == 0) {
            hit = rec;
            nhits++;
        }
    }
    if (nhits > 1)
        return err_msgf(ERR_CONFLICT, errmsg, errcap, "several servers are named so; use the id");
    if (nhits == 0)
        return err_msgf(ERR_NOT_FOUND, errmsg, errcap, "no server has that id or name");
    *found = hit;
    return ERR_OK;
}

/* Builds a new server's credentials file from the kit; see cli_connect.h. */
enum err connect_credentials_build(struct buf *out, const struct kit *k, const char *server_id,
                                   const struct jwk *sign, const struct jwk *wrap,
                                   const unsigned char *unlock, const char *hub_url,
                                   const char *fingerprint)
{
    return connect_credentials_build_urls(out, k, server_id, sign, wrap, unlock, hub_url, NULL, 0,
                                          fingerprint);
}

/* Builds a new server's credentials file with further hub URLs; see cli_connect.h. */
enum err connect_credentials_build_urls(struct buf *out, const struct kit *k, const char *server_id,
                                        const struct jwk *sign, const struct jwk *wrap,
                                        const unsigned char *unlock, const char *hub_url,
                                        const char *const *more, size_t nmore,
                                        const char *fingerprint)
{
    struct jwk pub[CREDENTIALS_MAX_SIGNING_KEYS];
    struct credentials_params p;
    size_t i, n = 0, count;
    enum err rc = ERR_BAD_INPUT;

    memset(pub, 0, sizeof(pub));
    count = k ? kit_signing_key_count(k) : 0;
    if (count == 0 || count > CREDENTIALS_MAX_SIGNING_KEYS)
        goto out;
    /* Public copies: only the public halves may reach the file. */
    for (n = 0; n < count; n++) {
        const struct jwk *key = kit_signing_key(k, n, NULL);
        json_t *j = key ? jwk_to_json(key, 0) : NULL;
        if (!j) {
            rc = key ? ERR_NOMEM : ERR_BAD_INPUT;
            goto out;
        }
        rc = jwk_from_json(&pub[n], j);
        json_decref(j);
        if (rc != ERR_OK)
            goto out;
    }
    memset(&p, 0, sizeof(p));
    p.cp_server_id = server_id;
    p.cp_account_id = kit_account_id(k);
    p.cp_server_sign = sign;
    p.cp_server_wrap = wrap;
    p.cp_unlock = unlock;
    p.cp_unlock_len = CREDENTIALS_UNLOCK_BYTES;
    p.cp_hub_url = hub_url;
    p.cp_hub_urls = more;
    p.cp_hub_url_count = nmore;
    p.cp_tls_fingerprint = fingerprint;
    p.cp_signing_keys = pub;
    p.cp_nsigning = count;
    rc = credentials_create(out, &p);
out:
    for (i = 0; i < n && i < CREDENTIALS_MAX_SIGNING_KEYS; i++)
        jwk_clear(&pub[i]);
    return rc;
}

/* Mints a token for a server with the kit's current signing key; see cli_connect.h. */
enum err connect_token_build(struct buf *out, char jti[ID_LEN + 1], const struct kit *k,
                             const char *server_id, const unsigned char *unlock,
                             const struct token_vault *vaults, size_t nvaults, int64_t iat,
                             int64_t lifetime)
{
    struct token_claims c;
    const struct jwk *key;
    size_t i;
    enum err rc = ERR_BAD_INPUT;

    memset(&c, 0, sizeof(c));
    jti[0] = '\0';
    key = k ? kit_signing_key_current(k) : NULL;
    if (!key || key->jk_kind != JWK_EC_P256 || !key->jk_ec || !server_id ||
        strnlen(server_id, ID_LEN + 1) != ID_LEN || nvaults > TOKEN_MAX_VAULTS || lifetime < 0 ||
        (lifetime > 0 && iat > INT64_MAX - lifetime))
        goto out;
    for (i = 0; i < ID_LEN; i++)
        c.tc_server[i] = (server_id[i] >= 'a' && server_id[i] <= 'z')
                             ? (char)(server_id[i] - 'a' + 'A')
                             : server_id[i];
    memcpy(c.tc_account, kit_account_id(k), ID_LEN);
    if ((rc = id_new(c.tc_jti)) != ERR_OK)
        goto out;
    c.tc_iat = iat;
    c.tc_exp = lifetime > 0 ? iat + lifetime : 0;
    for (i = 0; i < nvaults; i++)
        c.tc_vaults[i] = vaults[i];
    c.tc_nvaults = nvaults;
    if ((rc = token_claims_set_secret(&c, unlock, TOKEN_UNLOCK_BYTES)) != ERR_OK)
        goto out;
    rc = token_mint(out, key->jk_ec, key->jk_kid, &c);
    if (rc == ERR_OK)
        memcpy(jti, c.tc_jti, ID_LEN + 1);
out:
    token_claims_clear(&c);
    return rc;
}

/* Formats a time for people; see cli_connect.h. */
const char *connect_time_text(char out[32], int64_t t)
{
    char text[TIMEFMT_RFC3339_LEN + 1];

    if (t == 0 || timefmt_rfc3339(text, t) != ERR_OK) {
        out[0] = '-';
        out[1] = '\0';
    } else {
        memcpy(out, text, sizeof(text));
    }
    return out;
}

/* Formats the resource of an activity entry; see cli_connect.h. */
const char *connect_activity_resource(char *out, size_t cap, const json_t *entry)
{
    const json_t *res = json_object_get(entry, "resource");
    const char *type = json_string_value(json_object_get(res, "type"));
    const char *vault = json_string_value(json_object_get(json_object_get(res, "vault"), "id"));
    const char *item = json_string_value(json_object_get(json_object_get(res, "item"), "id"));
    const json_t *ver = json_object_get(res, "itemVersion");
    int n;

    if (cap == 0)
        return out;
    if (!type)
        n = snprintf(out, cap, "-");
    else if (item && json_is_integer(ver) && json_integer_value(ver) > 0)
        n = snprintf(out, cap, "%s %s/%s@v%lld", type, vault ? vault : "-", item,
                     (long long)json_integer_value(ver));
    else if (item)
        n = snprintf(out, cap, "%s %s/%s", type, vault ? vault : "-", item);
    else
        n = snprintf(out, cap, "%s %s", type, vault ? vault : "-");
    if (n < 0)
        out[0] = '\0';
    return out;
}

/* Parses a non-negative decimal option value; see cli_connect.h. */
enum err connect_uint_parse(const char *s, long long max, long long *out, const char *option,
                            char *errmsg, size_t errcap)
{
    char *end = NULL;
    long long v;

    *out = 0;
    if (!s || s[0] < '0' || s[0] > '9')
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s needs a non-negative number", option);
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || !end || *end != '\0' || v < 0 || v > max)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "%s must be a number from 0 to %lld", option,
                        max);
    *out = v;
    return ERR_OK;
}

/* ---- command plumbing ---------------------------------------------------------------- */

/*
 * Fetches the servers (*list, json_decref it) and finds the one named by id_or_name
 * (*rec points into *list). Returns CLI_EXIT_OK or CLI_EXIT_FAIL (printed).
 */
static int cc_server_resolve(struct cli_ctx *x, const char *id_or_name, json_t **list,
                             const json_t **rec)
{
    *rec = NULL;
    if (admin_call(x->cx_admin, HTTP_CLIENT_GET, "/v1/servers", NULL, NULL, list, x->cx_err,
                   sizeof(x->cx_err)) != ERR_OK)
        return cli_fail("cannot list the servers: %s", x->cx_err);
    if (connect_server_find(*list, id_or_name, rec, x->cx_err, sizeof(x->cx_err)) != ERR_OK)
        return cli_fail("%s", x->cx_err);
    if (!id_is_valid(cli_str(*rec, "id")))
        return cli_fail("hub: a server record has no valid id");
    return CLI_EXIT_OK;
}

/*
 * Wraps the key of vault_id to the server record's wrapJwk and PUTs the grant. Returns
 * ERR_OK or the error, with x->cx_err saying why.
 */
static enum err cc_grant(struct cli_ctx *x, const json_t *server, const char *vault_id)
{
    const unsigned char *key;
    struct jwk wrap;
    struct buf wrapped, target;
    json_t *body = NULL;
    enum err rc;

    memset(&wrap, 0, sizeof(wrap));
    buf_init(&wrapped, VAULTCRYPT_MAX_WRAPPED);
    buf_init(&target, HTTP_MAX_URL_BYTES);
    rc = admin_vault_key(x->cx_admin, vault_id, &key, x->cx_err, sizeof(x->cx_err));
    if (rc != ERR_OK)
        goto out;
    rc = jwk_from_json(&wrap, json_object_get(server, "wrapJwk"));
    if (rc != ERR_OK || wrap.jk_kind != JWK_OKP_X25519) {
        rc = err_msgf(ERR_BAD_INPUT, x->cx_err, sizeof(x->cx_err),
                      "hub: the server's wrapJwk is not an X25519 public key");
        goto out;
    }
    if ((rc = vaultcrypt_wrap(&wrapped, key, VAULTCRYPT_KEY_BYTES, &wrap)) != ERR_OK) {
        err_msgf(rc, x->cx_err, sizeof(x->cx_err), "cannot wrap the vault key (%s)", err_name(rc));
        goto out;
    }
    body = json_object();
    if (!body || (rc = cli_set_b64(body, "keyWrapped", &wrapped)) != ERR_OK ||
        (rc = cli_target(&target, "/v1/servers/", cli_str(server, "id"), "/grants/", vault_id)) !=
            ERR_OK) {
        rc = err_msgf(ERR_NOMEM, x->cx_err, sizeof(x->cx_err), "out of memory");
        goto out;
    }
    rc = admin_call(x->cx_admin, HTTP_CLIENT_PUT, buf_str(&target), body, NULL, NULL, x->cx_err,
                    sizeof(x->cx_err));
out:
    json_decref(body);
    buf_free(&target);
    buf_free(&wrapped);
    jwk_clear(&wrap);
    return rc;
}

/* ---- connect server create|list|delete ----------------------------------------------- */

/* Adds the vaults of a comma-separated --vaults list to specs. Returns 0 or -1 (printed). */
static int cc_split_vaults(const char *list, char specs[][VAULT_MAX_NAME_BYTES + 1], size_t *n)
{
    const char *p = list, *comma;

    for (;;) {
        size_t len;

        comma = strchr(p, ',');
        len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0) {
            cli_usage("--vaults has an empty vault name");
            return -1;
        }
        if (len > VAULT_MAX_NAME_BYTES) {
            cli_usage("--vaults has a vault name longer than %d bytes", VAULT_MAX_NAME_BYTES);
            return -1;
        }
        if (*n == CLI_MAX_MANY) {
            cli_usage("at most %d vaults can be granted at once", CLI_MAX_MANY);
            return -1;
        }
        memcpy(specs[*n], p, len);
        specs[(*n)++][len] = '\0';
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

/*
 * Resolves the vaults given as names or ids into ids (distinct) and fetches each key now,
 * so that nothing is created on the hub when one of them cannot be granted. Returns
 * CLI_EXIT_OK or CLI_EXIT_FAIL (printed).
 */
static int cc_resolve_vaults(struct cli_ctx *x, char specs[][VAULT_MAX_NAME_BYTES + 1], size_t n,
                             char ids[][ID_LEN + 1])
{
    const unsigned char *key;
    size_t i, j;

    for (i = 0; i < n; i++) {
        if (admin_vault_resolve(x->cx_admin, specs[i], ids[i], x->cx_err, sizeof(x->cx_err)) !=
            ERR_OK)
            return cli_fail("vault %zu of the list: %s", i + 1, x->cx_err);
        for (j = 0; j < i; j++) {
            if (strcmp(ids[i], ids[j]) == 0)
                return cli_usage("vault %zu of the list is vault %zu again", i + 1, j + 1);
        }
        if (admin_vault_key(x->cx_admin, ids[i], &key, x->cx_err, sizeof(x->cx_err)) != ERR_OK)
            return cli_fail("cannot open the key of vault %zu of the list: %s", i + 1, x->cx_err);
    }
    return CLI_EXIT_OK;
}

/*
 * Fills urls (*n of them, at most 1 + CREDENTIALS_MAX_HUB_URLS) with the hub URLs to write
 * into a credentials file (see cc_server_create): every --server-hub (given, ngiven) in
 * order, else --hub, else $SESAME_HUB (one URL, or several separated by commas: split into
 * envbuf, envcap bytes), else the kit's. Returns 0, or -1 when $SESAME_HUB lists too many.
 */
static int cc_server_hub_urls(const struct cli_ctx *x, const char *const *given, size_t ngiven,
                              const char **urls, size_t *n, char *envbuf, size_t envcap)
{
    const char *env = getenv("SESAME_HUB");
    char *p, *comma;
    size_t i;

    *n = 0;
    if (ngiven) {
        for (i = 0; i < ngiven; i++)
            urls[(*n)++] = given[i];
    } else if (x->cx_ao.ao_hub_url) {
        urls[(*n)++] = x->cx_ao.ao_hub_url;
    } else if (env && *env && strchr(env, ',') && strlen(env) < envcap) {
        memcpy(envbuf, env, strlen(env) + 1);
        for (p = envbuf;; p = comma + 1) {
            if (*n == 1 + CREDENTIALS_MAX_HUB_URLS)
                return -1;
            urls[(*n)++] = p;
            comma = strchr(p, ',');
            if (!comma)
                break;
            *comma = '\0';
        }
    } else if (env && *env) {
        urls[(*n)++] = env;
    } else {
        urls[(*n)++] = kit_hub_url(admin_kit(x->cx_admin));
    }
    return 0;
}

/*
 * Checks hub URLs urls[0..n) for a credentials file: valid, distinct, https:// when pinned
 * (fingerprint not NULL). Returns NULL, or what is wrong (a static message).
 */
static const char *cc_hub_urls_problem(const char *const *urls, size_t n, const char *fingerprint)
{
    size_t i, j;

    if (n > 1 + CREDENTIALS_MAX_HUB_URLS)
        return "at most 9 hub URLs (the first and 8 replicas)";
    for (i = 0; i < n; i++) {
        if (!kit_hub_url_is_valid(urls[i]))
            return "the hub URL is not an http:// or https:// URL";
        if (fingerprint && strncasecmp(urls[i], "https://", 8) != 0)
            return "--tls-fingerprint pins the hub's certificate: every hub URL must be https://";
        for (j = 0; j < i; j++) {
            if (strcmp(urls[i], urls[j]) == 0)
                return "a hub URL is given twice";
        }
    }
    return NULL;
}

/*
 * Copies the fingerprint s into out (CREDENTIALS_FINGERPRINT_LEN + 1 bytes) without
 * colons: 64 hex digits of either case, or openssl's form (32 pairs separated by ':').
 * Returns 1 when s is one of those, else 0.
 */
static int cc_fingerprint_norm(const char *s, char *out)
{
    size_t i, n = 0, len = strnlen(s, 3 * CREDENTIALS_FINGERPRINT_LEN);
    int colons = len == CREDENTIALS_FINGERPRINT_LEN / 2 * 3 - 1;

    if (len != CREDENTIALS_FINGERPRINT_LEN && !colons)
        return 0;
    for (i = 0; i < len; i++) {
        if (colons && i % 3 == 2) {
            if (s[i] != ':')
                return 0;
        } else if (codec_hex_digit((unsigned char)s[i]) < 0) {
            return 0;
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
    return n == CREDENTIALS_FINGERPRINT_LEN;
}

/* Prints what server create made (human or JSON). */
static int cc_server_created(const struct cli_ctx *x, const char *id, const char *name,
                             const char *path, const json_t *names, char ids[][ID_LEN + 1],
                             size_t ngranted)
{
    json_t *o, *vaults;
    size_t i;
    int ret;

    if (!x->cx_json) {
        fputs("Created server ", stdout);
        cli_put_safe(name);
        printf(" (%s)\nCredentials file: ", id);
        cli_put_safe(path);
        fputs(" (mode 0600: give it only to this Connect server)\nVaults granted: ", stdout);
        for (i = 0; i < ngranted; i++) {
            if (i)
                fputs(", ", stdout);
            cli_put_safe(cli_vault_label(names, ids[i]));
            printf(" (%s)", ids[i]);
        }
        fputs(ngranted ? "\n" : "none\n", stdout);
        return CLI_EXIT_OK;
    }
    vaults = json_array();
    o = json_pack("{s:s, s:s, s:s, s:o}", "id", id, "name", name, "credentialsFile", path, "vaults",
                  vaults);
    for (i = 0; o && vaults && i < ngranted; i++)
        json_array_append_new(
            vaults, json_pack("{s:s, s:s}", "id", ids[i], "name", cli_vault_label(names, ids[i])));
    ret = cli_print_json(o);
    json_decref(o);
    return ret;
}

static const char cc_server_create_usage[] =
    "sesame connect server create NAME [--vaults A,B] [--vault V]... [--out FILE]\n"
    "                                  [--server-hub URL]... [--tls-fingerprint HEX]";

/*
 * `connect server create NAME`: new server keys and unlock secret, the credentials file
 * (written before the hub learns of the server, refusing to overwrite), the server on the
 * hub with its unlock secret sealed to the admin, then one grant per vault.
 */
static int cc_server_create(struct cli_ctx *x, int argc, char **argv)
{
    static char specs[CLI_MAX_MANY][VAULT_MAX_NAME_BYTES + 1];
    char ids[CLI_MAX_MANY][ID_LEN + 1];
    const char *lists[CLI_MAX_MANY], *singles[CLI_MAX_MANY], *pos[CLI_MAX_POS];
    const char *out_path = NULL, *fingerprint = NULL, *name, *problem;
    const char *server_hubs[CLI_MAX_MANY], *hub_urls[1 + CREDENTIALS_MAX_HUB_URLS];
    char fp[CREDENTIALS_FINGERPRINT_LEN + 1], envbuf[CONFIG_MAX_VALUE_BYTES + 1];
    size_t nlists = 0, nsingles = 0, npos, nspecs = 0, ngranted = 0, i;
    size_t nserver_hubs = 0, nhub_urls = 0;
    const struct cli_opt opts[] = {
        {"--vaults", NULL, lists, &nlists},
        {"--vault", NULL, singles, &nsingles},
        {"--out", &out_path, NULL, NULL},
        {"--server-hub", NULL, server_hubs, &nserver_hubs},
        {"--tls-fingerprint", &fingerprint, NULL, NULL},
    };
    char server_id[ID_LEN + 1];
    struct jwk sign, wrap;
    unsigned char *unlock = NULL;
    struct buf text, sealed;
    json_t *body = NULL, *created = NULL, *names = NULL;
    int ret;
    enum err rc;

    memset(&sign, 0, sizeof(sign));
    memset(&wrap, 0, sizeof(wrap));
    buf_init(&text, CONNECT_CREDENTIALS_MAX);
    buf_init(&sealed, VAULTCRYPT_MAX_WRAPPED);
    ret = cli_parse(x, argc, argv, 4, opts, sizeof(opts) / sizeof(opts[0]), pos, 1, &npos,
                    "connect server create");
    if (ret != CLI_EXIT_OK)
        goto out;
    ret = CLI_EXIT_USAGE;
    if (npos != 1) {
        cli_usage("usage: %s", cc_server_create_usage);
        goto out;
    }
    name = pos[0];
    if (connect_name_check(name, "server", x->cx_err, sizeof(x->cx_err)) != ERR_OK) {
        cli_usage("%s", x->cx_err);
        goto out;
    }
    for (i = 0; i < nlists; i++) {
        if (cc_split_vaults(lists[i], specs, &nspecs) != 0)
            goto out;
    }
    for (i = 0; i < nsingles; i++) {
        if (nspecs == CLI_MAX_MANY || singles[i][0] == '\0' ||
            strlen(singles[i]) > VAULT_MAX_NAME_BYTES) {
            cli_usage("--vault needs a vault name or id (and at most %d vaults)", CLI_MAX_MANY);
            goto out;
        }
        memcpy(specs[nspecs++], singles[i], strlen(singles[i]) + 1);
    }
    if (fingerprint && !cc_fingerprint_norm(fingerprint, fp)) {
        cli_usage("--tls-fingerprint must be 64 hex digits, colons allowed between pairs (the "
                  "SHA-256 of the hub's certificate)");
        goto out;
    }
    if (fingerprint)
        fingerprint = fp;
    for (i = 0; i < nserver_hubs; i++) {
        if (!kit_hub_url_is_valid(server_hubs[i])) {
            cli_usage("--server-hub must be an http:// or https:// URL");
            goto out;
        }
    }
    if (nserver_hubs > 1 + CREDENTIALS_MAX_HUB_URLS) {
        cli_usage("--server-hub is given more than %d times (the first hub and %d replicas)",
                  1 + CREDENTIALS_MAX_HUB_URLS, CREDENTIALS_MAX_HUB_URLS);
        goto out;
    }
    problem = nserver_hubs > 1 ? cc_hub_urls_problem(server_hubs, nserver_hubs, fingerprint) : NULL;
    if (problem) {
        cli_usage("--server-hub: %s", problem);
        goto out;
    }
    if (!out_path)
        out_path = CONNECT_CREDENTIALS_FILE;
    ret = CLI_EXIT_FAIL;
    if (access(out_path, F_OK) == 0) {
        cli_fail("%s already exists; refusing to overwrite it (choose another --out)", out_path);
        goto out;
    }
    if ((ret = cli_open(x)) != CLI_EXIT_OK)
        goto out;
    if ((ret = cc_resolve_vaults(x, specs, nspecs, ids)) != CLI_EXIT_OK)
        goto out;
    ret = CLI_EXIT_FAIL;
    if (cc_server_hub_urls(x, server_hubs, nserver_hubs, hub_urls, &nhub_urls, envbuf,
                           sizeof(envbuf)) != 0) {
        cli_fail("SESAME_HUB lists more than %d hub URLs; give --server-hub",
                 1 + CREDENTIALS_MAX_HUB_URLS);
        goto out;
    }
    if (!kit_hub_url_is_valid(hub_urls[0])) {
        cli_fail("the hub URL is not an http:// or https:// URL; give --server-hub");
        goto out;
    }
    problem = nhub_urls > 1 ? cc_hub_urls_problem(hub_urls, nhub_urls, fingerprint) : NULL;
    if (problem) {
        cli_fail("%s; give --server-hub", problem);
        goto out;
    }
    if (cli_vault_names(x, &names) != ERR_OK) {
        cli_fail("cannot list the vaults: %s", x->cx_err);
        goto out;
    }

    /* Keys, unlock secret, credentials file and the unlock secret sealed to the admin. */
    unlock = secmem_alloc(CREDENTIALS_UNLOCK_BYTES);
    if (!unlock || id_new(server_id) != ERR_OK ||
        credentials_keys_generate(&sign, &wrap, unlock) != ERR_OK) {
        cli_fail("cannot generate the server's keys");
        goto out;
    }
    rc = connect_credentials_build_urls(&text, admin_kit(x->cx_admin), server_id, &sign, &wrap,
                                        unlock, hub_urls[0], hub_urls + 1, nhub_urls - 1,
                                        fingerprint);
    if (rc == ERR_OK)
        rc = buf_add_str(&text, "\n");
    if (rc != ERR_OK) {
        cli_fail("cannot build the credentials file (%s)", err_name(rc));
        goto out;
    }
    rc = vaultcrypt_wrap(&sealed, unlock, CREDENTIALS_UNLOCK_BYTES,
                         kit_admin_wrap_key(admin_kit(x->cx_admin)));
    if (rc != ERR_OK) {
        cli_fail("cannot seal the unlock secret to the admin key (%s)", err_name(rc));
        goto out;
    }
    body = json_pack("{s:s, s:s, s:o, s:o}", "id", server_id, "name", name, "signJwk",
                     jwk_to_json(&sign, 0), "wrapJwk", jwk_to_json(&wrap, 0));
    if (!body || cli_set_b64(body, "unlockAdmin", &sealed) != ERR_OK) {
        cli_fail("out of memory");
        goto out;
    }
    if (cli_write_new_file(out_path, text.b_data, text.b_len, x->cx_err, sizeof(x->cx_err)) !=
        ERR_OK) {
        cli_fail("%s", x->cx_err);
        goto out;
    }
    if (admin_call(x->cx_admin, HTTP_CLIENT_POST, "/v1/servers", body, NULL, &created, x->cx_err,
                   sizeof(x->cx_err)) != ERR_OK) {
        if (unlink(out_path) == 0)
            cli_fail("the server was not created: %s (%s removed)", x->cx_err, out_path);
        else
            cli_fail("the server was not created: %s (remove %s: it belongs to no server)",
                     x->cx_err, out_path);
        goto out;
    }
    for (ngranted = 0; ngranted < nspecs; ngranted++) {
        if (cc_grant(x, created, ids[ngranted]) != ERR_OK)
            break;
    }
    if (ngranted < nspecs) {
        /* The server and its file exist: say exactly what is there and what is missing. */
        char why[CLI_ERR];
        memcpy(why, x->cx_err, sizeof(why));
        (void)cc_server_created(x, server_id, name, out_path, names, ids, ngranted);
        fprintf(stderr,
                "sesame: server %s exists and %s was written, but granting vault %s "
                "failed: %s; granted %zu of %zu vaults; grant the rest with 'sesame "
                "connect vault grant %s VAULT'\n",
                server_id, out_path, ids[ngranted], why, ngranted, nspecs, server_id);
        ret = CLI_EXIT_FAIL;
        goto out;
    }
    ret = cc_server_created(x, server_id, name, out_path, names, ids, ngranted);
out:
    json_decref(created);
    json_decref(body);
    json_decref(names);
    buf_free(&sealed);
    buf_free(&text);
    jwk_clear(&sign);
    jwk_clear(&wrap);
    secmem_free(unlock);
    return ret;
}

/* `connect server list`: id, name, created, granted vaults by name. */
static int cc_server_list(struct cli_ctx *x, int argc, char **argv)
{
    const char *pos[CLI_MAX_POS];
    json_t *list = NULL, *names = NULL, *out = NULL, *s, *v;
    size_t npos, i, j, wname = 4;
    int ret;

    ret = cli_parse(x, argc, argv, 4, NULL, 0, pos, 0, &npos, "connect server list");
    if (ret != CLI_EXIT_OK || (ret = cli_open(x)) != CLI_EXIT_OK)
        return ret;
    ret = CLI_EXIT_FAIL;
    if (admin_call(x->cx_admin, HTTP_CLIENT_GET, "/v1/servers", NULL, NULL, &list, x->cx_err,
                   sizeof(x->cx_err)) != ERR_OK) {
        cli_fail("cannot list the servers: %s", x->cx_err);
        goto out;
    }
    if (cli_vault_names(x, &names) != ERR_OK) {
        cli_fail("cannot list the vaults: %s", x->cx_err);
        goto out;
    }
    if (x->cx_json) {
        out = json_array();
        json_array_foreach(list, i, s)
        {
            json_t *vaults = json_array();
            json_array_foreach(json_object_get(s, "grants"), j, v) json_array_append_new(
                vaults,
                json_pack(
                    "{s:s, s:s}", "id", json_string_value(v) ? json_string_value(v) : "", "name",
                    cli_vault_label(names, json_string_value(v) ? json_string_value(v) : "")));
            json_array_append_new(out, json_pack("{s:s, s:s, s:o, s:o}", "id", cli_str(s, "id"),
                                                 "name", cli_str(s, "name"), "createdAt",
                                                 cli_json_time(cli_int(s, "createdAt")), "vaults",
                                                 vaults));
        }
        ret = cli_print_json(out);
        goto out;
    }
    json_array_foreach(list, i, s)
    {
        if (cli_width(cli_str(s, "name")) > wname)
            wname = cli_width(cli_str(s, "name"));
    }
    cli_put_cell("ID", ID_LEN);
    cli_put_cell("NAME", wname);
    cli_put_cell("CREATED", TIMEFMT_RFC3339_LEN);
    fputs("VAULTS\n", stdout);
    json_array_foreach(list, i, s)
    {
        char when[32];

        cli_put_cell(cli_str(s, "id"), ID_LEN);
        cli_put_cell(cli_str(s, "name"), wname);
        cli_put_cell(connect_time_text(when, cli_int(s, "createdAt")), TIMEFMT_RFC3339_LEN);
        json_array_foreach(json_object_get(s, "grants"), j, v)
        {
            if (j)
                fputs(", ", stdout);
            cli_put_safe(cli_vault_label(names, json_string_value(v) ? json_string_value(v) : ""));
        }
        fputs(json_array_size(json_object_get(s, "grants")) ? "\n" : "-\n", stdout);
    }
    ret = CLI_EXIT_OK;
out:
    json_decref(out);
    json_decref(names);
    json_decref(list);
    return ret;
}

/* `connect server delete S`: S an id or a unique name. */
static int cc_server_delete(struct cli_ctx *x, int argc, char **argv)
{
    const char *pos[CLI_MAX_POS];
    const json_t *rec;
    json_t *list = NULL, *o = NULL;
    struct buf target;
    size_t npos;
    int ret;

    buf_init(&target, HTTP_MAX_URL_BYTES);
    ret = cli_parse(x, argc, argv, 4, NULL, 0, pos, 1, &npos, "connect server delete");
    if (ret == CLI_EXIT_OK && npos != 1)
        ret = cli_usage("usage: sesame connect server delete SERVER (an id or a name)");
    if (ret != CLI_EXIT_OK || (ret = cli_open(x)) != CLI_EXIT_OK ||
        (ret = cc_server_resolve(x, pos[0], &list, &rec)) != CLI_EXIT_OK)
        goto out;
    ret = CLI_EXIT_FAIL;
    if (cli_target(&target, "/v1/servers/", cli_str(rec, "id"), NULL, NULL) != ERR_OK) {
        cli_fail("out of memory");
        goto out;
    }
    if (admin_call(x->cx_admin, HTTP_CLIENT_DELETE, buf_str(&target), NULL, NULL, NULL, x->cx_err,
                   sizeof(x->cx_err)) != ERR_OK) {
        cli_fail("cannot delete the server: %s", x->cx_err);
        goto out;
    }
    if (x->cx_json) {
        o = json_pack("{s:s, s:s}", "id", cli_str(rec, "id"), "name", cli_str(rec, "name"));
        ret = cli_print_json(o);
        goto out;
    }
    fputs("Deleted server ", stdout);
    cli_put_safe(cli_str(rec, "name"));
    printf(" (%s)\n", cli_str(rec, "id"));
    ret = CLI_EXIT_OK;
out:
    json_decref(o);
    json_decref(list);
    buf_free(&target);
    return ret;
}

/* ---- connect vault grant|revoke ------------------------------------------------------ */

/* `connect vault grant SERVER VAULT` and `connect vault revoke SERVER VAULT`. */
static int cc_vault_grant_revoke(struct cli_ctx *x, int argc, char **argv, int grant)
{
    const char *pos[CLI_MAX_POS];
    const json_t *rec;
    json_t *list = NULL, *names = NULL, *o = NULL;
    char vault[ID_LEN + 1];
    struct buf target;
    size_t npos;
    int ret;
    enum err rc;

    buf_init(&target, HTTP_MAX_URL_BYTES);
    ret = cli_parse(x, argc, argv, 4, NULL, 0, pos, 2, &npos,
                    grant ? "connect vault grant" : "connect vault revoke");
    if (ret == CLI_EXIT_OK && npos != 2)
        ret = cli_usage("usage: sesame connect vault %s SERVER VAULT (ids or names)",
                        grant ? "grant" : "revoke");
    if (ret != CLI_EXIT_OK || (ret = cli_open(x)) != CLI_EXIT_OK ||
        (ret = cc_server_resolve(x, pos[0], &list, &rec)) != CLI_EXIT_OK)
        goto out;
    ret = CLI_EXIT_FAIL;
    if (admin_vault_resolve(x->cx_admin, pos[1], vault, x->cx_err, sizeof(x->cx_err)) != ERR_OK) {
        cli_fail("%s", x->cx_err);
        goto out;
    }
    if (cli_vault_names(x, &names) != ERR_OK) {
        cli_fail("cannot list the vaults: %s", x->cx_err);
        goto out;
    }
    if (grant) {
        rc = cc_grant(x, rec, vault);
    } else {
        rc = cli_target(&target, "/v1/servers/", cli_str(rec, "id"), "/grants/", vault);
        if (rc != ERR_OK) {
            cli_fail("out of memory");
            goto out;
        }
        rc = admin_call(x->cx_admin, HTTP_CLIENT_DELETE, buf_str(&target), NULL, NULL, NULL,
                        x->cx_err, sizeof(x->cx_err));
        if (rc == ERR_NOT_FOUND) {
            cli_fail("server %s holds no grant of vault %s", cli_str(rec, "id"), vault);
            goto out;
        }
    }
    if (rc != ERR_OK) {
        cli_fail("cannot %s the vault: %s", grant ? "grant" : "revoke", x->cx_err);
        goto out;
    }
    if (x->cx_json) {
        o = json_pack("{s:{s:s, s:s}, s:{s:s, s:s}, s:b}", "server", "id", cli_str(rec, "id"),
                      "name", cli_str(rec, "name"), "vault", "id", vault, "name",
                      cli_vault_label(names, vault), "granted", grant);
        ret = cli_print_json(o);
        goto out;
    }
    fputs(grant ? "Granted vault " : "Revoked vault ", stdout);
    cli_put_safe(cli_vault_label(names, vault));
    printf(" (%s) %s server ", vault, grant ? "to" : "from");
    cli_put_safe(cli_str(rec, "name"));
    printf(" (%s)\n", cli_str(rec, "id"));
    ret = CLI_EXIT_OK;
out:
    json_decref(o);
    json_decref(names);
    json_decref(list);
    buf_free(&target);
    return ret;
}

/* ---- connect token create|list|revoke ------------------------------------------------ */

/* Returns 1 if the server record lists vault among its grants. */
static int cc_server_has_grant(const json_t *server, const char *vault)
{
    const json_t *v;
    size_t i;

    json_array_foreach(json_object_get(server, "grants"), i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), vault) == 0)
            return 1;
    }
    return 0;
}

/* Returns [{"id","name","access"}] for a token's vaults (caller owns it), NULL on failure. */
static json_t *cc_token_vaults_json(const json_t *names, const struct token_vault *v, size_t n)
{
    json_t *arr = json_array();
    size_t i;

    for (i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "id", v[i].tv_id, "name",
                                                 cli_vault_label(names, v[i].tv_id), "access",
                                                 connect_access_name(v[i].tv_access))) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/*
 * Opens the server record's unlockAdmin with the kit's admin wrap key into *unlock
 * (secure memory, TOKEN_UNLOCK_BYTES; vaultcrypt_key_free it). Returns CLI_EXIT_OK or
 * CLI_EXIT_FAIL (printed).
 */
static int cc_unlock_secret(struct cli_ctx *x, const json_t *server, unsigned char **unlock)
{
    unsigned char *sealed = NULL;
    size_t len = 0, slen;
    enum err rc;

    *unlock = NULL;
    if (cli_b64_member(server, "unlockAdmin", &sealed, &slen) != ERR_OK)
        return cli_fail("hub: the server record has no valid unlockAdmin");
    rc = vaultcrypt_unwrap(unlock, &len, sealed, slen, kit_admin_wrap_key(admin_kit(x->cx_admin)));
    mem_free(sealed);
    if (rc == ERR_OK && len != TOKEN_UNLOCK_BYTES) {
        vaultcrypt_key_free(*unlock);
        *unlock = NULL;
        rc = ERR_CRYPTO;
    }
    if (rc != ERR_OK)
        return cli_fail("cannot open the server's unlock secret with this account kit (%s)",
                        err_name(rc));
    return CLI_EXIT_OK;
}

static const char cc_token_create_usage[] =
    "sesame connect token create NAME --server SERVER --vault VAULT[:r|w|rw]... "
    "[--expires-in 90d]";

/*
 * `connect token create NAME --server S --vault V[:access]... [--expires-in D]`: mints a
 * token with the unlock secret of S (opened from the hub's unlockAdmin), registers its
 * jti and hash with the hub, then prints it (only it, unless --format json).
 */
static int cc_token_create(struct cli_ctx *x, int argc, char **argv)
{
    const char *specs[CLI_MAX_MANY], *pos[CLI_MAX_POS], *server = NULL, *expires = NULL, *name;
    size_t nspecs = 0, npos, i, j;
    const struct cli_opt opts[] = {
        {"--server", &server, NULL, NULL},
        {"--vault", NULL, specs, &nspecs},
        {"--expires-in", &expires, NULL, NULL},
    };
    struct token_vault vaults[CLI_MAX_MANY];
    char jti[ID_LEN + 1], hash[TOKEN_HASH_HEX_LEN + 1], vname[VAULT_MAX_NAME_BYTES + 1];
    const json_t *rec;
    json_t *list = NULL, *names = NULL, *body = NULL, *vts = NULL, *o = NULL;
    unsigned char *unlock = NULL;
    int64_t lifetime = 0, now;
    struct buf tok;
    int ret;

    buf_init(&tok, CONNECT_TOKEN_MAX);
    ret = cli_parse(x, argc, argv, 4, opts, sizeof(opts) / sizeof(opts[0]), pos, 1, &npos,
                    "connect token create");
    if (ret != CLI_EXIT_OK)
        goto out;
    ret = CLI_EXIT_USAGE;
    if (npos != 1 || !server || nspecs == 0) {
        cli_usage("usage: %s", cc_token_create_usage);
        goto out;
    }
    name = pos[0];
    if (connect_name_check(name, "token", x->cx_err, sizeof(x->cx_err)) != ERR_OK ||
        (expires &&
         token_duration_parse(expires, &lifetime, x->cx_err, sizeof(x->cx_err)) != ERR_OK)) {
        cli_usage("%s", x->cx_err);
        goto out;
    }
    for (i = 0; i < nspecs; i++) {
        size_t vlen;
        if (token_vault_spec_parse(specs[i], &vlen, &vaults[i].tv_access, x->cx_err,
                                   sizeof(x->cx_err)) != ERR_OK) {
            cli_usage("%s", x->cx_err);
            goto out;
        }
        if (vlen > VAULT_MAX_NAME_BYTES) {
            cli_usage("--vault %zu names a vault longer than %d bytes", i + 1,
                      VAULT_MAX_NAME_BYTES);
            goto out;
        }
    }
    if ((ret = cli_open(x)) != CLI_EXIT_OK ||
        (ret = cc_server_resolve(x, server, &list, &rec)) != CLI_EXIT_OK)
        goto out;
    ret = CLI_EXIT_FAIL;
    for (i = 0; i < nspecs; i++) {
        size_t vlen;
        if (token_vault_spec_parse(specs[i], &vlen, &vaults[i].tv_access, NULL, 0) != ERR_OK)
            goto out;
        memcpy(vname, specs[i], vlen);
        vname[vlen] = '\0';
        if (admin_vault_resolve(x->cx_admin, vname, vaults[i].tv_id, x->cx_err,
                                sizeof(x->cx_err)) != ERR_OK) {
            cli_fail("--vault %zu: %s", i + 1, x->cx_err);
            goto out;
        }
        for (j = 0; j < i; j++) {
            if (strcmp(vaults[i].tv_id, vaults[j].tv_id) == 0) {
                ret = cli_usage("--vault %zu names the same vault as --vault %zu", i + 1, j + 1);
                goto out;
            }
        }
        if (!cc_server_has_grant(rec, vaults[i].tv_id)) {
            cli_fail("--vault %zu: vault %s is not granted to server %s; grant it first with "
                     "'sesame connect vault grant %s %s'",
                     i + 1, vaults[i].tv_id, cli_str(rec, "id"), cli_str(rec, "id"),
                     vaults[i].tv_id);
            goto out;
        }
    }
    if (cli_vault_names(x, &names) != ERR_OK) {
        cli_fail("cannot list the vaults: %s", x->cx_err);
        goto out;
    }
    if ((ret = cc_unlock_secret(x, rec, &unlock)) != CLI_EXIT_OK)
        goto out;
    ret = CLI_EXIT_FAIL;
    now = (int64_t)time(NULL);
    if (connect_token_build(&tok, jti, admin_kit(x->cx_admin), cli_str(rec, "id"), unlock, vaults,
                            nspecs, now, lifetime) != ERR_OK ||
        token_hash(hash, tok.b_data, tok.b_len) != ERR_OK) {
        cli_fail("cannot mint the token");
        goto out;
    }

    /* Register it (jti, hash, grants, expiry: never the token) before anyone sees it. */
    vts = json_array();
    for (i = 0; vts && i < nspecs; i++)
        json_array_append_new(
            vts, json_pack("{s:s, s:i}", "u", vaults[i].tv_id, "a", (int)vaults[i].tv_access));
    body = json_pack("{s:s, s:s, s:s, s:O, s:I, s:s}", "jti", jti, "name", name, "server",
                     cli_str(rec, "id"), "vaults", vts, "expiresAt",
                     (json_int_t)(lifetime ? now + lifetime : 0), "sha256", hash);
    if (!body || json_array_size(vts) != nspecs) {
        cli_fail("out of memory");
        goto out;
    }
    if (admin_call(x->cx_admin, HTTP_CLIENT_POST, "/v1/tokens", body, NULL, NULL, x->cx_err,
                   sizeof(x->cx_err)) != ERR_OK) {
        cli_fail("the token was not registered, so it was not issued: %s", x->cx_err);
        goto out;
    }
    if (!x->cx_json) {
        fwrite(tok.b_data, 1, tok.b_len, stdout);
        fputc('\n', stdout);
        ret = fflush(stdout) == 0 ? CLI_EXIT_OK : cli_fail("cannot write the token");
        goto out;
    }
    o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:o, s:s%}", "jti", jti, "name", name, "server",
                  "id", cli_str(rec, "id"), "name", cli_str(rec, "name"), "vaults",
                  cc_token_vaults_json(names, vaults, nspecs), "expiresAt",
                  cli_json_time(lifetime ? now + lifetime : 0), "token", tok.b_data, tok.b_len);
    ret = cli_print_json(o);
    if (o)
        keyjson_drop(o);
    o = NULL;
out:
    json_decref(o);
    json_decref(body);
    json_decref(vts);
    json_decref(names);
    json_decref(list);
    vaultcrypt_key_free(unlock);
    buf_free(&tok);
    return ret;
}

/* Returns the name of server id in the hub's list, else the id. */
static const char *cc_server_label(const json_t *servers, const char *id)
{
    const json_t *s;
    size_t i;

    json_array_foreach(servers, i, s)
    {
        if (strcmp(cli_str(s, "id"), id) == 0 && *cli_str(s, "name"))
            return cli_str(s, "name");
    }
    return id;
}

/* Reads a TOKEN record's vaults into v (at most CLI_MAX_MANY); returns how many. */
static size_t cc_token_record_vaults(const json_t *t, struct token_vault *v)
{
    const json_t *e;
    size_t i, n = 0;

    json_array_foreach(json_object_get(t, "vaults"), i, e)
    {
        const char *u = cli_str(e, "u");
        if (n == CLI_MAX_MANY || strlen(u) != ID_LEN)
            continue;
        memcpy(v[n].tv_id, u, ID_LEN + 1);
        v[n++].tv_access = (unsigned)cli_int(e, "a");
    }
    return n;
}

/* `connect token list [--server S]`. */
static int cc_token_list(struct cli_ctx *x, int argc, char **argv)
{
    const char *pos[CLI_MAX_POS], *server = NULL;
    const struct cli_opt opts[] = {{"--server", &server, NULL, NULL}};
    struct token_vault v[CLI_MAX_MANY];
    const json_t *rec = NULL;
    json_t *servers = NULL, *names = NULL, *list = NULL, *out = NULL, *t;
    struct buf target;
    size_t npos, i, j, n, wname = 4, wserver = 6;
    int ret;

    buf_init(&target, HTTP_MAX_URL_BYTES);
    ret = cli_parse(x, argc, argv, 4, opts, 1, pos, 0, &npos, "connect token list");
    if (ret != CLI_EXIT_OK || (ret = cli_open(x)) != CLI_EXIT_OK)
        goto out;
    if (server) {
        if ((ret = cc_server_resolve(x, server, &servers, &rec)) != CLI_EXIT_OK)
            goto out;
    } else if (admin_call(x->cx_admin, HTTP_CLIENT_GET, "/v1/servers", NULL, NULL, &servers,
                          x->cx_err, sizeof(x->cx_err)) != ERR_OK) {
        ret = cli_fail("cannot list the servers: %s", x->cx_err);
        goto out;
    }
    ret = CLI_EXIT_FAIL;
    if (buf_add_str(&target, "/v1/tokens") != ERR_OK ||
        (rec && cli_target(&target, "?server=", cli_str(rec, "id"), NULL, NULL) != ERR_OK)) {
        cli_fail("out of memory");
        goto out;
    }
    if (admin_call(x->cx_admin, HTTP_CLIENT_GET, buf_str(&target), NULL, NULL, &list, x->cx_err,
                   sizeof(x->cx_err)) != ERR_OK) {
        cli_fail("cannot list the tokens: %s", x->cx_err);
        goto out;
    }
    if (cli_vault_names(x, &names) != ERR_OK) {
        cli_fail("cannot list the vaults: %s", x->cx_err);
        goto out;
    }
    if (x->cx_json) {
        out = json_array();
        json_array_foreach(list, i, t)
        {
            n = cc_token_record_vaults(t, v);
            json_array_append_new(out,
                                  json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:o, s:o, s:o}", "jti",
                                            cli_str(t, "jti"), "name", cli_str(t, "name"), "server",
                                            "id", cli_str(t, "server"), "name",
                                            cc_server_label(servers, cli_str(t, "server")),
                                            "vaults", cc_token_vaults_json(names, v, n),
                                            "createdAt", cli_json_time(cli_int(t, "createdAt")),
                                            "expiresAt", cli_json_time(cli_int(t, "expiresAt")),
                                            "revokedAt", cli_json_time(cli_int(t, "revokedAt"))));
        }
        ret = cli_print_json(out);
        goto out;
    }
    json_array_foreach(list, i, t)
    {
        if (cli_width(cli_str(t, "name")) > wname)
            wname = cli_width(cli_str(t, "name"));
        if (cli_width(cc_server_label(servers, cli_str(t, "server"))) > wserver)
            wserver = cli_width(cc_server_label(servers, cli_str(t, "server")));
    }
    cli_put_cell("JTI", ID_LEN);
    cli_put_cell("NAME", wname);
    cli_put_cell("SERVER", wserver);
    cli_put_cell("EXPIRES", TIMEFMT_RFC3339_LEN);
    cli_put_cell("REVOKED", TIMEFMT_RFC3339_LEN);
    fputs("VAULTS\n", stdout);
    json_array_foreach(list, i, t)
    {
        char when[32];

        cli_put_cell(cli_str(t, "jti"), ID_LEN);
        cli_put_cell(cli_str(t, "name"), wname);
        cli_put_cell(cc_server_label(servers, cli_str(t, "server")), wserver);
        cli_put_cell(cli_int(t, "expiresAt") ? connect_time_text(when, cli_int(t, "expiresAt"))
                                             : "never",
                     TIMEFMT_RFC3339_LEN);
        cli_put_cell(connect_time_text(when, cli_int(t, "revokedAt")), TIMEFMT_RFC3339_LEN);
        n = cc_token_record_vaults(t, v);
        for (j = 0; j < n; j++) {
            if (j)
                fputs(", ", stdout);
            cli_put_safe(cli_vault_label(names, v[j].tv_id));
            printf(":%s", connect_access_name(v[j].tv_access));
        }
        fputs(n ? "\n" : "-\n", stdout);
    }
    ret = CLI_EXIT_OK;
out:
    json_decref(out);
    json_decref(list);
    json_decref(names);
    json_decref(servers);
    buf_free(&target);
    return ret;
}

/* `connect token revoke JTI`. */
static int cc_token_revoke(struct cli_ctx *x, int argc, char **argv)
{
    const char *pos[CLI_MAX_POS];
    char jti[ID_LEN + 1];
    struct buf target;
    json_t *o = NULL;
    size_t npos;
    int ret;
    enum err rc;

    buf_init(&target, HTTP_MAX_URL_BYTES);
    ret = cli_parse(x, argc, argv, 4, NULL, 0, pos, 1, &npos, "connect token revoke");
    if (ret == CLI_EXIT_OK && npos != 1)
        ret = cli_usage("usage: sesame connect token revoke JTI");
    if (ret == CLI_EXIT_OK && !connect_id_lower(jti, pos[0]))
        ret = cli_usage("a token id (jti) is 26 letters and digits; see 'sesame connect token "
                        "list'");
    if (ret != CLI_EXIT_OK || (ret = cli_open(x)) != CLI_EXIT_OK)
        goto out;
    ret = CLI_EXIT_FAIL;
    if (cli_target(&target, "/v1/tokens/", jti, NULL, NULL) != ERR_OK) {
        cli_fail("out of memory");
        goto out;
    }
    rc = admin_call(x->cx_admin, HTTP_CLIENT_DELETE, buf_str(&target), NULL, NULL, NULL, x->cx_err,
                    sizeof(x->cx_err));
    if (rc == ERR_NOT_FOUND) {
        cli_fail("no token has the id %s", jti);
        goto out;
    }
    if (rc != ERR_OK) {
        cli_fail("cannot revoke the token: %s", x->cx_err);
        goto out;
    }
    if (x->cx_json) {
        o = json_pack("{s:s, s:b}", "jti", jti, "revoked", 1);
        ret = cli_print_json(o);
        goto out;
    }
    printf("Revoked token %s (Connect servers refuse it from their next sync)\n", jti);
    ret = CLI_EXIT_OK;
out:
    json_decref(o);
    buf_free(&target);
    return ret;
}

/* ---- dispatch ------------------------------------------------------------------------ */

static void cc_help(FILE *f)
{
    fprintf(f,
            "Usage:\n"
            "  %s\n"
            "  sesame connect server list\n"
            "  sesame connect server delete SERVER\n"
            "  sesame connect vault grant SERVER VAULT\n"
            "  sesame connect vault revoke SERVER VAULT\n"
            "  %s\n"
            "  sesame connect token list [--server SERVER]\n"
            "  sesame connect token revoke JTI\n"
            "\n"
            "SERVER and VAULT are ids or names. Every command also takes --kit FILE,\n"
            "--passphrase-file FILE, --hub URL and --format human|json.\n",
            cc_server_create_usage, cc_token_create_usage);
}

/* Runs `sesame connect ...`; see commands.h. */
int cli_cmd_connect(int argc, char **argv)
{
    static const struct {
        const char *noun, *verb;
        int kind;
    } table[] = {
        {"server", "create", 0}, {"server", "list", 1},  {"server", "delete", 2},
        {"vault", "grant", 3},   {"vault", "revoke", 4}, {"token", "create", 5},
        {"token", "list", 6},    {"token", "revoke", 7},
    };
    struct cli_ctx x;
    size_t i;
    int ret = -1;

    if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0 ||
                      strcmp(argv[2], "help") == 0)) {
        cc_help(stdout);
        return CLI_EXIT_OK;
    }
    if (argc < 4) {
        cc_help(stderr);
        return CLI_EXIT_USAGE;
    }
    memset(&x, 0, sizeof(x));
    x.cx_cmd = "connect";
    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(argv[2], table[i].noun) != 0 || strcmp(argv[3], table[i].verb) != 0)
            continue;
        switch (table[i].kind) {
        case 0:
            ret = cc_server_create(&x, argc, argv);
            break;
        case 1:
            ret = cc_server_list(&x, argc, argv);
            break;
        case 2:
            ret = cc_server_delete(&x, argc, argv);
            break;
        case 3:
        case 4:
            ret = cc_vault_grant_revoke(&x, argc, argv, table[i].kind == 3);
            break;
        case 5:
            ret = cc_token_create(&x, argc, argv);
            break;
        case 6:
            ret = cc_token_list(&x, argc, argv);
            break;
        default:
            ret = cc_token_revoke(&x, argc, argv);
            break;
        }
        break;
    }
    admin_close(x.cx_admin);
    if (ret < 0)
        return cli_usage("unknown connect command; see 'sesame connect --help'");
    return ret;
}
