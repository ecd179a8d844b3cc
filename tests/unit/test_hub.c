/*
 * test_hub.c - the hub in-process (127.0.0.1, port 0, a temporary SQLite file), spoken to
 * over HTTP with the project's client, with real keys (an account kit, a server's
 * credentials keys, vault keys) so that what goes through the hub is what the CLI and sync
 * send: registration (first, closed, open, a race of first registrations), admin
 * signatures (replay, wrong key, window, tampered body or target, forged signature),
 * signing keys, vaults, items (baseVersion: stale, absent), files, servers, grants,
 * tokens, the sync challenge/session, the filtered change feed and its long-poll, sync
 * writes, activity, the admin feed, the error answers, and `sesame hub` itself (usage,
 * --port-file, SIGTERM). The tests of the main group run in order and share one hub.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/ids.h"
#include "crypto/crypto.h"
#include "crypto/ecdsa.h"
#include "crypto/jwk.h"
#include "http/client.h"
#include "hub/hub.h"
#include "hub/hub_int.h"
#include "keys/adminsig.h"
#include "keys/credentials.h"
#include "keys/kit.h"
#include "keys/syncauth.h"
#include "keys/vaultcrypt.h"

#include "pgtest.h"

#define V1 "v1v1v1v1v1v1v1v1v1v1v1v1v1"
#define V2 "v2v2v2v2v2v2v2v2v2v2v2v2v2"
#define V9 "v9v9v9v9v9v9v9v9v9v9v9v9v9"
#define I1 "i1i1i1i1i1i1i1i1i1i1i1i1i1"
#define I2 "i2i2i2i2i2i2i2i2i2i2i2i2i2"
#define I3 "i3i3i3i3i3i3i3i3i3i3i3i3i3"
#define F1 "f1f1f1f1f1f1f1f1f1f1f1f1f1"
#define F2 "f2f2f2f2f2f2f2f2f2f2f2f2f2"
#define F3 "f3f3f3f3f3f3f3f3f3f3f3f3f3"
#define SA "sasasasasasasasasasasasasa"
#define S9 "s9s9s9s9s9s9s9s9s9s9s9s9s9"
#define TK "tktktktktktktktktktktktktk"

#define HUB_URL "http://127.0.0.1:7700"

static int g_pg;                       /* 1: hubs on PostgreSQL (TEST_HUB_STORE=pg) */
static char g_pg_base[PGTEST_URL_MAX]; /* the test cluster's URL */

/* The database of a new hub: dir/hub.db, or a new PostgreSQL database. */
static void hub_db(const char *dir, char *out, size_t cap)
{
    if (g_pg) {
        assert_int_equal(pgtest_new_database(g_pg_base, out, cap), 0);
        return;
    }
    snprintf(out, cap, "%s/hub.db", dir);
}

static struct {
    char dir[64];
    struct hub *hub;
    struct http_client *cli;
    struct kit *kit;       /* the account's kit */
    struct kit *kit2;      /* another account's kit (refused, wrong keys) */
    struct jwk srv_sign;   /* the server's signing key */
    struct jwk srv_wrap;   /* the server's wrap key */
    unsigned char *unlock; /* the server's unlock secret (secure memory) */
    unsigned char *vkey1;  /* vault keys */
    unsigned char *vkey2;
    char session[SYNCAUTH_SESSION_LEN + 1];
} g;

/* ---- helpers ------------------------------------------------------------------------------ */

/* How a request is authenticated. */
struct opts {
    const struct ec_key *key;  /* Sesame-Admin signature with this key... */
    const char *acct;          /* ...as this account */
    int fixed_nonce;           /* a constant nonce (for replays) */
    int64_t skew;              /* seconds added to now for ts */
    const char *signed_body;   /* sign this instead of the body (tampering) */
    const char *signed_target; /* sign this instead of the target */
    const char *authorization; /* an Authorization value as is */
    const char *bearer;        /* "Authorization: Bearer <bearer>" */
};

/* Returns the account id of the test's kit. */
static const char *acc(void)
{
    return kit_account_id(g.kit);
}

/* Returns the admin signing key of a kit. */
static const struct ec_key *admin_key(const struct kit *k)
{
    return kit_admin_signing_key(k)->jk_ec;
}

/* Returns a new HTTP client of the hub on port, or NULL (no cmocka assertion: threads use it). */
static struct http_client *client_new(int port)
{
    struct http_client_config cc;
    struct http_client *c = NULL;
    char url[64];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    memset(&cc, 0, sizeof(cc));
    cc.hcc_base_url = url;
    cc.hcc_proxy = "";
    if (http_client_new(&c, &cc, NULL, 0) != ERR_OK)
        return NULL;
    return c;
}

/* Returns a new HTTP client of the hub on port. */
static struct http_client *client_of(int port)
{
    struct http_client *c = client_new(port);

    assert_non_null(c);
    return c;
}

/*
 * Sends a request on c; returns the status, or -1 when it could not be signed or sent (no
 * cmocka assertion: threads use it). resp: http_client_response_free it either way.
 */
static int call_try(struct http_client *c, enum http_client_method m, const char *target,
                    const void *body, size_t blen, const struct opts *o,
                    struct http_client_response *resp)
{
    static const unsigned char nonce[ADMINSIG_NONCE_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8,
                                                              9, 1, 2, 3, 4, 5, 6, 7};
    struct http_client_header hh[2];
    struct http_client_request rq;
    struct buf auth;
    size_t nh = 0;
    enum err e = ERR_OK;

    memset(resp, 0, sizeof(*resp));
    buf_init(&auth, 1024);
    memset(&rq, 0, sizeof(rq));
    if (o && o->authorization) {
        hh[nh].hh_name = "Authorization";
        hh[nh++].hh_value = o->authorization;
    } else if (o && o->bearer) {
        e = buf_add(&auth, "Bearer ", 7);
        if (e == ERR_OK)
            e = buf_add(&auth, o->bearer, strlen(o->bearer));
        hh[nh].hh_name = "Authorization";
        hh[nh++].hh_value = buf_str(&auth);
    } else if (o && o->key) {
        const char *sb = o->signed_body ? o->signed_body : body;
        size_t sl = o->signed_body ? strlen(o->signed_body) : blen;
        const char *st = o->signed_target ? o->signed_target : target;
        int64_t now = (int64_t)time(NULL) + o->skew;

        if (o->fixed_nonce)
            e = adminsig_sign_nonce(&auth, o->key, o->acct, http_client_method_name(m), st, sb, sl,
                                    now, nonce);
        else
            e = adminsig_sign(&auth, o->key, o->acct, http_client_method_name(m), st, sb, sl, now);
        hh[nh].hh_name = "Authorization";
        hh[nh++].hh_value = buf_str(&auth);
    }
    if (body && blen) {
        hh[nh].hh_name = "Content-Type";
        hh[nh++].hh_value = "application/json";
    }
    rq.hq_method = m;
    rq.hq_path = target;
    rq.hq_headers = hh;
    rq.hq_nheaders = nh;
    rq.hq_body = body;
    rq.hq_body_len = blen;
    if (e == ERR_OK)
        e = http_client_request(c, &rq, resp);
    buf_free(&auth);
    return e == ERR_OK ? resp->hr_status : -1;
}

/* As call_try, asserting that an answer arrived. */
static int call(struct http_client *c, enum http_client_method m, const char *target,
                const void *body, size_t blen, const struct opts *o,
                struct http_client_response *resp)
{
    int st = call_try(c, m, target, body, blen, o, resp);

    assert_true(st > 0);
    return st;
}

/*
 * Sends raw bytes to 127.0.0.1:port and reads the answer until the server closes the
 * connection (or ans is full); returns the bytes read (ans NUL-terminated).
 */
static size_t raw_exchange(int port, const char *raw, char *ans, size_t cap)
{
    struct sockaddr_in sa;
    struct timeval tv = {.tv_sec = 10};
    size_t got = 0;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(write(fd, raw, strlen(raw)), (ssize_t)strlen(raw));
    while (got + 1 < cap && (n = read(fd, ans + got, cap - 1 - got)) > 0)
        got += (size_t)n;
    ans[got] = '\0';
    close(fd);
    return got;
}

/* Parses a response body as JSON (NULL when empty). */
static json_t *body_json(const struct http_client_response *resp)
{
    return resp->hr_body.b_len ? json_loadb(resp->hr_body.b_data, resp->hr_body.b_len, 0, NULL)
                               : NULL;
}

/* Sends a JSON body (stolen; may be NULL) on the shared client; *out gets the answer. */
static int json_call(enum http_client_method m, const char *target, json_t *body,
                     const struct opts *o, json_t **out)
{
    struct http_client_response resp;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int st = call(g.cli, m, target, text, text ? strlen(text) : 0, o, &resp);

    if (out)
        *out = body_json(&resp);
    http_client_response_free(&resp);
    free(text);
    json_decref(body);
    return st;
}

/* An admin call of the kit's account. */
static int admin(enum http_client_method m, const char *target, json_t *body, json_t **out)
{
    struct opts o = {.key = admin_key(g.kit), .acct = acc()};

    return json_call(m, target, body, &o, out);
}

/* A sync call with the current session. */
static int sync_call(enum http_client_method m, const char *target, json_t *body, json_t **out)
{
    struct opts o = {.bearer = g.session};

    return json_call(m, target, body, &o, out);
}

/* An unauthenticated JSON call. */
static int plain(enum http_client_method m, const char *target, json_t *body, json_t **out)
{
    return json_call(m, target, body, NULL, out);
}

/* Returns a JSON string of base64url(p, n). */
static json_t *b64j(const void *p, size_t n)
{
    size_t cap = codec_b64_encoded_len(n, 0) + 1;
    char *t = malloc(cap);
    json_t *s;

    assert_non_null(t);
    assert_int_equal(codec_b64_encode(t, cap, NULL, p, n, CODEC_B64_URL), ERR_OK);
    s = json_string(t);
    free(t);
    return s;
}

/* Decodes the base64url member key of o into *p (malloc'd), *n. */
static void b64_member(const json_t *o, const char *key, unsigned char **p, size_t *n)
{
    const char *s = json_string_value(json_object_get(o, key));
    size_t cap;

    assert_non_null(s);
    cap = codec_b64_decoded_max(strlen(s)) + 1;
    *p = malloc(cap);
    assert_non_null(*p);
    assert_int_equal(codec_b64_decode(*p, cap, n, s, strlen(s), CODEC_B64_URL), ERR_OK);
}

