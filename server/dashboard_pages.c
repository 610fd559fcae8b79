/* The dashboard's pages: each renders the JSON document its /api/ twin
 * answers (dashboard_api.c), so that a page shows nothing the API does
 * not. Every text taken from a document is escaped. */
#include "server/dashboard-private.h"

#include <stdlib.h>

#include "server/html.h"
#include "server/releases.h"
#include "server/svg.h"

/* A link to "/pipelines/<id><suffix>" with text. */
static void pipeline_anchor(FILE *out, json_int_t id, const char *suffix, const char *text)
{
	fprintf(out, "<a href=\"/pipelines/%lld%s\">", (long long)id, suffix);
	server_html_escape(out, text);
	fputs("</a>", out);
}

/* "3/9 done; running: zlib, openssl" */
static void progress_text(FILE *out, const json_t *progress)
{
	const json_t *running = json_object_get(progress, "running");

	fprintf(out, "%lld/%lld done",
		(long long)json_integer_value(json_object_get(progress, "done")),
		(long long)json_integer_value(json_object_get(progress, "total")));
	if (json_array_size(running)) {
		fputs("; running: ", out);
		server_html_strings(out, running, ", ");
	}
}

/* "approval needed" beside a state badge, when the cascade guard's hold on
 * pipeline p waits for an approval. */
static void approval_badge(FILE *out, const json_t *p)
{
	const json_t *approval = json_object_get(p, "approval");

	if (jget(approval, "state") && !strcmp(jget(approval, "state"), "needed")) {
		fputc(' ', out);
		server_html_badge(out, "approval needed");
	}
}

/* The Approval row of pipeline p: what the guard said and the command that
 * approves it, or who approved it, when, and the pipeline that builds it;
 * and the Approves row of a pipeline that approves another. */
static void approval_rows(FILE *out, const json_t *p)
{
	const json_t *approval = json_object_get(p, "approval");
	const char *state = jget(approval, "state");
	json_int_t approves = json_integer_value(json_object_get(p, "approves"));
	char num[32], at[32];

	if (approves) {
		snprintf(num, sizeof(num), "#%lld", (long long)approves);
		fputs("<tr><th>Approves</th><td>", out);
		pipeline_anchor(out, approves, "", num);
		fputs(" (its plan, held by plan.maxrebuild, runs with --approve)</td></tr>", out);
	}
	if (!state)
		return;
	fputs("<tr><th>Approval</th><td>", out);
	if (!strcmp(state, "needed")) {
		server_html_badge(out, "approval needed");
		fputc(' ', out);
		server_html_escape(out, jget(approval, "reason"));
		fputs("<p>Nothing was built. To build it, with a token of serve.apitokens in "
		      "<code>$SHIPYARD_TOKEN</code>:</p><pre>", out);
		server_html_escape(out, jget(approval, "command"));
		fputs("</pre>", out);
	} else {
		json_int_t id = json_integer_value(json_object_get(approval, "pipeline"));
		server_html_time(at, jget(approval, "approved_at"));
		snprintf(num, sizeof(num), "#%lld", (long long)id);
		fputs("approved by ", out);
		server_html_escape(out, jget(approval, "approved_by"));
		fputs(" at ", out);
		server_html_escape(out, at);
		fputs(", built by pipeline ", out);
		pipeline_anchor(out, id, "", num);
		fputs("<br><span class=\"muted\">", out);
		server_html_escape(out, jget(approval, "reason"));
		fputs("</span>", out);
	}
	fputs("</td></tr>", out);
}

static void progress_row(FILE *out, const json_t *progress)
{
	if (!json_is_object(progress))
		return;
	fputs("<tr><th>Progress</th><td>", out);
	progress_text(out, progress);
	fputs("</td></tr>", out);
}

/* A link to url (escaped) with text, or the text alone when url is NULL. */
static void maybe_link(FILE *out, const char *url, const char *text, const char *cls)
{
	if (url) {
		fprintf(out, "<a class=\"%s\" href=\"", cls);
		server_html_escape(out, url);
		fputs("\">", out);
	}
	server_html_escape(out, text);
	if (url)
		fputs("</a>", out);
}

