/*
 * store_sqlite.c - the hub store's SQLite driver (store_db.h), and its online backup.
 *
 * One database file in WAL mode with synchronous=FULL (a write is acknowledged only once
 * it is durable), foreign keys on, secure_delete on (erased ciphertext is overwritten, not
 * left in free pages), defensive mode, STRICT tables. Each connection is used by one
 * thread at a time (SQLITE_OPEN_NOMUTEX) and caches its prepared statements. In WAL mode
 * readers on other connections proceed while one writer commits; store.c serialises this
 * process's writers with a mutex, and SQLite's write lock (BEGIN IMMEDIATE) the processes.
 *
 * Schema: the migrations of store_schema.c, each in one transaction together with its
 * PRAGMA user_version bump, so a failed migration leaves the previous version intact.
 * PRAGMA application_id marks the file as a Sesame hub database.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/limits.h"
#include "common/log.h"
#include "store/store.h"
#include "store/store_db.h"

#define STORE_APPLICATION_ID 1397052232 /* 0x53455348, "SESH" */

struct sdb_stmt {
    sqlite3_stmt *ss_st;   /* prepared once, kept */
    struct sdb_conn *ss_c; /* its connection */
};

struct sdb_conn {
    sqlite3 *sc_db;                              /* the connection (SQLITE_OPEN_NOMUTEX) */
    struct sdb_stmt sc_stmt[STORE_DB_MAX_STMTS]; /* by statement id */
};

/* Maps a SQLite result code to our error, logging the unexpected ones. */
static enum err db_error(sqlite3 *db, int rc, const char *what)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        return ERR_CONFLICT;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return ERR_NOT_FOUND;
    default:
        break;
    }
    if ((rc & 0xff) == SQLITE_FULL ||
        ((rc & 0xff) == SQLITE_IOERR && db && sqlite3_system_errno(db) == ENOSPC)) {
        log_error("store: %s: the disk is full (%s)", what, sqlite3_errstr(rc));
        return ERR_NO_SPACE;
    }
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return ERR_NOMEM;
    case SQLITE_TOOBIG:
        return ERR_TOO_LARGE;
    default:
        log_error("store: %s: %s (%s)", what, db ? sqlite3_errmsg(db) : "no connection",
                  sqlite3_errstr(rc));
        return ERR_STORAGE;
    }
}

/* Runs constant SQL (pragmas, migrations) on db; errors go to errmsg. */
static enum err conn_exec(sqlite3 *db, const char *sql, const char *what, char *errmsg,
                          size_t errcap)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    enum err e = ERR_OK;

    if (rc != SQLITE_OK) {
        e = (rc & 0xff) == SQLITE_NOMEM ? ERR_NOMEM
            : ((rc & 0xff) == SQLITE_FULL ||
               ((rc & 0xff) == SQLITE_IOERR && sqlite3_system_errno(db) == ENOSPC))
                ? ERR_NO_SPACE
                : ERR_STORAGE;
        (void)err_msgf(e, errmsg, errcap, "%s: %s", what, msg ? msg : sqlite3_errstr(rc));
        log_error("store: %s: %s", what, msg ? msg : sqlite3_errstr(rc));
    }
    sqlite3_free(msg);
    return e;
}

/* Closes c and its statements. */
static void sq_disconnect(struct sdb_conn *c)
{
    size_t i;
    int rc;

    if (!c)
        return;
    for (i = 0; i < STORE_DB_MAX_STMTS; i++)
        (void)sqlite3_finalize(c->sc_stmt[i].ss_st);
    rc = sqlite3_close(c->sc_db);
    if (rc != SQLITE_OK)
        log_error("store: closing a connection: %s", sqlite3_errstr(rc));
    mem_free(c);
}

/* Opens a connection to the file path with the per-connection settings. */
static enum err sq_connect(const char *path, struct sdb_conn **out, char *errmsg, size_t errcap)
{
    static const char setup[] = "PRAGMA foreign_keys = ON;"
                                "PRAGMA synchronous = FULL;"
                                "PRAGMA secure_delete = ON;"
                                "PRAGMA trusted_schema = OFF;"
                                "PRAGMA journal_size_limit = 67108864;";
    struct sdb_conn *c;
    enum err e = ERR_OK;
    size_t i;
    int rc;

