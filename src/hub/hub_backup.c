/*
 * hub_backup.c - `sesame hub backup [--data DIR] --out FILE` and
 * `sesame hub restore [--data DIR] --from FILE` (docs/operations.md "Backup and restore of
 * the hub"), and the data directory's lock (hub_backup.h).
 *
 * Backup is online: store_backup_to copies one snapshot of DIR/hub.db while the hub runs.
 * Restore needs the hub stopped: it takes DIR/hub.lock (which a running hub holds), copies
 * and checks the backup to DIR/hub.db.restoring, moves the current database (and its WAL)
 * aside to DIR/hub.db.replaced-TIME, removes the stale shared-memory file and renames the
 * copy to DIR/hub.db. Every step before the swap leaves DIR/hub.db untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/limits.h"
#include "hub/hub_backup.h"
#include "store/store.h"

#define HUB_BACKUP_PATH_MAX CONFIG_MAX_PATH
#define HUB_BACKUP_ERR_MAX  (HUB_BACKUP_PATH_MAX + 256)

/* Builds "DIR/NAME" into out (HUB_BACKUP_PATH_MAX). Returns 0, or -1 when too long. */
static int hub_backup_path(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, HUB_BACKUP_PATH_MAX, "%s/%s", dir, name);

    return n < 0 || n >= HUB_BACKUP_PATH_MAX ? -1 : 0;
}

/* The hub database URL of the environment (see hub_backup.h). */
const char *hub_database_env(const char **var, int *conflict)
{
    const char *url = getenv("SESAME_HUB_DATABASE_URL"), *other = getenv("SESAME_HUB_DATABASE");

    if (var)
        *var = "SESAME_HUB_DATABASE_URL";
    if (conflict)
        *conflict = 0;
    if (url && *url && other && *other && strcmp(url, other) != 0) {
        if (conflict)
            *conflict = 1;
        return NULL;
    }
    if (url && *url)
        return url;
    if (other && *other) {
        if (var)
            *var = "SESAME_HUB_DATABASE";
        return other;
    }
    return NULL;
}

/* Takes the data directory's lock (see hub_backup.h). */
enum err hub_data_lock(const char *dir, int *fd, char *errmsg, size_t errcap)
{
    char path[HUB_BACKUP_PATH_MAX];
    struct stat sb;
    int lfd;

    *fd = -1;
    if (!dir || !*dir || hub_backup_path(path, dir, HUB_LOCK_FILE) != 0)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "the data directory path is too long");
    if (stat(dir, &sb) != 0) {
        if (errno != ENOENT || mkdir(dir, 0700) != 0)
            return err_msgf(ERR_IO, errmsg, errcap, "cannot create the data directory %s (%s)", dir,
                            strerrorname_np(errno));
    } else if (!S_ISDIR(sb.st_mode)) {
        return err_msgf(ERR_IO, errmsg, errcap, "%s is not a directory", dir);
    }
    lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lfd < 0)
        return err_msgf(ERR_IO, errmsg, errcap, "cannot open %s (%s)", path,
                        strerrorname_np(errno));
    if (flock(lfd, LOCK_EX | LOCK_NB) != 0) {
        int saved = errno;

        (void)close(lfd);
        if (saved == EWOULDBLOCK)
            return err_msgf(ERR_CONFLICT, errmsg, errcap,
                            "a hub is running on %s (%s is locked): stop it first", dir, path);
        return err_msgf(ERR_IO, errmsg, errcap, "cannot lock %s (%s)", path,
                        strerrorname_np(saved));
    }
    *fd = lfd;
    return ERR_OK;
}

/* Prints a usage error of `sesame hub CMD` (one line) and returns CLI_EXIT_USAGE. */
static int hub_backup_usage(const char *cmd, const char *what)
{
    fprintf(stderr, "sesame: hub %s: %s (usage: sesame hub %s [--data DIR] %s FILE)\n", cmd, what,
            cmd, strcmp(cmd, "backup") == 0 ? "--out" : "--from");
    return CLI_EXIT_USAGE;
}

/*
 * Parses `sesame hub CMD [--data DIR] FLAG FILE` (FLAG "--out" or "--from"). *data keeps
 * its default unless given. Returns -1 when parsed, else the exit status to return (help
 * printed, or a usage error).
 */
