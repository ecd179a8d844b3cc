/*
 * store.c - the hub store (store.h): every rule of it, on any database driver.
 *
 * The rules - argument checks, versions, the change feed and its supersession, what a
 * server may see - live here once; the database is reached only through a driver
 * (store_db.h): store_sqlite.c (one SQLite file) or store_pg.c (PostgreSQL, shared by
 * several hub replicas). Every statement below is a constant template, expanded for the
 * driver's dialect when the store opens (store_schema.c), and every value is bound.
 *
 * Connections: a pool of at most STORE_MAX_CONNECTIONS, opened lazily, each used by one
 * thread at a time and caching its prepared statements; a connection the driver reports
 * unusable (its server went away) is dropped and the next operation opens a new one.
 * Writes: on SQLite every write transaction of the process is serialised by a mutex held
 * across BEGIN IMMEDIATE ... COMMIT (fair within the process, without SQLite's
 * sleep-and-retry); on PostgreSQL each write transaction first takes its account's row lock,
 * so writes of one account are serialised across every replica and the change sequence is
 * gap-free in commit order, while different accounts write in parallel.
 */
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/log.h"
#include "crypto/hash.h"
#include "json/item.h"
#include "store/store_db.h"

#define STORE_PAYLOAD_MAX (SIZE_MAX / 2)

_Static_assert(STORE_CATEGORY_MAX == ITEM_CATEGORY_MAX, "category size differs from json/item.h");
_Static_assert(STORE_STATE_MAX == ITEM_STATE_MAX, "state size differs from json/item.h");
_Static_assert(STORE_SHA256_BYTES == HASH_SHA256_BYTES, "SHA-256 size");

/* ---- Statements ------------------------------------------------------------------------- */

enum stmt_id {
    ST_SEQ_TAKE,
    ST_SEQ_LAST,
    ST_CHANGE_INSERT,
    ST_CHANGE_SUPERSEDE_REF,
    ST_CHANGE_SUPERSEDE_VAULT,
    ST_CHANGE_SUPERSEDE_SERVER,
    ST_CHANGES_ALL,
    ST_CHANGES_SERVER,
    ST_ACCOUNT_INSERT,
    ST_ACCOUNT_GET,
    ST_ACCOUNT_EXISTS,
    ST_ACCOUNT_ANY,
    ST_SKEY_INSERT,
    ST_SKEY_RETIRED,
    ST_SKEY_LIST,
    ST_SKEY_RETIRE,
    ST_VAULT_INSERT,
    ST_VAULT_GET,
    ST_VAULT_LIST,
    ST_VAULT_LIVE,
    ST_VAULT_UPDATE_ATTRS,
    ST_VAULT_BUMP,
    ST_VAULT_BUMP_RET,
    ST_VAULT_DELETE,
    ST_VAULT_ITEMS_ERASE,
    ST_VAULT_FILES_DELETE,
    ST_VAULT_GRANT_SERVERS,
    ST_VAULT_GRANTS_DELETE,
    ST_ITEM_STATE,
    ST_ITEM_UPSERT,
    ST_ITEM_GET,
    ST_ITEM_LIST,
    ST_ITEM_LIST_FULL,
    ST_ITEM_CURSOR,
    ST_ITEM_PAGE,
    ST_ITEM_DELETE,
    ST_FILE_META,
    ST_FILE_GET,
    ST_FILE_INSERT,
    ST_SERVER_INSERT,
    ST_SERVER_GET,
    ST_SERVER_LIST,
    ST_SERVER_LIVE,
    ST_SERVER_KNOWN,
    ST_SERVER_DELETE,
    ST_SERVER_GRANTS_DELETE,
    ST_SERVER_SESSIONS_DELETE,
    ST_GRANT_UPSERT,
    ST_GRANT_DELETE,
    ST_GRANT_BY_SERVER,
    ST_GRANT_BY_VAULT,
    ST_TOKEN_INSERT,
    ST_TOKEN_GET,
    ST_TOKEN_LIST,
    ST_TOKEN_LIST_SERVER,
    ST_TOKEN_REVOKE,
    ST_ACTIVITY_INSERT,
    ST_ACTIVITY_COUNT,
    ST_ACTIVITY_COUNT_SERVER,
    ST_ACTIVITY_PAGE,
    ST_ACTIVITY_PAGE_SERVER,
    ST_NONCE_PURGE,
    ST_NONCE_INSERT,
    ST_SESSION_INSERT,
    ST_SESSION_LOOKUP,
    ST_SESSION_PURGE,
    ST_SECRET_INSERT,
    ST_SECRET_GET,
    ST__COUNT
};

#define VAULT_COLUMNS                                                                              \
    "id, attrs_ct, key_admin, type, attribute_version, content_version,"                           \
    " (SELECT count(*) FROM items i WHERE i.account_id = v.account_id AND i.vault_id = v.id"       \
    " AND i.deleted = 0), created_at, updated_at"
#define CHANGE_COLUMNS                                                                             \
    "seq, kind, vault_id, ref_id, server_id, payload_json, superseded_by, committed_at"
#define TOKEN_COLUMNS                                                                              \
    "jti, name, server_id, vaults_json, expires_at, token_sha256, created_at, revoked_at"

