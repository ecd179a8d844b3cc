/* main.c - the sesame executable: a thin dispatcher over the subcommands in src/cli/. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
