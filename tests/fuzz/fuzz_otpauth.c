/*
 * fuzz_otpauth.c - libFuzzer driver for OTP field values (src/json/totp.c).
 *
 * Feeds the input to totp_parse and checks its contract: a NUL-terminated "OTP ..."
 * message and a wiped struct on failure, the same status with a tiny message buffer,
 * parameters in range on success. On success it makes codes at fixed times (each must be
 * exactly tp_digits decimal digits and agree with totp_from_value), and re-encodes the
 * parameters as a canonical otpauth URI that must parse back to the same parameters.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "crypto/crypto.h"
#include "json/totp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Base32 of the largest secret, padded, plus the URI around it. */
#define FUZZ_URI_MAX 512

static void fuzz_require(int ok)
{
    if (!ok)
        abort();
}

static int fuzz_all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void fuzz_check_code(const char *code, unsigned digits)
{
    size_t i;

    fuzz_require(strlen(code) == digits);
    for (i = 0; i < digits; i++)
        fuzz_require(code[i] >= '0' && code[i] <= '9');
}

static const char *fuzz_alg_name(enum hmac_alg alg)
{
    switch (alg) {
    case HMAC_SHA1:
        return "SHA1";
    case HMAC_SHA256:
        return "sha256";
    case HMAC_SHA512:
        return "Sha512";
    }
    abort();
}

/* Re-encodes p canonically and checks it parses back to the same parameters. */
static void fuzz_round_trip(const struct totp_params *p)
{
    struct totp_params q;
    char uri[FUZZ_URI_MAX], b32[FUZZ_URI_MAX];
    char msg[96];
    int n;

    fuzz_require(codec_b32_encode(b32, sizeof(b32), NULL, p->tp_secret, p->tp_secret_len,
                                  CODEC_B32_UPPER | CODEC_PAD) == ERR_OK);
    n = snprintf(uri, sizeof(uri),
                 "otpauth://totp/Fuzz:me?secret=%s&algorithm=%s&digits=%u&period=%u", b32,
                 fuzz_alg_name(p->tp_alg), p->tp_digits, p->tp_period);
    fuzz_require(n > 0 && (size_t)n < sizeof(uri));
    fuzz_require(totp_parse(&q, uri, (size_t)n, msg, sizeof(msg)) == ERR_OK);
    fuzz_require(q.tp_alg == p->tp_alg && q.tp_digits == p->tp_digits &&
                 q.tp_period == p->tp_period && q.tp_secret_len == p->tp_secret_len &&
                 crypto_memeq(q.tp_secret, p->tp_secret, p->tp_secret_len));
    /* The bare form with the default parameters. */
    fuzz_require(totp_parse(&q, b32, strlen(b32), msg, sizeof(msg)) == ERR_OK);
    fuzz_require(q.tp_secret_len == p->tp_secret_len &&
                 crypto_memeq(q.tp_secret, p->tp_secret, p->tp_secret_len));
    secmem_wipe(uri, sizeof(uri));
    secmem_wipe(b32, sizeof(b32));
    totp_params_clear(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t times[] = {0, 59, 1111111109, 20000000000, INT64_MAX};
    const char *value = (const char *)data;
    struct totp_params p;
    char msg[128], tiny[6], code[TOTP_CODE_BYTES], code2[TOTP_CODE_BYTES];
    enum err rc, rc2;
    size_t i;

    memset(msg, 'x', sizeof(msg));
    rc = totp_parse(&p, value, size, msg, sizeof(msg));
    fuzz_require(memchr(msg, '\0', sizeof(msg)) != NULL);
    memset(tiny, 'x', sizeof(tiny));
    rc2 = totp_parse(&p, value, size, tiny, sizeof(tiny));
    fuzz_require(rc2 == rc && memchr(tiny, '\0', sizeof(tiny)) != NULL);
    fuzz_require(strncmp(tiny, msg, strlen(tiny)) == 0);
    if (rc != ERR_OK) {
        fuzz_require(rc == ERR_BAD_INPUT || rc == TOTP_ERR_NOT_TOTP);
        fuzz_require(strncmp(msg, "OTP ", 4) == 0);
        fuzz_require(fuzz_all_zero(&p, sizeof(p)));
        rc2 = totp_from_value(code, sizeof(code), value, size, 59);
        fuzz_require(rc2 == rc && code[0] == '\0');
        return 0;
    }
    fuzz_require(msg[0] == '\0');
    fuzz_require(hmac_size(p.tp_alg) != 0);
    fuzz_require(p.tp_digits >= TOTP_DIGITS_MIN && p.tp_digits <= TOTP_DIGITS_MAX);
    fuzz_require(p.tp_period >= 1 && p.tp_period <= TOTP_PERIOD_MAX);
    fuzz_require(p.tp_secret_len >= 1 && p.tp_secret_len <= TOTP_SECRET_MAX_BYTES);
    for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        fuzz_require(totp_code(code, sizeof(code), &p, times[i]) == ERR_OK);
        fuzz_check_code(code, p.tp_digits);
        fuzz_require(totp_from_value(code2, sizeof(code2), value, size, times[i]) == ERR_OK);
        fuzz_require(strcmp(code, code2) == 0);
    }
    fuzz_require(totp_hotp_code(code, sizeof(code), &p, 0) == ERR_OK);
    fuzz_check_code(code, p.tp_digits);
    fuzz_require(totp_code(code, p.tp_digits, &p, 59) == ERR_TOO_LARGE && code[0] == '\0');
    fuzz_round_trip(&p);
    totp_params_clear(&p);
    return 0;
}
