/* The spec index: list the spec files of the spec trees, build the macro
 * context, read the specs in two passes (without, then with the generated
 * version macros) through the spec cache, and mark the specs the target arch
 * excludes. */
#define _GNU_SOURCE
#include "planner/index.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "planner/speccache.h"
#include "common/fs.h"
#include "common/hash.h"
#include "state/kv.h"

/* The state of one planner_index_load. */
struct loader {
	struct gitwatch_repo *repo;
	struct planner_index *index;
	struct gitwatch_entries specs;   /* the spec files, sorted by path */
	char **texts;                    /* spec text of specs.items[i] once read */
	size_t *lens;                    /* bytes of texts[i] */
	struct planner_speccache *cache; /* NULL: no cache */
	const struct planner_index *prev; /* results to reuse, or NULL */
	int jobs;
};

/* One generated version macro. */
struct vmacro {
	char *name;  /* "azl_zlib_version" */
	char *value; /* "1.3.1" */
	size_t seq;  /* order of generation: of equal names the last one wins */
};

struct vmacros {
	struct vmacro *items; /* sorted by name, names unique (the last spec wins) */
	size_t n;
	char *text;           /* the macro file: "%<name> <value>" lines */
	char digest[SY_SHA256_HEX_LEN + 1]; /* of text */
};

/* ------------------------------------------------------------------------ */
/* Listing.                                                                  */

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
	if (state_kv_get(cache_path, "tree-listing-v1", key, &text, &len, NULL) == 1 &&
	    decode_listing(text, len, one) == 0) {
		rc = 0;
		goto out;
	}
	rc = gitwatch_list_files(repo, commit, tree, one, err);
	free(text);
	text = rc == 0 ? encode_listing(one) : NULL;
	if (text)
		state_kv_put(cache_path, "tree-listing-v1", key, text, strlen(text), NULL);
out:
	free(text);
	free(key);
	return rc;
}

