/* Inside a build: its root mounted and prepared while nothing untrusted has
 * run there, the sandbox entered, the BuildRequires installed and rpmbuild
 * run as the build user (builder/buildjob-private.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/buildjob-private.h"
#include "builder/rebuild.h"
#include "builder/rootfs.h"
#include "builder/worker.h"
#include "common/child.h"
#include "common/fs.h"
#include "sandbox/rpminstall.h"
#include "sandbox/sandbox.h"

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

/* The extracted alternative to the overlay (in the build's process, before
 * the sandbox): the worker tarball unpacked into the root. */
static int extract_root(const struct job *job, struct sy_error *err)
{
	dprintf(2, "shipyard: extracting the worker tarball into the build root\n");
	if (builder_rootfs_extract(job->req->worker_tarball, job->root, err))
		return sy_error_prefix(err, "cannot extract the worker root");
	return 0;
}

/* Makes the extracted root a mount point, as pivot_root needs (in pid 1). */
static int bind_root(const struct job *job, struct sy_error *err)
{
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

/* Runs in the child of a step before exec: the fallback's resource limits
 * (arg: the build's struct sandbox_cgroup), then becomes the build user for
 * good. */
static int become_build_user(void *arg)
{
	struct sy_error err = { { 0 } };

	if (sandbox_cgroup_rlimits(arg, &err) == 0 && sandbox_become_user(&build_user, &err) == 0)
		return 0;
	dprintf(2, "shipyard: %s\n", err.msg);
	return -1;
}

/* Runs one rpmbuild of job inside the root; what names the step in
 * errors. */
static int run_rpmbuild(const struct job *job, const char *const *mode, const char *target,
			const char *what, const struct sy_strv *late, struct sy_error *err)
{
	const struct planner_macro_ctx *macros = job->req->macros;
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
	c.child_arg = (void *)&job->cgroup;
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
	if (req->rebuild_suffix && *req->rebuild_suffix) {
		/* The SRPM's Release gets it, and --rebuild reads the spec
		 * again with the same defines, so the binary packages too. */
		const char *dist = req->macros && req->macros->dist_tag ? req->macros->dist_tag : "";
		sy_strv_push(&late, "--define");
		sy_strv_pushf(&late, "dist %s%s", dist, req->rebuild_suffix);
		sy_strv_push(&late, "--define");
		sy_strv_pushf(&late, "disturl " BUILDER_REBUILD_DISTURL "%s", req->rebuild_suffix);
	}
	if (run_rpmbuild(job, bs, spec, "rpmbuild -bs", &late, err))
		goto out;
	srpm = find_srpm(BUILD_TOPDIR "/SRPMS", err);
	if (!srpm || run_rpmbuild(job, rebuild, srpm, "rpmbuild", &late, err))
		goto out;
	if (req->run_check) {
		/* The test build: its packages are thrown away, its result is
		 * only reported (on REASON_FD, read by check_result). */
		struct sy_error cerr = { { 0 } };
		sy_strv_push(&late, "--define");
		sy_strv_push(&late, "with_check 1");
		sy_strv_push(&late, "--define");
		sy_strv_push(&late, "_topdir " BUILD_TOPDIR "/check");
		if (run_rpmbuild(job, check, srpm, "rpmbuild with %check", &late, &cerr))
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
static int run_probe(const struct job *job, struct sy_error *err)
{
	const char *const argv[] = { "/bin/true", NULL };
	struct sy_child c = SY_CHILD_INIT;

	c.argv = argv;
	c.env = build_env;
	c.cwd = BUILD_TOPDIR;
	c.child_fn = become_build_user;
	c.child_arg = (void *)&job->cgroup;
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

/* Creates the directory path (root's, mode) in the layer. */
static int make_layer_dir(const char *path, mode_t mode, struct sy_error *err)
{
	if (mkdir(path, mode) < 0)
		return sy_error_set(err, "cannot create %s: %s", path, strerror(errno));
	return 0;
}

/* What the build's process prepares before the sandbox
 * (sandbox_config.prepare_outside): with an output limit, the layer, a
 * filesystem of the limit's size, so that the kernel stops the build at it
 * (ENOSPC), holding the overlay's upper and work dirs or the extracted
 * root; the extracted root. */
static int prepare_layer(void *arg, struct sy_error *err)
{
	struct job *job = arg;

	if (job->layer) {
		if (sandbox_sizedfs_mount(job->layer, job->image, job->layer_bytes, 2, &job->fs,
					  err))
			return -1;
		if (job->fs.kind == SANDBOX_SIZEDFS_TMPFS)
			dprintf(2, "shipyard: the build writes into a tmpfs of %llu MiB (%s)\n",
				job->fs.bytes >> 20, job->fs.why_tmpfs);
		if (!job->req->worker_tarball && (make_layer_dir(job->upper, 0755, err) ||
						  make_layer_dir(job->work, 0700, err)))
			return -1;
	}
	if (job->req->worker_tarball) {
		if (extract_root(job, err))
			return -1;
		/* Its size was a generous guess: now the build may add the
		 * limit and a little slack, as over an overlay. */
		if (job->layer &&
		    sandbox_sizedfs_shrink(job->layer, &job->fs, job->req->output_limit_bytes +
						   2 * SANDBOX_SIZEDFS_SLACK, err))
			return -1;
	}
	job->layer_ready = 1;
	return 0;
}

/* Formats a size in bytes for messages: "64 MiB", "0.50 MiB". */
static void format_mib(unsigned long long bytes, char *buf, size_t size)
{
	const unsigned long long mib = 1024ULL * 1024ULL;

	if (bytes % mib == 0)
		snprintf(buf, size, "%llu MiB", bytes / mib);
	else
		snprintf(buf, size, "%.2f MiB", (double)bytes / (double)mib);
}

/* Replaces what REASON_FD holds with err as the failure's reason. */
static int replace_reason(const struct sy_error *err, int status)
{
	if (ftruncate(REASON_FD, 0) == 0)
		lseek(REASON_FD, 0, SEEK_SET);
	return child_fail(err, status);
}

/* The reason of a build that failed with its layer full: the output limit
 * (smaller than asked when the layer is a tmpfs capped by memory).
 * Returns the exit status. */
static int output_limit_exceeded(const struct job *job)
{
	unsigned long long limit = job->req->output_limit_bytes, lost = 0;
	struct sy_error err = { { 0 } };
	char text[64], held[64];

	if (job->fs.bytes < job->layer_bytes)
		lost = job->layer_bytes - job->fs.bytes;
	format_mib(lost < limit ? limit - lost : 0, text, sizeof(text));
	if (!lost) {
		sy_error_set(&err, "output limit of %s exceeded", text);
	} else {
		format_mib(job->fs.bytes, held, sizeof(held));
		sy_error_set(&err, "output limit of %s exceeded (a tmpfs of %s: no ext4 image)",
			     text, held);
	}
	return replace_reason(&err, EXIT_PACKAGE);
}

/* 1 when the build failed because its layer is exhausted: the layer is
 * full, or reason (the failure's, or NULL) is the kernel's ENOSPC while it
 * was filled from the host (a copy that fails removes what it wrote), once
 * it was ready (not while the worker root was extracted into it: that
 * guess is ours). */
static int layer_exhausted(const struct job *job, const char *reason)
{
	if (!job->layer || !job->layer_ready)
		return 0;
	return sandbox_sizedfs_full(job->layer) || (reason && strstr(reason, strerror(ENOSPC)));
}

/* The root's filesystem (sandbox_config.prepare, in the build's pid 1):
 * the overlay or the extracted worker root and, unless a probe, the host's
 * files. */
static int mount_root(void *arg, struct sy_error *err)
{
	struct job *job = arg;

	if (job->req->worker_tarball ? bind_root(job, err) : mount_overlay(job, err))
		return -1;
	return job->probe ? 0 : prepare_root(job, &job->deps, err);
}

/* A build whose sandbox could not be set up failed for the machine's
 * sake (sandbox_config.setup_failed). */
static int setup_failed(void *arg, const struct sy_error *err)
{
	const struct job *job = arg;

	/* Unless the build's own files filled its layer: its sources copied
	 * in. */
	if (layer_exhausted(job, err->msg))
		return output_limit_exceeded(job);
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
		rc = run_probe(job, &err) ? EXIT_INFRA : 0;
	else
		rc = install_deps(&job->deps, &err) || run_builds(job, &err) ? EXIT_PACKAGE : 0;
	return rc ? child_fail(&err, rc) : 0;
}

/* Moves the outputs out of the finished build into out_dir and lists them
 * in job->outputs (see struct job). Returns the exit status. */
static int take_outputs(const struct job *job)
{
	struct builder_build_result res = { SY_STRV_INIT, NULL, 0, 0, 0 };
	struct sy_error err = { { 0 } };
	int infra = 1, fd = -1, rc = 0;

	if (builder_job_take_outputs(job, &res, &infra, &err)) {
		rc = child_fail(&err, infra ? EXIT_INFRA : EXIT_PACKAGE);
		goto out;
	}
	fd = open(job->outputs, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || dprintf(fd, "srpm%c%s%c", 0, res.srpm, 0) < 0) {
		sy_error_set(&err, "%s: %s", job->outputs, strerror(errno));
		rc = child_fail(&err, EXIT_INFRA);
		goto out;
	}
	for (size_t i = 0; i < res.rpms.n; i++)
		if (dprintf(fd, "rpm%c%s%c", 0, res.rpms.items[i], 0) < 0) {
			sy_error_set(&err, "%s: %s", job->outputs, strerror(errno));
			rc = child_fail(&err, EXIT_INFRA);
			goto out;
		}
out:
	if (fd >= 0)
		close(fd);
	builder_build_result_release(&res);
	return rc;
}

/* The build's host name, which rpmbuild records as BuildHost: "shipyard-"
 * and the first 12 digits of the worker root's digest when the root is a
 * cached one ("<cache>/<digest>/root"), so that a package says which root
 * built it (the bootstrap root or one made of the distribution's packages);
 * else BUILD_HOSTNAME. Written into buf. */
static const char *build_hostname(const char *worker_root, char *buf, size_t size)
{
	size_t n = strlen(worker_root);
	const char *digest = n > 5 + SY_SHA256_HEX_LEN ? worker_root + n - 5 - SY_SHA256_HEX_LEN
							: NULL;

	if (!digest || strcmp(worker_root + n - 5, "/root") || digest[-1] != '/' ||
	    strspn(digest, "0123456789abcdef") != SY_SHA256_HEX_LEN)
		return BUILD_HOSTNAME;
	snprintf(buf, size, "shipyard-%.12s", digest);
	return buf;
}

/* The build process (run_child's child_fn, with the reason file at
 * REASON_FD and no other fd): the layer mounted in a mount namespace of
 * its own (gone with the process, whatever ends it), the build run as pid
 * 1 of a sandbox (sandbox/sandbox.h: new mount, pid, network, IPC and UTS
 * namespaces; /proc, /dev, pivot_root, host name, capabilities dropped),
 * so that killing it kills every process of the build. Everything the
 * host writes into the root happens before the first untrusted code (a
 * package's scriptlet) runs; what is read back, after the last of it
 * ended. */
int builder_job_child(void *arg)
{
	struct job *job = arg;
	struct sy_error err = { { 0 } };
	char host[32];
	const struct sandbox_config cfg = {
		SANDBOX_PACKAGE_ROOT, .root = job->root, .what = "the build root",
		.prepare_outside = prepare_layer, .prepare = mount_root,
		.hostname = build_hostname(job->req->worker_root, host, sizeof(host)),
		.fn = build_init, .setup_failed = setup_failed, .arg = job,
	};
	int status;

	if (sandbox_cgroup_enter(&job->cgroup, &err))
		return child_fail(&err, EXIT_INFRA);
	status = sandbox_run(&cfg);
	if (status > 128) {
		/* Its own processes cannot signal pid 1: the kernel's OOM
		 * killer ended it, the package's doing. */
		sy_error_set(&err, "build killed by signal %d", status - 128);
		return child_fail(&err, EXIT_PACKAGE);
	}
	if (status == EXIT_PACKAGE && layer_exhausted(job, NULL))
		return output_limit_exceeded(job);
	if (status || job->probe)
		return status;
	return take_outputs(job);
}
