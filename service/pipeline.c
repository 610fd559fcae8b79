#include "service/pipeline.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/buildjob.h"
#include "builder/buildkey.h"
#include "builder/distro.h"
#include "builder/graph.h"
#include "builder/index.h"
#include "builder/plan.h"
#include "builder/schedule.h"
#include "builder/toolchain.h"
#include "builder/worker.h"
#include "common/fs.h"
#include "common/log.h"
#include "gitwatch/changeset.h"
#include "gitwatch/repo.h"
#include "repo-publish/publish.h"
#include "service/imagestep.h"
#include "service/planprint.h"

/* Everything one pipeline works with; lives for the duration of the run. */
struct pipeline {
	const struct service_pipeline_options *opts;
	struct gitwatch_repo *repo;
	char to[GITWATCH_OID_HEX + 1];
	char *from;                       /* NULL: empty tree */
	char *channel;
	char *repos_dir;                  /* <state>/repos */
	struct builder_distro distro;
	struct builder_index index;
	struct builder_graph graph;
	struct builder_plan plan;
	struct gitwatch_changeset changes;
	struct sy_strv published;         /* RPMs of the channel's current snapshot */
	struct sy_strv previous_failures; /* spec names that failed last time */
	struct builder_worker_manifest worker;
	char *worker_root;
	char (*keys)[SY_SHA256_HEX_LEN + 1];
	struct builder_job_result *results;
	time_t started;
};

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static char *state_path(const struct pipeline *p, const char *rel)
{
	return sy_xasprintf("%s/%s", p->opts->state_dir, rel);
}

/* published.json of a channel: the commit it was last published from and the
 * specs that failed then. */
static char *published_record_path(const struct pipeline *p)
{
	return sy_xasprintf("%s/%s/published.json", p->repos_dir, p->channel);
}

static void read_published_record(struct pipeline *p, char **commit)
{
	char *path = published_record_path(p);
	json_t *doc = json_load_file(path, 0, NULL);
	const char *c;
	json_t *failed, *v;
	size_t i;

	*commit = NULL;
	if (doc && (c = json_string_value(json_object_get(doc, "commit"))))
		*commit = sy_xstrdup(c);
	failed = doc ? json_object_get(doc, "failed") : NULL;
	json_array_foreach(failed, i, v)
		if (json_string_value(v))
			sy_strv_push(&p->previous_failures, json_string_value(v));
	json_decref(doc);
	free(path);
}

static int write_published_record(struct pipeline *p, struct sy_error *err)
{
	char *path = published_record_path(p);
	json_t *doc = json_pack("{s:s, s:[]}", "commit", p->to, "failed");
	json_t *failed = json_object_get(doc, "failed");

	for (size_t e = 0; e < p->plan.n; e++)
		if (p->results[e].state == BUILDER_JOB_FAILED || p->results[e].state == BUILDER_JOB_BLOCKED) {
			const struct builder_spec *s = &p->index.specs[p->plan.entries[e].spec];
			if (s->name)
				json_array_append_new(failed, json_string(s->name));
		}
	char *text = json_dumps(doc, JSON_INDENT(2));
	char *dir = sy_xasprintf("%s/%s", p->repos_dir, p->channel);
	int rc = sy_mkdir_p(dir, 0755, err) ||
		 sy_write_file_atomic(path, text, strlen(text), 0644, err) ? -1 : 0;
	free(dir);
	free(text);
	json_decref(doc);
	free(path);
	return rc;
}

static int open_and_resolve(struct pipeline *p, struct sy_error *err)
{
	const struct service_pipeline_options *o = p->opts;
	char oid[GITWATCH_OID_HEX + 1];

	if (gitwatch_repo_open(o->repo_path, &p->repo, err))
		return -1;
	if (gitwatch_resolve(p->repo, o->to ? o->to : "HEAD", p->to, err))
		return -1;
	p->channel = o->channel ? sy_xstrdup(o->channel) : gitwatch_head_branch(p->repo);
	p->repos_dir = state_path(p, "repos");
	char *last = NULL;
	read_published_record(p, &last);
	if (o->from) {
		if (gitwatch_resolve(p->repo, o->from, oid, err))
			return sy_error_prefix(err, "--from");
		p->from = sy_xstrdup(oid);
		free(last);
	} else if (last && gitwatch_resolve(p->repo, last, oid, err)) {
		sy_log_warn("last published commit %.12s is not in %s: planning from nothing",
			    last, o->repo_path);
		free(last);
	} else {
		p->from = last;
	}
	return 0;
}