/* Returns the public JWK object of a key. */
static json_t *pub_jwk(const struct jwk *k)
{
    json_t *o = jwk_to_json(k, 0);

    assert_non_null(o);
    return o;
}

/* Returns base64url of secret wrapped to the X25519 key to. */
static json_t *wrapped(const unsigned char *secret, size_t len, const struct jwk *to)
{
    struct buf b;
    json_t *s;

    buf_init(&b, 4096);
    assert_int_equal(vaultcrypt_wrap(&b, secret, len, to), ERR_OK);
    s = b64j(b.b_data, b.b_len);
    buf_free(&b);
    return s;
}

/* Checks that member key of o unwraps with me to expect (len bytes). */
static void assert_unwraps(const json_t *o, const char *key, const struct jwk *me,
                           const unsigned char *expect, size_t len)
{
    unsigned char *ct = NULL, *secret = NULL;
    size_t n = 0, slen = 0;

    b64_member(o, key, &ct, &n);
    assert_int_equal(vaultcrypt_unwrap(&secret, &slen, ct, n, me), ERR_OK);
    assert_int_equal(slen, len);
    assert_memory_equal(secret, expect, len);
    vaultcrypt_key_free(secret);
    free(ct);
}

/* The registration body of kit k, or NULL (no assertion: threads use it). */
static json_t *account_body(const struct kit *k)
{
    const struct jwk *cur = kit_signing_key_current(k);

    return json_pack("{s:s, s:o, s:o, s:{s:s, s:o}}", "id", kit_account_id(k), "adminSignJwk",
                     jwk_to_json(kit_admin_signing_key(k), 0), "adminWrapJwk",
                     jwk_to_json(kit_admin_wrap_key(k), 0), "signingKey", "kid", cur->jk_kid,
                     "publicJwk", jwk_to_json(cur, 0));
}

/* Registers kit k on c, signed by signer as account hdr; returns the status or -1 (no assertion).
 */
static int register_on(struct http_client *c, const struct kit *k, const struct ec_key *signer,
                       const char *hdr, json_t **out)
{
    struct http_client_response resp;
    struct opts o = {.key = signer, .acct = hdr};
    json_t *b = account_body(k);
    char *text = b ? json_dumps(b, JSON_COMPACT) : NULL;
    int st =
        text ? call_try(c, HTTP_CLIENT_POST, "/v1/accounts", text, strlen(text), &o, &resp) : -1;

    if (out)
        *out = text ? body_json(&resp) : NULL;
    if (text)
        http_client_response_free(&resp);
    free(text);
    json_decref(b);
    return st;
}

/* An item PUT body sealed with key for (vault, item, version); base 0: none. */
static json_t *item_body(const unsigned char *key, const char *vault, const char *item,
                         uint64_t version, const char *title, uint64_t base)
{
    json_t *ov = json_pack("{s:s}", "title", title), *det = json_pack("{s:s}", "notes", title);
    struct buf b1, b2;
    json_t *o;

    buf_init(&b1, 1 << 20);
    buf_init(&b2, 1 << 20);
    assert_int_equal(vaultcrypt_item_seal(&b1, key, vault, item, version, VAULTCRYPT_OVERVIEW, ov),
                     ERR_OK);
    assert_int_equal(vaultcrypt_item_seal(&b2, key, vault, item, version, VAULTCRYPT_DETAILS, det),
                     ERR_OK);
    o = json_pack("{s:s, s:o, s:o}", "category", "LOGIN", "overview", b64j(b1.b_data, b1.b_len),
                  "details", b64j(b2.b_data, b2.b_len));
    if (base)
        json_object_set_new(o, "baseVersion", json_integer((json_int_t)base));
    buf_free(&b1);
    buf_free(&b2);
    json_decref(ov);
    json_decref(det);
    return o;
}

/* Checks that ITEM r opens with key and carries title (details too when present). */
static void assert_item_opens(const json_t *r, const unsigned char *key, const char *title)
{
    const char *vault = json_string_value(json_object_get(r, "vault"));
    const char *item = json_string_value(json_object_get(r, "id"));
    uint64_t version = (uint64_t)json_integer_value(json_object_get(r, "version"));
    unsigned char *ct = NULL;
    json_t *obj = NULL;
    size_t n = 0;

    b64_member(r, "overview", &ct, &n);
    assert_int_equal(
        vaultcrypt_item_open(&obj, key, vault, item, version, VAULTCRYPT_OVERVIEW, ct, n), ERR_OK);
    assert_string_equal(json_string_value(json_object_get(obj, "title")), title);
    json_decref(obj);
    free(ct);
    if (json_object_get(r, "details")) {
        b64_member(r, "details", &ct, &n);
        assert_int_equal(
            vaultcrypt_item_open(&obj, key, vault, item, version, VAULTCRYPT_DETAILS, ct, n),
            ERR_OK);
        assert_string_equal(json_string_value(json_object_get(obj, "notes")), title);
        json_decref(obj);
        free(ct);
    }
}

/* A vault creation body for id sealed with key. */
static json_t *vault_body(const char *id, const unsigned char *key, const char *name)
{
    json_t *attrs = json_pack("{s:s, s:s}", "name", name, "description", "");
    struct buf b;
    json_t *o;

    buf_init(&b, 1 << 16);
    assert_int_equal(vaultcrypt_attrs_seal(&b, key, id, attrs), ERR_OK);
    o = json_pack("{s:s, s:s, s:o, s:o}", "id", id, "type", "USER_CREATED", "attrs",
                  b64j(b.b_data, b.b_len), "keyAdmin",
                  wrapped(key, VAULTCRYPT_KEY_BYTES, kit_admin_wrap_key(g.kit)));
    buf_free(&b);
    json_decref(attrs);
    return o;
}

/* Returns the integer member key of o. */
static long long jint(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    assert_true(json_is_integer(v));
    return (long long)json_integer_value(v);
}

/* Returns the string member key of o. */
static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    assert_non_null(s);
    return s;
}

/* Returns the change of kind for ref in a CHANGES answer, or NULL. */
static const json_t *find_change(const json_t *r, const char *kind, const char *ref)
{
    const json_t *c;
    size_t i;

    json_array_foreach(json_object_get(r, "changes"), i, c)
    {
        if (strcmp(jstr(c, "kind"), kind) == 0 && strcmp(jstr(c, "ref"), ref) == 0)
            return c;
    }
    return NULL;
}

/* Returns 1 when r holds a change of kind for ref. */
static int has_change(const json_t *r, const char *kind, const char *ref)
{
    return find_change(r, kind, ref) != NULL;
}

/* ---- fixture -------------------------------------------------------------------------------- */

static int fx_setup(void **state)
{
    struct hub_options opt;
    char db[PGTEST_URL_MAX], err[256];

    (void)state;
    assert_int_equal(crypto_init(), ERR_OK);
    assert_int_equal(http_client_global_init(), ERR_OK);
    snprintf(g.dir, sizeof(g.dir), "/tmp/test_hub.XXXXXX");
    assert_non_null(mkdtemp(g.dir));
    hub_db(g.dir, db, sizeof(db));
    memset(&opt, 0, sizeof(opt));
    opt.ho_host = "127.0.0.1";
    opt.ho_store_url = db;
    assert_int_equal(hub_start(&g.hub, &opt, err, sizeof(err)), ERR_OK);
    assert_true(hub_port(g.hub) > 0);
    g.cli = client_of(hub_port(g.hub));
    assert_int_equal(kit_generate(&g.kit, HUB_URL), ERR_OK);
    assert_int_equal(kit_generate(&g.kit2, HUB_URL), ERR_OK);
    g.unlock = secmem_alloc(CREDENTIALS_UNLOCK_BYTES);
    assert_non_null(g.unlock);
    assert_int_equal(credentials_keys_generate(&g.srv_sign, &g.srv_wrap, g.unlock), ERR_OK);
    assert_int_equal(vaultcrypt_key_generate(&g.vkey1), ERR_OK);
    assert_int_equal(vaultcrypt_key_generate(&g.vkey2), ERR_OK);
    return 0;
}

