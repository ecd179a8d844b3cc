/*
 * write.c - the api's half of a Connect write (docs/connect-api.md, "Writes"): seal an
 * item version with the vault key, hand it to sync over the bus, and take back the hub's
 * record once sync has applied it to the volume. The handlers decide what to write; this
 * file does the crypto and the bus so that they hold neither.
 */
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "common/alloc.h"
#include "common/codec.h"
#include "common/log.h"
#include "keys/vaultcrypt.h"

/* Sets member name of o to the unpadded base64url of b. Returns ERR_OK or ERR_NOMEM. */
static enum err wr_set_b64(json_t *o, const char *name, const struct buf *b)
{
    size_t cap = codec_b64_encoded_len(b->b_len, 0) + 1;
    char *text = mem_alloc(cap);
    enum err rc = text ? ERR_OK : ERR_NOMEM;

    if (rc == ERR_OK)
        rc = codec_b64_encode(text, cap, NULL, b->b_data ? b->b_data : "", b->b_len, CODEC_B64_URL);
    if (rc == ERR_OK && json_object_set_new(o, name, json_string(text)) != 0)
        rc = ERR_NOMEM;
    mem_free(text);
    return rc;
}

/* Returns the milliseconds left until deadline (at least 1). */
static long wr_left(int64_t deadline_ms)
{
    int64_t left = deadline_ms - http_clock_ms();

    return left > 1 ? (long)left : 1;
}

/*
 * Calls sync with req (consumed) and maps its answer: ERR_OK with *answer (the JSON object,
 * caller decrefs), or the error of a refused write with errmsg set.
 */
static enum err wr_call(struct api *a, json_t *req, int64_t deadline_ms, json_t **answer,
                        char *errmsg, size_t errcap)
{
    struct bus_client *bus;
    struct bus_msg q, r;
    const char *m;
    json_int_t status;
    enum err rc;

    *answer = NULL;
    memset(&q, 0, sizeof(q));
    memset(&r, 0, sizeof(r));
    q.bm_json = req;
    if (!req || json_object_set_new(req, "timeoutMs", json_integer(wr_left(deadline_ms))) != 0) {
        json_decref(req);
        return ERR_NOMEM;
    }
    /* sync answers within timeoutMs; one more second for the bus itself */
    bus = a->ap_wbus[__atomic_fetch_add(&a->ap_wbus_next, 1, __ATOMIC_RELAXED) % API_BUS_WRITERS];
    rc = bus_client_call(bus, &q, &r, (int)wr_left(deadline_ms) + 1000);
    json_decref(req);
    if (rc == ERR_TIMEOUT) {
        bus_msg_clear(&r);
        return err_msgf(ERR_TIMEOUT, errmsg, errcap,
                        "sync did not answer within OP_SYNC_TIMEOUT; the write may not have "
                        "reached the hub: read the item before retrying");
    }
    if (rc != ERR_OK) {
        bus_msg_clear(&r);
        return err_msgf(ERR_UPSTREAM, errmsg, errcap,
                        "the sync process did not complete the write (%s): if it was not "
                        "running nothing was written; read the item before retrying",
                        err_name(rc));
    }
    if (json_is_true(json_object_get(r.bm_json, "ok"))) {
        *answer = r.bm_json;
        r.bm_json = NULL;
        bus_msg_clear(&r);
        return ERR_OK;
    }
    status = json_integer_value(json_object_get(r.bm_json, "status"));
    m = json_string_value(json_object_get(r.bm_json, "message"));
    switch (status) {
    case 400:
        rc = ERR_BAD_INPUT;
        break;
    case 403:
        rc = ERR_FORBIDDEN;
        break;
    case 404:
        rc = ERR_NOT_FOUND;
        break;
    case 409:
        rc = ERR_CONFLICT;
        break;
    case 413:
        rc = ERR_TOO_LARGE;
        break;
    case 503:
        rc = ERR_NOT_READY;
        break;
    case 504:
        rc = ERR_TIMEOUT;
        break;
    case 507:
        rc = ERR_NO_SPACE;
        break;
    default:
        rc = ERR_UPSTREAM;
        break;
    }
    /* sync's messages are its own text (never request data or secrets) */
    (void)snprintf(errmsg, errcap, "%s", m && *m ? m : err_message(rc));
    bus_msg_clear(&r);
    return rc;
}

