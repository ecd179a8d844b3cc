/*
 * fuzz_jsonfast.c - libFuzzer driver for the fast path of JSON parsing (json/fastload.c),
 * differential against jansson: whatever jsonfast_load parses, json_loadb with
 * JSON_REJECT_DUPLICATES (what hubclient calls otherwise) must parse too, to an equal
 * tree (json_equal: the same types, integers, strings and keys). And jsonfast_dump of
 * whatever jansson parsed (any JSON: escapes, UTF-8, reals) is text jansson parses back to
 * an equal tree. Input: the JSON text. Aborts on a violation.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/buf.h"
#include "json/fastload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *fast = jsonfast_load((const char *)data, size);
    json_t *ref = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);

    if (fast && (!ref || !json_equal(fast, ref)))
        abort();
    if (ref) {
        struct buf b;
        json_t *back;

        buf_init(&b, 1u << 24);
        if (jsonfast_dump(ref, &b) == ERR_OK) {
            back = json_loadb(b.b_data, b.b_len,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
            if (!back || !json_equal(back, ref))
                abort();
            json_decref(back);
        }
        buf_free(&b);
    }
    json_decref(fast);
    json_decref(ref);
    return 0;
}
