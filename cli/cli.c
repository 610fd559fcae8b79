#include "cli/cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"

int cli_usage_error(const char *usage, const char *msg)
{
	if (msg)
		fprintf(stderr, "shipyard: %s\n", msg);
	fputs(usage, stderr);
	return 2;
}

void cli_split_list(const char *list, struct sy_strv *names)
{
	char *copy = sy_xstrdup(list), *save = NULL;

	for (char *t = strtok_r(copy, ", \t\n", &save); t; t = strtok_r(NULL, ", \t\n", &save))
		sy_strv_push(names, t);
	free(copy);
}

char *cli_default_manifest(void)
{
	const char *env = getenv("SHIPYARD_CONFIG_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env)
		return sy_xasprintf("%s/worker.conf", env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';
		char *path = sy_xasprintf("%s/../config/worker.conf", exe);
		if (sy_exists(path))
			return path;
		free(path);
	}
	return sy_xstrdup("/usr/local/share/shipyard/worker.conf");
}
