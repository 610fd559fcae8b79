/* A build job as a file (builder/jobdesc.h). */
#define _GNU_SOURCE
#include "builder/jobdesc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "builder/artifact.h"
#include "builder/buildjob.h"
#include "builder/buildlock.h"
#include "builder/logtimes.h"
#include "common/fs.h"
#include "common/util.h"

/* The string members, in one table for writing and reading. */
#define STRINGS(d)                                                                          \
	{ "spec_path", &(d)->spec_path, 0 }, { "name", &(d)->name, 0 },                    \
	{ "version", &(d)->version, 0 }, { "release", &(d)->release, 0 },                  \
	{ "key", &(d)->key, 0 }, { "spec_dir", &(d)->spec_dir, 0 },                        \
	{ "spec_file", &(d)->spec_file, 0 }, { "worker_root", &(d)->worker_root, 0 },      \
	{ "worker_tarball", &(d)->worker_tarball, 1 },                                      \
	{ "scratch_dir", &(d)->scratch_dir, 0 }, { "artifact_dir", &(d)->artifact_dir, 0 }, \
	{ "log_path", &(d)->log_path, 0 }, { "result_path", &(d)->result_path, 0 },        \
	{ "rebuild_suffix", &(d)->rebuild_suffix, 1 }, { "keep_file", &(d)->keep_file, 1 }, \
	{ "macro_rpmrc", &(d)->macros.rpmrc, 1 }, { "macro_lua_dir", &(d)->macros.lua_dir, 1 }, \
	{ "macro_dist_tag", &(d)->macros.dist_tag, 1 }

#define LISTS(d)                                                                            \
	{ "install_rpms", &(d)->install_rpms }, { "macro_files", &(d)->macros.macro_files }, \
	{ "macro_defines", &(d)->macros.defines }

struct str_member {
	const char *name;
	char **value;
	int nullable; /* 1: may be null */
};

struct list_member {
	const char *name;
	struct sy_strv *value;
};

static json_t *strv_json(const struct sy_strv *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_string(v->items[i]));
	return a;
}

int builder_jobdesc_write(const struct builder_jobdesc *d, const char *path, struct sy_error *err)
{
	struct builder_jobdesc *m = (struct builder_jobdesc *)d;
	const struct str_member strs[] = { STRINGS(m) };
	const struct list_member lists[] = { LISTS(m) };
	json_t *o = json_object();
	char *text;
	int rc;

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		json_object_set_new(o, strs[i].name,
				    *strs[i].value ? json_string(*strs[i].value) : json_null());
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		json_object_set_new(o, lists[i].name, strv_json(lists[i].value));
	json_object_set_new(o, "timeout_s", json_integer(d->timeout_s));
	json_object_set_new(o, "output_limit_bytes", json_integer((json_int_t)d->output_limit_bytes));
	json_object_set_new(o, "smp_ncpus_max", json_integer(d->smp_ncpus_max));
	json_object_set_new(o, "run_check", json_boolean(d->run_check));
	text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
	rc = sy_write_file_atomic(path, text, strlen(text), 0644, err);
	free(text);
	json_decref(o);
	return rc;
}

/* Reads member name of o into *out; 0, or -1 with err. */
static int read_string(json_t *o, const struct str_member *m, const char *path, struct sy_error *err)
{
	json_t *v = json_object_get(o, m->name);

	if (json_is_string(v)) {
		*m->value = sy_xstrdup(json_string_value(v));
		return 0;
	}
	if (m->nullable && json_is_null(v))
		return 0;
	return sy_error_set(err, "%s: member '%s' missing or not a string", path, m->name);
}

static int read_list(json_t *o, const struct list_member *m, const char *path, struct sy_error *err)
{
	json_t *a = json_object_get(o, m->name), *v;
	size_t i;

	if (!json_is_array(a))
		return sy_error_set(err, "%s: member '%s' missing or not an array", path, m->name);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return sy_error_set(err, "%s: member '%s': not all strings", path, m->name);
		sy_strv_push(m->value, json_string_value(v));
	}
	return 0;
}

