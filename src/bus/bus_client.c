/*
 * bus_client.c - the calling side of the bus (api): one connection, opened lazily and kept
 * between calls, calls serialised by a mutex. When a kept connection turns out to be broken
 * (the send fails, or the stream ends before any byte of the answer), it is reopened and the
 * request sent once more: the server may have restarted in between. Every call has one
 * deadline covering connect, handshake, request and answer.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bus/bus_int.h"
#include "common/alloc.h"

struct bus_client {
    pthread_mutex_t cl_lock;
    char *cl_path;               /* unix socket path, or NULL for TCP */
    char *cl_host;               /* TCP host */
    unsigned cl_port;            /* TCP port */
    const unsigned char *cl_key; /* the bus key (borrowed) */
    struct bus_chan cl_chan;     /* ch_fd -1 while not connected */
};

/* Makes a client (see bus.h). */
enum err bus_client_new(struct bus_client **out, const struct bus_endpoint *peer,
                        const unsigned char *key)
{
    struct bus_client *c;
    size_t len;

    if (!out)
        return ERR_BAD_INPUT;
    *out = NULL;
    if (!peer || !key)
        return ERR_BAD_INPUT;
    if (peer->be_path) {
        len = strlen(peer->be_path);
        if (len == 0 || len > BUS_SOCKET_PATH_MAX)
            return ERR_BAD_INPUT;
    } else if (peer->be_port < 1 || peer->be_port > 65535) {
        return ERR_BAD_INPUT;
    }
    c = mem_calloc(1, sizeof(*c));
    if (!c)
        return ERR_NOMEM;
    c->cl_chan.ch_fd = -1;
    c->cl_chan.ch_stopfd = -1;
    c->cl_key = key;
    c->cl_port = peer->be_port;
    if (peer->be_path)
        c->cl_path = mem_strdup(peer->be_path);
    else
        c->cl_host = mem_strdup(peer->be_host ? peer->be_host : "127.0.0.1");
    if (!c->cl_path && !c->cl_host) {
        mem_free(c);
        return ERR_NOMEM;
    }
    pthread_mutex_init(&c->cl_lock, NULL);
    *out = c;
    return ERR_OK;
}

/* Closes the connection and forgets its keys. */
static void bus_client_drop(struct bus_client *c)
{
    if (c->cl_chan.ch_fd >= 0)
        close(c->cl_chan.ch_fd);
    c->cl_chan.ch_fd = -1;
    bus_chan_reset(&c->cl_chan);
}

/* Connects fd (non-blocking) to addr by the deadline. Returns ERR_OK, ERR_IO or ERR_TIMEOUT. */
static enum err bus_connect_addr(int fd, const struct sockaddr *addr, socklen_t len,
                                 int64_t deadline)
{
    socklen_t elen = sizeof(int);
    int e = 0;
    enum err rc;

    if (connect(fd, addr, len) == 0)
        return ERR_OK;
    if (errno != EINPROGRESS && errno != EINTR)
        return ERR_IO; /* ENOENT, ECONNREFUSED, EAGAIN (a full unix backlog), ... */
    if ((rc = bus_io_wait(fd, -1, POLLOUT, deadline)) != ERR_OK)
        return rc;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0 || e != 0)
        return ERR_IO;
    return ERR_OK;
}

/* Opens a socket to the peer into *fd. Returns ERR_OK, ERR_IO or ERR_TIMEOUT. */
static enum err bus_client_dial(struct bus_client *c, int64_t deadline, int *fd)
{
    struct addrinfo hints, *res = NULL, *ai;
    char portstr[16];
    enum err rc = ERR_IO;
    int one = 1;

