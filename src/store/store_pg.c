/*
 * store_pg.c - the hub store's PostgreSQL driver (store_db.h), through libpq.
 *
 * Several hub replicas share one database. What makes that safe is here and in store.c:
 *  - every write transaction of an account first takes the account's row lock (READ
 *    COMMITTED, SELECT ... FOR UPDATE): writes of one account are serialised across every
 *    replica and each reads the latest committed state, so the change sequence is gap-free
 *    in commit order; writes of no one account (creating one) take an advisory lock;
 *  - reads that need one view run in REPEATABLE READ READ ONLY;
 *  - a commit that appended changes sends NOTIFY sesame_changes with the store's notice
 *    inside the transaction (delivered only if it commits), and each store keeps one
 *    listening connection (a thread) that passes the notices on;
 *  - migrations run under an advisory lock, each step in one transaction with its version
 *    record in sesame_schema.
 *
 * Statements are prepared once per connection ("s<id>"), parameters sent as text except
 * blobs (binary), results read in binary format and decoded by column type. Errors map by
 * SQLSTATE; messages are logged with the SQLSTATE and libpq's primary message, never the
 * detail (which can quote values) and never the URL (which can hold a password).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "store/store.h"
#include "store/store_db.h"

#define PG_APPLICATION          "sesame-hub" /* sesame_schema.application, application_name */
#define PG_CHANNEL              "sesame_changes"
#define PG_LOCK_ACCOUNTS        "357645371393" /* advisory lock key: writes of no one account */
#define PG_LOCK_MIGRATE         "357645371394" /* advisory lock key: migrations */
#define PG_STATEMENT_TIMEOUT_MS 30000          /* one statement, at most */
#define PG_LOCK_TIMEOUT_MS      30000          /* waiting for a lock, at most */
#define PG_CONNECT_TIMEOUT_S    10             /* libpq connect_timeout */
#define PG_LISTEN_POLL_MS       250            /* the listener checks for stop this often */
#define PG_LISTEN_BACKOFF_MIN   100            /* ms before its first reconnect */
#define PG_LISTEN_BACKOFF_MAX   5000           /* ms between reconnects, at most */
#define PG_ERR_MAX              256            /* one error line */
#define PG_INT_TEXT             24             /* a 64-bit integer in decimal, with sign and NUL */
#define PG_MIGRATE_TIMEOUT_MS   3600000        /* a migration step (an index build), at most */
#define PG_KEEPALIVE_IDLE_S     30             /* TCP keepalive: a silent server is found dead */
#define PG_KEEPALIVE_INTERVAL_S 10             /* after about idle + interval * count */
#define PG_KEEPALIVE_COUNT      3
#define PG_USABLE_READS         4 /* non-blocking reads of an idle connection, at most */

/* PostgreSQL type oids of the columns we read (pg_type.h). */
#define PG_OID_BOOL    16
#define PG_OID_BYTEA   17
#define PG_OID_NAME    19
#define PG_OID_INT8    20
#define PG_OID_INT2    21
#define PG_OID_INT4    23
#define PG_OID_TEXT    25
#define PG_OID_BPCHAR  1042
#define PG_OID_VARCHAR 1043

struct sdb_stmt {
    struct sdb_conn *ps_c; /* its connection */
    PGresult *ps_res;      /* the rows of the running execution, or NULL */
    int ps_row;            /* the current row; -1 before the first step */
    int ps_prepared;       /* prepared on this connection */
    int ps_nparams;        /* its parameter count (PQdescribePrepared) */
    int ps_bad;            /* a column was read as what it is not: the next step fails */
    int ps_logged;         /* that was logged (once per connection and statement id) */
};

struct sdb_conn {
    PGconn *pc_conn;
    int pc_broken;                               /* a connection-level failure happened */
    uint64_t pc_changes;                         /* rows the last command changed */
    struct sdb_stmt pc_stmt[STORE_DB_MAX_STMTS]; /* by statement id */
};

struct sdb_listener {
    char *pl_target;      /* the URL (may hold a password: wiped when freed) */
    sdb_notify_fn pl_fn;  /* where notices go */
    void *pl_arg;         /* its argument */
    pthread_t pl_thread;  /* the listening thread */
    int pl_pipe[2];       /* written to stop it */
    volatile int pl_stop; /* set before the pipe is written */
};

