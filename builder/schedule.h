/* Running a rebuild set on one machine: up to N builds at a time, each in
 * its own process and isolated root (builder/buildjob.h), ready jobs taken
 * by critical path (builder/scheduler.h). A job starts once the jobs of the
 * specs its build root needs are done. Each is reused when an artifact with
 * its build key exists, skipped as unchanged when only specs whose rebuild
 * produced the same output as before (builder/outdigest.h) put it in the
 * set, otherwise built from its spec directory at the commit after its
 * sources were verified against <spec>.signatures.json. A failed build
 * blocks only the specs whose build root needs it, transitively; a failure
 * of the machine (root setup, mount, disk) is retried up to 3 times. An
 * entry the plan marks blocked (it needs an ignored spec of which no
 * package exists) is not built and blocks the same way. Specs
 * with BuildRequires the graph could not resolve run after all others,
 * resolved against the headers of the packages built by then. */
#ifndef BUILDER_SCHEDULE_H
#define BUILDER_SCHEDULE_H

#include <signal.h>
#include <stddef.h>

#include "planner/graph.h"
#include "planner/index.h"
#include "planner/plan.h"
#include "builder/executor.h"
#include "builder/sources.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/strv.h"
#include "gitwatch/repo.h"

/* Where one job stands: a final state (the first BUILDER_JOB_NFINAL), or
 * queued or running while the run goes on. Names in builder_job_state_name. */
enum builder_job_state {
	BUILDER_JOB_BUILT,     /* built now */
	BUILDER_JOB_REUSED,    /* an artifact with the same build key existed */
	BUILDER_JOB_UNCHANGED, /* not built: only specs whose rebuild gave the same
				* output as before put it in the set; its key is
				* linked to its previous artifact */
	BUILDER_JOB_FAILED,    /* the spec itself failed (parse, sources, build) */
	BUILDER_JOB_BLOCKED,   /* a spec it BuildRequires failed, or is ignored
				* with no package built */
	BUILDER_JOB_SKIPPED,   /* not run: the run was cancelled */
	BUILDER_JOB_NFINAL,    /* the states above are final */
	BUILDER_JOB_QUEUED = BUILDER_JOB_NFINAL, /* waiting for the jobs it needs */
	BUILDER_JOB_RUNNING,   /* started, not finished */
	BUILDER_JOB_NSTATES
};

/* One job's result, parallel to the plan's entries. */
struct builder_job_result {
	enum builder_job_state state;
	char *reason;        /* one line for FAILED and BLOCKED, else NULL */
	struct sy_strv rpms; /* binary RPMs (artifact paths) when BUILT or REUSED */
	char *srpm;          /* SRPM path when BUILT or REUSED */
	char *log_path;      /* the job's log file */
	double seconds;      /* build duration, 0 when reused */
	double started;      /* when the job started and ended, seconds since the */
	double ended;        /* epoch (CLOCK_REALTIME); 0 when it did not run */
	int late;            /* 1 when BuildRequires were resolved against
			      * packages built in this run (generated provides) */
	char *blocker;       /* BLOCKED: %{name} of the failed (or ignored and
			      * unbuilt) spec it needs */
	int attempts;        /* builds started (> 1 after infrastructure retries) */
	char output_digest[SY_SHA256_HEX_LEN + 1]; /* of its RPMs when BUILT,
			      * REUSED or UNCHANGED ("" when unknown) */
	int same_output;     /* 1 when output_digest equals that of the spec's
			      * artifact at the base key */
	int check;           /* %check of a BUILT job: -1 not run, 0 passed, 1
			      * failed (see its log) */
	unsigned counter;    /* the rebuild counter of its build key, given
			      * before it was built (builder/rebuild.h); 0
			      * when not built or none is kept */
	char *release_suffix; /* what that counter added to its packages'
			      * Release after the spec's ("" nothing); NULL
			      * when not built */
	char *warning;       /* one line worth telling of a BUILT job (a
			      * rebuild counter its Release did not take: it
			      * has the NEVRA of another build), else NULL */
};

/* Where a run stands, for progress displays. */
struct builder_progress {
	size_t done;        /* jobs finished */
	size_t total;       /* jobs of the plan */
	size_t running;     /* builds running now */
	const char *spec;   /* the job that just started or finished; NULL on a
			     * periodic tick (about every second) */
	enum builder_job_state state; /* RUNNING when it started, else its final
			     * state (when spec is set) */
	const struct builder_job_result *result; /* the finished job's result, or
			     * NULL */
	double eta_s;       /* estimate of the time left (seconds): max(longest
			     * remaining chain, remaining work / jobs), from
			     * the expected durations */
};

/* Progress callback, called from the scheduling process only. */
typedef void (*builder_progress_fn)(void *arg, const struct builder_progress *p);

