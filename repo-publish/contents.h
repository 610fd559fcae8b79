/* What a snapshot holds, as its repodata describes it: the package list a
 * release's SBOM is made of, and the checksums that tell which snapshot a
 * worker root's packages came from. Read with libsolv
 * (sandbox/solvload.h), the reader dnf's own stack uses. */
#ifndef REPO_PUBLISH_CONTENTS_H
#define REPO_PUBLISH_CONTENTS_H

#include <stddef.h>

#include "common/error.h"
#include "common/strv.h"

/* One binary package of a snapshot. Strings are owned. */
struct repo_publish_package {
	char *name;      /* "zlib" */
	char *epoch;     /* "0" when the package has none */
	char *version;   /* "1.3.1" */
	char *release;   /* "1.mdst1" */
	char *arch;      /* "x86_64", "noarch" */
	char *sha256;    /* 64 hex digits: the RPM file's SHA-256, as primary.xml
			  * records it ("" when it records another kind) */
	char *license;   /* the License tag, "" when none */
	char *sourcerpm; /* "zlib-1.3.1-1.mdst1.src.rpm", "" when none */
	char *location;  /* path in the snapshot, "RPMS/x86_64/zlib-...rpm" */
};

/* The binary packages of a snapshot. Release with
 * repo_publish_packages_release. */
struct repo_publish_packages {
	struct repo_publish_package *items; /* sorted by name, then arch */
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