    *out = NULL;
    if (!sqlite3_threadsafe())
        return err_msgf(ERR_STORAGE, errmsg, errcap, "SQLite was built without thread support");
    c = mem_calloc(1, sizeof(*c));
    if (!c)
        return err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
    for (i = 0; i < STORE_DB_MAX_STMTS; i++)
        c->sc_stmt[i].ss_c = c;
    rc = sqlite3_open_v2(path, &c->sc_db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                             SQLITE_OPEN_EXRESCODE,
                         NULL);
    if (rc != SQLITE_OK) {
        e = err_msgf(ERR_STORAGE, errmsg, errcap, "cannot open the database %s: %s", path,
                     c->sc_db ? sqlite3_errmsg(c->sc_db) : sqlite3_errstr(rc));
        goto out;
    }
    (void)sqlite3_extended_result_codes(c->sc_db, 1);
    rc = sqlite3_busy_timeout(c->sc_db, STORE_BUSY_TIMEOUT_MS);
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(c->sc_db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    if (rc != SQLITE_OK) {
        e = err_msgf(ERR_STORAGE, errmsg, errcap, "cannot configure the database: %s",
                     sqlite3_errstr(rc));
        goto out;
    }
    e = conn_exec(c->sc_db, setup, "cannot use the database", errmsg, errcap);
out:
    if (e != ERR_OK) {
        sq_disconnect(c);
        return e;
    }
    *out = c;
    return ERR_OK;
}

/* A file connection stays usable. */
static int sq_usable(struct sdb_conn *c)
{
    return c != NULL;
}

/* Prepares the file before its first connection (see store_db.h). */
enum err store_sqlite_prepare(const char *path, char *errmsg, size_t errcap)
{
    const char *slash = strrchr(path, '/');
    char ebuf[128];
    struct stat sb;
    int fd;

    if (slash && slash != path) {
        char *dir = mem_strndup(path, (size_t)(slash - path));
        enum err e = ERR_OK;

        if (!dir)
            return err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
        if (stat(dir, &sb) != 0) {
            if (errno != ENOENT || mkdir(dir, 0700) != 0)
                e = err_msgf(ERR_IO, errmsg, errcap, "cannot create the directory %s: %s", dir,
                             strerror_r(errno, ebuf, sizeof(ebuf)));
        } else if (!S_ISDIR(sb.st_mode)) {
            e = err_msgf(ERR_IO, errmsg, errcap, "%s is not a directory", dir);
        }
        mem_free(dir);
        if (e != ERR_OK)
            return e;
    }
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        (void)close(fd);
        return ERR_OK;
    }
    if (errno != EEXIST)
        return err_msgf(ERR_IO, errmsg, errcap, "cannot create the database %s: %s", path,
                        strerror_r(errno, ebuf, sizeof(ebuf)));
    if (stat(path, &sb) != 0)
        return err_msgf(ERR_IO, errmsg, errcap, "cannot read the database %s: %s", path,
                        strerror_r(errno, ebuf, sizeof(ebuf)));
    if (!S_ISREG(sb.st_mode))
        return err_msgf(ERR_IO, errmsg, errcap, "the database %s is not a regular file", path);
    if (sb.st_mode & 077)
        log_warn("store: the database %s is accessible to group or others (mode %04o)", path,
                 (unsigned)(sb.st_mode & 07777));
    return ERR_OK;
}

/* Reads one integer from a constant query ("PRAGMA user_version"); returns SQLite's code. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *out = 0;
    rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = (int64_t)sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    (void)sqlite3_finalize(st);
    return rc;
}

/* query_int with a logged error: ERR_OK or db_error's. */
static enum err conn_query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    int rc = query_int(db, sql, out);

    return rc == SQLITE_OK ? ERR_OK : db_error(db, rc, sql);
}