static int hub_backup_args(int argc, char **argv, const char *cmd, const char *flag,
                           const char **data, const char **file)
{
    size_t flen = strlen(flag);
    int i;

    *file = NULL;
    for (i = 3; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--data") == 0 || strcmp(a, flag) == 0) {
            if (i + 1 >= argc || !argv[i + 1][0])
                return hub_backup_usage(cmd, "an option needs a value");
            if (strcmp(a, "--data") == 0)
                *data = argv[++i];
            else
                *file = argv[++i];
        } else if (strncmp(a, "--data=", 7) == 0 && a[7]) {
            *data = a + 7;
        } else if (strncmp(a, flag, flen) == 0 && a[flen] == '=' && a[flen + 1]) {
            *file = a + flen + 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("usage: sesame hub %s [--data DIR] %s FILE\n", cmd, flag);
            return CLI_EXIT_OK;
        } else {
            return hub_backup_usage(cmd, "unknown argument");
        }
    }
    if (!*file)
        return hub_backup_usage(cmd, strcmp(cmd, "backup") == 0 ? "--out FILE is required"
                                                                : "--from FILE is required");
    if (strnlen(*file, HUB_BACKUP_PATH_MAX) >= HUB_BACKUP_PATH_MAX)
        return hub_backup_usage(cmd, "the file path is too long");
    return -1;
}

/* The data directory: SESAME_HUB_DATA, else the default (as `sesame hub`). */
static const char *hub_backup_default_data(void)
{
    const char *data = getenv("SESAME_HUB_DATA");

    return data && *data ? data : CONFIG_DEFAULT_HUB_DATA;
}

/* `sesame hub backup`: see hub_backup.h. */
int hub_backup_main(int argc, char **argv)
{
    int conflict = 0;
    const char *db_url = hub_database_env(NULL, &conflict);
    const char *data = hub_backup_default_data(), *out = NULL, *src;
    char db[HUB_BACKUP_PATH_MAX], errmsg[HUB_BACKUP_ERR_MAX];
    struct store_backup_info info;
    enum err e;
    int rc;

    rc = hub_backup_args(argc, argv, "backup", "--out", &data, &out);
    if (rc >= 0)
        return rc;
    if (conflict) {
        fprintf(stderr, "sesame: hub backup: SESAME_HUB_DATABASE_URL and SESAME_HUB_DATABASE name "
                        "different databases: set one\n");
        return CLI_EXIT_FAIL;
    }
    if (db_url && *db_url) {
        src = db_url; /* never printed: it may hold a password */
    } else {
        if (hub_backup_path(db, data, "hub.db") != 0)
            return hub_backup_usage("backup", "the data directory path is too long");
        src = db;
    }
    e = store_backup_to(src, out, &info, errmsg, sizeof(errmsg));
    if (e != ERR_OK) {
        fprintf(stderr, "sesame: hub backup: %s\n", errmsg[0] ? errmsg : err_message(e));
        return CLI_EXIT_FAIL;
    }
    printf("backup of %s written to %s (%" PRIu64 " bytes, schema version %" PRId64 ")\n",
           src == db ? db : "the SESAME_HUB_DATABASE_URL database", out, info.bi_bytes,
           info.bi_schema_version);
    return CLI_EXIT_OK;
}

/* Removes path and the SQLite journal / WAL / shm files beside it (stale leftovers). */
static void hub_backup_remove(const char *path)
{
    static const char *const suffix[] = {"", "-journal", "-wal", "-shm"};
    char name[HUB_BACKUP_PATH_MAX + 16];
    size_t i;

    for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        int n = snprintf(name, sizeof(name), "%s%s", path, suffix[i]);

        if (n > 0 && (size_t)n < sizeof(name))
            (void)unlink(name);
    }
}

/*
 * Moves DIR/hub.db (and its -wal) aside to DIR/hub.db.replaced-TIME (never over an
 * existing file) and removes its -shm and -journal. aside receives the new name ("" when
 * there was no database). Returns 0, or -1 with one line in errmsg.
 */
static int hub_restore_move_aside(const char *db, char *aside, char *errmsg, size_t errcap)
{
    char from[HUB_BACKUP_PATH_MAX + 16], to[HUB_BACKUP_PATH_MAX + 64], stamp[32];
    time_t now = time(NULL);
    struct stat sb;
    struct tm tm;
    int n;

    aside[0] = '\0';
    if (lstat(db, &sb) != 0) {
        if (errno == ENOENT)
            return 0;
        (void)err_msgf(ERR_IO, errmsg, errcap, "cannot read %s (%s)", db, strerrorname_np(errno));
        return -1;
    }
    if (!gmtime_r(&now, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
        stamp[0] = '\0';
    n = snprintf(aside, HUB_BACKUP_PATH_MAX, "%s.replaced-%s", db, stamp);
    if (n < 0 || n >= HUB_BACKUP_PATH_MAX) {
        aside[0] = '\0';
        (void)err_msgf(ERR_IO, errmsg, errcap, "the data directory path is too long");
        return -1;
    }
    if (renameat2(AT_FDCWD, db, AT_FDCWD, aside, RENAME_NOREPLACE) != 0) {
        (void)err_msgf(ERR_IO, errmsg, errcap, "cannot move %s aside to %s (%s)", db, aside,
                       strerrorname_np(errno));
        aside[0] = '\0';
        return -1;
    }
    /* The WAL goes with it: a hub that was killed may have left committed pages there. */
    (void)snprintf(from, sizeof(from), "%s-wal", db);
    (void)snprintf(to, sizeof(to), "%s-wal", aside);
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) != 0 && errno != ENOENT) {
        (void)err_msgf(ERR_IO, errmsg, errcap, "cannot move %s aside to %s (%s)", from, to,
                       strerrorname_np(errno));
        (void)renameat2(AT_FDCWD, aside, AT_FDCWD, db, RENAME_NOREPLACE);
        aside[0] = '\0';
        return -1;
    }
    (void)snprintf(from, sizeof(from), "%s-shm", db);
    (void)unlink(from);
    (void)snprintf(from, sizeof(from), "%s-journal", db);
    (void)unlink(from);
    return 0;
}

