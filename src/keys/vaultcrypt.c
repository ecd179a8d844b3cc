/*
 * vaultcrypt.c - vault keys, key wrapping to X25519 JWKs, and sealing of vault attributes,
 * item parts and file contents under a vault key with place-binding AAD (vaultcrypt.h).
 */
#include "keys/vaultcrypt.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/ids.h"
#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "crypto/x25519.h"

#define VAULTCRYPT_MAX_SECRET 64
#define VAULTCRYPT_AAD_MAX    128

static const char vaultcrypt_ctx_vault[] = "sesame vault v1";
static const char vaultcrypt_ctx_item[] = "sesame item v1";
static const char vaultcrypt_ctx_file[] = "sesame file v1";

/* AAD being built: fixed storage, length. */
struct vaultcrypt_aad {
    unsigned char va_data[VAULTCRYPT_AAD_MAX];
    size_t va_len;
};

/* Appends n bytes to a; the callers' sizes always fit. */
static void vaultcrypt_aad_add(struct vaultcrypt_aad *a, const void *p, size_t n)
{
    if (a->va_len + n > sizeof(a->va_data))
        return;
    memcpy(a->va_data + a->va_len, p, n);
    a->va_len += n;
}

/* Appends one 0x00 separator. */
static void vaultcrypt_aad_sep(struct vaultcrypt_aad *a)
{
    static const unsigned char zero = 0;

    vaultcrypt_aad_add(a, &zero, 1);
}

/* Appends id lowercased; returns 0 if id is not ID_LEN characters of [a-zA-Z0-9]. */
static int vaultcrypt_aad_id(struct vaultcrypt_aad *a, const char *id)
{
    char low[ID_LEN + 1];
    size_t i;

    if (!id || strnlen(id, ID_LEN + 1) != ID_LEN)
        return 0;
    for (i = 0; i < ID_LEN; i++) {
        char c = id[i];

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        low[i] = c;
    }
    low[ID_LEN] = '\0';
    if (!id_is_valid(low))
        return 0;
    vaultcrypt_aad_add(a, low, ID_LEN);
    return 1;
}

/* Builds the vault attributes AAD. Returns 0 for a malformed id. */
static int vaultcrypt_aad_vault(struct vaultcrypt_aad *a, const char *vault_id)
{
    a->va_len = 0;
    vaultcrypt_aad_add(a, vaultcrypt_ctx_vault, sizeof(vaultcrypt_ctx_vault) - 1);
    vaultcrypt_aad_sep(a);
    return vaultcrypt_aad_id(a, vault_id);
}

/* Builds an item part AAD. Returns 0 for a malformed id, version 0 or an unknown part. */
static int vaultcrypt_aad_item(struct vaultcrypt_aad *a, const char *vault_id, const char *item_id,
                               uint64_t version, enum vaultcrypt_part part)
{
    unsigned char be[8];
    const char *pname;
    int i;

    if (version < 1)
        return 0;
    if (part == VAULTCRYPT_OVERVIEW)
        pname = "overview";
    else if (part == VAULTCRYPT_DETAILS)
        pname = "details";
    else
        return 0;
    a->va_len = 0;
    vaultcrypt_aad_add(a, vaultcrypt_ctx_item, sizeof(vaultcrypt_ctx_item) - 1);
    vaultcrypt_aad_sep(a);
    if (!vaultcrypt_aad_id(a, vault_id))
        return 0;
    vaultcrypt_aad_sep(a);
    if (!vaultcrypt_aad_id(a, item_id))
        return 0;
    vaultcrypt_aad_sep(a);
    for (i = 0; i < 8; i++)
        be[i] = (unsigned char)(version >> (56 - 8 * i));
    vaultcrypt_aad_add(a, be, sizeof(be));
    vaultcrypt_aad_sep(a);
    vaultcrypt_aad_add(a, pname, strlen(pname));
    return 1;
}

/* Builds the file contents AAD. Returns 0 for a malformed id. */
static int vaultcrypt_aad_file(struct vaultcrypt_aad *a, const char *vault_id, const char *file_id)
{
    a->va_len = 0;
    vaultcrypt_aad_add(a, vaultcrypt_ctx_file, sizeof(vaultcrypt_ctx_file) - 1);
    vaultcrypt_aad_sep(a);
    if (!vaultcrypt_aad_id(a, vault_id))
        return 0;
    vaultcrypt_aad_sep(a);
    return vaultcrypt_aad_id(a, file_id);
}

