/* The locks of builds: a build's scratch directory (and the spec directory a
 * caller keeps beside it) belong to whoever holds "<scratch>.lock", so that
 * two runs never build in one directory and the sweep after a killed run
 * removes only what no live build holds. */
#ifndef BUILDER_BUILDLOCK_H
#define BUILDER_BUILDLOCK_H

#include "common/error.h"

/* Takes the lock of the build whose scratch directory is scratch_dir,
 * without waiting: an flock on the file "<scratch_dir>.lock" next to it
 * (created here with its missing parents, removed by builder_build_unlock).
 * The lock covers the scratch directory and its sibling "<scratch_dir>.src",
 * where a caller may keep the spec directory it passes as spec_dir. A caller
 * that makes such a sibling takes the lock before creating (or clearing) it,
 * passes locked = 1 to builder_build_run, and releases the lock only once
 * the sibling is removed; otherwise builder_build_sweep (in another service
 * process) or a concurrent build of the same job may remove it. Returns the
 * locked fd (>= 0), or -1 with err ("<scratch_dir>: in use by another
 * build", or why the lock file could not be made). */
int builder_build_lock(const char *scratch_dir, struct sy_error *err);

/* Releases a lock from builder_build_lock: removes the lock file, closes fd. */
void builder_build_unlock(const char *scratch_dir, int fd);

/* Removes what builds that died (the service was killed) left under
 * builds_dir: every directory "<job>" or "<job>.src" directly under it, and
 * the lock files "<job>.lock", except those whose lock (builder_build_lock on
 * <builds_dir>/<job>, so scratch_dir should be <builds_dir>/<job>) is held by
 * a running build or its caller. Their mounts lived in the build's own mount
 * namespace and went with it, so plain removal is enough. Other files are
 * left alone. A missing builds_dir is not an error. Returns 0, or -1 with err
 * naming the first directory that could not be removed. */
int builder_build_sweep(const char *builds_dir, struct sy_error *err);

#endif
