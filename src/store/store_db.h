/*
 * store_db.h - the hub store's database drivers (internal to src/store/).
 *
 * store.c holds every rule of the hub store (store.h): argument checks, versions, the
 * change feed, supersession. It speaks to a database only through a driver, a table of
 * functions below: store_sqlite.c (SQLite 3.40, one file) and store_pg.c (PostgreSQL 15
 * through libpq). The SQL the store runs is written once, in store_schema.c, and expanded
 * for each driver's dialect there; a driver never writes its own queries except for what
 * is its own business (transactions, locks, its schema version record, notifications).
 *
 * Connections: the store pools them and gives each to one thread at a time. A driver
 * caches its prepared statements per connection, keyed by the statement id the store
 * passes (0 .. STORE_DB_MAX_STMTS - 1; the same id always comes with the same SQL text).
 *
 * Statements: sdb_start runs (PostgreSQL) or binds (SQLite) one statement with its
 * parameters; sdb_step then walks its rows; sdb_done ends it. A statement id has at most
 * one execution open at a time (statements of different ids may be open together), and
 * its column values stay valid until its next step or done. Errors are mapped to enum err
 * here, once:
 *   unique / primary key violation  -> ERR_CONFLICT
 *   foreign key violation           -> ERR_NOT_FOUND
 *   disk full                       -> ERR_NO_SPACE
 *   out of memory                   -> ERR_NOMEM
 *   anything else                   -> ERR_STORAGE (logged, without values)
 * A driver logs its database's message for the unexpected ones and never a bound value.
 */
#ifndef SESAME_STORE_STORE_DB_H
#define SESAME_STORE_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/ids.h"

#define STORE_DB_MAX_STMTS  128 /* statement ids a connection caches */
#define STORE_DB_MAX_PARAMS 16  /* parameters of one statement */

/* The SQL dialect a driver's statements are expanded for (store_schema.c). */
enum sdb_dialect {
    SDB_SQLITE = 0,
    SDB_PG,
};

/* Kinds of bound parameters. */
enum sdb_kind {
    SDB_NULL = 0, /* NULL */
    SDB_INT,      /* pa_int, a 64-bit integer */
    SDB_TEXT,     /* pa_ptr: NUL-terminated UTF-8 text */
    SDB_BLOB,     /* pa_ptr, pa_len bytes (pa_len 0: an empty blob, not NULL) */
};

/* One parameter; pointers are borrowed until sdb_done. Parameter i is ?(i+1) / $(i+1). */
struct sdb_param {
    enum sdb_kind pa_kind;
    int64_t pa_int;
    const void *pa_ptr;
    size_t pa_len;
};

/* How a transaction starts. */
enum sdb_tx {
    SDB_TX_READ,  /* one consistent snapshot, read only (PG: REPEATABLE READ READ ONLY) */
    SDB_TX_WRITE, /* a write: serialised against every other write of the same account */
};

struct sdb_conn;     /* one connection (driver's own) */
struct sdb_stmt;     /* the running statement of a connection (driver's own) */
struct sdb_listener; /* a driver's watcher of other processes' commits */

#define STORE_DB_NOTICE_MAX 128 /* a commit notice, bytes with the NUL */

/*
 * A commit notice from another process (or this one) sharing the database: the text given
 * to dr_commit, or NULL after the listener lost its connection and got it back ("anything
 * may have changed"). The store gives the notice its meaning.
 */
typedef void (*sdb_notify_fn)(void *arg, const char *notice);

struct sdb_driver {
    const char *dr_name;          /* "sqlite", "postgresql", for messages */
    enum sdb_dialect dr_dialect;  /* how store_schema.c expands SQL for it */
    int dr_multi_process_writers; /* 1: other processes write the same database (PG) */

    /*
     * Opens one connection to target (SQLite: a file path; PostgreSQL: the URL as given),
     * with its per-connection settings. errmsg (may be NULL) receives one line that never
     * holds a password. Returns ERR_OK, ERR_STORAGE, ERR_NOMEM, ERR_NO_SPACE.
     */
    enum err (*dr_connect)(const char *target, struct sdb_conn **out, char *errmsg, size_t errcap);

    /* Closes c (its cached statements too). NULL is fine. */
    void (*dr_disconnect)(struct sdb_conn *c);

    /* Returns 0 when c can no longer be used (its server went away): the pool drops it. */
    int (*dr_usable)(struct sdb_conn *c);

    /*
     * Checks that the database is a Sesame hub database of a schema this build knows and
     * brings it to STORE_SCHEMA_VERSION with store_schema_migration, each step in one
     * transaction with its version record, so that two processes opening the same fresh
     * database do not both migrate. Returns ERR_OK or ERR_STORAGE (not ours, newer, a failed
     * migration), ERR_NOMEM, ERR_NO_SPACE, with one line in errmsg.
     */
    enum err (*dr_migrate)(struct sdb_conn *c, char *errmsg, size_t errcap);

    /*
     * Reads the schema version into *version without changing anything (0: empty database).
     * Returns ERR_OK or ERR_STORAGE (not a hub database), one line in errmsg.
     */
    enum err (*dr_schema_version)(struct sdb_conn *c, int64_t *version, char *errmsg,
                                  size_t errcap);

