/*
 * cli_activity.c - `sesame activity [--server S] [--limit N] [--offset O]`: the API
 * requests Connect servers reported to the hub (GET /v1/activity), as a table or as
 * Connect's APIRequest objects (--format json).
 *
 * The hub keeps entries in the order it received them and pages with limit/offset from
 * the oldest. Without --offset this command shows the newest entries: it reads the total
 * from the first answer's Content-Range and, when there are more than --limit, asks again
 * for the last page.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cli_connect.h"
#include "cli/commands.h"
#include "common/limits.h"
#include "json/timefmt.h"

#define ACT_DEFAULT_LIMIT  50
#define ACT_MAX_LIMIT      10000 /* the hub's largest page */
#define ACT_MAX_OFFSET     (1LL << 40)
#define ACT_RESOURCE_BYTES 160 /* "ITEM vault/item@vN", cut beyond */

/* Returns the name of server id in the hub's list, else the id (or "-"). */
static const char *act_server_label(const json_t *servers, const char *id)
{
    const json_t *s;
    size_t i;

    json_array_foreach(servers, i, s)
    {
        if (strcmp(cli_str(s, "id"), id) == 0 && *cli_str(s, "name"))
            return cli_str(s, "name");
    }
    return *id ? id : "-";
}

/*
 * Reads TOTAL from a "Content-Range: O-E/TOTAL" value into *total. Returns 1 if found.
 */
static int act_range_total(const char *range, long long *total)
{
    const char *slash = range ? strrchr(range, '/') : NULL;
    char *end = NULL;
    long long v;

    if (!slash || slash[1] < '0' || slash[1] > '9')
        return 0;
    errno = 0;
    v = strtoll(slash + 1, &end, 10);
    if (errno != 0 || !end || *end != '\0' || v < 0)
        return 0;
    *total = v;
    return 1;
}

/*
 * GETs one page of activity into *list (json_decref it) and *total (-1 when the hub gave
 * no Content-Range). Returns ERR_OK or the error, with errmsg.
 */
static enum err act_fetch(struct admin *a, const char *server_id, long long limit, long long offset,
                          json_t **list, long long *total, char *errmsg, size_t errcap)
{
    struct http_client_response resp;
    struct buf target;
    json_error_t jerr;
    enum err rc;

    *list = NULL;
    *total = -1;
    memset(&resp, 0, sizeof(resp));
    buf_init(&target, HTTP_MAX_URL_BYTES);
    rc = buf_addf(&target, "/v1/activity?limit=%lld&offset=%lld", limit, offset);
    if (rc == ERR_OK && server_id)
        rc = buf_addf(&target, "&server=%s", server_id); /* a checked lowercase id */
    if (rc != ERR_OK) {
        buf_free(&target);
        return err_msgf(rc, errmsg, errcap, "out of memory");
    }
    rc = admin_call_raw(a, HTTP_CLIENT_GET, buf_str(&target), NULL, 0, &resp, errmsg, errcap);
    buf_free(&target);
    if (rc != ERR_OK)
        goto out;
    *list =
        json_loadb(resp.hr_body.b_data ? resp.hr_body.b_data : "", resp.hr_body.b_len, 0, &jerr);
    if (!json_is_array(*list)) {
        json_decref(*list);
        *list = NULL;
        rc = err_msgf(ERR_UPSTREAM, errmsg, errcap, "hub: the activity answer is not a list");
        goto out;
    }
    if (!act_range_total(http_client_response_header(&resp, "Content-Range"), total))
        *total = -1;
out:
    http_client_response_free(&resp);
    return rc;
}

/* Prints the entries as a table. */
static void act_print_table(const json_t *list, const json_t *servers)
{
    const json_t *rec;
    char resource[ACT_RESOURCE_BYTES];
    size_t i, wserver = 6, wres = 8;

    /* Column widths from the data: server names and resources vary. */
    json_array_foreach(list, i, rec)
    {
        size_t w = cli_width(act_server_label(servers, cli_str(rec, "server")));
        if (w > wserver)
            wserver = w;
        w = cli_width(
            connect_activity_resource(resource, sizeof(resource), json_object_get(rec, "entry")));
        if (w > wres)
            wres = w;
    }
    cli_put_cell("TIME", TIMEFMT_RFC3339_LEN);
    cli_put_cell("SERVER", wserver);
    cli_put_cell("ACTION", 6);
    cli_put_cell("RESULT", 7);
    cli_put_cell("RESOURCE", wres);
    fputs("TOKEN\n", stdout);
    json_array_foreach(list, i, rec)
    {
        const json_t *entry = json_object_get(rec, "entry");
        const json_t *received = json_object_get(rec, "receivedAt");
        const char *jti = cli_str(json_object_get(entry, "actor"), "jti");
        char when[32];

        if (*cli_str(entry, "timestamp"))
            cli_put_cell(cli_str(entry, "timestamp"), TIMEFMT_RFC3339_LEN);
        else
            cli_put_cell(connect_time_text(when, json_is_integer(received)
                                                     ? (int64_t)json_integer_value(received)
                                                     : 0),
                         TIMEFMT_RFC3339_LEN);
        cli_put_cell(act_server_label(servers, cli_str(rec, "server")), wserver);
        cli_put_cell(*cli_str(entry, "action") ? cli_str(entry, "action") : "-", 6);
        cli_put_cell(*cli_str(entry, "result") ? cli_str(entry, "result") : "-", 7);
        cli_put_cell(connect_activity_resource(resource, sizeof(resource), entry), wres);
        cli_put_safe(*jti ? jti : "-");
        fputc('\n', stdout);
    }
}

