/*
 * patch.h - Connect's JSON Patch (RFC 6902 add/remove/replace) applied to a FullItem.
 *
 * This module does the patch mechanics only: it walks RFC 6901 pointers with Connect's
 * rules (the path "/" is the whole item, fields are addressed by their id) and changes a
 * copy of the item. It does not validate the result as an item; the caller re-validates
 * the whole patched document afterwards. The rules are listed in docs/data-model-patch.md.
 */
#ifndef SESAME_JSON_PATCH_H
#define SESAME_JSON_PATCH_H

#include <stddef.h>

#include <jansson.h>

#include "common/err.h"

/*
 * Applies the patch document ops (a JSON array of at most PATCH_MAX_OPS operations) to
 * *item, which must be a JSON object. All or nothing: the operations are applied in order
 * to a deep copy, and only when every one succeeds is *item released and replaced by the
 * patched copy (the caller owns the new reference). On any error *item is untouched.
 * ops is only read; values are copied, never shared with the result.
 *
 * Returns ERR_OK (errmsg set to ""), ERR_BAD_INPUT for a bad patch, with errmsg naming the
 * operation by its 0-based position ("Invalid patch operation 2: path does not exist")
 * and never quoting request data, ERR_NOMEM, or ERR_INTERNAL when item is not a JSON
 * object. errmsg (errcap bytes, may be NULL when errcap is 0) is always NUL-terminated and
 * truncated to fit.
 */
enum err patch_apply(json_t **item, const json_t *ops, char *errmsg, size_t errcap) SESAME_WUR;

/*
 * Adds to the item object the FullItem attributes that Connect's responses omit when empty
 * and that are missing from it: "title": "", "favorite": false, and [] for "tags", "urls",
 * "sections", "fields" and "files". Present attributes are left alone, whatever their
 * type. Call it before patch_apply when the item comes in its normalised (empties absent)
 * form, so that RFC 6902 paths such as replace /favorite or add /tags/- work on it as on
 * any item; the item re-validation afterwards drops the empties again. Returns ERR_OK,
 * ERR_NOMEM (the item may then hold some of the defaults), or ERR_INTERNAL when item is
 * not a JSON object.
 */
enum err patch_fill_defaults(json_t *item) SESAME_WUR;

#endif