/* libpq prints notices to stderr by default: the hub's log is JSON lines, so drop them. */
static void pg_notice_drop(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Copies libpq's message into out as one line (newlines made spaces). */
static void pg_one_line(const char *msg, char *out, size_t cap)
{
    size_t i;

    (void)snprintf(out, cap, "%s", msg && *msg ? msg : "no message");
    for (i = 0; out[i]; i++)
        if (out[i] == '\n' || out[i] == '\r' || out[i] == '\t')
            out[i] = ' ';
    while (i > 0 && out[i - 1] == ' ')
        out[--i] = '\0';
}

/*
 * Maps a failed result (or NULL: the connection failed) to our error, logging the
 * unexpected ones with the SQLSTATE and primary message. Marks c broken when the
 * connection itself is gone.
 */
static enum err pg_error(struct sdb_conn *c, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[PG_ERR_MAX];

    /* the connection is gone (class 08, an administrator's shutdown 57P0x, no answer) */
    if (PQstatus(c->pc_conn) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P0", 4) == 0)
        c->pc_broken = 1;
    if (state) {
        if (strcmp(state, "23505") == 0)
            return ERR_CONFLICT;
        if (strcmp(state, "23503") == 0)
            return ERR_NOT_FOUND;
        if (strcmp(state, "53100") == 0) {
            log_error("store: %s: the database's disk is full (53100)", what);
            return ERR_NO_SPACE;
        }
        if (strcmp(state, "53200") == 0)
            return ERR_NOMEM;
    }
    pg_one_line(primary ? primary : PQerrorMessage(c->pc_conn), line, sizeof(line));
    log_error("store: %s: %s (%s)", what, line, state ? state : "connection");
    return ERR_STORAGE;
}

/* Runs constant SQL without parameters (several statements allowed); ERR_OK on success. */
static enum err pg_exec(struct sdb_conn *c, const char *sql, const char *what, char *errmsg,
                        size_t errcap)
{
    PGresult *res = PQexec(c->pc_conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    enum err e = ERR_OK;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char line[PG_ERR_MAX];

        e = pg_error(c, res, what);
        pg_one_line(res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL, line,
                    sizeof(line));
        (void)err_msgf(e, errmsg, errcap, "%s: %s", what, line);
    }
    PQclear(res);
    return e;
}

/* Closes c. */
static void pg_disconnect(struct sdb_conn *c)
{
    size_t i;

    if (!c)
        return;
    for (i = 0; i < STORE_DB_MAX_STMTS; i++)
        PQclear(c->pc_stmt[i].ps_res);
    PQfinish(c->pc_conn);
    mem_free(c);
}

/*
 * Returns 1 if line holds the password of url: decoded (libpq's parse) or as written in
 * the URL (between the user's ':' and the '@'). libpq's messages do not quote it, except
 * some of its URL syntax errors, which quote the part they could not decode.
 */
static int pg_line_has_password(const char *url, const char *line)
{
    PQconninfoOption *opts = PQconninfoParse(url, NULL), *o;
    const char *auth = strstr(url, "://"), *colon, *at;
    int found = 0;

    for (o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val && strstr(line, o->val))
            found = 1;
    PQconninfoFree(opts);
    if (!found && auth) {
        auth += 3;
        at = strchr(auth, '@');
        colon = strchr(auth, ':');
        if (at && colon && colon < at && at - colon > 1 &&
            memmem(line, strlen(line), colon + 1, (size_t)(at - colon - 1)))
            found = 1;
    }
    return found;
}

/* Opens a libpq connection to url with our settings; *out NULL on failure (errmsg set). */
static PGconn *pg_open(const char *url, char *errmsg, size_t errcap)
{
    /* the URL first (expand_dbname), then ours: what follows it overrides it, what precedes
       it (connect_timeout) is a default the URL may change */
    static const char *const keys[] = {
        "connect_timeout",     "dbname",           "application_name",
        "client_encoding",     "keepalives",       "keepalives_idle",
        "keepalives_interval", "keepalives_count", NULL};
    char timeout[16], idle[16], interval[16], count[16], line[PG_ERR_MAX];
    const char *vals[sizeof(keys) / sizeof(keys[0])];
    PGconn *conn;

    if (strncmp(url, "postgresql://", 13) != 0 && strncmp(url, "postgres://", 11) != 0) {
        (void)err_msgf(ERR_STORAGE, errmsg, errcap,
                       "the PostgreSQL database must be given as a postgresql:// URL");
        return NULL;
    }
    (void)snprintf(timeout, sizeof(timeout), "%d", PG_CONNECT_TIMEOUT_S);
    (void)snprintf(idle, sizeof(idle), "%d", PG_KEEPALIVE_IDLE_S);
    (void)snprintf(interval, sizeof(interval), "%d", PG_KEEPALIVE_INTERVAL_S);
    (void)snprintf(count, sizeof(count), "%d", PG_KEEPALIVE_COUNT);
    vals[0] = timeout;
    vals[1] = url;
    vals[2] = PG_APPLICATION;
    vals[3] = "UTF8";
    vals[4] = "1";
    vals[5] = idle;
    vals[6] = interval;
    vals[7] = count;
    vals[8] = NULL;
    conn = PQconnectdbParams(keys, vals, 1);
    if (!conn) {
        (void)err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        pg_one_line(PQerrorMessage(conn), line, sizeof(line));
        if (pg_line_has_password(url, line))
            (void)snprintf(line, sizeof(line), "%s", "the URL is malformed");
        (void)err_msgf(ERR_STORAGE, errmsg, errcap, "cannot connect to the PostgreSQL database: %s",
                       line);
        PQfinish(conn);
        return NULL;
    }
    (void)PQsetNoticeProcessor(conn, pg_notice_drop, NULL);
    return conn;
}

/* Opens one connection (dr_connect). */
static enum err pg_connect(const char *url, struct sdb_conn **out, char *errmsg, size_t errcap)
{
    char setup[256];
    struct sdb_conn *c;
    enum err e;
    size_t i;

    *out = NULL;
    c = mem_calloc(1, sizeof(*c));
    if (!c)
        return err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
    for (i = 0; i < STORE_DB_MAX_STMTS; i++) {
        c->pc_stmt[i].ps_c = c;
        c->pc_stmt[i].ps_row = -1;
    }
    c->pc_conn = pg_open(url, errmsg, errcap);
    if (!c->pc_conn) {
        mem_free(c);
        return ERR_STORAGE;
    }
    (void)snprintf(setup, sizeof(setup),
                   "SET client_min_messages = warning; SET TIME ZONE 'UTC';"
                   " SET statement_timeout = %d; SET lock_timeout = %d;",
                   PG_STATEMENT_TIMEOUT_MS, PG_LOCK_TIMEOUT_MS);
    e = pg_exec(c, setup, "cannot configure the connection", errmsg, errcap);
    if (e != ERR_OK) {
        pg_disconnect(c);
        return e;
    }
    *out = c;
    return ERR_OK;
}

/*
 * Whether c can still be used. An idle connection the server has closed (a restart, a
 * failover, pg_terminate_backend) is found here without a round trip: reading what is
 * waiting on its socket, without blocking, makes libpq see the end of the connection.
 */
static int pg_usable(struct sdb_conn *c)
{
    int k;

    if (!c || c->pc_broken || PQstatus(c->pc_conn) != CONNECTION_OK)
        return 0;
    if (PQtransactionStatus(c->pc_conn) != PQTRANS_IDLE)
        return 1;
    /* a terminated backend leaves its FATAL message, then the end: two reads */
    for (k = 0; k < PG_USABLE_READS; k++) {
        struct pollfd pfd = {.fd = PQsocket(c->pc_conn), .events = POLLIN};

        if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0)
            break;
        if (!PQconsumeInput(c->pc_conn) || PQstatus(c->pc_conn) != CONNECTION_OK) {
            c->pc_broken = 1;
            return 0;
        }
    }
    return 1;
}

/* Reads one integer from a one-row query without parameters into *out (-1 when no row). */
static enum err pg_query_int(struct sdb_conn *c, const char *sql, int64_t *out, char *errmsg,
                             size_t errcap)
{
    PGresult *res = PQexec(c->pc_conn, sql);
    enum err e = ERR_OK;

    *out = -1;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        e = pg_error(c, res, "reading the schema");
        (void)err_msgf(e, errmsg, errcap, "cannot read the database's schema");
    } else if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
        *out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    }
    PQclear(res);
    return e;
}

