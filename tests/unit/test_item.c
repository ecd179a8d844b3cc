/* test_item.c - Connect items: input rules, normalisation, output shape, round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/limits.h"
#include "crypto/crypto.h"
#include "json/item.h"

#define VAULT "vvvvvvvvvvvvvvvvvvvvvvvvvv"
#define ITEM  "iiiiiiiiiiiiiiiiiiiiiiiiii"
/* 2020-10-29T17:52:17Z */
#define NOW 1603993937

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);

    if (!j)
        fail_msg("fixture does not parse: %s: %s", jerr.text, text);
    return j;
}

static const struct item_input create_input = {ITEM_CREATE, VAULT, NULL, NULL, NULL, NOW};

/* Runs item_from_request on text; returns the error and fills msg / content. */
static enum err run(const char *text, const struct item_input *in, json_t **content, char *cat,
                    char *msg, size_t cap)
{
    json_t *body = parse(text);
    enum err rc = item_from_request(content, cat, body, in, msg, cap);

    json_decref(body);
    return rc;
}

static json_t *create_ok(const char *text, char *cat)
{
    char msg[256];
    json_t *c = NULL;
    enum err rc = run(text, &create_input, &c, cat, msg, sizeof(msg));

    if (rc != ERR_OK)
        fail_msg("expected success, got %d: %s", rc, msg);
    return c;
}

static json_t *field_by_id(const json_t *content, const char *id)
{
    size_t i;
    json_t *f;

    json_array_foreach(json_object_get(content, "fields"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "id")), id) == 0)
            return f;
    }
    return NULL;
}

static const char *fstr(const json_t *f, const char *key)
{
    return json_string_value(json_object_get(f, key));
}

struct bad_case {
    const char *body;
    enum err rc;
    const char *message;
};

static void test_bad_inputs(void **state)
{
    static const struct bad_case cases[] = {
        {"[]", ERR_BAD_INPUT, "the item must be a JSON object"},
        {"{}", ERR_BAD_INPUT, "category is required"},
        {"{\"category\":\"\"}", ERR_BAD_INPUT, "category is required"},
        {"{\"category\":7}", ERR_BAD_INPUT, "category must be a string"},
        {"{\"category\":\"NOPE\"}", ERR_BAD_INPUT, "Invalid item category"},
        {"{\"category\":\"CUSTOM\"}", ERR_BAD_INPUT,
         "category: CUSTOM items cannot be created through the Connect API"},
        {"{\"category\":\"document\"}", ERR_BAD_INPUT,
         "category: DOCUMENT items cannot be created through the Connect API"},
        {"{\"category\":\"LOGIN\",\"vault\":{\"id\":\"otl6r6nugj5wr63rnkw3v4pbna\"}}",
         ERR_BAD_INPUT, "vault.id does not match the vault in the path"},
        {"{\"category\":\"LOGIN\",\"vault\":\"x\"}", ERR_BAD_INPUT, "vault must be an object"},
        {"{\"category\":\"LOGIN\",\"title\":5}", ERR_BAD_INPUT, "title must be a string"},
        {"{\"category\":\"LOGIN\",\"favorite\":\"yes\"}", ERR_BAD_INPUT,
         "favorite must be true or false"},
        {"{\"category\":\"LOGIN\",\"tags\":\"a\"}", ERR_BAD_INPUT, "tags must be an array"},
        {"{\"category\":\"LOGIN\",\"tags\":[\"a\",1]}", ERR_BAD_INPUT, "tags[1] must be a string"},
        {"{\"category\":\"LOGIN\",\"tags\":[\"\"]}", ERR_BAD_INPUT,
         "tags[0] must be a non-empty string"},
        {"{\"category\":\"LOGIN\",\"urls\":[{\"label\":\"x\"}]}", ERR_BAD_INPUT,
         "urls[0].href is required"},
        {"{\"category\":\"LOGIN\",\"urls\":[1]}", ERR_BAD_INPUT, "urls[0] must be an object"},
        {"{\"category\":\"LOGIN\",\"urls\":[{\"href\":\"a\",\"primary\":true},"
         "{\"href\":\"b\",\"primary\":true}]}",
         ERR_BAD_INPUT, "urls[1].primary: only one URL can be primary"},
        {"{\"category\":\"LOGIN\",\"urls\":[{\"href\":\"a\",\"primary\":1}]}", ERR_BAD_INPUT,
         "urls[0].primary must be true or false"},
        {"{\"category\":\"LOGIN\",\"sections\":[{\"id\":\"s\"},{\"id\":\"s\"}]}", ERR_BAD_INPUT,
         "sections[1].id is not unique"},
        {"{\"category\":\"LOGIN\",\"sections\":[\"s\"]}", ERR_BAD_INPUT,
         "sections[0] must be an object"},
        {"{\"category\":\"LOGIN\",\"fields\":{}}", ERR_BAD_INPUT, "fields must be an array"},
        {"{\"category\":\"LOGIN\",\"fields\":[7]}", ERR_BAD_INPUT, "fields[0] must be an object"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"type\":\"TOTP\"}]}", ERR_BAD_INPUT,
         "fields[0] has unsupported field type: totp (use OTP)"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"type\":\"totp\"}]}", ERR_BAD_INPUT,
         "fields[0] has unsupported field type: totp (use OTP)"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"type\":\"WHATEVER\"}]}", ERR_BAD_INPUT,
         "fields[0] has unsupported field type"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"purpose\":\"OWNER\"}]}", ERR_BAD_INPUT,
         "fields[0].purpose must be one of \"\", USERNAME, PASSWORD, NOTES"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"id\":\"a\"},{\"id\":\"a\"}]}", ERR_BAD_INPUT,
         "fields[1].id is not unique"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"value\":5}]}", ERR_BAD_INPUT,
         "fields[0].value must be a string"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"label\":[]}]}", ERR_BAD_INPUT,
         "fields[0].label must be a string"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"section\":\"s\"}]}", ERR_BAD_INPUT,
         "fields[0].section must be an object"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"section\":{\"id\":3}}]}", ERR_BAD_INPUT,
         "fields[0].section.id must be a string"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"generate\":\"true\"}]}", ERR_BAD_INPUT,
         "fields[0].generate must be true or false"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"purpose\":\"PASSWORD\",\"value\":\"a\"},"
         "{\"purpose\":\"password\",\"value\":\"b\"}]}",
         ERR_BAD_INPUT, "You can only use one \"password\" field."},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"type\":\"DATE\",\"value\":\"2021-02-30\"}]}",
         ERR_BAD_INPUT,
         "fields[0].value is not a valid DATE (expected YYYY-MM-DD or Unix seconds)"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"type\":\"DATE\",\"value\":\"yesterday\"}]}",
         ERR_BAD_INPUT,
         "fields[0].value is not a valid DATE (expected YYYY-MM-DD or Unix seconds)"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"type\":\"MONTH_YEAR\",\"value\":\"202113\"}]}",
         ERR_BAD_INPUT, "fields[0].value is not a valid MONTH_YEAR (expected YYYYMM or YYYY/MM)"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"type\":\"MONTH_YEAR\",\"value\":\"12/2021\"}]}",
         ERR_BAD_INPUT, "fields[0].value is not a valid MONTH_YEAR (expected YYYYMM or YYYY/MM)"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"type\":\"OTP\",\"value\":\"otpauth://totp/"
         "x?secret=1\"}]}",
         ERR_BAD_INPUT,
         "fields[0].value is not a valid one-time password (expected an otpauth:// URI or a "
         "base32 secret)"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"generate\":true,\"recipe\":5}]}", ERR_BAD_INPUT,
         "fields[0].recipe must be an object"},
        {"{\"category\":\"LOGIN\",\"fields\":[{\"generate\":true,\"recipe\":{\"length\":65}}]}",
         ERR_BAD_INPUT, NULL /* the generator's message, prefixed: checked below */},
    };
    char msg[256], cat[ITEM_CATEGORY_MAX];
    json_t *content;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum err rc = run(cases[i].body, &create_input, &content, cat, msg, sizeof(msg));
        if (rc != cases[i].rc)
            fail_msg("case %zu: expected %d, got %d (%s)", i, cases[i].rc, rc, msg);
        assert_null(content);
        if (cases[i].message && strcmp(msg, cases[i].message) != 0)
            fail_msg("case %zu: expected message [%s], got [%s]", i, cases[i].message, msg);
        if (!cases[i].message)
            assert_true(strncmp(msg, "fields[0].recipe", 16) == 0);
    }
}

