/* test_query.c - Go net/url ParseQuery-compatible decoding (connect-api.md §2.4). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/alloc.h"
#include "common/limits.h"
#include "http/query.h"

struct qcase {
    const char *query; /* raw query (NUL-terminated; qlen overrides when set) */
    size_t qlen;       /* 0: strlen(query) */
    const char *name;
    enum err rc;
    int found;
    const char *value; /* expected decoded value (vlen bytes) */
    size_t vlen;       /* 0: strlen(value) */
    const char *msg;   /* expected errmsg */
};

#define ESC_MSG  "invalid URL escape in query"
#define SEMI_MSG "invalid semicolon separator in query"

static const struct qcase qcases[] = {
    /* What the SDKs send (connect-clients.md): Go QueryEscape, JS/Python percent-encoding. */
    {"filter=title+eq+%22My+Item%22", 0, "filter", ERR_OK, 1, "title eq \"My Item\"", 0, ""},
    {"filter=title%20eq%20%22My%20Item%22", 0, "filter", ERR_OK, 1, "title eq \"My Item\"", 0, ""},
    {"filter=title eq \"My Item\"", 0, "filter", ERR_OK, 1, "title eq \"My Item\"", 0, ""},
    {"filter=name%20eq%20%22Demo%20Vault%22", 0, "filter", ERR_OK, 1, "name eq \"Demo Vault\"", 0,
     ""},
    /* Hex digits of either case; %2B is a literal plus, '+' a space. */
    {"filter=%c3%a9t%C3%A9", 0, "filter", ERR_OK, 1, "\xc3\xa9t\xc3\xa9", 0, ""},
    {"filter=C%2B%2B+and+C++", 0, "filter", ERR_OK, 1, "C++ and C  ", 0, ""},
    {"filter=%3B%26%3D%25", 0, "filter", ERR_OK, 1, ";&=%", 0, ""},
    {"filter=a=b=c", 0, "filter", ERR_OK, 1, "a=b=c", 0, ""},
    /* Keys are decoded too, and compared case-sensitively. */
    {"fil%74er=x", 0, "filter", ERR_OK, 1, "x", 0, ""},
    {"fil+ter=x&filter=y", 0, "fil ter", ERR_OK, 1, "x", 0, ""},
    {"Filter=x", 0, "filter", ERR_OK, 0, "", 0, ""},
    {"FILTER=x&filter=y", 0, "filter", ERR_OK, 1, "y", 0, ""},
    /* Repeated keys: the first wins (Go's Values.Get). */
    {"filter=a&filter=b", 0, "filter", ERR_OK, 1, "a", 0, ""},
    {"filter=&filter=b", 0, "filter", ERR_OK, 1, "", 0, ""},
    {"x=1&filter=a&filter=b&y=2", 0, "filter", ERR_OK, 1, "a", 0, ""},
    /* Keys without '=' have the empty value; empty pairs are skipped. */
    {"filter", 0, "filter", ERR_OK, 1, "", 0, ""},
    {"filter=", 0, "filter", ERR_OK, 1, "", 0, ""},
    {"a&filter&b=2", 0, "filter", ERR_OK, 1, "", 0, ""},
    {"&&filter=v&&", 0, "filter", ERR_OK, 1, "v", 0, ""},
    {"=v", 0, "", ERR_OK, 1, "v", 0, ""},
    {"=v", 0, "filter", ERR_OK, 0, "", 0, ""},
    /* Absent. */
    {"", 0, "filter", ERR_OK, 0, "", 0, ""},
    {"&", 0, "filter", ERR_OK, 0, "", 0, ""},
    {"limit=10&offset=5", 0, "filter", ERR_OK, 0, "", 0, ""},
    {"filterx=1&xfilter=2", 0, "filter", ERR_OK, 0, "", 0, ""},
    {"limit=10&offset=5", 0, "offset", ERR_OK, 1, "5", 0, ""},
    /* Malformed escapes, in the value, in the key, in another pair, before or after. */
    {"filter=%", 0, "filter", ERR_BAD_INPUT, 0, "", 0, ESC_MSG},
    {"filter=%4", 0, "filter", ERR_BAD_INPUT, 0, "", 0, ESC_MSG},
    {"filter=%zz", 0, "filter", ERR_BAD_INPUT, 0, "", 0, ESC_MSG},
    {"filter=%4g", 0, "filter", ERR_BAD_INPUT, 0, "", 0, ESC_MSG},
    {"filter=%g4", 0, "filter", ERR_BAD_INPUT, 0, "", 0, ESC_MSG},
    {"filter=100%25%", 0, "filter", ERR_BAD_INPUT, 0, "", 0, ESC_MSG},
    {"filter=100% sure", 0, "filter", ERR_BAD_INPUT, 0, "", 0, ESC_MSG},
    {"fil%=x", 0, "filter", ERR_BAD_INPUT, 0, "", 0, ESC_MSG},
    {"k%4=x&filter=a", 0, "filter", ERR_BAD_INPUT, 0, "", 0, ESC_MSG},
    {"filter=a&other=%", 0, "filter", ERR_BAD_INPUT, 0, "", 0, ESC_MSG},
    {"%", 0, "filter", ERR_BAD_INPUT, 0, "", 0, ESC_MSG},
    /* Raw semicolons: Go >= 1.17's ParseQuery error; %3B is data (above). */
    {"filter=a;b", 0, "filter", ERR_BAD_INPUT, 0, "", 0, SEMI_MSG},
    {"a=1;filter=b", 0, "filter", ERR_BAD_INPUT, 0, "", 0, SEMI_MSG},
    {"filter=a&x=;", 0, "filter", ERR_BAD_INPUT, 0, "", 0, SEMI_MSG},
    {";", 0, "filter", ERR_BAD_INPUT, 0, "", 0, SEMI_MSG},
    /* The value must be UTF-8 without NUL; other parameters need not be. */
    {"filter=a%00b", 0, "filter", ERR_BAD_INPUT, 0, "", 0,
     "query parameter filter contains a NUL byte"},
    {"filter=a\0b", 10, "filter", ERR_BAD_INPUT, 0, "", 0,
     "query parameter filter contains a NUL byte"},
    {"filter=%ff", 0, "filter", ERR_BAD_INPUT, 0, "", 0,
     "query parameter filter is not valid UTF-8"},
    {"filter=%C3", 0, "filter", ERR_BAD_INPUT, 0, "", 0,
     "query parameter filter is not valid UTF-8"},
    {"filter=%C0%AF", 0, "filter", ERR_BAD_INPUT, 0, "", 0,
     "query parameter filter is not valid UTF-8"},
    {"filter=%ED%A0%80", 0, "filter", ERR_BAD_INPUT, 0, "", 0,
     "query parameter filter is not valid UTF-8"},
    {"filter=\xff", 0, "filter", ERR_BAD_INPUT, 0, "", 0,
     "query parameter filter is not valid UTF-8"},
    {"other=%ff%00&filter=ok", 0, "filter", ERR_OK, 1, "ok", 0, ""},
    {"filter=ok&filter=%ff", 0, "filter", ERR_OK, 1, "ok", 0, ""},
    {"filter=%F0%9F%94%91", 0, "filter", ERR_OK, 1, "\xf0\x9f\x94\x91", 0, ""},
    /* Raw bytes other than % + & ; pass through (Go does not check them). */
    {"filter=\xc3\xa9#x", 0, "filter", ERR_OK, 1, "\xc3\xa9#x", 0, ""},
};

