/*
 * test_patch.c - Connect's JSON Patch on items: every op kind on every path kind, the
 * examples of connect-api.md §4.11 and the OpenAPI spec, every rejection with its exact
 * message, all-or-nothing behaviour, limits, and every allocation failure.
 *
 * JSON in the tables is written with ' for " (jparse swaps them) to keep it readable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/limits.h"
#include "json/patch.h"

/* The fixture: a LOGIN item in FullItem shape (connect-api.md §4.8, §6.2). */
#define HEAD                                                                                       \
    "'id':'aaaaaaaaaaaaaaaaaaaaaaaaaa','vault':{'id':'vvvvvvvvvvvvvvvvvvvvvvvvvv'},"               \
    "'category':'LOGIN'"
#define TITLE ",'title':'DB'"
#define FAV   ",'favorite':false"
#define TAGS  ",'tags':['prod','db']"
#define URL0  "{'href':'https://db.example.com','primary':true}"
#define URLS  ",'urls':[" URL0 "]"
#define SEC0  "{'id':'Section_1','label':'Extra'}"
#define SECS  ",'sections':[" SEC0 "]"
#define F_USER_L(l)                                                                                \
    "{'id':'username','type':'STRING','purpose':'USERNAME','label':'" l "','value':'admin'}"
#define F_USER F_USER_L("username")
#define F_PASS_V(v)                                                                                \
    "{'id':'password','type':'CONCEALED','purpose':'PASSWORD','label':'password','value':'" v "'}"
#define F_PASS  F_PASS_V("hunter2")
#define F_NOTES "{'id':'notesPlain','type':'STRING','purpose':'NOTES','label':'notesPlain'}"
#define F_HOST_S(s)                                                                                \
    "{'id':'host','section':{'id':'" s "'},'type':'STRING','label':'host','value':'db1'}"
#define F_HOST                F_HOST_S("Section_1")
#define FIELDS_OF(a, b, c, d) ",'fields':[" a "," b "," c "," d "]"
#define FIELDS                FIELDS_OF(F_USER, F_PASS, F_NOTES, F_HOST)
#define FILE0                                                                                      \
    "{'id':'ffffffffffffffffffffffffff','name':'a.txt','size':3,'content_path':'/v1/vaults/"       \
    "vvvvvvvvvvvvvvvvvvvvvvvvvv/items/aaaaaaaaaaaaaaaaaaaaaaaaaa/files/"                           \
    "ffffffffffffffffffffffffff/content'}"
#define FILES ",'files':[" FILE0 "]"
#define ITEM  "{" HEAD TITLE FAV TAGS URLS SECS FIELDS FILES "}"

/* An item with only the given attributes after the fixed head. */
#define ITEM_WITH(rest) "{" HEAD rest "}"

/* Parses s with ' read as ", allowing \u0000 and scalars. Fails the test if it does not parse. */
static json_t *jparse(const char *s)
{
    char *t = mem_strdup(s);
    json_t *j;
    json_error_t jerr;
    size_t i;

    assert_non_null(t);
    for (i = 0; t[i]; i++) {
        if (t[i] == '\'')
            t[i] = '"';
    }
    j = json_loads(t, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
    if (!j)
        print_error("test JSON does not parse (%s): %s\n", jerr.text, t);
    mem_free(t);
    assert_non_null(j);
    return j;
}

/* Fails the test, showing both documents, unless got equals the JSON text want. */
static void assert_json_is(const json_t *got, const char *want, const char *name)
{
    json_t *w = jparse(want);

    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);
        char *x = json_dumps(w, JSON_SORT_KEYS | JSON_ENCODE_ANY);

        print_error("%s:\n got  %s\n want %s\n", name, g ? g : "?", x ? x : "?");
        mem_free(g);
        mem_free(x);
        json_decref(w);
        fail();
    }
    json_decref(w);
}

struct good_case {
    const char *gc_name;
    const char *gc_item; /* NULL: ITEM */
    const char *gc_ops;
    const char *gc_want;
};

