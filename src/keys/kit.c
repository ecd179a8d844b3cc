/*
 * kit.c - the account kit file: generation, atomic saving with optional passphrase
 * protection (Argon2id + AES-256-GCM), strict loading.
 *
 * File layout (docs/crypto.md "Account kit"):
 *   {"type":"sesame-account-kit","version":1,"hub":URL,"account":ID,
 *    "keys":{"adminSigningKey":JWK,"adminWrapKey":JWK,
 *            "tokenSigningKeys":[{"kid":K,"created":T,"key":JWK},...]}}
 * or, with a passphrase, instead of "keys":
 *    "encryptedKeys":{"kdf":"argon2id","opslimit":N,"memlimit":N,"salt":B64U,
 *                     "enc":"A256GCM","data":B64U(nonce || ciphertext || tag)}
 * where the plaintext is the compact JSON of the "keys" object and the associated data is
 * "sesame account kit v1" NUL account NUL hub, so the account id and the hub URL of a
 * protected kit cannot be changed without the passphrase.
 */
#include "keys/kit.h"
#include "keys/keyjson.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/limits.h"
#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "crypto/kdf.h"
#include "crypto/x25519.h"

#define KIT_AAD_PREFIX   "sesame account kit v1"
#define KIT_KDF_NAME     "argon2id"
#define KIT_ENC_NAME     "A256GCM"
#define KIT_PATH_SHOWN   200 /* characters of a path quoted in an error message */
#define KIT_DETAIL_BYTES 256 /* one error detail */

struct kit_signing {
    struct jwk ks_key;  /* P-256 private; jk_kid is the kid */
    int64_t ks_created; /* seconds since the epoch */
};

struct kit {
    char *k_hub_url;            /* mem_strdup'ed */
    char k_account[ID_LEN + 1]; /* uppercase */
    int k_protected;            /* loaded from a passphrase-protected file */
    struct jwk k_admin_sign;    /* P-256 private */
    struct jwk k_admin_wrap;    /* X25519 private */
    struct kit_signing k_signing[KIT_MAX_SIGNING_KEYS]; /* oldest first */
    size_t k_nsigning;
};

/* Returns 1 if url is an acceptable hub URL; see kit.h. */
int kit_hub_url_is_valid(const char *url)
{
    size_t i, n, skip;

    if (!url)
        return 0;
    n = strnlen(url, KIT_MAX_URL_BYTES + 1);
    if (n > KIT_MAX_URL_BYTES)
        return 0;
    if (strncmp(url, "https://", 8) == 0)
        skip = 8;
    else if (strncmp(url, "http://", 7) == 0)
        skip = 7;
    else
        return 0;
    if (n <= skip)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c < 0x21 || c > 0x7e || c == '#')
            return 0;
    }
    return 1;
}

/* Returns 1 if kid is 1..KID_MAX_LEN visible ASCII characters (the JWK rule). */
static int kit_kid_ok(const char *kid)
{
    size_t i, n = strnlen(kid, KID_MAX_LEN + 1);

    if (n == 0 || n > KID_MAX_LEN)
        return 0;
    for (i = 0; i < n; i++) {
        if ((unsigned char)kid[i] < 0x21 || (unsigned char)kid[i] > 0x7e)
            return 0;
    }
    return 1;
}

/* Generates a P-256 or X25519 key; see kit.h. */
enum err kit_jwk_generate(struct jwk *out, enum jwk_kind kind, const char *kid)
{
    enum err rc = ERR_BAD_INPUT;

    memset(out, 0, sizeof(*out));
    if (kid && kid[0]) {
        if (!kit_kid_ok(kid))
            goto out;
        memcpy(out->jk_kid, kid, strlen(kid) + 1);
    }
    out->jk_kind = kind;
    switch (kind) {
    case JWK_EC_P256:
        rc = ecdsa_p256_generate(&out->jk_ec);
        break;
    case JWK_OKP_X25519:
        out->jk_secret = secmem_alloc(X25519_KEY_BYTES);
        if (!out->jk_secret) {
            rc = ERR_NOMEM;
            goto out;
        }
        rc = x25519_keypair(out->jk_pub, out->jk_secret);
        break;
    default:
        rc = ERR_BAD_INPUT;
        break;
    }
out:
    if (rc != ERR_OK)
        jwk_clear(out);
    return rc;
}

/* Allocates an empty kit. */
static struct kit *kit_new(void)
{
    return mem_calloc(1, sizeof(struct kit));
}