/* `sesame hub restore`: see hub_backup.h. */
int hub_restore_main(int argc, char **argv)
{
    int conflict = 0;
    const char *db_url = hub_database_env(NULL, &conflict);
    const char *data = hub_backup_default_data(), *from = NULL;
    char db[HUB_BACKUP_PATH_MAX], incoming[HUB_BACKUP_PATH_MAX], tmp[HUB_BACKUP_PATH_MAX + 8];
    char aside[HUB_BACKUP_PATH_MAX], errmsg[HUB_BACKUP_ERR_MAX];
    struct store_backup_info info;
    int rc, lock_fd = -1, status = CLI_EXIT_FAIL;
    enum err e;

    rc = hub_backup_args(argc, argv, "restore", "--from", &data, &from);
    if (rc >= 0)
        return rc;
    if (conflict) {
        fprintf(stderr, "sesame: hub restore: SESAME_HUB_DATABASE_URL and SESAME_HUB_DATABASE name "
                        "different databases: set one\n");
        return CLI_EXIT_FAIL;
    }
    if (db_url && *db_url) {
        fprintf(stderr, "sesame: hub restore: %s\n",
                strncmp(db_url, "postgres", 8) == 0
                    ? "the hub database is PostgreSQL (SESAME_HUB_DATABASE_URL): restore it with "
                      "pg_restore"
                    : "SESAME_HUB_DATABASE_URL is set: restore works on --data DIR/hub.db only");
        return CLI_EXIT_FAIL;
    }
    if (hub_backup_path(db, data, "hub.db") != 0 ||
        hub_backup_path(incoming, data, "hub.db.restoring") != 0)
        return hub_backup_usage("restore", "the data directory path is too long");
    (void)snprintf(tmp, sizeof(tmp), "%s.tmp", incoming);

    e = hub_data_lock(data, &lock_fd, errmsg, sizeof(errmsg));
    if (e != ERR_OK) {
        fprintf(stderr, "sesame: hub restore: %s\n", errmsg);
        return CLI_EXIT_FAIL;
    }
    /* Leftovers of an interrupted restore: nobody else works here while we hold the lock. */
    hub_backup_remove(tmp);
    hub_backup_remove(incoming);

    /* Check and copy the backup next to the database; DIR/hub.db is untouched so far. */
    e = store_backup_to(from, incoming, &info, errmsg, sizeof(errmsg));
    if (e != ERR_OK) {
        fprintf(stderr, "sesame: hub restore: %s\n", errmsg[0] ? errmsg : err_message(e));
        goto out;
    }
    if (hub_restore_move_aside(db, aside, errmsg, sizeof(errmsg)) != 0) {
        fprintf(stderr, "sesame: hub restore: %s\n", errmsg);
        hub_backup_remove(incoming);
        goto out;
    }
    if (renameat2(AT_FDCWD, incoming, AT_FDCWD, db, RENAME_NOREPLACE) != 0) {
        fprintf(stderr, "sesame: hub restore: cannot rename %s to %s (%s)\n", incoming, db,
                strerrorname_np(errno));
        if (aside[0])
            (void)renameat2(AT_FDCWD, aside, AT_FDCWD, db, RENAME_NOREPLACE);
        hub_backup_remove(incoming);
        goto out;
    }
    {
        int dfd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dfd < 0 || fsync(dfd) != 0) {
            fprintf(stderr, "sesame: hub restore: cannot sync the directory %s (%s)\n", data,
                    strerrorname_np(errno));
            if (dfd >= 0)
                (void)close(dfd);
            goto out;
        }
        (void)close(dfd);
    }
    printf("restored %s to %s (%" PRIu64 " bytes, schema version %" PRId64 ")%s%s; start the hub\n",
           from, db, info.bi_bytes, info.bi_schema_version,
           aside[0] ? "; the previous database is kept as " : "", aside);
    status = CLI_EXIT_OK;
out:
    if (lock_fd >= 0)
        (void)close(lock_fd);
    return status;
}
