/* vaultcrypt.c - vault keys and the sealing of vault contents (see vaultcrypt.h). */
#include "keys/vaultcrypt.h"

#include <string.h>

#include "common/alloc.h"
#include "common/ids.h"
#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "crypto/x25519.h"
#include "keys/keyjson.h"

#define VC_AAD_MAX    128 /* the longest associated data: item parts */
#define VC_MAX_SECRET 64  /* the largest secret vaultcrypt_wrap seals */

static const char vc_ctx_vault[] = "sesame vault v1";
static const char vc_ctx_item[] = "sesame item v1";
static const char vc_ctx_file[] = "sesame file v1";

/* Appends len bytes to the AAD under construction; returns -1 when it would overflow. */
static int vc_aad_add(unsigned char *aad, size_t *n, const void *p, size_t len)
{
    if (len > VC_AAD_MAX - *n)
        return -1;
    memcpy(aad + *n, p, len);
    *n += len;
    return 0;
}

/* Appends 0x00 then an id, lowercased; -1 if it is not an id of either case. */
static int vc_aad_id(unsigned char *aad, size_t *n, const char *id)
{
    char low[ID_LEN + 1];
    size_t i;

    if (!id || strnlen(id, ID_LEN + 1) != ID_LEN)
        return -1;
    for (i = 0; i < ID_LEN; i++)
        low[i] = (char)(id[i] >= 'A' && id[i] <= 'Z' ? id[i] - 'A' + 'a' : id[i]);
    low[ID_LEN] = '\0';
    if (!id_is_valid(low))
        return -1;
    return vc_aad_add(aad, n, "", 1) || vc_aad_add(aad, n, low, ID_LEN) ? -1 : 0;
}

/* Builds the AAD of vault attributes. */
static int vc_aad_vault(unsigned char *aad, size_t *n, const char *vault)
{
    *n = 0;
    return vc_aad_add(aad, n, vc_ctx_vault, sizeof(vc_ctx_vault) - 1) || vc_aad_id(aad, n, vault)
               ? -1
               : 0;
}

/* Builds the AAD of an item part. */
static int vc_aad_item(unsigned char *aad, size_t *n, const char *vault, const char *item,
                       uint64_t version, enum vaultcrypt_part part)
{
    unsigned char be[8];
    const char *name = part == VAULTCRYPT_OVERVIEW ? "overview" : "details";
    int i;

    *n = 0;
    if (version == 0 || (part != VAULTCRYPT_OVERVIEW && part != VAULTCRYPT_DETAILS))
        return -1;
    for (i = 0; i < 8; i++)
        be[i] = (unsigned char)(version >> (56 - 8 * i));
    return vc_aad_add(aad, n, vc_ctx_item, sizeof(vc_ctx_item) - 1) || vc_aad_id(aad, n, vault) ||
                   vc_aad_id(aad, n, item) || vc_aad_add(aad, n, "", 1) ||
                   vc_aad_add(aad, n, be, sizeof(be)) || vc_aad_add(aad, n, "", 1) ||
                   vc_aad_add(aad, n, name, strlen(name))
               ? -1
               : 0;
}

/* Builds the AAD of file contents. */
static int vc_aad_file(unsigned char *aad, size_t *n, const char *vault, const char *file)
{
    *n = 0;
    return vc_aad_add(aad, n, vc_ctx_file, sizeof(vc_ctx_file) - 1) || vc_aad_id(aad, n, vault) ||
                   vc_aad_id(aad, n, file)
               ? -1
               : 0;
}

/* Generates a vault key; see vaultcrypt.h. */
enum err vaultcrypt_key_generate(unsigned char **key)
{
    unsigned char *k = secmem_alloc(VAULTCRYPT_KEY_BYTES);

    *key = NULL;
    if (!k)
        return ERR_NOMEM;
    if (crypto_random(k, VAULTCRYPT_KEY_BYTES) != ERR_OK) {
        secmem_free(k);
        return ERR_CRYPTO;
    }
    *key = k;
    return ERR_OK;
}

/* Frees a vault key; see vaultcrypt.h. */
void vaultcrypt_key_free(unsigned char *key)
{
    if (key)
        secmem_free(key); /* secmem_free wipes */
}