/* Frees k, wiping every key; see kit.h. */
void kit_free(struct kit *k)
{
    size_t i;

    if (!k)
        return;
    for (i = 0; i < k->k_nsigning; i++)
        jwk_clear(&k->k_signing[i].ks_key);
    jwk_clear(&k->k_admin_sign);
    jwk_clear(&k->k_admin_wrap);
    mem_free(k->k_hub_url);
    secmem_wipe(k, sizeof(*k));
    mem_free(k);
}

/* Makes a new kit; see kit.h. */
enum err kit_generate(struct kit **out, const char *hub_url)
{
    char kid[ID_LEN + 1];
    struct kit *k = NULL;
    enum err rc = ERR_BAD_INPUT;
    time_t now = time(NULL);

    *out = NULL;
    if (!kit_hub_url_is_valid(hub_url))
        goto out;
    rc = ERR_NOMEM;
    k = kit_new();
    if (!k)
        goto out;
    k->k_hub_url = mem_strdup(hub_url);
    if (!k->k_hub_url)
        goto out;
    rc = id_new_upper(k->k_account);
    if (rc == ERR_OK)
        rc = kit_jwk_generate(&k->k_admin_sign, JWK_EC_P256, NULL);
    if (rc == ERR_OK)
        rc = kit_jwk_generate(&k->k_admin_wrap, JWK_OKP_X25519, NULL);
    if (rc == ERR_OK)
        rc = id_new(kid);
    if (rc == ERR_OK)
        rc = kit_jwk_generate(&k->k_signing[0].ks_key, JWK_EC_P256, kid);
    if (rc != ERR_OK)
        goto out;
    k->k_signing[0].ks_created = now < 0 ? 0 : (int64_t)now;
    k->k_nsigning = 1;
    *out = k;
    k = NULL;
out:
    kit_free(k);
    return rc;
}

/* ---- accessors ---------------------------------------------------------------------- */

/* Returns the hub URL. */
const char *kit_hub_url(const struct kit *k)
{
    return k->k_hub_url;
}

/* Returns the uppercase account id. */
const char *kit_account_id(const struct kit *k)
{
    return k->k_account;
}

/* Returns 1 if k came from a passphrase-protected file. */
int kit_is_protected(const struct kit *k)
{
    return k->k_protected;
}

/* Returns the admin signing key. */
const struct jwk *kit_admin_signing_key(const struct kit *k)
{
    return &k->k_admin_sign;
}

/* Returns the admin wrap key. */
const struct jwk *kit_admin_wrap_key(const struct kit *k)
{
    return &k->k_admin_wrap;
}

/* Returns the number of token-signing keys. */
size_t kit_signing_key_count(const struct kit *k)
{
    return k->k_nsigning;
}

/* Returns token-signing key i and its creation time; NULL out of range. */
const struct jwk *kit_signing_key(const struct kit *k, size_t i, int64_t *created)
{
    if (created)
        *created = 0;
    if (i >= k->k_nsigning)
        return NULL;
    if (created)
        *created = k->k_signing[i].ks_created;
    return &k->k_signing[i].ks_key;
}

/* Returns the newest token-signing key, or NULL. */
const struct jwk *kit_signing_key_current(const struct kit *k)
{
    if (k->k_nsigning == 0)
        return NULL;
    return &k->k_signing[k->k_nsigning - 1].ks_key;
}

/* Adds a new current token-signing key; see kit.h. */
enum err kit_signing_key_rotate(struct kit *k, int64_t now)
{
    char kid[ID_LEN + 1];
    struct kit_signing *s;
    enum err rc;
    size_t i;

    if (k->k_nsigning >= KIT_MAX_SIGNING_KEYS)
        return ERR_TOO_LARGE;
    if (now < 0 || (k->k_nsigning > 0 && now < k->k_signing[k->k_nsigning - 1].ks_created))
        return ERR_BAD_INPUT;
    /* A fresh random id cannot collide in practice; checking costs nothing. */
    do {
        rc = id_new(kid);
        if (rc != ERR_OK)
            return rc;
        for (i = 0; i < k->k_nsigning; i++) {
            if (strcmp(k->k_signing[i].ks_key.jk_kid, kid) == 0)
                break;
        }
    } while (i < k->k_nsigning);
    s = &k->k_signing[k->k_nsigning];
    rc = kit_jwk_generate(&s->ks_key, JWK_EC_P256, kid);
    if (rc != ERR_OK)
        return rc;
    s->ks_created = now;
    k->k_nsigning++;
    return ERR_OK;
}

/* Removes a non-current token-signing key; see kit.h. */
enum err kit_signing_key_remove(struct kit *k, const char *kid)
{
    size_t i;