static const struct good_case good_cases[] = {
    {"empty patch: item unchanged", NULL, "[]", ITEM},

    /* connect-api.md §4.11 and the spec's examples, on fields */
    {"connect: replace /fields/password/value", NULL,
     "[{'op':'replace','path':'/fields/password/value','value':'s3cret'}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS_OF(F_USER, F_PASS_V("s3cret"), F_NOTES, F_HOST) FILES
     "}"},
    {"connect: add /fields/<id>/label (existing member: replaced)", NULL,
     "[{'op':'add','path':'/fields/username/label','value':'login'}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS_OF(F_USER_L("login"), F_PASS, F_NOTES, F_HOST) FILES
     "}"},
    {"add /fields/<id>/value creates the member", NULL,
     "[{'op':'add','path':'/fields/notesPlain/value','value':'some notes'}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS_OF(
         F_USER, F_PASS,
         "{'id':'notesPlain','type':'STRING','purpose':'NOTES','label':'notesPlain',"
         "'value':'some notes'}",
         F_HOST) FILES "}"},
    {"connect: remove /fields/<id>/value", NULL,
     "[{'op':'remove','path':'/fields/password/value'}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS_OF(
         F_USER, "{'id':'password','type':'CONCEALED','purpose':'PASSWORD','label':'password'}",
         F_NOTES, F_HOST) FILES "}"},
    {"connect: add /fields appends a field object", NULL,
     "[{'op':'add','path':'/fields','value':{'label':'New Field','type':'string','value':"
     "'hunter2'}}]",
     "{" HEAD TITLE FAV TAGS URLS SECS ",'fields':[" F_USER "," F_PASS "," F_NOTES "," F_HOST
     ",{'label':'New Field','type':'string','value':'hunter2'}]" FILES "}"},
    {"add /fields/- appends a field object", NULL,
     "[{'op':'add','path':'/fields/-','value':{'id':'x','value':'1'}}]",
     "{" HEAD TITLE FAV TAGS URLS SECS ",'fields':[" F_USER "," F_PASS "," F_NOTES "," F_HOST
     ",{'id':'x','value':'1'}]" FILES "}"},
    {"add /fields with an array replaces the array (RFC)", NULL,
     "[{'op':'add','path':'/fields','value':[" F_USER "]}]",
     "{" HEAD TITLE FAV TAGS URLS SECS ",'fields':[" F_USER "]" FILES "}"},
    {"add /fields with a scalar sets it (RFC; item validation rejects it)", NULL,
     "[{'op':'add','path':'/fields','value':5}]",
     "{" HEAD TITLE FAV TAGS URLS SECS ",'fields':5" FILES "}"},
    {"replace /fields", NULL, "[{'op':'replace','path':'/fields','value':[]}]",
     "{" HEAD TITLE FAV TAGS URLS SECS ",'fields':[]" FILES "}"},
    {"remove /fields", NULL, "[{'op':'remove','path':'/fields'}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FILES "}"},
    {"add /fields/<new id> appends a field with that id", NULL,
     "[{'op':'add','path':'/fields/api_key','value':{'type':'CONCEALED','value':'k'}}]",
     "{" HEAD TITLE FAV TAGS URLS SECS ",'fields':[" F_USER "," F_PASS "," F_NOTES "," F_HOST
     ",{'id':'api_key','type':'CONCEALED','value':'k'}]" FILES "}"},
    {"add /fields/<existing id> replaces that field in place", NULL,
     "[{'op':'add','path':'/fields/username','value':{'type':'EMAIL','value':'a@b'}}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS_OF("{'id':'username','type':'EMAIL','value':'a@b'}",
                                                 F_PASS, F_NOTES, F_HOST) FILES "}"},
    {"connect: replace /fields/<id> with a field object: id filled in", NULL,
     "[{'op':'replace','path':'/fields/password','value':{'label':'Replacement Title',"
     "'type':'string','value':'new value'}}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS_OF(
         F_USER,
         "{'id':'password','label':'Replacement Title','type':'string','value':'new value'}",
         F_NOTES, F_HOST) FILES "}"},
    {"replace /fields/<id>: the value's id may repeat the path's", NULL,
     "[{'op':'replace','path':'/fields/password','value':{'id':'password','value':'v'}}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS_OF(F_USER, "{'id':'password','value':'v'}", F_NOTES,
                                                 F_HOST) FILES "}"},
    {"replace /fields/<id>: an empty id is filled in", NULL,
     "[{'op':'replace','path':'/fields/password','value':{'id':'','value':'v'}}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS_OF(F_USER, "{'id':'password','value':'v'}", F_NOTES,
                                                 F_HOST) FILES "}"},
    {"replace /fields/<id>: a null id is filled in", NULL,
     "[{'op':'replace','path':'/fields/password','value':{'id':null,'value':'v'}}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS_OF(F_USER, "{'id':'password','value':'v'}", F_NOTES,
                                                 F_HOST) FILES "}"},
    {"connect: remove /fields/<id>", NULL, "[{'op':'remove','path':'/fields/notesPlain'}]",
     "{" HEAD TITLE FAV TAGS URLS SECS ",'fields':[" F_USER "," F_PASS "," F_HOST "]" FILES "}"},
    {"replace /fields/<id>/section/id (a plain pointer inside the field)", NULL,
     "[{'op':'replace','path':'/fields/host/section/id','value':'Section_2'}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS_OF(F_USER, F_PASS, F_NOTES, F_HOST_S("Section_2"))
         FILES "}"},
    {"remove /fields/<id>/section", NULL, "[{'op':'remove','path':'/fields/host/section'}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS_OF(
         F_USER, F_PASS, F_NOTES, "{'id':'host','type':'STRING','label':'host','value':'db1'}")
         FILES "}"},
    {"add /fields/<id>/section", NULL,
     "[{'op':'add','path':'/fields/username/section','value':{'id':'Section_1'}}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS_OF(
         "{'id':'username','type':'STRING','purpose':'USERNAME','label':'username',"
         "'value':'admin','section':{'id':'Section_1'}}",
         F_PASS, F_NOTES, F_HOST) FILES "}"},
    {"add /fields/<id>/ (the empty member name, RFC 6901)", NULL,
     "[{'op':'add','path':'/fields/notesPlain/','value':'e'}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS_OF(
         F_USER, F_PASS,
         "{'id':'notesPlain','type':'STRING','purpose':'NOTES','label':'notesPlain','':'e'}",
         F_HOST) FILES "}"},
    {"/fields/0 is the field whose id is \"0\", not the first field",
     ITEM_WITH(",'fields':[{'id':'x','value':'a'},{'id':'0','value':'b'}]"),
     "[{'op':'replace','path':'/fields/0/value','value':'c'}]",
     ITEM_WITH(",'fields':[{'id':'x','value':'a'},{'id':'0','value':'c'}]")},
    {"duplicate field ids: the first one is addressed",
     ITEM_WITH(",'fields':[{'id':'x','value':'1'},{'id':'x','value':'2'}]"),
     "[{'op':'replace','path':'/fields/x/value','value':'3'}]",
     ITEM_WITH(",'fields':[{'id':'x','value':'3'},{'id':'x','value':'2'}]")},
    {"non-object fields and ids are skipped when looking a field up",
     ITEM_WITH(",'fields':[1,{'id':5},{'value':'n'},{'id':'x','value':'1'}]"),
     "[{'op':'remove','path':'/fields/x'}]", ITEM_WITH(",'fields':[1,{'id':5},{'value':'n'}]")},
    {"field ids with / and ~ are escaped as ~1 and ~0",
     ITEM_WITH(",'fields':[{'id':'a/b~c','value':'1'}]"),
     "[{'op':'replace','path':'/fields/a~1b~0c/value','value':'2'}]",
     ITEM_WITH(",'fields':[{'id':'a/b~c','value':'2'}]")},
    {"a field id ~01 is the text ~1, not /", ITEM_WITH(",'fields':[{'id':'~1','value':'1'}]"),
     "[{'op':'remove','path':'/fields/~01'}]", ITEM_WITH(",'fields':[]")},
    {"add /fields/<id> creates the fields array when absent", ITEM_WITH(TITLE),
     "[{'op':'add','path':'/fields/new','value':{'value':'v'}}]",
     ITEM_WITH(TITLE ",'fields':[{'id':'new','value':'v'}]")},
    {"add /fields creates the fields array when absent", ITEM_WITH(TITLE),
     "[{'op':'add','path':'/fields','value':{'value':'v'}}]",
     ITEM_WITH(TITLE ",'fields':[{'value':'v'}]")},
    {"replace /fields works when fields is not an array", ITEM_WITH(",'fields':{}"),
     "[{'op':'replace','path':'/fields','value':[]}]", ITEM_WITH(",'fields':[]")},

    /* the whole item */
    {"connect: replace / with a whole item", NULL,
     "[{'op':'replace','path':'/','value':{'title':'New Title','favorite':true,'tags':['tag1',"
     "'tag2']}}]",
     "{'title':'New Title','favorite':true,'tags':['tag1','tag2']}"},
    {"add / is the same", NULL, "[{'op':'add','path':'/','value':{'title':'T'}}]", "{'title':'T'}"},
    {"replace \"\" (RFC 6901 root) is the same", NULL,
     "[{'op':'replace','path':'','value':{'title':'T'}}]", "{'title':'T'}"},
    {"replace / then patch the new item", NULL,
     "[{'op':'replace','path':'/','value':{'title':'A','fields':[]}},"
     "{'op':'add','path':'/fields/x','value':{'value':'1'}}]",
     "{'title':'A','fields':[{'id':'x','value':'1'}]}"},

    /* top-level attributes */
    {"connect: replace /title", NULL, "[{'op':'replace','path':'/title','value':'New Title'}]",
     "{" HEAD ",'title':'New Title'" FAV TAGS URLS SECS FIELDS FILES "}"},
    {"add /title replaces an existing member", NULL, "[{'op':'add','path':'/title','value':'X'}]",
     "{" HEAD ",'title':'X'" FAV TAGS URLS SECS FIELDS FILES "}"},
    {"connect: replace /favorite true", NULL, "[{'op':'replace','path':'/favorite','value':true}]",
     "{" HEAD TITLE ",'favorite':true" TAGS URLS SECS FIELDS FILES "}"},
    {"remove /favorite", NULL, "[{'op':'remove','path':'/favorite'}]",
     "{" HEAD TITLE TAGS URLS SECS FIELDS FILES "}"},
    {"remove then add /favorite (ops see earlier ones)", NULL,
     "[{'op':'remove','path':'/favorite'},{'op':'add','path':'/favorite','value':true}]",
     "{" HEAD TITLE ",'favorite':true" TAGS URLS SECS FIELDS FILES "}"},
    {"add a new top-level member (mechanics only; validation is the caller's)", NULL,
     "[{'op':'add','path':'/notes','value':1}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS FILES ",'notes':1}"},
    {"escaped member names: ~1 is / and ~0 is ~", NULL,
     "[{'op':'add','path':'/a~1b','value':'x'},{'op':'add','path':'/a~0b','value':'y'}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS FILES ",'a/b':'x','a~b':'y'}"},
    {"values of any JSON type", NULL,
     "[{'op':'replace','path':'/title','value':null},"
     "{'op':'add','path':'/fields/username/value','value':5},"
     "{'op':'replace','path':'/favorite','value':{'x':[1,2.5,false]}}]",
     "{" HEAD ",'title':null,'favorite':{'x':[1,2.5,false]}" TAGS URLS SECS FIELDS_OF(
         "{'id':'username','type':'STRING','purpose':'USERNAME','label':'username','value':5}",
         F_PASS, F_NOTES, F_HOST) FILES "}"},
    {"remove ignores value and unknown members", NULL,
     "[{'op':'remove','path':'/title','value':'x','from':'/y','extra':[]}]",
     "{" HEAD FAV TAGS URLS SECS FIELDS FILES "}"},

    /* arrays: tags, urls, sections, files (by index, RFC 6902) */
    {"connect: replace /tags/0", NULL, "[{'op':'replace','path':'/tags/0','value':'staging'}]",
     "{" HEAD TITLE FAV ",'tags':['staging','db']" URLS SECS FIELDS FILES "}"},
    {"connect: add /tags/- appends", NULL, "[{'op':'add','path':'/tags/-','value':'new'}]",
     "{" HEAD TITLE FAV ",'tags':['prod','db','new']" URLS SECS FIELDS FILES "}"},
    {"add /tags/0 inserts at the front", NULL, "[{'op':'add','path':'/tags/0','value':'first'}]",
     "{" HEAD TITLE FAV ",'tags':['first','prod','db']" URLS SECS FIELDS FILES "}"},
    {"add /tags/1 inserts in the middle", NULL, "[{'op':'add','path':'/tags/1','value':'mid'}]",
     "{" HEAD TITLE FAV ",'tags':['prod','mid','db']" URLS SECS FIELDS FILES "}"},
    {"add /tags/<size> appends", NULL, "[{'op':'add','path':'/tags/2','value':'end'}]",
     "{" HEAD TITLE FAV ",'tags':['prod','db','end']" URLS SECS FIELDS FILES "}"},
    {"add /tags/0 into an empty array", ITEM_WITH(",'tags':[]"),
     "[{'op':'add','path':'/tags/0','value':'x'}]", ITEM_WITH(",'tags':['x']")},
    {"connect: remove /tags/1", NULL, "[{'op':'remove','path':'/tags/1'}]",
     "{" HEAD TITLE FAV ",'tags':['prod']" URLS SECS FIELDS FILES "}"},
    {"spec: replace /favorite and remove /tags/1 together", NULL,
     "[{'op':'replace','path':'/favorite','value':true},{'op':'remove','path':'/tags/1'}]",
     "{" HEAD TITLE ",'favorite':true,'tags':['prod']" URLS SECS FIELDS FILES "}"},
    {"replace /tags", NULL, "[{'op':'replace','path':'/tags','value':['a']}]",
     "{" HEAD TITLE FAV ",'tags':['a']" URLS SECS FIELDS FILES "}"},
    {"remove /tags", NULL, "[{'op':'remove','path':'/tags'}]",
     "{" HEAD TITLE FAV URLS SECS FIELDS FILES "}"},
    {"add /tags when absent", ITEM_WITH(TITLE), "[{'op':'add','path':'/tags','value':['t']}]",
     ITEM_WITH(TITLE ",'tags':['t']")},
    {"replace /urls/0/href", NULL,
     "[{'op':'replace','path':'/urls/0/href','value':'https://db2.example.com'}]",
     "{" HEAD TITLE FAV TAGS
     ",'urls':[{'href':'https://db2.example.com','primary':true}]" SECS FIELDS FILES "}"},
    {"add /urls/0/label", NULL, "[{'op':'add','path':'/urls/0/label','value':'website'}]",
     "{" HEAD TITLE FAV TAGS
     ",'urls':[{'href':'https://db.example.com','primary':true,'label':'website'}]" SECS FIELDS
         FILES "}"},
    {"remove /urls/0/primary", NULL, "[{'op':'remove','path':'/urls/0/primary'}]",
     "{" HEAD TITLE FAV TAGS ",'urls':[{'href':'https://db.example.com'}]" SECS FIELDS FILES "}"},
    {"add /urls/- appends a url", NULL,
     "[{'op':'add','path':'/urls/-','value':{'href':'https://x.example.com'}}]",
     "{" HEAD TITLE FAV TAGS ",'urls':[" URL0 ",{'href':'https://x.example.com'}]" SECS FIELDS FILES
     "}"},
    {"sections by index: replace /sections/0/label", NULL,
     "[{'op':'replace','path':'/sections/0/label','value':'More'}]",
     "{" HEAD TITLE FAV TAGS URLS ",'sections':[{'id':'Section_1','label':'More'}]" FIELDS FILES
     "}"},
    {"sections by index: add /sections/- ", NULL,
     "[{'op':'add','path':'/sections/-','value':{'id':'Section_2','label':'Two'}}]",
     "{" HEAD TITLE FAV TAGS URLS ",'sections':[" SEC0
     ",{'id':'Section_2','label':'Two'}]" FIELDS FILES "}"},
    {"sections by index: remove /sections/0", NULL, "[{'op':'remove','path':'/sections/0'}]",
     "{" HEAD TITLE FAV TAGS URLS ",'sections':[]" FIELDS FILES "}"},
    {"remove /files/0", NULL, "[{'op':'remove','path':'/files/0'}]",
     "{" HEAD TITLE FAV TAGS URLS SECS FIELDS ",'files':[]}"},
    {"replace /vault/id (a nested object member)", NULL,
     "[{'op':'replace','path':'/vault/id','value':'wwwwwwwwwwwwwwwwwwwwwwwwww'}]",
     "{'id':'aaaaaaaaaaaaaaaaaaaaaaaaaa','vault':{'id':'wwwwwwwwwwwwwwwwwwwwwwwwww'},"
     "'category':'LOGIN'" TITLE FAV TAGS URLS SECS FIELDS FILES "}"},
    {"large index digits on a big enough array", ITEM_WITH(",'tags':[0,1,2,3,4,5,6,7,8,9,10,11]"),
     "[{'op':'replace','path':'/tags/11','value':'z'},{'op':'remove','path':'/tags/10'}]",
     ITEM_WITH(",'tags':[0,1,2,3,4,5,6,7,8,9,'z']")},

    /* several operations in order */
    {"a sequence: create a field, then set its attributes, then edit tags", NULL,
     "[{'op':'add','path':'/fields/k','value':{'type':'STRING'}},"
     "{'op':'add','path':'/fields/k/value','value':'v'},"
     "{'op':'add','path':'/fields/k/label','value':'K'},"
     "{'op':'replace','path':'/fields/k/label','value':'KK'},"
     "{'op':'remove','path':'/tags/0'},"
     "{'op':'replace','path':'/tags/0','value':'only'}]",
     "{" HEAD TITLE FAV ",'tags':['only']" URLS SECS ",'fields':[" F_USER "," F_PASS "," F_NOTES
     "," F_HOST ",{'id':'k','type':'STRING','value':'v','label':'KK'}]" FILES "}"},
};

