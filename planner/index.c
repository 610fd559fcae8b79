/* The spec index: list the spec files of the spec trees, build the macro
 * context, read the specs in two passes (without, then with the generated
 * version macros) through the spec cache, and mark the specs the target arch
 * excludes. */
#define _GNU_SOURCE
#include "planner/index.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner/indexrecord.h"
#include "planner/listing.h"
#include "planner/rootmacros.h"
#include "planner/speccache.h"
#include "planner/versions.h"
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
	const struct planner_read_progress *progress; /* or NULL */
	/* Readers started with prev's context as soon as the tree diff shows
	 * a spec directory changed, so that their sandboxes are set up while
	 * the rest of the index is worked out (see start_early); used by the
	 * first parse whose context is the same, else only freed. */
	struct planner_readers *early;
	struct planner_macro_ctx early_ctx; /* shallow copy of prev->macros */
};

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
	return (struct planner_speccache_key){ l->index->spec_inputs[i], l->specs.items[i].path,
					       context, l->index->macros.target_arch };
}

/* The entries of files (sorted by path) under the directory of spec_path:
 * *first and *count. */
static void dir_range(const struct gitwatch_entries *files, const char *spec_path, size_t *first,
		      size_t *count)
{
	const char *slash = strrchr(spec_path, '/');
	size_t dlen = slash ? (size_t)(slash - spec_path) + 1 : 0, lo = 0, hi = files->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strncmp(files->items[mid].path, spec_path, dlen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo < files->n && !strncmp(files->items[lo].path, spec_path, dlen))
		lo++;
	*count = lo - *first;
}

/* The digest of what a spec is read from: the path, mode and blob of every
 * file of its directory (the spec's %_sourcedir), the spec among them. */
static char *inputs_digest(const struct gitwatch_entries *files, const char *spec_path)
{
	struct sy_sha256 *h = sy_sha256_new();
	char hex[SY_SHA256_HEX_LEN + 1], mode[16];
	size_t first, count;

	dir_range(files, spec_path, &first, &count);
	sy_sha256_update_str(h, spec_path);
	for (size_t i = first; i < first + count; i++) {
		snprintf(mode, sizeof(mode), "%o", files->items[i].mode);
		sy_sha256_update_str(h, files->items[i].path);
		sy_sha256_update_str(h, mode);
		sy_sha256_update_str(h, files->items[i].oid);
	}
	sy_sha256_final(h, hex);
	return sy_xstrdup(hex);
}

static int str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static int strv_same(const struct sy_strv *a, const struct sy_strv *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->items[i], b->items[i]))
			return 0;
	return 1;
}

/* Whether a reader set up with a reads a spec as one set up with b: the
 * same files loaded in the same order, the same defines and rpmdb. */
static int ctx_same(const struct planner_macro_ctx *a, const struct planner_macro_ctx *b)
{
	return !strcmp(a->digest, b->digest) && str_same(a->dir, b->dir) &&
	       strv_same(&a->macro_files, &b->macro_files) && str_same(a->rpmrc, b->rpmrc) &&
	       str_same(a->lua_dir, b->lua_dir) && strv_same(&a->defines, &b->defines) &&
	       str_same(a->rpmdb, b->rpmdb) && str_same(a->target_arch, b->target_arch);
}

/* Whether path is a version macros file of ctx: <dir>/versions-<digest>/
 * macros.versions. */
static int is_versions_file(const struct planner_macro_ctx *ctx, const char *path)
{
	size_t len = strlen(ctx->dir);
	const char *tail = path + len;

	return !strncmp(path, ctx->dir, len) && !strncmp(tail, "/versions-", 10) &&
	       strchr(tail + 10, '/') && !strcmp(strchr(tail + 10, '/'), "/macros.versions");
}

/* Starts a reader with prev's context, the one the changed specs are
 * most likely read with (a commit seldom changes the macros), when the
 * tree diff changed a directory of the spec trees: its sandbox and
 * context (about 20 ms) are then set up on the other core while this
 * one works out the listing, inputs and cache lookups. prev's context
 * ends with its own version macros (planner_versions_install), which the
 * first read goes without: they are left out of the copy. Best effort:
 * no reader, no harm. */