/*
 * Reads the schema version (0: an empty database) and refuses a database that is not ours
 * or is newer than this build. Run inside the migration transaction, or alone.
 */
static enum err pg_check(struct sdb_conn *c, int64_t *version, char *errmsg, size_t errcap)
{
    int64_t has_meta = 0, others = 0, app_ok = 0;
    enum err e;

    *version = 0;
    e = pg_query_int(c,
                     "SELECT count(*) FROM pg_catalog.pg_tables"
                     " WHERE schemaname = current_schema() AND tablename = 'sesame_schema'",
                     &has_meta, errmsg, errcap);
    if (e == ERR_OK)
        e = pg_query_int(c,
                         "SELECT count(*) FROM pg_catalog.pg_tables"
                         " WHERE schemaname = current_schema() AND tablename <> 'sesame_schema'",
                         &others, errmsg, errcap);
    if (e != ERR_OK)
        return e;
    if (!has_meta)
        return others ? err_msgf(ERR_STORAGE, errmsg, errcap,
                                 "not a Sesame hub database (it holds other tables)")
                      : ERR_OK;
    e = pg_query_int(c,
                     "SELECT count(*) FROM sesame_schema WHERE id = 1"
                     " AND application = '" PG_APPLICATION "'",
                     &app_ok, errmsg, errcap);
    if (e == ERR_OK)
        e = pg_query_int(c, "SELECT version FROM sesame_schema WHERE id = 1", version, errmsg,
                         errcap);
    if (e != ERR_OK)
        return e;
    if (!app_ok || *version < 0)
        return err_msgf(ERR_STORAGE, errmsg, errcap,
                        "not a Sesame hub database (sesame_schema names another application)");
    if (*version > STORE_SCHEMA_VERSION)
        return err_msgf(ERR_STORAGE, errmsg, errcap,
                        "the database schema version %" PRId64
                        " is newer than this build supports (%d): upgrade Sesame",
                        *version, STORE_SCHEMA_VERSION);
    return ERR_OK;
}

