/*
 * kit.h - the account kit: the file an administrator keeps (docs/crypto.md "Account kit").
 *
 * One JSON file, mode 0600, written atomically (temporary file in the same directory,
 * fsync, rename, fsync of the directory), holding: version 1, the hub URL, the account id
 * (uppercase), the admin signing key (P-256), the admin wrap key (X25519) and the
 * token-signing keys ({kid, created, P-256 key}, oldest first; the last one is current).
 * With a passphrase the keys are sealed with AES-256-GCM under a key from Argon2id; the
 * parameters and salt are stored in the file and bounded when read.
 *
 * Private keys live only inside struct jwk (secure memory / OpenSSL); the JSON text that
 * carries them is wiped before it is freed.
 */
#ifndef SESAME_KEYS_KIT_H
#define SESAME_KEYS_KIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/ids.h"
#include "crypto/jwk.h"

#define KIT_VERSION          1
#define KIT_TYPE             "sesame-account-kit" /* the file's "type" member */
#define KIT_MAX_BYTES        (256u << 10)         /* the largest kit file read */
#define KIT_MAX_SIGNING_KEYS 32                   /* token-signing keys kept in one kit */
#define KIT_MAX_URL_BYTES    2048                 /* a hub URL */
#define KIT_MAX_PASSPHRASE   1024                 /* bytes of a passphrase */

struct kit;

/* Argon2id parameters for kit_save_params (tests use small ones). */
struct kit_kdf_params {
    unsigned long long kp_opslimit; /* passes, KDF_ARGON2ID_OPS_MIN..MAX */
    size_t kp_memlimit;             /* bytes, KDF_ARGON2ID_MEM_MIN..MAX */
};

/*
 * Returns 1 if url is an acceptable hub URL: "http://" or "https://" followed by at least
 * one character, at most KIT_MAX_URL_BYTES in all, visible ASCII only (no space, no
 * control or non-ASCII byte), no fragment ('#'). 0 otherwise.
 */
int kit_hub_url_is_valid(const char *url);

/*
 * Generates a fresh key of kind JWK_EC_P256 or JWK_OKP_X25519 into *out (zeroed first),
 * with kid (NULL or "" for none). The private half is in secure memory / OpenSSL.
 * Returns ERR_OK, ERR_BAD_INPUT (kind or kid), ERR_NOMEM or ERR_CRYPTO; on error *out holds
 * nothing to free.
 */
enum err kit_jwk_generate(struct jwk *out, enum jwk_kind kind, const char *kid) SESAME_WUR;

/*
 * Makes a new kit for hub_url: a new uppercase account id, admin signing and wrap keys, and
 * one token-signing key (kid a new lowercase id, created now). *out receives it (caller
 * kit_free()s); NULL on error. Returns ERR_OK, ERR_BAD_INPUT (URL), ERR_NOMEM or ERR_CRYPTO.
 */
enum err kit_generate(struct kit **out, const char *hub_url) SESAME_WUR;

/*
 * Writes k to path atomically with mode 0600, replacing any file there. passphrase NULL:
 * keys in clear (the file's mode is the only protection); otherwise (1..KIT_MAX_PASSPHRASE
 * bytes) the keys are sealed under Argon2id(passphrase) with the default parameters
 * (KDF_ARGON2ID_OPS_DEFAULT, KDF_ARGON2ID_MEM_DEFAULT). Never leaves a partial file at path.
 * Returns ERR_OK, ERR_BAD_INPUT, ERR_NOMEM, ERR_CRYPTO or ERR_IO.
 */
enum err kit_save(const struct kit *k, const char *path, const char *passphrase) SESAME_WUR;

/* kit_save with explicit Argon2id parameters (params NULL = the defaults). Errors as kit_save. */
enum err kit_save_params(const struct kit *k, const char *path, const char *passphrase,
                         const struct kit_kdf_params *params) SESAME_WUR;

/*
 * Reads the kit at path into *out (caller kit_free()s; NULL on error). The file must be a
 * regular file of at most KIT_MAX_BYTES with no permission bits for group or others
 * (refused like ssh refuses a private key: "permissions 0644 are too open").
 * passphrase is needed for a protected kit and ignored for an unprotected one
 * (kit_is_protected tells which it was). Every failure writes one line to errmsg naming
 * the file and what is wrong (never a secret). Returns ERR_OK, ERR_IO (cannot open or
 * read), ERR_CONFIG (permissions), ERR_BAD_INPUT (not a valid kit, or too large),
 * ERR_UNAUTHORIZED (protected and no passphrase, or wrong passphrase / modified file),
 * ERR_NOMEM or ERR_CRYPTO.
 */
enum err kit_load(struct kit **out, const char *path, const char *passphrase, char *errmsg,
                  size_t errcap) SESAME_WUR;

/* Frees k and wipes its keys. NULL is fine. */
void kit_free(struct kit *k);

/* Returns the hub URL (owned by k). */
const char *kit_hub_url(const struct kit *k);

/* Returns the account id, ID_LEN uppercase characters (owned by k). */
const char *kit_account_id(const struct kit *k);

/* Returns 1 if k was loaded from a passphrase-protected file. */
int kit_is_protected(const struct kit *k);

/* Returns the admin signing key (P-256 with its private half; owned by k). */
const struct jwk *kit_admin_signing_key(const struct kit *k);

/* Returns the admin wrap key (X25519 with its secret; owned by k). */
const struct jwk *kit_admin_wrap_key(const struct kit *k);

/* Returns the number of token-signing keys (at least 1 in any valid kit). */
size_t kit_signing_key_count(const struct kit *k);

/*
 * Returns token-signing key i (0 = oldest; P-256 private, its jk_kid is the kid; owned by
 * k) and its creation time in *created (if not NULL); NULL if i is out of range.
 */
const struct jwk *kit_signing_key(const struct kit *k, size_t i, int64_t *created);

/* Returns the current (newest) token-signing key, or NULL if there is none. */
const struct jwk *kit_signing_key_current(const struct kit *k);

/*
 * Adds a new token-signing key (kid a new lowercase id, created at now), which becomes
 * current. Returns ERR_OK, ERR_TOO_LARGE (KIT_MAX_SIGNING_KEYS reached), ERR_BAD_INPUT
 * (now before the current key's creation time), ERR_NOMEM or ERR_CRYPTO.
 */
enum err kit_signing_key_rotate(struct kit *k, int64_t now) SESAME_WUR;

/*
 * Removes the token-signing key kid (tokens it signed stop verifying once the hub and the
 * credentials files drop it too). The current key cannot be removed. Returns ERR_OK,
 * ERR_NOT_FOUND, or ERR_BAD_INPUT (it is the current key).
 */
enum err kit_signing_key_remove(struct kit *k, const char *kid) SESAME_WUR;

#endif
