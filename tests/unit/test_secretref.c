/*
 * test_secretref.c - secret references (src/cli/secretref.c): parsing, every error, the
 * limits at and over their caps, canonical forms, template scanning, allocation failures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/secretref.h"
#include "common/alloc.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- parsing -------------------------------------------------------------------------- */

struct ok_case {
    const char *in;
    const char *vault, *item, *section, *field;
    enum secretref_attr attr;
    enum secretref_ssh_format ssh;
};

static const struct ok_case ok_cases[] = {
    {"op://dev/Stripe/publishable-key", "dev", "Stripe", NULL, "publishable-key",
     SECRETREF_ATTR_VALUE, SECRETREF_SSH_NONE},
    {"op://Management/PagerDuty/Admin/email", "Management", "PagerDuty", "Admin", "email",
     SECRETREF_ATTR_VALUE, SECRETREF_SSH_NONE},
    {"op://Dev/Stripe/Publishable Key", "Dev", "Stripe", NULL, "Publishable Key",
     SECRETREF_ATTR_VALUE, SECRETREF_SSH_NONE},
    {"op://\"My Vault\"/\"db/prod\"/password", "My Vault", "db/prod", NULL, "password",
     SECRETREF_ATTR_VALUE, SECRETREF_SSH_NONE},
    {"op://v/i/\"a \\\"q\\\" \\\\ b\"", "v", "i", NULL, "a \"q\" \\ b", SECRETREF_ATTR_VALUE,
     SECRETREF_SSH_NONE},
    {"op://v/i/one-time password?attribute=otp", "v", "i", NULL, "one-time password",
     SECRETREF_ATTR_OTP, SECRETREF_SSH_NONE},
    {"op://v/i/f?attr=totp", "v", "i", NULL, "f", SECRETREF_ATTR_TOTP, SECRETREF_SSH_NONE},
    {"op://v/i/f?ATTRIBUTE=Type", "v", "i", NULL, "f", SECRETREF_ATTR_TYPE, SECRETREF_SSH_NONE},
    {"op://v/i/f?attribute=value", "v", "i", NULL, "f", SECRETREF_ATTR_VALUE, SECRETREF_SSH_NONE},
    {"op://v/i/f?attribute=purpose", "v", "i", NULL, "f", SECRETREF_ATTR_PURPOSE,
     SECRETREF_SSH_NONE},
    {"op://v/i/key.pem?attribute=content", "v", "i", NULL, "key.pem", SECRETREF_ATTR_CONTENT,
     SECRETREF_SSH_NONE},
    {"op://v/i/key.pem?attr=size", "v", "i", NULL, "key.pem", SECRETREF_ATTR_SIZE,
     SECRETREF_SSH_NONE},
    {"op://v/i/key.pem?attr=name", "v", "i", NULL, "key.pem", SECRETREF_ATTR_NAME,
     SECRETREF_SSH_NONE},
    {"op://v/i/s/private key?ssh-format=openssh", "v", "i", "s", "private key",
     SECRETREF_ATTR_VALUE, SECRETREF_SSH_OPENSSH},
    {"op://v/i/f?attribute=id&ssh-format=OpenSSH", "v", "i", NULL, "f", SECRETREF_ATTR_ID,
     SECRETREF_SSH_OPENSSH},
    {"op://v/i/\"caf\xc3\xa9\"", "v", "i", NULL, "caf\xc3\xa9", SECRETREF_ATTR_VALUE,
     SECRETREF_SSH_NONE},
    {"op://\"v?x\"/\" i \"/\"s%\"/f", "v?x", " i ", "s%", "f", SECRETREF_ATTR_VALUE,
     SECRETREF_SSH_NONE},
    {"op://abcdefghijklmnopqrstuvwxyz/0123456789ABCDEFGHIJKLMN/_-. x", "abcdefghijklmnopqrstuvwxyz",
     "0123456789ABCDEFGHIJKLMN", NULL, "_-. x", SECRETREF_ATTR_VALUE, SECRETREF_SSH_NONE},
};

static void assert_str_or_null(const char *got, const char *want)
{
    if (!want)
        assert_null(got);
    else
        assert_string_equal(got, want);
}

