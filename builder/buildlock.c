#include "builder/buildlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/strv.h"
#include "common/util.h"

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

/* Returns the scratch directory an entry of a builds directory belongs to:
 * "<scratch>", "<scratch>.src" or "<scratch>.lock" (caller frees). */
static char *entry_scratch(const char *builds_dir, const char *name)
{
	static const char *const suffixes[] = { ".src", ".lock" };
	size_t n = strlen(name);

	for (size_t i = 0; i < LEN(suffixes); i++) {
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
