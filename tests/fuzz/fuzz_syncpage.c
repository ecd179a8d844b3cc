/*
 * fuzz_syncpage.c - libFuzzer driver for what `sesame sync` does with the hub's protocol
 * messages (sync/apply.c): sync_apply_changes (a CHANGES page) and sync_apply_state (the
 * /v1/sync/state answer), applied to a real volume (store/volume.c, SQLite in WAL mode as
 * sync runs it).
 *
 * Input: JSON text, parsed as hubclient parses the hub's answers (duplicate keys refused).
 * An object with an "account" member is a state, anything else a page. Two members that
 * are not the hub's steer the driver: "_snapshots" ([{"vault": VAULT, "items": [ITEM...]}],
 * at most FUZZ_MAX_SNAPS, passed as the vaults granted) and "_hub" (a string: the hub URL
 * given with a state; absent: NULL, keep the stored one). A state whose "lastSeq" is an
 * integer below the volume's last seq is applied with resync, as sync_run_once does.
 *
 * The volume lives in a fresh temporary directory (under /dev/shm when there is one, so
 * that SQLite's fsyncs cost nothing), made on the first input and made again every
 * FUZZ_RESET_EVERY inputs so that it stays small; it is removed at exit. Log lines go to
 * /dev/null once the first volume is open.
 *
 * Checks, aborting on a violation:
 *  - a refused message returns ERR_UPSTREAM, ERR_BAD_INPUT or ERR_CONFLICT (never
 *    ERR_STORAGE: what the hub sends must not reach SQLite unchecked) with a one-line
 *    message, and leaves the volume as it was: the same last seq, generation, grants and
 *    vaults; *next and *more are 0;
 *  - an applied page sets the last seq to its "next" exactly (*next and *more are the
 *    page's); applying it again succeeds and changes neither the last seq nor the grants
 *    and vaults (applying is idempotent);
 *  - an applied state leaves the last seq as it was (resync: 0); applying it again
 *    succeeds and keeps grants and vaults.
 */
#include <ftw.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "store/volume.h"
#include "sync/apply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_RESET_EVERY 200
#define FUZZ_MAX_SNAPS   8

static struct volume *fuzz_vol;
static char fuzz_dir[256];
static unsigned fuzz_inputs;
static int fuzz_atexit_set;

/* What must not change when a message is refused. */
struct fuzz_view {
    uint64_t fv_seq;
    uint64_t fv_gen;
    size_t fv_grants;
    size_t fv_vaults;
    char fv_names[2048]; /* the grant and vault ids, in the volume's order */
};

static void fuzz_check(int ok)
{
    if (!ok)
        abort();
}

static int fuzz_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fuzz_volume_drop(void)
{
    volume_close(fuzz_vol);
    fuzz_vol = NULL;
    if (fuzz_dir[0])
        (void)nftw(fuzz_dir, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    fuzz_dir[0] = '\0';
}

/* Makes a fresh volume in a new temporary directory. */
static void fuzz_volume_make(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL;
    char msg[256], sub[300];

    if (!base)
        base = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
    fuzz_check((size_t)snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/sesame-fuzz-syncpage.XXXXXX",
                                base) < sizeof(fuzz_dir));
    fuzz_check(mkdtemp(fuzz_dir) != NULL);
    fuzz_check((size_t)snprintf(sub, sizeof(sub), "%s/data", fuzz_dir) < sizeof(sub));
    if (volume_open(&fuzz_vol, sub, msg, sizeof(msg)) != ERR_OK) {
        fprintf(stderr, "fuzz_syncpage: %s\n", msg);
        abort();
    }
    if (!fuzz_atexit_set) {
        FILE *null = fopen("/dev/null", "w");

        fuzz_atexit_set = 1;
        atexit(fuzz_volume_drop);
        /* The volume's and sync's log lines (one per refused change) only slow the run. */
        if (null)
            log_set_stream(null);
    }
}

static void fuzz_view_read(struct fuzz_view *fv)
{
    struct volume_grant *g = NULL;
    struct volume_vault *vv = NULL;
    size_t i, off = 0;

    memset(fv, 0, sizeof(*fv));
    fuzz_check(volume_last_seq(fuzz_vol, &fv->fv_seq) == ERR_OK);
    fuzz_check(volume_generation(fuzz_vol, &fv->fv_gen) == ERR_OK);
    fuzz_check(volume_grant_list(fuzz_vol, &g, &fv->fv_grants) == ERR_OK);
    fuzz_check(volume_vault_list(fuzz_vol, &vv, &fv->fv_vaults) == ERR_OK);
    for (i = 0; i < fv->fv_grants && off + ID_LEN + 2 < sizeof(fv->fv_names); i++)
        off +=
            (size_t)snprintf(fv->fv_names + off, sizeof(fv->fv_names) - off, "g%s", g[i].vg_vault);
    for (i = 0; i < fv->fv_vaults && off + ID_LEN + 2 < sizeof(fv->fv_names); i++)
        off += (size_t)snprintf(fv->fv_names + off, sizeof(fv->fv_names) - off, "v%s", vv[i].vv_id);
    volume_grant_list_free(g, fv->fv_grants);
    volume_vault_list_free(vv, fv->fv_vaults);
}

