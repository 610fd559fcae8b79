#define _GNU_SOURCE
#include "builder/buildjob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/rootfs.h"
#include "sandbox/rpminstall.h"
#include "sandbox/sandbox.h"
#include "builder/worker.h"
#include "common/child.h"
#include "common/fs.h"

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
/* How often the output limit is checked while a build runs. */
#define OUTPUT_CHECK_MS 1000
#define MIB (1024ULL * 1024ULL)
/* How much of the end of the build log is searched for rpmbuild's list of
 * unmet BuildRequires. */
#define LOG_TAIL_BYTES 65536

/* Environment of the rpmbuild steps inside the root: nothing from the host;
 * the build user's. */
static const char *const build_env[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=" BUILD_TOPDIR,
	"LANG=C.UTF-8",
	"USER=" BUILDER_WORKER_BUILD_USER,
	"LOGNAME=" BUILDER_WORKER_BUILD_USER,
	"SHELL=/bin/sh",
	NULL,
};

static const gid_t build_groups[] = { BUILDER_WORKER_BUILD_GID };
/* Who both rpmbuild steps run as. */
static const struct sandbox_user build_user = {
	BUILDER_WORKER_BUILD_USER, BUILDER_WORKER_BUILD_UID, BUILDER_WORKER_BUILD_GID,
	build_groups, 1,
};

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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- inside the build child (new namespaces) ---- */

/* Records err as the job's failure reason and returns status (EXIT_PACKAGE
 * or EXIT_INFRA) as the child's exit status. */
static int child_fail(const struct sy_error *err, int status)
{
	dprintf(REASON_FD, "%s", err->msg);
	dprintf(2, "shipyard: %s\n", err->msg);
	return status;
}

static int mount_overlay(const struct job *job, struct sy_error *err)
{
	char *opts = sy_xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", job->lower, job->upper,
				  job->work);
	int rc = mount("overlay", job->root, "overlay", 0, opts);

	free(opts);
	if (rc < 0)
		return sy_error_set(err, "cannot mount overlay: %s", strerror(errno));
	return 0;
}

/* The extracted alternative to the overlay: the worker tarball unpacked into
 * the root, which is then bind-mounted onto itself (pivot_root needs a mount
 * point). */
static int extract_root(const struct job *job, struct sy_error *err)
{
	dprintf(2, "shipyard: extracting the worker tarball into the build root\n");
	if (builder_rootfs_extract(job->req->worker_tarball, job->root, err))
		return sy_error_prefix(err, "cannot extract the worker root");
	if (mount(job->root, job->root, NULL, MS_BIND, NULL) < 0)
		return sy_error_set(err, "cannot bind-mount the extracted root: %s",
				    strerror(errno));
	return 0;
}

/* Copies ctx's macro files into the root's macros.d (named so that they load
 * after the root's own) and its Lua modules and rpmrc where rpm finds them. */
static int install_macros(const struct job *job, struct sy_error *err)
{
	const struct planner_macro_ctx *ctx = job->req->macros;
	char *dir = sy_xasprintf("%s/usr/lib/rpm/macros.d", job->root);
	int rc = sy_mkdir_p(dir, 0755, err);

	for (size_t i = 0; rc == 0 && i < ctx->macro_files.n; i++) {
		const char *f = ctx->macro_files.items[i], *base = strrchr(f, '/');
		char *dst = sy_xasprintf("%s/macros.zz-%s", dir, base ? base + 1 : f);
		rc = sy_copy_file(f, dst, err);
		free(dst);
	}
	if (rc == 0 && ctx->lua_dir) {
		char *lua = sy_xasprintf("%s/usr/lib/rpm/lua", job->root);
		rc = sy_copy_tree(ctx->lua_dir, lua, err);
		free(lua);
	}
	if (rc == 0 && ctx->rpmrc) {
		char *rpmrc = sy_xasprintf("%s/etc/rpmrc", job->root);
		rc = sy_copy_file(ctx->rpmrc, rpmrc, err);
		free(rpmrc);
	}
	free(dir);
	return rc;
}

/* Makes the RPM file src readable at <root>/<inside>: a read-only bind
 * mount of it on an empty file. */
