/*
 * test_hub.c - the hub in-process (127.0.0.1, port 0, a temporary SQLite file), spoken to
 * over HTTP with the project's client: registration, admin signatures (replay, wrong key,
 * tampered body), vaults, items (stale baseVersion), files, servers, grants, tokens, the
 * sync challenge/session, the filtered change feed and its long-poll, sync writes,
 * activity, and the error answers. The tests run in order and share one hub.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/codec.h"
#include "common/ids.h"
#include "crypto/crypto.h"
#include "crypto/ecdsa.h"
#include "crypto/jwk.h"
#include "cli/commands.h"
#include "crypto/x25519.h"
#include "http/client.h"
#include "hub/hub.h"
#include "keys/adminsig.h"
#include "keys/syncauth.h"

#define ACC  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define ACC2 "ZYXWVUTSRQPONMLKJIHGFEDCBA"
#define V1   "v1v1v1v1v1v1v1v1v1v1v1v1v1"
#define V2   "v2v2v2v2v2v2v2v2v2v2v2v2v2"
#define I1   "i1i1i1i1i1i1i1i1i1i1i1i1i1"
#define I2   "i2i2i2i2i2i2i2i2i2i2i2i2i2"
#define F1   "f1f1f1f1f1f1f1f1f1f1f1f1f1"
#define SA   "sasasasasasasasasasasasasa"
#define TK   "tktktktktktktktktktktktktk"

static struct {
    char dir[64];
    char db[96];
    struct hub *hub;
    struct http_client *cli;
    struct ec_key *admin;  /* the admin signing key of ACC */
    struct ec_key *other;  /* an unrelated key */
    struct ec_key *server; /* the server signing key of SA */
    char session[SYNCAUTH_SESSION_LEN + 1];
} g;

/* ---- helpers ------------------------------------------------------------------------------ */

/* Returns the public JWK text of an EC key (caller frees with free()). */
static char *ec_jwk_text(const struct ec_key *k)
{
    struct jwk j;
    json_t *o;
    char *t;

    memset(&j, 0, sizeof(j));
    j.jk_kind = JWK_EC_P256;
    j.jk_ec = ecdsa_p256_public_dup(k);
    assert_non_null(j.jk_ec);
    o = jwk_to_json(&j, 0);
    assert_non_null(o);
    t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    jwk_clear(&j);
    return t;
}

/* Returns a JSON X25519 public JWK of a fresh key pair. */
static json_t *x25519_jwk(void)
{
    unsigned char pk[X25519_KEY_BYTES], sk[X25519_KEY_BYTES];
    struct jwk j;
    json_t *o;

    assert_int_equal(x25519_keypair(pk, sk), ERR_OK);
    memset(&j, 0, sizeof(j));
    j.jk_kind = JWK_OKP_X25519;
    memcpy(j.jk_pub, pk, sizeof(pk));
    o = jwk_to_json(&j, 0);
    assert_non_null(o);
    return o;
}

/* The public JWK object of an EC key. */
static json_t *ec_jwk(const struct ec_key *k)
{
    char *t = ec_jwk_text(k);
    json_t *o = json_loads(t, 0, NULL);

    free(t);
    assert_non_null(o);
    return o;
}

