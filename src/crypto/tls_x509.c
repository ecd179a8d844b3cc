/*
 * tls_x509.c - the OpenSSL side of tls.h: pinning a server certificate in libcurl's
 * SSL_CTX, certificate fingerprints, and the local CA of `sesame up --tls`.
 */
#include "crypto/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"

/* OpenSSL's certificate verification replaced by "is it exactly the pinned certificate". */
static int tls_pin_verify(X509_STORE_CTX *ctx, void *arg)
{
    const unsigned char *fp = arg;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    X509 *leaf = X509_STORE_CTX_get0_cert(ctx);

    if (!leaf || X509_digest(leaf, EVP_sha256(), md, &len) != 1 || len != TLS_FINGERPRINT_LEN ||
        !crypto_memeq(md, fp, TLS_FINGERPRINT_LEN)) {
        X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    X509_STORE_CTX_set_error(ctx, X509_V_OK);
    return 1;
}

/* Pins the peer certificate. See tls.h. */
enum err tls_client_pin_cert(void *ssl_ctx, unsigned char *fp)
{
    if (!ssl_ctx || !fp)
        return ERR_BAD_INPUT;
    SSL_CTX_set_verify((SSL_CTX *)ssl_ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_cert_verify_callback((SSL_CTX *)ssl_ctx, tls_pin_verify, fp);
    return ERR_OK;
}

/* Opens path for reading as a stdio stream, or NULL. */
static FILE *tls_fopen_read(const char *path)
{
    return fopen(path, "re");
}

/* Fingerprint of a PEM certificate file. See tls.h. */
enum err tls_cert_fingerprint_file(const char *path, unsigned char *fp)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    enum err e = ERR_CONFIG;
    X509 *x = NULL;
    FILE *f;

    f = tls_fopen_read(path);
    if (!f)
        return ERR_CONFIG;
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (x && X509_digest(x, EVP_sha256(), md, &len) == 1 && len == TLS_FINGERPRINT_LEN) {
        memcpy(fp, md, TLS_FINGERPRINT_LEN);
        e = ERR_OK;
    }
    X509_free(x);
    return e;
}

/* Creates path exclusively with mode and returns a stdio stream, or NULL (*e says why). */
static FILE *tls_fcreate(const char *path, int mode, enum err *e)
{
    FILE *f;
    int fd;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        *e = errno == EEXIST ? ERR_CONFLICT : ERR_IO;
        return NULL;
    }
    f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        (void)unlink(path);
        *e = ERR_IO;
    }
    return f;
}

/* Closes f (fsynced first); returns ERR_OK or ERR_IO. */
static enum err tls_fclose(FILE *f)
{
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;

    bad |= fclose(f) != 0;
    return bad ? ERR_IO : ERR_OK;
}

/* Writes key to key_path (0600) and the certificates to cert_path (0644). */
static enum err tls_write_pair(const char *cert_path, const char *key_path, EVP_PKEY *key,
                               X509 *cert, X509 *ca)
{
    enum err e = ERR_OK;
    FILE *f;

    f = tls_fcreate(key_path, 0600, &e);
    if (!f)
        return e;
    if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1)
        e = ERR_CRYPTO;
    if (tls_fclose(f) != ERR_OK && e == ERR_OK)
        e = ERR_IO;
    if (e != ERR_OK) {
        (void)unlink(key_path);
        return e;
    }
    f = tls_fcreate(cert_path, 0644, &e);
    if (!f) {
        (void)unlink(key_path);
        return e;
    }
    if (PEM_write_X509(f, cert) != 1 || (ca && PEM_write_X509(f, ca) != 1))
        e = ERR_CRYPTO;
    if (tls_fclose(f) != ERR_OK && e == ERR_OK)
        e = ERR_IO;
    if (e != ERR_OK) {
        (void)unlink(key_path);
        (void)unlink(cert_path);
    }
    return e;
}

