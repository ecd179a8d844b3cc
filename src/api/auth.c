/*
 * auth.c - who is calling: the bearer token of every /v1 request is verified here (ES256
 * with the token-signing keys in force, sub = this server, exp/nbf, not revoked, the
 * unlock secret of this server), and the first valid token unlocks the api.
 *
 * Every refusal is ERR_UNAUTHORIZED, answered 401 "Invalid bearer token"; the reason is
 * logged (token_reason_name), never sent.
 */
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "common/alloc.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"

static uint64_t auth_serial; /* keyset serial numbers (0 is never used) */

/* Drops a reference to a keyset; the last one frees it. */
static void auth_keyset_unref(struct api_keyset *ks)
{
    size_t i;

    if (!ks || __atomic_sub_fetch(&ks->ks_refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (i = 0; i < ks->ks_njwks; i++)
        jwk_clear(&ks->ks_jwks[i]);
    mem_free(ks->ks_jwks);
    mem_free(ks->ks_keys);
    mem_free(ks);
}

/* Returns 1 if kid is retired in the volume's list. */
static int auth_kid_retired(const struct volume_signing_key *vk, size_t n, const char *kid)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (vk[i].vk_retired_at != 0 && strcmp(vk[i].vk_kid, kid) == 0)
            return 1;
    return 0;
}

/* Returns 1 if kid is already in ks. */
static int auth_kid_present(const struct api_keyset *ks, const char *kid)
{
    size_t i;

    for (i = 0; i < ks->ks_nkeys; i++)
        if (strcmp(ks->ks_keys[i].jk_kid, kid) == 0)
            return 1;
    return 0;
}

/* Builds the keyset: the credentials' keys not retired, then the volume's active keys. */
static enum err auth_keyset_build(struct api *a, struct api_keyset **out)
{
    struct volume_signing_key *vk = NULL;
    const struct jws_key *ck;
    struct api_keyset *ks;
    size_t i, nvk = 0, nck = 0;
    enum err rc;

    *out = NULL;
    ck = credentials_signing_keys(a->ap_cred, &nck);
    rc = volume_signing_key_list(a->ap_volume, &vk, &nvk);
    if (rc != ERR_OK)
        return rc;
    ks = mem_calloc(1, sizeof(*ks));
    if (!ks || !(ks->ks_keys = mem_calloc(nck + nvk + 1, sizeof(*ks->ks_keys))) ||
        (nvk > 0 && !(ks->ks_jwks = mem_calloc(nvk, sizeof(*ks->ks_jwks))))) {
        rc = ERR_NOMEM;
        goto out;
    }
    ks->ks_refs = 1;
    ks->ks_serial = __atomic_add_fetch(&auth_serial, 1, __ATOMIC_ACQ_REL);
    for (i = 0; i < nck; i++)
        if (!auth_kid_retired(vk, nvk, ck[i].jk_kid))
            ks->ks_keys[ks->ks_nkeys++] = ck[i];
    for (i = 0; i < nvk; i++) {
        struct jwk *j = &ks->ks_jwks[ks->ks_njwks];

        if (vk[i].vk_retired_at != 0 || auth_kid_present(ks, vk[i].vk_kid))
            continue;
        if (jwk_parse(j, vk[i].vk_public_jwk, strlen(vk[i].vk_public_jwk)) != ERR_OK ||
            j->jk_kind != JWK_EC_P256) {
            jwk_clear(j);
            log_warn("api: signing key %s from the hub is not a P-256 JWK; ignored", vk[i].vk_kid);
            continue;
        }
        ks->ks_njwks++;
        ks->ks_keys[ks->ks_nkeys].jk_kid = j->jk_kid[0] ? j->jk_kid : vk[i].vk_kid;
        ks->ks_keys[ks->ks_nkeys].jk_key = j->jk_ec;
        ks->ks_nkeys++;
    }
    *out = ks;
    ks = NULL;
    rc = ERR_OK;
out:
    auth_keyset_unref(ks);
    volume_signing_key_list_free(vk, nvk);
    return rc;
}

/* Reloads the keyset when the volume's generation moved (see api_int.h). */
void api_auth_refresh_keys(struct api *a, uint64_t gen)
{
    struct api_keyset *ks = NULL, *old;

    if (a->ap_keys_loaded && a->ap_keys_gen == gen)
        return;
    if (auth_keyset_build(a, &ks) != ERR_OK) {
        log_warn("api: cannot read the signing keys from the volume; keeping the previous ones");
        return;
    }
    pthread_mutex_lock(&a->ap_mu);
    old = a->ap_keyset;
    a->ap_keyset = ks;
    pthread_mutex_unlock(&a->ap_mu);
    auth_keyset_unref(old);
    a->ap_keys_gen = gen;
    a->ap_keys_loaded = 1;
}

/* Frees the keyset (at stop). */
void api_auth_free_keys(struct api *a)
{
    auth_keyset_unref(a->ap_keyset);
    a->ap_keyset = NULL;
    mem_free(a->ap_verified);
    a->ap_verified = NULL;
}

/* Returns the slot of a token hash in the verified cache. */
static size_t auth_slot(const unsigned char *hash)
{
    return ((size_t)hash[0] << 8 | hash[1]) % API_VERIFIED_CACHE;
}

/*
 * Looks the token (by hash) up among those verified with keyset serial keys; on a hit
 * (and not expired) fills *p. Returns 1 on a hit.
 */
static int auth_cached(struct api *a, const unsigned char *hash, uint64_t keys,
                       struct api_principal *p)
{
    const struct api_verified *v;
    int hit = 0;

    pthread_mutex_lock(&a->ap_mu);
    if (a->ap_verified && a->ap_unlocked) {
        v = &a->ap_verified[auth_slot(hash)];
        if (v->av_keys == keys && crypto_memeq(v->av_hash, hash, sizeof(v->av_hash)) &&
            (v->av_exp == 0 || api_now() < v->av_exp + JWS_CLOCK_LEEWAY_SECONDS)) {
            *p = v->av_p;
            hit = 1;
        }
    }
    pthread_mutex_unlock(&a->ap_mu);
    return hit;
}

/* Remembers a verified token. */
static void auth_remember(struct api *a, const unsigned char *hash, uint64_t keys, int64_t exp,
                          const struct api_principal *p)
{
    struct api_verified *v;

    pthread_mutex_lock(&a->ap_mu);
    if (!a->ap_verified)
        a->ap_verified = mem_calloc(API_VERIFIED_CACHE, sizeof(*a->ap_verified));
    if (a->ap_verified) {
        v = &a->ap_verified[auth_slot(hash)];
        memcpy(v->av_hash, hash, sizeof(v->av_hash));
        v->av_keys = keys;
        v->av_exp = exp;
        v->av_p = *p;
    }
    pthread_mutex_unlock(&a->ap_mu);
}

/* Returns the keyset in force with a reference, or NULL. */
static struct api_keyset *auth_keyset_get(struct api *a)
{
    struct api_keyset *ks;

    pthread_mutex_lock(&a->ap_mu);
    ks = a->ap_keyset;
    if (ks)
        __atomic_add_fetch(&ks->ks_refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&a->ap_mu);
    return ks;
}

/*
 * Returns 1 if token jti is revoked (or this server deleted): the answer of the volume,
 * remembered until its generation moves.
 */
static int auth_revoked(struct api *a, const char *jti, enum err *rc)
{
    enum volume_token_status st = VOLUME_TOKEN_UNKNOWN;
    uint64_t gen;
    size_t i;

    *rc = ERR_OK;
    pthread_mutex_lock(&a->ap_mu);
    gen = a->ap_meta.vm_generation;
    if (a->ap_jti_gen != gen || !a->ap_meta_ok) {
        a->ap_njti = 0;
        a->ap_jti_gen = gen;
    }
    for (i = 0; i < a->ap_njti; i++) {
        if (strcmp(a->ap_jti_cache[i], jti) == 0) {
            int revoked = a->ap_jti_state[i];

            pthread_mutex_unlock(&a->ap_mu);
            return revoked;
        }
    }
    pthread_mutex_unlock(&a->ap_mu);
    *rc = volume_token_state(a->ap_volume, jti, &st, NULL);
    if (*rc != ERR_OK)
        return 1;
    pthread_mutex_lock(&a->ap_mu);
    if (a->ap_jti_gen == gen && a->ap_njti < API_TOKEN_CACHE && a->ap_meta_ok) {
        memcpy(a->ap_jti_cache[a->ap_njti], jti, ID_LEN + 1);
        a->ap_jti_state[a->ap_njti++] = st == VOLUME_TOKEN_REVOKED;
    }
    pthread_mutex_unlock(&a->ap_mu);
    return st == VOLUME_TOKEN_REVOKED;
}

/*
 * Checks the token's unlock secret against this server's, unlocking the api with it the
 * first time. Returns ERR_OK, ERR_UNAUTHORIZED, or another error of credentials_unlock.
 */
static enum err auth_unlock(struct api *a, const unsigned char *secret)
{
    enum err rc = ERR_OK;
    int first = 0;

    pthread_mutex_lock(&a->ap_mu);
    if (a->ap_unlocked) {
        if (!crypto_memeq(a->ap_unlock, secret, TOKEN_UNLOCK_BYTES))
            rc = ERR_UNAUTHORIZED;
    } else {
        rc = credentials_unlock(a->ap_cred, secret, TOKEN_UNLOCK_BYTES);
        if (rc == ERR_OK) {
            a->ap_unlock = secmem_alloc(TOKEN_UNLOCK_BYTES);
            if (!a->ap_unlock) {
                rc = ERR_NOMEM;
            } else {
                memcpy(a->ap_unlock, secret, TOKEN_UNLOCK_BYTES);
                a->ap_unlocked = 1;
                a->ap_kick = 1;
                a->ap_unlocks++;
                first = 1;
                pthread_cond_broadcast(&a->ap_cond);
            }
        }
    }
    pthread_mutex_unlock(&a->ap_mu);
    if (first)
        log_info("api: unlocked by a valid token; notifying sync");
    return rc;
}

/* Verifies the request's bearer token (see api_int.h). */
enum err api_auth_request(struct api *a, struct http_request *req, struct api_principal *p)
{
    const char *h = http_request_header(req, "Authorization");
    const struct log_scope *scope = http_request_log_scope(req);
    struct token_claims c;
    struct api_keyset *ks = NULL;
    enum token_reason why = TOKEN_OK;
    unsigned char hash[HASH_SHA256_BYTES];
    const char *tok, *ip;
    unsigned retry = 0;
    size_t len;
    enum err rc;

    memset(p, 0, sizeof(*p));
    memset(&c, 0, sizeof(c));
    ip = http_request_client_ip(req);
    if (a->ap_rl_ip) {
        int64_t now = http_clock_ms();

        /* Before any work on the token: the address's own budget, then its failures. */
        if (!ratelimit_take(a->ap_rl_ip, ip, strlen(ip), 1, now, &p->ap_retry_after) ||
            !ratelimit_take(a->ap_rl_fail, ip, strlen(ip), 0, now, &p->ap_retry_after)) {
            log_msg(LOG_WARN, scope, "api: rate limited (client address)");
            return ERR_RATE_LIMITED;
        }
    }
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        log_msg(LOG_WARN, scope, "api: request without a bearer token");
        rc = ERR_UNAUTHORIZED;
        goto failed;
    }
    tok = h + 7;
    while (*tok == ' ')
        tok++;
    len = strlen(tok);
    while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
        len--;
    if (len == 0 || len > JWS_MAX_TOKEN_BYTES) {
        log_msg(LOG_WARN, scope, "api: bearer token empty or too long");
        rc = ERR_UNAUTHORIZED;
        goto failed;
    }
    ks = auth_keyset_get(a);
    if (!ks) {
        rc = ERR_NOT_READY;
        goto out;
    }
    if (hash_sha256(hash, tok, len) != ERR_OK) {
        rc = ERR_INTERNAL;
        goto out;
    }
    if (a->ap_rl_token &&
        !ratelimit_take(a->ap_rl_token, hash, sizeof(hash), 1, http_clock_ms(), &retry)) {
        log_msg(LOG_WARN, scope, "api: rate limited (token)");
        rc = ERR_RATE_LIMITED;
        goto out;
    }
    if (auth_cached(a, hash, ks->ks_serial, p)) {
        if (http_request_set_jti(req, p->ap_jti) != ERR_OK)
            rc = ERR_NOMEM;
        else if (auth_revoked(a, p->ap_jti, &rc) && rc == ERR_OK)
            rc = ERR_UNAUTHORIZED;
        if (rc == ERR_UNAUTHORIZED)
            log_msg(LOG_WARN, scope, "api: token refused (revoked)");
        if (rc != ERR_OK)
            memset(p, 0, sizeof(*p));
        goto out;
    }
    rc = token_verify(&c, tok, len, ks->ks_keys, ks->ks_nkeys,
                      credentials_server_id_upper(a->ap_cred), api_now(), &why);
    if (rc != ERR_OK) {
        if (rc == ERR_NOMEM)
            goto out;
        log_msg(LOG_WARN, scope, "api: token refused (%s)", token_reason_name(why));
        rc = ERR_UNAUTHORIZED;
        goto out;
    }
    if (http_request_set_jti(req, c.tc_jti) != ERR_OK) {
        rc = ERR_NOMEM;
        goto out;
    }
    if (auth_revoked(a, c.tc_jti, &rc)) {
        if (rc == ERR_OK) {
            log_msg(LOG_WARN, scope, "api: token refused (revoked)");
            rc = ERR_UNAUTHORIZED;
        }
        goto out;
    }
    rc = auth_unlock(a, c.tc_unlock);
    if (rc != ERR_OK) {
        if (rc == ERR_UNAUTHORIZED || rc == ERR_CRYPTO || rc == ERR_BAD_INPUT) {
            log_msg(LOG_WARN, scope,
                    "api: token refused (its secret does not unlock this server: %s)",
                    err_name(rc));
            rc = ERR_UNAUTHORIZED;
        }
        goto out;
    }
    memcpy(p->ap_jti, c.tc_jti, sizeof(p->ap_jti));
    memcpy(p->ap_server, c.tc_server, sizeof(p->ap_server));
    memcpy(p->ap_account, c.tc_account, sizeof(p->ap_account));
    memcpy(p->ap_vaults, c.tc_vaults, c.tc_nvaults * sizeof(c.tc_vaults[0]));
    p->ap_nvaults = c.tc_nvaults;
    auth_remember(a, hash, ks->ks_serial, c.tc_exp, p);
out:
    token_claims_clear(&c);
    auth_keyset_unref(ks);
failed:
    if (rc == ERR_UNAUTHORIZED && a->ap_rl_fail)
        (void)ratelimit_take(a->ap_rl_fail, ip, strlen(ip), 1, http_clock_ms(), NULL);
    if (rc == ERR_RATE_LIMITED)
        p->ap_retry_after = retry ? retry : p->ap_retry_after;
    return rc;
}

/* Returns the access bits of p on vault (0: not in scope). */
unsigned api_auth_access(const struct api_principal *p, const char *vault)
{
    size_t i;

    for (i = 0; i < p->ap_nvaults; i++)
        if (strcmp(p->ap_vaults[i].tv_id, vault) == 0)
            return p->ap_vaults[i].tv_access;
    return 0;
}

/* Makes the rate limiters. See api_int.h. */
enum err api_ratelimit_init(struct api *a)
{
    double r = (double)a->ap_cfg->cf_rate_limit_rps;

    if (r <= 0)
        return ERR_OK;
    if (ratelimit_new(&a->ap_rl_token, r, API_RL_BURST_FACTOR * r) != ERR_OK ||
        ratelimit_new(&a->ap_rl_ip, API_RL_IP_FACTOR * r,
                      API_RL_IP_FACTOR * API_RL_BURST_FACTOR * r) != ERR_OK ||
        ratelimit_new(&a->ap_rl_fail, API_RL_FAIL_RPS, API_RL_FAIL_BURST) != ERR_OK)
        return ERR_NOMEM;
    return ERR_OK;
}
