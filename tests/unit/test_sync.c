/*
 * test_sync.c - the sync engine's core (src/sync/): hubclient against a real hub started
 * in-process (127.0.0.1, port 0, a temporary SQLite file), driven with real admin
 * signatures, real server keys and a real credentials file; apply and sync_run_once into
 * a temporary volume, checked with the volume's own reads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/codec.h"
#include "crypto/crypto.h"
#include "crypto/jwk.h"
#include "http/client.h"
#include "hub/hub.h"
#include "keys/adminsig.h"
#include "keys/credentials.h"
#include "keys/kit.h"
#include "keys/vaultcrypt.h"
#include "store/volume.h"
#include "sync/apply.h"
#include "sync/hubclient.h"

#define V1    "v1v1v1v1v1v1v1v1v1v1v1v1v1"
#define V2    "v2v2v2v2v2v2v2v2v2v2v2v2v2"
#define I1    "i1i1i1i1i1i1i1i1i1i1i1i1i1"
#define I2    "i2i2i2i2i2i2i2i2i2i2i2i2i2"
#define I3    "i3i3i3i3i3i3i3i3i3i3i3i3i3"
#define F1    "f1f1f1f1f1f1f1f1f1f1f1f1f1"
#define SA    "sasasasasasasasasasasasasa"
#define TK    "tktktktktktktktktktktktktk"
#define SHA64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct {
    char dir[64];  /* the hub's data directory */
    char vdir[96]; /* the volume's data directory */
    char url[64];  /* the hub's URL */
    struct hub *hub;
    struct http_client *admin; /* the admin CLI's client */
    struct http_client *http;  /* sync's client */
    struct kit *kit;
    struct jwk srv_sign, srv_wrap;
    unsigned char *unlock;
    unsigned char *vkey1, *vkey2;
    struct credentials *cred;
    struct hubclient *hc;
    struct volume *vol;
    struct sync_ctx ctx;
} g;

/* ---- helpers ------------------------------------------------------------------------------ */

/* Sends an admin request signed by the kit (body: raw bytes or NULL); returns the status. */
static int admin_raw(enum http_client_method m, const char *target, const void *body, size_t blen,
                     const char *ctype, json_t **out)
{
    struct http_client_header hh[2];
    struct http_client_request rq;
    struct http_client_response resp;
    struct buf auth;
    size_t nh = 0;
    int st;

    buf_init(&auth, 1024);
    assert_int_equal(adminsig_sign(&auth, kit_admin_signing_key(g.kit)->jk_ec,
                                   kit_account_id(g.kit), http_client_method_name(m), target, body,
                                   blen, (int64_t)time(NULL)),
                     ERR_OK);
    hh[nh].hh_name = "Authorization";
    hh[nh++].hh_value = buf_str(&auth);
    if (body && blen) {
        hh[nh].hh_name = "Content-Type";
        hh[nh++].hh_value = ctype;
    }
    memset(&rq, 0, sizeof(rq));
    rq.hq_method = m;
    rq.hq_path = target;
    rq.hq_headers = hh;
    rq.hq_nheaders = nh;
    rq.hq_body = body;
    rq.hq_body_len = blen;
    assert_int_equal(http_client_request(g.admin, &rq, &resp), ERR_OK);
    st = resp.hr_status;
    if (out)
        *out = resp.hr_body.b_len ? json_loadb(resp.hr_body.b_data, resp.hr_body.b_len, 0, NULL)
                                  : NULL;
    http_client_response_free(&resp);
    buf_free(&auth);
    return st;
}

/* An admin JSON request (body stolen, may be NULL). */
static int admin(enum http_client_method m, const char *target, json_t *body, json_t **out)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int st = admin_raw(m, target, text, text ? strlen(text) : 0, "application/json", out);

    free(text);
    json_decref(body);
    return st;
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

