/*
 * ids.h - Connect-shaped identifiers: 26 characters of unpadded base32 of 16 random
 * bytes, lowercase for vaults, items, files, tokens (jti) and servers on the wire, and the
 * uppercase form for account and server ids in lastEditedBy / sub / auuid.
 * Also RFC 4122 version 4 UUIDs for request ids in logs (Connect's request_id shape).
 */
#ifndef SESAME_COMMON_IDS_H
#define SESAME_COMMON_IDS_H

#include <stddef.h>

#include "common/err.h"

#define ID_BYTES 16
#define ID_LEN   26 /* characters, without the NUL */
#define UUID_LEN 36 /* 8-4-4-4-12 */

/* Writes a new random lowercase id (ID_LEN chars + NUL) to out. ERR_OK or ERR_CRYPTO. */
enum err id_new(char out[ID_LEN + 1]) SESAME_WUR;

/* Writes a new random uppercase id to out. ERR_OK or ERR_CRYPTO. */
enum err id_new_upper(char out[ID_LEN + 1]) SESAME_WUR;

/* Encodes 16 bytes as an id (lowercase, or uppercase if upper) into out. */
void id_from_bytes(char out[ID_LEN + 1], const unsigned char bytes[ID_BYTES], int upper);

/*
 * Returns 1 if s is exactly ID_LEN characters of [a-z0-9] - the check Connect and every
 * official client apply to path ids (a title that looks like this is tried as an id first).
 */
int id_is_valid(const char *s);

/* Returns 1 if s is exactly ID_LEN characters of [A-Z0-9] (account / server ids). */
int id_is_valid_upper(const char *s);

/* Writes a new random RFC 4122 version 4 UUID (lowercase, UUID_LEN + NUL). */
enum err id_new_uuid(char out[UUID_LEN + 1]) SESAME_WUR;

#endif
