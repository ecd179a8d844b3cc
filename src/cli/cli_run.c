/*
 * cli_run.c - `sesame run [--env-file FILE]... [--no-masking] -- CMD [ARGS...]`: runs CMD
 * with every environment variable whose whole value is a secret reference (op://...)
 * replaced by the secret, the env files' variables added first (later files win over
 * earlier ones and over the environment). The references are resolved against
 * OP_CONNECT_HOST / OP_CONNECT_TOKEN (resolve.h), each once.
 *
 * Masking (the default): CMD's stdout and stderr go through pipes, and every occurrence of
 * a resolved value is replaced by "<concealed by sesame>" (mask.h; split writes included).
 * CMD keeps our stdin and process group; signals sent to `sesame run` itself (kill) are
 * passed to CMD, those the terminal sends reach both already. With --no-masking, CMD
 * replaces this process (exec), so nothing stands between it and the terminal.
 *
 * Exit: CMD's exit status; when CMD dies of a signal, `sesame run` dies of the same signal
 * (or exits 128 + the signal's number when it cannot). 127: CMD not found; 126: not
 * executable.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/envfile.h"
#include "cli/mask.h"
#include "cli/resolve.h"
#include "common/alloc.h"
#include "crypto/crypto.h"
#include "http/client.h"

extern char **environ;

#define RUN_MAX_ENV_FILES 32
#define RUN_MAX_VARS      8192
#define RUN_READ_BYTES    65536

/* One variable of the child's environment. */
struct run_var {
    char *rv_entry; /* "NAME=VALUE" (secure memory when rv_secret) */
    size_t rv_namelen;
    int rv_secret;
};

/* The environment being built. */
struct run_env {
    struct run_var rn_v[RUN_MAX_VARS];
    size_t rn_n;
};

/* Sets NAME=VALUE (replacing an earlier NAME). Returns ERR_OK, ERR_TOO_LARGE or ERR_NOMEM. */
static enum err run_env_set(struct run_env *env, const char *name, size_t namelen,
                            const char *value, size_t vlen, int secret)
{
    struct run_var *v = NULL;
    size_t i;
    char *entry;

    for (i = 0; i < env->rn_n; i++) {
        if (env->rn_v[i].rv_namelen == namelen &&
            memcmp(env->rn_v[i].rv_entry, name, namelen) == 0) {
            v = &env->rn_v[i];
            break;
        }
    }
    if (!v && env->rn_n >= RUN_MAX_VARS)
        return ERR_TOO_LARGE;
    entry = secret ? secmem_alloc(namelen + vlen + 2) : mem_alloc(namelen + vlen + 2);
    if (!entry)
        return ERR_NOMEM;
    memcpy(entry, name, namelen);
    entry[namelen] = '=';
    memcpy(entry + namelen + 1, value, vlen);
    entry[namelen + 1 + vlen] = '\0';
    if (v) {
        if (v->rv_secret)
            secmem_free(v->rv_entry);
        else
            mem_free(v->rv_entry);
    } else {
        v = &env->rn_v[env->rn_n++];
    }
    v->rv_entry = entry;
    v->rv_namelen = namelen;
    v->rv_secret = secret;
    return ERR_OK;
}

/* Frees the entries of env. */
static void run_env_free(struct run_env *env)
{
    size_t i;

    for (i = 0; i < env->rn_n; i++) {
        if (env->rn_v[i].rv_secret)
            secmem_free(env->rn_v[i].rv_entry);
        else
            mem_free(env->rn_v[i].rv_entry);
    }
    env->rn_n = 0;
}

