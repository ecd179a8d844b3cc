/*
 * store_sqlite.c - the hub store (store.h) on SQLite 3.40.
 *
 * One database file in WAL mode with synchronous=FULL (a write is acknowledged only once
 * it is durable), foreign keys on, secure_delete on (erased ciphertext is overwritten, not
 * left in free pages), defensive mode, STRICT tables, prepared statements only: every SQL
 * text below is a constant and every value is bound.
 *
 * Connections: a pool of at most STORE_MAX_CONNECTIONS, opened lazily, each used by one
 * thread at a time (SQLITE_OPEN_NOMUTEX) and caching its prepared statements. In WAL mode
 * readers on other connections proceed while one writer commits. Writers are serialised
 * by a process mutex held across BEGIN IMMEDIATE ... COMMIT (fair within the process and
 * without SQLite's sleep-and-retry), and by SQLite's write lock against other processes.
 *
 * Schema: versioned migrations (PRAGMA user_version), each in one transaction together
 * with its user_version bump, so a failed migration leaves the previous version intact.
 * PRAGMA application_id marks the file as a Sesame hub database.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/log.h"
#include "crypto/hash.h"
#include "json/item.h"

#define STORE_APPLICATION_ID 1397052232 /* 0x53455348, "SESH" */
#define STORE_PAYLOAD_MAX    (SIZE_MAX / 2)

_Static_assert(STORE_CATEGORY_MAX == ITEM_CATEGORY_MAX, "category size differs from json/item.h");
_Static_assert(STORE_STATE_MAX == ITEM_STATE_MAX, "state size differs from json/item.h");
_Static_assert(STORE_SHA256_BYTES == HASH_SHA256_BYTES, "SHA-256 size");

/* ---- Schema ----------------------------------------------------------------------------- */

/*
 * Migration n (index n - 1) takes the database from user_version n - 1 to n; it ends by
 * setting user_version itself, inside the same transaction. Never edit a released one:
 * add the next.
 */
static const char *const store_migrations[STORE_SCHEMA_VERSION] = {
    /* 1: the initial schema */
    "PRAGMA application_id = 1397052232;"
    "CREATE TABLE accounts ("
    " id TEXT NOT NULL PRIMARY KEY,"
    " admin_sign_jwk TEXT NOT NULL,"
    " admin_wrap_pub TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " next_seq INTEGER NOT NULL CHECK (next_seq >= 1)"
    ") STRICT;"
    "CREATE TABLE signing_keys ("
    " account_id TEXT NOT NULL REFERENCES accounts (id),"
    " kid TEXT NOT NULL,"
    " public_jwk TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " retired_at INTEGER,"
    " PRIMARY KEY (account_id, kid)"
    ") STRICT;"
    "CREATE TABLE vaults ("
    " account_id TEXT NOT NULL REFERENCES accounts (id),"
    " id TEXT NOT NULL,"
    " attrs_ct BLOB NOT NULL,"
    " key_admin BLOB NOT NULL,"
    " type TEXT NOT NULL,"
    " attribute_version INTEGER NOT NULL,"
    " content_version INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),"
    " PRIMARY KEY (account_id, id)"
    ") STRICT;"
    "CREATE TABLE items ("
    " account_id TEXT NOT NULL,"
    " vault_id TEXT NOT NULL,"
    " id TEXT NOT NULL,"
    " version INTEGER NOT NULL CHECK (version >= 1),"
    " state TEXT NOT NULL,"
    " category TEXT NOT NULL,"
    " overview_ct BLOB NOT NULL,"
    " details_ct BLOB NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " last_edited_by TEXT NOT NULL,"
    " deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),"
    " PRIMARY KEY (account_id, vault_id, id),"
    " FOREIGN KEY (account_id, vault_id) REFERENCES vaults (account_id, id)"
    ") STRICT;"
    "CREATE TABLE files ("
    " account_id TEXT NOT NULL,"
    " vault_id TEXT NOT NULL,"
    " id TEXT NOT NULL,"
    " size INTEGER NOT NULL CHECK (size >= 0),"
    " content_ct BLOB NOT NULL,"
    " sha256 BLOB NOT NULL CHECK (length(sha256) = 32),"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY (account_id, vault_id, id),"
    " FOREIGN KEY (account_id, vault_id) REFERENCES vaults (account_id, id)"
    ") STRICT;"
    "CREATE TABLE servers ("
    " account_id TEXT NOT NULL REFERENCES accounts (id),"
    " id TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " sign_jwk TEXT NOT NULL,"
    " wrap_pub TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),"
    " PRIMARY KEY (account_id, id)"
    ") STRICT;"
    "CREATE TABLE grants ("
    " account_id TEXT NOT NULL,"
    " server_id TEXT NOT NULL,"
    " vault_id TEXT NOT NULL,"
    " key_wrapped BLOB NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY (account_id, server_id, vault_id),"
    " FOREIGN KEY (account_id, server_id) REFERENCES servers (account_id, id),"
    " FOREIGN KEY (account_id, vault_id) REFERENCES vaults (account_id, id)"
    ") STRICT;"
    "CREATE INDEX grants_by_vault ON grants (account_id, vault_id);"
    "CREATE TABLE tokens ("
    " account_id TEXT NOT NULL,"
    " jti TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " server_id TEXT NOT NULL,"
    " vaults_json TEXT NOT NULL,"
    " expires_at INTEGER,"
    " token_sha256 TEXT NOT NULL CHECK (length(token_sha256) = 64),"
    " created_at INTEGER NOT NULL,"
    " revoked_at INTEGER,"
    " PRIMARY KEY (account_id, jti),"
    " FOREIGN KEY (account_id, server_id) REFERENCES servers (account_id, id)"
    ") STRICT;"
    "CREATE TABLE changes ("
    " account_id TEXT NOT NULL REFERENCES accounts (id),"
    " seq INTEGER NOT NULL CHECK (seq >= 1),"
    " kind TEXT NOT NULL,"
    " vault_id TEXT,"
    " ref_id TEXT NOT NULL,"
    " server_id TEXT,"
    " payload_json TEXT,"
    " superseded_by INTEGER,"
    " committed_at INTEGER NOT NULL,"
    " PRIMARY KEY (account_id, seq),"
    " CHECK ((payload_json IS NULL) = (superseded_by IS NOT NULL))"
    ") STRICT;"
    "CREATE INDEX changes_live_by_ref ON changes (account_id, vault_id, ref_id)"
    " WHERE superseded_by IS NULL;"
    "CREATE INDEX changes_by_server ON changes (account_id, server_id)"
    " WHERE server_id IS NOT NULL;"
    "CREATE TABLE activity ("
    " id INTEGER PRIMARY KEY,"
    " account_id TEXT NOT NULL,"
    " server_id TEXT NOT NULL,"
    " received_at INTEGER NOT NULL,"
    " entry_json TEXT NOT NULL,"
    " FOREIGN KEY (account_id, server_id) REFERENCES servers (account_id, id)"
    ") STRICT;"
    "CREATE INDEX activity_by_account ON activity (account_id, id);"
    "CREATE INDEX activity_by_server ON activity (account_id, server_id, id);"
    "CREATE TABLE admin_nonces ("
    " account_id TEXT NOT NULL REFERENCES accounts (id),"
    " nonce TEXT NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " PRIMARY KEY (account_id, nonce)"
    ") STRICT;"
    "CREATE INDEX admin_nonces_by_expiry ON admin_nonces (expires_at);"
    "CREATE TABLE sessions ("
    " session_sha256 BLOB NOT NULL PRIMARY KEY CHECK (length(session_sha256) = 32),"
    " account_id TEXT NOT NULL,"
    " server_id TEXT NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " FOREIGN KEY (account_id, server_id) REFERENCES servers (account_id, id)"
    ") STRICT;"
    "CREATE INDEX sessions_by_expiry ON sessions (expires_at);"
    "CREATE INDEX sessions_by_server ON sessions (account_id, server_id);"
    "PRAGMA user_version = 1;",
    /* 2: the server's unlock secret sealed to the admin wrap key (servers.unlock_admin) */
    "ALTER TABLE servers ADD COLUMN unlock_admin BLOB NOT NULL DEFAULT X'';"
    "PRAGMA user_version = 2;",
};