/* Reads the schema version without changing anything (dr_schema_version). */
static enum err pg_schema_version(struct sdb_conn *c, int64_t *version, char *errmsg, size_t errcap)
{
    return pg_check(c, version, errmsg, errcap);
}

/* Migrates to STORE_SCHEMA_VERSION, one step per transaction under an advisory lock. */
static enum err pg_migrate(struct sdb_conn *c, char *errmsg, size_t errcap)
{
    char lock[192];
    enum err e = ERR_OK;

    /* a step may build an index over a big table, or wait for another process's step */
    (void)snprintf(lock, sizeof(lock),
                   "BEGIN; SET LOCAL statement_timeout = %d; SET LOCAL lock_timeout = %d;"
                   " SELECT pg_advisory_xact_lock(" PG_LOCK_MIGRATE ");",
                   PG_MIGRATE_TIMEOUT_MS, PG_MIGRATE_TIMEOUT_MS);
    for (;;) {
        int64_t version = 0;
        char what[64], record[160];
        char *sql = NULL;

        e = pg_exec(c, lock, "cannot lock the database for its migration", errmsg, errcap);
        if (e == ERR_OK)
            e = pg_check(c, &version, errmsg, errcap);
        if (e == ERR_OK && version == STORE_SCHEMA_VERSION)
            return pg_exec(c, "COMMIT", "cannot finish reading the database", errmsg, errcap);
        if (e == ERR_OK) {
            (void)snprintf(what, sizeof(what), "migration to schema version %d failed",
                           (int)version + 1);
            if (version == 0)
                e = pg_exec(c,
                            "CREATE TABLE sesame_schema (id INT PRIMARY KEY CHECK (id = 1),"
                            " application TEXT NOT NULL, version INT NOT NULL);"
                            "INSERT INTO sesame_schema VALUES (1, '" PG_APPLICATION "', 0);",
                            what, errmsg, errcap);
            sql = e == ERR_OK ? store_schema_migration(SDB_PG, (int)version + 1) : NULL;
            if (e == ERR_OK && !sql)
                e = err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
            if (e == ERR_OK)
                e = pg_exec(c, sql, what, errmsg, errcap);
            mem_free(sql);
            (void)snprintf(record, sizeof(record),
                           "UPDATE sesame_schema SET version = %d WHERE id = 1; COMMIT;",
                           (int)version + 1);
            if (e == ERR_OK)
                e = pg_exec(c, record, what, errmsg, errcap);
            if (e == ERR_OK)
                log_info("store: database migrated to schema version %d", (int)version + 1);
        }
        if (e != ERR_OK) {
            if (PQtransactionStatus(c->pc_conn) != PQTRANS_IDLE)
                (void)pg_exec(c, "ROLLBACK", "rollback", NULL, 0);
            return e;
        }
    }
}

