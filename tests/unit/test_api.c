/*
 * test_api.c - `sesame api` (src/api/) in-process, with no hub and no sync process: each
 * test makes a temporary directory with a fresh server's credentials file (real keys, a
 * token-signing key of our own), fills the data volume directly through store/volume.h as
 * sync would (vault keys wrapped to the server, attributes, items and files sealed with
 * keys/vaultcrypt.h), starts the api on 127.0.0.1 (OP_HTTP_PORT=0) and talks to it over
 * real HTTP with the project's client. Tokens are minted here (keys/token.h).
 *
 * What is asserted is the Connect contract of docs/connect-api.md: unlocking by the first
 * valid token, every refusal (401/400/403/404/405/413/500) with its exact body, the order
 * of checks, listings and filters, items with TOTP codes, files inline and raw, activity
 * entries, metrics, the watcher (new data, revocations, signing keys, index sharing), the
 * wait for the first sync (OP_SYNC_TIMEOUT), the bus conversation with a fake sync, and a
 * clean stop. The refusal reasons, which the api only logs, are read back from the log.
 *
 * Writes (POST/PUT/PATCH/DELETE) go to the same fake sync, which answers item_put and
 * item_delete as sync does (docs/sync.md "Writes"): it checks the request, opens what the
 * api sealed with the vault key for baseVersion + 1, takes the write only on the stored
 * version (as the hub), applies the record to the volume and answers it - or refuses as
 * the test scripts it (409, another writer first, 403, 404, 502, 503, 504, no answer).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_int.h"
#include "bus/bus.h"
#include "common/alloc.h"
#include "json/filter.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/config.h"
#include "common/ids.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "crypto/ecdsa.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "http/client.h"
#include "json/item.h"
#include "json/timefmt.h"
#include "json/totp.h"
#include "keys/credentials.h"
#include "keys/token.h"
#include "keys/vaultcrypt.h"
#include "store/volume.h"

/* Ids: 26 characters of [a-z0-9] (account and server ids also in uppercase). */
#define SRV      "srvsrvsrvsrvsrvsrvsrvsrvaa"
#define SRV_UP   "SRVSRVSRVSRVSRVSRVSRVSRVAA"
#define OTHER    "othothothothothothothothaa"
#define OTHER_UP "OTHOTHOTHOTHOTHOTHOTHOTHAA"
#define ACCT     "ACCTACCTACCTACCTACCTACCTAA"
#define VA       "vavavavavavavavavavavavava" /* "Production", granted */
#define VB       "vbvbvbvbvbvbvbvbvbvbvbvbvb" /* "Staging", granted */
#define VC       "vcvcvcvcvcvcvcvcvcvcvcvcvc" /* "Hidden", granted, never in a token's scope */
#define VD       "vdvdvdvdvdvdvdvdvdvdvdvdvd" /* a vault record without a grant */
#define VX       "vxvxvxvxvxvxvxvxvxvxvxvxvx" /* in the token's scope, unknown to the volume */
#define IA1      "a1a1a1a1a1a1a1a1a1a1a1a1a1" /* VA: "Database Login", LOGIN, OTP */
#define IA2      "a2a2a2a2a2a2a2a2a2a2a2a2a2" /* VA: "API Key" */
#define IA3      "a3a3a3a3a3a3a3a3a3a3a3a3a3" /* VA: archived */
#define IA4      "a4a4a4a4a4a4a4a4a4a4a4a4a4" /* VA: deleted */
#define IA5      "a5a5a5a5a5a5a5a5a5a5a5a5a5" /* VA: "Documents", three files */
#define IA6      "a6a6a6a6a6a6a6a6a6a6a6a6a6" /* VA: a file whose content is not synced */
#define IA7      "a7a7a7a7a7a7a7a7a7a7a7a7a7" /* VA: put while the api runs */
#define IB1      "b1b1b1b1b1b1b1b1b1b1b1b1b1" /* VB: "Staging DB", one 1 KB file */
#define IC1      "c1c1c1c1c1c1c1c1c1c1c1c1c1" /* VC */
#define IX       "ixixixixixixixixixixixixix" /* unknown */
#define FS       "fsfsfsfsfsfsfsfsfsfsfsfsfs" /* IA5: hello.txt, 13 bytes */
#define FB       "fbfbfbfbfbfbfbfbfbfbfbfbfb" /* IA5: big.bin, 1025 bytes (over 1 KB) */
#define FN       "fnfnfnfnfnfnfnfnfnfnfnfnfn" /* IA5: a non-ASCII name */
#define FP       "fpfpfpfpfpfpfpfpfpfpfpfpfp" /* IA6: content not synced */
#define FC       "fcfcfcfcfcfcfcfcfcfcfcfcfc" /* IB1: notes.txt, exactly 1024 bytes */
#define FX       "fxfxfxfxfxfxfxfxfxfxfxfxfx" /* unknown */
#define JTI_F    "jfjfjfjfjfjfjfjfjfjfjfjfjf" /* the full token */
#define JTI_W    "jwjwjwjwjwjwjwjwjwjwjwjwjw" /* the write-only token */
#define JTI_R    "jrjrjrjrjrjrjrjrjrjrjrjrjr" /* revoked in the volume before the api starts */
#define JTI_2    "j2j2j2j2j2j2j2j2j2j2j2j2j2" /* a second valid token */

#define T0       1700000000LL /* 2023-11-14T22:13:20Z */
#define HUB_URL  "http://127.0.0.1:9"
#define AUTH_MAX 8300
#define HELLO    "hello, world\n"
#define NAME_FN  "r\xc3\xa9sum\xc3\xa9.txt"
#define H_TOKEN  "Invalid bearer token"
#define H_SCOPE  "Authorization: token does not have access to vault"
#define H_READ   "Authorization: token does not have read access to vault"
#define H_INLINE                                                                                   \
    "File is too large to inline in request. Use the "                                             \
    "/v1/vaults/{vaultUUID}/items/{itemUUID}/files/{fileUUID}/content endpoint instead."
#define H_NOT_SYNCED "the file's content is not synced yet; try again shortly"
#define OTP_VALUE                                                                                  \
    "otpauth://totp/Sesame:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Sesame"

_Static_assert(sizeof(SRV) == ID_LEN + 1 && sizeof(SRV_UP) == ID_LEN + 1 &&
                   sizeof(OTHER) == ID_LEN + 1 && sizeof(ACCT) == ID_LEN + 1 &&
                   sizeof(VA) == ID_LEN + 1 && sizeof(IA1) == ID_LEN + 1 &&
                   sizeof(FS) == ID_LEN + 1 && sizeof(JTI_F) == ID_LEN + 1 &&
                   sizeof(IX) == ID_LEN + 1 && sizeof(FX) == ID_LEN + 1,
               "ids are 26 characters");

/* How a test's fixture is made. */
struct fx_params {
    int fp_synced;          /* 1: synced now; 0: never synced; 2: the volume of another server */
    const char *fp_timeout; /* OP_SYNC_TIMEOUT */
    int fp_bus;             /* 1: a fake sync answers on the bus */
};

static struct fx_params p_synced = {1, "1s", 0};
static struct fx_params p_unsynced = {0, "1s", 0};
static struct fx_params p_unsynced_long = {0, "10s", 0};
static struct fx_params p_other_server = {2, "1s", 0};
static struct fx_params p_bus = {1, "1s", 1};

static const struct token_vault vts_full[] = {{VA, TOKEN_ACCESS_ALL},
                                              {VB, TOKEN_ACCESS_READ},
                                              {VD, TOKEN_ACCESS_READ},
                                              {VX, TOKEN_ACCESS_READ}};
static const struct token_vault vts_wo[] = {{VA, TOKEN_ACCESS_WRITE}};

static struct {
    char dir[64];     /* the test's temporary directory */
    char xdg[96];     /* XDG_DATA_HOME */
    char data[128];   /* the volume: XDG_DATA_HOME/.op/data */
    char sock[96];    /* SESAME_BUS_SOCKET */
    char logpath[96]; /* where the api's log lines go */
    FILE *logf;
    struct jwk srv_sign, srv_wrap; /* the server's keys */
    unsigned char *unlock;         /* its unlock secret (secure memory) */
    unsigned char bad_unlock[TOKEN_UNLOCK_BYTES];
    struct jwk k1;       /* token-signing key of the credentials file, kid "k1" */
    struct jwk k2;       /* kid "k2": pushed to the volume by a test */
    struct jwk rogue;    /* kid "rogue": never trusted */
    struct jwk impostor; /* kid "k1", another key */
    struct buf cred;     /* the credentials file */
    unsigned char *vkey[4];
    struct buf fct[5]; /* file ciphertexts: FS FB FN FC FP */
    struct volume *vol;
    struct config cf;
    struct api *api;
    struct http_client *hc;
    struct http_client_response r; /* the last answer */
    int have_r;
    json_t *j; /* the last answer's body, parsed on demand */
    int64_t t_sync;
    char full[AUTH_MAX]; /* "Bearer <token>" of vts_full, jti JTI_F */
    char wo[AUTH_MAX];   /* write-only on VA, jti JTI_W */
    struct bus_server *bus;
    unsigned char *bus_key;
} g;

/* What the fake sync does with a write (the next entry of its script; past the end: FB_OK). */
enum fb_act {
    FB_OK = 0,    /* as sync with the hub: 409 unless baseVersion is the stored version, else
                     stored at baseVersion + 1 and applied to the volume */
    FB_409,       /* 409, nothing changed */
    FB_409_MOVED, /* another writer stores the next version first (applied), then 409 */
    FB_403,
    FB_404,
    FB_502,
    FB_503, /* sync locked */
    FB_504, /* the hub timed out */
    FB_HANG /* no answer until well past timeoutMs */
};

#define FB_MAX_WRITES 32
#define FB_MSG_409    "the item changed concurrently"
#define FB_MSG_403    "the vault is not granted to this server"
#define FB_MSG_404    "the vault or item is not on the hub"
#define FB_MSG_502    "the hub could not be reached: connection refused; nothing was written"
#define FB_MSG_503    "sync is locked"
#define FB_MSG_504                                                                                 \
    "the hub did not answer within 1000 ms (timeout): the write may or may not have been "         \
    "applied; read the item before retrying"

/* The fake sync of the bus tests. */
static struct {
    pthread_mutex_t mu;
    int unlocked;  /* what status says */
    int connected; /* likewise */
    int unlocks;   /* unlock requests received */
    int secret_ok; /* the last one carried this server's unlock secret */
    int statuses;  /* status requests received */
    /* writes (docs/sync.md "Writes") */
    int puts, deletes, activities; /* item_put / item_delete / activity requests received */
    enum fb_act script[FB_MAX_WRITES];
    size_t nscript, next_act;
    int64_t put_base[FB_MAX_WRITES]; /* baseVersion of each item_put */
    int64_t del_base[FB_MAX_WRITES]; /* baseVersion of each item_delete */
    int64_t timeout_ms;              /* timeoutMs of the last write */
    char item[ID_LEN + 1];           /* the last item_put's item */
    char category[ITEM_CATEGORY_MAX];
    json_t *ov, *det;  /* the last item_put's overview and details, opened */
    json_t *other;     /* FB_409_MOVED: the other writer's content (NULL: a default) */
    int64_t now;       /* the hub's clock: times of what it stores */
    int hanging;       /* an FB_HANG answer is still sleeping */
    char problem[256]; /* the first malformed request ("" when none) */
} fb = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- small helpers ------------------------------------------------------------------------ */

/* Returns CLOCK_MONOTONIC in milliseconds. */
static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms milliseconds. */
static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Formats a path into one of a few rotating buffers. */
__attribute__((format(printf, 1, 2))) static const char *P(const char *fmt, ...)
{
    static char ring[4][512];
    static unsigned next;
    char *out = ring[next++ % 4];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, sizeof(ring[0]), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof(ring[0]));
    return out;
}

