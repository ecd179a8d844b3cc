/*
 * generator.h - the Connect password generator (connect-api.md §6.6, §4.8): a field sent
 * with "generate": true and an optional GeneratorRecipe
 *   {"length": 1..64, "characterSets": ["LETTERS","DIGITS","SYMBOLS"], "excludeCharacters": ""}
 * receives a random value drawn from the OS CSPRNG, uniformly over every string of the
 * requested length that uses only allowed characters and holds at least one character of
 * each requested set (rejection sampling, as 1Password's open-source spg generator does),
 * and an `entropy` equal to log2 of the number of such strings.
 *
 * The rules and every deliberate difference from Connect are in docs/data-model-generator.md.
 */
#ifndef SESAME_JSON_GENERATOR_H
#define SESAME_JSON_GENERATOR_H

#include <stddef.h>

#include <jansson.h>

#include "common/err.h"

#define GEN_MIN_LENGTH     1
#define GEN_MAX_LENGTH     64
#define GEN_DEFAULT_LENGTH 32

/* Character sets (bits of gr_sets). */
#define GEN_SET_LETTERS 0x1u /* a-z A-Z (52) */
#define GEN_SET_DIGITS  0x2u /* 0-9 (10) */
#define GEN_SET_SYMBOLS 0x4u /* GEN_SYMBOLS (19) */
#define GEN_SET_ALL     (GEN_SET_LETTERS | GEN_SET_DIGITS | GEN_SET_SYMBOLS)

/*
 * The SYMBOLS set: the symbol set of 1Password's open-source generator (github.com/1Password/
 * spg). It leaves out the characters that most often break shells, URLs and config files:
 * space " ' ` \ | $ & ; < / ( [ {.
 */
#define GEN_SYMBOLS "!#%)*+,-.:=>?@]^_}~"

/* Rejection-sampling attempts before giving up (the worst valid recipe needs ~505 on
 * average, so reaching this has probability below e^-190). */
#define GEN_MAX_ATTEMPTS 100000

/* A parsed, validated recipe. */
struct gen_recipe {
    unsigned gr_length;           /* GEN_MIN_LENGTH..GEN_MAX_LENGTH */
    unsigned gr_sets;             /* GEN_SET_* bits, non-empty */
    unsigned char gr_exclude[16]; /* bit (c & 7) of byte c >> 3 set: ASCII c never used */
};

/* Sets *out to the defaults: length 32, all three sets, nothing excluded. */
void gen_recipe_default(struct gen_recipe *out);

/*
 * Parses a GeneratorRecipe. recipe NULL or JSON null means the defaults; absent or null
 * members take their defaults; unknown members are ignored. Set names match in any ASCII
 * case. On ERR_OK *out is a recipe gen_password accepts. On ERR_BAD_INPUT *out is zeroed
 * (unusable) and errmsg (capacity errcap, may be 0) holds a message naming the offending
 * attribute, e.g. "recipe.length must be an integer from 1 to 64"; it never contains
 * request data. Never allocates.
 */
enum err gen_recipe_from_json(struct gen_recipe *out, const json_t *recipe, char *errmsg,
                              size_t errcap) SESAME_WUR;

/*
 * Returns the entropy in bits of gen_password's output for r: log2 of the number of strings
 * of length gr_length over the allowed characters holding at least one character of each
 * requested set (exact, by inclusion-exclusion). Returns -1.0 for an invalid recipe.
 */
double gen_recipe_entropy(const struct gen_recipe *r);

/*
 * Generates a password for r into out (capacity cap; the caller should pass secure memory
 * from secmem_alloc), NUL-terminated, gr_length characters long. *entropy (may be NULL)
 * receives gen_recipe_entropy(r). Returns ERR_OK; ERR_BAD_INPUT for an invalid recipe;
 * ERR_TOO_LARGE when cap < gr_length + 1; ERR_CRYPTO when the CSPRNG is unavailable;
 * ERR_INTERNAL if GEN_MAX_ATTEMPTS draws all failed the per-set guarantee (never in
 * practice). On any error out (if cap > 0) is wiped to the empty string.
 */
enum err gen_password(char *out, size_t cap, const struct gen_recipe *r,
                      double *entropy) SESAME_WUR;

/*
 * Estimates the entropy in bits of a password the client supplied (value, len bytes of
 * UTF-8, may hold NULs): characters * log2(sum of the sizes of the classes present), with
 * classes lower-case a-z (26), upper-case A-Z (26), digits (10), ASCII symbols and space
 * (33), and other (128: controls and non-ASCII). Characters are bytes that are not UTF-8
 * continuation bytes. An estimate of the search space for a brute-force attacker, not a
 * strength meter. Returns 0 for an empty value.
 */
double gen_entropy_estimate(const char *value, size_t len);

#endif
