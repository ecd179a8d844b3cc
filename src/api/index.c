/*
 * index.c - the api's in-memory index: every served vault with its decrypted name and
 * its key, and every live item's decrypted overview, so that listings and filters never
 * touch SQLite or decrypt per request. A generation is immutable once built; readers
 * hold a reference, the watcher swaps in a new one when the volume's generation moves.
 * Items whose version did not change are shared with the previous generation, so a
 * change costs one decryption, not one per item.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "json/item.h"
#include "json/filter.h"
#include "keys/vaultcrypt.h"

/* The serial of the next generation made (ix_serial). */
static uint64_t ix_serials;

/* Frees an item (no generation holds it any more). */
static void ix_item_free(struct api_item *it)
{
    if (!it)
        return;
    json_decref(it->ai_overview);
    mem_free(it->ai_tags);
    mem_free(it->ai_title_key);
    mem_free(it);
}

static int ix_cmp_item(const void *x, const void *y)
{
    const struct api_item *const *a = x, *const *b = y;

    return strcmp((*a)->ai_id, (*b)->ai_id);
}

/* Orders by title key (bytes, then length), then id. */
static int ix_cmp_title_key(const struct api_item *a, const char *key, size_t len, const char *id)
{
    size_t n = a->ai_title_key_len < len ? a->ai_title_key_len : len;
    int c = n ? memcmp(a->ai_title_key, key, n) : 0;

    if (c == 0 && a->ai_title_key_len != len)
        c = a->ai_title_key_len < len ? -1 : 1;
    return c != 0 || !id ? c : strcmp(a->ai_id, id);
}

static int ix_cmp_title(const void *x, const void *y)
{
    const struct api_item *const *a = x, *const *b = y;

    return ix_cmp_title_key(*a, (*b)->ai_title_key, (*b)->ai_title_key_len, (*b)->ai_id);
}

