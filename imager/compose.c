#define _GNU_SOURCE
#include "imager/compose.h"
#include "sandbox/solvload.h"

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

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmts.h>
#include <solv/knownid.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/selection.h>
#include <solv/solver.h>
#include <solv/transaction.h>

#include "sandbox/rpminstall.h"
#include "sandbox/sandbox.h"
#include "common/child.h"
#include "common/fs.h"

/* The package the toolkit's imager installs first when the repository has it. */
#define COMPOSE_FIRST_PACKAGE "filesystem"

/* Creates a pool for arch holding the repository at repo_dir. */
static Pool *load_pool(const char *repo_dir, const char *arch, struct sy_error *err)
{
	Pool *pool = pool_create();

	pool_setdisttype(pool, DISTTYPE_RPM);
	pool_setarch(pool, arch);
	if (!sandbox_solv_add_repodata(pool, repo_dir, err)) {
		pool_free(pool);
		return NULL;
	}
	pool_addfileprovides(pool);
	pool_createwhatprovides(pool);
	return pool;
}

/* Appends to job an install job per package spec ("name", "name=1.2-3",
 * "name >= 1.2", "name.arch", a capability). Missing specs go to missing. */
static void add_jobs(Pool *pool, const struct imager_config *cfg, Queue *job,
		     struct sy_strv *missing)
{
	const int flags = SELECTION_NAME | SELECTION_PROVIDES | SELECTION_REL | SELECTION_DOTARCH |
			  SELECTION_CANON;
	Queue sel;

	queue_init(&sel);
	if (selection_make(pool, &sel, COMPOSE_FIRST_PACKAGE, SELECTION_NAME) && sel.count)
		for (int i = 0; i < sel.count; i += 2)
			queue_push2(job, SOLVER_INSTALL | sel.elements[i], sel.elements[i + 1]);
	for (size_t p = 0; p < cfg->packages.n; p++) {
		queue_empty(&sel);
		selection_make(pool, &sel, cfg->packages.items[p], flags);
		if (sel.count == 0) {
			sy_strv_push(missing, cfg->packages.items[p]);
			continue;
		}
		for (int i = 0; i < sel.count; i += 2)
			queue_push2(job, SOLVER_INSTALL | sel.elements[i], sel.elements[i + 1]);
	}
	queue_free(&sel);
}

/* Joins items with sep into err after prefix. Returns -1. */
static int join_error(struct sy_error *err, const char *prefix, const struct sy_strv *items,
		      const char *sep)
{
	size_t len = (size_t)snprintf(err->msg, sizeof(err->msg), "%s", prefix);

	for (size_t i = 0; i < items->n && len < sizeof(err->msg); i++)
		len += (size_t)snprintf(err->msg + len, sizeof(err->msg) - len, "%s%s",
					i ? sep : "", items->items[i]);
	return -1;
}

static int report_problems(Solver *solv, const struct imager_config *cfg, struct sy_error *err)
{
	struct sy_strv problems = SY_STRV_INIT;
	Id count = solver_problem_count(solv);
	char prefix[256];

	for (Id p = 1; p <= count; p++)
		sy_strv_push(&problems, solver_problem2str(solv, p));
	snprintf(prefix, sizeof(prefix), "image %s: ", cfg->name);
	join_error(err, prefix, &problems, "; ");
	sy_strv_release(&problems);
	return -1;
}

/* A package of the closure. */
struct closure_pkg {
	char *nevra; /* name-[epoch:]version-release.arch */
	char *path;  /* RPM file under the repository */
};

static int cmp_closure(const void *a, const void *b)
{
	return strcmp(((const struct closure_pkg *)a)->nevra, ((const struct closure_pkg *)b)->nevra);
}

/* Fills nevras and rpm_paths, sorted by NEVRA, from the solver's transaction. */
static void collect_transaction(Pool *pool, Solver *solv, const char *repo_dir,
				struct sy_strv *nevras, struct sy_strv *rpm_paths)
{
	Transaction *trans = solver_create_transaction(solv);
	int n = trans->steps.count;
	struct closure_pkg *pkgs = sy_xcalloc((size_t)n + 1, sizeof(*pkgs));

	for (int i = 0; i < n; i++) {
		Solvable *s = pool_id2solvable(pool, trans->steps.elements[i]);
		pkgs[i].nevra = sy_xstrdup(pool_solvable2str(pool, s));
		pkgs[i].path = sy_xasprintf("%s/%s", repo_dir, solvable_lookup_location(s, NULL));
	}
	qsort(pkgs, (size_t)n, sizeof(*pkgs), cmp_closure);
	for (int i = 0; i < n; i++) {
		sy_strv_push_owned(nevras, pkgs[i].nevra);
		if (rpm_paths)
			sy_strv_push_owned(rpm_paths, pkgs[i].path);
		else
			free(pkgs[i].path);
	}
	free(pkgs);
	transaction_free(trans);
}

