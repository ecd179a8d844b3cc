/*
 * commands.h - the subcommands of the sesame command line (cli.c dispatches to them).
 * Each takes the whole argv (argv[1] is its own name), prints its output on stdout and
 * any error as one line on stderr, and returns a CLI_EXIT_* code.
 */
#ifndef SESAME_CLI_COMMANDS_H
#define SESAME_CLI_COMMANDS_H

/* `sesame hub`: src/hub/hub_main.c */
int hub_main(int argc, char **argv);

/* `sesame sync`: src/sync/sync_main.c */
int sync_main(int argc, char **argv);

/* `sesame api`: src/api/api_main.c */
int api_main(int argc, char **argv);

/* `sesame account init|show`: cli_account.c */
int cli_cmd_account(int argc, char **argv);

/* `sesame vault create|list|get|rename|delete`: cli_vault.c */
int cli_cmd_vault(int argc, char **argv);

/* `sesame item create|get|list|edit|delete`: cli_item.c */
int cli_cmd_item(int argc, char **argv);

/* `sesame connect server|vault|token ...`: cli_connect.c */
int cli_cmd_connect(int argc, char **argv);

/* `sesame activity`: cli_activity.c */
int cli_cmd_activity(int argc, char **argv);

/* `sesame up`: hub, sync and api supervised on one local data directory; cli_up.c */
int cli_cmd_up(int argc, char **argv);

/* `sesame read REF`: one secret from a Connect server; cli_read.c */
int cli_cmd_read(int argc, char **argv);

/* `sesame inject`: a template with its secret references filled in; cli_read.c */
int cli_cmd_inject(int argc, char **argv);

/* `sesame run -- CMD`: CMD with the references of its environment resolved; cli_run.c */
int cli_cmd_run(int argc, char **argv);

#endif
