#define _GNU_SOURCE
#include "builder/rootfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/child.h"
#include "common/fs.h"
#include "common/strv.h"

int builder_root_mode_parse(const char *text, enum builder_root_mode *mode, struct sy_error *err)
{
	if (!strcmp(text, "auto"))
		*mode = BUILDER_ROOT_AUTO;
	else if (!strcmp(text, "overlay"))
		*mode = BUILDER_ROOT_OVERLAY;
	else if (!strcmp(text, "extract"))
		*mode = BUILDER_ROOT_EXTRACT;
	else
		return sy_error_set(err, "unknown root mode '%s' (auto, overlay or extract)", text);
	return 0;
}

/* The probe's child: a private mount namespace, then the overlay mount.
 * Exits with 0 when it mounted, else with errno. */
static int probe_child(void *arg)
{
	const char *probe = arg;
	char *opts = sy_xasprintf("lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work", probe,
				  probe, probe);
	char *merged = sy_xasprintf("%s/merged", probe);

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return errno ? errno : 1;
	if (mount("overlay", merged, "overlay", 0, opts) < 0)
		return errno ? errno : 1;
	return 0;
}

int builder_rootfs_overlay_supported(const char *probe, struct sy_error *err)
{
	static const char *const sub[] = { "lower", "upper", "work", "merged" };
	struct sy_child c = SY_CHILD_INIT;
	int rc = -1;

	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		char *d = sy_xasprintf("%s/%s", probe, sub[i]);
		int bad = sy_mkdir_p(d, 0700, err);
		free(d);
		if (bad)
			goto out;
	}
	c.child_fn = probe_child;
	c.child_arg = (void *)probe;
	if (sy_child_run(&c, err))
		goto out;
	if (c.status == 0) {
		rc = 1;
	} else {
		sy_error_set(err, "overlay mount in %s: %s", probe,
			     c.signal ? "probe killed" : strerror(c.status));
		rc = 0;
	}
out:
	sy_rm_rf(probe, NULL);
	return rc;
}

static int archive_fail(struct archive *a, const char *what, struct sy_error *err)
{
	const char *msg = archive_error_string(a);

	return sy_error_set(err, "%s: %s", what, msg ? msg : "libarchive error");
}

/* Copies the content of the file at path into the archive. */
static int copy_data(struct archive *out, const char *path, struct sy_error *err)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return sy_error_set(err, "%s: %s", path, strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (archive_write_data(out, buf, (size_t)n) < 0) {
			close(fd);
			return archive_fail(out, path, err);
		}
	close(fd);
	return n < 0 ? sy_error_set(err, "%s: %s", path, strerror(errno)) : 0;
}

/* Writes one entry (pathname relative to the root, "./usr/...") and its data. */
static int write_entry(struct archive *out, struct archive_entry *entry, struct sy_error *err)
{
	const char *src = archive_entry_sourcepath(entry);

	if (archive_write_header(out, entry) < ARCHIVE_WARN)
		return archive_fail(out, archive_entry_pathname(entry), err);
	if (archive_entry_filetype(entry) == AE_IFREG && archive_entry_size(entry) > 0 &&
	    !archive_entry_hardlink(entry))
		return copy_data(out, src, err);
	return 0;
}

