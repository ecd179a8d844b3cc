/*
 * test_sync_service.c - the engine of `sesame sync` (src/sync/service.c) against a real hub
 * started in-process (127.0.0.1, a temporary SQLite file), set up as tests/unit/test_sync.c
 * does: real admin signatures, real server keys, a real credentials file (left locked),
 * a temporary volume. The bus messages are given to the handler directly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/limits.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "crypto/jwk.h"
#include "http/client.h"
#include "hub/hub.h"
#include "keys/adminsig.h"
#include "keys/credentials.h"
#include "keys/kit.h"
#include "keys/vaultcrypt.h"
#include "store/volume.h"
#include "sync/service.h"

#define V1   "v1v1v1v1v1v1v1v1v1v1v1v1v1"
#define V2   "v2v2v2v2v2v2v2v2v2v2v2v2v2"
#define I1   "i1i1i1i1i1i1i1i1i1i1i1i1i1"
#define I2   "i2i2i2i2i2i2i2i2i2i2i2i2i2"
#define I3   "i3i3i3i3i3i3i3i3i3i3i3i3i3"
#define W1   "w1w1w1w1w1w1w1w1w1w1w1w1w1" /* items the tests write through sync */
#define W2   "w2w2w2w2w2w2w2w2w2w2w2w2w2"
#define W3   "w3w3w3w3w3w3w3w3w3w3w3w3w3"
#define SAU  "SASASASASASASASASASASASASA" /* SA as the hub names an editor */
#define F1   "f1f1f1f1f1f1f1f1f1f1f1f1f1"
#define SA   "sasasasasasasasasasasasasa"
#define FP64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define BMIN 100 /* the tests' backoff */
#define BMAX 800

static struct {
    char dir[64];  /* the hub's data directory */
    char vdir[96]; /* the volume's data directory */
    char db[96];   /* the hub's database */
    char url[64];  /* the hub's URL */
    int port;      /* the hub's port (kept across a restart) */
    struct hub *hub;
    struct http_client *admin;
    struct kit *kit;
    struct jwk srv_sign, srv_wrap;
    unsigned char *unlock;
    unsigned char *vkey1, *vkey2;
    struct buf cred_text; /* the credentials file */
    struct credentials *cred;
    struct volume *vol;
    struct sync_service *svc;
    unsigned next_item; /* for fresh item ids */
} g;

/* ---- the hub, as in test_sync.c ---------------------------------------------------------- */

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

/* Puts version 1 of item in vault (sealed with key); returns the status. */
static int item_put(const unsigned char *key, const char *vault, const char *item,
                    const char *title)
{
    json_t *ov = json_pack("{s:s}", "title", title), *det = json_pack("{s:s}", "notes", title);
    char target[128];
    struct buf b1, b2;
    json_t *o;

    buf_init(&b1, 1 << 20);
    buf_init(&b2, 1 << 20);
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

/* Puts a new item in V1 (a change the server may see). */
static void new_item_v1(void)
{
    char id[ID_LEN + 1];

    snprintf(id, sizeof(id), "n%025u", g.next_item++);
    assert_int_equal(item_put(g.vkey1, V1, id, "new"), 200);
}

/* Returns the hub's last seq of the account. */
static uint64_t hub_last_seq(void)
{
    json_t *r = NULL;
    uint64_t seq;

    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/account", NULL, &r), 200);
    seq = (uint64_t)json_integer_value(json_object_get(r, "lastSeq"));
    json_decref(r);
    return seq;
}

/* Starts the hub on g.port (0 the first time) over g.db. */
static void hub_up(void)
{
    struct hub_options opt;
    char err[256];

    memset(&opt, 0, sizeof(opt));
    opt.ho_host = "127.0.0.1";
    opt.ho_port = g.port;
    opt.ho_store_url = g.db;
    assert_int_equal(hub_start(&g.hub, &opt, err, sizeof(err)), ERR_OK);
    g.port = hub_port(g.hub);
}

/* nftw callback removing everything. */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---- the service ------------------------------------------------------------------------- */

/* Returns CLOCK_MONOTONIC in milliseconds. */
static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Creates g.svc over g.vol and g.cred with the tests' timings. */
static void svc_new(unsigned poll_wait_s, unsigned stop_wait_ms)
{
    struct sync_service_config sc;
    char err[256];

    memset(&sc, 0, sizeof(sc));
    sc.ssc_volume = g.vol;
    sc.ssc_cred = g.cred;
    sc.ssc_volume_dir = g.vdir;
    sc.ssc_proxy = "";
    sc.ssc_poll_wait_s = poll_wait_s;
    sc.ssc_backoff_min_ms = BMIN;
    sc.ssc_backoff_max_ms = BMAX;
    sc.ssc_stop_wait_ms = stop_wait_ms;
    sc.ssc_request_timeout_ms = 5000;
    assert_int_equal(sync_service_new(&g.svc, &sc, err, sizeof(err)), ERR_OK);
}

/* Stops and frees g.svc; a long-poll in flight is ended by a change on the hub. */
static void svc_end(void)
{
    if (!g.svc)
        return;
    if (sync_service_stop(g.svc) == ERR_TIMEOUT && g.hub)
        new_item_v1();
    sync_service_free(g.svc);
    g.svc = NULL;
}

/* Sends one bus message to the handler: op, and secret (len bytes) if not NULL. */
static json_t *bus(const char *op, const unsigned char *secret, size_t len)
{
    struct bus_msg req, resp;
    json_t *ans;

    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.bm_json = op ? json_pack("{s:s}", "op", op) : json_pack("{s:i}", "op", 7);
    if (secret) {
        req.bm_secret = secmem_alloc(len);
        assert_non_null(req.bm_secret);
        memcpy(req.bm_secret, secret, len);
        req.bm_secret_len = len;
    }
    assert_int_equal(sync_service_bus_handler(g.svc, &req, &resp), ERR_OK);
    assert_non_null(resp.bm_json);
    assert_null(resp.bm_secret);
    ans = json_incref(resp.bm_json);
    bus_msg_clear(&req);
    bus_msg_clear(&resp);
    return ans;
}

/* Checks that ans is {"ok":ok[,"message":msg]}; releases ans. */
static void assert_answer(json_t *ans, int ok, const char *msg)
{
    assert_true(json_is_boolean(json_object_get(ans, "ok")));
    assert_int_equal(json_is_true(json_object_get(ans, "ok")), ok);
    if (msg)
        assert_string_equal(json_string_value(json_object_get(ans, "message")), msg);
    else
        assert_null(json_object_get(ans, "message"));
    json_decref(ans);
}

/* Unlocks g.svc over the bus handler. */
static void unlock(void)
{
    assert_answer(bus("unlock", g.unlock, CREDENTIALS_UNLOCK_BYTES), 1, NULL);
}

/* Polls the status until pred holds (or timeout_ms); returns 1 if it did. */
static int wait_for(int (*pred)(const struct sync_service_status *, uint64_t), uint64_t arg,
                    int64_t timeout_ms, struct sync_service_status *st)
{
    int64_t until = now_ms() + timeout_ms;

    for (;;) {
        sync_service_get_status(g.svc, st);
        if (pred(st, arg))
            return 1;
        if (now_ms() > until)
            return 0;
        usleep(10000);
    }
}

static int p_synced_at(const struct sync_service_status *st, uint64_t seq)
{
    return st->sst_synced && st->sst_connected && st->sst_last_seq == seq;
}

static int p_failed(const struct sync_service_status *st, uint64_t n)
{
    return !st->sst_connected && st->sst_failures >= n && st->sst_last_error[0];
}

static int p_activity(const struct sync_service_status *st, uint64_t n)
{
    return st->sst_activity_sent >= n;
}

/* Returns the dependency service of a /health document. */
static const json_t *health_dep(const json_t *h, const char *service)
{
    const json_t *d;
    size_t i;

    json_array_foreach(json_object_get(h, "dependencies"), i, d)
    {
        if (strcmp(json_string_value(json_object_get(d, "service")), service) == 0)
            return d;
    }
    fail_msg("no dependency %s", service);
    return NULL;
}

/* Checks dependency service of h: status and message (NULL: absent). */
static void assert_dep(const json_t *h, const char *service, const char *status, const char *msg)
{
    const json_t *d = health_dep(h, service);

    assert_string_equal(json_string_value(json_object_get(d, "status")), status);
    if (msg)
        assert_string_equal(json_string_value(json_object_get(d, "message")), msg);
    else
        assert_null(json_object_get(d, "message"));
}

/* ---- writes over the bus ------------------------------------------------------------------ */

/* Returns malloc'd unpadded base64url of (p, n). */
static char *b64s(const void *p, size_t n)
{
    size_t cap = codec_b64_encoded_len(n, 0) + 1;
    char *t = malloc(cap);

    assert_non_null(t);
    assert_int_equal(codec_b64_encode(t, cap, NULL, p, n, CODEC_B64_URL), ERR_OK);
    return t;
}

/* Returns malloc'd base64url of part of item sealed with key for version. */
static char *sealed(const unsigned char *key, const char *vault, const char *item, uint64_t version,
                    enum vaultcrypt_part part, const char *title)
{
    json_t *o = json_pack("{s:s}", part == VAULTCRYPT_OVERVIEW ? "title" : "notes", title);
    struct buf b;
    char *t;

    buf_init(&b, 1 << 20);
    assert_int_equal(vaultcrypt_item_seal(&b, key, vault, item, version, part, o), ERR_OK);
    t = b64s(b.b_data, b.b_len);
    buf_free(&b);
    json_decref(o);
    return t;
}

/* Prints ans (ciphertexts cut short) when TEST_SHOW_ANSWERS is set: the report's record. */
static void show(const char *what, const json_t *ans)
{
    json_t *c;
    char *text;

    if (!getenv("TEST_SHOW_ANSWERS"))
        return;
    c = json_deep_copy(ans);
    if (json_is_object(json_object_get(c, "item"))) {
        json_object_set_new(json_object_get(c, "item"), "overview", json_string("..."));
        json_object_set_new(json_object_get(c, "item"), "details", json_string("..."));
    }
    text = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("ANSWER %-28s %s\n", what, text ? text : "?");
    free(text);
    json_decref(c);
}

/* Sends req (stolen) to the handler; returns the answer. */
static json_t *bus_req(json_t *req)
{
    struct bus_msg q, r;
    json_t *ans;

    memset(&q, 0, sizeof(q));
    memset(&r, 0, sizeof(r));
    assert_non_null(req);
    q.bm_json = req;
    assert_int_equal(sync_service_bus_handler(g.svc, &q, &r), ERR_OK);
    assert_non_null(r.bm_json);
    ans = json_incref(r.bm_json);
    bus_msg_clear(&q);
    bus_msg_clear(&r);
    return ans;
}

/* An item_put request: item of vault sealed with key for base + 1, titled title. */
static json_t *put_req(const unsigned char *key, const char *vault, const char *item, uint64_t base,
                       const char *title)
{
    char *ov = sealed(key, vault, item, base + 1, VAULTCRYPT_OVERVIEW, title);
    char *det = sealed(key, vault, item, base + 1, VAULTCRYPT_DETAILS, title);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:i}", "op", "item_put", "vault", vault,
                  "item", item, "category", "LOGIN", "state", "", "overview", ov, "details", det,
                  "baseVersion", (json_int_t)base, "timeoutMs", 5000);

    free(ov);
    free(det);
    return o;
}