/* Reads an env file and sets its variables. Returns CLI_EXIT_OK or a failure (printed). */
static int run_env_file(struct run_env *env, const char *path)
{
    struct envfile_var *vars = NULL;
    char msg[256], *text = NULL;
    size_t n = 0, len = 0, i;
    int fd, rc = CLI_EXIT_FAIL;
    enum err e;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "sesame: run: cannot open %s (%s)\n", path, strerrorname_np(errno));
        return CLI_EXIT_FAIL;
    }
    e = cli_read_all_secure(fd, ENVFILE_MAX_BYTES, &text, &len);
    close(fd);
    if (e == ERR_TOO_LARGE) {
        fprintf(stderr, "sesame: run: %s is over %u KiB\n", path, ENVFILE_MAX_BYTES >> 10);
        goto out;
    }
    if (e != ERR_OK) {
        fprintf(stderr, "sesame: run: cannot read %s (%s)\n", path,
                e == ERR_IO ? strerrorname_np(errno) : "out of memory");
        goto out;
    }
    e = envfile_parse(text, len, &vars, &n, msg, sizeof(msg));
    if (e != ERR_OK) {
        fprintf(stderr, "sesame: run: %s: %s\n", path, msg);
        goto out;
    }
    for (i = 0; i < n; i++) {
        e = run_env_set(env, vars[i].ev_key, strlen(vars[i].ev_key), vars[i].ev_value,
                        vars[i].ev_value_len, 0);
        if (e != ERR_OK) {
            fprintf(stderr, "sesame: run: %s: too many variables (%s)\n", path, err_name(e));
            goto out;
        }
    }
    rc = CLI_EXIT_OK;
out:
    envfile_free(vars, n);
    secmem_free(text);
    return rc;
}

/*
 * Resolves every variable whose value is a reference; collects the values (borrowed from
 * the resolver) for the mask. Returns CLI_EXIT_OK or a failure (printed).
 */
