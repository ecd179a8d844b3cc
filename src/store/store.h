/*
 * store.h - the hub's storage interface (docs/hub-api.md "Storage").
 *
 * Handlers see only this header: an opaque struct store, plain record structs and
 * store_* operations. store.c implements it once over a database driver (store_db.h):
 * store_sqlite.c (SQLite, WAL, synchronous=FULL) or store_pg.c (PostgreSQL, which several
 * hub replicas share), chosen by store_open from the URL.
 *
 * The hub stores only ciphertext of anything secret: no function here takes plaintext.
 * Blobs (*_ct, key_admin, key_wrapped, file contents) are opaque bytes to the store.
 *
 * Every operation that changes an account appends one or more change records in the same
 * transaction, numbered by a per-account, gap-free sequence in commit order (writers are
 * serialised: BEGIN IMMEDIATE on SQLite, a row lock on the account on PostgreSQL).
 *
 * Records: as outputs, the store fills them and owns nothing afterwards - their pointer
 * members are then heap memory of the record, released by the matching store_*_clear (or
 * store_*_list_free for arrays). As inputs, the store only reads them and never keeps or
 * frees the caller's pointers - hence pointer-to-const members, so a caller may point them
 * at literals or at jansson strings without casts.
 *
 * Ids are checked for shape: account ids and last editors are uppercase (id_is_valid_upper),
 * every other id lowercase (id_is_valid); malformed arguments give ERR_BAD_INPUT.
 * Times are Unix seconds, read from the store's clock (store_set_clock).
 * Thread safety: every function may be called from any thread concurrently, except
 * store_close, store_set_clock and store_set_commit_hook (call them with no other
 * operation in flight).
 */
#ifndef SESAME_STORE_STORE_H
#define SESAME_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/ids.h"
#include "common/limits.h"

#define STORE_SCHEMA_VERSION  3             /* migrations this build knows */
#define STORE_MAX_CONNECTIONS 16            /* database connections in the pool */
#define STORE_URL_MAX_BYTES   4096          /* a postgresql:// URL */
#define STORE_BUSY_TIMEOUT_MS 5000          /* wait for another process's write lock */
#define STORE_MAX_PAGE        10000         /* largest limit of a changes / activity page */
#define STORE_TEXT_MAX_BYTES  JWK_MAX_BYTES /* a public JWK or wrap key text */
#define STORE_NAME_MAX_BYTES  1024          /* a server or token name */
#define STORE_JSON_MAX_BYTES  (64u << 10)   /* token vaults_json, one activity entry */
#define STORE_KID_MAX         KID_MAX_LEN   /* a signing key id, characters */
#define STORE_TYPE_MAX        32            /* vault type name + NUL */
#define STORE_CATEGORY_MAX    32            /* item category name + NUL (ITEM_CATEGORY_MAX) */
#define STORE_STATE_MAX       16            /* item state + NUL (ITEM_STATE_MAX) */
#define STORE_NONCE_MAX       64            /* admin request nonce, characters */
#define STORE_SHA256_BYTES    32            /* a SHA-256 digest */
#define STORE_SHA256_HEX_LEN  64            /* a SHA-256 digest in hex */
#define STORE_REF_MAX         STORE_KID_MAX /* change ref_id: an id or a kid */
#define STORE_BASE_NEW        UINT64_MAX    /* store_item_put: the id must be unused (create) */

struct store;

/* An account: the admin's public keys. */
struct store_account {
    char ac_id[ID_LEN + 1];        /* uppercase account id */
    const char *ac_admin_sign_jwk; /* admin signing key, public JWK (P-256) */
    const char *ac_admin_wrap_pub; /* admin wrap key, public (X25519 JWK) */
    int64_t ac_created_at;         /* OUT */
    uint64_t ac_last_seq;          /* OUT: highest change seq of the account */
};

/* A token-signing key (public half). */
struct store_signing_key {
    char sk_kid[STORE_KID_MAX + 1]; /* key id: 1..STORE_KID_MAX of [A-Za-z0-9._-] */
    const char *sk_public_jwk;      /* public JWK text */
    int64_t sk_created_at;          /* OUT */
    int64_t sk_retired_at;          /* OUT: 0 while active */
};

