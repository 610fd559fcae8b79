#define _GNU_SOURCE
#include "repo-publish/publish.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"
#include "repo-publish/repodata.h"
#include "repo-publish/sign.h"
#include "state/layout.h"

/* One package of a snapshot being made. */
struct pub_pkg {
	const char *src;          /* host path given by the caller */
	struct stat st;           /* its stat */
	char *rel;                /* path inside the snapshot: RPMS/<arch>/<file> or
				   * SRPMS/<file> */
	int srpm;                 /* 1 for a source package */
	struct repodata_pkg *pkg; /* its entries: read, or kept from the previous
				   * snapshot */
};

/* The previous snapshot's repositories, whose entries unchanged files keep. */
struct previous {
	struct repodata_previous *binary; /* the snapshot's own (RPMS/) */
	struct repodata_previous *source; /* its SRPMS/ */
};

/* 1 when arch can name a directory of RPMS/: one path component, not
 * "." or "..". A package's header says what its arch is, and a build can
 * write any header (rpmbuild --target ../../x writes that arch): a
 * directory named by it must not lead out of the snapshot. */
static int plain_arch(const char *arch)
{
	return arch && arch[0] && arch[0] != '.' && !strchr(arch, '/');
}

/* Where a package goes: binary packages by arch under RPMS/, source packages
 * in SRPMS/, a repository of its own whose locations are relative to it.
 * Sets p->rel; *href receives the location its repository records (a
 * pointer into p->rel). */
static void place_of(struct pub_pkg *p, const char *arch, const char **href)
{
	const char *file = sy_base_name(p->src);

	if (p->srpm) {
		p->rel = sy_xasprintf("SRPMS/%s", file);
		*href = p->rel + 6;
	} else {
		p->rel = sy_xasprintf("RPMS/%s/%s", arch, file);
		*href = p->rel;
	}
}

/* Keeps the previous snapshot's entries of p when it holds this very file
 * at the place a full generation would give it. Returns 1 when kept. */
static int keep_previous(struct pub_pkg *p, struct previous *prev)
{
	const char *href;

	p->srpm = 0;
	p->pkg = repodata_previous_take(prev->binary, p->src, &p->st);
	if (!p->pkg) {
		p->srpm = 1;
		p->pkg = repodata_previous_take(prev->source, p->src, &p->st);
	}
	if (!p->pkg)
		return 0;
	if (p->srpm || plain_arch(repodata_pkg_arch(p->pkg))) {
		place_of(p, repodata_pkg_arch(p->pkg), &href);
		if (!strcmp(href, repodata_pkg_href(p->pkg)))
			return 1;
	}
	repodata_pkg_free(p->pkg);
	p->pkg = NULL;
	free(p->rel);
	p->rel = NULL;
	return 0;
}

/* Reads the header and checksum of one RPM file, or keeps its previous
 * entries, and decides its place. */
static int add_package(const char *path, struct pub_pkg *p, struct previous *prev,
		       struct sy_error *err)
{
	const char *href, *arch;

	p->src = path;
	if (stat(path, &p->st) < 0)
		return sy_error_set(err, "%s: %s", path, strerror(errno));
	if (!S_ISREG(p->st.st_mode))
		return sy_error_set(err, "%s: not a regular file", path);
	if (keep_previous(p, prev))
		return 0;
	p->pkg = repodata_pkg_read(path, &p->st, err);
	if (!p->pkg)
		return -1;
	p->srpm = repodata_pkg_read_is_source(p->pkg);
	arch = repodata_pkg_arch(p->pkg);
	if (!p->srpm && !plain_arch(arch))
		return sy_error_set(err, "%s: arch '%s' cannot name a directory", path,
				    arch ? arch : "");
	place_of(p, arch, &href);
	return repodata_pkg_set_href(p->pkg, href, err);
}

static int cmp_pkg(const void *a, const void *b)
{
	return strcmp(((const struct pub_pkg *)a)->rel, ((const struct pub_pkg *)b)->rel);
}

static void free_pkgs(struct pub_pkg *pkgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(pkgs[i].rel);
		repodata_pkg_free(pkgs[i].pkg);
	}
	free(pkgs);
}

