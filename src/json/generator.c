/*
 * generator.c - the Connect password generator: recipe parsing, generation by rejection
 * sampling from the CSPRNG, the exact entropy of a recipe and the estimate for supplied
 * values. docs/data-model-generator.md states the rules.
 */
#include "json/generator.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"

#define GEN_NSETS        3
#define GEN_ALPHABET_MAX 81 /* 52 letters + 10 digits + 19 symbols */

/* The character classes of gen_entropy_estimate and their sizes. */
#define GEN_CLASS_LOWER  0x1u
#define GEN_CLASS_UPPER  0x2u
#define GEN_CLASS_DIGIT  0x4u
#define GEN_CLASS_SYMBOL 0x8u
#define GEN_CLASS_OTHER  0x10u
#define GEN_POOL_LOWER   26
#define GEN_POOL_UPPER   26
#define GEN_POOL_DIGIT   10
#define GEN_POOL_SYMBOL  33  /* the 32 ASCII punctuation characters and space */
#define GEN_POOL_OTHER   128 /* controls and non-ASCII: an arbitrary, documented figure */

static const struct {
    unsigned gs_bit;      /* GEN_SET_* */
    const char *gs_name;  /* the wire name */
    const char *gs_chars; /* the characters, each once */
} gen_sets[GEN_NSETS] = {
    {GEN_SET_LETTERS, "LETTERS", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    {GEN_SET_DIGITS, "DIGITS", "0123456789"},
    {GEN_SET_SYMBOLS, "SYMBOLS", GEN_SYMBOLS},
};

static int gen_is_excluded(const struct gen_recipe *r, unsigned char c)
{
    return c < 128 && ((r->gr_exclude[c >> 3] >> (c & 7)) & 1u);
}

/* Number of characters of set i that r does not exclude. */
static unsigned gen_set_size(const struct gen_recipe *r, size_t i)
{
    const char *p;
    unsigned n = 0;

    for (p = gen_sets[i].gs_chars; *p; p++)
        if (!gen_is_excluded(r, (unsigned char)*p))
            n++;
    return n;
}

/* Checks a recipe structure; the messages are those of gen_recipe_from_json. */
static enum err gen_recipe_check(const struct gen_recipe *r, char *errmsg, size_t errcap)
{
    unsigned count = 0;
    size_t i;

    if (r->gr_length < GEN_MIN_LENGTH || r->gr_length > GEN_MAX_LENGTH) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "recipe.length must be an integer from %d to %d",
                 GEN_MIN_LENGTH, GEN_MAX_LENGTH);
        return ERR_BAD_INPUT;
    }
    if (r->gr_sets == 0 || (r->gr_sets & ~GEN_SET_ALL) != 0) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                 "recipe.characterSets must name at least one of LETTERS, DIGITS, SYMBOLS");
        return ERR_BAD_INPUT;
    }
    for (i = 0; i < GEN_NSETS; i++) {
        if (!(r->gr_sets & gen_sets[i].gs_bit))
            continue;
        if (gen_set_size(r, i) == 0) {
            err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                     "recipe.excludeCharacters excludes every character of %s",
                     gen_sets[i].gs_name);
            return ERR_BAD_INPUT;
        }
        count++;
    }
    if (r->gr_length < count) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                 "recipe.length must be at least the number of character sets (%u)", count);
        return ERR_BAD_INPUT;
    }
    return ERR_OK;
}

/* Sets the defaults. */
void gen_recipe_default(struct gen_recipe *out)
{
    memset(out, 0, sizeof(*out));
    out->gr_length = GEN_DEFAULT_LENGTH;
    out->gr_sets = GEN_SET_ALL;
}

static int gen_ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Returns the GEN_SET_* bit named by the JSON value e (any ASCII case), or 0. */
static unsigned gen_set_lookup(const json_t *e)
{
    const char *s;
    size_t len, i, j;

    if (!json_is_string(e))
        return 0;
    s = json_string_value(e);
    len = json_string_length(e);
    for (i = 0; i < GEN_NSETS; i++) {
        const char *name = gen_sets[i].gs_name;
        if (strlen(name) != len)
            continue;
        for (j = 0; j < len; j++)
            if (gen_ascii_lower((unsigned char)s[j]) != gen_ascii_lower((unsigned char)name[j]))
                break;
        if (j == len)
            return gen_sets[i].gs_bit;
    }
    return 0;
}