/* Removes a hub data directory (the database and its WAL files). */
static void remove_dir(const char *dir)
{
    static const char *const names[] = {"hub.db", "hub.db-wal", "hub.db-shm", "port"};
    char path[160];
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static int fx_teardown(void **state)
{
    (void)state;
    http_client_free(g.cli);
    hub_stop(g.hub);
    kit_free(g.kit);
    kit_free(g.kit2);
    jwk_clear(&g.srv_sign);
    jwk_clear(&g.srv_wrap);
    secmem_free(g.unlock);
    vaultcrypt_key_free(g.vkey1);
    vaultcrypt_key_free(g.vkey2);
    remove_dir(g.dir);
    http_client_global_cleanup();
    return 0;
}

/* ---- registration and admin signatures --------------------------------------------------- */

static void test_registration(void **state)
{
    json_t *rec = NULL;

    (void)state;
    /* signed by another key than the body's: 401; the header's account is not the id: 403 */
    assert_int_equal(register_on(g.cli, g.kit, admin_key(g.kit2), acc(), &rec), 401);
    assert_string_equal(jstr(rec, "message"), "authentication failed");
    assert_int_equal(jint(rec, "status"), 401);
    json_decref(rec);
    assert_int_equal(register_on(g.cli, g.kit, admin_key(g.kit), kit_account_id(g.kit2), NULL),
                     403);
    /* the first registration on an empty hub */
    assert_int_equal(register_on(g.cli, g.kit, admin_key(g.kit), acc(), &rec), 201);
    assert_string_equal(jstr(rec, "id"), acc());
    assert_int_equal(jint(rec, "lastSeq"), 2);
    assert_int_equal(json_array_size(json_object_get(rec, "signingKeys")), 1);
    assert_string_equal(jstr(json_array_get(json_object_get(rec, "signingKeys"), 0), "kid"),
                        kit_signing_key_current(g.kit)->jk_kid);
    assert_int_equal(jint(json_array_get(json_object_get(rec, "signingKeys"), 0), "retiredAt"), 0);
    json_decref(rec);
    assert_int_equal(register_on(g.cli, g.kit, admin_key(g.kit), acc(), NULL), 409);
    /* the hub holds an account and runs without --open-registration */
    assert_int_equal(register_on(g.cli, g.kit2, admin_key(g.kit2), kit_account_id(g.kit2), &rec),
                     403);
    assert_string_equal(jstr(rec, "message"), "registration is closed");
    json_decref(rec);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/account", NULL, &rec), 200);
    assert_string_equal(jstr(rec, "id"), acc());
    json_decref(rec);
}

/* Signs a GET /v1/account with o; returns the status. */
static int get_account(const struct opts *o)
{
    struct http_client_response resp;
    int st = call(g.cli, HTTP_CLIENT_GET, "/v1/account", NULL, 0, o, &resp);

    if (st == 401)
        assert_non_null(strstr(resp.hr_body.b_data, "\"message\":\"authentication failed\""));
    http_client_response_free(&resp);
    return st;
}

static void test_admin_signatures(void **state)
{
    struct http_client_response resp;
    struct opts o = {.key = admin_key(g.kit), .acct = acc()};
    const char *body = "{\"kid\":\"k9\"}";
    struct buf auth;
    char *sig;

    (void)state;
    assert_int_equal(get_account(&o), 200);
    /* no header, a malformed one, another scheme */
    assert_int_equal(get_account(NULL), 401);
    o.authorization = "Sesame-Admin account=X";
    assert_int_equal(get_account(&o), 401);
    o.authorization = "Basic YTpi";
    assert_int_equal(get_account(&o), 401);
    o.authorization = NULL;
    /* the wrong key, an unknown account */
    o.key = admin_key(g.kit2);
    assert_int_equal(get_account(&o), 401);
    o.acct = kit_account_id(g.kit2);
    assert_int_equal(get_account(&o), 401);
    o.key = admin_key(g.kit);
    o.acct = acc();
    /* ts outside the 300 s window, either side; inside it is fine */
    o.skew = -400;
    assert_int_equal(get_account(&o), 401);
    o.skew = 400;
    assert_int_equal(get_account(&o), 401);
    o.skew = -200;
    assert_int_equal(get_account(&o), 200);
    o.skew = 0;
    /* a replay: the same Authorization on the same target */
    o.fixed_nonce = 1;
    assert_int_equal(call(g.cli, HTTP_CLIENT_GET, "/v1/vaults", NULL, 0, &o, &resp), 200);
    http_client_response_free(&resp);
    assert_int_equal(call(g.cli, HTTP_CLIENT_GET, "/v1/vaults", NULL, 0, &o, &resp), 401);
    http_client_response_free(&resp);
    o.fixed_nonce = 0;
    /* a forged signature: one character of sig changed */
    buf_init(&auth, 1024);
    assert_int_equal(adminsig_sign(&auth, admin_key(g.kit), acc(), "GET", "/v1/account", NULL, 0,
                                   (int64_t)time(NULL)),
                     ERR_OK);
    sig = strstr(auth.b_data, "sig=");
    assert_non_null(sig);
    sig[8] = sig[8] == 'A' ? 'B' : 'A';
    o.authorization = buf_str(&auth);
    assert_int_equal(get_account(&o), 401);
    o.authorization = NULL;
    buf_free(&auth);
    /* the signature covers the body: a tampered body is refused before it is parsed */
    o.signed_body = "{\"kid\":\"k8\"}";
    assert_int_equal(
        call(g.cli, HTTP_CLIENT_POST, "/v1/signing-keys", body, strlen(body), &o, &resp), 401);
    http_client_response_free(&resp);
    o.signed_body = NULL;
    /* ...and the raw target with its query */
    o.signed_target = "/v1/changes?since=0";
    assert_int_equal(call(g.cli, HTTP_CLIENT_GET, "/v1/changes?since=1", NULL, 0, &o, &resp), 401);
    http_client_response_free(&resp);
    o.signed_target = "/v1/changes?since=%30";
    assert_int_equal(call(g.cli, HTTP_CLIENT_GET, "/v1/changes?since=0", NULL, 0, &o, &resp), 401);
    http_client_response_free(&resp);
    o.signed_target = NULL;
    assert_int_equal(call(g.cli, HTTP_CLIENT_GET, "/v1/changes?since=%30", NULL, 0, &o, &resp),
                     200);
    http_client_response_free(&resp);
}

static void test_signing_keys(void **state)
{
    struct jwk k;
    json_t *r = NULL;
    const json_t *keys;

    (void)state;
    assert_int_equal(kit_jwk_generate(&k, JWK_EC_P256, "k2"), ERR_OK);
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/signing-keys",
                           json_pack("{s:s, s:o}", "kid", "k2", "publicJwk", pub_jwk(&k)), &r),
                     201);
    assert_string_equal(jstr(r, "kid"), "k2");
    assert_int_equal(jint(r, "retiredAt"), 0);
    assert_string_equal(jstr(json_object_get(r, "publicJwk"), "crv"), "P-256");
    assert_null(json_object_get(json_object_get(r, "publicJwk"), "d"));
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/signing-keys",
                           json_pack("{s:s, s:o}", "kid", "k2", "publicJwk", pub_jwk(&k)), NULL),
                     409);
    /* a private JWK, an X25519 key: refused */
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/signing-keys",
                           json_pack("{s:s, s:o}", "kid", "k3", "publicJwk", jwk_to_json(&k, 1)),
                           NULL),
                     400);
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/signing-keys",
                           json_pack("{s:s, s:o}", "kid", "k3", "publicJwk", pub_jwk(&g.srv_wrap)),
                           NULL),
                     400);
    jwk_clear(&k);
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/signing-keys/k2", NULL, NULL), 204);
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/signing-keys/k2", NULL, NULL), 204);
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/signing-keys/nope", NULL, NULL), 404);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/account", NULL, &r), 200);
    keys = json_object_get(r, "signingKeys");
    assert_int_equal(json_array_size(keys), 2);
    assert_int_equal(jint(json_array_get(keys, 0), "retiredAt"), 0);
    assert_true(jint(json_array_get(keys, 1), "retiredAt") > 0);
    json_decref(r);
}

/* ---- vaults, items, files ----------------------------------------------------------------- */

static void test_vaults(void **state)
{
    unsigned char *ct = NULL;
    json_t *r = NULL, *attrs = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/vaults", vault_body(V1, g.vkey1, "Prod"), &r),
                     201);
    assert_string_equal(jstr(r, "id"), V1);
    assert_string_equal(jstr(r, "type"), "USER_CREATED");
    assert_int_equal(jint(r, "attributeVersion"), 1);
    assert_int_equal(jint(r, "contentVersion"), 1);
    assert_int_equal(jint(r, "items"), 0);
    assert_unwraps(r, "keyAdmin", kit_admin_wrap_key(g.kit), g.vkey1, VAULTCRYPT_KEY_BYTES);
    b64_member(r, "attrs", &ct, &n);
    assert_int_equal(vaultcrypt_attrs_open(&attrs, g.vkey1, V1, ct, n), ERR_OK);
    assert_string_equal(jstr(attrs, "name"), "Prod");
    json_decref(attrs);
    free(ct);
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/vaults", vault_body(V2, g.vkey2, "Dev"), NULL),
                     201);
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/vaults", vault_body(V1, g.vkey1, "Again"), NULL),
                     409);
    r = vault_body(V9, g.vkey1, "x");
    json_object_del(r, "keyAdmin");
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/vaults", r, NULL), 400);
    r = vault_body(V9, g.vkey1, "x");
    json_object_set_new(r, "type", json_string("user created"));
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/vaults", r, NULL), 400);
    /* oldest first */
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults", NULL, &r), 200);
    assert_int_equal(json_array_size(r), 2);
    assert_string_equal(jstr(json_array_get(r, 0), "id"), V1);
    assert_string_equal(jstr(json_array_get(r, 1), "id"), V2);
    json_decref(r);
    /* ids in paths in either case, answered lowercase */
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/V1V1V1V1V1V1V1V1V1V1V1V1V1", NULL, &r),
                     200);
    assert_string_equal(jstr(r, "id"), V1);
    json_decref(r);
    attrs = vault_body(V1, g.vkey1, "Production");
    assert_int_equal(admin(HTTP_CLIENT_PATCH, "/v1/vaults/" V1,
                           json_pack("{s:O}", "attrs", json_object_get(attrs, "attrs")), &r),
                     200);
    json_decref(attrs);
    assert_int_equal(jint(r, "attributeVersion"), 2);
    json_decref(r);
    assert_int_equal(
        admin(HTTP_CLIENT_PATCH, "/v1/vaults/" V1, json_pack("{s:s}", "attrs", ""), NULL), 400);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V9, NULL, NULL), 404);
    assert_int_equal(
        admin(HTTP_CLIENT_PATCH, "/v1/vaults/" V9, json_pack("{s:s}", "attrs", "AAAA"), NULL), 404);
}

