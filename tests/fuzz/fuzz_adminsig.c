/*
 * fuzz_adminsig.c - libFuzzer driver for the hub's signed-request header parser
 * (keys/adminsig.c: adminsig_parse), the input being the Authorization value.
 *
 * Checks, aborting on a violation:
 *  - the result is ERR_OK with ADMINSIG_OK, or ERR_UNAUTHORIZED with a parse reason (never
 *    a verification one), and the same without the why pointer;
 *  - a refused value leaves *out all zero;
 *  - an accepted value fits the grammar: at most ADMINSIG_MAX_HEADER bytes, starts with the
 *    scheme in any case, an uppercase account id, ts >= 0, a nonce of ADMINSIG_NONCE_LEN
 *    characters decoding to 16 bytes; nonce and sig are canonical base64url (they encode
 *    back to the text given, which the driver finds in the input);
 *  - the canonical re-serialisation of an accepted value (and the same with the scheme in
 *    another case and the parameters in another order) parses to the same struct;
 *  - an accepted value never verifies with the driver's own key (a random signature), and
 *    the window is checked first; a header the driver signs for the parsed account, ts and
 *    nonce with adminsig_sign_nonce parses to them and verifies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/codec.h"
#include "keys/adminsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ec_key *fuzz_key;

static void fuzz_check(int ok)
{
    if (!ok)
        abort();
}

/* Returns 1 for the reasons adminsig_parse may give for a refused value. */
static int fuzz_parse_reason(enum adminsig_reason r)
{
    switch (r) {
    case ADMINSIG_EMPTY:
    case ADMINSIG_TOO_LONG:
    case ADMINSIG_BAD_SCHEME:
    case ADMINSIG_MALFORMED:
    case ADMINSIG_UNKNOWN_PARAM:
    case ADMINSIG_DUPLICATE_PARAM:
    case ADMINSIG_MISSING_PARAM:
    case ADMINSIG_BAD_ACCOUNT:
    case ADMINSIG_BAD_TS:
    case ADMINSIG_BAD_NONCE:
    case ADMINSIG_BAD_SIG_ENCODING:
        return 1;
    default:
        return 0;
    }
}

static int fuzz_all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++) {
        if (b[i])
            return 0;
    }
    return 1;
}

/* Returns 1 when needle (NUL-terminated) occurs in hay (n bytes). */
static int fuzz_contains(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);

    return k <= n && memmem(hay, n, needle, k) != NULL;
}

/* Parses text (len bytes) and checks it gives exactly *want. */
static void fuzz_reparse(const char *text, size_t len, const struct adminsig_auth *want)
{
    struct adminsig_auth again;
    enum adminsig_reason why = ADMINSIG__COUNT;

    fuzz_check(adminsig_parse(&again, text, len, &why) == ERR_OK && why == ADMINSIG_OK);
    fuzz_check(memcmp(&again, want, sizeof(again)) == 0);
}

