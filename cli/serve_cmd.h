/* The `shipyard serve` command line. */
#ifndef CLI_SERVE_CMD_H
#define CLI_SERVE_CMD_H

/* Usage text of `shipyard serve`. */
extern const char cli_serve_usage[];

/* Runs `shipyard serve -c FILE [--worker-manifest FILE] [--worker-cache
 * DIR]` (argv[0] is "serve"). Returns the exit status: 0 after a graceful
 * stop, 2 on a usage or start error (printed). */
int cli_serve_command(int argc, char **argv);

#endif
