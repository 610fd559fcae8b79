#include "cli/imagevalidate_cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "imager/imageconfig.h"
#include "imager/imagevalidate.h"

const char cli_image_validate_usage[] =
	"usage: shipyard image validate [--root DIR] FILE...\n"
	"\n"
	"Checks image configs (the Azure Linux toolkit's imagegen JSON) without\n"
	"composing: every key known, every value of its type, the toolkit's rules\n"
	"(partitions, mount points, users, kernel command line, the packages\n"
	"FIPS, SELinux and users need), package lists readable; then whether\n"
	"shipyard composes every field the config sets. One line per file:\n"
	"  <file>: valid, composable (N packages)\n"
	"  <file>: valid; <JSON path>: not supported[: why]\n"
	"  <file>: invalid: <JSON path>: <reason>\n"
	"Image Customizer configs (YAML) are not supported.\n"
	"\n"
	"  --root DIR   the repository the files and their package lists are\n"
	"               in (default: the current directory; a FILE outside it\n"
	"               is read with / as its repository)\n"
	"\n"
	"Exit status: 0 all valid and composable, 1 some not, 2 usage error.\n";

/* Reads repository path `path` under the root directory arg. */
static int read_under(void *arg, const char *path, char **data, size_t *len,
		      struct sy_error *err)
{
	char *full = sy_xasprintf("%s/%s", (const char *)arg, path);
	int rc = sy_read_file(full, data, len, err);

	free(full);
	return rc;
}

/* The repository path of file under root, or NULL (then root is "/"). */
static const char *under(const char *root, const char *file)
{
	size_t n = strlen(root);

	if (file[0] != '/')
		return file;
	if (!strncmp(file, root, n) && file[n] == '/')
		return file + n + 1;
	return NULL;
}

/* Prints the verdict on one file; returns 1 when it is not valid and
 * composable. */
static int validate_one(const char *root, const char *file)
{
	const char *rel = under(root, file), *top = rel ? root : "/";
	struct imager_config cfg;
	struct sy_error err = { { 0 } };
	size_t len = strlen(file), skip;
	char *json = NULL;
	int rc = 1;

	if (!rel)
		rel = file + 1;
	skip = strlen(rel) + 2; /* "<rel>: " opens each message */
	if (len > 5 && !strcmp(file + len - 5, ".yaml")) {
		printf("%s: not supported: Image Customizer config (YAML)\n", file);
		return 1;
	}
	if (read_under((void *)top, rel, &json, NULL, &err) ||
	    imager_config_parse(rel, json, read_under, (void *)top, &cfg, &err)) {
		printf("%s: invalid: %s\n", file,
		       !strncmp(err.msg, rel, strlen(rel)) && strlen(err.msg) > skip ? err.msg + skip
										  : err.msg);
		free(json);
		return 1;
	}
	/* The files the config applies must exist, as the image stage reads
	 * them before any work. */
	if (imager_config_load_files(&cfg, read_under, (void *)top, &err))
		printf("%s: invalid: %s\n", file, strlen(err.msg) > skip ? err.msg + skip : err.msg);
	else if (imager_config_check_support(&cfg, &err))
		printf("%s: valid; %s\n", file, strlen(err.msg) > skip ? err.msg + skip : err.msg);
	else
		printf("%s: valid, composable (%zu packages)\n", file, cfg.packages.n), rc = 0;
	imager_config_release(&cfg);
	free(json);
	return rc;
}

int cli_image_validate_command(int argc, char **argv)
{
	static const struct option options[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *root = NULL;
	int opt, failed = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(cli_image_validate_usage, stdout);
			free(root);
			return 0;
		}
		if (opt != 'r') {
			fputs(cli_image_validate_usage, stderr);
			free(root);
			return 2;
		}
		free(root);
		root = sy_xstrdup(optarg);
	}
	if (optind >= argc) {
		fputs(cli_image_validate_usage, stderr);
		free(root);
		return 2;
	}
	if (!root)
		root = sy_xstrdup(".");
	while (strlen(root) > 1 && root[strlen(root) - 1] == '/')
		root[strlen(root) - 1] = '\0';
	for (int i = optind; i < argc; i++)
		failed |= validate_one(root, argv[i]);
	free(root);
	return failed;
}