/* Adds one v3 extension given in OpenSSL's configuration syntax. Returns 1 or 0. */
static int tls_ext_add(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok;

    if (!ext)
        return 0;
    ok = X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/*
 * Builds a certificate for key with subject cn, signed by issuer_key as issuer (issuer
 * NULL: self-signed). Returns the certificate or NULL.
 */
static X509 *tls_cert_build(EVP_PKEY *key, const char *cn, unsigned days, X509 *issuer,
                            EVP_PKEY *issuer_key, const char *sans)
{
    unsigned char serial[16];
    X509V3_CTX v3;
    X509_NAME *name;
    BIGNUM *bn = NULL;
    X509 *x = X509_new();
    int ok = 0;

    if (!x || crypto_random(serial, sizeof(serial)) != ERR_OK)
        goto out;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    name = X509_get_subject_name(x);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
        X509_set_version(x, X509_VERSION_3) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400L) ||
        X509_set_pubkey(x, key) != 1 ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Sesame", -1,
                                   -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1)
        goto out;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    if (!tls_ext_add(x, &v3, NID_subject_key_identifier, "hash") ||
        !tls_ext_add(x, &v3, NID_authority_key_identifier, "keyid:always"))
        goto out;
    if (!issuer) {
        if (!tls_ext_add(x, &v3, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
            !tls_ext_add(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign"))
            goto out;
    } else if (!tls_ext_add(x, &v3, NID_basic_constraints, "critical,CA:FALSE") ||
               !tls_ext_add(x, &v3, NID_key_usage, "critical,digitalSignature") ||
               !tls_ext_add(x, &v3, NID_ext_key_usage, "serverAuth") ||
               (sans && !tls_ext_add(x, &v3, NID_subject_alt_name, sans))) {
        goto out;
    }
    ok = X509_sign(x, issuer_key, EVP_sha256()) > 0;
out:
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* Checks the common arguments of the generators. */
static int tls_gen_args_ok(const char *cert_path, const char *key_path, const char *cn,
                           unsigned days)
{
    return cert_path && key_path && cn && *cn && strlen(cn) <= 64 && days > 0 && days <= 3650;
}

/* Creates a local CA. See tls.h. */
enum err tls_ca_create(const char *cert_path, const char *key_path, const char *cn, unsigned days)
{
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    enum err e = ERR_CRYPTO;

    if (!tls_gen_args_ok(cert_path, key_path, cn, days))
        return ERR_BAD_INPUT;
    key = EVP_EC_gen("P-256");
    if (key)
        x = tls_cert_build(key, cn, days, NULL, key, NULL);
    if (x)
        e = tls_write_pair(cert_path, key_path, key, x, NULL);
    X509_free(x);
    EVP_PKEY_free(key);
    return e;
}

/* Issues a server certificate. See tls.h. */
enum err tls_cert_issue(const char *ca_cert_path, const char *ca_key_path, const char *cert_path,
                        const char *key_path, const char *cn, const char *sans, unsigned days)
{
    EVP_PKEY *key = NULL, *ca_key = NULL;
    X509 *x = NULL, *ca = NULL;
    enum err e = ERR_CONFIG;
    FILE *f;

    if (!tls_gen_args_ok(cert_path, key_path, cn, days) || !ca_cert_path || !ca_key_path ||
        (sans && strlen(sans) > 1024))
        return ERR_BAD_INPUT;
    f = tls_fopen_read(ca_cert_path);
    if (f) {
        ca = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    f = tls_fopen_read(ca_key_path);
    if (f) {
        ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (!ca || !ca_key || X509_check_private_key(ca, ca_key) != 1)
        goto out;
    e = ERR_CRYPTO;
    key = EVP_EC_gen("P-256");
    if (key)
        x = tls_cert_build(key, cn, days, ca, ca_key, sans);
    if (x)
        e = tls_write_pair(cert_path, key_path, key, x, ca);
out:
    X509_free(x);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return e;
}
