#define _GNU_SOURCE
#include "builder/schedule.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "builder/artifact.h"
#include "builder/buildjob.h"
#include "builder/buildlock.h"
#include "builder/executor.h"
#include "builder/outdigest.h"
#include "builder/scheduler.h"
#include "builder/sources.h"
#include "common/fs.h"

const char *builder_job_state_name(enum builder_job_state state)
{
	switch (state) {
	case BUILDER_JOB_BUILT: return "built";
	case BUILDER_JOB_REUSED: return "reused";
	case BUILDER_JOB_UNCHANGED: return "unchanged";
	case BUILDER_JOB_FAILED: return "failed";
	case BUILDER_JOB_BLOCKED: return "blocked";
	case BUILDER_JOB_SKIPPED: return "skipped";
	case BUILDER_JOB_NSTATES: break;
	}
	return "?";
}

char *builder_package_rpm_name(const struct planner_package *pkg)
{
	const char *colon = strchr(pkg->evr, ':');

	return sy_xasprintf("%s-%s.%s.rpm", pkg->name, colon ? colon + 1 : pkg->evr, pkg->arch);
}

void builder_job_result_release(struct builder_job_result *res)
{
	free(res->reason);
	sy_strv_release(&res->rpms);
	free(res->srpm);
	free(res->log_path);
	free(res->blocker);
	memset(res, 0, sizeof(*res));
}

static void fail(struct builder_job_result *res, enum builder_job_state state, char *reason)
{
	res->state = state;
	free(res->reason);
	res->reason = reason;
}

/* Returns the path of the RPM named file: from this run's results when its
 * spec was in the plan, else through find_rpm. */
/* Where the run stands: entry of each spec, and each entry's position in
 * the order the entries are executed (deferred ones last). */
struct run_order {
	size_t *slot; /* spec -> entry, SIZE_MAX when not in the plan */
	size_t *pos;  /* entry -> execution position */
};

static int ran_before(const struct run_order *o, size_t spec, size_t e)
{
	return o->slot[spec] != SIZE_MAX && o->pos[o->slot[spec]] < o->pos[e];
}

static char *locate_rpm(const struct builder_schedule_input *in, const struct run_order *o,
			const struct builder_job_result *results, size_t e, size_t spec,
			const char *file)
{
	const size_t *slot = o->slot;

	/* A spec run later is a bootstrap member of a cycle: its packages come
	 * from the published repository. */
	if (ran_before(o, spec, e)) {
		const struct sy_strv *rpms = &results[slot[spec]].rpms;
		for (size_t i = 0; i < rpms->n; i++) {
			const char *base = strrchr(rpms->items[i], '/');
			if (!strcmp(base ? base + 1 : rpms->items[i], file))
				return sy_xstrdup(rpms->items[i]);
		}
		return NULL;
	}
	/* Not rebuilt here: its artifact for the same key (built by any branch
	 * or pull request), else the channel's published repository. */
	char *built = sy_xasprintf("%s/%s/%s", in->artifacts_dir, in->keys[spec], file);
	if (sy_exists(built))
		return built;
	free(built);
	return in->find_rpm ? in->find_rpm(in->find_rpm_arg, file) : NULL;
}

static int collect_install(const struct builder_schedule_input *in, const struct run_order *o,
			   const struct builder_job_result *results, size_t e,
			   struct sy_strv *paths, struct sy_error *err)
{
	size_t spec = in->plan->entries[e].spec;

	const struct planner_graph_node *node = &in->graph->nodes[spec];

	for (size_t i = 0; i < node->ninstall; i++) {
		const struct planner_pkgref *ref = &node->install[i];
		const struct planner_package *pkg = &in->index->specs[ref->spec].packages[ref->package];
		char *file = builder_package_rpm_name(pkg);
		char *path = locate_rpm(in, o, results, e, ref->spec, file);
		if (!path) {
			sy_error_set(err, "BuildRequires package %s is not available (%s)", pkg->name,
				     file);
			free(file);
			return -1;
		}
		sy_strv_push_owned(paths, path);
		free(file);
	}
	return 0;
}

static size_t default_jobs(int jobs);

/* Cores per build when builds run in parallel (the toolkit's MAX_CPU as
 * %_smp_ncpus_max): all of them shared by the jobs. */