/* Sends a request; sign: 0 none, 1 with key as account acct, 2 a fixed nonce (replays). */
static int send_req(enum http_client_method m, const char *target, const char *body, size_t blen,
                    const struct ec_key *key, const char *acct, int fixed_nonce,
                    const char *signed_body, struct http_client_response *resp)
{
    static const unsigned char nonce[ADMINSIG_NONCE_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8,
                                                              9, 1, 2, 3, 4, 5, 6, 7};
    struct http_client_header hh[2];
    struct http_client_request rq;
    struct buf auth;
    size_t nh = 0;
    enum err e;

    buf_init(&auth, 1024);
    memset(&rq, 0, sizeof(rq));
    if (key) {
        const char *sb = signed_body ? signed_body : body;
        size_t sl = signed_body ? strlen(signed_body) : blen;

        if (fixed_nonce)
            e = adminsig_sign_nonce(&auth, key, acct, http_client_method_name(m), target, sb, sl,
                                    (int64_t)time(NULL), nonce);
        else
            e = adminsig_sign(&auth, key, acct, http_client_method_name(m), target, sb, sl,
                              (int64_t)time(NULL));
        assert_int_equal(e, ERR_OK);
        hh[nh].hh_name = "Authorization";
        hh[nh++].hh_value = buf_str(&auth);
    }
    if (body) {
        hh[nh].hh_name = "Content-Type";
        hh[nh++].hh_value = "application/json";
    }
    rq.hq_method = m;
    rq.hq_path = target;
    rq.hq_headers = hh;
    rq.hq_nheaders = nh;
    rq.hq_body = body;
    rq.hq_body_len = blen;
    e = http_client_request(g.cli, &rq, resp);
    buf_free(&auth);
    assert_int_equal(e, ERR_OK);
    return resp->hr_status;
}

/* An admin call of ACC with a JSON body (may be NULL); returns the status, *out the JSON. */
static int admin(enum http_client_method m, const char *target, json_t *body, json_t **out)
{
    struct http_client_response resp;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int st;

    st = send_req(m, target, text, text ? strlen(text) : 0, g.admin, ACC, 0, NULL, &resp);
    if (out) {
        *out = resp.hr_body.b_len ? json_loadb(resp.hr_body.b_data, resp.hr_body.b_len, 0, NULL)
                                  : NULL;
    }
    http_client_response_free(&resp);
    free(text);
    json_decref(body);
    return st;
}

/* A sync call with the session; returns the status, *out the JSON. */
static int sync_call(enum http_client_method m, const char *target, json_t *body, json_t **out)
{
    struct http_client_response resp;
    struct http_client_header hh[2];
    struct http_client_request rq;
    char bearer[16 + SYNCAUTH_SESSION_LEN];
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    size_t nh = 0;
    int st;

    snprintf(bearer, sizeof(bearer), "Bearer %s", g.session);
    hh[nh].hh_name = "Authorization";
    hh[nh++].hh_value = bearer;
    memset(&rq, 0, sizeof(rq));
    rq.hq_method = m;
    rq.hq_path = target;
    rq.hq_headers = hh;
    rq.hq_nheaders = nh;
    rq.hq_body = text;
    rq.hq_body_len = text ? strlen(text) : 0;
    assert_int_equal(http_client_request(g.cli, &rq, &resp), ERR_OK);
    st = resp.hr_status;
    if (out)
        *out = resp.hr_body.b_len ? json_loadb(resp.hr_body.b_data, resp.hr_body.b_len, 0, NULL)
                                  : NULL;
    http_client_response_free(&resp);
    free(text);
    json_decref(body);
    return st;
}

/* An unauthenticated JSON POST; returns the status. */
static int plain_post(const char *target, json_t *body, json_t **out)
{
    struct http_client_response resp;
    char *text = json_dumps(body, JSON_COMPACT);
    int st = send_req(HTTP_CLIENT_POST, target, text, strlen(text), NULL, NULL, 0, NULL, &resp);

    if (out)
        *out = resp.hr_body.b_len ? json_loadb(resp.hr_body.b_data, resp.hr_body.b_len, 0, NULL)
                                  : NULL;
    http_client_response_free(&resp);
    free(text);
    json_decref(body);
    return st;
}

/* Returns base64url of a string (static buffer per call site: caller copies). */
static json_t *b64(const char *s)
{
    char out[256];

    assert_int_equal(codec_b64_encode(out, sizeof(out), NULL, s, strlen(s), CODEC_B64_URL), ERR_OK);
    return json_string(out);
}