static void test_parse_ok(void **state)
{
    struct secretref r;
    char msg[256];
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(ok_cases); i++) {
        const struct ok_case *c = &ok_cases[i];

        memset(msg, 'x', sizeof(msg));
        assert_int_equal(secretref_parse(&r, c->in, strlen(c->in), msg, sizeof(msg)), ERR_OK);
        assert_string_equal(msg, "");
        assert_string_equal(r.sr_vault, c->vault);
        assert_string_equal(r.sr_item, c->item);
        assert_str_or_null(r.sr_section, c->section);
        assert_string_equal(r.sr_field, c->field);
        assert_int_equal(r.sr_attr, c->attr);
        assert_int_equal(r.sr_ssh_format, c->ssh);
        secretref_clear(&r);
        assert_null(r.sr_vault);
        secretref_clear(&r); /* twice is fine */
    }
    /* the length is what counts, not a NUL */
    assert_int_equal(secretref_parse(&r, "op://v/i/fXYZ", 10, NULL, 0), ERR_OK);
    assert_string_equal(r.sr_field, "f");
    secretref_clear(&r);
    secretref_clear(NULL);
}

struct bad_case {
    const char *in;
    enum err rc;
    const char *msg;
};

#define SR "secret reference: "
static const struct bad_case bad_cases[] = {
    {"", ERR_BAD_INPUT, SR "must begin with op:// (lower case)"},
    {"OP://v/i/f", ERR_BAD_INPUT, SR "must begin with op:// (lower case)"},
    {"op:/v/i/f", ERR_BAD_INPUT, SR "must begin with op:// (lower case)"},
    {" op://v/i/f", ERR_BAD_INPUT, SR "must begin with op:// (lower case)"},
    {"op://", ERR_BAD_INPUT, SR "too few names: expected op://vault/item[/section]/field"},
    {"op://v", ERR_BAD_INPUT, SR "too few names: expected op://vault/item[/section]/field"},
    {"op://v/i", ERR_BAD_INPUT, SR "too few names: expected op://vault/item[/section]/field"},
    {"op://v/i?attribute=otp", ERR_BAD_INPUT,
     SR "too few names: expected op://vault/item[/section]/field"},
    {"op://a/b/c/d/e", ERR_BAD_INPUT,
     SR "too many names: expected op://vault/item[/section]/field (quote a name holding '/')"},
    {"op://v//f", ERR_BAD_INPUT, SR "the item name is empty"},
    {"op:///i/f", ERR_BAD_INPUT, SR "the vault name is empty"},
    {"op://v/i/f/", ERR_BAD_INPUT, SR "the field name is empty"},
    {"op://v/i//f", ERR_BAD_INPUT, SR "the section name is empty"},
    {"op://v/i/\"\"", ERR_BAD_INPUT, SR "the field name is empty"},
    {"op://v/i/a\"b\"", ERR_BAD_INPUT, SR "quotes must enclose the whole field name"},
    {"op://v/i/\"ab\"c", ERR_BAD_INPUT, SR "quotes must enclose a whole name"},
    {"op://v/i/\"abc", ERR_BAD_INPUT, SR "unterminated quoted name"},
    {"op://v/i/\"ab\\\"", ERR_BAD_INPUT, SR "unterminated quoted name"},
    {"op://v/i/\"ab\\", ERR_BAD_INPUT, SR "unterminated quoted name"},
    {"op://v/i/a%20b", ERR_BAD_INPUT, SR "the field name holds a character that must be quoted"},
    {"op://v/i!/f", ERR_BAD_INPUT, SR "the item name holds a character that must be quoted"},
    {"op://v/i/f\tg", ERR_BAD_INPUT, SR "the field name holds a character that must be quoted"},
    {"op://v/i/ f", ERR_BAD_INPUT, SR "the field name begins or ends with a space (quote it)"},
    {"op://v /i/f", ERR_BAD_INPUT, SR "the vault name begins or ends with a space (quote it)"},
    {"op://v/i/\"a\\nb\"", ERR_BAD_INPUT,
     SR "unknown escape in the field name (only \\\" and \\\\)"},
    {"op://v/i/\"a\tb\"", ERR_BAD_INPUT, SR "the field name holds a control character"},
    {"op://v/i/s/\"a\x7f\"", ERR_BAD_INPUT, SR "the field name holds a control character"},
    {"op://v/i/\"\xff\"", ERR_BAD_INPUT, SR "the field name is not valid UTF-8"},
    {"op://v/i/f?", ERR_BAD_INPUT, SR "empty query"},
    {"op://v/i/f?attribute", ERR_BAD_INPUT, SR "query parameter without a value"},
    {"op://v/i/f?attribute=otp&", ERR_BAD_INPUT, SR "empty query parameter"},
    {"op://v/i/f?&attribute=otp", ERR_BAD_INPUT, SR "empty query parameter"},
    {"op://v/i/f?foo=bar", ERR_BAD_INPUT,
     SR "unknown query parameter (attribute, attr or ssh-format)"},
    {"op://v/i/f?attribute=otp&attr=type", ERR_BAD_INPUT, SR "attribute given twice"},
    {"op://v/i/f?attribute=password", ERR_BAD_INPUT,
     SR "unknown attribute (value, type, id, purpose, otp, totp, content, size or name)"},
    {"op://v/i/f?attribute=", ERR_BAD_INPUT,
     SR "unknown attribute (value, type, id, purpose, otp, totp, content, size or name)"},
    {"op://v/i/f?ssh-format=pem", ERR_BAD_INPUT, SR "unknown ssh-format (openssh)"},
    {"op://v/i/f?ssh-format=openssh&ssh-format=openssh", ERR_BAD_INPUT,
     SR "ssh-format given twice"},
    {"op://v/i/f?attribute=otp?x=y", ERR_BAD_INPUT,
     SR "unknown attribute (value, type, id, purpose, otp, totp, content, size or name)"},
};