/* An item_delete request. */
static json_t *del_req(const char *vault, const char *item, uint64_t base)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:i}", "op", "item_delete", "vault", vault, "item", item,
                     "baseVersion", (json_int_t)base, "timeoutMs", 5000);
}

/* Checks that ans is {"ok":false,"status":status,"message":msg}; releases ans. */
static void assert_refused(json_t *ans, int status, const char *msg)
{
    assert_true(json_is_false(json_object_get(ans, "ok")));
    assert_int_equal(json_integer_value(json_object_get(ans, "status")), status);
    assert_string_equal(json_string_value(json_object_get(ans, "message")), msg);
    assert_int_equal(json_object_size(ans), 3);
    json_decref(ans);
}

/* As assert_refused, for a message that contains part (the hub's words vary). */
static void assert_refused_with(json_t *ans, int status, const char *part)
{
    assert_true(json_is_false(json_object_get(ans, "ok")));
    assert_int_equal(json_integer_value(json_object_get(ans, "status")), status);
    assert_non_null(strstr(json_string_value(json_object_get(ans, "message")), part));
    json_decref(ans);
}

/* Returns the version of the live item in the volume, 0 when it serves none. */
static uint64_t vol_version(const char *vault, const char *item, char editor[ID_LEN + 1])
{
    struct volume_item it;
    uint64_t v;
    enum err e = volume_item_get(g.vol, vault, item, &it);

    if (e == ERR_NOT_FOUND)
        return 0;
    assert_int_equal(e, ERR_OK);
    v = it.vi_version;
    if (editor)
        memcpy(editor, it.vi_last_edited_by, ID_LEN + 1);
    volume_item_clear(&it);
    return v;
}

/* Returns the hub's version of a live item (admin view), 0 when there is none. */
static uint64_t hub_version(const char *vault, const char *item)
{
    char target[128];
    json_t *r = NULL;
    uint64_t v = 0;
    int st;

    snprintf(target, sizeof(target), "/v1/vaults/%s/items/%s", vault, item);
    st = admin(HTTP_CLIENT_GET, target, NULL, &r);
    if (st == 200)
        v = (uint64_t)json_integer_value(json_object_get(r, "version"));
    else
        assert_int_equal(st, 404);
    json_decref(r);
    return v;
}

/* Unlocks a new service and waits for its first pass. */
static void svc_synced(void)
{
    struct sync_service_status st;

    svc_new(30, 300);
    unlock();
    assert_true(wait_for(p_synced_at, hub_last_seq(), 10000, &st));
}

/* ---- fixture ------------------------------------------------------------------------------- */

/* Builds a credentials file for SA into out (fingerprint may be NULL). */
static void cred_create(struct buf *out, const char *fingerprint)
{
    struct credentials_params cp;

    memset(&cp, 0, sizeof(cp));
    cp.cp_server_id = SA;
    cp.cp_account_id = kit_account_id(g.kit);
    cp.cp_server_sign = &g.srv_sign;
    cp.cp_server_wrap = &g.srv_wrap;
    cp.cp_unlock = g.unlock;
    cp.cp_unlock_len = CREDENTIALS_UNLOCK_BYTES;
    cp.cp_hub_url = g.url;
    cp.cp_tls_fingerprint = fingerprint;
    cp.cp_signing_keys = kit_signing_key_current(g.kit);
    cp.cp_nsigning = 1;
    buf_init(out, 1 << 20);
    assert_int_equal(credentials_create(out, &cp), ERR_OK);
}

