/*
 * fuzz_recipe.c - libFuzzer driver for the password generator: the input is parsed as JSON
 * (any value, duplicate keys rejected, NULs allowed) and fed to gen_recipe_from_json. A
 * rejected recipe must give ERR_BAD_INPUT, a zeroed recipe and one of the fixed messages
 * (so no request data is echoed); an accepted one must generate a value that has the right
 * length, only allowed characters, none excluded, and one of each requested set, with the
 * recipe's entropy. gen_entropy_estimate runs on the raw input. Any violation aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "json/generator.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_LETTERS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define FZ_DIGITS  "0123456789"
#define FZ_LOG2_81 6.339850002884625 /* bits per character of the full alphabet */

/* Every message gen_recipe_from_json may return, with its digits removed. */
static const char *const fz_messages[] = {
    "recipe must be an object",
    "recipe.length must be an integer from  to ",
    "recipe.characterSets must be an array",
    "recipe.characterSets[] must be one of LETTERS, DIGITS, SYMBOLS",
    "recipe.characterSets[] repeats a character set",
    "recipe.excludeCharacters must be a string",
    "recipe.excludeCharacters excludes every character of LETTERS",
    "recipe.excludeCharacters excludes every character of DIGITS",
    "recipe.excludeCharacters excludes every character of SYMBOLS",
    "recipe.length must be at least the number of character sets ()",
};

static int fz_known_message(const char *msg)
{
    char bare[160];
    size_t i, n = 0;

    for (i = 0; msg[i] && n + 1 < sizeof(bare); i++)
        if (msg[i] < '0' || msg[i] > '9')
            bare[n++] = msg[i];
    bare[n] = '\0';
    for (i = 0; i < sizeof(fz_messages) / sizeof(fz_messages[0]); i++)
        if (strcmp(bare, fz_messages[i]) == 0)
            return 1;
    return 0;
}

static unsigned fz_set_of(char c)
{
    if (c && strchr(FZ_LETTERS, c))
        return GEN_SET_LETTERS;
    if (c && strchr(FZ_DIGITS, c))
        return GEN_SET_DIGITS;
    if (c && strchr(GEN_SYMBOLS, c))
        return GEN_SET_SYMBOLS;
    return 0;
}

static int fz_excluded(const struct gen_recipe *r, unsigned char c)
{
    return c < 128 && ((r->gr_exclude[c >> 3] >> (c & 7)) & 1u);
}

static void fz_check_value(const char *pw, const struct gen_recipe *r)
{
    unsigned seen = 0;
    size_t i;

    if (strlen(pw) != r->gr_length)
        abort();
    for (i = 0; i < r->gr_length; i++) {
        unsigned s = fz_set_of(pw[i]);
        if (s == 0 || !(r->gr_sets & s) || fz_excluded(r, (unsigned char)pw[i]))
            abort();
        seen |= s;
    }
    if (seen != r->gr_sets)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static const struct gen_recipe zero;
    struct gen_recipe r, r2;
    char msg[128], small[8], pw[GEN_MAX_LENGTH + 1];
    json_error_t jerr;
    json_t *root;
    double est, e, e2 = -1.0;
    enum err rc;

    if (!ready) {
        if (crypto_init() != ERR_OK)
            abort();
        ready = 1;
    }

    /* At most log2(26 + 26 + 10 + 33 + 128) < 8 bits per byte. */
    est = gen_entropy_estimate((const char *)data, size);
    if (!(est >= 0.0) || est > 8.0 * (double)size)
        abort();

    root = json_loadb((const char *)data, size,
                      JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return 0;

    rc = gen_recipe_from_json(&r, root, msg, sizeof(msg));
    /* A short message buffer changes nothing but the (truncated, terminated) text. */
    if (gen_recipe_from_json(&r2, root, small, sizeof(small)) != rc ||
        memchr(small, '\0', sizeof(small)) == NULL || memcmp(&r, &r2, sizeof(r)) != 0 ||
        strncmp(small, msg, strlen(small)) != 0)
        abort();

    if (rc != ERR_OK) {
        if (rc != ERR_BAD_INPUT || !fz_known_message(msg) || memcmp(&r, &zero, sizeof(r)) != 0)
            abort();
        if (gen_password(pw, sizeof(pw), &r, NULL) != ERR_BAD_INPUT || pw[0] != '\0')
            abort();
        goto out;
    }
    if (msg[0] != '\0' || r.gr_length < GEN_MIN_LENGTH || r.gr_length > GEN_MAX_LENGTH ||
        r.gr_sets == 0 || (r.gr_sets & ~GEN_SET_ALL) != 0)
        abort();

    e = gen_recipe_entropy(&r);
    if (!(e >= 0.0) || e > (double)r.gr_length * FZ_LOG2_81 + 1e-9)
        abort();
    if (gen_password(pw, sizeof(pw), &r, &e2) != ERR_OK || e2 != e)
        abort();
    fz_check_value(pw, &r);
    /* a buffer one byte short is refused and wiped */
    if (gen_password(pw, r.gr_length, &r, NULL) != ERR_TOO_LARGE || pw[0] != '\0')
        abort();

out:
    json_decref(root);
    return 0;
}
