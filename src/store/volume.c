/*
 * volume.c - the Connect server's volume store (volume.h, docs/volume.md) on SQLite 3.40.
 *
 * DIR/sesame.db in WAL mode with synchronous=NORMAL (a copy of the hub: docs/volume.md), foreign
 * keys on, secure_delete on (erased ciphertext is overwritten, not left in free pages),
 * trusted_schema off, defensive mode, STRICT tables, constant SQL with bound values only - the
 * conventions of the hub store (store_sqlite.c), with its own application_id ("SESV").
 *
 * Connections: a pool of at most VOLUME_MAX_CONNECTIONS per handle, opened lazily, each
 * used by one thread at a time (SQLITE_OPEN_NOMUTEX) and caching its prepared statements.
 * In WAL mode the api's readers proceed while sync commits. Writes (a sync transaction,
 * a file content, an activity entry) are serialised by a process mutex held across
 * BEGIN IMMEDIATE ... COMMIT, and by SQLite's write lock against the other process.
 *
 * The change feed may deliver an item before its vault (the vault's earlier changes can be
 * superseded) and a vault before its grant, so mirrored rows are not tied by foreign keys:
 * deletions cascade in code, inside the same transaction, and reads serve only vaults that
 * have both a record and a grant.
 *
 * File contents live outside SQLite, under DIR/files/<vault>/<file>: written atomically
 * (mkostemp, fsync, rename, fsync of the directory) before being marked present; removed
 * after the commit that dropped their rows (a crash in between leaves orphans, which
 * volume_files_gc removes).
 */
#include "store/volume.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"

_Static_assert(VOLUME_SHA256_BYTES == HASH_SHA256_BYTES, "SHA-256 size");

/* ---- Schema ----------------------------------------------------------------------------- */

/*
 * Migration n (index n - 1) takes the database from user_version n - 1 to n and ends by
 * setting user_version itself, inside the same transaction. Never edit a released one.
 */
static const char *const volume_migrations[VOLUME_SCHEMA_VERSION] = {
    /* 1: the initial schema */
    "PRAGMA application_id = 1397052246;"
    "CREATE TABLE meta ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " account_id TEXT NOT NULL DEFAULT '',"
    " server_id TEXT NOT NULL DEFAULT '',"
    " hub_url TEXT NOT NULL DEFAULT '',"
    " last_seq INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0),"
    " last_sync_at INTEGER NOT NULL DEFAULT 0,"
    " server_deleted INTEGER NOT NULL DEFAULT 0 CHECK (server_deleted IN (0, 1)),"
    " generation INTEGER NOT NULL DEFAULT 0 CHECK (generation >= 0)"
    ") STRICT;"
    "INSERT INTO meta (id) VALUES (1);"
    "CREATE TABLE signing_keys ("
    " kid TEXT NOT NULL PRIMARY KEY,"
    " public_jwk TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " retired_at INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE TABLE tokens ("
    " jti TEXT NOT NULL PRIMARY KEY,"
    " server_id TEXT NOT NULL,"
    " vaults_json TEXT NOT NULL,"
    " expires_at INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL,"
    " revoked_at INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE TABLE grants ("
    " vault_id TEXT NOT NULL PRIMARY KEY,"
    " key_wrapped BLOB NOT NULL,"
    " created_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE vaults ("
    " id TEXT NOT NULL PRIMARY KEY,"
    " type TEXT NOT NULL,"
    " attrs_ct BLOB NOT NULL,"
    " attribute_version INTEGER NOT NULL CHECK (attribute_version >= 1),"
    " content_version INTEGER NOT NULL CHECK (content_version >= 1),"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE items ("
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
    " PRIMARY KEY (vault_id, id)"
    ") STRICT;"
    "CREATE TABLE files ("
    " vault_id TEXT NOT NULL,"
    " id TEXT NOT NULL,"
    " size INTEGER NOT NULL CHECK (size >= 0),"
    " sha256 BLOB NOT NULL CHECK (length(sha256) = 32),"
    " created_at INTEGER NOT NULL,"
    " present INTEGER NOT NULL DEFAULT 0 CHECK (present IN (0, 1)),"
    " PRIMARY KEY (vault_id, id)"
    ") STRICT;"
    "CREATE TABLE activity ("
    " id INTEGER PRIMARY KEY,"
    " entry_json TEXT NOT NULL,"
    " uploaded INTEGER NOT NULL DEFAULT 0 CHECK (uploaded IN (0, 1))"
    ") STRICT;"
    "CREATE INDEX activity_pending ON activity (id) WHERE uploaded = 0;"
    "PRAGMA user_version = 1;",
    /* 2: item changes in commit order (items.seq from meta.item_seq), so that the api
       takes only what changed since its last look; meta.item_epoch moves whenever item
       rows are removed (a vault dropped), which such a reader cannot see. A random start,
       so that a volume made again never repeats an epoch a reader has seen. */
    "ALTER TABLE meta ADD COLUMN item_seq INTEGER NOT NULL DEFAULT 0 CHECK (item_seq >= 0);"
    "ALTER TABLE meta ADD COLUMN item_epoch INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE items ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX items_by_seq ON items (seq);"
    "UPDATE meta SET item_epoch = abs(random() >> 2) WHERE id = 1;"
    "PRAGMA user_version = 2;",
};

/* ---- Statements ------------------------------------------------------------------------- */

enum stmt_id {
    ST_BEGIN,
    ST_BEGIN_WRITE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_META_GET,
    ST_META_IDENTITY,
    ST_META_SET_IDENTITY,
    ST_META_SET_SEQ,
    ST_META_SET_SYNC,
    ST_META_SET_DELETED,
    ST_META_BUMP,
    ST_META_SEQ,
    ST_META_GEN,
    ST_META_ITEM_SEQ,
    ST_META_ITEM_EPOCH,
    ST_CLEAR_GRANTS,
    ST_CLEAR_VAULTS,
    ST_CLEAR_ITEMS,
    ST_CLEAR_FILES,
    ST_SKEY_UPSERT,
    ST_SKEY_RETIRE,
    ST_SKEY_LIST,
    ST_SKEY_GET,
    ST_TOKEN_UPSERT,
    ST_TOKEN_REVOKE,
    ST_TOKEN_STATE,
    ST_TOKEN_GET,
    ST_GRANT_UPSERT,
    ST_GRANT_DELETE,
    ST_GRANT_LIST,
    ST_GRANT_GET,
    ST_VAULT_UPSERT,
    ST_VAULT_DELETE,
    ST_VAULT_ITEMS_DELETE,
    ST_VAULT_FILES_DELETE,
    ST_VAULT_BUMP,
    ST_VAULT_CV_AT_LEAST,
    ST_VAULT_LIST,
    ST_VAULT_RECORDS,
    ST_VAULT_GET,
    ST_VAULT_SERVED,
    ST_ITEM_UPSERT,
    ST_ITEM_DELETE,
    ST_ITEM_HEADS,
    ST_ITEM_CHANGES,
    ST_ITEM_LIST,
    ST_ITEM_GET,
    ST_FILE_STATE,
    ST_FILE_UPSERT,
    ST_FILE_PRESENT,
    ST_FILE_LIST,
    ST_FILE_GET,
    ST_ACT_INSERT,
    ST_ACT_COUNT,
    ST_FILES_MISSING,
    ST_ACT_PAGE,
    ST_ACT_PENDING,
    ST_ACT_MARK,
    ST_ACT_PRUNE,
    ST_ACT_BACKLOG,
    ST_META_SET_GEN,
    ST_FILE_PRESENT_ALL,
    ST_FILE_ABSENT,
    ST__COUNT
};

/* Turns a numeric limit into the text of a constant SQL statement. */
#define VOL_STRINGIFY2(x) #x
#define VOL_STRINGIFY(x)  VOL_STRINGIFY2(x)

#define VAULT_COLUMNS                                                                              \
    "v.id, v.type, v.attrs_ct, v.attribute_version, v.content_version,"                            \
    " (SELECT count(*) FROM items i WHERE i.vault_id = v.id AND i.deleted = 0),"                   \
    " v.created_at, v.updated_at"
/* the seq an item change takes (meta.item_seq is raised with it, in tx_item_change) */
#define NEXT_ITEM_SEQ "(SELECT item_seq + 1 FROM meta WHERE id = 1)"
#define SERVED_VAULT  "SELECT 1 FROM vaults v JOIN grants g ON g.vault_id = v.id WHERE v.id = ?1"

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_META_GET] = "SELECT account_id, server_id, hub_url, last_seq, last_sync_at,"
                    " server_deleted, generation, item_seq, item_epoch FROM meta WHERE id = 1",
    [ST_META_IDENTITY] = "SELECT account_id, server_id FROM meta WHERE id = 1",
    [ST_META_SET_IDENTITY] = "UPDATE meta SET account_id = ?1, server_id = ?2,"
                             " hub_url = coalesce(?3, hub_url) WHERE id = 1",
    [ST_META_SET_SEQ] = "UPDATE meta SET last_seq = ?1 WHERE id = 1",
    [ST_META_SET_SYNC] = "UPDATE meta SET last_sync_at = ?1 WHERE id = 1",
    [ST_META_SET_DELETED] = "UPDATE meta SET server_deleted = 1 WHERE id = 1"
                            " AND server_deleted = 0",
    [ST_META_BUMP] = "UPDATE meta SET generation = generation + 1 WHERE id = 1",
    [ST_META_SEQ] = "SELECT last_seq FROM meta WHERE id = 1",
    [ST_META_GEN] = "SELECT generation FROM meta WHERE id = 1",
    [ST_META_ITEM_SEQ] = "UPDATE meta SET item_seq = item_seq + 1 WHERE id = 1",
    [ST_META_ITEM_EPOCH] = "UPDATE meta SET item_epoch = item_epoch + 1 WHERE id = 1",
    [ST_CLEAR_GRANTS] = "DELETE FROM grants",
    [ST_CLEAR_VAULTS] = "DELETE FROM vaults",
    [ST_CLEAR_ITEMS] = "DELETE FROM items",
    [ST_CLEAR_FILES] = "DELETE FROM files",
    [ST_SKEY_UPSERT] =
        "INSERT INTO signing_keys (kid, public_jwk, created_at, retired_at)"
        " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (kid) DO UPDATE SET"
        " public_jwk = excluded.public_jwk, created_at = excluded.created_at,"
        " retired_at = CASE WHEN retired_at <> 0 THEN retired_at ELSE excluded.retired_at END"
        " WHERE public_jwk IS NOT excluded.public_jwk OR created_at <> excluded.created_at"
        " OR (retired_at = 0 AND excluded.retired_at <> 0)",
    [ST_SKEY_RETIRE] = "UPDATE signing_keys SET retired_at = ?2 WHERE kid = ?1 AND retired_at = 0",
    [ST_SKEY_LIST] = "SELECT kid, public_jwk, created_at, retired_at FROM signing_keys"
                     " ORDER BY rowid",
    [ST_SKEY_GET] = "SELECT kid, public_jwk, created_at, retired_at FROM signing_keys"
                    " WHERE kid = ?1",
    [ST_TOKEN_UPSERT] =
        "INSERT INTO tokens (jti, server_id, vaults_json, expires_at, created_at, revoked_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (jti) DO UPDATE SET"
        " server_id = excluded.server_id, vaults_json = excluded.vaults_json,"
        " expires_at = excluded.expires_at, created_at = excluded.created_at,"
        " revoked_at = CASE WHEN revoked_at <> 0 THEN revoked_at ELSE excluded.revoked_at END"
        " WHERE server_id IS NOT excluded.server_id OR vaults_json IS NOT excluded.vaults_json"
        " OR expires_at <> excluded.expires_at OR created_at <> excluded.created_at"
        " OR (revoked_at = 0 AND excluded.revoked_at <> 0)",
    [ST_TOKEN_REVOKE] =
        "INSERT INTO tokens (jti, server_id, vaults_json, expires_at, created_at, revoked_at)"
        " VALUES (?1, '', '[]', 0, 0, ?2) ON CONFLICT (jti) DO UPDATE SET"
        " revoked_at = excluded.revoked_at WHERE revoked_at = 0",
    [ST_TOKEN_STATE] = "SELECT t.revoked_at, t.expires_at, t.server_id, m.server_id,"
                       " m.server_deleted FROM meta m LEFT JOIN tokens t ON t.jti = ?1"
                       " WHERE m.id = 1",
    [ST_TOKEN_GET] = "SELECT jti, server_id, vaults_json, expires_at, created_at, revoked_at"
                     " FROM tokens WHERE jti = ?1",
    [ST_GRANT_UPSERT] = "INSERT INTO grants (vault_id, key_wrapped, created_at) VALUES (?1, ?2, ?3)"
                        " ON CONFLICT (vault_id) DO UPDATE SET key_wrapped = excluded.key_wrapped,"
                        " created_at = excluded.created_at"
                        " WHERE key_wrapped <> excluded.key_wrapped"
                        " OR created_at <> excluded.created_at",
    [ST_GRANT_DELETE] = "DELETE FROM grants WHERE vault_id = ?1",
    [ST_GRANT_LIST] = "SELECT vault_id, key_wrapped, created_at FROM grants ORDER BY rowid",
    [ST_GRANT_GET] = "SELECT vault_id, key_wrapped, created_at FROM grants WHERE vault_id = ?1",
    [ST_VAULT_UPSERT] =
        "INSERT INTO vaults (id, type, attrs_ct, attribute_version, content_version, created_at,"
        " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO UPDATE SET"
        " type = CASE WHEN excluded.attribute_version > attribute_version"
        " THEN excluded.type ELSE type END,"
        " attrs_ct = CASE WHEN excluded.attribute_version > attribute_version"
        " THEN excluded.attrs_ct ELSE attrs_ct END,"
        " attribute_version = max(attribute_version, excluded.attribute_version),"
        " content_version = max(content_version, excluded.content_version),"
        " updated_at = max(updated_at, excluded.updated_at),"
        " created_at = CASE WHEN created_at = 0 THEN excluded.created_at ELSE created_at END"
        " WHERE excluded.attribute_version > attribute_version"
        " OR excluded.content_version > content_version OR excluded.updated_at > updated_at"
        " OR (created_at = 0 AND excluded.created_at <> 0)",
    [ST_VAULT_DELETE] = "DELETE FROM vaults WHERE id = ?1",
    [ST_VAULT_ITEMS_DELETE] = "DELETE FROM items WHERE vault_id = ?1",
    [ST_VAULT_FILES_DELETE] = "DELETE FROM files WHERE vault_id = ?1",
    [ST_VAULT_CV_AT_LEAST] = "UPDATE vaults SET content_version = ?2 WHERE id = ?1"
                             " AND content_version < ?2",
    [ST_VAULT_BUMP] = "UPDATE vaults SET content_version = content_version + 1,"
                      " updated_at = max(updated_at, ?2) WHERE id = ?1",
    [ST_VAULT_RECORDS] =
        "SELECT v.id, v.type, v.attrs_ct, v.attribute_version, v.content_version, 0,"
        " v.created_at, v.updated_at FROM vaults v JOIN grants g ON g.vault_id = v.id"
        " ORDER BY v.rowid",
    [ST_VAULT_LIST] = "SELECT " VAULT_COLUMNS " FROM vaults v JOIN grants g ON g.vault_id = v.id"
                      " ORDER BY v.rowid",
    [ST_VAULT_GET] = "SELECT " VAULT_COLUMNS " FROM vaults v JOIN grants g ON g.vault_id = v.id"
                     " WHERE v.id = ?1",
    [ST_VAULT_SERVED] = SERVED_VAULT,
    [ST_ITEM_UPSERT] =
        "INSERT INTO items (vault_id, id, version, state, category, overview_ct, details_ct,"
        " created_at, updated_at, last_edited_by, deleted, seq)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, " NEXT_ITEM_SEQ ")"
        " ON CONFLICT (vault_id, id) DO UPDATE SET version = excluded.version,"
        " state = excluded.state, category = excluded.category,"
        " overview_ct = excluded.overview_ct, details_ct = excluded.details_ct,"
        " created_at = excluded.created_at, updated_at = excluded.updated_at,"
        " last_edited_by = excluded.last_edited_by, deleted = 0, seq = excluded.seq"
        " WHERE excluded.version > items.version",
    [ST_ITEM_DELETE] =
        "INSERT INTO items (vault_id, id, version, state, category, overview_ct, details_ct,"
        " created_at, updated_at, last_edited_by, deleted, seq)"
        " VALUES (?1, ?2, ?3, '', '', X'', X'', ?4, ?4, ?5, 1, " NEXT_ITEM_SEQ ")"
        " ON CONFLICT (vault_id, id) DO UPDATE SET version = excluded.version,"
        " overview_ct = X'', details_ct = X'', updated_at = excluded.updated_at,"
        " last_edited_by = excluded.last_edited_by, deleted = 1, seq = excluded.seq"
        " WHERE excluded.version > items.version",
    [ST_ITEM_HEADS] = "SELECT id, version, state, category, NULL, created_at, updated_at,"
                      " last_edited_by FROM items WHERE vault_id = ?1 AND deleted = 0"
                      " ORDER BY rowid",
    [ST_ITEM_CHANGES] = "SELECT i.id, i.version, i.state, i.category, i.overview_ct, i.created_at,"
                        " i.updated_at, i.last_edited_by, i.vault_id, i.deleted, i.seq"
                        " FROM items i WHERE i.seq > ?1 ORDER BY i.seq LIMIT ?2",
    [ST_ITEM_LIST] = "SELECT id, version, state, category, overview_ct, created_at, updated_at,"
                     " last_edited_by FROM items WHERE vault_id = ?1 AND deleted = 0"
                     " ORDER BY rowid",
    [ST_ITEM_GET] = "SELECT i.id, i.version, i.state, i.category, i.overview_ct, i.created_at,"
                    " i.updated_at, i.last_edited_by, i.details_ct FROM items i"
                    " JOIN vaults v ON v.id = i.vault_id JOIN grants g ON g.vault_id = i.vault_id"
                    " WHERE i.vault_id = ?1 AND i.id = ?2 AND i.deleted = 0",
    [ST_FILE_STATE] = "SELECT sha256, present FROM files WHERE vault_id = ?1 AND id = ?2",
    [ST_FILE_UPSERT] = "INSERT INTO files (vault_id, id, size, sha256, created_at, present)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, 0) ON CONFLICT (vault_id, id) DO UPDATE SET"
                       " size = excluded.size, created_at = excluded.created_at,"
                       " present = CASE WHEN sha256 = excluded.sha256 THEN present ELSE 0 END,"
                       " sha256 = excluded.sha256"
                       " WHERE sha256 <> excluded.sha256 OR size <> excluded.size"
                       " OR created_at <> excluded.created_at",
    [ST_FILE_PRESENT] = "UPDATE files SET present = 1 WHERE vault_id = ?1 AND id = ?2"
                        " AND sha256 = ?3",
    [ST_FILE_LIST] = "SELECT id, size, sha256, created_at, present FROM files WHERE vault_id = ?1"
                     " ORDER BY rowid",
    [ST_FILE_GET] = "SELECT f.id, f.size, f.sha256, f.created_at, f.present FROM files f"
                    " JOIN vaults v ON v.id = f.vault_id JOIN grants g ON g.vault_id = f.vault_id"
                    " WHERE f.vault_id = ?1 AND f.id = ?2",
    [ST_ACT_INSERT] = "INSERT INTO activity (entry_json, uploaded) VALUES (?1, 0) RETURNING id",
    [ST_ACT_COUNT] = "SELECT count(*) FROM activity",
    [ST_FILES_MISSING] = "SELECT count(*) FROM files WHERE present = 0",
    [ST_ACT_PAGE] = "SELECT id, entry_json, uploaded FROM activity ORDER BY id LIMIT ?1 OFFSET ?2",
    [ST_ACT_PENDING] = "SELECT id, entry_json, uploaded FROM activity WHERE uploaded = 0"
                       " ORDER BY id LIMIT ?1",
    [ST_ACT_MARK] = "UPDATE activity SET uploaded = 1 WHERE id BETWEEN ?1 AND ?2 AND uploaded = 0",
    [ST_ACT_PRUNE] = "DELETE FROM activity WHERE uploaded = 1 AND id <= (SELECT id FROM activity"
                     " ORDER BY id DESC LIMIT 1 OFFSET ?1)",
    /* from the oldest entry not uploaded to the newest (uploads go in id order): two index
       lookups, where a count of a backlog of a million entries took tens of ms */
    [ST_ACT_BACKLOG] = "SELECT coalesce((SELECT max(id) FROM activity) - (SELECT min(id) FROM"
                       " activity WHERE uploaded = 0) + 1, 0)",
    [ST_META_SET_GEN] = "UPDATE meta SET generation = ?1 WHERE id = 1",
    [ST_FILE_PRESENT_ALL] = "SELECT vault_id, id, sha256 FROM files WHERE present = 1"
                            " ORDER BY vault_id, id",
    [ST_FILE_ABSENT] = "UPDATE files SET present = 0 WHERE vault_id = ?1 AND id = ?2"
                       " AND sha256 = ?3 AND present = 1",
};