/* A vault creation body for id sealed with key. */
static json_t *vault_body(const char *id, const unsigned char *key)
{
    json_t *attrs = json_pack("{s:s, s:s}", "name", id, "description", "");
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

/* Puts an item sealed for (vault, item, version) with baseVersion base; returns the status. */
static int item_put(const unsigned char *key, const char *vault, const char *item, uint64_t version,
                    const char *title, uint64_t base)
{
    json_t *ov = json_pack("{s:s}", "title", title), *det = json_pack("{s:s}", "notes", title);
    char target[128];
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
    snprintf(target, sizeof(target), "/v1/vaults/%s/items/%s", vault, item);
    return admin(HTTP_CLIENT_PUT, target, o, NULL);
}

/* Puts an item of version 1 whose details carry pad bytes of notes; returns the status. */
static int item_put_padded(const unsigned char *key, const char *vault, const char *item,
                           const char *title, size_t pad)
{
    char *notes = malloc(pad + 1), target[128];
    json_t *ov = json_pack("{s:s}", "title", title), *det, *o;
    struct buf b1, b2;

    assert_non_null(notes);
    memset(notes, 'n', pad);
    notes[pad] = '\0';
    det = json_pack("{s:s, s:s}", "title", title, "notes", notes);
    free(notes);
    buf_init(&b1, 1 << 12);
    buf_init(&b2, pad + (1 << 12));
    assert_int_equal(vaultcrypt_item_seal(&b1, key, vault, item, 1, VAULTCRYPT_OVERVIEW, ov),
                     ERR_OK);
    assert_int_equal(vaultcrypt_item_seal(&b2, key, vault, item, 1, VAULTCRYPT_DETAILS, det),
                     ERR_OK);
    o = json_pack("{s:s, s:o, s:o}", "category", "LOGIN", "overview", b64j(b1.b_data, b1.b_len),
                  "details", b64j(b2.b_data, b2.b_len));
    buf_free(&b1);
    buf_free(&b2);
    json_decref(ov);
    json_decref(det);
    snprintf(target, sizeof(target), "/v1/vaults/%s/items/%s", vault, item);
    return admin(HTTP_CLIENT_PUT, target, o, NULL);
}

/* Grants vault (sealed with key) to SA. */
static void grant(const char *vault, const unsigned char *key)
{
    char target[128];

    snprintf(target, sizeof(target), "/v1/servers/" SA "/grants/%s", vault);
    assert_int_equal(
        admin(HTTP_CLIENT_PUT, target,
              json_pack("{s:o}", "keyWrapped", wrapped(key, VAULTCRYPT_KEY_BYTES, &g.srv_wrap)),
              NULL),
        200);
}

/* Returns the hub's last seq of the account. */
static uint64_t hub_last_seq(void)
{
    json_t *r = NULL;
    uint64_t seq;

    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/account", NULL, &r), 200);
    assert_true(json_is_integer(json_object_get(r, "lastSeq")));
    seq = (uint64_t)json_integer_value(json_object_get(r, "lastSeq"));
    json_decref(r);
    return seq;
}

/* Returns the volume's last seq. */
static uint64_t vol_last_seq(void)
{
    uint64_t seq = 0;

    assert_int_equal(volume_last_seq(g.vol, &seq), ERR_OK);
    return seq;
}

/* Checks that the volume's item equals the hub's (version, category, both ciphertexts). */
static void assert_item_mirrored(const char *vault, const char *item, uint64_t version)
{
    struct volume_item it;
    unsigned char *ov = NULL, *det = NULL;
    size_t nov = 0, ndet = 0;
    char target[128];
    json_t *r = NULL;

    snprintf(target, sizeof(target), "/v1/vaults/%s/items/%s", vault, item);
    assert_int_equal(admin(HTTP_CLIENT_GET, target, NULL, &r), 200);
    assert_int_equal(json_integer_value(json_object_get(r, "version")), version);
    b64_member(r, "overview", &ov, &nov);
    b64_member(r, "details", &det, &ndet);
    assert_int_equal(volume_item_get(g.vol, vault, item, &it), ERR_OK);
    assert_int_equal(it.vi_version, version);
    assert_string_equal(it.vi_category, "LOGIN");
    assert_string_equal(it.vi_state, "");
    assert_string_equal(it.vi_last_edited_by, kit_account_id(g.kit));
    assert_int_equal(it.vi_overview_len, nov);
    assert_memory_equal(it.vi_overview, ov, nov);
    assert_int_equal(it.vi_details_len, ndet);
    assert_memory_equal(it.vi_details, det, ndet);
    volume_item_clear(&it);
    free(ov);
    free(det);
    json_decref(r);
}

/* Checks that the volume's vault equals the hub's (type, attributes, attribute version). */
static void assert_vault_mirrored(const char *vault, uint64_t nitems)
{
    struct volume_vault vv;
    unsigned char *attrs = NULL;
    size_t n = 0;
    char target[128];
    json_t *r = NULL;

    snprintf(target, sizeof(target), "/v1/vaults/%s", vault);
    assert_int_equal(admin(HTTP_CLIENT_GET, target, NULL, &r), 200);
    b64_member(r, "attrs", &attrs, &n);
    assert_int_equal(volume_vault_get(g.vol, vault, &vv), ERR_OK);
    assert_string_equal(vv.vv_type, "USER_CREATED");
    assert_int_equal(vv.vv_attribute_version,
                     json_integer_value(json_object_get(r, "attributeVersion")));
    assert_int_equal(vv.vv_attrs_ct_len, n);
    assert_memory_equal(vv.vv_attrs_ct, attrs, n);
    assert_int_equal(vv.vv_items, nitems);
    volume_vault_clear(&vv);
    free(attrs);
    json_decref(r);
}

/* Returns the volume's token state of jti. */
static enum volume_token_status token_state(const char *jti)
{
    enum volume_token_status st = VOLUME_TOKEN_UNKNOWN;

    assert_int_equal(volume_token_state(g.vol, jti, &st, NULL), ERR_OK);
    return st;
}

/* Runs one pass of sync, asserting success and that the volume is at the hub's last seq. */
static void run_once(void)
{
    enum err e = sync_run_once(&g.ctx);

    if (e != ERR_OK)
        print_error("sync_run_once: %s: %s\n", err_name(e), g.ctx.sc_errmsg);
    assert_int_equal(e, ERR_OK);
    assert_int_equal(vol_last_seq(), hub_last_seq());
}

/* nftw callback removing everything. */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---- fixture: a hub with an account, two vaults, a server with a grant, a token -------- */

static int fx_setup(void **state)
{
    struct credentials_params cp;
    struct http_client_config cc;
    struct hub_options opt;
    const struct jwk *cur;
    char db[96], err[256];
    struct buf text;
    json_t *b;

    (void)state;
    memset(&g, 0, sizeof(g));
    assert_int_equal(crypto_init(), ERR_OK);
    assert_int_equal(http_client_global_init(), ERR_OK);
    snprintf(g.dir, sizeof(g.dir), "/tmp/test_sync.XXXXXX");
    assert_non_null(mkdtemp(g.dir));
    snprintf(db, sizeof(db), "%s/hub.db", g.dir);
    snprintf(g.vdir, sizeof(g.vdir), "%s/volume", g.dir);
    memset(&opt, 0, sizeof(opt));
    opt.ho_host = "127.0.0.1";
    opt.ho_store_url = db;
    assert_int_equal(hub_start(&g.hub, &opt, err, sizeof(err)), ERR_OK);
    snprintf(g.url, sizeof(g.url), "http://127.0.0.1:%d", hub_port(g.hub));
    memset(&cc, 0, sizeof(cc));
    cc.hcc_base_url = g.url;
    cc.hcc_proxy = "";
    assert_int_equal(http_client_new(&g.admin, &cc, NULL, 0), ERR_OK);
    assert_int_equal(http_client_new(&g.http, &cc, NULL, 0), ERR_OK);

    /* the account */
    assert_int_equal(kit_generate(&g.kit, g.url), ERR_OK);
    cur = kit_signing_key_current(g.kit);
    b = json_pack("{s:s, s:o, s:o, s:{s:s, s:o}}", "id", kit_account_id(g.kit), "adminSignJwk",
                  jwk_to_json(kit_admin_signing_key(g.kit), 0), "adminWrapJwk",
                  jwk_to_json(kit_admin_wrap_key(g.kit), 0), "signingKey", "kid", cur->jk_kid,
                  "publicJwk", jwk_to_json(cur, 0));
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/accounts", b, NULL), 201);

    /* vaults, items, a file */
    assert_int_equal(vaultcrypt_key_generate(&g.vkey1), ERR_OK);
    assert_int_equal(vaultcrypt_key_generate(&g.vkey2), ERR_OK);
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/vaults", vault_body(V1, g.vkey1), NULL), 201);
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/vaults", vault_body(V2, g.vkey2), NULL), 201);
    assert_int_equal(item_put(g.vkey1, V1, I1, 1, "one", 0), 200);
    assert_int_equal(item_put(g.vkey1, V1, I2, 1, "two", 0), 200);
    assert_int_equal(item_put(g.vkey2, V2, I3, 1, "three", 0), 200);
    buf_init(&text, 1 << 20);
    assert_int_equal(vaultcrypt_file_seal(&text, g.vkey1, V1, F1, "file one", 8), ERR_OK);
    assert_int_equal(admin_raw(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/files/" F1 "?size=8",
                               text.b_data, text.b_len, "application/octet-stream", NULL),
                     201);
    buf_free(&text);

    /* the server, its grant of V1, a token */
    g.unlock = secmem_alloc(CREDENTIALS_UNLOCK_BYTES);
    assert_non_null(g.unlock);
    assert_int_equal(credentials_keys_generate(&g.srv_sign, &g.srv_wrap, g.unlock), ERR_OK);
    b = json_pack("{s:s, s:s, s:o, s:o, s:o}", "id", SA, "name", "prod", "signJwk",
                  jwk_to_json(&g.srv_sign, 0), "wrapJwk", jwk_to_json(&g.srv_wrap, 0),
                  "unlockAdmin",
                  wrapped(g.unlock, CREDENTIALS_UNLOCK_BYTES, kit_admin_wrap_key(g.kit)));
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/servers", b, NULL), 201);
    grant(V1, g.vkey1);
    assert_int_equal(
        admin(HTTP_CLIENT_POST, "/v1/tokens",
              json_pack("{s:s, s:s, s:s, s:[{s:s, s:i}], s:i, s:s}", "jti", TK, "name", "ci",
                        "server", SA, "vaults", "u", V1, "a", 48, "expiresAt", 0, "sha256", SHA64),
              NULL),
        201);

    /* the credentials file, parsed and unlocked as sync will */
    memset(&cp, 0, sizeof(cp));
    cp.cp_server_id = SA;
    cp.cp_account_id = kit_account_id(g.kit);
    cp.cp_server_sign = &g.srv_sign;
    cp.cp_server_wrap = &g.srv_wrap;
    cp.cp_unlock = g.unlock;
    cp.cp_unlock_len = CREDENTIALS_UNLOCK_BYTES;
    cp.cp_hub_url = g.url;
    cp.cp_signing_keys = cur;
    cp.cp_nsigning = 1;
    buf_init(&text, 1 << 20);
    assert_int_equal(credentials_create(&text, &cp), ERR_OK);
    assert_int_equal(credentials_parse(&g.cred, buf_str(&text), text.b_len, err, sizeof(err)),
                     ERR_OK);
    buf_free(&text);
    assert_int_equal(hubclient_new(&g.hc, g.cred, g.http), ERR_BAD_INPUT); /* still locked */
    assert_int_equal(credentials_unlock(g.cred, g.unlock, CREDENTIALS_UNLOCK_BYTES), ERR_OK);
    assert_int_equal(hubclient_new(&g.hc, g.cred, g.http), ERR_OK);

    assert_int_equal(volume_open(&g.vol, g.vdir, err, sizeof(err)), ERR_OK);
    g.ctx.sc_volume = g.vol;
    g.ctx.sc_hub = g.hc;
    g.ctx.sc_hub_url = credentials_hub_url(g.cred);
    return 0;
}

static int fx_teardown(void **state)
{
    (void)state;
    volume_close(g.vol);
    hubclient_free(g.hc);
    credentials_free(g.cred);
    http_client_free(g.http);
    http_client_free(g.admin);
    hub_stop(g.hub);
    kit_free(g.kit);
    jwk_clear(&g.srv_sign);
    jwk_clear(&g.srv_wrap);
    secmem_free(g.unlock);
    vaultcrypt_key_free(g.vkey1);
    vaultcrypt_key_free(g.vkey2);
    (void)nftw(g.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    http_client_global_cleanup();
    return 0;
}

/* A long-poll run in a thread. */
struct poll_arg {
    unsigned pa_wait; /* seconds */
    enum err pa_err;  /* OUT */
};

/* Thread body: one sync_poll. */
static void *poll_thread(void *p)
{
    struct poll_arg *pa = p;

    pa->pa_err = sync_poll(&g.ctx, pa->pa_wait);
    return NULL;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* hubclient alone: authentication, state, pages, vault pulls, files, a 401 re-authenticates. */
static void test_hubclient(void **state)
{
    json_t *r = NULL;
    unsigned char *data = NULL;
    size_t len = 0;

    (void)state;
    assert_false(hubclient_has_session(g.hc));
    assert_int_equal(hubclient_authenticate(g.hc), ERR_OK);
    assert_true(hubclient_has_session(g.hc));
    assert_int_equal(hubclient_state(g.hc, &r), ERR_OK);
    assert_string_equal(json_string_value(json_object_get(r, "account")), kit_account_id(g.kit));
    assert_int_equal(json_array_size(json_object_get(r, "grants")), 1);
    json_decref(r);
    /* a page of 2, then the rest */
    assert_int_equal(hubclient_changes(g.hc, 0, 2, 0, 0, &r), ERR_OK);
    assert_int_equal(json_array_size(json_object_get(r, "changes")), 2);
    assert_true(json_is_true(json_object_get(r, "more")));
    json_decref(r);
    /* a vault's items in pages, in id order: I1, then I2 (the last page: next "") */
    {
        char next[ID_LEN + 1];

        assert_int_equal(hubclient_vault_items_page(g.hc, V1, NULL, 1, &r, next), ERR_OK);
        assert_int_equal(json_array_size(r), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "id")), I1);
        assert_non_null(json_object_get(json_array_get(r, 0), "details"));
        assert_string_equal(next, I1);
        json_decref(r);
        assert_int_equal(hubclient_vault_items_page(g.hc, V1, next, 1, &r, next), ERR_OK);
        assert_int_equal(json_array_size(r), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "id")), I2);
        assert_string_equal(next, "");
        json_decref(r);
        assert_int_equal(hubclient_vault_items_page(g.hc, V1, NULL, 0, &r, next), ERR_OK);
        assert_int_equal(json_array_size(r), 2); /* limit 0: the most, one page */
        assert_string_equal(next, "");
        json_decref(r);
        assert_int_equal(hubclient_vault_items_page(g.hc, V1, I2, 5, &r, next), ERR_OK);
        assert_int_equal(json_array_size(r), 0); /* nothing after the last id */
        assert_string_equal(next, "");
        json_decref(r);
        assert_int_equal(hubclient_vault_items_page(g.hc, V2, NULL, 5, &r, next), ERR_FORBIDDEN);
        assert_null(r);
        assert_int_equal(hubclient_vault_items_page(g.hc, V1, "Bad", 5, &r, next), ERR_BAD_INPUT);
        /* the hub's answers: the page object; the bare array without a query (a sync
           before paging); malformed queries 400 */
        assert_int_equal(hubclient_get_json(g.hc, "/v1/sync/vaults/" V1 "/items?limit=1", 0, &r),
                         ERR_OK);
        assert_string_equal(json_string_value(json_object_get(r, "next")), I1);
        assert_int_equal(json_array_size(json_object_get(r, "items")), 1);
        json_decref(r);
        assert_int_equal(hubclient_get_json(g.hc, "/v1/sync/vaults/" V1 "/items?after=" I1, 0, &r),
                         ERR_OK);
        assert_true(json_is_null(json_object_get(r, "next")));
        assert_int_equal(json_array_size(json_object_get(r, "items")), 1);
        json_decref(r);
        assert_int_equal(hubclient_get_json(g.hc, "/v1/sync/vaults/" V1 "/items", 0, &r), ERR_OK);
        assert_true(json_is_array(r));
        assert_int_equal(json_array_size(r), 2);
        json_decref(r);
        assert_int_equal(hubclient_get_json(g.hc, "/v1/sync/vaults/" V1 "/items?limit=0", 0, &r),
                         ERR_BAD_INPUT);
        assert_int_equal(hubclient_get_json(g.hc, "/v1/sync/vaults/" V1 "/items?after=x", 0, &r),
                         ERR_BAD_INPUT);
        assert_int_equal(
            hubclient_get_json(g.hc, "/v1/sync/vaults/" V1 "/items?limit=99999999", 0, &r),
            ERR_OK); /* cut to the hub's most */
        assert_int_equal(json_array_size(json_object_get(r, "items")), 2);
        json_decref(r);
    }
    assert_int_equal(hubclient_vault(g.hc, V1, &r), ERR_OK);
    assert_string_equal(json_string_value(json_object_get(r, "id")), V1);
    json_decref(r);
    assert_int_equal(hubclient_vault(g.hc, V2, &r), ERR_FORBIDDEN); /* not granted */
    assert_null(r);
    assert_int_equal(hubclient_vault(g.hc, "nope", &r), ERR_BAD_INPUT);
    assert_int_equal(hubclient_file_get(g.hc, V1, F1, &data, &len), ERR_OK);
    assert_true(len > 8);
    mem_free(data);
    /* a session the hub does not know (expired, hub restored): one 401, then a new one */
    assert_int_equal(http_client_set_bearer(g.http, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                     ERR_OK);
    assert_int_equal(hubclient_state(g.hc, &r), ERR_OK);
    json_decref(r);
    /* a long-poll with nothing new ends empty after the wait */
    {
        uint64_t last = hub_last_seq();
        time_t t0 = time(NULL);

        assert_int_equal(hubclient_changes(g.hc, last, 0, 1, 0, &r), ERR_OK);
        assert_int_equal(json_array_size(json_object_get(r, "changes")), 0);
        assert_int_equal(json_integer_value(json_object_get(r, "next")), last);
        assert_true(time(NULL) - t0 >= 1);
        json_decref(r);
    }
    hubclient_drop_session(g.hc);
    assert_false(hubclient_has_session(g.hc));
}

