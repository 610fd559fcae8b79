/* A distribution's git repository, read with libgit2: resolving revisions,
 * listing and reading files at a commit, writing a subtree to a directory.
 * Nothing here needs a working tree: everything is read from git objects. */
#ifndef GITWATCH_REPO_H
#define GITWATCH_REPO_H

#include <stddef.h>

#include "common/error.h"
#include "common/strv.h"

#define GITWATCH_OID_HEX 40

/* An open repository; create with gitwatch_repo_open, free with gitwatch_repo_free. */
struct gitwatch_repo;

/* One file (blob) of a tree. */
struct gitwatch_entry {
	char *path;                     /* path from the repository root, "SPECS/zlib/zlib.spec" */
	char oid[GITWATCH_OID_HEX + 1]; /* blob id, hex */
	unsigned mode;                  /* git file mode: 0100644, 0100755 or 0120000 (link) */
};

/* A list of entries; release with gitwatch_entries_release. */
struct gitwatch_entries {
	struct gitwatch_entry *items; /* sorted by path */
	size_t n;                     /* number of entries */
};

/* Opens the repository at path (work tree or bare). Returns 0 and *out, or -1
 * with err set ("<path>: not a git repository: <libgit2 message>"). */
int gitwatch_repo_open(const char *path, struct gitwatch_repo **out, struct sy_error *err);

/* Frees an open repository (NULL is allowed). */
void gitwatch_repo_free(struct gitwatch_repo *repo);

/* Resolves rev (any git revision expression: "HEAD", "main~1", a hex id) to a
 * commit id written as hex into oid. Returns 0 or -1 ("unknown revision"). */
int gitwatch_resolve(struct gitwatch_repo *repo, const char *rev, char oid[GITWATCH_OID_HEX + 1],
		     struct sy_error *err);

/* Returns the first parent of commit in parent (hex), or -1 if it has none. */
int gitwatch_first_parent(struct gitwatch_repo *repo, const char *commit,
			  char parent[GITWATCH_OID_HEX + 1], struct sy_error *err);

/* Sets *seconds to the committer time of commit (seconds since 1970, UTC):
 * what SOURCE_DATE_EPOCH is for anything made from that commit. Returns
 * 0, or -1 with err when commit cannot be resolved. */
int gitwatch_commit_time(struct gitwatch_repo *repo, const char *commit, long long *seconds,
			 struct sy_error *err);

/* The subject (first line of the message) and author ("Name <email>") of
 * commit, newly allocated into *subject and *author (caller frees both).
 * Returns 0, or -1 with err when commit cannot be resolved. */
int gitwatch_commit_info(struct gitwatch_repo *repo, const char *commit, char **subject,
			 char **author, struct sy_error *err);

/* Finds the merge base of commits a and b (git merge-base) into base (hex).
 * Returns 0, or -1 when they share no history. */
int gitwatch_merge_base(struct gitwatch_repo *repo, const char *a, const char *b,
			char base[GITWATCH_OID_HEX + 1], struct sy_error *err);

/* Returns 1 when name is a local branch ("main", "release/3.0"), else 0. */
int gitwatch_is_branch(struct gitwatch_repo *repo, const char *name);

/* Returns 1 when commit ancestor is commit descendant or one of its
 * ancestors, 0 when not, -1 with err set when either cannot be resolved. */
int gitwatch_is_ancestor(struct gitwatch_repo *repo, const char *ancestor, const char *descendant,
			 struct sy_error *err);

/* Returns the short name of the branch HEAD points at ("main") in a newly
 * allocated string (caller frees), or "detached" when HEAD is detached. */
char *gitwatch_head_branch(struct gitwatch_repo *repo);

/* Lists every blob under prefix (a directory path without trailing slash, or
 * "" for the whole tree) at commit, recursively. A missing prefix yields an
 * empty list. Returns 0 or -1. The caller releases *out. */
int gitwatch_list_files(struct gitwatch_repo *repo, const char *commit, const char *prefix,
			struct gitwatch_entries *out, struct sy_error *err);

/* The files under prefix (a directory path, not "") that differ between
 * commits from and to, by git_diff_tree_to_tree (no rename detection; an
 * unchanged subtree is skipped by its id, so a commit changing a few files
 * of thousands of directories is diffed in a few lookups): into added the
 * files added or changed at to (full paths, blob ids and modes as
 * gitwatch_list_files gives them, sorted), into removed the paths of the
 * files removed or changed. A missing prefix is an empty tree. Every path
 * the diff names is checked as gitwatch_list_files checks names. Returns 0,
 * or -1 with err (an unsafe name, a tree that cannot be read). The caller
 * releases added and removed. */
int gitwatch_diff_files(struct gitwatch_repo *repo, const char *from, const char *to,
			const char *prefix, struct gitwatch_entries *added, struct sy_strv *removed,
			struct sy_error *err);

/* Makes into out the listing before (sorted, checked as gitwatch_list_files
 * checks it) with the paths of removed left out and the entries of added
 * (sorted) put in: gitwatch_list_files of a commit from another commit's
 * listing and gitwatch_diff_files between them. Refuses, as
 * gitwatch_list_files does, an added path listed twice or listed both as a
 * file and as a directory holding others. Returns 0, or -1 with err. The
 * caller releases out. */
int gitwatch_entries_patch(const struct gitwatch_entries *before,
			   const struct gitwatch_entries *added, const struct sy_strv *removed,
			   struct gitwatch_entries *out, struct sy_error *err);

/* Frees the entries and their paths. */
void gitwatch_entries_release(struct gitwatch_entries *entries);

/* Reads the blob at path in commit into *data (NUL-terminated; caller frees)
 * and its size in bytes into *len. Returns 0, or -1 when the path does not
 * exist or is not a file. */
int gitwatch_read_file(struct gitwatch_repo *repo, const char *commit, const char *path,
		       char **data, size_t *len, struct sy_error *err);

/* Looks up the blob at path in commit: returns 0 and its id in oid, 1 when
 * there is no file at path, -1 with err set when the commit cannot be read. */
int gitwatch_file_oid(struct gitwatch_repo *repo, const char *commit, const char *path,
		      char oid[GITWATCH_OID_HEX + 1], struct sy_error *err);

/* Sets *size to the size (bytes) of the object with id blob_oid (hex),
 * read from its header only (git_odb_read_header: no inflating of the
 * content). Returns 0, or -1 with err set when it is not in the repository. */
int gitwatch_blob_size(struct gitwatch_repo *repo, const char *blob_oid, size_t *size,
		       struct sy_error *err);

/* Reads a blob by id (hex). Same ownership as gitwatch_read_file. */
int gitwatch_read_blob(struct gitwatch_repo *repo, const char *blob_oid, char **data, size_t *len,
		       struct sy_error *err);

/* Returns the id of the tree at path (a directory) in commit, as hex in oid;
 * -1 when there is no such directory. */
int gitwatch_tree_id(struct gitwatch_repo *repo, const char *commit, const char *path,
		     char oid[GITWATCH_OID_HEX + 1], struct sy_error *err);

/* Writes every file under prefix at commit into dest, keeping the paths
 * relative to prefix (dest/<rest of path>), with executable bits and symlinks
 * as in git. dest is created. Returns 0 or -1. */
int gitwatch_materialize(struct gitwatch_repo *repo, const char *commit, const char *prefix,
			 const char *dest, struct sy_error *err);

#endif
