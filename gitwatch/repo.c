#include "gitwatch/repo.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/strv.h"
#include "gitwatch/repo-private.h"

struct gitwatch_repo {
	git_repository *git; /* the libgit2 repository */
};

git_repository *gitwatch_repo_git(struct gitwatch_repo *repo)
{
	return repo->git;
}

static int git_fail(struct sy_error *err, const char *what)
{
	const git_error *e = git_error_last();

	return sy_error_set(err, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

/* Process-wide libgit2 settings, once. A distribution's spec tree object
 * holds thousands of entries (about 100 KiB): above libgit2's default cache
 * limit for trees (4 KiB), so every lookup parsed it again; keep trees up to
 * 16 MiB cached. Objects read are not hashed again on every read (as git
 * itself does not): packs are verified when fetched, and hashing the spec
 * trees on each lookup was a third of a warm plan. */
static void tune_libgit2(void)
{
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, (size_t)16 << 20);
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
}

int gitwatch_repo_open(const char *path, struct gitwatch_repo **out, struct sy_error *err)
{
	git_repository *git;

	if (git_libgit2_init() == 1)
		tune_libgit2();
	if (git_repository_open_ext(&git, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
		int rc = git_fail(err, path);
		sy_error_prefix(err, "not a git repository");
		git_libgit2_shutdown();
		return rc;
	}
	*out = sy_xcalloc(1, sizeof(**out));
	(*out)->git = git;
	return 0;
}

void gitwatch_repo_free(struct gitwatch_repo *repo)
{
	if (!repo)
		return;
	git_repository_free(repo->git);
	free(repo);
	git_libgit2_shutdown();
}

static int lookup_commit(struct gitwatch_repo *repo, const char *rev, git_commit **commit,
			 struct sy_error *err)
{
	git_object *obj;

	if (git_revparse_single(&obj, repo->git, rev) < 0)
		return sy_error_set(err, "unknown revision '%s'", rev);
	int rc = git_object_peel((git_object **)commit, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (rc < 0)
		return sy_error_set(err, "revision '%s' is not a commit", rev);
	return 0;
}

static int lookup_tree(struct gitwatch_repo *repo, const char *rev, git_tree **tree,
		       struct sy_error *err)
{
	git_commit *commit;

	if (lookup_commit(repo, rev, &commit, err))
		return -1;
	int rc = git_commit_tree(tree, commit);
	git_commit_free(commit);
	if (rc < 0)
		return git_fail(err, rev);
	return 0;
}

int gitwatch_resolve(struct gitwatch_repo *repo, const char *rev, char oid[GITWATCH_OID_HEX + 1],
		     struct sy_error *err)
{
	git_commit *commit;

	if (lookup_commit(repo, rev, &commit, err))
		return -1;
	git_oid_tostr(oid, GITWATCH_OID_HEX + 1, git_commit_id(commit));
	git_commit_free(commit);
	return 0;
}

int gitwatch_first_parent(struct gitwatch_repo *repo, const char *commit_rev,
			  char parent[GITWATCH_OID_HEX + 1], struct sy_error *err)
{
	git_commit *commit;

	if (lookup_commit(repo, commit_rev, &commit, err))
		return -1;
	int rc = 0;
	if (git_commit_parentcount(commit) == 0)
		rc = sy_error_set(err, "commit %s has no parent", commit_rev);
	else
		git_oid_tostr(parent, GITWATCH_OID_HEX + 1, git_commit_parent_id(commit, 0));
	git_commit_free(commit);
	return rc;
}

int gitwatch_commit_time(struct gitwatch_repo *repo, const char *commit_rev, long long *seconds,
			 struct sy_error *err)
{
	git_commit *commit;

	if (lookup_commit(repo, commit_rev, &commit, err))
		return -1;
	*seconds = (long long)git_commit_time(commit);
	git_commit_free(commit);
	return 0;
}

int gitwatch_commit_info(struct gitwatch_repo *repo, const char *commit_rev, char **subject,
			 char **author, struct sy_error *err)
{
	git_commit *commit;
	const git_signature *sig;
	const char *summary;

	if (lookup_commit(repo, commit_rev, &commit, err))
		return -1;
	summary = git_commit_summary(commit);
	sig = git_commit_author(commit);
	*subject = sy_xstrdup(summary ? summary : "");
	*author = sy_xasprintf("%s <%s>", sig && sig->name ? sig->name : "",
			       sig && sig->email ? sig->email : "");
	git_commit_free(commit);
	return 0;
}

int gitwatch_merge_base(struct gitwatch_repo *repo, const char *a, const char *b,
			char base[GITWATCH_OID_HEX + 1], struct sy_error *err)
{
	char ha[GITWATCH_OID_HEX + 1], hb[GITWATCH_OID_HEX + 1];
	git_oid oa, ob, out;

	if (gitwatch_resolve(repo, a, ha, err) || gitwatch_resolve(repo, b, hb, err))
		return -1;
	git_oid_fromstr(&oa, ha);
	git_oid_fromstr(&ob, hb);
	if (git_merge_base(&out, repo->git, &oa, &ob) < 0)
		return sy_error_set(err, "%s and %s have no common history", a, b);
	git_oid_tostr(base, GITWATCH_OID_HEX + 1, &out);
	return 0;
}

int gitwatch_is_branch(struct gitwatch_repo *repo, const char *name)
{
	git_reference *ref;

	if (git_branch_lookup(&ref, repo->git, name, GIT_BRANCH_LOCAL) < 0)
		return 0;
	git_reference_free(ref);
	return 1;
}

int gitwatch_is_ancestor(struct gitwatch_repo *repo, const char *ancestor, const char *descendant,
			 struct sy_error *err)
{
	char a[GITWATCH_OID_HEX + 1], d[GITWATCH_OID_HEX + 1];
	git_oid oa, od;

	if (gitwatch_resolve(repo, ancestor, a, err) || gitwatch_resolve(repo, descendant, d, err))
		return -1;
	if (!strcmp(a, d))
		return 1;
	git_oid_fromstr(&oa, a);
	git_oid_fromstr(&od, d);
	return git_graph_descendant_of(repo->git, &od, &oa) == 1;
}

char *gitwatch_head_branch(struct gitwatch_repo *repo)
{
	git_reference *head;
	char *name;

	if (git_repository_head(&head, repo->git) < 0)
		return sy_xstrdup("detached");
	if (git_reference_is_branch(head))
		name = sy_xstrdup(git_reference_shorthand(head));
	else
		name = sy_xstrdup("detached");
	git_reference_free(head);
	return name;
}

struct walk_ctx {
	const char *prefix;            /* path of the walked subtree, "" for the root */
	struct gitwatch_entries *out;
	size_t alloc;
	const char *bad;               /* first unsafe entry name met, or NULL */
};

/* Tree entry names come from whoever pushed: a crafted object can hold
 * "..", "/" or ".git", which must never become a path on disk. */
static int safe_name(const char *name)
{
	return *name && strcmp(name, ".") && strcmp(name, "..") && strcasecmp(name, ".git") &&
	       !strchr(name, '/') && !strchr(name, '\\');
}

static int walk_cb(const char *root, const git_tree_entry *entry, void *payload)
{
	struct walk_ctx *w = payload;

	if (!safe_name(git_tree_entry_name(entry))) {
		w->bad = git_tree_entry_name(entry);
		return -1;
	}
	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB)
		return 0;
	if (w->out->n == w->alloc) {
		w->alloc = w->alloc ? w->alloc * 2 : 64;
		w->out->items = sy_xrealloc(w->out->items, w->alloc * sizeof(*w->out->items));
	}
	struct gitwatch_entry *e = &w->out->items[w->out->n++];
	/* "<prefix>/<root><name>", root being "" or "dir/": no printf, this
	 * runs for every file of a distribution. */
	const char *name = git_tree_entry_name(entry);
	size_t plen = strlen(w->prefix), rlen = strlen(root), nlen = strlen(name);
	size_t sep = plen ? 1 : 0;
	e->path = sy_xmalloc(plen + sep + rlen + nlen + 1);
	memcpy(e->path, w->prefix, plen);
	if (sep)
		e->path[plen] = '/';
	memcpy(e->path + plen + sep, root, rlen);
	memcpy(e->path + plen + sep + rlen, name, nlen + 1);
	git_oid_fmt(e->oid, git_tree_entry_id(entry));
	e->oid[GITWATCH_OID_HEX] = '\0';
	e->mode = git_tree_entry_filemode(entry);
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct gitwatch_entry *)a)->path,
		      ((const struct gitwatch_entry *)b)->path);
}

