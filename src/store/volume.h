/*
 * volume.h - the Connect server's volume store (docs/volume.md): the local mirror of the
 * hub that `sesame sync` writes and `sesame api` reads, in the Connect data directory
 * ($XDG_DATA_HOME/.op/data): one SQLite database (DIR/sesame.db, WAL) and the file
 * ciphertexts under DIR/files/<vault>/<file>.
 *
 * Nothing here is plaintext of a secret: the volume keeps the ciphertexts, wrapped vault
 * keys and public keys exactly as the hub's change feed delivers them.
 *
 * Who writes what: sync is the only writer of mirrored data, through a write transaction
 * (volume_tx_*) that applies one change-feed batch together with its last seq - all of it
 * or nothing. Every apply is idempotent and versions never go backwards, so re-applying a
 * batch after a crash is harmless. The api writes only the activity table
 * (volume_activity_append); sync marks activity uploaded.
 *
 * Records: as outputs, the volume fills them and owns nothing afterwards - their pointer
 * members are heap memory of the record, released by the matching volume_*_clear (or
 * volume_*_list_free for arrays). As inputs, the volume only reads them - hence
 * pointer-to-const members, so a caller may point them at jansson strings or buffers.
 * Ids are checked for shape: account ids and last editors uppercase, others lowercase.
 *
 * Thread safety: every function may be called from any thread concurrently (a pool of
 * connections, one per operation), except volume_close (no operation in flight). Several
 * processes may open the same directory (SQLite's locks). Writes of one process are
 * serialised: a second volume_tx_begin (or a content put, an activity write) waits for the
 * open transaction, so a thread must not write while it holds one.
 */
#ifndef SESAME_STORE_VOLUME_H
#define SESAME_STORE_VOLUME_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/ids.h"
#include "common/limits.h"

#define VOLUME_SCHEMA_VERSION  2                    /* migrations this build knows */
#define VOLUME_APPLICATION_ID  0x53455356           /* "SESV" (the hub's is "SESH") */
#define VOLUME_DB_NAME         "sesame.db"          /* the database, in the data directory */
#define VOLUME_FILES_DIR       "files"              /* file ciphertexts, in the data directory */
#define VOLUME_MAX_CONNECTIONS 8                    /* SQLite connections in one handle's pool */
#define VOLUME_CACHE_KIB       512                  /* page cache of one connection (bounds RSS) */
#define VOLUME_BUSY_TIMEOUT_MS 5000                 /* wait for another process's write lock */
#define VOLUME_BUSY_POLL_US    500                  /* how often that wait retries */
#define VOLUME_MAX_PAGE        10000                /* largest limit of an activity page */
#define VOLUME_MAX_BLOB_BYTES  (16u << 20)          /* one ciphertext or wrapped key */
#define VOLUME_MAX_FILE_BYTES  ((16u << 20) + 4096) /* one file ciphertext */
#define VOLUME_JSON_MAX_BYTES  (64u << 10)          /* token vaults JSON, one activity entry */
#define VOLUME_TEXT_MAX_BYTES  JWK_MAX_BYTES        /* a public JWK text */
#define VOLUME_URL_MAX_BYTES   CONFIG_MAX_VALUE_BYTES  /* the hub URL */
#define VOLUME_KID_MAX         KID_MAX_LEN             /* a signing key id, characters */
#define VOLUME_TYPE_MAX        32                      /* vault type name + NUL */
#define VOLUME_CATEGORY_MAX    32                      /* item category name + NUL */
#define VOLUME_STATE_MAX       16                      /* item state + NUL */
#define VOLUME_SHA256_BYTES    32                      /* a SHA-256 digest */
#define VOLUME_PATH_MAX        (CONFIG_MAX_PATH + 128) /* a path under the data directory */
#define VOLUME_WAL_RETRY_MS    10 /* pause between attempts to switch a new volume to WAL */
#define VOLUME_LOG_EVERY_S     10 /* a full disk or damage is logged at most this often */
#define VOLUME_CORRUPT_KEEP    3  /* damaged databases kept aside (the newest) */
#define VOLUME_CORRUPT_SUFFIX  ".corrupt-" /* DIR/sesame.db.corrupt-<unix time> */