static void test_items(void **state)
{
    json_t *r = NULL, *b;

    (void)state;
    /* create: version 1, edited by the account */
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/items/" I1,
                           item_body(g.vkey1, V1, I1, 1, "a", 0), &r),
                     200);
    assert_int_equal(jint(r, "version"), 1);
    assert_string_equal(jstr(r, "lastEditedBy"), acc());
    assert_string_equal(jstr(r, "state"), "");
    assert_string_equal(jstr(r, "category"), "LOGIN");
    assert_item_opens(r, g.vkey1, "a");
    json_decref(r);
    /* a stale baseVersion changes nothing */
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/items/" I1,
                           item_body(g.vkey1, V1, I1, 6, "x", 5), NULL),
                     409);
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/items/" I1,
                           item_body(g.vkey1, V1, I1, 2, "b", 1), &r),
                     200);
    assert_int_equal(jint(r, "version"), 2);
    json_decref(r);
    /* no baseVersion: the last writer wins */
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/items/" I1,
                           item_body(g.vkey1, V1, I1, 3, "c", 0), &r),
                     200);
    assert_int_equal(jint(r, "version"), 3);
    json_decref(r);
    /* an explicit baseVersion 0 is a create: the id is used, so 409 and nothing changes */
    b = item_body(g.vkey1, V1, I1, 1, "again", 0);
    json_object_set_new(b, "baseVersion", json_integer(0));
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/items/" I1, b, NULL), 409);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V1 "/items/" I1, NULL, &r), 200);
    assert_int_equal(jint(r, "version"), 3);
    assert_item_opens(r, g.vkey1, "c");
    json_decref(r);
    /* a second item, deleted with its version, then written again (versions go on) */
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/items/" I2,
                           item_body(g.vkey1, V1, I2, 1, "d", 0), NULL),
                     200);
    assert_int_equal(
        admin(HTTP_CLIENT_DELETE, "/v1/vaults/" V1 "/items/" I2 "?baseVersion=2", NULL, NULL), 409);
    assert_int_equal(
        admin(HTTP_CLIENT_DELETE, "/v1/vaults/" V1 "/items/" I2 "?baseVersion=1", NULL, NULL), 204);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V1 "/items/" I2, NULL, NULL), 404);
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/vaults/" V1 "/items/" I3, NULL, NULL), 404);
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/items/" I2,
                           item_body(g.vkey1, V1, I2, 3, "e", 0), &r),
                     200);
    assert_int_equal(jint(r, "version"), 3);
    assert_item_opens(r, g.vkey1, "e");
    json_decref(r);
    /* an archived item in V2 */
    b = item_body(g.vkey2, V2, I3, 1, "f", 0);
    json_object_set_new(b, "state", json_string("ARCHIVED"));
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V2 "/items/" I3, b, &r), 200);
    assert_string_equal(jstr(r, "state"), "ARCHIVED");
    json_decref(r);
    /* lists carry the overview only; get adds the details */
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V1 "/items", NULL, &r), 200);
    assert_int_equal(json_array_size(r), 2);
    assert_null(json_object_get(json_array_get(r, 0), "details"));
    assert_item_opens(json_array_get(r, 0), g.vkey1, "c");
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V1 "/items/" I1, NULL, &r), 200);
    assert_non_null(json_object_get(r, "details"));
    assert_int_equal(jint(r, "version"), 3);
    assert_item_opens(r, g.vkey1, "c");
    json_decref(r);
    /* every put and delete bumped the vault's content version: 1 + 6 */
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V1, NULL, &r), 200);
    assert_int_equal(jint(r, "contentVersion"), 7);
    assert_int_equal(jint(r, "items"), 2);
    json_decref(r);
    /* malformed bodies */
    b = item_body(g.vkey1, V1, I1, 4, "x", 3);
    json_object_set_new(b, "category", json_string("login"));
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/items/" I1, b, NULL), 400);
    b = item_body(g.vkey1, V1, I1, 4, "x", 0);
    json_object_set_new(b, "baseVersion", json_integer(-1));
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/items/" I1, b, NULL), 400);
    b = item_body(g.vkey1, V1, I1, 4, "x", 0);
    json_object_del(b, "details");
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/items/" I1, b, NULL), 400);
    assert_int_equal(
        admin(HTTP_CLIENT_DELETE, "/v1/vaults/" V1 "/items/" I1 "?baseVersion=x", NULL, NULL), 400);
    /* a vault that does not exist */
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V9 "/items/" I1,
                           item_body(g.vkey1, V9, I1, 1, "x", 0), NULL),
                     404);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V9 "/items", NULL, NULL), 404);
}

/* PUTs raw bytes as file f of vault v (admin); returns the status, *out the answer. */
static int file_put(const char *target, const void *data, size_t n, json_t **out)
{
    struct http_client_response resp;
    struct opts o = {.key = admin_key(g.kit), .acct = acc()};
    int st = call(g.cli, HTTP_CLIENT_PUT, target, data, n, &o, &resp);

    if (out)
        *out = body_json(&resp);
    http_client_response_free(&resp);
    return st;
}

static void test_files(void **state)
{
    struct http_client_response resp;
    struct opts o = {.key = admin_key(g.kit), .acct = acc()};
    struct buf ct, plain_out;
    json_t *r = NULL;
    char sha[65];

    (void)state;
    buf_init(&ct, 1 << 20);
    assert_int_equal(vaultcrypt_file_seal(&ct, g.vkey1, V1, F1, "hello file", 10), ERR_OK);
    assert_int_equal(file_put("/v1/vaults/" V1 "/files/" F1 "?size=10", ct.b_data, ct.b_len, &r),
                     201);
    assert_string_equal(jstr(r, "id"), F1);
    assert_string_equal(jstr(r, "vault"), V1);
    assert_int_equal(jint(r, "size"), 10);
    assert_int_equal(strlen(jstr(r, "sha256")), 64);
    snprintf(sha, sizeof(sha), "%s", jstr(r, "sha256"));
    json_decref(r);
    /* the same contents again: 200, nothing changes; other contents: 409 */
    assert_int_equal(file_put("/v1/vaults/" V1 "/files/" F1 "?size=10", ct.b_data, ct.b_len, &r),
                     200);
    assert_string_equal(jstr(r, "sha256"), sha);
    json_decref(r);
    assert_int_equal(file_put("/v1/vaults/" V1 "/files/" F1 "?size=10", "other", 5, NULL), 409);
    /* size is required, contents too; the vault must exist */
    assert_int_equal(file_put("/v1/vaults/" V1 "/files/" F3, ct.b_data, ct.b_len, NULL), 400);
    assert_int_equal(file_put("/v1/vaults/" V1 "/files/" F3 "?size=x", ct.b_data, ct.b_len, NULL),
                     400);
    assert_int_equal(file_put("/v1/vaults/" V1 "/files/" F3 "?size=0", NULL, 0, NULL), 400);
    assert_int_equal(file_put("/v1/vaults/" V9 "/files/" F3 "?size=1", "x", 1, NULL), 404);
    /* raw ciphertext back, with its size and digest */
    assert_int_equal(
        call(g.cli, HTTP_CLIENT_GET, "/v1/vaults/" V1 "/files/" F1, NULL, 0, &o, &resp), 200);
    assert_int_equal(resp.hr_body.b_len, ct.b_len);
    assert_memory_equal(resp.hr_body.b_data, ct.b_data, ct.b_len);
    assert_string_equal(http_client_response_header(&resp, "Content-Type"),
                        "application/octet-stream");
    assert_string_equal(http_client_response_header(&resp, "Sesame-File-Size"), "10");
    assert_string_equal(http_client_response_header(&resp, "Sesame-File-Sha256"), sha);
    buf_init(&plain_out, 1 << 20);
    assert_int_equal(vaultcrypt_file_open(&plain_out, g.vkey1, V1, F1,
                                          (const unsigned char *)resp.hr_body.b_data,
                                          resp.hr_body.b_len),
                     ERR_OK);
    assert_int_equal(plain_out.b_len, 10);
    assert_memory_equal(plain_out.b_data, "hello file", 10);
    buf_free(&plain_out);
    http_client_response_free(&resp);
    buf_free(&ct);
    assert_int_equal(
        call(g.cli, HTTP_CLIENT_GET, "/v1/vaults/" V1 "/files/" F3, NULL, 0, &o, &resp), 404);
    http_client_response_free(&resp);
    /* a file larger than the JSON cap (raw ciphertext up to 16 MiB) */
    {
        size_t n = 6u << 20;
        char *big = malloc(n);

        assert_non_null(big);
        for (size_t k = 0; k < n; k++)
            big[k] = (char)(k * 7);
        assert_int_equal(file_put("/v1/vaults/" V1 "/files/" F2 "?size=9", big, n, NULL), 201);
        assert_int_equal(
            call(g.cli, HTTP_CLIENT_GET, "/v1/vaults/" V1 "/files/" F2, NULL, 0, &o, &resp), 200);
        assert_int_equal(resp.hr_body.b_len, n);
        assert_memory_equal(resp.hr_body.b_data, big, n);
        http_client_response_free(&resp);
        free(big);
    }
    /* over 16 MiB: 413 from Content-Length, before authentication and before any body byte
       (a raw socket: a client that sends the body may see the connection reset instead) */
    {
        char ans[4096];
        size_t got = raw_exchange(hub_port(g.hub),
                                  "PUT /v1/vaults/" V1 "/files/" F3 "?size=9 HTTP/1.1\r\n"
                                  "Host: t\r\nContent-Length: 16777217\r\n"
                                  "Expect: 100-continue\r\n\r\n",
                                  ans, sizeof(ans));

        assert_true(got > 12);
        assert_memory_equal(ans, "HTTP/1.1 413", 12);
        assert_non_null(strstr(ans, "\"status\":413"));
    }
}

/* ---- servers, grants, tokens -------------------------------------------------------------- */

/* The POST /v1/servers body of SA (or id) with the test's server keys. */
static json_t *server_body(const char *id)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "id", id, "name", "prod", "signJwk",
                     pub_jwk(&g.srv_sign), "wrapJwk", pub_jwk(&g.srv_wrap), "unlockAdmin",
                     wrapped(g.unlock, CREDENTIALS_UNLOCK_BYTES, kit_admin_wrap_key(g.kit)));
}

/* The POST /v1/tokens body. */
static json_t *token_body(const char *jti, const char *server, const char *sha)
{
    return json_pack("{s:s, s:s, s:s, s:[{s:s, s:i}], s:i, s:s}", "jti", jti, "name", "ci",
                     "server", server, "vaults", "u", "V1V1V1V1V1V1V1V1V1V1V1V1V1", "a", 48,
                     "expiresAt", 0, "sha256", sha);
}

