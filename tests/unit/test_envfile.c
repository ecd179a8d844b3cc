/*
 * test_envfile.c - environment files (src/cli/envfile.c): every syntax rule with exact
 * outputs, every error with its line, the caps at and over their limits, and allocation
 * failures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/envfile.h"
#include "common/alloc.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct kv {
    const char *key, *value;
    size_t line;
};

struct ok_case {
    const char *text;
    struct kv want[4]; /* ends at a NULL key */
};

static const struct ok_case ok_cases[] = {
    {"A=1\nB=two words\n", {{"A", "1", 1}, {"B", "two words", 2}}},
    {"export  A = x \r\nB=\"q\\\"x\\n\\\\\\t\\r\"\r\n", {{"A", "x", 1}, {"B", "q\"x\n\\\t\r", 2}}},
    {"# comment\n\n   \n\t# indented comment\nC='lit \\n $X \"'\n", {{"C", "lit \\n $X \"", 5}}},
    {"D=\"multi\nline\"\nE=2", {{"D", "multi\nline", 1}, {"E", "2", 3}}},
    {"F=val # comment\nG=#notcomment\nH= # c\nI=\"x\" # c\n",
     {{"F", "val", 1}, {"G", "#notcomment", 2}, {"H", "", 3}, {"I", "x", 4}}},
    {"J=\nK=1\nJ=second", {{"J", "second", 3}, {"K", "1", 2}}},
    {"\xef\xbb\xbfL=1", {{"L", "1", 1}}},
    {"M=\"a\r\nb\"\r\nN='c\r\nd'  ", {{"M", "a\nb", 1}, {"N", "c\nd", 3}}},
    {"O=C:\\path\nP=\"C:\\path\\\\x\"", {{"O", "C:\\path", 1}, {"P", "C:\\path\\x", 2}}},
    {"export=1\nexport_x=2\n_=3", {{"export", "1", 1}, {"export_x", "2", 2}, {"_", "3", 3}}},
    {"Q=a\"b'c\nR=op://vault/item/field?attribute=otp",
     {{"Q", "a\"b'c", 1}, {"R", "op://vault/item/field?attribute=otp", 2}}},
    {"S=a=b==\nT= \t spaced \t \nU=''\nV=\"\"",
     {{"S", "a=b==", 1}, {"T", "spaced", 2}, {"U", "", 3}, {"V", "", 4}}},
    {"", {{NULL, NULL, 0}}},
    {"\n\n# only comments\r\n", {{NULL, NULL, 0}}},
};

static void test_parse_ok(void **state)
{
    struct envfile_var *v;
    char msg[256];
    size_t i, k, n;

    (void)state;
    for (i = 0; i < ARRAY_LEN(ok_cases); i++) {
        const struct ok_case *c = &ok_cases[i];

        memset(msg, 'x', sizeof(msg));
        assert_int_equal(envfile_parse(c->text, strlen(c->text), &v, &n, msg, sizeof(msg)), ERR_OK);
        assert_string_equal(msg, "");
        for (k = 0; k < ARRAY_LEN(c->want) && c->want[k].key; k++) {
            assert_true(k < n);
            assert_string_equal(v[k].ev_key, c->want[k].key);
            assert_string_equal(v[k].ev_value, c->want[k].value);
            assert_int_equal(v[k].ev_value_len, strlen(c->want[k].value));
            assert_int_equal(v[k].ev_line, c->want[k].line);
        }
        assert_int_equal(n, k);
        if (n == 0)
            assert_null(v);
        envfile_free(v, n);
    }
    envfile_free(NULL, 0);
}

struct bad_case {
    const char *text;
    size_t len; /* 0: strlen */
    enum err rc;
    const char *msg;
};

