#include "planner/listing.h"

#include <stdlib.h>
#include <string.h>

#include "state/kv.h"
#include "common/strv.h"

static int is_spec_path(const char *path, const char *tree)
{
	size_t n = strlen(tree);
	const char *rest = path + n + 1, *slash;

	if (strncmp(path, tree, n) || path[n] != '/')
		return 0;
	slash = strchr(rest, '/');
	if (!slash || slash == rest || strchr(slash + 1, '/'))
		return 0;
	size_t len = strlen(slash + 1);
	return len > 5 && !strcmp(slash + 1 + len - 5, ".spec");
}

static int cmp_entry_path(const void *a, const void *b)
{
	return strcmp(((const struct gitwatch_entry *)a)->path,
		      ((const struct gitwatch_entry *)b)->path);
}

/* Decodes a cached listing ("<mode> <oid> <path>\n" per file, modes in
 * octal) of len bytes into one. */
static int decode_listing(const char *text, size_t len, struct gitwatch_entries *one)
{
	const char *p = text, *end = text + len;
	size_t alloc = 0;

	memset(one, 0, sizeof(*one));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *q = p;
		unsigned mode = 0;

		if (!eol)
			eol = end;
		while (q < eol && *q >= '0' && *q <= '7')
			mode = mode * 8 + (unsigned)(*q++ - '0');
		if (q == p || eol - q < GITWATCH_OID_HEX + 3 || q[0] != ' ' ||
		    q[GITWATCH_OID_HEX + 1] != ' ') {
			gitwatch_entries_release(one);
			return -1;
		}
		if (one->n == alloc) {
			alloc = alloc ? alloc * 2 : 1024;
			one->items = sy_xrealloc(one->items, alloc * sizeof(*one->items));
		}
		struct gitwatch_entry *e = &one->items[one->n++];
		e->mode = mode;
		memcpy(e->oid, q + 1, GITWATCH_OID_HEX);
		e->oid[GITWATCH_OID_HEX] = '\0';
		e->path = sy_xstrndup(q + GITWATCH_OID_HEX + 2,
				      (size_t)(eol - q - GITWATCH_OID_HEX - 2));
		p = eol + 1;
	}
	return 0;
}

static char *encode_listing(const struct gitwatch_entries *one)
{
	struct sy_strv lines = SY_STRV_INIT;

	for (size_t i = 0; i < one->n; i++) {
		if (strchr(one->items[i].path, '\n')) {
			sy_strv_release(&lines);
			return NULL;
		}
		sy_strv_pushf(&lines, "%o %s %s", one->items[i].mode, one->items[i].oid,
			      one->items[i].path);
	}
	char *text = sy_strv_join(&lines, "\n");
	sy_strv_release(&lines);
	return text;
}

/* The files of one spec tree at commit; cached in the state database by the
 * tree's id, since walking thousands of subtrees is the slow part of a warm
 * plan and a tree id names its content. */
static int list_tree(struct gitwatch_repo *repo, const char *commit, const char *tree,
		     const char *cache_path, struct gitwatch_entries *one, struct sy_error *err)
{
	char oid[GITWATCH_OID_HEX + 1], *key = NULL, *text = NULL;
	size_t len;
	int rc;

	if (!cache_path || gitwatch_tree_id(repo, commit, tree, oid, NULL))
		return gitwatch_list_files(repo, commit, tree, one, err);
	key = sy_xasprintf("%s:%s", tree, oid);
	if (state_kv_get(cache_path, "tree-listing-v2", key, &text, &len, NULL) == 1 &&
	    decode_listing(text, len, one) == 0) {
		rc = 0;
		goto out;
	}
	rc = gitwatch_list_files(repo, commit, tree, one, err);
	free(text);
	text = rc == 0 ? encode_listing(one) : NULL;
	if (text)
		state_kv_put(cache_path, "tree-listing-v2", key, text, strlen(text), NULL);
out:
	free(text);
	free(key);
	return rc;
}

int planner_listing_trees(struct gitwatch_repo *repo, const char *commit, const char *const *trees,
		      const char *cache_path, struct gitwatch_entries *all, struct sy_error *err)
{
	memset(all, 0, sizeof(*all));
	for (const char *const *t = trees; *t; t++) {
		struct gitwatch_entries one;

		if (list_tree(repo, commit, *t, cache_path, &one, err)) {
			gitwatch_entries_release(all);
			return -1;
		}
		all->items = sy_xrealloc(all->items, (all->n + one.n + 1) * sizeof(*all->items));
		if (one.n)
			memcpy(all->items + all->n, one.items, one.n * sizeof(*one.items));
		all->n += one.n;
		free(one.items); /* the paths now belong to all */
	}
	return 0;
}