static const char *const stmt_templates[ST__COUNT] = {
    [ST_SEQ_TAKE] = "UPDATE accounts SET next_seq = next_seq + 1 WHERE id = ?1"
                    " RETURNING next_seq - 1",
    [ST_SEQ_LAST] = "SELECT next_seq - 1 FROM accounts WHERE id = ?1",
    [ST_CHANGE_INSERT] = "INSERT INTO changes (account_id, seq, kind, vault_id, ref_id, server_id,"
                         " payload_json, committed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    /* "{noidx}seq" keeps SQLite on the live changes' partial indexes instead of the primary key's
       range over every change before seq (which made each write cost O(changes)) */
    [ST_CHANGE_SUPERSEDE_REF] =
        "UPDATE changes SET payload_json = NULL, superseded_by = ?1 WHERE account_id = ?2"
        " AND vault_id = ?3 AND ref_id = ?4 AND superseded_by IS NULL AND {noidx}seq < ?1"
        " AND kind IN (?5, ?6)",
    [ST_CHANGE_SUPERSEDE_VAULT] =
        "UPDATE changes SET payload_json = NULL, superseded_by = ?1 WHERE account_id = ?2"
        " AND vault_id = ?3 AND superseded_by IS NULL AND {noidx}seq < ?1 AND kind IN"
        " ('vault_create', 'vault_update', 'item_put', 'item_delete', 'file_put', 'grant_put')",
    [ST_CHANGE_SUPERSEDE_SERVER] =
        "UPDATE changes SET payload_json = NULL, superseded_by = ?1 WHERE account_id = ?2"
        " AND server_id = ?3 AND superseded_by IS NULL AND {noidx}seq < ?1"
        " AND kind IN ('grant_put', 'grant_delete')",
    [ST_CHANGES_ALL] = "SELECT " CHANGE_COLUMNS " FROM changes WHERE account_id = ?1 AND seq > ?2"
                       " ORDER BY seq LIMIT ?3",
    [ST_CHANGES_SERVER] =
        "SELECT " CHANGE_COLUMNS " FROM changes WHERE account_id = ?1 AND seq > ?2 AND ("
        " kind IN ('signing_key_add', 'signing_key_retire') OR server_id = ?4"
        " OR (kind IN ('vault_create', 'vault_update', 'vault_delete', 'item_put', 'item_delete',"
        " 'file_put') AND vault_id IN (SELECT vault_id FROM grants WHERE account_id = ?1"
        " AND server_id = ?4))) AND (seq > ?5 OR kind NOT IN ('item_put', 'item_delete'))"
        " ORDER BY seq LIMIT ?3",
    [ST_ACCOUNT_INSERT] = "INSERT INTO accounts (id, admin_sign_jwk, admin_wrap_pub, created_at,"
                          " next_seq) VALUES (?1, ?2, ?3, ?4, 1)",
    [ST_ACCOUNT_GET] = "SELECT admin_sign_jwk, admin_wrap_pub, created_at, next_seq - 1"
                       " FROM accounts WHERE id = ?1",
    [ST_ACCOUNT_EXISTS] = "SELECT 1 FROM accounts WHERE id = ?1",
    [ST_ACCOUNT_ANY] = "SELECT 1 FROM accounts LIMIT 1",
    [ST_SKEY_INSERT] = "INSERT INTO signing_keys (account_id, kid, public_jwk, created_at)"
                       " VALUES (?1, ?2, ?3, ?4)",
    [ST_SKEY_RETIRED] = "SELECT retired_at FROM signing_keys WHERE account_id = ?1 AND kid = ?2",
    [ST_SKEY_LIST] = "SELECT kid, public_jwk, created_at, retired_at FROM signing_keys"
                     " WHERE account_id = ?1 ORDER BY {order}",
    [ST_SKEY_RETIRE] = "UPDATE signing_keys SET retired_at = ?3 WHERE account_id = ?1 AND kid = ?2",
    [ST_VAULT_INSERT] = "INSERT INTO vaults (account_id, id, attrs_ct, key_admin, type,"
                        " attribute_version, content_version, created_at, updated_at, deleted)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, 1, 1, ?6, ?6, 0)",
    [ST_VAULT_GET] = "SELECT " VAULT_COLUMNS " FROM vaults v WHERE account_id = ?1 AND id = ?2"
                     " AND deleted = 0",
    [ST_VAULT_LIST] = "SELECT " VAULT_COLUMNS " FROM vaults v WHERE account_id = ?1"
                      " AND deleted = 0 ORDER BY {order}",
    [ST_VAULT_LIVE] = "SELECT 1 FROM vaults WHERE account_id = ?1 AND id = ?2 AND deleted = 0",
    [ST_VAULT_UPDATE_ATTRS] =
        "UPDATE vaults SET attrs_ct = ?3, attribute_version = attribute_version + 1,"
        " updated_at = ?4 WHERE account_id = ?1 AND id = ?2 AND deleted = 0"
        " RETURNING type, attribute_version, content_version, created_at",
    [ST_VAULT_BUMP] = "UPDATE vaults SET content_version = content_version + 1, updated_at = ?3"
                      " WHERE account_id = ?1 AND id = ?2",
    [ST_VAULT_BUMP_RET] = "UPDATE vaults SET content_version = content_version + 1, updated_at = ?3"
                          " WHERE account_id = ?1 AND id = ?2 RETURNING content_version",
    [ST_VAULT_DELETE] = "UPDATE vaults SET deleted = 1, attrs_ct = {empty}, key_admin = {empty},"
                        " content_version = content_version + 1, updated_at = ?3"
                        " WHERE account_id = ?1 AND id = ?2 AND deleted = 0"
                        " RETURNING content_version",
    [ST_VAULT_ITEMS_ERASE] =
        "UPDATE items SET deleted = 1, overview_ct = {empty}, details_ct = {empty},"
        " updated_at = ?3 WHERE account_id = ?1 AND vault_id = ?2"
        " AND deleted = 0",
    [ST_VAULT_FILES_DELETE] = "DELETE FROM files WHERE account_id = ?1 AND vault_id = ?2",
    [ST_VAULT_GRANT_SERVERS] = "SELECT server_id FROM grants WHERE account_id = ?1"
                               " AND vault_id = ?2 ORDER BY {order}",
    [ST_VAULT_GRANTS_DELETE] = "DELETE FROM grants WHERE account_id = ?1 AND vault_id = ?2",
    [ST_ITEM_STATE] = "SELECT version, deleted, created_at FROM items WHERE account_id = ?1"
                      " AND vault_id = ?2 AND id = ?3",
    [ST_ITEM_UPSERT] =
        "INSERT INTO items (account_id, vault_id, id, version, state, category, overview_ct,"
        " details_ct, created_at, updated_at, last_edited_by, deleted)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0)"
        " ON CONFLICT (account_id, vault_id, id) DO UPDATE SET version = excluded.version,"
        " state = excluded.state, category = excluded.category,"
        " overview_ct = excluded.overview_ct, details_ct = excluded.details_ct,"
        " updated_at = excluded.updated_at, last_edited_by = excluded.last_edited_by, deleted = 0",
    [ST_ITEM_GET] = "SELECT version, state, category, overview_ct, details_ct, created_at,"
                    " updated_at, last_edited_by FROM items WHERE account_id = ?1"
                    " AND vault_id = ?2 AND id = ?3 AND deleted = 0",
    [ST_ITEM_LIST] = "SELECT id, version, state, category, overview_ct, created_at, updated_at,"
                     " last_edited_by FROM items WHERE account_id = ?1 AND vault_id = ?2"
                     " AND deleted = 0 ORDER BY {order}",
    [ST_ITEM_LIST_FULL] = "SELECT id, version, state, category, overview_ct, created_at,"
                          " updated_at, last_edited_by, details_ct FROM items"
                          " WHERE account_id = ?1 AND vault_id = ?2 AND deleted = 0"
                          " ORDER BY {order}",
    /* the vault's listing order (the hub's insertion order, as ST_ITEM_LIST), from the
       cursor item on: Connect servers list items in the order they first received them */
    [ST_ITEM_CURSOR] = "SELECT {order} FROM items WHERE account_id = ?1 AND vault_id = ?2"
                       " AND id = ?3",
    [ST_ITEM_PAGE] =
        "SELECT id, version, state, category, overview_ct, created_at, updated_at,"
        " last_edited_by, details_ct FROM items WHERE account_id = ?1"
        " AND vault_id = ?2 AND deleted = 0 AND {order} > ?3 ORDER BY {order} LIMIT ?4",
    [ST_ITEM_DELETE] = "UPDATE items SET deleted = 1, version = version + 1, overview_ct = {empty},"
                       " details_ct = {empty}, updated_at = ?4, last_edited_by = ?5"
                       " WHERE account_id = ?1 AND vault_id = ?2 AND id = ?3 AND deleted = 0"
                       " RETURNING version",
    [ST_FILE_META] = "SELECT size, sha256, created_at FROM files WHERE account_id = ?1"
                     " AND vault_id = ?2 AND id = ?3",
    [ST_FILE_GET] = "SELECT size, sha256, created_at, content_ct FROM files WHERE account_id = ?1"
                    " AND vault_id = ?2 AND id = ?3",
    [ST_FILE_INSERT] = "INSERT INTO files (account_id, vault_id, id, size, content_ct, sha256,"
                       " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_SERVER_INSERT] = "INSERT INTO servers (account_id, id, name, sign_jwk, wrap_pub,"
                         " created_at, deleted, unlock_admin)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
    [ST_SERVER_GET] = "SELECT id, name, sign_jwk, wrap_pub, created_at, unlock_admin FROM servers"
                      " WHERE account_id = ?1 AND id = ?2 AND deleted = 0",
    [ST_SERVER_LIST] = "SELECT id, name, sign_jwk, wrap_pub, created_at, unlock_admin FROM servers"
                       " WHERE account_id = ?1 AND deleted = 0 ORDER BY {order}",
    [ST_SERVER_LIVE] = "SELECT 1 FROM servers WHERE account_id = ?1 AND id = ?2 AND deleted = 0",
    [ST_SERVER_KNOWN] = "SELECT 1 FROM servers WHERE account_id = ?1 AND id = ?2",
    [ST_SERVER_DELETE] = "UPDATE servers SET deleted = 1, unlock_admin = {empty}"
                         " WHERE account_id = ?1 AND id = ?2"
                         " AND deleted = 0",
    [ST_SERVER_GRANTS_DELETE] = "DELETE FROM grants WHERE account_id = ?1 AND server_id = ?2",
    [ST_SERVER_SESSIONS_DELETE] = "DELETE FROM sessions WHERE account_id = ?1 AND server_id = ?2",
    [ST_GRANT_UPSERT] = "INSERT INTO grants (account_id, server_id, vault_id, key_wrapped,"
                        " created_at) VALUES (?1, ?2, ?3, ?4, ?5)"
                        " ON CONFLICT (account_id, server_id, vault_id) DO UPDATE SET"
                        " key_wrapped = excluded.key_wrapped, created_at = excluded.created_at",
    [ST_GRANT_DELETE] = "DELETE FROM grants WHERE account_id = ?1 AND server_id = ?2"
                        " AND vault_id = ?3",
    [ST_GRANT_BY_SERVER] = "SELECT server_id, vault_id, key_wrapped, created_at FROM grants"
                           " WHERE account_id = ?1 AND server_id = ?2 ORDER BY {order}",
    [ST_GRANT_BY_VAULT] = "SELECT server_id, vault_id, key_wrapped, created_at FROM grants"
                          " WHERE account_id = ?1 AND vault_id = ?2 ORDER BY {order}",
    [ST_TOKEN_INSERT] = "INSERT INTO tokens (account_id, jti, name, server_id, vaults_json,"
                        " expires_at, token_sha256, created_at)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_TOKEN_GET] = "SELECT " TOKEN_COLUMNS " FROM tokens WHERE account_id = ?1 AND jti = ?2",
    [ST_TOKEN_LIST] = "SELECT " TOKEN_COLUMNS " FROM tokens WHERE account_id = ?1 ORDER BY {order}",
    [ST_TOKEN_LIST_SERVER] = "SELECT " TOKEN_COLUMNS " FROM tokens WHERE account_id = ?1"
                             " AND server_id = ?2 ORDER BY {order}",
    [ST_TOKEN_REVOKE] = "UPDATE tokens SET revoked_at = ?3 WHERE account_id = ?1 AND jti = ?2"
                        " AND revoked_at IS NULL RETURNING server_id",
    [ST_ACTIVITY_INSERT] = "INSERT INTO activity (account_id, server_id, received_at, entry_json)"
                           " VALUES (?1, ?2, ?3, ?4)",
    [ST_ACTIVITY_COUNT] = "SELECT count(*) FROM activity WHERE account_id = ?1",
    [ST_ACTIVITY_COUNT_SERVER] = "SELECT count(*) FROM activity WHERE account_id = ?1"
                                 " AND server_id = ?2",
    [ST_ACTIVITY_PAGE] = "SELECT id, server_id, received_at, entry_json FROM activity"
                         " WHERE account_id = ?1 ORDER BY id LIMIT ?2 OFFSET ?3",
    [ST_ACTIVITY_PAGE_SERVER] = "SELECT id, server_id, received_at, entry_json FROM activity"
                                " WHERE account_id = ?1 AND server_id = ?4 ORDER BY id"
                                " LIMIT ?2 OFFSET ?3",
    [ST_NONCE_PURGE] = "DELETE FROM admin_nonces WHERE expires_at <= ?1",
    [ST_NONCE_INSERT] = "INSERT INTO admin_nonces (account_id, nonce, expires_at)"
                        " VALUES (?1, ?2, ?3)",
    [ST_SESSION_INSERT] = "INSERT INTO sessions (session_sha256, account_id, server_id,"
                          " expires_at) VALUES (?1, ?2, ?3, ?4)",
    [ST_SESSION_LOOKUP] = "SELECT s.account_id, s.server_id, s.expires_at FROM sessions s"
                          " JOIN servers v ON v.account_id = s.account_id AND v.id = s.server_id"
                          " WHERE s.session_sha256 = ?1 AND s.expires_at > ?2 AND v.deleted = 0",
    [ST_SESSION_PURGE] = "DELETE FROM sessions WHERE expires_at <= ?1",
    [ST_SECRET_INSERT] = "INSERT INTO hub_secrets (name, value, created_at) VALUES (?1, ?2, ?3)"
                         " ON CONFLICT (name) DO NOTHING",
    [ST_SECRET_GET] = "SELECT value FROM hub_secrets WHERE name = ?1",
};

static const char *const change_kind_names[STORE_CHANGE__COUNT] = {
    [STORE_CHANGE_ACCOUNT_CREATE] = "account_create",
    [STORE_CHANGE_SIGNING_KEY_ADD] = "signing_key_add",
    [STORE_CHANGE_SIGNING_KEY_RETIRE] = "signing_key_retire",
    [STORE_CHANGE_VAULT_CREATE] = "vault_create",
    [STORE_CHANGE_VAULT_UPDATE] = "vault_update",
    [STORE_CHANGE_VAULT_DELETE] = "vault_delete",
    [STORE_CHANGE_ITEM_PUT] = "item_put",
    [STORE_CHANGE_ITEM_DELETE] = "item_delete",
    [STORE_CHANGE_FILE_PUT] = "file_put",
    [STORE_CHANGE_SERVER_CREATE] = "server_create",
    [STORE_CHANGE_SERVER_DELETE] = "server_delete",
    [STORE_CHANGE_GRANT_PUT] = "grant_put",
    [STORE_CHANGE_GRANT_DELETE] = "grant_delete",
    [STORE_CHANGE_TOKEN_REGISTER] = "token_register",
    [STORE_CHANGE_TOKEN_REVOKE] = "token_revoke",
};

_Static_assert(ST__COUNT <= STORE_DB_MAX_STMTS, "more statements than a connection caches");

/* ---- The store and its connections ------------------------------------------------------ */

enum op_mode {
    OP_PLAIN, /* single statements in autocommit */
    OP_READ,  /* one consistent snapshot */
    OP_WRITE, /* a write transaction, serialised per account (see the top of the file) */
};

struct conn;

/* A statement of a connection (one per statement id: cn_stmt). */
struct stmt {
    struct conn *sm_conn;    /* its connection */
    struct sdb_stmt *sm_run; /* the driver's running statement, or NULL */
};

struct conn {
    const struct sdb_driver *cn_dr; /* the store's driver */
    struct sdb_conn *cn_db;         /* the driver's connection */
    struct stmt cn_stmt[ST__COUNT]; /* by statement id */
    struct conn *cn_next;           /* next idle connection */
    enum op_mode cn_mode;           /* mode of the current operation */
    char *const *cn_sql;            /* the store's statements (st_sql) */
    const char *cn_tx_account;      /* account whose changes the transaction appended */
    uint64_t cn_tx_seq;             /* last seq the transaction appended; 0 = none */
};

struct store {
    const struct sdb_driver *st_dr; /* the database driver */
    char *st_target;                /* its target: a file path or a URL (may hold a password) */
    char *st_sql[ST__COUNT];        /* the statements, expanded for the driver's dialect */
    pthread_mutex_t st_pool_lock;   /* guards st_idle and st_open */
    pthread_cond_t st_pool_cond;    /* signalled when a connection comes back */
    struct conn *st_idle;           /* idle connections */
    size_t st_open;                 /* connections open or being opened */
    pthread_mutex_t st_write_lock;  /* SQLite: held across each write transaction */
    int64_t (*st_clock)(void *arg); /* NULL: time() */
    void *st_clock_arg;
    void (*st_hook)(void *arg, const char *account, uint64_t last_seq);
    void *st_hook_arg;
    struct sdb_listener *st_listener; /* other replicas' commits (PostgreSQL), or NULL */
    char st_origin[ID_LEN + 1];       /* this store's name in its commit notices */
};

static int64_t store_now(const struct store *s)
{
    if (s->st_clock)
        return s->st_clock(s->st_clock_arg);
    return (int64_t)time(NULL);
}

/* Resets st for its next use (ends its rows); NULL is fine. */
static void stmt_done(struct stmt *st)
{
    if (st && st->sm_run) {
        st->sm_conn->cn_dr->dr_done(st->sm_run);
        st->sm_run = NULL;
    }
}

/*
 * Converts the values of a format into driver parameters: 't' const char * (NULL binds
 * NULL), 'b' const void *, size_t (a blob; length 0 binds an empty blob, not NULL), 'i'
 * int64_t, 'I' int64_t with 0 bound as NULL, 'u' uint64_t (at most INT64_MAX). *n receives
 * how many. ERR_INTERNAL for a bad format or too many values (a bug caught on first use).
 */
static enum err stmt_params_va(const char *fmt, va_list ap, struct sdb_param *p, size_t *n)
{
    const char *f;
    size_t i = 0;

    for (f = fmt; *f; f++, i++) {
        if (i >= STORE_DB_MAX_PARAMS)
            return ERR_INTERNAL;
        memset(&p[i], 0, sizeof(p[i]));
        switch (*f) {
        case 't':
            p[i].pa_ptr = va_arg(ap, const char *);
            p[i].pa_kind = p[i].pa_ptr ? SDB_TEXT : SDB_NULL;
            break;
        case 'b':
            p[i].pa_ptr = va_arg(ap, const void *);
            p[i].pa_len = va_arg(ap, size_t);
            p[i].pa_kind = SDB_BLOB;
            break;
        case 'i':
            p[i].pa_int = va_arg(ap, int64_t);
            p[i].pa_kind = SDB_INT;
            break;
        case 'I':
            p[i].pa_int = va_arg(ap, int64_t);
            p[i].pa_kind = p[i].pa_int ? SDB_INT : SDB_NULL;
            break;
        case 'u': {
            uint64_t v = va_arg(ap, uint64_t);
            if (v > (uint64_t)INT64_MAX)
                return ERR_BAD_INPUT;
            p[i].pa_int = (int64_t)v;
            p[i].pa_kind = SDB_INT;
            break;
        }
        default:
            return ERR_INTERNAL;
        }
    }
    *n = i;
    return ERR_OK;
}

/* Starts statement id of c with the values of fmt (stmt_params_va) into *out. */
static enum err stmt_start_va(struct conn *c, enum stmt_id id, struct stmt **out, const char *fmt,
                              va_list ap)
{
    struct sdb_param params[STORE_DB_MAX_PARAMS];
    struct stmt *st = &c->cn_stmt[id];
    size_t n = 0;
    enum err e;

    *out = NULL;
    stmt_done(st);
    e = stmt_params_va(fmt, ap, params, &n);
    if (e != ERR_OK)
        return e;
    st->sm_conn = c;
    e = c->cn_dr->dr_start(c->cn_db, (unsigned)id, c->cn_sql[id], params, n, &st->sm_run);
    if (e != ERR_OK) {
        stmt_done(st);
        return e;
    }
    *out = st;
    return ERR_OK;
}

/* Starts statement id of c with the values of fmt (stmt_params_va). */
static enum err stmt_start(struct conn *c, enum stmt_id id, struct stmt **out, const char *fmt, ...)
{
    va_list ap;
    enum err e;

    va_start(ap, fmt);
    e = stmt_start_va(c, id, out, fmt, ap);
    va_end(ap);
    return e;
}

/* Steps st: *row is 1 for a row, 0 when done. */
static enum err stmt_step(struct conn *c, struct stmt *st, int *row)
{
    *row = 0;
    return c->cn_dr->dr_step(st->sm_run, row);
}

/* Runs statement id of c with the values of fmt to completion, ignoring rows. */
static enum err stmt_run(struct conn *c, enum stmt_id id, const char *fmt, ...)
{
    struct stmt *st;
    va_list ap;
    enum err e;
    int row = 1;

    va_start(ap, fmt);
    e = stmt_start_va(c, id, &st, fmt, ap);
    va_end(ap);
    if (e != ERR_OK)
        return e;
    while (e == ERR_OK && row)
        e = stmt_step(c, st, &row);
    stmt_done(st);
    return e;
}

/* Runs statement id with fmt values and reports whether it returned a row (*found). */
static enum err stmt_exists(struct conn *c, enum stmt_id id, int *found, const char *fmt, ...)
{
    struct stmt *st;
    va_list ap;
    enum err e;

    *found = 0;
    va_start(ap, fmt);
    e = stmt_start_va(c, id, &st, fmt, ap);
    va_end(ap);
    if (e != ERR_OK)
        return e;
    e = stmt_step(c, st, found);
    stmt_done(st);
    return e;
}

/* Rows the last finished insert, update or delete of c changed. */
static uint64_t conn_changes(const struct conn *c)
{
    return c->cn_dr->dr_changes(c->cn_db);
}

/* Column readers of the current row. */
static int col_null(struct stmt *st, int i)
{
    return st->sm_conn->cn_dr->dr_col_null(st->sm_run, i);
}

static const unsigned char *col_bytes(struct stmt *st, int i, size_t *len)
{
    *len = 0;
    return st->sm_conn->cn_dr->dr_col_bytes(st->sm_run, i, len);
}

/* Bytes of column i (0 for NULL). */
static size_t col_len(struct stmt *st, int i)
{
    size_t n = 0;

    (void)col_bytes(st, i, &n);
    return n;
}

/* A NOT NULL text column read as NULL means the database lied: callers check. */
static enum err col_text_dup(struct stmt *st, int i, const char **out)
{
    const unsigned char *t;
    size_t n;

    *out = NULL;
    if (col_null(st, i))
        return ERR_OK;
    t = col_bytes(st, i, &n);
    if (!t)
        return ERR_NOMEM;
    *out = mem_strndup((const char *)t, n);
    return *out ? ERR_OK : ERR_NOMEM;
}

static enum err col_text_copy(struct stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t;
    size_t n;

    out[0] = '\0';
    if (col_null(st, i))
        return ERR_OK;
    t = col_bytes(st, i, &n);
    if (!t)
        return ERR_NOMEM;
    if (n >= cap) {
        log_error("store: a stored text is longer than its field (%zu bytes)", n);
        return ERR_STORAGE;
    }
    memcpy(out, t, n);
    out[n] = '\0';
    return ERR_OK;
}

static enum err col_blob_dup(struct stmt *st, int i, const unsigned char **out, size_t *len)
{
    const unsigned char *p;
    unsigned char *copy;
    size_t n;

    *out = NULL;
    *len = 0;
    p = col_bytes(st, i, &n);
    if (n == 0)
        return ERR_OK;
    if (!p)
        return ERR_NOMEM;
    copy = mem_alloc(n);
    if (!copy)
        return ERR_NOMEM;
    memcpy(copy, p, n);
    *out = copy;
    *len = n;
    return ERR_OK;
}

/* Frees heap memory a record owns through a pointer-to-const member (store.h). */
static void mem_free_owned(const void *p)
{
    mem_free((void *)(uintptr_t)p);
}

static uint64_t col_u64(struct stmt *st, int i)
{
    int64_t v = st->sm_conn->cn_dr->dr_col_int(st->sm_run, i);

    return v < 0 ? 0 : (uint64_t)v;
}

static int64_t col_i64(struct stmt *st, int i)
{
    return st->sm_conn->cn_dr->dr_col_int(st->sm_run, i);
}

/* Returns arr with room for element n (growing *cap), or NULL (arr unchanged, still yours). */
static void *array_room(void *arr, size_t n, size_t *cap, size_t elem)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return arr;
    ncap = *cap ? *cap * 2 : 8;
    if (ncap < *cap || ncap > SIZE_MAX / elem)
        return NULL;
    p = mem_calloc(ncap, elem);
    if (!p)
        return NULL;
    if (arr && n)
        memcpy(p, arr, n * elem);
    mem_free(arr);
    *cap = ncap;
    return p;
}

/* ---- Connections, pool, transactions ---------------------------------------------------- */

static void conn_close(struct conn *c)
{
    size_t i;

    if (!c)
        return;
    for (i = 0; i < ST__COUNT; i++)
        stmt_done(&c->cn_stmt[i]);
    c->cn_dr->dr_disconnect(c->cn_db);
    mem_free(c);
}

/* Opens a new connection of s. */
static enum err conn_open(struct store *s, struct conn **out, char *errmsg, size_t errcap)
{
    struct conn *c;
    enum err e;
    size_t i;

    *out = NULL;
    c = mem_calloc(1, sizeof(*c));
    if (!c)
        return err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
    c->cn_dr = s->st_dr;
    c->cn_sql = s->st_sql;
    for (i = 0; i < ST__COUNT; i++)
        c->cn_stmt[i].sm_conn = c;
    e = s->st_dr->dr_connect(s->st_target, &c->cn_db, errmsg, errcap);
    if (e != ERR_OK) {
        mem_free(c);
        return e;
    }
    *out = c;
    return ERR_OK;
}

/* Takes an idle usable connection, opening one if the pool has room, else waits for one. */
static enum err conn_acquire(struct store *s, struct conn **out)
{
    struct conn *c = NULL;
    enum err e;