/* The commit cell: subject, author, short hash linked to the forge. */
static void commit_cell(FILE *out, const json_t *p)
{
	const json_t *c = json_object_get(p, "commit");
	char head[13];

	snprintf(head, sizeof(head), "%.12s", jget(c, "sha") ? jget(c, "sha") : "");
	fputs("<td><span class=\"subject\">", out);
	server_html_escape(out, jget(c, "subject") ? jget(c, "subject") : "");
	fputs("</span><br><span class=\"muted author\">", out);
	server_html_escape(out, jget(c, "author"));
	fputs("</span> <span class=\"mono\">", out);
	maybe_link(out, jget(c, "url"), head, "forge");
	fputs("</span></td>", out);
}

/* The ref cell: the branch, or the pull request linked to the forge. */
static void ref_cell(FILE *out, const json_t *p)
{
	fputs("<td>", out);
	maybe_link(out, jget(p, "pr_url"), jget(p, "ref"), "forge");
	fputs(" <span class=\"muted\">", out);
	server_html_escape(out, jget(p, "trigger"));
	fputs("</span></td>", out);
}

static void list_row(FILE *out, const json_t *p)
{
	json_int_t id = json_integer_value(json_object_get(p, "id"));
	char created[32], duration[32], num[32];

	snprintf(num, sizeof(num), "%lld", (long long)id);
	server_html_time(created, jget(p, "created"));
	server_html_duration(duration, json_object_get(p, "duration"));
	fputs("<tr><td>", out);
	pipeline_anchor(out, id, "", num);
	fputs("</td>", out);
	server_html_td(out, jget(p, "repo"));
	commit_cell(out, p);
	ref_cell(out, p);
	fputs("<td>", out);
	server_html_badge(out, jget(p, "state"));
	approval_badge(out, p);
	fputs("</td>", out);
	server_html_td(out, created);
	server_html_td(out, duration);
	fputs("<td class=\"summary\">", out);
	if (json_is_object(json_object_get(p, "progress"))) {
		progress_text(out, json_object_get(p, "progress"));
	} else {
		const char *summary = jget(p, "summary") ? jget(p, "summary") : jget(p, "jobs_summary");
		server_html_escape(out, summary ? summary
						: jget(json_object_get(p, "approval"), "reason"));
	}
	fputs("</td></tr>\n", out);
}

/* <option>s of a filter: "any" and each name of names, value selected. */
static void filter_options(FILE *out, const char *const *names, size_t n, const char *value)
{
	fputs("<option value=\"\">any</option>", out);
	for (size_t i = 0; i < n; i++) {
		fputs("<option", out);
		if (value && !strcmp(value, names[i]))
			fputs(" selected", out);
		fputs(">", out);
		server_html_escape(out, names[i]);
		fputs("</option>", out);
	}
}

/* The form that filters the list by state, branch and repository (the
 * API's parameters, so the server checks them the same way). */
static void list_filters(FILE *out, const json_t *filters, const struct server_conf *conf)
{
	const char *states[SERVER_PIPELINE_NSTATES];
	const char **repos = sy_xcalloc(conf ? conf->nrepos + 1 : 1, sizeof(*repos));

	for (int i = 0; i < SERVER_PIPELINE_NSTATES; i++)
		states[i] = server_pipeline_state_name((enum server_pipeline_state)i);
	for (size_t i = 0; conf && i < conf->nrepos; i++)
		repos[i] = conf->repos[i].name;
	fputs("<form id=\"filters\" method=\"get\" action=\"/\">State <select name=\"state\">", out);
	filter_options(out, states, SERVER_PIPELINE_NSTATES, jget(filters, "state"));
	fputs("</select> Repository <select name=\"repo\">", out);
	filter_options(out, repos, conf ? conf->nrepos : 0, jget(filters, "repo"));
	fputs("</select> Branch <input name=\"branch\" size=\"16\" value=\"", out);
	server_html_escape(out, jget(filters, "branch"));
	fputs("\"> <button type=\"submit\">Filter</button></form>\n", out);
	free(repos);
}

