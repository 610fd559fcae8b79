/* One job of a schedule run, in its own process (builder/schedule-private.h):
 * the spec directory written out, sources hydrated and checked, the build in
 * an isolated root, the outputs stored as the artifact of its build key. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/artifact.h"
#include "builder/buildjob.h"
#include "builder/buildlock.h"
#include "builder/jobdesc.h"
#include "builder/logtimes.h"
#include "builder/schedule-private.h"
#include "builder/sources.h"
#include "common/fs.h"
#include "common/util.h"

/* The RPM of pkg among paths (by name and arch), newly allocated, or NULL. */
static char *rpm_among(const struct sy_strv *paths, const struct planner_package *pkg)
{
	for (size_t i = 0; i < paths->n; i++)
		if (builder_rpm_is_package(paths->items[i], pkg))
			return sy_xstrdup(paths->items[i]);
	return NULL;
}

/* Where the RPM of package pkg of spec is: found by name and arch, as the
 * Release of a build may carry its rebuild counter (builder/rebuild.h). */
static char *locate_rpm(const struct builder_schedule_input *in, const struct run_order *o,
			const struct builder_job_result *results, size_t e, size_t spec,
			const struct planner_package *pkg)
{
	struct sy_strv rpms = SY_STRV_INIT;
	char *found, *dir, *srpm = NULL;

	/* A spec run later is a bootstrap member of a cycle: its packages come
	 * from the published repository. */
	if (ran_before(o, spec, e))
		return rpm_among(&results[o->slot[spec]].rpms, pkg);
	/* Not rebuilt here: its artifact for the same key (built by any branch
	 * or pull request), else the channel's published repository. */
	dir = sy_xasprintf("%s/%s", in->artifacts_dir, in->keys[spec]);
	builder_artifact_lookup(dir, &rpms, &srpm);
	found = rpm_among(&rpms, pkg);
	sy_strv_release(&rpms);
	free(srpm);
	free(dir);
	if (found)
		return found;
	return in->find_rpm ? in->find_rpm(in->find_rpm_arg, pkg) : NULL;
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
		char *path = locate_rpm(in, o, results, e, ref->spec, pkg);
		if (!path)
			return sy_error_set(err, "BuildRequires package %s (%s) is not available",
					    pkg->name, pkg->arch);
		sy_strv_push_owned(paths, path);
	}
	return 0;
}

/* Copies the members of the macro context a build uses into d. */
static void copy_macros(struct builder_jobdesc *d, const struct planner_macro_ctx *m)
{
	for (size_t i = 0; i < m->macro_files.n; i++)
		sy_strv_push(&d->macros.macro_files, m->macro_files.items[i]);
	for (size_t i = 0; i < m->defines.n; i++)
		sy_strv_push(&d->macros.defines, m->defines.items[i]);
	d->macros.rpmrc = m->rpmrc ? sy_xstrdup(m->rpmrc) : NULL;
	d->macros.lua_dir = m->lua_dir ? sy_xstrdup(m->lua_dir) : NULL;
	d->macros.dist_tag = m->dist_tag ? sy_xstrdup(m->dist_tag) : NULL;
}

/* Fills what d says of entry e apart from its prepared directory. */
static void describe_entry(const struct builder_schedule_input *in,
			   const struct builder_job_result *results, size_t e,
			   struct builder_jobdesc *d)
{
	const struct planner_spec *spec = &in->index->specs[in->plan->entries[e].spec];
	const char *key = in->keys[in->plan->entries[e].spec];

	d->spec_path = sy_xstrdup(spec->path);
	d->name = sy_xstrdup(spec->name);
	d->version = sy_xstrdup(spec->version);
	d->release = sy_xstrdup(spec->release);
	d->key = sy_xstrdup(key);
	d->spec_file = sy_xstrdup(strrchr(spec->path, '/') + 1);
	d->worker_root = sy_xstrdup(in->worker_root);
	d->worker_tarball = in->worker_tarball ? sy_xstrdup(in->worker_tarball) : NULL;
	d->scratch_dir = builder_schedule_scratch(in, e);
	d->artifact_dir = sy_xasprintf("%s/%s", in->artifacts_dir, key);
	d->log_path = sy_xstrdup(results[e].log_path);
	d->rebuild_suffix = results[e].release_suffix ? sy_xstrdup(results[e].release_suffix) : NULL;
	copy_macros(d, &in->index->macros);
	d->timeout_s = in->timeout_s;
	d->output_limit_bytes = in->output_limit_bytes;
	d->smp_ncpus_max = builder_schedule_cores(in);
	d->run_check = in->run_check;
}

char *builder_schedule_scratch(const struct builder_schedule_input *in, size_t e)
{
	const struct planner_spec *spec = &in->index->specs[in->plan->entries[e].spec];

	return sy_xasprintf("%s/%s-%.12s", in->builds_dir, spec->name,
			    in->keys[in->plan->entries[e].spec]);
}