struct volume;
struct volume_tx;

/* The volume's identity and sync progress (one row). */
struct volume_meta {
    char vm_account[ID_LEN + 1]; /* uppercase account id, "" until sync sets it */
    char vm_server[ID_LEN + 1];  /* lowercase server id, "" until sync sets it */
    const char *vm_hub_url;      /* OUT: the hub URL sync last used, "" if none (heap) */
    uint64_t vm_last_seq;        /* OUT: last change-feed seq applied */
    int64_t vm_last_sync_at;     /* OUT: last successful sync, Unix seconds, 0 = never */
    int vm_server_deleted;       /* OUT: 1 once the hub deleted this server */
    uint64_t vm_generation;      /* OUT: bumped by every commit that changed mirrored data */
    uint64_t vm_item_seq;        /* OUT: seq of the latest item change (volume_item_changes) */
    uint64_t vm_item_epoch;      /* OUT: moves whenever item rows are removed (a vault dropped) */
};

/* A token-signing key (public half). */
struct volume_signing_key {
    char vk_kid[VOLUME_KID_MAX + 1]; /* 1..VOLUME_KID_MAX of [A-Za-z0-9._-] */
    const char *vk_public_jwk;       /* public JWK text */
    int64_t vk_created_at;           /* Unix seconds */
    int64_t vk_retired_at;           /* 0 while active */
};

/* A token registered for this server (never the token itself). */
struct volume_token {
    char vt_jti[ID_LEN + 1];    /* lowercase token id */
    char vt_server[ID_LEN + 1]; /* lowercase server id ("" only in a revocation-only row) */
    const char *vt_vaults_json; /* the token's vts claim, JSON text */
    int64_t vt_expires_at;      /* 0 = no expiry */
    int64_t vt_created_at;      /* Unix seconds */
    int64_t vt_revoked_at;      /* 0 while not revoked */
};

/* What volume_token_state knows of a jti. */
enum volume_token_status {
    VOLUME_TOKEN_UNKNOWN = 0, /* never registered for this server (or not synced yet) */
    VOLUME_TOKEN_ACTIVE,      /* registered and not revoked (expiry is the caller's check) */
    VOLUME_TOKEN_REVOKED,     /* revoked, or the server was deleted */
};

/* A vault granted to this server: the vault key sealed to the server's wrap key. */
struct volume_grant {
    char vg_vault[ID_LEN + 1];           /* lowercase vault id */
    const unsigned char *vg_key_wrapped; /* sealed vault key */
    size_t vg_key_wrapped_len;           /* bytes of vg_key_wrapped */
    int64_t vg_created_at;               /* Unix seconds */
};

/* A vault: encrypted attributes and versions. */
struct volume_vault {
    char vv_id[ID_LEN + 1];           /* lowercase vault id */
    char vv_type[VOLUME_TYPE_MAX];    /* Connect vault type, e.g. "USER_CREATED" */
    const unsigned char *vv_attrs_ct; /* attributes ciphertext */
    size_t vv_attrs_ct_len;           /* bytes of vv_attrs_ct */
    uint64_t vv_attribute_version;    /* >= 1 */
    uint64_t vv_content_version;      /* >= 1; never goes backwards (docs/volume.md) */
    uint64_t vv_items;                /* OUT: live items in the volume */
    int64_t vv_created_at;            /* Unix seconds */
    int64_t vv_updated_at;            /* Unix seconds */
};

/* An item: plaintext metadata and two ciphertexts. */
struct volume_item {
    char vi_id[ID_LEN + 1];                /* lowercase item id */
    char vi_vault[ID_LEN + 1];             /* lowercase vault id */
    uint64_t vi_version;                   /* >= 1 */
    char vi_state[VOLUME_STATE_MAX];       /* "" (active) or e.g. "ARCHIVED"; [A-Z_] */
    char vi_category[VOLUME_CATEGORY_MAX]; /* e.g. "LOGIN"; [A-Z_], not empty */
    const unsigned char *vi_overview;      /* overview ciphertext */
    size_t vi_overview_len;                /* bytes of vi_overview */
    const unsigned char *vi_details;       /* details ciphertext (NULL in lists) */
    size_t vi_details_len;                 /* bytes of vi_details */
    int64_t vi_created_at;                 /* Unix seconds */
    int64_t vi_updated_at;                 /* Unix seconds */
    char vi_last_edited_by[ID_LEN + 1];    /* uppercase account or server id, or "" */
};

