/* build-overhead: measures what a build pays before and after rpmbuild runs,
 * for bench/build-overhead.sh (issue 4, "Checked by": per-build overhead
 * against extracting the worker tarball).
 *
 *   build-overhead --root WORKER_ROOT --scratch DIR [--probes N] [--extractions M]
 *
 * Per-build overhead: builder_build_root_probe, the code path of every build
 * (scratch directory, namespaces, overlayfs over WORKER_ROOT, /proc, /dev,
 * pivot_root, capabilities dropped, /bin/true as the build user, everything
 * torn down), N times (default 10), median.
 * The Azure Linux toolkit's way: a gzip-compressed tarball of WORKER_ROOT
 * (the toolkit ships worker_chroot.tar.gz) written once with libarchive into
 * DIR, then M times (default 3) extracted with libarchive's archive_write_disk
 * (owners, modes, times, ACLs, xattrs) into a fresh directory and removed
 * again, median. DIR is created and removed. Prints one line:
 *   bench/build: per-build overhead: median X s (...); worker tarball
 *   extraction: median Y s; ratio Y/X = Zx (target overhead < 0.5 s)
 * Needs root. Exit status 0, 1 on error, 2 on usage. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/buildjob.h"
#include "builder/worker.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/strv.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int probes(const char *root, const char *scratch, int n, double *med,
		  struct sy_error *err)
{
	double *t = sy_xcalloc((size_t)n, sizeof(*t));
	char *dir = sy_xasprintf("%s/probe", scratch);
	int rc = 0;

	for (int i = 0; i < n && rc == 0; i++)
		rc = builder_build_root_probe(root, dir, &t[i], err);
	if (rc == 0)
		*med = median(t, n);
	free(dir);
	free(t);
	return rc;
}

static int archive_fail(struct archive *a, const char *what, struct sy_error *err)
{
	return sy_error_set(err, "%s: %s", what, archive_error_string(a));
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

/* Writes root as a gzip-compressed pax tarball at tar (paths "./..."),
 * hard links kept as links, symlinks not followed. */
static int make_tarball(const char *root, const char *tar, struct sy_error *err)
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
		struct archive_entry *e = entry;
		archive_entry_linkify(links, &e, &spare);
		if (e && write_entry(out, e, err))
			goto out;
		if (spare && write_entry(out, spare, err))
			goto out;
		if (e && e != entry)
			archive_entry_free(e);
		entry = archive_entry_new();
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

/* Extracts tar into the fresh directory dest the way a worker tarball is
 * unpacked for a build (owners, permissions, times, ACLs, xattrs; no ".." or
 * symlink escapes). */
static int extract(const char *tar, const char *dest, struct sy_error *err)
{
	struct archive *in = archive_read_new(), *disk = archive_write_disk_new();
	struct archive_entry *entry;
	int r, rc = -1;

	archive_read_support_format_tar(in);
	archive_read_support_filter_gzip(in);
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
		char *path = sy_xasprintf("%s/%s", dest, archive_entry_pathname(entry));
		archive_entry_set_pathname(entry, path);
		free(path);
		if (archive_entry_hardlink(entry)) {
			char *link = sy_xasprintf("%s/%s", dest, archive_entry_hardlink(entry));
			archive_entry_set_hardlink(entry, link);
			free(link);
		}
		if (archive_write_header(disk, entry) < ARCHIVE_WARN) {
			archive_fail(disk, archive_entry_pathname(entry), err);
			goto out;
		}
		const void *buf;
		size_t size;
		la_int64_t offset;
		while ((r = archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK)
			if (archive_write_data_block(disk, buf, size, offset) < ARCHIVE_WARN) {
				archive_fail(disk, archive_entry_pathname(entry), err);
				goto out;
			}
		if (r < ARCHIVE_WARN || archive_write_finish_entry(disk) < ARCHIVE_WARN) {
			archive_fail(r < ARCHIVE_WARN ? in : disk, archive_entry_pathname(entry),
				     err);
			goto out;
		}
	}
	rc = 0;
out:
	archive_read_free(in);
	archive_write_free(disk);
	return rc;
}

static int extractions(const char *root, const char *scratch, int n, double *med,
		       unsigned long long *tar_bytes, struct sy_error *err)
{
	char *tar = sy_xasprintf("%s/worker.tar.gz", scratch);
	double *t = sy_xcalloc((size_t)n, sizeof(*t));
	int rc = make_tarball(root, tar, err);

	struct stat st;

	if (rc == 0 && stat(tar, &st) < 0)
		rc = sy_error_set(err, "%s: %s", tar, strerror(errno));
	if (rc == 0)
		*tar_bytes = (unsigned long long)st.st_size;
	for (int i = 0; i < n && rc == 0; i++) {
		char *dest = sy_xasprintf("%s/extract-%d", scratch, i);
		double t0 = now_s();
		rc = extract(tar, dest, err);
		if (sy_rm_rf(dest, rc ? NULL : err))
			rc = -1;
		t[i] = now_s() - t0;
		free(dest);
	}
	if (rc == 0)
		*med = median(t, n);
	free(t);
	free(tar);
	return rc;
}

static int usage(void)
{
	fputs("usage: build-overhead --root WORKER_ROOT --scratch DIR [--probes N] "
	      "[--extractions M]\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "scratch", required_argument, NULL, 's' },
		{ "probes", required_argument, NULL, 'p' },
		{ "extractions", required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	struct sy_error err = { { 0 } };
	const char *root = NULL, *scratch = NULL;
	unsigned long long root_bytes = 0, tar_bytes = 0;
	double overhead = 0, extraction = 0;
	int nprobes = 10, nextract = 3, c, rc = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root = optarg; break;
		case 's': scratch = optarg; break;
		case 'p': nprobes = atoi(optarg); break;
		case 'x': nextract = atoi(optarg); break;
		default: return usage();
		}
	}
	if (!root || !scratch || nprobes < 1 || nextract < 1 || optind != argc)
		return usage();
	if (geteuid() != 0) {
		fputs("build-overhead: needs root (namespaces, overlayfs)\n", stderr);
		return 1;
	}
	if (sy_rm_rf(scratch, &err) || sy_mkdir_p(scratch, 0755, &err) ||
	    builder_worker_disk_usage(root, &root_bytes, &err) ||
	    probes(root, scratch, nprobes, &overhead, &err) ||
	    extractions(root, scratch, nextract, &extraction, &tar_bytes, &err))
		goto out;
	printf("bench/build: worker root %.0f MiB, tarball %.0f MiB (gzip); %d probes, "
	       "%d extractions\n", (double)root_bytes / 1048576.0,
	       (double)tar_bytes / 1048576.0, nprobes, nextract);
	printf("bench/build: per-build overhead: median %.3f s (isolated root ready and torn "
	       "down); worker tarball extraction: median %.3f s; ratio Y/X = %.1fx (target "
	       "overhead < 0.5 s)\n", overhead, extraction, extraction / overhead);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "build-overhead: %s\n", err.msg);
	sy_rm_rf(scratch, NULL);
	return rc;
}