static int bind_rpm(const char *root, const char *src, const char *inside, struct sy_error *err)
{
	char *dst = sy_xasprintf("%s%s", root, inside);
	char *dir = sy_xasprintf("%.*s", (int)(strrchr(dst, '/') - dst), dst);
	int fd, rc = -1;

	if (sy_mkdir_p(dir, 0755, err))
		goto out;
	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		sy_error_set(err, "%s: cannot create: %s", dst, strerror(errno));
		goto out;
	}
	close(fd);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | RO_FLAGS, NULL) < 0) {
		sy_error_set(err, "%s: cannot make it visible in the build root: %s", src,
			     strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(dir);
	free(dst);
	return rc;
}

/* Gives the tree under the directory dfd (owned; its entries and
 * subdirectories, not dfd itself) to the build user, following no symlink. */
static int chown_entries(int dfd, const char *what, struct sy_error *err)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		close(dfd);
		return sy_error_set(err, "%s: %s", what, strerror(errno));
	}
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fchownat(dirfd(d), de->d_name, BUILDER_WORKER_BUILD_UID,
			     BUILDER_WORKER_BUILD_GID, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = sy_error_set(err, "%s/%s: cannot chown: %s", what, de->d_name,
					  strerror(errno));
			break;
		}
		int sub = openat(dirfd(d), de->d_name,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			rc = chown_entries(sub, what, err);
	}
	closedir(d);
	return rc;
}

/* Gives <root>/build/SOURCES and what it holds to the build user. */
static int chown_sources(const struct job *job, struct sy_error *err)
{
	char *sources = sy_xasprintf("%s" BUILD_SOURCEDIR, job->root);
	int fd = open(sources, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0 || fchown(fd, BUILDER_WORKER_BUILD_UID, BUILDER_WORKER_BUILD_GID) < 0) {
		rc = sy_error_set(err, "%s: cannot give to the build user: %s", sources,
				  strerror(errno));
		if (fd >= 0)
			close(fd);
	} else {
		rc = chown_entries(fd, sources, err);
	}
	free(sources);
	return rc;
}

/* Fills the merged root from the host while nothing untrusted has run in it
 * yet (so no path in it can be a symlink planted by a package or the
 * build): the spec directory, the macro context, and the BuildRequires RPM
 * files, whose paths inside the root are appended to deps. */
static int prepare_root(const struct job *job, struct sy_strv *deps, struct sy_error *err)
{
	const struct builder_build_request *req = job->req;
	char *sources = sy_xasprintf("%s" BUILD_SOURCEDIR, job->root);
	int rc = -1;

	if (sy_mkdir_p(sources, 0755, err) || sy_copy_tree(req->spec_dir, sources, err) ||
	    chown_sources(job, err))
		goto out;
	if (req->macros && install_macros(job, err))
		goto out;
	for (size_t i = 0; req->install_rpms && req->install_rpms[i]; i++) {
		const char *src = req->install_rpms[i], *base = strrchr(src, '/');
		char *inside = sy_xasprintf(BUILD_DEPSDIR "/%zu/%s", i, base ? base + 1 : src);
		sy_strv_push_owned(deps, inside);
		if (bind_rpm(job->root, src, inside, err))
			goto out;
	}
	rc = 0;
out:
	free(sources);
	return rc;
}

/* Runs in the child of a step before exec: becomes the build user for
 * good. */
static int become_build_user(void *arg)
{
	struct sy_error err = { { 0 } };

	(void)arg;
	if (sandbox_become_user(&build_user, &err) == 0)
		return 0;
	dprintf(2, "shipyard: %s\n", err.msg);
	return -1;
}

/* Runs one rpmbuild inside the root; what names the step in errors. */
static int run_rpmbuild(const char *const *mode, const char *target, const char *what,
			const struct planner_macro_ctx *macros, const struct sy_strv *late,
			struct sy_error *err)
{
	struct sy_strv argv = SY_STRV_INIT;
	struct sy_child c = SY_CHILD_INIT;
	int rc = -1;

	sy_strv_push(&argv, "/usr/bin/rpmbuild");
	for (; *mode; mode++)
		sy_strv_push(&argv, *mode);
	sy_strv_push(&argv, "--define");
	sy_strv_push(&argv, "_topdir " BUILD_TOPDIR);
	sy_strv_push(&argv, "--define");
	sy_strv_push(&argv, "_dbpath " BUILD_DBPATH);
	if (macros)
		planner_macro_ctx_rpmbuild_args(macros, &argv);
	/* After the distribution's defines, which they override. */
	for (size_t i = 0; late && i < late->n; i++)
		sy_strv_push(&argv, late->items[i]);
	sy_strv_push(&argv, target);
	dprintf(2, "shipyard: running %s\n", what);
	c.argv = (const char *const *)argv.items;
	c.env = build_env;
	c.cwd = BUILD_TOPDIR;
	c.child_fn = become_build_user;
	if (sy_child_run(&c, err))
		goto out;
	if (c.status) {
		sy_error_set(err, "%s failed with status %d, see log", what, c.status);
		goto out;
	}
	rc = 0;
out:
	sy_strv_release(&argv);
	return rc;
}