/* Seals a secret to an X25519 public key; see vaultcrypt.h. */
enum err vaultcrypt_wrap(struct buf *out, const unsigned char *secret, size_t len,
                         const struct jwk *to)
{
    unsigned char box[VC_MAX_SECRET + X25519_SEAL_OVERHEAD];
    size_t n;
    enum err rc;

    if (!out || !secret || len == 0 || len > VC_MAX_SECRET || !to || to->jk_kind != JWK_OKP_X25519)
        return ERR_BAD_INPUT;
    rc = x25519_seal(box, sizeof(box), &n, secret, len, to->jk_pub);
    if (rc != ERR_OK)
        return rc;
    return buf_add(out, box, n);
}

/* Opens a sealed secret; see vaultcrypt.h. */
enum err vaultcrypt_unwrap(unsigned char **secret, size_t *len, const unsigned char *in,
                           size_t inlen, const struct jwk *me)
{
    unsigned char *s;
    enum err rc;

    *secret = NULL;
    *len = 0;
    if (!in || !me || me->jk_kind != JWK_OKP_X25519 || !me->jk_secret)
        return ERR_BAD_INPUT;
    if (inlen <= X25519_SEAL_OVERHEAD || inlen > VC_MAX_SECRET + X25519_SEAL_OVERHEAD)
        return ERR_CRYPTO;
    s = secmem_alloc(VC_MAX_SECRET);
    if (!s)
        return ERR_NOMEM;
    rc = x25519_open(s, VC_MAX_SECRET, len, in, inlen, me->jk_pub, me->jk_secret);
    if (rc != ERR_OK) {
        secmem_free(s);
        *len = 0;
        return ERR_CRYPTO;
    }
    *secret = s;
    return ERR_OK;
}

/* Seals bytes under key with aad, appending nonce || ciphertext || tag to out. */
static enum err vc_seal(struct buf *out, const unsigned char *key, const unsigned char *aad,
                        size_t aadlen, const void *pt, size_t ptlen)
{
    unsigned char *ct;
    size_t n;
    enum err rc;

    ct = mem_alloc(ptlen + AEAD_OVERHEAD);
    if (!ct)
        return ERR_NOMEM;
    rc = aead_seal(ct, ptlen + AEAD_OVERHEAD, &n, pt, ptlen, aad, aadlen, key);
    if (rc == ERR_OK)
        rc = buf_add(out, ct, n);
    mem_free(ct);
    return rc;
}

/* Opens a sealed message into secure memory *pt (*ptlen bytes, NUL-terminated). */
static enum err vc_open(unsigned char **pt, size_t *ptlen, const unsigned char *key,
                        const unsigned char *aad, size_t aadlen, const unsigned char *ct,
                        size_t len, size_t max)
{
    unsigned char *p;
    enum err rc;

    *pt = NULL;
    *ptlen = 0;
    if (!ct || len < AEAD_OVERHEAD)
        return ERR_CRYPTO;
    if (len - AEAD_OVERHEAD > max)
        return ERR_TOO_LARGE;
    p = secmem_alloc(len - AEAD_OVERHEAD + 1);
    if (!p)
        return ERR_NOMEM;
    rc = aead_open(p, len - AEAD_OVERHEAD + 1, ptlen, ct, len, aad, aadlen, key);
    if (rc != ERR_OK) {
        secmem_free(p);
        *ptlen = 0;
        return ERR_CRYPTO;
    }
    p[*ptlen] = '\0';
    *pt = p;
    return ERR_OK;
}

/* Seals the compact JSON of an object. */
static enum err vc_seal_json(struct buf *out, const unsigned char *key, const unsigned char *aad,
                             size_t aadlen, const json_t *obj, size_t max)
{
    char *text;
    size_t n;
    enum err rc;

    if (!json_is_object(obj))
        return ERR_BAD_INPUT;
    text = json_dumps(obj, JSON_COMPACT);
    if (!text)
        return ERR_NOMEM;
    n = strlen(text);
    rc = n > max ? ERR_TOO_LARGE : vc_seal(out, key, aad, aadlen, text, n);
    keyjson_text_drop(text);
    return rc;
}

