/* Commit statuses through a reporter interface: the pipeline says "context is
 * now pending / success / failure, because ..."; a backend delivers it. The
 * first backend, `log`, prints "context state description" lines. Contexts
 * are "shipyard/plan", "shipyard/build" and "shipyard/image/<config>"; every
 * context gets pending first, then one final state. */
#ifndef SERVICE_STATUS_H
#define SERVICE_STATUS_H

#include <stdio.h>

/* The state of a status (GitHub REST API commit status states). */
enum service_status_state {
	SERVICE_STATUS_PENDING,
	SERVICE_STATUS_SUCCESS,
	SERVICE_STATUS_FAILURE,
	SERVICE_STATUS_ERROR,
};

/* A status backend. */
struct service_reporter {
	/* Delivers one status; description is at most 140 characters (longer ones
	 * are cut by the caller of service_status_report). */
	void (*report)(struct service_reporter *reporter, const char *context,
		       enum service_status_state state, const char *description);
	FILE *out; /* where the log backend writes */
};

/* Sets up the `log` backend writing to out. */
void service_reporter_log_init(struct service_reporter *reporter, FILE *out);

/* Sets up the `events` backend: one JSON object per line on out,
 * {"status": context, "state": state name, "description": text}, flushed
 * at once; what `shipyard serve` reads from the pipelines it starts
 * (`shipyard run --events-fd`). */
void service_reporter_events_init(struct service_reporter *reporter, FILE *out);

/* Reports a status with a printf-style description, cut to 140 characters
 * (the GitHub limit). reporter may be NULL (nothing is reported). */
void service_status_report(struct service_reporter *reporter, const char *context,
			   enum service_status_state state, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Returns "pending", "success", "failure" or "error". */
const char *service_status_state_name(enum service_status_state state);

#endif
