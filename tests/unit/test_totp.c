/*
 * test_totp.c - OTP field values (src/json/totp.c):
 *   - RFC 6238 Appendix B: all 18 TOTP vectors (SHA1/SHA256/SHA512, 8 digits) as otpauth
 *     URIs carrying the RFC's seeds in base32 (20, 32 and 64 ASCII bytes; see below);
 *   - RFC 4226 Appendix D: HOTP values for counters 0-9, and the TOTP/HOTP relation;
 *   - the parser: defaults, a table of good URIs and bare secrets (expected hash, digits,
 *     period and decoded secret), a table of bad values with the exact status and message,
 *     the length limits at their boundaries, and wiping of the output on error;
 *   - totp_code / totp_hotp_code / totp_from_value argument and range checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/codec.h"
#include "json/totp.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * RFC 6238 Appendix B says the seed is "12345678901234567890" for every mode, but its
 * Appendix A code (which produced the table) uses 20 bytes for HMAC-SHA1, 32 bytes
 * ("1234567890" repeated, cut) for HMAC-SHA256 and 64 bytes for HMAC-SHA512 (RFC errata
 * 2866). These are those seeds, and their RFC 4648 base32 forms without padding.
 */
#define SEED20     "12345678901234567890"
#define SEED32     "12345678901234567890123456789012"
#define SEED64     "1234567890123456789012345678901234567890123456789012345678901234"
#define B32_SEED20 "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
#define B32_SEED32 "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA"
#define B32_SEED64                                                                                 \
    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVG"    \
    "Y3TQOJQGEZDGNA"

#define URI_SHA1   "otpauth://totp/RFC6238:sha1?secret=" B32_SEED20 "&digits=8&algorithm=SHA1"
#define URI_SHA256 "otpauth://totp/RFC6238:sha256?secret=" B32_SEED32 "&digits=8&algorithm=SHA256"
#define URI_SHA512 "otpauth://totp/RFC6238:sha512?secret=" B32_SEED64 "&digits=8&algorithm=SHA512"

#define MSG_EMPTY         "OTP value is empty"
#define MSG_TOO_LONG      "OTP value is too long"
#define MSG_HOTP          "OTP value is an HOTP URI; only TOTP codes are computed"
#define MSG_BAD_URI       "OTP value is not a valid otpauth URI"
#define MSG_BAD_TYPE      "OTP value has an unsupported otpauth type"
#define MSG_BAD_ESCAPE    "OTP value has a malformed percent-escape"
#define MSG_NO_SECRET     "OTP value has no secret parameter"
#define MSG_NOT_SECRET    "OTP value is neither an otpauth URI nor a base32 secret"
#define MSG_SECRET_EMPTY  "OTP secret is empty"
#define MSG_SECRET_BASE32 "OTP secret is not valid base32"
#define MSG_SECRET_LONG   "OTP secret is too long"
#define MSG_ALGORITHM     "OTP algorithm must be SHA1, SHA256 or SHA512"
#define MSG_DIGITS        "OTP digits must be 6, 7 or 8"
#define MSG_PERIOD        "OTP period must be 1 to 3600 seconds"

/* Returns 1 if the n bytes at p are all zero. */
static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* Parses s (NUL-terminated) expecting success; fails the test otherwise. */
static void parse_ok(struct totp_params *p, const char *s)
{
    char msg[128] = "junk";
    enum err rc = totp_parse(p, s, strlen(s), msg, sizeof(msg));

    if (rc != ERR_OK)
        print_error("unexpected %s (%s) for: %s\n", err_name(rc), msg, s);
    assert_int_equal(rc, ERR_OK);
    assert_string_equal(msg, "");
}

/* RFC 6238 Appendix B, Table 1. */
static const struct {
    int64_t time;
    enum hmac_alg alg;
    const char *code;
} rfc6238_vectors[] = {
    {59, HMAC_SHA1, "94287082"},
    {59, HMAC_SHA256, "46119246"},
    {59, HMAC_SHA512, "90693936"},
    {1111111109, HMAC_SHA1, "07081804"},
    {1111111109, HMAC_SHA256, "68084774"},
    {1111111109, HMAC_SHA512, "25091201"},
    {1111111111, HMAC_SHA1, "14050471"},
    {1111111111, HMAC_SHA256, "67062674"},
    {1111111111, HMAC_SHA512, "99943326"},
    {1234567890, HMAC_SHA1, "89005924"},
    {1234567890, HMAC_SHA256, "91819424"},
    {1234567890, HMAC_SHA512, "93441116"},
    {2000000000, HMAC_SHA1, "69279037"},
    {2000000000, HMAC_SHA256, "90698825"},
    {2000000000, HMAC_SHA512, "38618901"},
    {20000000000, HMAC_SHA1, "65353130"},
    {20000000000, HMAC_SHA256, "77737706"},
    {20000000000, HMAC_SHA512, "47863826"},
};

