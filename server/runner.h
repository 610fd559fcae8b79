/* Running one pipeline of the service: its repository mirror is fetched,
 * then `shipyard run` runs as a child process (the same binary) on the
 * mirror (state_mirror_dir), its output appended to
 * <state>/pipelines/<id>/pipeline.log (its run directory: it writes its
 * reports and job logs there too), its
 * statuses and job events read as JSON lines from a pipe (`--events-fd`).
 * A child process per pipeline keeps the service's threads out of the
 * builds' forks, and lets a superseded pipeline be stopped with SIGTERM
 * (which cancels its builds and cleans their roots). */
#ifndef SERVER_RUNNER_H
#define SERVER_RUNNER_H

#include <sys/types.h>

#include "builder/schedule.h"
#include "common/error.h"
#include "forge/forge.h"
#include "server/serveconf.h"
#include "server/store.h"

/* Callbacks for what the child reports. */
struct server_runner_sink {
	/* A status line: context ("shipyard/build"), state, description. */
	void (*status)(void *arg, const char *context, enum forge_state state,
		       const char *description);
	/* A job started (RUNNING) or ended (its final state); reason, log may
	 * be NULL. */
	void (*job)(void *arg, const char *name, enum builder_job_state state, const char *reason,
		    const char *log, double seconds);
	/* The cascade guard held the plan (plan.maxrebuild): description is
	 * its verdict, "9 specs to build, over plan.maxrebuild 3; biggest
	 * causes: ...". May be NULL. */
	void (*held)(void *arg, const char *description);
	void *arg;
};

/* What one run needs. */
struct server_runner_request {
	const struct server_store_pipeline *pipeline;
	const struct server_repo_conf *repo;
	const char *config;       /* the service's configuration file, which the
				   * child reads the repository's settings from */
	const char *state_dir;    /* the service's state directory */
	const char *self;         /* the shipyard binary to run */
	const char *worker_cache; /* or NULL */
	const char *worker_manifest; /* or NULL */
	pid_t *child;             /* set to the child's pid while it runs (for
				   * server_runner_stop), 0 after */
};

/* Fetches the mirror <state>/git/<repo>.git (all branches, and for a pull
 * request refs/pull/<n>/head when the forge has it) and runs the pipeline
 * (with --approve when it approves a held one: pipeline->approves; as
 * `shipyard build --rebuild <spec>`, publishing nothing, when
 * pipeline->rebuild is set).
 * Returns the child's exit status (0 success, 1 some spec or image failed,
 * 2 the pipeline could not run, 3 it was stopped by a signal), or -1 with
 * err when it could not be started (the fetch failed, fork failed). */
int server_runner_run(const struct server_runner_request *req,
		       const struct server_runner_sink *sink, struct sy_error *err);

/* Asks a running child to stop (SIGTERM: its builds are killed and cleaned,
 * nothing is published). */
void server_runner_stop(pid_t child);

#endif
