/* Artifacts: the outputs of one build, kept by build key in
 * <state>/artifacts/<key>/ (state_artifact_dir): the binary RPMs, the SRPM,
 * and summary.json ({"spec", "name", "version", "release", "build_key",
 * "output_digest"}), written last. An artifact is complete when its
 * summary.json exists; this module alone decides it. A key's directory may
 * be a symbolic link to another key's (a build found unchanged, or one
 * whose key changed only because later plans learn its generated
 * Provides). */
#ifndef BUILDER_ARTIFACT_H
#define BUILDER_ARTIFACT_H

#include "common/error.h"
#include "common/hash.h"
#include "common/strv.h"
#include "planner/spec.h"

/* Returns 1 when the artifact directory dir is complete (its summary.json
 * exists, links followed), else 0. */
int builder_artifact_complete(const char *dir);

/* Loads the outputs of the complete artifact directory dir: appends the
 * paths "<dir>/<file>" of its binary RPMs to rpms (sorted) and, when it
 * holds an SRPM, replaces *srpm (freed first; NULL or a malloc'ed string)
 * with its path (newly allocated; caller frees). Returns 1, or 0 when dir is not complete (nothing touched). */
int builder_artifact_lookup(const char *dir, struct sy_strv *rpms, char **srpm);

/* Writes dir/summary.json atomically for a build of spec with build key
 * key: the mark that makes dir complete. Returns 0 or -1 with err. */
int builder_artifact_write_summary(const char *dir, const struct planner_spec *spec,
				   const char *key, struct sy_error *err);

/* The output digest (builder/outdigest.h) of the complete artifact dir: the
 * one its summary.json records, else computed from its RPMs and recorded
 * there. Returns 0 with the digest in out, or -1 when dir is not complete
 * or has no binary RPM. */
int builder_artifact_output_digest(const char *dir, char out[SY_SHA256_HEX_LEN + 1]);

#endif