static int fx_setup(void **state)
{
    struct http_client_config cc;
    const struct jwk *cur;
    char err[256], target[128];
    struct buf text;
    json_t *b;

    (void)state;
    memset(&g, 0, sizeof(g));
    assert_int_equal(crypto_init(), ERR_OK);
    assert_int_equal(http_client_global_init(), ERR_OK);
    snprintf(g.dir, sizeof(g.dir), "/tmp/test_sync_service.XXXXXX");
    assert_non_null(mkdtemp(g.dir));
    snprintf(g.db, sizeof(g.db), "%s/hub.db", g.dir);
    snprintf(g.vdir, sizeof(g.vdir), "%s/volume", g.dir);
    hub_up();
    snprintf(g.url, sizeof(g.url), "http://127.0.0.1:%d", g.port);
    memset(&cc, 0, sizeof(cc));
    cc.hcc_base_url = g.url;
    cc.hcc_proxy = "";
    assert_int_equal(http_client_new(&g.admin, &cc, NULL, 0), ERR_OK);

    /* the account, two vaults, items, a file */
    assert_int_equal(kit_generate(&g.kit, g.url), ERR_OK);
    cur = kit_signing_key_current(g.kit);
    b = json_pack("{s:s, s:o, s:o, s:{s:s, s:o}}", "id", kit_account_id(g.kit), "adminSignJwk",
                  jwk_to_json(kit_admin_signing_key(g.kit), 0), "adminWrapJwk",
                  jwk_to_json(kit_admin_wrap_key(g.kit), 0), "signingKey", "kid", cur->jk_kid,
                  "publicJwk", jwk_to_json(cur, 0));
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/accounts", b, NULL), 201);
    assert_int_equal(vaultcrypt_key_generate(&g.vkey1), ERR_OK);
    assert_int_equal(vaultcrypt_key_generate(&g.vkey2), ERR_OK);
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/vaults", vault_body(V1, g.vkey1), NULL), 201);
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/vaults", vault_body(V2, g.vkey2), NULL), 201);
    assert_int_equal(item_put(g.vkey1, V1, I1, "one"), 200);
    assert_int_equal(item_put(g.vkey1, V1, I2, "two"), 200);
    assert_int_equal(item_put(g.vkey2, V2, I3, "three"), 200);
    buf_init(&text, 1 << 20);
    assert_int_equal(vaultcrypt_file_seal(&text, g.vkey1, V1, F1, "file one", 8), ERR_OK);
    assert_int_equal(admin_raw(HTTP_CLIENT_PUT, "/v1/vaults/" V1 "/files/" F1 "?size=8",
                               text.b_data, text.b_len, "application/octet-stream", NULL),
                     201);
    buf_free(&text);

    /* the server with V1 granted */
    g.unlock = secmem_alloc(CREDENTIALS_UNLOCK_BYTES);
    assert_non_null(g.unlock);
    assert_int_equal(credentials_keys_generate(&g.srv_sign, &g.srv_wrap, g.unlock), ERR_OK);
    b = json_pack("{s:s, s:s, s:o, s:o, s:o}", "id", SA, "name", "prod", "signJwk",
                  jwk_to_json(&g.srv_sign, 0), "wrapJwk", jwk_to_json(&g.srv_wrap, 0),
                  "unlockAdmin",
                  wrapped(g.unlock, CREDENTIALS_UNLOCK_BYTES, kit_admin_wrap_key(g.kit)));
    assert_int_equal(admin(HTTP_CLIENT_POST, "/v1/servers", b, NULL), 201);
    snprintf(target, sizeof(target), "/v1/servers/" SA "/grants/" V1);
    assert_int_equal(
        admin(HTTP_CLIENT_PUT, target,
              json_pack("{s:o}", "keyWrapped", wrapped(g.vkey1, VAULTCRYPT_KEY_BYTES, &g.srv_wrap)),
              NULL),
        200);

    /* the credentials file, parsed and left locked; the volume */
    cred_create(&g.cred_text, NULL);
    assert_int_equal(
        credentials_parse(&g.cred, buf_str(&g.cred_text), g.cred_text.b_len, err, sizeof(err)),
        ERR_OK);
    assert_int_equal(volume_open(&g.vol, g.vdir, err, sizeof(err)), ERR_OK);
    return 0;
}

