/* Commit statuses through a reporter interface: the pipeline says "context
 * is now pending / success / failure / error, because ..."; a backend
 * delivers it. Contexts are "shipyard/plan", "shipyard/build" and
 * "shipyard/image/<config>"; every context gets pending first, then one
 * final state. States are the forge's (forge/forge.h), so that what a
 * pipeline reports and what the service sends are one enum. */
#ifndef PIPELINE_STATUS_H
#define PIPELINE_STATUS_H

#include <stddef.h>
#include <stdio.h>

#include "common/strv.h"
#include "forge/forge.h"

/* Longest status description, in characters: GitHub answers 422
 * "description is too long (maximum is 140 characters)" beyond it (REST
 * API, create a commit status), and the other forges get the same. */
#define PIPELINE_STATUS_DESCRIPTION_MAX 140

/* Spec names a build status description lists per kind before "+N more". */
#define PIPELINE_STATUS_NAMES_MAX 3

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

/* Reports a status with a printf-style description, cut to
 * PIPELINE_STATUS_DESCRIPTION_MAX characters (never inside a UTF-8
 * sequence) with newlines made spaces. reporter may be NULL (nothing
 * is reported). */
void pipeline_status_report(struct pipeline_reporter *reporter, const char *context,
			    enum forge_state state, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Writes the shipyard/build description that names what went wrong into
 * out (size bytes; 4 * PIPELINE_STATUS_DESCRIPTION_MAX + 1 holds any): "failed:
 * a, b, c +2 more; blocked: d +4 more; " followed by counts ("3 built, 1
 * reused, ..."). failed and blocked are spec names in build order (either
 * may be empty: its part is left out). At most PIPELINE_STATUS_NAMES_MAX
 * names of each are shown; while the whole text would exceed
 * PIPELINE_STATUS_DESCRIPTION_MAX characters, fewer blocked names, then
 * fewer failed names are shown ("2 failed" when none fits); only then is
 * the text cut (counts last). The result never exceeds PIPELINE_STATUS_DESCRIPTION_MAX
 * characters and never splits a UTF-8 sequence. */
void pipeline_status_build_text(char *out, size_t size, const struct sy_strv *failed,
				const struct sy_strv *blocked, const char *counts);

#endif