/* ---- Statements ------------------------------------------------------------------------- */

enum stmt_id {
    ST_BEGIN,
    ST_BEGIN_WRITE,
    ST_COMMIT,
    ST_ROLLBACK,
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

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SEQ_TAKE] = "UPDATE accounts SET next_seq = next_seq + 1 WHERE id = ?1"
                    " RETURNING next_seq - 1",
    [ST_SEQ_LAST] = "SELECT next_seq - 1 FROM accounts WHERE id = ?1",
    [ST_CHANGE_INSERT] = "INSERT INTO changes (account_id, seq, kind, vault_id, ref_id, server_id,"
                         " payload_json, committed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    /* "+seq" keeps SQLite on the live changes' partial indexes instead of the primary key's
       range over every change before seq (which made each write cost O(changes)) */
    [ST_CHANGE_SUPERSEDE_REF] =
        "UPDATE changes SET payload_json = NULL, superseded_by = ?1 WHERE account_id = ?2"
        " AND vault_id = ?3 AND ref_id = ?4 AND superseded_by IS NULL AND +seq < ?1"
        " AND kind IN (?5, ?6)",
    [ST_CHANGE_SUPERSEDE_VAULT] =
        "UPDATE changes SET payload_json = NULL, superseded_by = ?1 WHERE account_id = ?2"
        " AND vault_id = ?3 AND superseded_by IS NULL AND +seq < ?1 AND kind IN"
        " ('vault_create', 'vault_update', 'item_put', 'item_delete', 'file_put', 'grant_put')",
    [ST_CHANGE_SUPERSEDE_SERVER] =
        "UPDATE changes SET payload_json = NULL, superseded_by = ?1 WHERE account_id = ?2"
        " AND server_id = ?3 AND superseded_by IS NULL AND +seq < ?1"
        " AND kind IN ('grant_put', 'grant_delete')",
    [ST_CHANGES_ALL] = "SELECT " CHANGE_COLUMNS " FROM changes WHERE account_id = ?1 AND seq > ?2"
                       " ORDER BY seq LIMIT ?3",
    [ST_CHANGES_SERVER] =
        "SELECT " CHANGE_COLUMNS " FROM changes WHERE account_id = ?1 AND seq > ?2 AND ("
        " kind IN ('signing_key_add', 'signing_key_retire') OR server_id = ?4"
        " OR (kind IN ('vault_create', 'vault_update', 'vault_delete', 'item_put', 'item_delete',"
        " 'file_put') AND vault_id IN (SELECT vault_id FROM grants WHERE account_id = ?1"
        " AND server_id = ?4))) ORDER BY seq LIMIT ?3",
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
                     " WHERE account_id = ?1 ORDER BY rowid",
    [ST_SKEY_RETIRE] = "UPDATE signing_keys SET retired_at = ?3 WHERE account_id = ?1 AND kid = ?2",
    [ST_VAULT_INSERT] = "INSERT INTO vaults (account_id, id, attrs_ct, key_admin, type,"
                        " attribute_version, content_version, created_at, updated_at, deleted)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, 1, 1, ?6, ?6, 0)",
    [ST_VAULT_GET] = "SELECT " VAULT_COLUMNS " FROM vaults v WHERE account_id = ?1 AND id = ?2"
                     " AND deleted = 0",
    [ST_VAULT_LIST] = "SELECT " VAULT_COLUMNS " FROM vaults v WHERE account_id = ?1"
                      " AND deleted = 0 ORDER BY rowid",
    [ST_VAULT_LIVE] = "SELECT 1 FROM vaults WHERE account_id = ?1 AND id = ?2 AND deleted = 0",
    [ST_VAULT_UPDATE_ATTRS] =
        "UPDATE vaults SET attrs_ct = ?3, attribute_version = attribute_version + 1,"
        " updated_at = ?4 WHERE account_id = ?1 AND id = ?2 AND deleted = 0"
        " RETURNING type, attribute_version, content_version, created_at",
    [ST_VAULT_BUMP] = "UPDATE vaults SET content_version = content_version + 1, updated_at = ?3"
                      " WHERE account_id = ?1 AND id = ?2",
    [ST_VAULT_BUMP_RET] = "UPDATE vaults SET content_version = content_version + 1, updated_at = ?3"
                          " WHERE account_id = ?1 AND id = ?2 RETURNING content_version",
    [ST_VAULT_DELETE] = "UPDATE vaults SET deleted = 1, attrs_ct = X'', key_admin = X'',"
                        " content_version = content_version + 1, updated_at = ?3"
                        " WHERE account_id = ?1 AND id = ?2 AND deleted = 0"
                        " RETURNING content_version",
    [ST_VAULT_ITEMS_ERASE] = "UPDATE items SET deleted = 1, overview_ct = X'', details_ct = X'',"
                             " updated_at = ?3 WHERE account_id = ?1 AND vault_id = ?2"
                             " AND deleted = 0",
    [ST_VAULT_FILES_DELETE] = "DELETE FROM files WHERE account_id = ?1 AND vault_id = ?2",
    [ST_VAULT_GRANT_SERVERS] = "SELECT server_id FROM grants WHERE account_id = ?1"
                               " AND vault_id = ?2 ORDER BY rowid",
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
                     " AND deleted = 0 ORDER BY rowid",
    [ST_ITEM_LIST_FULL] = "SELECT id, version, state, category, overview_ct, created_at,"
                          " updated_at, last_edited_by, details_ct FROM items"
                          " WHERE account_id = ?1 AND vault_id = ?2 AND deleted = 0"
                          " ORDER BY rowid",
    /* the vault's listing order (the hub's insertion order, as ST_ITEM_LIST), from the
       cursor item on: Connect servers list items in the order they first received them */
    [ST_ITEM_CURSOR] = "SELECT rowid FROM items WHERE account_id = ?1 AND vault_id = ?2"
                       " AND id = ?3",
    [ST_ITEM_PAGE] = "SELECT id, version, state, category, overview_ct, created_at, updated_at,"
                     " last_edited_by, details_ct FROM items WHERE account_id = ?1"
                     " AND vault_id = ?2 AND deleted = 0 AND rowid > ?3 ORDER BY rowid LIMIT ?4",
    [ST_ITEM_DELETE] = "UPDATE items SET deleted = 1, version = version + 1, overview_ct = X'',"
                       " details_ct = X'', updated_at = ?4, last_edited_by = ?5"
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
                       " WHERE account_id = ?1 AND deleted = 0 ORDER BY rowid",
    [ST_SERVER_LIVE] = "SELECT 1 FROM servers WHERE account_id = ?1 AND id = ?2 AND deleted = 0",
    [ST_SERVER_KNOWN] = "SELECT 1 FROM servers WHERE account_id = ?1 AND id = ?2",
    [ST_SERVER_DELETE] = "UPDATE servers SET deleted = 1, unlock_admin = X''"
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
                           " WHERE account_id = ?1 AND server_id = ?2 ORDER BY rowid",
    [ST_GRANT_BY_VAULT] = "SELECT server_id, vault_id, key_wrapped, created_at FROM grants"
                          " WHERE account_id = ?1 AND vault_id = ?2 ORDER BY rowid",
    [ST_TOKEN_INSERT] = "INSERT INTO tokens (account_id, jti, name, server_id, vaults_json,"
                        " expires_at, token_sha256, created_at)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_TOKEN_GET] = "SELECT " TOKEN_COLUMNS " FROM tokens WHERE account_id = ?1 AND jti = ?2",
    [ST_TOKEN_LIST] = "SELECT " TOKEN_COLUMNS " FROM tokens WHERE account_id = ?1 ORDER BY rowid",
    [ST_TOKEN_LIST_SERVER] = "SELECT " TOKEN_COLUMNS " FROM tokens WHERE account_id = ?1"
                             " AND server_id = ?2 ORDER BY rowid",
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