static void test_limits(void **state)
{
    char msg[256], cat[ITEM_CATEGORY_MAX];
    json_t *body, *tags, *content;
    size_t i;
    char big[ITEM_MAX_TITLE_BYTES + 2];

    (void)state;
    body = json_pack("{s:s}", "category", "LOGIN");
    tags = json_array();
    for (i = 0; i <= ITEM_MAX_TAGS; i++) {
        char t[16];
        snprintf(t, sizeof(t), "t%zu", i);
        json_array_append_new(tags, json_string(t));
    }
    json_object_set_new(body, "tags", tags);
    assert_int_equal(item_from_request(&content, cat, body, &create_input, msg, sizeof(msg)),
                     ERR_TOO_LARGE);
    assert_string_equal(msg, "tags has too many entries (at most 256)");
    json_object_del(body, "tags");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    json_object_set_new(body, "title", json_string(big));
    assert_int_equal(item_from_request(&content, cat, body, &create_input, msg, sizeof(msg)),
                     ERR_BAD_INPUT);
    assert_string_equal(msg, "title is too long (at most 1024 bytes)");
    /* A NUL inside a string is refused rather than silently cut. */
    json_object_set_new(body, "title", json_stringn("a\0b", 3));
    assert_int_equal(item_from_request(&content, cat, body, &create_input, msg, sizeof(msg)),
                     ERR_BAD_INPUT);
    assert_string_equal(msg, "title must not contain NUL characters");
    json_decref(body);
}

/* The Go SDK's create body: "id": "", zero times, "type": "", files, version absent. */
static void test_go_sdk_junk_is_ignored(void **state)
{
    char cat[ITEM_CATEGORY_MAX];
    json_t *c;
    const json_t *f;

    (void)state;
    c = create_ok("{\"id\":\"\",\"title\":\"DB\",\"vault\":{\"id\":\"" VAULT "\"},"
                  "\"category\":\"LOGIN\",\"createdAt\":\"0001-01-01T00:00:00Z\","
                  "\"updatedAt\":\"0001-01-01T00:00:00Z\",\"lastEditedBy\":\"\","
                  "\"files\":[{\"id\":\"\",\"name\":\"\",\"size\":0,\"content_path\":\"\"}],"
                  "\"fields\":[{\"id\":\"\",\"type\":\"\",\"purpose\":\"USERNAME\",\"label\":"
                  "\"username\",\"value\":\"admin\"}]}",
                  cat);
    assert_string_equal(cat, "LOGIN");
    assert_string_equal(fstr(c, "title"), "DB");
    assert_null(json_object_get(c, "files"));
    assert_null(json_object_get(c, "createdAt"));
    assert_null(json_object_get(c, "id"));
    /* The username field took the built-in id and the default type. */
    f = field_by_id(c, "username");
    assert_non_null(f);
    assert_string_equal(fstr(f, "type"), "STRING");
    assert_string_equal(fstr(f, "value"), "admin");
    assert_string_equal(fstr(f, "purpose"), "USERNAME");
    json_decref(c);
}

