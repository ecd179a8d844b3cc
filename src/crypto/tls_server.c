/*
 * tls_server.c - the TLS identity of this process's listener (GnuTLS, as libmicrohttpd
 * uses it): loading, validating, installing and reloading it. See tls.h.
 *
 * GnuTLS's certificate callback has no user pointer, so the identity is process-wide:
 * tls_current is what the next handshake gets. A reload swaps it under tls_mu and keeps
 * the previous identities (up to TLS_RETIRED_KEEP) alive, because a handshake that took
 * them a moment ago may still be signing with their key.
 */
#include "crypto/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/alloc.h"
#include "crypto/crypto.h"

/* TLS 1.3 and 1.2, AEAD only, ECDHE only (no RSA key transport, no CBC, no SHA-1 MACs). */
#define TLS_PRIORITIES                                                                             \
    "SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:"           \
    "+CHACHA20-POLY1305:+AES-128-GCM:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"              \
    "%SERVER_PRECEDENCE"

/* One loaded identity. */
struct tls_ident {
    gnutls_pcert_st ti_pcert[TLS_MAX_CHAIN];
    unsigned ti_npcert;
    gnutls_privkey_t ti_key;
};

static pthread_mutex_t tls_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tls_ident *tls_current;                   /* under tls_mu */
static struct tls_ident *tls_retired[TLS_RETIRED_KEEP]; /* oldest dropped first */
static unsigned tls_refs;
static char *tls_cert_path, *tls_key_path;

/* Returns the priority string. See tls.h. */
const char *tls_server_priorities(void)
{
    return TLS_PRIORITIES;
}

/* Frees one identity. NULL is fine. */
static void tls_ident_free(struct tls_ident *t)
{
    unsigned i;

    if (!t)
        return;
    for (i = 0; i < t->ti_npcert; i++)
        gnutls_pcert_deinit(&t->ti_pcert[i]);
    if (t->ti_key)
        gnutls_privkey_deinit(t->ti_key);
    mem_free(t);
}

/*
 * Reads the whole file path (at most TLS_MAX_PEM_BYTES) into secure memory (*out,
 * NUL-terminated; *len without the NUL). Returns ERR_OK, ERR_CONFIG or ERR_NOMEM.
 */
static enum err tls_file_read(const char *path, unsigned char **out, size_t *len, const char *what,
                              char *errmsg, size_t errcap)
{
    unsigned char *p = NULL;
    struct stat st;
    size_t n = 0;
    ssize_t r;
    enum err e = ERR_CONFIG;
    int fd;

    *out = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "cannot open the TLS %s file (%s)", what,
                        strerrorname_np(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (unsigned long long)st.st_size > TLS_MAX_PEM_BYTES) {
        (void)err_msgf(ERR_CONFIG, errmsg, errcap,
                       "the TLS %s file is not a regular file of 1 byte to %u KiB", what,
                       TLS_MAX_PEM_BYTES >> 10);
        goto out;
    }
    p = secmem_alloc((size_t)st.st_size + 1);
    if (!p) {
        e = err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
        goto out;
    }
    while (n < (size_t)st.st_size && (r = read(fd, p + n, (size_t)st.st_size - n)) > 0)
        n += (size_t)r;
    if (n != (size_t)st.st_size) {
        (void)err_msgf(ERR_CONFIG, errmsg, errcap, "cannot read the TLS %s file", what);
        goto out;
    }
    p[n] = '\0';
    *out = p;
    *len = n;
    p = NULL;
    e = ERR_OK;
out:
    secmem_free(p);
    close(fd);
    return e;
}

/* Returns 1 when key is the private half of the public key in pcert, else 0. */
static int tls_key_matches(gnutls_privkey_t key, gnutls_pcert_st *pcert)
{
    gnutls_datum_t a = {NULL, 0}, b = {NULL, 0};
    gnutls_pubkey_t pub = NULL;
    int ok = 0;

    if (gnutls_pubkey_init(&pub) < 0)
        return 0;
    if (gnutls_pubkey_import_privkey(pub, key, 0, 0) < 0 ||
        gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &a) < 0 ||
        gnutls_pubkey_export2(pcert->pubkey, GNUTLS_X509_FMT_DER, &b) < 0)
        goto out;
    ok = a.size == b.size && crypto_memeq(a.data, b.data, a.size);
