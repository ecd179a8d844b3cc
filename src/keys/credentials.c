/*
 * credentials.c - the Connect server's credentials file: creation, strict parsing, and
 * unlocking with the unlock secret a token carries.
 *
 * Derivations (docs/credentials-file.md), with S the 32-byte unlock secret and salt the
 * 16 bytes of verifier.salt:
 *   localHash = HKDF-SHA-256(ikm S, salt, info "sesame credentials v1 verifier", 32 bytes)
 *   key       = HKDF-SHA-256(ikm S, salt, info "sesame credentials v1 encryption", 32 bytes)
 *   data      = AES-256-GCM(key, iv, plaintext, aad) = ciphertext || tag
 *   aad       = "sesame credentials v1" NUL deviceUuid
 *   plaintext = {"account":ID,"signingKey":P-256 JWK,"wrapKey":X25519 JWK}
 * The verifier is compared in constant time before any decryption is attempted.
 */
#include "keys/credentials.h"
#include "keys/keyjson.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/limits.h"
#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "crypto/kdf.h"
#include "keys/kit.h"

#define CRED_AAD_BYTES (sizeof(CREDENTIALS_AAD_PREFIX) + ID_LEN)

struct credentials {
    char cr_server[ID_LEN + 1];                  /* deviceUuid, lowercase */
    char cr_server_upper[ID_LEN + 1];            /* the same, uppercase */
    char *cr_hub_url;                            /* mem_strdup'ed */
    char *cr_hub_urls[CREDENTIALS_MAX_HUB_URLS]; /* hub.urls, mem_strdup'ed */
    size_t cr_nhub_urls;
    char cr_fingerprint[CREDENTIALS_FINGERPRINT_LEN + 1]; /* "" when absent */
    unsigned char cr_salt[CREDENTIALS_SALT_BYTES];
    unsigned char cr_local_hash[CREDENTIALS_HASH_BYTES];
    unsigned char cr_iv[AEAD_NONCE_BYTES];
    unsigned char *cr_data; /* ciphertext || tag (mem_alloc'ed) */
    size_t cr_data_len;
    struct jwk cr_unique;                                /* oct */
    struct jwk cr_signing[CREDENTIALS_MAX_SIGNING_KEYS]; /* public P-256 with kid */
    struct jws_key cr_trusted[CREDENTIALS_MAX_SIGNING_KEYS];
    size_t cr_nsigning;
    int cr_unlocked;
    char cr_account[ID_LEN + 1]; /* uppercase, once unlocked */
    struct jwk cr_server_sign;   /* P-256 private, once unlocked */
    struct jwk cr_server_wrap;   /* X25519 private, once unlocked */
};

/* ---- shared helpers ----------------------------------------------------------------- */