/* nftw callback removing everything. */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Fails with both texts unless actual equals expected (expected is released). */
static void assert_json_eq(const json_t *actual, json_t *expected)
{
    assert_non_null(expected);
    if (!actual || !json_equal(actual, expected)) {
        char *a = actual ? json_dumps(actual, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        char *e = json_dumps(expected, JSON_COMPACT | JSON_SORT_KEYS);

        print_error("actual:   %s\nexpected: %s\n", a ? a : "(null)", e ? e : "(null)");
        free(a);
        free(e);
        json_decref(expected);
        fail();
    }
    json_decref(expected);
}

/* Returns the RFC 3339 text of t (one of a few rotating buffers). */
static const char *ts(int64_t t)
{
    static char ring[4][TIMEFMT_RFC3339_LEN + 1];
    static unsigned next;
    char *out = ring[next++ % 4];

    assert_int_equal(timefmt_rfc3339(out, t), ERR_OK);
    return out;
}

/* ---- the log ---------------------------------------------------------------------------- */

/* Returns the current size of the log (a mark for log_since). */
static long log_mark(void)
{
    struct stat st;

    assert_int_equal(stat(g.logpath, &st), 0);
    return (long)st.st_size;
}

/* Returns 1 if the log written since mark contains needle. */
static int log_since(long mark, const char *needle)
{
    static char text[1 << 20];
    FILE *f = fopen(g.logpath, "r");
    size_t n;

    assert_non_null(f);
    assert_int_equal(fseek(f, mark, SEEK_SET), 0);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    return strstr(text, needle) != NULL;
}

/* ---- HTTP ----------------------------------------------------------------------------------- */

/* Forgets the last answer. */
static void resp_clear(void)
{
    if (g.have_r)
        http_client_response_free(&g.r);
    g.have_r = 0;
    json_decref(g.j);
    g.j = NULL;
}

/* Sends a request (auth: the whole Authorization value or NULL; ua: a User-Agent or NULL)
 * and returns the status. The answer stays in g.r. */
static int http(enum http_client_method m, const char *path, const char *auth, const char *ua)
{
    struct http_client_header hh[2];
    struct http_client_request rq;
    size_t nh = 0;

    resp_clear();
    if (auth) {
        hh[nh].hh_name = "Authorization";
        hh[nh++].hh_value = auth;
    }
    if (ua) {
        hh[nh].hh_name = "User-Agent";
        hh[nh++].hh_value = ua;
    }
    memset(&rq, 0, sizeof(rq));
    rq.hq_method = m;
    rq.hq_path = path;
    rq.hq_headers = hh;
    rq.hq_nheaders = nh;
    assert_int_equal(http_client_request(g.hc, &rq, &g.r), ERR_OK);
    g.have_r = 1;
    return g.r.hr_status;
}

/* GET path with an Authorization value (or NULL). */
static int get(const char *path, const char *auth)
{
    return http(HTTP_CLIENT_GET, path, auth, NULL);
}

/* Returns the last answer's body parsed as JSON (owned by g). */
static const json_t *J(void)
{
    if (!g.j && g.r.hr_body.b_len)
        g.j = json_loadb(g.r.hr_body.b_data, g.r.hr_body.b_len, 0, NULL);
    return g.j;
}

/* Returns the last answer's body text ("" when empty). */
static const char *body(void)
{
    return g.r.hr_body.b_data ? g.r.hr_body.b_data : "";
}

/* Returns a header of the last answer, or NULL. */
static const char *hdr(const char *name)
{
    return http_client_response_header(&g.r, name);
}

/* Checks that the last answer is the Connect error {status, message}. */
static void assert_error(int status, const char *message)
{
    if (g.r.hr_status != status)
        print_error("status %d, body %s\n", g.r.hr_status, body());
    assert_int_equal(g.r.hr_status, status);
    assert_string_equal(hdr("Content-Type"), "application/json");
    assert_json_eq(J(), json_pack("{s:i, s:s}", "status", status, "message", message));
    assert_string_equal(hdr("1Password-Connect-Version"), "1.8.1");
}

/* GET path with auth and checks the Connect error answered. */
static void expect_error(const char *path, const char *auth, int status, const char *message)
{
    (void)get(path, auth);
    assert_error(status, message);
}

/* Polls GET path until it answers status (up to ms). Returns the milliseconds it took, or -1. */
static int64_t wait_status(const char *path, const char *auth, int status, int ms)
{
    int64_t start = now_ms();

    for (;;) {
        if (get(path, auth) == status)
            return now_ms() - start;
        if (now_ms() - start > ms)
            return -1;
        nap(10);
    }
}

/* Returns the ids of the JSON array of objects in the last answer, comma-separated. */
static const char *ids(void)
{
    static char out[1024];
    const json_t *e;
    size_t i, o = 0;

    out[0] = '\0';
    assert_true(json_is_array(J()));
    json_array_foreach(J(), i, e)
    {
        int n = snprintf(out + o, sizeof(out) - o, "%s%s", i ? "," : "",
                         json_string_value(json_object_get(e, "id")));

        assert_true(n > 0 && (size_t)n < sizeof(out) - o);
        o += (size_t)n;
    }
    return out;
}

/* ---- /health and /metrics --------------------------------------------------------------- */

/* Returns the dependency service of the last /health answer. */
static const json_t *dep(const char *service)
{
    const json_t *d;
    size_t i;

    json_array_foreach(json_object_get(J(), "dependencies"), i, d)
    {
        if (strcmp(json_string_value(json_object_get(d, "service")), service) == 0)
            return d;
    }
    fail_msg("no dependency %s", service);
    return NULL;
}

/* Returns the status of dependency service in a fresh GET /health (auth may be NULL). */
static const char *health(const char *service, const char *auth)
{
    assert_int_equal(get("/health", auth), 200);
    return json_string_value(json_object_get(dep(service), "status"));
}

/* Returns the message of dependency service of the last /health answer, or NULL. */
static const char *dep_msg(const char *service)
{
    return json_string_value(json_object_get(dep(service), "message"));
}

/* Returns the value of a series ("name{labels}") in a fresh GET /metrics, or -1. */
static long long metric(const char *series)
{
    const char *t, *p;
    size_t n = strlen(series);

    assert_int_equal(get("/metrics", NULL), 200);
    t = body();
    for (p = strstr(t, series); p; p = strstr(p + 1, series)) {
        if ((p == t || p[-1] == '\n') && p[n] == ' ') {
            char *end;
            long long v = strtoll(p + n + 1, &end, 10);

            assert_true(*end == '\n');
            return v;
        }
    }
    return -1;
}

/* Polls /metrics until series has value want (up to 2 s); returns 1 if it did. */
static int metric_wait(const char *series, long long want)
{
    int64_t start = now_ms();

    while (now_ms() - start < 2000) {
        if (metric(series) == want)
            return 1;
        nap(10);
    }
    print_error("%s is %lld, not %lld\n", series, metric(series), want);
    return 0;
}

/* A request sent from another thread (a client waiting for the api). */
struct waiter {
    int w_port;
    const char *w_path;
    const char *w_auth;
    int w_status;       /* OUT */
    char w_body[16384]; /* OUT */
    int64_t w_elapsed;  /* OUT: milliseconds */
};

/* Thread: sends one GET with its own client. */
static void *waiter_run(void *arg)
{
    struct waiter *w = arg;
    struct http_client_config cc;
    struct http_client_header hh = {"Authorization", w->w_auth};
    struct http_client_request rq;
    struct http_client_response resp;
    struct http_client *c = NULL;
    char url[64];
    int64_t t = now_ms();

    (void)snprintf(url, sizeof(url), "http://127.0.0.1:%d", w->w_port);
    memset(&cc, 0, sizeof(cc));
    cc.hcc_base_url = url;
    cc.hcc_proxy = "";
    cc.hcc_timeout_ms = 30000;
    memset(&rq, 0, sizeof(rq));
    rq.hq_method = HTTP_CLIENT_GET;
    rq.hq_path = w->w_path;
    rq.hq_headers = &hh;
    rq.hq_nheaders = 1;
    if (http_client_new(&c, &cc, NULL, 0) == ERR_OK &&
        http_client_request(c, &rq, &resp) == ERR_OK) {
        w->w_status = resp.hr_status;
        (void)snprintf(w->w_body, sizeof(w->w_body), "%s",
                       resp.hr_body.b_data ? resp.hr_body.b_data : "");
        http_client_response_free(&resp);
    }
    w->w_elapsed = now_ms() - t;
    http_client_free(c);
    return NULL;
}

/* Waits until n requests are suspended in the api's server (up to 2 s). */
static void wait_waiting(size_t n)
{
    int64_t start = now_ms();

    while (http_server_waiting(g.api->ap_srv) != n) {
        assert_true(now_ms() - start < 2000);
        nap(5);
    }
}

/* ---- tokens ------------------------------------------------------------------------------- */

/* What a test token says; zero members take the defaults of a valid full token. */
struct tok {
    const struct jwk *t_key;       /* default g.k1 */
    const char *t_server;          /* default SRV_UP */
    const char *t_jti;             /* default JTI_F */
    int64_t t_iat;                 /* default now - 10 */
    int64_t t_exp;                 /* default none */
    const unsigned char *t_secret; /* default g.unlock */
    const struct token_vault *t_vts;
    size_t t_nvts; /* with t_vts NULL: vts_full */
};

/* Mints t and writes "Bearer <token>" to auth. */
static void mint(char auth[AUTH_MAX], const struct tok *t)
{
    const struct jwk *key = t->t_key ? t->t_key : &g.k1;
    const struct token_vault *vts = t->t_vts ? t->t_vts : vts_full;
    size_t i, nvts = t->t_vts ? t->t_nvts : sizeof(vts_full) / sizeof(vts_full[0]);
    struct token_claims c;
    struct buf b;
    int n;

    memset(&c, 0, sizeof(c));
    memcpy(c.tc_server, t->t_server ? t->t_server : SRV_UP, ID_LEN + 1);
    memcpy(c.tc_jti, t->t_jti ? t->t_jti : JTI_F, ID_LEN + 1);
    memcpy(c.tc_account, ACCT, ID_LEN + 1);
    c.tc_iat = t->t_iat ? t->t_iat : (int64_t)time(NULL) - 10;
    c.tc_exp = t->t_exp;
    for (i = 0; i < nvts; i++)
        c.tc_vaults[i] = vts[i];
    c.tc_nvaults = nvts;
    assert_int_equal(
        token_claims_set_secret(&c, t->t_secret ? t->t_secret : g.unlock, TOKEN_UNLOCK_BYTES),
        ERR_OK);
    buf_init(&b, AUTH_MAX);
    assert_int_equal(token_mint(&b, key->jk_ec, key->jk_kid, &c), ERR_OK);
    n = snprintf(auth, AUTH_MAX, "Bearer %s", buf_str(&b));
    assert_true(n > 0 && n < AUTH_MAX);
    token_claims_clear(&c);
    buf_free(&b);
}

/* Mints a valid token with jti and scope vts (n entries). */
static void mint_scoped(char auth[AUTH_MAX], const char *jti, const struct token_vault *vts,
                        size_t n)
{
    struct tok t;

    memset(&t, 0, sizeof(t));
    t.t_jti = jti;
    t.t_vts = vts;
    t.t_nvts = n;
    mint(auth, &t);
}

/* Unlocks the api with the full token on /health. */
static void unlock_api(void)
{
    assert_string_equal(health("1Password", g.full), "ACTIVE");
    assert_true(metric_wait("sesame_connect_vaults", 3));
}

/* ---- the volume --------------------------------------------------------------------------- */

/* Makes a P-256 token-signing key with kid. */
static void signing_key(struct jwk *k, const char *kid)
{
    memset(k, 0, sizeof(*k));
    k->jk_kind = JWK_EC_P256;
    assert_true(strlen(kid) < sizeof(k->jk_kid));
    memcpy(k->jk_kid, kid, strlen(kid) + 1);
    assert_int_equal(ecdsa_p256_generate(&k->jk_ec), ERR_OK);
}

/* Puts vault id (sealed attributes name, description) and, if grant, its grant. */
static void put_vault(struct volume_tx *tx, const char *id, const unsigned char *key,
                      const char *name, const char *desc, int64_t created, int grant)
{
    json_t *attrs = json_pack("{s:s, s:s}", "name", name, "description", desc);
    struct volume_vault vv;
    struct volume_grant vg;
    struct buf ct, wr;

    buf_init(&ct, 1 << 16);
    buf_init(&wr, 4096);
    assert_int_equal(vaultcrypt_attrs_seal(&ct, key, id, attrs), ERR_OK);
    memset(&vv, 0, sizeof(vv));
    memcpy(vv.vv_id, id, ID_LEN + 1);
    memcpy(vv.vv_type, "USER_CREATED", sizeof("USER_CREATED"));
    vv.vv_attrs_ct = (const unsigned char *)ct.b_data;
    vv.vv_attrs_ct_len = ct.b_len;
    vv.vv_attribute_version = 1;
    vv.vv_content_version = 1;
    vv.vv_created_at = created;
    vv.vv_updated_at = created;
    assert_int_equal(volume_tx_vault_put(tx, &vv), ERR_OK);
    if (grant) {
        assert_int_equal(vaultcrypt_wrap(&wr, key, VAULTCRYPT_KEY_BYTES, &g.srv_wrap), ERR_OK);
        memset(&vg, 0, sizeof(vg));
        memcpy(vg.vg_vault, id, ID_LEN + 1);
        vg.vg_key_wrapped = (const unsigned char *)wr.b_data;
        vg.vg_key_wrapped_len = wr.b_len;
        vg.vg_created_at = created;
        assert_int_equal(volume_tx_grant_put(tx, &vg), ERR_OK);
    }
    json_decref(attrs);
    buf_free(&ct);
    buf_free(&wr);
}

/* Puts version ver of an item whose content (stolen) is sealed with key. */
static void put_item(struct volume_tx *tx, const unsigned char *key, const char *vault,
                     const char *id, uint64_t ver, const char *state, const char *category,
                     json_t *content, int64_t created, int64_t updated)
{
    json_t *ov = NULL, *det = NULL;
    struct volume_item vi;
    struct buf b1, b2;

    assert_non_null(content);
    assert_int_equal(item_content_split(content, &ov, &det), ERR_OK);
    buf_init(&b1, 1 << 20);
    buf_init(&b2, 1 << 20);
    assert_int_equal(vaultcrypt_item_seal(&b1, key, vault, id, ver, VAULTCRYPT_OVERVIEW, ov),
                     ERR_OK);
    assert_int_equal(vaultcrypt_item_seal(&b2, key, vault, id, ver, VAULTCRYPT_DETAILS, det),
                     ERR_OK);
    memset(&vi, 0, sizeof(vi));
    memcpy(vi.vi_id, id, ID_LEN + 1);
    memcpy(vi.vi_vault, vault, ID_LEN + 1);
    vi.vi_version = ver;
    (void)snprintf(vi.vi_state, sizeof(vi.vi_state), "%s", state);
    (void)snprintf(vi.vi_category, sizeof(vi.vi_category), "%s", category);
    vi.vi_overview = (const unsigned char *)b1.b_data;
    vi.vi_overview_len = b1.b_len;
    vi.vi_details = (const unsigned char *)b2.b_data;
    vi.vi_details_len = b2.b_len;
    vi.vi_created_at = created;
    vi.vi_updated_at = updated;
    memcpy(vi.vi_last_edited_by, ACCT, ID_LEN + 1);
    assert_int_equal(volume_tx_item_put(tx, &vi), ERR_OK);
    json_decref(ov);
    json_decref(det);
    json_decref(content);
    buf_free(&b1);
    buf_free(&b2);
}

/* Records file id of vault (len bytes of data sealed with key into ct, for later). */
static void put_file(struct volume_tx *tx, const unsigned char *key, const char *vault,
                     const char *id, const void *data, size_t len, struct buf *ct)
{
    struct volume_file vf;

    buf_init(ct, 1 << 20);
    assert_int_equal(vaultcrypt_file_seal(ct, key, vault, id, data, len), ERR_OK);
    memset(&vf, 0, sizeof(vf));
    memcpy(vf.vf_id, id, ID_LEN + 1);
    memcpy(vf.vf_vault, vault, ID_LEN + 1);
    vf.vf_size = len;
    assert_int_equal(hash_sha256(vf.vf_sha256, ct->b_data, ct->b_len), ERR_OK);
    vf.vf_created_at = T0;
    assert_int_equal(volume_tx_file_put(tx, &vf), ERR_OK);
}

/* The bytes of FB (1025) and FC (1024). */
static void pattern(unsigned char *p, size_t n, unsigned mul)
{
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (unsigned char)((i * mul + 3) & 0xff);
}

/* The content of IA1 (the login with an OTP field). */
static json_t *content_ia1(void)
{
    return json_pack(
        "{s:s, s:[s,s], s:[{s:s, s:b}], s:[{s:s, s:s}], s:[{s:s, s:s, s:s, s:s, s:s},"
        " {s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:{s:s}}]}",
        "title", "Database Login", "tags", "db", "Prod", "urls", "href", "https://db.example.com",
        "primary", 1, "sections", "id", "sec1", "label", "Extra", "fields", "id", "username",
        "type", "STRING", "purpose", "USERNAME", "label", "username", "value", "alice", "id",
        "password", "type", "CONCEALED", "purpose", "PASSWORD", "label", "password", "value",
        "s3cr3t!", "id", "otp", "type", "OTP", "label", "one-time password", "value", OTP_VALUE,
        "id", "port", "type", "STRING", "label", "port", "value", "5432", "section", "id", "sec1");
}

/* A simple content: title, tags (comma-separated, may be ""), one field. */
static json_t *content_simple(const char *title, const char *tags, const char *value)
{
    json_t *c = json_pack("{s:s, s:[{s:s, s:s, s:s, s:s}]}", "title", title, "fields", "id",
                          "notes", "type", "STRING", "label", "notes", "value", value);
    json_t *arr = json_array();
    char copy[128];
    char *p, *q;

    (void)snprintf(copy, sizeof(copy), "%s", tags);
    for (p = copy; *p; p = q) {
        q = strchr(p, ',');
        if (q)
            *q++ = '\0';
        else
            q = p + strlen(p);
        json_array_append_new(arr, json_string(p));
    }
    if (json_array_size(arr))
        json_object_set_new(c, "tags", arr);
    else
        json_decref(arr);
    return c;
}

/* A content with files: entries are {id, name, size}. */
static json_t *content_files(const char *title, json_t *files)
{
    return json_pack("{s:s, s:o}", "title", title, "files", files);
}

/* Fills the volume as sync would after a first sync (synced 1), or without one (0), or as
 * the volume of another server (2). */
static void populate(int synced)
{
    static const char *const fvault[] = {VA, VA, VA, VB}, *const fid[] = {FS, FB, FN, FC};
    unsigned char big[1025], kb[1024];
    struct volume_tx *tx = NULL;
    struct volume_signing_key vk;
    char *jwk_text;
    json_t *pub;
    size_t i;

    for (i = 0; i < 4; i++)
        assert_int_equal(vaultcrypt_key_generate(&g.vkey[i]), ERR_OK);
    pattern(big, sizeof(big), 7);
    pattern(kb, sizeof(kb), 1);
    assert_int_equal(volume_tx_begin(g.vol, &tx), ERR_OK);
    assert_int_equal(volume_tx_set_identity(tx, ACCT, synced == 2 ? OTHER : SRV, HUB_URL), ERR_OK);
    put_vault(tx, VA, g.vkey[0], "Production", "prod secrets", T0, 1);
    put_vault(tx, VB, g.vkey[1], "Staging", "", T0 + 1, 1);
    put_vault(tx, VC, g.vkey[2], "Hidden", "", T0 + 2, 1);
    put_vault(tx, VD, g.vkey[3], "Ungranted", "", T0 + 3, 0);
    put_item(tx, g.vkey[0], VA, IA1, 1, "", "LOGIN", content_ia1(), T0 + 10, T0 + 20);
    put_item(tx, g.vkey[0], VA, IA2, 1, "", "API_CREDENTIAL",
             content_simple("API Key", "api", "key-1"), T0 + 11, T0 + 11);
    put_item(tx, g.vkey[0], VA, IA3, 1, "ARCHIVED", "LOGIN",
             content_simple("Old thing", "db", "old"), T0 + 12, T0 + 30);
    put_item(tx, g.vkey[0], VA, IA4, 1, "", "LOGIN", content_simple("Gone", "", "gone"), T0 + 13,
             T0 + 13);
    assert_int_equal(volume_tx_item_delete(tx, VA, IA4, 2, T0 + 40, ACCT), ERR_OK);
    put_item(tx, g.vkey[0], VA, IA5, 1, "", "DOCUMENT",
             content_files("Documents", json_pack("[{s:s, s:s, s:i}, {s:s, s:s, s:i}, {s:s, s:s, "
                                                  "s:i}]",
                                                  "id", FS, "name", "hello.txt", "size", 13, "id",
                                                  FB, "name", "big.bin", "size", 1025, "id", FN,
                                                  "name", NAME_FN, "size", 3)),
             T0 + 14, T0 + 14);
    put_item(tx, g.vkey[0], VA, IA6, 1, "", "SECURE_NOTE",
             content_files("Pending file", json_pack("[{s:s, s:s, s:i}]", "id", FP, "name",
                                                     "later.txt", "size", 4)),
             T0 + 15, T0 + 15);
    put_item(tx, g.vkey[1], VB, IB1, 1, "", "LOGIN",
             content_files("Staging DB", json_pack("[{s:s, s:s, s:i}]", "id", FC, "name",
                                                   "notes.txt", "size", 1024)),
             T0 + 16, T0 + 16);
    put_item(tx, g.vkey[2], VC, IC1, 1, "", "LOGIN", content_simple("Hidden thing", "", "h"),
             T0 + 17, T0 + 17);
    put_file(tx, g.vkey[0], VA, FS, HELLO, 13, &g.fct[0]);
    put_file(tx, g.vkey[0], VA, FB, big, sizeof(big), &g.fct[1]);
    put_file(tx, g.vkey[0], VA, FN, "cv\n", 3, &g.fct[2]);
    put_file(tx, g.vkey[1], VB, FC, kb, sizeof(kb), &g.fct[3]);
    put_file(tx, g.vkey[0], VA, FP, "soon", 4, &g.fct[4]);
    /* the credentials' key as the hub lists it too (active) */
    pub = jwk_to_json(&g.k1, 0);
    jwk_text = json_dumps(pub, JSON_COMPACT);
    memset(&vk, 0, sizeof(vk));
    memcpy(vk.vk_kid, "k1", 3);
    vk.vk_public_jwk = jwk_text;
    vk.vk_created_at = T0;
    assert_int_equal(volume_tx_signing_key_put(tx, &vk), ERR_OK);
    assert_int_equal(volume_tx_token_revoke(tx, JTI_R, T0 + 50), ERR_OK);
    assert_int_equal(volume_tx_set_last_seq(tx, 42), ERR_OK);
    if (synced) {
        g.t_sync = (int64_t)time(NULL);
        assert_int_equal(volume_tx_set_sync_time(tx, g.t_sync), ERR_OK);
    }
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    free(jwk_text);
    json_decref(pub);
    /* the contents sync has fetched: all but FP's ("not synced yet") */
    for (i = 0; i < 4; i++)
        assert_int_equal(volume_file_content_put(g.vol, fvault[i], fid[i],
                                                 (const unsigned char *)g.fct[i].b_data,
                                                 g.fct[i].b_len),
                         ERR_OK);
}

/* ---- the fake sync on the bus ----------------------------------------------------------- */

/* Notes the first malformed request (fb.mu held); the tests check fb.problem is "". */
static void fb_problem(const char *what)
{
    if (!fb.problem[0])
        (void)snprintf(fb.problem, sizeof(fb.problem), "%s", what);
}

/* Answers a refused write as sync does: {"ok":false,"status":N,"message":...}. */
static enum err fb_refuse(struct bus_msg *resp, int status, const char *message)
{
    resp->bm_json = json_pack("{s:b, s:i, s:s}", "ok", 0, "status", status, "message", message);
    return resp->bm_json ? ERR_OK : ERR_NOMEM;
}

/* Returns the key of a vault of the volume, or NULL. */
static const unsigned char *fb_vault_key(const char *vault)
{
    static const char *const vids[] = {VA, VB, VC, VD};
    size_t i;

    for (i = 0; vault && i < 4; i++) {
        if (strcmp(vault, vids[i]) == 0)
            return g.vkey[i];
    }
    return NULL;
}

/* Decodes member name of o, unpadded base64url, into *out (mem_free) of *len bytes. Returns
 * 0 when it is not exactly that. */
static int fb_b64(const json_t *o, const char *name, unsigned char **out, size_t *len)
{
    const char *t = json_string_value(json_object_get(o, name));
    size_t n = t ? strlen(t) : 0;

    *out = NULL;
    *len = 0;
    if (!t || n == 0 || !(*out = mem_alloc(codec_b64_decoded_max(n) + 1)))
        return 0;
    if (codec_b64_decode(*out, codec_b64_decoded_max(n) + 1, len, t, n, CODEC_B64_URL) != ERR_OK) {
        mem_free(*out);
        *out = NULL;
        return 0;
    }
    return 1;
}

/* Stores an item version on the volume as sync applies the hub's record. */
static enum err fb_store(const char *vault, const char *item, uint64_t version,
                         const char *category, const unsigned char *ov, size_t ovlen,
                         const unsigned char *det, size_t detlen, int64_t created, int64_t updated,
                         const char *editor)
{
    struct volume_tx *tx = NULL;
    struct volume_item vi;
    enum err rc;

    memset(&vi, 0, sizeof(vi));
    (void)snprintf(vi.vi_id, sizeof(vi.vi_id), "%s", item);
    (void)snprintf(vi.vi_vault, sizeof(vi.vi_vault), "%s", vault);
    vi.vi_version = version;
    (void)snprintf(vi.vi_category, sizeof(vi.vi_category), "%s", category);
    vi.vi_overview = ov;
    vi.vi_overview_len = ovlen;
    vi.vi_details = det;
    vi.vi_details_len = detlen;
    vi.vi_created_at = created;
    vi.vi_updated_at = updated;
    (void)snprintf(vi.vi_last_edited_by, sizeof(vi.vi_last_edited_by), "%s", editor);
    rc = volume_tx_begin(g.vol, &tx);
    if (rc == ERR_OK && (rc = volume_tx_item_put(tx, &vi)) == ERR_OK)
        return volume_tx_commit(tx);
    volume_tx_rollback(tx);
    return rc;
}

/* Reads the stored version of a live item (0 when there is none) and its creation time. */
static uint64_t fb_current(const char *vault, const char *item, int64_t *created, char *category,
                           size_t cap)
{
    struct volume_item vi;
    uint64_t v = 0;

    memset(&vi, 0, sizeof(vi));
    *created = 0;
    if (category)
        category[0] = '\0';
    if (volume_item_get(g.vol, vault, item, &vi) == ERR_OK) {
        v = vi.vi_version;
        *created = vi.vi_created_at;
        if (category)
            (void)snprintf(category, cap, "%s", vi.vi_category);
    }
    volume_item_clear(&vi);
    return v;
}

/* FB_409_MOVED: another writer stores version current + 1 of item (content fb.other). */
static enum err fb_other_writer(const char *vault, const char *item)
{
    const unsigned char *key = fb_vault_key(vault);
    char category[VOLUME_CATEGORY_MAX];
    json_t *content =
        fb.other ? json_incref(fb.other) : content_simple("Changed elsewhere", "", "theirs");
    json_t *ov = NULL, *det = NULL;
    int64_t created;
    uint64_t cur = fb_current(vault, item, &created, category, sizeof(category));
    struct buf b1, b2;
    enum err rc;

    buf_init(&b1, 1 << 20);
    buf_init(&b2, 1 << 20);
    rc = cur && key ? item_content_split(content, &ov, &det) : ERR_NOT_FOUND;
    if (rc == ERR_OK)
        rc = vaultcrypt_item_seal(&b1, key, vault, item, cur + 1, VAULTCRYPT_OVERVIEW, ov);
    if (rc == ERR_OK)
        rc = vaultcrypt_item_seal(&b2, key, vault, item, cur + 1, VAULTCRYPT_DETAILS, det);
    if (rc == ERR_OK)
        rc = fb_store(vault, item, cur + 1, category, (const unsigned char *)b1.b_data, b1.b_len,
                      (const unsigned char *)b2.b_data, b2.b_len, created, fb.now, ACCT);
    json_decref(content);
    json_decref(ov);
    json_decref(det);
    buf_free(&b1);
    buf_free(&b2);
    return rc;
}

/* Takes the next action of the script (fb.mu held). */
static enum fb_act fb_next_act(void)
{
    return fb.next_act < fb.nscript ? fb.script[fb.next_act++] : FB_OK;
}

/*
 * The refusals every write shares (fb.mu held): answers act's refusal and returns 1, or
 * returns 0 for FB_OK. FB_HANG sleeps (fb.mu released) until well past timeoutMs.
 */
static int fb_act_refusal(enum fb_act act, const char *vault, const char *item,
                          struct bus_msg *resp, enum err *rc)
{
    switch (act) {
    case FB_OK:
        return 0;
    case FB_409_MOVED:
        if (fb_other_writer(vault, item) != ERR_OK)
            fb_problem("FB_409_MOVED: the other writer's version was not stored");
        *rc = fb_refuse(resp, 409, FB_MSG_409);
        return 1;
    case FB_409:
        *rc = fb_refuse(resp, 409, FB_MSG_409);
        return 1;
    case FB_403:
        *rc = fb_refuse(resp, 403, FB_MSG_403);
        return 1;
    case FB_404:
        *rc = fb_refuse(resp, 404, FB_MSG_404);
        return 1;
    case FB_502:
        *rc = fb_refuse(resp, 502, FB_MSG_502);
        return 1;
    case FB_503:
        *rc = fb_refuse(resp, 503, FB_MSG_503);
        return 1;
    case FB_504:
        *rc = fb_refuse(resp, 504, FB_MSG_504);
        return 1;
    case FB_HANG:
    default: {
        int ms = (int)fb.timeout_ms + 1500;

        fb.hanging = 1;
        pthread_mutex_unlock(&fb.mu);
        nap(ms);
        pthread_mutex_lock(&fb.mu);
        fb.hanging = 0;
        *rc = fb_refuse(resp, 504, FB_MSG_504);
        return 1;
    }
    }
}

/* Checks the members every write carries (fb.mu held); returns 0 after noting a problem. */
static int fb_write_target(const json_t *req, const char **vault, const char **item, int64_t *base)
{
    const json_t *jb = json_object_get(req, "baseVersion"), *jt = json_object_get(req, "timeoutMs");

    *vault = json_string_value(json_object_get(req, "vault"));
    *item = json_string_value(json_object_get(req, "item"));
    *base = json_integer_value(jb);
    if (!*vault || !id_is_valid(*vault) || !*item || !id_is_valid(*item)) {
        fb_problem("a write without valid vault and item ids");
        return 0;
    }
    if (!json_is_integer(jb) || *base < 0) {
        fb_problem("a write without an integer baseVersion");
        return 0;
    }
    if (!json_is_integer(jt) || json_integer_value(jt) <= 0 ||
        json_integer_value(jt) > (json_int_t)g.cf.cf_sync_timeout_ms) {
        fb_problem("a write without a timeoutMs within OP_SYNC_TIMEOUT");
        return 0;
    }
    fb.timeout_ms = (int64_t)json_integer_value(jt);
    return 1;
}

/* {"op":"item_put"}: checks and opens what the api sealed, then answers as sync does. */
static enum err fb_item_put(const json_t *req, struct bus_msg *resp)
{
    const char *vault, *item, *cat = json_string_value(json_object_get(req, "category"));
    const char *state = json_string_value(json_object_get(req, "state"));
    const unsigned char *key;
    unsigned char *ov = NULL, *det = NULL;
    size_t ovlen = 0, detlen = 0;
    json_t *o_ov = NULL, *o_det = NULL;
    int64_t base = 0, created = 0;
    uint64_t cur;
    enum err rc = ERR_OK;

    pthread_mutex_lock(&fb.mu);
    fb.puts++;
    if (!fb_write_target(req, &vault, &item, &base)) {
        rc = fb_refuse(resp, 400, "item_put: malformed");
        goto out;
    }
    if (fb.puts <= FB_MAX_WRITES)
        fb.put_base[fb.puts - 1] = base;
    key = fb_vault_key(vault);
    if (!key || !cat || !*cat || !state || *state || !fb_b64(req, "overview", &ov, &ovlen) ||
        !fb_b64(req, "details", &det, &detlen)) {
        fb_problem("item_put: unknown vault, no category, a state, or parts not base64url");
        rc = fb_refuse(resp, 400, "item_put: malformed");
        goto out;
    }
    /* sealed for the version the item will get */
    if (vaultcrypt_item_open(&o_ov, key, vault, item, (uint64_t)base + 1, VAULTCRYPT_OVERVIEW, ov,
                             ovlen) != ERR_OK ||
        vaultcrypt_item_open(&o_det, key, vault, item, (uint64_t)base + 1, VAULTCRYPT_DETAILS, det,
                             detlen) != ERR_OK) {
        fb_problem("item_put: the parts do not open for baseVersion + 1");
        rc = fb_refuse(resp, 400, "item_put: does not open");
        goto out;
    }
    json_decref(fb.ov);
    json_decref(fb.det);
    fb.ov = o_ov;
    fb.det = o_det;
    o_ov = o_det = NULL;
    (void)snprintf(fb.item, sizeof(fb.item), "%s", item);
    (void)snprintf(fb.category, sizeof(fb.category), "%s", cat);
    if (fb_act_refusal(fb_next_act(), vault, item, resp, &rc))
        goto out;
    /* the hub takes it only on the stored version */
    cur = fb_current(vault, item, &created, NULL, 0);
    if (cur != (uint64_t)base) {
        rc = fb_refuse(resp, 409, FB_MSG_409);
        goto out;
    }
    if (base == 0)
        created = fb.now;
    if (fb_store(vault, item, (uint64_t)base + 1, cat, ov, ovlen, det, detlen, created, fb.now,
                 SRV_UP) != ERR_OK) {
        fb_problem("item_put: the volume did not take the record");
        rc = fb_refuse(resp, 500, "volume");
        goto out;
    }
    resp->bm_json = json_pack(
        "{s:b, s:{s:s, s:s, s:s, s:s, s:O, s:O, s:I, s:I, s:I, s:s}}", "ok", 1, "item", "id", item,
        "vault", vault, "category", cat, "state", "", "overview", json_object_get(req, "overview"),
        "details", json_object_get(req, "details"), "version", (json_int_t)base + 1, "createdAt",
        (json_int_t)created, "updatedAt", (json_int_t)fb.now, "lastEditedBy", SRV_UP);
    rc = resp->bm_json ? ERR_OK : ERR_NOMEM;
out:
    pthread_mutex_unlock(&fb.mu);
    json_decref(o_ov);
    json_decref(o_det);
    mem_free(ov);
    mem_free(det);
    return rc;
}

/* {"op":"item_delete"}: answers as sync does, applying the deletion to the volume. */
static enum err fb_item_delete(const json_t *req, struct bus_msg *resp)
{
    struct volume_tx *tx = NULL;
    const char *vault, *item;
    int64_t base = 0, created = 0;
    enum err rc = ERR_OK;

    pthread_mutex_lock(&fb.mu);
    fb.deletes++;
    if (!fb_write_target(req, &vault, &item, &base) || base < 1) {
        fb_problem("item_delete: malformed");
        rc = fb_refuse(resp, 400, "item_delete: malformed");
        goto out;
    }
    if (fb.deletes <= FB_MAX_WRITES)
        fb.del_base[fb.deletes - 1] = base;
    if (fb_act_refusal(fb_next_act(), vault, item, resp, &rc))
        goto out;
    if (fb_current(vault, item, &created, NULL, 0) != (uint64_t)base) {
        rc = fb_refuse(resp, 409, FB_MSG_409);
        goto out;
    }
    if (volume_tx_begin(g.vol, &tx) != ERR_OK ||
        volume_tx_item_delete(tx, vault, item, (uint64_t)base + 1, fb.now, SRV_UP) != ERR_OK ||
        volume_tx_commit(tx) != ERR_OK) {
        volume_tx_rollback(tx);
        fb_problem("item_delete: the volume did not take the deletion");
        rc = fb_refuse(resp, 500, "volume");
        goto out;
    }
    resp->bm_json = json_pack("{s:b, s:I}", "ok", 1, "version", (json_int_t)base + 1);
    rc = resp->bm_json ? ERR_OK : ERR_NOMEM;
out:
    pthread_mutex_unlock(&fb.mu);
    return rc;
}

/* Forgets what the fake sync knows of writes. */
static void fb_write_reset(void)
{
    pthread_mutex_lock(&fb.mu);
    json_decref(fb.ov);
    json_decref(fb.det);
    json_decref(fb.other);
    fb.ov = fb.det = fb.other = NULL;
    fb.puts = fb.deletes = fb.activities = 0;
    fb.nscript = fb.next_act = 0;
    memset(fb.put_base, 0, sizeof(fb.put_base));
    memset(fb.del_base, 0, sizeof(fb.del_base));
    fb.timeout_ms = 0;
    fb.item[0] = fb.category[0] = fb.problem[0] = '\0';
    fb.now = 0;
    fb.hanging = 0;
    pthread_mutex_unlock(&fb.mu);
}

/* Answers status, unlock, activity and the writes as sync does (docs/bus.md). */
static enum err fb_handler(void *ctx, const struct bus_msg *req, struct bus_msg *resp)
{
    const char *op = json_string_value(json_object_get(req->bm_json, "op"));

    (void)ctx;
    if (op && strcmp(op, "item_put") == 0)
        return fb_item_put(req->bm_json, resp);
    if (op && strcmp(op, "item_delete") == 0)
        return fb_item_delete(req->bm_json, resp);
    pthread_mutex_lock(&fb.mu);
    if (op && strcmp(op, "activity") == 0) {
        fb.activities++;
        resp->bm_json = json_pack("{s:b}", "ok", 1);
    } else if (op && strcmp(op, "status") == 0) {
        fb.statuses++;
        resp->bm_json =
            json_pack("{s:b, s:b, s:b, s:I, s:I}", "ok", 1, "unlocked", fb.unlocked, "connected",
                      fb.connected, "lastSyncAt", (json_int_t)g.t_sync, "lastSeq", (json_int_t)42);
        if (resp->bm_json && !fb.connected)
            json_object_set_new(resp->bm_json, "lastError", json_string("connection refused"));
    } else if (op && strcmp(op, "unlock") == 0) {
        fb.unlocks++;
        fb.secret_ok = req->bm_secret_len == CREDENTIALS_UNLOCK_BYTES &&
                       crypto_memeq(req->bm_secret, g.unlock, CREDENTIALS_UNLOCK_BYTES);
        if (fb.secret_ok)
            fb.unlocked = 1;
        resp->bm_json = fb.secret_ok
                            ? json_pack("{s:b}", "ok", 1)
                            : json_pack("{s:b, s:s}", "ok", 0, "message", "unlock refused");
    } else {
        resp->bm_json = json_pack("{s:b, s:s}", "ok", 0, "message", "unknown operation");
    }
    pthread_mutex_unlock(&fb.mu);
    return resp->bm_json ? ERR_OK : ERR_NOMEM;
}

/* Reads a counter of the fake sync. */
static int fb_get(const int *what)
{
    int v;

    pthread_mutex_lock(&fb.mu);
    v = *what;
    pthread_mutex_unlock(&fb.mu);
    return v;
}

/* Sets a flag of the fake sync. */
static void fb_set(int *what, int v)
{
    pthread_mutex_lock(&fb.mu);
    *what = v;
    pthread_mutex_unlock(&fb.mu);
}

/* Starts the fake sync on g.sock with the bus key of the credentials file. */
static void fb_start(void)
{
    struct bus_server_config bc;
    struct credentials *c = NULL;
    const struct jwk *uk;
    char err[256];

    fb_write_reset();
    pthread_mutex_lock(&fb.mu);
    fb.unlocked = fb.connected = fb.unlocks = fb.secret_ok = fb.statuses = 0;
    fb.now = T0 + 1000;
    pthread_mutex_unlock(&fb.mu);
    assert_int_equal(credentials_parse(&c, g.cred.b_data, g.cred.b_len, err, sizeof(err)), ERR_OK);
    uk = credentials_unique_key(c);
    assert_int_equal(bus_key_derive(&g.bus_key, uk->jk_secret, JWK_OCT_BYTES), ERR_OK);
    credentials_free(c);
    memset(&bc, 0, sizeof(bc));
    bc.bs_listen.be_path = g.sock;
    bc.bs_key = g.bus_key;
    bc.bs_handler = fb_handler;
    assert_int_equal(bus_server_start(&g.bus, &bc, err, sizeof(err)), ERR_OK);
}

/* ---- fixture -------------------------------------------------------------------------------- */

/* Loads the api's configuration from the test's environment (no_xdg: without
 * XDG_DATA_HOME, and HOME is never given: no data directory). */
static void config_make(struct config *cf, const char *timeout, int no_xdg)
{
    char env[6][256];
    char *envp[7];
    char err[256];
    size_t n = 0;

    (void)snprintf(env[n], sizeof(env[n]), "OP_HTTP_PORT=0");
    envp[n] = env[n], n++;
    if (!no_xdg) {
        (void)snprintf(env[n], sizeof(env[n]), "XDG_DATA_HOME=%s", g.xdg);
        envp[n] = env[n], n++;
    }
    (void)snprintf(env[n], sizeof(env[n]), "SESAME_BUS_SOCKET=%s", g.sock);
    envp[n] = env[n], n++;
    (void)snprintf(env[n], sizeof(env[n]), "OP_SYNC_TIMEOUT=%s", timeout);
    envp[n] = env[n], n++;
    (void)snprintf(env[n], sizeof(env[n]), "OP_MAX_INLINE_FILE_SIZE_KB=1");
    envp[n] = env[n], n++;
    envp[n] = NULL;
    memset(cf, 0, sizeof(*cf));
    assert_int_equal(config_load(cf, envp, err, sizeof(err)), ERR_OK);
}

/* Starts the api over g.cf and a client for it. */
static void api_up(void)
{
    struct http_client_config cc;
    struct api_options opt;
    char err[512], url[64];

    memset(&opt, 0, sizeof(opt));
    opt.ao_config = &g.cf;
    opt.ao_credentials_json = g.cred.b_data;
    opt.ao_credentials_len = g.cred.b_len;
    opt.ao_http_addr = "127.0.0.1";
    assert_int_equal(api_start(&g.api, &opt, err, sizeof(err)), ERR_OK);
    assert_true(api_port(g.api) > 0);
    (void)snprintf(url, sizeof(url), "http://127.0.0.1:%d", api_port(g.api));
    memset(&cc, 0, sizeof(cc));
    cc.hcc_base_url = url;
    cc.hcc_proxy = "";
    cc.hcc_timeout_ms = 20000;
    assert_int_equal(http_client_new(&g.hc, &cc, NULL, 0), ERR_OK);
}

static int fx_setup(void **state)
{
    const struct fx_params *fp = *state ? *state : &p_synced;
    struct credentials_params cp;
    char err[256];

    memset(&g, 0, sizeof(g));
    (void)snprintf(g.dir, sizeof(g.dir), "/tmp/test_api.XXXXXX");
    assert_non_null(mkdtemp(g.dir));
    (void)snprintf(g.xdg, sizeof(g.xdg), "%s/xdg", g.dir);
    (void)snprintf(g.data, sizeof(g.data), "%s/.op/data", g.xdg);
    (void)snprintf(g.sock, sizeof(g.sock), "%s/bus.sock", g.dir);
    (void)snprintf(g.logpath, sizeof(g.logpath), "%s/api.log", g.dir);
    g.logf = fopen(g.logpath, "w");
    assert_non_null(g.logf);
    setvbuf(g.logf, NULL, _IONBF, 0);
    log_set_stream(g.logf);

    /* the server and its credentials file */
    g.unlock = secmem_alloc(CREDENTIALS_UNLOCK_BYTES);
    assert_non_null(g.unlock);
    assert_int_equal(credentials_keys_generate(&g.srv_sign, &g.srv_wrap, g.unlock), ERR_OK);
    assert_int_equal(crypto_random(g.bad_unlock, sizeof(g.bad_unlock)), ERR_OK);
    signing_key(&g.k1, "k1");
    signing_key(&g.k2, "k2");
    signing_key(&g.rogue, "rogue");
    signing_key(&g.impostor, "k1");
    memset(&cp, 0, sizeof(cp));
    cp.cp_server_id = SRV;
    cp.cp_account_id = ACCT;
    cp.cp_server_sign = &g.srv_sign;
    cp.cp_server_wrap = &g.srv_wrap;
    cp.cp_unlock = g.unlock;
    cp.cp_unlock_len = CREDENTIALS_UNLOCK_BYTES;
    cp.cp_hub_url = HUB_URL;
    cp.cp_signing_keys = &g.k1;
    cp.cp_nsigning = 1;
    buf_init(&g.cred, 1 << 20);
    assert_int_equal(credentials_create(&g.cred, &cp), ERR_OK);

    /* the volume, as sync leaves it */
    assert_int_equal(volume_open(&g.vol, g.data, err, sizeof(err)), ERR_OK);
    populate(fp->fp_synced);
    if (fp->fp_bus)
        fb_start();

    config_make(&g.cf, fp->fp_timeout, 0);
    api_up();
    mint_scoped(g.full, JTI_F, vts_full, sizeof(vts_full) / sizeof(vts_full[0]));
    mint_scoped(g.wo, JTI_W, vts_wo, 1);
    return 0;
}

static int fx_teardown(void **state)
{
    size_t i;

    (void)state;
    resp_clear();
    api_stop(g.api);
    http_client_free(g.hc);
    bus_server_stop(g.bus);
    bus_key_free(g.bus_key);
    fb_write_reset();
    volume_close(g.vol);
    config_free(&g.cf);
    for (i = 0; i < 4; i++)
        vaultcrypt_key_free(g.vkey[i]);
    for (i = 0; i < 5; i++)
        buf_free(&g.fct[i]);
    buf_free(&g.cred);
    jwk_clear(&g.srv_sign);
    jwk_clear(&g.srv_wrap);
    jwk_clear(&g.k1);
    jwk_clear(&g.k2);
    jwk_clear(&g.rogue);
    jwk_clear(&g.impostor);
    secmem_free(g.unlock);
    log_set_stream(NULL);
    fclose(g.logf);
    assert_int_equal(nftw(g.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    memset(&g, 0, sizeof(g));
    return 0;
}

/* ---- tests: start-up ------------------------------------------------------------------------ */

/* api_start refuses unusable credentials, a missing data directory and a taken port. */
static void test_start_errors(void **state)
{
    struct api_options opt;
    struct api *a = NULL;
    struct config cf;
    char err[512];
    int port = api_port(g.api);
    long mark;

    (void)state;
    memset(&opt, 0, sizeof(opt));
    opt.ao_config = &g.cf;
    opt.ao_credentials_json = "{\"version\":\"1\"}";
    opt.ao_credentials_len = strlen(opt.ao_credentials_json);
    assert_int_equal(api_start(&a, &opt, err, sizeof(err)), ERR_CONFIG);
    assert_null(a);
    assert_non_null(strstr(err, "api: the credentials file is not usable: "));

    config_make(&cf, "1s", 1);
    opt.ao_config = &cf;
    opt.ao_credentials_json = g.cred.b_data;
    opt.ao_credentials_len = g.cred.b_len;
    assert_null(cf.cf_data_dir); /* neither XDG_DATA_HOME nor HOME */
    assert_int_equal(api_start(&a, &opt, err, sizeof(err)), ERR_CONFIG);
    assert_null(a);
    assert_string_equal(err, "api: " CONFIG_NO_DATA_DIR_MSG);
    config_free(&cf);

    /* the port the running api holds */
    config_make(&cf, "1s", 0);
    cf.cf_http_port = (unsigned)port;
    opt.ao_config = &cf;
    opt.ao_http_addr = "127.0.0.1";
    mark = log_mark();
    assert_int_equal(api_start(&a, &opt, err, sizeof(err)), ERR_IO);
    assert_null(a);
    assert_string_equal(err, P("api: cannot listen on port %d (ERR_IO)", port));
    assert_true(
        log_since(mark, P("cannot listen on 127.0.0.1 port %d: bind failed (EADDRINUSE)", port)));
    config_free(&cf);
    api_stop(NULL);

    /* the running api is unaffected */
    assert_int_equal(get("/heartbeat", NULL), 200);
}

/* ---- tests: locked, then unlocked ----------------------------------------------------------- */

/* Before any valid token: /heartbeat, /health and /metrics answer, /v1 refuses. */
static void test_locked(void **state)
{
    const json_t *d;
    size_t i;

    (void)state;
    assert_int_equal(get("/heartbeat", NULL), 200);
    assert_string_equal(body(), ".");
    assert_string_equal(hdr("Content-Type"), "text/plain");
    assert_string_equal(hdr("1Password-Connect-Version"), "1.8.1");

    assert_string_equal(health("1Password", NULL), "UNINITIALIZED");
    assert_string_equal(dep_msg("1Password"),
                        "Make a request with a valid bearer token to initialize");
    assert_string_equal(json_string_value(json_object_get(J(), "name")), "1Password Connect API");
    assert_string_equal(json_string_value(json_object_get(J(), "version")), "1.8.1");
    assert_int_equal(json_array_size(json_object_get(J(), "dependencies")), 4);
    json_array_foreach(json_object_get(J(), "dependencies"), i, d)
    {
        static const char *const order[] = {"sqlite", "account_data", "sync", "1Password"};

        assert_string_equal(json_string_value(json_object_get(d, "service")), order[i]);
    }
    assert_string_equal(json_string_value(json_object_get(dep("sqlite"), "status")), "ACTIVE");
    assert_string_equal(dep_msg("sqlite"), P("Connected to %s/sesame.db", g.data));
    assert_string_equal(json_string_value(json_object_get(dep("account_data"), "status")),
                        "ACTIVE");
    assert_non_null(strstr(dep_msg("account_data"), "last synced "));

    assert_int_equal(metric("sesame_connect_unlocked"), 0);
    assert_int_equal(metric("sesame_connect_unlocks_total"), 0);
    assert_int_equal(metric("sesame_connect_vaults"), 0);
    assert_int_equal(metric("sesame_connect_items"), 0);
    assert_int_equal(metric("sesame_connect_last_sync_timestamp_seconds"), g.t_sync);
    assert_true(metric("process_resident_memory_bytes") > 0);

    expect_error("/v1/vaults", NULL, 401, H_TOKEN);
    expect_error("/v1/vaults/" VA, NULL, 401, H_TOKEN);
    expect_error("/v1/activity", NULL, 401, H_TOKEN);
    expect_error("/v1/vaults", "Basic dXNlcjpwYXNz", 401, H_TOKEN);
    expect_error("/v1/vaults", "Bearer ", 401, H_TOKEN);
    expect_error("/v1/vaults", "Bearer not.a.token", 401, H_TOKEN);
    assert_string_equal(health("1Password", NULL), "UNINITIALIZED");
}

/* Tokens that must not unlock: each is 401 (the reason only in the log) and the api stays
 * locked; then a valid token on /health unlocks it. */
static void test_unlock_refusals(void **state)
{
    struct {
        struct tok t;
        const char *reason;
    } cases[] = {
        {{.t_server = OTHER_UP}, "token refused (wrong_server)"},
        {{.t_secret = g.bad_unlock}, "its secret does not unlock this server"},
        {{.t_key = &g.rogue}, "token refused (unknown_kid)"},
        {{.t_key = &g.impostor}, "token refused (bad_signature)"},
        {{.t_iat = (int64_t)time(NULL) - 3600, .t_exp = (int64_t)time(NULL) - 120},
         "token refused (expired)"},
        {{.t_iat = (int64_t)time(NULL) + 600}, "token refused (issued_in_future)"},
        {{.t_jti = JTI_R}, "token refused (revoked)"},
    };
    char auth[AUTH_MAX];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long mark = log_mark();

        mint(auth, &cases[i].t);
        expect_error("/v1/vaults", auth, 401, H_TOKEN);
        if (!log_since(mark, cases[i].reason))
            fail_msg("case %zu: no \"%s\" in the log", i, cases[i].reason);
        /* /health with it: ignored, still 200 and locked */
        assert_string_equal(health("1Password", auth), "UNINITIALIZED");
        assert_int_equal(metric("sesame_connect_unlocked"), 0);
    }
    /* a valid token on /health unlocks (and the index is built) */
    assert_string_equal(health("1Password", g.full), "ACTIVE");
    assert_null(dep_msg("1Password"));
    assert_int_equal(metric("sesame_connect_unlocked"), 1);
    assert_int_equal(metric("sesame_connect_unlocks_total"), 1);
    assert_true(metric_wait("sesame_connect_vaults", 3));
    assert_int_equal(metric("sesame_connect_items"), 7); /* VA 5 (one archived), VB 1, VC 1 */
    assert_string_equal(health("1Password", NULL), "ACTIVE");
    assert_int_equal(get("/v1/vaults", g.full), 200);
    /* the log never holds a token */
    assert_false(log_since(0, g.full + 7));
    assert_false(log_since(0, auth + 7));
}

/* The first valid token on a /v1 route unlocks and is answered once the index is built. */
static void test_unlock_by_data_request(void **state)
{
    int64_t t;

    (void)state;
    t = now_ms();
    assert_int_equal(get("/v1/vaults", g.full), 200);
    assert_true(now_ms() - t < 1000);
    assert_string_equal(ids(), VA "," VB);
    assert_int_equal(metric("sesame_connect_unlocked"), 1);
    assert_string_equal(health("1Password", NULL), "ACTIVE");
}

/* Once unlocked, every token is still checked in full. */
static void test_token_checks_unlocked(void **state)
{
    char auth[AUTH_MAX], spaced[AUTH_MAX + 8];
    struct tok t;
    long mark;

    (void)state;
    unlock_api();
    memset(&t, 0, sizeof(t));
    t.t_secret = g.bad_unlock;
    mint(auth, &t);
    mark = log_mark();
    expect_error("/v1/vaults", auth, 401, H_TOKEN);
    assert_true(log_since(mark, "its secret does not unlock this server: ERR_UNAUTHORIZED"));

    memset(&t, 0, sizeof(t));
    t.t_server = OTHER_UP;
    mint(auth, &t);
    expect_error("/v1/vaults", auth, 401, H_TOKEN);

    /* expired beyond the 60 s leeway: refused; within it: accepted */
    memset(&t, 0, sizeof(t));
    t.t_iat = (int64_t)time(NULL) - 3600;
    t.t_exp = (int64_t)time(NULL) - 90;
    mint(auth, &t);
    expect_error("/v1/vaults", auth, 401, H_TOKEN);
    t.t_exp = (int64_t)time(NULL) - 30;
    mint(auth, &t);
    assert_int_equal(get("/v1/vaults", auth), 200);
    t.t_exp = (int64_t)time(NULL) + 3600;
    mint(auth, &t);
    assert_int_equal(get("/v1/vaults", auth), 200);

    /* the scheme is case-insensitive; spaces around the token are ignored */
    assert_true(snprintf(spaced, sizeof(spaced), "bearer   %s  ", g.full + 7) <
                (int)sizeof(spaced));
    assert_int_equal(get("/v1/vaults", spaced), 200);
    assert_true(snprintf(spaced, sizeof(spaced), "BEARER %s", g.full + 7) < (int)sizeof(spaced));
    assert_int_equal(get("/v1/vaults", spaced), 200);
    /* a changed signature */
    assert_true(snprintf(spaced, sizeof(spaced), "%s", g.full) < (int)sizeof(spaced));
    spaced[strlen(spaced) - 2] = spaced[strlen(spaced) - 2] == 'A' ? 'B' : 'A';
    expect_error("/v1/vaults", spaced, 401, H_TOKEN);
}

/* A token revoked on the volume (as sync applies it) is refused within a second. */
static void test_revocation(void **state)
{
    struct volume_tx *tx = NULL;
    char other[AUTH_MAX];
    int64_t ms;
    long mark;

    (void)state;
    unlock_api();
    mint_scoped(other, JTI_2, vts_full, 2);
    assert_int_equal(get("/v1/vaults", g.full), 200);
    assert_int_equal(get("/v1/vaults", other), 200);
    mark = log_mark();
    assert_int_equal(volume_tx_begin(g.vol, &tx), ERR_OK);
    assert_int_equal(volume_tx_token_revoke(tx, JTI_F, (int64_t)time(NULL)), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    ms = wait_status("/v1/vaults", g.full, 401, 1000);
    assert_true(ms >= 0);
    assert_error(401, H_TOKEN);
    assert_true(log_since(mark, "token refused (revoked)"));
    /* and it stays refused; the other token is not affected */
    expect_error("/v1/vaults/" VA, g.full, 401, H_TOKEN);
    assert_int_equal(get("/v1/vaults", other), 200);
    assert_string_equal(ids(), VA "," VB);
}

/* Token-signing keys pushed to the volume are trusted; retired ones are not. */
static void test_signing_keys(void **state)
{
    struct volume_signing_key vk;
    struct volume_tx *tx = NULL;
    char k2tok[AUTH_MAX], k1tok[AUTH_MAX];
    char *text;
    json_t *pub;
    struct tok t;

    (void)state;
    unlock_api();
    memset(&t, 0, sizeof(t));
    t.t_key = &g.k2;
    mint(k2tok, &t);
    t.t_key = &g.k1;
    t.t_jti = JTI_2;
    mint(k1tok, &t);
    expect_error("/v1/vaults", k2tok, 401, H_TOKEN);

    pub = jwk_to_json(&g.k2, 0);
    text = json_dumps(pub, JSON_COMPACT);
    memset(&vk, 0, sizeof(vk));
    memcpy(vk.vk_kid, "k2", 3);
    vk.vk_public_jwk = text;
    vk.vk_created_at = (int64_t)time(NULL);
    assert_int_equal(volume_tx_begin(g.vol, &tx), ERR_OK);
    assert_int_equal(volume_tx_signing_key_put(tx, &vk), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    free(text);
    json_decref(pub);
    assert_true(wait_status("/v1/vaults", k2tok, 200, 1000) >= 0);
    assert_string_equal(ids(), VA "," VB);

    /* retire k2: refused again; k1 still good */
    assert_int_equal(volume_tx_begin(g.vol, &tx), ERR_OK);
    assert_int_equal(volume_tx_signing_key_retire(tx, "k2", (int64_t)time(NULL)), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_true(wait_status("/v1/vaults", k2tok, 401, 1000) >= 0);
    assert_int_equal(get("/v1/vaults", k1tok), 200);

    /* retiring the credentials file's own key applies too */
    assert_int_equal(volume_tx_begin(g.vol, &tx), ERR_OK);
    assert_int_equal(volume_tx_signing_key_retire(tx, "k1", (int64_t)time(NULL)), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_true(wait_status("/v1/vaults", k1tok, 401, 1000) >= 0);
    assert_error(401, H_TOKEN);
}

/* ---- tests: vaults ----------------------------------------------------------------------------
 */

/* The expected Vault object of VA (content version: 1 + 7 applied item changes; items: the
 * 4 active ones, the archived one is not counted). */
static json_t *vault_va(void)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:s, s:s}", "id", VA, "name",
                     "Production", "description", "prod secrets", "attributeVersion", 1,
                     "contentVersion", 8, "items", 4, "type", "USER_CREATED", "createdAt", ts(T0),
                     "updatedAt", ts(T0 + 40));
}

static json_t *vault_vb(void)
{
    return json_pack("{s:s, s:s, s:i, s:i, s:i, s:s, s:s, s:s}", "id", VB, "name", "Staging",
                     "attributeVersion", 1, "contentVersion", 2, "items", 1, "type", "USER_CREATED",
                     "createdAt", ts(T0 + 1), "updatedAt", ts(T0 + 16));
}

/* GET /v1/vaults and /v1/vaults/{v}: the token's scope intersected with the grants. */
static void test_vaults(void **state)
{
    (void)state;
    unlock_api();
    assert_int_equal(get("/v1/vaults", g.full), 200);
    assert_string_equal(hdr("Content-Type"), "application/json");
    assert_string_equal(hdr("1Password-Connect-Version"), "1.8.1");
    assert_json_eq(J(), json_pack("[o, o]", vault_va(), vault_vb()));
    assert_int_equal(get("/v1/vaults/", g.full), 200); /* trailing slash */
    assert_string_equal(ids(), VA "," VB);

    assert_int_equal(get("/v1/vaults/" VA, g.full), 200);
    assert_json_eq(J(), vault_va());
    assert_int_equal(get("/v1/vaults/" VB "/", g.full), 200);
    assert_json_eq(J(), vault_vb());

    expect_error("/v1/vaults/" VC, g.full, 403, H_SCOPE);
    expect_error("/v1/vaults/" VD, g.full, 404, "vault not found");
    expect_error("/v1/vaults/" VX, g.full, 404, "vault not found");
}

/* Vault filters: name or title, eq or co, case-insensitive; '+' is a space. */
static void test_vault_filters(void **state)
{
    static const struct {
        const char *query;
        const char *ids;
    } cases[] = {
        {"filter=name%20eq%20%22production%22", VA},
        {"filter=title%20eq%20%22STAGING%22", VB},
        {"filter=name+eq+%22Production%22", VA},
        {"filter=name%20co%20%22TAG%22", VB},
        {"filter=name%20co%20%22o%22", VA},
        {"filter=name%20eq%20%22Hidden%22", ""}, /* granted, but not in the token's scope */
        {"filter=name%20eq%20%22nope%22", ""},
    };
    size_t i;

    (void)state;
    unlock_api();
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(get(P("/v1/vaults?%s", cases[i].query), g.full), 200);
        assert_string_equal(ids(), cases[i].ids);
    }
    expect_error("/v1/vaults?filter=name%20eq%20%27x%27", g.full, 400,
                 "Invalid filter: the value must be in double quotes, not single quotes");
    expect_error("/v1/vaults?filter=colour%20eq%20%22x%22", g.full, 400,
                 "Invalid filter: unknown attribute; use title or name");
}

/* ---- tests: items --------------------------------------------------------------------------- */

/* The summary of IA1 as listed. */
static json_t *summary_ia1(void)
{
    return json_pack("{s:s, s:s, s:i, s:{s:s}, s:s, s:[{s:s, s:b}], s:[s,s], s:s, s:s, s:s}", "id",
                     IA1, "title", "Database Login", "version", 1, "vault", "id", VA, "category",
                     "LOGIN", "urls", "href", "https://db.example.com", "primary", 1, "tags", "db",
                     "Prod", "lastEditedBy", ACCT, "createdAt", ts(T0 + 10), "updatedAt",
                     ts(T0 + 20));
}

/* GET /v1/vaults/{v}/items: active items oldest first, summaries only, filters. */
static void test_items(void **state)
{
    static const struct {
        const char *query;
        const char *ids;
    } cases[] = {
        {"", IA1 "," IA2 "," IA5 "," IA6},
        {"?filter=title%20eq%20%22database%20login%22", IA1},
        {"?filter=title%20eq%20%22Database%22", ""},
        {"?filter=title%20eq%20%22old%20THING%22", ""}, /* IA3: archived */
        {"?filter=title%20co%20%22LOG%22", IA1},
        {"?filter=title%20co%20%22e%22", IA1 "," IA2 "," IA5 "," IA6},
        {"?filter=tag%20eq%20%22PROD%22", IA1},
        {"?filter=tag%20eq%20%22db%22", IA1}, /* IA3 has it too, but is archived */
        {"?filter=tag%20eq%20%22api%22", IA2},
        {"?filter=title+eq+%22API+Key%22", IA2},
        {"?filter=tag%20eq%20%22nope%22", ""},
    };
    const json_t *e;
    size_t i;

    (void)state;
    unlock_api();
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(get(P("/v1/vaults/" VA "/items%s", cases[i].query), g.full), 200);
        assert_string_equal(ids(), cases[i].ids);
    }
    assert_int_equal(get("/v1/vaults/" VA "/items/", g.full), 200);
    assert_json_eq(json_array_get(J(), 0), summary_ia1());
    json_array_foreach(J(), i, e)
    {
        assert_null(json_object_get(e, "fields"));
        assert_null(json_object_get(e, "sections"));
        assert_null(json_object_get(e, "files"));
        assert_null(json_object_get(e, "state"));
    }
    assert_json_eq(json_array_get(J(), 1),
                   json_pack("{s:s, s:s, s:i, s:{s:s}, s:s, s:[s], s:s, s:s, s:s}", "id", IA2,
                             "title", "API Key", "version", 1, "vault", "id", VA, "category",
                             "API_CREDENTIAL", "tags", "api", "lastEditedBy", ACCT, "createdAt",
                             ts(T0 + 11), "updatedAt", ts(T0 + 11)));
    assert_int_equal(get("/v1/vaults/" VB "/items", g.full), 200);
    assert_string_equal(ids(), IB1);
    expect_error("/v1/vaults/" VA "/items?filter=label%20eq%20%22x%22", g.full, 400,
                 "Invalid filter: unknown attribute; use title or tag");
    expect_error("/v1/vaults/" VC "/items", g.full, 403, H_SCOPE);
    expect_error("/v1/vaults/" VX "/items", g.full, 404, "vault not found");
}

/* GET …/items/{i}: the FullItem with its TOTP code; archived readable, deleted not. */
static void test_item(void **state)
{
    char before[TOTP_CODE_BYTES], after[TOTP_CODE_BYTES];
    json_t *expected, *copy, *otp, *c1;
    const char *code;
    int64_t t1, t2;

    (void)state;
    unlock_api();
    t1 = (int64_t)time(NULL);
    assert_int_equal(get("/v1/vaults/" VA "/items/" IA1, g.full), 200);
    t2 = (int64_t)time(NULL);
    assert_int_equal(totp_from_value(before, sizeof(before), OTP_VALUE, strlen(OTP_VALUE), t1),
                     ERR_OK);
    assert_int_equal(totp_from_value(after, sizeof(after), OTP_VALUE, strlen(OTP_VALUE), t2),
                     ERR_OK);
    otp = json_array_get(json_object_get(J(), "fields"), 2);
    code = json_string_value(json_object_get(otp, "totp"));
    assert_non_null(code);
    assert_int_equal(strlen(code), 6);
    assert_true(strcmp(code, before) == 0 || strcmp(code, after) == 0);

    copy = json_deep_copy(J());
    json_object_del(json_array_get(json_object_get(copy, "fields"), 2), "totp");
    expected = summary_ia1();
    json_object_set_new(expected, "sections",
                        json_pack("[{s:s, s:s}]", "id", "sec1", "label", "Extra"));
    c1 = content_ia1();
    json_object_set(expected, "fields", json_object_get(c1, "fields"));
    json_decref(c1);
    assert_json_eq(copy, expected);
    json_decref(copy);

    assert_int_equal(get("/v1/vaults/" VA "/items/" IA3 "/", g.full), 200);
    assert_string_equal(json_string_value(json_object_get(J(), "state")), "ARCHIVED");
    assert_string_equal(json_string_value(json_object_get(J(), "title")), "Old thing");
    assert_int_equal(get("/v1/vaults/" VA "/items/" IA5, g.full), 200);
    assert_json_eq(json_object_get(J(), "files"),
                   json_pack("[{s:s, s:s, s:i, s:s}, {s:s, s:s, s:i, s:s}, {s:s, s:s, s:i, s:s}]",
                             "id", FS, "name", "hello.txt", "size", 13, "content_path",
                             "/v1/vaults/" VA "/items/" IA5 "/files/" FS "/content", "id", FB,
                             "name", "big.bin", "size", 1025, "content_path",
                             "/v1/vaults/" VA "/items/" IA5 "/files/" FB "/content", "id", FN,
                             "name", NAME_FN, "size", 3, "content_path",
                             "/v1/vaults/" VA "/items/" IA5 "/files/" FN "/content"));

    expect_error("/v1/vaults/" VA "/items/" IA4, g.full, 404, "item not found");
    expect_error("/v1/vaults/" VA "/items/" IX, g.full, 404, "item not found");
    expect_error("/v1/vaults/" VA "/items/" IB1, g.full, 404, "item not found");
    expect_error("/v1/vaults/" VX "/items/" IA1, g.full, 404, "vault not found");
    expect_error("/v1/vaults/" VC "/items/" IC1, g.full, 403, H_SCOPE);
}

/* ---- tests: files --------------------------------------------------------------------------- */

/* …/files and …/files/{f}: metadata, inline contents (base64) up to 1 KB, 413 above. */
static void test_files(void **state)
{
    unsigned char kb[1024];
    char b64[2048];
    const json_t *f;

    (void)state;
    unlock_api();
    assert_int_equal(get("/v1/vaults/" VA "/items/" IA5 "/files", g.full), 200);
    assert_json_eq(J(), json_pack("[{s:s, s:s, s:i, s:s}, {s:s, s:s, s:i, s:s}, {s:s, s:s, s:i, "
                                  "s:s}]",
                                  "id", FS, "name", "hello.txt", "size", 13, "content_path",
                                  "/v1/vaults/" VA "/items/" IA5 "/files/" FS "/content", "id", FB,
                                  "name", "big.bin", "size", 1025, "content_path",
                                  "/v1/vaults/" VA "/items/" IA5 "/files/" FB "/content", "id", FN,
                                  "name", NAME_FN, "size", 3, "content_path",
                                  "/v1/vaults/" VA "/items/" IA5 "/files/" FN "/content"));
    expect_error("/v1/vaults/" VA "/items/" IA5 "/files?inline_files=true", g.full, 413, H_INLINE);
    expect_error("/v1/vaults/" VA "/items/" IA5 "/files/?inline_content=true", g.full, 413,
                 H_INLINE);
    assert_int_equal(get("/v1/vaults/" VA "/items/" IA5 "/files?inline_files=false", g.full), 200);
    assert_int_equal(json_array_size(J()), 3);
    assert_null(json_object_get(json_array_get(J(), 0), "content"));

    assert_int_equal(get("/v1/vaults/" VA "/items/" IA5 "/files/" FS "?inline_files=true", g.full),
                     200);
    assert_json_eq(J(),
                   json_pack("{s:s, s:s, s:i, s:s, s:s}", "id", FS, "name", "hello.txt", "size", 13,
                             "content_path", "/v1/vaults/" VA "/items/" IA5 "/files/" FS "/content",
                             "content", "aGVsbG8sIHdvcmxkCg=="));
    assert_int_equal(
        get("/v1/vaults/" VA "/items/" IA5 "/files/" FS "/?inline_content=true", g.full), 200);
    assert_string_equal(json_string_value(json_object_get(J(), "content")), "aGVsbG8sIHdvcmxkCg==");
    assert_int_equal(get("/v1/vaults/" VA "/items/" IA5 "/files/" FB, g.full), 200);
    assert_null(json_object_get(J(), "content"));
    assert_int_equal(json_integer_value(json_object_get(J(), "size")), 1025);
    expect_error("/v1/vaults/" VA "/items/" IA5 "/files/" FB "?inline_files=true", g.full, 413,
                 H_INLINE);

    /* exactly 1 KB is inlined */
    pattern(kb, sizeof(kb), 1);
    assert_int_equal(
        codec_b64_encode(b64, sizeof(b64), NULL, kb, sizeof(kb), CODEC_B64_STD | CODEC_PAD),
        ERR_OK);
    assert_int_equal(get("/v1/vaults/" VB "/items/" IB1 "/files?inline_files=true", g.full), 200);
    assert_int_equal(json_array_size(J()), 1);
    f = json_array_get(J(), 0);
    assert_string_equal(json_string_value(json_object_get(f, "id")), FC);
    assert_string_equal(json_string_value(json_object_get(f, "content")), b64);

    /* content not synced yet */
    assert_int_equal(get("/v1/vaults/" VA "/items/" IA6 "/files", g.full), 200);
    assert_string_equal(ids(), FP);
    expect_error("/v1/vaults/" VA "/items/" IA6 "/files?inline_files=true", g.full, 500,
                 H_NOT_SYNCED);

    expect_error("/v1/vaults/" VA "/items/" IA5 "/files/" FX, g.full, 404, "file not found");
    expect_error("/v1/vaults/" VA "/items/" IA5 "/files/" FP, g.full, 404, "file not found");
    expect_error("/v1/vaults/" VA "/items/" IA4 "/files", g.full, 404, "item not found");
    expect_error("/v1/vaults/" VA "/items/" IX "/files/" FS, g.full, 404, "item not found");
}

/* …/files/{f}/content: the exact bytes, octet-stream, Content-Disposition. */
static void test_file_content(void **state)
{
    unsigned char big[1025];

    (void)state;
    unlock_api();
    assert_int_equal(get("/v1/vaults/" VA "/items/" IA5 "/files/" FS "/content", g.full), 200);
    assert_int_equal(g.r.hr_body.b_len, 13);
    assert_memory_equal(g.r.hr_body.b_data, HELLO, 13);
    assert_string_equal(hdr("Content-Type"), "application/octet-stream");
    assert_string_equal(hdr("Content-Disposition"), "attachment; filename=\"hello.txt\"");
    assert_string_equal(hdr("Content-Length"), "13");
    assert_string_equal(hdr("1Password-Connect-Version"), "1.8.1");

    pattern(big, sizeof(big), 7);
    assert_int_equal(get("/v1/vaults/" VA "/items/" IA5 "/files/" FB "/content/", g.full), 200);
    assert_int_equal(g.r.hr_body.b_len, sizeof(big));
    assert_memory_equal(g.r.hr_body.b_data, big, sizeof(big));
    assert_string_equal(hdr("Content-Disposition"), "attachment; filename=\"big.bin\"");

    assert_int_equal(get("/v1/vaults/" VA "/items/" IA5 "/files/" FN "/content", g.full), 200);
    assert_int_equal(g.r.hr_body.b_len, 3);
    assert_memory_equal(g.r.hr_body.b_data, "cv\n", 3);
    assert_string_equal(hdr("Content-Disposition"), "attachment; filename=\"r__sum__.txt\"; "
                                                    "filename*=UTF-8''r%C3%A9sum%C3%A9.txt");

    expect_error("/v1/vaults/" VA "/items/" IA6 "/files/" FP "/content", g.full, 500, H_NOT_SYNCED);
    expect_error("/v1/vaults/" VA "/items/" IA5 "/files/" FX "/content", g.full, 404,
                 "file not found");
    /* a file of another item of the same vault is not this item's */
    expect_error("/v1/vaults/" VA "/items/" IA1 "/files/" FS "/content", g.full, 404,
                 "file not found");
    expect_error("/v1/vaults/" VC "/items/" IC1 "/files/" FX "/content", g.full, 403, H_SCOPE);
}

/* ---- tests: refusals and their order -------------------------------------------------------- */

/* 401 before 400 before 403 before 404; malformed ids; methods; unknown paths. */
static void test_order_and_ids(void **state)
{
    static const char *const bad[] = {
        "VAVAVAVAVAVAVAVAVAVAVAVAVA",  /* uppercase */
        "vavavavavavavavavavavavav",   /* 25 */
        "vavavavavavavavavavavavavav", /* 27 */
        "vavavavavavavavavavavava-a",  /* '-' */
        "vavavavavavavavavavavava%20a",
    };
    size_t i;

    (void)state;
    unlock_api();
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_error(P("/v1/vaults/%s", bad[i]), g.full, 400, "Invalid Vault UUID");
        expect_error(P("/v1/vaults/%s/items", bad[i]), g.full, 400, "Invalid Vault UUID");
        expect_error(P("/v1/vaults/" VA "/items/%s", bad[i]), g.full, 400, "Invalid Item UUID");
        expect_error(P("/v1/vaults/" VA "/items/" IA5 "/files/%s", bad[i]), g.full, 400,
                     "Invalid File UUID");
        expect_error(P("/v1/vaults/" VA "/items/" IA5 "/files/%s/content", bad[i]), g.full, 400,
                     "Invalid File UUID");
    }
    /* token first */
    expect_error("/v1/vaults/BAD", NULL, 401, H_TOKEN);
    expect_error("/v1/vaults/BAD/items/BAD", "Bearer x", 401, H_TOKEN);
    /* then ids: the vault's first, even out of scope */
    expect_error("/v1/vaults/BAD/items/BAD", g.full, 400, "Invalid Vault UUID");
    expect_error("/v1/vaults/" VC "/items/BAD", g.full, 400, "Invalid Item UUID");
    expect_error("/v1/vaults/" VA "/items/BAD/files/" FS, g.full, 400, "Invalid Item UUID");
    /* then scope before existence */
    expect_error("/v1/vaults/" VC "/items/" IX, g.full, 403, H_SCOPE);
    expect_error("/v1/vaults/" VX "/items/" IX "/files/" FX, g.full, 404, "vault not found");

    /* other methods on known routes: 405 with Allow */
    assert_int_equal(http(HTTP_CLIENT_POST, "/v1/vaults", g.full, NULL), 405);
    assert_string_equal(hdr("Allow"), "GET, HEAD");
    assert_int_equal(
        http(HTTP_CLIENT_DELETE, "/v1/vaults/" VA "/items/" IA1 "/files", g.full, NULL), 405);
    assert_string_equal(hdr("Allow"), "GET, HEAD");
    assert_int_equal(http(HTTP_CLIENT_PUT, "/v1/vaults/" VA "/", g.full, NULL), 405);
    assert_int_equal(
        http(HTTP_CLIENT_PATCH, "/v1/vaults/" VA "/items/" IA1 "/files/" FS, g.full, NULL), 405);
    assert_int_equal(json_integer_value(json_object_get(J(), "status")), 405);
    /* unknown paths */
    assert_int_equal(get("/v1/nothing", g.full), 404);
    assert_int_equal(json_integer_value(json_object_get(J(), "status")), 404);
    assert_int_equal(get("/v1/vaults/" VA "/items/" IA1 "/fields", g.full), 404);
    assert_int_equal(get("/v2/vaults", g.full), 404);
}

