/* The build stage: the worker root, the builds of the plan by critical path
 * (builder/schedule.h), their reports next to the run's logs, and the
 * shipyard/build status. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/artifact.h"
#include "builder/buildjob.h"
#include "builder/buildlock.h"
#include "builder/rootfs.h"
#include "common/fs.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/util.h"
#include "pipeline/buildreport.h"
#include "pipeline/pipeline-private.h"
#include "planner/buildkey.h"
#include "state/kv.h"
#include "state/layout.h"

#define DURATIONS_NS "build-seconds-v1"

/* The expected build time of a spec: its last build's duration, else an
 * estimate from the size of its spec directory (sources dominate: 5 s plus
 * 10 s per MiB). */
static double expected_duration(struct pipeline *p, const char *db, size_t spec)
{
	const struct planner_index *idx = &p->head.index;
	char *key = sy_xasprintf("%s:%s", idx->macros.target_arch, idx->specs[spec].path);
	char *data = NULL, *dir = planner_path_dir(idx->specs[spec].path);
	size_t len, dlen = strlen(dir), bytes = 0;
	double s = 0;

	if (state_kv_get(db, DURATIONS_NS, key, &data, &len, NULL) == 1)
		s = strtod(data, NULL);
	for (size_t k = 0; s <= 0 && k < idx->files.n; k++) {
		size_t size;
		if (!strncmp(idx->files.items[k].path, dir, dlen) && idx->files.items[k].path[dlen] == '/' &&
		    gitwatch_blob_size(p->repo, idx->files.items[k].oid, &size, NULL) == 0)
			bytes += size;
	}
	if (s <= 0)
		s = 5.0 + 10.0 * (double)bytes / (1024.0 * 1024.0);
	free(data);
	free(dir);
	free(key);
	return s;
}

static void remember_durations(struct pipeline *p, const char *db)
{
	const struct planner_index *idx = &p->head.index;

	for (size_t e = 0; e < p->plan.n; e++) {
		if (p->results[e].state != BUILDER_JOB_BUILT)
			continue;
		const char *path = idx->specs[p->plan.entries[e].spec].path;
		char *key = sy_xasprintf("%s:%s", idx->macros.target_arch, path);
		char value[32];
		snprintf(value, sizeof(value), "%.3f", p->results[e].seconds);
		state_kv_put(db, DURATIONS_NS, key, value, strlen(value), NULL);
		free(key);
	}
}

/* Per head spec, its build key at the base (NULL when new or no base). */
static const char **base_keys(const struct pipeline *p)
{
	const struct planner_index *head = &p->head.index;
	const char **keys = sy_xcalloc(head->nspecs + 1, sizeof(char *));

	for (size_t i = 0; p->has_base && i < head->nspecs; i++) {
		long b = planner_index_lookup_path(&p->base.index, head->specs[i].path);
		if (b >= 0 && (size_t)b < p->base.keys.n)
			keys[i] = p->base.keys.keys[b];
	}
	return keys;
}

/* Overlay roots unless asked otherwise or the builds directory cannot hold
 * an overlay's upper dir: then the worker tarball, written once. */
static int choose_root_mode(struct pipeline *p, struct sy_error *err)
{
	enum builder_root_mode mode = p->opts->root_mode;
	struct sy_error why = { { 0 } };

	if (mode == BUILDER_ROOT_AUTO) {
		char *name = sy_xasprintf("overlay-probe-%d", (int)getpid());
		char *probe = state_build_dir(p->state, name);
		int fd = builder_build_lock(probe, &why);
		int ok = fd < 0 ? -1 : builder_rootfs_overlay_supported(probe, &why);
		if (fd >= 0)
			builder_build_unlock(probe, fd);
		free(probe);
		free(name);
		if (ok < 0)
			return sy_error_set(err, "%s", why.msg);
		if (ok)
			return 0;
		sy_log_warn("overlayfs unavailable (%s): build roots are extracted from the "
			    "worker tarball", why.msg);
	} else if (mode == BUILDER_ROOT_OVERLAY) {
		return 0;
	}
	sy_log_info("build roots: extracted from the worker tarball");
	return builder_rootfs_tarball_ensure(p->worker_root, &p->worker_tarball, err);
}

static int prepare_worker(struct pipeline *p, struct sy_error *err)
{
	const struct pipeline_options *o = p->opts;
	char *cache = o->worker_cache ? sy_xstrdup(o->worker_cache) : state_worker_dir(p->state);
	char *log = sy_xasprintf("%s/worker.log", p->logs_dir);
	int rc = -1;

	sy_mkdir_p(p->logs_dir, 0755, NULL);
	FILE *f = fopen(log, "a");
	if (!o->worker_manifest) {
		sy_error_set(err, "no worker manifest given");
	} else {
		sy_log_info("worker root %.12s (%s)", p->worker.digest, o->worker_manifest);
		rc = builder_worker_ensure(cache, &p->worker, o->cancel, f ? fileno(f) : -1,
					   &p->worker_root, err);
	}
	if (rc == 0)
		rc = choose_root_mode(p, err);
	if (f)
		fclose(f);
	free(log);
	free(cache);
	return rc;
}