static int fx_teardown(void **state)
{
    (void)state;
    svc_end();
    volume_close(g.vol);
    credentials_free(g.cred);
    buf_free(&g.cred_text);
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

/* ---- tests ---------------------------------------------------------------------------------- */

/* The backoff: doubling within bounds, jitter within +/- 20 %. */
static void test_backoff(void **state)
{
    static const struct {
        unsigned cur, min, max, want;
    } cases[] = {
        {0, 250, 30000, 250},
        {100, 250, 30000, 250},
        {250, 250, 30000, 500},
        {500, 250, 30000, 1000},
        {16000, 250, 30000, 30000},
        {30000, 250, 30000, 30000},
        {15000, 250, 30000, 30000},
        {400, 100, 800, 800},
        {800, 100, 800, 800},
        {100, 500, 100, 500},
        {0xF0000000u, 1, 0xFFFFFFFFu, 0xFFFFFFFFu},
    };
    unsigned i, lo = ~0u, hi = 0;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(sync_backoff_next(cases[i].cur, cases[i].min, cases[i].max),
                         cases[i].want);
    for (i = 0; i < 2000; i++) {
        unsigned j = sync_backoff_jitter(1000);

        assert_in_range(j, 800, 1200);
        lo = j < lo ? j : lo;
        hi = j > hi ? j : hi;
    }
    assert_true(lo < 900 && hi > 1100); /* it does spread */
    assert_int_equal(sync_backoff_jitter(0), 0);
    assert_int_equal(sync_backoff_jitter(4), 4); /* 20 % of 4 rounds to nothing */
    assert_in_range(sync_backoff_jitter(30000), 24000, 36000);
}

/* Locked: the status, /health, and the bus answers that do not unlock. */
static void test_locked(void **state)
{
    struct sync_service_status st;
    unsigned char wrong[CREDENTIALS_UNLOCK_BYTES];
    char dbmsg[160];
    json_t *h = NULL, *s;

    (void)state;
    svc_new(30, 300);
    sync_service_get_status(g.svc, &st);
    assert_false(st.sst_unlocked);
    assert_false(st.sst_running);
    assert_false(st.sst_connected);
    assert_int_equal(st.sst_last_seq, 0);
    assert_string_equal(st.sst_last_error, "");

    assert_int_equal(sync_service_health_json(g.svc, &h), ERR_OK);
    assert_string_equal(json_string_value(json_object_get(h, "name")), "1Password Connect Sync");
    assert_string_equal(json_string_value(json_object_get(h, "version")), "1.8.1");
    assert_int_equal(json_array_size(json_object_get(h, "dependencies")), 3);
    snprintf(dbmsg, sizeof(dbmsg), "Connected to %s/sesame.db", g.vdir);
    assert_dep(h, "sqlite", "ACTIVE", dbmsg);
    assert_dep(h, "1Password", "UNINITIALIZED",
               "Make a request with a valid bearer token to initialize");
    assert_dep(h, "hub", "NOT_SYNCED", "Sync starts once the server is unlocked");
    json_decref(h);

    s = bus("status", NULL, 0);
    assert_true(json_is_true(json_object_get(s, "ok")));
    assert_true(json_is_false(json_object_get(s, "unlocked")));
    assert_true(json_is_false(json_object_get(s, "connected")));
    assert_int_equal(json_integer_value(json_object_get(s, "lastSyncAt")), 0);
    assert_int_equal(json_integer_value(json_object_get(s, "lastSeq")), 0);
    assert_true(json_is_false(json_object_get(s, "serverDeleted")));
    assert_null(json_object_get(s, "lastError"));
    json_decref(s);

    assert_answer(bus("frobnicate", NULL, 0), 0, "unknown operation");
    assert_answer(bus(NULL, NULL, 0), 0, "unknown operation"); /* "op" not a string */
    assert_answer(bus("unlock", NULL, 0), 0, "unlock needs the unlock secret");
    memcpy(wrong, g.unlock, sizeof(wrong));
    wrong[5] ^= 1;
    assert_answer(bus("unlock", wrong, sizeof(wrong)), 0, "unlock refused");
    assert_answer(bus("unlock", g.unlock, 16), 0, "unlock refused"); /* a short secret */
    assert_answer(bus("sync", NULL, 0), 1, NULL);                    /* harmless when locked */
    sync_service_get_status(g.svc, &st);
    assert_false(st.sst_unlocked);
    assert_false(st.sst_running);
    assert_false(credentials_is_unlocked(g.cred));
    assert_int_equal(sync_service_stop(g.svc), ERR_OK); /* no engine: nothing to wait for */
}

/* Unlocked: the volume gets V1 (not V2), a new item arrives by the long-poll. */
static void test_unlock_syncs(void **state)
{
    struct sync_service_status st;
    struct volume_vault vv;
    struct volume_file vf;
    uint64_t seq;
    json_t *h = NULL, *s;

    (void)state;
    svc_new(30, 300);
    unlock();
    seq = hub_last_seq();
    assert_true(wait_for(p_synced_at, seq, 10000, &st));
    assert_true(st.sst_unlocked);
    assert_true(st.sst_running);
    assert_int_equal(st.sst_pulled, 1);
    assert_int_equal(st.sst_failures, 0);
    assert_true(st.sst_last_sync_at > 0 && st.sst_last_sync_at <= (int64_t)time(NULL));
    assert_int_equal(volume_vault_get(g.vol, V1, &vv), ERR_OK);
    assert_int_equal(vv.vv_items, 2);
    volume_vault_clear(&vv);
    assert_int_equal(volume_vault_get(g.vol, V2, &vv), ERR_NOT_FOUND);
    assert_int_equal(volume_file_get(g.vol, V1, F1, &vf), ERR_OK);
    assert_true(vf.vf_present);

    assert_int_equal(sync_service_health_json(g.svc, &h), ERR_OK);
    assert_dep(h, "1Password", "ACTIVE", NULL);
    assert_string_equal(json_string_value(json_object_get(health_dep(h, "hub"), "status")),
                        "ACTIVE");
    assert_non_null(strstr(json_string_value(json_object_get(health_dep(h, "hub"), "message")),
                           "last synced "));
    json_decref(h);

    /* the engine waits in a long-poll; a new item wakes it */
    usleep(200000);
    new_item_v1();
    seq = hub_last_seq();
    assert_true(wait_for(p_synced_at, seq, 5000, &st));
    assert_int_equal(st.sst_pulled, 1); /* nothing pulled again */
    assert_int_equal(volume_vault_get(g.vol, V1, &vv), ERR_OK);
    assert_int_equal(vv.vv_items, 3);
    volume_vault_clear(&vv);

    /* unlocking again is fine and changes nothing */
    unlock();
    s = bus("status", NULL, 0);
    assert_true(json_is_true(json_object_get(s, "unlocked")));
    assert_true(json_is_true(json_object_get(s, "connected")));
    assert_int_equal(json_integer_value(json_object_get(s, "lastSeq")), seq);
    assert_true(json_integer_value(json_object_get(s, "lastSyncAt")) > 0);
    assert_int_equal(json_integer_value(json_object_get(s, "pulled")), 1);
    assert_null(json_object_get(s, "lastError"));
    json_decref(s);
}

/* The hub stops: not connected, lastError, the backoff doubles; it comes back: caught up. */
static void test_hub_down_and_back(void **state)
{
    struct sync_service_status st;
    uint64_t seen = 0, seq;
    json_t *h = NULL, *s;

    (void)state;
    svc_new(30, 300);
    unlock();
    assert_true(wait_for(p_synced_at, hub_last_seq(), 10000, &st));
    hub_stop(g.hub);
    g.hub = NULL;
    assert_true(wait_for(p_failed, 1, 5000, &st));
    assert_non_null(strstr(st.sst_last_error, "hub"));

    /* each failure doubles the wait: BMIN, 2 BMIN, ... up to BMAX */
    while (seen < 5) {
        unsigned want;

        assert_true(wait_for(p_failed, seen + 1, 5000, &st));
        seen = st.sst_failures;
        want = BMIN;
        for (uint64_t k = 1; k < seen && want < BMAX; k++)
            want *= 2;
        assert_int_equal(st.sst_backoff_ms, want > BMAX ? BMAX : want);
    }
    s = bus("status", NULL, 0);
    assert_true(json_is_false(json_object_get(s, "connected")));
    assert_true(json_is_true(json_object_get(s, "unlocked")));
    assert_true(json_string_length(json_object_get(s, "lastError")) > 0);
    json_decref(s);
    assert_int_equal(sync_service_health_json(g.svc, &h), ERR_OK);
    sync_service_get_status(g.svc, &st);
    assert_string_equal(json_string_value(json_object_get(health_dep(h, "hub"), "status")),
                        "UNREACHABLE");
    json_decref(h);

    /* back on the same port, with a change made meanwhile: caught up */
    hub_up();
    new_item_v1();
    assert_answer(bus("sync", NULL, 0), 1, NULL);
    seq = hub_last_seq();
    assert_true(wait_for(p_synced_at, seq, 5000, &st));
    assert_int_equal(st.sst_failures, 0);
    assert_int_equal(st.sst_backoff_ms, 0);
    assert_string_equal(st.sst_last_error, "");
}

/* Stop: during a long-poll it gives up waiting after the stop wait; during a backoff at once. */
static void test_stop_prompt(void **state)
{
    struct sync_service_status st;
    int64_t t0, ms;

    (void)state;
    svc_new(30, 300);
    unlock();
    assert_true(wait_for(p_synced_at, hub_last_seq(), 10000, &st));
    usleep(300000); /* in the long-poll now */
    t0 = now_ms();
    assert_int_equal(sync_service_stop(g.svc), ERR_TIMEOUT);
    ms = now_ms() - t0;
    assert_in_range(ms, 250, 800);
    new_item_v1(); /* ends the long-poll: the engine stops right after it */
    t0 = now_ms();
    sync_service_free(g.svc);
    g.svc = NULL;
    assert_in_range(now_ms() - t0, 0, 3000);

    /* in a backoff wait (the hub is down): stop is immediate */
    svc_new(30, 300);
    unlock();
    hub_stop(g.hub);
    g.hub = NULL;
    assert_true(wait_for(p_failed, 3, 5000, &st));
    t0 = now_ms();
    assert_int_equal(sync_service_stop(g.svc), ERR_OK);
    assert_in_range(now_ms() - t0, 0, 200);
    sync_service_get_status(g.svc, &st);
    assert_false(st.sst_running);
}

/* A restart resumes from the volume's last seq and pulls nothing it holds. */
static void test_restart_resumes(void **state)
{
    struct sync_service_status st;
    uint64_t seq;

    (void)state;
    svc_new(30, 300);
    unlock();
    seq = hub_last_seq();
    assert_true(wait_for(p_synced_at, seq, 10000, &st));
    assert_int_equal(st.sst_pulled, 1);
    svc_end();
    seq = hub_last_seq(); /* svc_end may have added an item */

    svc_new(30, 300);
    sync_service_get_status(g.svc, &st);
    assert_false(st.sst_unlocked);
    unlock();
    assert_true(wait_for(p_synced_at, seq, 10000, &st));
    assert_int_equal(st.sst_pulled, 0);
    assert_true(st.sst_passes >= 1);
}

/*
 * Activity appended by the api is uploaded after a pass. An entry that is not a JSON object
 * is dropped here; one the hub refuses (nested deeper than it takes) spoils its batch, which
 * is then sent entry by entry and the refused one dropped.
 */
static void test_activity_upload(void **state)
{
    static const char *const entries[] = {
        "{\"requestId\":\"a-1\",\"action\":\"READ\"}", "not json", "[1, 2]", NULL /* deep */,
        "{\"requestId\":\"a-2\",\"action\":\"READ\"}",
    };
    struct sync_service_status st;
    struct volume_activity *pend = NULL;
    char deep[512];
    size_t n = 9, k, len = 0;
    json_t *r = NULL, *e;
    size_t i;
    int found = 0;

    (void)state;
    for (k = 0; k < JSON_MAX_DEPTH + 2; k++)
        len += (size_t)snprintf(deep + len, sizeof(deep) - len, "{\"a\":");
    len += (size_t)snprintf(deep + len, sizeof(deep) - len, "1");
    for (k = 0; k < JSON_MAX_DEPTH + 2; k++)
        len += (size_t)snprintf(deep + len, sizeof(deep) - len, "}");
    assert_true(len < sizeof(deep) - 1);
    for (k = 0; k < sizeof(entries) / sizeof(entries[0]); k++)
        assert_int_equal(volume_activity_append(g.vol, entries[k] ? entries[k] : deep, NULL),
                         ERR_OK);
    svc_new(30, 300);
    unlock();
    assert_true(wait_for(p_activity, 2, 10000, &st));
    assert_int_equal(st.sst_activity_sent, 2);
    assert_int_equal(volume_activity_pending(g.vol, 10, &pend, &n), ERR_OK);
    assert_int_equal(n, 0);
    volume_activity_list_free(pend, n);
    assert_int_equal(admin(HTTP_CLIENT_GET, "/v1/activity", NULL, &r), 200);
    assert_int_equal(json_array_size(r), 2);
    json_array_foreach(r, i, e)
    {
        const char *rid =
            json_string_value(json_object_get(json_object_get(e, "entry"), "requestId"));

        assert_string_equal(json_string_value(json_object_get(e, "server")), SA);
        found += rid && (strcmp(rid, "a-1") == 0 || strcmp(rid, "a-2") == 0);
    }
    assert_int_equal(found, 2);
    json_decref(r);
}

/* A credentials file that pins the hub's certificate is refused (it cannot be checked). */
static void test_fingerprint_refused(void **state)
{
    struct sync_service_config sc;
    struct credentials *c = NULL;
    struct sync_service *s = NULL;
    struct buf text;
    char err[256];

    (void)state;
    cred_create(&text, FP64);
    assert_int_equal(credentials_parse(&c, buf_str(&text), text.b_len, err, sizeof(err)), ERR_OK);
    memset(&sc, 0, sizeof(sc));
    sc.ssc_volume = g.vol;
    sc.ssc_cred = c;
    sc.ssc_volume_dir = g.vdir;
    assert_int_equal(sync_service_new(&s, &sc, err, sizeof(err)), ERR_CONFIG);
    assert_null(s);
    assert_non_null(strstr(err, "tlsFingerprint"));
    sc.ssc_cred = g.cred;
    sc.ssc_volume = NULL;
    assert_int_equal(sync_service_new(&s, &sc, err, sizeof(err)), ERR_BAD_INPUT);
    sc.ssc_volume = g.vol;
    sc.ssc_poll_wait_s = 31;
    assert_int_equal(sync_service_new(&s, &sc, err, sizeof(err)), ERR_BAD_INPUT);
    sc.ssc_poll_wait_s = 0;
    sc.ssc_hub_url = "ftp://nope";
    assert_int_equal(sync_service_new(&s, &sc, err, sizeof(err)), ERR_CONFIG);
    credentials_free(c);
    buf_free(&text);
}

/* The hub time of a write: timeoutMs less 500 ms, within [1 s, 60 s]. */
static void test_write_timeout_bounds(void **state)
{
    static const struct {
        long in, want;
    } cases[] = {
        {0, 60000},     {-5, 60000},     {1, 1000},         {1500, 1000},
        {1501, 1001},   {2000, 1500},    {10000, 9500},     {60500, 60000},
        {60501, 60000}, {999999, 60000}, {LONG_MAX, 60000},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(sync_service_write_timeout(cases[i].in), cases[i].want);
}

/* Locked: writes are 503; a malformed one is still 400 (checked first). */
static void test_write_locked(void **state)
{
    json_t *a;

    (void)state;
    svc_new(30, 300);
    show("put (locked)", a = bus_req(put_req(g.vkey1, V1, W1, 0, "w")));
    assert_refused(a, 503, "sync is locked");
    show("delete (locked)", a = bus_req(del_req(V1, I1, 1)));
    assert_refused(a, 503, "sync is locked");
    assert_refused(bus_req(del_req(V1, I1, 0)), 400,
                   "item_delete: baseVersion must be the version deleted (at least 1)");
    assert_false(credentials_is_unlocked(g.cred));
}

/* Malformed writes are 400 and never reach the hub. */
static void test_write_malformed(void **state)
{
    static const char *const ids_bad = "V1V1V1V1V1V1V1V1V1V1V1V1V1";
    static const char *const m_vault = "item_put: vault is not a valid id";
    static const char *const m_item = "item_put: item is not a valid id";
    static const char *const m_cat = "item_put: category must be 1 to 31 of A-Z and _";
    static const char *const m_state = "item_put: state must be up to 15 of A-Z and _";
    static const char *const m_ov = "item_put: overview must be unpadded base64url";
    static const char *const m_det = "item_put: details must be unpadded base64url";
    static const char *const m_base = "item_put: baseVersion must be an integer of at least 0";
    static const char *const m_tmo = "item_put: timeoutMs must be a positive integer";
    const struct {
        const char *member; /* changed in a good item_put */
        json_t *value;      /* NULL: removed */
        const char *msg;
    } cases[] = {
        {"vault", NULL, m_vault},
        {"vault", json_string(ids_bad), m_vault},
        {"vault", json_integer(7), m_vault},
        {"item", NULL, m_item},
        {"item", json_string("i1i1"), m_item},
        {"item", json_string("i1i1i1i1i1i1i1i1i1i1i1i1i1x"), m_item},
        {"category", NULL, m_cat},
        {"category", json_string(""), m_cat},
        {"category", json_string("login"), m_cat},
        {"category", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), m_cat},
        {"state", json_string("archived"), m_state},
        {"state", json_integer(3), m_state},
        {"state", json_string("AAAAAAAAAAAAAAAA"), m_state},
        {"overview", NULL, m_ov},
        {"overview", json_string(""), m_ov},
        {"overview", json_string("@@@@"), m_ov},
        {"overview", json_string("AA=="), m_ov},
        {"overview", json_string("A"), m_ov},
        {"details", json_string("YWJj+w"), m_det},
        {"details", json_null(), m_det},
        {"baseVersion", NULL, m_base},
        {"baseVersion", json_integer(-1), m_base},
        {"baseVersion", json_string("1"), m_base},
        {"baseVersion", json_real(1.0), m_base},
        {"timeoutMs", json_integer(0), m_tmo},
        {"timeoutMs", json_string("5000"), m_tmo},
    };
    struct volume_vault vv;
    uint64_t seq;
    size_t i;
    json_t *a, *q;

    (void)state;
    svc_synced();
    seq = hub_last_seq();
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        q = put_req(g.vkey1, V1, W1, 0, "w");
        if (cases[i].value)
            assert_int_equal(json_object_set_new(q, cases[i].member, cases[i].value), 0);
        else
            assert_int_equal(json_object_del(q, cases[i].member), 0);
        a = bus_req(q);
        if (i == 0)
            show("put without vault", a);
        assert_refused(a, 400, cases[i].msg);
    }
    /* state and timeoutMs may be left out */
    q = del_req(V1, I1, 0);
    show("delete baseVersion 0", a = bus_req(q));
    assert_refused(a, 400, "item_delete: baseVersion must be the version deleted (at least 1)");
    q = del_req(V1, I1, 1);
    assert_int_equal(json_object_del(q, "item"), 0);
    assert_refused(bus_req(q), 400, "item_delete: item is not a valid id");
    q = del_req(V1, I1, 1);
    assert_int_equal(json_object_del(q, "baseVersion"), 0);
    assert_refused(bus_req(q), 400, "item_delete: baseVersion must be an integer of at least 0");
    q = del_req(V1, I1, 1);
    assert_int_equal(json_object_set_new(q, "timeoutMs", json_integer(-1)), 0);
    assert_refused(bus_req(q), 400, "item_delete: timeoutMs must be a positive integer");

    /* nothing reached the hub, nothing changed in the volume */
    assert_int_equal(hub_last_seq(), seq);
    assert_int_equal(hub_version(V1, W1), 0);
    assert_int_equal(hub_version(V1, I1), 1);
    assert_int_equal(volume_vault_get(g.vol, V1, &vv), ERR_OK);
    assert_int_equal(vv.vv_items, 2);
    volume_vault_clear(&vv);
}