/* The registration body of account id with key k. */
static json_t *account_body(const char *id, const struct ec_key *k)
{
    return json_pack("{s:s, s:o, s:o, s:{s:s, s:o}}", "id", id, "adminSignJwk", ec_jwk(k),
                     "adminWrapJwk", x25519_jwk(), "signingKey", "kid", "k1", "publicJwk",
                     ec_jwk(g.other));
}

/* Registers id with admin key k, the request signed by signer; returns the status. */
static int register_account(const char *id, const struct ec_key *k, const struct ec_key *signer)
{
    struct http_client_response resp;
    json_t *b = account_body(id, k);
    char *text = json_dumps(b, JSON_COMPACT);
    int st =
        send_req(HTTP_CLIENT_POST, "/v1/accounts", text, strlen(text), signer, id, 0, NULL, &resp);

    http_client_response_free(&resp);
    free(text);
    json_decref(b);
    return st;
}

/* An item PUT body. */
static json_t *item_body(const char *overview, long long base)
{
    json_t *o = json_pack("{s:s, s:o, s:o}", "category", "LOGIN", "overview", b64(overview),
                          "details", b64("details-ct"));

    if (base)
        json_object_set_new(o, "baseVersion", json_integer(base));
    return o;
}

/* ---- fixture -------------------------------------------------------------------------------- */