int builder_rootfs_tarball_write(const char *root, const char *tar, struct sy_error *err)
{
	struct archive *disk = archive_read_disk_new(), *out = archive_write_new();
	struct archive_entry_linkresolver *links = archive_entry_linkresolver_new();
	struct archive_entry *entry = archive_entry_new(), *spare = NULL;
	size_t prefix = strlen(root);
	int r, rc = -1;

	archive_entry_linkresolver_set_strategy(links, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	archive_read_disk_set_symlink_physical(disk);
	archive_read_disk_set_standard_lookup(disk);
	archive_write_set_format_pax_restricted(out);
	archive_write_add_filter_gzip(out);
	if (archive_write_open_filename(out, tar) != ARCHIVE_OK) {
		archive_fail(out, tar, err);
		goto out;
	}
	if (archive_read_disk_open(disk, root) != ARCHIVE_OK) {
		archive_fail(disk, root, err);
		goto out;
	}
	while ((r = archive_read_next_header2(disk, entry)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN) {
			archive_fail(disk, root, err);
			goto out;
		}
		archive_read_disk_descend(disk);
		char *rel = sy_xasprintf(".%s", archive_entry_pathname(entry) + prefix);
		archive_entry_set_pathname(entry, rel);
		free(rel);
		/* The resolver may keep entry (a deferred hard link) and hand back
		 * another one, and a spare; what it hands back is ours. */
		struct archive_entry *e = entry;
		archive_entry_linkify(links, &e, &spare);
		r = (e && write_entry(out, e, err)) || (spare && write_entry(out, spare, err));
		archive_entry_free(spare);
		spare = NULL;
		if (e == entry) {
			archive_entry_clear(entry);
		} else {
			archive_entry_free(e);
			entry = archive_entry_new();
		}
		if (r)
			goto out;
	}
	for (;;) { /* hard links still deferred */
		struct archive_entry *e = NULL;
		archive_entry_linkify(links, &e, &spare);
		if (!e)
			break;
		r = write_entry(out, e, err);
		archive_entry_free(e);
		if (r)
			goto out;
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		archive_fail(out, tar, err);
		goto out;
	}
	rc = 0;
out:
	archive_entry_free(entry);
	archive_entry_linkresolver_free(links);
	archive_read_free(disk);
	archive_write_free(out);
	return rc;
}

/* Rewrites the entry's path (and hard link target) to lie under dest. */
static void relocate(struct archive_entry *entry, const char *dest)
{
	char *path = sy_xasprintf("%s/%s", dest, archive_entry_pathname(entry));

	archive_entry_set_pathname(entry, path);
	free(path);
	if (archive_entry_hardlink(entry)) {
		char *link = sy_xasprintf("%s/%s", dest, archive_entry_hardlink(entry));
		archive_entry_set_hardlink(entry, link);
		free(link);
	}
}

/* Copies the data of the current entry of in to disk. */
static int copy_entry_data(struct archive *in, struct archive *disk, struct archive_entry *entry,
			   struct sy_error *err)
{
	const void *buf;
	size_t size;
	la_int64_t offset;
	int r;

	while ((r = archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK)
		if (archive_write_data_block(disk, buf, size, offset) < ARCHIVE_WARN)
			return archive_fail(disk, archive_entry_pathname(entry), err);
	if (r < ARCHIVE_WARN || archive_write_finish_entry(disk) < ARCHIVE_WARN)
		return archive_fail(r < ARCHIVE_WARN ? in : disk, archive_entry_pathname(entry), err);
	return 0;
}

int builder_rootfs_extract(const char *tar, const char *dest, struct sy_error *err)
{
	struct archive *in = archive_read_new(), *disk = archive_write_disk_new();
	struct archive_entry *entry;
	int r, rc = -1;

	archive_read_support_format_tar(in);
	archive_read_support_filter_all(in);
	archive_write_disk_set_options(disk, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM |
				       ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_ACL |
				       ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
				       ARCHIVE_EXTRACT_SECURE_SYMLINKS);
	archive_write_disk_set_standard_lookup(disk);
	if (sy_mkdir_p(dest, 0755, err))
		goto out;
	if (archive_read_open_filename(in, tar, 1 << 16) != ARCHIVE_OK) {
		archive_fail(in, tar, err);
		goto out;
	}
	while ((r = archive_read_next_header(in, &entry)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN) {
			archive_fail(in, tar, err);
			goto out;
		}
		relocate(entry, dest);
		if (archive_write_header(disk, entry) < ARCHIVE_WARN) {
			archive_fail(disk, archive_entry_pathname(entry), err);
			goto out;
		}
		if (copy_entry_data(in, disk, entry, err))
			goto out;
	}
	rc = 0;
out:
	archive_read_free(in);
	archive_write_free(disk);
	return rc;
}

/* fsyncs the file at path, so that the rename that publishes it is not
 * seen before its data. */
static int fsync_file(const char *path, struct sy_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fsync(fd) < 0)
		rc = sy_error_set(err, "%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* "<dir of worker_root>/<name>" (caller frees). */
static char *beside(const char *worker_root, const char *name)
{
	const char *slash = strrchr(worker_root, '/');

	if (!slash)
		return sy_xstrdup(name);
	return sy_xasprintf("%.*s/%s", (int)(slash - worker_root), worker_root, name);
}

int builder_rootfs_tarball_ensure(const char *worker_root, char **tar, struct sy_error *err)
{
	char *path = beside(worker_root, "root.tar.gz"), *lock = beside(worker_root, "tar.lock");
	char *tmp = sy_xasprintf("%s.tmp-%d", path, (int)getpid());
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644), rc = -1;

	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		sy_error_set(err, "%s: %s", lock, strerror(errno));
		goto out;
	}
	if (access(path, F_OK) == 0) {
		rc = 0;
		goto out;
	}
	rc = builder_rootfs_tarball_write(worker_root, tmp, err);
	if (rc == 0 && fsync_file(tmp, err))
		rc = -1;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = sy_error_set(err, "%s: %s", path, strerror(errno));
	if (rc)
		unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	if (rc == 0) {
		*tar = path;
		path = NULL;
	}
	free(path);
	free(lock);
	free(tmp);
	return rc;
}