/* Reads an integer member (0 when absent or not an integer). */
static int64_t wr_int(const json_t *o, const char *name)
{
    return (int64_t)json_integer_value(json_object_get(o, name));
}

/* Seals one item version and sends it (see api_int.h). */
enum err api_write_put(struct api *a, const struct api_vault *av, const char *item,
                       const char *category, const json_t *content, uint64_t base_version,
                       int64_t deadline_ms, struct item_meta *out, char *errmsg, size_t errcap)
{
    json_t *ov = NULL, *det = NULL, *req = NULL, *ans = NULL;
    const json_t *rec;
    struct buf ov_ct, det_ct;
    const char *s;
    enum err rc;

    memset(out, 0, sizeof(*out));
    buf_init(&ov_ct, VAULTCRYPT_MAX_PART_BYTES + 4096);
    buf_init(&det_ct, VAULTCRYPT_MAX_PART_BYTES + 4096);
    rc = item_content_split(content, &ov, &det);
    if (rc == ERR_OK)
        rc = vaultcrypt_item_seal(&ov_ct, av->av_key, av->av_meta.vm_id, item, base_version + 1,
                                  VAULTCRYPT_OVERVIEW, ov);
    if (rc == ERR_OK)
        rc = vaultcrypt_item_seal(&det_ct, av->av_key, av->av_meta.vm_id, item, base_version + 1,
                                  VAULTCRYPT_DETAILS, det);
    if (rc == ERR_TOO_LARGE) {
        rc = err_msgf(rc, errmsg, errcap, "the item is over %u bytes once serialised",
                      (unsigned)VAULTCRYPT_MAX_PART_BYTES);
        goto out;
    }
    if (rc != ERR_OK)
        goto out;
    req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "op", "item_put", "vault", av->av_meta.vm_id,
                    "item", item, "category", category, "state", "", "baseVersion",
                    (json_int_t)base_version);
    if (!req || (rc = wr_set_b64(req, "overview", &ov_ct)) != ERR_OK ||
        (rc = wr_set_b64(req, "details", &det_ct)) != ERR_OK) {
        json_decref(req);
        rc = ERR_NOMEM;
        goto out;
    }
    rc = wr_call(a, req, deadline_ms, &ans, errmsg, errcap);
    if (rc != ERR_OK)
        goto out;
    rec = json_object_get(ans, "item");
    if (!json_is_object(rec) || wr_int(rec, "version") != (int64_t)base_version + 1) {
        rc = err_msgf(ERR_UPSTREAM, errmsg, errcap, "sync answered the write without the record");
        goto out;
    }
    (void)snprintf(out->im_id, sizeof(out->im_id), "%s", item);
    (void)snprintf(out->im_vault_id, sizeof(out->im_vault_id), "%s", av->av_meta.vm_id);
    (void)snprintf(out->im_category, sizeof(out->im_category), "%s", category);
    out->im_version = wr_int(rec, "version");
    out->im_created_at = wr_int(rec, "createdAt");
    out->im_updated_at = wr_int(rec, "updatedAt");
    s = json_string_value(json_object_get(rec, "lastEditedBy"));
    (void)snprintf(out->im_last_edited_by, sizeof(out->im_last_edited_by), "%s", s ? s : "");
out:
    json_decref(ov);
    json_decref(det);
    json_decref(ans);
    buf_free(&ov_ct);
    buf_free(&det_ct);
    return rc;
}

/* Deletes one item version (see api_int.h). */
enum err api_write_delete(struct api *a, const struct api_vault *av, const char *item,
                          uint64_t base_version, int64_t deadline_ms, char *errmsg, size_t errcap)
{
    json_t *ans = NULL;
    enum err rc;

    rc = wr_call(a,
                 json_pack("{s:s, s:s, s:s, s:I}", "op", "item_delete", "vault", av->av_meta.vm_id,
                           "item", item, "baseVersion", (json_int_t)base_version),
                 deadline_ms, &ans, errmsg, errcap);
    json_decref(ans);
    return rc;
}