static void start_early(struct loader *l, const struct sy_strv *changed_dirs)
{
	const struct planner_macro_ctx *m = l->prev ? &l->prev->macros : NULL;
	struct sy_error ignored = { { 0 } };
	size_t n;

	if (!m || !m->dir || !changed_dirs->n || !strcmp(changed_dirs->items[0], "*"))
		return;
	l->early_ctx = *m;
	n = m->macro_files.n;
	if (n && is_versions_file(m, m->macro_files.items[n - 1]))
		l->early_ctx.macro_files.n = n - 1;
	l->early = planner_readers_start(&l->early_ctx, l->jobs, 1, &ignored);
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
		size_t first, count;

		dir_range(&l->index->files, l->specs.items[i].path, &first, &count);
		inputs[k] = (struct planner_spec_input){ l->specs.items[i].path, l->texts[i],
							 l->lens[i], l->repo,
							 l->index->files.items + first, count };
	}
	if (l->early && ctx_same(&l->early_ctx, &l->index->macros)) {
		struct planner_readers *rd = l->early;

		l->early = NULL;
		rc = planner_readers_read(rd, inputs, n, l->progress, out, err);
		planner_readers_free(rd);
		if (rc)
			goto out;
		rc = -1;
	} else if (planner_specs_read_with(inputs, n, &l->index->macros, l->jobs, l->progress,
					   out, err)) {
		goto out;
	}
	for (size_t k = 0; k < n; k++)
		planner_versions_find_refs(l->texts[which[k]], l->lens[which[k]],
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

/* The position in prev of its result for spec i read under context (same
 * path, blob, macro context and arch), or -1. prev's specs are sorted by
 * path. */
static long reusable(const struct loader *l, size_t i, const char *context)
{
	const struct planner_index *prev = l->prev;
	const char *path = l->specs.items[i].path;
	size_t lo = 0, hi = prev ? prev->nspecs : 0;

	if (!prev || strcmp(prev->macros.target_arch, l->index->macros.target_arch))
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(prev->specs[mid].path, path);

		if (c < 0) {
			lo = mid + 1;
		} else if (c > 0) {
			hi = mid;
		} else {
			int same = !prev->specs[mid].error_transient && prev->spec_contexts[mid] &&
				   !strcmp(prev->spec_inputs[mid], l->index->spec_inputs[i]) &&
				   !strcmp(prev->spec_contexts[mid], context);

			return same ? (long)mid : -1;
		}
	}
	return -1;
}

/* Looks up which[k] under contexts[k], in prev first (then out[k] shares
 * prev's spec but for excluded, borrowed[k] is set and from[k] is its
 * position in prev), then in the cache; fills out[k] when found, else
 * appends k to miss. */
