/*
 * apply.c - applying the hub's state, vault snapshots and change-feed pages to the volume,
 * and one pass of sync (apply.h, docs/sync.md).
 */
#include "sync/apply.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/ids.h"
#include "common/log.h"

/* ---- JSON members --------------------------------------------------------------------- */

/* Returns the string member key of o, or NULL. */
static const char *j_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Reads a non-negative integer member into *out; 0 when absent and optional. */
static int j_u64(const json_t *o, const char *key, uint64_t *out, int optional)
{
    const json_t *m = json_object_get(o, key);

    *out = 0;
    if (!m)
        return optional;
    if (!json_is_integer(m) || json_integer_value(m) < 0)
        return 0;
    *out = (uint64_t)json_integer_value(m);
    return 1;
}

/* As j_u64, for a time (int64). */
static int j_time(const json_t *o, const char *key, int64_t *out, int optional)
{
    uint64_t u = 0;
    int ok = j_u64(o, key, &u, optional);

    *out = ok && u <= (uint64_t)INT64_MAX ? (int64_t)u : 0;
    return ok && u <= (uint64_t)INT64_MAX;
}

/* Copies string member key of o into out (cap bytes, NUL included); 0 if absent or too long. */
static int j_copy(const json_t *o, const char *key, char *out, size_t cap, int optional)
{
    const char *s = j_str(o, key);
    size_t n;

    out[0] = '\0';
    if (!s)
        return optional && !json_object_get(o, key);
    n = strlen(s);
    if (n >= cap)
        return 0;
    memcpy(out, s, n + 1);
    return 1;
}

/* Copies an id member (26 characters) into out. */
static int j_id(const json_t *o, const char *key, char out[ID_LEN + 1])
{
    return j_copy(o, key, out, ID_LEN + 1, 0) && strlen(out) == ID_LEN;
}

/*
 * Decodes base64url member key of o into *p (mem_alloc'd, at least one byte) and *n.
 * Returns ERR_OK, ERR_UPSTREAM (absent or not base64url) or ERR_NOMEM.
 */
static enum err j_b64(const json_t *o, const char *key, unsigned char **p, size_t *n)
{
    const char *s = j_str(o, key);
    size_t len, cap;
    enum err e;

    *p = NULL;
    *n = 0;
    if (!s)
        return ERR_UPSTREAM;
    len = strlen(s);
    cap = codec_b64_decoded_max(len) + 1;
    *p = mem_alloc(cap);
    if (!*p)
        return ERR_NOMEM;
    e = codec_b64_decode(*p, cap, n, s, len, CODEC_B64_URL);
    if (e != ERR_OK) {
        mem_free(*p);
        *p = NULL;
        *n = 0;
        return ERR_UPSTREAM;
    }
    return ERR_OK;
}

/* ---- records from JSON ---------------------------------------------------------------- */

/* Applies a VAULT record or a vault_create/vault_update payload. */
static enum err put_vault(struct volume_tx *tx, const json_t *p)
{
    struct volume_vault vv;
    unsigned char *attrs = NULL;
    enum err e;

    memset(&vv, 0, sizeof(vv));
    if (!j_id(p, "id", vv.vv_id) || !j_copy(p, "type", vv.vv_type, sizeof(vv.vv_type), 0) ||
        !j_u64(p, "attributeVersion", &vv.vv_attribute_version, 0) ||
        !j_u64(p, "contentVersion", &vv.vv_content_version, 0) ||
        !j_time(p, "createdAt", &vv.vv_created_at, 0) ||
        !j_time(p, "updatedAt", &vv.vv_updated_at, 0))
        return ERR_UPSTREAM;
    e = j_b64(p, "attrs", &attrs, &vv.vv_attrs_ct_len);
    if (e != ERR_OK)
        return e;
    vv.vv_attrs_ct = attrs;
    e = volume_tx_vault_put(tx, &vv);
    mem_free(attrs);
    return e;
}

/* Applies an ITEM record (with details) or an item_put payload. */
static enum err put_item(struct volume_tx *tx, const json_t *p)
{
    struct volume_item it;
    unsigned char *ov = NULL, *det = NULL;
    enum err e;

    memset(&it, 0, sizeof(it));
    if (!j_id(p, "id", it.vi_id) || !j_id(p, "vault", it.vi_vault) ||
        !j_u64(p, "version", &it.vi_version, 0) ||
        !j_copy(p, "state", it.vi_state, sizeof(it.vi_state), 1) ||
        !j_copy(p, "category", it.vi_category, sizeof(it.vi_category), 0) ||
        !j_time(p, "createdAt", &it.vi_created_at, 0) ||
        !j_time(p, "updatedAt", &it.vi_updated_at, 0) ||
        !j_copy(p, "lastEditedBy", it.vi_last_edited_by, sizeof(it.vi_last_edited_by), 1))
        return ERR_UPSTREAM;
    e = j_b64(p, "overview", &ov, &it.vi_overview_len);
    if (e == ERR_OK)
        e = j_b64(p, "details", &det, &it.vi_details_len);
    if (e == ERR_OK) {
        it.vi_overview = ov;
        it.vi_details = det;
        e = volume_tx_item_put(tx, &it);
    }
    mem_free(ov);
    mem_free(det);
    return e;
}