/* Malformed pages fail whole: nothing applied, the last seq stays. */
static void test_apply_bad_pages(void **state)
{
    static const char *const pages[] = {
        "{}",
        "{\"changes\":[],\"next\":\"1\",\"more\":false}",
        "{\"changes\":[{\"seq\":1,\"kind\":\"item_put\",\"payload\":{\"id\":\"x\"}}],"
        "\"next\":1,\"more\":false}",
        "{\"changes\":[{\"seq\":1,\"kind\":\"token_revoke\",\"payload\":{\"jti\":\"" TK "\"}}],"
        "\"next\":1,\"more\":false}",
        "{\"changes\":[{\"seq\":1,\"kind\":\"file_put\",\"payload\":{\"id\":\"" F1
        "\",\"vault\":\"" V1 "\",\"size\":1,\"sha256\":\"zz\",\"createdAt\":1}}],"
        "\"next\":1,\"more\":false}",
        "{\"changes\":[{\"seq\":1,\"kind\":\"grant_put\",\"payload\":{\"vault\":\"" V1
        "\",\"keyWrapped\":\"!!\",\"createdAt\":1}}],\"next\":1,\"more\":false}",
        /* a good change, then a bad one: neither is applied */
        "{\"changes\":[{\"seq\":1,\"kind\":\"token_revoke\",\"payload\":{\"jti\":\"" TK
        "\",\"revokedAt\":5}},{\"seq\":2,\"kind\":\"item_delete\",\"payload\":{}}],"
        "\"next\":2,\"more\":false}",
    };
    char msg[256];
    uint64_t next = 9;
    int more = 9;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        json_t *p = json_loads(pages[i], 0, NULL);

        assert_non_null(p);
        msg[0] = '\0';
        assert_int_equal(sync_apply_changes(g.vol, p, NULL, 0, &next, &more, msg, sizeof(msg)),
                         ERR_UPSTREAM);
        assert_true(msg[0] != '\0');
        assert_int_equal(next, 0);
        assert_int_equal(more, 0);
        json_decref(p);
    }
    assert_int_equal(vol_last_seq(), 0);
    assert_int_equal(token_state(TK), VOLUME_TOKEN_UNKNOWN);

    /* superseded changes are skipped; an empty page only records its next */
    {
        json_t *p = json_loads("{\"changes\":[{\"seq\":1,\"kind\":\"item_put\",\"vault\":\"" V1
                               "\",\"ref\":\"" I1 "\",\"payload\":{\"supersededBy\":7}}],"
                               "\"next\":0,\"more\":false}",
                               0, NULL);

        assert_int_equal(sync_apply_changes(g.vol, p, NULL, 0, &next, &more, msg, sizeof(msg)),
                         ERR_OK);
        assert_int_equal(next, 0);
        json_decref(p);
    }
}