/* ---- The volume and its connections ----------------------------------------------------- */

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
};

struct volume {
    char *vo_dir;                  /* the data directory */
    char *vo_db_path;              /* dir/sesame.db */
    char *vo_files;                /* dir/files */
    pthread_mutex_t vo_pool_lock;  /* guards vo_idle and vo_open */
    pthread_cond_t vo_pool_cond;   /* signalled when a connection comes back */
    struct conn *vo_idle;          /* idle connections */
    size_t vo_open;                /* connections open or being opened */
    pthread_mutex_t vo_write_lock; /* held across each write (and a transaction's life) */
    int vo_corrupt;                /* atomic: SQLite reported the database damaged */
    int vo_file_corrupt;           /* atomic: a file content failed its SHA-256 check */
    int vo_no_space;               /* atomic: the last write failed for want of space */
    uint64_t vo_epoch;             /* atomic: 1, plus one per volume_rebuild */
};

/* A content to remove once the transaction that dropped its row has committed. */
struct cleanup {
    char cl_vault[ID_LEN + 1]; /* vault directory */
    char cl_file[ID_LEN + 1];  /* one file, or "" for the whole vault directory */
};

struct volume_tx {
    struct volume *tx_vol;    /* the volume */
    struct conn *tx_conn;     /* its connection, in BEGIN IMMEDIATE, write mutex held */
    enum err tx_err;          /* first error: the transaction is poisoned */
    int tx_dirty;             /* mirrored data changed: bump the generation */
    int tx_clean_all;         /* remove every content after the commit */
    struct cleanup *tx_clean; /* contents to remove after the commit */
    size_t tx_nclean;         /* entries of tx_clean */
    size_t tx_capclean;       /* room in tx_clean */
};

/*
 * Returns 1 when a failure of kind (0: space, 1: damage, 2: a file) should be logged now: at most
 * one line per kind every VOLUME_LOG_EVERY_S in this process, so that a full disk or a damaged
 * database read by every request and every watcher tick is not a flood.
 */
static int vol_log_due(int kind)
{
    static int64_t last[3];
    int64_t now = (int64_t)time(NULL), prev = __atomic_load_n(&last[kind], __ATOMIC_RELAXED);

    if (prev && now - prev < VOLUME_LOG_EVERY_S)
        return 0;
    return __atomic_compare_exchange_n(&last[kind], &prev, now, 0, __ATOMIC_RELAXED,
                                       __ATOMIC_RELAXED);
}

/* Returns the error of a SQLite result code for a full disk or a damaged file, else ERR_OK. */
static enum err db_fault(sqlite3 *db, int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return ERR_NO_SPACE;
    case SQLITE_IOERR:
        return db && sqlite3_system_errno(db) == ENOSPC ? ERR_NO_SPACE : ERR_OK;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return ERR_CORRUPT;
    default:
        return ERR_OK;
    }
}

/* Maps a SQLite result code to our error, logging the unexpected ones. */
static enum err db_error(sqlite3 *db, int rc, const char *what)
{
    enum err f = db_fault(db, rc);

    if (f == ERR_NO_SPACE) {
        if (vol_log_due(0))
            log_error("volume: %s: the disk is full (%s)", what, sqlite3_errstr(rc));
        return f;
    }
    if (f == ERR_CORRUPT) {
        if (vol_log_due(1))
            log_error("volume: %s: the database is damaged: %s", what,
                      db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        return f;
    }
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return ERR_NOMEM;
    case SQLITE_TOOBIG:
        return ERR_TOO_LARGE;
    default:
        log_error("volume: %s: %s (%s)", what, db ? sqlite3_errmsg(db) : "no connection",
                  sqlite3_errstr(rc));
        return ERR_STORAGE;
    }
}

