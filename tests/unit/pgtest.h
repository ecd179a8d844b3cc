/*
 * pgtest.h - unit tests' access to the throwaway PostgreSQL of the test run.
 *
 * ctest's `pg` fixture (scripts/pg-test-cluster.sh, CMakeLists.txt) starts one cluster and
 * writes its URL to the file named by TEST_PG_URL_FILE. A test that runs on
 * PostgreSQL makes a fresh database for each case (pgtest_new_database), so cases never see
 * each other's rows, and leaves them to die with the cluster. Without the file the test
 * run has no PostgreSQL: pgtest_base_url fails and the test exits PGTEST_SKIP (77, the
 * SKIP_RETURN_CODE of those tests) after one line saying so.
 */
#ifndef SESAME_TESTS_PGTEST_H
#define SESAME_TESTS_PGTEST_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PGTEST_SKIP    77   /* ctest SKIP_RETURN_CODE */
#define PGTEST_URL_MAX 1024 /* a test URL */

/* Reads the cluster's URL into out (cap bytes). Returns 0, or -1 when there is none. */
static int pgtest_base_url(char *out, size_t cap)
{
    const char *file = getenv("TEST_PG_URL_FILE");
    FILE *f;
    size_t n;

    out[0] = '\0';
    if (!file || !*file || !(f = fopen(file, "r")))
        return -1;
    n = fread(out, 1, cap - 1, f);
    (void)fclose(f);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return n > 0 ? 0 : -1;
}

/* Runs sql on url; returns the first column of the first row as an integer, or -1. */
static long long pgtest_query_int(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    long long v = -1;
    PGresult *r;

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pgtest: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else if (PQresultStatus(r) == PGRES_COMMAND_OK)
        v = 0;
    else
        fprintf(stderr, "pgtest: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return v;
}

/*
 * Creates a fresh database on the cluster of base and writes its URL (base with the
 * database name replaced) into out. Returns 0 or -1 (with a line on stderr).
 */
static int pgtest_new_database(const char *base, char *out, size_t cap)
{
    static unsigned counter;
    char name[64], sql[128];
    const char *slash;
    int n;

    n = snprintf(name, sizeof(name), "sesame_t_%ld_%u_%ld", (long)getpid(), ++counter,
                 (long)time(NULL) % 100000);
    if (n < 0 || (size_t)n >= sizeof(name))
        return -1;
    (void)snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    if (pgtest_query_int(base, sql) != 0)
        return -1;
    slash = strrchr(base, '/');
    if (!slash || slash - base < 14) /* "postgresql://x" */
        return -1;
    n = snprintf(out, cap, "%.*s/%s", (int)(slash - base), base, name);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

#endif
