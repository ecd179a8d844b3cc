/* test_kit.c - the account kit: generation, atomic save, load with and without passphrase. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "crypto/crypto.h"
#include "crypto/kdf.h"
#include "keys/kit.h"

#define HUB  "https://hub.example.com:7700"
#define PASS "correct horse battery staple"

/* Small Argon2id parameters: the 256 MiB default would make the ASan run slow. */
static const struct kit_kdf_params small = {1, KDF_ARGON2ID_MEM_MIN};

static char dir[64];
static char path[128];

static int group_setup(void **state)
{
    (void)state;
    if (crypto_init() != ERR_OK)
        return -1;
    memcpy(dir, "/tmp/sesame-kit-XXXXXX", 23);
    if (!mkdtemp(dir))
        return -1;
    (void)snprintf(path, sizeof(path), "%s/account-kit.json", dir);
    return 0;
}

/* Removes every file in dir, then dir. */
static int group_teardown(void **state)
{
    char p[512];
    struct dirent *de;
    DIR *d = opendir(dir);

    (void)state;
    if (d) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= sizeof(p))
                continue;
            if (unlink(p) != 0)
                (void)rmdir(p);
        }
        closedir(d);
    }
    return rmdir(dir) == 0 ? 0 : -1;
}

/* Returns the number of entries of dir whose name contains ".tmp-". */
static int temp_files(void)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".tmp-"))
            n++;
    }
    closedir(d);
    return n;
}

