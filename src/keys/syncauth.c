/* syncauth.c - sync's challenge/response authentication to the hub (see syncauth.h). */
#include "keys/syncauth.h"

#include <string.h>

#include "common/codec.h"
#include "common/ids.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"

#define SA_TS_BYTES  8
#define SA_RND_BYTES 16
#define SA_MAC_BYTES 32
#define SA_MSG_MAX   256 /* the longest signed or MACed message */
#define SA_SKEW      60  /* how far in the future a challenge's time may be */

/* Builds the MACed message of a challenge into msg; returns its length, or 0. */
static size_t sa_mac_msg(unsigned char *msg, const char *account, const char *server,
                         const unsigned char *ts_rnd)
{
    size_t n = 0;

    if (!account || !server || !id_is_valid_upper(account) || !id_is_valid(server))
        return 0;
    memcpy(msg + n, SYNCAUTH_CHALLENGE_CONTEXT, sizeof(SYNCAUTH_CHALLENGE_CONTEXT) - 1);
    n += sizeof(SYNCAUTH_CHALLENGE_CONTEXT) - 1;
    msg[n++] = 0;
    memcpy(msg + n, account, ID_LEN);
    n += ID_LEN;
    msg[n++] = 0;
    memcpy(msg + n, server, ID_LEN);
    n += ID_LEN;
    msg[n++] = 0;
    memcpy(msg + n, ts_rnd, SA_TS_BYTES + SA_RND_BYTES);
    return n + SA_TS_BYTES + SA_RND_BYTES;
}

/* Generates the hub's challenge key; see syncauth.h. */
enum err syncauth_hub_key_generate(unsigned char key[SYNCAUTH_HUB_KEY_BYTES])
{
    return crypto_random(key, SYNCAUTH_HUB_KEY_BYTES) == ERR_OK ? ERR_OK : ERR_CRYPTO;
}

/* Makes a challenge; see syncauth.h. */
enum err syncauth_challenge_new(char out[SYNCAUTH_CHALLENGE_LEN + 1],
                                const unsigned char key[SYNCAUTH_HUB_KEY_BYTES],
                                const char *account, const char *server, int64_t now)
{
    unsigned char raw[SYNCAUTH_CHALLENGE_BYTES], msg[SA_MSG_MAX];
    size_t n, i;

    out[0] = '\0';
    if (now < 0)
        return ERR_BAD_INPUT;
    for (i = 0; i < SA_TS_BYTES; i++)
        raw[i] = (unsigned char)((uint64_t)now >> (56 - 8 * i));
    if (crypto_random(raw + SA_TS_BYTES, SA_RND_BYTES) != ERR_OK)
        return ERR_CRYPTO;
    n = sa_mac_msg(msg, account, server, raw);
    if (n == 0)
        return ERR_BAD_INPUT;
    if (hash_hmac_sha256(raw + SA_TS_BYTES + SA_RND_BYTES, key, SYNCAUTH_HUB_KEY_BYTES, msg, n) !=
        ERR_OK)
        return ERR_CRYPTO;
    if (codec_b64_encode(out, SYNCAUTH_CHALLENGE_LEN + 1, NULL, raw, sizeof(raw), CODEC_B64_URL) !=
        ERR_OK)
        return ERR_CRYPTO;
    return ERR_OK;
}

/* Checks a challenge; see syncauth.h. */
enum err syncauth_challenge_check(const char *challenge,
                                  const unsigned char key[SYNCAUTH_HUB_KEY_BYTES],
                                  const char *account, const char *server, int64_t now,
                                  char nonce[SYNCAUTH_NONCE_LEN + 1], int64_t *expires_at)
{
    unsigned char raw[SYNCAUTH_CHALLENGE_BYTES + 4], msg[SA_MSG_MAX], mac[SA_MAC_BYTES];
    size_t n, len;
    uint64_t ts = 0;
    int i;

    nonce[0] = '\0';
    *expires_at = 0;
    if (!challenge || strnlen(challenge, SYNCAUTH_CHALLENGE_LEN + 1) != SYNCAUTH_CHALLENGE_LEN)
        return ERR_UNAUTHORIZED;
    if (codec_b64_decode(raw, sizeof(raw), &len, challenge, SYNCAUTH_CHALLENGE_LEN,
                         CODEC_B64_URL) != ERR_OK ||
        len != SYNCAUTH_CHALLENGE_BYTES)
        return ERR_UNAUTHORIZED;
    n = sa_mac_msg(msg, account, server, raw);
    if (n == 0 || hash_hmac_sha256(mac, key, SYNCAUTH_HUB_KEY_BYTES, msg, n) != ERR_OK ||
        !crypto_memeq(mac, raw + SA_TS_BYTES + SA_RND_BYTES, SA_MAC_BYTES))
        return ERR_UNAUTHORIZED;
    for (i = 0; i < SA_TS_BYTES; i++)
        ts = (ts << 8) | raw[i];
    if (ts > (uint64_t)INT64_MAX - SYNCAUTH_CHALLENGE_SECONDS || (int64_t)ts > now + SA_SKEW ||
        now > (int64_t)ts + SYNCAUTH_CHALLENGE_SECONDS)
        return ERR_UNAUTHORIZED;
    if (codec_b64_encode(nonce, SYNCAUTH_NONCE_LEN + 1, NULL, raw + SA_TS_BYTES, SA_RND_BYTES,
                         CODEC_B64_URL) != ERR_OK)
        return ERR_UNAUTHORIZED;
    *expires_at = (int64_t)ts + SYNCAUTH_CHALLENGE_SECONDS;
    return ERR_OK;
}

