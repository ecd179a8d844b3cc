/* test_generator.c - the Connect password generator: recipes, generation, entropy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "json/generator.h"

#define LETTERS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS  "0123456789"

/* Relative tolerance for entropy values (expected values computed with exact integers). */
#define assert_close(a, b) assert_close_impl((a), (b), __FILE__, __LINE__)

/* The build does not link libm: no fabs/log2 here. */
static double absd(double x)
{
    return x < 0.0 ? -x : x;
}

static void assert_close_impl(double got, double want, const char *file, int line)
{
    double tol = 1e-9 * (absd(want) > 1.0 ? absd(want) : 1.0);

    if (!(absd(got - want) <= tol)) {
        print_error("%s:%d: got %.17g, want %.17g\n", file, line, got, want);
        fail();
    }
}

static int setup(void **state)
{
    (void)state;
    return crypto_init() == ERR_OK ? 0 : -1;
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);

    if (!j)
        print_error("bad test JSON: %s: %s\n", text, jerr.text);
    assert_non_null(j);
    return j;
}

static int excluded(const struct gen_recipe *r, unsigned char c)
{
    return c < 128 && ((r->gr_exclude[c >> 3] >> (c & 7)) & 1u);
}

/* Counts the excluded ASCII characters of r. */
static int excluded_count(const struct gen_recipe *r)
{
    int c, n = 0;

    for (c = 0; c < 128; c++)
        n += excluded(r, (unsigned char)c);
    return n;
}

/* Parses a recipe that must be valid. */
static struct gen_recipe recipe_ok(const char *text)
{
    struct gen_recipe r;
    char msg[128];
    json_t *j = text ? parse(text) : NULL;

    assert_int_equal(gen_recipe_from_json(&r, j, msg, sizeof(msg)), ERR_OK);
    assert_string_equal(msg, "");
    json_decref(j);
    return r;
}

static void test_defaults(void **state)
{
    struct gen_recipe r, d;
    json_t *null = json_null();
    char msg[64] = "junk";

    (void)state;
    gen_recipe_default(&d);
    assert_int_equal(d.gr_length, 32);
    assert_int_equal(d.gr_sets, GEN_SET_LETTERS | GEN_SET_DIGITS | GEN_SET_SYMBOLS);
    assert_int_equal(excluded_count(&d), 0);

    assert_int_equal(gen_recipe_from_json(&r, NULL, msg, sizeof(msg)), ERR_OK);
    assert_string_equal(msg, "");
    assert_memory_equal(&r, &d, sizeof(r));
    assert_int_equal(gen_recipe_from_json(&r, null, NULL, 0), ERR_OK);
    assert_memory_equal(&r, &d, sizeof(r));
    r = recipe_ok("{}");
    assert_memory_equal(&r, &d, sizeof(r));
    json_decref(null);
}

static void test_good_recipes(void **state)
{
    static const struct {
        const char *json;
        unsigned length;
        unsigned sets;
        const char *exclude; /* every excluded ASCII character, each once */
        size_t exclude_len;
    } cases[] = {
        /* connect-api.md §4.8 example */
        {"{\"length\":40,\"characterSets\":[\"LETTERS\",\"DIGITS\"],\"excludeCharacters\":"
         "\"0O1l\"}",
         40, GEN_SET_LETTERS | GEN_SET_DIGITS, "0O1l", 4},
        {"{\"length\":1,\"characterSets\":[\"DIGITS\"]}", 1, GEN_SET_DIGITS, "", 0},
        {"{\"length\":64}", 64, GEN_SET_ALL, "", 0},
        {"{\"length\":3}", 3, GEN_SET_ALL, "", 0},
        {"{\"characterSets\":[\"symbols\",\"Digits\"]}", 32, GEN_SET_SYMBOLS | GEN_SET_DIGITS, "",
         0},
        {"{\"characterSets\":[\"SYMBOLS\",\"LETTERS\",\"DIGITS\"]}", 32, GEN_SET_ALL, "", 0},
        {"{\"characterSets\":[]}", 32, GEN_SET_ALL, "", 0},
        {"{\"length\":null,\"characterSets\":null,\"excludeCharacters\":null}", 32, GEN_SET_ALL, "",
         0},
        {"{\"unknown\":[1,2],\"Length\":5,\"length\":7,\"generate\":true}", 7, GEN_SET_ALL, "", 0},
        {"{\"excludeCharacters\":\"\"}", 32, GEN_SET_ALL, "", 0},
        {"{\"excludeCharacters\":\"aaaa\"}", 32, GEN_SET_ALL, "a", 1},
        /* non-ASCII characters are never generated: accepted and without effect */
        {"{\"excludeCharacters\":\"\\u00e9\\u00e9!\\ud83d\\ude00\"}", 32, GEN_SET_ALL, "!", 1},
        /* characters outside every set (space, quote, NUL) are accepted and recorded */
        {"{\"excludeCharacters\":\"a\\u0000b \\\"\"}", 32, GEN_SET_ALL, "a\0b \"", 5},
        {"{\"characterSets\":[\"LETTERS\"],\"excludeCharacters\":"
         "\"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY\"}",
         32, GEN_SET_LETTERS, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY", 51},
    };
    size_t i, k;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gen_recipe r = recipe_ok(cases[i].json);
        assert_int_equal(r.gr_length, cases[i].length);
        assert_int_equal(r.gr_sets, cases[i].sets);
        assert_int_equal(excluded_count(&r), (int)cases[i].exclude_len);
        for (k = 0; k < cases[i].exclude_len; k++)
            assert_true(excluded(&r, (unsigned char)cases[i].exclude[k]));
    }
}