static void test_servers_grants_tokens(void **state)
{
    static const char sha_upper[] =
        "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";
    json_t *r = NULL, *b;

    (void)state;
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/servers", server_body(SA), &r), 201);
    assert_string_equal(jstr(r, "id"), SA);
    assert_string_equal(jstr(r, "name"), "prod");
    assert_string_equal(jstr(json_object_get(r, "signJwk"), "crv"), "P-256");
    assert_string_equal(jstr(json_object_get(r, "wrapJwk"), "crv"), "X25519");
    assert_int_equal(json_array_size(json_object_get(r, "grants")), 0);
    /* the admin can open unlockAdmin (to mint further tokens); the hub cannot */
    assert_unwraps(r, "unlockAdmin", kit_admin_wrap_key(g.kit), g.unlock, CREDENTIALS_UNLOCK_BYTES);
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/servers", server_body(SA), NULL), 409);
    /* every member is required; keys must be public and of the right kind */
    b = server_body(S9);
    json_object_del(b, "unlockAdmin");
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/servers", b, NULL), 400);
    b = server_body(S9);
    json_object_set_new(b, "signJwk", jwk_to_json(&g.srv_sign, 1));
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/servers", b, NULL), 400);
    b = server_body(S9);
    json_object_set_new(b, "wrapJwk", pub_jwk(&g.srv_sign));
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/servers", b, NULL), 400);
    /* a grant: the vault key wrapped to the server */
    assert_int_equal(
        admin(HTTP_CLIENT_PUT, "/v1/servers/" SA "/grants/" V1,
              json_pack("{s:o}", "keyWrapped", wrapped(g.vkey1, VAULTCRYPT_KEY_BYTES, &g.srv_wrap)),
              &r),
        200);
    assert_string_equal(jstr(r, "server"), SA);
    assert_string_equal(jstr(r, "vault"), V1);
    assert_unwraps(r, "keyWrapped", &g.srv_wrap, g.vkey1, VAULTCRYPT_KEY_BYTES);
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/servers/" SA "/grants/" V9,
                           json_pack("{s:s}", "keyWrapped", "AAAA"), NULL),
                     404);
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/servers/" S9 "/grants/" V1,
                           json_pack("{s:s}", "keyWrapped", "AAAA"), NULL),
                     404);
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/servers/" SA "/grants/" V1, json_object(), NULL),
                     400);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/servers/" SA, NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "grants")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "grants"), 0)), V1);
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/servers", NULL, &r), 200);
    assert_int_equal(json_array_size(r), 1);
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/servers/" S9, NULL, NULL), 404);

    /* tokens: registered with their hash (stored lowercase), listed, unique jti */
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/tokens", token_body(TK, SA, sha_upper), &r), 201);
    assert_string_equal(jstr(r, "jti"), TK);
    assert_string_equal(jstr(r, "server"), SA);
    assert_int_equal(jint(r, "revokedAt"), 0);
    assert_int_equal(jint(r, "expiresAt"), 0);
    assert_string_equal(jstr(json_array_get(json_object_get(r, "vaults"), 0), "u"), V1);
    assert_int_equal(jint(json_array_get(json_object_get(r, "vaults"), 0), "a"), 48);
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/tokens", token_body(TK, SA, sha_upper), NULL),
                     409);
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/tokens",
                           token_body("tk2tk2tk2tk2tk2tk2tk2tk2tk", S9, sha_upper), NULL),
                     404);
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/tokens",
                           token_body("tk2tk2tk2tk2tk2tk2tk2tk2tk", SA, "abc"), NULL),
                     400);
    b = token_body("tk2tk2tk2tk2tk2tk2tk2tk2tk", SA, sha_upper);
    json_object_set_new(b, "vaults", json_array());
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/tokens", b, NULL), 400);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/tokens?server=" SA, NULL, &r), 200);
    assert_int_equal(json_array_size(r), 1);
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/tokens", NULL, &r), 200);
    assert_int_equal(json_array_size(r), 1);
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/tokens?server=nope", NULL, NULL), 400);
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/tokens/" S9, NULL, NULL), 404);
}

/* ---- sync --------------------------------------------------------------------------------- */

/* Gets a challenge for (account, server); returns it in ch. */
static void challenge(const char *account, const char *server, char ch[SYNCAUTH_CHALLENGE_LEN + 1])
{
    json_t *r = NULL;

    assert_int_equal(plain(HTTP_CLIENT_POST, "/v1/sync/challenge",
                           json_pack("{s:s, s:s}", "account", account, "server", server), &r),
                     200);
    assert_int_equal(jint(r, "expiresIn"), 60);
    assert_int_equal(strlen(jstr(r, "challenge")), SYNCAUTH_CHALLENGE_LEN);
    snprintf(ch, SYNCAUTH_CHALLENGE_LEN + 1, "%s", jstr(r, "challenge"));
    json_decref(r);
}

/* Posts a session request; returns the status (the session into g.session on 200). */
static int session(const char *account, const char *server, const char *ch, const char *sig)
{
    json_t *s = NULL;
    int st = plain(HTTP_CLIENT_POST, "/v1/sync/session",
                   json_pack("{s:s, s:s, s:s, s:s}", "account", account, "server", server,
                             "challenge", ch, "signature", sig),
                   &s);

    if (st == 200) {
        snprintf(g.session, sizeof(g.session), "%s", jstr(s, "session"));
        assert_int_equal(strlen(g.session), SYNCAUTH_SESSION_LEN);
        assert_int_equal(jint(s, "expiresIn"), 900);
    } else if (st == 401) {
        assert_string_equal(jstr(s, "message"), "authentication failed");
    }
    json_decref(s);
    return st;
}

/* Runs the challenge and session exchange for SA signed with key; returns the status. */
static int open_session(const struct ec_key *key)
{
    char ch[SYNCAUTH_CHALLENGE_LEN + 1], sig[SYNCAUTH_SIG_LEN + 1];
    int st;

    challenge(acc(), SA, ch);
    assert_int_equal(syncauth_sign(sig, key, ch, SA), ERR_OK);
    st = session(acc(), SA, ch, sig);
    if (st == 200) /* the same challenge again: refused */
        assert_int_equal(session(acc(), SA, ch, sig), 401);
    return st;
}

static void test_sync_session(void **state)
{
    char ch[SYNCAUTH_CHALLENGE_LEN + 1], sig[SYNCAUTH_SIG_LEN + 1];
    json_t *r = NULL;

    (void)state;
    /* a challenge for any well-formed ids (no oracle); malformed ids are 400 */
    challenge(acc(), S9, ch);
    challenge(kit_account_id(g.kit2), SA, ch);
    assert_int_equal(plain(HTTP_CLIENT_POST, "/v1/sync/challenge",
                           json_pack("{s:s, s:s}", "account", acc(), "server", "x"), NULL),
                     400);
    /* the wrong key; a challenge of another server; an unknown server; a forged challenge */
    assert_int_equal(open_session(admin_key(g.kit)), 401);
    challenge(acc(), S9, ch);
    assert_int_equal(syncauth_sign(sig, g.srv_sign.jk_ec, ch, SA), ERR_OK);
    assert_int_equal(session(acc(), SA, ch, sig), 401);
    assert_int_equal(syncauth_sign(sig, g.srv_sign.jk_ec, ch, S9), ERR_OK);
    assert_int_equal(session(acc(), S9, ch, sig), 401);
    challenge(acc(), SA, ch);
    ch[10] = ch[10] == 'A' ? 'B' : 'A';
    assert_int_equal(syncauth_sign(sig, g.srv_sign.jk_ec, ch, SA), ERR_OK);
    assert_int_equal(session(acc(), SA, ch, sig), 401);
    assert_int_equal(plain(HTTP_CLIENT_POST, "/v1/sync/session",
                           json_pack("{s:s, s:s}", "account", acc(), "server", SA), NULL),
                     400);
    /* the server's own key */
    assert_int_equal(open_session(g.srv_sign.jk_ec), 200);
    /* sessions: a bad one, another scheme */
    {
        char keep[SYNCAUTH_SESSION_LEN + 1];
        struct opts o = {.authorization = "Basic YTpi"};

        memcpy(keep, g.session, sizeof(keep));
        memcpy(g.session, "AAAA", 4);
        assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/state", NULL, NULL), 401);
        snprintf(g.session, sizeof(g.session), "short");
        assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/state", NULL, NULL), 401);
        assert_int_equal(json_call(HTTP_CLIENT_GET, "/v1/sync/state", NULL, &o, NULL), 401);
        assert_int_equal(json_call(HTTP_CLIENT_GET, "/v1/sync/state", NULL, NULL, NULL), 401);
        memcpy(g.session, keep, sizeof(keep));
    }
    /* the state: the server, its grants with the wrapped keys, the signing keys */
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/state", NULL, &r), 200);
    assert_string_equal(jstr(r, "account"), acc());
    assert_string_equal(jstr(json_object_get(r, "server"), "id"), SA);
    assert_int_equal(json_array_size(json_object_get(r, "grants")), 1);
    assert_unwraps(json_array_get(json_object_get(r, "grants"), 0), "keyWrapped", &g.srv_wrap,
                   g.vkey1, VAULTCRYPT_KEY_BYTES);
    assert_int_equal(json_array_size(json_object_get(r, "signingKeys")), 2);
    assert_true(jint(r, "lastSeq") > 10);
    json_decref(r);
}