void planner_listing_specs(const struct gitwatch_entries *all, const char *const *trees,
			  struct gitwatch_entries *specs)
{
	memset(specs, 0, sizeof(*specs));
	specs->items = sy_xcalloc(all->n + 1, sizeof(*specs->items));
	for (size_t i = 0; i < all->n; i++) {
		for (const char *const *t = trees; *t; t++) {
			if (!is_spec_path(all->items[i].path, *t))
				continue;
			specs->items[specs->n] = all->items[i];
			specs->items[specs->n].path = sy_xstrdup(all->items[i].path);
			specs->n++;
			break;
		}
	}
	for (size_t i = 1; i < specs->n; i++) {
		if (strcmp(specs->items[i - 1].path, specs->items[i].path) > 0) {
			qsort(specs->items, specs->n, sizeof(*specs->items), cmp_entry_path);
			break;
		}
	}
}

void planner_listing_files(struct gitwatch_entries *all, struct gitwatch_entries *files)
{
	size_t k = 0;
	int sorted = 1;

	for (size_t i = 1; sorted && i < all->n; i++)
		sorted = strcmp(all->items[i - 1].path, all->items[i].path) < 0;
	if (!sorted)
		qsort(all->items, all->n, sizeof(*all->items), cmp_entry_path);
	for (size_t i = 0; i < all->n; i++) {
		if (k && !strcmp(all->items[k - 1].path, all->items[i].path)) {
			free(all->items[i].path);
			continue;
		}
		all->items[k++] = all->items[i];
	}
	*files = (struct gitwatch_entries){ all->items, k };
	memset(all, 0, sizeof(*all));
}

/* Whether trees holds the whole repository or a tree inside another. */
static int unfit(const char *const *trees)
{
	for (const char *const *t = trees; *t; t++) {
		size_t n = strlen(*t);
		if (!**t)
			return 1;
		for (const char *const *u = trees; *u; u++)
			if (u != t && !strncmp(*u, *t, n) && ((*u)[n] == '/' || !(*u)[n]))
				return 1;
	}
	return 0;
}

/* Appends the directory of path to dirs unless it is its last one. */
static void add_dir(struct sy_strv *dirs, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;

	if (dirs->n && strlen(dirs->items[dirs->n - 1]) == len &&
	    !strncmp(dirs->items[dirs->n - 1], path, len))
		return;
	sy_strv_push_owned(dirs, sy_xstrndup(path, len));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int planner_listing_since(struct gitwatch_repo *repo, const char *commit, const char *since,
			  const char *const *trees, const struct gitwatch_entries *since_files,
			  struct gitwatch_entries *files, struct sy_strv *changed_dirs,
			  struct sy_error *err)
{
	struct gitwatch_entries added = { 0 };
	struct sy_strv removed = SY_STRV_INIT;
	int rc = 0;

	memset(files, 0, sizeof(*files));
	if (unfit(trees))
		return 0;
	for (const char *const *t = trees; rc == 0 && *t; t++) {
		struct gitwatch_entries one;
		rc = gitwatch_diff_files(repo, since, commit, *t, &one, &removed, err);
		if (rc)
			break;
		added.items = sy_xrealloc(added.items, (added.n + one.n + 1) * sizeof(*added.items));
		if (one.n)
			memcpy(added.items + added.n, one.items, one.n * sizeof(*one.items));
		added.n += one.n;
		free(one.items); /* the paths now belong to added */
	}
	if (rc == 0) {
		qsort(added.items, added.n, sizeof(*added.items), cmp_entry_path);
		rc = gitwatch_entries_patch(since_files, &added, &removed, files, err);
	}
	for (size_t i = 0; rc == 0 && i < added.n; i++)
		sy_strv_push(&removed, added.items[i].path);
	if (removed.n)
		qsort(removed.items, removed.n, sizeof(*removed.items), cmp_str);
	for (size_t i = 0; rc == 0 && i < removed.n; i++)
		add_dir(changed_dirs, removed.items[i]);
	gitwatch_entries_release(&added);
	sy_strv_release(&removed);
	return rc ? -1 : 1;
}