/* Switches the file to WAL (persistent) and checks that it took. */
static enum err conn_set_wal(sqlite3 *db, char *errmsg, size_t errcap)
{
    sqlite3_stmt *st = NULL;
    enum err e = ERR_OK;
    int rc;

    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        e = err_msgf(ERR_STORAGE, errmsg, errcap, "cannot switch the database to WAL mode: %s",
                     sqlite3_errmsg(db));
    else if (!sqlite3_column_text(st, 0) ||
             strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
        e = err_msgf(ERR_STORAGE, errmsg, errcap,
                     "the database refused WAL mode (journal mode stays %s)",
                     sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "?");
    (void)sqlite3_finalize(st);
    return e;
}

/*
 * Reads the schema version of db into *version and refuses a file that is not ours (another
 * application_id, or tables without our id) or whose schema is newer than this build.
 * Changes nothing.
 */
static enum err schema_check(sqlite3 *db, int64_t *version, char *errmsg, size_t errcap)
{
    int64_t app = 0, objects = 0;
    enum err e;

    *version = 0;
    e = conn_query_int(db, "PRAGMA user_version", version);
    if (e == ERR_OK)
        e = conn_query_int(db, "PRAGMA application_id", &app);
    if (e == ERR_OK)
        e = conn_query_int(db, "SELECT count(*) FROM sqlite_schema", &objects);
    if (e != ERR_OK)
        return err_msgf(e, errmsg, errcap, "cannot read the database header (%s)",
                        sqlite3_errmsg(db));
    if (app != 0 && app != STORE_APPLICATION_ID)
        return err_msgf(ERR_STORAGE, errmsg, errcap,
                        "not a Sesame hub database (application_id %" PRId64 ")", app);
    if (*version < 0 || (*version > 0 && app != STORE_APPLICATION_ID) ||
        (*version == 0 && app == 0 && objects > 0))
        return err_msgf(ERR_STORAGE, errmsg, errcap,
                        "not a Sesame hub database (it holds other tables)");
    if (*version > STORE_SCHEMA_VERSION)
        return err_msgf(ERR_STORAGE, errmsg, errcap,
                        "the database schema version %" PRId64
                        " is newer than this build supports (%d): upgrade Sesame",
                        *version, STORE_SCHEMA_VERSION);
    return ERR_OK;
}

/*
 * Brings the schema to STORE_SCHEMA_VERSION, one migration per transaction (BEGIN
 * IMMEDIATE, so two processes opening a fresh file do not both migrate; the header is
 * checked again inside it). A failed migration rolls back: the file keeps its old version.
 */
static enum err sq_migrate_db(sqlite3 *db, char *errmsg, size_t errcap)
{
    enum err e = ERR_OK;

    for (;;) {
        int64_t version = 0;
        char what[64], stamp[96];
        char *sql = NULL;

        e = conn_exec(db, "BEGIN IMMEDIATE", "cannot lock the database", errmsg, errcap);
        if (e != ERR_OK)
            return e;
        e = schema_check(db, &version, errmsg, errcap);
        if (e == ERR_OK && version == STORE_SCHEMA_VERSION)
            return conn_exec(db, "COMMIT", "cannot finish reading the database", errmsg, errcap);
        if (e == ERR_OK) {
            (void)snprintf(what, sizeof(what), "migration to schema version %d failed",
                           (int)version + 1);
            (void)snprintf(stamp, sizeof(stamp),
                           "PRAGMA application_id = %d; PRAGMA user_version = %d;",
                           STORE_APPLICATION_ID, (int)version + 1);
            sql = store_schema_migration(SDB_SQLITE, (int)version + 1);
            e = sql ? conn_exec(db, sql, what, errmsg, errcap)
                    : err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
            mem_free(sql);
            if (e == ERR_OK)
                e = conn_exec(db, stamp, what, errmsg, errcap);
            if (e == ERR_OK)
                e = conn_exec(db, "COMMIT", what, errmsg, errcap);
            if (e == ERR_OK)
                log_info("store: database migrated to schema version %d", (int)version + 1);
        }
        if (e != ERR_OK) {
            if (!sqlite3_get_autocommit(db))
                (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return e;
        }
    }
}

/* Checks the header, switches the file to WAL and migrates (dr_migrate). */
static enum err sq_migrate(struct sdb_conn *c, char *errmsg, size_t errcap)
{
    int64_t version = 0;
    enum err e;