/* Whether a command status ("INSERT 0 1", "UPDATE 2", "SELECT 1") is of a change. */
static int pg_is_change(const char *status)
{
    static const char *const verbs[] = {"INSERT ", "UPDATE ", "DELETE ", "MERGE "};
    size_t i;

    for (i = 0; status && i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strncmp(status, verbs[i], strlen(verbs[i])) == 0)
            return 1;
    return 0;
}

/* Runs statement sql of c with its parameters; PGRES_COMMAND_OK / TUPLES_OK or an error. */
static enum err pg_run(struct sdb_conn *c, struct sdb_stmt *st, unsigned id, const char *sql,
                       const struct sdb_param *p, size_t n)
{
    char ints[STORE_DB_MAX_PARAMS][PG_INT_TEXT], name[16];
    const char *values[STORE_DB_MAX_PARAMS];
    int lengths[STORE_DB_MAX_PARAMS], formats[STORE_DB_MAX_PARAMS];
    PGresult *res;
    ExecStatusType rs;
    size_t i;

    (void)snprintf(name, sizeof(name), "s%u", id);
    if (!st->ps_prepared) {
        res = PQprepare(c->pc_conn, name, sql, 0, NULL);
        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
            enum err e = pg_error(c, res, "prepare");

            PQclear(res);
            return e;
        }
        PQclear(res);
        res = PQdescribePrepared(c->pc_conn, name);
        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
            enum err e = pg_error(c, res, "describe");

            PQclear(res);
            return e;
        }
        st->ps_nparams = PQnparams(res);
        PQclear(res);
        st->ps_prepared = 1;
    }
    if (n > STORE_DB_MAX_PARAMS || (int)n != st->ps_nparams) {
        log_error("store: %zu value(s) bound to a statement of %d parameter(s)", n, st->ps_nparams);
        return ERR_INTERNAL;
    }
    for (i = 0; i < n; i++) {
        lengths[i] = 0;
        formats[i] = 0;
        switch (p[i].pa_kind) {
        case SDB_NULL:
            values[i] = NULL;
            break;
        case SDB_INT:
            (void)snprintf(ints[i], sizeof(ints[i]), "%" PRId64, p[i].pa_int);
            values[i] = ints[i];
            break;
        case SDB_TEXT:
            values[i] = p[i].pa_ptr;
            break;
        case SDB_BLOB:
            if (p[i].pa_len > (size_t)INT32_MAX)
                return ERR_TOO_LARGE;
            values[i] = p[i].pa_len ? p[i].pa_ptr : "";
            lengths[i] = (int)p[i].pa_len;
            formats[i] = 1;
            break;
        default:
            return ERR_INTERNAL;
        }
    }
    res = PQexecPrepared(c->pc_conn, name, (int)n, values, lengths, formats, 1);
    rs = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
        enum err e = pg_error(c, res, "statement");

        PQclear(res);
        return e;
    }
    if (pg_is_change(PQcmdStatus(res)))
        c->pc_changes = strtoull(PQcmdTuples(res), NULL, 10);
    st->ps_res = res;
    st->ps_row = -1;
    return ERR_OK;
}

/* Ends the running execution of st (dr_done). */
static void pg_done(struct sdb_stmt *st)
{
    if (st) {
        PQclear(st->ps_res);
        st->ps_res = NULL;
        st->ps_row = -1;
        st->ps_bad = 0;
    }
}