/* Git orders a tree's entries by name with "/" after a directory's name, so a
 * pre-order walk of a well-formed tree already gives the paths in strcmp
 * order; a crafted tree need not be, hence the check. */
static int sorted(const struct gitwatch_entries *e)
{
	for (size_t i = 1; i < e->n; i++)
		if (strcmp(e->items[i - 1].path, e->items[i].path) >= 0)
			return 0;
	return 1;
}

/* Looks up the subtree at prefix; *sub is NULL when prefix does not exist. */
static int subtree(struct gitwatch_repo *repo, git_tree *root, const char *prefix, git_tree **sub,
		   struct sy_error *err)
{
	git_tree_entry *te;

	*sub = NULL;
	if (!*prefix)
		return git_tree_dup(sub, root) < 0 ? git_fail(err, "tree") : 0;
	if (git_tree_entry_bypath(&te, root, prefix) < 0)
		return 0;
	int rc = 0;
	if (git_tree_entry_type(te) == GIT_OBJECT_TREE &&
	    git_tree_lookup(sub, repo->git, git_tree_entry_id(te)) < 0)
		rc = git_fail(err, prefix);
	git_tree_entry_free(te);
	return rc;
}

/* Returns 1 when path is an entry of e (sorted). */
static int listed(const struct gitwatch_entries *e, const char *path)
{
	struct gitwatch_entry key = { .path = (char *)path };

	return bsearch(&key, e->items, e->n, sizeof(*e->items), cmp_entry) != NULL;
}

