/*
 * token.c - minting and verifying Connect bearer tokens, the token hash the hub stores,
 * and the CLI's --vault / --expires-in syntax.
 *
 * Verification order: jws_verify_es256 (length, shape, alg, kid, signature, and only then
 * the payload: exp / nbf / iat with leeway, aud, iss), then the Connect claims: sub is the
 * expected server, jti, integer times, auuid, the unlock secret (exactly 32 bytes), fts,
 * vts. Nothing about the token's text is ever written into a message.
 */
#include "keys/token.h"

#include <string.h>

#include "common/codec.h"
#include "crypto/crypto.h"

#define TOKEN_SECRET_B64_LEN 43 /* base64url of 32 bytes, unpadded */

static const char *const token_reason_names[TOKEN__COUNT - JWS__COUNT] = {
    [TOKEN_BAD_SUBJECT - JWS__COUNT] = "bad_subject",
    [TOKEN_WRONG_SERVER - JWS__COUNT] = "wrong_server",
    [TOKEN_BAD_JTI - JWS__COUNT] = "bad_jti",
    [TOKEN_BAD_TIMES - JWS__COUNT] = "bad_times",
    [TOKEN_BAD_ACCOUNT - JWS__COUNT] = "bad_account",
    [TOKEN_NO_SECRET - JWS__COUNT] = "no_secret",
    [TOKEN_BAD_SECRET - JWS__COUNT] = "bad_secret",
    [TOKEN_BAD_FEATURES - JWS__COUNT] = "bad_features",
    [TOKEN_NO_VAULTACCESS - JWS__COUNT] = "no_vaultaccess",
    [TOKEN_BAD_VAULTS - JWS__COUNT] = "bad_vaults",
    [TOKEN_UNKNOWN_ACCESS - JWS__COUNT] = "unknown_access",
    [TOKEN_INTERNAL - JWS__COUNT] = "token_internal",
};

/* Returns the log name of r; see token.h. */
const char *token_reason_name(enum token_reason r)
{
    if ((int)r < 0 || r >= TOKEN__COUNT)
        return "unknown";
    if ((int)r < JWS__COUNT)
        return jws_reason_name((enum jws_reason)r);
    return token_reason_names[r - JWS__COUNT];
}

/* Stores a copy of the unlock secret in secure memory; see token.h. */
enum err token_claims_set_secret(struct token_claims *c, const unsigned char *secret, size_t len)
{
    unsigned char *p;

    if (!c || !secret || len != TOKEN_UNLOCK_BYTES)
        return ERR_BAD_INPUT;
    p = secmem_alloc(TOKEN_UNLOCK_BYTES);
    if (!p)
        return ERR_NOMEM;
    memcpy(p, secret, TOKEN_UNLOCK_BYTES);
    secmem_free(c->tc_unlock);
    c->tc_unlock = p;
    return ERR_OK;
}

/* Wipes and zeroes c; see token.h. */
void token_claims_clear(struct token_claims *c)
{
    if (!c)
        return;
    secmem_free(c->tc_unlock);
    secmem_wipe(c, sizeof(*c));
}

/* Returns 1 if a is a valid, non-empty set of known access bits. */
static int token_access_ok(json_int_t a)
{
    return a > 0 && (a & ~(json_int_t)TOKEN_ACCESS_ALL) == 0;
}

/* Returns 1 if the claims can be minted; see token_mint. */
static int token_claims_ok(const struct token_claims *c)
{
    size_t i, j;

    if (!id_is_valid_upper(c->tc_server) || !id_is_valid(c->tc_jti) ||
        !id_is_valid_upper(c->tc_account) || !c->tc_unlock)
        return 0;
    if (c->tc_iat < 0 || (c->tc_exp != 0 && c->tc_exp <= c->tc_iat))
        return 0;
    if (c->tc_nvaults > TOKEN_MAX_VAULTS)
        return 0;
    for (i = 0; i < c->tc_nvaults; i++) {
        if (!id_is_valid(c->tc_vaults[i].tv_id) || !token_access_ok(c->tc_vaults[i].tv_access))
            return 0;
        for (j = 0; j < i; j++) {
            if (strcmp(c->tc_vaults[i].tv_id, c->tc_vaults[j].tv_id) == 0)
                return 0;
        }
    }
    return 1;
}

/* Sets obj[name] to a new string; returns 0 or -1. */
static int token_set_str(json_t *obj, const char *name, const char *s)
{
    return json_object_set_new(obj, name, json_string(s));
}

