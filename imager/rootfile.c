#define _GNU_SOURCE
#include "imager/rootfile.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/strv.h"

/* Largest file imager_root_read reads: account files and the like. */
#define ROOT_READ_MAX (64u << 20)

int imager_root_open(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};

	if (path[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	if (!path[1])
		path = ".";
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* Sets fd's owner, mode and times to meta. */
static int set_meta(int fd, const struct imager_root_meta *m)
{
	const struct timespec t[2] = { { (time_t)m->mtime, 0 }, { (time_t)m->mtime, 0 } };

	return fchown(fd, m->uid, m->gid) < 0 || fchmod(fd, m->mode & 07777) < 0 ||
			       futimens(fd, t) < 0
		       ? -1
		       : 0;
}

/* Opens directory path, made (with meta) when missing and its parent
 * exists (a missing parent is an error: ENOENT). Returns a read-only
 * directory descriptor, or -1 with errno. */
static int open_or_make(int rootfd, char *path, const struct imager_root_meta *meta)
{
	int fd = imager_root_open(rootfd, path, O_RDONLY | O_DIRECTORY);
	char *slash;

	if (fd >= 0 || errno != ENOENT)
		return fd;
	slash = strrchr(path, '/');
	*slash = '\0';
	int parent = imager_root_open(rootfd, slash == path ? "/" : path, O_RDONLY | O_DIRECTORY);
	*slash = '/';
	if (parent < 0)
		return -1;
	if (mkdirat(parent, slash + 1, 0700) < 0 ||
	    (fd = openat(parent, slash + 1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    set_meta(fd, meta) < 0) {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		close(parent);
		errno = saved;
		return -1;
	}
	close(parent);
	return fd;
}

/* Opens directory path (normalised: no "//", no trailing '/'), making it
 * and its missing parents: parents with parent_meta, itself with meta. */
static int mkdirs(int rootfd, const char *path, const struct imager_root_meta *meta,
		  struct sy_error *err)
{
	const struct imager_root_meta parent_meta = { 0755, 0, 0, meta->mtime };
	char *p = sy_xstrdup(path);
	size_t len = strlen(p);
	int fd = -1;

	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	if (len <= 1) {
		free(p);
		return imager_root_open(rootfd, "/", O_RDONLY | O_DIRECTORY);
	}
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		if (p[i] == '/' && p[i - 1] == '/')
			continue;
		char c = p[i];
		p[i] = '\0';
		if (fd >= 0)
			close(fd);
		fd = open_or_make(rootfd, p, c ? &parent_meta : meta);
		if (fd < 0)
			sy_error_set(err, "%s: %s", p, strerror(errno));
		p[i] = c;
		if (fd < 0)
			break;
	}
	free(p);
	return fd;
}

int imager_root_mkdir(int rootfd, const char *path, const struct imager_root_meta *meta,
		      struct sy_error *err)
{
	int fd;

	if (path[0] != '/')
		return sy_error_set(err, "%s: not an absolute path", path);
	fd = mkdirs(rootfd, path, meta, err);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int imager_root_write(int rootfd, const char *path, const void *data, size_t len,
		      const struct imager_root_meta *meta, struct sy_error *err)
{
	const struct imager_root_meta dir_meta = { 0755, 0, 0, meta->mtime };
	const char *base = strrchr(path, '/');
	char *dir, *tmp;
	int dfd, fd = -1, rc = 0;

	if (path[0] != '/' || !base[1] || !strcmp(base, "/.") || !strcmp(base, "/.."))
		return sy_error_set(err, "%s: not an absolute path to a file", path);
	dir = base == path ? sy_xstrdup("/") : sy_xstrndup(path, (size_t)(base - path));
	dfd = mkdirs(rootfd, dir, &dir_meta, err);
	free(dir);
	if (dfd < 0)
		return -1;
	tmp = sy_xasprintf(".%s.shipyard-new", base + 1);
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || sy_write_all(fd, data, len) || set_meta(fd, meta) ||
	    renameat(dfd, tmp, dfd, base + 1) < 0) {
		rc = sy_error_set(err, "%s: %s", path, strerror(errno));
		unlinkat(dfd, tmp, 0);
	}
	if (fd >= 0)
		close(fd);
	close(dfd);
	free(tmp);
	return rc;
}

int imager_root_read(int rootfd, const char *path, char **data, size_t *len,
		     struct sy_error *err)
{
	int fd = imager_root_open(rootfd, path, O_RDONLY | O_NOFOLLOW);
	struct stat st;
	size_t n = 0;
	ssize_t r = 0;

	*data = NULL;
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0 || fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > ROOT_READ_MAX) {
		close(fd);
		return sy_error_set(err, "%s: not a regular file of at most %u bytes", path,
				    ROOT_READ_MAX);
	}
	*data = sy_xmalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size &&
	       (r = read(fd, *data + n, (size_t)st.st_size - n)) > 0)
		n += (size_t)r;
	if (r < 0)
		goto fail;
	(*data)[n] = '\0';
	if (len)
		*len = n;
	close(fd);
	return 0;
fail:;
	int saved = errno;
	free(*data);
	*data = NULL;
	if (fd >= 0)
		close(fd);
	return sy_error_set(err, "%s: %s", path, strerror(saved));
}