static char *find_published_rpm(void *arg, const struct planner_package *pkg)
{
	struct pipeline *p = arg;

	for (size_t k = 0; k < p->published.n; k++)
		if (builder_rpm_is_package(p->published.items[k], pkg))
			return sy_xstrdup(p->published.items[k]);
	return NULL;
}

/* The build key of each spec for this run: the head's, except for the
 * entries built with an ignored spec's published packages (stale_root),
 * whose key names that spec's current build: their artifacts go under a
 * digest of the key and the snapshot the packages come from, which no plan
 * computes, so that a later run does not take them for builds of their key,
 * and the same request on the same snapshot reuses them. Caller frees. */
static char (*run_keys(const struct pipeline *p))[SY_SHA256_HEX_LEN + 1]
{
	size_t n = p->head.keys.n;
	char (*keys)[SY_SHA256_HEX_LEN + 1] = sy_xcalloc(n + 1, sizeof(*keys));

	memcpy(keys, p->head.keys.keys, n * sizeof(*keys));
	for (size_t e = 0; e < p->plan.n; e++) {
		size_t spec = p->plan.entries[e].spec;
		if (!p->plan.entries[e].stale_root)
			continue;
		char *text = sy_xasprintf("%s\nbuilt with published packages of ignored specs: %s",
					  keys[spec], p->published_dir ? sy_base_name(p->published_dir) : "");
		sy_sha256_buf(text, strlen(text), keys[spec]);
		free(text);
	}
	return keys;
}

/* --rebuild, --force: those specs are built again, whatever their
 * artifacts. */
static void forget_artifacts(struct pipeline *p, const char (*keys)[SY_SHA256_HEX_LEN + 1])
{
	for (size_t e = 0; e < p->plan.n; e++) {
		if (!p->plan.entries[e].forced)
			continue;
		char *dir = state_artifact_dir(p->state, keys[p->plan.entries[e].spec]);
		sy_rm_rf(dir, NULL);
		free(dir);
	}
}

/* Logs every build that took a rebuild counter (with the Release it got)
 * or warns that it did not, every failure with its log and every failed
 * %check. */
static void log_failures(const struct pipeline *p)
{
	for (size_t e = 0; e < p->plan.n; e++) {
		const struct builder_job_result *r = &p->results[e];
		if (r->warning)
			sy_log_warn("%s (log: %s)", r->warning, r->log_path);
		else if (r->state == BUILDER_JOB_BUILT && r->release_suffix && *r->release_suffix &&
			 r->srpm)
			sy_log_info("%s: rebuild counter %u: built as %s",
				    p->head.index.specs[p->plan.entries[e].spec].path, r->counter,
				    sy_base_name(r->srpm));
	}
	for (size_t e = 0; e < p->plan.n; e++)
		if (p->results[e].reason && p->results[e].state != BUILDER_JOB_SKIPPED)
			sy_log_error("%s (log: %s)", p->results[e].reason, p->results[e].log_path);
		else if (p->results[e].check == 1)
			sy_log_warn("%s: %%check failed (log: %s)",
				    p->head.index.specs[p->plan.entries[e].spec].path,
				    p->results[e].log_path);
}

static struct builder_resources default_resources(const struct pipeline *p, double expected_s);

/* The resource class of a build: what shipyard.conf's class for the spec
 * (spec.<name>.resources) sets, the rest by its expected duration: cores (1
 * below 5 minutes, 2 below 30, else 4), 2 GiB of memory per core, the output
 * limit as local disk, and 3 times the expected duration (at least 10
 * minutes; at most the build timeout and 5 minutes for setting up) as time
 * limit. */
static struct builder_resources spec_resources(const struct pipeline *p, size_t spec,
					       double expected_s)
{
	const struct planner_resource_class *c =
		planner_distro_resources(&p->head.distro, p->head.index.specs[spec].name);
	struct builder_resources r = default_resources(p, expected_s);

	if (c && c->cpus) {
		r.cpus = c->cpus;
		r.memory_mib = 2048ULL * r.cpus;
	}
	if (c && c->memory_mib)
		r.memory_mib = c->memory_mib;
	if (c && c->disk_mib)
		r.tmp_mib = c->disk_mib;
	if (c && c->time_s)
		r.time_s = c->time_s;
	return r;
}

static struct builder_resources default_resources(const struct pipeline *p, double expected_s)
{
	struct builder_resources r = { 0 };
	double limit = 3 * expected_s;
	unsigned timeout = p->opts->build_timeout_s;

