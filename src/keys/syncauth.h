/*
 * syncauth.h - how a Connect server's sync authenticates to the hub (docs/hub-api.md,
 * "Authentication"): a hub challenge signed with the server signing key, exchanged for a
 * short-lived session secret of which the hub keeps only the SHA-256.
 *
 * Challenge (stateless on the hub, single use through the store's nonce table):
 *   raw = ts (8 bytes big-endian, unix seconds) || rnd (16 random bytes)
 *         || HMAC-SHA256(hub_key, "sesame-challenge-v1" 0x00 ACCOUNT 0x00 server 0x00 ts || rnd)
 *   challenge = base64url(raw) without padding (SYNCAUTH_CHALLENGE_LEN characters)
 * (ACCOUNT uppercase, server lowercase). It is valid for SYNCAUTH_CHALLENGE_SECONDS.
 * The nonce to record as used is base64url(rnd) (22 characters).
 *
 * Signature: ES256 (raw r||s) by the server signing key over
 *   "sesame-sync-v1\n" challenge "\n" server      (server lowercase)
 */
#ifndef SESAME_KEYS_SYNCAUTH_H
#define SESAME_KEYS_SYNCAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "crypto/ecdsa.h"

#define SYNCAUTH_CONTEXT           "sesame-sync-v1"
#define SYNCAUTH_CHALLENGE_CONTEXT "sesame-challenge-v1"
#define SYNCAUTH_HUB_KEY_BYTES     32
#define SYNCAUTH_CHALLENGE_BYTES   56 /* 8 + 16 + 32 */
#define SYNCAUTH_CHALLENGE_LEN     75 /* base64url characters of the challenge */
#define SYNCAUTH_NONCE_LEN         22 /* base64url characters of rnd */
#define SYNCAUTH_CHALLENGE_SECONDS 60
#define SYNCAUTH_SESSION_BYTES     32
#define SYNCAUTH_SESSION_LEN       43 /* base64url characters of a session secret */
#define SYNCAUTH_SESSION_SECONDS   900
#define SYNCAUTH_SIG_LEN           86 /* base64url characters of r||s */

/* Generates a random hub challenge key into key (the caller keeps it in secure memory). */
enum err syncauth_hub_key_generate(unsigned char key[SYNCAUTH_HUB_KEY_BYTES]) SESAME_WUR;

/*
 * Makes a challenge for (account, server) at time now into out (NUL-terminated).
 * Returns ERR_OK, ERR_BAD_INPUT (ids malformed), ERR_CRYPTO.
 */
enum err syncauth_challenge_new(char out[SYNCAUTH_CHALLENGE_LEN + 1],
                                const unsigned char key[SYNCAUTH_HUB_KEY_BYTES],
                                const char *account, const char *server, int64_t now) SESAME_WUR;

/*
 * Checks that challenge was made by this hub key for (account, server), and that now is
 * within SYNCAUTH_CHALLENGE_SECONDS of its time (and not more than 60 s before it). On
 * success copies its nonce (base64url of rnd) to nonce and its expiry time to *expires_at.
 * Returns ERR_OK or ERR_UNAUTHORIZED (malformed, forged, expired, other ids).
 */
enum err syncauth_challenge_check(const char *challenge,
                                  const unsigned char key[SYNCAUTH_HUB_KEY_BYTES],
                                  const char *account, const char *server, int64_t now,
                                  char nonce[SYNCAUTH_NONCE_LEN + 1],
                                  int64_t *expires_at) SESAME_WUR;

/*
 * Signs (challenge, server) with the server signing key; writes the base64url signature
 * (NUL-terminated) to sig. Returns ERR_OK, ERR_BAD_INPUT, ERR_CRYPTO.
 */
enum err syncauth_sign(char sig[SYNCAUTH_SIG_LEN + 1], const struct ec_key *server_key,
                       const char *challenge, const char *server) SESAME_WUR;

/*
 * Verifies a base64url signature of (challenge, server) with the server's public key.
 * Returns ERR_OK or ERR_UNAUTHORIZED.
 */
enum err syncauth_verify(const struct ec_key *server_pub, const char *challenge, const char *server,
                         const char *sig) SESAME_WUR;

/*
 * Makes a new session secret: its base64url text into secret (NUL-terminated) and its
 * SHA-256 into sha256. Returns ERR_OK or ERR_CRYPTO.
 */
enum err syncauth_session_new(char secret[SYNCAUTH_SESSION_LEN + 1],
                              unsigned char sha256[32]) SESAME_WUR;

/*
 * Hashes a presented session secret (len bytes, as sent in "Authorization: Bearer").
 * Returns ERR_OK, or ERR_UNAUTHORIZED when it is not SYNCAUTH_SESSION_LEN base64url
 * characters.
 */
enum err syncauth_session_hash(unsigned char sha256[32], const char *secret, size_t len) SESAME_WUR;

#endif