static void test_parse_errors(void **state)
{
    struct secretref r;
    char msg[256];
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(bad_cases); i++) {
        const struct bad_case *c = &bad_cases[i];

        memset(&r, 0x5a, sizeof(r));
        assert_int_equal(secretref_parse(&r, c->in, strlen(c->in), msg, sizeof(msg)), c->rc);
        assert_string_equal(msg, c->msg);
        assert_null(r.sr_vault);
        assert_null(r.sr_item);
        assert_null(r.sr_section);
        assert_null(r.sr_field);
    }
}

/* Error messages never hold the reference's text. */
static void test_never_echoes(void **state)
{
    static const char *const in[] = {
        "op://Sup3rS3cret/i/f!",       "op://v/Sup3rS3cret%/f",
        "op://v/i/\"Sup3rS3cret",      "op://v/i/f?Sup3rS3cret=1",
        "op://v/i/f?attr=Sup3rS3cret", "op://v/i/f?attr=otp&Sup3rS3cret",
        "Sup3rS3cret://v/i/f",
    };
    struct secretref r;
    struct secretref_span sp;
    char msg[256], text[128];
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(in); i++) {
        assert_int_not_equal(secretref_parse(&r, in[i], strlen(in[i]), msg, sizeof(msg)), ERR_OK);
        assert_null(strstr(msg, "Sup3r"));
        (void)snprintf(text, sizeof(text), "x {{ %s }}", in[i]);
        if (secretref_next(text, strlen(text), 0, &sp, NULL, msg, sizeof(msg)) != ERR_NOT_FOUND)
            assert_null(strstr(msg, "Sup3r"));
    }
}