/* A vault: encrypted attributes and the vault key sealed to the admin. */
struct store_vault {
    char va_id[ID_LEN + 1];            /* lowercase vault id */
    const unsigned char *va_attrs_ct;  /* attributes ciphertext (name, description...) */
    size_t va_attrs_ct_len;            /* bytes of va_attrs_ct */
    const unsigned char *va_key_admin; /* vault key sealed to the admin wrap key */
    size_t va_key_admin_len;           /* bytes of va_key_admin */
    char va_type[STORE_TYPE_MAX];      /* Connect vault type, e.g. "USER_CREATED" */
    uint64_t va_attribute_version;     /* OUT: 1 on create, +1 per attribute update */
    uint64_t va_content_version;       /* OUT: 1 on create, +1 per item put or delete */
    uint64_t va_items;                 /* OUT: live items */
    int64_t va_created_at;             /* OUT */
    int64_t va_updated_at;             /* OUT */
};

/* An item: plaintext metadata and two ciphertexts. */
struct store_item {
    char it_id[ID_LEN + 1];               /* lowercase item id */
    char it_vault[ID_LEN + 1];            /* lowercase vault id */
    uint64_t it_version;                  /* OUT: 1 on create, +1 per put or delete */
    char it_state[STORE_STATE_MAX];       /* "" (active) or e.g. "ARCHIVED"; [A-Z_] */
    char it_category[STORE_CATEGORY_MAX]; /* e.g. "LOGIN"; [A-Z_], not empty */
    const unsigned char *it_overview;     /* overview ciphertext */
    size_t it_overview_len;               /* bytes of it_overview */
    const unsigned char *it_details;      /* details ciphertext (NULL in lists) */
    size_t it_details_len;                /* bytes of it_details */
    int64_t it_created_at;                /* OUT */
    int64_t it_updated_at;                /* OUT */
    char it_last_edited_by[ID_LEN + 1];   /* uppercase account or server id, or "" */
};

/* A file: one ciphertext blob. */
struct store_file {
    char fi_id[ID_LEN + 1];                      /* lowercase file id */
    char fi_vault[ID_LEN + 1];                   /* lowercase vault id */
    uint64_t fi_size;                            /* plaintext size, as the writer states it */
    const unsigned char *fi_content;             /* ciphertext (NULL from store_file_exists) */
    size_t fi_content_len;                       /* bytes of fi_content */
    unsigned char fi_sha256[STORE_SHA256_BYTES]; /* SHA-256 of the ciphertext */
    int64_t fi_created_at;                       /* OUT */
};

/* A Connect server registration (public keys only). */
struct store_server {
    char se_id[ID_LEN + 1];               /* lowercase server id */
    const char *se_name;                  /* the admin's label, 1..STORE_NAME_MAX_BYTES */
    const char *se_sign_jwk;              /* server signing key, public JWK (P-256) */
    const char *se_wrap_pub;              /* server wrap key, public (X25519 JWK) */
    const unsigned char *se_unlock_admin; /* unlock secret sealed to the admin wrap key */
    size_t se_unlock_admin_len;           /* bytes of se_unlock_admin (>= 1) */
    int64_t se_created_at;                /* OUT */
};

/* A vault granted to a server: the vault key sealed to the server's wrap key. */
struct store_grant {
    char gr_server[ID_LEN + 1];          /* lowercase server id */
    char gr_vault[ID_LEN + 1];           /* lowercase vault id */
    const unsigned char *gr_key_wrapped; /* sealed vault key */
    size_t gr_key_wrapped_len;           /* bytes of gr_key_wrapped */
    int64_t gr_created_at;               /* OUT: time of the latest put */
};

/* A registered token (never the token itself). */
struct store_token {
    char tk_jti[ID_LEN + 1];                  /* lowercase token id */
    const char *tk_name;                      /* 1..STORE_NAME_MAX_BYTES */
    char tk_server[ID_LEN + 1];               /* lowercase server id */
    const char *tk_vaults_json;               /* the token's vts claim, JSON text */
    int64_t tk_expires_at;                    /* 0 = no expiry */
    char tk_sha256[STORE_SHA256_HEX_LEN + 1]; /* lowercase hex SHA-256 of the token text */
    int64_t tk_created_at;                    /* OUT */
    int64_t tk_revoked_at;                    /* OUT: 0 while not revoked */
};

/* Kinds of change records; the name (store_change_kind_name) is what the database keeps. */
enum store_change_kind {
    STORE_CHANGE_ACCOUNT_CREATE = 1, /* "account_create" */
    STORE_CHANGE_SIGNING_KEY_ADD,    /* "signing_key_add" */
    STORE_CHANGE_SIGNING_KEY_RETIRE, /* "signing_key_retire" */
    STORE_CHANGE_VAULT_CREATE,       /* "vault_create" */
    STORE_CHANGE_VAULT_UPDATE,       /* "vault_update" */
    STORE_CHANGE_VAULT_DELETE,       /* "vault_delete" */
    STORE_CHANGE_ITEM_PUT,           /* "item_put" */
    STORE_CHANGE_ITEM_DELETE,        /* "item_delete" */
    STORE_CHANGE_FILE_PUT,           /* "file_put" */
    STORE_CHANGE_SERVER_CREATE,      /* "server_create" */
    STORE_CHANGE_SERVER_DELETE,      /* "server_delete" */
    STORE_CHANGE_GRANT_PUT,          /* "grant_put" */
    STORE_CHANGE_GRANT_DELETE,       /* "grant_delete" */
    STORE_CHANGE_TOKEN_REGISTER,     /* "token_register" */
    STORE_CHANGE_TOKEN_REVOKE,       /* "token_revoke" */
    STORE_CHANGE__COUNT
};

