/* Retention of what the state directory accumulates (channel snapshots,
 * image builds, pipeline run directories): the rule that picks what to
 * remove, the holds that keep a directory in use from being removed, and
 * the trash that makes a removal crash-safe.
 *
 * A removal is a rename(2) of the directory into <state>/trash/ (readers
 * see it at its name or not at all, never half deleted), then a recursive
 * delete of the trash; what a crash leaves in the trash is deleted by the
 * next collection. A process that reads a directory for a while (a pipeline
 * its learn snapshot, a release the snapshot it copies) holds it with
 * state_hold_dir: a shared flock(2) on the directory itself, which
 * state_trash_move's exclusive, non-blocking flock respects. The kernel
 * drops the lock when the holder exits, however it exits. */
#ifndef STATE_RETENTION_H
#define STATE_RETENTION_H

#include <stddef.h>
#include <time.h>

#include "common/error.h"

/* How many of one kind of thing to keep. A thing is removed when it is
 * past the newest keep or older than max_age_days, and nothing keeps it
 * (state_retention_item.kept_by). */
struct state_retention_limit {
	unsigned keep;         /* the newest keep are kept by count; 0: no count limit */
	unsigned max_age_days; /* older than this many days (24 h each) is
				* removed; 0: no age limit */
};

/* What the service configuration's [retention] section says
 * (server/serveconf.h) and `shipyard gc` applies. */
struct state_retention {
	struct state_retention_limit snapshots; /* per channel */
	struct state_retention_limit images;    /* builds per image config */
	struct state_retention_limit pipelines; /* run directories (logs, reports) */
	unsigned cache_days; /* kv store values (state/kv.h) neither stored nor
			      * read for this many days are removed; 0: never */
};

/* Defaults: 10 snapshots per channel, 5 builds per image config, 200
 * pipeline runs, no age limit; cache values unused for 14 days. */
#define STATE_RETENTION_DEFAULTS { { 10, 0 }, { 5, 0 }, { 200, 0 }, 14 }

/* One thing the rule decides about. */
struct state_retention_item {
	const char *name;    /* the caller's name for it; ties in time are
			      * ordered by name, the greater one newer,
			      * digits compared as numbers (snapshot ids are
			      * UTC times, "...Z.1" for the second of a
			      * second) */
	time_t time;         /* when it was made, seconds since the epoch */
	const char *kept_by; /* why it stays whatever the limits say ("the
			      * channel's current snapshot"), or NULL */
};

/* The rule: ranks items newest first (by time, then name) and sets
 * remove[i] to 1 for each item that is past the newest limit->keep (when
 * keep > 0) or older than limit->max_age_days at now (when > 0), and has
 * no kept_by; 0 for the others. An item kept by a reference still counts
 * towards keep: keep 2 with the newest item referenced keeps it and one
 * more. Returns how many are to be removed. */
size_t state_retention_select(const struct state_retention_item *items, size_t n,
			      const struct state_retention_limit *limit, time_t now,
			      unsigned char *remove);

/* When the thing named id at path was made: the UTC time id starts with
 * ("YYYYMMDDTHHMMSSZ", as snapshot and image build ids do, followed by
 * nothing or '.'), else path's modification time, else 0. */
time_t state_retention_time(const char *id, const char *path);

/* Held directories; the holds last until state_holds_release. */
struct state_holds {
	int *fds;   /* open directories, each with a shared flock */
	size_t n;
};

#define STATE_HOLDS_INIT { NULL, 0 }

/* Holds the directory at path (a snapshot, an image build, a run
 * directory) against state_trash_move: opens it, takes a shared flock
 * (waiting while a collector holds it exclusively, which lasts one
 * rename), then checks that path still names the same directory (a
 * collector may have moved it to the trash in between). Returns 1 with the
 * hold added to holds, 0 when path is not (or no longer) a directory, -1
 * with err when it cannot be opened or locked for another reason. */
int state_hold_dir(const char *path, struct state_holds *holds, struct sy_error *err);

/* Ends every hold of holds (closes the directories) and empties it. */
void state_holds_release(struct state_holds *holds);

/* Moves the directory path into <state>/trash/ under a new unique name,
 * unless someone holds it: takes an exclusive flock without waiting, then
 * renames. path must be on the state directory's filesystem. Returns 1
 * when moved, 0 when held (nothing done) or already gone, -1 with err
 * ("<path>: cannot move to the trash: ..."). */
int state_trash_move(const char *state, const char *path, struct sy_error *err);

/* Deletes everything in <state>/trash/ (what state_trash_move put there,
 * and what a collection that crashed left). Returns 0, or -1 with err
 * naming the first entry that could not be deleted (the others are still
 * tried). */
int state_trash_empty(const char *state, struct sy_error *err);

/* Takes <state>/gc.lock exclusively, so that two collections (the
 * service's and a `shipyard gc`) do not run at once: waits for the other
 * when wait is 1. Returns the locked fd (release with close), -2 when wait
 * is 0 and another collection holds it, -1 with err. */
int state_gc_lock(const char *state, int wait, struct sy_error *err);

#endif
