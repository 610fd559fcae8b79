/* shipyard gc: applies the retention limits to a state directory
 * (pipeline/gc.h). */
#ifndef CLI_GC_CMD_H
#define CLI_GC_CMD_H

/* The command's --help text. */
extern const char cli_gc_usage[];

/* Runs `shipyard gc [options]` with argv[0] = "gc". The limits are the
 * [retention] section of --config FILE (whose serve.state is the state
 * directory), else STATE_RETENTION_DEFAULTS, each replaced by the option
 * that names it. Prints one line per thing removed or kept by a reference
 * to stdout, errors to stderr. Returns the exit status: 0 done, 1 something
 * could not be removed, 2 usage or set-up error. */
int cli_gc_command(int argc, char **argv);

#endif
