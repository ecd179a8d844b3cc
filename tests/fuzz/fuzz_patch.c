/*
 * fuzz_patch.c - libFuzzer driver for patch_apply (src/json/patch.c).
 *
 * Input: an item JSON document and a patch JSON document, separated by the first NUL byte,
 * or else by the first newline; with neither, the whole input is the patch. When the item
 * part is not a JSON object a fixed LOGIN item is used, so that most inputs reach the
 * patch logic. The patch is applied to the item as it is and to a copy completed by
 * patch_fill_defaults. Checked on every input:
 *   - the result is ERR_OK or ERR_BAD_INPUT (never a crash, leak or other error);
 *   - on ERR_OK the message is "" and the result is an object that serialises;
 *   - on ERR_BAD_INPUT the item is the same pointer and unchanged (all or nothing), and the
 *     message is one of the fixed texts (so it can never quote the input);
 *   - the patch document itself is never modified.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json/patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_item[] =
    "{\"id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaa\",\"title\":\"DB\",\"vault\":{\"id\":"
    "\"vvvvvvvvvvvvvvvvvvvvvvvvvv\"},\"category\":\"LOGIN\",\"favorite\":false,"
    "\"tags\":[\"prod\",\"db\"],\"urls\":[{\"href\":\"https://db.example.com\",\"primary\":true}],"
    "\"sections\":[{\"id\":\"Section_1\",\"label\":\"Extra\"}],\"fields\":["
    "{\"id\":\"username\",\"type\":\"STRING\",\"purpose\":\"USERNAME\",\"label\":\"username\","
    "\"value\":\"admin\"},{\"id\":\"password\",\"type\":\"CONCEALED\",\"purpose\":\"PASSWORD\","
    "\"label\":\"password\",\"value\":\"hunter2\"},{\"id\":\"notesPlain\",\"type\":\"STRING\","
    "\"purpose\":\"NOTES\",\"label\":\"notesPlain\"},{\"id\":\"host\",\"section\":{\"id\":"
    "\"Section_1\"},\"type\":\"STRING\",\"label\":\"host\",\"value\":\"db1\"}],"
    "\"files\":[{\"id\":\"ffffffffffffffffffffffffff\",\"name\":\"a.txt\",\"size\":3}]}";

/* Every text a failed patch may report after "Invalid patch operation N: ". */
static const char *const fuzz_reasons[] = {
    "the operation must be a JSON object",
    "op is missing",
    "op must be a string",
    "op must be add, remove or replace",
    "the move operation is not supported, only add, remove and replace",
    "the copy operation is not supported, only add, remove and replace",
    "the test operation is not supported, only add, remove and replace",
    "path is missing",
    "path must be a string",
    "path must start with \"/\"",
    "path must not contain a NUL character",
    "path has an invalid ~ escape (only ~0 and ~1 are allowed)",
    "path has too many segments",
    "value is missing",
    "path does not exist",
    "path has an invalid array index",
    "array index is out of range",
    "\"-\" is only allowed as the last segment of an add path",
    "path goes into a value that is neither an object nor an array",
    "the whole item cannot be removed",
    "value must be an object to replace the whole item",
    "value must be an object (a field)",
    "the field id in the path is empty",
    "the field id in the value does not match the path",
    "the fields attribute is not an array",
};

/* Returns 1 if msg is one of the fixed messages of a refused patch. */
static int fuzz_message_ok(const char *msg)
{
    static const char prefix[] = "Invalid patch operation ";
    const char *p;
    size_t i;

    if (strcmp(msg, "Invalid patch: the body must be a JSON array of operations") == 0 ||
        strcmp(msg, "Invalid patch: more than 256 operations") == 0)
        return 1;
    if (strncmp(msg, prefix, sizeof(prefix) - 1) != 0)
        return 0;
    p = msg + sizeof(prefix) - 1;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p[0] != ':' || p[1] != ' ')
        return 0;
    for (i = 0; i < sizeof(fuzz_reasons) / sizeof(fuzz_reasons[0]); i++) {
        if (strcmp(p + 2, fuzz_reasons[i]) == 0)
            return 1;
    }
    return 0;
}

/* Applies ops to item (consumed) and checks the invariants; aborts when one fails. */
static void fuzz_one(json_t *item, const json_t *ops)
{
    json_t *orig = item, *pristine = json_deep_copy(item), *ops_copy = json_deep_copy(ops);
    char msg[256];
    char *out;
    enum err rc;

    if (!pristine || !ops_copy)
        abort();
    rc = patch_apply(&item, ops, msg, sizeof(msg));
    if (!json_equal(ops, ops_copy))
        abort();
    if (rc == ERR_OK) {
        if (msg[0] != '\0' || !json_is_object(item))
            abort();
        out = json_dumps(item, JSON_COMPACT);
        if (!out)
            abort();
        free(out);
    } else if (rc == ERR_BAD_INPUT) {
        if (item != orig || !json_equal(item, pristine) || !fuzz_message_ok(msg)) {
            fprintf(stderr, "fuzz_patch: bad failure, message \"%s\"\n", msg);
            abort();
        }
    } else {
        abort();
    }
    json_decref(ops_copy);
    json_decref(pristine);
    json_decref(item);
}

/* Splits the input, parses both parts and runs the patch twice (see the top comment). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    const char *cut = size ? memchr(buf, '\0', size) : NULL;
    size_t item_len = 0, ops_off = 0;
    json_t *item = NULL, *ops, *filled;

    if (size == 0)
        return 0;
    if (!cut)
        cut = memchr(buf, '\n', size);
    if (cut) {
        item_len = (size_t)(cut - buf);
        ops_off = item_len + 1;
        item = json_loadb(buf, item_len, JSON_REJECT_DUPLICATES, NULL);
    }
    if (!json_is_object(item)) {
        json_decref(item);
        item = json_loads(fuzz_item, 0, NULL);
        if (!item)
            abort();
    }
    ops = json_loadb(buf + ops_off, size - ops_off, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!ops) {
        json_decref(item);
        return 0;
    }
    filled = json_deep_copy(item);
    if (!filled || patch_fill_defaults(filled) != ERR_OK)
        abort();
    fuzz_one(item, ops);
    fuzz_one(filled, ops);
    json_decref(ops);
    return 0;
}
