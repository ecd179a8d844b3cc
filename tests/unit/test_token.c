/* test_token.c - Connect tokens: minting, verification with every refusal, hash, CLI syntax. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "crypto/crypto.h"
#include "crypto/jws.h"
#include "keys/token.h"

#define NOW        1700000000LL
#define SERVER     "RL5XAHCBUYDFYY2ZA2RGIE6TDY"
#define SERVER_LC  "rl5xahcbuydfyy2za2rgie6tdy"
#define OTHER      "ZZ5XAHCBUYDFYY2ZA2RGIE6TDY"
#define ACCOUNT    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define JTI        "otl6r6nugj5wr63rnkw3v4pbna"
#define VAULT1     "vaultaaaaaaaaaaaaaaaaaaaaa"
#define VAULT2     "vaultbbbbbbbbbbbbbbbbbbbbb"
#define SECRET_B64 "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA" /* bytes 1..32 */
#define TOKEN_CAP  16384

static struct ec_key *key1, *key2, *rogue;
static struct jws_key trusted[2];
static unsigned char secret[32];

static int group_setup(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(secret); i++)
        secret[i] = (unsigned char)(i + 1);
    if (crypto_init() != ERR_OK || ecdsa_p256_generate(&key1) != ERR_OK ||
        ecdsa_p256_generate(&key2) != ERR_OK || ecdsa_p256_generate(&rogue) != ERR_OK)
        return -1;
    trusted[0].jk_kid = "k1";
    trusted[0].jk_key = key1;
    trusted[1].jk_kid = "k2";
    trusted[1].jk_key = key2;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ecdsa_p256_free(key1);
    ecdsa_p256_free(key2);
    ecdsa_p256_free(rogue);
    return 0;
}

/* Fills c with the standard claims: two vaults, exp one hour after iat. */
static void std_claims(struct token_claims *c)
{
    memset(c, 0, sizeof(*c));
    memcpy(c->tc_server, SERVER, ID_LEN + 1);
    memcpy(c->tc_jti, JTI, ID_LEN + 1);
    memcpy(c->tc_account, ACCOUNT, ID_LEN + 1);
    c->tc_iat = NOW;
    c->tc_exp = NOW + 3600;
    assert_int_equal(token_claims_set_secret(c, secret, sizeof(secret)), ERR_OK);
    memcpy(c->tc_vaults[0].tv_id, VAULT1, ID_LEN + 1);
    c->tc_vaults[0].tv_access = TOKEN_ACCESS_ALL;
    memcpy(c->tc_vaults[1].tv_id, VAULT2, ID_LEN + 1);
    c->tc_vaults[1].tv_access = TOKEN_ACCESS_READ;
    c->tc_nvaults = 2;
}

/* Decodes part `which` (0 header, 1 payload) of a compact token into out (NUL-terminated). */
static void token_part(char *out, size_t cap, const char *tok, int which)
{
    const char *p = tok, *dot;
    size_t got = 0;

    while (which-- > 0)
        p = strchr(p, '.') + 1;
    dot = strchr(p, '.');
    assert_non_null(dot);
    assert_int_equal(
        codec_b64_decode((unsigned char *)out, cap - 1, &got, p, (size_t)(dot - p), CODEC_B64_URL),
        ERR_OK);
    out[got] = '\0';
}

