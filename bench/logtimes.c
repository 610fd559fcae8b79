/* logtimes: what recording the time of each log line costs the job that
 * writes the log, for bench/logtimes.sh (builder/logtimes.h).
 *
 *   logtimes --scratch DIR [--lines N] [--width W]
 *
 * Writes a log of N lines (default 1000000) of W bytes (default 80) into
 * DIR, first in 4 KiB writes (a program whose stdout is a file), then one
 * write a line (line-buffered output, the worst case for the follower): each
 * without a follower and with one (started before the first write, stopped
 * after the last, so that its final read is counted), 3 times, medians.
 * Prints one line per way of writing:
 *   bench/logtimes: N lines of W bytes in 4 KiB writes: without times X s,
 *   with Y s, ratio Y/X = Zx; sidecar S bytes (B bytes a line)
 * DIR is created and removed. Exit status 0, 1 on error, 2 on usage. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/logtimes.h"
#include "common/fs.h"
#include "common/strv.h"

#define RUNS 3

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

/* Seconds to write the log at path (chunk bytes a write, 0: a line a
 * write), with a follower when follow; -1 on error. */
static double write_log(const char *path, long lines, int width, size_t chunk, int follow)
{
	size_t total = (size_t)lines * (size_t)width, at = 0;
	char *text = sy_xmalloc(total);
	struct builder_log_follower *f = NULL;
	struct sy_error err = { { 0 } };
	double t0, t;
	int fd;

	for (long i = 0; i < lines; i++) {
		memset(text + (size_t)i * (size_t)width, 'a' + (int)(i % 26), (size_t)width - 1);
		text[(size_t)(i + 1) * (size_t)width - 1] = '\n';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(path);
		free(text);
		return -1;
	}
	t0 = now_s();
	if (follow && !(f = builder_log_times_follow(path, 0, &err))) {
		fprintf(stderr, "logtimes: %s\n", err.msg);
		close(fd);
		free(text);
		return -1;
	}
	while (at < total) {
		size_t n = chunk ? chunk : (size_t)width;
		if (n > total - at)
			n = total - at;
		if (write(fd, text + at, n) != (ssize_t)n) {
			perror(path);
			break;
		}
		at += n;
	}
	builder_log_times_follow_stop(f);
	t = now_s() - t0;
	close(fd);
	free(text);
	return at == total ? t : -1;
}

static int run(const char *dir, long lines, int width, size_t chunk)
{
	char *path = sy_xasprintf("%s/job.log", dir);
	char *times = sy_xasprintf("%s%s", path, BUILDER_LOG_TIMES_SUFFIX);
	double without[RUNS], with[RUNS];
	struct stat st;
	int rc = 1;

	for (int i = 0; i < RUNS; i++) {
		unlink(times);
		without[i] = write_log(path, lines, width, chunk, 0);
		with[i] = write_log(path, lines, width, chunk, 1);
		if (without[i] < 0 || with[i] < 0)
			goto out;
	}
	if (stat(times, &st) < 0) {
		perror(times);
		goto out;
	}
	qsort(without, RUNS, sizeof(double), cmp_double);
	qsort(with, RUNS, sizeof(double), cmp_double);
	printf("bench/logtimes: %ld lines of %d bytes in %s: without times %.3f s, with %.3f s, "
	       "ratio %.2fx; sidecar %lld bytes (%.1f bytes a line)\n",
	       lines, width, chunk ? "4 KiB writes" : "one write a line", without[RUNS / 2],
	       with[RUNS / 2], with[RUNS / 2] / without[RUNS / 2], (long long)st.st_size,
	       (double)st.st_size / (double)lines);
	rc = 0;
out:
	free(times);
	free(path);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "scratch", required_argument, NULL, 's' },
		{ "lines", required_argument, NULL, 'n' },
		{ "width", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *scratch = NULL;
	long lines = 1000000;
	int width = 80, c, rc;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 's')
			scratch = optarg;
		else if (c == 'n')
			lines = atol(optarg);
		else if (c == 'w')
			width = atoi(optarg);
		else
			return 2;
	}
	if (!scratch || lines <= 0 || width < 2) {
		fprintf(stderr, "usage: logtimes --scratch DIR [--lines N] [--width W]\n");
		return 2;
	}
	if (sy_mkdir_p(scratch, 0755, NULL))
		return 1;
	rc = run(scratch, lines, width, 4096) || run(scratch, lines, width, 0);
	sy_rm_rf(scratch, NULL);
	return rc;
}