/* A crafted tree may hold one name twice (git accepts it; fsck only warns
 * duplicateEntries): a symbolic link to a host file and then a file, or a
 * link and a directory of the same name. Written out, the second would go
 * through the first. Returns the first path listed twice, or listed both as
 * a file and as a directory holding others, or NULL. e is sorted. */
static const char *overlapping(const struct gitwatch_entries *e)
{
	for (size_t i = 0; i < e->n; i++) {
		if (i > 0 && !strcmp(e->items[i - 1].path, e->items[i].path))
			return e->items[i].path;
		char *dir = sy_xstrdup(e->items[i].path);
		for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
			*slash = '\0';
			if (listed(e, dir)) {
				free(dir);
				return e->items[i].path;
			}
		}
		free(dir);
	}
	return NULL;
}

int gitwatch_list_files(struct gitwatch_repo *repo, const char *commit, const char *prefix,
			struct gitwatch_entries *out, struct sy_error *err)
{
	git_tree *root, *sub;
	struct walk_ctx w = { prefix, out, 0, NULL };

	out->items = NULL;
	out->n = 0;
	if (lookup_tree(repo, commit, &root, err))
		return -1;
	int rc = subtree(repo, root, prefix, &sub, err);
	git_tree_free(root);
	if (rc || !sub)
		return rc;
	if (git_tree_walk(sub, GIT_TREEWALK_PRE, walk_cb, &w) < 0)
		rc = w.bad ? sy_error_set(err, "%s: unsafe tree entry name '%s' at %.12s",
					  *prefix ? prefix : "/", w.bad, commit)
			   : git_fail(err, prefix);
	git_tree_free(sub);
	if (!sorted(out))
		qsort(out->items, out->n, sizeof(*out->items), cmp_entry);
	const char *twice = rc ? NULL : overlapping(out);
	if (twice)
		rc = sy_error_set(err, "%s: unsafe tree: '%s' is listed twice at %.12s",
				  *prefix ? prefix : "/", twice, commit);
	if (rc)
		gitwatch_entries_release(out);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A tree diff in progress (gitwatch_diff_files). */
struct tree_diff {
	struct gitwatch_repo *repo;
	struct gitwatch_entries *added;
	size_t alloc;
	struct sy_strv *removed;
	struct sy_error *err;
};

/* Git's order of tree entries: by name, a tree's name followed by "/". */
static int cmp_tree_entries(const git_tree_entry *a, const git_tree_entry *b)
{
	const char *x = git_tree_entry_name(a), *y = git_tree_entry_name(b);
	size_t xl = strlen(x), yl = strlen(y), n = xl < yl ? xl : yl;
	int c = memcmp(x, y, n);
	unsigned char xc, yc;

	if (c)
		return c;
	xc = n < xl ? (unsigned char)x[n] : git_tree_entry_type(a) == GIT_OBJECT_TREE ? '/' : 0;
	yc = n < yl ? (unsigned char)y[n] : git_tree_entry_type(b) == GIT_OBJECT_TREE ? '/' : 0;
	return xc - yc;
}

static int diff_trees(struct tree_diff *d, const char *dir, git_tree *a, git_tree *b);

/* Diffs subtrees x and y (entries of the same name) under dir. */
static int diff_subtrees(struct tree_diff *d, const char *dir, const git_tree_entry *x,
			 const git_tree_entry *y)
{
	git_tree *a = NULL, *b = NULL;
	char *path = sy_xasprintf("%s/%s", dir, git_tree_entry_name(x));
	int rc;

	if (!safe_name(git_tree_entry_name(x)))
		rc = sy_error_set(d->err, "%s: unsafe tree entry name '%s'", dir,
				  git_tree_entry_name(x));
	else if (git_tree_lookup(&a, d->repo->git, git_tree_entry_id(x)) < 0 ||
		 git_tree_lookup(&b, d->repo->git, git_tree_entry_id(y)) < 0)
		rc = git_fail(d->err, path);
	else
		rc = diff_trees(d, path, a, b);
	git_tree_free(a);
	git_tree_free(b);
	free(path);
	return rc;
}

/* Lists every file of entry e (a blob, or a tree walked) under dir as added
 * (side 1) or removed (side 0). */
static int diff_side(struct tree_diff *d, const char *dir, const git_tree_entry *e, int side)
{
	char *path;
	int rc = 0;

	if (!safe_name(git_tree_entry_name(e)))
		return sy_error_set(d->err, "%s: unsafe tree entry name '%s'", dir,
				    git_tree_entry_name(e));
	path = sy_xasprintf("%s/%s", dir, git_tree_entry_name(e));
	if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
		git_tree *t;
		if (git_tree_lookup(&t, d->repo->git, git_tree_entry_id(e)) < 0) {
			rc = git_fail(d->err, path);
		} else {
			rc = side ? diff_trees(d, path, NULL, t) : diff_trees(d, path, t, NULL);
			git_tree_free(t);
		}
	} else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
		if (!side) {
			sy_strv_push_owned(d->removed, path);
			return 0;
		}
		if (d->added->n == d->alloc) {
			d->alloc = d->alloc ? d->alloc * 2 : 16;
			d->added->items = sy_xrealloc(d->added->items, d->alloc * sizeof(*d->added->items));
		}
		struct gitwatch_entry *out = &d->added->items[d->added->n++];
		out->path = path;
		git_oid_fmt(out->oid, git_tree_entry_id(e));
		out->oid[GITWATCH_OID_HEX] = '\0';
		out->mode = git_tree_entry_filemode(e);
		return 0;
	}
	free(path);
	return rc;
}