/*
 * One change record. ch_payload is JSON text (docs/hub-api.md lists each kind's members);
 * a change whose content a later change replaced has ch_superseded_by set and the payload
 * {"supersededBy":N} - its kind, vault and ref stay, its old content is erased.
 */
struct store_change {
    uint64_t ch_seq;                /* per-account sequence number */
    enum store_change_kind ch_kind; /* what happened */
    char ch_vault[ID_LEN + 1];      /* vault concerned, or "" */
    char ch_ref[STORE_REF_MAX + 1]; /* item, file, server, jti, kid or account id */
    char ch_server[ID_LEN + 1];     /* server concerned (grants, tokens, servers), or "" */
    const char *ch_payload;         /* JSON text (heap) */
    uint64_t ch_superseded_by;      /* 0, or the seq of the change that replaced it */
    int64_t ch_committed_at;        /* commit time */
};

/* One activity entry a Connect server uploaded. */
struct store_activity {
    uint64_t av_id;             /* insertion order, from 1 */
    char av_server[ID_LEN + 1]; /* lowercase server id */
    int64_t av_received_at;     /* when the hub received it */
    const char *av_entry_json;  /* the APIRequest JSON text, as uploaded */
};

/* A sync session found by store_session_lookup. */
struct store_session {
    char ss_account[ID_LEN + 1]; /* uppercase account id */
    char ss_server[ID_LEN + 1];  /* lowercase server id */
    int64_t ss_expires_at;       /* Unix seconds */
};

/* ---- Opening ------------------------------------------------------------------------ */

/*
 * Opens the store named by url_or_path: "sqlite:PATH" or a plain PATH opens SQLite (the
 * file is created 0600, its directory 0700 if that one directory is missing);
 * "postgresql://..." / "postgres://..." (libpq's URL, at most STORE_URL_MAX_BYTES) opens
 * PostgreSQL, which several hub processes may share; migrations run on either. Any other
 * "scheme://" and ":memory:" give ERR_CONFIG. *out receives the store (store_close it) or
 * NULL. Every failure writes one line to errmsg, which never holds the URL's password.
 * Returns ERR_OK, ERR_CONFIG, ERR_IO, ERR_NOMEM or ERR_STORAGE (including a database that
 * cannot be reached, and one whose schema is newer than this build).
 */
enum err store_open(struct store **out, const char *url_or_path, char *errmsg,
                    size_t errcap) SESAME_WUR;

/* Closes every connection (the last one checkpoints the WAL) and frees s. NULL is fine. */
void store_close(struct store *s);

/* Replaces the clock: fn(arg) returns Unix seconds (tests); fn NULL restores time(). */
void store_set_clock(struct store *s, int64_t (*fn)(void *arg), void *arg);

/*
 * Sets the function called after each commit that appended changes, with the account and
 * its new last seq (to wake long-polls). It runs on the committing thread once the
 * transaction is durable and the write lock and connection are released; keep it short.
 * On PostgreSQL it is also called, from a listener thread, for the commits of other hub
 * processes sharing the database (LISTEN/NOTIFY), and with account NULL and last_seq 0
 * after the listener lost its connection ("anything may have changed"). fn NULL: none
 * (and no listener).
 */
void store_set_commit_hook(struct store *s,
                           void (*fn)(void *arg, const char *account, uint64_t last_seq),
                           void *arg);

/* Returns the account's highest change seq; 0 if it has none, is unknown, or on error. */
uint64_t store_last_seq(struct store *s, const char *account);

/* ---- Backup ----------------------------------------------------------------------------- */

/* What store_backup_to copied. */
struct store_backup_info {
    int64_t bi_schema_version; /* the copy's schema version (PRAGMA user_version) */
    uint64_t bi_bytes;         /* the copy's size in bytes */
};