	r.cpus = expected_s < 300 ? 1 : expected_s < 1800 ? 2 : 4;
	r.memory_mib = 2048ULL * r.cpus;
	r.tmp_mib = p->opts->output_limit_bytes >> 20;
	if (limit < 600)
		limit = 600;
	if (timeout && limit > timeout + 300.0)
		limit = timeout + 300.0;
	r.time_s = (unsigned)limit;
	return r;
}

/* Where builds run: the local executor (NULL), or the one the options ask
 * for, with its jobs under <state>/cluster unless they say where. */
static struct builder_executor *make_executor(const struct pipeline *p, struct sy_error *err)
{
	struct builder_executor_config cfg;
	struct builder_executor *ex;
	char *jobs = NULL;

	if (!p->opts->executor)
		return NULL;
	cfg = *p->opts->executor;
	if (!cfg.jobs_dir)
		cfg.jobs_dir = jobs = sy_xasprintf("%s/cluster", p->state);
	ex = builder_executor_new(&cfg, err);
	free(jobs);
	return ex;
}

static size_t schedule(struct pipeline *p, const char *builds, const char *db,
		       const char (*keys)[SY_SHA256_HEX_LEN + 1])
{
	char *artifacts = state_artifacts_dir(p->state), *sources = state_sources_dir(p->state);
	double *expected = sy_xcalloc(p->plan.n + 1, sizeof(double));
	const char **bkeys = base_keys(p);
	struct builder_resources *res = sy_xcalloc(p->plan.n + 1, sizeof(*res));
	struct sy_error err = { { 0 } };
	struct builder_executor *ex = make_executor(p, &err);
	int remote = ex && strcmp(ex->ops->name, "local");

	if (p->opts->executor && !ex) {
		for (size_t e = 0; e < p->plan.n; e++)
			p->results[e] = (struct builder_job_result){
				.state = BUILDER_JOB_FAILED, .check = -1,
				.reason = sy_xasprintf("executor: %s", err.msg),
			};
		free(res);
		free(bkeys);
		free(expected);
		free(sources);
		free(artifacts);
		return p->plan.n;
	}
	for (size_t e = 0; e < p->plan.n; e++) {
		expected[e] = expected_duration(p, db, p->plan.entries[e].spec);
		res[e] = spec_resources(p, p->plan.entries[e].spec, expected[e]);
	}
	struct builder_schedule_input in = {
		.repo = p->repo, .index = &p->head.index, .graph = &p->head.graph, .plan = &p->plan,
		.keys = keys,
		.artifacts_dir = artifacts, .builds_dir = builds, .log_dir = p->logs_dir,
		.worker_root = p->worker_root, .worker_tarball = p->worker_tarball,
		.timeout_s = p->opts->build_timeout_s,
		.output_limit_bytes = p->opts->output_limit_bytes, .run_check = p->opts->run_check,
		.jobs = p->opts->jobs, .expected_s = expected, .base_keys = bkeys,
		.source_cache = sources, .source_urls = &p->head.distro.source_urls,
		.signatures = p->head.distro.signatures, .cancel = p->opts->cancel,
		.counters_db = db, .rebuild_suffix = p->head.distro.rebuild_suffix,
		.find_rpm = find_published_rpm, .find_rpm_arg = p, .progress = pipeline_progress,
		.progress_arg = p, .published_rpms = &p->published, .executor = ex,
		/* A cluster takes every ready job: its queue limits them. */
		.resources = remote ? res : NULL,
	};
	if (remote && p->opts->jobs <= 0)
		in.jobs = (int)p->plan.n;
	size_t bad = builder_schedule_run(&in, p->results);
	builder_executor_free(ex);
	free(res);
	free(bkeys);
	free(expected);
	free(sources);
	free(artifacts);
	return bad;
}

static size_t build(struct pipeline *p, struct sy_error *err)
{
	char *builds = state_builds_dir(p->state), *db = state_db_path(p->state);
	struct sy_error sweep_err = { { 0 } };
	double t0 = sy_now_s();
	size_t bad = 0;

	/* What builds of a killed run left (their mounts and processes died
	 * with their namespaces) goes first, whatever this run builds. */
	if (builder_build_sweep(builds, &sweep_err))
		sy_log_warn("%s", sweep_err.msg);
	p->results = sy_xcalloc(p->plan.n + 1, sizeof(*p->results));
	if (p->plan.n) {
		if (prepare_worker(p, err)) {
			bad = (size_t)-1;
			goto out;
		}
		char (*keys)[SY_SHA256_HEX_LEN + 1] = run_keys(p);
		forget_artifacts(p, (const char (*)[SY_SHA256_HEX_LEN + 1])keys);
		bad = schedule(p, builds, db, (const char (*)[SY_SHA256_HEX_LEN + 1])keys);
		free(keys);
		if (p->opts->cancel && *p->opts->cancel && builder_build_sweep(builds, &sweep_err))
			sy_log_warn("%s", sweep_err.msg); /* the killed builds' scratch directories */
		log_failures(p);
		remember_durations(p, db);
	}
	/* Written even when nothing was built: the run's own report, never
	 * another run's. */
	if (pipeline_build_report_write(p->run_dir, p->head.oid, &p->head.index, &p->plan,
					p->results, sy_now_s() - t0, &sweep_err))
		sy_log_warn("%s", sweep_err.msg);
	else
		sy_log_info("build report: %s/build_state.csv", p->run_dir);
out:
	free(db);
	free(builds);
	return bad;
}

