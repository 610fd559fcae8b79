/* Printing the result of a depsearch (planner/depsearch.h) for people and
 * programs: a list, an indented tree, JSON (jansson) or a Graphviz
 * digraph. */
#ifndef PLANNER_DEPSEARCHPRINT_H
#define PLANNER_DEPSEARCHPRINT_H

#include <stdio.h>

#include "common/strv.h"
#include "planner/depsearch.h"
#include "planner/graph.h"

/* Output forms. */
enum planner_depsearch_format {
	PLANNER_DEPSEARCH_LIST = 0, /* sorted unique spec names, one a line */
	PLANNER_DEPSEARCH_TREE,     /* indented breadth-first search tree */
	PLANNER_DEPSEARCH_JSON,
	PLANNER_DEPSEARCH_DOT,
};

/* What was asked, for printing. */
struct planner_depsearch_view {
	const char *commit;                         /* commit searched, or NULL */
	const struct sy_strv *names;                /* names as given */
	int packages;                               /* 1: names are packages */
	const struct planner_depsearch_query *query;
	enum planner_depsearch_format format;
};

/* Prints result (of view->query on graph) to out:
 *  LIST  every found spec's search name (planner_depsearch_spec_name), sorted,
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
int planner_depsearch_print(FILE *out, const struct planner_graph *graph,
			    const struct planner_depsearch_result *result,
			    const struct planner_depsearch_view *view);

#endif