/* Loads the repositories of the snapshot at dir (NULL: none). On failure
 * both are dropped and warning says why: every package is read then. */
static void load_previous(const char *dir, struct previous *prev, struct sy_error *warning)
{
	char *srpms;

	memset(prev, 0, sizeof(*prev));
	if (!dir)
		return;
	srpms = sy_xasprintf("%s/SRPMS", dir);
	if (repodata_previous_load(dir, &prev->binary, warning) ||
	    repodata_previous_load(srpms, &prev->source, warning)) {
		repodata_previous_free(prev->binary);
		memset(prev, 0, sizeof(*prev));
		sy_error_prefix(warning, "previous repodata not used, every package read");
	}
	free(srpms);
}

/* Hard-links src to name in the directory dirfd (dir its path), or copies
 * it (fsynced) when they are on different filesystems. *linked is set to 1
 * for a link. */
static int place_file(const char *src, int dirfd, const char *dir, const char *name, int *linked,
		      struct sy_error *err)
{
	char *dst;
	int rc;

	*linked = 0;
	if (linkat(AT_FDCWD, src, dirfd, name, 0) == 0) {
		*linked = 1;
		return 0;
	}
	if (errno == EEXIST)
		return sy_error_set(err, "%s: two packages share the file name %s/%s", src, dir,
				    name);
	if (errno != EXDEV && errno != EPERM && errno != EMLINK)
		return sy_error_set(err, "%s: cannot link to %s/%s: %s", src, dir, name,
				    strerror(errno));
	dst = sy_xasprintf("%s/%s", dir, name);
	rc = sy_copy_file(src, dst, err);
	free(dst);
	return rc;
}

/* The directory packages are being placed in. */
struct place_dir {
	char *path; /* its path, or NULL before the first */
	int fd;     /* open on it, or -1 */
};

/* Finishes the directory: fsyncs it (its new entries) and closes it. */
static int place_dir_close(struct place_dir *d, struct sy_error *err)
{
	int rc = 0;

	if (d->fd >= 0 && fsync(d->fd) < 0)
		rc = sy_error_set(err, "%s: fsync: %s", d->path, strerror(errno));
	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
	d->path = NULL;
	d->fd = -1;
	return rc;
}

/* Makes dir (a package's directory) the one placed in, creating it. */
static int place_dir_enter(struct place_dir *d, const char *dir, struct sy_error *err)
{
	if (d->path && !strcmp(d->path, dir))
		return 0;
	if (place_dir_close(d, err) || sy_mkdir_p(dir, 0755, err))
		return -1;
	d->path = sy_xstrdup(dir);
	d->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0)
		return sy_error_set(err, "%s: %s", dir, strerror(errno));
	return 0;
}

/* Files linked into a snapshot whose data are made durable one by one;
 * past this many, the filesystem is synced once instead. An fdatasync
 * sends a cache flush to the disk for each file, clean or not (ext4: 2 ms a
 * file here, 6 s for 3,000 packages); a syncfs(2) costs what the whole
 * filesystem has dirty, which is not worth it for the few new packages of
 * an incremental publication. */
#define PLACE_FDATASYNC_MAX 32