static void test_sync_data(void **state)
{
    struct http_client_response resp;
    struct opts o = {.bearer = g.session};
    const json_t *c;
    json_t *r = NULL;
    struct buf ct;

    (void)state;
    /* the feed: what the server may see */
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/changes?since=0", NULL, &r), 200);
    assert_true(has_change(r, "item_put", I1));
    assert_true(has_change(r, "file_put", F1));
    assert_true(has_change(r, "vault_update", V1));
    assert_false(has_change(r, "item_put", I3)); /* V2: not granted */
    assert_false(has_change(r, "vault_create", V2));
    assert_true(has_change(r, "grant_put", SA));
    assert_true(has_change(r, "server_create", SA));
    assert_true(has_change(r, "token_register", TK));
    assert_true(has_change(r, "signing_key_add", "k2"));
    assert_true(has_change(r, "signing_key_retire", "k2"));
    c = find_change(r, "grant_put", SA);
    assert_true(json_is_object(json_object_get(c, "payload")));
    assert_unwraps(json_object_get(c, "payload"), "keyWrapped", &g.srv_wrap, g.vkey1,
                   VAULTCRYPT_KEY_BYTES);
    assert_string_equal(jstr(c, "vault"), V1);
    assert_string_equal(jstr(c, "server"), SA);
    assert_false(json_is_true(json_object_get(r, "more")));
    assert_int_equal(jint(r, "next"), jint(r, "lastSeq"));
    json_decref(r);

    /* a granted vault: full items with details (the current state); not granted: 403 */
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/vaults/" V1 "/items", NULL, &r), 200);
    assert_int_equal(json_array_size(r), 2);
    assert_non_null(json_object_get(json_array_get(r, 0), "details"));
    assert_item_opens(json_array_get(r, 0), g.vkey1, "c");
    assert_item_opens(json_array_get(r, 1), g.vkey1, "e");
    json_decref(r);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/vaults/" V2 "/items", NULL, NULL), 403);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/vaults/" V2, NULL, NULL), 403);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/vaults/" V2 "/items/" I3, NULL, NULL),
                     403);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/vaults/" V1, NULL, &r), 200);
    assert_null(json_object_get(r, "keyAdmin"));
    assert_int_equal(jint(r, "attributeVersion"), 2);
    json_decref(r);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/vaults/" V1 "/items/" I1, NULL, &r), 200);
    assert_item_opens(r, g.vkey1, "c");
    json_decref(r);

    /* sync writes: lastEditedBy is the server (uppercase) */
    assert_int_equal(sync_call(HTTP_CLIENT_PUT, "/v1/sync/vaults/" V1 "/items/" I1,
                               item_body(g.vkey1, V1, I1, 4, "g", 3), &r),
                     200);
    assert_int_equal(jint(r, "version"), 4);
    assert_string_equal(jstr(r, "lastEditedBy"), "SASASASASASASASASASASASASA");
    json_decref(r);
    assert_int_equal(sync_call(HTTP_CLIENT_PUT, "/v1/sync/vaults/" V1 "/items/" I1,
                               item_body(g.vkey1, V1, I1, 5, "g", 3), NULL),
                     409);
    assert_int_equal(sync_call(HTTP_CLIENT_PUT, "/v1/sync/vaults/" V2 "/items/" I3,
                               item_body(g.vkey2, V2, I3, 2, "h", 0), NULL),
                     403);
    assert_int_equal(sync_call(HTTP_CLIENT_DELETE,
                               "/v1/sync/vaults/" V1 "/items/" I2 "?baseVersion=1", NULL, NULL),
                     409);
    assert_int_equal(sync_call(HTTP_CLIENT_DELETE,
                               "/v1/sync/vaults/" V1 "/items/" I2 "?baseVersion=3", NULL, NULL),
                     204);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V1 "/items/" I2, NULL, NULL), 404);

    /* sync files */
    buf_init(&ct, 1 << 20);
    assert_int_equal(vaultcrypt_file_seal(&ct, g.vkey1, V1, F3, "from sync", 9), ERR_OK);
    assert_int_equal(call(g.cli, HTTP_CLIENT_PUT, "/v1/sync/vaults/" V1 "/files/" F3 "?size=9",
                          ct.b_data, ct.b_len, &o, &resp),
                     201);
    http_client_response_free(&resp);
    assert_int_equal(
        call(g.cli, HTTP_CLIENT_GET, "/v1/sync/vaults/" V1 "/files/" F3, NULL, 0, &o, &resp), 200);
    assert_int_equal(resp.hr_body.b_len, ct.b_len);
    assert_memory_equal(resp.hr_body.b_data, ct.b_data, ct.b_len);
    assert_string_equal(http_client_response_header(&resp, "Sesame-File-Size"), "9");
    http_client_response_free(&resp);
    assert_int_equal(call(g.cli, HTTP_CLIENT_PUT, "/v1/sync/vaults/" V2 "/files/" F3 "?size=9",
                          ct.b_data, ct.b_len, &o, &resp),
                     403);
    http_client_response_free(&resp);
    buf_free(&ct);

    /* the revocation of its token is in the server's feed (a second revoke adds nothing) */
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/tokens/" TK, NULL, NULL), 204);
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/tokens/" TK, NULL, NULL), 204);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/changes?since=0", NULL, &r), 200);
    assert_true(has_change(r, "token_revoke", TK));
    json_decref(r);

    /* a revoked grant: in the feed, and the vault's changes and endpoints are gone */
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/servers/" SA "/grants/" V1, NULL, NULL), 204);
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/servers/" SA "/grants/" V1, NULL, NULL), 404);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/changes?since=0", NULL, &r), 200);
    c = find_change(r, "grant_delete", SA);
    assert_non_null(c);
    assert_string_equal(jstr(json_object_get(c, "payload"), "reason"), "revoked");
    assert_false(has_change(r, "item_put", I1));
    assert_false(has_change(r, "file_put", F1));
    json_decref(r);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/vaults/" V1 "/items", NULL, NULL), 403);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/state", NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "grants")), 0);
    json_decref(r);
    /* granted again */
    assert_int_equal(
        admin(HTTP_CLIENT_PUT, "/v1/servers/" SA "/grants/" V1,
              json_pack("{s:o}", "keyWrapped", wrapped(g.vkey1, VAULTCRYPT_KEY_BYTES, &g.srv_wrap)),
              NULL),
        200);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/changes?since=0", NULL, &r), 200);
    assert_true(has_change(r, "item_put", I1));
    json_decref(r);
}

struct poll_arg {
    char target[128];
    int status;
    json_t *body;
    double seconds;
};

/* Runs a long-poll on its own client (no assertion: a thread). */
static void *poll_thread(void *p)
{
    struct poll_arg *a = p;
    struct http_client_response resp;
    struct opts o = {.bearer = g.session};
    struct http_client *c = client_new(hub_port(g.hub));
    struct timespec t0, t1;

    if (!c)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    a->status = call_try(c, HTTP_CLIENT_GET, a->target, NULL, 0, &o, &resp);
    a->body = body_json(&resp);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    a->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    http_client_response_free(&resp);
    http_client_free(c);
    return NULL;
}

/* An item body whose details carry notes of n bytes (sealed: about n bytes of ciphertext). */
static json_t *big_item_body(const char *item, size_t n)
{
    char *notes = malloc(n + 1);
    json_t *ov = json_pack("{s:s}", "title", item), *det;
    struct buf b1, b2;
    json_t *o;

    assert_non_null(notes);
    memset(notes, 'n', n);
    notes[n] = '\0';
    det = json_pack("{s:s}", "notes", notes);
    free(notes);
    buf_init(&b1, 1 << 20);
    buf_init(&b2, 8 << 20);
    assert_int_equal(vaultcrypt_item_seal(&b1, g.vkey1, V1, item, 1, VAULTCRYPT_OVERVIEW, ov),
                     ERR_OK);
    assert_int_equal(vaultcrypt_item_seal(&b2, g.vkey1, V1, item, 1, VAULTCRYPT_DETAILS, det),
                     ERR_OK);
    o = json_pack("{s:s, s:o, s:o}", "category", "LOGIN", "overview", b64j(b1.b_data, b1.b_len),
                  "details", b64j(b2.b_data, b2.b_len));
    buf_free(&b1);
    buf_free(&b2);
    json_decref(ov);
    json_decref(det);
    return o;
}

/* The change feed's pages are bounded in bytes too: large items split them. */
static void test_changes_bytes(void **state)
{
    static const char *const ids[] = {"b2b2b2b2b2b2b2b2b2b2b2b2aa", "b2b2b2b2b2b2b2b2b2b2b2b2ab",
                                      "b2b2b2b2b2b2b2b2b2b2b2b2ac", "b2b2b2b2b2b2b2b2b2b2b2b2ad"};
    char target[96];
    json_int_t since, seen = 0, pages = 0, prev_next;
    json_t *r = NULL;
    size_t i;

    (void)state;
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/changes?since=0", NULL, &r), 200);
    since = jint(r, "lastSeq");
    json_decref(r);
    /* four items of 2 MiB each: about 2.7 MiB of payload per change, two per 8 MiB page */
    for (i = 0; i < 4; i++) {
        (void)snprintf(target, sizeof(target), "/v1/sync/vaults/" V1 "/items/%s", ids[i]);
        assert_int_equal(sync_call(HTTP_CLIENT_PUT, target, big_item_body(ids[i], 2u << 20), NULL),
                         200);
    }
    for (;;) {
        const json_t *c;
        size_t k, puts = 0;

        (void)snprintf(target, sizeof(target), "/v1/sync/changes?since=%lld", (long long)since);
        assert_int_equal(sync_call(HTTP_CLIENT_GET, target, NULL, &r), 200);
        json_array_foreach(json_object_get(r, "changes"), k, c)
        {
            assert_true(jint(c, "seq") > since); /* in order, none skipped or repeated */
            puts += strcmp(jstr(c, "kind"), "item_put") == 0;
        }
        assert_true(puts <= 2);
        seen += (json_int_t)puts;
        pages++;
        prev_next = jint(r, "next");
        assert_true(prev_next > since);
        since = prev_next;
        if (!json_is_true(json_object_get(r, "more"))) {
            json_decref(r);
            break;
        }
        json_decref(r);
        assert_true(pages < 10);
    }
    assert_int_equal(seen, 4);
    assert_true(pages >= 2);
}

static void test_longpoll(void **state)
{
    struct poll_arg a;
    pthread_t th;
    json_t *r = NULL;
    long long last;

    (void)state;
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/changes?since=0", NULL, &r), 200);
    last = jint(r, "next");
    json_decref(r);

    /* nothing new: an empty page at the deadline */
    memset(&a, 0, sizeof(a));
    snprintf(a.target, sizeof(a.target), "/v1/sync/changes?since=%lld&wait=300ms", last);
    poll_thread(&a);
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(json_object_get(a.body, "changes")), 0);
    assert_int_equal(jint(a.body, "next"), last);
    assert_false(json_is_true(json_object_get(a.body, "more")));
    assert_true(a.seconds >= 0.25);
    json_decref(a.body);

    /* a write in a vault the server may not see wakes the request, which waits on */
    memset(&a, 0, sizeof(a));
    snprintf(a.target, sizeof(a.target), "/v1/sync/changes?since=%lld&wait=2", last);
    assert_int_equal(pthread_create(&th, NULL, poll_thread, &a), 0);
    usleep(300 * 1000);
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V2 "/items/" I3,
                           item_body(g.vkey2, V2, I3, 2, "i", 1), NULL),
                     200);
    pthread_join(th, NULL);
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(json_object_get(a.body, "changes")), 0);
    assert_true(jint(a.body, "next") > last); /* the filtered change is skipped */
    assert_true(a.seconds >= 1.9);
    last = jint(a.body, "next");
    json_decref(a.body);

    /* woken by a write it may see */
    memset(&a, 0, sizeof(a));
    snprintf(a.target, sizeof(a.target), "/v1/sync/changes?since=%lld&wait=20", last);
    assert_int_equal(pthread_create(&th, NULL, poll_thread, &a), 0);
    usleep(300 * 1000);
    assert_int_equal(admin(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/items/" I3,
                           item_body(g.vkey1, V1, I3, 1, "j", 0), NULL),
                     200);
    pthread_join(th, NULL);
    assert_int_equal(a.status, 200);
    assert_true(a.seconds < 10.0);
    assert_int_equal(json_array_size(json_object_get(a.body, "changes")), 1);
    assert_true(has_change(a.body, "item_put", I3));
    json_decref(a.body);

    /* malformed parameters */
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/changes?wait=soon", NULL, NULL), 400);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/changes?wait=-1s", NULL, NULL), 400);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/changes?limit=0", NULL, NULL), 400);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/changes?since=-1", NULL, NULL), 400);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/changes?since=1&limit=2", NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "changes")), 2);
    assert_true(json_is_true(json_object_get(r, "more")));
    json_decref(r);
}

