/* The pictures of a pipeline page, made by the server as inline SVG from
 * the documents of the API (server/dashboard.h): the rebuild set's
 * dependency graph, laid out by graphviz's dot (libgvc/libcgraph, rendered
 * in memory with gvRenderData), and a build timeline (one bar per job,
 * the critical path highlighted) written here. Every text from the
 * repository (spec and image names) is escaped; links and scripts are
 * never put in. */
#ifndef SERVER_SVG_H
#define SERVER_SVG_H

#include <stdio.h>

#include <jansson.h>

/* Most specs the graph is drawn for: dot's layout grows faster than the
 * node count, and a page must answer in well under a second. */
#define SERVER_SVG_GRAPH_MAX 300

/* Writes the dependency graph of plan (plan.json: "rebuild" entries with
 * "spec" and "needs") as an <svg> element: one node per spec of the set,
 * coloured by the state of its job in jobs (the API's "jobs", may be
 * NULL), an edge from each spec to those it needs. Writes a one-line note
 * instead (a <p>) when there is no set, it has more than
 * SERVER_SVG_GRAPH_MAX specs, or graphviz fails. Safe to call from several
 * threads (graphviz is not: calls are serialised). */
void server_svg_graph(FILE *out, const json_t *plan, const json_t *jobs);

/* The critical path of jobs: the chain that ends with the job finishing
 * last, each link the job it needed (plan's "needs"; for an image job any
 * build job) that finished last before it started. Sets crit[i] to 1 for
 * the jobs on it (crit: json_array_size(jobs) entries). Jobs without
 * "started" and "finished" times are left out. */
void server_svg_critical_path(const json_t *jobs, const json_t *plan, unsigned char *crit);

/* Writes the timeline of jobs (the API's "jobs" with RFC 3339 "started"
 * and "finished") as an <svg> element: one bar per job that ran, from its
 * start to its end (or to now while it runs), on one time axis from the
 * first start, coloured by state, those on the critical path
 * (server_svg_critical_path) outlined. A <p> note when no job ran. */
void server_svg_timeline(FILE *out, const json_t *jobs, const json_t *plan);

#endif
