/*
 * fuzz_item.c - item validation: any JSON body through item_from_request (create and
 * replace) and item_from_json; whatever is accepted must serialise, load back, and equal
 * itself (the normal form is a fixed point).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "json/item.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define V "vvvvvvvvvvvvvvvvvvvvvvvvvv"
#define I "iiiiiiiiiiiiiiiiiiiiiiiiii"

static void check_round_trip(const json_t *content, const char *category)
{
    struct item_meta m = {I, V, "", 1, 0, 0, "", ""}, m2;
    json_t *out = NULL, *back = NULL, *expect;
    char msg[256];

    snprintf(m.im_category, sizeof(m.im_category), "%s", category);
    if (item_to_json(&out, &m, content, ITEM_OUT_FULL, 1000000000) != ERR_OK)
        abort();
    if (item_from_json(&m2, &back, out, msg, sizeof(msg)) != ERR_OK)
        abort();
    expect = json_deep_copy(content);
    json_object_del(expect, "passwordHistory"); /* never sent to clients */
    if (!json_equal(expect, back) || strcmp(m2.im_category, category) != 0)
        abort();
    json_decref(expect);
    json_decref(out);
    json_decref(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct item_input in = {ITEM_CREATE, V, NULL, NULL, NULL, 1000};
    struct item_meta m;
    json_t *body, *content = NULL, *existing;
    json_error_t jerr;
    char msg[256], cat[ITEM_CATEGORY_MAX];

    if (!ready) {
        if (crypto_init() != ERR_OK)
            abort();
        ready = 1;
    }
    body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!body)
        return 0;
    if (json_is_array(body)) {
        /* A patch document, applied to a fixed LOGIN item. */
        struct item_meta pm = {I, V, "LOGIN", 2, 0, 0, "", ""};
        json_t *base = json_pack("{s:s, s:[{s:s, s:s, s:s, s:s}], s:[s]}", "title", "t", "fields",
                                 "id", "password", "type", "CONCEALED", "purpose", "PASSWORD",
                                 "value", "pw", "tags", "a");
        if (item_apply_patch(&content, cat, &pm, base, body, 1000, msg, sizeof(msg)) == ERR_OK)
            check_round_trip(content, cat);
        else if (content)
            abort();
        json_decref(content);
        json_decref(base);
        json_decref(body);
        return 0;
    }
    if (item_from_request(&content, cat, body, &in, msg, sizeof(msg)) == ERR_OK) {
        check_round_trip(content, cat);
        /* Replacing that item with the same body must work too. */
        existing = content;
        content = NULL;
        in.ii_mode = ITEM_REPLACE;
        in.ii_item_id = I;
        in.ii_existing_category = cat;
        in.ii_existing = existing;
        if (item_from_request(&content, cat, body, &in, msg, sizeof(msg)) == ERR_OK)
            check_round_trip(content, cat);
        json_decref(existing);
    } else if (content) {
        abort(); /* an error must leave no content */
    }
    json_decref(content);
    content = NULL;
    if (item_from_json(&m, &content, body, msg, sizeof(msg)) == ERR_OK)
        check_round_trip(content, m.im_category);
    json_decref(content);
    json_decref(body);
    return 0;
}