/* Copies a 26-character id of either case into out in the case asked; 1 if valid. */
static int cred_id_cased(char out[ID_LEN + 1], const char *id, int upper)
{
    size_t i;

    if (!id || strnlen(id, ID_LEN + 1) != ID_LEN)
        return 0;
    for (i = 0; i < ID_LEN; i++) {
        char c = id[i];
        if (upper && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (!upper && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        out[i] = c;
    }
    out[ID_LEN] = '\0';
    return upper ? id_is_valid_upper(out) : id_is_valid(out);
}

/* Writes the associated data: "sesame credentials v1" NUL server (lowercase). */
static void cred_aad(unsigned char aad[CRED_AAD_BYTES], const char *server)
{
    memcpy(aad, CREDENTIALS_AAD_PREFIX, sizeof(CREDENTIALS_AAD_PREFIX));
    memcpy(aad + sizeof(CREDENTIALS_AAD_PREFIX), server, ID_LEN);
}

/* HKDF-SHA-256 of the unlock secret with salt and info, 32 bytes into out. */
static enum err cred_derive(unsigned char out[32], const unsigned char *secret,
                            const unsigned char salt[CREDENTIALS_SALT_BYTES], const char *info)
{
    return kdf_hkdf_sha256(out, 32, secret, CREDENTIALS_UNLOCK_BYTES, salt, CREDENTIALS_SALT_BYTES,
                           (const unsigned char *)info, strlen(info));
}

/* Returns 1 if s is exactly 64 hex digits; writes the lowercase form to out when it is. */
static int cred_fingerprint_ok(char out[CREDENTIALS_FINGERPRINT_LEN + 1], const char *s, int lower)
{
    size_t i;

    if (strnlen(s, CREDENTIALS_FINGERPRINT_LEN + 1) != CREDENTIALS_FINGERPRINT_LEN)
        return 0;
    for (i = 0; i < CREDENTIALS_FINGERPRINT_LEN; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'F' && !lower)
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
        out[i] = c;
    }
    out[CREDENTIALS_FINGERPRINT_LEN] = '\0';
    return 1;
}

/* Returns 1 if url starts with https:// (any case), as a pinned hub's URL must. */
static int cred_is_https(const char *url)
{
    return strncasecmp(url, "https://", 8) == 0;
}

/*
 * Checks the further hub URLs urls[0..n) against the rules of hub.urls: each valid as
 * hub.url, none repeating hub.url or another, https:// only when the hub is pinned.
 * Returns 1 when they pass; else 0 with what is wrong in why (naming the entry, never
 * quoting a URL).
 */
static int cred_hub_urls_ok(const char *first, const char *const *urls, size_t n, int pinned,
                            char *why, size_t whycap)
{
    size_t i, j;

    if (n > CREDENTIALS_MAX_HUB_URLS) {
        (void)snprintf(why, whycap, "hub.urls has more than %d entries", CREDENTIALS_MAX_HUB_URLS);
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!urls[i] || !kit_hub_url_is_valid(urls[i])) {
            (void)snprintf(why, whycap, "hub.urls[%zu] is not an http:// or https:// URL", i);
            return 0;
        }
        if (pinned && !cred_is_https(urls[i])) {
            (void)snprintf(why, whycap,
                           "hub.urls[%zu] is not https:// although hub.tlsFingerprint pins the "
                           "hub's certificate",
                           i);
            return 0;
        }
        if (strcmp(urls[i], first) == 0) {
            (void)snprintf(why, whycap, "hub.urls[%zu] repeats hub.url", i);
            return 0;
        }
        for (j = 0; j < i; j++) {
            if (strcmp(urls[i], urls[j]) == 0) {
                (void)snprintf(why, whycap, "hub.urls[%zu] repeats hub.urls[%zu]", i, j);
                return 0;
            }
        }
    }
    return 1;
}

/* ---- generation and creation -------------------------------------------------------- */

/* Generates a server's keys and unlock secret; see credentials.h. */
enum err credentials_keys_generate(struct jwk *sign, struct jwk *wrap, unsigned char *unlock)
{
    enum err rc;

    memset(wrap, 0, sizeof(*wrap));
    rc = kit_jwk_generate(sign, JWK_EC_P256, NULL);
    if (rc == ERR_OK)
        rc = kit_jwk_generate(wrap, JWK_OKP_X25519, NULL);
    if (rc == ERR_OK)
        rc = crypto_random(unlock, CREDENTIALS_UNLOCK_BYTES);
    if (rc != ERR_OK) {
        jwk_clear(sign);
        jwk_clear(wrap);
        secmem_wipe(unlock, CREDENTIALS_UNLOCK_BYTES);
    }
    return rc;
}

/* Returns 1 if the parameters of credentials_create are acceptable. */
static int cred_params_ok(const struct credentials_params *p)
{
    char why[160];
    size_t i, j;

    if (!p || !p->cp_server_sign || p->cp_server_sign->jk_kind != JWK_EC_P256 ||
        !ecdsa_p256_has_private(p->cp_server_sign->jk_ec))
        return 0;
    if (!p->cp_server_wrap || p->cp_server_wrap->jk_kind != JWK_OKP_X25519 ||
        !p->cp_server_wrap->jk_secret)
        return 0;
    if (!p->cp_unlock || p->cp_unlock_len != CREDENTIALS_UNLOCK_BYTES)
        return 0;
    if (!kit_hub_url_is_valid(p->cp_hub_url))
        return 0;
    if ((p->cp_hub_url_count && !p->cp_hub_urls) ||
        !cred_hub_urls_ok(p->cp_hub_url, p->cp_hub_urls, p->cp_hub_url_count,
                          p->cp_tls_fingerprint != NULL, why, sizeof(why)))
        return 0;
    if (!p->cp_signing_keys || p->cp_nsigning == 0 || p->cp_nsigning > CREDENTIALS_MAX_SIGNING_KEYS)
        return 0;
    for (i = 0; i < p->cp_nsigning; i++) {
        const struct jwk *k = &p->cp_signing_keys[i];
        if (k->jk_kind != JWK_EC_P256 || !k->jk_ec || !k->jk_kid[0])
            return 0;
        for (j = 0; j < i; j++) {
            if (strcmp(p->cp_signing_keys[j].jk_kid, k->jk_kid) == 0)
                return 0;
        }
    }
    return 1;
}

