#include "pipeline/buildreport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "builder/outdigest.h"
#include "common/fs.h"
#include "common/hash.h"
#include "common/strv.h"
#include "common/util.h"

static const char *const csv_states[BUILDER_JOB_NFINAL] = {
	[BUILDER_JOB_BUILT] = "Built",     [BUILDER_JOB_REUSED] = "PreBuilt",
	[BUILDER_JOB_UNCHANGED] = "Unchanged", [BUILDER_JOB_FAILED] = "Failed",
	[BUILDER_JOB_BLOCKED] = "Blocked", [BUILDER_JOB_SKIPPED] = "Skipped",
};

/* "name-version-release.src.rpm" of a spec (its path when it did not parse). */
static char *srpm_name(const struct planner_spec *spec)
{
	if (!spec->name || !spec->version || !spec->release)
		return sy_xstrdup(spec->path);
	return sy_xasprintf("%s-%s-%s.src.rpm", spec->name, spec->version, spec->release);
}

/* A CSV field: quoted when it holds a comma, quote or newline (RFC 4180). */
static void csv_field(struct sy_strv *row, const char *s)
{
	if (!strpbrk(s, ",\"\n")) {
		sy_strv_push(row, s);
		return;
	}
	size_t n = strlen(s), k = 0;
	char *q = sy_xmalloc(2 * n + 3);
	q[k++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			q[k++] = '"';
		q[k++] = s[i];
	}
	q[k++] = '"';
	q[k] = '\0';
	sy_strv_push_owned(row, q);
}

/* The toolkit's Blocker: "<srpm>-FAIL" for a spec of the plan that failed,
 * "<srpm>-UNBUILT" for one outside it (an ignored spec never built). */
static char *blocker_field(const struct planner_index *index, const struct planner_plan *plan,
			   const char *blocker)
{
	long i = blocker ? planner_index_find(index, blocker) : -1;
	const char *how = "UNBUILT";
	char *srpm, *field;

	if (i < 0)
		return sy_xstrdup(blocker ? blocker : "");
	for (size_t e = 0; e < plan->n; e++)
		if (plan->entries[e].spec == (size_t)i)
			how = "FAIL";
	srpm = srpm_name(&index->specs[i]);
	field = sy_xasprintf("%s-%s", srpm, how);
	free(srpm);
	return field;
}

static char *csv_text(const struct planner_index *index, const struct planner_plan *plan,
		      const struct builder_job_result *results)
{
	struct sy_strv lines = SY_STRV_INIT;

	sy_strv_push(&lines, "Package,State,Blocker,IsTest");
	for (size_t e = 0; e < plan->n; e++) {
		struct sy_strv row = SY_STRV_INIT;
		/* The SRPM built or reused, whose Release may carry a rebuild
		 * counter the spec does not state. */
		char *srpm = results[e].srpm ? sy_xstrdup(sy_base_name(results[e].srpm))
					     : srpm_name(&index->specs[plan->entries[e].spec]);
		char *blocker = blocker_field(index, plan, results[e].blocker);
		csv_field(&row, srpm);
		/* Every job of a finished run is final; one that is not was not
		 * run. */
		csv_field(&row, results[e].state < BUILDER_JOB_NFINAL ? csv_states[results[e].state]
								      : "Skipped");
		csv_field(&row, blocker);
		sy_strv_push(&row, "0");
		sy_strv_push_owned(&lines, sy_strv_join(&row, ","));
		sy_strv_release(&row);
		/* The toolkit's test node: a row of its own with IsTest 1. */
		if (results[e].check >= 0) {
			csv_field(&row, srpm);
			sy_strv_push(&row, results[e].check ? "Failed" : "Built");
			sy_strv_push(&row, "");
			sy_strv_push(&row, "1");
			sy_strv_push_owned(&lines, sy_strv_join(&row, ","));
			sy_strv_release(&row);
		}
		free(srpm);
		free(blocker);
	}
	sy_strv_push(&lines, "");
	char *text = sy_strv_join(&lines, "\n");
	sy_strv_release(&lines);
	return text;
}

/* {"file", "nevra", "bytes", "sha256"} of each RPM of rpms: what the
 * service's API gives per job. A file that cannot be read keeps its name
 * with the rest null and "error" saying why. */