/* A write-only token resolves its vault but reads no item. */
static void test_write_only(void **state)
{
    (void)state;
    unlock_api();
    assert_int_equal(get("/v1/vaults", g.wo), 200);
    assert_string_equal(ids(), VA);
    assert_int_equal(get("/v1/vaults/" VA, g.wo), 200);
    assert_json_eq(J(), vault_va());
    expect_error("/v1/vaults/" VA "/items", g.wo, 403, H_READ);
    expect_error("/v1/vaults/" VA "/items/" IA1, g.wo, 403, H_READ);
    expect_error("/v1/vaults/" VA "/items/" IX, g.wo, 403, H_READ);
    expect_error("/v1/vaults/" VA "/items/" IA5 "/files", g.wo, 403, H_READ);
    expect_error("/v1/vaults/" VA "/items/" IA5 "/files/" FS, g.wo, 403, H_READ);
    expect_error("/v1/vaults/" VA "/items/" IA5 "/files/" FS "/content", g.wo, 403, H_READ);
    expect_error("/v1/vaults/" VB, g.wo, 403, H_SCOPE);
    expect_error("/v1/vaults/" VB "/items", g.wo, 403, H_SCOPE);
}

/* ---- tests: activity ------------------------------------------------------------------------ */

/* Checks one APIRequest entry of action. jti NULL: none; item NULL: a VAULT resource. */
static void assert_entry_as(const json_t *e, const char *action, const char *result,
                            const char *jti, const char *vault, const char *item, int version,
                            const char *ua)
{
    const json_t *actor = json_object_get(e, "actor"), *res = json_object_get(e, "resource");
    const char *rid = json_string_value(json_object_get(e, "requestId"));
    const char *when = json_string_value(json_object_get(e, "timestamp"));
    json_t *want_actor, *want_res;

    assert_non_null(rid);
    assert_int_equal(strlen(rid), UUID_LEN);
    assert_non_null(when);
    assert_int_equal(strlen(when), TIMEFMT_RFC3339_LEN);
    assert_string_equal(json_string_value(json_object_get(e, "action")), action);
    assert_string_equal(json_string_value(json_object_get(e, "result")), result);
    want_actor = json_pack("{s:s, s:s, s:s, s:s}", "id", SRV_UP, "account", ACCT, "userAgent", ua,
                           "requestIp", "127.0.0.1");
    if (jti)
        json_object_set_new(want_actor, "jti", json_string(jti));
    assert_json_eq(actor, want_actor);
    want_res = json_pack("{s:s, s:{s:s}}", "type", item ? "ITEM" : "VAULT", "vault", "id", vault);
    if (item)
        json_object_set_new(want_res, "item", json_pack("{s:s}", "id", item));
    if (version)
        json_object_set_new(want_res, "itemVersion", json_integer(version));
    assert_json_eq(res, want_res);
}