static void test_mint_exact_and_verify(void **state)
{
    struct token_claims c, v;
    struct buf tok;
    char part[4096];
    enum token_reason why = TOKEN_INTERNAL;

    (void)state;
    buf_init(&tok, TOKEN_CAP);
    std_claims(&c);
    assert_int_equal(token_mint(&tok, key1, "k1", &c), ERR_OK);

    token_part(part, sizeof(part), buf_str(&tok), 0);
    assert_string_equal(part, "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JWT\"}");
    token_part(part, sizeof(part), buf_str(&tok), 1);
    assert_string_equal(part, "{\"iss\":\"sesame\",\"aud\":[\"com.1password.connect\"],"
                              "\"sub\":\"" SERVER "\",\"jti\":\"" JTI "\",\"iat\":1700000000,"
                              "\"exp\":1700003600,\"1password.com/auuid\":\"" ACCOUNT "\","
                              "\"1password.com/token\":\"" SECRET_B64 "\","
                              "\"1password.com/fts\":[\"vaultaccess\"],"
                              "\"1password.com/vts\":[{\"u\":\"" VAULT1 "\",\"a\":3},"
                              "{\"u\":\"" VAULT2 "\",\"a\":1}]}");

    /* The expected server id may be given in either case. */
    assert_int_equal(token_verify(&v, buf_str(&tok), tok.b_len, trusted, 2, SERVER_LC, NOW, &why),
                     ERR_OK);
    assert_int_equal(why, TOKEN_OK);
    assert_string_equal(v.tc_server, SERVER);
    assert_string_equal(v.tc_jti, JTI);
    assert_string_equal(v.tc_account, ACCOUNT);
    assert_int_equal(v.tc_iat, NOW);
    assert_int_equal(v.tc_exp, NOW + 3600);
    assert_non_null(v.tc_unlock);
    assert_memory_equal(v.tc_unlock, secret, sizeof(secret));
    assert_int_equal(v.tc_nvaults, 2);
    assert_string_equal(v.tc_vaults[0].tv_id, VAULT1);
    assert_int_equal(v.tc_vaults[0].tv_access, 3);
    assert_string_equal(v.tc_vaults[1].tv_id, VAULT2);
    assert_int_equal(v.tc_vaults[1].tv_access, 1);

    token_claims_clear(&v);
    assert_null(v.tc_unlock);
    assert_int_equal(v.tc_nvaults, 0);
    assert_string_equal(v.tc_jti, "");

    /* Last valid second of an expiring token (leeway 60 s), and the first refused one. */
    assert_int_equal(
        token_verify(&v, buf_str(&tok), tok.b_len, trusted, 2, SERVER, NOW + 3600 + 59, &why),
        ERR_OK);
    token_claims_clear(&v);
    assert_int_equal(
        token_verify(&v, buf_str(&tok), tok.b_len, trusted, 2, SERVER, NOW + 3600 + 60, &why),
        ERR_UNAUTHORIZED);
    assert_int_equal(why, (enum token_reason)JWS_EXPIRED);
    assert_null(v.tc_unlock);

    token_claims_clear(&c);
    buf_free(&tok);
}

static void test_mint_without_exp(void **state)
{
    struct token_claims c, v;
    struct buf tok;
    char part[4096];

    (void)state;
    buf_init(&tok, TOKEN_CAP);
    std_claims(&c);
    c.tc_exp = 0;
    c.tc_nvaults = 0;
    assert_int_equal(token_mint(&tok, key2, "k2", &c), ERR_OK);
    token_part(part, sizeof(part), buf_str(&tok), 1);
    assert_string_equal(part, "{\"iss\":\"sesame\",\"aud\":[\"com.1password.connect\"],"
                              "\"sub\":\"" SERVER "\",\"jti\":\"" JTI "\",\"iat\":1700000000,"
                              "\"1password.com/auuid\":\"" ACCOUNT "\","
                              "\"1password.com/token\":\"" SECRET_B64 "\","
                              "\"1password.com/fts\":[\"vaultaccess\"],\"1password.com/vts\":[]}");
    /* Ten years later it still verifies: no exp. */
    assert_int_equal(
        token_verify(&v, buf_str(&tok), tok.b_len, trusted, 2, SERVER, NOW + 315360000LL, NULL),
        ERR_OK);
    assert_int_equal(v.tc_exp, 0);
    assert_int_equal(v.tc_nvaults, 0);
    token_claims_clear(&v);
    token_claims_clear(&c);
    buf_free(&tok);
}