/* Opens a sealed JSON object. */
static enum err vc_open_json(json_t **obj, const unsigned char *key, const unsigned char *aad,
                             size_t aadlen, const unsigned char *ct, size_t len, size_t max)
{
    unsigned char *pt = NULL;
    size_t n;
    json_t *v;
    enum err rc;

    *obj = NULL;
    rc = vc_open(&pt, &n, key, aad, aadlen, ct, len, max);
    if (rc != ERR_OK)
        return rc;
    v = json_loadb((const char *)pt, n, JSON_REJECT_DUPLICATES, NULL);
    secmem_free(pt);
    if (!json_is_object(v)) {
        json_decref(v);
        return ERR_CRYPTO;
    }
    *obj = v;
    return ERR_OK;
}

/* Seals vault attributes; see vaultcrypt.h. */
enum err vaultcrypt_attrs_seal(struct buf *out, const unsigned char *key, const char *vault_id,
                               const json_t *attrs)
{
    unsigned char aad[VC_AAD_MAX];
    size_t n;

    if (!out || !key || vc_aad_vault(aad, &n, vault_id) != 0)
        return ERR_BAD_INPUT;
    return vc_seal_json(out, key, aad, n, attrs, VAULTCRYPT_MAX_ATTR_BYTES);
}

/* Opens vault attributes; see vaultcrypt.h. */
enum err vaultcrypt_attrs_open(json_t **attrs, const unsigned char *key, const char *vault_id,
                               const unsigned char *ct, size_t len)
{
    unsigned char aad[VC_AAD_MAX];
    size_t n;

    *attrs = NULL;
    if (!key || vc_aad_vault(aad, &n, vault_id) != 0)
        return ERR_BAD_INPUT;
    return vc_open_json(attrs, key, aad, n, ct, len, VAULTCRYPT_MAX_ATTR_BYTES);
}

/* Seals an item part; see vaultcrypt.h. */
enum err vaultcrypt_item_seal(struct buf *out, const unsigned char *key, const char *vault_id,
                              const char *item_id, uint64_t version, enum vaultcrypt_part part,
                              const json_t *obj)
{
    unsigned char aad[VC_AAD_MAX];
    size_t n;

    if (!out || !key || vc_aad_item(aad, &n, vault_id, item_id, version, part) != 0)
        return ERR_BAD_INPUT;
    return vc_seal_json(out, key, aad, n, obj, VAULTCRYPT_MAX_PART_BYTES);
}

/* Opens an item part; see vaultcrypt.h. */
enum err vaultcrypt_item_open(json_t **obj, const unsigned char *key, const char *vault_id,
                              const char *item_id, uint64_t version, enum vaultcrypt_part part,
                              const unsigned char *ct, size_t len)
{
    unsigned char aad[VC_AAD_MAX];
    size_t n;

    *obj = NULL;
    if (!key || vc_aad_item(aad, &n, vault_id, item_id, version, part) != 0)
        return ERR_BAD_INPUT;
    return vc_open_json(obj, key, aad, n, ct, len, VAULTCRYPT_MAX_PART_BYTES);
}

/* Seals file contents; see vaultcrypt.h. */
enum err vaultcrypt_file_seal(struct buf *out, const unsigned char *key, const char *vault_id,
                              const char *file_id, const void *data, size_t len)
{
    unsigned char aad[VC_AAD_MAX];
    size_t n;

    if (!out || !key || (!data && len) || vc_aad_file(aad, &n, vault_id, file_id) != 0)
        return ERR_BAD_INPUT;
    if (len > VAULTCRYPT_MAX_FILE_BYTES)
        return ERR_TOO_LARGE;
    return vc_seal(out, key, aad, n, data ? data : "", len);
}

/* Opens file contents; see vaultcrypt.h. */
enum err vaultcrypt_file_open(struct buf *out, const unsigned char *key, const char *vault_id,
                              const char *file_id, const unsigned char *ct, size_t len)
{
    unsigned char aad[VC_AAD_MAX], *pt = NULL;
    size_t n, ptlen;
    enum err rc;

    if (!out || !key || vc_aad_file(aad, &n, vault_id, file_id) != 0)
        return ERR_BAD_INPUT;
    rc = vc_open(&pt, &ptlen, key, aad, n, ct, len, VAULTCRYPT_MAX_FILE_BYTES);
    if (rc != ERR_OK)
        return rc;
    rc = buf_add(out, pt, ptlen);
    secmem_free(pt);
    return rc;
}
