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

/* Returns the subtree at path of root (NULL when absent or not a tree). */
static git_tree *subtree_at(git_repository *git, git_tree *root, const char *path)
{
	git_tree_entry *te;
	git_tree *sub = NULL;

	if (!root || git_tree_entry_bypath(&te, root, path) < 0)
		return NULL;
	if (git_tree_entry_type(te) == GIT_OBJECT_TREE)
		git_tree_lookup(&sub, git, git_tree_entry_id(te));
	git_tree_entry_free(te);
	return sub;
}

/* Narrows prefix to the entries directly below it whose ids differ between
 * the two trees, so that the diff walks only those: libgit2 bounds its walk
 * by the pathspec, while a whole spec tree of thousands of directories costs
 * milliseconds even when one directory changed. Appends pathspecs to out. */
static void narrow(git_repository *git, git_tree *old_root, git_tree *new_root,
		   const char *prefix, struct sy_strv *out)
{
	git_tree *a = subtree_at(git, old_root, prefix), *b = subtree_at(git, new_root, prefix);
	size_t i = 0, j = 0, na, nb;

	if (!a || !b) {
		if (a || b)
			sy_strv_push(out, prefix);
		goto out;
	}
	if (git_oid_equal(git_tree_id(a), git_tree_id(b)))
		goto out;
	na = git_tree_entrycount(a);
	nb = git_tree_entrycount(b);
	/* Entries are sorted by name (trees as "name/"; equal names compare
	 * equal here, and a type change shows as differing ids). */
	while (i < na || j < nb) {
		const git_tree_entry *ea = i < na ? git_tree_entry_byindex(a, i) : NULL;
		const git_tree_entry *eb = j < nb ? git_tree_entry_byindex(b, j) : NULL;
		int c = !ea ? 1 : !eb ? -1 : strcmp(git_tree_entry_name(ea), git_tree_entry_name(eb));
		if (c == 0 && git_oid_equal(git_tree_entry_id(ea), git_tree_entry_id(eb))) {
			i++, j++;
			continue;
		}
		const char *name = git_tree_entry_name(c <= 0 ? ea : eb);
		sy_strv_pushf(out, "%s/%s", prefix, name);
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
out:
	git_tree_free(a);
	git_tree_free(b);
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
	struct sy_strv specs = SY_STRV_INIT;
	for (size_t k = 0; k < nprefix; k++)
		narrow(git, old_tree, new_tree, prefixes[k], &specs);
	if (prefixes && !specs.n) {
		rc = 0;
		goto out;
	}
	opts.pathspec.strings = prefixes ? specs.items : NULL;
	opts.pathspec.count = prefixes ? specs.n : 0;
	/* Pathspecs are literal paths here, not patterns. */
	opts.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH;
	rc = git_diff_tree_to_tree(&diff, git, old_tree, new_tree, &opts);
	sy_strv_release(&specs);
	if (rc < 0) {
		rc = -1;
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