/* A file's metadata; its ciphertext lives in DIR/files/<vault>/<id>. */
struct volume_file {
    char vf_id[ID_LEN + 1];                       /* lowercase file id */
    char vf_vault[ID_LEN + 1];                    /* lowercase vault id */
    uint64_t vf_size;                             /* plaintext size, as the hub states it */
    unsigned char vf_sha256[VOLUME_SHA256_BYTES]; /* SHA-256 of the ciphertext */
    int64_t vf_created_at;                        /* Unix seconds */
    int vf_present;                               /* OUT: 1 once the content is stored */
};

/* One activity entry of the api. */
struct volume_activity {
    uint64_t ve_id;            /* OUT: insertion order, from 1 */
    const char *ve_entry_json; /* the APIRequest JSON text, verbatim */
    int ve_uploaded;           /* OUT: 1 once sync uploaded it to the hub */
};

/* ---- Opening ------------------------------------------------------------------------ */

/*
 * Opens the volume in the data directory dir: creates dir (and missing parents) 0700,
 * dir/sesame.db 0600 (WAL, migrations run; a newer schema or another application's file
 * is refused) and dir/files 0700. *out receives the handle (volume_close it) or NULL.
 * Every failure writes one line to errmsg. Returns ERR_OK, ERR_CONFIG (bad path), ERR_IO,
 * ERR_NOMEM or ERR_STORAGE.
 */
enum err volume_open(struct volume **out, const char *dir, char *errmsg, size_t errcap) SESAME_WUR;

/*
 * volume_open for sync: a database SQLite reports damaged (SQLITE_CORRUPT, SQLITE_NOTADB)
 * is rebuilt with volume_rebuild (aside, asidecap as there; aside must not be NULL to
 * repair) and ERR_OK returned with the empty volume; the error is logged. With aside NULL
 * it is volume_open.
 */
enum err volume_open_repair(struct volume **out, const char *dir, char *aside, size_t asidecap,
                            char *errmsg, size_t errcap) SESAME_WUR;

/* Closes every connection (the process's last one checkpoints the WAL) and frees v.
 * NULL is fine. No operation or transaction may be in flight. */
void volume_close(struct volume *v);

/*
 * Removes what a crash can leave under dir/files: temporary files, contents whose file
 * row is gone or not marked present, and empty vault directories (names that are not ids
 * are left alone). For sync, the only process that writes contents, e.g. at start-up.
 * *removed (may be NULL) receives the number of entries removed. Returns ERR_OK, ERR_IO,
 * ERR_NOMEM, ERR_STORAGE.
 */
enum err volume_files_gc(struct volume *v, size_t *removed) SESAME_WUR;

/* ---- Faults: a full disk, a damaged database or file (docs/volume.md "Damage") ---------
 *
 * Every operation maps SQLite's SQLITE_FULL (and ENOSPC/EDQUOT of file writes) to
 * ERR_NO_SPACE and SQLITE_CORRUPT / SQLITE_NOTADB (and a row that is not the one asked
 * for) to ERR_CORRUPT, and records them in the handle's flags below; those two are logged
 * at most once every VOLUME_LOG_EVERY_S per process.
 */

/* Returns 1, and clears the flag, when an operation of v found the database damaged since
 * the last call (or volume_check did); else 0. */
int volume_take_corrupt(struct volume *v);

/* Returns 1, and clears the flag, when a file content failed its SHA-256 check in
 * volume_file_read since the last call; else 0. */
int volume_take_file_corrupt(struct volume *v);

/* Returns 1 while the last write of v (transaction, content, activity) failed for want of
 * space: set by ERR_NO_SPACE, cleared by the next write that succeeds. */
int volume_out_of_space(struct volume *v);

/* Returns v's rebuild epoch: 1 after volume_open, one more after each volume_rebuild. */
uint64_t volume_epoch(struct volume *v);

