/*
 * tls.h - TLS for Sesame's servers and clients, kept inside src/crypto/ with the other
 * libraries that handle keys. docs/tls.md.
 *
 * Servers (the Connect api, the hub): libmicrohttpd terminates TLS with GnuTLS. The
 * process's identity (certificate chain + private key, read from PEM files) is installed
 * here and handed to GnuTLS by a certificate callback on every handshake, so a reload
 * (SIGHUP) takes effect for the next handshake without restarting the listener. One
 * identity per process: every Sesame process has at most one TLS listener.
 *
 * Clients (sync and the CLI, through libcurl with OpenSSL): a server can be pinned by the
 * SHA-256 of its certificate (the credentials file's hub.tlsFingerprint): exactly that
 * certificate is accepted, whoever issued it.
 *
 * The quick start (`sesame up --tls`) makes a local CA and certificates signed by it.
 */
#ifndef SESAME_CRYPTO_TLS_H
#define SESAME_CRYPTO_TLS_H

#include <stddef.h>

#include "common/err.h"

#define TLS_MAX_PEM_BYTES   (256u << 10) /* a certificate chain or key file */
#define TLS_MAX_CHAIN       16           /* certificates in one chain */
#define TLS_FINGERPRINT_LEN 32           /* SHA-256 */
#define TLS_RETIRED_KEEP    8            /* old identities kept after reloads (in-flight) */

/*
 * The GnuTLS priority string of every TLS listener: TLS 1.3 and 1.2 only, AEAD ciphers
 * only (AES-GCM, ChaCha20-Poly1305), ECDHE key exchange, the server's order.
 */
const char *tls_server_priorities(void);

/*
 * A generic function pointer to the GnuTLS certificate callback
 * (gnutls_certificate_retrieve_function2) serving the installed identity; for
 * MHD_OPTION_HTTPS_CERT_CALLBACK. It fails the handshake when no identity is installed.
 */
void (*tls_server_cert_callback(void))(void);

/*
 * Loads cert_file (PEM, the leaf first, then intermediates) and key_file (PEM private
 * key, RSA or EC) and installs them as this process's identity. A second call while an
 * identity is installed must name the same files (it takes another reference); different
 * files are refused. errmsg (errcap bytes) says what was wrong without echoing file
 * contents. Returns ERR_OK, ERR_CONFIG (unreadable, too large, not a certificate or key,
 * key does not match the certificate, other files already installed) or ERR_NOMEM.
 */
enum err tls_server_install(const char *cert_file, const char *key_file, char *errmsg,
                            size_t errcap) SESAME_WUR;

/*
 * Reads the installed identity's files again and, when they are valid, makes them the
 * identity for every later handshake (the old one keeps serving handshakes in flight).
 * On error the old identity stays. Returns ERR_OK, ERR_CONFIG (as tls_server_install, or
 * nothing installed) or ERR_NOMEM.
 */
enum err tls_server_reload(char *errmsg, size_t errcap) SESAME_WUR;

/* Drops one reference taken by tls_server_install; the last one frees every identity. */
void tls_server_release(void);

/*
 * Makes the OpenSSL SSL_CTX ssl_ctx (libcurl's CURLOPT_SSL_CTX_FUNCTION argument) accept
 * exactly the peer certificate whose DER SHA-256 is fp (TLS_FINGERPRINT_LEN bytes, which
 * must outlive the context), and no other, whatever the CA store says. Returns ERR_OK or
 * ERR_BAD_INPUT (NULL argument).
 */
enum err tls_client_pin_cert(void *ssl_ctx, unsigned char *fp) SESAME_WUR;

/*
 * Computes the SHA-256 of the first certificate of the PEM file path into fp
 * (TLS_FINGERPRINT_LEN bytes). Returns ERR_OK, ERR_CONFIG (unreadable, not a
 * certificate) or ERR_NOMEM.
 */
enum err tls_cert_fingerprint_file(const char *path, unsigned char *fp) SESAME_WUR;

/*
 * Creates a local certificate authority: an EC P-256 key (key_path, mode 0600) and a
 * self-signed CA certificate valid for `days` (cert_path, 0644), common name cn. Existing
 * files are not overwritten. Returns ERR_OK, ERR_CONFLICT (a file exists), ERR_IO, ERR_CRYPTO
 * or ERR_BAD_INPUT.
 */
enum err tls_ca_create(const char *cert_path, const char *key_path, const char *cn,
                       unsigned days) SESAME_WUR;

/*
 * Issues a TLS server certificate signed by the CA (ca_cert_path, ca_key_path): a new EC
 * P-256 key (key_path, 0600) and a certificate (cert_path, 0644; leaf then CA) for common
 * name cn with subjectAltNames sans ("DNS:localhost,IP:127.0.0.1" syntax), valid for
 * `days`. Existing files are not overwritten. Returns ERR_OK, ERR_CONFLICT, ERR_IO,
 * ERR_CONFIG (CA files unusable), ERR_CRYPTO or ERR_BAD_INPUT.
 */
enum err tls_cert_issue(const char *ca_cert_path, const char *ca_key_path, const char *cert_path,
                        const char *key_path, const char *cn, const char *sans,
                        unsigned days) SESAME_WUR;

#endif