/* Runs statement id (dr_start): its rows are then walked by pg_step. */
static enum err pg_start(struct sdb_conn *c, unsigned id, const char *sql,
                         const struct sdb_param *params, size_t n, struct sdb_stmt **out)
{
    struct sdb_stmt *st;
    enum err e;

    *out = NULL;
    if (id >= STORE_DB_MAX_STMTS || !sql)
        return ERR_INTERNAL;
    st = &c->pc_stmt[id];
    pg_done(st);
    if (c->pc_broken)
        return ERR_STORAGE;
    e = pg_run(c, st, id, sql, params, n);
    if (e != ERR_OK)
        return e;
    *out = st;
    return ERR_OK;
}

/* Advances to the next row (dr_step). */
static enum err pg_step(struct sdb_stmt *st, int *row)
{
    *row = 0;
    if (!st || !st->ps_res)
        return ERR_INTERNAL;
    if (st->ps_bad)
        return ERR_STORAGE; /* a column of the previous row could not be read (logged) */
    if (st->ps_row + 1 < PQntuples(st->ps_res)) {
        st->ps_row++;
        *row = 1;
    }
    return ERR_OK;
}

static uint64_t pg_changes(struct sdb_conn *c)
{
    return c->pc_changes;
}

/*
 * Notes that column i of st's row was read as what it is not (a type this driver does not
 * decode, or a misuse): the reader returns 0 / NULL and the next pg_step ERR_STORAGE.
 */
static void pg_col_bad(struct sdb_stmt *st, int i, const char *want)
{
    st->ps_bad = 1;
    if (!st->ps_logged)
        log_error("store: column %d of a statement is not %s (type %u)", i, want,
                  st->ps_res ? (unsigned)PQftype(st->ps_res, i) : 0u);
    st->ps_logged = 1;
}

static int pg_col_null(struct sdb_stmt *st, int i)
{
    return !st->ps_res || st->ps_row < 0 || PQgetisnull(st->ps_res, st->ps_row, i);
}

/* Decodes a binary integer column (int2, int4, int8, bool); 0 for NULL or another type. */
static int64_t pg_col_int(struct sdb_stmt *st, int i)
{
    const unsigned char *p;
    uint64_t v = 0;
    int len, k;
    Oid t;

    if (pg_col_null(st, i))
        return 0;
    t = PQftype(st->ps_res, i);
    p = (const unsigned char *)PQgetvalue(st->ps_res, st->ps_row, i);
    len = PQgetlength(st->ps_res, st->ps_row, i);
    if (!((t == PG_OID_INT8 && len == 8) || (t == PG_OID_INT4 && len == 4) ||
          (t == PG_OID_INT2 && len == 2) || (t == PG_OID_BOOL && len == 1))) {
        pg_col_bad(st, i, "an integer");
        return 0;
    }
    for (k = 0; k < len; k++)
        v = (v << 8) | p[k];
    if (len == 8)
        return (int64_t)v;
    if (len == 4)
        return (int64_t)(int32_t)(uint32_t)v;
    if (len == 2)
        return (int64_t)(int16_t)(uint16_t)v;
    return (int64_t)v;
}

/* Text or bytea bytes (NUL-terminated by libpq); NULL for NULL or another type. */
static const unsigned char *pg_col_bytes(struct sdb_stmt *st, int i, size_t *len)
{
    Oid t;
    int n;

    *len = 0;
    if (pg_col_null(st, i))
        return NULL;
    t = PQftype(st->ps_res, i);
    if (t != PG_OID_BYTEA && t != PG_OID_TEXT && t != PG_OID_VARCHAR && t != PG_OID_BPCHAR &&
        t != PG_OID_NAME) {
        pg_col_bad(st, i, "text or bytes");
        return NULL;
    }
    n = PQgetlength(st->ps_res, st->ps_row, i);
    *len = n > 0 ? (size_t)n : 0;
    return (const unsigned char *)PQgetvalue(st->ps_res, st->ps_row, i);
}

/* Ids of the driver's own statements, after the store's. */
enum { PG_ST_LOCK_ACCOUNT = STORE_DB_MAX_STMTS - 3, PG_ST_LOCK_ANY, PG_ST_NOTIFY };

/* Runs one of the driver's own statements with up to one text parameter, ignoring rows. */
static enum err pg_own(struct sdb_conn *c, unsigned id, const char *sql, const char *param)
{
    struct sdb_param p = {.pa_kind = SDB_TEXT, .pa_ptr = param};
    struct sdb_stmt *st = NULL;
    enum err e;

