#include "pipeline/imagereport.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/fs.h"
#include "common/hash.h"
#include "common/strv.h"
#include "common/util.h"
#include "imager/images.h"

/* The job of config, added (queued) when r has none. */
static struct pipeline_image_job *job_of(struct pipeline_image_report *r, const char *config)
{
	struct pipeline_image_job *j;

	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->jobs[i].config, config))
			return &r->jobs[i];
	r->jobs = sy_xrealloc(r->jobs, (r->n + 1) * sizeof(*r->jobs));
	j = &r->jobs[r->n++];
	memset(j, 0, sizeof(*j));
	j->config = sy_xstrdup(config);
	j->name = sy_xasprintf("image/%s", config);
	j->state = BUILDER_JOB_QUEUED;
	return j;
}

/* The files of build id of config with their sizes and SHA-256. */
static json_t *artifacts_json(const char *state, const char *config, const char *id)
{
	struct imager_build b;
	json_t *out = json_array();

	imager_build_read(state, config, id, &b);
	for (size_t i = 0; i < b.nfiles; i++) {
		char *path = imager_build_file(state, config, id, b.files[i].name);
		char hex[SY_SHA256_HEX_LEN + 1];
		int ok = sy_sha256_file(path, hex, NULL) == 0;
		json_array_append_new(out, json_pack("{s:s, s:I, s:o}", "name", b.files[i].name,
						     "bytes", (json_int_t)b.files[i].bytes, "sha256",
						     ok ? json_string(hex) : json_null()));
		free(path);
	}
	imager_build_release(&b);
	return out;
}

static json_t *job_json(const struct pipeline_image_job *j, const char *state)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:f, s:f}", "job", j->name,
			      "config", j->config, "state", builder_job_state_name(j->state),
			      "text", j->text, "log", j->log, "build", j->build, "started",
			      j->started, "ended", j->ended);

	json_object_set_new(o, "artifacts", j->build && j->ended > 0
						    ? artifacts_json(state, j->config, j->build)
						    : json_array());
	return o;
}

static int write_report(const struct pipeline_image_report *r, const char *run_dir,
			const char *state, struct sy_error *err)
{
	json_t *jobs = json_array();
	char *path = sy_xasprintf("%s/images.json", run_dir), *text;
	int rc;

	for (size_t i = 0; i < r->n; i++)
		json_array_append_new(jobs, job_json(&r->jobs[i], state));
	json_t *doc = json_pack("{s:o}", "images", jobs);
	text = json_dumps(doc, JSON_INDENT(2));
	rc = sy_write_file_atomic(path, text, strlen(text), 0644, err);
	free(text);
	json_decref(doc);
	free(path);
	return rc;
}

const struct pipeline_image_job *pipeline_image_report_note(struct pipeline_image_report *r,
							    const char *run_dir, const char *state,
							    const char *log_dir, const char *config,
							    enum imager_outcome outcome,
							    const char *text, struct sy_error *err)
{
	struct pipeline_image_job *j = job_of(r, config);

	free(j->text);
	j->text = sy_xstrdup(text ? text : "");
	if (!j->log)
		j->log = sy_xasprintf("%s/image-%s.log", log_dir, config);
	if (j->started <= 0)
		j->started = sy_wall_s();
	if (outcome == IMAGER_WORKING) {
		j->state = BUILDER_JOB_RUNNING;
	} else {
		j->state = outcome == IMAGER_COMPOSED    ? BUILDER_JOB_BUILT
			   : outcome == IMAGER_UNCHANGED ? BUILDER_JOB_REUSED
							 : BUILDER_JOB_FAILED;
		j->ended = sy_wall_s();
		free(j->build);
		j->build = outcome == IMAGER_FAILED ? NULL : imager_latest_id(state, config);
	}
	write_report(r, run_dir, state, err);
	return j;
}

void pipeline_image_report_release(struct pipeline_image_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->jobs[i].config);
		free(r->jobs[i].name);
		free(r->jobs[i].text);
		free(r->jobs[i].log);
		free(r->jobs[i].build);
	}
	free(r->jobs);
	r->jobs = NULL;
	r->n = 0;
}
