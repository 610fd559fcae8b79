/* The cache of worker roots (builder/worker.h has its layout): listing the
 * roots it holds, checking one, removing the unused ones, and the shared
 * lock a build holds on the root it uses; the disk usage of a tree. */
#ifndef BUILDER_WORKERCACHE_H
#define BUILDER_WORKERCACHE_H

#include <time.h>

#include "builder/worker.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/strv.h"

/* Disk usage of the tree at dir in bytes: st_blocks * 512 of every entry
 * (dir itself included), symlinks not followed, a file with several hard
 * links in the tree counted once, at any depth (one directory is open at a
 * time). Entries that vanish during the walk are skipped. Returns 0, or -1
 * with err when dir or a directory in it cannot be read, or one was moved
 * away during the walk ("<dir>: a directory in it moved during the walk");
 * *bytes is then what was counted so far. For reports: nothing is limited
 * by it (a build's output limit is its filesystem's size). */
int builder_worker_disk_usage(const char *dir, unsigned long long *bytes, struct sy_error *err);

/* One cached worker root, as builder_worker_list reports it. */
struct builder_worker_entry {
	char digest[SY_SHA256_HEX_LEN + 1];
	char *suite;              /* from <digest>/manifest: the Debian suite, or
				   * "rpm:N" for an rpm root of N packages; NULL
				   * when unreadable */
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