/* The checks of an accepted value a parsed from in (n bytes). */
static void fuzz_accepted(const struct adminsig_auth *a, const char *in, size_t n)
{
    char sig[ADMINSIG_SIG_LEN + 1];
    unsigned char nonce[ADMINSIG_NONCE_BYTES];
    size_t got = 0;
    struct adminsig_auth signed_a;
    enum adminsig_reason why;
    struct buf b;

    fuzz_check(n <= ADMINSIG_MAX_HEADER && n > strlen(ADMINSIG_SCHEME));
    fuzz_check(strncasecmp(in, ADMINSIG_SCHEME, strlen(ADMINSIG_SCHEME)) == 0);
    fuzz_check(strlen(a->aa_account) == ID_LEN && id_is_valid_upper(a->aa_account));
    fuzz_check(a->aa_ts >= 0);
    fuzz_check(strlen(a->aa_nonce) == ADMINSIG_NONCE_LEN);
    fuzz_check(codec_b64_decode(nonce, sizeof(nonce), &got, a->aa_nonce, ADMINSIG_NONCE_LEN,
                                CODEC_B64_URL) == ERR_OK &&
               got == ADMINSIG_NONCE_BYTES);
    fuzz_check(codec_b64_encode(sig, sizeof(sig), &got, a->aa_sig, sizeof(a->aa_sig),
                                CODEC_B64_URL) == ERR_OK &&
               got == ADMINSIG_SIG_LEN);
    /* Strict: the texts given are the canonical encodings of what was decoded. */
    fuzz_check(fuzz_contains(in, n, a->aa_nonce));
    fuzz_check(fuzz_contains(in, n, sig));
    fuzz_check(fuzz_contains(in, n, a->aa_account));

    /* The canonical form, then another order and scheme case, parse to the same. */
    buf_init(&b, ADMINSIG_MAX_HEADER + 1);
    fuzz_check(buf_addf(&b, "%s account=%s, ts=%lld, nonce=%s, sig=%s", ADMINSIG_SCHEME,
                        a->aa_account, (long long)a->aa_ts, a->aa_nonce, sig) == ERR_OK);
    fuzz_reparse(b.b_data, b.b_len, a);
    buf_reset(&b);
    fuzz_check(buf_addf(&b, "sESAME-aDMIN   sig=%s,nonce=%s\t,\tts=%lld ,account=%s", sig,
                        a->aa_nonce, (long long)a->aa_ts, a->aa_account) == ERR_OK);
    fuzz_reparse(b.b_data, b.b_len, a);
    buf_free(&b);

    /* A random signature never verifies; the window comes first. */
    why = ADMINSIG__COUNT;
    fuzz_check(adminsig_verify(a, fuzz_key, "GET", "/v1/x", NULL, 0, a->aa_ts, &why) ==
                   ERR_UNAUTHORIZED &&
               why == ADMINSIG_BAD_SIGNATURE);
    if (a->aa_ts <= INT64_MAX - ADMINSIG_WINDOW_SECONDS - 1) {
        why = ADMINSIG__COUNT;
        fuzz_check(adminsig_verify(a, fuzz_key, "GET", "/v1/x", NULL, 0,
                                   a->aa_ts + ADMINSIG_WINDOW_SECONDS + 1,
                                   &why) == ERR_UNAUTHORIZED &&
                   why == ADMINSIG_OUTSIDE_WINDOW);
    }

    /* A real signature for the same account, ts and nonce parses back and verifies. */
    buf_init(&b, ADMINSIG_MAX_HEADER + 1);
    fuzz_check(adminsig_sign_nonce(&b, fuzz_key, a->aa_account, "PUT", "/v1/a?b=c", "body", 4,
                                   a->aa_ts, nonce) == ERR_OK);
    fuzz_check(adminsig_parse(&signed_a, b.b_data, b.b_len, NULL) == ERR_OK);
    fuzz_check(strcmp(signed_a.aa_account, a->aa_account) == 0 && signed_a.aa_ts == a->aa_ts &&
               strcmp(signed_a.aa_nonce, a->aa_nonce) == 0);
    why = ADMINSIG__COUNT;
    fuzz_check(adminsig_verify(&signed_a, fuzz_key, "PUT", "/v1/a?b=c", "body", 4, a->aa_ts,
                               &why) == ERR_OK &&
               why == ADMINSIG_OK);
    why = ADMINSIG__COUNT;
    fuzz_check(adminsig_verify(&signed_a, fuzz_key, "PUT", "/v1/a?b=d", "body", 4, a->aa_ts,
                               &why) == ERR_UNAUTHORIZED &&
               why == ADMINSIG_BAD_SIGNATURE);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    struct adminsig_auth a, b;
    enum adminsig_reason why = ADMINSIG__COUNT;
    enum err rc;

    if (!fuzz_key && ecdsa_p256_generate(&fuzz_key) != ERR_OK)
        abort();
    memset(&a, 0xA5, sizeof(a));
    rc = adminsig_parse(&a, in, size, &why);
    fuzz_check(strcmp(adminsig_reason_name(why), "unknown") != 0);
    memset(&b, 0x5A, sizeof(b));
    fuzz_check(adminsig_parse(&b, in, size, NULL) == rc);
    fuzz_check(memcmp(&a, &b, sizeof(a)) == 0);
    if (rc != ERR_OK) {
        fuzz_check(rc == ERR_UNAUTHORIZED && fuzz_parse_reason(why));
        fuzz_check(fuzz_all_zero(&a, sizeof(a)));
        return 0;
    }
    fuzz_check(why == ADMINSIG_OK);
    fuzz_accepted(&a, in, size);
    return 0;
}
