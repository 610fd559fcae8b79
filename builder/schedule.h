/* Running a rebuild set: every entry of the plan in build order, each build
 * reused when an artifact with its build key exists, otherwise built in an
 * isolated root (builder/buildjob.h) from its spec directory at the commit,
 * after its sources were verified against <spec>.signatures.json. A failed
 * build blocks only the specs whose build root needs its packages,
 * transitively. Specs with BuildRequires the graph could not resolve run
 * last, resolved against the headers of the packages built by then. */
#ifndef BUILDER_SCHEDULE_H
#define BUILDER_SCHEDULE_H

#include <stddef.h>

#include "builder/graph.h"
#include "builder/index.h"
#include "builder/plan.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/strv.h"
#include "gitwatch/repo.h"

/* The outcome of one job. */
enum builder_job_state {
	BUILDER_JOB_BUILT,   /* built now */
	BUILDER_JOB_REUSED,  /* an artifact with the same build key existed */
	BUILDER_JOB_FAILED,  /* the spec itself failed (parse, sources, build) */
	BUILDER_JOB_BLOCKED, /* a spec it BuildRequires failed */
};

/* One job's result, parallel to the plan's entries. */
struct builder_job_result {
	enum builder_job_state state;
	char *reason;        /* one line for FAILED and BLOCKED, else NULL */
	struct sy_strv rpms; /* binary RPMs (artifact paths) when BUILT or REUSED */
	char *srpm;          /* SRPM path when BUILT or REUSED */
	char *log_path;      /* the job's log file */
	double seconds;      /* build duration, 0 when reused */
	int late;            /* 1 when BuildRequires were resolved against
			      * packages built in this run (generated provides) */
};

/* Progress callback: done of total jobs finished; spec is the job just
 * started (state NULL) or finished (state "built", "reused", "failed",
 * "blocked"). */
typedef void (*builder_progress_fn)(void *arg, size_t done, size_t total, const char *spec,
				    const char *state);

/* Finds the RPM file of a binary package that is not rebuilt in this run
 * (e.g. in the published repository). Returns a newly allocated path or NULL. */
typedef char *(*builder_find_rpm_fn)(void *arg, const char *rpm_file_name);

/* Everything a schedule run needs. */
struct builder_schedule_input {
	struct gitwatch_repo *repo;
	const struct builder_index *index;  /* specs at the commit being built */
	const struct builder_graph *graph;
	const struct builder_plan *plan;
	const char (*keys)[SY_SHA256_HEX_LEN + 1]; /* build key per spec */
	const char *artifacts_dir;  /* <state>/artifacts */
	const char *builds_dir;     /* <state>/builds (per-job scratch) */
	const char *log_dir;        /* one "<spec name>.log" per job */
	const char *worker_root;    /* cached worker root */
	unsigned timeout_s;         /* per build, 0 = none */
	builder_find_rpm_fn find_rpm;
	void *find_rpm_arg;
	const struct sy_strv *published_rpms; /* RPMs of the published repository,
				     * for BuildRequires resolved late; may be NULL */
	builder_progress_fn progress;
	void *progress_arg;
};

/* Runs every entry of in->plan; results must hold plan->n zeroed entries.
 * Returns the number of FAILED plus BLOCKED jobs (0 = all good). */
size_t builder_schedule_run(const struct builder_schedule_input *in,
			    struct builder_job_result *results);

/* Returns "built", "reused", "failed" or "blocked". */
const char *builder_job_state_name(enum builder_job_state state);

/* Returns the RPM file name of a package, "name-version-release.arch.rpm"
 * (epoch dropped, as rpmbuild names files), newly allocated. */
char *builder_package_rpm_name(const struct builder_package *pkg);

/* Loads the outputs of the artifact directory dir (<artifacts>/<build key>)
 * into res->rpms and res->srpm. Returns 1 when the artifact is complete
 * (its summary.json exists), else 0 (res untouched). */
int builder_artifact_lookup(const char *dir, struct builder_job_result *res);

/* Frees a result's fields. */
void builder_job_result_release(struct builder_job_result *res);

#endif
