/* test_crypto_jws.c - ES256 JWS compact tokens: RFC 7515 A.3, round trips, hostile tokens. */
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
#include "common/limits.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"

/* RFC 7515 appendix A.3: key and complete token. */
static const char a3_x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
static const char a3_y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
static const char a3_token[] =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlf"
    "Q"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

#define NOW       1300819000
#define AUDIENCE  "com.1password.connect"
#define ISSUER    "sesame"
#define TOKEN_CAP 16384

static struct ec_key *key1;  /* trusted as "k1" */
static struct ec_key *key2;  /* trusted as "k2" */
static struct ec_key *rogue; /* not trusted */
static struct jws_key trusted[2];
static const struct jws_verify_opts opts = {NOW, AUDIENCE, ISSUER};

static void b64u(unsigned char *out, size_t n, const char *s)
{
    size_t got = 0;

    assert_int_equal(codec_b64_decode(out, n, &got, s, strlen(s), CODEC_B64_URL), ERR_OK);
    assert_int_equal(got, n);
}

/* Appends the unpadded base64url of n bytes at p to the NUL-terminated string out. */
static void add_b64(char *out, size_t cap, const void *p, size_t n)
{
    size_t used = strlen(out);

    assert_int_equal(codec_b64_encode(out + used, cap - used, NULL, p, n, CODEC_B64_URL), ERR_OK);
}

static void add_str(char *out, size_t cap, const char *s)
{
    size_t used = strlen(out);

    assert_true(used + strlen(s) < cap);
    memcpy(out + used, s, strlen(s) + 1);
}

