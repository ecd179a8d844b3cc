/*
 * test_store_backup.c - store_backup_to (src/store/store.h): an online copy of a hub
 * database holds exactly the same rows as the source (every table compared cell by cell)
 * and opens as a store that continues the change feed; copies taken while a writer thread
 * commits are each one consistent snapshot and never block the writer; the copy is one
 * private self-contained file (0600, rollback journal, no -wal, no .tmp left); and every
 * refusal (existing output or .tmp, missing / foreign / empty / newer / corrupt source,
 * PostgreSQL and other URLs, bad paths) gives its error, one line, and leaves nothing.
 * Also the data directory's lock (hub/hub_backup.h) that keeps a restore off a running hub.
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
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "hub/hub_backup.h"
#include "store/store.h"

#define T0 1700000000LL

#define ACC  "A0000000000000000000000001"
#define V1   "v0000000000000000000000001"
#define V2   "v0000000000000000000000002"
#define I1   "i0000000000000000000000001"
#define I2   "i0000000000000000000000002"
#define I3   "i0000000000000000000000003"
#define F1   "f0000000000000000000000001"
#define SA   "s0000000000000000000000001"
#define J1   "j0000000000000000000000001"
#define JWK  "{\"kty\":\"EC\"}"
#define WRAP "{\"kty\":\"OKP\"}"
#define SHA  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static char g_dir[64];        /* the temporary directory of this run */
static int g_counter;         /* file names made so far */
static struct store *g_store; /* the source store of the current test */
static char g_src[PATH_MAX];  /* its file */

static unsigned char blob_a[] = {1, 2, 3};
static unsigned char blob_b[] = {4, 5, 6, 7};

