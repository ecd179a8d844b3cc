/*
 * credentials.h - the Connect server's credentials file (1password-credentials.json) in
 * Connect's shape, with Sesame's additions (docs/credentials-file.md):
 *
 *   {"verifier":{"salt","localHash"},
 *    "encCredentials":{"kid":"localauthv2keykid","enc":"A256GCM","cty":"b5+jwk+json",
 *                      "iv","data"},
 *    "version":"2","deviceUuid":<server id, lowercase>,"uniqueKey":<oct JWK>,
 *    "hub":{"url","urls"?,"tlsFingerprint"?},"signingKeys":[<public P-256 JWKs with kid>]}
 *
 * encCredentials holds the server's secret keys (P-256 signing key and X25519 wrap key)
 * and the account id, sealed with AES-256-GCM under HKDF-SHA-256 of the server's unlock
 * secret, which only tokens carry (claim "1password.com/token"). The verifier lets a wrong
 * secret be refused before anything is decrypted. Parsing needs no secret; unlocking does.
 */
#ifndef SESAME_KEYS_CREDENTIALS_H
#define SESAME_KEYS_CREDENTIALS_H

#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/ids.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"

#define CREDENTIALS_UNLOCK_BYTES     32   /* the unlock secret */
#define CREDENTIALS_SALT_BYTES       16   /* verifier.salt */
#define CREDENTIALS_HASH_BYTES       32   /* verifier.localHash */
#define CREDENTIALS_MAX_SIGNING_KEYS 32   /* signingKeys entries */
#define CREDENTIALS_MAX_DATA_BYTES   8192 /* encCredentials.data, decoded */
#define CREDENTIALS_FINGERPRINT_LEN  64   /* hub.tlsFingerprint: lowercase hex of SHA-256 */
#define CREDENTIALS_MAX_HUB_URLS     8    /* hub.urls entries (further hub replicas) */
#define CREDENTIALS_ENC_KID          "localauthv2keykid"
#define CREDENTIALS_ENC_ALG          "A256GCM"
#define CREDENTIALS_ENC_CTY          "b5+jwk+json"
#define CREDENTIALS_VERSION          "2"
#define CREDENTIALS_INFO_ENCRYPTION  "sesame credentials v1 encryption"
#define CREDENTIALS_INFO_VERIFIER    "sesame credentials v1 verifier"
#define CREDENTIALS_AAD_PREFIX       "sesame credentials v1"

struct credentials;

/* What credentials_create needs. Every pointer is borrowed. */
struct credentials_params {
    const char *cp_server_id;          /* 26 characters, either case (written lowercase) */
    const char *cp_account_id;         /* 26 characters, either case (written uppercase) */
    const struct jwk *cp_server_sign;  /* P-256 with its private half */
    const struct jwk *cp_server_wrap;  /* X25519 with its secret */
    const unsigned char *cp_unlock;    /* the unlock secret */
    size_t cp_unlock_len;              /* must be CREDENTIALS_UNLOCK_BYTES */
    const char *cp_hub_url;            /* kit_hub_url_is_valid: the first, preferred hub */
    const char *const *cp_hub_urls;    /* further hub URLs (replicas), written as hub.urls */
    size_t cp_hub_url_count;           /* 0..CREDENTIALS_MAX_HUB_URLS; each valid, all
                                          distinct from each other and from cp_hub_url */
    const char *cp_tls_fingerprint;    /* NULL, or 64 hex digits (written lowercase) */
    const struct jwk *cp_signing_keys; /* token-signing keys (only public halves written) */
    size_t cp_nsigning;                /* 1..CREDENTIALS_MAX_SIGNING_KEYS, kids distinct */
};

/*
 * Generates a server's secret material: a P-256 signing key, an X25519 wrap key and a
 * 32-byte unlock secret (unlock must be CREDENTIALS_UNLOCK_BYTES of secure memory).
 * Returns ERR_OK, ERR_NOMEM or ERR_CRYPTO; on error nothing is left to free.
 */
enum err credentials_keys_generate(struct jwk *sign, struct jwk *wrap,
                                   unsigned char *unlock) SESAME_WUR;

