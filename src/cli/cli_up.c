/*
 * cli_up.c - `sesame up [--data DIR] [--port PORT] [--tls]`: the quick start. Runs a hub, a
 * Connect sync process and a Connect api process on one local data directory (default
 * ./sesame-data, mode 0700) and supervises them until SIGINT or SIGTERM.
 *
 * First run (no DIR/token): starts the hub on a free loopback port (remembered in
 * DIR/hub.addr so the credentials file's hub URL stays valid), then runs the admin CLI as
 * child processes to make an account kit, a "Demo" vault with one login, a Connect server
 * "local" (DIR/1password-credentials.json) and a token (DIR/token, 0600). Every run then
 * starts sync and api, makes one request with the token (so the api unlocks and sync
 * starts), and prints how to use the server. A child that exits is logged and restarted
 * after a backoff; children's output goes to DIR/logs/{hub,sync,api,setup}.log.
 * DIR/up.lock (flock) keeps a second `sesame up` off the same directory.
 *
 * --tls (first run; remembered by DIR/tls/): a local CA (DIR/tls/ca.pem) signs a hub and
 * an api certificate for localhost/127.0.0.1; the hub and the api serve HTTPS, the
 * credentials file pins the hub's certificate, and the printed lines trust the CA.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "common/alloc.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/codec.h"
#include "crypto/crypto.h"
#include "crypto/tls.h"
#include "http/client.h"

extern char **environ;

#define UP_DEFAULT_DIR      "sesame-data"
#define UP_DEFAULT_PORT     8080
#define UP_PATH_MAX         CONFIG_MAX_PATH
#define UP_TICK_MS          100L   /* the supervision loop's period */
#define UP_BACKOFF_MIN_MS   250L   /* first restart delay */
#define UP_BACKOFF_MAX_MS   10000L /* restart delay ceiling */
#define UP_STABLE_MS        30000L /* a child that ran this long restarts after the minimum */
#define UP_STOP_WAIT_MS     5000L  /* SIGTERM grace per child at shutdown */
#define UP_SETUP_TIMEOUT_MS 60000L /* one first-run admin command */
#define UP_UNLOCK_RETRY_MS  1000L  /* between attempts of the first request */
#define UP_ANNOUNCE_WAIT_MS 30000L /* print the block anyway after this */
#define UP_TOKEN_MAX        16384  /* bytes of DIR/token */
#define UP_ENV_MAX          16     /* variables set for one child */
#define UP_CA_DAYS          3650   /* the local CA of --tls */
#define UP_CERT_DAYS        825    /* its hub and api certificates */
#define UP_CERT_SANS        "DNS:localhost,IP:127.0.0.1,IP:::1"

enum up_role { UP_HUB = 0, UP_SYNC, UP_API, UP_NROLES };

/* One supervised process. */
struct up_child {
    const char *uc_name;     /* "hub", "sync", "api" */
    pid_t uc_pid;            /* 0: not running */
    long long uc_started_ms; /* monotonic start time */
    long long uc_restart_ms; /* when to start it again (0: not scheduled) */
    long uc_backoff_ms;      /* the next restart delay */
    int uc_ready;            /* its port file appeared since the last start */
    int uc_port;             /* the port it reported */
};

/* The state of one `sesame up`. */
struct up {
    char u_dir[UP_PATH_MAX]; /* absolute data directory */
    char u_exe[UP_PATH_MAX]; /* this executable, for argv[0] of children */
    int u_api_port;          /* requested, then the port the api got */
    int u_hub_port;          /* 0 until known */
    char u_hub_url[64];
    int u_tls;                                  /* DIR/tls/ holds the CA and certificates: HTTPS */
    char u_hub_fp[2 * TLS_FINGERPRINT_LEN + 1]; /* the hub certificate's SHA-256 (hex) */
    int u_stop;                                 /* SIGINT/SIGTERM seen */
    int u_announced;                            /* the block was printed */
    int u_fail_said[UP_NROLES]; /* the start failure line of hub / api was printed */
    int u_unlocked;             /* the current api generation got its first request answered */
    long long u_unlock_ms;      /* next unlock attempt */
    long long u_api_ready_ms;
    sigset_t u_sigs; /* SIGINT, SIGTERM, SIGHUP, SIGCHLD: blocked, taken by sigtimedwait */
    struct up_child u_child[UP_NROLES];
};

/* Variables a child must not inherit from the user's shell: `up` sets its own. */
static const char *const up_env_strip[] = {
    "OP_BUS_PEERS",
    "OP_BUS_PORT",
    "OP_HTTPS_PORT",
    "OP_HTTP_PORT",
    "OP_SESSION",
    "OP_TLS_CERT_FILE",
    "OP_TLS_DOMAIN",
    "OP_TLS_KEY_FILE",
    "OP_TLS_USE_LETSENCRYPT",
    "OP_SERVICE_ACCOUNT_TOKEN",
    "OP_CONNECT_HOST",
    "OP_CONNECT_TOKEN",
    "SESAME_ACCOUNT_KIT",
    "SESAME_BUS_SOCKET",
    "SESAME_HUB",
    "SESAME_HUB_ADDR",
    "SESAME_HUB_DATA",
    "SESAME_HUB_CA_FILE",
    "SESAME_HUB_DATABASE_URL",
    "SESAME_HUB_DATABASE",
    "SESAME_HUB_TLS_CERT",
    "SESAME_HUB_TLS_KEY",
    "XDG_DATA_HOME",
};

