/* One pipeline for one commit range of a distribution repository: changeset,
 * spec indexes of both commits, dependency graphs, build keys, rebuild set,
 * builds, repository publication, image composition, and a status for each
 * stage. `shipyard plan` stops after the rebuild set; `shipyard run` goes on.
 * Both take the same code path. */
#ifndef PIPELINE_PIPELINE_H
#define PIPELINE_PIPELINE_H

#include <signal.h>
#include <stdio.h>

#include "builder/rootfs.h"
#include "common/error.h"
#include "pipeline/status.h"

/* How to run a pipeline. Zero-initialise, then set what you need. */
struct pipeline_options {
	const char *repo_path;       /* the distribution's git repository (may be bare) */
	const char *from;            /* base revision; NULL: for `run` the commit the
				      * channel was last published from, for `plan`
				      * the first parent of `to`; none: empty base */
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
	const char *settings_from;   /* revision whose shipyard.conf applies to both
				      * commits (a pull request: its base branch's,
				      * so that it cannot loosen its own checks);
				      * NULL: each commit's own */
	const char *state_dir;       /* state directory (DESIGN.md "State on disk") */
	const char *channel;         /* repository channel; NULL: HEAD's branch */
	const char *arch;            /* target arch; NULL: x86_64 */
	const char *worker_manifest; /* worker root manifest (config/worker.conf) */
	const char *worker_cache;    /* cache of worker roots; NULL: <state>/worker */
	int jobs;                    /* parallel spec readers and builds; <= 0:
				      * cores */
	unsigned build_timeout_s;    /* per build; 0: none */
	unsigned long long output_limit_bytes; /* per build; 0: none */
	enum builder_root_mode root_mode; /* how build roots are made
				      * (builder/rootfs.h); 0: auto */
	int run_check;               /* 1: run %check in test builds (reported,
				      * never failing a build) */
	int plan_only;               /* 1: stop after printing the plan */
	int missing;                 /* 1: also plan specs without an artifact for
				      * their key (always on for `run`) */
	int json;                    /* 1: print the plan as JSON */
	FILE *out;                   /* where the plan is printed */
	struct pipeline_reporter *reporter; /* status backend, may be NULL */
	FILE *events;                /* when set, each job start and end is written
				      * there as a JSON line {"job": spec, "state":
				      * "running"|final state, "reason", "log",
				      * "seconds"} (for `shipyard serve`) */
	const volatile sig_atomic_t *cancel; /* when it becomes non-zero (a signal
				      * handler, a superseding push) running builds
				      * are killed, their roots cleaned, and nothing
				      * is published; NULL: never */
	int exiting;                 /* 1: the process exits right after the run: the
				      * commit views (spec indexes, graphs, keys: most
				      * of a warm plan's allocations) are left to the
				      * kernel instead of freed piece by piece, as
				      * clang's -disable-free does. Builds with
				      * AddressSanitizer free them anyway, so that
				      * leak checks keep their meaning. */
};

/* Runs the pipeline. Returns 0 when every stage succeeded, 1 when some spec or
 * image failed (the rest completed; statuses say which), or -1 with err set
 * when the pipeline could not run at all (bad repository, revision, state
 * directory). */
int pipeline_run(const struct pipeline_options *opts, struct sy_error *err);

#endif
