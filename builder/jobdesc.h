/* A build job written down: everything one build of a schedule run needs
 * once its spec directory and sources are in place (builder/schedule.h
 * prepares them), as a JSON file that `shipyard buildjob FILE` reads on
 * another machine (a cluster node, builder/slurm.h) and runs there with
 * builder_build_run, storing the outputs as the artifact of the job's build
 * key the way a local job does. Every path in it must be valid where the
 * job runs (a shared file system). */
#ifndef BUILDER_JOBDESC_H
#define BUILDER_JOBDESC_H

#include "planner/macros.h"
#include "common/error.h"
#include "common/strv.h"

/* One job. Strings are owned (builder_jobdesc_release frees them). */
struct builder_jobdesc {
	char *spec_path;       /* repository path of the spec, for messages */
	char *name, *version, *release; /* the spec's, for the artifact summary */
	char *key;             /* its build key */
	char *spec_dir;        /* prepared spec directory (sources checked) */
	char *spec_file;       /* basename of the .spec in spec_dir */
	char *worker_root;     /* cached worker root */
	char *worker_tarball;  /* or NULL (builder_build_request) */
	char *scratch_dir;     /* per-job scratch directory */
	char *artifact_dir;    /* <artifacts>/<key>: where the outputs go, by
				* rename of a temporary sibling */
	char *log_path;        /* the job's log, appended to */
	char *result_path;     /* where the result line is written (atomically) */
	char *rebuild_suffix;  /* or NULL (builder_build_request) */
	char *keep_file;       /* or NULL: a file copied into the artifact (the
				* signatures file rewritten with the sources
				* used) */
	struct sy_strv install_rpms; /* BuildRequires closure */
	struct planner_macro_ctx macros; /* only macro_files, rpmrc, lua_dir,
				* defines and dist_tag are written and read */
	unsigned timeout_s;
	unsigned long long output_limit_bytes;
	unsigned smp_ncpus_max;
	int run_check;
};

/* Writes d to path as JSON (atomically). Returns 0 or -1 with err. */
int builder_jobdesc_write(const struct builder_jobdesc *d, const char *path, struct sy_error *err);

/* Reads the JSON file path into d (zeroed first). Every member must be
 * there with its type; an unknown member is rejected ("path: unknown member
 * 'x'"), since a description from a newer shipyard would otherwise build
 * something else than asked. Returns 0 or -1 with err; d is released on
 * error. */
int builder_jobdesc_read(const char *path, struct builder_jobdesc *d, struct sy_error *err);

/* Runs the job of d here: builder_build_run into a temporary sibling of
 * artifact_dir named after this host and process, its summary written,
 * then renamed to artifact_dir, so that a reader never sees half an
 * artifact. locked: 1 when the caller holds builder_build_lock on
 * scratch_dir (builder_build_request.locked). Returns 0 when built, else -1 with err (the reason) and *infra
 * set as builder_build_result.infrastructure; *seconds is the build's
 * duration and *check its %check result (-1, 0, 1). */
int builder_jobdesc_run(const struct builder_jobdesc *d, int locked, int log_fd, int *infra,
			double *seconds, int *check, struct sy_error *err);

/* The result line of a job, as builder/schedule.c reads it: "<built 0|1>
 * <infrastructure 0|1> <seconds> <check -1|0|1>\t<reason>\n". Newly
 * allocated. */
char *builder_jobdesc_result_line(int built, int infra, double seconds, int check,
				  const char *reason);

/* `shipyard buildjob FILE`: reads FILE, runs it (builder_jobdesc_run) with
 * its log appended to, and writes the result line to its result_path
 * atomically (reason "<spec path>: <why>"). Returns 0 when the result was
 * written (whatever it says), 1 when it could not be (err says why: the
 * scheduler then counts an infrastructure failure). */
int builder_jobdesc_main(const char *path, struct sy_error *err);

/* Frees d's members. */
void builder_jobdesc_release(struct builder_jobdesc *d);

#endif
