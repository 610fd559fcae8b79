#include "pipeline/status.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static void log_report(struct pipeline_reporter *reporter, const char *context,
		       enum forge_state state, const char *description)
{
	fprintf(reporter->out, "%s %s %s\n", context, forge_state_name(state),
		description);
	fflush(reporter->out);
}

void pipeline_reporter_log_init(struct pipeline_reporter *reporter, FILE *out)
{
	reporter->report = log_report;
	reporter->out = out;
}

static void events_report(struct pipeline_reporter *reporter, const char *context,
			  enum forge_state state, const char *description)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "status", context, "state",
			      forge_state_name(state), "description", description);
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (line) {
		fprintf(reporter->out, "%s\n", line);
		fflush(reporter->out);
	}
	free(line);
	json_decref(o);
	log_report(&(struct pipeline_reporter){ log_report, stdout }, context, state, description);
}

void pipeline_reporter_events_init(struct pipeline_reporter *reporter, FILE *out)
{
	reporter->report = events_report;
	reporter->out = out;
}

void pipeline_status_report(struct pipeline_reporter *reporter, const char *context,
			   enum forge_state state, const char *fmt, ...)
{
	char description[141];
	va_list ap;

	if (!reporter)
		return;
	va_start(ap, fmt);
	vsnprintf(description, sizeof(description), fmt, ap);
	va_end(ap);
	for (char *p = description; *p; p++)
		if (*p == '\n')
			*p = ' ';
	reporter->report(reporter, context, state, description);
}