/* Builds the plaintext of encCredentials (caller drops it with cred_text_drop). */
static char *cred_plaintext(const char *account, const struct credentials_params *p)
{
    json_t *o = json_object();
    char *text = NULL;

    if (o && !keyjson_set_str(o, "account", account) &&
        !json_object_set_new(o, "signingKey", jwk_to_json(p->cp_server_sign, 1)) &&
        !json_object_set_new(o, "wrapKey", jwk_to_json(p->cp_server_wrap, 1)))
        text = json_dumps(o, JSON_COMPACT);
    keyjson_drop(o);
    return text;
}

/* Builds the uniqueKey JWK: a fresh random oct key in Connect's shape. */
static json_t *cred_unique_key(void)
{
    struct jwk k;
    json_t *o = NULL, *ops = NULL;

    memset(&k, 0, sizeof(k));
    k.jk_kind = JWK_OCT_256;
    k.jk_secret = secmem_alloc(JWK_OCT_BYTES);
    if (!k.jk_secret || crypto_random(k.jk_secret, JWK_OCT_BYTES) != ERR_OK ||
        id_new(k.jk_kid) != ERR_OK)
        goto out;
    o = jwk_to_json(&k, 1);
    ops = json_pack("[ss]", "encrypt", "decrypt");
    if (!o || !ops || json_object_set_new(o, "ext", json_true()) ||
        json_object_set(o, "key_ops", ops)) {
        keyjson_drop(o);
        o = NULL;
    }
out:
    json_decref(ops);
    jwk_clear(&k);
    return o;
}

/* Builds the credentials file; see credentials.h. */
enum err credentials_create(struct buf *out, const struct credentials_params *p)
{
    unsigned char salt[CREDENTIALS_SALT_BYTES], iv[AEAD_NONCE_BYTES];
    unsigned char hash[CREDENTIALS_HASH_BYTES], aad[CRED_AAD_BYTES];
    char server[ID_LEN + 1], account[ID_LEN + 1];
    char fingerprint[CREDENTIALS_FINGERPRINT_LEN + 1];
    unsigned char *key = NULL, *ct = NULL;
    json_t *file = NULL, *o, *list, *urls;
    char *pt = NULL, *text = NULL;
    size_t ptlen = 0, i;
    enum err rc = ERR_BAD_INPUT;

    if (!out || !cred_params_ok(p) || !cred_id_cased(server, p->cp_server_id, 0) ||
        !cred_id_cased(account, p->cp_account_id, 1))
        goto out;
    if (p->cp_tls_fingerprint && !cred_fingerprint_ok(fingerprint, p->cp_tls_fingerprint, 0))
        goto out;

    rc = crypto_random(salt, sizeof(salt));
    if (rc == ERR_OK)
        rc = crypto_random(iv, sizeof(iv));
    if (rc != ERR_OK)
        goto out;
    rc = ERR_NOMEM;
    key = secmem_alloc(AEAD_KEY_BYTES);
    if (!key)
        goto out;
    rc = cred_derive(hash, p->cp_unlock, salt, CREDENTIALS_INFO_VERIFIER);
    if (rc == ERR_OK)
        rc = cred_derive(key, p->cp_unlock, salt, CREDENTIALS_INFO_ENCRYPTION);
    if (rc != ERR_OK)
        goto out;