/* fdatasyncs name in dirfd (dir its path). */
static int datasync_at(int dirfd, const char *dir, const char *name, struct sy_error *err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fdatasync(fd) < 0)
		rc = sy_error_set(err, "%s/%s: fdatasync: %s", dir, name, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* syncfs(2) of the filesystem holding dir. */
static int sync_fs_of(const char *dir, struct sy_error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0 || syncfs(fd) < 0)
		rc = sy_error_set(err, "%s: syncfs: %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Links or copies the packages (sorted by rel: one directory's packages
 * are together) into snap, and fsyncs the directories that received them.
 * A linked file the previous snapshot holds is durable already; the data
 * of the others are made durable (PLACE_FDATASYNC_MAX). */
static int place_packages(const char *snap, struct pub_pkg *pkgs, size_t n, struct sy_error *err)
{
	struct place_dir d = { NULL, -1 };
	size_t unsynced = 0;
	int rc = 0, linked;

	for (size_t i = 0; i < n && rc == 0; i++) {
		char *dir = sy_xasprintf("%s/%s", snap, pkgs[i].rel);
		char *name = strrchr(dir, '/');
		*name++ = '\0';
		rc = place_dir_enter(&d, dir, err);
		if (rc == 0)
			rc = place_file(pkgs[i].src, d.fd, dir, name, &linked, err);
		if (rc == 0 && linked && !repodata_pkg_reused(pkgs[i].pkg) &&
		    ++unsynced <= PLACE_FDATASYNC_MAX)
			rc = datasync_at(d.fd, dir, name, err);
		free(dir);
	}
	if (place_dir_close(&d, rc ? NULL : err))
		rc = -1;
	if (rc == 0 && n && !pkgs[0].srpm) {
		char *rpms = sy_xasprintf("%s/RPMS", snap);
		rc = sy_fsync_dir(rpms, err);
		free(rpms);
	}
	if (rc == 0 && unsynced > PLACE_FDATASYNC_MAX)
		rc = sync_fs_of(snap, err);
	return rc;
}

/* Generates dir/repodata/ for the packages whose srpm flag equals want. */
static int write_repodata(const char *dir, struct pub_pkg *pkgs, size_t n, int want, int sqlite,
			  struct sy_error *err)
{
	struct repodata_pkg **list = sy_xcalloc(n + 1, sizeof(*list));
	size_t count = 0;
	int rc;

	for (size_t i = 0; i < n; i++)
		if (pkgs[i].srpm == want)
			list[count++] = pkgs[i].pkg;
	rc = repodata_write_dir(dir, list, count, sqlite, err);
	free(list);
	return rc;
}

/* Creates snapshots/<id> with a fresh id and returns its path (caller frees). */
static char *claim_snapshot(const char *snaps, struct sy_error *err)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int i = 0; i < 10000; i++) {
		char *path = i ? sy_xasprintf("%s/%s.%d", snaps, stamp, i)
			       : sy_xasprintf("%s/%s", snaps, stamp);
		if (mkdir(path, 0755) == 0)
			return path;
		int e = errno;
		free(path);
		if (e != EEXIST) {
			sy_error_set(err, "%s: cannot create snapshot: %s", snaps, strerror(e));
			return NULL;
		}
	}
	sy_error_set(err, "%s: no free snapshot id for %s", snaps, stamp);
	return NULL;
}

/* Points chan_dir/current at snapshots/<id> with one rename(2). */
static int switch_current(const char *chan_dir, const char *snap, struct sy_error *err)
{
	char *target = sy_xasprintf("snapshots/%s", sy_base_name(snap));
	char *tmp = sy_xasprintf("%s/.current.%ld.tmp", chan_dir, (long)getpid());
	char *cur = sy_xasprintf("%s/current", chan_dir);
	int rc = 0;

	unlink(tmp);
	if (symlink(target, tmp) < 0)
		rc = sy_error_set(err, "%s: cannot create link: %s", tmp, strerror(errno));
	else if (rename(tmp, cur) < 0) {
		rc = sy_error_set(err, "%s: cannot switch to %s: %s", cur, target, strerror(errno));
		unlink(tmp);
	} else {
		/* Readers see the new snapshot from here on: a failed directory
		 * fsync only weakens durability and must not remove it. */
		sy_fsync_dir(chan_dir, NULL);
	}
	free(target);
	free(tmp);
	free(cur);
	return rc;
}

static int check_channel(const char *channel, struct sy_error *err)
{
	if (!channel[0] || strchr(channel, '/') || channel[0] == '.')
		return sy_error_set(err, "%s: invalid channel name", channel);
	return 0;
}

/* Placing the packages, done by a thread of its own. */
struct place_job {
	const char *snap;     /* the snapshot */
	struct pub_pkg *pkgs; /* the packages, n of them */
	size_t n;
	struct sy_error err;  /* why not, when rc is -1 */
	int rc;
};