/* Applies one ITEM record (see apply.h). */
enum err sync_apply_item_record(struct volume_tx *tx, const json_t *record, char *errmsg,
                                size_t errcap)
{
    enum err e;

    if (!tx || !json_is_object(record))
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "sync: no transaction or item record");
    e = put_item(tx, record);
    if (e == ERR_UPSTREAM)
        return err_msgf(e, errmsg, errcap, "sync: the hub's item record is malformed");
    if (e != ERR_OK)
        return err_msgf(e, errmsg, errcap, "sync: the item record was not applied: %s",
                        err_name(e));
    return ERR_OK;
}

/* Applies an item_delete payload. */
static enum err delete_item(struct volume_tx *tx, const json_t *p)
{
    char id[ID_LEN + 1], vault[ID_LEN + 1], editor[ID_LEN + 1];
    uint64_t version;
    int64_t at;

    if (!j_id(p, "id", id) || !j_id(p, "vault", vault) || !j_u64(p, "version", &version, 0) ||
        !j_time(p, "updatedAt", &at, 0) || !j_copy(p, "lastEditedBy", editor, sizeof(editor), 1))
        return ERR_UPSTREAM;
    return volume_tx_item_delete(tx, vault, id, version, at, editor);
}

/* Applies a file_put payload (metadata only; the content is fetched later). */
static enum err put_file(struct volume_tx *tx, const json_t *p)
{
    struct volume_file f;
    const char *hex = j_str(p, "sha256");
    size_t n = 0;

    memset(&f, 0, sizeof(f));
    if (!j_id(p, "id", f.vf_id) || !j_id(p, "vault", f.vf_vault) ||
        !j_u64(p, "size", &f.vf_size, 0) || !j_time(p, "createdAt", &f.vf_created_at, 0) || !hex ||
        strlen(hex) != 2 * VOLUME_SHA256_BYTES)
        return ERR_UPSTREAM;
    if (codec_hex_decode(f.vf_sha256, sizeof(f.vf_sha256), &n, hex, strlen(hex)) != ERR_OK ||
        n != VOLUME_SHA256_BYTES)
        return ERR_UPSTREAM;
    return volume_tx_file_put(tx, &f);
}

/* Applies a SIGNING_KEY record or a signing_key_add payload (publicJwk text or object). */
static enum err put_signing_key(struct volume_tx *tx, const json_t *p)
{
    struct volume_signing_key k;
    const json_t *jwk = json_object_get(p, "publicJwk");
    char *text = NULL;
    enum err e;

    memset(&k, 0, sizeof(k));
    if (!j_copy(p, "kid", k.vk_kid, sizeof(k.vk_kid), 0) || !k.vk_kid[0] ||
        !j_time(p, "createdAt", &k.vk_created_at, 0) ||
        !j_time(p, "retiredAt", &k.vk_retired_at, 1))
        return ERR_UPSTREAM;
    if (json_is_string(jwk)) {
        k.vk_public_jwk = json_string_value(jwk);
    } else if (json_is_object(jwk)) {
        text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text)
            return ERR_NOMEM;
        k.vk_public_jwk = text;
    } else {
        return ERR_UPSTREAM;
    }
    e = volume_tx_signing_key_put(tx, &k);
    free(text);
    return e;
}

/* Applies a GRANT record or a grant_put payload. */
static enum err put_grant(struct volume_tx *tx, const json_t *p)
{
    struct volume_grant g;
    unsigned char *key = NULL;
    enum err e;

    memset(&g, 0, sizeof(g));
    if (!j_id(p, "vault", g.vg_vault) || !j_time(p, "createdAt", &g.vg_created_at, 0))
        return ERR_UPSTREAM;
    e = j_b64(p, "keyWrapped", &key, &g.vg_key_wrapped_len);
    if (e != ERR_OK)
        return e;
    g.vg_key_wrapped = key;
    e = volume_tx_grant_put(tx, &g);
    mem_free(key);
    return e;
}

/* Applies a token_register payload. */
static enum err put_token(struct volume_tx *tx, const json_t *p)
{
    struct volume_token t;
    const json_t *vaults = json_object_get(p, "vaults");
    char *text = NULL;
    enum err e;

    memset(&t, 0, sizeof(t));
    if (!j_id(p, "jti", t.vt_jti) || !j_id(p, "server", t.vt_server) ||
        !j_time(p, "expiresAt", &t.vt_expires_at, 1) ||
        !j_time(p, "createdAt", &t.vt_created_at, 0))
        return ERR_UPSTREAM;
    if (json_is_string(vaults)) {
        t.vt_vaults_json = json_string_value(vaults);
    } else if (json_is_array(vaults)) {
        text = json_dumps(vaults, JSON_COMPACT);
        if (!text)
            return ERR_NOMEM;
        t.vt_vaults_json = text;
    } else {
        return ERR_UPSTREAM;
    }
    e = volume_tx_token_put(tx, &t);
    free(text);
    return e;
}

/* Applies one snapshot: the vault record, then every item. */
static enum err apply_snapshot(struct volume_tx *tx, const struct sync_snapshot *s)
{
    const json_t *it;
    size_t i;
    enum err e;

    if (!json_is_object(s->ss_vault) || (s->ss_items && !json_is_array(s->ss_items)))
        return ERR_UPSTREAM;
    e = put_vault(tx, s->ss_vault);
    json_array_foreach(s->ss_items, i, it)
    {
        if (e != ERR_OK)
            break;
        e = put_item(tx, it);
    }
    return e;
}

/* ---- change feed ---------------------------------------------------------------------- */

/* Returns 1 when a change's payload says it was superseded. */
static int is_superseded(const json_t *payload)
{
    return json_object_get(payload, "supersededBy") != NULL;
}