static void test_builtins_and_ids(void **state)
{
    char cat[ITEM_CATEGORY_MAX];
    json_t *c, *fields;
    const json_t *f;
    size_t i;

    (void)state;
    c = create_ok("{\"category\":\"login\",\"title\":\"x\",\"fields\":[{\"label\":\"extra\","
                  "\"value\":\"v\"},{\"purpose\":\"PASSWORD\",\"type\":\"concealed\",\"value\":"
                  "\"hunter2\"}]}",
                  cat);
    assert_string_equal(cat, "LOGIN");
    fields = json_object_get(c, "fields");
    assert_int_equal(json_array_size(fields), 4);
    /* Missing built-ins come first in template order; given fields keep their order. */
    assert_string_equal(fstr(json_array_get(fields, 0), "id"), "username");
    assert_string_equal(fstr(json_array_get(fields, 1), "id"), "notesPlain");
    assert_string_equal(fstr(json_array_get(fields, 3), "id"), "password");
    f = json_array_get(fields, 2);
    assert_int_equal(strlen(fstr(f, "id")), ID_LEN); /* generated */
    assert_true(id_is_valid(fstr(f, "id")));
    assert_string_equal(fstr(f, "type"), "STRING");
    assert_null(json_object_get(f, "purpose"));
    f = field_by_id(c, "password");
    assert_string_equal(fstr(f, "type"), "CONCEALED");
    assert_string_equal(fstr(f, "label"), "password");
    assert_string_equal(fstr(f, "value"), "hunter2");
    /* Entropy is reported on password fields (7 chars of lower + digit: 7 * log2(36)). */
    assert_true(json_is_real(json_object_get(f, "entropy")));
    assert_true(json_real_value(json_object_get(f, "entropy")) > 36.18 &&
                json_real_value(json_object_get(f, "entropy")) < 36.20);
    f = field_by_id(c, "username");
    assert_string_equal(fstr(f, "purpose"), "USERNAME");
    assert_null(json_object_get(f, "value"));
    f = field_by_id(c, "notesPlain");
    assert_string_equal(fstr(f, "purpose"), "NOTES");
    json_decref(c);

    /* A client-chosen password field id is kept and no second password field appears. */
    c = create_ok("{\"category\":\"PASSWORD\",\"fields\":[{\"id\":\"pw\",\"purpose\":\"PASSWORD\","
                  "\"value\":\"x\"}]}",
                  cat);
    assert_null(field_by_id(c, "password"));
    assert_non_null(field_by_id(c, "pw"));
    assert_non_null(field_by_id(c, "notesPlain"));
    json_decref(c);

    /* Every category gets notesPlain; SSH_KEY its key fields; sections get ids. */
    c = create_ok("{\"category\":\"SSH_KEY\",\"sections\":[{\"label\":\"Extra\"}],\"fields\":["
                  "{\"id\":\"private_key\",\"type\":\"SSHKEY\",\"value\":\"-----BEGIN\"}]}",
                  cat);
    f = field_by_id(c, "private_key");
    assert_string_equal(fstr(f, "type"), "SSHKEY"); /* kept, unlike upstream's STRING */
    assert_string_equal(fstr(f, "label"), "private key");
    assert_non_null(field_by_id(c, "public_key"));
    assert_true(id_is_valid(fstr(json_array_get(json_object_get(c, "sections"), 0), "id")));
    json_decref(c);

    c = create_ok("{\"category\":\"SECURE_NOTE\"}", cat);
    fields = json_object_get(c, "fields");
    assert_int_equal(json_array_size(fields), 1);
    assert_string_equal(fstr(json_array_get(fields, 0), "id"), "notesPlain");
    json_decref(c);

    /* Every input type is accepted, any case; other known types are preserved. */
    c = create_ok("{\"category\":\"LOGIN\",\"fields\":[{\"id\":\"a\",\"type\":\"email\"},{\"id\":"
                  "\"b\",\"type\":\"Url\"},{\"id\":\"c\",\"type\":\"menu\"},{\"id\":\"d\",\"type\":"
                  "\"PHONE\"},{\"id\":\"e\",\"type\":\"reference\"},{\"id\":\"f\",\"type\":"
                  "\"ADDRESS\"}]}",
                  cat);
    {
        static const char *const want[][2] = {{"a", "EMAIL"}, {"b", "URL"},       {"c", "MENU"},
                                              {"d", "PHONE"}, {"e", "REFERENCE"}, {"f", "ADDRESS"}};
        for (i = 0; i < 6; i++)
            assert_string_equal(fstr(field_by_id(c, want[i][0]), "type"), want[i][1]);
    }
    json_decref(c);
}

