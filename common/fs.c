#define _GNU_SOURCE
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strv.h"

int sy_mkdir_p(const char *dir, mode_t mode, struct sy_error *err)
{
	char buf[PATH_MAX];
	size_t len = strlen(dir);

	if (len >= sizeof(buf))
		return sy_error_set(err, "%s: path too long", dir);
	memcpy(buf, dir, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return sy_error_set(err, "%s: cannot create directory: %s", buf,
					    strerror(errno));
		*p = c;
		if (!c)
			break;
	}
	return 0;
}

static int rm_at(int dirfd, const char *name, dev_t dev, struct sy_error *err)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : sy_error_set(err, "%s: %s", name, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if (st.st_dev != dev)
			return sy_error_set(err, "%s: refusing to remove a mounted filesystem",
					    name);
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fd < 0)
			return sy_error_set(err, "%s: %s", name, strerror(errno));
		DIR *d = fdopendir(fd);
		struct dirent *de;
		int rc = 0;
		while (rc == 0 && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			rc = rm_at(fd, de->d_name, dev, err);
		}
		closedir(d);
		if (rc)
			return rc;
		if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return sy_error_set(err, "%s: %s", name, strerror(errno));
		return 0;
	}
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return sy_error_set(err, "%s: %s", name, strerror(errno));
	return 0;
}

int sy_rm_rf(const char *path, struct sy_error *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : sy_error_set(err, "%s: %s", path, strerror(errno));
	if (rm_at(AT_FDCWD, path, st.st_dev, err))
		return sy_error_prefix(err, "cannot remove %s", path);
	return 0;
}

int sy_read_file(const char *path, char **data, size_t *len, struct sy_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, alloc = 0;

	if (!f)
		return sy_error_set(err, "%s: cannot open: %s", path, strerror(errno));
	for (;;) {
		if (alloc - n < 4096) {
			alloc = alloc ? alloc * 2 : 8192;
			buf = sy_xrealloc(buf, alloc);
		}
		size_t got = fread(buf + n, 1, alloc - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return sy_error_set(err, "%s: read error", path);
	}
	buf[n] = '\0';
	*data = buf;
	if (len)
		*len = n;
	return 0;
}

int sy_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int sy_write_file(const char *path, const void *data, size_t len, mode_t mode,
		  struct sy_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0)
		return sy_error_set(err, "%s: cannot create: %s", path, strerror(errno));
	if (sy_write_all(fd, data, len) < 0) {
		int e = errno;
		close(fd);
		return sy_error_set(err, "%s: write failed: %s", path, strerror(e));
	}
	if (close(fd) < 0)
		return sy_error_set(err, "%s: close failed: %s", path, strerror(errno));
	return 0;
}

int sy_write_file_under(const char *dir, const char *name, const void *data, size_t len,
			mode_t mode, struct sy_error *err)
{
	char *path = sy_xasprintf("%s/%s", dir, name);
	char *slash = strrchr(path, '/');
	int rc;

	*slash = '\0';
	rc = sy_mkdir_p(path, 0755, err);
	*slash = '/';
	if (rc == 0)
		rc = sy_write_file(path, data, len, mode, err);
	free(path);
	return rc;
}

int sy_fsync_dir(const char *dir, struct sy_error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return sy_error_set(err, "%s: %s", dir, strerror(errno));
	fsync(fd);
	close(fd);
	return 0;
}

int sy_fsync_file(const char *path, struct sy_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return sy_error_set(err, "%s: %s", path, strerror(errno));
	if (fsync(fd) < 0)
		rc = sy_error_set(err, "%s: fsync: %s", path, strerror(errno));
	close(fd);
	return rc;
}

int sy_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct sy_error *err)
{
	char *tmp = sy_xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int rc = -1;

	if (fd < 0) {
		sy_error_set(err, "%s: cannot create: %s", tmp, strerror(errno));
		goto out;
	}
	if (sy_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		sy_error_set(err, "%s: write failed: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		sy_error_set(err, "%s: rename failed: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	char *dir = sy_xstrdup(path), *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		sy_fsync_dir(*dir ? dir : "/", NULL);
	}
	free(dir);
	rc = 0;
out:
	free(tmp);
	return rc;
}

int sy_copy_file(const char *src, const char *dst, struct sy_error *err)
{
	struct stat st;
	char *data;
	size_t len;
	int rc;

	if (stat(src, &st) < 0)
		return sy_error_set(err, "%s: %s", src, strerror(errno));
	if (sy_read_file(src, &data, &len, err))
		return -1;
	rc = sy_write_file_atomic(dst, data, len, st.st_mode & 07777, err);
	free(data);
	return rc;
}

int sy_copy_tree(const char *src, const char *dst, struct sy_error *err)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (lstat(src, &st) < 0)
		return sy_error_set(err, "%s: %s", src, strerror(errno));
	if (mkdir(dst, st.st_mode & 07777) < 0 && errno != EEXIST)
		return sy_error_set(err, "%s: cannot create directory: %s", dst, strerror(errno));
	d = opendir(src);
	if (!d)
		return sy_error_set(err, "%s: %s", src, strerror(errno));
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *s = sy_xasprintf("%s/%s", src, de->d_name);
		char *t = sy_xasprintf("%s/%s", dst, de->d_name);
		if (lstat(s, &st) < 0) {
			rc = sy_error_set(err, "%s: %s", s, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			rc = sy_copy_tree(s, t, err);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(s, target, sizeof(target) - 1);
			if (n < 0) {
				rc = sy_error_set(err, "%s: %s", s, strerror(errno));
			} else {
				target[n] = '\0';
				unlink(t);
				if (symlink(target, t) < 0)
					rc = sy_error_set(err, "%s: %s", t, strerror(errno));
			}
		} else if (S_ISREG(st.st_mode)) {
			rc = sy_copy_file(s, t, err);
		}
		free(s);
		free(t);
	}
	closedir(d);
	return rc;
}

int sy_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

char *sy_mkdtemp(const char *parent, const char *prefix, struct sy_error *err)
{
	char *tmpl = sy_xasprintf("%s/%sXXXXXX", parent, prefix);

	if (!mkdtemp(tmpl)) {
		sy_error_set(err, "%s: cannot create temporary directory: %s", parent,
			     strerror(errno));
		free(tmpl);
		return NULL;
	}
	return tmpl;
}

const char *sy_tmp_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	/* A relative one would depend on the working directory of the moment. */
	if (!tmp || tmp[0] != '/' || !sy_is_dir(tmp))
		return "/tmp";
	return tmp;
}

int sy_list_dir(const char *dir, struct sy_strv *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			sy_strv_push(out, e->d_name);
	closedir(d);
	sy_strv_sort_unique(out);
	return 0;
}

int sy_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