    for (i = 0; i < k->k_nsigning; i++) {
        if (strcmp(k->k_signing[i].ks_key.jk_kid, kid) == 0)
            break;
    }
    if (i == k->k_nsigning)
        return ERR_NOT_FOUND;
    if (i == k->k_nsigning - 1)
        return ERR_BAD_INPUT;
    jwk_clear(&k->k_signing[i].ks_key);
    memmove(&k->k_signing[i], &k->k_signing[i + 1],
            (k->k_nsigning - i - 1) * sizeof(k->k_signing[0]));
    k->k_nsigning--;
    secmem_wipe(&k->k_signing[k->k_nsigning], sizeof(k->k_signing[0]));
    return ERR_OK;
}

/* ---- JSON helpers ------------------------------------------------------------------- */

/* Builds the "keys" object (private material: the caller drops it with keyjson_drop). */
static json_t *kit_keys_to_json(const struct kit *k)
{
    json_t *keys = json_object(), *list = json_array(), *e;
    size_t i;
    int bad = !keys || !list;

    if (!bad)
        bad = json_object_set_new(keys, "adminSigningKey", jwk_to_json(&k->k_admin_sign, 1)) ||
              json_object_set_new(keys, "adminWrapKey", jwk_to_json(&k->k_admin_wrap, 1));
    for (i = 0; !bad && i < k->k_nsigning; i++) {
        e = json_object();
        if (!e || keyjson_set_str(e, "kid", k->k_signing[i].ks_key.jk_kid) ||
            json_object_set_new(e, "created", json_integer(k->k_signing[i].ks_created)) ||
            json_object_set_new(e, "key", jwk_to_json(&k->k_signing[i].ks_key, 1))) {
            keyjson_drop(e);
            bad = 1;
            break;
        }
        bad = json_array_append_new(list, e) != 0; /* steals e, even on failure */
    }
    if (!bad) {
        bad = json_object_set_new(keys, "tokenSigningKeys", list);
        list = NULL;
    }
    keyjson_drop(list);
    if (bad) {
        keyjson_drop(keys);
        return NULL;
    }
    return keys;
}

/*
 * Writes the associated data of a protected kit, "sesame account kit v1" NUL account NUL
 * hub, into a new buffer *aad (caller mem_free()s) of *len bytes.
 */
static enum err kit_aad(unsigned char **aad, size_t *len, const char *account, const char *hub)
{
    size_t plen = sizeof(KIT_AAD_PREFIX), alen = strlen(account), hlen = strlen(hub);

    *len = plen + alen + 1 + hlen;
    *aad = mem_alloc(*len);
    if (!*aad)
        return ERR_NOMEM;
    memcpy(*aad, KIT_AAD_PREFIX, plen); /* with its NUL */
    memcpy(*aad + plen, account, alen);
    (*aad)[plen + alen] = '\0';
    memcpy(*aad + plen + alen + 1, hub, hlen);
    return ERR_OK;
}

/* Seals the keys object under Argon2id(passphrase): returns the "encryptedKeys" object. */
static enum err kit_seal_keys(json_t **out, const struct kit *k, const char *passphrase,
                              const struct kit_kdf_params *p)
{
    unsigned char salt[KDF_ARGON2ID_SALT_BYTES];
    unsigned char *kek = NULL, *sealed = NULL, *aad = NULL;
    size_t ptlen = 0, slen = 0, aadlen = 0;
    json_t *keys = NULL, *enc = NULL;
    char *text = NULL;
    enum err rc;

    *out = NULL;
    rc = crypto_random(salt, sizeof(salt));
    if (rc != ERR_OK)
        goto out;
    rc = ERR_NOMEM;
    kek = secmem_alloc(AEAD_KEY_BYTES);
    if (!kek)
        goto out;
    rc = kdf_argon2id(kek, AEAD_KEY_BYTES, passphrase, strlen(passphrase), salt, p->kp_opslimit,
                      p->kp_memlimit);
    if (rc != ERR_OK)
        goto out;

    rc = ERR_NOMEM;
    keys = kit_keys_to_json(k);
    if (!keys)
        goto out;
    text = json_dumps(keys, JSON_COMPACT);
    if (!text)
        goto out;
    ptlen = strlen(text);
    sealed = mem_alloc(ptlen + AEAD_OVERHEAD);
    if (!sealed)
        goto out;
    rc = kit_aad(&aad, &aadlen, k->k_account, k->k_hub_url);
    if (rc != ERR_OK)
        goto out;
    rc = aead_seal(sealed, ptlen + AEAD_OVERHEAD, &slen, (const unsigned char *)text, ptlen, aad,
                   aadlen, kek);
    if (rc != ERR_OK)
        goto out;

    rc = ERR_NOMEM;
    enc = json_object();
    if (!enc || keyjson_set_str(enc, "kdf", KIT_KDF_NAME) ||
        json_object_set_new(enc, "opslimit", json_integer((json_int_t)p->kp_opslimit)) ||
        json_object_set_new(enc, "memlimit", json_integer((json_int_t)p->kp_memlimit)) ||
        keyjson_set_b64(enc, "salt", salt, sizeof(salt)) ||
        keyjson_set_str(enc, "enc", KIT_ENC_NAME) || keyjson_set_b64(enc, "data", sealed, slen))
        goto out;
    *out = enc;
    enc = NULL;
    rc = ERR_OK;
out:
    keyjson_drop(keys);
    keyjson_text_drop(text);
    json_decref(enc);
    secmem_free(kek);
    mem_free(sealed);
    mem_free(aad);
    return rc;
}