static void test_mint_refuses(void **state)
{
    struct token_claims c;
    struct buf tok;
    struct ec_key *pub = ecdsa_p256_public_dup(key1);
    int i;

    (void)state;
    assert_non_null(pub);
    buf_init(&tok, TOKEN_CAP);
    for (i = 0; i < 14; i++) {
        std_claims(&c);
        switch (i) {
        case 0:
            memcpy(c.tc_server, SERVER_LC, ID_LEN + 1); /* sub must be uppercase */
            break;
        case 1:
            memcpy(c.tc_jti, "OTL6R6NUGJ5WR63RNKW3V4PBNA", ID_LEN + 1); /* jti lowercase */
            break;
        case 2:
            c.tc_account[5] = 'a';
            break;
        case 3:
            c.tc_exp = c.tc_iat; /* exp must be after iat */
            break;
        case 4:
            c.tc_iat = -1;
            break;
        case 5:
            secmem_free(c.tc_unlock);
            c.tc_unlock = NULL;
            break;
        case 6:
            memcpy(c.tc_vaults[1].tv_id, VAULT1, ID_LEN + 1); /* repeated vault */
            break;
        case 7:
            c.tc_vaults[0].tv_access = 0;
            break;
        case 8:
            c.tc_vaults[0].tv_access = 4;
            break;
        case 9:
            c.tc_vaults[1].tv_id[0] = 'V';
            break;
        case 10:
            c.tc_nvaults = TOKEN_MAX_VAULTS + 1;
            break;
        case 11:
            assert_int_equal(token_mint(&tok, pub, "k1", &c), ERR_BAD_INPUT); /* no private */
            break;
        case 12:
            assert_int_equal(token_mint(&tok, key1, NULL, &c), ERR_BAD_INPUT);
            assert_int_equal(token_mint(&tok, key1, "", &c), ERR_BAD_INPUT);
            break;
        default:
            assert_int_equal(token_mint(&tok, key1, "bad kid", &c), ERR_BAD_INPUT);
            break;
        }
        if (i <= 10)
            assert_int_equal(token_mint(&tok, key1, "k1", &c), ERR_BAD_INPUT);
        assert_int_equal(tok.b_len, 0);
        token_claims_clear(&c);
    }
    assert_int_equal(token_claims_set_secret(&c, secret, 31), ERR_BAD_INPUT);
    assert_null(c.tc_unlock);

    /* The largest vts fits the JWS limits. */
    std_claims(&c);
    for (i = 0; i < TOKEN_MAX_VAULTS; i++) {
        (void)snprintf(c.tc_vaults[i].tv_id, sizeof(c.tc_vaults[i].tv_id), "vault%021d", i);
        c.tc_vaults[i].tv_access = TOKEN_ACCESS_ALL;
    }
    c.tc_nvaults = TOKEN_MAX_VAULTS;
    assert_int_equal(token_mint(&tok, key1, "k1", &c), ERR_OK);
    {
        struct token_claims v;
        assert_int_equal(token_verify(&v, buf_str(&tok), tok.b_len, trusted, 2, SERVER, NOW, NULL),
                         ERR_OK);
        assert_int_equal(v.tc_nvaults, TOKEN_MAX_VAULTS);
        assert_string_equal(v.tc_vaults[99].tv_id, "vault000000000000000000099");
        token_claims_clear(&v);
    }
    token_claims_clear(&c);
    buf_free(&tok);
    ecdsa_p256_free(pub);
}

/* ---- hand-made claims: every refusal ---------------------------------------------------- */

#define BASE_CLAIMS                                                                                \
    "{\"iss\":\"sesame\",\"aud\":[\"com.1password.connect\"],\"sub\":\"" SERVER "\","              \
    "\"jti\":\"" JTI "\",\"iat\":1700000000,\"exp\":1700003600,"                                   \
    "\"1password.com/auuid\":\"" ACCOUNT "\",\"1password.com/token\":\"" SECRET_B64 "\","          \
    "\"1password.com/fts\":[\"vaultaccess\"],"                                                     \
    "\"1password.com/vts\":[{\"u\":\"" VAULT1 "\",\"a\":3}]}"

struct edit {
    const char *name;  /* claim to replace or remove */
    const char *value; /* JSON text, or NULL to remove */
};

struct claim_case {
    const char *what;
    struct edit edits[2];
    int reason; /* enum token_reason, or a jws_reason cast */
};

#define T(r) ((int)(r))

