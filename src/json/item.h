/*
 * item.h - Connect items: validation and normalisation of request bodies, the stored
 * content, and the Item summary / FullItem JSON that clients receive.
 *
 * An item is plaintext metadata (struct item_meta: id, vault, category, version, state,
 * times, last editor) plus its content, a JSON object kept only encrypted at rest:
 *   {"title", "tags", "urls", "favorite",                  <- the overview part
 *    "sections", "fields", "files", "passwordHistory"}      <- the details part
 * Content is always normalised (see docs/data-model.md): every field has an id and an
 * upper-case type, DATE values are Unix seconds, MONTH_YEAR values YYYYMM, generated
 * passwords are filled in, and empty attributes are absent.
 */
#ifndef SESAME_JSON_ITEM_H
#define SESAME_JSON_ITEM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/ids.h"

#define ITEM_CATEGORY_MAX 32 /* longest category name + NUL */
#define ITEM_STATE_MAX    16 /* longest state name + NUL */

enum item_mode {
    ITEM_CREATE = 1, /* POST: new item, server ids, CUSTOM/DOCUMENT refused */
    ITEM_REPLACE,    /* PUT (and PATCH results): replaces an existing item */
    ITEM_LOAD,       /* an item as a server returned it (client side, round trips) */
};

struct item_meta {
    char im_id[ID_LEN + 1];              /* lowercase item id */
    char im_vault_id[ID_LEN + 1];        /* lowercase vault id */
    char im_category[ITEM_CATEGORY_MAX]; /* upper-case category name */
    int64_t im_version;                  /* 1 on create, +1 per change */
    int64_t im_created_at;               /* Unix seconds */
    int64_t im_updated_at;               /* Unix seconds */
    char im_last_edited_by[ID_LEN + 1];  /* upper-case account / server id, "" if unknown */
    char im_state[ITEM_STATE_MAX];       /* "" (active), "ARCHIVED" or "DELETED" */
};

/* What a write request is validated against. */
struct item_input {
    enum item_mode ii_mode;
    const char *ii_vault_id;          /* the vault id of the request path */
    const char *ii_item_id;           /* ITEM_REPLACE: the item id of the path */
    const char *ii_existing_category; /* ITEM_REPLACE: the stored category */
    const json_t *ii_existing;        /* ITEM_REPLACE: the stored content (files, history) */
    int64_t ii_now;                   /* current time, for password history */
};

/* Flags of item_to_json. */
#define ITEM_OUT_FULL   0x1u /* FullItem (sections, fields, files); otherwise a summary */
#define ITEM_OUT_REDACT 0x2u /* no field values, codes or entropy (write-only tokens) */

/* Returns 1 if name (any case) is a category Connect knows; writes its canonical form. */
int item_category_canonical(const char *name, char out[ITEM_CATEGORY_MAX]);

/*
 * Validates and normalises a POST/PUT body (or a PATCH result) into new content.
 * category receives the item's canonical category. Generates missing ids and requested
 * passwords, adds the category's built-in fields, carries files and password history over
 * from ii_existing. Returns ERR_OK with *content set (caller decrefs), or ERR_BAD_INPUT /
 * ERR_TOO_LARGE with a message naming the offending attribute in errmsg (never echoing a
 * value), or ERR_NOMEM / ERR_CRYPTO.
 */
enum err item_from_request(json_t **content, char category[ITEM_CATEGORY_MAX], const json_t *body,
                           const struct item_input *in, char *errmsg, size_t errcap) SESAME_WUR;

/*
 * Builds the JSON clients receive: an Item summary, or with ITEM_OUT_FULL a FullItem
 * (OTP fields get their current code in "totp", computed at time now). Returns ERR_OK with
 * *out set (caller decrefs), or ERR_NOMEM / ERR_BAD_INPUT (malformed content).
 */
enum err item_to_json(json_t **out, const struct item_meta *m, const json_t *content,
                      unsigned flags, int64_t now) SESAME_WUR;

/*
 * Parses an Item summary or FullItem as a Connect server returns it (ITEM_LOAD rules:
 * ids and unknown field types kept, no defaults added) into meta and content.
 * Returns ERR_OK, or ERR_BAD_INPUT with errmsg.
 */
enum err item_from_json(struct item_meta *m, json_t **content, const json_t *obj, char *errmsg,
                        size_t errcap) SESAME_WUR;

/*
 * PATCH: applies a JSON Patch document (the subset of json/patch.h, with Connect's paths)
 * to the FullItem the client would read for m + existing, then validates the result as a
 * PUT of that item (ITEM_REPLACE), so a patched item obeys every rule a replaced one does.
 * On success *content and category hold the new content. Errors as item_from_request; a
 * failing patch changes nothing.
 */
enum err item_apply_patch(json_t **content, char category[ITEM_CATEGORY_MAX],
                          const struct item_meta *m, const json_t *existing, const json_t *ops,
                          int64_t now, char *errmsg, size_t errcap) SESAME_WUR;

/*
 * Splits content into the overview (title, tags, urls, favorite) and the details (the
 * rest), each a new object (caller decrefs), so that they can be encrypted separately.
 */
enum err item_content_split(const json_t *content, json_t **overview, json_t **details) SESAME_WUR;

/* Joins an overview and details back into content (a new object; caller decrefs). */
enum err item_content_join(const json_t *overview, const json_t *details,
                           json_t **content) SESAME_WUR;

#endif
