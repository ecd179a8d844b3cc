/*
 * ecdsa.c - ES256 (ECDSA over P-256 with SHA-256) with OpenSSL 3's EVP interface.
 *
 * JOSE signatures are the raw 64-byte r || s; OpenSSL speaks DER ECDSA-Sig-Value, so
 * both directions are converted here. Imported keys are checked: the point must be on
 * the curve, and a private scalar must lie in [1, n) and match the point. The private
 * scalar lives inside OpenSSL (in a BIGNUM flagged secure, cleared when the key is
 * freed); it leaves only into caller memory through ecdsa_p256_to_raw(), and every
 * temporary copy is wiped. Failures clear OpenSSL's per-thread error queue.
 */
#include "crypto/ecdsa.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "common/alloc.h"
#include "crypto/crypto.h"

#define ECDSA_P256_GROUP     "P-256"
#define ECDSA_P256_POINT_LEN (1 + 2 * EC_P256_COORD_BYTES) /* 0x04 || x || y */
#define ECDSA_DER_SIG_MAX    80                            /* 2 * (2 + 33) + 2 is 72 */

struct ec_key {
    EVP_PKEY *ek_pkey; /* the key, public or pair */
    int ek_private;    /* 1 when ek_pkey holds the private scalar */
};

/* The order n of the P-256 base point, big-endian (SEC 2 / FIPS 186-4 D.1.2.3). */
static const unsigned char ecdsa_p256_order[EC_P256_COORD_BYTES] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* Returns 1 if the 32-byte big-endian integer v is in [1, n). Not constant time. */
static int ecdsa_scalar_in_range(const unsigned char v[EC_P256_COORD_BYTES])
{
    size_t i;
    unsigned char any = 0;

    for (i = 0; i < EC_P256_COORD_BYTES; i++)
        any |= v[i];
    if (!any)
        return 0;
    return memcmp(v, ecdsa_p256_order, EC_P256_COORD_BYTES) < 0;
}

/* Constant-time variant for the private scalar: 1 if d is in [1, n). */
static int ecdsa_secret_in_range(const unsigned char d[EC_P256_COORD_BYTES])
{
    unsigned any = 0, borrow = 0;
    int i;

    /* d < n  <=>  d - n borrows out of the top byte. */
    for (i = EC_P256_COORD_BYTES - 1; i >= 0; i--) {
        unsigned diff = (unsigned)d[i] - (unsigned)ecdsa_p256_order[i] - borrow;
        borrow = (diff >> 8) & 1u;
        any |= d[i];
    }
    return (any != 0) & (borrow == 1);
}

static struct ec_key *ecdsa_key_wrap(EVP_PKEY *pkey, int priv)
{
    struct ec_key *k = mem_calloc(1, sizeof(*k));

    if (!k)
        return NULL;
    k->ek_pkey = pkey;
    k->ek_private = priv;
    return k;
}

/* Generates a fresh key pair; see ecdsa.h. */
enum err ecdsa_p256_generate(struct ec_key **out)
{
    EVP_PKEY *pkey = NULL;
    enum err rc = ERR_CRYPTO;

    *out = NULL;
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", ECDSA_P256_GROUP);
    if (!pkey)
        goto out;
    *out = ecdsa_key_wrap(pkey, 1);
    if (!*out) {
        rc = ERR_NOMEM;
        goto out;
    }
    pkey = NULL;
    rc = ERR_OK;
out:
    if (rc != ERR_OK)
        ERR_clear_error();
    EVP_PKEY_free(pkey);
    return rc;
}

/* Runs OpenSSL's key checks on pkey: public point always, private part if priv. */
static enum err ecdsa_check_key(EVP_PKEY *pkey, int priv)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    enum err rc = ERR_CRYPTO;

    if (!ctx)
        goto out;
    rc = ERR_BAD_INPUT;
    if (EVP_PKEY_public_check(ctx) != 1)
        goto out;
    if (priv && (EVP_PKEY_private_check(ctx) != 1 || EVP_PKEY_pairwise_check(ctx) != 1))
        goto out;
    rc = ERR_OK;