/* Every blob of every spec tree, tree after tree. */
static int list_trees(struct gitwatch_repo *repo, const char *commit, const char *const *trees,
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

/* The "<tree>/<dir>/<name>.spec" entries of all, sorted by path. */
static void collect_specs(const struct gitwatch_entries *all, const char *const *trees,
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

/* Moves all into files sorted by path, each path once (spec trees may
 * nest, then a file is listed under both). */
static void keep_listing(struct gitwatch_entries *all, struct gitwatch_entries *files)
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

/* ------------------------------------------------------------------------ */
/* Version macro references in spec text.                                    */

static int is_ident(int c)
{
	return isalnum(c) || c == '_';
}

static int has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len > n && memcmp(s + len - n, suffix, n) == 0;
}

static int names_version_macro(const char *name, size_t len)
{
	return has_suffix(name, len, "_version") || has_suffix(name, len, "_release") ||
	       has_suffix(name, len, "_epoch");
}

/* Fills refs with the version macros text names: "<prefix>_<ident>" right
 * after "%", "%{", "%{?", "%{!?" and the like, ident ending in _version,
 * _release or _epoch; "*" when such a name is built from other macros
 * ("%{azl_%{name}_version}"). Sorted, unique. */
static void find_version_refs(const char *text, size_t len, const char *prefix,
			      struct sy_strv *refs)
{
	char *needle = sy_xasprintf("%s_", prefix);
	size_t nlen = strlen(needle);
	const char *end = text + len, *p = text;

	while ((p = memmem(p, (size_t)(end - p), needle, nlen))) {
		const char *q = p, *e = p + nlen;

		while (q > text && (q[-1] == '{' || q[-1] == '?' || q[-1] == '!'))
			q--;
		while (e < end && is_ident((unsigned char)*e))
			e++;
		if (q > text && q[-1] == '%') {
			if (names_version_macro(p, (size_t)(e - p)))
				sy_strv_push_owned(refs, strndup(p, (size_t)(e - p)));
			else if (e < end && *e == '%')
				sy_strv_push(refs, "*");
		}
		p = e;
	}
	free(needle);
	sy_strv_sort_unique(refs);
}

/* ------------------------------------------------------------------------ */
/* Reading through the cache.                                                */

static int load_text(struct loader *l, size_t i, struct sy_error *err)
{
	if (l->texts[i])
		return 0;
	if (gitwatch_read_blob(l->repo, l->specs.items[i].oid, &l->texts[i], &l->lens[i], err))
		return sy_error_prefix(err, "%s", l->specs.items[i].path);
	return 0;
}

static struct planner_speccache_key key_of(const struct loader *l, size_t i, const char *context)
{
	return (struct planner_speccache_key){ l->specs.items[i].oid, l->specs.items[i].path,
					       context, l->index->macros.target_arch };
}

/* Parses the specs which[k] (k < n) with the index's macro context into
 * out[k] (zeroed), then gives each its version references. */
static int parse_specs(struct loader *l, const size_t *which, size_t n, struct planner_spec *out,
		       struct sy_error *err)
{
	struct planner_spec_input *inputs = sy_xcalloc(n + 1, sizeof(*inputs));
	int rc = -1;

	for (size_t k = 0; k < n; k++) {
		size_t i = which[k];

		if (load_text(l, i, err))
			goto out;
		inputs[k] = (struct planner_spec_input){ l->specs.items[i].path, l->texts[i],
							 l->lens[i] };
	}
	if (planner_specs_read(inputs, n, &l->index->macros, l->jobs, out, err))
		goto out;
	for (size_t k = 0; k < n; k++)
		find_version_refs(l->texts[which[k]], l->lens[which[k]],
				  l->index->macros.version_prefix, &out[k].version_refs);
	rc = 0;
out:
	free(inputs);
	return rc;
}

/* Releases spec i of the index: what it borrowed from another index stays,
 * only its own excluded goes. */
static void release_spec(struct planner_index *index, size_t i)
{
	if (index->borrowed && index->borrowed[i]) {
		free(index->specs[i].excluded);
		memset(&index->specs[i], 0, sizeof(index->specs[i]));
		index->borrowed[i] = 0;
	} else {
		planner_spec_release(&index->specs[i]);
	}
}

/* prev's result for spec i read under context (same path, blob, macro
 * context and arch), or NULL. prev's specs are sorted by path. */
static const struct planner_spec *reusable(const struct loader *l, size_t i, const char *context)
{
	const struct planner_index *prev = l->prev;
	const char *path = l->specs.items[i].path;
	size_t lo = 0, hi = prev ? prev->nspecs : 0;

	if (!prev || strcmp(prev->macros.target_arch, l->index->macros.target_arch))
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(prev->specs[mid].path, path);

		if (c < 0) {
			lo = mid + 1;
		} else if (c > 0) {
			hi = mid;
		} else {
			int same = !prev->specs[mid].error_transient && prev->spec_contexts[mid] &&
				   !strcmp(prev->spec_blobs[mid], l->specs.items[i].oid) &&
				   !strcmp(prev->spec_contexts[mid], context);

			return same ? &prev->specs[mid] : NULL;
		}
	}
	return NULL;
}

/* Looks up which[k] under contexts[k], in prev first (then out[k] shares
 * prev's spec but for excluded, and borrowed[k] is set), then in the cache;
 * fills out[k] when found, else appends k to miss. */
static int lookup(struct loader *l, const size_t *which, char *const *contexts, size_t n,
		  struct planner_spec *out, unsigned char *borrowed, size_t *miss, size_t *nmiss,
		  struct sy_error *err)
{
	struct planner_speccache_key *keys = sy_xcalloc(n + 1, sizeof(*keys));
	size_t *asked = sy_xcalloc(n + 1, sizeof(*asked)), nasked = 0;
	struct planner_spec *got = sy_xcalloc(n + 1, sizeof(*got));
	unsigned char *hit = sy_xcalloc(n + 1, 1);
	int rc = -1;

