/*
 * syncauth.c - sync authentication: stateless hub challenges, their ES256 signatures by a
 * server signing key, and session secrets of which the hub keeps the SHA-256 (syncauth.h).
 */
#include "keys/syncauth.h"

#include <string.h>

#include "common/codec.h"
#include "common/ids.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"

#define SYNCAUTH_TS_BYTES  8
#define SYNCAUTH_RND_BYTES 16
#define SYNCAUTH_MAC_BYTES 32
#define SYNCAUTH_SKEW      60 /* seconds a challenge may be ahead of now */
/* context 0x00 ACCOUNT 0x00 server 0x00 ts || rnd */
#define SYNCAUTH_MAC_MSG_MAX                                                                       \
    (sizeof(SYNCAUTH_CHALLENGE_CONTEXT) + 2 * (ID_LEN + 1) + SYNCAUTH_TS_BYTES + SYNCAUTH_RND_BYTES)
/* "sesame-sync-v1\n" challenge "\n" server */
#define SYNCAUTH_SIGNED_MAX (sizeof(SYNCAUTH_CONTEXT) + SYNCAUTH_CHALLENGE_LEN + 1 + ID_LEN)

/*
 * Copies id (ID_LEN characters of [a-zA-Z0-9]) into out in upper or lower case.
 * Returns 0 when id is malformed.
 */
