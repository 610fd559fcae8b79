/* Worker roots made of a distribution's own packages (builder/worker.h, kind
 * rpm), as the Azure Linux toolkit makes its worker chroot from the
 * toolchain RPMs of toolkit/resources/manifests/package/pkggen_core_<arch>.txt
 * and Koji a build root from the build tag's `build` group: the install
 * closure of the manifest's packages, resolved with libsolv against RPM
 * repositories and installed with one librpm transaction into a fresh
 * directory, scriptlets in the sandbox (sandbox/rootinstall.h); no
 * debootstrap, dnf or tdnf needed on the host. */
#ifndef BUILDER_RPMROOT_H
#define BUILDER_RPMROOT_H

#include "builder/worker.h"
#include "common/error.h"

/* Layout version of rpm roots, part of their digest: what shipyard adds to
 * the packages (the build user, /build). */
#define BUILDER_RPMROOT_LAYOUT "shipyard worker root rpm 1"

/* builder_worker_resolve for kind rpm (see there). A package list line
 * "zlib-1.3.1-1.azl3.x86_64.rpm" asks for exactly that build: the closure
 * must hold zlib at version 1.3.1 and release 1.azl3, else the error names
 * the list, the line and what the repositories have. */
int builder_rpmroot_resolve(struct builder_worker_manifest *m, const char *path, const char *arch,
			    const struct builder_worker_sources *src, struct sy_error *err);

/* Makes the root of resolved manifest m at root (absolute path of a
 * directory that does not exist yet): the closure installed in the sandbox,
 * the build user and group added to its /etc/passwd and /etc/group (created
 * when no package made them) and /build made for it. Output goes to log_fd.
 * Must run as root. Returns 0, or -1 with err ("worker root: /: transaction
 * failed: ..."); a half-made root is left for the caller to remove. */
int builder_rpmroot_make(const struct builder_worker_manifest *m, const char *root, int log_fd,
			 struct sy_error *err);

/* Writes <dir>/packages: one "<NEVRA> <checksum>" line per package of m's
 * closure, what `shipyard worker list` and plans show of an rpm root.
 * Returns 0 or -1 with err. */
int builder_rpmroot_write_packages(const char *dir, const struct builder_worker_manifest *m,
				   struct sy_error *err);

/* Reads <dir>/packages (builder_rpmroot_write_packages): appends each
 * line's NEVRA to nevras and its checksum ("sha256:<hex>") to checksums,
 * parallel. Returns 1, 0 when dir has no packages file (not an rpm root),
 * -1 with err when it cannot be read or a line is not "<NEVRA> <checksum>". */
int builder_rpmroot_read_packages(const char *dir, struct sy_strv *nevras,
				  struct sy_strv *checksums, struct sy_error *err);

/* Describes how an rpm root's packages changed, for plans: before is the
 * sorted NEVRAs of the previous root, after the new root's manifest
 * (resolved: its closure). Returns a newly allocated line such as "zlib
 * 1.3.1-1.azl3 -> 1.3.1-2.azl3, gcc added, 2 more" (at most four changes
 * named), with packages whose Release changed only by a rebuild counter
 * (builder/rebuild.h) counted last ("3 rebuilt"), or "same versions, other
 * builds" when only the packages' contents differ. */
char *builder_rpmroot_describe_change(const struct sy_strv *before,
				      const struct builder_worker_manifest *after);

#endif