    rc = ERR_NOMEM;
    pt = cred_plaintext(account, p);
    if (!pt)
        goto out;
    ptlen = strlen(pt);
    rc = ERR_TOO_LARGE;
    if (ptlen + AEAD_TAG_BYTES > CREDENTIALS_MAX_DATA_BYTES)
        goto out;
    rc = ERR_NOMEM;
    ct = mem_alloc(ptlen + AEAD_TAG_BYTES);
    if (!ct)
        goto out;
    cred_aad(aad, server);
    rc = aead_aes256gcm_encrypt(ct, (const unsigned char *)pt, ptlen, aad, sizeof(aad), iv, key);
    if (rc != ERR_OK)
        goto out;

    /* Member order as in Connect's files, then Sesame's additions. */
    rc = ERR_NOMEM;
    file = json_object();
    if (!file)
        goto out;
    o = json_object();
    if (json_object_set_new(file, "verifier", o) ||
        keyjson_set_b64(o, "salt", salt, sizeof(salt)) ||
        keyjson_set_b64(o, "localHash", hash, sizeof(hash)))
        goto out;
    o = json_object();
    if (json_object_set_new(file, "encCredentials", o) ||
        keyjson_set_str(o, "kid", CREDENTIALS_ENC_KID) ||
        keyjson_set_str(o, "enc", CREDENTIALS_ENC_ALG) ||
        keyjson_set_str(o, "cty", CREDENTIALS_ENC_CTY) ||
        keyjson_set_b64(o, "iv", iv, sizeof(iv)) ||
        keyjson_set_b64(o, "data", ct, ptlen + AEAD_TAG_BYTES))
        goto out;
    if (keyjson_set_str(file, "version", CREDENTIALS_VERSION) ||
        keyjson_set_str(file, "deviceUuid", server) ||
        json_object_set_new(file, "uniqueKey", cred_unique_key()))
        goto out;
    o = json_object();
    if (json_object_set_new(file, "hub", o) || keyjson_set_str(o, "url", p->cp_hub_url))
        goto out;
    if (p->cp_hub_url_count > 0) { /* only then: files without replicas stay as they were */
        urls = json_array();
        if (json_object_set_new(o, "urls", urls))
            goto out;
        for (i = 0; i < p->cp_hub_url_count; i++) {
            if (json_array_append_new(urls, json_string(p->cp_hub_urls[i])))
                goto out;
        }
    }
    if (p->cp_tls_fingerprint && keyjson_set_str(o, "tlsFingerprint", fingerprint))
        goto out;
    list = json_array();
    if (json_object_set_new(file, "signingKeys", list))
        goto out;
    for (i = 0; i < p->cp_nsigning; i++) {
        if (json_array_append_new(list, jwk_to_json(&p->cp_signing_keys[i], 0)))
            goto out;
    }
    text = json_dumps(file, JSON_COMPACT);
    if (!text)
        goto out;
    rc = buf_add_str(out, text);
out:
    keyjson_drop(file); /* uniqueKey's k */
    keyjson_text_drop(text);
    keyjson_text_drop(pt);
    secmem_free(key);
    mem_free(ct);
    secmem_wipe(hash, sizeof(hash));
    return rc;
}

/* ---- parsing ------------------------------------------------------------------------ */

