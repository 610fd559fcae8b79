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
 * again, median (also what a shipyard build costs where overlayfs is
 * unavailable: builder/rootfs.h). DIR is created and removed. Prints one line:
 *   bench/build: per-build overhead: median X s (...); worker tarball
 *   extraction: median Y s; ratio Y/X = Zx (target overhead < 0.5 s)
 * Needs root. Exit status 0, 1 on error, 2 on usage. */
#define _GNU_SOURCE
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
#include "builder/rootfs.h"
#include "builder/worker.h"
#include "builder/workercache.h"
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

static int extractions(const char *root, const char *scratch, int n, double *med,
		       unsigned long long *tar_bytes, struct sy_error *err)
{
	char *tar = sy_xasprintf("%s/worker.tar.gz", scratch);
	double *t = sy_xcalloc((size_t)n, sizeof(*t));
	int rc = builder_rootfs_tarball_write(root, tar, err);

	struct stat st;

	if (rc == 0 && stat(tar, &st) < 0)
		rc = sy_error_set(err, "%s: %s", tar, strerror(errno));
	if (rc == 0)
		*tar_bytes = (unsigned long long)st.st_size;
	for (int i = 0; i < n && rc == 0; i++) {
		char *dest = sy_xasprintf("%s/extract-%d", scratch, i);
		double t0 = now_s();
		rc = builder_rootfs_extract(tar, dest, err);
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