/* ---- The store and its connections ------------------------------------------------------ */

enum op_mode {
    OP_PLAIN, /* single statements in autocommit */
    OP_READ,  /* BEGIN ... COMMIT: one consistent snapshot */
    OP_WRITE, /* write mutex + BEGIN IMMEDIATE ... COMMIT */
};

struct conn {
    sqlite3 *cn_db;                   /* the connection (SQLITE_OPEN_NOMUTEX) */
    sqlite3_stmt *cn_stmt[ST__COUNT]; /* prepared lazily, kept */
    struct conn *cn_next;             /* next idle connection */
    enum op_mode cn_mode;             /* mode of the current operation */
    const char *cn_tx_account;        /* account whose changes the transaction appended */
    uint64_t cn_tx_seq;               /* last seq the transaction appended; 0 = none */
};

struct store {
    char *st_path;                  /* database file */
    pthread_mutex_t st_pool_lock;   /* guards st_idle and st_open */
    pthread_cond_t st_pool_cond;    /* signalled when a connection comes back */
    struct conn *st_idle;           /* idle connections */
    size_t st_open;                 /* connections open or being opened */
    pthread_mutex_t st_write_lock;  /* held across each write transaction */
    int64_t (*st_clock)(void *arg); /* NULL: time() */
    void *st_clock_arg;
    void (*st_hook)(void *arg, const char *account, uint64_t last_seq);
    void *st_hook_arg;
};

static int64_t store_now(const struct store *s)
{
    if (s->st_clock)
        return s->st_clock(s->st_clock_arg);
    return (int64_t)time(NULL);
}

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

/* Returns the cached statement id of c, preparing it on first use. */
static enum err stmt_get(struct conn *c, enum stmt_id id, sqlite3_stmt **out)
{
    int rc;

    *out = NULL;
    if (!c->cn_stmt[id]) {
        rc = sqlite3_prepare_v3(c->cn_db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                &c->cn_stmt[id], NULL);
        if (rc != SQLITE_OK) {
            c->cn_stmt[id] = NULL;
            return db_error(c->cn_db, rc, "prepare");
        }
    }
    *out = c->cn_stmt[id];
    return ERR_OK;
}

/* Resets st for its next use (ends its read, drops its bindings); NULL is fine. */
static void stmt_done(sqlite3_stmt *st)
{
    if (st) {
        (void)sqlite3_reset(st);
        (void)sqlite3_clear_bindings(st);
    }
}