/* Create, update, a stale update (409: the volume then holds the hub's version). */
static void test_write_put(void **state)
{
    char editor[ID_LEN + 1], *det;
    struct volume_item it;
    unsigned char *raw;
    const json_t *rec;
    size_t rawlen = 0, cap;
    json_t *q, *a;

    (void)state;
    svc_synced();

    /* create: the hub's record comes back and is in the volume at once */
    q = put_req(g.vkey1, V1, W1, 0, "created");
    det = strdup(json_string_value(json_object_get(q, "details")));
    assert_non_null(det);
    a = bus_req(q);
    show("put create", a);
    assert_true(json_is_true(json_object_get(a, "ok")));
    assert_int_equal(json_object_size(a), 2);
    rec = json_object_get(a, "item");
    assert_string_equal(json_string_value(json_object_get(rec, "id")), W1);
    assert_string_equal(json_string_value(json_object_get(rec, "vault")), V1);
    assert_int_equal(json_integer_value(json_object_get(rec, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(rec, "category")), "LOGIN");
    assert_string_equal(json_string_value(json_object_get(rec, "state")), "");
    assert_string_equal(json_string_value(json_object_get(rec, "lastEditedBy")), SAU);
    assert_string_equal(json_string_value(json_object_get(rec, "details")), det);
    assert_true(json_integer_value(json_object_get(rec, "createdAt")) > 0);
    json_decref(a);
    assert_int_equal(vol_version(V1, W1, editor), 1);
    assert_string_equal(editor, SAU);
    assert_int_equal(volume_item_get(g.vol, V1, W1, &it), ERR_OK);
    cap = strlen(det);
    raw = malloc(cap);
    assert_non_null(raw);
    assert_int_equal(codec_b64_decode(raw, cap, &rawlen, det, strlen(det), CODEC_B64_URL), ERR_OK);
    assert_int_equal(it.vi_details_len, rawlen);
    assert_memory_equal(it.vi_details, raw, rawlen);
    assert_string_equal(it.vi_category, "LOGIN");
    volume_item_clear(&it);
    free(raw);
    free(det);
    assert_int_equal(hub_version(V1, W1), 1);

    /* update with the current version */
    a = bus_req(put_req(g.vkey1, V1, W1, 1, "updated"));
    show("put update (base 1)", a);
    assert_true(json_is_true(json_object_get(a, "ok")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "item"), "version")), 2);
    json_decref(a);
    assert_int_equal(vol_version(V1, W1, editor), 2);
    assert_int_equal(hub_version(V1, W1), 2);

    /* a stale base: 409, nothing written */
    show("put stale (base 1)", a = bus_req(put_req(g.vkey1, V1, W1, 1, "stale")));
    assert_refused(a, 409, "the item changed concurrently");
    assert_int_equal(hub_version(V1, W1), 2);
    assert_int_equal(vol_version(V1, W1, NULL), 2);

    /* another writer (the admin) moves the item to 3: the 409 leaves version 3 in the volume */
    assert_int_equal(item_put(g.vkey1, V1, W1, "admin"), 200);
    assert_int_equal(hub_version(V1, W1), 3);
    show("put stale (base 2)", a = bus_req(put_req(g.vkey1, V1, W1, 2, "stale")));
    assert_refused(a, 409, "the item changed concurrently");
    assert_int_equal(vol_version(V1, W1, editor), 3);
    assert_string_equal(editor, kit_account_id(g.kit)); /* the admin's write */

    /* a create of an item that exists is refused before the hub (which would take it) */
    show("put create of I1", a = bus_req(put_req(g.vkey1, V1, I1, 0, "again")));
    assert_refused(a, 409, "the item changed concurrently");
    assert_int_equal(hub_version(V1, I1), 1);
    assert_int_equal(vol_version(V1, I1, NULL), 1);
}

