#include "builder/buildkey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/plan.h"

int builder_policy_parse(const char *text, struct builder_policy *policy, struct sy_error *err)
{
	char *end;

	if (!strcmp(text, "transitive"))
		policy->layers = -1;
	else if (!strcmp(text, "direct"))
		policy->layers = -2;
	else if (!strcmp(text, "local"))
		policy->layers = 0;
	else if (!strncmp(text, "layers=", 7) && (policy->layers = (int)strtol(text + 7, &end, 10)) > 0 &&
		 !*end && policy->layers <= 64)
		return 0;
	else
		return sy_error_set(err, "rebuild policy '%s': expected transitive, direct, local or "
				    "layers=N (1..64)", text);
	return 0;
}

void builder_policy_format(const struct builder_policy *policy, char *buf, size_t size)
{
	if (policy->layers == -1)
		snprintf(buf, size, "transitive");
	else if (policy->layers == -2)
		snprintf(buf, size, "direct");
	else if (policy->layers == 0)
		snprintf(buf, size, "local");
	else
		snprintf(buf, size, "layers=%d", policy->layers);
}

char *builder_spec_id(const struct builder_spec *spec)
{
	const char *base = strrchr(spec->path, '/');
	size_t len;

	base = base ? base + 1 : spec->path;
	len = strlen(base);
	if (len > 5 && !strcmp(base + len - 5, ".spec"))
		len -= 5;
	return sy_xasprintf("%.*s", (int)len, base);
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static void hash_deps(struct sy_sha256 *h, const struct builder_deps *deps)
{
	for (size_t i = 0; i < deps->n; i++) {
		char *text = builder_dep_format(&deps->items[i]);
		sy_sha256_update_str(h, text);
		free(text);
	}
}

static void metadata_digest(const struct builder_spec *s, char out[SY_SHA256_HEX_LEN + 1])
{
	struct sy_sha256 *h = sy_sha256_new();

	sy_sha256_update_str(h, s->error ? s->error : "");
	sy_sha256_update_str(h, s->name);
	sy_sha256_update_str(h, s->epoch);
	sy_sha256_update_str(h, s->version);
	sy_sha256_update_str(h, s->release);
	for (size_t i = 0; i < s->npackages; i++) {
		const struct builder_package *p = &s->packages[i];
		sy_sha256_update_str(h, p->name);
		sy_sha256_update_str(h, p->evr);
		sy_sha256_update_str(h, p->arch);
		hash_deps(h, &p->provides);
		hash_deps(h, &p->requires);
	}
	hash_deps(h, &s->buildrequires);
	sy_sha256_final(h, out);
}

/* The files of the spec trees, listed once, and which specs share a directory. */
struct listing {
	struct gitwatch_entries *trees; /* one listing per distinct spec tree */
	struct sy_strv tree_names;
};

static const char *tree_of(const char *path, char *buf, size_t size)
{
	/* "<tree>/<dir>/<file>": the tree is everything before the last two parts. */
	const char *last = strrchr(path, '/');
	const char *dir = last;

	while (dir && dir > path && dir[-1] != '/')
		dir--;
	size_t len = dir && dir > path ? (size_t)(dir - path - 1) : 0;
	snprintf(buf, size, "%.*s", (int)len, path);
	return buf;
}

static int list_trees(struct gitwatch_repo *repo, const struct builder_index *index,
		      struct listing *l, struct sy_error *err)
{
	char buf[512];

	for (size_t i = 0; i < index->nspecs; i++) {
		const char *t = tree_of(index->specs[i].path, buf, sizeof(buf));
		if (!sy_strv_contains(&l->tree_names, t))
			sy_strv_push(&l->tree_names, t);
	}
	l->trees = sy_xcalloc(l->tree_names.n + 1, sizeof(*l->trees));
	for (size_t t = 0; t < l->tree_names.n; t++)
		if (gitwatch_list_files(repo, index->commit, l->tree_names.items[t], &l->trees[t], err))
			return -1;
	return 0;
}

static void listing_release(struct listing *l)
{
	for (size_t t = 0; t < l->tree_names.n; t++)
		gitwatch_entries_release(&l->trees[t]);
	free(l->trees);
	sy_strv_release(&l->tree_names);
}

/* Finds the first entry of a sorted listing whose path starts with prefix. */
static size_t lower_bound(const struct gitwatch_entries *e, const char *prefix)
{
	size_t lo = 0, hi = e->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(e->items[mid].path, prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int names_file(const struct builder_spec *s, const char *base, const char **role)
{
	const char *sb = basename_of(s->path);
	size_t n = strlen(sb) - 5;

	if (!strcmp(base, sb)) {
		*role = "spec";
	} else if (!strncmp(base, sb, n) && !strcmp(base + n, ".signatures.json")) {
		*role = "signatures";
	} else if (sy_strv_contains(&s->sources, base)) {
		*role = "source";
	} else if (sy_strv_contains(&s->patches, base)) {
		*role = "patch";
	} else {
		return 0;
	}
	return 1;
}

/* Fills the own inputs of spec i from the directory's entries. siblings are
 * the specs of the same directory. */
static void own_inputs(const struct builder_index *index, size_t i, const struct gitwatch_entries *e,
		       const size_t *siblings, size_t nsiblings, const char *global,
		       struct builder_spec_inputs *in)
{
	const struct builder_spec *s = &index->specs[i];
	char *dir = builder_path_dir(s->path), *prefix = sy_xasprintf("%s/", dir);
	size_t plen = strlen(prefix);

	for (size_t k = lower_bound(e, prefix); k < e->n && !strncmp(e->items[k].path, prefix, plen); k++) {
		const char *path = e->items[k].path, *base = basename_of(path), *role = NULL;
		if (!names_file(s, base, &role)) {
			int other = 0;
			for (size_t j = 0; !other && j < nsiblings; j++)
				other = siblings[j] != i && names_file(&index->specs[siblings[j]], base, &role);
			if (other)
				continue;
			role = "file";
		}
		sy_strv_pushf(&in->files, "%s %s %s", role, path, e->items[k].oid);
	}
	metadata_digest(s, in->metadata);
	struct sy_sha256 *h = sy_sha256_new();
	sy_sha256_update_str(h, global);
	/* Differs from the global context for specs that name other specs'
	 * version macros: a version bump there is an input here. */
	sy_sha256_update_str(h, index->spec_contexts ? index->spec_contexts[i] : "");
	for (size_t k = 0; k < in->files.n; k++)
		sy_sha256_update_str(h, in->files.items[k]);
	sy_sha256_update_str(h, in->metadata);
	sy_sha256_final(h, in->digest);
	free(prefix);
	free(dir);
}

struct keyer {
	const struct builder_index *index;
	const struct builder_graph *graph;
	struct builder_keys *out;
	struct builder_policy *policy; /* per spec */
	unsigned char *state;          /* 0 new, 1 in progress, 2 done */
	char (*layer)[SY_SHA256_HEX_LEN + 1]; /* layered digests, level-major */
	int max_layers;
};

/* The specs whose keys go into spec i's key under its policy (borrowed). */
static void key_deps(const struct keyer *k, size_t i, const size_t **deps, size_t *n)
{
	const struct builder_graph_node *node = &k->graph->nodes[i];

	if (k->policy[i].layers == -2) {
		*deps = node->build_deps;
		*n = node->nbuild_deps;
	} else {
		*deps = node->root_specs;
		*n = node->nroot_specs;
	}
}

static void finish_key(struct keyer *k, size_t i, struct sy_strv *parts)
{
	struct sy_sha256 *h = sy_sha256_new();
	char tag[32];

	builder_policy_format(&k->policy[i], tag, sizeof(tag));
	sy_strv_sort_unique(parts);
	sy_sha256_update_str(h, "shipyard build key v2");
	sy_sha256_update_str(h, k->out->inputs[i].digest);
	sy_sha256_update_str(h, tag);
	for (size_t j = 0; j < parts->n; j++)
		sy_sha256_update_str(h, parts->items[j]);
	sy_sha256_final(h, k->out->keys[i]);
}

/* Layered digest: level 0 is the own digest; level L hashes the level L-1
 * digests of the install closure. */
static const char *layer_digest(struct keyer *k, size_t i, int level)
{
	char *slot = k->layer[(size_t)level * k->out->n + i];

	if (level == 0)
		return k->out->inputs[i].digest;
	if (*slot)
		return slot;
	const size_t *deps = k->graph->nodes[i].root_specs;
	size_t n = k->graph->nodes[i].nroot_specs;
	struct sy_sha256 *h = sy_sha256_new();
	sy_sha256_update_str(h, k->out->inputs[i].digest);
	struct sy_strv parts = SY_STRV_INIT;
	for (size_t j = 0; j < n; j++)
		sy_strv_push(&parts, layer_digest(k, deps[j], level - 1));
	sy_strv_sort_unique(&parts);
	for (size_t j = 0; j < parts.n; j++)
		sy_sha256_update_str(h, parts.items[j]);
	sy_sha256_final(h, slot);
	sy_strv_release(&parts);
	return slot;
}

static void key_of(struct keyer *k, size_t i)
{
	struct sy_strv parts = SY_STRV_INIT;
	const size_t *deps = NULL;
	size_t n = 0;

	k->state[i] = 1;
	key_deps(k, i, &deps, &n);
	for (size_t j = 0; k->policy[i].layers != 0 && j < n; j++) {
		size_t d = deps[j];
		if (k->policy[i].layers == -2) {
			/* direct: a BuildRequires' own change counts, not what it
			 * was rebuilt for. */
			sy_strv_push(&parts, k->out->inputs[d].digest);
		} else if (k->policy[i].layers > 0) {
			sy_strv_push(&parts, layer_digest(k, d, k->policy[i].layers - 1));
		} else {
			if (k->state[d] == 0)
				key_of(k, d);
			sy_strv_push(&parts, k->state[d] == 2 ? k->out->keys[d]
							      : k->out->inputs[d].digest);
		}
	}
	finish_key(k, i, &parts);
	sy_strv_release(&parts);
	k->state[i] = 2;
}

static void global_digest(const struct builder_index *index, const char *worker,
			  char out[SY_SHA256_HEX_LEN + 1])
{
	struct sy_sha256 *h = sy_sha256_new();

	sy_sha256_update_str(h, index->macros.digest);
	sy_sha256_update_str(h, index->macros.target_arch);
	sy_sha256_update_str(h, worker ? worker : "");
	sy_sha256_final(h, out);
}

static int compute_inputs(struct gitwatch_repo *repo, const struct builder_index *index,
			  struct builder_keys *keys, struct sy_error *err)
{
	struct listing l = { NULL, SY_STRV_INIT };
	char buf[512];
	size_t *siblings = sy_xcalloc(index->nspecs + 1, sizeof(size_t));

	if (list_trees(repo, index, &l, err)) {
		listing_release(&l);
		free(siblings);
		return -1;
	}
	for (size_t i = 0; i < index->nspecs; i++) {
		/* Specs are sorted by path, so a directory's specs are adjacent. */
		char *dir = builder_path_dir(index->specs[i].path);
		size_t lo = i, hi = i, ns = 0;
		while (lo > 0 && !strncmp(index->specs[lo - 1].path, dir, strlen(dir)) &&
		       index->specs[lo - 1].path[strlen(dir)] == '/' &&
		       !strchr(index->specs[lo - 1].path + strlen(dir) + 1, '/'))
			lo--;
		while (hi + 1 < index->nspecs && !strncmp(index->specs[hi + 1].path, dir, strlen(dir)) &&
		       index->specs[hi + 1].path[strlen(dir)] == '/' &&
		       !strchr(index->specs[hi + 1].path + strlen(dir) + 1, '/'))
			hi++;
		for (size_t j = lo; j <= hi; j++)
			siblings[ns++] = j;
		const char *t = tree_of(index->specs[i].path, buf, sizeof(buf));
		size_t tree = 0;
		while (tree < l.tree_names.n && strcmp(l.tree_names.items[tree], t))
			tree++;
		own_inputs(index, i, &l.trees[tree], siblings, ns, keys->global, &keys->inputs[i]);
		free(dir);
	}
	listing_release(&l);
	free(siblings);
	return 0;
}

int builder_keys_compute(struct gitwatch_repo *repo, const struct builder_index *index,
			 const struct builder_graph *graph,
			 const struct builder_key_settings *settings, struct builder_keys *keys,
			 struct sy_error *err)
{
	size_t n = index->nspecs;
	struct keyer k = { index, graph, keys, sy_xcalloc(n + 1, sizeof(*k.policy)),
			   sy_xcalloc(n + 1, 1), NULL, 0 };
	int rc;

	memset(keys, 0, sizeof(*keys));
	keys->n = n;
	keys->inputs = sy_xcalloc(n + 1, sizeof(*keys->inputs));
	keys->keys = sy_xcalloc(n + 1, sizeof(*keys->keys));
	global_digest(index, settings->worker_digest, keys->global);
	rc = compute_inputs(repo, index, keys, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		k.policy[i] = settings->policy;
		if (settings->spec_policy) {
			char *id = builder_spec_id(&index->specs[i]);
			settings->spec_policy(settings->arg, id, &k.policy[i]);
			free(id);
		}
		if (k.policy[i].layers > k.max_layers)
			k.max_layers = k.policy[i].layers;
	}
	if (k.max_layers)
		k.layer = sy_xcalloc((size_t)(k.max_layers + 1) * n + 1, sizeof(*k.layer));
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (k.state[i] == 0)
			key_of(&k, i);
	free(k.layer);
	free(k.policy);
	free(k.state);
	return rc;
}

void builder_keys_release(struct builder_keys *keys)
{
	for (size_t i = 0; keys->inputs && i < keys->n; i++)
		sy_strv_release(&keys->inputs[i].files);
	free(keys->inputs);
	free(keys->keys);
	memset(keys, 0, sizeof(*keys));
}

/* Splits "<role> <path> <blob>" into its parts (pointers into a copy). */
static void split_input(const char *line, char **copy, const char **role, const char **path,
			const char **blob)
{
	*copy = sy_xstrdup(line);
	*role = *copy;
	char *sp = strchr(*copy, ' ');
	*sp = '\0';
	*path = sp + 1;
	sp = strrchr(sp + 1, ' ');
	*sp = '\0';
	*blob = sp + 1;
}

static void describe(struct sy_strv *reasons, const char *role, const char *path, const char *what)
{
	if (!strcmp(role, "spec") || !strcmp(role, "signatures"))
		sy_strv_pushf(reasons, "%s %s", role, what);
	else
		sy_strv_pushf(reasons, "%s %s %s", !strcmp(role, "source") ? "Source" :
			      !strcmp(role, "patch") ? "Patch" : "file", basename_of(path), what);
}

/* Looks up path in a sorted input list; returns its line or NULL. */
static const char *find_input(const struct sy_strv *files, const char *path)
{
	size_t plen = strlen(path);

	for (size_t i = 0; i < files->n; i++) {
		const char *p = strchr(files->items[i], ' ') + 1;
		if (!strncmp(p, path, plen) && p[plen] == ' ')
			return files->items[i];
	}
	return NULL;
}

static void diff_side(const struct sy_strv *from, const struct sy_strv *to, int removed,
		      struct sy_strv *reasons)
{
	for (size_t i = 0; i < from->n; i++) {
		char *copy;
		const char *role, *path, *blob;
		split_input(from->items[i], &copy, &role, &path, &blob);
		const char *other = find_input(to, path);
		if (!other)
			describe(reasons, role, path, removed ? "removed" : "added");
		else if (!removed && strcmp(strrchr(other, ' ') + 1, blob))
			describe(reasons, role, path, "changed");
		free(copy);
	}
}

void builder_inputs_diff(const struct builder_spec_inputs *a, const char *global_a,
			 const struct builder_spec_inputs *b, const char *global_b,
			 struct sy_strv *reasons)
{
	size_t before = reasons->n;

	diff_side(&b->files, &a->files, 0, reasons);
	diff_side(&a->files, &b->files, 1, reasons);
	if (strcmp(global_a, global_b))
		sy_strv_push(reasons, "macro context changed");
	if (reasons->n == before && strcmp(a->metadata, b->metadata))
		sy_strv_push(reasons, "parsed metadata changed (macros it uses)");
}
