/*
 * test_tls.c - crypto/tls.h end to end in one process: a local CA and server
 * certificates made by tls_ca_create / tls_cert_issue, an HTTPS http_server using them,
 * and the libcurl http_client trusting it through the CA file or a certificate pin;
 * reloads, refusals and bad files. Real handshakes on 127.0.0.1 only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/codec.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "crypto/tls.h"
#include "http/client.h"
#include "http/server.h"

static char dir[256];
static char ca_crt[300], ca_key[300], a_crt[300], a_key[300], b_crt[300], b_key[300];
static char c_crt[300], c_key[300], live_crt[300], live_key[300];

static void path_in(char *out, const char *name)
{
    int n = snprintf(out, 300, "%s/%s", dir, name);

    assert_true(n > 0 && n < 300);
}

static void file_copy(const char *from, const char *to)
{
    char buf[8192];
    FILE *in = fopen(from, "rb"), *out;
    size_t n;

    assert_non_null(in);
    (void)unlink(to);
    out = fopen(to, "wb");
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void file_write(const char *path, const char *text)
{
    FILE *f;

    (void)unlink(path);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void fingerprint_hex(const char *cert, char hex[2 * TLS_FINGERPRINT_LEN + 1])
{
    unsigned char fp[TLS_FINGERPRINT_LEN];

    assert_int_equal(tls_cert_fingerprint_file(cert, fp), ERR_OK);
    assert_int_equal(codec_hex_encode(hex, 2 * TLS_FINGERPRINT_LEN + 1, fp, sizeof(fp)), ERR_OK);
}

static enum err h_hello(struct http_request *req, struct http_response *resp)
{
    (void)req;
    return http_respond_text(resp, 200, "text/plain", "hello", 5);
}

static const struct http_route routes[] = {{"GET", "/hello", h_hello}};

static struct http_server *server_start(const char *crt, const char *key)
{
    struct http_server_config cfg;
    struct http_server *srv = NULL;

    http_server_config_init(&cfg);
    cfg.hc_name = "tls";
    cfg.hc_routes = routes;
    cfg.hc_nroutes = 1;
    cfg.hc_threads = 2;
    cfg.hc_tls_cert_file = crt;
    cfg.hc_tls_key_file = key;
    if (http_server_start(&srv, &cfg) != ERR_OK)
        return NULL;
    return srv;
}

/* One GET /hello with a fresh client; returns the result, *status the HTTP status. */
static enum err get_hello(const char *scheme, int port, const char *ca, const char *pin,
                          int *status, char *why, size_t whycap)
{
    struct http_client_request req = {.hq_method = HTTP_CLIENT_GET, .hq_path = "/hello"};
    struct http_client_response resp;
    struct http_client_config cfg;
    struct http_client *c = NULL;
    char url[64];
    enum err e;

    memset(&resp, 0, sizeof(resp));
    memset(&cfg, 0, sizeof(cfg));
    (void)snprintf(url, sizeof(url), "%s://%s:%d", scheme, "localhost", port);
    cfg.hcc_base_url = url;
    cfg.hcc_ca_file = ca;
    cfg.hcc_cert_sha256 = pin;
    cfg.hcc_proxy = "";
    cfg.hcc_timeout_ms = 5000;
    *status = 0;
    e = http_client_new(&c, &cfg, why, whycap);
    if (e == ERR_OK) {
        e = http_client_request(c, &req, &resp);
        *status = resp.hr_status;
        if (e == ERR_OK)
            assert_memory_equal(resp.hr_body.b_data, "hello", 5);
        else
            (void)snprintf(why, whycap, "%s", resp.hr_errmsg);
        http_client_response_free(&resp);
    }
    http_client_free(c);
    return e;
}