/*
 * Copies the SQLite hub database src_url_or_path (a path or "sqlite:PATH"; it must exist -
 * never created - and be a Sesame hub database whose schema this build knows) to dest_path
 * ONLINE: SQLite's backup API copies one consistent snapshot in a single read transaction
 * while a hub may be running (WAL: the hub's writers are not blocked; it needs no store
 * handle). The copy goes to dest_path.tmp (created 0600 with O_EXCL), is switched to a
 * rollback journal (one self-contained file, no -wal beside it), must pass
 * PRAGMA integrity_check, is fsynced, renamed to dest_path - which is never replaced - and
 * the directory fsynced. On failure dest_path.tmp is removed and dest_path untouched.
 * info (may be NULL) receives what was copied. A PostgreSQL URL gives ERR_CONFIG (pg_dump
 * is its backup tool). Every failure writes one line to errmsg. Returns ERR_OK, ERR_CONFIG,
 * ERR_NOT_FOUND (no database at the source path), ERR_CONFLICT (dest_path or
 * dest_path.tmp exists), ERR_IO, ERR_NOMEM or ERR_STORAGE (not a hub database, a newer
 * schema, a failed copy or integrity check).
 */
enum err store_backup_to(const char *src_url_or_path, const char *dest_path,
                         struct store_backup_info *info, char *errmsg, size_t errcap) SESAME_WUR;

/* ---- Accounts and signing keys -------------------------------------------------------- */

/*
 * Creates account a (ac_id, ac_admin_sign_jwk, ac_admin_wrap_pub) with its first
 * token-signing key (sk_kid, sk_public_jwk). Changes: account_create, signing_key_add.
 * Returns ERR_OK, ERR_BAD_INPUT, ERR_CONFLICT (the account exists), ERR_NOMEM, ERR_STORAGE.
 */
enum err store_account_create(struct store *s, const struct store_account *a,
                              const struct store_signing_key *first_key) SESAME_WUR;

/*
 * As store_account_create, but only when the store holds no account yet, checked in the
 * same transaction (the hub's first-registration rule without a race between two first
 * registrations). Returns what store_account_create returns, or ERR_FORBIDDEN when an
 * account exists (this one or another: the caller tells them apart with
 * store_account_get).
 */
enum err store_account_create_first(struct store *s, const struct store_account *a,
                                    const struct store_signing_key *first_key) SESAME_WUR;

/*
 * Sets *any to 1 when the store holds at least one account, else 0 (the hub's
 * first-registration rule). Returns ERR_OK, ERR_BAD_INPUT, ERR_STORAGE.
 */
enum err store_account_any(struct store *s, int *any) SESAME_WUR;

/* Fills *out (store_account_clear it). ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND, ERR_NOMEM,
 * ERR_STORAGE. */
enum err store_account_get(struct store *s, const char *id, struct store_account *out) SESAME_WUR;

/* Frees the heap members of a and zeroes it. */
void store_account_clear(struct store_account *a);

/*
 * Adds a token-signing key (sk_kid, sk_public_jwk). Change: signing_key_add.
 * Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND (account), ERR_CONFLICT (kid exists),
 * ERR_NOMEM, ERR_STORAGE.
 */
enum err store_signing_key_add(struct store *s, const char *account,
                               const struct store_signing_key *k) SESAME_WUR;

/*
 * Lists the account's signing keys, active and retired, oldest first, into *out (*n of
 * them; store_signing_key_list_free). Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND
 * (account), ERR_NOMEM, ERR_STORAGE.
 */
enum err store_signing_key_list(struct store *s, const char *account,
                                struct store_signing_key **out, size_t *n) SESAME_WUR;

/*
 * Retires key kid (sets sk_retired_at). Change: signing_key_retire - only the first time;
 * retiring a retired key is ERR_OK and changes nothing. Returns ERR_OK, ERR_BAD_INPUT,
 * ERR_NOT_FOUND, ERR_NOMEM, ERR_STORAGE.
 */
enum err store_signing_key_retire(struct store *s, const char *account, const char *kid) SESAME_WUR;

/* Frees the heap members of k and zeroes it. */
void store_signing_key_clear(struct store_signing_key *k);

/* Clears and frees an array from store_signing_key_list. NULL is fine. */
void store_signing_key_list_free(struct store_signing_key *v, size_t n);

/* ---- Vaults --------------------------------------------------------------------------- */

/*
 * Creates vault v (va_id, va_attrs_ct, va_key_admin, va_type) and fills its OUT members.
 * Change: vault_create. Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND (account),
 * ERR_CONFLICT (the id exists, even deleted), ERR_NOMEM, ERR_STORAGE.
 */
enum err store_vault_create(struct store *s, const char *account, struct store_vault *v) SESAME_WUR;

