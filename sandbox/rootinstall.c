#define _GNU_SOURCE
#include "sandbox/rootinstall.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rpm/rpmdb.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmts.h>

#include "common/child.h"
#include "common/fs.h"
#include "sandbox/cgroup.h"
#include "sandbox/rpminstall.h"
#include "sandbox/sandbox.h"

/* Packages come from specs of pull requests, so their scriptlets are
 * untrusted code (and Lua scriptlets run inside librpm's own process). The
 * install runs in a child, as builder/buildroot.c runs a build: new mount,
 * pid, network, IPC and UTS namespaces; the root bind-mounted on itself
 * (nosuid, nodev) with a fresh /dev, a partly read-only /proc and the
 * repository (read-only) mounted in it; pivot_root into it, the host's tree
 * detached; capabilities cut to kept_caps; memory and tasks limited
 * (sandbox/cgroup.h); then librpm installs with root dir "/". The mounts
 * die with the namespace. */

/* Where the repository appears inside the root during the install. */
#define SANDBOX_RPMDIR ".shipyard-rpms"
/* rpmdb of the root, as sandbox_rpm_install fills it. */
#define SANDBOX_DBPATH "/var/lib/rpm"
/* Flags of the read-only bind mounts in the root. */
#define RO_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
/* The child's report to the parent: the capture pipe, here so that the
 * child's stdout (Lua scriptlets print to it) goes to the log. Lines:
 * "error <message>" or "keep <path> <mode> <uid> <gid> <mtime s> <ns>". */
#define REPORT_FD 3
/* Wall-clock limit of the install, so that a scriptlet that never ends
 * cannot hold the image step forever. */
#define SANDBOX_TIMEOUT_S 3600
/* Memory and task limits of the install (sandbox/cgroup.h), a build's: a
 * scriptlet's fork bomb or memory hog is stopped there, not at the
 * deadline. As root, the install is not held by the fallback's
 * RLIMIT_NPROC. */
#define SANDBOX_MEMORY_MAX (8ULL << 30)
#define SANDBOX_PIDS 4096
#define SANDBOX_CPU_WEIGHT 100
/* How often the install's cgroup is asked whether it refused a fork. */
#define LIMIT_CHECK_MS 500

/* Mount points the sandbox needs in the root besides SANDBOX_RPMDIR. The
 * parent creates them empty; after the install each is kept (with the
 * metadata librpm gave it, which landed on the mounted filesystem) when a
 * package owns it, and removed otherwise. Files packages install under them
 * land on the mounts and are not in the image, as with the toolkit's
 * imager, which installs with the same directories mounted. */
static const char *const sandbox_dirs[] = { "dev", "proc" };

/* What the install child works on. */
struct sandbox {
	const char *rootfs;        /* absolute path of the root on the host */
	const char *const *repo_dirs; /* repositories holding the RPM files */
	const char *hostname;      /* the sandbox's host name */
	const char *what;          /* the root, in the sandbox's errors */
	const struct sy_strv *rpms; /* RPM files as paths inside the root */
	struct sandbox_cgroup cgroup; /* the install's limits */
	long long install_time;    /* sandbox_root_install.install_time */
	int nodocs;                /* sandbox_root_install.nodocs */
	int (*after_install)(void *arg, struct sy_error *err);
	void *after_arg;           /* sandbox_root_install.after_install, its arg */
};

/* Reports err to the parent and the log; returns the child's status
 * (also sandbox_config.setup_failed). */
static int sandbox_fail(const struct sy_error *err)
{
	dprintf(REPORT_FD, "error %s\n", err->msg);
	dprintf(2, "shipyard: %s\n", err->msg);
	return 1;
}

/* Bind-mounts src on dst with flags (MS_BIND is added). */
static int bind_mount(const char *src, const char *dst, unsigned long flags,
		      struct sy_error *err)
{
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0)
		return sy_error_set(err, "cannot bind-mount %s on %s: %s", src, dst,
				    strerror(errno));
	return 0;
}

/* Mounts everything the install needs in the root, while nothing untrusted
 * has run in it (the parent created the empty mount points), and reads
 * librpm's configuration from the host before the root (which has no
 * /usr/lib/rpm yet) becomes the process's / (sandbox_config.prepare). */