out:
    gnutls_free(a.data);
    gnutls_free(b.data);
    gnutls_pubkey_deinit(pub);
    return ok;
}

/* Loads and checks an identity from the two files. Returns ERR_OK, ERR_CONFIG or ERR_NOMEM. */
static enum err tls_ident_load(struct tls_ident **out, const char *cert_file, const char *key_file,
                               char *errmsg, size_t errcap)
{
    unsigned char *cert = NULL, *key = NULL;
    size_t cert_len = 0, key_len = 0;
    struct tls_ident *t = NULL;
    gnutls_datum_t d;
    unsigned n = TLS_MAX_CHAIN;
    enum err e;

    *out = NULL;
    e = tls_file_read(cert_file, &cert, &cert_len, "certificate", errmsg, errcap);
    if (e == ERR_OK)
        e = tls_file_read(key_file, &key, &key_len, "key", errmsg, errcap);
    if (e != ERR_OK)
        goto out;
    t = mem_calloc(1, sizeof(*t));
    if (!t) {
        e = err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
        goto out;
    }
    e = ERR_CONFIG;
    d.data = cert;
    d.size = (unsigned)cert_len;
    if (gnutls_pcert_list_import_x509_raw(t->ti_pcert, &n, &d, GNUTLS_X509_FMT_PEM, 0) < 0 ||
        n == 0) {
        (void)err_msgf(e, errmsg, errcap,
                       "the TLS certificate file holds no PEM certificate chain (at most %d)",
                       TLS_MAX_CHAIN);
        goto out;
    }
    t->ti_npcert = n;
    d.data = key;
    d.size = (unsigned)key_len;
    if (gnutls_privkey_init(&t->ti_key) < 0 ||
        gnutls_privkey_import_x509_raw(t->ti_key, &d, GNUTLS_X509_FMT_PEM, NULL, 0) < 0) {
        (void)err_msgf(e, errmsg, errcap, "the TLS key file holds no unencrypted PEM private key");
        goto out;
    }
    if (!tls_key_matches(t->ti_key, &t->ti_pcert[0])) {
        (void)err_msgf(e, errmsg, errcap,
                       "the TLS key does not match the first certificate of the chain");
        goto out;
    }
    *out = t;
    t = NULL;
    e = ERR_OK;
out:
    tls_ident_free(t);
    secmem_free(cert);
    secmem_free(key);
    return e;
}

/* GnuTLS's certificate callback: the installed identity, or a failed handshake. */
static int tls_cert_cb(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                       const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                       gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    int rc = -1;

    (void)session;
    (void)req_ca_rdn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    pthread_mutex_lock(&tls_mu);
    if (tls_current) {
        *pcert = tls_current->ti_pcert;
        *pcert_length = tls_current->ti_npcert;
        *pkey = tls_current->ti_key;
        rc = 0;
    }
    pthread_mutex_unlock(&tls_mu);
    return rc;
}

/* Returns the callback. See tls.h. */
void (*tls_server_cert_callback(void))(void)
{
    gnutls_certificate_retrieve_function2 *fn = tls_cert_cb;

    /* Passed through libmicrohttpd's varargs as the GnuTLS type; all function pointers
     * share one representation. */
    return (void (*)(void))fn;
}

/* Makes t current and retires the previous identity. Caller holds tls_mu. */
static void tls_swap_locked(struct tls_ident *t)
{
    if (tls_current) {
        tls_ident_free(tls_retired[0]);
        memmove(tls_retired, tls_retired + 1, sizeof(tls_retired) - sizeof(tls_retired[0]));
        tls_retired[TLS_RETIRED_KEEP - 1] = tls_current;
    }
    tls_current = t;
}