/* Finds the one SRPM rpmbuild -bs wrote under /build/SRPMS. */
static char *find_srpm(const char *dir, struct sy_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char *found = NULL;

	if (!d) {
		sy_error_set(err, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d)) && !found) {
		size_t n = strlen(de->d_name);
		if (n > 8 && !strcmp(de->d_name + n - 8, ".src.rpm"))
			found = sy_xasprintf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	if (!found)
		sy_error_set(err, "%s: rpmbuild -bs wrote no SRPM", dir);
	return found;
}

/* Both rpmbuild steps, run from inside the root. */
static int run_builds(const struct job *job, struct sy_error *err)
{
	const struct builder_build_request *req = job->req;
	const char *const bs[] = { "-bs", "--define", "_sourcedir " BUILD_SOURCEDIR, NULL };
	const char *const rebuild[] = { "--rebuild", "--nocheck", NULL };
	const char *const check[] = { "--rebuild", NULL };
	char *spec = sy_xasprintf(BUILD_SOURCEDIR "/%s", req->spec_file);
	char *srpm = NULL;
	struct sy_strv late = SY_STRV_INIT;
	int rc = -1;

	if (req->smp_ncpus_max) {
		sy_strv_push(&late, "--define");
		sy_strv_pushf(&late, "_smp_ncpus_max %u", req->smp_ncpus_max);
	}
	if (run_rpmbuild(bs, spec, "rpmbuild -bs", req->macros, &late, err))
		goto out;
	srpm = find_srpm(BUILD_TOPDIR "/SRPMS", err);
	if (!srpm || run_rpmbuild(rebuild, srpm, "rpmbuild", req->macros, &late, err))
		goto out;
	if (req->run_check) {
		/* The test build: its packages are thrown away, its result is
		 * only reported (on REASON_FD, read by check_result). */
		struct sy_error cerr = { { 0 } };
		sy_strv_push(&late, "--define");
		sy_strv_push(&late, "with_check 1");
		sy_strv_push(&late, "--define");
		sy_strv_push(&late, "_topdir " BUILD_TOPDIR "/check");
		if (run_rpmbuild(check, srpm, "rpmbuild with %check", req->macros, &late, &cerr))
			dprintf(REASON_FD, "check failed: %s", cerr.msg);
		else
			dprintf(REASON_FD, "check passed");
	}
	rc = 0;
out:
	sy_strv_release(&late);
	free(srpm);
	free(spec);
	return rc;
}

/* The probe's step: /bin/true as the build user, as rpmbuild would run. */
static int run_probe(struct sy_error *err)
{
	const char *const argv[] = { "/bin/true", NULL };
	struct sy_child c = SY_CHILD_INIT;

	c.argv = argv;
	c.env = build_env;
	c.cwd = BUILD_TOPDIR;
	c.child_fn = become_build_user;
	if (sy_child_run(&c, err))
		return -1;
	if (c.status)
		return sy_error_set(err, "/bin/true failed with status %d", c.status);
	return 0;
}

/* Installs the BuildRequires RPMs (paths inside the root) from inside the
 * root: after pivot_root, with capabilities dropped, so their scriptlets
 * reach nothing of the host. */
static int install_deps(const struct sy_strv *deps, struct sy_error *err)
{
	if (!deps->n)
		return 0;
	dprintf(2, "shipyard: installing BuildRequires into the build root\n");
	if (sandbox_rpm_install("/", (const char *const *)deps->items, SANDBOX_RPMINSTALL_NODEPS,
				2, err))
		return sy_error_prefix(err, "installing BuildRequires");
	return 0;
}

/* The root's filesystem (sandbox_config.prepare, in the build's pid 1):
 * the overlay or the extracted worker root and, unless a probe, the host's
 * files. */
static int mount_root(void *arg, struct sy_error *err)
{
	struct job *job = arg;

	if (job->req->worker_tarball ? extract_root(job, err) : mount_overlay(job, err))
		return -1;
	return job->probe ? 0 : prepare_root(job, &job->deps, err);
}