static int group_setup(void **state)
{
    (void)state;
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

enum sig_mode {
    SIG_K1,      /* ES256 with key1 */
    SIG_K2,      /* ES256 with key2 */
    SIG_ROGUE,   /* ES256 with an untrusted key */
    SIG_EMPTY,   /* no signature bytes */
    SIG_FLIP,    /* key1, one bit flipped */
    SIG_63,      /* key1, last byte dropped */
    SIG_65,      /* key1, a byte appended */
    SIG_PADDED,  /* key1, base64url text with "==" */
    SIG_HS_RAW,  /* HMAC-SHA-256 keyed with key1's raw public point 04||x||y */
    SIG_HS_JWK,  /* HMAC-SHA-256 keyed with key1's public JWK text */
    SIG_RS_JUNK, /* 256 bytes, the size of an RS256 signature */
};

/* Builds base64url(hdr) "." base64url(pay) "." signature-per-mode into out. */
static void make_token(char *out, size_t cap, const char *hdr, const char *pay, enum sig_mode mode)
{
    unsigned char sig[256], mac[HASH_SHA256_BYTES];
    unsigned char point[65];
    size_t siglen = 64, inlen;

    out[0] = '\0';
    add_b64(out, cap, hdr, strlen(hdr));
    add_str(out, cap, ".");
    add_b64(out, cap, pay, strlen(pay));
    inlen = strlen(out);
    switch (mode) {
    case SIG_K1:
    case SIG_FLIP:
    case SIG_63:
    case SIG_65:
    case SIG_PADDED:
        assert_int_equal(ecdsa_p256_sign(key1, out, inlen, sig), ERR_OK);
        break;
    case SIG_K2:
        assert_int_equal(ecdsa_p256_sign(key2, out, inlen, sig), ERR_OK);
        break;
    case SIG_ROGUE:
        assert_int_equal(ecdsa_p256_sign(rogue, out, inlen, sig), ERR_OK);
        break;
    case SIG_EMPTY:
        siglen = 0;
        break;
    case SIG_HS_RAW:
        point[0] = 0x04;
        assert_int_equal(ecdsa_p256_to_raw(key1, point + 1, point + 33, NULL), ERR_OK);
        assert_int_equal(hash_hmac_sha256(mac, point, sizeof(point), out, inlen), ERR_OK);
        memcpy(sig, mac, sizeof(mac));
        siglen = sizeof(mac);
        break;
    case SIG_HS_JWK: {
        struct jwk k;
        json_t *j;
        char *text;

        memset(&k, 0, sizeof(k));
        k.jk_kind = JWK_EC_P256;
        k.jk_ec = key1;
        j = jwk_to_json(&k, 0);
        assert_non_null(j);
        text = json_dumps(j, JSON_COMPACT);
        assert_non_null(text);
        assert_int_equal(hash_hmac_sha256(mac, text, strlen(text), out, inlen), ERR_OK);
        free(text);
        json_decref(j);
        memcpy(sig, mac, sizeof(mac));
        siglen = sizeof(mac);
        break;
    }
    case SIG_RS_JUNK:
        memset(sig, 0x5a, sizeof(sig));
        siglen = sizeof(sig);
        break;
    }
    if (mode == SIG_FLIP)
        sig[10] ^= 0x04;
    if (mode == SIG_63)
        siglen = 63;
    if (mode == SIG_65) {
        sig[64] = 0x01;
        siglen = 65;
    }
    add_str(out, cap, ".");
    add_b64(out, cap, sig, siglen);
    if (mode == SIG_PADDED)
        add_str(out, cap, "==");
}

static enum jws_reason verify(const char *token, size_t len)
{
    enum jws_reason why = JWS__COUNT;
    json_t *claims = (json_t *)&why; /* must be reset to NULL on failure */
    enum err rc = jws_verify_es256(&claims, &why, token, len, trusted, 2, &opts);

    if (why == JWS_OK) {
        assert_int_equal(rc, ERR_OK);
        assert_non_null(claims);
        json_decref(claims);
    } else {
        assert_int_equal(rc, ERR_UNAUTHORIZED);
        assert_null(claims);
    }
    return why;
}

static void test_rfc7515_a3(void **state)
{
    unsigned char x[32], y[32];
    struct ec_key *pub = NULL;
    json_t *payload = NULL, *claims = NULL;
    enum jws_reason why = JWS__COUNT;
    struct jws_key keys[1];
    char tampered[sizeof(a3_token)];

    (void)state;
    b64u(x, 32, a3_x);
    b64u(y, 32, a3_y);
    assert_int_equal(ecdsa_p256_from_raw(&pub, x, y, NULL), ERR_OK);

    assert_int_equal(jws_verify_signature(&payload, &why, a3_token, strlen(a3_token), pub), ERR_OK);
    assert_int_equal(why, JWS_OK);
    assert_non_null(payload);
    assert_int_equal(json_object_size(payload), 3);
    assert_string_equal(json_string_value(json_object_get(payload, "iss")), "joe");
    assert_true(json_is_integer(json_object_get(payload, "exp")));
    assert_int_equal(json_integer_value(json_object_get(payload, "exp")), 1300819380);
    assert_true(json_is_true(json_object_get(payload, "http://example.com/is_root")));
    json_decref(payload);
    /* Payload pointer optional. */
    assert_int_equal(jws_verify_signature(NULL, &why, a3_token, strlen(a3_token), pub), ERR_OK);

    /* The last signature character changed (Q -> A, still canonical base64url). */
    memcpy(tampered, a3_token, sizeof(a3_token));
    tampered[sizeof(a3_token) - 2] = 'A';
    assert_int_equal(jws_verify_signature(&payload, &why, tampered, strlen(tampered), pub),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, JWS_BAD_SIGNATURE);
    assert_null(payload);
    /* Another key does not verify it. */
    assert_int_equal(jws_verify_signature(&payload, &why, a3_token, strlen(a3_token), key1),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, JWS_BAD_SIGNATURE);

    /* Full verification needs a kid, which A.3's header lacks. */
    keys[0].jk_kid = "a3";
    keys[0].jk_key = pub;
    {
        const struct jws_verify_opts o = {1300819000, NULL, NULL};
        assert_int_equal(jws_verify_es256(&claims, &why, a3_token, strlen(a3_token), keys, 1, &o),
                         ERR_UNAUTHORIZED);
    }
    assert_int_equal(why, JWS_NO_KID);
    assert_null(claims);
    ecdsa_p256_free(pub);
}

static json_t *connect_claims(void)
{
    return json_pack("{s:s, s:[s], s:s, s:s, s:I, s:I, s:s, s:s, s:[s], s:[{s:s, s:i}]}", "iss",
                     ISSUER, "aud", AUDIENCE, "sub", "SRVABCDEFGHIJKLMNOPQRSTUVW", "jti",
                     "abcdefghijklmnopqrstuvwxyz", "iat", (json_int_t)(NOW - 5), "exp",
                     (json_int_t)(NOW + 86400), "1password.com/auuid", "ACCT1234567890ABCDEFGHIJKL",
                     "1password.com/token", "dGhpcyBpcyB0aGUgdW5sb2NrIHNlY3JldA",
                     "1password.com/fts", "vaultaccess", "1password.com/vts", "u",
                     "qwertyuiopasdfghjklzxcvbnm", "a", 3);
}

static void test_sign_verify_round_trip(void **state)
{
    static const char want_hdr[] = "{\"alg\":\"ES256\",\"kid\":\"k2\",\"typ\":\"JWT\"}";
    char expect_prefix[128] = "";
    json_t *claims = connect_claims(), *got = NULL;
    enum jws_reason why = JWS__COUNT;
    struct buf out;
    const char *tok;

    (void)state;
    assert_non_null(claims);
    buf_init(&out, JWS_MAX_TOKEN_BYTES);
    assert_int_equal(jws_sign_es256(&out, key2, "k2", claims), ERR_OK);
    tok = buf_str(&out);
    /* The header is exactly {"alg":"ES256","kid":"k2","typ":"JWT"}. */
    add_b64(expect_prefix, sizeof(expect_prefix), want_hdr, strlen(want_hdr));
    add_str(expect_prefix, sizeof(expect_prefix), ".");
    assert_memory_equal(tok, expect_prefix, strlen(expect_prefix));

    assert_int_equal(jws_verify_es256(&got, &why, tok, out.b_len, trusted, 2, &opts), ERR_OK);
    assert_int_equal(why, JWS_OK);
    assert_non_null(got);
    assert_int_equal(json_equal(got, claims), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(got, "1password.com/vts"), 0), "u")),
                        "qwertyuiopasdfghjklzxcvbnm");
    json_decref(got);
    /* The signature alone also verifies with the key, and not with the other one. */
    assert_int_equal(jws_verify_signature(NULL, &why, tok, out.b_len, key2), ERR_OK);
    assert_int_equal(jws_verify_signature(NULL, &why, tok, out.b_len, key1), ERR_UNAUTHORIZED);
    assert_int_equal(why, JWS_BAD_SIGNATURE);
    /* A public copy of the signing key verifies too. */
    {
        struct ec_key *pub = ecdsa_p256_public_dup(key2);
        assert_non_null(pub);
        assert_int_equal(jws_verify_signature(NULL, &why, tok, out.b_len, pub), ERR_OK);
        ecdsa_p256_free(pub);
    }
    /* Verification without a required audience / issuer. */
    {
        const struct jws_verify_opts o = {NOW, NULL, NULL};
        assert_int_equal(jws_verify_es256(&got, &why, tok, out.b_len, trusted, 2, &o), ERR_OK);
        json_decref(got);
    }
    /* An empty key set: unknown kid. */
    assert_int_equal(jws_verify_es256(&got, &why, tok, out.b_len, NULL, 0, &opts),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, JWS_UNKNOWN_KID);
    /* No options: an internal error, never a pass. */
    assert_int_equal(jws_verify_es256(&got, &why, tok, out.b_len, trusted, 2, NULL),
                     ERR_UNAUTHORIZED);
    assert_int_equal(why, JWS_INTERNAL);
    buf_free(&out);

    /* Signed without a kid: the signature verifies, full verification wants a kid. */
    buf_init(&out, JWS_MAX_TOKEN_BYTES);
    assert_int_equal(jws_sign_es256(&out, key1, NULL, claims), ERR_OK);
    assert_int_equal(jws_verify_signature(NULL, &why, buf_str(&out), out.b_len, key1), ERR_OK);
    assert_int_equal(verify(buf_str(&out), out.b_len), JWS_NO_KID);
    buf_free(&out);
    json_decref(claims);
}

