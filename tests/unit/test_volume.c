/*
 * test_volume.c - the Connect server's volume store (src/store/volume.h) on real files in a
 * fresh temporary directory: opening (modes, refusals, migrations), every transaction
 * operation and its idempotence, versions that never go backwards, all-or-nothing batches
 * (bad input and an injected SQLite failure mid-transaction), cascades of vault and grant
 * deletion, file contents (atomic write, SHA-256 verification, corruption detected,
 * crash leftovers collected), two handles and two processes on one directory, concurrent
 * readers, activity paging and upload marks, erasure of deleted ciphertext, allocation
 * failures, and faults: a damaged page or a truncated file (volume_check, reads, the
 * rebuild in place with the damaged copy kept, the epoch), a file SQLite cannot open
 * (volume_open_repair), damaged file contents (verify, adopt) and a full disk (root only).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/alloc.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "store/store.h"
#include "store/volume.h"

/* Ids: 26 characters, lowercase (uppercase for accounts and editors). */
#define ACC  "A0000000000000000000000001"
#define ACC2 "A0000000000000000000000002"
#define SRV  "s0000000000000000000000001"
#define SRV2 "s0000000000000000000000002"
#define SRVU "S0000000000000000000000001"
#define V1   "v0000000000000000000000001"
#define V2   "v0000000000000000000000002"
#define V9   "v0000000000000000000000009"
#define I1   "i0000000000000000000000001"
#define I2   "i0000000000000000000000002"
#define I3   "i0000000000000000000000003"
#define F1   "f0000000000000000000000001"
#define F2   "f0000000000000000000000002"
#define F9   "f0000000000000000000000009"
#define J1   "j0000000000000000000000001"
#define J2   "j0000000000000000000000002"
#define J3   "j0000000000000000000000003"
#define JWK  "{\"kty\":\"EC\",\"crv\":\"P-256\"}"
#define HUB  "https://hub.example:7700"
#define VTS  "[{\"u\":\"" V1 "\",\"a\":3}]"
#define T0   1700000000LL

static char g_root[64];           /* the temporary directory of this run */
static int g_counter;             /* volume directories made so far */
static char g_vdir[PATH_MAX];     /* the data directory of the current test */
static struct volume *g_vol;      /* the volume of the current test */
static char g_db[PATH_MAX + 16];  /* its database file */
static char g_wal[PATH_MAX + 16]; /* its WAL file */

