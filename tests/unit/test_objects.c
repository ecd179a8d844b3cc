/* test_objects.c - Vault, File, APIRequest, ServerHealth, ErrorResponse JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/objects.h"

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);

    if (!j)
        fail_msg("fixture does not parse: %s", jerr.text);
    return j;
}

static void assert_json_text(json_t *j, const char *want)
{
    char *text = json_dumps(j, JSON_COMPACT);

    assert_string_equal(text, want);
    free(text);
}

static void test_vault(void **state)
{
    static const char *const text =
        "{\"id\":\"otl6r6nugj5wr63rnkw3v4pbna\",\"name\":\"Demo\",\"attributeVersion\":1,"
        "\"contentVersion\":12,\"items\":3,\"type\":\"USER_CREATED\",\"createdAt\":"
        "\"2020-10-29T17:52:17Z\",\"updatedAt\":\"2020-10-30T00:00:00Z\"}";
    struct vault_meta v, v2;
    char msg[128];
    json_t *in, *out;

    (void)state;
    in = parse(text);
    assert_int_equal(vault_from_json(&v, in, msg, sizeof(msg)), ERR_OK);
    assert_string_equal(v.vm_name, "Demo");
    assert_int_equal(v.vm_content_version, 12);
    assert_int_equal(v.vm_items, 3);
    assert_int_equal(v.vm_created_at, 1603993937);
    assert_string_equal(v.vm_description, "");
    assert_int_equal(vault_to_json(&out, &v), ERR_OK);
    assert_json_text(out, text); /* no "description" key when empty, same key order */
    json_decref(out);
    /* With a description. */
    snprintf(v.vm_description, sizeof(v.vm_description), "shared");
    assert_int_equal(vault_to_json(&out, &v), ERR_OK);
    assert_string_equal(json_string_value(json_object_get(out, "description")), "shared");
    assert_int_equal(vault_from_json(&v2, out, msg, sizeof(msg)), ERR_OK);
    assert_memory_equal(&v, &v2, sizeof(v));
    json_decref(out);
    json_decref(in);
    /* Only the four vault types clients accept go out. */
    snprintf(v.vm_type, sizeof(v.vm_type), "SHARED");
    assert_int_equal(vault_to_json(&out, &v), ERR_BAD_INPUT);
    assert_null(out);
    assert_true(vault_type_valid("PERSONAL"));
    assert_true(vault_type_valid("EVERYONE"));
    assert_true(vault_type_valid("TRANSFER"));
    assert_false(vault_type_valid("user_created"));
}

static void test_vault_errors(void **state)
{
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"[]", "the vault must be a JSON object"},
        {"{}", "id is required"},
        {"{\"id\":5}", "id must be a string"},
        {"{\"id\":\"abc\"}", "id is not a valid vault id"},
        {"{\"id\":\"otl6r6nugj5wr63rnkw3v4pbna\",\"items\":-1}",
         "items must be a non-negative integer"},
        {"{\"id\":\"otl6r6nugj5wr63rnkw3v4pbna\",\"type\":\"X\"}",
         "type is not a known vault type"},
        {"{\"id\":\"otl6r6nugj5wr63rnkw3v4pbna\",\"createdAt\":\"x\"}",
         "createdAt is not an RFC 3339 date-time"},
    };
    struct vault_meta v;
    char msg[128];
    json_t *in;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        in = parse(cases[i].text);
        assert_int_equal(vault_from_json(&v, in, msg, sizeof(msg)), ERR_BAD_INPUT);
        assert_string_equal(msg, cases[i].msg);
        json_decref(in);
    }
}

