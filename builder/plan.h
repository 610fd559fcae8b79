/* The rebuild set: which specs a pipeline must build and why. Issue rules
 * (foundation): a spec is in the set when a file of its directory changed,
 * when it BuildRequires (transitively) a package of a spec in the set, or when
 * its packages are not yet in the repository. Entries come out in build order
 * (every spec after the specs it BuildRequires), each with the reason chain
 * that put it there. */
#ifndef BUILDER_PLAN_H
#define BUILDER_PLAN_H

#include <stddef.h>

#include "builder/graph.h"
#include "builder/spec.h"
#include "common/error.h"
#include "common/strv.h"
#include "gitwatch/changeset.h"

/* Why a spec is in the rebuild set. */
enum builder_plan_why {
	BUILDER_PLAN_CHANGED,       /* a file of its spec directory changed */
	BUILDER_PLAN_DEPENDENCY,    /* it BuildRequires a package of a spec in the set */
	BUILDER_PLAN_NOT_PUBLISHED, /* its packages are not in the repository */
};

/* One spec to build. */
struct builder_plan_entry {
	size_t spec;              /* index into the plan's specs */
	enum builder_plan_why why;
	size_t via;               /* for DEPENDENCY: the spec in the set it depends on */
	char *reason;             /* one line: "SPECS/zlib/zlib.spec changed",
				   * "BuildRequires zlib-devel (zlib: SPECS/zlib/zlib.spec changed)",
				   * "packages not in the repository" */
	int in_cycle;             /* 1 when it is part of a build dependency cycle */
};

/* Inputs of the planner. */
struct builder_plan_input {
	const struct builder_spec *specs; /* specs at the head commit */
	size_t nspecs;
	const struct builder_graph *graph;
	const struct gitwatch_changeset *changes; /* base..head, may be NULL */
	/* Returns 1 when every package of specs[spec] is in the repository. NULL:
	 * nothing is published yet. */
	int (*published)(void *arg, const struct builder_spec *spec);
	void *arg;
	const struct sy_strv *force; /* spec names built regardless (previous
				      * failures), may be NULL */
};

/* The plan. Release with builder_plan_release. */
struct builder_plan {
	struct builder_plan_entry *entries; /* rebuild set in build order */
	size_t n;
	struct sy_strv changed_specs;  /* repository paths of changed specs */
	struct sy_strv removed_specs;  /* repository paths of deleted .spec files */
	struct sy_strv changed_images; /* changed files under toolkit/imageconfigs */
	struct sy_strv cycles;         /* "a -> b -> a", members are entries with in_cycle */
	struct sy_strv broken_specs;   /* "path: reason" of specs that did not parse */
};

/* Computes the plan. Never fails on unresolved dependencies or cycles (they
 * are reported); returns 0, or -1 with err set on internal errors. */
int builder_plan_compute(const struct builder_plan_input *in, struct builder_plan *plan,
			 struct sy_error *err);

/* Frees the plan. */
void builder_plan_release(struct builder_plan *plan);

/* Returns the directory part of a repository path, newly allocated
 * ("SPECS/zlib/zlib.spec" -> "SPECS/zlib"). */
char *builder_path_dir(const char *path);

#endif
