/*
 * fuzz_jws.c - libFuzzer driver for JWS verification (src/crypto/jws.c).
 *
 * Every input is a candidate token, verified both with jws_verify_es256 (a fixed key set,
 * a fixed clock) and with jws_verify_signature (one fixed key). Invariants, abort() if
 * broken: every result carries a reason in range that agrees with the return code, and
 * full verification never passes where the signature check with the A.3 key fails.
 * Inputs that are a JSON object are also signed as claims with the fixed private key:
 * the token must then pass every check up to the claims, and the claims read back must
 * equal the input.
 *
 * The keys are the published RFC 7515 A.3 key (kid "a3", with its private scalar, so
 * seeds can be signed with it) and the RFC 7517 A.1 public key (kid "rfc7517-a1").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "common/limits.h"
#include "crypto/crypto.h"
#include "crypto/jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW      1300819000 /* just before RFC 7515 A.3's exp of 1300819380 */
#define FUZZ_AUDIENCE "com.1password.connect"
#define FUZZ_ISSUER   "sesame"

static const char a3_x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
static const char a3_y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
static const char a3_d[] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
static const char a1_x[] = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
static const char a1_y[] = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";

static struct ec_key *fuzz_pair;   /* A.3 key pair: signs in the claims mode */
static struct ec_key *fuzz_a3_pub; /* A.3 public key */
static struct ec_key *fuzz_a1_pub; /* RFC 7517 A.1 public key */
static struct jws_key fuzz_keys[2];
static const struct jws_verify_opts fuzz_opts = {FUZZ_NOW, FUZZ_AUDIENCE, FUZZ_ISSUER};

static void fuzz_b64(unsigned char *out, size_t n, const char *s)
{
    size_t got = 0;

    if (codec_b64_decode(out, n, &got, s, strlen(s), CODEC_B64_URL) != ERR_OK || got != n)
        abort();
}

/* Builds the fixed keys once (the process keeps them: they stay reachable). */
static void fuzz_init(void)
{
    static int ready;
    unsigned char x[32], y[32], *d;

    if (ready)
        return;
    if (crypto_init() != ERR_OK)
        abort();
    d = secmem_alloc(32);
    if (!d)
        abort();
    fuzz_b64(x, 32, a3_x);
    fuzz_b64(y, 32, a3_y);
    fuzz_b64(d, 32, a3_d);
    if (ecdsa_p256_from_raw(&fuzz_pair, x, y, d) != ERR_OK ||
        ecdsa_p256_from_raw(&fuzz_a3_pub, x, y, NULL) != ERR_OK)
        abort();
    secmem_free(d);
    fuzz_b64(x, 32, a1_x);
    fuzz_b64(y, 32, a1_y);
    if (ecdsa_p256_from_raw(&fuzz_a1_pub, x, y, NULL) != ERR_OK)
        abort();
    fuzz_keys[0].jk_kid = "a3";
    fuzz_keys[0].jk_key = fuzz_a3_pub;
    fuzz_keys[1].jk_kid = "rfc7517-a1";
    fuzz_keys[1].jk_key = fuzz_a1_pub;
    ready = 1;
}

/* Signs a JSON-object input as claims, then checks the token verifies up to the claims. */
static void fuzz_sign_mode(const uint8_t *data, size_t size)
{
    json_t *in, *out = NULL;
    enum jws_reason why = JWS__COUNT;
    struct buf tok;
    enum err rc;

    in = json_loadb((const char *)data, size, 0, NULL);
    if (!json_is_object(in))
        goto out;
    buf_init(&tok, JWS_MAX_TOKEN_BYTES);
    rc = jws_sign_es256(&tok, fuzz_pair, "a3", in);
    if (rc == ERR_OK) {
        rc = jws_verify_es256(&out, &why, buf_str(&tok), tok.b_len, fuzz_keys, 2, &fuzz_opts);
        /* Whatever the claims say, nothing before them may fail. */
        if (why != JWS_OK && (why < JWS_BAD_PAYLOAD || why >= JWS_INTERNAL))
            abort();
        if (rc == ERR_OK && !json_equal(in, out))
            abort();
        json_decref(out);
        if (jws_verify_signature(&out, &why, buf_str(&tok), tok.b_len, fuzz_a3_pub) != ERR_OK ||
            !json_equal(in, out))
            abort();
        json_decref(out);
    } else if (rc != ERR_TOO_LARGE) {
        abort();
    }
    buf_free(&tok);
out:
    json_decref(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *claims = NULL, *payload = NULL;
    enum jws_reason why_full = JWS__COUNT, why_sig = JWS__COUNT;
    enum err rc_full, rc_sig;

    fuzz_init();
    rc_full =
        jws_verify_es256(&claims, &why_full, (const char *)data, size, fuzz_keys, 2, &fuzz_opts);
    rc_sig = jws_verify_signature(&payload, &why_sig, (const char *)data, size, fuzz_a3_pub);
    if ((unsigned)why_full >= JWS__COUNT || (unsigned)why_sig >= JWS__COUNT)
        abort();
    if ((rc_full == ERR_OK) != (why_full == JWS_OK) || (rc_sig == ERR_OK) != (why_sig == JWS_OK))
        abort();
    if ((rc_full == ERR_OK) != (claims != NULL) || (rc_sig == ERR_OK) != (payload != NULL))
        abort();
    /*
     * Only the A.3 key's private half is known, so a token that passes full verification
     * was signed with it: the plain check with that key must pass and read the same claims.
     */
    if (rc_full == ERR_OK && (rc_sig != ERR_OK || !json_equal(claims, payload)))
        abort();
    json_decref(claims);
    json_decref(payload);
    if (size > 0 && data[0] == '{')
        fuzz_sign_mode(data, size);
    return 0;
}