	*nmiss = 0;
	for (size_t k = 0; k < n; k++) {
		const struct planner_spec *same = reusable(l, which[k], contexts[k]);

		if (same) {
			out[k] = *same;
			out[k].excluded = NULL;
			borrowed[k] = 1;
			l->index->reused++;
		} else {
			keys[nasked] = key_of(l, which[k], contexts[k]);
			asked[nasked++] = k;
		}
	}
	if (l->cache && nasked &&
	    planner_speccache_get_many(l->cache, keys, nasked, got, hit, err))
		goto out;
	for (size_t a = 0; a < nasked; a++) {
		if (hit[a]) {
			out[asked[a]] = got[a];
			l->index->cache_hits++;
		} else {
			miss[(*nmiss)++] = asked[a];
		}
	}
	rc = 0;
out:
	free(keys);
	free(asked);
	free(got);
	free(hit);
	return rc;
}

static int store(struct loader *l, const size_t *which, char *const *contexts,
		 const size_t *miss, size_t nmiss, struct planner_spec *out, struct sy_error *err)
{
	struct planner_speccache_key *keys = sy_xcalloc(nmiss + 1, sizeof(*keys));
	const struct planner_spec **specs = sy_xcalloc(nmiss + 1, sizeof(*specs));
	int rc;

	for (size_t m = 0; m < nmiss; m++) {
		keys[m] = key_of(l, which[miss[m]], contexts[miss[m]]);
		specs[m] = &out[miss[m]];
	}
	rc = planner_speccache_put(l->cache, keys, specs, nmiss, err);
	free(keys);
	free(specs);
	return rc;
}

/* Reads specs which[k] (k < n) with macro context digest contexts[k]: from
 * the cache where it has them, else with librpm (then stored). Results
 * replace index->specs[which[k]]. */
static int read_specs(struct loader *l, const size_t *which, char *const *contexts, size_t n,
		      struct sy_error *err)
{
	struct planner_spec *out = sy_xcalloc(n + 1, sizeof(*out));
	struct planner_spec *parsed = NULL;
	unsigned char *borrowed = sy_xcalloc(n + 1, 1);
	size_t *miss = sy_xcalloc(n + 1, sizeof(*miss)), *miss_which = NULL, nmiss;
	int rc = -1;