/* Applies one change (not superseded) to tx. */
static enum err apply_change(struct volume_tx *tx, const char *kind, const json_t *p,
                             const char *vault, const char *server)
{
    char id[ID_LEN + 1], kid[VOLUME_KID_MAX + 1];
    int64_t at;

    if (strcmp(kind, "item_put") == 0 || strcmp(kind, "item_delete") == 0) {
        uint64_t cv = 0;
        enum err e = kind[5] == 'p' ? put_item(tx, p) : delete_item(tx, p);

        /* the hub's content version after this change (hubs since issue 9): several
         * superseded changes of one item bump the hub once each, the volume once */
        if (e == ERR_OK && j_u64(p, "vaultContentVersion", &cv, 1) && cv > 0)
            e = volume_tx_vault_content_at_least(tx, j_str(p, "vault"), cv);
        return e;
    }
    if (strcmp(kind, "vault_create") == 0 || strcmp(kind, "vault_update") == 0)
        return put_vault(tx, p);
    if (strcmp(kind, "vault_delete") == 0) {
        if (!j_id(p, "id", id))
            return ERR_UPSTREAM;
        return volume_tx_vault_delete(tx, id);
    }
    if (strcmp(kind, "file_put") == 0)
        return put_file(tx, p);
    if (strcmp(kind, "grant_put") == 0)
        return put_grant(tx, p);
    if (strcmp(kind, "grant_delete") == 0) {
        if (!j_id(p, "vault", id))
            return ERR_UPSTREAM;
        return volume_tx_grant_delete(tx, id);
    }
    if (strcmp(kind, "token_register") == 0)
        return put_token(tx, p);
    if (strcmp(kind, "token_revoke") == 0) {
        if (!j_id(p, "jti", id) || !j_time(p, "revokedAt", &at, 0) || at <= 0)
            return ERR_UPSTREAM;
        return volume_tx_token_revoke(tx, id, at);
    }
    if (strcmp(kind, "signing_key_add") == 0)
        return put_signing_key(tx, p);
    if (strcmp(kind, "signing_key_retire") == 0) {
        if (!j_copy(p, "kid", kid, sizeof(kid), 0) || !kid[0] || !j_time(p, "retiredAt", &at, 0) ||
            at <= 0)
            return ERR_UPSTREAM;
        return volume_tx_signing_key_retire(tx, kid, at);
    }
    if (strcmp(kind, "server_delete") == 0)
        return server && server[0] ? volume_tx_set_server_deleted(tx) : ERR_UPSTREAM;
    if (strcmp(kind, "account_create") == 0 || strcmp(kind, "server_create") == 0)
        return ERR_OK; /* nothing of them is mirrored */
    (void)vault;
    log_warn("sync: skipping a change of unknown kind");
    return ERR_OK;
}

/* Opens the transaction of a batch: ERR_CONFLICT when v was rebuilt since epoch (0: any). */
static enum err tx_open(struct volume *v, uint64_t epoch, struct volume_tx **tx, char *errmsg,
                        size_t errcap)
{
    enum err e = volume_tx_begin_at(v, epoch, tx);

    if (e == ERR_CONFLICT)
        return err_msgf(e, errmsg, errcap, "sync: the volume was rebuilt during the exchange");
    if (e != ERR_OK)
        return err_msgf(e, errmsg, errcap, "sync: cannot begin a volume transaction: %s",
                        err_name(e));
    return ERR_OK;
}

static enum err apply_changes_at(struct volume *v, uint64_t epoch, const json_t *page,
                                 const struct sync_snapshot *snaps, size_t nsnaps, uint64_t *next,
                                 int *more, char *errmsg, size_t errcap);
static enum err apply_state_at(struct volume *v, uint64_t epoch, const json_t *state,
                               const char *hub_url, int resync, const struct sync_snapshot *snaps,
                               size_t nsnaps, char *errmsg, size_t errcap);

/* Applies a page (see apply.h). */
enum err sync_apply_changes(struct volume *v, const json_t *page, const struct sync_snapshot *snaps,
                            size_t nsnaps, uint64_t *next, int *more, char *errmsg, size_t errcap)
{
    return apply_changes_at(v, 0, page, snaps, nsnaps, next, more, errmsg, errcap);
}