/* Notes the outcome e of an operation of v (write: it wrote) in v's fault flags. */
static void vol_note(struct volume *v, enum err e, int write)
{
    if (e == ERR_CORRUPT)
        __atomic_store_n(&v->vo_corrupt, 1, __ATOMIC_RELEASE);
    else if (e == ERR_NO_SPACE)
        __atomic_store_n(&v->vo_no_space, 1, __ATOMIC_RELEASE);
    else if (e == ERR_OK && write)
        __atomic_store_n(&v->vo_no_space, 0, __ATOMIC_RELEASE);
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
 * size_t (a blob; length 0 binds an empty blob), 'i' int64_t, 'u' uint64_t (at most
 * INT64_MAX). The format must cover every parameter (ERR_INTERNAL otherwise).
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
        log_error("volume: %d value(s) bound to a statement of %d parameter(s)", i - 1,
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

/*
 * Runs statement id of c with the values of fmt to completion, ignoring rows; *changed
 * (may be NULL) receives 1 if it inserted, updated or deleted a row.
 */
static enum err stmt_run_va(struct conn *c, int *changed, enum stmt_id id, const char *fmt,
                            va_list ap)
{
    sqlite3_stmt *st;
    enum err e;
    int row = 1;

    if (changed)
        *changed = 0;
    e = stmt_get(c, id, &st);
    if (e != ERR_OK)
        return e;
    e = stmt_bind_va(c, st, fmt, ap);
    while (e == ERR_OK && row)
        e = stmt_step(c, st, &row);
    if (e == ERR_OK && changed)
        *changed = sqlite3_changes(c->cn_db) > 0;
    stmt_done(st);
    return e;
}

/* stmt_run_va without the change report. */
static enum err stmt_run(struct conn *c, enum stmt_id id, const char *fmt, ...)
{
    va_list ap;
    enum err e;

    va_start(ap, fmt);
    e = stmt_run_va(c, NULL, id, fmt, ap);
    va_end(ap);
    return e;
}

/* stmt_run_va with the change report. */
static enum err stmt_run_changed(struct conn *c, int *changed, enum stmt_id id, const char *fmt,
                                 ...)
{
    va_list ap;
    enum err e;

    va_start(ap, fmt);
    e = stmt_run_va(c, changed, id, fmt, ap);
    va_end(ap);
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

/* Column readers. */
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
        log_error("volume: a stored text is longer than its field (%d bytes)", n);
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

/* Copies a SHA-256 column into out; a stored digest of another length is corruption. */
static enum err col_sha256(sqlite3_stmt *st, int i, unsigned char out[VOLUME_SHA256_BYTES])
{
    const void *p = sqlite3_column_blob(st, i);

    if (!p || sqlite3_column_bytes(st, i) != VOLUME_SHA256_BYTES) {
        log_error("volume: a stored SHA-256 has the wrong length");
        return ERR_STORAGE;
    }
    memcpy(out, p, VOLUME_SHA256_BYTES);
    return ERR_OK;
}

/* Frees heap memory a record owns through a pointer-to-const member (volume.h). */
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

/* ---- Connections, pool, operations ------------------------------------------------------ */

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
        log_error("volume: closing a connection: %s", sqlite3_errstr(rc));
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
        e = db_fault(db, rc);
        if (e == ERR_OK)
            e = (rc & 0xff) == SQLITE_NOMEM ? ERR_NOMEM : ERR_STORAGE;
        (void)err_msgf(e, errmsg, errcap, "%s: %s", what, msg ? msg : sqlite3_errstr(rc));
        log_error("volume: %s: %s", what, msg ? msg : sqlite3_errstr(rc));
    }
    sqlite3_free(msg);
    return e;
}

/*
 * SQLite's busy handler: another process (sync or api) holds the write lock. SQLite's own
 * sqlite3_busy_timeout sleeps in growing steps (up to 100 ms), which turned a 2 ms wait for
 * the other process's commit into hundreds of milliseconds; this polls every
 * VOLUME_BUSY_POLL_US instead, for at most VOLUME_BUSY_TIMEOUT_MS. Returns 1 to retry.
 */
static int vol_on_busy(void *arg, int count)
{
    struct timespec ts = {0, VOLUME_BUSY_POLL_US * 1000L};

    (void)arg;
    if ((int64_t)count * VOLUME_BUSY_POLL_US >= (int64_t)VOLUME_BUSY_TIMEOUT_MS * 1000)
        return 0;
    (void)nanosleep(&ts, NULL);
    return 1;
}

/* Opens a new connection to v's database with the per-connection settings. */
static enum err conn_open(const struct volume *v, struct conn **out, char *errmsg, size_t errcap)
{
    static const char setup[] = "PRAGMA foreign_keys = ON;"
                                "PRAGMA synchronous = NORMAL;"
                                "PRAGMA secure_delete = ON;"
                                "PRAGMA trusted_schema = OFF;"
                                "PRAGMA journal_size_limit = 67108864;"
                                "PRAGMA cache_size = -" VOL_STRINGIFY(VOLUME_CACHE_KIB) ";";
    struct conn *c;
    enum err e = ERR_OK;
    int rc;

    *out = NULL;
    c = mem_calloc(1, sizeof(*c));
    if (!c)
        return err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
    rc = sqlite3_open_v2(v->vo_db_path, &c->cn_db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                             SQLITE_OPEN_EXRESCODE,
                         NULL);
    if (rc != SQLITE_OK) {
        e = err_msgf(ERR_STORAGE, errmsg, errcap, "cannot open the volume database %s: %s",
                     v->vo_db_path, c->cn_db ? sqlite3_errmsg(c->cn_db) : sqlite3_errstr(rc));
        goto out;
    }
    rc = sqlite3_busy_handler(c->cn_db, vol_on_busy, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(c->cn_db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    if (rc != SQLITE_OK) {
        e = err_msgf(ERR_STORAGE, errmsg, errcap, "cannot configure the volume database: %s",
                     sqlite3_errstr(rc));
        goto out;
    }
    e = conn_exec(c->cn_db, setup, "cannot use the volume database", errmsg, errcap);
out:
    if (e != ERR_OK) {
        conn_close(c);
        return e;
    }
    *out = c;
    return ERR_OK;
}

/* Takes an idle connection, opening one if the pool has room, else waits for one. */
static enum err conn_acquire(struct volume *v, struct conn **out)
{
    struct conn *c = NULL;
    enum err e;

    *out = NULL;
    pthread_mutex_lock(&v->vo_pool_lock);
    while (!v->vo_idle && v->vo_open >= VOLUME_MAX_CONNECTIONS)
        pthread_cond_wait(&v->vo_pool_cond, &v->vo_pool_lock);
    if (v->vo_idle) {
        c = v->vo_idle;
        v->vo_idle = c->cn_next;
        c->cn_next = NULL;
        pthread_mutex_unlock(&v->vo_pool_lock);
        *out = c;
        return ERR_OK;
    }
    v->vo_open++;
    pthread_mutex_unlock(&v->vo_pool_lock);
    e = conn_open(v, &c, NULL, 0);
    if (e != ERR_OK) {
        pthread_mutex_lock(&v->vo_pool_lock);
        v->vo_open--;
        pthread_cond_signal(&v->vo_pool_cond);
        pthread_mutex_unlock(&v->vo_pool_lock);
        return e;
    }
    *out = c;
    return ERR_OK;
}

static void conn_release(struct volume *v, struct conn *c)
{
    pthread_mutex_lock(&v->vo_pool_lock);
    c->cn_next = v->vo_idle;
    v->vo_idle = c;
    pthread_cond_signal(&v->vo_pool_cond);
    pthread_mutex_unlock(&v->vo_pool_lock);
}

/* Starts an operation: a connection, and for OP_READ / OP_WRITE a transaction. */
static enum err op_begin(struct volume *v, struct conn **out, enum op_mode mode)
{
    struct conn *c;
    enum err e;

    *out = NULL;
    e = conn_acquire(v, &c);
    if (e != ERR_OK)
        return e;
    c->cn_mode = mode;
    if (mode == OP_WRITE) {
        pthread_mutex_lock(&v->vo_write_lock);
        e = stmt_run(c, ST_BEGIN_WRITE, "");
        if (e != ERR_OK)
            pthread_mutex_unlock(&v->vo_write_lock);
    } else if (mode == OP_READ) {
        e = stmt_run(c, ST_BEGIN, "");
    }
    if (e != ERR_OK) {
        vol_note(v, e, 0);
        conn_release(v, c);
        return e;
    }
    *out = c;
    return ERR_OK;
}

/* Ends a transaction of c: commits when e is ERR_OK, else (or if that fails) rolls back. */
static enum err conn_finish(struct conn *c, enum err e)
{
    if (c->cn_mode != OP_PLAIN) {
        if (e == ERR_OK)
            e = stmt_run(c, ST_COMMIT, "");
        if (!sqlite3_get_autocommit(c->cn_db) && stmt_run(c, ST_ROLLBACK, "") != ERR_OK)
            log_error("volume: rollback failed");
    }
    return e;
}

/* Ends an operation begun with op_begin (conn_finish) and returns the connection. */
static enum err op_end(struct volume *v, struct conn *c, enum err e)
{
    e = conn_finish(c, e);
    vol_note(v, e, c->cn_mode == OP_WRITE);
    if (c->cn_mode == OP_WRITE)
        pthread_mutex_unlock(&v->vo_write_lock);
    conn_release(v, c);
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

/* A non-empty blob of at most VOLUME_MAX_BLOB_BYTES. */
static int ok_blob(const unsigned char *p, size_t n)
{
    return p && n > 0 && n <= VOLUME_MAX_BLOB_BYTES;
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
    for (i = 0; i <= VOLUME_KID_MAX && k[i]; i++) {
        char ch = k[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return i > 0 && i <= VOLUME_KID_MAX;
}

/* A version: 1..INT64_MAX. */
static int ok_version(uint64_t v)
{
    return v >= 1 && v <= (uint64_t)INT64_MAX;
}

/* ---- Paths and files -------------------------------------------------------------------- */

/* Writes "a/b" (b may be NULL: just a) into out of cap bytes; ERR_CONFIG if it does not fit. */
static enum err path_join(char *out, size_t cap, const char *a, const char *b, const char *c)
{
    int n;

    if (c)
        n = snprintf(out, cap, "%s/%s/%s", a, b, c);
    else if (b)
        n = snprintf(out, cap, "%s/%s", a, b);
    else
        n = snprintf(out, cap, "%s", a);
    return n < 0 || (size_t)n >= cap ? ERR_CONFIG : ERR_OK;
}

/* Creates directory path (0700) if missing; an existing one must be a directory. */
static enum err dir_ensure(const char *path, char *errmsg, size_t errcap)
{
    char ebuf[128];
    struct stat sb;

    if (mkdir(path, 0700) == 0)
        return ERR_OK;
    if (errno != EEXIST)
        return err_msgf(ERR_IO, errmsg, errcap, "cannot create the directory %s: %s", path,
                        strerror_r(errno, ebuf, sizeof(ebuf)));
    if (lstat(path, &sb) != 0)
        return err_msgf(ERR_IO, errmsg, errcap, "cannot read the directory %s: %s", path,
                        strerror_r(errno, ebuf, sizeof(ebuf)));
    if (!S_ISDIR(sb.st_mode))
        return err_msgf(ERR_IO, errmsg, errcap, "%s is not a directory", path);
    return ERR_OK;
}

/*
 * Creates the data directory and its missing parents (0700 each; existing ones are left as
 * they are, a symbolic link among them followed), and warns if the directory itself is
 * open to group or others.
 */
static enum err data_dir_ensure(const char *dir, char *errmsg, size_t errcap)
{
    char path[VOLUME_PATH_MAX], ebuf[128];
    struct stat sb;
    size_t i, len = strlen(dir);

    if (len >= sizeof(path))
        return err_msgf(ERR_CONFIG, errmsg, errcap, "the data directory path is too long");
    memcpy(path, dir, len + 1);
    for (i = 1; i < len; i++) {
        if (path[i] != '/' || path[i - 1] == '/')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            enum err e = err_msgf(ERR_IO, errmsg, errcap, "cannot create the directory %s: %s",
                                  path, strerror_r(errno, ebuf, sizeof(ebuf)));
            return e;
        }
        path[i] = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return err_msgf(ERR_IO, errmsg, errcap, "cannot create the directory %s: %s", path,
                        strerror_r(errno, ebuf, sizeof(ebuf)));
    if (stat(path, &sb) != 0)
        return err_msgf(ERR_IO, errmsg, errcap, "cannot read the directory %s: %s", path,
                        strerror_r(errno, ebuf, sizeof(ebuf)));
    if (!S_ISDIR(sb.st_mode))
        return err_msgf(ERR_IO, errmsg, errcap, "%s is not a directory", path);
    if (sb.st_mode & 077)
        log_warn("volume: the data directory %s is accessible to group or others (mode %04o)", path,
                 (unsigned)(sb.st_mode & 07777));
    return ERR_OK;
}

/* Creates the database file (0600) if missing; an existing one must be a regular file. */
static enum err db_file_prepare(const char *path, char *errmsg, size_t errcap)
{
    char ebuf[128];
    struct stat sb;
    int fd;

    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        (void)close(fd);
        return ERR_OK;
    }
    if (errno != EEXIST)
        return err_msgf(ERR_IO, errmsg, errcap, "cannot create the volume database %s: %s", path,
                        strerror_r(errno, ebuf, sizeof(ebuf)));
    if (lstat(path, &sb) != 0)
        return err_msgf(ERR_IO, errmsg, errcap, "cannot read the volume database %s: %s", path,
                        strerror_r(errno, ebuf, sizeof(ebuf)));
    if (!S_ISREG(sb.st_mode))
        return err_msgf(ERR_IO, errmsg, errcap, "the volume database %s is not a regular file",
                        path);
    if (sb.st_mode & 077)
        log_warn("volume: the database %s is accessible to group or others (mode %04o)", path,
                 (unsigned)(sb.st_mode & 07777));
    return ERR_OK;
}

/* fsyncs directory path, so that a rename or unlink in it is durable. */
static enum err dir_sync(const char *path)
{
    int fd, r;

    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ERR_IO;
    r = fsync(fd);
    (void)close(fd);
    return r == 0 ? ERR_OK : ERR_IO;
}

/* Writes n bytes of p to fd, retrying short writes and EINTR. */
static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/*
 * Removes every entry of directory path (not recursing: a vault directory holds only
 * files) and the directory itself; a missing directory is fine. Returns the number of
 * entries removed. Failures are logged: the caller has already committed.
 */
static size_t dir_remove(const char *path)
{
    struct dirent *de;
    char ebuf[128];
    size_t n = 0;
    DIR *d;

    d = opendir(path);
    if (!d) {
        if (errno != ENOENT)
            log_warn("volume: cannot open %s to remove it: %s", path,
                     strerror_r(errno, ebuf, sizeof(ebuf)));
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0)
            n++;
        else
            log_warn("volume: cannot remove a file content in %s: %s", path,
                     strerror_r(errno, ebuf, sizeof(ebuf)));
    }
    (void)closedir(d);
    if (rmdir(path) != 0 && errno != ENOENT)
        log_warn("volume: cannot remove %s: %s", path, strerror_r(errno, ebuf, sizeof(ebuf)));
    return n;
}

/* Removes one content file; a missing one is fine. */
static void file_remove(const struct volume *v, const char *vault, const char *id)
{
    char path[VOLUME_PATH_MAX], ebuf[128];

    if (path_join(path, sizeof(path), v->vo_files, vault, id) != ERR_OK)
        return;
    if (unlink(path) != 0 && errno != ENOENT)
        log_warn("volume: cannot remove %s: %s", path, strerror_r(errno, ebuf, sizeof(ebuf)));
}

/* Removes the contents a committed transaction dropped. */
static void tx_cleanup(struct volume_tx *tx)
{
    const struct volume *v = tx->tx_vol;
    char path[VOLUME_PATH_MAX];
    struct dirent *de;
    size_t i;
    DIR *d;

    if (tx->tx_clean_all) {
        d = opendir(v->vo_files);
        while (d && (de = readdir(d)) != NULL) {
            if (!id_is_valid(de->d_name))
                continue;
            if (path_join(path, sizeof(path), v->vo_files, de->d_name, NULL) == ERR_OK)
                (void)dir_remove(path);
        }
        if (d)
            (void)closedir(d);
    }
    for (i = 0; i < tx->tx_nclean; i++) {
        const struct cleanup *cl = &tx->tx_clean[i];
        if (cl->cl_file[0])
            file_remove(v, cl->cl_vault, cl->cl_file);
        else if (path_join(path, sizeof(path), v->vo_files, cl->cl_vault, NULL) == ERR_OK)
            (void)dir_remove(path);
    }
    if (tx->tx_clean_all || tx->tx_nclean)
        (void)dir_sync(v->vo_files);
}

/* ---- Opening ---------------------------------------------------------------------------- */

/* Reads one integer from a constant query ("PRAGMA user_version"). */
static enum err conn_query_int(sqlite3 *db, const char *sql, int64_t *out)
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
    return rc == SQLITE_OK ? ERR_OK : db_error(db, rc, sql);
}

/*
 * Switches the file to WAL (persistent) and checks that it took. Switching needs the file
 * to itself for a moment, and SQLite answers SQLITE_BUSY (or keeps the old mode) without
 * calling the busy handler while another process holds it - sync and api opening a fresh
 * volume together - so this retries every VOLUME_WAL_RETRY_MS within the busy timeout.
 */
static enum err conn_set_wal(sqlite3 *db, char *errmsg, size_t errcap)
{
    char mode[16] = "?";
    int rc = SQLITE_OK, waited;

    for (waited = 0;; waited += VOLUME_WAL_RETRY_MS) {
        sqlite3_stmt *st = NULL;
        const unsigned char *m;

        rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            m = sqlite3_column_text(st, 0);
            (void)snprintf(mode, sizeof(mode), "%s", m ? (const char *)m : "?");
        }
        (void)sqlite3_finalize(st);
        if (rc == SQLITE_ROW && strcmp(mode, "wal") == 0)
            return ERR_OK;
        if ((rc != SQLITE_ROW && (rc & 0xff) != SQLITE_BUSY) || waited >= VOLUME_BUSY_TIMEOUT_MS)
            break;
        (void)sqlite3_sleep(VOLUME_WAL_RETRY_MS);
    }
    if (rc != SQLITE_ROW)
        return err_msgf(ERR_STORAGE, errmsg, errcap,
                        "cannot switch the volume database to WAL mode: %s", sqlite3_errmsg(db));
    return err_msgf(ERR_STORAGE, errmsg, errcap,
                    "the volume database refused WAL mode (journal mode stays %s)", mode);
}

/*
 * Reads the schema version of db into *version and refuses a file that is not ours
 * (another application_id - the hub's included -, or tables without our id) or whose
 * schema is newer than this build. Changes nothing.
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
        return err_msgf(e, errmsg, errcap, "cannot read the volume database header (%s)",
                        sqlite3_errmsg(db));
    if (app != 0 && app != VOLUME_APPLICATION_ID)
        return err_msgf(ERR_STORAGE, errmsg, errcap,
                        "not a Sesame volume database (application_id %" PRId64 ")", app);
    if (*version < 0 || (*version > 0 && app != VOLUME_APPLICATION_ID) ||
        (*version == 0 && app == 0 && objects > 0))
        return err_msgf(ERR_STORAGE, errmsg, errcap,
                        "not a Sesame volume database (it holds other tables)");
    if (*version > VOLUME_SCHEMA_VERSION)
        return err_msgf(ERR_STORAGE, errmsg, errcap,
                        "the volume schema version %" PRId64
                        " is newer than this build supports (%d): upgrade Sesame",
                        *version, VOLUME_SCHEMA_VERSION);
    return ERR_OK;
}

/*
 * schema_check in one read transaction: the three header values must come from the same
 * snapshot, or another process's migration committing between two of them reads as "other
 * tables" (sync and api opening a fresh volume together).
 */
static enum err schema_check_snapshot(sqlite3 *db, int64_t *version, char *errmsg, size_t errcap)
{
    enum err e;

    *version = 0;
    e = conn_exec(db, "BEGIN", "cannot read the volume database", errmsg, errcap);
    if (e != ERR_OK)
        return e;
    e = schema_check(db, version, errmsg, errcap);
    if (e == ERR_OK)
        e = conn_exec(db, "COMMIT", "cannot read the volume database", errmsg, errcap);
    if (e != ERR_OK && !sqlite3_get_autocommit(db))
        (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return e;
}

/*
 * Brings the schema to VOLUME_SCHEMA_VERSION, one migration per transaction (BEGIN
 * IMMEDIATE, so that sync and api opening a fresh volume together do not both migrate;
 * the header is checked again inside it). A failed migration leaves the old version.
 */
static enum err volume_migrate(sqlite3 *db, char *errmsg, size_t errcap)
{
    enum err e;

    for (;;) {
        int64_t version = 0;
        char what[64];

        e = conn_exec(db, "BEGIN IMMEDIATE", "cannot lock the volume database", errmsg, errcap);
        if (e != ERR_OK)
            return e;
        e = schema_check(db, &version, errmsg, errcap);
        if (e == ERR_OK && version == VOLUME_SCHEMA_VERSION)
            return conn_exec(db, "COMMIT", "cannot finish reading the volume database", errmsg,
                             errcap);
        if (e == ERR_OK) {
            (void)snprintf(what, sizeof(what), "volume migration to schema version %d failed",
                           (int)version + 1);
            e = conn_exec(db, volume_migrations[version], what, errmsg, errcap);
            if (e == ERR_OK)
                e = conn_exec(db, "COMMIT", what, errmsg, errcap);
            if (e == ERR_OK)
                log_info("volume: database migrated to schema version %d", (int)version + 1);
        }
        if (e != ERR_OK) {
            if (!sqlite3_get_autocommit(db))
                (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return e;
        }
    }
}

/* Duplicates "a/b" into *out (heap). */
static enum err path_dup(char **out, const char *a, const char *b)
{
    char path[VOLUME_PATH_MAX];
    enum err e = path_join(path, sizeof(path), a, b, NULL);

    *out = NULL;
    if (e != ERR_OK)
        return e;
    *out = mem_strdup(path);
    return *out ? ERR_OK : ERR_NOMEM;
}

/*
 * Opens the volume (see volume.h): creates the directories and the database file, opens
 * the first connection, switches to WAL and migrates. *out owns the volume on success.
 */
enum err volume_open(struct volume **out, const char *dir, char *errmsg, size_t errcap)
{
    return volume_open_repair(out, dir, NULL, 0, errmsg, errcap);
}

/* volume_open, rebuilding a damaged database when aside is not NULL (see volume.h). */
enum err volume_open_repair(struct volume **out, const char *dir, char *aside, size_t asidecap,
                            char *errmsg, size_t errcap)
{
    struct volume *v = NULL;
    struct conn *c = NULL;
    int64_t version = 0;
    enum err e;

    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (!out)
        return err_msgf(ERR_INTERNAL, errmsg, errcap, "no output");
    *out = NULL;
    if (!dir || !*dir)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "no data directory given");
    if (strnlen(dir, CONFIG_MAX_PATH) >= CONFIG_MAX_PATH)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "the data directory path is too long");
    if (!sqlite3_threadsafe())
        return err_msgf(ERR_STORAGE, errmsg, errcap, "SQLite was built without thread support");

    v = mem_calloc(1, sizeof(*v));
    if (!v)
        return err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
    pthread_mutex_init(&v->vo_pool_lock, NULL);
    pthread_cond_init(&v->vo_pool_cond, NULL);
    pthread_mutex_init(&v->vo_write_lock, NULL);
    v->vo_dir = mem_strdup(dir);
    e = v->vo_dir ? ERR_OK : ERR_NOMEM;
    if (e == ERR_OK)
        e = path_dup(&v->vo_db_path, dir, VOLUME_DB_NAME);
    if (e == ERR_OK)
        e = path_dup(&v->vo_files, dir, VOLUME_FILES_DIR);
    if (e != ERR_OK) {
        e = err_msgf(e, errmsg, errcap,
                     e == ERR_NOMEM ? "out of memory" : "the data directory path is too long");
        goto out;
    }
    e = data_dir_ensure(dir, errmsg, errcap);
    if (e == ERR_OK)
        e = dir_ensure(v->vo_files, errmsg, errcap);
    if (e == ERR_OK)
        e = db_file_prepare(v->vo_db_path, errmsg, errcap);
    if (e == ERR_OK)
        e = conn_open(v, &c, errmsg, errcap);
    if (e == ERR_OK)
        e = schema_check_snapshot(c->cn_db, &version, errmsg, errcap);
    if (e == ERR_OK)
        e = conn_set_wal(c->cn_db, errmsg, errcap);
    if (e == ERR_OK)
        e = volume_migrate(c->cn_db, errmsg, errcap);
    if (e == ERR_CORRUPT && aside) {
        /* sync at start-up: keep the damaged file aside and start again from an empty one */
        char why[256];

        (void)snprintf(why, sizeof(why), "%s", errmsg && errcap ? errmsg : "");
        v->vo_open = c ? 1 : 0; /* the set-up of a connection itself may have failed */
        v->vo_idle = c;
        v->vo_epoch = 1;
        c = NULL;
        e = volume_rebuild(v, aside, asidecap, errmsg, errcap);
        if (e == ERR_OK) {
            log_error("volume: the database %s is damaged (%s): kept as %s; it is rebuilt from "
                      "the hub",
                      v->vo_db_path, why, aside[0] ? aside : "(no copy: see above)");
            *out = v;
            return ERR_OK;
        }
    }
out:
    if (e != ERR_OK) {
        conn_close(c);
        volume_close(v);
        return e;
    }
    v->vo_open = 1;
    v->vo_idle = c;
    v->vo_epoch = 1;
    *out = v;
    return ERR_OK;
}

/* Closes every pooled connection and frees v (no operation may be in flight). */
void volume_close(struct volume *v)
{
    struct conn *c, *i;
    size_t idle = 0;

    if (!v)
        return;
    pthread_mutex_lock(&v->vo_pool_lock);
    c = v->vo_idle;
    v->vo_idle = NULL;
    for (i = c; i; i = i->cn_next)
        idle++;
    if (idle != v->vo_open)
        log_error("volume: closed with %zu connection(s) still in use", v->vo_open - idle);
    pthread_mutex_unlock(&v->vo_pool_lock);
    while (c) {
        struct conn *next = c->cn_next;
        conn_close(c);
        c = next;
    }
    pthread_mutex_destroy(&v->vo_pool_lock);
    pthread_cond_destroy(&v->vo_pool_cond);
    pthread_mutex_destroy(&v->vo_write_lock);
    mem_free(v->vo_dir);
    mem_free(v->vo_db_path);
    mem_free(v->vo_files);
    mem_free(v);
}

/* ---- The write transaction -------------------------------------------------------------- */

/* Starts the write transaction of one batch (see volume.h). */
enum err volume_tx_begin(struct volume *v, struct volume_tx **tx)
{
    return volume_tx_begin_at(v, 0, tx);
}

/* Starts a write transaction unless v was rebuilt since epoch (see volume.h). */
enum err volume_tx_begin_at(struct volume *v, uint64_t epoch, struct volume_tx **tx)
{
    struct volume_tx *t;
    enum err e;

    if (tx)
        *tx = NULL;
    if (!v || !tx)
        return ERR_BAD_INPUT;
    t = mem_calloc(1, sizeof(*t));
    if (!t)
        return ERR_NOMEM;
    e = op_begin(v, &t->tx_conn, OP_WRITE);
    if (e != ERR_OK) {
        mem_free(t);
        return e;
    }
    /* under the write mutex: volume_rebuild cannot run between this check and the commit */
    if (epoch && __atomic_load_n(&v->vo_epoch, __ATOMIC_ACQUIRE) != epoch) {
        (void)op_end(v, t->tx_conn, ERR_CONFLICT);
        mem_free(t);
        return ERR_CONFLICT;
    }
    t->tx_vol = v;
    *tx = t;
    return ERR_OK;
}

/* Ends tx (commit when e is ERR_OK), removes dropped contents if committed, frees tx. */
static enum err tx_end(struct volume_tx *tx, enum err e)
{
    struct volume *v = tx->tx_vol;
    struct conn *c = tx->tx_conn;

    if (e == ERR_OK && tx->tx_dirty)
        e = stmt_run(c, ST_META_BUMP, "");
    e = conn_finish(c, e);
    vol_note(v, e, 1);
    /* Still under the write mutex: no content write of this process runs meanwhile. */
    if (e == ERR_OK)
        tx_cleanup(tx);
    pthread_mutex_unlock(&v->vo_write_lock);
    conn_release(v, c);
    mem_free(tx->tx_clean);
    mem_free(tx);
    return e;
}

/* Commits tx (see volume.h). */
enum err volume_tx_commit(struct volume_tx *tx)
{
    if (!tx)
        return ERR_BAD_INPUT;
    return tx_end(tx, tx->tx_err);
}

/* Rolls tx back (see volume.h). */
void volume_tx_rollback(struct volume_tx *tx)
{
    if (tx)
        (void)tx_end(tx, tx->tx_err != ERR_OK ? tx->tx_err : ERR_INTERNAL);
}

/* Returns the error that poisoned tx (ERR_BAD_INPUT for no tx), or ERR_OK. */
static enum err tx_check(const struct volume_tx *tx)
{
    return tx ? tx->tx_err : ERR_BAD_INPUT;
}

/* Records e as tx's error if it is the first, and returns it. */
static enum err tx_result(struct volume_tx *tx, enum err e)
{
    if (e != ERR_OK && tx->tx_err == ERR_OK)
        tx->tx_err = e;
    return e;
}

/* Queues a content (file id, or the whole vault when id is NULL) for removal after commit. */
static enum err tx_queue_cleanup(struct volume_tx *tx, const char *vault, const char *id)
{
    struct cleanup *p;

    p = array_room(tx->tx_clean, tx->tx_nclean, &tx->tx_capclean, sizeof(*p));
    if (!p)
        return ERR_NOMEM;
    tx->tx_clean = p;
    p = &tx->tx_clean[tx->tx_nclean++];
    memcpy(p->cl_vault, vault, ID_LEN + 1);
    if (id)
        memcpy(p->cl_file, id, ID_LEN + 1);
    else
        p->cl_file[0] = '\0';
    return ERR_OK;
}

/* Runs a mirrored-data statement in tx, noting whether it changed anything. */
static enum err tx_run(struct volume_tx *tx, enum stmt_id id, const char *fmt, ...)
{
    va_list ap;
    enum err e;
    int changed = 0;

    va_start(ap, fmt);
    e = stmt_run_va(tx->tx_conn, &changed, id, fmt, ap);
    va_end(ap);
    if (e == ERR_OK && changed)
        tx->tx_dirty = 1;
    return e;
}

/* Reads the stored identity into account and server (ID_LEN + 1 each, "" when unset). */
static enum err meta_identity(struct conn *c, char *account, char *server)
{
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    account[0] = server[0] = '\0';
    e = stmt_start(c, ST_META_IDENTITY, &st, "");
    if (e != ERR_OK)
        return e;
    e = stmt_step(c, st, &row);
    if (e == ERR_OK && !row) {
        log_error("volume: the meta row is missing");
        e = ERR_STORAGE;
    }
    if (e == ERR_OK)
        e = col_text_copy(st, 0, account, ID_LEN + 1);
    if (e == ERR_OK)
        e = col_text_copy(st, 1, server, ID_LEN + 1);
    stmt_done(st);
    return e;
}

/* Sets the volume's identity (see volume.h). */
enum err volume_tx_set_identity(struct volume_tx *tx, const char *account, const char *server,
                                const char *hub_url)
{
    char acc[ID_LEN + 1], srv[ID_LEN + 1];
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    if (!ok_upper(account) || !ok_lower(server) ||
        (hub_url && !ok_text(hub_url, VOLUME_URL_MAX_BYTES)))
        return tx_result(tx, ERR_BAD_INPUT);
    e = meta_identity(tx->tx_conn, acc, srv);
    if (e == ERR_OK &&
        ((acc[0] && strcmp(acc, account) != 0) || (srv[0] && strcmp(srv, server) != 0))) {
        log_error("volume: this volume mirrors another account or server");
        e = ERR_CONFLICT;
    }
    if (e == ERR_OK)
        e = stmt_run(tx->tx_conn, ST_META_SET_IDENTITY, "ttt", account, server, hub_url);
    return tx_result(tx, e);
}

/* Sets the last applied seq (see volume.h). */
enum err volume_tx_set_last_seq(struct volume_tx *tx, uint64_t seq)
{
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    if (seq > (uint64_t)INT64_MAX)
        return tx_result(tx, ERR_BAD_INPUT);
    return tx_result(tx, stmt_run(tx->tx_conn, ST_META_SET_SEQ, "u", seq));
}

/* Sets the last successful sync time (see volume.h). */
enum err volume_tx_set_sync_time(struct volume_tx *tx, int64_t at)
{
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    if (at < 0)
        return tx_result(tx, ERR_BAD_INPUT);
    return tx_result(tx, stmt_run(tx->tx_conn, ST_META_SET_SYNC, "i", at));
}

/* Drops every grant, vault, item and file of tx's volume; contents go after the commit. */
static enum err tx_drop_all(struct volume_tx *tx)
{
    enum err e = tx_run(tx, ST_CLEAR_GRANTS, "");

    if (e == ERR_OK)
        e = tx_run(tx, ST_CLEAR_VAULTS, "");
    if (e == ERR_OK)
        e = tx_run(tx, ST_CLEAR_ITEMS, "");
    if (e == ERR_OK)
        e = tx_run(tx, ST_CLEAR_FILES, "");
    if (e == ERR_OK)
        e = stmt_run(tx->tx_conn, ST_META_ITEM_EPOCH, ""); /* item rows gone: readers start over */
    if (e == ERR_OK)
        tx->tx_clean_all = 1;
    return e;
}

/* Marks the server deleted and drops its vaults (see volume.h). */
enum err volume_tx_set_server_deleted(struct volume_tx *tx)
{
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    e = tx_run(tx, ST_META_SET_DELETED, "");
    if (e == ERR_OK)
        e = tx_drop_all(tx);
    return tx_result(tx, e);
}

/* Drops every vault (see volume.h). */
enum err volume_tx_vaults_clear(struct volume_tx *tx)
{
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    return tx_result(tx, tx_drop_all(tx));
}

/* Creates or updates a signing key (see volume.h). */
enum err volume_tx_signing_key_put(struct volume_tx *tx, const struct volume_signing_key *k)
{
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    if (!k || !ok_kid(k->vk_kid) || !ok_text(k->vk_public_jwk, VOLUME_TEXT_MAX_BYTES) ||
        k->vk_retired_at < 0)
        return tx_result(tx, ERR_BAD_INPUT);
    return tx_result(tx, tx_run(tx, ST_SKEY_UPSERT, "ttii", k->vk_kid, k->vk_public_jwk,
                                k->vk_created_at, k->vk_retired_at));
}

/* Retires a signing key (see volume.h). */
enum err volume_tx_signing_key_retire(struct volume_tx *tx, const char *kid, int64_t retired_at)
{
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    if (!ok_kid(kid) || retired_at <= 0)
        return tx_result(tx, ERR_BAD_INPUT);
    return tx_result(tx, tx_run(tx, ST_SKEY_RETIRE, "ti", kid, retired_at));
}

/* Creates or updates a token (see volume.h). */
enum err volume_tx_token_put(struct volume_tx *tx, const struct volume_token *t)
{
    char acc[ID_LEN + 1], srv[ID_LEN + 1];
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    if (!t || !ok_lower(t->vt_jti) || !ok_lower(t->vt_server) ||
        !ok_text(t->vt_vaults_json, VOLUME_JSON_MAX_BYTES) || t->vt_expires_at < 0 ||
        t->vt_revoked_at < 0)
        return tx_result(tx, ERR_BAD_INPUT);
    e = meta_identity(tx->tx_conn, acc, srv);
    if (e == ERR_OK && srv[0] && strcmp(srv, t->vt_server) != 0)
        e = ERR_BAD_INPUT;
    if (e == ERR_OK)
        e = tx_run(tx, ST_TOKEN_UPSERT, "tttiii", t->vt_jti, t->vt_server, t->vt_vaults_json,
                   t->vt_expires_at, t->vt_created_at, t->vt_revoked_at);
    return tx_result(tx, e);
}

/* Revokes a token (see volume.h). */
enum err volume_tx_token_revoke(struct volume_tx *tx, const char *jti, int64_t revoked_at)
{
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    if (!ok_lower(jti) || revoked_at <= 0)
        return tx_result(tx, ERR_BAD_INPUT);
    return tx_result(tx, tx_run(tx, ST_TOKEN_REVOKE, "ti", jti, revoked_at));
}

/* Creates or replaces a grant (see volume.h). */
enum err volume_tx_grant_put(struct volume_tx *tx, const struct volume_grant *g)
{
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    if (!g || !ok_lower(g->vg_vault) || !ok_blob(g->vg_key_wrapped, g->vg_key_wrapped_len))
        return tx_result(tx, ERR_BAD_INPUT);
    return tx_result(tx, tx_run(tx, ST_GRANT_UPSERT, "tbi", g->vg_vault, g->vg_key_wrapped,
                                g->vg_key_wrapped_len, g->vg_created_at));
}

/* Drops a vault with its grant, items and files; its contents go after the commit. */
static enum err tx_drop_vault(struct volume_tx *tx, const char *vault)
{
    enum err e = tx_run(tx, ST_GRANT_DELETE, "t", vault);

    if (e == ERR_OK)
        e = tx_run(tx, ST_VAULT_DELETE, "t", vault);
    if (e == ERR_OK)
        e = tx_run(tx, ST_VAULT_ITEMS_DELETE, "t", vault);
    if (e == ERR_OK)
        e = tx_run(tx, ST_VAULT_FILES_DELETE, "t", vault);
    if (e == ERR_OK)
        e = stmt_run(tx->tx_conn, ST_META_ITEM_EPOCH, ""); /* item rows gone: readers start over */
    if (e == ERR_OK)
        e = tx_queue_cleanup(tx, vault, NULL);
    return e;
}

/* Removes a grant and its vault (see volume.h). */
enum err volume_tx_grant_delete(struct volume_tx *tx, const char *vault)
{
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    if (!ok_lower(vault))
        return tx_result(tx, ERR_BAD_INPUT);
    return tx_result(tx, tx_drop_vault(tx, vault));
}

/* Creates or updates a vault (see volume.h). */
enum err volume_tx_vault_put(struct volume_tx *tx, const struct volume_vault *vv)
{
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    if (!vv || !ok_lower(vv->vv_id) || !ok_word(vv->vv_type, VOLUME_TYPE_MAX, 0) ||
        !ok_blob(vv->vv_attrs_ct, vv->vv_attrs_ct_len) || !ok_version(vv->vv_attribute_version) ||
        !ok_version(vv->vv_content_version))
        return tx_result(tx, ERR_BAD_INPUT);
    return tx_result(tx, tx_run(tx, ST_VAULT_UPSERT, "ttbuuii", vv->vv_id, vv->vv_type,
                                vv->vv_attrs_ct, vv->vv_attrs_ct_len, vv->vv_attribute_version,
                                vv->vv_content_version, vv->vv_created_at, vv->vv_updated_at));
}

/* Removes a vault (see volume.h). */
enum err volume_tx_vault_delete(struct volume_tx *tx, const char *vault)
{
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    if (!ok_lower(vault))
        return tx_result(tx, ERR_BAD_INPUT);
    return tx_result(tx, tx_drop_vault(tx, vault));
}

/* Raises a vault's content version. See volume.h. */
enum err volume_tx_vault_content_at_least(struct volume_tx *tx, const char *vault, uint64_t cv)
{
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    if (!vault || !id_is_valid(vault) || !ok_version(cv))
        return ERR_BAD_INPUT;
    e = stmt_run(tx->tx_conn, ST_VAULT_CV_AT_LEAST, "ti", vault, (int64_t)cv);
    if (e == ERR_OK)
        tx->tx_dirty = 1;
    return tx_result(tx, e);
}

/* Runs an item change; if it applied, bumps the vault's content version. */
static enum err tx_item_change(struct volume_tx *tx, const char *vault, int64_t updated_at,
                               enum stmt_id id, const char *fmt, ...)
{
    va_list ap;
    enum err e;
    int changed = 0;

    va_start(ap, fmt);
    e = stmt_run_va(tx->tx_conn, &changed, id, fmt, ap);
    va_end(ap);
    if (e == ERR_OK && changed) {
        tx->tx_dirty = 1;
        e = stmt_run(tx->tx_conn, ST_META_ITEM_SEQ, ""); /* the seq the row just took */
        if (e == ERR_OK)
            e = stmt_run(tx->tx_conn, ST_VAULT_BUMP, "ti", vault, updated_at);
    }
    return e;
}

/* Creates or replaces an item if newer (see volume.h). */
enum err volume_tx_item_put(struct volume_tx *tx, const struct volume_item *it)
{
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    if (!it || !ok_lower(it->vi_id) || !ok_lower(it->vi_vault) || !ok_version(it->vi_version) ||
        !ok_word(it->vi_state, VOLUME_STATE_MAX, 1) ||
        !ok_word(it->vi_category, VOLUME_CATEGORY_MAX, 0) ||
        !ok_blob(it->vi_overview, it->vi_overview_len) ||
        !ok_blob(it->vi_details, it->vi_details_len) || !ok_editor(it->vi_last_edited_by))
        return tx_result(tx, ERR_BAD_INPUT);
    e = tx_item_change(tx, it->vi_vault, it->vi_updated_at, ST_ITEM_UPSERT, "ttuttbbiit",
                       it->vi_vault, it->vi_id, it->vi_version, it->vi_state, it->vi_category,
                       it->vi_overview, it->vi_overview_len, it->vi_details, it->vi_details_len,
                       it->vi_created_at, it->vi_updated_at, it->vi_last_edited_by);
    return tx_result(tx, e);
}

/* Deletes an item if newer (see volume.h). */
enum err volume_tx_item_delete(struct volume_tx *tx, const char *vault, const char *id,
                               uint64_t version, int64_t updated_at, const char *editor)
{
    enum err e = tx_check(tx);

    if (e != ERR_OK)
        return e;
    if (!ok_lower(vault) || !ok_lower(id) || !ok_version(version) || !ok_editor(editor))
        return tx_result(tx, ERR_BAD_INPUT);
    e = tx_item_change(tx, vault, updated_at, ST_ITEM_DELETE, "ttuit", vault, id, version,
                       updated_at, editor ? editor : "");
    return tx_result(tx, e);
}

/* Records a file's metadata (see volume.h). */
enum err volume_tx_file_put(struct volume_tx *tx, const struct volume_file *f)
{
    unsigned char old[VOLUME_SHA256_BYTES];
    struct conn *c;
    sqlite3_stmt *st;
    enum err e = tx_check(tx);
    int row = 0;

    if (e != ERR_OK)
        return e;
    if (!f || !ok_lower(f->vf_id) || !ok_lower(f->vf_vault) || f->vf_size > (uint64_t)INT64_MAX)
        return tx_result(tx, ERR_BAD_INPUT);
    c = tx->tx_conn;
    e = stmt_start(c, ST_FILE_STATE, &st, "tt", f->vf_vault, f->vf_id);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && row)
            e = col_sha256(st, 0, old);
        stmt_done(st);
    }
    if (e == ERR_OK)
        e = tx_run(tx, ST_FILE_UPSERT, "ttubi", f->vf_vault, f->vf_id, f->vf_size, f->vf_sha256,
                   (size_t)VOLUME_SHA256_BYTES, f->vf_created_at);
    /* Another digest under the same id: the old content must not outlive its row. */
    if (e == ERR_OK && row && memcmp(old, f->vf_sha256, VOLUME_SHA256_BYTES) != 0)
        e = tx_queue_cleanup(tx, f->vf_vault, f->vf_id);
    return tx_result(tx, e);
}