/* assert_entry_as for a READ. */
static void assert_entry(const json_t *e, const char *result, const char *jti, const char *vault,
                         const char *item, int version, const char *ua)
{
    assert_entry_as(e, "READ", result, jti, vault, item, version, ua);
}

/* Every /v1 request leaves one entry, SUCCESS or DENY; /v1/activity reads them. */
static void test_activity(void **state)
{
    const char *ua = HTTP_CLIENT_USER_AGENT;
    char first[TIMEFMT_RFC3339_LEN + 1], last[TIMEFMT_RFC3339_LEN + 1];
    const json_t *e;
    size_t i, j;

    (void)state;
    unlock_api(); /* /health leaves no entry */
    assert_int_equal(timefmt_rfc3339(first, (int64_t)time(NULL)), ERR_OK);
    assert_int_equal(get("/v1/vaults", g.full), 200);
    expect_error("/v1/vaults/" VC, g.full, 403, H_SCOPE);
    assert_int_equal(get("/v1/vaults/" VA "/items/" IA1, g.full), 200);
    expect_error("/v1/vaults", NULL, 401, H_TOKEN);
    expect_error("/v1/vaults/" VA "/items/" IA4, g.full, 404, "item not found");
    assert_int_equal(http(HTTP_CLIENT_GET, "/v1/vaults/" VB, g.full, "agent \xc3\xa9\t1"), 200);
    expect_error("/v1/vaults/" VA "/items/BAD", g.full, 400, "Invalid Item UUID");
    assert_int_equal(get("/heartbeat", NULL), 200); /* not /v1: no entry */

    assert_int_equal(get("/v1/activity", g.full), 200);
    assert_int_equal(timefmt_rfc3339(last, (int64_t)time(NULL)), ERR_OK);
    assert_string_equal(hdr("Content-Range"), "1-8/8");
    assert_int_equal(json_array_size(J()), 8);
    e = J();
    assert_entry(json_array_get(e, 0), "SUCCESS", JTI_F, "", NULL, 0, ua);
    assert_entry(json_array_get(e, 1), "DENY", JTI_F, VC, NULL, 0, ua);
    assert_entry(json_array_get(e, 2), "SUCCESS", JTI_F, VA, IA1, 1, ua);
    assert_entry(json_array_get(e, 3), "DENY", NULL, "", NULL, 0, ua);
    assert_entry(json_array_get(e, 4), "DENY", JTI_F, VA, IA4, 0, ua);
    assert_entry(json_array_get(e, 5), "SUCCESS", JTI_F, VB, NULL, 0, "agent ???1");
    assert_entry(json_array_get(e, 6), "DENY", JTI_F, VA, NULL, 0, ua); /* the bad id: not kept */
    assert_entry(json_array_get(e, 7), "SUCCESS", JTI_F, "", NULL, 0, ua);
    for (i = 0; i < 8; i++) {
        const char *when = json_string_value(json_object_get(json_array_get(e, i), "timestamp"));
        const char *rid = json_string_value(json_object_get(json_array_get(e, i), "requestId"));

        assert_true(strcmp(when, first) >= 0 && strcmp(when, last) <= 0);
        for (j = 0; j < i; j++)
            assert_string_not_equal(
                rid, json_string_value(json_object_get(json_array_get(e, j), "requestId")));
    }
    /* a 401 on /v1/activity is an entry too */
    expect_error("/v1/activity", "Bearer x", 401, H_TOKEN);
    assert_int_equal(get("/v1/activity?offset=8", g.full), 200);
    assert_string_equal(hdr("Content-Range"), "9-10/10");
    assert_entry(json_array_get(J(), 0), "DENY", NULL, "", NULL, 0, ua);
}

