/* Shared between the command lines of cli/ only. */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include "common/strv.h"

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
