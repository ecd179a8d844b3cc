/* test_vaultcrypt.c - vault keys, wrapping, and sealing of attributes, items and files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "crypto/crypto.h"
#include "keys/kit.h"
#include "keys/vaultcrypt.h"

#define V1 "aaaaaaaaaaaaaaaaaaaaaaaaaa"
#define V2 "bbbbbbbbbbbbbbbbbbbbbbbbbb"
#define I1 "cccccccccccccccccccccccccc"
#define I2 "dddddddddddddddddddddddddd"

static int setup(void **state)
{
    (void)state;
    return crypto_init() == ERR_OK ? 0 : -1;
}

static void test_wrap_roundtrip(void **state)
{
    struct jwk me, other;
    unsigned char *key = NULL, *back = NULL;
    size_t len = 0;
    struct buf w;

    (void)state;
    assert_int_equal(kit_jwk_generate(&me, JWK_OKP_X25519, "me"), ERR_OK);
    assert_int_equal(kit_jwk_generate(&other, JWK_OKP_X25519, "other"), ERR_OK);
    assert_int_equal(vaultcrypt_key_generate(&key), ERR_OK);
    buf_init(&w, VAULTCRYPT_MAX_WRAPPED);
    assert_int_equal(vaultcrypt_wrap(&w, key, VAULTCRYPT_KEY_BYTES, &me), ERR_OK);
    assert_int_equal(w.b_len, VAULTCRYPT_KEY_BYTES + 48);
    assert_int_equal(vaultcrypt_unwrap(&back, &len, (unsigned char *)w.b_data, w.b_len, &me),
                     ERR_OK);
    assert_int_equal(len, VAULTCRYPT_KEY_BYTES);
    assert_memory_equal(back, key, VAULTCRYPT_KEY_BYTES);
    vaultcrypt_key_free(back);
    /* another key pair cannot open it; a flipped byte neither */
    assert_int_equal(vaultcrypt_unwrap(&back, &len, (unsigned char *)w.b_data, w.b_len, &other),
                     ERR_CRYPTO);
    assert_null(back);
    w.b_data[10] ^= 1;
    assert_int_equal(vaultcrypt_unwrap(&back, &len, (unsigned char *)w.b_data, w.b_len, &me),
                     ERR_CRYPTO);
    /* bad arguments */
    assert_int_equal(vaultcrypt_wrap(&w, key, 0, &me), ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_wrap(&w, key, 65, &me), ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_unwrap(&back, &len, (unsigned char *)w.b_data, 10, &me),
                     ERR_CRYPTO);
    buf_free(&w);
    vaultcrypt_key_free(key);
    jwk_clear(&me);
    jwk_clear(&other);
}