/* Parses a GeneratorRecipe (see generator.h). */
enum err gen_recipe_from_json(struct gen_recipe *out, const json_t *recipe, char *errmsg,
                              size_t errcap)
{
    struct gen_recipe r;
    const json_t *v;
    enum err rc = ERR_BAD_INPUT;

    if (errmsg && errcap > 0)
        errmsg[0] = '\0';
    if (!out)
        return ERR_BAD_INPUT;
    memset(out, 0, sizeof(*out));
    gen_recipe_default(&r);
    if (!recipe || json_is_null(recipe))
        goto check;
    if (!json_is_object(recipe)) {
        err_msgf(ERR_BAD_INPUT, errmsg, errcap, "recipe must be an object");
        goto out;
    }

    v = json_object_get(recipe, "length");
    if (v && !json_is_null(v)) {
        json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
        if (n < GEN_MIN_LENGTH || n > GEN_MAX_LENGTH) {
            err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                     "recipe.length must be an integer from %d to %d", GEN_MIN_LENGTH,
                     GEN_MAX_LENGTH);
            goto out;
        }
        r.gr_length = (unsigned)n;
    }

    v = json_object_get(recipe, "characterSets");
    if (v && !json_is_null(v)) {
        unsigned sets = 0;
        size_t i;

        if (!json_is_array(v)) {
            err_msgf(ERR_BAD_INPUT, errmsg, errcap, "recipe.characterSets must be an array");
            goto out;
        }
        for (i = 0; i < json_array_size(v); i++) {
            unsigned bit = gen_set_lookup(json_array_get(v, i));
            if (bit == 0) {
                err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                         "recipe.characterSets[%zu] must be one of LETTERS, DIGITS, SYMBOLS", i);
                goto out;
            }
            if (sets & bit) {
                err_msgf(ERR_BAD_INPUT, errmsg, errcap,
                         "recipe.characterSets[%zu] repeats a character set", i);
                goto out;
            }
            sets |= bit;
        }
        /* An empty array means the defaults: the Go SDK (omitempty) cannot send one at all. */
        if (sets != 0)
            r.gr_sets = sets;
    }

    v = json_object_get(recipe, "excludeCharacters");
    if (v && !json_is_null(v)) {
        const unsigned char *s;
        size_t len, i;

        if (!json_is_string(v)) {
            err_msgf(ERR_BAD_INPUT, errmsg, errcap, "recipe.excludeCharacters must be a string");
            goto out;
        }
        s = (const unsigned char *)json_string_value(v);
        len = json_string_length(v);
        /* Bytes >= 0x80 belong to non-ASCII characters, which are never generated. */
        for (i = 0; i < len; i++)
            if (s[i] < 128)
                r.gr_exclude[s[i] >> 3] |= (unsigned char)(1u << (s[i] & 7));
    }

check:
    rc = gen_recipe_check(&r, errmsg, errcap);
    if (rc == ERR_OK)
        *out = r;
out:
    return rc;
}

/* Exact entropy of a recipe (see generator.h). */
double gen_recipe_entropy(const struct gen_recipe *r)
{
    double sizes[GEN_NSETS], n = 0.0, sum = 0.0;
    unsigned k = 0, mask, j;
    size_t i;

    if (!r || gen_recipe_check(r, NULL, 0) != ERR_OK)
        return -1.0;
    for (i = 0; i < GEN_NSETS; i++) {
        if (r->gr_sets & gen_sets[i].gs_bit) {
            sizes[k] = (double)gen_set_size(r, i);
            n += sizes[k];
            k++;
        }
    }
    /*
     * Inclusion-exclusion over the requested sets: the number of valid strings is
     * sum over subsets T of (-1)^|T| * (n - |union of T|)^L. Scaled by n^L so that every
     * term stays within [0, 1]; the sum is the probability that a uniform string over the
     * alphabet is valid (at least 1 / 505 for any valid recipe).
     */
    for (mask = 0; mask < (1u << k); mask++) {
        double rest = n, term;
        unsigned bits = 0;
        for (j = 0; j < k; j++) {
            if (mask & (1u << j)) {
                rest -= sizes[j];
                bits++;
            }
        }
        term = pow(rest / n, (double)r->gr_length);
        sum += (bits & 1u) ? -term : term;
    }
    return (double)r->gr_length * log2(n) + log2(sum);
}