static void test_limits(void **state)
{
    struct secretref r;
    char *s, msg[256];
    size_t n;

    (void)state;
    s = malloc(3 * SECRETREF_MAX_LEN);
    assert_non_null(s);

    /* a name of exactly SECRETREF_MAX_SEGMENT bytes, unquoted and quoted (with escapes) */
    n = (size_t)snprintf(s, 32, "op://v/i/");
    memset(s + n, 'a', SECRETREF_MAX_SEGMENT);
    n += SECRETREF_MAX_SEGMENT;
    assert_int_equal(secretref_parse(&r, s, n, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(strlen(r.sr_field), SECRETREF_MAX_SEGMENT);
    secretref_clear(&r);
    s[n++] = 'a';
    assert_int_equal(secretref_parse(&r, s, n, msg, sizeof(msg)), ERR_TOO_LARGE);
    assert_string_equal(msg, "secret reference: the field name is longer than 1024 bytes");

    n = (size_t)snprintf(s, 32, "op://v/i/\"");
    for (size_t k = 0; k < SECRETREF_MAX_SEGMENT; k++) {
        s[n++] = '\\';
        s[n++] = '"';
    }
    s[n++] = '"';
    assert_int_equal(secretref_parse(&r, s, n, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(strlen(r.sr_field), SECRETREF_MAX_SEGMENT);
    secretref_clear(&r);
    s[n - 1] = 'x';
    s[n++] = '"';
    assert_int_equal(secretref_parse(&r, s, n, msg, sizeof(msg)), ERR_TOO_LARGE);
    assert_string_equal(msg, "secret reference: the field name is longer than 1024 bytes");

    /* the whole text: SECRETREF_MAX_LEN bytes parse, one more does not */
    n = (size_t)snprintf(s, 32, "op://");
    for (int k = 0; k < 3; k++) {
        memset(s + n, 'b', 1022);
        n += 1022;
        s[n++] = '/';
    }
    memset(s + n, 'c', SECRETREF_MAX_LEN - n);
    n = SECRETREF_MAX_LEN;
    assert_int_equal(secretref_parse(&r, s, n, msg, sizeof(msg)), ERR_OK);
    assert_non_null(r.sr_section);
    secretref_clear(&r);
    s[n++] = 'c';
    assert_int_equal(secretref_parse(&r, s, n, msg, sizeof(msg)), ERR_TOO_LARGE);
    assert_string_equal(msg, "secret reference: longer than 4096 bytes");
    assert_null(r.sr_vault);
    free(s);
}

static void test_parse_nomem(void **state)
{
    static const char in[] = "op://\"My Vault\"/item/sec/\"field\\\\x\"?attr=otp";
    struct secretref r;
    char msg[256];
    enum err rc = ERR_NOMEM;
    long n;

    (void)state;
    for (n = 0; n < 100 && rc != ERR_OK; n++) {
        mem_fail_after(n);
        rc = secretref_parse(&r, in, strlen(in), msg, sizeof(msg));
        mem_fail_after(-1);
        assert_true(rc == ERR_OK || rc == ERR_NOMEM);
        if (rc == ERR_NOMEM) {
            assert_string_equal(msg, "secret reference: out of memory");
            assert_null(r.sr_vault);
            assert_null(r.sr_field);
        }
    }
    assert_int_equal(rc, ERR_OK);
    assert_int_equal(n, 5); /* 4 failed runs: four names, one allocation each */
    assert_string_equal(r.sr_field, "field\\x");
    secretref_clear(&r);
}

/* ---- canonical forms ------------------------------------------------------------------- */

struct canon_case {
    const char *in;
    const char *exact, *folded, *item;
};

static const struct canon_case canon_cases[] = {
    {"op://\"My Vault\"/\"db/prod\"/password?attr=otp",
     "op://My Vault/\"db/prod\"/password?attribute=otp",
     "op://my vault/\"db/prod\"/password?attribute=otp", "op://My Vault/\"db/prod\""},
    {"op://V/I/\" lead\"", "op://V/I/\" lead\"", "op://v/i/\" lead\"", "op://V/I"},
    {"op://v/i/S/F?ssh-format=openssh&attribute=id", "op://v/i/S/F?attribute=id&ssh-format=openssh",
     "op://v/i/s/f?attribute=id&ssh-format=openssh", "op://v/i"},
    {"op://v/i/\"a\\\"b\\\\\"?attribute=value", "op://v/i/\"a\\\"b\\\\\"",
     "op://v/i/\"a\\\"b\\\\\"", "op://v/i"},
    {"op://v/i/f?ATTR=TOTP&SSH-FORMAT=openssh", "op://v/i/f?attribute=totp&ssh-format=openssh",
     "op://v/i/f?attribute=totp&ssh-format=openssh", "op://v/i"},
    {"op://\"Caf\xc3\xa9\"/i/f", "op://\"Caf\xc3\xa9\"/i/f", "op://\"caf\xc3\xa9\"/i/f",
     "op://\"Caf\xc3\xa9\"/i"},
};

static void test_canonical(void **state)
{
    struct secretref r, back;
    char out[SECRETREF_CANON_MAX], small[8];
    size_t i, n;

    (void)state;
    for (i = 0; i < ARRAY_LEN(canon_cases); i++) {
        const struct canon_case *c = &canon_cases[i];

        assert_int_equal(secretref_parse(&r, c->in, strlen(c->in), NULL, 0), ERR_OK);
        assert_int_equal(secretref_canonical(&r, 0, out, sizeof(out), &n), ERR_OK);
        assert_string_equal(out, c->exact);
        assert_int_equal(n, strlen(c->exact));
        assert_int_equal(secretref_parse(&back, out, n, NULL, 0), ERR_OK);
        assert_true(secretref_equal(&r, &back));
        secretref_clear(&back);
        assert_int_equal(secretref_canonical(&r, SECRETREF_CANON_FOLD, out, sizeof(out), NULL),
                         ERR_OK);
        assert_string_equal(out, c->folded);
        assert_int_equal(secretref_canonical(&r, SECRETREF_CANON_ITEM, out, sizeof(out), &n),
                         ERR_OK);
        assert_string_equal(out, c->item);
        /* too small: "" and ERR_TOO_LARGE */
        assert_int_equal(secretref_canonical(&r, 0, small, sizeof(small), &n), ERR_TOO_LARGE);
        assert_string_equal(small, "");
        assert_int_equal(n, 0);
        secretref_clear(&r);
    }
    /* exactly enough room */
    assert_int_equal(secretref_parse(&r, "op://v/i/f", 10, NULL, 0), ERR_OK);
    assert_int_equal(secretref_canonical(&r, 0, out, 11, &n), ERR_OK);
    assert_string_equal(out, "op://v/i/f");
    assert_int_equal(secretref_canonical(&r, 0, out, 10, &n), ERR_TOO_LARGE);
    assert_int_equal(secretref_canonical(&r, 0, out, 0, &n), ERR_TOO_LARGE);
    secretref_clear(&r);
    /* an incomplete reference */
    assert_int_equal(secretref_canonical(&r, 0, out, sizeof(out), &n), ERR_BAD_INPUT);
}

static void test_equal(void **state)
{
    static const char *const refs[] = {
        "op://v/i/f",
        "op://v/i/s/f",
        "op://v/i/F",
        "op://v/i/f?attribute=otp",
        "op://v/i/f?attribute=totp",
        "op://v/i/f?ssh-format=openssh",
        "op://w/i/f",
        "op://v/j/f",
    };
    struct secretref a, b;
    size_t i, j;

    (void)state;
    for (i = 0; i < ARRAY_LEN(refs); i++) {
        for (j = 0; j < ARRAY_LEN(refs); j++) {
            assert_int_equal(secretref_parse(&a, refs[i], strlen(refs[i]), NULL, 0), ERR_OK);
            assert_int_equal(secretref_parse(&b, refs[j], strlen(refs[j]), NULL, 0), ERR_OK);
            assert_int_equal(secretref_equal(&a, &b), i == j);
            secretref_clear(&a);
            secretref_clear(&b);
        }
    }
    assert_int_equal(secretref_parse(&a, "op://v/i/f?attr=value", 21, NULL, 0), ERR_OK);
    assert_int_equal(secretref_parse(&b, "op://\"v\"/i/f", 12, NULL, 0), ERR_OK);
    assert_true(secretref_equal(&a, &b));
    secretref_clear(&a);
    secretref_clear(&b);
    assert_string_equal(secretref_attr_name(SECRETREF_ATTR_NAME), "name");
    assert_string_equal(secretref_attr_name((enum secretref_attr)99), "?");
}

/* ---- templates ------------------------------------------------------------------------- */

struct tpl_match {
    enum secretref_span_kind kind;
    const char *whole; /* text[ss_start..ss_end) */
    const char *inner; /* text[ss_ref_start..ss_ref_end) */
    const char *field; /* parsed field (references only) */
};

struct tpl_case {
    const char *text;
    struct tpl_match m[3];
};

static const struct tpl_case tpl_cases[] = {
    {"user: {{ op://prod/db/username }}\npass: {{op://prod/db/password}}\n",
     {{SECRETREF_SPAN_ENCLOSED, "{{ op://prod/db/username }}", "op://prod/db/username", "username"},
      {SECRETREF_SPAN_ENCLOSED, "{{op://prod/db/password}}", "op://prod/db/password", "password"}}},
    {"url=op://a/b/c?attribute=otp, next",
     {{SECRETREF_SPAN_BARE, "op://a/b/c?attribute=otp", "op://a/b/c?attribute=otp", "c"}}},
    {"x op://a/b/c\ny op://a/b/s/d",
     {{SECRETREF_SPAN_BARE, "op://a/b/c", "op://a/b/c", "c"},
      {SECRETREF_SPAN_BARE, "op://a/b/s/d", "op://a/b/s/d", "d"}}},
    {"xop://a/b/c \\op://a/b/c .op://a/b/c -op://a/b/c +op://a/b/c 9op://a/b/c", {{0}}},
    {"{{ \"{{ op://a/b/c }}\" }} tail",
     {{SECRETREF_SPAN_LITERAL, "{{ \"{{ op://a/b/c }}\" }}", "{{ op://a/b/c }}", NULL}}},
    {"{{\"a\\\"b\"}}", {{SECRETREF_SPAN_LITERAL, "{{\"a\\\"b\"}}", "a\\\"b", NULL}}},
    {"{{ .Values.x }} and {{ \"oops\" | quote }} {{", {{0}}},
    {"k: {{ op://\"My Vault\"/\"a}}b\"/f }}!",
     {{SECRETREF_SPAN_ENCLOSED, "{{ op://\"My Vault\"/\"a}}b\"/f }}",
       "op://\"My Vault\"/\"a}}b\"/f", "f"}}},
    {"a\"op://v/i/f\"", {{SECRETREF_SPAN_BARE, "op://v/i/f", "op://v/i/f", "f"}}},
    {"{{\top://v/i/My Field\t}}",
     {{SECRETREF_SPAN_ENCLOSED, "{{\top://v/i/My Field\t}}", "op://v/i/My Field", "My Field"}}},
    {"op://v/i/f op://v/i/g{op://v/i/h}",
     {{SECRETREF_SPAN_BARE, "op://v/i/f", "op://v/i/f", "f"},
      {SECRETREF_SPAN_BARE, "op://v/i/g", "op://v/i/g", "g"},
      {SECRETREF_SPAN_BARE, "op://v/i/h", "op://v/i/h", "h"}}},
    {"", {{0}}},
};

static void test_template_scan(void **state)
{
    struct secretref_span sp;
    struct secretref r;
    char msg[256];
    size_t i, k, from;

    (void)state;
    for (i = 0; i < ARRAY_LEN(tpl_cases); i++) {
        const struct tpl_case *c = &tpl_cases[i];
        size_t len = strlen(c->text);

        from = 0;
        for (k = 0; k < ARRAY_LEN(c->m) && c->m[k].kind; k++) {
            const struct tpl_match *m = &c->m[k];

            assert_int_equal(secretref_next(c->text, len, from, &sp, &r, msg, sizeof(msg)), ERR_OK);
            assert_string_equal(msg, "");
            assert_int_equal(sp.ss_kind, m->kind);
            assert_int_equal(sp.ss_end - sp.ss_start, strlen(m->whole));
            assert_memory_equal(c->text + sp.ss_start, m->whole, strlen(m->whole));
            assert_int_equal(sp.ss_ref_end - sp.ss_ref_start, strlen(m->inner));
            assert_memory_equal(c->text + sp.ss_ref_start, m->inner, strlen(m->inner));
            assert_str_or_null(r.sr_field, m->field);
            secretref_clear(&r);
            from = sp.ss_end;
        }
        assert_int_equal(secretref_next(c->text, len, from, &sp, &r, msg, sizeof(msg)),
                         ERR_NOT_FOUND);
        assert_int_equal(sp.ss_end, 0);
        assert_null(r.sr_vault);
    }
    /* ref may be NULL */
    assert_int_equal(secretref_next("a op://v/i/f", 12, 0, &sp, NULL, NULL, 0), ERR_OK);
    assert_int_equal(sp.ss_start, 2);
    /* from past the end */
    assert_int_equal(secretref_next("op://v/i/f", 10, 11, &sp, NULL, NULL, 0), ERR_NOT_FOUND);
}

struct tpl_bad {
    const char *text;
    enum err rc;
    size_t start;
    const char *msg;
};

static const struct tpl_bad tpl_bad_cases[] = {
    {"line1\n  {{ op://v/i }}\n", ERR_BAD_INPUT, 8,
     "template line 2, column 3: secret reference: too few names: expected "
     "op://vault/item[/section]/field"},
    {"{{ op://v/i/f\n}}", ERR_BAD_INPUT, 0,
     "template line 1, column 1: unterminated {{ (expected }} on the same line)"},
    {"{{ op://v/i/f }", ERR_BAD_INPUT, 0,
     "template line 1, column 1: unterminated {{ (expected }} on the same line)"},
    {"{{ op://v/i/\"f}}", ERR_BAD_INPUT, 0,
     "template line 1, column 1: unterminated {{ (expected }} on the same line)"},
    {"see op:// for help", ERR_BAD_INPUT, 4,
     "template line 1, column 5: secret reference: too few names: expected "
     "op://vault/item[/section]/field"},
    {"a\nb op://v/i/f?attribute=nope", ERR_BAD_INPUT, 4,
     "template line 2, column 3: secret reference: unknown attribute (value, type, id, purpose, "
     "otp, totp, content, size or name)"},
    {"ok op://v/i/f then {{ op://v/i/f?x=1 }}", ERR_BAD_INPUT, 19,
     "template line 1, column 20: secret reference: unknown query parameter (attribute, attr or "
     "ssh-format)"},
};

static void test_template_errors(void **state)
{
    struct secretref_span sp;
    struct secretref r;
    char msg[256];
    size_t i, from;
    enum err rc;

    (void)state;
    for (i = 0; i < ARRAY_LEN(tpl_bad_cases); i++) {
        const struct tpl_bad *c = &tpl_bad_cases[i];
        size_t len = strlen(c->text);

        from = 0;
        while ((rc = secretref_next(c->text, len, from, &sp, &r, msg, sizeof(msg))) == ERR_OK) {
            secretref_clear(&r);
            from = sp.ss_end;
        }
        assert_int_equal(rc, c->rc);
        assert_string_equal(msg, c->msg);
        assert_int_equal(sp.ss_start, c->start);
        assert_null(r.sr_vault);
    }
}

static void test_template_limits(void **state)
{
    struct secretref_span sp;
    char *t, msg[256];
    size_t n;

    (void)state;
    t = malloc(2 * SECRETREF_MAX_LEN);
    assert_non_null(t);
    /* an enclosed reference over the limit is refused before its "}}" is looked for */
    n = (size_t)snprintf(t, 32, "{{ op://v/i/");
    memset(t + n, 'f', SECRETREF_MAX_LEN + 100);
    n += SECRETREF_MAX_LEN + 100;
    memcpy(t + n, " }}", 3);
    n += 3;
    assert_int_equal(secretref_next(t, n, 0, &sp, NULL, msg, sizeof(msg)), ERR_TOO_LARGE);
    assert_string_equal(msg, "template line 1, column 1: secret reference: longer than 4096 bytes");
    /* a bare one too */
    assert_int_equal(secretref_next(t, n, 3, &sp, NULL, msg, sizeof(msg)), ERR_TOO_LARGE);
    assert_string_equal(msg, "template line 1, column 4: secret reference: longer than 4096 bytes");
    free(t);
}

static void test_literal_unescape(void **state)
{
    static const char raw[] = "a\\\"b\\\\c\\d\\";
    char out[sizeof(raw)];
    size_t n;

    (void)state;
    n = secretref_literal_unescape(raw, strlen(raw), out);
    assert_int_equal(n, 8);
    assert_memory_equal(out, "a\"b\\c\\d\\", 8);
}

static void test_template_nomem(void **state)
{
    static const char text[] = "x {{ op://\"V V\"/i/s/f }} y";
    struct secretref_span sp;
    struct secretref r;
    char msg[256];
    enum err rc = ERR_NOMEM;
    long n;

    (void)state;
    for (n = 0; n < 100 && rc != ERR_OK; n++) {
        mem_fail_after(n);
        rc = secretref_next(text, strlen(text), 0, &sp, &r, msg, sizeof(msg));
        mem_fail_after(-1);
        assert_true(rc == ERR_OK || rc == ERR_NOMEM);
        if (rc == ERR_NOMEM) {
            assert_string_equal(msg, "template line 1, column 3: secret reference: out of memory");
            assert_null(r.sr_vault);
        }
    }
    assert_int_equal(rc, ERR_OK);
    assert_string_equal(r.sr_vault, "V V");
    secretref_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_never_echoes),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_parse_nomem),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_template_scan),
        cmocka_unit_test(test_template_errors),
        cmocka_unit_test(test_template_limits),
        cmocka_unit_test(test_literal_unescape),
        cmocka_unit_test(test_template_nomem),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
