/* Shared between the files of the pipeline (pipeline.c, publishstep.c)
 * only; the rest of shipyard uses pipeline/pipeline.h. */
#ifndef PIPELINE_PIPELINE_PRIVATE_H
#define PIPELINE_PIPELINE_PRIVATE_H

#include <stddef.h>
#include <time.h>

#include "planner/buildkey.h"
#include "planner/distro.h"
#include "planner/graph.h"
#include "planner/index.h"
#include "planner/plan.h"
#include "builder/schedule.h"
#include "builder/worker.h"
#include "common/error.h"
#include "common/strv.h"
#include "gitwatch/changeset.h"
#include "gitwatch/repo.h"
#include "pipeline/pipeline.h"

/* One commit, read: its settings, specs, graph and build keys. */
struct commit_view {
	char oid[GITWATCH_OID_HEX + 1];
	struct planner_distro distro;
	struct planner_index index;
	struct planner_graph graph;
	int has_graph;                 /* graph is built */
	struct planner_keys keys;
};

/* Everything one pipeline works with; lives for the duration of the run. */
struct pipeline {
	const struct pipeline_options *opts;
	struct gitwatch_repo *repo;
	char *channel;
	char *repos_dir;                  /* <state>/repos */
	char *published_dir;              /* the channel's current snapshot, or NULL */
	struct sy_strv published;         /* its RPMs */
	struct sy_strv toolchain;         /* capabilities of the worker root */
	struct builder_worker_manifest worker;
	char *worker_root;
	char *worker_tarball; /* set when build roots are extracted */
	int has_base;
	char settings_oid[GITWATCH_OID_HEX + 1]; /* options.settings_from resolved,
					 * "" when each commit uses its own */
	struct commit_view base, head;
	struct gitwatch_changeset changes;
	struct planner_plan plan;
	struct sy_strv images;            /* image configs the plan affects */
	struct sy_strv global;            /* global inputs that changed */
	struct builder_job_result *results;
	time_t started;
};

/* Returns the part of path after its last '/'. */
const char *pipeline_basename(const char *path);

/* Returns "<state>/<rel>", newly allocated. */
char *pipeline_state_path(const struct pipeline *p, const char *rel);

/* Returns the commit the channel was last published from (caller frees),
 * or NULL. */
char *pipeline_read_published_commit(const struct pipeline *p);

/* Appends the published RPMs of spec's packages (matched by name: the
 * published NEVRA may be older than the spec) to set (may be NULL); returns
 * how many. */
size_t pipeline_published_of(const struct pipeline *p, const struct planner_spec *spec,
			     struct sy_strv *set);

/* Links the keys of specs built with late-resolved BuildRequires, as the
 * next plan computes them, to their artifacts (pipeline.c). Returns 0 or -1. */
int pipeline_alias_learned_keys(struct pipeline *p, const char *snapshot, struct sy_error *err);

/* Publishes the head's package set to the channel under its lock, records
 * the commit, links learned keys. Returns 0 or -1 (publishstep.c). */
int pipeline_publish_stage(struct pipeline *p, struct sy_error *err);

#endif