/* Diffs trees a and b (either NULL: empty) under dir: entries of the same
 * name and id are skipped without reading them, a tree is descended only
 * where the two differ. */
static int diff_trees(struct tree_diff *d, const char *dir, git_tree *a, git_tree *b)
{
	size_t na = a ? git_tree_entrycount(a) : 0, nb = b ? git_tree_entrycount(b) : 0;
	size_t i = 0, j = 0;
	int rc = 0;

	while (rc == 0 && (i < na || j < nb)) {
		const git_tree_entry *x = i < na ? git_tree_entry_byindex(a, i) : NULL;
		const git_tree_entry *y = j < nb ? git_tree_entry_byindex(b, j) : NULL;
		int c = !x ? 1 : !y ? -1 : cmp_tree_entries(x, y);
		if (c < 0) {
			rc = diff_side(d, dir, x, 0);
			i++;
		} else if (c > 0) {
			rc = diff_side(d, dir, y, 1);
			j++;
		} else {
			if (git_tree_entry_filemode(x) != git_tree_entry_filemode(y) ||
			    !git_oid_equal(git_tree_entry_id(x), git_tree_entry_id(y))) {
				if (git_tree_entry_type(x) == GIT_OBJECT_TREE &&
				    git_tree_entry_type(y) == GIT_OBJECT_TREE) {
					rc = diff_subtrees(d, dir, x, y);
				} else {
					rc = diff_side(d, dir, x, 0);
					if (rc == 0)
						rc = diff_side(d, dir, y, 1);
				}
			}
			i++;
			j++;
		}
	}
	return rc;
}