static int prepare_root(void *arg, struct sy_error *err)
{
	const struct sandbox *sb = arg;
	/* pivot_root needs a mount point; nodev and nosuid so that nothing
	 * the packages put into the root is a way out of it. */
	if (bind_mount(sb->rootfs, sb->rootfs, MS_NOSUID | MS_NODEV, err))
		return -1;
	for (size_t i = 0; sb->repo_dirs[i]; i++) {
		char *rpmdir = sy_xasprintf("%s/" SANDBOX_RPMDIR "/%zu", sb->rootfs, i);
		int rc = bind_mount(sb->repo_dirs[i], rpmdir, RO_FLAGS, err);

		free(rpmdir);
		if (rc)
			return -1;
	}
	return sandbox_rpm_init(err);
}

static int owned_by_package(const char *path)
{
	rpmts ts = rpmtsCreate();
	rpmdbMatchIterator mi;
	int owned;

	rpmPushMacro(NULL, "_dbpath", NULL, SANDBOX_DBPATH, RMIL_CMDLINE);
	rpmtsSetRootDir(ts, "/");
	mi = rpmtsInitIterator(ts, RPMDBI_INSTFILENAMES, path, 0);
	owned = mi && rpmdbNextIterator(mi) != NULL;
	rpmdbFreeIterator(mi);
	rpmtsCloseDB(ts);
	rpmtsFree(ts);
	rpmPopMacro(NULL, "_dbpath");
	return owned;
}

/* Reports the sandbox_dirs packages own, with the metadata librpm gave
 * them (it is on the mounted filesystems). */
