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
#include "builder/schedule-private.h"
#include "builder/sources.h"
#include "common/fs.h"

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
		.smp_ncpus_max = builder_schedule_cores(in),
		.rebuild_suffix = results[e].release_suffix,
	};
	if (req.rebuild_suffix && *req.rebuild_suffix && log_fd >= 0)
		dprintf(log_fd, "shipyard: rebuild counter %u: Release %s%s\n", results[e].counter,
			spec->release, req.rebuild_suffix);
	else if (results[e].warning && log_fd >= 0)
		dprintf(log_fd, "shipyard: %s\n", results[e].warning);
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
	dprintf(fd, "%d %d %.3f %d\t%s\n", built, infra, res->seconds, check, reason ? reason : "");
	free(reason);
	if (log >= 0)
		close(log);
}