/* Reads the whole file at p (malloc'ed, NUL-terminated). */
static char *slurp(const char *p)
{
    FILE *f = fopen(p, "rb");
    char *text;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    rewind(f);
    text = malloc((size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* Writes text to p with mode. */
static void spill(const char *p, const char *text, size_t n, mode_t mode)
{
    int fd;

    (void)unlink(p);
    fd = open(p, O_WRONLY | O_CREAT | O_EXCL, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

/* Returns the file's text with member obj.name replaced by value (JSON) or removed (NULL). */
static char *mutate(const char *text, const char *obj, const char *name, const char *value)
{
    json_t *root = json_loads(text, 0, NULL), *o;
    char *out;

    assert_non_null(root);
    o = obj ? json_object_get(root, obj) : root;
    assert_non_null(o);
    if (value)
        assert_int_equal(json_object_set_new(o, name, json_loads(value, JSON_DECODE_ANY, NULL)), 0);
    else
        assert_int_equal(json_object_del(o, name), 0);
    out = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    assert_non_null(out);
    return out;
}

/* Asserts that a and b hold the same account, hub and keys. */
static void assert_kits_equal(const struct kit *a, const struct kit *b)
{
    size_t i;
    int64_t ca, cb;

    assert_string_equal(kit_hub_url(a), kit_hub_url(b));
    assert_string_equal(kit_account_id(a), kit_account_id(b));
    assert_true(jwk_equal(kit_admin_signing_key(a), kit_admin_signing_key(b)));
    assert_true(jwk_equal(kit_admin_wrap_key(a), kit_admin_wrap_key(b)));
    assert_int_equal(kit_signing_key_count(a), kit_signing_key_count(b));
    for (i = 0; i < kit_signing_key_count(a); i++) {
        assert_true(jwk_equal(kit_signing_key(a, i, &ca), kit_signing_key(b, i, &cb)));
        assert_int_equal(ca, cb);
    }
}

/* Returns the base64url text of the admin signing key's d (caller frees). */
static char *admin_d(const struct kit *k)
{
    json_t *j = jwk_to_json(kit_admin_signing_key(k), 1);
    char *d = strdup(json_string_value(json_object_get(j, "d")));

    json_decref(j);
    assert_non_null(d);
    return d;
}

static void test_generate(void **state)
{
    struct kit *k = NULL;
    const struct jwk *cur;
    int64_t created = -1;

    (void)state;
    assert_int_equal(kit_generate(&k, HUB), ERR_OK);
    assert_string_equal(kit_hub_url(k), HUB);
    assert_true(id_is_valid_upper(kit_account_id(k)));
    assert_int_equal(kit_admin_signing_key(k)->jk_kind, JWK_EC_P256);
    assert_true(ecdsa_p256_has_private(kit_admin_signing_key(k)->jk_ec));
    assert_int_equal(kit_admin_wrap_key(k)->jk_kind, JWK_OKP_X25519);
    assert_non_null(kit_admin_wrap_key(k)->jk_secret);
    assert_int_equal(kit_signing_key_count(k), 1);
    cur = kit_signing_key_current(k);
    assert_ptr_equal(cur, kit_signing_key(k, 0, &created));
    assert_true(id_is_valid(cur->jk_kid));
    assert_true(created > 1600000000);
    assert_null(kit_signing_key(k, 1, &created));
    assert_int_equal(created, 0);
    assert_false(kit_is_protected(k));
    kit_free(k);

    assert_int_equal(kit_generate(&k, "hub.example.com"), ERR_BAD_INPUT);
    assert_null(k);
    assert_int_equal(kit_generate(&k, NULL), ERR_BAD_INPUT);
}

static void test_hub_url(void **state)
{
    static const struct {
        const char *url;
        int ok;
    } cases[] = {
        {"https://hub.example.com", 1},
        {"http://127.0.0.1:7700", 1},
        {"https://hub.example.com:7700/base/", 1},
        {"http://h", 1},
        {"https://", 0},
        {"http://", 0},
        {"ftp://hub", 0},
        {"HTTPS://hub", 0},
        {"hub.example.com", 0},
        {"https://hub example.com", 0},
        {"https://hub.example.com/\n", 0},
        {"https://hub.example.com/#frag", 0},
        {"https://hüb.example.com", 0},
        {"", 0},
    };
    char longurl[KIT_MAX_URL_BYTES + 2];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (kit_hub_url_is_valid(cases[i].url) != cases[i].ok)
            fail_msg("\"%s\"", cases[i].url);
    }
    assert_false(kit_hub_url_is_valid(NULL));
    memcpy(longurl, "https://", 8);
    memset(longurl + 8, 'a', sizeof(longurl) - 9);
    longurl[KIT_MAX_URL_BYTES] = '\0';
    assert_true(kit_hub_url_is_valid(longurl));
    longurl[KIT_MAX_URL_BYTES] = 'a';
    longurl[KIT_MAX_URL_BYTES + 1] = '\0';
    assert_false(kit_hub_url_is_valid(longurl));
}

static void test_save_load_clear(void **state)
{
    struct kit *k = NULL, *back = NULL;
    struct stat st;
    char err[512], *text, *d;
    json_t *root;

    (void)state;
    assert_int_equal(kit_generate(&k, HUB), ERR_OK);
    assert_int_equal(kit_signing_key_rotate(k, 2000000000), ERR_OK);
    assert_int_equal(kit_save(k, path, NULL), ERR_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(temp_files(), 0);

    /* The layout, with the keys in clear (the file mode is their only protection). */
    text = slurp(path);
    root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "type")), "sesame-account-kit");
    assert_int_equal(json_integer_value(json_object_get(root, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(root, "hub")), HUB);
    assert_string_equal(json_string_value(json_object_get(root, "account")), kit_account_id(k));
    assert_null(json_object_get(root, "encryptedKeys"));
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(root, "keys"), "tokenSigningKeys")), 2);
    json_decref(root);
    d = admin_d(k);
    assert_non_null(strstr(text, d));
    free(d);
    free(text);

    assert_int_equal(kit_load(&back, path, NULL, err, sizeof(err)), ERR_OK);
    assert_kits_equal(k, back);
    assert_false(kit_is_protected(back));
    assert_string_equal(kit_signing_key_current(back)->jk_kid, kit_signing_key_current(k)->jk_kid);
    kit_free(back);
    /* A passphrase given for an unprotected kit is ignored. */
    assert_int_equal(kit_load(&back, path, "anything", err, sizeof(err)), ERR_OK);
    assert_false(kit_is_protected(back));
    kit_free(back);
    kit_free(k);
}

