/*
 * api_main.c - `sesame api [--http-addr HOST] [--port-file FILE]`: Connect's API
 * container. Configuration is Connect's environment (docs/configuration.md): OP_SESSION,
 * OP_HTTP_PORT, XDG_DATA_HOME, OP_BUS_PORT / OP_BUS_PEERS, OP_SYNC_TIMEOUT,
 * OP_MAX_INLINE_FILE_SIZE_KB, OP_LOG_LEVEL, and OP_TLS_CERT_FILE / OP_TLS_KEY_FILE /
 * OP_HTTPS_PORT for HTTPS (SIGHUP reads the two files again). Runs until SIGINT or
 * SIGTERM; logs are JSON lines on stderr. --port-file gets the API's port (the HTTPS one
 * with TLS).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/log.h"
#include "crypto/crypto.h"

extern char **environ;

/* Prints a usage error (one line) and returns CLI_EXIT_USAGE. */
static int am_usage(const char *what)
{
    fprintf(stderr, "sesame: api: %s (usage: sesame api [--http-addr HOST] [--port-file FILE])\n",
            what);
    return CLI_EXIT_USAGE;
}

/* `sesame api`: see the top of this file. */
int api_main(int argc, char **argv)
{
    const char *addr = NULL, *port_file = NULL;
    struct config cf;
    struct buf session;
    struct api_options opt;
    struct api *a = NULL;
    char errmsg[512];
    sigset_t set, old;
    struct sigaction sa;
    int i, sig = 0, rcode = CLI_EXIT_FAIL;
    size_t u;
    enum err e;

    memset(&cf, 0, sizeof(cf));
    buf_init(&session, 1);
    for (i = 2; i < argc; i++) {
        if ((strcmp(argv[i], "--http-addr") == 0 || strcmp(argv[i], "--port-file") == 0)) {
            if (i + 1 >= argc || !argv[i + 1][0])
                return am_usage("an option needs a value");
            if (argv[i][2] == 'h')
                addr = argv[++i];
            else
                port_file = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: sesame api [--http-addr HOST] [--port-file FILE]\n");
            return CLI_EXIT_OK;
        } else {
            return am_usage("unknown argument");
        }
    }
    if (port_file && strlen(port_file) >= CONFIG_MAX_PATH)
        return am_usage("invalid --port-file");
    if (crypto_init() != ERR_OK) {
        fprintf(stderr, "sesame: api: cannot initialise the crypto libraries\n");
        return CLI_EXIT_FAIL;
    }
    if (config_load(&cf, environ, errmsg, sizeof(errmsg)) != ERR_OK) {
        fprintf(stderr, "sesame: api: %s\n", errmsg);
        return CLI_EXIT_FAIL;
    }
    log_set_level(cf.cf_log_level);
    for (u = 0; u < cf.cf_unknown_count; u++)
        log_warn("api: unknown variable %s ignored", cf.cf_unknown[u]);
    if (config_session_read(&session, cf.cf_session, cf.cf_home, errmsg, sizeof(errmsg)) !=
        ERR_OK) {
        fprintf(stderr, "sesame: api: %s\n", errmsg);
        goto out;
    }

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &sa, NULL);

    memset(&opt, 0, sizeof(opt));
    opt.ao_config = &cf;
    opt.ao_credentials_json = session.b_data;
    opt.ao_credentials_len = session.b_len;
    opt.ao_http_addr = addr;
    e = api_start(&a, &opt, errmsg, sizeof(errmsg));
    buf_free(&session);
    if (e != ERR_OK) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        fprintf(stderr, "sesame: %s\n", errmsg[0] ? errmsg : err_message(e));
        goto out;
    }
    if (api_plain_port(a))
        log_info("api: serving HTTPS on port %d (Connect API %s; probes also over HTTP on port "
                 "%d), data %s, locked until the first valid token",
                 api_port(a), "v1", api_plain_port(a), cf.cf_data_dir);
    else
        log_info("api: listening on port %d (Connect API %s), data %s, locked until the first "
                 "valid token",
                 api_port(a), "v1", cf.cf_data_dir);
    if (port_file && cli_port_file_write(port_file, api_port(a)) != 0) {
        fprintf(stderr, "sesame: api: cannot write the port file (%s)\n", strerrorname_np(errno));
        api_stop(a);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        goto out;
    }
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGINT || sig == SIGTERM)
            break;
        if (sig != SIGHUP)
            continue;
        if (!api_plain_port(a))
            log_info("api: SIGHUP: no TLS configured, nothing to reload");
        else if (api_tls_reload(a, errmsg, sizeof(errmsg)) == ERR_OK)
            log_info("api: SIGHUP: TLS certificate and key reloaded");
        else
            log_error("api: SIGHUP: TLS reload failed, the old certificate stays: %s", errmsg);
    }
    log_info("api: stopping (signal %d)", sig);
    api_stop(a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    log_info("api: stopped");
    rcode = CLI_EXIT_OK;
out:
    buf_free(&session);
    config_free(&cf);
    return rcode;
}