/* ---- File contents ---------------------------------------------------------------------- */

/* Reads the recorded digest and presence of file (vault, id) in c. ERR_NOT_FOUND if none. */
static enum err file_state(struct conn *c, const char *vault, const char *id,
                           unsigned char sha[VOLUME_SHA256_BYTES], int *present)
{
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    *present = 0;
    e = stmt_start(c, ST_FILE_STATE, &st, "tt", vault, id);
    if (e != ERR_OK)
        return e;
    e = stmt_step(c, st, &row);
    if (e == ERR_OK && !row)
        e = ERR_NOT_FOUND;
    if (e == ERR_OK) {
        e = col_sha256(st, 0, sha);
        *present = sqlite3_column_int(st, 1) != 0;
    }
    stmt_done(st);
    return e;
}

/*
 * Writes data to dir/<id> atomically: a temporary file in dir (mkostemp: 0600, O_EXCL),
 * fsync, rename, fsync of dir. The temporary file is removed on any failure.
 */
static enum err content_write(const char *dir, const char *id, const unsigned char *data,
                              size_t len)
{
    char tmp[VOLUME_PATH_MAX], final[VOLUME_PATH_MAX], ebuf[128];
    enum err e = ERR_OK;
    int fd, n;

    n = snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, id);
    if (n < 0 || (size_t)n >= sizeof(tmp) || path_join(final, sizeof(final), dir, id, NULL))
        return ERR_IO;
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        e = errno == ENOSPC || errno == EDQUOT ? ERR_NO_SPACE : ERR_IO;
        if (e != ERR_NO_SPACE || vol_log_due(0))
            log_error("volume: cannot create a file in %s: %s", dir,
                      strerror_r(errno, ebuf, sizeof(ebuf)));
        return e;
    }
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        e = errno == ENOSPC || errno == EDQUOT ? ERR_NO_SPACE : ERR_IO;
        if (e != ERR_NO_SPACE || vol_log_due(0))
            log_error("volume: cannot write %s: %s", tmp, strerror_r(errno, ebuf, sizeof(ebuf)));
    }
    if (close(fd) != 0 && e == ERR_OK) {
        e = errno == ENOSPC || errno == EDQUOT ? ERR_NO_SPACE : ERR_IO;
        log_error("volume: cannot write %s: %s", tmp, strerror_r(errno, ebuf, sizeof(ebuf)));
    }
    if (e == ERR_OK && rename(tmp, final) != 0) {
        log_error("volume: cannot rename %s: %s", tmp, strerror_r(errno, ebuf, sizeof(ebuf)));
        e = ERR_IO;
    }
    if (e != ERR_OK) {
        (void)unlink(tmp);
        return e;
    }
    if (dir_sync(dir) != ERR_OK) {
        log_error("volume: cannot sync %s", dir);
        return ERR_IO;
    }
    return ERR_OK;
}

