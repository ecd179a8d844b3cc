/*
 * fuzz_tokenargs.c - libFuzzer driver for the CLI arguments of `sesame connect token`
 * (keys/token.c): token_vault_spec_parse (--vault) and token_duration_parse
 * (--expires-in).
 *
 * Input: one selector byte (even: --vault, odd: --expires-in), then the argument text (up
 * to its first NUL). Checks, aborting on a violation:
 *  - --vault: ERR_OK or ERR_BAD_INPUT; on success the vault part is not empty, the access
 *    one of r / w / rw, and either the whole text is the vault (read only) or the vault is
 *    followed by ':' and the access text; the canonical "VAULT:r|w|rw" parses to the same;
 *    on error both outputs are 0;
 *  - --expires-in: agrees with a model of "<digits><s|m|h|d>" between 1 s and
 *    TOKEN_MAX_LIFETIME_SEC; the canonical form (no leading zeros) parses to the same;
 *  - messages (nothing is promised on success): on error one line starting with the
 *    option's name, NUL-terminated within the buffer, also in a tiny buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ARG 512

static void fuzz_check(int ok)
{
    if (!ok)
        abort();
}

static void fuzz_check_error(const char *msg, size_t cap, const char *prefix)
{
    fuzz_check(memchr(msg, '\0', cap) != NULL);
    fuzz_check(strchr(msg, '\n') == NULL);
    fuzz_check(strncmp(msg, prefix, strlen(prefix)) == 0);
}

static void fuzz_vault(const char *s)
{
    static const char *const names[] = {"", "r", "w", "rw"};
    size_t vlen = 99, n = strlen(s), vlen2 = 0;
    unsigned access = 99, access2 = 0;
    char msg[256], tiny[5], canon[FUZZ_MAX_ARG + 8];
    enum err rc;

    memset(msg, 'x', sizeof(msg));
    memset(tiny, 'x', sizeof(tiny));
    rc = token_vault_spec_parse(s, &vlen, &access, msg, sizeof(msg));
    fuzz_check(token_vault_spec_parse(s, &vlen2, &access2, tiny, sizeof(tiny)) == rc);
    if (rc != ERR_OK) {
        fuzz_check(memchr(tiny, '\0', sizeof(tiny)) != NULL);
        fuzz_check(rc == ERR_BAD_INPUT && vlen == 0 && access == 0);
        fuzz_check_error(msg, sizeof(msg), "--vault: ");
        return;
    }
    fuzz_check(vlen2 == vlen && access2 == access);
    fuzz_check(n >= 1 && n <= TOKEN_MAX_VAULT_SPEC);
    fuzz_check(vlen >= 1 && vlen <= n);
    fuzz_check(access == TOKEN_ACCESS_READ || access == TOKEN_ACCESS_WRITE ||
               access == TOKEN_ACCESS_ALL);
    if (vlen == n) {
        fuzz_check(access == TOKEN_ACCESS_READ);
        /* Whatever follows the last ':' is then not an access text. */
        {
            const char *c = strrchr(s, ':');

            fuzz_check(!c || (c[1] != '\0' && strcmp(c + 1, "r") != 0 && strcmp(c + 1, "w") != 0 &&
                              strcmp(c + 1, "rw") != 0 && strcmp(c + 1, "wr") != 0));
        }
    } else {
        fuzz_check(s[vlen] == ':');
        fuzz_check(strchr(s + vlen + 1, ':') == NULL);
        if (access == TOKEN_ACCESS_ALL)
            fuzz_check(strcmp(s + vlen + 1, "rw") == 0 || strcmp(s + vlen + 1, "wr") == 0);
        else
            fuzz_check(strcmp(s + vlen + 1, names[access]) == 0);
    }
    /* The canonical form of the grant means the same, when it fits. */
    if (vlen + 1 + strlen(names[access]) <= TOKEN_MAX_VAULT_SPEC) {
        snprintf(canon, sizeof(canon), "%.*s:%s", (int)vlen, s, names[access]);
        fuzz_check(token_vault_spec_parse(canon, &vlen2, &access2, NULL, 0) == ERR_OK);
        fuzz_check(vlen2 == vlen && access2 == access);
    }
}

/* The model: seconds for a well-formed, in-range duration, else 0. */
static int64_t fuzz_duration_model(const char *s)
{
    size_t i = 0, digits = 0;
    int64_t v = 0, unit;

    while (s[i] == '0')
        i++;
    for (; s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        if (digits >= 12)
            return 0; /* over ten years in seconds whatever the unit */
        v = v * 10 + (s[i] - '0');
    }
    if (i == 0 || s[i] == '\0' || s[i + 1] != '\0')
        return 0;
    if (s[i] == 's')
        unit = 1;
    else if (s[i] == 'm')
        unit = 60;
    else if (s[i] == 'h')
        unit = 3600;
    else if (s[i] == 'd')
        unit = 86400;
    else
        return 0;
    if (v == 0 || v > TOKEN_MAX_LIFETIME_SEC / unit)
        return 0;
    return v * unit;
}

static void fuzz_duration(const char *s)
{
    int64_t secs = 99, secs2 = 0, model = fuzz_duration_model(s);
    char msg[256], tiny[5], canon[32];
    enum err rc;

    memset(msg, 'x', sizeof(msg));
    memset(tiny, 'x', sizeof(tiny));
    rc = token_duration_parse(s, &secs, msg, sizeof(msg));
    fuzz_check(token_duration_parse(s, &secs2, tiny, sizeof(tiny)) == rc);
    if (rc != ERR_OK) {
        fuzz_check(memchr(tiny, '\0', sizeof(tiny)) != NULL);
        fuzz_check(rc == ERR_BAD_INPUT && secs == 0 && model == 0);
        fuzz_check_error(msg, sizeof(msg), "--expires-in: ");
        return;
    }
    fuzz_check(secs == model && secs2 == secs);
    fuzz_check(secs >= 1 && secs <= TOKEN_MAX_LIFETIME_SEC);
    snprintf(canon, sizeof(canon), "%llds", (long long)secs);
    fuzz_check(token_duration_parse(canon, &secs2, NULL, 0) == ERR_OK && secs2 == secs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[FUZZ_MAX_ARG + 1];
    size_t n;

    if (size == 0)
        return 0;
    n = size - 1 < FUZZ_MAX_ARG ? size - 1 : FUZZ_MAX_ARG;
    memcpy(s, data + 1, n);
    s[n] = '\0';
    if (data[0] & 1)
        fuzz_duration(s);
    else
        fuzz_vault(s);
    return 0;
}