/* sync_apply_changes in a transaction that fails if v was rebuilt since epoch (0: any). */
static enum err apply_changes_at(struct volume *v, uint64_t epoch, const json_t *page,
                                 const struct sync_snapshot *snaps, size_t nsnaps, uint64_t *next,
                                 int *more, char *errmsg, size_t errcap)
{
    struct volume_tx *tx = NULL;
    const json_t *changes, *c, *payload;
    const char *kind = "";
    uint64_t nx = 0, seq = 0;
    int mr;
    size_t i;
    enum err e = ERR_OK;

    if (next)
        *next = 0;
    if (more)
        *more = 0;
    if (!v || !page)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "sync: no volume or page");
    changes = json_object_get(page, "changes");
    if (!json_is_array(changes) || !j_u64(page, "next", &nx, 0) ||
        !json_is_boolean(json_object_get(page, "more")))
        return err_msgf(ERR_UPSTREAM, errmsg, errcap, "sync: malformed changes page");
    mr = json_is_true(json_object_get(page, "more"));
    e = tx_open(v, epoch, &tx, errmsg, errcap);
    if (e != ERR_OK)
        return e;
    json_array_foreach(changes, i, c)
    {
        payload = json_object_get(c, "payload");
        kind = j_str(c, "kind");
        if (!kind || !j_u64(c, "seq", &seq, 0) || !json_is_object(payload)) {
            kind = kind ? kind : "?";
            e = ERR_UPSTREAM;
            break;
        }
        if (is_superseded(payload))
            continue;
        e = apply_change(tx, kind, payload, j_str(c, "vault"), j_str(c, "server"));
        if (e != ERR_OK)
            break;
    }
    if (e != ERR_OK) {
        volume_tx_rollback(tx);
        return err_msgf(e, errmsg, errcap, "sync: change %llu (%s) not applied: %s",
                        (unsigned long long)seq, kind, err_name(e));
    }
    for (i = 0; i < nsnaps && e == ERR_OK; i++)
        e = apply_snapshot(tx, &snaps[i]);
    if (e == ERR_OK)
        e = volume_tx_set_last_seq(tx, nx);
    if (e == ERR_OK && !mr)
        e = volume_tx_set_sync_time(tx, (int64_t)time(NULL));
    if (e != ERR_OK) {
        volume_tx_rollback(tx);
        return err_msgf(e, errmsg, errcap, "sync: page not applied: %s", err_name(e));
    }
    e = volume_tx_commit(tx);
    if (e != ERR_OK)
        return err_msgf(e, errmsg, errcap, "sync: page not committed: %s", err_name(e));
    if (next)
        *next = nx;
    if (more)
        *more = mr;
    return ERR_OK;
}

/* ---- state ---------------------------------------------------------------------------- */

/* Returns 1 when the state's grants name vault. */
static int state_has_grant(const json_t *grants, const char *vault)
{
    const json_t *g;
    size_t i;

    json_array_foreach(grants, i, g)
    {
        const char *gv = j_str(g, "vault");

        if (gv && strcasecmp(gv, vault) == 0)
            return 1;
    }
    return 0;
}

/* Applies the state (see apply.h). */
enum err sync_apply_state(struct volume *v, const json_t *state, const char *hub_url, int resync,
                          const struct sync_snapshot *snaps, size_t nsnaps, char *errmsg,
                          size_t errcap)
{
    return apply_state_at(v, 0, state, hub_url, resync, snaps, nsnaps, errmsg, errcap);
}

/* Applies one page of a vault's items (see apply.h). */
enum err sync_apply_item_page(struct volume *v, uint64_t epoch, const json_t *items, char *errmsg,
                              size_t errcap)
{
    struct volume_tx *tx = NULL;
    const json_t *it;
    size_t i;
    enum err e;

    if (!v || !json_is_array(items))
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "sync: no volume or item page");
    e = tx_open(v, epoch, &tx, errmsg, errcap);
    if (e != ERR_OK)
        return e;
    json_array_foreach(items, i, it)
    {
        e = put_item(tx, it);
        if (e != ERR_OK)
            break;
    }
    if (e != ERR_OK) {
        volume_tx_rollback(tx);
        return err_msgf(e, errmsg, errcap, "sync: item page not applied (item %zu): %s", i,
                        err_name(e));
    }
    e = volume_tx_commit(tx);
    if (e != ERR_OK)
        return err_msgf(e, errmsg, errcap, "sync: item page not committed: %s", err_name(e));
    return ERR_OK;
}

/* sync_apply_state in a transaction that fails if v was rebuilt since epoch (0: any). */
static enum err apply_state_at(struct volume *v, uint64_t epoch, const json_t *state,
                               const char *hub_url, int resync, const struct sync_snapshot *snaps,
                               size_t nsnaps, char *errmsg, size_t errcap)
{
    struct volume_grant *held = NULL;
    struct volume_tx *tx = NULL;
    const json_t *server, *grants, *keys, *it;
    const char *account, *server_id;
    size_t nheld = 0, i;
    enum err e;

    if (!v || !state)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "sync: no volume or state");
    account = j_str(state, "account");
    server = json_object_get(state, "server");
    server_id = j_str(server, "id");
    grants = json_object_get(state, "grants");
    keys = json_object_get(state, "signingKeys");
    if (!account || !server_id || !json_is_array(grants) || !json_is_array(keys))
        return err_msgf(ERR_UPSTREAM, errmsg, errcap, "sync: malformed hub state");
    e = volume_grant_list(v, &held, &nheld);
    if (e != ERR_OK)
        return err_msgf(e, errmsg, errcap, "sync: cannot list the volume's grants");
    e = tx_open(v, epoch, &tx, errmsg, errcap);
    if (e != ERR_OK) {
        volume_grant_list_free(held, nheld);
        return e;
    }
    e = volume_tx_set_identity(tx, account, server_id, hub_url);
    if (e == ERR_CONFLICT) {
        volume_tx_rollback(tx);
        volume_grant_list_free(held, nheld);
        return err_msgf(e, errmsg, errcap,
                        "sync: this volume mirrors another account or server than the "
                        "credentials name");
    }
    if (e == ERR_OK && resync) {
        e = volume_tx_vaults_clear(tx);
        if (e == ERR_OK)
            e = volume_tx_set_last_seq(tx, 0);
    }
    json_array_foreach(keys, i, it)
    {
        if (e != ERR_OK)
            break;
        e = put_signing_key(tx, it);
    }
    for (i = 0; i < nheld && e == ERR_OK; i++) {
        if (!state_has_grant(grants, held[i].vg_vault))
            e = volume_tx_grant_delete(tx, held[i].vg_vault);
    }
    json_array_foreach(grants, i, it)
    {
        if (e != ERR_OK)
            break;
        e = put_grant(tx, it);
    }
    for (i = 0; i < nsnaps && e == ERR_OK; i++)
        e = apply_snapshot(tx, &snaps[i]);
    volume_grant_list_free(held, nheld);
    if (e != ERR_OK) {
        volume_tx_rollback(tx);
        return err_msgf(e, errmsg, errcap, "sync: hub state not applied: %s", err_name(e));
    }
    e = volume_tx_commit(tx);
    if (e != ERR_OK)
        return err_msgf(e, errmsg, errcap, "sync: hub state not committed: %s", err_name(e));
    return ERR_OK;
}