static const struct bad_case bad_cases[] = {
    {"1A=x", 0, ERR_BAD_INPUT,
     "env file line 1: expected a variable name ([A-Za-z_][A-Za-z0-9_]*)"},
    {"A=1\n=1", 0, ERR_BAD_INPUT,
     "env file line 2: expected a variable name ([A-Za-z_][A-Za-z0-9_]*)"},
    {"A x", 0, ERR_BAD_INPUT, "env file line 1: expected '=' after the variable name"},
    {"A-B=1", 0, ERR_BAD_INPUT, "env file line 1: expected '=' after the variable name"},
    {"export A", 0, ERR_BAD_INPUT, "env file line 1: expected '=' after the variable name"},
    {"export   ", 0, ERR_BAD_INPUT,
     "env file line 1: expected a variable name ([A-Za-z_][A-Za-z0-9_]*)"},
    {"A\n", 0, ERR_BAD_INPUT, "env file line 1: expected '=' after the variable name"},
    {"X=1\nA=\"abc\nB=2", 0, ERR_BAD_INPUT, "env file line 2: unterminated quoted value"},
    {"A='abc", 0, ERR_BAD_INPUT, "env file line 1: unterminated quoted value"},
    {"A=\"abc\\\"", 0, ERR_BAD_INPUT, "env file line 1: unterminated quoted value"},
    {"A=\"abc\" junk", 0, ERR_BAD_INPUT,
     "env file line 1: unexpected text after the closing quote"},
    {"ok=1\n\nA='x\ny'y", 0, ERR_BAD_INPUT,
     "env file line 4: unexpected text after the closing quote"},
    {"A=1\0", 4, ERR_BAD_INPUT, "env file line 1: NUL byte"},
    {"A=1\nB=\"x\0\"", 9, ERR_BAD_INPUT, "env file line 2: NUL byte"},
};

static void test_parse_errors(void **state)
{
    struct envfile_var *v;
    char msg[256];
    size_t i, n;

    (void)state;
    for (i = 0; i < ARRAY_LEN(bad_cases); i++) {
        const struct bad_case *c = &bad_cases[i];
        size_t len = c->len ? c->len : strlen(c->text);

        v = (struct envfile_var *)1;
        n = 99;
        assert_int_equal(envfile_parse(c->text, len, &v, &n, msg, sizeof(msg)), c->rc);
        assert_string_equal(msg, c->msg);
        assert_null(v);
        assert_int_equal(n, 0);
    }
}

/* Messages never hold a value or a key. */
static void test_never_echoes(void **state)
{
    static const char *const in[] = {
        "A=\"S3cretValue",         "A=\"S3cretValue\" S3cretValue",
        "S3cretValue S3cretValue", "9S3cretValue=1",
        "A-S3cretValue=1",
    };
    struct envfile_var *v;
    char msg[256];
    size_t i, n;

    (void)state;
    for (i = 0; i < ARRAY_LEN(in); i++) {
        assert_int_equal(envfile_parse(in[i], strlen(in[i]), &v, &n, msg, sizeof(msg)),
                         ERR_BAD_INPUT);
        assert_null(strstr(msg, "S3cret"));
    }
}