static int fx_setup(void **state)
{
    struct hub_options opt;
    struct http_client_config cc;
    char url[64], err[256];

    (void)state;
    assert_int_equal(crypto_init(), ERR_OK);
    assert_int_equal(http_client_global_init(), ERR_OK);
    snprintf(g.dir, sizeof(g.dir), "/tmp/test_hub.XXXXXX");
    assert_non_null(mkdtemp(g.dir));
    snprintf(g.db, sizeof(g.db), "%s/hub.db", g.dir);
    memset(&opt, 0, sizeof(opt));
    opt.ho_host = "127.0.0.1";
    opt.ho_store_url = g.db;
    assert_int_equal(hub_start(&g.hub, &opt, err, sizeof(err)), ERR_OK);
    assert_true(hub_port(g.hub) > 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", hub_port(g.hub));
    memset(&cc, 0, sizeof(cc));
    cc.hcc_base_url = url;
    cc.hcc_proxy = "";
    assert_int_equal(http_client_new(&g.cli, &cc, err, sizeof(err)), ERR_OK);
    assert_int_equal(ecdsa_p256_generate(&g.admin), ERR_OK);
    assert_int_equal(ecdsa_p256_generate(&g.other), ERR_OK);
    assert_int_equal(ecdsa_p256_generate(&g.server), ERR_OK);
    return 0;
}

static int fx_teardown(void **state)
{
    char path[160];

    (void)state;
    http_client_free(g.cli);
    hub_stop(g.hub);
    ecdsa_p256_free(g.admin);
    ecdsa_p256_free(g.other);
    ecdsa_p256_free(g.server);
    snprintf(path, sizeof(path), "%s/hub.db", g.dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/hub.db-wal", g.dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/hub.db-shm", g.dir);
    unlink(path);
    rmdir(g.dir);
    http_client_global_cleanup();
    return 0;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_registration(void **state)
{
    json_t *rec = NULL;

    (void)state;
    /* signed by another key than the body's: refused */
    assert_int_equal(register_account(ACC, g.admin, g.other), 401);
    assert_int_equal(register_account(ACC, g.admin, g.admin), 201);
    assert_int_equal(register_account(ACC, g.admin, g.admin), 409);
    /* the hub has an account: registration is closed */
    assert_int_equal(register_account(ACC2, g.other, g.other), 403);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/account", NULL, &rec), 200);
    assert_string_equal(json_string_value(json_object_get(rec, "id")), ACC);
    assert_int_equal(json_array_size(json_object_get(rec, "signingKeys")), 1);
    assert_int_equal(json_integer_value(json_object_get(rec, "lastSeq")), 2);
    json_decref(rec);
}

static void test_admin_signatures(void **state)
{
    struct http_client_response resp;
    const char *body = "{\"kid\":\"k2\"}";

    (void)state;
    /* no header, wrong key, unknown account */
    assert_int_equal(send_req(HTTP_CLIENT_GET, "/v1/account", NULL, 0, NULL, NULL, 0, NULL, &resp),
                     401);
    assert_non_null(strstr(resp.hr_body.b_data, "\"status\":401"));
    http_client_response_free(&resp);
    assert_int_equal(
        send_req(HTTP_CLIENT_GET, "/v1/account", NULL, 0, g.other, ACC, 0, NULL, &resp), 401);
    http_client_response_free(&resp);
    assert_int_equal(
        send_req(HTTP_CLIENT_GET, "/v1/account", NULL, 0, g.admin, ACC2, 0, NULL, &resp), 401);
    http_client_response_free(&resp);
    /* replay of the same signed request */
    assert_int_equal(send_req(HTTP_CLIENT_GET, "/v1/vaults", NULL, 0, g.admin, ACC, 1, NULL, &resp),
                     200);
    http_client_response_free(&resp);
    assert_int_equal(send_req(HTTP_CLIENT_GET, "/v1/vaults", NULL, 0, g.admin, ACC, 1, NULL, &resp),
                     401);
    http_client_response_free(&resp);
    /* the signature covers the body: a tampered body is refused before it is parsed */
    assert_int_equal(send_req(HTTP_CLIENT_POST, "/v1/signing-keys", body, strlen(body), g.admin,
                              ACC, 0, "{\"kid\":\"k3\"}", &resp),
                     401);
    http_client_response_free(&resp);
    /* a signed target with a query */
    assert_int_equal(
        send_req(HTTP_CLIENT_GET, "/v1/changes?since=0", NULL, 0, g.admin, ACC, 0, NULL, &resp),
        200);
    http_client_response_free(&resp);
}

static void test_vaults_items_files(void **state)
{
    struct http_client_response resp;
    json_t *r = NULL;

    (void)state;
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/vaults",
                           json_pack("{s:s, s:s, s:o, s:o}", "id", V1, "type", "USER_CREATED",
                                     "attrs", b64("attrs-ct"), "keyAdmin", b64("key-admin")),
                           &r),
                     201);
    assert_string_equal(json_string_value(json_object_get(r, "id")), V1);
    assert_int_equal(json_integer_value(json_object_get(r, "contentVersion")), 1);
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/vaults",
                           json_pack("{s:s, s:s, s:o, s:o}", "id", V2, "type", "USER_CREATED",
                                     "attrs", b64("attrs-2"), "keyAdmin", b64("key-admin-2")),
                           NULL),
                     201);
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/vaults",
                           json_pack("{s:s, s:s, s:o, s:o}", "id", V1, "type", "USER_CREATED",
                                     "attrs", b64("x"), "keyAdmin", b64("y")),
                           NULL),
                     409);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults", NULL, &r), 200);
    assert_int_equal(json_array_size(r), 2);
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_PATCH, "/v1/vaults/" V1,
                           json_pack("{s:o}", "attrs", b64("attrs-ct-2")), &r),
                     200);
    assert_int_equal(json_integer_value(json_object_get(r, "attributeVersion")), 2);
    json_decref(r);

    /* items: create, stale baseVersion, update, list, get */
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/items/" I1, item_body("ov1", 0), &r),
                     200);
    assert_int_equal(json_integer_value(json_object_get(r, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(r, "lastEditedBy")), ACC);
    json_decref(r);
    assert_int_equal(
        admin(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/items/" I1, item_body("ov2", 5), NULL), 409);
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/items/" I1, item_body("ov2", 1), &r),
                     200);
    assert_int_equal(json_integer_value(json_object_get(r, "version")), 2);
    json_decref(r);
    assert_int_equal(
        admin(HTTP_CLIENT_PUT, "/v1/vaults/" V2 "/items/" I2, item_body("ov", 0), NULL), 200);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V1 "/items", NULL, &r), 200);
    assert_int_equal(json_array_size(r), 1);
    assert_null(json_object_get(json_array_get(r, 0), "details"));
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V1 "/items/" I1, NULL, &r), 200);
    assert_non_null(json_object_get(r, "details"));
    json_decref(r);
    assert_int_equal(
        admin(HTTP_CLIENT_DELETE, "/v1/vaults/" V1 "/items/" I1 "?baseVersion=1", NULL, NULL), 409);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V1 "/items/" I2, NULL, NULL), 404);

    /* files: raw ciphertext, 201 then 200 for the same, 409 for other contents */
    assert_int_equal(send_req(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/files/" F1 "?size=4",
                              "\x01\x02\x03\x00zz", 6, g.admin, ACC, 0, NULL, &resp),
                     201);
    http_client_response_free(&resp);
    assert_int_equal(send_req(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/files/" F1 "?size=4",
                              "\x01\x02\x03\x00zz", 6, g.admin, ACC, 0, NULL, &resp),
                     200);
    http_client_response_free(&resp);
    assert_int_equal(send_req(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/files/" F1 "?size=4", "other", 5,
                              g.admin, ACC, 0, NULL, &resp),
                     409);
    http_client_response_free(&resp);
    assert_int_equal(send_req(HTTP_CLIENT_GET, "/v1/vaults/" V1 "/files/" F1, NULL, 0, g.admin, ACC,
                              0, NULL, &resp),
                     200);
    assert_int_equal(resp.hr_body.b_len, 6);
    assert_memory_equal(resp.hr_body.b_data, "\x01\x02\x03\x00zz", 6);
    assert_string_equal(http_client_response_header(&resp, "Sesame-File-Size"), "4");
    assert_int_equal(strlen(http_client_response_header(&resp, "Sesame-File-Sha256")), 64);
    http_client_response_free(&resp);
    /* a file larger than the JSON cap (raw ciphertext up to 16 MiB) */
    {
        size_t n = 6u << 20;
        char *big = malloc(n);

        assert_non_null(big);
        for (size_t k = 0; k < n; k++)
            big[k] = (char)(k * 7);
        assert_int_equal(send_req(HTTP_CLIENT_PUT,
                                  "/v1/vaults/" V1 "/files/f2f2f2f2f2f2f2f2f2f2f2f2f2?size=9", big,
                                  n, g.admin, ACC, 0, NULL, &resp),
                         201);
        http_client_response_free(&resp);
        assert_int_equal(send_req(HTTP_CLIENT_GET,
                                  "/v1/vaults/" V1 "/files/f2f2f2f2f2f2f2f2f2f2f2f2f2", NULL, 0,
                                  g.admin, ACC, 0, NULL, &resp),
                         200);
        assert_int_equal(resp.hr_body.b_len, n);
        assert_memory_equal(resp.hr_body.b_data, big, n);
        http_client_response_free(&resp);
        free(big);
    }
}