/* ---- one pass ------------------------------------------------------------------------- */

/* Snapshots being pulled for one batch: the JSON they borrow, owned here. */
struct pulls {
    struct sync_snapshot *pl_snaps; /* pl_n entries */
    json_t **pl_json;               /* 2 * pl_n: vault record, items */
    size_t pl_n;
    size_t pl_cap;
};

/* Frees what a pulls holds. */
static void pulls_free(struct pulls *pl)
{
    size_t i;

    for (i = 0; i < 2 * pl->pl_n; i++)
        json_decref(pl->pl_json[i]);
    mem_free(pl->pl_snaps);
    mem_free(pl->pl_json);
    memset(pl, 0, sizeof(*pl));
}

/* Returns 1 when vault is already being pulled. */
static int pulls_has(const struct pulls *pl, const char *vault)
{
    size_t i;

    for (i = 0; i < pl->pl_n; i++) {
        if (strcasecmp(j_str(pl->pl_snaps[i].ss_vault, "id"), vault) == 0)
            return 1;
    }
    return 0;
}

/* Drops what a pull that did not finish staged of vault (not served: no record). */
static void drop_staged(struct sync_ctx *ctx, const char *vault)
{
    struct volume_tx *tx = NULL;
    char msg[SYNC_ERRMSG_BYTES];
    enum err e = tx_open(ctx->sc_volume, ctx->sc_epoch, &tx, msg, sizeof(msg));

    if (e == ERR_OK) {
        e = volume_tx_vault_delete(tx, vault);
        if (e == ERR_OK)
            e = volume_tx_commit(tx);
        else
            volume_tx_rollback(tx);
    }
    if (e != ERR_OK) /* the next pass pulls the vault again, or its revocation drops it */
        log_info("sync: the items staged for vault %s stay for now: %s", vault, err_name(e));
}

/*
 * Stages the items of vault in the volume page by page (GET .../items?limit=&after=), each
 * page in its own transaction. The vault is not served meanwhile: the api serves a vault
 * only with its record (and grant), which comes last, with the batch (docs/sync.md, "A vault
 * pulled in pages"). *staged receives the pages applied.
 */
/* One page being staged by a helper thread while the next one is fetched. */
struct stage_job {
    struct volume *sj_volume;
    uint64_t sj_epoch;
    json_t *sj_page; /* owned */
    enum err sj_rc;
    char sj_msg[SYNC_ERRMSG_BYTES];
};

static void *stage_main(void *arg)
{
    struct stage_job *j = arg;

    j->sj_rc =
        sync_apply_item_page(j->sj_volume, j->sj_epoch, j->sj_page, j->sj_msg, sizeof(j->sj_msg));
    return NULL;
}

static enum err stage_items(struct sync_ctx *ctx, const char *vault, uint64_t *staged, int *worded)
{
    char after[ID_LEN + 1], next[ID_LEN + 1];
    uint64_t items = 0;
    json_t *page = NULL, *ahead = NULL;
    enum err e = ERR_OK, f = ERR_OK;

    *staged = 0;
    *worded = 1;
    after[0] = '\0';
    e = hubclient_vault_items_page(ctx->sc_hub, vault, after, ctx->sc_items_limit, &page, next);
    /* a page is staged (volume) while the next is fetched (hub): they overlap, which on a
       new server of 10,000 items takes a third off the pull */
    while (e == ERR_OK) {
        struct stage_job job;
        pthread_t th;
        int threaded;

        if (*staged >= SYNC_MAX_PAGES) {
            json_decref(page);
            return err_msgf(ERR_UPSTREAM, ctx->sc_errmsg, sizeof(ctx->sc_errmsg),
                            "sync: vault %s has more than %d pages of items", vault,
                            SYNC_MAX_PAGES);
        }
        items += json_array_size(page);
        memset(&job, 0, sizeof(job));
        job.sj_volume = ctx->sc_volume;
        job.sj_epoch = ctx->sc_epoch;
        job.sj_page = page;
        page = NULL;
        threaded = next[0] && pthread_create(&th, NULL, stage_main, &job) == 0;
        if (!threaded)
            (void)stage_main(&job);
        memcpy(after, next, sizeof(after));
        if (after[0])
            f = hubclient_vault_items_page(ctx->sc_hub, vault, after, ctx->sc_items_limit, &ahead,
                                           next);
        if (threaded)
            (void)pthread_join(th, NULL);
        json_decref(job.sj_page);
        if (job.sj_rc != ERR_OK) {
            json_decref(ahead);
            (void)snprintf(ctx->sc_errmsg, sizeof(ctx->sc_errmsg), "%s", job.sj_msg);
            return job.sj_rc;
        }
        (*staged)++;
        ctx->sc_item_pages++;
        if (!after[0])
            break;
        if (f != ERR_OK) {
            e = f;
            break;
        }
        page = ahead;
        ahead = NULL;
    }
    if (e != ERR_OK) {
        *worded = 0; /* the hub's: the caller words it */
        return e;
    }
    if (*staged > 1)
        log_info("sync: vault %s pulled: %llu items in %llu pages", vault,
                 (unsigned long long)items, (unsigned long long)*staged);
    return ERR_OK;
}

