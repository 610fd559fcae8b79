/* One pipeline for one commit range of a distribution repository, the
 * stages in order: plan (changeset, both commits read, rebuild set), build,
 * publish, images, with a status for each. `shipyard run` runs every stage;
 * `shipyard plan`, `shipyard build`, `shipyard publish` and `shipyard image`
 * run some of them on the same code path. Each run keeps its reports in its
 * own directory, <state>/pipelines/<run id>/ (state/layout.h). */
#ifndef PIPELINE_PIPELINE_H
#define PIPELINE_PIPELINE_H

#include <signal.h>
#include <stdio.h>

#include "builder/executor.h"
#include "builder/rootfs.h"
#include "common/error.h"
#include "pipeline/status.h"

struct repo_s3_config;

/* The stages a run goes through (bits of pipeline_options.stages). */
enum {
	PIPELINE_PLAN = 1 << 0,    /* read both commits, compute and print the plan */
	PIPELINE_BUILD = 1 << 1,   /* build the plan's specs (needs PLAN) */
	PIPELINE_PUBLISH = 1 << 2, /* publish the head's package set to the channel */
	PIPELINE_IMAGES = 1 << 3,  /* compose the head's images from the channel */
	PIPELINE_ALL = PIPELINE_PLAN | PIPELINE_BUILD | PIPELINE_PUBLISH | PIPELINE_IMAGES,
};