/* Builds the whole file text (caller drops it with keyjson_text_drop). */
static enum err kit_to_text(char **out, const struct kit *k, const char *passphrase,
                            const struct kit_kdf_params *p)
{
    json_t *file = NULL, *keys = NULL;
    enum err rc = ERR_NOMEM;

    *out = NULL;
    file = json_object();
    if (!file || keyjson_set_str(file, "type", KIT_TYPE) ||
        json_object_set_new(file, "version", json_integer(KIT_VERSION)) ||
        keyjson_set_str(file, "hub", k->k_hub_url) ||
        keyjson_set_str(file, "account", k->k_account))
        goto out;
    if (passphrase) {
        rc = kit_seal_keys(&keys, k, passphrase, p);
        if (rc != ERR_OK)
            goto out;
        rc = ERR_NOMEM;
        if (json_object_set_new(file, "encryptedKeys", keys))
            goto out;
    } else {
        keys = kit_keys_to_json(k);
        if (!keys || json_object_set_new(file, "keys", keys))
            goto out;
    }
    *out = json_dumps(file, JSON_INDENT(2));
    if (*out)
        rc = ERR_OK;
out:
    keyjson_drop(file);
    return rc;
}

/* ---- atomic write ------------------------------------------------------------------- */

/* Writes n bytes to fd, retrying on EINTR and short writes. Returns 0 or -1. */
static int kit_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsyncs the directory that holds path, so that a rename into it is durable. */
static int kit_sync_dir(const char *path)
{
    char dir[CONFIG_MAX_PATH];
    const char *slash = strrchr(path, '/');
    size_t n;
    int fd, r;

    if (!slash) {
        memcpy(dir, ".", 2);
    } else {
        n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof(dir))
            return -1;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    r = fsync(fd);
    close(fd);
    return r;
}

/*
 * Writes n bytes of text to path atomically with mode 0600: a temporary file next to it
 * (mkostemp: created 0600, O_EXCL), written, fsync'ed, renamed over path, then the
 * directory fsync'ed. The temporary file is removed on any failure before the rename.
 */
static enum err kit_write_atomic(const char *path, const char *text, size_t n)
{
    static const char suffix[] = ".tmp-XXXXXX";
    char tmp[CONFIG_MAX_PATH + sizeof(suffix)];
    size_t plen = strlen(path);
    int fd = -1, renamed = 0;
    enum err rc = ERR_IO;

    if (plen == 0 || plen >= CONFIG_MAX_PATH)
        return ERR_BAD_INPUT;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, suffix, sizeof(suffix));
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return ERR_IO;
    if (fchmod(fd, S_IRUSR | S_IWUSR) != 0 || kit_write_all(fd, text, n) != 0 || fsync(fd) != 0)
        goto out;
    if (close(fd) != 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto out;
    renamed = 1;
    if (kit_sync_dir(path) != 0)
        goto out;
    rc = ERR_OK;
out:
    if (fd >= 0)
        close(fd);
    if (!renamed)
        unlink(tmp);
    return rc;
}

