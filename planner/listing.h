/* Listing a commit's spec trees: every file under them (what build keys and
 * the macro context are made of) and the spec files among them. A tree's
 * listing is cached in state.db by the tree's id, since walking thousands of
 * subtrees is the slow part of a warm plan and a tree id names its
 * content. */
#ifndef PLANNER_LISTING_H
#define PLANNER_LISTING_H

#include "common/error.h"
#include "common/strv.h"
#include "gitwatch/repo.h"

/* Lists every blob under each spec tree of trees (NULL-terminated
 * repository paths; a missing tree is empty) at commit into all, tree after
 * tree, through the cache of the database at cache_path (NULL: none).
 * Returns 0, or -1 with err when commit cannot be read. Release all with
 * gitwatch_entries_release. */
int planner_listing_trees(struct gitwatch_repo *repo, const char *commit, const char *const *trees,
			  const char *cache_path, struct gitwatch_entries *all, struct sy_error *err);

/* Lists the spec trees of commit from the listing of commit since
 * (since_files: planner_listing_files of planner_listing_trees at since, as
 * an index of since holds it) and the tree diff between the two commits
 * (gitwatch_diff_files, gitwatch_entries_patch): into files what
 * planner_listing_files would make at commit, and into changed_dirs the
 * directories ("SPECS/zlib") holding a file that was added, changed or
 * removed, sorted. A commit changing a few specs is listed in a few tree
 * lookups instead of a walk of thousands of directories. Returns 1 when
 * done, 0 when the trees nest or one is the whole repository (list them as
 * usual then), -1 with err. Release files with gitwatch_entries_release,
 * changed_dirs with sy_strv_release. */
int planner_listing_since(struct gitwatch_repo *repo, const char *commit, const char *since,
			  const char *const *trees, const struct gitwatch_entries *since_files,
			  struct gitwatch_entries *files, struct sy_strv *changed_dirs,
			  struct sy_error *err);

/* Fills specs with the "<tree>/<dir>/<name>.spec" entries of all (depth two
 * under a tree of trees, as the Azure Linux toolkit's specreader globs),
 * sorted by path; paths are copied. Release with gitwatch_entries_release. */
void planner_listing_specs(const struct gitwatch_entries *all, const char *const *trees,
			   struct gitwatch_entries *specs);

/* Moves all into files sorted by path, each path once (spec trees may nest:
 * then a file is listed under both). all is left empty. */
void planner_listing_files(struct gitwatch_entries *all, struct gitwatch_entries *files);

#endif