int imager_closure(const struct imager_config *cfg, const char *repo_dir, const char *arch,
		   struct sy_strv *nevras, struct sy_strv *rpm_paths, struct sy_error *err)
{
	struct sy_strv missing = SY_STRV_INIT;
	Pool *pool = load_pool(repo_dir, arch, err);
	Solver *solv = NULL;
	Queue job;
	int rc = 0;

	if (!pool)
		return sy_error_prefix(err, "image %s", cfg->name);
	queue_init(&job);
	add_jobs(pool, cfg, &job, &missing);
	if (missing.n) {
		char prefix[256];
		snprintf(prefix, sizeof(prefix), "image %s: no package provides ", cfg->name);
		rc = join_error(err, prefix, &missing, ", ");
		goto out;
	}
	solv = solver_create(pool);
	solver_set_flag(solv, SOLVER_FLAG_IGNORE_RECOMMENDED, 1);
	if (solver_solve(solv, &job) != 0) {
		rc = report_problems(solv, cfg, err);
		goto out;
	}
	collect_transaction(pool, solv, repo_dir, nevras, rpm_paths);
out:
	if (solv)
		solver_free(solv);
	queue_free(&job);
	pool_free(pool);
	sy_strv_release(&missing);
	return rc;
}

/* Archive file suffix for a rootfs artifact, or NULL when compose cannot
 * write it. */
static const char *artifact_suffix(const struct imager_artifact *a)
{
	if (a->type[0])
		return NULL;
	if (!strcmp(a->compression, "tar.gz") || !strcmp(a->compression, "tar.xz"))
		return a->compression;
	if (!a->compression[0])
		return "tar";
	return NULL;
}

static int check_artifacts(const struct imager_config *cfg, struct sy_error *err)
{
	if (cfg->nartifacts == 0)
		return sy_error_set(err, "%s: Disks[0] has no Artifacts to compose", cfg->path);
	for (size_t i = 0; i < cfg->nartifacts; i++)
		if (!artifact_suffix(&cfg->artifacts[i]))
			return sy_error_set(err, "%s: artifact %s: Type \"%s\" with Compression "
					    "\"%s\" cannot be composed; rootfs archives (no Type; "
					    "tar.gz, tar.xz or none) can", cfg->path,
					    cfg->artifacts[i].name, cfg->artifacts[i].type,
					    cfg->artifacts[i].compression);
	return 0;
}

static int archive_fail(struct archive *a, const char *what, struct sy_error *err)
{
	const char *msg = archive_error_string(a);

	return sy_error_set(err, "%s: %s", what, msg ? msg : "archive error");
}

/* Copies the data of the current entry of disk into w. */
static int copy_data(struct archive *disk, struct archive *w, const char *out,
		     struct sy_error *err)
{
	char buf[65536];
	la_ssize_t n;

	while ((n = archive_read_data(disk, buf, sizeof(buf))) > 0)
		if (archive_write_data(w, buf, (size_t)n) != n)
			return archive_fail(w, out, err);
	return n < 0 ? archive_fail(disk, out, err) : 0;
}

/* Renames the entry's path from "<rootfs>/x" to "./x" ("./" for the top). */
static void relative_name(struct archive_entry *entry, const char *rootfs)
{
	const char *path = archive_entry_pathname(entry);
	size_t len = strlen(rootfs);
	const char *rest = path && !strncmp(path, rootfs, len) ? path + len : "";
	char *name = rest[0] ? sy_xasprintf(".%s", rest) : sy_xstrdup("./");

	archive_entry_set_pathname(entry, name);
	free(name);
}

/* Walks rootfs and writes its entries (owners, modes, links, hard links kept). */
static int write_tree(struct archive *disk, struct archive *w, const char *rootfs,
		      const char *out, struct sy_error *err)
{
	struct archive_entry_linkresolver *links = archive_entry_linkresolver_new();
	int rc = 0;

	archive_entry_linkresolver_set_strategy(links, archive_format(w));
	for (;;) {
		struct archive_entry *entry = archive_entry_new(), *spare = NULL;
		int r = archive_read_next_header2(disk, entry);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(entry);
			break;
		}
		if (r < ARCHIVE_WARN) {
			archive_entry_free(entry);
			rc = archive_fail(disk, rootfs, err);
			break;
		}
		archive_read_disk_descend(disk);
		relative_name(entry, rootfs);
		archive_entry_linkify(links, &entry, &spare);
		if (archive_write_header(w, entry) < ARCHIVE_WARN)
			rc = archive_fail(w, out, err);
		else if (archive_entry_filetype(entry) == AE_IFREG && !archive_entry_hardlink(entry) &&
			 archive_entry_size(entry) > 0)
			rc = copy_data(disk, w, out, err);
		archive_entry_free(entry);
		archive_entry_free(spare);
		if (rc)
			break;
	}
	archive_entry_linkresolver_free(links);
	return rc;
}