static void test_query_table(void **state)
{
    struct buf out;
    char msg[128];
    size_t i;
    int found;

    (void)state;
    for (i = 0; i < sizeof(qcases) / sizeof(qcases[0]); i++) {
        const struct qcase *c = &qcases[i];
        size_t qlen = c->qlen ? c->qlen : strlen(c->query);
        size_t vlen = c->vlen ? c->vlen : strlen(c->value);
        enum err rc;

        found = -1;
        memset(msg, 'X', sizeof(msg));
        rc = query_get(&out, c->query, qlen, c->name, &found, msg, sizeof(msg));
        if (rc != c->rc || found != c->found || strcmp(msg, c->msg) != 0)
            print_error("case %zu: %s\n", i, c->query);
        assert_int_equal(rc, c->rc);
        assert_int_equal(found, c->found);
        assert_string_equal(msg, c->msg);
        assert_int_equal(out.b_len, vlen);
        assert_memory_equal(buf_str(&out), c->value, vlen);
        assert_int_equal(out.b_max, HTTP_MAX_URL_BYTES);
        if (rc != ERR_OK)
            assert_null(out.b_data);
        buf_free(&out);
    }
}

static void test_query_null_and_msg(void **state)
{
    struct buf out;
    char small[8];
    int found;

    (void)state;
    /* NULL query with length 0 and NULL errmsg are fine. */
    assert_int_equal(query_get(&out, NULL, 0, "filter", &found, NULL, 0), ERR_OK);
    assert_int_equal(found, 0);
    assert_int_equal(query_get(&out, "filter=%", 8, "filter", &found, NULL, 0), ERR_BAD_INPUT);
    /* The message is truncated to the caller's room. */
    assert_int_equal(query_get(&out, "filter=%", 8, "filter", &found, small, sizeof(small)),
                     ERR_BAD_INPUT);
    assert_string_equal(small, "invalid");
    /* Only len bytes are read: the rest of the string is not part of the query. */
    assert_int_equal(query_get(&out, "filter=ab%zz", 9, "filter", &found, NULL, 0), ERR_OK);
    assert_int_equal(found, 1);
    assert_string_equal(buf_str(&out), "ab");
    buf_free(&out);
}