/* Writes "credentials file: detail" to errmsg and returns rc. */
static enum err cred_fail(char *errmsg, size_t errcap, enum err rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum err cred_fail(char *errmsg, size_t errcap, enum err rc, const char *fmt, ...)
{
    char detail[256];
    va_list ap;

    va_start(ap, fmt);
    (void)err_vmsgf(rc, detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return err_msgf(rc, errmsg, errcap, "credentials file: %s", detail);
}

/* Returns 1 if obj[name] is a string equal to want. */
static int cred_str_is(const json_t *obj, const char *name, const char *want)
{
    const json_t *v = json_object_get(obj, name);

    return json_is_string(v) && json_string_length(v) == strlen(want) &&
           memcmp(json_string_value(v), want, json_string_length(v)) == 0;
}

/* Decodes obj[name], unpadded base64url of exactly n bytes, into out. 1 on success. */
static int cred_get_b64_exact(const json_t *obj, const char *name, unsigned char *out, size_t n)
{
    const json_t *v = json_object_get(obj, name);
    size_t got = 0;

    if (!json_is_string(v) || json_string_length(v) != codec_b64_encoded_len(n, 0))
        return 0;
    return codec_b64_decode(out, n, &got, json_string_value(v), json_string_length(v),
                            CODEC_B64_URL) == ERR_OK &&
           got == n;
}

/* Parses the verifier and encCredentials objects into c. */
static enum err cred_parse_envelope(struct credentials *c, const json_t *root, char *errmsg,
                                    size_t errcap)
{
    const json_t *ver = json_object_get(root, "verifier");
    const json_t *enc = json_object_get(root, "encCredentials");
    const json_t *data;
    size_t cap, got = 0;

    if (!json_is_object(ver))
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT, "verifier is missing or not an object");
    if (!cred_get_b64_exact(ver, "salt", c->cr_salt, sizeof(c->cr_salt)))
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT,
                         "verifier.salt is not %d bytes of base64url", CREDENTIALS_SALT_BYTES);
    if (!cred_get_b64_exact(ver, "localHash", c->cr_local_hash, sizeof(c->cr_local_hash)))
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT,
                         "verifier.localHash is not %d bytes of base64url", CREDENTIALS_HASH_BYTES);

    if (!json_is_object(enc))
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT,
                         "encCredentials is missing or not an object");
    if (!cred_str_is(enc, "kid", CREDENTIALS_ENC_KID) ||
        !cred_str_is(enc, "enc", CREDENTIALS_ENC_ALG) ||
        !cred_str_is(enc, "cty", CREDENTIALS_ENC_CTY))
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT,
                         "encCredentials must have kid \"" CREDENTIALS_ENC_KID
                         "\", enc \"" CREDENTIALS_ENC_ALG "\" and cty \"" CREDENTIALS_ENC_CTY "\"");
    if (!cred_get_b64_exact(enc, "iv", c->cr_iv, sizeof(c->cr_iv)))
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT,
                         "encCredentials.iv is not %d bytes of "
                         "base64url",
                         AEAD_NONCE_BYTES);
    data = json_object_get(enc, "data");
    if (!json_is_string(data) ||
        json_string_length(data) > codec_b64_encoded_len(CREDENTIALS_MAX_DATA_BYTES, 0))
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT,
                         "encCredentials.data is missing or longer than %d bytes",
                         CREDENTIALS_MAX_DATA_BYTES);
    cap = codec_b64_decoded_max(json_string_length(data)) + 1;
    c->cr_data = mem_alloc(cap);
    if (!c->cr_data)
        return cred_fail(errmsg, errcap, ERR_NOMEM, "out of memory");
    if (codec_b64_decode(c->cr_data, cap, &got, json_string_value(data), json_string_length(data),
                         CODEC_B64_URL) != ERR_OK ||
        got <= AEAD_TAG_BYTES)
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT,
                         "encCredentials.data is not base64url of a ciphertext and its tag");
    c->cr_data_len = got;
    return ERR_OK;
}

/*
 * Parses hub.urls (v; absent: no further URL) into c, whose hub.url and tlsFingerprint are
 * already read: an array of 1..CREDENTIALS_MAX_HUB_URLS strings (cred_hub_urls_problem).
 */
static enum err cred_parse_hub_urls(struct credentials *c, const json_t *v, char *errmsg,
                                    size_t errcap)
{
    char why[160];
    const json_t *e;
    size_t i;

    if (!v)
        return ERR_OK;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT, "hub.urls is not a non-empty array");
    if (json_array_size(v) > CREDENTIALS_MAX_HUB_URLS)
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT, "hub.urls has more than %d entries",
                         CREDENTIALS_MAX_HUB_URLS);
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e))
            return cred_fail(errmsg, errcap, ERR_BAD_INPUT,
                             "hub.urls[%zu] is not an http:// or https:// URL", i);
        c->cr_hub_urls[i] = mem_strdup(json_string_value(e));
        if (!c->cr_hub_urls[i])
            return cred_fail(errmsg, errcap, ERR_NOMEM, "out of memory");
        c->cr_nhub_urls = i + 1;
    }
    if (!cred_hub_urls_ok(c->cr_hub_url, (const char *const *)c->cr_hub_urls, c->cr_nhub_urls,
                          c->cr_fingerprint[0] != '\0', why, sizeof(why)))
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT, "%s", why);
    return ERR_OK;
}

