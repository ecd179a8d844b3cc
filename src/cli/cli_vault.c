/* PLACEHOLDER while being written: replaced by the real command. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/commands.h"

/* Placeholder: says the command is being written. */
int cli_cmd_vault(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "sesame: '%s' is not yet available in this version\n", argv[1]);
    return CLI_EXIT_USAGE;
}
