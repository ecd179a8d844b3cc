/*
 * test_bus.c - the bus between api and sync (src/bus/, docs/bus.md): the bus key, the frame
 * plaintext codec, the endpoint rule, and real servers and clients in this process over unix
 * sockets and TCP (port 0): round trips with JSON and secrets both ways, messages at and
 * over each cap, a wrong key, garbage, truncated, oversized, forged and replayed frames from
 * a raw socket that speaks the protocol as docs/bus.md writes it down (an independent second
 * implementation), concurrent clients, the connection limit, timeouts, stopping with idle
 * clients, reconnecting after a restart, listening errors, and allocation failures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "common/alloc.h"
#include "common/codec.h"
#include "common/config.h"
#include "common/log.h"
#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "crypto/kdf.h"
#include "crypto/x25519.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CALL_MS      5000

/* The wire constants, as docs/bus.md states them (not taken from the implementation). */
#define W_MAGIC       "sesame-bus/1"
#define W_MAGIC_LEN   12
#define W_HELLO_LEN   76 /* magic, 32-byte nonce, 32-byte X25519 public key */
#define W_INFO_C2S    "sesame bus v1 client to server"
#define W_INFO_S2C    "sesame bus v1 server to client"
#define W_CONFIRM_C   "sesame bus v1 client confirm"
#define W_CONFIRM_S   "sesame bus v1 server confirm"
#define W_CONFIRM_LEN 28

static const unsigned char g_key_a[BUS_KEY_BYTES] = {
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};
static const unsigned char g_key_b[BUS_KEY_BYTES] = {
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x11};

static char g_dir[64]; /* a fresh directory for the tests' sockets */

/* ---- helpers ----------------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Writes g_dir/name into out. */
static void sock_path(char *out, size_t cap, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", g_dir, name);

    assert_true(n > 0 && (size_t)n < cap);
}

/* What the test handler counts. */
struct hctx {
    pthread_mutex_t h_mu;
    int h_calls;
};

static struct hctx g_h = {PTHREAD_MUTEX_INITIALIZER, 0};

static int calls(void)
{
    int n;

    pthread_mutex_lock(&g_h.h_mu);
    n = g_h.h_calls;
    pthread_mutex_unlock(&g_h.h_mu);
    return n;
}

static void calls_reset(void)
{
    pthread_mutex_lock(&g_h.h_mu);
    g_h.h_calls = 0;
    pthread_mutex_unlock(&g_h.h_mu);
}

/*
 * The test handler, by "op": "echo" answers {"ok":true,"echo":<request>,"n":<calls so far>}
 * with the request's secret reversed; "size" answers the length of "s"; "big" answers
 * {"s":"aaa..."} with "len" bytes; "sleep" sleeps "ms" first; "fail" fails; "array" answers
 * a JSON array (not an object); anything else is an unknown operation.
 */
static enum err handler(void *ctx, const struct bus_msg *req, struct bus_msg *resp)
{
    struct hctx *h = ctx;
    const char *op = json_string_value(json_object_get(req->bm_json, "op"));
    int n;
    size_t i;

    pthread_mutex_lock(&h->h_mu);
    n = ++h->h_calls;
    pthread_mutex_unlock(&h->h_mu);
    if (!op)
        op = "";
    if (strcmp(op, "echo") == 0) {
        resp->bm_json = json_pack("{s:b,s:O,s:i}", "ok", 1, "echo", req->bm_json, "n", n);
        if (req->bm_secret_len > 0) {
            resp->bm_secret = secmem_alloc(req->bm_secret_len);
            if (!resp->bm_secret)
                return ERR_NOMEM;
            for (i = 0; i < req->bm_secret_len; i++)
                resp->bm_secret[i] = req->bm_secret[req->bm_secret_len - 1 - i];
            resp->bm_secret_len = req->bm_secret_len;
        }
    } else if (strcmp(op, "size") == 0) {
        resp->bm_json =
            json_pack("{s:b,s:I}", "ok", 1, "len",
                      (json_int_t)json_string_length(json_object_get(req->bm_json, "s")));
    } else if (strcmp(op, "big") == 0) {
        size_t len = (size_t)json_integer_value(json_object_get(req->bm_json, "len"));
        char *s = malloc(len);

        if (!s)
            return ERR_NOMEM;
        memset(s, 'a', len);
        resp->bm_json = json_pack("{s:s%}", "s", s, len);
        free(s);
    } else if (strcmp(op, "sleep") == 0) {
        sleep_ms((int)json_integer_value(json_object_get(req->bm_json, "ms")));
        resp->bm_json = json_pack("{s:b}", "ok", 1);
    } else if (strcmp(op, "fail") == 0) {
        return ERR_INTERNAL;
    } else if (strcmp(op, "array") == 0) {
        resp->bm_json = json_array();
    } else {
        resp->bm_json = json_pack("{s:b,s:s}", "ok", 0, "message", "unknown operation");
    }
    return resp->bm_json ? ERR_OK : ERR_NOMEM;
}

static struct bus_server *start_server(const char *path, const char *host, unsigned port,
                                       const unsigned char *key)
{
    struct bus_server_config cfg;
    struct bus_server *s = NULL;
    char msg[256];

    memset(&cfg, 0, sizeof(cfg));
    cfg.bs_listen.be_path = path;
    cfg.bs_listen.be_host = host;
    cfg.bs_listen.be_port = port;
    cfg.bs_key = key;
    cfg.bs_handler = handler;
    cfg.bs_ctx = &g_h;
    assert_int_equal(bus_server_start(&s, &cfg, msg, sizeof(msg)), ERR_OK);
    assert_string_equal(msg, "");
    assert_non_null(s);
    return s;
}

static struct bus_client *new_client(const char *path, const char *host, unsigned port,
                                     const unsigned char *key)
{
    struct bus_endpoint ep = {path, host, port};
    struct bus_client *c = NULL;

    assert_int_equal(bus_client_new(&c, &ep, key), ERR_OK);
    assert_non_null(c);
    return c;
}

