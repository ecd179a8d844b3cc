/*
 * bus_server.c - the listening side of the bus (sync): a unix or TCP listening socket, an
 * accept thread, and one thread per connection up to BUS_MAX_CONNECTIONS. Each connection
 * runs the handshake, then answers requests one at a time through the handler. An idle
 * connection may stay open indefinitely; once a frame has started it must finish within
 * BUS_IO_TIMEOUT_MS. Every thread also polls the read end of a pipe, written by
 * bus_server_stop, so that stopping ends every thread promptly.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bus/bus_int.h"
#include "common/alloc.h"
#include "common/log.h"

#define BUS_WARN_INTERVAL_MS  60000 /* the least time between two "too many" warnings */
#define BUS_ACCEPT_BACKOFF_MS 100   /* pause after accept fails for want of descriptors */

struct bus_server;

/* One connection and its thread. */
struct bus_slot {
    struct bus_server *sl_server;
    pthread_t sl_thread;
    int sl_fd;   /* the connection (closed by whoever joins the thread) */
    int sl_used; /* a thread was started and not yet joined (accept thread, then stop) */
    int sl_done; /* the thread has finished (under srv_lock) */
};

struct bus_server {
    struct bus_server_config srv_cfg;
    char *srv_path; /* the unix socket path, or NULL for TCP */
    dev_t srv_dev;  /* the socket file we created, to remove only that one */
    ino_t srv_ino;
    int srv_fd;      /* the listening socket */
    int srv_port;    /* TCP port, 0 for unix */
    int srv_pipe[2]; /* [0] readable once stopping; [1] written by bus_server_stop */
    pthread_t srv_accept;
    int srv_accept_started;
    pthread_mutex_t srv_lock;
    struct bus_slot srv_slots[BUS_MAX_CONNECTIONS];
    int64_t srv_warned_at; /* when "too many connections" was last logged (accept thread) */
};

/* Logs why a connection ended, at the level the cause deserves; never a secret. */
static void bus_conn_log(enum err rc, const char *stage)
{
    if (rc == ERR_UNAUTHORIZED)
        log_warn("bus: refused a connection: the peer failed the handshake (it does not hold "
                 "this bus key)");
    else if (rc == ERR_CRYPTO || rc == ERR_TOO_LARGE || rc == ERR_BAD_INPUT || rc == ERR_BAD_JSON)
        log_warn("bus: closed a connection: %s was malformed (%s)", stage, err_name(rc));
    else
        log_debug("bus: connection ended in %s (%s)", stage, err_name(rc));
}

/*
 * Serves one request frame that has begun to arrive: receive, decode, call the handler,
 * encode and send the answer. Every buffer that held plaintext is wiped. Returns ERR_OK to
 * go on with the connection; anything else closes it (*stage names the failing step).
 */
static enum err bus_conn_serve(struct bus_server *s, struct bus_chan *ch, const char **stage)
{
    struct bus_msg req, resp;
    unsigned char *buf = NULL, *frame = NULL;
    size_t buflen = 0, ptlen = 0, got = 0;
    enum err rc;

    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    *stage = "a request frame";
    rc = bus_chan_recv(ch, BUS_MAX_PLAIN_BYTES, &buf, &buflen, &ptlen,
                       bus_now_ms() + BUS_IO_TIMEOUT_MS, &got);
    if (rc != ERR_OK) {
        if (rc == ERR_IO && got == 0)
            *stage = "waiting"; /* the client closed between requests */
        goto out;
    }
    *stage = "a request";
    rc = bus_plain_decode(buf, ptlen, &req);
    bus_plain_free(buf, buflen);
    buf = NULL;
    if (rc != ERR_OK)
        goto out;
    *stage = "the handler";
    rc = s->srv_cfg.bs_handler(s->srv_cfg.bs_ctx, &req, &resp);
    bus_msg_clear(&req);
    if (rc != ERR_OK) {
        log_warn("bus: the request handler failed (%s); closing the connection", err_name(rc));
        rc = ERR_INTERNAL; /* logged */
        goto out;
    }
    *stage = "the answer";
    rc = bus_plain_encode_room(&resp, BUS_HEADER_BYTES, BUS_TAG_BYTES, &frame, &ptlen);
    bus_msg_clear(&resp);
    if (rc != ERR_OK) {
        log_warn("bus: cannot encode an answer (%s); closing the connection", err_name(rc));
        rc = ERR_INTERNAL; /* logged */
        goto out;
    }
    rc = bus_chan_send(ch, frame, ptlen, bus_now_ms() + BUS_IO_TIMEOUT_MS);
out:
    bus_plain_free(buf, buflen);
    bus_plain_free(frame, frame ? BUS_HEADER_BYTES + ptlen + BUS_TAG_BYTES : 0);
    bus_msg_clear(&req);
    bus_msg_clear(&resp);
    return rc;
}