/* How to run a pipeline. Zero-initialise, then set what you need. */
struct pipeline_options {
	int stages;                  /* PIPELINE_* bits; 0: PIPELINE_ALL */
	const char *repo_path;       /* the distribution's git repository (may be bare) */
	const char *from;            /* base revision; NULL: with PIPELINE_BUILD the
				      * commit the channel was last published from,
				      * else the first parent of `to`; none: empty base */
	const char *to;              /* head revision; NULL: HEAD */
	int merge_base;              /* 1: the base is the merge base of from and to
				      * (pull requests) */
	const char *const *spec_trees; /* NULL-terminated spec trees replacing the
				      * repository's (shipyard.conf distro.spectree);
				      * NULL: the repository's */
	const char *imageconfigs;    /* image config directory replacing the
				      * repository's; NULL: the repository's */
	const char *rebuild_policy;  /* default rebuild policy replacing the
				      * repository's ("transitive", "direct",
				      * "local", "layers=N"); NULL: the repository's */
	const char *const *source_urls; /* NULL-terminated source URLs or
				      * templates asked before the repository's
				      * sources.url (docs/pipeline.md, "Sources");
				      * NULL: none */
	const char *settings_from;   /* revision whose shipyard.conf applies to both
				      * commits (a pull request: its base branch's,
				      * so that it cannot loosen its own checks);
				      * NULL: each commit's own */
	const char *state_dir;       /* state directory (state/layout.h) */
	const char *run_id;          /* this run's directory under <state>/pipelines
				      * (the service's pipeline number); NULL: a new
				      * id (state_pipeline_id_new) */
	const char *channel;         /* repository channel; NULL: HEAD's branch */
	const char *base_channel;    /* channel the run reads while `channel` has
				      * no published snapshot yet (a pull
				      * request's: its base branch's), so that it
				      * resolves as the base would: provides
				      * learned from its repodata, RPMs of specs
				      * not rebuilt and for late-resolved
				      * BuildRequires, the base revision when
				      * `from` is NULL, and the packages the first
				      * publication keeps for specs without a
				      * build. Never written to. NULL: none */
	const char *sign_key;        /* with PIPELINE_PUBLISH: file of the OpenPGP
				      * secret key that signs the packages and
				      * repodata (repo-publish/sign.h); NULL:
				      * published unsigned */
	const char *arch;            /* target arch; NULL: x86_64 */
	const char *worker_manifest; /* worker root manifest (config/worker.conf) */
	const char *worker_cache;    /* cache of worker roots; NULL: <state>/worker */
	int jobs;                    /* parallel spec readers and builds; <= 0:
				      * cores */
	const struct builder_executor_config *executor; /* where builds run
				      * (builder/executor.h); its jobs_dir NULL:
				      * <state>/cluster. NULL: local */
	unsigned build_timeout_s;    /* per build; 0: none */
	unsigned long long output_limit_bytes; /* per build; 0: none */
	enum builder_root_mode root_mode; /* how build roots are made
				      * (builder/rootfs.h); 0: auto */
	int run_check;               /* 1: run %check in test builds (reported,
				      * never failing a build) */
	const struct repo_s3_config *s3; /* with PIPELINE_PUBLISH: the bucket the
				      * channel's current snapshot is uploaded
				      * to once it is published (repo-publish/
				      * s3.h); a failed upload fails the run,
				      * the local snapshot stays current. NULL:
				      * none */
	int missing;                 /* 1: also plan specs without an artifact for
				      * their key (always on with PIPELINE_BUILD) */
	const char *const *specs;    /* plan and build only these specs (spec ids,
				      * NULL-terminated), each whatever its base,
				      * and what they need that has no artifact
				      * (planner/target.h); NULL: the rebuild set.
				      * A publication alone: the specs the
				      * channel holds */
	const char *const *packages; /* the same, naming binary packages */
	const char *image_config;    /* the same for the packages an image config
				      * lists (its name or repository path) */
	const char *const *rebuild;  /* spec ids or package names built even when
				      * an artifact with their key exists; they
				      * join the goal as specs does */
	const char *const *ignore;   /* spec ids or package names never built; the
				      * specs needing them use what exists of
				      * their packages or are blocked */
	const char *const *image_configs; /* with PIPELINE_IMAGES: only these
				      * configs (names without .json); NULL: all */
	int force;                   /* 1: rebuild every spec of the goal (specs,
				      * packages, image_config) even when an
				      * artifact with their key exists, recompose
				      * images even when unchanged */
	int approve;                 /* 1: build a plan the cascade guard holds
				      * (more specs to build than shipyard.conf's
				      * plan.maxrebuild); 0: such a plan is
				      * reported and nothing is built, published
				      * or composed (planner/cascade.h) */
	int json;                    /* 1: print the plan as JSON */
	FILE *out;                   /* where the plan is printed */
	struct pipeline_reporter *reporter; /* status backend, may be NULL */
	FILE *events;                /* when set, each job start and end is written
				      * there as a JSON line {"job": spec, "state":
				      * "running"|final state, "reason", "log",
				      * "seconds"}, and a plan the cascade guard
				      * holds as {"approval": "needed", "to_build",
				      * "limit", "description"} (for `shipyard
				      * serve`) */
	const volatile sig_atomic_t *cancel; /* when it becomes non-zero (a signal
				      * handler, a superseding push) running builds
				      * are killed, their roots cleaned, and nothing
				      * is published; NULL: never */
	const char *release;         /* make a release of this name (one path
				      * component): <state>/releases/
				      * <release_repo>/<release>/ from the
				      * channel's snapshot and images once the
				      * stages succeeded, or a record of why it
				      * was skipped (pipeline/release.c);
				      * NULL: none */
	const char *release_repo;    /* the repository's name in releases/ */
	int exiting;                 /* 1: the process exits right after the run: the
				      * commits read (spec indexes, graphs, keys:
				      * most of a warm plan's allocations) are left
				      * to the kernel instead of freed piece by
				      * piece, as clang's -disable-free does. Builds
				      * with AddressSanitizer free them anyway, so
				      * that leak checks keep their meaning. */
};

/* Runs the pipeline. Returns 0 when every stage run succeeded, 1 when some
 * spec or image failed (the rest completed; statuses say which) or the
 * cascade guard holds the plan for approval (shipyard/plan failure naming
 * the count and the biggest causes; nothing ran after the plan), or -1 with
 * err set when the pipeline could not run at all (bad repository, revision,
 * state directory, an unknown spec, package or image config name). */
int pipeline_run(const struct pipeline_options *opts, struct sy_error *err);

#endif
