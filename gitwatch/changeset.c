#include "gitwatch/changeset.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"
#include "gitwatch/repo-private.h"

const char *gitwatch_change_kind_name(enum gitwatch_change_kind kind)
{
	switch (kind) {
	case GITWATCH_ADDED: return "added";
	case GITWATCH_MODIFIED: return "modified";
	case GITWATCH_DELETED: return "deleted";
	case GITWATCH_RENAMED: return "renamed";
	}
	return "changed";
}

static int tree_of(git_repository *git, const char *rev, git_tree **tree, char oid[41],
		   struct sy_error *err)
{
	git_object *obj;
	git_commit *commit;

	if (git_revparse_single(&obj, git, rev) < 0)
		return sy_error_set(err, "unknown revision '%s'", rev);
	int rc = git_object_peel((git_object **)&commit, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (rc < 0)
		return sy_error_set(err, "revision '%s' is not a commit", rev);
	git_oid_tostr(oid, GITWATCH_OID_HEX + 1, git_commit_id(commit));
	rc = git_commit_tree(tree, commit);
	git_commit_free(commit);
	return rc < 0 ? sy_error_set(err, "%s: cannot read tree", rev) : 0;
}

static enum gitwatch_change_kind kind_of(git_delta_t status)
{
	switch (status) {
	case GIT_DELTA_ADDED:
	case GIT_DELTA_COPIED:
		return GITWATCH_ADDED;
	case GIT_DELTA_DELETED:
		return GITWATCH_DELETED;
	case GIT_DELTA_RENAMED:
		return GITWATCH_RENAMED;
	default:
		return GITWATCH_MODIFIED;
	}
}

static const char *change_path(const struct gitwatch_change *c)
{
	return c->new_path ? c->new_path : c->old_path;
}

static int cmp_change(const void *a, const void *b)
{
	return strcmp(change_path(a), change_path(b));
}

static void collect(git_diff *diff, struct gitwatch_changeset *out)
{
	size_t n = git_diff_num_deltas(diff);

	out->changes = sy_xcalloc(n ? n : 1, sizeof(*out->changes));
	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		struct gitwatch_change *c = &out->changes[out->n++];
		c->kind = kind_of(d->status);
		if (c->kind != GITWATCH_ADDED)
			c->old_path = sy_xstrdup(d->old_file.path);
		if (c->kind != GITWATCH_DELETED)
			c->new_path = sy_xstrdup(d->new_file.path);
	}
	qsort(out->changes, out->n, sizeof(*out->changes), cmp_change);
}

int gitwatch_changeset_compute(struct gitwatch_repo *repo, const char *from, const char *to,
			       const char *const *prefixes, struct gitwatch_changeset *out,
			       struct sy_error *err)
{
	git_repository *git = gitwatch_repo_git(repo);
	git_tree *old_tree = NULL, *new_tree = NULL;
	git_diff *diff = NULL;
	git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
	git_diff_find_options fopts = GIT_DIFF_FIND_OPTIONS_INIT;
	size_t nprefix = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (from && tree_of(git, from, &old_tree, out->from, err))
		goto out;
	if (tree_of(git, to, &new_tree, out->to, err))
		goto out;
	while (prefixes && prefixes[nprefix])
		nprefix++;
	opts.pathspec.strings = (char **)prefixes;
	opts.pathspec.count = nprefix;
	if (git_diff_tree_to_tree(&diff, git, old_tree, new_tree, &opts) < 0) {
		sy_error_set(err, "diff %.12s..%.12s failed", out->from, out->to);
		goto out;
	}
	fopts.flags = GIT_DIFF_FIND_RENAMES;
	git_diff_find_similar(diff, &fopts);
	collect(diff, out);
	rc = 0;
out:
	git_diff_free(diff);
	git_tree_free(old_tree);
	git_tree_free(new_tree);
	return rc;
}

void gitwatch_changeset_release(struct gitwatch_changeset *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		free(cs->changes[i].old_path);
		free(cs->changes[i].new_path);
	}
	free(cs->changes);
	cs->changes = NULL;
	cs->n = 0;
}