    *out = NULL;
    pthread_mutex_lock(&s->st_pool_lock);
    for (;;) {
        while (!s->st_idle && s->st_open >= STORE_MAX_CONNECTIONS)
            pthread_cond_wait(&s->st_pool_cond, &s->st_pool_lock);
        if (!s->st_idle)
            break;
        c = s->st_idle;
        s->st_idle = c->cn_next;
        c->cn_next = NULL;
        if (s->st_dr->dr_usable(c->cn_db)) {
            pthread_mutex_unlock(&s->st_pool_lock);
            *out = c;
            return ERR_OK;
        }
        /* its server went away: drop it, and open a new one in its place */
        s->st_open--;
        pthread_mutex_unlock(&s->st_pool_lock);
        conn_close(c);
        c = NULL;
        pthread_mutex_lock(&s->st_pool_lock);
    }
    s->st_open++;
    pthread_mutex_unlock(&s->st_pool_lock);
    e = conn_open(s, &c, NULL, 0);
    if (e != ERR_OK) {
        pthread_mutex_lock(&s->st_pool_lock);
        s->st_open--;
        pthread_cond_signal(&s->st_pool_cond);
        pthread_mutex_unlock(&s->st_pool_lock);
        return e;
    }
    *out = c;
    return ERR_OK;
}

/* Returns c to the pool, or closes it when the driver says it can no longer be used. */
static void conn_release(struct store *s, struct conn *c)
{
    int usable = s->st_dr->dr_usable(c->cn_db);

    pthread_mutex_lock(&s->st_pool_lock);
    if (usable) {
        c->cn_next = s->st_idle;
        s->st_idle = c;
    } else {
        s->st_open--;
    }
    pthread_cond_signal(&s->st_pool_cond);
    pthread_mutex_unlock(&s->st_pool_lock);
    if (!usable)
        conn_close(c);
}

/* Whether writes are serialised by this process's mutex (SQLite) or by the database. */
static int store_local_writers(const struct store *s)
{
    return !s->st_dr->dr_multi_process_writers;
}

/*
 * Starts an operation: a connection, and for OP_READ / OP_WRITE a transaction. A write
 * names its account (NULL: a write of no one account, such as creating one).
 */
static enum err op_begin(struct store *s, struct conn **out, enum op_mode mode, const char *account)
{
    struct conn *c;
    enum err e = ERR_OK;
    int retried = 0;

    *out = NULL;
again:
    e = conn_acquire(s, &c);
    if (e != ERR_OK)
        return e;
    c->cn_mode = mode;
    c->cn_tx_account = NULL;
    c->cn_tx_seq = 0;
    if (mode == OP_WRITE) {
        if (store_local_writers(s))
            pthread_mutex_lock(&s->st_write_lock);
        e = s->st_dr->dr_begin(c->cn_db, SDB_TX_WRITE, account);
        if (e != ERR_OK && store_local_writers(s))
            pthread_mutex_unlock(&s->st_write_lock);
    } else if (mode == OP_READ) {
        e = s->st_dr->dr_begin(c->cn_db, SDB_TX_READ, NULL);
    }
    if (e != ERR_OK) {
        int lost = !s->st_dr->dr_usable(c->cn_db);

        conn_release(s, c); /* closes it when lost */
        /* a connection the server dropped while it sat in the pool: nothing was done yet,
           so once more on a new one */
        if (lost && !retried) {
            retried = 1;
            goto again;
        }
        return e;
    }
    *out = c;
    return ERR_OK;
}

/*
 * Ends an operation begun with op_begin: commits when e is ERR_OK (else rolls back),
 * returns the connection, then runs the commit hook if changes were committed. Returns e,
 * or the commit's error.
 */
static enum err op_end(struct store *s, struct conn *c, enum err e)
{
    const char *account = c->cn_tx_account;
    uint64_t seq = c->cn_tx_seq;
    size_t i;

    for (i = 0; i < ST__COUNT; i++)
        stmt_done(&c->cn_stmt[i]);
    if (c->cn_mode != OP_PLAIN) {
        char notice[STORE_DB_NOTICE_MAX];
        int n = 0;

        if (seq && account)
            n = snprintf(notice, sizeof(notice), "%s:%" PRIu64 ":%s", account, seq, s->st_origin);
        if (e == ERR_OK)
            e = s->st_dr->dr_commit(c->cn_db, n > 0 && (size_t)n < sizeof(notice) ? notice : NULL);
        else
            s->st_dr->dr_rollback(c->cn_db);
        if (c->cn_mode == OP_WRITE && store_local_writers(s))
            pthread_mutex_unlock(&s->st_write_lock);
    }
    conn_release(s, c);
    if (e == ERR_OK && seq && account && s->st_hook)
        s->st_hook(s->st_hook_arg, account, seq);
    return e;
}

/* ---- Argument checks -------------------------------------------------------------------- */

static int ok_lower(const char *id)
{
    return id && id_is_valid(id);
}

static int ok_upper(const char *id)
{
    return id && id_is_valid_upper(id);
}

static int ok_editor(const char *id)
{
    return !id || !*id || id_is_valid_upper(id);
}

/* 1..max bytes of text. */
static int ok_text(const char *t, size_t max)
{
    return t && *t && strnlen(t, max + 1) <= max;
}

/* A non-empty blob. */
static int ok_blob(const unsigned char *p, size_t n)
{
    return p && n > 0;
}

/* [A-Z_] words shorter than cap; empty only if allow_empty. */
static int ok_word(const char *w, size_t cap, int allow_empty)
{
    size_t i;

    for (i = 0; i < cap && w[i]; i++) {
        if (!((w[i] >= 'A' && w[i] <= 'Z') || w[i] == '_'))
            return 0;
    }
    return i < cap && (i > 0 || allow_empty);
}

static int ok_kid(const char *k)
{
    size_t i;

    if (!k)
        return 0;
    for (i = 0; i <= STORE_KID_MAX && k[i]; i++) {
        char ch = k[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return i > 0 && i <= STORE_KID_MAX;
}

static int ok_hex64(const char *h)
{
    size_t i;

    for (i = 0; i < STORE_SHA256_HEX_LEN; i++) {
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return 0;
    }
    return h[i] == '\0';
}

static int ok_nonce(const char *n)
{
    size_t i;

    if (!n)
        return 0;
    for (i = 0; i <= STORE_NONCE_MAX && n[i]; i++) {
        if ((unsigned char)n[i] <= 0x20 || (unsigned char)n[i] >= 0x7f)
            return 0;
    }
    return i > 0 && i <= STORE_NONCE_MAX;
}

/* ---- Change records --------------------------------------------------------------------- */

/* JSON payload helpers: pj_open starts "{", each pj_* adds one member, pj_close adds "}". */
static enum err pj_hex(struct buf *b, const char *key, const unsigned char *p, size_t n)
{
    char hex[2 * STORE_SHA256_BYTES + 1];
    enum err e;

    if (n > STORE_SHA256_BYTES)
        return ERR_INTERNAL;
    e = codec_hex_encode(hex, sizeof(hex), p, n);
    return e == ERR_OK ? buf_add_member_str(b, key, hex) : e;
}

/*
 * Appends a change to the open write transaction: takes the account's next seq (gap-free:
 * the account row's counter, under the write lock) and inserts the record. *seq (may be
 * NULL) receives it. ERR_NOT_FOUND if the account does not exist.
 */
static enum err change_append(struct conn *c, int64_t now, const char *account,
                              enum store_change_kind kind, const char *vault, const char *ref,
                              const char *server, const struct buf *payload, uint64_t *seq)
{
    struct stmt *st;
    enum err e;
    uint64_t n = 0;
    int row = 0;

    e = stmt_start(c, ST_SEQ_TAKE, &st, "t", account);
    if (e != ERR_OK)
        return e;
    e = stmt_step(c, st, &row);
    if (e == ERR_OK && !row)
        e = ERR_NOT_FOUND;
    if (e == ERR_OK)
        n = col_u64(st, 0);
    stmt_done(st);
    if (e != ERR_OK)
        return e;
    e = stmt_run(c, ST_CHANGE_INSERT, "tuttttti", account, n, change_kind_names[kind], vault, ref,
                 server, buf_str(payload), now);
    if (e != ERR_OK)
        return e;
    c->cn_tx_account = account;
    c->cn_tx_seq = n;
    if (seq)
        *seq = n;
    return ERR_OK;
}

/* Marks the live changes of (vault, ref) of the two kinds before seq as superseded by seq. */
static enum err change_supersede_ref(struct conn *c, const char *account, uint64_t seq,
                                     const char *vault, const char *ref, enum store_change_kind k1,
                                     enum store_change_kind k2)
{
    return stmt_run(c, ST_CHANGE_SUPERSEDE_REF, "uttttt", seq, account, vault, ref,
                    change_kind_names[k1], change_kind_names[k2]);
}

/* Starts a payload buffer with "{". */
/*
 * Bumps the content version of vault (an item of it changed) and returns the new value in
 * *cv, which item changes carry (vaultContentVersion) so that a Connect server applying
 * only the last of several superseded changes still ends at the hub's value.
 */
static enum err vault_bump(struct conn *c, const char *account, const char *vault, int64_t now,
                           uint64_t *cv)
{
    struct stmt *st = NULL;
    int row = 0;
    enum err e;

    *cv = 0;
    e = stmt_start(c, ST_VAULT_BUMP_RET, &st, "tti", account, vault, now);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && row)
            *cv = col_u64(st, 0);
        while (e == ERR_OK && row)
            e = stmt_step(c, st, &row);
        stmt_done(st);
    }
    return e;
}

static enum err pj_open(struct buf *b)
{
    buf_init(b, STORE_PAYLOAD_MAX);
    return buf_add(b, "{", 1);
}

/* Closes the payload and appends it as a change (change_append); frees b either way. */
static enum err pj_commit(struct conn *c, int64_t now, const char *account, struct buf *b,
                          enum err e, enum store_change_kind kind, const char *vault,
                          const char *ref, const char *server, uint64_t *seq)
{
    if (e == ERR_OK)
        e = buf_add(b, "}", 1);
    if (e == ERR_OK)
        e = change_append(c, now, account, kind, vault, ref, server, b, seq);
    buf_free(b);
    return e;
}

/* ---- Opening ---------------------------------------------------------------------------- */

/* Returns 1 if s starts with a URL scheme followed by "://" (see store_db.h). */
int store_url_has_scheme(const char *s)
{
    size_t i = 0;

    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
           (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.')
        i++;
    return strncmp(s + i, "://", 3) == 0;
}

/* Frees s's expanded statements. */
static void store_free_sql(struct store *s)
{
    size_t i;

    for (i = 0; i < ST__COUNT; i++) {
        mem_free(s->st_sql[i]);
        s->st_sql[i] = NULL;
    }
}

/* Expands every statement template for s's driver. */
static enum err store_expand_sql(struct store *s)
{
    size_t i;

    for (i = 0; i < ST__COUNT; i++) {
        s->st_sql[i] = store_sql_expand(s->st_dr->dr_dialect, stmt_templates[i]);
        if (!s->st_sql[i]) {
            log_error("store: statement %zu cannot be expanded", i);
            return ERR_NOMEM;
        }
    }
    return ERR_OK;
}

/*
 * Chooses the driver and target of url_or_path (see store_open in store.h): *target points
 * into url_or_path. Returns ERR_OK or ERR_CONFIG with one line in errmsg.
 */
static enum err store_parse_target(const char *url_or_path, const struct sdb_driver **dr,
                                   const char **target, char *errmsg, size_t errcap)
{
    const char *path;

    *dr = NULL;
    *target = NULL;
    if (!url_or_path || !*url_or_path)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "no database path given");
    if (strncmp(url_or_path, "postgresql://", 13) == 0 ||
        strncmp(url_or_path, "postgres://", 11) == 0) {
        if (strnlen(url_or_path, STORE_URL_MAX_BYTES + 1) > STORE_URL_MAX_BYTES)
            return err_msgf(ERR_CONFIG, errmsg, errcap, "the database URL is too long");
        *dr = &store_db_pg;
        *target = url_or_path;
        return ERR_OK;
    }
    path = url_or_path;
    if (strncmp(path, "sqlite:", 7) == 0)
        path += 7;
    else if (store_url_has_scheme(path))
        return err_msgf(ERR_CONFIG, errmsg, errcap,
                        "unsupported database URL (use a path, sqlite:PATH or postgresql://)");
    if (!*path || strcmp(path, ":memory:") == 0)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "the database must be a file path");
    if (strnlen(path, CONFIG_MAX_PATH) >= CONFIG_MAX_PATH)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "the database path is too long");
    *dr = &store_db_sqlite;
    *target = path;
    return ERR_OK;
}

/*
 * Opens the store (see store.h): chooses the driver, prepares a SQLite file, opens the first
 * connection and migrates. *out owns the store on success.
 */
enum err store_open(struct store **out, const char *url_or_path, char *errmsg, size_t errcap)
{
    const struct sdb_driver *dr = NULL;
    const char *target = NULL;
    struct store *s = NULL;
    struct conn *c = NULL;
    enum err e;

    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (!out)
        return err_msgf(ERR_INTERNAL, errmsg, errcap, "no output");
    *out = NULL;
    e = store_parse_target(url_or_path, &dr, &target, errmsg, errcap);
    if (e != ERR_OK)
        return e;
    if (dr == &store_db_sqlite) {
        e = store_sqlite_prepare(target, errmsg, errcap);
        if (e != ERR_OK)
            return e;
    }
    s = mem_calloc(1, sizeof(*s));
    if (!s)
        return err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
    s->st_dr = dr;
    if (id_new(s->st_origin) != ERR_OK) {
        mem_free(s);
        return err_msgf(ERR_INTERNAL, errmsg, errcap, "no random numbers");
    }
    pthread_mutex_init(&s->st_pool_lock, NULL);
    pthread_cond_init(&s->st_pool_cond, NULL);
    pthread_mutex_init(&s->st_write_lock, NULL);
    s->st_target = mem_strdup(target);
    if (!s->st_target) {
        e = err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
        goto out;
    }
    e = store_expand_sql(s);
    if (e != ERR_OK) {
        (void)err_msgf(e, errmsg, errcap, "out of memory");
        goto out;
    }
    e = conn_open(s, &c, errmsg, errcap);
    if (e == ERR_OK)
        e = dr->dr_migrate(c->cn_db, errmsg, errcap);
    if (e != ERR_OK)
        goto out;
    s->st_open = 1;
    s->st_idle = c;
    c = NULL;
out:
    if (e != ERR_OK) {
        conn_close(c);
        store_close(s);
        return e;
    }
    *out = s;
    return ERR_OK;
}

/* Closes every pooled connection and frees s (no operation may be in flight). */
void store_close(struct store *s)
{
    struct conn *c;

    if (!s)
        return;
    if (s->st_listener)
        s->st_dr->dr_listen_stop(s->st_listener);
    pthread_mutex_lock(&s->st_pool_lock);
    c = s->st_idle;
    s->st_idle = NULL;
    if (s->st_open != 0) {
        size_t idle = 0;
        struct conn *i;
        for (i = c; i; i = i->cn_next)
            idle++;
        if (idle != s->st_open)
            log_error("store: closed with %zu connection(s) still in use", s->st_open - idle);
    }
    pthread_mutex_unlock(&s->st_pool_lock);
    while (c) {
        struct conn *next = c->cn_next;
        conn_close(c);
        c = next;
    }
    pthread_mutex_destroy(&s->st_pool_lock);
    pthread_cond_destroy(&s->st_pool_cond);
    pthread_mutex_destroy(&s->st_write_lock);
    store_free_sql(s);
    if (s->st_target) {
        /* a URL may hold a password */
        memset(s->st_target, 0, strlen(s->st_target));
        mem_free(s->st_target);
    }
    mem_free(s);
}

/* Sets the clock (see store.h). */
void store_set_clock(struct store *s, int64_t (*fn)(void *arg), void *arg)
{
    s->st_clock = fn;
    s->st_clock_arg = arg;
}

