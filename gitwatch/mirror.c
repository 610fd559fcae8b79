#include "gitwatch/mirror.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <git2.h>

#include "common/fs.h"
#include "common/strv.h"

static int git_fail(struct sy_error *err, const char *url, const char *what)
{
	const git_error *e = git_error_last();

	return sy_error_set(err, "%s: %s: %s", url, what, e && e->message ? e->message : "failed");
}

static int open_or_init(const char *dir, git_repository **repo, struct sy_error *err)
{
	if (git_repository_open_bare(repo, dir) == 0)
		return 0;
	if (sy_mkdir_p(dir, 0755, err))
		return -1;
	if (git_repository_init(repo, dir, 1) < 0)
		return git_fail(err, dir, "init");
	return 0;
}

static int fetch(git_repository *repo, const char *url, const char *const *refspecs,
		 struct sy_error *err)
{
	static const char *const all[] = { "+refs/heads/*:refs/heads/*", NULL };
	const char *const *specs = refspecs ? refspecs : all;
	git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
	git_strarray arr;
	git_remote *remote;
	size_t n = 0;
	int rc;

	while (specs[n])
		n++;
	arr.strings = (char **)specs;
	arr.count = n;
	opts.prune = refspecs ? GIT_FETCH_NO_PRUNE : GIT_FETCH_PRUNE;
	opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	if (git_remote_create_anonymous(&remote, repo, url) < 0)
		return git_fail(err, url, "remote");
	rc = git_remote_fetch(remote, &arr, &opts, "shipyard fetch") < 0 ? git_fail(err, url, "fetch")
									  : 0;
	git_remote_free(remote);
	return rc;
}

int gitwatch_mirror_update(const char *url, const char *dir, const char *const *refspecs,
			   struct sy_error *err)
{
	char *lock_path = sy_xasprintf("%s.lock", dir);
	int lock, rc = -1;
	git_repository *repo = NULL;

	char *parent = sy_xstrdup(dir), *slash = strrchr(parent, '/');

	if (slash && slash != parent)
		*slash = '\0';
	git_libgit2_init();
	if (slash && slash != parent && sy_mkdir_p(parent, 0755, err)) {
		free(parent);
		free(lock_path);
		git_libgit2_shutdown();
		return -1;
	}
	free(parent);
	lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		sy_error_set(err, "%s: cannot lock", lock_path);
		goto out;
	}
	if (open_or_init(dir, &repo, err) == 0)
		rc = fetch(repo, url, refspecs, err);
	git_repository_free(repo);
out:
	if (lock >= 0)
		close(lock);
	free(lock_path);
	git_libgit2_shutdown();
	return rc;
}

int gitwatch_mirror_branches(const char *dir, struct sy_strv *names, struct sy_strv *heads,
			     struct sy_error *err)
{
	git_repository *repo = NULL;
	git_branch_iterator *it = NULL;
	git_reference *ref;
	git_branch_t type;
	int rc = 0;

	git_libgit2_init();
	if (git_repository_open_bare(&repo, dir) < 0 ||
	    git_branch_iterator_new(&it, repo, GIT_BRANCH_LOCAL) < 0) {
		rc = git_fail(err, dir, "branches");
		goto out;
	}
	while (git_branch_next(&ref, &type, it) == 0) {
		const char *name = NULL;
		git_reference *resolved = NULL;
		if (git_branch_name(&name, ref) == 0 && git_reference_resolve(&resolved, ref) == 0 &&
		    git_reference_target(resolved)) {
			char hex[GIT_OID_HEXSZ + 1];
			git_oid_tostr(hex, sizeof(hex), git_reference_target(resolved));
			sy_strv_push(names, name);
			sy_strv_push(heads, hex);
		}
		git_reference_free(resolved);
		git_reference_free(ref);
	}
out:
	git_branch_iterator_free(it);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}