static void *place_job_run(void *arg)
{
	struct place_job *job = arg;

	job->rc = place_packages(job->snap, job->pkgs, job->n, &job->err);
	return NULL;
}

/* Fills the snapshot directory: packages, repodata for RPMS and SRPMS. The
 * packages are linked while the repodata is written: neither reads what
 * the other makes, and both take about as long once entries are kept. */
static int fill_snapshot(const char *snap, struct pub_pkg *pkgs, size_t n, int sqlite,
			 struct sy_error *err)
{
	struct place_job job = { .snap = snap, .pkgs = pkgs, .n = n };
	char *srpms = sy_xasprintf("%s/SRPMS", snap);
	pthread_t thread;
	int have_srpms = 0, started, rc;

	for (size_t i = 0; i < n; i++)
		have_srpms |= pkgs[i].srpm;
	started = pthread_create(&thread, NULL, place_job_run, &job) == 0;
	if (!started)
		place_job_run(&job);
	rc = write_repodata(snap, pkgs, n, 0, sqlite, err);
	if (rc == 0 && have_srpms)
		rc = write_repodata(srpms, pkgs, n, 1, sqlite, err);
	if (started)
		pthread_join(thread, NULL);
	if (rc == 0 && job.rc) {
		*err = job.err;
		rc = -1;
	}
	if (rc == 0 && have_srpms)
		rc = sy_fsync_dir(srpms, err);
	if (rc == 0)
		rc = sy_fsync_dir(snap, err);
	free(srpms);
	return rc;
}

/* Makes snapshots/<id> of chan_dir from the packages, signed when
 * opts->signer, and points current at it; *snap receives its path, also on
 * error (to be removed). */
static int make_snapshot(const char *chan_dir, struct pub_pkg *pkgs, size_t n,
			 const struct repo_publish_options *opts, char **snap,
			 struct sy_error *err)
{
	char *snaps = sy_xasprintf("%s/snapshots", chan_dir);
	int rc = sy_mkdir_p(snaps, 0755, err);

	if (rc == 0 && !(*snap = claim_snapshot(snaps, err)))
		rc = -1;
	if (rc == 0)
		rc = fill_snapshot(*snap, pkgs, n, opts->sqlite, err);
	if (rc == 0 && opts->signer)
		rc = repo_signer_sign_snapshot(opts->signer, *snap, err);
	if (rc == 0)
		rc = sy_fsync_dir(snaps, err);
	if (rc == 0)
		rc = switch_current(chan_dir, *snap, err);
	free(snaps);
	return rc;
}

int repo_publish_snapshot_with(const char *repos_dir, const char *channel,
			       const char *const *rpm_paths,
			       const struct repo_publish_options *opts, char **snapshot,
			       struct repo_publish_stats *stats, struct sy_error *err)
{
	static const struct repo_publish_options defaults;
	struct repo_publish_stats scratch;
	char root[PATH_MAX];
	struct pub_pkg *pkgs = NULL;
	struct previous prev;
	size_t n = 0;
	char *chan_dir = NULL, *current = NULL, *snap = NULL;
	int rc = 0;

	opts = opts ? opts : &defaults;
	stats = stats ? stats : &scratch;
	memset(stats, 0, sizeof(*stats));
	if (snapshot)
		*snapshot = NULL;
	if (check_channel(channel, err) || sy_mkdir_p(repos_dir, 0755, err))
		return -1;
	if (!realpath(repos_dir, root))
		return sy_error_set(err, "%s: %s", repos_dir, strerror(errno));
	chan_dir = sy_xasprintf("%s/%s", root, channel);
	if (!opts->full && !opts->previous)
		current = repo_publish_current_path(root, channel);
	load_previous(opts->full ? NULL : opts->previous ? opts->previous : current, &prev,
		      &stats->warning);

