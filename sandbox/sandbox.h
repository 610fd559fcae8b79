/* The one sandbox entry for untrusted code: spec parsing (planner/specread.c:
 * %() and Lua run while a spec is read), builds (builder/buildroot.c) and
 * image installs (imager/compose.c: package scriptlets). sandbox_run makes
 * new mount and pid namespaces (and more as asked), starts the namespace's
 * pid 1 (common/child.h) and waits for it. Pid 1, in a mount namespace of
 * its own, builds the root before anything untrusted runs in it: either an
 * existing directory the caller's hook fills with mounts (a build root, an
 * image root), or a fresh tmpfs holding a read-only bind of the host's /usr
 * and a made-up /etc (spec parsing); then a /proc with the parts through
 * which root changes the whole machine read-only and a /dev tmpfs,
 * pivot_root (the host's tree detached), the host name, capabilities cut to
 * a default container's without CAP_MKNOD (as runc sets them up). The work
 * runs as pid 1 or in a child of it that only reaps; as a given user with
 * no_new_privs, in a given environment. When pid 1 ends, the kernel kills
 * every process left in its namespace. Limits on what the work may use are
 * sandbox/cgroup.h's and sandbox/sizedfs.h's. */
#ifndef SANDBOX_SANDBOX_H
#define SANDBOX_SANDBOX_H

#include <sched.h>
#include <sys/types.h>

#include "common/error.h"

/* Who the work runs as. */
struct sandbox_user {
	const char *name;     /* for messages: "nobody", "mockbuild" */
	uid_t uid;            /* user id */
	gid_t gid;            /* group id */
	const gid_t *groups;  /* supplementary groups, ngroups of them */
	size_t ngroups;
};

/* One sandbox. Zero-initialise, then set what is needed. Every pointer must
 * stay valid in the process that calls sandbox_run (pid 1 works on a copy
 * made by fork). */
struct sandbox_config {
	int namespaces;      /* namespaces besides mount and pid: CLONE_NEWNET,
			      * CLONE_NEWIPC, CLONE_NEWUTS... */
	const char *root;    /* absolute path of the directory that becomes / */
	const char *what;    /* names the root in errors: "the build root" */

	/* A fresh root (fresh_root = 1): a tmpfs mounted on root holding
	 * a read-only bind (nosuid, nodev) of the host's /usr, the host's
	 * /bin, /sbin, /lib* (the same symbolic links on merged-/usr hosts,
	 * else read-only binds), an /etc of its own (passwd and group with
	 * root and nobody, nsswitch.conf and hosts for these files, and of the
	 * host's only alternatives/, ld.so.cache, localtime, os-release and
	 * rpm/, read-only: no file the host keeps in /etc is readable),
	 * /dev/null, /dev/zero and /dev/urandom, a fresh /tmp, ro_binds, and
	 * scratch; remounted read-only once it is /. Nothing written there
	 * reaches the host's disks. */
	int fresh_root;
	const char *const *ro_binds; /* NULL-terminated host directories, bound
			      * read-only at the same path; or NULL */
	const char *const *ro_binds_at; /* NULL-terminated pairs of a host
			      * directory and where it appears in the root
			      * ("/x/rpmdb", "/var/lib/rpm"), bound read-only
			      * after ro_binds; or NULL */
	const char *scratch; /* path of a writable tmpfs owned by user, or NULL */

	/* Called in the process of sandbox_run once it is in its new, private
	 * mount namespace, before the other namespaces are made (a program it
	 * runs is an ordinary child): mounts that outlive the work for the
	 * caller to read afterwards (a build's sized filesystem,
	 * sandbox/sizedfs.h), which pid 1 sees as well; or NULL. Returns 0 or
	 * -1 with err. */
	int (*prepare_outside)(void *arg, struct sy_error *err);

	/* An existing root: prepare, called in pid 1 before /proc, /dev and
	 * the pivot, mounts what the work needs into root (overlay, binds)
	 * while nothing untrusted has run in it. Returns 0 or -1 with err. */
	int (*prepare)(void *arg, struct sy_error *err);
	int proc_dev;        /* 1: mount /proc (of the new pid namespace; sys,
			      * sysrq-trigger, irq and bus read-only: runc's
			      * readonlyPaths) and a small tmpfs /dev with null,
			      * zero, full, random, urandom, tty, the fd links and
			      * shm; mount points made when missing */
	const char *hostname; /* host name in the sandbox (CLONE_NEWUTS), or NULL */
	int drop_capabilities; /* 1: keep only chown, dac_override, fowner,
			      * fsetid, kill, setgid, setuid, setpcap,
			      * net_bind_service, sys_chroot, audit_write and
			      * setfcap, in the bounding set (exec cannot regain
			      * others) and in pid 1's own sets (librpm runs Lua
			      * scriptlets in-process) */

	/* The work. */
	const struct sandbox_user *user; /* fn's process becomes this user for
			      * good, or NULL: it stays root */
	const struct sandbox_user *etc_user; /* with user NULL: the user fn runs
			      * its work as (a spec server's readers), which the
			      * fresh root's passwd names as it would name user;
			      * or NULL */
	const char *const *env; /* fn's environment, NULL-terminated "NAME=value"
			      * strings replacing the inherited one; NULL: kept */
	int (*fn)(void *arg); /* runs in the sandbox; returns the exit status */
	int fn_in_child;     /* 1: fn runs in a child of pid 1, which only reaps
			      * and exits with fn's status (a spec's commands
			      * cannot signal pid 1); 0: fn runs as pid 1 */
	int fn_fd;           /* fn_in_child: an fd only fn writes to once it runs
			      * (a result pipe), closed by pid 1 and the caller
			      * once fn's process is started, so that its end of
			      * file says that fn is done; -1: none */
	/* Reports a sandbox that could not be set up, the caller's way (into
	 * its result pipe or log); returns the exit status of the process it
	 * runs in. Called in the caller, in pid 1 or in fn's process. */
	int (*setup_failed)(void *arg, const struct sy_error *err);
	void *arg;           /* for prepare, fn and setup_failed */
};

/* The part of a sandbox_config that builds and image installs share, to
 * open its initialiser: an existing root holding packages whose scriptlets
 * are untrusted, new network, IPC and UTS namespaces too, /proc and /dev,
 * capabilities dropped, the work as pid 1. The caller adds root, what,
 * prepare, hostname, fn, setup_failed and arg. */
#define SANDBOX_PACKAGE_ROOT                                                     \
	.namespaces = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS, .proc_dev = 1, \
	.drop_capabilities = 1, .fn_fd = -1

/* Runs cfg->fn in a new sandbox and waits for it. Call it in a child made
 * for it (common/child.h): its own namespaces change (it returns in its new
 * mount namespace, with prepare_outside's mounts and its own root: pid 1
 * builds the sandbox's root in a copy of that namespace), and it must have
 * closed the fds the work must not reach. Returns the exit status for the
 * caller to end with: pid 1's (fn's when fn runs as pid 1 or in its child;
 * 128 + n when killed by signal n, which for pid 1 can only come from
 * outside: the OOM killer, a death signal), or setup_failed's return when
 * a step failed. Step errors read "cannot create namespaces: ...", "bind
 * /x: No such file or directory", "cannot enter the build root: ...". */
int sandbox_run(const struct sandbox_config *cfg);

/* Becomes user for good: supplementary groups, gid, uid, then
 * no_new_privs, so that no set-user-ID or file-capability program regains
 * privileges. Returns 0 or -1 with err ("cannot become nobody: Operation
 * not permitted"). */
int sandbox_become_user(const struct sandbox_user *user, struct sy_error *err);

#endif