/* Stores a file's ciphertext (see volume.h). */
enum err volume_file_content_put(struct volume *v, const char *vault, const char *id,
                                 const unsigned char *data, size_t len)
{
    unsigned char want[VOLUME_SHA256_BYTES], got[VOLUME_SHA256_BYTES];
    char dir[VOLUME_PATH_MAX];
    struct conn *c;
    enum err e;
    int present = 0, changed = 0, written = 0, created;

    if (!v || !ok_lower(vault) || !ok_lower(id) || !data || len == 0)
        return ERR_BAD_INPUT;
    if (len > VOLUME_MAX_FILE_BYTES)
        return ERR_TOO_LARGE;
    e = hash_sha256(got, data, len);
    if (e != ERR_OK)
        return e;
    if (path_join(dir, sizeof(dir), v->vo_files, vault, NULL) != ERR_OK)
        return ERR_IO;
    /* Under the write mutex: no transaction of this process removes contents meanwhile. */
    e = conn_acquire(v, &c);
    if (e != ERR_OK)
        return e;
    c->cn_mode = OP_PLAIN;
    pthread_mutex_lock(&v->vo_write_lock);
    e = file_state(c, vault, id, want, &present);
    if (e == ERR_OK && !crypto_memeq(want, got, VOLUME_SHA256_BYTES))
        e = ERR_BAD_INPUT;
    if (e == ERR_OK) {
        created = mkdir(dir, 0700) == 0;
        if (!created && errno != EEXIST)
            e = errno == ENOSPC || errno == EDQUOT ? ERR_NO_SPACE : ERR_IO;
        if (created && dir_sync(v->vo_files) != ERR_OK)
            e = ERR_IO;
    }
    if (e == ERR_OK)
        e = content_write(dir, id, data, len);
    written = e == ERR_OK;
    if (e == ERR_OK) {
        e = stmt_run(c, ST_BEGIN_WRITE, "");
        if (e == ERR_OK)
            c->cn_mode = OP_WRITE;
    }
    if (e == ERR_OK)
        e = stmt_run_changed(c, &changed, ST_FILE_PRESENT, "ttb", vault, id, want,
                             (size_t)VOLUME_SHA256_BYTES);
    if (e == ERR_OK && !changed)
        e = ERR_NOT_FOUND; /* the row went away (or changed digest) since it was read */
    if (e == ERR_OK && !present)
        e = stmt_run(c, ST_META_BUMP, "");
    e = conn_finish(c, e);
    vol_note(v, e, 1);
    if (e != ERR_OK && written && !present)
        file_remove(v, vault, id);
    pthread_mutex_unlock(&v->vo_write_lock);
    conn_release(v, c);
    return e;
}

/* Reads the meta of a served file into *f (ERR_NOT_FOUND if none). */
static enum err file_get(struct conn *c, const char *vault, const char *id, struct volume_file *f)
{
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    memset(f, 0, sizeof(*f));
    e = stmt_start(c, ST_FILE_GET, &st, "tt", vault, id);
    if (e != ERR_OK)
        return e;
    e = stmt_step(c, st, &row);
    if (e == ERR_OK && !row)
        e = ERR_NOT_FOUND;
    if (e == ERR_OK) {
        memcpy(f->vf_vault, vault, ID_LEN + 1);
        e = col_text_copy(st, 0, f->vf_id, sizeof(f->vf_id));
        f->vf_size = col_u64(st, 1);
        if (e == ERR_OK)
            e = col_sha256(st, 2, f->vf_sha256);
        f->vf_created_at = col_i64(st, 3);
        f->vf_present = sqlite3_column_int(st, 4) != 0;
        if (e == ERR_OK && strcmp(f->vf_id, id) != 0) {
            log_error("volume: reading file %s of vault %s found another row", id, vault);
            e = ERR_CORRUPT;
        }
    }
    stmt_done(st);
    if (e != ERR_OK)
        memset(f, 0, sizeof(*f));
    return e;
}

/*
 * Reads the content file path (a regular file, symbolic links not followed, at most
 * VOLUME_MAX_FILE_BYTES) into *data / *len (heap). ERR_NOT_FOUND when it is missing,
 * ERR_CORRUPT when it is not a regular file or too large, ERR_IO, ERR_NOMEM.
 */
static enum err content_load(const char *path, unsigned char **data, size_t *len)
{
    unsigned char *buf = NULL;
    struct stat sb;
    size_t n = 0, size;
    enum err e = ERR_OK;
    int fd;

    *data = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? ERR_NOT_FOUND : errno == ELOOP ? ERR_CORRUPT : ERR_IO;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
        (uint64_t)sb.st_size > VOLUME_MAX_FILE_BYTES) {
        e = ERR_CORRUPT;
        goto out;
    }
    size = (size_t)sb.st_size;
    buf = mem_alloc(size ? size : 1);
    if (!buf) {
        e = ERR_NOMEM;
        goto out;
    }
    while (n < size) {
        ssize_t r = read(fd, buf + n, size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    if (n != size)
        e = ERR_IO;
out:
    (void)close(fd);
    if (e != ERR_OK) {
        mem_free(buf);
        return e;
    }
    *data = buf;
    *len = n;
    return ERR_OK;
}

/*
 * Checks the content of file vault/id against sha: ERR_OK when it is there and matches,
 * ERR_CORRUPT when it is missing, damaged or another file's, else the error of
 * content_load. With data, the verified content is handed over (heap).
 */
static enum err content_verify(const struct volume *v, const char *vault, const char *id,
                               const unsigned char sha[VOLUME_SHA256_BYTES], unsigned char **data,
                               size_t *len)
{
    unsigned char got[VOLUME_SHA256_BYTES], *buf = NULL;
    char path[VOLUME_PATH_MAX];
    size_t n = 0;
    enum err e;

    if (data)
        *data = NULL;
    if (len)
        *len = 0;
    if (path_join(path, sizeof(path), v->vo_files, vault, id) != ERR_OK)
        return ERR_IO;
    e = content_load(path, &buf, &n);
    if (e == ERR_NOT_FOUND)
        e = ERR_CORRUPT;
    if (e == ERR_OK)
        e = hash_sha256(got, buf, n);
    if (e == ERR_OK && !crypto_memeq(got, sha, VOLUME_SHA256_BYTES))
        e = ERR_CORRUPT;
    if (e != ERR_OK || !data) {
        mem_free(buf);
        return e;
    }
    *data = buf;
    *len = n;
    return ERR_OK;
}

/* Reads and verifies a file's ciphertext (see volume.h). */
enum err volume_file_read(struct volume *v, const char *vault, const char *id, unsigned char **data,
                          size_t *len)
{
    struct volume_file f;
    struct conn *c;
    enum err e;

    if (data)
        *data = NULL;
    if (len)
        *len = 0;
    if (!v || !data || !len || !ok_lower(vault) || !ok_lower(id))
        return ERR_BAD_INPUT;
    e = op_begin(v, &c, OP_PLAIN);
    if (e != ERR_OK)
        return e;
    e = file_get(c, vault, id, &f);
    e = op_end(v, c, e);
    if (e != ERR_OK)
        return e;
    if (!f.vf_present)
        return ERR_NOT_READY;
    e = content_verify(v, vault, id, f.vf_sha256, data, len);
    if (e == ERR_CORRUPT) {
        /* sync fetches it again (volume_files_verify); never wrong bytes meanwhile */
        if (vol_log_due(2))
            log_error("volume: the content of file %s of vault %s is missing or damaged "
                      "(SHA-256 mismatch)",
                      id, vault);
        __atomic_store_n(&v->vo_file_corrupt, 1, __ATOMIC_RELEASE);
    } else if (e != ERR_OK && e != ERR_NOMEM) {
        log_error("volume: cannot read the content of file %s of vault %s (%s)", id, vault,
                  err_name(e));
    }
    return e;
}

/* Removes crash leftovers under dir/files (see volume.h). */
enum err volume_files_gc(struct volume *v, size_t *removed)
{
    unsigned char sha[VOLUME_SHA256_BYTES];
    char path[VOLUME_PATH_MAX];
    struct dirent *de, *fe;
    DIR *top = NULL, *d;
    struct conn *c;
    size_t count = 0;
    enum err e;
    int present;

    if (removed)
        *removed = 0;
    if (!v)
        return ERR_BAD_INPUT;
    e = conn_acquire(v, &c);
    if (e != ERR_OK)
        return e;
    c->cn_mode = OP_PLAIN;
    pthread_mutex_lock(&v->vo_write_lock);
    top = opendir(v->vo_files);
    if (!top) {
        e = ERR_IO;
        goto out;
    }
    while (e == ERR_OK && (de = readdir(top)) != NULL) {
        if (!id_is_valid(de->d_name))
            continue; /* not ours: leave it */
        if (path_join(path, sizeof(path), v->vo_files, de->d_name, NULL) != ERR_OK)
            continue;
        d = opendir(path);
        if (!d)
            continue;
        while (e == ERR_OK && (fe = readdir(d)) != NULL) {
            int drop = 0;
            if (strcmp(fe->d_name, ".") == 0 || strcmp(fe->d_name, "..") == 0)
                continue;
            if (fe->d_name[0] == '.') {
                drop = 1; /* a temporary file of an interrupted write */
            } else if (id_is_valid(fe->d_name)) {
                e = file_state(c, de->d_name, fe->d_name, sha, &present);
                if (e == ERR_NOT_FOUND) {
                    e = ERR_OK;
                    present = 0;
                }
                drop = e == ERR_OK && !present;
            }
            if (drop && unlinkat(dirfd(d), fe->d_name, 0) == 0)
                count++;
        }
        (void)closedir(d);
        if (e == ERR_OK && rmdir(path) == 0)
            count++; /* it was empty */
    }
    if (count)
        (void)dir_sync(v->vo_files);
out:
    if (top)
        (void)closedir(top);
    pthread_mutex_unlock(&v->vo_write_lock);
    conn_release(v, c);
    if (removed)
        *removed = count;
    return e;
}

/* ---- Reads ------------------------------------------------------------------------------ */

/* Runs a one-integer query of the meta row into *out. */
static enum err meta_u64(struct volume *v, enum stmt_id id, uint64_t *out)
{
    struct conn *c;
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    e = op_begin(v, &c, OP_PLAIN);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, id, &st, "");
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_STORAGE;
        if (e == ERR_OK)
            *out = col_u64(st, 0);
        stmt_done(st);
    }
    return op_end(v, c, e);
}