/* Parses a commit notice (see store_db.h). */
int store_notice_parse(const char *notice, char account[ID_LEN + 1], uint64_t *seq,
                       char origin[ID_LEN + 1])
{
    const char *p;
    uint64_t v = 0;

    if (!notice || strnlen(notice, STORE_DB_NOTICE_MAX) >= STORE_DB_NOTICE_MAX ||
        strnlen(notice, ID_LEN + 1) <= ID_LEN || notice[ID_LEN] != ':')
        return -1;
    memcpy(account, notice, ID_LEN);
    account[ID_LEN] = '\0';
    if (!id_is_valid_upper(account))
        return -1;
    for (p = notice + ID_LEN + 1; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (*p != ':' || p == notice + ID_LEN + 1 || strlen(p + 1) != ID_LEN ||
        (notice[ID_LEN + 1] == '0' && p != notice + ID_LEN + 2)) /* one spelling: no 007 */
        return -1;
    memcpy(origin, p + 1, ID_LEN + 1);
    if (!id_is_valid(origin))
        return -1;
    *seq = v;
    return 0;
}

/*
 * Passes on the commit notice of another store sharing the database ("ACCOUNT:SEQ:ORIGIN",
 * op_end), or NULL ("anything may have changed": account NULL, seq 0); drops this store's
 * own notices (its hook already ran) and malformed ones.
 */
static void store_on_notify(void *arg, const char *notice)
{
    char account[ID_LEN + 1], origin[ID_LEN + 1];
    struct store *s = arg;
    uint64_t seq = 0;

    if (!s->st_hook)
        return;
    if (!notice) {
        s->st_hook(s->st_hook_arg, NULL, 0);
        return;
    }
    if (store_notice_parse(notice, account, &seq, origin) != 0 || strcmp(origin, s->st_origin) == 0)
        return;
    s->st_hook(s->st_hook_arg, account, seq);
}

/*
 * Sets the commit hook (see store.h). On a database other processes write (PostgreSQL),
 * setting one also starts listening for their commits, and clearing it stops that.
 */
void store_set_commit_hook(struct store *s,
                           void (*fn)(void *arg, const char *account, uint64_t last_seq), void *arg)
{
    char msg[256];

    if (s->st_listener) {
        s->st_dr->dr_listen_stop(s->st_listener);
        s->st_listener = NULL;
    }
    s->st_hook = fn;
    s->st_hook_arg = arg;
    if (fn && s->st_dr->dr_listen_start &&
        s->st_dr->dr_listen_start(s->st_target, store_on_notify, s, &s->st_listener, msg,
                                  sizeof(msg)) != ERR_OK) {
        /* long-polls still end at their deadline; they just learn of other replicas'
           commits late */
        log_error("store: cannot listen for other hubs' commits: %s", msg);
        s->st_listener = NULL;
    }
}

/* Returns the account's last seq, 0 when unknown or on error. */
uint64_t store_last_seq(struct store *s, const char *account)
{
    struct conn *c;
    struct stmt *st;
    uint64_t seq = 0;
    enum err e;
    int row = 0;

    if (!s || !ok_upper(account) || op_begin(s, &c, OP_PLAIN, NULL) != ERR_OK)
        return 0;
    e = stmt_start(c, ST_SEQ_LAST, &st, "t", account);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && row)
            seq = col_u64(st, 0);
        stmt_done(st);
    }
    (void)op_end(s, c, e);
    return e == ERR_OK ? seq : 0;
}

/* ---- Accounts and signing keys ---------------------------------------------------------- */

static enum err signing_key_add_tx(struct conn *c, int64_t now, const char *account,
                                   const struct store_signing_key *k)
{
    struct buf b;
    enum err e;

    e = stmt_run(c, ST_SKEY_INSERT, "ttti", account, k->sk_kid, k->sk_public_jwk, now);
    if (e != ERR_OK)
        return e;
    e = pj_open(&b);
    if (e == ERR_OK)
        e = buf_add_member_str(&b, "kid", k->sk_kid);
    if (e == ERR_OK)
        e = buf_add_member_str(&b, "publicJwk", k->sk_public_jwk);
    if (e == ERR_OK)
        e = buf_add_member_i64(&b, "createdAt", now);
    return pj_commit(c, now, account, &b, e, STORE_CHANGE_SIGNING_KEY_ADD, NULL, k->sk_kid, NULL,
                     NULL);
}

static int ok_signing_key(const struct store_signing_key *k)
{
    return k && ok_kid(k->sk_kid) && ok_text(k->sk_public_jwk, STORE_TEXT_MAX_BYTES);
}

/* Creates an account; with first_only, only in a store without any (one transaction). */
static enum err account_create(struct store *s, const struct store_account *a,
                               const struct store_signing_key *first_key, int first_only)
{
    struct conn *c;
    struct buf b;
    int64_t now;
    int any = 0;
    enum err e;

    if (!s || !a || !ok_upper(a->ac_id) || !ok_text(a->ac_admin_sign_jwk, STORE_TEXT_MAX_BYTES) ||
        !ok_text(a->ac_admin_wrap_pub, STORE_TEXT_MAX_BYTES) || !ok_signing_key(first_key))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, NULL);
    if (e != ERR_OK)
        return e;
    now = store_now(s);
    if (first_only) {
        e = stmt_exists(c, ST_ACCOUNT_ANY, &any, "");
        if (e == ERR_OK && any)
            e = ERR_FORBIDDEN;
        if (e != ERR_OK)
            return op_end(s, c, e);
    }
    e = stmt_run(c, ST_ACCOUNT_INSERT, "ttti", a->ac_id, a->ac_admin_sign_jwk, a->ac_admin_wrap_pub,
                 now);
    if (e == ERR_OK) {
        e = pj_open(&b);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "id", a->ac_id);
        if (e == ERR_OK)
            e = buf_add_member_i64(&b, "createdAt", now);
        e = pj_commit(c, now, a->ac_id, &b, e, STORE_CHANGE_ACCOUNT_CREATE, NULL, a->ac_id, NULL,
                      NULL);
    }
    if (e == ERR_OK)
        e = signing_key_add_tx(c, now, a->ac_id, first_key);
    return op_end(s, c, e);
}

/* Creates an account with its first signing key (see store.h). */
enum err store_account_create(struct store *s, const struct store_account *a,
                              const struct store_signing_key *first_key)
{
    return account_create(s, a, first_key, 0);
}

/* Creates the first account of an empty store (see store.h). */
enum err store_account_create_first(struct store *s, const struct store_account *a,
                                    const struct store_signing_key *first_key)
{
    return account_create(s, a, first_key, 1);
}

/* Says whether any account exists (see store.h). */
enum err store_account_any(struct store *s, int *any)
{
    struct conn *c;
    enum err e;

    if (any)
        *any = 0;
    if (!s || !any)
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_PLAIN, NULL);
    if (e != ERR_OK)
        return e;
    e = stmt_exists(c, ST_ACCOUNT_ANY, any, "");
    return op_end(s, c, e);
}

/* Reads an account (see store.h). */
enum err store_account_get(struct store *s, const char *id, struct store_account *out)
{
    struct conn *c;
    struct stmt *st;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!s || !out || !ok_upper(id))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_PLAIN, NULL);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_ACCOUNT_GET, &st, "t", id);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_NOT_FOUND;
        if (e == ERR_OK) {
            memcpy(out->ac_id, id, ID_LEN + 1);
            e = col_text_dup(st, 0, &out->ac_admin_sign_jwk);
            if (e == ERR_OK)
                e = col_text_dup(st, 1, &out->ac_admin_wrap_pub);
            out->ac_created_at = col_i64(st, 2);
            out->ac_last_seq = col_u64(st, 3);
        }
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK)
        store_account_clear(out);
    return e;
}

/* Frees the heap members of a. */
void store_account_clear(struct store_account *a)
{
    if (!a)
        return;
    mem_free_owned(a->ac_admin_sign_jwk);
    mem_free_owned(a->ac_admin_wrap_pub);
    memset(a, 0, sizeof(*a));
}

/* Adds a signing key (see store.h). */
enum err store_signing_key_add(struct store *s, const char *account,
                               const struct store_signing_key *k)
{
    struct conn *c;
    enum err e;

    if (!s || !ok_upper(account) || !ok_signing_key(k))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    e = signing_key_add_tx(c, store_now(s), account, k);
    return op_end(s, c, e);
}

/* Checks that the account exists, inside an operation. */
static enum err account_check(struct conn *c, const char *account)
{
    int found = 0;
    enum err e = stmt_exists(c, ST_ACCOUNT_EXISTS, &found, "t", account);

    return e == ERR_OK && !found ? ERR_NOT_FOUND : e;
}

/* Lists signing keys (see store.h). */
enum err store_signing_key_list(struct store *s, const char *account,
                                struct store_signing_key **out, size_t *n)
{
    struct store_signing_key *v = NULL, *p;
    struct conn *c;
    struct stmt *st;
    size_t cnt = 0, cap = 0;
    enum err e;
    int row = 1;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!s || !out || !n || !ok_upper(account))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ, NULL);
    if (e != ERR_OK)
        return e;
    e = account_check(c, account);
    if (e == ERR_OK)
        e = stmt_start(c, ST_SKEY_LIST, &st, "t", account);
    if (e == ERR_OK) {
        while (e == ERR_OK && (e = stmt_step(c, st, &row)) == ERR_OK && row) {
            p = array_room(v, cnt, &cap, sizeof(*v));
            if (!p) {
                e = ERR_NOMEM;
                break;
            }
            v = p;
            cnt++;
            e = col_text_copy(st, 0, v[cnt - 1].sk_kid, sizeof(v[cnt - 1].sk_kid));
            if (e == ERR_OK)
                e = col_text_dup(st, 1, &v[cnt - 1].sk_public_jwk);
            v[cnt - 1].sk_created_at = col_i64(st, 2);
            v[cnt - 1].sk_retired_at = col_i64(st, 3);
        }
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK) {
        store_signing_key_list_free(v, cnt);
        return e;
    }
    *out = v;
    *n = cnt;
    return ERR_OK;
}

/* Retires a signing key (see store.h). */
enum err store_signing_key_retire(struct store *s, const char *account, const char *kid)
{
    struct conn *c;
    struct stmt *st;
    struct buf b;
    int64_t now, retired = 0;
    enum err e;
    int row = 0;

    if (!s || !ok_upper(account) || !ok_kid(kid))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    now = store_now(s);
    e = stmt_start(c, ST_SKEY_RETIRED, &st, "tt", account, kid);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_NOT_FOUND;
        if (e == ERR_OK)
            retired = col_i64(st, 0);
        stmt_done(st);
    }
    if (e == ERR_OK && !retired) {
        e = stmt_run(c, ST_SKEY_RETIRE, "tti", account, kid, now);
        if (e == ERR_OK)
            e = pj_open(&b);
        if (e == ERR_OK) {
            e = buf_add_member_str(&b, "kid", kid);
            if (e == ERR_OK)
                e = buf_add_member_i64(&b, "retiredAt", now);
            e = pj_commit(c, now, account, &b, e, STORE_CHANGE_SIGNING_KEY_RETIRE, NULL, kid, NULL,
                          NULL);
        }
    }
    return op_end(s, c, e);
}

/* Frees the heap members of k. */
void store_signing_key_clear(struct store_signing_key *k)
{
    if (!k)
        return;
    mem_free_owned(k->sk_public_jwk);
    memset(k, 0, sizeof(*k));
}

/* Frees an array of signing keys. */
void store_signing_key_list_free(struct store_signing_key *v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        store_signing_key_clear(&v[i]);
    mem_free(v);
}

/* ---- Vaults ----------------------------------------------------------------------------- */

/* Reads a vault row of ST_VAULT_GET / ST_VAULT_LIST into *v (zeroed first). */
static enum err vault_read(struct stmt *st, struct store_vault *v)
{
    enum err e;

    memset(v, 0, sizeof(*v));
    e = col_text_copy(st, 0, v->va_id, sizeof(v->va_id));
    if (e == ERR_OK)
        e = col_blob_dup(st, 1, &v->va_attrs_ct, &v->va_attrs_ct_len);
    if (e == ERR_OK)
        e = col_blob_dup(st, 2, &v->va_key_admin, &v->va_key_admin_len);
    if (e == ERR_OK)
        e = col_text_copy(st, 3, v->va_type, sizeof(v->va_type));
    v->va_attribute_version = col_u64(st, 4);
    v->va_content_version = col_u64(st, 5);
    v->va_items = col_u64(st, 6);
    v->va_created_at = col_i64(st, 7);
    v->va_updated_at = col_i64(st, 8);
    return e;
}

/* Writes a vault's full state (all a server needs to create or refresh it) into b. */
static enum err vault_payload(struct buf *b, const char *id, const char *type,
                              const unsigned char *attrs, size_t attrs_len, uint64_t attr_version,
                              uint64_t content_version, int64_t created, int64_t updated)
{
    enum err e = buf_add_member_str(b, "id", id);

    if (e == ERR_OK)
        e = buf_add_member_str(b, "type", type);
    if (e == ERR_OK)
        e = buf_add_member_b64url(b, "attrs", attrs, attrs_len);
    if (e == ERR_OK)
        e = buf_add_member_i64(b, "attributeVersion", (int64_t)attr_version);
    if (e == ERR_OK)
        e = buf_add_member_i64(b, "contentVersion", (int64_t)content_version);
    if (e == ERR_OK)
        e = buf_add_member_i64(b, "createdAt", created);
    if (e == ERR_OK)
        e = buf_add_member_i64(b, "updatedAt", updated);
    return e;
}

/* Checks that a vault exists and is not deleted. */
static enum err vault_check(struct conn *c, const char *account, const char *vault)
{
    int found = 0;
    enum err e = stmt_exists(c, ST_VAULT_LIVE, &found, "tt", account, vault);

    return e == ERR_OK && !found ? ERR_NOT_FOUND : e;
}

/* Creates a vault (see store.h). */
enum err store_vault_create(struct store *s, const char *account, struct store_vault *v)
{
    struct conn *c;
    struct buf b;
    int64_t now;
    enum err e;

    if (!s || !v || !ok_upper(account) || !ok_lower(v->va_id) ||
        !ok_blob(v->va_attrs_ct, v->va_attrs_ct_len) ||
        !ok_blob(v->va_key_admin, v->va_key_admin_len) || !ok_word(v->va_type, STORE_TYPE_MAX, 0))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    now = store_now(s);
    e = stmt_run(c, ST_VAULT_INSERT, "ttbbti", account, v->va_id, v->va_attrs_ct,
                 v->va_attrs_ct_len, v->va_key_admin, v->va_key_admin_len, v->va_type, now);
    if (e == ERR_OK) {
        e = pj_open(&b);
        if (e == ERR_OK)
            e = vault_payload(&b, v->va_id, v->va_type, v->va_attrs_ct, v->va_attrs_ct_len, 1, 1,
                              now, now);
        e = pj_commit(c, now, account, &b, e, STORE_CHANGE_VAULT_CREATE, v->va_id, v->va_id, NULL,
                      NULL);
    }
    e = op_end(s, c, e);
    if (e == ERR_OK) {
        v->va_attribute_version = 1;
        v->va_content_version = 1;
        v->va_items = 0;
        v->va_created_at = now;
        v->va_updated_at = now;
    }
    return e;
}

/* Reads a live vault (see store.h). */
enum err store_vault_get(struct store *s, const char *account, const char *id,
                         struct store_vault *out)
{
    struct conn *c;
    struct stmt *st;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!s || !out || !ok_upper(account) || !ok_lower(id))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_PLAIN, NULL);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_VAULT_GET, &st, "tt", account, id);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_NOT_FOUND;
        if (e == ERR_OK)
            e = vault_read(st, out);
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK)
        store_vault_clear(out);
    return e;
}

/* Lists live vaults (see store.h). */
enum err store_vault_list(struct store *s, const char *account, struct store_vault **out, size_t *n)
{
    struct store_vault *v = NULL, *p;
    struct conn *c;
    struct stmt *st;
    size_t cnt = 0, cap = 0;
    enum err e;
    int row = 1;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!s || !out || !n || !ok_upper(account))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ, NULL);
    if (e != ERR_OK)
        return e;
    e = account_check(c, account);
    if (e == ERR_OK)
        e = stmt_start(c, ST_VAULT_LIST, &st, "t", account);
    if (e == ERR_OK) {
        while (e == ERR_OK && (e = stmt_step(c, st, &row)) == ERR_OK && row) {
            p = array_room(v, cnt, &cap, sizeof(*v));
            if (!p) {
                e = ERR_NOMEM;
                break;
            }
            v = p;
            e = vault_read(st, &v[cnt++]);
        }
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK) {
        store_vault_list_free(v, cnt);
        return e;
    }
    *out = v;
    *n = cnt;
    return ERR_OK;
}