static const struct claim_case claim_cases[] = {
    {"control", {{NULL, NULL}}, T(TOKEN_OK)},
    {"other server", {{"sub", "\"" OTHER "\""}}, T(TOKEN_WRONG_SERVER)},
    {"sub lowercase", {{"sub", "\"" SERVER_LC "\""}}, T(TOKEN_BAD_SUBJECT)},
    {"sub missing", {{"sub", NULL}}, T(TOKEN_BAD_SUBJECT)},
    {"sub short", {{"sub", "\"RL5XAHCBUYDFYY2ZA2RGIE6TD\""}}, T(TOKEN_BAD_SUBJECT)},
    {"sub number", {{"sub", "7"}}, T(JWS_BAD_PAYLOAD)},
    {"jti missing", {{"jti", NULL}}, T(TOKEN_BAD_JTI)},
    {"jti uppercase", {{"jti", "\"OTL6R6NUGJ5WR63RNKW3V4PBNA\""}}, T(TOKEN_BAD_JTI)},
    {"iat missing", {{"iat", NULL}}, T(TOKEN_BAD_TIMES)},
    {"iat real", {{"iat", "1700000000.5"}}, T(TOKEN_BAD_TIMES)},
    {"iat negative", {{"iat", "-5"}}, T(TOKEN_BAD_TIMES)},
    {"exp real", {{"exp", "1700003600.5"}}, T(TOKEN_BAD_TIMES)},
    {"nbf real", {{"nbf", "1699999999.5"}}, T(TOKEN_BAD_TIMES)},
    {"nbf integer", {{"nbf", "1699999999"}}, T(TOKEN_OK)},
    {"exp absent", {{"exp", NULL}}, T(TOKEN_OK)},
    {"expired", {{"exp", "1699999940"}}, T(JWS_EXPIRED)},
    {"expired by leeway edge", {{"exp", "1699999941"}}, T(TOKEN_OK)},
    {"issued in future", {{"iat", "1700000061"}}, T(JWS_ISSUED_IN_FUTURE)},
    {"not yet valid", {{"nbf", "1700000061"}}, T(JWS_NOT_YET_VALID)},
    {"Connect's issuer", {{"iss", "\"com.1password.b5\""}}, T(JWS_BAD_ISSUER)},
    {"issuer missing", {{"iss", NULL}}, T(JWS_BAD_ISSUER)},
    {"old audience", {{"aud", "[\"com.1password.secretservice\"]"}}, T(JWS_BAD_AUDIENCE)},
    {"audience string", {{"aud", "\"com.1password.connect\""}}, T(TOKEN_OK)},
    {"account missing", {{"1password.com/auuid", NULL}}, T(TOKEN_BAD_ACCOUNT)},
    {"account lowercase",
     {{"1password.com/auuid", "\"abcdefghijklmnopqrstuvwxyz\""}},
     T(TOKEN_BAD_ACCOUNT)},
    {"secret missing", {{"1password.com/token", NULL}}, T(TOKEN_NO_SECRET)},
    {"secret number", {{"1password.com/token", "12"}}, T(TOKEN_NO_SECRET)},
    {"secret 16 bytes",
     {{"1password.com/token", "\"AQIDBAUGBwgJCgsMDQ4PEA\""}},
     T(TOKEN_BAD_SECRET)},
    {"secret 31 bytes",
     {{"1password.com/token", "\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw\""}},
     T(TOKEN_BAD_SECRET)},
    {"secret 33 bytes",
     {{"1password.com/token", "\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh\""}},
     T(TOKEN_BAD_SECRET)},
    {"secret padded", {{"1password.com/token", "\"" SECRET_B64 "=\""}}, T(TOKEN_BAD_SECRET)},
    {"secret std alphabet",
     {{"1password.com/token", "\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e+yA\""}},
     T(TOKEN_BAD_SECRET)},
    {"secret trailing bits",
     {{"1password.com/token", "\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyB\""}},
     T(TOKEN_BAD_SECRET)},
    {"secret empty", {{"1password.com/token", "\"\""}}, T(TOKEN_BAD_SECRET)},
    {"fts missing", {{"1password.com/fts", NULL}}, T(TOKEN_NO_VAULTACCESS)},
    {"fts other", {{"1password.com/fts", "[\"other\"]"}}, T(TOKEN_NO_VAULTACCESS)},
    {"fts empty", {{"1password.com/fts", "[]"}}, T(TOKEN_NO_VAULTACCESS)},
    {"fts string", {{"1password.com/fts", "\"vaultaccess\""}}, T(TOKEN_BAD_FEATURES)},
    {"fts number inside", {{"1password.com/fts", "[\"vaultaccess\",1]"}}, T(TOKEN_BAD_FEATURES)},
    {"fts extra feature", {{"1password.com/fts", "[\"other\",\"vaultaccess\"]"}}, T(TOKEN_OK)},
    {"no vts no fts", {{"1password.com/vts", NULL}, {"1password.com/fts", NULL}}, T(TOKEN_OK)},
    {"vts object", {{"1password.com/vts", "{}"}}, T(TOKEN_BAD_VAULTS)},
    {"vts entry string", {{"1password.com/vts", "[\"" VAULT1 "\"]"}}, T(TOKEN_BAD_VAULTS)},
    {"vts bad id", {{"1password.com/vts", "[{\"u\":\"vault\",\"a\":1}]"}}, T(TOKEN_BAD_VAULTS)},
    {"vts uppercase id",
     {{"1password.com/vts", "[{\"u\":\"VAULTAAAAAAAAAAAAAAAAAAAAA\",\"a\":1}]"}},
     T(TOKEN_BAD_VAULTS)},
    {"vts a missing", {{"1password.com/vts", "[{\"u\":\"" VAULT1 "\"}]"}}, T(TOKEN_BAD_VAULTS)},
    {"vts a string",
     {{"1password.com/vts", "[{\"u\":\"" VAULT1 "\",\"a\":\"3\"}]"}},
     T(TOKEN_BAD_VAULTS)},
    {"vts a real",
     {{"1password.com/vts", "[{\"u\":\"" VAULT1 "\",\"a\":1.0}]"}},
     T(TOKEN_BAD_VAULTS)},
    {"vts extra member",
     {{"1password.com/vts", "[{\"u\":\"" VAULT1 "\",\"a\":1,\"x\":0}]"}},
     T(TOKEN_BAD_VAULTS)},
    {"vts repeated vault",
     {{"1password.com/vts", "[{\"u\":\"" VAULT1 "\",\"a\":1},{\"u\":\"" VAULT1 "\",\"a\":2}]"}},
     T(TOKEN_BAD_VAULTS)},
    {"unknown bit 4",
     {{"1password.com/vts", "[{\"u\":\"" VAULT1 "\",\"a\":4}]"}},
     T(TOKEN_UNKNOWN_ACCESS)},
    {"unknown bits 7",
     {{"1password.com/vts", "[{\"u\":\"" VAULT1 "\",\"a\":7}]"}},
     T(TOKEN_UNKNOWN_ACCESS)},
    {"Connect's bits",
     {{"1password.com/vts", "[{\"u\":\"" VAULT1 "\",\"a\":15730672}]"}},
     T(TOKEN_UNKNOWN_ACCESS)},
    {"no bits",
     {{"1password.com/vts", "[{\"u\":\"" VAULT1 "\",\"a\":0}]"}},
     T(TOKEN_UNKNOWN_ACCESS)},
    {"negative bits",
     {{"1password.com/vts", "[{\"u\":\"" VAULT1 "\",\"a\":-1}]"}},
     T(TOKEN_UNKNOWN_ACCESS)},
    {"write only", {{"1password.com/vts", "[{\"u\":\"" VAULT1 "\",\"a\":2}]"}}, T(TOKEN_OK)},
    {"unknown claim ignored", {{"x-extra", "{\"a\":[1,2]}"}}, T(TOKEN_OK)},
};

