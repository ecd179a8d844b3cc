/*
 * vaultcrypt.h - the encryption of vault contents, shared by the admin CLI (which writes
 * through the hub) and the Connect server's sync and api (which read and write through
 * sync): vault keys, wrapping them to X25519 wrap keys, and sealing vault attributes, item
 * overviews and details, and file contents under a vault key with associated data that
 * binds each ciphertext to its place (docs/crypto.md "Nonces and associated data",
 * docs/hub-api.md "Keys").
 *
 *   vault attributes: "sesame vault v1" 0x00 vault_id
 *   item part:        "sesame item v1" 0x00 vault_id 0x00 item_id 0x00 version (8 bytes BE)
 *                     0x00 "overview" | "details"
 *   file contents:    "sesame file v1" 0x00 vault_id 0x00 file_id
 *
 * (ids lowercase). Ciphertexts are aead_seal outputs (nonce || ciphertext || tag). JSON
 * parts are the compact serialisation of a JSON object; a part that opens but is not a
 * JSON object is ERR_CRYPTO, as is any ciphertext that does not open.
 *
 * Vault keys (VAULTCRYPT_KEY_BYTES) are always in secure memory (secmem_alloc), owned by
 * the caller and released with vaultcrypt_key_free.
 */
#ifndef SESAME_KEYS_VAULTCRYPT_H
#define SESAME_KEYS_VAULTCRYPT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "crypto/jwk.h"

#define VAULTCRYPT_KEY_BYTES      32
#define VAULTCRYPT_MAX_PART_BYTES (4u << 20)  /* one item overview or details, plaintext */
#define VAULTCRYPT_MAX_FILE_BYTES (16u << 20) /* one file's plaintext */
#define VAULTCRYPT_MAX_ATTR_BYTES (64u << 10) /* vault attributes, plaintext */
#define VAULTCRYPT_MAX_WRAPPED    256         /* a wrapped vault key or unlock secret */

enum vaultcrypt_part {
    VAULTCRYPT_OVERVIEW = 0,
    VAULTCRYPT_DETAILS,
};

/* Generates a random vault key into *key (secure memory). ERR_OK, ERR_NOMEM, ERR_CRYPTO. */
enum err vaultcrypt_key_generate(unsigned char **key) SESAME_WUR;

/* Wipes and frees a vault key. NULL is fine. */
void vaultcrypt_key_free(unsigned char *key);

/*
 * Seals len bytes of secret (a vault key or an unlock secret, 1..64 bytes) to the X25519
 * public key of to (a JWK_OKP_X25519; its secret half is not needed) and appends the
 * sealed box to out. Returns ERR_OK, ERR_BAD_INPUT, ERR_NOMEM, ERR_TOO_LARGE, ERR_CRYPTO.
 */
enum err vaultcrypt_wrap(struct buf *out, const unsigned char *secret, size_t len,
                         const struct jwk *to) SESAME_WUR;

/*
 * Opens a sealed box with the X25519 key pair me (secret half required) into *secret
 * (secure memory, *len bytes; free with vaultcrypt_key_free). Returns ERR_OK,
 * ERR_BAD_INPUT (me has no secret), ERR_CRYPTO (does not open), ERR_NOMEM.
 */
enum err vaultcrypt_unwrap(unsigned char **secret, size_t *len, const unsigned char *in,
                           size_t inlen, const struct jwk *me) SESAME_WUR;

/*
 * Seals the compact JSON of attrs (an object: Connect's vault "name", "description", ...)
 * for vault_id and appends it to out. Returns ERR_OK, ERR_BAD_INPUT, ERR_TOO_LARGE,
 * ERR_NOMEM, ERR_CRYPTO.
 */
enum err vaultcrypt_attrs_seal(struct buf *out, const unsigned char *key, const char *vault_id,
                               const json_t *attrs) SESAME_WUR;

/* Opens vault attributes into *attrs (a JSON object; json_decref). Errors as above. */
enum err vaultcrypt_attrs_open(json_t **attrs, const unsigned char *key, const char *vault_id,
                               const unsigned char *ct, size_t len) SESAME_WUR;

/*
 * Seals the compact JSON of obj (an object: item_content_split's overview or details) as
 * part of item item_id at version (>= 1) in vault_id, and appends it to out. Returns
 * ERR_OK, ERR_BAD_INPUT, ERR_TOO_LARGE, ERR_NOMEM, ERR_CRYPTO.
 */
enum err vaultcrypt_item_seal(struct buf *out, const unsigned char *key, const char *vault_id,
                              const char *item_id, uint64_t version, enum vaultcrypt_part part,
                              const json_t *obj) SESAME_WUR;

/*
 * Opens an item part sealed by vaultcrypt_item_seal into *obj (json_decref; the plaintext
 * is wiped after parsing). ERR_CRYPTO when it does not open for exactly these ids, version
 * and part. Other errors as vaultcrypt_item_seal.
 */
enum err vaultcrypt_item_open(json_t **obj, const unsigned char *key, const char *vault_id,
                              const char *item_id, uint64_t version, enum vaultcrypt_part part,
                              const unsigned char *ct, size_t len) SESAME_WUR;

/*
 * Seals len bytes of file contents (at most VAULTCRYPT_MAX_FILE_BYTES) of file file_id in
 * vault_id and appends them to out. Errors as vaultcrypt_item_seal.
 */
enum err vaultcrypt_file_seal(struct buf *out, const unsigned char *key, const char *vault_id,
                              const char *file_id, const void *data, size_t len) SESAME_WUR;

/*
 * Opens file contents into out (appended; out should be capped at least
 * VAULTCRYPT_MAX_FILE_BYTES). Errors as vaultcrypt_item_open.
 */
enum err vaultcrypt_file_open(struct buf *out, const unsigned char *key, const char *vault_id,
                              const char *file_id, const unsigned char *ct, size_t len) SESAME_WUR;

#endif