/*
 * Checks the database's structure on a connection of its own (so that no cached page hides
 * damage on disk) with PRAGMA quick_check - every page read once, docs/volume.md for the
 * cost - or, with full, PRAGMA integrity_check (also indexes against their tables; slower).
 * Returns ERR_OK, ERR_CORRUPT (errmsg: SQLite's first complaint; the flag of
 * volume_take_corrupt is set), or another error of SQLite.
 */
enum err volume_check(struct volume *v, int full, char *errmsg, size_t errcap) SESAME_WUR;

/*
 * Rebuilds a damaged database in place (sync only): keeps a copy of it (and of its WAL) as
 * DIR/sesame.db.corrupt-<unix time> (0600; aside, may be NULL, receives its path, "" when
 * the copy could not be made, e.g. on a full disk; only the newest VOLUME_CORRUPT_KEEP
 * copies are kept), then empties the file through SQLite
 * (SQLITE_DBCONFIG_RESET_DATABASE + VACUUM: the other process's connections see an empty
 * database, never a half-replaced file), makes the schema again with a random generation
 * (so that the api reloads) and bumps the epoch. File contents stay on disk for
 * volume_file_content_adopt. Returns ERR_OK or the error of the reset.
 */
enum err volume_rebuild(struct volume *v, char *aside, size_t asidecap, char *errmsg,
                        size_t errcap) SESAME_WUR;

/*
 * volume_tx_begin, but ERR_CONFLICT (no transaction) when v was rebuilt since epoch (a
 * volume_epoch value; 0: no check). The check holds until the commit.
 */
enum err volume_tx_begin_at(struct volume *v, uint64_t epoch, struct volume_tx **tx) SESAME_WUR;

/*
 * Marks the file vault/id present when its content is already on disk and matches the
 * recorded SHA-256 (after a rebuild). ERR_OK (present now or before), ERR_NOT_FOUND (no
 * such row, or no usable content: fetch it), or a storage error.
 */
enum err volume_file_content_adopt(struct volume *v, const char *vault, const char *id) SESAME_WUR;

/*
 * Checks every content marked present against its SHA-256; one that is missing or does not
 * match is marked absent (so that sync fetches it again) and moved aside to
 * files/<vault>/<id>.corrupt. *bad (may be NULL) receives how many. ERR_OK or a storage
 * error.
 */
enum err volume_files_verify(struct volume *v, size_t *bad) SESAME_WUR;

/* ---- The write transaction (sync) ---------------------------------------------------- */

/*
 * Starts the write transaction of one change-feed batch (waits for this process's other
 * transaction and, up to VOLUME_BUSY_TIMEOUT_MS, for another process's). *tx receives it;
 * end it with volume_tx_commit or volume_tx_rollback. The first error of any volume_tx_*
 * call poisons the transaction: later calls return that error and commit rolls back.
 * Returns ERR_OK, ERR_BAD_INPUT, ERR_NOMEM, ERR_STORAGE.
 */
enum err volume_tx_begin(struct volume *v, struct volume_tx **tx) SESAME_WUR;

/*
 * Commits everything of tx in one SQLite transaction (durable on return: synchronous=FULL)
 * and bumps the generation if mirrored data changed; then removes the file contents of
 * vaults and files the transaction dropped. Frees tx in every case. On any error
 * (including an earlier one that poisoned tx) nothing of tx is applied and that error is
 * returned: ERR_OK, or what the failed call returned, or ERR_STORAGE / ERR_NOMEM.
 */
enum err volume_tx_commit(struct volume_tx *tx) SESAME_WUR;

/* Discards everything of tx and frees it. NULL is fine. */
void volume_tx_rollback(struct volume_tx *tx);

/*
 * Records whose mirror this volume is: account (uppercase), server (lowercase) and
 * hub_url (1..VOLUME_URL_MAX_BYTES, or NULL to keep the stored one). The first call sets
 * them; later calls must name the same account and server (a volume never changes hands)
 * else ERR_CONFLICT. Returns ERR_OK, ERR_BAD_INPUT, ERR_CONFLICT, ERR_STORAGE.
 */