/* First position of bytitle (n entries) not below (key, id); id NULL: the first of key. */
static size_t ix_title_lower(struct api_item *const *bytitle, size_t n, const char *key, size_t len,
                             const char *id)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (ix_cmp_title_key(bytitle[mid], key, len, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First position of arr (n entries in cmp's order) not below key. */
static size_t ix_order_lower(struct api_item *const *arr, size_t n, const struct api_item *key,
                             int (*cmp)(const void *, const void *))
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (cmp(&arr[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*
 * Keeps arr (n entries in cmp's order - by id or by title - with room for one more) in
 * order through one write: old (NULL: none) leaves, then it (NULL: none) comes in.
 */
static void ix_order_update(struct api_item **arr, size_t n, const struct api_item *old,
                            struct api_item *it, int (*cmp)(const void *, const void *))
{
    size_t k;

    if (old) {
        k = ix_order_lower(arr, n, old, cmp);
        if (k < n && arr[k] == old) {
            memmove(&arr[k], &arr[k + 1], (n - k - 1) * sizeof(*arr));
            n--;
        }
    }
    if (it) {
        k = ix_order_lower(arr, n, it, cmp);
        memmove(&arr[k + 1], &arr[k], (n - k) * sizeof(*arr));
        arr[k] = it;
    }
}

static int ix_cmp_vault(const void *x, const void *y)
{
    const struct api_vault *a = x, *b = y;

    return strcmp(a->av_meta.vm_id, b->av_meta.vm_id);
}

/* Drops a reference to a vault key; the last one wipes and frees it. */
static void ix_vkey_unref(struct api_vkey *k)
{
    if (!k || __atomic_sub_fetch(&k->vk_refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    vaultcrypt_key_free(k->vk_key);
    mem_free(k->vk_wrapped);
    mem_free(k);
}

/* Gives av a reference to key k (NULL: none). */
static void ix_vault_set_key(struct api_vault *av, struct api_vkey *k)
{
    if (k)
        __atomic_add_fetch(&k->vk_refs, 1, __ATOMIC_ACQ_REL);
    av->av_vkey = k;
    av->av_key = k ? k->vk_key : NULL;
}

/* Frees what a vault slot owns but its items (which the generations share). */
static void ix_vault_release(struct api_vault *av)
{
    mem_free(av->av_items);
    mem_free(av->av_byid);
    mem_free(av->av_bytitle);
    ix_vkey_unref(av->av_vkey);
    memset(av, 0, sizeof(*av));
}

/* Makes an empty generation with one reference. */
static struct api_index *ix_new(void)
{
    struct api_index *ix = mem_calloc(1, sizeof(*ix));

    if (ix) {
        ix->ix_refs = 1;
        ix->ix_serial = __atomic_add_fetch(&ix_serials, 1, __ATOMIC_ACQ_REL);
    }
    return ix;
}

/* Which items ix_free frees. */
enum ix_items_freed {
    IX_FREE_NONE, /* a successor holds them, or retired them */
    IX_FREE_ALL,  /* the newest generation: it holds them alone */
    IX_FREE_BORN  /* a failed build: those it made */
};

/*
 * Frees generation ix, its vaults and the items what says. Its retired list goes, not the
 * items in it (its predecessor's, freed with that).
 */
static void ix_free(struct api_index *ix, enum ix_items_freed what)
{
    size_t i, j;

    for (i = 0; i < ix->ix_nvaults; i++) {
        struct api_vault *av = &ix->ix_vaults[i];

        for (j = 0; j < av->av_nitems && what != IX_FREE_NONE; j++)
            if (what == IX_FREE_ALL || av->av_items[j]->ai_born == ix->ix_serial)
                ix_item_free(av->av_items[j]);
        ix_vault_release(av);
    }
    mem_free(ix->ix_vaults);
    mem_free(ix->ix_retired);
    mem_free(ix);
}

/* A generation that was never made anyone's successor (a failed build): what it made. */
static void ix_discard(struct api_index *ix)
{
    if (ix)
        ix_free(ix, IX_FREE_BORN);
}

/* Takes a reference. */
struct api_index *api_index_ref(struct api_index *ix)
{
    if (ix)
        __atomic_add_fetch(&ix->ix_refs, 1, __ATOMIC_ACQ_REL);
    return ix;
}

/*
 * Drops a reference; the last one frees the generation (and wipes its vault keys): with a
 * successor, the items the successor retired (no one else holds them: the older
 * generations are gone), then the reference it held on the successor; without one (the
 * newest), every item it holds.
 */
void api_index_unref(struct api_index *ix)
{
    while (ix && __atomic_sub_fetch(&ix->ix_refs, 1, __ATOMIC_ACQ_REL) == 0) {
        struct api_index *next = __atomic_load_n(&ix->ix_next, __ATOMIC_ACQUIRE);
        size_t i;

        if (next) {
            for (i = 0; i < next->ix_nretired; i++)
                ix_item_free(next->ix_retired[i]);
            next->ix_nretired = 0;
        }
        ix_free(ix, next ? IX_FREE_NONE : IX_FREE_ALL);
        ix = next; /* iterative: a long chain of generations never deepens the stack */
    }
}

/* Adds item it of the predecessor to ix's retired list. ERR_OK or ERR_NOMEM. */
static enum err ix_retire(struct api_index *ix, struct api_item *it)
{
    if (it->ai_born == ix->ix_serial) { /* made and replaced within this generation */
        ix_item_free(it);
        return ERR_OK;
    }
    if (ix->ix_nretired == ix->ix_capretired) {
        size_t cap = ix->ix_capretired ? 2 * ix->ix_capretired : 16;
        struct api_item **p = mem_calloc(cap, sizeof(*p));

        if (!p)
            return ERR_NOMEM;
        if (ix->ix_nretired)
            memcpy(p, ix->ix_retired, ix->ix_nretired * sizeof(*p));
        mem_free(ix->ix_retired);
        ix->ix_retired = p;
        ix->ix_capretired = cap;
    }
    ix->ix_retired[ix->ix_nretired++] = it;
    return ERR_OK;
}

/* Makes ix the successor of prev (see api_index_build). */
static void ix_link(struct api_index *prev, struct api_index *ix)
{
    if (prev)
        __atomic_store_n(&prev->ix_next, api_index_ref(ix), __ATOMIC_RELEASE);
}

/* Finds a vault by id (binary search over the sorted vaults), or NULL. */
const struct api_vault *api_index_vault(const struct api_index *ix, const char *id)
{
    struct api_vault key;

    if (!ix || ix->ix_nvaults == 0 || !id || strlen(id) != ID_LEN)
        return NULL;
    memset(&key, 0, sizeof(key));
    memcpy(key.av_meta.vm_id, id, ID_LEN + 1);
    return bsearch(&key, ix->ix_vaults, ix->ix_nvaults, sizeof(*ix->ix_vaults), ix_cmp_vault);
}

/* Finds the entry of item id in av (mutable: for sharing between generations), or NULL. */
static struct api_item *ix_find(const struct api_vault *av, const char *id)
{
    struct api_item key, *kp = &key, **hit;

    if (!av || av->av_nitems == 0 || !id || strlen(id) != ID_LEN)
        return NULL;
    memcpy(key.ai_id, id, ID_LEN + 1);
    hit = bsearch(&kp, av->av_byid, av->av_nitems, sizeof(*av->av_byid), ix_cmp_item);
    return hit ? *hit : NULL;
}

/* Finds a live item of av by id, or NULL. */
const struct api_item *api_index_item(const struct api_vault *av, const char *id)
{
    return ix_find(av, id);
}

/* Points it->ai_title / ai_tags into its overview. Returns ERR_OK or ERR_NOMEM. */
static enum err ix_item_views(struct api_item *it)
{
    json_t *tags = json_object_get(it->ai_overview, "tags");
    const char *title = json_string_value(json_object_get(it->ai_overview, "title"));
    size_t i, n = json_is_array(tags) ? json_array_size(tags) : 0;

    it->ai_title = title ? title : "";
    if (filter_fold_key(it->ai_title, &it->ai_title_key, &it->ai_title_key_len) == ERR_NOMEM)
        return ERR_NOMEM;
    if (n == 0)
        return ERR_OK;
    it->ai_tags = mem_calloc(n, sizeof(*it->ai_tags));
    if (!it->ai_tags)
        return ERR_NOMEM;
    for (i = 0; i < n; i++) {
        const char *t = json_string_value(json_array_get(tags, i));

        if (t)
            it->ai_tags[it->ai_ntags++] = t;
    }
    return ERR_OK;
}

/* Makes the index entry of volume item vi (overview decrypted with key). */
static enum err ix_item_new(struct api_item **out, const struct volume_item *vi,
                            const unsigned char *key, uint64_t born)
{
    struct api_item *it;
    enum err rc;

    *out = NULL;
    it = mem_calloc(1, sizeof(*it));
    if (!it)
        return ERR_NOMEM;
    it->ai_born = born;
    memcpy(it->ai_id, vi->vi_id, sizeof(it->ai_id));
    memcpy(it->ai_vault, vi->vi_vault, sizeof(it->ai_vault));
    it->ai_version = vi->vi_version;
    memcpy(it->ai_state, vi->vi_state, sizeof(it->ai_state));
    memcpy(it->ai_category, vi->vi_category, sizeof(it->ai_category));
    it->ai_created_at = vi->vi_created_at;
    it->ai_updated_at = vi->vi_updated_at;
    memcpy(it->ai_last_edited_by, vi->vi_last_edited_by, sizeof(it->ai_last_edited_by));
    rc = vaultcrypt_item_open(&it->ai_overview, key, vi->vi_vault, vi->vi_id, vi->vi_version,
                              VAULTCRYPT_OVERVIEW, vi->vi_overview, vi->vi_overview_len);
    if (rc == ERR_OK)
        rc = ix_item_views(it);
    if (rc != ERR_OK) {
        ix_item_free(it);
        return rc;
    }
    *out = it;
    return ERR_OK;
}

/*
 * Gives av the vault key of grant g: prev's (the same vault in the last generation, may be
 * NULL) when g is the grant it came from, else unwrapped with the server's wrap key.
 */
static enum err ix_vault_key(struct api_vault *av, const struct volume_grant *g,
                             const struct credentials *cred, const struct api_vault *prev)
{
    struct api_vkey *pk = prev ? prev->av_vkey : NULL;
    struct api_vkey *k;
    size_t len = 0;
    enum err rc;

    if (pk && pk->vk_wrapped_len == g->vg_key_wrapped_len &&
        memcmp(pk->vk_wrapped, g->vg_key_wrapped, g->vg_key_wrapped_len) == 0) {
        ix_vault_set_key(av, pk);
        return ERR_OK;
    }
    k = mem_calloc(1, sizeof(*k));
    if (!k || !(k->vk_wrapped = mem_calloc(1, g->vg_key_wrapped_len + 1))) {
        mem_free(k);
        return ERR_NOMEM;
    }
    memcpy(k->vk_wrapped, g->vg_key_wrapped, g->vg_key_wrapped_len);
    k->vk_wrapped_len = g->vg_key_wrapped_len;
    rc = vaultcrypt_unwrap(&k->vk_key, &len, g->vg_key_wrapped, g->vg_key_wrapped_len,
                           credentials_server_wrap_key(cred));
    if (rc == ERR_OK && len != VAULTCRYPT_KEY_BYTES)
        rc = ERR_CRYPTO;
    k->vk_refs = 1;
    if (rc == ERR_OK)
        ix_vault_set_key(av, k);
    ix_vkey_unref(k);
    return rc;
}

/*
 * Fills av->av_meta from the volume record vv: its name and description decrypted with
 * av's key, or taken from prev (may be NULL) when the attributes and key are the same.
 */
static enum err ix_vault_meta(struct api_vault *av, const struct volume_vault *vv,
                              const struct api_vault *prev)
{
    struct vault_meta *m = &av->av_meta;
    json_t *attrs = NULL;
    const char *s;
    enum err rc;

    memcpy(m->vm_id, vv->vv_id, sizeof(m->vm_id));
    if (prev && prev->av_vkey == av->av_vkey &&
        prev->av_meta.vm_attribute_version == (int64_t)vv->vv_attribute_version) {
        memcpy(m->vm_name, prev->av_meta.vm_name, sizeof(m->vm_name));
        memcpy(m->vm_description, prev->av_meta.vm_description, sizeof(m->vm_description));
    } else {
        rc = vaultcrypt_attrs_open(&attrs, av->av_key, vv->vv_id, vv->vv_attrs_ct,
                                   vv->vv_attrs_ct_len);
        if (rc != ERR_OK)
            return rc;
        s = json_string_value(json_object_get(attrs, "name"));
        (void)snprintf(m->vm_name, sizeof(m->vm_name), "%s", s ? s : "");
        s = json_string_value(json_object_get(attrs, "description"));
        (void)snprintf(m->vm_description, sizeof(m->vm_description), "%s", s ? s : "");
        json_decref(attrs);
    }
    m->vm_attribute_version = (int64_t)vv->vv_attribute_version;
    m->vm_content_version = (int64_t)vv->vv_content_version;
    m->vm_items = (int64_t)vv->vv_items;
    if (vault_type_valid(vv->vv_type) && strlen(vv->vv_type) < sizeof(m->vm_type))
        memcpy(m->vm_type, vv->vv_type, strlen(vv->vv_type) + 1);
    else
        memcpy(m->vm_type, "USER_CREATED", sizeof("USER_CREATED"));
    m->vm_created_at = vv->vv_created_at;
    m->vm_updated_at =
        vv->vv_updated_at > vv->vv_created_at ? vv->vv_updated_at : vv->vv_created_at;
    return ERR_OK;
}

/*
 * Gives dst (no items yet) src's items in both of src's orders, with room for extra more
 * in both arrays, and src's count of active items. The items are shared, not counted.
 */
static enum err ix_vault_share(struct api_vault *dst, const struct api_vault *src, size_t extra)
{
    dst->av_items = mem_calloc(src->av_nitems + extra + 1, sizeof(*dst->av_items));
    dst->av_byid = mem_calloc(src->av_nitems + extra + 1, sizeof(*dst->av_byid));
    dst->av_bytitle = mem_calloc(src->av_nitems + extra + 1, sizeof(*dst->av_bytitle));
    if (!dst->av_items || !dst->av_byid || !dst->av_bytitle)
        return ERR_NOMEM;
    if (src->av_nitems > 0) {
        memcpy(dst->av_items, src->av_items, src->av_nitems * sizeof(*dst->av_items));
        memcpy(dst->av_byid, src->av_byid, src->av_nitems * sizeof(*dst->av_byid));
        memcpy(dst->av_bytitle, src->av_bytitle, src->av_nitems * sizeof(*dst->av_bytitle));
    }
    dst->av_nitems = src->av_nitems;
    dst->av_meta.vm_items = src->av_meta.vm_items;
    return ERR_OK;
}

/* Makes the entry of vi, reading its overview first when the listing had none. */
static enum err ix_item_fresh(struct api_item **out, struct volume *v, const struct volume_item *vi,
                              const unsigned char *key, uint64_t born)
{
    struct volume_item full;
    enum err rc;

    if (vi->vi_overview)
        return ix_item_new(out, vi, key, born);
    memset(&full, 0, sizeof(full));
    rc = volume_item_get(v, vi->vi_vault, vi->vi_id, &full);
    if (rc == ERR_OK)
        rc = ix_item_new(out, &full, key, born);
    volume_item_clear(&full);
    return rc;
}

/*
 * Loads the live items of av (of generation ix) from the volume, sharing the unchanged ones
 * of prev; the caller retires what prev held and av does not (ix_retire_missing).
 */
static enum err ix_vault_items(struct api_index *ix, struct api_vault *av, struct volume *v,
                               const struct api_vault *prev)
{
    struct volume_item *arr = NULL;
    size_t i, n = 0, live = 0;
    enum err rc;

    /* a first build reads every overview; later ones read only ids and versions, then the
       overview of each item that changed (a build per change on a 10,000-item vault) */
    rc = prev ? volume_item_heads(v, av->av_meta.vm_id, &arr, &n)
              : volume_item_list(v, av->av_meta.vm_id, &arr, &n);
    if (rc != ERR_OK)
        return rc;
    if (n > 0) {
        av->av_items = mem_calloc(n, sizeof(*av->av_items));
        av->av_byid = mem_calloc(n, sizeof(*av->av_byid));
        av->av_bytitle = mem_calloc(n, sizeof(*av->av_bytitle));
        if (!av->av_items || !av->av_byid || !av->av_bytitle) {
            rc = ERR_NOMEM;
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        const struct volume_item *vi = &arr[i];
        struct api_item *old = ix_find(prev, vi->vi_id);
        struct api_item *it = NULL;

        if (vi->vi_state[0] != '\0' && strcmp(vi->vi_state, "ARCHIVED") != 0)
            continue; /* deleted: not served */
        if (old && old->ai_version == vi->vi_version) {
            it = old;
        } else if ((rc = ix_item_fresh(&it, v, vi, av->av_key, ix->ix_serial)) != ERR_OK) {
            if (rc == ERR_NOT_FOUND)
                continue; /* deleted since the listing: the next build sees it */
            if (rc == ERR_NOMEM)
                goto out;
            /* a damaged record: not served, the rest of the vault is */
            log_error("api: item %s of vault %s does not decrypt (%s); not served", vi->vi_id,
                      av->av_meta.vm_id, err_name(rc));
            continue;
        }
        av->av_items[live] = it;
        av->av_byid[live] = it;
        av->av_bytitle[live] = it;
        av->av_nitems = ++live;
    }
    if (live > 1)
        qsort(av->av_byid, live, sizeof(*av->av_byid), ix_cmp_item);
    if (live > 1)
        qsort(av->av_bytitle, live, sizeof(*av->av_bytitle), ix_cmp_title);
    rc = ERR_OK;
out:
    volume_item_list_free(arr, n);
    return rc;
}

/*
 * Puts it (NULL: nothing) where old (NULL: none) was in av of generation ix, keeping both
 * orders and the count of active items: a changed item keeps its place in the listing, a
 * new one is listed last, a removed one leaves (to ix's retired list). The arrays have
 * room for one more; av takes it (freed on failure). ERR_OK or ERR_NOMEM.
 */
static enum err ix_vault_put(struct api_index *ix, struct api_vault *av, struct api_item *old,
                             struct api_item *it)
{
    size_t j = av->av_nitems, n = av->av_nitems;

    if (old)
        for (j = 0; j < av->av_nitems && av->av_items[j] != old; j++)
            ; /* pointers only: no item is read on the way */
    if (j < n && ix_retire(ix, old) != ERR_OK) {
        if (it)
            ix_item_free(it);
        return ERR_NOMEM;
    }
    if (j < n && old->ai_state[0] == '\0')
        av->av_meta.vm_items--;
    if (it && it->ai_state[0] == '\0')
        av->av_meta.vm_items++;
    if (j < av->av_nitems && it) {
        av->av_items[j] = it;
    } else if (j < av->av_nitems) {
        memmove(&av->av_items[j], &av->av_items[j + 1],
                (av->av_nitems - j - 1) * sizeof(*av->av_items));
        av->av_nitems--;
    } else if (it) {
        av->av_items[av->av_nitems++] = it;
    }
    ix_order_update(av->av_byid, n, j < n ? old : NULL, it, ix_cmp_item);
    ix_order_update(av->av_bytitle, n, j < n ? old : NULL, it, ix_cmp_title);
    return ERR_OK;
}

/*
 * Loads the items of av (of generation ix) as prev's (same vault, the predecessor) with
 * the n item changes chg of every vault since applied: only the changed items are read.
 */
static enum err ix_vault_apply(struct api_index *ix, struct api_vault *av,
                               const struct api_vault *prev, const struct volume_item_change *chg,
                               size_t n)
{
    size_t i, k = 0;
    enum err rc;

    for (i = 0; i < n; i++)
        k += strcmp(chg[i].vc_item.vi_vault, av->av_meta.vm_id) == 0;
    rc = ix_vault_share(av, prev, k);
    if (rc != ERR_OK)
        return rc;
    for (i = 0; i < n && k > 0; i++) {
        const struct volume_item *vi = &chg[i].vc_item;
        struct api_item *old, *it = NULL;

        if (strcmp(vi->vi_vault, av->av_meta.vm_id) != 0)
            continue;
        old = ix_find(av, vi->vi_id);
        if (old && old->ai_version >= vi->vi_version)
            continue; /* in already (this api's own write) */
        if (!chg[i].vc_deleted &&
            (vi->vi_state[0] == '\0' || strcmp(vi->vi_state, "ARCHIVED") == 0)) {
            rc = ix_item_new(&it, vi, av->av_key, ix->ix_serial);
            if (rc == ERR_NOMEM)
                return rc;
            if (rc != ERR_OK) /* a damaged record: not served, as in a whole build */
                log_error("api: item %s of vault %s does not decrypt (%s); not served", vi->vi_id,
                          av->av_meta.vm_id, err_name(rc));
        }
        if ((rc = ix_vault_put(ix, av, old, it)) != ERR_OK)
            return rc;
    }
    return ERR_OK;
}

/*
 * Retires every item of prev's vaults that ix does not hold, but in the vaults ix built by
 * applying changes (av_applied: those retired their own).
 */
static enum err ix_retire_missing(struct api_index *ix, const struct api_index *prev)
{
    size_t i, j;

    for (i = 0; prev && i < prev->ix_nvaults; i++) {
        const struct api_vault *pv = &prev->ix_vaults[i];
        const struct api_vault *nv = api_index_vault(ix, pv->av_meta.vm_id);

        if (nv && nv->av_applied)
            continue;
        for (j = 0; j < pv->av_nitems; j++)
            if ((!nv || ix_find(nv, pv->av_items[j]->ai_id) != pv->av_items[j]) &&
                ix_retire(ix, pv->av_items[j]) != ERR_OK)
                return ERR_NOMEM;
    }
    return ERR_OK;
}

/* Builds a generation of the index (see api_int.h). */
enum err api_index_build(struct api_index **out, struct volume *v, const struct credentials *cred,
                         struct api_index *prev, const struct volume_meta *m)
{
    struct volume_vault *vaults = NULL;
    struct volume_grant *grants = NULL;
    struct volume_item_change *chg = NULL;
    struct api_index *ix = NULL;
    size_t i, j, nv = 0, ng = 0, nchg = 0;
    int apply = 0;
    enum err rc;

    *out = NULL;
    if (!m)
        return ERR_BAD_INPUT;
    if (!credentials_is_unlocked(cred))
        return ERR_NOT_READY;
    if (prev && __atomic_load_n(&prev->ix_next, __ATOMIC_ACQUIRE))
        return ERR_INTERNAL; /* not the newest: its items may be gone with its successor's */
    ix = ix_new();
    if (!ix)
        return ERR_NOMEM;
    ix->ix_generation = m->vm_generation;
    ix->ix_item_seq = m->vm_item_seq; /* read before any item: what changes later is newer */
    ix->ix_item_epoch = m->vm_item_epoch;
    /* few changes since prev, on the same item rows: apply them to prev's items (on a
       10,000-item vault a whole reread costs more than the change) */
    if (prev && prev->ix_item_epoch == m->vm_item_epoch && prev->ix_item_seq <= m->vm_item_seq) {
        rc = volume_item_changes(v, prev->ix_item_seq, API_INDEX_CHANGES_MAX + 1, &chg, &nchg);
        if (rc != ERR_OK)
            goto out;
        apply = nchg <= API_INDEX_CHANGES_MAX;
        if (apply && nchg > 0 && chg[nchg - 1].vc_seq > ix->ix_item_seq)
            ix->ix_item_seq = chg[nchg - 1].vc_seq;
    }
    if ((rc = volume_vault_records(v, &vaults, &nv)) != ERR_OK ||
        (rc = volume_grant_list(v, &grants, &ng)) != ERR_OK)
        goto out;
    if (nv > 0 && !(ix->ix_vaults = mem_calloc(nv, sizeof(*ix->ix_vaults)))) {
        rc = ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < nv; i++) {
        struct api_vault *av = &ix->ix_vaults[ix->ix_nvaults];
        const struct volume_grant *g = NULL;
        const struct api_vault *pv;

        for (j = 0; j < ng && !g; j++)
            if (strcmp(grants[j].vg_vault, vaults[i].vv_id) == 0)
                g = &grants[j];
        if (!g)
            continue; /* not served (no grant) */
        pv = api_index_vault(prev, vaults[i].vv_id);
        if ((rc = ix_vault_key(av, g, cred, pv)) != ERR_OK ||
            (rc = ix_vault_meta(av, &vaults[i], pv)) != ERR_OK) {
            ix_vault_release(av);
            if (rc == ERR_NOMEM)
                goto out;
            /* a grant or vault record this server cannot open: not served, the rest is */
            log_error("api: vault %s does not open with this server's key (%s); not served",
                      vaults[i].vv_id, err_name(rc));
            continue;
        }
        ix->ix_nvaults++;
        /* what this server has shown never goes backwards: a write patched into the
           previous generation may be ahead of the volume's count for a moment */
        if (pv && pv->av_meta.vm_content_version > av->av_meta.vm_content_version)
            av->av_meta.vm_content_version = pv->av_meta.vm_content_version;
        if (pv && pv->av_meta.vm_updated_at > av->av_meta.vm_updated_at)
            av->av_meta.vm_updated_at = pv->av_meta.vm_updated_at;
        av->av_applied = apply && pv;
        rc = av->av_applied ? ix_vault_apply(ix, av, pv, chg, nchg) : ix_vault_items(ix, av, v, pv);
        if (rc != ERR_OK)
            goto out;
        if (!av->av_applied) { /* Connect: active items (archived ones are not listed) */
            av->av_meta.vm_items = 0;
            for (j = 0; j < av->av_nitems; j++)
                av->av_meta.vm_items += av->av_items[j]->ai_state[0] == '\0';
        }
        ix->ix_items += av->av_nitems;
    }
    if (ix->ix_nvaults > 1)
        qsort(ix->ix_vaults, ix->ix_nvaults, sizeof(*ix->ix_vaults), ix_cmp_vault);
    if ((rc = ix_retire_missing(ix, prev)) != ERR_OK)
        goto out;
    ix_link(prev, ix);
    *out = ix;
    ix = NULL;
    rc = ERR_OK;
out:
    ix_discard(ix);
    volume_item_changes_free(chg, nchg);
    volume_vault_list_free(vaults, nv);
    volume_grant_list_free(grants, ng);
    return rc;
}

/*
 * An item or file the index serves that the volume does not hold: ERR_CORRUPT (503, "the
 * volume is being rebuilt") when sync has just emptied the volume to rebuild it (its last
 * sync time is 0 again: the watcher closes the gate at its next look), else ERR_NOT_FOUND
 * (deleted since the index was built).
 */
static enum err ix_gone(struct volume *v)
{
    struct volume_meta m;
    enum err rc;

    memset(&m, 0, sizeof(m));
    rc = volume_meta_get(v, &m);
    if (rc == ERR_OK)
        rc = m.vm_last_sync_at == 0 ? ERR_CORRUPT : ERR_NOT_FOUND;
    volume_meta_clear(&m);
    return rc;
}

/* ix_gone for a file content not fetched yet: ERR_CORRUPT or ERR_NOT_READY. */
static enum err ix_not_ready(struct volume *v)
{
    enum err rc = ix_gone(v);

    return rc == ERR_NOT_FOUND ? ERR_NOT_READY : rc;
}

/* Finds items by title key (see api_int.h). */
size_t api_index_by_title(const struct api_vault *av, const char *key, size_t len,
                          const struct api_item **out, size_t cap)
{
    size_t k, end, i, j, n = 0;

    if (!av || av->av_nitems == 0)
        return 0;
    k = ix_title_lower(av->av_bytitle, av->av_nitems, key, len, NULL);
    for (end = k; end < av->av_nitems && ix_cmp_title_key(av->av_bytitle[end], key, len, NULL) == 0;
         end++)
        ;
    if (end - k == 1 && cap > 0) {
        out[0] = av->av_bytitle[k];
        return 1;
    }
    /* several: in the listing's order (pointers compared, no item read) */
    for (i = 0; i < av->av_nitems && n < end - k; i++)
        for (j = k; j < end; j++)
            if (av->av_items[i] == av->av_bytitle[j]) {
                if (n < cap)
                    out[n] = av->av_items[i];
                n++;
                break;
            }
    return n;
}

/* Reads and decrypts one whole item (see api_int.h). */
enum err api_index_item_content(struct volume *v, const struct api_vault *av, const char *id,
                                struct item_meta *meta, json_t **content)
{
    struct volume_item vi;
    json_t *overview = NULL, *details = NULL;
    enum err rc;

    *content = NULL;
    memset(meta, 0, sizeof(*meta));
    memset(&vi, 0, sizeof(vi));
    rc = volume_item_get(v, av->av_meta.vm_id, id, &vi);
    if (rc == ERR_NOT_FOUND)
        rc = ix_gone(v);
    if (rc != ERR_OK)
        return rc;
    if (vi.vi_state[0] != '\0' && strcmp(vi.vi_state, "ARCHIVED") != 0) {
        rc = ERR_NOT_FOUND;
        goto out;
    }
    rc = vaultcrypt_item_open(&overview, av->av_key, vi.vi_vault, vi.vi_id, vi.vi_version,
                              VAULTCRYPT_OVERVIEW, vi.vi_overview, vi.vi_overview_len);
    if (rc == ERR_OK)
        rc = vaultcrypt_item_open(&details, av->av_key, vi.vi_vault, vi.vi_id, vi.vi_version,
                                  VAULTCRYPT_DETAILS, vi.vi_details, vi.vi_details_len);
    if (rc == ERR_OK)
        rc = item_content_join(overview, details, content);
    if (rc != ERR_OK)
        goto out;
    memcpy(meta->im_id, vi.vi_id, sizeof(meta->im_id));
    memcpy(meta->im_vault_id, vi.vi_vault, sizeof(meta->im_vault_id));
    (void)snprintf(meta->im_category, sizeof(meta->im_category), "%s", vi.vi_category);
    meta->im_version = (int64_t)vi.vi_version;
    meta->im_created_at = vi.vi_created_at;
    meta->im_updated_at = vi.vi_updated_at;
    memcpy(meta->im_last_edited_by, vi.vi_last_edited_by, sizeof(meta->im_last_edited_by));
    (void)snprintf(meta->im_state, sizeof(meta->im_state), "%s", vi.vi_state);
out:
    json_decref(overview);
    json_decref(details);
    volume_item_clear(&vi);
    return rc;
}

/* Reads and decrypts one file's contents (see api_int.h). */
enum err api_index_file_content(struct volume *v, const struct api_vault *av, const char *id,
                                struct buf *out)
{
    unsigned char *ct = NULL;
    size_t len = 0;
    enum err rc;

    buf_init(out, VAULTCRYPT_MAX_FILE_BYTES + 1);
    rc = volume_file_read(v, av->av_meta.vm_id, id, &ct, &len);
    if (rc == ERR_NOT_FOUND || rc == ERR_NOT_READY)
        rc = rc == ERR_NOT_FOUND ? ix_gone(v) : ix_not_ready(v);
    if (rc != ERR_OK)
        return rc;
    rc = vaultcrypt_file_open(out, av->av_key, av->av_meta.vm_id, id, ct, len);
    mem_free(ct);
    return rc;
}

/* Makes an index entry from plaintext metadata and content (the api's own write). */
static enum err ix_item_from(struct api_item **out, const struct item_meta *m,
                             const json_t *content, uint64_t born)
{
    struct api_item *it;
    json_t *ov = NULL, *det = NULL;
    enum err rc;

    *out = NULL;
    it = mem_calloc(1, sizeof(*it));
    if (!it)
        return ERR_NOMEM;
    it->ai_born = born;
    (void)snprintf(it->ai_id, sizeof(it->ai_id), "%s", m->im_id);
    (void)snprintf(it->ai_vault, sizeof(it->ai_vault), "%s", m->im_vault_id);
    it->ai_version = (uint64_t)m->im_version;
    (void)snprintf(it->ai_state, sizeof(it->ai_state), "%s", m->im_state);
    (void)snprintf(it->ai_category, sizeof(it->ai_category), "%s", m->im_category);
    it->ai_created_at = m->im_created_at;
    it->ai_updated_at = m->im_updated_at;
    (void)snprintf(it->ai_last_edited_by, sizeof(it->ai_last_edited_by), "%s",
                   m->im_last_edited_by);
    rc = item_content_split(content, &ov, &det);
    json_decref(det);
    it->ai_overview = ov;
    if (rc == ERR_OK)
        rc = ix_item_views(it);
    if (rc != ERR_OK) {
        ix_item_free(it);
        return rc;
    }
    *out = it;
    return ERR_OK;
}

/* Copies vault src into dst sharing its items and its key (a reference each). */
static enum err ix_vault_copy(struct api_vault *dst, const struct api_vault *src, size_t extra)
{
    memset(dst, 0, sizeof(*dst));
    dst->av_meta = src->av_meta;
    ix_vault_set_key(dst, src->av_vkey);
    return ix_vault_share(dst, src, extra);
}

/* Derives a generation from prev with one item written or deleted (see api_int.h). */
enum err api_index_patch(struct api_index **out, struct api_index *prev, const char *vault,
                         const char *item, const struct item_meta *m, const json_t *content)
{
    struct api_index *ix = NULL;
    struct api_item *it = NULL;
    size_t i;
    enum err rc = ERR_NOMEM;

    *out = NULL;
    if (!prev || !api_index_vault(prev, vault))
        return ERR_NOT_FOUND;
    if (__atomic_load_n(&prev->ix_next, __ATOMIC_ACQUIRE))
        return ERR_INTERNAL; /* not the newest (see api_index_build) */
    ix = ix_new();
    if (!ix || !(ix->ix_vaults = mem_calloc(prev->ix_nvaults, sizeof(*ix->ix_vaults))))
        goto out;
    if (m && (rc = ix_item_from(&it, m, content, ix->ix_serial)) != ERR_OK)
        goto out;
    ix->ix_generation = prev->ix_generation; /* the watcher still reloads when the volume moved */
    ix->ix_item_seq = prev->ix_item_seq;
    ix->ix_item_epoch = prev->ix_item_epoch;
    for (i = 0; i < prev->ix_nvaults; i++) {
        struct api_vault *av = &ix->ix_vaults[i];
        struct api_item *old;

        /* the previous generation's orders, shared; only the written item moves (sorting
           a 10,000-item vault on every write cost more than the write) */
        rc = ix_vault_copy(av, &prev->ix_vaults[i], 1);
        ix->ix_nvaults++;
        if (rc != ERR_OK)
            goto out;
        if (strcmp(av->av_meta.vm_id, vault) == 0) {
            old = ix_find(av, item);
            if ((it && old && old->ai_version >= it->ai_version) || (!it && !old)) {
                ; /* the watcher already loaded this write from the volume */
            } else {
                rc = ix_vault_put(ix, av, old, it);
                it = NULL;
                if (rc != ERR_OK)
                    goto out;
                /* every change bumps the vault's content version (the volume's exact value
                   arrives with the watcher's next reload) */
                av->av_meta.vm_content_version++;
                if (m && m->im_updated_at > av->av_meta.vm_updated_at)
                    av->av_meta.vm_updated_at = m->im_updated_at;
            }
        }
        ix->ix_items += av->av_nitems;
    }
    ix_link(prev, ix);
    *out = ix;
    ix = NULL;
    rc = ERR_OK;
out:
    ix_item_free(it);
    ix_discard(ix);
    return rc;
}