    e = schema_check(c->sc_db, &version, errmsg, errcap);
    if (e == ERR_OK)
        e = conn_set_wal(c->sc_db, errmsg, errcap);
    if (e == ERR_OK)
        e = sq_migrate_db(c->sc_db, errmsg, errcap);
    return e;
}

/* Reads the schema version without changing anything (dr_schema_version). */
static enum err sq_schema_version(struct sdb_conn *c, int64_t *version, char *errmsg, size_t errcap)
{
    return schema_check(c->sc_db, version, errmsg, errcap);
}

/* Returns statement id of c prepared (cached) from sql. */
static enum err sq_prepare(struct sdb_conn *c, unsigned id, const char *sql, sqlite3_stmt **out)
{
    struct sdb_stmt *st = &c->sc_stmt[id];
    int rc;

    *out = NULL;
    if (!st->ss_st) {
        rc = sqlite3_prepare_v3(c->sc_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->ss_st, NULL);
        if (rc != SQLITE_OK) {
            st->ss_st = NULL;
            return db_error(c->sc_db, rc, "prepare");
        }
    }
    *out = st->ss_st;
    return ERR_OK;
}

/* Runs a transaction-control statement (cached under its own id). */
static enum err sq_control(struct sdb_conn *c, unsigned id, const char *sql)
{
    sqlite3_stmt *st;
    enum err e;
    int rc;

    e = sq_prepare(c, id, sql, &st);
    if (e != ERR_OK)
        return e;
    rc = sqlite3_step(st);
    (void)sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? ERR_OK : db_error(c->sc_db, rc, sql);
}

/* Ids of the transaction statements, after the store's own. */
enum { SQ_BEGIN = STORE_DB_MAX_STMTS - 4, SQ_BEGIN_WRITE, SQ_COMMIT, SQ_ROLLBACK };

/* Starts a transaction: BEGIN, or BEGIN IMMEDIATE (SQLite's one write lock) for a write. */
static enum err sq_begin(struct sdb_conn *c, enum sdb_tx mode, const char *account)
{
    (void)account; /* one writer at a time for the whole file */
    return mode == SDB_TX_WRITE ? sq_control(c, SQ_BEGIN_WRITE, "BEGIN IMMEDIATE")
                                : sq_control(c, SQ_BEGIN, "BEGIN");
}

/* Rolls back the open transaction, if any. */
static void sq_rollback(struct sdb_conn *c)
{
    if (!sqlite3_get_autocommit(c->sc_db) && sq_control(c, SQ_ROLLBACK, "ROLLBACK") != ERR_OK)
        log_error("store: rollback failed");
}

/* Commits (no one else to tell: every writer of the file is told by store.c's hook). */
static enum err sq_commit(struct sdb_conn *c, const char *notice)
{
    enum err e;

    (void)notice;
    e = sq_control(c, SQ_COMMIT, "COMMIT");
    if (e != ERR_OK)
        sq_rollback(c);
    return e;
}

/* Binds params to st; the count must be the statement's. */
static enum err sq_bind(struct sdb_conn *c, sqlite3_stmt *st, const struct sdb_param *p, size_t n)
{
    int rc = SQLITE_OK;
    size_t i;