static int read_number(json_t *o, const char *name, unsigned long long *out, const char *path,
		       struct sy_error *err)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return sy_error_set(err, "%s: member '%s' missing or not a number", path, name);
	*out = (unsigned long long)json_integer_value(v);
	return 0;
}

static int known_member(const char *key, const struct str_member *strs, size_t ns,
			const struct list_member *lists, size_t nl)
{
	static const char *const others[] = { "timeout_s", "output_limit_bytes", "smp_ncpus_max",
					      "run_check" };

	for (size_t i = 0; i < ns; i++)
		if (!strcmp(key, strs[i].name))
			return 1;
	for (size_t i = 0; i < nl; i++)
		if (!strcmp(key, lists[i].name))
			return 1;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (!strcmp(key, others[i]))
			return 1;
	return 0;
}

static int read_members(json_t *o, struct builder_jobdesc *d, const char *path, struct sy_error *err)
{
	const struct str_member strs[] = { STRINGS(d) };
	const struct list_member lists[] = { LISTS(d) };
	const size_t ns = sizeof(strs) / sizeof(strs[0]), nl = sizeof(lists) / sizeof(lists[0]);
	unsigned long long timeout, limit, cpus;
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v)
		if (!known_member(key, strs, ns, lists, nl))
			return sy_error_set(err, "%s: unknown member '%s'", path, key);
	for (size_t i = 0; i < ns; i++)
		if (read_string(o, &strs[i], path, err))
			return -1;
	for (size_t i = 0; i < nl; i++)
		if (read_list(o, &lists[i], path, err))
			return -1;
	if (read_number(o, "timeout_s", &timeout, path, err) ||
	    read_number(o, "output_limit_bytes", &limit, path, err) ||
	    read_number(o, "smp_ncpus_max", &cpus, path, err))
		return -1;
	if (!json_is_boolean(json_object_get(o, "run_check")))
		return sy_error_set(err, "%s: member 'run_check' missing or not a boolean", path);
	d->timeout_s = (unsigned)timeout;
	d->output_limit_bytes = limit;
	d->smp_ncpus_max = (unsigned)cpus;
	d->run_check = json_is_true(json_object_get(o, "run_check"));
	return 0;
}

int builder_jobdesc_read(const char *path, struct builder_jobdesc *d, struct sy_error *err)
{
	json_error_t jerr;
	json_t *o = json_load_file(path, 0, &jerr);
	int rc;

	memset(d, 0, sizeof(*d));
	if (!o)
		return sy_error_set(err, "%s: %s", path, jerr.text);
	rc = json_is_object(o) ? read_members(o, d, path, err)
			       : sy_error_set(err, "%s: not a JSON object", path);
	json_decref(o);
	if (rc)
		builder_jobdesc_release(d);
	return rc;
}

/* Stores the outputs in tmp as the artifact: summary, then rename. */
static int store(const struct builder_jobdesc *d, const char *tmp, struct sy_error *err)
{
	struct planner_spec spec = { 0 };

	spec.path = d->spec_path;
	spec.name = d->name;
	spec.version = d->version;
	spec.release = d->release;
	if (builder_artifact_write_summary(tmp, &spec, d->key, err))
		return -1;
	sy_rm_rf(d->artifact_dir, NULL);
	if (rename(tmp, d->artifact_dir) < 0)
		return sy_error_set(err, "%s: cannot store artifacts: %s", d->artifact_dir,
				    strerror(errno));
	return 0;
}