static int syncauth_id_norm(char out[ID_LEN + 1], const char *id, int upper)
{
    size_t i;

    if (!id || strnlen(id, ID_LEN + 1) != ID_LEN)
        return 0;
    for (i = 0; i < ID_LEN; i++) {
        char c = id[i];

        if (upper && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (!upper && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        out[i] = c;
    }
    out[ID_LEN] = '\0';
    return upper ? id_is_valid_upper(out) : id_is_valid(out);
}

/* Computes the challenge MAC over (account, server, ts || rnd) into mac. */
static enum err syncauth_mac(unsigned char mac[SYNCAUTH_MAC_BYTES],
                             const unsigned char key[SYNCAUTH_HUB_KEY_BYTES], const char *acct,
                             const char *srv, const unsigned char *tsrnd)
{
    unsigned char msg[SYNCAUTH_MAC_MSG_MAX];
    size_t n = 0;

    memcpy(msg, SYNCAUTH_CHALLENGE_CONTEXT, sizeof(SYNCAUTH_CHALLENGE_CONTEXT) - 1);
    n += sizeof(SYNCAUTH_CHALLENGE_CONTEXT) - 1;
    msg[n++] = 0;
    memcpy(msg + n, acct, ID_LEN);
    n += ID_LEN;
    msg[n++] = 0;
    memcpy(msg + n, srv, ID_LEN);
    n += ID_LEN;
    msg[n++] = 0;
    memcpy(msg + n, tsrnd, SYNCAUTH_TS_BYTES + SYNCAUTH_RND_BYTES);
    n += SYNCAUTH_TS_BYTES + SYNCAUTH_RND_BYTES;
    if (hash_hmac_sha256(mac, key, SYNCAUTH_HUB_KEY_BYTES, msg, n) != ERR_OK)
        return ERR_CRYPTO;
    return ERR_OK;
}

/* Fills key with SYNCAUTH_HUB_KEY_BYTES random bytes. */
enum err syncauth_hub_key_generate(unsigned char key[SYNCAUTH_HUB_KEY_BYTES])
{
    if (!key)
        return ERR_BAD_INPUT;
    if (crypto_random(key, SYNCAUTH_HUB_KEY_BYTES) != ERR_OK)
        return ERR_CRYPTO;
    return ERR_OK;
}

/* Makes a challenge for (account, server) at time now into out. */
enum err syncauth_challenge_new(char out[SYNCAUTH_CHALLENGE_LEN + 1],
                                const unsigned char key[SYNCAUTH_HUB_KEY_BYTES],
                                const char *account, const char *server, int64_t now)
{
    unsigned char raw[SYNCAUTH_CHALLENGE_BYTES];
    char acct[ID_LEN + 1], srv[ID_LEN + 1];
    uint64_t ts = (uint64_t)now;
    size_t n = 0;
    enum err e = ERR_CRYPTO;
    int i;

    if (out)
        out[0] = '\0';
    if (!out || !key || now < 0 || !syncauth_id_norm(acct, account, 1) ||
        !syncauth_id_norm(srv, server, 0))
        return ERR_BAD_INPUT;
    for (i = 0; i < SYNCAUTH_TS_BYTES; i++)
        raw[i] = (unsigned char)(ts >> (56 - 8 * i));
    if (crypto_random(raw + SYNCAUTH_TS_BYTES, SYNCAUTH_RND_BYTES) != ERR_OK)
        goto out;
    if (syncauth_mac(raw + SYNCAUTH_TS_BYTES + SYNCAUTH_RND_BYTES, key, acct, srv, raw) != ERR_OK)
        goto out;
    if (codec_b64_encode(out, SYNCAUTH_CHALLENGE_LEN + 1, &n, raw, sizeof(raw), CODEC_B64_URL) !=
            ERR_OK ||
        n != SYNCAUTH_CHALLENGE_LEN) {
        out[0] = '\0';
        goto out;
    }
    e = ERR_OK;
out:
    secmem_wipe(raw, sizeof(raw));
    return e;
}

/* Checks a challenge for this hub key, ids and time; gives its nonce and expiry. */
enum err syncauth_challenge_check(const char *challenge,
                                  const unsigned char key[SYNCAUTH_HUB_KEY_BYTES],
                                  const char *account, const char *server, int64_t now,
                                  char nonce[SYNCAUTH_NONCE_LEN + 1], int64_t *expires_at)
{
    unsigned char raw[SYNCAUTH_CHALLENGE_BYTES];
    unsigned char mac[SYNCAUTH_MAC_BYTES];
    char acct[ID_LEN + 1], srv[ID_LEN + 1];
    uint64_t uts = 0;
    int64_t ts;
    size_t n = 0;
    enum err e = ERR_UNAUTHORIZED;
    int i;

    if (nonce)
        nonce[0] = '\0';
    if (expires_at)
        *expires_at = 0;
    if (!challenge || !key || !nonce || !expires_at || now < 0)
        return ERR_UNAUTHORIZED;
    if (!syncauth_id_norm(acct, account, 1) || !syncauth_id_norm(srv, server, 0))
        return ERR_UNAUTHORIZED;
    if (strnlen(challenge, SYNCAUTH_CHALLENGE_LEN + 1) != SYNCAUTH_CHALLENGE_LEN)
        return ERR_UNAUTHORIZED;
    if (codec_b64_decode(raw, sizeof(raw), &n, challenge, SYNCAUTH_CHALLENGE_LEN, CODEC_B64_URL) !=
            ERR_OK ||
        n != SYNCAUTH_CHALLENGE_BYTES)
        goto out;
    if (syncauth_mac(mac, key, acct, srv, raw) != ERR_OK)
        goto out;
    if (!crypto_memeq(mac, raw + SYNCAUTH_TS_BYTES + SYNCAUTH_RND_BYTES, SYNCAUTH_MAC_BYTES))
        goto out;
    for (i = 0; i < SYNCAUTH_TS_BYTES; i++)
        uts = (uts << 8) | raw[i];
    if (uts > (uint64_t)(INT64_MAX - SYNCAUTH_CHALLENGE_SECONDS))
        goto out;
    ts = (int64_t)uts;
    if (ts > now && ts - now > SYNCAUTH_SKEW)
        goto out;
    if (now >= ts && now - ts > SYNCAUTH_CHALLENGE_SECONDS)
        goto out;
    if (codec_b64_encode(nonce, SYNCAUTH_NONCE_LEN + 1, &n, raw + SYNCAUTH_TS_BYTES,
                         SYNCAUTH_RND_BYTES, CODEC_B64_URL) != ERR_OK ||
        n != SYNCAUTH_NONCE_LEN) {
        nonce[0] = '\0';
        goto out;
    }
    *expires_at = ts + SYNCAUTH_CHALLENGE_SECONDS;
    e = ERR_OK;
out:
    secmem_wipe(raw, sizeof(raw));
    secmem_wipe(mac, sizeof(mac));
    return e;
}

/* Builds "sesame-sync-v1\n" challenge "\n" server (lowercase) into msg. 0 if malformed. */
static size_t syncauth_signed_text(char msg[SYNCAUTH_SIGNED_MAX], const char *challenge,
                                   const char *server)
{
    char srv[ID_LEN + 1];
    size_t n = 0;

    if (!challenge || strnlen(challenge, SYNCAUTH_CHALLENGE_LEN + 1) != SYNCAUTH_CHALLENGE_LEN ||
        !syncauth_id_norm(srv, server, 0))
        return 0;
    memcpy(msg, SYNCAUTH_CONTEXT "\n", sizeof(SYNCAUTH_CONTEXT));
    n += sizeof(SYNCAUTH_CONTEXT);
    memcpy(msg + n, challenge, SYNCAUTH_CHALLENGE_LEN);
    n += SYNCAUTH_CHALLENGE_LEN;
    msg[n++] = '\n';
    memcpy(msg + n, srv, ID_LEN);
    n += ID_LEN;
    return n;
}

/* Signs (challenge, server) with server_key; writes the base64url r||s to sig. */
enum err syncauth_sign(char sig[SYNCAUTH_SIG_LEN + 1], const struct ec_key *server_key,
                       const char *challenge, const char *server)
{
    char msg[SYNCAUTH_SIGNED_MAX];
    unsigned char rs[ECDSA_P256_SIG_BYTES];
    size_t n, m = 0;

    if (sig)
        sig[0] = '\0';
    if (!sig || !server_key || !ecdsa_p256_has_private(server_key))
        return ERR_BAD_INPUT;
    n = syncauth_signed_text(msg, challenge, server);
    if (n == 0)
        return ERR_BAD_INPUT;
    if (ecdsa_p256_sign(server_key, msg, n, rs) != ERR_OK)
        return ERR_CRYPTO;
    if (codec_b64_encode(sig, SYNCAUTH_SIG_LEN + 1, &m, rs, sizeof(rs), CODEC_B64_URL) != ERR_OK ||
        m != SYNCAUTH_SIG_LEN) {
        sig[0] = '\0';
        return ERR_CRYPTO;
    }
    return ERR_OK;
}

/* Verifies a base64url signature of (challenge, server) with server_pub. */
enum err syncauth_verify(const struct ec_key *server_pub, const char *challenge, const char *server,
                         const char *sig)
{
    char msg[SYNCAUTH_SIGNED_MAX];
    unsigned char rs[ECDSA_P256_SIG_BYTES];
    size_t n, m = 0;

    if (!server_pub || !sig || strnlen(sig, SYNCAUTH_SIG_LEN + 1) != SYNCAUTH_SIG_LEN)
        return ERR_UNAUTHORIZED;
    n = syncauth_signed_text(msg, challenge, server);
    if (n == 0)
        return ERR_UNAUTHORIZED;
    if (codec_b64_decode(rs, sizeof(rs), &m, sig, SYNCAUTH_SIG_LEN, CODEC_B64_URL) != ERR_OK ||
        m != sizeof(rs))
        return ERR_UNAUTHORIZED;
    if (ecdsa_p256_verify(server_pub, msg, n, rs, sizeof(rs)) != ERR_OK)
        return ERR_UNAUTHORIZED;
    return ERR_OK;
}

/* Makes a random session secret (base64url text) and the SHA-256 of that text. */
enum err syncauth_session_new(char secret[SYNCAUTH_SESSION_LEN + 1], unsigned char sha256[32])
{
    unsigned char raw[SYNCAUTH_SESSION_BYTES];
    size_t n = 0;
    enum err e = ERR_CRYPTO;

    if (secret)
        secret[0] = '\0';
    if (!secret || !sha256)
        return ERR_CRYPTO;
    if (crypto_random(raw, sizeof(raw)) != ERR_OK)
        goto out;
    if (codec_b64_encode(secret, SYNCAUTH_SESSION_LEN + 1, &n, raw, sizeof(raw), CODEC_B64_URL) !=
            ERR_OK ||
        n != SYNCAUTH_SESSION_LEN)
        goto fail;
    if (hash_sha256(sha256, secret, SYNCAUTH_SESSION_LEN) != ERR_OK)
        goto fail;
    e = ERR_OK;
    goto out;
fail:
    secmem_wipe(secret, SYNCAUTH_SESSION_LEN + 1);
out:
    secmem_wipe(raw, sizeof(raw));
    return e;
}

/* Hashes a presented session secret (exactly SYNCAUTH_SESSION_LEN base64url characters). */
enum err syncauth_session_hash(unsigned char sha256[32], const char *secret, size_t len)
{
    unsigned char raw[SYNCAUTH_SESSION_BYTES];
    size_t n = 0;
    enum err e = ERR_UNAUTHORIZED;

    if (!sha256 || !secret || len != SYNCAUTH_SESSION_LEN)
        return ERR_UNAUTHORIZED;
    if (codec_b64_decode(raw, sizeof(raw), &n, secret, len, CODEC_B64_URL) != ERR_OK ||
        n != SYNCAUTH_SESSION_BYTES)
        goto out;
    if (hash_sha256(sha256, secret, len) != ERR_OK)
        goto out;
    e = ERR_OK;
out:
    secmem_wipe(raw, sizeof(raw));
    return e;
}
