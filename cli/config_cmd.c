#include "cli/config_cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "builder/worker.h"
#include "common/confkeys.h"
#include "common/fs.h"
#include "common/strv.h"
#include "gitwatch/repo.h"
#include "planner/distro.h"
#include "repo-publish/s3.h"
#include "server/serveconf.h"

const char cli_config_usage[] =
	"usage: shipyard config check -c FILE\n"
	"       shipyard config check --distro FILE\n"
	"       shipyard config check --repo DIR [--rev REV]\n"
	"       shipyard config check --worker FILE\n"
	"\n"
	"Checks a configuration file: every section and key must be one shipyard\n"
	"knows (an unknown one is named with its line and the nearest known key),\n"
	"every value valid. Prints the configuration that applies, one\n"
	"\"key = value\" line per key and value, \"(default)\" after the values\n"
	"the file does not set; or every error found, one per line, to stderr.\n"
	"\n"
	"  -c, --config FILE  the service configuration (shipyard-serve.conf)\n"
	"  --distro FILE      a repository's shipyard.conf, as a file\n"
	"  --repo DIR         the shipyard.conf of a repository at --rev (default\n"
	"                     HEAD); its spec trees must exist\n"
	"  --rev REV          the commit of --repo\n"
	"  --worker FILE      a worker manifest\n"
	"\n"
	"Exit status: 0 valid, 1 errors, 2 usage error.\n";

enum { OPT_DISTRO = 256, OPT_REPO, OPT_REV, OPT_WORKER, OPT_HELP };

/* What is checked. */
enum format { FORMAT_SERVE, FORMAT_DISTRO, FORMAT_WORKER };

/* Appends each value of name (a key written without "= value" is "true",
 * as git reads it). */
static int add_value(const git_config_entry *e, void *arg)
{
	sy_strv_push(arg, e->value ? e->value : "true");
	return 0;
}

/* Prints every key of the table: the file's values, else the default. */
static void print_effective(const char *path, const char *text, size_t len,
			    const struct sy_conf_key *keys, size_t nkeys)
{
	git_config *cfg = NULL;

	git_libgit2_init();
	if (git_config_open_ondisk(&cfg, path) < 0) {
		git_libgit2_shutdown();
		return;
	}
	for (size_t i = 0; i < nkeys; i++) {
		struct sy_strv names = SY_STRV_INIT;
		sy_conf_key_expand(&keys[i], text, len, &names);
		for (size_t j = 0; j < names.n; j++) {
			struct sy_strv values = SY_STRV_INIT;
			git_config_get_multivar_foreach(cfg, names.items[j], NULL, add_value, &values);
			for (size_t v = 0; v < values.n; v++)
				printf("%s = %s\n", names.items[j], values.items[v]);
			if (!values.n)
				printf("%s = %s  (default)\n", names.items[j],
				       keys[i].dflt ? keys[i].dflt : "(not set)");
			sy_strv_release(&values);
		}
		sy_strv_release(&names);
	}
	git_config_free(cfg);
	git_libgit2_shutdown();
}

/* Reads the file with its format's reader: the errors of values. */
static int read_values(enum format format, const char *path, struct sy_error *err)
{
	struct planner_distro d;
	struct server_conf conf;
	struct builder_worker_manifest m;
	int rc;

	switch (format) {
	case FORMAT_DISTRO:
		rc = planner_distro_read_file(path, &d, err);
		planner_distro_release(&d);
		return rc;
	case FORMAT_WORKER:
		rc = builder_worker_manifest_read(path, &m, err);
		if (rc == 0)
			builder_worker_manifest_release(&m);
		return rc;
	case FORMAT_SERVE:
	default:
		rc = server_conf_read(path, &conf, err);
		if (rc == 0)
			server_conf_release(&conf);
		if (rc == 0) {
			/* [publish "s3"] is read by s3-sync and the service's
			 * publications, from the same file. */
			struct repo_s3_config s3;
			rc = repo_s3_config_read(path, &s3, err) < 0 ? -1 : 0;
			repo_s3_config_release(&s3);
		}
		return rc;
	}
}

/* Checks the file at path (shown as label): names, then values; prints
 * the configuration or the errors. Returns 0 or 1. */
static int check_file(enum format format, const char *path, const char *label)
{
	const struct sy_conf_key *keys = format == FORMAT_SERVE ? server_conf_keys
					 : format == FORMAT_DISTRO ? planner_distro_keys
								   : builder_worker_keys;
	size_t nkeys = format == FORMAT_SERVE ? server_conf_nkeys
		       : format == FORMAT_DISTRO ? planner_distro_nkeys
						 : builder_worker_nkeys;
	struct sy_strv problems = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *text = NULL;
	size_t len = 0;
	int rc = 1;

	if (sy_read_file(path, &text, &len, &err)) {
		fprintf(stderr, "shipyard: %s\n", err.msg);
		return 1;
	}
	if (sy_conf_check(label, text, len, keys, nkeys, &err, &problems) == 0 &&
	    read_values(format, path, &err) == 0) {
		print_effective(path, text, len, keys, nkeys);
		rc = 0;
	} else if (!problems.n) {
		fprintf(stderr, "shipyard: %s\n", err.msg);
	}
	for (size_t i = 0; i < problems.n; i++)
		fprintf(stderr, "shipyard: %s\n", problems.items[i]);
	sy_strv_release(&problems);
	free(text);
	return rc;
}

