/* The cascade guard: a plan that would build more specs than the
 * distribution allows (shipyard.conf plan.maxrebuild, planner/distro.h)
 * waits for a person's approval instead of building. One unused macro added
 * to a distribution's macro package changes every spec's build key; the
 * guard turns that into a question before hours of builds. The Azure Linux
 * toolkit bounds the same risk with MAX_CASCADING_REBUILDS by cutting the
 * cascade after N layers, which leaves packages built against stale ones;
 * here the plan stays whole, and its size is what needs a decision.
 *
 * The report names what caused the rebuild set and how much of it each
 * cause pulls in, so that the person asked can see why it is large. */
#ifndef PLANNER_CASCADE_H
#define PLANNER_CASCADE_H

#include <stddef.h>

#include "planner/plan.h"

/* What put specs into a rebuild set. */
enum planner_cascade_kind {
	PLANNER_CASCADE_GLOBAL,  /* the global inputs changed (macro context,
				  * arch, worker root): every spec's key */
	PLANNER_CASCADE_SPEC,    /* a spec's own inputs changed, or it is new */
	PLANNER_CASCADE_MISSING, /* specs whose key did not change but that have
				  * no artifact for it */
};

/* One cause, with how much of the rebuild set it accounts for. Causes
 * overlap: a spec rebuilt for two reasons counts for both. */
struct planner_cascade_cause {
	enum planner_cascade_kind kind;
	size_t spec;  /* SPEC: the spec whose own inputs changed (index into the
		       * head index); else unused */
	size_t count; /* entries of the plan it puts there. GLOBAL: every entry
		       * whose key changed; SPEC: the spec itself and every entry
		       * whose build root holds its packages through entries of
		       * the plan, transitively (build order; members of an
		       * unbroken cycle may be undercounted); MISSING: the
		       * entries planned for a missing artifact */
};

/* The guard's verdict on one plan. Zero-initialise; release with
 * planner_cascade_release. */
struct planner_cascade {
	size_t limit;          /* plan.maxrebuild; 0: no limit */
	size_t to_build;       /* entries of the plan with no artifact for their
				* build key: what would really be built */
	int needs_approval;    /* 1 when limit > 0 and to_build > limit */
	struct planner_cascade_cause *causes; /* biggest first (count, then GLOBAL,
				* then spec id); set only when needs_approval */
	size_t ncauses;
};

/* Returns 1 when an artifact with build key key exists. */
typedef int (*planner_artifact_fn)(void *arg, const char *key);

/* Judges plan, computed from in, against limit (0: never needs approval).
 * has_artifact (NULL: no artifact exists) tells which entries would be
 * reused rather than built: a plan whose builds were made already (a pull
 * request's, now merged) needs no approval again. Fills *out; never fails.
 * Release with planner_cascade_release. */
void planner_cascade_check(const struct planner_plan_input *in, const struct planner_plan *plan,
			   size_t limit, planner_artifact_fn has_artifact, void *arg,
			   struct planner_cascade *out);

/* Frees the causes and zeroes c. */
void planner_cascade_release(struct planner_cascade *c);

#endif