/* A connection's thread: handshake, then requests until the peer leaves or the server stops. */
static void *bus_conn_main(void *arg)
{
    struct bus_slot *sl = arg;
    struct bus_server *s = sl->sl_server;
    struct bus_chan ch;
    const char *stage = "the handshake";
    enum err rc;

    memset(&ch, 0, sizeof(ch));
    ch.ch_fd = sl->sl_fd;
    ch.ch_stopfd = s->srv_pipe[0];
    rc = bus_chan_handshake(&ch, BUS_ROLE_SERVER, s->srv_cfg.bs_key,
                            bus_now_ms() + BUS_IO_TIMEOUT_MS);
    while (rc == ERR_OK) {
        /* Idle: wait for the next request as long as it takes, or for the stop. */
        stage = "waiting";
        rc = bus_io_wait(ch.ch_fd, ch.ch_stopfd, POLLIN, -1);
        if (rc == ERR_OK)
            rc = bus_conn_serve(s, &ch, &stage);
    }
    bus_conn_log(rc, stage);
    bus_chan_reset(&ch);
    (void)shutdown(sl->sl_fd, SHUT_RDWR);
    pthread_mutex_lock(&s->srv_lock);
    sl->sl_done = 1;
    pthread_mutex_unlock(&s->srv_lock);
    return NULL;
}

/* Joins the threads of finished connections and frees their slots (accept thread). */
static void bus_server_reap(struct bus_server *s, int all)
{
    size_t i;

    for (i = 0; i < BUS_MAX_CONNECTIONS; i++) {
        struct bus_slot *sl = &s->srv_slots[i];
        int done;

        if (!sl->sl_used)
            continue;
        pthread_mutex_lock(&s->srv_lock);
        done = sl->sl_done;
        pthread_mutex_unlock(&s->srv_lock);
        if (!done && !all)
            continue;
        pthread_join(sl->sl_thread, NULL);
        close(sl->sl_fd);
        sl->sl_fd = -1;
        sl->sl_used = 0;
        sl->sl_done = 0;
    }
}

/* Hands a new connection to a free slot's thread, or closes it at once. */
static void bus_server_take(struct bus_server *s, int fd)
{
    struct bus_slot *sl = NULL;
    int one = 1;
    size_t i;

    bus_server_reap(s, 0);
    for (i = 0; i < BUS_MAX_CONNECTIONS && !sl; i++)
        if (!s->srv_slots[i].sl_used)
            sl = &s->srv_slots[i];
    if (!sl) {
        int64_t now = bus_now_ms();

        if (s->srv_warned_at == 0 || now - s->srv_warned_at >= BUS_WARN_INTERVAL_MS) {
            log_warn("bus: %d connections are open; closing new ones until one ends",
                     BUS_MAX_CONNECTIONS);
            s->srv_warned_at = now;
        }
        close(fd);
        return;
    }
    if (!s->srv_path)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sl->sl_server = s;
    sl->sl_fd = fd;
    sl->sl_done = 0;
    if (pthread_create(&sl->sl_thread, NULL, bus_conn_main, sl) != 0) {
        log_warn("bus: cannot start a connection thread; closing the connection");
        close(fd);
        sl->sl_fd = -1;
        return;
    }
    sl->sl_used = 1;
}

/* The accept thread: takes connections until the stop pipe becomes readable. */
static void *bus_accept_main(void *arg)
{
    struct bus_server *s = arg;

    for (;;) {
        enum err rc = bus_io_wait(s->srv_fd, s->srv_pipe[0], POLLIN, -1);
        int fd;

        if (rc != ERR_OK)
            break; /* stopping */
        fd = accept4(s->srv_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warn("bus: cannot accept a connection (%s)", strerrorname_np(errno));
                /* Wait a little (or for the stop) instead of spinning on the backlog. */
                if (bus_io_wait(s->srv_pipe[0], -1, POLLIN, bus_now_ms() + BUS_ACCEPT_BACKOFF_MS) ==
                    ERR_OK)
                    break;
            }
            continue;
        }
        bus_server_take(s, fd);
    }
    return NULL;
}

/* Names errno for a message (strerrorname_np may return NULL). */
static const char *bus_errno_name(int e)
{
    const char *n = strerrorname_np(e);

    return n ? n : "error";
}