static void test_item_aad(void **state)
{
    unsigned char *key = NULL, *key2 = NULL;
    json_t *obj = json_pack("{s:s, s:[s]}", "title", "secret-title", "tags", "t1"), *back = NULL;
    struct buf ct;
    const unsigned char *c;

    (void)state;
    assert_int_equal(vaultcrypt_key_generate(&key), ERR_OK);
    assert_int_equal(vaultcrypt_key_generate(&key2), ERR_OK);
    buf_init(&ct, 1 << 20);
    assert_int_equal(vaultcrypt_item_seal(&ct, key, V1, I1, 7, VAULTCRYPT_OVERVIEW, obj), ERR_OK);
    assert_null(memmem(ct.b_data, ct.b_len, "secret-title", 12));
    c = (const unsigned char *)ct.b_data;
    assert_int_equal(vaultcrypt_item_open(&back, key, V1, I1, 7, VAULTCRYPT_OVERVIEW, c, ct.b_len),
                     ERR_OK);
    assert_true(json_equal(back, obj));
    json_decref(back);
    /* upper-case ids name the same place */
    assert_int_equal(vaultcrypt_item_open(&back, key, "AAAAAAAAAAAAAAAAAAAAAAAAAA", I1, 7,
                                          VAULTCRYPT_OVERVIEW, c, ct.b_len),
                     ERR_OK);
    json_decref(back);
    /* every component of the associated data matters */
    assert_int_equal(vaultcrypt_item_open(&back, key, V2, I1, 7, VAULTCRYPT_OVERVIEW, c, ct.b_len),
                     ERR_CRYPTO);
    assert_int_equal(vaultcrypt_item_open(&back, key, V1, I2, 7, VAULTCRYPT_OVERVIEW, c, ct.b_len),
                     ERR_CRYPTO);
    assert_int_equal(vaultcrypt_item_open(&back, key, V1, I1, 8, VAULTCRYPT_OVERVIEW, c, ct.b_len),
                     ERR_CRYPTO);
    assert_int_equal(vaultcrypt_item_open(&back, key, V1, I1, 7, VAULTCRYPT_DETAILS, c, ct.b_len),
                     ERR_CRYPTO);
    assert_int_equal(vaultcrypt_item_open(&back, key2, V1, I1, 7, VAULTCRYPT_OVERVIEW, c, ct.b_len),
                     ERR_CRYPTO);
    assert_int_equal(
        vaultcrypt_item_open(&back, key, V1, I1, 7, VAULTCRYPT_OVERVIEW, c, ct.b_len - 1),
        ERR_CRYPTO);
    ct.b_data[ct.b_len / 2] ^= 0x40;
    assert_int_equal(vaultcrypt_item_open(&back, key, V1, I1, 7, VAULTCRYPT_OVERVIEW, c, ct.b_len),
                     ERR_CRYPTO);
    assert_null(back);
    /* bad arguments: version 0, not an id, not an object */
    assert_int_equal(vaultcrypt_item_seal(&ct, key, V1, I1, 0, VAULTCRYPT_OVERVIEW, obj),
                     ERR_BAD_INPUT);
    assert_int_equal(vaultcrypt_item_seal(&ct, key, "nope", I1, 1, VAULTCRYPT_OVERVIEW, obj),
                     ERR_BAD_INPUT);
    json_t *arr = json_array();
    assert_int_equal(vaultcrypt_item_seal(&ct, key, V1, I1, 1, VAULTCRYPT_OVERVIEW, arr),
                     ERR_BAD_INPUT);
    json_decref(arr);
    buf_free(&ct);
    json_decref(obj);
    vaultcrypt_key_free(key);
    vaultcrypt_key_free(key2);
}

static void test_attrs_and_files(void **state)
{
    unsigned char *key = NULL;
    json_t *attrs = json_pack("{s:s}", "name", "Infra"), *back = NULL;
    struct buf ct, pt;
    static const char data[] = "-----BEGIN CERTIFICATE-----";

    (void)state;
    assert_int_equal(vaultcrypt_key_generate(&key), ERR_OK);
    buf_init(&ct, 1 << 20);
    buf_init(&pt, VAULTCRYPT_MAX_FILE_BYTES);
    assert_int_equal(vaultcrypt_attrs_seal(&ct, key, V1, attrs), ERR_OK);
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V1, (unsigned char *)ct.b_data, ct.b_len),
                     ERR_OK);
    assert_string_equal(json_string_value(json_object_get(back, "name")), "Infra");
    json_decref(back);
    assert_int_equal(vaultcrypt_attrs_open(&back, key, V2, (unsigned char *)ct.b_data, ct.b_len),
                     ERR_CRYPTO);
    buf_reset(&ct);
    assert_int_equal(vaultcrypt_file_seal(&ct, key, V1, I1, data, sizeof(data) - 1), ERR_OK);
    assert_int_equal(ct.b_len, sizeof(data) - 1 + 28);
    assert_int_equal(vaultcrypt_file_open(&pt, key, V1, I1, (unsigned char *)ct.b_data, ct.b_len),
                     ERR_OK);
    assert_int_equal(pt.b_len, sizeof(data) - 1);
    assert_memory_equal(pt.b_data, data, pt.b_len);
    assert_int_equal(vaultcrypt_file_open(&pt, key, V1, I2, (unsigned char *)ct.b_data, ct.b_len),
                     ERR_CRYPTO);
    assert_int_equal(vaultcrypt_file_open(&pt, key, V2, I1, (unsigned char *)ct.b_data, ct.b_len),
                     ERR_CRYPTO);
    /* empty files work; oversized ones are refused */
    buf_reset(&ct);
    assert_int_equal(vaultcrypt_file_seal(&ct, key, V1, I1, NULL, 0), ERR_OK);
    assert_int_equal(vaultcrypt_file_seal(&ct, key, V1, I1, data, VAULTCRYPT_MAX_FILE_BYTES + 1),
                     ERR_TOO_LARGE);
    buf_free(&ct);
    buf_free(&pt);
    json_decref(attrs);
    vaultcrypt_key_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrap_roundtrip),
        cmocka_unit_test(test_item_aad),
        cmocka_unit_test(test_attrs_and_files),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
