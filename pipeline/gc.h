/* Collecting what the state directory no longer needs, by the limits of
 * state/retention.h: each channel's snapshots past its limit, image builds
 * and pipeline run directories past theirs. `shipyard gc` runs it, and the
 * service every retention.interval seconds (server/serveconf.h).
 *
 * Never removed, whatever the limits say:
 *   - a channel's current snapshot;
 *   - what a running process holds (state_hold_dir): the snapshots a
 *     pipeline reads (its learn snapshot, its base channel's, the
 *     channel:NAME repositories of its worker root), its run directory,
 *     the snapshot and image builds a release is being made from;
 *   - for every cached rpm worker root built from a channel:NAME
 *     repository, the newest snapshot of NAME that holds every one of its
 *     packages that came from NAME (by SHA-256): the one it can be made
 *     again from;
 *   - an image config's latest build;
 *   - a snapshot a release of an older shipyard links to (release.json
 *     names its path); releases themselves are copies (hard links) and
 *     never collected.
 * Removal is a rename into <state>/trash, then a delete
 * (state_trash_move), under the channel's lock for snapshots. Last, the
 * signed copies of packages (repo-publish/sign.h) that no snapshot or
 * release links to any more are removed, under every channel's lock; and
 * the values of the plan's kv store (state/kv.h) neither stored nor read
 * for limits->cache_days (state_kv_collect). */
#ifndef PIPELINE_GC_H
#define PIPELINE_GC_H

#include "common/error.h"
#include "common/strv.h"
#include "state/retention.h"

/* What to collect. Nothing is owned. */
struct pipeline_gc_request {
	const char *state;                    /* the state directory */
	const struct state_retention *limits; /* what to keep */
	const char *const *worker_caches;     /* NULL-terminated worker root caches
					       * besides <state>/worker whose rpm
					       * roots keep snapshots; may be NULL */
	int wait;                             /* 1: wait for another collection and
					       * for publications of a channel; 0:
					       * skip them (the service) */
};

/* What a collection did, one line per thing. Release with
 * pipeline_gc_report_release. */
struct pipeline_gc_report {
	struct sy_strv removed; /* "snapshot main/20240101T030000Z", "image
				 * core/20240101T030000Z", "pipeline 12" */
	struct sy_strv kept;    /* what the limits alone would remove, and why
				 * it stays: "snapshot main/20240101T030000Z:
				 * held by a running pipeline or release" */
	struct sy_strv skipped; /* "channel main: a publication is running" */
};

#define PIPELINE_GC_REPORT_INIT { SY_STRV_INIT, SY_STRV_INIT, SY_STRV_INIT }

/* Collects req->state by req->limits into rep (appended): under
 * <state>/gc.lock, empties the trash (what a crashed collection left),
 * moves what may go to the trash, and empties it again. Returns 0, -2
 * when req->wait is 0 and another collection runs (nothing done), or -1
 * with err naming the first thing that could not be removed (the others
 * are still tried). */
int pipeline_gc_run(const struct pipeline_gc_request *req, struct pipeline_gc_report *rep,
		    struct sy_error *err);

/* Frees what rep holds. */
void pipeline_gc_report_release(struct pipeline_gc_report *rep);

#endif