/* Fills m with the JSON text js and (if len) a secure-memory copy of secret. */
static void msg_make(struct bus_msg *m, const char *js, const void *secret, size_t len)
{
    json_error_t jerr;

    memset(m, 0, sizeof(*m));
    m->bm_json = json_loads(js, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(m->bm_json);
    if (len) {
        m->bm_secret = secmem_alloc(len);
        assert_non_null(m->bm_secret);
        memcpy(m->bm_secret, secret, len);
        m->bm_secret_len = len;
    }
}

/* Returns the compact, key-sorted JSON text of j (static buffer). */
static const char *js(const json_t *j)
{
    static char out[4096];
    size_t n = json_dumpb(j, out, sizeof(out) - 1, JSON_COMPACT | JSON_SORT_KEYS);

    assert_true(n > 0 && n < sizeof(out));
    out[n] = '\0';
    return out;
}

/* One echo call on c: checks the whole answer. Returns the "n" it carried. */
static int echo_call(struct bus_client *c, const char *tag)
{
    struct bus_msg req, resp;
    char text[256], want[512];
    unsigned char sec[3] = {1, 2, 3};
    int n;

    (void)snprintf(text, sizeof(text), "{\"op\":\"echo\",\"tag\":\"%s\"}", tag);
    msg_make(&req, text, sec, sizeof(sec));
    assert_int_equal(bus_client_call(c, &req, &resp, CALL_MS), ERR_OK);
    n = (int)json_integer_value(json_object_get(resp.bm_json, "n"));
    (void)snprintf(want, sizeof(want),
                   "{\"echo\":{\"op\":\"echo\",\"tag\":\"%s\"},\"n\":%d,\"ok\":true}", tag, n);
    assert_string_equal(js(resp.bm_json), want);
    assert_int_equal(resp.bm_secret_len, 3);
    assert_memory_equal(resp.bm_secret, "\x03\x02\x01", 3);
    bus_msg_clear(&req);
    bus_msg_clear(&resp);
    return n;
}

/* ---- a raw client that speaks docs/bus.md on its own --------------------------------------- */

struct raw {
    int r_fd;
    unsigned char r_send_key[32];
    unsigned char r_recv_key[32];
    uint64_t r_send_seq, r_recv_seq;
    unsigned char r_sent[8192]; /* every byte written, for replaying */
    size_t r_sent_len;
};

static int raw_connect_unix(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void raw_open(struct raw *r, const char *path)
{
    memset(r, 0, sizeof(*r));
    r->r_fd = raw_connect_unix(path);
}

static void raw_write(struct raw *r, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t done = 0;

    if (r->r_sent_len + n <= sizeof(r->r_sent)) {
        memcpy(r->r_sent + r->r_sent_len, p, n);
        r->r_sent_len += n;
    }
    while (done < n) {
        ssize_t w = send(r->r_fd, b + done, n - done, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the server may have closed already; the test checks that */
        done += (size_t)w;
    }
}

/* Reads exactly n bytes within ms. Returns how many arrived. */
static size_t raw_read(int fd, void *p, size_t n, int ms)
{
    unsigned char *b = p;
    size_t got = 0;
    int64_t end = now_ms() + ms;

    while (got < n) {
        struct pollfd pf = {fd, POLLIN, 0};
        int64_t left = end - now_ms();
        ssize_t r;

        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            break;
        r = recv(fd, b + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* Returns 1 if the peer closes fd within ms (data before the end is discarded). */
static int raw_closed_within(int fd, int ms)
{
    unsigned char junk[4096];
    int64_t end = now_ms() + ms;

    for (;;) {
        struct pollfd pf = {fd, POLLIN, 0};
        int64_t left = end - now_ms();
        ssize_t r;

        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            return 0;
        r = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return 1;
    }
}

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void w_nonce(unsigned char n[12], uint64_t seq)
{
    int i;

    memset(n, 0, 4);
    for (i = 0; i < 8; i++)
        n[4 + i] = (unsigned char)(seq >> (56 - 8 * i));
}

/* Seals pt as one frame into out (4 + ptlen + 16 bytes) with the next send counter. */
static size_t raw_seal(struct raw *r, unsigned char *out, const void *pt, size_t ptlen)
{
    unsigned char nonce[12];

    be32(out, (uint32_t)(ptlen + 16));
    w_nonce(nonce, r->r_send_seq++);
    assert_int_equal(aead_aes256gcm_encrypt(out + 4, pt, ptlen, out, 4, nonce, r->r_send_key),
                     ERR_OK);
    return 4 + ptlen + 16;
}

static void raw_send_frame(struct raw *r, const void *pt, size_t ptlen)
{
    unsigned char out[4096];

    assert_true(ptlen + 20 <= sizeof(out));
    raw_write(r, out, raw_seal(r, out, pt, ptlen));
}

/* Receives one frame's plaintext into pt (cap). Returns its length, or -1. */
static long raw_recv_frame(struct raw *r, unsigned char *pt, size_t cap)
{
    unsigned char hdr[4], ct[4096], nonce[12];
    size_t len;

    if (raw_read(r->r_fd, hdr, 4, CALL_MS) != 4)
        return -1;
    len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
    if (len < 16 || len > sizeof(ct) || len - 16 > cap)
        return -1;
    if (raw_read(r->r_fd, ct, len, CALL_MS) != len)
        return -1;
    w_nonce(nonce, r->r_recv_seq++);
    if (aead_aes256gcm_decrypt(pt, ct, len, hdr, 4, nonce, r->r_recv_key) != ERR_OK)
        return -1;
    return (long)(len - 16);
}

/* The client's handshake per docs/bus.md. Returns 1 when the server's confirmation verified. */
static int raw_handshake(struct raw *r, const unsigned char *key)
{
    unsigned char hc[W_HELLO_LEN], hs[W_HELLO_LEN], salt[64], esk[32], ikm[64];
    unsigned char info[sizeof(W_INFO_C2S) - 1 + 2 * W_HELLO_LEN], pt[64];
    const size_t ll = sizeof(W_INFO_C2S) - 1;

    memcpy(hc, W_MAGIC, W_MAGIC_LEN);
    assert_int_equal(crypto_random(hc + W_MAGIC_LEN, 32), ERR_OK);
    assert_int_equal(x25519_keypair(hc + W_MAGIC_LEN + 32, esk), ERR_OK);
    raw_write(r, hc, sizeof(hc));
    if (raw_read(r->r_fd, hs, sizeof(hs), CALL_MS) != sizeof(hs))
        return 0;
    assert_memory_equal(hs, W_MAGIC, W_MAGIC_LEN);
    memcpy(ikm, key, 32);
    assert_int_equal(x25519_scalarmult(ikm + 32, esk, hs + W_MAGIC_LEN + 32), ERR_OK);
    memcpy(salt, hc + W_MAGIC_LEN, 32);
    memcpy(salt + 32, hs + W_MAGIC_LEN, 32);
    memcpy(info + ll, hc, W_HELLO_LEN);
    memcpy(info + ll + W_HELLO_LEN, hs, W_HELLO_LEN);
    memcpy(info, W_INFO_C2S, ll);
    assert_int_equal(kdf_hkdf_sha256(r->r_send_key, 32, ikm, 64, salt, 64, info, sizeof(info)),
                     ERR_OK);
    memcpy(info, W_INFO_S2C, ll);
    assert_int_equal(kdf_hkdf_sha256(r->r_recv_key, 32, ikm, 64, salt, 64, info, sizeof(info)),
                     ERR_OK);
    raw_send_frame(r, W_CONFIRM_C, W_CONFIRM_LEN);
    if (raw_recv_frame(r, pt, sizeof(pt)) != W_CONFIRM_LEN)
        return 0;
    return memcmp(pt, W_CONFIRM_S, W_CONFIRM_LEN) == 0;
}

/* Builds plaintext: u32 JSON length || json || secret. Returns its length. */
static size_t plain(unsigned char *out, const char *json, const void *sec, size_t seclen)
{
    size_t jl = strlen(json);

    be32(out, (uint32_t)jl);
    memcpy(out + 4, json, jl);
    if (seclen)
        memcpy(out + 4 + jl, sec, seclen);
    return 4 + jl + seclen;
}

/* ---- log capture ------------------------------------------------------------------------- */

static FILE *g_log;

static void log_capture(void)
{
    g_log = tmpfile();
    assert_non_null(g_log);
    log_set_stream(g_log);
}

/* Stops capturing; returns how many captured lines contain needle (and all lines in *lines). */
static int log_count(const char *needle, int *lines)
{
    char line[LOG_MAX_LINE_BYTES + 2];
    int n = 0;

    log_set_stream(NULL);
    rewind(g_log);
    *lines = 0;
    while (fgets(line, sizeof(line), g_log)) {
        (*lines)++;
        if (strstr(line, needle))
            n++;
    }
    fclose(g_log);
    g_log = NULL;
    return n;
}

/* ---- the bus key ------------------------------------------------------------------------- */

static void test_key_derive(void **state)
{
    /* Expected values: RFC 5869 HKDF-SHA-256, empty salt, info "sesame bus v1", L = 32,
       computed independently (Python hmac/hashlib). */
    static const struct {
        size_t len;
        const char *hex;
    } cases[] = {
        {32, "6483c57d6d5f2824d6c47fd2fa48cf70d2c60511ca9c2eeb41a835daeb12a514"},
        {16, "9536be49cca77ddc38ce9ac8af005d1316c0c4ae4c54c0331a9db4492af50134"},
    };
    unsigned char unique[32], want[32], *key = (unsigned char *)1;
    size_t i, wl;

    (void)state;
    for (i = 0; i < sizeof(unique); i++)
        unique[i] = (unsigned char)i;
    for (i = 0; i < ARRAY_LEN(cases); i++) {
        assert_int_equal(bus_key_derive(&key, unique, cases[i].len), ERR_OK);
        assert_int_equal(codec_hex_decode(want, sizeof(want), &wl, cases[i].hex, 64), ERR_OK);
        assert_memory_equal(key, want, 32);
        bus_key_free(key);
    }
    key = (unsigned char *)1;
    assert_int_equal(bus_key_derive(&key, unique, 15), ERR_BAD_INPUT);
    assert_null(key);
    assert_int_equal(bus_key_derive(&key, NULL, 32), ERR_BAD_INPUT);
    assert_int_equal(bus_key_derive(NULL, unique, 32), ERR_BAD_INPUT);
    bus_key_free(NULL);
    bus_msg_clear(NULL);
}

/* ---- the plaintext codec ----------------------------------------------------------------- */

static void test_plain_decode(void **state)
{
    static const struct {
        const char *name;
        const char *bytes; /* the plaintext, as a C literal */
        size_t len;
        enum err rc;
        const char *json; /* expected compact sorted JSON on success */
        size_t seclen;
    } cases[] = {
        {"empty", "", 0, ERR_BAD_INPUT, NULL, 0},
        {"3 bytes", "\0\0\0", 3, ERR_BAD_INPUT, NULL, 0},
        {"zero json length", "\0\0\0\0", 4, ERR_BAD_INPUT, NULL, 0},
        {"object", "\0\0\0\x02{}", 6, ERR_OK, "{}", 0},
        {"object + secret", "\0\0\0\x07{\"a\":1}\x01\x02", 13, ERR_OK, "{\"a\":1}", 2},
        {"json length past end", "\0\0\0\x09{\"a\":1}", 11, ERR_BAD_INPUT, NULL, 0},
        {"json length over cap", "\x01\x40\0\x01{}", 6, ERR_TOO_LARGE, NULL, 0},
        {"json length 2^32-1", "\xff\xff\xff\xff{}", 6, ERR_TOO_LARGE, NULL, 0},
        {"array", "\0\0\0\x02[]", 6, ERR_BAD_INPUT, NULL, 0},
        {"string", "\0\0\0\x03\"a\"", 7, ERR_BAD_JSON, NULL, 0},
        {"invalid", "\0\0\0\x02{x", 6, ERR_BAD_JSON, NULL, 0},
        {"trailing", "\0\0\0\x03{}x", 7, ERR_BAD_JSON, NULL, 0},
        {"duplicate key", "\0\0\0\x0d{\"a\":1,\"a\":2}", 17, ERR_BAD_JSON, NULL, 0},
        {"NUL in json", "\0\0\0\x03{\0}", 7, ERR_BAD_JSON, NULL, 0},
        {"escaped NUL", "\0\0\0\x0e{\"a\":\"\\u0000\"}", 18, ERR_BAD_JSON, NULL, 0},
        {"invalid UTF-8", "\0\0\0\x07{\"\xff\":1}", 11, ERR_BAD_JSON, NULL, 0},
        {"spaces", "\0\0\0\x04 {} ", 8, ERR_OK, "{}", 0},
    };
    unsigned char big[4 + 2 + BUS_MAX_SECRET_BYTES + 1];
    struct bus_msg m;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(cases); i++) {
        enum err rc = bus_plain_decode((const unsigned char *)cases[i].bytes, cases[i].len, &m);

        print_message("case %s\n", cases[i].name);
        assert_int_equal(rc, cases[i].rc);
        if (rc == ERR_OK) {
            assert_string_equal(js(m.bm_json), cases[i].json);
            assert_int_equal(m.bm_secret_len, cases[i].seclen);
            if (cases[i].seclen)
                assert_memory_equal(m.bm_secret, "\x01\x02", 2);
            else
                assert_null(m.bm_secret);
        } else {
            assert_null(m.bm_json);
            assert_null(m.bm_secret);
            assert_int_equal(m.bm_secret_len, 0);
        }
        bus_msg_clear(&m);
    }
    /* The secret cap: 64 bytes decode, 65 do not. */
    memset(big, 0x5a, sizeof(big));
    be32(big, 2);
    memcpy(big + 4, "{}", 2);
    assert_int_equal(bus_plain_decode(big, sizeof(big) - 1, &m), ERR_OK);
    assert_int_equal(m.bm_secret_len, BUS_MAX_SECRET_BYTES);
    bus_msg_clear(&m);
    assert_int_equal(bus_plain_decode(big, sizeof(big), &m), ERR_TOO_LARGE);
    assert_null(m.bm_json);
    /* The whole plaintext's cap is checked first. */
    assert_int_equal(bus_plain_decode(big, (size_t)BUS_MAX_PLAIN_BYTES + 1, &m), ERR_TOO_LARGE);
    assert_int_equal(bus_plain_decode(NULL, 4, &m), ERR_BAD_INPUT);
    assert_int_equal(bus_plain_decode(big, 4, NULL), ERR_BAD_INPUT);
}

static void test_plain_encode(void **state)
{
    struct bus_msg m, back;
    unsigned char sec[BUS_MAX_SECRET_BYTES + 1], *out = (unsigned char *)1;
    size_t len = 99;

    (void)state;
    memset(sec, 7, sizeof(sec));
    /* NULL JSON is sent as {} */
    memset(&m, 0, sizeof(m));
    assert_int_equal(bus_plain_encode(&m, &out, &len), ERR_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(out, "\0\0\0\x02{}", 6);
    bus_plain_free(out, len);
    /* compact JSON, then the secret */
    msg_make(&m, "{ \"op\" : \"unlock\" }", sec, 3);
    assert_int_equal(bus_plain_encode(&m, &out, &len), ERR_OK);
    assert_int_equal(len, 4 + 15 + 3);
    assert_memory_equal(out, "\0\0\0\x0f{\"op\":\"unlock\"}\x07\x07\x07", len);
    assert_int_equal(bus_plain_decode(out, len, &back), ERR_OK);
    assert_string_equal(js(back.bm_json), "{\"op\":\"unlock\"}");
    assert_int_equal(back.bm_secret_len, 3);
    assert_memory_equal(back.bm_secret, sec, 3);
    bus_msg_clear(&back);
    bus_plain_free(out, len);
    bus_msg_clear(&m);
    /* caps and shapes */
    msg_make(&m, "{}", sec, BUS_MAX_SECRET_BYTES);
    assert_int_equal(bus_plain_encode(&m, &out, &len), ERR_OK);
    assert_int_equal(len, 4 + 2 + BUS_MAX_SECRET_BYTES);
    bus_plain_free(out, len);
    m.bm_secret_len = BUS_MAX_SECRET_BYTES + 1;
    assert_int_equal(bus_plain_encode(&m, &out, &len), ERR_TOO_LARGE);
    assert_null(out);
    assert_int_equal(len, 0);
    m.bm_secret_len = BUS_MAX_SECRET_BYTES;
    bus_msg_clear(&m);
    m.bm_json = json_array();
    assert_int_equal(bus_plain_encode(&m, &out, &len), ERR_BAD_INPUT);
    json_decref(m.bm_json);
    memset(&m, 0, sizeof(m));
    m.bm_secret_len = 1; /* a length without a secret */
    assert_int_equal(bus_plain_encode(&m, &out, &len), ERR_BAD_INPUT);
    bus_plain_free(NULL, 0);
}

/* ---- the endpoint rule ------------------------------------------------------------------- */

static void test_endpoint_from_config(void **state)
{
    static const struct {
        const char *name;
        const char *env[4];
        enum bus_role role;
        enum err rc;
        const char *path; /* expected be_path (NULL: TCP) */
        const char *host; /* expected be_host */
        unsigned port;
        const char *msg; /* expected message prefix */
    } cases[] = {
        {"server default",
         {"HOME=/home/op"},
         BUS_ROLE_SERVER,
         ERR_OK,
         "/home/op/.op/data/bus.sock",
         NULL,
         0,
         ""},
        {"client default",
         {"HOME=/home/op"},
         BUS_ROLE_CLIENT,
         ERR_OK,
         "/home/op/.op/data/bus.sock",
         NULL,
         0,
         ""},
        {"xdg",
         {"HOME=/home/op", "XDG_DATA_HOME=/xdg"},
         BUS_ROLE_CLIENT,
         ERR_OK,
         "/xdg/.op/data/bus.sock",
         NULL,
         0,
         ""},
        {"socket variable",
         {"HOME=/home/op", "SESAME_BUS_SOCKET=/run/sesame/bus"},
         BUS_ROLE_SERVER,
         ERR_OK,
         "/run/sesame/bus",
         NULL,
         0,
         ""},
        {"socket variable, no home",
         {"SESAME_BUS_SOCKET=/run/b"},
         BUS_ROLE_CLIENT,
         ERR_OK,
         "/run/b",
         NULL,
         0,
         ""},
        {"server port",
         {"HOME=/h", "OP_BUS_PORT=11220", "OP_BUS_PEERS=sync:11221"},
         BUS_ROLE_SERVER,
         ERR_OK,
         NULL,
         NULL,
         11220,
         ""},
        {"client peers",
         {"HOME=/h", "OP_BUS_PORT=11220", "OP_BUS_PEERS=sync:11221,x:1"},
         BUS_ROLE_CLIENT,
         ERR_OK,
         NULL,
         "sync",
         11221,
         ""},
        {"client peer v6", {"OP_BUS_PEERS=[::1]:5"}, BUS_ROLE_CLIENT, ERR_OK, NULL, "::1", 5, ""},
        {"client port only",
         {"HOME=/h", "OP_BUS_PORT=11220"},
         BUS_ROLE_CLIENT,
         ERR_OK,
         NULL,
         NULL,
         11220,
         ""},
        {"server peers only",
         {"HOME=/h", "OP_BUS_PEERS=sync:11221"},
         BUS_ROLE_SERVER,
         ERR_OK,
         "/h/.op/data/bus.sock",
         NULL,
         0,
         ""},
        {"no data dir", {NULL}, BUS_ROLE_SERVER, ERR_CONFIG, NULL, NULL, 0, CONFIG_NO_DATA_DIR_MSG},
        {"no data dir, client",
         {NULL},
         BUS_ROLE_CLIENT,
         ERR_CONFIG,
         NULL,
         NULL,
         0,
         CONFIG_NO_DATA_DIR_MSG},
        {"no data dir, port", {"OP_BUS_PORT=7"}, BUS_ROLE_SERVER, ERR_OK, NULL, NULL, 7, ""},
    };
    struct config cf;
    struct bus_endpoint ep;
    char *envp[5], path[256], msg[512], home[300], sockvar[300];
    size_t i, j;

    (void)state;
    for (i = 0; i < ARRAY_LEN(cases); i++) {
        print_message("case %s\n", cases[i].name);
        for (j = 0; j < 4 && cases[i].env[j]; j++)
            envp[j] = (char *)(uintptr_t)cases[i].env[j];
        envp[j] = NULL;
        assert_int_equal(config_load(&cf, envp, msg, sizeof(msg)), ERR_OK);
        memset(path, 'x', sizeof(path));
        assert_int_equal(
            bus_endpoint_from_config(&ep, path, sizeof(path), &cf, cases[i].role, msg, sizeof(msg)),
            cases[i].rc);
        assert_string_equal(msg, cases[i].msg);
        if (cases[i].rc == ERR_OK) {
            if (cases[i].path) {
                assert_ptr_equal(ep.be_path, path);
                assert_string_equal(ep.be_path, cases[i].path);
            } else {
                assert_null(ep.be_path);
            }
            if (cases[i].host)
                assert_string_equal(ep.be_host, cases[i].host);
            else
                assert_null(ep.be_host);
            assert_int_equal(ep.be_port, cases[i].port);
        }
        config_free(&cf);
    }

    /* A derived path of 107 bytes fits; 108 do not. "/.op/data/bus.sock" is 18 bytes. */
    memset(home, 'h', sizeof(home));
    memcpy(home, "HOME=/", 6);
    home[5 + 89] = '\0'; /* HOME = "/" + 88 'h' = 89 bytes -> path 107 */
    envp[0] = home;
    envp[1] = NULL;
    assert_int_equal(config_load(&cf, envp, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(
        bus_endpoint_from_config(&ep, path, sizeof(path), &cf, BUS_ROLE_SERVER, msg, sizeof(msg)),
        ERR_OK);
    assert_int_equal(strlen(ep.be_path), 107);
    /* a path buffer too small for a path that would fit */
    assert_int_equal(
        bus_endpoint_from_config(&ep, path, 107, &cf, BUS_ROLE_SERVER, msg, sizeof(msg)),
        ERR_BAD_INPUT);
    config_free(&cf);
    home[5 + 89] = 'h';
    home[5 + 90] = '\0';
    assert_int_equal(config_load(&cf, envp, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(
        bus_endpoint_from_config(&ep, path, sizeof(path), &cf, BUS_ROLE_CLIENT, msg, sizeof(msg)),
        ERR_CONFIG);
    assert_true(strncmp(msg,
                        "bus socket path too long for a unix socket (108 bytes, at most 107): set "
                        "SESAME_BUS_SOCKET to a shorter path (the default is /hhh",
                        strlen("bus socket path too long for a unix socket (108 bytes, at most "
                               "107): set SESAME_BUS_SOCKET to a shorter path (the default is "
                               "/hhh")) == 0);
    assert_null(ep.be_path);
    config_free(&cf);

    /* SESAME_BUS_SOCKET over the limit */
    memset(sockvar, 's', sizeof(sockvar));
    memcpy(sockvar, "SESAME_BUS_SOCKET=/", 19);
    sockvar[18 + 108] = '\0'; /* 108 bytes */
    envp[0] = sockvar;
    assert_int_equal(config_load(&cf, envp, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(
        bus_endpoint_from_config(&ep, path, sizeof(path), &cf, BUS_ROLE_SERVER, msg, sizeof(msg)),
        ERR_CONFIG);
    assert_string_equal(msg, "SESAME_BUS_SOCKET: too long for a unix socket (108 bytes, at most "
                             "107): set SESAME_BUS_SOCKET to a shorter path");
    assert_int_equal(
        bus_endpoint_from_config(&ep, path, sizeof(path), NULL, BUS_ROLE_SERVER, msg, sizeof(msg)),
        ERR_BAD_INPUT);
    assert_int_equal(
        bus_endpoint_from_config(NULL, path, sizeof(path), &cf, BUS_ROLE_SERVER, msg, sizeof(msg)),
        ERR_BAD_INPUT);
    config_free(&cf);
}

/* ---- round trips ------------------------------------------------------------------------- */

static void test_roundtrip_unix(void **state)
{
    char path[128];
    struct bus_server *s;
    struct bus_client *c;
    struct bus_msg req, resp;
    struct stat st;
    unsigned char sec[BUS_MAX_SECRET_BYTES];
    size_t i;

    (void)state;
    calls_reset();
    sock_path(path, sizeof(path), "rt.sock");
    s = start_server(path, NULL, 0, g_key_a);
    assert_int_equal(bus_server_port(s), 0);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    c = new_client(path, NULL, 0, g_key_a);
    /* one connection, answers counted in order */
    assert_int_equal(echo_call(c, "one"), 1);
    assert_int_equal(echo_call(c, "two"), 2);
    assert_int_equal(echo_call(c, "three"), 3);
    /* no JSON and no secret: the server sees {} and answers "unknown operation" */
    memset(&req, 0, sizeof(req));
    assert_int_equal(bus_client_call(c, &req, &resp, CALL_MS), ERR_OK);
    assert_string_equal(js(resp.bm_json), "{\"message\":\"unknown operation\",\"ok\":false}");
    assert_null(resp.bm_secret);
    assert_int_equal(resp.bm_secret_len, 0);
    bus_msg_clear(&resp);
    /* the largest secret, both ways */
    for (i = 0; i < sizeof(sec); i++)
        sec[i] = (unsigned char)(i * 3 + 1);
    msg_make(&req, "{\"op\":\"echo\"}", sec, sizeof(sec));
    assert_int_equal(bus_client_call(c, &req, &resp, CALL_MS), ERR_OK);
    assert_string_equal(js(resp.bm_json), "{\"echo\":{\"op\":\"echo\"},\"n\":5,\"ok\":true}");
    assert_int_equal(resp.bm_secret_len, sizeof(sec));
    for (i = 0; i < sizeof(sec); i++)
        assert_int_equal(resp.bm_secret[i], sec[sizeof(sec) - 1 - i]);
    bus_msg_clear(&req);
    bus_msg_clear(&resp);
    assert_int_equal(calls(), 5);
    bus_client_free(c);
    bus_server_stop(s);
    assert_int_equal(lstat(path, &st), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_roundtrip_tcp(void **state)
{
    static const struct {
        const char *listen;
        const char *connect;
    } cases[] = {
        {"127.0.0.1", "127.0.0.1"}, {NULL, NULL}, {"localhost", "localhost"}, {"::1", "::1"}};
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(cases); i++) {
        struct bus_server_config cfg;
        struct bus_server *s = NULL;
        struct bus_client *c;
        char msg[256];
        int port;

        calls_reset();
        memset(&cfg, 0, sizeof(cfg));
        cfg.bs_listen.be_host = cases[i].listen;
        cfg.bs_key = g_key_a;
        cfg.bs_handler = handler;
        cfg.bs_ctx = &g_h;
        if (bus_server_start(&s, &cfg, msg, sizeof(msg)) != ERR_OK) {
            /* only IPv6 may be missing on a test machine */
            assert_string_equal(cases[i].listen, "::1");
            print_message("no IPv6 loopback here: %s\n", msg);
            continue;
        }
        port = bus_server_port(s);
        assert_true(port > 0 && port <= 65535);
        c = new_client(NULL, cases[i].connect, (unsigned)port, g_key_a);
        assert_int_equal(echo_call(c, "tcp"), 1);
        assert_int_equal(echo_call(c, "tcp2"), 2);
        bus_client_free(c);
        bus_server_stop(s);
        assert_int_equal(calls(), 2);
    }
}

/* ---- caps -------------------------------------------------------------------------------- */

static void test_caps(void **state)
{
    char path[128], *text;
    struct bus_server *s;
    struct bus_client *c, *c2;
    struct bus_msg req, resp;
    const size_t overhead = strlen("{\"op\":\"size\",\"s\":\"\"}");
    size_t n = BUS_MAX_JSON_BYTES - overhead;
    unsigned char sec[BUS_MAX_SECRET_BYTES + 1];

    (void)state;
    calls_reset();
    sock_path(path, sizeof(path), "caps.sock");
    s = start_server(path, NULL, 0, g_key_a);
    c = new_client(path, NULL, 0, g_key_a);
    /* a request of exactly BUS_MAX_JSON_BYTES of JSON */
    text = malloc(n + 2);
    assert_non_null(text);
    memset(text, 'q', n + 1);
    text[n] = '\0';
    memset(&req, 0, sizeof(req));
    req.bm_json = json_pack("{s:s,s:s}", "op", "size", "s", text);
    assert_non_null(req.bm_json);
    assert_int_equal(json_dumpb(req.bm_json, NULL, 0, JSON_COMPACT), BUS_MAX_JSON_BYTES);
    assert_int_equal(bus_client_call(c, &req, &resp, 60000), ERR_OK);
    assert_string_equal(js(resp.bm_json), "{\"len\":20971500,\"ok\":true}");
    assert_int_equal(n, 20971500);
    bus_msg_clear(&resp);
    json_decref(req.bm_json);
    /* one byte more: refused before anything is sent */
    text[n] = 'q';
    text[n + 1] = '\0';
    req.bm_json = json_pack("{s:s,s:s}", "op", "size", "s", text);
    assert_non_null(req.bm_json);
    assert_int_equal(bus_client_call(c, &req, &resp, CALL_MS), ERR_TOO_LARGE);
    assert_null(resp.bm_json);
    json_decref(req.bm_json);
    free(text);
    /* the answer at its cap, then over it (the server closes: a fresh client does not retry) */
    msg_make(&req, "{\"op\":\"big\",\"len\":20971512}", NULL, 0);
    assert_int_equal(bus_client_call(c, &req, &resp, 60000), ERR_OK);
    assert_int_equal(json_string_length(json_object_get(resp.bm_json, "s")),
                     BUS_MAX_JSON_BYTES - 8);
    bus_msg_clear(&resp);
    bus_msg_clear(&req);
    assert_int_equal(calls(), 2);
    c2 = new_client(path, NULL, 0, g_key_a);
    msg_make(&req, "{\"op\":\"big\",\"len\":20971513}", NULL, 0);
    assert_int_equal(bus_client_call(c2, &req, &resp, 60000), ERR_IO);
    assert_null(resp.bm_json);
    bus_msg_clear(&req);
    assert_int_equal(calls(), 3);
    /* secrets: 64 bytes go, 65 do not */
    memset(sec, 9, sizeof(sec));
    msg_make(&req, "{\"op\":\"echo\"}", sec, BUS_MAX_SECRET_BYTES + 1);
    assert_int_equal(bus_client_call(c, &req, &resp, CALL_MS), ERR_TOO_LARGE);
    bus_msg_clear(&req);
    /* not an object */
    memset(&req, 0, sizeof(req));
    req.bm_json = json_array();
    assert_int_equal(bus_client_call(c, &req, &resp, CALL_MS), ERR_BAD_INPUT);
    json_decref(req.bm_json);
    assert_int_equal(bus_client_call(c, NULL, &resp, CALL_MS), ERR_BAD_INPUT);
    assert_int_equal(bus_client_call(NULL, &req, &resp, CALL_MS), ERR_BAD_INPUT);
    /* a handler answering a non-object closes the connection */
    msg_make(&req, "{\"op\":\"array\"}", NULL, 0);
    assert_int_equal(bus_client_call(c2, &req, &resp, CALL_MS), ERR_IO);
    bus_msg_clear(&req);
    assert_int_equal(calls(), 4);
    /* the server and the first connection are fine */
    assert_int_equal(echo_call(c, "after"), 5);
    bus_client_free(c2);
    bus_client_free(c);
    bus_server_stop(s);
}

/* ---- authentication ---------------------------------------------------------------------- */

static void test_wrong_key(void **state)
{
    char path[128];
    struct bus_server *s;
    struct bus_client *bad, *good;
    struct bus_msg req, resp;
    int lines, i;

    (void)state;
    calls_reset();
    sock_path(path, sizeof(path), "key.sock");
    s = start_server(path, NULL, 0, g_key_a);
    bad = new_client(path, NULL, 0, g_key_b);
    log_capture();
    msg_make(&req, "{\"op\":\"echo\"}", "secret", 6);
    assert_int_equal(bus_client_call(bad, &req, &resp, CALL_MS), ERR_UNAUTHORIZED);
    assert_null(resp.bm_json);
    /* the server logs its line when it has read the failed confirmation */
    for (i = 0; i < 100; i++) {
        fflush(g_log);
        if (ftell(g_log) > 0)
            break;
        sleep_ms(10);
    }
    assert_int_equal(log_count("failed the handshake", &lines), 1);
    assert_int_equal(lines, 1);
    assert_int_equal(calls(), 0);
    /* a second try is refused again; a good client is served */
    assert_int_equal(bus_client_call(bad, &req, &resp, CALL_MS), ERR_UNAUTHORIZED);
    bus_msg_clear(&req);
    good = new_client(path, NULL, 0, g_key_a);
    assert_int_equal(echo_call(good, "good"), 1);
    bus_client_free(good);
    bus_client_free(bad);
    bus_server_stop(s);

    /* and the other way round: a client talking to a server with another key */
    s = start_server(path, NULL, 0, g_key_b);
    good = new_client(path, NULL, 0, g_key_a);
    msg_make(&req, "{\"op\":\"echo\"}", NULL, 0);
    assert_int_equal(bus_client_call(good, &req, &resp, CALL_MS), ERR_UNAUTHORIZED);
    bus_msg_clear(&req);
    bus_client_free(good);
    bus_server_stop(s);
    assert_int_equal(calls(), 1);
}

/* The raw client against a live server: the protocol as documented works. */
static void raw_good_call(const char *path, int expect_n)
{
    struct raw r;
    unsigned char pt[512];
    char want[128];
    long n;

    raw_open(&r, path);
    assert_int_equal(raw_handshake(&r, g_key_a), 1);
    raw_send_frame(&r, pt, plain(pt, "{\"op\":\"echo\",\"x\":1}", "k", 1));
    n = raw_recv_frame(&r, pt, sizeof(pt));
    (void)snprintf(want, sizeof(want), "{\"ok\":true,\"echo\":{\"op\":\"echo\",\"x\":1},\"n\":%d}k",
                   expect_n);
    assert_int_equal(n, 4 + strlen(want));
    assert_int_equal(pt[3], strlen(want) - 1);
    assert_memory_equal(pt + 4, want, strlen(want));
    close(r.r_fd);
}

static void test_garbage(void **state)
{
    char path[128];
    struct bus_server *s;
    struct bus_client *c;
    struct raw r;
    unsigned char buf[2048], frame[256];
    size_t i, len;

    (void)state;
    calls_reset();
    sock_path(path, sizeof(path), "garbage.sock");
    s = start_server(path, NULL, 0, g_key_a);
    c = new_client(path, NULL, 0, g_key_a);
    assert_int_equal(echo_call(c, "before"), 1); /* an idle connection through it all */

    /* random bytes instead of a hello */
    raw_open(&r, path);
    assert_int_equal(crypto_random(buf, sizeof(buf)), ERR_OK);
    raw_write(&r, buf, sizeof(buf));
    assert_int_equal(raw_closed_within(r.r_fd, 2000), 1);
    close(r.r_fd);
    /* a hello with another magic (another version) */
    raw_open(&r, path);
    memcpy(buf, "sesame-bus/2", 12);
    raw_write(&r, buf, W_HELLO_LEN);
    assert_int_equal(raw_closed_within(r.r_fd, 2000), 1);
    close(r.r_fd);
    /* a short hello, then the end */
    raw_open(&r, path);
    raw_write(&r, W_MAGIC, 12);
    shutdown(r.r_fd, SHUT_WR);
    assert_int_equal(raw_closed_within(r.r_fd, 2000), 1);
    close(r.r_fd);
    /* a hello whose public key is a low-order point (zero) */
    raw_open(&r, path);
    memcpy(buf, W_MAGIC, 12);
    memset(buf + 12 + 32, 0, 32);
    raw_write(&r, buf, W_HELLO_LEN);
    assert_int_equal(raw_closed_within(r.r_fd, 2000), 1);
    close(r.r_fd);
    /* garbage where the client's confirmation belongs */
    raw_open(&r, path);
    memcpy(buf, W_MAGIC, 12);
    buf[12 + 32] = 9; /* the base point, a valid public key */
    raw_write(&r, buf, W_HELLO_LEN);
    assert_int_equal(raw_read(r.r_fd, buf, W_HELLO_LEN + 48, CALL_MS), W_HELLO_LEN + 48);
    be32(buf, 44);
    raw_write(&r, buf, 48);
    assert_int_equal(raw_closed_within(r.r_fd, 2000), 1);
    close(r.r_fd);

    /* after a good handshake: a length over the cap closes before any body is sent */
    raw_open(&r, path);
    assert_int_equal(raw_handshake(&r, g_key_a), 1);
    be32(buf, BUS_MAX_FRAME_BYTES + 1);
    raw_write(&r, buf, 4);
    assert_int_equal(raw_closed_within(r.r_fd, 2000), 1);
    close(r.r_fd);
    /* the largest length field, 2^32 - 1 */
    raw_open(&r, path);
    assert_int_equal(raw_handshake(&r, g_key_a), 1);
    be32(buf, 0xffffffffu);
    raw_write(&r, buf, 4);
    assert_int_equal(raw_closed_within(r.r_fd, 2000), 1);
    close(r.r_fd);
    /* a length shorter than a tag */
    raw_open(&r, path);
    assert_int_equal(raw_handshake(&r, g_key_a), 1);
    be32(buf, 15);
    raw_write(&r, buf, 4 + 15);
    assert_int_equal(raw_closed_within(r.r_fd, 2000), 1);
    close(r.r_fd);
    /* a truncated frame: the header promises 100 bytes, 50 come, then the end */
    raw_open(&r, path);
    assert_int_equal(raw_handshake(&r, g_key_a), 1);
    be32(buf, 100);
    raw_write(&r, buf, 4 + 50);
    shutdown(r.r_fd, SHUT_WR);
    assert_int_equal(raw_closed_within(r.r_fd, 2000), 1);
    close(r.r_fd);
    /* a forged frame: one ciphertext bit flipped */
    raw_open(&r, path);
    assert_int_equal(raw_handshake(&r, g_key_a), 1);
    len = raw_seal(&r, frame, buf, plain(buf, "{\"op\":\"echo\"}", NULL, 0));
    frame[6] ^= 0x01;
    raw_write(&r, frame, len);
    assert_int_equal(raw_closed_within(r.r_fd, 2000), 1);
    close(r.r_fd);
    /* a sealed frame whose length field was changed (the AAD) */
    raw_open(&r, path);
    assert_int_equal(raw_handshake(&r, g_key_a), 1);
    len = raw_seal(&r, frame, buf, plain(buf, "{\"op\":\"echo\"}", NULL, 0));
    be32(frame, (uint32_t)(len - 4 - 1));
    raw_write(&r, frame, len - 1);
    assert_int_equal(raw_closed_within(r.r_fd, 2000), 1);
    close(r.r_fd);
    /* well sealed, malformed plaintexts: each closes the connection, none reaches the handler */
    {
        static const struct {
            const char *bytes;
            size_t len;
        } bad[] = {
            {"", 0},
            {"\0\0", 2},
            {"\0\0\0\x09{\"a\":1}", 11},
            {"\0\0\0\x02[]", 6},
            {"\0\0\0\x02{x", 6},
            {"\x7f\0\0\0{}", 6},
        };

        for (i = 0; i < ARRAY_LEN(bad); i++) {
            raw_open(&r, path);
            assert_int_equal(raw_handshake(&r, g_key_a), 1);
            raw_send_frame(&r, bad[i].bytes, bad[i].len);
            assert_int_equal(raw_closed_within(r.r_fd, 2000), 1);
            close(r.r_fd);
        }
        /* a secret of 65 bytes */
        raw_open(&r, path);
        assert_int_equal(raw_handshake(&r, g_key_a), 1);
        memset(frame, 1, sizeof(frame));
        raw_send_frame(&r, buf, plain(buf, "{}", frame, BUS_MAX_SECRET_BYTES + 1));
        assert_int_equal(raw_closed_within(r.r_fd, 2000), 1);
        close(r.r_fd);
    }
    /* a frame sealed with the server-to-client key (reflected) */
    raw_open(&r, path);
    assert_int_equal(raw_handshake(&r, g_key_a), 1);
    memcpy(r.r_send_key, r.r_recv_key, 32);
    raw_send_frame(&r, buf, plain(buf, "{\"op\":\"echo\"}", NULL, 0));
    assert_int_equal(raw_closed_within(r.r_fd, 2000), 1);
    close(r.r_fd);
    /* a frame sent twice on one connection: the first is served, the copy closes it */
    raw_open(&r, path);
    assert_int_equal(raw_handshake(&r, g_key_a), 1);
    len = raw_seal(&r, frame, buf, plain(buf, "{\"op\":\"echo\"}", NULL, 0));
    raw_write(&r, frame, len);
    assert_true(raw_recv_frame(&r, buf, sizeof(buf)) > 0);
    raw_write(&r, frame, len);
    assert_int_equal(raw_closed_within(r.r_fd, 2000), 1);
    close(r.r_fd);
    assert_int_equal(calls(), 2);

    /* the server still serves: the idle client, a new one, and the raw client done right */
    assert_int_equal(echo_call(c, "after"), 3);
    raw_good_call(path, 4);
    bus_client_free(c);
    c = new_client(path, NULL, 0, g_key_a);
    assert_int_equal(echo_call(c, "new"), 5);
    bus_client_free(c);
    bus_server_stop(s);
}

static void test_replay(void **state)
{
    char path[128];
    struct bus_server *s;
    struct raw r1, r2;
    unsigned char buf[512];
    int lines, i;

    (void)state;
    calls_reset();
    sock_path(path, sizeof(path), "replay.sock");
    s = start_server(path, NULL, 0, g_key_a);
    /* record a whole good conversation */
    raw_open(&r1, path);
    assert_int_equal(raw_handshake(&r1, g_key_a), 1);
    raw_send_frame(&r1, buf, plain(buf, "{\"op\":\"echo\"}", "unlock!", 7));
    assert_true(raw_recv_frame(&r1, buf, sizeof(buf)) > 0);
    assert_int_equal(calls(), 1);
    close(r1.r_fd);
    /* play it back on a new connection: the server answers with a new hello, refuses the old
       confirmation, and never sees the request */
    log_capture();
    raw_open(&r2, path);
    raw_write(&r2, r1.r_sent, r1.r_sent_len);
    assert_int_equal(raw_read(r2.r_fd, buf, W_HELLO_LEN + 48, CALL_MS), W_HELLO_LEN + 48);
    assert_memory_equal(buf, W_MAGIC, W_MAGIC_LEN);
    assert_int_equal(raw_closed_within(r2.r_fd, 2000), 1);
    close(r2.r_fd);
    for (i = 0; i < 100; i++) {
        fflush(g_log);
        if (ftell(g_log) > 0)
            break;
        sleep_ms(10);
    }
    assert_int_equal(log_count("failed the handshake", &lines), 1);
    assert_int_equal(lines, 1);
    assert_int_equal(calls(), 1);
    bus_server_stop(s);
}

/* ---- concurrency and limits -------------------------------------------------------------- */

struct worker {
    struct bus_client *w_client;
    int w_id;
    int w_rounds;
    int w_failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int i;

    for (i = 0; i < w->w_rounds; i++) {
        struct bus_msg req, resp;
        char text[128];
        json_error_t jerr;
        unsigned char sec[2] = {(unsigned char)w->w_id, (unsigned char)i};
        const json_t *echo;

        memset(&req, 0, sizeof(req));
        (void)snprintf(text, sizeof(text), "{\"op\":\"echo\",\"id\":%d,\"i\":%d}", w->w_id, i);
        req.bm_json = json_loads(text, 0, &jerr);
        req.bm_secret = secmem_alloc(2);
        if (!req.bm_json || !req.bm_secret) {
            w->w_failures++;
            bus_msg_clear(&req);
            continue;
        }
        memcpy(req.bm_secret, sec, 2);
        req.bm_secret_len = 2;
        if (bus_client_call(w->w_client, &req, &resp, 20000) != ERR_OK) {
            w->w_failures++;
        } else {
            echo = json_object_get(resp.bm_json, "echo");
            if (json_integer_value(json_object_get(echo, "id")) != w->w_id ||
                json_integer_value(json_object_get(echo, "i")) != i || resp.bm_secret_len != 2 ||
                resp.bm_secret[0] != sec[1] || resp.bm_secret[1] != sec[0])
                w->w_failures++;
        }
        bus_msg_clear(&req);
        bus_msg_clear(&resp);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    enum { OWN = 8, SHARED = 4, ROUNDS = 25 };
    char path[128];
    struct bus_server *s;
    struct bus_client *own[OWN], *shared;
    struct worker w[OWN + SHARED];
    pthread_t t[OWN + SHARED];
    int i;

    (void)state;
    calls_reset();
    sock_path(path, sizeof(path), "conc.sock");
    s = start_server(path, NULL, 0, g_key_a);
    shared = new_client(path, NULL, 0, g_key_a);
    for (i = 0; i < OWN + SHARED; i++) {
        if (i < OWN)
            own[i] = new_client(path, NULL, 0, g_key_a);
        w[i].w_client = i < OWN ? own[i] : shared;
        w[i].w_id = i;
        w[i].w_rounds = ROUNDS;
        w[i].w_failures = 0;
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (i = 0; i < OWN + SHARED; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].w_failures, 0);
    }
    assert_int_equal(calls(), (OWN + SHARED) * ROUNDS);
    for (i = 0; i < OWN; i++)
        bus_client_free(own[i]);
    bus_client_free(shared);
    bus_server_stop(s);
}

static void test_max_connections(void **state)
{
    char path[128];
    struct bus_server *s;
    struct bus_client *cl[BUS_MAX_CONNECTIONS], *extra;
    struct bus_msg req, resp;
    enum err rc = ERR_IO;
    int64_t t0;
    int i;

    (void)state;
    calls_reset();
    sock_path(path, sizeof(path), "max.sock");
    s = start_server(path, NULL, 0, g_key_a);
    for (i = 0; i < BUS_MAX_CONNECTIONS; i++) {
        cl[i] = new_client(path, NULL, 0, g_key_a);
        assert_int_equal(echo_call(cl[i], "fill"), i + 1);
    }
    /* all slots taken by idle connections: a new one is closed at once */
    extra = new_client(path, NULL, 0, g_key_a);
    msg_make(&req, "{\"op\":\"echo\",\"tag\":\"x\"}", "\x01\x02\x03", 3);
    t0 = now_ms();
    assert_int_equal(bus_client_call(extra, &req, &resp, CALL_MS), ERR_IO);
    assert_true(now_ms() - t0 < 2000);
    /* one leaves: the newcomer gets its slot */
    bus_client_free(cl[0]);
    for (i = 0; i < 100 && rc != ERR_OK; i++) {
        rc = bus_client_call(extra, &req, &resp, CALL_MS);
        if (rc != ERR_OK)
            sleep_ms(20);
    }
    assert_int_equal(rc, ERR_OK);
    bus_msg_clear(&resp);
    bus_msg_clear(&req);
    assert_int_equal(calls(), BUS_MAX_CONNECTIONS + 1);
    /* the others still work; stopping with 16 idle connections is prompt */
    assert_int_equal(echo_call(cl[BUS_MAX_CONNECTIONS - 1], "last"), BUS_MAX_CONNECTIONS + 2);
    t0 = now_ms();
    bus_server_stop(s);
    assert_true(now_ms() - t0 < 2000);
    for (i = 1; i < BUS_MAX_CONNECTIONS; i++)
        bus_client_free(cl[i]);
    bus_client_free(extra);
}

/* ---- stop, restart, timeouts ------------------------------------------------------------- */

static void test_stop_and_restart(void **state)
{
    char path[128];
    struct bus_server *s;
    struct bus_client *c;
    struct bus_msg req, resp;
    struct stat st;
    int64_t t0;
    int port;

    (void)state;
    calls_reset();
    sock_path(path, sizeof(path), "restart.sock");
    s = start_server(path, NULL, 0, g_key_a);
    c = new_client(path, NULL, 0, g_key_a);
    assert_int_equal(echo_call(c, "a"), 1);
    /* the client stays connected, idle; stop is prompt and removes the socket */
    t0 = now_ms();
    bus_server_stop(s);
    assert_true(now_ms() - t0 < 2000);
    assert_int_equal(lstat(path, &st), -1);
    /* the kept connection is dead and nobody listens: ERR_IO */
    msg_make(&req, "{\"op\":\"echo\",\"tag\":\"b\"}", "\x01\x02\x03", 3);
    assert_int_equal(bus_client_call(c, &req, &resp, CALL_MS), ERR_IO);
    bus_msg_clear(&req);
    /* a new server on the same path: the same client reconnects */
    s = start_server(path, NULL, 0, g_key_a);
    assert_int_equal(echo_call(c, "c"), 2);
    /* restart while the client holds a connection: the call retries once, transparently */
    bus_server_stop(s);
    s = start_server(path, NULL, 0, g_key_a);
    assert_int_equal(echo_call(c, "d"), 3);
    bus_server_stop(s);
    bus_client_free(c);

    /* the same over TCP, on the same port (SO_REUSEADDR) */
    s = start_server(NULL, "127.0.0.1", 0, g_key_a);
    port = bus_server_port(s);
    c = new_client(NULL, "127.0.0.1", (unsigned)port, g_key_a);
    assert_int_equal(echo_call(c, "e"), 4);
    bus_server_stop(s);
    s = start_server(NULL, "127.0.0.1", (unsigned)port, g_key_a);
    assert_int_equal(bus_server_port(s), port);
    assert_int_equal(echo_call(c, "f"), 5);
    bus_server_stop(s);
    bus_client_free(c);
    bus_server_stop(NULL);
    bus_client_free(NULL);
}

static void test_timeouts(void **state)
{
    char path[128], path2[128];
    struct bus_server *s;
    struct bus_client *c;
    struct bus_msg req, resp;
    struct sockaddr_un sa;
    int64_t t0, took;
    int fd;

    (void)state;
    calls_reset();
    sock_path(path, sizeof(path), "slow.sock");
    s = start_server(path, NULL, 0, g_key_a);
    c = new_client(path, NULL, 0, g_key_a);
    /* the handler takes longer than the call may */
    msg_make(&req, "{\"op\":\"sleep\",\"ms\":1500}", NULL, 0);
    t0 = now_ms();
    assert_int_equal(bus_client_call(c, &req, &resp, 150), ERR_TIMEOUT);
    took = now_ms() - t0;
    assert_true(took >= 150 && took < 1200); /* well before the answer */
    assert_null(resp.bm_json);
    bus_msg_clear(&req);
    /* the next call opens a new connection and works */
    assert_int_equal(echo_call(c, "later"), 2);
    bus_client_free(c);
    bus_server_stop(s);

    /* a listener that never answers the hello */
    sock_path(path2, sizeof(path2), "mute.sock");
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path2, strlen(path2) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    c = new_client(path2, NULL, 0, g_key_a);
    msg_make(&req, "{\"op\":\"echo\"}", NULL, 0);
    t0 = now_ms();
    assert_int_equal(bus_client_call(c, &req, &resp, 200), ERR_TIMEOUT);
    took = now_ms() - t0;
    assert_true(took >= 200 && took < 2000);
    bus_client_free(c);
    close(fd);
    unlink(path2);
    /* nobody listens: unix path missing, TCP port closed */
    c = new_client(path2, NULL, 0, g_key_a);
    assert_int_equal(bus_client_call(c, &req, &resp, CALL_MS), ERR_IO);
    bus_client_free(c);
    s = start_server(NULL, "127.0.0.1", 0, g_key_a);
    c = new_client(NULL, NULL, (unsigned)bus_server_port(s), g_key_a);
    bus_server_stop(s);
    assert_int_equal(bus_client_call(c, &req, &resp, CALL_MS), ERR_IO);
    bus_client_free(c);
    bus_msg_clear(&req);
    assert_int_equal(calls(), 2);
}

static void test_handler_failure(void **state)
{
    char path[128];
    struct bus_server *s;
    struct bus_client *c;
    struct bus_msg req, resp;

    (void)state;
    calls_reset();
    sock_path(path, sizeof(path), "fail.sock");
    s = start_server(path, NULL, 0, g_key_a);
    c = new_client(path, NULL, 0, g_key_a);
    msg_make(&req, "{\"op\":\"fail\"}", NULL, 0);
    /* on a fresh connection: closed, no retry */
    assert_int_equal(bus_client_call(c, &req, &resp, CALL_MS), ERR_IO);
    assert_int_equal(calls(), 1);
    /* on a kept connection: closed before any answer byte, so retried once */
    assert_int_equal(echo_call(c, "kept"), 2);
    assert_int_equal(bus_client_call(c, &req, &resp, CALL_MS), ERR_IO);
    assert_int_equal(calls(), 4);
    bus_msg_clear(&req);
    assert_int_equal(echo_call(c, "still"), 5);
    bus_client_free(c);
    bus_server_stop(s);
}

/* A handshake or frame that stalls is cut off after BUS_IO_TIMEOUT_MS; others go on. */
static void test_server_io_timeout(void **state)
{
    char path[128];
    struct bus_server *s;
    struct bus_client *c;
    struct raw r1, r2, r3;
    unsigned char buf[64];
    int64_t t0, took;

    (void)state;
    calls_reset();
    sock_path(path, sizeof(path), "stall.sock");
    s = start_server(path, NULL, 0, g_key_a);
    t0 = now_ms();
    raw_open(&r1, path);
    raw_write(&r1, W_MAGIC, 10); /* a hello that stops half way */
    raw_open(&r2, path);
    assert_int_equal(raw_handshake(&r2, g_key_a), 1);
    be32(buf, 100);
    raw_write(&r2, buf, 4 + 20); /* a frame that stops half way */
    raw_open(&r3, path);
    assert_int_equal(raw_handshake(&r3, g_key_a), 1); /* idle, between frames */
    /* meanwhile the server answers others */
    c = new_client(path, NULL, 0, g_key_a);
    assert_int_equal(echo_call(c, "busy"), 1);
    assert_int_equal(raw_closed_within(r1.r_fd, BUS_IO_TIMEOUT_MS + 3000), 1);
    assert_int_equal(raw_closed_within(r2.r_fd, 3000), 1);
    took = now_ms() - t0;
    assert_true(took >= BUS_IO_TIMEOUT_MS - 100 && took < BUS_IO_TIMEOUT_MS + 3000);
    /* the idle one is not cut off */
    assert_int_equal(raw_closed_within(r3.r_fd, 200), 0);
    raw_send_frame(&r3, buf, plain(buf, "{\"op\":\"x\"}", NULL, 0));
    assert_true(raw_recv_frame(&r3, buf, sizeof(buf)) > 0);
    close(r1.r_fd);
    close(r2.r_fd);
    close(r3.r_fd);
    assert_int_equal(echo_call(c, "after"), 3);
    bus_client_free(c);
    bus_server_stop(s);
}

/* ---- listening ----------------------------------------------------------------------------- */

static void test_listen_errors(void **state)
{
    char path[128], msg[512], want[512], longp[200];
    struct bus_server_config cfg;
    struct bus_server *s = NULL, *s2 = NULL;
    struct bus_client *c = NULL;
    struct bus_endpoint ep;
    struct sockaddr_un sa;
    struct stat st;
    int fd, port;

    (void)state;
    calls_reset();
    memset(&cfg, 0, sizeof(cfg));
    cfg.bs_key = g_key_a;
    cfg.bs_handler = handler;
    cfg.bs_ctx = &g_h;

    /* a regular file in the way is left alone */
    sock_path(path, sizeof(path), "file");
    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "keep", 4), 4);
    close(fd);
    cfg.bs_listen.be_path = path;
    assert_int_equal(bus_server_start(&s, &cfg, msg, sizeof(msg)), ERR_CONFIG);
    assert_null(s);
    (void)snprintf(want, sizeof(want),
                   "bus: %s exists and is not a socket; remove it or set SESAME_BUS_SOCKET", path);
    assert_string_equal(msg, want);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 4);
    unlink(path);

    /* a stale socket file (nobody listening) is replaced */
    sock_path(path, sizeof(path), "stale.sock");
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    assert_int_equal(lstat(path, &st), 0);
    s = start_server(path, NULL, 0, g_key_a);
    c = new_client(path, NULL, 0, g_key_a);
    assert_int_equal(echo_call(c, "stale"), 1);
    /* a live server on the path is not replaced */
    cfg.bs_listen.be_path = path;
    assert_int_equal(bus_server_start(&s2, &cfg, msg, sizeof(msg)), ERR_CONFIG);
    assert_null(s2);
    (void)snprintf(want, sizeof(want), "bus: another process is already listening on %s", path);
    assert_string_equal(msg, want);
    assert_int_equal(echo_call(c, "still"), 2);
    bus_client_free(c);
    bus_server_stop(s);

    /* a path over the limit */
    memset(longp, 'p', sizeof(longp));
    longp[0] = '/';
    longp[108] = '\0';
    cfg.bs_listen.be_path = longp;
    assert_int_equal(bus_server_start(&s, &cfg, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, "bus: the socket path is 108 bytes, a unix socket allows 1 to 107: "
                             "set SESAME_BUS_SOCKET to a shorter path");
    ep.be_path = longp;
    ep.be_host = NULL;
    ep.be_port = 0;
    assert_int_equal(bus_client_new(&c, &ep, g_key_a), ERR_BAD_INPUT);
    assert_null(c);
    /* a directory that does not exist */
    cfg.bs_listen.be_path = "/nonexistent-sesame-dir/bus.sock";
    assert_int_equal(bus_server_start(&s, &cfg, msg, sizeof(msg)), ERR_CONFIG);
    assert_string_equal(msg, "bus: cannot listen on /nonexistent-sesame-dir/bus.sock: bind "
                             "failed (ENOENT)");

    /* a TCP port in use */
    s = start_server(NULL, "127.0.0.1", 0, g_key_a);
    port = bus_server_port(s);
    cfg.bs_listen.be_path = NULL;
    cfg.bs_listen.be_host = "127.0.0.1";
    cfg.bs_listen.be_port = (unsigned)port;
    assert_int_equal(bus_server_start(&s2, &cfg, msg, sizeof(msg)), ERR_CONFIG);
    (void)snprintf(want, sizeof(want),
                   "bus: cannot listen on 127.0.0.1 port %d: bind failed (EADDRINUSE)", port);
    assert_string_equal(msg, want);
    bus_server_stop(s);
    cfg.bs_listen.be_host = "no-such-host.invalid";
    cfg.bs_listen.be_port = 0;
    assert_int_equal(bus_server_start(&s2, &cfg, msg, sizeof(msg)), ERR_CONFIG);
    assert_true(strncmp(msg,
                        "bus: cannot listen on no-such-host.invalid port 0: the address "
                        "does not resolve (",
                        strlen("bus: cannot listen on no-such-host.invalid port 0: the address "
                               "does not resolve (")) == 0);

    /* bad arguments */
    cfg.bs_listen.be_host = NULL;
    cfg.bs_listen.be_port = 70000;
    assert_int_equal(bus_server_start(&s2, &cfg, msg, sizeof(msg)), ERR_BAD_INPUT);
    cfg.bs_listen.be_port = 0;
    cfg.bs_handler = NULL;
    assert_int_equal(bus_server_start(&s2, &cfg, msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_int_equal(bus_server_start(&s2, NULL, msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_int_equal(bus_server_start(NULL, &cfg, msg, sizeof(msg)), ERR_BAD_INPUT);
    ep.be_path = NULL;
    ep.be_port = 0;
    assert_int_equal(bus_client_new(&c, &ep, g_key_a), ERR_BAD_INPUT);
    ep.be_port = 65536;
    assert_int_equal(bus_client_new(&c, &ep, g_key_a), ERR_BAD_INPUT);
    ep.be_port = 1;
    assert_int_equal(bus_client_new(&c, &ep, NULL), ERR_BAD_INPUT);
    assert_int_equal(bus_client_new(&c, NULL, g_key_a), ERR_BAD_INPUT);
    assert_int_equal(bus_client_new(NULL, &ep, g_key_a), ERR_BAD_INPUT);
    assert_int_equal(calls(), 2);
}

/* ---- allocation failures ----------------------------------------------------------------- */

/* Fails each of our allocations in turn: every one is ERR_NOMEM with nothing leaked. */
static void test_alloc_failures(void **state)
{
    char path[128];
    struct bus_server_config cfg;
    struct bus_server *s = NULL;
    struct bus_client *c = NULL;
    struct bus_endpoint ep = {NULL, "127.0.0.1", 1};
    struct bus_msg m;
    unsigned char *out = NULL;
    size_t len = 0;
    char msg[256];
    long n;
    enum err rc = ERR_NOMEM;

    (void)state;
    msg_make(&m, "{\"op\":\"status\"}", "s", 1);
    for (n = 0; rc != ERR_OK; n++) {
        mem_fail_after(n);
        rc = bus_plain_encode(&m, &out, &len);
        mem_fail_after(-1);
        assert_true(rc == ERR_OK || rc == ERR_NOMEM);
        if (rc != ERR_OK) {
            assert_null(out);
            assert_int_equal(len, 0);
        }
    }
    assert_int_equal(n, 2);
    bus_plain_free(out, len);
    bus_msg_clear(&m);

    for (rc = ERR_NOMEM, n = 0; rc != ERR_OK; n++) {
        mem_fail_after(n);
        rc = bus_client_new(&c, &ep, g_key_a);
        mem_fail_after(-1);
        assert_true(rc == ERR_OK || rc == ERR_NOMEM);
        if (rc != ERR_OK)
            assert_null(c);
    }
    assert_int_equal(n, 3);
    bus_client_free(c);

    sock_path(path, sizeof(path), "nomem.sock");
    memset(&cfg, 0, sizeof(cfg));
    cfg.bs_listen.be_path = path;
    cfg.bs_key = g_key_a;
    cfg.bs_handler = handler;
    cfg.bs_ctx = &g_h;
    for (rc = ERR_NOMEM, n = 0; rc != ERR_OK; n++) {
        mem_fail_after(n);
        rc = bus_server_start(&s, &cfg, msg, sizeof(msg));
        mem_fail_after(-1);
        assert_true(rc == ERR_OK || rc == ERR_NOMEM);
        if (rc != ERR_OK) {
            struct stat st;

            assert_null(s);
            assert_int_equal(lstat(path, &st), -1);
        }
    }
    assert_int_equal(n, 3);
    c = new_client(path, NULL, 0, g_key_a);
    calls_reset();
    assert_int_equal(echo_call(c, "nomem"), 1);
    bus_client_free(c);
    bus_server_stop(s);
}

/* ---- setup ------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    if (crypto_init() != ERR_OK)
        return -1;
    (void)snprintf(g_dir, sizeof(g_dir), "/tmp/sesame-bus-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    return rmdir(g_dir) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_derive),
        cmocka_unit_test(test_plain_decode),
        cmocka_unit_test(test_plain_encode),
        cmocka_unit_test(test_endpoint_from_config),
        cmocka_unit_test(test_roundtrip_unix),
        cmocka_unit_test(test_roundtrip_tcp),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_stop_and_restart),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_handler_failure),
        cmocka_unit_test(test_server_io_timeout),
        cmocka_unit_test(test_listen_errors),
        cmocka_unit_test(test_alloc_failures),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