static int64_t test_clock(void *arg)
{
    (void)arg;
    return T0;
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
    (void)snprintf(g_dir, sizeof(g_dir), "/tmp/sesame-backup-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    return nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes a fresh file name (not created) into out. */
static void fresh_path(char *out, size_t cap, const char *what)
{
    (void)snprintf(out, cap, "%s/%s%d.db", g_dir, what, ++g_counter);
}

/* Opens a new source store at g_src. */
static int fx_setup(void **state)
{
    char err[256];

    (void)state;
    fresh_path(g_src, sizeof(g_src), "src");
    if (store_open(&g_store, g_src, err, sizeof(err)) != ERR_OK) {
        print_error("store_open: %s\n", err);
        return -1;
    }
    store_set_clock(g_store, test_clock, NULL);
    return 0;
}

static int fx_teardown(void **state)
{
    (void)state;
    store_close(g_store);
    g_store = NULL;
    return 0;
}

static int exists(const char *path)
{
    struct stat sb;

    return lstat(path, &sb) == 0;
}

/* 1 if path + suffix exists. */
static int exists_with(const char *path, const char *suffix)
{
    char name[PATH_MAX + 16];

    (void)snprintf(name, sizeof(name), "%s%s", path, suffix);
    return exists(name);
}

/* The error message is one non-empty line. */
static void assert_one_line(const char *msg)
{
    assert_true(msg[0] != '\0');
    assert_null(strchr(msg, '\n'));
}

static void put_item(const char *vault, const char *id, unsigned char *ov, size_t ovlen)
{
    struct store_item it = {.it_category = "LOGIN",
                            .it_overview = ov,
                            .it_overview_len = ovlen,
                            .it_details = blob_b,
                            .it_details_len = sizeof(blob_b),
                            .it_last_edited_by = ACC};

    memcpy(it.it_vault, vault, ID_LEN + 1);
    memcpy(it.it_id, id, ID_LEN + 1);
    assert_int_equal(store_item_put(g_store, ACC, &it, 0), ERR_OK);
}

/* An account with something in every table: 2 vaults, 3 items (one deleted), a file, a
 * server with a grant, a token, activity, a nonce and a session. Returns the last seq. */
static uint64_t fill(void)
{
    static const char *const entries[] = {"{\"n\":1}", "{\"n\":2}"};
    struct store_account a = {.ac_admin_sign_jwk = JWK, .ac_admin_wrap_pub = WRAP};
    struct store_signing_key k = {.sk_kid = "k1", .sk_public_jwk = JWK};
    struct store_vault v = {.va_attrs_ct = blob_a,
                            .va_attrs_ct_len = sizeof(blob_a),
                            .va_key_admin = blob_b,
                            .va_key_admin_len = sizeof(blob_b),
                            .va_type = "USER_CREATED"};
    struct store_file f = {.fi_id = F1,
                           .fi_vault = V1,
                           .fi_size = 4,
                           .fi_content = blob_b,
                           .fi_content_len = sizeof(blob_b)};
    struct store_server sv = {.se_id = SA,
                              .se_name = "srv",
                              .se_sign_jwk = JWK,
                              .se_wrap_pub = WRAP,
                              .se_unlock_admin = blob_a,
                              .se_unlock_admin_len = sizeof(blob_a)};
    struct store_grant g = {.gr_server = SA,
                            .gr_vault = V1,
                            .gr_key_wrapped = blob_a,
                            .gr_key_wrapped_len = sizeof(blob_a)};
    struct store_token t = {.tk_jti = J1,
                            .tk_name = "ci",
                            .tk_server = SA,
                            .tk_vaults_json = "[{\"u\":\"" V1 "\",\"a\":1}]",
                            .tk_sha256 = SHA};
    unsigned char sess[STORE_SHA256_BYTES];

    memcpy(a.ac_id, ACC, ID_LEN + 1);
    assert_int_equal(store_account_create(g_store, &a, &k), ERR_OK);
    memcpy(v.va_id, V1, ID_LEN + 1);
    assert_int_equal(store_vault_create(g_store, ACC, &v), ERR_OK);
    memcpy(v.va_id, V2, ID_LEN + 1);
    assert_int_equal(store_vault_create(g_store, ACC, &v), ERR_OK);
    put_item(V1, I1, blob_a, sizeof(blob_a));
    put_item(V1, I2, blob_b, sizeof(blob_b));
    put_item(V2, I3, blob_a, sizeof(blob_a));
    assert_int_equal(store_item_delete(g_store, ACC, V1, I2, ACC), ERR_OK);
    assert_int_equal(hash_sha256(f.fi_sha256, blob_b, sizeof(blob_b)), ERR_OK);
    assert_int_equal(store_file_put(g_store, ACC, &f), ERR_OK);
    assert_int_equal(store_server_create(g_store, ACC, &sv), ERR_OK);
    assert_int_equal(store_grant_put(g_store, ACC, &g), ERR_OK);
    assert_int_equal(store_token_register(g_store, ACC, &t), ERR_OK);
    assert_int_equal(store_activity_append(g_store, ACC, SA, T0, entries, 2), ERR_OK);
    assert_int_equal(store_nonce_use(g_store, ACC, "nonce-1", T0 + 60), ERR_OK);
    memset(sess, 0x5a, sizeof(sess));
    assert_int_equal(store_session_create(g_store, sess, ACC, SA, T0 + 60), ERR_OK);
    return store_last_seq(g_store, ACC);
}

/*
 * Compares every table of the databases a and b cell by cell (type and bytes) in rowid
 * order, and their schemas. Returns the number of rows compared.
 */
static size_t assert_same_rows(const char *a, const char *b)
{
    sqlite3 *da, *db;
    sqlite3_stmt *tables;
    size_t rows = 0;

    assert_int_equal(sqlite3_open_v2(a, &da, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_open_v2(b, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(da,
                                        "SELECT name FROM sqlite_schema WHERE type = 'table' "
                                        "UNION ALL SELECT 'sqlite_schema' ORDER BY 1",
                                        -1, &tables, NULL),
                     SQLITE_OK);
    while (sqlite3_step(tables) == SQLITE_ROW) {
        char sql[256];
        sqlite3_stmt *sa, *sb;
        int ra, rb, i;

        (void)snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY %s",
                       (const char *)sqlite3_column_text(tables, 0),
                       strcmp((const char *)sqlite3_column_text(tables, 0), "sqlite_schema") == 0
                           ? "name"
                           : "rowid");
        assert_int_equal(sqlite3_prepare_v2(da, sql, -1, &sa, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &sb, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_column_count(sa), sqlite3_column_count(sb));
        for (;;) {
            ra = sqlite3_step(sa);
            rb = sqlite3_step(sb);
            assert_int_equal(ra, rb);
            if (ra != SQLITE_ROW)
                break;
            rows++;
            for (i = 0; i < sqlite3_column_count(sa); i++) {
                int ta = sqlite3_column_type(sa, i), na, nb;
                const void *pa, *pb;

                assert_int_equal(ta, sqlite3_column_type(sb, i));
                pa = sqlite3_column_blob(sa, i);
                pb = sqlite3_column_blob(sb, i);
                na = sqlite3_column_bytes(sa, i);
                nb = sqlite3_column_bytes(sb, i);
                assert_int_equal(na, nb);
                if (na > 0)
                    assert_memory_equal(pa, pb, (size_t)na);
            }
        }
        assert_int_equal(ra, SQLITE_DONE);
        sqlite3_finalize(sa);
        sqlite3_finalize(sb);
    }
    sqlite3_finalize(tables);
    sqlite3_close(da);
    sqlite3_close(db);
    return rows;
}

static int64_t pragma_int(const char *path, const char *sql)
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

static int64_t count_rows(const char *path, const char *table)
{
    char sql[128];

    (void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    return pragma_int(path, sql);
}

/* ---- The copy ------------------------------------------------------------------------- */

/* A copy taken with the source store open holds the same rows, in one private file. */
static void test_backup_same_rows(void **state)
{
    char out[PATH_MAX], err[512], text[16] = "";
    struct store_backup_info info;
    struct stat sb;
    uint64_t last;
    size_t rows;

    (void)state;
    last = fill();
    assert_int_equal(last, 12);
    fresh_path(out, sizeof(out), "copy");
    assert_int_equal(store_backup_to(g_src, out, &info, err, sizeof(err)), ERR_OK);
    assert_string_equal(err, "");
    assert_int_equal(info.bi_schema_version, STORE_SCHEMA_VERSION);

    /* one private, self-contained file; nothing else left */
    assert_int_equal(stat(out, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal((uint64_t)sb.st_size, info.bi_bytes);
    assert_false(exists_with(out, ".tmp"));
    assert_false(exists_with(out, "-wal"));
    assert_false(exists_with(out, "-shm"));
    assert_false(exists_with(out, "-journal"));
    assert_false(exists_with(out, ".tmp-journal"));
    {
        sqlite3 *db;
        sqlite3_stmt *st;

        assert_int_equal(sqlite3_open_v2(out, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        (void)snprintf(text, sizeof(text), "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    assert_string_equal(text, "delete");
    assert_int_equal(pragma_int(out, "PRAGMA application_id"), 1397052232);
    assert_int_equal(pragma_int(out, "PRAGMA user_version"), STORE_SCHEMA_VERSION);

    /* the same rows, table by table: what fill() made */
    rows = assert_same_rows(g_src, out);
    assert_int_equal(count_rows(out, "accounts"), 1);
    assert_int_equal(count_rows(out, "vaults"), 2);
    assert_int_equal(count_rows(out, "items"), 3);
    assert_int_equal(count_rows(out, "files"), 1);
    assert_int_equal(count_rows(out, "servers"), 1);
    assert_int_equal(count_rows(out, "grants"), 1);
    assert_int_equal(count_rows(out, "tokens"), 1);
    assert_int_equal(count_rows(out, "changes"), 12);
    assert_int_equal(count_rows(out, "activity"), 2);
    assert_true(rows > 30);

    /* the source still works and its later writes are not in the copy */
    put_item(V2, I1, blob_b, sizeof(blob_b));
    assert_int_equal(store_last_seq(g_store, ACC), 13);
    assert_int_equal(count_rows(out, "changes"), 12);
}

/* The copy opens as a store: same account, items, file and feed, and the feed goes on. */
static void test_backup_opens_as_store(void **state)
{
    char out[PATH_MAX], out2[PATH_MAX], err[512];
    struct store *copy = NULL;
    struct store_item it;
    struct store_file f;
    struct store_change *ch = NULL;
    struct store_item *list = NULL;
    size_t n = 0;
    uint64_t next = 0;

    (void)state;
    assert_int_equal(fill(), 12);
    fresh_path(out, sizeof(out), "copy");
    assert_int_equal(store_backup_to(g_src, out, NULL, err, sizeof(err)), ERR_OK);
    store_close(g_store); /* restore = the hub stopped, the copy in its place */
    g_store = NULL;
    assert_int_equal(store_open(&copy, out, err, sizeof(err)), ERR_OK);
    store_set_clock(copy, test_clock, NULL);
    assert_int_equal(store_last_seq(copy, ACC), 12);

    assert_int_equal(store_item_list(copy, ACC, V1, &list, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].it_id, I1);
    store_item_list_free(list, n);
    assert_int_equal(store_item_get(copy, ACC, V1, I1, &it), ERR_OK);
    assert_int_equal(it.it_version, 1);
    assert_int_equal(it.it_overview_len, sizeof(blob_a));
    assert_memory_equal(it.it_overview, blob_a, sizeof(blob_a));
    assert_int_equal(it.it_details_len, sizeof(blob_b));
    assert_memory_equal(it.it_details, blob_b, sizeof(blob_b));
    store_item_clear(&it);
    assert_int_equal(store_item_get(copy, ACC, V1, I2, &it), ERR_NOT_FOUND);
    assert_int_equal(store_file_get(copy, ACC, V1, F1, &f), ERR_OK);
    assert_int_equal(f.fi_content_len, sizeof(blob_b));
    assert_memory_equal(f.fi_content, blob_b, sizeof(blob_b));
    store_file_clear(&f);

    assert_int_equal(store_changes_since(copy, ACC, 0, STORE_MAX_PAGE, NULL, &ch, &n, &next),
                     ERR_OK);
    assert_int_equal(n, 12);
    assert_int_equal(next, 12);
    assert_int_equal(ch[0].ch_kind, STORE_CHANGE_ACCOUNT_CREATE);
    assert_int_equal(ch[5].ch_kind, STORE_CHANGE_ITEM_PUT); /* I2, then deleted */
    assert_int_equal(ch[7].ch_kind, STORE_CHANGE_ITEM_DELETE);
    assert_string_equal(ch[7].ch_ref, I2);
    assert_int_equal(ch[8].ch_kind, STORE_CHANGE_FILE_PUT);
    assert_int_equal(ch[11].ch_kind, STORE_CHANGE_TOKEN_REGISTER);
    assert_int_equal(ch[11].ch_seq, 12);
    store_change_list_free(ch, n);

    /* writes continue the feed with no gap; a backup of the restored store works too */
    {
        struct store_item w = {.it_id = I2,
                               .it_vault = V2,
                               .it_category = "LOGIN",
                               .it_overview = blob_a,
                               .it_overview_len = sizeof(blob_a),
                               .it_details = blob_a,
                               .it_details_len = sizeof(blob_a)};

        assert_int_equal(store_item_put(copy, ACC, &w, 0), ERR_OK);
    }
    assert_int_equal(store_last_seq(copy, ACC), 13);
    fresh_path(out2, sizeof(out2), "copy");
    assert_int_equal(store_backup_to(out, out2, NULL, err, sizeof(err)), ERR_OK);
    assert_int_equal(count_rows(out2, "changes"), 13);
    store_close(copy);
    (void)assert_same_rows(out, out2);
}

/* "sqlite:PATH" names the source as store_open takes it. */
static void test_backup_sqlite_url(void **state)
{
    char url[PATH_MAX + 8], out[PATH_MAX], err[512];

    (void)state;
    assert_int_equal(fill(), 12);
    (void)snprintf(url, sizeof(url), "sqlite:%s", g_src);
    fresh_path(out, sizeof(out), "copy");
    assert_int_equal(store_backup_to(url, out, NULL, err, sizeof(err)), ERR_OK);
    assert_int_equal(count_rows(out, "changes"), 12);
}

/* ---- Online: copies while a writer commits -------------------------------------------- */

#define WRITER_ITEMS 400

static atomic_int g_writer_done;
static atomic_int g_writer_errors;

static void *writer_main(void *arg)
{
    int k;

    (void)arg;
    for (k = 0; k < WRITER_ITEMS; k++) {
        struct store_item it = {.it_vault = V2,
                                .it_category = "LOGIN",
                                .it_overview = blob_a,
                                .it_overview_len = sizeof(blob_a),
                                .it_details = blob_b,
                                .it_details_len = sizeof(blob_b)};

        (void)snprintf(it.it_id, sizeof(it.it_id), "w%025d", k);
        if (store_item_put(g_store, ACC, &it, 0) != ERR_OK)
            atomic_fetch_add(&g_writer_errors, 1);
    }
    atomic_store(&g_writer_done, 1);
    return NULL;
}

/*
 * Copies taken while another thread commits one item per transaction: the writer never
 * fails, and every copy is one snapshot - its account's next_seq, its change count and its
 * item count agree (an item put is one change in the same transaction).
 */
static void test_backup_online_snapshots(void **state)
{
    char out[PATH_MAX], err[512];
    pthread_t th;
    int copies = 0, distinct = 0;
    int64_t prev = -1;

    (void)state;
    assert_int_equal(fill(), 12);
    atomic_store(&g_writer_done, 0);
    atomic_store(&g_writer_errors, 0);
    assert_int_equal(pthread_create(&th, NULL, writer_main, NULL), 0);
    while (!atomic_load(&g_writer_done) || copies < 3) {
        int64_t changes, items, next_seq;

        fresh_path(out, sizeof(out), "online");
        assert_int_equal(store_backup_to(g_src, out, NULL, err, sizeof(err)), ERR_OK);
        copies++;
        changes = count_rows(out, "changes");
        items = count_rows(out, "items");
        next_seq = pragma_int(out, "SELECT next_seq FROM accounts");
        assert_int_equal(next_seq, changes + 1);
        assert_int_equal(changes - 12, items - 3); /* fill(): 12 changes, 3 items */
        assert_true(changes >= prev);
        if (changes != prev)
            distinct++;
        prev = changes;
        (void)unlink(out);
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(atomic_load(&g_writer_errors), 0);
    assert_int_equal(store_last_seq(g_store, ACC), 12 + WRITER_ITEMS);
    assert_true(copies >= 3);
    assert_true(distinct >= 1);
    /* after the writer: the copy has everything */
    fresh_path(out, sizeof(out), "online");
    assert_int_equal(store_backup_to(g_src, out, NULL, err, sizeof(err)), ERR_OK);
    assert_int_equal(count_rows(out, "changes"), 12 + WRITER_ITEMS);
    (void)assert_same_rows(g_src, out);
}

/* ---- Refusals ------------------------------------------------------------------------- */

/* Writes len bytes of content to path (0600). */
static void write_file(const char *path, const void *content, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

/* Runs SQL on a new database file at path. */
static void make_sqlite(const char *path, const char *sql)
{
    sqlite3 *db;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* An existing output (or output.tmp) is never touched; the source must exist. */
static void test_backup_refuses_existing_output(void **state)
{
    char out[PATH_MAX], tmp[PATH_MAX + 8], missing[PATH_MAX], err[512], buf[16];
    int fd;

    (void)state;
    assert_int_equal(fill(), 12);
    fresh_path(out, sizeof(out), "exists");
    write_file(out, "precious", 8);
    assert_int_equal(store_backup_to(g_src, out, NULL, err, sizeof(err)), ERR_CONFLICT);
    assert_one_line(err);
    assert_non_null(strstr(err, "exists"));
    fd = open(out, O_RDONLY);
    assert_int_equal(read(fd, buf, sizeof(buf)), 8);
    (void)close(fd);
    assert_memory_equal(buf, "precious", 8);
    assert_false(exists_with(out, ".tmp"));

    /* a dangling symlink is "existing" too */
    fresh_path(out, sizeof(out), "link");
    assert_int_equal(symlink("/nonexistent/target", out), 0);
    assert_int_equal(store_backup_to(g_src, out, NULL, err, sizeof(err)), ERR_CONFLICT);

    /* out.tmp of another (or an interrupted) backup: refused, left as it is */
    fresh_path(out, sizeof(out), "busy");
    (void)snprintf(tmp, sizeof(tmp), "%s.tmp", out);
    write_file(tmp, "x", 1);
    assert_int_equal(store_backup_to(g_src, out, NULL, err, sizeof(err)), ERR_CONFLICT);
    assert_one_line(err);
    assert_non_null(strstr(err, ".tmp"));
    assert_true(exists(tmp));
    assert_false(exists(out));

    /* a missing source is not created */
    fresh_path(missing, sizeof(missing), "missing");
    fresh_path(out, sizeof(out), "out");
    assert_int_equal(store_backup_to(missing, out, NULL, err, sizeof(err)), ERR_NOT_FOUND);
    assert_one_line(err);
    assert_false(exists(missing));
    assert_false(exists(out));
    assert_false(exists_with(out, ".tmp"));
}

/* Sources that are not hub databases of this build, bad URLs and paths. */
static void test_backup_refusals(void **state)
{
    static const unsigned char junk[] = "this is not a database, just some text\n";
    char foreign[PATH_MAX], empty[PATH_MAX], newer[PATH_MAX], text[PATH_MAX], nodir[PATH_MAX];
    char out[PATH_MAX], err[512], sql[128];
    struct {
        const char *src;
        const char *dest; /* NULL: a fresh name in the test directory */
        enum err want;
        const char *says; /* in the message */
    } cases[] = {
        {foreign, NULL, ERR_STORAGE, "not a Sesame hub database"},
        {empty, NULL, ERR_STORAGE, "not a Sesame hub database"},
        {newer, NULL, ERR_STORAGE, "newer than this build"},
        {text, NULL, ERR_STORAGE, "not a database"},
        {g_dir, NULL, ERR_IO, "not a regular file"},
        {"postgresql://u:secret@db/hub", NULL, ERR_CONFIG, "pg_dump"},
        {"postgres://db/hub", NULL, ERR_CONFIG, "pg_dump"},
        {"mysql://db/hub", NULL, ERR_CONFIG, "unsupported database URL"},
        {":memory:", NULL, ERR_CONFIG, "file path"},
        {"sqlite:", NULL, ERR_CONFIG, "file path"},
        {"", NULL, ERR_CONFIG, "no database"},
        {g_src, "", ERR_CONFIG, "no output file"},
        {g_src, nodir, ERR_IO, "cannot create"},
    };
    size_t i;

    (void)state;
    assert_int_equal(fill(), 12);
    fresh_path(foreign, sizeof(foreign), "foreign");
    make_sqlite(foreign, "PRAGMA application_id = 42; CREATE TABLE t (x);");
    fresh_path(empty, sizeof(empty), "empty");
    write_file(empty, "", 0);
    fresh_path(newer, sizeof(newer), "newer");
    (void)snprintf(sql, sizeof(sql),
                   "PRAGMA application_id = 1397052232; PRAGMA user_version = %d;"
                   "CREATE TABLE t (x);",
                   STORE_SCHEMA_VERSION + 1);
    make_sqlite(newer, sql);
    fresh_path(text, sizeof(text), "text");
    write_file(text, junk, sizeof(junk) - 1);
    (void)snprintf(nodir, sizeof(nodir), "%s/no/such/dir/out.db", g_dir);

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *dest = cases[i].dest;

        if (!dest) {
            fresh_path(out, sizeof(out), "refused");
            dest = out;
        }
        print_message("case %zu: %s\n", i, cases[i].src);
        assert_int_equal(store_backup_to(cases[i].src, dest, NULL, err, sizeof(err)),
                         cases[i].want);
        assert_one_line(err);
        assert_non_null(strstr(err, cases[i].says));
        assert_null(strstr(err, "secret"));
        if (*dest) {
            assert_false(exists(dest));
            assert_false(exists_with(dest, ".tmp"));
            assert_false(exists_with(dest, ".tmp-journal"));
        }
    }
    /* the empty file was not turned into a database */
    {
        struct stat sb;

        assert_int_equal(stat(empty, &sb), 0);
        assert_int_equal(sb.st_size, 0);
    }
    assert_int_equal(store_backup_to(NULL, out, NULL, err, sizeof(err)), ERR_CONFIG);
    assert_int_equal(store_backup_to(g_src, NULL, NULL, err, sizeof(err)), ERR_CONFIG);
}

/* A source with a damaged page: the copy fails its integrity check and is removed. */
static void test_backup_refuses_corrupt_source(void **state)
{
    char out[PATH_MAX], err[512];
    unsigned char garbage[4096];
    int64_t pages, page_size;
    int fd, k;

    (void)state;
    assert_int_equal(fill(), 12);
    for (k = 0; k < 200; k++) {
        char id[ID_LEN + 1];

        (void)snprintf(id, sizeof(id), "c%025d", k);
        put_item(V2, id, blob_a, sizeof(blob_a));
    }
    store_close(g_store); /* checkpointed: everything is in the main file */
    g_store = NULL;
    pages = pragma_int(g_src, "PRAGMA page_count");
    page_size = pragma_int(g_src, "PRAGMA page_size");
    assert_true(pages > 4);
    assert_true(page_size > 0 && page_size <= (int64_t)sizeof(garbage));
    memset(garbage, 0xa5, sizeof(garbage));
    fd = open(g_src, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, garbage, (size_t)page_size, (off_t)((pages - 2) * page_size)),
                     (ssize_t)page_size);
    assert_int_equal(close(fd), 0);

    fresh_path(out, sizeof(out), "corrupt");
    assert_int_equal(store_backup_to(g_src, out, NULL, err, sizeof(err)), ERR_STORAGE);
    assert_one_line(err);
    print_message("corrupt source: %s\n", err);
    assert_false(exists(out));
    assert_false(exists_with(out, ".tmp"));
    assert_false(exists_with(out, ".tmp-journal"));
}

/* ---- The data directory's lock (hub_data_lock) ------------------------------------------- */

/* One holder at a time; released by close; the directory is made 0700; a file is refused. */
static void test_data_lock(void **state)
{
    char dir[PATH_MAX], lockf[PATH_MAX + 16], err[512];
    struct stat sb;
    int fd = -1, fd2 = -1;

    (void)state;
    (void)snprintf(dir, sizeof(dir), "%s/data%d", g_dir, ++g_counter);
    assert_int_equal(hub_data_lock(dir, &fd, err, sizeof(err)), ERR_OK);
    assert_true(fd >= 0);
    assert_int_equal(stat(dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 07777, 0700);
    (void)snprintf(lockf, sizeof(lockf), "%s/%s", dir, HUB_LOCK_FILE);
    assert_int_equal(stat(lockf, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);

    /* a second holder (another open file description, as another process) is refused */
    assert_int_equal(hub_data_lock(dir, &fd2, err, sizeof(err)), ERR_CONFLICT);
    assert_int_equal(fd2, -1);
    assert_one_line(err);
    assert_non_null(strstr(err, "a hub is running on"));
    assert_int_equal(close(fd), 0);
    assert_int_equal(hub_data_lock(dir, &fd2, err, sizeof(err)), ERR_OK);
    assert_int_equal(close(fd2), 0);

    /* a data directory that is a file, or whose parent is missing */
    assert_int_equal(hub_data_lock(lockf, &fd, err, sizeof(err)), ERR_IO);
    assert_int_equal(fd, -1);
    assert_one_line(err);
    (void)snprintf(dir, sizeof(dir), "%s/no/such", g_dir);
    assert_int_equal(hub_data_lock(dir, &fd, err, sizeof(err)), ERR_IO);
    assert_one_line(err);
    assert_false(exists(dir));
    assert_int_equal(hub_data_lock("", &fd, err, sizeof(err)), ERR_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backup_same_rows, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_backup_opens_as_store, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_backup_sqlite_url, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_backup_online_snapshots, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_backup_refuses_existing_output, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_backup_refusals, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_backup_refuses_corrupt_source, fx_setup, fx_teardown),
        cmocka_unit_test(test_data_lock),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