/* Allocates a vault key in secure memory and fills it from the CSPRNG. */
enum err vaultcrypt_key_generate(unsigned char **key)
{
    unsigned char *k;
    enum err e;

    if (!key)
        return ERR_BAD_INPUT;
    *key = NULL;
    k = secmem_alloc(VAULTCRYPT_KEY_BYTES);
    if (!k)
        return ERR_NOMEM;
    e = crypto_random(k, VAULTCRYPT_KEY_BYTES);
    if (e != ERR_OK) {
        secmem_free(k);
        return ERR_CRYPTO;
    }
    *key = k;
    return ERR_OK;
}

/* Wipes and frees a key or unwrapped secret (secure memory). */
void vaultcrypt_key_free(unsigned char *key)
{
    secmem_free(key);
}

/* Seals secret to to's X25519 public key; appends the sealed box to out. */
enum err vaultcrypt_wrap(struct buf *out, const unsigned char *secret, size_t len,
                         const struct jwk *to)
{
    unsigned char box[VAULTCRYPT_MAX_SECRET + X25519_SEAL_OVERHEAD];
    size_t boxlen = 0;
    enum err e;

    if (!out || !secret || !to || len < 1 || len > VAULTCRYPT_MAX_SECRET ||
        to->jk_kind != JWK_OKP_X25519)
        return ERR_BAD_INPUT;
    e = x25519_seal(box, sizeof(box), &boxlen, secret, len, to->jk_pub);
    if (e != ERR_OK)
        return e == ERR_TOO_LARGE ? ERR_TOO_LARGE : ERR_CRYPTO;
    e = buf_add(out, box, boxlen);
    secmem_wipe(box, sizeof(box));
    return e;
}

/* Opens a sealed box with me's key pair into a new secure-memory secret *secret. */
enum err vaultcrypt_unwrap(unsigned char **secret, size_t *len, const unsigned char *in,
                           size_t inlen, const struct jwk *me)
{
    unsigned char *s = NULL;
    size_t n = 0;
    enum err e;

    if (secret)
        *secret = NULL;
    if (len)
        *len = 0;
    if (!secret || !len || !me || me->jk_kind != JWK_OKP_X25519 || !me->jk_secret)
        return ERR_BAD_INPUT;
    if (!in || inlen <= X25519_SEAL_OVERHEAD ||
        inlen > X25519_SEAL_OVERHEAD + VAULTCRYPT_MAX_SECRET)
        return ERR_CRYPTO;
    s = secmem_alloc(inlen - X25519_SEAL_OVERHEAD);
    if (!s)
        return ERR_NOMEM;
    e = x25519_open(s, inlen - X25519_SEAL_OVERHEAD, &n, in, inlen, me->jk_pub, me->jk_secret);
    if (e != ERR_OK) {
        secmem_free(s);
        return ERR_CRYPTO;
    }
    *secret = s;
    *len = n;
    return ERR_OK;
}

/* Seals pt (ptlen bytes) under key with aad; appends nonce || ct || tag to out. */
static enum err vaultcrypt_seal_raw(struct buf *out, const unsigned char *key,
                                    const struct vaultcrypt_aad *aad, const void *pt, size_t ptlen)
{
    unsigned char *ct;
    size_t ctlen = 0;
    enum err e;

    ct = mem_alloc(ptlen + AEAD_OVERHEAD);
    if (!ct)
        return ERR_NOMEM;
    e = aead_seal(ct, ptlen + AEAD_OVERHEAD, &ctlen, pt, ptlen, aad->va_data, aad->va_len, key);
    if (e != ERR_OK) {
        e = ERR_CRYPTO;
        goto out;
    }
    e = buf_add(out, ct, ctlen);
out:
    mem_free(ct);
    return e;
}

/*
 * Opens ct under key and aad into a new heap buffer *pt (*ptlen bytes, plus a NUL; the
 * caller wipes and frees it). Plaintext over max is ERR_TOO_LARGE.
 */
/*
 * Checks the size of a sealed text (len bytes, at most max of plaintext): *room receives
 * the plaintext's length. ERR_OK, ERR_CRYPTO (shorter than the AEAD overhead) or
 * ERR_TOO_LARGE.
 */