enum err volume_tx_set_identity(struct volume_tx *tx, const char *account, const char *server,
                                const char *hub_url) SESAME_WUR;

/* Records seq as the last applied change-feed seq (as given: sync owns it). */
enum err volume_tx_set_last_seq(struct volume_tx *tx, uint64_t seq) SESAME_WUR;

/* Records at (Unix seconds) as the time of the last successful sync. */
enum err volume_tx_set_sync_time(struct volume_tx *tx, int64_t at) SESAME_WUR;

/*
 * Marks the server deleted by the hub and drops every grant, vault, item and file (its
 * tokens all read as revoked from then on). Idempotent. ERR_OK or ERR_STORAGE.
 */
enum err volume_tx_set_server_deleted(struct volume_tx *tx) SESAME_WUR;

/*
 * Drops every grant, vault, item and file (for a full resync, e.g. when the hub's last
 * seq is below ours). Tokens, signing keys, identity and activity stay. ERR_OK, ERR_STORAGE.
 */
enum err volume_tx_vaults_clear(struct volume_tx *tx) SESAME_WUR;

/*
 * Creates or updates a signing key (vk_kid, vk_public_jwk, vk_created_at, vk_retired_at).
 * A retired key stays retired (a put with vk_retired_at 0 does not revive it).
 * Returns ERR_OK, ERR_BAD_INPUT, ERR_STORAGE.
 */
enum err volume_tx_signing_key_put(struct volume_tx *tx,
                                   const struct volume_signing_key *k) SESAME_WUR;

/* Retires key kid at retired_at (> 0) unless already retired; an unknown kid is a no-op. */
enum err volume_tx_signing_key_retire(struct volume_tx *tx, const char *kid,
                                      int64_t retired_at) SESAME_WUR;

/*
 * Creates or updates a token (vt_jti, vt_server, vt_vaults_json, vt_expires_at,
 * vt_created_at, vt_revoked_at). vt_server must be this volume's server once the identity
 * is set (else ERR_BAD_INPUT). A revoked token stays revoked. Returns ERR_OK,
 * ERR_BAD_INPUT, ERR_STORAGE.
 */
enum err volume_tx_token_put(struct volume_tx *tx, const struct volume_token *t) SESAME_WUR;

/*
 * Revokes token jti at revoked_at (> 0) unless already revoked. An unknown jti is recorded
 * as revoked, so that a revocation applied before its registration still wins.
 */
enum err volume_tx_token_revoke(struct volume_tx *tx, const char *jti,
                                int64_t revoked_at) SESAME_WUR;

/* Creates or replaces the grant of vault vg_vault (vg_key_wrapped, vg_created_at). */
enum err volume_tx_grant_put(struct volume_tx *tx, const struct volume_grant *g) SESAME_WUR;

/*
 * Removes the grant of vault and, with it, the vault, its items and its files (their
 * contents are removed after the commit). Idempotent: a missing grant is ERR_OK.
 */
enum err volume_tx_grant_delete(struct volume_tx *tx, const char *vault) SESAME_WUR;

/*
 * Creates or updates a vault (every member but vv_items). Versions never go backwards:
 * the attributes and type are replaced only by a higher vv_attribute_version, the content
 * version and updated_at only grow. The vault's items and files may arrive before it.
 * Returns ERR_OK, ERR_BAD_INPUT, ERR_STORAGE.
 */
enum err volume_tx_vault_put(struct volume_tx *tx, const struct volume_vault *vv) SESAME_WUR;

/*
 * Raises the content version of vault to at least cv (the hub's value after an item
 * change; a vault the volume does not hold is left alone). Returns ERR_OK, ERR_BAD_INPUT
 * or ERR_STORAGE.
 */
enum err volume_tx_vault_content_at_least(struct volume_tx *tx, const char *vault,
                                          uint64_t cv) SESAME_WUR;

/* Removes a vault with its items, files and grant, as volume_tx_grant_delete. Idempotent. */
enum err volume_tx_vault_delete(struct volume_tx *tx, const char *vault) SESAME_WUR;

/*
 * Creates or replaces an item (every member, details required) if vi_version is higher
 * than the stored version (live or deleted); otherwise ignores it (ERR_OK). An applied
 * change bumps the vault's content version by one and raises its updated_at.
 * Returns ERR_OK, ERR_BAD_INPUT, ERR_STORAGE.
 */