/* A build whose sandbox could not be set up failed for the machine's
 * sake (sandbox_config.setup_failed). */
static int setup_failed(void *arg, const struct sy_error *err)
{
	(void)arg;
	return child_fail(err, EXIT_INFRA);
}

/* The build, as pid 1 of its sandbox once the root is set up. Returns the
 * exit status (0, or EXIT_PACKAGE or EXIT_INFRA with the reason on
 * REASON_FD). */
static int build_init(void *arg)
{
	struct job *job = arg;
	struct sy_error err = { { 0 } };
	int rc;

	if (job->probe)
		rc = run_probe(&err) ? EXIT_INFRA : 0;
	else
		rc = install_deps(&job->deps, &err) || run_builds(job, &err) ? EXIT_PACKAGE : 0;
	return rc ? child_fail(&err, rc) : 0;
}

/* The build process (run_child's child_fn, with the reason file at
 * REASON_FD and no other fd): the build runs as pid 1 of a sandbox
 * (sandbox/sandbox.h: new mount, pid, network, IPC and UTS namespaces;
 * /proc, /dev, pivot_root, host name, capabilities dropped), so that
 * killing it kills every process of the build. Everything the host writes
 * into the root happens before the first untrusted code (a package's
 * scriptlet) runs. */
static int build_child(void *arg)
{
	struct job *job = arg;
	struct sy_error err = { { 0 } };
	const struct sandbox_config cfg = {
		SANDBOX_PACKAGE_ROOT, .root = job->root, .what = "the build root",
		.prepare = mount_root, .hostname = BUILD_HOSTNAME, .fn = build_init,
		.setup_failed = setup_failed, .arg = job,
	};
	int status = sandbox_run(&cfg);

	if (status <= 128)
		return status;
	/* Its own processes cannot signal pid 1: the kernel's OOM killer ended
	 * it, the package's doing. */
	sy_error_set(&err, "build killed by signal %d", status - 128);
	return child_fail(&err, EXIT_PACKAGE);
}

/* ---- in the calling process ---- */

static void job_release(struct job *job)
{
	free(job->scratch);
	free(job->upper);
	free(job->work);
	free(job->root);
	free(job->lower);
	sy_strv_release(&job->deps);
	if (job->reason_fd >= 0)
		close(job->reason_fd);
}

/* Takes the lock of scratch without waiting. Returns 0 with the locked fd
 * in *fd, 1 when another holder has it, -1 with err when the lock file
 * cannot be made. The file is removed on release (builder_build_unlock), so
 * a lock taken on a file that was meanwhile removed is dropped and taken
 * again on the current one. */
static int try_lock(const char *scratch, int *fd, struct sy_error *err)
{
	char *path = sy_xasprintf("%s.lock", scratch);
	struct stat held, now;
	int rc = -1;

	for (;;) {
		*fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (*fd < 0) {
			sy_error_set(err, "%s: cannot create lock file: %s", path, strerror(errno));
			break;
		}
		if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;
			close(*fd);
			*fd = -1;
			if (e == EWOULDBLOCK) {
				rc = 1;
			} else {
				sy_error_set(err, "%s: cannot lock: %s", path, strerror(e));
			}
			break;
		}
		if (fstat(*fd, &held) == 0 && lstat(path, &now) == 0 && held.st_dev == now.st_dev &&
		    held.st_ino == now.st_ino) {
			rc = 0;
			break;
		}
		close(*fd);
	}
	free(path);
	return rc;
}

int builder_build_lock(const char *scratch_dir, struct sy_error *err)
{
	const char *slash = strrchr(scratch_dir, '/');
	char *parent = slash && slash > scratch_dir
		? sy_xasprintf("%.*s", (int)(slash - scratch_dir), scratch_dir) : NULL;
	int fd = -1, rc = parent ? sy_mkdir_p(parent, 0755, err) : 0;

	free(parent);
	if (rc == 0)
		rc = try_lock(scratch_dir, &fd, err);

	if (rc == 1)
		sy_error_set(err, "%s: in use by another build", scratch_dir);
	return rc ? -1 : fd;
}

void builder_build_unlock(const char *scratch_dir, int fd)
{
	char *path = sy_xasprintf("%s.lock", scratch_dir);

	unlink(path);
	close(fd);
	free(path);
}