    for (i = 0; i < n && rc == SQLITE_OK; i++) {
        int k = (int)i + 1;

        switch (p[i].pa_kind) {
        case SDB_NULL:
            rc = sqlite3_bind_null(st, k);
            break;
        case SDB_INT:
            rc = sqlite3_bind_int64(st, k, (sqlite3_int64)p[i].pa_int);
            break;
        case SDB_TEXT:
            rc = sqlite3_bind_text(st, k, p[i].pa_ptr, -1, SQLITE_STATIC);
            break;
        case SDB_BLOB:
            rc = p[i].pa_len ? sqlite3_bind_blob64(st, k, p[i].pa_ptr, (sqlite3_uint64)p[i].pa_len,
                                                   SQLITE_STATIC)
                             : sqlite3_bind_zeroblob(st, k, 0);
            break;
        default:
            return ERR_INTERNAL;
        }
    }
    if (rc != SQLITE_OK)
        return db_error(c->sc_db, rc, "bind");
    if (n != (size_t)sqlite3_bind_parameter_count(st)) {
        log_error("store: %zu value(s) bound to a statement of %d parameter(s)", n,
                  sqlite3_bind_parameter_count(st));
        return ERR_INTERNAL;
    }
    return ERR_OK;
}

/* Resets a statement for its next use (ends its read, drops its bindings). */
static void sq_done(struct sdb_stmt *st)
{
    if (st && st->ss_st) {
        (void)sqlite3_reset(st->ss_st);
        (void)sqlite3_clear_bindings(st->ss_st);
    }
}

/* Prepares (once) and binds statement id (dr_start). */
static enum err sq_start(struct sdb_conn *c, unsigned id, const char *sql,
                         const struct sdb_param *params, size_t n, struct sdb_stmt **out)
{
    sqlite3_stmt *st;
    enum err e;

    *out = NULL;
    if (id >= SQ_BEGIN)
        return ERR_INTERNAL;
    e = sq_prepare(c, id, sql, &st);
    if (e != ERR_OK)
        return e;
    e = sq_bind(c, st, params, n);
    if (e != ERR_OK) {
        sq_done(&c->sc_stmt[id]);
        return e;
    }
    *out = &c->sc_stmt[id];
    return ERR_OK;
}

/* Steps: *row 1 for a row, 0 when done. */
static enum err sq_step(struct sdb_stmt *st, int *row)
{
    int rc = sqlite3_step(st->ss_st);

    *row = 0;
    if (rc == SQLITE_ROW) {
        *row = 1;
        return ERR_OK;
    }
    if (rc == SQLITE_DONE)
        return ERR_OK;
    return db_error(st->ss_c->sc_db, rc, "step");
}

static uint64_t sq_changes(struct sdb_conn *c)
{
    int n = sqlite3_changes(c->sc_db);

    return n > 0 ? (uint64_t)n : 0;
}

static int sq_col_null(struct sdb_stmt *st, int i)
{
    return sqlite3_column_type(st->ss_st, i) == SQLITE_NULL;
}

static int64_t sq_col_int(struct sdb_stmt *st, int i)
{
    return (int64_t)sqlite3_column_int64(st->ss_st, i);
}

static const unsigned char *sq_col_bytes(struct sdb_stmt *st, int i, size_t *len)
{
    const unsigned char *p;
    int n;

    *len = 0;
    if (sqlite3_column_type(st->ss_st, i) == SQLITE_NULL)
        return NULL;
    if (sqlite3_column_type(st->ss_st, i) == SQLITE_TEXT)
        p = sqlite3_column_text(st->ss_st, i);
    else
        p = sqlite3_column_blob(st->ss_st, i);
    n = sqlite3_column_bytes(st->ss_st, i);
    if (n <= 0)
        return p ? p : (const unsigned char *)"";
    *len = (size_t)n;
    return p;
}

/* The SQLite driver. */
const struct sdb_driver store_db_sqlite = {
    .dr_name = "sqlite",
    .dr_dialect = SDB_SQLITE,
    .dr_multi_process_writers = 0,
    .dr_connect = sq_connect,
    .dr_disconnect = sq_disconnect,
    .dr_usable = sq_usable,
    .dr_migrate = sq_migrate,
    .dr_schema_version = sq_schema_version,
    .dr_begin = sq_begin,
    .dr_commit = sq_commit,
    .dr_rollback = sq_rollback,
    .dr_start = sq_start,
    .dr_step = sq_step,
    .dr_done = sq_done,
    .dr_changes = sq_changes,
    .dr_col_null = sq_col_null,
    .dr_col_int = sq_col_int,
    .dr_col_bytes = sq_col_bytes,
    .dr_listen_start = NULL,
    .dr_listen_stop = NULL,
};

/* ---- Backup ------------------------------------------------------------------------------ */

#define BACKUP_BUSY_TRIES    200 /* retries of a backup step the source's lock refused */
#define BACKUP_BUSY_SLEEP_MS 50  /* between them */
#define BACKUP_TEXT_MAX      256 /* a pragma's one-line answer */

/*
 * Reads the first column of the first row of a constant query into out (cap bytes,
 * truncated, control characters made spaces; "" when no row). Unlike conn_query_int it logs
 * nothing: the backup's errors are the caller's one line. Returns the SQLite result code.
 */
static int backup_query_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int rc;