static void test_values_and_sections(void **state)
{
    char cat[ITEM_CATEGORY_MAX];
    json_t *c, *secs, *expect;

    (void)state;
    c = create_ok("{\"category\":\"LOGIN\",\"tags\":[\"prod\",\"db\",\"prod\"],"
                  "\"urls\":[{\"href\":\"https://a\",\"primary\":true,\"label\":\"website\"},"
                  "{\"href\":\"https://b\",\"primary\":false,\"label\":\"\"}],"
                  "\"favorite\":false,\"fields\":["
                  "{\"id\":\"d1\",\"type\":\"DATE\",\"value\":\"2021-03-04\"},"
                  "{\"id\":\"d2\",\"type\":\"DATE\",\"value\":\"1614816060\"},"
                  "{\"id\":\"m1\",\"type\":\"MONTH_YEAR\",\"value\":\"2021/07\"},"
                  "{\"id\":\"m2\",\"type\":\"MONTH_YEAR\",\"value\":\"202107\"},"
                  "{\"id\":\"s1\",\"section\":{\"id\":\"Section_1\"},\"value\":\"\"}]}",
                  cat);
    expect = parse("[\"prod\",\"db\"]");
    assert_true(json_equal(json_object_get(c, "tags"), expect));
    json_decref(expect);
    expect = parse("[{\"label\":\"website\",\"primary\":true,\"href\":\"https://a\"},"
                   "{\"href\":\"https://b\"}]");
    assert_true(json_equal(json_object_get(c, "urls"), expect));
    json_decref(expect);
    assert_null(json_object_get(c, "favorite"));
    assert_string_equal(fstr(field_by_id(c, "d1"), "value"), "1614816000");
    assert_string_equal(fstr(field_by_id(c, "d2"), "value"), "1614816060");
    assert_string_equal(fstr(field_by_id(c, "m1"), "value"), "202107");
    assert_string_equal(fstr(field_by_id(c, "m2"), "value"), "202107");
    /* An empty value is absent; a section named by a field is added. */
    assert_null(json_object_get(field_by_id(c, "s1"), "value"));
    secs = json_object_get(c, "sections");
    assert_int_equal(json_array_size(secs), 1);
    assert_string_equal(fstr(json_array_get(secs, 0), "id"), "Section_1");
    json_decref(c);
}

static void test_generate(void **state)
{
    char cat[ITEM_CATEGORY_MAX];
    json_t *c;
    const json_t *f;
    const char *v;
    size_t i;

    (void)state;
    c = create_ok("{\"category\":\"LOGIN\",\"fields\":[{\"id\":\"password\",\"purpose\":"
                  "\"PASSWORD\",\"type\":\"CONCEALED\",\"generate\":true,\"recipe\":{\"length\":40,"
                  "\"characterSets\":[\"LETTERS\",\"DIGITS\"],\"excludeCharacters\":\"0O1l\"}}]}",
                  cat);
    f = field_by_id(c, "password");
    v = fstr(f, "value");
    assert_int_equal(strlen(v), 40);
    for (i = 0; i < 40; i++)
        assert_null(strchr("0O1l!#%)*+,-.:=>?@]^_}~", v[i]));
    assert_null(json_object_get(f, "generate"));
    assert_null(json_object_get(f, "recipe"));
    /* 40 characters from 58: 40 * log2(58) = 234.3... */
    assert_true(json_real_value(json_object_get(f, "entropy")) > 200);
    json_decref(c);

    /* No recipe: 32 characters of all three sets. */
    c = create_ok("{\"category\":\"PASSWORD\",\"fields\":[{\"purpose\":\"PASSWORD\",\"generate\":"
                  "true}]}",
                  cat);
    assert_int_equal(strlen(fstr(field_by_id(c, "password"), "value")), 32);
    json_decref(c);
}

static void test_replace(void **state)
{
    char cat[ITEM_CATEGORY_MAX], msg[256];
    json_t *old, *c;
    const json_t *h;
    struct item_input in = {ITEM_REPLACE, VAULT, ITEM, "LOGIN", NULL, NOW + 60};

    (void)state;
    old = create_ok("{\"category\":\"LOGIN\",\"fields\":[{\"id\":\"password\",\"purpose\":"
                    "\"PASSWORD\",\"value\":\"old-secret\"}]}",
                    cat);
    json_object_set_new(old, "files",
                        parse("[{\"id\":\"ffffffffffffffffffffffffff\",\"name\":\"a.pem\","
                              "\"size\":12}]"));
    in.ii_existing = old;
    /* PUT without category keeps it; the id in the body must match the path. */
    assert_int_equal(run("{\"id\":\"otl6r6nugj5wr63rnkw3v4pbna\"}", &in, &c, cat, msg, sizeof(msg)),
                     ERR_BAD_INPUT);
    assert_string_equal(msg, "id does not match the item in the path");
    assert_int_equal(run("{\"id\":\"" ITEM "\",\"title\":\"new\",\"files\":[],\"fields\":[{\"id\":"
                         "\"password\",\"purpose\":\"PASSWORD\",\"value\":\"new-secret\"}]}",
                         &in, &c, cat, msg, sizeof(msg)),
                     ERR_OK);
    assert_string_equal(cat, "LOGIN");
    assert_string_equal(fstr(c, "title"), "new");
    /* Files carry over by reference; the old password goes to the history. */
    assert_int_equal(json_array_size(json_object_get(c, "files")), 1);
    h = json_object_get(c, "passwordHistory");
    assert_int_equal(json_array_size(h), 1);
    assert_string_equal(fstr(json_array_get(h, 0), "value"), "old-secret");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(h, 0), "time")), NOW + 60);
    json_decref(c);

    /* CUSTOM cannot be created, but a CUSTOM item can be replaced as CUSTOM. */
    in.ii_existing_category = "CUSTOM";
    assert_int_equal(run("{\"category\":\"CUSTOM\"}", &in, &c, cat, msg, sizeof(msg)), ERR_OK);
    assert_string_equal(cat, "CUSTOM");
    json_decref(c);
    in.ii_existing_category = "LOGIN";
    assert_int_equal(run("{\"category\":\"DOCUMENT\"}", &in, &c, cat, msg, sizeof(msg)),
                     ERR_BAD_INPUT);
    json_decref(old);
}

