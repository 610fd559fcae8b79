#include "builder/schedule.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "builder/buildjob.h"
#include "builder/sources.h"
#include "common/fs.h"

const char *builder_job_state_name(enum builder_job_state state)
{
	switch (state) {
	case BUILDER_JOB_BUILT: return "built";
	case BUILDER_JOB_REUSED: return "reused";
	case BUILDER_JOB_FAILED: return "failed";
	case BUILDER_JOB_BLOCKED: return "blocked";
	}
	return "?";
}

char *builder_package_rpm_name(const struct builder_package *pkg)
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
	memset(res, 0, sizeof(*res));
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

int builder_artifact_lookup(const char *dir, struct builder_job_result *res)
{
	char *marker = sy_xasprintf("%s/summary.json", dir);
	int found = sy_exists(marker);
	free(marker);
	if (!found)
		return 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (ends_with(de->d_name, ".src.rpm"))
			res->srpm = sy_xasprintf("%s/%s", dir, de->d_name);
		else if (ends_with(de->d_name, ".rpm"))
			sy_strv_pushf(&res->rpms, "%s/%s", dir, de->d_name);
	}
	closedir(d);
	sy_strv_sort_unique(&res->rpms);
	return 1;
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
	return in->find_rpm ? in->find_rpm(in->find_rpm_arg, file) : NULL;
}

static int collect_install(const struct builder_schedule_input *in, const struct run_order *o,
			   const struct builder_job_result *results, size_t e,
			   struct sy_strv *paths, struct sy_error *err)
{
	size_t spec = in->plan->entries[e].spec;

	const struct builder_graph_node *node = &in->graph->nodes[spec];