int builder_jobdesc_run(const struct builder_jobdesc *d, int locked, int log_fd, int *infra,
			double *seconds, int *check, struct sy_error *err)
{
	char host[64] = "host";
	char *tmp;
	struct builder_build_result out = { SY_STRV_INIT, NULL, 0, 0, -1 };
	static const char *const none[] = { NULL };
	int rc = -1;

	gethostname(host, sizeof(host) - 1);
	/* Named after the host too: two nodes' processes may share a pid. */
	tmp = sy_xasprintf("%s.tmp-%s-%ld", d->artifact_dir, host, (long)getpid());
	*infra = 0;
	*seconds = 0;
	*check = -1;
	sy_rm_rf(tmp, NULL);
	if (sy_mkdir_p(tmp, 0755, err)) {
		*infra = 1;
		goto out;
	}
	if (d->keep_file) {
		char *keep = sy_xasprintf("%s/%s", tmp, sy_base_name(d->keep_file));
		int bad = sy_copy_file(d->keep_file, keep, err);
		free(keep);
		if (bad) {
			*infra = 1;
			goto out;
		}
	}
	struct builder_build_request req = {
		.spec_dir = d->spec_dir, .spec_file = d->spec_file, .worker_root = d->worker_root,
		.worker_tarball = d->worker_tarball, .scratch_dir = d->scratch_dir,
		.install_rpms = d->install_rpms.n ? (const char *const *)d->install_rpms.items : none,
		.macros = &d->macros, .rebuild_suffix = d->rebuild_suffix, .out_dir = tmp,
		.log_fd = log_fd, .timeout_s = d->timeout_s,
		.output_limit_bytes = d->output_limit_bytes, .smp_ncpus_max = d->smp_ncpus_max,
		.run_check = d->run_check, .locked = locked,
	};
	if (builder_build_run(&req, &out, err)) {
		*infra = out.infrastructure;
		goto out;
	}
	*seconds = out.seconds;
	*check = out.check;
	rc = store(d, tmp, err);
	if (rc)
		*infra = 1;
out:
	if (rc)
		sy_rm_rf(tmp, NULL);
	builder_build_result_release(&out);
	free(tmp);
	return rc;
}

char *builder_jobdesc_result_line(int built, int infra, double seconds, int check,
				  const char *reason)
{
	return sy_xasprintf("%d %d %.3f %d\t%s\n", built, infra, seconds, check,
			    reason ? reason : "");
}

int builder_jobdesc_main(const char *path, struct sy_error *err)
{
	struct builder_jobdesc d;
	struct sy_error why = { { 0 } };
	int infra = 0, check = -1, built, log, rc;
	struct builder_log_follower *times;
	double seconds = 0;
	char *reason = NULL, *line;

	if (builder_jobdesc_read(path, &d, err))
		return 1;
	log = open(d.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	/* The log was started by the host that described the job. */
	times = log >= 0 ? builder_log_times_follow(d.log_path, 1, NULL) : NULL;
	if (log >= 0) {
		char host[64] = "";
		gethostname(host, sizeof(host) - 1);
		dprintf(log, "shipyard: building on %s\n", host);
	}
	built = builder_jobdesc_run(&d, 0, log, &infra, &seconds, &check, &why) == 0;
	if (!built) {
		reason = sy_xasprintf("%s: %s", d.spec_path, why.msg);
		if (log >= 0)
			dprintf(log, "shipyard: %s\n", reason);
	}
	line = builder_jobdesc_result_line(built, infra, seconds, check, reason);
	rc = sy_write_file_atomic(d.result_path, line, strlen(line), 0644, err) ? 1 : 0;
	builder_log_times_follow_stop(times);
	if (log >= 0)
		close(log);
	free(line);
	free(reason);
	builder_jobdesc_release(&d);
	return rc;
}

void builder_jobdesc_release(struct builder_jobdesc *d)
{
	const struct str_member strs[] = { STRINGS(d) };
	const struct list_member lists[] = { LISTS(d) };

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i].value);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		sy_strv_release(lists[i].value);
	memset(d, 0, sizeof(*d));
}