/* Prints the APIRequest entries as a JSON array. Returns the exit code. */
static int act_print_json(const json_t *list)
{
    json_t *out = json_array();
    const json_t *rec;
    size_t i;
    int bad = !out;

    json_array_foreach(list, i, rec)
    {
        json_t *entry = json_object_get(rec, "entry");
        if (!bad && json_is_object(entry))
            bad = json_array_append(out, entry) != 0;
    }
    bad = bad || json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
          fputc('\n', stdout) == EOF;
    json_decref(out);
    return bad ? cli_fail("cannot write the output") : CLI_EXIT_OK;
}

static const char act_usage[] =
    "usage: sesame activity [--server SERVER] [--limit N] [--offset O] [--format human|json]";

/* Runs `sesame activity`; see commands.h. */
int cli_cmd_activity(int argc, char **argv)
{
    struct admin_options ao;
    const char *server = NULL, *limit_s = NULL, *offset_s = NULL, *format = NULL;
    struct {
        const char *name;
        const char **value;
    } opts[] = {
        {"--server", &server},      {"--limit", &limit_s},
        {"--offset", &offset_s},    {"--format", &format},
        {"--kit", &ao.ao_kit_path}, {"--passphrase-file", &ao.ao_passphrase_file},
        {"--hub", &ao.ao_hub_url},
    };
    char errmsg[ADMIN_ERRMSG_BYTES], server_id[ID_LEN + 1];
    struct admin *a = NULL;
    json_t *servers = NULL, *list = NULL;
    const json_t *rec;
    long long limit = ACT_DEFAULT_LIMIT, offset = 0, total = -1;
    size_t j;
    int i, ret = CLI_EXIT_USAGE, json = 0;

    memset(&ao, 0, sizeof(ao));
    for (i = 2; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        const char **slot = NULL;

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            printf("%s\n", act_usage);
            return CLI_EXIT_OK;
        }
        for (j = 0; j < sizeof(opts) / sizeof(opts[0]) && !slot; j++) {
            if (strlen(opts[j].name) == nlen && strncmp(opts[j].name, arg, nlen) == 0)
                slot = opts[j].value;
        }
        if (!slot)
            return cli_usage("%s", act_usage);
        if (*slot)
            return cli_usage("%.*s is given twice", (int)nlen, arg);
        if (eq)
            *slot = eq + 1;
        else if (i + 1 < argc)
            *slot = argv[++i];
        else
            return cli_usage("%s needs a value", arg);
    }
    if (format && strcmp(format, "json") != 0 && strcmp(format, "human") != 0)
        return cli_usage("--format must be human or json");
    json = format && strcmp(format, "json") == 0;
    if ((limit_s && (connect_uint_parse(limit_s, ACT_MAX_LIMIT, &limit, "--limit", errmsg,
                                        sizeof(errmsg)) != ERR_OK ||
                     limit == 0)) ||
        (offset_s && connect_uint_parse(offset_s, ACT_MAX_OFFSET, &offset, "--offset", errmsg,
                                        sizeof(errmsg)) != ERR_OK))
        return cli_usage("%s", limit_s && limit == 0 ? "--limit must be a number from 1 to 10000"
                                                     : errmsg);

    ret = CLI_EXIT_FAIL;
    if (admin_open(&a, &ao, errmsg, sizeof(errmsg)) != ERR_OK) {
        cli_fail("%s", errmsg);
        goto out;
    }
    if (admin_call(a, HTTP_CLIENT_GET, "/v1/servers", NULL, NULL, &servers, errmsg,
                   sizeof(errmsg)) != ERR_OK) {
        cli_fail("cannot list the servers: %s", errmsg);
        goto out;
    }
    if (server) {
        if (connect_server_find(servers, server, &rec, errmsg, sizeof(errmsg)) != ERR_OK) {
            cli_fail("%s", errmsg);
            goto out;
        }
        if (!id_is_valid(cli_str(rec, "id"))) {
            cli_fail("hub: a server record has no valid id");
            goto out;
        }
        memcpy(server_id, cli_str(rec, "id"), ID_LEN + 1);
    }
    if (act_fetch(a, server ? server_id : NULL, limit, offset, &list, &total, errmsg,
                  sizeof(errmsg)) != ERR_OK) {
        cli_fail("cannot read the activity: %s", errmsg);
        goto out;
    }
    if (!offset_s && total > limit) {
        /* The newest entries: ask again for the last page. */
        json_decref(list);
        offset = total - limit;
        if (act_fetch(a, server ? server_id : NULL, limit, offset, &list, &total, errmsg,
                      sizeof(errmsg)) != ERR_OK) {
            cli_fail("cannot read the activity: %s", errmsg);
            goto out;
        }
    }
    if (json) {
        ret = act_print_json(list);
        goto out;
    }
    act_print_table(list, servers);
    if (total >= 0 && (size_t)total > json_array_size(list))
        printf("(entries %lld to %lld of %lld; see --offset and --limit)\n", offset + 1,
               offset + (long long)json_array_size(list), total);
    ret = CLI_EXIT_OK;
out:
    json_decref(list);
    json_decref(servers);
    admin_close(a);
    return ret;
}
