/* One isolated package build: a fresh writable root made as an overlayfs over
 * the cached worker root, the BuildRequires RPMs installed into it with a
 * librpm transaction, then inside new mount, pid, net, ipc and uts namespaces
 * and a chroot (pivot_root: the host tree is detached; no network; a clean
 * environment; capabilities such as mounting and mknod dropped for the build
 * commands): `rpmbuild -bs` of the spec directory followed by
 * `rpmbuild --rebuild --nodeps` of that SRPM, with the distribution's defines.
 * Everything is unmounted and removed afterwards. Follows the Azure Linux
 * toolkit's pkgworker (rpmbuild flags, defines) without its tarball per build. */
#ifndef BUILDER_BUILDJOB_H
#define BUILDER_BUILDJOB_H

#include "builder/macros.h"
#include "common/error.h"
#include "common/strv.h"

/* What to build and where. */
struct builder_build_request {
	const char *spec_dir;      /* host directory with the spec and its sources
				    * (already verified against signatures) */
	const char *spec_file;     /* basename of the .spec inside spec_dir */
	const char *worker_root;   /* cached read-only worker root (lower dir) */
	const char *scratch_dir;   /* per-job directory (created, removed after):
				    * overlay upper/work and the merged root;
				    * locked (flock) while the build runs */
	const char *const *install_rpms; /* NULL-terminated host paths of RPMs to
				    * install first (BuildRequires closure), or
				    * NULL; installed without a dependency check,
				    * since the toolchain in the worker root is
				    * not in its rpmdb */
	const struct builder_macro_ctx *macros; /* or NULL; macro files copied
				    * into the root's /usr/lib/rpm/macros.d as
				    * macros.zz-<name>, Lua modules into
				    * /usr/lib/rpm/lua, rpmrc to /etc/rpmrc;
				    * defines passed on the command lines */
	const char *out_dir;       /* built RPMs and the SRPM are moved here */
	int log_fd;                /* build log (all output of the steps) */
	unsigned timeout_s;        /* wall-clock limit of the whole build, 0 = none */
};

/* What came out. Release with builder_build_result_release. */
struct builder_build_result {
	struct sy_strv rpms; /* paths of the binary RPMs in out_dir */
	char *srpm;          /* path of the SRPM in out_dir */
	double seconds;      /* wall-clock duration of the build */
};

/* Runs the build. Returns 0 when rpmbuild succeeded and its outputs were
 * moved to out_dir; -1 with a one-line reason in err otherwise ("rpmbuild
 * failed with status 1, see log", "timed out after 600 s", "cannot mount
 * overlay: ..."). The scratch directory is removed in every case. */
int builder_build_run(const struct builder_build_request *req, struct builder_build_result *res,
		      struct sy_error *err);

/* Frees the result's fields. */
void builder_build_result_release(struct builder_build_result *res);

/* Removes the scratch directories left under builds_dir by builds that died
 * (the service was killed): every directory directly under builds_dir except
 * those a running builder_build_run holds its lock on (an flock on the
 * scratch directory, so scratch_dir should be <builds_dir>/<job>). Their
 * mounts lived in the build's own mount namespace and went with it, so plain
 * removal is enough. A missing builds_dir is not an error. Returns 0, or -1
 * with err naming the first directory that could not be removed. */
int builder_build_sweep(const char *builds_dir, struct sy_error *err);

#endif