static void test_file(void **state)
{
    struct file_meta f = {"3ez2vz5ytikwdxeaoh7ckpfz4y", "ca.pem", 1310, ""}, f2;
    char msg[128];
    json_t *out;

    (void)state;
    assert_int_equal(
        file_to_json(&out, &f, "otl6r6nugj5wr63rnkw3v4pbna", "vsxl2wxjbxkkxnvnhdthxeoatq", NULL),
        ERR_OK);
    assert_json_text(out,
                     "{\"id\":\"3ez2vz5ytikwdxeaoh7ckpfz4y\",\"name\":\"ca.pem\",\"size\":1310,"
                     "\"content_path\":\"/v1/vaults/otl6r6nugj5wr63rnkw3v4pbna/items/"
                     "vsxl2wxjbxkkxnvnhdthxeoatq/files/3ez2vz5ytikwdxeaoh7ckpfz4y/content\"}");
    assert_int_equal(file_from_json(&f2, out, msg, sizeof(msg)), ERR_OK);
    assert_memory_equal(&f, &f2, sizeof(f));
    json_decref(out);
    snprintf(f.fm_section_id, sizeof(f.fm_section_id), "document");
    assert_int_equal(file_to_json(&out, &f, "v", "i", "aGVsbG8="), ERR_OK);
    assert_string_equal(json_string_value(json_object_get(out, "content")), "aGVsbG8=");
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "section"), "id")),
                        "document");
    assert_int_equal(file_from_json(&f2, out, msg, sizeof(msg)), ERR_OK);
    assert_string_equal(f2.fm_section_id, "document");
    json_decref(out);
    out = parse("{\"name\":\"x\"}");
    assert_int_equal(file_from_json(&f2, out, msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_string_equal(msg, "id is required");
    json_decref(out);
}

/* activity_to_text's text, parsed (must be valid JSON). */
static json_t *activity_text(const struct activity *a)
{
    struct buf b;
    json_t *o;

    buf_init(&b, 4096);
    assert_int_equal(activity_to_text(&b, a), ERR_OK);
    o = json_loads(buf_str(&b), JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(o);
    buf_free(&b);
    return o;
}

static void test_activity(void **state)
{
    static const char *const text =
        "{\"requestId\":\"9f1c3a2e-0000-4000-8000-000000000001\",\"timestamp\":"
        "\"2020-10-29T17:52:17Z\",\"action\":\"READ\",\"result\":\"SUCCESS\",\"actor\":{\"id\":"
        "\"DOIHOHSV2NHK5HMSOLCWJUXFDM\",\"account\":\"ACCTACCTACCTACCTACCTACCTAC\",\"jti\":"
        "\"abcdefghijklmnopqrstuvwxyz\",\"userAgent\":\"connect-sdk-go/1.5.3\",\"requestIp\":"
        "\"127.0.0.1\"},\"resource\":{\"type\":\"ITEM\",\"vault\":{\"id\":"
        "\"otl6r6nugj5wr63rnkw3v4pbna\"},\"item\":{\"id\":\"vsxl2wxjbxkkxnvnhdthxeoatq\"},"
        "\"itemVersion\":7}}";
    struct activity a, a2;
    struct buf b;
    char msg[128];
    json_t *in, *out;

    (void)state;
    in = parse(text);
    assert_int_equal(activity_from_json(&a, in, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(a.ac_action, ACTIVITY_READ);
    assert_int_equal(a.ac_result, ACTIVITY_SUCCESS);
    assert_int_equal(a.ac_resource, ACTIVITY_ITEM);
    assert_int_equal(a.ac_item_version, 7);
    assert_string_equal(a.ac_user_agent, "connect-sdk-go/1.5.3");
    out = activity_text(&a);
    assert_true(json_equal(in, out));
    assert_int_equal(activity_from_json(&a2, out, msg, sizeof(msg)), ERR_OK);
    assert_memory_equal(&a, &a2, sizeof(a));
    json_decref(out);
    json_decref(in);
    /* the text is the same as the wire's, byte for byte */
    buf_init(&b, 4096);
    assert_int_equal(activity_to_text(&b, &a), ERR_OK);
    assert_string_equal(buf_str(&b), text);
    buf_free(&b);
    /* quotes and backslashes a client sent are escaped; members not known are left out */
    (void)snprintf(a2.ac_user_agent, sizeof(a2.ac_user_agent), "%s", "a \"quoted\\ agent");
    a2.ac_actor_id[0] = '\0';
    a2.ac_actor_jti[0] = '\0';
    a2.ac_request_ip[0] = '\0';
    out = activity_text(&a2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "actor"), "userAgent")),
        "a \"quoted\\ agent");
    assert_int_equal(json_object_size(json_object_get(out, "actor")), 2);
    json_decref(out);

    /* A denied vault read: no item, no version. */
    a.ac_action = ACTIVITY_READ;
    a.ac_result = ACTIVITY_DENY;
    a.ac_resource = ACTIVITY_VAULT;
    a.ac_item_id[0] = '\0';
    a.ac_item_version = 0;
    out = activity_text(&a);
    assert_string_equal(json_string_value(json_object_get(out, "result")), "DENY");
    assert_null(json_object_get(json_object_get(out, "resource"), "item"));
    assert_null(json_object_get(json_object_get(out, "resource"), "itemVersion"));
    json_decref(out);
    a.ac_action = (enum activity_action)9;
    buf_init(&b, 4096);
    assert_int_equal(activity_to_text(&b, &a), ERR_BAD_INPUT);
    buf_free(&b);
    a.ac_action = ACTIVITY_READ;
    buf_init(&b, 64); /* too small: the buffer's error, nothing half-written */
    assert_int_equal(activity_to_text(&b, &a), ERR_TOO_LARGE);
    assert_int_equal(b.b_len, 0);
    buf_free(&b);
    assert_string_equal(activity_action_name((enum activity_action)9), "");
    assert_string_equal(activity_action_name(ACTIVITY_DELETE), "DELETE");

    in = parse("{\"requestId\":\"r\",\"action\":\"READ\",\"result\":\"MAYBE\",\"actor\":{},"
               "\"resource\":{\"type\":\"ITEM\"}}");
    assert_int_equal(activity_from_json(&a, in, msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_string_equal(msg, "action, result or resource.type has an unknown value");
    json_decref(in);
}

static void test_health_and_error(void **state)
{
    const struct health_dependency deps[] = {
        {"sqlite", "ACTIVE", "Connected to /data/sesame.db"},
        {"1Password", "UNINITIALIZED", "Make a request with a valid bearer token to initialize"},
        {"sync", "ACTIVE", NULL},
    };
    json_t *out, *in;
    int status;
    const char *m;

    (void)state;
    assert_int_equal(health_to_json(&out, "1Password Connect API", "1.8.1", deps, 3), ERR_OK);
    assert_json_text(
        out, "{\"dependencies\":[{\"service\":\"sqlite\",\"status\":\"ACTIVE\",\"message\":"
             "\"Connected to /data/sesame.db\"},{\"service\":\"1Password\",\"status\":"
             "\"UNINITIALIZED\",\"message\":\"Make a request with a valid bearer token to "
             "initialize\"},{\"service\":\"sync\",\"status\":\"ACTIVE\"}],\"name\":\"1Password "
             "Connect API\",\"version\":\"1.8.1\"}");
    json_decref(out);

    in = parse("{\"status\":404,\"message\":\"item not found\"}");
    assert_int_equal(error_from_json(&status, &m, in), ERR_OK);
    assert_int_equal(status, 404);
    assert_string_equal(m, "item not found");
    json_decref(in);
    in = parse("{\"status\":\"404\"}");
    assert_int_equal(error_from_json(&status, &m, in), ERR_BAD_INPUT);
    json_decref(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vault),
        cmocka_unit_test(test_vault_errors),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_activity),
        cmocka_unit_test(test_health_and_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