static void report_build(struct pipeline *p, size_t bad)
{
	size_t counts[BUILDER_JOB_NSTATES] = { 0 }, checks_failed = 0;
	struct sy_strv failed = SY_STRV_INIT, blocked = SY_STRV_INIT;
	char checks[64] = "", *tail, text[4 * PIPELINE_STATUS_DESCRIPTION_MAX + 1];

	for (size_t e = 0; e < p->plan.n; e++) {
		const struct planner_spec *spec = &p->head.index.specs[p->plan.entries[e].spec];

		counts[p->results[e].state]++;
		checks_failed += p->results[e].check == 1;
		/* The spec's name, else (a spec that does not parse) its file's,
		 * as plan.json names it. */
		if (p->results[e].state == BUILDER_JOB_FAILED)
			sy_strv_push_owned(&failed, spec->name ? sy_xstrdup(spec->name)
							       : planner_spec_id(spec));
		else if (p->results[e].state == BUILDER_JOB_BLOCKED)
			sy_strv_push_owned(&blocked, spec->name ? sy_xstrdup(spec->name)
								: planner_spec_id(spec));
	}
	if (checks_failed)
		snprintf(checks, sizeof(checks), ", %zu %%check failed", checks_failed);
	tail = sy_xasprintf("%zu built, %zu reused, %zu unchanged, %zu failed, %zu blocked%s%s",
			    counts[BUILDER_JOB_BUILT], counts[BUILDER_JOB_REUSED],
			    counts[BUILDER_JOB_UNCHANGED], counts[BUILDER_JOB_FAILED],
			    counts[BUILDER_JOB_BLOCKED], checks,
			    counts[BUILDER_JOB_SKIPPED] ? ", cancelled" : "");
	pipeline_status_build_text(text, sizeof(text), &failed, &blocked, tail);
	/* A cancelled run says nothing about the packages: error, not failure. */
	pipeline_status_report(p->opts->reporter, "shipyard/build",
			       counts[BUILDER_JOB_SKIPPED] ? FORGE_ERROR
			       : bad			   ? FORGE_FAILURE
							   : FORGE_SUCCESS,
			       "%s", text);
	free(tail);
	sy_strv_release(&failed);
	sy_strv_release(&blocked);
}

size_t pipeline_build_stage(struct pipeline *p, struct sy_error *err)
{
	struct pipeline_reporter *rep = p->opts->reporter;
	size_t bad;

	pipeline_status_report(rep, "shipyard/build", FORGE_PENDING, "%zu specs to build",
			       p->plan.n);
	bad = build(p, err);
	if (bad == (size_t)-1)
		pipeline_status_report(rep, "shipyard/build", FORGE_ERROR, "%s", err->msg);
	else
		report_build(p, bad);
	return bad;
}

int pipeline_alias_learned_keys(struct pipeline *p, const char *snapshot, struct sy_error *err)
{
	struct planner_commit_settings s = p->settings;
	struct planner_commit v = { 0 };
	int late = 0, rc;

	for (size_t e = 0; p->results && e < p->plan.n; e++)
		late |= p->results[e].late;
	if (!late || !snapshot)
		return 0;
	s.learn_repo = snapshot;
	rc = planner_commit_read(&s, p->head.oid, &p->head, &v, err) ||
			     planner_commit_keys(&s, &v, &p->head.distro, 0, err)
		     ? -1
		     : 0;
	for (size_t e = 0; rc == 0 && e < p->plan.n; e++) {
		size_t i = p->plan.entries[e].spec;
		char *link = state_artifact_dir(p->state, v.keys.keys[i]);
		if (p->results[e].late && strcmp(v.keys.keys[i], p->head.keys.keys[i]) &&
		    !builder_artifact_complete(link) && symlink(p->head.keys.keys[i], link) < 0 &&
		    errno != EEXIST)
			rc = sy_error_set(err, "%s: %s", link, strerror(errno));
		free(link);
	}
	planner_commit_release(&v);
	return rc;
}