/* Reads the meta row (see volume.h). */
enum err volume_meta_get(struct volume *v, struct volume_meta *out)
{
    struct conn *c;
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!v || !out)
        return ERR_BAD_INPUT;
    e = op_begin(v, &c, OP_PLAIN);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_META_GET, &st, "");
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row) {
            log_error("volume: the meta row is missing");
            e = ERR_STORAGE;
        }
        if (e == ERR_OK)
            e = col_text_copy(st, 0, out->vm_account, sizeof(out->vm_account));
        if (e == ERR_OK)
            e = col_text_copy(st, 1, out->vm_server, sizeof(out->vm_server));
        if (e == ERR_OK)
            e = col_text_dup(st, 2, &out->vm_hub_url);
        if (e == ERR_OK) {
            out->vm_last_seq = col_u64(st, 3);
            out->vm_last_sync_at = col_i64(st, 4);
            out->vm_server_deleted = sqlite3_column_int(st, 5) != 0;
            out->vm_generation = col_u64(st, 6);
            out->vm_item_seq = col_u64(st, 7);
            out->vm_item_epoch = col_u64(st, 8);
        }
        stmt_done(st);
    }
    e = op_end(v, c, e);
    if (e != ERR_OK)
        volume_meta_clear(out);
    return e;
}

/* Frees the heap members of m and zeroes it. */
void volume_meta_clear(struct volume_meta *m)
{
    if (!m)
        return;
    mem_free_owned(m->vm_hub_url);
    memset(m, 0, sizeof(*m));
}

/* Reads the last applied seq (see volume.h). */
enum err volume_last_seq(struct volume *v, uint64_t *seq)
{
    if (seq)
        *seq = 0;
    if (!v || !seq)
        return ERR_BAD_INPUT;
    return meta_u64(v, ST_META_SEQ, seq);
}

/* Reads the generation (see volume.h). */
enum err volume_generation(struct volume *v, uint64_t *gen)
{
    if (gen)
        *gen = 0;
    if (!v || !gen)
        return ERR_BAD_INPUT;
    return meta_u64(v, ST_META_GEN, gen);
}

/* Looks a token up (see volume.h). */
enum err volume_token_state(struct volume *v, const char *jti, enum volume_token_status *state,
                            int64_t *expires_at)
{
    char tsrv[ID_LEN + 1], msrv[ID_LEN + 1];
    struct conn *c;
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    if (state)
        *state = VOLUME_TOKEN_UNKNOWN;
    if (expires_at)
        *expires_at = 0;
    if (!v || !state || !ok_lower(jti))
        return ERR_BAD_INPUT;
    e = op_begin(v, &c, OP_PLAIN);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_TOKEN_STATE, &st, "t", jti);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row) {
            log_error("volume: the meta row is missing");
            e = ERR_STORAGE;
        }
        if (e == ERR_OK)
            e = col_text_copy(st, 2, tsrv, sizeof(tsrv));
        if (e == ERR_OK)
            e = col_text_copy(st, 3, msrv, sizeof(msrv));
        if (e == ERR_OK) {
            int known = sqlite3_column_type(st, 0) != SQLITE_NULL;
            if (sqlite3_column_int(st, 4) != 0)
                *state = VOLUME_TOKEN_REVOKED; /* the server is deleted */
            else if (!known)
                *state = VOLUME_TOKEN_UNKNOWN;
            else if (col_i64(st, 0) != 0)
                *state = VOLUME_TOKEN_REVOKED;
            else if (msrv[0] && strcmp(tsrv, msrv) != 0)
                *state = VOLUME_TOKEN_UNKNOWN; /* registered for another server */
            else
                *state = VOLUME_TOKEN_ACTIVE;
            if (known && expires_at)
                *expires_at = col_i64(st, 1);
        }
        stmt_done(st);
    }
    e = op_end(v, c, e);
    if (e != ERR_OK) {
        *state = VOLUME_TOKEN_UNKNOWN;
        if (expires_at)
            *expires_at = 0;
    }
    return e;
}

/* Reads a tokens row of st into t. */
static enum err row_token(sqlite3_stmt *st, struct volume_token *t)
{
    enum err e = col_text_copy(st, 0, t->vt_jti, sizeof(t->vt_jti));

    if (e == ERR_OK)
        e = col_text_copy(st, 1, t->vt_server, sizeof(t->vt_server));
    if (e == ERR_OK)
        e = col_text_dup(st, 2, &t->vt_vaults_json);
    t->vt_expires_at = col_i64(st, 3);
    t->vt_created_at = col_i64(st, 4);
    t->vt_revoked_at = col_i64(st, 5);
    return e;
}

/* Reads a signing_keys row of st into k. */
static enum err row_signing_key(sqlite3_stmt *st, struct volume_signing_key *k)
{
    enum err e = col_text_copy(st, 0, k->vk_kid, sizeof(k->vk_kid));

    if (e == ERR_OK)
        e = col_text_dup(st, 1, &k->vk_public_jwk);
    k->vk_created_at = col_i64(st, 2);
    k->vk_retired_at = col_i64(st, 3);
    return e;
}

/* Reads a grants row of st into g. */
static enum err row_grant(sqlite3_stmt *st, struct volume_grant *g)
{
    enum err e = col_text_copy(st, 0, g->vg_vault, sizeof(g->vg_vault));

    if (e == ERR_OK)
        e = col_blob_dup(st, 1, &g->vg_key_wrapped, &g->vg_key_wrapped_len);
    g->vg_created_at = col_i64(st, 2);
    return e;
}

/* Reads a VAULT_COLUMNS row of st into vv. */
static enum err row_vault(sqlite3_stmt *st, struct volume_vault *vv)
{
    enum err e = col_text_copy(st, 0, vv->vv_id, sizeof(vv->vv_id));

    if (e == ERR_OK)
        e = col_text_copy(st, 1, vv->vv_type, sizeof(vv->vv_type));
    if (e == ERR_OK)
        e = col_blob_dup(st, 2, &vv->vv_attrs_ct, &vv->vv_attrs_ct_len);
    vv->vv_attribute_version = col_u64(st, 3);
    vv->vv_content_version = col_u64(st, 4);
    vv->vv_items = col_u64(st, 5);
    vv->vv_created_at = col_i64(st, 6);
    vv->vv_updated_at = col_i64(st, 7);
    return e;
}

/* Reads an item row of st (ST_ITEM_LIST's columns, details at column 8 if with_details). */
static enum err row_item(sqlite3_stmt *st, const char *vault, struct volume_item *it,
                         int with_details)
{
    enum err e;

    memcpy(it->vi_vault, vault, ID_LEN + 1);
    e = col_text_copy(st, 0, it->vi_id, sizeof(it->vi_id));
    it->vi_version = col_u64(st, 1);
    if (e == ERR_OK)
        e = col_text_copy(st, 2, it->vi_state, sizeof(it->vi_state));
    if (e == ERR_OK)
        e = col_text_copy(st, 3, it->vi_category, sizeof(it->vi_category));
    if (e == ERR_OK)
        e = col_blob_dup(st, 4, &it->vi_overview, &it->vi_overview_len);
    it->vi_created_at = col_i64(st, 5);
    it->vi_updated_at = col_i64(st, 6);
    if (e == ERR_OK)
        e = col_text_copy(st, 7, it->vi_last_edited_by, sizeof(it->vi_last_edited_by));
    if (e == ERR_OK && with_details)
        e = col_blob_dup(st, 8, &it->vi_details, &it->vi_details_len);
    return e;
}

/* Reads an activity row of st into a. */
static enum err row_activity(sqlite3_stmt *st, struct volume_activity *a)
{
    a->ve_id = col_u64(st, 0);
    a->ve_uploaded = sqlite3_column_int(st, 2) != 0;
    return col_text_dup(st, 1, &a->ve_entry_json);
}

/*
 * Runs a one-row query (statement id, one text parameter key) and reads its row with
 * reader into out - ERR_NOT_FOUND without a row. The caller clears out on failure.
 */
static enum err get_one(struct volume *v, enum stmt_id id, const char *key,
                        enum err (*reader)(sqlite3_stmt *, void *), void *out)
{
    struct conn *c;
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    e = op_begin(v, &c, OP_PLAIN);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, id, &st, "t", key);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_NOT_FOUND;
        if (e == ERR_OK)
            e = reader(st, out);
        stmt_done(st);
    }
    return op_end(v, c, e);
}

static enum err read_token(sqlite3_stmt *st, void *out)
{
    return row_token(st, out);
}

static enum err read_signing_key(sqlite3_stmt *st, void *out)
{
    return row_signing_key(st, out);
}

static enum err read_grant(sqlite3_stmt *st, void *out)
{
    return row_grant(st, out);
}

static enum err read_vault(sqlite3_stmt *st, void *out)
{
    return row_vault(st, out);
}

/* Reads a token (see volume.h). */
enum err volume_token_get(struct volume *v, const char *jti, struct volume_token *out)
{
    enum err e;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!v || !out || !ok_lower(jti))
        return ERR_BAD_INPUT;
    e = get_one(v, ST_TOKEN_GET, jti, read_token, out);
    if (e != ERR_OK)
        volume_token_clear(out);
    return e;
}

/* Frees the heap members of t and zeroes it. */
void volume_token_clear(struct volume_token *t)
{
    if (!t)
        return;
    mem_free_owned(t->vt_vaults_json);
    memset(t, 0, sizeof(*t));
}

/* Reads a signing key (see volume.h). */
enum err volume_signing_key_get(struct volume *v, const char *kid, struct volume_signing_key *out)
{
    enum err e;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!v || !out || !ok_kid(kid))
        return ERR_BAD_INPUT;
    e = get_one(v, ST_SKEY_GET, kid, read_signing_key, out);
    if (e != ERR_OK)
        volume_signing_key_clear(out);
    return e;
}

/* Frees the heap members of k and zeroes it. */
void volume_signing_key_clear(struct volume_signing_key *k)
{
    if (!k)
        return;
    mem_free_owned(k->vk_public_jwk);
    memset(k, 0, sizeof(*k));
}

/* Clears and frees an array from volume_signing_key_list. */
void volume_signing_key_list_free(struct volume_signing_key *arr, size_t n)
{
    size_t i;

    for (i = 0; arr && i < n; i++)
        volume_signing_key_clear(&arr[i]);
    mem_free(arr);
}

/* Reads a grant (see volume.h). */
enum err volume_grant_get(struct volume *v, const char *vault, struct volume_grant *out)
{
    enum err e;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!v || !out || !ok_lower(vault))
        return ERR_BAD_INPUT;
    e = get_one(v, ST_GRANT_GET, vault, read_grant, out);
    if (e != ERR_OK)
        volume_grant_clear(out);
    return e;
}

/* Frees the heap members of g and zeroes it. */
void volume_grant_clear(struct volume_grant *g)
{
    if (!g)
        return;
    mem_free_owned(g->vg_key_wrapped);
    memset(g, 0, sizeof(*g));
}

/* Clears and frees an array from volume_grant_list. */
void volume_grant_list_free(struct volume_grant *arr, size_t n)
{
    size_t i;

    for (i = 0; arr && i < n; i++)
        volume_grant_clear(&arr[i]);
    mem_free(arr);
}

/* Reads a served vault (see volume.h). */
enum err volume_vault_get(struct volume *v, const char *id, struct volume_vault *out)
{
    enum err e;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!v || !out || !ok_lower(id))
        return ERR_BAD_INPUT;
    e = get_one(v, ST_VAULT_GET, id, read_vault, out);
    if (e != ERR_OK)
        volume_vault_clear(out);
    return e;
}

/* Frees the heap members of vv and zeroes it. */
void volume_vault_clear(struct volume_vault *vv)
{
    if (!vv)
        return;
    mem_free_owned(vv->vv_attrs_ct);
    memset(vv, 0, sizeof(*vv));
}

/* Clears and frees an array from volume_vault_list. */
void volume_vault_list_free(struct volume_vault *arr, size_t n)
{
    size_t i;

    for (i = 0; arr && i < n; i++)
        volume_vault_clear(&arr[i]);
    mem_free(arr);
}

/* Frees the heap members of it and zeroes it. */
void volume_item_clear(struct volume_item *it)
{
    if (!it)
        return;
    mem_free_owned(it->vi_overview);
    mem_free_owned(it->vi_details);
    memset(it, 0, sizeof(*it));
}

/* Clears and frees an array from volume_item_list. */
void volume_item_list_free(struct volume_item *arr, size_t n)
{
    size_t i;

    for (i = 0; arr && i < n; i++)
        volume_item_clear(&arr[i]);
    mem_free(arr);
}

/* Frees the heap members of a and zeroes it. */
void volume_activity_clear(struct volume_activity *a)
{
    if (!a)
        return;
    mem_free_owned(a->ve_entry_json);
    memset(a, 0, sizeof(*a));
}

/* Clears and frees an array from an activity read. */
void volume_activity_list_free(struct volume_activity *arr, size_t n)
{
    size_t i;

    for (i = 0; arr && i < n; i++)
        volume_activity_clear(&arr[i]);
    mem_free(arr);
}

/* What list_rows reads each row into. */
enum list_kind {
    LK_SIGNING_KEY,
    LK_GRANT,
    LK_VAULT,
    LK_ITEM,
    LK_FILE,
    LK_ACTIVITY,
};

static const size_t list_elem_size[] = {
    [LK_SIGNING_KEY] = sizeof(struct volume_signing_key),
    [LK_GRANT] = sizeof(struct volume_grant),
    [LK_VAULT] = sizeof(struct volume_vault),
    [LK_ITEM] = sizeof(struct volume_item),
    [LK_FILE] = sizeof(struct volume_file),
    [LK_ACTIVITY] = sizeof(struct volume_activity),
};

/* Frees an array of kind k (n elements). */
static void list_free(enum list_kind k, void *arr, size_t n)
{
    switch (k) {
    case LK_SIGNING_KEY:
        volume_signing_key_list_free(arr, n);
        break;
    case LK_GRANT:
        volume_grant_list_free(arr, n);
        break;
    case LK_VAULT:
        volume_vault_list_free(arr, n);
        break;
    case LK_ITEM:
        volume_item_list_free(arr, n);
        break;
    case LK_FILE:
        mem_free(arr);
        break;
    case LK_ACTIVITY:
        volume_activity_list_free(arr, n);
        break;
    }
}

/* Reads one row of st of kind k into elem (vault: the vault of item and file rows). */
static enum err list_row(enum list_kind k, sqlite3_stmt *st, const char *vault, void *elem)
{
    struct volume_file *f;
    enum err e;

