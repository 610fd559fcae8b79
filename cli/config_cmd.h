/* shipyard config check: checks a configuration file and prints the
 * configuration that applies (every key, defaults marked) or every error. */
#ifndef CLI_CONFIG_CMD_H
#define CLI_CONFIG_CMD_H

/* The command's --help text. */
extern const char cli_config_usage[];

/* Runs `shipyard config check ...` with argv[0] = "config": the service
 * configuration (-c FILE, its [publish "s3"] section too), a repository's
 * shipyard.conf (--distro FILE, or --repo DIR [--rev REV]: the file of a
 * commit, whose spec trees must exist too) or a worker manifest (--worker
 * FILE). Prints "<key> = <value>"
 * lines to stdout ("  (default)" after a value the file does not set),
 * errors to stderr, one a line. Returns the exit status: 0 valid, 1
 * errors, 2 usage. */
int cli_config_command(int argc, char **argv);

#endif