static void test_output_shape(void **state)
{
    struct item_meta m = {ITEM, VAULT, "LOGIN", 3, NOW - 100, NOW, "DOIHOHSV2NHK5HMSOLCWJUXFDM",
                          ""};
    char cat[ITEM_CATEGORY_MAX];
    json_t *c, *out;
    char *text;

    (void)state;
    c = create_ok("{\"category\":\"LOGIN\",\"title\":\"DB\",\"tags\":[\"prod\"],\"fields\":["
                  "{\"id\":\"username\",\"purpose\":\"USERNAME\",\"value\":\"admin\"},"
                  "{\"id\":\"password\",\"purpose\":\"PASSWORD\",\"value\":\"pw\"},"
                  "{\"id\":\"otp\",\"type\":\"OTP\",\"value\":\"otpauth://totp/x?secret="
                  "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8\"}]}",
                  cat);
    /* Summary: no sections/fields/files; fixed key set and values. */
    assert_int_equal(item_to_json(&out, &m, c, 0, 59), ERR_OK);
    text = json_dumps(out, JSON_COMPACT);
    assert_string_equal(text,
                        "{\"id\":\"" ITEM "\",\"title\":\"DB\",\"version\":3,\"vault\":{\"id\":"
                        "\"" VAULT "\"},\"category\":\"LOGIN\",\"tags\":[\"prod\"],"
                        "\"lastEditedBy\":\"DOIHOHSV2NHK5HMSOLCWJUXFDM\",\"createdAt\":"
                        "\"2020-10-29T17:50:37Z\",\"updatedAt\":\"2020-10-29T17:52:17Z\"}");
    free(text);
    json_decref(out);

    /* Full: the OTP field carries the RFC 6238 code for T=59 (SHA1, 8 digits). */
    assert_int_equal(item_to_json(&out, &m, c, ITEM_OUT_FULL, 59), ERR_OK);
    assert_string_equal(fstr(field_by_id(out, "otp"), "totp"), "94287082");
    assert_string_equal(fstr(field_by_id(out, "password"), "value"), "pw");
    assert_non_null(json_object_get(field_by_id(out, "password"), "entropy"));
    assert_null(json_object_get(out, "sections"));
    assert_null(json_object_get(out, "files"));
    json_decref(out);

    /* Redacted (write-only tokens): no values, codes or entropy anywhere. */
    assert_int_equal(item_to_json(&out, &m, c, ITEM_OUT_FULL | ITEM_OUT_REDACT, 59), ERR_OK);
    text = json_dumps(out, JSON_COMPACT);
    assert_null(strstr(text, "\"value\""));
    assert_null(strstr(text, "\"totp\""));
    assert_null(strstr(text, "\"entropy\""));
    assert_null(strstr(text, "admin"));
    free(text);
    json_decref(out);

    /* Files get an absolute content_path; state appears when set. */
    json_object_set_new(c, "files",
                        parse("[{\"id\":\"ffffffffffffffffffffffffff\",\"name\":\"a.pem\","
                              "\"size\":12,\"section\":{\"id\":\"s\"}}]"));
    snprintf(m.im_state, sizeof(m.im_state), "ARCHIVED");
    assert_int_equal(item_to_json(&out, &m, c, ITEM_OUT_FULL, 59), ERR_OK);
    assert_string_equal(fstr(json_array_get(json_object_get(out, "files"), 0), "content_path"),
                        "/v1/vaults/" VAULT "/items/" ITEM "/files/ffffffffffffffffffffffffff/"
                        "content");
    assert_string_equal(fstr(out, "state"), "ARCHIVED");
    json_decref(out);
    json_decref(c);
    assert_int_equal(item_to_json(&out, &m, NULL, 0, 0), ERR_BAD_INPUT);
}

static void test_split_join(void **state)
{
    char cat[ITEM_CATEGORY_MAX];
    json_t *c, *ov, *dt, *back;

    (void)state;
    c = create_ok("{\"category\":\"LOGIN\",\"title\":\"t\",\"tags\":[\"a\"],\"urls\":[{\"href\":"
                  "\"h\"}],\"favorite\":true,\"fields\":[{\"id\":\"x\",\"value\":\"v\"}]}",
                  cat);
    assert_int_equal(item_content_split(c, &ov, &dt), ERR_OK);
    assert_int_equal(json_object_size(ov), 4);
    assert_non_null(json_object_get(ov, "title"));
    assert_non_null(json_object_get(ov, "favorite"));
    assert_null(json_object_get(ov, "fields"));
    assert_non_null(json_object_get(dt, "fields"));
    assert_null(json_object_get(dt, "title"));
    assert_int_equal(item_content_join(ov, dt, &back), ERR_OK);
    assert_true(json_equal(back, c));
    json_decref(ov);
    json_decref(dt);
    json_decref(back);
    json_decref(c);
}

/*
 * Round trips on real-shaped FullItems of every category: parse (item_from_json) then
 * serialise (item_to_json) gives back the same JSON, and parsing that again gives the same
 * meta and content.
 */