static void test_servers_grants_tokens(void **state)
{
    json_t *r = NULL;

    (void)state;
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/servers",
                           json_pack("{s:s, s:s, s:o, s:o, s:o}", "id", SA, "name", "prod",
                                     "signJwk", ec_jwk(g.server), "wrapJwk", x25519_jwk(),
                                     "unlockAdmin", b64("unlock-sealed")),
                           &r),
                     201);
    assert_string_equal(json_string_value(json_object_get(r, "name")), "prod");
    assert_int_equal(json_array_size(json_object_get(r, "grants")), 0);
    json_decref(r);
    /* unlockAdmin is required */
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/servers",
                           json_pack("{s:s, s:s, s:o, s:o}", "id", V2, "name", "x", "signJwk",
                                     ec_jwk(g.server), "wrapJwk", x25519_jwk()),
                           NULL),
                     400);
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/servers/" SA "/grants/" V1,
                           json_pack("{s:o}", "keyWrapped", b64("wrapped-v1")), &r),
                     200);
    assert_string_equal(json_string_value(json_object_get(r, "vault")), V1);
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/servers/" SA, NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "grants")), 1);
    assert_non_null(json_object_get(r, "unlockAdmin"));
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/servers", NULL, &r), 200);
    assert_int_equal(json_array_size(r), 1);
    json_decref(r);
    assert_int_equal(
        admin(HTTP_CLIENT_POST, "/v1/tokens",
              json_pack("{s:s, s:s, s:s, s:[{s:s, s:i}], s:i, s:s}", "jti", TK, "name", "ci",
                        "server", SA, "vaults", "u", V1, "a", 48, "expiresAt", 0, "sha256",
                        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
              &r),
        201);
    assert_int_equal(json_integer_value(json_object_get(r, "revokedAt")), 0);
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/tokens?server=" SA, NULL, &r), 200);
    assert_int_equal(json_array_size(r), 1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_array_get(r, 0), "vaults"), 0), "u")),
        V1);
    json_decref(r);
}