out:
    if (rc != ERR_OK)
        ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* Builds a key from raw coordinates (and scalar); see ecdsa.h. */
enum err ecdsa_p256_from_raw(struct ec_key **out, const unsigned char x[EC_P256_COORD_BYTES],
                             const unsigned char y[EC_P256_COORD_BYTES], const unsigned char *d)
{
    unsigned char point[ECDSA_P256_POINT_LEN];
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *dbn = NULL;
    enum err rc = ERR_CRYPTO;

    *out = NULL;
    if (d && !ecdsa_secret_in_range(d)) {
        rc = ERR_BAD_INPUT;
        goto out;
    }
    point[0] = 0x04; /* uncompressed */
    memcpy(point + 1, x, EC_P256_COORD_BYTES);
    memcpy(point + 1 + EC_P256_COORD_BYTES, y, EC_P256_COORD_BYTES);

    bld = OSSL_PARAM_BLD_new();
    if (!bld)
        goto out;
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, ECDSA_P256_GROUP, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
        goto out;
    if (d) {
        /* A secure BIGNUM: the builder then keeps its copy in OpenSSL's secure heap. */
        dbn = BN_secure_new();
        if (!dbn || !BN_bin2bn(d, EC_P256_COORD_BYTES, dbn))
            goto out;
        if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, dbn))
            goto out;
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    if (!params)
        goto out;
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1)
        goto out;
    /* fromdata decodes the point and fails for one that is not on the curve. */
    if (EVP_PKEY_fromdata(ctx, &pkey, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1) {
        rc = ERR_BAD_INPUT;
        goto out;
    }
    rc = ecdsa_check_key(pkey, d != NULL);
    if (rc != ERR_OK)
        goto out;
    *out = ecdsa_key_wrap(pkey, d != NULL);
    if (!*out) {
        rc = ERR_NOMEM;
        goto out;
    }
    pkey = NULL;
    rc = ERR_OK;
out:
    if (rc != ERR_OK)
        ERR_clear_error();
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* clears its secure block */
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(dbn);
    return rc;
}

/* Exports coordinates (and scalar); see ecdsa.h. */
enum err ecdsa_p256_to_raw(const struct ec_key *k, unsigned char x[EC_P256_COORD_BYTES],
                           unsigned char y[EC_P256_COORD_BYTES], unsigned char *d)
{
    unsigned char point[ECDSA_P256_POINT_LEN];
    OSSL_PARAM params[2];
    size_t len = 0, i;
    enum err rc = ERR_CRYPTO;

    if (!k || !k->ek_pkey)
        return ERR_BAD_INPUT;
    if (d && !k->ek_private)
        return ERR_BAD_INPUT;
    if (EVP_PKEY_get_octet_string_param(k->ek_pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                                        &len) != 1)
        goto out;
    if (len != sizeof(point) || point[0] != 0x04)
        goto out;
    if (d) {
        /*
         * Ask the provider to write the scalar straight into d, so that no BIGNUM copy is
         * made outside OpenSSL. OSSL_PARAM integers are native-endian, padded to the size.
         */
        params[0] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, d, EC_P256_COORD_BYTES);
        params[1] = OSSL_PARAM_construct_end();
        if (EVP_PKEY_get_params(k->ek_pkey, params) != 1 ||
            params[0].return_size > EC_P256_COORD_BYTES) {
            secmem_wipe(d, EC_P256_COORD_BYTES);
            goto out;
        }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        for (i = 0; i < EC_P256_COORD_BYTES / 2; i++) {
            unsigned char t = d[i];
            d[i] = d[EC_P256_COORD_BYTES - 1 - i];
            d[EC_P256_COORD_BYTES - 1 - i] = t;
        }
#else
        (void)i;
#endif
    }
    memcpy(x, point + 1, EC_P256_COORD_BYTES);
    memcpy(y, point + 1 + EC_P256_COORD_BYTES, EC_P256_COORD_BYTES);
    rc = ERR_OK;
out:
    if (rc != ERR_OK)
        ERR_clear_error();
    return rc;
}

/* Returns 1 if k holds a private key. */
int ecdsa_p256_has_private(const struct ec_key *k)
{
    return k && k->ek_pkey && k->ek_private;
}