/* Parses hub and signingKeys into c. */
static enum err cred_parse_hub_keys(struct credentials *c, const json_t *root, char *errmsg,
                                    size_t errcap)
{
    const json_t *hub = json_object_get(root, "hub"), *v, *list, *e;
    enum err rc;
    size_t i, j;

    if (!json_is_object(hub))
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT,
                         "hub is missing or not an object (not a Sesame credentials file?)");
    v = json_object_get(hub, "url");
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
        !kit_hub_url_is_valid(json_string_value(v)))
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT,
                         "hub.url is not an http:// or https:// URL");
    c->cr_hub_url = mem_strdup(json_string_value(v));
    if (!c->cr_hub_url)
        return cred_fail(errmsg, errcap, ERR_NOMEM, "out of memory");
    v = json_object_get(hub, "tlsFingerprint");
    if (v && (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
              !cred_fingerprint_ok(c->cr_fingerprint, json_string_value(v), 1)))
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT,
                         "hub.tlsFingerprint is not 64 lowercase hex digits");
    rc = cred_parse_hub_urls(c, json_object_get(hub, "urls"), errmsg, errcap);
    if (rc != ERR_OK)
        return rc;

    list = json_object_get(root, "signingKeys");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT, "signingKeys is not a non-empty array");
    if (json_array_size(list) > CREDENTIALS_MAX_SIGNING_KEYS)
        return cred_fail(errmsg, errcap, ERR_BAD_INPUT, "signingKeys has more than %d keys",
                         CREDENTIALS_MAX_SIGNING_KEYS);
    json_array_foreach(list, i, e)
    {
        struct jwk *k = &c->cr_signing[i];

        if (json_is_object(e) && json_object_get(e, "d"))
            return cred_fail(errmsg, errcap, ERR_BAD_INPUT, "signingKeys[%zu] holds a private key",
                             i);
        rc = jwk_from_json(k, e);
        if (rc == ERR_NOMEM)
            return cred_fail(errmsg, errcap, rc, "out of memory");
        if (rc != ERR_OK)
            return cred_fail(errmsg, errcap, ERR_BAD_INPUT,
                             "signingKeys[%zu] is not a valid public P-256 JWK", i);
        c->cr_nsigning = i + 1;
        if (k->jk_kind != JWK_EC_P256)
            return cred_fail(errmsg, errcap, ERR_BAD_INPUT,
                             "signingKeys[%zu] is not a valid public P-256 JWK", i);
        if (!k->jk_kid[0])
            return cred_fail(errmsg, errcap, ERR_BAD_INPUT, "signingKeys[%zu] has no kid", i);
        for (j = 0; j < i; j++) {
            if (strcmp(c->cr_signing[j].jk_kid, k->jk_kid) == 0)
                return cred_fail(errmsg, errcap, ERR_BAD_INPUT,
                                 "signingKeys[%zu] repeats the kid of signingKeys[%zu]", i, j);
        }
        c->cr_trusted[i].jk_kid = k->jk_kid;
        c->cr_trusted[i].jk_key = k->jk_ec;
    }
    return ERR_OK;
}

