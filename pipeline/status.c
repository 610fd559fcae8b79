#define _GNU_SOURCE
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
	char *text = NULL, *description;
	va_list ap;

	if (!reporter)
		return;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	/* Cut by characters: a byte cut could split a UTF-8 sequence, which
	 * the forges refuse. */
	description = forge_truncate_utf8(text, PIPELINE_STATUS_DESCRIPTION_MAX);
	for (char *p = description; *p; p++)
		if (*p == '\n')
			*p = ' ';
	reporter->report(reporter, context, state, description);
	free(description);
	free(text);
}

/* "label: a, b +N more" with shown names of v, or "N label" when none is
 * shown; nothing for an empty v. sep goes before it when anything was
 * written already. */
static void names_part(FILE *f, int *first, const char *label, const struct sy_strv *v,
		       size_t shown)
{
	if (!v || !v->n)
		return;
	fputs(*first ? "" : "; ", f);
	*first = 0;
	if (!shown) {
		fprintf(f, "%zu %s", v->n, label);
		return;
	}
	fprintf(f, "%s: ", label);
	for (size_t i = 0; i < shown && i < v->n; i++)
		fprintf(f, "%s%s", i ? ", " : "", v->items[i]);
	if (v->n > shown)
		fprintf(f, " +%zu more", v->n - shown);
}

/* The names parts with nf failed and nb blocked names shown, newly
 * allocated. */
static char *names_text(const struct sy_strv *failed, const struct sy_strv *blocked, size_t nf,
			size_t nb)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int first = 1;

	if (!f)
		abort();
	names_part(f, &first, "failed", failed, nf);
	names_part(f, &first, "blocked", blocked, nb);
	fclose(f);
	return text;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

void pipeline_status_build_text(char *out, size_t size, const struct sy_strv *failed,
				const struct sy_strv *blocked, const char *counts)
{
	size_t nf = min_size(failed ? failed->n : 0, PIPELINE_STATUS_NAMES_MAX);
	size_t nb = min_size(blocked ? blocked->n : 0, PIPELINE_STATUS_NAMES_MAX);
	char *names = NULL, *full = NULL, *cut;

	/* Blocked names go first: the failed ones say what to fix. */
	for (;;) {
		free(names);
		free(full);
		names = names_text(failed, blocked, nf, nb);
		full = sy_xasprintf("%s%s%s", names, *names && counts && *counts ? "; " : "",
				    counts ? counts : "");
		if (utf8_chars(full) <= PIPELINE_STATUS_DESCRIPTION_MAX || (!nb && !nf))
			break;
		if (nb)
			nb--;
		else
			nf--;
	}
	cut = forge_truncate_utf8(full, PIPELINE_STATUS_DESCRIPTION_MAX);
	snprintf(out, size, "%s", cut);
	free(cut);
	free(full);
	free(names);
}