	for (size_t i = 0; i < node->ninstall; i++) {
		const struct builder_pkgref *ref = &node->install[i];
		const struct builder_package *pkg = &in->index->specs[ref->spec].packages[ref->package];
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

static int write_summary(const char *dir, const struct builder_spec *spec, const char *key,
			 struct sy_error *err)
{
	char *path = sy_xasprintf("%s/summary.json", dir);
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "spec", spec->path, "name",
				spec->name, "version", spec->version, "release", spec->release,
				"build_key", key);
	char *text = json_dumps(doc, JSON_INDENT(2));
	int rc = sy_write_file_atomic(path, text, strlen(text), 0644, err);
	json_decref(doc);
	free(path);
	free(text);
	return rc;
}

/* Materialises the spec directory, verifies sources, builds, and stores the
 * outputs under the artifact directory of the key. */
static int build_one(const struct builder_schedule_input *in, const struct run_order *o,
		     struct builder_job_result *results, size_t e, const struct sy_strv *late,
		     int log_fd, struct sy_error *err)
{
	const struct builder_spec *spec = &in->index->specs[in->plan->entries[e].spec];
	const char *key = in->keys[in->plan->entries[e].spec];
	char *dir = builder_path_dir(spec->path);
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

	if (lock < 0)
		goto out;
	sy_rm_rf(src, NULL);
	sy_rm_rf(tmp_out, NULL);
	if (gitwatch_materialize(in->repo, in->index->commit, dir, src, err))
		goto out;
	if (builder_sources_verify(src, sig, &spec->sources, err)) {
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
	for (size_t k = 0; late && k < late->n; k++)
		if (!sy_strv_contains(&install, late->items[k]))
			sy_strv_push(&install, late->items[k]);
	struct builder_build_request req = {
		.spec_dir = src, .spec_file = base, .worker_root = in->worker_root,
		.scratch_dir = scratch, .install_rpms = (const char *const *)install.items,
		.macros = &in->index->macros, .out_dir = tmp_out, .log_fd = log_fd,
		.timeout_s = in->timeout_s, .locked = 1,
	};
	static const char *const none[] = { NULL };
	if (!install.n)
		req.install_rpms = none;
	if (builder_build_run(&req, &out, err) || write_summary(tmp_out, spec, key, err))
		goto out;
	sy_rm_rf(final, NULL);
	if (rename(tmp_out, final) < 0) {
		sy_error_set(err, "%s: cannot store artifacts: %s", final, strerror(errno));
		goto out;
	}
	results[e].seconds = out.seconds;
	rc = builder_artifact_lookup(final, &results[e]) ? 0 : sy_error_set(err, "%s: incomplete", final);
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

/* Returns the first spec of the set whose packages this entry's build root
 * needs and that did not succeed, or SIZE_MAX. */
static size_t failed_dependency(const struct builder_schedule_input *in, const struct run_order *o,
				const struct builder_job_result *results, size_t e)
{
	const struct builder_graph_node *node = &in->graph->nodes[in->plan->entries[e].spec];

	for (size_t k = 0; k < node->nroot_specs; k++) {
		size_t s = o->slot[node->root_specs[k]];
		if (ran_before(o, node->root_specs[k], e) &&
		    (results[s].state == BUILDER_JOB_FAILED || results[s].state == BUILDER_JOB_BLOCKED))
			return node->root_specs[k];
	}
	return SIZE_MAX;
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

static void build_entry(const struct builder_schedule_input *in, const struct run_order *o,
			struct builder_job_result *results, size_t e, const struct sy_strv *late)
{
	const struct builder_spec *spec = &in->index->specs[in->plan->entries[e].spec];
	struct builder_job_result *res = &results[e];
	struct sy_error err = { { 0 } };
	int fd = open(res->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (build_one(in, o, results, e, late, fd, &err)) {
		char *last = last_error_line(res->log_path);
		fail(res, BUILDER_JOB_FAILED, sy_xasprintf("%s: %s%s%s", spec->path, err.msg,
							    last ? ": " : "", last ? last : ""));
		free(last);
		if (fd >= 0)
			dprintf(fd, "shipyard: %s\n", res->reason);
	} else {
		res->state = BUILDER_JOB_BUILT;
		res->late = late && late->n;
	}
	if (fd >= 0)
		close(fd);
}

static void run_entry(const struct builder_schedule_input *in, const struct run_order *o,
		      struct builder_job_result *results, size_t e)
{
	const struct builder_plan_entry *entry = &in->plan->entries[e];
	const struct builder_spec *spec = &in->index->specs[entry->spec];
	const struct builder_graph_node *node = &in->graph->nodes[entry->spec];
	struct builder_job_result *res = &results[e];
	struct sy_strv late = SY_STRV_INIT, rpms = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	size_t blocker;

	res->log_path = sy_xasprintf("%s/%s.log", in->log_dir,
				     spec->name ? spec->name : strrchr(spec->path, '/') + 1);
	if (spec->error) {
		fail(res, BUILDER_JOB_FAILED, sy_xstrdup(spec->error));
		return;
	}
	if (entry->in_cycle) {
		fail(res, BUILDER_JOB_FAILED, sy_xasprintf("%s: in a build dependency cycle", spec->path));
		return;
	}
	if ((blocker = failed_dependency(in, o, results, e)) != SIZE_MAX) {
		fail(res, BUILDER_JOB_BLOCKED, sy_xasprintf("%s: blocked by %s", spec->path,
							     in->index->specs[blocker].name));
		return;
	}
	char *dir = sy_xasprintf("%s/%s", in->artifacts_dir, in->keys[entry->spec]);
	int reused = builder_artifact_lookup(dir, res);
	free(dir);
	if (reused) {
		res->state = BUILDER_JOB_REUSED;
		return;
	}
	if (node->unresolved.n) {
		static const char *const none[] = { NULL };
		available_rpms(in, o, results, e, &rpms);
		if (builder_graph_resolve_late(in->graph, entry->spec,
					       rpms.n ? (const char *const *)rpms.items : none,
					       &late, &err))
			fail(res, BUILDER_JOB_FAILED, sy_xasprintf("%s: %s", spec->path, err.msg));
	}
	if (!res->reason)
		build_entry(in, o, results, e, &late);
	sy_strv_release(&late);
	sy_strv_release(&rpms);
}

/* Entries whose BuildRequires are not all resolved yet (they may be
 * generated by builds of this run), and those that need their packages, run
 * after all others. */
static void order_run(const struct builder_schedule_input *in, struct run_order *o, size_t *order)
{
	const struct builder_plan *plan = in->plan;
	unsigned char *deferred = sy_xcalloc(plan->n + 1, 1);
	size_t k = 0;

	for (size_t e = 0; e < plan->n; e++) {
		const struct builder_graph_node *node = &in->graph->nodes[plan->entries[e].spec];
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
	free(deferred);
}

size_t builder_schedule_run(const struct builder_schedule_input *in,
			    struct builder_job_result *results)
{
	const struct builder_plan *plan = in->plan;
	struct run_order o = { sy_xmalloc((in->index->nspecs + 1) * sizeof(size_t)),
			       sy_xcalloc(plan->n + 1, sizeof(size_t)) };
	size_t *order = sy_xcalloc(plan->n + 1, sizeof(size_t)), bad = 0;

	for (size_t i = 0; i < in->index->nspecs; i++)
		o.slot[i] = SIZE_MAX;
	for (size_t e = 0; e < plan->n; e++)
		o.slot[plan->entries[e].spec] = e;
	order_run(in, &o, order);
	sy_mkdir_p(in->log_dir, 0755, NULL);
	sy_mkdir_p(in->builds_dir, 0755, NULL);
	sy_mkdir_p(in->artifacts_dir, 0755, NULL);
	for (size_t k = 0; k < plan->n; k++) {
		size_t e = order[k];
		const struct builder_spec *spec = &in->index->specs[plan->entries[e].spec];
		const char *name = spec->name ? spec->name : spec->path;
		if (in->progress)
			in->progress(in->progress_arg, k, plan->n, name, NULL);
		run_entry(in, &o, results, e);
		bad += results[e].state == BUILDER_JOB_FAILED || results[e].state == BUILDER_JOB_BLOCKED;
		if (in->progress)
			in->progress(in->progress_arg, k + 1, plan->n, name,
				     builder_job_state_name(results[e].state));
	}
	free(order);
	free(o.slot);
	free(o.pos);
	return bad;
}
