/* graphviz's headers first: they define a LEN of their own. */
#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>
#undef LEN

#include "server/svg.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"
#include "common/util.h"
#include "server/html.h"

/* graphviz keeps global state (cgraph's string pool, its plugins' caches):
 * every call holds the lock. One context serves the process: graphviz
 * 2.42's pango plugin keeps a font name that freeing a context frees, so a
 * second context would read freed memory. */
static pthread_mutex_t graphviz_lock = PTHREAD_MUTEX_INITIALIZER;
static GVC_t *graphviz;

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The fill colour of a job state (the badges' colours, lighter). */
static const char *state_fill(const char *state)
{
	static const char *const fills[][2] = {
		{ "built", "#aceebb" },  { "reused", "#d1f0d8" }, { "unchanged", "#d1f0d8" },
		{ "failed", "#ffcecb" }, { "blocked", "#ffd8b5" }, { "running", "#b6e3ff" },
		{ "skipped", "#eaeef2" }, { "queued", "#eaeef2" },
	};

	for (size_t i = 0; state && i < sizeof(fills) / sizeof(fills[0]); i++)
		if (!strcmp(state, fills[i][0]))
			return fills[i][1];
	return "#ffffff";
}

/* A label graphviz shows as the text itself: its escapes ("\N", "\l")
 * begin with a backslash, which is doubled. Newly allocated. */
static char *plain_label(const char *s)
{
	char *out = sy_xmalloc(2 * strlen(s) + 1), *o = out;

	for (; *s; s++) {
		if (*s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* The index of spec name in the rebuild array, or -1. */
static long rebuild_index(const json_t *rebuild, const char *name)
{
	const json_t *r;
	size_t i;

	json_array_foreach(rebuild, i, r)
		if (name && str(r, "spec") && !strcmp(str(r, "spec"), name))
			return (long)i;
	return -1;
}

/* The graph of rebuild in g: nodes n<i> labelled with the spec. */
static void graph_build(Agraph_t *g, const json_t *rebuild, const json_t *jobs)
{
	size_t n = json_array_size(rebuild), i, k;
	Agnode_t **nodes = sy_xcalloc(n + 1, sizeof(*nodes));
	const json_t *r, *need, *job;

	agattr(g, AGNODE, (char *)"shape", (char *)"box");
	agattr(g, AGNODE, (char *)"style", (char *)"rounded,filled");
	agattr(g, AGNODE, (char *)"fontname", (char *)"sans-serif");
	agattr(g, AGNODE, (char *)"fontsize", (char *)"11");
	agattr(g, AGRAPH, (char *)"rankdir", (char *)"LR");
	json_array_foreach(rebuild, i, r) {
		char id[32], *label = plain_label(str(r, "spec") ? str(r, "spec") : "?");
		const char *state = NULL;
		snprintf(id, sizeof(id), "n%zu", i);
		nodes[i] = agnode(g, id, 1);
		json_array_foreach(jobs, k, job)
			if (str(job, "name") && str(r, "spec") && !strcmp(str(job, "name"), str(r, "spec")))
				state = str(job, "state");
		agsafeset(nodes[i], (char *)"label", label, (char *)"");
		agsafeset(nodes[i], (char *)"fillcolor", (char *)state_fill(state), (char *)"#ffffff");
		free(label);
	}
	json_array_foreach(rebuild, i, r)
		json_array_foreach(json_object_get(r, "needs"), k, need) {
			long from = rebuild_index(rebuild, json_string_value(need));
			if (from >= 0 && (size_t)from != i)
				agedge(g, nodes[from], nodes[i], NULL, 1);
		}
	free(nodes);
}

/* Lays out and renders the graph into *svg (graphviz's allocation, freed
 * with gvFreeRenderData; NULL when it failed) and *len. */
static void graph_render(const json_t *rebuild, const json_t *jobs, char **svg, unsigned *len)
{
	GVC_t *gvc = graphviz ? graphviz : (graphviz = gvContext());
	Agraph_t *g = agopen((char *)"rebuild", Agdirected, NULL);

	*svg = NULL;
	graph_build(g, rebuild, jobs);
	if (gvLayout(gvc, g, "dot") == 0) {
		if (gvRenderData(gvc, g, "svg", svg, len) != 0)
			*svg = NULL;
		gvFreeLayout(gvc, g);
	}
	agclose(g);
}

void server_svg_graph(FILE *out, const json_t *plan, const json_t *jobs)
{
	const json_t *rebuild = json_object_get(plan, "rebuild");
	size_t n = json_array_size(rebuild);
	unsigned len = 0;
	char *svg = NULL, *start;

	if (!n) {
		fputs("<p class=\"muted\">No spec to rebuild: no graph.</p>\n", out);
		return;
	}
	if (n > SERVER_SVG_GRAPH_MAX) {
		fprintf(out, "<p class=\"muted\">%zu specs: more than %d, the graph is not drawn.</p>\n",
			n, SERVER_SVG_GRAPH_MAX);
		return;
	}
	pthread_mutex_lock(&graphviz_lock);
	graph_render(rebuild, jobs, &svg, &len);
	/* Inline in the page: the XML declaration and doctype go. */
	start = svg ? strstr(svg, "<svg") : NULL;
	if (start)
		fprintf(out, "<div class=\"graph\" id=\"graph\">%.*s</div>\n",
			(int)(len - (unsigned)(start - svg)), start);
	else
		fputs("<p class=\"muted\">graphviz could not lay out the graph.</p>\n", out);
	if (svg)
		gvFreeRenderData(svg);
	pthread_mutex_unlock(&graphviz_lock);
}

/* ---- timeline ---- */

/* The start and end of job i (seconds since the epoch; end now while it
 * runs). Returns 0 when it has not started. */
static int job_span(const json_t *job, double *start, double *end)
{
	*start = server_html_time_parse(str(job, "started"));
	*end = server_html_time_parse(str(job, "finished"));
	if (*start <= 0)
		return 0;
	if (*end < *start)
		*end = sy_wall_s();
	return 1;
}

/* 1 when job a needs job b: b is among a's plan "needs", or a is an image
 * and b a build. */
static int job_needs(const json_t *a, const json_t *b, const json_t *plan)
{
	const json_t *rebuild = json_object_get(plan, "rebuild"), *need;
	long i = rebuild_index(rebuild, str(a, "name"));
	size_t k;

	if (str(a, "kind") && !strcmp(str(a, "kind"), "image"))
		return !str(b, "kind") || strcmp(str(b, "kind"), "image");
	json_array_foreach(json_object_get(json_array_get(rebuild, i < 0 ? (size_t)-1 : (size_t)i),
					   "needs"), k, need)
		if (str(b, "name") && json_string_value(need) &&
		    !strcmp(str(b, "name"), json_string_value(need)))
			return 1;
	return 0;
}

void server_svg_critical_path(const json_t *jobs, const json_t *plan, unsigned char *crit)
{
	size_t n = json_array_size(jobs);
	double s, e, best = 0;
	long cur = -1;

	memset(crit, 0, n);
	for (size_t i = 0; i < n; i++)
		if (job_span(json_array_get(jobs, i), &s, &e) && e > best) {
			best = e;
			cur = (long)i;
		}
	/* Each step goes to a job that ended earlier: at most n steps. */
	for (size_t steps = 0; cur >= 0 && steps < n; steps++) {
		const json_t *a = json_array_get(jobs, (size_t)cur);
		double start, end, prev_end = 0;
		long prev = -1;
		crit[cur] = 1;
		job_span(a, &start, &end);
		for (size_t k = 0; k < n; k++) {
			const json_t *b = json_array_get(jobs, k);
			if (crit[k] || !job_span(b, &s, &e) || e > start + 0.5 || !job_needs(a, b, plan))
				continue;
			if (e > prev_end) {
				prev_end = e;
				prev = (long)k;
			}
		}
		cur = prev;
	}
}

#define BAR_H 18
#define LABEL_W 180
#define PLOT_W 720

void server_svg_timeline(FILE *out, const json_t *jobs, const json_t *plan)
{
	size_t n = json_array_size(jobs), rows = 0;
	unsigned char *crit = sy_xcalloc(n + 1, 1);
	double t0 = 0, t1 = 0, s, e;

	for (size_t i = 0; i < n; i++)
		if (job_span(json_array_get(jobs, i), &s, &e)) {
			t0 = rows++ == 0 || s < t0 ? s : t0;
			t1 = e > t1 ? e : t1;
		}
	if (!rows) {
		fputs("<p class=\"muted\">No job ran: no timeline.</p>\n", out);
		free(crit);
		return;
	}
	server_svg_critical_path(jobs, plan, crit);
	double span = t1 - t0 > 0.001 ? t1 - t0 : 0.001;
	fprintf(out, "<svg class=\"timeline\" id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" "
		     "width=\"%d\" height=\"%zu\" font-family=\"sans-serif\" font-size=\"11\">",
		LABEL_W + PLOT_W + 60, (rows + 1) * BAR_H + 4);
	fprintf(out, "<text x=\"%d\" y=\"%d\" fill=\"#57606a\">0s</text>"
		     "<text x=\"%d\" y=\"%d\" fill=\"#57606a\" text-anchor=\"end\">%.1fs</text>",
		LABEL_W, BAR_H - 5, LABEL_W + PLOT_W, BAR_H - 5, span);
	size_t row = 1;
	for (size_t i = 0; i < n; i++) {
		const json_t *job = json_array_get(jobs, i);
		if (!job_span(job, &s, &e))
			continue;
		double x = LABEL_W + (s - t0) / span * PLOT_W, w = (e - s) / span * PLOT_W;
		fprintf(out, "<g class=\"bar%s\"><title>", crit[i] ? " critical" : "");
		server_html_escape(out, str(job, "name"));
		fprintf(out, ": %.1fs</title><text x=\"%d\" y=\"%zu\" text-anchor=\"end\">", e - s,
			LABEL_W - 6, row * BAR_H + 13);
		server_html_escape(out, str(job, "name"));
		fprintf(out, "</text><rect x=\"%.1f\" y=\"%zu\" width=\"%.1f\" height=\"%d\" rx=\"2\" "
			     "fill=\"%s\" stroke=\"%s\" stroke-width=\"%d\"/></g>",
			x, row * BAR_H + 2, w < 1 ? 1 : w, BAR_H - 4, state_fill(str(job, "state")),
			crit[i] ? "#cf222e" : "#8c959f", crit[i] ? 2 : 1);
		row++;
	}
	fputs("</svg>\n", out);
	free(crit);
}