static int published_pred(void *arg, const struct builder_spec *spec)
{
	struct pipeline *p = arg;

	if (!spec->npackages)
		return 1;
	for (size_t i = 0; i < spec->npackages; i++) {
		char *file = builder_package_rpm_name(&spec->packages[i]);
		int found = 0;
		for (size_t k = 0; !found && k < p->published.n; k++)
			found = !strcmp(basename_of(p->published.items[k]), file);
		free(file);
		if (!found)
			return 0;
	}
	return 1;
}

static char *find_published_rpm(void *arg, const char *file)
{
	struct pipeline *p = arg;

	for (size_t k = 0; k < p->published.n; k++)
		if (!strcmp(basename_of(p->published.items[k]), file))
			return sy_xstrdup(p->published.items[k]);
	return NULL;
}

static int plan_stage(struct pipeline *p, struct sy_error *err)
{
	const struct service_pipeline_options *o = p->opts;
	struct builder_macro_settings settings;
	struct sy_strv toolchain = SY_STRV_INIT;
	char *tmp = state_path(p, "tmp");
	int rc = -1;

	if (builder_distro_load(p->repo, p->to, tmp, &p->distro, err))
		goto out;
	builder_distro_macro_settings(&p->distro, o->arch, &settings);
	struct sy_strv prefixes = SY_STRV_INIT;
	for (size_t i = 0; i < p->distro.spec_trees.n; i++)
		sy_strv_push(&prefixes, p->distro.spec_trees.items[i]);
	sy_strv_push(&prefixes, p->distro.imageconfigs_dir);
	rc = gitwatch_changeset_compute(p->repo, p->from, p->to,
					(const char *const *)prefixes.items, &p->changes, err);
	sy_strv_release(&prefixes);
	if (rc)
		goto out;
	rc = -1;
	if (builder_index_load(p->repo, p->to, &settings, tmp, o->jobs, &p->index, err))
		goto out;
	if (o->worker_manifest && builder_toolchain_read(o->worker_manifest, &toolchain, err))
		goto out;
	if (builder_graph_build(p->index.specs, p->index.nspecs, &toolchain, o->arch, &p->graph, err))
		goto out;
	if (repo_publish_list_current(p->repos_dir, p->channel, &p->published, err))
		goto out;
	struct builder_plan_input in = {
		.specs = p->index.specs, .nspecs = p->index.nspecs, .graph = &p->graph,
		.changes = &p->changes, .published = published_pred, .arg = p,
		.force = &p->previous_failures,
	};
	rc = builder_plan_compute(&in, &p->plan, err);
out:
	sy_strv_release(&toolchain);
	free(tmp);
	return rc;
}

static void progress(void *arg, size_t done, size_t total, const char *spec, const char *state)
{
	struct pipeline *p = arg;
	long elapsed = (long)(time(NULL) - p->started);

	if (!state)
		sy_log_info("[%zu/%zu] %s: building (elapsed %lds)", done, total, spec, elapsed);
	else
		sy_log_info("[%zu/%zu] %s: %s (elapsed %lds)", done, total, spec, state, elapsed);
}

static int prepare_worker(struct pipeline *p, struct sy_error *err)
{
	const struct service_pipeline_options *o = p->opts;
	char *cache = o->worker_cache ? sy_xstrdup(o->worker_cache) : state_path(p, "worker");
	char *log = state_path(p, "logs/worker.log");
	int rc = -1;

	sy_mkdir_p(p->opts->state_dir, 0755, NULL);
	char *logs = state_path(p, "logs");
	sy_mkdir_p(logs, 0755, NULL);
	free(logs);
	FILE *f = fopen(log, "a");
	if (!o->worker_manifest) {
		sy_error_set(err, "no worker manifest given");
	} else if (builder_worker_manifest_read(o->worker_manifest, &p->worker, err) == 0) {
		sy_log_info("worker root %.12s (%s)", p->worker.digest, o->worker_manifest);
		rc = builder_worker_ensure(cache, &p->worker, f ? fileno(f) : -1, &p->worker_root, err);
	}
	if (f)
		fclose(f);
	free(log);
	free(cache);
	return rc;
}