/* 1 when roots a and b hold at path entries of the same type, mode and id
 * (or neither holds one). */
static int same_entry(git_tree *a, git_tree *b, const char *path)
{
	git_tree_entry *x = NULL, *y = NULL;
	int same;

	if (git_tree_entry_bypath(&x, a, path) < 0)
		x = NULL;
	if (git_tree_entry_bypath(&y, b, path) < 0)
		y = NULL;
	same = (!x && !y) || (x && y && git_tree_entry_filemode(x) == git_tree_entry_filemode(y) &&
			      git_oid_equal(git_tree_entry_id(x), git_tree_entry_id(y)));
	git_tree_entry_free(x);
	git_tree_entry_free(y);
	return same;
}

int gitwatch_diff_files(struct gitwatch_repo *repo, const char *from, const char *to,
			const char *prefix, struct gitwatch_entries *added, struct sy_strv *removed,
			struct sy_error *err)
{
	git_tree *roots[2] = { NULL, NULL }, *subs[2] = { NULL, NULL };
	const char *commits[2] = { from, to };
	int rc = 0;

	added->items = NULL;
	added->n = 0;
	if (!*prefix)
		return sy_error_set(err, "diffing files: no prefix");
	for (int k = 0; rc == 0 && k < 2; k++)
		rc = lookup_tree(repo, commits[k], &roots[k], err);
	/* A tree of the same id at both commits differs nowhere: it is not
	 * read (thousands of entries, for the trees a commit leaves alone). */
	if (rc == 0 && same_entry(roots[0], roots[1], prefix))
		goto out;
	for (int k = 0; rc == 0 && k < 2; k++)
		rc = subtree(repo, roots[k], prefix, &subs[k], err);
	if (rc == 0) {
		struct tree_diff d = { repo, added, 0, removed, err };
		rc = diff_trees(&d, prefix, subs[0], subs[1]);
	}
out:
	for (int k = 0; k < 2; k++) {
		git_tree_free(subs[k]);
		git_tree_free(roots[k]);
	}
	if (rc == 0 && !sorted(added))
		qsort(added->items, added->n, sizeof(*added->items), cmp_entry);
	if (rc)
		gitwatch_entries_release(added);
	return rc;
}

/* Returns the first added path (of out, sorted) listed twice in out, or
 * listed as a file and as a directory holding others: overlapping's
 * refusal, for the entries of added only (before passed it). */
static const char *overlaps_added(const struct gitwatch_entries *out,
				  const struct gitwatch_entries *added)
{
	for (size_t a = 0; a < added->n; a++) {
		struct gitwatch_entry key = { .path = added->items[a].path };
		const struct gitwatch_entry *at =
			bsearch(&key, out->items, out->n, sizeof(*out->items), cmp_entry);
		size_t i = at ? (size_t)(at - out->items) : 0, len = strlen(key.path);
		if (!at || (i > 0 && !strcmp(out->items[i - 1].path, key.path)) ||
		    (i + 1 < out->n && (!strcmp(out->items[i + 1].path, key.path) ||
					(!strncmp(out->items[i + 1].path, key.path, len) &&
					 out->items[i + 1].path[len] == '/'))))
			return key.path;
		char *dir = sy_xstrdup(key.path);
		for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
			*slash = '\0';
			if (listed(out, dir)) {
				free(dir);
				return key.path;
			}
		}
		free(dir);
	}
	return NULL;
}

int gitwatch_entries_patch(const struct gitwatch_entries *before,
			   const struct gitwatch_entries *added, const struct sy_strv *removed,
			   struct gitwatch_entries *out, struct sy_error *err)
{
	char **gone = sy_xcalloc(removed->n + 1, sizeof(char *));
	size_t a = 0;
	const char *twice;

