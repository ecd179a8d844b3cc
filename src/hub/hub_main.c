/*
 * hub_main.c - `sesame hub [--addr HOST:PORT] [--data DIR] [--port-file F]
 * [--open-registration]`: runs the hub on DIR/hub.db until SIGINT or SIGTERM.
 * Environment: SESAME_HUB_ADDR (default 127.0.0.1:7700), SESAME_HUB_DATA (default
 * ./sesame-hub), SESAME_HUB_DATABASE_URL or its other name SESAME_HUB_DATABASE (when set,
 * the store URL instead of DIR/hub.db, e.g. postgresql://...: several hubs may share one
 * PostgreSQL database, docs/scaling.md; never printed: it may hold a password),
 * SESAME_HUB_TLS_CERT and SESAME_HUB_TLS_KEY
 * (both: HTTPS only; SIGHUP reads the two files again), SESAME_HUB_RATE_LIMIT_RPS (requests per
 * second per client address, default 5000; 0 disables; hub_int.h). Port 0 picks a free port;
 * --port-file F receives it (then a newline), written atomically once the hub listens. Logs are
 * JSON lines on stderr.
 *
 * Unless a database URL is set, the hub holds an exclusive flock on DIR/hub.lock
 * while it runs (hub_data_lock): a second hub on DIR, or `sesame hub restore`, is refused.
 * `sesame hub backup` and `sesame hub restore` are in hub_backup.c, `sesame hub migrate`
 * in hub_migrate.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "common/config.h"
#include "common/limits.h"
#include "common/log.h"
#include "hub/hub.h"
#include "hub/hub_backup.h"
#include "hub/hub_migrate.h"

#define HUB_PATH_MAX 4096

static volatile sig_atomic_t hub_signalled;

/* Records SIGINT / SIGTERM. */
static void hub_on_signal(int sig)
{
    hub_signalled = sig;
}

/* Prints a usage error (one line) and returns CLI_EXIT_USAGE. */
static int hub_usage(const char *what)
{
    fprintf(stderr,
            "sesame: hub: %s (usage: sesame hub [--addr HOST:PORT] [--data DIR] "
            "[--port-file FILE] [--open-registration]; sesame hub backup|restore|migrate ...)\n",
            what);
    return CLI_EXIT_USAGE;
}

/*
 * Splits "HOST:PORT" or "[V6]:PORT" into host (cap bytes) and *port (0..65535).
 * Returns 1 on success.
 */
static int hub_addr_parse(const char *s, char *host, size_t cap, int *port)
{
    const char *colon, *p, *h = s;
    size_t hlen;
    long v = 0;

    if (!s || !*s)
        return 0;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (!close || close[1] != ':')
            return 0;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return 0;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= cap || !colon[1] || strlen(colon + 1) > 5)
        return 0;
    for (p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (*p - '0');
    }
    if (v > 65535)
        return 0;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)v;
    return 1;
}