static size_t build_stage(struct pipeline *p, struct sy_error *err)
{
	size_t n = p->index.nspecs;

	p->keys = sy_xcalloc(n + 1, sizeof(*p->keys));
	p->results = sy_xcalloc(p->plan.n + 1, sizeof(*p->results));
	if (!p->plan.n)
		return 0;
	if (prepare_worker(p, err) ||
	    builder_buildkeys_compute(p->repo, &p->index, &p->graph, p->worker.digest, p->keys, err))
		return (size_t)-1;
	char *artifacts = state_path(p, "artifacts"), *builds = state_path(p, "builds");
	struct sy_error sweep_err = { { 0 } };
	if (builder_build_sweep(builds, &sweep_err))
		sy_log_warn("%s", sweep_err.msg);
	char *logs = sy_xasprintf("%s/logs/%.12s", p->opts->state_dir, p->to);
	struct builder_schedule_input in = {
		.repo = p->repo, .index = &p->index, .graph = &p->graph, .plan = &p->plan,
		.keys = (const char (*)[SY_SHA256_HEX_LEN + 1])p->keys, .artifacts_dir = artifacts,
		.builds_dir = builds, .log_dir = logs, .worker_root = p->worker_root,
		.timeout_s = p->opts->build_timeout_s, .find_rpm = find_published_rpm,
		.find_rpm_arg = p, .progress = progress, .progress_arg = p,
	};
	size_t bad = builder_schedule_run(&in, p->results);
	for (size_t e = 0; e < p->plan.n; e++)
		if (p->results[e].reason)
			sy_log_error("%s (log: %s)", p->results[e].reason, p->results[e].log_path);
	free(artifacts);
	free(builds);
	free(logs);
	return bad;
}

/* The packages of spec that the current snapshot holds, matched by package
 * name (the NEVRA may be older than the spec at this commit). */
static void keep_published(const struct pipeline *p, const struct builder_spec *spec,
			   struct sy_strv *set)
{
	for (size_t k = 0; k < p->published.n; k++) {
		const char *file = basename_of(p->published.items[k]);
		for (size_t i = 0; i < spec->npackages; i++) {
			const char *name = spec->packages[i].name;
			size_t len = strlen(name);
			/* name-VERSION-RELEASE.arch.rpm: the name is followed by
			 * exactly two more dash-separated fields. */
			const char *rest = !strncmp(file, name, len) && file[len] == '-' ? file + len + 1 : NULL;
			int match = rest && strchr(rest, '-') && !strchr(strchr(rest, '-') + 1, '-');
			if (match) {
				sy_strv_push(set, p->published.items[k]);
				break;
			}
		}
	}
}

/* The package set of the new snapshot: fresh builds, and for every other spec
 * of the commit its packages as published before. */
static void collect_package_set(const struct pipeline *p, struct sy_strv *set)
{
	unsigned char *done = sy_xcalloc(p->index.nspecs + 1, 1);

	for (size_t e = 0; e < p->plan.n; e++) {
		const struct builder_job_result *r = &p->results[e];
		if (r->state != BUILDER_JOB_BUILT && r->state != BUILDER_JOB_REUSED)
			continue;
		done[p->plan.entries[e].spec] = 1;
		for (size_t i = 0; i < r->rpms.n; i++)
			sy_strv_push(set, r->rpms.items[i]);
		if (r->srpm)
			sy_strv_push(set, r->srpm);
	}
	for (size_t i = 0; i < p->index.nspecs; i++)
		if (!done[i] && !p->index.specs[i].error)
			keep_published(p, &p->index.specs[i], set);
	free(done);
}

static int same_basenames(const struct sy_strv *a, const struct sy_strv *b)
{
	struct sy_strv x = SY_STRV_INIT, y = SY_STRV_INIT;
	int same;

	for (size_t i = 0; i < a->n; i++)
		if (!strstr(a->items[i], ".src.rpm"))
			sy_strv_push(&x, basename_of(a->items[i]));
	for (size_t i = 0; i < b->n; i++)
		sy_strv_push(&y, basename_of(b->items[i]));
	sy_strv_sort_unique(&x);
	sy_strv_sort_unique(&y);
	same = x.n == y.n;
	for (size_t i = 0; same && i < x.n; i++)
		same = !strcmp(x.items[i], y.items[i]);
	sy_strv_release(&x);
	sy_strv_release(&y);
	return same;
}