/* A missing spec tree, checked as planning would find it: none of the
 * trees of the shipyard.conf at conf_path exists at the commit. */
static int check_trees(struct gitwatch_repo *repo, const char *oid, const char *conf_path)
{
	struct planner_distro d;
	struct sy_error err = { { 0 } };
	char tree[GITWATCH_OID_HEX + 1];
	int found = 0;

	if (planner_distro_read_file(conf_path, &d, &err)) {
		fprintf(stderr, "shipyard: %s\n", err.msg);
		planner_distro_release(&d);
		return 1;
	}
	for (size_t i = 0; i < d.spec_trees.n; i++)
		found |= gitwatch_tree_id(repo, oid, d.spec_trees.items[i], tree, NULL) == 0;
	if (!found) {
		char *names = sy_strv_join(&d.spec_trees, ", ");
		fprintf(stderr, "shipyard: commit %.12s: no spec tree: none of %s exists (set "
			"distro.spectree in shipyard.conf)\n", oid, names);
		free(names);
	}
	planner_distro_release(&d);
	return found ? 0 : 1;
}

/* --repo DIR [--rev REV]: the commit's shipyard.conf, copied to a private
 * temporary file for libgit2, and its spec trees. */
static int check_repo(const char *dir, const char *rev)
{
	struct gitwatch_repo *repo = NULL;
	struct sy_error err = { { 0 } };
	char oid[GITWATCH_OID_HEX + 1], blob[GITWATCH_OID_HEX + 1];
	char *text = NULL, *tmpdir = NULL, *path = NULL;
	size_t len = 0;
	int rc = 1, has;

	if (gitwatch_repo_open(dir, &repo, &err) || gitwatch_resolve(repo, rev, oid, &err) ||
	    (has = gitwatch_file_oid(repo, oid, "shipyard.conf", blob, &err)) < 0) {
		fprintf(stderr, "shipyard: %s\n", err.msg);
		goto out;
	}
	tmpdir = sy_mkdtemp(sy_tmp_dir(), "shipyard-config-", &err);
	if (!tmpdir || (has == 0 && gitwatch_read_blob(repo, blob, &text, &len, &err))) {
		fprintf(stderr, "shipyard: %s\n", err.msg);
		goto out;
	}
	path = sy_xasprintf("%s/shipyard.conf", tmpdir);
	if (sy_write_file(path, text ? text : "", len, 0600, &err)) {
		fprintf(stderr, "shipyard: %s\n", err.msg);
		goto out;
	}
	/* Without the file, the defaults apply: an empty one says the same. */
	if (has == 1)
		printf("# %s at %.12s has no shipyard.conf: the defaults apply\n", dir, oid);
	rc = check_file(FORMAT_DISTRO, path, "shipyard.conf");
	if (rc == 0)
		rc = check_trees(repo, oid, path);
out:
	if (path)
		unlink(path);
	if (tmpdir)
		rmdir(tmpdir);
	free(path);
	free(tmpdir);
	free(text);
	gitwatch_repo_free(repo);
	return rc;
}

int cli_config_command(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "distro", required_argument, NULL, OPT_DISTRO },
		{ "repo", required_argument, NULL, OPT_REPO },
		{ "rev", required_argument, NULL, OPT_REV },
		{ "worker", required_argument, NULL, OPT_WORKER },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *repo = NULL, *rev = "HEAD";
	enum format format = FORMAT_SERVE;
	int c, given = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", options, NULL)) != -1) {
		switch (c) {
		case 'c': file = optarg; format = FORMAT_SERVE; given++; break;
		case OPT_DISTRO: file = optarg; format = FORMAT_DISTRO; given++; break;
		case OPT_WORKER: file = optarg; format = FORMAT_WORKER; given++; break;
		case OPT_REPO: repo = optarg; given++; break;
		case OPT_REV: rev = optarg; break;
		case OPT_HELP: fputs(cli_config_usage, stdout); return 0;
		default: fputs(cli_config_usage, stderr); return 2;
		}
	}
	if (optind >= argc || strcmp(argv[optind], "check") || optind + 1 < argc || given != 1) {
		fprintf(stderr, "shipyard: %s\n", given != 1 ? "give one of -c, --distro, --repo, "
			"--worker" : "expected: config check");
		fputs(cli_config_usage, stderr);
		return 2;
	}
	if (repo)
		return check_repo(repo, rev);
	return check_file(format, file, file);
}
