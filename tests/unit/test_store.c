/*
 * test_store.c - the hub store (src/store/store.h) on real SQLite files in a fresh
 * temporary directory: every operation's happy and error paths, the change feed (gap-free
 * seqs in commit order, per-server visibility, superseded payloads), concurrent writers,
 * migrations, durability across reopen, nonces, sessions, erasure of deleted ciphertext,
 * and allocation failures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "store/store.h"

#include "pgtest.h"

#define T0 1700000000LL

/* Ids: 26 characters, lowercase (or uppercase for accounts and editors). */
#define ACC   "A0000000000000000000000001"
#define ACC2  "A0000000000000000000000002"
#define ACC9  "A0000000000000000000000009"
#define V1    "v0000000000000000000000001"
#define V2    "v0000000000000000000000002"
#define V9    "v0000000000000000000000009"
#define I1    "i0000000000000000000000001"
#define I2    "i0000000000000000000000002"
#define I9    "i0000000000000000000000009"
#define F1    "f0000000000000000000000001"
#define SA    "s0000000000000000000000001"
#define SB    "s0000000000000000000000002"
#define S9    "s0000000000000000000000009"
#define J1    "j0000000000000000000000001"
#define J2    "j0000000000000000000000002"
#define J9    "j0000000000000000000000009"
#define JWK   "{\"kty\":\"EC\"}"
#define WRAP  "{\"kty\":\"OKP\"}"
#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static char g_dir[64]; /* the temporary directory of this run */
static int g_pg;       /* 1: the stores are PostgreSQL databases (TEST_HUB_STORE=pg) */
static char g_pg_base[PGTEST_URL_MAX]; /* the test cluster's URL */
static int g_counter;                  /* database files made so far */
static int64_t g_now = T0;             /* the store's clock in every test */
static struct store *g_store;          /* the store of the current test */
static char g_path[PATH_MAX];          /* its file */

static unsigned char blob_a[] = {1, 2, 3};    /* base64url "AQID" */
static unsigned char blob_b[] = {4, 5, 6};    /* "BAUG" */
static unsigned char blob_c[] = {0xfb, 0xff}; /* "-_8" */

static int64_t test_clock(void *arg)
{
    (void)arg;
    return g_now;
}

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
    (void)snprintf(g_dir, sizeof(g_dir), "/tmp/sesame-store-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    return nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes a fresh database path (PostgreSQL: the URL of a new database) into g_path. */
static void next_path(void)
{
    if (g_pg) {
        assert_int_equal(pgtest_new_database(g_pg_base, g_path, sizeof(g_path)), 0);
        return;
    }
    (void)snprintf(g_path, sizeof(g_path), "%s/t%d.db", g_dir, ++g_counter);
}

static int reopen(void)
{
    char err[256];

    store_close(g_store);
    g_store = NULL;
    if (store_open(&g_store, g_path, err, sizeof(err)) != ERR_OK) {
        print_error("store_open: %s\n", err);
        return -1;
    }
    store_set_clock(g_store, test_clock, NULL);
    return 0;
}

static int fx_setup(void **state)
{
    (void)state;
    g_now = T0;
    next_path();
    return reopen();
}

static int fx_teardown(void **state)
{
    (void)state;
    store_close(g_store);
    g_store = NULL;
    return 0;
}

/* Helpers that build the common records. */
static void make_account(const char *id)
{
    struct store_account a = {.ac_admin_sign_jwk = JWK, .ac_admin_wrap_pub = WRAP};
    struct store_signing_key k = {.sk_kid = "k1", .sk_public_jwk = JWK};

    memcpy(a.ac_id, id, ID_LEN + 1);
    assert_int_equal(store_account_create(g_store, &a, &k), ERR_OK);
}

static void make_vault(const char *account, const char *id)
{
    struct store_vault v = {.va_attrs_ct = blob_a,
                            .va_attrs_ct_len = sizeof(blob_a),
                            .va_key_admin = blob_b,
                            .va_key_admin_len = sizeof(blob_b),
                            .va_type = "USER_CREATED"};

    memcpy(v.va_id, id, ID_LEN + 1);
    assert_int_equal(store_vault_create(g_store, account, &v), ERR_OK);
}

static enum err put_item(const char *vault, const char *id, unsigned char *ov, size_t ovlen,
                         uint64_t base, uint64_t *version)
{
    struct store_item it = {.it_category = "LOGIN",
                            .it_overview = ov,
                            .it_overview_len = ovlen,
                            .it_details = blob_b,
                            .it_details_len = sizeof(blob_b),
                            .it_last_edited_by = ACC};
    enum err e;

    memcpy(it.it_vault, vault, ID_LEN + 1);
    memcpy(it.it_id, id, ID_LEN + 1);
    e = store_item_put(g_store, ACC, &it, base);
    if (version)
        *version = it.it_version;
    return e;
}

static void make_server(const char *id, const char *name)
{
    struct store_server sv = {.se_name = name,
                              .se_sign_jwk = JWK,
                              .se_wrap_pub = WRAP,
                              .se_unlock_admin = (const unsigned char *)"UA",
                              .se_unlock_admin_len = 2};

    memcpy(sv.se_id, id, ID_LEN + 1);
    assert_int_equal(store_server_create(g_store, ACC, &sv), ERR_OK);
    assert_int_equal(sv.se_created_at, g_now);
}

static enum err grant(const char *server, const char *vault, unsigned char *key, size_t len)
{
    struct store_grant g = {.gr_key_wrapped = key, .gr_key_wrapped_len = len};

    memcpy(g.gr_server, server, ID_LEN + 1);
    memcpy(g.gr_vault, vault, ID_LEN + 1);
    return store_grant_put(g_store, ACC, &g);
}

static enum err register_token(const char *jti, const char *server)
{
    struct store_token t = {.tk_name = "ci",
                            .tk_vaults_json = "[{\"u\":\"" V1 "\",\"a\":1}]",
                            .tk_expires_at = T0 + 3600,
                            .tk_sha256 = SHA_A};

    memcpy(t.tk_jti, jti, ID_LEN + 1);
    memcpy(t.tk_server, server, ID_LEN + 1);
    return store_token_register(g_store, ACC, &t);
}

/* Reads every change of ACC after since (admin view, or as server). */
static size_t read_changes(uint64_t since, const char *server, struct store_change **out)
{
    uint64_t next = 0;
    size_t n = 0;

    assert_int_equal(
        store_changes_since(g_store, ACC, since, STORE_MAX_PAGE, server, out, &n, &next), ERR_OK);
    return n;
}

/* ---- Opening and migrations ---------------------------------------------------------- */

static void test_open_refusals(void **state)
{
    static const struct {
        const char *url;
        enum err want;
        const char *msg;
    } cases[] = {
        {"", ERR_CONFIG, "no database path given"},
        {"mysql://u@host/db", ERR_CONFIG,
         "unsupported database URL (use a path, sqlite:PATH or postgresql://)"},
        {":memory:", ERR_CONFIG, "the database must be a file path"},
        {"sqlite::memory:", ERR_CONFIG, "the database must be a file path"},
        {"sqlite:", ERR_CONFIG, "the database must be a file path"},
    };
    struct store *s = (struct store *)&s;
    char err[256], path[PATH_MAX + 8];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(store_open(&s, cases[i].url, err, sizeof(err)), cases[i].want);
        assert_null(s);
        assert_string_equal(err, cases[i].msg);
    }
    assert_int_equal(store_open(&s, NULL, err, sizeof(err)), ERR_CONFIG);
    {
        /* a PostgreSQL URL over STORE_URL_MAX_BYTES: refused before any connection */
        static char url[STORE_URL_MAX_BYTES + 32] = "postgresql://u@127.0.0.1/";

        memset(url + strlen(url), 'd', sizeof(url) - strlen(url) - 1);
        assert_int_equal(store_open(&s, url, err, sizeof(err)), ERR_CONFIG);
        assert_null(s);
        assert_string_equal(err, "the database URL is too long");
    }

    /* Two missing directory levels: only one is created. */
    (void)snprintf(path, sizeof(path), "%s/no/such/hub.db", g_dir);
    assert_int_equal(store_open(&s, path, err, sizeof(err)), ERR_IO);
    assert_null(s);
    assert_non_null(strstr(err, "cannot create the directory"));

    /* A directory is not a database. */
    assert_int_equal(store_open(&s, g_dir, err, sizeof(err)), ERR_IO);
    assert_non_null(strstr(err, "is not a regular file"));
}

