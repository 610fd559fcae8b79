/* One isolated package build: a fresh writable root made as an overlayfs over
 * the cached worker root (or, where overlayfs is unavailable, extracted from
 * its tarball: builder/rootfs.h), then inside new mount, pid, net, ipc and uts
 * namespaces and a chroot (pivot_root: the host tree is detached; /proc with
 * its kernel settings read-only; no network; a clean environment;
 * capabilities such as mounting and mknod dropped): the BuildRequires RPMs
 * installed with a librpm transaction, `rpmbuild -bs` of the spec directory,
 * then `rpmbuild --rebuild` of that SRPM (BuildRequires checked against the
 * root's rpmdb), with the distribution's defines, both as an unprivileged
 * user. The host writes into the root only before anything untrusted runs
 * there, and reads the outputs back without following symlinks. Everything is
 * unmounted and removed afterwards. Follows the Azure Linux toolkit's
 * pkgworker (rpmbuild flags, defines) without its tarball per build. */
#ifndef BUILDER_BUILDJOB_H
#define BUILDER_BUILDJOB_H

#include "planner/macros.h"
#include "sandbox/cgroup.h"
#include "common/error.h"
#include "common/strv.h"

/* What to build and where. */
struct builder_build_request {
	const char *spec_dir;      /* host directory with the spec and its sources
				    * (already verified against signatures) */
	const char *spec_file;     /* basename of the .spec inside spec_dir */
	const char *worker_root;   /* cached read-only worker root (lower dir) */
	const char *worker_tarball; /* NULL: the root is an overlayfs over
				    * worker_root; else a tarball of it
				    * (builder_rootfs_tarball_ensure), extracted
				    * into the scratch directory instead, where
				    * overlayfs is unavailable */
	const char *scratch_dir;   /* per-job directory (created, removed after):
				    * overlay upper/work and the merged root;
				    * locked while the build runs (see
				    * builder/buildlock.h); its name must not end
				    * in ".src" or ".lock" */
	int locked;                /* 1: the caller holds builder_build_lock on
				    * scratch_dir for the whole call; 0: taken
				    * and released here */
	const char *const *install_rpms; /* NULL-terminated host paths of RPMs to
				    * install first (BuildRequires closure), or
				    * NULL; bind-mounted read-only into the root
				    * and installed from inside it by exact
				    * path, without a dependency check (their
				    * own Requires are the distribution's,
				    * mostly not in the worker root) */
	const struct planner_macro_ctx *macros; /* or NULL; macro files copied
				    * into the root's /usr/lib/rpm/macros.d as
				    * macros.zz-<name>, Lua modules into
				    * /usr/lib/rpm/lua, rpmrc to /etc/rpmrc;
				    * defines passed on the command lines */
	const char *rebuild_suffix; /* NULL or "": the Release the spec states;
				    * else what follows the dist tag in it
				    * (builder/rebuild.h): %dist is defined as
				    * the macro context's dist tag and this,
				    * %disturl as BUILDER_REBUILD_DISTURL and
				    * this, after every other define, on both
				    * rpmbuild command lines (a spec that
				    * defines %dist itself keeps its own) */
	const char *out_dir;       /* built RPMs and the SRPM are moved here */
	int log_fd;                /* build log (all output of the steps) */
	unsigned timeout_s;        /* wall-clock limit of the whole build, 0 = none */
	unsigned long long output_limit_bytes; /* limit on what the build writes
				    * into its root, BuildRequires included:
				    * the root's writable layer (overlay upper
				    * and work dirs, or the extracted root) is
				    * a filesystem of this size, plus the worker
				    * root's for an extracted root
				    * (sandbox/sizedfs.h: an ext4 image on a
				    * loop device, else a tmpfs of at most a
				    * quarter of the memory), so that writing
				    * past it fails with ENOSPC in the build; a
				    * build that fails with it full fails with
				    * "output limit of N MiB exceeded". 0 = none
				    * (the layer is in scratch_dir) */
	struct sandbox_limits limits; /* memory, tasks and CPU weight of the
				    * whole build (sandbox/cgroup.h: its own
				    * cgroup, else RLIMIT_AS and RLIMIT_NPROC);
				    * a zero field takes its default below.
				    * Reaching the memory limit kills the build,
				    * "killed: memory limit (8192 MiB)"; reaching
				    * the task limit (a fork bomb) stops it,
				    * "killed: process limit (4096)", where a
				    * cgroup records them; package failures */
	unsigned smp_ncpus_max;    /* passed as %_smp_ncpus_max (the toolkit's
				    * MAX_CPU): parallel builds share the cores;
				    * 0 = not set */
	int run_check;             /* 1: after the build, a second rpmbuild of the
				    * SRPM with %check (with_check 1, into its own
				    * _topdir), as the toolkit's test build; its
				    * result is res->check and never fails the
				    * build */
};