/* Updates a vault's attributes (see store.h). */
enum err store_vault_update_attrs(struct store *s, const char *account, const char *id,
                                  const unsigned char *attrs_ct, size_t len,
                                  uint64_t *attribute_version)
{
    char type[STORE_TYPE_MAX] = "";
    uint64_t attr_version = 0, content_version = 0;
    int64_t now, created = 0;
    struct conn *c;
    struct stmt *st;
    struct buf b;
    uint64_t seq = 0;
    enum err e;
    int row = 0;

    if (attribute_version)
        *attribute_version = 0;
    if (!s || !ok_upper(account) || !ok_lower(id) || !ok_blob(attrs_ct, len))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    now = store_now(s);
    e = stmt_start(c, ST_VAULT_UPDATE_ATTRS, &st, "ttbi", account, id, attrs_ct, len, now);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_NOT_FOUND;
        if (e == ERR_OK) {
            e = col_text_copy(st, 0, type, sizeof(type));
            attr_version = col_u64(st, 1);
            content_version = col_u64(st, 2);
            created = col_i64(st, 3);
        }
        while (e == ERR_OK && row)
            e = stmt_step(c, st, &row);
        stmt_done(st);
    }
    if (e == ERR_OK) {
        e = pj_open(&b);
        if (e == ERR_OK)
            e = vault_payload(&b, id, type, attrs_ct, len, attr_version, content_version, created,
                              now);
        e = pj_commit(c, now, account, &b, e, STORE_CHANGE_VAULT_UPDATE, id, id, NULL, &seq);
    }
    if (e == ERR_OK)
        e = change_supersede_ref(c, account, seq, id, id, STORE_CHANGE_VAULT_CREATE,
                                 STORE_CHANGE_VAULT_UPDATE);
    e = op_end(s, c, e);
    if (e == ERR_OK && attribute_version)
        *attribute_version = attr_version;
    return e;
}

/* Deletes a vault with its items, files and grants (see store.h). */
static enum err vault_delete_tx(struct conn *c, int64_t now, const char *account, const char *id)
{
    char(*servers)[ID_LEN + 1] = NULL;
    size_t nservers = 0, cap = 0, i;
    uint64_t content_version = 0, seq = 0;
    struct stmt *st;
    struct buf b;
    enum err e;
    int row = 0;

    e = stmt_start(c, ST_VAULT_DELETE, &st, "tti", account, id, now);
    if (e != ERR_OK)
        return e;
    e = stmt_step(c, st, &row);
    if (e == ERR_OK && !row)
        e = ERR_NOT_FOUND;
    if (e == ERR_OK)
        content_version = col_u64(st, 0);
    while (e == ERR_OK && row)
        e = stmt_step(c, st, &row);
    stmt_done(st);
    if (e == ERR_OK)
        e = stmt_run(c, ST_VAULT_ITEMS_ERASE, "tti", account, id, now);
    if (e == ERR_OK)
        e = stmt_run(c, ST_VAULT_FILES_DELETE, "tt", account, id);
    if (e == ERR_OK) {
        e = pj_open(&b);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "id", id);
        if (e == ERR_OK)
            e = buf_add_member_i64(&b, "contentVersion", (int64_t)content_version);
        if (e == ERR_OK)
            e = buf_add_member_i64(&b, "deletedAt", now);
        e = pj_commit(c, now, account, &b, e, STORE_CHANGE_VAULT_DELETE, id, id, NULL, &seq);
    }
    if (e == ERR_OK)
        e = stmt_run(c, ST_CHANGE_SUPERSEDE_VAULT, "utt", seq, account, id);
    if (e == ERR_OK)
        e = stmt_start(c, ST_VAULT_GRANT_SERVERS, &st, "tt", account, id);
    if (e == ERR_OK) {
        while (e == ERR_OK && (e = stmt_step(c, st, &row)) == ERR_OK && row) {
            void *p = array_room(servers, nservers, &cap, sizeof(*servers));
            if (!p) {
                e = ERR_NOMEM;
                break;
            }
            servers = p;
            e = col_text_copy(st, 0, servers[nservers++], sizeof(*servers));
        }
        stmt_done(st);
    }
    if (e == ERR_OK)
        e = stmt_run(c, ST_VAULT_GRANTS_DELETE, "tt", account, id);
    for (i = 0; e == ERR_OK && i < nservers; i++) {
        e = pj_open(&b);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "server", servers[i]);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "vault", id);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "reason", "vaultDeleted");
        e = pj_commit(c, now, account, &b, e, STORE_CHANGE_GRANT_DELETE, id, servers[i], servers[i],
                      NULL);
    }
    mem_free(servers);
    return e;
}

/* Deletes a vault (see store.h). */
enum err store_vault_delete(struct store *s, const char *account, const char *id)
{
    struct conn *c;
    enum err e;

    if (!s || !ok_upper(account) || !ok_lower(id))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    e = vault_delete_tx(c, store_now(s), account, id);
    return op_end(s, c, e);
}

/* Frees the heap members of v. */
void store_vault_clear(struct store_vault *v)
{
    if (!v)
        return;
    mem_free_owned(v->va_attrs_ct);
    mem_free_owned(v->va_key_admin);
    memset(v, 0, sizeof(*v));
}

/* Frees an array of vaults. */
void store_vault_list_free(struct store_vault *v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        store_vault_clear(&v[i]);
    mem_free(v);
}

/* ---- Items ------------------------------------------------------------------------------ */

static enum err item_put_tx(struct conn *c, int64_t now, const char *account, struct store_item *it,
                            uint64_t base_version)
{
    uint64_t version = 0, seq = 0, cv = 0;
    int64_t created = now;
    int row = 0, deleted = 0;
    struct stmt *st;
    struct buf b;
    enum err e;

    e = vault_check(c, account, it->it_vault);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_ITEM_STATE, &st, "ttt", account, it->it_vault, it->it_id);
    if (e != ERR_OK)
        return e;
    e = stmt_step(c, st, &row);
    if (e == ERR_OK && row) {
        version = col_u64(st, 0);
        deleted = col_i64(st, 1) != 0;
        created = col_i64(st, 2);
    }
    stmt_done(st);
    if (e != ERR_OK)
        return e;
    if (base_version == STORE_BASE_NEW
            ? row != 0
            : base_version && (!row || deleted || version != base_version))
        return ERR_CONFLICT;
    if (version >= (uint64_t)INT64_MAX)
        return ERR_STORAGE;
    version = row ? version + 1 : 1;
    e = stmt_run(c, ST_ITEM_UPSERT, "tttuttbbiit", account, it->it_vault, it->it_id, version,
                 it->it_state, it->it_category, it->it_overview, it->it_overview_len,
                 it->it_details, it->it_details_len, created, now, it->it_last_edited_by);
    if (e == ERR_OK)
        e = vault_bump(c, account, it->it_vault, now, &cv);
    if (e == ERR_OK) {
        e = pj_open(&b);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "id", it->it_id);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "vault", it->it_vault);
        if (e == ERR_OK)
            e = buf_add_member_i64(&b, "version", (int64_t)version);
        if (e == ERR_OK)
            e = buf_add_member_i64(&b, "vaultContentVersion", (int64_t)cv);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "state", it->it_state);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "category", it->it_category);
        if (e == ERR_OK)
            e = buf_add_member_b64url(&b, "overview", it->it_overview, it->it_overview_len);
        if (e == ERR_OK)
            e = buf_add_member_b64url(&b, "details", it->it_details, it->it_details_len);
        if (e == ERR_OK)
            e = buf_add_member_i64(&b, "createdAt", created);
        if (e == ERR_OK)
            e = buf_add_member_i64(&b, "updatedAt", now);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "lastEditedBy", it->it_last_edited_by);
        e = pj_commit(c, now, account, &b, e, STORE_CHANGE_ITEM_PUT, it->it_vault, it->it_id, NULL,
                      &seq);
    }
    if (e == ERR_OK)
        e = change_supersede_ref(c, account, seq, it->it_vault, it->it_id, STORE_CHANGE_ITEM_PUT,
                                 STORE_CHANGE_ITEM_DELETE);
    if (e == ERR_OK) {
        it->it_version = version;
        it->it_created_at = created;
        it->it_updated_at = now;
    }
    return e;
}

/* Creates or replaces an item (see store.h). */
enum err store_item_put(struct store *s, const char *account, struct store_item *it,
                        uint64_t base_version)
{
    struct conn *c;
    enum err e;

    if (!s || !it || !ok_upper(account) || !ok_lower(it->it_id) || !ok_lower(it->it_vault) ||
        !ok_word(it->it_state, STORE_STATE_MAX, 1) ||
        !ok_word(it->it_category, STORE_CATEGORY_MAX, 0) ||
        !ok_blob(it->it_overview, it->it_overview_len) ||
        !ok_blob(it->it_details, it->it_details_len) || !ok_editor(it->it_last_edited_by))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    e = item_put_tx(c, store_now(s), account, it, base_version);
    e = op_end(s, c, e);
    if (e != ERR_OK) {
        it->it_version = 0;
        it->it_created_at = 0;
        it->it_updated_at = 0;
    }
    return e;
}

/* Reads a live item with its details (see store.h). */
enum err store_item_get(struct store *s, const char *account, const char *vault, const char *id,
                        struct store_item *out)
{
    struct conn *c;
    struct stmt *st;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!s || !out || !ok_upper(account) || !ok_lower(vault) || !ok_lower(id))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_PLAIN, NULL);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_ITEM_GET, &st, "ttt", account, vault, id);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_NOT_FOUND;
        if (e == ERR_OK) {
            memcpy(out->it_id, id, ID_LEN + 1);
            memcpy(out->it_vault, vault, ID_LEN + 1);
            out->it_version = col_u64(st, 0);
            e = col_text_copy(st, 1, out->it_state, sizeof(out->it_state));
            if (e == ERR_OK)
                e = col_text_copy(st, 2, out->it_category, sizeof(out->it_category));
            if (e == ERR_OK)
                e = col_blob_dup(st, 3, &out->it_overview, &out->it_overview_len);
            if (e == ERR_OK)
                e = col_blob_dup(st, 4, &out->it_details, &out->it_details_len);
            out->it_created_at = col_i64(st, 5);
            out->it_updated_at = col_i64(st, 6);
            if (e == ERR_OK)
                e = col_text_copy(st, 7, out->it_last_edited_by, sizeof(out->it_last_edited_by));
        }
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK)
        store_item_clear(out);
    return e;
}

/* Lists the live items of a vault, with their details when full is set. */
static enum err item_list_read(struct store *s, const char *account, const char *vault, int full,
                               struct store_item **out, size_t *n)
{
    struct store_item *v = NULL, *p, *it;
    struct conn *c;
    struct stmt *st;
    size_t cnt = 0, cap = 0;
    enum err e;
    int row = 1;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!s || !out || !n || !ok_upper(account) || !ok_lower(vault))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ, NULL);
    if (e != ERR_OK)
        return e;
    e = vault_check(c, account, vault);
    if (e == ERR_OK)
        e = stmt_start(c, full ? ST_ITEM_LIST_FULL : ST_ITEM_LIST, &st, "tt", account, vault);
    if (e == ERR_OK) {
        while (e == ERR_OK && (e = stmt_step(c, st, &row)) == ERR_OK && row) {
            p = array_room(v, cnt, &cap, sizeof(*v));
            if (!p) {
                e = ERR_NOMEM;
                break;
            }
            v = p;
            it = &v[cnt++];
            memcpy(it->it_vault, vault, ID_LEN + 1);
            e = col_text_copy(st, 0, it->it_id, sizeof(it->it_id));
            it->it_version = col_u64(st, 1);
            if (e == ERR_OK)
                e = col_text_copy(st, 2, it->it_state, sizeof(it->it_state));
            if (e == ERR_OK)
                e = col_text_copy(st, 3, it->it_category, sizeof(it->it_category));
            if (e == ERR_OK)
                e = col_blob_dup(st, 4, &it->it_overview, &it->it_overview_len);
            it->it_created_at = col_i64(st, 5);
            it->it_updated_at = col_i64(st, 6);
            if (e == ERR_OK)
                e = col_text_copy(st, 7, it->it_last_edited_by, sizeof(it->it_last_edited_by));
            if (e == ERR_OK && full)
                e = col_blob_dup(st, 8, &it->it_details, &it->it_details_len);
        }
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK) {
        store_item_list_free(v, cnt);
        return e;
    }
    *out = v;
    *n = cnt;
    return ERR_OK;
}

/* Lists the live items of a vault without details (see store.h). */
enum err store_item_list(struct store *s, const char *account, const char *vault,
                         struct store_item **out, size_t *n)
{
    return item_list_read(s, account, vault, 0, out, n);
}

/* Lists the live items of a vault with details (see store.h). */
enum err store_item_list_full(struct store *s, const char *account, const char *vault,
                              struct store_item **out, size_t *n)
{
    return item_list_read(s, account, vault, 1, out, n);
}

/* Reads one row of ST_ITEM_PAGE / ST_ITEM_LIST_FULL (details in column 8) into it. */
static enum err item_page_row(struct stmt *st, const char *vault, struct store_item *it)
{
    enum err e;

    memcpy(it->it_vault, vault, ID_LEN + 1);
    e = col_text_copy(st, 0, it->it_id, sizeof(it->it_id));
    it->it_version = col_u64(st, 1);
    if (e == ERR_OK)
        e = col_text_copy(st, 2, it->it_state, sizeof(it->it_state));
    if (e == ERR_OK)
        e = col_text_copy(st, 3, it->it_category, sizeof(it->it_category));
    if (e == ERR_OK)
        e = col_blob_dup(st, 4, &it->it_overview, &it->it_overview_len);
    it->it_created_at = col_i64(st, 5);
    it->it_updated_at = col_i64(st, 6);
    if (e == ERR_OK)
        e = col_text_copy(st, 7, it->it_last_edited_by, sizeof(it->it_last_edited_by));
    if (e == ERR_OK)
        e = col_blob_dup(st, 8, &it->it_details, &it->it_details_len);
    return e;
}

/* Reads one page of a vault's live items with details (see store.h). */
enum err store_item_page(struct store *s, const char *account, const char *vault, const char *after,
                         size_t limit, size_t max_bytes, struct store_item **out, size_t *n,
                         int *more)
{
    struct store_item *v = NULL, *p;
    struct conn *c;
    struct stmt *st;
    size_t cnt = 0, cap = 0, bytes = 0, row_bytes;
    int64_t from = 0;
    enum err e;
    int row = 1;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (more)
        *more = 0;
    if (!after)
        after = "";
    if (!s || !out || !n || !more || !ok_upper(account) || !ok_lower(vault) ||
        (after[0] && !ok_lower(after)) || limit < 1 || limit > STORE_MAX_PAGE)
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ, NULL);
    if (e != ERR_OK)
        return e;
    e = vault_check(c, account, vault);
    if (e == ERR_OK && after[0]) { /* the cursor's place; an item that is not there: 404 */
        e = stmt_start(c, ST_ITEM_CURSOR, &st, "ttt", account, vault, after);
        if (e == ERR_OK) {
            e = stmt_step(c, st, &row);
            if (e == ERR_OK && !row)
                e = ERR_NOT_FOUND;
            if (e == ERR_OK)
                from = col_i64(st, 0);
            stmt_done(st);
        }
    }
    /* one row more than the page: whether another follows, without a second query */
    if (e == ERR_OK)
        e = stmt_start(c, ST_ITEM_PAGE, &st, "ttii", account, vault, from, (int64_t)limit + 1);
    if (e == ERR_OK) {
        while (e == ERR_OK && (e = stmt_step(c, st, &row)) == ERR_OK && row) {
            row_bytes = (size_t)col_len(st, 4) + (size_t)col_len(st, 8);
            if (cnt == limit || (max_bytes && cnt > 0 && bytes + row_bytes > max_bytes)) {
                *more = 1;
                break;
            }
            p = array_room(v, cnt, &cap, sizeof(*v));
            if (!p) {
                e = ERR_NOMEM;
                break;
            }
            v = p;
            e = item_page_row(st, vault, &v[cnt++]);
            bytes += row_bytes;
        }
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK) {
        store_item_list_free(v, cnt);
        *more = 0;
        return e;
    }
    *out = v;
    *n = cnt;
    return ERR_OK;
}

/* Deletes a live item (see store.h). */
enum err store_item_delete(struct store *s, const char *account, const char *vault, const char *id,
                           const char *editor)
{
    return store_item_delete_version(s, account, vault, id, editor, 0);
}