static enum err vaultcrypt_ct_room(const unsigned char *ct, size_t len, size_t max, size_t *room)
{
    if (!ct || len < AEAD_OVERHEAD)
        return ERR_CRYPTO;
    if (len - AEAD_OVERHEAD > max)
        return ERR_TOO_LARGE;
    *room = len - AEAD_OVERHEAD;
    return ERR_OK;
}

/*
 * Opens ct (len bytes, checked by vaultcrypt_ct_room) into dst, which has room for the
 * plaintext and a NUL: *ptlen receives its length. ERR_OK or ERR_CRYPTO (dst wiped).
 */
static enum err vaultcrypt_open_into(unsigned char *dst, size_t *ptlen, const unsigned char *key,
                                     const struct vaultcrypt_aad *aad, const unsigned char *ct,
                                     size_t len)
{
    size_t cap = len - AEAD_OVERHEAD + 1;

    *ptlen = 0;
    if (aead_open(dst, cap, ptlen, ct, len, aad->va_data, aad->va_len, key) != ERR_OK) {
        secmem_wipe(dst, cap);
        *ptlen = 0;
        return ERR_CRYPTO;
    }
    dst[*ptlen] = '\0';
    return ERR_OK;
}

static enum err vaultcrypt_open_raw(unsigned char **pt, size_t *ptlen, const unsigned char *key,
                                    const struct vaultcrypt_aad *aad, const unsigned char *ct,
                                    size_t len, size_t max)
{
    unsigned char *p;
    size_t room = 0;
    enum err e;

    *pt = NULL;
    *ptlen = 0;
    e = vaultcrypt_ct_room(ct, len, max, &room);
    if (e != ERR_OK)
        return e;
    p = mem_alloc(room + 1);
    if (!p)
        return ERR_NOMEM;
    e = vaultcrypt_open_into(p, ptlen, key, aad, ct, len);
    if (e != ERR_OK) {
        mem_free(p);
        return e;
    }
    *pt = p;
    return ERR_OK;
}

/* Seals the compact JSON of obj (an object, at most max bytes) under key and aad. */
static enum err vaultcrypt_seal_json(struct buf *out, const unsigned char *key,
                                     const struct vaultcrypt_aad *aad, const json_t *obj,
                                     size_t max)
{
    char *text;
    size_t n;
    enum err e;

    if (!json_is_object(obj))
        return ERR_BAD_INPUT;
    /* the size first (json_dumpb writes nothing with no buffer): no oversized copy */
    if (json_dumpb(obj, NULL, 0, JSON_COMPACT) > max)
        return ERR_TOO_LARGE;
    text = json_dumps(obj, JSON_COMPACT);
    if (!text)
        return ERR_NOMEM;
    n = strlen(text);
    if (n > max)
        e = ERR_TOO_LARGE;
    else
        e = vaultcrypt_seal_raw(out, key, aad, text, n);
    secmem_wipe(text, n);
    free(text); /* jansson's allocator (set by crypto_init) wipes too */
    return e;
}

/*
 * Opens a JSON part into *obj; anything but one JSON object (no duplicate keys) is
 * ERR_CRYPTO, a parser out of memory ERR_NOMEM.
 */
static enum err vaultcrypt_open_json(json_t **obj, const unsigned char *key,
                                     const struct vaultcrypt_aad *aad, const unsigned char *ct,
                                     size_t len, size_t max)
{
    unsigned char *pt = NULL;
    json_error_t jerr;
    size_t n = 0;
    json_t *j;
    enum err e;

    e = vaultcrypt_open_raw(&pt, &n, key, aad, ct, len, max);
    if (e != ERR_OK)
        return e;
    memset(&jerr, 0, sizeof(jerr));
    j = json_loadb((const char *)pt, n, JSON_REJECT_DUPLICATES, &jerr);
    secmem_wipe(pt, n + 1);
    mem_free(pt);
    e = !j && json_error_code(&jerr) == json_error_out_of_memory ? ERR_NOMEM : ERR_CRYPTO;
    secmem_wipe(&jerr, sizeof(jerr)); /* a parse error quotes the plaintext near it */
    if (!json_is_object(j)) {
        json_decref(j);
        return e;
    }
    *obj = j;
    return ERR_OK;
}