/* Returns a new public-only copy of k (caller frees), or NULL. */
struct ec_key *ecdsa_p256_public_dup(const struct ec_key *k)
{
    unsigned char x[EC_P256_COORD_BYTES], y[EC_P256_COORD_BYTES];
    struct ec_key *dup = NULL;

    if (ecdsa_p256_to_raw(k, x, y, NULL) != ERR_OK)
        return NULL;
    if (ecdsa_p256_from_raw(&dup, x, y, NULL) != ERR_OK)
        return NULL;
    return dup;
}

/* Signs SHA-256(msg) and converts the DER signature to r || s; see ecdsa.h. */
enum err ecdsa_p256_sign(const struct ec_key *k, const void *msg, size_t n,
                         unsigned char sig[ECDSA_P256_SIG_BYTES])
{
    unsigned char der[ECDSA_DER_SIG_MAX];
    const unsigned char *p = der;
    size_t derlen = sizeof(der);
    EVP_MD_CTX *md = NULL;
    ECDSA_SIG *es = NULL;
    const BIGNUM *r, *s;
    enum err rc = ERR_CRYPTO;

    memset(sig, 0, ECDSA_P256_SIG_BYTES);
    if (!ecdsa_p256_has_private(k))
        return ERR_CRYPTO;
    md = EVP_MD_CTX_new();
    if (!md)
        goto out;
    if (EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, k->ek_pkey, NULL) != 1)
        goto out;
    if (EVP_DigestSign(md, der, &derlen, msg, n) != 1)
        goto out;
    es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    if (!es || p != der + derlen)
        goto out;
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, sig, EC_P256_COORD_BYTES) != EC_P256_COORD_BYTES ||
        BN_bn2binpad(s, sig + EC_P256_COORD_BYTES, EC_P256_COORD_BYTES) != EC_P256_COORD_BYTES) {
        memset(sig, 0, ECDSA_P256_SIG_BYTES);
        goto out;
    }
    rc = ERR_OK;
out:
    if (rc != ERR_OK)
        ERR_clear_error();
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    return rc;
}

/* Verifies a raw r || s signature; see ecdsa.h. */
enum err ecdsa_p256_verify(const struct ec_key *k, const void *msg, size_t n,
                           const unsigned char *sig, size_t siglen)
{
    unsigned char der[ECDSA_DER_SIG_MAX];
    unsigned char *p = der;
    EVP_MD_CTX *md = NULL;
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    int derlen;
    enum err rc = ERR_CRYPTO;

    if (!k || !k->ek_pkey || !sig || siglen != ECDSA_P256_SIG_BYTES)
        goto out;
    /* OpenSSL refuses these too; checking first keeps the rule visible and cheap. */
    if (!ecdsa_scalar_in_range(sig) || !ecdsa_scalar_in_range(sig + EC_P256_COORD_BYTES))
        goto out;
    r = BN_bin2bn(sig, EC_P256_COORD_BYTES, NULL);
    s = BN_bin2bn(sig + EC_P256_COORD_BYTES, EC_P256_COORD_BYTES, NULL);
    es = ECDSA_SIG_new();
    if (!r || !s || !es || ECDSA_SIG_set0(es, r, s) != 1)
        goto out;
    r = s = NULL; /* owned by es now */
    if (i2d_ECDSA_SIG(es, NULL) > (int)sizeof(der))
        goto out;
    derlen = i2d_ECDSA_SIG(es, &p);
    if (derlen <= 0)
        goto out;
    md = EVP_MD_CTX_new();
    if (!md)
        goto out;
    if (EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, k->ek_pkey, NULL) != 1)
        goto out;
    if (EVP_DigestVerify(md, der, (size_t)derlen, msg, n) != 1)
        goto out;
    rc = ERR_OK;
out:
    if (rc != ERR_OK)
        ERR_clear_error();
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    return rc;
}

/* Frees k; OpenSSL clears the private BIGNUM when the key is freed. NULL is fine. */
void ecdsa_p256_free(struct ec_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->ek_pkey);
    mem_free(k);
}