/* Loads and installs the identity. See tls.h. */
enum err tls_server_install(const char *cert_file, const char *key_file, char *errmsg,
                            size_t errcap)
{
    struct tls_ident *t = NULL;
    char *cp = NULL, *kp = NULL;
    enum err e;

    if (!cert_file || !key_file || !*cert_file || !*key_file)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "TLS needs a certificate and a key file");
    pthread_mutex_lock(&tls_mu);
    if (tls_refs > 0) {
        if (strcmp(tls_cert_path, cert_file) != 0 || strcmp(tls_key_path, key_file) != 0) {
            e = err_msgf(ERR_CONFIG, errmsg, errcap,
                         "this process already serves TLS with other certificate files");
        } else {
            tls_refs++;
            e = ERR_OK;
        }
        pthread_mutex_unlock(&tls_mu);
        return e;
    }
    pthread_mutex_unlock(&tls_mu);
    e = tls_ident_load(&t, cert_file, key_file, errmsg, errcap);
    if (e != ERR_OK)
        return e;
    cp = mem_strdup(cert_file);
    kp = mem_strdup(key_file);
    if (!cp || !kp) {
        mem_free(cp);
        mem_free(kp);
        tls_ident_free(t);
        return err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory");
    }
    pthread_mutex_lock(&tls_mu);
    if (tls_refs > 0) { /* another thread installed meanwhile */
        e = strcmp(tls_cert_path, cp) == 0 && strcmp(tls_key_path, kp) == 0
                ? ERR_OK
                : err_msgf(ERR_CONFIG, errmsg, errcap,
                           "this process already serves TLS with other certificate files");
        if (e == ERR_OK)
            tls_refs++;
        pthread_mutex_unlock(&tls_mu);
        mem_free(cp);
        mem_free(kp);
        tls_ident_free(t);
        return e;
    }
    tls_cert_path = cp;
    tls_key_path = kp;
    tls_swap_locked(t);
    tls_refs = 1;
    pthread_mutex_unlock(&tls_mu);
    return ERR_OK;
}

/* Reloads the installed identity's files. See tls.h. */
enum err tls_server_reload(char *errmsg, size_t errcap)
{
    struct tls_ident *t = NULL;
    char *cp = NULL, *kp = NULL;
    enum err e;

    pthread_mutex_lock(&tls_mu);
    if (tls_refs > 0) {
        cp = mem_strdup(tls_cert_path);
        kp = mem_strdup(tls_key_path);
    }
    pthread_mutex_unlock(&tls_mu);
    if (!cp || !kp) {
        e = cp || kp ? err_msgf(ERR_NOMEM, errmsg, errcap, "out of memory")
                     : err_msgf(ERR_CONFIG, errmsg, errcap, "no TLS identity is installed");
        goto out;
    }
    e = tls_ident_load(&t, cp, kp, errmsg, errcap);
    if (e != ERR_OK)
        goto out;
    pthread_mutex_lock(&tls_mu);
    if (tls_refs > 0 && strcmp(tls_cert_path, cp) == 0) {
        tls_swap_locked(t);
        t = NULL;
    } else {
        e = err_msgf(ERR_CONFIG, errmsg, errcap, "the TLS identity was released meanwhile");
    }
    pthread_mutex_unlock(&tls_mu);
out:
    tls_ident_free(t);
    mem_free(cp);
    mem_free(kp);
    return e;
}

/* Drops a reference. See tls.h. */
void tls_server_release(void)
{
    size_t i;

    pthread_mutex_lock(&tls_mu);
    if (tls_refs > 0 && --tls_refs == 0) {
        tls_ident_free(tls_current);
        tls_current = NULL;
        for (i = 0; i < TLS_RETIRED_KEEP; i++) {
            tls_ident_free(tls_retired[i]);
            tls_retired[i] = NULL;
        }
        mem_free(tls_cert_path);
        mem_free(tls_key_path);
        tls_cert_path = tls_key_path = NULL;
    }
    pthread_mutex_unlock(&tls_mu);
}
