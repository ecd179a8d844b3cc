/*
 * nullhttpd.c - a benchmark tool for `make bench` (scripts/bench/run.sh): a libmicrohttpd
 * server that does nothing but answer every request with 200 and the exact bytes of one
 * file, read once at start. It is started with the flags and options src/http/server.c
 * gives the api's listener (epoll internal thread, a thread pool of the api's size,
 * suspend/resume allowed, the same connection limits and timeout, strict parsing), so the
 * req/s of the api divided by this one's isolates Sesame's own work per request from
 * libmicrohttpd's.
 *
 *   nullhttpd --file PATH [--port-file PATH] [--threads N] [--content-type TYPE]
 *
 * Listens on 127.0.0.1 on a port the kernel picks, written (with a newline) to
 * --port-file (mode 0600) once it accepts connections. --threads: the thread pool
 * (default 8, API_HTTP_THREADS); --content-type: the Content-Type of every answer
 * (default application/json). A request body, if any, is read and dropped. Runs until
 * SIGTERM or SIGINT.
 *
 * Exit status: 0 after a signal, 1 on a failure (one line on stderr), 2 for bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/limits.h"

#define NULLHTTPD_THREADS  8           /* the api's pool (API_HTTP_THREADS in api_int.h) */
#define NULLHTTPD_MAX_FILE (64u << 20) /* the served file */
#define NULLHTTPD_MAX_POOL 256u        /* largest --threads, as HTTP_MAX_THREADS */
#define NULLHTTPD_BACKLOG  1024

struct nullhttpd {
    const char *nh_body; /* the file's bytes */
    size_t nh_len;       /* their length */
    const char *nh_type; /* Content-Type */
};

static int nullhttpd_usage(void)
{
    fprintf(stderr, "usage: nullhttpd --file PATH [--port-file PATH] [--threads N] "
                    "[--content-type TYPE]\n");
    return 2;
}

/* Reads all of path into out (capped at NULLHTTPD_MAX_FILE). Returns 1 or 0. */
static int nullhttpd_read_file(const char *path, struct buf *out)
{
    char chunk[65536];
    ssize_t n;
    int fd, ok = 0;

    buf_init(out, NULLHTTPD_MAX_FILE);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto out;
        if (n == 0)
            break;
        if (buf_add(out, chunk, (size_t)n) != ERR_OK)
            goto out;
    }
    ok = 1;
out:
    (void)close(fd);
    return ok;
}

/* Parses a thread count of 1..NULLHTTPD_MAX_POOL. Returns 1 or 0. */
static int nullhttpd_parse_threads(const char *s, unsigned *out)
{
    unsigned long long v;
    char *end = NULL;

    if (!s[0] || s[0] == '-' || s[0] == '+')
        return 0;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || !end || *end != '\0' || v == 0 || v > NULLHTTPD_MAX_POOL)
        return 0;
    *out = (unsigned)v;
    return 1;
}

/* MHD's access handler: the same answer to every request, once it has arrived whole. */
static enum MHD_Result nullhttpd_on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                           const char *method, const char *version,
                                           const char *upload_data, size_t *upload_data_size,
                                           void **con_cls)
{
    static int seen;
    const struct nullhttpd *nh = cls;
    struct MHD_Response *mr;
    enum MHD_Result ret;

    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    if (!*con_cls) {
        *con_cls = &seen; /* headers only so far: answer when the body is in */
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* dropped */
        return MHD_YES;
    }
    /* As src/http/server.c's http_queue: a response per request over a persistent buffer. */
    mr = MHD_create_response_from_buffer(nh->nh_len, (void *)(uintptr_t)nh->nh_body,
                                         MHD_RESPMEM_PERSISTENT);
    if (!mr)
        return MHD_NO;
    ret = MHD_NO;
    if (MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, nh->nh_type) == MHD_YES)
        ret = MHD_queue_response(conn, MHD_HTTP_OK, mr);
    MHD_destroy_response(mr);
    return ret;
}

/* Binds and listens on 127.0.0.1 on a kernel-chosen port. Returns the socket (port in
 * *port) or -1. */
static int nullhttpd_listen(int *port)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd, one = 1;

    *port = 0;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, NULLHTTPD_BACKLOG) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        (void)close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Writes "PORT\n" to path (mode 0600), whole or not at all. Returns 1 or 0. */
static int nullhttpd_write_port(const char *path, int port)
{
    char line[16], tmp[4096];
    int fd, n, ok;

    n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n <= 0 || (size_t)n >= sizeof(tmp))
        return 0;
    n = snprintf(line, sizeof(line), "%d\n", port);
    if (n <= 0 || (size_t)n >= sizeof(line))
        return 0;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return 0;
    ok = write(fd, line, (size_t)n) == n;
    if (close(fd) != 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok)
        (void)unlink(tmp);
    return ok;
}

int main(int argc, char **argv)
{
    const char *file = NULL, *port_file = NULL;
    unsigned threads = NULLHTTPD_THREADS;
    struct MHD_Daemon *d = NULL;
    struct nullhttpd nh;
    struct buf body;
    sigset_t set;
    int i, fd = -1, port = 0, sig = 0, rc = 1;

    memset(&nh, 0, sizeof(nh));
    nh.nh_type = "application/json";
    buf_init(&body, NULLHTTPD_MAX_FILE);
    for (i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return nullhttpd_usage();
        if (strcmp(argv[i], "--file") == 0)
            file = argv[++i];
        else if (strcmp(argv[i], "--port-file") == 0)
            port_file = argv[++i];
        else if (strcmp(argv[i], "--content-type") == 0)
            nh.nh_type = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0) {
            if (!nullhttpd_parse_threads(argv[++i], &threads))
                return nullhttpd_usage();
        } else
            return nullhttpd_usage();
    }
    if (!file)
        return nullhttpd_usage();
    if (!nullhttpd_read_file(file, &body)) {
        fprintf(stderr, "nullhttpd: cannot read %s (or it is over %u bytes)\n", file,
                NULLHTTPD_MAX_FILE);
        goto out;
    }
    nh.nh_body = body.b_len ? body.b_data : "";
    nh.nh_len = body.b_len;

    /* SIGTERM / SIGINT are taken by sigwait below; MHD's threads inherit the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
        fprintf(stderr, "nullhttpd: cannot block signals\n");
        goto out;
    }
    fd = nullhttpd_listen(&port);
    if (fd < 0) {
        fprintf(stderr, "nullhttpd: cannot listen on 127.0.0.1 (errno %d)\n", errno);
        goto out;
    }
    /* The options of http_server_start (src/http/server.c) for a plain-HTTP listener. */
    d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        nullhttpd_on_access, &nh, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
        threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)(HTTP_MAX_CONNECTIONS + HTTP_REFUSE_MARGIN),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_MAX_PER_IP,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_SECONDS,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)2 * HTTP_MAX_HEADER_BYTES,
        MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "nullhttpd: libmicrohttpd would not start\n");
        goto out;
    }
    fd = -1; /* MHD owns it now */
    if (port_file && !nullhttpd_write_port(port_file, port)) {
        fprintf(stderr, "nullhttpd: cannot write %s\n", port_file);
        goto out;
    }
    while (sigwait(&set, &sig) != 0)
        ;
    rc = 0;
out:
    if (d)
        MHD_stop_daemon(d);
    if (fd >= 0)
        (void)close(fd);
    buf_free(&body);
    return rc;
}