/* Creates the scratch directory afresh (the caller holds its lock). */
static int prepare_scratch(struct job *job, struct sy_error *err)
{
	const struct builder_build_request *req = job->req;
	char *reason;

	job->lower = realpath(req->worker_root, NULL);
	if (!job->lower)
		return sy_error_set(err, "worker root %s: %s", req->worker_root, strerror(errno));
	if (sy_rm_rf(req->scratch_dir, err) || sy_mkdir_p(req->scratch_dir, 0700, err))
		return -1;
	job->scratch = realpath(req->scratch_dir, NULL);
	if (!job->scratch)
		return sy_error_set(err, "%s: %s", req->scratch_dir, strerror(errno));
	job->root = sy_xasprintf("%s/root", job->scratch);
	if (req->worker_tarball) {
		job->upper = sy_xstrdup(job->root);
		if (builder_worker_disk_usage(job->lower, &job->baseline, err))
			return -1;
	} else {
		job->upper = sy_xasprintf("%s/upper", job->scratch);
		job->work = sy_xasprintf("%s/work", job->scratch);
		if (sy_mkdir_p(job->upper, 0755, err) || sy_mkdir_p(job->work, 0700, err))
			return -1;
	}
	if (sy_mkdir_p(job->root, 0755, err))
		return -1;
	reason = sy_xasprintf("%s/reason", job->scratch);
	job->reason_fd = open(reason, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	free(reason);
	if (job->reason_fd < 0)
		return sy_error_set(err, "%s/reason: %s", job->scratch, strerror(errno));
	return 0;
}

/* Opens directory name under dirfd without following a symlink; -1 with
 * errno otherwise (ENOENT, ELOOP or ENOTDIR for a symlink or a file). The
 * build controls everything under its root, so host code never resolves a
 * path there. */
static int open_dir_at(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Copies regular file name from sfd to dfd (another filesystem): through a
 * temporary name in dfd, then renamed; the source is removed. */
static int copy_at(int sfd, const char *name, int dfd, const char *out_dir, struct sy_error *err)
{
	char *tmp = sy_xasprintf(".%s.tmp", name);
	char buf[65536];
	struct stat st;
	ssize_t n = 0;
	int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -1, rc = -1;

	if (in < 0 || fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		sy_error_set(err, "%s: cannot read output: %s", name,
			     in < 0 ? strerror(errno) : "not a regular file");
		goto out;
	}
	out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (out < 0) {
		sy_error_set(err, "%s/%s: cannot create: %s", out_dir, tmp, strerror(errno));
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		ssize_t w = write(out, buf, (size_t)n);
		if (w != n) {
			if (w >= 0)
				errno = ENOSPC;
			n = -1;
			break;
		}
	}
	if (n < 0 || fsync(out) < 0 || close(out) < 0 || renameat(dfd, tmp, dfd, name) < 0) {
		sy_error_set(err, "%s/%s: cannot copy output: %s", out_dir, name, strerror(errno));
		out = -1;
		unlinkat(dfd, tmp, 0);
		goto out;
	}
	out = -1;
	unlinkat(sfd, name, 0);
	rc = 0;
out:
	if (out >= 0) {
		close(out);
		unlinkat(dfd, tmp, 0);
	}
	if (in >= 0)
		close(in);
	free(tmp);
	return rc;
}

/* Moves every regular file of directory dirfd whose name ends in suffix into
 * out_fd (the directory out_dir), appending the new paths to moved.
 * Anything else (symlinks, directories, devices) is left alone. Takes
 * ownership of dirfd. */
static int move_matching(int dirfd, const char *suffix, int out_fd, const char *out_dir,
			 struct sy_strv *moved, struct sy_error *err)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	struct stat st;
	size_t slen = strlen(suffix);
	int rc = 0;

	if (!d) {
		close(dirfd);
		return sy_error_set(err, "cannot read build outputs: %s", strerror(errno));
	}
	while (rc == 0 && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n <= slen || strcmp(de->d_name + n - slen, suffix))
			continue;
		/* Symlinks, directories and devices are not outputs. */
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (renameat(dirfd, de->d_name, out_fd, de->d_name) < 0) {
			if (errno != EXDEV)
				rc = sy_error_set(err, "%s: cannot move to %s: %s", de->d_name,
						  out_dir, strerror(errno));
			else
				rc = copy_at(dirfd, de->d_name, out_fd, out_dir, err);
		}
		if (rc == 0)
			sy_strv_push_owned(moved, sy_xasprintf("%s/%s", out_dir, de->d_name));
	}
	closedir(d);
	return rc;
}

/* Moves the RPMs of every architecture directory of rpms_fd (a directory
 * of the build, owned) into out_fd. */
