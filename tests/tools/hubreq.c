/*
 * hubreq.c - a test tool for the integration tests: sends one request to a hub, signed as
 * the admin (with an account kit) or as a Connect server's sync (with a credentials file
 * and a token), and prints the HTTP status on the first line, then the answer's body.
 *
 *   hubreq --kit FILE [--passphrase-file F] [--hub URL] [--body FILE|-] [--content-type T]
 *          [--replay N] [--bad-sig] [--ts-offset S] [--tamper-body] [--print-auth]
 *          METHOD TARGET
 *   hubreq --sync --credentials FILE --token TOKEN [--hub URL] [--body FILE|-]
 *          [--content-type T] [--print-session] METHOD TARGET
 *
 * Attacks on admin requests: --replay N sends the identical signed request N more times
 * (the first line then holds every status, separated by spaces, and the body is the last
 * answer's); --bad-sig flips one bit of the signature; --ts-offset S signs with now + S;
 * --tamper-body signs the body and sends it with a space appended; --print-auth prints
 * the Authorization value and sends nothing. Sync mode unlocks the credentials file with
 * the token's unlock secret, opens a session (challenge, signature) and sends the request
 * with it (--print-session prints the session secret instead); when the hub refuses the
 * challenge or the session, that answer is what is printed.
 *
 * Exit status: 0 when an answer arrived (whatever its status), 1 on any other failure
 * (one line on stderr), 2 for bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/codec.h"
#include "common/err.h"
#include "common/limits.h"
#include "crypto/crypto.h"
#include "http/client.h"
#include "keys/adminsig.h"
#include "keys/credentials.h"
#include "keys/kit.h"
#include "keys/syncauth.h"
#include "keys/token.h"

#define HUBREQ_MAX_BODY     (64u << 20) /* request body read from a file: room for 413 tests */
#define HUBREQ_MAX_RESPONSE (32u << 20) /* answer body */
#define HUBREQ_MAX_REPLAY   100
#define HUBREQ_TIMEOUT_MS   60000L

struct hubreq_options {
    const char *ho_kit;
    const char *ho_passphrase_file;
    const char *ho_hub;
    const char *ho_body;
    const char *ho_content_type;
    const char *ho_credentials;
    const char *ho_token;
    const char *ho_method;
    const char *ho_target;
    long ho_replay;
    long long ho_ts_offset;
    int ho_sync;
    int ho_bad_sig;
    int ho_tamper;
    int ho_print_auth;
    int ho_print_session;
};

static int hubreq_usage(void)
{
    fprintf(stderr, "usage: hubreq --kit FILE [--passphrase-file F] [--hub URL] [--body FILE|-]\n"
                    "              [--content-type T] [--replay N] [--bad-sig] [--ts-offset S]\n"
                    "              [--tamper-body] [--print-auth] METHOD TARGET\n"
                    "       hubreq --sync --credentials FILE --token TOKEN [--hub URL]\n"
                    "              [--body FILE|-] [--content-type T] [--print-session]\n"
                    "              METHOD TARGET\n");
    return 2;
}

/* Reads the whole file at path ("-": stdin) into out (at most max bytes). */
static enum err hubreq_read_file(struct buf *out, const char *path, size_t max)
{
    char chunk[65536];
    enum err rc = ERR_OK;
    int fd;

    buf_init(out, max);
    fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ERR_IO;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ERR_IO;
            break;
        }
        if (n == 0)
            break;
        if ((rc = buf_add(out, chunk, (size_t)n)) != ERR_OK)
            break;
    }
    if (fd != STDIN_FILENO)
        close(fd);
    if (rc != ERR_OK)
        buf_free(out);
    return rc;
}

static int hubreq_method(const char *s, enum http_client_method *m)
{
    static const enum http_client_method all[] = {
        HTTP_CLIENT_GET, HTTP_CLIENT_POST, HTTP_CLIENT_PUT, HTTP_CLIENT_PATCH, HTTP_CLIENT_DELETE};
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(s, http_client_method_name(all[i])) == 0) {
            *m = all[i];
            return 1;
        }
    }
    return 0;
}