/* Wipes the text of obj[name] when it is a string (obj is about to be freed). */
static void token_wipe_member(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);

    if (json_is_string(v))
        secmem_wipe((void *)(uintptr_t)json_string_value(v), json_string_length(v));
}

/* Builds the claims object of c (it holds the secret: wipe the member before freeing). */
static json_t *token_claims_json(const struct token_claims *c)
{
    char secret[TOKEN_SECRET_B64_LEN + 1];
    json_t *o = json_object(), *vts = NULL, *e;
    size_t i;
    int bad = !o;

    bad = bad || token_set_str(o, "iss", TOKEN_ISSUER) ||
          json_object_set_new(o, "aud", json_pack("[s]", TOKEN_AUDIENCE)) ||
          token_set_str(o, "sub", c->tc_server) || token_set_str(o, "jti", c->tc_jti) ||
          json_object_set_new(o, "iat", json_integer(c->tc_iat)) ||
          (c->tc_exp != 0 && json_object_set_new(o, "exp", json_integer(c->tc_exp))) ||
          token_set_str(o, TOKEN_CLAIM_ACCOUNT, c->tc_account);
    if (!bad) {
        bad = codec_b64_encode(secret, sizeof(secret), NULL, c->tc_unlock, TOKEN_UNLOCK_BYTES,
                               CODEC_B64_URL) != ERR_OK ||
              token_set_str(o, TOKEN_CLAIM_SECRET, secret);
        secmem_wipe(secret, sizeof(secret));
    }
    bad =
        bad || json_object_set_new(o, TOKEN_CLAIM_FEATURES, json_pack("[s]", TOKEN_FEATURE_VAULTS));
    if (!bad) {
        vts = json_array();
        bad = json_object_set_new(o, TOKEN_CLAIM_VAULTS, vts) != 0;
    }
    for (i = 0; !bad && i < c->tc_nvaults; i++) {
        e = json_pack("{s:s,s:I}", "u", c->tc_vaults[i].tv_id, "a",
                      (json_int_t)c->tc_vaults[i].tv_access);
        bad = json_array_append_new(vts, e) != 0;
    }
    if (bad && o) {
        token_wipe_member(o, TOKEN_CLAIM_SECRET);
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* Mints a token; see token.h. */
enum err token_mint(struct buf *out, const struct ec_key *signing_key, const char *kid,
                    const struct token_claims *c)
{
    json_t *claims = NULL;
    enum err rc = ERR_BAD_INPUT;

    if (!out || !signing_key || !kid || !kid[0] || !c || !token_claims_ok(c))
        goto out;
    rc = ERR_NOMEM;
    claims = token_claims_json(c);
    if (!claims)
        goto out;
    rc = jws_sign_es256(out, signing_key, kid, claims);
out:
    if (claims) {
        token_wipe_member(claims, TOKEN_CLAIM_SECRET);
        json_decref(claims);
    }
    return rc;
}

/* Copies the JSON string v into out (ID_LEN + 1) if it is an id of the case asked; 1 if so. */
static int token_get_id(char out[ID_LEN + 1], const json_t *v, int upper)
{
    const char *s;

    if (!json_is_string(v) || json_string_length(v) != ID_LEN)
        return 0;
    s = json_string_value(v);
    if (upper ? !id_is_valid_upper(s) : !id_is_valid(s))
        return 0;
    memcpy(out, s, ID_LEN + 1);
    return 1;
}

/* Returns 1 if the claim is absent or an integer (the times we mint are integers). */
static int token_int_or_absent(const json_t *v)
{
    return !v || json_is_integer(v);
}

/* Checks fts; sets *has_vaultaccess. */
static enum token_reason token_check_features(const json_t *fts, int *has_vaultaccess)
{
    const json_t *e;
    size_t i;

    *has_vaultaccess = 0;
    if (!fts)
        return TOKEN_OK;
    if (!json_is_array(fts) || json_array_size(fts) > TOKEN_MAX_FEATURES)
        return TOKEN_BAD_FEATURES;
    json_array_foreach(fts, i, e)
    {
        if (!json_is_string(e))
            return TOKEN_BAD_FEATURES;
        if (json_string_length(e) == strlen(TOKEN_FEATURE_VAULTS) &&
            memcmp(json_string_value(e), TOKEN_FEATURE_VAULTS, json_string_length(e)) == 0)
            *has_vaultaccess = 1;
    }
    return TOKEN_OK;
}

/* Checks vts and copies the grants into out. */
static enum token_reason token_check_vaults(struct token_claims *out, const json_t *vts)
{
    const json_t *e, *u, *a;
    size_t i, j;

    if (!json_is_array(vts) || json_array_size(vts) > TOKEN_MAX_VAULTS)
        return TOKEN_BAD_VAULTS;
    json_array_foreach(vts, i, e)
    {
        struct token_vault *tv = &out->tc_vaults[i];

        if (!json_is_object(e) || json_object_size(e) != 2)
            return TOKEN_BAD_VAULTS;
        u = json_object_get(e, "u");
        a = json_object_get(e, "a");
        if (!token_get_id(tv->tv_id, u, 0) || !json_is_integer(a))
            return TOKEN_BAD_VAULTS;
        if (!token_access_ok(json_integer_value(a)))
            return TOKEN_UNKNOWN_ACCESS;
        tv->tv_access = (unsigned)json_integer_value(a);
        for (j = 0; j < i; j++) {
            if (strcmp(out->tc_vaults[j].tv_id, tv->tv_id) == 0)
                return TOKEN_BAD_VAULTS;
        }
        out->tc_nvaults = i + 1;
    }
    return TOKEN_OK;
}

/* The Connect claim checks on a verified payload; fills out (its secret included). */
static enum token_reason token_check_claims(struct token_claims *out, const json_t *c,
                                            const char *server)
{
    const json_t *v, *vts;
    size_t got = 0;
    int has_vaultaccess;
    enum token_reason r;

    if (!token_get_id(out->tc_server, json_object_get(c, "sub"), 1))
        return TOKEN_BAD_SUBJECT;
    if (strcmp(out->tc_server, server) != 0)
        return TOKEN_WRONG_SERVER;
    if (!token_get_id(out->tc_jti, json_object_get(c, "jti"), 0))
        return TOKEN_BAD_JTI;
    v = json_object_get(c, "iat");
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        !token_int_or_absent(json_object_get(c, "exp")) ||
        !token_int_or_absent(json_object_get(c, "nbf")))
        return TOKEN_BAD_TIMES;
    out->tc_iat = json_integer_value(v);
    v = json_object_get(c, "exp");
    out->tc_exp = v ? json_integer_value(v) : 0;
    if (!token_get_id(out->tc_account, json_object_get(c, TOKEN_CLAIM_ACCOUNT), 1))
        return TOKEN_BAD_ACCOUNT;

    v = json_object_get(c, TOKEN_CLAIM_SECRET);
    if (!json_is_string(v))
        return TOKEN_NO_SECRET;
    if (json_string_length(v) != TOKEN_SECRET_B64_LEN)
        return TOKEN_BAD_SECRET;
    out->tc_unlock = secmem_alloc(TOKEN_UNLOCK_BYTES);
    if (!out->tc_unlock)
        return TOKEN_INTERNAL;
    if (codec_b64_decode(out->tc_unlock, TOKEN_UNLOCK_BYTES, &got, json_string_value(v),
                         json_string_length(v), CODEC_B64_URL) != ERR_OK ||
        got != TOKEN_UNLOCK_BYTES)
        return TOKEN_BAD_SECRET;

    r = token_check_features(json_object_get(c, TOKEN_CLAIM_FEATURES), &has_vaultaccess);
    if (r != TOKEN_OK)
        return r;
    vts = json_object_get(c, TOKEN_CLAIM_VAULTS);
    if (!vts)
        return TOKEN_OK;
    if (!has_vaultaccess)
        return TOKEN_NO_VAULTACCESS;
    return token_check_vaults(out, vts);
}

/* Verifies a token; see token.h. */
enum err token_verify(struct token_claims *out, const char *token, size_t len,
                      const struct jws_key *keys, size_t nkeys, const char *expected_server_id,
                      int64_t now, enum token_reason *why)
{
    struct jws_verify_opts opts = {now, TOKEN_AUDIENCE, TOKEN_ISSUER};
    char server[ID_LEN + 1];
    enum jws_reason jr = JWS_INTERNAL;
    enum token_reason r = TOKEN_INTERNAL, dummy;
    json_t *claims = NULL;
    size_t i;

    if (!why)
        why = &dummy;
    if (!out)
        goto out;
    memset(out, 0, sizeof(*out));
    if (!expected_server_id || strnlen(expected_server_id, ID_LEN + 1) != ID_LEN)
        goto out;
    for (i = 0; i < ID_LEN; i++) {
        char ch = expected_server_id[i];
        server[i] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
    }
    server[ID_LEN] = '\0';
    if (!id_is_valid_upper(server))
        goto out;

    if (jws_verify_es256(&claims, &jr, token, len, keys, nkeys, &opts) != ERR_OK) {
        r = (enum token_reason)jr;
        goto out;
    }
    r = token_check_claims(out, claims, server);
out:
    if (claims) {
        token_wipe_member(claims, TOKEN_CLAIM_SECRET);
        json_decref(claims);
    }
    if (r != TOKEN_OK)
        token_claims_clear(out);
    *why = r;
    return r == TOKEN_OK ? ERR_OK : ERR_UNAUTHORIZED;
}

/* Writes the hex SHA-256 of the token text; see token.h. */
enum err token_hash(char out[TOKEN_HASH_HEX_LEN + 1], const char *token, size_t len)
{
    unsigned char h[HASH_SHA256_BYTES];
    enum err rc;

    out[0] = '\0';
    if (!token && len > 0)
        return ERR_BAD_INPUT;
    rc = hash_sha256(h, token ? token : "", len);
    if (rc == ERR_OK)
        rc = codec_hex_encode(out, TOKEN_HASH_HEX_LEN + 1, h, sizeof(h));
    return rc;
}

/* Parses "V[:r|w|rw]"; see token.h. */
enum err token_vault_spec_parse(const char *s, size_t *vault_len, unsigned *access, char *errmsg,
                                size_t errcap)
{
    static const struct {
        const char *name;
        unsigned bits;
    } modes[] = {
        {"r", TOKEN_ACCESS_READ},
        {"w", TOKEN_ACCESS_WRITE},
        {"rw", TOKEN_ACCESS_ALL},
        {"wr", TOKEN_ACCESS_ALL},
    };
    const char *colon;
    size_t n, i;

    *vault_len = 0;
    *access = 0;
    if (!s || !s[0])
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "--vault: no vault given");
    n = strnlen(s, TOKEN_MAX_VAULT_SPEC + 1);
    if (n > TOKEN_MAX_VAULT_SPEC)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "--vault: longer than %d bytes",
                        TOKEN_MAX_VAULT_SPEC);
    colon = strrchr(s, ':');
    if (colon) {
        if (colon[1] == '\0')
            return err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                            "--vault: nothing after ':' (use VAULT, VAULT:r, VAULT:w or "
                            "VAULT:rw)");
        for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
            if (strcmp(colon + 1, modes[i].name) == 0) {
                if (colon == s)
                    return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "--vault: no vault before ':'");
                *vault_len = (size_t)(colon - s);
                *access = modes[i].bits;
                return ERR_OK;
            }
        }
    }
    /* No access suffix: the whole text names the vault, read only. */
    *vault_len = n;
    *access = TOKEN_ACCESS_READ;
    return ERR_OK;
}