/* Parses a credentials file; see credentials.h. */
enum err credentials_parse(struct credentials **out, const char *json, size_t len, char *errmsg,
                           size_t errcap)
{
    struct credentials *c = NULL;
    json_error_t jerr;
    json_t *root = NULL;
    const json_t *v;
    enum err rc;

    *out = NULL;
    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (!json) {
        rc = cred_fail(errmsg, errcap, ERR_BAD_INPUT, "empty");
        goto out;
    }
    if (len > CONFIG_MAX_SESSION_BYTES) {
        rc = err_msgf(ERR_TOO_LARGE, errmsg, errcap, "credentials file is larger than %u bytes",
                      CONFIG_MAX_SESSION_BYTES);
        goto out;
    }
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                      "credentials file is not valid JSON (line %d, column %d)", jerr.line,
                      jerr.column);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap, "credentials file is not a JSON object");
        goto out;
    }
    /* First, as Connect does: the usual mistake is another JSON document entirely. */
    if (!cred_str_is(root, "version", CREDENTIALS_VERSION)) {
        rc = err_msgf(ERR_BAD_INPUT, errmsg, errcap, "credentials file is not version 2");
        goto out;
    }
    c = mem_calloc(1, sizeof(*c));
    if (!c) {
        rc = cred_fail(errmsg, errcap, ERR_NOMEM, "out of memory");
        goto out;
    }
    v = json_object_get(root, "deviceUuid");
    if (!json_is_string(v) || json_string_length(v) != ID_LEN ||
        !id_is_valid(json_string_value(v))) {
        rc = cred_fail(errmsg, errcap, ERR_BAD_INPUT,
                       "deviceUuid is not a 26-character lowercase server id");
        goto out;
    }
    memcpy(c->cr_server, json_string_value(v), ID_LEN + 1);
    (void)cred_id_cased(c->cr_server_upper, c->cr_server, 1);

    rc = cred_parse_envelope(c, root, errmsg, errcap);
    if (rc != ERR_OK)
        goto out;
    v = json_object_get(root, "uniqueKey");
    rc = v ? jwk_from_json(&c->cr_unique, v) : ERR_BAD_INPUT;
    if (rc == ERR_OK && c->cr_unique.jk_kind != JWK_OCT_256)
        rc = ERR_BAD_INPUT;
    if (rc != ERR_OK) {
        rc = cred_fail(errmsg, errcap, rc == ERR_NOMEM ? rc : ERR_BAD_INPUT,
                       "uniqueKey is not a 256-bit oct JWK");
        goto out;
    }
    rc = cred_parse_hub_keys(c, root, errmsg, errcap);
    if (rc != ERR_OK)
        goto out;
    *out = c;
    c = NULL;
out:
    credentials_free(c);
    keyjson_drop(root); /* uniqueKey's k */
    return rc;
}

/* ---- unlocking ---------------------------------------------------------------------- */

/* Checks a secret against the verifier; see credentials.h. */
enum err credentials_check_secret(const struct credentials *c, const unsigned char *secret,
                                  size_t len)
{
    unsigned char hash[CREDENTIALS_HASH_BYTES];
    enum err rc;

    if (!c || !secret || len != CREDENTIALS_UNLOCK_BYTES)
        return ERR_UNAUTHORIZED;
    rc = cred_derive(hash, secret, c->cr_salt, CREDENTIALS_INFO_VERIFIER);
    if (rc == ERR_OK && !crypto_memeq(hash, c->cr_local_hash, sizeof(hash)))
        rc = ERR_UNAUTHORIZED;
    secmem_wipe(hash, sizeof(hash));
    return rc;
}

/* Loads the decrypted plaintext (JSON) into the unlocked members of c. */
static enum err cred_load_secrets(struct credentials *c, const unsigned char *pt, size_t ptlen)
{
    struct jwk sign, wrap;
    json_t *o;
    const json_t *v;
    enum err rc = ERR_BAD_INPUT;

    memset(&sign, 0, sizeof(sign));
    memset(&wrap, 0, sizeof(wrap));
    o = json_loadb((const char *)pt, ptlen, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o))
        goto out;
    v = json_object_get(o, "account");
    if (!json_is_string(v) || json_string_length(v) != ID_LEN ||
        !id_is_valid_upper(json_string_value(v)))
        goto out;
    rc = jwk_from_json(&sign, json_object_get(o, "signingKey"));
    if (rc == ERR_OK)
        rc = jwk_from_json(&wrap, json_object_get(o, "wrapKey"));
    if (rc != ERR_OK)
        goto out;
    rc = ERR_BAD_INPUT;
    if (sign.jk_kind != JWK_EC_P256 || !ecdsa_p256_has_private(sign.jk_ec) ||
        wrap.jk_kind != JWK_OKP_X25519 || !wrap.jk_secret)
        goto out;
    memcpy(c->cr_account, json_string_value(v), ID_LEN + 1);
    c->cr_server_sign = sign;
    c->cr_server_wrap = wrap;
    memset(&sign, 0, sizeof(sign));
    memset(&wrap, 0, sizeof(wrap));
    c->cr_unlocked = 1;
    rc = ERR_OK;
out:
    jwk_clear(&sign);
    jwk_clear(&wrap);
    keyjson_drop(o);
    return rc;
}