/* Fills *out (store_vault_clear it). ERR_NOT_FOUND for a missing or deleted vault. */
enum err store_vault_get(struct store *s, const char *account, const char *id,
                         struct store_vault *out) SESAME_WUR;

/* Lists the live vaults, oldest first (store_vault_list_free). ERR_NOT_FOUND: account. */
enum err store_vault_list(struct store *s, const char *account, struct store_vault **out,
                          size_t *n) SESAME_WUR;

/*
 * Replaces the attributes ciphertext of a live vault, bumping its attribute version
 * (*attribute_version, may be NULL, receives the new one) and updated_at.
 * Change: vault_update. Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND, ERR_NOMEM, ERR_STORAGE.
 */
enum err store_vault_update_attrs(struct store *s, const char *account, const char *id,
                                  const unsigned char *attrs_ct, size_t len,
                                  uint64_t *attribute_version) SESAME_WUR;

/*
 * Deletes a live vault: the row stays (deleted, its ciphertexts and admin key erased), its
 * items are deleted and erased, its files and grants removed. Changes: vault_delete, then
 * one grant_delete per server that held a grant ("reason":"vaultDeleted").
 * Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND, ERR_NOMEM, ERR_STORAGE.
 */
enum err store_vault_delete(struct store *s, const char *account, const char *id) SESAME_WUR;

/* Frees the heap members of v and zeroes it. */
void store_vault_clear(struct store_vault *v);

/* Clears and frees an array from store_vault_list. NULL is fine. */
void store_vault_list_free(struct store_vault *v, size_t n);

/* ---- Items ---------------------------------------------------------------------------- */

/*
 * Creates or replaces item it (it_id, it_vault, it_state, it_category, it_overview,
 * it_details, it_last_edited_by) in a live vault, and fills it_version, it_created_at and
 * it_updated_at. base_version 0 = none (last writer wins); STORE_BASE_NEW = a create: no
 * item (live or deleted) may have the id, or ERR_CONFLICT; otherwise it must equal the
 * stored version of a live item, or ERR_CONFLICT. The version is 1 on create, stored + 1
 * after (a deleted item's id continues its versions). Bumps the vault's content version
 * and updated_at. Change: item_put. Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND (account
 * or vault), ERR_CONFLICT, ERR_NOMEM, ERR_STORAGE.
 */
enum err store_item_put(struct store *s, const char *account, struct store_item *it,
                        uint64_t base_version) SESAME_WUR;

/* Fills *out with a live item, details included (store_item_clear). ERR_NOT_FOUND if none. */
enum err store_item_get(struct store *s, const char *account, const char *vault, const char *id,
                        struct store_item *out) SESAME_WUR;

/*
 * Lists the live items of a live vault, oldest first, without details (it_details NULL)
 * (store_item_list_free). Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND (vault), ERR_NOMEM,
 * ERR_STORAGE.
 */
enum err store_item_list(struct store *s, const char *account, const char *vault,
                         struct store_item **out, size_t *n) SESAME_WUR;

/*
 * As store_item_list, but with each item's details (it_details set): the full current
 * state of a vault in one answer, unbounded (store_item_list_free). The hub pages with
 * store_item_page instead; this stays for tests and tools on small vaults.
 */
enum err store_item_list_full(struct store *s, const char *account, const char *vault,
                              struct store_item **out, size_t *n) SESAME_WUR;

/*
 * Reads one page of the live items of a live vault, details included (it_details set), in
 * the vault's listing order (the order the hub first stored them, as store_item_list_full;
 * Connect servers list items in the order they receive them): the items after the item
 * `after` (NULL or "": from the first; an id that is not an item of the vault, deleted or
 * not: ERR_NOT_FOUND), at most limit (1..STORE_MAX_PAGE) of them and,
 * when max_bytes is not 0, no more than max_bytes of ciphertext (it_overview_len +
 * it_details_len summed over the page) - except that a page always holds at least one item,
 * however large, so that a reader always advances. *more is 1 when live items follow the
 * last one returned (pass its it_id as after for the next page), 0 when the page is the
 * last (possibly empty). The page is read in one snapshot; pages read at different times
 * are not one snapshot together (a reader that needs the vault as of one moment pairs the
 * pages with the change feed, docs/sync.md). A backend needs a stable insertion order
 * (SQLite: rowid; PostgreSQL: a sequence column). *out, *n: store_item_list_free.
 * Returns ERR_OK, ERR_BAD_INPUT (malformed ids or limit), ERR_NOT_FOUND (vault, or the
 * cursor item), ERR_NOMEM, ERR_STORAGE.
 */
enum err store_item_page(struct store *s, const char *account, const char *vault, const char *after,
                         size_t limit, size_t max_bytes, struct store_item **out, size_t *n,
                         int *more) SESAME_WUR;