static void test_save_load_passphrase(void **state)
{
    struct kit *k = NULL, *back = NULL;
    struct stat st;
    char err[512], want[512], *text, *d;
    json_t *root, *enc;

    (void)state;
    assert_int_equal(kit_generate(&k, HUB), ERR_OK);
    assert_int_equal(kit_save_params(k, path, PASS, &small), ERR_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(temp_files(), 0);

    text = slurp(path);
    root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(root);
    assert_null(json_object_get(root, "keys"));
    enc = json_object_get(root, "encryptedKeys");
    assert_string_equal(json_string_value(json_object_get(enc, "kdf")), "argon2id");
    assert_string_equal(json_string_value(json_object_get(enc, "enc")), "A256GCM");
    assert_int_equal(json_integer_value(json_object_get(enc, "opslimit")), 1);
    assert_int_equal(json_integer_value(json_object_get(enc, "memlimit")), KDF_ARGON2ID_MEM_MIN);
    assert_int_equal(json_string_length(json_object_get(enc, "salt")), 22);
    json_decref(root);
    d = admin_d(k);
    assert_null(strstr(text, d)); /* no private key in clear */
    free(d);
    assert_null(strstr(text, "\"d\""));
    free(text);

    assert_int_equal(kit_load(&back, path, PASS, err, sizeof(err)), ERR_OK);
    assert_kits_equal(k, back);
    assert_true(kit_is_protected(back));
    kit_free(back);

    (void)snprintf(want, sizeof(want), "account kit %s: wrong passphrase, or the file was modified",
                   path);
    assert_int_equal(kit_load(&back, path, "correct horse battery stapl", err, sizeof(err)),
                     ERR_UNAUTHORIZED);
    assert_null(back);
    assert_string_equal(err, want);
    assert_int_equal(kit_load(&back, path, "", err, sizeof(err)), ERR_UNAUTHORIZED);
    assert_string_equal(err, want);
    (void)snprintf(want, sizeof(want),
                   "account kit %s: is protected by a passphrase, and none was given", path);
    assert_int_equal(kit_load(&back, path, NULL, err, sizeof(err)), ERR_UNAUTHORIZED);
    assert_string_equal(err, want);

    /* Saving again without a passphrase replaces the file, still 0600. */
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(kit_save(k, path, NULL), ERR_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(kit_load(&back, path, NULL, err, sizeof(err)), ERR_OK);
    assert_kits_equal(k, back);
    kit_free(back);
    kit_free(k);
}

/* Edits of a protected kit: each refused with its message. */
struct edit_case {
    const char *obj, *name, *value;
    enum err rc;
    const char *detail; /* after "account kit PATH: " */
};

static void test_protected_tampering(void **state)
{
    static const struct edit_case cases[] = {
        /* Bound by the associated data or the key derivation: looks like a wrong passphrase. */
        {NULL, "account", "\"ZZZZZZZZZZZZZZZZZZZZZZZZZZ\"", ERR_UNAUTHORIZED,
         "wrong passphrase, or the file was modified"},
        {NULL, "hub", "\"https://evil.example.com\"", ERR_UNAUTHORIZED,
         "wrong passphrase, or the file was modified"},
        {"encryptedKeys", "opslimit", "2", ERR_UNAUTHORIZED,
         "wrong passphrase, or the file was modified"},
        {"encryptedKeys", "salt", "\"AAAAAAAAAAAAAAAAAAAAAA\"", ERR_UNAUTHORIZED,
         "wrong passphrase, or the file was modified"},
        /* Bounded before any work. */
        {"encryptedKeys", "memlimit", "2147483648", ERR_BAD_INPUT,
         "encryptedKeys: Argon2id parameters missing or out of range (opslimit 1..16, memlimit "
         "8192..1073741824)"},
        {"encryptedKeys", "opslimit", "17", ERR_BAD_INPUT,
         "encryptedKeys: Argon2id parameters missing or out of range (opslimit 1..16, memlimit "
         "8192..1073741824)"},
        {"encryptedKeys", "opslimit", "0", ERR_BAD_INPUT,
         "encryptedKeys: Argon2id parameters missing or out of range (opslimit 1..16, memlimit "
         "8192..1073741824)"},
        {"encryptedKeys", "memlimit", NULL, ERR_BAD_INPUT,
         "encryptedKeys: Argon2id parameters missing or out of range (opslimit 1..16, memlimit "
         "8192..1073741824)"},
        {"encryptedKeys", "kdf", "\"scrypt\"", ERR_BAD_INPUT,
         "encryptedKeys: unsupported kdf or enc"},
        {"encryptedKeys", "salt", "\"AAAA\"", ERR_BAD_INPUT,
         "encryptedKeys: salt or data is not valid base64url of the right length"},
        {"encryptedKeys", "data", "\"AAAA\"", ERR_BAD_INPUT,
         "encryptedKeys: salt or data is not valid base64url of the right length"},
        {NULL, "encryptedKeys", "[]", ERR_BAD_INPUT, "encryptedKeys is not an object"},
        {NULL, "keys", "{}", ERR_BAD_INPUT, "has both keys and encryptedKeys"},
        {NULL, "encryptedKeys", NULL, ERR_BAD_INPUT, "has neither keys nor encryptedKeys"},
        {NULL, "version", "2", ERR_BAD_INPUT, "unsupported version (this program reads version 1)"},
        {NULL, "version", "\"1\"", ERR_BAD_INPUT,
         "unsupported version (this program reads version 1)"},
        {NULL, "type", NULL, ERR_BAD_INPUT,
         "is not a Sesame account kit (type is not \"sesame-account-kit\")"},
        {NULL, "hub", "\"hub.example.com\"", ERR_BAD_INPUT,
         "hub is not an http:// or https:// URL"},
        {NULL, "account", "\"abcdefghijklmnopqrstuvwxyz\"", ERR_BAD_INPUT,
         "account is not a 26-character uppercase id"},
    };
    char edited[160], err[512], want[512], *text, *mod;
    struct kit *k = NULL, *back = NULL;
    size_t i;

    (void)state;
    (void)snprintf(edited, sizeof(edited), "%s/edited.json", dir);
    assert_int_equal(kit_generate(&k, HUB), ERR_OK);
    assert_int_equal(kit_save_params(k, path, PASS, &small), ERR_OK);
    text = slurp(path);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mod = mutate(text, cases[i].obj, cases[i].name, cases[i].value);
        spill(edited, mod, strlen(mod), 0600);
        (void)snprintf(want, sizeof(want), "account kit %s: %s", edited, cases[i].detail);
        if (kit_load(&back, edited, PASS, err, sizeof(err)) != cases[i].rc ||
            strcmp(err, want) != 0)
            fail_msg("case %zu: \"%s\", expected \"%s\"", i, err, want);
        assert_null(back);
        free(mod);
    }

    /* A flipped character of the ciphertext. */
    {
        json_t *root = json_loads(text, 0, NULL);
        json_t *enc = json_object_get(root, "encryptedKeys");
        char *data = strdup(json_string_value(json_object_get(enc, "data")));
        assert_non_null(data);
        data[10] = data[10] == 'A' ? 'B' : 'A';
        assert_int_equal(json_object_set_new(enc, "data", json_string(data)), 0);
        mod = json_dumps(root, 0);
        spill(edited, mod, strlen(mod), 0600);
        assert_int_equal(kit_load(&back, edited, PASS, err, sizeof(err)), ERR_UNAUTHORIZED);
        free(mod);
        free(data);
        json_decref(root);
    }

    /* Truncated at every 97th byte: never loads, always a one-line message. */
    for (i = 1; i < strlen(text); i += 97) {
        spill(edited, text, i, 0600);
        (void)snprintf(want, sizeof(want), "account kit %s: not valid JSON", edited);
        assert_int_equal(kit_load(&back, edited, PASS, err, sizeof(err)), ERR_BAD_INPUT);
        assert_true(strncmp(err, want, strlen(want)) == 0);
        assert_null(strchr(err, '\n'));
    }
    free(text);
    kit_free(k);
}

/* Edits of an unprotected kit's keys. */
static void test_clear_tampering(void **state)
{
    static const char other_d[] = "\"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE\""; /* RFC 7517 */
    char edited[160], err[512], want[512], *text, *mod;
    struct kit *k = NULL, *back = NULL;
    json_t *root, *keys, *list, *e;

    (void)state;
    (void)snprintf(edited, sizeof(edited), "%s/edited.json", dir);
    assert_int_equal(kit_generate(&k, HUB), ERR_OK);
    assert_int_equal(kit_signing_key_rotate(k, 2000000000), ERR_OK);
    assert_int_equal(kit_save(k, path, NULL), ERR_OK);
    text = slurp(path);

#define EXPECT(detail)                                                                             \
    do {                                                                                           \
        mod = json_dumps(root, JSON_INDENT(2));                                                    \
        spill(edited, mod, strlen(mod), 0600);                                                     \
        (void)snprintf(want, sizeof(want), "account kit %s: %s", edited, detail);                  \
        assert_int_equal(kit_load(&back, edited, NULL, err, sizeof(err)), ERR_BAD_INPUT);          \
        assert_string_equal(err, want);                                                            \
        free(mod);                                                                                 \
        json_decref(root);                                                                         \
    } while (0)

    /* The admin key's d replaced by another key's: it no longer matches x, y. */
    root = json_loads(text, 0, NULL);
    keys = json_object_get(root, "keys");
    json_object_set_new(json_object_get(keys, "adminSigningKey"), "d",
                        json_loads(other_d, JSON_DECODE_ANY, NULL));
    EXPECT("keys.adminSigningKey is not a private P-256 JWK");

    root = json_loads(text, 0, NULL);
    keys = json_object_get(root, "keys");
    json_object_del(json_object_get(keys, "adminWrapKey"), "d");
    EXPECT("keys.adminWrapKey is not a private X25519 JWK");

    root = json_loads(text, 0, NULL);
    keys = json_object_get(root, "keys");
    json_object_del(keys, "adminWrapKey");
    EXPECT("keys.adminWrapKey is missing");

    root = json_loads(text, 0, NULL);
    e = json_array_get(json_object_get(json_object_get(root, "keys"), "tokenSigningKeys"), 1);
    json_object_set_new(e, "kid", json_string("another"));
    EXPECT("keys.tokenSigningKeys[1].key has a kid other than keys.tokenSigningKeys[1].kid");

    root = json_loads(text, 0, NULL);
    e = json_array_get(json_object_get(json_object_get(root, "keys"), "tokenSigningKeys"), 1);
    json_object_set_new(e, "created", json_integer(5));
    EXPECT("keys.tokenSigningKeys[1].created is older than the key before it");

    root = json_loads(text, 0, NULL);
    e = json_array_get(json_object_get(json_object_get(root, "keys"), "tokenSigningKeys"), 0);
    json_object_set_new(e, "created", json_real(5.5));
    EXPECT("keys.tokenSigningKeys[0].created is not a time in seconds");

    root = json_loads(text, 0, NULL);
    list = json_object_get(json_object_get(root, "keys"), "tokenSigningKeys");
    json_array_append(list, json_array_get(list, 1));
    EXPECT("keys.tokenSigningKeys[2].kid repeats the kid of key 1");

    root = json_loads(text, 0, NULL);
    json_object_set_new(json_object_get(root, "keys"), "tokenSigningKeys", json_array());
    EXPECT("keys.tokenSigningKeys is not a non-empty array");

    root = json_loads(text, 0, NULL);
    e = json_array_get(json_object_get(json_object_get(root, "keys"), "tokenSigningKeys"), 0);
    json_object_del(json_object_get(e, "key"), "d");
    EXPECT("keys.tokenSigningKeys[0].key is not a private P-256 JWK");
#undef EXPECT

    free(text);
    kit_free(k);
}

static void test_file_checks(void **state)
{
    char p[160], err[512], want[512], *text;
    struct kit *k = NULL, *back = NULL;

    (void)state;
    assert_int_equal(kit_generate(&k, HUB), ERR_OK);
    assert_int_equal(kit_save(k, path, NULL), ERR_OK);
    text = slurp(path);

    /* Like ssh: any permission for group or others is refused. */
    assert_int_equal(chmod(path, 0644), 0);
    (void)snprintf(want, sizeof(want),
                   "account kit %s: permissions 0644 are too open: it holds private keys and must "
                   "not be accessible by others (chmod 600)",
                   path);
    assert_int_equal(kit_load(&back, path, NULL, err, sizeof(err)), ERR_CONFIG);
    assert_string_equal(err, want);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(kit_load(&back, path, NULL, err, sizeof(err)), ERR_CONFIG);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(kit_load(&back, path, NULL, err, sizeof(err)), ERR_CONFIG);
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(kit_load(&back, path, NULL, err, sizeof(err)), ERR_OK);
    kit_free(back);
    assert_int_equal(chmod(path, 0600), 0);

    (void)snprintf(p, sizeof(p), "%s/missing.json", dir);
    (void)snprintf(want, sizeof(want), "account kit %s: no such file", p);
    assert_int_equal(kit_load(&back, p, NULL, err, sizeof(err)), ERR_IO);
    assert_string_equal(err, want);

    (void)snprintf(want, sizeof(want), "account kit %s: is a directory", dir);
    assert_int_equal(kit_load(&back, dir, NULL, err, sizeof(err)), ERR_IO);
    assert_string_equal(err, want);

    (void)snprintf(p, sizeof(p), "%s/empty.json", dir);
    spill(p, "", 0, 0600);
    (void)snprintf(want, sizeof(want), "account kit %s: is empty", p);
    assert_int_equal(kit_load(&back, p, NULL, err, sizeof(err)), ERR_BAD_INPUT);
    assert_string_equal(err, want);

    (void)snprintf(p, sizeof(p), "%s/array.json", dir);
    spill(p, "[1]", 3, 0600);
    (void)snprintf(want, sizeof(want), "account kit %s: is not a JSON object", p);
    assert_int_equal(kit_load(&back, p, NULL, err, sizeof(err)), ERR_BAD_INPUT);
    assert_string_equal(err, want);

    /* A control character in the path is not echoed. */
    (void)snprintf(p, sizeof(p), "%s/bad\nname", dir);
    (void)snprintf(want, sizeof(want), "account kit %s/bad?name: no such file", dir);
    assert_int_equal(kit_load(&back, p, NULL, err, sizeof(err)), ERR_IO);
    assert_string_equal(err, want);

    assert_int_equal(kit_load(&back, "", NULL, err, sizeof(err)), ERR_BAD_INPUT);
    assert_string_equal(err, "account kit: no path given");

    /* Saving into a directory that does not exist fails and leaves nothing behind. */
    (void)snprintf(p, sizeof(p), "%s/nodir/kit.json", dir);
    assert_int_equal(kit_save(k, p, NULL), ERR_IO);
    assert_int_equal(temp_files(), 0);
    /* Bad arguments. */
    assert_int_equal(kit_save(k, path, ""), ERR_BAD_INPUT);
    {
        struct kit_kdf_params bad = {0, KDF_ARGON2ID_MEM_MIN};
        assert_int_equal(kit_save_params(k, path, PASS, &bad), ERR_BAD_INPUT);
        bad.kp_opslimit = 1;
        bad.kp_memlimit = KDF_ARGON2ID_MEM_MAX + 1;
        assert_int_equal(kit_save_params(k, path, PASS, &bad), ERR_BAD_INPUT);
    }
    assert_int_equal(kit_save(k, "", NULL), ERR_BAD_INPUT);
    /* The file written before is untouched by the refused saves. */
    {
        char *now = slurp(path);
        assert_string_equal(now, text);
        free(now);
    }
    free(text);
    kit_free(k);
}

static void test_rotation(void **state)
{
    struct kit *k = NULL, *back = NULL;
    char err[512], first[KID_MAX_LEN + 1], second[KID_MAX_LEN + 1];
    int64_t created;
    int i;

    (void)state;
    assert_int_equal(kit_generate(&k, HUB), ERR_OK);
    memcpy(first, kit_signing_key_current(k)->jk_kid, sizeof(first));
    assert_int_equal(kit_signing_key_rotate(k, 1000), ERR_BAD_INPUT); /* before the current */
    assert_int_equal(kit_signing_key_rotate(k, -1), ERR_BAD_INPUT);
    assert_int_equal(kit_signing_key_rotate(k, 2000000000), ERR_OK);
    assert_int_equal(kit_signing_key_count(k), 2);
    memcpy(second, kit_signing_key_current(k)->jk_kid, sizeof(second));
    assert_string_not_equal(first, second);
    assert_true(id_is_valid(second));
    assert_non_null(kit_signing_key(k, 1, &created));
    assert_int_equal(created, 2000000000);

    assert_int_equal(kit_signing_key_remove(k, second), ERR_BAD_INPUT); /* the current one */
    assert_int_equal(kit_signing_key_remove(k, "nope"), ERR_NOT_FOUND);
    assert_int_equal(kit_signing_key_remove(k, first), ERR_OK);
    assert_int_equal(kit_signing_key_count(k), 1);
    assert_string_equal(kit_signing_key_current(k)->jk_kid, second);

    for (i = 1; i < KIT_MAX_SIGNING_KEYS; i++)
        assert_int_equal(kit_signing_key_rotate(k, 2000000000 + i), ERR_OK);
    assert_int_equal(kit_signing_key_rotate(k, 2100000000), ERR_TOO_LARGE);
    assert_int_equal(kit_signing_key_count(k), KIT_MAX_SIGNING_KEYS);

    /* A full kit saves and loads back in the same order. */
    assert_int_equal(kit_save_params(k, path, PASS, &small), ERR_OK);
    assert_int_equal(kit_load(&back, path, PASS, err, sizeof(err)), ERR_OK);
    assert_kits_equal(k, back);
    kit_free(back);
    kit_free(k);
}

static void test_jwk_generate(void **state)
{
    struct jwk k;
    char kid[KID_MAX_LEN + 2];

    (void)state;
    assert_int_equal(kit_jwk_generate(&k, JWK_OCT_256, NULL), ERR_BAD_INPUT);
    assert_null(k.jk_secret);
    assert_int_equal(kit_jwk_generate(&k, JWK_EC_P256, "has space"), ERR_BAD_INPUT);
    memset(kid, 'k', sizeof(kid) - 1);
    kid[KID_MAX_LEN + 1] = '\0';
    assert_int_equal(kit_jwk_generate(&k, JWK_EC_P256, kid), ERR_BAD_INPUT);
    kid[KID_MAX_LEN] = '\0';
    assert_int_equal(kit_jwk_generate(&k, JWK_EC_P256, kid), ERR_OK);
    assert_string_equal(k.jk_kid, kid);
    jwk_clear(&k);
    assert_int_equal(kit_jwk_generate(&k, JWK_OKP_X25519, "w"), ERR_OK);
    assert_non_null(k.jk_secret);
    jwk_clear(&k);
}

/* Every allocation of ours failing in turn: an error, no leak, the old file intact. */
static void test_allocation_failures(void **state)
{
    struct kit *k = NULL, *back = NULL;
    char err[512], *before, *after;
    long total, n;
    int protect;
    enum err rc;

    (void)state;
    assert_int_equal(kit_generate(&k, HUB), ERR_OK);
    for (protect = 0; protect < 2; protect++) {
        const char *pass = protect ? PASS : NULL;

        assert_int_equal(kit_save_params(k, path, pass, &small), ERR_OK);
        before = slurp(path);
        mem_fail_after(-1);
        assert_int_equal(kit_save_params(k, path, pass, &small), ERR_OK);
        total = mem_fail_after(-1);
        for (n = 0; n < total; n++) {
            mem_fail_after(n);
            rc = kit_save_params(k, path, pass, &small);
            mem_fail_after(-1);
            assert_int_equal(rc, ERR_NOMEM);
            assert_int_equal(temp_files(), 0);
        }
        after = slurp(path);
        assert_int_equal(strlen(before), strlen(after)); /* a complete kit, never a partial one */
        free(before);
        free(after);

        mem_fail_after(-1);
        assert_int_equal(kit_load(&back, path, pass, err, sizeof(err)), ERR_OK);
        kit_free(back);
        total = mem_fail_after(-1);
        assert_true(total > 0);
        for (n = 0; n < total; n++) {
            mem_fail_after(n);
            rc = kit_load(&back, path, pass, err, sizeof(err));
            mem_fail_after(-1);
            assert_int_equal(rc, ERR_NOMEM);
            assert_null(back);
        }
    }
    mem_fail_after(-1);
    assert_int_equal(kit_generate(&back, HUB), ERR_OK);
    kit_free(back);
    total = mem_fail_after(-1);
    for (n = 0; n < total; n++) {
        mem_fail_after(n);
        rc = kit_generate(&back, HUB);
        mem_fail_after(-1);
        assert_int_equal(rc, ERR_NOMEM);
        assert_null(back);
    }
    kit_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_hub_url),
        cmocka_unit_test(test_save_load_clear),
        cmocka_unit_test(test_save_load_passphrase),
        cmocka_unit_test(test_protected_tampering),
        cmocka_unit_test(test_clear_tampering),
        cmocka_unit_test(test_file_checks),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_jwk_generate),
        cmocka_unit_test(test_allocation_failures),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