static unsigned smp_ncpus(const struct builder_schedule_input *in)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t jobs = default_jobs(in->jobs);
	long each = cores > 0 ? cores / (long)jobs : 1;

	return each > 0 ? (unsigned)each : 1;
}

/* Materialises the spec directory, verifies sources, builds, and stores the
 * outputs under the artifact directory of the key. */
static int build_one(const struct builder_schedule_input *in, const struct run_order *o,
		     struct builder_job_result *results, size_t e, const struct sy_strv *late,
		     int log_fd, int *infra, int *check, struct sy_error *err)
{
	const struct planner_spec *spec = &in->index->specs[in->plan->entries[e].spec];
	const char *key = in->keys[in->plan->entries[e].spec];
	char *dir = planner_path_dir(spec->path);
	char *scratch = sy_xasprintf("%s/%s-%.12s", in->builds_dir, spec->name, key);
	char *src = sy_xasprintf("%s.src", scratch);
	char *final = sy_xasprintf("%s/%s", in->artifacts_dir, key);
	char *tmp_out = sy_xasprintf("%s.tmp-%ld", final, (long)getpid());
	const char *base = strrchr(spec->path, '/') + 1;
	char *sig = sy_xasprintf("%s/%.*s.signatures.json", src, (int)(strlen(base) - 5), base);
	struct sy_strv install = SY_STRV_INIT;
	struct builder_build_result out = { SY_STRV_INIT, NULL, 0 };
	int rc = -1;
	/* The job's lock covers its scratch and .src directories: no sweep or
	 * other pipeline removes them while this one fills them. */
	int lock = builder_build_lock(scratch, err);

	*infra = 0;
	if (lock < 0)
		goto out;
	sy_rm_rf(src, NULL);
	sy_rm_rf(tmp_out, NULL);
	if (gitwatch_materialize(in->repo, in->index->commit, dir, src, err))
		goto out;
	int updated = 0;
	if (builder_sources_hydrate(src, sig, &spec->sources, in->source_cache, in->source_url,
				    log_fd, err)) {
		sy_error_prefix(err, "%s", dir);
		goto out;
	}
	if (builder_sources_check(src, sig, &spec->sources, in->signatures, &updated, err)) {
		/* Name the signatures file as it is in the repository. */
		size_t n = strlen(src);
		if (!strncmp(err->msg, src, n)) {
			char *rest = sy_xstrdup(err->msg + n);
			sy_error_set(err, "%s%s", dir, rest);
			free(rest);
		}
		goto out;
	}
	if (collect_install(in, o, results, e, &install, err) ||
	    sy_mkdir_p(tmp_out, 0755, err))
		goto out;
	if (updated) {
		/* The rewritten file goes with the artifacts: a CI service does
		 * not push commits; the maintainer takes it from there. */
		char *keep = sy_xasprintf("%s/%s", tmp_out, strrchr(sig, '/') + 1);
		if (sy_copy_file(sig, keep, err)) {
			free(keep);
			goto out;
		}
		if (log_fd >= 0)
			dprintf(log_fd, "shipyard: %s/%s updated with the sources used: %s\n", dir,
				strrchr(sig, '/') + 1, keep);
		free(keep);
	}
	for (size_t k = 0; late && k < late->n; k++)
		if (!sy_strv_contains(&install, late->items[k]))
			sy_strv_push(&install, late->items[k]);
	struct builder_build_request req = {
		.spec_dir = src, .spec_file = base, .worker_root = in->worker_root,
		.worker_tarball = in->worker_tarball,
		.scratch_dir = scratch, .install_rpms = (const char *const *)install.items,
		.macros = &in->index->macros, .out_dir = tmp_out, .log_fd = log_fd,
		.timeout_s = in->timeout_s, .locked = 1,
		.output_limit_bytes = in->output_limit_bytes, .run_check = in->run_check,
		.smp_ncpus_max = smp_ncpus(in),
	};
	static const char *const none[] = { NULL };
	if (!install.n)
		req.install_rpms = none;
	if (builder_build_run(&req, &out, err)) {
		*infra = out.infrastructure;
		goto out;
	}
	*check = out.check;
	if (builder_artifact_write_summary(tmp_out, spec, key, err))
		goto out;
	sy_rm_rf(final, NULL);
	if (rename(tmp_out, final) < 0) {
		sy_error_set(err, "%s: cannot store artifacts: %s", final, strerror(errno));
		goto out;
	}
	results[e].seconds = out.seconds;
	if (builder_artifact_lookup(final, &results[e].rpms, &results[e].srpm))
		rc = 0;
	else
		sy_error_set(err, "%s: incomplete", final);
out:
	if (rc)
		sy_rm_rf(tmp_out, NULL);
	if (lock >= 0) {
		sy_rm_rf(src, NULL);
		builder_build_unlock(scratch, lock);
	}
	builder_build_result_release(&out);
	sy_strv_release(&install);
	free(sig);
	free(tmp_out);
	free(final);
	free(src);
	free(scratch);
	free(dir);
	return rc;
}

