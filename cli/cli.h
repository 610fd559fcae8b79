/* Shared between the command lines of cli/ only. */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <getopt.h>

#include "common/strv.h"

/* getopt_long values of the options every command that reads a repository
 * at a commit takes; a command's own start at CLI_OPT_OWN. */
enum { CLI_OPT_REPO = 256, CLI_OPT_STATE, CLI_OPT_CHANNEL, CLI_OPT_ARCH, CLI_OPT_JOBS,
       CLI_OPT_HELP, CLI_OPT_OWN };

/* Those options, for the start of a struct option table: --repo DIR, --state
 * DIR, --channel NAME, --arch ARCH, --jobs N, --help. */
#define CLI_REPOSITORY_OPTIONS                                        \
	{ "repo", required_argument, NULL, CLI_OPT_REPO },            \
	{ "state", required_argument, NULL, CLI_OPT_STATE },          \
	{ "channel", required_argument, NULL, CLI_OPT_CHANNEL },      \
	{ "arch", required_argument, NULL, CLI_OPT_ARCH },            \
	{ "jobs", required_argument, NULL, CLI_OPT_JOBS },            \
	{ "help", no_argument, NULL, CLI_OPT_HELP }

/* Prints "shipyard: <msg>" (when msg is not NULL) and usage to stderr;
 * returns 2, the exit status of a usage error. */
int cli_usage_error(const char *usage, const char *msg);

/* Appends the names of a comma- or space-separated list to names. */
void cli_split_list(const char *list, struct sy_strv *names);

/* Returns the default worker manifest, newly allocated:
 * $SHIPYARD_CONFIG_DIR/worker.conf, the source tree's config/worker.conf
 * next to the binary, or the installed copy. */
char *cli_default_manifest(void);

#endif