/* Deletes a live item if its version is base_version (see store.h). */
enum err store_item_delete_version(struct store *s, const char *account, const char *vault,
                                   const char *id, const char *editor, uint64_t base_version)
{
    uint64_t version = 0, seq = 0, cv = 0;
    struct conn *c;
    struct stmt *st;
    struct buf b;
    int64_t now;
    enum err e;
    int row = 0;

    if (!s || !ok_upper(account) || !ok_lower(vault) || !ok_lower(id) || !ok_editor(editor))
        return ERR_BAD_INPUT;
    if (!editor)
        editor = "";
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    now = store_now(s);
    if (base_version != 0) {
        e = stmt_start(c, ST_ITEM_STATE, &st, "ttt", account, vault, id);
        if (e == ERR_OK) {
            e = stmt_step(c, st, &row);
            if (e == ERR_OK && (!row || col_i64(st, 1) != 0))
                e = ERR_NOT_FOUND;
            else if (e == ERR_OK && col_u64(st, 0) != base_version)
                e = ERR_CONFLICT;
            stmt_done(st);
        }
        row = 0;
        if (e != ERR_OK)
            return op_end(s, c, e);
    }
    e = stmt_start(c, ST_ITEM_DELETE, &st, "tttit", account, vault, id, now, editor);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_NOT_FOUND;
        if (e == ERR_OK)
            version = col_u64(st, 0);
        while (e == ERR_OK && row)
            e = stmt_step(c, st, &row);
        stmt_done(st);
    }
    if (e == ERR_OK)
        e = vault_bump(c, account, vault, now, &cv);
    if (e == ERR_OK) {
        e = pj_open(&b);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "id", id);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "vault", vault);
        if (e == ERR_OK)
            e = buf_add_member_i64(&b, "version", (int64_t)version);
        if (e == ERR_OK)
            e = buf_add_member_i64(&b, "vaultContentVersion", (int64_t)cv);
        if (e == ERR_OK)
            e = buf_add_member_i64(&b, "updatedAt", now);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "lastEditedBy", editor);
        e = pj_commit(c, now, account, &b, e, STORE_CHANGE_ITEM_DELETE, vault, id, NULL, &seq);
    }
    if (e == ERR_OK)
        e = change_supersede_ref(c, account, seq, vault, id, STORE_CHANGE_ITEM_PUT,
                                 STORE_CHANGE_ITEM_DELETE);
    return op_end(s, c, e);
}

/* Frees the heap members of it. */
void store_item_clear(struct store_item *it)
{
    if (!it)
        return;
    mem_free_owned(it->it_overview);
    mem_free_owned(it->it_details);
    memset(it, 0, sizeof(*it));
}

/* Frees an array of items. */
void store_item_list_free(struct store_item *v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        store_item_clear(&v[i]);
    mem_free(v);
}

/* ---- Files ------------------------------------------------------------------------------ */

static enum err file_put_tx(struct conn *c, int64_t now, const char *account,
                            const struct store_file *f)
{
    struct stmt *st;
    struct buf b;
    size_t n = 0;
    enum err e;
    int row = 0, same = 0;

    e = vault_check(c, account, f->fi_vault);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_FILE_META, &st, "ttt", account, f->fi_vault, f->fi_id);
    if (e != ERR_OK)
        return e;
    e = stmt_step(c, st, &row);
    if (e == ERR_OK && row)
        same = col_len(st, 1) == STORE_SHA256_BYTES &&
               memcmp(col_bytes(st, 1, &n), f->fi_sha256, STORE_SHA256_BYTES) == 0;
    stmt_done(st);
    if (e != ERR_OK)
        return e;
    if (row)
        return same ? ERR_OK : ERR_CONFLICT;
    e = stmt_run(c, ST_FILE_INSERT, "tttubbi", account, f->fi_vault, f->fi_id, f->fi_size,
                 f->fi_content, f->fi_content_len, f->fi_sha256, (size_t)STORE_SHA256_BYTES, now);
    if (e != ERR_OK)
        return e;
    e = pj_open(&b);
    if (e == ERR_OK)
        e = buf_add_member_str(&b, "id", f->fi_id);
    if (e == ERR_OK)
        e = buf_add_member_str(&b, "vault", f->fi_vault);
    if (e == ERR_OK)
        e = buf_add_member_i64(&b, "size", (int64_t)f->fi_size);
    if (e == ERR_OK)
        e = pj_hex(&b, "sha256", f->fi_sha256, STORE_SHA256_BYTES);
    if (e == ERR_OK)
        e = buf_add_member_i64(&b, "createdAt", now);
    return pj_commit(c, now, account, &b, e, STORE_CHANGE_FILE_PUT, f->fi_vault, f->fi_id, NULL,
                     NULL);
}

/* Stores an immutable file (see store.h). */
enum err store_file_put(struct store *s, const char *account, const struct store_file *f)
{
    unsigned char digest[HASH_SHA256_BYTES];
    struct conn *c;
    enum err e;

    if (!s || !f || !ok_upper(account) || !ok_lower(f->fi_id) || !ok_lower(f->fi_vault) ||
        !ok_blob(f->fi_content, f->fi_content_len) || f->fi_size > (uint64_t)INT64_MAX)
        return ERR_BAD_INPUT;
    e = hash_sha256(digest, f->fi_content, f->fi_content_len);
    if (e != ERR_OK)
        return e;
    if (memcmp(digest, f->fi_sha256, sizeof(digest)) != 0)
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    e = file_put_tx(c, store_now(s), account, f);
    return op_end(s, c, e);
}

/* Reads a file, with its contents when with_content. */
static enum err file_read(struct store *s, const char *account, const char *vault, const char *id,
                          struct store_file *out, int with_content)
{
    struct conn *c;
    struct stmt *st;
    size_t n = 0;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!s || !ok_upper(account) || !ok_lower(vault) || !ok_lower(id))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_PLAIN, NULL);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, with_content ? ST_FILE_GET : ST_FILE_META, &st, "ttt", account, vault, id);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_NOT_FOUND;
        if (e == ERR_OK && out) {
            memcpy(out->fi_id, id, ID_LEN + 1);
            memcpy(out->fi_vault, vault, ID_LEN + 1);
            out->fi_size = col_u64(st, 0);
            const unsigned char *sha = col_bytes(st, 1, &n);

            if (sha && n == STORE_SHA256_BYTES)
                memcpy(out->fi_sha256, sha, STORE_SHA256_BYTES);
            else
                e = ERR_STORAGE;
            out->fi_created_at = col_i64(st, 2);
            if (e == ERR_OK && with_content)
                e = col_blob_dup(st, 3, &out->fi_content, &out->fi_content_len);
        }
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK)
        store_file_clear(out);
    return e;
}

/* Reads a file with its contents (see store.h). */
enum err store_file_get(struct store *s, const char *account, const char *vault, const char *id,
                        struct store_file *out)
{
    if (!out)
        return ERR_BAD_INPUT;
    return file_read(s, account, vault, id, out, 1);
}

/* Tells whether a file exists (see store.h). */
enum err store_file_exists(struct store *s, const char *account, const char *vault, const char *id,
                           struct store_file *meta)
{
    return file_read(s, account, vault, id, meta, 0);
}

/* Frees the heap members of f. */
void store_file_clear(struct store_file *f)
{
    if (!f)
        return;
    mem_free_owned(f->fi_content);
    memset(f, 0, sizeof(*f));
}

/* ---- Servers ---------------------------------------------------------------------------- */

/* Checks that a server exists and is not deleted. */
static enum err server_check(struct conn *c, const char *account, const char *server)
{
    int found = 0;
    enum err e = stmt_exists(c, ST_SERVER_LIVE, &found, "tt", account, server);

    return e == ERR_OK && !found ? ERR_NOT_FOUND : e;
}

/* Registers a server (see store.h). */
enum err store_server_create(struct store *s, const char *account, struct store_server *sv)
{
    struct conn *c;
    struct buf b;
    int64_t now;
    enum err e;

    if (!s || !sv || !ok_upper(account) || !ok_lower(sv->se_id) ||
        !ok_text(sv->se_name, STORE_NAME_MAX_BYTES) ||
        !ok_text(sv->se_sign_jwk, STORE_TEXT_MAX_BYTES) ||
        !ok_text(sv->se_wrap_pub, STORE_TEXT_MAX_BYTES) ||
        !ok_blob(sv->se_unlock_admin, sv->se_unlock_admin_len))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    now = store_now(s);
    e = stmt_run(c, ST_SERVER_INSERT, "tttttib", account, sv->se_id, sv->se_name, sv->se_sign_jwk,
                 sv->se_wrap_pub, now, sv->se_unlock_admin, sv->se_unlock_admin_len);
    if (e == ERR_OK) {
        e = pj_open(&b);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "id", sv->se_id);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "name", sv->se_name);
        if (e == ERR_OK)
            e = buf_add_member_i64(&b, "createdAt", now);
        e = pj_commit(c, now, account, &b, e, STORE_CHANGE_SERVER_CREATE, NULL, sv->se_id,
                      sv->se_id, NULL);
    }
    e = op_end(s, c, e);
    if (e == ERR_OK)
        sv->se_created_at = now;
    return e;
}

/*
 * Reads a server row (id, name, sign_jwk, wrap_pub, created_at, unlock_admin) into *sv
 * (zeroed first).
 */
static enum err server_read(struct stmt *st, struct store_server *sv)
{
    enum err e;

    memset(sv, 0, sizeof(*sv));
    e = col_text_copy(st, 0, sv->se_id, sizeof(sv->se_id));
    if (e == ERR_OK)
        e = col_text_dup(st, 1, &sv->se_name);
    if (e == ERR_OK)
        e = col_text_dup(st, 2, &sv->se_sign_jwk);
    if (e == ERR_OK)
        e = col_text_dup(st, 3, &sv->se_wrap_pub);
    if (e == ERR_OK)
        e = col_blob_dup(st, 5, &sv->se_unlock_admin, &sv->se_unlock_admin_len);
    sv->se_created_at = col_i64(st, 4);
    return e;
}

/* Reads a live server (see store.h). */
enum err store_server_get(struct store *s, const char *account, const char *id,
                          struct store_server *out)
{
    struct conn *c;
    struct stmt *st;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!s || !out || !ok_upper(account) || !ok_lower(id))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_PLAIN, NULL);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_SERVER_GET, &st, "tt", account, id);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_NOT_FOUND;
        if (e == ERR_OK)
            e = server_read(st, out);
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK)
        store_server_clear(out);
    return e;
}

/* Lists live servers (see store.h). */
enum err store_server_list(struct store *s, const char *account, struct store_server **out,
                           size_t *n)
{
    struct store_server *v = NULL, *p;
    struct conn *c;
    struct stmt *st;
    size_t cnt = 0, cap = 0;
    enum err e;
    int row = 1;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!s || !out || !n || !ok_upper(account))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ, NULL);
    if (e != ERR_OK)
        return e;
    e = account_check(c, account);
    if (e == ERR_OK)
        e = stmt_start(c, ST_SERVER_LIST, &st, "t", account);
    if (e == ERR_OK) {
        while (e == ERR_OK && (e = stmt_step(c, st, &row)) == ERR_OK && row) {
            p = array_room(v, cnt, &cap, sizeof(*v));
            if (!p) {
                e = ERR_NOMEM;
                break;
            }
            v = p;
            e = server_read(st, &v[cnt++]);
        }
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK) {
        store_server_list_free(v, cnt);
        return e;
    }
    *out = v;
    *n = cnt;
    return ERR_OK;
}

/* Deletes a live server (see store.h). */
enum err store_server_delete(struct store *s, const char *account, const char *id)
{
    uint64_t seq = 0;
    struct conn *c;
    struct buf b;
    int64_t now;
    enum err e;

    if (!s || !ok_upper(account) || !ok_lower(id))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    now = store_now(s);
    e = stmt_run(c, ST_SERVER_DELETE, "tt", account, id);
    if (e == ERR_OK && conn_changes(c) == 0)
        e = ERR_NOT_FOUND;
    if (e == ERR_OK)
        e = stmt_run(c, ST_SERVER_GRANTS_DELETE, "tt", account, id);
    if (e == ERR_OK)
        e = stmt_run(c, ST_SERVER_SESSIONS_DELETE, "tt", account, id);
    if (e == ERR_OK) {
        e = pj_open(&b);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "id", id);
        if (e == ERR_OK)
            e = buf_add_member_i64(&b, "deletedAt", now);
        e = pj_commit(c, now, account, &b, e, STORE_CHANGE_SERVER_DELETE, NULL, id, id, &seq);
    }
    if (e == ERR_OK)
        e = stmt_run(c, ST_CHANGE_SUPERSEDE_SERVER, "utt", seq, account, id);
    return op_end(s, c, e);
}

/* Frees the heap members of sv. */
void store_server_clear(struct store_server *sv)
{
    if (!sv)
        return;
    mem_free_owned(sv->se_name);
    mem_free_owned(sv->se_sign_jwk);
    mem_free_owned(sv->se_wrap_pub);
    mem_free_owned(sv->se_unlock_admin);
    memset(sv, 0, sizeof(*sv));
}

/* Frees an array of servers. */
void store_server_list_free(struct store_server *v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        store_server_clear(&v[i]);
    mem_free(v);
}

/* ---- Grants ----------------------------------------------------------------------------- */

static enum err grant_put_tx(struct conn *c, int64_t now, const char *account,
                             const struct store_grant *g)
{
    uint64_t seq = 0;
    struct buf b;
    enum err e;

    e = server_check(c, account, g->gr_server);
    if (e == ERR_OK)
        e = vault_check(c, account, g->gr_vault);
    if (e == ERR_OK)
        e = stmt_run(c, ST_GRANT_UPSERT, "tttbi", account, g->gr_server, g->gr_vault,
                     g->gr_key_wrapped, g->gr_key_wrapped_len, now);
    if (e != ERR_OK)
        return e;
    e = pj_open(&b);
    if (e == ERR_OK)
        e = buf_add_member_str(&b, "server", g->gr_server);
    if (e == ERR_OK)
        e = buf_add_member_str(&b, "vault", g->gr_vault);
    if (e == ERR_OK)
        e = buf_add_member_b64url(&b, "keyWrapped", g->gr_key_wrapped, g->gr_key_wrapped_len);
    if (e == ERR_OK)
        e = buf_add_member_i64(&b, "createdAt", now);
    e = pj_commit(c, now, account, &b, e, STORE_CHANGE_GRANT_PUT, g->gr_vault, g->gr_server,
                  g->gr_server, &seq);
    if (e == ERR_OK)
        e = change_supersede_ref(c, account, seq, g->gr_vault, g->gr_server, STORE_CHANGE_GRANT_PUT,
                                 STORE_CHANGE_GRANT_DELETE);
    return e;
}

/* Grants a vault to a server (see store.h). */
enum err store_grant_put(struct store *s, const char *account, const struct store_grant *g)
{
    struct conn *c;
    enum err e;

    if (!s || !g || !ok_upper(account) || !ok_lower(g->gr_server) || !ok_lower(g->gr_vault) ||
        !ok_blob(g->gr_key_wrapped, g->gr_key_wrapped_len))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    e = grant_put_tx(c, store_now(s), account, g);
    return op_end(s, c, e);
}

/* Removes a grant (see store.h). */
enum err store_grant_delete(struct store *s, const char *account, const char *server,
                            const char *vault)
{
    uint64_t seq = 0;
    struct conn *c;
    struct buf b;
    int64_t now;
    enum err e;

    if (!s || !ok_upper(account) || !ok_lower(server) || !ok_lower(vault))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    now = store_now(s);
    e = stmt_run(c, ST_GRANT_DELETE, "ttt", account, server, vault);
    if (e == ERR_OK && conn_changes(c) == 0)
        e = ERR_NOT_FOUND;
    if (e == ERR_OK) {
        e = pj_open(&b);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "server", server);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "vault", vault);
        if (e == ERR_OK)
            e = buf_add_member_str(&b, "reason", "revoked");
        e = pj_commit(c, now, account, &b, e, STORE_CHANGE_GRANT_DELETE, vault, server, server,
                      &seq);
    }
    if (e == ERR_OK)
        e = change_supersede_ref(c, account, seq, vault, server, STORE_CHANGE_GRANT_PUT,
                                 STORE_CHANGE_GRANT_DELETE);
    return op_end(s, c, e);
}