/* `sesame hub`: see the top of this file. */
int hub_main(int argc, char **argv)
{
    const char *addr = getenv("SESAME_HUB_ADDR"), *data = getenv("SESAME_HUB_DATA");
    const char *db_var = NULL, *db_url;
    const char *port_file = NULL, *tls_cert = getenv("SESAME_HUB_TLS_CERT");
    const char *tls_key = getenv("SESAME_HUB_TLS_KEY");
    char host[CONFIG_MAX_HOST_LEN + 1], db[HUB_PATH_MAX], errmsg[512], db_desc[64];
    struct hub_options opt;
    struct config cf;
    struct sigaction sa;
    struct hub *h = NULL;
    sigset_t set, old;
    int i, n, port = 0, lock_fd = -1;
    enum err e;

    if (argc > 2 && strcmp(argv[2], "backup") == 0)
        return hub_backup_main(argc, argv);
    if (argc > 2 && strcmp(argv[2], "restore") == 0)
        return hub_restore_main(argc, argv);
    if (argc > 2 && strcmp(argv[2], "migrate") == 0)
        return hub_migrate_main(argc, argv);
    db_url = hub_database_env(&db_var, &i);
    if (i)
        return hub_usage("SESAME_HUB_DATABASE_URL and SESAME_HUB_DATABASE name different "
                         "databases: set one");
    (void)snprintf(db_desc, sizeof(db_desc), "from %s", db_var); /* never the URL itself */
    hub_signalled = 0;
    memset(&opt, 0, sizeof(opt));
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--open-registration") == 0) {
            opt.ho_open_registration = 1;
        } else if (strcmp(a, "--addr") == 0 || strcmp(a, "--data") == 0 ||
                   strcmp(a, "--port-file") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0])
                return hub_usage("an option needs a value");
            if (a[2] == 'a')
                addr = argv[++i];
            else if (a[2] == 'd')
                data = argv[++i];
            else
                port_file = argv[++i];
        } else if (strncmp(a, "--addr=", 7) == 0) {
            addr = a + 7;
        } else if (strncmp(a, "--data=", 7) == 0) {
            data = a + 7;
        } else if (strncmp(a, "--port-file=", 12) == 0) {
            port_file = a + 12;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("usage: sesame hub [--addr HOST:PORT] [--data DIR] [--port-file FILE] "
                   "[--open-registration]\n"
                   "       sesame hub backup [--data DIR] --out FILE\n"
                   "       sesame hub restore [--data DIR] --from FILE\n"
                   "       sesame hub migrate --from SRC [--to DST]\n");
            return CLI_EXIT_OK;
        } else {
            return hub_usage("unknown argument");
        }
    }
    if (!addr || !*addr)
        addr = HUB_DEFAULT_ADDR;
    if (!data || !*data)
        data = CONFIG_DEFAULT_HUB_DATA;
    if (!hub_addr_parse(addr, host, sizeof(host), &port))
        return hub_usage("the address must be HOST:PORT with a port from 0 to 65535");
    if (port_file && (!*port_file || strlen(port_file) >= HUB_PATH_MAX))
        return hub_usage("invalid --port-file");
    n = snprintf(db, sizeof(db), "%s/hub.db", data);
    if (n < 0 || (size_t)n >= sizeof(db))
        return hub_usage("the data directory path is too long");
    opt.ho_host = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    opt.ho_port = port;
    opt.ho_store_url = db_url && *db_url ? db_url : db;
    opt.ho_tls_cert = tls_cert && *tls_cert ? tls_cert : NULL;
    opt.ho_tls_key = tls_key && *tls_key ? tls_key : NULL;
    if (!opt.ho_tls_cert != !opt.ho_tls_key)
        return hub_usage("SESAME_HUB_TLS_CERT and SESAME_HUB_TLS_KEY: set both or neither");
    memset(&cf, 0, sizeof(cf));
    if (config_load_var(&cf, CONFIG_SESAME_HUB_RATE_LIMIT_RPS, getenv("SESAME_HUB_RATE_LIMIT_RPS"),
                        errmsg, sizeof(errmsg)) != ERR_OK)
        return hub_usage(errmsg);
    opt.ho_rate_limit_rps = cf.cf_hub_rate_limit_rps;
    if (opt.ho_store_url == db) {
        e = hub_data_lock(data, &lock_fd, errmsg, sizeof(errmsg));
        if (e != ERR_OK) {
            fprintf(stderr, "sesame: hub: %s\n", errmsg);
            return CLI_EXIT_FAIL;
        }
    }

    /* SIGINT/SIGTERM are blocked in every thread and waited for here. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &sa, NULL);

    e = hub_start(&h, &opt, errmsg, sizeof(errmsg));
    if (e != ERR_OK) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        fprintf(stderr, "sesame: %s\n", errmsg[0] ? errmsg : err_message(e));
        if (lock_fd >= 0)
            (void)close(lock_fd);
        return CLI_EXIT_FAIL;
    }
    log_info("hub: listening on %s port %d%s, database %s%s", opt.ho_host, hub_port(h),
             opt.ho_tls_cert ? " (https)" : "", opt.ho_store_url == db_url ? db_desc : db,
             opt.ho_open_registration ? ", registration open" : "");
    if (port_file && cli_port_file_write(port_file, hub_port(h)) != 0) {
        fprintf(stderr, "sesame: hub: cannot write the port file (%s)\n", strerrorname_np(errno));
        hub_stop(h);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (lock_fd >= 0)
            (void)close(lock_fd);
        return CLI_EXIT_FAIL;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = hub_on_signal;
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);
    while (!hub_signalled) {
        int sig = 0;

        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGINT || sig == SIGTERM) {
            hub_signalled = sig;
        } else if (sig == SIGHUP && !opt.ho_tls_cert) {
            log_info("hub: SIGHUP: no TLS configured, nothing to reload");
        } else if (sig == SIGHUP) {
            if (hub_tls_reload(h, errmsg, sizeof(errmsg)) == ERR_OK)
                log_info("hub: SIGHUP: TLS certificate and key reloaded");
            else
                log_error("hub: SIGHUP: TLS reload failed, the old certificate stays: %s", errmsg);
        }
    }
    log_info("hub: stopping (signal %d)", (int)hub_signalled);
    hub_stop(h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    log_info("hub: stopped");
    if (lock_fd >= 0)
        (void)close(lock_fd); /* after the store is closed: a restore may start now */
    return CLI_EXIT_OK;
}