#define V3       "v3v3v3v3v3v3v3v3v3v3v3v3v3"
#define V4       "v4v4v4v4v4v4v4v4v4v4v4v4v4"
#define V3_ITEMS 7

/* Writes item id number i of the paged vault into out. */
static void paged_id(unsigned i, char out[ID_LEN + 1])
{
    snprintf(out, ID_LEN + 1, "pg%024u", i);
}

/* Reads the hub's contentVersion of vault. */
static uint64_t hub_content_version(const char *vault)
{
    char target[128];
    json_t *r = NULL;
    uint64_t cv;

    snprintf(target, sizeof(target), "/v1/vaults/%s", vault);
    assert_int_equal(admin(HTTP_CLIENT_GET, target, NULL, &r), 200);
    cv = (uint64_t)json_integer_value(json_object_get(r, "contentVersion"));
    json_decref(r);
    return cv;
}

/*
 * A vault larger than a page (on a volume of its own, so that test_run_once starts afresh):
 * pulled in pages (sc_items_limit 2), each staged unserved until the vault's record lands;
 * a pull cut short is resumed by the next pass; a page cut by the hub's byte budget; the
 * hub refuses the bare array for a vault over one page; a resync pulls in pages too.
 */
static void test_paged_pull(void **state)
{
    struct volume *saved = g.vol;
    struct volume_vault vv;
    char vdir[128], id[ID_LEN + 1], next[ID_LEN + 1], msg[256];
    json_t *r = NULL;
    unsigned i;

    (void)state;
    snprintf(vdir, sizeof(vdir), "%s/volume-paged", g.dir);
    assert_int_equal(volume_open(&g.vol, vdir, msg, sizeof(msg)), ERR_OK);
    g.ctx.sc_volume = g.vol;
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/vaults", vault_body(V3, g.vkey2), NULL), 201);
    /* written in reverse id order: the pages follow the order of writing, not ids (a pull
       that expected ids to grow from page to page would refuse them) */
    for (i = V3_ITEMS; i > 0; i--) {
        paged_id(i, id);
        assert_int_equal(item_put(g.vkey2, V3, id, 1, id, 0), 200);
    }
    grant(V3, g.vkey2);

    /* a pull cut short (as by a crash after its first page): the staged items are not
       served - no record - and the next pass finishes the pull */
    assert_int_equal(hubclient_vault_items_page(g.hc, V3, NULL, 2, &r, next), ERR_OK);
    paged_id(V3_ITEMS - 1, id);
    assert_string_equal(next, id);
    assert_int_equal(sync_apply_item_page(g.vol, 0, r, msg, sizeof(msg)), ERR_OK);
    json_decref(r);
    assert_int_equal(volume_vault_get(g.vol, V3, &vv), ERR_NOT_FOUND);
    paged_id(V3_ITEMS, id);
    assert_int_equal(volume_item_get(g.vol, V3, id, &(struct volume_item){0}), ERR_NOT_FOUND);
    assert_int_equal(vol_last_seq(), 0);
    /* a malformed page is refused whole */
    r = json_loads("[{\"id\":\"" I1 "\"}]", 0, NULL);
    assert_int_equal(sync_apply_item_page(g.vol, 0, r, msg, sizeof(msg)), ERR_UPSTREAM);
    json_decref(r);
    assert_int_equal(sync_apply_item_page(g.vol, 0, NULL, msg, sizeof(msg)), ERR_BAD_INPUT);

    g.ctx.sc_items_limit = 2;
    run_once();
    assert_int_equal(g.ctx.sc_pulled, 2);         /* V1 and V3 */
    assert_int_equal(g.ctx.sc_item_pages, 1 + 4); /* V1: 2 items; V3: 2+2+2+1 */
    assert_vault_mirrored(V3, V3_ITEMS);
    assert_vault_mirrored(V1, 2);
    for (i = 1; i <= V3_ITEMS; i++) {
        paged_id(i, id);
        assert_item_mirrored(V3, id, 1);
    }
    /* the staged items did not bump the vault: its content version is the hub's */
    assert_int_equal(volume_vault_get(g.vol, V3, &vv), ERR_OK);
    assert_int_equal(vv.vv_content_version, hub_content_version(V3));
    volume_vault_clear(&vv);

    /* a resync (the hub's last seq below ours) pulls in pages again */
    {
        char text[128];

        snprintf(text, sizeof(text), "{\"changes\":[],\"next\":%llu,\"more\":false}",
                 (unsigned long long)(hub_last_seq() + 1000));
        r = json_loads(text, 0, NULL);
        assert_int_equal(sync_apply_changes(g.vol, r, NULL, 0, NULL, NULL, msg, sizeof(msg)),
                         ERR_OK);
        json_decref(r);
        run_once();
        assert_int_equal(g.ctx.sc_pulled, 2);
        assert_int_equal(g.ctx.sc_item_pages, 5);
        assert_vault_mirrored(V3, V3_ITEMS);
        paged_id(V3_ITEMS, id);
        assert_item_mirrored(V3, id, 1);
    }
    g.ctx.sc_items_limit = 0;

    /* the byte budget: two items of 2 MiB of ciphertext each are two pages (3 MiB budget),
       whatever the limit; the bare array is refused (413) rather than sent unbounded */
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/vaults", vault_body(V4, g.vkey2), NULL), 201);
    assert_int_equal(item_put_padded(g.vkey2, V4, I1, "big one", 2u << 20), 200);
    assert_int_equal(item_put_padded(g.vkey2, V4, I2, "big two", 2u << 20), 200);
    grant(V4, g.vkey2);
    assert_int_equal(hubclient_vault_items_page(g.hc, V4, NULL, 0, &r, next), ERR_OK);
    assert_int_equal(json_array_size(r), 1);
    assert_string_equal(next, I1);
    json_decref(r);
    assert_int_equal(hubclient_get_json(g.hc, "/v1/sync/vaults/" V4 "/items", 0, &r),
                     ERR_TOO_LARGE);
    run_once();
    assert_int_equal(g.ctx.sc_pulled, 1);
    assert_int_equal(g.ctx.sc_item_pages, 2);
    assert_vault_mirrored(V4, 2);

    /* leave the hub as test_run_once expects it: V3 and V4 neither granted nor live */
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/vaults/" V3, NULL, NULL), 204);
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/vaults/" V4, NULL, NULL), 204);
    run_once();
    assert_int_equal(volume_vault_get(g.vol, V3, &vv), ERR_NOT_FOUND);
    volume_close(g.vol);
    g.vol = saved;
    g.ctx.sc_volume = saved;
    hubclient_drop_session(g.hc);
}