/*
 * Binds values to st by a format: 't' const char * (NULL binds NULL), 'b' const void *,
 * size_t (a blob; length 0 binds an empty blob, not NULL), 'i' int64_t, 'I' int64_t with 0
 * bound as NULL, 'u' uint64_t (at most INT64_MAX). The format must cover every parameter
 * of the statement (ERR_INTERNAL otherwise: a bug caught on first use).
 */
static enum err stmt_bind_va(struct conn *c, sqlite3_stmt *st, const char *fmt, va_list ap)
{
    int i = 1, rc = SQLITE_OK;
    const char *f;

    for (f = fmt; *f && rc == SQLITE_OK; f++, i++) {
        switch (*f) {
        case 't': {
            const char *t = va_arg(ap, const char *);
            rc = t ? sqlite3_bind_text(st, i, t, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
            break;
        }
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            rc = n ? sqlite3_bind_blob64(st, i, p, (sqlite3_uint64)n, SQLITE_STATIC)
                   : sqlite3_bind_zeroblob(st, i, 0);
            break;
        }
        case 'i':
            rc = sqlite3_bind_int64(st, i, (sqlite3_int64)va_arg(ap, int64_t));
            break;
        case 'I': {
            int64_t v = va_arg(ap, int64_t);
            rc = v ? sqlite3_bind_int64(st, i, (sqlite3_int64)v) : sqlite3_bind_null(st, i);
            break;
        }
        case 'u': {
            uint64_t v = va_arg(ap, uint64_t);
            if (v > (uint64_t)INT64_MAX)
                return ERR_BAD_INPUT;
            rc = sqlite3_bind_int64(st, i, (sqlite3_int64)v);
            break;
        }
        default:
            return ERR_INTERNAL;
        }
    }
    if (rc != SQLITE_OK)
        return db_error(c->cn_db, rc, "bind");
    if (i - 1 != sqlite3_bind_parameter_count(st)) {
        log_error("store: %d value(s) bound to a statement of %d parameter(s)", i - 1,
                  sqlite3_bind_parameter_count(st));
        return ERR_INTERNAL;
    }
    return ERR_OK;
}

/* Gets statement id of c into *out and binds the values of fmt (stmt_bind_va). */
static enum err stmt_start(struct conn *c, enum stmt_id id, sqlite3_stmt **out, const char *fmt,
                           ...)
{
    va_list ap;
    enum err e;

    e = stmt_get(c, id, out);
    if (e != ERR_OK)
        return e;
    va_start(ap, fmt);
    e = stmt_bind_va(c, *out, fmt, ap);
    va_end(ap);
    if (e != ERR_OK) {
        stmt_done(*out);
        *out = NULL;
    }
    return e;
}

/* Steps st: *row is 1 for a row, 0 when done. */
static enum err stmt_step(struct conn *c, sqlite3_stmt *st, int *row)
{
    int rc = sqlite3_step(st);

    *row = 0;
    if (rc == SQLITE_ROW) {
        *row = 1;
        return ERR_OK;
    }
    if (rc == SQLITE_DONE)
        return ERR_OK;
    return db_error(c->cn_db, rc, "step");
}

/* Runs statement id of c with the values of fmt to completion, ignoring rows. */
static enum err stmt_run(struct conn *c, enum stmt_id id, const char *fmt, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    enum err e;
    int row = 1;

    e = stmt_get(c, id, &st);
    if (e != ERR_OK)
        return e;
    va_start(ap, fmt);
    e = stmt_bind_va(c, st, fmt, ap);
    va_end(ap);
    while (e == ERR_OK && row)
        e = stmt_step(c, st, &row);
    stmt_done(st);
    return e;
}

/* Runs statement id with fmt values and reports whether it returned a row (*found). */
static enum err stmt_exists(struct conn *c, enum stmt_id id, int *found, const char *fmt, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    enum err e;

    *found = 0;
    e = stmt_get(c, id, &st);
    if (e != ERR_OK)
        return e;
    va_start(ap, fmt);
    e = stmt_bind_va(c, st, fmt, ap);
    va_end(ap);
    if (e == ERR_OK)
        e = stmt_step(c, st, found);
    stmt_done(st);
    return e;
}

/* Column readers. A NOT NULL text column read as NULL means the database lied. */
static enum err col_text_dup(sqlite3_stmt *st, int i, const char **out)
{
    const unsigned char *t;
    int n;

    *out = NULL;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return ERR_OK;
    t = sqlite3_column_text(st, i);
    n = sqlite3_column_bytes(st, i);
    if (!t || n < 0)
        return ERR_NOMEM;
    *out = mem_strndup((const char *)t, (size_t)n);
    return *out ? ERR_OK : ERR_NOMEM;
}

static enum err col_text_copy(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t;
    int n;

    out[0] = '\0';
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return ERR_OK;
    t = sqlite3_column_text(st, i);
    n = sqlite3_column_bytes(st, i);
    if (!t || n < 0)
        return ERR_NOMEM;
    if ((size_t)n >= cap) {
        log_error("store: a stored text is longer than its field (%d bytes)", n);
        return ERR_STORAGE;
    }
    memcpy(out, t, (size_t)n);
    out[n] = '\0';
    return ERR_OK;
}

static enum err col_blob_dup(sqlite3_stmt *st, int i, const unsigned char **out, size_t *len)
{
    unsigned char *copy;
    const void *p;
    int n;

    *out = NULL;
    *len = 0;
    p = sqlite3_column_blob(st, i);
    n = sqlite3_column_bytes(st, i);
    if (n <= 0)
        return ERR_OK;
    if (!p)
        return ERR_NOMEM;
    copy = mem_alloc((size_t)n);
    if (!copy)
        return ERR_NOMEM;
    memcpy(copy, p, (size_t)n);
    *out = copy;
    *len = (size_t)n;
    return ERR_OK;
}

/* Frees heap memory a record owns through a pointer-to-const member (store.h). */
static void mem_free_owned(const void *p)
{
    mem_free((void *)(uintptr_t)p);
}

static uint64_t col_u64(sqlite3_stmt *st, int i)
{
    sqlite3_int64 v = sqlite3_column_int64(st, i);

    return v < 0 ? 0 : (uint64_t)v;
}