static void test_limits(void **state)
{
    struct envfile_var *v;
    char *t, msg[256];
    size_t n, len, i;

    (void)state;
    t = malloc(ENVFILE_MAX_BYTES + 16);
    assert_non_null(t);

    /* the whole file */
    memset(t, '\n', ENVFILE_MAX_BYTES + 1);
    assert_int_equal(envfile_parse(t, ENVFILE_MAX_BYTES, &v, &n, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(envfile_parse(t, ENVFILE_MAX_BYTES + 1, &v, &n, msg, sizeof(msg)),
                     ERR_TOO_LARGE);
    assert_string_equal(msg, "env file: larger than 1048576 bytes");

    /* one line: ENVFILE_MAX_LINE_BYTES without its CRLF, then one more */
    t[0] = '\n';
    t[1] = 'A';
    t[2] = '=';
    memset(t + 3, 'v', ENVFILE_MAX_LINE_BYTES - 2);
    len = 1 + ENVFILE_MAX_LINE_BYTES;
    t[len++] = '\r';
    t[len++] = '\n';
    assert_int_equal(envfile_parse(t, len, &v, &n, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].ev_value_len, ENVFILE_MAX_LINE_BYTES - 2);
    envfile_free(v, n);
    t[len - 2] = 'v';
    assert_int_equal(envfile_parse(t, len - 1, &v, &n, msg, sizeof(msg)), ERR_TOO_LARGE);
    assert_string_equal(msg, "env file line 2: longer than 65536 bytes");

    /* a quoted value over lines: ENVFILE_MAX_VALUE_BYTES, then one more */
    len = (size_t)snprintf(t, 16, "B=\"");
    for (i = 0; i < ENVFILE_MAX_VALUE_BYTES; i++)
        t[len++] = (i % 100 == 99) ? '\n' : 'w';
    t[len++] = '"';
    assert_int_equal(envfile_parse(t, len, &v, &n, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(v[0].ev_value_len, ENVFILE_MAX_VALUE_BYTES);
    envfile_free(v, n);
    t[len - 1] = 'w';
    t[len++] = '"';
    assert_int_equal(envfile_parse(t, len, &v, &n, msg, sizeof(msg)), ERR_TOO_LARGE);
    assert_string_equal(msg, "env file line 1: value longer than 65536 bytes");

    /* a key of ENVFILE_MAX_KEY_BYTES, then one more */
    memset(t, 'K', ENVFILE_MAX_KEY_BYTES);
    t[ENVFILE_MAX_KEY_BYTES] = '=';
    assert_int_equal(envfile_parse(t, ENVFILE_MAX_KEY_BYTES + 1, &v, &n, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(strlen(v[0].ev_key), ENVFILE_MAX_KEY_BYTES);
    envfile_free(v, n);
    memset(t, 'K', ENVFILE_MAX_KEY_BYTES + 1);
    t[ENVFILE_MAX_KEY_BYTES + 1] = '=';
    assert_int_equal(envfile_parse(t, ENVFILE_MAX_KEY_BYTES + 2, &v, &n, msg, sizeof(msg)),
                     ERR_TOO_LARGE);
    assert_string_equal(msg, "env file line 1: variable name longer than 256 bytes");

    /* ENVFILE_MAX_VARS distinct variables (repeats do not count), then one more */
    len = 0;
    for (i = 0; i < ENVFILE_MAX_VARS; i++)
        len += (size_t)snprintf(t + len, 32, "V%zu=%zu\nV0=again\n", i, i);
    assert_int_equal(envfile_parse(t, len, &v, &n, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(n, ENVFILE_MAX_VARS);
    assert_string_equal(v[0].ev_value, "again");
    assert_string_equal(v[ENVFILE_MAX_VARS - 1].ev_key, "V4095");
    assert_string_equal(v[ENVFILE_MAX_VARS - 1].ev_value, "4095");
    envfile_free(v, n);
    len += (size_t)snprintf(t + len, 32, "W=1\n");
    assert_int_equal(envfile_parse(t, len, &v, &n, msg, sizeof(msg)), ERR_TOO_LARGE);
    assert_string_equal(msg, "env file line 8193: more than 4096 variables");
    assert_null(v);
    free(t);
}

static void test_parse_nomem(void **state)
{
    static const char text[] = "A=1\nB=\"two\"\nC='3'\nA=4\nD=5\n";
    struct envfile_var *v;
    char msg[256];
    enum err rc = ERR_NOMEM;
    size_t n;
    long k;

    (void)state;
    for (k = 0; k < 100 && rc != ERR_OK; k++) {
        mem_fail_after(k);
        rc = envfile_parse(text, strlen(text), &v, &n, msg, sizeof(msg));
        mem_fail_after(-1);
        assert_true(rc == ERR_OK || rc == ERR_NOMEM);
        if (rc == ERR_NOMEM) {
            assert_string_equal(msg, "env file: out of memory");
            assert_null(v);
            assert_int_equal(n, 0);
        }
    }
    assert_int_equal(rc, ERR_OK);
    assert_int_equal(k, 11); /* 10 failed runs: 5 values, 4 keys, 1 array */
    assert_int_equal(n, 4);
    assert_string_equal(v[0].ev_value, "4");
    envfile_free(v, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),     cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_never_echoes), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_parse_nomem),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
