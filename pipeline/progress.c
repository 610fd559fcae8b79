/* Progress of the build stage: on a terminal one line rewritten in place
 * (built/total, running jobs, elapsed, estimate to finish); elsewhere a log
 * line per job start and end; for the service, a JSON line per job event,
 * and one when the cascade guard holds the plan. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "pipeline/pipeline-private.h"

/* "1m05s" */
static void format_duration(double s, char *out, size_t size)
{
	long t = s > 0 ? (long)(s + 0.5) : 0;

	if (t >= 3600)
		snprintf(out, size, "%ldh%02ldm", t / 3600, t / 60 % 60);
	else if (t >= 60)
		snprintf(out, size, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(out, size, "%lds", t);
}

/* Writes o as one JSON line on out, flushed at once, and releases it. */
static void write_event(FILE *out, json_t *o)
{
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (line) {
		fprintf(out, "%s\n", line);
		fflush(out);
	}
	free(line);
	json_decref(o);
}

/* A job event for `shipyard serve` (options.events). */
static void job_event(FILE *out, const struct builder_progress *pr)
{
	const struct builder_job_result *r = pr->result;
	json_t *o = json_pack("{s:s, s:s}", "job", pr->spec, "state",
			      builder_job_state_name(pr->state));

	if (r) {
		json_object_set_new(o, "reason", r->reason ? json_string(r->reason) : json_null());
		json_object_set_new(o, "log", r->log_path ? json_string(r->log_path) : json_null());
		json_object_set_new(o, "seconds", json_real(r->seconds));
	}
	write_event(out, o);
}

void pipeline_event_image_job(struct pipeline *p, const struct pipeline_image_job *j)
{
	json_t *o;

	if (!p->opts->events)
		return;
	o = json_pack("{s:s, s:s}", "job", j->name, "state", builder_job_state_name(j->state));
	if (j->ended > 0) {
		json_object_set_new(o, "reason", json_string(j->text));
		json_object_set_new(o, "log", json_string(j->log));
		json_object_set_new(o, "seconds", json_real(j->ended - j->started));
	}
	write_event(p->opts->events, o);
}

void pipeline_event_held(struct pipeline *p, const char *line)
{
	if (!p->opts->events)
		return;
	write_event(p->opts->events,
		    json_pack("{s:s, s:I, s:I, s:s}", "approval", "needed", "to_build",
			      (json_int_t)p->cascade.to_build, "limit", (json_int_t)p->cascade.limit,
			      "description", line));
}

void pipeline_progress(void *arg, const struct builder_progress *pr)
{
	struct pipeline *p = arg;
	char elapsed[32], eta[32];

	if (p->opts->events && pr->spec)
		job_event(p->opts->events, pr);
	format_duration((double)(time(NULL) - p->started), elapsed, sizeof(elapsed));
	format_duration(pr->eta_s, eta, sizeof(eta));
	if (isatty(STDERR_FILENO)) {
		fprintf(stderr, "\r\033[K[%zu/%zu] %zu running, elapsed %s, about %s left%s%s%s%s",
			pr->done, pr->total, pr->running, elapsed, eta, pr->spec ? ": " : "",
			pr->spec ? pr->spec : "", pr->spec ? " " : "",
			pr->spec ? (pr->state == BUILDER_JOB_RUNNING ? "started"
							       : builder_job_state_name(pr->state))
				 : "");
		if (pr->done == pr->total)
			fputc('\n', stderr);
		fflush(stderr);
	} else if (pr->spec) {
		sy_log_info("[%zu/%zu] %s: %s (%zu running, elapsed %s, about %s left)", pr->done,
			    pr->total, pr->spec,
			    pr->state == BUILDER_JOB_RUNNING ? "building" : builder_job_state_name(pr->state),
			    pr->running,
			    elapsed, eta);
	}
}

void pipeline_read_progress(void *arg, size_t done, size_t total)
{
	struct pipeline *p = arg;
	char elapsed[32];

	format_duration((double)(time(NULL) - p->started), elapsed, sizeof(elapsed));
	if (isatty(STDERR_FILENO)) {
		fprintf(stderr, "\r\033[Kreading specs: [%zu/%zu], elapsed %s", done, total, elapsed);
		if (done == total)
			fputc('\n', stderr);
		fflush(stderr);
	} else if (done == total || time(NULL) - p->read_told >= 10) {
		p->read_told = time(NULL);
		sy_log_info("reading specs: [%zu/%zu], elapsed %s", done, total, elapsed);
	}
}
