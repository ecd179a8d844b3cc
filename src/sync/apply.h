/*
 * apply.h - the core of `sesame sync` (docs/sync.md): applying what the hub sends - the
 * initial state, the full contents of newly granted vaults and change-feed pages - to the
 * volume (store/volume.h), each batch in ONE volume transaction together with its last
 * seq, and one pass of the whole exchange (sync_run_once).
 *
 * Nothing is decrypted here: ciphertexts and wrapped keys are base64url-decoded to bytes
 * and stored as they are. Applying is idempotent and monotonic (the volume's rules), so a
 * batch re-applied after a crash changes nothing.
 *
 * Errors: a change the volume refuses, or a malformed one, fails the whole batch (nothing
 * of it is applied, the last seq stays) with errmsg saying which kind and seq.
 */
#ifndef SESAME_SYNC_APPLY_H
#define SESAME_SYNC_APPLY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/volume.h"
#include "sync/hubclient.h"

#define SYNC_ERRMSG_BYTES 256    /* sc_errmsg */
#define SYNC_MAX_PAGES    100000 /* pages one sync_run_once reads at most (a loop guard) */

/*
 * A vault pulled for a new grant (both borrowed): its record and, optionally, its items.
 * sync_run_once stages the items page by page beforehand (sync_apply_item_page) and passes
 * ss_items NULL: the record, applied with the batch, is what makes the vault served.
 */
struct sync_snapshot {
    const json_t *ss_vault; /* VAULT record (GET /v1/sync/vaults/{v}) */
    const json_t *ss_items; /* [ITEM with details, ...], or NULL: items staged already */
};

/* One sync engine: a volume and a hub client (both borrowed; they outlive it). */
struct sync_ctx {
    struct volume *sc_volume;          /* the volume written */
    struct hubclient *sc_hub;          /* the hub read */
    const char *sc_hub_url;            /* recorded in the volume; NULL keeps the stored one */
    unsigned sc_page_limit;            /* changes per page; 0: HUBCLIENT_MAX_LIMIT */
    unsigned sc_items_limit;           /* items per page of a vault pull; 0: HUBCLIENT_ITEMS_PAGE */
    uint64_t sc_pages;                 /* OUT: pages applied by the last run or poll */
    uint64_t sc_pulled;                /* OUT: vaults pulled by the last run or poll */
    uint64_t sc_item_pages;            /* OUT: pages of items those pulls staged */
    uint64_t sc_adopted;               /* OUT: file contents kept from disk (verified) */
    uint64_t sc_pulled_seq;            /* every held vault pulled whole after this seq, in
                                          this run (0: not so): its item changes are skipped */
    uint64_t sc_epoch;                 /* volume_epoch when the exchange began; 0: no check
                                          (a volume rebuilt since fails it: ERR_CONFLICT) */
    char sc_errmsg[SYNC_ERRMSG_BYTES]; /* OUT: why the last run or poll failed, "" */
};

/*
 * Applies one CHANGES page (the hub's JSON, borrowed) to v in one transaction: every
 * change not superseded ({"supersededBy": N}) mapped to its volume_tx_* call (the table
 * in docs/sync.md), then the snapshots snaps[0..nsnaps) (vaults granted by this page; may
 * be NULL/0), then volume_tx_set_last_seq(next) and, when the page is the last (more
 * false), volume_tx_set_sync_time(now). *next and *more (may be NULL) receive the page's
 * next and more. Returns ERR_OK, ERR_UPSTREAM (a malformed page or change), or the error
 * of the volume (ERR_BAD_INPUT, ERR_CONFLICT, ERR_STORAGE, ERR_NOMEM).
 */
enum err sync_apply_changes(struct volume *v, const json_t *page, const struct sync_snapshot *snaps,
                            size_t nsnaps, uint64_t *next, int *more, char *errmsg,
                            size_t errcap) SESAME_WUR;

