/* keyjson.c - JSON helpers for files that hold private keys. */
#include "keys/keyjson.h"

#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "crypto/crypto.h"

/* Wipes the text of every string in the tree v. */
static void keyjson_wipe(json_t *v)
{
    const char *key;
    json_t *e;
    size_t i;

    if (json_is_string(v)) {
        secmem_wipe((void *)(uintptr_t)json_string_value(v), json_string_length(v));
    } else if (json_is_object(v)) {
        json_object_foreach(v, key, e)
        {
            keyjson_wipe(e);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e)
        {
            keyjson_wipe(e);
        }
    }
}

/* Wipes and frees a tree that held private keys; see keyjson.h. */
void keyjson_drop(json_t *v)
{
    if (v) {
        keyjson_wipe(v);
        json_decref(v);
    }
}

/* Wipes and frees text from json_dumps; see keyjson.h. */
void keyjson_text_drop(char *text)
{
    json_free_t jfree = NULL;

    if (!text)
        return;
    secmem_wipe(text, strlen(text));
    json_get_alloc_funcs(NULL, &jfree);
    jfree(text);
}

/* Sets obj[name] to a new string; see keyjson.h. */
int keyjson_set_str(json_t *obj, const char *name, const char *s)
{
    return json_object_set_new(obj, name, json_string(s));
}

/* Sets obj[name] to unpadded base64url; see keyjson.h. */
int keyjson_set_b64(json_t *obj, const char *name, const unsigned char *p, size_t n)
{
    size_t cap = codec_b64_encoded_len(n, 0) + 1;
    char *text = mem_alloc(cap);
    int r = -1;

    if (!text)
        return -1;
    if (codec_b64_encode(text, cap, NULL, p, n, CODEC_B64_URL) == ERR_OK)
        r = keyjson_set_str(obj, name, text);
    mem_free(text);
    return r;
}