    switch (k) {
    case LK_SIGNING_KEY:
        return row_signing_key(st, elem);
    case LK_GRANT:
        return row_grant(st, elem);
    case LK_VAULT:
        return row_vault(st, elem);
    case LK_ITEM:
        return row_item(st, vault, elem, 0);
    case LK_FILE:
        f = elem;
        memcpy(f->vf_vault, vault, ID_LEN + 1);
        e = col_text_copy(st, 0, f->vf_id, sizeof(f->vf_id));
        f->vf_size = col_u64(st, 1);
        if (e == ERR_OK)
            e = col_sha256(st, 2, f->vf_sha256);
        f->vf_created_at = col_i64(st, 3);
        f->vf_present = sqlite3_column_int(st, 4) != 0;
        return e;
    case LK_ACTIVITY:
        return row_activity(st, elem);
    }
    return ERR_INTERNAL;
}

/* Steps the started statement st to its end, reading every row of kind k into a new array. */
static enum err list_rows(struct conn *c, sqlite3_stmt *st, enum list_kind k, const char *vault,
                          void **out, size_t *n)
{
    size_t cnt = 0, cap = 0, elem = list_elem_size[k];
    void *arr = NULL, *p;
    enum err e = ERR_OK;
    int row = 1;

    while (e == ERR_OK && (e = stmt_step(c, st, &row)) == ERR_OK && row) {
        p = array_room(arr, cnt, &cap, elem);
        if (!p) {
            e = ERR_NOMEM;
            break;
        }
        arr = p;
        e = list_row(k, st, vault, (char *)arr + cnt * elem);
        cnt++;
    }
    stmt_done(st);
    if (e != ERR_OK) {
        list_free(k, arr, cnt);
        return e;
    }
    *out = arr;
    *n = cnt;
    return ERR_OK;
}

/*
 * Lists rows of kind k from statement id. vault: if not NULL, bound as ?1 and required to
 * be served (checked in the same snapshot; ERR_NOT_FOUND otherwise).
 */
static enum err list_query(struct volume *v, enum stmt_id id, enum list_kind k, const char *vault,
                           void **out, size_t *n)
{
    struct conn *c;
    sqlite3_stmt *st;
    enum err e;
    int found = 1;

    *out = NULL;
    *n = 0;
    e = op_begin(v, &c, vault ? OP_READ : OP_PLAIN);
    if (e != ERR_OK)
        return e;
    if (vault) {
        e = stmt_exists(c, ST_VAULT_SERVED, &found, "t", vault);
        if (e == ERR_OK && !found)
            e = ERR_NOT_FOUND;
        if (e == ERR_OK)
            e = stmt_start(c, id, &st, "t", vault);
    } else {
        e = stmt_start(c, id, &st, "");
    }
    if (e == ERR_OK)
        e = list_rows(c, st, k, vault, out, n);
    e = op_end(v, c, e);
    if (e != ERR_OK) {
        list_free(k, *out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

/* Lists the signing keys (see volume.h). */
enum err volume_signing_key_list(struct volume *v, struct volume_signing_key **out, size_t *n)
{
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!v || !out || !n)
        return ERR_BAD_INPUT;
    return list_query(v, ST_SKEY_LIST, LK_SIGNING_KEY, NULL, (void **)out, n);
}

/* Lists the grants (see volume.h). */
enum err volume_grant_list(struct volume *v, struct volume_grant **out, size_t *n)
{
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!v || !out || !n)
        return ERR_BAD_INPUT;
    return list_query(v, ST_GRANT_LIST, LK_GRANT, NULL, (void **)out, n);
}

/* Lists the served vaults (see volume.h). */
enum err volume_vault_list(struct volume *v, struct volume_vault **out, size_t *n)
{
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!v || !out || !n)
        return ERR_BAD_INPUT;
    return list_query(v, ST_VAULT_LIST, LK_VAULT, NULL, (void **)out, n);
}

/* Lists the served vaults without counting their items (see volume.h). */
enum err volume_vault_records(struct volume *v, struct volume_vault **out, size_t *n)
{
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!v || !out || !n)
        return ERR_BAD_INPUT;
    return list_query(v, ST_VAULT_RECORDS, LK_VAULT, NULL, (void **)out, n);
}

/* Lists the live items of a served vault (see volume.h). */
enum err volume_item_list(struct volume *v, const char *vault, struct volume_item **out, size_t *n)
{
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!v || !out || !n || !ok_lower(vault))
        return ERR_BAD_INPUT;
    return list_query(v, ST_ITEM_LIST, LK_ITEM, vault, (void **)out, n);
}

/* Lists the live items of a served vault without their ciphertexts (see volume.h). */
enum err volume_item_heads(struct volume *v, const char *vault, struct volume_item **out, size_t *n)
{
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!v || !out || !n || !ok_lower(vault))
        return ERR_BAD_INPUT;
    return list_query(v, ST_ITEM_HEADS, LK_ITEM, vault, (void **)out, n);
}

/* Lists item changes after a seq (see volume.h). */
enum err volume_item_changes(struct volume *v, uint64_t since, size_t limit,
                             struct volume_item_change **out, size_t *n)
{
    struct volume_item_change *arr = NULL, *p;
    struct conn *c;
    sqlite3_stmt *st = NULL;
    size_t cnt = 0, cap = 0;
    enum err e;
    int row = 0;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!v || !out || !n || limit == 0 || limit > INT32_MAX)
        return ERR_BAD_INPUT;
    e = op_begin(v, &c, OP_PLAIN);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_ITEM_CHANGES, &st, "ui", since, (int64_t)limit);
    while (e == ERR_OK && (e = stmt_step(c, st, &row)) == ERR_OK && row) {
        char vault[ID_LEN + 1];

        p = array_room(arr, cnt, &cap, sizeof(*arr));
        if (!p) {
            e = ERR_NOMEM;
            break;
        }
        arr = p;
        memset(&arr[cnt], 0, sizeof(arr[cnt]));
        e = col_text_copy(st, 8, vault, sizeof(vault));
        if (e == ERR_OK)
            e = row_item(st, vault, &arr[cnt].vc_item, 0);
        arr[cnt].vc_deleted = sqlite3_column_int(st, 9) != 0;
        arr[cnt].vc_seq = col_u64(st, 10);
        cnt++;
    }
    stmt_done(st);
    e = op_end(v, c, e);
    if (e != ERR_OK) {
        volume_item_changes_free(arr, cnt);
        return e;
    }
    *out = arr;
    *n = cnt;
    return ERR_OK;
}

/* Frees a volume_item_changes array (see volume.h). */
void volume_item_changes_free(struct volume_item_change *arr, size_t n)
{
    size_t i;

    for (i = 0; arr && i < n; i++)
        volume_item_clear(&arr[i].vc_item);
    mem_free(arr);
}

/* Reads a live item of a served vault with its details (see volume.h). */
enum err volume_item_get(struct volume *v, const char *vault, const char *id,
                         struct volume_item *out)
{
    struct conn *c;
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!v || !out || !ok_lower(vault) || !ok_lower(id))
        return ERR_BAD_INPUT;
    e = op_begin(v, &c, OP_PLAIN);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_ITEM_GET, &st, "tt", vault, id);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_NOT_FOUND;
        if (e == ERR_OK)
            e = row_item(st, vault, out, 1);
        if (e == ERR_OK && strcmp(out->vi_id, id) != 0) {
            /* a damaged index can lead to another item's row: never serve it */
            log_error("volume: reading item %s of vault %s found another row", id, vault);
            e = ERR_CORRUPT;
        }
        stmt_done(st);
    }
    e = op_end(v, c, e);
    if (e != ERR_OK)
        volume_item_clear(out);
    return e;
}

/* Lists the files of a served vault (see volume.h). */
enum err volume_file_list(struct volume *v, const char *vault, struct volume_file **out, size_t *n)
{
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!v || !out || !n || !ok_lower(vault))
        return ERR_BAD_INPUT;
    return list_query(v, ST_FILE_LIST, LK_FILE, vault, (void **)out, n);
}

/* Reads a file's metadata (see volume.h). */
enum err volume_file_get(struct volume *v, const char *vault, const char *id,
                         struct volume_file *out)
{
    struct conn *c;
    enum err e;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!v || !out || !ok_lower(vault) || !ok_lower(id))
        return ERR_BAD_INPUT;
    e = op_begin(v, &c, OP_PLAIN);
    if (e != ERR_OK)
        return e;
    e = file_get(c, vault, id, out);
    return op_end(v, c, e);
}

/* Reads the one number a query of no parameters answers into *n. */
static enum err vol_read_u64(struct volume *v, enum stmt_id id, uint64_t *n)
{
    sqlite3_stmt *st;
    struct conn *c;
    enum err e;
    int row = 0;

    if (n)
        *n = 0;
    if (!v || !n)
        return ERR_BAD_INPUT;
    e = op_begin(v, &c, OP_READ);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, id, &st, "");
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && row)
            *n = col_u64(st, 0);
        stmt_done(st);
    }
    return op_end(v, c, e);
}

/* Counts the files whose content is not here yet (see volume.h). */
enum err volume_files_missing(struct volume *v, uint64_t *n)
{
    return vol_read_u64(v, ST_FILES_MISSING, n);
}

/* ---- Activity --------------------------------------------------------------------------- */

/* Sizes the backlog of entries not uploaded (see volume.h). */
enum err volume_activity_backlog(struct volume *v, uint64_t *n)
{
    return vol_read_u64(v, ST_ACT_BACKLOG, n);
}

/* Appends an activity entry (see volume.h). */
/* Appends n entries in one transaction (see volume.h). */
enum err volume_activity_append_batch(struct volume *v, const char *const *entries, size_t n)
{
    struct conn *c;
    sqlite3_stmt *st;
    enum err e;
    size_t i;
    int row = 0;

    if (!v || (n > 0 && !entries))
        return ERR_BAD_INPUT;
    for (i = 0; i < n; i++)
        if (!ok_text(entries[i], VOLUME_JSON_MAX_BYTES))
            return ERR_BAD_INPUT;
    if (n == 0)
        return ERR_OK;
    e = op_begin(v, &c, OP_WRITE);
    if (e != ERR_OK)
        return e;
    for (i = 0; i < n && e == ERR_OK; i++) {
        e = stmt_start(c, ST_ACT_INSERT, &st, "t", entries[i]);
        if (e != ERR_OK)
            break;
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_STORAGE;
        if (e == ERR_OK)
            e = stmt_step(c, st, &row); /* RETURNING: finish the statement */
        stmt_done(st);
    }
    return op_end(v, c, e);
}

enum err volume_activity_append(struct volume *v, const char *entry_json, uint64_t *id)
{
    struct conn *c;
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    if (id)
        *id = 0;
    if (!v || !ok_text(entry_json, VOLUME_JSON_MAX_BYTES))
        return ERR_BAD_INPUT;
    e = op_begin(v, &c, OP_WRITE);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_ACT_INSERT, &st, "t", entry_json);
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && !row)
            e = ERR_STORAGE;
        if (e == ERR_OK && id)
            *id = col_u64(st, 0);
        if (e == ERR_OK)
            e = stmt_step(c, st, &row); /* RETURNING: finish the statement */
        stmt_done(st);
    }
    e = op_end(v, c, e);
    if (e != ERR_OK && id)
        *id = 0;
    return e;
}

/* Reads a page of activity (see volume.h). */
enum err volume_activity_query(struct volume *v, size_t limit, size_t offset,
                               struct volume_activity **out, size_t *n, uint64_t *total)
{
    struct conn *c;
    sqlite3_stmt *st;
    enum err e;
    int row = 0;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (total)
        *total = 0;
    if (!v || !out || !n || !total || limit < 1 || limit > VOLUME_MAX_PAGE ||
        (uint64_t)offset > (uint64_t)INT64_MAX)
        return ERR_BAD_INPUT;
    e = op_begin(v, &c, OP_READ);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_ACT_COUNT, &st, "");
    if (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e == ERR_OK && row)
            *total = col_u64(st, 0);
        stmt_done(st);
    }
    if (e == ERR_OK)
        e = stmt_start(c, ST_ACT_PAGE, &st, "uu", (uint64_t)limit, (uint64_t)offset);
    if (e == ERR_OK)
        e = list_rows(c, st, LK_ACTIVITY, NULL, (void **)out, n);
    e = op_end(v, c, e);
    if (e != ERR_OK) {
        volume_activity_list_free(*out, *n);
        *out = NULL;
        *n = 0;
        *total = 0;
    }
    return e;
}

/* Reads pending activity (see volume.h). */
enum err volume_activity_pending(struct volume *v, size_t limit, struct volume_activity **out,
                                 size_t *n)
{
    struct conn *c;
    sqlite3_stmt *st;
    enum err e;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!v || !out || !n || limit < 1 || limit > VOLUME_MAX_PAGE)
        return ERR_BAD_INPUT;
    e = op_begin(v, &c, OP_PLAIN);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_ACT_PENDING, &st, "u", (uint64_t)limit);
    if (e == ERR_OK)
        e = list_rows(c, st, LK_ACTIVITY, NULL, (void **)out, n);
    return op_end(v, c, e);
}

/* Marks activity uploaded (see volume.h). */
enum err volume_activity_mark_uploaded(struct volume *v, const uint64_t *ids, size_t n)
{
    struct conn *c;
    enum err e;
    size_t i, j;

    if (!v || (!ids && n))
        return ERR_BAD_INPUT;
    if (n == 0)
        return ERR_OK;
    e = op_begin(v, &c, OP_WRITE);
    if (e != ERR_OK)
        return e;
    /* one statement per run of consecutive ids (an upload's batch is usually one run) */
    for (i = 0; i < n && e == ERR_OK; i = j) {
        for (j = i + 1; j < n && ids[j - 1] < UINT64_MAX && ids[j] == ids[j - 1] + 1; j++)
            ;
        e = stmt_run(c, ST_ACT_MARK, "uu", ids[i], ids[j - 1]);
    }
    return op_end(v, c, e);
}

/* Prunes uploaded activity (see volume.h). */
enum err volume_activity_prune(struct volume *v, uint64_t keep, size_t *removed)
{
    struct conn *c;
    enum err e;
    int changed = 0;

    if (removed)
        *removed = 0;
    if (!v || keep > (uint64_t)INT64_MAX)
        return ERR_BAD_INPUT;
    e = op_begin(v, &c, OP_WRITE);
    if (e != ERR_OK)
        return e;
    e = stmt_run_changed(c, &changed, ST_ACT_PRUNE, "u", keep);
    if (e == ERR_OK && removed)
        *removed = (size_t)sqlite3_changes(c->cn_db);
    return op_end(v, c, e);
}

/* ---- Damage: checks, rebuild, file repair ----------------------------------------------- */

/* Returns 1 (and clears the flag) when SQLite reported v's database damaged (see volume.h). */
int volume_take_corrupt(struct volume *v)
{
    return v ? __atomic_exchange_n(&v->vo_corrupt, 0, __ATOMIC_ACQ_REL) : 0;
}

/* Returns 1 (and clears the flag) when a file content failed its check (see volume.h). */
int volume_take_file_corrupt(struct volume *v)
{
    return v ? __atomic_exchange_n(&v->vo_file_corrupt, 0, __ATOMIC_ACQ_REL) : 0;
}

/* Returns 1 while the last write of v failed for want of space (see volume.h). */
int volume_out_of_space(struct volume *v)
{
    return v ? __atomic_load_n(&v->vo_no_space, __ATOMIC_ACQUIRE) : 0;
}

/* Returns v's rebuild epoch (see volume.h). */
uint64_t volume_epoch(struct volume *v)
{
    return v ? __atomic_load_n(&v->vo_epoch, __ATOMIC_ACQUIRE) : 0;
}

/* Runs PRAGMA quick_check (full: integrity_check) on db: ERR_OK, ERR_CORRUPT (errmsg: the
 * first complaint), or another error. */
static enum err conn_quick_check(sqlite3 *db, int full, char *errmsg, size_t errcap)
{
    sqlite3_stmt *st = NULL;
    enum err e = ERR_OK;
    int rc;