void dashboard_page_pipelines(FILE *out, const json_t *doc, const struct server_conf *conf)
{
	const json_t *list = json_object_get(doc, "pipelines"), *p;
	size_t i;
	int active = 0;

	json_array_foreach(list, i, p)
		active |= dashboard_state_active(jget(p, "state"));
	server_html_page_begin(out, "Pipelines", active ? 10 : 0);
	fprintf(out, "<h1>Pipelines</h1><p class=\"muted\">%lld queued to run.</p>\n",
		(long long)json_integer_value(json_object_get(doc, "queue_length")));
	dashboard_controls_trigger(out);
	list_filters(out, json_object_get(doc, "filters"), conf);
	if (!json_array_size(list)) {
		fputs("<p>No pipeline yet.</p>", out);
		server_html_page_end(out);
		return;
	}
	fputs("<table id=\"pipelines\"><tr><th>#</th><th>Repository</th><th>Commit</th>"
	      "<th>Ref</th><th>State</th><th>Created</th><th>Duration</th><th>Summary</th></tr>\n",
	      out);
	json_array_foreach(list, i, p)
		list_row(out, p);
	fputs("</table>", out);
	if (jget(doc, "next")) {
		/* The API's next link, for the page: same query on "/". */
		const char *q = strchr(jget(doc, "next"), '?');
		fputs("<p><a id=\"next\" href=\"/", out);
		server_html_escape(out, q);
		fputs("\">Older pipelines &rarr;</a></p>", out);
	}
	server_html_page_end(out);
}

/* The Published row: the channel's current snapshot and whether it is
 * this pipeline's commit. */
static void published_row(FILE *out, const json_t *pub)
{
	if (!json_is_object(pub))
		return;
	fputs("<tr><th>Published</th><td id=\"published\">", out);
	server_html_escape(out, jget(pub, "channel"));
	fputs(": ", out);
	if (jget(pub, "snapshot")) {
		fputs("snapshot <a href=\"/repositories\">", out);
		server_html_escape(out, jget(pub, "snapshot"));
		fputs("</a>", out);
		fputs(json_is_true(json_object_get(pub, "head")) ? " (this commit)"
								 : " (from another commit)", out);
	} else {
		fputs("nothing published yet", out);
	}
	fputs("</td></tr>\n", out);
}

static void pipeline_fields(FILE *out, const json_t *p)
{
	char created[32], started[32], finished[32], duration[32], attempts[32], pr[32];
	json_int_t id = json_integer_value(json_object_get(p, "id"));

	server_html_time(created, jget(p, "created"));
	server_html_time(started, jget(p, "started"));
	server_html_time(finished, jget(p, "finished"));
	server_html_duration(duration, json_object_get(p, "duration"));
	snprintf(attempts, sizeof(attempts), "%lld",
		 (long long)json_integer_value(json_object_get(p, "attempts")));
	snprintf(pr, sizeof(pr), "%lld", (long long)json_integer_value(json_object_get(p, "pr")));
	fprintf(out, "<h1>Pipeline #%lld ", (long long)id);
	server_html_badge(out, jget(p, "state"));
	approval_badge(out, p);
	fputs("</h1>\n<table class=\"kv\">", out);
	server_html_kv(out, "Repository", jget(p, "repo"));
	server_html_kv(out, "Trigger", jget(p, "trigger"));
	server_html_kv(out, "Ref", jget(p, "ref"));
	server_html_kv(out, "Channel", jget(p, "channel"));
	server_html_kv(out, "Base", jget(p, "base"));
	fputs("<tr><th>Commit</th>", out);
	commit_cell(out, p);
	fputs("</tr>\n", out);
	if (jget(p, "release"))
		server_html_kv(out, "Release", jget(p, "release"));
	if (json_integer_value(json_object_get(p, "pr"))) {
		fputs("<tr><th>Pull request</th><td>", out);
		maybe_link(out, jget(p, "pr_url"), pr, "forge");
		fputs("</td></tr>\n", out);
	}
	server_html_kv(out, "Created", created);
	server_html_kv(out, "Started", started);
	server_html_kv(out, "Finished", finished);
	server_html_kv(out, "Duration", duration);
	progress_row(out, json_object_get(p, "progress"));
	server_html_kv(out, "Attempts", attempts);
	server_html_kv(out, "Summary", jget(p, "summary"));
	server_html_kv(out, "Jobs", jget(p, "jobs_summary"));
	published_row(out, json_object_get(p, "published"));
	approval_rows(out, p);
	fputs("<tr><th>Log</th><td>", out);
	pipeline_anchor(out, id, "/log.html", "follow");
	fputs(" &middot; ", out);
	pipeline_anchor(out, id, "/log", "text");
	fputs("</td></tr></table>\n", out);
}