static void test_admin_changes(void **state)
{
    const json_t *c;
    json_t *r = NULL, *acct = NULL;
    long long last;
    size_t i;

    (void)state;
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/account", NULL, &acct), 200);
    last = jint(acct, "lastSeq");
    json_decref(acct);
    /* a page: seqs from 1, more, next */
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/changes?since=0&limit=3", NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "changes")), 3);
    assert_true(json_is_true(json_object_get(r, "more")));
    assert_int_equal(jint(r, "next"), 3);
    assert_int_equal(jint(r, "lastSeq"), last);
    c = json_array_get(json_object_get(r, "changes"), 0);
    assert_int_equal(jint(c, "seq"), 1);
    assert_string_equal(jstr(c, "kind"), "account_create");
    assert_string_equal(jstr(json_object_get(c, "payload"), "id"), acc());
    assert_string_equal(jstr(c, "vault"), "");
    assert_true(jint(c, "committedAt") > 0);
    json_decref(r);
    /* the whole feed, gap-free; an earlier put of I1 is superseded by a later one */
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/changes", NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "changes")), (size_t)last);
    json_array_foreach(json_object_get(r, "changes"), i, c)
    {
        assert_int_equal(jint(c, "seq"), (long long)i + 1);
        assert_true(json_is_object(json_object_get(c, "payload")));
    }
    c = find_change(r, "item_put", I1);
    assert_non_null(c);
    assert_true(jint(json_object_get(c, "payload"), "supersededBy") > jint(c, "seq"));
    assert_true(has_change(r, "item_put", I3)); /* all vaults */
    json_decref(r);
    /* beyond the last seq (a caller ahead of this hub): nothing, next = since, true lastSeq */
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/changes?since=100000", NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "changes")), 0);
    assert_int_equal(jint(r, "next"), 100000);
    assert_int_equal(jint(r, "lastSeq"), last);
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/changes?limit=0", NULL, NULL), 400);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/changes?since=x", NULL, NULL), 400);
}

static void test_activity(void **state)
{
    struct http_client_response resp;
    struct opts o = {.key = admin_key(g.kit), .acct = acc()};
    json_t *r = NULL, *many;
    size_t i;

    (void)state;
    assert_int_equal(sync_call(HTTP_CLIENT_POST, "/v1/sync/activity",
                               json_pack("{s:[{s:s},{s:s, s:{s:i}}]}", "entries", "requestId", "r1",
                                         "requestId", "r2", "resource", "n", 1),
                               NULL),
                     204);
    assert_int_equal(
        sync_call(HTTP_CLIENT_POST, "/v1/sync/activity", json_pack("{s:[]}", "entries"), NULL),
        400);
    assert_int_equal(
        sync_call(HTTP_CLIENT_POST, "/v1/sync/activity", json_pack("{s:[i]}", "entries", 1), NULL),
        400);
    many = json_array();
    for (i = 0; i < 1001; i++)
        json_array_append_new(many, json_object());
    assert_int_equal(
        sync_call(HTTP_CLIENT_POST, "/v1/sync/activity", json_pack("{s:o}", "entries", many), NULL),
        400);
    assert_int_equal(
        call(g.cli, HTTP_CLIENT_GET, "/v1/activity?limit=1&offset=1", NULL, 0, &o, &resp), 200);
    assert_string_equal(http_client_response_header(&resp, "Content-Range"), "1-1/2");
    r = body_json(&resp);
    assert_int_equal(json_array_size(r), 1);
    assert_string_equal(jstr(json_object_get(json_array_get(r, 0), "entry"), "requestId"), "r2");
    assert_int_equal(
        jint(json_object_get(json_object_get(json_array_get(r, 0), "entry"), "resource"), "n"), 1);
    assert_string_equal(jstr(json_array_get(r, 0), "server"), SA);
    assert_true(jint(json_array_get(r, 0), "receivedAt") > 0);
    json_decref(r);
    http_client_response_free(&resp);
    assert_int_equal(call(g.cli, HTTP_CLIENT_GET, "/v1/activity?server=" SA, NULL, 0, &o, &resp),
                     200);
    assert_string_equal(http_client_response_header(&resp, "Content-Range"), "0-1/2");
    http_client_response_free(&resp);
    assert_int_equal(call(g.cli, HTTP_CLIENT_GET, "/v1/activity?offset=5", NULL, 0, &o, &resp),
                     200);
    assert_string_equal(http_client_response_header(&resp, "Content-Range"), "*/2");
    http_client_response_free(&resp);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/activity?limit=0", NULL, NULL), 400);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/activity?limit=10001", NULL, NULL), 400);
}

static void test_errors(void **state)
{
    struct http_client_response resp;
    struct opts o = {.key = admin_key(g.kit), .acct = acc()};
    json_t *r = NULL;

    (void)state;
    /* malformed JSON, a JSON array */
    assert_int_equal(call(g.cli, HTTP_CLIENT_POST, "/v1/vaults", "{\"id\":", 6, &o, &resp), 400);
    r = body_json(&resp);
    assert_int_equal(jint(r, "status"), 400);
    json_decref(r);
    http_client_response_free(&resp);
    assert_int_equal(call(g.cli, HTTP_CLIENT_POST, "/v1/vaults", "[]", 2, &o, &resp), 400);
    http_client_response_free(&resp);
    /* a JSON body over 4 MiB: 413 before authentication (file PUTs may be 16 MiB) */
    {
        size_t n = (4u << 20) + 16;
        char *big = malloc(n);

        assert_non_null(big);
        memset(big, ' ', n);
        big[0] = '{';
        big[n - 1] = '}';
        assert_int_equal(call(g.cli, HTTP_CLIENT_POST, "/v1/vaults", big, n, NULL, &resp), 413);
        http_client_response_free(&resp);
        assert_int_equal(call(g.cli, HTTP_CLIENT_POST, "/v1/sync/session", big, n, NULL, &resp),
                         413);
        http_client_response_free(&resp);
        free(big);
    }
    /* unknown route, wrong method (with Allow), malformed ids */
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/nothing", NULL, &r), 404);
    assert_int_equal(jint(r, "status"), 404);
    json_decref(r);
    assert_int_equal(plain(HTTP_CLIENT_GET, "/", NULL, NULL), 404);
    assert_int_equal(call(g.cli, HTTP_CLIENT_PATCH, "/v1/account", NULL, 0, &o, &resp), 405);
    assert_non_null(strstr(http_client_response_header(&resp, "Allow"), "GET"));
    r = body_json(&resp);
    assert_int_equal(jint(r, "status"), 405);
    json_decref(r);
    http_client_response_free(&resp);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/not-an-id", NULL, &r), 400);
    assert_string_equal(jstr(r, "message"), "invalid id in path");
    json_decref(r);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V1 "/items/" I2 "x", NULL, NULL), 400);
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/servers/" SA "/grants/short", NULL, NULL), 400);
    /* deleting a server ends its sessions */
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/servers/" SA, NULL, NULL), 204);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/state", NULL, NULL), 401);
    assert_int_equal(sync_call(HTTP_CLIENT_GET, "/v1/sync/changes", NULL, NULL), 401);
    assert_int_equal(open_session(g.srv_sign.jk_ec), 401);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/servers/" SA, NULL, NULL), 404);
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/servers/" SA, NULL, NULL), 404);
    /* deleting a vault */
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/vaults/" V2, NULL, NULL), 204);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V2, NULL, NULL), 404);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults/" V2 "/items/" I3, NULL, NULL), 404);
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/vaults/" V2, NULL, NULL), 404);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/vaults", NULL, &r), 200);
    assert_int_equal(json_array_size(r), 1);
    json_decref(r);
}

/* ---- registration rules on fresh hubs ------------------------------------------------------ */

/* Starts a hub on a fresh database in dir; returns it. */
static struct hub *fresh_hub(char dir[64], int open_registration)
{
    struct hub_options opt;
    struct hub *h = NULL;
    char db[PGTEST_URL_MAX], err[256];

    snprintf(dir, 64, "/tmp/test_hub.XXXXXX");
    assert_non_null(mkdtemp(dir));
    hub_db(dir, db, sizeof(db));
    memset(&opt, 0, sizeof(opt));
    opt.ho_store_url = db;
    opt.ho_open_registration = open_registration;
    assert_int_equal(hub_start(&h, &opt, err, sizeof(err)), ERR_OK);
    return h;
}

#define RACERS 6

struct racer {
    int port;
    struct kit *kit;
    pthread_barrier_t *start;
    int status;
};

/* Registers its own account as soon as every racer is ready. */
static void *race_thread(void *p)
{
    struct racer *r = p;
    struct http_client *c = client_new(r->port);

    pthread_barrier_wait(r->start);
    if (c)
        r->status = register_on(c, r->kit, admin_key(r->kit), kit_account_id(r->kit), NULL);
    http_client_free(c);
    return NULL;
}