/* Runs the challenge and session exchange for SA; returns the session status. */
static int open_session(const struct ec_key *key)
{
    char sig[SYNCAUTH_SIG_LEN + 1];
    const char *ch;
    json_t *r = NULL, *s = NULL;
    int st;

    assert_int_equal(
        plain_post("/v1/sync/challenge", json_pack("{s:s, s:s}", "account", ACC, "server", SA), &r),
        200);
    ch = json_string_value(json_object_get(r, "challenge"));
    assert_non_null(ch);
    assert_int_equal(json_integer_value(json_object_get(r, "expiresIn")), 60);
    assert_int_equal(syncauth_sign(sig, key, ch, SA), ERR_OK);
    st = plain_post("/v1/sync/session",
                    json_pack("{s:s, s:s, s:s, s:s}", "account", ACC, "server", SA, "challenge", ch,
                              "signature", sig),
                    &s);
    if (st == 200) {
        snprintf(g.session, sizeof(g.session), "%s",
                 json_string_value(json_object_get(s, "session")));
        assert_int_equal(json_integer_value(json_object_get(s, "expiresIn")), 900);
        /* the same challenge again: refused */
        assert_int_equal(plain_post("/v1/sync/session",
                                    json_pack("{s:s, s:s, s:s, s:s}", "account", ACC, "server", SA,
                                              "challenge", ch, "signature", sig),
                                    NULL),
                         401);
    }
    json_decref(r);
    json_decref(s);
    return st;
}

/* Returns 1 when the changes answer r holds a change of kind for ref. */
static int has_change(const json_t *r, const char *kind, const char *ref)
{
    const json_t *c;
    size_t i;

    json_array_foreach(json_object_get(r, "changes"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "kind")), kind) == 0 &&
            strcmp(json_string_value(json_object_get(c, "ref")), ref) == 0)
            return 1;
    }
    return 0;
}

