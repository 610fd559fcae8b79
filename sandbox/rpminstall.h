/* Installing RPM files into a root directory with one librpm transaction
 * (rpmts with a root dir), the way both build roots and image roots are
 * filled. The rpmdb inside the root is at /var/lib/rpm (%_dbpath), as Azure
 * Linux and Fedora keep it (Debian's rpm would otherwise use ~/.rpmdb). */
#ifndef SANDBOX_RPMINSTALL_H
#define SANDBOX_RPMINSTALL_H

#include "common/error.h"

/* Flags for sandbox_rpm_install. */
enum {
	SANDBOX_RPMINSTALL_NODEPS = 1 << 0,   /* skip the dependency check */
	SANDBOX_RPMINSTALL_NOSCRIPTS = 1 << 1, /* do not run scriptlets */
	SANDBOX_RPMINSTALL_NODOCS = 1 << 2     /* leave out %doc files
						* (RPMTRANS_FLAG_NODOCS, what
						* %_excludedocs asks rpm for) */
};

/* Installs the NULL-terminated list of RPM files (paths as the calling
 * process sees them) into root in one transaction (ordered by librpm), as
 * upgrades: an older version the root holds is replaced, the same NEVRA is
 * installed again over it.
 * Signatures are not required, but the header check and the header and
 * payload digests are enforced, so a damaged or truncated file fails. The
 * rpmdb is created under root/var/lib/rpm when missing. Messages from librpm
 * go to log_fd (-1: discarded). Must run as root. Returns 0, or -1 with err
 * naming the package and the problem ("hello-1.0-1.x86_64.rpm: requires
 * libgreet.so.1 ...", "cannot read header of <file>: ..."). The process's
 * librpm configuration is read once (rpmReadConfigFiles, from the process's
 * root at that time) and %_dbpath is set; call from the shipyard process or a
 * child. With root "/" nothing is chrooted: that is how a build installs into
 * its own root from inside it. */
int sandbox_rpm_install(const char *root, const char *const *rpm_paths, int flags, int log_fd,
			struct sy_error *err);

/* Reads the process's librpm configuration (rpmReadConfigFiles: rpmrc,
 * macros and %_rpmconfigdir from the process's root at that time) unless it
 * was read already; sandbox_rpm_install calls it too. A child that installs
 * into a root it is about to pivot_root into calls it first, while the
 * host's /usr/lib/rpm is still its own. Returns 0, or -1 with err. */
int sandbox_rpm_init(struct sy_error *err);

#endif
