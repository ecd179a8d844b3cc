/*
 * sync_main.c - `sesame sync [--http-addr HOST] [--port-file FILE]`: Connect's sync
 * container. Configuration is Connect's environment (docs/configuration.md): OP_SESSION
 * (the credentials file), XDG_DATA_HOME / HOME (the volume), OP_HTTP_PORT (/heartbeat and
 * /health; 0 is a free port, which --port-file receives), OP_BUS_PORT or SESAME_BUS_SOCKET
 * (the bus to the api), OP_LOG_LEVEL, and SESAME_HUB (one hub URL, or several separated by
 * commas: overrides the credentials file's hub.url and hub.urls; sync fails over between
 * them, docs/sync.md "Several hub URLs"). Starts locked; the api sends the unlock secret over the
 * bus. Runs until SIGINT or SIGTERM; logs are JSON lines on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/log.h"
#include "common/version.h"
#include "crypto/crypto.h"
#include "http/server.h"
#include "keys/credentials.h"
#include "store/volume.h"
#include "sync/service.h"

extern char **environ;

#define SM_USAGE "usage: sesame sync [--http-addr HOST] [--port-file FILE]"

/* Prints a usage error (one line) and returns CLI_EXIT_USAGE. */
static int sm_usage(const char *what)
{
    fprintf(stderr, "sesame: sync: %s (%s)\n", what, SM_USAGE);
    return CLI_EXIT_USAGE;
}

/* GET /heartbeat: 200 "." (liveness). */
static enum err sm_h_heartbeat(struct http_request *req, struct http_response *resp)
{
    (void)req;
    return http_respond_text(resp, 200, "text/plain", ".", 1);
}

/* GET /health: the sync process's view (sync_service_health_json). */
static enum err sm_h_health(struct http_request *req, struct http_response *resp)
{
    json_t *doc = NULL;
    enum err e = sync_service_health_json(http_request_context(req), &doc);

    if (e != ERR_OK)
        return e;
    return http_respond_json(resp, 200, doc);
}

static const struct http_route sm_routes[] = {
    {"GET", "/heartbeat", sm_h_heartbeat},
    {"GET", "/health", sm_h_health},
};

/*
 * Checks the data directory: absent is fine (volume_open creates it 0700 with its
 * parents), a directory is fine, anything else is refused. Returns 1 when usable.
 */
static int sm_data_dir_ok(const char *dir)
{
    struct stat st;

    if (stat(dir, &st) != 0)
        return errno == ENOENT;
    return S_ISDIR(st.st_mode);
}

/* Everything the process holds, released by sm_release. */
struct sm_state {
    struct config ss_cf;
    struct credentials *ss_cred;
    struct volume *ss_vol;
    struct sync_service *ss_svc;
    struct http_server *ss_http;
    struct bus_server *ss_bus;
    unsigned char *ss_bus_key;
    int ss_rebuilt;                 /* the volume was damaged and rebuilt at start-up */
    char ss_aside[VOLUME_PATH_MAX]; /* where the damaged database was kept ("" if not) */
};

/* Stops the servers and frees what st holds (the engine must have stopped). */
static void sm_release(struct sm_state *st)
{
    if (st->ss_bus)
        bus_server_stop(st->ss_bus);
    http_server_stop(st->ss_http);
    sync_service_free(st->ss_svc);
    volume_close(st->ss_vol);
    credentials_free(st->ss_cred);
    bus_key_free(st->ss_bus_key);
    config_free(&st->ss_cf);
}