	if (lookup(l, which, contexts, n, out, borrowed, miss, &nmiss, err))
		goto out;
	parsed = sy_xcalloc(nmiss + 1, sizeof(*parsed));
	miss_which = sy_xcalloc(nmiss + 1, sizeof(*miss_which));
	for (size_t m = 0; m < nmiss; m++)
		miss_which[m] = which[miss[m]];
	if (nmiss && parse_specs(l, miss_which, nmiss, parsed, err))
		goto out;
	for (size_t m = 0; m < nmiss; m++) {
		out[miss[m]] = parsed[m];
		memset(&parsed[m], 0, sizeof(parsed[m]));
	}
	l->index->parsed += nmiss;
	if (l->cache && nmiss && store(l, which, contexts, miss, nmiss, out, err))
		goto out;
	for (size_t k = 0; k < n; k++) {
		release_spec(l->index, which[k]);
		l->index->specs[which[k]] = out[k];
		l->index->borrowed[which[k]] = borrowed[k];
		memset(&out[k], 0, sizeof(out[k]));
		free(l->index->spec_contexts[which[k]]);
		l->index->spec_contexts[which[k]] = sy_xstrdup(contexts[k]);
	}
	rc = 0;
out:
	for (size_t k = 0; k < n; k++)
		if (!borrowed[k])
			planner_spec_release(&out[k]);
	for (size_t m = 0; parsed && m < nmiss; m++)
		planner_spec_release(&parsed[m]);
	free(out);
	free(parsed);
	free(borrowed);
	free(miss);
	free(miss_which);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Version macros (pass 2).                                                  */

static int cmp_vmacro(const void *a, const void *b)
{
	return strcmp(((const struct vmacro *)a)->name, ((const struct vmacro *)b)->name);
}

static int cmp_vmacro_seq(const void *a, const void *b)
{
	const struct vmacro *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int valid_macro_name(const char *s)
{
	for (; *s; s++)
		if (!is_ident((unsigned char)*s))
			return 0;
	return 1;
}

/* Appends "<prefix>_<base>_<kind>" = value, unless the name is not a macro
 * name or value is empty. v->items has room (3 per spec). */
static void vmacros_add(struct vmacros *v, const char *prefix, const char *base,
			const char *kind, const char *value)
{
	size_t p = strlen(prefix), b = strlen(base), k = strlen(kind);
	char *name;

	if (!value || !*value)
		return;
	name = sy_xmalloc(p + b + k + 3);
	memcpy(name, prefix, p);
	name[p] = '_';
	memcpy(name + p + 1, base, b);
	name[p + 1 + b] = '_';
	memcpy(name + p + 2 + b, kind, k + 1);
	if (!valid_macro_name(name)) {
		free(name);
		return;
	}
	v->items[v->n].name = name;
	v->items[v->n].value = sy_xstrdup(value);
	v->items[v->n].seq = v->n;
	v->n++;
}

/* The spec file's basename without ".spec", '-' replaced by '_'. */
static char *spec_macro_base(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *base = sy_xstrdup(slash ? slash + 1 : path);

	base[strlen(base) - 5] = '\0';
	for (char *p = base; *p; p++)
		if (*p == '-')
			*p = '_';
	return base;
}

static void vmacros_add_spec(struct vmacros *v, const struct planner_spec *spec,
			     const struct planner_macro_ctx *ctx)
{
	char *base = spec_macro_base(spec->path);
	char *release = sy_xstrdup(spec->release);
	size_t rlen = strlen(release), dlen = strlen(ctx->dist_tag);

	if (dlen && rlen > dlen && strcmp(release + rlen - dlen, ctx->dist_tag) == 0)
		release[rlen - dlen] = '\0';
	vmacros_add(v, ctx->version_prefix, base, "version", spec->version);
	vmacros_add(v, ctx->version_prefix, base, "release", release);
	vmacros_add(v, ctx->version_prefix, base, "epoch", spec->epoch);
	free(release);
	free(base);
}

/* Generates the version macros of every spec that parsed. Later specs (by
 * path) win when two spec files share a basename. */
static void vmacros_build(struct vmacros *v, const struct planner_index *index)
{
	size_t len = 0, k = 0, at = 0;

	memset(v, 0, sizeof(*v));
	v->items = sy_xcalloc(3 * index->nspecs + 1, sizeof(*v->items));
	for (size_t i = 0; i < index->nspecs; i++)
		if (!index->specs[i].error && index->specs[i].version && index->specs[i].release)
			vmacros_add_spec(v, &index->specs[i], &index->macros);
	qsort(v->items, v->n, sizeof(*v->items), cmp_vmacro_seq);
	for (size_t i = 0; i < v->n; i++) {
		if (k > 0 && strcmp(v->items[k - 1].name, v->items[i].name) == 0) {
			free(v->items[k - 1].name);
			free(v->items[k - 1].value);
			k--;
		}
		v->items[k++] = v->items[i];
	}
	v->n = k;
	/* One "%<name> <value>\n" line per macro. */
	for (size_t i = 0; i < v->n; i++)
		len += strlen(v->items[i].name) + strlen(v->items[i].value) + 3;
	v->text = sy_xmalloc(len + 1);
	for (size_t i = 0; i < v->n; i++) {
		v->text[at++] = '%';
		at = (size_t)(stpcpy(v->text + at, v->items[i].name) - v->text);
		v->text[at++] = ' ';
		at = (size_t)(stpcpy(v->text + at, v->items[i].value) - v->text);
		v->text[at++] = '\n';
	}
	v->text[at] = '\0';
	sy_sha256_buf(v->text, at, v->digest);
}

static void vmacros_release(struct vmacros *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->items[i].name);
		free(v->items[i].value);
	}
	free(v->items);
	free(v->text);
	memset(v, 0, sizeof(*v));
}

static const char *vmacros_get(const struct vmacros *v, const char *name)
{
	struct vmacro probe = { (char *)name, NULL };
	const struct vmacro *m = bsearch(&probe, v->items, v->n, sizeof(*v->items), cmp_vmacro);

	return m ? m->value : NULL;
}

