/*
 * fuzz_credentials.c - libFuzzer driver for the credentials file (src/keys/credentials.c).
 *
 * Each input goes to credentials_parse. A parsed file must satisfy the accessors'
 * promises (ids in both cases, valid and distinct hub URLs, at least one signing key with a kid,
 * still locked), and is then unlocked with a fixed wrong secret (0x42 x 32) and with the secret the
 * seed corpus was made with (bytes 01..20): either attempt either unlocks, with the keys and the
 * account present, or fails with one of the documented errors and leaves the file locked. A refused
 * input must come with a one-line message and nothing to free. Any broken invariant abort()s.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/crypto.h"
#include "keys/credentials.h"
#include "keys/kit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks what an unlock attempt returned against the state it left. */
static void fuzz_check_unlock(struct credentials *c, enum err rc, int was_unlocked)
{
    const struct jwk *sign, *wrap;

    if (rc == ERR_OK || was_unlocked) {
        sign = credentials_server_signing_key(c);
        wrap = credentials_server_wrap_key(c);
        if (!credentials_is_unlocked(c) || !sign || !wrap || sign->jk_kind != JWK_EC_P256 ||
            !ecdsa_p256_has_private(sign->jk_ec) || wrap->jk_kind != JWK_OKP_X25519 ||
            !wrap->jk_secret || !id_is_valid_upper(credentials_account_id(c)))
            abort();
        if (rc != ERR_OK && rc != ERR_UNAUTHORIZED)
            abort();
        return;
    }
    if (rc != ERR_UNAUTHORIZED && rc != ERR_CRYPTO && rc != ERR_BAD_INPUT && rc != ERR_NOMEM)
        abort();
    if (credentials_is_unlocked(c) || credentials_account_id(c) ||
        credentials_server_signing_key(c) || credentials_server_wrap_key(c))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    unsigned char wrong[CREDENTIALS_UNLOCK_BYTES], seed[CREDENTIALS_UNLOCK_BYTES];
    struct credentials *c = NULL;
    const struct jws_key *keys;
    const char *lower, *upper;
    char err[512];
    size_t i, n = 0;
    int was;
    enum err rc;

    if (!ready) {
        if (crypto_init() != ERR_OK)
            abort();
        ready = 1;
    }
    memset(wrong, 0x42, sizeof(wrong));
    for (i = 0; i < sizeof(seed); i++)
        seed[i] = (unsigned char)(i + 1);

    err[0] = '\0';
    rc = credentials_parse(&c, (const char *)data, size, err, sizeof(err));
    if (rc != ERR_OK) {
        if (c || !err[0] || strchr(err, '\n') || strncmp(err, "credentials file", 16) != 0)
            abort();
        if (rc != ERR_BAD_INPUT && rc != ERR_TOO_LARGE && rc != ERR_NOMEM)
            abort();
        return 0;
    }

    lower = credentials_server_id(c);
    upper = credentials_server_id_upper(c);
    if (!id_is_valid(lower) || !id_is_valid_upper(upper) || strcasecmp(lower, upper) != 0)
        abort();
    if (!kit_hub_url_is_valid(credentials_hub_url(c)))
        abort();
    /* hub.url then hub.urls: valid, distinct, https:// when pinned, NULL past the end */
    n = credentials_hub_url_count(c);
    if (n < 1 || n > 1 + CREDENTIALS_MAX_HUB_URLS ||
        credentials_hub_url_at(c, 0) != credentials_hub_url(c) || credentials_hub_url_at(c, n))
        abort();
    for (i = 1; i < n; i++) {
        const char *u = credentials_hub_url_at(c, i);
        size_t j;

        if (!u || !kit_hub_url_is_valid(u) ||
            (credentials_tls_fingerprint(c) && strncasecmp(u, "https://", 8) != 0))
            abort();
        for (j = 0; j < i; j++) {
            if (strcmp(u, credentials_hub_url_at(c, j)) == 0)
                abort();
        }
    }
    if (credentials_tls_fingerprint(c) && strlen(credentials_tls_fingerprint(c)) != 64)
        abort();
    if (credentials_unique_key(c)->jk_kind != JWK_OCT_256)
        abort();
    keys = credentials_signing_keys(c, &n);
    if (n == 0 || n > CREDENTIALS_MAX_SIGNING_KEYS)
        abort();
    for (i = 0; i < n; i++) {
        if (!keys[i].jk_kid || !keys[i].jk_kid[0] || !keys[i].jk_key ||
            ecdsa_p256_has_private(keys[i].jk_key))
            abort();
    }
    if (credentials_is_unlocked(c))
        abort();

    was = credentials_is_unlocked(c);
    rc = credentials_unlock(c, wrong, sizeof(wrong));
    fuzz_check_unlock(c, rc, was);
    was = credentials_is_unlocked(c);
    rc = credentials_unlock(c, seed, sizeof(seed));
    fuzz_check_unlock(c, rc, was);
    if (credentials_unlock(c, seed, sizeof(seed) - 1) != ERR_UNAUTHORIZED)
        abort();
    credentials_free(c);
    return 0;
}