static void test_query_length_cap(void **state)
{
    static char q[HTTP_MAX_URL_BYTES + 2];
    struct buf out;
    char msg[64];
    int found;

    (void)state;
    memcpy(q, "filter=", 7);
    memset(q + 7, 'a', sizeof(q) - 7);
    /* Exactly at the cap: accepted, value is the rest. */
    assert_int_equal(query_get(&out, q, HTTP_MAX_URL_BYTES, "filter", &found, msg, sizeof(msg)),
                     ERR_OK);
    assert_int_equal(found, 1);
    assert_int_equal(out.b_len, HTTP_MAX_URL_BYTES - 7);
    buf_free(&out);
    /* One byte more: 413. */
    assert_int_equal(query_get(&out, q, HTTP_MAX_URL_BYTES + 1, "filter", &found, msg, sizeof(msg)),
                     ERR_TOO_LARGE);
    assert_int_equal(found, 0);
    assert_string_equal(msg, "query string is too long");
    assert_null(out.b_data);
}

static void test_query_nomem(void **state)
{
    struct buf out;
    char msg[64];
    int found = -1;

    (void)state;
    mem_fail_after(0);
    assert_int_equal(query_get(&out, "filter=abc", 10, "filter", &found, msg, sizeof(msg)),
                     ERR_NOMEM);
    mem_fail_after(-1);
    assert_int_equal(found, 0);
    assert_null(out.b_data);
    assert_string_equal(msg, "Something went wrong");
    /* Same when the first byte is an escape. */
    mem_fail_after(0);
    assert_int_equal(query_get(&out, "filter=%41", 10, "filter", &found, msg, sizeof(msg)),
                     ERR_NOMEM);
    mem_fail_after(-1);
    assert_int_equal(found, 0);
    assert_null(out.b_data);
}

struct ucase {
    const char *s;
    size_t len;
    size_t n;    /* bytes taken, 0 = invalid */
    uint32_t cp; /* code point */
};

/* RFC 3629 §3 and §10 examples, boundaries, overlongs and surrogates. */
static const struct ucase ucases[] = {
    {"A", 1, 1, 0x41},
    {"\x00", 1, 1, 0},
    {"\x7f", 1, 1, 0x7f},
    {"\xc2\x80", 2, 2, 0x80},
    {"\xdf\xbf", 2, 2, 0x7ff},
    {"\xe0\xa0\x80", 3, 3, 0x800},
    {"\xed\x9f\xbf", 3, 3, 0xd7ff},
    {"\xee\x80\x80", 3, 3, 0xe000},
    {"\xef\xbf\xbf", 3, 3, 0xffff},
    {"\xf0\x90\x80\x80", 4, 4, 0x10000},
    {"\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff},
    {"\xe2\x84\xa2", 3, 3, 0x2122},      /* TRADE MARK SIGN */
    {"\xef\xbb\xbf", 3, 3, 0xfeff},      /* BOM, RFC 3629 §6 */
    {"\xf0\xa3\x8e\xb4", 4, 4, 0x233b4}, /* RFC 3629 §7 example */
    {"", 0, 0, 0},
    {"\x80", 1, 0, 0},
    {"\xbf", 1, 0, 0},
    {"\xc0\x80", 2, 0, 0},         /* overlong NUL */
    {"\xc1\xbf", 2, 0, 0},         /* overlong */
    {"\xe0\x80\xaf", 3, 0, 0},     /* overlong '/' */
    {"\xe0\x9f\xbf", 3, 0, 0},     /* overlong */
    {"\xf0\x8f\xbf\xbf", 4, 0, 0}, /* overlong */
    {"\xed\xa0\x80", 3, 0, 0},     /* U+D800 */
    {"\xed\xbf\xbf", 3, 0, 0},     /* U+DFFF */
    {"\xf4\x90\x80\x80", 4, 0, 0}, /* U+110000 */
    {"\xf5\x80\x80\x80", 4, 0, 0},
    {"\xff", 1, 0, 0},
    {"\xc3", 1, 0, 0},         /* truncated */
    {"\xe2\x84", 2, 0, 0},     /* truncated */
    {"\xf0\x9f\x94", 3, 0, 0}, /* truncated */
    {"\xc3\x41", 2, 0, 0},     /* bad continuation */
    {"\xe2\x28\xa1", 3, 0, 0}, /* bad continuation */
};

static void test_query_utf8(void **state)
{
    size_t i;
    uint32_t cp;

    (void)state;
    for (i = 0; i < sizeof(ucases) / sizeof(ucases[0]); i++) {
        cp = 0xdeadbeef;
        assert_int_equal(query_decode_utf8(ucases[i].s, ucases[i].len, &cp), ucases[i].n);
        assert_int_equal(cp, ucases[i].cp);
    }
    assert_int_equal(query_is_text("", 0), 1);
    assert_int_equal(query_is_text(NULL, 0), 1);
    assert_int_equal(query_is_text("h\xc3\xa9llo \xf0\x9f\x94\x91", 11), 1);
    assert_int_equal(query_is_text("a\0b", 3), 0);
    assert_int_equal(query_is_text("ab\xc3", 3), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_table),      cmocka_unit_test(test_query_null_and_msg),
        cmocka_unit_test(test_query_length_cap), cmocka_unit_test(test_query_nomem),
        cmocka_unit_test(test_query_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