static const unsigned char ct_a[] = {0xa1, 0xa2, 0xa3, 0xa4};
static const unsigned char ct_b[] = {0xb1, 0xb2, 0xb3};
static const unsigned char ct_c[] = {0xc1, 0xc2};
static const unsigned char wrapped_a[] = {0x77, 0x01, 0x02};
static const unsigned char wrapped_b[] = {0x77, 0x03};
static const unsigned char content_a[] = "file ciphertext A, as the hub delivered it";

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int group_setup(void **state)
{
    (void)state;
    if (crypto_init() != ERR_OK)
        return -1;
    (void)snprintf(g_root, sizeof(g_root), "/tmp/sesame-volume-XXXXXX");
    return mkdtemp(g_root) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    return nftw(g_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Points g_vdir (and g_db, g_wal) at a fresh, not yet existing data directory. */
static void next_dir(void)
{
    (void)snprintf(g_vdir, sizeof(g_vdir), "%s/v%d/.op/data", g_root, ++g_counter);
    (void)snprintf(g_db, sizeof(g_db), "%s/sesame.db", g_vdir);
    (void)snprintf(g_wal, sizeof(g_wal), "%s/sesame.db-wal", g_vdir);
}

static int reopen(void)
{
    char err[256];

    volume_close(g_vol);
    g_vol = NULL;
    if (volume_open(&g_vol, g_vdir, err, sizeof(err)) != ERR_OK) {
        print_error("volume_open: %s\n", err);
        return -1;
    }
    return 0;
}

static int fx_setup(void **state)
{
    (void)state;
    next_dir();
    return reopen();
}

static int fx_teardown(void **state)
{
    (void)state;
    volume_close(g_vol);
    g_vol = NULL;
    return 0;
}

/* ---- Helpers ------------------------------------------------------------------------------ */

static struct volume_tx *begin(void)
{
    struct volume_tx *tx = NULL;

    assert_int_equal(volume_tx_begin(g_vol, &tx), ERR_OK);
    assert_non_null(tx);
    return tx;
}

static struct volume_vault vault_rec(const char *id, const unsigned char *attrs, size_t len,
                                     uint64_t attr_v, uint64_t content_v)
{
    struct volume_vault vv = {.vv_type = "USER_CREATED",
                              .vv_attrs_ct = attrs,
                              .vv_attrs_ct_len = len,
                              .vv_attribute_version = attr_v,
                              .vv_content_version = content_v,
                              .vv_created_at = T0,
                              .vv_updated_at = T0 + (int64_t)attr_v};

    memcpy(vv.vv_id, id, ID_LEN + 1);
    return vv;
}

static struct volume_item item_rec(const char *vault, const char *id, uint64_t version,
                                   const unsigned char *ov, size_t ovlen, const unsigned char *dt,
                                   size_t dtlen)
{
    struct volume_item it = {.vi_version = version,
                             .vi_category = "LOGIN",
                             .vi_overview = ov,
                             .vi_overview_len = ovlen,
                             .vi_details = dt,
                             .vi_details_len = dtlen,
                             .vi_created_at = T0,
                             .vi_updated_at = T0 + (int64_t)version,
                             .vi_last_edited_by = ACC};

    memcpy(it.vi_vault, vault, ID_LEN + 1);
    memcpy(it.vi_id, id, ID_LEN + 1);
    return it;
}

static struct volume_file file_rec(const char *vault, const char *id, const void *content,
                                   size_t len)
{
    struct volume_file f = {.vf_size = 10, .vf_created_at = T0};

    memcpy(f.vf_vault, vault, ID_LEN + 1);
    memcpy(f.vf_id, id, ID_LEN + 1);
    assert_int_equal(hash_sha256(f.vf_sha256, content, len), ERR_OK);
    return f;
}

/* Grants and creates vault id in one committed transaction. */
static void make_vault(const char *id)
{
    struct volume_grant g = {
        .vg_key_wrapped = wrapped_a, .vg_key_wrapped_len = sizeof(wrapped_a), .vg_created_at = T0};
    struct volume_vault vv = vault_rec(id, ct_a, sizeof(ct_a), 1, 1);
    struct volume_tx *tx = begin();

    memcpy(g.vg_vault, id, ID_LEN + 1);
    assert_int_equal(volume_tx_grant_put(tx, &g), ERR_OK);
    assert_int_equal(volume_tx_vault_put(tx, &vv), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
}

/* Puts one item in its own committed transaction. */
static void put_item(const char *vault, const char *id, uint64_t version, const unsigned char *ov,
                     size_t ovlen)
{
    struct volume_item it = item_rec(vault, id, version, ov, ovlen, ct_c, sizeof(ct_c));
    struct volume_tx *tx = begin();

    assert_int_equal(volume_tx_item_put(tx, &it), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
}

/* Returns the stored version of a live item, 0 if it is not served. */
static uint64_t item_version(const char *vault, const char *id)
{
    struct volume_item it;
    uint64_t v;
    enum err e = volume_item_get(g_vol, vault, id, &it);

    if (e == ERR_NOT_FOUND)
        return 0;
    assert_int_equal(e, ERR_OK);
    v = it.vi_version;
    volume_item_clear(&it);
    return v;
}

static uint64_t generation(void)
{
    uint64_t g = 99;

    assert_int_equal(volume_generation(g_vol, &g), ERR_OK);
    return g;
}

static uint64_t last_seq(void)
{
    uint64_t s = 99;

    assert_int_equal(volume_last_seq(g_vol, &s), ERR_OK);
    return s;
}

static size_t count_items(const char *vault)
{
    struct volume_item *list;
    size_t n;
    enum err e = volume_item_list(g_vol, vault, &list, &n);

    if (e == ERR_NOT_FOUND)
        return 0;
    assert_int_equal(e, ERR_OK);
    volume_item_list_free(list, n);
    return n;
}

static size_t count_vaults(void)
{
    struct volume_vault *list;
    size_t n;

    assert_int_equal(volume_vault_list(g_vol, &list, &n), ERR_OK);
    volume_vault_list_free(list, n);
    return n;
}

static int64_t sql_int(const char *path, const char *sql)
{
    sqlite3_stmt *st;
    sqlite3 *db;
    int64_t v = -1;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *db;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int path_mode(const char *path)
{
    struct stat sb;

    if (lstat(path, &sb) != 0)
        return -1;
    return (int)(sb.st_mode & 0777);
}

/* Path of file id's content in vault. */
static void content_path(char *out, size_t cap, const char *vault, const char *id)
{
    if (id)
        (void)snprintf(out, cap, "%s/files/%s/%s", g_vdir, vault, id);
    else
        (void)snprintf(out, cap, "%s/files/%s", g_vdir, vault);
}

/* Number of entries (without . and ..) in directory path; -1 if it does not exist. */
static int dir_entries(const char *path)
{
    struct dirent *de;
    DIR *d = opendir(path);
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    }
    closedir(d);
    return n;
}

/* ---- Opening and migrations --------------------------------------------------------------- */

static void test_open_creates_private_files(void **state)
{
    char files[PATH_MAX + 16], parent[PATH_MAX];
    struct volume_meta m;
    struct stat sb;

    (void)state;
    next_dir();
    assert_int_equal(reopen(), 0);
    /* The data directory and its missing parents, the files directory: 0700. */
    assert_int_equal(path_mode(g_vdir), 0700);
    (void)snprintf(parent, sizeof(parent), "%s/v%d/.op", g_root, g_counter);
    assert_int_equal(path_mode(parent), 0700);
    (void)snprintf(files, sizeof(files), "%s/files", g_vdir);
    assert_int_equal(path_mode(files), 0700);
    assert_int_equal(path_mode(g_db), 0600);

    /* A first write goes to the WAL, created with the database's mode. */
    make_vault(V1);
    assert_int_equal(path_mode(g_wal), 0600);
    assert_int_equal(sql_int(g_db, "PRAGMA user_version"), VOLUME_SCHEMA_VERSION);
    assert_int_equal(sql_int(g_db, "PRAGMA application_id"), 0x53455356);
    assert_int_equal(sql_int(g_db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
                                   " AND sql LIKE '%STRICT'"),
                     8);
    assert_int_equal(sql_int(g_db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"), 8);

    /* A fresh volume: no identity, nothing synced. */
    assert_int_equal(volume_meta_get(g_vol, &m), ERR_OK);
    assert_string_equal(m.vm_account, "");
    assert_string_equal(m.vm_server, "");
    assert_string_equal(m.vm_hub_url, "");
    assert_int_equal(m.vm_last_seq, 0);
    assert_int_equal(m.vm_last_sync_at, 0);
    assert_int_equal(m.vm_server_deleted, 0);
    assert_int_equal(m.vm_generation, 1);
    volume_meta_clear(&m);

    /* Closing the last connection checkpoints and removes the WAL. */
    volume_close(g_vol);
    g_vol = NULL;
    assert_int_equal(stat(g_wal, &sb), -1);
    assert_int_equal(errno, ENOENT);
    {
        char text[16] = "";
        sqlite3_stmt *st;
        sqlite3 *db;
        assert_int_equal(sqlite3_open_v2(g_db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        (void)snprintf(text, sizeof(text), "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_close(db);
        assert_string_equal(text, "wal");
    }
}

static void test_open_refusals(void **state)
{
    struct volume *v = (struct volume *)&v;
    char err[256], path[PATH_MAX + 32];
    FILE *f;

    (void)state;
    assert_int_equal(volume_open(&v, "", err, sizeof(err)), ERR_CONFIG);
    assert_null(v);
    assert_string_equal(err, "no data directory given");
    assert_int_equal(volume_open(&v, NULL, err, sizeof(err)), ERR_CONFIG);

    /* The data directory is a file. */
    (void)snprintf(path, sizeof(path), "%s/plainfile", g_root);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(volume_open(&v, path, err, sizeof(err)), ERR_IO);
    assert_null(v);
    assert_non_null(strstr(err, "is not a directory"));

    /* dir/files is a file. */
    next_dir();
    assert_int_equal(reopen(), 0);
    volume_close(g_vol);
    g_vol = NULL;
    (void)snprintf(path, sizeof(path), "%s/files", g_vdir);
    assert_int_equal(rmdir(path), 0);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(volume_open(&v, g_vdir, err, sizeof(err)), ERR_IO);
    assert_null(v);
    assert_non_null(strstr(err, "files is not a directory"));

    /* dir/sesame.db is a directory. */
    next_dir();
    assert_int_equal(reopen(), 0);
    volume_close(g_vol);
    g_vol = NULL;
    assert_int_equal(remove(g_db), 0);
    assert_int_equal(mkdir(g_db, 0700), 0);
    assert_int_equal(volume_open(&v, g_vdir, err, sizeof(err)), ERR_IO);
    assert_null(v);
    assert_non_null(strstr(err, "is not a regular file"));
}

static void test_open_foreign_files(void **state)
{
    static const char junk[] = "this is a text file, not a database, and it is long enough "
                               "to cover the header of one: 0123456789 0123456789 0123456789";
    struct volume *v = NULL;
    struct store *hub = NULL;
    char err[256];
    FILE *f;

    (void)state;
    /* Not SQLite at all. */
    next_dir();
    assert_int_equal(reopen(), 0);
    volume_close(g_vol);
    g_vol = NULL;
    f = fopen(g_db, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(junk, 1, sizeof(junk) - 1, f), sizeof(junk) - 1);
    fclose(f);
    assert_int_equal(volume_open(&v, g_vdir, err, sizeof(err)), ERR_CORRUPT);
    assert_null(v);
    assert_string_equal(err, "cannot use the volume database: file is not a database");

    /* Another application's database: refused and left as it was. */
    next_dir();
    assert_int_equal(reopen(), 0);
    volume_close(g_vol);
    g_vol = NULL;
    assert_int_equal(remove(g_db), 0);
    sql_exec(g_db, "CREATE TABLE t (x INTEGER)");
    assert_int_equal(volume_open(&v, g_vdir, err, sizeof(err)), ERR_STORAGE);
    assert_string_equal(err, "not a Sesame volume database (it holds other tables)");

    assert_int_equal(remove(g_db), 0);
    sql_exec(g_db, "PRAGMA application_id = 42");
    assert_int_equal(volume_open(&v, g_vdir, err, sizeof(err)), ERR_STORAGE);
    assert_string_equal(err, "not a Sesame volume database (application_id 42)");

    /* The hub's database ("SESH") is not a volume. */
    assert_int_equal(remove(g_db), 0);
    assert_int_equal(store_open(&hub, g_db, err, sizeof(err)), ERR_OK);
    store_close(hub);
    assert_int_equal(volume_open(&v, g_vdir, err, sizeof(err)), ERR_STORAGE);
    assert_null(v);
    assert_string_equal(err, "not a Sesame volume database (application_id 1397052232)");
}

static void test_migration_newer_refused(void **state)
{
    struct volume *v = NULL;
    char err[256], want[256];

    (void)state;
    next_dir();
    assert_int_equal(reopen(), 0);
    volume_close(g_vol);
    g_vol = NULL;
    assert_int_equal(remove(g_db), 0);
    sql_exec(g_db, "PRAGMA application_id = 1397052246; PRAGMA user_version = 99;"
                   "CREATE TABLE future (x INTEGER);");
    assert_int_equal(volume_open(&v, g_vdir, err, sizeof(err)), ERR_STORAGE);
    assert_null(v);
    (void)snprintf(want, sizeof(want),
                   "the volume schema version 99 is newer than this build supports (%d): "
                   "upgrade Sesame",
                   VOLUME_SCHEMA_VERSION);
    assert_string_equal(err, want);
    /* Untouched. */
    assert_int_equal(sql_int(g_db, "PRAGMA user_version"), 99);
    assert_int_equal(sql_int(g_db, "SELECT count(*) FROM sqlite_schema"), 1);
}

static void test_migration_failure_rolls_back(void **state)
{
    struct volume *v = NULL;
    char err[256];

    (void)state;
    next_dir();
    assert_int_equal(reopen(), 0);
    volume_close(g_vol);
    g_vol = NULL;
    assert_int_equal(remove(g_db), 0);
    /* Ours by application_id, version 0, a table in the way of migration 1. */
    sql_exec(g_db, "PRAGMA application_id = 1397052246; CREATE TABLE activity (x INTEGER);");
    assert_int_equal(volume_open(&v, g_vdir, err, sizeof(err)), ERR_STORAGE);
    assert_null(v);
    assert_string_equal(
        err, "volume migration to schema version 1 failed: table activity already exists");
    assert_int_equal(sql_int(g_db, "PRAGMA user_version"), 0);
    assert_int_equal(sql_int(g_db, "SELECT count(*) FROM sqlite_schema WHERE name = 'meta'"), 0);
    assert_int_equal(sql_int(g_db, "SELECT count(*) FROM sqlite_schema WHERE name = 'items'"), 0);
}

static void test_reopen_keeps_data(void **state)
{
    struct volume_tx *tx;

    (void)state;
    make_vault(V1);
    put_item(V1, I1, 3, ct_a, sizeof(ct_a));
    tx = begin();
    assert_int_equal(volume_tx_set_identity(tx, ACC, SRV, HUB), ERR_OK);
    assert_int_equal(volume_tx_set_last_seq(tx, 42), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(reopen(), 0);
    assert_int_equal(reopen(), 0);
    assert_int_equal(item_version(V1, I1), 3);
    assert_int_equal(last_seq(), 42);
    assert_int_equal(generation(), 2);
    assert_int_equal(sql_int(g_db, "PRAGMA user_version"), VOLUME_SCHEMA_VERSION);
}

/* ---- Meta ----------------------------------------------------------------------------------- */

static void test_meta_identity(void **state)
{
    struct volume_meta m;
    struct volume_tx *tx;

    (void)state;
    tx = begin();
    assert_int_equal(volume_tx_set_identity(tx, ACC, SRV, HUB), ERR_OK);
    assert_int_equal(volume_tx_set_last_seq(tx, 7), ERR_OK);
    assert_int_equal(volume_tx_set_sync_time(tx, T0 + 5), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_meta_get(g_vol, &m), ERR_OK);
    assert_string_equal(m.vm_account, ACC);
    assert_string_equal(m.vm_server, SRV);
    assert_string_equal(m.vm_hub_url, HUB);
    assert_int_equal(m.vm_last_seq, 7);
    assert_int_equal(m.vm_last_sync_at, T0 + 5);
    assert_int_equal(m.vm_generation, 0); /* no mirrored data changed */
    volume_meta_clear(&m);

    /* The same identity again, hub URL kept when NULL, changed when given. */
    tx = begin();
    assert_int_equal(volume_tx_set_identity(tx, ACC, SRV, NULL), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_meta_get(g_vol, &m), ERR_OK);
    assert_string_equal(m.vm_hub_url, HUB);
    volume_meta_clear(&m);
    tx = begin();
    assert_int_equal(volume_tx_set_identity(tx, ACC, SRV, "https://other:1"), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_meta_get(g_vol, &m), ERR_OK);
    assert_string_equal(m.vm_hub_url, "https://other:1");
    volume_meta_clear(&m);

    /* Another server or account: refused, and the whole transaction with it. */
    tx = begin();
    assert_int_equal(volume_tx_set_last_seq(tx, 8), ERR_OK);
    assert_int_equal(volume_tx_set_identity(tx, ACC, SRV2, NULL), ERR_CONFLICT);
    assert_int_equal(volume_tx_set_last_seq(tx, 9), ERR_CONFLICT); /* poisoned */
    assert_int_equal(volume_tx_commit(tx), ERR_CONFLICT);
    tx = begin();
    assert_int_equal(volume_tx_set_identity(tx, ACC2, SRV, NULL), ERR_CONFLICT);
    volume_tx_rollback(tx);
    assert_int_equal(last_seq(), 7);

    /* Shapes. */
    tx = begin();
    assert_int_equal(volume_tx_set_identity(tx, "a0000000000000000000000001", SRV, NULL),
                     ERR_BAD_INPUT);
    volume_tx_rollback(tx);
    tx = begin();
    assert_int_equal(volume_tx_set_identity(tx, ACC, SRVU, NULL), ERR_BAD_INPUT);
    volume_tx_rollback(tx);
    tx = begin();
    assert_int_equal(volume_tx_set_identity(tx, ACC, SRV, ""), ERR_BAD_INPUT);
    volume_tx_rollback(tx);
    tx = begin();
    assert_int_equal(volume_tx_set_last_seq(tx, (uint64_t)INT64_MAX + 1), ERR_BAD_INPUT);
    volume_tx_rollback(tx);
    tx = begin();
    assert_int_equal(volume_tx_set_sync_time(tx, -1), ERR_BAD_INPUT);
    volume_tx_rollback(tx);
    volume_tx_rollback(NULL);
    assert_int_equal(volume_tx_commit(NULL), ERR_BAD_INPUT);
    assert_int_equal(volume_tx_begin(NULL, &tx), ERR_BAD_INPUT);
    assert_null(tx);
}

/* ---- Signing keys and tokens ---------------------------------------------------------------- */

static void test_signing_keys(void **state)
{
    struct volume_signing_key k1 = {.vk_kid = "k1", .vk_public_jwk = JWK, .vk_created_at = T0};
    struct volume_signing_key k2 = {
        .vk_kid = "key-2.b_", .vk_public_jwk = "{}", .vk_created_at = T0 + 1};
    struct volume_signing_key *list, got;
    struct volume_tx *tx;
    size_t n;

    (void)state;
    tx = begin();
    assert_int_equal(volume_tx_signing_key_put(tx, &k1), ERR_OK);
    assert_int_equal(volume_tx_signing_key_put(tx, &k2), ERR_OK);
    assert_int_equal(volume_tx_signing_key_retire(tx, "nope", T0), ERR_OK); /* unknown: no-op */
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(generation(), 1);

    assert_int_equal(volume_signing_key_list(g_vol, &list, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].vk_kid, "k1");
    assert_string_equal(list[0].vk_public_jwk, JWK);
    assert_int_equal(list[0].vk_created_at, T0);
    assert_int_equal(list[0].vk_retired_at, 0);
    assert_string_equal(list[1].vk_kid, "key-2.b_");
    volume_signing_key_list_free(list, n);
    assert_int_equal(volume_signing_key_get(g_vol, "nope", &got), ERR_NOT_FOUND);

    /* Retire; a later put without a retirement does not revive it; re-retire is a no-op. */
    tx = begin();
    assert_int_equal(volume_tx_signing_key_retire(tx, "k1", T0 + 10), ERR_OK);
    assert_int_equal(volume_tx_signing_key_put(tx, &k1), ERR_OK);
    assert_int_equal(volume_tx_signing_key_retire(tx, "k1", T0 + 20), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_signing_key_get(g_vol, "k1", &got), ERR_OK);
    assert_int_equal(got.vk_retired_at, T0 + 10);
    assert_string_equal(got.vk_public_jwk, JWK);
    volume_signing_key_clear(&got);
    assert_int_equal(generation(), 2);

    /* The same puts again change nothing. */
    tx = begin();
    assert_int_equal(volume_tx_signing_key_put(tx, &k2), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(generation(), 2);

    /* Shapes. */
    tx = begin();
    k1.vk_public_jwk = "";
    assert_int_equal(volume_tx_signing_key_put(tx, &k1), ERR_BAD_INPUT);
    volume_tx_rollback(tx);
    tx = begin();
    assert_int_equal(volume_tx_signing_key_retire(tx, "bad kid", T0), ERR_BAD_INPUT);
    volume_tx_rollback(tx);
    tx = begin();
    assert_int_equal(volume_tx_signing_key_retire(tx, "k1", 0), ERR_BAD_INPUT);
    volume_tx_rollback(tx);
    assert_int_equal(volume_signing_key_get(g_vol, "", &got), ERR_BAD_INPUT);
}

static void test_tokens(void **state)
{
    struct volume_token t1 = {.vt_jti = J1,
                              .vt_server = SRV,
                              .vt_vaults_json = VTS,
                              .vt_expires_at = T0 + 3600,
                              .vt_created_at = T0};
    struct volume_token t2 = {
        .vt_jti = J2, .vt_server = SRV, .vt_vaults_json = VTS, .vt_created_at = T0};
    struct volume_token other = {
        .vt_jti = J3, .vt_server = SRV2, .vt_vaults_json = VTS, .vt_created_at = T0};
    enum volume_token_status st;
    struct volume_token got;
    struct volume_tx *tx;
    int64_t exp;

    (void)state;
    assert_int_equal(volume_token_state(g_vol, J1, &st, &exp), ERR_OK);
    assert_int_equal(st, VOLUME_TOKEN_UNKNOWN);
    assert_int_equal(exp, 0);

    tx = begin();
    assert_int_equal(volume_tx_set_identity(tx, ACC, SRV, HUB), ERR_OK);
    assert_int_equal(volume_tx_token_put(tx, &t1), ERR_OK);
    assert_int_equal(volume_tx_token_put(tx, &t2), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_token_state(g_vol, J1, &st, &exp), ERR_OK);
    assert_int_equal(st, VOLUME_TOKEN_ACTIVE);
    assert_int_equal(exp, T0 + 3600);
    assert_int_equal(volume_token_state(g_vol, J2, &st, NULL), ERR_OK);
    assert_int_equal(st, VOLUME_TOKEN_ACTIVE);
    assert_int_equal(volume_token_get(g_vol, J1, &got), ERR_OK);
    assert_string_equal(got.vt_server, SRV);
    assert_string_equal(got.vt_vaults_json, VTS);
    assert_int_equal(got.vt_created_at, T0);
    assert_int_equal(got.vt_revoked_at, 0);
    volume_token_clear(&got);

    /* A token of another server is refused once the identity is known. */
    tx = begin();
    assert_int_equal(volume_tx_token_put(tx, &other), ERR_BAD_INPUT);
    assert_int_equal(volume_tx_commit(tx), ERR_BAD_INPUT);
    assert_int_equal(volume_token_get(g_vol, J3, &got), ERR_NOT_FOUND);

    /* Revoke; a later put does not un-revoke; re-revoke keeps the first time. */
    tx = begin();
    assert_int_equal(volume_tx_token_revoke(tx, J1, T0 + 5), ERR_OK);
    assert_int_equal(volume_tx_token_put(tx, &t1), ERR_OK);
    assert_int_equal(volume_tx_token_revoke(tx, J1, T0 + 9), ERR_OK);
    /* A revocation before its registration still wins. */
    assert_int_equal(volume_tx_token_revoke(tx, J3, T0 + 6), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_token_state(g_vol, J1, &st, &exp), ERR_OK);
    assert_int_equal(st, VOLUME_TOKEN_REVOKED);
    assert_int_equal(exp, T0 + 3600);
    assert_int_equal(volume_token_get(g_vol, J1, &got), ERR_OK);
    assert_int_equal(got.vt_revoked_at, T0 + 5);
    volume_token_clear(&got);
    assert_int_equal(volume_token_state(g_vol, J3, &st, NULL), ERR_OK);
    assert_int_equal(st, VOLUME_TOKEN_REVOKED);
    memcpy(other.vt_server, SRV, ID_LEN + 1);
    tx = begin();
    assert_int_equal(volume_tx_token_put(tx, &other), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_token_state(g_vol, J3, &st, NULL), ERR_OK);
    assert_int_equal(st, VOLUME_TOKEN_REVOKED);
    assert_int_equal(volume_token_state(g_vol, J2, &st, NULL), ERR_OK);
    assert_int_equal(st, VOLUME_TOKEN_ACTIVE);

    /* The server deleted: every token reads as revoked. */
    tx = begin();
    assert_int_equal(volume_tx_set_server_deleted(tx), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_token_state(g_vol, J2, &st, NULL), ERR_OK);
    assert_int_equal(st, VOLUME_TOKEN_REVOKED);

    /* Shapes. */
    assert_int_equal(volume_token_state(g_vol, "J0000000000000000000000001", &st, NULL),
                     ERR_BAD_INPUT);
    assert_int_equal(st, VOLUME_TOKEN_UNKNOWN);
    tx = begin();
    t2.vt_vaults_json = "";
    assert_int_equal(volume_tx_token_put(tx, &t2), ERR_BAD_INPUT);
    volume_tx_rollback(tx);
    tx = begin();
    assert_int_equal(volume_tx_token_revoke(tx, J2, 0), ERR_BAD_INPUT);
    volume_tx_rollback(tx);
}

/* ---- Grants, vaults, items ------------------------------------------------------------------ */

static void test_grants_and_vaults(void **state)
{
    struct volume_grant g = {.vg_vault = V1,
                             .vg_key_wrapped = wrapped_a,
                             .vg_key_wrapped_len = sizeof(wrapped_a),
                             .vg_created_at = T0};
    struct volume_vault vv = vault_rec(V1, ct_a, sizeof(ct_a), 2, 5), got, *vlist;
    struct volume_grant *glist, gg;
    struct volume_tx *tx;
    size_t n;

    (void)state;
    /* A vault without a grant is not served, nor a grant without a vault. */
    tx = begin();
    assert_int_equal(volume_tx_vault_put(tx, &vv), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(count_vaults(), 0);
    assert_int_equal(volume_vault_get(g_vol, V1, &got), ERR_NOT_FOUND);
    tx = begin();
    memcpy(g.vg_vault, V2, ID_LEN + 1);
    assert_int_equal(volume_tx_grant_put(tx, &g), ERR_OK);
    memcpy(g.vg_vault, V1, ID_LEN + 1);
    assert_int_equal(volume_tx_grant_put(tx, &g), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_grant_list(g_vol, &glist, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(glist[0].vg_vault, V2);
    assert_string_equal(glist[1].vg_vault, V1);
    assert_int_equal(glist[1].vg_key_wrapped_len, sizeof(wrapped_a));
    assert_memory_equal(glist[1].vg_key_wrapped, wrapped_a, sizeof(wrapped_a));
    volume_grant_list_free(glist, n);
    assert_int_equal(volume_vault_list(g_vol, &vlist, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(vlist[0].vv_id, V1);
    assert_string_equal(vlist[0].vv_type, "USER_CREATED");
    assert_int_equal(vlist[0].vv_attribute_version, 2);
    assert_int_equal(vlist[0].vv_content_version, 5);
    assert_int_equal(vlist[0].vv_items, 0);
    assert_int_equal(vlist[0].vv_created_at, T0);
    assert_int_equal(vlist[0].vv_updated_at, T0 + 2);
    assert_memory_equal(vlist[0].vv_attrs_ct, ct_a, sizeof(ct_a));
    volume_vault_list_free(vlist, n);

    /* Older attributes are ignored; the content version only grows. */
    tx = begin();
    vv = vault_rec(V1, ct_b, sizeof(ct_b), 1, 9);
    assert_int_equal(volume_tx_vault_put(tx, &vv), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_vault_get(g_vol, V1, &got), ERR_OK);
    assert_int_equal(got.vv_attribute_version, 2);
    assert_int_equal(got.vv_content_version, 9);
    assert_int_equal(got.vv_attrs_ct_len, sizeof(ct_a));
    assert_memory_equal(got.vv_attrs_ct, ct_a, sizeof(ct_a));
    volume_vault_clear(&got);
    tx = begin();
    vv = vault_rec(V1, ct_b, sizeof(ct_b), 3, 4);
    memcpy(vv.vv_type, "EVERYONE", 9);
    assert_int_equal(volume_tx_vault_put(tx, &vv), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_vault_get(g_vol, V1, &got), ERR_OK);
    assert_int_equal(got.vv_attribute_version, 3);
    assert_int_equal(got.vv_content_version, 9);
    assert_string_equal(got.vv_type, "EVERYONE");
    assert_memory_equal(got.vv_attrs_ct, ct_b, sizeof(ct_b));
    volume_vault_clear(&got);

    /* Replacing a grant's wrapped key. */
    tx = begin();
    g.vg_key_wrapped = wrapped_b;
    g.vg_key_wrapped_len = sizeof(wrapped_b);
    assert_int_equal(volume_tx_grant_put(tx, &g), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_grant_get(g_vol, V1, &gg), ERR_OK);
    assert_int_equal(gg.vg_key_wrapped_len, sizeof(wrapped_b));
    assert_memory_equal(gg.vg_key_wrapped, wrapped_b, sizeof(wrapped_b));
    volume_grant_clear(&gg);
    assert_int_equal(volume_grant_get(g_vol, V9, &gg), ERR_NOT_FOUND);

    /* Shapes. */
    tx = begin();
    vv = vault_rec(V1, ct_b, sizeof(ct_b), 0, 1);
    assert_int_equal(volume_tx_vault_put(tx, &vv), ERR_BAD_INPUT);
    volume_tx_rollback(tx);
    tx = begin();
    vv = vault_rec(V1, ct_b, sizeof(ct_b), 1, 1);
    memcpy(vv.vv_type, "lower", 6);
    assert_int_equal(volume_tx_vault_put(tx, &vv), ERR_BAD_INPUT);
    volume_tx_rollback(tx);
    tx = begin();
    vv = vault_rec(V1, NULL, 0, 1, 1);
    assert_int_equal(volume_tx_vault_put(tx, &vv), ERR_BAD_INPUT);
    volume_tx_rollback(tx);
    tx = begin();
    g.vg_key_wrapped_len = 0;
    assert_int_equal(volume_tx_grant_put(tx, &g), ERR_BAD_INPUT);
    volume_tx_rollback(tx);
    assert_int_equal(volume_vault_get(g_vol, "V0000000000000000000000001", &got), ERR_BAD_INPUT);
}

static void test_items(void **state)
{
    struct volume_item it, *list;
    struct volume_vault vv;
    struct volume_tx *tx;
    size_t n;

    (void)state;
    make_vault(V1);
    put_item(V1, I1, 1, ct_a, sizeof(ct_a));
    put_item(V1, I2, 4, ct_b, sizeof(ct_b));

    assert_int_equal(volume_item_get(g_vol, V1, I1, &it), ERR_OK);
    assert_string_equal(it.vi_id, I1);
    assert_string_equal(it.vi_vault, V1);
    assert_int_equal(it.vi_version, 1);
    assert_string_equal(it.vi_state, "");
    assert_string_equal(it.vi_category, "LOGIN");
    assert_int_equal(it.vi_overview_len, sizeof(ct_a));
    assert_memory_equal(it.vi_overview, ct_a, sizeof(ct_a));
    assert_int_equal(it.vi_details_len, sizeof(ct_c));
    assert_memory_equal(it.vi_details, ct_c, sizeof(ct_c));
    assert_int_equal(it.vi_created_at, T0);
    assert_int_equal(it.vi_updated_at, T0 + 1);
    assert_string_equal(it.vi_last_edited_by, ACC);
    volume_item_clear(&it);

    assert_int_equal(volume_item_list(g_vol, V1, &list, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].vi_id, I1);
    assert_string_equal(list[1].vi_id, I2);
    assert_int_equal(list[1].vi_version, 4);
    assert_memory_equal(list[1].vi_overview, ct_b, sizeof(ct_b));
    assert_null(list[1].vi_details);
    assert_int_equal(list[1].vi_details_len, 0);
    volume_item_list_free(list, n);
    /* the same rows without ciphertexts */
    assert_int_equal(volume_item_heads(g_vol, V1, &list, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].vi_id, I1);
    assert_string_equal(list[1].vi_id, I2);
    assert_string_equal(list[1].vi_vault, V1);
    assert_int_equal(list[1].vi_version, 4);
    assert_string_equal(list[1].vi_last_edited_by, ACC);
    assert_null(list[1].vi_overview);
    assert_int_equal(list[1].vi_overview_len, 0);
    assert_null(list[1].vi_details);
    volume_item_list_free(list, n);
    assert_int_equal(volume_item_heads(g_vol, V9, &list, &n), ERR_NOT_FOUND);
    assert_int_equal(volume_item_heads(NULL, V1, &list, &n), ERR_BAD_INPUT);

    /* Each applied change bumps the content version (1 at creation, +2). */
    assert_int_equal(volume_vault_get(g_vol, V1, &vv), ERR_OK);
    assert_int_equal(vv.vv_content_version, 3);
    assert_int_equal(vv.vv_items, 2);
    assert_int_equal(vv.vv_updated_at, T0 + 4);
    volume_vault_clear(&vv);

    /* Older and equal versions are ignored (nothing changes, not even the generation). */
    {
        uint64_t g = generation();
        put_item(V1, I2, 3, ct_a, sizeof(ct_a));
        put_item(V1, I2, 4, ct_a, sizeof(ct_a));
        assert_int_equal(generation(), g);
        assert_int_equal(volume_item_get(g_vol, V1, I2, &it), ERR_OK);
        assert_int_equal(it.vi_version, 4);
        assert_memory_equal(it.vi_overview, ct_b, sizeof(ct_b));
        volume_item_clear(&it);
    }
    /* A newer one replaces, with its state. */
    tx = begin();
    it = item_rec(V1, I2, 5, ct_c, sizeof(ct_c), ct_a, sizeof(ct_a));
    memcpy(it.vi_state, "ARCHIVED", 9);
    memcpy(it.vi_last_edited_by, SRVU, ID_LEN + 1);
    assert_int_equal(volume_tx_item_put(tx, &it), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_item_get(g_vol, V1, I2, &it), ERR_OK);
    assert_int_equal(it.vi_version, 5);
    assert_string_equal(it.vi_state, "ARCHIVED");
    assert_string_equal(it.vi_last_edited_by, SRVU);
    assert_memory_equal(it.vi_overview, ct_c, sizeof(ct_c));
    assert_memory_equal(it.vi_details, ct_a, sizeof(ct_a));
    volume_item_clear(&it);

    /* Delete: a tombstone; older deletes and puts are ignored, a newer put revives. */
    tx = begin();
    assert_int_equal(volume_tx_item_delete(tx, V1, I2, 6, T0 + 60, SRVU), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_item_get(g_vol, V1, I2, &it), ERR_NOT_FOUND);
    assert_int_equal(count_items(V1), 1);
    assert_int_equal(sql_int(g_db, "SELECT length(overview_ct) + length(details_ct) FROM items"
                                   " WHERE id = '" I2 "' AND deleted = 1"),
                     0);
    put_item(V1, I2, 5, ct_a, sizeof(ct_a));
    put_item(V1, I2, 6, ct_a, sizeof(ct_a));
    tx = begin();
    assert_int_equal(volume_tx_item_delete(tx, V1, I2, 6, T0 + 61, NULL), ERR_OK);
    assert_int_equal(volume_tx_item_delete(tx, V1, I1, 1, T0 + 61, ""), ERR_OK); /* = stored */
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(count_items(V1), 1);
    assert_int_equal(item_version(V1, I1), 1);
    put_item(V1, I2, 7, ct_a, sizeof(ct_a));
    assert_int_equal(item_version(V1, I2), 7);
    /* A delete of an item never seen leaves a tombstone too. */
    tx = begin();
    assert_int_equal(volume_tx_item_delete(tx, V1, I3, 2, T0 + 70, NULL), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    put_item(V1, I3, 1, ct_a, sizeof(ct_a));
    assert_int_equal(item_version(V1, I3), 0);

    assert_int_equal(volume_vault_get(g_vol, V1, &vv), ERR_OK);
    assert_int_equal(vv.vv_content_version, 7); /* 3 + put 5, delete 6, put 7, delete I3 */
    assert_int_equal(vv.vv_items, 2);
    volume_vault_clear(&vv);

    /* Not served / shapes. */
    assert_int_equal(volume_item_list(g_vol, V9, &list, &n), ERR_NOT_FOUND);
    assert_null(list);
    assert_int_equal(n, 0);
    assert_int_equal(volume_item_get(g_vol, V9, I1, &it), ERR_NOT_FOUND);
    assert_int_equal(volume_item_get(g_vol, V1, "short", &it), ERR_BAD_INPUT);
    {
        static const struct {
            uint64_t version;
            const char *state;
            const char *category;
            size_t details_len;
            const char *editor;
        } bad[] = {
            {0, "", "LOGIN", 2, ACC},         {(uint64_t)INT64_MAX + 1, "", "LOGIN", 2, ACC},
            {1, "archived", "LOGIN", 2, ACC}, {1, "", "", 2, ACC},
            {1, "", "LOGIN", 0, ACC},         {1, "", "LOGIN", 2, SRV},
        };
        size_t i;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            it = item_rec(V1, I1, bad[i].version, ct_a, sizeof(ct_a), ct_c, bad[i].details_len);
            (void)snprintf(it.vi_state, sizeof(it.vi_state), "%s", bad[i].state);
            (void)snprintf(it.vi_category, sizeof(it.vi_category), "%s", bad[i].category);
            (void)snprintf(it.vi_last_edited_by, sizeof(it.vi_last_edited_by), "%s", bad[i].editor);
            tx = begin();
            assert_int_equal(volume_tx_item_put(tx, &it), ERR_BAD_INPUT);
            volume_tx_rollback(tx);
        }
        tx = begin();
        assert_int_equal(volume_tx_item_delete(tx, V1, I1, 0, T0, NULL), ERR_BAD_INPUT);
        volume_tx_rollback(tx);
        tx = begin();
        assert_int_equal(volume_tx_item_delete(tx, V1, I1, 9, T0, "lower"), ERR_BAD_INPUT);
        volume_tx_rollback(tx);
    }
}

static void test_item_before_vault(void **state)
{
    struct volume_grant g = {.vg_vault = V1,
                             .vg_key_wrapped = wrapped_a,
                             .vg_key_wrapped_len = sizeof(wrapped_a),
                             .vg_created_at = T0};
    struct volume_vault vv = vault_rec(V1, ct_a, sizeof(ct_a), 1, 1);
    struct volume_tx *tx;

    (void)state;
    /* The feed may deliver an item before its (superseded) vault and grant. */
    put_item(V1, I1, 2, ct_a, sizeof(ct_a));
    assert_int_equal(count_items(V1), 0);
    assert_int_equal(item_version(V1, I1), 0);
    tx = begin();
    assert_int_equal(volume_tx_vault_put(tx, &vv), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(count_items(V1), 0);
    tx = begin();
    assert_int_equal(volume_tx_grant_put(tx, &g), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(count_items(V1), 1);
    assert_int_equal(item_version(V1, I1), 2);
}

/* ---- Cascades -------------------------------------------------------------------------------- */

/* Makes V1 with two items and a present file, V2 with one item; checks the start state. */
static void make_two_vaults(void)
{
    struct volume_file f = file_rec(V1, F1, content_a, sizeof(content_a));
    struct volume_tx *tx;
    char path[PATH_MAX + 64];

    make_vault(V1);
    make_vault(V2);
    put_item(V1, I1, 1, ct_a, sizeof(ct_a));
    put_item(V1, I2, 1, ct_a, sizeof(ct_a));
    put_item(V2, I1, 1, ct_b, sizeof(ct_b));
    tx = begin();
    assert_int_equal(volume_tx_file_put(tx, &f), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_file_content_put(g_vol, V1, F1, content_a, sizeof(content_a)), ERR_OK);
    content_path(path, sizeof(path), V1, F1);
    assert_int_equal(path_mode(path), 0600);
    assert_int_equal(count_vaults(), 2);
}

static void check_v1_gone(void)
{
    struct volume_grant g;
    struct volume_file f;
    char path[PATH_MAX + 64];

    assert_int_equal(count_vaults(), 1);
    assert_int_equal(count_items(V1), 0);
    assert_int_equal(count_items(V2), 1);
    assert_int_equal(volume_grant_get(g_vol, V1, &g), ERR_NOT_FOUND);
    assert_int_equal(volume_file_get(g_vol, V1, F1, &f), ERR_NOT_FOUND);
    assert_int_equal(sql_int(g_db, "SELECT count(*) FROM items WHERE vault_id = '" V1 "'"), 0);
    assert_int_equal(sql_int(g_db, "SELECT count(*) FROM files WHERE vault_id = '" V1 "'"), 0);
    assert_int_equal(sql_int(g_db, "SELECT count(*) FROM vaults WHERE id = '" V1 "'"), 0);
    content_path(path, sizeof(path), V1, NULL);
    assert_int_equal(dir_entries(path), -1); /* the contents went with it */
}

static void test_grant_delete_cascades(void **state)
{
    struct volume_tx *tx;
    uint64_t g;

    (void)state;
    make_two_vaults();
    g = generation();
    tx = begin();
    assert_int_equal(volume_tx_grant_delete(tx, V1), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(generation(), g + 1);
    check_v1_gone();
    /* Idempotent. */
    tx = begin();
    assert_int_equal(volume_tx_grant_delete(tx, V1), ERR_OK);
    assert_int_equal(volume_tx_grant_delete(tx, V9), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(generation(), g + 1);
    check_v1_gone();
}

static void test_vault_delete_cascades(void **state)
{
    struct volume_tx *tx;

    (void)state;
    make_two_vaults();
    tx = begin();
    assert_int_equal(volume_tx_vault_delete(tx, V1), ERR_OK);
    assert_int_equal(volume_tx_vault_delete(tx, V1), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    check_v1_gone();
    /* A rolled-back delete removes nothing, on disk either. */
    tx = begin();
    assert_int_equal(volume_tx_vault_delete(tx, V2), ERR_OK);
    volume_tx_rollback(tx);
    assert_int_equal(count_items(V2), 1);
    tx = begin();
    assert_int_equal(volume_tx_vault_delete(tx, "bad"), ERR_BAD_INPUT);
    volume_tx_rollback(tx);
}

static void meta(struct volume_meta *m)
{
    assert_int_equal(volume_meta_get(g_vol, m), ERR_OK);
}

/* Returns the changes after since as "vault-digit:id-digit:version:deleted,..." */
static const char *changes(uint64_t since, size_t limit, uint64_t *last)
{
    static char out[512];
    struct volume_item_change *chg = NULL;
    size_t i, n = 99, len = 0;

    assert_int_equal(volume_item_changes(g_vol, since, limit, &chg, &n), ERR_OK);
    out[0] = '\0';
    for (i = 0; i < n; i++) {
        const struct volume_item *vi = &chg[i].vc_item;

        if (i > 0)
            assert_true(chg[i].vc_seq > chg[i - 1].vc_seq);
        assert_true(chg[i].vc_seq > since);
        assert_int_equal(chg[i].vc_deleted ? 0 : vi->vi_overview_len, chg[i].vc_deleted ? 0 : 4);
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%c:%c:%llu:%d", i ? "," : "",
                                vi->vi_vault[ID_LEN - 1], vi->vi_id[ID_LEN - 1],
                                (unsigned long long)vi->vi_version, chg[i].vc_deleted);
        if (last)
            *last = chg[i].vc_seq;
    }
    volume_item_changes_free(chg, n);
    return out;
}

/* Item changes come in commit order after a seq; removing item rows moves the epoch. */
static void test_item_changes(void **state)
{
    struct volume_item_change *chg = NULL;
    struct volume_vault *vl = NULL, *vr = NULL;
    struct volume_meta m0, m1;
    struct volume_item it;
    struct volume_tx *tx;
    uint64_t last = 0;
    size_t n = 9, nl = 0, nr = 0;

    (void)state;
    meta(&m0);
    assert_int_equal(m0.vm_item_seq, 0);
    assert_string_equal(changes(0, 10, NULL), "");
    make_vault(V1);
    make_vault(V2);
    put_item(V1, I1, 1, ct_a, sizeof(ct_a));
    put_item(V1, I2, 1, ct_a, sizeof(ct_a));
    put_item(V2, I1, 1, ct_a, sizeof(ct_a));
    meta(&m1);
    assert_int_equal(m1.vm_item_seq, 3);
    assert_int_equal(m1.vm_item_epoch, m0.vm_item_epoch);
    assert_string_equal(changes(0, 10, &last), "1:1:1:0,1:2:1:0,2:1:1:0");
    assert_int_equal(last, 3);
    assert_string_equal(changes(0, 2, &last), "1:1:1:0,1:2:1:0");
    assert_int_equal(last, 2);
    assert_string_equal(changes(3, 10, NULL), "");
    volume_meta_clear(&m1);
    /* the vault records without their counts: the same vaults and members */
    assert_int_equal(volume_vault_list(g_vol, &vl, &nl), ERR_OK);
    assert_int_equal(volume_vault_records(g_vol, &vr, &nr), ERR_OK);
    assert_int_equal(nl, 2);
    assert_int_equal(nr, 2);
    assert_int_equal(vl[0].vv_items, 2);
    assert_int_equal(vr[0].vv_items, 0);
    vr[0].vv_items = vl[0].vv_items;
    assert_string_equal(vr[1].vv_id, vl[1].vv_id);
    assert_int_equal(vr[0].vv_content_version, vl[0].vv_content_version);
    assert_int_equal(vr[0].vv_attrs_ct_len, vl[0].vv_attrs_ct_len);
    assert_memory_equal(vr[0].vv_attrs_ct, vl[0].vv_attrs_ct, vl[0].vv_attrs_ct_len);
    volume_vault_list_free(vl, nl);
    volume_vault_list_free(vr, nr);
    assert_int_equal(volume_vault_records(NULL, &vr, &nr), ERR_BAD_INPUT);

    /* a change moves the item to the end; a stale one (not newer) moves nothing */
    put_item(V1, I1, 2, ct_a, sizeof(ct_a));
    put_item(V1, I2, 1, ct_a, sizeof(ct_a));
    tx = begin();
    assert_int_equal(volume_tx_item_delete(tx, V1, I2, 2, T0 + 5, ACC), ERR_OK);
    it = item_rec(V2, I3, 1, ct_a, sizeof(ct_a), ct_c, sizeof(ct_c));
    assert_int_equal(volume_tx_item_put(tx, &it), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_string_equal(changes(0, 10, NULL), "2:1:1:0,1:1:2:0,1:2:2:1,2:3:1:0");
    assert_string_equal(changes(3, 10, &last), "1:1:2:0,1:2:2:1,2:3:1:0");
    assert_int_equal(last, 6);
    meta(&m1);
    assert_int_equal(m1.vm_item_seq, 6);
    assert_int_equal(m1.vm_item_epoch, m0.vm_item_epoch);
    volume_meta_clear(&m1);
    /* a rolled-back change takes no seq */
    tx = begin();
    it = item_rec(V2, I3, 9, ct_a, sizeof(ct_a), ct_c, sizeof(ct_c));
    assert_int_equal(volume_tx_item_put(tx, &it), ERR_OK);
    volume_tx_rollback(tx);
    meta(&m1);
    assert_int_equal(m1.vm_item_seq, 6);
    volume_meta_clear(&m1);

    /* dropping a vault removes item rows: the epoch moves (and only then) */
    tx = begin();
    assert_int_equal(volume_tx_vault_delete(tx, V2), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    meta(&m1);
    assert_int_equal(m1.vm_item_epoch, m0.vm_item_epoch + 1);
    assert_string_equal(changes(0, 10, NULL), "1:1:2:0,1:2:2:1");
    volume_meta_clear(&m1);
    tx = begin();
    assert_int_equal(volume_tx_vaults_clear(tx), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    meta(&m1);
    assert_int_equal(m1.vm_item_epoch, m0.vm_item_epoch + 2);
    assert_int_equal(m1.vm_item_seq, 6); /* never goes back */
    volume_meta_clear(&m1);
    volume_meta_clear(&m0);

    assert_int_equal(volume_item_changes(g_vol, 0, 0, &chg, &n), ERR_BAD_INPUT);
    assert_null(chg);
    assert_int_equal(n, 0);
    assert_int_equal(volume_item_changes(NULL, 0, 1, &chg, &n), ERR_BAD_INPUT);
    volume_item_changes_free(NULL, 0);
}

/* A volume of schema 1 (before item seqs) is migrated in place: its items are kept, with
   seq 0 (a reader that starts over reads them all), and a random epoch. */
static void test_migration_from_v1(void **state)
{
    struct volume_meta m;

    (void)state;
    make_vault(V1);
    put_item(V1, I1, 1, ct_a, sizeof(ct_a));
    volume_close(g_vol);
    g_vol = NULL;
    sql_exec(g_db, "DROP INDEX items_by_seq; ALTER TABLE items DROP COLUMN seq;"
                   "ALTER TABLE meta DROP COLUMN item_seq; ALTER TABLE meta DROP COLUMN item_epoch;"
                   "PRAGMA user_version = 1;");
    assert_int_equal(reopen(), 0);
    assert_int_equal(sql_int(g_db, "PRAGMA user_version"), VOLUME_SCHEMA_VERSION);
    assert_int_equal(item_version(V1, I1), 1);
    meta(&m);
    assert_int_equal(m.vm_item_seq, 0);
    assert_true(m.vm_item_epoch > 0);
    volume_meta_clear(&m);
    assert_string_equal(changes(0, 10, NULL), "");
    put_item(V1, I2, 1, ct_a, sizeof(ct_a));
    assert_string_equal(changes(0, 10, NULL), "1:2:1:0");
}

static void test_server_deleted_and_clear(void **state)
{
    struct volume_token t = {
        .vt_jti = J1, .vt_server = SRV, .vt_vaults_json = VTS, .vt_created_at = T0};
    struct volume_signing_key k = {.vk_kid = "k1", .vk_public_jwk = JWK};
    struct volume_signing_key *keys;
    enum volume_token_status st;
    struct volume_grant *gl;
    struct volume_meta m;
    struct volume_tx *tx;
    char files[PATH_MAX + 16];
    size_t n;

    (void)state;
    make_two_vaults();
    tx = begin();
    assert_int_equal(volume_tx_token_put(tx, &t), ERR_OK);
    assert_int_equal(volume_tx_signing_key_put(tx, &k), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);

    /* A full resync: every vault goes, tokens and keys stay. */
    tx = begin();
    assert_int_equal(volume_tx_vaults_clear(tx), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(count_vaults(), 0);
    assert_int_equal(volume_grant_list(g_vol, &gl, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_null(gl);
    assert_int_equal(sql_int(g_db, "SELECT count(*) FROM items"), 0);
    (void)snprintf(files, sizeof(files), "%s/files", g_vdir);
    assert_int_equal(dir_entries(files), 0);
    assert_int_equal(volume_signing_key_list(g_vol, &keys, &n), ERR_OK);
    assert_int_equal(n, 1);
    volume_signing_key_list_free(keys, n);
    assert_int_equal(volume_token_state(g_vol, J1, &st, NULL), ERR_OK);
    assert_int_equal(st, VOLUME_TOKEN_ACTIVE);

    /* The server deleted. */
    make_vault(V1);
    tx = begin();
    assert_int_equal(volume_tx_set_server_deleted(tx), ERR_OK);
    assert_int_equal(volume_tx_set_server_deleted(tx), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(count_vaults(), 0);
    assert_int_equal(volume_meta_get(g_vol, &m), ERR_OK);
    assert_int_equal(m.vm_server_deleted, 1);
    volume_meta_clear(&m);
    assert_int_equal(volume_token_state(g_vol, J1, &st, NULL), ERR_OK);
    assert_int_equal(st, VOLUME_TOKEN_REVOKED);
}

/* ---- Batches: idempotence, all or nothing --------------------------------------------------- */

/* One change-feed batch touching every kind of record. */
static void apply_batch(struct volume_tx *tx, uint64_t seq)
{
    struct volume_signing_key k = {.vk_kid = "k1", .vk_public_jwk = JWK, .vk_created_at = T0};
    struct volume_token t = {
        .vt_jti = J1, .vt_server = SRV, .vt_vaults_json = VTS, .vt_created_at = T0};
    struct volume_grant g = {.vg_vault = V1,
                             .vg_key_wrapped = wrapped_a,
                             .vg_key_wrapped_len = sizeof(wrapped_a),
                             .vg_created_at = T0};
    struct volume_vault vv = vault_rec(V1, ct_a, sizeof(ct_a), 1, 3);
    struct volume_item i1 = item_rec(V1, I1, 2, ct_a, sizeof(ct_a), ct_b, sizeof(ct_b));
    struct volume_item i2 = item_rec(V1, I2, 1, ct_b, sizeof(ct_b), ct_b, sizeof(ct_b));
    struct volume_file f = file_rec(V1, F1, content_a, sizeof(content_a));

    assert_int_equal(volume_tx_set_identity(tx, ACC, SRV, HUB), ERR_OK);
    assert_int_equal(volume_tx_signing_key_put(tx, &k), ERR_OK);
    assert_int_equal(volume_tx_token_put(tx, &t), ERR_OK);
    assert_int_equal(volume_tx_token_revoke(tx, J2, T0 + 1), ERR_OK);
    assert_int_equal(volume_tx_vault_put(tx, &vv), ERR_OK);
    assert_int_equal(volume_tx_item_put(tx, &i1), ERR_OK);
    assert_int_equal(volume_tx_item_put(tx, &i2), ERR_OK);
    assert_int_equal(volume_tx_item_delete(tx, V1, I2, 2, T0 + 2, ACC), ERR_OK);
    assert_int_equal(volume_tx_grant_put(tx, &g), ERR_OK);
    assert_int_equal(volume_tx_file_put(tx, &f), ERR_OK);
    assert_int_equal(volume_tx_set_last_seq(tx, seq), ERR_OK);
    assert_int_equal(volume_tx_set_sync_time(tx, T0 + 3), ERR_OK);
}

static void check_batch_state(void)
{
    enum volume_token_status st;
    struct volume_file f;
    struct volume_vault vv;

    assert_int_equal(last_seq(), 10);
    assert_int_equal(count_vaults(), 1);
    assert_int_equal(count_items(V1), 1);
    assert_int_equal(item_version(V1, I1), 2);
    assert_int_equal(volume_vault_get(g_vol, V1, &vv), ERR_OK);
    assert_int_equal(vv.vv_content_version, 6); /* 3, + put I1, put I2, delete I2 */
    volume_vault_clear(&vv);
    assert_int_equal(volume_file_get(g_vol, V1, F1, &f), ERR_OK);
    assert_int_equal(f.vf_present, 0);
    assert_int_equal(volume_token_state(g_vol, J1, &st, NULL), ERR_OK);
    assert_int_equal(st, VOLUME_TOKEN_ACTIVE);
    assert_int_equal(volume_token_state(g_vol, J2, &st, NULL), ERR_OK);
    assert_int_equal(st, VOLUME_TOKEN_REVOKED);
}

static void test_reapply_is_harmless(void **state)
{
    struct volume_tx *tx;

    (void)state;
    tx = begin();
    apply_batch(tx, 10);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    check_batch_state();
    assert_int_equal(generation(), 1);

    /* After a crash sync re-applies the same batch: nothing changes. */
    tx = begin();
    apply_batch(tx, 10);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    check_batch_state();
    assert_int_equal(generation(), 1);
}

static void test_failure_leaves_nothing(void **state)
{
    struct volume_item bad = item_rec(V1, I3, 1, ct_a, sizeof(ct_a), NULL, 0);
    struct volume_file f9 = file_rec(V1, F9, ct_a, sizeof(ct_a));
    struct volume_item i3 = item_rec(V1, I3, 1, ct_a, sizeof(ct_a), ct_b, sizeof(ct_b));
    struct volume_meta m;
    struct volume_tx *tx;

    (void)state;
    /* Bad input in the middle: everything before is rolled back, everything after refused. */
    tx = begin();
    apply_batch(tx, 10);
    assert_int_equal(volume_tx_item_put(tx, &bad), ERR_BAD_INPUT);
    assert_int_equal(volume_tx_item_put(tx, &i3), ERR_BAD_INPUT);
    assert_int_equal(volume_tx_set_last_seq(tx, 11), ERR_BAD_INPUT);
    assert_int_equal(volume_tx_commit(tx), ERR_BAD_INPUT);
    assert_int_equal(volume_meta_get(g_vol, &m), ERR_OK);
    assert_string_equal(m.vm_server, "");
    assert_int_equal(m.vm_last_seq, 0);
    assert_int_equal(m.vm_generation, 0);
    volume_meta_clear(&m);
    assert_int_equal(sql_int(g_db, "SELECT (SELECT count(*) FROM items) + (SELECT count(*) FROM"
                                   " vaults) + (SELECT count(*) FROM grants) + (SELECT count(*)"
                                   " FROM tokens) + (SELECT count(*) FROM signing_keys) +"
                                   " (SELECT count(*) FROM files)"),
                     0);

    /* A storage failure injected mid-transaction (a trigger refusing one file row). */
    sql_exec(g_db, "CREATE TRIGGER inject BEFORE INSERT ON files WHEN NEW.id = '" F9 "'"
                   " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
    tx = begin();
    apply_batch(tx, 10);
    assert_int_equal(volume_tx_file_put(tx, &f9), ERR_STORAGE);
    assert_int_equal(volume_tx_item_put(tx, &i3), ERR_STORAGE);
    assert_int_equal(volume_tx_commit(tx), ERR_STORAGE);
    assert_int_equal(last_seq(), 0);
    assert_int_equal(generation(), 0);
    assert_int_equal(sql_int(g_db, "SELECT count(*) FROM items"), 0);
    assert_int_equal(count_vaults(), 0);

    /* An explicit rollback discards too; the same batch then commits. */
    tx = begin();
    apply_batch(tx, 10);
    volume_tx_rollback(tx);
    assert_int_equal(last_seq(), 0);
    tx = begin();
    apply_batch(tx, 10);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    check_batch_state();
}

/* ---- Files ---------------------------------------------------------------------------------- */

static void test_file_contents(void **state)
{
    struct volume_file f = file_rec(V1, F1, content_a, sizeof(content_a)), got, *list;
    char path[PATH_MAX + 64], vdir[PATH_MAX + 64];
    unsigned char *data = (unsigned char *)&data, *big;
    struct volume_tx *tx;
    size_t len = 99, n;
    uint64_t g, missing = 9;
    int fd;

    (void)state;
    make_vault(V1);
    tx = begin();
    assert_int_equal(volume_tx_file_put(tx, &f), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_file_get(g_vol, V1, F1, &got), ERR_OK);
    assert_string_equal(got.vf_id, F1);
    assert_string_equal(got.vf_vault, V1);
    assert_int_equal(got.vf_size, 10);
    assert_int_equal(got.vf_created_at, T0);
    assert_memory_equal(got.vf_sha256, f.vf_sha256, VOLUME_SHA256_BYTES);
    assert_int_equal(got.vf_present, 0);
    assert_int_equal(volume_files_missing(g_vol, &missing), ERR_OK);
    assert_int_equal(missing, 1);

    /* Not fetched yet. */
    assert_int_equal(volume_file_read(g_vol, V1, F1, &data, &len), ERR_NOT_READY);
    assert_null(data);
    assert_int_equal(len, 0);

    /* Content that is not the recorded digest is refused; the right one stored. */
    assert_int_equal(volume_file_content_put(g_vol, V1, F1, ct_a, sizeof(ct_a)), ERR_BAD_INPUT);
    assert_int_equal(volume_file_content_put(g_vol, V1, F2, ct_a, sizeof(ct_a)), ERR_NOT_FOUND);
    assert_int_equal(volume_file_content_put(g_vol, V1, F1, ct_a, 0), ERR_BAD_INPUT);
    g = generation();
    assert_int_equal(volume_file_content_put(g_vol, V1, F1, content_a, sizeof(content_a)), ERR_OK);
    assert_int_equal(generation(), g + 1);
    content_path(vdir, sizeof(vdir), V1, NULL);
    content_path(path, sizeof(path), V1, F1);
    assert_int_equal(path_mode(vdir), 0700);
    assert_int_equal(path_mode(path), 0600);
    assert_int_equal(dir_entries(vdir), 1); /* no temporary file left */
    assert_int_equal(volume_file_read(g_vol, V1, F1, &data, &len), ERR_OK);
    assert_int_equal(len, sizeof(content_a));
    assert_memory_equal(data, content_a, sizeof(content_a));
    mem_free(data);
    /* Storing it again is fine. */
    assert_int_equal(volume_file_content_put(g_vol, V1, F1, content_a, sizeof(content_a)), ERR_OK);
    assert_int_equal(generation(), g + 1);
    assert_int_equal(volume_file_list(g_vol, V1, &list, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].vf_id, F1);
    assert_int_equal(list[0].vf_present, 1);
    mem_free(list);
    assert_int_equal(volume_files_missing(g_vol, &missing), ERR_OK);
    assert_int_equal(missing, 0);
    assert_int_equal(volume_files_missing(NULL, &missing), ERR_BAD_INPUT);

    /* One byte flipped on disk: detected, never returned. */
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "X", 1, 3), 1);
    close(fd);
    data = (unsigned char *)&data;
    assert_int_equal(volume_file_read(g_vol, V1, F1, &data, &len), ERR_CORRUPT);
    assert_null(data);
    assert_int_equal(len, 0);
    /* Truncated. */
    assert_int_equal(truncate(path, 5), 0);
    assert_int_equal(volume_file_read(g_vol, V1, F1, &data, &len), ERR_CORRUPT);
    assert_null(data);
    /* Missing. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(volume_file_read(g_vol, V1, F1, &data, &len), ERR_CORRUPT);
    /* Replaced by a symbolic link: not followed. */
    assert_int_equal(symlink(g_db, path), 0);
    assert_int_equal(volume_file_read(g_vol, V1, F1, &data, &len), ERR_CORRUPT);
    assert_int_equal(unlink(path), 0);
    /* Fetched again: good. */
    assert_int_equal(volume_file_content_put(g_vol, V1, F1, content_a, sizeof(content_a)), ERR_OK);
    assert_int_equal(volume_file_read(g_vol, V1, F1, &data, &len), ERR_OK);
    assert_memory_equal(data, content_a, sizeof(content_a));
    mem_free(data);

    /* The same digest again keeps the content; another digest drops it. */
    tx = begin();
    assert_int_equal(volume_tx_file_put(tx, &f), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_file_get(g_vol, V1, F1, &got), ERR_OK);
    assert_int_equal(got.vf_present, 1);
    f = file_rec(V1, F1, ct_b, sizeof(ct_b));
    tx = begin();
    assert_int_equal(volume_tx_file_put(tx, &f), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_file_get(g_vol, V1, F1, &got), ERR_OK);
    assert_int_equal(got.vf_present, 0);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(volume_file_read(g_vol, V1, F1, &data, &len), ERR_NOT_READY);

    /* Limits and shapes. */
    big = malloc(VOLUME_MAX_FILE_BYTES + 1);
    assert_non_null(big);
    assert_int_equal(volume_file_content_put(g_vol, V1, F1, big, VOLUME_MAX_FILE_BYTES + 1),
                     ERR_TOO_LARGE);
    free(big);
    assert_int_equal(volume_file_read(g_vol, V1, "../../etc/passwd", &data, &len), ERR_BAD_INPUT);
    assert_int_equal(volume_file_content_put(g_vol, "..", F1, ct_a, 1), ERR_BAD_INPUT);
    assert_int_equal(volume_file_get(g_vol, V1, F2, &got), ERR_NOT_FOUND);
    assert_int_equal(volume_file_list(g_vol, V9, &list, &n), ERR_NOT_FOUND);
}

static void test_files_gc(void **state)
{
    struct volume_file f1 = file_rec(V1, F1, content_a, sizeof(content_a));
    struct volume_file f2 = file_rec(V1, F2, ct_a, sizeof(ct_a));
    char path[PATH_MAX + 128], vdir[PATH_MAX + 64], orphan_dir[PATH_MAX + 64];
    struct volume_tx *tx;
    unsigned char *data;
    size_t removed = 99, len;
    FILE *fp;

    (void)state;
    make_vault(V1);
    tx = begin();
    assert_int_equal(volume_tx_file_put(tx, &f1), ERR_OK);
    assert_int_equal(volume_tx_file_put(tx, &f2), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_file_content_put(g_vol, V1, F1, content_a, sizeof(content_a)), ERR_OK);
    /* What a crash leaves: a temporary file, a content never marked present (F2), a content
     * without a row, a vault directory without rows. Foreign names are left alone. */
    content_path(vdir, sizeof(vdir), V1, NULL);
    static const char *const leftovers[] = {".f0000000000000000000000002.a1b2c3", F2, F9, "README"};
    size_t i;
    for (i = 0; i < 4; i++) {
        (void)snprintf(path, sizeof(path), "%s/%s", vdir, leftovers[i]);
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs("x", fp);
        fclose(fp);
    }
    content_path(orphan_dir, sizeof(orphan_dir), V9, NULL);
    assert_int_equal(mkdir(orphan_dir, 0700), 0);
    content_path(path, sizeof(path), V9, F1);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);

    assert_int_equal(volume_files_gc(g_vol, &removed), ERR_OK);
    assert_int_equal(removed, 5);           /* tmp, F2, F9, V9/F1, V9 itself */
    assert_int_equal(dir_entries(vdir), 2); /* F1 and README */
    assert_int_equal(dir_entries(orphan_dir), -1);
    assert_int_equal(volume_file_read(g_vol, V1, F1, &data, &len), ERR_OK);
    mem_free(data);
    assert_int_equal(volume_files_gc(g_vol, &removed), ERR_OK);
    assert_int_equal(removed, 0);
}

/* ---- Two handles, two processes, threads ---------------------------------------------------- */

static void test_writer_and_reader_handles(void **state)
{
    struct volume *reader = NULL;
    struct volume_activity *act;
    struct volume_item it;
    struct volume_tx *tx;
    uint64_t g = 9, id = 0, total;
    char err[256];
    size_t n;

    (void)state;
    assert_int_equal(volume_open(&reader, g_vdir, err, sizeof(err)), ERR_OK);
    make_vault(V1);
    assert_int_equal(volume_generation(reader, &g), ERR_OK);
    assert_int_equal(g, 1);

    /* Uncommitted: invisible to the reader (and the reader is not blocked). */
    tx = begin();
    apply_batch(tx, 10);
    assert_int_equal(volume_item_get(reader, V1, I1, &it), ERR_NOT_FOUND);
    assert_int_equal(volume_generation(reader, &g), ERR_OK);
    assert_int_equal(g, 1);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);

    /* Committed: visible, and the generation says so. */
    assert_int_equal(volume_generation(reader, &g), ERR_OK);
    assert_int_equal(g, 2);
    assert_int_equal(volume_item_get(reader, V1, I1, &it), ERR_OK);
    assert_int_equal(it.vi_version, 2);
    volume_item_clear(&it);
    assert_int_equal(volume_last_seq(reader, &g), ERR_OK);
    assert_int_equal(g, 10);

    /* The reader writes activity; the writer's handle sees it pending. */
    assert_int_equal(volume_activity_append(reader, "{\"id\":\"r1\"}", &id), ERR_OK);
    assert_int_equal(id, 1);
    assert_int_equal(volume_activity_pending(g_vol, 10, &act, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(act[0].ve_entry_json, "{\"id\":\"r1\"}");
    volume_activity_list_free(act, n);
    assert_int_equal(volume_activity_mark_uploaded(g_vol, &id, 1), ERR_OK);
    assert_int_equal(volume_activity_query(reader, 10, 0, &act, &n, &total), ERR_OK);
    assert_int_equal(act[0].ve_uploaded, 1);
    volume_activity_list_free(act, n);
    volume_close(reader);
}

static void test_two_processes(void **state)
{
    struct volume_item it;
    pid_t pid;
    int status = 0;

    (void)state;
    make_vault(V1);
    /* No SQLite connection may cross a fork: the parent reopens after it, so that both
     * processes have the volume open at the same time. */
    volume_close(g_vol);
    g_vol = NULL;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The child is "sync": its own handle, one batch, committed. No cmocka here. */
        struct volume *v = NULL;
        struct volume_tx *tx = NULL;
        struct volume_item i = item_rec(V1, I1, 3, ct_a, sizeof(ct_a), ct_b, sizeof(ct_b));
        char err[256];
        int rc = 1;

        if (volume_open(&v, g_vdir, err, sizeof(err)) == ERR_OK &&
            volume_tx_begin(v, &tx) == ERR_OK && volume_tx_item_put(tx, &i) == ERR_OK &&
            volume_tx_set_last_seq(tx, 77) == ERR_OK && volume_tx_commit(tx) == ERR_OK)
            rc = 0;
        volume_close(v);
        _exit(rc);
    }
    assert_int_equal(reopen(), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(volume_item_get(g_vol, V1, I1, &it), ERR_OK);
    assert_int_equal(it.vi_version, 3);
    volume_item_clear(&it);
    assert_int_equal(last_seq(), 77);
    assert_int_equal(generation(), 2);
}

#define OPENERS 6

static void test_concurrent_first_open(void **state)
{
    struct volume_activity *act;
    uint64_t total = 0;
    pid_t pids[OPENERS];
    size_t n;
    int i, status;

    (void)state;
    /* sync and api starting together on an empty data directory: every process creates
     * what is missing, exactly one migrates, all can write. */
    next_dir();
    for (i = 0; i < OPENERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            struct volume *v = NULL;
            char err[256];
            int rc = 1;

            enum err e = volume_open(&v, g_vdir, err, sizeof(err));

            if (e == ERR_OK)
                e = volume_activity_append(v, "{\"p\":1}", NULL);
            if (e == ERR_OK)
                rc = 0;
            else
                fprintf(stderr, "opener %d: %s: %s\n", i, err_name(e), err);
            volume_close(v);
            _exit(rc);
        }
    }
    for (i = 0; i < OPENERS; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(reopen(), 0);
    assert_int_equal(volume_activity_query(g_vol, 100, 0, &act, &n, &total), ERR_OK);
    assert_int_equal(total, OPENERS);
    volume_activity_list_free(act, n);
    assert_int_equal(sql_int(g_db, "PRAGMA user_version"), VOLUME_SCHEMA_VERSION);
    assert_int_equal(sql_int(g_db, "SELECT count(*) FROM meta"), 1);
}

#define READERS 12 /* more than VOLUME_MAX_CONNECTIONS: some wait for a connection */
#define ROUNDS  60

static atomic_int g_stop;
static atomic_int g_reader_errors;

static void *reader_main(void *arg)
{
    uint64_t last = 0;

    (void)arg;
    while (!atomic_load(&g_stop)) {
        struct volume_item *list;
        struct volume_item it;
        size_t n;
        uint64_t gen;

        if (volume_generation(g_vol, &gen) != ERR_OK ||
            volume_item_list(g_vol, V1, &list, &n) != ERR_OK) {
            atomic_fetch_add(&g_reader_errors, 1);
            continue;
        }
        volume_item_list_free(list, n);
        if (volume_item_get(g_vol, V1, I1, &it) == ERR_OK) {
            if (it.vi_version < last) /* a version never goes backwards */
                atomic_fetch_add(&g_reader_errors, 1);
            last = it.vi_version;
            volume_item_clear(&it);
        }
    }
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    pthread_t th[READERS];
    uint64_t k;
    int i;

    (void)state;
    make_vault(V1);
    atomic_store(&g_stop, 0);
    atomic_store(&g_reader_errors, 0);
    for (i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, NULL), 0);
    for (k = 1; k <= ROUNDS; k++) {
        put_item(V1, I1, k, ct_a, sizeof(ct_a));
        assert_int_equal(volume_activity_append(g_vol, "{}", NULL), ERR_OK);
    }
    atomic_store(&g_stop, 1);
    for (i = 0; i < READERS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(atomic_load(&g_reader_errors), 0);
    assert_int_equal(item_version(V1, I1), ROUNDS);
    assert_int_equal(generation(), 1 + ROUNDS);
}

/* ---- Activity -------------------------------------------------------------------------------- */

/* volume_activity_append_batch: one transaction, all or nothing, order kept. */
static void test_activity_batch(void **state)
{
    const char *good[] = {"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"};
    const char *bad[] = {"{\"n\":4}", ""};
    struct volume_activity *act = NULL;
    uint64_t total = 0;
    size_t n = 0;

    (void)state;
    assert_int_equal(volume_activity_append_batch(g_vol, good, 0), ERR_OK);
    assert_int_equal(volume_activity_append_batch(g_vol, good, 3), ERR_OK);
    assert_int_equal(volume_activity_append_batch(g_vol, bad, 2), ERR_BAD_INPUT);
    assert_int_equal(volume_activity_append_batch(g_vol, NULL, 1), ERR_BAD_INPUT);
    assert_int_equal(volume_activity_append_batch(NULL, good, 1), ERR_BAD_INPUT);
    assert_int_equal(volume_activity_query(g_vol, 10, 0, &act, &n, &total), ERR_OK);
    assert_int_equal(n, 3);
    assert_int_equal(total, 3); /* nothing of the refused batch */
    assert_string_equal(act[0].ve_entry_json, "{\"n\":1}");
    assert_string_equal(act[2].ve_entry_json, "{\"n\":3}");
    assert_int_equal(act[2].ve_id, 3);
    volume_activity_list_free(act, n);
}

static void test_activity(void **state)
{
    struct volume_activity *act = (struct volume_activity *)&act;
    uint64_t total = 99, id, ids[10], backlog = 0;
    size_t n = 99, removed, i;
    char entry[64];
    char *big;

    (void)state;
    assert_int_equal(volume_activity_query(g_vol, 10, 0, &act, &n, &total), ERR_OK);
    assert_null(act);
    assert_int_equal(n, 0);
    assert_int_equal(total, 0);
    for (i = 1; i <= 25; i++) {
        (void)snprintf(entry, sizeof(entry), "{\"requestId\":\"r%zu\"}", i);
        assert_int_equal(volume_activity_append(g_vol, entry, &id), ERR_OK);
        assert_int_equal(id, i);
    }
    /* Pages (Content-Range). */
    assert_int_equal(volume_activity_query(g_vol, 10, 0, &act, &n, &total), ERR_OK);
    assert_int_equal(n, 10);
    assert_int_equal(total, 25);
    assert_int_equal(act[0].ve_id, 1);
    assert_string_equal(act[0].ve_entry_json, "{\"requestId\":\"r1\"}");
    assert_int_equal(act[9].ve_id, 10);
    assert_int_equal(act[9].ve_uploaded, 0);
    volume_activity_list_free(act, n);
    assert_int_equal(volume_activity_query(g_vol, 10, 20, &act, &n, &total), ERR_OK);
    assert_int_equal(n, 5);
    assert_int_equal(act[0].ve_id, 21);
    assert_string_equal(act[4].ve_entry_json, "{\"requestId\":\"r25\"}");
    volume_activity_list_free(act, n);
    assert_int_equal(volume_activity_query(g_vol, 10, 30, &act, &n, &total), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(total, 25);

    /* Upload marks. */
    assert_int_equal(volume_activity_backlog(g_vol, &backlog), ERR_OK);
    assert_int_equal(backlog, 25);
    assert_int_equal(volume_activity_backlog(NULL, &backlog), ERR_BAD_INPUT);
    assert_int_equal(volume_activity_pending(g_vol, 100, &act, &n), ERR_OK);
    assert_int_equal(n, 25);
    volume_activity_list_free(act, n);
    for (i = 0; i < 10; i++)
        ids[i] = i + 1;
    ids[9] = 999; /* unknown: skipped */
    assert_int_equal(volume_activity_mark_uploaded(g_vol, ids, 10), ERR_OK);
    assert_int_equal(volume_activity_mark_uploaded(g_vol, ids, 10), ERR_OK);
    assert_int_equal(volume_activity_mark_uploaded(g_vol, NULL, 0), ERR_OK);
    assert_int_equal(volume_activity_pending(g_vol, 3, &act, &n), ERR_OK);
    assert_int_equal(n, 3);
    assert_int_equal(act[0].ve_id, 10);
    assert_int_equal(act[2].ve_id, 12);
    volume_activity_list_free(act, n);
    assert_int_equal(volume_activity_query(g_vol, 10, 8, &act, &n, &total), ERR_OK);
    assert_int_equal(act[0].ve_uploaded, 1); /* id 9 */
    assert_int_equal(act[1].ve_uploaded, 0); /* id 10 */
    volume_activity_list_free(act, n);
    assert_int_equal(volume_activity_backlog(g_vol, &backlog), ERR_OK);
    assert_int_equal(backlog, 16); /* 10..25 */
    /* runs of consecutive ids are marked by range: a gap between them stays pending */
    ids[0] = 14;
    ids[1] = 16;
    assert_int_equal(volume_activity_mark_uploaded(g_vol, ids, 2), ERR_OK);
    assert_int_equal(volume_activity_query(g_vol, 3, 13, &act, &n, &total), ERR_OK);
    assert_int_equal(n, 3);
    assert_int_equal(act[0].ve_id, 14);
    assert_int_equal(act[0].ve_uploaded, 1);
    assert_int_equal(act[1].ve_uploaded, 0); /* id 15 */
    assert_int_equal(act[2].ve_uploaded, 1); /* id 16 */
    volume_activity_list_free(act, n);

    /* Prune: uploaded entries older than the newest 5 go; pending ones always stay. */
    assert_int_equal(volume_activity_prune(g_vol, 5, &removed), ERR_OK);
    assert_int_equal(removed, 11); /* 1..9, 14 and 16 */
    assert_int_equal(volume_activity_query(g_vol, 100, 0, &act, &n, &total), ERR_OK);
    assert_int_equal(total, 14);
    assert_int_equal(act[0].ve_id, 10);
    volume_activity_list_free(act, n);
    assert_int_equal(volume_activity_prune(g_vol, 0, &removed), ERR_OK);
    assert_int_equal(removed, 0);
    assert_int_equal(generation(), 0); /* activity is not mirrored data */
    for (i = 0; i < 10; i++)
        ids[i] = 10 + i;
    assert_int_equal(volume_activity_mark_uploaded(g_vol, ids, 10), ERR_OK);
    for (i = 0; i < 10; i++)
        ids[i] = 20 + i;
    assert_int_equal(volume_activity_mark_uploaded(g_vol, ids, 10), ERR_OK);
    assert_int_equal(volume_activity_backlog(g_vol, &backlog), ERR_OK);
    assert_int_equal(backlog, 0); /* all uploaded */

    /* Shapes. */
    assert_int_equal(volume_activity_query(g_vol, 0, 0, &act, &n, &total), ERR_BAD_INPUT);
    assert_int_equal(volume_activity_query(g_vol, VOLUME_MAX_PAGE + 1, 0, &act, &n, &total),
                     ERR_BAD_INPUT);
    assert_int_equal(volume_activity_pending(g_vol, 0, &act, &n), ERR_BAD_INPUT);
    assert_int_equal(volume_activity_append(g_vol, "", &id), ERR_BAD_INPUT);
    assert_int_equal(id, 0);
    assert_int_equal(volume_activity_append(g_vol, NULL, NULL), ERR_BAD_INPUT);
    big = malloc(VOLUME_JSON_MAX_BYTES + 2);
    assert_non_null(big);
    memset(big, 'x', VOLUME_JSON_MAX_BYTES + 1);
    big[VOLUME_JSON_MAX_BYTES + 1] = '\0';
    assert_int_equal(volume_activity_append(g_vol, big, NULL), ERR_BAD_INPUT);
    big[VOLUME_JSON_MAX_BYTES] = '\0';
    assert_int_equal(volume_activity_append(g_vol, big, NULL), ERR_OK);
    free(big);
    assert_int_equal(volume_activity_mark_uploaded(g_vol, NULL, 1), ERR_BAD_INPUT);
}

/* ---- Erasure ----------------------------------------------------------------------------------
 */

/* Returns 1 if the file at path contains needle. */
static int file_contains(const char *path, const void *needle, size_t len)
{
    unsigned char *data;
    struct stat sb;
    int fd, found;

    fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    assert_int_equal(fstat(fd, &sb), 0);
    data = malloc((size_t)sb.st_size + 1);
    assert_non_null(data);
    assert_int_equal(read(fd, data, (size_t)sb.st_size), sb.st_size);
    close(fd);
    found = memmem(data, (size_t)sb.st_size, needle, len) != NULL;
    free(data);
    return found;
}

static int db_contains(const unsigned char *marker, size_t len)
{
    return file_contains(g_db, marker, len) || file_contains(g_wal, marker, len);
}

static void test_deleted_ciphertext_is_erased(void **state)
{
    unsigned char live[48], old_ov[48], new_ov[48], new_dt[48], attrs[48], wrapped[48], fdata[48];
    struct volume_grant g = {.vg_vault = V2,
                             .vg_key_wrapped = wrapped,
                             .vg_key_wrapped_len = sizeof(wrapped),
                             .vg_created_at = T0};
    struct volume_vault vv;
    struct volume_item it;
    struct volume_file f;
    struct volume_tx *tx;
    char path[PATH_MAX + 64];

    (void)state;
    assert_int_equal(crypto_random(live, sizeof(live)), ERR_OK);
    assert_int_equal(crypto_random(old_ov, sizeof(old_ov)), ERR_OK);
    assert_int_equal(crypto_random(new_ov, sizeof(new_ov)), ERR_OK);
    assert_int_equal(crypto_random(new_dt, sizeof(new_dt)), ERR_OK);
    assert_int_equal(crypto_random(attrs, sizeof(attrs)), ERR_OK);
    assert_int_equal(crypto_random(wrapped, sizeof(wrapped)), ERR_OK);
    assert_int_equal(crypto_random(fdata, sizeof(fdata)), ERR_OK);
    vv = vault_rec(V2, attrs, sizeof(attrs), 1, 1);
    make_vault(V1);
    put_item(V1, I1, 1, live, sizeof(live));
    put_item(V1, I2, 1, old_ov, sizeof(old_ov));
    tx = begin();
    it = item_rec(V1, I2, 2, new_ov, sizeof(new_ov), new_dt, sizeof(new_dt));
    assert_int_equal(volume_tx_item_put(tx, &it), ERR_OK);
    assert_int_equal(volume_tx_grant_put(tx, &g), ERR_OK);
    assert_int_equal(volume_tx_vault_put(tx, &vv), ERR_OK);
    f = file_rec(V2, F1, fdata, sizeof(fdata));
    assert_int_equal(volume_tx_file_put(tx, &f), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_file_content_put(g_vol, V2, F1, fdata, sizeof(fdata)), ERR_OK);
    content_path(path, sizeof(path), V2, F1);

    /* Stored while live (the scan works)... */
    assert_int_equal(reopen(), 0);
    assert_true(db_contains(live, sizeof(live)));
    assert_true(db_contains(new_ov, sizeof(new_ov)));
    assert_true(db_contains(new_dt, sizeof(new_dt)));
    assert_true(db_contains(attrs, sizeof(attrs)));
    assert_true(db_contains(wrapped, sizeof(wrapped)));
    assert_true(file_contains(path, fdata, sizeof(fdata)));

    /* ...and nowhere once deleted (secure_delete; the WAL checkpointed at close). */
    tx = begin();
    assert_int_equal(volume_tx_item_delete(tx, V1, I2, 3, T0 + 9, NULL), ERR_OK);
    assert_int_equal(volume_tx_grant_delete(tx, V2), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    volume_close(g_vol);
    g_vol = NULL;
    assert_true(db_contains(live, sizeof(live)));
    assert_false(db_contains(old_ov, sizeof(old_ov)));
    assert_false(db_contains(new_ov, sizeof(new_ov)));
    assert_false(db_contains(new_dt, sizeof(new_dt)));
    assert_false(db_contains(attrs, sizeof(attrs)));
    assert_false(db_contains(wrapped, sizeof(wrapped)));
    assert_int_equal(access(path, F_OK), -1);
    assert_true(file_contains(g_db, I2, ID_LEN)); /* the tombstone's id stays */
    assert_int_equal(reopen(), 0);
}

/* ---- Allocation failures --------------------------------------------------------------------- */

static void test_allocation_failures(void **state)
{
    struct volume_item *list;
    struct volume_tx *tx;
    struct volume_meta m;
    size_t n;
    long k;
    enum err e;

    (void)state;
    make_vault(V1);
    make_vault(V2);
    put_item(V1, I1, 1, ct_a, sizeof(ct_a));
    put_item(V1, I2, 1, ct_a, sizeof(ct_a));

    /* A transaction whose bookkeeping fails part-way applies nothing. */
    for (k = 0;; k++) {
        tx = NULL;
        (void)mem_fail_after(k);
        e = volume_tx_begin(g_vol, &tx);
        if (e == ERR_OK) {
            enum err r1 = volume_tx_set_last_seq(tx, 5);
            enum err r2 = volume_tx_vault_delete(tx, V2);
            enum err r3 = volume_tx_grant_delete(tx, V1);
            assert_int_equal(r1, ERR_OK);
            assert_true(r2 == ERR_OK || r2 == ERR_NOMEM);
            assert_true(r3 == r2 || r3 == ERR_NOMEM); /* a failure poisons what follows */
            e = volume_tx_commit(tx);
        }
        (void)mem_fail_after(-1);
        if (e == ERR_OK)
            break;
        assert_int_equal(e, ERR_NOMEM);
        assert_int_equal(last_seq(), 0);
        assert_int_equal(count_vaults(), 2);
    }
    assert_true(k > 0);
    assert_int_equal(last_seq(), 5);
    assert_int_equal(count_vaults(), 0);

    make_vault(V1);
    put_item(V1, I1, 2, ct_a, sizeof(ct_a));
    put_item(V1, I2, 2, ct_a, sizeof(ct_a));
    for (k = 0;; k++) {
        (void)mem_fail_after(k);
        e = volume_item_list(g_vol, V1, &list, &n);
        (void)mem_fail_after(-1);
        if (e == ERR_OK)
            break;
        assert_int_equal(e, ERR_NOMEM);
        assert_null(list);
        assert_int_equal(n, 0);
    }
    assert_int_equal(n, 2);
    volume_item_list_free(list, n);
    for (k = 0;; k++) {
        (void)mem_fail_after(k);
        e = volume_meta_get(g_vol, &m);
        (void)mem_fail_after(-1);
        if (e == ERR_OK)
            break;
        assert_int_equal(e, ERR_NOMEM);
        assert_null(m.vm_hub_url);
    }
    volume_meta_clear(&m);
}

/* ---- Damage and a full disk --------------------------------------------------------------- */

/* Mounts a 1 MiB tmpfs at dir; 0 or -1. */
static int mount_tmpfs(const char *dir)
{
    return mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0700");
}

/* Items with big ciphertexts in vault V1, so that the items table spans many pages. */
static void fill_items(int n)
{
    unsigned char big[3000];
    char id[ID_LEN + 1];
    int i;

    memset(big, 0x5a, sizeof(big));
    for (i = 0; i < n; i++) {
        (void)snprintf(id, sizeof(id), "i%025d", i);
        put_item(V1, id, 1, big, sizeof(big));
    }
}

/* Overwrites the page in the middle of the (checkpointed) database with garbage. */
static void smash_middle_page(void)
{
    unsigned char junk[4096];
    struct stat sb;
    off_t off;
    int fd;

    memset(junk, 0xee, sizeof(junk));
    assert_int_equal(stat(g_db, &sb), 0);
    off = (sb.st_size / 4096 / 2) * 4096;
    assert_true(off >= 4096);
    fd = open(g_db, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, junk, sizeof(junk), off), (ssize_t)sizeof(junk));
    close(fd);
}

/* Number of damaged copies kept in the data directory. */
static int corrupt_copies(void)
{
    struct dirent *de;
    DIR *d = opendir(g_vdir);
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);

        if (strncmp(de->d_name, "sesame.db.corrupt-", 18) == 0 &&
            !(len > 4 && strcmp(de->d_name + len - 4, "-wal") == 0))
            n++;
    }
    closedir(d);
    return n;
}

/* Reads a whole file into a heap buffer; *len gets its size. */
static unsigned char *slurp(const char *path, size_t *len)
{
    struct stat sb;
    unsigned char *p;
    FILE *f = fopen(path, "rb");

    assert_non_null(f);
    assert_int_equal(fstat(fileno(f), &sb), 0);
    p = malloc((size_t)sb.st_size + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)sb.st_size, f), (size_t)sb.st_size);
    fclose(f);
    *len = (size_t)sb.st_size;
    return p;
}

/* A damaged page: found by volume_check and by reads, rebuilt in place, the copy kept. */
static void test_check_and_rebuild(void **state)
{
    char msg[256], aside[PATH_MAX + 64];
    unsigned char *damaged, *kept;
    size_t dlen, klen;
    struct volume_tx *tx = NULL;
    struct volume_meta m;
    uint64_t gen_before, epoch;
    enum err e;
    int i, bad_reads = 0;

    (void)state;
    make_vault(V1);
    fill_items(60);
    tx = begin();
    assert_int_equal(volume_tx_set_identity(tx, ACC, SRV, HUB), ERR_OK);
    assert_int_equal(volume_tx_set_last_seq(tx, 77), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    /* healthy: the check passes, quick and full */
    assert_int_equal(volume_check(g_vol, 0, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(volume_check(g_vol, 1, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(volume_take_corrupt(g_vol), 0);
    assert_int_equal(volume_epoch(g_vol), 1);
    gen_before = generation();

    /* damaged on disk (closed: checkpointed, no WAL), then opened again */
    volume_close(g_vol);
    g_vol = NULL;
    smash_middle_page();
    assert_int_equal(reopen(), 0);
    assert_int_equal(volume_check(g_vol, 0, msg, sizeof(msg)), ERR_CORRUPT);
    assert_true(strlen(msg) > 0);
    assert_int_equal(volume_take_corrupt(g_vol), 1);
    assert_int_equal(volume_take_corrupt(g_vol), 0); /* taken */
    /* reads of the damaged page: ERR_CORRUPT, never another item; the flag is set */
    for (i = 0; i < 60; i++) {
        struct volume_item it;
        char id[ID_LEN + 1];

        (void)snprintf(id, sizeof(id), "i%025d", i);
        e = volume_item_get(g_vol, V1, id, &it);
        if (e == ERR_OK) {
            assert_string_equal(it.vi_id, id);
            volume_item_clear(&it);
        } else {
            assert_int_equal(e, ERR_CORRUPT);
            bad_reads++;
        }
    }
    assert_true(bad_reads > 0);
    assert_int_equal(volume_take_corrupt(g_vol), 1);

    /* rebuilt in place: the damaged bytes kept aside, 0600; an empty volume of a new
       generation and epoch; a transaction begun for the old epoch is refused */
    damaged = slurp(g_db, &dlen);
    epoch = volume_epoch(g_vol);
    assert_int_equal(volume_rebuild(g_vol, aside, sizeof(aside), msg, sizeof(msg)), ERR_OK);
    assert_true(strstr(aside, "/sesame.db.corrupt-") != NULL);
    assert_int_equal(path_mode(aside), 0600);
    kept = slurp(aside, &klen);
    assert_int_equal(klen, dlen);
    assert_memory_equal(kept, damaged, dlen);
    free(kept);
    free(damaged);
    assert_int_equal(volume_epoch(g_vol), epoch + 1);
    assert_int_equal(volume_check(g_vol, 1, msg, sizeof(msg)), ERR_OK);
    assert_int_not_equal(generation(), gen_before);
    assert_int_equal(volume_meta_get(g_vol, &m), ERR_OK);
    assert_string_equal(m.vm_account, "");
    assert_int_equal(m.vm_last_seq, 0);
    assert_int_equal(m.vm_last_sync_at, 0);
    volume_meta_clear(&m);
    assert_int_equal(count_vaults(), 0);
    assert_int_equal(count_items(V1), 0);
    assert_int_equal(volume_tx_begin_at(g_vol, epoch, &tx), ERR_CONFLICT);
    assert_null(tx);
    assert_int_equal(volume_tx_begin_at(g_vol, volume_epoch(g_vol), &tx), ERR_OK);
    volume_tx_rollback(tx);
    /* usable again, and still so after a reopen */
    make_vault(V1);
    put_item(V1, I1, 3, ct_a, sizeof(ct_a));
    assert_int_equal(reopen(), 0);
    assert_int_equal(item_version(V1, I1), 3);
    assert_int_equal(corrupt_copies(), 1);
}

/* Half the file gone: the check finds it; only the newest VOLUME_CORRUPT_KEEP copies stay. */
static void test_truncated_and_copies_bounded(void **state)
{
    char msg[256], aside[PATH_MAX + 64];
    struct stat sb;
    int i;

    (void)state;
    make_vault(V1);
    fill_items(60);
    volume_close(g_vol);
    g_vol = NULL;
    assert_int_equal(stat(g_db, &sb), 0);
    assert_int_equal(truncate(g_db, sb.st_size / 2), 0);
    /* the schema itself is cut: volume_open refuses it; sync's volume_open_repair rebuilds */
    assert_int_equal(volume_open(&g_vol, g_vdir, msg, sizeof(msg)), ERR_CORRUPT);
    assert_null(g_vol);
    assert_int_equal(volume_open_repair(&g_vol, g_vdir, aside, sizeof(aside), msg, sizeof(msg)),
                     ERR_OK);
    assert_int_equal(path_mode(aside), 0600);
    assert_int_equal(volume_check(g_vol, 0, msg, sizeof(msg)), ERR_OK);
    for (i = 0; i < VOLUME_CORRUPT_KEEP + 1; i++) {
        assert_int_equal(volume_rebuild(g_vol, aside, sizeof(aside), msg, sizeof(msg)), ERR_OK);
        assert_int_equal(path_mode(aside), 0600);
    }
    assert_int_equal(corrupt_copies(), VOLUME_CORRUPT_KEEP);
    assert_int_equal(volume_epoch(g_vol), 1 + VOLUME_CORRUPT_KEEP + 2);
    assert_int_equal(access(aside, F_OK), 0); /* the newest is kept */
    assert_int_equal(volume_check(g_vol, 0, msg, sizeof(msg)), ERR_OK);
}

/* A file SQLite cannot open as a database: volume_open refuses, volume_open_repair rebuilds. */
static void test_open_repair(void **state)
{
    static const char junk[] = "this is not an SQLite database, and it is long enough to be read";
    char err[256], aside[PATH_MAX + 64];
    struct volume *v = NULL;
    FILE *f;

    (void)state;
    next_dir();
    assert_int_equal(reopen(), 0);
    volume_close(g_vol);
    g_vol = NULL;
    f = fopen(g_db, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(junk, 1, sizeof(junk) - 1, f), sizeof(junk) - 1);
    fclose(f);
    assert_int_equal(volume_open(&v, g_vdir, err, sizeof(err)), ERR_CORRUPT);
    assert_null(v);
    assert_int_equal(volume_open_repair(&g_vol, g_vdir, aside, sizeof(aside), err, sizeof(err)),
                     ERR_OK);
    assert_int_equal(volume_epoch(g_vol), 2);
    assert_int_equal(count_vaults(), 0);
    assert_true(strstr(aside, "sesame.db.corrupt-") != NULL);
    assert_int_equal(path_mode(aside), 0600);
    make_vault(V1);
    assert_int_equal(count_vaults(), 1);
}

/* Damaged contents: detected on read (flag), marked absent and kept aside by the check;
 * after a rebuild a content that still matches is adopted, one that does not is not. */
static void test_file_damage_and_adopt(void **state)
{
    char path[PATH_MAX + 64], aside[PATH_MAX + 80], msg[256];
    struct volume_file f = file_rec(V1, F1, content_a, sizeof(content_a)), got;
    struct volume_file f2 = file_rec(V1, F2, content_a, sizeof(content_a));
    unsigned char *data = NULL;
    struct volume_tx *tx;
    size_t len = 0, bad = 9;
    int fd;

    (void)state;
    make_vault(V1);
    tx = begin();
    assert_int_equal(volume_tx_file_put(tx, &f), ERR_OK);
    assert_int_equal(volume_tx_file_put(tx, &f2), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_file_content_put(g_vol, V1, F1, content_a, sizeof(content_a)), ERR_OK);
    assert_int_equal(volume_file_content_put(g_vol, V1, F2, content_a, sizeof(content_a)), ERR_OK);
    assert_int_equal(volume_files_verify(g_vol, &bad), ERR_OK);
    assert_int_equal(bad, 0);

    content_path(path, sizeof(path), V1, F1);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "Z", 1, 2), 1);
    close(fd);
    assert_int_equal(volume_file_read(g_vol, V1, F1, &data, &len), ERR_CORRUPT);
    assert_null(data);
    assert_int_equal(volume_take_file_corrupt(g_vol), 1);
    assert_int_equal(volume_take_file_corrupt(g_vol), 0);
    assert_int_equal(volume_take_corrupt(g_vol), 0); /* a file is not the database */
    assert_int_equal(volume_files_verify(g_vol, &bad), ERR_OK);
    assert_int_equal(bad, 1);
    assert_int_equal(volume_file_get(g_vol, V1, F1, &got), ERR_OK);
    assert_int_equal(got.vf_present, 0);
    assert_int_equal(volume_file_read(g_vol, V1, F1, &data, &len), ERR_NOT_READY);
    (void)snprintf(aside, sizeof(aside), "%s.corrupt", path);
    assert_int_equal(access(aside, F_OK), 0);
    assert_int_equal(access(path, F_OK), -1);
    /* fetched again */
    assert_int_equal(volume_file_content_put(g_vol, V1, F1, content_a, sizeof(content_a)), ERR_OK);
    assert_int_equal(volume_file_read(g_vol, V1, F1, &data, &len), ERR_OK);
    mem_free(data);

    /* after a rebuild the rows are gone but the contents stay: F1 verifies and is adopted,
       F2 (damaged meanwhile) is not */
    assert_int_equal(volume_rebuild(g_vol, NULL, 0, msg, sizeof(msg)), ERR_OK);
    content_path(path, sizeof(path), V1, F2);
    assert_int_equal(truncate(path, 3), 0);
    make_vault(V1);
    assert_int_equal(volume_file_content_adopt(g_vol, V1, F1), ERR_NOT_FOUND); /* no row yet */
    tx = begin();
    assert_int_equal(volume_tx_file_put(tx, &f), ERR_OK);
    assert_int_equal(volume_tx_file_put(tx, &f2), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(volume_file_content_adopt(g_vol, V1, F1), ERR_OK);
    assert_int_equal(volume_file_content_adopt(g_vol, V1, F1), ERR_OK); /* already present */
    assert_int_equal(volume_file_content_adopt(g_vol, V1, F2), ERR_NOT_FOUND);
    assert_int_equal(volume_file_read(g_vol, V1, F1, &data, &len), ERR_OK);
    assert_int_equal(len, sizeof(content_a));
    mem_free(data);
    assert_int_equal(volume_file_read(g_vol, V1, F2, &data, &len), ERR_NOT_READY);
}

/* A full disk (a 1 MiB tmpfs; root only, else skipped): ERR_NO_SPACE, nothing half-written,
 * the flag until a write succeeds again. */
static void test_no_space(void **state)
{
    char mnt[256], filler[PATH_MAX + 16], tmpdir[PATH_MAX + 64];
    unsigned char big[8192];
    struct volume_file f;
    struct volume_tx *tx;
    char id[ID_LEN + 1];
    uint64_t gen;
    enum err e = ERR_OK;
    int i, fd;

    (void)state;
    (void)snprintf(mnt, sizeof(mnt), "%s/full%d", g_root, ++g_counter);
    assert_int_equal(mkdir(mnt, 0700), 0);
    if (geteuid() != 0 || mount_tmpfs(mnt) != 0) {
        skip();
        return;
    }
    (void)snprintf(g_vdir, sizeof(g_vdir), "%s/.op/data", mnt);
    (void)snprintf(g_db, sizeof(g_db), "%s/sesame.db", g_vdir);
    assert_int_equal(reopen(), 0);
    make_vault(V1);
    memset(big, 0x42, sizeof(big));
    /* fill the rest of the file system */
    (void)snprintf(filler, sizeof(filler), "%s/filler", mnt);
    fd = open(filler, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    while (write(fd, big, sizeof(big)) > 0)
        ;
    close(fd);
    gen = generation();
    for (i = 0; i < 400 && e == ERR_OK; i++) {
        struct volume_item it;

        (void)snprintf(id, sizeof(id), "n%025d", i);
        it = item_rec(V1, id, 1, big, sizeof(big), ct_c, sizeof(ct_c));
        tx = begin();
        assert_int_equal(volume_tx_item_put(tx, &it), ERR_OK);
        e = volume_tx_commit(tx);
        if (e == ERR_OK)
            gen++;
    }
    assert_int_equal(e, ERR_NO_SPACE);
    assert_int_equal(volume_out_of_space(g_vol), 1);
    assert_int_equal(item_version(V1, id), 0); /* the failed batch left nothing */
    assert_int_equal(generation(), gen);
    /* a file content: ERR_NO_SPACE, no temporary file left */
    f = file_rec(V1, F1, big, sizeof(big));
    tx = begin();
    e = volume_tx_file_put(tx, &f);
    if (e == ERR_OK)
        e = volume_tx_commit(tx);
    else
        volume_tx_rollback(tx);
    if (e == ERR_OK) {
        assert_int_equal(volume_file_content_put(g_vol, V1, F1, big, sizeof(big)), ERR_NO_SPACE);
        (void)snprintf(tmpdir, sizeof(tmpdir), "%s/files/" V1, g_vdir);
        assert_true(dir_entries(tmpdir) <= 0);
    } else {
        assert_int_equal(e, ERR_NO_SPACE);
    }
    /* reads go on; space back: writes again, the flag cleared */
    assert_int_equal(count_vaults(), 1);
    assert_int_equal(unlink(filler), 0);
    put_item(V1, I1, 1, ct_a, sizeof(ct_a));
    assert_int_equal(volume_out_of_space(g_vol), 0);
    assert_int_equal(item_version(V1, I1), 1);
    volume_close(g_vol);
    g_vol = NULL;
    assert_int_equal(umount(mnt), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_open_creates_private_files, fx_teardown),
        cmocka_unit_test_teardown(test_open_refusals, fx_teardown),
        cmocka_unit_test_teardown(test_open_foreign_files, fx_teardown),
        cmocka_unit_test_teardown(test_migration_newer_refused, fx_teardown),
        cmocka_unit_test_teardown(test_migration_failure_rolls_back, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_meta_identity, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_signing_keys, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tokens, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_grants_and_vaults, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_items, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_item_before_vault, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_item_changes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v1, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_grant_delete_cascades, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_vault_delete_cascades, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_server_deleted_and_clear, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reapply_is_harmless, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_failure_leaves_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_file_contents, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_files_gc, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_writer_and_reader_handles, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_two_processes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers, fx_setup, fx_teardown),
        cmocka_unit_test_teardown(test_concurrent_first_open, fx_teardown),
        cmocka_unit_test_setup_teardown(test_activity, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_activity_batch, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_deleted_ciphertext_is_erased, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failures, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_check_and_rebuild, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_and_copies_bounded, fx_setup, fx_teardown),
        cmocka_unit_test_teardown(test_open_repair, fx_teardown),
        cmocka_unit_test_setup_teardown(test_file_damage_and_adopt, fx_setup, fx_teardown),
        cmocka_unit_test_teardown(test_no_space, fx_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
