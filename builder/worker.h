/* Worker roots: the clean root filesystem every build starts from, declared by
 * a manifest (config/worker.conf, git-config syntax) and built once per
 * manifest digest with debootstrap (Debian 12 minbase plus rpm and
 * build-essential by default), then kept read-only under the cache directory
 * as <cache>/<digest>/root. */
#ifndef BUILDER_WORKER_H
#define BUILDER_WORKER_H

#include "common/error.h"
#include "common/hash.h"
#include "common/strv.h"

/* A worker root manifest. */
struct builder_worker_manifest {
	char *suite;               /* Debian suite, "bookworm" */
	char *variant;             /* debootstrap variant, "minbase" */
	struct sy_strv packages;   /* extra Debian packages, "rpm", "build-essential" */
	char digest[SY_SHA256_HEX_LEN + 1]; /* SHA-256 over the fields above */
};

/* Reads a manifest file:
 *   [worker]
 *       suite = bookworm
 *       variant = minbase
 *       package = rpm
 *       package = build-essential
 * with libgit2's config API. Returns 0 or -1 ("<path>: worker.suite missing").
 * Release with builder_worker_manifest_release. */
int builder_worker_manifest_read(const char *path, struct builder_worker_manifest *m,
				 struct sy_error *err);

/* Frees the manifest's fields. */
void builder_worker_manifest_release(struct builder_worker_manifest *m);

/* Returns the path of the worker root for m under cache_dir, building it first
 * when absent: debootstrap into <cache>/<digest>.tmp-<pid> with the mirror of
 * the machine's apt sources (debootstrap's default when none is configured),
 * then rename to <cache>/<digest>. Concurrent callers are serialised with a
 * lock file. Output of debootstrap goes to log_fd. *root is
 * "<cache>/<digest>/root", newly allocated (caller frees). Returns 0 or -1. */
int builder_worker_ensure(const char *cache_dir, const struct builder_worker_manifest *m,
			  int log_fd, char **root, struct sy_error *err);

#endif