    out[0] = '\0';
    rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(st, 0);

            char *p;

            (void)snprintf(out, cap, "%s", t ? (const char *)t : "");
            for (p = out; *p; p++) { /* one line: integrity_check answers span several */
                if ((unsigned char)*p < 0x20)
                    *p = ' ';
            }
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
        }
    }
    (void)sqlite3_finalize(st);
    return rc;
}

/*
 * Opens path (which must exist: never created) for the backup with the hub's defensive
 * settings. *out receives the connection (sqlite3_close it) or NULL.
 */
static enum err backup_open(const char *path, sqlite3 **out, char *errmsg, size_t errcap)
{
    sqlite3 *db = NULL;
    int rc;

    *out = NULL;
    rc = sqlite3_open_v2(path, &db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "PRAGMA trusted_schema = OFF", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        enum err e =
            err_msgf((rc & 0xff) == SQLITE_NOMEM ? ERR_NOMEM : ERR_STORAGE, errmsg, errcap,
                     "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));

        (void)sqlite3_close(db);
        return e;
    }
    *out = db;
    return ERR_OK;
}

/*
 * Checks that db (named path in messages) is a Sesame hub database with a schema this build
 * knows (1..STORE_SCHEMA_VERSION) and sets *version. ERR_OK or ERR_STORAGE.
 */
static enum err backup_check_header(sqlite3 *db, const char *path, int64_t *version, char *errmsg,
                                    size_t errcap)
{
    int64_t app = 0;
    int rc;

    rc = query_int(db, "PRAGMA user_version", version);
    if (rc == SQLITE_OK)
        rc = query_int(db, "PRAGMA application_id", &app);
    if (rc != SQLITE_OK)
        return err_msgf(ERR_STORAGE, errmsg, errcap, "cannot read %s: %s", path,
                        sqlite3_errmsg(db));
    if (app != STORE_APPLICATION_ID || *version < 1)
        return err_msgf(ERR_STORAGE, errmsg, errcap, "%s is not a Sesame hub database", path);
    if (*version > STORE_SCHEMA_VERSION)
        return err_msgf(ERR_STORAGE, errmsg, errcap,
                        "%s has schema version %" PRId64
                        ", newer than this build supports (%d): use a newer Sesame",
                        path, *version, STORE_SCHEMA_VERSION);
    return ERR_OK;
}

/*
 * Copies every page of src's main database into dst in one step, so that the copy is one
 * snapshot (in WAL mode the read transaction does not block the hub's writers). A step the
 * source's lock refuses is retried for about BACKUP_BUSY_TRIES * BACKUP_BUSY_SLEEP_MS.
 */
static enum err backup_copy(sqlite3 *src, sqlite3 *dst, char *errmsg, size_t errcap)
{
    sqlite3_backup *b;
    int rc, frc, tries = 0;

    b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b)
        return err_msgf(ERR_STORAGE, errmsg, errcap, "cannot start the backup: %s",
                        sqlite3_errmsg(dst));
    for (;;) {
        rc = sqlite3_backup_step(b, -1);
        if (rc == SQLITE_DONE || rc == SQLITE_OK)
            break;
        if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) ||
            ++tries >= BACKUP_BUSY_TRIES)
            break;
        (void)sqlite3_sleep(BACKUP_BUSY_SLEEP_MS);
    }
    frc = sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
        return err_msgf((rc & 0xff) == SQLITE_NOMEM ? ERR_NOMEM : ERR_STORAGE, errmsg, errcap,
                        "the backup failed: %s", sqlite3_errstr(rc));
    if (frc != SQLITE_OK)
        return err_msgf(ERR_STORAGE, errmsg, errcap, "the backup failed: %s", sqlite3_errmsg(dst));
    return ERR_OK;
}

/* fsyncs the file or directory at path (opened read-only). */
static enum err backup_fsync_path(const char *path, int dir, char *errmsg, size_t errcap)
{
    char ebuf[128];
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : O_NOFOLLOW));
    if (fd < 0)
        return err_msgf(ERR_IO, errmsg, errcap, "cannot open %s to sync it: %s", path,
                        strerror_r(errno, ebuf, sizeof(ebuf)));
    rc = fsync(fd);
    if (rc != 0)
        (void)err_msgf(ERR_IO, errmsg, errcap, "cannot sync %s: %s", path,
                       strerror_r(errno, ebuf, sizeof(ebuf)));
    (void)close(fd);
    return rc == 0 ? ERR_OK : ERR_IO;
}