/* Parses "<digits><s|m|h|d>"; see token.h. */
enum err token_duration_parse(const char *s, int64_t *seconds, char *errmsg, size_t errcap)
{
    int64_t v = 0, unit;
    size_t i = 0;

    *seconds = 0;
    if (!s || !s[0])
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "--expires-in: no duration given");
    while (s[i] >= '0' && s[i] <= '9') {
        /* The cap is checked as we go, so no value can overflow. */
        v = v * 10 + (s[i] - '0');
        if (v > TOKEN_MAX_LIFETIME_SEC)
            goto too_long;
        i++;
    }
    if (i == 0)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                        "--expires-in: expected a number and a unit, such as 90d, 12h, 30m or "
                        "3600s");
    switch (s[i]) {
    case 's':
        unit = 1;
        break;
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = 86400;
        break;
    case '\0':
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                        "--expires-in: a unit is required (s, m, h or d), such as 3600s");
    default:
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                        "--expires-in: the unit must be s, m, h or d");
    }
    if (s[i + 1] != '\0')
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                        "--expires-in: one number and one unit only, such as 90d");
    if (v == 0)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "--expires-in: must be at least 1s");
    if (v > TOKEN_MAX_LIFETIME_SEC / unit)
        goto too_long;
    *seconds = v * unit;
    return ERR_OK;
too_long:
    return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "--expires-in: longer than %lld days",
                    TOKEN_MAX_LIFETIME_SEC / 86400);
}