/* Returns the last "error: ..." line rpmbuild wrote to the log (newly
 * allocated), or NULL. */
static char *last_error_line(const char *log_path)
{
	char *text, *found = NULL;

	if (sy_read_file(log_path, &text, NULL, NULL))
		return NULL;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, "error: ", 7))
			found = line + 7;
	char *copy = found ? sy_xstrdup(found) : NULL;
	free(text);
	return copy;
}

/* Every RPM available to late resolution: this run's outputs so far and the
 * published repository's. */
static void available_rpms(const struct builder_schedule_input *in, const struct run_order *o,
			   const struct builder_job_result *results, size_t e, struct sy_strv *out)
{
	for (size_t f = 0; f < in->plan->n; f++)
		if (o->pos[f] < o->pos[e])
			for (size_t k = 0; k < results[f].rpms.n; k++)
				sy_strv_push(out, results[f].rpms.items[k]);
	for (size_t k = 0; in->published_rpms && k < in->published_rpms->n; k++)
		sy_strv_push(out, in->published_rpms->items[k]);
}


/* Entries whose BuildRequires are not all resolved yet (they may be
 * generated by builds of this run), and those that need their packages, run
 * after all others. Fills o->pos and order; returns the per-entry deferred
 * flags (caller frees). */
static unsigned char *order_run(const struct builder_schedule_input *in, struct run_order *o,
				size_t *order)
{
	const struct planner_plan *plan = in->plan;
	unsigned char *deferred = sy_xcalloc(plan->n + 1, 1);
	size_t k = 0;

	for (size_t e = 0; e < plan->n; e++) {
		const struct planner_graph_node *node = &in->graph->nodes[plan->entries[e].spec];
		deferred[e] = node->unresolved.n != 0;
		for (size_t r = 0; !deferred[e] && r < node->nroot_specs; r++) {
			size_t d = o->slot[node->root_specs[r]];
			deferred[e] = d != SIZE_MAX && d < e && deferred[d];
		}
	}
	for (int pass = 0; pass < 2; pass++)
		for (size_t e = 0; e < plan->n; e++)
			if (deferred[e] == pass) {
				o->pos[e] = k;
				order[k++] = e;
			}
	return deferred;
}

/* ------------------------------------------------------------------------ */
/* One job, in its own process.                                              */

/* Builds entry e in this process (the job's, where its executor runs it)
 * and writes the outcome to fd as one line: "<built 0|1> <infrastructure
 * 0|1> <seconds> <check -1|0|1>\t<reason>". */
static void job_process(const struct builder_schedule_input *in, const struct run_order *o,
			struct builder_job_result *results, size_t e, const struct sy_strv *late,
			int fd)
{
	const struct planner_spec *spec = &in->index->specs[in->plan->entries[e].spec];
	struct builder_job_result *res = &results[e];
	struct sy_error err = { { 0 } };
	/* A retry keeps the log of the attempts before it. */
	int retry = res->attempts > 0;
	int log = open(res->log_path, O_WRONLY | O_CREAT | O_CLOEXEC | (retry ? O_APPEND : O_TRUNC),
		       0644);
	int infra = 0, check = -1, built;
	char *reason = NULL;

	if (retry) {
		unsigned wait_s = 1U << (res->attempts - 1); /* 1, 2, 4 s */
		if (log >= 0)
			dprintf(log, "shipyard: attempt %d after an infrastructure failure, in %u s\n",
				res->attempts + 1, wait_s);
		sleep(wait_s);
	}
	built = build_one(in, o, results, e, late, log, &infra, &check, &err) == 0;

	if (!built) {
		char *last = last_error_line(res->log_path);
		reason = sy_xasprintf("%s: %s%s%s", spec->path, err.msg, last ? ": " : "",
				      last ? last : "");
		if (log >= 0)
			dprintf(log, "shipyard: %s\n", reason);
		free(last);
	}
	dprintf(fd, "%d %d %.3f %d\t%s\n", built, infra, res->seconds, check, reason ? reason : "");
	free(reason);
	if (log >= 0)
		close(log);
}

