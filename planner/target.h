/* Maintainer targeting: planning part of a distribution on request, as the
 * Azure Linux toolkit chooses its build goal from PACKAGE_BUILD_LIST,
 * PACKAGE_REBUILD_LIST, PACKAGE_IGNORE_LIST and CONFIG_FILE
 * (toolkit/tools/scheduler/schedulerutils/buildlist.go).
 *
 * The goal is the specs named, the specs building the packages named, the
 * specs building an image config's packages, and the specs to rebuild. A
 * goal plan holds the goal and every spec the goal needs that has no
 * artifact for its build key: "needs" is the toolkit's goal subgraph, what
 * depsearch --reverse finds over build and runtime edges (planner/depsearch.h),
 * so that every build root and every image of the goal can be installed.
 * A spec whose artifact exists is not built again, as the toolkit skips a
 * node whose RPMs exist; a spec to rebuild is, even then. Rebuilding one
 * does not cascade to its dependents as the toolkit's freshness does: their
 * build keys are unchanged, and equal key means equal build.
 *
 * An ignored spec is never built, with or without a goal, so what it needs
 * to build is not needed on its account; what its packages need at runtime
 * still is. The specs of the
 * plan whose build root holds its packages build with what exists of them
 * (the artifact of its build key, else the published repository's); when
 * neither exists they are blocked rather than failed, and the plan says
 * which (planner_plan.ignored). An entry built with the published packages
 * (an earlier build of the ignored spec) is marked stale_root, as is every
 * entry whose build root holds it: its build key names the ignored spec's
 * current key, so its artifact must be kept under another. */
#ifndef PLANNER_TARGET_H
#define PLANNER_TARGET_H

#include <stddef.h>

#include "planner/plan.h"
#include "common/error.h"
#include "common/strv.h"

/* A request. Lists are NULL-terminated, or NULL for none. Nothing is
 * owned. Zero-initialise, then set. */
struct planner_target {
	const char *const *specs;    /* spec ids (planner_spec_id) to build */
	const char *const *packages; /* binary package names whose specs to build */
	const char *const *image_packages; /* what an image config lists ("name",
				      * "name = 1.2-3", "name>=1"): the specs
				      * building those names; names no spec
				      * builds come from elsewhere and are left
				      * out, as the toolkit keeps only local
				      * packages */
	const char *const *rebuild;  /* spec ids, else package names (the toolkit
				      * tries the spec name first): built even
				      * when an artifact with their key exists;
				      * part of the goal */
	const char *const *ignore;   /* spec ids, else package names: never built */
	int force;                   /* 1: every goal spec is rebuilt (--force) */
};

/* A request resolved against one head index. Release with
 * planner_target_set_release. */
struct planner_target_set {
	size_t nspecs;            /* specs of the head index */
	unsigned char *goal;      /* per spec: 1 when in the goal */
	unsigned char *forced;    /* per spec: 1 when rebuilt even with an artifact */
	unsigned char *ignored;   /* per spec: 1 when never built */
	int has_goal;             /* 1: specs, packages, image packages or rebuild
				   * were given: only the goal and what it needs
				   * are planned (even when the goal is empty);
				   * 0: the rebuild set, less the ignored specs */
	struct sy_strv unknown_ignored; /* ignore names that match no spec or
				   * package: the toolkit only warns about them */
};

/* Resolves t against head. Returns 0, or -1 with err when a name of specs,
 * packages or rebuild matches nothing ("unknown specs: a, b", "unknown
 * package: x", "unknown spec or package to rebuild: y"), or when a spec is
 * both to rebuild and ignored ("x: both to rebuild and ignored"), as the
 * toolkit refuses both. Release set with planner_target_set_release in
 * both cases. */
int planner_target_resolve(const struct planner_index *head, const struct planner_target *t,
			   struct planner_target_set *set, struct sy_error *err);

/* Frees the set and zeroes it. */
void planner_target_set_release(struct planner_target_set *set);

/* Why a spec is in a goal plan. */
struct planner_target_pick {
	int pick;                 /* 1: in the plan */
	enum planner_plan_why why;  /* REQUESTED or MISSING */
	char *reason;             /* owned: "requested", "requested, rebuilt even
				   * if built", "no artifact for its build key,
				   * needed by hello (BuildRequires libgreet-devel)" */
};

/* Picks the specs of the goal plan of in (in->target must be set with
 * has_goal): picks has one zeroed entry per head spec; the caller frees
 * every reason. Excluded and ignored specs are never picked. With
 * in->has_artifact NULL every spec the goal needs is picked. Returns 0, or
 * -1 with err (the graph search failed). */
int planner_target_pick(const struct planner_plan_input *in, struct planner_target_pick *picks,
			struct sy_error *err);

/* Marks the entries of plan (computed from in, in->target set, in build
 * order) that the ignored specs block or make stale_root, and lists every
 * ignored spec in plan->ignored with where its packages come from and which
 * entries need them. */
void planner_target_mark_ignored(const struct planner_plan_input *in, struct planner_plan *plan);

#endif
