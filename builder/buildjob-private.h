/* Shared between the files of one build (builder/buildjob.h) only: the
 * build's paths, the build's process and what runs inside its root
 * (buildroot.c) and taking its outputs (buildout.c, in the build's
 * process); buildjob.c runs it from the calling process. */
#ifndef BUILDER_BUILDJOB_PRIVATE_H
#define BUILDER_BUILDJOB_PRIVATE_H

#include <sys/mount.h>

#include "builder/buildjob.h"
#include "sandbox/sizedfs.h"
#include "common/error.h"
#include "common/strv.h"

/* Inside the build root (rpmbuild's %_topdir and where the spec directory is
 * copied; the Azure Linux toolkit's pkgworker uses the same layout). */
#define BUILD_TOPDIR "/build"
#define BUILD_SOURCEDIR BUILD_TOPDIR "/SOURCES"
/* Where the BuildRequires RPM files appear (read-only bind mounts, one
 * directory per file: /build/deps/<n>/<file>). */
#define BUILD_DEPSDIR BUILD_TOPDIR "/deps"
/* Flags of the read-only bind mounts in the root. */
#define RO_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
/* rpmdb of the root, as sandbox_rpm_install fills it. */
#define BUILD_DBPATH "/var/lib/rpm"
#define BUILD_HOSTNAME "shipyard-build"
/* The fd the reason for a failure is written to inside the build child. */
#define REASON_FD 3
/* Exit statuses of the build child: the package failed, or the machine did
 * (see builder_build_result.infrastructure). */
#define EXIT_PACKAGE 1
#define EXIT_INFRA 2

/* Paths of one job, all absolute. */
struct job {
	const struct builder_build_request *req;
	char *scratch; /* req->scratch_dir */
	char *layer;   /* with an output limit, <scratch>/fs: mount point of the
			* build's sized filesystem (sandbox/sizedfs.h), which
			* holds upper and work, or the extracted root; NULL
			* without a limit (they are then in scratch) */
	char *image;   /* <scratch>/fs.img: the layer's ext4 image, or NULL */
	unsigned long long layer_bytes; /* size asked for the layer: the output
			* limit, plus room for the worker root when extracted */
	struct sandbox_sizedfs fs; /* in the build's process: the layer as
			* mounted (the size it got, its kind) */
	int layer_ready; /* in the build's process: 1 once the layer (and an
			* extracted root in it) is ready for the build */
	char *upper;   /* where the root's changes are: the overlay upper dir
			* (<layer or scratch>/upper), or the extracted root */
	char *work;    /* overlay work dir, beside upper */
	char *root;    /* the merged root: <scratch>/root, or the extracted
			* root (<layer or scratch>/root) */
	char *lower;   /* req->worker_root, resolved */
	char *outputs; /* <scratch>/outputs: the build's process lists there the
			* outputs it moved to out_dir, as NUL-terminated pairs
			* "srpm" or "rpm", then the path */
	struct sandbox_cgroup cgroup; /* the build's cgroup or the fallback's
			* rlimits (made by the caller, entered by the build's
			* process, rlimits set again before each rpmbuild) */
	int reason_fd; /* <scratch>/reason, open for writing (becomes REASON_FD) */
	int probe;     /* 1: builder_build_root_probe, run /bin/true instead */
	struct sy_strv deps; /* in the build's pid 1: paths inside the root of the
			* BuildRequires RPMs, made by prepare_root */
};

/* The build's process, forked by buildjob.c with the reason file at
 * REASON_FD: joins the build's cgroup (or sets the fallback's rlimits),
 * mounts the layer (with an output limit), enters the sandbox
 * (sandbox/sandbox.h) with the root mounted and prepared, installs the
 * BuildRequires and runs both rpmbuild steps as the build user; once the
 * sandbox has ended (nothing of the build runs any more), turns a failure
 * with the layer full into the output limit's, and moves the outputs to
 * out_dir, listing them in job->outputs. arg is the struct job. Returns the
 * exit status: 0, or EXIT_PACKAGE or EXIT_INFRA with the reason on
 * REASON_FD. */
int builder_job_child(void *arg);

/* Takes the SRPM and the RPMs from job->upper (new files live there) into
 * job->req->out_dir: regular files only, no symlink followed, since the
 * build controls everything in its root. Fills res->rpms and res->srpm.
 * *infra is set unless the failure is the build's (it left no single SRPM).
 * Returns 0 or -1 with err. */
int builder_job_take_outputs(const struct job *job, struct builder_build_result *res, int *infra,
			     struct sy_error *err);

#endif