	if (removed->n)
		memcpy(gone, removed->items, removed->n * sizeof(char *));
	qsort(gone, removed->n, sizeof(char *), cmp_str);
	out->items = sy_xcalloc(before->n + added->n + 1, sizeof(*out->items));
	out->n = 0;
	/* Merges the kept entries of before with added, both sorted. */
	for (size_t i = 0; i <= before->n; i++) {
		const char *path = i < before->n ? before->items[i].path : NULL;
		while (a < added->n && (!path || strcmp(added->items[a].path, path) < 0)) {
			out->items[out->n] = added->items[a];
			out->items[out->n++].path = sy_xstrdup(added->items[a++].path);
		}
		if (!path || (removed->n && bsearch(&path, gone, removed->n, sizeof(char *), cmp_str)))
			continue;
		out->items[out->n] = before->items[i];
		out->items[out->n++].path = sy_xstrdup(path);
	}
	free(gone);
	twice = overlaps_added(out, added);
	if (twice) {
		sy_error_set(err, "unsafe tree: '%s' is listed twice", twice);
		gitwatch_entries_release(out);
		return -1;
	}
	return 0;
}

void gitwatch_entries_release(struct gitwatch_entries *entries)
{
	for (size_t i = 0; i < entries->n; i++)
		free(entries->items[i].path);
	free(entries->items);
	entries->items = NULL;
	entries->n = 0;
}

static int blob_copy(git_blob *blob, char **data, size_t *len)
{
	size_t n = (size_t)git_blob_rawsize(blob);

	*data = sy_xmalloc(n + 1);
	memcpy(*data, git_blob_rawcontent(blob), n);
	(*data)[n] = '\0';
	if (len)
		*len = n;
	return 0;
}

int gitwatch_read_blob(struct gitwatch_repo *repo, const char *blob_oid, char **data, size_t *len,
		       struct sy_error *err)
{
	git_oid oid;
	git_blob *blob;

	if (git_oid_fromstr(&oid, blob_oid) < 0 || git_blob_lookup(&blob, repo->git, &oid) < 0)
		return sy_error_set(err, "blob %s: not found", blob_oid);
	blob_copy(blob, data, len);
	git_blob_free(blob);
	return 0;
}

int gitwatch_blob_size(struct gitwatch_repo *repo, const char *blob_oid, size_t *size,
		       struct sy_error *err)
{
	git_oid oid;
	git_odb *odb;
	git_object_t type;
	int rc = 0;

	if (git_oid_fromstr(&oid, blob_oid) < 0 || git_repository_odb(&odb, repo->git) < 0)
		return sy_error_set(err, "blob %s: not found", blob_oid);
	if (git_odb_read_header(size, &type, odb, &oid) < 0)
		rc = sy_error_set(err, "blob %s: not found", blob_oid);
	git_odb_free(odb);
	return rc;
}

int gitwatch_read_file(struct gitwatch_repo *repo, const char *commit, const char *path,
		       char **data, size_t *len, struct sy_error *err)
{
	git_tree *root;
	git_tree_entry *te;
	git_blob *blob;
	int rc = -1;

	if (lookup_tree(repo, commit, &root, err))
		return -1;
	if (git_tree_entry_bypath(&te, root, path) < 0) {
		sy_error_set(err, "%s: no such file at %.12s", path, commit);
		goto out_tree;
	}
	if (git_tree_entry_type(te) != GIT_OBJECT_BLOB) {
		sy_error_set(err, "%s: not a file", path);
		goto out_entry;
	}
	if (git_blob_lookup(&blob, repo->git, git_tree_entry_id(te)) < 0) {
		git_fail(err, path);
		goto out_entry;
	}
	rc = blob_copy(blob, data, len);
	git_blob_free(blob);
out_entry:
	git_tree_entry_free(te);
out_tree:
	git_tree_free(root);
	return rc;
}

