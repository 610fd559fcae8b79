/* Taking a build's outputs out of its root (builder/buildjob-private.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/buildjob-private.h"
#include "common/fs.h"

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

int builder_job_take_outputs(const struct job *job, struct builder_build_result *res, int *infra,
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