/* Writes rootfs as a pax tar archive at out, compressed per suffix. */
static int write_rootfs_archive(const char *rootfs, const char *out, const char *suffix,
				struct sy_error *err)
{
	struct archive *disk = archive_read_disk_new();
	struct archive *w = archive_write_new();
	char *tmp = sy_xasprintf("%s.tmp", out);
	int rc = 0;

	archive_read_disk_set_symlink_physical(disk);
	archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
	archive_write_set_format_pax_restricted(w);
	if (!strcmp(suffix, "tar.gz"))
		archive_write_add_filter_gzip(w);
	else if (!strcmp(suffix, "tar.xz"))
		archive_write_add_filter_xz(w);
	if (archive_write_open_filename(w, tmp) != ARCHIVE_OK)
		rc = archive_fail(w, tmp, err);
	else if (archive_read_disk_open(disk, rootfs) != ARCHIVE_OK)
		rc = archive_fail(disk, rootfs, err);
	else
		rc = write_tree(disk, w, rootfs, out, err);
	if (archive_write_close(w) != ARCHIVE_OK && rc == 0)
		rc = archive_fail(w, tmp, err);
	archive_read_close(disk);
	archive_read_free(disk);
	archive_write_free(w);
	if (rc == 0) {
		int fd = open(tmp, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0)
			rc = sy_error_set(err, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	if (rc == 0 && rename(tmp, out) < 0)
		rc = sy_error_set(err, "%s: %s", out, strerror(errno));
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* Writes out_dir/manifest.json: the config, arch and the NEVRAs installed. */
static int write_manifest(const struct imager_config *cfg, const char *arch, const char *out_dir,
			  const struct sy_strv *nevras, struct sy_error *err)
{
	json_t *pkgs = json_array();
	char *path = sy_xasprintf("%s/manifest.json", out_dir);
	char *text;
	int rc;

	for (size_t i = 0; i < nevras->n; i++)
		json_array_append_new(pkgs, json_string(nevras->items[i]));
	json_t *root = json_pack("{s:s, s:s, s:s, s:o}", "name", cfg->name, "config", cfg->path,
				 "arch", arch, "packages", pkgs);
	text = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	if (!text)
		rc = sy_error_set(err, "%s: cannot encode", path);
	else
		rc = sy_write_file_atomic(path, text, strlen(text), 0644, err);
	free(text);
	json_decref(root);
	free(path);
	return rc;
}

static int write_artifacts(const struct imager_config *cfg, const char *rootfs,
			   const char *out_dir, struct sy_strv *artifacts, struct sy_error *err)
{
	for (size_t i = 0; i < cfg->nartifacts; i++) {
		const char *suffix = artifact_suffix(&cfg->artifacts[i]);
		char *out = sy_xasprintf("%s/%s.%s", out_dir, cfg->artifacts[i].name, suffix);
		int rc = write_rootfs_archive(rootfs, out, suffix, err);
		if (rc) {
			free(out);
			return rc;
		}
		sy_strv_push_owned(artifacts, out);
	}
	return 0;
}

/* ---- the install sandbox ----
 *
 * Packages come from specs of pull requests, so their scriptlets are
 * untrusted code (and Lua scriptlets run inside librpm's own process). The
 * install runs in a child, as builder/buildjob.c runs a build: new mount,
 * pid, network, IPC and UTS namespaces; the root bind-mounted on itself
 * (nosuid, nodev) with a fresh /dev, a partly read-only /proc and the
 * repository (read-only) mounted in it; pivot_root into it, the host's tree
 * detached; capabilities cut to kept_caps; then librpm installs with root
 * dir "/". The mounts die with the namespace. */

/* Where the repository appears inside the root during the install. */
#define SANDBOX_RPMDIR ".shipyard-rpms"
#define SANDBOX_HOSTNAME "shipyard-image"
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
	const char *repo_dir;      /* repository holding the RPM files */
	const struct sy_strv *rpms; /* RPM files as paths inside the root */
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
	char *rpmdir = sy_xasprintf("%s/" SANDBOX_RPMDIR, sb->rootfs);
	int rc = -1;

	/* pivot_root needs a mount point; nodev and nosuid so that nothing
	 * the packages put into the root is a way out of it. */
	if (bind_mount(sb->rootfs, sb->rootfs, MS_NOSUID | MS_NODEV, err) ||
	    bind_mount(sb->repo_dir, rpmdir, RO_FLAGS, err) || sandbox_rpm_init(err))
		goto out;
	rc = 0;
out:
	free(rpmdir);
	return rc;
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

	rc = sandbox_rpm_install("/", (const char *const *)sb->rpms->items, 0, 2, &err);
	/* Lua scriptlets print through this process's stdio; the caller
	 * leaves with _exit. */
	fflush(NULL);
	if (rc)
		return sandbox_fail(&err);
	report_owned_dirs();
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
		SANDBOX_PACKAGE_ROOT, .root = sb->rootfs, .what = "the image root",
		.prepare = prepare_root, .hostname = SANDBOX_HOSTNAME, .fn = install_init,
		.setup_failed = setup_failed, .arg = (void *)sb,
	};
	int status = sandbox_run(&cfg);

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

/* After the install: removes SANDBOX_RPMDIR and the sandbox_dirs no
 * package owns, and gives the others their packaged metadata. The
 * directories were covered by mounts while untrusted code ran, so they are
 * still the parent's empty directories. */
static int finish_root(const char *rootfs, const char *report, struct sy_error *err)
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
	if (rc == 0 && unlinkat(rootfd, SANDBOX_RPMDIR, AT_REMOVEDIR) < 0)
		rc = sy_error_set(err, "%s/" SANDBOX_RPMDIR ": cannot remove: %s", rootfs,
				  strerror(errno));
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
static int make_mount_points(const char *rootfs, struct sy_error *err)
{
	for (size_t i = 0; i < sizeof(sandbox_dirs) / sizeof(sandbox_dirs[0]); i++)
		if (make_mount_point(rootfs, sandbox_dirs[i], err))
			return -1;
	return make_mount_point(rootfs, SANDBOX_RPMDIR, err);
}

/* Installs rpms (files under repo_dir) into the empty directory rootfs
 * (absolute) in the sandbox; librpm's messages and scriptlet output go to
 * log_fd. */
static int install_sandboxed(const char *rootfs, const char *repo_dir,
			     const struct sy_strv *rpms, int log_fd, struct sy_error *err)
{
	struct sy_strv inside = SY_STRV_INIT;
	struct sandbox sb = { rootfs, repo_dir, &inside };
	struct sy_child c = SY_CHILD_INIT;
	size_t len = strlen(repo_dir);
	int rc = -1;

	for (size_t i = 0; i < rpms->n; i++)
		sy_strv_pushf(&inside, "/" SANDBOX_RPMDIR "%s", rpms->items[i] + len);
	if (make_mount_points(rootfs, err))
		goto out;
	c.log_fd = log_fd >= 0 ? log_fd : SY_CHILD_DEVNULL;
	c.capture = 1;
	c.capture_at = REPORT_FD;
	c.close_fds = 1;
	c.death_signal = SIGKILL;
	c.timeout_s = SANDBOX_TIMEOUT_S;
	c.child_fn = install_child;
	c.child_arg = &sb;
	if (sy_child_run(&c, err))
		goto out;
	if (c.status || c.timed_out)
		install_failed(&c, err);
	else
		rc = finish_root(rootfs, c.out, err);
out:
	sy_child_release(&c);
	sy_strv_release(&inside);
	return rc;
}

int imager_compose(const struct imager_config *cfg, const char *repo_dir, const char *arch,
		   const char *work_dir, const char *out_dir, int log_fd,
		   struct sy_strv *artifacts, struct sy_error *err)
{
	struct sy_strv nevras = SY_STRV_INIT, rpms = SY_STRV_INIT;
	char *rootfs = sy_xasprintf("%s/rootfs", work_dir), *abs_root = NULL;
	struct sy_error ignored;
	int rc;

	rc = check_artifacts(cfg, err);
	if (rc == 0)
		rc = imager_closure(cfg, repo_dir, arch, &nevras, &rpms, err);
	if (rc)
		goto out;
	if ((rc = sy_rm_rf(rootfs, err)) || (rc = sy_mkdir_p(rootfs, 0755, err)) ||
	    (rc = sy_mkdir_p(out_dir, 0755, err)))
		goto out;
	abs_root = realpath(rootfs, NULL);
	if (!abs_root) {
		rc = sy_error_set(err, "%s: %s", rootfs, strerror(errno));
		goto out;
	}
	if (log_fd >= 0)
		dprintf(log_fd, "image %s: installing %zu packages into %s\n", cfg->name, rpms.n,
			abs_root);
	rc = install_sandboxed(abs_root, repo_dir, &rpms, log_fd, err);
	if (rc) {
		sy_error_prefix(err, "image %s", cfg->name);
		goto out;
	}
	rc = write_artifacts(cfg, rootfs, out_dir, artifacts, err);
	if (rc == 0)
		rc = write_manifest(cfg, arch, out_dir, &nevras, err);
	if (rc == 0)
		rc = sy_fsync_dir(out_dir, err);
out:
	sy_rm_rf(rootfs, &ignored);
	free(abs_root);
	free(rootfs);
	sy_strv_release(&nevras);
	sy_strv_release(&rpms);
	return rc;
}
