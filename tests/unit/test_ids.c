/* test_ids.c - Connect-shaped ids and request UUIDs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/ids.h"
#include "crypto/crypto.h"

static int setup(void **state)
{
    (void)state;
    return crypto_init() == ERR_OK ? 0 : -1;
}

static void test_known_bytes(void **state)
{
    static const unsigned char zero[ID_BYTES] = {0};
    static const unsigned char ff[ID_BYTES] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                               0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    /* "foobar" followed by ten NULs. */
    static const unsigned char foo[ID_BYTES] = {'f', 'o', 'o', 'b', 'a', 'r'};
    char id[ID_LEN + 1];

    (void)state;
    id_from_bytes(id, zero, 0);
    assert_string_equal(id, "aaaaaaaaaaaaaaaaaaaaaaaaaa");
    id_from_bytes(id, ff, 0);
    assert_string_equal(id, "77777777777777777777777774");
    id_from_bytes(id, foo, 1);
    assert_string_equal(id, "MZXW6YTBOIAAAAAAAAAAAAAAAA");
    assert_true(id_is_valid_upper(id));
    assert_false(id_is_valid(id));
}

static void test_random_ids(void **state)
{
    char a[ID_LEN + 1], b[ID_LEN + 1], u[ID_LEN + 1];
    int i;

    (void)state;
    for (i = 0; i < 100; i++) {
        assert_int_equal(id_new(a), ERR_OK);
        assert_int_equal(id_new(b), ERR_OK);
        assert_int_equal(strlen(a), ID_LEN);
        assert_true(id_is_valid(a));
        assert_string_not_equal(a, b);
        assert_int_equal(id_new_upper(u), ERR_OK);
        assert_true(id_is_valid_upper(u));
        assert_false(id_is_valid(u));
    }
}

static void test_validation(void **state)
{
    static const struct {
        const char *s;
        int ok;
    } cases[] = {
        {"otl6r6nugj5wr63rnkw3v4pbna", 1}, /* from the Go SDK fixture */
        {"abcdefghijklmnopqrstuvwxyz", 1},
        {"0123456789abcdef0123456789", 1},  /* Connect accepts [a-z0-9]: 0, 1, 8, 9 too */
        {"otl6r6nugj5wr63rnkw3v4pbn", 0},   /* 25 */
        {"otl6r6nugj5wr63rnkw3v4pbnaa", 0}, /* 27 */
        {"OTL6R6NUGJ5WR63RNKW3V4PBNA", 0},  /* upper case */
        {"otl6r6nugj5wr63rnkw3v4pbn-", 0},
        {"otl6r6nugj5wr63rnkw3v4pbn/", 0},
        {"", 0},
        {"My Vault", 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(id_is_valid(cases[i].s), cases[i].ok);
    assert_false(id_is_valid(NULL));
    assert_false(id_is_valid_upper(NULL));
    assert_true(id_is_valid_upper("DOIHOHSV2NHK5HMSOLCWJUXFDM"));
}

static void test_uuid(void **state)
{
    char a[UUID_LEN + 1], b[UUID_LEN + 1];
    size_t i;

    (void)state;
    assert_int_equal(id_new_uuid(a), ERR_OK);
    assert_int_equal(id_new_uuid(b), ERR_OK);
    assert_int_equal(strlen(a), UUID_LEN);
    assert_string_not_equal(a, b);
    for (i = 0; i < UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(a[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", a[i]));
    }
    assert_int_equal(a[14], '4');
    assert_non_null(strchr("89ab", a[19]));
    /* across several refills of the random pool (64 ids each): all well-formed, all new */
    {
        static char many[200][UUID_LEN + 1];
        size_t j;

        for (i = 0; i < 200; i++) {
            assert_int_equal(id_new_uuid(many[i]), ERR_OK);
            assert_int_equal(strlen(many[i]), UUID_LEN);
            assert_int_equal(many[i][14], '4');
            assert_non_null(strchr("89ab", many[i][19]));
            for (j = 0; j < i; j++)
                assert_string_not_equal(many[i], many[j]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_bytes),
        cmocka_unit_test(test_random_ids),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_uuid),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