/* Defaults of builder_build_request.limits: memory, the smaller of
 * BUILDER_BUILD_MEMORY_MAX and half the machine's memory (two builds in
 * parallel on a 2-core machine with 24 GiB leave a third of it to the
 * rest); tasks, far above what a build with make -j runs; the kernel's
 * default CPU weight, so that each build (not each of its threads) gets an
 * equal share. */
#define BUILDER_BUILD_MEMORY_MAX (8ULL << 30)
#define BUILDER_BUILD_PIDS 4096
#define BUILDER_BUILD_CPU_WEIGHT 100

/* What came out. Release with builder_build_result_release. */
struct builder_build_result {
	struct sy_strv rpms; /* paths of the binary RPMs in out_dir */
	char *srpm;          /* path of the SRPM in out_dir */
	double seconds;      /* wall-clock duration of the build */
	int infrastructure;  /* on failure: 1 when the machine failed, not the
			      * package (worker root or scratch setup, overlay
			      * mount, namespaces, fork, /proc or /dev, a full
			      * host disk while collecting outputs, a scratch
			      * directory in use): worth retrying; 0 when the
			      * package failed (installing its BuildRequires,
			      * rpmbuild, timeout, output, memory or process
			      * limit). 0 on success. */
	int check;           /* -1 %check not run, 0 passed, 1 failed */
};

/* Runs the build. Both rpmbuild steps run as the worker root's unprivileged
 * build user (BUILDER_WORKER_BUILD_USER in builder/worker.h: supplementary
 * groups, gid and uid set, no_new_privs, before exec); installing the
 * BuildRequires runs as root with capabilities dropped. `rpmbuild --rebuild`
 * checks BuildRequires against the root's rpmdb (the toolchain package and
 * what was installed). While the build runs, the worker root's lock is held
 * shared (builder_worker_hold). Returns 0 when rpmbuild succeeded and its
 * outputs (regular files only) were moved to out_dir; -1 with a one-line
 * reason in err otherwise ("rpmbuild failed with status 1, see log"; when
 * log_fd is a regular file with rpmbuild's error in it, the cause
 * builder_build_log_cause (builder/buildlog.h) finds there instead of "see
 * log": "rpmbuild failed with status 1: %prep failed: /usr/lib/rpm/azl/
 * gen-ld-script.sh: not found", "rpmbuild failed with status 11: Failed
 * build dependencies: foo is needed by bar-1-1.x86_64"; "timed out
 * after 600 s", "output limit of 64 MiB exceeded", "killed: memory limit
 * (8192 MiB)", "killed: process limit (4096)", "cannot mount overlay:
 * ...", "<scratch_dir>: in use by another build") and res->infrastructure
 * set as documented there. The scratch directory is removed in every case
 * except the last, where it belongs to the other build and is not touched. */
int builder_build_run(const struct builder_build_request *req, struct builder_build_result *res,
		      struct sy_error *err);

/* Makes a fresh isolated root on worker_root exactly as builder_build_run
 * does (scratch_dir locked and created, namespaces, overlay, /proc and
 * /dev, pivot_root, host name, capabilities dropped), runs /bin/true inside
 * as the build user, then tears everything down and removes scratch_dir.
 * *seconds is the wall-clock time of the whole cycle. For measuring the
 * per-build overhead (bench/build-overhead). Returns 0, or -1 with err. */
int builder_build_root_probe(const char *worker_root, const char *scratch_dir, double *seconds,
			     struct sy_error *err);

/* Frees the result's fields. */
void builder_build_result_release(struct builder_build_result *res);

#endif
