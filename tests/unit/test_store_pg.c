/*
 * test_store_pg.c - what the hub store does on PostgreSQL beyond the rules test_store checks
 * on both backends (src/store/store_pg.c), against the test cluster (ctest's pg fixture;
 * skipped, exit 77, without it): databases that are not ours or are newer are refused;
 * several hubs migrating one fresh database at once; a database that cannot be reached,
 * without its password in any message; connections the server drops are replaced (the
 * pool reconnects); the commit listener reconnects and says so, then hears commits again.
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
#include <unistd.h>

#include "crypto/crypto.h"
#include "store/store.h"

#include "pgtest.h"

#define ACC  "A0000000000000000000000001"
#define V1   "v0000000000000000000000001"
#define I1   "i0000000000000000000000001"
#define JWK  "{\"kty\":\"EC\"}"
#define WRAP "{\"kty\":\"OKP\"}"

static char g_base[PGTEST_URL_MAX]; /* the cluster */
static char g_url[PGTEST_URL_MAX];  /* this case's database */

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

static void make_account(struct store *s)
{
    struct store_account a = {.ac_admin_sign_jwk = JWK, .ac_admin_wrap_pub = WRAP};
    struct store_signing_key k = {.sk_kid = "1", .sk_public_jwk = JWK};
    unsigned char ct[4] = {1, 2, 3, 4};
    struct store_vault v = {.va_attrs_ct = ct,
                            .va_attrs_ct_len = sizeof(ct),
                            .va_key_admin = ct,
                            .va_key_admin_len = sizeof(ct),
                            .va_type = "USER_CREATED"};

    memcpy(a.ac_id, ACC, ID_LEN + 1);
    assert_int_equal(store_account_create(s, &a, &k), ERR_OK);
    memcpy(v.va_id, V1, ID_LEN + 1);
    assert_int_equal(store_vault_create(s, ACC, &v), ERR_OK);
}

static enum err put_item(struct store *s)
{
    unsigned char ct[8] = {9, 8, 7, 6, 5, 4, 3, 2};
    struct store_item it = {.it_category = "LOGIN",
                            .it_overview = ct,
                            .it_overview_len = sizeof(ct),
                            .it_details = ct,
                            .it_details_len = sizeof(ct)};

    memcpy(it.it_vault, V1, ID_LEN + 1);
    memcpy(it.it_id, I1, ID_LEN + 1);
    return store_item_put(s, ACC, &it, 0);
}

/* Runs sql on this case's database as the test user; returns its integer, or -1. */
static long long on_db(const char *sql)
{
    return pgtest_query_int(g_url, sql);
}

/* Ends every other session on this case's database (as a failover or restart would), and
   waits until they are gone. */
static long long kill_sessions(const char *extra_where)
{
    char sql[512];

    (void)snprintf(sql, sizeof(sql),
                   "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
                   " WHERE datname = '%s' AND pid <> pg_backend_pid()%s",
                   db_name(), extra_where ? extra_where : "");
    return on_db(sql);
}

static void test_refusals(void **state)
{
    char err[512], url[PGTEST_URL_MAX + 64], want[160];
    struct store *s = (struct store *)&s;
    const char *pw, *at;

    (void)state;
    /* a database with tables of someone else */
    assert_int_equal(on_db("CREATE TABLE payroll (x int)"), 0);
    assert_int_equal(store_open(&s, g_url, err, sizeof(err)), ERR_STORAGE);
    assert_null(s);
    assert_string_equal(err, "not a Sesame hub database (it holds other tables)");
    assert_int_equal(on_db("DROP TABLE payroll"), 0);

    /* ours, but newer than this build */
    assert_int_equal(store_open(&s, g_url, err, sizeof(err)), ERR_OK);
    store_close(s);
    assert_int_equal(on_db("UPDATE sesame_schema SET version = 99"), 0);
    assert_int_equal(store_open(&s, g_url, err, sizeof(err)), ERR_STORAGE);
    (void)snprintf(want, sizeof(want),
                   "the database schema version 99 is newer than this build supports (%d): "
                   "upgrade Sesame",
                   STORE_SCHEMA_VERSION);
    assert_string_equal(err, want);
    assert_int_equal(on_db("UPDATE sesame_schema SET application = 'other', version = 3"), 0);
    assert_int_equal(store_open(&s, g_url, err, sizeof(err)), ERR_STORAGE);
    assert_string_equal(err, "not a Sesame hub database (sesame_schema names another application)");

    /* nothing listens there: one line, without the password */
    pw = strchr(g_base + strlen("postgresql://"), ':') + 1;
    at = strchr(pw, '@');
    (void)snprintf(url, sizeof(url), "postgresql://sesame:%.*s@127.0.0.1:1/sesame", (int)(at - pw),
                   pw);
    assert_int_equal(store_open(&s, url, err, sizeof(err)), ERR_STORAGE);
    assert_null(s);
    assert_non_null(strstr(err, "cannot connect to the PostgreSQL database"));
    assert_null(strchr(err, '\n'));
    {
        char pwd[128];

        (void)snprintf(pwd, sizeof(pwd), "%.*s", (int)(at - pw), pw);
        assert_true(strlen(pwd) >= 16);
        assert_null(strstr(err, pwd));
    }
    /* a wrong password: refused, and the password tried is not in the message either */
    (void)snprintf(url, sizeof(url), "postgresql://sesame:Wr0ngSecretPassw0rd@%s", at + 1);
    assert_int_equal(store_open(&s, url, err, sizeof(err)), ERR_STORAGE);
    assert_null(strstr(err, "Wr0ngSecretPassw0rd"));
}