static void test_sync(void **state)
{
    json_t *r = NULL;

    (void)state;
    assert_int_equal(open_session(g.other), 401);
    assert_int_equal(open_session(g.server), 200);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/state", NULL, &r), 200);
    assert_string_equal(json_string_value(json_object_get(r, "account")), ACC);
    assert_int_equal(json_array_size(json_object_get(r, "grants")), 1);
    assert_non_null(json_object_get(json_array_get(json_object_get(r, "grants"), 0), "keyWrapped"));
    json_decref(r);

    /* the feed: items of V1 (granted), not of V2 */
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/changes?since=0", NULL, &r), 200);
    assert_true(has_change(r, "item_put", I1));
    assert_false(has_change(r, "item_put", I2));
    assert_true(has_change(r, "grant_put", SA));
    assert_true(json_is_object(
        json_object_get(json_array_get(json_object_get(r, "changes"), 0), "payload")));
    json_decref(r);

    /* granted vault: full items with details; ungranted: 403 */
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/vaults/" V1 "/items", NULL, &r), 200);
    assert_int_equal(json_array_size(r), 1);
    assert_non_null(json_object_get(json_array_get(r, 0), "details"));
    json_decref(r);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/vaults/" V2 "/items", NULL, NULL), 403);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/vaults/" V1, NULL, &r), 200);
    assert_null(json_object_get(r, "keyAdmin"));
    json_decref(r);

    /* a sync write: lastEditedBy is the server (uppercase) */
    assert_int_equal(
        sync_call(HTTP_CLIENT_PUT, "/v1/sync/vaults/" V1 "/items/" I1, item_body("ov3", 2), &r),
        200);
    assert_int_equal(json_integer_value(json_object_get(r, "version")), 3);
    assert_string_equal(json_string_value(json_object_get(r, "lastEditedBy")),
                        "SASASASASASASASASASASASASA");
    json_decref(r);
    assert_int_equal(
        sync_call(HTTP_CLIENT_PUT, "/v1/sync/vaults/" V2 "/items/" I2, item_body("ov3", 0), NULL),
        403);

    /* revocation of its token is visible to the server */
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/tokens/" TK, NULL, NULL), 204);
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/tokens/" TK, NULL, NULL), 204);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/changes?since=0", NULL, &r), 200);
    assert_true(has_change(r, "token_revoke", TK));
    json_decref(r);

    /* a bad session */
    memcpy(g.session, "AAAA", 4);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/state", NULL, NULL), 401);
    assert_int_equal(open_session(g.server), 200);
}

struct poll_arg {
    char target[128];
    int status;
    json_t *body;
    double seconds;
};

/* Runs a long-poll on its own client. */
static void *poll_thread(void *p)
{
    struct poll_arg *a = p;
    struct http_client_response resp;
    struct http_client_header hh[1];
    struct http_client_request rq;
    struct http_client_config cc;
    struct http_client *c = NULL;
    char bearer[16 + SYNCAUTH_SESSION_LEN], url[64];
    struct timespec t0, t1;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", hub_port(g.hub));
    memset(&cc, 0, sizeof(cc));
    cc.hcc_base_url = url;
    cc.hcc_proxy = "";
    if (http_client_new(&c, &cc, NULL, 0) != ERR_OK)
        return NULL;
    snprintf(bearer, sizeof(bearer), "Bearer %s", g.session);
    hh[0].hh_name = "Authorization";
    hh[0].hh_value = bearer;
    memset(&rq, 0, sizeof(rq));
    rq.hq_method = HTTP_CLIENT_GET;
    rq.hq_path = a->target;
    rq.hq_headers = hh;
    rq.hq_nheaders = 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (http_client_request(c, &rq, &resp) == ERR_OK) {
        a->status = resp.hr_status;
        a->body = json_loadb(resp.hr_body.b_data, resp.hr_body.b_len, 0, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    a->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    http_client_response_free(&resp);
    http_client_free(c);
    return NULL;
}

static void test_longpoll(void **state)
{
    struct poll_arg a;
    pthread_t th;
    json_t *r = NULL;
    long long last;

    (void)state;
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/changes?since=0", NULL, &r), 200);
    last = json_integer_value(json_object_get(r, "next"));
    assert_false(json_is_true(json_object_get(r, "more")));
    json_decref(r);

    /* nothing new, short wait: answers empty after about the wait */
    memset(&a, 0, sizeof(a));
    snprintf(a.target, sizeof(a.target), "/v1/sync/changes?since=%lld&wait=300ms", last);
    poll_thread(&a);
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(json_object_get(a.body, "changes")), 0);
    assert_true(a.seconds >= 0.25);
    json_decref(a.body);

    /* woken by a write */
    memset(&a, 0, sizeof(a));
    snprintf(a.target, sizeof(a.target), "/v1/sync/changes?since=%lld&wait=20", last);
    assert_int_equal(pthread_create(&th, NULL, poll_thread, &a), 0);
    usleep(300 * 1000);
    assert_int_equal(
        admin(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/items/" I2, item_body("ov", 0), NULL), 200);
    pthread_join(th, NULL);
    assert_int_equal(a.status, 200);
    assert_true(a.seconds < 10.0);
    assert_true(has_change(a.body, "item_put", I2));
    json_decref(a.body);
}

static void test_activity(void **state)
{
    struct http_client_response resp;
    json_t *r = NULL;

    (void)state;
    assert_int_equal(
        sync_call(HTTP_CLIENT_POST, "/v1/sync/activity",
                  json_pack("{s:[{s:s},{s:s}]}", "entries", "requestId", "r1", "requestId", "r2"),
                  NULL),
        204);
    assert_int_equal(
        sync_call(HTTP_CLIENT_POST, "/v1/sync/activity", json_pack("{s:[]}", "entries"), NULL),
        400);
    assert_int_equal(send_req(HTTP_CLIENT_GET, "/v1/activity?limit=1&offset=1", NULL, 0, g.admin,
                              ACC, 0, NULL, &resp),
                     200);
    assert_string_equal(http_client_response_header(&resp, "Content-Range"), "1-1/2");
    r = json_loadb(resp.hr_body.b_data, resp.hr_body.b_len, 0, NULL);
    assert_int_equal(json_array_size(r), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(r, 0), "entry"), "requestId")),
                        "r2");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "server")), SA);
    json_decref(r);
    http_client_response_free(&resp);
}

