/* Shared between the files of one build (builder/buildjob.h) only: the
 * build's paths, what runs inside its root (buildroot.c) and taking its
 * outputs (buildout.c); buildjob.c runs it from the calling process. */
#ifndef BUILDER_BUILDJOB_PRIVATE_H
#define BUILDER_BUILDJOB_PRIVATE_H

#include <sys/mount.h>

#include "builder/buildjob.h"
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
	char *upper;   /* where the root's changes are: <scratch>/upper, the
			* overlay upper dir, or the extracted root itself */
	char *work;    /* <scratch>/work: overlay work dir */
	char *root;    /* <scratch>/root: the merged root */
	char *lower;   /* req->worker_root, resolved */
	unsigned long long baseline; /* bytes of upper before the build: 0 for an
			* overlay, the worker root's size for an extracted root */
	int reason_fd; /* <scratch>/reason, open for writing (becomes REASON_FD) */
	int probe;     /* 1: builder_build_root_probe, run /bin/true instead */
	struct sy_strv deps; /* in the build's pid 1: paths inside the root of the
			* BuildRequires RPMs, made by prepare_root */
};

/* The build's process, forked by buildjob.c with the reason file at
 * REASON_FD: enters the sandbox (sandbox/sandbox.h) with the root mounted
 * and prepared, installs the BuildRequires and runs both rpmbuild steps as
 * the build user. arg is the struct job. Returns the exit status: 0, or
 * EXIT_PACKAGE or EXIT_INFRA with the reason on REASON_FD. */
int builder_job_child(void *arg);

/* Takes the SRPM and the RPMs from job->upper (new files live there) into
 * job->req->out_dir: regular files only, no symlink followed, since the
 * build controls everything in its root. Fills res->rpms and res->srpm.
 * *infra is set unless the failure is the build's (it left no single SRPM).
 * Returns 0 or -1 with err. */
int builder_job_take_outputs(const struct job *job, struct builder_build_result *res, int *infra,
			     struct sy_error *err);

#endif
