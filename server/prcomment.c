#define _GNU_SOURCE
#include "server/prcomment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"

static const char *jget(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* s with the characters Markdown or HTML give a meaning escaped
 * (backslash escapes, "&lt;" for '<'), newlines made spaces, and cut to
 * max bytes. */
static void md(FILE *f, const char *s, size_t max)
{
	size_t n = 0;

	for (; s && *s && n < max; s++, n++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '\n' || *s == '\r' || *s == '\t')
			fputc(' ', f);
		else if (strchr("\\`*_[]()#|!~", *s))
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
	if (s && *s)
		fputs("…", f);
}

static const char *state_icon(const char *state)
{
	static const struct { const char *state, *icon; } icons[] = {
		{ "success", "✅" }, { "built", "✅" }, { "reused", "♻️" },
		{ "unchanged", "♻️" }, { "failed", "❌" }, { "failure", "❌" },
		{ "blocked", "⛔" }, { "error", "⚠️" }, { "skipped", "⏭️" },
		{ "cancelled", "⏹️" }, { "superseded", "⏹️" }, { "running", "⏳" },
		{ "queued", "⏳" }, { "pending", "⏳" },
	};

	for (size_t i = 0; state && i < sizeof(icons) / sizeof(icons[0]); i++)
		if (!strcmp(icons[i].state, state))
			return icons[i].icon;
	return "•";
}

static void header(FILE *f, const json_t *d, const char *base)
{
	const char *head = jget(d, "head");

	fprintf(f, "%s\n### %s shipyard pipeline [%lld](%s%s): %s\n\n", SERVER_PR_COMMENT_MARK,
		state_icon(jget(d, "state")), (long long)json_integer_value(json_object_get(d, "id")),
		base, jget(d, "url") ? jget(d, "url") : "", jget(d, "state") ? jget(d, "state") : "?");
	fprintf(f, "Commit `%.12s`", head ? head : "");
	if (jget(d, "log"))
		fprintf(f, " · [pipeline log](%s%s.html)", base, jget(d, "log"));
	if (jget(d, "summary")) {
		fputs(" · ", f);
		md(f, jget(d, "summary"), 300);
	}
	fputs("\n\n", f);
}

/* The specs of a plan list ("a, b, c and 4 more"). */
static void spec_list(FILE *f, const json_t *entries, size_t max)
{
	size_t i, n = json_array_size(entries);
	json_t *e;

	json_array_foreach(entries, i, e) {
		if (i == max)
			break;
		fputs(i ? ", `" : "`", f);
		md(f, jget(e, "spec"), 100);
		fputc('`', f);
	}
	if (n > max)
		fprintf(f, " and %zu more", n - max);
}

static void plan_summary(FILE *f, const json_t *plan)
{
	const json_t *changed = json_object_get(plan, "changed");
	const json_t *rebuild = json_object_get(plan, "rebuild");
	size_t cascade = 0, shown = 0, i;
	json_t *e;

	if (!json_is_object(plan)) {
		fputs("No plan was made (see the pipeline log).\n\n", f);
		return;
	}
	json_array_foreach(rebuild, i, e)
		cascade += jget(e, "why") && strcmp(jget(e, "why"), "changed");
	fprintf(f, "**Plan**: %zu changed spec%s", json_array_size(changed),
		json_array_size(changed) == 1 ? "" : "s");
	if (json_array_size(changed)) {
		fputs(" (", f);
		spec_list(f, changed, 10);
		fputc(')', f);
	}
	fprintf(f, ", %zu to rebuild, cascade of %zu.\n\n", json_array_size(rebuild), cascade);
	json_array_foreach(rebuild, i, e) {
		const json_t *reasons = json_object_get(e, "reasons");
		if (shown == SERVER_PR_COMMENT_TOP_REASONS)
			break;
		if (!shown++)
			fputs("Why they rebuild:\n\n", f);
		fputs("- `", f);
		md(f, jget(e, "spec"), 100);
		fputs("`: ", f);
		md(f, json_string_value(json_array_get(reasons, 0)), 300);
		fputc('\n', f);
	}
	if (json_array_size(rebuild) > shown && shown)
		fprintf(f, "- … and %zu more\n", json_array_size(rebuild) - shown);
	fputs(shown ? "\n" : "", f);
}

static int is_bad(const char *state)
{
	return state && (!strcmp(state, "failed") || !strcmp(state, "blocked") ||
			 !strcmp(state, "skipped"));
}

static void job_row(FILE *f, const json_t *j, const char *base)
{
	const char *state = jget(j, "state");

	fprintf(f, "| `");
	md(f, jget(j, "name"), 100);
	fprintf(f, "` | %s %s | %.1f s | ", state_icon(state), state ? state : "?",
		json_number_value(json_object_get(j, "seconds")));
	if (jget(j, "log"))
		fprintf(f, "[log](%s%s.html)", base, jget(j, "log"));
	fputs(" | ", f);
	md(f, jget(j, "reason"), 200);
	fputs(" |\n", f);
}

/* The jobs, failures first, at most SERVER_PR_COMMENT_MAX_JOBS rows. */
static void results(FILE *f, const json_t *jobs, const char *base)
{
	size_t rows = 0, i;
	json_t *j;

	if (!json_array_size(jobs))
		return;
	fputs("| Spec | Result | Time | Log | Reason |\n|---|---|---|---|---|\n", f);
	for (int bad = 1; bad >= 0; bad--)
		json_array_foreach(jobs, i, j) {
			if (is_bad(jget(j, "state")) != bad || rows == SERVER_PR_COMMENT_MAX_JOBS)
				continue;
			job_row(f, j, base);
			rows++;
		}
	if (json_array_size(jobs) > rows)
		fprintf(f, "\n… and %zu more on the pipeline page.\n", json_array_size(jobs) - rows);
	fputc('\n', f);
}

static void image_lines(FILE *f, const json_t *images)
{
	size_t i;
	json_t *im;

	if (!json_array_size(images))
		return;
	fputs("**Images**:\n\n", f);
	json_array_foreach(images, i, im) {
		fprintf(f, "- %s `", state_icon(jget(im, "state")));
		md(f, jget(im, "config"), 200);
		fputs("`: ", f);
		md(f, jget(im, "description"), 200);
		fputc('\n', f);
	}
	fputc('\n', f);
}

char *server_pr_comment(const json_t *detail, const json_t *images, const char *base_url,
			const char *repo_url)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	const char *base = base_url ? base_url : "";

	if (!f)
		abort();
	header(f, detail, base);
	plan_summary(f, json_object_get(detail, "plan"));
	results(f, json_object_get(detail, "jobs"), base);
	image_lines(f, images);
	if (repo_url)
		fprintf(f, "**Try the packages**: `sudo dnf config-manager addrepo --from-repofile=%s`"
			   " ([.repo](%s))\n\n", repo_url, repo_url);
	fputs("<sub>Commands: `/shipyard retry` (failed jobs again), `/shipyard rebuild "
	      "&lt;spec&gt;` (from people with write access).</sub>\n", f);
	fclose(f);
	return text;
}