static void test_round_trip_fixtures(void **state)
{
    static const char *const fixtures[] = {
        /* connect-sdk-python#34: a fresh PASSWORD item, with its built-in section. */
        "{\"id\":\"6go6qftma5enrsbaqwmcdytd3u\",\"title\":\"AWS_ACCESS_KEY_ID\",\"version\":1,"
        "\"vault\":{\"id\":\"akvk5ifqsjge7mgpruvglovgfa\"},\"category\":\"PASSWORD\","
        "\"lastEditedBy\":\"DOIHOHSV2NHK5HMSOLCWJUXFDM\",\"createdAt\":\"2022-01-17T23:41:32Z\","
        "\"updatedAt\":\"2022-01-17T23:41:32Z\",\"sections\":[{\"id\":\"linked items\",\"label\":"
        "\"Related Items\"}],\"fields\":[{\"id\":\"password\",\"type\":\"CONCEALED\",\"purpose\":"
        "\"PASSWORD\",\"label\":\"password\",\"value\":\"AKIA\",\"entropy\":130.0688473607018},"
        "{\"id\":\"notesPlain\",\"type\":\"STRING\",\"purpose\":\"NOTES\",\"label\":"
        "\"notesPlain\"}]}",
        /* The conformance fixture LOGIN: built-ins, a custom section, OTP, DATE, MONTH_YEAR,
           two labelled URLs (one primary), tags, a file. */
        "{\"id\":\"vsxl2wxjbxkkxnvnhdthxeoatq\",\"title\":\"Prod DB\",\"version\":7,\"vault\":"
        "{\"id\":\"otl6r6nugj5wr63rnkw3v4pbna\"},\"category\":\"LOGIN\",\"urls\":[{\"label\":"
        "\"website\",\"primary\":true,\"href\":\"https://db.example.com\"},{\"label\":\"admin\","
        "\"href\":\"https://admin.example.com\"}],\"favorite\":true,\"tags\":[\"prod\",\"db\"],"
        "\"lastEditedBy\":\"DOIHOHSV2NHK5HMSOLCWJUXFDM\",\"createdAt\":\"2021-01-01T00:00:00Z\","
        "\"updatedAt\":\"2021-06-01T12:30:00Z\",\"sections\":[{\"id\":\"Section_1\",\"label\":"
        "\"Extra\"}],\"fields\":[{\"id\":\"username\",\"type\":\"STRING\",\"purpose\":\"USERNAME\","
        "\"label\":\"username\",\"value\":\"admin\"},{\"id\":\"password\",\"type\":\"CONCEALED\","
        "\"purpose\":\"PASSWORD\",\"label\":\"password\",\"value\":\"s3cret\",\"entropy\":31.0},"
        "{\"id\":\"notesPlain\",\"type\":\"STRING\",\"purpose\":\"NOTES\",\"label\":\"notesPlain\"}"
        ","
        "{\"id\":\"expiry\",\"section\":{\"id\":\"Section_1\"},\"type\":\"DATE\",\"label\":"
        "\"expires\",\"value\":\"1614816000\"},{\"id\":\"card\",\"section\":{\"id\":\"Section_1\"},"
        "\"type\":\"MONTH_YEAR\",\"label\":\"valid\",\"value\":\"202107\"},{\"id\":\"TOTP_1\","
        "\"section\":{\"id\":\"Section_1\"},\"type\":\"OTP\",\"label\":\"one-time password\","
        "\"value\":\"otpauth://totp/db?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\"}],\"files\":[{"
        "\"id\":\"3ez2vz5ytikwdxeaoh7ckpfz4y\",\"name\":\"ca.pem\",\"size\":1310,\"content_path\":"
        "\"/v1/vaults/otl6r6nugj5wr63rnkw3v4pbna/items/vsxl2wxjbxkkxnvnhdthxeoatq/files/"
        "3ez2vz5ytikwdxeaoh7ckpfz4y/content\"}]}",
        /* A DOCUMENT item, whose document is a file in a section. */
        "{\"id\":\"n2m4dxq3a4xk4quqnsf2p5y5ku\",\"title\":\"cert bundle\",\"version\":2,\"vault\":"
        "{\"id\":\"otl6r6nugj5wr63rnkw3v4pbna\"},\"category\":\"DOCUMENT\",\"createdAt\":"
        "\"2021-01-01T00:00:00Z\",\"updatedAt\":\"2021-01-02T00:00:00Z\",\"files\":[{\"id\":"
        "\"3ez2vz5ytikwdxeaoh7ckpfz4y\",\"name\":\"big.bin\",\"size\":204800,\"content_path\":"
        "\"/v1/vaults/otl6r6nugj5wr63rnkw3v4pbna/items/n2m4dxq3a4xk4quqnsf2p5y5ku/files/"
        "3ez2vz5ytikwdxeaoh7ckpfz4y/content\",\"section\":{\"id\":\"document\"}}]}",
        /* An item whose title is 26 lowercase alphanumerics, archived. */
        "{\"id\":\"pjqo2wfxhtsz2g2nsd3n4w6i2i\",\"title\":\"abcdefghijklmnopqrstuvwxyz\","
        "\"version\":1,\"vault\":{\"id\":\"otl6r6nugj5wr63rnkw3v4pbna\"},\"category\":"
        "\"SECURE_NOTE\",\"state\":\"ARCHIVED\",\"createdAt\":\"2021-01-01T00:00:00Z\","
        "\"updatedAt\":\"2021-01-01T00:00:00Z\",\"fields\":[{\"id\":\"notesPlain\",\"type\":"
        "\"STRING\",\"purpose\":\"NOTES\",\"label\":\"notesPlain\",\"value\":\"line1\\nline2\"}]}",
        /* Types created in the 1Password apps survive untouched. */
        "{\"id\":\"kp4fmo2tkmywq2buxjbsvczqbe\",\"title\":\"me\",\"version\":4,\"vault\":{\"id\":"
        "\"otl6r6nugj5wr63rnkw3v4pbna\"},\"category\":\"IDENTITY\",\"createdAt\":"
        "\"2021-01-01T00:00:00Z\",\"updatedAt\":\"2021-01-01T00:00:00Z\",\"sections\":[{\"id\":"
        "\"address\"}],\"fields\":[{\"id\":\"phone\",\"type\":\"PHONE\",\"value\":\"+1 555\"},"
        "{\"id\":\"addr\",\"section\":{\"id\":\"address\"},\"type\":\"ADDRESS\",\"value\":\"1 Main"
        "\"},{\"id\":\"ssh\",\"type\":\"SSHKEY\",\"value\":\"key\"},{\"id\":\"ref\",\"type\":"
        "\"REFERENCE\",\"value\":\"kp4fmo2tkmywq2buxjbsvczqbe\"},{\"id\":\"g\",\"type\":"
        "\"GENDER\",\"value\":\"x\"}]}",
    };
    static const char *const categories[] = {
        "LOGIN",
        "PASSWORD",
        "API_CREDENTIAL",
        "SERVER",
        "DATABASE",
        "CREDIT_CARD",
        "MEMBERSHIP",
        "PASSPORT",
        "SOFTWARE_LICENSE",
        "OUTDOOR_LICENSE",
        "SECURE_NOTE",
        "WIRELESS_ROUTER",
        "BANK_ACCOUNT",
        "DRIVER_LICENSE",
        "IDENTITY",
        "REWARD_PROGRAM",
        "DOCUMENT",
        "EMAIL_ACCOUNT",
        "SOCIAL_SECURITY_NUMBER",
        "MEDICAL_RECORD",
        "SSH_KEY",
        "CUSTOM",
    };
    struct item_meta m, m2;
    char msg[256];
    json_t *in, *c, *c2, *out;
    size_t i;

    (void)state;
    for (i = 0;
         i < sizeof(fixtures) / sizeof(fixtures[0]) + sizeof(categories) / sizeof(categories[0]);
         i++) {
        char gen[2048];
        const char *text = fixtures[i < 5 ? i : 0];

        if (i >= 5) {
            /* One generic item per category. */
            snprintf(gen, sizeof(gen),
                     "{\"id\":\"otl6r6nugj5wr63rnkw3v4pbna\",\"title\":\"%s item\",\"version\":2,"
                     "\"vault\":{\"id\":\"akvk5ifqsjge7mgpruvglovgfa\"},\"category\":\"%s\","
                     "\"lastEditedBy\":\"DOIHOHSV2NHK5HMSOLCWJUXFDM\",\"createdAt\":"
                     "\"2022-01-17T23:41:32Z\",\"updatedAt\":\"2022-01-18T00:00:00Z\","
                     "\"fields\":[{\"id\":\"notesPlain\",\"type\":\"STRING\",\"purpose\":"
                     "\"NOTES\",\"label\":\"notesPlain\",\"value\":\"n\"}]}",
                     categories[i - 5], categories[i - 5]);
            text = gen;
        }
        in = parse(text);
        if (item_from_json(&m, &c, in, msg, sizeof(msg)) != ERR_OK)
            fail_msg("fixture %zu does not load: %s", i, msg);
        assert_int_equal(item_to_json(&out, &m, c, ITEM_OUT_FULL, 0), ERR_OK);
        /* The fixtures carry no totp: drop the computed one before comparing. */
        {
            size_t k;
            json_t *f;
            json_array_foreach(json_object_get(out, "fields"), k, f) json_object_del(f, "totp");
        }
        if (!json_equal(in, out)) {
            char *a = json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS);
            char *b = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
            fail_msg("fixture %zu does not round-trip:\n%s\n%s", i, a, b);
        }
        assert_int_equal(item_from_json(&m2, &c2, out, msg, sizeof(msg)), ERR_OK);
        assert_memory_equal(&m, &m2, sizeof(m));
        assert_true(json_equal(c, c2));
        json_decref(in);
        json_decref(out);
        json_decref(c);
        json_decref(c2);
    }
}