    e = pg_start(c, id, sql, param ? &p : NULL, param ? 1 : 0, &st);
    pg_done(st);
    return e;
}

/* Starts a transaction (dr_begin): see the top of the file. */
static enum err pg_begin(struct sdb_conn *c, enum sdb_tx mode, const char *account)
{
    enum err e;

    if (c->pc_broken)
        return ERR_STORAGE;
    if (mode == SDB_TX_READ)
        return pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", "begin", NULL, 0);
    e = pg_exec(c, "BEGIN", "begin", NULL, 0);
    if (e != ERR_OK)
        return e;
    if (account)
        e = pg_own(c, PG_ST_LOCK_ACCOUNT, "SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE",
                   account);
    else
        e = pg_own(c, PG_ST_LOCK_ANY, "SELECT pg_advisory_xact_lock(" PG_LOCK_ACCOUNTS ")", NULL);
    if (e != ERR_OK)
        (void)pg_exec(c, "ROLLBACK", "rollback", NULL, 0);
    return e;
}

/* Rolls back the open transaction, if any (dr_rollback). */
static void pg_rollback(struct sdb_conn *c)
{
    if (PQstatus(c->pc_conn) == CONNECTION_OK && PQtransactionStatus(c->pc_conn) != PQTRANS_IDLE &&
        pg_exec(c, "ROLLBACK", "rollback", NULL, 0) != ERR_OK)
        log_error("store: rollback failed");
}

/* Commits, sending the notice first (dr_commit). */
static enum err pg_commit(struct sdb_conn *c, const char *notice)
{
    PGresult *res = NULL;
    enum err e = ERR_OK;

    if (notice)
        e = pg_own(c, PG_ST_NOTIFY, "SELECT pg_notify('" PG_CHANNEL "', $1)", notice);
    if (e == ERR_OK) {
        res = PQexec(c->pc_conn, "COMMIT");
        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
            e = pg_error(c, res, "commit");
        else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) { /* an aborted transaction */
            log_error("store: commit: the transaction had failed and was rolled back");
            e = ERR_STORAGE;
        }
        PQclear(res);
    }
    if (e != ERR_OK)
        pg_rollback(c);
    return e;
}

/* ---- The listener ---------------------------------------------------------------------- */

/* Sleeps ms unless stopped; returns 1 when stopped. */
static int pg_listen_pause(struct sdb_listener *l, int ms)
{
    struct pollfd pfd = {.fd = l->pl_pipe[0], .events = POLLIN};

    if (l->pl_stop)
        return 1;
    (void)poll(&pfd, 1, ms);
    return l->pl_stop;
}

/* Passes on the notices that arrived; returns 0, or -1 when the connection failed. */
static int pg_listen_drain(struct sdb_listener *l, PGconn *conn)
{
    PGnotify *n;

    if (!PQconsumeInput(conn))
        return -1;
    while ((n = PQnotifies(conn)) != NULL) {
        size_t len = strnlen(n->extra, STORE_DB_NOTICE_MAX);

        if (len > 0 && len < STORE_DB_NOTICE_MAX &&
            strspn(n->extra, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "abcdefghijklmnopqrstuvwxyz"
                             "0123456789:") == len)
            l->pl_fn(l->pl_arg, n->extra);
        else
            log_debug("store: a malformed commit notice was ignored");
        PQfreemem(n);
    }
    return 0;
}

/*
 * The listening thread: connect, LISTEN, pass notices on, reconnect with backoff. Once it
 * has been without a connection (lost, or not made at the first attempt), the next LISTEN
 * is followed by fn(arg, NULL): notices may have been missed meanwhile.
 */