/* Loads the configuration, the credentials and the volume. Returns 1 or 0 (printed). */
static int sm_load(struct sm_state *st)
{
    char errmsg[512];
    struct buf text;
    size_t removed = 0, u;
    long long t0;
    enum err e;

    buf_init(&text, 1);
    if (config_load(&st->ss_cf, environ, errmsg, sizeof(errmsg)) != ERR_OK) {
        fprintf(stderr, "sesame: sync: %s\n", errmsg);
        return 0;
    }
    log_set_level(st->ss_cf.cf_log_level);
    for (u = 0; u < st->ss_cf.cf_unknown_count; u++)
        log_warn("sync: unknown variable %s ignored", st->ss_cf.cf_unknown[u]);
    if (!st->ss_cf.cf_data_dir) {
        fprintf(stderr, "sesame: sync: %s\n", CONFIG_NO_DATA_DIR_MSG);
        return 0;
    }
    if (config_session_read(&text, st->ss_cf.cf_session, st->ss_cf.cf_home, errmsg,
                            sizeof(errmsg)) != ERR_OK) {
        fprintf(stderr, "sesame: sync: %s\n", errmsg);
        return 0;
    }
    e = credentials_parse(&st->ss_cred, buf_str(&text), text.b_len, errmsg, sizeof(errmsg));
    buf_free(&text);
    if (e != ERR_OK) {
        fprintf(stderr, "sesame: sync: %s\n", errmsg);
        return 0;
    }
    if (!sm_data_dir_ok(st->ss_cf.cf_data_dir)) {
        fprintf(stderr, "sesame: sync: the data directory %s exists and is not a directory\n",
                st->ss_cf.cf_data_dir);
        return 0;
    }
    /* a database SQLite cannot even open as ours (a damaged header) is rebuilt here */
    if (volume_open_repair(&st->ss_vol, st->ss_cf.cf_data_dir, st->ss_aside, sizeof(st->ss_aside),
                           errmsg, sizeof(errmsg)) != ERR_OK) {
        fprintf(stderr, "sesame: sync: %s\n", errmsg);
        return 0;
    }
    /* every page read once (PRAGMA quick_check): damage found now is repaired before
       the api is served from it; the api's own reads report damage found later */
    t0 = (long long)time(NULL);
    e = volume_check(st->ss_vol, 0, errmsg, sizeof(errmsg));
    if (e == ERR_CORRUPT) {
        char why[sizeof(errmsg)];

        (void)snprintf(why, sizeof(why), "%s", errmsg);
        e = volume_rebuild(st->ss_vol, st->ss_aside, sizeof(st->ss_aside), errmsg, sizeof(errmsg));
        if (e != ERR_OK) {
            fprintf(stderr,
                    "sesame: sync: the volume database is damaged (%s) and cannot be "
                    "rebuilt: %s\n",
                    why, errmsg);
            return 0;
        }
        log_error("sync: the volume database was damaged (%s): kept as %s; rebuilding it from "
                  "the hub",
                  why, st->ss_aside[0] ? st->ss_aside : "(no copy could be made)");
    } else if (e != ERR_OK) {
        log_warn("sync: the volume could not be checked at start-up (%s): %s", err_name(e), errmsg);
    } else {
        log_debug("sync: the volume database checks out (%lld s)", (long long)time(NULL) - t0);
    }
    st->ss_rebuilt = volume_epoch(st->ss_vol) > 1;
    /* sync is the only writer of file contents: clear what a crash left behind - not after
       a rebuild, whose first pass keeps the contents that still match their SHA-256 */
    if (!st->ss_rebuilt && volume_files_gc(st->ss_vol, &removed) == ERR_OK && removed)
        log_info("sync: removed %zu leftover entries under %s/" VOLUME_FILES_DIR, removed,
                 st->ss_cf.cf_data_dir);
    return 1;
}

