#include "cli/cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/toolchain.h"
#include "sy-paths.h" /* SY_DATADIR, from the Makefile's DATADIR */
#include "common/fs.h"
#include "repo-publish/publish.h"
#include "state/layout.h"

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
		/* The source tree (build/shipyard), then an installed tree
		 * wherever it was moved or staged (DESTDIR). */
		static const char *const beside[] = { "../config", "../share/shipyard" };
		for (size_t i = 0; i < sizeof(beside) / sizeof(*beside); i++) {
			char *path = sy_xasprintf("%s/%s/worker.conf", exe, beside[i]);
			if (sy_exists(path))
				return path;
			free(path);
		}
	}
	return sy_xstrdup(SY_DATADIR "/worker.conf");
}

/* The channel's current published snapshot, or NULL when nothing is
 * published (caller frees). */
static char *published_repo(const struct cli_commit_request *r, struct gitwatch_repo *repo)
{
	char *channel = r->channel ? sy_xstrdup(r->channel) : gitwatch_head_branch(repo);
	char *repos = state_repos_dir(r->state_dir);
	char *dir = channel ? repo_publish_current_path(repos, channel) : NULL;

	free(repos);
	free(channel);
	return dir;
}

int cli_commit_load(const struct cli_commit_request *r, struct cli_commit *c, struct sy_error *err)
{
	char commit[GITWATCH_OID_HEX + 1];

	if (gitwatch_repo_open(r->repo_path, &c->repo, err) ||
	    gitwatch_resolve(c->repo, r->rev, commit, err) ||
	    (r->worker_manifest && builder_toolchain_read(r->worker_manifest, &c->toolchain, err)))
		return -1;
	c->learn = published_repo(r, c->repo);
	struct planner_commit_settings s = {
		.repo = c->repo, .state = r->state_dir, .arch = r->arch, .jobs = r->jobs,
		.learn_repo = c->learn, .toolchain = &c->toolchain,
	};
	return planner_commit_read(&s, commit, NULL, &c->commit, err) ||
			       planner_commit_graph(&s, &c->commit, err)
		       ? -1
		       : 0;
}

void cli_commit_release(struct cli_commit *c)
{
	planner_commit_release(&c->commit);
	free(c->learn);
	sy_strv_release(&c->toolchain);
	gitwatch_repo_free(c->repo);
	memset(c, 0, sizeof(*c));
}