static void test_rfc6238_vectors(void **state)
{
    struct totp_params p;
    char code[TOTP_CODE_BYTES];
    size_t i;

    (void)state;
    for (i = 0; i < NELEM(rfc6238_vectors); i++) {
        const char *uri, *seed;

        switch (rfc6238_vectors[i].alg) {
        case HMAC_SHA1:
            uri = URI_SHA1;
            seed = SEED20;
            break;
        case HMAC_SHA256:
            uri = URI_SHA256;
            seed = SEED32;
            break;
        default:
            uri = URI_SHA512;
            seed = SEED64;
            break;
        }
        parse_ok(&p, uri);
        assert_int_equal(p.tp_alg, rfc6238_vectors[i].alg);
        assert_int_equal(p.tp_digits, 8);
        assert_int_equal(p.tp_period, 30);
        assert_int_equal(p.tp_secret_len, strlen(seed));
        assert_memory_equal(p.tp_secret, seed, strlen(seed));
        memset(code, 'x', sizeof(code));
        assert_int_equal(totp_code(code, sizeof(code), &p, rfc6238_vectors[i].time), ERR_OK);
        assert_string_equal(code, rfc6238_vectors[i].code);
        totp_params_clear(&p);
        assert_true(all_zero(&p, sizeof(p)));

        /* The one-call form gives the same code. */
        memset(code, 'x', sizeof(code));
        assert_int_equal(
            totp_from_value(code, sizeof(code), uri, strlen(uri), rfc6238_vectors[i].time), ERR_OK);
        assert_string_equal(code, rfc6238_vectors[i].code);
    }
}

/* RFC 4226 Appendix D: HOTP (SHA-1, 6 digits) for the secret "12345678901234567890". */
static const char *const rfc4226_codes[10] = {"755224", "287082", "359152", "969429", "338314",
                                              "254676", "287922", "162583", "399871", "520489"};

static void test_rfc4226_hotp(void **state)
{
    struct totp_params p;
    char code[TOTP_CODE_BYTES];
    uint64_t c;

    (void)state;
    parse_ok(&p, B32_SEED20);
    assert_int_equal(p.tp_alg, HMAC_SHA1);
    assert_int_equal(p.tp_digits, 6);
    for (c = 0; c < 10; c++) {
        assert_int_equal(totp_hotp_code(code, sizeof(code), &p, c), ERR_OK);
        assert_string_equal(code, rfc4226_codes[c]);
        /* TOTP is HOTP of floor(t / 30): the first and last second of each step. */
        assert_int_equal(totp_code(code, sizeof(code), &p, (int64_t)(30 * c)), ERR_OK);
        assert_string_equal(code, rfc4226_codes[c]);
        assert_int_equal(totp_code(code, sizeof(code), &p, (int64_t)(30 * c + 29)), ERR_OK);
        assert_string_equal(code, rfc4226_codes[c]);
    }
    /* The exact-size buffer (digits + NUL) is enough. */
    assert_int_equal(totp_hotp_code(code, 7, &p, 9), ERR_OK);
    assert_string_equal(code, "520489");
    totp_params_clear(&p);
}

static void test_defaults(void **state)
{
    static const char *const values[] = {
        "otpauth://totp/Example:alice@example.com?secret=" B32_SEED20,
        B32_SEED20,
    };
    struct totp_params p;
    char code[TOTP_CODE_BYTES];
    size_t i;

    (void)state;
    for (i = 0; i < NELEM(values); i++) {
        parse_ok(&p, values[i]);
        assert_int_equal(p.tp_alg, HMAC_SHA1);
        assert_int_equal(p.tp_digits, TOTP_DEFAULT_DIGITS);
        assert_int_equal(p.tp_period, TOTP_DEFAULT_PERIOD);
        assert_int_equal(totp_code(code, sizeof(code), &p, 59), ERR_OK);
        assert_string_equal(code, "287082"); /* last 6 digits of RFC 6238's 94287082 */
        totp_params_clear(&p);
    }
}