/* ------------------------------------------------------------------------ */
/* The run.                                                                  */

/* A build that failed for the machine's sake is retried up to 3 times, after
 * 1, 2 and 4 s (job_process). */
#define MAX_RETRIES 3

/* What a job's run function gets: the run and the entry. */
struct job_arg {
	struct runner *r;
	size_t e;
};

struct runner {
	const struct builder_schedule_input *in;
	struct builder_job_result *results;
	struct run_order o;
	struct builder_sched *sched;
	struct builder_executor *ex; /* where the builds run */
	size_t jobs;        /* parallel builds */
	struct job_arg *args; /* per entry: its job's argument */
	struct sy_strv *late; /* per entry: RPMs resolved late */
	size_t running, done;
	int cancelled;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *entry_name(const struct runner *r, size_t e)
{
	const struct planner_spec *spec = &r->in->index->specs[r->in->plan->entries[e].spec];

	return spec->name ? spec->name : spec->path;
}

static void report(struct runner *r, size_t e, const char *state)
{
	const struct builder_schedule_input *in = r->in;
	double path = 0, work;

	if (!in->progress)
		return;
	work = builder_sched_remaining(r->sched, &path);
	struct builder_progress p = {
		.done = r->done, .total = in->plan->n, .running = r->running,
		.spec = e == SIZE_MAX ? NULL : entry_name(r, e), .state = state,
		.result = e != SIZE_MAX && state ? &r->results[e] : NULL,
		.eta_s = path > work / (double)r->jobs ? path : work / (double)r->jobs,
	};
	in->progress(in->progress_arg, &p);
}

/* Records that entry e is over. */
static void finish(struct runner *r, size_t e)
{
	struct builder_job_result *res = &r->results[e];

	if (!res->ended)
		res->ended = now_s();
	r->done++;
	builder_sched_done(r->sched, e);
	report(r, e, builder_job_state_name(res->state));
}

/* The first spec whose packages entry e's build root needs and that did not
 * succeed in this run, or SIZE_MAX. */
static size_t failed_dependency(const struct runner *r, size_t e)
{
	const struct builder_schedule_input *in = r->in;
	const struct planner_graph_node *node = &in->graph->nodes[in->plan->entries[e].spec];

	for (size_t k = 0; k < node->nroot_specs; k++) {
		size_t d = node->root_specs[k], s = r->o.slot[d];
		if (!ran_before(&r->o, d, e))
			continue;
		enum builder_job_state st = r->results[s].state;
		if (st == BUILDER_JOB_FAILED || st == BUILDER_JOB_BLOCKED || st == BUILDER_JOB_SKIPPED)
			return d;
	}
	return SIZE_MAX;
}

/* Fills res->output_digest and res->same_output for an entry whose
 * artifact is artifacts/<key>. */
static void compare_output(const struct runner *r, size_t e)
{
	const struct builder_schedule_input *in = r->in;
	size_t spec = in->plan->entries[e].spec;
	struct builder_job_result *res = &r->results[e];
	char *dir = sy_xasprintf("%s/%s", in->artifacts_dir, in->keys[spec]);
	char base[SY_SHA256_HEX_LEN + 1];

	if (builder_artifact_output_digest(dir, res->output_digest) == 0) {
		const char *bkey = in->base_keys ? in->base_keys[spec] : NULL;
		char *bdir = bkey ? sy_xasprintf("%s/%s", in->artifacts_dir, bkey) : NULL;
		res->same_output = bdir && strcmp(bkey, in->keys[spec]) &&
				   builder_artifact_output_digest(bdir, base) == 0 &&
				   !strcmp(base, res->output_digest);
		free(bdir);
	} else {
		res->output_digest[0] = '\0';
	}
	free(dir);
}

/* Whether entry e is in the set only through specs whose rebuild produced
 * their previous output: its own inputs did not change, every spec of its
 * build root whose key changed finished here with the same output (or was
 * itself unchanged), and its artifact at the base key exists. */
static int only_unchanged_inputs(const struct runner *r, size_t e)
{
	const struct builder_schedule_input *in = r->in;
	const struct planner_plan_entry *entry = &in->plan->entries[e];
	const struct planner_graph_node *node = &in->graph->nodes[entry->spec];
	const char *bkey = in->base_keys ? in->base_keys[entry->spec] : NULL;
	int any = 0;

	if (entry->why != PLANNER_PLAN_DEPENDENCY || !bkey || node->unresolved.n)
		return 0;
	for (size_t k = 0; k < node->nroot_specs; k++) {
		size_t d = node->root_specs[k], s = r->o.slot[d];
		const char *dkey = in->base_keys[d];
		if (dkey && !strcmp(dkey, in->keys[d]))
			continue;
		if (!ran_before(&r->o, d, e))
			return 0;
		enum builder_job_state st = r->results[s].state;
		if (st != BUILDER_JOB_UNCHANGED && !r->results[s].same_output)
			return 0;
		any = 1;
	}
	char *dir = sy_xasprintf("%s/%s", in->artifacts_dir, bkey);
	int ok = any && builder_artifact_complete(dir);
	free(dir);
	return ok;
}

/* Links artifacts/<key> of entry e to its artifact at the base key and
 * loads it as the entry's outputs. Returns 0 or -1. */
static int link_unchanged(const struct runner *r, size_t e)
{
	const struct builder_schedule_input *in = r->in;
	size_t spec = in->plan->entries[e].spec;
	char *link = sy_xasprintf("%s/%s", in->artifacts_dir, in->keys[spec]);
	int rc = -1;

	if (symlink(in->base_keys[spec], link) == 0 || errno == EEXIST)
		rc = builder_artifact_lookup(link, &r->results[e].rpms, &r->results[e].srpm) ? 0 : -1;
	free(link);
	return rc;
}

/* Decides entries that need no build (failed spec, blocked, reused,
 * unchanged, cancelled). Returns 1 when e is settled. */
static int settle_without_build(struct runner *r, size_t e)
{
	const struct builder_schedule_input *in = r->in;
	const struct planner_plan_entry *entry = &in->plan->entries[e];
	const struct planner_spec *spec = &in->index->specs[entry->spec];
	struct builder_job_result *res = &r->results[e];
	size_t blocker;

	if (r->cancelled) {
		fail(res, BUILDER_JOB_SKIPPED, sy_xasprintf("%s: pipeline cancelled", spec->path));
	} else if (spec->error) {
		fail(res, BUILDER_JOB_FAILED, sy_xstrdup(spec->error));
	} else if (entry->in_cycle) {
		fail(res, BUILDER_JOB_FAILED, sy_xasprintf("%s: in a build dependency cycle", spec->path));
	} else if ((blocker = failed_dependency(r, e)) != SIZE_MAX) {
		res->blocker = sy_xstrdup(in->index->specs[blocker].name);
		fail(res, BUILDER_JOB_BLOCKED, sy_xasprintf("%s: blocked by %s", spec->path, res->blocker));
	} else {
		char *dir = sy_xasprintf("%s/%s", in->artifacts_dir, in->keys[entry->spec]);
		int reused = builder_artifact_lookup(dir, &res->rpms, &res->srpm);
		free(dir);
		if (reused)
			res->state = BUILDER_JOB_REUSED;
		else if (only_unchanged_inputs(r, e) && link_unchanged(r, e) == 0)
			res->state = BUILDER_JOB_UNCHANGED;
		else
			return 0;
		compare_output(r, e);
	}
	return 1;
}

/* Resolves entry e's late BuildRequires (in this process: they need the
 * results so far). Returns 0, or -1 when e failed. */
static int resolve_late(struct runner *r, size_t e)
{
	const struct builder_schedule_input *in = r->in;
	size_t spec = in->plan->entries[e].spec;
	struct sy_strv rpms = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	static const char *const none[] = { NULL };
	int rc = 0;

	if (!in->graph->nodes[spec].unresolved.n || r->late[e].n)
		return 0;
	available_rpms(in, &r->o, r->results, e, &rpms);
	if (planner_graph_resolve_late(in->graph, spec, rpms.n ? (const char *const *)rpms.items : none,
				       &r->late[e], &err)) {
		fail(&r->results[e], BUILDER_JOB_FAILED,
		     sy_xasprintf("%s: %s", in->index->specs[spec].path, err.msg));
		rc = -1;
	}
	sy_strv_release(&rpms);
	return rc;
}

/* A job's work where the executor runs it (builder_executor_job.run). */
static void run_job(void *arg, int result_fd)
{
	const struct job_arg *a = arg;
	struct runner *r = a->r;

	job_process(r->in, &r->o, r->results, a->e, &r->late[a->e], result_fd);
}

/* Hands entry e to the executor. Returns 0, or -1 (e failed). */
static int start_build(struct runner *r, size_t e)
{
	struct builder_job_result *res = &r->results[e];
	struct sy_error err = { { 0 } };
	struct builder_executor_job job = {
		.id = e, .run = run_job, .arg = &r->args[e], .cores = smp_ncpus(r->in),
	};

	r->args[e] = (struct job_arg){ r, e };
	if (builder_executor_start(r->ex, &job, &err)) {
		fail(res, BUILDER_JOB_FAILED, sy_xasprintf("cannot start build: %s", err.msg));
		return -1;
	}
	res->attempts++;
	r->running++;
	return 0;
}

/* Starts every ready job that a free slot allows; settles the others at
 * once. */
static void dispatch(struct runner *r)
{
	long next;

	while (r->running < r->jobs && (next = builder_sched_next(r->sched)) >= 0) {
		size_t e = (size_t)next;
		struct builder_job_result *res = &r->results[e];

		if (!res->started)
			res->started = now_s();
		if (settle_without_build(r, e) || resolve_late(r, e) || start_build(r, e)) {
			finish(r, e);
			continue;
		}
		report(r, e, NULL);
	}
}

/* Reads the result line of a finished job. */
static void collect(struct runner *r, const struct builder_executor_done *done)
{
	const struct builder_schedule_input *in = r->in;
	size_t e = done->id;
	struct builder_job_result *res = &r->results[e];
	const char *line = done->line;
	int built = 0, infra = 0, check = -1;
	double seconds = 0;
	const char *tab = strchr(line, '\t');

	r->running--;
	if (sscanf(line, "%d %d %lf %d", &built, &infra, &seconds, &check) != 4 || !tab) {
		built = 0;
		infra = 1;
	}
	res->seconds = seconds;
	res->check = built ? check : -1;
	res->late = r->late[e].n != 0;
	if (built) {
		size_t spec = in->plan->entries[e].spec;
		char *dir = sy_xasprintf("%s/%s", in->artifacts_dir, in->keys[spec]);
		if (builder_artifact_lookup(dir, &res->rpms, &res->srpm)) {
			res->state = BUILDER_JOB_BUILT;
			compare_output(r, e);
		} else {
			fail(res, BUILDER_JOB_FAILED, sy_xasprintf("%s: artifacts missing", dir));
		}
		free(dir);
	} else if (r->cancelled) {
		fail(res, BUILDER_JOB_SKIPPED,
		     sy_xasprintf("%s: build stopped: pipeline cancelled",
				  in->index->specs[in->plan->entries[e].spec].path));
	} else if (tab && tab[1] && tab[1] != '\n') {
		fail(res, BUILDER_JOB_FAILED, sy_xstrndup(tab + 1, strcspn(tab + 1, "\n")));
	} else {
		fail(res, BUILDER_JOB_FAILED,
		     sy_xasprintf("%s: build process %s %d", in->index->specs[in->plan->entries[e].spec].path,
				  done->signal ? "killed by signal" : "exited with status",
				  done->signal ? done->signal : done->status));
	}
	if (!built && infra && !r->cancelled && res->attempts <= MAX_RETRIES) {
		free(res->reason);
		res->reason = NULL;
		builder_sched_retry(r->sched, e);
		return;
	}
	finish(r, e);
}

/* Waits up to a second for news of the running jobs; collects the jobs
 * that ended. */
static void wait_jobs(struct runner *r)
{
	struct builder_executor_done done;
	int timeout_ms = 1000;

	while (builder_executor_wait(r->ex, timeout_ms, &done) == 1) {
		collect(r, &done);
		free(done.line);
		timeout_ms = 0;
	}
}

/* The jobs each entry waits for: the entries of the specs its build root
 * needs that run before it; entries run in the second pass (late
 * resolution) also wait for every entry of the first. */
static struct builder_sched_job *job_graph(const struct builder_schedule_input *in,
					   const struct run_order *o, const unsigned char *deferred)
{
	const struct planner_plan *plan = in->plan;
	struct builder_sched_job *jobs = sy_xcalloc(plan->n + 1, sizeof(*jobs));

	for (size_t e = 0; e < plan->n; e++) {
		const struct planner_graph_node *node = &in->graph->nodes[plan->entries[e].spec];
		size_t *deps = sy_xcalloc(node->nroot_specs + plan->n + 1, sizeof(size_t)), n = 0;

		for (size_t k = 0; k < node->nroot_specs; k++)
			if (ran_before(o, node->root_specs[k], e))
				deps[n++] = o->slot[node->root_specs[k]];
		for (size_t f = 0; deferred[e] && f < plan->n; f++)
			if (!deferred[f])
				deps[n++] = f;
		jobs[e] = (struct builder_sched_job){
			.expected_s = in->expected_s ? in->expected_s[e] : 1, .deps = deps, .ndeps = n,
		};
	}
	return jobs;
}

static size_t default_jobs(int jobs)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (jobs > 0)
		return (size_t)jobs;
	return cores > 0 ? (size_t)cores : 1;
}