/* The context digest of a spec read in pass 2: the base context and the
 * values of exactly the version macros it names. */
static char *pass2_context(const struct planner_macro_ctx *ctx, const struct vmacros *v,
			   const struct sy_strv *refs)
{
	struct sy_sha256 *h = sy_sha256_new();
	char hex[SY_SHA256_HEX_LEN + 1];

	sy_sha256_update_str(h, "version macros 1");
	sy_sha256_update_str(h, ctx->digest);
	for (size_t i = 0; i < refs->n; i++) {
		const char *value = strcmp(refs->items[i], "*") == 0
					    ? v->digest
					    : vmacros_get(v, refs->items[i]);

		sy_sha256_update_str(h, refs->items[i]);
		sy_sha256_update_str(h, value ? value : "\x01undefined");
	}
	sy_sha256_final(h, hex);
	return sy_xstrdup(hex);
}

/* Writes the version macros as <ctx dir>/versions-<digest>/macros.versions
 * (kept if present) and appends it to the context's macro files. */
static int install_vmacros(struct planner_macro_ctx *ctx, const struct vmacros *v,
			   struct sy_error *err)
{
	char *dir = sy_xasprintf("%s/versions-%s", ctx->dir, v->digest);
	char *file = sy_xasprintf("%s/macros.versions", dir);
	int rc = 0;

	if (!sy_exists(file))
		rc = sy_mkdir_p(dir, 0755, err) ||
		     sy_write_file_atomic(file, v->text, strlen(v->text), 0644, err) ? -1 : 0;
	if (rc == 0)
		sy_strv_push_owned(&ctx->macro_files, file);
	else
		free(file);
	free(dir);
	return rc;
}

static int pass2(struct loader *l, struct sy_error *err)
{
	struct planner_index *index = l->index;
	struct vmacros v;
	size_t *which = sy_xcalloc(index->nspecs + 1, sizeof(*which)), n = 0;
	char **contexts = sy_xcalloc(index->nspecs + 1, sizeof(char *));
	int rc = -1;

	vmacros_build(&v, index);
	if (install_vmacros(&index->macros, &v, err))
		goto out;
	for (size_t i = 0; i < index->nspecs; i++) {
		if (!index->specs[i].version_refs.n)
			continue;
		contexts[n] = pass2_context(&index->macros, &v, &index->specs[i].version_refs);
		which[n++] = i;
	}
	index->versioned = n;
	rc = n ? read_specs(l, which, contexts, n, err) : 0;
out:
	for (size_t k = 0; k < n; k++)
		free(contexts[k]);
	free(contexts);
	free(which);
	vmacros_release(&v);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Arch.                                                                     */

static char *join(const struct sy_strv *v)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < v->n; i++)
		len += strlen(v->items[i]) + 1;
	s = sy_xcalloc(len, 1);
	for (size_t i = 0; i < v->n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, v->items[i]);
	}
	return s;
}

/* Why arch does not build spec, or NULL. */
static char *exclusion(const struct planner_spec *spec, const char *arch)
{
	char *list, *why = NULL;

	if (spec->exclusive_arch.n && !sy_strv_contains(&spec->exclusive_arch, arch) &&
	    !sy_strv_contains(&spec->exclusive_arch, "noarch")) {
		list = join(&spec->exclusive_arch);
		why = sy_xasprintf("ExclusiveArch: %s does not include %s", list, arch);
		free(list);
	} else if (sy_strv_contains(&spec->exclude_arch, arch)) {
		list = join(&spec->exclude_arch);
		why = sy_xasprintf("ExcludeArch: %s includes %s", list, arch);
		free(list);
	}
	return why;
}

static void mark_excluded(struct planner_index *index)
{
	for (size_t i = 0; i < index->nspecs; i++) {
		struct planner_spec *s = &index->specs[i];

		free(s->excluded);
		s->excluded = s->error ? NULL : exclusion(s, index->macros.target_arch);
	}
}

/* ------------------------------------------------------------------------ */

