/*
 * fuzz_notice.c - libFuzzer driver for the hub store's commit notices
 * (store_notice_parse, src/store/store.c): the text other hub replicas send over
 * PostgreSQL's NOTIFY, "ACCOUNT:SEQ:ORIGIN". The input is taken as a C string (up to its
 * first NUL, at most STORE_DB_NOTICE_MAX bytes).
 *
 * Checks, aborting on a violation: an accepted notice has a valid uppercase account id and a
 * valid lowercase origin, and composing it again from the parts gives back the input exactly
 * (one spelling per notice: no sign, no leading zeros).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[STORE_DB_NOTICE_MAX + 1], again[STORE_DB_NOTICE_MAX + 32];
    char account[ID_LEN + 1], origin[ID_LEN + 1];
    uint64_t seq = 0;
    size_t n = size < STORE_DB_NOTICE_MAX ? size : STORE_DB_NOTICE_MAX;

    memcpy(text, data, n);
    text[n] = '\0';
    if (store_notice_parse(text, account, &seq, origin) != 0)
        return 0;
    if (!id_is_valid_upper(account) || !id_is_valid(origin))
        abort();
    (void)snprintf(again, sizeof(again), "%s:%" PRIu64 ":%s", account, seq, origin);
    if (strcmp(again, text) != 0)
        abort();
    return 0;
}