static int lookup(struct loader *l, const size_t *which, char *const *contexts, size_t n,
		  struct planner_spec *out, unsigned char *borrowed, size_t *from, size_t *miss,
		  size_t *nmiss, struct sy_error *err)
{
	struct planner_speccache_key *keys = sy_xcalloc(n + 1, sizeof(*keys));
	size_t *asked = sy_xcalloc(n + 1, sizeof(*asked)), nasked = 0;
	struct planner_spec *got = sy_xcalloc(n + 1, sizeof(*got));
	unsigned char *hit = sy_xcalloc(n + 1, 1);
	int rc = -1;

	*nmiss = 0;
	for (size_t k = 0; k < n; k++) {
		long same = reusable(l, which[k], contexts[k]);

		if (same >= 0) {
			out[k] = l->prev->specs[same];
			out[k].excluded = NULL;
			borrowed[k] = 1;
			from[k] = (size_t)same;
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

/* Spec i takes the encoded form of prev's spec at from (or none: -1), which
 * it now is, for storing the record (planner_index.spec_bytes). */
static void set_spec_bytes(struct loader *l, size_t i, long from)
{
	const struct planner_index *prev = l->prev;
	struct planner_index *index = l->index;

	index->spec_bytes[i] = from >= 0 && prev->spec_bytes ? prev->spec_bytes[from] : NULL;
	index->spec_nbytes[i] = index->spec_bytes[i] ? prev->spec_nbytes[from] : 0;
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
	size_t *from = sy_xcalloc(n + 1, sizeof(*from));
	int rc = -1;

	if (lookup(l, which, contexts, n, out, borrowed, from, miss, &nmiss, err))
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
		set_spec_bytes(l, which[k], borrowed[k] ? (long)from[k] : -1);
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
	free(from);
	return rc;
}

static int pass2(struct loader *l, struct sy_error *err)
{
	struct planner_index *index = l->index;
	struct planner_versions v;
	size_t *which = sy_xcalloc(index->nspecs + 1, sizeof(*which)), n = 0;
	char **contexts = sy_xcalloc(index->nspecs + 1, sizeof(char *));
	int rc = -1;

	planner_versions_build(&v, index);
	if (planner_versions_install(&index->macros, &v, err))
		goto out;
	for (size_t i = 0; i < index->nspecs; i++) {
		if (!index->specs[i].version_refs.n)
			continue;
		contexts[n] = planner_versions_context(&index->macros, &v, &index->specs[i].version_refs);
		which[n++] = i;
	}
	index->versioned = n;
	rc = n ? read_specs(l, which, contexts, n, err) : 0;
out:
	for (size_t k = 0; k < n; k++)
		free(contexts[k]);
	free(contexts);
	free(which);
	planner_versions_release(&v);
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

/* Pass 0: the specs of the directories that ship macro files, read with
 * the base context (the macros package, no other package's files); those of
 * them whose packages the worker manifest lists give their macro files, in
 * installed form, to the context every spec is then read with. */
static int pass0(struct loader *l, const struct planner_macro_settings *settings,
		 const char *workdir, struct sy_error *err)
{
	const char *pattern = settings->shipped_macros ? settings->shipped_macros : "macros.*";
	struct planner_index *index = l->index;
	struct planner_macro_files installed = { 0 };
	struct sy_strv published = SY_STRV_INIT;
	struct planner_macro_ctx full;
	size_t *which = sy_xcalloc(index->nspecs + 1, sizeof(*which)), n = 0;
	char **contexts = sy_xcalloc(index->nspecs + 1, sizeof(char *));
	int rc = -1;

	for (size_t i = 0; index->macros.manifest.n && i < index->nspecs; i++) {
		if (!planner_rootmacros_is_candidate(l->specs.items[i].path, &index->files, pattern,
						     index->macros.macros_dir))
			continue;
		which[n] = i;
		contexts[n++] = index->macros.digest;
	}
	if (n && read_specs(l, which, contexts, n, err))
		goto out;
	if (n && settings->installed_rpms)
		planner_rootmacros_list_rpms(settings->installed_rpms, &published);
	for (size_t k = 0; k < n; k++) {
		const struct planner_spec *spec = &index->specs[which[k]];

		if (!spec->error && planner_rootmacros_in_manifest(spec, &index->macros.manifest) &&
		    planner_rootmacros_add(l->repo, &index->files, pattern, spec,
					   &index->macros.manifest, &published, &installed, err))
			goto out;
	}
	rc = 0;
	if (installed.n) {
		rc = planner_macro_ctx_load_listed(l->repo, index->commit, settings, &index->files,
						   &installed, workdir, &full, err);
		if (rc == 0) {
			planner_macro_ctx_release(&index->macros);
			index->macros = full;
		}
	}
out:
	planner_macro_files_release(&installed);
	sy_strv_release(&published);
	free(which);
	free(contexts);
	return rc;
}

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

/* 1 when a spec's result is one the spec cache does not keep either. */
static int has_transient(const struct planner_index *index)
{
	for (size_t i = 0; i < index->nspecs; i++)
		if (index->specs[i].error_transient)
			return 1;
	return 0;
}

/* Lists the files of the spec trees into the index: from the index
 * reused (the base of a plan) and the tree diff when there is one, then
 * with the directories that differ in changed_dirs (planner_listing_since);
 * else walked, through the listing cache, with every directory changed. */
static int list_files(struct loader *l, const char *const *trees, const char *cache_path,
		      struct sy_strv *changed_dirs, struct sy_error *err)
{
	struct gitwatch_entries all;
	int done = 0;

	if (l->prev && l->prev->files.n) {
		done = planner_listing_since(l->repo, l->index->commit, l->prev->commit, trees,
					     &l->prev->files, &l->index->files, changed_dirs, err);
		if (done < 0)
			return -1;
	}
	if (done)
		return 0;
	sy_strv_push(changed_dirs, "*");
	if (planner_listing_trees(l->repo, l->index->commit, trees, cache_path, &all, err))
		return -1;
	planner_listing_files(&all, &l->index->files);
	return 0;
}

/* Whether a directory of changed_dirs (sorted; "*": all changed) is the
 * directory of len bytes at dir, or below it. Those that start with it are
 * found by bisection, then the few of them looked at; nothing is allocated,
 * as this runs for every spec of a commit. */
static int dir_changed(const struct sy_strv *changed_dirs, const char *dir, size_t len)
{
	size_t lo = 0, hi = changed_dirs->n;

	if (changed_dirs->n && !strcmp(changed_dirs->items[0], "*"))
		return 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strncmp(changed_dirs->items[mid], dir, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < changed_dirs->n && !strncmp(changed_dirs->items[lo], dir, len); lo++)
		if (changed_dirs->items[lo][len] == '\0' || changed_dirs->items[lo][len] == '/')
			return 1;
	return 0;
}

/* Sets the inputs digest of every spec (over every file below its
 * directory): the reused index's when no directory of changed_dirs is its
 * directory or below it, else computed. The specs and the reused index's
 * are both sorted by path: one walk over the two finds each spec's match. */
static void spec_inputs_all(struct loader *l, const struct sy_strv *changed_dirs)
{
	const struct planner_index *prev = l->prev;
	size_t at = 0, nprev = prev && prev->spec_inputs ? prev->nspecs : 0;

	for (size_t i = 0; i < l->specs.n; i++) {
		const char *path = l->specs.items[i].path, *slash = strrchr(path, '/');
		size_t dlen = slash ? (size_t)(slash - path) : 0;
		int c = 1;

		while (at < nprev && (c = strcmp(prev->specs[at].path, path)) < 0)
			at++;
		if (at < nprev && c == 0 && prev->spec_inputs[at] &&
		    !dir_changed(changed_dirs, path, dlen))
			l->index->spec_inputs[i] = sy_xstrdup(prev->spec_inputs[at]);
		else
			l->index->spec_inputs[i] = inputs_digest(&l->index->files, path);
	}
}

/* Reads the index from its record when the state has one, else lists,
 * reads every spec through the cache and stores the record. */
static int load(struct loader *l, const char *commit, const struct planner_macro_settings *settings,
		const char *workdir, const char *cache_path, struct sy_error *err)
{
	static const char *const default_trees[] = { "SPECS", NULL };
	const char *const *trees = settings->spec_trees ? settings->spec_trees : default_trees;
	struct planner_index *index = l->index;
	struct sy_strv changed_dirs = SY_STRV_INIT;
	char record[SY_SHA256_HEX_LEN + 1];
	int rc = -1, hit = 0;

	if (gitwatch_resolve(l->repo, commit, index->commit, err))
		return -1;
	if (cache_path) {
		planner_indexrecord_key(index->commit, settings, workdir, record);
		hit = planner_indexrecord_get(cache_path, record, l->prev, index, err);
		if (hit)
			goto done;
	}
	if (list_files(l, trees, cache_path, &changed_dirs, err))
		goto out;
	start_early(l, &changed_dirs);
	if (planner_macro_ctx_load_listed(l->repo, index->commit, settings, &index->files, NULL,
					  workdir, &index->macros, err))
		goto out;
	planner_listing_specs(&index->files, trees, &l->specs);
	index->nspecs = l->specs.n;
	index->specs = sy_xcalloc(l->specs.n + 1, sizeof(*index->specs));
	index->spec_inputs = sy_xcalloc(l->specs.n + 1, sizeof(char *));
	index->spec_contexts = sy_xcalloc(l->specs.n + 1, sizeof(char *));
	index->borrowed = sy_xcalloc(l->specs.n + 1, 1);
	index->spec_bytes = sy_xcalloc(l->specs.n + 1, sizeof(*index->spec_bytes));
	index->spec_nbytes = sy_xcalloc(l->specs.n + 1, sizeof(*index->spec_nbytes));
	spec_inputs_all(l, &changed_dirs);
	l->texts = sy_xcalloc(l->specs.n + 1, sizeof(char *));
	l->lens = sy_xcalloc(l->specs.n + 1, sizeof(size_t));
	if (cache_path && planner_speccache_open(cache_path, &l->cache, err))
		goto out;
	if (pass0(l, settings, workdir, err) || pass1(l, err) || pass2(l, err))
		goto out;
	if (cache_path && !has_transient(index) &&
	    planner_indexrecord_put(cache_path, record, index, err))
		goto out;
done:
	if (hit < 0)
		return -1;
	mark_excluded(index);
	rc = 0;
out:
	sy_strv_release(&changed_dirs);
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
	return planner_index_load_with(repo, commit, settings, workdir, cache_path, jobs, prev,
				       NULL, index, err);
}

int planner_index_load_with(struct gitwatch_repo *repo, const char *commit,
			    const struct planner_macro_settings *settings, const char *workdir,
			    const char *cache_path, int jobs, const struct planner_index *prev,
			    const struct planner_read_progress *progress,
			    struct planner_index *index, struct sy_error *err)
{
	struct loader l = { .repo = repo, .index = index, .prev = prev, .jobs = jobs,
			    .progress = progress };
	int rc;

	memset(index, 0, sizeof(*index));
	rc = load(&l, commit, settings, workdir, cache_path, err);
	planner_readers_free(l.early);
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
		free(index->spec_inputs[i]);
		free(index->spec_contexts[i]);
	}
	free(index->specs);
	free(index->spec_inputs);
	free(index->spec_contexts);
	free(index->borrowed);
	if (index->record)
		state_kv_value_release(index->record);
	free(index->record);
	free(index->spec_bytes);
	free(index->spec_nbytes);
	gitwatch_entries_release(&index->files);
	planner_macro_ctx_release(&index->macros);
	memset(index, 0, sizeof(*index));
}
