/*
 * hub_backup.h - `sesame hub backup` and `sesame hub restore` (hub_backup.c), and the
 * data directory's lock that keeps a restore and a running hub apart.
 */
#ifndef SESAME_HUB_HUB_BACKUP_H
#define SESAME_HUB_HUB_BACKUP_H

#include <stddef.h>

#include "common/err.h"

#define HUB_LOCK_FILE "hub.lock" /* in the data directory */

/*
 * The hub database URL the environment names, or NULL (then the hub uses DIR/hub.db):
 * SESAME_HUB_DATABASE_URL, or SESAME_HUB_DATABASE (the same setting by its other name);
 * *var (may be NULL) receives the name it came from. Both set, to different values: NULL,
 * and *conflict (may be NULL) is 1 - the callers refuse to guess.
 */
const char *hub_database_env(const char **var, int *conflict);

/*
 * Takes the data directory's lock: an exclusive flock on DIR/hub.lock (created 0600; DIR is
 * created 0700 when it is missing, one level, as store_open does), held while *fd stays
 * open. `sesame hub` holds it while it runs; `sesame hub restore` takes it so that no hub
 * opens the database while it is swapped. *fd receives the descriptor (close it to
 * release; it is close-on-exec) or -1. Every failure writes one line to errmsg. Returns
 * ERR_OK, ERR_CONFLICT (another process holds the lock), ERR_CONFIG (path too long) or
 * ERR_IO.
 */
enum err hub_data_lock(const char *dir, int *fd, char *errmsg, size_t errcap) SESAME_WUR;

/*
 * `sesame hub backup [--data DIR] --out FILE`: an online copy of DIR/hub.db (or of the
 * SQLite file SESAME_HUB_DATABASE_URL names) to FILE, never replacing FILE
 * (store_backup_to). argv[1] is "hub", argv[2] "backup". Returns a CLI_EXIT_* status;
 * errors are one line on stderr.
 */
int hub_backup_main(int argc, char **argv);

/*
 * `sesame hub restore [--data DIR] --from FILE`: with the hub stopped (the lock), checks
 * and copies FILE to DIR/hub.db; the database it replaces is kept beside it as
 * DIR/hub.db.replaced-TIME (with its -wal). argv[1] is "hub", argv[2] "restore". Returns a
 * CLI_EXIT_* status; errors are one line on stderr.
 */
int hub_restore_main(int argc, char **argv);

#endif
