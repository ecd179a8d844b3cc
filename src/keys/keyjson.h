/*
 * keyjson.h - JSON helpers shared by the key files (account kit, credentials file):
 * dropping trees and texts that held private keys (wiped first), and setting members.
 */
#ifndef SESAME_KEYS_KEYJSON_H
#define SESAME_KEYS_KEYJSON_H

#include <jansson.h>
#include <stddef.h>

/* Wipes the text of every string in the tree v, then decrefs it. NULL is fine. */
void keyjson_drop(json_t *v);

/* Wipes and frees text from json_dumps. NULL is fine. */
void keyjson_text_drop(char *text);

/* Sets obj[name] to a new string; returns 0 or -1. */
int keyjson_set_str(json_t *obj, const char *name, const char *s);

/* Sets obj[name] to the unpadded base64url of n bytes; returns 0 or -1. */
int keyjson_set_b64(json_t *obj, const char *name, const unsigned char *p, size_t n);

#endif