static void test_registration_rules(void **state)
{
    struct racer rc[RACERS];
    pthread_t th[RACERS];
    pthread_barrier_t start;
    struct http_client *c;
    struct hub *h;
    char dir[64];
    int i, created = 0, closed = 0;

    (void)state;
    /* concurrent first registrations on an empty closed hub: exactly one is accepted */
    h = fresh_hub(dir, 0);
    assert_int_equal(pthread_barrier_init(&start, NULL, RACERS), 0);
    for (i = 0; i < RACERS; i++) {
        rc[i].port = hub_port(h);
        rc[i].start = &start;
        rc[i].status = 0;
        assert_int_equal(kit_generate(&rc[i].kit, HUB_URL), ERR_OK);
        assert_int_equal(pthread_create(&th[i], NULL, race_thread, &rc[i]), 0);
    }
    for (i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        created += rc[i].status == 201;
        closed += rc[i].status == 403;
        kit_free(rc[i].kit);
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(created, 1);
    assert_int_equal(closed, RACERS - 1);
    hub_stop(h);
    remove_dir(dir);

    /* --open-registration: any number of accounts, each once */
    h = fresh_hub(dir, 1);
    c = client_of(hub_port(h));
    assert_int_equal(register_on(c, g.kit, admin_key(g.kit), acc(), NULL), 201);
    assert_int_equal(register_on(c, g.kit2, admin_key(g.kit2), kit_account_id(g.kit2), NULL), 201);
    assert_int_equal(register_on(c, g.kit2, admin_key(g.kit2), kit_account_id(g.kit2), NULL), 409);
    http_client_free(c);
    hub_stop(h);
    remove_dir(dir);
}

/* ---- `sesame hub` ------------------------------------------------------------------------- */

/* `sesame hub` refuses bad usage with exit 2 before opening anything. */
static void test_hub_main_usage(void **state)
{
    static const char *const cases[][4] = {
        {"sesame", "hub", "--bogus", NULL},          {"sesame", "hub", "--addr", NULL},
        {"sesame", "hub", "--addr", "nohostport"},   {"sesame", "hub", "--addr", "127.0.0.1:65536"},
        {"sesame", "hub", "--addr", "[::1]7700"},    {"sesame", "hub", "--data", ""},
        {"sesame", "hub", "--addr=1.2.3.4:x", NULL}, {"sesame", "hub", "--port-file", ""},
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

struct main_arg {
    char *argv[8];
    int argc;
    int rc;
};

/* Runs hub_main in a thread. */
static void *main_thread(void *p)
{
    struct main_arg *a = p;

    a->rc = hub_main(a->argc, a->argv);
    return NULL;
}

/* Runs `sesame hub` until SIGTERM: --port-file, the data directory, answers, a clean stop. */
static void test_hub_main_run(void **state)
{
    char dir[64], data[96], port_file[128], db[128], line[16];
    struct http_client *c;
    struct main_arg a;
    sigset_t set, old;
    struct stat st;
    pthread_t th;
    FILE *f = NULL;
    int i, port = 0;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_hub.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(port_file, sizeof(port_file), "%s/port", dir);
    snprintf(db, sizeof(db), "%s/hub.db", data);
    memset(&a, 0, sizeof(a));
    a.argv[a.argc++] = (char *)(uintptr_t) "sesame";
    a.argv[a.argc++] = (char *)(uintptr_t) "hub";
    a.argv[a.argc++] = (char *)(uintptr_t) "--addr=127.0.0.1:0";
    a.argv[a.argc++] = (char *)(uintptr_t) "--data";
    a.argv[a.argc++] = data;
    a.argv[a.argc++] = (char *)(uintptr_t) "--port-file";
    a.argv[a.argc++] = port_file;
    a.rc = -1;
    /* SIGTERM goes to the hub's thread only: blocked here (and inherited by it) */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
    unsetenv("SESAME_HUB_DATABASE_URL");
    assert_int_equal(pthread_create(&th, NULL, main_thread, &a), 0);
    for (i = 0; i < 500 && !f; i++) {
        f = fopen(port_file, "r");
        if (!f)
            usleep(10 * 1000);
    }
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    port = (int)strtol(line, NULL, 10);
    assert_true(port > 0 && port < 65536);
    assert_non_null(strchr(line, '\n'));
    /* the directory was made 0700, the database 0600 */
    assert_int_equal(stat(data, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(db, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    c = client_of(port);
    assert_int_equal(register_on(c, g.kit, admin_key(g.kit), acc(), NULL), 201);
    http_client_free(c);
    assert_int_equal(pthread_kill(th, SIGTERM), 0);
    pthread_join(th, NULL);
    assert_int_equal(a.rc, 0);
    assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    /* stopped cleanly: the WAL was checkpointed and removed */
    assert_int_equal(access(db, F_OK), 0);
    {
        char wal[160];

        snprintf(wal, sizeof(wal), "%s-wal", db);
        assert_int_not_equal(access(wal, F_OK), 0);
    }
    unlink(port_file);
    remove_dir(data);
    rmdir(dir);

    /* a PostgreSQL server that cannot be reached: one line, exit 1 */
    setenv("SESAME_HUB_DATABASE_URL", "postgresql://user:secret@127.0.0.1:1/hub", 1);
    a.argc = 3;
    assert_int_equal(hub_main(a.argc, a.argv), 1);
    /* ... by its other name too; and the two names for two databases: a usage error */
    unsetenv("SESAME_HUB_DATABASE_URL");
    setenv("SESAME_HUB_DATABASE", "postgresql://user:secret@127.0.0.1:1/hub", 1);
    assert_int_equal(hub_main(a.argc, a.argv), 1);
    setenv("SESAME_HUB_DATABASE_URL", "postgresql://user:secret@127.0.0.1:1/other", 1);
    assert_int_equal(hub_main(a.argc, a.argv), 2);
    unsetenv("SESAME_HUB_DATABASE");
    unsetenv("SESAME_HUB_DATABASE_URL");
}

/* The ITEM record of it as a JSON tree (docs/hub-api.md "Records"), built here with jansson. */
static json_t *item_tree(const struct store_item *it)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o, s:I, s:I, s:s}", "id", it->it_id, "vault",
                          it->it_vault, "version", (json_int_t)it->it_version, "state",
                          it->it_state, "category", it->it_category, "overview",
                          b64j(it->it_overview, it->it_overview_len), "createdAt",
                          (json_int_t)it->it_created_at, "updatedAt", (json_int_t)it->it_updated_at,
                          "lastEditedBy", it->it_last_edited_by);

    assert_non_null(o);
    if (it->it_details)
        assert_int_equal(
            json_object_set_new(o, "details", b64j(it->it_details, it->it_details_len)), 0);
    return o;
}

/*
 * hub_items_text (the item pages and lists, written as text) and hub_item_text (one item's
 * answer) are byte for byte the compact dump of the ITEM records as JSON trees: every
 * length of ciphertext around base64's groups, an item without details, a state, negative
 * and large numbers, no items at all.
 */
static void test_items_text(void **state)
{
    struct store_item v[7];
    unsigned char ct[70];
    struct buf b;
    json_t *arr;
    char *want;
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof(ct); i++)
        ct[i] = (unsigned char)(i * 53 + 7);
    memset(v, 0, sizeof(v));
    for (i = 0; i < 7; i++) {
        memcpy(v[i].it_id, I1, ID_LEN + 1);
        v[i].it_id[0] = (char)('a' + i);
        memcpy(v[i].it_vault, V1, ID_LEN + 1);
        memcpy(v[i].it_category, "LOGIN", 6);
        memcpy(v[i].it_last_edited_by, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", ID_LEN + 1);
        v[i].it_version = i + 1;
        v[i].it_created_at = (int64_t)i * 1000003 - 5;
        v[i].it_updated_at = INT64_MAX - (int64_t)i;
        v[i].it_overview = ct;
        v[i].it_overview_len = 1 + i * 11; /* 1, 12, 23, ...: every remainder mod 3 */
        v[i].it_details = ct + i;
        v[i].it_details_len = sizeof(ct) - i * 9;
    }
    memcpy(v[2].it_state, "ARCHIVED", 9);
    v[4].it_details = NULL;
    v[4].it_details_len = 0;
    v[5].it_created_at = INT64_MIN;
    for (n = 0; n <= 7; n += 7) {
        arr = json_array();
        for (i = 0; i < n; i++)
            assert_int_equal(json_array_append_new(arr, item_tree(&v[i])), 0);
        want = json_dumps(arr, JSON_COMPACT);
        assert_non_null(want);
        buf_init(&b, 1 << 20);
        assert_int_equal(hub_items_text(&b, v, n), ERR_OK);
        assert_string_equal(buf_str(&b), want);
        buf_free(&b);
        free(want);
        json_decref(arr);
    }
    for (i = 0; i < 7; i++) {
        json_t *o = item_tree(&v[i]);

        want = json_dumps(o, JSON_COMPACT);
        assert_non_null(want);
        buf_init(&b, 1 << 20);
        assert_int_equal(hub_item_text(&b, &v[i]), ERR_OK);
        assert_string_equal(buf_str(&b), want);
        buf_free(&b);
        free(want);
        json_decref(o);
    }
    /* a cap too small is ERR_TOO_LARGE, not a cut answer */
    buf_init(&b, 100);
    assert_int_equal(hub_items_text(&b, v, 7), ERR_TOO_LARGE);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_items_text),
        cmocka_unit_test(test_registration),
        cmocka_unit_test(test_admin_signatures),
        cmocka_unit_test(test_signing_keys),
        cmocka_unit_test(test_vaults),
        cmocka_unit_test(test_items),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_servers_grants_tokens),
        cmocka_unit_test(test_sync_session),
        cmocka_unit_test(test_sync_data),
        cmocka_unit_test(test_longpoll),
        cmocka_unit_test(test_admin_changes),
        cmocka_unit_test(test_activity),
        cmocka_unit_test(test_changes_bytes), /* late: it adds large items to V1 */
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_registration_rules),
    };
    /* `sesame hub` itself: its data directory, lock and SQLite file */
    const struct CMUnitTest sqlite_only[] = {
        cmocka_unit_test(test_hub_main_usage),
        cmocka_unit_test(test_hub_main_run),
    };
    const char *backend = getenv("TEST_HUB_STORE");

    if (backend && strcmp(backend, "pg") == 0) {
        if (pgtest_base_url(g_pg_base, sizeof(g_pg_base)) != 0) {
            printf("test_hub: SKIP: no PostgreSQL test cluster (TEST_PG_URL_FILE)\n");
            return PGTEST_SKIP;
        }
        g_pg = 1;
        return cmocka_run_group_tests_name("hub on PostgreSQL", tests, fx_setup, fx_teardown);
    }
    return cmocka_run_group_tests_name("hub on SQLite", tests, fx_setup, fx_teardown) +
           cmocka_run_group_tests_name("sesame hub", sqlite_only, fx_setup, fx_teardown);
}