/* Periods and digit counts other than the defaults. */
static void test_period_and_digits(void **state)
{
    static const struct {
        const char *value;
        int64_t time;
        const char *code;
    } cases[] = {
        {"otpauth://totp/a?secret=" B32_SEED20 "&digits=7", 59, "4287082"},
        {"otpauth://totp/a?secret=" B32_SEED20 "&digits=8", 59, "94287082"},
        {"otpauth://totp/a?secret=" B32_SEED20 "&period=60", 119, "287082"}, /* counter 1 */
        {"otpauth://totp/a?secret=" B32_SEED20 "&period=60", 120, "359152"}, /* counter 2 */
        {"otpauth://totp/a?secret=" B32_SEED20 "&period=1", 9, "520489"},    /* counter 9 */
        {"otpauth://totp/a?secret=" B32_SEED20 "&period=3600", 3599, "755224"},
        {"otpauth://totp/a?secret=" B32_SEED20 "&period=3600", 3600, "287082"},
        {"otpauth://totp/a?secret=" B32_SEED20, 0, "755224"},
    };
    struct totp_params p;
    char code[TOTP_CODE_BYTES];
    size_t i, k;

    (void)state;
    for (i = 0; i < NELEM(cases); i++) {
        parse_ok(&p, cases[i].value);
        assert_int_equal(totp_code(code, sizeof(code), &p, cases[i].time), ERR_OK);
        assert_string_equal(code, cases[i].code);
        totp_params_clear(&p);
    }
    /* The far future works (no overflow): always tp_digits decimal digits. */
    parse_ok(&p, URI_SHA512);
    assert_int_equal(totp_code(code, sizeof(code), &p, INT64_MAX), ERR_OK);
    assert_int_equal(strlen(code), 8);
    for (k = 0; k < 8; k++)
        assert_true(code[k] >= '0' && code[k] <= '9');
    totp_params_clear(&p);
}