static int setup(void **state)
{
    (void)state;
    (void)snprintf(dir, sizeof(dir), "%s/sesame-tls.XXXXXX",
                   getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    path_in(ca_crt, "ca.pem");
    path_in(ca_key, "ca.key");
    path_in(a_crt, "a.pem");
    path_in(a_key, "a.key");
    path_in(b_crt, "b.pem");
    path_in(b_key, "b.key");
    path_in(c_crt, "c.pem");
    path_in(c_key, "c.key");
    path_in(live_crt, "live.pem");
    path_in(live_key, "live.key");
    if (tls_ca_create(ca_crt, ca_key, "Sesame test CA", 30) != ERR_OK ||
        tls_cert_issue(ca_crt, ca_key, a_crt, a_key, "localhost", "DNS:localhost,IP:127.0.0.1",
                       30) != ERR_OK ||
        tls_cert_issue(ca_crt, ca_key, b_crt, b_key, "localhost", "DNS:localhost,IP:127.0.0.1",
                       30) != ERR_OK ||
        tls_cert_issue(ca_crt, ca_key, c_crt, c_key, "elsewhere.example", "DNS:elsewhere.example",
                       30) != ERR_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    const char *names[] = {"ca.pem", "ca.key", "a.pem",    "a.key",    "b.pem",  "b.key",
                           "c.pem",  "c.key",  "live.pem", "live.key", "bad.pem"};
    char p[300];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        path_in(p, names[i]);
        (void)unlink(p);
    }
    (void)rmdir(dir);
    return 0;
}

static void test_generated_files(void **state)
{
    struct stat st;
    unsigned char fa[TLS_FINGERPRINT_LEN], fb[TLS_FINGERPRINT_LEN];

    (void)state;
    assert_int_equal(stat(ca_key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(a_key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(a_crt, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    /* Existing files are never overwritten. */
    assert_int_equal(tls_ca_create(ca_crt, ca_key, "again", 30), ERR_CONFLICT);
    assert_int_equal(tls_cert_issue(ca_crt, ca_key, a_crt, a_key, "x", NULL, 30), ERR_CONFLICT);
    assert_int_equal(tls_ca_create(ca_crt, ca_key, "", 30), ERR_BAD_INPUT);
    assert_int_equal(tls_ca_create(ca_crt, ca_key, "x", 0), ERR_BAD_INPUT);
    /* A leaf made with a key that is not the CA's: the CA files do not match. */
    assert_int_equal(tls_cert_issue(ca_crt, a_key, live_crt, live_key, "x", NULL, 30), ERR_CONFIG);
    assert_int_equal(access(live_crt, F_OK), -1);
    /* Two certificates, two fingerprints; the fingerprint is of the first (leaf) one. */
    assert_int_equal(tls_cert_fingerprint_file(a_crt, fa), ERR_OK);
    assert_int_equal(tls_cert_fingerprint_file(b_crt, fb), ERR_OK);
    assert_memory_not_equal(fa, fb, sizeof(fa));
    assert_int_equal(tls_cert_fingerprint_file(a_key, fa), ERR_CONFIG);
    assert_int_equal(tls_cert_fingerprint_file("/nonexistent", fa), ERR_CONFIG);
}

static void test_https_ca_and_pin(void **state)
{
    char why[256], fa[65], fb[65];
    struct http_server *srv;
    int port, status;

    (void)state;
    fingerprint_hex(a_crt, fa);
    fingerprint_hex(b_crt, fb);
    srv = server_start(a_crt, a_key);
    assert_non_null(srv);
    assert_int_equal(http_server_is_tls(srv), 1);
    port = http_server_port(srv);

    /* Trusted through the CA file, by name. */
    assert_int_equal(get_hello("https", port, ca_crt, NULL, &status, why, sizeof(why)), ERR_OK);
    assert_int_equal(status, 200);
    /* Pinned: no CA needed. */
    assert_int_equal(get_hello("https", port, NULL, fa, &status, why, sizeof(why)), ERR_OK);
    assert_int_equal(status, 200);
    /* The same CA's other certificate pinned: refused, even with the CA file. */
    assert_int_equal(get_hello("https", port, NULL, fb, &status, why, sizeof(why)), ERR_UPSTREAM);
    assert_non_null(strstr(why, "not trusted"));
    assert_int_equal(get_hello("https", port, ca_crt, fb, &status, why, sizeof(why)), ERR_UPSTREAM);
    /* Neither CA nor pin: the system store does not know our CA. */
    assert_int_equal(get_hello("https", port, NULL, NULL, &status, why, sizeof(why)), ERR_UPSTREAM);
    /* Plain HTTP to the HTTPS port gets no HTTP answer. */
    assert_int_not_equal(get_hello("http", port, NULL, NULL, &status, why, sizeof(why)), ERR_OK);
    assert_int_equal(status, 0);
    /* Bad fingerprints are configuration errors. */
    assert_int_equal(get_hello("https", port, NULL, "abc", &status, why, sizeof(why)), ERR_CONFIG);
    assert_int_equal(get_hello("http", port, NULL, fa, &status, why, sizeof(why)), ERR_CONFIG);
    assert_non_null(strstr(why, "https"));
    /* A second server in this process with other files is refused; same files are fine. */
    assert_null(server_start(b_crt, b_key));
    {
        struct http_server *again = server_start(a_crt, a_key);

        assert_non_null(again);
        http_server_stop(again);
    }
    assert_int_equal(get_hello("https", port, NULL, fa, &status, why, sizeof(why)), ERR_OK);
    http_server_stop(srv);
}

static void test_https_name_checked_with_ca(void **state)
{
    char why[256], fc[65];
    struct http_server *srv;
    int status;

    (void)state;
    fingerprint_hex(c_crt, fc);
    srv = server_start(c_crt, c_key);
    assert_non_null(srv);
    /* CA-trusted but issued for another name: refused. */
    assert_int_equal(
        get_hello("https", http_server_port(srv), ca_crt, NULL, &status, why, sizeof(why)),
        ERR_UPSTREAM);
    /* Pinned: the certificate itself is the identity, the name does not matter. */
    assert_int_equal(get_hello("https", http_server_port(srv), NULL, fc, &status, why, sizeof(why)),
                     ERR_OK);
    http_server_stop(srv);
}

static void test_reload(void **state)
{
    char why[256], fa[65], fb[65];
    struct http_server *srv;
    int port, status;

    (void)state;
    fingerprint_hex(a_crt, fa);
    fingerprint_hex(b_crt, fb);
    file_copy(a_crt, live_crt);
    file_copy(a_key, live_key);
    srv = server_start(live_crt, live_key);
    assert_non_null(srv);
    port = http_server_port(srv);
    assert_int_equal(get_hello("https", port, NULL, fa, &status, why, sizeof(why)), ERR_OK);

    /* New files, reload: the next handshake shows the new certificate. */
    file_copy(b_crt, live_crt);
    file_copy(b_key, live_key);
    assert_int_equal(http_server_tls_reload(srv, why, sizeof(why)), ERR_OK);
    assert_int_equal(get_hello("https", port, NULL, fb, &status, why, sizeof(why)), ERR_OK);
    assert_int_equal(get_hello("https", port, NULL, fa, &status, why, sizeof(why)), ERR_UPSTREAM);

    /* A key that does not match: refused, the old identity keeps serving. */
    file_copy(a_key, live_key);
    assert_int_equal(http_server_tls_reload(srv, why, sizeof(why)), ERR_CONFIG);
    assert_non_null(strstr(why, "does not match"));
    assert_int_equal(get_hello("https", port, NULL, fb, &status, why, sizeof(why)), ERR_OK);
    /* Garbage and missing files: refused the same way. */
    file_write(live_key, "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n");
    assert_int_equal(http_server_tls_reload(srv, why, sizeof(why)), ERR_CONFIG);
    assert_null(strstr(why, "not base64"));
    (void)unlink(live_crt);
    assert_int_equal(http_server_tls_reload(srv, why, sizeof(why)), ERR_CONFIG);
    assert_non_null(strstr(why, "ENOENT"));
    assert_int_equal(get_hello("https", port, NULL, fb, &status, why, sizeof(why)), ERR_OK);
    /* Many reloads: old identities are retired and freed (ASan checks the rest). */
    file_copy(b_crt, live_crt);
    file_copy(b_key, live_key);
    for (int i = 0; i < 3 * TLS_RETIRED_KEEP; i++)
        assert_int_equal(http_server_tls_reload(srv, why, sizeof(why)), ERR_OK);
    assert_int_equal(get_hello("https", port, NULL, fb, &status, why, sizeof(why)), ERR_OK);
    http_server_stop(srv);

    /* Not a TLS server; nothing installed. */
    assert_int_equal(http_server_tls_reload(NULL, why, sizeof(why)), ERR_CONFIG);
    assert_int_equal(tls_server_reload(why, sizeof(why)), ERR_CONFIG);
}

static void test_bad_files(void **state)
{
    char bad[300];

    (void)state;
    path_in(bad, "bad.pem");
    file_write(bad, "hello\n");
    assert_null(server_start(bad, a_key));
    assert_null(server_start(a_crt, bad));
    assert_null(server_start(a_crt, b_key)); /* mismatched pair */
    assert_null(server_start(dir, a_key));   /* a directory */
    assert_null(server_start("/nonexistent", a_key));
    /* Nothing stayed installed: a good pair starts. */
    {
        struct http_server *srv = server_start(b_crt, b_key);

        assert_non_null(srv);
        http_server_stop(srv);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_files),
        cmocka_unit_test(test_https_ca_and_pin),
        cmocka_unit_test(test_https_name_checked_with_ca),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_bad_files),
    };
    int rc;

    log_set_level(LOG_ERROR);
    if (crypto_init() != ERR_OK || http_client_global_init() != ERR_OK)
        return 1;
    rc = cmocka_run_group_tests(tests, setup, teardown);
    http_client_global_cleanup();
    return rc;
}