/* Runs the scheduling loop until every job is over. */
static void run_loop(struct runner *r)
{
	while (!builder_sched_finished(r->sched)) {
		if (!r->cancelled && r->in->cancel && *r->in->cancel) {
			r->cancelled = 1;
			builder_executor_cancel(r->ex);
		}
		dispatch(r);
		if (r->running)
			wait_jobs(r);
		else if (!builder_sched_finished(r->sched))
			break; /* nothing runs and nothing is ready: cannot happen in a DAG */
		report(r, SIZE_MAX, NULL);
	}
}

size_t builder_schedule_run(const struct builder_schedule_input *in,
			    struct builder_job_result *results)
{
	const struct planner_plan *plan = in->plan;
	struct runner r = { .in = in, .results = results, .jobs = default_jobs(in->jobs) };
	size_t *order = sy_xcalloc(plan->n + 1, sizeof(size_t)), bad = 0;
	unsigned char *deferred;
	struct sy_error err = { { 0 } };

	r.o.slot = sy_xmalloc((in->index->nspecs + 1) * sizeof(size_t));
	r.o.pos = sy_xcalloc(plan->n + 1, sizeof(size_t));
	for (size_t i = 0; i < in->index->nspecs; i++)
		r.o.slot[i] = SIZE_MAX;
	for (size_t e = 0; e < plan->n; e++)
		r.o.slot[plan->entries[e].spec] = e;
	deferred = order_run(in, &r.o, order);
	sy_mkdir_p(in->log_dir, 0755, NULL);
	sy_mkdir_p(in->builds_dir, 0755, NULL);
	sy_mkdir_p(in->artifacts_dir, 0755, NULL);
	for (size_t e = 0; e < plan->n; e++) {
		const struct planner_spec *spec = &in->index->specs[plan->entries[e].spec];
		results[e].log_path = sy_xasprintf("%s/%s.log", in->log_dir,
						   spec->name ? spec->name : strrchr(spec->path, '/') + 1);
		results[e].check = -1;
	}
	struct builder_sched_job *jobs = job_graph(in, &r.o, deferred);
	r.sched = builder_sched_new(jobs, plan->n, BUILDER_SCHED_CRITICAL_PATH, &err);
	for (size_t e = 0; e < plan->n; e++)
		free((size_t *)jobs[e].deps);
	free(jobs);
	r.args = sy_xcalloc(plan->n + 1, sizeof(*r.args));
	r.late = sy_xcalloc(plan->n + 1, sizeof(struct sy_strv));
	r.ex = in->executor ? in->executor : builder_executor_new("local", &err);
	if (r.sched && r.ex)
		run_loop(&r);
	for (size_t e = 0; e < plan->n; e++) {
		if (!r.sched || !r.ex)
			fail(&results[e], BUILDER_JOB_FAILED, sy_xasprintf("scheduler: %s", err.msg));
		bad += results[e].state == BUILDER_JOB_FAILED || results[e].state == BUILDER_JOB_BLOCKED ||
		       results[e].state == BUILDER_JOB_SKIPPED;
		sy_strv_release(&r.late[e]);
	}
	if (r.ex != in->executor)
		builder_executor_free(r.ex);
	builder_sched_free(r.sched);
	free(r.args);
	free(r.late);
	free(deferred);
	free(order);
	free(r.o.slot);
	free(r.o.pos);
	return bad;
}