static int hubreq_number(const char *s, long long min, long long max, long long *out)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

static int hubreq_parse(struct hubreq_options *o, int argc, char **argv)
{
    long long v;
    int i, npos = 0;

    memset(o, 0, sizeof(*o));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = NULL;

        if (strcmp(a, "--sync") == 0)
            o->ho_sync = 1;
        else if (strcmp(a, "--bad-sig") == 0)
            o->ho_bad_sig = 1;
        else if (strcmp(a, "--tamper-body") == 0)
            o->ho_tamper = 1;
        else if (strcmp(a, "--print-auth") == 0)
            o->ho_print_auth = 1;
        else if (strcmp(a, "--print-session") == 0)
            o->ho_print_session = 1;
        else if (strcmp(a, "--kit") == 0)
            slot = &o->ho_kit;
        else if (strcmp(a, "--passphrase-file") == 0)
            slot = &o->ho_passphrase_file;
        else if (strcmp(a, "--hub") == 0)
            slot = &o->ho_hub;
        else if (strcmp(a, "--body") == 0)
            slot = &o->ho_body;
        else if (strcmp(a, "--content-type") == 0)
            slot = &o->ho_content_type;
        else if (strcmp(a, "--credentials") == 0)
            slot = &o->ho_credentials;
        else if (strcmp(a, "--token") == 0)
            slot = &o->ho_token;
        else if (strcmp(a, "--replay") == 0 || strcmp(a, "--ts-offset") == 0) {
            int replay = strcmp(a, "--replay") == 0;
            if (!next || !hubreq_number(next, replay ? 1 : -INT32_MAX,
                                        replay ? HUBREQ_MAX_REPLAY : INT32_MAX, &v))
                return 0;
            if (replay)
                o->ho_replay = (long)v;
            else
                o->ho_ts_offset = v;
            i++;
        } else if (a[0] == '-' && a[1] == '-')
            return 0;
        else if (npos == 0) {
            o->ho_method = a;
            npos++;
        } else if (npos == 1) {
            o->ho_target = a;
            npos++;
        } else
            return 0;
        if (slot) {
            if (!next)
                return 0;
            *slot = next;
            i++;
        }
    }
    if (npos != 2)
        return 0;
    if (o->ho_sync)
        return o->ho_credentials && o->ho_token && !o->ho_kit;
    return o->ho_kit && !o->ho_credentials && !o->ho_token && !o->ho_print_session;
}

/* Prints "STATUS\n" (or the statuses line) and the body of resp as it came. */
static void hubreq_print(const char *statuses, const struct http_client_response *resp)
{
    printf("%s\n", statuses);
    if (resp->hr_body.b_len > 0)
        fwrite(resp->hr_body.b_data, 1, resp->hr_body.b_len, stdout);
}

/* Sends one request; on a transport failure says so on stderr. */
static enum err hubreq_send(struct http_client *c, enum http_client_method m, const char *target,
                            const char *auth, const char *ctype, const void *body, size_t len,
                            struct http_client_response *resp)
{
    struct http_client_header hdr[2];
    struct http_client_request req;
    size_t n = 0;
    enum err rc;

    if (auth)
        hdr[n++] = (struct http_client_header){.hh_name = "Authorization", .hh_value = auth};
    if (ctype && len > 0)
        hdr[n++] = (struct http_client_header){.hh_name = "Content-Type", .hh_value = ctype};
    memset(&req, 0, sizeof(req));
    req.hq_method = m;
    req.hq_path = target;
    req.hq_headers = n ? hdr : NULL;
    req.hq_nheaders = n;
    req.hq_body = len ? body : NULL;
    req.hq_body_len = len;
    rc = http_client_request(c, &req, resp);
    if (rc != ERR_OK)
        fprintf(stderr, "hubreq: %s: %s\n", err_name(rc), resp->hr_errmsg);
    return rc;
}

