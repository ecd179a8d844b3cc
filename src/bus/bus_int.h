/*
 * bus_int.h - what the files of src/bus/ share: the socket I/O with deadlines, the encrypted
 * channel (frames and the handshake of docs/bus.md), and plaintext encoding with room for a
 * frame header and tag around it. Not for use outside src/bus/ and its tests.
 */
#ifndef SESAME_BUS_BUS_INT_H
#define SESAME_BUS_BUS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "common/err.h"

#define BUS_HELLO_MAGIC     "sesame-bus/1" /* the first bytes of both hellos */
#define BUS_HELLO_MAGIC_LEN 12
#define BUS_NONCE_BYTES     32
#define BUS_EPHEMERAL_BYTES 32 /* an X25519 public key */
#define BUS_HELLO_BYTES     (BUS_HELLO_MAGIC_LEN + BUS_NONCE_BYTES + BUS_EPHEMERAL_BYTES)
#define BUS_HEADER_BYTES    4  /* a frame's big-endian length field */
#define BUS_TAG_BYTES       16 /* AES-256-GCM tag */
#define BUS_INFO_C2S        "sesame bus v1 client to server"
#define BUS_INFO_S2C        "sesame bus v1 server to client"
#define BUS_CONFIRM_C       "sesame bus v1 client confirm"
#define BUS_CONFIRM_S       "sesame bus v1 server confirm"
#define BUS_CONFIRM_LEN     28 /* both confirm texts */

/* One end of an established (or establishing) connection. */
struct bus_chan {
    int ch_fd;              /* the connected socket (non-blocking), or -1 */
    int ch_stopfd;          /* readable when the owner must give up (server), or -1 */
    unsigned char *ch_keys; /* secure memory: send key, then receive key (32 bytes each) */
    uint64_t ch_send_seq;   /* counter of the next frame sent */
    uint64_t ch_recv_seq;   /* counter of the next frame expected */
};

/* Returns CLOCK_MONOTONIC in milliseconds. */
int64_t bus_now_ms(void);

/*
 * Waits until fd is ready for events, the deadline (bus_now_ms time; < 0 = none) passes, or
 * stopfd (-1 = none) becomes readable. Returns ERR_OK, ERR_TIMEOUT, or ERR_IO (stopped, or
 * poll failed).
 */
enum err bus_io_wait(int fd, int stopfd, short events, int64_t deadline) SESAME_WUR;

/*
 * Reads exactly n bytes into p by the deadline; *got receives how many arrived (also on
 * error). Returns ERR_OK, ERR_IO (end of stream, a socket error, or stopped) or ERR_TIMEOUT.
 */
enum err bus_io_read(int fd, int stopfd, void *p, size_t n, int64_t deadline,
                     size_t *got) SESAME_WUR;

/* Writes all n bytes of p by the deadline. Returns ERR_OK, ERR_IO or ERR_TIMEOUT. */
enum err bus_io_write(int fd, int stopfd, const void *p, size_t n, int64_t deadline) SESAME_WUR;

/*
 * Encodes m as in bus_plain_encode, into a new buffer (mem_alloc; release with
 * bus_plain_free(*out, head + *ptlen + tail)) with head free bytes before the plaintext and
 * tail free bytes after it. Errors as bus_plain_encode.
 */
enum err bus_plain_encode_room(const struct bus_msg *m, size_t head, size_t tail,
                               unsigned char **out, size_t *ptlen) SESAME_WUR;

/*
 * Runs the handshake of docs/bus.md on ch->ch_fd as role, with the bus key, by the deadline;
 * on success ch->ch_keys holds the session keys and both counters are 1. Returns ERR_OK;
 * ERR_UNAUTHORIZED (the peer's key confirmation did not verify: it holds another key);
 * ERR_IO (end of stream, a socket error, or a peer that does not speak this protocol);
 * ERR_TIMEOUT; ERR_NOMEM or ERR_CRYPTO.
 */
enum err bus_chan_handshake(struct bus_chan *ch, enum bus_role role, const unsigned char *key,
                            int64_t deadline) SESAME_WUR;

/*
 * Seals and sends one frame. frame holds BUS_HEADER_BYTES free bytes, then ptlen bytes of
 * plaintext, then BUS_TAG_BYTES free bytes; it is encrypted in place (the plaintext is gone
 * afterwards, whatever the result). Returns ERR_OK, ERR_IO, ERR_TIMEOUT or ERR_CRYPTO.
 */
enum err bus_chan_send(struct bus_chan *ch, unsigned char *frame, size_t ptlen,
                       int64_t deadline) SESAME_WUR;

/*
 * Receives and opens one frame whose plaintext is at most maxlen bytes, by the deadline.
 * On success *buf (mem_alloc; the caller wipes and frees *buflen bytes) starts with the
 * *ptlen bytes of plaintext. *got counts the bytes that arrived (also on error). Returns
 * ERR_OK; ERR_IO (end of stream, socket error, stopped); ERR_TIMEOUT; ERR_TOO_LARGE (the
 * length field is over maxlen + tag, checked before allocating); ERR_BAD_INPUT (shorter
 * than a tag); ERR_CRYPTO (the frame does not verify: forged, replayed, reordered); ERR_NOMEM.
 */
enum err bus_chan_recv(struct bus_chan *ch, size_t maxlen, unsigned char **buf, size_t *buflen,
                       size_t *ptlen, int64_t deadline, size_t *got) SESAME_WUR;

/* Forgets the session keys (wiped) and resets the counters; the fd is left alone. */
void bus_chan_reset(struct bus_chan *ch);

#endif