/*
 * Deletes a live item: version + 1, ciphertexts erased, row kept; editor (uppercase id or
 * NULL/"") becomes its last editor. Bumps the vault's content version. Change: item_delete.
 * Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND, ERR_NOMEM, ERR_STORAGE.
 */
enum err store_item_delete(struct store *s, const char *account, const char *vault, const char *id,
                           const char *editor) SESAME_WUR;

/*
 * As store_item_delete, but when base_version is not 0 the item's stored version must equal
 * it (else ERR_CONFLICT and nothing changes), checked in the same transaction.
 */
enum err store_item_delete_version(struct store *s, const char *account, const char *vault,
                                   const char *id, const char *editor,
                                   uint64_t base_version) SESAME_WUR;

/* Frees the heap members of it and zeroes it. */
void store_item_clear(struct store_item *it);

/* Clears and frees an array from store_item_list. NULL is fine. */
void store_item_list_free(struct store_item *v, size_t n);

/* ---- Files ---------------------------------------------------------------------------- */

/*
 * Stores file f (fi_id, fi_vault, fi_size, fi_content, fi_sha256) in a live vault; sets
 * nothing in f. fi_sha256 must be the SHA-256 of fi_content (else ERR_BAD_INPUT). Files
 * are immutable: putting the same id again with the same digest is ERR_OK and changes
 * nothing, with another digest ERR_CONFLICT. Change: file_put. Returns ERR_OK,
 * ERR_BAD_INPUT, ERR_NOT_FOUND, ERR_CONFLICT, ERR_NOMEM, ERR_STORAGE.
 */
enum err store_file_put(struct store *s, const char *account,
                        const struct store_file *f) SESAME_WUR;

/* Fills *out with the file and its contents (store_file_clear). ERR_NOT_FOUND if none. */
enum err store_file_get(struct store *s, const char *account, const char *vault, const char *id,
                        struct store_file *out) SESAME_WUR;

/* ERR_OK if the file exists (then *meta, if not NULL, gets it without contents), else
 * ERR_NOT_FOUND. */
enum err store_file_exists(struct store *s, const char *account, const char *vault, const char *id,
                           struct store_file *meta) SESAME_WUR;

/* Frees the heap members of f and zeroes it. */
void store_file_clear(struct store_file *f);

/* ---- Servers and grants --------------------------------------------------------------- */

/*
 * Registers server sv (se_id, se_name, se_sign_jwk, se_wrap_pub, se_unlock_admin - not
 * empty); fills se_created_at.
 * Change: server_create. Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND (account),
 * ERR_CONFLICT (the id exists, even deleted), ERR_NOMEM, ERR_STORAGE.
 */
enum err store_server_create(struct store *s, const char *account,
                             struct store_server *sv) SESAME_WUR;

/* Fills *out with a live server (store_server_clear). ERR_NOT_FOUND if none. */
enum err store_server_get(struct store *s, const char *account, const char *id,
                          struct store_server *out) SESAME_WUR;

/* Lists the live servers, oldest first (store_server_list_free). ERR_NOT_FOUND: account. */
enum err store_server_list(struct store *s, const char *account, struct store_server **out,
                           size_t *n) SESAME_WUR;

/*
 * Deletes a live server: the row stays (deleted), its grants and sessions are removed, the
 * wrapped keys of its earlier grant changes erased. Change: server_delete.
 * Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND, ERR_NOMEM, ERR_STORAGE.
 */
enum err store_server_delete(struct store *s, const char *account, const char *id) SESAME_WUR;

/* Frees the heap members of sv and zeroes it. */
void store_server_clear(struct store_server *sv);

/* Clears and frees an array from store_server_list. NULL is fine. */
void store_server_list_free(struct store_server *v, size_t n);

/*
 * Grants vault gr_vault to server gr_server with gr_key_wrapped (creates or replaces).
 * Both must be live. Change: grant_put. Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND,
 * ERR_NOMEM, ERR_STORAGE.
 */
enum err store_grant_put(struct store *s, const char *account,
                         const struct store_grant *g) SESAME_WUR;

/*
 * Removes a grant. Change: grant_delete ("reason":"revoked"). Returns ERR_OK,
 * ERR_BAD_INPUT, ERR_NOT_FOUND (no such grant), ERR_NOMEM, ERR_STORAGE.
 */
enum err store_grant_delete(struct store *s, const char *account, const char *server,
                            const char *vault) SESAME_WUR;

/* Lists the grants of a live server, oldest first (store_grant_list_free). ERR_NOT_FOUND: server.
 */