static int move_rpms(int rpms_fd, int out_fd, const char *out_dir, struct sy_strv *moved,
		     struct sy_error *err)
{
	DIR *d = fdopendir(rpms_fd);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		close(rpms_fd);
		return sy_error_set(err, "cannot read build outputs: %s", strerror(errno));
	}
	while (rc == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int arch_fd = open_dir_at(rpms_fd, de->d_name);
		if (arch_fd >= 0)
			rc = move_matching(arch_fd, ".rpm", out_fd, out_dir, moved, err);
		else if (errno != ELOOP && errno != ENOTDIR && errno != ENOENT)
			rc = sy_error_set(err, "RPMS/%s: %s", de->d_name, strerror(errno));
	}
	closedir(d);
	return rc;
}

/* Takes the SRPM and the RPMs from the overlay's upper dir (new files live
 * there) into out_dir: regular files only, no symlink followed. *infra is set
 * unless the failure is the build's (it left no single SRPM). */
static int collect_outputs(const struct job *job, struct builder_build_result *res, int *infra,
			   struct sy_error *err)
{
	const char *out_dir = job->req->out_dir;
	struct sy_strv srpm = SY_STRV_INIT;
	int upper = -1, build = -1, srpms, rpms, out_fd = -1, rc = -1;

	*infra = 1;
	if (sy_mkdir_p(out_dir, 0755, err))
		goto out;
	out_fd = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	upper = open(job->upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (out_fd < 0 || upper < 0) {
		sy_error_set(err, "%s: %s", out_fd < 0 ? out_dir : job->upper, strerror(errno));
		goto out;
	}
	build = open_dir_at(upper, BUILD_TOPDIR + 1);
	srpms = build < 0 ? -1 : open_dir_at(build, "SRPMS");
	if (srpms >= 0 && move_matching(srpms, ".src.rpm", out_fd, out_dir, &srpm, err))
		goto out;
	if (srpm.n != 1) {
		sy_error_set(err, "%s" BUILD_TOPDIR "/SRPMS: expected one SRPM, found %zu",
			     job->upper, srpm.n);
		*infra = 0;
		goto out;
	}
	rpms = open_dir_at(build, "RPMS");
	if (rpms >= 0 && move_rpms(rpms, out_fd, out_dir, &res->rpms, err))
		goto out;
	sy_strv_sort_unique(&res->rpms);
	res->srpm = srpm.items[0];
	srpm.items[0] = NULL;
	*infra = 0;
	rc = 0;
out:
	if (build >= 0)
		close(build);
	if (upper >= 0)
		close(upper);
	if (out_fd >= 0)
		close(out_fd);
	sy_strv_release(&srpm);
	return rc;
}

/* Size of the regular file fd, or -1 when it is not one. */
static off_t regular_size(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	return st.st_size;
}

/* Returns rpmbuild's list of unmet BuildRequires when the build log (the
 * regular file log_fd, written from offset since on) ends with one:
 * "Failed build dependencies: a is needed by p; b is needed by p" (newly
 * allocated), else NULL. The log is reopened for reading through /proc, as
 * log_fd may be write-only. */
static char *failed_deps_message(int log_fd, off_t since)
{
	static const char marker[] = "Failed build dependencies:";
	char *path = sy_xasprintf("/proc/self/fd/%d", log_fd);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t size = regular_size(fd), from;
	char *buf = NULL, *hit = NULL, *msg = NULL;
	ssize_t n;
	int unmet = 0;

	free(path);
	if (size < 0 || size <= since)
		goto out;
	from = size - since > LOG_TAIL_BYTES ? size - LOG_TAIL_BYTES : since;
	buf = sy_xmalloc(LOG_TAIL_BYTES + 1);
	n = pread(fd, buf, (size_t)(size - from), from);
	if (n <= 0)
		goto out;
	buf[n] = '\0';
	for (char *p = buf; (p = strstr(p, marker)); p++)
		hit = p;
	if (!hit)
		goto out;
	msg = sy_xstrdup(marker);
	/* The unmet ones follow, one per line, indented. */
	for (char *line = strchr(hit, '\n'); line && (line[1] == '\t' || line[1] == ' ');
	     line = strchr(line + 1, '\n')) {
		char *start = line + 1 + strspn(line + 1, " \t");
		char *longer = sy_xasprintf("%s%s %.*s", msg, unmet++ ? ";" : "",
					    (int)strcspn(start, "\n"), start);
		free(msg);
		msg = longer;
	}
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return msg;
}

/* Formats an output limit for messages: "64 MiB", "0.50 MiB". */
static void format_limit(unsigned long long bytes, char *buf, size_t size)
{
	if (bytes % MIB == 0)
		snprintf(buf, size, "%llu MiB", bytes / MIB);
	else
		snprintf(buf, size, "%.2f MiB", (double)bytes / (double)MIB);
}

/* The output limit check while the build runs (sy_child tick_fn): 1 when
 * the root's changes have grown past the limit. An extracted root is
 * measured against the worker root's size (while it is being extracted it
 * is below). */
static int over_output_limit(void *arg)
{
	const struct job *job = arg;
	unsigned long long used = 0;

	if (builder_worker_disk_usage(job->upper, &used, NULL))
		return 0;
	return used > job->baseline && used - job->baseline > job->req->output_limit_bytes;
}

/* Turns the build child's end into an error message; *infra tells whose
 * failure it is. log_start is the log's size when the build began. */
static int child_error(const struct job *job, const struct sy_child *c, off_t log_start,
		       int *infra, struct sy_error *err)
{
	const struct builder_build_request *req = job->req;
	char *path, *reason = NULL, *deps = NULL, limit[64];

	*infra = 0;
	if (c->timed_out)
		return sy_error_set(err, "timed out after %u s", req->timeout_s);
	if (c->stopped) {
		format_limit(req->output_limit_bytes, limit, sizeof(limit));
		return sy_error_set(err, "output limit of %s exceeded", limit);
	}
	*infra = c->status != EXIT_PACKAGE;
	path = sy_xasprintf("%s/reason", job->scratch);
	if (sy_read_file(path, &reason, NULL, NULL) == 0 && reason[0]) {
		if (!strncmp(reason, "rpmbuild failed", 15) && log_start >= 0)
			deps = failed_deps_message(req->log_fd, log_start);
		if (deps)
			sy_error_set(err, "%.*s: %s", (int)strcspn(reason, ","), reason, deps);
		else
			sy_error_set(err, "%s", reason);
	} else {
		sy_error_set(err, "build exited with status %d, see log", c->status);
	}
	free(deps);
	free(reason);
	free(path);
	return -1;
}

/* Removes the scratch directory; processes of a killed build may still be
 * leaving their namespace, so a few tries. */
static int remove_scratch(const char *scratch, struct sy_error *err)
{
	for (int i = 0; i < 50; i++) {
		if (sy_rm_rf(scratch, err) == 0)
			return 0;
		usleep(100 * 1000);
	}
	return -1;
}

/* Runs the build child of job and turns its end into 0 or -1 with err and
 * *infra. */
static int run_child(struct job *job, int *infra, struct sy_error *err)
{
	const struct builder_build_request *req = job->req;
	struct sy_child c = SY_CHILD_INIT;
	off_t log_start = regular_size(req->log_fd);

	c.child_fn = build_child;
	c.child_arg = job;
	c.log_fd = req->log_fd >= 0 ? req->log_fd : SY_CHILD_DEVNULL;
	c.extra_fd = job->reason_fd;
	c.extra_fd_at = REASON_FD;
	/* Nothing of the caller's open files may be reachable from the build
	 * (through /proc/1/fd). */
	c.close_fds = 1;
	/* It dies with the caller, and the build (its pid 1) with it. */
	c.death_signal = SIGKILL;
	c.timeout_s = req->timeout_s;
	if (req->output_limit_bytes) {
		c.tick_fn = over_output_limit;
		c.tick_arg = job;
		c.tick_ms = OUTPUT_CHECK_MS;
	}
	*infra = 1;
	if (sy_child_run(&c, err))
		return -1;
	if (c.timed_out || c.stopped || c.status)
		return child_error(job, &c, log_start, infra, err);
	*infra = 0;
	/* It may have ended between two checks. */
	if (req->output_limit_bytes && over_output_limit(job)) {
		c.stopped = 1;
		return child_error(job, &c, log_start, infra, err);
	}
	return 0;
}

/* What the test build reported on REASON_FD: -1 not run, 0 passed, 1
 * failed. */
static int check_result(const struct job *job)
{
	char *path = sy_xasprintf("%s/reason", job->scratch), *text = NULL;
	int check = -1;

	if (!job->req->run_check || sy_read_file(path, &text, NULL, NULL) == 0) {
		if (text && !strncmp(text, "check passed", 12))
			check = 0;
		else if (text && !strncmp(text, "check failed", 12))
			check = 1;
	}
	free(text);
	free(path);
	return check;
}

/* The whole cycle of a build or a probe: lock, worker root held, scratch
 * made, child run, outputs collected (unless a probe), scratch removed. */
static int run_job(struct job *job, struct builder_build_result *res, int *infra,
		   struct sy_error *err)
{
	const struct builder_build_request *req = job->req;
	struct sy_error cleanup_err = { { 0 } };
	int lock_fd = -1, hold_fd = -2, rc = -1;

