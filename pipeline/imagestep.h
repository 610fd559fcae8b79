/* The image stage of a pipeline: every image config of the commit whose
 * package closure (resolved against the channel's current repository) or
 * config changed since its last composition is composed again, with a
 * "shipyard/image/<config>" status each. */
#ifndef PIPELINE_IMAGESTEP_H
#define PIPELINE_IMAGESTEP_H

#include "planner/graph.h"
#include "planner/index.h"
#include "planner/plan.h"
#include "common/error.h"
#include "common/strv.h"
#include "gitwatch/changeset.h"
#include "gitwatch/repo.h"
#include "pipeline/status.h"

/* Inputs of the image stage. */
struct pipeline_image_step {
	struct gitwatch_repo *repo;
	const char *commit;       /* commit whose image configs are composed */
	const char *configs_dir;  /* "toolkit/imageconfigs": its *.json files */
	const char *repos_dir;    /* <state>/repos */
	const char *channel;      /* repository channel the images install from */
	const char *state_dir;    /* images go to <state>/images/<config>/<id>/ with
				   * <state>/images/<config>/latest -> <id> */
	const char *arch;         /* "x86_64" */
	struct pipeline_reporter *reporter;
};

/* What the plan stage needs to find the image configs a plan affects. */
struct pipeline_image_affected {
	struct gitwatch_repo *repo;
	const char *commit;                     /* head commit */
	const char *configs_dir;                /* "toolkit/imageconfigs" */
	const struct planner_index *index;      /* specs at the head */
	const struct planner_graph *graph;      /* their graph (runtime edges) */
	const struct planner_plan *plan;        /* the rebuild set */
	const struct gitwatch_changeset *changes; /* base..head */
};

/* Appends to out the paths of the image configs of the head that the plan
 * affects: the config or one of its package lists changed, or a package it
 * lists, or one that package Requires (through the specs' runtime edges),
 * comes from a spec of the rebuild set. A config that does not parse counts
 * as affected. Returns 0, or -1 when the configs cannot be listed. */
int pipeline_images_affected(const struct pipeline_image_affected *a, struct sy_strv *out,
			    struct sy_error *err);

/* Composes what changed. Returns 0 when every config succeeded or was
 * unchanged, 1 when some failed (their statuses say why), -1 with err set
 * when the configs cannot be listed. Nothing is composed while the channel
 * has no published repository. */
int pipeline_image_step_run(const struct pipeline_image_step *step, struct sy_error *err);

#endif