/* Generates a password (see generator.h). */
enum err gen_password(char *out, size_t cap, const struct gen_recipe *r, double *entropy)
{
    char alphabet[GEN_ALPHABET_MAX];
    unsigned char owner[GEN_ALPHABET_MAX]; /* the GEN_SET_* bit of alphabet[i] */
    uint32_t n = 0, pick = 0;
    unsigned want = 0, seen = 0, i;
    unsigned char probe = 0;
    long attempt;
    size_t s;
    enum err rc;

    if (entropy)
        *entropy = 0.0;
    if (out && cap > 0)
        out[0] = '\0';
    if (!out || !r)
        return ERR_BAD_INPUT;
    rc = gen_recipe_check(r, NULL, 0);
    if (rc != ERR_OK)
        goto out;
    if (cap < (size_t)r->gr_length + 1) {
        rc = ERR_TOO_LARGE;
        goto out;
    }
    /* crypto_random_uniform cannot report failure (it returns 0): prove the CSPRNG works. */
    rc = crypto_random(&probe, 1);
    if (rc != ERR_OK)
        goto out;

    for (s = 0; s < GEN_NSETS; s++) {
        const char *p;
        if (!(r->gr_sets & gen_sets[s].gs_bit))
            continue;
        want |= gen_sets[s].gs_bit;
        for (p = gen_sets[s].gs_chars; *p; p++) {
            if (!gen_is_excluded(r, (unsigned char)*p)) {
                alphabet[n] = *p;
                owner[n] = (unsigned char)gen_sets[s].gs_bit;
                n++;
            }
        }
    }

    /*
     * Rejection sampling: draw whole strings uniformly over the alphabet and keep the first
     * one that holds every requested set. The result is uniform over the valid strings, so
     * gen_recipe_entropy is its exact entropy (placing one character of each set and then
     * shuffling is not uniform: it favours strings with many characters of small sets).
     */
    rc = ERR_INTERNAL;
    for (attempt = 0; attempt < GEN_MAX_ATTEMPTS; attempt++) {
        seen = 0;
        for (i = 0; i < r->gr_length; i++) {
            pick = crypto_random_uniform(n);
            out[i] = alphabet[pick];
            seen |= owner[pick];
        }
        if (seen == want) {
            rc = ERR_OK;
            break;
        }
    }
    if (rc == ERR_OK) {
        out[r->gr_length] = '\0';
        if (entropy)
            *entropy = gen_recipe_entropy(r);
    }

out:
    if (rc != ERR_OK && cap > 0)
        secmem_wipe(out, cap < GEN_MAX_LENGTH + 1 ? cap : GEN_MAX_LENGTH + 1);
    secmem_wipe(&pick, sizeof(pick));
    secmem_wipe(&seen, sizeof(seen));
    return rc;
}

/* Estimates the entropy of a supplied value (see generator.h). */
double gen_entropy_estimate(const char *value, size_t len)
{
    const unsigned char *p = (const unsigned char *)value;
    unsigned classes = 0, pool = 0;
    size_t chars = 0, i;

    if (!value)
        return 0.0;
    for (i = 0; i < len; i++) {
        unsigned char c = p[i];
        if ((c & 0xC0u) == 0x80u) { /* UTF-8 continuation byte: same character */
            classes |= GEN_CLASS_OTHER;
            continue;
        }
        chars++;
        if (c >= 'a' && c <= 'z')
            classes |= GEN_CLASS_LOWER;
        else if (c >= 'A' && c <= 'Z')
            classes |= GEN_CLASS_UPPER;
        else if (c >= '0' && c <= '9')
            classes |= GEN_CLASS_DIGIT;
        else if (c >= 0x20 && c <= 0x7E)
            classes |= GEN_CLASS_SYMBOL;
        else
            classes |= GEN_CLASS_OTHER;
    }
    if (chars == 0)
        return 0.0;
    if (classes & GEN_CLASS_LOWER)
        pool += GEN_POOL_LOWER;
    if (classes & GEN_CLASS_UPPER)
        pool += GEN_POOL_UPPER;
    if (classes & GEN_CLASS_DIGIT)
        pool += GEN_POOL_DIGIT;
    if (classes & GEN_CLASS_SYMBOL)
        pool += GEN_POOL_SYMBOL;
    if (classes & GEN_CLASS_OTHER)
        pool += GEN_POOL_OTHER;
    return (double)chars * log2((double)pool);
}
