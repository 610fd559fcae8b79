/* Shared between the files of pipeline/ only: the state of one run, and the
 * stages pipeline.c calls in order. The rest of shipyard uses
 * pipeline/pipeline.h. */
#ifndef PIPELINE_PIPELINE_PRIVATE_H
#define PIPELINE_PIPELINE_PRIVATE_H

#include <stddef.h>
#include <time.h>

#include "builder/schedule.h"
#include "builder/worker.h"
#include "common/error.h"
#include "common/strv.h"
#include "gitwatch/changeset.h"
#include "gitwatch/repo.h"
#include "imager/stage.h"
#include "pipeline/imagereport.h"
#include "pipeline/pipeline.h"
#include "planner/cascade.h"
#include "planner/commit.h"
#include "planner/plan.h"
#include "planner/target.h"
#include "state/retention.h"

/* Everything one run works with; lives for the duration of the run. */
struct pipeline {
	const struct pipeline_options *opts;
	int stages;                       /* PIPELINE_* bits of this run */
	const char *state;                /* opts->state_dir */
	struct gitwatch_repo *repo;
	char *channel;                    /* where it publishes */
	char *base_channel;               /* options.base_channel as a channel
					   * name, or NULL */
	const char *read_channel;         /* the channel the run reads: channel,
					   * or base_channel while channel has
					   * no current snapshot */
	char *run_id;                     /* <state>/pipelines/<run_id>/ */
	char *run_dir;                    /* that directory */
	char *logs_dir;                   /* its logs/ (job and image logs) */
	char *published_dir;              /* read_channel's current snapshot, or NULL */
	struct sy_strv published;         /* its RPMs */
	struct sy_strv toolchain;         /* capabilities of the worker root */
	struct builder_worker_manifest worker;
	struct sy_strv worker_rpms;       /* an rpm root's RPM files, for the
					   * parse-time rpmdb */
	char *worker_root;
	char *worker_tarball;             /* set when build roots are extracted */
	char config_oid[GITWATCH_OID_HEX + 1]; /* options.settings_from resolved,
					  * "" when each commit uses its own */
	struct planner_commit_settings settings; /* how both commits are read */
	int has_base;
	struct planner_commit base, head;
	struct gitwatch_changeset changes;
	struct planner_plan plan;
	struct planner_cascade cascade;   /* the guard's verdict on plan */
	struct planner_target_set target; /* a maintainer's request (specs,
					  * packages, image config, rebuild,
					  * ignore) resolved, when has_target */
	int has_target;
	struct sy_strv images;            /* image configs the plan affects */
	struct sy_strv global;            /* global inputs that changed */
	struct builder_job_result *results; /* parallel to plan.entries, or NULL */
	struct sy_strv image_configs;     /* configs the image stage composed or
					   * found unchanged (a release's images) */
	struct sy_strv image_builds;      /* ... and the build each came to */
	struct sy_strv failed_images;     /* configs whose image failed */
	struct pipeline_image_report image_jobs; /* the image jobs, as
					   * <run>/images.json records them */
	struct state_holds holds;         /* what the run reads and a collection
					   * must leave (pipeline/gc.h): its run
					   * directory, the snapshots it reads */
	time_t started;
	time_t read_told;        /* when spec reading progress was last logged */
};

/* With SHIPYARD_TIMING set, says how long a step took since since (seconds
 * of sy_now_s), naming the commit (may be ""). */
void pipeline_timing(const char *what, const char *commit, double since);

/* Returns 1 when the options name a goal (specs, packages, an image config,
 * specs to rebuild): the plan is that goal's, from no base. */
int pipeline_has_goal(const struct pipeline_options *o);

/* The plan stage (planstage.c): reads both commits, the changeset, computes
 * the plan, the changed global inputs and the affected image configs, prints
 * the plan and keeps it as plan.json of the run. Returns 0, or -1 with err. */
int pipeline_plan_stage(struct pipeline *p, struct sy_error *err);

/* Reads the head alone (settings, index, graph, keys): for runs without the
 * plan stage. Returns 0 or -1 with err. */
int pipeline_read_head(struct pipeline *p, struct sy_error *err);

/* Returns 1 when the plan cannot be built as it is: specs that do not parse,
 * build cycles that cannot be broken, or the cascade guard holds it. */
int pipeline_plan_failed(const struct pipeline *p);

/* Returns 1 when the cascade guard holds the plan: more specs to build than
 * plan.maxrebuild and no --approve. Nothing after the plan stage runs. */
int pipeline_plan_held(const struct pipeline *p);

/* The build stage (buildstage.c): worker root, builds, reports, the
 * shipyard/build status. Returns the number of failed, blocked and skipped
 * jobs, or (size_t)-1 with err when it could not run. */
size_t pipeline_build_stage(struct pipeline *p, struct sy_error *err);

/* Links the keys of specs built with late-resolved BuildRequires, as the
 * next plan computes them, to their artifacts, once snapshot (the channel's
 * new snapshot, or NULL: nothing to do) is published. Returns 0 or -1. */
int pipeline_alias_learned_keys(struct pipeline *p, const char *snapshot, struct sy_error *err);

/* Notes what the image stage came to for config (release.c): the build
 * its latest names once composed or unchanged, or that it failed; what a
 * release holds and why one is skipped. */
void pipeline_release_note_image(struct pipeline *p, const char *config,
				 enum imager_outcome outcome);

/* Once the stages ran (release.c), makes the release options.release
 * names (<state>/releases/<release_repo>/<release>/)
 * from the channel's current snapshot and the image builds noted, or
 * records why it is skipped: outcome is what the stages returned (1: some
 * build or image failed, or the plan is held; -1: stage_err says why), or
 * nothing changed since the channel's last release. A run cancelled
 * records nothing (the service says why). Failures are logged, never
 * change the run's outcome. */
void pipeline_release_stage(struct pipeline *p, int outcome, const struct sy_error *stage_err);

/* Progress of the build stage (progress.c): a live line on a terminal, log
 * lines elsewhere, and JSON job events for the service. arg is the
 * pipeline. */
void pipeline_progress(void *arg, const struct builder_progress *pr);

/* Tells `shipyard serve` (options.events; nothing when it is not set) that
 * the cascade guard held the plan, with line (the guard's verdict,
 * pipeline_plan_cascade_line): one JSON line {"approval": "needed",
 * "to_build": N, "limit": M, "description": line}, so that the service can
 * offer the approval without reading the status text. */
void pipeline_event_held(struct pipeline *p, const char *line);

/* Tells `shipyard serve` (options.events) where image job j stands: the
 * same JSON line as a build job's, {"job": "image/<config>", "state",
 * "reason": the stage's text, "log", "seconds"} (reason, log and seconds
 * once it ended). */
void pipeline_event_image_job(struct pipeline *p, const struct pipeline_image_job *j);

/* Spec reading progress (planner_read_progress.fn, arg the pipeline): on
 * a terminal one line rewritten in place (read/total, elapsed), elsewhere a
 * log line every 10 s and at the end. */
void pipeline_read_progress(void *arg, size_t done, size_t total);

#endif
