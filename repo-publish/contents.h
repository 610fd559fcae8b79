/* What a snapshot holds, as its repodata describes it: the package list a
 * release's SBOM is made of, and the checksums that tell which snapshot a
 * worker root's packages came from. Read with libsolv
 * (sandbox/solvload.h), the reader dnf's own stack uses. */
#ifndef REPO_PUBLISH_CONTENTS_H
#define REPO_PUBLISH_CONTENTS_H

#include <stddef.h>

#include "common/error.h"
#include "common/strv.h"
#include "state/release.h"

/* The binary packages of a snapshot, each as a release records it
 * (state/release.h: file is the path in the snapshot, sha256 "" when the
 * repodata records another kind of checksum). Release with
 * repo_publish_packages_release. */
struct repo_publish_packages {
	struct state_release_package *items; /* sorted by name, then arch */
	size_t n;
};

#define REPO_PUBLISH_PACKAGES_INIT { NULL, 0 }

/* Reads the binary packages of the snapshot directory snapshot from its
 * repodata/ (primary.xml) into out. Returns 0, or -1 with err naming the
 * file that cannot be read, or a location that leaves the snapshot. */
int repo_publish_snapshot_packages(const char *snapshot, struct repo_publish_packages *out,
				   struct sy_error *err);

/* Frees what out holds and empties it. */
void repo_publish_packages_release(struct repo_publish_packages *out);

#endif