/*
 * Makes room for the unix socket at path: nothing there is fine; a socket nobody listens on
 * (connection refused) is stale and removed; a live socket or anything else is an error.
 */
static enum err bus_unix_clear(const char *path, char *errmsg, size_t errcap)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd, r, e;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return ERR_OK;
        return err_msgf(ERR_CONFIG, errmsg, errcap, "bus: cannot use the socket path %s (%s)", path,
                        bus_errno_name(errno));
    }
    if (!S_ISSOCK(st.st_mode))
        return err_msgf(ERR_CONFIG, errmsg, errcap,
                        "bus: %s exists and is not a socket; remove it or set SESAME_BUS_SOCKET",
                        path);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "bus: cannot create a socket (%s)",
                        bus_errno_name(errno));
    r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    e = errno;
    close(fd);
    if (r == 0 || e == EAGAIN || e == EINPROGRESS)
        return err_msgf(ERR_CONFIG, errmsg, errcap,
                        "bus: another process is already listening on %s", path);
    if (e != ECONNREFUSED && e != ENOENT)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "bus: cannot check the old socket %s (%s)",
                        path, bus_errno_name(e));
    if (unlink(path) != 0 && errno != ENOENT)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "bus: cannot remove the stale socket %s (%s)",
                        path, bus_errno_name(errno));
    return ERR_OK;
}

/* Creates the unix listening socket: stale file replaced, mode 0600. */
static enum err bus_listen_unix(struct bus_server *s, const char *path, char *errmsg, size_t errcap)
{
    struct sockaddr_un sa;
    struct stat st;
    size_t len = strlen(path);
    enum err rc;

    if (len == 0 || len > BUS_SOCKET_PATH_MAX)
        return err_msgf(ERR_CONFIG, errmsg, errcap,
                        "bus: the socket path is %zu bytes, a unix socket allows 1 to %d: set "
                        "SESAME_BUS_SOCKET to a shorter path",
                        len, BUS_SOCKET_PATH_MAX);
    s->srv_path = mem_strdup(path);
    if (!s->srv_path)
        return ERR_NOMEM;
    if ((rc = bus_unix_clear(path, errmsg, errcap)) != ERR_OK)
        return rc;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, len + 1);
    s->srv_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->srv_fd < 0)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "bus: cannot create a socket (%s)",
                        bus_errno_name(errno));
    if (bind(s->srv_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "bus: cannot listen on %s: bind failed (%s)",
                        path, bus_errno_name(errno));
    /*
     * Only the owner may connect. The moment between bind and chmod is harmless: a peer
     * still needs the bus key to get past the handshake.
     */
    if (chmod(path, 0600) != 0 || stat(path, &st) != 0) {
        rc = err_msgf(ERR_CONFIG, errmsg, errcap, "bus: cannot set the mode of %s (%s)", path,
                      bus_errno_name(errno));
        (void)unlink(path);
        return rc;
    }
    s->srv_dev = st.st_dev;
    s->srv_ino = st.st_ino;
    if (listen(s->srv_fd, SOMAXCONN) != 0) {
        rc = err_msgf(ERR_CONFIG, errmsg, errcap, "bus: cannot listen on %s (%s)", path,
                      bus_errno_name(errno));
        (void)unlink(path);
        return rc;
    }
    return ERR_OK;
}

/* Creates the TCP listening socket on host (NULL: 0.0.0.0) and port (0: any free one). */
static enum err bus_listen_tcp(struct bus_server *s, const char *host, unsigned port, char *errmsg,
                               size_t errcap)
{
    struct addrinfo hints, *res = NULL, *ai;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char portstr[16];
    const char *why = "no address";
    int one = 1, e = 0, gai;

    if (port > 65535)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "bus: port %u out of range", port);
    if (!host)
        host = "0.0.0.0";
    (void)snprintf(portstr, sizeof(portstr), "%u", port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0)
        return err_msgf(ERR_CONFIG, errmsg, errcap,
                        "bus: cannot listen on %s port %u: the address does not resolve (%s)", host,
                        port, gai_strerror(gai));
    for (ai = res; ai; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);

        if (fd < 0) {
            why = "socket";
            e = errno;
            continue;
        }
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            why = "bind";
            e = errno;
            close(fd);
            continue;
        }
        if (listen(fd, SOMAXCONN) != 0) {
            why = "listen";
            e = errno;
            close(fd);
            continue;
        }
        s->srv_fd = fd;
        break;
    }
    freeaddrinfo(res);
    if (s->srv_fd < 0)
        return err_msgf(ERR_CONFIG, errmsg, errcap,
                        "bus: cannot listen on %s port %u: %s failed (%s)", host, port, why,
                        e ? bus_errno_name(e) : "none");
    if (getsockname(s->srv_fd, (struct sockaddr *)&ss, &sl) != 0)
        return err_msgf(ERR_CONFIG, errmsg, errcap, "bus: cannot read the listening port (%s)",
                        bus_errno_name(errno));
    if (ss.ss_family == AF_INET6)
        s->srv_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else
        s->srv_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ERR_OK;
}