static int64_t col_i64(sqlite3_stmt *st, int i)
{
    return (int64_t)sqlite3_column_int64(st, i);
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
    int rc;

    if (!c)
        return;
    for (i = 0; i < ST__COUNT; i++)
        (void)sqlite3_finalize(c->cn_stmt[i]);
    rc = sqlite3_close(c->cn_db);
    if (rc != SQLITE_OK)
        log_error("store: closing a connection: %s", sqlite3_errstr(rc));
    mem_free(c);
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

/* Opens a new connection to s's file with the per-connection settings. */
static enum err conn_open(const struct store *s, struct conn **out, char *errmsg, size_t errcap)
{
    static const char setup[] = "PRAGMA foreign_keys = ON;"
                                "PRAGMA synchronous = FULL;"
                                "PRAGMA secure_delete = ON;"
                                "PRAGMA trusted_schema = OFF;"
                                "PRAGMA journal_size_limit = 67108864;";
    struct conn *c;
    enum err e = ERR_OK;
    int rc;

    *out = NULL;
    c = mem_calloc(1, sizeof(*c));
    if (!c)
        return err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
    rc = sqlite3_open_v2(s->st_path, &c->cn_db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                             SQLITE_OPEN_EXRESCODE,
                         NULL);
    if (rc != SQLITE_OK) {
        e = err_msgf(ERR_STORAGE, errmsg, errcap, "cannot open the database %s: %s", s->st_path,
                     c->cn_db ? sqlite3_errmsg(c->cn_db) : sqlite3_errstr(rc));
        goto out;
    }
    (void)sqlite3_extended_result_codes(c->cn_db, 1);
    rc = sqlite3_busy_timeout(c->cn_db, STORE_BUSY_TIMEOUT_MS);
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(c->cn_db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    if (rc != SQLITE_OK) {
        e = err_msgf(ERR_STORAGE, errmsg, errcap, "cannot configure the database: %s",
                     sqlite3_errstr(rc));
        goto out;
    }
    e = conn_exec(c->cn_db, setup, "cannot use the database", errmsg, errcap);
out:
    if (e != ERR_OK) {
        conn_close(c);
        return e;
    }
    *out = c;
    return ERR_OK;
}

/* Takes an idle connection, opening one if the pool has room, else waits for one. */
static enum err conn_acquire(struct store *s, struct conn **out)
{
    struct conn *c = NULL;
    enum err e;

    *out = NULL;
    pthread_mutex_lock(&s->st_pool_lock);
    while (!s->st_idle && s->st_open >= STORE_MAX_CONNECTIONS)
        pthread_cond_wait(&s->st_pool_cond, &s->st_pool_lock);
    if (s->st_idle) {
        c = s->st_idle;
        s->st_idle = c->cn_next;
        c->cn_next = NULL;
        pthread_mutex_unlock(&s->st_pool_lock);
        *out = c;
        return ERR_OK;
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

static void conn_release(struct store *s, struct conn *c)
{
    pthread_mutex_lock(&s->st_pool_lock);
    c->cn_next = s->st_idle;
    s->st_idle = c;
    pthread_cond_signal(&s->st_pool_cond);
    pthread_mutex_unlock(&s->st_pool_lock);
}

/* Starts an operation: a connection, and for OP_READ / OP_WRITE a transaction. */
static enum err op_begin(struct store *s, struct conn **out, enum op_mode mode)
{
    struct conn *c;
    enum err e;

    *out = NULL;
    e = conn_acquire(s, &c);
    if (e != ERR_OK)
        return e;
    c->cn_mode = mode;
    c->cn_tx_account = NULL;
    c->cn_tx_seq = 0;
    if (mode == OP_WRITE) {
        pthread_mutex_lock(&s->st_write_lock);
        e = stmt_run(c, ST_BEGIN_WRITE, "");
        if (e != ERR_OK)
            pthread_mutex_unlock(&s->st_write_lock);
    } else if (mode == OP_READ) {
        e = stmt_run(c, ST_BEGIN, "");
    }
    if (e != ERR_OK) {
        conn_release(s, c);
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

    if (c->cn_mode != OP_PLAIN) {
        if (e == ERR_OK)
            e = stmt_run(c, ST_COMMIT, "");
        if (!sqlite3_get_autocommit(c->cn_db) && stmt_run(c, ST_ROLLBACK, "") != ERR_OK)
            log_error("store: rollback failed");
        if (c->cn_mode == OP_WRITE)
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
static enum err pj_key(struct buf *b, const char *key)
{
    enum err e = ERR_OK;

    if (b->b_len > 1)
        e = buf_add(b, ",", 1);
    if (e == ERR_OK)
        e = buf_add_json_string(b, key);
    if (e == ERR_OK)
        e = buf_add(b, ":", 1);
    return e;
}

static enum err pj_str(struct buf *b, const char *key, const char *val)
{
    enum err e = pj_key(b, key);

    return e == ERR_OK ? buf_add_json_string(b, val ? val : "") : e;
}

static enum err pj_int(struct buf *b, const char *key, int64_t v)
{
    enum err e = pj_key(b, key);

    return e == ERR_OK ? buf_addf(b, "%" PRId64, v) : e;
}

static enum err pj_b64(struct buf *b, const char *key, const unsigned char *p, size_t n)
{
    size_t len = codec_b64_encoded_len(n, 0);
    char *tmp;
    enum err e = pj_key(b, key);

    if (e != ERR_OK)
        return e;
    tmp = mem_alloc(len + 1);
    if (!tmp)
        return ERR_NOMEM;
    e = codec_b64_encode(tmp, len + 1, NULL, p, n, CODEC_B64_URL);
    if (e == ERR_OK)
        e = buf_addf(b, "\"%s\"", tmp);
    mem_free(tmp);
    return e;
}

static enum err pj_hex(struct buf *b, const char *key, const unsigned char *p, size_t n)
{
    char hex[2 * STORE_SHA256_BYTES + 1];
    enum err e;

    if (n > STORE_SHA256_BYTES)
        return ERR_INTERNAL;
    e = codec_hex_encode(hex, sizeof(hex), p, n);
    return e == ERR_OK ? pj_str(b, key, hex) : e;
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
    sqlite3_stmt *st;
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
    sqlite3_stmt *st = NULL;
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

/* Creates path's directory (one level, 0700) if missing and the file itself (0600). */
static enum err store_prepare_file(const char *path, char *errmsg, size_t errcap)
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
static enum err store_migrate(sqlite3 *db, char *errmsg, size_t errcap)
{
    enum err e = ERR_OK;

    for (;;) {
        int64_t version = 0;
        char what[64];

        e = conn_exec(db, "BEGIN IMMEDIATE", "cannot lock the database", errmsg, errcap);
        if (e != ERR_OK)
            return e;
        e = schema_check(db, &version, errmsg, errcap);
        if (e == ERR_OK && version == STORE_SCHEMA_VERSION)
            return conn_exec(db, "COMMIT", "cannot finish reading the database", errmsg, errcap);
        if (e == ERR_OK) {
            (void)snprintf(what, sizeof(what), "migration to schema version %d failed",
                           (int)version + 1);
            e = conn_exec(db, store_migrations[version], what, errmsg, errcap);
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

/* Returns 1 if s starts with a URL scheme followed by "://". */
static int has_url_scheme(const char *s)
{
    size_t i = 0;

    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
           (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.')
        i++;
    return strncmp(s + i, "://", 3) == 0;
}

/*
 * Opens the store (see store.h): parses the URL, prepares the file, opens the first
 * connection, switches to WAL and migrates. *out owns the store on success.
 */
enum err store_open(struct store **out, const char *url_or_path, char *errmsg, size_t errcap)
{
    struct store *s = NULL;
    struct conn *c = NULL;
    int64_t version = 0;
    const char *path;
    enum err e;

    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (!out)
        return err_msgf(ERR_INTERNAL, errmsg, errcap, "no output");
    *out = NULL;
    if (!url_or_path || !*url_or_path)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "no database path given");
    if (strncmp(url_or_path, "postgresql://", 13) == 0 ||
        strncmp(url_or_path, "postgres://", 11) == 0)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "PostgreSQL backend not yet available");
    path = url_or_path;
    if (strncmp(path, "sqlite:", 7) == 0)
        path += 7;
    else if (has_url_scheme(path))
        return err_msgf(ERR_CONFIG, errmsg, errcap,
                        "unsupported database URL (use a path, sqlite:PATH or postgresql://)");
    if (!*path || strcmp(path, ":memory:") == 0)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "the database must be a file path");
    if (strnlen(path, CONFIG_MAX_PATH) >= CONFIG_MAX_PATH)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "the database path is too long");
    if (!sqlite3_threadsafe())
        return err_msgf(ERR_STORAGE, errmsg, errcap, "SQLite was built without thread support");

    e = store_prepare_file(path, errmsg, errcap);
    if (e != ERR_OK)
        return e;
    s = mem_calloc(1, sizeof(*s));
    if (!s)
        return err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
    s->st_path = mem_strdup(path);
    if (!s->st_path) {
        mem_free(s);
        return err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
    }
    pthread_mutex_init(&s->st_pool_lock, NULL);
    pthread_cond_init(&s->st_pool_cond, NULL);
    pthread_mutex_init(&s->st_write_lock, NULL);

    e = conn_open(s, &c, errmsg, errcap);
    if (e == ERR_OK)
        e = schema_check(c->cn_db, &version, errmsg, errcap);
    if (e == ERR_OK)
        e = conn_set_wal(c->cn_db, errmsg, errcap);
    if (e == ERR_OK)
        e = store_migrate(c->cn_db, errmsg, errcap);
    if (e != ERR_OK) {
        conn_close(c);
        store_close(s);
        return e;
    }
    s->st_open = 1;
    s->st_idle = c;
    *out = s;
    return ERR_OK;
}

/* Closes every pooled connection and frees s (no operation may be in flight). */
void store_close(struct store *s)
{
    struct conn *c;

    if (!s)
        return;
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
    mem_free(s->st_path);
    mem_free(s);
}

/* Sets the clock (see store.h). */
void store_set_clock(struct store *s, int64_t (*fn)(void *arg), void *arg)
{
    s->st_clock = fn;
    s->st_clock_arg = arg;
}

/* Sets the commit hook (see store.h). */
void store_set_commit_hook(struct store *s,
                           void (*fn)(void *arg, const char *account, uint64_t last_seq), void *arg)
{
    s->st_hook = fn;
    s->st_hook_arg = arg;
}

/* Returns the account's last seq, 0 when unknown or on error. */
uint64_t store_last_seq(struct store *s, const char *account)
{
    struct conn *c;
    sqlite3_stmt *st;
    uint64_t seq = 0;
    enum err e;
    int row = 0;

    if (!s || !ok_upper(account) || op_begin(s, &c, OP_PLAIN) != ERR_OK)
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
        e = pj_str(&b, "kid", k->sk_kid);
    if (e == ERR_OK)
        e = pj_str(&b, "publicJwk", k->sk_public_jwk);
    if (e == ERR_OK)
        e = pj_int(&b, "createdAt", now);
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
    e = op_begin(s, &c, OP_WRITE);
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
            e = pj_str(&b, "id", a->ac_id);
        if (e == ERR_OK)
            e = pj_int(&b, "createdAt", now);
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
    e = op_begin(s, &c, OP_PLAIN);
    if (e != ERR_OK)
        return e;
    e = stmt_exists(c, ST_ACCOUNT_ANY, any, "");
    return op_end(s, c, e);
}

/* Reads an account (see store.h). */
enum err store_account_get(struct store *s, const char *id, struct store_account *out)
{
    struct conn *c;
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!s || !out || !ok_upper(id))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_PLAIN);
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
    e = op_begin(s, &c, OP_WRITE);
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
    sqlite3_stmt *st;
    size_t cnt = 0, cap = 0;
    enum err e;
    int row = 1;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!s || !out || !n || !ok_upper(account))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ);
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
    sqlite3_stmt *st;
    struct buf b;
    int64_t now, retired = 0;
    enum err e;
    int row = 0;

    if (!s || !ok_upper(account) || !ok_kid(kid))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE);
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
            e = pj_str(&b, "kid", kid);
            if (e == ERR_OK)
                e = pj_int(&b, "retiredAt", now);
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
static enum err vault_read(sqlite3_stmt *st, struct store_vault *v)
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
    enum err e = pj_str(b, "id", id);

    if (e == ERR_OK)
        e = pj_str(b, "type", type);
    if (e == ERR_OK)
        e = pj_b64(b, "attrs", attrs, attrs_len);
    if (e == ERR_OK)
        e = pj_int(b, "attributeVersion", (int64_t)attr_version);
    if (e == ERR_OK)
        e = pj_int(b, "contentVersion", (int64_t)content_version);
    if (e == ERR_OK)
        e = pj_int(b, "createdAt", created);
    if (e == ERR_OK)
        e = pj_int(b, "updatedAt", updated);
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
    e = op_begin(s, &c, OP_WRITE);
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
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!s || !out || !ok_upper(account) || !ok_lower(id))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_PLAIN);
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
    sqlite3_stmt *st;
    size_t cnt = 0, cap = 0;
    enum err e;
    int row = 1;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!s || !out || !n || !ok_upper(account))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ);
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
    sqlite3_stmt *st;
    struct buf b;
    uint64_t seq = 0;
    enum err e;
    int row = 0;

    if (attribute_version)
        *attribute_version = 0;
    if (!s || !ok_upper(account) || !ok_lower(id) || !ok_blob(attrs_ct, len))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE);
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
    sqlite3_stmt *st;
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
            e = pj_str(&b, "id", id);
        if (e == ERR_OK)
            e = pj_int(&b, "contentVersion", (int64_t)content_version);
        if (e == ERR_OK)
            e = pj_int(&b, "deletedAt", now);
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
            e = pj_str(&b, "server", servers[i]);
        if (e == ERR_OK)
            e = pj_str(&b, "vault", id);
        if (e == ERR_OK)
            e = pj_str(&b, "reason", "vaultDeleted");
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
    e = op_begin(s, &c, OP_WRITE);
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
    sqlite3_stmt *st;
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
        deleted = sqlite3_column_int(st, 1) != 0;
        created = col_i64(st, 2);
    }
    stmt_done(st);
    if (e != ERR_OK)
        return e;
    if (base_version && (!row || deleted || version != base_version))
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
            e = pj_str(&b, "id", it->it_id);
        if (e == ERR_OK)
            e = pj_str(&b, "vault", it->it_vault);
        if (e == ERR_OK)
            e = pj_int(&b, "version", (int64_t)version);
        if (e == ERR_OK)
            e = pj_int(&b, "vaultContentVersion", (int64_t)cv);
        if (e == ERR_OK)
            e = pj_str(&b, "state", it->it_state);
        if (e == ERR_OK)
            e = pj_str(&b, "category", it->it_category);
        if (e == ERR_OK)
            e = pj_b64(&b, "overview", it->it_overview, it->it_overview_len);
        if (e == ERR_OK)
            e = pj_b64(&b, "details", it->it_details, it->it_details_len);
        if (e == ERR_OK)
            e = pj_int(&b, "createdAt", created);
        if (e == ERR_OK)
            e = pj_int(&b, "updatedAt", now);
        if (e == ERR_OK)
            e = pj_str(&b, "lastEditedBy", it->it_last_edited_by);
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
    e = op_begin(s, &c, OP_WRITE);
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
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!s || !out || !ok_upper(account) || !ok_lower(vault) || !ok_lower(id))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_PLAIN);
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
    sqlite3_stmt *st;
    size_t cnt = 0, cap = 0;
    enum err e;
    int row = 1;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!s || !out || !n || !ok_upper(account) || !ok_lower(vault))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ);
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
static enum err item_page_row(sqlite3_stmt *st, const char *vault, struct store_item *it)
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
    sqlite3_stmt *st;
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
    e = op_begin(s, &c, OP_READ);
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
                from = sqlite3_column_int64(st, 0);
            stmt_done(st);
        }
    }
    /* one row more than the page: whether another follows, without a second query */
    if (e == ERR_OK)
        e = stmt_start(c, ST_ITEM_PAGE, &st, "ttii", account, vault, from, (int64_t)limit + 1);
    if (e == ERR_OK) {
        while (e == ERR_OK && (e = stmt_step(c, st, &row)) == ERR_OK && row) {
            row_bytes = (size_t)sqlite3_column_bytes(st, 4) + (size_t)sqlite3_column_bytes(st, 8);
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
    sqlite3_stmt *st;
    struct buf b;
    int64_t now;
    enum err e;
    int row = 0;

    if (!s || !ok_upper(account) || !ok_lower(vault) || !ok_lower(id) || !ok_editor(editor))
        return ERR_BAD_INPUT;
    if (!editor)
        editor = "";
    e = op_begin(s, &c, OP_WRITE);
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
            e = pj_str(&b, "id", id);
        if (e == ERR_OK)
            e = pj_str(&b, "vault", vault);
        if (e == ERR_OK)
            e = pj_int(&b, "version", (int64_t)version);
        if (e == ERR_OK)
            e = pj_int(&b, "vaultContentVersion", (int64_t)cv);
        if (e == ERR_OK)
            e = pj_int(&b, "updatedAt", now);
        if (e == ERR_OK)
            e = pj_str(&b, "lastEditedBy", editor);
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
    sqlite3_stmt *st;
    struct buf b;
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
        same = sqlite3_column_bytes(st, 1) == STORE_SHA256_BYTES &&
               memcmp(sqlite3_column_blob(st, 1), f->fi_sha256, STORE_SHA256_BYTES) == 0;
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
        e = pj_str(&b, "id", f->fi_id);
    if (e == ERR_OK)
        e = pj_str(&b, "vault", f->fi_vault);
    if (e == ERR_OK)
        e = pj_int(&b, "size", (int64_t)f->fi_size);
    if (e == ERR_OK)
        e = pj_hex(&b, "sha256", f->fi_sha256, STORE_SHA256_BYTES);
    if (e == ERR_OK)
        e = pj_int(&b, "createdAt", now);
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
    e = op_begin(s, &c, OP_WRITE);
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
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!s || !ok_upper(account) || !ok_lower(vault) || !ok_lower(id))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_PLAIN);
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
            if (sqlite3_column_bytes(st, 1) == STORE_SHA256_BYTES)
                memcpy(out->fi_sha256, sqlite3_column_blob(st, 1), STORE_SHA256_BYTES);
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
    e = op_begin(s, &c, OP_WRITE);
    if (e != ERR_OK)
        return e;
    now = store_now(s);
    e = stmt_run(c, ST_SERVER_INSERT, "tttttib", account, sv->se_id, sv->se_name, sv->se_sign_jwk,
                 sv->se_wrap_pub, now, sv->se_unlock_admin, sv->se_unlock_admin_len);
    if (e == ERR_OK) {
        e = pj_open(&b);
        if (e == ERR_OK)
            e = pj_str(&b, "id", sv->se_id);
        if (e == ERR_OK)
            e = pj_str(&b, "name", sv->se_name);
        if (e == ERR_OK)
            e = pj_int(&b, "createdAt", now);
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
static enum err server_read(sqlite3_stmt *st, struct store_server *sv)
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
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!s || !out || !ok_upper(account) || !ok_lower(id))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_PLAIN);
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
    sqlite3_stmt *st;
    size_t cnt = 0, cap = 0;
    enum err e;
    int row = 1;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!s || !out || !n || !ok_upper(account))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ);
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
    e = op_begin(s, &c, OP_WRITE);
    if (e != ERR_OK)
        return e;
    now = store_now(s);
    e = stmt_run(c, ST_SERVER_DELETE, "tt", account, id);
    if (e == ERR_OK && sqlite3_changes(c->cn_db) == 0)
        e = ERR_NOT_FOUND;
    if (e == ERR_OK)
        e = stmt_run(c, ST_SERVER_GRANTS_DELETE, "tt", account, id);
    if (e == ERR_OK)
        e = stmt_run(c, ST_SERVER_SESSIONS_DELETE, "tt", account, id);
    if (e == ERR_OK) {
        e = pj_open(&b);
        if (e == ERR_OK)
            e = pj_str(&b, "id", id);
        if (e == ERR_OK)
            e = pj_int(&b, "deletedAt", now);
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
        e = pj_str(&b, "server", g->gr_server);
    if (e == ERR_OK)
        e = pj_str(&b, "vault", g->gr_vault);
    if (e == ERR_OK)
        e = pj_b64(&b, "keyWrapped", g->gr_key_wrapped, g->gr_key_wrapped_len);
    if (e == ERR_OK)
        e = pj_int(&b, "createdAt", now);
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
    e = op_begin(s, &c, OP_WRITE);
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
    e = op_begin(s, &c, OP_WRITE);
    if (e != ERR_OK)
        return e;
    now = store_now(s);
    e = stmt_run(c, ST_GRANT_DELETE, "ttt", account, server, vault);
    if (e == ERR_OK && sqlite3_changes(c->cn_db) == 0)
        e = ERR_NOT_FOUND;
    if (e == ERR_OK) {
        e = pj_open(&b);
        if (e == ERR_OK)
            e = pj_str(&b, "server", server);
        if (e == ERR_OK)
            e = pj_str(&b, "vault", vault);
        if (e == ERR_OK)
            e = pj_str(&b, "reason", "revoked");
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
    sqlite3_stmt *st;
    size_t cnt = 0, cap = 0;
    enum err e;
    int row = 1;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!s || !out || !n || !ok_upper(account) || !ok_lower(owner))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ);
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
        e = pj_str(&b, "jti", t->tk_jti);
    if (e == ERR_OK)
        e = pj_str(&b, "name", t->tk_name);
    if (e == ERR_OK)
        e = pj_str(&b, "server", t->tk_server);
    if (e == ERR_OK)
        e = pj_str(&b, "vaults", t->tk_vaults_json);
    if (e == ERR_OK)
        e = pj_int(&b, "expiresAt", t->tk_expires_at);
    if (e == ERR_OK)
        e = pj_int(&b, "createdAt", now);
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
    e = op_begin(s, &c, OP_WRITE);
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
static enum err token_read(sqlite3_stmt *st, struct store_token *t)
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
    sqlite3_stmt *st;
    size_t cnt = 0, cap = 0;
    enum err e;
    int row = 1;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!s || !out || !n || !ok_upper(account) || (server && !ok_lower(server)))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ);
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
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!s || !out || !ok_upper(account) || !ok_lower(jti))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_PLAIN);
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
    sqlite3_stmt *st;
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
        e = pj_str(&b, "jti", jti);
    if (e == ERR_OK)
        e = pj_str(&b, "server", server);
    if (e == ERR_OK)
        e = pj_int(&b, "revokedAt", now);
    return pj_commit(c, now, account, &b, e, STORE_CHANGE_TOKEN_REVOKE, NULL, jti, server, NULL);
}