static int pass1(struct loader *l, struct sy_error *err)
{
	size_t n = l->index->nspecs;
	size_t *which = sy_xcalloc(n + 1, sizeof(*which));
	char **contexts = sy_xcalloc(n + 1, sizeof(char *));
	int rc;

	for (size_t i = 0; i < n; i++) {
		which[i] = i;
		contexts[i] = l->index->macros.digest;
	}
	rc = read_specs(l, which, contexts, n, err);
	free(which);
	free(contexts);
	return rc;
}

static int load(struct loader *l, const char *commit, const struct planner_macro_settings *settings,
		const char *workdir, const char *cache_path, struct sy_error *err)
{
	static const char *const default_trees[] = { "SPECS", NULL };
	const char *const *trees = settings->spec_trees ? settings->spec_trees : default_trees;
	struct planner_index *index = l->index;
	struct gitwatch_entries all;
	int rc = -1;

	if (gitwatch_resolve(l->repo, commit, index->commit, err))
		return -1;
	if (list_trees(l->repo, index->commit, trees, cache_path, &all, err))
		return -1;
	if (planner_macro_ctx_load_listed(l->repo, index->commit, settings, &all, workdir,
					  &index->macros, err))
		goto out;
	collect_specs(&all, trees, &l->specs);
	keep_listing(&all, &index->files);
	index->nspecs = l->specs.n;
	index->specs = sy_xcalloc(l->specs.n + 1, sizeof(*index->specs));
	index->spec_blobs = sy_xcalloc(l->specs.n + 1, sizeof(char *));
	index->spec_contexts = sy_xcalloc(l->specs.n + 1, sizeof(char *));
	index->borrowed = sy_xcalloc(l->specs.n + 1, 1);
	for (size_t i = 0; i < l->specs.n; i++)
		index->spec_blobs[i] = sy_xstrdup(l->specs.items[i].oid);
	l->texts = sy_xcalloc(l->specs.n + 1, sizeof(char *));
	l->lens = sy_xcalloc(l->specs.n + 1, sizeof(size_t));
	if (cache_path && planner_speccache_open(cache_path, &l->cache, err))
		goto out;
	if (pass1(l, err) || pass2(l, err))
		goto out;
	mark_excluded(index);
	rc = 0;
out:
	gitwatch_entries_release(&all);
	return rc;
}

int planner_index_load(struct gitwatch_repo *repo, const char *commit,
		       const struct planner_macro_settings *settings, const char *workdir,
		       const char *cache_path, int jobs, struct planner_index *index,
		       struct sy_error *err)
{
	return planner_index_load_reusing(repo, commit, settings, workdir, cache_path, jobs, NULL,
					  index, err);
}

int planner_index_load_reusing(struct gitwatch_repo *repo, const char *commit,
			       const struct planner_macro_settings *settings, const char *workdir,
			       const char *cache_path, int jobs, const struct planner_index *prev,
			       struct planner_index *index, struct sy_error *err)
{
	struct loader l = { .repo = repo, .index = index, .prev = prev, .jobs = jobs };
	int rc;

	memset(index, 0, sizeof(*index));
	rc = load(&l, commit, settings, workdir, cache_path, err);
	for (size_t i = 0; i < l.specs.n; i++)
		free(l.texts ? l.texts[i] : NULL);
	free(l.texts);
	free(l.lens);
	planner_speccache_close(l.cache);
	gitwatch_entries_release(&l.specs);
	if (rc)
		planner_index_release(index);
	return rc;
}

long planner_index_find(const struct planner_index *index, const char *name)
{
	for (size_t i = 0; i < index->nspecs; i++)
		if (index->specs[i].name && !strcmp(index->specs[i].name, name))
			return (long)i;
	return -1;
}

void planner_index_release(struct planner_index *index)
{
	for (size_t i = 0; i < index->nspecs; i++) {
		release_spec(index, i);
		free(index->spec_blobs[i]);
		free(index->spec_contexts[i]);
	}
	free(index->specs);
	free(index->spec_blobs);
	free(index->spec_contexts);
	free(index->borrowed);
	gitwatch_entries_release(&index->files);
	planner_macro_ctx_release(&index->macros);
	memset(index, 0, sizeof(*index));
}