enum err volume_tx_item_put(struct volume_tx *tx, const struct volume_item *it) SESAME_WUR;

/*
 * Deletes item id of vault at version (the version the hub gave the deletion): the row
 * stays as a tombstone with its ciphertexts erased, so that an older put is still
 * ignored. Ignored if the stored version is already >= version. editor: uppercase id, or
 * NULL / "". Returns ERR_OK, ERR_BAD_INPUT, ERR_STORAGE.
 */
enum err volume_tx_item_delete(struct volume_tx *tx, const char *vault, const char *id,
                               uint64_t version, int64_t updated_at, const char *editor) SESAME_WUR;

/*
 * Records a file's metadata (vf_id, vf_vault, vf_size, vf_sha256, vf_created_at), its
 * content not yet present. The same digest again is a no-op (a present content stays);
 * another digest replaces the metadata and drops the content. ERR_OK, ERR_BAD_INPUT,
 * ERR_STORAGE.
 */
enum err volume_tx_file_put(struct volume_tx *tx, const struct volume_file *f) SESAME_WUR;

/* ---- File contents ------------------------------------------------------------------- */

/*
 * Stores the ciphertext of file id of vault (sync, after fetching it; not inside an open
 * transaction of this process): checks it against the recorded SHA-256, writes
 * dir/files/<vault>/<id> atomically (temporary file, fsync, rename, fsync of the
 * directory) and marks the content present. Returns ERR_OK, ERR_BAD_INPUT (no content, or
 * not the recorded digest), ERR_TOO_LARGE, ERR_NOT_FOUND (no such file row), ERR_IO,
 * ERR_NOMEM, ERR_STORAGE.
 */
enum err volume_file_content_put(struct volume *v, const char *vault, const char *id,
                                 const unsigned char *data, size_t len) SESAME_WUR;

/*
 * Reads the ciphertext of file id of a served vault into *data (*len bytes; mem_free it),
 * verified against the recorded SHA-256: corrupted or truncated content is never returned.
 * Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND (no such file), ERR_NOT_READY (content not
 * fetched yet), ERR_CORRUPT (content missing, corrupted, truncated, too large or not a
 * regular file: logged, and the flag of volume_take_file_corrupt set), ERR_IO, ERR_NOMEM.
 */
enum err volume_file_read(struct volume *v, const char *vault, const char *id, unsigned char **data,
                          size_t *len) SESAME_WUR;

/* ---- Reads (api) ---------------------------------------------------------------------- */

/* Fills *out (volume_meta_clear it). ERR_OK, ERR_BAD_INPUT, ERR_NOMEM, ERR_STORAGE. */
enum err volume_meta_get(struct volume *v, struct volume_meta *out) SESAME_WUR;

/* Frees the heap members of m and zeroes it. */
void volume_meta_clear(struct volume_meta *m);

/* Reads the last applied change-feed seq into *seq. ERR_OK, ERR_BAD_INPUT, ERR_STORAGE. */
enum err volume_last_seq(struct volume *v, uint64_t *seq) SESAME_WUR;

/*
 * Reads the generation into *gen: a counter bumped by every commit that changed mirrored
 * data (in any process). Cheap; the api re-reads its index when it differs from the value
 * it saw before reading. ERR_OK, ERR_BAD_INPUT, ERR_STORAGE.
 */
enum err volume_generation(struct volume *v, uint64_t *gen) SESAME_WUR;

/*
 * Looks up token jti: *state (UNKNOWN, ACTIVE or REVOKED - every token reads as revoked
 * once the server is deleted) and *expires_at (may be NULL; 0 = none or unknown).
 * ERR_OK for all three states; ERR_BAD_INPUT, ERR_STORAGE.
 */
enum err volume_token_state(struct volume *v, const char *jti, enum volume_token_status *state,
                            int64_t *expires_at) SESAME_WUR;

/* Fills *out with token jti (volume_token_clear). ERR_NOT_FOUND if unknown. */
enum err volume_token_get(struct volume *v, const char *jti, struct volume_token *out) SESAME_WUR;

