/* Printing a plan for people (text) and programs (JSON, jansson). */
#ifndef PIPELINE_PLANPRINT_H
#define PIPELINE_PLANPRINT_H

#include <stdio.h>

#include "planner/cascade.h"
#include "planner/graph.h"
#include "planner/index.h"
#include "planner/plan.h"
#include "common/strv.h"
#include "gitwatch/changeset.h"

/* What a printed plan shows. */
struct pipeline_plan_view {
	const char *base;                          /* base commit, NULL: none */
	const struct planner_index *head;          /* specs at the head */
	const struct planner_graph *graph;         /* their graph */
	const struct planner_plan *plan;
	const struct gitwatch_changeset *changes;  /* base..head */
	const struct sy_strv *images;              /* affected image config paths */
	const struct sy_strv *global;              /* global inputs that changed,
						    * "macro context: SPECS/x/macros" */
	const struct planner_cascade *cascade;     /* the cascade guard's verdict,
						    * or NULL: no limit applies */
	int approved;                              /* 1: --approve was given */
	int goal;                                  /* 1: a goal plan (planner/target.h):
						    * the changeset is not shown */
};

/* Writes the plan to out as text, or (json != 0) as one JSON object:
 * {"from", "to", "goal": bool, "specs": N, "files": [{"kind","path"}],
 *  "changed": [{"spec","path","reasons":[...]}],
 *  "rebuild": [{"spec","path","why","reasons":[chain],"needs":[specs of
 *  the set it BuildRequires]}] in build order,
 *  with "cycle", "forced": true and "blocked_by": spec where they apply,
 *  "removed": [{"spec","path","packages":[...]}], "images": [paths],
 *  "unresolved": [{"spec","dependency"}], "cycles": [[specs...]],
 *  "excluded": [{"spec","reason"}], "broken": [{"spec","path","error"}],
 *  "ignored": [{"spec","path","packages": "artifact"|"published"|"none",
 *  "dependents": [specs]}], "global": ["macro context: <path>", ...],
 *  "approval": {"limit", "to_build", "needed", "approved", "causes":
 *  [{"cause": "global"|"spec"|"missing", "spec" (for "spec"), "count"}]}}
 * ("approval" only when the cascade guard has a limit)
 * where "spec" is the spec file basename without .spec (issue "Planning at
 * distribution scale", plan output). */
void pipeline_plan_print(FILE *out, const struct pipeline_plan_view *view, int json);

/* Returns the cascade guard's verdict in one line, newly allocated: "9
 * specs to build, over plan.maxrebuild 3; biggest causes: global inputs 9,
 * libgreet 4, libbanner 3" with at most top causes. For the shipyard/plan
 * status and the log. view->cascade must be set. */
char *pipeline_plan_cascade_line(const struct pipeline_plan_view *view, size_t top);

#endif