static void test_sign_errors(void **state)
{
    char kid[KID_MAX_LEN + 2];
    json_t *claims = connect_claims(), *arr = json_array(), *big;
    struct ec_key *pub = ecdsa_p256_public_dup(key1);
    char *filler = malloc(JWS_MAX_PAYLOAD_BYTES + 1);
    struct buf out;

    (void)state;
    assert_non_null(pub);
    assert_non_null(filler);
    buf_init(&out, JWS_MAX_TOKEN_BYTES);
    assert_int_equal(jws_sign_es256(&out, pub, "k1", claims), ERR_BAD_INPUT);
    assert_int_equal(jws_sign_es256(&out, key1, "k1", arr), ERR_BAD_INPUT);
    assert_int_equal(jws_sign_es256(&out, key1, "k1", NULL), ERR_BAD_INPUT);
    assert_int_equal(jws_sign_es256(&out, key1, "", claims), ERR_BAD_INPUT);
    assert_int_equal(jws_sign_es256(&out, key1, "a b", claims), ERR_BAD_INPUT);
    memset(kid, 'k', sizeof(kid));
    kid[KID_MAX_LEN + 1] = '\0';
    assert_int_equal(jws_sign_es256(&out, key1, kid, claims), ERR_BAD_INPUT);
    kid[KID_MAX_LEN] = '\0';
    assert_int_equal(jws_sign_es256(&out, key1, kid, claims), ERR_OK);
    buf_free(&out);
    /* Claims over the payload cap. */
    memset(filler, 'x', JWS_MAX_PAYLOAD_BYTES);
    filler[JWS_MAX_PAYLOAD_BYTES] = '\0';
    big = json_pack("{s:s}", "pad", filler);
    assert_int_equal(jws_sign_es256(&out, key1, "k1", big), ERR_TOO_LARGE);
    /* An output buffer too small for the token. */
    buf_init(&out, 100);
    assert_int_equal(jws_sign_es256(&out, key1, "k1", claims), ERR_TOO_LARGE);
    assert_int_equal(out.b_len, 0);
    buf_free(&out);
    json_decref(big);
    json_decref(arr);
    json_decref(claims);
    ecdsa_p256_free(pub);
    free(filler);
}