/* Delete, delete again (404), delete with a stale base (409, the volume catches up). */
static void test_write_delete(void **state)
{
    json_t *a, *want;

    (void)state;
    svc_synced();
    a = bus_req(put_req(g.vkey1, V1, W2, 0, "doomed"));
    assert_true(json_is_true(json_object_get(a, "ok")));
    json_decref(a);
    assert_int_equal(vol_version(V1, W2, NULL), 1);

    a = bus_req(del_req(V1, W2, 1));
    show("delete (base 1)", a);
    want = json_pack("{s:b, s:i}", "ok", 1, "version", 2);
    assert_true(json_equal(a, want));
    json_decref(want);
    json_decref(a);
    assert_int_equal(vol_version(V1, W2, NULL), 0); /* the volume serves it no more */
    assert_int_equal(hub_version(V1, W2), 0);

    show("delete again (base 2)", a = bus_req(del_req(V1, W2, 2)));
    assert_refused(a, 404, "the item is not on the hub any more");
    show("put on deleted (base 2)", a = bus_req(put_req(g.vkey1, V1, W2, 2, "zombie")));
    assert_refused(a, 404, "the item is not on the hub any more");
    assert_int_equal(vol_version(V1, W2, NULL), 0);

    /* the item changed since the api read it */
    a = bus_req(put_req(g.vkey1, V1, W3, 0, "contested"));
    assert_true(json_is_true(json_object_get(a, "ok")));
    json_decref(a);
    assert_int_equal(item_put(g.vkey1, V1, W3, "admin"), 200);
    show("delete stale (base 1)", a = bus_req(del_req(V1, W3, 1)));
    assert_refused(a, 409, "the item changed concurrently");
    assert_int_equal(hub_version(V1, W3), 2);
    assert_int_equal(vol_version(V1, W3, NULL), 2);
    a = bus_req(del_req(V1, W3, 2));
    want = json_pack("{s:b, s:i}", "ok", 1, "version", 3);
    assert_true(json_equal(a, want));
    json_decref(want);
    json_decref(a);
    assert_int_equal(vol_version(V1, W3, NULL), 0);
}

/* A vault not granted to the server: 403, nothing written. */
static void test_write_forbidden(void **state)
{
    json_t *a;

    (void)state;
    svc_synced();
    show("put (vault not granted)", a = bus_req(put_req(g.vkey2, V2, W1, 0, "no")));
    assert_refused(a, 403, "the vault is not granted to this server");
    show("delete (vault not granted)", a = bus_req(del_req(V2, I3, 1)));
    assert_refused(a, 403, "the vault is not granted to this server");
    show("put (no such vault)",
         a = bus_req(put_req(g.vkey2, "v9v9v9v9v9v9v9v9v9v9v9v9v9", W1, 0, "no")));
    assert_refused(a, 403, "the vault is not granted to this server");
    assert_int_equal(hub_version(V2, W1), 0);
    assert_int_equal(hub_version(V2, I3), 1);
}

/* The hub is down: 502 at once, "nothing was written", the volume unchanged. */
static void test_write_hub_down(void **state)
{
    struct volume_vault vv;
    uint64_t gen0 = 0, gen1 = 0;
    int64_t t0;
    json_t *a;

    (void)state;
    svc_synced();
    hub_stop(g.hub);
    g.hub = NULL;
    assert_int_equal(volume_generation(g.vol, &gen0), ERR_OK);
    t0 = now_ms();
    a = bus_req(put_req(g.vkey1, V1, W1, 0, "lost"));
    assert_in_range(now_ms() - t0, 0, 1000);
    show("put (hub down)", a);
    assert_refused_with(json_incref(a), 502, "; nothing was written");
    assert_ptr_equal(
        strstr(json_string_value(json_object_get(a, "message")), "the hub could not be reached: "),
        json_string_value(json_object_get(a, "message")));
    json_decref(a);
    t0 = now_ms();
    show("delete (hub down)", a = bus_req(del_req(V1, I1, 1)));
    assert_in_range(now_ms() - t0, 0, 1000);
    assert_refused_with(a, 502, "; nothing was written");
    assert_int_equal(vol_version(V1, W1, NULL), 0);
    assert_int_equal(vol_version(V1, I1, NULL), 1);
    assert_int_equal(volume_vault_get(g.vol, V1, &vv), ERR_OK);
    assert_int_equal(vv.vv_items, 2);
    volume_vault_clear(&vv);
    assert_int_equal(volume_generation(g.vol, &gen1), ERR_OK);
    assert_int_equal(gen1, gen0);
}

/* Writes do not wait for the engine's long-poll; after stop they are refused. */
static void test_write_during_long_poll(void **state)
{
    struct sync_service_status st;
    int64_t t0, ms;
    enum err e;
    json_t *a;

    (void)state;
    svc_synced();
    usleep(300000); /* the engine is in its 30 s long-poll now */
    t0 = now_ms();
    a = bus_req(put_req(g.vkey1, V1, W1, 0, "quick"));
    ms = now_ms() - t0;
    assert_true(json_is_true(json_object_get(a, "ok")));
    json_decref(a);
    assert_in_range(ms, 0, 999);
    t0 = now_ms();
    a = bus_req(put_req(g.vkey1, V1, W1, 1, "quicker"));
    assert_true(json_is_true(json_object_get(a, "ok")));
    json_decref(a);
    a = bus_req(del_req(V1, W1, 2));
    assert_true(json_is_true(json_object_get(a, "ok")));
    json_decref(a);
    assert_in_range(now_ms() - t0, 0, 999);

    /* the feed brings the same changes to the engine: applying them again changes nothing */
    assert_true(wait_for(p_synced_at, hub_last_seq(), 5000, &st));
    assert_int_equal(vol_version(V1, W1, NULL), 0);
    assert_int_equal(hub_version(V1, W1), 0);

    /* ERR_OK, or ERR_TIMEOUT while the long-poll ends: the flag is set either way */
    e = sync_service_stop(g.svc);
    assert_true(e == ERR_OK || e == ERR_TIMEOUT);
    show("put (stopping)", a = bus_req(put_req(g.vkey1, V1, W2, 0, "late")));
    assert_refused(a, 503, "sync is stopping");
}