/* Removes path and the journal / WAL / shm files SQLite may have left beside it. */
static void backup_remove(const char *path)
{
    static const char *const suffix[] = {"", "-journal", "-wal", "-shm"};
    char name[CONFIG_MAX_PATH + 16];
    size_t i;

    for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        int n = snprintf(name, sizeof(name), "%s%s", path, suffix[i]);

        if (n > 0 && (size_t)n < sizeof(name))
            (void)unlink(name);
    }
}

/*
 * Renames from to to unless to exists (never replaced): renameat2(RENAME_NOREPLACE), or
 * link + unlink on a file system without it. ERR_OK, ERR_CONFLICT (to exists), ERR_IO.
 */
static enum err backup_rename_noreplace(const char *from, const char *to, char *errmsg,
                                        size_t errcap)
{
    char ebuf[128];

    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return ERR_OK;
    if (errno == EINVAL || errno == ENOSYS) {
        if (link(from, to) == 0) {
            (void)unlink(from);
            return ERR_OK;
        }
    }
    if (errno == EEXIST)
        return err_msgf(ERR_CONFLICT, errmsg, errcap, "%s exists: refusing to overwrite it", to);
    return err_msgf(ERR_IO, errmsg, errcap, "cannot rename %s to %s: %s", from, to,
                    strerror_r(errno, ebuf, sizeof(ebuf)));
}

/*
 * Copies the SQLite hub database online (see store.h). Owns and frees everything it opens;
 * on failure the temporary copy is removed and dest_path is untouched.
 */