struct hostile {
    const char *name;
    const char *hdr;
    const char *pay;
    enum sig_mode mode;
    enum jws_reason want;
};

#define H_OK  "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JWT\"}"
#define H_OK2 "{\"alg\":\"ES256\",\"kid\":\"k2\",\"typ\":\"JWT\"}"
#define P_OK                                                                                       \
    "{\"iss\":\"sesame\",\"aud\":[\"com.1password.connect\"],\"sub\":\"S\",\"jti\":\"J\","         \
    "\"iat\":1300818990,\"exp\":1300822600}"
/* A payload with the given claims after iss/aud/sub. */
#define P_WITH(claims)                                                                             \
    "{\"iss\":\"sesame\",\"aud\":[\"com.1password.connect\"],\"sub\":\"S\"," claims "}"

static const struct hostile hostile[] = {
    /* Positive controls. */
    {"valid k1", H_OK, P_OK, SIG_K1, JWS_OK},
    {"valid k2", H_OK2, P_OK, SIG_K2, JWS_OK},
    {"typ lower case", "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"jwt\"}", P_OK, SIG_K1, JWS_OK},
    {"no typ", "{\"alg\":\"ES256\",\"kid\":\"k1\"}", P_OK, SIG_K1, JWS_OK},
    {"no exp/iat", H_OK, P_WITH("\"jti\":\"J\""), SIG_K1, JWS_OK},
    /* Header. */
    {"header not JSON", "not json", P_OK, SIG_K1, JWS_BAD_HEADER},
    {"header empty", "", P_OK, SIG_K1, JWS_BAD_HEADER},
    {"header array", "[\"ES256\"]", P_OK, SIG_K1, JWS_BAD_HEADER},
    {"header string", "\"ES256\"", P_OK, SIG_K1, JWS_BAD_HEADER},
    {"header trailing", H_OK " x", P_OK, SIG_K1, JWS_BAD_HEADER},
    {"duplicate alg", "{\"alg\":\"ES256\",\"alg\":\"ES256\",\"kid\":\"k1\"}", P_OK, SIG_K1,
     JWS_BAD_HEADER},
    {"duplicate kid", "{\"alg\":\"ES256\",\"kid\":\"k2\",\"kid\":\"k1\"}", P_OK, SIG_K1,
     JWS_BAD_HEADER},
    {"alg missing", "{\"kid\":\"k1\",\"typ\":\"JWT\"}", P_OK, SIG_K1, JWS_BAD_HEADER},
    {"alg number", "{\"alg\":256,\"kid\":\"k1\"}", P_OK, SIG_K1, JWS_BAD_HEADER},
    {"alg none unsigned", "{\"alg\":\"none\",\"typ\":\"JWT\"}", P_OK, SIG_EMPTY, JWS_ALG_NONE},
    {"alg none with kid", "{\"alg\":\"none\",\"kid\":\"k1\"}", P_OK, SIG_EMPTY, JWS_ALG_NONE},
    {"alg None", "{\"alg\":\"None\",\"kid\":\"k1\"}", P_OK, SIG_EMPTY, JWS_ALG_NONE},
    {"alg NONE signed", "{\"alg\":\"NONE\",\"kid\":\"k1\"}", P_OK, SIG_K1, JWS_ALG_NONE},
    {"alg HS256 raw point", "{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", P_OK, SIG_HS_RAW,
     JWS_ALG_UNSUPPORTED},
    {"alg HS256 JWK text", "{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", P_OK, SIG_HS_JWK,
     JWS_ALG_UNSUPPORTED},
    {"alg RS256", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", P_OK, SIG_RS_JUNK, JWS_ALG_UNSUPPORTED},
    {"alg ES384", "{\"alg\":\"ES384\",\"kid\":\"k1\"}", P_OK, SIG_K1, JWS_ALG_UNSUPPORTED},
    {"alg es256", "{\"alg\":\"es256\",\"kid\":\"k1\"}", P_OK, SIG_K1, JWS_ALG_UNSUPPORTED},
    {"alg ES256 space", "{\"alg\":\"ES256 \",\"kid\":\"k1\"}", P_OK, SIG_K1, JWS_ALG_UNSUPPORTED},
    {"typ xyz", "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"xyz\"}", P_OK, SIG_K1, JWS_BAD_HEADER},
    {"typ number", "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":1}", P_OK, SIG_K1, JWS_BAD_HEADER},
    {"crit", "{\"alg\":\"ES256\",\"kid\":\"k1\",\"crit\":[\"exp\"],\"exp\":1}", P_OK, SIG_K1,
     JWS_BAD_HEADER},
    {"crit empty", "{\"alg\":\"ES256\",\"kid\":\"k1\",\"crit\":[]}", P_OK, SIG_K1, JWS_BAD_HEADER},
    {"kid missing", "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", P_OK, SIG_K1, JWS_NO_KID},
    {"kid number", "{\"alg\":\"ES256\",\"kid\":1}", P_OK, SIG_K1, JWS_NO_KID},
    {"kid empty", "{\"alg\":\"ES256\",\"kid\":\"\"}", P_OK, SIG_K1, JWS_NO_KID},
    {"kid unknown", "{\"alg\":\"ES256\",\"kid\":\"k9\"}", P_OK, SIG_K1, JWS_UNKNOWN_KID},
    {"kid case", "{\"alg\":\"ES256\",\"kid\":\"K1\"}", P_OK, SIG_K1, JWS_UNKNOWN_KID},
    {"kid prefix", "{\"alg\":\"ES256\",\"kid\":\"k\"}", P_OK, SIG_K1, JWS_UNKNOWN_KID},
    /* Signature. */
    {"signature bit flipped", H_OK, P_OK, SIG_FLIP, JWS_BAD_SIGNATURE},
    {"signature 63 bytes", H_OK, P_OK, SIG_63, JWS_BAD_SIGNATURE_SIZE},
    {"signature 65 bytes", H_OK, P_OK, SIG_65, JWS_BAD_SIGNATURE_SIZE},
    {"signature empty", H_OK, P_OK, SIG_EMPTY, JWS_BAD_SIGNATURE_SIZE},
    {"signature padded", H_OK, P_OK, SIG_PADDED, JWS_BAD_BASE64},
    {"signature by untrusted key", H_OK, P_OK, SIG_ROGUE, JWS_BAD_SIGNATURE},
    {"signature by the other kid's key", H_OK2, P_OK, SIG_K1, JWS_BAD_SIGNATURE},
    {"HMAC under ES256", H_OK, P_OK, SIG_HS_RAW, JWS_BAD_SIGNATURE_SIZE},
    /* Payload (signed). */
    {"payload not JSON", H_OK, "not json", SIG_K1, JWS_BAD_PAYLOAD},
    {"payload empty", H_OK, "", SIG_K1, JWS_BAD_PAYLOAD},
    {"payload array", H_OK, "[1,2]", SIG_K1, JWS_BAD_PAYLOAD},
    {"payload duplicate exp", H_OK, P_WITH("\"exp\":1300822600,\"exp\":1"), SIG_K1,
     JWS_BAD_PAYLOAD},
    {"exp string", H_OK, P_WITH("\"exp\":\"1300822600\""), SIG_K1, JWS_BAD_PAYLOAD},
    {"exp bool", H_OK, P_WITH("\"exp\":true"), SIG_K1, JWS_BAD_PAYLOAD},
    {"nbf null", H_OK, P_WITH("\"nbf\":null"), SIG_K1, JWS_BAD_PAYLOAD},
    {"iat array", H_OK, P_WITH("\"iat\":[1]"), SIG_K1, JWS_BAD_PAYLOAD},
    {"sub number", H_OK, "{\"iss\":\"sesame\",\"aud\":\"com.1password.connect\",\"sub\":5}", SIG_K1,
     JWS_BAD_PAYLOAD},
    {"aud number", H_OK, "{\"iss\":\"sesame\",\"aud\":5}", SIG_K1, JWS_BAD_PAYLOAD},
    {"aud array with number", H_OK, "{\"iss\":\"sesame\",\"aud\":[\"com.1password.connect\",5]}",
     SIG_K1, JWS_BAD_PAYLOAD},
    {"iss number", H_OK, "{\"iss\":5,\"aud\":\"com.1password.connect\"}", SIG_K1, JWS_BAD_PAYLOAD},
    /* Times, with 60 s of leeway around now = 1300819000. */
    {"expired", H_OK, P_WITH("\"exp\":1300818000"), SIG_K1, JWS_EXPIRED},
    {"expired at leeway edge", H_OK, P_WITH("\"exp\":1300818940"), SIG_K1, JWS_EXPIRED},
    {"exp within leeway", H_OK, P_WITH("\"exp\":1300818941"), SIG_K1, JWS_OK},
    {"exp real expired", H_OK, P_WITH("\"exp\":1300818940.0"), SIG_K1, JWS_EXPIRED},
    {"exp real within leeway", H_OK, P_WITH("\"exp\":1300818940.5"), SIG_K1, JWS_OK},
    {"exp negative", H_OK, P_WITH("\"exp\":-1e300"), SIG_K1, JWS_EXPIRED},
    {"exp far future", H_OK, P_WITH("\"exp\":9223372036854775807"), SIG_K1, JWS_OK},
    {"nbf in the future", H_OK, P_WITH("\"nbf\":1300819061"), SIG_K1, JWS_NOT_YET_VALID},
    {"nbf at leeway edge", H_OK, P_WITH("\"nbf\":1300819060"), SIG_K1, JWS_OK},
    {"nbf real future", H_OK, P_WITH("\"nbf\":1300819060.25"), SIG_K1, JWS_NOT_YET_VALID},
    {"iat in the future", H_OK, P_WITH("\"iat\":1300819061"), SIG_K1, JWS_ISSUED_IN_FUTURE},
    {"iat at leeway edge", H_OK, P_WITH("\"iat\":1300819060"), SIG_K1, JWS_OK},
    {"iat huge", H_OK, P_WITH("\"iat\":1e300"), SIG_K1, JWS_ISSUED_IN_FUTURE},
    /* Audience and issuer. */
    {"aud missing", H_OK, "{\"iss\":\"sesame\",\"sub\":\"S\"}", SIG_K1, JWS_BAD_AUDIENCE},
    {"aud other", H_OK, "{\"iss\":\"sesame\",\"aud\":\"other\"}", SIG_K1, JWS_BAD_AUDIENCE},
    {"aud other array", H_OK, "{\"iss\":\"sesame\",\"aud\":[\"other\"]}", SIG_K1, JWS_BAD_AUDIENCE},
    {"aud empty array", H_OK, "{\"iss\":\"sesame\",\"aud\":[]}", SIG_K1, JWS_BAD_AUDIENCE},
    {"aud prefix", H_OK, "{\"iss\":\"sesame\",\"aud\":\"com.1password\"}", SIG_K1,
     JWS_BAD_AUDIENCE},
    {"aud string", H_OK, "{\"iss\":\"sesame\",\"aud\":\"com.1password.connect\"}", SIG_K1, JWS_OK},
    {"aud second of two", H_OK, "{\"iss\":\"sesame\",\"aud\":[\"x\",\"com.1password.connect\"]}",
     SIG_K1, JWS_OK},
    {"iss other", H_OK, "{\"iss\":\"joe\",\"aud\":\"com.1password.connect\"}", SIG_K1,
     JWS_BAD_ISSUER},
    {"iss missing", H_OK, "{\"aud\":\"com.1password.connect\"}", SIG_K1, JWS_BAD_ISSUER},
    {"iss case", H_OK, "{\"iss\":\"Sesame\",\"aud\":\"com.1password.connect\"}", SIG_K1,
     JWS_BAD_ISSUER},
};

static void test_hostile_table(void **state)
{
    char *tok = malloc(TOKEN_CAP);
    size_t i;

    (void)state;
    assert_non_null(tok);
    for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        const struct hostile *h = &hostile[i];
        enum jws_reason got;

        make_token(tok, TOKEN_CAP, h->hdr, h->pay, h->mode);
        got = verify(tok, strlen(tok));
        if (got != h->want)
            fail_msg("case '%s': got %s, want %s", h->name, jws_reason_name(got),
                     jws_reason_name(h->want));
    }
    free(tok);
}