enum err store_grant_list_by_server(struct store *s, const char *account, const char *server,
                                    struct store_grant **out, size_t *n) SESAME_WUR;

/* Lists the grants of a live vault, oldest first (store_grant_list_free). ERR_NOT_FOUND: vault. */
enum err store_grant_list_by_vault(struct store *s, const char *account, const char *vault,
                                   struct store_grant **out, size_t *n) SESAME_WUR;

/* Frees the heap members of g and zeroes it. */
void store_grant_clear(struct store_grant *g);

/* Clears and frees an array from a grant list. NULL is fine. */
void store_grant_list_free(struct store_grant *v, size_t n);

/* ---- Tokens --------------------------------------------------------------------------- */

/*
 * Registers token t (tk_jti, tk_name, tk_server - live -, tk_vaults_json, tk_expires_at,
 * tk_sha256); fills tk_created_at (tk_revoked_at 0). Change: token_register.
 * Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND (server), ERR_CONFLICT (jti exists),
 * ERR_NOMEM, ERR_STORAGE.
 */
enum err store_token_register(struct store *s, const char *account,
                              struct store_token *t) SESAME_WUR;

/*
 * Lists the account's tokens (of server only, unless server is NULL), revoked ones too,
 * oldest first (store_token_list_free). ERR_NOT_FOUND: account.
 */
enum err store_token_list(struct store *s, const char *account, const char *server,
                          struct store_token **out, size_t *n) SESAME_WUR;

/* Fills *out (store_token_clear). ERR_NOT_FOUND if no such jti. */
enum err store_token_get(struct store *s, const char *account, const char *jti,
                         struct store_token *out) SESAME_WUR;

/*
 * Revokes token jti (sets revoked_at). Change: token_revoke - only the first time;
 * revoking again is ERR_OK and changes nothing. Returns ERR_OK, ERR_BAD_INPUT,
 * ERR_NOT_FOUND, ERR_NOMEM, ERR_STORAGE.
 */
enum err store_token_revoke(struct store *s, const char *account, const char *jti) SESAME_WUR;

/* Frees the heap members of t and zeroes it. */
void store_token_clear(struct store_token *t);

/* Clears and frees an array from store_token_list. NULL is fine. */
void store_token_list_free(struct store_token *v, size_t n);

/* ---- Change feed ---------------------------------------------------------------------- */

/* Returns the database name of k ("item_put"), or "unknown". */
const char *store_change_kind_name(enum store_change_kind k);

/*
 * Reads the account's changes with seq > since in seq order, at most limit
 * (1..STORE_MAX_PAGE), into *out (*n of them; store_change_list_free). server NULL: all
 * changes (admin view). server set: only what that server may see (docs/hub-api.md):
 * signing-key changes; changes naming the server (its grants, tokens, creation, deletion);
 * and vault, item and file changes of vaults it currently holds a grant for.
 * *next receives the highest seq examined: the last one returned when *n == limit (there
 * may be more), else the account's last seq at the time of the read - never below since.
 * Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND (account, or server never registered),
 * ERR_NOMEM, ERR_STORAGE.
 */
enum err store_changes_since(struct store *s, const char *account, uint64_t since, size_t limit,
                             const char *server, struct store_change **out, size_t *n,
                             uint64_t *next) SESAME_WUR;

/*
 * store_changes_since for a server (server set) that has just pulled every vault it holds
 * whole, after the account's last seq was pulled (> 0): its item_put and item_delete
 * changes at or below pulled are left out (the pulled items are as new or newer); the
 * rest, *next included, is as store_changes_since. A first sync of 10,000 items otherwise
 * reads every item twice. ERR_BAD_INPUT: pulled without server.
 */
enum err store_changes_pulled(struct store *s, const char *account, uint64_t since, size_t limit,
                              const char *server, uint64_t pulled, struct store_change **out,
                              size_t *n, uint64_t *next) SESAME_WUR;

/* Frees the heap members of c and zeroes it. */
void store_change_clear(struct store_change *c);

/* Clears and frees an array from store_changes_since. NULL is fine. */
void store_change_list_free(struct store_change *v, size_t n);

/* ---- Activity ------------------------------------------------------------------------- */

/*
 * Appends n activity entries (JSON texts, 1..STORE_JSON_MAX_BYTES each, kept verbatim) of
 * server, received at received_at, in one transaction. Not a change (not synced).
 * Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND (server never registered), ERR_NOMEM,
 * ERR_STORAGE.
 */
enum err store_activity_append(struct store *s, const char *account, const char *server,
                               int64_t received_at, const char *const *entries,
                               size_t n) SESAME_WUR;