/* Unlocks c with the unlock secret; see credentials.h. */
enum err credentials_unlock(struct credentials *c, const unsigned char *secret, size_t len)
{
    unsigned char aad[CRED_AAD_BYTES];
    unsigned char *key = NULL, *pt = NULL;
    size_t ptlen;
    enum err rc;

    /* The verifier first: a wrong secret never reaches the decryption. */
    rc = credentials_check_secret(c, secret, len);
    if (rc != ERR_OK || c->cr_unlocked)
        goto out;
    ptlen = c->cr_data_len - AEAD_TAG_BYTES;
    rc = ERR_NOMEM;
    key = secmem_alloc(AEAD_KEY_BYTES);
    pt = secmem_alloc(ptlen);
    if (!key || !pt)
        goto out;
    rc = cred_derive(key, secret, c->cr_salt, CREDENTIALS_INFO_ENCRYPTION);
    if (rc != ERR_OK)
        goto out;
    cred_aad(aad, c->cr_server);
    rc = aead_aes256gcm_decrypt(pt, c->cr_data, c->cr_data_len, aad, sizeof(aad), c->cr_iv, key);
    if (rc != ERR_OK) {
        rc = ERR_CRYPTO;
        goto out;
    }
    rc = cred_load_secrets(c, pt, ptlen);
out:
    if (pt)
        secmem_wipe(pt, c->cr_data_len - AEAD_TAG_BYTES);
    secmem_free(pt);
    secmem_free(key);
    return rc;
}

/* Frees c; see credentials.h. */
void credentials_free(struct credentials *c)
{
    size_t i;

    if (!c)
        return;
    for (i = 0; i < c->cr_nsigning; i++)
        jwk_clear(&c->cr_signing[i]);
    jwk_clear(&c->cr_unique);
    jwk_clear(&c->cr_server_sign);
    jwk_clear(&c->cr_server_wrap);
    mem_free(c->cr_hub_url);
    for (i = 0; i < c->cr_nhub_urls; i++)
        mem_free(c->cr_hub_urls[i]);
    mem_free(c->cr_data);
    secmem_wipe(c, sizeof(*c));
    mem_free(c);
}

/* ---- accessors ---------------------------------------------------------------------- */

/* Returns the server id, lowercase. */
const char *credentials_server_id(const struct credentials *c)
{
    return c->cr_server;
}

/* Returns the server id, uppercase. */
const char *credentials_server_id_upper(const struct credentials *c)
{
    return c->cr_server_upper;
}

/* Returns the hub URL. */
const char *credentials_hub_url(const struct credentials *c)
{
    return c->cr_hub_url;
}

/* Returns how many hub URLs: hub.url and hub.urls. */
size_t credentials_hub_url_count(const struct credentials *c)
{
    return 1 + c->cr_nhub_urls;
}

/* Returns hub URL i (0: hub.url), or NULL past the end. */
const char *credentials_hub_url_at(const struct credentials *c, size_t i)
{
    if (i == 0)
        return c->cr_hub_url;
    return i <= c->cr_nhub_urls ? c->cr_hub_urls[i - 1] : NULL;
}

/* Returns the TLS fingerprint, or NULL. */
const char *credentials_tls_fingerprint(const struct credentials *c)
{
    return c->cr_fingerprint[0] ? c->cr_fingerprint : NULL;
}

/* Returns the uniqueKey. */
const struct jwk *credentials_unique_key(const struct credentials *c)
{
    return &c->cr_unique;
}

/* Returns the trusted token-signing keys. */
const struct jws_key *credentials_signing_keys(const struct credentials *c, size_t *n)
{
    *n = c->cr_nsigning;
    return c->cr_trusted;
}

/* Returns 1 once unlocked. */
int credentials_is_unlocked(const struct credentials *c)
{
    return c->cr_unlocked;
}

/* Returns the account id once unlocked. */
const char *credentials_account_id(const struct credentials *c)
{
    return c->cr_unlocked ? c->cr_account : NULL;
}

/* Returns the server signing key once unlocked. */
const struct jwk *credentials_server_signing_key(const struct credentials *c)
{
    return c->cr_unlocked ? &c->cr_server_sign : NULL;
}

/* Returns the server wrap key once unlocked. */
const struct jwk *credentials_server_wrap_key(const struct credentials *c)
{
    return c->cr_unlocked ? &c->cr_server_wrap : NULL;
}