/* Several hubs starting at once on a fresh database: one migrates, all open. */
#define OPENERS 4

static void *opener(void *arg)
{
    struct store *s = NULL;
    char err[256];

    *(enum err *)arg = store_open(&s, g_url, err, sizeof(err));
    store_close(s);
    return NULL;
}

static void test_concurrent_migration(void **state)
{
    enum err res[OPENERS];
    pthread_t t[OPENERS];
    int i;

    (void)state;
    for (i = 0; i < OPENERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, opener, &res[i]), 0);
    for (i = 0; i < OPENERS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(res[i], ERR_OK);
    }
    assert_int_equal(on_db("SELECT version FROM sesame_schema"), STORE_SCHEMA_VERSION);
    assert_int_equal(on_db("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 14);
}

/* The server drops every connection: the next operations get new ones. */
static void test_reconnect(void **state)
{
    struct store *s = NULL;
    char err[256];
    int tries, ok = 0;

    (void)state;
    assert_int_equal(store_open(&s, g_url, err, sizeof(err)), ERR_OK);
    make_account(s);
    assert_int_equal(put_item(s), ERR_OK);
    assert_true(kill_sessions(NULL) >= 1);
    /* the pooled connection is found closed when it is taken, and replaced: the caller
       sees nothing */
    assert_int_equal(put_item(s), ERR_OK);
    assert_int_equal(store_last_seq(s, ACC), 5); /* account, key, vault, two puts */
    /* and a second time */
    assert_true(kill_sessions(NULL) >= 1);
    for (tries = 0; tries < 3 && !ok; tries++)
        ok = put_item(s) == ERR_OK;
    assert_true(ok);
    assert_int_equal(tries, 1);
    store_close(s);
}

static atomic_int g_hook_calls;
static atomic_int g_hook_anything; /* calls with account NULL: "anything may have changed" */

static void hook(void *arg, const char *account, uint64_t seq)
{
    (void)arg;
    (void)seq;
    if (!account)
        atomic_fetch_add(&g_hook_anything, 1);
    else if (strcmp(account, ACC) == 0)
        atomic_fetch_add(&g_hook_calls, 1);
}

/* Waits up to 10 s for *v to reach at least n. */
static int wait_for(atomic_int *v, int n)
{
    int i;

    for (i = 0; i < 200 && atomic_load(v) < n; i++)
        usleep(50 * 1000);
    return atomic_load(v) >= n;
}

/* The listener loses its connection: it reconnects, says "anything may have changed", and
   hears the other store's commits again. */
static void test_listener_reconnects(void **state)
{
    struct store *a = NULL, *b = NULL;
    char err[256];
    int tries;

    (void)state;
    assert_int_equal(store_open(&a, g_url, err, sizeof(err)), ERR_OK);
    assert_int_equal(store_open(&b, g_url, err, sizeof(err)), ERR_OK);
    make_account(a);
    atomic_store(&g_hook_calls, 0);
    atomic_store(&g_hook_anything, 0);
    store_set_commit_hook(b, hook, NULL);
    for (tries = 0; tries < 50 && atomic_load(&g_hook_calls) == 0; tries++) {
        assert_int_equal(put_item(a), ERR_OK);
        usleep(100 * 1000);
    }
    assert_true(atomic_load(&g_hook_calls) > 0);
    assert_int_equal(atomic_load(&g_hook_anything), 0);

    assert_true(kill_sessions(" AND query LIKE 'LISTEN%'") >= 1);
    assert_true(wait_for(&g_hook_anything, 1));
    atomic_store(&g_hook_calls, 0);
    for (tries = 0; tries < 50 && atomic_load(&g_hook_calls) == 0; tries++) {
        (void)put_item(a); /* a's own pooled connection may have been one of those killed */
        usleep(100 * 1000);
    }
    assert_true(atomic_load(&g_hook_calls) > 0);
    store_set_commit_hook(b, NULL, NULL);
    store_close(b);
    store_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_refusals, case_setup),
        cmocka_unit_test_setup(test_concurrent_migration, case_setup),
        cmocka_unit_test_setup(test_reconnect, case_setup),
        cmocka_unit_test_setup(test_listener_reconnects, case_setup),
    };

    if (crypto_init() != ERR_OK)
        return 1;
    if (pgtest_base_url(g_base, sizeof(g_base)) != 0) {
        printf("test_store_pg: SKIP: no PostgreSQL test cluster (TEST_PG_URL_FILE)\n");
        return PGTEST_SKIP;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