/*
 * Applies one ITEM record of the hub (with details, as GET or PUT /v1/sync/vaults/{v}/
 * items/{i} answer it, or an item_put change's payload; borrowed) to tx with
 * volume_tx_item_put: the mapping every item_put of sync uses (overview and details
 * base64url-decoded). A version not above the stored one is ignored (the volume's rule).
 * Does not commit. Returns ERR_OK, ERR_UPSTREAM (a malformed record) or the volume's error
 * (ERR_BAD_INPUT, ERR_STORAGE, ERR_NOMEM); errmsg (errcap bytes) says which.
 */
enum err sync_apply_item_record(struct volume_tx *tx, const json_t *record, char *errmsg,
                                size_t errcap) SESAME_WUR;

/*
 * Stages one page of a vault's items (an array of ITEM records with details, as
 * hubclient_vault_items_page answers it; borrowed) in v in one transaction, with
 * volume_tx_item_put (sync_apply_item_record's mapping; a version not above the stored one
 * is ignored). Nothing else: no vault record, grant or last seq - the vault stays unserved
 * until its record is applied with a batch (sync_apply_state / sync_apply_changes). The
 * transaction fails with ERR_CONFLICT if v was rebuilt since epoch (0: no check). Errors as
 * sync_apply_changes; nothing of the page is applied on error.
 */
enum err sync_apply_item_page(struct volume *v, uint64_t epoch, const json_t *items, char *errmsg,
                              size_t errcap) SESAME_WUR;

/*
 * Applies the hub's /v1/sync/state (borrowed) to v in one transaction: the identity
 * (account, server id, hub_url - NULL keeps the stored URL), the signing keys, the grants
 * (a grant the volume holds that the state lacks is deleted with its vault), then the
 * snapshots (the vaults granted that the volume has not got). With resync set (the hub's
 * lastSeq is below the volume's: a hub restored from a backup) every vault is dropped
 * first and the last seq set to 0, so the feed is read again from the start (the caller
 * then passes snapshots of every granted vault). Errors as sync_apply_changes.
 */
enum err sync_apply_state(struct volume *v, const json_t *state, const char *hub_url, int resync,
                          const struct sync_snapshot *snaps, size_t nsnaps, char *errmsg,
                          size_t errcap) SESAME_WUR;

/*
 * One pass of sync: authenticates if needed; reads the state; pulls the vaults granted
 * that the volume has not got (vault record and items) and applies them with the state;
 * then reads the change feed from the volume's last seq, page by page, each page applied
 * with the vaults it grants, until more is false; then fetches the file contents the
 * volume lacks. Returns ERR_OK, or the first error (sc_errmsg says what): the hub's
 * (ERR_UNAUTHORIZED, ERR_UPSTREAM, ERR_TIMEOUT, ...) or the volume's. What was applied
 * before an error stays applied (each batch is whole).
 */
enum err sync_run_once(struct sync_ctx *ctx) SESAME_WUR;

/*
 * Waits up to wait_s seconds (0..HUBCLIENT_MAX_WAIT; 0: no wait, what is there now) for the change
 * feed to move past the volume's last seq (a long-poll), then applies pages as sync_run_once does
 * until more is false, and fetches missing file contents. ERR_OK also when nothing arrived. Errors
 * as sync_run_once.
 */
enum err sync_poll(struct sync_ctx *ctx, unsigned wait_s) SESAME_WUR;

/*
 * Fetches and stores the contents of the files of every served vault whose content is not
 * present yet (each one checked against its recorded SHA-256 by the volume). A content
 * already on disk that matches its SHA-256 (after a rebuild of the volume) is kept instead
 * (volume_file_content_adopt; counted in sc_adopted). A file the hub no longer has (404)
 * or no longer grants (403) is skipped. Errors as sync_run_once.
 */
enum err sync_fetch_files(struct sync_ctx *ctx) SESAME_WUR;

#endif