/* limit and offset, Content-Range, and their refusals. */
static void test_activity_paging(void **state)
{
    int i;

    (void)state;
    unlock_api();
    for (i = 0; i < 3; i++)
        assert_int_equal(get("/v1/vaults", g.full), 200);
    /* entries 1-3 above; each read adds one */
    assert_int_equal(get("/v1/activity?limit=2", g.full), 200);
    assert_string_equal(hdr("Content-Range"), "1-2/4");
    assert_int_equal(json_array_size(J()), 2);
    assert_int_equal(get("/v1/activity?limit=2&offset=2", g.full), 200);
    assert_string_equal(hdr("Content-Range"), "3-4/5");
    assert_int_equal(get("/v1/activity?offset=4&limit=1000", g.full), 200);
    assert_string_equal(hdr("Content-Range"), "5-6/6");
    assert_int_equal(get("/v1/activity?offset=100", g.full), 200);
    assert_string_equal(hdr("Content-Range"), "*/7");
    assert_string_equal(body(), "[]");
    expect_error("/v1/activity?limit=0", g.full, 400, "limit must be from 1 to 1000");
    expect_error("/v1/activity?limit=1001", g.full, 400, "limit must be from 1 to 1000");
    expect_error("/v1/activity?limit=abc", g.full, 400, "limit and offset must be numbers");
    expect_error("/v1/activity?offset=-1", g.full, 400, "limit and offset must be numbers");
    expect_error("/v1/activity?limit=", g.full, 400, "limit and offset must be numbers");
    expect_error("/v1/activity?offset=99999999999999999999999", g.full, 400,
                 "limit and offset must be numbers");
    /* the refusals were recorded, as DENY */
    assert_int_equal(get("/v1/activity?offset=7&limit=6", g.full), 200);
    assert_string_equal(hdr("Content-Range"), "8-13/14");
    for (i = 0; i < 6; i++)
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(J(), (size_t)i), "result")), "DENY");
}

/*
 * The volume holds at most ap_activity_backlog_max entries sync has not uploaded (none are
 * here: no sync): the rest are dropped and counted, with one warning, and the requests are
 * answered as ever.
 */
static void test_activity_backlog_cap(void **state)
{
    struct volume_activity *act = NULL;
    uint64_t total = 0, ids[5];
    size_t n = 0;
    int i;

    (void)state;
    unlock_api(); /* no entry */
    g.api->ap_activity_backlog_max = 5;
    for (i = 0; i < 8; i++)
        assert_int_equal(get("/v1/vaults", g.full), 200);
    (void)api_activity_write(g.api); /* whatever the watcher has not written yet */
    assert_int_equal(volume_activity_query(g.vol, 100, 0, &act, &n, &total), ERR_OK);
    volume_activity_list_free(act, n);
    assert_int_equal(total, 5); /* the oldest 5 */
    assert_int_equal(g.api->ap_activity_dropped, 3);
    assert_int_equal(metric("sesame_connect_activity_dropped_total"), 3);
    /* sync uploaded them: room again, new entries are kept */
    for (i = 0; i < 5; i++)
        ids[i] = (uint64_t)i + 1;
    assert_int_equal(volume_activity_mark_uploaded(g.vol, ids, 5), ERR_OK);
    for (i = 0; i < 2; i++)
        assert_int_equal(get("/v1/vaults", g.full), 200);
    (void)api_activity_write(g.api);
    assert_int_equal(volume_activity_query(g.vol, 100, 0, &act, &n, &total), ERR_OK);
    volume_activity_list_free(act, n);
    assert_int_equal(total, 7);
    assert_int_equal(g.api->ap_activity_dropped, 3);
    g.api->ap_activity_backlog_max = API_ACTIVITY_BACKLOG_MAX;
}

/* /v1/activity sees every entry of the requests answered before it, in order, even while
 * the watcher writes the queue at the same time. */
static void test_activity_complete(void **state)
{
    static const char *const items[] = {IA1, IA2, IA5, IA6};
    char want[16];
    int i, k;

    (void)state;
    unlock_api();
    for (i = 0; i < 40; i++) {
        size_t n;

        for (k = 0; k < 4; k++)
            assert_int_equal(get(P("/v1/vaults/" VA "/items/%s", items[k]), g.full), 200);
        assert_int_equal(get(P("/v1/activity?offset=%d", 5 * i), g.full), 200);
        (void)snprintf(want, sizeof(want), "%d-%d/%d", 5 * i + 1, 5 * i + 5, 5 * i + 5);
        n = json_array_size(J());
        if (n != 5 || strcmp(hdr("Content-Range"), want) != 0)
            fail_msg("round %d: %zu entries, Content-Range %s", i, n, hdr("Content-Range"));
        for (k = 0; k < 4; k++) {
            const json_t *res = json_object_get(json_array_get(J(), (size_t)k), "resource");

            if (strcmp(json_string_value(json_object_get(json_object_get(res, "item"), "id")),
                       items[k]) != 0)
                fail_msg("round %d: entry %d is not the request for %s", i, k, items[k]);
        }
        assert_null(json_object_get(json_object_get(json_array_get(J(), 4), "resource"), "item"));
    }
}

/* The same when the watcher's write of earlier entries is held up (here by a write
 * transaction of another handle, as sync's would): /v1/activity waits for them rather than
 * answering without them. */
static void test_activity_flush_waits(void **state)
{
    struct waiter w = {0, "/v1/activity", NULL, 0, "", 0};
    struct volume_tx *tx = NULL;
    json_t *list;
    pthread_t th;
    size_t i;

    (void)state;
    unlock_api();
    assert_int_equal(volume_tx_begin(g.vol, &tx), ERR_OK); /* sync's write lock */
    for (i = 0; i < 30; i++)
        assert_int_equal(get(i % 2 ? "/v1/vaults/" VB : "/v1/vaults/" VA, g.full), 200);
    nap(200); /* the watcher has taken the entries and waits for the lock */
    w.w_port = api_port(g.api);
    w.w_auth = g.full;
    assert_int_equal(pthread_create(&th, NULL, waiter_run, &w), 0);
    nap(100);
    volume_tx_rollback(tx);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(w.w_status, 200);
    list = json_loads(w.w_body, 0, NULL);
    assert_non_null(list);
    if (json_array_size(list) != 31)
        fail_msg("%zu entries, not 31", json_array_size(list));
    for (i = 0; i < 30; i++) {
        const json_t *res = json_object_get(json_array_get(list, i), "resource");

        assert_string_equal(json_string_value(json_object_get(json_object_get(res, "vault"), "id")),
                            i % 2 ? VB : VA);
    }
    json_decref(list);
}

/* ---- tests: metrics ------------------------------------------------------------------------- */

/* Request counters by route and status, the histogram, and the state gauges. */
static void test_metrics(void **state)
{
    long long inf, count;
    int i;

    (void)state;
    assert_int_equal(metric("sesame_connect_sync_lag_seconds") >= 0, 1);
    unlock_api();
    for (i = 0; i < 3; i++)
        assert_int_equal(get("/v1/vaults", g.full), 200);
    expect_error("/v1/vaults", NULL, 401, H_TOKEN);
    expect_error("/v1/vaults/" VC, g.full, 403, H_SCOPE);
    expect_error("/v1/vaults/" VA "/items/" IX, g.full, 404, "item not found");
    assert_int_equal(get("/nope", NULL), 404);
    assert_int_equal(http(HTTP_CLIENT_POST, "/v1/vaults", g.full, NULL), 405);

    assert_true(metric_wait("sesame_http_requests_total{route=\"\",status=\"405\"}", 1));
    assert_int_equal(metric("sesame_http_requests_total{route=\"/v1/vaults\",status=\"200\"}"), 3);
    assert_int_equal(metric("sesame_http_requests_total{route=\"/v1/vaults\",status=\"401\"}"), 1);
    assert_int_equal(
        metric("sesame_http_requests_total{route=\"/v1/vaults/{vaultUuid}\",status=\"403\"}"), 1);
    assert_int_equal(metric("sesame_http_requests_total{route=\"/v1/vaults/{vaultUuid}/items/"
                            "{itemUuid}\",status=\"404\"}"),
                     1);
    assert_int_equal(metric("sesame_http_requests_total{route=\"\",status=\"404\"}"), 1);
    assert_int_equal(metric("sesame_http_requests_total{route=\"\",status=\"405\"}"), 1);
    assert_int_equal(metric("sesame_http_requests_total{route=\"/health\",status=\"200\"}"), 1);
    assert_int_equal(metric("sesame_http_requests_total{route=\"/v1/activity\",status=\"200\"}"),
                     -1);
    count = metric("sesame_http_request_duration_seconds_count{route=\"/v1/vaults\"}");
    inf = metric("sesame_http_request_duration_seconds_bucket{route=\"/v1/vaults\",le=\"+Inf\"}");
    assert_int_equal(count, 4);
    assert_int_equal(inf, 4);
    assert_true(
        metric("sesame_http_request_duration_seconds_bucket{route=\"/v1/vaults\",le=\"10\"}") == 4);
    assert_non_null(strstr(body(), "# TYPE sesame_http_request_duration_seconds histogram\n"));
    assert_non_null(strstr(body(), "# TYPE sesame_http_requests_total counter\n"));
    assert_non_null(strstr(body(), "sesame_http_request_duration_seconds_bucket{route=\"/v1/"
                                   "vaults\",le=\"0.0005\"} "));
    assert_string_equal(hdr("Content-Type"), "text/plain; version=0.0.4");

    assert_int_equal(metric("sesame_connect_unlocked"), 1);
    assert_int_equal(metric("sesame_connect_unlocks_total"), 1);
    assert_int_equal(metric("sesame_connect_vaults"), 3);
    assert_int_equal(metric("sesame_connect_items"), 7);
    assert_int_equal(metric("sesame_connect_last_sync_timestamp_seconds"), g.t_sync);
    assert_true(metric("sesame_connect_sync_lag_seconds") <= (int64_t)time(NULL) - g.t_sync);
    assert_true(metric("sesame_connect_sync_lag_seconds") >= 0);
    assert_int_equal(metric("sesame_connect_activity_dropped_total"), 0);
    assert_true(metric("process_resident_memory_bytes") > 1000000);
}

/* ---- tests: the watcher and the index ------------------------------------------------------- */

/* Returns the index entry of item id of vault in ix (must exist). */
static const struct api_item *ix_item(const struct api_index *ix, const char *vault, const char *id)
{
    const struct api_vault *av = api_index_vault(ix, vault);
    const struct api_item *it;

    assert_non_null(av);
    it = api_index_item(av, id);
    assert_non_null(it);
    return it;
}

/* New data on the volume is served within a second; unchanged items are shared between
 * index generations, a changed one is decrypted anew. */
static void test_watcher(void **state)
{
    struct api_index *ix1, *ix2;
    struct volume_tx *tx = NULL;
    int64_t start;

    (void)state;
    unlock_api();
    ix1 = api_current_index(g.api);
    assert_non_null(ix1);
    assert_int_equal(get("/v1/vaults/" VA "/items", g.full), 200);
    assert_string_equal(ids(), IA1 "," IA2 "," IA5 "," IA6);

    /* a new item and a new version of IA2, as sync applies a batch */
    assert_int_equal(volume_tx_begin(g.vol, &tx), ERR_OK);
    put_item(tx, g.vkey[0], VA, IA7, 1, "", "LOGIN", content_simple("Fresh", "new", "f"), T0 + 100,
             T0 + 100);
    put_item(tx, g.vkey[0], VA, IA2, 2, "", "API_CREDENTIAL",
             content_simple("API Key (rotated)", "api", "key-2"), T0 + 11, T0 + 101);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    start = now_ms();
    for (;;) {
        assert_int_equal(get("/v1/vaults/" VA "/items", g.full), 200);
        if (strcmp(ids(), IA1 "," IA2 "," IA5 "," IA6 "," IA7) == 0)
            break;
        assert_true(now_ms() - start < 1000);
        nap(10);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(J(), 1), "title")),
                        "API Key (rotated)");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(J(), 1), "version")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(J(), 4), "title")),
                        "Fresh");
    assert_int_equal(get("/v1/vaults/" VA "/items/" IA2, g.full), 200);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(J(), "fields"), 0), "value")),
                        "key-2");
    assert_int_equal(get("/v1/vaults/" VA, g.full), 200);
    assert_int_equal(json_integer_value(json_object_get(J(), "items")), 5); /* active */
    assert_int_equal(json_integer_value(json_object_get(J(), "contentVersion")), 10);

    ix2 = api_current_index(g.api);
    assert_non_null(ix2);
    assert_true(ix2->ix_generation > ix1->ix_generation);
    /* unchanged: the same decrypted entry; changed: a new one; the old generation intact */
    assert_ptr_equal(ix_item(ix2, VA, IA1), ix_item(ix1, VA, IA1));
    assert_ptr_equal(ix_item(ix2, VB, IB1), ix_item(ix1, VB, IB1));
    assert_ptr_not_equal(ix_item(ix2, VA, IA2), ix_item(ix1, VA, IA2));
    assert_string_equal(ix_item(ix1, VA, IA2)->ai_title, "API Key");
    assert_int_equal(ix_item(ix1, VA, IA2)->ai_version, 1);
    assert_string_equal(ix_item(ix2, VA, IA2)->ai_title, "API Key (rotated)");
    assert_int_equal(ix_item(ix2, VA, IA2)->ai_version, 2);
    assert_string_equal(ix_item(ix2, VA, IA1)->ai_title, "Database Login");
    assert_null(api_index_item(api_index_vault(ix1, VA), IA7));
    assert_int_equal(ix1->ix_items, 7);
    assert_int_equal(ix2->ix_items, 8);
    api_index_unref(ix1);
    api_index_unref(ix2);

    /* a deleted item and a revoked grant disappear */
    assert_int_equal(volume_tx_begin(g.vol, &tx), ERR_OK);
    assert_int_equal(volume_tx_item_delete(tx, VA, IA7, 2, T0 + 200, ACCT), ERR_OK);
    assert_int_equal(volume_tx_grant_delete(tx, VB), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_true(wait_status("/v1/vaults/" VB, g.full, 404, 1000) >= 0);
    assert_error(404, "vault not found");
    assert_int_equal(get("/v1/vaults/" VA "/items", g.full), 200);
    assert_string_equal(ids(), IA1 "," IA2 "," IA5 "," IA6);
    expect_error("/v1/vaults/" VA "/items/" IA7, g.full, 404, "item not found");
    assert_int_equal(get("/v1/vaults", g.full), 200);
    assert_string_equal(ids(), VA);
}

/* The index built directly: vaults with grants only, sorted lookups, item sharing. */
/* api_index_by_title with the key of title. */
static size_t by_title(const struct api_index *ix, const char *vault, const char *title,
                       const struct api_item **out, size_t cap)
{
    char *key = NULL;
    size_t len = 0, n;

    assert_int_equal(filter_fold_key(title, &key, &len), ERR_OK);
    n = api_index_by_title(api_index_vault(ix, vault), key, len, out, cap);
    mem_free(key);
    return n;
}