static json_t *artifacts_json(const struct sy_strv *rpms)
{
	json_t *out = json_array();

	for (size_t k = 0; k < rpms->n; k++) {
		const char *path = rpms->items[k];
		char hex[SY_SHA256_HEX_LEN + 1];
		struct sy_error err = { { 0 } };
		struct stat st;
		char *nevra = builder_rpm_nevra(path, &err);
		int ok = nevra && stat(path, &st) == 0 && sy_sha256_file(path, hex, &err) == 0;
		json_t *a = json_pack("{s:s}", "file", sy_base_name(path));

		json_object_set_new(a, "nevra", ok ? json_string(nevra) : json_null());
		json_object_set_new(a, "bytes", ok ? json_integer((json_int_t)st.st_size) : json_null());
		json_object_set_new(a, "sha256", ok ? json_string(hex) : json_null());
		if (!ok)
			json_object_set_new(a, "error", json_string(err.msg[0] ? err.msg : strerror(errno)));
		json_array_append_new(out, a);
		free(nevra);
	}
	return out;
}

static json_t *job_json(const struct planner_spec *spec, const struct builder_job_result *r)
{
	json_t *rpms = json_array();
	json_t *job = json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:i}", "spec",
				spec->name ? spec->name : spec->path, "path", spec->path, "state",
				builder_job_state_name(r->state), "seconds", r->seconds, "started",
				r->started, "ended", r->ended, "attempts", r->attempts);

	for (size_t k = 0; k < r->rpms.n; k++)
		json_array_append_new(rpms, json_string(r->rpms.items[k]));
	json_object_set_new(job, "rpms", rpms);
	json_object_set_new(job, "artifacts", artifacts_json(&r->rpms));
	json_object_set_new(job, "reason", r->reason ? json_string(r->reason) : json_null());
	json_object_set_new(job, "blocker", r->blocker ? json_string(r->blocker) : json_null());
	json_object_set_new(job, "log", r->log_path ? json_string(r->log_path) : json_null());
	json_object_set_new(job, "output_digest",
			    r->output_digest[0] ? json_string(r->output_digest) : json_null());
	json_object_set_new(job, "same_output", json_boolean(r->same_output));
	json_object_set_new(job, "check", r->check < 0 ? json_null()
				   : json_string(r->check ? "failed" : "passed"));
	json_object_set_new(job, "srpm", r->srpm ? json_string(sy_base_name(r->srpm)) : json_null());
	json_object_set_new(job, "rebuild_counter", json_integer((json_int_t)r->counter));
	json_object_set_new(job, "release_suffix",
			    r->release_suffix ? json_string(r->release_suffix) : json_null());
	json_object_set_new(job, "warning", r->warning ? json_string(r->warning) : json_null());
	return job;
}

static char *summary_text(const char *commit, const struct planner_index *index,
			  const struct planner_plan *plan, const struct builder_job_result *results,
			  double elapsed_s)
{
	json_t *jobs = json_array(), *counts = json_object();
	size_t count[BUILDER_JOB_NSTATES] = { 0 };

	for (size_t e = 0; e < plan->n; e++) {
		json_array_append_new(jobs, job_json(&index->specs[plan->entries[e].spec], &results[e]));
		count[results[e].state]++;
	}
	for (int s = 0; s < BUILDER_JOB_NFINAL; s++)
		json_object_set_new(counts, builder_job_state_name((enum builder_job_state)s),
				    json_integer((json_int_t)count[s]));
	json_t *doc = json_pack("{s:s, s:f, s:o, s:o}", "commit", commit, "elapsed_s", elapsed_s,
				"counts", counts, "jobs", jobs);
	char *text = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	return text;
}

int pipeline_build_report_write(const char *dir, const char *commit,
			       const struct planner_index *index, const struct planner_plan *plan,
			       const struct builder_job_result *results, double elapsed_s,
			       struct sy_error *err)
{
	char *csv = csv_text(index, plan, results);
	char *json = summary_text(commit, index, plan, results, elapsed_s);
	char *csv_path = sy_xasprintf("%s/build_state.csv", dir);
	char *json_path = sy_xasprintf("%s/build-summary.json", dir);
	int rc = sy_mkdir_p(dir, 0755, err) ||
			 sy_write_file_atomic(csv_path, csv, strlen(csv), 0644, err) ||
			 sy_write_file_atomic(json_path, json, strlen(json), 0644, err)
		 ? -1
		 : 0;

	free(csv);
	free(json);
	free(csv_path);
	free(json_path);
	return rc;
}
