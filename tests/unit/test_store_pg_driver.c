/*
 * test_store_pg_driver.c - the PostgreSQL driver itself (store_db_pg, src/store/store_pg.c)
 * through its table of functions, against the test cluster (ctest's pg fixture; skipped,
 * exit 77, without it). Each case has a database of its own. Covered: migrations (fresh,
 * again, two at once, refusals), every parameter kind and column type round-tripped,
 * errors by SQLSTATE, changes counted, transactions (rollback, a commit of a failed one,
 * two writes of one account serialised), commit notices through the listener (delivered,
 * malformed ones dropped, rolled-back ones never sent, reconnects said with NULL),
 * connections the server ends, and passwords kept out of messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "store/store.h"
#include "store/store_db.h"

#include "pgtest.h"

#define ACC        "A0000000000000000000000001"
#define WAIT_MS    10000 /* a condition the test waits for, at most */
#define POLL_MS    20    /* how often it looks */
#define NOTICES    16    /* notices a recorder keeps */
#define PASSWORD_1 "Wr0ngSecretPassw0rd"
#define PASSWORD_2 "Zq7SecretPart"

static const struct sdb_driver *const D = &store_db_pg;

static char g_base[PGTEST_URL_MAX]; /* the cluster */
static char g_url[PGTEST_URL_MAX];  /* this case's database */

/* Statement ids of the tests (one SQL text per id and connection). */
enum {
    T_CREATE,
    T_INSERT,
    T_SELECT,
    T_TYPES,
    T_NUMERIC,
    T_UPDATE,
    T_DELETE_NONE,
    T_COUNT,
    T_ACCOUNT_INSERT,
    T_KEY_INSERT,
    T_NEXT_SEQ,
    T_BUMP_SEQ,
    T_PID,
    T_ONE,
};

static int case_setup(void **state)
{
    (void)state;
    return pgtest_new_database(g_base, g_url, sizeof(g_url));
}