/* Applies the case's edits to the base claims and signs them with key under kid. */
static void sign_case(struct buf *tok, const struct claim_case *cc, const struct ec_key *key,
                      const char *kid)
{
    json_t *claims = json_loads(BASE_CLAIMS, JSON_REJECT_DUPLICATES, NULL);
    size_t i;

    assert_non_null(claims);
    for (i = 0; i < 2 && cc->edits[i].name; i++) {
        if (cc->edits[i].value) {
            json_t *v = json_loads(cc->edits[i].value, JSON_DECODE_ANY, NULL);
            assert_non_null(v);
            assert_int_equal(json_object_set_new(claims, cc->edits[i].name, v), 0);
        } else {
            assert_int_equal(json_object_del(claims, cc->edits[i].name), 0);
        }
    }
    buf_init(tok, TOKEN_CAP);
    assert_int_equal(jws_sign_es256(tok, key, kid, claims), ERR_OK);
    json_decref(claims);
}

static void test_claim_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(claim_cases) / sizeof(claim_cases[0]); i++) {
        const struct claim_case *cc = &claim_cases[i];
        struct token_claims v;
        struct buf tok;
        enum token_reason why = TOKEN_INTERNAL;
        enum err rc;

        sign_case(&tok, cc, key1, "k1");
        rc = token_verify(&v, buf_str(&tok), tok.b_len, trusted, 2, SERVER, NOW, &why);
        if ((int)why != cc->reason)
            fail_msg("case \"%s\": reason %s, expected %s", cc->what, token_reason_name(why),
                     token_reason_name((enum token_reason)cc->reason));
        if (cc->reason == T(TOKEN_OK)) {
            assert_int_equal(rc, ERR_OK);
            assert_non_null(v.tc_unlock);
        } else {
            assert_int_equal(rc, ERR_UNAUTHORIZED);
            /* Nothing is left behind, and the log reason is a fixed name. */
            assert_null(v.tc_unlock);
            assert_int_equal(v.tc_nvaults, 0);
            assert_string_equal(v.tc_server, "");
            assert_null(strstr(token_reason_name(why), buf_str(&tok)));
            assert_true(strlen(token_reason_name(why)) < 20);
        }
        token_claims_clear(&v);
        buf_free(&tok);
    }
}