/* Returns the monotonic clock in milliseconds. */
static long long up_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prints a usage error (one line) and returns CLI_EXIT_USAGE. */
static int up_usage(const char *what)
{
    fprintf(stderr, "sesame: up: %s (usage: sesame up [--data DIR] [--port PORT] [--tls])\n", what);
    return CLI_EXIT_USAGE;
}

/* Builds "<dir>/<name>" into out (UP_PATH_MAX bytes). Returns 0, or -1 when too long. */
static int up_path(const struct up *u, char *out, const char *name)
{
    int n = snprintf(out, UP_PATH_MAX, "%s/%s", u->u_dir, name);

    return n < 0 || n >= UP_PATH_MAX ? -1 : 0;
}

/* Parses a decimal port 0..65535; returns 1 on success. */
static int up_port_parse(const char *s, int *port)
{
    char *end = NULL;
    long v;

    if (!s || *s < '0' || *s > '9')
        return 0;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || !end || (*end && *end != '\n') || v < 0 || v > 65535)
        return 0;
    *port = (int)v;
    return 1;
}

/*
 * Reads the first line of a port file ("PORT\n", or "HOST:PORT\n" when after_colon) into
 * *port. Returns 1 when the file exists and holds a port, else 0.
 */
static int up_port_file_read(const char *path, int after_colon, int *port)
{
    char line[64], *p;
    ssize_t n;
    int fd, ok = 0;

    *port = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    n = read(fd, line, sizeof(line) - 1);
    close(fd);
    if (n <= 0 || line[n - 1] != '\n')
        return 0;
    line[n] = '\0';
    p = line;
    if (after_colon) {
        p = strrchr(line, ':');
        if (!p)
            return 0;
        p++;
    }
    ok = up_port_parse(p, port);
    return ok;
}

/*
 * Reads the hub's port from the URL in DIR/1password-credentials.json (when DIR/hub.addr
 * was lost: the credentials file names the hub sync must find). Returns 1 with *port set,
 * else 0.
 */
static int up_hub_port_from_credentials(const struct up *u, int *port)
{
    char path[UP_PATH_MAX];
    const char *url, *colon;
    json_t *j;
    int ok = 0;

    *port = 0;
    if (up_path(u, path, "1password-credentials.json") != 0)
        return 0;
    j = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    url = json_string_value(json_object_get(json_object_get(j, "hub"), "url"));
    colon = url ? strrchr(url, ':') : NULL;
    if (colon &&
        (strncmp(url, "http://127.0.0.1:", 17) == 0 || strncmp(url, "https://127.0.0.1:", 18) == 0))
        ok = up_port_parse(colon + 1, port) && *port > 0;
    json_decref(j);
    return ok;
}

/* Writes "127.0.0.1:PORT\n" to DIR/hub.addr atomically. Returns 0 or -1. */
static int up_hub_addr_write(const struct up *u, int port)
{
    char path[UP_PATH_MAX], tmp[UP_PATH_MAX + 16], line[32];
    int fd, n, ok;

    if (up_path(u, path, "hub.addr") != 0)
        return -1;
    n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -1;
    n = snprintf(line, sizeof(line), "127.0.0.1:%d\n", port);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        (void)unlink(tmp);
        return -1;
    }
    return 0;
}

/*
 * Builds the environment of a child: ours without the variables of up_env_strip and
 * without those named in adds, then adds ("NAME=VALUE", NULL-terminated). The array is
 * mem_alloc'ed (the strings are borrowed); NULL when out of memory.
 */
static const char **up_env_build(const char *const *adds)
{
    size_t n = 0, nadd = 0, i, k, j = 0;
    const char **env;

    while (environ[n])
        n++;
    while (adds[nadd])
        nadd++;
    env = mem_calloc(n + nadd + 1, sizeof(*env));
    if (!env)
        return NULL;
    for (i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        int drop = 0;

        for (k = 0; k < sizeof(up_env_strip) / sizeof(up_env_strip[0]) && !drop; k++)
            drop = strlen(up_env_strip[k]) == len && memcmp(environ[i], up_env_strip[k], len) == 0;
        for (k = 0; k < nadd && !drop; k++)
            drop = strncmp(adds[k], environ[i], len) == 0 && adds[k][len] == '=';
        if (!drop)
            env[j++] = environ[i];
    }
    for (k = 0; k < nadd; k++)
        env[j++] = adds[k];
    env[j] = NULL;
    return env;
}

/*
 * Starts `/proc/self/exe ARGS...` (args[0] is replaced by our path) with the extra
 * environment adds, stdin from /dev/null, stdout to out_fd and stderr to err_fd. The child
 * gets its own process group (a terminal's Ctrl-C reaches only `up`, which stops the
 * children in order), default signal handling, and SIGTERM when `up` dies. Returns the
 * pid, or -1 (errno set).
 */
