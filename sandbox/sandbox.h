/* The pieces of isolation builds and image installs share, for a process
 * that already runs in its own mount and pid namespaces: a minimal /proc and
 * /dev inside a root, entering that root with pivot_root, and dropping
 * capabilities to those of a default container (without CAP_MKNOD), as runc
 * sets them up. */
#ifndef SANDBOX_SANDBOX_H
#define SANDBOX_SANDBOX_H

#include "common/error.h"

/* Mounts proc (of the current pid namespace) on <root>/proc, with the parts
 * through which root changes the whole machine (sys, sysrq-trigger, irq,
 * bus: runc's readonlyPaths) made read-only, and a small tmpfs with null,
 * zero, full, random, urandom, tty, the fd links and shm on <root>/dev. Both
 * mount points must exist. Returns 0 or -1 with err naming the step. */
int sandbox_mount_proc_dev(const char *root, struct sy_error *err);

/* Makes root the process's / (pivot_root, then detaches the host's tree) and
 * sets the host name when hostname is not NULL. what names the root in
 * errors ("the build root"). Returns 0 or -1. */
int sandbox_enter(const char *root, const char *hostname, const char *what,
			  struct sy_error *err);

/* Keeps only a default container's capabilities without CAP_MKNOD (chown,
 * dac_override, fowner, fsetid, kill, setgid, setuid, setpcap,
 * net_bind_service, sys_chroot, audit_write, setfcap) in the bounding set,
 * so that exec cannot regain others, and in the process's own sets, since
 * librpm runs Lua scriptlets in-process. Returns 0 or -1. */
int sandbox_drop_capabilities(struct sy_error *err);

#endif