/*
 * Pulls vault into pl: its items staged in the volume (stage_items), then its record, which
 * the caller applies with its batch. A vault the hub no longer grants or has (403, 404) is
 * skipped, what was staged of it dropped: its revocation or deletion is ahead in the feed.
 */
static enum err pull_vault(struct sync_ctx *ctx, struct pulls *pl, const char *vault)
{
    json_t *rec = NULL;
    uint64_t staged = 0;
    int worded = 0;
    enum err e;

    if (pulls_has(pl, vault))
        return ERR_OK;
    e = stage_items(ctx, vault, &staged, &worded);
    if (e == ERR_OK) {
        worded = 0;
        e = hubclient_vault(ctx->sc_hub, vault, &rec);
    }
    if (e == ERR_FORBIDDEN || e == ERR_NOT_FOUND) {
        json_decref(rec);
        if (staged)
            drop_staged(ctx, vault);
        return ERR_OK;
    }
    if (e == ERR_OK && !j_str(rec, "id")) {
        json_decref(rec);
        return err_msgf(ERR_UPSTREAM, ctx->sc_errmsg, sizeof(ctx->sc_errmsg),
                        "sync: pulling a vault: the hub's vault record has no id");
    }
    if (e != ERR_OK) {
        json_decref(rec);
        if (worded) /* the volume's failure, or the page guard */
            return e;
        return err_msgf(e, ctx->sc_errmsg, sizeof(ctx->sc_errmsg), "sync: pulling a vault: %s",
                        hubclient_errmsg(ctx->sc_hub));
    }
    if (pl->pl_n == pl->pl_cap) {
        size_t cap = pl->pl_cap ? 2 * pl->pl_cap : 4;
        struct sync_snapshot *s = mem_calloc(cap, sizeof(*s));
        json_t **j = mem_calloc(2 * cap, sizeof(*j));

        if (!s || !j) {
            mem_free(s);
            mem_free(j);
            json_decref(rec);
            return err_msgf(ERR_NOMEM, ctx->sc_errmsg, sizeof(ctx->sc_errmsg), "out of memory");
        }
        if (pl->pl_n) {
            memcpy(s, pl->pl_snaps, pl->pl_n * sizeof(*s));
            memcpy(j, pl->pl_json, 2 * pl->pl_n * sizeof(*j));
        }
        mem_free(pl->pl_snaps);
        mem_free(pl->pl_json);
        pl->pl_snaps = s;
        pl->pl_json = j;
        pl->pl_cap = cap;
    }
    pl->pl_json[2 * pl->pl_n] = rec;
    pl->pl_json[2 * pl->pl_n + 1] = NULL;
    pl->pl_snaps[pl->pl_n].ss_vault = rec;
    pl->pl_snaps[pl->pl_n].ss_items = NULL; /* staged already */
    pl->pl_n++;
    ctx->sc_pulled++;
    return ERR_OK;
}

/* Records the hub's failure in ctx; returns e. */
static enum err hub_fail(struct sync_ctx *ctx, enum err e, const char *what)
{
    return err_msgf(e, ctx->sc_errmsg, sizeof(ctx->sc_errmsg), "sync: %s: %s", what,
                    hubclient_errmsg(ctx->sc_hub));
}

/*
 * The first step of a resync, in its own transaction: every vault dropped, the last seq 0
 * and the sync time 0 - so the api, which serves only a volume in step with the hub
 * (synced), answers 503 until the pass that pulls everything again ends, instead of an
 * account with vaults missing.
 */
static enum err clear_for_resync(struct sync_ctx *ctx)
{
    struct volume_tx *tx = NULL;
    enum err e =
        tx_open(ctx->sc_volume, ctx->sc_epoch, &tx, ctx->sc_errmsg, sizeof(ctx->sc_errmsg));

    if (e != ERR_OK)
        return e;
    e = volume_tx_vaults_clear(tx);
    if (e == ERR_OK)
        e = volume_tx_set_last_seq(tx, 0);
    if (e == ERR_OK)
        e = volume_tx_set_sync_time(tx, 0);
    if (e != ERR_OK) {
        volume_tx_rollback(tx);
        return err_msgf(e, ctx->sc_errmsg, sizeof(ctx->sc_errmsg),
                        "sync: the volume could not be cleared for a resync: %s", err_name(e));
    }
    e = volume_tx_commit(tx);
    if (e != ERR_OK)
        return err_msgf(e, ctx->sc_errmsg, sizeof(ctx->sc_errmsg),
                        "sync: the volume could not be cleared for a resync: %s", err_name(e));
    return ERR_OK;
}

/*
 * Reads the state, pulls the vaults to pull and applies them in one transaction; with
 * force (or when the hub's last seq is below the volume's) everything is dropped and
 * pulled again.
 */
static enum err run_state(struct sync_ctx *ctx, int force)
{
    struct pulls pl;
    json_t *state = NULL;
    const json_t *g;
    uint64_t ours = 0, theirs = 0;
    int resync = force, held = 0;
    size_t i;
    enum err e;

