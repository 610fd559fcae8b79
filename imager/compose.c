#define _GNU_SOURCE
#include "imager/compose.h"
#include "repo-publish/solvload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <solv/knownid.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/selection.h>
#include <solv/solver.h>
#include <solv/transaction.h>

#include "builder/rpminstall.h"
#include "common/fs.h"

/* The package the toolkit's imager installs first when the repository has it. */
#define COMPOSE_FIRST_PACKAGE "filesystem"

/* Creates a pool for arch holding the repository at repo_dir. */
static Pool *load_pool(const char *repo_dir, const char *arch, struct sy_error *err)
{
	Pool *pool = pool_create();

	pool_setdisttype(pool, DISTTYPE_RPM);
	pool_setarch(pool, arch);
	if (!repo_publish_load_solv(pool, repo_dir, err)) {
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

int imager_compose(const struct imager_config *cfg, const char *repo_dir, const char *arch,
		   const char *work_dir, const char *out_dir, int log_fd,
		   struct sy_strv *artifacts, struct sy_error *err)
{
	struct sy_strv nevras = SY_STRV_INIT, rpms = SY_STRV_INIT;
	char *rootfs = sy_xasprintf("%s/rootfs", work_dir);
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
	if (log_fd >= 0)
		dprintf(log_fd, "image %s: installing %zu packages into %s\n", cfg->name, rpms.n,
			rootfs);
	rc = builder_rpm_install(rootfs, (const char *const *)rpms.items, 0, log_fd, err);
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
	free(rootfs);
	sy_strv_release(&nevras);
	sy_strv_release(&rpms);
	return rc;
}
