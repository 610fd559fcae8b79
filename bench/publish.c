/* publish: times shipyard's publication of a snapshot, for bench/publish.sh
 * (issue 13: publishing 1 new RPM into a 3,000-package repository).
 *
 *   publish --rpms DIR --new RPM --scratch DIR [--runs N] [--sqlite]
 *
 * Publishes DIR's *.rpm to a channel of a state made in --scratch (every
 * package read: the base snapshot), then N times (default 5) publishes the base
 * snapshot's packages plus RPM with repo_publish_snapshot_with, the path a
 * pipeline takes (packages hard-linked into a new snapshot, the entries of
 * those the base holds kept, RPM read, repodata written and fsynced,
 * current switched), and N times the same set with every package read
 * (options.full: the reference). Each snapshot made is removed again.
 * --sqlite also writes the sqlite databases. Prints a line per run
 * ("full 0.3120", "incremental 0.0810") and what the last incremental one
 * did ("packages 3001", "read 1", "reused 3000").
 * Exit status 0, 1 on error, 2 on usage. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fs.h"
#include "common/strv.h"
#include "common/util.h"
#include "repo-publish/publish.h"

/* Publishes rpms with opts n times, each snapshot removed again, and
 * prints "<what> <seconds>" for each run; *stats receives the last run's. */
static int time_publish(const char *repos, struct sy_strv *rpms,
			const struct repo_publish_options *opts, const char *what, int n,
			struct repo_publish_stats *stats, struct sy_error *err)
{
	int rc = 0;

	for (int i = 0; i < n && rc == 0; i++) {
		char *snap = NULL;
		double start = sy_now_s();
		rc = repo_publish_snapshot_with(repos, "bench", (const char *const *)rpms->items,
						opts, &snap, stats, err);
		if (rc == 0)
			printf("%s %.4f\n", what, sy_now_s() - start);
		if (rc == 0)
			rc = sy_rm_rf(snap, err);
		free(snap);
	}
	return rc;
}

static int run(const char *dir, const char *new_rpm, const char *scratch, int runs, int sqlite,
	       struct sy_error *err)
{
	struct sy_strv names = SY_STRV_INIT, rpms = SY_STRV_INIT;
	char *repos = sy_xasprintf("%s/repos", scratch), *base = NULL;
	struct repo_publish_options full = { .full = 1, .sqlite = sqlite };
	struct repo_publish_stats stats;
	int rc;

	sy_rm_rf(scratch, NULL);
	rc = sy_mkdir_p(repos, 0755, err);
	sy_list_dir(dir, &names);
	for (size_t i = 0; i < names.n; i++)
		if (strstr(names.items[i], ".rpm"))
			sy_strv_pushf(&rpms, "%s/%s", dir, names.items[i]);
	if (rc == 0)
		rc = repo_publish_snapshot_with(repos, "bench", (const char *const *)rpms.items,
						&full, &base, &stats, err);
	/* The next snapshots hold the base's own files, as a pipeline's do. */
	sy_strv_release(&rpms);
	if (rc == 0)
		rc = repo_publish_list_snapshot(base, &rpms, err);
	sy_strv_push(&rpms, new_rpm);
	struct repo_publish_options inc = { .previous = base, .sqlite = sqlite };
	if (rc == 0)
		rc = time_publish(repos, &rpms, &full, "full", runs, &stats, err);
	if (rc == 0)
		rc = time_publish(repos, &rpms, &inc, "incremental", runs, &stats, err);
	if (rc == 0 && stats.warning.msg[0])
		rc = sy_error_set(err, "%s", stats.warning.msg);
	if (rc == 0)
		printf("packages %zu\nread %zu\nreused %zu\n", rpms.n, stats.read, stats.reused);
	sy_rm_rf(scratch, NULL);
	sy_strv_release(&names);
	sy_strv_release(&rpms);
	free(repos);
	free(base);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rpms", required_argument, NULL, 'r' },
		{ "new", required_argument, NULL, 'n' },
		{ "scratch", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'N' },
		{ "sqlite", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *new_rpm = NULL, *scratch = NULL;
	struct sy_error err = { { 0 } };
	int runs = 5, sqlite = 0, c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': dir = optarg; break;
		case 'n': new_rpm = optarg; break;
		case 's': scratch = optarg; break;
		case 'N': runs = atoi(optarg); break;
		case 'q': sqlite = 1; break;
		default: return 2;
		}
	}
	if (!dir || !new_rpm || !scratch || runs < 1) {
		fprintf(stderr, "usage: publish --rpms DIR --new RPM --scratch DIR [--runs N] "
				"[--sqlite]\n");
		return 2;
	}
	if (run(dir, new_rpm, scratch, runs, sqlite, &err)) {
		fprintf(stderr, "publish: %s\n", err.msg);
		return 1;
	}
	return 0;
}