    memset(&pl, 0, sizeof(pl));
    ctx->sc_pulled_seq = 0;
    e = hubclient_state(ctx->sc_hub, &state);
    if (e != ERR_OK)
        return hub_fail(ctx, e, "reading the hub state");
    e = volume_last_seq(ctx->sc_volume, &ours);
    if (e != ERR_OK) {
        (void)err_msgf(e, ctx->sc_errmsg, sizeof(ctx->sc_errmsg), "sync: reading the volume");
        goto out;
    }
    if (!resync && j_u64(state, "lastSeq", &theirs, 0) && theirs < ours) {
        log_warn("sync: the hub's last seq is below the volume's: resyncing from the start");
        resync = 1;
    }
    /* vaults are pulled in pages staged in the volume: what a resync drops goes first */
    if (resync) {
        e = clear_for_resync(ctx);
        if (e != ERR_OK)
            goto out;
    }
    json_array_foreach(json_object_get(state, "grants"), i, g)
    {
        struct volume_vault vv;
        const char *vault = j_str(g, "vault");

        if (!vault || !id_is_valid(vault)) {
            e = err_msgf(ERR_UPSTREAM, ctx->sc_errmsg, sizeof(ctx->sc_errmsg),
                         "sync: malformed grant in the hub state");
            goto out;
        }
        if (!resync) {
            e = volume_vault_get(ctx->sc_volume, vault, &vv);
            if (e == ERR_OK) {
                volume_vault_clear(&vv);
                held = 1;
                continue;
            }
            if (e != ERR_NOT_FOUND) {
                (void)err_msgf(e, ctx->sc_errmsg, sizeof(ctx->sc_errmsg),
                               "sync: reading the volume");
                goto out;
            }
        }
        e = pull_vault(ctx, &pl, vault);
        if (e != ERR_OK)
            goto out;
    }
    e = apply_state_at(ctx->sc_volume, ctx->sc_epoch, state, ctx->sc_hub_url, 0, pl.pl_snaps,
                       pl.pl_n, ctx->sc_errmsg, sizeof(ctx->sc_errmsg));
    /* every vault it holds now was pulled whole after the hub's last seq was read (the
       state lists the grants first, then that seq): the feed's item changes up to that seq
       are in what was pulled, and a vault granted later comes with its own pull */
    if (e == ERR_OK && !held && pl.pl_n > 0)
        ctx->sc_pulled_seq = theirs;
out:
    pulls_free(&pl);
    json_decref(state);
    return e;
}

/* Pulls the vaults a page grants (grant_put changes not superseded). */
static enum err pull_page_grants(struct sync_ctx *ctx, const json_t *page, struct pulls *pl)
{
    struct volume_vault vv;
    const json_t *c, *p;
    size_t i;
    enum err e;

    json_array_foreach(json_object_get(page, "changes"), i, c)
    {
        const char *kind = j_str(c, "kind"), *vault;

        p = json_object_get(c, "payload");
        if (!kind || strcmp(kind, "grant_put") != 0 || !json_is_object(p) || is_superseded(p))
            continue;
        vault = j_str(p, "vault");
        if (!vault || !id_is_valid(vault))
            continue; /* sync_apply_changes refuses the page */
        /* A vault the volume holds needs no pull: every change of it after the last seq is
         * in the feed (which filters by the grants of now). */
        e = volume_vault_get(ctx->sc_volume, vault, &vv);
        if (e == ERR_OK) {
            volume_vault_clear(&vv);
            continue;
        }
        if (e != ERR_NOT_FOUND)
            return err_msgf(e, ctx->sc_errmsg, sizeof(ctx->sc_errmsg), "sync: reading the volume");
        e = pull_vault(ctx, pl, vault);
        if (e != ERR_OK)
            return e;
    }
    return ERR_OK;
}

/*
 * Applies pages from the volume's last seq until more is false; the first waits wait_s.
 * A page whose lastSeq is below the volume's (a hub restored from an older backup while
 * this sync kept polling) turns into a full pass, which drops and pulls everything again:
 * otherwise the changes the restored hub numbers again would be skipped.
 */
static enum err run_changes(struct sync_ctx *ctx, unsigned wait_s)
{
    uint64_t since = 0, next = 0, pages, theirs = 0;
    int more = 1;
    enum err e;

    e = volume_last_seq(ctx->sc_volume, &since);
    if (e != ERR_OK)
        return err_msgf(e, ctx->sc_errmsg, sizeof(ctx->sc_errmsg), "sync: reading the volume");
    for (pages = 0; more && pages < SYNC_MAX_PAGES; pages++) {
        struct pulls pl;
        json_t *page = NULL;

        memset(&pl, 0, sizeof(pl));
        e = hubclient_changes(ctx->sc_hub, since, ctx->sc_page_limit, pages ? 0 : wait_s,
                              since < ctx->sc_pulled_seq ? ctx->sc_pulled_seq : 0, &page);
        if (e != ERR_OK)
            return hub_fail(ctx, e, "reading the change feed");
        if (j_u64(page, "lastSeq", &theirs, 0) && theirs < since) {
            json_decref(page);
            log_warn("sync: the change feed's last seq is below the volume's (a restored hub)");
            e = run_state(ctx, 1);
            if (e != ERR_OK)
                return e;
            e = volume_last_seq(ctx->sc_volume, &since);
            if (e != ERR_OK)
                return err_msgf(e, ctx->sc_errmsg, sizeof(ctx->sc_errmsg),
                                "sync: reading the volume");
            continue;
        }
        if (j_u64(page, "next", &next, 0) && next < since) {
            json_decref(page);
            return err_msgf(ERR_UPSTREAM, ctx->sc_errmsg, sizeof(ctx->sc_errmsg),
                            "sync: the change feed went backwards");
        }
        e = pull_page_grants(ctx, page, &pl);
        if (e == ERR_OK)
            e = apply_changes_at(ctx->sc_volume, ctx->sc_epoch, page, pl.pl_snaps, pl.pl_n, &next,
                                 &more, ctx->sc_errmsg, sizeof(ctx->sc_errmsg));
        pulls_free(&pl);
        json_decref(page);
        if (e != ERR_OK)
            return e;
        ctx->sc_pages++;
        if (more && next <= since)
            return err_msgf(ERR_UPSTREAM, ctx->sc_errmsg, sizeof(ctx->sc_errmsg),
                            "sync: the change feed did not advance");
        since = next;
    }
    return ERR_OK;
}

