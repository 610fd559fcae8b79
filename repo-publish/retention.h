/* Retention of a channel's snapshots (repo-publish/publish.h has the
 * layout): the channel's lock, which publications and collections share,
 * holding the current snapshot while it is read, and removing the
 * snapshots past the channel's limit (state/retention.h has the rule, the
 * holds and the trash). */
#ifndef REPO_PUBLISH_RETENTION_H
#define REPO_PUBLISH_RETENTION_H

#include "common/error.h"
#include "common/strv.h"
#include "state/retention.h"

/* Takes the lock of channel, <state>/repos/<channel>.lock (an exclusive
 * flock; repo_publish_commit holds it while it publishes). wait 1 waits for
 * the holder, 0 does not. Returns the locked fd (release with close), -2
 * when wait is 0 and someone holds it, -1 with err ("<path>: cannot lock:
 * ..."). */
int repo_publish_lock_channel(const char *state, const char *channel, int wait,
			      struct sy_error *err);

/* Resolves the current snapshot of channel and holds it (state_hold_dir)
 * so that no collection removes it while the caller reads it; resolves
 * again when the snapshot it found was removed before the hold was taken.
 * Returns 1 with *snapshot its absolute path (caller frees) and the hold
 * added to holds, 0 with *snapshot NULL when the channel was never
 * published, -1 with err. */
int repo_publish_hold_current(const char *state, const char *channel, char **snapshot,
			      struct state_holds *holds, struct sy_error *err);

/* A snapshot that stays whatever the limits say, and why. */
struct repo_publish_keep {
	char *id;  /* snapshot id ("20240101T030000Z") */
	char *why; /* "worker root 93defe8f6eb7 was built from it" */
};

/* What repo_publish_gc_channel did. Release with
 * repo_publish_gc_result_release. */
struct repo_publish_gc_result {
	struct sy_strv removed; /* ids of the snapshots moved to the trash */
	struct sy_strv kept;    /* "<id>: <why>" for each snapshot the limits
				 * alone would have removed */
};

/* Removes the snapshots of channel that limit (state_retention_select,
 * times from the ids) leaves, under the channel's lock (waiting for a
 * publication when wait is 1, else returning -2 at once when one runs):
 * never the current one, one of keep[0..nkeep), or one held by a reader
 * (state_hold_dir: a running pipeline, a release being made). Each removed
 * snapshot is moved to <state>/trash (state_trash_move); the caller empties
 * the trash. Adds to res. Returns 0, -2 (busy, nothing done), or -1 with
 * err (the snapshots not reached stay). */
int repo_publish_gc_channel(const char *state, const char *channel,
			    const struct state_retention_limit *limit,
			    const struct repo_publish_keep *keep, size_t nkeep, int wait,
			    struct repo_publish_gc_result *res, struct sy_error *err);

/* Frees what res holds. */
void repo_publish_gc_result_release(struct repo_publish_gc_result *res);

#endif