/* Lists grants by server (by_vault 0) or by vault, checking that the owner is live. */
static enum err grant_list(struct store *s, const char *account, const char *owner, int by_vault,
                           struct store_grant **out, size_t *n)
{
    struct store_grant *v = NULL, *p, *g;
    struct conn *c;
    struct stmt *st;
    size_t cnt = 0, cap = 0;
    enum err e;
    int row = 1;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!s || !out || !n || !ok_upper(account) || !ok_lower(owner))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ, NULL);
    if (e != ERR_OK)
        return e;
    e = by_vault ? vault_check(c, account, owner) : server_check(c, account, owner);
    if (e == ERR_OK)
        e = stmt_start(c, by_vault ? ST_GRANT_BY_VAULT : ST_GRANT_BY_SERVER, &st, "tt", account,
                       owner);
    if (e == ERR_OK) {
        while (e == ERR_OK && (e = stmt_step(c, st, &row)) == ERR_OK && row) {
            p = array_room(v, cnt, &cap, sizeof(*v));
            if (!p) {
                e = ERR_NOMEM;
                break;
            }
            v = p;
            g = &v[cnt++];
            e = col_text_copy(st, 0, g->gr_server, sizeof(g->gr_server));
            if (e == ERR_OK)
                e = col_text_copy(st, 1, g->gr_vault, sizeof(g->gr_vault));
            if (e == ERR_OK)
                e = col_blob_dup(st, 2, &g->gr_key_wrapped, &g->gr_key_wrapped_len);
            g->gr_created_at = col_i64(st, 3);
        }
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK) {
        store_grant_list_free(v, cnt);
        return e;
    }
    *out = v;
    *n = cnt;
    return ERR_OK;
}

/* Lists a server's grants (see store.h). */
enum err store_grant_list_by_server(struct store *s, const char *account, const char *server,
                                    struct store_grant **out, size_t *n)
{
    return grant_list(s, account, server, 0, out, n);
}

/* Lists a vault's grants (see store.h). */
enum err store_grant_list_by_vault(struct store *s, const char *account, const char *vault,
                                   struct store_grant **out, size_t *n)
{
    return grant_list(s, account, vault, 1, out, n);
}

/* Frees the heap members of g. */
void store_grant_clear(struct store_grant *g)
{
    if (!g)
        return;
    mem_free_owned(g->gr_key_wrapped);
    memset(g, 0, sizeof(*g));
}

/* Frees an array of grants. */
void store_grant_list_free(struct store_grant *v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        store_grant_clear(&v[i]);
    mem_free(v);
}

/* ---- Tokens ----------------------------------------------------------------------------- */

static enum err token_register_tx(struct conn *c, int64_t now, const char *account,
                                  const struct store_token *t)
{
    struct buf b;
    enum err e;

    e = server_check(c, account, t->tk_server);
    if (e == ERR_OK)
        e = stmt_run(c, ST_TOKEN_INSERT, "tttttIti", account, t->tk_jti, t->tk_name, t->tk_server,
                     t->tk_vaults_json, t->tk_expires_at, t->tk_sha256, now);
    if (e != ERR_OK)
        return e;
    e = pj_open(&b);
    if (e == ERR_OK)
        e = buf_add_member_str(&b, "jti", t->tk_jti);
    if (e == ERR_OK)
        e = buf_add_member_str(&b, "name", t->tk_name);
    if (e == ERR_OK)
        e = buf_add_member_str(&b, "server", t->tk_server);
    if (e == ERR_OK)
        e = buf_add_member_str(&b, "vaults", t->tk_vaults_json);
    if (e == ERR_OK)
        e = buf_add_member_i64(&b, "expiresAt", t->tk_expires_at);
    if (e == ERR_OK)
        e = buf_add_member_i64(&b, "createdAt", now);
    return pj_commit(c, now, account, &b, e, STORE_CHANGE_TOKEN_REGISTER, NULL, t->tk_jti,
                     t->tk_server, NULL);
}

/* Registers a token (see store.h). */
enum err store_token_register(struct store *s, const char *account, struct store_token *t)
{
    struct conn *c;
    int64_t now;
    enum err e;

    if (!s || !t || !ok_upper(account) || !ok_lower(t->tk_jti) ||
        !ok_text(t->tk_name, STORE_NAME_MAX_BYTES) || !ok_lower(t->tk_server) ||
        !ok_text(t->tk_vaults_json, STORE_JSON_MAX_BYTES) || t->tk_expires_at < 0 ||
        !ok_hex64(t->tk_sha256))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    now = store_now(s);
    e = token_register_tx(c, now, account, t);
    e = op_end(s, c, e);
    if (e == ERR_OK) {
        t->tk_created_at = now;
        t->tk_revoked_at = 0;
    }
    return e;
}

/* Reads a token row (TOKEN_COLUMNS) into *t (zeroed first). */
static enum err token_read(struct stmt *st, struct store_token *t)
{
    enum err e;

    memset(t, 0, sizeof(*t));
    e = col_text_copy(st, 0, t->tk_jti, sizeof(t->tk_jti));
    if (e == ERR_OK)
        e = col_text_dup(st, 1, &t->tk_name);
    if (e == ERR_OK)
        e = col_text_copy(st, 2, t->tk_server, sizeof(t->tk_server));
    if (e == ERR_OK)
        e = col_text_dup(st, 3, &t->tk_vaults_json);
    t->tk_expires_at = col_i64(st, 4);
    if (e == ERR_OK)
        e = col_text_copy(st, 5, t->tk_sha256, sizeof(t->tk_sha256));
    t->tk_created_at = col_i64(st, 6);
    t->tk_revoked_at = col_i64(st, 7);
    return e;
}

/* Lists tokens (see store.h). */
enum err store_token_list(struct store *s, const char *account, const char *server,
                          struct store_token **out, size_t *n)
{
    struct store_token *v = NULL, *p;
    struct conn *c;
    struct stmt *st;
    size_t cnt = 0, cap = 0;
    enum err e;
    int row = 1;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!s || !out || !n || !ok_upper(account) || (server && !ok_lower(server)))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ, NULL);
    if (e != ERR_OK)
        return e;
    e = account_check(c, account);
    if (e == ERR_OK)
        e = server ? stmt_start(c, ST_TOKEN_LIST_SERVER, &st, "tt", account, server)
                   : stmt_start(c, ST_TOKEN_LIST, &st, "t", account);
    if (e == ERR_OK) {
        while (e == ERR_OK && (e = stmt_step(c, st, &row)) == ERR_OK && row) {
            p = array_room(v, cnt, &cap, sizeof(*v));
            if (!p) {
                e = ERR_NOMEM;
                break;
            }
            v = p;
            e = token_read(st, &v[cnt++]);
        }
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK) {
        store_token_list_free(v, cnt);
        return e;
    }
    *out = v;
    *n = cnt;
    return ERR_OK;
}

/* Reads a token (see store.h). */
enum err store_token_get(struct store *s, const char *account, const char *jti,
                         struct store_token *out)
{
    struct conn *c;
    struct stmt *st;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!s || !out || !ok_upper(account) || !ok_lower(jti))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_PLAIN, NULL);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_TOKEN_GET, &st, "tt", account, jti);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_NOT_FOUND;
        if (e == ERR_OK)
            e = token_read(st, out);
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK)
        store_token_clear(out);
    return e;
}

static enum err token_revoke_tx(struct conn *c, int64_t now, const char *account, const char *jti)
{
    char server[ID_LEN + 1] = "";
    struct stmt *st;
    struct buf b;
    enum err e;
    int row = 0, found = 0;

    e = stmt_start(c, ST_TOKEN_REVOKE, &st, "tti", account, jti, now);
    if (e != ERR_OK)
        return e;
    e = stmt_step(c, st, &row);
    if (e == ERR_OK && row) {
        e = col_text_copy(st, 0, server, sizeof(server));
        found = 1;
    }
    while (e == ERR_OK && row)
        e = stmt_step(c, st, &row);
    stmt_done(st);
    if (e != ERR_OK)
        return e;
    if (!found) {
        /* Already revoked (ERR_OK, no change) or unknown. */
        e = stmt_start(c, ST_TOKEN_GET, &st, "tt", account, jti);
        if (e != ERR_OK)
            return e;
        e = stmt_step(c, st, &row);
        stmt_done(st);
        return e == ERR_OK && !row ? ERR_NOT_FOUND : e;
    }
    e = pj_open(&b);
    if (e == ERR_OK)
        e = buf_add_member_str(&b, "jti", jti);
    if (e == ERR_OK)
        e = buf_add_member_str(&b, "server", server);
    if (e == ERR_OK)
        e = buf_add_member_i64(&b, "revokedAt", now);
    return pj_commit(c, now, account, &b, e, STORE_CHANGE_TOKEN_REVOKE, NULL, jti, server, NULL);
}

/* Revokes a token (see store.h). */
enum err store_token_revoke(struct store *s, const char *account, const char *jti)
{
    struct conn *c;
    enum err e;

    if (!s || !ok_upper(account) || !ok_lower(jti))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    e = token_revoke_tx(c, store_now(s), account, jti);
    return op_end(s, c, e);
}

/* Frees the heap members of t. */
void store_token_clear(struct store_token *t)
{
    if (!t)
        return;
    mem_free_owned(t->tk_name);
    mem_free_owned(t->tk_vaults_json);
    memset(t, 0, sizeof(*t));
}

/* Frees an array of tokens. */
void store_token_list_free(struct store_token *v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        store_token_clear(&v[i]);
    mem_free(v);
}

/* ---- Change feed ------------------------------------------------------------------------ */

/* Returns the database name of k. */
const char *store_change_kind_name(enum store_change_kind k)
{
    if ((int)k <= 0 || k >= STORE_CHANGE__COUNT)
        return "unknown";
    return change_kind_names[k];
}

/* Reads a change row (CHANGE_COLUMNS) into *ch (zeroed first). */
static enum err change_read(struct stmt *st, struct store_change *ch)
{
    const unsigned char *kind;
    size_t kind_len = 0;
    enum err e;
    int k;

    memset(ch, 0, sizeof(*ch));
    ch->ch_seq = col_u64(st, 0);
    kind = col_bytes(st, 1, &kind_len);
    for (k = 1; kind && k < STORE_CHANGE__COUNT; k++) {
        if (strcmp((const char *)kind, change_kind_names[k]) == 0) {
            ch->ch_kind = (enum store_change_kind)k;
            break;
        }
    }
    if (!ch->ch_kind) {
        log_error("store: change %" PRIu64 " has an unknown kind", ch->ch_seq);
        return ERR_STORAGE;
    }
    e = col_text_copy(st, 2, ch->ch_vault, sizeof(ch->ch_vault));
    if (e == ERR_OK)
        e = col_text_copy(st, 3, ch->ch_ref, sizeof(ch->ch_ref));
    if (e == ERR_OK)
        e = col_text_copy(st, 4, ch->ch_server, sizeof(ch->ch_server));
    ch->ch_superseded_by = col_u64(st, 6);
    ch->ch_committed_at = col_i64(st, 7);
    if (e != ERR_OK)
        return e;
    if (ch->ch_superseded_by) {
        char text[48];
        int len =
            snprintf(text, sizeof(text), "{\"supersededBy\":%" PRIu64 "}", ch->ch_superseded_by);
        if (len < 0 || (size_t)len >= sizeof(text))
            return ERR_INTERNAL;
        ch->ch_payload = mem_strdup(text);
        return ch->ch_payload ? ERR_OK : ERR_NOMEM;
    }
    return col_text_dup(st, 5, &ch->ch_payload);
}

/* Reads changes since a seq (see store.h). */
enum err store_changes_since(struct store *s, const char *account, uint64_t since, size_t limit,
                             const char *server, struct store_change **out, size_t *n,
                             uint64_t *next)
{
    return store_changes_pulled(s, account, since, limit, server, 0, out, n, next);
}

/* Reads changes, leaving out item changes a whole pull covered (see store.h). */
enum err store_changes_pulled(struct store *s, const char *account, uint64_t since, size_t limit,
                              const char *server, uint64_t pulled, struct store_change **out,
                              size_t *n, uint64_t *next)
{
    struct store_change *v = NULL, *p;
    uint64_t last = 0;
    struct conn *c;
    struct stmt *st;
    size_t cnt = 0, cap = 0;
    enum err e;
    int row = 0, found = 0;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (next)
        *next = since;
    if (!s || !out || !n || !next || !ok_upper(account) || limit < 1 || limit > STORE_MAX_PAGE ||
        since > (uint64_t)INT64_MAX || pulled > (uint64_t)INT64_MAX ||
        (server && !ok_lower(server)) || (!server && pulled))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ, NULL);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_SEQ_LAST, &st, "t", account);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_NOT_FOUND;
        if (e == ERR_OK)
            last = col_u64(st, 0);
        stmt_done(st);
    }
    if (e == ERR_OK && server) {
        e = stmt_exists(c, ST_SERVER_KNOWN, &found, "tt", account, server);
        if (e == ERR_OK && !found)
            e = ERR_NOT_FOUND;
    }
    if (e == ERR_OK)
        e = server ? stmt_start(c, ST_CHANGES_SERVER, &st, "tuitu", account, since, (int64_t)limit,
                                server, pulled)
                   : stmt_start(c, ST_CHANGES_ALL, &st, "tui", account, since, (int64_t)limit);
    if (e == ERR_OK) {
        while (e == ERR_OK && (e = stmt_step(c, st, &row)) == ERR_OK && row) {
            p = array_room(v, cnt, &cap, sizeof(*v));
            if (!p) {
                e = ERR_NOMEM;
                break;
            }
            v = p;
            e = change_read(st, &v[cnt++]);
        }
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK) {
        store_change_list_free(v, cnt);
        return e;
    }
    *out = v;
    *n = cnt;
    *next = cnt == limit ? v[cnt - 1].ch_seq : last;
    if (*next < since)
        *next = since;
    return ERR_OK;
}

/* Frees the heap members of ch. */
void store_change_clear(struct store_change *ch)
{
    if (!ch)
        return;
    mem_free_owned(ch->ch_payload);
    memset(ch, 0, sizeof(*ch));
}

/* Frees an array of changes. */
void store_change_list_free(struct store_change *v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        store_change_clear(&v[i]);
    mem_free(v);
}

/* ---- Activity --------------------------------------------------------------------------- */

/* Appends activity entries (see store.h). */
enum err store_activity_append(struct store *s, const char *account, const char *server,
                               int64_t received_at, const char *const *entries, size_t n)
{
    struct conn *c;
    enum err e;
    size_t i;
    int found = 0;

    if (!s || !ok_upper(account) || !ok_lower(server) || (n && !entries))
        return ERR_BAD_INPUT;
    for (i = 0; i < n; i++) {
        if (!ok_text(entries[i], STORE_JSON_MAX_BYTES))
            return ERR_BAD_INPUT;
    }
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    e = stmt_exists(c, ST_SERVER_KNOWN, &found, "tt", account, server);
    if (e == ERR_OK && !found)
        e = ERR_NOT_FOUND;
    for (i = 0; e == ERR_OK && i < n; i++)
        e = stmt_run(c, ST_ACTIVITY_INSERT, "ttit", account, server, received_at, entries[i]);
    return op_end(s, c, e);
}

/* Reads a page of activity (see store.h). */
enum err store_activity_query(struct store *s, const char *account, const char *server,
                              size_t limit, size_t offset, struct store_activity **out, size_t *n,
                              uint64_t *total)
{
    struct store_activity *v = NULL, *p, *a;
    struct conn *c;
    struct stmt *st;
    size_t cnt = 0, cap = 0;
    uint64_t count = 0;
    enum err e;
    int row = 0;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (total)
        *total = 0;
    if (!s || !out || !n || !total || !ok_upper(account) || (server && !ok_lower(server)) ||
        limit < 1 || limit > STORE_MAX_PAGE || offset > (size_t)INT64_MAX)
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ, NULL);
    if (e != ERR_OK)
        return e;
    e = account_check(c, account);
    if (e == ERR_OK)
        e = server ? stmt_start(c, ST_ACTIVITY_COUNT_SERVER, &st, "tt", account, server)
                   : stmt_start(c, ST_ACTIVITY_COUNT, &st, "t", account);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && row)
            count = col_u64(st, 0);
        stmt_done(st);
    }
    if (e == ERR_OK)
        e = server ? stmt_start(c, ST_ACTIVITY_PAGE_SERVER, &st, "tiit", account, (int64_t)limit,
                                (int64_t)offset, server)
                   : stmt_start(c, ST_ACTIVITY_PAGE, &st, "tii", account, (int64_t)limit,
                                (int64_t)offset);
    if (e == ERR_OK) {
        while (e == ERR_OK && (e = stmt_step(c, st, &row)) == ERR_OK && row) {
            p = array_room(v, cnt, &cap, sizeof(*v));
            if (!p) {
                e = ERR_NOMEM;
                break;
            }
            v = p;
            a = &v[cnt++];
            a->av_id = col_u64(st, 0);
            e = col_text_copy(st, 1, a->av_server, sizeof(a->av_server));
            a->av_received_at = col_i64(st, 2);
            if (e == ERR_OK)
                e = col_text_dup(st, 3, &a->av_entry_json);
        }
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK) {
        store_activity_list_free(v, cnt);
        return e;
    }
    *out = v;
    *n = cnt;
    *total = count;
    return ERR_OK;
}