/* Saves with explicit Argon2id parameters; see kit.h. */
enum err kit_save_params(const struct kit *k, const char *path, const char *passphrase,
                         const struct kit_kdf_params *params)
{
    static const struct kit_kdf_params defaults = {KDF_ARGON2ID_OPS_DEFAULT,
                                                   KDF_ARGON2ID_MEM_DEFAULT};
    char *text = NULL;
    enum err rc = ERR_BAD_INPUT;
    size_t plen;

    if (!k || !path || !path[0] || k->k_nsigning == 0)
        goto out;
    if (!params)
        params = &defaults;
    if (passphrase) {
        plen = strnlen(passphrase, KIT_MAX_PASSPHRASE + 1);
        if (plen == 0 || plen > KIT_MAX_PASSPHRASE)
            goto out;
        if (params->kp_opslimit < KDF_ARGON2ID_OPS_MIN ||
            params->kp_opslimit > KDF_ARGON2ID_OPS_MAX ||
            params->kp_memlimit < KDF_ARGON2ID_MEM_MIN ||
            params->kp_memlimit > KDF_ARGON2ID_MEM_MAX)
            goto out;
    }
    rc = kit_to_text(&text, k, passphrase, params);
    if (rc != ERR_OK)
        goto out;
    rc = kit_write_atomic(path, text, strlen(text));
out:
    keyjson_text_drop(text);
    return rc;
}

/* Saves with the default Argon2id parameters; see kit.h. */
enum err kit_save(const struct kit *k, const char *path, const char *passphrase)
{
    return kit_save_params(k, path, passphrase, NULL);
}

/* ---- loading ------------------------------------------------------------------------ */

/* Context for error messages while loading one file. */
struct kit_loader {
    char kl_path[KIT_PATH_SHOWN + 4]; /* printable form of the path */
    char *kl_errmsg;
    size_t kl_errcap;
};