int builder_schedule_job_prepare(const struct builder_schedule_input *in,
				 const struct run_order *o, const struct builder_job_result *results,
				 size_t e, const struct sy_strv *late, const char *src, int log_fd,
				 struct builder_jobdesc *d, struct sy_error *err)
{
	const struct planner_spec *spec = &in->index->specs[in->plan->entries[e].spec];
	char *dir = planner_path_dir(spec->path);
	const char *base = strrchr(spec->path, '/') + 1;
	char *sig = sy_xasprintf("%s/%.*s.signatures.json", src, (int)(strlen(base) - 5), base);
	int rc = -1, updated = 0;

	memset(d, 0, sizeof(*d));
	describe_entry(in, results, e, d);
	d->spec_dir = sy_xstrdup(src);
	sy_rm_rf(src, NULL);
	if (gitwatch_materialize(in->repo, in->index->commit, dir, src, err))
		goto out;
	const struct builder_sources_origin origin = {
		.spec_name = spec->name, .cache_dir = in->source_cache, .urls = in->source_urls,
		.signatures = in->signatures, .log_fd = log_fd,
	};
	if (builder_sources_hydrate(src, sig, &spec->sources, &origin, err)) {
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
	if (collect_install(in, o, results, e, &d->install_rpms, err))
		goto out;
	if (updated) {
		/* The rewritten file goes with the artifacts: a CI service does
		 * not push commits; the maintainer takes it from there. */
		d->keep_file = sy_xstrdup(sig);
		if (log_fd >= 0)
			dprintf(log_fd, "shipyard: %s/%s updated with the sources used: %s/%s\n", dir,
				sy_base_name(sig), d->artifact_dir, sy_base_name(sig));
	}
	for (size_t k = 0; late && k < late->n; k++)
		if (!sy_strv_contains(&d->install_rpms, late->items[k]))
			sy_strv_push(&d->install_rpms, late->items[k]);
	if (d->rebuild_suffix && *d->rebuild_suffix && log_fd >= 0)
		dprintf(log_fd, "shipyard: rebuild counter %u: Release %s%s\n", results[e].counter,
			spec->release, d->rebuild_suffix);
	else if (results[e].warning && log_fd >= 0)
		dprintf(log_fd, "shipyard: %s\n", results[e].warning);
	rc = 0;
out:
	free(sig);
	free(dir);
	return rc;
}

/* Prepares entry e next to its scratch directory, builds it in an isolated
 * root and stores the outputs under the artifact directory of its key. */
static int build_one(const struct builder_schedule_input *in, const struct run_order *o,
		     struct builder_job_result *results, size_t e, const struct sy_strv *late,
		     int log_fd, int *infra, int *check, struct sy_error *err)
{
	char *scratch = builder_schedule_scratch(in, e);
	char *src = sy_xasprintf("%s.src", scratch);
	struct builder_jobdesc d = { 0 };
	int rc = -1;
	/* The job's lock covers its scratch and .src directories: no sweep or
	 * other pipeline removes them while this one fills them. */
	int lock = builder_build_lock(scratch, err);

	*infra = 0;
	if (lock < 0)
		goto out;
	if (builder_schedule_job_prepare(in, o, results, e, late, src, log_fd, &d, err))
		goto out;
	rc = builder_jobdesc_run(&d, 1, log_fd, infra, &results[e].seconds, check, err);
	if (rc == 0 && !builder_artifact_lookup(d.artifact_dir, &results[e].rpms, &results[e].srpm)) {
		sy_error_set(err, "%s: incomplete", d.artifact_dir);
		rc = -1;
	}
out:
	if (lock >= 0) {
		sy_rm_rf(src, NULL);
		builder_build_unlock(scratch, lock);
	}
	builder_jobdesc_release(&d);
	free(src);
	free(scratch);
	return rc;
}

void builder_schedule_job_process(const struct builder_schedule_input *in, const struct run_order *o,
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
	/* Without a follower the log is written without times. */
	struct builder_log_follower *times =
		log >= 0 ? builder_log_times_follow(res->log_path, retry, NULL) : NULL;

	if (retry) {
		unsigned wait_s = 1U << (res->attempts - 1); /* 1, 2, 4 s */
		if (log >= 0)
			dprintf(log, "shipyard: attempt %d after an infrastructure failure, in %u s\n",
				res->attempts + 1, wait_s);
		sleep(wait_s);
	}
	built = build_one(in, o, results, e, late, log, &infra, &check, &err) == 0;

	if (!built) {
		/* err already holds what the log says when rpmbuild failed
		 * (builder_build_run); another failure owes nothing to the
		 * log's last rpm error, which an earlier attempt may have
		 * written. */
		reason = sy_xasprintf("%s: %s", spec->path, err.msg);
		if (log >= 0)
			dprintf(log, "shipyard: %s\n", reason);
	}
	char *line = builder_jobdesc_result_line(built, infra, res->seconds, check, reason);
	sy_write_all(fd, line, strlen(line));
	free(line);
	free(reason);
	builder_log_times_follow_stop(times);
	if (log >= 0)
		close(log);
}
