/*
 * fuzz_jwk.c - libFuzzer driver for JWK parsing (src/crypto/jwk.c).
 *
 * Feeds the input to jwk_parse. When it parses, the key is serialised with its private
 * part (if any), parsed again, and must be the same key (jwk_equal); the public form
 * (for EC and OKP keys) must parse to a key whose public serialisation is byte-for-byte
 * the same. Any broken invariant abort()s.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/jwk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_has_secret(const struct jwk *k)
{
    return k->jk_kind == JWK_EC_P256 ? ecdsa_p256_has_private(k->jk_ec) : k->jk_secret != NULL;
}

/* Returns the compact text of k (caller wipes and frees), aborting on failure. */
static char *fuzz_dump(const struct jwk *k, int with_private)
{
    json_t *j = jwk_to_json(k, with_private);
    char *text;

    if (!j)
        abort();
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        abort();
    return text;
}

static void fuzz_release(char *text)
{
    secmem_wipe(text, strlen(text));
    free(text); /* json_dumps' default allocator */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct jwk k, back, pub;
    char *text, *pub_text, *pub_text2;

    if (!ready) {
        if (crypto_init() != ERR_OK)
            abort();
        ready = 1;
    }
    if (jwk_parse(&k, (const char *)data, size) != ERR_OK) {
        /* Nothing is left to free after a failure. */
        if (k.jk_kind != 0 || k.jk_ec || k.jk_secret || k.jk_kid[0])
            abort();
        return 0;
    }
    text = fuzz_dump(&k, fuzz_has_secret(&k));
    if (jwk_parse(&back, text, strlen(text)) != ERR_OK || !jwk_equal(&k, &back))
        abort();
    fuzz_release(text);
    jwk_clear(&back);

    if (k.jk_kind != JWK_OCT_256) {
        pub_text = fuzz_dump(&k, 0);
        if (jwk_parse(&pub, pub_text, strlen(pub_text)) != ERR_OK || fuzz_has_secret(&pub))
            abort();
        pub_text2 = fuzz_dump(&pub, 0);
        if (strcmp(pub_text, pub_text2) != 0)
            abort();
        fuzz_release(pub_text);
        fuzz_release(pub_text2);
        jwk_clear(&pub);
    }
    jwk_clear(&k);
    return 0;
}