    *fd = -1;
    if (c->cl_path) {
        struct sockaddr_un sa;

        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        memcpy(sa.sun_path, c->cl_path, strlen(c->cl_path) + 1);
        *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (*fd < 0)
            return ERR_IO;
        rc = bus_connect_addr(*fd, (struct sockaddr *)&sa, sizeof(sa), deadline);
        goto out;
    }
    (void)snprintf(portstr, sizeof(portstr), "%u", c->cl_port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(c->cl_host, portstr, &hints, &res) != 0)
        return ERR_IO;
    for (ai = res; ai; ai = ai->ai_next) {
        *fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (*fd < 0)
            continue;
        rc = bus_connect_addr(*fd, ai->ai_addr, ai->ai_addrlen, deadline);
        if (rc == ERR_OK) {
            (void)setsockopt(*fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            break;
        }
        close(*fd);
        *fd = -1;
        if (rc == ERR_TIMEOUT)
            break;
    }
    freeaddrinfo(res);
out:
    if (rc != ERR_OK && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

/* Connects and runs the handshake. Errors as bus_chan_handshake, plus dialling's. */
static enum err bus_client_open(struct bus_client *c, int64_t deadline)
{
    enum err rc;
    int fd;

    if ((rc = bus_client_dial(c, deadline, &fd)) != ERR_OK)
        return rc;
    c->cl_chan.ch_fd = fd;
    rc = bus_chan_handshake(&c->cl_chan, BUS_ROLE_CLIENT, c->cl_key, deadline);
    if (rc != ERR_OK)
        bus_client_drop(c);
    return rc;
}

/* Keeps the results promised by bus.h: anything unexpected is a failed connection. */
static enum err bus_client_result(enum err rc)
{
    switch (rc) {
    case ERR_OK:
    case ERR_IO:
    case ERR_TIMEOUT:
    case ERR_UNAUTHORIZED:
    case ERR_NOMEM:
    case ERR_TOO_LARGE:
    case ERR_BAD_INPUT:
        return rc;
    default:
        return ERR_IO;
    }
}

/*
 * Sends req and receives the answer into resp (see bus.h). The request is encoded before
 * anything touches the connection, so an invalid or oversized request leaves it as it was;
 * it is encoded again for the retry, because sending encrypts it in place.
 */
enum err bus_client_call(struct bus_client *c, const struct bus_msg *req, struct bus_msg *resp,
                         int timeout_ms)
{
    unsigned char *frame = NULL, *buf = NULL;
    size_t ptlen = 0, buflen = 0, got = 0, len = 0;
    int64_t deadline;
    int attempt, fresh;
    enum err rc;

    if (resp)
        memset(resp, 0, sizeof(*resp));
    if (!c || !req || !resp)
        return ERR_BAD_INPUT;
    deadline = bus_now_ms() + (timeout_ms > 0 ? timeout_ms : BUS_IO_TIMEOUT_MS);
    rc = bus_plain_encode_room(req, BUS_HEADER_BYTES, BUS_TAG_BYTES, &frame, &ptlen);
    if (rc != ERR_OK)
        return rc;
    pthread_mutex_lock(&c->cl_lock);
    for (attempt = 0;; attempt++) {
        fresh = 0;
        if (c->cl_chan.ch_fd < 0) {
            if ((rc = bus_client_open(c, deadline)) != ERR_OK)
                break;
            fresh = 1;
        }
        if (!frame) {
            rc = bus_plain_encode_room(req, BUS_HEADER_BYTES, BUS_TAG_BYTES, &frame, &ptlen);
            if (rc != ERR_OK)
                break;
        }
        rc = bus_chan_send(&c->cl_chan, frame, ptlen, deadline);
        bus_plain_free(frame, BUS_HEADER_BYTES + ptlen + BUS_TAG_BYTES);
        frame = NULL;
        if (rc != ERR_OK) {
            bus_client_drop(c);
            if (rc == ERR_IO && !fresh && attempt == 0)
                continue; /* the kept connection was broken */
            break;
        }
        rc = bus_chan_recv(&c->cl_chan, BUS_MAX_PLAIN_BYTES, &buf, &buflen, &len, deadline, &got);
        if (rc != ERR_OK) {
            bus_client_drop(c);
            if (rc == ERR_IO && got == 0 && !fresh && attempt == 0)
                continue; /* closed before answering: the server may have restarted */
            if (rc != ERR_TIMEOUT && rc != ERR_NOMEM)
                rc = ERR_IO; /* over a cap, forged or malformed: not our peer's answer */
            break;
        }
        rc = bus_plain_decode(buf, len, resp);
        bus_plain_free(buf, buflen);
        buf = NULL;
        if (rc != ERR_OK) {
            bus_client_drop(c);
            rc = rc == ERR_NOMEM ? rc : ERR_IO;
        }
        break;
    }
    pthread_mutex_unlock(&c->cl_lock);
    bus_plain_free(frame, frame ? BUS_HEADER_BYTES + ptlen + BUS_TAG_BYTES : 0);
    return bus_client_result(rc);
}

/* Closes and frees a client (see bus.h). */
void bus_client_free(struct bus_client *c)
{
    if (!c)
        return;
    bus_client_drop(c);
    pthread_mutex_destroy(&c->cl_lock);
    mem_free(c->cl_path);
    mem_free(c->cl_host);
    mem_free(c);
}
