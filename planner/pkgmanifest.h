/* A package manifest: the RPM files a worker root is made of, one file name
 * per line ("zlib-devel-1.3.2-1.azl3.x86_64.rpm"), the format of the Azure
 * Linux toolkit's toolkit/resources/manifests/package/pkggen_core_<arch>.txt
 * and toolchain_<arch>.txt. Blank lines and lines starting with '#' are
 * skipped. The file comes from the repository, so every field is checked
 * against the characters RPM file names use: a name that could carry a
 * macro, a path or a new line is refused. */
#ifndef PLANNER_PKGMANIFEST_H
#define PLANNER_PKGMANIFEST_H

#include <stddef.h>

#include "common/error.h"

/* One RPM file of a manifest, split as "<name>-<version>-<release>.<arch>.rpm". */
struct planner_manifest_pkg {
	char *name;    /* "zlib-devel" */
	char *version; /* "1.3.2" */
	char *release; /* "1.azl3" */
	char *arch;    /* "x86_64", "noarch" */
};

/* The packages of a manifest, in file order. */
struct planner_manifest {
	struct planner_manifest_pkg *items;
	size_t n;
};

/* Parses len bytes of manifest text; file names the manifest in errors.
 * Returns 0, or -1 with err set ("pkggen_core_x86_64.txt:12: \"x.rpm\": not
 * an RPM file name (name-version-release.arch.rpm)") and out empty. Release
 * out with planner_manifest_release. */
int planner_manifest_parse(const char *file, const char *text, size_t len,
			   struct planner_manifest *out, struct sy_error *err);

/* 1 when the manifest lists a package called name, else 0. */
int planner_manifest_has(const struct planner_manifest *m, const char *name);

/* Frees what m holds and empties it. */
void planner_manifest_release(struct planner_manifest *m);

#endif