static void test_index_build(void **state)
{
    const struct api_item *hits[4];
    struct api_index *ix1 = NULL, *ix2 = NULL, *ix3 = NULL, *ix4 = NULL;
    struct credentials *c = NULL;
    struct volume_tx *tx = NULL;
    struct item_meta m;
    json_t *content = NULL;
    struct buf plain;
    struct volume_meta vm;
    char err[256];

    (void)state;
    assert_int_equal(credentials_parse(&c, g.cred.b_data, g.cred.b_len, err, sizeof(err)), ERR_OK);
    assert_int_equal(volume_meta_get(g.vol, &vm), ERR_OK);
    assert_int_equal(api_index_build(&ix1, g.vol, c, NULL, &vm), ERR_NOT_READY); /* locked */
    assert_null(ix1);
    assert_int_equal(credentials_unlock(c, g.unlock, CREDENTIALS_UNLOCK_BYTES), ERR_OK);
    assert_int_equal(api_index_build(&ix1, g.vol, c, NULL, &vm), ERR_OK);
    assert_int_equal(ix1->ix_generation, vm.vm_generation);
    assert_int_equal(ix1->ix_item_seq, vm.vm_item_seq);
    assert_int_equal(ix1->ix_nvaults, 3);
    assert_string_equal(ix1->ix_vaults[0].av_meta.vm_id, VA);
    assert_string_equal(ix1->ix_vaults[1].av_meta.vm_id, VB);
    assert_string_equal(ix1->ix_vaults[2].av_meta.vm_id, VC);
    assert_string_equal(ix1->ix_vaults[0].av_meta.vm_name, "Production");
    assert_string_equal(ix1->ix_vaults[0].av_meta.vm_description, "prod secrets");
    assert_int_equal(ix1->ix_vaults[0].av_nitems, 5);
    assert_string_equal(ix1->ix_vaults[0].av_items[0]->ai_id, IA1); /* oldest first */
    assert_string_equal(ix1->ix_vaults[0].av_items[2]->ai_id, IA3);
    assert_string_equal(ix1->ix_vaults[0].av_items[2]->ai_state, "ARCHIVED");
    assert_int_equal(ix1->ix_vaults[0].av_items[0]->ai_ntags, 2);
    assert_string_equal(ix1->ix_vaults[0].av_items[0]->ai_tags[1], "Prod");
    assert_null(api_index_vault(ix1, VD));
    assert_null(api_index_vault(ix1, VX));
    assert_null(api_index_vault(ix1, "short"));
    assert_null(api_index_vault(NULL, VA));
    assert_null(api_index_item(api_index_vault(ix1, VA), IA4));
    assert_null(api_index_item(api_index_vault(ix1, VA), IB1));
    assert_null(api_index_item(NULL, IA1));

    /* whole items and files on demand */
    assert_int_equal(api_index_item_content(g.vol, api_index_vault(ix1, VA), IA3, &m, &content),
                     ERR_OK);
    assert_string_equal(m.im_state, "ARCHIVED");
    assert_string_equal(json_string_value(json_object_get(content, "title")), "Old thing");
    json_decref(content);
    assert_int_equal(api_index_item_content(g.vol, api_index_vault(ix1, VA), IA4, &m, &content),
                     ERR_NOT_FOUND);
    assert_null(content);
    assert_int_equal(api_index_file_content(g.vol, api_index_vault(ix1, VA), FS, &plain), ERR_OK);
    assert_int_equal(plain.b_len, 13);
    assert_memory_equal(plain.b_data, HELLO, 13);
    buf_free(&plain);
    assert_int_equal(api_index_file_content(g.vol, api_index_vault(ix1, VA), FP, &plain),
                     ERR_NOT_READY);
    buf_free(&plain);
    assert_int_equal(api_index_file_content(g.vol, api_index_vault(ix1, VA), FX, &plain),
                     ERR_NOT_FOUND);
    buf_free(&plain);

    /* a new version of IA1: the next generation shares everything else */
    assert_int_equal(volume_tx_begin(g.vol, &tx), ERR_OK);
    put_item(tx, g.vkey[0], VA, IA1, 3, "", "LOGIN", content_simple("Renamed", "", "x"), T0 + 10,
             T0 + 300);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    volume_meta_clear(&vm);
    assert_int_equal(volume_meta_get(g.vol, &vm), ERR_OK);
    assert_int_equal(vm.vm_item_seq, ix1->ix_item_seq + 1);
    assert_int_equal(api_index_build(&ix2, g.vol, c, ix1, &vm), ERR_OK);
    assert_ptr_not_equal(ix_item(ix2, VA, IA1), ix_item(ix1, VA, IA1));
    assert_string_equal(ix_item(ix2, VA, IA1)->ai_title, "Renamed");
    assert_int_equal(ix_item(ix2, VA, IA1)->ai_ntags, 0);
    assert_ptr_equal(ix_item(ix2, VA, IA2), ix_item(ix1, VA, IA2));
    assert_ptr_equal(ix_item(ix2, VA, IA3), ix_item(ix1, VA, IA3));
    assert_ptr_equal(ix_item(ix2, VC, IC1), ix_item(ix1, VC, IC1));
    assert_int_equal(ix2->ix_item_seq, vm.vm_item_seq);
    /* the first generation outlives the second's release, and the reverse */
    assert_ptr_equal(api_index_ref(ix1), ix1);
    api_index_unref(ix1);
    api_index_unref(ix1);
    assert_string_equal(ix_item(ix2, VA, IA2)->ai_title, "API Key");

    /* deleted, archived, created, damaged and stale changes, applied to ix2 alone, give
       the index a whole build gives */
    assert_int_equal(volume_tx_begin(g.vol, &tx), ERR_OK);
    assert_int_equal(volume_tx_item_delete(tx, VA, IA2, 9, T0 + 400, ACCT), ERR_OK);
    put_item(tx, g.vkey[0], VA, IA1, 4, "ARCHIVED", "LOGIN", content_simple("Shelved", "", "x"),
             T0 + 10, T0 + 400);
    put_item(tx, g.vkey[0], VA, IX, 1, "", "LOGIN", content_simple("Newest", "", "x"), T0 + 400,
             T0 + 400);
    put_item(tx, g.vkey[0], VA, "d1d1d1d1d1d1d1d1d1d1d1d1d1", 1, "", "LOGIN",
             content_simple("newest", "", "y"), T0 + 400, T0 + 400); /* the same title key */
    put_item(tx, g.vkey[0], VB, IB1, 7, "", "LOGIN", content_simple("Wrong key", "", "x"), T0,
             T0 + 400); /* sealed with another vault's key: not served */
    put_vault(tx, VB, g.vkey[1], "Staging", "", T0 + 1, 1); /* its key wrapped anew */
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    volume_meta_clear(&vm);
    assert_int_equal(volume_meta_get(g.vol, &vm), ERR_OK);
    assert_int_equal(api_index_build(&ix1, g.vol, c, ix2, &vm), ERR_OK);
    assert_int_equal(api_index_build(&ix3, g.vol, c, NULL, &vm), ERR_OK);
    assert_int_equal(ix1->ix_item_seq, vm.vm_item_seq);
    assert_null(api_index_item(api_index_vault(ix1, VA), IA2));
    assert_string_equal(ix_item(ix1, VA, IA1)->ai_state, "ARCHIVED");
    assert_string_equal(ix_item(ix1, VA, IX)->ai_title, "Newest");
    assert_null(api_index_item(api_index_vault(ix1, VB), IB1));
    assert_ptr_equal(ix_item(ix1, VA, IA3), ix_item(ix2, VA, IA3));
    /* a vault key is unwrapped once per grant: shared while the grant stays */
    assert_ptr_equal(api_index_vault(ix1, VA)->av_vkey, api_index_vault(ix2, VA)->av_vkey);
    assert_ptr_equal(api_index_vault(ix1, VA)->av_key, api_index_vault(ix2, VA)->av_key);
    assert_ptr_not_equal(api_index_vault(ix1, VB)->av_vkey, api_index_vault(ix2, VB)->av_vkey);
    assert_memory_equal(api_index_vault(ix1, VB)->av_key, g.vkey[1], VAULTCRYPT_KEY_BYTES);
    assert_string_equal(api_index_vault(ix1, VB)->av_meta.vm_name, "Staging");
    assert_int_equal(ix1->ix_nvaults, ix3->ix_nvaults);
    assert_int_equal(ix1->ix_items, ix3->ix_items);
    for (size_t i = 0; i < ix3->ix_nvaults; i++) {
        const struct api_vault *a = &ix1->ix_vaults[i], *b = &ix3->ix_vaults[i];

        assert_string_equal(a->av_meta.vm_id, b->av_meta.vm_id);
        assert_int_equal(a->av_meta.vm_items, b->av_meta.vm_items);
        assert_int_equal(a->av_nitems, b->av_nitems);
        for (size_t j = 0; j < b->av_nitems; j++) {
            assert_string_equal(a->av_items[j]->ai_id, b->av_items[j]->ai_id);     /* listing */
            assert_string_equal(a->av_byid[j]->ai_id, b->av_byid[j]->ai_id);       /* by id */
            assert_string_equal(a->av_bytitle[j]->ai_id, b->av_bytitle[j]->ai_id); /* title */
            assert_int_equal(a->av_items[j]->ai_version, b->av_items[j]->ai_version);
        }
    }
    api_index_unref(ix3);
    /* a vault dropped moves the item epoch: the next build reads every item again */
    assert_int_equal(volume_tx_begin(g.vol, &tx), ERR_OK);
    assert_int_equal(volume_tx_vault_delete(tx, VC), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    volume_meta_clear(&vm);
    assert_int_equal(volume_meta_get(g.vol, &vm), ERR_OK);
    assert_int_not_equal(vm.vm_item_epoch, ix1->ix_item_epoch);
    assert_int_equal(api_index_build(&ix3, g.vol, c, ix1, &vm), ERR_OK);
    assert_int_equal(ix3->ix_item_epoch, vm.vm_item_epoch);
    assert_null(api_index_vault(ix3, VC));
    assert_ptr_equal(ix_item(ix3, VA, IX), ix_item(ix1, VA, IX));
    /* `title eq` from the title order: case-folded, the listing's order, gone when renamed */
    assert_int_equal(by_title(ix1, VA, "NEWEST", hits, 4), 2);
    assert_string_equal(hits[0]->ai_id, IX); /* listed first (made first), though "d1" < "ix" */
    assert_string_equal(hits[1]->ai_id, "d1d1d1d1d1d1d1d1d1d1d1d1d1");
    assert_int_equal(by_title(ix1, VA, "newest", hits, 1), 2); /* how many, one given */
    assert_string_equal(hits[0]->ai_id, IX);
    assert_int_equal(by_title(ix1, VA, "shelved", hits, 4), 1);
    assert_int_equal(by_title(ix1, VA, "Renamed", hits, 4), 0);
    assert_int_equal(by_title(ix2, VA, "renamed", hits, 4), 1);
    assert_int_equal(by_title(ix1, VA, "api key", hits, 4), 0); /* deleted */
    assert_int_equal(by_title(ix2, VA, "api key", hits, 4), 1);
    assert_int_equal(by_title(ix1, VA, "", hits, 4), 0);
    assert_int_equal(by_title(ix1, VB, "Staging DB", hits, 4), 0); /* not served */
    /* only the newest generation has a successor made from it */
    assert_int_equal(api_index_build(&ix4, g.vol, c, ix2, &vm), ERR_INTERNAL);
    assert_null(ix4);
    assert_int_equal(api_index_patch(&ix4, ix1, VA, IA1, NULL, NULL), ERR_INTERNAL);
    /* the newest released first: the older ones (a reader's) keep every item they show */
    api_index_unref(ix3);
    assert_string_equal(ix_item(ix1, VA, IX)->ai_title, "Newest");
    assert_string_equal(ix_item(ix2, VA, IA2)->ai_title, "API Key");
    assert_string_equal(api_index_vault(ix2, VC)->av_meta.vm_name, "Hidden");
    api_index_unref(ix1);
    assert_string_equal(ix_item(ix2, VA, IA1)->ai_title, "Renamed");
    api_index_unref(ix2);
    api_index_unref(NULL);
    volume_meta_clear(&vm);
    credentials_free(c);
}

/* ---- tests: readiness ----------------------------------------------------------------------- */

/* Never synced: /health says so; a data request waits OP_SYNC_TIMEOUT then 500; refusals
 * that come before readiness are answered at once. */
static void test_not_synced(void **state)
{
    int64_t t;

    (void)state;
    assert_string_equal(health("account_data", NULL), "NOT_SYNCED");
    assert_string_equal(
        dep_msg("account_data"),
        "Account data is not available because synchronization has not yet started");
    assert_int_equal(metric("sesame_connect_sync_lag_seconds"), -1);
    assert_int_equal(metric("sesame_connect_last_sync_timestamp_seconds"), 0);

    t = now_ms();
    expect_error("/v1/vaults", g.full, 500, "failed to initiate, review service logs for details");
    t = now_ms() - t;
    assert_true(t >= 900 && t < 3000);
    /* the token did unlock */
    assert_string_equal(health("1Password", NULL), "ACTIVE");
    assert_int_equal(metric("sesame_connect_unlocked"), 1);

    t = now_ms();
    expect_error("/v1/vaults/" VA "/items/" IX, g.full, 500,
                 "failed to initiate, review service logs for details");
    assert_true(now_ms() - t >= 900);
    /* 401, 400 and 403 do not wait */
    t = now_ms();
    expect_error("/v1/vaults", NULL, 401, H_TOKEN);
    expect_error("/v1/vaults/BAD", g.full, 400, "Invalid Vault UUID");
    expect_error("/v1/vaults/" VC, g.full, 403, H_SCOPE);
    expect_error("/v1/vaults/" VA "/items", g.wo, 403, H_READ);
    assert_true(now_ms() - t < 500);
    /* the waits were recorded as refusals */
    assert_int_equal(get("/v1/activity", g.full), 200);
    assert_string_equal(hdr("Content-Range"), "1-7/7");
    assert_string_equal(json_string_value(json_object_get(json_array_get(J(), 0), "result")),
                        "DENY");
}

/* A waiting request is answered as soon as sync completes its first sync. */
static void test_sync_completes_while_waiting(void **state)
{
    struct waiter w = {0, "/v1/vaults/" VA, NULL, 0, "", 0};
    struct volume_tx *tx = NULL;
    pthread_t th;

    (void)state;
    w.w_port = api_port(g.api);
    w.w_auth = g.full;
    assert_int_equal(pthread_create(&th, NULL, waiter_run, &w), 0);
    wait_waiting(1);
    nap(200);
    g.t_sync = (int64_t)time(NULL);
    assert_int_equal(volume_tx_begin(g.vol, &tx), ERR_OK);
    assert_int_equal(volume_tx_set_sync_time(tx, g.t_sync), ERR_OK);
    assert_int_equal(volume_tx_commit(tx), ERR_OK);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(w.w_status, 200);
    assert_true(w.w_elapsed < 5000); /* long before OP_SYNC_TIMEOUT (10s) */
    assert_non_null(strstr(w.w_body, "\"name\":\"Production\""));
    assert_string_equal(health("account_data", NULL), "ACTIVE");
    assert_int_equal(get("/v1/vaults", g.full), 200);
    assert_string_equal(ids(), VA "," VB);
}

/* A volume synced for another server is not ready for this one. */
static void test_other_servers_volume(void **state)
{
    int64_t t = now_ms();

    (void)state;
    expect_error("/v1/vaults", g.full, 500, "failed to initiate, review service logs for details");
    assert_true(now_ms() - t >= 900);
    assert_string_equal(health("1Password", NULL), "ACTIVE");
}

/* api_stop answers a waiting request (500) and returns promptly. */
static void test_stop_while_waiting(void **state)
{
    struct waiter w = {0, "/v1/vaults", NULL, 0, "", 0};
    pthread_t th;
    int64_t t;

    (void)state;
    w.w_port = api_port(g.api);
    w.w_auth = g.full;
    assert_int_equal(pthread_create(&th, NULL, waiter_run, &w), 0);
    wait_waiting(1);
    t = now_ms();
    api_stop(g.api);
    g.api = NULL;
    assert_true(now_ms() - t < 3000);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(w.w_status, 500);
    assert_string_equal(w.w_body,
                        "{\"status\":500,\"message\":\"failed to initiate, review service logs "
                        "for details\"}");
    assert_true(w.w_elapsed < 3000);
}

/* api_stop writes the activity entries still queued. */
static void test_stop_flushes_activity(void **state)
{
    struct volume_activity *arr = NULL;
    uint64_t total = 0;
    size_t n = 0;
    json_t *e;

    (void)state;
    unlock_api();
    assert_int_equal(get("/v1/vaults/" VA "/items/" IA2, g.full), 200);
    api_stop(g.api);
    g.api = NULL;
    assert_int_equal(volume_activity_query(g.vol, 10, 0, &arr, &n, &total), ERR_OK);
    assert_int_equal(total, 1);
    assert_int_equal(n, 1);
    e = json_loads(arr[0].ve_entry_json, 0, NULL);
    assert_entry(e, "SUCCESS", JTI_F, VA, IA2, 1, HTTP_CLIENT_USER_AGENT);
    json_decref(e);
    volume_activity_list_free(arr, n);
}

/* ---- tests: the bus ------------------------------------------------------------------------- */

/* Without a sync process the api still serves; /health says sync is unavailable. */
static void test_no_sync_process(void **state)
{
    int64_t start = now_ms();

    (void)state;
    while (strcmp(health("sync", NULL), "UNAVAILABLE") != 0 ||
           strstr(dep_msg("sync"), "does not answer") == NULL) {
        assert_true(now_ms() - start < 2000);
        nap(10);
    }
    assert_string_equal(dep_msg("sync"), "the sync process does not answer on the bus (ERR_IO)");
    unlock_api();
    assert_int_equal(get("/v1/vaults", g.full), 200);
    assert_string_equal(health("sync", NULL), "UNAVAILABLE");
}

/* With a (fake) sync: TOKEN_NEEDED until the api unlocks, which sends the unlock secret;
 * ACTIVE / DISCONNECTED as sync reports; the secret is sent again after a sync restart. */
static void test_bus_unlock(void **state)
{
    int64_t start = now_ms();

    (void)state;
    fb_set(&fb.connected, 1);
    while (strcmp(health("sync", NULL), "TOKEN_NEEDED") != 0) {
        assert_true(now_ms() - start < 2000);
        nap(10);
    }
    assert_null(dep_msg("sync"));
    assert_int_equal(fb_get(&fb.unlocks), 0);
    assert_true(fb_get(&fb.statuses) >= 1);

    /* a refused token does not reach sync */
    {
        char auth[AUTH_MAX];
        struct tok t;

        memset(&t, 0, sizeof(t));
        t.t_secret = g.bad_unlock;
        mint(auth, &t);
        expect_error("/v1/vaults", auth, 401, H_TOKEN);
        nap(100);
        assert_int_equal(fb_get(&fb.unlocks), 0);
    }

    assert_string_equal(health("1Password", g.full), "ACTIVE");
    start = now_ms();
    while (fb_get(&fb.unlocks) < 1) {
        assert_true(now_ms() - start < 1000);
        nap(5);
    }
    assert_int_equal(fb_get(&fb.unlocks), 1);
    assert_int_equal(fb_get(&fb.secret_ok), 1);
    start = now_ms();
    while (strcmp(health("sync", NULL), "ACTIVE") != 0) {
        assert_true(now_ms() - start < 2000);
        nap(10);
    }
    assert_null(dep_msg("sync"));

    /* the hub becomes unreachable */
    fb_set(&fb.connected, 0);
    start = now_ms();
    while (strcmp(health("sync", NULL), "DISCONNECTED") != 0) {
        assert_true(now_ms() - start < 2500);
        nap(20);
    }
    assert_non_null(strstr(dep_msg("sync"), "the hub is unreachable; serving the data synced "));
    assert_non_null(strstr(dep_msg("sync"), " seconds ago: connection refused"));
    assert_int_equal(get("/v1/vaults", g.full), 200); /* reads go on */

    /* sync restarts (locked again): the api sends the secret again */
    fb_set(&fb.unlocked, 0);
    start = now_ms();
    while (fb_get(&fb.unlocks) < 2) {
        assert_true(now_ms() - start < 2500);
        nap(10);
    }
    assert_int_equal(fb_get(&fb.secret_ok), 1);
    nap(1200);
    assert_int_equal(fb_get(&fb.unlocks), 2); /* once per restart, not on every status */
}

/* ---- tests: writes (docs/connect-api.md "Writes") ------------------------------------------- */

#define H_WRITE        "Unauthorized Request, token does not have write access to the Vault"
#define H_STALE        "the item's version is not the current one: read the item again and retry"
#define H_DEL_CONFLICT "the item changed while it was being deleted: read it again and retry"
#define H_BUSY         "the item is being changed by other writers; retry"
#define H_NO_SYNC                                                                                  \
    "the sync process did not complete the write (ERR_IO): if it was not running nothing was "     \
    "written; read the item before retrying"
#define H_SYNC_TIMEOUT                                                                             \
    "sync did not answer within OP_SYNC_TIMEOUT; the write may not have reached the hub: read "    \
    "the item before retrying"
#define H_PATCH_ARRAY "a PATCH body is a JSON array of operations"
#define ITEMS_VA      "/v1/vaults/" VA "/items"

/* Sends method path with body text (NULL: none) as JSON; returns the status (answer in g.r). */
static int send_text(enum http_client_method m, const char *path, const char *auth,
                     const char *text)
{
    struct http_client_header hh[2] = {{"Content-Type", "application/json"},
                                       {"Authorization", auth}};
    struct http_client_request rq;

    resp_clear();
    memset(&rq, 0, sizeof(rq));
    rq.hq_method = m;
    rq.hq_path = path;
    rq.hq_headers = hh;
    rq.hq_nheaders = auth ? 2 : 1;
    rq.hq_body = text;
    rq.hq_body_len = text ? strlen(text) : 0;
    assert_int_equal(http_client_request(g.hc, &rq, &g.r), ERR_OK);
    g.have_r = 1;
    return g.r.hr_status;
}

/* Sends body (stolen) as JSON; returns the status. */
static int send_json(enum http_client_method m, const char *path, const char *auth, json_t *b)
{
    char *text;
    int status;

    assert_non_null(b);
    text = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    assert_non_null(text);
    status = send_text(m, path, auth, text);
    free(text);
    return status;
}

/* Scripts the fake sync's next writes (n actions). */
static void fb_script(const enum fb_act *acts, size_t n)
{
    pthread_mutex_lock(&fb.mu);
    assert_true(n <= FB_MAX_WRITES);
    memcpy(fb.script, acts, n * sizeof(*acts));
    fb.nscript = n;
    fb.next_act = 0;
    pthread_mutex_unlock(&fb.mu);
}

/* Returns a reference to the last item_put's overview (0) or details (1), opened. */
static json_t *fb_part(int details)
{
    json_t *j;

    pthread_mutex_lock(&fb.mu);
    j = json_incref(details ? fb.det : fb.ov);
    pthread_mutex_unlock(&fb.mu);
    assert_non_null(j);
    return j;
}

/* Reads one 64-bit value of the fake sync. */
static int64_t fb_get64(const int64_t *what)
{
    int64_t v;

    pthread_mutex_lock(&fb.mu);
    v = *what;
    pthread_mutex_unlock(&fb.mu);
    return v;
}

/* Returns a copy of a string of the fake sync (one of a few rotating buffers). */
static const char *fb_str(const char *what)
{
    static char ring[4][64];
    static unsigned next;
    char *out = ring[next++ % 4];

    pthread_mutex_lock(&fb.mu);
    (void)snprintf(out, sizeof(ring[0]), "%s", what);
    pthread_mutex_unlock(&fb.mu);
    return out;
}

/* Fails unless the fake sync saw only well-formed requests. */
static void fb_assert_no_problem(void)
{
    pthread_mutex_lock(&fb.mu);
    if (fb.problem[0]) {
        print_error("fake sync: %s\n", fb.problem);
        pthread_mutex_unlock(&fb.mu);
        fail();
    }
    pthread_mutex_unlock(&fb.mu);
}

/* Unlocks the api and waits for the fake sync to be unlocked by it. */
static void unlock_writes(void)
{
    int64_t start = now_ms();

    unlock_api();
    while (!fb_get(&fb.unlocked)) {
        assert_true(now_ms() - start < 2000);
        nap(5);
    }
}

/* Returns field id of the item object o, or NULL. */
static const json_t *field_of(const json_t *o, const char *id)
{
    const json_t *f;
    size_t i;

    json_array_foreach(json_object_get(o, "fields"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "id")), id) == 0)
            return f;
    }
    return NULL;
}

/* Returns the string member name of field id of o (NULL when absent). */
static const char *field_str(const json_t *o, const char *id, const char *name)
{
    return json_string_value(json_object_get(field_of(o, id), name));
}

/* Returns 1 when every character of s is in allowed, and each set in need[] has one. */
static int chars_ok(const char *s, const char *allowed, const char *const *need, size_t nneed)
{
    size_t i;

    for (i = 0; s[i]; i++) {
        if (!strchr(allowed, s[i]))
            return 0;
    }
    for (i = 0; i < nneed; i++) {
        if (strpbrk(s, need[i]) == NULL)
            return 0;
    }
    return 1;
}

/* Checks a number member within 1e-9 of want. */
static void assert_near(const json_t *v, double want)
{
    assert_true(json_is_number(v));
    if (fabs(json_number_value(v) - want) > 1e-9)
        fail_msg("%.17g is not %.17g", json_number_value(v), want);
}

/* Asserts that no field of the item object o carries a value, a code or an entropy. */
static void assert_redacted(const json_t *o)
{
    const json_t *f;
    size_t i;

    assert_true(json_array_size(json_object_get(o, "fields")) > 0);
    json_array_foreach(json_object_get(o, "fields"), i, f)
    {
        assert_null(json_object_get(f, "value"));
        assert_null(json_object_get(f, "totp"));
        assert_null(json_object_get(f, "entropy"));
    }
}

/* The POST body of the create tests (the reference's typical body, a few more fields). */
static json_t *body_new_login(void)
{
    return json_pack(
        "{s:{s:s}, s:s, s:s, s:[s], s:[{s:s, s:s}, {s:s}], s:[{s:b, s:s, s:s}],"
        " s:[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:b, s:{s:i, s:[s,s], s:s}},"
        " {s:s, s:s, s:s, s:b, s:{s:i, s:[s]}, s:{s:s}}, {s:s, s:s, s:s}]}",
        "vault", "id", VA, "title", "New DB", "category", "login", "tags", "prod", "sections", "id",
        "sec1", "label", "Extra", "label", "Generated", "urls", "primary", 1, "href",
        "https://db.example.com", "label", "website", "fields", "id", "username", "purpose",
        "USERNAME", "type", "STRING", "label", "username", "value", "admin", "id", "password",
        "purpose", "PASSWORD", "type", "CONCEALED", "label", "password", "generate", 1, "recipe",
        "length", 40, "characterSets", "LETTERS", "DIGITS", "excludeCharacters", "0O1l", "id",
        "pin", "type", "CONCEALED", "label", "pin", "generate", 1, "recipe", "length", 8,
        "characterSets", "DIGITS", "section", "id", "sec1", "type", "STRING", "label", "host",
        "value", "db.internal");
}

