/* shipyard depsearch: what depends on some specs or packages, or what they
 * need, at one commit of a distribution repository (builder/depsearch.h has
 * the rules), printed as a list, a tree, JSON or a Graphviz digraph. */
#ifndef SERVICE_DEPSEARCH_CMD_H
#define SERVICE_DEPSEARCH_CMD_H

#include <stdio.h>

#include "builder/depsearch.h"
#include "builder/graph.h"
#include "common/strv.h"

/* The command's --help text. */
extern const char service_depsearch_usage[];

/* Runs `shipyard depsearch` with argv[0] = "depsearch": reads the spec index
 * and dependency graph at --rev, searches and prints to stdout. Returns the
 * exit status: 0 done, 2 usage or set-up error, or a name given to --specs or
 * --packages that matches nothing (the message on stderr names them all). */
int service_depsearch_command(int argc, char **argv);

/* Output forms. */
enum service_depsearch_format {
	SERVICE_DEPSEARCH_LIST = 0, /* sorted unique spec names, one a line */
	SERVICE_DEPSEARCH_TREE,     /* indented breadth-first search tree */
	SERVICE_DEPSEARCH_JSON,
	SERVICE_DEPSEARCH_DOT,
};

/* What was asked, for printing. */
struct service_depsearch_view {
	const char *commit;                         /* commit searched, or NULL */
	const struct sy_strv *names;                /* names as given */
	int packages;                               /* 1: names are packages */
	const struct builder_depsearch_query *query;
	enum service_depsearch_format format;
};

/* Prints result (of view->query on graph) to out:
 *  LIST  every found spec's search name (builder_depsearch_spec_name), sorted,
 *        unique, searched specs included.
 *  TREE  each searched spec at column 0, sorted by name; below it, indented
 *        two spaces a level, the specs found through it, sorted by name, as
 *        "name (reason)": the reason is the dependent's side of the edge
 *        between the spec and the line it hangs from ("BuildRequires
 *        zlib-devel", "curl requires libssh2"). Each spec appears once.
 *  JSON  {"query": {"commit", "specs"|"packages": [names], "direction":
 *        "dependents"|"dependencies", "edges": "all"|"build"|"runtime",
 *        "max_depth": N|null}, "specs": [{"spec", "path", "depth", "via",
 *        "reason"}]} (jansson), specs sorted by name then path; "via" is the
 *        spec it was reached from and "via"/"reason" are null for searched
 *        specs.
 *  DOT   digraph "depsearch": a node per found spec (searched specs bold), an
 *        edge "a" -> "b" for every followed edge "a needs b" between found
 *        specs, labelled with its reason; runtime edges dashed (Graphviz DOT
 *        language, https://graphviz.org/doc/info/lang.html).
 * Returns 0, or -1 when writing fails. */
int service_depsearch_print(FILE *out, const struct builder_graph *graph,
			    const struct builder_depsearch_result *result,
			    const struct service_depsearch_view *view);

#endif