	*infra = 1;
	/* Another build holding the lock owns the scratch directory: leave it. */
	if (!req->locked && (lock_fd = builder_build_lock(req->scratch_dir, err)) < 0)
		return -1;
	hold_fd = builder_worker_hold(req->worker_root, err);
	if (hold_fd == -1 || prepare_scratch(job, err))
		goto out;
	if (run_child(job, infra, err))
		goto out;
	res->check = check_result(job);
	rc = job->probe ? 0 : collect_outputs(job, res, infra, err);
out:
	if (remove_scratch(job->scratch ? job->scratch : req->scratch_dir, &cleanup_err) &&
	    rc == 0) {
		rc = sy_error_set(err, "%s", cleanup_err.msg);
		*infra = 1;
	}
	if (hold_fd >= 0)
		close(hold_fd);
	if (lock_fd >= 0)
		builder_build_unlock(req->scratch_dir, lock_fd);
	return rc;
}

int builder_build_run(const struct builder_build_request *req, struct builder_build_result *res,
		      struct sy_error *err)
{
	struct job job = { .req = req, .reason_fd = -1 };
	double t0 = now_s();
	int infra = 0, rc;

	memset(res, 0, sizeof(*res));
	res->check = -1;
	rc = run_job(&job, res, &infra, err);
	job_release(&job);
	if (rc)
		builder_build_result_release(res);
	res->infrastructure = rc ? infra : 0;
	res->seconds = now_s() - t0;
	return rc;
}

int builder_build_root_probe(const char *worker_root, const char *scratch_dir, double *seconds,
			     struct sy_error *err)
{
	struct builder_build_request req = {
		.worker_root = worker_root,
		.scratch_dir = scratch_dir,
		.log_fd = -1,
		.timeout_s = 60,
	};
	struct builder_build_result res = { SY_STRV_INIT, NULL, 0, 0 };
	struct job job = { .req = &req, .reason_fd = -1, .probe = 1 };
	double t0 = now_s();
	int infra, rc = run_job(&job, &res, &infra, err);