/* A hub that accepts connections and never answers: 504 after timeoutMs less the margin. */
static void test_write_timeout(void **state)
{
    struct sync_service_config sc;
    struct sockaddr_in sa;
    socklen_t slen = sizeof(sa);
    char url[64], err[256];
    int fd, one = 1;
    int64_t t0, ms;
    json_t *q, *a;

    (void)state;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &slen), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));

    memset(&sc, 0, sizeof(sc));
    sc.ssc_volume = g.vol;
    sc.ssc_cred = g.cred;
    sc.ssc_volume_dir = g.vdir;
    sc.ssc_hub_url = url;
    sc.ssc_proxy = "";
    sc.ssc_backoff_min_ms = BMIN;
    sc.ssc_backoff_max_ms = BMAX;
    sc.ssc_stop_wait_ms = 300;
    sc.ssc_request_timeout_ms = 5000;
    assert_int_equal(sync_service_new(&g.svc, &sc, err, sizeof(err)), ERR_OK);
    unlock();
    q = put_req(g.vkey1, V1, W1, 0, "slow");
    assert_int_equal(json_object_set_new(q, "timeoutMs", json_integer(1500)), 0);
    t0 = now_ms();
    a = bus_req(q);
    ms = now_ms() - t0;
    show("put (hub silent, 1500 ms)", a);
    assert_in_range(ms, 900, 2000);
    assert_refused_with(json_incref(a), 504, "the hub did not answer within 1000 ms (");
    assert_refused_with(a, 504,
                        "): the write may or may not have been applied; read the item before "
                        "retrying");
    assert_int_equal(vol_version(V1, W1, NULL), 0);
    svc_end();
    close(fd);
}

/* ---- several hub URLs: failover ------------------------------------------------------------- */

/* A fake hub replica: answers every request with fk_status after fk_delay_ms, one at a time. */
struct fake_hub {
    int fk_fd;
    int fk_port;
    int fk_status;
    unsigned fk_delay_ms;
    int fk_stop;
    unsigned fk_requests;
    pthread_t fk_thread;
};

/* Reads one request (headers and a Content-Length body) from fd; 1 if one came. */
static int fake_read_request(int fd)
{
    char buf[16384];
    size_t got = 0, want = 0;
    char *end, *cl;
    ssize_t n;

    for (;;) {
        n = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (n <= 0)
            return 0;
        got += (size_t)n;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        cl = strcasestr(buf, "\r\ncontent-length:");
        want = (size_t)(end + 4 - buf);
        if (cl && cl < end)
            want += (size_t)strtoul(cl + 17, NULL, 10);
        if (got >= want || got == sizeof(buf) - 1)
            return 1;
    }
}

/* The fake hub's thread. */
static void *fake_run(void *arg)
{
    struct fake_hub *f = arg;
    char ans[160];
    int fd, len;

    while (!__atomic_load_n(&f->fk_stop, __ATOMIC_ACQUIRE)) {
        fd = accept(f->fk_fd, NULL, NULL);
        if (fd < 0)
            continue;
        if (!__atomic_load_n(&f->fk_stop, __ATOMIC_ACQUIRE) && fake_read_request(fd)) {
            __atomic_add_fetch(&f->fk_requests, 1, __ATOMIC_RELEASE);
            usleep(f->fk_delay_ms * 1000u);
            len = snprintf(ans, sizeof(ans),
                           "HTTP/1.1 %d Fake\r\nContent-Type: application/json\r\n"
                           "Content-Length: 2\r\nConnection: close\r\n\r\n{}",
                           f->fk_status);
            assert_true(write(fd, ans, (size_t)len) == len);
        }
        close(fd);
    }
    return NULL;
}

/* Starts a fake hub answering status after delay_ms. */
static void fake_start(struct fake_hub *f, int status, unsigned delay_ms)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int one = 1;

    memset(f, 0, sizeof(*f));
    f->fk_status = status;
    f->fk_delay_ms = delay_ms;
    f->fk_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->fk_fd >= 0);
    assert_int_equal(setsockopt(f->fk_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->fk_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->fk_fd, 16), 0);
    assert_int_equal(getsockname(f->fk_fd, (struct sockaddr *)&a, &alen), 0);
    f->fk_port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->fk_thread, NULL, fake_run, f), 0);
}

/* Stops a fake hub (wakes its accept with a connection of our own). */
static void fake_stop(struct fake_hub *f)
{
    struct sockaddr_in a;
    int fd;

    __atomic_store_n(&f->fk_stop, 1, __ATOMIC_RELEASE);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)f->fk_port);
    (void)connect(fd, (struct sockaddr *)&a, sizeof(a));
    close(fd);
    pthread_join(f->fk_thread, NULL);
    close(f->fk_fd);
}

/* Writes a URL of 127.0.0.1 where nothing listens into url (a port just freed). */
static void dead_url(char *url, size_t cap)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(url, cap, "http://127.0.0.1:%d", ntohs(a.sin_port));
    close(fd);
}

/* The log, captured into a file of the test directory. */
static FILE *g_log;
static char g_log_path[128];

static void log_capture(void)
{
    snprintf(g_log_path, sizeof(g_log_path), "%s/sync.log", g.dir);
    g_log = fopen(g_log_path, "w+");
    assert_non_null(g_log);
    log_set_stream(g_log);
    log_set_level(LOG_INFO);
}

/* Ends the capture; returns the captured text (free it). */
static char *log_captured(void)
{
    char *text;
    long n;

    log_set_stream(stderr);
    assert_int_equal(fflush(g_log), 0);
    n = ftell(g_log);
    assert_true(n >= 0);
    text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    rewind(g_log);
    assert_int_equal(fread(text, 1, (size_t)n, g_log), (size_t)n);
    fclose(g_log);
    g_log = NULL;
    return text;
}

/* Returns how many times needle occurs in text. */
static int count_of(const char *text, const char *needle)
{
    int n = 0;

    for (text = strstr(text, needle); text; text = strstr(text + 1, needle))
        n++;
    return n;
}

/* Replaces g.cred by a credentials file listing first, then others (n of them) as hub.urls. */
static void cred_with_urls(const char *first, const char *const *others, size_t n)
{
    struct credentials_params cp;
    struct buf text;
    char err[256];

    memset(&cp, 0, sizeof(cp));
    cp.cp_server_id = SA;
    cp.cp_account_id = kit_account_id(g.kit);
    cp.cp_server_sign = &g.srv_sign;
    cp.cp_server_wrap = &g.srv_wrap;
    cp.cp_unlock = g.unlock;
    cp.cp_unlock_len = CREDENTIALS_UNLOCK_BYTES;
    cp.cp_hub_url = first;
    cp.cp_hub_urls = others;
    cp.cp_hub_url_count = n;
    cp.cp_signing_keys = kit_signing_key_current(g.kit);
    cp.cp_nsigning = 1;
    buf_init(&text, 1 << 20);
    assert_int_equal(credentials_create(&text, &cp), ERR_OK);
    credentials_free(g.cred);
    g.cred = NULL;
    assert_int_equal(credentials_parse(&g.cred, buf_str(&text), text.b_len, err, sizeof(err)),
                     ERR_OK);
    buf_free(&text);
}

/* Creates g.svc as svc_new does, with hub URLs urls (n; 0: the credentials file's). */
static void svc_new_urls(const char *const *urls, size_t n)
{
    struct sync_service_config sc;
    char err[256];

    memset(&sc, 0, sizeof(sc));
    sc.ssc_volume = g.vol;
    sc.ssc_cred = g.cred;
    sc.ssc_volume_dir = g.vdir;
    sc.ssc_proxy = "";
    sc.ssc_poll_wait_s = 30;
    sc.ssc_backoff_min_ms = BMIN;
    sc.ssc_backoff_max_ms = BMAX;
    sc.ssc_stop_wait_ms = 300;
    sc.ssc_request_timeout_ms = 5000;
    sc.ssc_hub_urls = urls;
    sc.ssc_hub_url_count = n;
    assert_int_equal(sync_service_new(&g.svc, &sc, err, sizeof(err)), ERR_OK);
}