static void test_good_cases(void **state)
{
    size_t i;
    char msg[256];

    (void)state;
    for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
        const struct good_case *c = &good_cases[i];
        json_t *item = jparse(c->gc_item ? c->gc_item : ITEM);
        json_t *ops = jparse(c->gc_ops);
        json_t *ops_copy = json_deep_copy(ops);
        enum err rc;

        memcpy(msg, "junk", 5);
        rc = patch_apply(&item, ops, msg, sizeof(msg));
        if (rc != ERR_OK)
            print_error("%s: %s\n", c->gc_name, msg);
        assert_int_equal(rc, ERR_OK);
        assert_string_equal(msg, "");
        assert_json_is(item, c->gc_want, c->gc_name);
        assert_true(json_equal(ops, ops_copy)); /* the patch is only read */
        json_decref(ops_copy);
        json_decref(ops);
        json_decref(item);
    }
}

struct bad_case {
    const char *bc_item; /* NULL: ITEM */
    const char *bc_ops;
    const char *bc_msg;
};

#define OP0  "Invalid patch operation 0: "
#define OP1  "Invalid patch operation 1: "
#define OP2  "Invalid patch operation 2: "
#define BODY "Invalid patch: the body must be a JSON array of operations"

/* SECRETX marks request data that must never appear in a message. */
static const struct bad_case bad_cases[] = {
    /* the document */
    {NULL, "{'op':'replace','path':'/title','value':'SECRETX'}", BODY},
    {NULL, "'SECRETX'", BODY},
    {NULL, "null", BODY},
    {NULL, "5", BODY},
    {NULL, "true", BODY},

    /* the operation object and op */
    {NULL, "[1]", OP0 "the operation must be a JSON object"},
    {NULL, "[['add','/title','SECRETX']]", OP0 "the operation must be a JSON object"},
    {NULL, "['SECRETX']", OP0 "the operation must be a JSON object"},
    {NULL, "[null]", OP0 "the operation must be a JSON object"},
    {NULL, "[{'path':'/title','value':'SECRETX'}]", OP0 "op is missing"},
    {NULL, "[{'op':1,'path':'/title','value':'SECRETX'}]", OP0 "op must be a string"},
    {NULL, "[{'op':null,'path':'/title','value':'SECRETX'}]", OP0 "op must be a string"},
    {NULL, "[{'op':['add'],'path':'/title','value':'SECRETX'}]", OP0 "op must be a string"},
    {NULL, "[{'op':'move','from':'/title','path':'/SECRETX'}]",
     OP0 "the move operation is not supported, only add, remove and replace"},
    {NULL, "[{'op':'copy','from':'/title','path':'/SECRETX'}]",
     OP0 "the copy operation is not supported, only add, remove and replace"},
    {NULL, "[{'op':'test','path':'/title','value':'SECRETX'}]",
     OP0 "the test operation is not supported, only add, remove and replace"},
    {NULL, "[{'op':'SECRETX','path':'/title','value':'x'}]",
     OP0 "op must be add, remove or replace"},
    {NULL, "[{'op':'ADD','path':'/title','value':'x'}]", OP0 "op must be add, remove or replace"},
    {NULL, "[{'op':'Replace','path':'/title','value':'x'}]",
     OP0 "op must be add, remove or replace"},
    {NULL, "[{'op':'','path':'/title','value':'x'}]", OP0 "op must be add, remove or replace"},
    {NULL, "[{'op':'add ','path':'/title','value':'x'}]", OP0 "op must be add, remove or replace"},
    {NULL, "[{'op':'add\\u0000','path':'/title','value':'x'}]",
     OP0 "op must be add, remove or replace"},

    /* path */
    {NULL, "[{'op':'add','value':'SECRETX'}]", OP0 "path is missing"},
    {NULL, "[{'op':'remove'}]", OP0 "path is missing"},
    {NULL, "[{'op':'add','path':5,'value':'SECRETX'}]", OP0 "path must be a string"},
    {NULL, "[{'op':'add','path':null,'value':'SECRETX'}]", OP0 "path must be a string"},
    {NULL, "[{'op':'add','path':['title'],'value':'SECRETX'}]", OP0 "path must be a string"},
    {NULL, "[{'op':'replace','path':'title','value':'SECRETX'}]", OP0 "path must start with \"/\""},
    {NULL, "[{'op':'replace','path':'SECRETX/title','value':'x'}]",
     OP0 "path must start with \"/\""},
    {NULL, "[{'op':'replace','path':'~1title','value':'x'}]", OP0 "path must start with \"/\""},
    {NULL, "[{'op':'replace','path':' /title','value':'x'}]", OP0 "path must start with \"/\""},
    {NULL, "[{'op':'add','path':'/SECRETX~2','value':'x'}]",
     OP0 "path has an invalid ~ escape (only ~0 and ~1 are allowed)"},
    {NULL, "[{'op':'add','path':'/SECRETX~','value':'x'}]",
     OP0 "path has an invalid ~ escape (only ~0 and ~1 are allowed)"},
    {NULL, "[{'op':'add','path':'/a~/SECRETX','value':'x'}]",
     OP0 "path has an invalid ~ escape (only ~0 and ~1 are allowed)"},
    {NULL, "[{'op':'add','path':'/fields/~a/value','value':'x'}]",
     OP0 "path has an invalid ~ escape (only ~0 and ~1 are allowed)"},
    {NULL, "[{'op':'replace','path':'/ti\\u0000tle','value':'SECRETX'}]",
     OP0 "path must not contain a NUL character"},

    /* value */
    {NULL, "[{'op':'add','path':'/SECRETX'}]", OP0 "value is missing"},
    {NULL, "[{'op':'replace','path':'/title'}]", OP0 "value is missing"},
    {NULL, "[{'op':'replace','path':'/','val':{}}]", OP0 "value is missing"},

    /* array indexes */
    {NULL, "[{'op':'replace','path':'/tags/2','value':'SECRETX'}]",
     OP0 "array index is out of range"},
    {NULL, "[{'op':'remove','path':'/tags/2'}]", OP0 "array index is out of range"},
    {NULL, "[{'op':'remove','path':'/tags/5'}]", OP0 "array index is out of range"},
    {NULL, "[{'op':'add','path':'/tags/3','value':'SECRETX'}]", OP0 "array index is out of range"},
    {NULL, "[{'op':'add','path':'/tags/99999999999999999999999','value':'x'}]",
     OP0 "array index is out of range"},
    {NULL, "[{'op':'replace','path':'/tags/18446744073709551615','value':'x'}]",
     OP0 "array index is out of range"},
    {NULL, "[{'op':'replace','path':'/urls/1/href','value':'SECRETX'}]",
     OP0 "array index is out of range"},
    {ITEM_WITH(",'tags':[]"), "[{'op':'replace','path':'/tags/0','value':'x'}]",
     OP0 "array index is out of range"},
    {NULL, "[{'op':'replace','path':'/tags/01','value':'x'}]",
     OP0 "path has an invalid array index"},
    {NULL, "[{'op':'add','path':'/tags/00','value':'x'}]", OP0 "path has an invalid array index"},
    {NULL, "[{'op':'remove','path':'/tags/-1'}]", OP0 "path has an invalid array index"},
    {NULL, "[{'op':'replace','path':'/tags/+1','value':'x'}]",
     OP0 "path has an invalid array index"},
    {NULL, "[{'op':'replace','path':'/tags/ 1','value':'x'}]",
     OP0 "path has an invalid array index"},
    {NULL, "[{'op':'replace','path':'/tags/1 ','value':'x'}]",
     OP0 "path has an invalid array index"},
    {NULL, "[{'op':'replace','path':'/tags/','value':'x'}]", OP0 "path has an invalid array index"},
    {NULL, "[{'op':'replace','path':'/tags/1a','value':'x'}]",
     OP0 "path has an invalid array index"},
    {NULL, "[{'op':'replace','path':'/tags/1e0','value':'x'}]",
     OP0 "path has an invalid array index"},
    {NULL, "[{'op':'replace','path':'/tags/0x1','value':'x'}]",
     OP0 "path has an invalid array index"},
    {NULL, "[{'op':'replace','path':'/tags/SECRETX','value':'x'}]",
     OP0 "path has an invalid array index"},
    {NULL, "[{'op':'replace','path':'/urls/01/href','value':'x'}]",
     OP0 "path has an invalid array index"},
    {NULL, "[{'op':'replace','path':'/tags/-','value':'SECRETX'}]",
     OP0 "\"-\" is only allowed as the last segment of an add path"},
    {NULL, "[{'op':'remove','path':'/tags/-'}]",
     OP0 "\"-\" is only allowed as the last segment of an add path"},
    {NULL, "[{'op':'replace','path':'/urls/-/href','value':'x'}]",
     OP0 "\"-\" is only allowed as the last segment of an add path"},
    {NULL, "[{'op':'add','path':'/urls/-/href','value':'x'}]",
     OP0 "\"-\" is only allowed as the last segment of an add path"},

    /* members that do not exist, and paths through scalars */
    {NULL, "[{'op':'remove','path':'/SECRETX'}]", OP0 "path does not exist"},
    {NULL, "[{'op':'replace','path':'/SECRETX','value':'x'}]", OP0 "path does not exist"},
    {NULL, "[{'op':'add','path':'/SECRETX/x','value':'x'}]", OP0 "path does not exist"},
    {NULL, "[{'op':'replace','path':'/vault/SECRETX','value':'x'}]", OP0 "path does not exist"},
    {NULL, "[{'op':'remove','path':'/urls/0/label'}]", OP0 "path does not exist"},
    {NULL, "[{'op':'add','path':'//x','value':'x'}]", OP0 "path does not exist"},
    {ITEM_WITH(TITLE), "[{'op':'replace','path':'/favorite','value':true}]",
     OP0 "path does not exist"},
    {ITEM_WITH(TITLE), "[{'op':'add','path':'/tags/-','value':'x'}]", OP0 "path does not exist"},
    {NULL, "[{'op':'add','path':'/title/SECRETX','value':'x'}]",
     OP0 "path goes into a value that is neither an object nor an array"},
    {NULL, "[{'op':'replace','path':'/favorite/x','value':'x'}]",
     OP0 "path goes into a value that is neither an object nor an array"},
    {NULL, "[{'op':'add','path':'/tags/0/x','value':'x'}]",
     OP0 "path goes into a value that is neither an object nor an array"},
    {NULL, "[{'op':'remove','path':'/fields/password/value/x'}]",
     OP0 "path goes into a value that is neither an object nor an array"},
    {NULL, "[{'op':'remove','path':'/files/0/size/x/y'}]",
     OP0 "path goes into a value that is neither an object nor an array"},

    /* the whole item */
    {NULL, "[{'op':'remove','path':'/'}]", OP0 "the whole item cannot be removed"},
    {NULL, "[{'op':'remove','path':''}]", OP0 "the whole item cannot be removed"},
    {NULL, "[{'op':'replace','path':'/','value':'SECRETX'}]",
     OP0 "value must be an object to replace the whole item"},
    {NULL, "[{'op':'add','path':'/','value':[]}]",
     OP0 "value must be an object to replace the whole item"},
    {NULL, "[{'op':'replace','path':'','value':null}]",
     OP0 "value must be an object to replace the whole item"},

    /* fields by id */
    {NULL, "[{'op':'replace','path':'/fields/SECRETX','value':{}}]", OP0 "path does not exist"},
    {NULL, "[{'op':'replace','path':'/fields/SECRETX','value':'x'}]", OP0 "path does not exist"},
    {NULL, "[{'op':'remove','path':'/fields/SECRETX'}]", OP0 "path does not exist"},
    {NULL, "[{'op':'replace','path':'/fields/SECRETX/value','value':'x'}]",
     OP0 "path does not exist"},
    {NULL, "[{'op':'add','path':'/fields/SECRETX/label','value':'x'}]", OP0 "path does not exist"},
    {NULL, "[{'op':'replace','path':'/fields/0/value','value':'SECRETX'}]",
     OP0 "path does not exist"},
    {NULL, "[{'op':'replace','path':'/fields/-','value':{}}]", OP0 "path does not exist"},
    {NULL, "[{'op':'remove','path':'/fields/-'}]", OP0 "path does not exist"},
    {NULL, "[{'op':'add','path':'/fields/-/value','value':'x'}]", OP0 "path does not exist"},
    {NULL, "[{'op':'remove','path':'/fields/password/SECRETX'}]", OP0 "path does not exist"},
    {NULL, "[{'op':'add','path':'/fields/','value':{}}]", OP0 "the field id in the path is empty"},
    {NULL, "[{'op':'replace','path':'/fields/','value':{}}]",
     OP0 "the field id in the path is empty"},
    {NULL, "[{'op':'remove','path':'/fields//value'}]", OP0 "the field id in the path is empty"},
    {NULL, "[{'op':'add','path':'/fields/x','value':'SECRETX'}]",
     OP0 "value must be an object (a field)"},
    {NULL, "[{'op':'replace','path':'/fields/password','value':5}]",
     OP0 "value must be an object (a field)"},
    {NULL, "[{'op':'replace','path':'/fields/password','value':[]}]",
     OP0 "value must be an object (a field)"},
    {NULL, "[{'op':'add','path':'/fields/-','value':'SECRETX'}]",
     OP0 "value must be an object (a field)"},
    {NULL, "[{'op':'add','path':'/fields/password','value':{'id':'SECRETX'}}]",
     OP0 "the field id in the value does not match the path"},
    {NULL, "[{'op':'replace','path':'/fields/password','value':{'id':5}}]",
     OP0 "the field id in the value does not match the path"},
    {NULL, "[{'op':'add','path':'/fields/new','value':{'id':'password'}}]",
     OP0 "the field id in the value does not match the path"},
    {ITEM_WITH(TITLE), "[{'op':'replace','path':'/fields/x','value':{}}]",
     OP0 "path does not exist"},
    {ITEM_WITH(TITLE), "[{'op':'remove','path':'/fields/x'}]", OP0 "path does not exist"},
    {ITEM_WITH(TITLE), "[{'op':'remove','path':'/fields'}]", OP0 "path does not exist"},
    {ITEM_WITH(TITLE), "[{'op':'add','path':'/fields/x/value','value':'x'}]",
     OP0 "path does not exist"},
    {ITEM_WITH(",'fields':{}"), "[{'op':'add','path':'/fields','value':{}}]",
     OP0 "the fields attribute is not an array"},
    {ITEM_WITH(",'fields':{'x':{}}"), "[{'op':'add','path':'/fields/x','value':{}}]",
     OP0 "the fields attribute is not an array"},
    {ITEM_WITH(",'fields':'s'"), "[{'op':'replace','path':'/fields/x/value','value':'v'}]",
     OP0 "the fields attribute is not an array"},

    /* the operation is named by position; the first failure wins */
    {NULL,
     "[{'op':'replace','path':'/title','value':'A'},{'op':'add','path':'/tags/-','value':'t'},"
     "{'op':'remove','path':'/SECRETX'}]",
     OP2 "path does not exist"},
    {NULL,
     "[{'op':'replace','path':'/title','value':'A'},{'op':'remove','path':'/tags/9'},"
     "{'op':'move'}]",
     OP1 "array index is out of range"},
    {NULL,
     "[{'op':'replace','path':'/','value':{'title':'A'}},{'op':'replace','path':'/favorite',"
     "'value':true}]",
     OP1 "path does not exist"},
    {NULL, "[{'op':'remove','path':'/tags/0'},{'op':'remove','path':'/tags/1'}]",
     OP1 "array index is out of range"},
    {NULL, "[{'op':'remove','path':'/fields/password'},{'op':'remove','path':'/fields/password'}]",
     OP1 "path does not exist"},
};