/* Finds the RPM file of binary package pkg, not rebuilt in this run, in
 * the published repository: by name and arch (builder_rpm_is_package), as
 * its Release may hold a rebuild counter. Returns a newly allocated path or
 * NULL. */
typedef char *(*builder_find_rpm_fn)(void *arg, const struct planner_package *pkg);

/* Everything a schedule run needs. */
struct builder_schedule_input {
	struct gitwatch_repo *repo;
	const struct planner_index *index;  /* specs at the commit being built */
	const struct planner_graph *graph;
	const struct planner_plan *plan;
	const char (*keys)[SY_SHA256_HEX_LEN + 1]; /* build key per spec */
	const char *artifacts_dir;  /* <state>/artifacts */
	const char *builds_dir;     /* <state>/builds (per-job scratch) */
	const char *log_dir;        /* one "<spec name>.log" per job */
	const char *worker_root;    /* cached worker root */
	const char *worker_tarball; /* NULL: overlay roots; else extracted from
				     * this tarball (builder_build_request) */
	unsigned timeout_s;         /* per build, 0 = none */
	unsigned long long output_limit_bytes; /* per build (bytes), 0 = none */
	int run_check;              /* 1: run each built spec's %check in a test
				     * build; a failing check is reported, never
				     * fails or blocks anything */
	int jobs;                   /* parallel builds; <= 0: number of cores */
	const char *source_cache;   /* downloaded sources by SHA-256,
				     * "<dir>/<sha256>"; NULL: none */
	const struct sy_strv *source_urls; /* source URL templates missing
				     * Sources are downloaded from, in order
				     * (builder_sources_hydrate); NULL: none */
	enum planner_signature_mode signatures; /* how <spec>.signatures.json is
				     * used; with UPDATE the rewritten file is
				     * stored in the artifact directory */
	const double *expected_s;   /* per plan entry: expected build duration
				     * (seconds), for the critical path; NULL:
				     * all equal */
	const char *const *base_keys; /* per spec of the index: its build key at
				     * the base commit, or NULL (new spec, no
				     * base); NULL: no unchanged-output check */
	const char *counters_db;    /* state.db keeping the rebuild counters
				     * (builder/rebuild.h): each job about to be
				     * built gets its key's counter there first;
				     * NULL: none (packages keep the spec's
				     * Release) */
	const char *rebuild_suffix; /* publish.rebuildsuffix of the commit
				     * (planner_rebuild_suffix): how a counter
				     * reaches the Release; NULL or "": it does
				     * not (counters are still kept) */
	const volatile sig_atomic_t *cancel; /* when it becomes non-zero (e.g. from a
				     * signal handler) running builds are
				     * killed, their roots cleaned, and the
				     * jobs not finished are SKIPPED; NULL:
				     * never */
	builder_find_rpm_fn find_rpm;
	void *find_rpm_arg;
	const struct sy_strv *published_rpms; /* RPMs of the published repository,
				     * for BuildRequires resolved late; may be NULL */
	builder_progress_fn progress;
	void *progress_arg;
	struct builder_executor *executor; /* where the builds run (the caller's,
				     * not freed); NULL: a "local" executor for
				     * the run. One running elsewhere (slurm)
				     * gets each job as a description: its spec
				     * directory and sources are prepared in
				     * this process first */
	const struct builder_resources *resources; /* per plan entry: what its
				     * build asks of the machine (an executor
				     * that places jobs uses it; cpus also
				     * becomes %_smp_ncpus_max there); NULL or
				     * a zero cpus: builder_schedule_cores
				     * cores, nothing else asked */
};

/* Runs every entry of in->plan; results must hold plan->n zeroed entries.
 * Must be called from a process with no other threads (the local executor
 * forks the job processes).
 * Returns the number of FAILED, BLOCKED and SKIPPED jobs (0 = all good). */
size_t builder_schedule_run(const struct builder_schedule_input *in,
			    struct builder_job_result *results);

/* Returns the state's name: "built", "reused", "unchanged", "failed",
 * "blocked", "skipped", "queued" or "running" (static string; "?" for a
 * value that is no state). The one table of job state names: build reports,
 * job events, the store and the metrics use it. */
const char *builder_job_state_name(enum builder_job_state state);

/* Parses a name builder_job_state_name returns into *state. Returns 0, or
 * -1 for any other text. */
int builder_job_state_parse(const char *name, enum builder_job_state *state);

/* Returns 1 when the file name of path (after any directory) is an RPM of
 * binary package pkg as rpmbuild names them, "<name>-<version>-<release>.
 * <arch>.rpm" with pkg's name and arch and any version and release (the
 * built Release may carry a rebuild counter the spec does not state,
 * builder/rebuild.h; a published package may be an older build), else 0. */
int builder_rpm_is_package(const char *path, const struct planner_package *pkg);

/* Frees a result's fields. */
void builder_job_result_release(struct builder_job_result *res);

#endif