/* Asserts the bus status's hubUrl. */
static void assert_hub_url(const char *want)
{
    json_t *st = bus("status", NULL, 0);

    assert_string_equal(json_string_value(json_object_get(st, "hubUrl")), want);
    json_decref(st);
}

/* The credentials list a dead URL first and the hub second: sync fails over, serves, writes;
 * the volume records the preferred (first) URL. */
static void test_failover_dead_first(void **state)
{
    const char *others[1];
    struct sync_service_status st;
    struct volume_meta m;
    char dead[64], line[256], *log;
    json_t *a;

    (void)state;
    dead_url(dead, sizeof(dead));
    others[0] = g.url;
    cred_with_urls(dead, others, 1);
    log_capture();
    svc_new_urls(NULL, 0);
    assert_hub_url(dead);
    unlock();
    assert_true(wait_for(p_synced_at, hub_last_seq(), 10000, &st));
    assert_hub_url(g.url);
    a = bus_req(put_req(g.vkey1, V1, W1, 0, "through the replica"));
    show("put (after failover)", a);
    assert_true(json_is_true(json_object_get(a, "ok")));
    json_decref(a);
    assert_int_equal(hub_version(V1, W1), 1);
    assert_int_equal(vol_version(V1, W1, NULL), 1);
    memset(&m, 0, sizeof(m));
    assert_int_equal(volume_meta_get(g.vol, &m), ERR_OK);
    assert_string_equal(m.vm_hub_url, dead);
    volume_meta_clear(&m);
    svc_end();
    log = log_captured();
    snprintf(line, sizeof(line), "sync: hub %s unreachable, trying %s", dead, g.url);
    assert_int_equal(count_of(log, line), 1);
    assert_int_equal(count_of(log, "unreachable, trying"), 1);
    free(log);
}

/* The hub first and a dead URL second: nothing fails over, nothing is said about it. */
static void test_failover_preferred_alive(void **state)
{
    const char *others[1];
    struct sync_service_status st;
    char dead[64], *log;
    json_t *a;

    (void)state;
    dead_url(dead, sizeof(dead));
    others[0] = dead;
    cred_with_urls(g.url, others, 1);
    log_capture();
    svc_new_urls(NULL, 0);
    unlock();
    assert_true(wait_for(p_synced_at, hub_last_seq(), 10000, &st));
    a = bus_req(put_req(g.vkey1, V1, W1, 0, "preferred"));
    assert_true(json_is_true(json_object_get(a, "ok")));
    json_decref(a);
    assert_hub_url(g.url);
    svc_end();
    log = log_captured();
    assert_int_equal(count_of(log, "unreachable"), 0);
    free(log);
}

/* A 4xx answer is not a reason to fail over: a replica answering 404 stays current. */
static void test_failover_not_on_4xx(void **state)
{
    struct sync_service_status st;
    struct fake_hub f;
    const char *urls[2];
    char furl[64], *log;

    (void)state;
    fake_start(&f, 404, 0);
    snprintf(furl, sizeof(furl), "http://127.0.0.1:%d", f.fk_port);
    urls[0] = furl;
    urls[1] = g.url;
    log_capture();
    svc_new_urls(urls, 2);
    unlock();
    assert_true(wait_for(p_failed, 3, 10000, &st));
    assert_int_equal(st.sst_synced, 0);
    assert_hub_url(furl);
    svc_end();
    fake_stop(&f);
    assert_true(f.fk_requests >= 3);
    log = log_captured();
    assert_int_equal(count_of(log, "unreachable"), 0);
    free(log);
}

/*
 * Starts a fake replica answering 503 after 600 ms (it holds the engine's exchange, so a
 * write sent at once meets it too; its URL into furl) listed before the real hub, and the
 * service on that list, unlocked.
 */
static void start_behind_503(struct fake_hub *f, char *furl, size_t cap)
{
    const char *urls[2];

    fake_start(f, 503, 600);
    snprintf(furl, cap, "http://127.0.0.1:%d", f->fk_port);
    urls[0] = furl;
    urls[1] = g.url;
    svc_new_urls(urls, 2);
    unlock();
}

/* SESAME_HUB's list (ssc_hub_urls) overrides the credentials file's; a replica answering 503
 * is failed over, and an update caught there is sent again to the next URL (it carries its
 * base version), where it lands. */
static void test_failover_on_503_and_write(void **state)
{
    struct sync_service_status st;
    struct fake_hub f;
    char furl[64], line[256], *log;
    json_t *a;

    (void)state;
    log_capture();
    start_behind_503(&f, furl, sizeof(furl));
    /* sent at once: it meets the 503 replica too (the engine's exchange holds it 600 ms) */
    a = bus_req(put_req(g.vkey1, V1, I1, 1, "updated through the failover"));
    show("put base 1 (503 then the hub)", a);
    assert_true(json_is_true(json_object_get(a, "ok")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "item"), "version")), 2);
    json_decref(a);
    assert_int_equal(hub_version(V1, I1), 2);
    assert_true(wait_for(p_synced_at, hub_last_seq(), 10000, &st));
    assert_hub_url(g.url);
    svc_end();
    fake_stop(&f);
    assert_true(f.fk_requests >= 2); /* the engine's and the write's */
    log = log_captured();
    snprintf(line, sizeof(line), "sync: hub %s unreachable, trying %s", furl, g.url);
    assert_int_equal(count_of(log, line), 1);
    free(log);
}

/*
 * A create (baseVersion 0) whose answer is a 503 is sent again to the next replica too:
 * it carries baseVersion 0, which the hub refuses once the id is used, so a replay of a
 * create that landed could never store it twice (as version 2, with content sealed for 1).
 */
static void test_failover_create(void **state)
{
    struct fake_hub f;
    char furl[64];
    json_t *a;

    (void)state;
    start_behind_503(&f, furl, sizeof(furl));
    a = bus_req(put_req(g.vkey1, V1, W2, 0, "created through the failover"));
    show("put create (503 then the hub)", a);
    assert_true(json_is_true(json_object_get(a, "ok")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "item"), "version")), 1);
    json_decref(a);
    assert_int_equal(hub_version(V1, W2), 1);
    svc_end();
    fake_stop(&f);
    assert_true(f.fk_requests >= 1);
}

/* A pinned hub: every URL of the list must be https://. */
static void test_failover_pinned_list(void **state)
{
    struct sync_service_config sc;
    struct credentials *c = NULL;
    struct sync_service *s = NULL;
    const char *urls[2] = {"https://a.example:7700", "http://b.example:7700"};
    struct buf text;
    char err[256];

    (void)state;
    cred_create(&text, FP64);
    assert_int_equal(credentials_parse(&c, buf_str(&text), text.b_len, err, sizeof(err)), ERR_OK);
    memset(&sc, 0, sizeof(sc));
    sc.ssc_volume = g.vol;
    sc.ssc_cred = c;
    sc.ssc_volume_dir = g.vdir;
    sc.ssc_hub_urls = urls;
    sc.ssc_hub_url_count = 2;
    assert_int_equal(sync_service_new(&s, &sc, err, sizeof(err)), ERR_CONFIG);
    assert_null(s);
    assert_non_null(strstr(err, "tlsFingerprint"));
    sc.ssc_hub_url_count = 1; /* the https one alone is fine */
    assert_int_equal(sync_service_new(&s, &sc, err, sizeof(err)), ERR_OK);
    sync_service_free(s);
    credentials_free(c);
    buf_free(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff),
        cmocka_unit_test_setup_teardown(test_locked, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unlock_syncs, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hub_down_and_back, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_stop_prompt, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restart_resumes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_activity_upload, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fingerprint_refused, fx_setup, fx_teardown),
        cmocka_unit_test(test_write_timeout_bounds),
        cmocka_unit_test_setup_teardown(test_write_locked, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_write_malformed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_write_put, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_write_delete, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_write_forbidden, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_write_hub_down, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_write_during_long_poll, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_write_timeout, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_failover_dead_first, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_failover_preferred_alive, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_failover_not_on_4xx, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_failover_on_503_and_write, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_failover_create, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_failover_pinned_list, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
