/* Commit statuses through a reporter interface: the pipeline says "context is
 * now pending / success / failure, because ..."; a backend delivers it. The
 * first backend, `log`, prints "context state description" lines. Contexts
 * are "shipyard/plan", "shipyard/build" and "shipyard/image/<config>"; every
 * context gets pending first, then one final state. */
#ifndef PIPELINE_STATUS_H
#define PIPELINE_STATUS_H

#include <stdio.h>

/* The state of a status (GitHub REST API commit status states). */
enum pipeline_status_state {
	PIPELINE_STATUS_PENDING,
	PIPELINE_STATUS_SUCCESS,
	PIPELINE_STATUS_FAILURE,
	PIPELINE_STATUS_ERROR,
};

/* A status backend. */
struct pipeline_reporter {
	/* Delivers one status; description is at most 140 characters (longer ones
	 * are cut by the caller of pipeline_status_report). */
	void (*report)(struct pipeline_reporter *reporter, const char *context,
		       enum pipeline_status_state state, const char *description);
	FILE *out; /* where the log backend writes */
};

/* Sets up the `log` backend writing to out. */
void pipeline_reporter_log_init(struct pipeline_reporter *reporter, FILE *out);

/* Sets up the `events` backend: one JSON object per line on out,
 * {"status": context, "state": state name, "description": text}, flushed
 * at once; what `shipyard serve` reads from the pipelines it starts
 * (`shipyard run --events-fd`). */
void pipeline_reporter_events_init(struct pipeline_reporter *reporter, FILE *out);

/* Reports a status with a printf-style description, cut to 140 characters
 * (the GitHub limit). reporter may be NULL (nothing is reported). */
void pipeline_status_report(struct pipeline_reporter *reporter, const char *context,
			   enum pipeline_status_state state, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Returns "pending", "success", "failure" or "error". */
const char *pipeline_status_state_name(enum pipeline_status_state state);

#endif
