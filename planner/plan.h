/* The rebuild set: which specs a pipeline must build and why. It is a function
 * of two commits: a spec is rebuilt when its build key at the head differs
 * from its key at the base (its own inputs changed, or a spec whose packages
 * go into its build root was rebuilt, as its rebuild policy says), when it is
 * new, and, with `missing`, when no artifact with its key exists. Entries come
 * out in build order, each with the reason chain that put it there ("curl:
 * BuildRequires zlib-devel, from zlib: spec changed"). */
#ifndef PLANNER_PLAN_H
#define PLANNER_PLAN_H

#include <stddef.h>

#include "planner/buildkey.h"
#include "planner/graph.h"
#include "planner/index.h"
#include "common/error.h"
#include "common/strv.h"
#include "gitwatch/changeset.h"

/* Why a spec is in the rebuild set. */
enum planner_plan_why {
	PLANNER_PLAN_CHANGED,    /* its own inputs changed, or it is new */
	PLANNER_PLAN_DEPENDENCY, /* the key of a spec of its build root changed */
	PLANNER_PLAN_MISSING,    /* no artifact with its build key exists */
	PLANNER_PLAN_REQUESTED,  /* a person asked for it (planner/target.h) */
};

/* One spec to build. */
struct planner_plan_entry {
	size_t spec;     /* index into the head index */
	enum planner_plan_why why;
	size_t via;      /* DEPENDENCY: the spec whose change reached it */
	char *reason;    /* one line, the whole chain */
	int in_cycle;    /* 1 when in a build cycle that cannot be broken */
	int forced;      /* 1: built even when an artifact with its key exists
			  * (planner_target rebuild, force) */
	int blocked;     /* 1: its build root needs packages of an ignored spec
			  * of which none exist; not built, reported blocked */
	size_t blocker;  /* blocked: that ignored spec (index into the head) */
	int stale_root;  /* 1: its build root holds packages of an earlier build
			  * of an ignored spec (the published ones), directly
			  * or through entries of the plan: its build key,
			  * which names the spec's current key, does not
			  * describe this build, and its artifact must not be
			  * stored under it */
};

/* A spec whose own inputs changed, with what changed. */
struct planner_plan_change {
	size_t spec;             /* index into the head index */
	struct sy_strv reasons;  /* "spec changed", "Source0 x.tar.gz changed", "new spec" */
};

/* A spec of the base that the head no longer has. */
struct planner_plan_removal {
	char *spec;              /* spec id ("zlib") */
	char *path;              /* its path at the base */
	struct sy_strv packages; /* its binary packages, to remove from the repository */
};

/* A build dependency cycle among the rebuild set. */
struct planner_plan_cycle {
	struct sy_strv members; /* spec ids, in cycle order */
	char *broken_at;        /* spec id whose built packages break it, or NULL */
};

/* Where the packages of an ignored spec come from for the entries whose
 * build root holds them. */
enum planner_plan_packages {
	PLANNER_PACKAGES_NONE,      /* nowhere: those entries are blocked */
	PLANNER_PACKAGES_ARTIFACT,  /* the artifact of its build key */
	PLANNER_PACKAGES_PUBLISHED, /* the published repository: packages of an
				     * earlier build of it */
};

/* A spec left out on request (planner/target.h). */
struct planner_plan_ignored {
	size_t spec;                     /* index into the head index */
	enum planner_plan_packages packages;
	struct sy_strv dependents;       /* spec ids of the entries whose build
					  * root holds its packages */
};

struct planner_target_set;

/* Inputs of the planner. */
struct planner_plan_input {
	const struct planner_index *base;     /* specs at the base commit; NULL: none */
	const struct planner_keys *base_keys; /* their keys (NULL with base NULL) */
	const struct planner_index *head;     /* specs at the head commit */
	const struct planner_graph *graph;    /* graph of the head */
	const struct planner_keys *keys;      /* keys of the head */
	/* Returns 1 when an artifact with this build key exists; NULL: artifacts
	 * are not consulted (`plan` without --missing). */
	int (*has_artifact)(void *arg, const char *key);
	/* Returns 1 when the spec's packages were built before (any version), so
	 * that a build cycle through it can be broken, as the Azure Linux
	 * toolkit breaks cycles with prebuilt RPMs. NULL: never. */
	int (*has_built)(void *arg, const struct planner_spec *spec);
	void *arg;
	/* A maintainer's request resolved against head (planner/target.h): a
	 * goal plan, or the rebuild set less the ignored specs; NULL: the
	 * rebuild set. The base is not consulted for a goal plan. */
	const struct planner_target_set *target;
};

/* The plan. Release with planner_plan_release. */
struct planner_plan {
	struct planner_plan_entry *entries; /* rebuild set in build order */
	size_t n;
	struct planner_plan_change *changed; /* specs whose own inputs changed */
	size_t nchanged;
	struct planner_plan_removal *removed;
	size_t nremoved;
	struct planner_plan_cycle *cycles; /* cycles among the rebuild set */
	size_t ncycles;
	struct sy_strv broken_specs; /* "path: reason" of head specs that did not parse */
	struct planner_plan_ignored *ignored; /* specs left out on request */
	size_t nignored;
};

/* Computes the plan. Never fails on unresolved dependencies or cycles (they
 * are reported); returns 0, or -1 with err when a goal plan's graph search
 * fails (planner_target_pick). */
int planner_plan_compute(const struct planner_plan_input *in, struct planner_plan *plan,
			 struct sy_error *err);

/* Frees the plan. */
void planner_plan_release(struct planner_plan *plan);

/* Returns the directory part of a repository path, newly allocated
 * ("SPECS/zlib/zlib.spec" -> "SPECS/zlib"). */
char *planner_path_dir(const char *path);

/* Returns the index of the spec at path in index (specs are sorted by path),
 * or -1. */
long planner_index_lookup_path(const struct planner_index *index, const char *path);

#endif