static void test_bad_recipes(void **state)
{
    static const char len_msg[] = "recipe.length must be an integer from 1 to 64";
    static const char arr_msg[] = "recipe.characterSets must be an array";
    static const char exc_msg[] = "recipe.excludeCharacters must be a string";
    static const struct {
        const char *json;
        const char *msg;
    } cases[] = {
        {"[]", "recipe must be an object"},
        {"\"LETTERS\"", "recipe must be an object"},
        {"32", "recipe must be an object"},
        {"true", "recipe must be an object"},
        {"{\"length\":0}", len_msg},
        {"{\"length\":65}", len_msg},
        {"{\"length\":-1}", len_msg},
        {"{\"length\":-32}", len_msg},
        {"{\"length\":32.0}", len_msg},
        {"{\"length\":1e1}", len_msg},
        {"{\"length\":\"32\"}", len_msg},
        {"{\"length\":true}", len_msg},
        {"{\"length\":false}", len_msg},
        {"{\"length\":[32]}", len_msg},
        {"{\"length\":{}}", len_msg},
        {"{\"length\":4294967328}", len_msg}, /* 2^32 + 32: no truncation to 32 */
        {"{\"length\":9223372036854775807}", len_msg},
        {"{\"length\":-9223372036854775808}", len_msg},
        {"{\"characterSets\":\"LETTERS\"}", arr_msg},
        {"{\"characterSets\":{}}", arr_msg},
        {"{\"characterSets\":1}", arr_msg},
        {"{\"characterSets\":true}", arr_msg},
        {"{\"characterSets\":[1]}",
         "recipe.characterSets[0] must be one of LETTERS, DIGITS, SYMBOLS"},
        {"{\"characterSets\":[null]}",
         "recipe.characterSets[0] must be one of LETTERS, DIGITS, SYMBOLS"},
        {"{\"characterSets\":[[\"LETTERS\"]]}",
         "recipe.characterSets[0] must be one of LETTERS, DIGITS, SYMBOLS"},
        {"{\"characterSets\":[\"\"]}",
         "recipe.characterSets[0] must be one of LETTERS, DIGITS, SYMBOLS"},
        {"{\"characterSets\":[\"LETTER\"]}",
         "recipe.characterSets[0] must be one of LETTERS, DIGITS, SYMBOLS"},
        {"{\"characterSets\":[\"LETTERS \"]}",
         "recipe.characterSets[0] must be one of LETTERS, DIGITS, SYMBOLS"},
        {"{\"characterSets\":[\"LETTERS\\u0000\"]}",
         "recipe.characterSets[0] must be one of LETTERS, DIGITS, SYMBOLS"},
        {"{\"characterSets\":[\"LETTERS\",\"UPPER\"]}",
         "recipe.characterSets[1] must be one of LETTERS, DIGITS, SYMBOLS"},
        {"{\"characterSets\":[\"LETTERS\",\"letters\"]}",
         "recipe.characterSets[1] repeats a character set"},
        {"{\"characterSets\":[\"DIGITS\",\"SYMBOLS\",\"DIGITS\"]}",
         "recipe.characterSets[2] repeats a character set"},
        {"{\"excludeCharacters\":5}", exc_msg},
        {"{\"excludeCharacters\":[\"a\"]}", exc_msg},
        {"{\"excludeCharacters\":true}", exc_msg},
        {"{\"excludeCharacters\":{}}", exc_msg},
        {"{\"characterSets\":[\"DIGITS\"],\"excludeCharacters\":\"9876543210\"}",
         "recipe.excludeCharacters excludes every character of DIGITS"},
        {"{\"excludeCharacters\":\"!#%)*+,-.:=>?@]^_}~\"}",
         "recipe.excludeCharacters excludes every character of SYMBOLS"},
        {"{\"characterSets\":[\"LETTERS\",\"DIGITS\"],\"excludeCharacters\":"
         "\"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\"}",
         "recipe.excludeCharacters excludes every character of LETTERS"},
        {"{\"length\":2}", "recipe.length must be at least the number of character sets (3)"},
        {"{\"length\":1,\"characterSets\":[\"LETTERS\",\"DIGITS\"]}",
         "recipe.length must be at least the number of character sets (2)"},
        /* checks run in order: length, characterSets, excludeCharacters, feasibility */
        {"{\"length\":0,\"characterSets\":5,\"excludeCharacters\":5}", len_msg},
        {"{\"characterSets\":5,\"excludeCharacters\":5}", arr_msg},
        {"{\"length\":1,\"excludeCharacters\":\"0123456789\"}",
         "recipe.excludeCharacters excludes every character of DIGITS"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gen_recipe r;
        char msg[128];
        json_t *j = parse(cases[i].json);

        memset(&r, 0xAA, sizeof(r));
        assert_int_equal(gen_recipe_from_json(&r, j, msg, sizeof(msg)), ERR_BAD_INPUT);
        if (strcmp(msg, cases[i].msg) != 0)
            print_error("case %zu: %s\n", i, cases[i].json);
        assert_string_equal(msg, cases[i].msg);
        /* the out-parameter is left zeroed: unusable by gen_password */
        assert_int_equal(r.gr_length, 0);
        assert_int_equal(r.gr_sets, 0);
        assert_int_equal(excluded_count(&r), 0);
        json_decref(j);
    }
}

static void test_errmsg_capacity(void **state)
{
    struct gen_recipe r;
    char msg[10];
    json_t *j = parse("{\"length\":0}");

    (void)state;
    assert_int_equal(gen_recipe_from_json(&r, j, msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_string_equal(msg, "recipe.le");
    msg[0] = 'x';
    assert_int_equal(gen_recipe_from_json(&r, j, msg, 1), ERR_BAD_INPUT);
    assert_int_equal(msg[0], '\0');
    assert_int_equal(gen_recipe_from_json(&r, j, NULL, 0), ERR_BAD_INPUT);
    assert_int_equal(gen_recipe_from_json(NULL, j, msg, sizeof(msg)), ERR_BAD_INPUT);
    json_decref(j);
}

/* Which GEN_SET_* bit c belongs to, 0 for none. */
static unsigned set_of(char c)
{
    if (c && strchr(LETTERS, c))
        return GEN_SET_LETTERS;
    if (c && strchr(DIGITS, c))
        return GEN_SET_DIGITS;
    if (c && strchr(GEN_SYMBOLS, c))
        return GEN_SET_SYMBOLS;
    return 0;
}

/* Checks one generated value against its recipe; returns the sets present. */
static unsigned check_password(const char *pw, const struct gen_recipe *r)
{
    unsigned seen = 0;
    size_t i;

    assert_int_equal(strlen(pw), r->gr_length);
    for (i = 0; i < r->gr_length; i++) {
        unsigned s = set_of(pw[i]);
        assert_int_not_equal(s, 0);
        assert_true((r->gr_sets & s) != 0);
        assert_false(excluded(r, (unsigned char)pw[i]));
        seen |= s;
    }
    assert_int_equal(seen, r->gr_sets);
    return seen;
}

static void test_generate_invariants(void **state)
{
    static const struct {
        const char *json;
        int rounds;
        double entropy; /* log2 of the exact count, computed with big integers */
    } cases[] = {
        {NULL, 2000, 202.8534828352438},
        {"{\"length\":40,\"characterSets\":[\"LETTERS\",\"DIGITS\"],\"excludeCharacters\":"
         "\"0O1l\"}",
         2000, 234.3154253810578},
        {"{\"length\":1,\"characterSets\":[\"DIGITS\"]}", 2000, 3.321928094887362},
        {"{\"length\":64,\"characterSets\":[\"DIGITS\"]}", 500, 212.6033980727912},
        {"{\"length\":20,\"characterSets\":[\"SYMBOLS\"]}", 2000, 84.9585502688717},
        {"{\"length\":3}", 2000, 15.855257827193196},
        {"{\"length\":2,\"characterSets\":[\"LETTERS\",\"DIGITS\"]}", 2000, 10.022367813028454},
        {"{\"length\":64}", 500, 405.75008628623743},
        /* the slowest valid recipe: 52 letters, one digit, one symbol, length 3 (312 of 157464
         * strings are valid, ~505 draws per value) */
        {"{\"length\":3,\"excludeCharacters\":\"012345678!#%)*+,-.:=>?@]^_}\"}", 300,
         8.285402218862249},
        {"{\"length\":5,\"characterSets\":[\"LETTERS\"],\"excludeCharacters\":"
         "\"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY\"}",
         50, 0.0},
    };
    char *pw = secmem_alloc(GEN_MAX_LENGTH + 1);
    size_t i;
    int k;

    (void)state;
    assert_non_null(pw);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gen_recipe r = recipe_ok(cases[i].json);
        assert_close(gen_recipe_entropy(&r), cases[i].entropy);
        for (k = 0; k < cases[i].rounds; k++) {
            double e = -5.0;
            assert_int_equal(gen_password(pw, GEN_MAX_LENGTH + 1, &r, &e), ERR_OK);
            check_password(pw, &r);
            assert_close(e, cases[i].entropy);
        }
    }
    /* the single-character alphabet gives the only possible value */
    assert_string_equal(pw, "ZZZZZ");
    secmem_free(pw);
}

/* Every one of the 62 characters appears, and the counts pass a very loose chi-square. */
static void test_frequencies(void **state)
{
    static const char alphabet[] = LETTERS DIGITS;
    struct gen_recipe r = recipe_ok("{\"length\":64,\"characterSets\":[\"LETTERS\",\"DIGITS\"]}");
    long counts[256] = {0};
    char pw[GEN_MAX_LENGTH + 1];
    double expect, chi2 = 0.0;
    size_t i;
    int k;

    (void)state;
    for (k = 0; k < 1000; k++) {
        assert_int_equal(gen_password(pw, sizeof(pw), &r, NULL), ERR_OK);
        for (i = 0; i < 64; i++)
            counts[(unsigned char)pw[i]]++;
    }
    expect = 64000.0 / 62.0;
    for (i = 0; i < 62; i++) {
        double d = (double)counts[(unsigned char)alphabet[i]] - expect;
        assert_true(counts[(unsigned char)alphabet[i]] > 0);
        chi2 += d * d / expect;
    }
    /* 61 degrees of freedom: mean 61, sd 11; 200 is beyond p = 1e-15. */
    if (chi2 >= 200.0)
        print_error("chi-square %g\n", chi2);
    assert_true(chi2 < 200.0);
}

/* With the default recipe every one of the 81 characters and every set at position 0 occur. */
static void test_default_coverage(void **state)
{
    struct gen_recipe r;
    char pw[GEN_MAX_LENGTH + 1];
    unsigned first = 0;
    int seen[256] = {0};
    const char *p;
    int k, n = 0;

    (void)state;
    gen_recipe_default(&r);
    for (k = 0; k < 2000; k++) {
        assert_int_equal(gen_password(pw, sizeof(pw), &r, NULL), ERR_OK);
        check_password(pw, &r);
        first |= set_of(pw[0]);
        for (p = pw; *p; p++)
            seen[(unsigned char)*p] = 1;
    }
    assert_int_equal(first, GEN_SET_ALL);
    for (k = 0; k < 256; k++)
        n += seen[k];
    assert_int_equal(n, 81);
}

/*
 * Uniformity over the valid strings: alphabet {a, 0}, length 4, both sets required. The 14
 * valid strings must be equally likely (each 1/14). Placing one character of each set and
 * shuffling would give the six two-and-two strings 1/12 each and fail the chi-square.
 */
static void test_uniform_over_valid_strings(void **state)
{
    struct gen_recipe r =
        recipe_ok("{\"length\":4,\"characterSets\":[\"LETTERS\",\"DIGITS\"],\"excludeCharacters\":"
                  "\"bcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ123456789\"}");
    long counts[16] = {0};
    char pw[8];
    double chi2 = 0.0, expect = 14000.0 / 14.0;
    int k, i, distinct = 0;

    (void)state;
    assert_close(gen_recipe_entropy(&r), 3.807354922057604); /* log2(14) */
    for (k = 0; k < 14000; k++) {
        unsigned idx = 0;
        assert_int_equal(gen_password(pw, sizeof(pw), &r, NULL), ERR_OK);
        check_password(pw, &r);
        for (i = 0; i < 4; i++)
            idx = idx << 1 | (pw[i] == '0');
        counts[idx]++;
    }
    assert_int_equal(counts[0], 0);  /* "aaaa" */
    assert_int_equal(counts[15], 0); /* "0000" */
    for (i = 1; i < 15; i++) {
        double d = (double)counts[i] - expect;
        distinct += counts[i] > 0;
        chi2 += d * d / expect;
    }
    assert_int_equal(distinct, 14);
    /* 13 degrees of freedom: mean 13; 100 is beyond p = 1e-14; shuffling scores ~290. */
    if (chi2 >= 100.0)
        print_error("chi-square %g\n", chi2);
    assert_true(chi2 < 100.0);
}

static void test_entropy_exact(void **state)
{
    static const struct {
        const char *json;
        double entropy;
    } cases[] = {
        {NULL, 202.8534828352438}, /* 32 over 81, at least one of each (not 32*log2(81)) */
        {"{\"length\":1,\"characterSets\":[\"DIGITS\"]}", 3.321928094887362},
        {"{\"length\":3}", 15.855257827193196}, /* 3! * 52 * 10 * 19 = 59280 */
        {"{\"length\":2,\"characterSets\":[\"LETTERS\",\"DIGITS\"]}",
         10.022367813028454}, /* 2 * 52 * 10 = 1040 */
        {"{\"length\":3,\"excludeCharacters\":\"012345678!#%)*+,-.:=>?@]^_}\"}",
         8.285402218862249}, /* 312 */
        {"{\"length\":64}", 405.75008628623743},
    };
    struct gen_recipe bad, d;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gen_recipe r = recipe_ok(cases[i].json);
        assert_close(gen_recipe_entropy(&r), cases[i].entropy);
    }
    /* The simple length * log2(81) overstates the default by the per-set guarantee. */
    gen_recipe_default(&d);
    assert_close(202.87520009230798 /* 32 * log2(81) */ - gen_recipe_entropy(&d),
                 202.87520009230798 - 202.8534828352438);

    /* invalid recipe structures */
    assert_close(gen_recipe_entropy(NULL), -1.0);
    memset(&bad, 0, sizeof(bad));
    assert_close(gen_recipe_entropy(&bad), -1.0);
    bad = d;
    bad.gr_length = 65;
    assert_close(gen_recipe_entropy(&bad), -1.0);
    bad = d;
    bad.gr_sets = 0x8u;
    assert_close(gen_recipe_entropy(&bad), -1.0);
    bad = d;
    bad.gr_length = 2;
    assert_close(gen_recipe_entropy(&bad), -1.0);
}

static void test_password_errors(void **state)
{
    struct gen_recipe r, bad;
    char pw[GEN_MAX_LENGTH + 8];
    double e;

    (void)state;
    gen_recipe_default(&r);

    /* too small: ERR_TOO_LARGE, buffer wiped, entropy 0 */
    memset(pw, 'x', sizeof(pw));
    e = 1.0;
    assert_int_equal(gen_password(pw, 32, &r, &e), ERR_TOO_LARGE);
    assert_int_equal(pw[0], '\0');
    assert_int_equal(pw[31], '\0');
    assert_int_equal(pw[32], 'x'); /* nothing written past cap */
    assert_close(e, 0.0);

    /* exactly length + 1 is enough */
    assert_int_equal(gen_password(pw, 33, &r, &e), ERR_OK);
    assert_int_equal(strlen(pw), 32);
    assert_int_equal(pw[33], 'x');
    assert_close(e, 202.8534828352438);

    /* invalid recipe structures */
    memset(&bad, 0, sizeof(bad));
    memset(pw, 'x', sizeof(pw));
    assert_int_equal(gen_password(pw, sizeof(pw), &bad, &e), ERR_BAD_INPUT);
    assert_int_equal(pw[0], '\0');
    bad = r;
    bad.gr_sets = GEN_SET_ALL | 0x8u;
    assert_int_equal(gen_password(pw, sizeof(pw), &bad, NULL), ERR_BAD_INPUT);
    bad = r;
    bad.gr_length = 0;
    assert_int_equal(gen_password(pw, sizeof(pw), &bad, NULL), ERR_BAD_INPUT);
    bad = r;
    bad.gr_exclude['5' >> 3] = 0xFF; /* '0'..'7' */
    bad.gr_exclude['9' >> 3] = 0x03; /* '8', '9' */
    assert_int_equal(gen_password(pw, sizeof(pw), &bad, NULL), ERR_BAD_INPUT);
    assert_int_equal(gen_password(pw, sizeof(pw), NULL, NULL), ERR_BAD_INPUT);
    assert_int_equal(gen_password(NULL, 0, &r, NULL), ERR_BAD_INPUT);
    assert_int_equal(gen_password(pw, 0, &r, NULL), ERR_TOO_LARGE);

    /* two values in a row differ (2^-202 chance of a false failure) */
    {
        char a[GEN_MAX_LENGTH + 1], b[GEN_MAX_LENGTH + 1];
        assert_int_equal(gen_password(a, sizeof(a), &r, NULL), ERR_OK);
        assert_int_equal(gen_password(b, sizeof(b), &r, NULL), ERR_OK);
        assert_string_not_equal(a, b);
    }
}

static void test_entropy_estimate(void **state)
{
    static const struct {
        const char *value;
        size_t len;
        double bits;
    } cases[] = {
        {"", 0, 0.0},
        {"a", 1, 4.700439718141092},          /* 1 * log2(26) */
        {"password", 8, 37.603517745128734},  /* 8 * log2(26) */
        {"Password1", 9, 53.587766793481876}, /* 9 * log2(62) */
        {"P@ssw0rd", 8, 52.55884486664758},   /* 8 * log2(95) */
        {"1234", 4, 13.287712379549449},      /* 4 * log2(10) */
        {"7", 1, 3.321928094887362},
        {"a b", 3, 17.647929148085524},        /* space is a symbol: log2(59) */
        {"h\xc3\xa9llo", 6, 36.3339327034745}, /* 5 characters, log2(26 + 128) */
        {"\t", 1, 7.0},                        /* controls are "other" */
        {"a\0b", 3, 21.800359622084702},       /* NUL counts, as other */
        {"\xe6\x97\xa5\xe6\x9c\xac", 6, 14.0}, /* two CJK characters */
        {"\xf0\x9f\x98\x80", 4, 7.0},          /* one emoji */
        {"\xff\xfe", 2, 14.0},                 /* invalid bytes: one each */
        {"\x80\x80", 2, 0.0},                  /* continuation bytes only */
        {"aB3!aB3!aB3!aB3!aB3!aB3!aB3!aB3!aB3!aB3!aB3!aB3!aB3!aB3!aB3!aB3!", 64,
         420.47075893318066}, /* 64 * log2(95) */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_close(gen_entropy_estimate(cases[i].value, cases[i].len), cases[i].bits);
    assert_close(gen_entropy_estimate(NULL, 5), 0.0);
    /* only len bytes are read */
    assert_close(gen_entropy_estimate("abcD", 3), 14.101319154423276); /* 3 * log2(26) */
}

/* The documented SYMBOLS set: 19 distinct printable ASCII punctuation characters, none of
 * those that break shells, URLs and config files most often. */
static void test_symbol_set(void **state)
{
    static const char never[] = " \"'`\\|$&;</([{";
    const char *p;

    (void)state;
    assert_int_equal(strlen(GEN_SYMBOLS), 19);
    assert_string_equal(GEN_SYMBOLS, "!#%)*+,-.:=>?@]^_}~");
    for (p = GEN_SYMBOLS; *p; p++) {
        assert_true(*p > 0x20 && *p < 0x7F);
        assert_null(strchr(LETTERS DIGITS, *p));
        assert_ptr_equal(strchr(GEN_SYMBOLS, *p), p); /* no repeats */
        assert_null(strchr(never, *p));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_good_recipes),
        cmocka_unit_test(test_bad_recipes),
        cmocka_unit_test(test_errmsg_capacity),
        cmocka_unit_test(test_generate_invariants),
        cmocka_unit_test(test_frequencies),
        cmocka_unit_test(test_default_coverage),
        cmocka_unit_test(test_uniform_over_valid_strings),
        cmocka_unit_test(test_entropy_exact),
        cmocka_unit_test(test_password_errors),
        cmocka_unit_test(test_entropy_estimate),
        cmocka_unit_test(test_symbol_set),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
