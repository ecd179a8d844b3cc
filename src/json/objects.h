/*
 * objects.h - the Connect objects other than items: Vault, File, APIRequest (activity),
 * ServerHealth, and the client side of ErrorResponse. Serialisers omit empty attributes;
 * parsers read what a Connect server returns (for the client commands and round trips).
 */
#ifndef SESAME_JSON_OBJECTS_H
#define SESAME_JSON_OBJECTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/ids.h"
#include "common/limits.h"

#define VAULT_TYPE_MAX 16 /* "USER_CREATED" + NUL, with room */

struct vault_meta {
    char vm_id[ID_LEN + 1];
    char vm_name[VAULT_MAX_NAME_BYTES + 1];
    char vm_description[VAULT_MAX_DESC_BYTES + 1]; /* "" when none */
    int64_t vm_attribute_version;
    int64_t vm_content_version;
    int64_t vm_items;             /* active items */
    char vm_type[VAULT_TYPE_MAX]; /* USER_CREATED, PERSONAL, EVERYONE or TRANSFER */
    int64_t vm_created_at;        /* Unix seconds */
    int64_t vm_updated_at;        /* Unix seconds */
};

struct file_meta {
    char fm_id[ID_LEN + 1];
    char fm_name[FILE_MAX_NAME_BYTES + 1];
    int64_t fm_size;                           /* bytes */
    char fm_section_id[ITEM_MAX_ID_BYTES + 1]; /* "" when not in a section */
};

enum activity_action { ACTIVITY_READ = 1, ACTIVITY_CREATE, ACTIVITY_UPDATE, ACTIVITY_DELETE };
enum activity_result { ACTIVITY_SUCCESS = 1, ACTIVITY_DENY };
enum activity_resource { ACTIVITY_VAULT = 1, ACTIVITY_ITEM };

#define ACTIVITY_MAX_USER_AGENT 512
#define ACTIVITY_MAX_IP         64

struct activity {
    char ac_request_id[UUID_LEN + 1];
    int64_t ac_timestamp; /* Unix seconds */
    enum activity_action ac_action;
    enum activity_result ac_result;
    char ac_actor_id[ID_LEN + 1];      /* Connect server id (upper case) */
    char ac_actor_account[ID_LEN + 1]; /* account id (upper case) */
    char ac_actor_jti[ID_LEN + 1];     /* token id */
    char ac_user_agent[ACTIVITY_MAX_USER_AGENT + 1];
    char ac_request_ip[ACTIVITY_MAX_IP + 1];
    enum activity_resource ac_resource;
    char ac_vault_id[ID_LEN + 1];
    char ac_item_id[ID_LEN + 1]; /* "" for vault resources */
    int64_t ac_item_version;     /* 0 when not applicable */
};

struct health_dependency {
    const char *hd_service;
    const char *hd_status;  /* ACTIVE, NOT_SYNCED, UNINITIALIZED, TOKEN_NEEDED, ... */
    const char *hd_message; /* NULL or "" to omit */
};

/* Returns 1 if type is one of the four vault types Connect clients accept. */
int vault_type_valid(const char *type);

/* Builds a Vault object (caller decrefs). Returns ERR_OK, ERR_NOMEM or ERR_BAD_INPUT. */
enum err vault_to_json(json_t **out, const struct vault_meta *v) SESAME_WUR;

/* Parses a Vault object. Returns ERR_OK or ERR_BAD_INPUT with errmsg naming the attribute. */
enum err vault_from_json(struct vault_meta *v, const json_t *obj, char *errmsg,
                         size_t errcap) SESAME_WUR;

/*
 * Builds a File object with content_path for the given vault and item; content_b64 (may be
 * NULL) is added as "content" (inline_files). Caller decrefs.
 */
enum err file_to_json(json_t **out, const struct file_meta *f, const char *vault_id,
                      const char *item_id, const char *content_b64) SESAME_WUR;

/* Parses a File object. Returns ERR_OK or ERR_BAD_INPUT with errmsg. */
enum err file_from_json(struct file_meta *f, const json_t *obj, char *errmsg,
                        size_t errcap) SESAME_WUR;

/* Returns the wire names of activity enums ("READ", "SUCCESS", "ITEM"), or "" if invalid. */
const char *activity_action_name(enum activity_action a);
const char *activity_result_name(enum activity_result r);
const char *activity_resource_name(enum activity_resource r);

/*
 * Appends an APIRequest object to out as compact JSON text (written directly: it is made
 * for every request). Returns ERR_OK, ERR_BAD_INPUT (an unknown enum or time), or the
 * buffer's error (which leaves out empty).
 */
enum err activity_to_text(struct buf *out, const struct activity *a) SESAME_WUR;

/* Bytes activity_to_text reserves at once: a usual entry (~450 bytes) fits. */
#define ACTIVITY_TEXT_GUESS 640

/* Parses an APIRequest object. Returns ERR_OK or ERR_BAD_INPUT with errmsg. */
enum err activity_from_json(struct activity *a, const json_t *obj, char *errmsg,
                            size_t errcap) SESAME_WUR;

/* Builds a ServerHealth object {name, version, dependencies[]} (caller decrefs). */
enum err health_to_json(json_t **out, const char *name, const char *version,
                        const struct health_dependency *deps, size_t ndeps) SESAME_WUR;

/*
 * Reads a Connect ErrorResponse {"status", "message"}: *status gets the status (0 if
 * absent), *message points into obj (NULL if absent). Returns ERR_OK or ERR_BAD_INPUT.
 */
enum err error_from_json(int *status, const char **message, const json_t *obj) SESAME_WUR;

#endif
