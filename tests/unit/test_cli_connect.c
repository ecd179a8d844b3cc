/*
 * test_cli_connect.c - the pure parts of `sesame connect` / `sesame activity`: names, access
 * names, finding a server by id or name, and the round trip the commands rely on: a
 * credentials file built from the account kit and a token minted for the server verify
 * and unlock each other (keys/token.h against credentials_signing_keys, then
 * credentials_unlock with the token's secret).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli_connect.h"
#include "common/alloc.h"
#include "crypto/crypto.h"
#include "keys/credentials.h"
#include "keys/kit.h"
#include "keys/token.h"

#define HUB    "http://127.0.0.1:7700"
#define FP     "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
#define FP_LC  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define VAULT1 "aaaaaaaaaaaaaaaaaaaaaaaaaa"
#define VAULT2 "bbbbbbbbbbbbbbbbbbbbbbbbbb"

static int group_setup(void **state)
{
    (void)state;
    return crypto_init() == ERR_OK ? 0 : -1;
}

/* ---- names and access --------------------------------------------------------------- */

static void test_name_check(void **state)
{
    static char longest[CONNECT_NAME_MAX_BYTES + 2];
    char msg[128];
    struct {
        const char *name;
        enum err rc;
        const char *msg;
    } cases[] = {
        {"prod", ERR_OK, ""},
        {"web server (eu-1)", ERR_OK, ""},
        {"caf\xc3\xa9", ERR_OK, ""},
        {"", ERR_BAD_INPUT, "the server name is empty"},
        {NULL, ERR_BAD_INPUT, "the server name is empty"},
        {"a\tb", ERR_BAD_INPUT, "the server name contains a control character"},
        {"a\nb", ERR_BAD_INPUT, "the server name contains a control character"},
        {"a\x7f", ERR_BAD_INPUT, "the server name contains a control character"},
        {"\x1b[31m", ERR_BAD_INPUT, "the server name contains a control character"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        msg[0] = '\0';
        assert_int_equal(connect_name_check(cases[i].name, "server", msg, sizeof(msg)),
                         cases[i].rc);
        assert_string_equal(msg, cases[i].msg);
    }
    memset(longest, 'n', CONNECT_NAME_MAX_BYTES);
    longest[CONNECT_NAME_MAX_BYTES] = '\0';
    assert_int_equal(connect_name_check(longest, "token", msg, sizeof(msg)), ERR_OK);
    longest[CONNECT_NAME_MAX_BYTES] = 'n';
    longest[CONNECT_NAME_MAX_BYTES + 1] = '\0';
    assert_int_equal(connect_name_check(longest, "token", msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_string_equal(msg, "the token name is longer than 1024 bytes");
}

static void test_access_name(void **state)
{
    (void)state;
    assert_string_equal(connect_access_name(TOKEN_ACCESS_READ), "r");
    assert_string_equal(connect_access_name(TOKEN_ACCESS_WRITE), "w");
    assert_string_equal(connect_access_name(TOKEN_ACCESS_ALL), "rw");
    assert_string_equal(connect_access_name(0), "-");
    assert_string_equal(connect_access_name(4), "-");
    assert_string_equal(connect_access_name(7), "-");
}

/* ---- finding a server ---------------------------------------------------------------- */

static void test_server_find(void **state)
{
    /* "twin" twice; the third server is named like the first one's id in uppercase. */
    json_t *list = json_loads("[{\"id\":\"s1s1s1s1s1s1s1s1s1s1s1s1s1\",\"name\":\"prod\"},"
                              "{\"id\":\"s2s2s2s2s2s2s2s2s2s2s2s2s2\",\"name\":\"twin\"},"
                              "{\"id\":\"s3s3s3s3s3s3s3s3s3s3s3s3s3\",\"name\":\"twin\"},"
                              "{\"id\":\"s4s4s4s4s4s4s4s4s4s4s4s4s4\","
                              "\"name\":\"zzzzzzzzzzzzzzzzzzzzzzzzzz\"}]",
                              0, NULL);
    struct {
        const char *query;
        enum err rc;
        const char *id; /* expected record, or the message */
    } cases[] = {
        {"s1s1s1s1s1s1s1s1s1s1s1s1s1", ERR_OK, "s1s1s1s1s1s1s1s1s1s1s1s1s1"},
        {"S1S1S1S1S1S1S1S1S1S1S1S1S1", ERR_OK, "s1s1s1s1s1s1s1s1s1s1s1s1s1"},
        {"prod", ERR_OK, "s1s1s1s1s1s1s1s1s1s1s1s1s1"},
        {"Prod", ERR_NOT_FOUND, "no server has that id or name"},
        {"twin", ERR_CONFLICT, "several servers are named so; use the id"},
        {"s3s3s3s3s3s3s3s3s3s3s3s3s3", ERR_OK, "s3s3s3s3s3s3s3s3s3s3s3s3s3"},
        {"zzzzzzzzzzzzzzzzzzzzzzzzzz", ERR_OK, "s4s4s4s4s4s4s4s4s4s4s4s4s4"},
        {"", ERR_NOT_FOUND, "no server has that id or name"},
    };
    const json_t *found;
    char msg[128];
    size_t i;

    (void)state;
    assert_non_null(list);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        msg[0] = '\0';
        assert_int_equal(connect_server_find(list, cases[i].query, &found, msg, sizeof(msg)),
                         cases[i].rc);
        if (cases[i].rc == ERR_OK) {
            assert_non_null(found);
            assert_string_equal(json_string_value(json_object_get(found, "id")), cases[i].id);
        } else {
            assert_null(found);
            assert_string_equal(msg, cases[i].id);
        }
    }
    json_decref(list);
    list = json_object();
    assert_int_equal(connect_server_find(list, "prod", &found, msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_null(found);
    json_decref(list);
}

/* ---- credentials file and token round trip ------------------------------------------ */

struct server_fixture {
    struct kit *sf_kit;
    char sf_id[ID_LEN + 1];
    struct jwk sf_sign;
    struct jwk sf_wrap;
    unsigned char *sf_unlock;
};

static void fixture_make(struct server_fixture *f, int nkeys, int64_t now)
{
    int i;

    memset(f, 0, sizeof(*f));
    assert_int_equal(kit_generate(&f->sf_kit, HUB), ERR_OK);
    for (i = 1; i < nkeys; i++)
        assert_int_equal(kit_signing_key_rotate(f->sf_kit, now + i), ERR_OK);
    assert_int_equal(id_new(f->sf_id), ERR_OK);
    f->sf_unlock = secmem_alloc(CREDENTIALS_UNLOCK_BYTES);
    assert_non_null(f->sf_unlock);
    assert_int_equal(credentials_keys_generate(&f->sf_sign, &f->sf_wrap, f->sf_unlock), ERR_OK);
}

static void fixture_free(struct server_fixture *f)
{
    kit_free(f->sf_kit);
    jwk_clear(&f->sf_sign);
    jwk_clear(&f->sf_wrap);
    secmem_free(f->sf_unlock);
    memset(f, 0, sizeof(*f));
}

static struct credentials *credentials_of(const struct server_fixture *f, const char *fp)
{
    struct credentials *c = NULL;
    struct buf text;
    char msg[256];

    buf_init(&text, CONNECT_CREDENTIALS_MAX);
    assert_int_equal(connect_credentials_build(&text, f->sf_kit, f->sf_id, &f->sf_sign, &f->sf_wrap,
                                               f->sf_unlock, HUB, fp),
                     ERR_OK);
    /* Only public halves of the token-signing keys: no "d" anywhere but encCredentials. */
    assert_null(strstr(buf_str(&text), "\"d\""));
    assert_int_equal(credentials_parse(&c, buf_str(&text), text.b_len, msg, sizeof(msg)), ERR_OK);
    buf_free(&text);
    return c;
}

static void test_token_unlocks_credentials(void **state)
{
    struct server_fixture f;
    struct token_vault vaults[2] = {{VAULT1, TOKEN_ACCESS_READ}, {VAULT2, TOKEN_ACCESS_ALL}};
    struct token_claims claims;
    struct credentials *c;
    const struct jws_key *keys;
    enum token_reason why;
    struct buf tok;
    char jti[ID_LEN + 1];
    size_t nkeys;
    int64_t now = (int64_t)time(NULL);

    (void)state;
    fixture_make(&f, 3, now);
    c = credentials_of(&f, FP);
    assert_string_equal(credentials_server_id(c), f.sf_id);
    assert_string_equal(credentials_hub_url(c), HUB);
    assert_string_equal(credentials_tls_fingerprint(c), FP_LC);
    keys = credentials_signing_keys(c, &nkeys);
    assert_int_equal(nkeys, 3); /* every key of the kit, not just the current one */
    assert_string_equal(keys[2].jk_kid, kit_signing_key_current(f.sf_kit)->jk_kid);

    buf_init(&tok, CONNECT_TOKEN_MAX);
    assert_int_equal(
        connect_token_build(&tok, jti, f.sf_kit, f.sf_id, f.sf_unlock, vaults, 2, now, 90 * 86400),
        ERR_OK);
    assert_true(id_is_valid(jti));
    memset(&claims, 0, sizeof(claims));
    assert_int_equal(token_verify(&claims, buf_str(&tok), tok.b_len, keys, nkeys,
                                  credentials_server_id_upper(c), now, &why),
                     ERR_OK);
    assert_string_equal(claims.tc_jti, jti);
    assert_string_equal(claims.tc_server, credentials_server_id_upper(c));
    assert_string_equal(claims.tc_account, kit_account_id(f.sf_kit));
    assert_int_equal(claims.tc_iat, now);
    assert_int_equal(claims.tc_exp, now + 90 * 86400);
    assert_int_equal(claims.tc_nvaults, 2);
    assert_string_equal(claims.tc_vaults[0].tv_id, VAULT1);
    assert_int_equal(claims.tc_vaults[0].tv_access, TOKEN_ACCESS_READ);
    assert_string_equal(claims.tc_vaults[1].tv_id, VAULT2);
    assert_int_equal(claims.tc_vaults[1].tv_access, TOKEN_ACCESS_ALL);

    /* The token's secret unlocks the file, and the file holds the server's own keys. */
    assert_int_equal(credentials_unlock(c, claims.tc_unlock, TOKEN_UNLOCK_BYTES), ERR_OK);
    assert_string_equal(credentials_account_id(c), kit_account_id(f.sf_kit));
    assert_true(jwk_equal(credentials_server_signing_key(c), &f.sf_sign));
    assert_true(jwk_equal(credentials_server_wrap_key(c), &f.sf_wrap));
    token_claims_clear(&claims);

    /* Expired 91 days later (past the leeway). */
    assert_int_equal(token_verify(&claims, buf_str(&tok), tok.b_len, keys, nkeys, f.sf_id,
                                  now + 91 * 86400, &why),
                     ERR_UNAUTHORIZED);
    assert_string_equal(token_reason_name(why), "expired");
    buf_free(&tok);
    credentials_free(c);
    fixture_free(&f);
}

static void test_token_without_expiry_and_other_server(void **state)
{
    struct server_fixture a, b;
    struct token_vault v = {VAULT1, TOKEN_ACCESS_WRITE};
    struct token_claims claims;
    struct credentials *ca, *cb;
    const struct jws_key *keys;
    enum token_reason why;
    struct buf tok;
    char jti[ID_LEN + 1];
    size_t nkeys;
    int64_t now = (int64_t)time(NULL);

    (void)state;
    fixture_make(&a, 1, now);
    fixture_make(&b, 1, now);
    ca = credentials_of(&a, NULL);
    assert_null(credentials_tls_fingerprint(ca));
    buf_init(&tok, CONNECT_TOKEN_MAX);
    assert_int_equal(
        connect_token_build(&tok, jti, a.sf_kit, a.sf_id, a.sf_unlock, &v, 1, now - 10, 0), ERR_OK);
    keys = credentials_signing_keys(ca, &nkeys);
    assert_int_equal(nkeys, 1);
    /* No exp: still valid ten years on. */
    assert_int_equal(token_verify(&claims, buf_str(&tok), tok.b_len, keys, nkeys, a.sf_id,
                                  now + 3650LL * 86400, &why),
                     ERR_OK);
    assert_int_equal(claims.tc_exp, 0);
    token_claims_clear(&claims);

    /* Server b (another kit): its keys do not know the kid; with a's keys, sub differs. */
    cb = credentials_of(&b, NULL);
    keys = credentials_signing_keys(cb, &nkeys);
    assert_int_equal(
        token_verify(&claims, buf_str(&tok), tok.b_len, keys, nkeys, b.sf_id, now, &why),
        ERR_UNAUTHORIZED);
    assert_string_equal(token_reason_name(why), "unknown_kid");
    keys = credentials_signing_keys(ca, &nkeys);
    assert_int_equal(
        token_verify(&claims, buf_str(&tok), tok.b_len, keys, nkeys, b.sf_id, now, &why),
        ERR_UNAUTHORIZED);
    assert_string_equal(token_reason_name(why), "wrong_server");
    /* a's token does not carry b's secret. */
    assert_int_equal(credentials_unlock(cb, a.sf_unlock, CREDENTIALS_UNLOCK_BYTES),
                     ERR_UNAUTHORIZED);
    buf_free(&tok);
    credentials_free(ca);
    credentials_free(cb);
    fixture_free(&a);
    fixture_free(&b);
}

/* A token minted before the kit's key was rotated keeps verifying with the new file. */
static void test_token_old_key_after_rotation(void **state)
{
    struct server_fixture f;
    struct token_vault v = {VAULT2, TOKEN_ACCESS_READ};
    struct token_claims claims;
    struct credentials *c;
    const struct jws_key *keys;
    enum token_reason why;
    struct buf tok;
    char jti[ID_LEN + 1];
    size_t nkeys;
    int64_t now = (int64_t)time(NULL);

    (void)state;
    fixture_make(&f, 1, now);
    buf_init(&tok, CONNECT_TOKEN_MAX);
    assert_int_equal(connect_token_build(&tok, jti, f.sf_kit, f.sf_id, f.sf_unlock, &v, 1, now, 0),
                     ERR_OK);
    assert_int_equal(kit_signing_key_rotate(f.sf_kit, now + 1), ERR_OK);
    c = credentials_of(&f, NULL);
    keys = credentials_signing_keys(c, &nkeys);
    assert_int_equal(nkeys, 2);
    assert_int_equal(
        token_verify(&claims, buf_str(&tok), tok.b_len, keys, nkeys, f.sf_id, now, &why), ERR_OK);
    token_claims_clear(&claims);
    buf_free(&tok);
    credentials_free(c);
    fixture_free(&f);
}

static void test_token_build_refuses(void **state)
{
    struct server_fixture f;
    struct token_vault twice[2] = {{VAULT1, TOKEN_ACCESS_READ}, {VAULT1, TOKEN_ACCESS_WRITE}};
    struct token_vault bad_access = {VAULT1, 4};
    struct buf tok;
    char jti[ID_LEN + 1];
    int64_t now = (int64_t)time(NULL);

    (void)state;
    fixture_make(&f, 1, now);
    buf_init(&tok, CONNECT_TOKEN_MAX);
    assert_int_equal(
        connect_token_build(&tok, jti, f.sf_kit, f.sf_id, f.sf_unlock, twice, 2, now, 0),
        ERR_BAD_INPUT);
    assert_int_equal(
        connect_token_build(&tok, jti, f.sf_kit, f.sf_id, f.sf_unlock, &bad_access, 1, now, 0),
        ERR_BAD_INPUT);
    assert_int_equal(
        connect_token_build(&tok, jti, f.sf_kit, "short", f.sf_unlock, twice, 1, now, 0),
        ERR_BAD_INPUT);
    assert_int_equal(
        connect_token_build(&tok, jti, f.sf_kit, f.sf_id, f.sf_unlock, twice, 1, now, -1),
        ERR_BAD_INPUT);
    assert_int_equal(
        connect_token_build(&tok, jti, f.sf_kit, f.sf_id, f.sf_unlock, twice, 1, INT64_MAX - 5, 10),
        ERR_BAD_INPUT);
    assert_int_equal(connect_token_build(&tok, jti, NULL, f.sf_id, f.sf_unlock, twice, 1, now, 0),
                     ERR_BAD_INPUT);
    assert_string_equal(jti, "");
    assert_int_equal(tok.b_len, 0);
    buf_free(&tok);
    fixture_free(&f);
}

/* ---- output helpers ------------------------------------------------------------------ */

static void test_time_text(void **state)
{
    char out[32];

    (void)state;
    assert_string_equal(connect_time_text(out, 0), "-");
    assert_string_equal(connect_time_text(out, 1700000000), "2023-11-14T22:13:20Z");
    assert_string_equal(connect_time_text(out, 1), "1970-01-01T00:00:01Z");
    assert_string_equal(connect_time_text(out, INT64_MAX), "-");
}

static void test_activity_resource(void **state)
{
    struct {
        const char *entry;
        const char *text;
    } cases[] = {
        {"{\"resource\":{\"type\":\"ITEM\",\"vault\":{\"id\":\"" VAULT1 "\"},"
         "\"item\":{\"id\":\"" VAULT2 "\"},\"itemVersion\":3}}",
         "ITEM " VAULT1 "/" VAULT2 "@v3"},
        {"{\"resource\":{\"type\":\"ITEM\",\"vault\":{\"id\":\"" VAULT1 "\"},"
         "\"item\":{\"id\":\"" VAULT2 "\"}}}",
         "ITEM " VAULT1 "/" VAULT2},
        {"{\"resource\":{\"type\":\"VAULT\",\"vault\":{\"id\":\"" VAULT1 "\"}}}", "VAULT " VAULT1},
        {"{\"resource\":{\"type\":\"VAULT\"}}", "VAULT -"},
        {"{\"resource\":{}}", "-"},
        {"{}", "-"},
    };
    char out[128], tiny[6], want[6];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *e = json_loads(cases[i].entry, 0, NULL);
        assert_non_null(e);
        assert_string_equal(connect_activity_resource(out, sizeof(out), e), cases[i].text);
        /* Truncated to what fits. */
        snprintf(want, sizeof(want), "%s", cases[i].text);
        assert_string_equal(connect_activity_resource(tiny, sizeof(tiny), e), want);
        json_decref(e);
    }
}

static void test_uint_parse(void **state)
{
    struct {
        const char *s;
        enum err rc;
        long long v;
    } cases[] = {
        {"0", ERR_OK, 0},
        {"50", ERR_OK, 50},
        {"10000", ERR_OK, 10000},
        {"10001", ERR_BAD_INPUT, 0},
        {"-1", ERR_BAD_INPUT, 0},
        {"+1", ERR_BAD_INPUT, 0},
        {" 1", ERR_BAD_INPUT, 0},
        {"1 ", ERR_BAD_INPUT, 0},
        {"1x", ERR_BAD_INPUT, 0},
        {"", ERR_BAD_INPUT, 0},
        {"99999999999999999999", ERR_BAD_INPUT, 0},
    };
    char msg[128];
    long long v;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = -7;
        assert_int_equal(connect_uint_parse(cases[i].s, 10000, &v, "--limit", msg, sizeof(msg)),
                         cases[i].rc);
        assert_int_equal(v, cases[i].v);
    }
    assert_int_equal(connect_uint_parse(NULL, 10, &v, "--offset", msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_string_equal(msg, "--offset needs a non-negative number");
    assert_int_equal(connect_uint_parse("11", 10, &v, "--offset", msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_string_equal(msg, "--offset must be a number from 0 to 10");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_check),
        cmocka_unit_test(test_access_name),
        cmocka_unit_test(test_server_find),
        cmocka_unit_test(test_token_unlocks_credentials),
        cmocka_unit_test(test_token_without_expiry_and_other_server),
        cmocka_unit_test(test_token_old_key_after_rotation),
        cmocka_unit_test(test_token_build_refuses),
        cmocka_unit_test(test_time_text),
        cmocka_unit_test(test_activity_resource),
        cmocka_unit_test(test_uint_parse),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL);
}