/* Builds the signed message "sesame-sync-v1\n" challenge "\n" server; returns its length. */
static size_t sa_sig_msg(char *msg, size_t cap, const char *challenge, const char *server)
{
    size_t c, s, n;

    if (!challenge || !server)
        return 0;
    c = strnlen(challenge, SYNCAUTH_CHALLENGE_LEN + 1);
    s = strnlen(server, ID_LEN + 1);
    if (c != SYNCAUTH_CHALLENGE_LEN || s != ID_LEN || !id_is_valid(server))
        return 0;
    n = sizeof(SYNCAUTH_CONTEXT) - 1 + 1 + c + 1 + s;
    if (n >= cap)
        return 0;
    memcpy(msg, SYNCAUTH_CONTEXT "\n", sizeof(SYNCAUTH_CONTEXT));
    memcpy(msg + sizeof(SYNCAUTH_CONTEXT), challenge, c);
    msg[sizeof(SYNCAUTH_CONTEXT) + c] = '\n';
    memcpy(msg + sizeof(SYNCAUTH_CONTEXT) + c + 1, server, s);
    return n;
}

/* Signs a challenge; see syncauth.h. */
enum err syncauth_sign(char sig[SYNCAUTH_SIG_LEN + 1], const struct ec_key *server_key,
                       const char *challenge, const char *server)
{
    char msg[SA_MSG_MAX];
    unsigned char raw[ECDSA_P256_SIG_BYTES];
    size_t n = sa_sig_msg(msg, sizeof(msg), challenge, server);

    sig[0] = '\0';
    if (n == 0 || !server_key)
        return ERR_BAD_INPUT;
    if (ecdsa_p256_sign(server_key, msg, n, raw) != ERR_OK)
        return ERR_CRYPTO;
    if (codec_b64_encode(sig, SYNCAUTH_SIG_LEN + 1, NULL, raw, sizeof(raw), CODEC_B64_URL) !=
        ERR_OK)
        return ERR_CRYPTO;
    return ERR_OK;
}

/* Verifies a challenge signature; see syncauth.h. */
enum err syncauth_verify(const struct ec_key *server_pub, const char *challenge, const char *server,
                         const char *sig)
{
    char msg[SA_MSG_MAX];
    unsigned char raw[ECDSA_P256_SIG_BYTES + 4];
    size_t n = sa_sig_msg(msg, sizeof(msg), challenge, server), len;

    if (n == 0 || !server_pub || !sig || strnlen(sig, SYNCAUTH_SIG_LEN + 1) != SYNCAUTH_SIG_LEN ||
        codec_b64_decode(raw, sizeof(raw), &len, sig, SYNCAUTH_SIG_LEN, CODEC_B64_URL) != ERR_OK ||
        len != ECDSA_P256_SIG_BYTES)
        return ERR_UNAUTHORIZED;
    return ecdsa_p256_verify(server_pub, msg, n, raw, len) == ERR_OK ? ERR_OK : ERR_UNAUTHORIZED;
}

/* Makes a session secret; see syncauth.h. */
enum err syncauth_session_new(char secret[SYNCAUTH_SESSION_LEN + 1], unsigned char sha256[32])
{
    unsigned char raw[SYNCAUTH_SESSION_BYTES];
    enum err rc = ERR_CRYPTO;

    secret[0] = '\0';
    if (crypto_random(raw, sizeof(raw)) == ERR_OK &&
        codec_b64_encode(secret, SYNCAUTH_SESSION_LEN + 1, NULL, raw, sizeof(raw), CODEC_B64_URL) ==
            ERR_OK &&
        hash_sha256(sha256, secret, SYNCAUTH_SESSION_LEN) == ERR_OK)
        rc = ERR_OK;
    secmem_wipe(raw, sizeof(raw));
    if (rc != ERR_OK)
        secmem_wipe(secret, SYNCAUTH_SESSION_LEN + 1);
    return rc;
}

/* Hashes a presented session secret; see syncauth.h. */
enum err syncauth_session_hash(unsigned char sha256[32], const char *secret, size_t len)
{
    size_t i;

    if (!secret || len != SYNCAUTH_SESSION_LEN)
        return ERR_UNAUTHORIZED;
    for (i = 0; i < len; i++) {
        char c = secret[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return ERR_UNAUTHORIZED;
    }
    return hash_sha256(sha256, secret, len) == ERR_OK ? ERR_OK : ERR_UNAUTHORIZED;
}
