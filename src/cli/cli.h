/* cli.h - the sesame command line: subcommand table and dispatch. */
#ifndef SESAME_CLI_CLI_H
#define SESAME_CLI_CLI_H

/* Exit codes of every sesame command. */
#define CLI_EXIT_OK    0 /* success */
#define CLI_EXIT_FAIL  1 /* the command ran and failed */
#define CLI_EXIT_USAGE 2 /* bad usage, unknown or not yet available command */

/*
 * Runs the sesame command line: argv[1] names the subcommand. Returns the process exit
 * status (CLI_EXIT_*). Errors are one line on stderr.
 */
int cli_main(int argc, char **argv);

#endif