static int publish_stage(struct pipeline *p, struct sy_error *err)
{
	struct sy_strv set = SY_STRV_INIT;
	char *snapshot = NULL;
	int rc = 0;

	collect_package_set(p, &set);
	if (!set.n || same_basenames(&set, &p->published)) {
		sy_log_info("repository %s unchanged (%zu packages)", p->channel, p->published.n);
	} else {
		rc = repo_publish_snapshot(p->repos_dir, p->channel, (const char *const *)set.items,
					   &snapshot, err);
		if (rc == 0)
			sy_log_info("published %s: %s", p->channel, snapshot);
	}
	if (rc == 0)
		rc = write_published_record(p, err);
	free(snapshot);
	sy_strv_release(&set);
	return rc;
}

static void pipeline_release(struct pipeline *p)
{
	for (size_t e = 0; p->results && e < p->plan.n; e++)
		builder_job_result_release(&p->results[e]);
	free(p->results);
	free(p->keys);
	free(p->worker_root);
	builder_worker_manifest_release(&p->worker);
	builder_plan_release(&p->plan);
	builder_graph_release(&p->graph);
	builder_index_release(&p->index);
	gitwatch_changeset_release(&p->changes);
	builder_distro_release(&p->distro);
	sy_strv_release(&p->published);
	sy_strv_release(&p->previous_failures);
	free(p->repos_dir);
	free(p->channel);
	free(p->from);
	gitwatch_repo_free(p->repo);
}

static void report_build(struct pipeline *p, size_t bad)
{
	size_t counts[4] = { 0 };

	for (size_t e = 0; e < p->plan.n; e++)
		counts[p->results[e].state]++;
	service_status_report(p->opts->reporter, "shipyard/build",
			      bad ? SERVICE_STATUS_FAILURE : SERVICE_STATUS_SUCCESS,
			      "%zu built, %zu reused, %zu failed, %zu blocked",
			      counts[BUILDER_JOB_BUILT], counts[BUILDER_JOB_REUSED],
			      counts[BUILDER_JOB_FAILED], counts[BUILDER_JOB_BLOCKED]);
}

static int run_stages(struct pipeline *p, struct sy_error *err)
{
	struct service_reporter *rep = p->opts->reporter;
	int failed = 0;

	service_status_report(rep, "shipyard/plan", SERVICE_STATUS_PENDING, "planning %.12s",
			      p->to);
	if (plan_stage(p, err)) {
		service_status_report(rep, "shipyard/plan", SERVICE_STATUS_FAILURE, "%s", err->msg);
		return -1;
	}
	service_plan_print(p->opts->out, &p->index, &p->graph, &p->plan, &p->changes, p->opts->json);
	failed = p->plan.broken_specs.n != 0 || p->plan.cycles.n != 0;
	service_status_report(rep, "shipyard/plan",
			      failed ? SERVICE_STATUS_FAILURE : SERVICE_STATUS_SUCCESS,
			      "%zu specs to build, %zu broken, %zu cycles", p->plan.n,
			      p->plan.broken_specs.n, p->plan.cycles.n);
	if (p->opts->plan_only)
		return failed;
	service_status_report(rep, "shipyard/build", SERVICE_STATUS_PENDING, "%zu specs to build",
			      p->plan.n);
	size_t bad = build_stage(p, err);
	if (bad == (size_t)-1) {
		service_status_report(rep, "shipyard/build", SERVICE_STATUS_ERROR, "%s", err->msg);
		return -1;
	}
	report_build(p, bad);
	failed |= bad != 0;
	if (publish_stage(p, err))
		return -1;
	struct service_image_step step = {
		.repo = p->repo, .commit = p->to, .configs_dir = p->distro.imageconfigs_dir,
		.repos_dir = p->repos_dir, .channel = p->channel, .state_dir = p->opts->state_dir,
		.arch = p->opts->arch ? p->opts->arch : "x86_64", .reporter = rep,
	};
	int images = service_image_step_run(&step, err);
	if (images < 0)
		return -1;
	return failed || images ? 1 : 0;
}

int service_pipeline_run(const struct service_pipeline_options *opts, struct sy_error *err)
{
	struct pipeline p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.opts = opts;
	p.started = time(NULL);
	if (sy_mkdir_p(opts->state_dir, 0755, err))
		return -1;
	rc = open_and_resolve(&p, err);
	if (rc == 0)
		rc = run_stages(&p, err);
	pipeline_release(&p);
	return rc;
}