static int fuzz_same_content(const struct fuzz_view *a, const struct fuzz_view *b)
{
    return a->fv_grants == b->fv_grants && a->fv_vaults == b->fv_vaults &&
           strcmp(a->fv_names, b->fv_names) == 0;
}

static void fuzz_check_refused(enum err rc, const char *msg, size_t cap,
                               const struct fuzz_view *before)
{
    struct fuzz_view after;

    fuzz_check(rc == ERR_UPSTREAM || rc == ERR_BAD_INPUT || rc == ERR_CONFLICT);
    fuzz_check(memchr(msg, '\0', cap) != NULL && msg[0] != '\0' && !strchr(msg, '\n'));
    fuzz_view_read(&after);
    fuzz_check(after.fv_seq == before->fv_seq && after.fv_gen == before->fv_gen);
    fuzz_check(fuzz_same_content(&after, before));
}

/* Reads "_snapshots" into snaps; returns how many. */
static size_t fuzz_snapshots(const json_t *msg, struct sync_snapshot *snaps)
{
    const json_t *arr = json_object_get(msg, "_snapshots"), *s;
    size_t i, n = 0;

    json_array_foreach(arr, i, s)
    {
        if (n == FUZZ_MAX_SNAPS)
            break;
        /* apply.c's callers pass a vault record and an items array (hubclient checks). */
        if (!json_is_object(json_object_get(s, "vault")) ||
            !json_is_array(json_object_get(s, "items")))
            continue;
        snaps[n].ss_vault = json_object_get(s, "vault");
        snaps[n].ss_items = json_object_get(s, "items");
        n++;
    }
    return n;
}

static void fuzz_page(const json_t *page, const struct sync_snapshot *snaps, size_t nsnaps)
{
    struct fuzz_view before, after, again;
    char msg[SYNC_ERRMSG_BYTES];
    uint64_t next = 77;
    int more = 77;
    enum err rc;

    fuzz_view_read(&before);
    memset(msg, 'x', sizeof(msg));
    msg[0] = '\0';
    rc = sync_apply_changes(fuzz_vol, page, snaps, nsnaps, &next, &more, msg, sizeof(msg));
    if (rc != ERR_OK) {
        fuzz_check(next == 0 && more == 0);
        fuzz_check_refused(rc, msg, sizeof(msg), &before);
        return;
    }
    fuzz_check(json_is_integer(json_object_get(page, "next")) &&
               (uint64_t)json_integer_value(json_object_get(page, "next")) == next);
    fuzz_check(more == json_is_true(json_object_get(page, "more")));
    fuzz_view_read(&after);
    fuzz_check(after.fv_seq == next);
    /* Idempotent: the same page again changes nothing mirrored. */
    rc = sync_apply_changes(fuzz_vol, page, snaps, nsnaps, NULL, NULL, msg, sizeof(msg));
    if (rc != ERR_OK)
        fprintf(stderr, "fuzz_syncpage: re-applying an applied page: %s\n", msg);
    fuzz_check(rc == ERR_OK);
    fuzz_view_read(&again);
    fuzz_check(again.fv_seq == next && fuzz_same_content(&again, &after));
}

static void fuzz_state(const json_t *state, const struct sync_snapshot *snaps, size_t nsnaps)
{
    struct fuzz_view before, after, again;
    const json_t *last = json_object_get(state, "lastSeq");
    const char *hub = json_string_value(json_object_get(state, "_hub"));
    char msg[SYNC_ERRMSG_BYTES];
    int resync;
    enum err rc;

    fuzz_view_read(&before);
    resync = json_is_integer(last) && json_integer_value(last) >= 0 &&
             (uint64_t)json_integer_value(last) < before.fv_seq;
    memset(msg, 'x', sizeof(msg));
    msg[0] = '\0';
    rc = sync_apply_state(fuzz_vol, state, hub, resync, snaps, nsnaps, msg, sizeof(msg));
    if (rc != ERR_OK) {
        fuzz_check_refused(rc, msg, sizeof(msg), &before);
        return;
    }
    fuzz_view_read(&after);
    fuzz_check(after.fv_seq == (resync ? 0 : before.fv_seq));
    rc = sync_apply_state(fuzz_vol, state, hub, 0, snaps, nsnaps, msg, sizeof(msg));
    if (rc != ERR_OK)
        fprintf(stderr, "fuzz_syncpage: re-applying an applied state: %s\n", msg);
    fuzz_check(rc == ERR_OK);
    fuzz_view_read(&again);
    fuzz_check(again.fv_seq == after.fv_seq && fuzz_same_content(&again, &after));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sync_snapshot snaps[FUZZ_MAX_SNAPS];
    json_error_t jerr;
    json_t *msg;
    size_t nsnaps;

    msg = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!msg)
        return 0;
    if (fuzz_vol && ++fuzz_inputs % FUZZ_RESET_EVERY == 0)
        fuzz_volume_drop();
    if (!fuzz_vol)
        fuzz_volume_make();
    nsnaps = fuzz_snapshots(msg, snaps);
    if (json_object_get(msg, "account"))
        fuzz_state(msg, snaps, nsnaps);
    else
        fuzz_page(msg, snaps, nsnaps);
    json_decref(msg);
    return 0;
}
