/* Commit statuses through a reporter interface: the pipeline says "context
 * is now pending / success / failure / error, because ..."; a backend
 * delivers it. Contexts are "shipyard/plan", "shipyard/build" and
 * "shipyard/image/<config>"; every context gets pending first, then one
 * final state. States are the forge's (forge/forge.h), so that what a
 * pipeline reports and what the service sends are one enum. */
#ifndef PIPELINE_STATUS_H
#define PIPELINE_STATUS_H

#include <stdio.h>

#include "forge/forge.h"

/* A status backend. */
struct pipeline_reporter {
	/* Delivers one status; description is at most 140 characters (longer
	 * ones are cut by pipeline_status_report). */
	void (*report)(struct pipeline_reporter *reporter, const char *context,
		       enum forge_state state, const char *description);
	FILE *out; /* where the backend writes */
};

/* Sets up the `log` backend: "context state description" lines on out. */
void pipeline_reporter_log_init(struct pipeline_reporter *reporter, FILE *out);

/* Sets up the `events` backend: one JSON object per line on out,
 * {"status": context, "state": forge_state_name(state), "description":
 * text}, flushed at once, and the log line on stdout; what `shipyard serve`
 * reads from the pipelines it starts (`shipyard run --events-fd`). */
void pipeline_reporter_events_init(struct pipeline_reporter *reporter, FILE *out);

/* Reports a status with a printf-style description, cut to 140 characters
 * (GitHub's limit) with newlines made spaces. reporter may be NULL (nothing
 * is reported). */
void pipeline_status_report(struct pipeline_reporter *reporter, const char *context,
			    enum forge_state state, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