/* Writes "account kit PATH: detail" to the loader's errmsg and returns rc. */
static enum err kit_fail(const struct kit_loader *l, enum err rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum err kit_fail(const struct kit_loader *l, enum err rc, const char *fmt, ...)
{
    char detail[KIT_DETAIL_BYTES];
    va_list ap;

    va_start(ap, fmt);
    (void)err_vmsgf(rc, detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return err_msgf(rc, l->kl_errmsg, l->kl_errcap, "account kit %s: %s", l->kl_path, detail);
}

/* Copies path for messages: control and non-ASCII bytes as '?', long paths cut with "...". */
static void kit_path_show(char *out, size_t cap, const char *path)
{
    size_t i, n = strlen(path), keep = n;

    if (keep > cap - 4)
        keep = cap - 4;
    for (i = 0; i < keep; i++) {
        unsigned char c = (unsigned char)path[i];
        out[i] = (c < 0x20 || c > 0x7e) ? '?' : (char)c;
    }
    if (keep < n) {
        memcpy(out + keep, "...", 3);
        keep += 3;
    }
    out[keep] = '\0';
}

/* Names an errno from open()/read() for a message. */
static const char *kit_errno_name(int e)
{
    const char *name;

    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return "no such file";
    case EACCES:
    case EPERM:
        return "permission denied";
    case ELOOP:
        return "too many symbolic links";
    case ENAMETOOLONG:
        return "name too long";
    default:
        name = strerrorname_np(e);
        return name ? name : "cannot open";
    }
}

/*
 * Reads the file into secure memory (*text, *len; the caller wipes and frees it with
 * secmem_free) after checking its type, size and permissions.
 */
static enum err kit_read_file(const struct kit_loader *l, const char *path, char **text,
                              size_t *len)
{
    struct stat st;
    char *data = NULL;
    size_t got = 0, size;
    enum err rc = ERR_IO;
    int fd;

    *text = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = kit_fail(l, ERR_IO, "%s", kit_errno_name(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = kit_fail(l, ERR_IO, "%s",
                      S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
        goto out;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        rc = kit_fail(l, ERR_CONFIG,
                      "permissions %04o are too open: it holds private keys and must not be "
                      "accessible by others (chmod 600)",
                      (unsigned)(st.st_mode & 07777));
        goto out;
    }
    if (st.st_size == 0) {
        rc = kit_fail(l, ERR_BAD_INPUT, "is empty");
        goto out;
    }
    if (st.st_size > (off_t)KIT_MAX_BYTES) {
        rc = kit_fail(l, ERR_BAD_INPUT, "larger than %u bytes", KIT_MAX_BYTES);
        goto out;
    }
    size = (size_t)st.st_size;
    data = secmem_alloc(size + 1);
    if (!data) {
        rc = kit_fail(l, ERR_NOMEM, "out of memory");
        goto out;
    }
    /* Read one byte more than expected, to notice a file that grew meanwhile. */
    while (got <= size) {
        ssize_t n = read(fd, data + got, size + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = kit_fail(l, ERR_IO, "cannot read (%s)", kit_errno_name(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got != size) {
        rc = kit_fail(l, ERR_IO, "changed while it was being read");
        goto out;
    }
    *text = data;
    *len = got;
    data = NULL;
    rc = ERR_OK;
out:
    if (fd >= 0)
        close(fd);
    secmem_free(data);
    return rc;
}

/* Returns obj[name] as a string of exactly want, 1 if so. */
static int kit_str_is(const json_t *obj, const char *name, const char *want)
{
    const json_t *v = json_object_get(obj, name);

    return json_is_string(v) && json_string_length(v) == strlen(want) &&
           memcmp(json_string_value(v), want, json_string_length(v)) == 0;
}

/*
 * Decodes obj[name], unpadded base64url, into a new buffer of at least min and at most max
 * bytes (*out, caller mem_free()s; *n its length). Returns ERR_OK or ERR_BAD_INPUT.
 */
static enum err kit_get_b64(const json_t *obj, const char *name, size_t min, size_t max,
                            unsigned char **out, size_t *n)
{
    const json_t *v = json_object_get(obj, name);
    size_t cap;

    *out = NULL;
    *n = 0;
    if (!json_is_string(v) || json_string_length(v) > codec_b64_encoded_len(max, 0))
        return ERR_BAD_INPUT;
    cap = codec_b64_decoded_max(json_string_length(v)) + 1;
    *out = mem_alloc(cap);
    if (!*out)
        return ERR_NOMEM;
    if (codec_b64_decode(*out, cap, n, json_string_value(v), json_string_length(v),
                         CODEC_B64_URL) != ERR_OK ||
        *n < min || *n > max) {
        mem_free(*out);
        *out = NULL;
        *n = 0;
        return ERR_BAD_INPUT;
    }
    return ERR_OK;
}

/* Reads obj[name] as an integer in [min, max] into *out. Returns 1 if it is one. */
static int kit_get_int(const json_t *obj, const char *name, json_int_t min, json_int_t max,
                       json_int_t *out)
{
    const json_t *v = json_object_get(obj, name);

    if (!json_is_integer(v))
        return 0;
    *out = json_integer_value(v);
    return *out >= min && *out <= max;
}

/* Parses one private key of kind from keys[name] into *out. */
static enum err kit_get_key(const struct kit_loader *l, const json_t *obj, const char *name,
                            const char *where, enum jwk_kind kind, struct jwk *out)
{
    const json_t *v = json_object_get(obj, name);
    const char *what = kind == JWK_EC_P256 ? "a private P-256 JWK" : "a private X25519 JWK";
    enum err rc;

    memset(out, 0, sizeof(*out));
    if (!v)
        return kit_fail(l, ERR_BAD_INPUT, "%s%s is missing", where, name);
    rc = jwk_from_json(out, v);
    if (rc == ERR_NOMEM)
        return kit_fail(l, rc, "out of memory");
    if (rc != ERR_OK || out->jk_kind != kind ||
        (kind == JWK_EC_P256 ? !ecdsa_p256_has_private(out->jk_ec) : !out->jk_secret)) {
        jwk_clear(out);
        return kit_fail(l, ERR_BAD_INPUT, "%s%s is not %s", where, name, what);
    }
    return ERR_OK;
}

/* Parses the token-signing key list into k. */
static enum err kit_get_signing(const struct kit_loader *l, struct kit *k, const json_t *keys)
{
    const json_t *list = json_object_get(keys, "tokenSigningKeys"), *e, *kid;
    char where[64];
    json_int_t created;
    enum err rc;
    size_t i, j;

    if (!json_is_array(list) || json_array_size(list) == 0)
        return kit_fail(l, ERR_BAD_INPUT, "keys.tokenSigningKeys is not a non-empty array");
    if (json_array_size(list) > KIT_MAX_SIGNING_KEYS)
        return kit_fail(l, ERR_BAD_INPUT, "keys.tokenSigningKeys has more than %d keys",
                        KIT_MAX_SIGNING_KEYS);
    json_array_foreach(list, i, e)
    {
        struct kit_signing *s = &k->k_signing[i];

        (void)snprintf(where, sizeof(where), "keys.tokenSigningKeys[%zu].", i);
        if (!json_is_object(e))
            return kit_fail(l, ERR_BAD_INPUT, "keys.tokenSigningKeys[%zu] is not an object", i);
        kid = json_object_get(e, "kid");
        if (!json_is_string(kid) || !kit_kid_ok(json_string_value(kid)) ||
            strlen(json_string_value(kid)) != json_string_length(kid))
            return kit_fail(l, ERR_BAD_INPUT, "%skid is not a valid key id", where);
        if (!kit_get_int(e, "created", 0, INT64_MAX, &created))
            return kit_fail(l, ERR_BAD_INPUT, "%screated is not a time in seconds", where);
        if (i > 0 && created < k->k_signing[i - 1].ks_created)
            return kit_fail(l, ERR_BAD_INPUT, "%screated is older than the key before it", where);
        rc = kit_get_key(l, e, "key", where, JWK_EC_P256, &s->ks_key);
        if (rc != ERR_OK)
            return rc;
        k->k_nsigning = i + 1;
        s->ks_created = (int64_t)created;
        if (strcmp(s->ks_key.jk_kid, json_string_value(kid)) != 0)
            return kit_fail(l, ERR_BAD_INPUT, "%skey has a kid other than %skid", where, where);
        for (j = 0; j < i; j++) {
            if (strcmp(k->k_signing[j].ks_key.jk_kid, s->ks_key.jk_kid) == 0)
                return kit_fail(l, ERR_BAD_INPUT, "%skid repeats the kid of key %zu", where, j);
        }
    }
    return ERR_OK;
}

/* Parses the "keys" object (clear, or decrypted) into k. */
static enum err kit_keys_from_json(const struct kit_loader *l, struct kit *k, const json_t *keys)
{
    enum err rc;

    if (!json_is_object(keys))
        return kit_fail(l, ERR_BAD_INPUT, "keys is not an object");
    rc = kit_get_key(l, keys, "adminSigningKey", "keys.", JWK_EC_P256, &k->k_admin_sign);
    if (rc == ERR_OK)
        rc = kit_get_key(l, keys, "adminWrapKey", "keys.", JWK_OKP_X25519, &k->k_admin_wrap);
    if (rc == ERR_OK)
        rc = kit_get_signing(l, k, keys);
    return rc;
}

/* Opens "encryptedKeys" with the passphrase and parses the keys into k. */
static enum err kit_open_keys(const struct kit_loader *l, struct kit *k, const json_t *enc,
                              const char *passphrase)
{
    unsigned char *salt = NULL, *data = NULL, *kek = NULL, *aad = NULL, *pt = NULL;
    size_t saltlen = 0, dlen = 0, aadlen = 0, ptlen = 0;
    json_int_t ops = 0, mem = 0;
    json_t *keys = NULL;
    enum err rc;

    if (!json_is_object(enc)) {
        rc = kit_fail(l, ERR_BAD_INPUT, "encryptedKeys is not an object");
        goto out;
    }
    if (!kit_str_is(enc, "kdf", KIT_KDF_NAME) || !kit_str_is(enc, "enc", KIT_ENC_NAME)) {
        rc = kit_fail(l, ERR_BAD_INPUT, "encryptedKeys: unsupported kdf or enc");
        goto out;
    }
    /* The parameters come from the file: bounded before any work is done. */
    if (!kit_get_int(enc, "opslimit", (json_int_t)KDF_ARGON2ID_OPS_MIN,
                     (json_int_t)KDF_ARGON2ID_OPS_MAX, &ops) ||
        !kit_get_int(enc, "memlimit", (json_int_t)KDF_ARGON2ID_MEM_MIN,
                     (json_int_t)KDF_ARGON2ID_MEM_MAX, &mem)) {
        rc = kit_fail(l, ERR_BAD_INPUT,
                      "encryptedKeys: Argon2id parameters missing or out of range (opslimit "
                      "%llu..%llu, memlimit %u..%u)",
                      KDF_ARGON2ID_OPS_MIN, KDF_ARGON2ID_OPS_MAX, KDF_ARGON2ID_MEM_MIN,
                      KDF_ARGON2ID_MEM_MAX);
        goto out;
    }
    rc =
        kit_get_b64(enc, "salt", KDF_ARGON2ID_SALT_BYTES, KDF_ARGON2ID_SALT_BYTES, &salt, &saltlen);
    if (rc == ERR_OK)
        rc = kit_get_b64(enc, "data", AEAD_OVERHEAD + 2, KIT_MAX_BYTES, &data, &dlen);
    if (rc != ERR_OK) {
        rc = kit_fail(l, rc,
                      "encryptedKeys: salt or data is not valid base64url of the "
                      "right length");
        goto out;
    }
    if (!passphrase) {
        rc = kit_fail(l, ERR_UNAUTHORIZED, "is protected by a passphrase, and none was given");
        goto out;
    }
    kek = secmem_alloc(AEAD_KEY_BYTES);
    pt = secmem_alloc(dlen);
    if (!kek || !pt || kit_aad(&aad, &aadlen, k->k_account, k->k_hub_url) != ERR_OK) {
        rc = kit_fail(l, ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = kdf_argon2id(kek, AEAD_KEY_BYTES, passphrase, strnlen(passphrase, KIT_MAX_PASSPHRASE + 1),
                      salt, (unsigned long long)ops, (size_t)mem);
    if (rc != ERR_OK) {
        rc = kit_fail(l, rc, "cannot derive the key from the passphrase (%s)", err_name(rc));
        goto out;
    }
    if (aead_open(pt, dlen, &ptlen, data, dlen, aad, aadlen, kek) != ERR_OK) {
        rc = kit_fail(l, ERR_UNAUTHORIZED, "wrong passphrase, or the file was modified");
        goto out;
    }
    keys = json_loadb((const char *)pt, ptlen, JSON_REJECT_DUPLICATES, NULL);
    if (!keys) {
        rc = kit_fail(l, ERR_BAD_INPUT, "encryptedKeys does not hold valid JSON");
        goto out;
    }
    rc = kit_keys_from_json(l, k, keys);
out:
    keyjson_drop(keys);
    mem_free(salt);
    mem_free(data);
    mem_free(aad);
    secmem_free(kek);
    if (pt)
        secmem_wipe(pt, dlen);
    secmem_free(pt);
    return rc;
}

/* Validates the clear members of a parsed kit and loads its keys into k. */
static enum err kit_from_json(const struct kit_loader *l, struct kit *k, const json_t *file,
                              const char *passphrase)
{
    const json_t *v, *keys, *enc;
    json_int_t version;

    if (!json_is_object(file))
        return kit_fail(l, ERR_BAD_INPUT, "is not a JSON object");
    if (!kit_str_is(file, "type", KIT_TYPE))
        return kit_fail(l, ERR_BAD_INPUT, "is not a Sesame account kit (type is not \"%s\")",
                        KIT_TYPE);
    if (!kit_get_int(file, "version", KIT_VERSION, KIT_VERSION, &version))
        return kit_fail(l, ERR_BAD_INPUT, "unsupported version (this program reads version %d)",
                        KIT_VERSION);
    v = json_object_get(file, "hub");
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
        !kit_hub_url_is_valid(json_string_value(v)))
        return kit_fail(l, ERR_BAD_INPUT, "hub is not an http:// or https:// URL");
    k->k_hub_url = mem_strdup(json_string_value(v));
    if (!k->k_hub_url)
        return kit_fail(l, ERR_NOMEM, "out of memory");
    v = json_object_get(file, "account");
    if (!json_is_string(v) || json_string_length(v) != ID_LEN ||
        !id_is_valid_upper(json_string_value(v)))
        return kit_fail(l, ERR_BAD_INPUT, "account is not a 26-character uppercase id");
    memcpy(k->k_account, json_string_value(v), ID_LEN + 1);

    keys = json_object_get(file, "keys");
    enc = json_object_get(file, "encryptedKeys");
    if (keys && enc)
        return kit_fail(l, ERR_BAD_INPUT, "has both keys and encryptedKeys");
    if (keys)
        return kit_keys_from_json(l, k, keys);
    if (!enc)
        return kit_fail(l, ERR_BAD_INPUT, "has neither keys nor encryptedKeys");
    k->k_protected = 1;
    return kit_open_keys(l, k, enc, passphrase);
}

/* Reads a kit; see kit.h. */
enum err kit_load(struct kit **out, const char *path, const char *passphrase, char *errmsg,
                  size_t errcap)
{
    struct kit_loader l;
    json_error_t jerr;
    struct kit *k = NULL;
    json_t *file = NULL;
    char *text = NULL;
    size_t len = 0;
    enum err rc;

    *out = NULL;
    if (errmsg && errcap)
        errmsg[0] = '\0';
    l.kl_errmsg = errmsg;
    l.kl_errcap = errcap;
    if (!path || !path[0])
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "account kit: no path given");
    kit_path_show(l.kl_path, sizeof(l.kl_path), path);
    if (passphrase && strnlen(passphrase, KIT_MAX_PASSPHRASE + 1) > KIT_MAX_PASSPHRASE)
        return kit_fail(&l, ERR_BAD_INPUT, "the passphrase is longer than %d bytes",
                        KIT_MAX_PASSPHRASE);

    rc = kit_read_file(&l, path, &text, &len);
    if (rc != ERR_OK)
        goto out;
    file = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    secmem_wipe(text, len);
    if (!file) {
        rc = kit_fail(&l, ERR_BAD_INPUT, "not valid JSON (damaged or truncated? line %d)",
                      jerr.line);
        goto out;
    }
    k = kit_new();
    if (!k) {
        rc = kit_fail(&l, ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = kit_from_json(&l, k, file, passphrase);
    if (rc != ERR_OK)
        goto out;
    *out = k;
    k = NULL;
out:
    keyjson_drop(file);
    secmem_free(text);
    kit_free(k);
    return rc;
}