/* Frees the heap members of t and zeroes it. */
void volume_token_clear(struct volume_token *t);

/* Lists the signing keys, active and retired, oldest first (volume_signing_key_list_free). */
enum err volume_signing_key_list(struct volume *v, struct volume_signing_key **out,
                                 size_t *n) SESAME_WUR;

/* Fills *out with key kid (volume_signing_key_clear). ERR_NOT_FOUND if unknown. */
enum err volume_signing_key_get(struct volume *v, const char *kid,
                                struct volume_signing_key *out) SESAME_WUR;

/* Frees the heap members of k and zeroes it. */
void volume_signing_key_clear(struct volume_signing_key *k);

/* Clears and frees an array from volume_signing_key_list. NULL is fine. */
void volume_signing_key_list_free(struct volume_signing_key *arr, size_t n);

/* Lists the grants with their wrapped keys, oldest first (volume_grant_list_free). */
enum err volume_grant_list(struct volume *v, struct volume_grant **out, size_t *n) SESAME_WUR;

/* Fills *out with the grant of vault (volume_grant_clear). ERR_NOT_FOUND if none. */
enum err volume_grant_get(struct volume *v, const char *vault, struct volume_grant *out) SESAME_WUR;

/* Frees the heap members of g and zeroes it. */
void volume_grant_clear(struct volume_grant *g);

/* Clears and frees an array from volume_grant_list. NULL is fine. */
void volume_grant_list_free(struct volume_grant *arr, size_t n);

/*
 * Lists the vaults the api may serve - those with both a record and a grant - oldest
 * first (volume_vault_list_free). ERR_OK, ERR_BAD_INPUT, ERR_NOMEM, ERR_STORAGE.
 */
enum err volume_vault_list(struct volume *v, struct volume_vault **out, size_t *n) SESAME_WUR;

/*
 * volume_vault_list without counting each vault's items (vv_items 0): for the api's index,
 * which counts what it holds, and would otherwise walk every item at every change.
 */
enum err volume_vault_records(struct volume *v, struct volume_vault **out, size_t *n) SESAME_WUR;

/* Fills *out with a vault that has a record and a grant (volume_vault_clear); else
 * ERR_NOT_FOUND. */
enum err volume_vault_get(struct volume *v, const char *id, struct volume_vault *out) SESAME_WUR;

/* Frees the heap members of vv and zeroes it. */
void volume_vault_clear(struct volume_vault *vv);

/* Clears and frees an array from volume_vault_list. NULL is fine. */
void volume_vault_list_free(struct volume_vault *arr, size_t n);

/*
 * Lists the live items of a served vault (volume_vault_get's rule), oldest first, with
 * their overview ciphertext and without details (vi_details NULL) - what the api's
 * in-memory index is built from (volume_item_list_free). ERR_NOT_FOUND: vault.
 */
enum err volume_item_list(struct volume *v, const char *vault, struct volume_item **out,
                          size_t *n) SESAME_WUR;

/*
 * volume_item_list without the ciphertexts (vi_overview NULL): ids, versions, states and
 * times, for the api's index to find what changed since its last build without reading
 * every overview (volume_item_list_free). ERR_NOT_FOUND: vault.
 */
enum err volume_item_heads(struct volume *v, const char *vault, struct volume_item **out,
                           size_t *n) SESAME_WUR;

/* Fills *out with a live item of a served vault, details included (volume_item_clear).
 * ERR_NOT_FOUND if none. */
enum err volume_item_get(struct volume *v, const char *vault, const char *id,
                         struct volume_item *out) SESAME_WUR;

/* Frees the heap members of it and zeroes it. */
void volume_item_clear(struct volume_item *it);

/* Clears and frees an array from volume_item_list. NULL is fine. */
void volume_item_list_free(struct volume_item *arr, size_t n);

/* One item row as changed after a given seq (volume_item_changes). */
struct volume_item_change {
    struct volume_item vc_item; /* vi_overview empty and vi_state "" for a deletion */
    int vc_deleted;             /* 1: deleted (the row is a tombstone) */
    uint64_t vc_seq;            /* its place in commit order (meta vm_item_seq) */
};

