/*
 * hub_migrate.h - `sesame hub migrate` (hub_migrate.c): moving a hub to another database.
 */
#ifndef SESAME_HUB_HUB_MIGRATE_H
#define SESAME_HUB_HUB_MIGRATE_H

/*
 * `sesame hub migrate --from SRC [--to DST]`: copies the hub database SRC (a SQLite path,
 * sqlite:PATH or postgresql://...) into DST (the same forms; default
 * SESAME_HUB_DATABASE_URL, which keeps a password out of the process list), which must hold
 * no hub yet, with store_copy: ciphertext as stored, nothing decrypted, verified by counting
 * every table on both sides. A SQLite source's data directory lock is taken, so a hub still
 * running on it is refused. argv[1] is "hub", argv[2] "migrate". Prints one line per table
 * and never a URL (it may hold a password). Returns a CLI_EXIT_* status; errors are one
 * line on stderr.
 */
int hub_migrate_main(int argc, char **argv);

#endif
