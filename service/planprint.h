/* Printing a plan for people (text) and programs (JSON, jansson). */
#ifndef SERVICE_PLANPRINT_H
#define SERVICE_PLANPRINT_H

#include <stdio.h>

#include "builder/graph.h"
#include "builder/index.h"
#include "builder/plan.h"
#include "gitwatch/changeset.h"

/* Writes the changeset, the rebuild set with reasons, unresolved
 * BuildRequires, cycles and specs that did not parse to out, as text or (json
 * != 0) as one JSON document {"from", "to", "changes": [{"kind","path"}],
 * "rebuild": [{"spec","name","reason","why"}], "unresolved": {name: [..]},
 * "cycles": [..], "broken": [..], "removed": [..]}. */
void service_plan_print(FILE *out, const struct builder_index *index,
			const struct builder_graph *graph, const struct builder_plan *plan,
			const struct gitwatch_changeset *changes, int json);

#endif