/* Values that parse: the expected hash, digits, period and secret (hex). */
static const struct {
    const char *value;
    enum hmac_alg alg;
    unsigned digits, period;
    const char *secret_hex;
} good_cases[] = {
#define HELLO "48656c6c6f21deadbeef" /* JBSWY3DPEHPK3PXP */
#define S20   "3132333435363738393031323334353637383930"
    /* Google Authenticator's Key Uri Format examples. */
    {"otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example", HMAC_SHA1, 6,
     30, HELLO},
    {"otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer="
     "ACME%20Co&algorithm=SHA1&digits=6&period=30",
     HMAC_SHA1, 6, 30, "3dc6caa4824a6d288767b2331e20b43166cb85d9"},
    /* Case: scheme, type, parameter names, algorithm value and secret. */
    {"OTPAUTH://TOTP/x?SECRET=jbswy3dpehpk3pxp&ALGORITHM=sha256&DIGITS=7&PERIOD=60", HMAC_SHA256, 7,
     60, HELLO},
    {"otpauth://totp/x?Secret=JbSwY3dPeHpK3pXp&Algorithm=Sha512", HMAC_SHA512, 6, 30, HELLO},
    /* Label forms: none, empty, with ':' and spaces, with a stray '%'. */
    {"otpauth://totp?secret=JBSWY3DPEHPK3PXP", HMAC_SHA1, 6, 30, HELLO},
    {"otpauth://totp/?secret=JBSWY3DPEHPK3PXP", HMAC_SHA1, 6, 30, HELLO},
    {"otpauth://totp/My Bank: me@x.org?secret=JBSWY3DPEHPK3PXP", HMAC_SHA1, 6, 30, HELLO},
    {"otpauth://totp/100%?secret=JBSWY3DPEHPK3PXP", HMAC_SHA1, 6, 30, HELLO},
    {"otpauth://totp/a/b/c?secret=JBSWY3DPEHPK3PXP", HMAC_SHA1, 6, 30, HELLO},
    /* Parameter order, empty segments, unknown and valueless parameters, fragment. */
    {"otpauth://totp/a?algorithm=SHA512&period=45&digits=8&secret=JBSWY3DPEHPK3PXP", HMAC_SHA512, 8,
     45, HELLO},
    {"otpauth://totp/a?&issuer=x&&secret=JBSWY3DPEHPK3PXP&", HMAC_SHA1, 6, 30, HELLO},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&counter=5&image=https%3A%2F%2Fx%2Fy.png&foo",
     HMAC_SHA1, 6, 30, HELLO},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&verylongparameternamethatisignored=1", HMAC_SHA1, 6,
     30, HELLO},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP#digits=99&secret=x", HMAC_SHA1, 6, 30, HELLO},
    /* Secret text: escapes, '+' and %20 spaces, dashes, padding raw or escaped. */
    {"otpauth://totp/a?secret=%4A%42SWY3DPEHPK3PXP", HMAC_SHA1, 6, 30, HELLO},
    {"otpauth://totp/a?secret=%4a%42swy3dpehpk3pxp", HMAC_SHA1, 6, 30, HELLO},
    {"otpauth://totp/a?secret=JBSW%20Y3DP+EHPK-3PXP", HMAC_SHA1, 6, 30, HELLO},
    {"otpauth://totp/a?secret=" B32_SEED32 "%3D%3D%3D%3D&algorithm=SHA256", HMAC_SHA256, 6, 30,
     S20 "313233343536373839303132"},
    {"otpauth://totp/a?secret=" B32_SEED32 "====&algorithm=SHA256", HMAC_SHA256, 6, 30,
     S20 "313233343536373839303132"},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PX", HMAC_SHA1, 6, 30, "48656c6c6f21deadbe"},
    /* Unused trailing bits set (J = 01001: its low 2 bits are unused) are ignored. */
    {"otpauth://totp/a?secret=ABCDEFGHIJ", HMAC_SHA1, 6, 30, "00443214c742"},
    {"otpauth://totp/a?secret=ABCDEFGHII", HMAC_SHA1, 6, 30, "00443214c742"},
    /* Numbers at their bounds, leading zeros, '+' around values is a space in a secret only. */
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=6&period=1", HMAC_SHA1, 6, 1, HELLO},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=8&period=3600", HMAC_SHA1, 8, 3600, HELLO},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=006&period=000000030", HMAC_SHA1, 6, 30,
     HELLO},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=%37&algorithm=%53HA256", HMAC_SHA256, 7, 30,
     HELLO},
    /* Surrounding whitespace. */
    {"  otpauth://totp/a?secret=JBSWY3DPEHPK3PXP\r\n", HMAC_SHA1, 6, 30, HELLO},
    /* Bare secrets: any case, spaces and dashes between groups, padding. */
    {"JBSWY3DPEHPK3PXP", HMAC_SHA1, 6, 30, HELLO},
    {"jbswy3dpehpk3pxp", HMAC_SHA1, 6, 30, HELLO},
    {"JbSwY3dPeHpK3pXp", HMAC_SHA1, 6, 30, HELLO},
    {"jbsw y3dp ehpk 3pxp", HMAC_SHA1, 6, 30, HELLO},
    {"JBSW-Y3DP-EHPK-3PXP", HMAC_SHA1, 6, 30, HELLO},
    {"\tJBSWY3DPEHPK3PXP \n", HMAC_SHA1, 6, 30, HELLO},
    {B32_SEED32 "====", HMAC_SHA1, 6, 30, S20 "313233343536373839303132"},
    {"otpauth", HMAC_SHA1, 6, 30, "74de0a4c"}, /* 7 base32 letters: a (weak) secret */
#undef HELLO
#undef S20
};

static void test_parse_good(void **state)
{
    struct totp_params p;
    unsigned char want[TOTP_SECRET_MAX_BYTES];
    size_t i, wantlen;

    (void)state;
    for (i = 0; i < NELEM(good_cases); i++) {
        print_message("good %zu: %s\n", i, good_cases[i].value);
        parse_ok(&p, good_cases[i].value);
        assert_int_equal(p.tp_alg, good_cases[i].alg);
        assert_int_equal(p.tp_digits, good_cases[i].digits);
        assert_int_equal(p.tp_period, good_cases[i].period);
        assert_int_equal(codec_hex_decode(want, sizeof(want), &wantlen, good_cases[i].secret_hex,
                                          strlen(good_cases[i].secret_hex)),
                         ERR_OK);
        assert_int_equal(p.tp_secret_len, wantlen);
        assert_memory_equal(p.tp_secret, want, wantlen);
        totp_params_clear(&p);
    }
}