/*
 * Lists, oldest first, at most limit item rows of any vault whose last change is later
 * than since (a vm_item_seq read before), with their overview ciphertexts: what the api's
 * index applies to its previous generation instead of reading every item again. Valid
 * while vm_item_epoch stays the same. *out is freed with volume_item_changes_free.
 */
enum err volume_item_changes(struct volume *v, uint64_t since, size_t limit,
                             struct volume_item_change **out, size_t *n) SESAME_WUR;

/* Frees a volume_item_changes array. */
void volume_item_changes_free(struct volume_item_change *arr, size_t n);

/*
 * Sets *n to the number of files whose content is not in the volume yet (sync's cue to
 * fetch; cheaper than listing every vault). Returns ERR_OK or a storage error.
 */
enum err volume_files_missing(struct volume *v, uint64_t *n) SESAME_WUR;

/* Lists the files of a served vault, oldest first (mem_free the array). ERR_NOT_FOUND:
 * vault. */
enum err volume_file_list(struct volume *v, const char *vault, struct volume_file **out,
                          size_t *n) SESAME_WUR;

/* Fills *out with the metadata of file id of a served vault. ERR_NOT_FOUND if none. */
enum err volume_file_get(struct volume *v, const char *vault, const char *id,
                         struct volume_file *out) SESAME_WUR;

/* ---- Activity (api writes, sync uploads) --------------------------------------------- */

/*
 * Appends one activity entry (JSON text, 1..VOLUME_JSON_MAX_BYTES, kept verbatim), not yet
 * uploaded; *id (may be NULL) receives its id. Returns ERR_OK, ERR_BAD_INPUT, ERR_NOMEM,
 * ERR_STORAGE.
 */
enum err volume_activity_append(struct volume *v, const char *entry_json, uint64_t *id) SESAME_WUR;

/*
 * Appends n entries (each as volume_activity_append's) in ONE transaction: all or none.
 * The api batches its entries this way so that a busy server pays one commit per batch,
 * not per request. Returns ERR_OK, ERR_BAD_INPUT (an entry, before anything is written),
 * ERR_NOMEM, ERR_STORAGE.
 */
enum err volume_activity_append_batch(struct volume *v, const char *const *entries,
                                      size_t n) SESAME_WUR;

/*
 * Reads entries in insertion order, skipping offset, at most limit (1..VOLUME_MAX_PAGE),
 * into *out (*n; volume_activity_list_free); *total receives the count of all entries
 * (Content-Range), read in the same snapshot. ERR_OK, ERR_BAD_INPUT, ERR_NOMEM, ERR_STORAGE.
 */
enum err volume_activity_query(struct volume *v, size_t limit, size_t offset,
                               struct volume_activity **out, size_t *n, uint64_t *total) SESAME_WUR;

/*
 * Sets *n to the entries from the oldest one not uploaded to the newest: the backlog sync
 * has to upload (exact while uploads go in id order, as sync's do; else an upper bound).
 * ERR_OK, ERR_BAD_INPUT, ERR_STORAGE.
 */
enum err volume_activity_backlog(struct volume *v, uint64_t *n) SESAME_WUR;

/* Reads up to limit (1..VOLUME_MAX_PAGE) entries not yet uploaded, oldest first. */
enum err volume_activity_pending(struct volume *v, size_t limit, struct volume_activity **out,
                                 size_t *n) SESAME_WUR;

/* Marks the n entries ids[] uploaded, in one transaction (unknown ids are skipped). */
enum err volume_activity_mark_uploaded(struct volume *v, const uint64_t *ids, size_t n) SESAME_WUR;

/*
 * Deletes uploaded entries older than the newest keep entries (pending ones always stay);
 * *removed (may be NULL) receives how many. ERR_OK, ERR_BAD_INPUT, ERR_STORAGE.
 */
enum err volume_activity_prune(struct volume *v, uint64_t keep, size_t *removed) SESAME_WUR;

/* Frees the heap members of a and zeroes it. */
void volume_activity_clear(struct volume_activity *a);

/* Clears and frees an array from an activity read. NULL is fine. */
void volume_activity_list_free(struct volume_activity *arr, size_t n);

#endif
