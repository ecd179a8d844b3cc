/*
 * bus_chan.c - the encrypted channel of docs/bus.md: socket reads and writes with deadlines
 * (poll, non-blocking sockets, a stop descriptor), the handshake (hellos with fresh nonces and
 * ephemeral X25519 keys, HKDF session keys, key confirmation both ways) and frames (4-byte length,
 * AES-256-GCM with a per-direction counter nonce).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus_int.h"
#include "common/alloc.h"
#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "crypto/kdf.h"
#include "crypto/x25519.h"

/* Returns CLOCK_MONOTONIC in milliseconds (see bus_int.h). */
int64_t bus_now_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd, the deadline or stopfd (see bus_int.h). */
enum err bus_io_wait(int fd, int stopfd, short events, int64_t deadline)
{
    struct pollfd pf[2];
    nfds_t nfds = 1;

    for (;;) {
        int timeout = -1, r;

        if (deadline >= 0) {
            int64_t left = deadline - bus_now_ms();

            if (left <= 0)
                return ERR_TIMEOUT;
            timeout = left > INT32_MAX ? INT32_MAX : (int)left;
        }
        pf[0].fd = fd;
        pf[0].events = events;
        pf[0].revents = 0;
        if (stopfd >= 0) {
            pf[1].fd = stopfd;
            pf[1].events = POLLIN;
            pf[1].revents = 0;
            nfds = 2;
        }
        r = poll(pf, nfds, timeout);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return ERR_IO;
        }
        if (nfds == 2 && pf[1].revents)
            return ERR_IO;
        if (r == 0)
            continue; /* the deadline is checked at the top */
        if (pf[0].revents & POLLNVAL)
            return ERR_IO;
        /* Ready, or an error or hang-up that the next recv/send reports. */
        return ERR_OK;
    }
}

/* Reads exactly n bytes (see bus_int.h). */
enum err bus_io_read(int fd, int stopfd, void *p, size_t n, int64_t deadline, size_t *got)
{
    unsigned char *b = p;
    enum err rc;

    *got = 0;
    while (*got < n) {
        ssize_t r = recv(fd, b + *got, n - *got, 0);

        if (r > 0) {
            *got += (size_t)r;
            continue;
        }
        if (r == 0)
            return ERR_IO;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return ERR_IO;
        if ((rc = bus_io_wait(fd, stopfd, POLLIN, deadline)) != ERR_OK)
            return rc;
    }
    return ERR_OK;
}

/* Writes all n bytes (see bus_int.h); MSG_NOSIGNAL: a closed peer is EPIPE, not SIGPIPE. */
enum err bus_io_write(int fd, int stopfd, const void *p, size_t n, int64_t deadline)
{
    const unsigned char *b = p;
    size_t done = 0;
    enum err rc;