	while (rpm_paths && rpm_paths[n])
		n++;
	pkgs = sy_xcalloc(n + 1, sizeof(*pkgs));
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = add_package(rpm_paths[i], &pkgs[i], &prev, err);
		if (rc == 0 && repodata_pkg_reused(pkgs[i].pkg))
			stats->reused++;
		else if (rc == 0)
			stats->read++;
	}
	if (rc)
		goto out;
	qsort(pkgs, n, sizeof(*pkgs), cmp_pkg);
	rc = make_snapshot(chan_dir, pkgs, n, opts, &snap, err);
	if (rc && snap) {
		struct sy_error ignored;
		sy_rm_rf(snap, &ignored);
	}
	if (rc == 0 && snapshot) {
		*snapshot = snap;
		snap = NULL;
	}
out:
	if (rc)
		sy_error_prefix(err, "publish %s", channel);
	/* Kept entries refer to prev: freed before it. */
	free_pkgs(pkgs, n);
	repodata_previous_free(prev.binary);
	repodata_previous_free(prev.source);
	free(chan_dir);
	free(current);
	free(snap);
	return rc;
}

int repo_publish_snapshot(const char *repos_dir, const char *channel,
			  const char *const *rpm_paths, char **snapshot, struct sy_error *err)
{
	return repo_publish_snapshot_with(repos_dir, channel, rpm_paths, NULL, snapshot, NULL,
					  err);
}

char *repo_publish_current_path(const char *repos_dir, const char *channel)
{
	char *cur = sy_xasprintf("%s/%s/current", repos_dir, channel);
	char *path = realpath(cur, NULL);

	free(cur);
	return path;
}

char *repo_publish_channel_dir(void *state, const char *channel)
{
	char *repos, *dir;

	/* A channel name is one path component, as pipeline ids are. */
	if (!state_pipeline_id_valid(channel))
		return NULL;
	repos = state_repos_dir(state);
	dir = repo_publish_current_path(repos, channel);
	free(repos);
	return dir;
}

char *repo_publish_current_id(const char *repos_dir, const char *channel)
{
	char *path = repo_publish_current_path(repos_dir, channel), *id;

	if (!path)
		return NULL;
	id = sy_xstrdup(sy_base_name(path));
	free(path);
	return id;
}

void repo_publish_list_snapshots(const char *repos_dir, const char *channel, struct sy_strv *ids)
{
	char *snaps = sy_xasprintf("%s/%s/snapshots", repos_dir, channel);

	/* Ids are UTC times: sorted by name is oldest first. */
	sy_list_dir(snaps, ids);
	free(snaps);
}

/* Appends dir's *.rpm files (absolute paths) to out. */
static int list_rpms(const char *dir, struct sy_strv *out, struct sy_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return errno == ENOENT ? 0 : sy_error_set(err, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len > 4 && !strcmp(de->d_name + len - 4, ".rpm"))
			sy_strv_pushf(out, "%s/%s", dir, de->d_name);
	}
	closedir(d);
	return 0;
}

int repo_publish_list_snapshot(const char *snapshot, struct sy_strv *rpms, struct sy_error *err)
{
	struct sy_strv found = SY_STRV_INIT;
	char *rpms_dir = NULL;
	DIR *d = NULL;
	struct dirent *de;
	int rc = 0;

	if (!snapshot)
		return 0;
	rpms_dir = sy_xasprintf("%s/RPMS", snapshot);
	d = opendir(rpms_dir);
	if (!d) {
		if (errno != ENOENT)
			rc = sy_error_set(err, "%s: %s", rpms_dir, strerror(errno));
		goto out;
	}
	while (rc == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *arch_dir = sy_xasprintf("%s/%s", rpms_dir, de->d_name);
		rc = list_rpms(arch_dir, &found, err);
		free(arch_dir);
	}
	closedir(d);
	sy_strv_sort_unique(&found);
	for (size_t i = 0; rc == 0 && i < found.n; i++)
		sy_strv_push(rpms, found.items[i]);
out:
	sy_strv_release(&found);
	free(rpms_dir);
	return rc;
}

int repo_publish_list_current(const char *repos_dir, const char *channel, struct sy_strv *rpms,
			      struct sy_error *err)
{
	char *snap = repo_publish_current_path(repos_dir, channel);
	int rc = repo_publish_list_snapshot(snap, rpms, err);

	free(snap);
	return rc;
}