int gitwatch_file_oid(struct gitwatch_repo *repo, const char *commit, const char *path,
		      char oid[GITWATCH_OID_HEX + 1], struct sy_error *err)
{
	git_tree *root;
	git_tree_entry *te;
	int rc = 1;

	if (lookup_tree(repo, commit, &root, err))
		return -1;
	if (git_tree_entry_bypath(&te, root, path) == 0) {
		if (git_tree_entry_type(te) == GIT_OBJECT_BLOB) {
			git_oid_tostr(oid, GITWATCH_OID_HEX + 1, git_tree_entry_id(te));
			rc = 0;
		}
		git_tree_entry_free(te);
	}
	git_tree_free(root);
	return rc;
}

int gitwatch_tree_id(struct gitwatch_repo *repo, const char *commit, const char *path,
		     char oid[GITWATCH_OID_HEX + 1], struct sy_error *err)
{
	git_tree *root, *sub;

	if (lookup_tree(repo, commit, &root, err))
		return -1;
	int rc = subtree(repo, root, path, &sub, err);
	git_tree_free(root);
	if (rc)
		return -1;
	if (!sub)
		return sy_error_set(err, "%s: no such directory at %.12s", path, commit);
	git_oid_tostr(oid, GITWATCH_OID_HEX + 1, git_tree_id(sub));
	git_tree_free(sub);
	return 0;
}

/* Opens the directory of rel (a path relative to dirfd), creating missing
 * directories, without following a symbolic link at any step: the tree is
 * untrusted. Returns the fd of the directory (caller closes) and in *base
 * the last component of rel, or -1 with err. */
static int open_parent(int dirfd, const char *rel, const char *dest, const char **base,
		       struct sy_error *err)
{
	char *copy = sy_xstrdup(rel), *name = copy, *slash;
	int fd = dup(dirfd);

	while (fd >= 0 && (slash = strchr(name, '/'))) {
		*slash = '\0';
		if (mkdirat(fd, name, 0755) < 0 && errno != EEXIST)
			break;
		int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		name = slash + 1;
	}
	if (fd < 0 || strchr(name, '/')) {
		sy_error_set(err, "%s/%s: %s", dest, rel, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	*base = rel + (name - copy);
	free(copy);
	return fd;
}

/* Writes one entry as rel under dirfd (the directory dest): a new file or
 * symbolic link; an existing name is an error, never written through. */
static int write_entry(struct gitwatch_repo *repo, const struct gitwatch_entry *e, int dirfd,
		       const char *dest, const char *rel, struct sy_error *err)
{
	const char *base;
	char *data;
	size_t len;
	int fd, rc = 0;

	if (gitwatch_read_blob(repo, e->oid, &data, &len, err))
		return -1;
	fd = open_parent(dirfd, rel, dest, &base, err);
	if (fd < 0) {
		free(data);
		return -1;
	}
	if (e->mode == GIT_FILEMODE_LINK) {
		if (symlinkat(data, fd, base) < 0)
			rc = sy_error_set(err, "%s/%s: %s", dest, rel, strerror(errno));
	} else {
		mode_t mode = e->mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
		int out = openat(fd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (out < 0 || sy_write_all(out, data, len) < 0)
			rc = sy_error_set(err, "%s/%s: %s", dest, rel, strerror(errno));
		if (out >= 0 && close(out) < 0 && rc == 0)
			rc = sy_error_set(err, "%s/%s: %s", dest, rel, strerror(errno));
	}
	close(fd);
	free(data);
	return rc;
}

int gitwatch_materialize(struct gitwatch_repo *repo, const char *commit, const char *prefix,
			 const char *dest, struct sy_error *err)
{
	struct gitwatch_entries entries;
	size_t skip = *prefix ? strlen(prefix) + 1 : 0;
	int rc;

	if (gitwatch_list_files(repo, commit, prefix, &entries, err))
		return -1;
	rc = sy_mkdir_p(dest, 0755, err);
	int dirfd = rc ? -1 : open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rc == 0 && dirfd < 0)
		rc = sy_error_set(err, "%s: %s", dest, strerror(errno));
	for (size_t i = 0; rc == 0 && i < entries.n; i++)
		rc = write_entry(repo, &entries.items[i], dirfd, dest, entries.items[i].path + skip,
				 err);
	if (dirfd >= 0)
		close(dirfd);
	gitwatch_entries_release(&entries);
	return rc;
}