/* A table of the plan's array key with the given columns: each column a
 * member name, shown as text, or as a list when the member is an array. */
static void plan_table(FILE *out, const json_t *plan, const char *key, const char *title,
		       const char *const *cols, const char *const *heads)
{
	const json_t *a = json_object_get(plan, key), *row;
	size_t i;

	if (!json_array_size(a))
		return;
	fprintf(out, "<h2>%s (%zu)</h2><table><tr>", title, json_array_size(a));
	for (size_t c = 0; cols[c]; c++)
		fprintf(out, "<th>%s</th>", heads[c]);
	fputs("</tr>\n", out);
	json_array_foreach(a, i, row) {
		fputs("<tr>", out);
		for (size_t c = 0; cols[c]; c++) {
			const json_t *v = json_object_get(row, cols[c]);
			if (json_is_array(v)) {
				fputs("<td>", out);
				server_html_strings(out, v, strcmp(cols[c], "reasons") ? ", " : " \xe2\x86\x90 ");
				fputs("</td>", out);
			} else if (json_is_true(v)) {
				server_html_td(out, "yes");
			} else {
				server_html_td(out, json_string_value(v));
			}
		}
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
}

/* A list of the plan's array key: strings, or arrays of strings joined by
 * sep. */
static void plan_list(FILE *out, const json_t *plan, const char *key, const char *title,
		      const char *sep)
{
	const json_t *a = json_object_get(plan, key), *v;
	size_t i;

	if (!json_array_size(a))
		return;
	fprintf(out, "<h2>%s (%zu)</h2><ul>", title, json_array_size(a));
	json_array_foreach(a, i, v) {
		fputs("<li>", out);
		if (json_is_array(v))
			server_html_strings(out, v, sep);
		else
			server_html_escape(out, json_string_value(v));
		fputs("</li>", out);
	}
	fputs("</ul>\n", out);
}

static void plan_section(FILE *out, const json_t *plan)
{
	static const char *const changed[] = { "spec", "path", "reasons", NULL };
	static const char *const changed_h[] = { "Spec", "Path", "Reasons" };
	static const char *const rebuild[] = { "spec", "why", "reasons", "cycle", NULL };
	static const char *const rebuild_h[] = { "Spec", "Why", "Reason chain", "In a cycle" };
	static const char *const removed[] = { "spec", "path", "packages", NULL };
	static const char *const removed_h[] = { "Spec", "Path", "Packages" };
	static const char *const unresolved[] = { "spec", "dependency", NULL };
	static const char *const unresolved_h[] = { "Spec", "Dependency" };
	static const char *const excluded[] = { "spec", "reason", NULL };
	static const char *const excluded_h[] = { "Spec", "Reason" };
	static const char *const broken[] = { "spec", "path", "error", NULL };
	static const char *const broken_h[] = { "Spec", "Path", "Error" };

	fputs("<h2>Rebuild plan</h2>", out);
	if (!json_is_object(plan)) {
		fputs("<p class=\"muted\">No plan recorded for this commit.</p>\n", out);
		return;
	}
	fputs("<p>", out);
	server_html_escape(out, jget(plan, "from") ? jget(plan, "from") : "(empty)");
	fputs(" &rarr; ", out);
	server_html_escape(out, jget(plan, "to"));
	fprintf(out, ": %zu files changed, %lld specs read, %zu to rebuild.</p>\n",
		json_array_size(json_object_get(plan, "files")),
		(long long)json_integer_value(json_object_get(plan, "specs")),
		json_array_size(json_object_get(plan, "rebuild")));
	plan_list(out, plan, "global", "Global inputs changed", ", ");
	plan_table(out, plan, "changed", "Changed specs", changed, changed_h);
	plan_table(out, plan, "rebuild", "Rebuild, in build order", rebuild, rebuild_h);
	plan_table(out, plan, "removed", "Removed specs", removed, removed_h);
	plan_table(out, plan, "unresolved", "Unresolved build dependencies", unresolved,
		   unresolved_h);
	plan_list(out, plan, "cycles", "Cycles", " \xe2\x86\x92 ");
	plan_table(out, plan, "excluded", "Excluded", excluded, excluded_h);
	plan_table(out, plan, "broken", "Specs that do not parse", broken, broken_h);
	plan_list(out, plan, "images", "Images affected", ", ");
}

/* The artifacts of job j: image files as download links, RPMs by NEVRA;
 * each with its size and SHA-256 in the title. */
static void job_artifacts(FILE *out, const json_t *j)
{
	const json_t *a;
	size_t i;

	fputs("<td><ul class=\"plain\">", out);
	json_array_foreach(json_object_get(j, "artifacts"), i, a) {
		const char *label = jget(a, "nevra") ? jget(a, "nevra") : jget(a, "file");
		fputs("<li class=\"artifact\" title=\"sha256 ", out);
		server_html_escape(out, jget(a, "sha256") ? jget(a, "sha256") : "unknown");
		fputs("\">", out);
		if (jget(a, "url")) {
			fputs("<a href=\"", out);
			server_html_escape(out, jget(a, "url"));
			fputs("\">", out);
			server_html_escape(out, label);
			fputs("</a>", out);
		} else {
			server_html_escape(out, label);
		}
		if (json_is_integer(json_object_get(a, "bytes")))
			fprintf(out, " <span class=\"muted\">(%lld bytes)</span>",
				(long long)json_integer_value(json_object_get(a, "bytes")));
		fputs("</li>", out);
	}
	fputs("</ul></td>", out);
}

/* 1 for the states a reader looks for first: failed and blocked. */
static int job_failed(const json_t *j)
{
	const char *s = jget(j, "state");

	return s && (!strcmp(s, "failed") || !strcmp(s, "blocked"));
}

static void job_row(FILE *out, const json_t *j)
{
	char duration[32];

	server_html_duration(duration, json_object_get(j, "seconds"));
	fprintf(out, "<tr class=\"job%s\">", job_failed(j) ? " failed" : "");
	server_html_td(out, jget(j, "name"));
	server_html_td(out, jget(j, "kind"));
	fputs("<td>", out);
	server_html_badge(out, jget(j, "state"));
	fputs("</td>", out);
	server_html_td(out, duration);
	server_html_td(out, jget(j, "reason"));
	job_artifacts(out, j);
	fputs("<td>", out);
	if (jget(j, "log")) {
		fputs("<a href=\"", out);
		server_html_escape(out, jget(j, "log_live"));
		fputs("\">follow</a> &middot; <a href=\"", out);
		server_html_escape(out, jget(j, "log"));
		fputs("\">text</a>", out);
	}
	fputs("</td></tr>\n", out);
}

/* The jobs, failed and blocked first (what a reader came for), then the
 * rest in the order they were recorded. */
static void jobs_section(FILE *out, const json_t *p)
{
	const json_t *jobs = json_object_get(p, "jobs"), *j;
	size_t i;

	fprintf(out, "<h2 id=\"jobs\">Jobs (%zu)</h2>", json_array_size(jobs));
	if (!json_array_size(jobs)) {
		fputs("<p class=\"muted\">No job recorded yet.</p>\n", out);
		return;
	}
	fputs("<table><tr><th>Job</th><th>Kind</th><th>State</th><th>Time</th><th>Reason</th>"
	      "<th>Artifacts</th><th>Log</th></tr>\n", out);
	for (int failed = 1; failed >= 0; failed--)
		json_array_foreach(jobs, i, j)
			if (job_failed(j) == failed)
				job_row(out, j);
	fputs("</table>\n", out);
}

/* The statuses sent to the forge for the pipeline's commit, in order. */
static void statuses_section(FILE *out, const json_t *statuses)
{
	const json_t *st;
	size_t i;

	fprintf(out, "<h2 id=\"statuses\">Forge statuses (%zu)</h2>", json_array_size(statuses));
	if (!json_array_size(statuses)) {
		fputs("<p class=\"muted\">None: this repository reports to no forge, or nothing "
		      "was sent yet.</p>\n", out);
		return;
	}
	fputs("<table><tr><th>Context</th><th>State</th><th>Description</th><th>Queued</th>"
	      "<th>Delivery</th></tr>\n", out);
	json_array_foreach(statuses, i, st) {
		char at[32], delivery[64];
		server_html_time(at, jget(st, "queued_at"));
		if (json_is_integer(json_object_get(st, "http_status")))
			snprintf(delivery, sizeof(delivery), "%s (HTTP %lld)",
				 jget(st, "delivery") ? jget(st, "delivery") : "?",
				 (long long)json_integer_value(json_object_get(st, "http_status")));
		else
			snprintf(delivery, sizeof(delivery), "%s",
				 jget(st, "delivery") ? jget(st, "delivery") : "?");
		fputs("<tr class=\"status\">", out);
		server_html_td(out, jget(st, "context"));
		fputs("<td>", out);
		server_html_badge(out, jget(st, "state"));
		fputs("</td>", out);
		server_html_td(out, jget(st, "description"));
		server_html_td(out, at);
		server_html_td(out, delivery);
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
}

void dashboard_page_pipeline(FILE *out, const json_t *p)
{
	char title[64];

	snprintf(title, sizeof(title), "Pipeline #%lld",
		 (long long)json_integer_value(json_object_get(p, "id")));
	server_html_page_begin(out, title, dashboard_state_active(jget(p, "state")) ? 10 : 0);
	pipeline_fields(out, p);
	dashboard_controls_pipeline(out, p);
	jobs_section(out, p);
	statuses_section(out, json_object_get(p, "statuses"));
	fputs("<h2>Build timeline</h2>\n", out);
	server_svg_timeline(out, json_object_get(p, "jobs"), json_object_get(p, "plan"));
	fputs("<h2>Dependency graph of the rebuild set</h2>\n", out);
	server_svg_graph(out, json_object_get(p, "plan"), json_object_get(p, "jobs"));
	plan_section(out, json_object_get(p, "plan"));
	server_html_page_end(out);
}

/* Follows the log: asks src for the bytes after those it has (?offset=N),
 * then for the times of the lines that start in them (?times=N, the
 * log's sidecar, builder/logtimes.h), and stops once api says the pipeline
 * ended and nothing more came. Each line shows the time since the job
 * started, with the absolute time (UTC) on hover. A log without times (an
 * older release's) shows when its lines reached the page instead: the
 * first chunk's as there when the page opened. Lines are split on bytes,
 * so that their offsets match the sidecar's whatever the encoding. A #L<n>
 * in the address is scrolled to once that line is there. */
static const char follow_script[] =
	"(function(){\n"
	"var pre=document.getElementById('log'),st=document.getElementById('state'),\n"
	"src=pre.getAttribute('data-src'),api=pre.getAttribute('data-api'),\n"
	"off=0,last=false,n=0,part='',pstart=0,first=true,jumped=false,dec=new TextDecoder('utf-8'),\n"
	"start=null,toff=[],tms=[],tnext=0,ti=-1;\n"
	"function two(v){return (v<10?'0':'')+v;}\n"
	"function clock(d){return two(d.getUTCHours())+':'+two(d.getUTCMinutes())+':'+\n"
	" two(d.getUTCSeconds())+'Z';}\n"
	"function since(ms){var s=Math.floor(ms/1000),h=Math.floor(s/3600),m=Math.floor(s/60)%60,\n"
	" f=String(ms%1000);while(f.length<3)f='0'+f;\n"
	" return (h?h+':'+two(m):String(m))+':'+two(s%60)+'.'+f;}\n"
	"function stamp(t,at){\n"
	" if(start===null){t.textContent=first?'\u2264 '+clock(new Date()):clock(new Date());return;}\n"
	" while(ti+1<toff.length&&toff[ti+1]<=at)ti++;\n"
	" if(ti<0)return;\n"
	" t.textContent=since(tms[ti]);t.title=new Date(start+tms[ti]).toISOString();}\n"
	"function line(text,at){n++;var div=document.createElement('div'),a=document.createElement('a'),\n"
	" t=document.createElement('span'),x=document.createElement('span');\n"
	" div.id='L'+n;div.className='line'+(/(^|[^a-z])error:/i.test(text)?' err':'');\n"
	" a.href='#L'+n;a.className='ln';a.textContent=n;t.className='ts';stamp(t,at);\n"
	" x.className='tx';x.textContent=text;div.appendChild(a);div.appendChild(t);\n"
	" div.appendChild(x);pre.appendChild(div);}\n"
	"function add(bytes,base,end){var s=0;\n"
	" for(var i=0;i<bytes.length;i++)if(bytes[i]===10){\n"
	"  line(part+dec.decode(bytes.subarray(s,i),{stream:true}),pstart);part='';s=i+1;pstart=base+s;}\n"
	" part+=dec.decode(bytes.subarray(s),{stream:true});\n"
	" if(end&&part){line(part,pstart);part='';}}\n"
	"function times(upto,tries){\n"
	" return fetch(src+'?times='+tnext,{cache:'no-store'})\n"
	" .then(function(r){return r.ok?r.json():{start:null,times:[],more:false};})\n"
	" .then(function(t){if(t.start!==null)start=t.start;\n"
	"  t.times.forEach(function(x){toff.push(x[0]);tms.push(x[1]);tnext=x[0]+1;});\n"
	"  if(t.more)return times(upto,tries);\n"
	"  if(start!==null&&tnext<=upto&&tries>0&&!last)\n"
	"   return new Promise(function(ok){setTimeout(ok,30);}).then(function(){return times(upto,tries-1);});});}\n"
	"function jump(){if(jumped||!location.hash)return;var e=document.getElementById(location.hash.slice(1));\n"
	" if(e){jumped=true;e.classList.add('target');e.scrollIntoView();}}\n"
	"function again(ms){setTimeout(tick,ms);}\n"
	"function lastStart(bytes,base){var k=-1,j=-1;\n"
	" for(var i=0;i<bytes.length;i++)if(bytes[i]===10){j=k;k=i;}\n"
	" return k<0?-1:(j<0?pstart:base+j+1);}\n"
	"function tick(){\n"
	" fetch(src+'?offset='+off,{cache:'no-store'})\n"
	" .then(function(r){return r.ok?r.arrayBuffer():new ArrayBuffer(0);})\n"
	" .then(function(b){\n"
	"  if(b.byteLength){var bytes=new Uint8Array(b),base=off;off+=b.byteLength;\n"
	"   return times(lastStart(bytes,base),3).then(function(){add(bytes,base,false);\n"
	"   jump();if(!location.hash)window.scrollTo(0,document.body.scrollHeight);again(50);});}\n"
	"  first=false;\n"
	"  if(last){add(new Uint8Array(0),off,true);jump();st.textContent+=' (log complete)';return;}\n"
	"  return fetch(api,{cache:'no-store'}).then(function(r){return r.json();})\n"
	"  .then(function(p){st.textContent=p.state;\n"
	"   last=p.state!=='queued'&&p.state!=='running';again(last?0:1000);});\n"
	" }).catch(function(){again(3000);});\n"
	"}\n"
"tick();\n"
	"})();\n";

void dashboard_page_follow(FILE *out, const json_t *p, const char *what, const char *src)
{
	json_int_t id = json_integer_value(json_object_get(p, "id"));
	char *title = sy_xasprintf("Pipeline #%lld: %s", (long long)id, what);

	server_html_page_begin(out, title, 0);
	fputs("<h1>", out);
	server_html_escape(out, title);
	fputs("</h1><p>State: <span id=\"state\">", out);
	server_html_escape(out, jget(p, "state"));
	fputs("</span> &middot; ", out);
	pipeline_anchor(out, id, "", "pipeline");
	fputs(" &middot; <a href=\"", out);
	server_html_escape(out, src);
	fputs("\">text</a></p>\n<pre id=\"log\" data-src=\"", out);
	server_html_escape(out, src);
	fprintf(out, "\" data-api=\"/api/pipelines/%lld\" class=\"log\"></pre>\n<script>%s</script>\n",
		(long long)id, follow_script);
	server_html_page_end(out);
	free(title);
}

void dashboard_page_repositories(FILE *out, const json_t *doc)
{
	const json_t *list = json_object_get(doc, "repositories"), *sources, *r;
	size_t i;

	server_html_page_begin(out, "Repositories", 0);
	fputs("<h1>Repositories</h1>\n", out);
	if (!json_array_size(list))
		fputs("<p>Nothing published yet.</p>\n", out);
	json_array_foreach(list, i, r) {
		char packages[32], snapshots[32];
		snprintf(packages, sizeof(packages), "%lld",
			 (long long)json_integer_value(json_object_get(r, "packages")));
		snprintf(snapshots, sizeof(snapshots), "%lld",
			 (long long)json_integer_value(json_object_get(r, "snapshots")));
		fputs("<h2>", out);
		server_html_escape(out, jget(r, "channel"));
		fputs("</h2><table class=\"kv\">", out);
		server_html_kv(out, "Current snapshot", jget(r, "current"));
		server_html_kv(out, "Snapshots", snapshots);
		server_html_kv(out, "Packages", packages);
		server_html_kv(out, "Published from", jget(r, "commit"));
		server_html_kv(out, "Base URL", jget(r, "baseurl"));
		server_html_kv(out, "Signed", json_is_true(json_object_get(r, "signed"))
						      ? "yes: gpgcheck=1, repo_gpgcheck=1"
						      : "no");
		server_html_kv(out, "Repo file", jget(r, "repo_file_url"));
		fputs("</table><p>/etc/yum.repos.d/shipyard.repo:</p><pre>", out);
		server_html_escape(out, jget(r, "repo_file"));
		fputs("</pre>\n", out);
	}
	sources = json_object_get(doc, "sources");
	if (!json_array_size(sources)) {
		server_html_page_end(out);
		return;
	}
	fputs("<h2>Watched repositories</h2><table><tr><th>Name</th><th>Forge</th><th>Project</th>"
	      "<th>Branches</th><th>Schedules</th><th>Poll</th></tr>\n", out);
	json_array_foreach(sources, i, r) {
		char poll[32];
		long long s = (long long)json_integer_value(json_object_get(r, "poll_s"));
		if (s)
			snprintf(poll, sizeof(poll), "every %llds", s);
		else
			snprintf(poll, sizeof(poll), "webhooks only");
		fputs("<tr>", out);
		server_html_td(out, jget(r, "name"));
		server_html_td(out, jget(r, "forge"));
		server_html_td(out, jget(r, "project"));
		fputs("<td>", out);
		server_html_strings(out, json_object_get(r, "branches"), ", ");
		fputs("</td><td class=\"mono\">", out);
		server_html_strings(out, json_object_get(r, "schedules"), "<br>");
		fputs("</td>", out);
		server_html_td(out, poll);
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
	server_html_page_end(out);
}

static void image_files(FILE *out, const json_t *files)
{
	const json_t *f;
	size_t i;

	fputs("<ul class=\"plain\">", out);
	json_array_foreach(files, i, f) {
		fputs("<li><a href=\"", out);
		server_html_escape(out, jget(f, "url"));
		fputs("\">", out);
		server_html_escape(out, jget(f, "name"));
		fprintf(out, "</a> <span class=\"muted\">(%lld bytes)</span></li>",
			(long long)json_integer_value(json_object_get(f, "bytes")));
	}
	fputs("</ul>", out);
}

void dashboard_page_images(FILE *out, const json_t *doc)
{
	const json_t *configs = json_object_get(doc, "images"), *c, *b, *releases;
	size_t i, k;

	server_html_page_begin(out, "Images", 0);
	fputs("<h1>Images</h1>\n", out);
	if (!json_array_size(configs))
		fputs("<p>No image composed yet.</p>\n", out);
	json_array_foreach(configs, i, c) {
		fputs("<h2>", out);
		server_html_escape(out, jget(c, "config"));
		fputs("</h2><table><tr><th>Build</th><th>Arch</th><th>Packages</th><th>Files</th></tr>\n",
		      out);
		json_array_foreach(json_object_get(c, "builds"), k, b) {
			char packages[32] = "-";
			if (json_is_integer(json_object_get(b, "packages")))
				snprintf(packages, sizeof(packages), "%lld",
					 (long long)json_integer_value(json_object_get(b, "packages")));
			fputs("<tr><td class=\"mono\">", out);
			server_html_escape(out, jget(b, "id"));
			if (json_is_true(json_object_get(b, "latest")))
				fputs(" <span class=\"badge s-success\">latest</span>", out);
			fputs("</td>", out);
			server_html_td(out, jget(b, "arch"));
			server_html_td(out, packages);
			fputs("<td>", out);
			image_files(out, json_object_get(b, "files"));
			fputs("</td></tr>\n", out);
		}
		fputs("</table>\n", out);
	}
	releases = json_object_get(doc, "releases");
	if (json_array_size(releases)) {
		fputs("<h2>Releases</h2>\n", out);
		server_releases_table(out, releases);
	}
	server_html_page_end(out);
}