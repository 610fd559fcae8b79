/* shipyard worker: build, list, check and garbage-collect the cached worker
 * roots (builder/worker.h has the cache layout). */
#ifndef CLI_WORKER_CMD_H
#define CLI_WORKER_CMD_H

/* The command's --help text. */
extern const char cli_worker_usage[];

/* Runs `shipyard worker SUBCOMMAND [options]` with argv[0] = "worker";
 * default_manifest is the manifest used without --manifest (the installed or
 * source tree's config/worker.conf, as the command line finds it). The cache
 * is --cache DIR, else $SHIPYARD_WORKER_CACHE, else <--state DIR>/worker
 * (state default .shipyard). Prints to stdout, errors to stderr. Returns the
 * exit status:
 *   build  0 root ready (its path printed), 2 it could not be built;
 *   list   0 (one line per cached root), 2 the cache cannot be read;
 *   check  0 root sound, 1 problems (one line each), 2 check impossible;
 *   gc     0 done, 1 a root could not be removed, 2 set-up error;
 * and 2 for a usage error. */
int cli_worker_command(int argc, char **argv, const char *default_manifest);

#endif