static pid_t up_spawn(const struct up *u, const char **args, const char *const *adds, int out_fd,
                      int err_fd)
{
    const char **env = up_env_build(adds);
    pid_t parent = getpid(), pid;
    int saved;

    if (!env) {
        errno = ENOMEM;
        return -1;
    }
    args[0] = u->u_exe;
    pid = fork();
    if (pid == 0) {
        sigset_t none;
        int nul;

        /* Only async-signal-safe calls from here to execve. */
        (void)setpgid(0, 0);
        (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        (void)signal(SIGPIPE, SIG_DFL);
        (void)signal(SIGINT, SIG_DFL);
        (void)signal(SIGTERM, SIG_DFL);
        (void)signal(SIGHUP, SIG_DFL);
        (void)signal(SIGCHLD, SIG_DFL);
        sigemptyset(&none);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);
        nul = open("/dev/null", O_RDONLY);
        if (nul < 0 || dup2(nul, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
            _exit(127);
        execve("/proc/self/exe", (char *const *)(uintptr_t)args, (char *const *)(uintptr_t)env);
        _exit(127);
    }
    saved = errno;
    mem_free(env);
    errno = saved;
    return pid;
}

/* Opens DIR/logs/NAME.log for appending (0600). Returns the fd or -1. */
static int up_log_open(const struct up *u, const char *name)
{
    char path[UP_PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/logs/%s.log", u->u_dir, name);

    if (n < 0 || (size_t)n >= sizeof(path))
        return -1;
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/* Takes pending SIGINT/SIGTERM/SIGHUP (and SIGCHLD) within ms; sets u_stop on a stop signal. */
static void up_sleep(struct up *u, long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    struct timespec zero = {0, 0};
    int sig;

    sig = sigtimedwait(&u->u_sigs, NULL, &ts);
    while (sig > 0) {
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
            u->u_stop = sig;
        sig = sigtimedwait(&u->u_sigs, NULL, &zero);
    }
}

/* Waits up to ms for pid to exit; returns 1 when it was reaped (*status set), else 0. */
static int up_reap(pid_t pid, long ms, int *status)
{
    long long end = up_now_ms() + ms;
    struct timespec ts = {0, 20 * 1000000L};

    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);

        if (r == pid || (r < 0 && errno == ECHILD))
            return 1;
        if (up_now_ms() >= end)
            return 0;
        (void)nanosleep(&ts, NULL);
    }
}

/* Stops pid: SIGTERM, up to UP_STOP_WAIT_MS, then SIGKILL. */
static void up_kill(pid_t pid)
{
    int status = 0;

    if (pid <= 0)
        return;
    (void)kill(pid, SIGTERM);
    if (up_reap(pid, UP_STOP_WAIT_MS, &status))
        return;
    (void)kill(pid, SIGKILL);
    (void)up_reap(pid, UP_STOP_WAIT_MS, &status);
}

/* Describes a wait status ("exit status 1", "signal 9") into out. */
static void up_status_text(int status, char *out, size_t cap)
{
    if (WIFEXITED(status))
        (void)snprintf(out, cap, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        (void)snprintf(out, cap, "signal %d", WTERMSIG(status));
    else
        (void)snprintf(out, cap, "status %d", status);
}

/* Builds "NAME=<dir>/<rel>" into out (UP_PATH_MAX + 32 bytes). Returns 0 or -1. */
static int up_env_path(const struct up *u, char *out, const char *name, const char *rel)
{
    int n = snprintf(out, UP_PATH_MAX + 32, "%s=%s/%s", name, u->u_dir, rel);

    return n < 0 || n >= UP_PATH_MAX + 32 ? -1 : 0;
}

/*
 * Starts child role (hub, sync or api) with its arguments, environment and log file, after
 * removing its port file. Returns 0, or -1 (logged; the caller schedules a retry).
 */
static int up_child_start(struct up *u, enum up_role role)
{
    struct up_child *c = &u->u_child[role];
    char pf[UP_PATH_MAX], hubdata[UP_PATH_MAX], addr[64], creds[UP_PATH_MAX + 16];
    char xdg[UP_PATH_MAX + 16], port[32], pfname[32], hport[32];
    char tcert[UP_PATH_MAX + 32], tkey[UP_PATH_MAX + 32];
    const char *adds[UP_ENV_MAX] = {NULL};
    const char *args[12] = {NULL};
    int fd, n, rc = -1;
    pid_t pid;

    n = snprintf(pfname, sizeof(pfname), "%s.port", c->uc_name);
    if (n < 0 || (size_t)n >= sizeof(pfname) || up_path(u, pf, pfname) != 0)
        return -1;
    (void)unlink(pf);
    if (role == UP_HUB) {
        if (up_path(u, hubdata, "hub") != 0)
            return -1;
        (void)snprintf(addr, sizeof(addr), "127.0.0.1:%d", u->u_hub_port);
        args[1] = "hub";
        args[2] = "--addr";
        args[3] = addr;
        args[4] = "--data";
        args[5] = hubdata;
        args[6] = "--port-file";
        args[7] = pf;
        if (u->u_tls) {
            if (up_env_path(u, tcert, "SESAME_HUB_TLS_CERT", "tls/hub.pem") != 0 ||
                up_env_path(u, tkey, "SESAME_HUB_TLS_KEY", "tls/hub.key") != 0)
                return -1;
            adds[0] = tcert;
            adds[1] = tkey;
        }
    } else {
        n = snprintf(creds, sizeof(creds), "OP_SESSION=%s/1password-credentials.json", u->u_dir);
        if (n < 0 || (size_t)n >= sizeof(creds))
            return -1;
        n = snprintf(xdg, sizeof(xdg), "XDG_DATA_HOME=%s/connect", u->u_dir);
        if (n < 0 || (size_t)n >= sizeof(xdg))
            return -1;
        (void)snprintf(port, sizeof(port), "OP_HTTP_PORT=%d", role == UP_API ? u->u_api_port : 0);
        adds[0] = creds;
        adds[1] = xdg;
        adds[2] = port;
        if (role == UP_API && u->u_tls) {
            /* HTTPS on the asked port; the probes over HTTP on any free one. */
            (void)snprintf(port, sizeof(port), "OP_HTTP_PORT=0");
            (void)snprintf(hport, sizeof(hport), "OP_HTTPS_PORT=%d", u->u_api_port);
            if (up_env_path(u, tcert, "OP_TLS_CERT_FILE", "tls/api.pem") != 0 ||
                up_env_path(u, tkey, "OP_TLS_KEY_FILE", "tls/api.key") != 0)
                return -1;
            adds[3] = hport;
            adds[4] = tcert;
            adds[5] = tkey;
        }
        args[1] = role == UP_API ? "api" : "sync";
        args[2] = "--http-addr";
        args[3] = "127.0.0.1";
        args[4] = "--port-file";
        args[5] = pf;
    }
    fd = up_log_open(u, c->uc_name);
    if (fd < 0) {
        log_error("up: cannot open the log of %s (%s)", c->uc_name, strerrorname_np(errno));
        return -1;
    }
    pid = up_spawn(u, args, adds, fd, fd);
    if (pid < 0) {
        log_error("up: cannot start %s (%s)", c->uc_name, strerrorname_np(errno));
        goto out;
    }
    c->uc_pid = pid;
    c->uc_started_ms = up_now_ms();
    c->uc_restart_ms = 0;
    c->uc_ready = 0;
    if (role == UP_API)
        u->u_unlocked = 0;
    log_info("up: started %s (pid %d)", c->uc_name, (int)pid);
    rc = 0;
out:
    close(fd);
    return rc;
}

/* Schedules the next start of child role after its backoff, and doubles the backoff. */
static void up_child_schedule(struct up *u, enum up_role role)
{
    struct up_child *c = &u->u_child[role];

    c->uc_restart_ms = up_now_ms() + c->uc_backoff_ms;
    c->uc_backoff_ms *= 2;
    if (c->uc_backoff_ms > UP_BACKOFF_MAX_MS)
        c->uc_backoff_ms = UP_BACKOFF_MAX_MS;
}

/* Starts child role, or schedules a retry when that fails. */
static void up_child_launch(struct up *u, enum up_role role)
{
    if (up_child_start(u, role) != 0)
        up_child_schedule(u, role);
}

/* Reaps every exited child: logs it and schedules its restart. */
static void up_reap_all(struct up *u)
{
    int status, i;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (i = 0; i < UP_NROLES; i++) {
            struct up_child *c = &u->u_child[i];
            long long ran;
            char what[48];

            if (c->uc_pid != pid)
                continue;
            ran = up_now_ms() - c->uc_started_ms;
            c->uc_pid = 0;
            if (ran >= UP_STABLE_MS)
                c->uc_backoff_ms = UP_BACKOFF_MIN_MS;
            up_status_text(status, what, sizeof(what));
            log_warn("up: %s (pid %d) exited unexpectedly (%s) after %lld ms; restarting in %ld ms",
                     c->uc_name, (int)pid, what, ran, c->uc_backoff_ms);
            if (i != UP_SYNC && !c->uc_ready && !u->u_fail_said[i] &&
                (i == UP_API || u->u_hub_port)) {
                fprintf(stderr,
                        "sesame: up: the %s could not start (is port %d in use?); see "
                        "%s/logs/%s.log; retrying\n",
                        c->uc_name, i == UP_API ? u->u_api_port : u->u_hub_port, u->u_dir,
                        c->uc_name);
                u->u_fail_said[i] = 1;
            }
            up_child_schedule(u, (enum up_role)i);
        }
    }
}

/* Checks whether child role's port file appeared; records the port. Returns uc_ready. */
static int up_child_poll_ready(struct up *u, enum up_role role)
{
    struct up_child *c = &u->u_child[role];
    char pf[UP_PATH_MAX], pfname[32];
    int port;

    if (c->uc_ready || c->uc_pid <= 0)
        return c->uc_ready;
    (void)snprintf(pfname, sizeof(pfname), "%s.port", c->uc_name);
    if (up_path(u, pf, pfname) != 0 || !up_port_file_read(pf, 0, &port))
        return 0;
    c->uc_ready = 1;
    c->uc_port = port;
    log_info("up: %s (pid %d) listens on 127.0.0.1:%d", c->uc_name, (int)c->uc_pid, port);
    return 1;
}

/*
 * Runs one first-run admin command (`sesame ARGS...` with SESAME_HUB and
 * SESAME_ACCOUNT_KIT) to completion, its stdout to out_fd and stderr to DIR/logs/setup.log.
 * Returns 0 when it exited 0; -1 otherwise (or when a stop signal came: u_stop).
 */
static int up_setup_run(struct up *u, const char **args, int out_fd, int log_fd)
{
    char hub[96], kit[UP_PATH_MAX + 32], ca[UP_PATH_MAX + 32];
    const char *adds[4] = {hub, kit, NULL, NULL};
    long long end = up_now_ms() + UP_SETUP_TIMEOUT_MS;
    int n, status = 0;
    pid_t pid;

    n = snprintf(hub, sizeof(hub), "SESAME_HUB=%s", u->u_hub_url);
    if (n < 0 || (size_t)n >= sizeof(hub))
        return -1;
    n = snprintf(kit, sizeof(kit), "SESAME_ACCOUNT_KIT=%s/account-kit.json", u->u_dir);
    if (n < 0 || (size_t)n >= sizeof(kit))
        return -1;
    if (u->u_tls) {
        if (up_env_path(u, ca, "SESAME_HUB_CA_FILE", "tls/ca.pem") != 0)
            return -1;
        adds[2] = ca;
    }
    pid = up_spawn(u, args, adds, out_fd, log_fd);
    if (pid < 0)
        return -1;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid)
            break;
        if (u->u_stop || up_now_ms() >= end) {
            up_kill(pid);
            return -1;
        }
        up_sleep(u, 50);
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/*
 * The first run: account kit, Demo vault and login, Connect server "local" and its token
 * (stdout of `connect token create` written to DIR/token, 0600, atomically). Returns 0,
 * or -1 after printing why on stderr.
 */
static int up_setup(struct up *u)
{
    char kit[UP_PATH_MAX], creds[UP_PATH_MAX], tok[UP_PATH_MAX], tmp[UP_PATH_MAX];
    const char *a_init[] = {NULL, "account", "init", "--hub", u->u_hub_url, "--out", kit, NULL};
    const char *a_vault[] = {NULL, "vault", "create", "Demo", NULL};
    const char *a_item[] = {NULL,         "item",       "create",        "--vault",
                            "Demo",       "--category", "LOGIN",         "--title",
                            "Demo login", "--field",    "username=demo", "--generate-password",
                            NULL};
    const char *a_server[] = {NULL,   "connect", "server", "create", "local", "--vault",
                              "Demo", "--out",   creds,    NULL,     NULL,    NULL};
    const char *a_token[] = {NULL,       "connect", "token",   "create",  "up",
                             "--server", "local",   "--vault", "Demo:rw", NULL};
    struct {
        const char *s_what;
        const char **s_args;
    } steps[] = {
        {"account init", a_init},          {"vault create", a_vault},
        {"item create", a_item},           {"connect server create", a_server},
        {"connect token create", a_token},
    };
    int log_fd = -1, tok_fd = -1, nul_fd = -1, rc = -1, dfd;
    size_t i;
    struct stat st;

    if (u->u_tls) { /* the credentials file pins the hub's certificate */
        a_server[9] = "--tls-fingerprint";
        a_server[10] = u->u_hub_fp;
    }
    if (up_path(u, kit, "account-kit.json") != 0 ||
        up_path(u, creds, "1password-credentials.json") != 0 || up_path(u, tok, "token") != 0 ||
        up_path(u, tmp, "token.tmp") != 0)
        goto out;
    if (stat(kit, &st) == 0) {
        fprintf(stderr,
                "sesame: up: %s exists but %s does not: an earlier first run did not finish; "
                "remove %s to start over\n",
                kit, tok, u->u_dir);
        goto out;
    }
    log_fd = up_log_open(u, "setup");
    if (log_fd < 0) {
        fprintf(stderr, "sesame: up: cannot open %s/logs/setup.log (%s)\n", u->u_dir,
                strerrorname_np(errno));
        goto out;
    }
    nul_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (nul_fd < 0) {
        fprintf(stderr, "sesame: up: cannot open /dev/null (%s)\n", strerrorname_np(errno));
        goto out;
    }
    (void)unlink(tmp);
    tok_fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (tok_fd < 0) {
        fprintf(stderr, "sesame: up: cannot create %s (%s)\n", tmp, strerrorname_np(errno));
        goto out;
    }
    log_info("up: first run: creating an account, a Demo vault, a Connect server and a token");
    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int is_token = steps[i].s_args == a_token;

        if (up_setup_run(u, steps[i].s_args, is_token ? tok_fd : nul_fd, log_fd) != 0) {
            if (!u->u_stop)
                fprintf(stderr,
                        "sesame: up: first-run setup failed at '%s'; see %s/logs/setup.log\n",
                        steps[i].s_what, u->u_dir);
            goto out;
        }
    }
    if (fstat(tok_fd, &st) != 0 || st.st_size < 16 || fsync(tok_fd) != 0) {
        fprintf(stderr, "sesame: up: the token was not written to %s\n", tmp);
        goto out;
    }
    if (close(tok_fd) != 0 || rename(tmp, tok) != 0) {
        fprintf(stderr, "sesame: up: cannot write %s (%s)\n", tok, strerrorname_np(errno));
        tok_fd = -1;
        (void)unlink(tmp);
        goto out;
    }
    tok_fd = -1;
    dfd = open(u->u_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    log_info("up: first run done: token in %s", tok);
    rc = 0;
out:
    if (tok_fd >= 0) {
        close(tok_fd);
        (void)unlink(tmp);
    }
    if (log_fd >= 0)
        close(log_fd);
    if (nul_fd >= 0)
        close(nul_fd);
    return rc;
}

/*
 * Reads DIR/token into secure memory (*out, NUL-terminated, trailing newline dropped;
 * secmem_free it). Returns ERR_OK, ERR_IO, ERR_BAD_INPUT or ERR_NOMEM.
 */
static enum err up_token_read(const struct up *u, char **out)
{
    char path[UP_PATH_MAX], *t = NULL;
    size_t len = 0;
    enum err e = ERR_IO;
    int fd = -1;

    *out = NULL;
    if (up_path(u, path, "token") != 0)
        goto out;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        goto out;
    e = cli_read_all_secure(fd, UP_TOKEN_MAX - 1, &t, &len);
    if (e != ERR_OK) {
        e = e == ERR_TOO_LARGE ? ERR_BAD_INPUT : e;
        goto out;
    }
    while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r'))
        len--;
    t[len] = '\0';
    if (len == 0 || len >= UP_TOKEN_MAX) {
        e = ERR_BAD_INPUT;
        goto out;
    }
    *out = t;
    t = NULL;
    e = ERR_OK;
out:
    if (fd >= 0)
        close(fd);
    secmem_free(t);
    return e;
}

/*
 * Sends GET /v1/vaults with the token to the api (which unlocks it and starts sync).
 * Returns the HTTP status, or 0 when no answer arrived.
 */
static int up_unlock(const struct up *u)
{
    struct http_client_request req = {.hq_method = HTTP_CLIENT_GET, .hq_path = "/v1/vaults"};
    struct http_client_response resp;
    struct http_client_config cfg;
    struct http_client *c = NULL;
    char url[64], ca[UP_PATH_MAX], *token = NULL;
    int status = 0;

    memset(&resp, 0, sizeof(resp));
    memset(&cfg, 0, sizeof(cfg));
    (void)snprintf(url, sizeof(url), "%s://127.0.0.1:%d", u->u_tls ? "https" : "http",
                   u->u_child[UP_API].uc_port);
    cfg.hcc_base_url = url;
    if (u->u_tls) {
        if (up_path(u, ca, "tls/ca.pem") != 0)
            return 0;
        cfg.hcc_ca_file = ca;
    }
    cfg.hcc_connect_timeout_ms = 2000;
    cfg.hcc_timeout_ms = 5000;
    cfg.hcc_proxy = "";
    if (up_token_read(u, &token) != ERR_OK) {
        log_warn("up: cannot read the token file");
        goto out;
    }
    if (http_client_new(&c, &cfg, NULL, 0) != ERR_OK || http_client_set_bearer(c, token) != ERR_OK)
        goto out;
    if (http_client_request(c, &req, &resp) == ERR_OK)
        status = resp.hr_status;
    http_client_response_free(&resp);
out:
    http_client_free(c);
    secmem_free(token);
    return status;
}

/* Prints how to use the running server on stdout. */
static void up_announce(const struct up *u)
{
    if (u->u_tls) {
        printf(
            "Sesame is running over TLS (hub, sync and api; data in %s; local CA %s/tls/ca.pem)."
            " In another shell:\n"
            "  export OP_CONNECT_HOST=https://127.0.0.1:%d\n"
            "  export OP_CONNECT_TOKEN=$(cat %s/token)\n"
            "  export NODE_EXTRA_CA_CERTS=%s/tls/ca.pem   # for Node.js clients\n"
            "  curl --cacert %s/tls/ca.pem -H \"Authorization: Bearer $OP_CONNECT_TOKEN\" "
            "$OP_CONNECT_HOST/v1/vaults\n"
            "Admin commands (sesame vault \xe2\x80\xa6, sesame item \xe2\x80\xa6, sesame connect "
            "\xe2\x80\xa6):\n"
            "  export SESAME_HUB=%s SESAME_ACCOUNT_KIT=%s/account-kit.json "
            "SESAME_HUB_CA_FILE=%s/tls/ca.pem\n"
            "Ctrl-C stops all three.\n",
            u->u_dir, u->u_dir, u->u_api_port, u->u_dir, u->u_dir, u->u_dir, u->u_hub_url, u->u_dir,
            u->u_dir);
        fflush(stdout);
        return;
    }
    printf("Sesame is running (hub, sync and api; data in %s). In another shell:\n"
           "  export OP_CONNECT_HOST=http://127.0.0.1:%d\n"
           "  export OP_CONNECT_TOKEN=$(cat %s/token)\n"
           "  curl -H \"Authorization: Bearer $OP_CONNECT_TOKEN\" $OP_CONNECT_HOST/v1/vaults\n"
           "Admin commands (sesame vault \xe2\x80\xa6, sesame item \xe2\x80\xa6, sesame connect "
           "\xe2\x80\xa6):\n"
           "  export SESAME_HUB=%s SESAME_ACCOUNT_KIT=%s/account-kit.json\n"
           "Ctrl-C stops all three.\n",
           u->u_dir, u->u_api_port, u->u_dir, u->u_hub_url, u->u_dir);
    fflush(stdout);
}

/* Runs due restarts and the readiness steps: hub -> (first run) -> sync -> api -> unlock. */
static void up_tick(struct up *u, int *phase)
{
    long long now = up_now_ms();
    int i;

    for (i = 0; i < UP_NROLES; i++) {
        struct up_child *c = &u->u_child[i];

        if (c->uc_pid == 0 && c->uc_restart_ms && now >= c->uc_restart_ms)
            up_child_launch(u, (enum up_role)i);
        (void)up_child_poll_ready(u, (enum up_role)i);
    }
    if (u->u_child[UP_API].uc_ready && u->u_child[UP_API].uc_port != u->u_api_port) {
        /* Port 0 asked: keep the port the api got across its restarts. */
        u->u_api_port = u->u_child[UP_API].uc_port;
    }
    if (*phase == 1 && u->u_child[UP_SYNC].uc_ready) {
        up_child_launch(u, UP_API);
        *phase = 2;
    }
    if (*phase == 2 && u->u_child[UP_API].uc_ready && !u->u_unlocked && now >= u->u_unlock_ms) {
        int st = up_unlock(u);

        if (!u->u_api_ready_ms)
            u->u_api_ready_ms = now;
        if (st == 200) {
            u->u_unlocked = 1;
            log_info("up: the api answered GET /v1/vaults with the token (unlocked)");
        } else {
            u->u_unlock_ms = up_now_ms() + UP_UNLOCK_RETRY_MS;
        }
        if (!u->u_announced && st != 200 && now - u->u_api_ready_ms >= UP_ANNOUNCE_WAIT_MS)
            fprintf(stderr,
                    "sesame: up: the api does not answer GET /v1/vaults with 200 yet (got %d); "
                    "see %s/logs\n",
                    st, u->u_dir);
        if (!u->u_announced && (st == 200 || now - u->u_api_ready_ms >= UP_ANNOUNCE_WAIT_MS)) {
            up_announce(u);
            u->u_announced = 1;
        }
    }
}

/* Waits (supervising) for the hub's first port file; returns 1, or 0 on a stop signal. */
static int up_wait_hub(struct up *u)
{
    int phase = 0;

    while (!u->u_stop) {
        up_reap_all(u);
        up_tick(u, &phase);
        if (u->u_child[UP_HUB].uc_ready)
            return 1;
        up_sleep(u, UP_TICK_MS);
    }
    return 0;
}

/*
 * Decides whether this directory runs over TLS (DIR/tls/ca.pem exists, or --tls on a
 * first run), makes the CA and the certificates that are missing, and reads the hub
 * certificate's fingerprint. Returns 0, or -1 after one line on stderr.
 */
static int up_tls_prepare(struct up *u, int first, int want)
{
    static const char *const names[][2] = {{"tls/hub.pem", "tls/hub.key"},
                                           {"tls/api.pem", "tls/api.key"}};
    char ca[UP_PATH_MAX], cakey[UP_PATH_MAX], crt[UP_PATH_MAX], key[UP_PATH_MAX];
    char cn[96];
    unsigned char fp[TLS_FINGERPRINT_LEN];
    size_t i;
    enum err e;

    if (up_path(u, ca, "tls/ca.pem") != 0 || up_path(u, cakey, "tls/ca.key") != 0 ||
        up_path(u, crt, "tls") != 0) {
        fprintf(stderr, "sesame: up: the data directory path is too long\n");
        return -1;
    }
    u->u_tls = access(ca, F_OK) == 0;
    if (!u->u_tls && want && !first) {
        fprintf(stderr,
                "sesame: up: %s was set up without TLS; --tls works on a new data directory "
                "(give another --data)\n",
                u->u_dir);
        return -1;
    }
    if (!u->u_tls && !want)
        return 0;
    u->u_tls = 1;
    if (mkdir(crt, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "sesame: up: cannot create %s (%s)\n", crt, strerrorname_np(errno));
        return -1;
    }
    (void)snprintf(cn, sizeof(cn), "Sesame local CA %08x", crypto_random_uniform(UINT32_MAX));
    e = access(ca, F_OK) == 0 ? ERR_OK : tls_ca_create(ca, cakey, cn, UP_CA_DAYS);
    for (i = 0; e == ERR_OK && i < sizeof(names) / sizeof(names[0]); i++) {
        if (up_path(u, crt, names[i][0]) != 0 || up_path(u, key, names[i][1]) != 0)
            e = ERR_BAD_INPUT;
        else if (access(crt, F_OK) != 0)
            e = tls_cert_issue(ca, cakey, crt, key, "localhost", UP_CERT_SANS, UP_CERT_DAYS);
    }
    if (e != ERR_OK) {
        fprintf(stderr, "sesame: up: cannot make the TLS certificates in %s/tls (%s)\n", u->u_dir,
                err_name(e));
        return -1;
    }
    if (up_path(u, crt, "tls/hub.pem") != 0 || tls_cert_fingerprint_file(crt, fp) != ERR_OK ||
        codec_hex_encode(u->u_hub_fp, sizeof(u->u_hub_fp), fp, sizeof(fp)) != ERR_OK) {
        fprintf(stderr, "sesame: up: cannot read %s\n", crt);
        return -1;
    }
    if (first)
        log_info("up: TLS: local CA %s, certificates for localhost and 127.0.0.1", ca);
    return 0;
}

/* Parses argv into *dir and *port. Returns CLI_EXIT_OK, or a usage exit after the message. */
static int up_args(int argc, char **argv, const char **dir, int *port, int *help, int *tls)
{
    int i;

    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *v = NULL;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            *help = 1;
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "--tls") == 0) {
            *tls = 1;
            continue;
        }
        if (strcmp(a, "--data") == 0 || strcmp(a, "--port") == 0) {
            if (i + 1 >= argc)
                return up_usage("an option needs a value");
            v = argv[++i];
        } else if (strncmp(a, "--data=", 7) == 0 || strncmp(a, "--port=", 7) == 0) {
            v = a + 7;
        } else {
            return up_usage("unknown argument");
        }
        if (a[2] == 'd') {
            if (!*v)
                return up_usage("--data needs a directory");
            *dir = v;
        } else if (!up_port_parse(v, port) || strchr(v, '\n')) {
            return up_usage("--port must be a number from 0 to 65535");
        }
    }
    return CLI_EXIT_OK;
}