/* Tokens that are broken before any JSON: built by hand from a valid one. */
static void test_hostile_shapes(void **state)
{
    char *ok = malloc(TOKEN_CAP), *other = malloc(TOKEN_CAP), *t = malloc(TOKEN_CAP);
    const char *d1, *d2, *o1, *o2;
    size_t n;

    (void)state;
    assert_non_null(ok);
    assert_non_null(other);
    assert_non_null(t);
    make_token(ok, TOKEN_CAP, H_OK, P_OK, SIG_K1);
    assert_int_equal(verify(ok, strlen(ok)), JWS_OK);
    d1 = strchr(ok, '.');
    d2 = strchr(d1 + 1, '.');

    assert_int_equal(verify("", 0), JWS_EMPTY);
    assert_int_equal(verify(NULL, 0), JWS_EMPTY);
    assert_int_equal(verify(ok, 0), JWS_EMPTY);

    /* Oversize: one byte over the cap, and junk of exactly the cap (malformed, not long). */
    memset(t, 'a', JWS_MAX_TOKEN_BYTES + 1);
    assert_int_equal(verify(t, JWS_MAX_TOKEN_BYTES + 1), JWS_TOO_LONG);
    assert_int_equal(verify(t, JWS_MAX_TOKEN_BYTES), JWS_MALFORMED);

    /* Two parts, one part, four parts, four empty parts. */
    assert_int_equal(verify(ok, (size_t)(d2 - ok)), JWS_MALFORMED);
    assert_int_equal(verify(ok, (size_t)(d1 - ok)), JWS_MALFORMED);
    snprintf(t, TOKEN_CAP, "%s.%s", ok, d2 + 1);
    assert_int_equal(verify(t, strlen(t)), JWS_MALFORMED);
    assert_int_equal(verify("...", 3), JWS_MALFORMED);
    assert_int_equal(verify("..", 2), JWS_BAD_HEADER);
    /* A trailing dot is a fourth (empty) part. */
    snprintf(t, TOKEN_CAP, "%s.", ok);
    assert_int_equal(verify(t, strlen(t)), JWS_MALFORMED);

    /* Header with a bad character, a std-alphabet character, padding, white space, NUL. */
    static const char bad_chars[] = {'*', '+', '/', ' ', '\n', '\0'};
    for (n = 0; n < sizeof(bad_chars); n++) {
        memcpy(t, ok, strlen(ok) + 1);
        t[3] = bad_chars[n];
        assert_int_equal(verify(t, strlen(ok)), JWS_BAD_BASE64);
    }
    snprintf(t, TOKEN_CAP, "%.*s=%s", (int)(d1 - ok), ok, d1);
    assert_int_equal(verify(t, strlen(t)), JWS_BAD_BASE64);
    snprintf(t, TOKEN_CAP, "%.*s==%s", (int)(d1 - ok), ok, d1);
    assert_int_equal(verify(t, strlen(t)), JWS_BAD_BASE64);

    /* A header part longer than the header cap allows. */
    memset(t, 'e', 1400);
    snprintf(t + 1400, TOKEN_CAP - 1400, "%s", d1);
    assert_int_equal(verify(t, strlen(t)), JWS_MALFORMED);

    /* Payload swapped after signing: header and signature of one, payload of another. */
    make_token(other, TOKEN_CAP, H_OK, P_WITH("\"jti\":\"other\""), SIG_K1);
    assert_int_equal(verify(other, strlen(other)), JWS_OK);
    o1 = strchr(other, '.');
    o2 = strchr(o1 + 1, '.');
    snprintf(t, TOKEN_CAP, "%.*s%.*s%s", (int)(d1 - ok), ok, (int)(o2 - o1), o1, d2);
    assert_int_equal(verify(t, strlen(t)), JWS_BAD_SIGNATURE);
    /* Payload with a bad character: the signature fails first (payload unread). */
    memcpy(t, ok, strlen(ok) + 1);
    t[(d1 - ok) + 3] = '*';
    assert_int_equal(verify(t, strlen(t)), JWS_BAD_SIGNATURE);
    /* Signature with a bad character. */
    memcpy(t, ok, strlen(ok) + 1);
    t[(d2 - ok) + 5] = '*';
    assert_int_equal(verify(t, strlen(t)), JWS_BAD_BASE64);
    /* Signature text far too long. */
    snprintf(t, TOKEN_CAP, "%.*s.", (int)(d2 - ok), ok);
    memset(t + strlen(t), 'A', 400);
    t[(d2 - ok) + 1 + 400] = '\0';
    assert_int_equal(verify(t, strlen(t)), JWS_BAD_SIGNATURE_SIZE);
    /* The valid token followed by a NUL byte within len. */
    memcpy(t, ok, strlen(ok) + 1);
    assert_int_equal(verify(t, strlen(ok) + 1), JWS_BAD_BASE64);

    free(ok);
    free(other);
    free(t);
}

