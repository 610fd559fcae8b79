/* Filling a fresh root with RPM packages whose scriptlets are untrusted:
 * one librpm transaction run as pid 1 of a sandbox pivot_root'ed into the
 * root. Image roots (imager/compose.h) and worker roots made of a
 * distribution's own packages (builder/rpmroot.h) are made this way. */
#ifndef SANDBOX_ROOTINSTALL_H
#define SANDBOX_ROOTINSTALL_H

#include "common/error.h"
#include "common/strv.h"

/* What to install where. Nothing is owned. */
struct sandbox_root_install {
	const char *rootfs;            /* absolute path of an empty directory */
	const char *const *repo_dirs;  /* NULL-terminated: the directories the RPM
					* files lie under, each bind-mounted
					* read-only into the sandbox */
	const struct sy_strv *rpms;    /* RPM files (host paths under one of
					* repo_dirs) */
	const char *hostname;          /* host name inside the sandbox */
	const char *what;              /* the root, in errors ("the image root") */
	const char *cgroup_name;       /* name of the install's cgroup ("image") */
	int log_fd;                    /* librpm's and scriptlets' output; -1: none */
	long long install_time;        /* > 0: SOURCE_DATE_EPOCH of the install,
					* seconds since 1970: librpm stamps the
					* rpmdb's install times with it, and
					* scriptlets see it (a reproducible
					* image's epoch); 0: the time of the
					* install */
	int nodocs;                    /* 1: %doc files left out
					* (SANDBOX_RPMINSTALL_NODOCS) */
	/* Called in the sandbox's pid 1 after a successful install, with the
	 * root as "/" and the same isolation (no network, capabilities cut,
	 * limits, deadline), its output on log_fd; or NULL. Anything it
	 * runs must be started and waited for inside it. Returns 0, or -1
	 * with err, which fails the install with err's message. */
	int (*after_install)(void *arg, struct sy_error *err);
	void *after_arg;
};

/* Installs in->rpms into in->rootfs: in a child with new mount, pid,
 * network, IPC and UTS namespaces, the root bind-mounted on itself (nosuid,
 * nodev) with a fresh /dev, a partly read-only /proc and each repository
 * read-only at /.shipyard-rpms/<i>; pivot_root into it, capabilities cut to
 * a container's default set without CAP_MKNOD, memory and tasks limited
 * (sandbox/cgroup.h); then librpm installs with root dir "/"
 * (sandbox_rpm_install, dependencies checked, scriptlets run). /dev and
 * /proc stay in the root only when a package owns them (with the metadata
 * the package gave them); /.shipyard-rpms is removed. Killed after an hour.
 * Must run as root. Returns 0, or -1 with err ("/: transaction failed:
 * ...", "install killed: memory limit", "<rpm>: not in a repository given
 * to the install"). */
int sandbox_root_install(const struct sandbox_root_install *in, struct sy_error *err);

#endif