/* Frees the heap members of a. */
void store_activity_clear(struct store_activity *a)
{
    if (!a)
        return;
    mem_free_owned(a->av_entry_json);
    memset(a, 0, sizeof(*a));
}

/* Frees an array of activity entries. */
void store_activity_list_free(struct store_activity *v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        store_activity_clear(&v[i]);
    mem_free(v);
}

/* ---- Admin nonces and sessions ---------------------------------------------------------- */

/* Records an admin nonce once (see store.h). */
enum err store_nonce_use(struct store *s, const char *account, const char *nonce,
                         int64_t expires_at)
{
    struct conn *c;
    int64_t now;
    enum err e;

    if (!s || !ok_upper(account) || !ok_nonce(nonce))
        return ERR_BAD_INPUT;
    now = store_now(s);
    if (expires_at <= now)
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    e = stmt_run(c, ST_NONCE_PURGE, "i", now);
    if (e == ERR_OK)
        e = stmt_run(c, ST_NONCE_INSERT, "tti", account, nonce, expires_at);
    return op_end(s, c, e);
}

/* Stores a sync session (see store.h). */
enum err store_session_create(struct store *s, const unsigned char sha256[STORE_SHA256_BYTES],
                              const char *account, const char *server, int64_t expires_at)
{
    struct conn *c;
    enum err e;

    if (!s || !sha256 || !ok_upper(account) || !ok_lower(server) || expires_at <= store_now(s))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, account);
    if (e != ERR_OK)
        return e;
    e = server_check(c, account, server);
    if (e == ERR_OK)
        e = stmt_run(c, ST_SESSION_INSERT, "btti", sha256, (size_t)STORE_SHA256_BYTES, account,
                     server, expires_at);
    return op_end(s, c, e);
}

/* Finds a live session (see store.h). */
enum err store_session_lookup(struct store *s, const unsigned char sha256[STORE_SHA256_BYTES],
                              struct store_session *out)
{
    struct conn *c;
    struct stmt *st;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!s || !sha256 || !out)
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_PLAIN, NULL);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_SESSION_LOOKUP, &st, "bi", sha256, (size_t)STORE_SHA256_BYTES,
                   store_now(s));
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_NOT_FOUND;
        if (e == ERR_OK)
            e = col_text_copy(st, 0, out->ss_account, sizeof(out->ss_account));
        if (e == ERR_OK)
            e = col_text_copy(st, 1, out->ss_server, sizeof(out->ss_server));
        out->ss_expires_at = e == ERR_OK ? col_i64(st, 2) : 0;
        stmt_done(st);
    }
    e = op_end(s, c, e);
    if (e != ERR_OK)
        memset(out, 0, sizeof(*out));
    return e;
}

/* Deletes expired sessions (see store.h). */
enum err store_session_purge(struct store *s, size_t *removed)
{
    struct conn *c;
    enum err e;
    int changed = 0;

    if (removed)
        *removed = 0;
    if (!s)
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, NULL);
    if (e != ERR_OK)
        return e;
    e = stmt_run(c, ST_SESSION_PURGE, "i", store_now(s));
    if (e == ERR_OK)
        changed = conn_changes(c);
    e = op_end(s, c, e);
    if (e == ERR_OK && removed)
        *removed = changed > 0 ? (size_t)changed : 0;
    return e;
}

/* ---- Secrets the hubs share ------------------------------------------------------------ */

/* Stores candidate under name unless a secret is there, and returns the stored one. */
enum err store_secret_share(struct store *s, const char *name, const unsigned char *candidate,
                            size_t len, unsigned char *out)
{
    const unsigned char *v;
    struct conn *c;
    struct stmt *st;
    size_t n = 0;
    enum err e;
    int row = 0;

    if (!s || !ok_text(name, STORE_NAME_MAX_BYTES) || !candidate || !out || len == 0 ||
        len > STORE_SECRET_MAX)
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE, NULL);
    if (e != ERR_OK)
        return e;
    e = stmt_run(c, ST_SECRET_INSERT, "tbi", name, candidate, len, store_now(s));
    if (e == ERR_OK)
        e = stmt_start(c, ST_SECRET_GET, &st, "t", name);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_STORAGE;
        if (e == ERR_OK) {
            v = col_bytes(st, 0, &n);
            if (!v || n != len) {
                log_error("store: the shared secret %s has another length", name);
                e = ERR_STORAGE;
            } else {
                memcpy(out, v, len);
            }
        }
        stmt_done(st);
    }
    return op_end(s, c, e);
}

/* ---- Copying a hub to another database -------------------------------------------------- */

/* A table as store_copy moves it: columns, their kinds ('t' text, 'i' integer, 'b' blob; any
   may be NULL), and the order rows are read and inserted in (insertion orders kept). */
static const struct {
    const char *ct_name;
    const char *ct_cols;
    const char *ct_kinds;
    const char *ct_order;
} copy_tables[STORE_COPY_TABLES] = {
    {"accounts", "id, admin_sign_jwk, admin_wrap_pub, created_at, next_seq", "tttii", "id"},
    {"signing_keys", "account_id, kid, public_jwk, created_at, retired_at", "tttii", "{order}"},
    {"vaults",
     "account_id, id, attrs_ct, key_admin, type, attribute_version, content_version, created_at,"
     " updated_at, deleted",
     "ttbbtiiiii", "{order}"},
    {"items",
     "account_id, vault_id, id, version, state, category, overview_ct, details_ct, created_at,"
     " updated_at, last_edited_by, deleted",
     "tttittbbiiti", "{order}"},
    {"files", "account_id, vault_id, id, size, content_ct, sha256, created_at", "tttibbi",
     "account_id, vault_id, id"},
    {"servers", "account_id, id, name, sign_jwk, wrap_pub, created_at, deleted, unlock_admin",
     "tttttiib", "{order}"},
    {"grants", "account_id, server_id, vault_id, key_wrapped, created_at", "tttbi", "{order}"},
    {"tokens",
     "account_id, jti, name, server_id, vaults_json, expires_at, token_sha256, created_at,"
     " revoked_at",
     "tttttitii", "{order}"},
    {"changes",
     "account_id, seq, kind, vault_id, ref_id, server_id, payload_json, superseded_by,"
     " committed_at",
     "titttttii", "account_id, seq"},
    {"activity", "id, account_id, server_id, received_at, entry_json", "ittit", "id"},
    {"admin_nonces", "account_id, nonce, expires_at", "tti", "account_id, nonce"},
    {"sessions", "session_sha256, account_id, server_id, expires_at", "btti", "session_sha256"},
    {"hub_secrets", "name, value, created_at", "tbi", "name"},
};

/* Statement ids of the copy, after the store's own: per table a select, an insert, a count. */
#define COPY_ID(table, k) ((unsigned)ST__COUNT + 3u * (unsigned)(table) + (unsigned)(k))
#define COPY_ID_SETVAL    COPY_ID(STORE_COPY_TABLES, 0)
_Static_assert(COPY_ID_SETVAL < STORE_DB_MAX_STMTS - 4, "copy statements do not fit the cache");

/* PostgreSQL: the activity ids continue after the copied ones. */
static const char copy_setval_pg[] = "SELECT setval(pg_get_serial_sequence('activity', 'id'),"
                                     " (SELECT COALESCE(max(id), 0) + 1 FROM activity), false)";

/* Builds and expands the SQL of copy statement k (0 select, 1 insert, 2 count) of table t. */
static char *copy_sql(enum sdb_dialect d, size_t t, int k)
{
    char tmpl[1024], params[16 * 5];
    size_t i, n = strlen(copy_tables[t].ct_kinds), off = 0;
    int w = -1;

    params[0] = '\0';
    for (i = 0; i < n && off < sizeof(params); i++) {
        int m = snprintf(params + off, sizeof(params) - off, "%s?%zu", i ? ", " : "", i + 1);
        if (m < 0)
            return NULL;
        off += (size_t)m;
    }
    if (off >= sizeof(params))
        return NULL;
    if (k == 0)
        w = snprintf(tmpl, sizeof(tmpl), "SELECT %s FROM %s ORDER BY %s", copy_tables[t].ct_cols,
                     copy_tables[t].ct_name, copy_tables[t].ct_order);
    else if (k == 1)
        w = snprintf(tmpl, sizeof(tmpl), "INSERT INTO %s (%s) VALUES (%s)", copy_tables[t].ct_name,
                     copy_tables[t].ct_cols, params);
    else
        w = snprintf(tmpl, sizeof(tmpl), "SELECT count(*) FROM %s", copy_tables[t].ct_name);
    if (w < 0 || (size_t)w >= sizeof(tmpl))
        return NULL;
    return store_sql_expand(d, tmpl);
}

/* Runs a one-row integer query (statement id with sql) on c into *out. */
static enum err copy_query_int(struct conn *c, unsigned id, const char *sql, uint64_t *out)
{
    struct sdb_stmt *st = NULL;
    enum err e;
    int row = 0;

    *out = 0;
    e = c->cn_dr->dr_start(c->cn_db, id, sql, NULL, 0, &st);
    if (e == ERR_OK)
        e = c->cn_dr->dr_step(st, &row);
    if (e == ERR_OK && row) {
        int64_t v = c->cn_dr->dr_col_int(st, 0);
        *out = v < 0 ? 0 : (uint64_t)v;
    }
    if (st)
        c->cn_dr->dr_done(st);
    return e;
}

/* Copies the rows of table t from src to dst (both in their transactions); *rows: how many. */
static enum err copy_table(struct conn *src, struct conn *dst, size_t t, uint64_t *rows)
{
    const char *kinds = copy_tables[t].ct_kinds;
    struct sdb_param p[STORE_DB_MAX_PARAMS];
    struct sdb_stmt *rd = NULL, *wr = NULL;
    char *sel = NULL, *ins = NULL;
    size_t n = strlen(kinds), i;
    enum err e = ERR_NOMEM;
    int row = 0, more;

    *rows = 0;
    sel = copy_sql(src->cn_dr->dr_dialect, t, 0);
    ins = copy_sql(dst->cn_dr->dr_dialect, t, 1);
    if (!sel || !ins || n > STORE_DB_MAX_PARAMS)
        goto out;
    e = src->cn_dr->dr_start(src->cn_db, COPY_ID(t, 0), sel, NULL, 0, &rd);
    while (e == ERR_OK && (e = src->cn_dr->dr_step(rd, &row)) == ERR_OK && row) {
        for (i = 0; i < n; i++) {
            memset(&p[i], 0, sizeof(p[i]));
            if (src->cn_dr->dr_col_null(rd, (int)i)) {
                p[i].pa_kind = SDB_NULL;
            } else if (kinds[i] == 'i') {
                p[i].pa_kind = SDB_INT;
                p[i].pa_int = src->cn_dr->dr_col_int(rd, (int)i);
            } else {
                p[i].pa_kind = kinds[i] == 'b' ? SDB_BLOB : SDB_TEXT;
                p[i].pa_ptr = src->cn_dr->dr_col_bytes(rd, (int)i, &p[i].pa_len);
                if (!p[i].pa_ptr)
                    p[i].pa_ptr = "";
            }
        }
        e = dst->cn_dr->dr_start(dst->cn_db, COPY_ID(t, 1), ins, p, n, &wr);
        for (more = 1; e == ERR_OK && more;)
            e = dst->cn_dr->dr_step(wr, &more);
        if (wr)
            dst->cn_dr->dr_done(wr);
        wr = NULL;
        if (e == ERR_OK)
            (*rows)++;
    }
out:
    if (rd)
        src->cn_dr->dr_done(rd);
    mem_free(sel);
    mem_free(ins);
    return e;
}

/* Counts table t on c into *rows. */
static enum err copy_count(struct conn *c, size_t t, uint64_t *rows)
{
    char *sql = copy_sql(c->cn_dr->dr_dialect, t, 2);
    enum err e;

    *rows = 0;
    if (!sql)
        return ERR_NOMEM;
    e = copy_query_int(c, COPY_ID(t, 2), sql, rows);
    mem_free(sql);
    return e;
}

/* Copies from into to (see store.h). */
enum err store_copy(struct store *from, struct store *to, struct store_copy_report *report,
                    char *errmsg, size_t errcap)
{
    struct conn *src = NULL, *dst = NULL;
    uint64_t rows[STORE_COPY_TABLES] = {0}, a = 0, b = 0;
    enum err e;
    size_t t;
    int any = 0;

    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (report)
        memset(report, 0, sizeof(*report));
    if (!from || !to || from == to)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "copy: two different stores are needed");
    e = op_begin(from, &src, OP_READ, NULL);
    if (e != ERR_OK)
        return err_msgf(e, errmsg, errcap, "cannot read the source database (%s)", err_name(e));
    e = op_begin(to, &dst, OP_WRITE, NULL);
    if (e != ERR_OK) {
        (void)op_end(from, src, e);
        return err_msgf(e, errmsg, errcap, "cannot write the destination database (%s)",
                        err_name(e));
    }
    e = stmt_exists(dst, ST_ACCOUNT_ANY, &any, "");
    if (e == ERR_OK && any)
        e = err_msgf(ERR_CONFLICT, errmsg, errcap,
                     "the destination database already holds a hub: copy only into an empty one");
    for (t = 0; e == ERR_OK && t < STORE_COPY_TABLES; t++) {
        e = copy_table(src, dst, t, &rows[t]);
        if (e != ERR_OK)
            (void)err_msgf(e, errmsg, errcap, "copying the table %s failed (%s)",
                           copy_tables[t].ct_name, err_name(e));
    }
    if (e == ERR_OK && to->st_dr->dr_dialect == SDB_PG) {
        uint64_t ignored;

        e = copy_query_int(dst, COPY_ID_SETVAL, copy_setval_pg, &ignored);
        if (e != ERR_OK)
            (void)err_msgf(e, errmsg, errcap, "cannot continue the activity ids (%s)", err_name(e));
    }
    (void)op_end(from, src, ERR_OK);
    e = op_end(to, dst, e);
    if (e != ERR_OK) {
        if (errmsg && errcap && !errmsg[0])
            (void)err_msgf(e, errmsg, errcap, "cannot commit the copy (%s)", err_name(e));
        return e;
    }
    /* counted again on both sides, each in a snapshot of its own */
    e = op_begin(from, &src, OP_READ, NULL);
    if (e == ERR_OK) {
        e = op_begin(to, &dst, OP_READ, NULL);
        if (e != ERR_OK)
            (void)op_end(from, src, e);
    }
    if (e != ERR_OK)
        return err_msgf(e, errmsg, errcap, "cannot count the copied rows (%s)", err_name(e));
    for (t = 0; e == ERR_OK && t < STORE_COPY_TABLES; t++) {
        e = copy_count(src, t, &a);
        if (e == ERR_OK)
            e = copy_count(dst, t, &b);
        if (e == ERR_OK && (a != rows[t] || b != rows[t]))
            e = err_msgf(ERR_STORAGE, errmsg, errcap,
                         "the table %s differs after the copy: %" PRIu64 " row(s) copied, %" PRIu64
                         " in the source, %" PRIu64 " in the destination",
                         copy_tables[t].ct_name, rows[t], a, b);
        if (report && e == ERR_OK) {
            report->cr_table[t] = copy_tables[t].ct_name;
            report->cr_rows[t] = rows[t];
            report->cr_n = t + 1;
        }
    }
    (void)op_end(to, dst, ERR_OK);
    (void)op_end(from, src, ERR_OK);
    if (e != ERR_OK && errmsg && errcap && !errmsg[0])
        (void)err_msgf(e, errmsg, errcap, "cannot count the copied rows (%s)", err_name(e));
    return e;
}