static void test_open_foreign_files(void **state)
{
    static const char junk[] = "this is a text file, not a database, and it is long enough "
                               "to cover the header of one: 0123456789 0123456789 0123456789";
    struct store *s = NULL;
    sqlite3 *db;
    char err[256];
    FILE *f;

    (void)state;
    /* Not SQLite at all. */
    next_path();
    f = fopen(g_path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(junk, 1, sizeof(junk) - 1, f), sizeof(junk) - 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(store_open(&s, g_path, err, sizeof(err)), ERR_STORAGE);
    assert_null(s);
    assert_string_equal(err, "cannot use the database: file is not a database");

    /* Another application's SQLite database: refused and left as it was. */
    next_path();
    assert_int_equal(sqlite3_open(g_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x INTEGER)", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(store_open(&s, g_path, err, sizeof(err)), ERR_STORAGE);
    assert_string_equal(err, "not a Sesame hub database (it holds other tables)");

    next_path();
    assert_int_equal(sqlite3_open(g_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA application_id = 42", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(store_open(&s, g_path, err, sizeof(err)), ERR_STORAGE);
    assert_string_equal(err, "not a Sesame hub database (application_id 42)");
}

static int64_t pragma_int(const char *path, const char *sql)
{
    sqlite3_stmt *st;
    sqlite3 *db;
    int64_t v = -1;

    if (g_pg)
        return (int64_t)pgtest_query_int(path, sql);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void pragma_text(const char *path, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st;
    sqlite3 *db;

    out[0] = '\0';
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        (void)snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_open_creates_private_files(void **state)
{
    char dir[256], url[300], wal[PATH_MAX + 8], text[32], err[256];
    struct store *s = NULL;
    struct stat sb;

    (void)state;
    (void)snprintf(dir, sizeof(dir), "%s/fresh", g_dir);
    (void)snprintf(url, sizeof(url), "sqlite:%s/hub.db", dir);
    (void)snprintf(g_path, sizeof(g_path), "%s/hub.db", dir);
    (void)snprintf(wal, sizeof(wal), "%s-wal", g_path);
    assert_int_equal(store_open(&s, url, err, sizeof(err)), ERR_OK);
    assert_string_equal(err, "");
    g_store = s;
    store_set_clock(g_store, test_clock, NULL);
    make_account(ACC);

    assert_int_equal(stat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(stat(g_path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(stat(wal, &sb), 0); /* WAL mode: the write went to the -wal file */
    assert_int_equal(sb.st_mode & 0777, 0600);

    pragma_text(g_path, "PRAGMA journal_mode", text, sizeof(text));
    assert_string_equal(text, "wal");
    assert_int_equal(pragma_int(g_path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(pragma_int(g_path, "PRAGMA application_id"), 0x53455348);
    assert_int_equal(pragma_int(g_path, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
                                        " AND sql LIKE '%STRICT'"),
                     13); /* every table, hub_secrets included */

    store_close(g_store);
    g_store = NULL;
    /* Closing the last connection checkpoints and removes the WAL. */
    assert_int_equal(stat(wal, &sb), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_migration_reopen_keeps_data(void **state)
{
    struct store_account a;

    (void)state;
    make_account(ACC);
    make_vault(ACC, V1);
    assert_int_equal(reopen(), 0);
    assert_int_equal(reopen(), 0);
    assert_int_equal(store_account_get(g_store, ACC, &a), ERR_OK);
    assert_int_equal(a.ac_last_seq, 3);
    store_account_clear(&a);
    assert_int_equal(pragma_int(g_path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
}

static void test_migration_future_version_refused(void **state)
{
    struct store *s = NULL;
    char err[256], text[32];
    sqlite3 *db;

    (void)state;
    next_path();
    assert_int_equal(sqlite3_open(g_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "PRAGMA application_id = 1397052232; PRAGMA user_version = 99;"
                                  "CREATE TABLE future (x INTEGER);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    assert_int_equal(store_open(&s, g_path, err, sizeof(err)), ERR_STORAGE);
    assert_null(s);
    {
        char want[128];

        (void)snprintf(want, sizeof(want),
                       "the database schema version 99 is newer than this build supports (%d): "
                       "upgrade Sesame",
                       STORE_SCHEMA_VERSION);
        assert_string_equal(err, want);
    }
    /* Untouched: same version, not switched to WAL. */
    assert_int_equal(pragma_int(g_path, "PRAGMA user_version"), 99);
    pragma_text(g_path, "PRAGMA journal_mode", text, sizeof(text));
    assert_string_equal(text, "delete");
}

static void test_migration_failure_rolls_back(void **state)
{
    struct store *s = NULL;
    char err[256];
    sqlite3 *db;

    (void)state;
    /* Ours by application_id, version 0, but a table in the way of migration 1's last one. */
    next_path();
    assert_int_equal(sqlite3_open(g_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "PRAGMA application_id = 1397052232;"
                                  "CREATE TABLE sessions (x INTEGER);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    assert_int_equal(store_open(&s, g_path, err, sizeof(err)), ERR_STORAGE);
    assert_null(s);
    assert_string_equal(err, "migration to schema version 1 failed: table sessions already exists");
    assert_int_equal(pragma_int(g_path, "PRAGMA user_version"), 0);
    assert_int_equal(
        pragma_int(g_path, "SELECT count(*) FROM sqlite_schema WHERE name = 'accounts'"), 0);
    assert_int_equal(
        pragma_int(g_path, "SELECT count(*) FROM sqlite_schema WHERE name = 'sessions'"), 1);
}

/* ---- Accounts and signing keys -------------------------------------------------------- */

static void test_accounts(void **state)
{
    struct store_account a = {.ac_admin_sign_jwk = JWK, .ac_admin_wrap_pub = WRAP}, got;
    struct store_signing_key k = {.sk_kid = "k1", .sk_public_jwk = JWK};
    struct store_change *ch;
    size_t n;

    int any = -1;

    (void)state;
    assert_int_equal(store_account_any(g_store, &any), ERR_OK);
    assert_int_equal(any, 0);
    memcpy(a.ac_id, ACC, ID_LEN + 1);
    assert_int_equal(store_account_create_first(g_store, &a, &k), ERR_OK);
    assert_int_equal(store_account_any(g_store, &any), ERR_OK);
    assert_int_equal(any, 1);
    g_now = T0 + 5;
    assert_int_equal(store_account_create(g_store, &a, &k), ERR_CONFLICT);
    /* Only the first: once an account exists, this one or another is refused, unchanged. */
    assert_int_equal(store_account_create_first(g_store, &a, &k), ERR_FORBIDDEN);
    memcpy(a.ac_id, ACC2, ID_LEN + 1);
    assert_int_equal(store_account_create_first(g_store, &a, &k), ERR_FORBIDDEN);
    assert_int_equal(store_account_get(g_store, ACC2, &got), ERR_NOT_FOUND);
    assert_int_equal(store_last_seq(g_store, ACC), 2);
    memcpy(a.ac_id, ACC, ID_LEN + 1);

    assert_int_equal(store_account_get(g_store, ACC, &got), ERR_OK);
    assert_string_equal(got.ac_id, ACC);
    assert_string_equal(got.ac_admin_sign_jwk, JWK);
    assert_string_equal(got.ac_admin_wrap_pub, WRAP);
    assert_int_equal(got.ac_created_at, T0);
    assert_int_equal(got.ac_last_seq, 2);
    store_account_clear(&got);
    assert_null(got.ac_admin_sign_jwk);

    assert_int_equal(store_account_get(g_store, ACC9, &got), ERR_NOT_FOUND);
    assert_null(got.ac_admin_sign_jwk);
    assert_int_equal(store_account_get(g_store, "a0000000000000000000000001", &got), ERR_BAD_INPUT);
    assert_int_equal(store_last_seq(g_store, ACC), 2);
    assert_int_equal(store_last_seq(g_store, ACC9), 0);

    /* Malformed arguments. */
    memcpy(a.ac_id, ACC2, ID_LEN + 1);
    a.ac_admin_sign_jwk = "";
    assert_int_equal(store_account_create(g_store, &a, &k), ERR_BAD_INPUT);
    a.ac_admin_sign_jwk = JWK;
    memcpy(k.sk_kid, "bad kid", 8);
    assert_int_equal(store_account_create(g_store, &a, &k), ERR_BAD_INPUT);
    assert_int_equal(store_account_create(g_store, &a, NULL), ERR_BAD_INPUT);
    memcpy(a.ac_id, "a0000000000000000000000002", ID_LEN + 1);
    memcpy(k.sk_kid, "k1", 3);
    assert_int_equal(store_account_create(g_store, &a, &k), ERR_BAD_INPUT);
    assert_int_equal(store_last_seq(g_store, ACC2), 0);

    n = read_changes(0, NULL, &ch);
    assert_int_equal(n, 2);
    assert_int_equal(ch[0].ch_seq, 1);
    assert_int_equal(ch[0].ch_kind, STORE_CHANGE_ACCOUNT_CREATE);
    assert_string_equal(ch[0].ch_ref, ACC);
    assert_string_equal(ch[0].ch_vault, "");
    assert_string_equal(ch[0].ch_payload, "{\"id\":\"" ACC "\",\"createdAt\":1700000000}");
    assert_int_equal(ch[0].ch_committed_at, T0);
    assert_int_equal(ch[1].ch_seq, 2);
    assert_int_equal(ch[1].ch_kind, STORE_CHANGE_SIGNING_KEY_ADD);
    assert_string_equal(ch[1].ch_ref, "k1");
    assert_string_equal(ch[1].ch_payload,
                        "{\"kid\":\"k1\",\"publicJwk\":\"{\\\"kty\\\":\\\"EC\\\"}\","
                        "\"createdAt\":1700000000}");
    store_change_list_free(ch, n);
}

static void test_signing_keys(void **state)
{
    struct store_signing_key k2 = {.sk_kid = "k2.rotated-1_x", .sk_public_jwk = "{\"k\":2}"};
    struct store_signing_key *v;
    struct store_change *ch;
    size_t n;

    (void)state;
    make_account(ACC);
    g_now = T0 + 10;
    assert_int_equal(store_signing_key_add(g_store, ACC, &k2), ERR_OK);
    assert_int_equal(store_signing_key_add(g_store, ACC, &k2), ERR_CONFLICT);
    assert_int_equal(store_signing_key_add(g_store, ACC9, &k2), ERR_NOT_FOUND);
    assert_int_equal(store_last_seq(g_store, ACC), 3);

    g_now = T0 + 20;
    assert_int_equal(store_signing_key_retire(g_store, ACC, "k1"), ERR_OK);
    g_now = T0 + 30;
    assert_int_equal(store_signing_key_retire(g_store, ACC, "k1"), ERR_OK); /* no second change */
    assert_int_equal(store_signing_key_retire(g_store, ACC, "k9"), ERR_NOT_FOUND);
    assert_int_equal(store_signing_key_retire(g_store, ACC, ""), ERR_BAD_INPUT);
    assert_int_equal(store_last_seq(g_store, ACC), 4);

    assert_int_equal(store_signing_key_list(g_store, ACC, &v, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].sk_kid, "k1");
    assert_string_equal(v[0].sk_public_jwk, JWK);
    assert_int_equal(v[0].sk_created_at, T0);
    assert_int_equal(v[0].sk_retired_at, T0 + 20);
    assert_string_equal(v[1].sk_kid, "k2.rotated-1_x");
    assert_string_equal(v[1].sk_public_jwk, "{\"k\":2}");
    assert_int_equal(v[1].sk_created_at, T0 + 10);
    assert_int_equal(v[1].sk_retired_at, 0);
    store_signing_key_list_free(v, n);
    assert_int_equal(store_signing_key_list(g_store, ACC9, &v, &n), ERR_NOT_FOUND);
    assert_null(v);
    assert_int_equal(n, 0);

    n = read_changes(2, NULL, &ch);
    assert_int_equal(n, 2);
    assert_int_equal(ch[0].ch_kind, STORE_CHANGE_SIGNING_KEY_ADD);
    assert_int_equal(ch[1].ch_kind, STORE_CHANGE_SIGNING_KEY_RETIRE);
    assert_string_equal(ch[1].ch_ref, "k1");
    assert_string_equal(ch[1].ch_payload, "{\"kid\":\"k1\",\"retiredAt\":1700000020}");
    store_change_list_free(ch, n);
}

/* ---- Vaults ---------------------------------------------------------------------------- */

static void test_vaults(void **state)
{
    struct store_vault v = {.va_attrs_ct = blob_a,
                            .va_attrs_ct_len = sizeof(blob_a),
                            .va_key_admin = blob_b,
                            .va_key_admin_len = sizeof(blob_b),
                            .va_type = "USER_CREATED"},
                       got, *list;
    struct store_change *ch;
    uint64_t av = 0;
    size_t n;

    (void)state;
    make_account(ACC);
    memcpy(v.va_id, V1, ID_LEN + 1);
    g_now = T0 + 1;
    assert_int_equal(store_vault_create(g_store, ACC, &v), ERR_OK);
    assert_int_equal(v.va_attribute_version, 1);
    assert_int_equal(v.va_content_version, 1);
    assert_int_equal(v.va_created_at, T0 + 1);
    assert_int_equal(v.va_updated_at, T0 + 1);
    assert_int_equal(store_vault_create(g_store, ACC, &v), ERR_CONFLICT);
    assert_int_equal(store_vault_create(g_store, ACC9, &v), ERR_NOT_FOUND);
    memcpy(v.va_type, "lower", 6);
    assert_int_equal(store_vault_create(g_store, ACC, &v), ERR_BAD_INPUT);
    memcpy(v.va_type, "USER_CREATED", 13);
    v.va_attrs_ct_len = 0;
    assert_int_equal(store_vault_create(g_store, ACC, &v), ERR_BAD_INPUT);
    make_vault(ACC, V2);

    assert_int_equal(store_vault_get(g_store, ACC, V1, &got), ERR_OK);
    assert_string_equal(got.va_id, V1);
    assert_int_equal(got.va_attrs_ct_len, 3);
    assert_memory_equal(got.va_attrs_ct, blob_a, 3);
    assert_int_equal(got.va_key_admin_len, 3);
    assert_memory_equal(got.va_key_admin, blob_b, 3);
    assert_string_equal(got.va_type, "USER_CREATED");
    assert_int_equal(got.va_attribute_version, 1);
    assert_int_equal(got.va_content_version, 1);
    assert_int_equal(got.va_items, 0);
    store_vault_clear(&got);
    assert_int_equal(store_vault_get(g_store, ACC, V9, &got), ERR_NOT_FOUND);
    assert_int_equal(store_vault_get(g_store, ACC2, V1, &got), ERR_NOT_FOUND);

    g_now = T0 + 7;
    assert_int_equal(store_vault_update_attrs(g_store, ACC, V1, blob_c, sizeof(blob_c), &av),
                     ERR_OK);
    assert_int_equal(av, 2);
    assert_int_equal(store_vault_update_attrs(g_store, ACC, V9, blob_c, sizeof(blob_c), &av),
                     ERR_NOT_FOUND);
    assert_int_equal(av, 0);
    assert_int_equal(store_vault_update_attrs(g_store, ACC, V1, NULL, 0, NULL), ERR_BAD_INPUT);

    assert_int_equal(store_vault_list(g_store, ACC, &list, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].va_id, V1);
    assert_int_equal(list[0].va_attribute_version, 2);
    assert_int_equal(list[0].va_attrs_ct_len, 2);
    assert_memory_equal(list[0].va_attrs_ct, blob_c, 2);
    assert_int_equal(list[0].va_created_at, T0 + 1);
    assert_int_equal(list[0].va_updated_at, T0 + 7);
    assert_string_equal(list[1].va_id, V2);
    store_vault_list_free(list, n);
    assert_int_equal(store_vault_list(g_store, ACC9, &list, &n), ERR_NOT_FOUND);

    assert_int_equal(store_vault_delete(g_store, ACC, V2), ERR_OK);
    assert_int_equal(store_vault_delete(g_store, ACC, V2), ERR_NOT_FOUND);
    assert_int_equal(store_vault_get(g_store, ACC, V2, &got), ERR_NOT_FOUND);
    assert_int_equal(store_vault_update_attrs(g_store, ACC, V2, blob_c, sizeof(blob_c), NULL),
                     ERR_NOT_FOUND);
    memcpy(v.va_id, V2, ID_LEN + 1);
    v.va_attrs_ct_len = sizeof(blob_a);
    assert_int_equal(store_vault_create(g_store, ACC, &v), ERR_CONFLICT); /* ids are not reused */
    assert_int_equal(store_vault_list(g_store, ACC, &list, &n), ERR_OK);
    assert_int_equal(n, 1);
    store_vault_list_free(list, n);

    /* 1 account, 2 key, 3 V1, 4 V2, 5 V1 update, 6 V2 delete. */
    n = read_changes(2, NULL, &ch);
    assert_int_equal(n, 4);
    assert_int_equal(ch[0].ch_kind, STORE_CHANGE_VAULT_CREATE);
    assert_string_equal(ch[0].ch_vault, V1);
    assert_string_equal(ch[0].ch_ref, V1);
    assert_int_equal(ch[0].ch_superseded_by, 5);
    assert_string_equal(ch[0].ch_payload, "{\"supersededBy\":5}");
    assert_int_equal(ch[2].ch_kind, STORE_CHANGE_VAULT_UPDATE);
    assert_string_equal(ch[2].ch_payload,
                        "{\"id\":\"" V1 "\",\"type\":\"USER_CREATED\",\"attrs\":\"-_8\","
                        "\"attributeVersion\":2,\"contentVersion\":1,\"createdAt\":1700000001,"
                        "\"updatedAt\":1700000007}");
    assert_int_equal(ch[1].ch_kind, STORE_CHANGE_VAULT_CREATE);
    assert_int_equal(ch[1].ch_superseded_by, 6);
    assert_int_equal(ch[3].ch_kind, STORE_CHANGE_VAULT_DELETE);
    assert_string_equal(ch[3].ch_payload,
                        "{\"id\":\"" V2 "\",\"contentVersion\":2,\"deletedAt\":1700000007}");
    store_change_list_free(ch, n);
}

/* ---- Items ----------------------------------------------------------------------------- */

static void test_items(void **state)
{
    struct store_item it, *list;
    struct store_vault v;
    struct store_change *ch;
    uint64_t ver = 0, seq;
    size_t n;

    (void)state;
    make_account(ACC);
    make_vault(ACC, V1);
    g_now = T0 + 1;
    assert_int_equal(put_item(V1, I1, blob_a, sizeof(blob_a), 0, &ver), ERR_OK);
    assert_int_equal(ver, 1);
    g_now = T0 + 2;
    assert_int_equal(put_item(V1, I2, blob_c, sizeof(blob_c), 0, &ver), ERR_OK);
    assert_int_equal(ver, 1);
    g_now = T0 + 3;
    assert_int_equal(put_item(V1, I1, blob_c, sizeof(blob_c), 0, &ver), ERR_OK); /* last wins */
    assert_int_equal(ver, 2);
    assert_int_equal(put_item(V1, I1, blob_a, sizeof(blob_a), 2, &ver), ERR_OK); /* base matches */
    assert_int_equal(ver, 3);

    /* Stale or impossible bases change nothing. */
    seq = store_last_seq(g_store, ACC);
    assert_int_equal(put_item(V1, I1, blob_b, sizeof(blob_b), 2, &ver), ERR_CONFLICT);
    assert_int_equal(ver, 0);
    assert_int_equal(put_item(V1, I1, blob_b, sizeof(blob_b), 4, &ver), ERR_CONFLICT);
    assert_int_equal(put_item(V1, I9, blob_b, sizeof(blob_b), 1, &ver), ERR_CONFLICT);
    assert_int_equal(put_item(V9, I1, blob_b, sizeof(blob_b), 0, &ver), ERR_NOT_FOUND);
    /* a create (STORE_BASE_NEW) of a used id: its content is sealed for version 1 */
    assert_int_equal(put_item(V1, I1, blob_b, sizeof(blob_b), STORE_BASE_NEW, &ver), ERR_CONFLICT);
    assert_int_equal(ver, 0);
    assert_int_equal(store_last_seq(g_store, ACC), seq);

    assert_int_equal(store_item_get(g_store, ACC, V1, I1, &it), ERR_OK);
    assert_string_equal(it.it_id, I1);
    assert_string_equal(it.it_vault, V1);
    assert_int_equal(it.it_version, 3);
    assert_string_equal(it.it_state, "");
    assert_string_equal(it.it_category, "LOGIN");
    assert_int_equal(it.it_overview_len, 3);
    assert_memory_equal(it.it_overview, blob_a, 3);
    assert_int_equal(it.it_details_len, 3);
    assert_memory_equal(it.it_details, blob_b, 3);
    assert_int_equal(it.it_created_at, T0 + 1);
    assert_int_equal(it.it_updated_at, T0 + 3);
    assert_string_equal(it.it_last_edited_by, ACC);
    store_item_clear(&it);
    assert_int_equal(store_item_get(g_store, ACC, V1, I9, &it), ERR_NOT_FOUND);
    assert_int_equal(store_item_get(g_store, ACC, V1, "I0000000000000000000000001", &it),
                     ERR_BAD_INPUT);

    assert_int_equal(store_item_list(g_store, ACC, V1, &list, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].it_id, I1);
    assert_int_equal(list[0].it_version, 3);
    assert_memory_equal(list[0].it_overview, blob_a, 3);
    assert_null(list[0].it_details);
    assert_int_equal(list[0].it_details_len, 0);
    assert_string_equal(list[1].it_id, I2);
    assert_string_equal(list[1].it_vault, V1);
    assert_int_equal(list[1].it_overview_len, 2);
    store_item_list_free(list, n);
    assert_int_equal(store_item_list(g_store, ACC, V9, &list, &n), ERR_NOT_FOUND);

    /* the full listing carries each item's details, as store_item_get does */
    assert_int_equal(store_item_list_full(g_store, ACC, V1, &list, &n), ERR_OK);
    assert_int_equal(n, 2);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(store_item_get(g_store, ACC, V1, list[k].it_id, &it), ERR_OK);
        assert_int_equal(list[k].it_version, it.it_version);
        assert_int_equal(list[k].it_details_len, it.it_details_len);
        assert_non_null(list[k].it_details);
        assert_memory_equal(list[k].it_details, it.it_details, it.it_details_len);
        assert_memory_equal(list[k].it_overview, it.it_overview, it.it_overview_len);
        store_item_clear(&it);
    }
    store_item_list_free(list, n);
    assert_int_equal(store_item_list_full(g_store, ACC, V9, &list, &n), ERR_NOT_FOUND);

    assert_int_equal(store_vault_get(g_store, ACC, V1, &v), ERR_OK);
    assert_int_equal(v.va_content_version, 5); /* 1 + four puts */
    assert_int_equal(v.va_items, 2);
    assert_int_equal(v.va_updated_at, T0 + 3);
    store_vault_clear(&v);

    /* Delete, then put again: versions continue. */
    g_now = T0 + 4;
    assert_int_equal(store_item_delete(g_store, ACC, V1, I1, SA), ERR_BAD_INPUT); /* lowercase */
    /* a delete with a stale base version changes nothing; with the current one it works */
    assert_int_equal(store_item_get(g_store, ACC, V1, I1, &it), ERR_OK);
    {
        uint64_t cur = it.it_version, last = store_last_seq(g_store, ACC);

        store_item_clear(&it);
        assert_int_equal(store_item_delete_version(g_store, ACC, V1, I1, ACC2, cur + 7),
                         ERR_CONFLICT);
        assert_int_equal(store_last_seq(g_store, ACC), last);
        assert_int_equal(store_item_delete_version(g_store, ACC, V1, I9, ACC2, 1), ERR_NOT_FOUND);
        assert_int_equal(store_item_delete_version(g_store, ACC, V1, I1, ACC2, cur), ERR_OK);
        assert_int_equal(store_item_get(g_store, ACC, V1, I1, &it), ERR_NOT_FOUND);
    }
    assert_int_equal(store_item_delete(g_store, ACC, V1, I1, NULL), ERR_NOT_FOUND);
    assert_int_equal(store_item_get(g_store, ACC, V1, I1, &it), ERR_NOT_FOUND);
    assert_int_equal(put_item(V1, I1, blob_b, sizeof(blob_b), 4, &ver), ERR_CONFLICT);
    /* a deleted id is used too: a create cannot take it (it would be version 5) */
    assert_int_equal(put_item(V1, I1, blob_b, sizeof(blob_b), STORE_BASE_NEW, &ver), ERR_CONFLICT);
    assert_int_equal(put_item(V1, I1, blob_b, sizeof(blob_b), 0, &ver), ERR_OK);
    assert_int_equal(ver, 5);
    assert_int_equal(store_item_get(g_store, ACC, V1, I1, &it), ERR_OK);
    assert_int_equal(it.it_created_at, T0 + 1);
    store_item_clear(&it);

    /* Malformed items. */
    memset(&it, 0, sizeof(it));
    memcpy(it.it_id, I9, ID_LEN + 1);
    memcpy(it.it_vault, V1, ID_LEN + 1);
    memcpy(it.it_category, "login", 6);
    it.it_overview = blob_a;
    it.it_overview_len = 3;
    it.it_details = blob_b;
    it.it_details_len = 3;
    assert_int_equal(store_item_put(g_store, ACC, &it, 0), ERR_BAD_INPUT);
    memcpy(it.it_category, "LOGIN", 6);
    memcpy(it.it_state, "archived", 9);
    assert_int_equal(store_item_put(g_store, ACC, &it, 0), ERR_BAD_INPUT);
    memcpy(it.it_state, "ARCHIVED", 9);
    it.it_details_len = 0;
    assert_int_equal(store_item_put(g_store, ACC, &it, 0), ERR_BAD_INPUT);
    it.it_details_len = 3;
    assert_int_equal(store_item_put(g_store, ACC, &it, STORE_BASE_NEW), ERR_OK); /* unused id */
    assert_int_equal(it.it_version, 1);

    /* Payloads: 3 V1, 4 I1 v1, 5 I2, 6 I1 v2, 7 I1 v3, 8 I1 delete, 9 I1 v5, 10 I9. */
    n = read_changes(3, NULL, &ch);
    assert_int_equal(n, 7);
    assert_int_equal(ch[0].ch_seq, 4);
    assert_int_equal(ch[0].ch_superseded_by, 6);
    assert_int_equal(ch[1].ch_seq, 5);
    assert_string_equal(ch[1].ch_payload,
                        "{\"id\":\"" I2 "\",\"vault\":\"" V1 "\",\"version\":1,"
                        "\"vaultContentVersion\":3,\"state\":\"\","
                        "\"category\":\"LOGIN\",\"overview\":\"-_8\",\"details\":\"BAUG\","
                        "\"createdAt\":1700000002,\"updatedAt\":1700000002,"
                        "\"lastEditedBy\":\"" ACC "\"}");
    assert_int_equal(ch[2].ch_superseded_by, 7);
    assert_int_equal(ch[3].ch_superseded_by, 8);
    assert_int_equal(ch[4].ch_kind, STORE_CHANGE_ITEM_DELETE);
    assert_int_equal(ch[4].ch_superseded_by, 9);
    assert_int_equal(ch[5].ch_kind, STORE_CHANGE_ITEM_PUT);
    assert_int_equal(ch[5].ch_superseded_by, 0);
    assert_non_null(strstr(ch[5].ch_payload, "\"version\":5,"));
    assert_string_equal(ch[6].ch_ref, I9);
    assert_non_null(strstr(ch[6].ch_payload, "\"state\":\"ARCHIVED\""));
    assert_non_null(strstr(ch[6].ch_payload, "\"lastEditedBy\":\"\"}"));
    store_change_list_free(ch, n);

    /* The delete payload, read before anything superseded it, in a second account run. */
    g_now = T0 + 9;
    assert_int_equal(store_item_delete(g_store, ACC, V1, I2, NULL), ERR_OK);
    n = read_changes(10, NULL, &ch);
    assert_int_equal(n, 1);
    assert_string_equal(ch[0].ch_payload, "{\"id\":\"" I2 "\",\"vault\":\"" V1 "\",\"version\":2,"
                                          "\"vaultContentVersion\":9,"
                                          "\"updatedAt\":1700000009,\"lastEditedBy\":\"\"}");
    store_change_list_free(ch, n);
}

/* Writes paged item number i ("p" and 25 digits) into out. */
static void page_id(unsigned i, char out[ID_LEN + 1])
{
    (void)snprintf(out, ID_LEN + 1, "p%025u", i);
}

/* Reads one page and checks its ids are first..: want[0..nwant) numbers, and more. */
static void expect_page(const char *after, size_t limit, size_t max_bytes, const unsigned *want,
                        size_t nwant, int want_more)
{
    struct store_item *list = NULL, it;
    char id[ID_LEN + 1];
    size_t n = 99, k;
    int more = 9;

    assert_int_equal(store_item_page(g_store, ACC, V1, after, limit, max_bytes, &list, &n, &more),
                     ERR_OK);
    assert_int_equal(n, nwant);
    assert_int_equal(more, want_more);
    for (k = 0; k < n; k++) {
        page_id(want[k], id);
        assert_string_equal(list[k].it_id, id);
        assert_string_equal(list[k].it_vault, V1);
        /* the whole record, details included, as store_item_get reads it */
        assert_int_equal(store_item_get(g_store, ACC, V1, id, &it), ERR_OK);
        assert_int_equal(list[k].it_version, it.it_version);
        assert_string_equal(list[k].it_category, it.it_category);
        assert_string_equal(list[k].it_last_edited_by, it.it_last_edited_by);
        assert_int_equal(list[k].it_updated_at, it.it_updated_at);
        assert_int_equal(list[k].it_overview_len, it.it_overview_len);
        assert_memory_equal(list[k].it_overview, it.it_overview, it.it_overview_len);
        assert_non_null(list[k].it_details);
        assert_int_equal(list[k].it_details_len, it.it_details_len);
        assert_memory_equal(list[k].it_details, it.it_details, it.it_details_len);
        store_item_clear(&it);
    }
    store_item_list_free(list, n);
}

/* store_item_page: id order, the cursor, both limits, tombstones and other vaults skipped,
 * the last page, an empty vault, refusals, and a plan on the primary key. */
static void test_item_pages(void **state)
{
    static const unsigned order[] = {5, 2, 7, 1, 6, 3, 4}; /* written out of id order */
    /* pages follow the order of writing (5 is deleted below): 2 7 1 6 3 4 */
    static const unsigned p271[] = {2, 7, 1}, p634[] = {6, 3, 4}, p27[] = {2, 7}, p63[] = {6, 3},
                          p16[] = {1, 6}, p34[] = {3, 4}, p2[] = {2}, p4[] = {4},
                          all[] = {2, 7, 1, 6, 3, 4};
    struct store_item *list = (struct store_item *)1;
    char id[ID_LEN + 1], id1[ID_LEN + 1], id5[ID_LEN + 1];
    size_t n = 9, k;
    int more = 9;

    (void)state;
    make_account(ACC);
    make_vault(ACC, V1);
    make_vault(ACC, V2);
    /* empty: one empty last page */
    assert_int_equal(store_item_page(g_store, ACC, V1, NULL, 10, 0, &list, &n, &more), ERR_OK);
    assert_null(list);
    assert_int_equal(n, 0);
    assert_int_equal(more, 0);
    for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        page_id(order[k], id);
        assert_int_equal(put_item(V1, id, blob_a, sizeof(blob_a), 0, NULL), ERR_OK);
    }
    page_id(9, id);
    assert_int_equal(put_item(V2, id, blob_a, sizeof(blob_a), 0, NULL), ERR_OK); /* other vault */
    page_id(1, id1);
    page_id(5, id5);
    assert_int_equal(store_item_delete(g_store, ACC, V1, id5, ACC), ERR_OK); /* a tombstone */
    /* an update keeps an item's place */
    page_id(7, id);
    assert_int_equal(put_item(V1, id, blob_b, sizeof(blob_b), 1, NULL), ERR_OK);

    /* by count: a full page says more; the last page, full or not, does not */
    expect_page(NULL, 3, 0, p271, 3, 1);
    expect_page(id1, 3, 0, p634, 3, 0);
    expect_page("", 6, 0, all, 6, 0);
    expect_page(NULL, STORE_MAX_PAGE, 0, all, 6, 0);
    page_id(4, id);
    expect_page(id, 3, 0, NULL, 0, 0); /* after the last */
    expect_page(id5, 1, 0, p2, 1, 1);  /* after a deleted item: its place holds */
    page_id(0, id);
    assert_int_equal(store_item_page(g_store, ACC, V1, id, 1, 0, &list, &n, &more),
                     ERR_NOT_FOUND); /* not an item of the vault */
    page_id(9, id);
    assert_int_equal(store_item_page(g_store, ACC, V1, id, 1, 0, &list, &n, &more),
                     ERR_NOT_FOUND); /* an item of another vault */
    /* by bytes: each item holds 3 + 3 bytes of ciphertext */
    expect_page(NULL, 100, 12, p27, 2, 1);
    expect_page(NULL, 100, 17, p27, 2, 1);
    expect_page(id1, 100, 12, p63, 2, 1);
    page_id(7, id);
    expect_page(id, 100, 13, p16, 2, 1);
    page_id(6, id);
    expect_page(id, 100, 1000, p34, 2, 0);
    expect_page(NULL, 100, 1, p2, 1, 1); /* one item always, however large */
    page_id(3, id);
    expect_page(id, 100, 1, p4, 1, 0);

    /* refusals */
    assert_int_equal(store_item_page(g_store, ACC, V1, NULL, 0, 0, &list, &n, &more),
                     ERR_BAD_INPUT);
    assert_null(list);
    assert_int_equal(n, 0);
    assert_int_equal(more, 0);
    assert_int_equal(
        store_item_page(g_store, ACC, V1, NULL, STORE_MAX_PAGE + 1, 0, &list, &n, &more),
        ERR_BAD_INPUT);
    assert_int_equal(
        store_item_page(g_store, ACC, V1, "P0000000000000000000000001", 5, 0, &list, &n, &more),
        ERR_BAD_INPUT);
    assert_int_equal(store_item_page(g_store, ACC, V1, "short", 5, 0, &list, &n, &more),
                     ERR_BAD_INPUT);
    assert_int_equal(store_item_page(g_store, ACC, V1, NULL, 5, 0, &list, &n, NULL), ERR_BAD_INPUT);
    assert_int_equal(
        store_item_page(g_store, "a0000000000000000000000001", V1, NULL, 5, 0, &list, &n, &more),
        ERR_BAD_INPUT);
    assert_int_equal(store_item_page(g_store, ACC, V9, NULL, 5, 0, &list, &n, &more),
                     ERR_NOT_FOUND);
    assert_int_equal(store_item_page(g_store, ACC2, V1, NULL, 5, 0, &list, &n, &more),
                     ERR_NOT_FOUND);
    assert_int_equal(store_vault_delete(g_store, ACC, V2), ERR_OK);
    assert_int_equal(store_item_page(g_store, ACC, V2, NULL, 5, 0, &list, &n, &more),
                     ERR_NOT_FOUND);
}

/* ---- Files ----------------------------------------------------------------------------- */

static void test_files(void **state)
{
    unsigned char content[] = "ciphertext of a file";
    struct store_file f = {.fi_size = 7, .fi_content = content, .fi_content_len = sizeof(content)};
    struct store_file got;
    struct store_change *ch;
    uint64_t seq;
    size_t n;

    (void)state;
    make_account(ACC);
    make_vault(ACC, V1);
    memcpy(f.fi_id, F1, ID_LEN + 1);
    memcpy(f.fi_vault, V1, ID_LEN + 1);
    assert_int_equal(hash_sha256(f.fi_sha256, content, sizeof(content)), ERR_OK);
    g_now = T0 + 4;
    assert_int_equal(store_file_put(g_store, ACC, &f), ERR_OK);
    seq = store_last_seq(g_store, ACC);
    g_now = T0 + 5;
    assert_int_equal(store_file_put(g_store, ACC, &f), ERR_OK); /* same digest: no change */
    assert_int_equal(store_last_seq(g_store, ACC), seq);

    assert_int_equal(store_file_get(g_store, ACC, V1, F1, &got), ERR_OK);
    assert_string_equal(got.fi_id, F1);
    assert_string_equal(got.fi_vault, V1);
    assert_int_equal(got.fi_size, 7);
    assert_int_equal(got.fi_content_len, sizeof(content));
    assert_memory_equal(got.fi_content, content, sizeof(content));
    assert_memory_equal(got.fi_sha256, f.fi_sha256, 32);
    assert_int_equal(got.fi_created_at, T0 + 4);
    store_file_clear(&got);
    assert_int_equal(store_file_exists(g_store, ACC, V1, F1, NULL), ERR_OK);
    assert_int_equal(store_file_exists(g_store, ACC, V1, F1, &got), ERR_OK);
    assert_null(got.fi_content);
    assert_int_equal(got.fi_size, 7);
    assert_memory_equal(got.fi_sha256, f.fi_sha256, 32);
    store_file_clear(&got);
    assert_int_equal(store_file_exists(g_store, ACC, V1, I9, NULL), ERR_NOT_FOUND);
    assert_int_equal(store_file_get(g_store, ACC, V9, F1, &got), ERR_NOT_FOUND);
    assert_null(got.fi_content);

    /* Another content under the same id; a wrong digest; a missing vault. */
    content[0] = 'C';
    assert_int_equal(store_file_put(g_store, ACC, &f), ERR_BAD_INPUT);
    assert_int_equal(hash_sha256(f.fi_sha256, content, sizeof(content)), ERR_OK);
    assert_int_equal(store_file_put(g_store, ACC, &f), ERR_CONFLICT);
    memcpy(f.fi_vault, V9, ID_LEN + 1);
    assert_int_equal(store_file_put(g_store, ACC, &f), ERR_NOT_FOUND);
    assert_int_equal(store_last_seq(g_store, ACC), seq);

    n = read_changes(3, NULL, &ch);
    assert_int_equal(n, 1);
    assert_int_equal(ch[0].ch_kind, STORE_CHANGE_FILE_PUT);
    assert_string_equal(ch[0].ch_vault, V1);
    assert_string_equal(ch[0].ch_ref, F1);
    assert_string_equal(ch[0].ch_payload,
                        "{\"id\":\"" F1 "\",\"vault\":\"" V1 "\",\"size\":7,\"sha256\":"
                        "\"08636caea8042d8c14e676487b39212ecaba1f552d05a52b6807fa7b94fa5aa5\","
                        "\"createdAt\":1700000004}");
    store_change_list_free(ch, n);
}

/* ---- Servers and grants ---------------------------------------------------------------- */

static void test_servers_and_grants(void **state)
{
    struct store_server sv = {.se_name = "prod",
                              .se_sign_jwk = JWK,
                              .se_wrap_pub = WRAP,
                              .se_unlock_admin = (const unsigned char *)"unlock-ct",
                              .se_unlock_admin_len = 9},
                        got, *list;
    struct store_grant *g;
    size_t n;

    (void)state;
    make_account(ACC);
    make_vault(ACC, V1);
    make_vault(ACC, V2);
    memcpy(sv.se_id, SA, ID_LEN + 1);
    g_now = T0 + 1;
    assert_int_equal(store_server_create(g_store, ACC, &sv), ERR_OK);
    assert_int_equal(sv.se_created_at, T0 + 1);
    assert_int_equal(store_server_create(g_store, ACC, &sv), ERR_CONFLICT);
    assert_int_equal(store_server_create(g_store, ACC9, &sv), ERR_NOT_FOUND);
    sv.se_name = "";
    assert_int_equal(store_server_create(g_store, ACC, &sv), ERR_BAD_INPUT);
    sv.se_name = "prod";
    sv.se_unlock_admin_len = 0; /* unlockAdmin is required */
    memcpy(sv.se_id, SB, ID_LEN + 1);
    assert_int_equal(store_server_create(g_store, ACC, &sv), ERR_BAD_INPUT);
    sv.se_unlock_admin_len = 9;
    memcpy(sv.se_id, SA, ID_LEN + 1);
    make_server(SB, "staging");

    assert_int_equal(store_server_get(g_store, ACC, SA, &got), ERR_OK);
    assert_string_equal(got.se_id, SA);
    assert_string_equal(got.se_name, "prod");
    assert_string_equal(got.se_sign_jwk, JWK);
    assert_string_equal(got.se_wrap_pub, WRAP);
    assert_int_equal(got.se_unlock_admin_len, 9);
    assert_memory_equal(got.se_unlock_admin, "unlock-ct", 9);
    assert_int_equal(got.se_created_at, T0 + 1);
    store_server_clear(&got);
    assert_int_equal(store_server_get(g_store, ACC, S9, &got), ERR_NOT_FOUND);
    assert_int_equal(store_server_list(g_store, ACC, &list, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].se_id, SA);
    assert_string_equal(list[1].se_name, "staging");
    assert_int_equal(list[1].se_unlock_admin_len, 2);
    assert_memory_equal(list[1].se_unlock_admin, "UA", 2);
    store_server_list_free(list, n);

    g_now = T0 + 2;
    assert_int_equal(grant(SA, V1, blob_a, sizeof(blob_a)), ERR_OK);
    assert_int_equal(grant(SA, V2, blob_b, sizeof(blob_b)), ERR_OK);
    assert_int_equal(grant(SB, V1, blob_c, sizeof(blob_c)), ERR_OK);
    g_now = T0 + 3;
    assert_int_equal(grant(SA, V1, blob_c, sizeof(blob_c)), ERR_OK); /* replaces the key */
    assert_int_equal(grant(S9, V1, blob_a, sizeof(blob_a)), ERR_NOT_FOUND);
    assert_int_equal(grant(SA, V9, blob_a, sizeof(blob_a)), ERR_NOT_FOUND);
    assert_int_equal(grant(SA, V1, blob_a, 0), ERR_BAD_INPUT);

    assert_int_equal(store_grant_list_by_server(g_store, ACC, SA, &g, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(g[0].gr_server, SA);
    assert_string_equal(g[0].gr_vault, V1);
    assert_int_equal(g[0].gr_key_wrapped_len, 2);
    assert_memory_equal(g[0].gr_key_wrapped, blob_c, 2);
    assert_int_equal(g[0].gr_created_at, T0 + 3);
    assert_string_equal(g[1].gr_vault, V2);
    assert_int_equal(g[1].gr_created_at, T0 + 2);
    store_grant_list_free(g, n);
    assert_int_equal(store_grant_list_by_vault(g_store, ACC, V1, &g, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(g[0].gr_server, SA);
    assert_string_equal(g[1].gr_server, SB);
    store_grant_list_free(g, n);
    assert_int_equal(store_grant_list_by_vault(g_store, ACC, V9, &g, &n), ERR_NOT_FOUND);
    assert_int_equal(store_grant_list_by_server(g_store, ACC, S9, &g, &n), ERR_NOT_FOUND);

    assert_int_equal(store_grant_delete(g_store, ACC, SA, V2), ERR_OK);
    assert_int_equal(store_grant_delete(g_store, ACC, SA, V2), ERR_NOT_FOUND);
    assert_int_equal(store_grant_list_by_server(g_store, ACC, SA, &g, &n), ERR_OK);
    assert_int_equal(n, 1);
    store_grant_list_free(g, n);

    /* Deleting a server removes its grants; the other server's stay. */
    assert_int_equal(store_server_delete(g_store, ACC, SA), ERR_OK);
    assert_int_equal(store_server_delete(g_store, ACC, SA), ERR_NOT_FOUND);
    assert_int_equal(store_server_get(g_store, ACC, SA, &got), ERR_NOT_FOUND);
    assert_int_equal(store_grant_list_by_server(g_store, ACC, SA, &g, &n), ERR_NOT_FOUND);
    assert_int_equal(grant(SA, V1, blob_a, sizeof(blob_a)), ERR_NOT_FOUND);
    assert_int_equal(store_grant_list_by_vault(g_store, ACC, V1, &g, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(g[0].gr_server, SB);
    store_grant_list_free(g, n);
    sv.se_name = "";
    assert_int_equal(store_server_create(g_store, ACC, &sv), ERR_BAD_INPUT); /* empty name */
    sv.se_name = "again";
    assert_int_equal(store_server_create(g_store, ACC, &sv), ERR_CONFLICT);
    assert_int_equal(store_server_list(g_store, ACC, &list, &n), ERR_OK);
    assert_int_equal(n, 1);
    store_server_list_free(list, n);
}

static void test_grant_change_payloads(void **state)
{
    struct store_change *ch;
    size_t n;

    (void)state;
    make_account(ACC);
    make_vault(ACC, V1);
    make_server(SA, "prod");
    /* 3 V1, 4 SA, 5 grant, 6 grant replaced, 7 revoked, 8 server deleted. */
    assert_int_equal(grant(SA, V1, blob_a, sizeof(blob_a)), ERR_OK);
    g_now = T0 + 1;
    assert_int_equal(grant(SA, V1, blob_c, sizeof(blob_c)), ERR_OK);
    n = read_changes(3, NULL, &ch);
    assert_int_equal(n, 3);
    assert_int_equal(ch[0].ch_kind, STORE_CHANGE_SERVER_CREATE);
    assert_string_equal(ch[0].ch_server, SA);
    assert_string_equal(ch[0].ch_payload,
                        "{\"id\":\"" SA "\",\"name\":\"prod\",\"createdAt\":1700000000}");
    assert_int_equal(ch[1].ch_superseded_by, 6);
    assert_string_equal(ch[2].ch_vault, V1);
    assert_string_equal(ch[2].ch_ref, SA);
    assert_string_equal(ch[2].ch_server, SA);
    assert_string_equal(ch[2].ch_payload, "{\"server\":\"" SA "\",\"vault\":\"" V1 "\","
                                          "\"keyWrapped\":\"-_8\",\"createdAt\":1700000001}");
    store_change_list_free(ch, n);

    assert_int_equal(store_grant_delete(g_store, ACC, SA, V1), ERR_OK);
    g_now = T0 + 2;
    assert_int_equal(store_server_delete(g_store, ACC, SA), ERR_OK);
    n = read_changes(5, NULL, &ch);
    assert_int_equal(n, 3);
    assert_int_equal(ch[0].ch_superseded_by, 7); /* the wrapped key is gone from the feed */
    assert_int_equal(ch[1].ch_kind, STORE_CHANGE_GRANT_DELETE);
    assert_int_equal(ch[1].ch_superseded_by, 8);
    assert_int_equal(ch[2].ch_kind, STORE_CHANGE_SERVER_DELETE);
    assert_string_equal(ch[2].ch_payload, "{\"id\":\"" SA "\",\"deletedAt\":1700000002}");
    store_change_list_free(ch, n);

    /* A revocation read before the server went away. */
    make_server(SB, "b");
    assert_int_equal(grant(SB, V1, blob_a, sizeof(blob_a)), ERR_OK);
    assert_int_equal(store_grant_delete(g_store, ACC, SB, V1), ERR_OK);
    n = read_changes(10, NULL, &ch);
    assert_int_equal(n, 1);
    assert_string_equal(ch[0].ch_payload,
                        "{\"server\":\"" SB "\",\"vault\":\"" V1 "\",\"reason\":\"revoked\"}");
    store_change_list_free(ch, n);
}

/* ---- Tokens ---------------------------------------------------------------------------- */

static void test_tokens(void **state)
{
    struct store_token t, *list;
    struct store_change *ch;
    uint64_t seq;
    size_t n;

    (void)state;
    make_account(ACC);
    make_server(SA, "prod");
    make_server(SB, "staging");
    g_now = T0 + 1;
    assert_int_equal(register_token(J1, SA), ERR_OK);
    assert_int_equal(register_token(J2, SB), ERR_OK);
    assert_int_equal(register_token(J1, SB), ERR_CONFLICT);
    assert_int_equal(register_token(J9, S9), ERR_NOT_FOUND);
    memset(&t, 0, sizeof(t));
    memcpy(t.tk_jti, J9, ID_LEN + 1);
    memcpy(t.tk_server, SA, ID_LEN + 1);
    t.tk_name = "x";
    t.tk_vaults_json = "[]";
    memcpy(t.tk_sha256, SHA_A, 64);
    t.tk_sha256[0] = 'A'; /* uppercase hex */
    assert_int_equal(store_token_register(g_store, ACC, &t), ERR_BAD_INPUT);
    t.tk_sha256[0] = 'a';
    t.tk_expires_at = -1;
    assert_int_equal(store_token_register(g_store, ACC, &t), ERR_BAD_INPUT);
    t.tk_expires_at = 0;
    assert_int_equal(store_token_register(g_store, ACC, &t), ERR_OK);
    assert_int_equal(t.tk_created_at, T0 + 1);

    assert_int_equal(store_token_get(g_store, ACC, J1, &t), ERR_OK);
    assert_string_equal(t.tk_jti, J1);
    assert_string_equal(t.tk_name, "ci");
    assert_string_equal(t.tk_server, SA);
    assert_string_equal(t.tk_vaults_json, "[{\"u\":\"" V1 "\",\"a\":1}]");
    assert_int_equal(t.tk_expires_at, T0 + 3600);
    assert_string_equal(t.tk_sha256, SHA_A);
    assert_int_equal(t.tk_created_at, T0 + 1);
    assert_int_equal(t.tk_revoked_at, 0);
    store_token_clear(&t);
    assert_int_equal(store_token_get(g_store, ACC, J2 "x", &t), ERR_BAD_INPUT);

    g_now = T0 + 50;
    assert_int_equal(store_token_revoke(g_store, ACC, J1), ERR_OK);
    seq = store_last_seq(g_store, ACC);
    g_now = T0 + 60;
    assert_int_equal(store_token_revoke(g_store, ACC, J1), ERR_OK);
    assert_int_equal(store_last_seq(g_store, ACC), seq);
    assert_int_equal(store_token_revoke(g_store, ACC, "j0000000000000000000000008"), ERR_NOT_FOUND);

    assert_int_equal(store_token_list(g_store, ACC, NULL, &list, &n), ERR_OK);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].tk_jti, J1);
    assert_int_equal(list[0].tk_revoked_at, T0 + 50);
    assert_string_equal(list[1].tk_jti, J2);
    assert_int_equal(list[1].tk_revoked_at, 0);
    assert_string_equal(list[2].tk_jti, J9);
    assert_int_equal(list[2].tk_expires_at, 0);
    store_token_list_free(list, n);
    assert_int_equal(store_token_list(g_store, ACC, SB, &list, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].tk_jti, J2);
    store_token_list_free(list, n);
    assert_int_equal(store_token_list(g_store, ACC9, NULL, &list, &n), ERR_NOT_FOUND);

    /* 3 SA, 4 SB, 5 J1, 6 J2, 7 J9, 8 revoke J1 (once). */
    n = read_changes(4, NULL, &ch);
    assert_int_equal(n, 4);
    assert_int_equal(ch[0].ch_kind, STORE_CHANGE_TOKEN_REGISTER);
    assert_string_equal(ch[0].ch_ref, J1);
    assert_string_equal(ch[0].ch_server, SA);
    assert_string_equal(ch[0].ch_payload,
                        "{\"jti\":\"" J1 "\",\"name\":\"ci\",\"server\":\"" SA "\","
                        "\"vaults\":\"[{\\\"u\\\":\\\"" V1 "\\\",\\\"a\\\":1}]\","
                        "\"expiresAt\":1700003600,\"createdAt\":1700000001}");
    assert_int_equal(ch[3].ch_seq, 8);
    assert_int_equal(ch[3].ch_kind, STORE_CHANGE_TOKEN_REVOKE);
    assert_string_equal(ch[3].ch_server, SA);
    assert_string_equal(ch[3].ch_payload,
                        "{\"jti\":\"" J1 "\",\"server\":\"" SA "\",\"revokedAt\":1700000050}");
    store_change_list_free(ch, n);
}

/* ---- The change feed ------------------------------------------------------------------- */

static void test_changes_paging(void **state)
{
    static const enum store_change_kind want[] = {
        STORE_CHANGE_ACCOUNT_CREATE, STORE_CHANGE_SIGNING_KEY_ADD, STORE_CHANGE_VAULT_CREATE,
        STORE_CHANGE_SERVER_CREATE,  STORE_CHANGE_GRANT_PUT,       STORE_CHANGE_ITEM_PUT,
        STORE_CHANGE_TOKEN_REGISTER, STORE_CHANGE_ITEM_PUT,        STORE_CHANGE_VAULT_UPDATE,
        STORE_CHANGE_TOKEN_REVOKE,   STORE_CHANGE_ITEM_DELETE,     STORE_CHANGE_SIGNING_KEY_RETIRE,
    };
    struct store_signing_key k2 = {.sk_kid = "k2", .sk_public_jwk = JWK};
    struct store_change *ch, *page;
    uint64_t next = 99, since;
    size_t n, m, i, got = 0;

    (void)state;
    make_account(ACC);
    make_vault(ACC, V1);
    make_server(SA, "a");
    assert_int_equal(grant(SA, V1, blob_a, sizeof(blob_a)), ERR_OK);
    assert_int_equal(put_item(V1, I1, blob_a, sizeof(blob_a), 0, NULL), ERR_OK);
    assert_int_equal(register_token(J1, SA), ERR_OK);
    assert_int_equal(put_item(V1, I2, blob_a, sizeof(blob_a), 0, NULL), ERR_OK);
    assert_int_equal(store_vault_update_attrs(g_store, ACC, V1, blob_c, 2, NULL), ERR_OK);
    assert_int_equal(store_token_revoke(g_store, ACC, J1), ERR_OK);
    assert_int_equal(store_item_delete(g_store, ACC, V1, I1, NULL), ERR_OK);
    assert_int_equal(store_signing_key_add(g_store, ACC, &k2), ERR_OK);
    assert_int_equal(store_signing_key_retire(g_store, ACC, "k1"), ERR_OK);
    assert_int_equal(store_last_seq(g_store, ACC), 13);

    n = read_changes(0, NULL, &ch);
    assert_int_equal(n, 13);
    for (i = 0; i < n; i++)
        assert_int_equal(ch[i].ch_seq, i + 1);
    for (i = 0; i < 11; i++)
        assert_int_equal(ch[i].ch_kind, want[i]);
    assert_int_equal(ch[11].ch_kind, STORE_CHANGE_SIGNING_KEY_ADD);
    assert_int_equal(ch[12].ch_kind, want[11]);

    /* Pages of 5 stitch into the same list; next is the last seq of a full page. */
    for (since = 0;;) {
        assert_int_equal(store_changes_since(g_store, ACC, since, 5, NULL, &page, &m, &next),
                         ERR_OK);
        for (i = 0; i < m; i++) {
            assert_int_equal(page[i].ch_seq, ch[got + i].ch_seq);
            assert_string_equal(page[i].ch_payload, ch[got + i].ch_payload);
        }
        got += m;
        store_change_list_free(page, m);
        assert_true(next >= since);
        if (m < 5) {
            assert_int_equal(next, 13);
            break;
        }
        assert_int_equal(next, since + 5);
        since = next;
    }
    assert_int_equal(got, 13);
    store_change_list_free(ch, n);

    /* Nothing new, and a client ahead of the hub. */
    assert_int_equal(store_changes_since(g_store, ACC, 13, 5, NULL, &page, &m, &next), ERR_OK);
    assert_int_equal(m, 0);
    assert_null(page);
    assert_int_equal(next, 13);
    assert_int_equal(store_changes_since(g_store, ACC, 40, 5, NULL, &page, &m, &next), ERR_OK);
    assert_int_equal(m, 0);
    assert_int_equal(next, 40);

    /* Errors. */
    assert_int_equal(store_changes_since(g_store, ACC, 0, 0, NULL, &page, &m, &next),
                     ERR_BAD_INPUT);
    assert_int_equal(
        store_changes_since(g_store, ACC, 0, STORE_MAX_PAGE + 1, NULL, &page, &m, &next),
        ERR_BAD_INPUT);
    assert_int_equal(store_changes_since(g_store, ACC9, 0, 5, NULL, &page, &m, &next),
                     ERR_NOT_FOUND);
    assert_int_equal(store_changes_since(g_store, ACC, 0, 5, S9, &page, &m, &next), ERR_NOT_FOUND);
    assert_null(page);
    assert_int_equal(m, 0);
    assert_string_equal(store_change_kind_name(STORE_CHANGE_ITEM_PUT), "item_put");
    assert_string_equal(store_change_kind_name(STORE_CHANGE__COUNT), "unknown");
    assert_string_equal(store_change_kind_name((enum store_change_kind)0), "unknown");
}

/* Returns the seqs of what server sees after since, as "seq:kind ..." text. */
static void server_view(const char *server, uint64_t since, char *out, size_t cap)
{
    struct store_change *ch;
    size_t n, i, len = 0;

    out[0] = '\0';
    n = read_changes(since, server, &ch);
    for (i = 0; i < n; i++) {
        int w = snprintf(out + len, cap - len, "%s%" PRIu64 ":%s", i ? " " : "", ch[i].ch_seq,
                         store_change_kind_name(ch[i].ch_kind));
        assert_true(w > 0 && (size_t)w < cap - len);
        len += (size_t)w;
    }
    store_change_list_free(ch, n);
}

static void test_changes_server_filter(void **state)
{
    struct store_signing_key k2 = {.sk_kid = "k2", .sk_public_jwk = JWK};
    unsigned char content[] = "file";
    struct store_file f = {.fi_size = 4, .fi_content = content, .fi_content_len = 4};
    uint64_t next;
    char view[1024];

    (void)state;
    make_account(ACC);                                                  /* 1, 2 */
    make_vault(ACC, V1);                                                /* 3 */
    make_vault(ACC, V2);                                                /* 4 */
    make_server(SA, "a");                                               /* 5 */
    make_server(SB, "b");                                               /* 6 */
    assert_int_equal(grant(SA, V1, blob_a, 3), ERR_OK);                 /* 7 */
    assert_int_equal(grant(SB, V2, blob_a, 3), ERR_OK);                 /* 8 */
    assert_int_equal(put_item(V1, I1, blob_a, 3, 0, NULL), ERR_OK);     /* 9 */
    assert_int_equal(put_item(V2, I2, blob_a, 3, 0, NULL), ERR_OK);     /* 10 */
    assert_int_equal(register_token(J1, SA), ERR_OK);                   /* 11 */
    assert_int_equal(register_token(J2, SB), ERR_OK);                   /* 12 */
    assert_int_equal(store_signing_key_add(g_store, ACC, &k2), ERR_OK); /* 13 */
    memcpy(f.fi_id, F1, ID_LEN + 1);
    memcpy(f.fi_vault, V2, ID_LEN + 1);
    assert_int_equal(hash_sha256(f.fi_sha256, content, 4), ERR_OK);
    assert_int_equal(store_file_put(g_store, ACC, &f), ERR_OK);                            /* 14 */
    assert_int_equal(store_vault_update_attrs(g_store, ACC, V1, blob_c, 2, NULL), ERR_OK); /* 15 */
    assert_int_equal(store_token_revoke(g_store, ACC, J2), ERR_OK);                        /* 16 */

    server_view(SA, 0, view, sizeof(view));
    assert_string_equal(view, "2:signing_key_add 3:vault_create 5:server_create 7:grant_put "
                              "9:item_put 11:token_register 13:signing_key_add 15:vault_update");
    server_view(SB, 0, view, sizeof(view));
    assert_string_equal(view, "2:signing_key_add 4:vault_create 6:server_create 8:grant_put "
                              "10:item_put 12:token_register 13:signing_key_add 14:file_put "
                              "16:token_revoke");
    server_view(SB, 10, view, sizeof(view));
    assert_string_equal(view, "12:token_register 13:signing_key_add 14:file_put 16:token_revoke");

    /* A server that pulled its vaults whole after seq 14 is spared their item changes up to
       it, and only those: not file changes, not what is not an item's, not later ones. */
    {
        struct store_change *ch;
        size_t n;

        assert_int_equal(store_changes_pulled(g_store, ACC, 0, 50, SB, 14, &ch, &n, &next), ERR_OK);
        assert_int_equal(n, 8);             /* SB's 9 less 10:item_put */
        assert_int_equal(ch[3].ch_seq, 8);  /* grant_put */
        assert_int_equal(ch[4].ch_seq, 12); /* token_register */
        assert_int_equal(ch[6].ch_seq, 14); /* file_put is kept */
        assert_int_equal(next, 16);
        store_change_list_free(ch, n);
        assert_int_equal(store_changes_pulled(g_store, ACC, 0, 50, SB, 9, &ch, &n, &next), ERR_OK);
        assert_int_equal(n, 9); /* 10:item_put is after 9 */
        assert_int_equal(ch[4].ch_kind, STORE_CHANGE_ITEM_PUT);
        store_change_list_free(ch, n);
        assert_int_equal(store_changes_pulled(g_store, ACC, 0, 50, NULL, 14, &ch, &n, &next),
                         ERR_BAD_INPUT);
    }

    /* The grant goes: A sees the revocation, and no longer the vault's earlier changes. */
    assert_int_equal(store_grant_delete(g_store, ACC, SA, V1), ERR_OK); /* 17 */

    assert_int_equal(put_item(V1, I1, blob_a, 3, 0, NULL), ERR_OK); /* 18 */
    server_view(SA, 0, view, sizeof(view));
    assert_string_equal(view, "2:signing_key_add 5:server_create 7:grant_put 11:token_register "
                              "13:signing_key_add 17:grant_delete");

    /* A filtered page still advances next to the last seq examined. */
    {
        struct store_change *ch;
        size_t n;
        assert_int_equal(store_changes_since(g_store, ACC, 17, 10, SA, &ch, &n, &next), ERR_OK);
        assert_int_equal(n, 0);
        assert_int_equal(next, 18);
        assert_int_equal(store_changes_since(g_store, ACC, 0, 2, SA, &ch, &n, &next), ERR_OK);
        assert_int_equal(n, 2);
        assert_int_equal(next, 5);
        store_change_list_free(ch, n);
    }

    /* A deleted server still reads its own deletion. */
    assert_int_equal(store_server_delete(g_store, ACC, SB), ERR_OK); /* 19 */
    server_view(SB, 16, view, sizeof(view));
    assert_string_equal(view, "19:server_delete");
}

static void test_vault_delete_feed(void **state)
{
    unsigned char content[] = "file";
    struct store_file f = {.fi_size = 4, .fi_content = content, .fi_content_len = 4};
    struct store_change *ch;
    struct store_item it;
    char view[512];
    size_t n;

    (void)state;
    make_account(ACC);
    make_vault(ACC, V1);                                            /* 3 */
    make_server(SA, "a");                                           /* 4 */
    make_server(SB, "b");                                           /* 5 */
    assert_int_equal(grant(SA, V1, blob_a, 3), ERR_OK);             /* 6 */
    assert_int_equal(grant(SB, V1, blob_b, 3), ERR_OK);             /* 7 */
    assert_int_equal(put_item(V1, I1, blob_a, 3, 0, NULL), ERR_OK); /* 8 */
    memcpy(f.fi_id, F1, ID_LEN + 1);
    memcpy(f.fi_vault, V1, ID_LEN + 1);
    assert_int_equal(hash_sha256(f.fi_sha256, content, 4), ERR_OK);
    assert_int_equal(store_file_put(g_store, ACC, &f), ERR_OK); /* 9 */
    g_now = T0 + 9;
    assert_int_equal(store_vault_delete(g_store, ACC, V1), ERR_OK); /* 10, 11, 12 */
    assert_int_equal(store_last_seq(g_store, ACC), 12);

    n = read_changes(2, NULL, &ch);
    assert_int_equal(n, 10);
    assert_int_equal(ch[0].ch_superseded_by, 10); /* vault_create */
    assert_int_equal(ch[1].ch_superseded_by, 0);  /* server_create */
    assert_int_equal(ch[3].ch_superseded_by, 10); /* grant_put A */
    assert_int_equal(ch[4].ch_superseded_by, 10); /* grant_put B */
    assert_int_equal(ch[5].ch_superseded_by, 10); /* item_put */
    assert_int_equal(ch[6].ch_superseded_by, 10); /* file_put */
    assert_int_equal(ch[7].ch_kind, STORE_CHANGE_VAULT_DELETE);
    assert_string_equal(ch[7].ch_payload,
                        "{\"id\":\"" V1 "\",\"contentVersion\":3,\"deletedAt\":1700000009}");
    assert_int_equal(ch[8].ch_kind, STORE_CHANGE_GRANT_DELETE);
    assert_string_equal(ch[8].ch_server, SA);
    assert_string_equal(ch[8].ch_payload,
                        "{\"server\":\"" SA "\",\"vault\":\"" V1 "\",\"reason\":\"vaultDeleted\"}");
    assert_string_equal(ch[9].ch_server, SB);
    store_change_list_free(ch, n);

    server_view(SA, 5, view, sizeof(view));
    assert_string_equal(view, "6:grant_put 11:grant_delete");
    assert_int_equal(store_item_get(g_store, ACC, V1, I1, &it), ERR_NOT_FOUND);
    assert_int_equal(store_file_exists(g_store, ACC, V1, F1, NULL), ERR_NOT_FOUND);
    assert_int_equal(put_item(V1, I2, blob_a, 3, 0, NULL), ERR_NOT_FOUND);
    assert_int_equal(grant(SA, V1, blob_a, 3), ERR_NOT_FOUND);
}

/* ---- Concurrency ----------------------------------------------------------------------- */

#define WRITERS       4
#define PUTS          200
#define ITEMS_PER_TID 10

struct writer_arg {
    struct store *wa_store; /* the store it writes through */
    int wa_tid;             /* 0..WRITERS-1 */
    int wa_failures;        /* puts that did not return ERR_OK */
};

static atomic_int g_writers_done;
static atomic_int g_reader_anomalies;
static atomic_int g_reader_reads;

static void writer_item_id(char out[ID_LEN + 1], int tid, int k)
{
    (void)snprintf(out, ID_LEN + 1, "t%d%024d", tid, k);
}

static void *writer_main(void *p)
{
    struct writer_arg *wa = p;
    unsigned char ov[8];
    int j;

    for (j = 0; j < PUTS; j++) {
        struct store_item it = {.it_category = "PASSWORD",
                                .it_overview = ov,
                                .it_overview_len = sizeof(ov),
                                .it_details = ov,
                                .it_details_len = sizeof(ov)};
        memset(ov, wa->wa_tid * 16 + (j & 15), sizeof(ov));
        memcpy(it.it_vault, V1, ID_LEN + 1);
        writer_item_id(it.it_id, wa->wa_tid, j % ITEMS_PER_TID);
        if (store_item_put(wa->wa_store, ACC, &it, 0) != ERR_OK)
            wa->wa_failures++;
    }
    atomic_fetch_add(&g_writers_done, 1);
    return NULL;
}

/* Reads the feed while writers run: every snapshot must be gap-free and end at next. */
static void *reader_main(void *p)
{
    uint64_t base = *(uint64_t *)p;

    do {
        struct store_change *ch = NULL;
        uint64_t next = 0;
        size_t n = 0, i;
        if (store_changes_since(g_store, ACC, base, STORE_MAX_PAGE, NULL, &ch, &n, &next) !=
            ERR_OK) {
            atomic_fetch_add(&g_reader_anomalies, 1);
            continue;
        }
        for (i = 0; i < n; i++) {
            if (ch[i].ch_seq != base + 1 + i)
                atomic_fetch_add(&g_reader_anomalies, 1);
        }
        if (next != base + n)
            atomic_fetch_add(&g_reader_anomalies, 1);
        store_change_list_free(ch, n);
        atomic_fetch_add(&g_reader_reads, 1);
    } while (atomic_load(&g_writers_done) < WRITERS);
    return NULL;
}

/*
 * Runs WRITERS writer threads (writer t through a, or through b when t is odd and b is not
 * NULL) and a reader checking every snapshot of the feed after base; asserts that every put
 * succeeded and the reader saw no gap.
 */
static void run_writers(struct store *a, struct store *b, uint64_t base)
{
    struct writer_arg args[WRITERS];
    pthread_t threads[WRITERS], reader;
    int t;

    atomic_store(&g_writers_done, 0);
    atomic_store(&g_reader_anomalies, 0);
    atomic_store(&g_reader_reads, 0);
    assert_int_equal(pthread_create(&reader, NULL, reader_main, &base), 0);
    for (t = 0; t < WRITERS; t++) {
        args[t].wa_store = t % 2 && b ? b : a;
        args[t].wa_tid = t;
        args[t].wa_failures = 0;
        assert_int_equal(pthread_create(&threads[t], NULL, writer_main, &args[t]), 0);
    }
    for (t = 0; t < WRITERS; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        assert_int_equal(args[t].wa_failures, 0);
    }
    assert_int_equal(pthread_join(reader, NULL), 0);
    assert_int_equal(atomic_load(&g_reader_anomalies), 0);
    assert_true(atomic_load(&g_reader_reads) > 0);
}

static void test_concurrent_writers(void **state)
{
    struct store_change *ch;
    struct store_vault v;
    uint64_t base, next;
    size_t n, i;
    int t, live = 0;

    (void)state;
    make_account(ACC);
    make_vault(ACC, V1);
    base = store_last_seq(g_store, ACC);
    assert_int_equal(base, 3);
    run_writers(g_store, NULL, base);

    assert_int_equal(store_last_seq(g_store, ACC), base + WRITERS * PUTS);
    assert_int_equal(store_changes_since(g_store, ACC, base, STORE_MAX_PAGE, NULL, &ch, &n, &next),
                     ERR_OK);
    assert_int_equal(n, WRITERS * PUTS);
    assert_int_equal(next, base + WRITERS * PUTS);
    for (i = 0; i < n; i++) {
        assert_int_equal(ch[i].ch_seq, base + 1 + i);
        assert_int_equal(ch[i].ch_kind, STORE_CHANGE_ITEM_PUT);
        if (ch[i].ch_superseded_by) {
            assert_true(ch[i].ch_superseded_by > ch[i].ch_seq);
        } else {
            /* The one live change per item carries the final version. */
            assert_non_null(strstr(ch[i].ch_payload, "\"version\":20,"));
            live++;
        }
    }
    assert_int_equal(live, WRITERS * ITEMS_PER_TID);
    store_change_list_free(ch, n);

    for (t = 0; t < WRITERS; t++) {
        for (i = 0; i < ITEMS_PER_TID; i++) {
            struct store_item it;
            char id[ID_LEN + 1];
            writer_item_id(id, t, (int)i);
            assert_int_equal(store_item_get(g_store, ACC, V1, id, &it), ERR_OK);
            assert_int_equal(it.it_version, PUTS / ITEMS_PER_TID);
            store_item_clear(&it);
        }
    }
    assert_int_equal(store_vault_get(g_store, ACC, V1, &v), ERR_OK);
    assert_int_equal(v.va_content_version, 1 + WRITERS * PUTS);
    assert_int_equal(v.va_items, WRITERS * ITEMS_PER_TID);
    store_vault_clear(&v);
}

/* ---- Commit hook ----------------------------------------------------------------------- */

static int g_hook_calls;
static uint64_t g_hook_seq;
static char g_hook_account[ID_LEN + 1];

static void hook(void *arg, const char *account, uint64_t seq)
{
    (void)arg;
    g_hook_calls++;
    g_hook_seq = seq;
    (void)snprintf(g_hook_account, sizeof(g_hook_account), "%s", account);
    /* The hook may read the store: the connection was released. */
    assert_int_equal(store_last_seq(g_store, account), seq);
}

static void test_commit_hook(void **state)
{
    (void)state;
    store_set_commit_hook(g_store, hook, NULL);
    g_hook_calls = 0;
    make_account(ACC);
    assert_int_equal(g_hook_calls, 1);
    assert_int_equal(g_hook_seq, 2);
    assert_string_equal(g_hook_account, ACC);
    make_vault(ACC, V1);
    make_server(SA, "a");
    assert_int_equal(grant(SA, V1, blob_a, 3), ERR_OK);
    assert_int_equal(register_token(J1, SA), ERR_OK);
    assert_int_equal(g_hook_calls, 5);
    assert_int_equal(store_vault_delete(g_store, ACC, V1), ERR_OK); /* two changes, one call */
    assert_int_equal(g_hook_calls, 6);
    assert_int_equal(g_hook_seq, 8);

    assert_int_equal(store_token_revoke(g_store, ACC, J1), ERR_OK);
    assert_int_equal(g_hook_calls, 7);
    assert_int_equal(store_token_revoke(g_store, ACC, J1), ERR_OK); /* nothing committed */
    assert_int_equal(put_item(V1, I1, blob_a, 3, 0, NULL), ERR_NOT_FOUND);
    assert_int_equal(store_nonce_use(g_store, ACC, "n", T0 + 10), ERR_OK); /* not a change */
    assert_int_equal(g_hook_calls, 7);
    store_set_commit_hook(g_store, NULL, NULL);
}

/* ---- Activity, nonces, sessions -------------------------------------------------------- */

static void test_activity(void **state)
{
    static const char *const a_entries[] = {"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"};
    static const char *const b_entries[] = {"{\"n\":4}", "{\"n\":5}"};
    static const char *const bad[] = {"{}", ""};
    struct store_activity *v;
    uint64_t total = 0;
    size_t n;

    (void)state;
    make_account(ACC);
    make_server(SA, "a");
    make_server(SB, "b");
    assert_int_equal(store_activity_append(g_store, ACC, SA, T0 + 1, a_entries, 3), ERR_OK);
    assert_int_equal(store_activity_append(g_store, ACC, SB, T0 + 2, b_entries, 2), ERR_OK);
    assert_int_equal(store_activity_append(g_store, ACC, S9, T0, a_entries, 1), ERR_NOT_FOUND);
    assert_int_equal(store_activity_append(g_store, ACC, SA, T0, bad, 2), ERR_BAD_INPUT);
    assert_int_equal(store_activity_append(g_store, ACC, SA, T0, NULL, 0), ERR_OK);
    assert_int_equal(store_last_seq(g_store, ACC), 4); /* activity is not a change */

    assert_int_equal(store_activity_query(g_store, ACC, NULL, 2, 1, &v, &n, &total), ERR_OK);
    assert_int_equal(total, 5);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].av_id, 2);
    assert_string_equal(v[0].av_server, SA);
    assert_int_equal(v[0].av_received_at, T0 + 1);
    assert_string_equal(v[0].av_entry_json, "{\"n\":2}");
    assert_string_equal(v[1].av_entry_json, "{\"n\":3}");
    store_activity_list_free(v, n);

    assert_int_equal(store_activity_query(g_store, ACC, SB, 50, 0, &v, &n, &total), ERR_OK);
    assert_int_equal(total, 2);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].av_entry_json, "{\"n\":4}");
    assert_int_equal(v[1].av_id, 5);
    assert_int_equal(v[1].av_received_at, T0 + 2);
    store_activity_list_free(v, n);

    assert_int_equal(store_activity_query(g_store, ACC, SA, 50, 10, &v, &n, &total), ERR_OK);
    assert_int_equal(total, 3);
    assert_int_equal(n, 0);
    assert_int_equal(store_activity_query(g_store, ACC, NULL, 0, 0, &v, &n, &total), ERR_BAD_INPUT);
    assert_int_equal(store_activity_query(g_store, ACC9, NULL, 1, 0, &v, &n, &total),
                     ERR_NOT_FOUND);
}

static void test_nonces(void **state)
{
    (void)state;
    make_account(ACC);
    make_account(ACC2);
    assert_int_equal(store_nonce_use(g_store, ACC, "bm9uY2Utb25lLWFiY2Rl", T0 + 300), ERR_OK);
    assert_int_equal(store_nonce_use(g_store, ACC, "bm9uY2Utb25lLWFiY2Rl", T0 + 300), ERR_CONFLICT);
    assert_int_equal(store_nonce_use(g_store, ACC2, "bm9uY2Utb25lLWFiY2Rl", T0 + 300), ERR_OK);
    g_now = T0 + 299;
    assert_int_equal(store_nonce_use(g_store, ACC, "bm9uY2Utb25lLWFiY2Rl", T0 + 599), ERR_CONFLICT);
    g_now = T0 + 300; /* expired: purged, usable again (the hub's time window refuses it) */
    assert_int_equal(store_nonce_use(g_store, ACC, "bm9uY2Utb25lLWFiY2Rl", T0 + 600), ERR_OK);
    assert_int_equal(store_nonce_use(g_store, ACC, "other", T0 + 300), ERR_BAD_INPUT);
    assert_int_equal(store_nonce_use(g_store, ACC, "with space", T0 + 600), ERR_BAD_INPUT);
    assert_int_equal(store_nonce_use(g_store, ACC, "", T0 + 600), ERR_BAD_INPUT);
    assert_int_equal(store_nonce_use(g_store, ACC9, "fresh", T0 + 600), ERR_NOT_FOUND);
    /* Left: ACC's renewed nonce; ACC2's expired with the purge at T0 + 300. */
    assert_int_equal(pragma_int(g_path, "SELECT count(*) FROM admin_nonces"), 1);
}

/* The hubs' shared secrets: the first candidate stored wins, for every later caller. */
static void test_secrets(void **state)
{
    unsigned char a[32], b[32], out[32], big[STORE_SECRET_MAX + 1];

    (void)state;
    memset(a, 0xa1, sizeof(a));
    memset(b, 0xb2, sizeof(b));
    memset(big, 0, sizeof(big));
    assert_int_equal(store_secret_share(g_store, "sync-challenge", a, sizeof(a), out), ERR_OK);
    assert_memory_equal(out, a, sizeof(a));
    memset(out, 0, sizeof(out));
    assert_int_equal(store_secret_share(g_store, "sync-challenge", b, sizeof(b), out), ERR_OK);
    assert_memory_equal(out, a, sizeof(a));
    assert_int_equal(store_secret_share(g_store, "other", b, sizeof(b), out), ERR_OK);
    assert_memory_equal(out, b, sizeof(b));
    assert_int_equal(store_secret_share(g_store, "sync-challenge", b, 16, out), ERR_STORAGE);
    assert_int_equal(store_secret_share(g_store, "", a, sizeof(a), out), ERR_BAD_INPUT);
    assert_int_equal(store_secret_share(g_store, "x", a, 0, out), ERR_BAD_INPUT);
    assert_int_equal(store_secret_share(g_store, "x", big, sizeof(big), out), ERR_BAD_INPUT);
    assert_int_equal(store_secret_share(g_store, "x", NULL, 8, out), ERR_BAD_INPUT);
    assert_int_equal(reopen(), 0);
    assert_int_equal(store_secret_share(g_store, "sync-challenge", b, sizeof(b), out), ERR_OK);
    assert_memory_equal(out, a, sizeof(a));
}

static void test_sessions(void **state)
{
    unsigned char h1[STORE_SHA256_BYTES], h2[STORE_SHA256_BYTES];
    struct store_session ss;
    size_t removed = 9;

    (void)state;
    memset(h1, 0x11, sizeof(h1));
    memset(h2, 0x22, sizeof(h2));
    make_account(ACC);
    make_server(SA, "a");
    make_server(SB, "b");
    assert_int_equal(store_session_create(g_store, h1, ACC, SA, T0 + 900), ERR_OK);
    assert_int_equal(store_session_create(g_store, h1, ACC, SB, T0 + 900), ERR_CONFLICT);
    assert_int_equal(store_session_create(g_store, h2, ACC, S9, T0 + 900), ERR_NOT_FOUND);
    assert_int_equal(store_session_create(g_store, h2, ACC, SB, T0), ERR_BAD_INPUT);
    assert_int_equal(store_session_create(g_store, h2, ACC, SB, T0 + 60), ERR_OK);

    assert_int_equal(store_session_lookup(g_store, h1, &ss), ERR_OK);
    assert_string_equal(ss.ss_account, ACC);
    assert_string_equal(ss.ss_server, SA);
    assert_int_equal(ss.ss_expires_at, T0 + 900);
    g_now = T0 + 60; /* h2 expires exactly now */
    assert_int_equal(store_session_lookup(g_store, h2, &ss), ERR_NOT_FOUND);
    assert_string_equal(ss.ss_account, "");
    assert_int_equal(store_session_lookup(g_store, h1, &ss), ERR_OK);
    assert_int_equal(store_session_purge(g_store, &removed), ERR_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(store_session_purge(g_store, &removed), ERR_OK);
    assert_int_equal(removed, 0);
    assert_int_equal(pragma_int(g_path, "SELECT count(*) FROM sessions"), 1);

    /* A deleted server's sessions end with it. */
    assert_int_equal(store_server_delete(g_store, ACC, SA), ERR_OK);
    assert_int_equal(store_session_lookup(g_store, h1, &ss), ERR_NOT_FOUND);
    assert_int_equal(store_session_create(g_store, h2, ACC, SA, T0 + 900), ERR_NOT_FOUND);
    assert_int_equal(pragma_int(g_path, "SELECT count(*) FROM sessions"), 0);
}

/* ---- Durability and erasure ------------------------------------------------------------ */

static void test_reopen_sees_everything(void **state)
{
    struct store_change *before, *after;
    struct store_item it;
    struct store_token t;
    struct store_session ss;
    unsigned char h[STORE_SHA256_BYTES];
    size_t n, m, i;

    (void)state;
    memset(h, 0x33, sizeof(h));
    make_account(ACC);
    make_vault(ACC, V1);
    make_server(SA, "a");
    assert_int_equal(grant(SA, V1, blob_a, 3), ERR_OK);
    assert_int_equal(put_item(V1, I1, blob_a, 3, 0, NULL), ERR_OK);
    assert_int_equal(put_item(V1, I1, blob_c, 2, 1, NULL), ERR_OK);
    assert_int_equal(register_token(J1, SA), ERR_OK);
    assert_int_equal(store_token_revoke(g_store, ACC, J1), ERR_OK);
    assert_int_equal(store_session_create(g_store, h, ACC, SA, T0 + 900), ERR_OK);
    assert_int_equal(store_nonce_use(g_store, ACC, "once", T0 + 300), ERR_OK);
    n = read_changes(0, NULL, &before);

    assert_int_equal(reopen(), 0);
    m = read_changes(0, NULL, &after);
    assert_int_equal(m, n);
    for (i = 0; i < n; i++) {
        assert_int_equal(after[i].ch_seq, before[i].ch_seq);
        assert_int_equal(after[i].ch_kind, before[i].ch_kind);
        assert_string_equal(after[i].ch_payload, before[i].ch_payload);
    }
    store_change_list_free(before, n);
    store_change_list_free(after, m);
    assert_int_equal(store_item_get(g_store, ACC, V1, I1, &it), ERR_OK);
    assert_int_equal(it.it_version, 2);
    assert_memory_equal(it.it_overview, blob_c, 2);
    store_item_clear(&it);
    assert_int_equal(store_token_get(g_store, ACC, J1, &t), ERR_OK);
    assert_int_equal(t.tk_revoked_at, T0);
    store_token_clear(&t);
    assert_int_equal(store_session_lookup(g_store, h, &ss), ERR_OK);
    assert_int_equal(store_nonce_use(g_store, ACC, "once", T0 + 300), ERR_CONFLICT);
    /* The sequence continues. */
    assert_int_equal(put_item(V1, I2, blob_a, 3, 0, NULL), ERR_OK);
    assert_int_equal(store_last_seq(g_store, ACC), n + 1);
}

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

/* Checks whether a marker (raw, or in base64url) is anywhere in the database files. */
static int db_contains(const unsigned char *marker, size_t len)
{
    char b64[128], wal[PATH_MAX + 8];

    assert_int_equal(codec_b64_encode(b64, sizeof(b64), NULL, marker, len, CODEC_B64_URL), ERR_OK);
    (void)snprintf(wal, sizeof(wal), "%s-wal", g_path);
    return file_contains(g_path, marker, len) || file_contains(g_path, b64, strlen(b64)) ||
           file_contains(wal, marker, len) || file_contains(wal, b64, strlen(b64));
}

static void test_deleted_ciphertext_is_erased(void **state)
{
    /* Random "ciphertexts": a stored item, an item deleted later, a deleted vault's parts. */
    unsigned char live[48], gone_old[48], gone_new[48], attrs[48], key[48], wrapped[48], fdata[48];
    struct store_vault v = {.va_attrs_ct = attrs,
                            .va_attrs_ct_len = sizeof(attrs),
                            .va_key_admin = key,
                            .va_key_admin_len = sizeof(key),
                            .va_type = "USER_CREATED"};
    struct store_file f = {.fi_size = 20, .fi_content = fdata, .fi_content_len = sizeof(fdata)};

    (void)state;
    assert_int_equal(crypto_random(live, sizeof(live)), ERR_OK);
    assert_int_equal(crypto_random(gone_old, sizeof(gone_old)), ERR_OK);
    assert_int_equal(crypto_random(gone_new, sizeof(gone_new)), ERR_OK);
    assert_int_equal(crypto_random(attrs, sizeof(attrs)), ERR_OK);
    assert_int_equal(crypto_random(key, sizeof(key)), ERR_OK);
    assert_int_equal(crypto_random(wrapped, sizeof(wrapped)), ERR_OK);
    assert_int_equal(crypto_random(fdata, sizeof(fdata)), ERR_OK);
    make_account(ACC);
    make_vault(ACC, V1);
    memcpy(v.va_id, V2, ID_LEN + 1);
    assert_int_equal(store_vault_create(g_store, ACC, &v), ERR_OK);
    make_server(SA, "a");
    assert_int_equal(grant(SA, V2, wrapped, sizeof(wrapped)), ERR_OK);
    assert_int_equal(put_item(V1, I1, live, sizeof(live), 0, NULL), ERR_OK);
    assert_int_equal(put_item(V1, I2, gone_old, sizeof(gone_old), 0, NULL), ERR_OK);
    assert_int_equal(put_item(V1, I2, gone_new, sizeof(gone_new), 1, NULL), ERR_OK);
    assert_int_equal(put_item(V2, I9, fdata, sizeof(fdata), 0, NULL), ERR_OK);
    memcpy(f.fi_id, F1, ID_LEN + 1);
    memcpy(f.fi_vault, V2, ID_LEN + 1);
    assert_int_equal(hash_sha256(f.fi_sha256, fdata, sizeof(fdata)), ERR_OK);
    assert_int_equal(store_file_put(g_store, ACC, &f), ERR_OK);

    /* Stored while live (the scan works)... */
    assert_int_equal(reopen(), 0);
    assert_true(db_contains(live, sizeof(live)));
    assert_true(db_contains(gone_new, sizeof(gone_new)));
    assert_true(db_contains(attrs, sizeof(attrs)));
    assert_true(db_contains(wrapped, sizeof(wrapped)));
    assert_true(db_contains(fdata, sizeof(fdata)));

    /* ...and nowhere in the files once deleted (secure_delete, superseded payloads). */
    assert_int_equal(store_item_delete(g_store, ACC, V1, I2, NULL), ERR_OK);
    assert_int_equal(store_vault_delete(g_store, ACC, V2), ERR_OK);
    store_close(g_store); /* checkpoints the WAL into the file and removes it */
    g_store = NULL;
    assert_true(db_contains(live, sizeof(live)));
    assert_false(db_contains(gone_old, sizeof(gone_old)));
    assert_false(db_contains(gone_new, sizeof(gone_new)));
    assert_false(db_contains(attrs, sizeof(attrs)));
    assert_false(db_contains(key, sizeof(key)));
    assert_false(db_contains(wrapped, sizeof(wrapped)));
    assert_false(db_contains(fdata, sizeof(fdata)));
    assert_true(file_contains(g_path, V2, ID_LEN)); /* ids and metadata stay */
    assert_int_equal(reopen(), 0);
}

/* ---- Allocation failures ----------------------------------------------------------------- */

static void test_allocation_failures(void **state)
{
    struct store_item *list, it;
    struct store_change *ch;
    uint64_t next, seq, ver;
    size_t n;
    long k;
    enum err e;

    (void)state;
    make_account(ACC);
    make_vault(ACC, V1);
    assert_int_equal(put_item(V1, I1, blob_a, 3, 0, NULL), ERR_OK);
    assert_int_equal(put_item(V1, I2, blob_a, 3, 0, NULL), ERR_OK);

    /* A write that fails part-way leaves nothing behind: no change, no new version. */
    seq = store_last_seq(g_store, ACC);
    for (k = 0;; k++) {
        (void)mem_fail_after(k);
        e = put_item(V1, I1, blob_c, 2, 0, &ver);
        (void)mem_fail_after(-1);
        if (e == ERR_OK)
            break;
        assert_int_equal(e, ERR_NOMEM);
        assert_int_equal(store_last_seq(g_store, ACC), seq);
        assert_int_equal(store_item_get(g_store, ACC, V1, I1, &it), ERR_OK);
        assert_int_equal(it.it_version, 1);
        store_item_clear(&it);
    }
    assert_true(k > 0);
    assert_int_equal(ver, 2);
    assert_int_equal(store_last_seq(g_store, ACC), seq + 1);

    for (k = 0;; k++) {
        (void)mem_fail_after(k);
        e = store_item_list(g_store, ACC, V1, &list, &n);
        (void)mem_fail_after(-1);
        if (e == ERR_OK)
            break;
        assert_int_equal(e, ERR_NOMEM);
        assert_null(list);
        assert_int_equal(n, 0);
    }
    assert_int_equal(n, 2);
    store_item_list_free(list, n);

    for (k = 0;; k++) {
        (void)mem_fail_after(k);
        e = store_changes_since(g_store, ACC, 0, 100, NULL, &ch, &n, &next);
        (void)mem_fail_after(-1);
        if (e == ERR_OK)
            break;
        assert_int_equal(e, ERR_NOMEM);
        assert_null(ch);
    }
    assert_int_equal(n, seq + 1);
    store_change_list_free(ch, n);
}

/* ---- Copying a hub (sesame hub migrate) ------------------------------------------------ */

/* Compares the whole change feed of two stores. */
static void assert_same_feed(struct store *a, struct store *b)
{
    struct store_change *ca, *cb;
    uint64_t na_next, nb_next;
    size_t na, nb, i;

    assert_int_equal(store_changes_since(a, ACC, 0, STORE_MAX_PAGE, NULL, &ca, &na, &na_next),
                     ERR_OK);
    assert_int_equal(store_changes_since(b, ACC, 0, STORE_MAX_PAGE, NULL, &cb, &nb, &nb_next),
                     ERR_OK);
    assert_int_equal(na, nb);
    assert_int_equal(na_next, nb_next);
    for (i = 0; i < na; i++) {
        assert_int_equal(ca[i].ch_seq, cb[i].ch_seq);
        assert_int_equal(ca[i].ch_kind, cb[i].ch_kind);
        assert_string_equal(ca[i].ch_vault, cb[i].ch_vault);
        assert_string_equal(ca[i].ch_ref, cb[i].ch_ref);
        assert_string_equal(ca[i].ch_server, cb[i].ch_server);
        assert_string_equal(ca[i].ch_payload, cb[i].ch_payload);
        assert_int_equal(ca[i].ch_superseded_by, cb[i].ch_superseded_by);
        assert_int_equal(ca[i].ch_committed_at, cb[i].ch_committed_at);
    }
    store_change_list_free(ca, na);
    store_change_list_free(cb, nb);
}

/*
 * store_copy from a SQLite hub into the run's backend (SQLite, or PostgreSQL: the
 * `sesame hub migrate` path): every table, the same feed, orders kept, the sequences
 * continue, and a second copy into the now non-empty store is refused.
 */
static void test_copy(void **state)
{
    static const char *const entries[] = {"{\"n\":1}", "{\"n\":2}"};
    unsigned char content[] = "file ciphertext \0 with a NUL";
    unsigned char sess[STORE_SHA256_BYTES], secret[32], got_secret[32];
    struct store_file f = {.fi_size = 9, .fi_content = content, .fi_content_len = sizeof(content)};
    struct store *dst = g_store, *src = NULL;
    struct store_copy_report r;
    struct store_activity *act;
    struct store_session ss;
    struct store_item *items;
    struct store_file got;
    char err[256], path[PATH_MAX];
    uint64_t last, total = 0;
    size_t n, k;

    (void)state;
    (void)snprintf(path, sizeof(path), "%s/copy-src-%d.db", g_dir, ++g_counter);
    assert_int_equal(store_open(&src, path, err, sizeof(err)), ERR_OK);
    store_set_clock(src, test_clock, NULL);
    g_store = src;
    make_account(ACC);
    make_vault(ACC, V1);
    make_vault(ACC, V2);
    assert_int_equal(put_item(V1, I2, blob_a, sizeof(blob_a), 0, NULL), ERR_OK);
    assert_int_equal(put_item(V1, I1, blob_c, sizeof(blob_c), 0, NULL), ERR_OK);
    assert_int_equal(put_item(V1, I9, blob_a, sizeof(blob_a), 0, NULL), ERR_OK);
    assert_int_equal(put_item(V1, I2, blob_b, sizeof(blob_b), 1, NULL), ERR_OK);
    assert_int_equal(store_item_delete(g_store, ACC, V1, I9, ACC), ERR_OK);
    memcpy(f.fi_id, F1, ID_LEN + 1);
    memcpy(f.fi_vault, V1, ID_LEN + 1);
    assert_int_equal(hash_sha256(f.fi_sha256, content, sizeof(content)), ERR_OK);
    assert_int_equal(store_file_put(g_store, ACC, &f), ERR_OK);
    make_server(SA, "a");
    assert_int_equal(grant(SA, V1, blob_a, sizeof(blob_a)), ERR_OK);
    assert_int_equal(register_token(J1, SA), ERR_OK);
    assert_int_equal(store_activity_append(g_store, ACC, SA, T0 + 3, entries, 2), ERR_OK);
    assert_int_equal(store_nonce_use(g_store, ACC, "copied-nonce", T0 + 300), ERR_OK);
    memset(sess, 0x5a, sizeof(sess));
    assert_int_equal(store_session_create(g_store, sess, ACC, SA, T0 + 900), ERR_OK);
    memset(secret, 0x11, sizeof(secret));
    assert_int_equal(store_secret_share(src, "sync-challenge", secret, sizeof(secret), got_secret),
                     ERR_OK);
    last = store_last_seq(src, ACC);
    g_store = dst;

    assert_int_equal(store_copy(src, dst, &r, err, sizeof(err)), ERR_OK);
    assert_int_equal(r.cr_n, STORE_COPY_TABLES);
    for (k = 0; k < r.cr_n; k++) {
        static const struct {
            const char *name;
            uint64_t rows;
        } want[] = {{"accounts", 1},   {"signing_keys", 1}, {"vaults", 2},       {"items", 3},
                    {"files", 1},      {"servers", 1},      {"grants", 1},       {"tokens", 1},
                    {"changes", 0},    {"activity", 2},     {"admin_nonces", 1}, {"sessions", 1},
                    {"hub_secrets", 1}};
        assert_string_equal(r.cr_table[k], want[k].name);
        assert_int_equal(r.cr_rows[k], k == 8 ? last : want[k].rows);
    }
    assert_same_feed(src, dst);

    /* the listing order (the order the hub first stored them) is kept */
    assert_int_equal(store_item_list(dst, ACC, V1, &items, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(items[0].it_id, I2);
    assert_int_equal(items[0].it_version, 2);
    assert_int_equal(items[0].it_overview_len, sizeof(blob_b));
    assert_memory_equal(items[0].it_overview, blob_b, sizeof(blob_b));
    assert_string_equal(items[1].it_id, I1);
    store_item_list_free(items, n);
    assert_int_equal(store_file_get(dst, ACC, V1, F1, &got), ERR_OK);
    assert_int_equal(got.fi_content_len, sizeof(content));
    assert_memory_equal(got.fi_content, content, sizeof(content));
    assert_memory_equal(got.fi_sha256, f.fi_sha256, STORE_SHA256_BYTES);
    store_file_clear(&got);
    assert_int_equal(store_session_lookup(dst, sess, &ss), ERR_OK);
    assert_string_equal(ss.ss_server, SA);
    assert_int_equal(store_nonce_use(dst, ACC, "copied-nonce", T0 + 300), ERR_CONFLICT);
    memset(got_secret, 0, sizeof(got_secret));
    memset(sess, 0x22, sizeof(sess)); /* another candidate: the copied secret stays */
    assert_int_equal(store_secret_share(dst, "sync-challenge", sess, 32, got_secret), ERR_OK);
    assert_memory_equal(got_secret, secret, sizeof(secret));

    /* the sequences continue where the source stopped */
    assert_int_equal(put_item(V1, I1, blob_a, sizeof(blob_a), 0, NULL), ERR_OK);
    assert_int_equal(store_last_seq(dst, ACC), last + 1);
    assert_int_equal(store_activity_append(dst, ACC, SA, T0 + 4, entries, 1), ERR_OK);
    assert_int_equal(store_activity_query(dst, ACC, NULL, 10, 0, &act, &n, &total), ERR_OK);
    assert_int_equal(total, 3);
    assert_int_equal(act[2].av_id, 3);
    store_activity_list_free(act, n);

    /* only into an empty hub */
    assert_int_equal(store_copy(src, dst, &r, err, sizeof(err)), ERR_CONFLICT);
    assert_string_equal(
        err, "the destination database already holds a hub: copy only into an empty one");
    assert_int_equal(store_last_seq(dst, ACC), last + 1);
    store_close(src);
}

/* ---- Replicas: two stores on one PostgreSQL database ----------------------------------- */

static atomic_int g_peer_calls;
static atomic_ullong g_peer_seq;

static void peer_hook(void *arg, const char *account, uint64_t seq)
{
    (void)arg;
    if (account && strcmp(account, ACC) == 0) {
        atomic_fetch_add(&g_peer_calls, 1);
        if (seq > atomic_load(&g_peer_seq))
            atomic_store(&g_peer_seq, seq);
    }
}

/*
 * Two hub replicas share one database: each is told of the other's commits (LISTEN /
 * NOTIFY) - and not of its own twice -, and writers on both interleave into one gap-free
 * sequence in commit order while a reader checks every snapshot.
 */
static void test_replicas_share_the_feed(void **state)
{
    struct store *peer = NULL, *mine;
    struct store_change *ch;
    char err[256];
    uint64_t base, next;
    size_t n, i;
    int tries;

    (void)state;
    assert_int_equal(store_open(&peer, g_path, err, sizeof(err)), ERR_OK);
    store_set_clock(peer, test_clock, NULL);
    atomic_store(&g_peer_calls, 0);
    atomic_store(&g_peer_seq, 0);
    store_set_commit_hook(peer, peer_hook, NULL);
    make_account(ACC);
    make_vault(ACC, V1);
    /* the peer's listener connects in the background: commit until it hears one */
    for (tries = 0; tries < 100 && atomic_load(&g_peer_calls) == 0; tries++) {
        assert_int_equal(put_item(V1, I1, blob_a, sizeof(blob_a), 0, NULL), ERR_OK);
        usleep(100 * 1000);
    }
    assert_true(atomic_load(&g_peer_calls) > 0);
    assert_int_equal(atomic_load(&g_peer_seq), store_last_seq(g_store, ACC));
    assert_int_equal(store_last_seq(peer, ACC), store_last_seq(g_store, ACC));

    /* the peer's own commit runs its hook once, on its thread, and no second time (the
       notices of the loop's commits are let in first: on a loaded machine one came late) */
    usleep(500 * 1000);
    atomic_store(&g_peer_calls, 0);
    mine = g_store;
    g_store = peer;
    assert_int_equal(put_item(V1, I2, blob_a, sizeof(blob_a), 0, NULL), ERR_OK);
    g_store = mine;
    usleep(300 * 1000);
    assert_int_equal(atomic_load(&g_peer_calls), 1);
    store_set_commit_hook(peer, NULL, NULL);

    base = store_last_seq(g_store, ACC);
    run_writers(g_store, peer, base);
    assert_int_equal(store_last_seq(peer, ACC), base + WRITERS * PUTS);
    assert_int_equal(store_changes_since(peer, ACC, base, STORE_MAX_PAGE, NULL, &ch, &n, &next),
                     ERR_OK);
    assert_int_equal(n, WRITERS * PUTS);
    for (i = 0; i < n; i++)
        assert_int_equal(ch[i].ch_seq, base + 1 + i);
    store_change_list_free(ch, n);
    store_close(peer);
}

int main(void)
{
    const struct CMUnitTest sqlite_only[] = {
        cmocka_unit_test(test_open_refusals),
        cmocka_unit_test(test_open_foreign_files),
        cmocka_unit_test_teardown(test_open_creates_private_files, fx_teardown),
        cmocka_unit_test_setup_teardown(test_migration_reopen_keeps_data, fx_setup, fx_teardown),
        cmocka_unit_test(test_migration_future_version_refused),
        cmocka_unit_test(test_migration_failure_rolls_back),
        cmocka_unit_test_setup_teardown(test_deleted_ciphertext_is_erased, fx_setup, fx_teardown),
    };
    /* the store's rules: the same on every backend */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_accounts, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_signing_keys, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_vaults, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_items, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_item_pages, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_files, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_servers_and_grants, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_grant_change_payloads, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tokens, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_changes_paging, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_changes_server_filter, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_vault_delete_feed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_commit_hook, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_activity, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_nonces, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sessions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_secrets, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_sees_everything, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failures, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_copy, fx_setup, fx_teardown),
    };
    /* two stores on one database: what hub replicas rely on */
    const struct CMUnitTest pg_only[] = {
        cmocka_unit_test_setup_teardown(test_replicas_share_the_feed, fx_setup, fx_teardown),
    };
    const char *backend = getenv("TEST_HUB_STORE");
    int failed;

    if (backend && strcmp(backend, "pg") == 0) {
        if (pgtest_base_url(g_pg_base, sizeof(g_pg_base)) != 0) {
            printf("test_store: SKIP: no PostgreSQL test cluster (TEST_PG_URL_FILE)\n");
            return PGTEST_SKIP;
        }
        g_pg = 1;
        failed =
            cmocka_run_group_tests_name("store on PostgreSQL", tests, group_setup, group_teardown);
        return failed + cmocka_run_group_tests_name("replicas on PostgreSQL", pg_only, group_setup,
                                                    group_teardown);
    }
    failed = cmocka_run_group_tests_name("SQLite files", sqlite_only, group_setup, group_teardown);
    return failed +
           cmocka_run_group_tests_name("store on SQLite", tests, group_setup, group_teardown);
}