/* The whole exchange: first sync, changes, a new grant, revocations, a long-poll. */
static void test_run_once(void **state)
{
    struct volume_meta meta;
    struct volume_grant *grants = NULL;
    struct volume_signing_key *keys = NULL;
    unsigned char *data = NULL;
    size_t n = 0, len = 0;
    struct buf ct;
    json_t *r = NULL, *page = NULL;
    char msg[256];

    (void)state;
    /* first sync: identity, keys, the granted vault with its items and file, the token */
    run_once();
    assert_int_equal(g.ctx.sc_pulled, 1); /* V1, once (its grant_put in the feed: no second pull) */
    assert_int_equal(volume_meta_get(g.vol, &meta), ERR_OK);
    assert_string_equal(meta.vm_account, kit_account_id(g.kit));
    assert_string_equal(meta.vm_server, SA);
    assert_string_equal(meta.vm_hub_url, g.url);
    assert_true(meta.vm_last_sync_at > 0);
    assert_int_equal(meta.vm_server_deleted, 0);
    volume_meta_clear(&meta);
    assert_int_equal(volume_grant_list(g.vol, &grants, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(grants[0].vg_vault, V1);
    {
        unsigned char *key = NULL;
        size_t klen = 0;

        assert_int_equal(vaultcrypt_unwrap(&key, &klen, grants[0].vg_key_wrapped,
                                           grants[0].vg_key_wrapped_len, &g.srv_wrap),
                         ERR_OK);
        assert_int_equal(klen, VAULTCRYPT_KEY_BYTES);
        assert_memory_equal(key, g.vkey1, VAULTCRYPT_KEY_BYTES);
        vaultcrypt_key_free(key);
    }
    volume_grant_list_free(grants, n);
    assert_int_equal(volume_signing_key_list(g.vol, &keys, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(keys[0].vk_kid, kit_signing_key_current(g.kit)->jk_kid);
    assert_int_equal(keys[0].vk_retired_at, 0);
    volume_signing_key_list_free(keys, n);
    assert_vault_mirrored(V1, 2);
    assert_item_mirrored(V1, I1, 1);
    assert_item_mirrored(V1, I2, 1);
    assert_int_equal(volume_vault_get(g.vol, V2, &(struct volume_vault){0}), ERR_NOT_FOUND);
    assert_int_equal(volume_item_get(g.vol, V2, I3, &(struct volume_item){0}), ERR_NOT_FOUND);
    assert_int_equal(volume_file_read(g.vol, V1, F1, &data, &len), ERR_OK);
    buf_init(&ct, 1 << 20);
    {
        struct http_client_response resp;
        struct http_client_request rq;
        struct buf auth;
        struct http_client_header hh;

        buf_init(&auth, 1024);
        assert_int_equal(adminsig_sign(&auth, kit_admin_signing_key(g.kit)->jk_ec,
                                       kit_account_id(g.kit), "GET", "/v1/vaults/" V1 "/files/" F1,
                                       NULL, 0, (int64_t)time(NULL)),
                         ERR_OK);
        hh.hh_name = "Authorization";
        hh.hh_value = buf_str(&auth);
        memset(&rq, 0, sizeof(rq));
        rq.hq_method = HTTP_CLIENT_GET;
        rq.hq_path = "/v1/vaults/" V1 "/files/" F1;
        rq.hq_headers = &hh;
        rq.hq_nheaders = 1;
        assert_int_equal(http_client_request(g.admin, &rq, &resp), ERR_OK);
        assert_int_equal(resp.hr_status, 200);
        assert_int_equal(resp.hr_body.b_len, len);
        assert_memory_equal(resp.hr_body.b_data, data, len);
        http_client_response_free(&resp);
        buf_free(&auth);
    }
    buf_free(&ct);
    mem_free(data);
    assert_int_equal(token_state(TK), VOLUME_TOKEN_ACTIVE);

    /* nothing new: another pass changes nothing */
    run_once();
    assert_int_equal(g.ctx.sc_pulled, 0);
    assert_item_mirrored(V1, I1, 1);

    /* the same page again (a batch re-applied after a crash) is harmless */
    assert_int_equal(hubclient_changes(g.hc, 0, 0, 0, 0, &page), ERR_OK);
    assert_int_equal(sync_apply_changes(g.vol, page, NULL, 0, NULL, NULL, msg, sizeof(msg)),
                     ERR_OK);
    json_decref(page);
    assert_item_mirrored(V1, I1, 1);
    assert_vault_mirrored(V1, 2);
    assert_int_equal(vol_last_seq(), hub_last_seq());

    /* an item changed, another deleted */
    assert_int_equal(item_put(g.vkey1, V1, I1, 2, "one, again", 1), 200);
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/vaults/" V1 "/items/" I2, NULL, NULL), 204);
    run_once();
    assert_item_mirrored(V1, I1, 2);
    assert_int_equal(volume_item_get(g.vol, V1, I2, &(struct volume_item){0}), ERR_NOT_FOUND);
    assert_vault_mirrored(V1, 1);

    /* a long-poll: a change already in the feed is answered at once */
    assert_int_equal(item_put(g.vkey1, V1, I1, 3, "one, thrice", 2), 200);
    assert_int_equal(sync_poll(&g.ctx, 2), ERR_OK);
    assert_item_mirrored(V1, I1, 3);
    assert_int_equal(vol_last_seq(), hub_last_seq());
    /* ...and one made while it waits wakes it long before its 20 s */
    {
        struct poll_arg pa = {.pa_wait = 20};
        pthread_t th;
        time_t t0 = time(NULL);

        assert_int_equal(pthread_create(&th, NULL, poll_thread, &pa), 0);
        usleep(300 * 1000);
        assert_int_equal(item_put(g.vkey1, V1, I1, 4, "one, four", 3), 200);
        assert_int_equal(pthread_join(th, NULL), 0);
        assert_int_equal(pa.pa_err, ERR_OK);
        assert_true(time(NULL) - t0 < 10);
        assert_item_mirrored(V1, I1, 4);
        assert_int_equal(vol_last_seq(), hub_last_seq());
    }
    assert_int_equal(sync_poll(&g.ctx, 1), ERR_OK); /* nothing: empty after the wait */
    {
        time_t t1 = time(NULL);

        assert_int_equal(sync_poll(&g.ctx, 0), ERR_OK); /* no wait: what is there now */
        assert_true(time(NULL) - t1 < 2);
    }
    assert_int_equal(vol_last_seq(), hub_last_seq());
    assert_int_equal(sync_poll(&g.ctx, HUBCLIENT_MAX_WAIT + 1), ERR_BAD_INPUT);

    /* a new grant: the vault's items arrive with the page that grants it */
    grant(V2, g.vkey2);
    run_once();
    assert_int_equal(g.ctx.sc_pulled, 1);
    assert_vault_mirrored(V2, 1);
    assert_item_mirrored(V2, I3, 1);

    /* a page size of 1 reaches the same end */
    assert_int_equal(item_put(g.vkey2, V2, I3, 2, "three, again", 1), 200);
    assert_int_equal(item_put(g.vkey1, V1, I2, 3, "two, revived", 0), 200);
    g.ctx.sc_page_limit = 1;
    run_once();
    g.ctx.sc_page_limit = 0;
    assert_true(g.ctx.sc_pages >= 2);
    assert_item_mirrored(V2, I3, 2);
    assert_item_mirrored(V1, I2, 3);

    /* the grant of V1 revoked: the vault is gone from the volume */
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/servers/" SA "/grants/" V1, NULL, NULL), 204);
    run_once();
    assert_int_equal(volume_vault_get(g.vol, V1, &(struct volume_vault){0}), ERR_NOT_FOUND);
    assert_int_equal(volume_item_get(g.vol, V1, I1, &(struct volume_item){0}), ERR_NOT_FOUND);
    assert_int_equal(volume_grant_get(g.vol, V1, &(struct volume_grant){0}), ERR_NOT_FOUND);
    assert_vault_mirrored(V2, 1);

    /* the token revoked */
    assert_int_equal(token_state(TK), VOLUME_TOKEN_ACTIVE);
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/tokens/" TK, NULL, NULL), 204);
    run_once();
    assert_int_equal(token_state(TK), VOLUME_TOKEN_REVOKED);

    /* a signing key retired */
    {
        char target[128];

        snprintf(target, sizeof(target), "/v1/signing-keys/%s",
                 kit_signing_key_current(g.kit)->jk_kid);
        assert_int_equal(admin(HTTP_CLIENT_DELETE, target, NULL, NULL), 204);
    }
    run_once();
    assert_int_equal(volume_signing_key_list(g.vol, &keys, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_true(keys[0].vk_retired_at > 0);
    volume_signing_key_list_free(keys, n);

    /* a hub restored from an older backup (its last seq below ours): a full resync */
    {
        char text[128];

        snprintf(text, sizeof(text), "{\"changes\":[],\"next\":%llu,\"more\":false}",
                 (unsigned long long)(hub_last_seq() + 1000));
        r = json_loads(text, 0, NULL);
        assert_non_null(r);
        assert_int_equal(sync_apply_changes(g.vol, r, NULL, 0, NULL, NULL, msg, sizeof(msg)),
                         ERR_OK);
        json_decref(r);
        assert_int_equal(vol_last_seq(), hub_last_seq() + 1000);
        run_once(); /* asserts the last seq is the hub's again */
        assert_int_equal(g.ctx.sc_pulled, 1);
        assert_vault_mirrored(V2, 1);
        assert_item_mirrored(V2, I3, 2);
        assert_int_equal(token_state(TK), VOLUME_TOKEN_REVOKED);

        /* the same seen by a poll (no full pass in between): the poll resyncs too */
        r = json_loads(text, 0, NULL);
        assert_non_null(r);
        assert_int_equal(sync_apply_changes(g.vol, r, NULL, 0, NULL, NULL, msg, sizeof(msg)),
                         ERR_OK);
        json_decref(r);
        assert_int_equal(vol_last_seq(), hub_last_seq() + 1000);
        assert_int_equal(sync_poll(&g.ctx, 0), ERR_OK);
        assert_int_equal(vol_last_seq(), hub_last_seq());
        assert_vault_mirrored(V2, 1);
        assert_item_mirrored(V2, I3, 2);
        assert_int_equal(token_state(TK), VOLUME_TOKEN_REVOKED);
    }

    /* server_delete (applied directly: the hub drops the server's sessions with it, so
     * sync cannot read it from the feed): every vault dropped, every token revoked */
    {
        uint64_t seq = hub_last_seq() + 1;
        char text[512];

        snprintf(text, sizeof(text),
                 "{\"changes\":[{\"seq\":%llu,\"kind\":\"server_delete\",\"vault\":\"\","
                 "\"ref\":\"" SA "\",\"server\":\"" SA "\",\"payload\":{\"id\":\"" SA
                 "\",\"deletedAt\":5},\"committedAt\":5}],\"next\":%llu,\"more\":false}",
                 (unsigned long long)seq, (unsigned long long)seq);
        r = json_loads(text, 0, NULL);
        assert_non_null(r);
        assert_int_equal(sync_apply_changes(g.vol, r, NULL, 0, NULL, NULL, msg, sizeof(msg)),
                         ERR_OK);
        json_decref(r);
        assert_int_equal(vol_last_seq(), seq);
        assert_int_equal(volume_meta_get(g.vol, &meta), ERR_OK);
        assert_int_equal(meta.vm_server_deleted, 1);
        volume_meta_clear(&meta);
        assert_int_equal(volume_vault_get(g.vol, V2, &(struct volume_vault){0}), ERR_NOT_FOUND);
    }

    /* the server deleted on the hub: sync can no longer authenticate, and says so */
    assert_int_equal(admin(HTTP_CLIENT_DELETE, "/v1/servers/" SA, NULL, NULL), 204);
    hubclient_drop_session(g.hc);
    assert_int_equal(sync_run_once(&g.ctx), ERR_UNAUTHORIZED);
    assert_true(g.ctx.sc_errmsg[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hubclient),
        cmocka_unit_test(test_apply_bad_pages),
        cmocka_unit_test(test_paged_pull),
        cmocka_unit_test(test_run_once),
    };

    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