/* Fetches missing file contents (see apply.h). */
enum err sync_fetch_files(struct sync_ctx *ctx)
{
    struct volume_vault *vaults = NULL;
    size_t nv = 0, i, j;
    uint64_t missing = 0;
    enum err e;

    if (!ctx || !ctx->sc_volume || !ctx->sc_hub)
        return ERR_BAD_INPUT;
    /* the usual case after a batch: nothing to fetch, and listing every vault counts its
       items (O(items) per pass) */
    if (volume_files_missing(ctx->sc_volume, &missing) == ERR_OK && missing == 0)
        return ERR_OK;
    e = volume_vault_list(ctx->sc_volume, &vaults, &nv);
    if (e != ERR_OK)
        return err_msgf(e, ctx->sc_errmsg, sizeof(ctx->sc_errmsg), "sync: listing the vaults");
    for (i = 0; i < nv && e == ERR_OK; i++) {
        struct volume_file *files = NULL;
        size_t nf = 0;

        e = volume_file_list(ctx->sc_volume, vaults[i].vv_id, &files, &nf);
        if (e == ERR_NOT_FOUND) { /* dropped meanwhile */
            e = ERR_OK;
            continue;
        }
        if (e != ERR_OK) {
            (void)err_msgf(e, ctx->sc_errmsg, sizeof(ctx->sc_errmsg), "sync: listing files");
            break;
        }
        for (j = 0; j < nf && e == ERR_OK; j++) {
            unsigned char *data = NULL;
            size_t len = 0;

            if (files[j].vf_present)
                continue;
            /* after a rebuild the content is usually still on disk: kept if it verifies */
            e = volume_file_content_adopt(ctx->sc_volume, files[j].vf_vault, files[j].vf_id);
            if (e == ERR_OK) {
                ctx->sc_adopted++;
                continue;
            }
            if (e != ERR_NOT_FOUND) {
                (void)err_msgf(e, ctx->sc_errmsg, sizeof(ctx->sc_errmsg),
                               "sync: checking a file content: %s", err_name(e));
                break;
            }
            e = hubclient_file_get(ctx->sc_hub, files[j].vf_vault, files[j].vf_id, &data, &len);
            if (e == ERR_FORBIDDEN || e == ERR_NOT_FOUND) {
                e = ERR_OK;
                continue;
            }
            if (e != ERR_OK) {
                (void)hub_fail(ctx, e, "fetching a file");
                break;
            }
            e = volume_file_content_put(ctx->sc_volume, files[j].vf_vault, files[j].vf_id, data,
                                        len);
            mem_free(data);
            if (e == ERR_NOT_FOUND) /* dropped meanwhile */
                e = ERR_OK;
            if (e != ERR_OK)
                (void)err_msgf(e, ctx->sc_errmsg, sizeof(ctx->sc_errmsg),
                               "sync: storing a file content: %s", err_name(e));
        }
        mem_free(files);
    }
    volume_vault_list_free(vaults, nv);
    return e;
}

/* One pass of sync (see apply.h). */
enum err sync_run_once(struct sync_ctx *ctx)
{
    enum err e;

    if (!ctx || !ctx->sc_volume || !ctx->sc_hub)
        return ERR_BAD_INPUT;
    ctx->sc_errmsg[0] = '\0';
    ctx->sc_pages = 0;
    ctx->sc_pulled = 0;
    ctx->sc_item_pages = 0;
    ctx->sc_adopted = 0;
    if (!hubclient_has_session(ctx->sc_hub)) {
        e = hubclient_authenticate(ctx->sc_hub);
        if (e != ERR_OK)
            return hub_fail(ctx, e, "authenticating to the hub");
    }
    e = run_state(ctx, 0);
    if (e == ERR_OK)
        e = run_changes(ctx, 0);
    if (e == ERR_OK)
        e = sync_fetch_files(ctx);
    return e;
}

/* One long-poll and what follows it (see apply.h). */
enum err sync_poll(struct sync_ctx *ctx, unsigned wait_s)
{
    enum err e;

    if (!ctx || !ctx->sc_volume || !ctx->sc_hub || wait_s > HUBCLIENT_MAX_WAIT)
        return ERR_BAD_INPUT;
    ctx->sc_errmsg[0] = '\0';
    ctx->sc_pages = 0;
    ctx->sc_pulled = 0;
    ctx->sc_item_pages = 0;
    ctx->sc_adopted = 0;
    ctx->sc_pulled_seq = 0;
    e = run_changes(ctx, wait_s);
    if (e == ERR_OK)
        e = sync_fetch_files(ctx);
    return e;
}
