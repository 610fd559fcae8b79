/* Worker roots: the clean root filesystem every build starts from, declared by
 * a manifest (config/worker.conf, git-config syntax) and kept read-only under
 * the cache directory as <cache>/<digest>/root. Two kinds:
 *   - debootstrap (stage 0, the bootstrap root): Debian 12 minbase plus rpm
 *     and build-essential by default, built once per manifest digest; its
 *     rpmdb at /var/lib/rpm holds the virtual package
 *     BUILDER_WORKER_TOOLCHAIN_PKG that provides the manifest's toolchain
 *     capabilities, so that rpmbuild checks BuildRequires against it;
 *   - rpm: the distribution's own packages (builder/rpmroot.h), the install
 *     closure of a package list from RPM repositories, as the Azure Linux
 *     toolkit makes its worker chroot from pkggen_core_<arch>.txt; one root
 *     per exact set of packages (the digest is over their NEVRAs and output
 *     digests, known once builder_worker_resolve ran).
 * Every root holds the unprivileged build user (BUILDER_WORKER_BUILD_USER,
 * owner of /build).
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

#include "common/confkeys.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/strv.h"
#include "sandbox/solvload.h"

/* The user rpmbuild runs as inside build roots (mock's "mockbuild"), with a
 * group of the same name and id; its home is /build. */
#define BUILDER_WORKER_BUILD_USER "shipyard-build"
#define BUILDER_WORKER_BUILD_UID 1001
#define BUILDER_WORKER_BUILD_GID 1001

/* Name of the virtual package (no files) whose Provides are the toolchain
 * capabilities; the dependency graph's toolchain solvable has the same name. */
#define BUILDER_WORKER_TOOLCHAIN_PKG "shipyard-worker-toolchain"

/* How a worker root is made. */
enum builder_worker_kind {
	BUILDER_WORKER_DEBOOTSTRAP, /* kind = debootstrap (the default) */
	BUILDER_WORKER_RPM,         /* kind = rpm */
};

/* A worker root manifest. */
struct builder_worker_manifest {
	enum builder_worker_kind kind;
	char *suite;               /* debootstrap: Debian suite, "bookworm" */
	char *variant;             /* debootstrap: variant, "minbase" */
	struct sy_strv packages;   /* debootstrap: extra Debian packages, "rpm",
				    * "build-essential"; rpm: package specs to
				    * install ("bash", "gcc >= 13"); sorted, unique */
	struct sy_strv repos;      /* rpm: where packages come from, in order:
				    * "channel:NAME" (a channel of the state
				    * directory), a directory, a file:// or an
				    * http(s):// URL holding repodata/ */
	struct sy_strv packagelists; /* rpm: package list files in the toolkit's
				    * format (planner/pkgmanifest.h), absolute
				    * ("%s" in a name stands for the arch) */
	struct sy_strv toolchain;  /* debootstrap: [toolchain] provides:
				    * capabilities the root offers to specs
				    * ("gcc", "make"); sorted, unique, may be
				    * empty. rpm: after builder_worker_resolve,
				    * every capability name the root's packages
				    * provide */
	char digest[SY_SHA256_HEX_LEN + 1]; /* debootstrap: SHA-256 over the fields
				    * above and the version of the root's layout
				    * (build user, toolchain package); rpm: ""
				    * until builder_worker_resolve sets it */
	struct sandbox_solv_closure closure; /* rpm, once resolved: the packages */
	struct sy_strv closure_plain; /* rpm, once resolved: closure.pkgs[i]'s
				       * NEVRA without the suffix a rebuild
				       * counter added to its Release
				       * (builder/rebuild.h), parallel */
	struct sy_strv repo_dirs;  /* rpm, once resolved: the repositories'
				    * directories, parallel to repos */
};

/* Returns the directory of the current snapshot of a channel of the state
 * directory (newly allocated), or NULL when it has none: how
 * builder_worker_resolve finds "channel:NAME" repositories. */
typedef char *(*builder_channel_dir_fn)(void *arg, const char *channel);

/* Where builder_worker_resolve finds repositories. */
struct builder_worker_sources {
	builder_channel_dir_fn channel_dir; /* "channel:NAME"; NULL: none */
	void *arg;                   /* channel_dir's */
	const char *download_dir;    /* where http(s) repositories are mirrored
				      * (one directory per URL; normally
				      * <worker cache>/repos); NULL: refused */
};

/* For an rpm manifest: reads its package lists (arch replaces "%s" in their
 * names), finds its repositories (channels through src->channel_dir; an
 * http(s) URL mirrored under src->download_dir: repomd.xml, primary and
 * filelists fetched with libcurl, then the closure's RPM files, each
 * checked against the SHA-256 primary.xml gives), resolves the install
 * closure of its packages
 * (sandbox_solv_closure) and sets m->closure, m->repo_dirs, m->toolchain and
 * m->digest: SHA-256 over the layout version and each package's NEVRA and
 * output digest (builder/outdigest.h), so that the same packages give the
 * same root, any package whose files or dependencies changed a new one, and
 * a package rebuilt with the same output the same one. Nothing for a debootstrap manifest. Returns 0,
 * or -1 with err ("worker.conf: repo channel:toolchain: the channel has
 * not been published", "worker.conf: no package provides gcc"). */
int builder_worker_resolve(struct builder_worker_manifest *m, const char *path,
			   const char *arch, const struct builder_worker_sources *src,
			   struct sy_error *err);

/* Reads a manifest file with libgit2's config API:
 *   [worker]                      [worker]
 *       suite = bookworm              kind = rpm
 *       variant = minbase             repo = channel:toolchain
 *       package = rpm                 packagelist = toolchain_%s.txt
 *       package = build-essential     package = rpm-build
 *   [toolchain]
 *       provides = gcc
 *       provides = make
 * (the [toolchain] list is the one builder_toolchain_read reads; an rpm
 * root declares no capabilities: its packages provide them). Relative
 * package list and directory paths are taken from the manifest's directory.
 * A key of the other kind, or an unknown key, is refused. Returns 0 or -1
 * ("<path>: worker.suite missing", "<path>: worker.suite: not supported with
 * kind = rpm"). Release with builder_worker_manifest_release. */
int builder_worker_manifest_read(const char *path, struct builder_worker_manifest *m,
				 struct sy_error *err);

/* Every key a worker manifest may hold (builder/worker.c), for `shipyard
 * config check` and the documentation's test. */
extern const struct sy_conf_key builder_worker_keys[];
extern const size_t builder_worker_nkeys;

/* Frees the manifest's fields. */
void builder_worker_manifest_release(struct builder_worker_manifest *m);

/* Returns the path of the worker root for m (resolved, when an rpm manifest)
 * under cache_dir, building it first when absent. An rpm root is made by
 * builder_rpmroot_make. A debootstrap root: debootstrap into <cache>/<digest>.tmp-<pid> with the mirror of
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