static void test_bad_cases(void **state)
{
    size_t i;
    char msg[256];

    (void)state;
    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        json_t *item = jparse(c->bc_item ? c->bc_item : ITEM);
        json_t *orig = item;
        json_t *pristine = json_deep_copy(item);
        json_t *ops = jparse(c->bc_ops);
        enum err rc;

        rc = patch_apply(&item, ops, msg, sizeof(msg));
        if (rc != ERR_BAD_INPUT || strcmp(msg, c->bc_msg) != 0)
            print_error("case %zu %s: got %d \"%s\"\n", i, c->bc_ops, rc, msg);
        assert_int_equal(rc, ERR_BAD_INPUT);
        assert_string_equal(msg, c->bc_msg);
        assert_null(strstr(msg, "SECRETX")); /* never echoes the request */
        assert_ptr_equal(item, orig);        /* all or nothing */
        assert_true(json_equal(item, pristine));
        json_decref(pristine);
        json_decref(ops);
        json_decref(item);
    }
}

/* A failing third operation leaves the item exactly as it was, even after a "/" replace. */
static void test_all_or_nothing(void **state)
{
    json_t *item = jparse(ITEM), *pristine = json_deep_copy(item), *orig = item;
    json_t *ops = jparse("[{'op':'replace','path':'/','value':{'title':'A','tags':[]}},"
                         "{'op':'add','path':'/tags/-','value':'t'},"
                         "{'op':'replace','path':'/fields/password/value','value':'x'}]");
    char msg[128];

    (void)state;
    assert_int_equal(patch_apply(&item, ops, msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_string_equal(msg, OP2 "path does not exist");
    assert_ptr_equal(item, orig);
    assert_true(json_equal(item, pristine));
    json_decref(ops);
    json_decref(pristine);
    json_decref(item);
}

/* Values are copied: changing the result never changes the patch, and vice versa. */
static void test_values_are_copied(void **state)
{
    json_t *item = jparse(ITEM_WITH(""));
    json_t *ops = jparse("[{'op':'add','path':'/fields','value':{'label':'L'}},"
                         "{'op':'add','path':'/tags','value':['a']}]");
    json_t *ops_copy = json_deep_copy(ops), *f;

    (void)state;
    assert_int_equal(patch_apply(&item, ops, NULL, 0), ERR_OK);
    f = json_array_get(json_object_get(item, "fields"), 0);
    assert_ptr_not_equal(f, json_object_get(json_array_get(ops, 0), "value"));
    assert_int_equal(json_object_set_new(f, "label", json_string("changed")), 0);
    assert_int_equal(json_array_append_new(json_object_get(item, "tags"), json_string("b")), 0);
    assert_true(json_equal(ops, ops_copy));
    json_decref(ops);
    assert_json_is(item, ITEM_WITH(",'fields':[{'label':'changed'}],'tags':['a','b']"), "copied");
    json_decref(ops_copy);
    json_decref(item);
}

/* Exactly PATCH_MAX_OPS operations are fine, one more is refused. */
static void test_max_ops(void **state)
{
    json_t *item = jparse(ITEM_WITH(",'tags':[]"));
    json_t *ops = json_array(), *op = jparse("{'op':'add','path':'/tags/-','value':'x'}");
    char msg[128];
    size_t i;

    (void)state;
    for (i = 0; i < PATCH_MAX_OPS; i++)
        assert_int_equal(json_array_append(ops, op), 0);
    assert_int_equal(patch_apply(&item, ops, msg, sizeof(msg)), ERR_OK);
    assert_int_equal(json_array_size(json_object_get(item, "tags")), PATCH_MAX_OPS);
    assert_int_equal(json_array_append(ops, op), 0);
    assert_int_equal(patch_apply(&item, ops, msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_string_equal(msg, "Invalid patch: more than 256 operations");
    assert_int_equal(json_array_size(json_object_get(item, "tags")), PATCH_MAX_OPS);
    json_decref(op);
    json_decref(ops);
    json_decref(item);
}

/* A path may have JSON_MAX_DEPTH segments (an item is no deeper), not one more. */
static void test_path_depth(void **state)
{
    json_t *item = jparse("{}"), *cur = item, *ops;
    struct buf path;
    char msg[128];
    int i;

    (void)state;
    for (i = 0; i < JSON_MAX_DEPTH - 1; i++) {
        json_t *next = json_object();

        assert_int_equal(json_object_set_new(cur, "a", next), 0);
        cur = next;
    }
    buf_init(&path, 1024);
    for (i = 0; i < JSON_MAX_DEPTH; i++)
        assert_int_equal(buf_add_str(&path, "/a"), ERR_OK);
    ops = json_pack("[{s:s, s:s, s:i}]", "op", "add", "path", buf_str(&path), "value", 7);
    assert_non_null(ops);
    assert_int_equal(patch_apply(&item, ops, msg, sizeof(msg)), ERR_OK);
    cur = item;
    for (i = 0; i < JSON_MAX_DEPTH; i++)
        cur = json_object_get(cur, "a");
    assert_int_equal(json_integer_value(cur), 7);
    json_decref(ops);
    assert_int_equal(buf_add_str(&path, "/a"), ERR_OK);
    ops = json_pack("[{s:s, s:s, s:i}]", "op", "add", "path", buf_str(&path), "value", 7);
    assert_non_null(ops);
    assert_int_equal(patch_apply(&item, ops, msg, sizeof(msg)), ERR_BAD_INPUT);
    assert_string_equal(msg, OP0 "path has too many segments");
    json_decref(ops);
    buf_free(&path);
    json_decref(item);
}

/* The message buffer: cleared on success, truncated to fit, optional. */
static void test_errmsg_buffer(void **state)
{
    json_t *item = jparse(ITEM);
    json_t *bad = jparse("[{'op':'remove','path':'/nope'}]");
    json_t *good = jparse("[{'op':'remove','path':'/title'}]");
    char msg[64], small[10];

    (void)state;
    memset(small, 'x', sizeof(small));
    assert_int_equal(patch_apply(&item, bad, small, sizeof(small)), ERR_BAD_INPUT);
    assert_string_equal(small, "Invalid p");
    memset(small, 'x', sizeof(small));
    assert_int_equal(patch_apply(&item, bad, small, 1), ERR_BAD_INPUT);
    assert_int_equal(small[0], '\0');
    assert_int_equal(small[1], 'x');
    assert_int_equal(patch_apply(&item, bad, NULL, 0), ERR_BAD_INPUT);
    assert_int_equal(patch_apply(&item, item, NULL, 0), ERR_BAD_INPUT);
    memset(msg, 'x', sizeof(msg));
    assert_int_equal(patch_apply(&item, good, msg, sizeof(msg)), ERR_OK);
    assert_string_equal(msg, "");
    assert_null(json_object_get(item, "title"));
    json_decref(good);
    json_decref(bad);
    json_decref(item);
}

/* Programmer errors: no item, or an item that is not an object. */
static void test_internal_errors(void **state)
{
    json_t *ops = jparse("[]"), *item = NULL, *arr = jparse("[]");
    char msg[64];

    (void)state;
    assert_int_equal(patch_apply(NULL, ops, msg, sizeof(msg)), ERR_INTERNAL);
    assert_string_equal(msg, "Something went wrong");
    assert_int_equal(patch_apply(&item, ops, msg, sizeof(msg)), ERR_INTERNAL);
    assert_null(item);
    assert_int_equal(patch_apply(&arr, ops, msg, sizeof(msg)), ERR_INTERNAL);
    assert_true(json_is_array(arr));
    assert_int_equal(patch_fill_defaults(arr), ERR_INTERNAL);
    assert_int_equal(patch_fill_defaults(NULL), ERR_INTERNAL);
    json_decref(arr);
    json_decref(ops);
}

/* The empty patch returns the very same item, without copying it. */
static void test_empty_patch_keeps_item(void **state)
{
    json_t *item = jparse(ITEM), *orig = item, *ops = jparse("[]");

    (void)state;
    assert_int_equal(patch_apply(&item, ops, NULL, 0), ERR_OK);
    assert_ptr_equal(item, orig);
    json_decref(ops);
    json_decref(item);
}

/*
 * patch_fill_defaults: a normalised item (empties absent, connect-api.md §2.3) gets the
 * defaults, after which the documented examples work on it.
 */
static void test_fill_defaults(void **state)
{
    json_t *item = jparse(ITEM_WITH(",'fields':[" F_PASS "],'tags':'keep'"));
    json_t *ops = jparse("[{'op':'replace','path':'/favorite','value':true},"
                         "{'op':'add','path':'/urls/-','value':{'href':'https://e.example'}},"
                         "{'op':'replace','path':'/fields/password/value','value':'s3cret'}]");
    char msg[128];

    (void)state;
    assert_int_equal(patch_fill_defaults(item), ERR_OK);
    assert_json_is(item,
                   ITEM_WITH(",'title':'','favorite':false,'tags':'keep','urls':[],"
                             "'sections':[],'fields':[" F_PASS "],'files':[]"),
                   "defaults");
    assert_int_equal(patch_fill_defaults(item), ERR_OK); /* idempotent */
    assert_int_equal(patch_apply(&item, ops, msg, sizeof(msg)), ERR_OK);
    assert_json_is(item,
                   ITEM_WITH(",'title':'','favorite':true,'tags':'keep',"
                             "'urls':[{'href':'https://e.example'}],'sections':[],"
                             "'fields':[" F_PASS_V("s3cret") "],'files':[]"),
                   "patched defaults");
    json_decref(ops);
    json_decref(item);
}

/*
 * Every allocation failure (ours and jansson's, which main() routes through mem_alloc)
 * gives ERR_NOMEM with the item untouched and nothing leaked; with enough memory the
 * result is exact.
 */
static void test_allocation_failures(void **state)
{
    static const char *const patches[] = {
        "[{'op':'replace','path':'/fields/password/value','value':'s3cret'},"
        "{'op':'add','path':'/fields/new','value':{'value':'v','x':[1,{'y':2}]}},"
        "{'op':'add','path':'/tags/0','value':'first'},"
        "{'op':'add','path':'/urls/0/label','value':'w'},"
        "{'op':'remove','path':'/sections/0'},"
        "{'op':'replace','path':'/tags/1','value':{'a':'b'}}]",
        "[{'op':'replace','path':'/','value':{'title':'T','tags':['a']}},"
        "{'op':'add','path':'/fields','value':{'value':'v'}}]",
        "[{'op':'remove','path':'/fields'},{'op':'add','path':'/fields/x','value':{}}]",
    };
    size_t p;

    (void)state;
    for (p = 0; p < sizeof(patches) / sizeof(patches[0]); p++) {
        json_t *ops = jparse(patches[p]), *want = jparse(ITEM), *pristine = jparse(ITEM);
        char msg[128];
        long n;
        int done = 0;

        assert_int_equal(patch_apply(&want, ops, msg, sizeof(msg)), ERR_OK);
        for (n = 0; !done && n < 10000; n++) {
            json_t *item = jparse(ITEM), *orig = item;
            enum err rc;

            mem_fail_after(n);
            rc = patch_apply(&item, ops, msg, sizeof(msg));
            mem_fail_after(-1);
            if (rc == ERR_OK) {
                assert_true(json_equal(item, want));
                done = 1;
            } else {
                assert_int_equal(rc, ERR_NOMEM);
                assert_string_equal(msg, "Something went wrong");
                assert_ptr_equal(item, orig);
                assert_true(json_equal(item, pristine));
            }
            json_decref(item);
        }
        assert_true(done);
        assert_true(n > 5); /* the injector really fired */
        json_decref(pristine);
        json_decref(want);
        json_decref(ops);
    }
}

/* patch_fill_defaults under allocation failure: ERR_NOMEM, nothing leaked. */
static void test_fill_defaults_nomem(void **state)
{
    long n;
    int done = 0;

    (void)state;
    for (n = 0; !done && n < 1000; n++) {
        json_t *item = jparse(ITEM_WITH(""));
        enum err rc;

        mem_fail_after(n);
        rc = patch_fill_defaults(item);
        mem_fail_after(-1);
        if (rc == ERR_OK)
            done = 1;
        else
            assert_int_equal(rc, ERR_NOMEM);
        json_decref(item);
    }
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_cases),
        cmocka_unit_test(test_bad_cases),
        cmocka_unit_test(test_all_or_nothing),
        cmocka_unit_test(test_values_are_copied),
        cmocka_unit_test(test_max_ops),
        cmocka_unit_test(test_path_depth),
        cmocka_unit_test(test_errmsg_buffer),
        cmocka_unit_test(test_internal_errors),
        cmocka_unit_test(test_empty_patch_keeps_item),
        cmocka_unit_test(test_fill_defaults),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_fill_defaults_nomem),
    };

    /* jansson allocates through mem_alloc too, so the injector reaches every allocation. */
    json_set_alloc_funcs(mem_alloc, mem_free);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
