/* cli.c - subcommand dispatch, help and version. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "crypto/crypto.h"
#include "http/client.h"

struct cli_command {
    const char *cc_name;                  /* subcommand word */
    const char *cc_summary;               /* one line for --help */
    int (*cc_run)(int argc, char **argv); /* NULL: not yet available */
};

static int cli_cmd_version(int argc, char **argv);
static int cli_cmd_help(int argc, char **argv);

static const struct cli_command cli_commands[] = {
    {"up", "run hub, sync and api together on a local data directory (quick start)", cli_cmd_up},
    {"hub", "run the hub: the zero-knowledge source of truth Connect servers sync from", hub_main},
    {"sync", "run the Connect sync process", sync_main},
    {"api", "run the Connect API process (1Password Connect REST API v1)", api_main},
    {"account", "create and inspect the account kit", cli_cmd_account},
    {"vault", "create, list, rename and delete vaults", cli_cmd_vault},
    {"item", "create, read, edit and delete items", cli_cmd_item},
    {"connect", "manage Connect servers and their tokens", cli_cmd_connect},
    {"activity", "show the activity collected from Connect servers", cli_cmd_activity},
    {"read", "print one secret from a Connect server: sesame read op://vault/item/field",
     cli_cmd_read},
    {"run", "run a command with op:// references in its environment resolved", cli_cmd_run},
    {"inject", "fill op:// references into a template", cli_cmd_inject},
    {"version", "print the version", cli_cmd_version},
    {"help", "show this help", cli_cmd_help},
};

#define CLI_NCOMMANDS (sizeof(cli_commands) / sizeof(cli_commands[0]))

static int cli_cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 2) {
        fprintf(stderr, "sesame: 'version' takes no arguments\n");
        return CLI_EXIT_USAGE;
    }
    printf("sesame %s\n", SESAME_VERSION);
    return CLI_EXIT_OK;
}

static int cli_cmd_help(int argc, char **argv)
{
    size_t i;

    (void)argc;
    (void)argv;
    printf("Sesame %s - a self-hosted, end-to-end encrypted server for the 1Password Connect API\n"
           "\n"
           "Usage: sesame COMMAND [ARGS...]\n"
           "\n"
           "Commands:\n",
           SESAME_VERSION);
    for (i = 0; i < CLI_NCOMMANDS; i++)
        printf("  %-9s %s%s\n", cli_commands[i].cc_name, cli_commands[i].cc_summary,
               cli_commands[i].cc_run ? "" : " (not yet available)");
    printf("\nOptions:\n"
           "  -h, --help     show this help\n"
           "  -V, --version  print the version\n");
    return CLI_EXIT_OK;
}

/* Runs the sesame command line; see cli.h. */
int cli_main(int argc, char **argv)
{
    const char *name;
    size_t i;

    if (argc < 2) {
        cli_cmd_help(argc, argv);
        return CLI_EXIT_USAGE;
    }
    name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0)
        return cli_cmd_help(argc, argv);
    if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0)
        return cli_cmd_version(argc, argv);
    if (crypto_init() != ERR_OK) {
        fprintf(stderr, "sesame: cannot initialise the crypto libraries\n");
        return CLI_EXIT_FAIL;
    }
    if (http_client_global_init() != ERR_OK) {
        fprintf(stderr, "sesame: cannot initialise the HTTP client library\n");
        return CLI_EXIT_FAIL;
    }
    for (i = 0; i < CLI_NCOMMANDS; i++) {
        if (strcmp(name, cli_commands[i].cc_name) != 0)
            continue;
        if (!cli_commands[i].cc_run) {
            fprintf(stderr, "sesame: '%s' is not yet available in this version\n",
                    cli_commands[i].cc_name);
            return CLI_EXIT_USAGE;
        }
        return cli_commands[i].cc_run(argc, argv);
    }
    fprintf(stderr, "sesame: unknown command; see 'sesame --help'\n");
    return CLI_EXIT_USAGE;
}