static void *pg_listen_main(void *arg)
{
    struct sdb_listener *l = arg;
    int backoff = PG_LISTEN_BACKOFF_MIN, missed = 0;

    while (!l->pl_stop) {
        char errmsg[PG_ERR_MAX];
        PGconn *conn = pg_open(l->pl_target, errmsg, sizeof(errmsg));
        PGresult *res = NULL;

        if (conn)
            res = PQexec(conn, "LISTEN " PG_CHANNEL);
        if (!conn || !res || PQresultStatus(res) != PGRES_COMMAND_OK) {
            if (!conn)
                log_debug("store: the commit listener cannot connect: %s", errmsg);
            else
                log_debug("store: the commit listener cannot LISTEN");
            PQclear(res);
            PQfinish(conn);
            missed = 1;
            if (pg_listen_pause(l, backoff))
                break;
            backoff = backoff * 2 > PG_LISTEN_BACKOFF_MAX ? PG_LISTEN_BACKOFF_MAX : backoff * 2;
            continue;
        }
        PQclear(res);
        backoff = PG_LISTEN_BACKOFF_MIN;
        if (missed) {
            log_info("store: the commit listener is connected again");
            l->pl_fn(l->pl_arg, NULL);
        }
        missed = 1; /* from here on, a lost connection is a gap */
        while (!l->pl_stop) {
            struct pollfd pfd[2] = {{.fd = PQsocket(conn), .events = POLLIN},
                                    {.fd = l->pl_pipe[0], .events = POLLIN}};
            int rc = poll(pfd, 2, PG_LISTEN_POLL_MS);

            if (rc < 0 && errno != EINTR)
                break;
            if (rc > 0 && (pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) &&
                pg_listen_drain(l, conn) != 0)
                break;
            if (PQstatus(conn) != CONNECTION_OK)
                break;
        }
        PQfinish(conn);
        if (!l->pl_stop) {
            log_warn("store: the commit listener lost its connection; reconnecting");
            (void)pg_listen_pause(l, backoff);
        }
    }
    return NULL;
}

static void pg_listen_free(struct sdb_listener *l)
{
    if (!l)
        return;
    if (l->pl_pipe[0] >= 0)
        (void)close(l->pl_pipe[0]);
    if (l->pl_pipe[1] >= 0)
        (void)close(l->pl_pipe[1]);
    if (l->pl_target) {
        memset(l->pl_target, 0, strlen(l->pl_target));
        mem_free(l->pl_target);
    }
    mem_free(l);
}

/* Starts the listening thread (dr_listen_start). */
static enum err pg_listen_start(const char *target, sdb_notify_fn fn, void *arg,
                                struct sdb_listener **out, char *errmsg, size_t errcap)
{
    struct sdb_listener *l;

    *out = NULL;
    l = mem_calloc(1, sizeof(*l));
    if (!l)
        return err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
    l->pl_pipe[0] = l->pl_pipe[1] = -1;
    l->pl_fn = fn;
    l->pl_arg = arg;
    l->pl_target = mem_strdup(target);
    if (!l->pl_target || pipe2(l->pl_pipe, O_CLOEXEC) != 0) {
        pg_listen_free(l);
        return err_msgf(ERR_NOMEM, errmsg, errcap, "cannot make the listener");
    }
    if (pthread_create(&l->pl_thread, NULL, pg_listen_main, l) != 0) {
        pg_listen_free(l);
        return err_msgf(ERR_NOMEM, errmsg, errcap, "cannot start the listener thread");
    }
    *out = l;
    return ERR_OK;
}

/* Stops and joins the listening thread (dr_listen_stop). */
static void pg_listen_stop(struct sdb_listener *l)
{
    if (!l)
        return;
    l->pl_stop = 1;
    if (write(l->pl_pipe[1], "x", 1) < 0)
        log_debug("store: waking the commit listener failed");
    (void)pthread_join(l->pl_thread, NULL);
    pg_listen_free(l);
}

/* The PostgreSQL driver. */
const struct sdb_driver store_db_pg = {
    .dr_name = "postgresql",
    .dr_dialect = SDB_PG,
    .dr_multi_process_writers = 1,
    .dr_connect = pg_connect,
    .dr_disconnect = pg_disconnect,
    .dr_usable = pg_usable,
    .dr_migrate = pg_migrate,
    .dr_schema_version = pg_schema_version,
    .dr_begin = pg_begin,
    .dr_commit = pg_commit,
    .dr_rollback = pg_rollback,
    .dr_start = pg_start,
    .dr_step = pg_step,
    .dr_done = pg_done,
    .dr_changes = pg_changes,
    .dr_col_null = pg_col_null,
    .dr_col_int = pg_col_int,
    .dr_col_bytes = pg_col_bytes,
    .dr_listen_start = pg_listen_start,
    .dr_listen_stop = pg_listen_stop,
};
