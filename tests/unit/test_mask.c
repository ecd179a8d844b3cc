/*
 * test_mask.c - cli/mask.h: every occurrence of every value concealed, whatever the
 * chunking of the stream (each input is fed whole, byte by byte, and in every two-piece
 * split, and the outputs must agree), held bytes only where a value may begin, the longest
 * value winning, emit failures, and allocation failures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cli/mask.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "crypto/crypto.h"

#define M MASK_TEXT

struct sink {
    char s_buf[8192];
    size_t s_len;
    int s_fail_after; /* fail the emit call after this many calls (-1: never) */
    int s_calls;
};

static int sink_emit(void *arg, const char *p, size_t n)
{
    struct sink *s = arg;

    if (s->s_fail_after >= 0 && s->s_calls++ >= s->s_fail_after)
        return -1;
    assert_true(s->s_len + n < sizeof(s->s_buf));
    memcpy(s->s_buf + s->s_len, p, n);
    s->s_len += n;
    s->s_buf[s->s_len] = '\0';
    return 0;
}

/* Feeds input in pieces split at the offsets in cuts (sorted, nc of them), then EOF. */
static void feed_split(const struct mask *m, const char *input, const size_t *cuts, size_t nc,
                       struct sink *out)
{
    struct mask_stream st;
    size_t at = 0, i, len = strlen(input);

    memset(&st, 0, sizeof(st));
    memset(out, 0, sizeof(*out));
    out->s_fail_after = -1;
    for (i = 0; i <= nc; i++) {
        size_t end = i < nc ? cuts[i] : len;

        assert_int_equal(mask_feed(m, &st, input + at, end - at, 0, sink_emit, out), ERR_OK);
        at = end;
    }
    assert_int_equal(mask_feed(m, &st, NULL, 0, 1, sink_emit, out), ERR_OK);
    assert_int_equal(st.ms_len, 0);
    mask_stream_free(&st);
}

/* Checks that every chunking of input gives want. */
static void check_all_chunkings(const struct mask *m, const char *input, const char *want)
{
    size_t len = strlen(input), cut, cuts[512], i;
    struct sink out;

    feed_split(m, input, NULL, 0, &out);
    assert_string_equal(out.s_buf, want);
    assert_true(len < 512);
    for (i = 0; i < len; i++)
        cuts[i] = i + 1;
    feed_split(m, input, cuts, len ? len - 1 : 0, &out); /* byte by byte */
    assert_string_equal(out.s_buf, want);
    for (cut = 0; cut <= len; cut++) {
        feed_split(m, input, &cut, 1, &out);
        assert_string_equal(out.s_buf, want);
    }
}

static struct mask *make(const char *const *vals, size_t n)
{
    size_t lens[16], i;
    struct mask *m = NULL;

    assert_true(n <= 16);
    for (i = 0; i < n; i++)
        lens[i] = vals[i] ? strlen(vals[i]) : 0;
    assert_int_equal(mask_new(&m, vals, lens, n), ERR_OK);
    return m;
}

static void test_table(void **state)
{
    static const char *const vals[] = {"s3cret", "abc", "abcdef", "", "xx", "\n--KEY--\n"};
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"", ""},
        {"nothing to hide\n", "nothing to hide\n"},
        {"s3cret", M},
        {"pw=s3cret;", "pw=" M ";"},
        {"s3crets3cret", M M},
        {"s3cre", "s3cre"},     /* a prefix at the end: released at EOF */
        {"s3cre t", "s3cre t"}, /* a prefix broken by the next byte */
        {"abcdef", M},          /* the longest value wins */
        {"abcde", M "de"},      /* ...when it is complete */
        {"abcabc", M M},
        {"xxx", M "x"},
        {"xxxx", M M},
        {"a\n--KEY--\nb", "a" M "b"},
        {"ss3cret", "s" M},
        {"abcdefabc", M M},
    };
    struct mask *m = make(vals, sizeof(vals) / sizeof(vals[0]));
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        check_all_chunkings(m, rows[i].in, rows[i].want);
    mask_free(m);
}

static void test_holds_only_prefixes(void **state)
{
    static const char *const vals[] = {"secret"};
    struct mask *m = make(vals, 1);
    struct mask_stream st;
    struct sink out;

    (void)state;
    memset(&st, 0, sizeof(st));
    memset(&out, 0, sizeof(out));
    out.s_fail_after = -1;
    /* Ordinary output goes out at once. */
    assert_int_equal(mask_feed(m, &st, "hello\n", 6, 0, sink_emit, &out), ERR_OK);
    assert_string_equal(out.s_buf, "hello\n");
    assert_int_equal(st.ms_len, 0);
    /* A tail that may begin the value is held... */
    assert_int_equal(mask_feed(m, &st, "x se", 4, 0, sink_emit, &out), ERR_OK);
    assert_string_equal(out.s_buf, "hello\nx ");
    assert_int_equal(st.ms_len, 2);
    /* ...and released as soon as it is not the value. */
    assert_int_equal(mask_feed(m, &st, "a", 1, 0, sink_emit, &out), ERR_OK);
    assert_string_equal(out.s_buf, "hello\nx sea");
    assert_int_equal(st.ms_len, 0);
    assert_int_equal(mask_feed(m, &st, "secr", 4, 0, sink_emit, &out), ERR_OK);
    assert_int_equal(mask_feed(m, &st, "et!", 3, 0, sink_emit, &out), ERR_OK);
    assert_string_equal(out.s_buf, "hello\nx sea" M "!");
    mask_stream_free(&st);
    mask_free(m);
}

static void test_no_values_and_errors(void **state)
{
    struct mask *m = NULL;
    struct mask_stream st;
    struct sink out;
    const char *big[MASK_MAX_VALUES + 1];
    size_t lens[MASK_MAX_VALUES + 1];

    (void)state;
    m = make(NULL, 0);
    check_all_chunkings(m, "anything at all", "anything at all");
    mask_free(m);
    memset(big, 0, sizeof(big));
    memset(lens, 0, sizeof(lens));
    assert_int_equal(mask_new(&m, big, lens, MASK_MAX_VALUES + 1), ERR_TOO_LARGE);
    assert_null(m);

    /* An emit failure stops with ERR_IO. */
    {
        static const char *const vals[] = {"pw"};

        m = make(vals, 1);
        memset(&st, 0, sizeof(st));
        memset(&out, 0, sizeof(out));
        out.s_fail_after = 0;
        assert_int_equal(mask_feed(m, &st, "a pw b", 6, 1, sink_emit, &out), ERR_IO);
        mask_stream_free(&st);
        mask_free(m);
    }
    mask_free(NULL);
}

static void test_nomem(void **state)
{
    static const char *const vals[] = {"pw"};
    size_t lens[] = {2};
    struct mask *m = NULL;
    long n;
    enum err e = ERR_NOMEM;

    (void)state;
    for (n = 0; n < 10 && e != ERR_OK; n++) {
        mem_fail_after(n);
        e = mask_new(&m, vals, lens, 1);
        mem_fail_after(-1);
        assert_true(e == ERR_OK || e == ERR_NOMEM);
    }
    assert_int_equal(e, ERR_OK);
    mask_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_holds_only_prefixes),
        cmocka_unit_test(test_no_values_and_errors),
        cmocka_unit_test(test_nomem),
    };

    if (crypto_init() != ERR_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
