/* What changed between two commits, as file paths: the raw material from which
 * the planner derives changed specs, image configs and global inputs. */
#ifndef GITWATCH_CHANGESET_H
#define GITWATCH_CHANGESET_H

#include <stddef.h>

#include "common/error.h"
#include "gitwatch/repo.h"

/* How a file changed. */
enum gitwatch_change_kind {
	GITWATCH_ADDED,
	GITWATCH_MODIFIED,
	GITWATCH_DELETED,
	GITWATCH_RENAMED,
};

/* One changed file. */
struct gitwatch_change {
	enum gitwatch_change_kind kind;
	char *old_path; /* path before (NULL when added) */
	char *new_path; /* path after (NULL when deleted) */
};

/* The changed files between two commits, limited to some directories. */
struct gitwatch_changeset {
	char from[GITWATCH_OID_HEX + 1]; /* base commit, "" when diffed against the empty tree */
	char to[GITWATCH_OID_HEX + 1];   /* head commit */
	struct gitwatch_change *changes; /* sorted by path */
	size_t n;                        /* number of changes */
};

/* Diffs the trees of from and to with git_diff_tree_to_tree, limited to paths
 * under the given prefixes (NULL-terminated list of directory paths such as
 * "SPECS", "toolkit/imageconfigs"; NULL means everything), with rename
 * detection. from may be NULL: then every file of to is "added". Returns 0
 * or -1. The caller releases *out with gitwatch_changeset_release. */
int gitwatch_changeset_compute(struct gitwatch_repo *repo, const char *from, const char *to,
			       const char *const *prefixes, struct gitwatch_changeset *out,
			       struct sy_error *err);

/* Frees the changes. */
void gitwatch_changeset_release(struct gitwatch_changeset *cs);

/* Returns "added", "modified", "deleted" or "renamed". */
const char *gitwatch_change_kind_name(enum gitwatch_change_kind kind);

#endif