/* The name of the database in g_url (after its last '/'). */
static const char *db_name(void)
{
    return strrchr(g_url, '/') + 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Runs sql on this case's database outside the driver; its integer, or -1. */
static long long on_db(const char *sql)
{
    return pgtest_query_int(g_url, sql);
}

/* Waits until on_db(sql) returns at least want; returns 1 if it did in time. */
static int wait_db(const char *sql, long long want)
{
    int64_t end = now_ms() + WAIT_MS;

    while (now_ms() < end) {
        if (on_db(sql) >= want)
            return 1;
        sleep_ms(POLL_MS);
    }
    return 0;
}

static struct sdb_conn *open_conn(void)
{
    struct sdb_conn *c = NULL;
    char err[256];

    assert_int_equal(D->dr_connect(g_url, &c, err, sizeof(err)), ERR_OK);
    assert_non_null(c);
    return c;
}

static struct sdb_conn *open_migrated(void)
{
    struct sdb_conn *c = open_conn();
    char err[256];

    assert_int_equal(D->dr_migrate(c, err, sizeof(err)), ERR_OK);
    return c;
}

/* Runs statement id (sql expanded from a template) with params to its end. */
static enum err run(struct sdb_conn *c, unsigned id, const char *tmpl, const struct sdb_param *p,
                    size_t n)
{
    char *sql = store_sql_expand(SDB_PG, tmpl);
    struct sdb_stmt *st = NULL;
    enum err e;
    int row = 1;

    assert_non_null(sql);
    e = D->dr_start(c, id, sql, p, n, &st);
    while (e == ERR_OK && row)
        e = D->dr_step(st, &row);
    D->dr_done(st);
    mem_free(sql);
    return e;
}

/* Reads a one-row integer query (no parameters) through the driver. */
static int64_t query_int(struct sdb_conn *c, unsigned id, const char *sql)
{
    struct sdb_stmt *st = NULL;
    int64_t v;
    int row = 0;

    assert_int_equal(D->dr_start(c, id, sql, NULL, 0, &st), ERR_OK);
    assert_int_equal(D->dr_step(st, &row), ERR_OK);
    assert_int_equal(row, 1);
    v = D->dr_col_int(st, 0);
    D->dr_done(st);
    return v;
}

static struct sdb_param p_int(int64_t v)
{
    struct sdb_param p = {.pa_kind = SDB_INT, .pa_int = v};

    return p;
}

static struct sdb_param p_text(const char *s)
{
    struct sdb_param p = {.pa_kind = SDB_TEXT, .pa_ptr = s};

    return p;
}

static struct sdb_param p_blob(const void *b, size_t n)
{
    struct sdb_param p = {.pa_kind = SDB_BLOB, .pa_ptr = b, .pa_len = n};

    return p;
}

static struct sdb_param p_null(void)
{
    struct sdb_param p = {.pa_kind = SDB_NULL};

    return p;
}

/* Inserts account id (next_seq 1) in autocommit. */
static enum err add_account(struct sdb_conn *c, const char *id)
{
    struct sdb_param p[] = {p_text(id), p_text("{}"), p_text("{}"), p_int(1)};

    return run(c, T_ACCOUNT_INSERT,
               "INSERT INTO accounts (id, admin_sign_jwk, admin_wrap_pub, created_at, next_seq)"
               " VALUES (?1, ?2, ?3, ?4, 1)",
               p, 4);
}

/* ---- Migrations ---------------------------------------------------------------------- */

static void test_migrate_fresh_and_again(void **state)
{
    struct sdb_conn *c = open_conn();
    int64_t v = -1;
    char err[256];

    (void)state;
    assert_int_equal(D->dr_schema_version(c, &v, err, sizeof(err)), ERR_OK);
    assert_int_equal(v, 0);
    assert_int_equal(D->dr_migrate(c, err, sizeof(err)), ERR_OK);
    assert_int_equal(D->dr_schema_version(c, &v, err, sizeof(err)), ERR_OK);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    assert_int_equal(on_db("SELECT version FROM sesame_schema WHERE application = 'sesame-hub'"),
                     STORE_SCHEMA_VERSION);
    /* again: nothing to do, nothing changed */
    assert_int_equal(D->dr_migrate(c, err, sizeof(err)), ERR_OK);
    assert_int_equal(D->dr_schema_version(c, &v, err, sizeof(err)), ERR_OK);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    assert_int_equal(on_db("SELECT count(*) FROM sesame_schema"), 1);
    assert_int_equal(on_db("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 14);
    assert_true(D->dr_usable(c));
    D->dr_disconnect(c);
}

static void *migrator(void *arg)
{
    struct sdb_conn *c = NULL;
    char err[256];
    enum err e;

    e = D->dr_connect(g_url, &c, err, sizeof(err));
    if (e == ERR_OK)
        e = D->dr_migrate(c, err, sizeof(err));
    D->dr_disconnect(c);
    *(enum err *)arg = e;
    return NULL;
}

static void test_migrate_concurrently(void **state)
{
    enum err res[2] = {ERR_INTERNAL, ERR_INTERNAL};
    pthread_t t[2];
    int i;

    (void)state;
    for (i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, migrator, &res[i]), 0);
    for (i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(res[i], ERR_OK);
    }
    assert_int_equal(on_db("SELECT version FROM sesame_schema"), STORE_SCHEMA_VERSION);
    assert_int_equal(on_db("SELECT count(*) FROM sesame_schema"), 1);
}

static void test_migrate_refuses_foreign_database(void **state)
{
    struct sdb_conn *c;
    int64_t v = -1;
    char err[256];

    (void)state;
    assert_int_equal(on_db("CREATE TABLE payroll (x int)"), 0);
    c = open_conn();
    assert_int_equal(D->dr_migrate(c, err, sizeof(err)), ERR_STORAGE);
    assert_string_equal(err, "not a Sesame hub database (it holds other tables)");
    assert_int_equal(D->dr_schema_version(c, &v, err, sizeof(err)), ERR_STORAGE);
    assert_string_equal(err, "not a Sesame hub database (it holds other tables)");
    /* nothing was created, and the connection is still fine */
    assert_int_equal(on_db("SELECT count(*) FROM pg_tables WHERE tablename = 'sesame_schema'"), 0);
    assert_true(D->dr_usable(c));
    assert_int_equal(query_int(c, T_ONE, "SELECT 1"), 1);
    D->dr_disconnect(c);
}

static void test_migrate_refuses_newer_or_other(void **state)
{
    struct sdb_conn *c = open_migrated();
    char err[256], want[160], sql[128];
    int64_t v = -1;

    (void)state;
    (void)snprintf(sql, sizeof(sql), "UPDATE sesame_schema SET version = %d",
                   STORE_SCHEMA_VERSION + 1);
    assert_int_equal(on_db(sql), 0);
    (void)snprintf(want, sizeof(want),
                   "the database schema version %d is newer than this build supports (%d): "
                   "upgrade Sesame",
                   STORE_SCHEMA_VERSION + 1, STORE_SCHEMA_VERSION);
    assert_int_equal(D->dr_migrate(c, err, sizeof(err)), ERR_STORAGE);
    assert_string_equal(err, want);
    assert_int_equal(D->dr_schema_version(c, &v, err, sizeof(err)), ERR_STORAGE);
    assert_string_equal(err, want);
    assert_int_equal(on_db("UPDATE sesame_schema SET version = 1, application = 'other'"), 0);
    assert_int_equal(D->dr_migrate(c, err, sizeof(err)), ERR_STORAGE);
    assert_string_equal(err, "not a Sesame hub database (sesame_schema names another application)");
    assert_int_equal(on_db("SELECT version FROM sesame_schema"), 1); /* not migrated */
    D->dr_disconnect(c);
}

/* ---- Statements ------------------------------------------------------------------------ */

static void test_params_and_columns_round_trip(void **state)
{
    static const unsigned char bin[] = {0x00, 0xff, 0x00, 'a', 0x00, 0x80, 0x0a, 0x00};
    struct sdb_conn *c = open_conn();
    struct sdb_stmt *st = NULL;
    const unsigned char *b;
    size_t len;
    int row = 0;

    (void)state;
    assert_int_equal(run(c, T_CREATE,
                         "CREATE TABLE t (k {int} PRIMARY KEY, s TEXT, b {blob}, n {int})", NULL,
                         0),
                     ERR_OK);
    {
        struct sdb_param a[] = {p_int(INT64_MIN), p_text("h\xc3\xa9llo, w\xc3\xb6rld"),
                                p_blob(bin, sizeof(bin)), p_int(-1)};
        struct sdb_param z[] = {p_int(INT64_MAX), p_text(""), p_blob(NULL, 0), p_null()};
        struct sdb_param m[] = {p_int(0), p_null(), p_null(), p_int(1)};
        const char *ins = "INSERT INTO t (k, s, b, n) VALUES (?1, ?2, ?3, ?4)";

        assert_int_equal(run(c, T_INSERT, ins, a, 4), ERR_OK);
        assert_int_equal(D->dr_changes(c), 1);
        assert_int_equal(run(c, T_INSERT, ins, z, 4), ERR_OK);
        assert_int_equal(run(c, T_INSERT, ins, m, 4), ERR_OK);
        /* the count of values must be the statement's */
        assert_int_equal(run(c, T_INSERT, ins, a, 3), ERR_INTERNAL);
        assert_int_equal(on_db("SELECT count(*) FROM t"), 3);
    }
    assert_int_equal(D->dr_start(c, T_SELECT, "SELECT k, s, b, n FROM t ORDER BY k", NULL, 0, &st),
                     ERR_OK);
    /* INT64_MIN, text, binary blob with NULs */
    assert_int_equal(D->dr_step(st, &row), ERR_OK);
    assert_int_equal(row, 1);
    assert_true(D->dr_col_int(st, 0) == INT64_MIN);
    b = D->dr_col_bytes(st, 1, &len);
    assert_non_null(b);
    assert_int_equal(len, strlen("h\xc3\xa9llo, w\xc3\xb6rld"));
    assert_string_equal((const char *)b, "h\xc3\xa9llo, w\xc3\xb6rld");
    b = D->dr_col_bytes(st, 2, &len);
    assert_int_equal(len, sizeof(bin));
    assert_memory_equal(b, bin, sizeof(bin));
    assert_int_equal(D->dr_col_int(st, 3), -1);
    assert_false(D->dr_col_null(st, 3));
    /* 0: NULLs */
    assert_int_equal(D->dr_step(st, &row), ERR_OK);
    assert_int_equal(row, 1);
    assert_int_equal(D->dr_col_int(st, 0), 0);
    assert_true(D->dr_col_null(st, 1));
    assert_true(D->dr_col_null(st, 2));
    len = 99;
    assert_null(D->dr_col_bytes(st, 2, &len));
    assert_int_equal(len, 0);
    /* INT64_MAX, empty text, empty blob (not NULL), NULL integer (0) */
    assert_int_equal(D->dr_step(st, &row), ERR_OK);
    assert_int_equal(row, 1);
    assert_true(D->dr_col_int(st, 0) == INT64_MAX);
    assert_false(D->dr_col_null(st, 1));
    b = D->dr_col_bytes(st, 1, &len);
    assert_non_null(b);
    assert_int_equal(len, 0);
    assert_false(D->dr_col_null(st, 2));
    b = D->dr_col_bytes(st, 2, &len);
    assert_non_null(b);
    assert_int_equal(len, 0);
    assert_true(D->dr_col_null(st, 3));
    assert_int_equal(D->dr_col_int(st, 3), 0);
    assert_int_equal(D->dr_step(st, &row), ERR_OK);
    assert_int_equal(row, 0);
    D->dr_done(st);
    D->dr_done(NULL);

    /* a parameter of the WHERE clause, and an empty result */
    {
        struct sdb_param k[] = {p_int(42)};

        assert_int_equal(run(c, T_UPDATE, "UPDATE t SET n = n + 1 WHERE k <> ?1", k, 1), ERR_OK);
        assert_int_equal(D->dr_changes(c), 3);
        assert_int_equal(query_int(c, T_COUNT, "SELECT count(*) FROM t"), 3);
        assert_int_equal(D->dr_changes(c), 3); /* a SELECT is not a change */
        assert_int_equal(run(c, T_DELETE_NONE, "DELETE FROM t WHERE k = ?1", k, 1), ERR_OK);
        assert_int_equal(D->dr_changes(c), 0);
    }
    D->dr_disconnect(c);
}

static void test_column_types(void **state)
{
    struct sdb_conn *c = open_conn();
    struct sdb_stmt *st = NULL;
    size_t len;
    int row = 0;

    (void)state;
    assert_int_equal(D->dr_start(c, T_TYPES,
                                 "SELECT (-2)::int2, (-70000)::int4, true, false,"
                                 " 'va'::varchar, 'c'::char(3), 'nm'::name",
                                 NULL, 0, &st),
                     ERR_OK);
    assert_int_equal(D->dr_step(st, &row), ERR_OK);
    assert_int_equal(row, 1);
    assert_int_equal(D->dr_col_int(st, 0), -2);
    assert_int_equal(D->dr_col_int(st, 1), -70000);
    assert_int_equal(D->dr_col_int(st, 2), 1);
    assert_int_equal(D->dr_col_int(st, 3), 0);
    assert_string_equal((const char *)D->dr_col_bytes(st, 4, &len), "va");
    assert_int_equal(len, 2);
    assert_string_equal((const char *)D->dr_col_bytes(st, 5, &len), "c  ");
    assert_int_equal(len, 3);
    assert_string_equal((const char *)D->dr_col_bytes(st, 6, &len), "nm");
    assert_int_equal(D->dr_step(st, &row), ERR_OK);
    assert_int_equal(row, 0);
    D->dr_done(st);

    /* a type the driver does not decode: 0 / NULL, and the next step fails */
    assert_int_equal(
        D->dr_start(c, T_NUMERIC, "SELECT 1.5::numeric FROM generate_series(1, 2)", NULL, 0, &st),
        ERR_OK);
    assert_int_equal(D->dr_step(st, &row), ERR_OK);
    assert_int_equal(row, 1);
    assert_int_equal(D->dr_col_int(st, 0), 0);
    assert_null(D->dr_col_bytes(st, 0, &len));
    assert_int_equal(D->dr_step(st, &row), ERR_STORAGE);
    assert_int_equal(row, 0);
    D->dr_done(st);
    /* the statement can run again, and the connection is fine */
    assert_int_equal(
        D->dr_start(c, T_NUMERIC, "SELECT 1.5::numeric FROM generate_series(1, 2)", NULL, 0, &st),
        ERR_OK);
    D->dr_done(st);
    assert_true(D->dr_usable(c));
    D->dr_disconnect(c);
}

static void test_errors_by_sqlstate(void **state)
{
    struct sdb_conn *c = open_migrated();
    struct sdb_param key[] = {p_text("B0000000000000000000000001"), p_text("1"), p_text("{}"),
                              p_int(1)};
    const char *key_sql = "INSERT INTO signing_keys (account_id, kid, public_jwk, created_at) "
                          "VALUES (?1, ?2, ?3, ?4)";

    (void)state;
    assert_int_equal(add_account(c, ACC), ERR_OK);
    assert_int_equal(add_account(c, ACC), ERR_CONFLICT);                    /* 23505 */
    assert_int_equal(run(c, T_KEY_INSERT, key_sql, key, 4), ERR_NOT_FOUND); /* 23503 */
    key[0] = p_text(ACC);
    assert_int_equal(run(c, T_KEY_INSERT, key_sql, key, 4), ERR_OK);
    assert_int_equal(run(c, T_KEY_INSERT, key_sql, key, 4), ERR_CONFLICT);
    /* a syntax error, and a constraint that is not a key: ERR_STORAGE */
    assert_int_equal(run(c, T_CREATE, "SELEC 1", NULL, 0), ERR_STORAGE);
    assert_int_equal(run(c, T_BUMP_SEQ, "UPDATE accounts SET next_seq = 0", NULL, 0), ERR_STORAGE);
    assert_true(D->dr_usable(c));
    D->dr_disconnect(c);
}

/* ---- Transactions -------------------------------------------------------------------- */

static void test_rollback_and_commit(void **state)
{
    struct sdb_conn *c = open_migrated();

    (void)state;
    assert_int_equal(D->dr_begin(c, SDB_TX_WRITE, NULL), ERR_OK);
    assert_int_equal(add_account(c, ACC), ERR_OK);
    D->dr_rollback(c);
    assert_int_equal(on_db("SELECT count(*) FROM accounts"), 0);
    D->dr_rollback(c); /* none open: nothing */

    assert_int_equal(D->dr_begin(c, SDB_TX_WRITE, NULL), ERR_OK);
    assert_int_equal(add_account(c, ACC), ERR_OK);
    assert_int_equal(on_db("SELECT count(*) FROM accounts"), 0); /* not yet */
    assert_int_equal(D->dr_commit(c, NULL), ERR_OK);
    assert_int_equal(on_db("SELECT count(*) FROM accounts"), 1);

    /* a transaction a statement failed in cannot commit; the connection stays usable */
    assert_int_equal(D->dr_begin(c, SDB_TX_WRITE, ACC), ERR_OK);
    assert_int_equal(add_account(c, ACC), ERR_CONFLICT);
    assert_int_equal(D->dr_commit(c, NULL), ERR_STORAGE);
    assert_true(D->dr_usable(c));

    /* a read transaction is read only */
    assert_int_equal(D->dr_begin(c, SDB_TX_READ, NULL), ERR_OK);
    assert_int_equal(query_int(c, T_COUNT, "SELECT count(*) FROM accounts"), 1);
    assert_int_equal(add_account(c, "C0000000000000000000000001"), ERR_STORAGE);
    D->dr_rollback(c);
    assert_int_equal(D->dr_begin(c, SDB_TX_READ, NULL), ERR_OK);
    assert_int_equal(D->dr_commit(c, NULL), ERR_OK);
    D->dr_disconnect(c);
}

struct second_writer {
    atomic_int sw_first_done; /* set by the first writer just before it commits */
    int sw_saw_first_done;    /* the second writer's lock came after that */
    int64_t sw_next_seq;      /* what the second writer read */
    enum err sw_err;
};

static void *second_writer_main(void *arg)
{
    struct second_writer *w = arg;
    struct sdb_conn *c = NULL;
    char err[256];

    w->sw_err = D->dr_connect(g_url, &c, err, sizeof(err));
    if (w->sw_err == ERR_OK)
        w->sw_err = D->dr_begin(c, SDB_TX_WRITE, ACC); /* blocks until the first commits */
    if (w->sw_err == ERR_OK) {
        w->sw_saw_first_done = atomic_load(&w->sw_first_done);
        w->sw_next_seq = query_int(c, T_NEXT_SEQ, "SELECT next_seq FROM accounts");
        w->sw_err = D->dr_commit(c, NULL);
    }
    D->dr_disconnect(c);
    return NULL;
}

static void test_writes_of_one_account_serialise(void **state)
{
    struct sdb_conn *c = open_migrated();
    struct second_writer w;
    pthread_t t;
    char sql[256];

    (void)state;
    memset(&w, 0, sizeof(w));
    assert_int_equal(add_account(c, ACC), ERR_OK);
    assert_int_equal(D->dr_begin(c, SDB_TX_WRITE, ACC), ERR_OK);
    assert_int_equal(run(c, T_BUMP_SEQ, "UPDATE accounts SET next_seq = next_seq + 1", NULL, 0),
                     ERR_OK);
    assert_int_equal(pthread_create(&t, NULL, second_writer_main, &w), 0);
    /* the second writer is waiting for the account's row lock (seen by the server) */
    (void)snprintf(sql, sizeof(sql),
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'"
                   " AND wait_event_type = 'Lock' AND query LIKE '%%FOR UPDATE%%'",
                   db_name());
    assert_true(wait_db(sql, 1));
    atomic_store(&w.sw_first_done, 1);
    assert_int_equal(D->dr_commit(c, NULL), ERR_OK);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(w.sw_err, ERR_OK);
    assert_int_equal(w.sw_saw_first_done, 1);
    assert_int_equal(w.sw_next_seq, 2); /* the first's committed write, read after the lock */

    /* writes of no one account serialise among themselves too (the advisory lock) */
    assert_int_equal(D->dr_begin(c, SDB_TX_WRITE, NULL), ERR_OK);
    (void)snprintf(sql, sizeof(sql),
                   "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                   " WHERE a.datname = '%s' AND l.locktype = 'advisory' AND l.granted",
                   db_name());
    assert_int_equal(on_db(sql), 1);
    D->dr_rollback(c);
    assert_int_equal(on_db(sql), 0);
    D->dr_disconnect(c);
}

/* ---- Commit notices ------------------------------------------------------------------ */

struct recorder {
    pthread_mutex_t rc_lock;
    char rc_notice[NOTICES][STORE_DB_NOTICE_MAX];
    int rc_n;       /* notices recorded */
    int rc_resyncs; /* calls with NULL */
};

static void record(void *arg, const char *notice)
{
    struct recorder *r = arg;

    pthread_mutex_lock(&r->rc_lock);
    if (!notice)
        r->rc_resyncs++;
    else if (r->rc_n < NOTICES)
        (void)snprintf(r->rc_notice[r->rc_n++], STORE_DB_NOTICE_MAX, "%s", notice);
    pthread_mutex_unlock(&r->rc_lock);
}

/* Waits until r has at least n notices and resyncs; returns 1 if it did in time. */
static int wait_recorded(struct recorder *r, int n, int resyncs)
{
    int64_t end = now_ms() + WAIT_MS;
    int ok = 0;

    while (!ok && now_ms() < end) {
        pthread_mutex_lock(&r->rc_lock);
        ok = r->rc_n >= n && r->rc_resyncs >= resyncs;
        pthread_mutex_unlock(&r->rc_lock);
        if (!ok)
            sleep_ms(POLL_MS);
    }
    return ok;
}

/* Commits a write of ACC with notice. */
static void commit_notice(struct sdb_conn *c, const char *notice)
{
    assert_int_equal(D->dr_begin(c, SDB_TX_WRITE, ACC), ERR_OK);
    assert_int_equal(run(c, T_BUMP_SEQ, "UPDATE accounts SET next_seq = next_seq + 1", NULL, 0),
                     ERR_OK);
    assert_int_equal(D->dr_commit(c, notice), ERR_OK);
}

static void test_notices_reach_the_listener(void **state)
{
    struct sdb_conn *c = open_migrated();
    struct sdb_listener *l = NULL;
    struct recorder r;
    char sql[256], err[256];

    (void)state;
    memset(&r, 0, sizeof(r));
    pthread_mutex_init(&r.rc_lock, NULL);
    assert_int_equal(add_account(c, ACC), ERR_OK);
    assert_int_equal(D->dr_listen_start(g_url, record, &r, &l, err, sizeof(err)), ERR_OK);
    assert_non_null(l);
    (void)snprintf(sql, sizeof(sql),
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'"
                   " AND application_name = 'sesame-hub' AND query LIKE 'LISTEN%%'",
                   db_name());
    assert_true(wait_db(sql, 1));

    /* a rolled-back notice is never sent; malformed ones are dropped; the rest arrive in
       commit order, as given */
    assert_int_equal(D->dr_begin(c, SDB_TX_WRITE, ACC), ERR_OK);
    assert_int_equal(run(c, T_BUMP_SEQ, "UPDATE accounts SET next_seq = next_seq + 1", NULL, 0),
                     ERR_OK);
    D->dr_rollback(c);
    assert_int_equal(on_db("SELECT count(pg_notify('sesame_changes', 'bad notice!'))"), 1);
    assert_int_equal(on_db("SELECT count(pg_notify('other_channel', 'A:1:B'))"), 1);
    commit_notice(c, ACC ":2:ORIGIN0000000000000000001");
    commit_notice(c, ACC ":3:ORIGIN0000000000000000001");
    assert_true(wait_recorded(&r, 2, 0));
    pthread_mutex_lock(&r.rc_lock);
    assert_int_equal(r.rc_n, 2);
    assert_string_equal(r.rc_notice[0], ACC ":2:ORIGIN0000000000000000001");
    assert_string_equal(r.rc_notice[1], ACC ":3:ORIGIN0000000000000000001");
    assert_int_equal(r.rc_resyncs, 0);
    pthread_mutex_unlock(&r.rc_lock);

    /* its connection ended by the server: it reconnects, says so, and hears again */
    (void)snprintf(sql, sizeof(sql),
                   "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
                   " WHERE datname = '%s' AND application_name = 'sesame-hub'"
                   " AND query LIKE 'LISTEN%%'",
                   db_name());
    assert_int_equal(on_db(sql), 1);
    assert_true(wait_recorded(&r, 2, 1));
    commit_notice(c, ACC ":4:X");
    assert_true(wait_recorded(&r, 3, 1));
    pthread_mutex_lock(&r.rc_lock);
    assert_string_equal(r.rc_notice[2], ACC ":4:X");
    assert_int_equal(r.rc_resyncs, 1);
    pthread_mutex_unlock(&r.rc_lock);
    D->dr_listen_stop(l);
    D->dr_disconnect(c);
    pthread_mutex_destroy(&r.rc_lock);
}

/* A server that is not there: the listener starts anyway, keeps trying, stops at once. */
static void test_listener_without_server(void **state)
{
    struct sdb_listener *l = NULL;
    struct recorder r;
    char err[256];
    int64_t t0;

    (void)state;
    memset(&r, 0, sizeof(r));
    pthread_mutex_init(&r.rc_lock, NULL);
    assert_int_equal(D->dr_listen_start("postgresql://sesame:pw@127.0.0.1:1/sesame", record, &r, &l,
                                        err, sizeof(err)),
                     ERR_OK);
    sleep_ms(300); /* a few attempts */
    t0 = now_ms();
    D->dr_listen_stop(l);
    assert_true(now_ms() - t0 < 2000);
    assert_int_equal(r.rc_n, 0);
    assert_int_equal(r.rc_resyncs, 0);
    pthread_mutex_destroy(&r.rc_lock);
}

/* ---- Connections ------------------------------------------------------------------- */

/* Ends the backend of c from outside (as a restart or failover would). */
static void terminate(struct sdb_conn *c)
{
    char sql[128];
    int64_t pid = query_int(c, T_PID, "SELECT pg_backend_pid()");

    (void)snprintf(sql, sizeof(sql), "SELECT count(pg_terminate_backend(%lld, 5000))",
                   (long long)pid);
    assert_int_equal(on_db(sql), 1);
}

static void test_terminated_connection(void **state)
{
    struct sdb_conn *c = open_migrated();
    struct sdb_stmt *st = (struct sdb_stmt *)&st;

    (void)state;
    assert_true(D->dr_usable(c));
    terminate(c);
    assert_false(D->dr_usable(c)); /* found without a round trip */
    assert_int_equal(D->dr_start(c, T_ONE, "SELECT 1", NULL, 0, &st), ERR_STORAGE);
    assert_null(st);
    assert_int_equal(D->dr_begin(c, SDB_TX_READ, NULL), ERR_STORAGE);
    D->dr_rollback(c);
    D->dr_disconnect(c);

    /* in the middle of a transaction */
    c = open_migrated();
    assert_int_equal(D->dr_begin(c, SDB_TX_WRITE, NULL), ERR_OK);
    terminate(c);
    assert_int_equal(add_account(c, ACC), ERR_STORAGE);
    assert_false(D->dr_usable(c));
    assert_int_equal(D->dr_commit(c, "A:1:B"), ERR_STORAGE);
    D->dr_rollback(c);
    D->dr_disconnect(c);
    assert_int_equal(on_db("SELECT count(*) FROM accounts"), 0);
}

/* No message of the driver holds a password. */
static void test_passwords_stay_out_of_messages(void **state)
{
    static const struct {
        const char *u_prefix;
        int u_host; /* followed by the cluster's host, port and database */
    } urls[] = {
        {"postgresql://sesame:" PASSWORD_1 "@", 1},                 /* wrong password */
        {"postgresql://sesame:%zz" PASSWORD_2 "@", 1},              /* malformed %-encoding */
        {"postgres://sesame:" PASSWORD_1 "@127.0.0.1:1/sesame", 0}, /* nothing listens */
        {"host=127.0.0.1 password=" PASSWORD_1, 0},                 /* not a URL */
    };
    const char *at = strrchr(g_base, '@') + 1;
    struct sdb_conn *c;
    char url[PGTEST_URL_MAX + 64], err[512];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        (void)snprintf(url, sizeof(url), "%s%s", urls[i].u_prefix, urls[i].u_host ? at : "");
        c = (struct sdb_conn *)&c;
        err[0] = '\0';
        assert_int_equal(D->dr_connect(url, &c, err, sizeof(err)), ERR_STORAGE);
        assert_null(c);
        assert_true(strlen(err) > 0);
        assert_null(strchr(err, '\n'));
        assert_null(strstr(err, PASSWORD_1));
        assert_null(strstr(err, PASSWORD_2));
        assert_null(strstr(err, "zz" PASSWORD_2));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_migrate_fresh_and_again, case_setup),
        cmocka_unit_test_setup(test_migrate_concurrently, case_setup),
        cmocka_unit_test_setup(test_migrate_refuses_foreign_database, case_setup),
        cmocka_unit_test_setup(test_migrate_refuses_newer_or_other, case_setup),
        cmocka_unit_test_setup(test_params_and_columns_round_trip, case_setup),
        cmocka_unit_test_setup(test_column_types, case_setup),
        cmocka_unit_test_setup(test_errors_by_sqlstate, case_setup),
        cmocka_unit_test_setup(test_rollback_and_commit, case_setup),
        cmocka_unit_test_setup(test_writes_of_one_account_serialise, case_setup),
        cmocka_unit_test_setup(test_notices_reach_the_listener, case_setup),
        cmocka_unit_test(test_listener_without_server),
        cmocka_unit_test_setup(test_terminated_connection, case_setup),
        cmocka_unit_test_setup(test_passwords_stay_out_of_messages, case_setup),
    };

    if (pgtest_base_url(g_base, sizeof(g_base)) != 0) {
        printf("test_store_pg_driver: SKIP: no PostgreSQL test cluster (TEST_PG_URL_FILE)\n");
        return PGTEST_SKIP;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