    /*
     * Starts a transaction. SDB_TX_WRITE with account (uppercase id) serialises against
     * every other write transaction of that account, in this process and every other
     * (SQLite: the database's write lock; PostgreSQL: a row lock on the account taken first,
     * so that what the transaction reads next is the latest committed state); account NULL
     * serialises against every write transaction that passes NULL (account creation).
     */
    enum err (*dr_begin)(struct sdb_conn *c, enum sdb_tx mode, const char *account);

    /*
     * Commits. notice NULL, or a short text (under STORE_DB_NOTICE_MAX bytes, of
     * [A-Za-z0-9:]) that a multi-process driver delivers, once the commit is durable, to
     * every listener of the database (PostgreSQL: pg_notify('sesame_changes', notice) in the
     * transaction, delivered at commit; SQLite ignores it). On failure the transaction is
     * rolled back.
     */
    enum err (*dr_commit)(struct sdb_conn *c, const char *notice);

    /* Rolls back the open transaction, if any. */
    void (*dr_rollback)(struct sdb_conn *c);

    /*
     * Starts statement id (< STORE_DB_MAX_STMTS) whose text is sql (this driver's dialect,
     * parameters ?1.. on SQLite, $1.. on PostgreSQL) with params[0..n). The number of
     * parameters must be the statement's (ERR_INTERNAL otherwise). *out: the statement, to
     * step and finish with dr_done - also after an error of dr_step; NULL on failure.
     */
    enum err (*dr_start)(struct sdb_conn *c, unsigned id, const char *sql,
                         const struct sdb_param *params, size_t n, struct sdb_stmt **out);

    /* Advances to the next row: *row 1 for a row, 0 when there are no more. */
    enum err (*dr_step)(struct sdb_stmt *st, int *row);

    /* Ends the statement (releases its rows, keeps its prepared form). NULL is fine. */
    void (*dr_done)(struct sdb_stmt *st);

    /* Rows the last finished insert, update or delete of c changed. */
    uint64_t (*dr_changes)(struct sdb_conn *c);

    /* Column readers of the current row (column i from 0). */
    int (*dr_col_null)(struct sdb_stmt *st, int i);
    int64_t (*dr_col_int)(struct sdb_stmt *st, int i); /* 0 for NULL */
    /* Text (NUL-terminated) or blob bytes, borrowed until the next step; NULL for NULL. */
    const unsigned char *(*dr_col_bytes)(struct sdb_stmt *st, int i, size_t *len);

    /*
     * Watches for the commit notices of every process sharing the database (NULL when the
     * driver has none, SQLite: its writers are this process). Starts a thread that calls fn
     * with each notice as it arrives, reconnecting with backoff when the server goes away
     * (not being able to connect at first is not an error: it keeps trying), and after each
     * reconnect calls fn(arg, NULL). *out: stop with dr_listen_stop.
     */
    enum err (*dr_listen_start)(const char *target, sdb_notify_fn fn, void *arg,
                                struct sdb_listener **out, char *errmsg, size_t errcap);
    void (*dr_listen_stop)(struct sdb_listener *l);
};

extern const struct sdb_driver store_db_sqlite; /* store_sqlite.c */
extern const struct sdb_driver store_db_pg;     /* store_pg.c */

/*
 * Prepares the SQLite file at path before its first connection: creates its one missing
 * directory (0700) and the file (0600) if absent, refuses what is not a regular file, warns
 * when group or others may read it. Returns ERR_OK or ERR_IO/ERR_NOMEM, one line in errmsg.
 */
enum err store_sqlite_prepare(const char *path, char *errmsg, size_t errcap) SESAME_WUR;

/*
 * Parses a commit notice "ACCOUNT:SEQ:ORIGIN" (store.c composes them: an uppercase account
 * id, a decimal seq without sign or leading zeros that fits 64 bits, and the sending store's
 * lowercase id) into account, *seq and origin. Returns 0, or -1 for anything else (then
 * nothing is promised about the outputs).
 */
int store_notice_parse(const char *notice, char account[ID_LEN + 1], uint64_t *seq,
                       char origin[ID_LEN + 1]);

/* Returns 1 if s starts with a URL scheme followed by "://" (store.c). */
int store_url_has_scheme(const char *s);

/* ---- The one description of the schema and statements (store_schema.c) -------------- */

/*
 * Returns the SQL of migration `to` (1..STORE_SCHEMA_VERSION: from version to - 1 to to)
 * expanded for dialect d, as heap text (mem_free), or NULL when out of memory. It holds
 * only schema statements; the driver records the version itself in the same transaction.
 */
char *store_schema_migration(enum sdb_dialect d, int to);

/*
 * Expands a statement template for dialect d into heap text (mem_free), or NULL when out
 * of memory or the template is malformed (a bug). Templates write parameters ?N, and:
 *   {int} {blob} {strict} {order} {order_col} {order_idx} {autoid} {empty} {noidx}
 * (store_schema.c says what each becomes).
 */
char *store_sql_expand(enum sdb_dialect d, const char *tmpl);

#endif
