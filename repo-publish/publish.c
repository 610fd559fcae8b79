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

#include <createrepo_c/createrepo_c.h>

#include "common/fs.h"
#include "common/util.h"
#include "repo-publish/sign.h"
#include "state/layout.h"

/* Changelog entries kept per package in other.xml (createrepo_c's default). */
#define PUBLISH_CHANGELOG_LIMIT 10

/* One package of a snapshot being made. */
struct pub_pkg {
	const char *src; /* host path given by the caller */
	char *rel;       /* path inside the snapshot: RPMS/<arch>/<file> or SRPMS/<file> */
	int srpm;        /* 1 for a source package */
	cr_Package *pkg; /* parsed header, checksum and location */
};

static pthread_once_t cr_once = PTHREAD_ONCE_INIT;

/* Drops createrepo_c's GLib log messages: its failures reach us as GErrors. */
static void cr_log_discard(const gchar *domain, GLogLevelFlags level, const gchar *msg,
			   gpointer data)
{
	(void)domain;
	(void)level;
	(void)msg;
	(void)data;
}

static void cr_init(void)
{
	g_log_set_handler("C_CREATEREPOLIB", G_LOG_LEVEL_MASK & ~G_LOG_LEVEL_ERROR,
			  cr_log_discard, NULL);
	cr_xml_dump_init();
	cr_package_parser_init();
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int gerror_set(struct sy_error *err, GError *gerr, const char *fmt, const char *item)
{
	char what[512];

	snprintf(what, sizeof(what), fmt, item);
	sy_error_set(err, "%s: %s", what, gerr ? gerr->message : "unknown error");
	if (gerr)
		g_error_free(gerr);
	return -1;
}

/* Reads the header and checksum of one RPM file and decides its place. */
static int parse_package(const char *path, struct pub_pkg *p, struct sy_error *err)
{
	struct stat st;
	GError *gerr = NULL;

	p->src = path;
	if (stat(path, &st) < 0)
		return sy_error_set(err, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return sy_error_set(err, "%s: not a regular file", path);
	p->pkg = cr_package_from_rpm(path, CR_CHECKSUM_SHA256, NULL, NULL,
				     PUBLISH_CHANGELOG_LIMIT, &st, CR_HDRR_NONE, &gerr);
	if (!p->pkg)
		return gerror_set(err, gerr, "%s: cannot read header", path);
	/* Binary packages name their source package; source packages do not. */
	p->srpm = !p->pkg->rpm_sourcerpm || !p->pkg->rpm_sourcerpm[0];
	if (p->srpm) {
		p->rel = sy_xasprintf("SRPMS/%s", base_name(path));
		/* SRPMS/ is a repository of its own: hrefs are relative to it. */
		p->pkg->location_href = cr_safe_string_chunk_insert(p->pkg->chunk, base_name(path));
	} else {
		p->rel = sy_xasprintf("RPMS/%s/%s", p->pkg->arch, base_name(path));
		p->pkg->location_href = cr_safe_string_chunk_insert(p->pkg->chunk, p->rel);
	}
	return 0;
}

static int cmp_pkg(const void *a, const void *b)
{
	return strcmp(((const struct pub_pkg *)a)->rel, ((const struct pub_pkg *)b)->rel);
}

static void free_pkgs(struct pub_pkg *pkgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(pkgs[i].rel);
		if (pkgs[i].pkg)
			cr_package_free(pkgs[i].pkg);
	}
	free(pkgs);
}

static int fsync_path(const char *path, struct sy_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return sy_error_set(err, "%s: cannot open: %s", path, strerror(errno));
	if (fsync(fd) < 0)
		rc = sy_error_set(err, "%s: fsync: %s", path, strerror(errno));
	close(fd);
	return rc;
}

/* Hard-links src to dst, or copies it when they are on different filesystems. */
static int place_file(const char *src, const char *dst, struct sy_error *err)
{
	if (link(src, dst) == 0)
		return fsync_path(dst, err);
	if (errno != EXDEV && errno != EPERM && errno != EMLINK)
		return sy_error_set(err, "%s: cannot link to %s: %s", src, dst, strerror(errno));
	return sy_copy_file(src, dst, err);
}

static int place_packages(const char *snap, struct pub_pkg *pkgs, size_t n, struct sy_error *err)
{
	for (size_t i = 0; i < n; i++) {
		char *dst = sy_xasprintf("%s/%s", snap, pkgs[i].rel);
		char *dir = sy_xstrdup(dst);
		*strrchr(dir, '/') = '\0';
		int rc = sy_mkdir_p(dir, 0755, err);
		if (rc == 0 && sy_exists(dst))
			rc = sy_error_set(err, "%s: two packages share the file name %s",
					  pkgs[i].src, pkgs[i].rel);
		if (rc == 0)
			rc = place_file(pkgs[i].src, dst, err);
		free(dst);
		free(dir);
		if (rc)
			return rc;
	}
	return 0;
}

/* Adds a repomd record for a finished metadata file, renamed to carry its
 * checksum as createrepo_c does. */
static int add_record(cr_Repomd *md, const char *type, const char *path, struct sy_error *err)
{
	GError *gerr = NULL;
	cr_RepomdRecord *rec = cr_repomd_record_new(type, path);

	if (cr_repomd_record_fill(rec, CR_CHECKSUM_SHA256, &gerr) != CRE_OK ||
	    cr_repomd_record_rename_file(rec, &gerr) != CRE_OK) {
		cr_repomd_record_free(rec);
		return gerror_set(err, gerr, "%s: cannot make repomd record", path);
	}
	if (fsync_path(rec->location_real, err)) {
		cr_repomd_record_free(rec);
		return -1;
	}
	cr_repomd_set_record(md, rec);
	return 0;
}

/* Writes the three package lists of the selected packages (srpm == want). */
static int write_lists(char *const paths[3], struct pub_pkg *pkgs, size_t n, int want,
		       struct sy_error *err)
{
	static const cr_XmlFileType types[3] = { CR_XMLFILE_PRIMARY, CR_XMLFILE_FILELISTS,
						 CR_XMLFILE_OTHER };
	cr_XmlFile *files[3] = { NULL, NULL, NULL };
	GError *gerr = NULL;
	long count = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		count += pkgs[i].srpm == want;
	for (int t = 0; t < 3 && rc == 0; t++) {
		files[t] = cr_xmlfile_sopen(paths[t], types[t], CR_CW_GZ_COMPRESSION, NULL, &gerr);
		if (!files[t] || cr_xmlfile_set_num_of_pkgs(files[t], count, &gerr) != CRE_OK)
			rc = gerror_set(err, gerr, "%s: cannot write", paths[t]);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (pkgs[i].srpm != want)
			continue;
		for (int t = 0; t < 3 && rc == 0; t++)
			if (cr_xmlfile_add_pkg(files[t], pkgs[i].pkg, &gerr) != CRE_OK)
				rc = gerror_set(err, gerr, "%s: cannot add package",
						pkgs[i].src);
	}
	for (int t = 0; t < 3; t++) {
		if (files[t] && cr_xmlfile_close(files[t], rc ? NULL : &gerr) != CRE_OK && rc == 0)
			rc = gerror_set(err, gerr, "%s: cannot close", paths[t]);
	}
	return rc;
}

/* Generates dir/repodata/ (repomd.xml, primary, filelists, other) for the
 * packages whose srpm flag equals want. */
static int write_repodata(const char *dir, struct pub_pkg *pkgs, size_t n, int want,
			  struct sy_error *err)
{
	static const char *const names[3] = { "primary", "filelists", "other" };
	char *repodata = sy_xasprintf("%s/repodata", dir);
	char *paths[3] = { NULL, NULL, NULL };
	cr_Repomd *md = NULL;
	char *xml = NULL;
	GError *gerr = NULL;
	int rc = sy_mkdir_p(repodata, 0755, err);

	for (int t = 0; t < 3; t++)
		paths[t] = sy_xasprintf("%s/%s.xml.gz", repodata, names[t]);
	if (rc == 0)
		rc = write_lists(paths, pkgs, n, want, err);
	if (rc)
		goto out;
	md = cr_repomd_new();
	for (int t = 0; t < 3 && rc == 0; t++)
		rc = add_record(md, names[t], paths[t], err);
	if (rc)
		goto out;
	cr_repomd_sort_records(md);
	xml = cr_xml_dump_repomd(md, &gerr);
	if (!xml) {
		rc = gerror_set(err, gerr, "%s: cannot make repomd.xml", repodata);
		goto out;
	}
	char *repomd = sy_xasprintf("%s/repomd.xml", repodata);
	rc = sy_write_file_atomic(repomd, xml, strlen(xml), 0644, err);
	free(repomd);
	if (rc == 0)
		rc = sy_fsync_dir(repodata, err);
out:
	if (md)
		cr_repomd_free(md);
	free(xml);
	for (int t = 0; t < 3; t++)
		free(paths[t]);
	free(repodata);
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
	char *target = sy_xasprintf("snapshots/%s", base_name(snap));
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

/* Fills the snapshot directory: packages, repodata for RPMS and SRPMS. */
static int fill_snapshot(const char *snap, struct pub_pkg *pkgs, size_t n, struct sy_error *err)
{
	int have_srpms = 0;

	for (size_t i = 0; i < n; i++)
		have_srpms |= pkgs[i].srpm;
	if (place_packages(snap, pkgs, n, err) || write_repodata(snap, pkgs, n, 0, err))
		return -1;
	if (have_srpms) {
		char *srpms = sy_xasprintf("%s/SRPMS", snap);
		int rc = write_repodata(srpms, pkgs, n, 1, err);
		if (rc == 0)
			rc = sy_fsync_dir(srpms, err);
		free(srpms);
		if (rc)
			return rc;
	}
	return sy_fsync_dir(snap, err);
}

int repo_publish_snapshot(const char *repos_dir, const char *channel,
			  const char *const *rpm_paths, char **snapshot, struct sy_error *err)
{
	return repo_publish_snapshot_signed(repos_dir, channel, rpm_paths, NULL, snapshot, err);
}

int repo_publish_snapshot_signed(const char *repos_dir, const char *channel,
				 const char *const *rpm_paths, struct repo_signer *signer,
				 char **snapshot, struct sy_error *err)
{
	char root[PATH_MAX];
	struct pub_pkg *pkgs = NULL;
	size_t n = 0;
	char *chan_dir = NULL, *snaps = NULL, *snap = NULL;
	int rc;

	if (snapshot)
		*snapshot = NULL;
	if (check_channel(channel, err) || sy_mkdir_p(repos_dir, 0755, err))
		return -1;
	if (!realpath(repos_dir, root))
		return sy_error_set(err, "%s: %s", repos_dir, strerror(errno));
	pthread_once(&cr_once, cr_init);

	while (rpm_paths && rpm_paths[n])
		n++;
	pkgs = sy_xcalloc(n ? n : 1, sizeof(*pkgs));
	for (size_t i = 0; i < n; i++)
		if ((rc = parse_package(rpm_paths[i], &pkgs[i], err)))
			goto out;
	qsort(pkgs, n, sizeof(*pkgs), cmp_pkg);

	chan_dir = sy_xasprintf("%s/%s", root, channel);
	snaps = sy_xasprintf("%s/snapshots", chan_dir);
	if ((rc = sy_mkdir_p(snaps, 0755, err)))
		goto out;
	snap = claim_snapshot(snaps, err);
	if (!snap) {
		rc = -1;
		goto out;
	}
	rc = fill_snapshot(snap, pkgs, n, err);
	if (rc == 0 && signer)
		rc = repo_signer_sign_snapshot(signer, snap, err);
	if (rc == 0)
		rc = sy_fsync_dir(snaps, err);
	if (rc == 0)
		rc = switch_current(chan_dir, snap, err);
	if (rc) {
		struct sy_error ignored;
		sy_rm_rf(snap, &ignored);
		goto out;
	}
	if (snapshot) {
		*snapshot = snap;
		snap = NULL;
	}
out:
	if (rc)
		sy_error_prefix(err, "publish %s", channel);
	free_pkgs(pkgs, n);
	free(chan_dir);
	free(snaps);
	free(snap);
	return rc;
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
