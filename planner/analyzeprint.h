/* Printing a graph analysis (planner/analyze.h) for people and programs:
 * text, or JSON (jansson). */
#ifndef PLANNER_ANALYZEPRINT_H
#define PLANNER_ANALYZEPRINT_H

#include <stddef.h>
#include <stdio.h>

#include "planner/analyze.h"
#include "planner/index.h"

/* What to print. */
struct planner_analysis_view {
	const char *commit;  /* the commit analysed (hex), or NULL */
	size_t max_results;  /* rows of each report at most (the toolkit's
			      * --max-results); 0: all */
	int json;            /* 1: JSON, 0: text */
};

/* Prints a (of index's specs) to out.
 *  text  a summary line, then the reports, each with its total: unresolved
 *        capabilities ("  pkgconfig(banner) >= 1.0: blocks 1; BuildRequires
 *        of greet-tools; Requires of x"), closest to buildable ("  hello
 *        2: a (does not parse), b >= 2"), top blockers ("  libgreet blocks
 *        3"), cycles ("  a -> b -> a").
 *  JSON  {"commit", "specs", "buildable", "unresolved": {"total", "top":
 *        [{"capability", "blocked", "build_referrers": [ids],
 *        "runtime_referrers": [ids]}]}, "closest": {"total", "top":
 *        [{"spec", "path", "causes": [...]}]}, "blockers": {"total", "top":
 *        [{"spec", "path", "blocks"}]}, "cycles": [[%{name} of each member, in
 *        cycle order]]}
 * Returns 0, or -1 when writing fails. */
int planner_analysis_print(FILE *out, const struct planner_index *index,
			   const struct planner_analysis *a, const struct planner_analysis_view *view);

#endif