/* Rebuilds an Authorization value with one bit of its signature flipped. */
static enum err hubreq_flip_sig(struct buf *auth)
{
    struct adminsig_auth a;
    char sig[ADMINSIG_SIG_LEN + 1];
    enum err rc;

    rc = adminsig_parse(&a, buf_str(auth), auth->b_len, NULL);
    if (rc != ERR_OK)
        return rc;
    a.aa_sig[ECDSA_P256_SIG_BYTES / 2] ^= 0x01u;
    rc = codec_b64_encode(sig, sizeof(sig), NULL, a.aa_sig, sizeof(a.aa_sig), CODEC_B64_URL);
    if (rc != ERR_OK)
        return rc;
    buf_free(auth);
    return buf_addf(auth, "%s account=%s, ts=%lld, nonce=%s, sig=%s", ADMINSIG_SCHEME, a.aa_account,
                    (long long)a.aa_ts, a.aa_nonce, sig);
}

/* Reads the first line of the passphrase file into pass (NUL-terminated). */
static enum err hubreq_passphrase(struct buf *pass, const char *path)
{
    enum err rc = hubreq_read_file(pass, path, 65536);
    char *nl;

    if (rc != ERR_OK)
        return rc;
    nl = pass->b_data ? memchr(pass->b_data, '\n', pass->b_len) : NULL;
    if (nl) {
        pass->b_len = (size_t)(nl - pass->b_data);
        if (pass->b_len > 0 && pass->b_data[pass->b_len - 1] == '\r')
            pass->b_len--;
        pass->b_data[pass->b_len] = '\0';
    }
    return ERR_OK;
}

static int hubreq_admin(const struct hubreq_options *o, enum http_client_method m,
                        const struct buf *body)
{
    struct http_client_config cfg;
    struct http_client_response resp;
    struct http_client *c = NULL;
    struct kit *k = NULL;
    struct buf pass, auth, sent, statuses;
    const struct jwk *key;
    char msg[512];
    long i;
    int ret = 1;
    enum err rc;

    buf_init(&pass, 65536);
    buf_init(&auth, ADMINSIG_MAX_HEADER);
    buf_init(&sent, HUBREQ_MAX_BODY + 1);
    buf_init(&statuses, 8 * (HUBREQ_MAX_REPLAY + 1));
    memset(&resp, 0, sizeof(resp));
    if (o->ho_passphrase_file && hubreq_passphrase(&pass, o->ho_passphrase_file) != ERR_OK) {
        fprintf(stderr, "hubreq: cannot read the passphrase file\n");
        goto out;
    }
    if (kit_load(&k, o->ho_kit, o->ho_passphrase_file ? buf_str(&pass) : NULL, msg, sizeof(msg)) !=
        ERR_OK) {
        fprintf(stderr, "hubreq: %s\n", msg);
        goto out;
    }
    key = kit_admin_signing_key(k);
    rc = adminsig_sign(&auth, key->jk_ec, kit_account_id(k), http_client_method_name(m),
                       o->ho_target, body->b_data, body->b_len,
                       (int64_t)time(NULL) + o->ho_ts_offset);
    if (rc == ERR_OK && o->ho_bad_sig)
        rc = hubreq_flip_sig(&auth);
    if (rc != ERR_OK) {
        fprintf(stderr, "hubreq: cannot sign: %s\n", err_name(rc));
        goto out;
    }
    if (o->ho_print_auth) {
        printf("%s\n", buf_str(&auth));
        ret = 0;
        goto out;
    }
    rc = body->b_len ? buf_add(&sent, body->b_data, body->b_len) : ERR_OK;
    if (rc == ERR_OK && o->ho_tamper)
        rc = buf_add_str(&sent, " ");
    if (rc != ERR_OK)
        goto out;
    memset(&cfg, 0, sizeof(cfg));
    cfg.hcc_base_url = o->ho_hub ? o->ho_hub : kit_hub_url(k);
    cfg.hcc_timeout_ms = HUBREQ_TIMEOUT_MS;
    cfg.hcc_max_body = HUBREQ_MAX_RESPONSE;
    cfg.hcc_proxy = "";
    if (http_client_new(&c, &cfg, msg, sizeof(msg)) != ERR_OK) {
        fprintf(stderr, "hubreq: %s\n", msg);
        goto out;
    }
    for (i = 0; i <= o->ho_replay; i++) {
        http_client_response_free(&resp);
        if (hubreq_send(c, m, o->ho_target, buf_str(&auth), o->ho_content_type, sent.b_data,
                        sent.b_len, &resp) != ERR_OK)
            goto out;
        if (buf_addf(&statuses, "%s%d", i ? " " : "", resp.hr_status) != ERR_OK)
            goto out;
    }
    hubreq_print(buf_str(&statuses), &resp);
    ret = 0;
out:
    http_client_response_free(&resp);
    http_client_free(c);
    kit_free(k);
    buf_free(&pass);
    buf_free(&auth);
    buf_free(&sent);
    buf_free(&statuses);
    return ret;
}