enum err store_backup_to(const char *src_url_or_path, const char *dest_path,
                         struct store_backup_info *info, char *errmsg, size_t errcap)
{
    sqlite3 *src = NULL, *dst = NULL;
    char tmp[CONFIG_MAX_PATH + 8], text[BACKUP_TEXT_MAX], ebuf[128];
    const char *path, *slash;
    int64_t version = 0, copy_version = 0, pages = 0, page_size = 0;
    int fd, n, tmp_made = 0, rc;
    struct stat sb;
    enum err e = ERR_OK;

    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (info)
        memset(info, 0, sizeof(*info));
    if (!src_url_or_path || !*src_url_or_path)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "no database given");
    if (!dest_path || !*dest_path)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "no output file given");
    if (strncmp(src_url_or_path, "postgresql://", 13) == 0 ||
        strncmp(src_url_or_path, "postgres://", 11) == 0)
        return err_msgf(ERR_CONFIG, errmsg, errcap,
                        "the hub database is PostgreSQL: back it up with pg_dump");
    path = src_url_or_path;
    if (strncmp(path, "sqlite:", 7) == 0)
        path += 7;
    else if (store_url_has_scheme(path))
        return err_msgf(ERR_CONFIG, errmsg, errcap,
                        "unsupported database URL (use a path, sqlite:PATH or postgresql://)");
    if (!*path || strcmp(path, ":memory:") == 0)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "the database must be a file path");
    if (strnlen(path, CONFIG_MAX_PATH) >= CONFIG_MAX_PATH ||
        strnlen(dest_path, CONFIG_MAX_PATH) >= CONFIG_MAX_PATH)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "a path is too long");

    /* The source must exist (a backup never creates a hub database). */
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            return err_msgf(ERR_NOT_FOUND, errmsg, errcap, "no hub database at %s", path);
        return err_msgf(ERR_IO, errmsg, errcap, "cannot read %s: %s", path,
                        strerror_r(errno, ebuf, sizeof(ebuf)));
    }
    if (!S_ISREG(sb.st_mode))
        return err_msgf(ERR_IO, errmsg, errcap, "%s is not a regular file", path);

    /* The destination must not exist; its temporary file is created here, 0600, exclusively. */
    if (lstat(dest_path, &sb) == 0)
        return err_msgf(ERR_CONFLICT, errmsg, errcap, "%s exists: refusing to overwrite it",
                        dest_path);
    if (errno != ENOENT)
        return err_msgf(ERR_IO, errmsg, errcap, "cannot write %s: %s", dest_path,
                        strerror_r(errno, ebuf, sizeof(ebuf)));
    n = snprintf(tmp, sizeof(tmp), "%s.tmp", dest_path);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return err_msgf(ERR_CONFIG, errmsg, errcap, "a path is too long");
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return err_msgf(ERR_CONFLICT, errmsg, errcap,
                            "%s exists (another backup is running, or one was interrupted: "
                            "remove it)",
                            tmp);
        return err_msgf(ERR_IO, errmsg, errcap, "cannot create %s: %s", tmp,
                        strerror_r(errno, ebuf, sizeof(ebuf)));
    }
    (void)close(fd);
    tmp_made = 1;

    /* Copy one snapshot, then make the copy one self-contained file and check it. */
    e = backup_open(path, &src, errmsg, errcap);
    if (e == ERR_OK)
        e = backup_check_header(src, path, &version, errmsg, errcap);
    if (e == ERR_OK)
        e = backup_open(tmp, &dst, errmsg, errcap);
    if (e == ERR_OK)
        e = backup_copy(src, dst, errmsg, errcap);
    if (e != ERR_OK)
        goto out;
    rc = backup_query_text(dst, "PRAGMA journal_mode = DELETE", text, sizeof(text));
    if (rc != SQLITE_OK || strcmp(text, "delete") != 0) {
        e = err_msgf(ERR_STORAGE, errmsg, errcap, "cannot finish the copy %s: %s", tmp,
                     rc != SQLITE_OK ? sqlite3_errmsg(dst) : text);
        goto out;
    }
    rc = backup_query_text(dst, "PRAGMA integrity_check", text, sizeof(text));
    if (rc != SQLITE_OK || strcmp(text, "ok") != 0) {
        e = err_msgf(ERR_STORAGE, errmsg, errcap, "the copy fails its integrity check: %s",
                     rc != SQLITE_OK ? sqlite3_errmsg(dst) : text);
        goto out;
    }
    e = backup_check_header(dst, tmp, &copy_version, errmsg, errcap);
    if (e == ERR_OK && copy_version != version)
        e = err_msgf(ERR_STORAGE, errmsg, errcap, "the copy's schema version differs");
    if (e == ERR_OK && (query_int(dst, "PRAGMA page_count", &pages) != SQLITE_OK ||
                        query_int(dst, "PRAGMA page_size", &page_size) != SQLITE_OK))
        e = err_msgf(ERR_STORAGE, errmsg, errcap, "cannot read the copy: %s", sqlite3_errmsg(dst));
    if (e != ERR_OK)
        goto out;
    rc = sqlite3_close(dst);
    dst = NULL;
    if (rc != SQLITE_OK) {
        e = err_msgf(ERR_STORAGE, errmsg, errcap, "cannot close the copy %s: %s", tmp,
                     sqlite3_errstr(rc));
        goto out;
    }

    /* Durable, then published under its name, then the name made durable. */
    e = backup_fsync_path(tmp, 0, errmsg, errcap);
    if (e == ERR_OK)
        e = backup_rename_noreplace(tmp, dest_path, errmsg, errcap);
    if (e != ERR_OK)
        goto out;
    tmp_made = 0;
    slash = strrchr(dest_path, '/');
    if (!slash) {
        e = backup_fsync_path(".", 1, errmsg, errcap);
    } else if (slash == dest_path) {
        e = backup_fsync_path("/", 1, errmsg, errcap);
    } else {
        char dir[CONFIG_MAX_PATH];

        (void)snprintf(dir, sizeof(dir), "%.*s", (int)(slash - dest_path), dest_path);
        e = backup_fsync_path(dir, 1, errmsg, errcap);
    }
    if (e == ERR_OK && info) {
        info->bi_schema_version = version;
        info->bi_bytes = (uint64_t)pages * (uint64_t)page_size;
    }
out:
    if (dst)
        (void)sqlite3_close(dst);
    if (src)
        (void)sqlite3_close(src);
    if (tmp_made)
        backup_remove(tmp);
    return e;
}