/* Starts the service, the HTTP server and the bus server. Returns 1 or 0 (printed). */
static int sm_start(struct sm_state *st, const char *addr, int port)
{
    struct sync_service_config sc;
    struct http_server_config hc;
    struct bus_server_config bc;
    struct http_header hh = {"1Password-Connect-Version", CONNECT_COMPAT_VERSION};
    const struct jwk *unique = credentials_unique_key(st->ss_cred);
    char errmsg[512], sockpath[BUS_SOCKET_PATH_MAX + 1];

    memset(&sc, 0, sizeof(sc));
    sc.ssc_volume = st->ss_vol;
    sc.ssc_cred = st->ss_cred;
    sc.ssc_volume_dir = st->ss_cf.cf_data_dir;
    /* SESAME_HUB's URLs (one or several), else the credentials file's hub.url and hub.urls */
    sc.ssc_hub_url = st->ss_cf.cf_hub_url;
    sc.ssc_hub_urls = (const char *const *)st->ss_cf.cf_hub_urls;
    sc.ssc_hub_url_count = st->ss_cf.cf_hub_url_count;
    sc.ssc_ca_file = st->ss_cf.cf_hub_ca_file;
    sc.ssc_rebuilt_aside = st->ss_rebuilt ? st->ss_aside : NULL;
    if (sync_service_new(&st->ss_svc, &sc, errmsg, sizeof(errmsg)) != ERR_OK) {
        fprintf(stderr, "sesame: sync: %s\n", errmsg);
        return 0;
    }

    http_server_config_init(&hc);
    hc.hc_name = "sync";
    hc.hc_addr = addr;
    hc.hc_port = port;
    hc.hc_routes = sm_routes;
    hc.hc_nroutes = sizeof(sm_routes) / sizeof(sm_routes[0]);
    hc.hc_context = st->ss_svc;
    hc.hc_headers = &hh;
    hc.hc_nheaders = 1;
    if (http_server_start(&st->ss_http, &hc) != ERR_OK) {
        fprintf(stderr, "sesame: sync: cannot serve HTTP on %s port %d (see the log)\n", addr,
                port);
        return 0;
    }

    if (!unique || !unique->jk_secret ||
        bus_key_derive(&st->ss_bus_key, unique->jk_secret, JWK_OCT_BYTES) != ERR_OK) {
        fprintf(stderr, "sesame: sync: cannot derive the bus key from the credentials file\n");
        return 0;
    }
    memset(&bc, 0, sizeof(bc));
    if (bus_endpoint_from_config(&bc.bs_listen, sockpath, sizeof(sockpath), &st->ss_cf,
                                 BUS_ROLE_SERVER, errmsg, sizeof(errmsg)) != ERR_OK) {
        fprintf(stderr, "sesame: sync: %s\n", errmsg);
        return 0;
    }
    bc.bs_key = st->ss_bus_key;
    bc.bs_handler = sync_service_bus_handler;
    bc.bs_ctx = st->ss_svc;
    if (bus_server_start(&st->ss_bus, &bc, errmsg, sizeof(errmsg)) != ERR_OK) {
        fprintf(stderr, "sesame: sync: %s\n", errmsg);
        return 0;
    }
    if (bc.bs_listen.be_path)
        log_info("sync: HTTP on port %d, bus on %s, volume %s; locked until the api sends "
                 "the unlock secret",
                 http_server_port(st->ss_http), bc.bs_listen.be_path, st->ss_cf.cf_data_dir);
    else
        log_info("sync: HTTP on port %d, bus on TCP port %d, volume %s; locked until the api "
                 "sends the unlock secret",
                 http_server_port(st->ss_http), bus_server_port(st->ss_bus), st->ss_cf.cf_data_dir);
    return 1;
}

/* `sesame sync`: see the top of this file. */
int sync_main(int argc, char **argv)
{
    const char *addr = "0.0.0.0", *port_file = NULL;
    struct sm_state st;
    struct sigaction sa;
    sigset_t set, old;
    int i, sig = 0;

    memset(&st, 0, sizeof(st));
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--http-addr") == 0 || strcmp(a, "--port-file") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0])
                return sm_usage("an option needs a value");
            if (strcmp(a, "--http-addr") == 0)
                addr = argv[++i];
            else
                port_file = argv[++i];
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("%s\n", SM_USAGE);
            return CLI_EXIT_OK;
        } else {
            return sm_usage("unknown argument");
        }
    }
    if (port_file && strlen(port_file) >= CONFIG_MAX_PATH)
        return sm_usage("invalid --port-file");
    if (!sm_load(&st)) {
        sm_release(&st);
        return CLI_EXIT_FAIL;
    }

    /* SIGINT/SIGTERM are blocked in every thread (started below) and waited for here. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &sa, NULL);

    if (!sm_start(&st, addr, (int)st.ss_cf.cf_http_port)) {
        sm_release(&st);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return CLI_EXIT_FAIL;
    }
    if (port_file && cli_port_file_write(port_file, http_server_port(st.ss_http)) != 0) {
        fprintf(stderr, "sesame: sync: cannot write the port file (%s)\n", strerrorname_np(errno));
        sm_release(&st);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return CLI_EXIT_FAIL;
    }
    while (sigwait(&set, &sig) != 0 || (sig != SIGINT && sig != SIGTERM))
        ;
    log_info("sync: stopping (signal %d)", sig);
    /* No new bus or HTTP request, then the engine. */
    if (st.ss_bus)
        bus_server_stop(st.ss_bus);
    st.ss_bus = NULL;
    http_server_stop(st.ss_http);
    st.ss_http = NULL;
    if (sync_service_stop(st.ss_svc) == ERR_TIMEOUT) {
        /*
         * The engine's hub request did not end although its HTTP client was cancelled
         * (e.g. a stuck name lookup). Every batch is one volume transaction, so nothing is
         * lost by ending now; _exit skips handlers the engine thread might still need.
         */
        log_warn("sync: stopped (a hub request in flight was abandoned)");
        _exit(CLI_EXIT_OK);
    }
    sm_release(&st);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    log_info("sync: stopped");
    return CLI_EXIT_OK;
}