    while (done < n) {
        ssize_t r = send(fd, b + done, n - done, MSG_NOSIGNAL);

        if (r > 0) {
            done += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return ERR_IO;
        if ((rc = bus_io_wait(fd, stopfd, POLLOUT, deadline)) != ERR_OK)
            return rc;
    }
    return ERR_OK;
}

/* Writes the nonce of frame number seq: 4 zero bytes, then seq in 8 big-endian bytes. */
static void bus_nonce(unsigned char nonce[AEAD_NONCE_BYTES], uint64_t seq)
{
    int i;

    memset(nonce, 0, 4);
    for (i = 0; i < 8; i++)
        nonce[4 + i] = (unsigned char)(seq >> (56 - 8 * i));
}

/* Writes a 4-byte big-endian length. */
static void bus_len_put(unsigned char *p, size_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Seals frame in place: header, then ciphertext and tag (see bus_chan_send). */
static enum err bus_chan_seal(struct bus_chan *ch, unsigned char *frame, size_t ptlen)
{
    unsigned char nonce[AEAD_NONCE_BYTES];
    enum err rc;

    if (!ch->ch_keys || ch->ch_send_seq == UINT64_MAX ||
        ptlen > BUS_MAX_FRAME_BYTES - BUS_TAG_BYTES) {
        secmem_wipe(frame + BUS_HEADER_BYTES, ptlen);
        return ERR_CRYPTO;
    }
    bus_len_put(frame, ptlen + BUS_TAG_BYTES);
    bus_nonce(nonce, ch->ch_send_seq);
    rc = aead_aes256gcm_encrypt(frame + BUS_HEADER_BYTES, frame + BUS_HEADER_BYTES, ptlen, frame,
                                BUS_HEADER_BYTES, nonce, ch->ch_keys);
    if (rc == ERR_OK)
        ch->ch_send_seq++;
    return rc;
}

/* Seals and sends one frame (see bus_int.h). */
enum err bus_chan_send(struct bus_chan *ch, unsigned char *frame, size_t ptlen, int64_t deadline)
{
    enum err rc = bus_chan_seal(ch, frame, ptlen);

    if (rc != ERR_OK)
        return rc;
    return bus_io_write(ch->ch_fd, ch->ch_stopfd, frame, BUS_HEADER_BYTES + ptlen + BUS_TAG_BYTES,
                        deadline);
}

/* Receives and opens one frame (see bus_int.h). */
enum err bus_chan_recv(struct bus_chan *ch, size_t maxlen, unsigned char **buf, size_t *buflen,
                       size_t *ptlen, int64_t deadline, size_t *got)
{
    unsigned char hdr[BUS_HEADER_BYTES], nonce[AEAD_NONCE_BYTES];
    unsigned char *b = NULL;
    size_t len, n = 0;
    enum err rc;

    *buf = NULL;
    *buflen = 0;
    *ptlen = 0;
    *got = 0;
    rc = bus_io_read(ch->ch_fd, ch->ch_stopfd, hdr, sizeof(hdr), deadline, &n);
    *got = n;
    if (rc != ERR_OK)
        return rc;
    len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | (size_t)hdr[3];
    if (len > maxlen + BUS_TAG_BYTES)
        return ERR_TOO_LARGE;
    if (len < BUS_TAG_BYTES)
        return ERR_BAD_INPUT;
    if (!ch->ch_keys || ch->ch_recv_seq == UINT64_MAX)
        return ERR_CRYPTO;
    b = mem_alloc(len);
    if (!b)
        return ERR_NOMEM;
    rc = bus_io_read(ch->ch_fd, ch->ch_stopfd, b, len, deadline, &n);
    *got += n;
    if (rc != ERR_OK)
        goto out;
    bus_nonce(nonce, ch->ch_recv_seq);
    /* Opened in place; aead wipes the plaintext when the tag does not verify. */
    rc = aead_aes256gcm_decrypt(b, b, len, hdr, sizeof(hdr), nonce, ch->ch_keys + AEAD_KEY_BYTES);
    if (rc != ERR_OK)
        goto out;
    ch->ch_recv_seq++;
    *buf = b;
    *buflen = len;
    *ptlen = len - BUS_TAG_BYTES;
    b = NULL;
out:
    if (b) {
        secmem_wipe(b, len);
        mem_free(b);
    }
    return rc;
}

/* Forgets the session keys (see bus_int.h). */
void bus_chan_reset(struct bus_chan *ch)
{
    secmem_free(ch->ch_keys);
    ch->ch_keys = NULL;
    ch->ch_send_seq = 0;
    ch->ch_recv_seq = 0;
}

/*
 * Derives the two session keys into ch->ch_keys (send key first): HKDF-SHA-256 with input
 * key material = bus key || X25519(own ephemeral secret, peer's ephemeral public key),
 * salt = client nonce || server nonce, and info = the direction's label || client hello ||
 * server hello. The ephemeral secret is wiped here, whatever the result.
 */
static enum err bus_chan_derive(struct bus_chan *ch, enum bus_role role, const unsigned char *key,
                                unsigned char *esk, const unsigned char *hello_c,
                                const unsigned char *hello_s)
{
    unsigned char salt[2 * BUS_NONCE_BYTES];
    unsigned char info[sizeof(BUS_INFO_C2S) - 1 + 2 * BUS_HELLO_BYTES];
    const size_t label = sizeof(BUS_INFO_C2S) - 1;
    const unsigned char *peer = role == BUS_ROLE_CLIENT ? hello_s : hello_c;
    unsigned char *ikm = NULL, *c2s, *s2c;
    enum err rc = ERR_NOMEM;

    _Static_assert(sizeof(BUS_INFO_C2S) == sizeof(BUS_INFO_S2C), "labels of one length");
    bus_chan_reset(ch);
    ikm = secmem_alloc(BUS_KEY_BYTES + X25519_KEY_BYTES);
    ch->ch_keys = secmem_alloc(2 * AEAD_KEY_BYTES);
    if (!ikm || !ch->ch_keys)
        goto out;
    memcpy(ikm, key, BUS_KEY_BYTES);
    /* A low-order public key (an all-zero result) is refused: not a peer of ours. */
    rc = x25519_scalarmult(ikm + BUS_KEY_BYTES, esk, peer + BUS_HELLO_MAGIC_LEN + BUS_NONCE_BYTES);
    if (rc != ERR_OK) {
        rc = ERR_IO;
        goto out;
    }
    c2s = role == BUS_ROLE_CLIENT ? ch->ch_keys : ch->ch_keys + AEAD_KEY_BYTES;
    s2c = role == BUS_ROLE_CLIENT ? ch->ch_keys + AEAD_KEY_BYTES : ch->ch_keys;
    memcpy(salt, hello_c + BUS_HELLO_MAGIC_LEN, BUS_NONCE_BYTES);
    memcpy(salt + BUS_NONCE_BYTES, hello_s + BUS_HELLO_MAGIC_LEN, BUS_NONCE_BYTES);
    memcpy(info + label, hello_c, BUS_HELLO_BYTES);
    memcpy(info + label + BUS_HELLO_BYTES, hello_s, BUS_HELLO_BYTES);
    memcpy(info, BUS_INFO_C2S, label);
    rc = kdf_hkdf_sha256(c2s, AEAD_KEY_BYTES, ikm, BUS_KEY_BYTES + X25519_KEY_BYTES, salt,
                         sizeof(salt), info, sizeof(info));
    if (rc == ERR_OK) {
        memcpy(info, BUS_INFO_S2C, label);
        rc = kdf_hkdf_sha256(s2c, AEAD_KEY_BYTES, ikm, BUS_KEY_BYTES + X25519_KEY_BYTES, salt,
                             sizeof(salt), info, sizeof(info));
    }
    if (rc != ERR_OK)
        rc = ERR_CRYPTO;
out:
    secmem_wipe(esk, X25519_KEY_BYTES);
    secmem_free(ikm);
    if (rc != ERR_OK)
        bus_chan_reset(ch);
    return rc;
}

/* Makes a hello: the magic, a fresh random nonce, and a fresh ephemeral public key. */
static enum err bus_hello_make(unsigned char hello[BUS_HELLO_BYTES], unsigned char *esk)
{
    enum err rc;

    memcpy(hello, BUS_HELLO_MAGIC, BUS_HELLO_MAGIC_LEN);
    rc = crypto_random(hello + BUS_HELLO_MAGIC_LEN, BUS_NONCE_BYTES);
    if (rc == ERR_OK)
        rc = x25519_keypair(hello + BUS_HELLO_MAGIC_LEN + BUS_NONCE_BYTES, esk);
    return rc == ERR_OK ? ERR_OK : ERR_CRYPTO;
}

/*
 * Reads the peer's confirmation frame (frame 0 of its direction) and checks that it opens
 * to the expected text. A length other than a confirmation's is a peer that does not speak
 * this protocol (ERR_IO); a frame that does not open, or opens to other text, holds another
 * key (ERR_UNAUTHORIZED).
 */
static enum err bus_confirm_check(struct bus_chan *ch, const char *expect, int64_t deadline)
{
    unsigned char *buf = NULL;
    size_t buflen = 0, ptlen = 0, got = 0;
    enum err rc;

    rc = bus_chan_recv(ch, BUS_CONFIRM_LEN, &buf, &buflen, &ptlen, deadline, &got);
    if (rc == ERR_CRYPTO)
        rc = ERR_UNAUTHORIZED;
    else if (rc == ERR_TOO_LARGE || rc == ERR_BAD_INPUT)
        rc = ERR_IO;
    else if (rc == ERR_OK && (ptlen != BUS_CONFIRM_LEN || !crypto_memeq(buf, expect, ptlen)))
        rc = ptlen != BUS_CONFIRM_LEN ? ERR_IO : ERR_UNAUTHORIZED;
    if (buf) {
        secmem_wipe(buf, buflen);
        mem_free(buf);
    }
    return rc;
}

/* Seals own confirmation text as the next frame into out (BUS_HEADER + 28 + BUS_TAG). */
static enum err bus_confirm_make(struct bus_chan *ch, const char *text, unsigned char *out)
{
    memcpy(out + BUS_HEADER_BYTES, text, BUS_CONFIRM_LEN);
    return bus_chan_seal(ch, out, BUS_CONFIRM_LEN);
}

#define BUS_CONFIRM_FRAME (BUS_HEADER_BYTES + BUS_CONFIRM_LEN + BUS_TAG_BYTES)

/* The client's side: hello out, hello in, confirmation out, confirmation in. */
static enum err bus_handshake_client(struct bus_chan *ch, const unsigned char *key,
                                     unsigned char *esk, int64_t deadline)
{
    unsigned char hello_c[BUS_HELLO_BYTES], hello_s[BUS_HELLO_BYTES];
    unsigned char confirm[BUS_CONFIRM_FRAME];
    size_t got = 0;
    enum err rc;

    if ((rc = bus_hello_make(hello_c, esk)) != ERR_OK)
        return rc;
    rc = bus_io_write(ch->ch_fd, ch->ch_stopfd, hello_c, sizeof(hello_c), deadline);
    if (rc != ERR_OK)
        return rc;
    rc = bus_io_read(ch->ch_fd, ch->ch_stopfd, hello_s, sizeof(hello_s), deadline, &got);
    if (rc != ERR_OK)
        return rc;
    if (memcmp(hello_s, BUS_HELLO_MAGIC, BUS_HELLO_MAGIC_LEN) != 0)
        return ERR_IO;
    if ((rc = bus_chan_derive(ch, BUS_ROLE_CLIENT, key, esk, hello_c, hello_s)) != ERR_OK)
        return rc;
    /*
     * Our confirmation goes out before the server's is checked, so that a server holding
     * another key sees it fail (and says so in its log) rather than a silent close.
     */
    if ((rc = bus_confirm_make(ch, BUS_CONFIRM_C, confirm)) != ERR_OK)
        return rc;
    rc = bus_io_write(ch->ch_fd, ch->ch_stopfd, confirm, sizeof(confirm), deadline);
    if (rc != ERR_OK)
        return rc;
    return bus_confirm_check(ch, BUS_CONFIRM_S, deadline);
}

/* The server's side: hello in, hello and confirmation out, confirmation in. */
static enum err bus_handshake_server(struct bus_chan *ch, const unsigned char *key,
                                     unsigned char *esk, int64_t deadline)
{
    unsigned char hello_c[BUS_HELLO_BYTES];
    unsigned char out[BUS_HELLO_BYTES + BUS_CONFIRM_FRAME];
    size_t got = 0;
    enum err rc;

    rc = bus_io_read(ch->ch_fd, ch->ch_stopfd, hello_c, sizeof(hello_c), deadline, &got);
    if (rc != ERR_OK)
        return rc;
    if (memcmp(hello_c, BUS_HELLO_MAGIC, BUS_HELLO_MAGIC_LEN) != 0)
        return ERR_IO;
    if ((rc = bus_hello_make(out, esk)) != ERR_OK)
        return rc;
    if ((rc = bus_chan_derive(ch, BUS_ROLE_SERVER, key, esk, hello_c, out)) != ERR_OK)
        return rc;
    if ((rc = bus_confirm_make(ch, BUS_CONFIRM_S, out + BUS_HELLO_BYTES)) != ERR_OK)
        return rc;
    rc = bus_io_write(ch->ch_fd, ch->ch_stopfd, out, sizeof(out), deadline);
    if (rc != ERR_OK)
        return rc;
    return bus_confirm_check(ch, BUS_CONFIRM_C, deadline);
}

/* Runs the handshake (see bus_int.h); on failure no session key is kept. */
enum err bus_chan_handshake(struct bus_chan *ch, enum bus_role role, const unsigned char *key,
                            int64_t deadline)
{
    unsigned char *esk; /* our ephemeral X25519 secret */
    enum err rc;

    if (!ch || !key || ch->ch_fd < 0)
        return ERR_IO;
    bus_chan_reset(ch);
    esk = secmem_alloc(X25519_KEY_BYTES);
    if (!esk)
        return ERR_NOMEM;
    rc = role == BUS_ROLE_CLIENT ? bus_handshake_client(ch, key, esk, deadline)
                                 : bus_handshake_server(ch, key, esk, deadline);
    secmem_free(esk);
    if (rc != ERR_OK)
        bus_chan_reset(ch);
    return rc;
}