/* POSTs a JSON object to a sync authentication endpoint; returns the member want of the answer. */
static enum err hubreq_sync_post(struct http_client *c, const char *target, json_t *req,
                                 const char *want, struct buf *value)
{
    struct http_client_response resp;
    json_t *answer = NULL;
    char *text;
    const char *s;
    enum err rc = ERR_NOMEM;

    memset(&resp, 0, sizeof(resp));
    text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    if (!text)
        goto out;
    rc = hubreq_send(c, HTTP_CLIENT_POST, target, NULL, NULL, text, strlen(text), &resp);
    if (rc != ERR_OK)
        goto out;
    answer = json_loadb(buf_str(&resp.hr_body), resp.hr_body.b_len, 0, NULL);
    s = json_string_value(json_object_get(answer, want));
    if (resp.hr_status != 200 || !s) {
        char status[16];
        snprintf(status, sizeof(status), "%d", resp.hr_status);
        hubreq_print(status, &resp);
        fprintf(stderr, "hubreq: %s did not give a %s\n", target, want);
        rc = ERR_UNAUTHORIZED;
        goto out;
    }
    rc = buf_add_str(value, s);
out:
    free(text);
    json_decref(answer);
    json_decref(req);
    http_client_response_free(&resp);
    return rc;
}

static int hubreq_sync(const struct hubreq_options *o, enum http_client_method m,
                       const struct buf *body)
{
    struct http_client_config cfg;
    struct http_client_response resp;
    struct http_client *c = NULL;
    struct credentials *cred = NULL;
    struct token_claims claims;
    struct buf file, challenge, session;
    const struct jws_key *keys;
    const struct jwk *skey;
    enum token_reason why = TOKEN_OK;
    char msg[512], sig[SYNCAUTH_SIG_LEN + 1], status[16];
    const char *account, *server;
    size_t nkeys = 0;
    int ret = 1;
    enum err rc = ERR_INTERNAL;

    memset(&claims, 0, sizeof(claims));
    memset(&resp, 0, sizeof(resp));
    buf_init(&challenge, SYNCAUTH_CHALLENGE_LEN + 1);
    buf_init(&session, SYNCAUTH_SESSION_LEN + 1);
    if (hubreq_read_file(&file, o->ho_credentials, CONFIG_MAX_SESSION_BYTES) != ERR_OK) {
        fprintf(stderr, "hubreq: cannot read the credentials file\n");
        goto out;
    }
    if (credentials_parse(&cred, buf_str(&file), file.b_len, msg, sizeof(msg)) != ERR_OK) {
        fprintf(stderr, "hubreq: %s\n", msg);
        goto out;
    }
    keys = credentials_signing_keys(cred, &nkeys);
    server = credentials_server_id(cred);
    if (token_verify(&claims, o->ho_token, strlen(o->ho_token), keys, nkeys, server,
                     (int64_t)time(NULL), &why) != ERR_OK) {
        fprintf(stderr, "hubreq: the token does not verify: %s\n", token_reason_name(why));
        goto out;
    }
    if (credentials_unlock(cred, claims.tc_unlock, TOKEN_UNLOCK_BYTES) != ERR_OK) {
        fprintf(stderr, "hubreq: the token does not unlock the credentials file\n");
        goto out;
    }
    account = credentials_account_id(cred);
    skey = credentials_server_signing_key(cred);
    memset(&cfg, 0, sizeof(cfg));
    cfg.hcc_base_url = o->ho_hub ? o->ho_hub : credentials_hub_url(cred);
    cfg.hcc_timeout_ms = HUBREQ_TIMEOUT_MS;
    cfg.hcc_max_body = HUBREQ_MAX_RESPONSE;
    cfg.hcc_proxy = "";
    if (http_client_new(&c, &cfg, msg, sizeof(msg)) != ERR_OK) {
        fprintf(stderr, "hubreq: %s\n", msg);
        goto out;
    }
    rc = hubreq_sync_post(c, "/v1/sync/challenge",
                          json_pack("{s:s, s:s}", "account", account, "server", server),
                          "challenge", &challenge);
    if (rc != ERR_OK)
        goto out;
    if (syncauth_sign(sig, skey->jk_ec, buf_str(&challenge), server) != ERR_OK) {
        fprintf(stderr, "hubreq: cannot sign the challenge\n");
        goto out;
    }
    rc = hubreq_sync_post(c, "/v1/sync/session",
                          json_pack("{s:s, s:s, s:s, s:s}", "account", account, "server", server,
                                    "challenge", buf_str(&challenge), "signature", sig),
                          "session", &session);
    if (rc != ERR_OK)
        goto out;
    if (o->ho_print_session) {
        printf("%s\n", buf_str(&session));
        ret = 0;
        goto out;
    }
    if (http_client_set_bearer(c, buf_str(&session)) != ERR_OK ||
        hubreq_send(c, m, o->ho_target, NULL, o->ho_content_type, body->b_data, body->b_len,
                    &resp) != ERR_OK)
        goto out;
    snprintf(status, sizeof(status), "%d", resp.hr_status);
    hubreq_print(status, &resp);
    ret = 0;
out:
    /* An answer that refused the session was printed: the caller reads its status. */
    if (rc == ERR_UNAUTHORIZED)
        ret = 0;
    http_client_response_free(&resp);
    http_client_free(c);
    credentials_free(cred);
    token_claims_clear(&claims);
    buf_free(&file);
    buf_free(&challenge);
    buf_free(&session);
    return ret;
}

int main(int argc, char **argv)
{
    struct hubreq_options o;
    struct buf body;
    enum http_client_method m = HTTP_CLIENT_GET;
    int ret;

    if (!hubreq_parse(&o, argc, argv) || !hubreq_method(o.ho_method, &m))
        return hubreq_usage();
    buf_init(&body, HUBREQ_MAX_BODY);
    if (o.ho_body && hubreq_read_file(&body, o.ho_body, HUBREQ_MAX_BODY) != ERR_OK) {
        fprintf(stderr, "hubreq: cannot read the body (missing, or over %u bytes)\n",
                HUBREQ_MAX_BODY);
        return 1;
    }
    if (crypto_init() != ERR_OK || http_client_global_init() != ERR_OK) {
        fprintf(stderr, "hubreq: cannot initialise the libraries\n");
        buf_free(&body);
        return 1;
    }
    ret = o.ho_sync ? hubreq_sync(&o, m, &body) : hubreq_admin(&o, m, &body);
    fflush(stdout);
    buf_free(&body);
    http_client_global_cleanup();
    return ret;
}