/*
 * Reads activity entries in insertion order (of server only, unless NULL), skipping
 * offset, at most limit (1..STORE_MAX_PAGE), into *out (*n; store_activity_list_free);
 * *total receives the count of all matching entries (Content-Range). Returns ERR_OK,
 * ERR_BAD_INPUT, ERR_NOT_FOUND (account), ERR_NOMEM, ERR_STORAGE.
 */
enum err store_activity_query(struct store *s, const char *account, const char *server,
                              size_t limit, size_t offset, struct store_activity **out, size_t *n,
                              uint64_t *total) SESAME_WUR;

/* Frees the heap members of a and zeroes it. */
void store_activity_clear(struct store_activity *a);

/* Clears and frees an array from store_activity_query. NULL is fine. */
void store_activity_list_free(struct store_activity *v, size_t n);

/* ---- Admin nonces and sync sessions ----------------------------------------------------- */

/*
 * Records the use of an admin request nonce (1..STORE_NONCE_MAX printable ASCII) until
 * expires_at (> now), first purging every expired nonce. Returns ERR_OK, ERR_CONFLICT
 * (already used and unexpired: a replay), ERR_BAD_INPUT, ERR_NOT_FOUND (account),
 * ERR_NOMEM, ERR_STORAGE.
 */
enum err store_nonce_use(struct store *s, const char *account, const char *nonce,
                         int64_t expires_at) SESAME_WUR;

/*
 * Stores a sync session by the SHA-256 of its secret, for a live server, until expires_at
 * (> now). Returns ERR_OK, ERR_BAD_INPUT, ERR_NOT_FOUND (server), ERR_CONFLICT (digest
 * exists), ERR_NOMEM, ERR_STORAGE.
 */
enum err store_session_create(struct store *s, const unsigned char sha256[STORE_SHA256_BYTES],
                              const char *account, const char *server,
                              int64_t expires_at) SESAME_WUR;

/*
 * Finds the unexpired session whose secret has this SHA-256 (its server live) and fills
 * *out. Returns ERR_OK, ERR_NOT_FOUND (unknown, expired or server deleted), ERR_STORAGE.
 */
enum err store_session_lookup(struct store *s, const unsigned char sha256[STORE_SHA256_BYTES],
                              struct store_session *out) SESAME_WUR;

/* Deletes every expired session; *removed (may be NULL) gets how many. ERR_OK or ERR_STORAGE. */
enum err store_session_purge(struct store *s, size_t *removed) SESAME_WUR;

/* ---- Secrets the hubs share ------------------------------------------------------------ */

#define STORE_SECRET_MAX 64 /* bytes of a shared secret */

/*
 * Returns the hubs' shared secret called name (1..STORE_NAME_MAX_BYTES of text) in out: the
 * one already stored, or else candidate (len bytes, 1..STORE_SECRET_MAX, fresh random bytes
 * of the caller), stored now - atomically, so that hubs starting together on one database
 * all end up with the same secret. A stored secret of another length is ERR_STORAGE. These
 * are the hub's own keys (the sync challenge key), never an account's: they protect no
 * user data. Returns ERR_OK, ERR_BAD_INPUT, ERR_NOMEM, ERR_STORAGE.
 */
enum err store_secret_share(struct store *s, const char *name, const unsigned char *candidate,
                            size_t len, unsigned char *out) SESAME_WUR;

/* ---- Copying a hub to another database ---------------------------------------------- */

#define STORE_COPY_TABLES 13 /* the tables store_copy copies */

/* What store_copy copied: each table's name and rows (the same on both sides). */
struct store_copy_report {
    const char *cr_table[STORE_COPY_TABLES]; /* static names, in copy order */
    uint64_t cr_rows[STORE_COPY_TABLES];     /* rows copied */
    size_t cr_n;                             /* tables filled in */
};

/*
 * Copies every row of every table of from into to (`sesame hub migrate`): ciphertext as
 * stored, nothing decrypted (the store holds no key), sequences and insertion orders kept,
 * so that Connect servers synced from one continue from the other. from is read in one
 * snapshot (stop the hubs writing to it first: what they write later is not copied); to
 * must hold no account and is written in one transaction (all or nothing). Afterwards each
 * table is counted on both sides. Either side may be SQLite or PostgreSQL. report (may be
 * NULL) receives the counts. Every failure writes one line to errmsg. Returns ERR_OK,
 * ERR_CONFLICT (to is not empty), ERR_NOMEM, ERR_NO_SPACE or ERR_STORAGE (including counts
 * that differ).
 */
enum err store_copy(struct store *from, struct store *to, struct store_copy_report *report,
                    char *errmsg, size_t errcap) SESAME_WUR;

#endif
