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
 * Cache layout: <cache>/.lock (held while a root is being built),
 * <cache>/<digest>.tmp-<pid> (a root being built), <cache>/<digest>/root,
 * <cache>/<digest>/manifest (the manifest's fields in its own syntax) and
 * <cache>/<digest>/lock (flock: shared while a build uses the root,
 * exclusive while builder_worker_gc removes it). */
#ifndef BUILDER_WORKER_H
#define BUILDER_WORKER_H

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
 * log_fd. *root is "<cache>/<digest>/root", newly allocated (caller frees).
 * Returns 0 or -1. */
int builder_worker_ensure(const char *cache_dir, const struct builder_worker_manifest *m,
			  int log_fd, char **root, struct sy_error *err);

/* Disk usage of the tree at dir in bytes: st_blocks * 512 of every entry
 * (dir itself included), symlinks not followed, a file with several hard
 * links in the tree counted once. Entries that vanish during the walk are
 * skipped. Returns 0 or -1 with err when dir cannot be opened. */
int builder_worker_disk_usage(const char *dir, unsigned long long *bytes, struct sy_error *err);

/* One cached worker root, as builder_worker_list reports it. */
struct builder_worker_entry {
	char digest[SY_SHA256_HEX_LEN + 1];
	char *suite;              /* from <digest>/manifest, or NULL when unreadable */
	unsigned long long bytes; /* disk usage of <digest>/ (builder_worker_disk_usage) */
	time_t created;           /* modification time of <digest>/manifest (of the
				   * directory when that is missing) */
};

/* Lists the roots in cache_dir: every directory named by a 64-hex-digit
 * digest that holds root/, sorted by digest. Directories of roots being
 * built (<digest>.tmp-<pid>) are not listed. *entries is newly allocated
 * (free with builder_worker_entries_free); a missing cache_dir gives none.
 * Returns 0 or -1 with err naming the directory that cannot be read. */
int builder_worker_list(const char *cache_dir, struct builder_worker_entry **entries, size_t *n,
			struct sy_error *err);

/* Frees what builder_worker_list returned. */
void builder_worker_entries_free(struct builder_worker_entry *entries, size_t n);

/* Checks the cached root of m under cache_dir: present, /usr/bin/rpmbuild
 * and /usr/bin/rpm present, every toolchain capability of m provided by a
 * package in its rpmdb (/var/lib/rpm, queried with librpm), the build user
 * in its /etc/passwd with BUILDER_WORKER_BUILD_UID and _GID and owning
 * /build. Appends one line per problem to problems ("<root>: gcc not
 * provided in the rpmdb"). Returns 0 when the check could run (problems may
 * be empty or not), -1 with err when it could not (rpm configuration). */
int builder_worker_check(const char *cache_dir, const struct builder_worker_manifest *m,
			 struct sy_strv *problems, struct sy_error *err);

/* Removes from cache_dir every root directory (as builder_worker_list finds
 * them) other than keep_digest's (NULL: keep none), except those whose
 * <digest>/lock another process holds (a build using it): those are appended
 * to skipped as digests. Directories <digest>.tmp-<pid> left by builders
 * that died are removed too, unless <cache>/.lock is held (a root is being
 * built). Appends the removed directories' paths to removed and adds their
 * disk usage to *bytes_freed. Returns 0, or -1 with err naming the first
 * directory that could not be removed (the others are still tried). */
int builder_worker_gc(const char *cache_dir, const char *keep_digest, struct sy_strv *removed,
		      struct sy_strv *skipped, unsigned long long *bytes_freed,
		      struct sy_error *err);

/* Takes a shared lock on the cached root whose root directory is
 * worker_root ("<cache>/<digest>/root"): an flock on <cache>/<digest>/lock,
 * so that builder_worker_gc leaves the root alone while it is used. Returns
 * the locked fd (>= 0), -2 when worker_root has no lock file (a root not in
 * a cache, nothing to lock), or -1 with err. Release with close(). */
int builder_worker_hold(const char *worker_root, struct sy_error *err);

#endif