/* POST: 200 with version 1 and the complete stored item (ids, generated passwords per
 * recipe, entropy); what the api sealed opens for version 1 with the vault key; the item is
 * listed at once (read-your-writes) and reads back identical. */
static void test_write_create(void **state)
{
    static const char *const need[] = {"abcdefghijkmnopqrstuvwxyzABCDEFGHIJKLMNPQRSTUVWXYZ",
                                       "23456789"};
    const char *id, *pw, *pin, *host_id, *sec_id;
    struct api_index *ix;
    struct volume_item vi;
    json_t *post, *expected, *ov, *det;
    double e40;

    (void)state;
    unlock_writes();
    assert_int_equal(send_json(HTTP_CLIENT_POST, ITEMS_VA, g.full, body_new_login()), 200);
    assert_string_equal(hdr("Content-Type"), "application/json");
    assert_string_equal(hdr("1Password-Connect-Version"), "1.8.1");
    post = json_deep_copy(J());
    id = json_string_value(json_object_get(post, "id"));
    assert_non_null(id);
    assert_true(id_is_valid(id));
    assert_string_equal(id, fb_str(fb.item));
    assert_string_equal(fb_str(fb.category), "LOGIN");
    assert_int_equal(fb_get(&fb.puts), 1);
    assert_int_equal(fb_get64(&fb.put_base[0]), 0); /* a create */
    assert_true(fb_get64(&fb.timeout_ms) > 0 && fb_get64(&fb.timeout_ms) <= 1000);

    /* the generated values: per recipe */
    pw = field_str(post, "password", "value");
    assert_non_null(pw);
    assert_int_equal(strlen(pw), 40);
    assert_true(
        chars_ok(pw, "abcdefghijkmnopqrstuvwxyzABCDEFGHIJKLMNPQRSTUVWXYZ23456789", need, 2));
    /* 50 letters and 8 digits, at least one of each: log2(58^40 - 50^40 - 8^40) */
    e40 = 40.0 * log2(58.0) + log2(1.0 - pow(50.0 / 58.0, 40) - pow(8.0 / 58.0, 40));
    assert_near(json_object_get(field_of(post, "password"), "entropy"), e40);
    pin = field_str(post, "pin", "value");
    assert_non_null(pin);
    assert_int_equal(strlen(pin), 8);
    assert_true(chars_ok(pin, "0123456789", NULL, 0));
    assert_near(json_object_get(field_of(post, "pin"), "entropy"), 8.0 * log2(10.0));
    host_id = json_string_value(
        json_object_get(json_array_get(json_object_get(post, "fields"), 4), "id"));
    sec_id = json_string_value(
        json_object_get(json_array_get(json_object_get(post, "sections"), 1), "id"));
    assert_non_null(host_id);
    assert_true(id_is_valid(host_id));
    assert_non_null(sec_id);
    assert_true(id_is_valid(sec_id));

    /* the whole answer: the template's notesPlain first, then the fields as sent */
    expected = json_pack(
        "{s:s, s:s, s:i, s:{s:s}, s:s, s:[{s:b, s:s, s:s}], s:[s], s:s, s:s, s:s,"
        " s:[{s:s, s:s}, {s:s, s:s}],"
        " s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s, s:O},"
        " {s:s, s:{s:s}, s:s, s:s, s:s, s:O}, {s:s, s:s, s:s, s:s}]}",
        "id", id, "title", "New DB", "version", 1, "vault", "id", VA, "category", "LOGIN", "urls",
        "primary", 1, "href", "https://db.example.com", "label", "website", "tags", "prod",
        "lastEditedBy", SRV_UP, "createdAt", ts(T0 + 1000), "updatedAt", ts(T0 + 1000), "sections",
        "id", "sec1", "label", "Extra", "id", sec_id, "label", "Generated", "fields", "id",
        "notesPlain", "type", "STRING", "purpose", "NOTES", "label", "notesPlain", "id", "username",
        "type", "STRING", "purpose", "USERNAME", "label", "username", "value", "admin", "id",
        "password", "type", "CONCEALED", "purpose", "PASSWORD", "label", "password", "value", pw,
        "entropy", json_object_get(field_of(post, "password"), "entropy"), "id", "pin", "section",
        "id", "sec1", "type", "CONCEALED", "label", "pin", "value", pin, "entropy",
        json_object_get(field_of(post, "pin"), "entropy"), "id", host_id, "type", "STRING", "label",
        "host", "value", "db.internal");
    assert_json_eq(post, expected);

    /* what the api sealed (opened by the fake sync for version 1): the same content */
    ov = fb_part(0);
    det = fb_part(1);
    assert_json_eq(ov, json_pack("{s:s, s:[s], s:[{s:b, s:s, s:s}]}", "title", "New DB", "tags",
                                 "prod", "urls", "primary", 1, "href", "https://db.example.com",
                                 "label", "website"));
    assert_json_eq(det, json_pack("{s:O, s:O}", "sections", json_object_get(post, "sections"),
                                  "fields", json_object_get(post, "fields")));
    json_decref(ov);
    json_decref(det);

    /* read-your-writes: listed the moment the POST is answered, from the index */
    assert_int_equal(get(ITEMS_VA, g.full), 200);
    assert_string_equal(ids(), P(IA1 "," IA2 "," IA5 "," IA6 ",%s", id));
    expected = json_deep_copy(post);
    json_object_del(expected, "sections");
    json_object_del(expected, "fields");
    assert_json_eq(json_array_get(J(), 4), expected);
    ix = api_current_index(g.api);
    assert_string_equal(ix_item(ix, VA, id)->ai_title, "New DB");
    assert_int_equal(ix_item(ix, VA, id)->ai_version, 1);
    api_index_unref(ix);
    assert_int_equal(get("/v1/vaults/" VA, g.full), 200);
    assert_int_equal(json_integer_value(json_object_get(J(), "items")), 5);
    /* and read back whole: exactly what the POST answered */
    assert_int_equal(get(P(ITEMS_VA "/%s", id), g.full), 200);
    assert_json_eq(J(), json_incref(post));
    /* on the volume as sync applied it */
    memset(&vi, 0, sizeof(vi));
    assert_int_equal(volume_item_get(g.vol, VA, id, &vi), ERR_OK);
    assert_int_equal(vi.vi_version, 1);
    assert_string_equal(vi.vi_category, "LOGIN");
    assert_string_equal(vi.vi_last_edited_by, SRV_UP);
    assert_int_equal(vi.vi_created_at, T0 + 1000);
    volume_item_clear(&vi);

    /* five more, each listed at once */
    {
        char want[1024];
        size_t o;
        int i;

        assert_int_equal(get(ITEMS_VA, g.full), 200);
        o = (size_t)snprintf(want, sizeof(want), "%s", ids());
        for (i = 0; i < 5; i++) {
            assert_int_equal(send_json(HTTP_CLIENT_POST, ITEMS_VA, g.full,
                                       json_pack("{s:s, s:s}", "title", P("More %d", i), "category",
                                                 "PASSWORD")),
                             200);
            assert_int_equal(json_integer_value(json_object_get(J(), "version")), 1);
            o += (size_t)snprintf(want + o, sizeof(want) - o, ",%s",
                                  json_string_value(json_object_get(J(), "id")));
            assert_true(o < sizeof(want));
            assert_int_equal(get(ITEMS_VA, g.full), 200);
            assert_string_equal(ids(), want);
        }
    }
    assert_int_equal(fb_get(&fb.puts), 6);
    /* the watcher catches up with the volume: the vault's content version counts them (a
       wait for convergence, not a speed check: 1 s was exceeded once in CI, beside the
       PostgreSQL tests, and not in 20 runs here under 3-6 CPU burners) */
    {
        int64_t start = now_ms();

        for (;;) {
            assert_int_equal(get("/v1/vaults/" VA, g.full), 200);
            if (json_integer_value(json_object_get(J(), "contentVersion")) == 8 + 6)
                break;
            assert_true(now_ms() - start < 5000);
            nap(10);
        }
        assert_int_equal(json_integer_value(json_object_get(J(), "items")), 10);
    }
    json_decref(post);
    fb_assert_no_problem();
}

/* POST refusals: the body, the category, the token's access; none reaches sync. */
static void test_write_create_refusals(void **state)
{
    static const struct {
        const char *path;
        const char *body;
        int status;
        const char *message;
    } cases[] = {
        {ITEMS_VA, NULL, 400, "Request body is empty"},
        {ITEMS_VA, "{\"title\":", 400, "Invalid JSON in request body (line 1, column 9)"},
        {ITEMS_VA, "[]", 400, "the item must be a JSON object"},
        {ITEMS_VA, "{\"title\":\"x\",\"category\":\"CUSTOM\"}", 400,
         "category: CUSTOM items cannot be created through the Connect API"},
        {ITEMS_VA, "{\"title\":\"x\",\"category\":\"nope\"}", 400, "Invalid item category"},
        {ITEMS_VA, "{\"title\":\"x\"}", 400, "category is required"},
        {ITEMS_VA, "{\"vault\":{\"id\":\"" VB "\"},\"category\":\"LOGIN\"}", 400,
         "vault.id does not match the vault in the path"},
        {ITEMS_VA,
         "{\"category\":\"LOGIN\",\"fields\":[{\"purpose\":\"PASSWORD\",\"value\":\"a\"},"
         "{\"purpose\":\"PASSWORD\",\"value\":\"b\"}]}",
         400, "You can only use one \"password\" field."},
        {ITEMS_VA,
         "{\"category\":\"LOGIN\",\"fields\":[{\"id\":\"password\",\"generate\":true,"
         "\"recipe\":{\"length\":65}}]}",
         400, "fields[0].recipe.length must be an integer from 1 to 64"},
        {"/v1/vaults/" VB "/items", "{\"category\":\"LOGIN\"}", 401, H_WRITE}, /* read-only */
        {"/v1/vaults/" VX "/items", "{\"category\":\"LOGIN\"}", 401, H_WRITE},
        {"/v1/vaults/" VC "/items", "{\"category\":\"LOGIN\"}", 403, H_SCOPE}, /* out of scope */
        {"/v1/vaults/BAD/items", "{\"category\":\"LOGIN\"}", 400, "Invalid Vault UUID"},
    };
    const json_t *e;
    size_t i;

    (void)state;
    unlock_writes();
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int status = send_text(HTTP_CLIENT_POST, cases[i].path, g.full, cases[i].body);

        if (status != cases[i].status)
            fail_msg("case %zu: %d %s", i, status, body());
        assert_error(cases[i].status, cases[i].message);
    }
    /* the write-only token outside its vault; no token at all */
    assert_int_equal(send_text(HTTP_CLIENT_POST, "/v1/vaults/" VB "/items", g.wo, "{}"), 403);
    assert_error(403, H_SCOPE);
    assert_int_equal(send_text(HTTP_CLIENT_POST, ITEMS_VA, NULL, "{}"), 401);
    assert_error(401, H_TOKEN);
    assert_int_equal(fb_get(&fb.puts), 0);
    assert_int_equal(get(ITEMS_VA, g.full), 200);
    assert_string_equal(ids(), IA1 "," IA2 "," IA5 "," IA6);

    /* every refusal is a CREATE / DENY entry */
    assert_int_equal(get("/v1/activity", g.full), 200);
    assert_int_equal(json_array_size(J()), sizeof(cases) / sizeof(cases[0]) + 2 + 1 + 1);
    json_array_foreach(J(), i, e)
    {
        if (i == sizeof(cases) / sizeof(cases[0]) + 2) /* the listing */
            assert_entry(e, "SUCCESS", JTI_F, VA, NULL, 0, HTTP_CLIENT_USER_AGENT);
        else if (i < sizeof(cases) / sizeof(cases[0]) + 2)
            assert_string_equal(json_string_value(json_object_get(e, "action")), "CREATE");
    }
    assert_entry_as(json_array_get(J(), 0), "CREATE", "DENY", JTI_F, VA, NULL, 0,
                    HTTP_CLIENT_USER_AGENT);
    assert_entry_as(json_array_get(J(), 9), "CREATE", "DENY", JTI_F, VB, NULL, 0,
                    HTTP_CLIENT_USER_AGENT);
    assert_entry_as(json_array_get(J(), 14), "CREATE", "DENY", NULL, "", NULL, 0,
                    HTTP_CLIENT_USER_AGENT);
    fb_assert_no_problem();
}

/* The PUT body replacing IA2's content. */
static json_t *body_ia2(const char *title, json_int_t version)
{
    json_t *b = json_pack("{s:{s:s}, s:s, s:s, s:s, s:[s,s], s:[{s:s, s:s, s:s, s:s}]}", "vault",
                          "id", VA, "id", IA2, "title", title, "category", "API_CREDENTIAL", "tags",
                          "api", "v2", "fields", "id", "credential", "type", "CONCEALED", "label",
                          "credential", "value", "key-2");

    if (version)
        json_object_set_new(b, "version", json_integer(version));
    return b;
}

/* IA2 as stored after a PUT of body_ia2(title), at version, as a full token reads it. */
static json_t *item_ia2(const char *title, int version)
{
    return json_pack("{s:s, s:s, s:i, s:{s:s}, s:s, s:[s,s], s:s, s:s, s:s,"
                     " s:[{s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]}",
                     "id", IA2, "title", title, "version", version, "vault", "id", VA, "category",
                     "API_CREDENTIAL", "tags", "api", "v2", "lastEditedBy", SRV_UP, "createdAt",
                     ts(T0 + 11), "updatedAt", ts(T0 + 1000), "fields", "id", "username", "type",
                     "STRING", "label", "username", "id", "notesPlain", "type", "STRING", "purpose",
                     "NOTES", "label", "notesPlain", "id", "credential", "type", "CONCEALED",
                     "label", "credential", "value", "key-2");
}

/* PUT: the answer carries the version before the update and GET the new one; a stale
 * "version" is 409 before anything is sent; the password history is kept; 404s. */
static void test_write_put(void **state)
{
    json_t *det, *hist;
    int64_t t1, t2;

    (void)state;
    unlock_writes();
    assert_int_equal(
        send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IA2, g.full, body_ia2("API Key v2", 0)), 200);
    assert_json_eq(J(), item_ia2("API Key v2", 1)); /* Terraform's quirk: the version before */
    assert_int_equal(fb_get(&fb.puts), 1);
    assert_int_equal(fb_get64(&fb.put_base[0]), 1);
    /* listed at once with the new title and version; GET shows +1 */
    assert_int_equal(get(ITEMS_VA, g.full), 200);
    assert_string_equal(json_string_value(json_object_get(json_array_get(J(), 1), "title")),
                        "API Key v2");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(J(), 1), "version")), 2);
    assert_int_equal(get(ITEMS_VA "/" IA2, g.full), 200);
    assert_json_eq(J(), item_ia2("API Key v2", 2));

    /* a stale client version: 409 without asking sync */
    assert_int_equal(
        send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IA2, g.full, body_ia2("API Key v3", 1)), 409);
    assert_error(409, H_STALE);
    assert_int_equal(
        send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IA2, g.full, body_ia2("API Key v3", 7)), 409);
    assert_error(409, H_STALE);
    assert_int_equal(fb_get(&fb.puts), 1);
    /* the current one: written on it */
    assert_int_equal(
        send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IA2, g.full, body_ia2("API Key v3", 2)), 200);
    assert_json_eq(J(), item_ia2("API Key v3", 2));
    assert_int_equal(fb_get64(&fb.put_base[1]), 2);
    assert_int_equal(get(ITEMS_VA "/" IA2, g.full), 200);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 3);

    /* a new password: the old one goes to the (sealed) password history */
    t1 = (int64_t)time(NULL);
    assert_int_equal(
        send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IA1, g.full,
                  json_pack("{s:s, s:s, s:[{s:s, s:s, s:s, s:s}]}", "title", "Database Login",
                            "category", "LOGIN", "fields", "id", "password", "type", "CONCEALED",
                            "purpose", "PASSWORD", "value", "n3w-pa55")),
        200);
    t2 = (int64_t)time(NULL);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 1);
    assert_string_equal(field_str(J(), "password", "value"), "n3w-pa55");
    assert_null(json_object_get(J(), "passwordHistory"));
    /* 8 characters of lower case, digits and symbols: 8 * log2(26 + 10 + 33) */
    assert_near(json_object_get(field_of(J(), "password"), "entropy"), 8.0 * log2(69.0));
    det = fb_part(1);
    hist = json_object_get(det, "passwordHistory");
    assert_int_equal(json_array_size(hist), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 0), "value")),
                        "s3cr3t!");
    assert_true(json_integer_value(json_object_get(json_array_get(hist, 0), "time")) >= t1 &&
                json_integer_value(json_object_get(json_array_get(hist, 0), "time")) <= t2);
    json_decref(det);
    assert_int_equal(fb_get64(&fb.put_base[2]), 1);

    /* refusals before anything is sent */
    assert_int_equal(send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IX, g.full, body_ia2("x", 0)), 404);
    assert_error(404, "item not found");
    assert_int_equal(send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IA4, g.full, body_ia2("x", 0)), 404);
    assert_error(404, "item not found");
    assert_int_equal(send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IA1, g.full, body_ia2("x", 0)), 400);
    assert_error(400, "id does not match the item in the path");
    assert_int_equal(send_text(HTTP_CLIENT_PUT, ITEMS_VA "/" IA1, g.full, "{"), 400);
    assert_int_equal(send_json(HTTP_CLIENT_PUT, "/v1/vaults/" VB "/items/" IB1, g.full,
                               json_pack("{s:s}", "title", "x")),
                     401);
    assert_error(401, H_WRITE);
    assert_int_equal(send_json(HTTP_CLIENT_PUT, "/v1/vaults/" VC "/items/" IC1, g.full,
                               json_pack("{s:s}", "title", "x")),
                     403);
    assert_error(403, H_SCOPE);
    assert_int_equal(send_json(HTTP_CLIENT_PUT, ITEMS_VA "/BAD", g.full, body_ia2("x", 0)), 400);
    assert_error(400, "Invalid Item UUID");
    assert_int_equal(fb_get(&fb.puts), 3);
    fb_assert_no_problem();
}

/* Without a client version the api retries on sync's 409 over the version the other writer
 * stored; five 409s in a row give up with 409; with a client version one 409 is final. */
static void test_write_put_conflict(void **state)
{
    static const enum fb_act moved_once[] = {FB_409_MOVED};
    static const enum fb_act moved_5[] = {FB_409_MOVED, FB_409_MOVED, FB_409_MOVED, FB_409_MOVED,
                                          FB_409_MOVED};
    int i;

    (void)state;
    unlock_writes();
    fb_script(moved_once, 1);
    assert_int_equal(send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IA2, g.full, body_ia2("Mine", 0)),
                     200);
    assert_int_equal(fb_get(&fb.puts), 2);
    assert_int_equal(fb_get64(&fb.put_base[0]), 1);
    assert_int_equal(fb_get64(&fb.put_base[1]), 2); /* re-read, re-sealed for version 3 */
    assert_json_eq(J(), item_ia2("Mine", 2));
    assert_int_equal(get(ITEMS_VA "/" IA2, g.full), 200);
    assert_json_eq(J(), item_ia2("Mine", 3));
    assert_int_equal(get(ITEMS_VA, g.full), 200);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(J(), 1), "version")), 3);

    /* a PATCH is re-applied to the other writer's content */
    fb_script(moved_once, 1);
    assert_int_equal(send_text(HTTP_CLIENT_PATCH, ITEMS_VA "/" IA2, g.full,
                               "[{\"op\":\"add\",\"path\":\"/tags/-\",\"value\":\"patched\"}]"),
                     200);
    assert_int_equal(fb_get(&fb.puts), 4);
    assert_int_equal(fb_get64(&fb.put_base[2]), 3);
    assert_int_equal(fb_get64(&fb.put_base[3]), 4);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 5);
    assert_string_equal(json_string_value(json_object_get(J(), "title")), "Changed elsewhere");
    assert_json_eq(json_object_get(J(), "tags"), json_pack("[s]", "patched"));

    /* five conflicts in a row */
    fb_script(moved_5, 5);
    assert_int_equal(send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IA2, g.full, body_ia2("Lost", 0)),
                     409);
    assert_error(409, H_BUSY);
    assert_int_equal(fb_get(&fb.puts), 9);
    for (i = 0; i < 5; i++)
        assert_int_equal(fb_get64(&fb.put_base[4 + i]), 5 + i);
    assert_int_equal(get(ITEMS_VA "/" IA2, g.full), 200);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 10);
    assert_string_equal(json_string_value(json_object_get(J(), "title")), "Changed elsewhere");

    /* with the client's version: the first 409 is the answer */
    fb_script(moved_once, 1);
    assert_int_equal(send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IA2, g.full, body_ia2("Mine", 10)),
                     409);
    assert_error(409, H_STALE);
    assert_int_equal(fb_get(&fb.puts), 10);
    /* a PATCH naming a stale version: refused before sync */
    assert_int_equal(send_text(HTTP_CLIENT_PATCH, ITEMS_VA "/" IA2, g.full,
                               "[{\"op\":\"replace\",\"path\":\"/version\",\"value\":10},"
                               "{\"op\":\"replace\",\"path\":\"/title\",\"value\":\"x\"}]"),
                     409);
    assert_error(409, H_STALE);
    assert_int_equal(fb_get(&fb.puts), 10);
    /* the current one goes through */
    assert_int_equal(send_text(HTTP_CLIENT_PATCH, ITEMS_VA "/" IA2, g.full,
                               "[{\"op\":\"replace\",\"path\":\"/version\",\"value\":11},"
                               "{\"op\":\"replace\",\"path\":\"/title\",\"value\":\"x\"}]"),
                     200);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 12);
    assert_int_equal(fb_get64(&fb.put_base[10]), 11);
    fb_assert_no_problem();
}

/* PATCH: replace /title and a field's value, add and remove fields; the answer is the
 * patched item at its new version; a non-array is 400; an empty patch changes nothing. */