static int run_resolve(struct run_env *env, struct resolver **r, const char ***vals, size_t **lens,
                       size_t *nvals)
{
    char msg[RESOLVE_ERRMSG_BYTES];
    size_t i, n = env->rn_n;

    *vals = mem_calloc(n ? n : 1, sizeof(**vals));
    *lens = mem_calloc(n ? n : 1, sizeof(**lens));
    *nvals = 0;
    if (!*vals || !*lens) {
        fprintf(stderr, "sesame: run: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    for (i = 0; i < n; i++) {
        struct run_var *v = &env->rn_v[i];
        const char *value = v->rv_entry + v->rv_namelen + 1, *secret = NULL;
        size_t slen = 0;
        enum err e;

        if (strncmp(value, "op://", 5) != 0)
            continue;
        if (!*r) {
            if (resolver_new(r, msg, sizeof(msg)) != ERR_OK) {
                fprintf(stderr, "sesame: run: %s\n", msg);
                return CLI_EXIT_FAIL;
            }
        }
        e = resolver_get_text(*r, value, strlen(value), &secret, &slen, msg, sizeof(msg));
        if (e != ERR_OK) {
            fprintf(stderr, "sesame: run: %.*s: %s\n", (int)v->rv_namelen, v->rv_entry, msg);
            return CLI_EXIT_FAIL;
        }
        if (memchr(secret, '\0', slen)) {
            fprintf(stderr,
                    "sesame: run: %.*s: the secret holds a NUL byte, which no "
                    "environment variable can carry\n",
                    (int)v->rv_namelen, v->rv_entry);
            return CLI_EXIT_FAIL;
        }
        /* the name is copied from the old entry before run_env_set frees it */
        if (run_env_set(env, v->rv_entry, v->rv_namelen, secret, slen, 1) != ERR_OK) {
            fprintf(stderr, "sesame: run: out of memory\n");
            return CLI_EXIT_FAIL;
        }
        (*vals)[*nvals] = secret;
        (*lens)[*nvals] = slen;
        (*nvals)++;
    }
    return CLI_EXIT_OK;
}

/* The exit code for an exec failure with errno err (the shell's convention). */
static int run_exec_code(int err)
{
    return err == ENOENT || err == ENOTDIR ? 127 : 126;
}

/* emit() of mask_feed: writes to the fd in arg; a closed reader drops the output, as a pipe. */
static int run_emit(void *arg, const char *p, size_t n)
{
    if (cli_write_all(*(int *)arg, p, n) == 0 || errno == EPIPE)
        return 0;
    return -1;
}

/* Dies of sig as the child did (or exits 128 + sig). */
static int run_die_of(int sig)
{
    struct sigaction sa;
    sigset_t set;

    fflush(stdout);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    (void)sigaction(sig, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    (void)sigprocmask(SIG_UNBLOCK, &set, NULL);
    (void)raise(sig);
    return 128 + sig;
}

/*
 * Runs argv with envp, its stdout and stderr masked; passes signals on. Returns the exit
 * code for `sesame run`.
 */
static int run_masked(char **argv, char **envp, const struct mask *m)
{
    static const int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    int out[2] = {-1, -1}, err[2] = {-1, -1}, fds[2], sfd = -1, status = 0, code = 1;
    int exec_err[2] = {-1, -1}, child_errno = 0, reaped = 0, open_fds = 2;
    struct mask_stream ms[2];
    sigset_t set, old;
    char *buf = NULL;
    size_t i;
    pid_t pid;

    memset(ms, 0, sizeof(ms));
    sigemptyset(&set);
    for (i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
        sigaddset(&set, fwd[i]);
    sigaddset(&set, SIGCHLD);
    buf = mem_alloc(RUN_READ_BYTES);
    if (!buf || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
        pipe2(exec_err, O_CLOEXEC) != 0) {
        fprintf(stderr, "sesame: run: cannot make pipes (%s)\n", strerrorname_np(errno));
        goto out;
    }
    (void)sigprocmask(SIG_BLOCK, &set, &old);
    sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0) {
        fprintf(stderr, "sesame: run: signalfd failed (%s)\n", strerrorname_np(errno));
        (void)sigprocmask(SIG_SETMASK, &old, NULL);
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "sesame: run: cannot fork (%s)\n", strerrorname_np(errno));
        (void)sigprocmask(SIG_SETMASK, &old, NULL);
        goto out;
    }
    if (pid == 0) {
        int e;

        (void)sigprocmask(SIG_SETMASK, &old, NULL);
        if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(err[1], STDERR_FILENO) < 0)
            _exit(126);
        execvpe(argv[0], argv, envp);
        e = errno;
        if (write(exec_err[1], &e, sizeof(e)) < 0)
            _exit(126);
        _exit(run_exec_code(e));
    }
    close(out[1]);
    close(err[1]);
    close(exec_err[1]);
    out[1] = err[1] = exec_err[1] = -1;
    if (read(exec_err[0], &child_errno, sizeof(child_errno)) == (ssize_t)sizeof(child_errno)) {
        fprintf(stderr, "sesame: run: cannot run %s (%s)\n", argv[0], strerrorname_np(child_errno));
    } else {
        child_errno = 0;
    }
    fds[0] = out[0];
    fds[1] = err[0];
    while (open_fds > 0 || !reaped) {
        struct pollfd p[3];
        int np = 0, k;

        for (k = 0; k < 2; k++) {
            if (fds[k] >= 0) {
                p[np].fd = fds[k];
                p[np].events = POLLIN;
                p[np].revents = 0;
                np++;
            }
        }
        p[np].fd = sfd;
        p[np].events = POLLIN;
        p[np].revents = 0;
        np++;
        if (poll(p, (nfds_t)np, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (k = 0; k < np; k++) {
            if (!p[k].revents)
                continue;
            if (p[k].fd == sfd) {
                struct signalfd_siginfo si;

                if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
                    continue;
                if (si.ssi_signo == SIGCHLD) {
                    if (!reaped && waitpid(pid, &status, WNOHANG) == pid)
                        reaped = 1;
                } else if (si.ssi_code != SI_KERNEL && !reaped) {
                    /* sent to us by kill(): pass it on (the terminal's reach both) */
                    (void)kill(pid, (int)si.ssi_signo);
                }
                continue;
            }
            {
                int which = p[k].fd == fds[0] ? 0 : 1, ofd = which ? STDERR_FILENO : STDOUT_FILENO;
                ssize_t n = read(p[k].fd, buf, RUN_READ_BYTES);

                if (n < 0 && errno == EINTR)
                    continue;
                if (mask_feed(m, &ms[which], buf, n > 0 ? (size_t)n : 0, n <= 0, run_emit, &ofd) !=
                    ERR_OK) {
                    /* our output is gone: keep draining so the child is not blocked */
                }
                if (n <= 0) {
                    close(fds[which]);
                    fds[which] = -1;
                    if (which == 0)
                        out[0] = -1;
                    else
                        err[0] = -1;
                    open_fds--;
                }
            }
        }
        if (!reaped && open_fds == 0 && waitpid(pid, &status, 0) == pid)
            reaped = 1;
    }
    (void)sigprocmask(SIG_SETMASK, &old, NULL);
    if (child_errno)
        code = run_exec_code(child_errno);
    else if (WIFEXITED(status))
        code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        code = run_die_of(WTERMSIG(status));
out:
    for (i = 0; i < 2; i++)
        mask_stream_free(&ms[i]);
    if (sfd >= 0)
        close(sfd);
    for (i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (err[i] >= 0)
            close(err[i]);
        if (exec_err[i] >= 0)
            close(exec_err[i]);
    }
    mem_free(buf);
    return code;
}

/* `sesame run`: see the top of this file. */
int cli_cmd_run(int argc, char **argv)
{
    const char *files[RUN_MAX_ENV_FILES];
    size_t nfiles = 0, i, nvals = 0, *lens = NULL;
    const char **vals = NULL;
    struct run_env *env = NULL;
    struct resolver *r = NULL;
    struct mask *m = NULL;
    char **envp = NULL;
    int a, masking = 1, rc = CLI_EXIT_FAIL, cmd = -1, net = 0;

    for (a = 2; a < argc; a++) {
        const char *s = argv[a];

        if (strcmp(s, "--") == 0) {
            cmd = a + 1;
            break;
        }
        if (strcmp(s, "--env-file") == 0 || strncmp(s, "--env-file=", 11) == 0) {
            const char *f = s[10] == '=' ? s + 11 : (a + 1 < argc ? argv[++a] : NULL);

            if (!f || !*f)
                return cli_usage("run: --env-file needs a file name");
            if (nfiles >= RUN_MAX_ENV_FILES)
                return cli_usage("run: at most %d --env-file", RUN_MAX_ENV_FILES);
            files[nfiles++] = f;
        } else if (strcmp(s, "--no-masking") == 0) {
            masking = 0;
        } else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            printf("usage: sesame run [--env-file FILE]... [--no-masking] -- COMMAND [ARGS...]\n");
            return CLI_EXIT_OK;
        } else if (s[0] == '-') {
            return cli_usage("run: unknown option %s", s);
        } else {
            cmd = a;
            break;
        }
    }
    if (cmd < 0 || cmd >= argc || !argv[cmd][0])
        return cli_usage("run: give the command to run after --");
    env = mem_calloc(1, sizeof(*env));
    if (!env) {
        fprintf(stderr, "sesame: run: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    for (i = 0; environ[i]; i++) {
        const char *eq = strchr(environ[i], '=');

        if (!eq || eq == environ[i])
            continue;
        if (run_env_set(env, environ[i], (size_t)(eq - environ[i]), eq + 1, strlen(eq + 1), 0) !=
            ERR_OK) {
            fprintf(stderr, "sesame: run: the environment is too large\n");
            goto out;
        }
    }
    for (i = 0; i < nfiles; i++) {
        if (run_env_file(env, files[i]) != CLI_EXIT_OK)
            goto out;
    }
    if (crypto_init() != ERR_OK || http_client_global_init() != ERR_OK) {
        fprintf(stderr, "sesame: run: cannot initialise the crypto and HTTP libraries\n");
        goto out;
    }
    net = 1;
    if (run_resolve(env, &r, &vals, &lens, &nvals) != CLI_EXIT_OK)
        goto out;
    envp = mem_calloc(env->rn_n + 1, sizeof(*envp));
    if (!envp || mask_new(&m, vals, lens, nvals) != ERR_OK) {
        fprintf(stderr, "sesame: run: out of memory\n");
        goto out;
    }
    for (i = 0; i < env->rn_n; i++)
        envp[i] = env->rn_v[i].rv_entry;
    fflush(stdout);
    if (!masking) {
        execvpe(argv[cmd], argv + cmd, envp);
        fprintf(stderr, "sesame: run: cannot run %s (%s)\n", argv[cmd], strerrorname_np(errno));
        rc = run_exec_code(errno);
        goto out;
    }
    rc = run_masked(argv + cmd, envp, m);
out:
    mask_free(m);
    mem_free(envp);
    mem_free(vals);
    mem_free(lens);
    resolver_free(r);
    if (env) {
        run_env_free(env);
        mem_free(env);
    }
    if (net)
        http_client_global_cleanup();
    return rc;
}