static void test_reason_names(void **state)
{
    int i, j;

    (void)state;
    assert_string_equal(jws_reason_name(JWS_OK), "ok");
    assert_string_equal(jws_reason_name(JWS_EMPTY), "empty");
    assert_string_equal(jws_reason_name(JWS_TOO_LONG), "too_long");
    assert_string_equal(jws_reason_name(JWS_MALFORMED), "malformed");
    assert_string_equal(jws_reason_name(JWS_BAD_BASE64), "bad_base64");
    assert_string_equal(jws_reason_name(JWS_BAD_HEADER), "bad_header");
    assert_string_equal(jws_reason_name(JWS_ALG_NONE), "alg_none");
    assert_string_equal(jws_reason_name(JWS_ALG_UNSUPPORTED), "alg_unsupported");
    assert_string_equal(jws_reason_name(JWS_NO_KID), "no_kid");
    assert_string_equal(jws_reason_name(JWS_UNKNOWN_KID), "unknown_kid");
    assert_string_equal(jws_reason_name(JWS_BAD_SIGNATURE_SIZE), "bad_signature_size");
    assert_string_equal(jws_reason_name(JWS_BAD_SIGNATURE), "bad_signature");
    assert_string_equal(jws_reason_name(JWS_BAD_PAYLOAD), "bad_payload");
    assert_string_equal(jws_reason_name(JWS_EXPIRED), "expired");
    assert_string_equal(jws_reason_name(JWS_NOT_YET_VALID), "not_yet_valid");
    assert_string_equal(jws_reason_name(JWS_ISSUED_IN_FUTURE), "issued_in_future");
    assert_string_equal(jws_reason_name(JWS_BAD_AUDIENCE), "bad_audience");
    assert_string_equal(jws_reason_name(JWS_BAD_ISSUER), "bad_issuer");
    assert_string_equal(jws_reason_name(JWS_INTERNAL), "internal");
    assert_string_equal(jws_reason_name(JWS__COUNT), "unknown");
    assert_string_equal(jws_reason_name((enum jws_reason) - 1), "unknown");
    for (i = 0; i < JWS__COUNT; i++)
        for (j = i + 1; j < JWS__COUNT; j++)
            assert_string_not_equal(jws_reason_name((enum jws_reason)i),
                                    jws_reason_name((enum jws_reason)j));
}