static void test_write_patch(void **state)
{
    json_t *before, *det;
    const json_t *otp;

    (void)state;
    unlock_writes();
    assert_int_equal(send_text(HTTP_CLIENT_PATCH, ITEMS_VA "/" IA1, g.full,
                               "[{\"op\":\"replace\",\"path\":\"/title\",\"value\":\"DB 2\"},"
                               "{\"op\":\"replace\",\"path\":\"/fields/password/value\","
                               "\"value\":\"changed-1\"},"
                               "{\"op\":\"add\",\"path\":\"/fields\",\"value\":{\"id\":\"extra\","
                               "\"type\":\"STRING\",\"label\":\"extra\",\"value\":\"e\"}},"
                               "{\"op\":\"remove\",\"path\":\"/fields/port\"}]"),
                     200);
    assert_int_equal(fb_get(&fb.puts), 1);
    assert_int_equal(fb_get64(&fb.put_base[0]), 1);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 2);
    assert_string_equal(json_string_value(json_object_get(J(), "title")), "DB 2");
    assert_string_equal(field_str(J(), "password", "value"), "changed-1");
    assert_string_equal(field_str(J(), "extra", "value"), "e");
    assert_null(field_of(J(), "port"));
    assert_string_equal(field_str(J(), "username", "value"), "alice");
    otp = field_of(J(), "otp");
    assert_non_null(otp);
    assert_int_equal(strlen(json_string_value(json_object_get(otp, "totp"))), 6);
    assert_int_equal(json_array_size(json_object_get(J(), "fields")), 5); /* + notesPlain */
    assert_json_eq(json_object_get(J(), "tags"), json_pack("[s,s]", "db", "Prod"));
    assert_string_equal(json_string_value(json_object_get(J(), "updatedAt")), ts(T0 + 1000));
    before = json_deep_copy(J());
    /* what was sealed: the same, plus the password history */
    det = fb_part(1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(det, "passwordHistory"), 0), "value")),
                        "s3cr3t!");
    json_decref(det);
    assert_int_equal(get(ITEMS_VA "/" IA1, g.full), 200);
    {
        json_t *a = json_deep_copy(J()), *b = json_deep_copy(before);

        /* the codes may have moved on between the two reads */
        json_object_del(json_array_get(json_object_get(a, "fields"), 3), "totp");
        json_object_del(json_array_get(json_object_get(b, "fields"), 3), "totp");
        assert_json_eq(a, b);
        json_decref(a);
    }

    /* not an array: 400; an invalid operation: 400; nothing sent */
    assert_int_equal(send_text(HTTP_CLIENT_PATCH, ITEMS_VA "/" IA1, g.full,
                               "{\"op\":\"replace\",\"path\":\"/title\",\"value\":\"x\"}"),
                     400);
    assert_error(400, H_PATCH_ARRAY);
    assert_int_equal(send_text(HTTP_CLIENT_PATCH, ITEMS_VA "/" IA1, g.full,
                               "[{\"op\":\"move\",\"path\":\"/title\",\"from\":\"/x\"}]"),
                     400);
    assert_error(400, "Invalid patch operation 0: the move operation is not supported, only add, "
                      "remove and replace");
    assert_int_equal(send_text(HTTP_CLIENT_PATCH, ITEMS_VA "/" IA1, g.full,
                               "[{\"op\":\"remove\",\"path\":\"/fields/nope\"}]"),
                     400);
    assert_int_equal(fb_get(&fb.puts), 1);

    /* empty: the item as it is, the same version, no bus call */
    assert_int_equal(send_text(HTTP_CLIENT_PATCH, ITEMS_VA "/" IA1, g.full, "[]"), 200);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 2);
    assert_string_equal(json_string_value(json_object_get(J(), "title")), "DB 2");
    assert_int_equal(fb_get(&fb.puts), 1);
    assert_int_equal(get(ITEMS_VA "/" IA1, g.full), 200);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 2);

    /* replace "/" with a whole item: a PUT */
    assert_int_equal(
        send_text(HTTP_CLIENT_PATCH, ITEMS_VA "/" IA1, g.full,
                  "[{\"op\":\"replace\",\"path\":\"/\",\"value\":{\"title\":\"Whole\","
                  "\"category\":\"LOGIN\",\"fields\":[{\"id\":\"username\",\"value\":\"bob\"}]}}]"),
        200);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 3);
    assert_string_equal(json_string_value(json_object_get(J(), "title")), "Whole");
    assert_string_equal(field_str(J(), "username", "value"), "bob");
    assert_null(field_of(J(), "otp"));
    assert_int_equal(fb_get(&fb.puts), 2);
    json_decref(before);
    fb_assert_no_problem();
}

/* DELETE: exactly 204 with an empty body, then 404 (listing at once); 409 when the item
 * changed meanwhile; refusals before anything is sent. */
static void test_write_delete(void **state)
{
    static const enum fb_act moved_once[] = {FB_409_MOVED};
    struct volume_item vi;
    int64_t start;

    (void)state;
    unlock_writes();
    assert_int_equal(http(HTTP_CLIENT_DELETE, ITEMS_VA "/" IA2, g.full, NULL), 204);
    assert_int_equal(g.r.hr_body.b_len, 0);
    assert_string_equal(hdr("1Password-Connect-Version"), "1.8.1");
    assert_int_equal(fb_get(&fb.deletes), 1);
    assert_int_equal(fb_get64(&fb.del_base[0]), 1);
    assert_int_equal(get(ITEMS_VA, g.full), 200);
    assert_string_equal(ids(), IA1 "," IA5 "," IA6);
    expect_error(ITEMS_VA "/" IA2, g.full, 404, "item not found");
    memset(&vi, 0, sizeof(vi));
    assert_int_equal(volume_item_get(g.vol, VA, IA2, &vi), ERR_NOT_FOUND);
    assert_int_equal(http(HTTP_CLIENT_DELETE, ITEMS_VA "/" IA2, g.full, NULL), 404);
    assert_error(404, "item not found");
    assert_int_equal(fb_get(&fb.deletes), 1);

    /* changed by another writer meanwhile: 409, the item stays */
    fb_script(moved_once, 1);
    assert_int_equal(http(HTTP_CLIENT_DELETE, ITEMS_VA "/" IA1, g.full, NULL), 409);
    assert_error(409, H_DEL_CONFLICT);
    assert_int_equal(fb_get(&fb.deletes), 2);
    assert_int_equal(get(ITEMS_VA "/" IA1, g.full), 200);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 2);
    assert_string_equal(json_string_value(json_object_get(J(), "title")), "Changed elsewhere");
    /* once the listing shows the new version, the retry deletes it */
    start = now_ms();
    for (;;) {
        assert_int_equal(get(ITEMS_VA, g.full), 200);
        if (json_integer_value(json_object_get(json_array_get(J(), 0), "version")) == 2)
            break;
        assert_true(now_ms() - start < 1000);
        nap(10);
    }
    assert_int_equal(http(HTTP_CLIENT_DELETE, ITEMS_VA "/" IA1 "/", g.full, NULL), 204);
    assert_int_equal(fb_get64(&fb.del_base[2]), 2);
    assert_int_equal(get(ITEMS_VA, g.full), 200);
    assert_string_equal(ids(), IA5 "," IA6);

    /* refusals */
    assert_int_equal(http(HTTP_CLIENT_DELETE, "/v1/vaults/" VB "/items/" IB1, g.full, NULL), 401);
    assert_error(401, H_WRITE);
    assert_int_equal(http(HTTP_CLIENT_DELETE, "/v1/vaults/" VC "/items/" IC1, g.full, NULL), 403);
    assert_error(403, H_SCOPE);
    assert_int_equal(http(HTTP_CLIENT_DELETE, ITEMS_VA "/" IX, g.full, NULL), 404);
    assert_error(404, "item not found");
    assert_int_equal(http(HTTP_CLIENT_DELETE, ITEMS_VA "/BAD", g.full, NULL), 400);
    assert_error(400, "Invalid Item UUID");
    assert_int_equal(fb_get(&fb.deletes), 3);
    fb_assert_no_problem();
}

/* A write-only token writes, and its answers carry no values, codes or entropy; what was
 * sealed holds them all. */
static void test_write_only_writes(void **state)
{
    char id[ID_LEN + 1];
    json_t *det;

    (void)state;
    unlock_writes();
    assert_int_equal(send_json(HTTP_CLIENT_POST, ITEMS_VA, g.wo,
                               json_pack("{s:s, s:s, s:[{s:s, s:b}, {s:s, s:s, s:s}, {s:s, s:s}]}",
                                         "title", "From CI", "category", "LOGIN", "fields", "id",
                                         "password", "generate", 1, "id", "otp", "type", "OTP",
                                         "value", OTP_VALUE, "id", "username", "value", "ci")),
                     200);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 1);
    assert_string_equal(json_string_value(json_object_get(J(), "title")), "From CI");
    assert_redacted(J());
    assert_non_null(field_of(J(), "password"));
    assert_string_equal(field_str(J(), "otp", "type"), "OTP");
    assert_null(strstr(body(), "GEZDGNBV"));
    (void)snprintf(id, sizeof(id), "%s", fb_str(fb.item));
    assert_string_equal(id, json_string_value(json_object_get(J(), "id")));
    det = fb_part(1);
    assert_int_equal(strlen(field_str(det, "password", "value")), 32); /* the default recipe */
    assert_true(json_is_number(json_object_get(field_of(det, "password"), "entropy")));
    assert_string_equal(field_str(det, "otp", "value"), OTP_VALUE);
    assert_string_equal(field_str(det, "username", "value"), "ci");
    json_decref(det);
    /* readable by the full token, not by the writer */
    expect_error(P(ITEMS_VA "/%s", id), g.wo, 403, H_READ);
    assert_int_equal(get(P(ITEMS_VA "/%s", id), g.full), 200);
    assert_string_equal(field_str(J(), "username", "value"), "ci");
    assert_int_equal(strlen(json_string_value(json_object_get(field_of(J(), "otp"), "totp"))), 6);

    /* PUT and PATCH: redacted answers too */
    assert_int_equal(
        send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IA1, g.wo,
                  json_pack("{s:s, s:s, s:[{s:s, s:s}, {s:s, s:s, s:s}]}", "title", "Rotated",
                            "category", "LOGIN", "fields", "id", "password", "value", "rotated-pw",
                            "id", "otp", "type", "OTP", "value", OTP_VALUE)),
        200);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 1);
    assert_redacted(J());
    assert_null(strstr(body(), "rotated-pw"));
    assert_int_equal(send_text(HTTP_CLIENT_PATCH, ITEMS_VA "/" IA1, g.wo,
                               "[{\"op\":\"replace\",\"path\":\"/title\",\"value\":\"Again\"}]"),
                     200);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 3);
    assert_redacted(J());
    assert_null(strstr(body(), "rotated-pw"));
    assert_null(strstr(body(), "alice"));
    /* an empty PATCH does not read either */
    assert_int_equal(send_text(HTTP_CLIENT_PATCH, ITEMS_VA "/" IA1, g.wo, "[]"), 200);
    assert_redacted(J());
    assert_int_equal(get(ITEMS_VA "/" IA1, g.full), 200);
    assert_string_equal(field_str(J(), "password", "value"), "rotated-pw");
    assert_string_equal(json_string_value(json_object_get(J(), "title")), "Again");
    /* DELETE */
    assert_int_equal(http(HTTP_CLIENT_DELETE, ITEMS_VA "/" IA1, g.wo, NULL), 204);
    assert_int_equal(fb_get(&fb.puts), 3);
    assert_int_equal(fb_get(&fb.deletes), 1);
    fb_assert_no_problem();
}

/* Sync's refusals map to the client's answer; nothing is written. */
static void test_write_sync_errors(void **state)
{
    static const struct {
        enum fb_act act;
        int status;
        const char *message;
    } cases[] = {
        {FB_502, 502, FB_MSG_502}, {FB_503, 500, FB_MSG_503}, {FB_504, 504, FB_MSG_504},
        {FB_404, 404, FB_MSG_404}, {FB_403, 403, FB_MSG_403},
    };
    static const enum fb_act hang[] = {FB_HANG};
    size_t i;
    int64_t t;
    int nput = 0, ndel = 0;

    (void)state;
    unlock_writes();
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fb_script(&cases[i].act, 1);
        assert_int_equal(send_json(HTTP_CLIENT_POST, ITEMS_VA, g.full,
                                   json_pack("{s:s, s:s}", "title", "t", "category", "LOGIN")),
                         cases[i].status);
        assert_error(cases[i].status, cases[i].message);
        fb_script(&cases[i].act, 1);
        assert_int_equal(send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IA2, g.full, body_ia2("t", 0)),
                         cases[i].status);
        assert_error(cases[i].status, cases[i].message);
        fb_script(&cases[i].act, 1);
        assert_int_equal(http(HTTP_CLIENT_DELETE, ITEMS_VA "/" IA2, g.full, NULL), cases[i].status);
        assert_error(cases[i].status, cases[i].message);
        nput += 2;
        ndel++;
        assert_int_equal(fb_get(&fb.puts), nput);
        assert_int_equal(fb_get(&fb.deletes), ndel);
    }
    /* nothing was written */
    assert_int_equal(get(ITEMS_VA, g.full), 200);
    assert_string_equal(ids(), IA1 "," IA2 "," IA5 "," IA6);
    assert_int_equal(get(ITEMS_VA "/" IA2, g.full), 200);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 1);
    assert_string_equal(json_string_value(json_object_get(J(), "title")), "API Key");

    /* sync does not answer: 504 once the bus call runs out (OP_SYNC_TIMEOUT + 1 s) */
    fb_script(hang, 1);
    t = now_ms();
    assert_int_equal(send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IA2, g.full, body_ia2("t", 0)), 504);
    t = now_ms() - t;
    assert_error(504, H_SYNC_TIMEOUT);
    assert_true(t >= 1800 && t < 4000);
    /* the bus is usable again at once */
    assert_int_equal(send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IA2, g.full, body_ia2("After", 0)),
                     200);
    assert_int_equal(get(ITEMS_VA "/" IA2, g.full), 200);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 2);
    t = now_ms();
    while (fb_get(&fb.hanging)) {
        assert_true(now_ms() - t < 3000);
        nap(10);
    }
    fb_assert_no_problem();
}

/* No sync process on the bus: 502, nothing written. */
static void test_write_no_sync(void **state)
{
    (void)state;
    unlock_api();
    assert_int_equal(send_json(HTTP_CLIENT_POST, ITEMS_VA, g.full,
                               json_pack("{s:s, s:s}", "title", "t", "category", "LOGIN")),
                     502);
    assert_error(502, H_NO_SYNC);
    assert_int_equal(send_json(HTTP_CLIENT_PUT, ITEMS_VA "/" IA2, g.full, body_ia2("t", 0)), 502);
    assert_error(502, H_NO_SYNC);
    assert_int_equal(send_text(HTTP_CLIENT_PATCH, ITEMS_VA "/" IA2, g.full,
                               "[{\"op\":\"replace\",\"path\":\"/title\",\"value\":\"x\"}]"),
                     502);
    assert_error(502, H_NO_SYNC);
    assert_int_equal(http(HTTP_CLIENT_DELETE, ITEMS_VA "/" IA2, g.full, NULL), 502);
    assert_error(502, H_NO_SYNC);
    assert_int_equal(get(ITEMS_VA, g.full), 200);
    assert_string_equal(ids(), IA1 "," IA2 "," IA5 "," IA6);
    assert_int_equal(get(ITEMS_VA "/" IA2, g.full), 200);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 1);
}

/* Writes leave CREATE / UPDATE / DELETE entries with the item's version; the api tells sync
 * that entries wait (op "activity"). */
static void test_write_activity(void **state)
{
    static const enum fb_act conflict[] = {FB_409_MOVED};
    const char *ua = HTTP_CLIENT_USER_AGENT;
    char id[ID_LEN + 1];
    const json_t *e;
    int64_t start;

    (void)state;
    unlock_writes();
    assert_int_equal(send_json(HTTP_CLIENT_POST, ITEMS_VA, g.full,
                               json_pack("{s:s, s:s}", "title", "t", "category", "LOGIN")),
                     200);
    (void)snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(J(), "id")));
    assert_int_equal(send_json(HTTP_CLIENT_PUT, P(ITEMS_VA "/%s", id), g.full,
                               json_pack("{s:s, s:s}", "title", "t2", "category", "LOGIN")),
                     200);
    assert_int_equal(send_text(HTTP_CLIENT_PATCH, P(ITEMS_VA "/%s", id), g.wo,
                               "[{\"op\":\"replace\",\"path\":\"/title\",\"value\":\"t3\"}]"),
                     200);
    assert_int_equal(send_json(HTTP_CLIENT_PUT, "/v1/vaults/" VB "/items/" IB1, g.full,
                               json_pack("{s:s}", "title", "x")),
                     401);
    fb_script(conflict, 1);
    assert_int_equal(http(HTTP_CLIENT_DELETE, ITEMS_VA "/" IA2, g.full, NULL), 409);
    assert_int_equal(http(HTTP_CLIENT_DELETE, P(ITEMS_VA "/%s", id), g.full, NULL), 204);
    assert_int_equal(send_text(HTTP_CLIENT_POST, "/v1/vaults/" VC "/items", g.full, "{}"), 403);

    /* the watcher writes them and tells sync, without /v1/activity being read */
    start = now_ms();
    while (fb_get(&fb.activities) < 1) {
        assert_true(now_ms() - start < 2000);
        nap(10);
    }
    assert_int_equal(get("/v1/activity", g.full), 200);
    assert_string_equal(hdr("Content-Range"), "1-8/8");
    e = J();
    assert_entry_as(json_array_get(e, 0), "CREATE", "SUCCESS", JTI_F, VA, id, 1, ua);
    assert_entry_as(json_array_get(e, 1), "UPDATE", "SUCCESS", JTI_F, VA, id, 2, ua);
    assert_entry_as(json_array_get(e, 2), "UPDATE", "SUCCESS", JTI_W, VA, id, 3, ua);
    assert_entry_as(json_array_get(e, 3), "UPDATE", "DENY", JTI_F, VB, IB1, 0, ua);
    assert_entry_as(json_array_get(e, 4), "DELETE", "DENY", JTI_F, VA, IA2, 1, ua);
    assert_entry_as(json_array_get(e, 5), "DELETE", "SUCCESS", JTI_F, VA, id, 3, ua);
    assert_entry_as(json_array_get(e, 6), "CREATE", "DENY", JTI_F, VC, NULL, 0, ua);
    assert_entry(json_array_get(e, 7), "SUCCESS", JTI_F, "", NULL, 0, ua);
    fb_assert_no_problem();
}

/* Writers of different items of one vault, at the same time: no spurious 409. */
struct writer {
    int wr_port;
    const char *wr_item;
    int wr_ok; /* OUT: 200s */
};

/* Thread: five PATCHes of one item with its own client. */
static void *writer_run(void *arg)
{
    struct writer *w = arg;
    struct http_client_config cc;
    struct http_client_header hh[2] = {{"Authorization", g.full},
                                       {"Content-Type", "application/json"}};
    struct http_client *c = NULL;
    char url[64], path[128], text[128];
    int i;

    (void)snprintf(url, sizeof(url), "http://127.0.0.1:%d", w->wr_port);
    (void)snprintf(path, sizeof(path), ITEMS_VA "/%s", w->wr_item);
    memset(&cc, 0, sizeof(cc));
    cc.hcc_base_url = url;
    cc.hcc_proxy = "";
    cc.hcc_timeout_ms = 30000;
    if (http_client_new(&c, &cc, NULL, 0) != ERR_OK)
        return NULL;
    for (i = 0; i < 5; i++) {
        struct http_client_request rq;
        struct http_client_response resp;

        (void)snprintf(text, sizeof(text),
                       "[{\"op\":\"replace\",\"path\":\"/title\",\"value\":\"%s %d\"}]", w->wr_item,
                       i);
        memset(&rq, 0, sizeof(rq));
        rq.hq_method = HTTP_CLIENT_PATCH;
        rq.hq_path = path;
        rq.hq_headers = hh;
        rq.hq_nheaders = 2;
        rq.hq_body = text;
        rq.hq_body_len = strlen(text);
        if (http_client_request(c, &rq, &resp) == ERR_OK) {
            w->wr_ok += resp.hr_status == 200;
            http_client_response_free(&resp);
        }
    }
    http_client_free(c);
    return NULL;
}

/* Two threads PATCH two items of VA five times each at once: every write is 200. */
static void test_write_parallel(void **state)
{
    struct writer w[2] = {{0, IA1, 0}, {0, IA2, 0}};
    pthread_t th[2];
    int i;

    (void)state;
    unlock_writes();
    for (i = 0; i < 2; i++) {
        w[i].wr_port = api_port(g.api);
        assert_int_equal(pthread_create(&th[i], NULL, writer_run, &w[i]), 0);
    }
    for (i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(w[0].wr_ok, 5);
    assert_int_equal(w[1].wr_ok, 5);
    assert_int_equal(fb_get(&fb.puts), 10);
    assert_int_equal(get(ITEMS_VA "/" IA1, g.full), 200);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 6);
    assert_string_equal(json_string_value(json_object_get(J(), "title")), IA1 " 4");
    assert_int_equal(get(ITEMS_VA "/" IA2, g.full), 200);
    assert_int_equal(json_integer_value(json_object_get(J(), "version")), 6);
    fb_assert_no_problem();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_locked, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unlock_refusals, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unlock_by_data_request, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_token_checks_unlocked, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_revocation, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_signing_keys, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_vaults, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_vault_filters, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_items, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_item, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_files, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_file_content, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_order_and_ids, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_write_only, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_activity, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_activity_paging, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_activity_backlog_cap, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_activity_complete, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_activity_flush_waits, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_metrics, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_watcher, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_index_build, fx_setup, fx_teardown),
        cmocka_unit_test_prestate_setup_teardown(test_not_synced, fx_setup, fx_teardown,
                                                 &p_unsynced),
        cmocka_unit_test_prestate_setup_teardown(test_sync_completes_while_waiting, fx_setup,
                                                 fx_teardown, &p_unsynced_long),
        cmocka_unit_test_prestate_setup_teardown(test_other_servers_volume, fx_setup, fx_teardown,
                                                 &p_other_server),
        cmocka_unit_test_prestate_setup_teardown(test_stop_while_waiting, fx_setup, fx_teardown,
                                                 &p_unsynced_long),
        cmocka_unit_test_setup_teardown(test_stop_flushes_activity, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_sync_process, fx_setup, fx_teardown),
        cmocka_unit_test_prestate_setup_teardown(test_bus_unlock, fx_setup, fx_teardown, &p_bus),
        cmocka_unit_test_prestate_setup_teardown(test_write_create, fx_setup, fx_teardown, &p_bus),
        cmocka_unit_test_prestate_setup_teardown(test_write_create_refusals, fx_setup, fx_teardown,
                                                 &p_bus),
        cmocka_unit_test_prestate_setup_teardown(test_write_put, fx_setup, fx_teardown, &p_bus),
        cmocka_unit_test_prestate_setup_teardown(test_write_put_conflict, fx_setup, fx_teardown,
                                                 &p_bus),
        cmocka_unit_test_prestate_setup_teardown(test_write_patch, fx_setup, fx_teardown, &p_bus),
        cmocka_unit_test_prestate_setup_teardown(test_write_delete, fx_setup, fx_teardown, &p_bus),
        cmocka_unit_test_prestate_setup_teardown(test_write_only_writes, fx_setup, fx_teardown,
                                                 &p_bus),
        cmocka_unit_test_prestate_setup_teardown(test_write_sync_errors, fx_setup, fx_teardown,
                                                 &p_bus),
        cmocka_unit_test_setup_teardown(test_write_no_sync, fx_setup, fx_teardown),
        cmocka_unit_test_prestate_setup_teardown(test_write_activity, fx_setup, fx_teardown,
                                                 &p_bus),
        cmocka_unit_test_prestate_setup_teardown(test_write_parallel, fx_setup, fx_teardown,
                                                 &p_bus),
    };
    int rc;

    if (crypto_init() != ERR_OK || http_client_global_init() != ERR_OK)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    http_client_global_cleanup();
    return rc;
}
