/* Graph analytics of one commit, as the Azure Linux toolkit's graphanalytics
 * reports on its package graph (toolkit/tools/pkg/graphanalytics): which
 * unresolved capabilities hurt most and who asks for them, which specs are
 * closest to buildable, which specs block the most if they fail or are
 * missing, and the build cycles.
 *
 * The analysis is static: it assumes nothing is built yet. A spec is in the
 * way of another when the other's build root holds its packages
 * (planner_graph_node.root_specs), transitively. What stands in a spec's way:
 *  - a BuildRequires nothing offers (its own);
 *  - a Requires nothing offers, of a package its build root holds;
 *  - a spec it needs that does not parse (or that one itself);
 *  - and, through the specs it needs, whatever stands in their way.
 * The toolkit's DIRECT and INDIRECT reports are one here: every cause is
 * counted once, however deep. Build cycles are listed, not counted as
 * blocking: the planner breaks them with built packages, as the toolkit
 * does. The module does no I/O. */
#ifndef PLANNER_ANALYZE_H
#define PLANNER_ANALYZE_H

#include <stddef.h>

#include "planner/graph.h"
#include "planner/index.h"
#include "common/error.h"
#include "common/strv.h"

/* A capability nothing offers, with who asks for it. */
struct planner_analysis_capability {
	char *capability;                 /* formatted dependency, "pkgconfig(banner) >= 1.0" */
	struct sy_strv build_referrers;   /* spec ids whose BuildRequires ask for it, sorted */
	struct sy_strv runtime_referrers; /* spec ids whose packages Require it, sorted */
	size_t blocked;                   /* specs it stands in the way of */
};

/* A spec something stands in the way of. */
struct planner_analysis_stuck {
	size_t spec;           /* index into the index */
	struct sy_strv causes; /* what: capabilities, "foo (does not parse)", sorted */
};

/* A spec, with how many specs need it to build. */
struct planner_analysis_blocker {
	size_t spec;    /* index into the index */
	size_t blocks;  /* specs whose build root holds its packages, transitively:
			 * what its failure or absence blocks */
};

/* The analysis. Release with planner_analysis_release. */
struct planner_analysis {
	size_t nspecs;     /* specs analysed (every spec not excluded for the arch) */
	size_t buildable;  /* of those, the specs nothing stands in the way of */
	struct planner_analysis_capability *unresolved; /* most blocking first (then
			    * most referrers, then by name) */
	size_t nunresolved;
	struct planner_analysis_stuck *stuck; /* closest to buildable first: fewest
			    * causes, then spec id */
	size_t nstuck;
	struct planner_analysis_blocker *blockers; /* most blocking first, then spec
			    * id; specs that block nothing are left out */
	size_t nblockers;
	struct sy_strv cycles; /* build cycles, "a -> b -> a" (planner_graph_cycles) */
};

/* Analyses the specs of index over graph (built from them). Returns 0, or
 * -1 with err when the graph does not belong to the index. Release a with
 * planner_analysis_release in both cases. */
int planner_analyze(const struct planner_index *index, const struct planner_graph *graph,
		    struct planner_analysis *a, struct sy_error *err);

/* Frees the analysis and zeroes it. */
void planner_analysis_release(struct planner_analysis *a);

#endif