static void test_errors(void **state)
{
    struct http_client_response resp;
    json_t *r = NULL;

    (void)state;
    assert_int_equal(
        send_req(HTTP_CLIENT_POST, "/v1/vaults", "{\"id\":", 6, g.admin, ACC, 0, NULL, &resp), 400);
    http_client_response_free(&resp);
    /* a JSON body over 4 MiB: 413 before authentication (file PUTs may be 16 MiB) */
    {
        size_t n = (4u << 20) + 16;
        char *big = malloc(n);

        assert_non_null(big);
        memset(big, ' ', n);
        big[0] = '{';
        big[n - 1] = '}';
        assert_int_equal(
            send_req(HTTP_CLIENT_POST, "/v1/vaults", big, n, NULL, NULL, 0, NULL, &resp), 413);
        http_client_response_free(&resp);
        free(big);
    }
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/nothing", NULL, &r), 404);
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 404);
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_PATCH, "/v1/account", NULL, NULL), 405);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/not-an-id", NULL, &r), 400);
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V1 "/items/" I2 "x", NULL, NULL), 400);
    /* deleting a server ends its sessions */
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/servers/" SA, NULL, NULL), 204);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/state", NULL, NULL), 401);
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/vaults/" V2, NULL, NULL), 204);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V2, NULL, NULL), 404);
}

/* `sesame hub` refuses bad usage with exit 2 before opening anything. */
static void test_hub_main_usage(void **state)
{
    static const char *const cases[][4] = {
        {"sesame", "hub", "--bogus", NULL},        {"sesame", "hub", "--addr", NULL},
        {"sesame", "hub", "--addr", "nohostport"}, {"sesame", "hub", "--addr", "127.0.0.1:65536"},
        {"sesame", "hub", "--addr", "[::1]7700"},  {"sesame", "hub", "--data", ""},
    };
    char *argv[4];
    size_t i;
    int argc;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (argc = 0; argc < 4 && cases[i][argc]; argc++)
            argv[argc] = (char *)(uintptr_t)cases[i][argc];
        assert_int_equal(hub_main(argc, argv), 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registration),
        cmocka_unit_test(test_admin_signatures),
        cmocka_unit_test(test_vaults_items_files),
        cmocka_unit_test(test_servers_grants_tokens),
        cmocka_unit_test(test_sync),
        cmocka_unit_test(test_longpoll),
        cmocka_unit_test(test_activity),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_hub_main_usage),
    };

    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