/* Seals vault attributes (a JSON object) for vault_id; appends to out. */
enum err vaultcrypt_attrs_seal(struct buf *out, const unsigned char *key, const char *vault_id,
                               const json_t *attrs)
{
    struct vaultcrypt_aad aad;

    if (!out || !key || !vaultcrypt_aad_vault(&aad, vault_id))
        return ERR_BAD_INPUT;
    return vaultcrypt_seal_json(out, key, &aad, attrs, VAULTCRYPT_MAX_ATTR_BYTES);
}

/* Opens vault attributes of vault_id into *attrs (caller json_decref()s). */
enum err vaultcrypt_attrs_open(json_t **attrs, const unsigned char *key, const char *vault_id,
                               const unsigned char *ct, size_t len)
{
    struct vaultcrypt_aad aad;

    if (attrs)
        *attrs = NULL;
    if (!attrs || !key || !vaultcrypt_aad_vault(&aad, vault_id))
        return ERR_BAD_INPUT;
    return vaultcrypt_open_json(attrs, key, &aad, ct, len, VAULTCRYPT_MAX_ATTR_BYTES);
}

/* Seals an item part (a JSON object) bound to vault, item, version and part. */
enum err vaultcrypt_item_seal(struct buf *out, const unsigned char *key, const char *vault_id,
                              const char *item_id, uint64_t version, enum vaultcrypt_part part,
                              const json_t *obj)
{
    struct vaultcrypt_aad aad;

    if (!out || !key || !vaultcrypt_aad_item(&aad, vault_id, item_id, version, part))
        return ERR_BAD_INPUT;
    return vaultcrypt_seal_json(out, key, &aad, obj, VAULTCRYPT_MAX_PART_BYTES);
}

/* Opens an item part into *obj (caller json_decref()s); the plaintext is wiped. */
enum err vaultcrypt_item_open(json_t **obj, const unsigned char *key, const char *vault_id,
                              const char *item_id, uint64_t version, enum vaultcrypt_part part,
                              const unsigned char *ct, size_t len)
{
    struct vaultcrypt_aad aad;

    if (obj)
        *obj = NULL;
    if (!obj || !key || !vaultcrypt_aad_item(&aad, vault_id, item_id, version, part))
        return ERR_BAD_INPUT;
    return vaultcrypt_open_json(obj, key, &aad, ct, len, VAULTCRYPT_MAX_PART_BYTES);
}

/* Seals file contents of file_id in vault_id; appends to out. */
enum err vaultcrypt_file_seal(struct buf *out, const unsigned char *key, const char *vault_id,
                              const char *file_id, const void *data, size_t len)
{
    struct vaultcrypt_aad aad;

    if (!out || !key || (!data && len > 0) || !vaultcrypt_aad_file(&aad, vault_id, file_id))
        return ERR_BAD_INPUT;
    if (len > VAULTCRYPT_MAX_FILE_BYTES)
        return ERR_TOO_LARGE;
    return vaultcrypt_seal_raw(out, key, &aad, data, len);
}

/* Opens file contents of file_id in vault_id; appends the plaintext to out. */
enum err vaultcrypt_file_open(struct buf *out, const unsigned char *key, const char *vault_id,
                              const char *file_id, const unsigned char *ct, size_t len)
{
    struct vaultcrypt_aad aad;
    size_t n = 0, room = 0;
    enum err e;

    if (!out || !key || !vaultcrypt_aad_file(&aad, vault_id, file_id))
        return ERR_BAD_INPUT;
    e = vaultcrypt_ct_room(ct, len, VAULTCRYPT_MAX_FILE_BYTES, &room);
    /* opened straight into out (a 1 MB file was held three times: sealed, opened, copied) */
    if (e == ERR_OK)
        e = buf_prepare(out, room);
    if (e != ERR_OK)
        return e;
    if (!out->b_data || out->b_cap - out->b_len < room + 1)
        return ERR_TOO_LARGE; /* out's cap */
    e = vaultcrypt_open_into((unsigned char *)out->b_data + out->b_len, &n, key, &aad, ct, len);
    out->b_len += n; /* 0 on failure: the NUL it wiped was out's terminator */
    out->b_data[out->b_len] = '\0';
    return e;
}