static void test_load_errors(void **state)
{
    static const struct bad_case cases[] = {
        {"{\"vault\":{\"id\":\"v\"}}", ERR_BAD_INPUT, "id is required"},
        {"{\"id\":\"x\"}", ERR_BAD_INPUT, "vault is required"},
        {"{\"id\":\"x\",\"vault\":{\"id\":\"v\"},\"version\":\"1\"}", ERR_BAD_INPUT,
         "version must be an integer"},
        {"{\"id\":\"x\",\"vault\":{\"id\":\"v\"},\"createdAt\":\"yesterday\"}", ERR_BAD_INPUT,
         "createdAt is not an RFC 3339 date-time"},
        {"{\"id\":\"x\",\"vault\":{\"id\":\"v\"},\"fields\":[{\"type\":\"STRING\"}]}",
         ERR_BAD_INPUT, "fields[0].id is required"},
        {"{\"id\":\"x\",\"vault\":{\"id\":\"v\"},\"files\":[{\"name\":\"a\"}]}", ERR_BAD_INPUT,
         "files[0] needs an id and a non-negative size"},
    };
    struct item_meta m;
    char msg[256];
    json_t *in, *c;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        in = parse(cases[i].body);
        assert_int_equal(item_from_json(&m, &c, in, msg, sizeof(msg)), cases[i].rc);
        assert_null(c);
        assert_string_equal(msg, cases[i].message);
        json_decref(in);
    }
    /* Unknown categories and field types load as CUSTOM / UNKNOWN, as the Go SDK maps them. */
    in = parse("{\"id\":\"x\",\"vault\":{\"id\":\"v\"},\"category\":\"CRYPTO_WALLET\","
               "\"fields\":[{\"id\":\"a\",\"type\":\"NEWTYPE\"}]}");
    assert_int_equal(item_from_json(&m, &c, in, msg, sizeof(msg)), ERR_OK);
    assert_string_equal(m.im_category, "CUSTOM");
    assert_string_equal(fstr(field_by_id(c, "a"), "type"), "UNKNOWN");
    json_decref(c);
    json_decref(in);
}

