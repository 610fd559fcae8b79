/* Worker roots: the clean root filesystem every build starts from, declared by
 * a manifest (config/worker.conf, git-config syntax) and built once per
 * manifest digest with debootstrap (Debian 12 minbase plus rpm and
 * build-essential by default), then kept read-only under the cache directory
 * as <cache>/<digest>/root. Besides what debootstrap installs, every root
 * holds the unprivileged build user (BUILDER_WORKER_BUILD_USER, owner of
 * /build) and, in its rpmdb at /var/lib/rpm, the virtual package
 * BUILDER_WORKER_TOOLCHAIN_PKG that provides the manifest's toolchain
 * capabilities, so that rpmbuild checks BuildRequires against it.
 *
 * The cache's listing, checks and garbage collection are
 * builder/workercache.h. Cache layout: <cache>/.lock (held while a root is
 * being built),
 * <cache>/<digest>.tmp-<pid> (a root being built), <cache>/<digest>/root,
 * <cache>/<digest>/manifest (the manifest's fields in its own syntax) and
 * <cache>/<digest>/lock (flock: shared while a build uses the root,
 * exclusive while builder_worker_gc removes it). */
#ifndef BUILDER_WORKER_H
#define BUILDER_WORKER_H

#include <signal.h>
#include <time.h>

#include "common/error.h"
#include "common/hash.h"
#include "common/strv.h"

/* The user rpmbuild runs as inside build roots (mock's "mockbuild"), with a
 * group of the same name and id; its home is /build. */
#define BUILDER_WORKER_BUILD_USER "shipyard-build"
#define BUILDER_WORKER_BUILD_UID 1001
#define BUILDER_WORKER_BUILD_GID 1001

/* Name of the virtual package (no files) whose Provides are the toolchain
 * capabilities; the dependency graph's toolchain solvable has the same name. */
#define BUILDER_WORKER_TOOLCHAIN_PKG "shipyard-worker-toolchain"

/* A worker root manifest. */
struct builder_worker_manifest {
	char *suite;               /* Debian suite, "bookworm" */
	char *variant;             /* debootstrap variant, "minbase" */
	struct sy_strv packages;   /* extra Debian packages, "rpm", "build-essential";
				    * sorted, unique */
	struct sy_strv toolchain;  /* [toolchain] provides: capabilities the root
				    * offers to specs ("gcc", "make"); sorted,
				    * unique, may be empty */
	char digest[SY_SHA256_HEX_LEN + 1]; /* SHA-256 over the fields above and
				    * the version of the root's layout (build
				    * user, toolchain package) */
};

/* Reads a manifest file:
 *   [worker]
 *       suite = bookworm
 *       variant = minbase
 *       package = rpm
 *       package = build-essential
 *   [toolchain]
 *       provides = gcc
 *       provides = make
 * with libgit2's config API (the [toolchain] list is the one
 * builder_toolchain_read reads). Returns 0 or -1 ("<path>: worker.suite
 * missing"). Release with builder_worker_manifest_release. */
int builder_worker_manifest_read(const char *path, struct builder_worker_manifest *m,
				 struct sy_error *err);

/* Frees the manifest's fields. */
void builder_worker_manifest_release(struct builder_worker_manifest *m);

/* Returns the path of the worker root for m under cache_dir, building it first
 * when absent: debootstrap into <cache>/<digest>.tmp-<pid> with the mirror of
 * the machine's apt sources (debootstrap's default when none is configured);
 * then the build user added (the host's groupadd/useradd --root), /build
 * made and given to it, the toolchain package made with the host's rpmbuild
 * and installed into the root's rpmdb (librpm, sandbox_rpm_install), and
 * only then the rename to <cache>/<digest> that publishes it. Concurrent
 * callers are serialised with a lock file. Output of the steps goes to
 * log_fd. cancel, when not NULL, is watched while waiting for the lock and
 * during debootstrap (about every 200 ms): once it is non-zero (a signal
 * handler set it) debootstrap's process group is killed, the half-made root
 * removed, and -1 returned with "cancelled". debootstrap also gets SIGKILL
 * when the calling thread ends. *root is "<cache>/<digest>/root", newly
 * allocated (caller frees). Returns 0 or -1. */
int builder_worker_ensure(const char *cache_dir, const struct builder_worker_manifest *m,
			  const volatile sig_atomic_t *cancel, int log_fd, char **root,
			  struct sy_error *err);

#endif