/* Every allocation failure of our own while signing gives ERR_NOMEM and leaks nothing. */
static void test_allocation_failures(void **state)
{
    json_t *claims = connect_claims();
    enum jws_reason why;
    struct buf out;
    long n;
    enum err rc;

    (void)state;
    for (n = 0;; n++) {
        buf_init(&out, JWS_MAX_TOKEN_BYTES);
        mem_fail_after(n);
        rc = jws_sign_es256(&out, key1, "k1", claims);
        mem_fail_after(-1);
        if (rc == ERR_OK)
            break;
        assert_int_equal(rc, ERR_NOMEM);
        assert_int_equal(out.b_len, 0);
        buf_free(&out);
    }
    assert_true(n >= 3);
    assert_int_equal(verify(buf_str(&out), out.b_len), JWS_OK);
    /* Verification makes no allocation of ours: an armed failure does not change it. */
    mem_fail_after(0);
    assert_int_equal(jws_verify_signature(NULL, &why, buf_str(&out), out.b_len, key1), ERR_OK);
    mem_fail_after(-1);
    buf_free(&out);
    json_decref(claims);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7515_a3),          cmocka_unit_test(test_sign_verify_round_trip),
        cmocka_unit_test(test_sign_errors),         cmocka_unit_test(test_hostile_table),
        cmocka_unit_test(test_hostile_shapes),      cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_allocation_failures),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