/* Revokes a token (see store.h). */
enum err store_token_revoke(struct store *s, const char *account, const char *jti)
{
    struct conn *c;
    enum err e;

    if (!s || !ok_upper(account) || !ok_lower(jti))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_WRITE);
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
static enum err change_read(sqlite3_stmt *st, struct store_change *ch)
{
    const unsigned char *kind;
    enum err e;
    int k;

    memset(ch, 0, sizeof(*ch));
    ch->ch_seq = col_u64(st, 0);
    kind = sqlite3_column_text(st, 1);
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
    struct store_change *v = NULL, *p;
    uint64_t last = 0;
    struct conn *c;
    sqlite3_stmt *st;
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
        since > (uint64_t)INT64_MAX || (server && !ok_lower(server)))
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_READ);
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
        e = server ? stmt_start(c, ST_CHANGES_SERVER, &st, "tuit", account, since, (int64_t)limit,
                                server)
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
    e = op_begin(s, &c, OP_WRITE);
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
    sqlite3_stmt *st;
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
    e = op_begin(s, &c, OP_READ);
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
    e = op_begin(s, &c, OP_WRITE);
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
    e = op_begin(s, &c, OP_WRITE);
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
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!s || !sha256 || !out)
        return ERR_BAD_INPUT;
    e = op_begin(s, &c, OP_PLAIN);
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
    e = op_begin(s, &c, OP_WRITE);
    if (e != ERR_OK)
        return e;
    e = stmt_run(c, ST_SESSION_PURGE, "i", store_now(s));
    if (e == ERR_OK)
        changed = sqlite3_changes(c->cn_db);
    e = op_end(s, c, e);
    if (e == ERR_OK && removed)
        *removed = changed > 0 ? (size_t)changed : 0;
    return e;
}

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
    else if (has_url_scheme(path))
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