/* `sesame up`: see the top of this file. */
int cli_cmd_up(int argc, char **argv)
{
    const char *dir = UP_DEFAULT_DIR;
    char path[UP_PATH_MAX];
    struct sigaction sa;
    struct up *u = NULL;
    int rc, help = 0, lock_fd = -1, first, phase, i, port = UP_DEFAULT_PORT, want_tls = 0;
    sigset_t old;
    ssize_t n;

    rc = up_args(argc, argv, &dir, &port, &help, &want_tls);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (help) {
        printf("usage: sesame up [--data DIR] [--port PORT] [--tls]\n"
               "Runs a hub, a Connect sync and a Connect api on DIR (default ./%s) and the\n"
               "api on 127.0.0.1:PORT (default %d); the first run creates a Demo vault and a\n"
               "token. --tls (first run) makes a local CA and serves everything over HTTPS.\n"
               "Ctrl-C stops all three.\n",
               UP_DEFAULT_DIR, UP_DEFAULT_PORT);
        return CLI_EXIT_OK;
    }
    u = mem_calloc(1, sizeof(*u));
    if (!u) {
        fprintf(stderr, "sesame: up: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    rc = CLI_EXIT_FAIL;
    u->u_api_port = port;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "sesame: up: cannot create %s (%s)\n", dir, strerrorname_np(errno));
        goto out;
    }
    if (!realpath(dir, path) || strlen(path) >= sizeof(u->u_dir) - 64) {
        fprintf(stderr, "sesame: up: cannot resolve %s (%s)\n", dir, strerrorname_np(errno));
        goto out;
    }
    memcpy(u->u_dir, path, strlen(path) + 1);
    if (up_path(u, path, "up.lock") != 0) {
        fprintf(stderr, "sesame: up: the data directory path is too long\n");
        goto out;
    }
    lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lock_fd < 0) {
        fprintf(stderr, "sesame: up: cannot open %s (%s)\n", path, strerrorname_np(errno));
        goto out;
    }
    if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            fprintf(stderr, "sesame: up: another sesame up is running on %s\n", u->u_dir);
        else
            fprintf(stderr, "sesame: up: cannot lock %s (%s)\n", path, strerrorname_np(errno));
        goto out;
    }
    (void)chmod(u->u_dir, 0700);
    if (up_path(u, path, "logs") != 0 || (mkdir(path, 0700) != 0 && errno != EEXIST)) {
        fprintf(stderr, "sesame: up: cannot create %s/logs\n", u->u_dir);
        goto out;
    }
    n = readlink("/proc/self/exe", u->u_exe, sizeof(u->u_exe) - 1);
    if (n <= 0 || (size_t)n >= sizeof(u->u_exe) - 1) {
        fprintf(stderr, "sesame: up: cannot find this executable (/proc/self/exe)\n");
        goto out;
    }
    u->u_exe[n] = '\0';
    u->u_child[UP_HUB].uc_name = "hub";
    u->u_child[UP_SYNC].uc_name = "sync";
    u->u_child[UP_API].uc_name = "api";
    for (i = 0; i < UP_NROLES; i++)
        u->u_child[i].uc_backoff_ms = UP_BACKOFF_MIN_MS;
    if (up_path(u, path, "hub.addr") == 0 && up_port_file_read(path, 1, &u->u_hub_port))
        log_info("up: the hub keeps port %d (%s)", u->u_hub_port, path);
    else if (up_hub_port_from_credentials(u, &u->u_hub_port))
        log_warn("up: %s is missing: the hub takes port %d again, from the credentials file", path,
                 u->u_hub_port);
    first = up_path(u, path, "token") != 0 || access(path, F_OK) != 0;
    if (up_tls_prepare(u, first, want_tls) != 0)
        goto out;

    sigemptyset(&u->u_sigs);
    sigaddset(&u->u_sigs, SIGINT);
    sigaddset(&u->u_sigs, SIGTERM);
    sigaddset(&u->u_sigs, SIGHUP);
    sigaddset(&u->u_sigs, SIGCHLD);
    sigprocmask(SIG_BLOCK, &u->u_sigs, &old);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &sa, NULL);

    up_child_launch(u, UP_HUB);
    if (!up_wait_hub(u)) {
        rc = CLI_EXIT_OK;
        goto stop;
    }
    if (!u->u_hub_port || up_path(u, path, "hub.addr") != 0 || access(path, F_OK) != 0) {
        u->u_hub_port = u->u_child[UP_HUB].uc_port;
        if (up_hub_addr_write(u, u->u_hub_port) != 0) {
            fprintf(stderr, "sesame: up: cannot write %s/hub.addr\n", u->u_dir);
            goto stop;
        }
    }
    (void)snprintf(u->u_hub_url, sizeof(u->u_hub_url), "%s://127.0.0.1:%d",
                   u->u_tls ? "https" : "http", u->u_hub_port);
    if (first && up_setup(u) != 0) {
        rc = u->u_stop ? CLI_EXIT_OK : CLI_EXIT_FAIL;
        goto stop;
    }
    up_child_launch(u, UP_SYNC);
    phase = 1;
    while (!u->u_stop) {
        up_reap_all(u);
        up_tick(u, &phase);
        up_sleep(u, UP_TICK_MS);
    }
    rc = CLI_EXIT_OK;
stop:
    log_info("up: stopping (api, sync, hub)");
    for (i = UP_NROLES - 1; i >= 0; i--) {
        up_kill(u->u_child[i].uc_pid);
        u->u_child[i].uc_pid = 0;
    }
    /* Signals that came during the shutdown are dropped, not delivered on unblocking. */
    up_sleep(u, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    log_info("up: stopped");
out:
    if (lock_fd >= 0)
        close(lock_fd);
    mem_free(u);
    return rc;
}