/* Values that do not: the exact status and message. */
static const struct {
    const char *value;
    enum err rc;
    const char *msg;
} bad_cases[] = {
    /* No TOTP: the caller omits `totp`. */
    {"", TOTP_ERR_NOT_TOTP, MSG_EMPTY},
    {" \t\r\n ", TOTP_ERR_NOT_TOTP, MSG_EMPTY},
    {"otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=1", TOTP_ERR_NOT_TOTP, MSG_HOTP},
    {"OTPAUTH://HOTP?secret=garbage!", TOTP_ERR_NOT_TOTP, MSG_HOTP},
    /* Malformed URIs. */
    {"otpauth:", ERR_BAD_INPUT, MSG_BAD_URI},
    {"otpauth:/", ERR_BAD_INPUT, MSG_BAD_URI},
    {"otpauth:/totp/a?secret=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_BAD_URI},
    {"otpauth:totp/a?secret=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_BAD_URI},
    {"otpauth://", ERR_BAD_INPUT, MSG_BAD_URI},
    {"otpauth://?secret=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_BAD_URI},
    {"otpauth:///a?secret=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_BAD_URI},
    {"otpauth://#totp/a?secret=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_BAD_URI},
    {"otpauth://steam/a?secret=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_BAD_TYPE},
    {"otpauth://totpx/a?secret=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_BAD_TYPE},
    {"otpauth://tot/a?secret=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_BAD_TYPE},
    {"otpauth://totp:443/a?secret=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_BAD_TYPE},
    /* Query problems. */
    {"otpauth://totp/a", ERR_BAD_INPUT, MSG_NO_SECRET},
    {"otpauth://totp", ERR_BAD_INPUT, MSG_NO_SECRET},
    {"otpauth://totp/a?", ERR_BAD_INPUT, MSG_NO_SECRET},
    {"otpauth://totp/a?issuer=x&secrets=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_NO_SECRET},
    {"otpauth://totp/a#?secret=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_NO_SECRET},
    {"otpauth://totp/a?b?secret=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_NO_SECRET},
    {"otpauth://totp/a?secret%00=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_NO_SECRET},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP%", ERR_BAD_INPUT, MSG_BAD_ESCAPE},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP%4", ERR_BAD_INPUT, MSG_BAD_ESCAPE},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&issuer=%G1", ERR_BAD_INPUT, MSG_BAD_ESCAPE},
    {"otpauth://totp/a?issuer=100%&secret=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_BAD_ESCAPE},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&secret=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT,
     "OTP value has a duplicate secret parameter"},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&SECRET=", ERR_BAD_INPUT,
     "OTP value has a duplicate secret parameter"},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&Algorithm=SHA1", ERR_BAD_INPUT,
     "OTP value has a duplicate algorithm parameter"},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=6&digits=6", ERR_BAD_INPUT,
     "OTP value has a duplicate digits parameter"},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=30&%70eriod=30", ERR_BAD_INPUT,
     "OTP value has a duplicate period parameter"},
    /* The secret. */
    {"otpauth://totp/a?secret=", ERR_BAD_INPUT, MSG_SECRET_EMPTY},
    {"otpauth://totp/a?secret", ERR_BAD_INPUT, MSG_SECRET_EMPTY},
    {"otpauth://totp/a?secret=%20-+&issuer=x", ERR_BAD_INPUT, MSG_SECRET_EMPTY},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PX1", ERR_BAD_INPUT, MSG_SECRET_BASE32},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXPA", ERR_BAD_INPUT, MSG_SECRET_BASE32},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXPABC", ERR_BAD_INPUT, MSG_SECRET_BASE32},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXPABCDEF", ERR_BAD_INPUT, MSG_SECRET_BASE32},
    {"otpauth://totp/a?secret=JBSW=Y3DPEHPK3PXP", ERR_BAD_INPUT, MSG_SECRET_BASE32},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP=", ERR_BAD_INPUT, MSG_SECRET_BASE32},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PX==", ERR_BAD_INPUT, MSG_SECRET_BASE32},
    {"otpauth://totp/a?secret========", ERR_BAD_INPUT, MSG_SECRET_BASE32},
    {"otpauth://totp/a?secret=%00JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_SECRET_BASE32},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP%C3%A9", ERR_BAD_INPUT, MSG_SECRET_BASE32},
    {"otpauth://totp/a?secret=JBSW_Y3DPEHPK3PXP", ERR_BAD_INPUT, MSG_SECRET_BASE32},
    /* Algorithm, digits, period. */
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=MD5", ERR_BAD_INPUT, MSG_ALGORITHM},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=", ERR_BAD_INPUT, MSG_ALGORITHM},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm", ERR_BAD_INPUT, MSG_ALGORITHM},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=SHA-1", ERR_BAD_INPUT, MSG_ALGORITHM},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1+", ERR_BAD_INPUT, MSG_ALGORITHM},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=SHA384", ERR_BAD_INPUT, MSG_ALGORITHM},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=SHA2561234567890", ERR_BAD_INPUT,
     MSG_ALGORITHM},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1%00", ERR_BAD_INPUT, MSG_ALGORITHM},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=5", ERR_BAD_INPUT, MSG_DIGITS},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=9", ERR_BAD_INPUT, MSG_DIGITS},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=0", ERR_BAD_INPUT, MSG_DIGITS},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=", ERR_BAD_INPUT, MSG_DIGITS},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=six", ERR_BAD_INPUT, MSG_DIGITS},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=+6", ERR_BAD_INPUT, MSG_DIGITS},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=%2B6", ERR_BAD_INPUT, MSG_DIGITS},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=-6", ERR_BAD_INPUT, MSG_DIGITS},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=6.0", ERR_BAD_INPUT, MSG_DIGITS},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=0000000006", ERR_BAD_INPUT, MSG_DIGITS},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=4294967302", ERR_BAD_INPUT, MSG_DIGITS},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=0", ERR_BAD_INPUT, MSG_PERIOD},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=3601", ERR_BAD_INPUT, MSG_PERIOD},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=", ERR_BAD_INPUT, MSG_PERIOD},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=-30", ERR_BAD_INPUT, MSG_PERIOD},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=30s", ERR_BAD_INPUT, MSG_PERIOD},
    {"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=99999999999999999999", ERR_BAD_INPUT,
     MSG_PERIOD},
    /* The first problem in the query wins. */
    {"otpauth://totp/a?digits=9&secret=", ERR_BAD_INPUT, MSG_DIGITS},
    {"otpauth://totp/a?secret=!&period=0", ERR_BAD_INPUT, MSG_PERIOD},
    /* Bare values that are not base32 secrets. */
    {"not a secret!", ERR_BAD_INPUT, MSG_NOT_SECRET},
    {"https://example.com/otp", ERR_BAD_INPUT, MSG_NOT_SECRET},
    {"12345678", ERR_BAD_INPUT, MSG_NOT_SECRET},
    {"- - -", ERR_BAD_INPUT, MSG_NOT_SECRET},
    {"JBSWY3DPEHPK3PXPA", ERR_BAD_INPUT, MSG_NOT_SECRET},
    {"JBSW Y3DP\tEHPK 3PXP", ERR_BAD_INPUT, MSG_NOT_SECRET},
    {"otpauth//totp/a?secret=JBSWY3DPEHPK3PXP", ERR_BAD_INPUT, MSG_NOT_SECRET},
};