/*
 * Builds the credentials file for p and appends its JSON text to out (fresh salt, IV and
 * uniqueKey each time). The text holds no secret in clear; the plaintext of encCredentials
 * is wiped. Returns ERR_OK, ERR_BAD_INPUT (a parameter is invalid), ERR_TOO_LARGE, ERR_NOMEM
 * or ERR_CRYPTO. On error nothing is appended (a failed append empties out, as buf_add does).
 */
enum err credentials_create(struct buf *out, const struct credentials_params *p) SESAME_WUR;

/*
 * Parses and validates len bytes of credentials file JSON into *out (caller
 * credentials_free()s; NULL on error). No secret is needed. Every failure writes one line
 * to errmsg that never quotes the file ("credentials file is not version 2", "credentials
 * file: verifier.salt is not 16 bytes of base64url", ...). Returns ERR_OK, ERR_BAD_INPUT,
 * ERR_TOO_LARGE (over CONFIG_MAX_SESSION_BYTES) or ERR_NOMEM.
 */
enum err credentials_parse(struct credentials **out, const char *json, size_t len, char *errmsg,
                           size_t errcap) SESAME_WUR;

/*
 * Checks an unlock secret against verifier.localHash (constant time) without decrypting.
 * Returns ERR_OK, ERR_UNAUTHORIZED (wrong secret or wrong length) or ERR_CRYPTO.
 */
enum err credentials_check_secret(const struct credentials *c, const unsigned char *secret,
                                  size_t len) SESAME_WUR;

/*
 * Unlocks c with the unlock secret: checks it against the verifier first (a wrong secret
 * is ERR_UNAUTHORIZED and nothing is decrypted), then decrypts encCredentials and loads
 * the server keys and the account id. Already unlocked: only the verifier check is made.
 * Returns ERR_OK, ERR_UNAUTHORIZED, ERR_CRYPTO (the secret is right but encCredentials does
 * not decrypt: the file was damaged or modified), ERR_BAD_INPUT (it decrypts to something
 * that is not valid credentials) or ERR_NOMEM. On error c stays as it was.
 */
enum err credentials_unlock(struct credentials *c, const unsigned char *secret,
                            size_t len) SESAME_WUR;

/* Frees c, wiping every key. NULL is fine. */
void credentials_free(struct credentials *c);

/* Returns the server id (deviceUuid), lowercase. */
const char *credentials_server_id(const struct credentials *c);

/* Returns the server id in uppercase (the form of the token's sub). */
const char *credentials_server_id_upper(const struct credentials *c);

/* Returns the hub URL (hub.url: the first, preferred hub). */
const char *credentials_hub_url(const struct credentials *c);

/* Returns how many hub URLs the file lists: 1 (hub.url) + the entries of hub.urls. */
size_t credentials_hub_url_count(const struct credentials *c);

/*
 * Returns hub URL i in the file's order: 0 is hub.url, 1.. the entries of hub.urls; NULL
 * when i >= credentials_hub_url_count(c). Owned by c.
 */
const char *credentials_hub_url_at(const struct credentials *c, size_t i);

/* Returns the hub's TLS certificate fingerprint (64 lowercase hex digits), or NULL. */
const char *credentials_tls_fingerprint(const struct credentials *c);

/* Returns the uniqueKey (an oct key; owned by c). */
const struct jwk *credentials_unique_key(const struct credentials *c);

/*
 * Returns the token-signing keys as trusted keys for token_verify / jws_verify_es256
 * (owned by c; *n receives how many, at least 1).
 */
const struct jws_key *credentials_signing_keys(const struct credentials *c, size_t *n);

/* Returns 1 once credentials_unlock has succeeded. */
int credentials_is_unlocked(const struct credentials *c);

/* Returns the account id (uppercase) once unlocked, NULL before. */
const char *credentials_account_id(const struct credentials *c);

/* Returns the server signing key (P-256 private) once unlocked, NULL before. */
const struct jwk *credentials_server_signing_key(const struct credentials *c);

/* Returns the server wrap key (X25519 private) once unlocked, NULL before. */
const struct jwk *credentials_server_wrap_key(const struct credentials *c);

#endif
