/* Shared between the command lines of cli/ only. */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <getopt.h>

#include "common/error.h"
#include "common/strv.h"
#include "gitwatch/repo.h"
#include "planner/commit.h"

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
 * next to the binary (<bin>/../config), an installed copy next to it
 * (<bin>/../share/shipyard), or the path `make install` compiled in
 * ($(DATADIR)/worker.conf, /usr/local/share/shipyard by default), whether
 * it exists or not (reading it then names it in the error). */
char *cli_default_manifest(void);

/* What a command looking at one commit's graph (depsearch, analyze) reads.
 * Nothing is owned. */
struct cli_commit_request {
	const char *repo_path;       /* the distribution's git repository */
	const char *rev;             /* the revision to read */
	const char *state_dir;       /* spec cache; published repositories */
	const char *channel;         /* whose published snapshot's Provides the
				      * graph learns, as the pipeline's does;
				      * NULL: HEAD's branch */
	const char *arch;            /* NULL: x86_64 */
	int jobs;                    /* parallel spec readers; <= 0: cores */
	const char *worker_manifest; /* its toolchain offers what nothing else
				      * does; NULL: none (no spec-level edge
				      * comes from it, so a search needs none) */
};

/* One commit read as the pipeline's plan stage reads it: index and graph,
 * no build keys. Zero-initialise; release with cli_commit_release. */
struct cli_commit {
	struct gitwatch_repo *repo;
	char *learn;                 /* the published snapshot learned from, or NULL */
	struct sy_strv toolchain;    /* the worker manifest's capabilities */
	struct planner_commit commit;
};

/* Reads r->rev of r->repo_path into c. Returns 0, or -1 with err (the
 * repository, the revision, the manifest, the spec cache). Release c with
 * cli_commit_release in both cases. */
int cli_commit_load(const struct cli_commit_request *r, struct cli_commit *c, struct sy_error *err);

/* Frees what c holds and zeroes it. */
void cli_commit_release(struct cli_commit *c);

#endif