	*seconds = now_s() - t0;
	job_release(&job);
	builder_build_result_release(&res);
	return rc;
}

void builder_build_result_release(struct builder_build_result *res)
{
	sy_strv_release(&res->rpms);
	free(res->srpm);
	res->srpm = NULL;
}

/* Returns the scratch directory an entry of a builds directory belongs to:
 * "<scratch>", "<scratch>.src" or "<scratch>.lock" (caller frees). */
static char *entry_scratch(const char *builds_dir, const char *name)
{
	static const char *const suffixes[] = { ".src", ".lock" };
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t m = strlen(suffixes[i]);
		if (n > m && !strcmp(name + n - m, suffixes[i]))
			return sy_xasprintf("%s/%.*s", builds_dir, (int)(n - m), name);
	}
	return sy_xasprintf("%s/%s", builds_dir, name);
}

/* Removes path if it is a directory (not following a symlink). */
static int remove_dir(const char *path, struct sy_error *err)
{
	struct stat st;

	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	return sy_rm_rf(path, err);
}

int builder_build_sweep(const char *builds_dir, struct sy_error *err)
{
	DIR *d = opendir(builds_dir);
	struct sy_error one = { { 0 } };
	struct dirent *de;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : sy_error_set(err, "%s: %s", builds_dir, strerror(errno));
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *scratch = entry_scratch(builds_dir, de->d_name);
		char *src = sy_xasprintf("%s.src", scratch);
		int fd, locked = try_lock(scratch, &fd, &one);
		/* A running build (or its caller) holds the lock. */
		if (locked == 0) {
			if (remove_dir(scratch, &one) || remove_dir(src, &one))
				locked = -1;
			builder_build_unlock(scratch, fd);
		}
		if (locked < 0 && rc == 0)
			rc = sy_error_set(err, "%s", one.msg);
		free(src);
		free(scratch);
	}
	closedir(d);
	return rc;
}
