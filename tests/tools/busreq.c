/*
 * busreq.c - a test tool for the integration tests: sends one message over the bus to
 * `sesame sync`, as the api does, and prints the JSON answer (compact, keys sorted) on one
 * line.
 *
 *   busreq [--wrong-secret | --no-secret] OP
 *
 * The credentials file (OP_SESSION), the bus endpoint (OP_BUS_PEERS / OP_BUS_PORT /
 * SESAME_BUS_SOCKET / the data directory) and the bus key (from the file's uniqueKey) come
 * from the environment, as for `sesame api`. OP "unlock" reads a token on stdin, verifies it
 * with the file's signing keys and sends {"op":"unlock"} with the token's unlock secret
 * (--wrong-secret: 32 random bytes instead, and no token is read; --no-secret: none). Any
 * other OP is sent as {"op":OP} without a secret.
 *
 * Exit status: 0 when an answer arrived, 1 on any other failure (one line on stderr), 2 for
 * bad usage.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "common/buf.h"
#include "common/config.h"
#include "crypto/crypto.h"
#include "crypto/jwk.h"
#include "keys/credentials.h"
#include "keys/token.h"

#define BUSREQ_TIMEOUT_MS 15000
#define BUSREQ_TOKEN_MAX  16384

extern char **environ;

static int busreq_usage(void)
{
    fprintf(stderr, "usage: busreq [--wrong-secret | --no-secret] OP\n");
    return 2;
}

/* Reads the token from stdin into out (trailing whitespace dropped). Returns 1 or 0. */
static int busreq_read_token(struct buf *out)
{
    char chunk[4096];
    size_t n;

    buf_init(out, BUSREQ_TOKEN_MAX);
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
        if (buf_add(out, chunk, n) != ERR_OK)
            return 0;
    }
    while (out->b_len > 0 &&
           (out->b_data[out->b_len - 1] == '\n' || out->b_data[out->b_len - 1] == '\r' ||
            out->b_data[out->b_len - 1] == ' '))
        out->b_data[--out->b_len] = '\0';
    return out->b_len > 0;
}

/* Puts the token's unlock secret (or random bytes) into req's secret. Returns 1 or 0. */
static int busreq_secret(struct bus_msg *req, const struct credentials *cred, int wrong)
{
    struct token_claims claims;
    enum token_reason why = TOKEN_OK;
    const struct jws_key *keys;
    struct buf tok;
    size_t nkeys = 0;
    int ok = 0;

    req->bm_secret = secmem_alloc(CREDENTIALS_UNLOCK_BYTES);
    if (!req->bm_secret)
        return 0;
    req->bm_secret_len = CREDENTIALS_UNLOCK_BYTES;
    if (wrong)
        return crypto_random(req->bm_secret, CREDENTIALS_UNLOCK_BYTES) == ERR_OK;
    memset(&claims, 0, sizeof(claims));
    if (!busreq_read_token(&tok)) {
        fprintf(stderr, "busreq: no token on stdin\n");
        goto out;
    }
    keys = credentials_signing_keys(cred, &nkeys);
    if (token_verify(&claims, buf_str(&tok), tok.b_len, keys, nkeys, credentials_server_id(cred),
                     (int64_t)time(NULL), &why) != ERR_OK) {
        fprintf(stderr, "busreq: the token does not verify: %s\n", token_reason_name(why));
        goto out;
    }
    memcpy(req->bm_secret, claims.tc_unlock, CREDENTIALS_UNLOCK_BYTES);
    ok = 1;
out:
    token_claims_clear(&claims);
    buf_free(&tok);
    return ok;
}

int main(int argc, char **argv)
{
    struct config cf;
    struct credentials *cred = NULL;
    struct bus_client *bc = NULL;
    struct bus_endpoint ep;
    struct bus_msg req, resp;
    const struct jwk *unique;
    unsigned char *key = NULL;
    char errmsg[512], sockpath[BUS_SOCKET_PATH_MAX + 1], *text;
    const char *op = NULL;
    struct buf file;
    int i, wrong = 0, nosecret = 0, ret = 1;
    enum err e;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--wrong-secret") == 0)
            wrong = 1;
        else if (strcmp(argv[i], "--no-secret") == 0)
            nosecret = 1;
        else if (!op && argv[i][0] != '-')
            op = argv[i];
        else
            return busreq_usage();
    }
    if (!op || (wrong && nosecret))
        return busreq_usage();
    memset(&cf, 0, sizeof(cf));
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    buf_init(&file, 1);
    if (crypto_init() != ERR_OK) {
        fprintf(stderr, "busreq: cannot initialise the crypto libraries\n");
        return 1;
    }
    if (config_load(&cf, environ, errmsg, sizeof(errmsg)) != ERR_OK ||
        config_session_read(&file, cf.cf_session, cf.cf_home, errmsg, sizeof(errmsg)) != ERR_OK ||
        credentials_parse(&cred, buf_str(&file), file.b_len, errmsg, sizeof(errmsg)) != ERR_OK ||
        bus_endpoint_from_config(&ep, sockpath, sizeof(sockpath), &cf, BUS_ROLE_CLIENT, errmsg,
                                 sizeof(errmsg)) != ERR_OK) {
        fprintf(stderr, "busreq: %s\n", errmsg);
        goto out;
    }
    unique = credentials_unique_key(cred);
    if (!unique || !unique->jk_secret ||
        bus_key_derive(&key, unique->jk_secret, JWK_OCT_BYTES) != ERR_OK ||
        bus_client_new(&bc, &ep, key) != ERR_OK) {
        fprintf(stderr, "busreq: cannot set up the bus client\n");
        goto out;
    }
    req.bm_json = json_pack("{s:s}", "op", op);
    if (!req.bm_json)
        goto out;
    if (strcmp(op, "unlock") == 0 && !nosecret && !busreq_secret(&req, cred, wrong))
        goto out;
    e = bus_client_call(bc, &req, &resp, BUSREQ_TIMEOUT_MS);
    if (e != ERR_OK || !resp.bm_json) {
        fprintf(stderr, "busreq: the bus call failed: %s\n", err_name(e));
        goto out;
    }
    text = json_dumps(resp.bm_json, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        goto out;
    printf("%s\n", text);
    free(text);
    ret = 0;
out:
    bus_msg_clear(&req);
    bus_msg_clear(&resp);
    bus_client_free(bc);
    bus_key_free(key);
    credentials_free(cred);
    buf_free(&file);
    config_free(&cf);
    return ret;
}