/* Closes the listening socket and removes our socket file (not a successor's). */
static void bus_server_unlisten(struct bus_server *s)
{
    struct stat st;

    if (s->srv_fd >= 0) {
        close(s->srv_fd);
        s->srv_fd = -1;
    }
    if (s->srv_path && s->srv_ino != 0 && lstat(s->srv_path, &st) == 0 && st.st_dev == s->srv_dev &&
        st.st_ino == s->srv_ino)
        (void)unlink(s->srv_path);
    s->srv_ino = 0;
}

/* Frees a server whose threads are all joined. */
static void bus_server_free(struct bus_server *s)
{
    bus_server_unlisten(s);
    if (s->srv_pipe[0] >= 0)
        close(s->srv_pipe[0]);
    if (s->srv_pipe[1] >= 0)
        close(s->srv_pipe[1]);
    pthread_mutex_destroy(&s->srv_lock);
    mem_free(s->srv_path);
    mem_free(s);
}

/*
 * Starts a server (see bus.h). The server owns its sockets, pipe and threads; cfg's key,
 * handler and context are borrowed and must outlive it.
 */
enum err bus_server_start(struct bus_server **out, const struct bus_server_config *cfg,
                          char *errmsg, size_t errcap)
{
    struct bus_server *s = NULL;
    const struct bus_endpoint *ep;
    size_t i;
    enum err rc;

    if (errmsg && errcap)
        errmsg[0] = '\0';
    if (!out)
        return ERR_BAD_INPUT;
    *out = NULL;
    if (!cfg || !cfg->bs_key || !cfg->bs_handler)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "bus: no key or handler");
    ep = &cfg->bs_listen;
    if (!ep->be_path && ep->be_port > 65535)
        return err_msgf(ERR_BAD_INPUT, errmsg, errcap, "bus: port %u out of range", ep->be_port);
    s = mem_calloc(1, sizeof(*s));
    if (!s)
        return ERR_NOMEM;
    s->srv_cfg = *cfg;
    s->srv_cfg.bs_listen.be_path = NULL;
    s->srv_cfg.bs_listen.be_host = NULL;
    s->srv_fd = -1;
    s->srv_pipe[0] = s->srv_pipe[1] = -1;
    for (i = 0; i < BUS_MAX_CONNECTIONS; i++)
        s->srv_slots[i].sl_fd = -1;
    pthread_mutex_init(&s->srv_lock, NULL);
    if (pipe2(s->srv_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        rc = err_msgf(ERR_CONFIG, errmsg, errcap, "bus: cannot create a pipe (%s)",
                      bus_errno_name(errno));
        goto fail;
    }
    if (ep->be_path)
        rc = bus_listen_unix(s, ep->be_path, errmsg, errcap);
    else
        rc = bus_listen_tcp(s, ep->be_host, ep->be_port, errmsg, errcap);
    if (rc != ERR_OK)
        goto fail;
    if (pthread_create(&s->srv_accept, NULL, bus_accept_main, s) != 0) {
        rc = err_msgf(ERR_NOMEM, errmsg, errcap, "bus: cannot start the accept thread");
        goto fail;
    }
    s->srv_accept_started = 1;
    *out = s;
    return ERR_OK;
fail:
    bus_server_free(s);
    return rc;
}

/* Returns the TCP port (see bus.h). */
int bus_server_port(const struct bus_server *s)
{
    return s ? s->srv_port : 0;
}

/*
 * Stops a server (see bus.h): one byte in the pipe wakes every thread (the byte is never
 * read, so the pipe stays readable); the accept thread is joined first, so no connection
 * starts after that, then every connection thread.
 */
void bus_server_stop(struct bus_server *s)
{
    const char one = 1;

    if (!s)
        return;
    while (write(s->srv_pipe[1], &one, 1) < 0 && errno == EINTR)
        ;
    if (s->srv_accept_started)
        pthread_join(s->srv_accept, NULL);
    bus_server_unlisten(s);
    bus_server_reap(s, 1);
    bus_server_free(s);
}
