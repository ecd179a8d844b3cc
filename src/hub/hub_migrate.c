/*
 * hub_migrate.c - `sesame hub migrate --from SRC [--to DST]` (docs/scaling.md "Moving a
 * hub to PostgreSQL"): the store does the copy (store_copy); this is the command around it,
 * which names the databases safely and keeps a running hub off its source.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/limits.h"
#include "common/log.h"
#include "hub/hub_backup.h"
#include "hub/hub_migrate.h"
#include "store/store.h"

#define HUB_MIGRATE_ERR_MAX (CONFIG_MAX_PATH + 256)

/* Prints a usage error (one line) and returns CLI_EXIT_USAGE. */
static int hub_migrate_usage(const char *what)
{
    fprintf(stderr,
            "sesame: hub migrate: %s (usage: sesame hub migrate --from SRC [--to DST]; "
            "DST defaults to SESAME_HUB_DATABASE_URL)\n",
            what);
    return CLI_EXIT_USAGE;
}

/* Whether url names a PostgreSQL database. */
static int hub_migrate_is_pg(const char *url)
{
    return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

/* A printable name of a database: its path, never a URL (which may hold a password). */
static const char *hub_migrate_name(const char *url, const char *pg_name)
{
    if (hub_migrate_is_pg(url))
        return pg_name;
    return strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
}

/*
 * Takes the data directory lock of a SQLite database at url (its directory), so that no
 * hub runs on it during the copy. *fd: the lock (-1 for PostgreSQL). Returns ERR_OK or the
 * lock's error with one line in errmsg.
 */
static enum err hub_migrate_lock(const char *url, int *fd, char *errmsg, size_t errcap)
{
    const char *path = hub_migrate_name(url, "");
    const char *slash = strrchr(path, '/');
    char dir[CONFIG_MAX_PATH];
    int n;

    *fd = -1;
    if (hub_migrate_is_pg(url))
        return ERR_OK;
    if (!slash)
        n = snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        n = snprintf(dir, sizeof(dir), "/");
    else
        n = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    if (n < 0 || (size_t)n >= sizeof(dir))
        return err_msgf(ERR_CONFIG, errmsg, errcap, "the database path is too long");
    return hub_data_lock(dir, fd, errmsg, errcap);
}

/* `sesame hub migrate`: see hub_migrate.h. */
int hub_migrate_main(int argc, char **argv)
{
    const char *from = NULL, *to = NULL, *to_name;
    char errmsg[HUB_MIGRATE_ERR_MAX];
    struct store *src = NULL, *dst = NULL;
    struct store_copy_report r;
    int i, rc = CLI_EXIT_FAIL, lock_fd = -1;
    uint64_t total = 0;
    enum err e;
    size_t k;

    for (i = 3; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0])
                return hub_migrate_usage("an option needs a value");
            if (a[2] == 'f')
                from = argv[++i];
            else
                to = argv[++i];
        } else if (strncmp(a, "--from=", 7) == 0 && a[7]) {
            from = a + 7;
        } else if (strncmp(a, "--to=", 5) == 0 && a[5]) {
            to = a + 5;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("usage: sesame hub migrate --from SRC [--to DST]\n"
                   "  SRC, DST: a SQLite path, sqlite:PATH or postgresql://...; DST defaults to\n"
                   "  SESAME_HUB_DATABASE_URL and must hold no hub yet. Stop the hubs first.\n");
            return CLI_EXIT_OK;
        } else {
            return hub_migrate_usage("unknown argument");
        }
    }
    to_name = "the --to database";
    if (!to) {
        const char *var = NULL;
        int conflict = 0;

        to = hub_database_env(&var, &conflict);
        if (conflict)
            return hub_migrate_usage("SESAME_HUB_DATABASE_URL and SESAME_HUB_DATABASE name "
                                     "different databases: set one");
        to_name = strcmp(var, "SESAME_HUB_DATABASE") == 0 ? "the SESAME_HUB_DATABASE database"
                                                          : "the SESAME_HUB_DATABASE_URL database";
    }
    if (!from || !*from)
        return hub_migrate_usage("--from SRC is required");
    if (!to || !*to)
        return hub_migrate_usage("--to DST or SESAME_HUB_DATABASE_URL is required");
    if (strcmp(from, to) == 0)
        return hub_migrate_usage("the source and the destination are the same database");

    if (!hub_migrate_is_pg(from) && access(hub_migrate_name(from, ""), F_OK) != 0) {
        fprintf(stderr, "sesame: hub migrate: no hub database at %s\n", hub_migrate_name(from, ""));
        return CLI_EXIT_FAIL;
    }
    /* a command, not a server: its output is the summary below and errors, one line each
       (the stores' own info lines, e.g. migrations of an empty destination, would be noise) */
    log_set_level(LOG_WARN);
    e = hub_migrate_lock(from, &lock_fd, errmsg, sizeof(errmsg));
    if (e == ERR_OK)
        e = store_open(&src, from, errmsg, sizeof(errmsg));
    if (e != ERR_OK) {
        fprintf(stderr, "sesame: hub migrate: the source: %s\n", errmsg);
        goto out;
    }
    e = store_open(&dst, to, errmsg, sizeof(errmsg));
    if (e != ERR_OK) {
        fprintf(stderr, "sesame: hub migrate: the destination: %s\n", errmsg);
        goto out;
    }
    e = store_copy(src, dst, &r, errmsg, sizeof(errmsg));
    if (e != ERR_OK) {
        fprintf(stderr, "sesame: hub migrate: %s\n", errmsg[0] ? errmsg : err_message(e));
        goto out;
    }
    printf("copied %s to %s:\n", hub_migrate_name(from, "the --from database"),
           hub_migrate_is_pg(to) ? to_name : hub_migrate_name(to, to_name));
    for (k = 0; k < r.cr_n; k++) {
        printf("  %-13s %" PRIu64 "\n", r.cr_table[k], r.cr_rows[k]);
        total += r.cr_rows[k];
    }
    printf("%" PRIu64 " rows; every table counted on both sides and equal; ciphertext copied as"
           " stored, nothing decrypted\n",
           total);
    rc = CLI_EXIT_OK;
out:
    store_close(dst);
    store_close(src);
    if (lock_fd >= 0)
        (void)close(lock_fd);
    return rc;
}