    rc = sqlite3_prepare_v2(db, full ? "PRAGMA integrity_check" : "PRAGMA quick_check", -1, &st,
                            NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);

        if (!t || strcmp((const char *)t, "ok") != 0)
            e = err_msgf(ERR_CORRUPT, errmsg, errcap, "%s", t ? (const char *)t : "no answer");
    } else if (rc != SQLITE_DONE) {
        e = db_fault(db, rc);
        if (e == ERR_OK)
            e = (rc & 0xff) == SQLITE_NOMEM ? ERR_NOMEM : ERR_STORAGE;
        (void)err_msgf(e, errmsg, errcap, "%s", sqlite3_errmsg(db));
    }
    (void)sqlite3_finalize(st);
    return e;
}

/* Checks the database's structure (see volume.h). */
enum err volume_check(struct volume *v, int full, char *errmsg, size_t errcap)
{
    struct conn *c = NULL;
    enum err e;

    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (!v)
        return ERR_BAD_INPUT;
    /* a connection of its own: a pooled one may hold good copies of damaged pages */
    e = conn_open(v, &c, errmsg, errcap);
    if (e != ERR_OK)
        return e;
    e = conn_quick_check(c->cn_db, full, errmsg, errcap);
    conn_close(c);
    if (e == ERR_CORRUPT)
        __atomic_store_n(&v->vo_corrupt, 1, __ATOMIC_RELEASE);
    return e;
}

/* Copies file from to a new file to (0600, O_EXCL). Returns 0, or -1 with errno set. */
static int file_copy(const char *from, const char *to)
{
    unsigned char buf[65536];
    int in, out, r = 0, err = 0;
    ssize_t n;

    in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return -1;
    out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) {
        err = errno;
        (void)close(in);
        errno = err;
        return -1;
    }
    for (;;) {
        n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -1 : 0;
            break;
        }
        if (write_all(out, buf, (size_t)n) != 0) {
            r = -1;
            break;
        }
    }
    if (r == 0 && fsync(out) != 0)
        r = -1;
    err = errno;
    (void)close(out);
    (void)close(in);
    if (r != 0) {
        (void)unlink(to);
        errno = err;
    }
    return r;
}

/* A damaged copy found by corrupt_prune: its name and when it was written. */
struct aside_copy {
    char *ac_name;
    struct timespec ac_mtime;
};

static int aside_cmp(const void *a, const void *b)
{
    const struct aside_copy *x = a, *y = b;

    if (x->ac_mtime.tv_sec != y->ac_mtime.tv_sec)
        return x->ac_mtime.tv_sec < y->ac_mtime.tv_sec ? -1 : 1;
    if (x->ac_mtime.tv_nsec != y->ac_mtime.tv_nsec)
        return x->ac_mtime.tv_nsec < y->ac_mtime.tv_nsec ? -1 : 1;
    return strcmp(x->ac_name, y->ac_name);
}

/* Removes the oldest damaged copies in dir beyond VOLUME_CORRUPT_KEEP (by when written). */
static void corrupt_prune(const char *dir)
{
    static const char prefix[] = VOLUME_DB_NAME VOLUME_CORRUPT_SUFFIX;
    struct aside_copy copies[64];
    char path[VOLUME_PATH_MAX], wal[VOLUME_PATH_MAX];
    struct dirent *de;
    struct stat sb;
    size_t n = 0, i;
    DIR *d = opendir(dir);

    if (!d)
        return;
    while ((de = readdir(d)) != NULL && n < sizeof(copies) / sizeof(copies[0])) {
        size_t len = strlen(de->d_name);

        if (strncmp(de->d_name, prefix, sizeof(prefix) - 1) != 0 ||
            (len > 4 && strcmp(de->d_name + len - 4, "-wal") == 0) ||
            fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        copies[n].ac_name = mem_strdup(de->d_name);
        copies[n].ac_mtime = sb.st_mtim;
        if (copies[n].ac_name)
            n++;
    }
    (void)closedir(d);
    qsort(copies, n, sizeof(copies[0]), aside_cmp);
    for (i = 0; i < n; i++) {
        if (i + VOLUME_CORRUPT_KEEP < n &&
            path_join(path, sizeof(path), dir, copies[i].ac_name, NULL) == ERR_OK &&
            snprintf(wal, sizeof(wal), "%s-wal", path) < (int)sizeof(wal)) {
            if (unlink(path) == 0)
                log_info("volume: removed the old damaged copy %s", path);
            (void)unlink(wal);
        }
        mem_free(copies[i].ac_name);
    }
}

/*
 * Copies the damaged database (and its WAL, if any) to DIR/sesame.db.corrupt-<unix time>
 * (-N added if that exists) and writes the name into aside. Failures (a full disk) are
 * logged: the rebuild goes on without the copy.
 */
static void corrupt_keep(const struct volume *v, char *aside, size_t asidecap)
{
    char path[VOLUME_PATH_MAX], wal[VOLUME_PATH_MAX], ebuf[128];
    long long now = (long long)time(NULL);
    int n = 0, k;
    struct stat sb;

    if (asidecap)
        aside[0] = '\0';
    for (k = 0; k < 100; k++) {
        n = k ? snprintf(path, sizeof(path), "%s" VOLUME_CORRUPT_SUFFIX "%lld-%d", v->vo_db_path,
                         now, k)
              : snprintf(path, sizeof(path), "%s" VOLUME_CORRUPT_SUFFIX "%lld", v->vo_db_path, now);
        if (n < 0 || (size_t)n + 4 >= sizeof(path))
            return;
        if (file_copy(v->vo_db_path, path) == 0)
            break;
        if (errno != EEXIST) {
            log_error("volume: cannot keep a copy of the damaged database as %s: %s", path,
                      strerror_r(errno, ebuf, sizeof(ebuf)));
            return;
        }
    }
    if (k == 100)
        return;
    (void)snprintf(wal, sizeof(wal), "%s-wal", v->vo_db_path);
    if (stat(wal, &sb) == 0 && sb.st_size > 0) {
        char to[VOLUME_PATH_MAX];

        if (snprintf(to, sizeof(to), "%s-wal", path) < (int)sizeof(to) && file_copy(wal, to) != 0)
            log_warn("volume: cannot keep a copy of the damaged database's WAL: %s",
                     strerror_r(errno, ebuf, sizeof(ebuf)));
    }
    (void)dir_sync(v->vo_dir);
    if (asidecap)
        (void)snprintf(aside, asidecap, "%s", path);
    corrupt_prune(v->vo_dir);
}

/* Closes the idle connections of v (their caches belong to the old database). */
static void pool_drain_idle(struct volume *v)
{
    struct conn *c, *next;

    pthread_mutex_lock(&v->vo_pool_lock);
    c = v->vo_idle;
    v->vo_idle = NULL;
    for (next = c; next; next = next->cn_next)
        v->vo_open--;
    pthread_cond_broadcast(&v->vo_pool_cond);
    pthread_mutex_unlock(&v->vo_pool_lock);
    while (c) {
        next = c->cn_next;
        conn_close(c);
        c = next;
    }
}

/* Empties a damaged database in place and makes a fresh schema (see volume.h). */
enum err volume_rebuild(struct volume *v, char *aside, size_t asidecap, char *errmsg, size_t errcap)
{
    sqlite3 *db = NULL;
    struct conn *c = NULL;
    uint64_t gen = 0;
    enum err e;
    int rc;

    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (aside && asidecap)
        aside[0] = '\0';
    if (!v)
        return ERR_BAD_INPUT;
    pthread_mutex_lock(&v->vo_write_lock);
    corrupt_keep(v, aside ? aside : NULL, aside ? asidecap : 0);
    pool_drain_idle(v);
    /* a bare connection: the usual set-up pragmas may fail on a damaged schema. SQLite's
     * documented reset of a damaged file works through its own locks, so that the other
     * process's connections see an empty database, never a half-replaced file */
    rc = sqlite3_open_v2(v->vo_db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_handler(db, vol_on_busy, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(db, SQLITE_DBCONFIG_RESET_DATABASE, 1, (int *)NULL);
    if (rc == SQLITE_OK)
        e = conn_exec(db, "VACUUM", "cannot reset the damaged volume database", errmsg, errcap);
    else
        e = err_msgf(ERR_STORAGE, errmsg, errcap, "cannot reset the damaged volume database: %s",
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    if (db)
        (void)sqlite3_db_config(db, SQLITE_DBCONFIG_RESET_DATABASE, 0, (int *)NULL);
    (void)sqlite3_close(db);
    if (e != ERR_OK)
        goto out;
    e = conn_acquire(v, &c);
    if (e != ERR_OK) {
        (void)err_msgf(e, errmsg, errcap, "cannot open the volume database (%s)", err_name(e));
        goto out;
    }
    c->cn_mode = OP_PLAIN;
    db = c->cn_db;
    e = conn_set_wal(db, errmsg, errcap);
    if (e == ERR_OK)
        e = volume_migrate(db, errmsg, errcap);
    /* a generation no reader has seen, so that the api reloads everything */
    if (e == ERR_OK)
        e = crypto_random(&gen, sizeof(gen));
    if (e == ERR_OK)
        e = stmt_run(c, ST_META_SET_GEN, "u", (gen >> 24) | 1);
    /* the connection's statements were prepared for the old schema */
    conn_close(c);
    pthread_mutex_lock(&v->vo_pool_lock);
    v->vo_open--;
    pthread_cond_signal(&v->vo_pool_cond);
    pthread_mutex_unlock(&v->vo_pool_lock);
    if (e == ERR_OK) {
        __atomic_add_fetch(&v->vo_epoch, 1, __ATOMIC_ACQ_REL);
        __atomic_store_n(&v->vo_corrupt, 0, __ATOMIC_RELEASE);
        __atomic_store_n(&v->vo_file_corrupt, 0, __ATOMIC_RELEASE);
    }
out:
    pthread_mutex_unlock(&v->vo_write_lock);
    return e;
}

/* Marks a file present whose content is already on disk and verified (see volume.h). */
enum err volume_file_content_adopt(struct volume *v, const char *vault, const char *id)
{
    unsigned char want[VOLUME_SHA256_BYTES];
    struct conn *c;
    enum err e;
    int present = 0, changed = 0;

    if (!v || !ok_lower(vault) || !ok_lower(id))
        return ERR_BAD_INPUT;
    e = conn_acquire(v, &c);
    if (e != ERR_OK)
        return e;
    c->cn_mode = OP_PLAIN;
    pthread_mutex_lock(&v->vo_write_lock);
    e = file_state(c, vault, id, want, &present);
    if (e == ERR_OK && !present) {
        e = content_verify(v, vault, id, want, NULL, NULL);
        if (e == ERR_CORRUPT)
            e = ERR_NOT_FOUND; /* nothing usable: fetch it */
        if (e == ERR_OK) {
            e = stmt_run(c, ST_BEGIN_WRITE, "");
            if (e == ERR_OK)
                c->cn_mode = OP_WRITE;
        }
        if (e == ERR_OK)
            e = stmt_run_changed(c, &changed, ST_FILE_PRESENT, "ttb", vault, id, want,
                                 (size_t)VOLUME_SHA256_BYTES);
        if (e == ERR_OK && !changed)
            e = ERR_NOT_FOUND;
        if (e == ERR_OK)
            e = stmt_run(c, ST_META_BUMP, "");
        e = conn_finish(c, e);
        vol_note(v, e, c->cn_mode == OP_WRITE);
    }
    pthread_mutex_unlock(&v->vo_write_lock);
    conn_release(v, c);
    return e;
}

/* One present file, as volume_files_verify lists them. */
struct vfile {
    char vf_vault[ID_LEN + 1];
    char vf_id[ID_LEN + 1];
    unsigned char vf_sha[VOLUME_SHA256_BYTES];
};

/* Lists every file marked present into *out (heap), *n entries. */
static enum err present_files(struct volume *v, struct vfile **out, size_t *n)
{
    struct vfile *arr = NULL, *grown;
    struct conn *c;
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    enum err e;
    int row = 1;

    *out = NULL;
    *n = 0;
    e = op_begin(v, &c, OP_READ);
    if (e != ERR_OK)
        return e;
    e = stmt_start(c, ST_FILE_PRESENT_ALL, &st, "");
    while (e == ERR_OK) {
        e = stmt_step(c, st, &row);
        if (e != ERR_OK || !row)
            break;
        grown = array_room(arr, *n, &cap, sizeof(*arr));
        if (!grown) {
            e = ERR_NOMEM;
            break;
        }
        arr = grown;
        e = col_text_copy(st, 0, arr[*n].vf_vault, sizeof(arr[*n].vf_vault));
        if (e == ERR_OK)
            e = col_text_copy(st, 1, arr[*n].vf_id, sizeof(arr[*n].vf_id));
        if (e == ERR_OK)
            e = col_sha256(st, 2, arr[*n].vf_sha);
        if (e == ERR_OK && (!ok_lower(arr[*n].vf_vault) || !ok_lower(arr[*n].vf_id)))
            e = ERR_CORRUPT;
        if (e == ERR_OK)
            (*n)++;
    }
    if (st)
        stmt_done(st);
    e = op_end(v, c, e);
    if (e != ERR_OK) {
        mem_free(arr);
        *n = 0;
        return e;
    }
    *out = arr;
    return ERR_OK;
}

/*
 * Marks file f absent if its content still fails the check (under the write mutex, so that
 * a content sync is writing is not judged half-written) and moves the bad content aside to
 * files/<vault>/<id>.corrupt. *marked is 1 when it did.
 */
static enum err file_mark_bad(struct volume *v, const struct vfile *f, int *marked)
{
    char path[VOLUME_PATH_MAX], aside[VOLUME_PATH_MAX];
    struct conn *c;
    enum err e;
    int changed = 0;

    *marked = 0;
    e = conn_acquire(v, &c);
    if (e != ERR_OK)
        return e;
    c->cn_mode = OP_PLAIN;
    pthread_mutex_lock(&v->vo_write_lock);
    e = content_verify(v, f->vf_vault, f->vf_id, f->vf_sha, NULL, NULL);
    if (e == ERR_CORRUPT) {
        e = stmt_run(c, ST_BEGIN_WRITE, "");
        if (e == ERR_OK) {
            c->cn_mode = OP_WRITE;
            e = stmt_run_changed(c, &changed, ST_FILE_ABSENT, "ttb", f->vf_vault, f->vf_id,
                                 f->vf_sha, (size_t)VOLUME_SHA256_BYTES);
        }
        if (e == ERR_OK && changed)
            e = stmt_run(c, ST_META_BUMP, "");
        e = conn_finish(c, e);
        vol_note(v, e, 1);
        if (e == ERR_OK && changed) {
            *marked = 1;
            if (path_join(path, sizeof(path), v->vo_files, f->vf_vault, f->vf_id) == ERR_OK &&
                snprintf(aside, sizeof(aside), "%s.corrupt", path) < (int)sizeof(aside) &&
                rename(path, aside) == 0)
                log_warn("volume: the damaged content of file %s of vault %s is kept as %s",
                         f->vf_id, f->vf_vault, aside);
        }
    }
    pthread_mutex_unlock(&v->vo_write_lock);
    conn_release(v, c);
    return e;
}

/* Checks every present file content against its SHA-256 (see volume.h). */
enum err volume_files_verify(struct volume *v, size_t *bad)
{
    struct vfile *arr = NULL;
    size_t n = 0, i;
    enum err e;
    int marked;

    if (bad)
        *bad = 0;
    if (!v)
        return ERR_BAD_INPUT;
    e = present_files(v, &arr, &n);
    for (i = 0; i < n && e == ERR_OK; i++) {
        e = content_verify(v, arr[i].vf_vault, arr[i].vf_id, arr[i].vf_sha, NULL, NULL);
        if (e != ERR_CORRUPT)
            continue;
        e = file_mark_bad(v, &arr[i], &marked);
        if (e == ERR_OK && marked && bad)
            (*bad)++;
    }
    if (e == ERR_OK)
        __atomic_store_n(&v->vo_file_corrupt, 0, __ATOMIC_RELEASE);
    mem_free(arr);
    return e;
}