static void test_parse_bad(void **state)
{
    struct totp_params p;
    char msg[128];
    size_t i;

    (void)state;
    for (i = 0; i < NELEM(bad_cases); i++) {
        enum err rc;

        print_message("bad %zu: %s\n", i, bad_cases[i].value);
        memset(&p, 0xa5, sizeof(p));
        memset(msg, 'x', sizeof(msg));
        rc = totp_parse(&p, bad_cases[i].value, strlen(bad_cases[i].value), msg, sizeof(msg));
        assert_int_equal(rc, bad_cases[i].rc);
        assert_string_equal(msg, bad_cases[i].msg);
        assert_true(all_zero(&p, sizeof(p))); /* nothing left behind, secret included */
    }
    /* Embedded NUL bytes count by length, not as terminators. */
    assert_int_equal(totp_parse(&p, "JBSWY3DP\0EHPK3PXP", 17, msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_string_equal(msg, MSG_NOT_SECRET);
    /* A NULL value of length 0 is empty. */
    assert_int_equal(totp_parse(&p, NULL, 0, msg, sizeof(msg)), TOTP_ERR_NOT_TOTP);
    assert_string_equal(msg, MSG_EMPTY);
}

/* A failed parse into a struct holding an earlier secret wipes it. */
static void test_parse_wipes_on_error(void **state)
{
    static const char good[] = "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP";
    static const char bad[] = "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=9";
    struct totp_params p;
    char msg[64];

    (void)state;
    parse_ok(&p, good);
    assert_int_equal(p.tp_secret_len, 10);
    assert_int_equal(totp_parse(&p, bad, strlen(bad), msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_true(all_zero(&p, sizeof(p)));
}

/* Writes "otpauth://totp/a?secret=" + base32(n bytes) + suffix into out. */
static void make_uri(char *out, size_t cap, size_t n, const char *prefix)
{
    unsigned char secret[TOTP_SECRET_MAX_BYTES + 8];
    size_t i, len = strlen(prefix);

    assert_true(n <= sizeof(secret) && len < cap);
    for (i = 0; i < n; i++)
        secret[i] = (unsigned char)(i * 7 + 1);
    memcpy(out, prefix, len);
    assert_int_equal(codec_b32_encode(out + len, cap - len, NULL, secret, n, CODEC_B32_UPPER),
                     ERR_OK);
}

static void test_limits(void **state)
{
    static char value[TOTP_VALUE_MAX_BYTES + 2];
    struct totp_params p;
    char msg[128];
    size_t i, len;

    (void)state;
    /* Secrets: TOTP_SECRET_MAX_BYTES decodes, one more byte does not. */
    make_uri(value, sizeof(value), TOTP_SECRET_MAX_BYTES, "otpauth://totp/a?secret=");
    parse_ok(&p, value);
    assert_int_equal(p.tp_secret_len, TOTP_SECRET_MAX_BYTES);
    for (i = 0; i < TOTP_SECRET_MAX_BYTES; i++)
        assert_int_equal(p.tp_secret[i], (unsigned char)(i * 7 + 1));
    make_uri(value, sizeof(value), TOTP_SECRET_MAX_BYTES, "");
    parse_ok(&p, value);
    assert_int_equal(p.tp_secret_len, TOTP_SECRET_MAX_BYTES);

    make_uri(value, sizeof(value), TOTP_SECRET_MAX_BYTES + 1, "otpauth://totp/a?secret=");
    assert_int_equal(totp_parse(&p, value, strlen(value), msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_string_equal(msg, MSG_SECRET_LONG);
    make_uri(value, sizeof(value), TOTP_SECRET_MAX_BYTES + 1, "");
    assert_int_equal(totp_parse(&p, value, strlen(value), msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_string_equal(msg, MSG_SECRET_LONG);
    /* Far more text than any secret: still "too long", not a buffer problem. */
    memset(value, 'A', 1000);
    assert_int_equal(totp_parse(&p, value, 1000, msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_string_equal(msg, MSG_SECRET_LONG);
    /* Spaces and dashes do not count towards the secret. */
    make_uri(value, sizeof(value), 10, "otpauth://totp/a?secret=");
    len = strlen(value);
    memset(value + len, '-', 1000);
    value[len + 1000] = '\0';
    parse_ok(&p, value);
    assert_int_equal(p.tp_secret_len, 10);

    /* The whole value: TOTP_VALUE_MAX_BYTES is accepted, one more byte is not. */
    memset(value, 0, sizeof(value));
    memcpy(value, "otpauth://totp/", 15);
    memset(value + 15, 'L', TOTP_VALUE_MAX_BYTES - 15);
    memcpy(value + TOTP_VALUE_MAX_BYTES - 24, "?secret=JBSWY3DPEHPK3PXP", 24);
    assert_int_equal(strlen(value), TOTP_VALUE_MAX_BYTES);
    parse_ok(&p, value);
    value[TOTP_VALUE_MAX_BYTES] = ' ';
    assert_int_equal(totp_parse(&p, value, TOTP_VALUE_MAX_BYTES + 1, msg, sizeof(msg)),
                     ERR_BAD_INPUT);
    assert_string_equal(msg, MSG_TOO_LONG);
    totp_params_clear(&p);
}

static void test_errmsg_capacity(void **state)
{
    struct totp_params p;
    char msg[8];

    (void)state;
    /* Cut to the caller's capacity, always NUL-terminated. */
    memset(msg, 'x', sizeof(msg));
    assert_int_equal(totp_parse(&p, "!", 1, msg, 5), ERR_BAD_INPUT);
    assert_string_equal(msg, "OTP ");
    assert_int_equal(msg[5], 'x');
    assert_int_equal(totp_parse(&p, "!", 1, msg, 1), ERR_BAD_INPUT);
    assert_string_equal(msg, "");
    /* No buffer at all. */
    assert_int_equal(totp_parse(&p, "!", 1, NULL, 0), ERR_BAD_INPUT);
    msg[0] = 'x';
    assert_int_equal(totp_parse(&p, "!", 1, msg, 0), ERR_BAD_INPUT);
    assert_int_equal(msg[0], 'x');
    /* Success clears it. */
    assert_int_equal(totp_parse(&p, B32_SEED20, strlen(B32_SEED20), msg, sizeof(msg)), ERR_OK);
    assert_string_equal(msg, "");
    totp_params_clear(&p);
}

static void test_code_errors(void **state)
{
    struct totp_params p, q;
    char code[TOTP_CODE_BYTES];

    (void)state;
    parse_ok(&p, URI_SHA1);
    /* Output capacity: digits + NUL. */
    memset(code, 'x', sizeof(code));
    assert_int_equal(totp_code(code, 8, &p, 59), ERR_TOO_LARGE);
    assert_string_equal(code, "");
    assert_int_equal(totp_code(code, 9, &p, 59), ERR_OK);
    assert_string_equal(code, "94287082");
    assert_int_equal(totp_hotp_code(code, 8, &p, 1), ERR_TOO_LARGE);
    assert_int_equal(totp_code(NULL, 0, &p, 59), ERR_TOO_LARGE);
    /* Time before the epoch. */
    assert_int_equal(totp_code(code, sizeof(code), &p, -1), ERR_BAD_INPUT);
    assert_string_equal(code, "");
    assert_int_equal(totp_code(code, sizeof(code), &p, INT64_MIN), ERR_BAD_INPUT);
    /* Parameters out of range. */
    assert_int_equal(totp_code(code, sizeof(code), NULL, 59), ERR_BAD_INPUT);
    q = p;
    q.tp_digits = 5;
    assert_int_equal(totp_code(code, sizeof(code), &q, 59), ERR_BAD_INPUT);
    q.tp_digits = 9;
    assert_int_equal(totp_hotp_code(code, sizeof(code), &q, 1), ERR_BAD_INPUT);
    q = p;
    q.tp_period = 0;
    assert_int_equal(totp_code(code, sizeof(code), &q, 59), ERR_BAD_INPUT);
    assert_int_equal(totp_hotp_code(code, sizeof(code), &q, 1), ERR_OK); /* period unused */
    assert_string_equal(code, "94287082");
    q.tp_period = TOTP_PERIOD_MAX + 1;
    assert_int_equal(totp_code(code, sizeof(code), &q, 59), ERR_BAD_INPUT);
    q = p;
    q.tp_secret_len = 0;
    assert_int_equal(totp_code(code, sizeof(code), &q, 59), ERR_BAD_INPUT);
    q.tp_secret_len = TOTP_SECRET_MAX_BYTES + 1;
    assert_int_equal(totp_code(code, sizeof(code), &q, 59), ERR_BAD_INPUT);
    q = p;
    q.tp_alg = (enum hmac_alg)9;
    assert_int_equal(totp_code(code, sizeof(code), &q, 59), ERR_BAD_INPUT);
    totp_params_clear(&p);
    totp_params_clear(&q);
}

static void test_from_value(void **state)
{
    static const char hotp[] = "otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=0";
    static const char bad[] = "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=10";
    char code[TOTP_CODE_BYTES];

    (void)state;
    assert_int_equal(
        totp_from_value(code, sizeof(code), "gezd gnbv gy3t qojq gezd gnbv gy3t qojq", 39, 59),
        ERR_OK);
    assert_string_equal(code, "287082");
    memset(code, 'x', sizeof(code));
    assert_int_equal(totp_from_value(code, sizeof(code), hotp, strlen(hotp), 59),
                     TOTP_ERR_NOT_TOTP);
    assert_string_equal(code, "");
    memset(code, 'x', sizeof(code));
    assert_int_equal(totp_from_value(code, sizeof(code), "", 0, 59), TOTP_ERR_NOT_TOTP);
    assert_string_equal(code, "");
    memset(code, 'x', sizeof(code));
    assert_int_equal(totp_from_value(code, sizeof(code), bad, strlen(bad), 59), ERR_BAD_INPUT);
    assert_string_equal(code, "");
    memset(code, 'x', sizeof(code));
    assert_int_equal(totp_from_value(code, 6, B32_SEED20, strlen(B32_SEED20), 59), ERR_TOO_LARGE);
    assert_string_equal(code, "");
    assert_int_equal(totp_from_value(code, sizeof(code), B32_SEED20, strlen(B32_SEED20), -5),
                     ERR_BAD_INPUT);
    /* The "no TOTP" status is distinct from every client error. */
    assert_int_not_equal(TOTP_ERR_NOT_TOTP, ERR_BAD_INPUT);
    assert_int_not_equal(TOTP_ERR_NOT_TOTP, ERR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6238_vectors),
        cmocka_unit_test(test_rfc4226_hotp),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_period_and_digits),
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_parse_wipes_on_error),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_errmsg_capacity),
        cmocka_unit_test(test_code_errors),
        cmocka_unit_test(test_from_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