static void test_keys_and_shapes(void **state)
{
    struct token_claims v;
    struct buf tok;
    enum token_reason why;
    char big[TOKEN_CAP];

    (void)state;
    /* Signed by a key nobody trusts but labelled k1. */
    sign_case(&tok, &claim_cases[0], rogue, "k1");
    assert_int_equal(token_verify(&v, buf_str(&tok), tok.b_len, trusted, 2, SERVER, NOW, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, (enum token_reason)JWS_BAD_SIGNATURE);
    buf_free(&tok);

    /* A kid nobody trusts; and a token for one server checked by another. */
    sign_case(&tok, &claim_cases[0], key1, "k3");
    assert_int_equal(token_verify(&v, buf_str(&tok), tok.b_len, trusted, 2, SERVER, NOW, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, (enum token_reason)JWS_UNKNOWN_KID);
    buf_free(&tok);
    sign_case(&tok, &claim_cases[0], key2, "k2");
    assert_int_equal(token_verify(&v, buf_str(&tok), tok.b_len, trusted, 2, OTHER, NOW, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, TOKEN_WRONG_SERVER);
    /* Only the first key trusted: k2 is unknown. */
    assert_int_equal(token_verify(&v, buf_str(&tok), tok.b_len, trusted, 1, SERVER, NOW, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, (enum token_reason)JWS_UNKNOWN_KID);
    /* Truncated by one character: the signature no longer verifies. */
    assert_int_equal(token_verify(&v, buf_str(&tok), tok.b_len - 1, trusted, 2, SERVER, NOW, &why),
                     ERR_UNAUTHORIZED);
    assert_true(why == (enum token_reason)JWS_BAD_SIGNATURE ||
                why == (enum token_reason)JWS_BAD_SIGNATURE_SIZE ||
                why == (enum token_reason)JWS_BAD_BASE64);
    buf_free(&tok);

    assert_int_equal(token_verify(&v, "", 0, trusted, 2, SERVER, NOW, &why), ERR_UNAUTHORIZED);
    assert_int_equal(why, (enum token_reason)JWS_EMPTY);
    assert_int_equal(token_verify(&v, "a.b", 3, trusted, 2, SERVER, NOW, &why), ERR_UNAUTHORIZED);
    assert_int_equal(why, (enum token_reason)JWS_MALFORMED);
    memset(big, 'a', sizeof(big));
    assert_int_equal(token_verify(&v, big, JWS_MAX_TOKEN_BYTES + 1, trusted, 2, SERVER, NOW, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, (enum token_reason)JWS_TOO_LONG);

    /* Bad arguments. */
    assert_int_equal(token_verify(&v, "a.b.c", 5, trusted, 2, "short", NOW, &why),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, TOKEN_INTERNAL);
    assert_int_equal(token_verify(&v, "a.b.c", 5, trusted, 2, NULL, NOW, &why), ERR_UNAUTHORIZED);
    assert_int_equal(
        token_verify(&v, "a.b.c", 5, trusted, 2, "RL5XAHCBUYDFYY2ZA2RGIE6TD!", NOW, &why),
        ERR_UNAUTHORIZED);
    assert_int_equal(why, TOKEN_INTERNAL);
    assert_int_equal(token_verify(NULL, "a.b.c", 5, trusted, 2, SERVER, NOW, &why),
                     ERR_UNAUTHORIZED);
}

static void test_reason_names(void **state)
{
    int r, s;

    (void)state;
    assert_string_equal(token_reason_name(TOKEN_OK), "ok");
    assert_string_equal(token_reason_name((enum token_reason)JWS_EXPIRED), "expired");
    assert_string_equal(token_reason_name(TOKEN_WRONG_SERVER), "wrong_server");
    assert_string_equal(token_reason_name(TOKEN_BAD_SECRET), "bad_secret");
    assert_string_equal(token_reason_name(TOKEN_UNKNOWN_ACCESS), "unknown_access");
    assert_string_equal(token_reason_name(TOKEN__COUNT), "unknown");
    assert_string_equal(token_reason_name((enum token_reason) - 1), "unknown");
    for (r = 0; r < TOKEN__COUNT; r++) {
        assert_string_not_equal(token_reason_name((enum token_reason)r), "unknown");
        for (s = 0; s < r; s++)
            assert_string_not_equal(token_reason_name((enum token_reason)r),
                                    token_reason_name((enum token_reason)s));
    }
}

static void test_hash(void **state)
{
    char hex[TOKEN_HASH_HEX_LEN + 1];

    (void)state;
    /* FIPS 180-2 appendix B.1 ("abc") and the empty string. */
    assert_int_equal(token_hash(hex, "abc", 3), ERR_OK);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(token_hash(hex, "", 0), ERR_OK);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(token_hash(hex, NULL, 1), ERR_BAD_INPUT);
}

struct spec_case {
    const char *in;
    enum err rc;
    size_t vault_len;
    unsigned access;
};

static void test_vault_spec(void **state)
{
    static const struct spec_case cases[] = {
        {VAULT1, ERR_OK, 26, TOKEN_ACCESS_READ},
        {VAULT1 ":r", ERR_OK, 26, TOKEN_ACCESS_READ},
        {VAULT1 ":w", ERR_OK, 26, TOKEN_ACCESS_WRITE},
        {VAULT1 ":rw", ERR_OK, 26, TOKEN_ACCESS_ALL},
        {VAULT1 ":wr", ERR_OK, 26, TOKEN_ACCESS_ALL},
        {"Demo", ERR_OK, 4, TOKEN_ACCESS_READ},
        {"My:Vault", ERR_OK, 8, TOKEN_ACCESS_READ},
        {"a:b:rw", ERR_OK, 3, TOKEN_ACCESS_ALL},
        {"Prod:rwx", ERR_OK, 8, TOKEN_ACCESS_READ},
        {"Prod:RW", ERR_OK, 7, TOKEN_ACCESS_READ},
        {"", ERR_BAD_INPUT, 0, 0},
        {":rw", ERR_BAD_INPUT, 0, 0},
        {":r", ERR_BAD_INPUT, 0, 0},
        {"Prod:", ERR_BAD_INPUT, 0, 0},
    };
    char err[256];
    size_t i, len;
    unsigned access;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        assert_int_equal(token_vault_spec_parse(cases[i].in, &len, &access, err, sizeof(err)),
                         cases[i].rc);
        assert_int_equal(len, cases[i].vault_len);
        assert_int_equal(access, cases[i].access);
        if (cases[i].rc != ERR_OK) {
            assert_true(strncmp(err, "--vault: ", 9) == 0);
            if (cases[i].in[0])
                assert_null(strstr(err, cases[i].in)); /* the input is never echoed */
        }
    }
    assert_int_equal(token_vault_spec_parse("x:", &len, &access, err, sizeof(err)), ERR_BAD_INPUT);
    assert_string_equal(err,
                        "--vault: nothing after ':' (use VAULT, VAULT:r, VAULT:w or VAULT:rw)");
    assert_int_equal(token_vault_spec_parse(NULL, &len, &access, err, sizeof(err)), ERR_BAD_INPUT);
    assert_string_equal(err, "--vault: no vault given");
    {
        char *longv = malloc(TOKEN_MAX_VAULT_SPEC + 2);
        assert_non_null(longv);
        memset(longv, 'v', TOKEN_MAX_VAULT_SPEC + 1);
        longv[TOKEN_MAX_VAULT_SPEC + 1] = '\0';
        assert_int_equal(token_vault_spec_parse(longv, &len, &access, err, sizeof(err)),
                         ERR_BAD_INPUT);
        longv[TOKEN_MAX_VAULT_SPEC] = '\0';
        assert_int_equal(token_vault_spec_parse(longv, &len, &access, err, sizeof(err)), ERR_OK);
        assert_int_equal(len, TOKEN_MAX_VAULT_SPEC);
        free(longv);
    }
}

struct dur_case {
    const char *in;
    int64_t seconds; /* -1: refused */
};

static void test_duration(void **state)
{
    static const struct dur_case cases[] = {
        {"90d", 7776000},
        {"12h", 43200},
        {"30m", 1800},
        {"3600s", 3600},
        {"1s", 1},
        {"090d", 7776000},
        {"3660d", 316224000},
        {"316224000s", 316224000},
        {"87840h", 316224000},
        {"3661d", -1},
        {"316224001s", -1},
        {"99999999999999999999s", -1},
        {"0s", -1},
        {"0d", -1},
        {"90", -1},
        {"d", -1},
        {"", -1},
        {"-1d", -1},
        {"+1d", -1},
        {"1.5h", -1},
        {"1h30m", -1},
        {" 1d", -1},
        {"1d ", -1},
        {"1w", -1},
        {"1D", -1},
        {"1 d", -1},
    };
    char err[256];
    int64_t s;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum err rc = token_duration_parse(cases[i].in, &s, err, sizeof(err));
        if (cases[i].seconds < 0) {
            if (rc != ERR_BAD_INPUT)
                fail_msg("\"%s\" accepted", cases[i].in);
            assert_int_equal(s, 0);
            assert_true(strncmp(err, "--expires-in: ", 14) == 0);
        } else {
            if (rc != ERR_OK)
                fail_msg("\"%s\" refused: %s", cases[i].in, err);
            assert_int_equal(s, cases[i].seconds);
        }
    }
    assert_int_equal(token_duration_parse("90", &s, err, sizeof(err)), ERR_BAD_INPUT);
    assert_string_equal(err, "--expires-in: a unit is required (s, m, h or d), such as 3600s");
    assert_int_equal(token_duration_parse("3661d", &s, err, sizeof(err)), ERR_BAD_INPUT);
    assert_string_equal(err, "--expires-in: longer than 3660 days");
    assert_int_equal(token_duration_parse("0h", &s, err, sizeof(err)), ERR_BAD_INPUT);
    assert_string_equal(err, "--expires-in: must be at least 1s");
}

/* Every allocation of ours failing in turn: refused cleanly, nothing leaked. */
static void test_allocation_failures(void **state)
{
    struct token_claims c, v;
    struct buf tok, t2;
    long total, n;
    enum err rc;

    (void)state;
    std_claims(&c);
    buf_init(&tok, TOKEN_CAP);
    mem_fail_after(-1);
    assert_int_equal(token_mint(&tok, key1, "k1", &c), ERR_OK);
    total = mem_fail_after(-1);
    assert_true(total > 0);
    for (n = 0; n < total; n++) {
        buf_init(&t2, TOKEN_CAP);
        mem_fail_after(n);
        rc = token_mint(&t2, key1, "k1", &c);
        mem_fail_after(-1);
        assert_int_equal(rc, ERR_NOMEM);
        buf_free(&t2);
    }
    mem_fail_after(-1);
    assert_int_equal(token_verify(&v, buf_str(&tok), tok.b_len, trusted, 2, SERVER, NOW, NULL),
                     ERR_OK);
    token_claims_clear(&v);
    total = mem_fail_after(-1);
    for (n = 0; n < total; n++) {
        mem_fail_after(n);
        rc = token_verify(&v, buf_str(&tok), tok.b_len, trusted, 2, SERVER, NOW, NULL);
        mem_fail_after(-1);
        assert_int_equal(rc, ERR_UNAUTHORIZED);
        assert_null(v.tc_unlock);
    }
    token_claims_clear(&c);
    buf_free(&tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mint_exact_and_verify),
        cmocka_unit_test(test_mint_without_exp),
        cmocka_unit_test(test_mint_refuses),
        cmocka_unit_test(test_claim_table),
        cmocka_unit_test(test_keys_and_shapes),
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_vault_spec),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_allocation_failures),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