static void test_categories(void **state)
{
    char out[ITEM_CATEGORY_MAX];

    (void)state;
    assert_true(item_category_canonical("login", out));
    assert_string_equal(out, "LOGIN");
    assert_true(item_category_canonical("Social_Security_Number", out));
    assert_string_equal(out, "SOCIAL_SECURITY_NUMBER");
    assert_false(item_category_canonical("LOGINS", out));
    assert_string_equal(out, "");
    assert_false(item_category_canonical("", out));
}

static void test_patch(void **state)
{
    struct item_meta m = {ITEM, VAULT, "LOGIN", 3, NOW - 100, NOW, "", ""};
    char cat[ITEM_CATEGORY_MAX], msg[256];
    json_t *old, *ops, *c;

    (void)state;
    old =
        create_ok("{\"category\":\"LOGIN\",\"title\":\"t\",\"fields\":[{\"id\":\"username\","
                  "\"purpose\":\"USERNAME\",\"value\":\"admin\"},{\"id\":\"password\",\"purpose\":"
                  "\"PASSWORD\",\"value\":\"old\"}]}",
                  cat);
    /* Connect's examples: a field value by field id, a top-level boolean that is absent
     * from the stored item, appending a tag to an item without tags. */
    ops =
        parse("[{\"op\":\"replace\",\"path\":\"/fields/password/value\",\"value\":\"s3cret\"},"
              "{\"op\":\"replace\",\"path\":\"/favorite\",\"value\":true},"
              "{\"op\":\"add\",\"path\":\"/tags/-\",\"value\":\"prod\"},"
              "{\"op\":\"add\",\"path\":\"/fields\",\"value\":{\"label\":\"new\",\"value\":\"v\"}},"
              "{\"op\":\"remove\",\"path\":\"/fields/username\"}]");
    assert_int_equal(item_apply_patch(&c, cat, &m, old, ops, NOW + 5, msg, sizeof(msg)), ERR_OK);
    assert_string_equal(cat, "LOGIN");
    assert_string_equal(fstr(field_by_id(c, "password"), "value"), "s3cret");
    assert_true(json_is_true(json_object_get(c, "favorite")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "tags"), 0)), "prod");
    assert_int_equal(json_array_size(json_object_get(c, "fields")), 4);
    /* A built-in cannot be removed, only emptied: it comes back without its value. */
    assert_non_null(field_by_id(c, "username"));
    assert_null(json_object_get(field_by_id(c, "username"), "value"));
    /* The old password went to the history, as with PUT. */
    assert_string_equal(fstr(json_array_get(json_object_get(c, "passwordHistory"), 0), "value"),
                        "old");
    json_decref(c);
    json_decref(ops);

    /* A patch error: nothing is produced, the message is the patch module's. */
    ops = parse("[{\"op\":\"move\",\"from\":\"/title\",\"path\":\"/x\"}]");
    assert_int_equal(item_apply_patch(&c, cat, &m, old, ops, NOW, msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_null(c);
    assert_true(strncmp(msg, "Invalid patch operation 0:", 26) == 0);
    json_decref(ops);
    /* A patch that makes the item invalid is refused by the item rules. */
    ops = parse("[{\"op\":\"replace\",\"path\":\"/fields/password/type\",\"value\":\"TOTP\"}]");
    assert_int_equal(item_apply_patch(&c, cat, &m, old, ops, NOW, msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_null(c);
    assert_string_equal(msg, "fields[2] has unsupported field type: totp (use OTP)");
    json_decref(ops);
    /* The body must be an array; an empty array changes nothing. */
    ops = parse("{\"op\":\"remove\",\"path\":\"/title\"}");
    assert_int_equal(item_apply_patch(&c, cat, &m, old, ops, NOW, msg, sizeof(msg)), ERR_BAD_INPUT);
    json_decref(ops);
    ops = parse("[]");
    assert_int_equal(item_apply_patch(&c, cat, &m, old, ops, NOW, msg, sizeof(msg)), ERR_OK);
    assert_true(json_equal(c, old));
    json_decref(c);
    json_decref(ops);
    json_decref(old);
}

static int setup(void **state)
{
    (void)state;
    return crypto_init() == ERR_OK ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_go_sdk_junk_is_ignored),
        cmocka_unit_test(test_builtins_and_ids),
        cmocka_unit_test(test_values_and_sections),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_output_shape),
        cmocka_unit_test(test_split_join),
        cmocka_unit_test(test_round_trip_fixtures),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_categories),
        cmocka_unit_test(test_patch),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