static void report_owned_dirs(void)
{
	char path[64];
	struct stat st;

	for (size_t i = 0; i < sizeof(sandbox_dirs) / sizeof(sandbox_dirs[0]); i++) {
		snprintf(path, sizeof(path), "/%s", sandbox_dirs[i]);
		if (owned_by_package(path) && lstat(path, &st) == 0)
			dprintf(REPORT_FD, "keep %s %o %u %u %lld %ld\n", path,
				(unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
				(unsigned)st.st_gid, (long long)st.st_mtim.tv_sec,
				st.st_mtim.tv_nsec);
	}
}

static int setup_failed(void *arg, const struct sy_error *err)
{
	(void)arg;
	return sandbox_fail(err);
}

/* The install, as pid 1 of its sandbox once the root is set up. */
static int install_init(void *arg)
{
	const struct sandbox *sb = arg;
	struct sy_error err = { { 0 } };
	int rc;

	/* librpm (4.18 as Debian 12 builds it) stamps INSTALLTIME and
	 * INSTALLTID from SOURCE_DATE_EPOCH when it is set; the scriptlets
	 * see it too. This process is the sandbox's pid 1, alone. */
	if (sb->install_time > 0) {
		char epoch[32];
		snprintf(epoch, sizeof(epoch), "%lld", sb->install_time);
		setenv("SOURCE_DATE_EPOCH", epoch, 1);
	}
	rc = sandbox_rpm_install("/", (const char *const *)sb->rpms->items,
				 sb->nodocs ? SANDBOX_RPMINSTALL_NODOCS : 0, 2, &err);
	/* Lua scriptlets print through this process's stdio; the caller
	 * leaves with _exit. */
	fflush(NULL);
	if (rc)
		return sandbox_fail(&err);
	/* Before the configuration step, which may remove the rpmdb. */
	report_owned_dirs();
	if (sb->after_install) {
		rc = sb->after_install(sb->after_arg, &err);
		fflush(NULL);
		if (rc)
			return sandbox_fail(&err);
	}
	return 0;
}

/* The install process (install_sandboxed's child_fn, with the report pipe
 * at REPORT_FD, stdout and stderr on the log and no other fd, so that
 * nothing of the parent's open files is reachable through
 * /proc/self/fd): the install runs as pid 1 of a sandbox
 * (sandbox/sandbox.h), so that when it exits every process a scriptlet
 * left behind is killed. */
static int install_child(void *arg)
{
	const struct sandbox *sb = arg;
	struct sy_error err = { { 0 } };
	const struct sandbox_config cfg = {
		SANDBOX_PACKAGE_ROOT, .root = sb->rootfs, .what = sb->what,
		.prepare = prepare_root, .hostname = sb->hostname, .fn = install_init,
		.setup_failed = setup_failed, .arg = (void *)sb,
	};
	int status;

	if (sandbox_cgroup_enter(&sb->cgroup, &err))
		return sandbox_fail(&err);
	status = sandbox_run(&cfg);
	if (status <= 128)
		return status;
	sy_error_set(&err, "install killed by signal %d", status - 128);
	return sandbox_fail(&err);
}

/* ---- in the calling process ---- */

/* The line after line in a report, or NULL. */
static const char *next_line(const char *line)
{
	const char *nl = strchr(line, '\n');

	return nl ? nl + 1 : NULL;
}

/* A "keep" line of the report, checked. The child ran untrusted code, so
 * the report only decides the metadata of a directory inside the image. */
struct kept_dir {
	unsigned mode, uid, gid;
	struct timespec mtime;
};

/* Finds the "keep /<name> ..." line of report. Returns 1 and fills k, or 0. */
static int find_kept(const char *report, const char *name, struct kept_dir *k)
{
	char want[64];
	long long sec;
	long nsec;

	snprintf(want, sizeof(want), "keep /%s ", name);
	for (const char *line = report; line; line = next_line(line)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		if (sscanf(line + strlen(want), "%o %u %u %lld %ld", &k->mode, &k->uid, &k->gid,
			   &sec, &nsec) != 5 || nsec < 0 || nsec >= 1000000000L)
			return 0;
		k->mode &= 07777;
		k->mtime.tv_sec = (time_t)sec;
		k->mtime.tv_nsec = nsec;
		return 1;
	}
	return 0;
}

/* Gives directory name under rootfd (never following a symlink) the
 * metadata k. */
static int restore_dir(int rootfd, const char *rootfs, const char *name,
		       const struct kept_dir *k, struct sy_error *err)
{
	int fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct timespec times[2] = { k->mtime, k->mtime };
	int rc = 0;

	if (fd < 0 || fchown(fd, k->uid, k->gid) < 0 || fchmod(fd, k->mode) < 0 ||
	    futimens(fd, times) < 0)
		rc = sy_error_set(err, "%s/%s: %s", rootfs, name, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Removes SANDBOX_RPMDIR and its nrepos mount points. */
static int remove_rpm_dirs(int rootfd, const char *rootfs, size_t nrepos, struct sy_error *err)
{
	char name[64];

	for (size_t i = 0; i <= nrepos; i++) {
		if (i < nrepos)
			snprintf(name, sizeof(name), SANDBOX_RPMDIR "/%zu", i);
		else
			snprintf(name, sizeof(name), SANDBOX_RPMDIR);
		if (unlinkat(rootfd, name, AT_REMOVEDIR) < 0)
			return sy_error_set(err, "%s/%s: cannot remove: %s", rootfs, name,
					    strerror(errno));
	}
	return 0;
}

/* After the install: removes SANDBOX_RPMDIR and the sandbox_dirs no
 * package owns, and gives the others their packaged metadata. The
 * directories were covered by mounts while untrusted code ran, so they are
 * still the parent's empty directories. */
static int finish_root(const char *rootfs, const char *report, size_t nrepos,
		       struct sy_error *err)
{
	int rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct kept_dir k;
	int rc = 0;

	if (rootfd < 0)
		return sy_error_set(err, "%s: %s", rootfs, strerror(errno));
	for (size_t i = 0; rc == 0 && i < sizeof(sandbox_dirs) / sizeof(sandbox_dirs[0]); i++) {
		const char *name = sandbox_dirs[i];
		if (find_kept(report, name, &k))
			rc = restore_dir(rootfd, rootfs, name, &k, err);
		else if (unlinkat(rootfd, name, AT_REMOVEDIR) < 0)
			rc = sy_error_set(err, "%s/%s: cannot remove: %s", rootfs, name,
					  strerror(errno));
	}
	if (rc == 0)
		rc = remove_rpm_dirs(rootfd, rootfs, nrepos, err);
	close(rootfd);
	return rc;
}

/* The reason a failed install gave on its "error" line, or a generic one. */
static int install_failed(const struct sy_child *c, struct sy_error *err)
{
	const char *line = c->out;

	while (line && strncmp(line, "error ", 6))
		line = next_line(line);
	if (c->timed_out)
		return sy_error_set(err, "install timed out after %u s", SANDBOX_TIMEOUT_S);
	if (line)
		return sy_error_set(err, "%.*s", (int)strcspn(line + 6, "\n"), line + 6);
	return sy_error_set(err, "install failed with status %d, see log", c->status);
}

/* Creates the empty directory rootfs/name. */
static int make_mount_point(const char *rootfs, const char *name, struct sy_error *err)
{
	char *dir = sy_xasprintf("%s/%s", rootfs, name);
	int rc = 0;

	if (mkdir(dir, 0755) < 0)
		rc = sy_error_set(err, "%s: cannot create: %s", dir, strerror(errno));
	free(dir);
	return rc;
}

/* Creates the empty mount points of the sandbox in the fresh root. */
static int make_mount_points(const char *rootfs, size_t nrepos, struct sy_error *err)
{
	char name[64];

	for (size_t i = 0; i < sizeof(sandbox_dirs) / sizeof(sandbox_dirs[0]); i++)
		if (make_mount_point(rootfs, sandbox_dirs[i], err))
			return -1;
	if (make_mount_point(rootfs, SANDBOX_RPMDIR, err))
		return -1;
	for (size_t i = 0; i < nrepos; i++) {
		snprintf(name, sizeof(name), SANDBOX_RPMDIR "/%zu", i);
		if (make_mount_point(rootfs, name, err))
			return -1;
	}
	return 0;
}

/* Maps the host path of an RPM file to its path in the sandbox:
 * "/" SANDBOX_RPMDIR "/<i>/<rest>" for the first repo_dirs[i] it lies
 * under. Returns 0, or -1 with err when it lies under none. */
static int inside_path(const char *const *repo_dirs, const char *rpm, struct sy_strv *inside,
		       struct sy_error *err)
{
	for (size_t i = 0; repo_dirs[i]; i++) {
		size_t len = strlen(repo_dirs[i]);
		if (!strncmp(rpm, repo_dirs[i], len) && rpm[len] == '/') {
			sy_strv_pushf(inside, "/" SANDBOX_RPMDIR "/%zu%s", i, rpm + len);
			return 0;
		}
	}
	return sy_error_set(err, "%s: not in a repository given to the install", rpm);
}

int sandbox_root_install(const struct sandbox_root_install *in, struct sy_error *err)
{
	const struct sandbox_limits limits = {
		sandbox_memory_share(2, SANDBOX_MEMORY_MAX), SANDBOX_PIDS, SANDBOX_CPU_WEIGHT,
	};
	struct sy_strv inside = SY_STRV_INIT;
	struct sandbox sb = { in->rootfs, in->repo_dirs, in->hostname, in->what, &inside,
			      SANDBOX_CGROUP_INIT, in->install_time, in->nodocs,
			      in->after_install, in->after_arg };
	struct sy_child c = SY_CHILD_INIT;
	enum sandbox_limit_hit hit = SANDBOX_LIMIT_NONE;
	size_t nrepos = 0;
	int rc = -1;

	while (in->repo_dirs[nrepos])
		nrepos++;
	for (size_t i = 0; i < in->rpms->n; i++)
		if (inside_path(in->repo_dirs, in->rpms->items[i], &inside, err))
			goto out;
	if (make_mount_points(in->rootfs, nrepos, err))
		goto out;
	c.log_fd = in->log_fd >= 0 ? in->log_fd : SY_CHILD_DEVNULL;
	c.capture = 1;
	c.capture_at = REPORT_FD;
	c.close_fds = 1;
	c.death_signal = SIGKILL;
	c.timeout_s = SANDBOX_TIMEOUT_S;
	c.child_fn = install_child;
	c.child_arg = &sb;
	sandbox_cgroup_create(&sb.cgroup, NULL, in->cgroup_name, &limits);
	if (sb.cgroup.dir) {
		c.tick_fn = sandbox_cgroup_tick;
		c.tick_arg = &sb.cgroup;
		c.tick_ms = LIMIT_CHECK_MS;
	}
	if (sy_child_run(&c, err))
		goto out;
	hit = sandbox_cgroup_hit(&sb.cgroup);
	if (hit)
		sandbox_cgroup_hit_error(&sb.cgroup, hit, err);
	else if (c.status || c.timed_out)
		install_failed(&c, err);
	else
		rc = finish_root(in->rootfs, c.out, nrepos, err);
out:
	sandbox_cgroup_release(&sb.cgroup);
	sy_child_release(&c);
	sy_strv_release(&inside);
	return rc;
}
