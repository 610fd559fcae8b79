#include "planner/buildkey.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner/plan.h"
#include "common/buf.h"

int planner_policy_parse(const char *text, struct planner_policy *policy, struct sy_error *err)
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

void planner_policy_format(const struct planner_policy *policy, char *buf, size_t size)
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

char *planner_spec_id(const struct planner_spec *spec)
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

/* The bytes a digest is taken over, gathered first and hashed with one call:
 * the same digest as feeding them piece by piece, without a call per piece.
 * Fields end with a NUL, as sy_sha256_update_str writes them (NULL as ""). */
static void bytes_digest(struct sy_buf *b, char out[SY_SHA256_HEX_LEN + 1])
{
	sy_sha256_buf(b->data, b->len, out);
	b->len = 0;
}

/* A dependency as planner_dep_format writes it ("name", "name >= evr"),
 * without a string per dependency. The bytes must stay those of
 * planner_dep_format: they are part of every build key. */
static void bytes_dep(struct sy_buf *b, const struct planner_dep *dep)
{
	const char *name = dep->name ? dep->name : "(null)";
	const char *op = planner_dep_op(dep->flags);

	if (!dep->flags || !dep->evr) {
		sy_buf_add_str0(b, dep->name);
		return;
	}
	sy_buf_add(b, name, strlen(name));
	sy_buf_add(b, " ", 1);
	sy_buf_add(b, op, strlen(op));
	sy_buf_add(b, " ", 1);
	sy_buf_add_str0(b, dep->evr);
}

static void bytes_deps(struct sy_buf *b, const struct planner_deps *deps)
{
	for (size_t i = 0; i < deps->n; i++)
		bytes_dep(b, &deps->items[i]);
}

static void metadata_digest(const struct planner_spec *s, struct sy_buf *b,
			    char out[SY_SHA256_HEX_LEN + 1])
{
	sy_buf_add_str0(b, s->error ? s->error : "");
	sy_buf_add_str0(b, s->name);
	sy_buf_add_str0(b, s->epoch);
	sy_buf_add_str0(b, s->version);
	sy_buf_add_str0(b, s->release);
	for (size_t i = 0; i < s->npackages; i++) {
		const struct planner_package *p = &s->packages[i];
		sy_buf_add_str0(b, p->name);
		sy_buf_add_str0(b, p->evr);
		sy_buf_add_str0(b, p->arch);
		bytes_deps(b, &p->provides);
		bytes_deps(b, &p->requires);
	}
	bytes_deps(b, &s->buildrequires);
	bytes_digest(b, out);
}

/* The files of the spec trees: the index's listing when it has one, else
 * one listing per distinct spec tree, made here. */
struct listing {
	const struct gitwatch_entries *shared; /* index->files, or NULL */
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

static int list_trees(struct gitwatch_repo *repo, const struct planner_index *index,
		      struct listing *l, struct sy_error *err)
{
	char buf[512];

	if (index->files.n) {
		l->shared = &index->files;
		return 0;
	}
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

/* The listing that holds the files of the spec at path. */
static const struct gitwatch_entries *listing_for(const struct listing *l, const char *path)
{
	char buf[512];
	const char *t;
	size_t tree = 0;

	if (l->shared)
		return l->shared;
	t = tree_of(path, buf, sizeof(buf));
	while (tree < l->tree_names.n && strcmp(l->tree_names.items[tree], t))
		tree++;
	return &l->trees[tree];
}

static void listing_release(struct listing *l)
{
	for (size_t t = 0; t < l->tree_names.n; t++)
		gitwatch_entries_release(&l->trees[t]);
	free(l->trees);
	sy_strv_release(&l->tree_names);
}

/* Finds the first entry of a sorted listing whose path is not below prefix
 * (prefix of len bytes) in strcmp order. */
static size_t lower_bound(const struct gitwatch_entries *e, const char *prefix, size_t len)
{
	size_t lo = 0, hi = e->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strncmp(e->items[mid].path, prefix, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int names_file(const struct planner_spec *s, const char *base, const char **role)
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

/* "<role> <path> <blob>", newly allocated. */
static char *input_line(const char *role, const char *path, const char *oid)
{
	size_t r = strlen(role), p = strlen(path), o = strlen(oid);
	char *line = sy_xmalloc(r + p + o + 3);

	memcpy(line, role, r);
	line[r] = ' ';
	memcpy(line + r + 1, path, p);
	line[r + 1 + p] = ' ';
	memcpy(line + r + 2 + p, oid, o + 1);
	return line;
}

/* Fills the own inputs of spec i from the directory's entries. siblings are
 * the specs of the same directory. */
static void own_inputs(const struct planner_index *index, size_t i, const struct gitwatch_entries *e,
		       const size_t *siblings, size_t nsiblings, const char *global,
		       struct sy_buf *b, struct planner_spec_inputs *in)
{
	const struct planner_spec *s = &index->specs[i];
	const char *slash = strrchr(s->path, '/');
	size_t plen = slash ? (size_t)(slash - s->path) + 1 : 0; /* "<dir>/" */

	/* A path without a directory has no files besides itself: none match. */
	for (size_t k = slash ? lower_bound(e, s->path, plen) : e->n;
	     k < e->n && !strncmp(e->items[k].path, s->path, plen); k++) {
		const char *path = e->items[k].path, *base = basename_of(path), *role = NULL;
		if (!names_file(s, base, &role)) {
			int other = 0;
			for (size_t j = 0; !other && j < nsiblings; j++)
				other = siblings[j] != i && names_file(&index->specs[siblings[j]], base, &role);
			if (other)
				continue;
			role = "file";
		}
		sy_strv_push_owned(&in->files, input_line(role, path, e->items[k].oid));
	}
	metadata_digest(s, b, in->metadata);
	sy_buf_add_str0(b, global);
	/* Differs from the global context for specs that name other specs'
	 * version macros: a version bump there is an input here. */
	sy_buf_add_str0(b, index->spec_contexts ? index->spec_contexts[i] : "");
	for (size_t k = 0; k < in->files.n; k++)
		sy_buf_add_str0(b, in->files.items[k]);
	sy_buf_add_str0(b, in->metadata);
	bytes_digest(b, in->digest);
}

/* Computing keys: first key_of walks the specs as the keys need each other
 * (a key holds the keys of its build root), gathering the parts of each
 * key and the order in which they can be hashed; then two threads hash
 * them in that order, each key once the keys among its parts are. */
struct keyer {
	const struct planner_index *index;
	const struct planner_graph *graph;
	struct planner_keys *out;
	struct planner_policy *policy; /* per spec */
	unsigned char *state;          /* 0 new, 1 in progress, 2 done */
	char (*layer)[SY_SHA256_HEX_LEN + 1]; /* layered digests, level-major */
	int max_layers;
	struct sy_buf bytes;            /* scratch for digests */
	const char **planned;           /* the parts of every key, spec after spec:
					 * digests, or keys (in out->keys) to wait
					 * for */
	size_t *first;                  /* per spec: its first part in planned */
	size_t *nplanned;               /* per spec: how many */
	size_t *order;                  /* specs in the order key_of finished them */
	size_t norder;
	size_t next;                    /* next of order to hash (atomic) */
	unsigned char *hashed;          /* per spec: its key is there (atomic) */
};

#define NO_KEY ((size_t)-1)

/* Digests that go into a key (borrowed), sorted and made unique at the end.
 * Each is 64 hex digits in a digest array: its first eight bytes, read as a
 * big-endian number, order most pairs without a string comparison. */
struct part {
	uint64_t head;      /* set by bytes_parts */
	const char *digest;
};

struct parts {
	struct part *items;
	size_t n, alloc;
};

static void parts_add(struct parts *p, const char *digest)
{
	if (p->n == p->alloc) {
		p->alloc = p->alloc ? p->alloc * 2 : 16;
		p->items = sy_xrealloc(p->items, p->alloc * sizeof(*p->items));
	}
	p->items[p->n++] = (struct part){ 0, digest };
}

/* strcmp's order of the digests. */
static int cmp_part(const void *a, const void *b)
{
	const struct part *x = a, *y = b;

	if (x->head != y->head)
		return x->head < y->head ? -1 : 1;
	return strcmp(x->digest, y->digest);
}

static inline int part_less(const struct part *x, const struct part *y)
{
	return x->head != y->head ? x->head < y->head : strcmp(x->digest, y->digest) < 0;
}

/* Sorts a[0..n) in cmp_part's order: qsort's, without a call through a
 * pointer per comparison (thousands of keys of a hundred parts a plan). */
static void sort_parts(struct part *a, size_t n)
{
	while (n > 16) {
		struct part *mid = &a[n / 2], *last = &a[n - 1], pivot, t;
		size_t i = 0, j = n - 1;
		/* median of three as the pivot */
		if (part_less(mid, a))
			t = *mid, *mid = *a, *a = t;
		if (part_less(last, mid)) {
			t = *last, *last = *mid, *mid = t;
			if (part_less(mid, a))
				t = *mid, *mid = *a, *a = t;
		}
		pivot = *mid;
		for (;;) { /* Hoare's partition */
			while (part_less(&a[i], &pivot))
				i++;
			while (part_less(&pivot, &a[j]))
				j--;
			if (i >= j)
				break;
			t = a[i], a[i] = a[j], a[j] = t;
			i++;
			j--;
		}
		/* a[0..j] <= pivot <= a[j+1..n): the smaller side first, by
		 * recursion, the larger by the loop */
		if (j + 1 < n - j - 1) {
			sort_parts(a, j + 1);
			a += j + 1;
			n -= j + 1;
		} else {
			sort_parts(a + j + 1, n - j - 1);
			n = j + 1;
		}
	}
	for (size_t i = 1; i < n; i++) {
		struct part x = a[i];
		size_t k = i;
		for (; k > 0 && part_less(&x, &a[k - 1]); k--)
			a[k] = a[k - 1];
		a[k] = x;
	}
}

/* Adds the parts to b sorted, each distinct one once. */
static void bytes_parts(struct sy_buf *b, struct parts *p)
{
	for (size_t j = 0; j < p->n; j++) {
		uint64_t head = 0;
		for (int k = 0; k < 8; k++)
			head = head << 8 | (unsigned char)p->items[j].digest[k];
		p->items[j].head = head;
	}
	sort_parts(p->items, p->n);
	for (size_t j = 0; j < p->n; j++)
		if (j == 0 || cmp_part(&p->items[j - 1], &p->items[j]))
			sy_buf_add_str0(b, p->items[j].digest);
}

/* The specs whose keys go into spec i's key under its policy (borrowed). */
static void key_deps(const struct keyer *k, size_t i, const size_t **deps, size_t *n)
{
	const struct planner_graph_node *node = &k->graph->nodes[i];

	if (k->policy[i].layers == -2) {
		*deps = node->build_deps;
		*n = node->nbuild_deps;
	} else {
		*deps = node->root_specs;
		*n = node->nroot_specs;
	}
}

/* Hashes spec i's key from its parts into its slot, with scratch b and
 * context h. */
static void finish_key(struct keyer *k, size_t i, struct parts *parts, struct sy_buf *b,
		       struct sy_sha256_reuse *h)
{
	char tag[32];

	planner_policy_format(&k->policy[i], tag, sizeof(tag));
	sy_buf_add_str0(b, "shipyard build key v2");
	sy_buf_add_str0(b, k->out->inputs[i].digest);
	sy_buf_add_str0(b, tag);
	bytes_parts(b, parts);
	sy_sha256_reuse_buf(h, b->data, b->len, k->out->keys[i]);
	b->len = 0;
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
	struct parts parts = { NULL, 0, 0 };
	for (size_t j = 0; j < n; j++)
		parts_add(&parts, layer_digest(k, deps[j], level - 1));
	/* The scratch buffer is free again only after the recursion above. */
	sy_buf_add_str0(&k->bytes, k->out->inputs[i].digest);
	bytes_parts(&k->bytes, &parts);
	bytes_digest(&k->bytes, slot);
	free(parts.items);
	return slot;
}

/* Gathers the parts of spec i's key (and of the keys it needs first), to
 * planned from *next on. A key in progress (a build cycle) contributes its
 * own inputs. */
static void key_of(struct keyer *k, size_t i, size_t *next)
{
	const size_t *deps = NULL;
	size_t n = 0, at = 0, first;

	k->state[i] = 1;
	key_deps(k, i, &deps, &n);
	if (k->policy[i].layers == 0)
		n = 0;
	/* Its parts after those of the keys it walks to first. */
	for (size_t j = 0; k->policy[i].layers == -1 && j < n; j++)
		if (k->state[deps[j]] == 0)
			key_of(k, deps[j], next);
	first = *next;
	for (size_t j = 0; j < n; j++) {
		size_t d = deps[j];
		const char *part;
		if (k->policy[i].layers == -2)
			/* direct: a BuildRequires' own change counts, not what it
			 * was rebuilt for. */
			part = k->out->inputs[d].digest;
		else if (k->policy[i].layers > 0)
			part = layer_digest(k, d, k->policy[i].layers - 1);
		else
			part = k->state[d] == 2 ? k->out->keys[d] : k->out->inputs[d].digest;
		k->planned[first + at++] = part;
	}
	*next = first + at;
	k->first[i] = first;
	k->nplanned[i] = at;
	k->order[k->norder++] = i;
	k->state[i] = 2;
}

/* The spec whose key part is, or NO_KEY when it is another digest. */
static size_t key_in(const struct keyer *k, const char *part)
{
	uintptr_t at = (uintptr_t)part, start = (uintptr_t)k->out->keys;

	if (at < start || at >= start + k->out->n * sizeof(*k->out->keys))
		return NO_KEY;
	return (at - start) / sizeof(*k->out->keys);
}

/* Hashes keys in key_of's order until none is left, with scratch b and
 * parts: each once the keys among its parts are hashed (earlier in that
 * order, so being hashed or hashed already). */
static void hash_keys(struct keyer *k, struct sy_buf *b, struct parts *parts,
		      struct sy_sha256_reuse *h)
{
	size_t at;

	while ((at = __atomic_fetch_add(&k->next, 1, __ATOMIC_RELAXED)) < k->norder) {
		size_t i = k->order[at];
		parts->n = 0;
		for (size_t j = 0; j < k->nplanned[i]; j++) {
			const char *part = k->planned[k->first[i] + j];
			size_t d = key_in(k, part);
			while (d != NO_KEY && !__atomic_load_n(&k->hashed[d], __ATOMIC_ACQUIRE))
				sched_yield();
			parts_add(parts, part);
		}
		finish_key(k, i, parts, b, h);
		__atomic_store_n(&k->hashed[i], 1, __ATOMIC_RELEASE);
	}
}

static void *hash_thread_main(void *arg)
{
	struct keyer *k = arg;
	struct sy_buf b = { NULL, 0, 0 };
	struct parts parts = { NULL, 0, 0 };
	struct sy_sha256_reuse *h = sy_sha256_reuse_new();

	hash_keys(k, &b, &parts, h);
	sy_sha256_reuse_free(h);
	sy_buf_release(&b);
	free(parts.items);
	return NULL;
}

static void global_digest(const struct planner_index *index, const char *worker,
			  char out[SY_SHA256_HEX_LEN + 1])
{
	struct sy_sha256 *h = sy_sha256_new();

	sy_sha256_update_str(h, index->macros.digest);
	sy_sha256_update_str(h, index->macros.target_arch);
	sy_sha256_update_str(h, worker ? worker : "");
	sy_sha256_final(h, out);
}

/* Whether spec path is in directory dir (dlen bytes, no trailing slash). */
static int in_dir(const char *path, const char *dir, size_t dlen)
{
	return !strncmp(path, dir, dlen) && path[dlen] == '/' && !strchr(path + dlen + 1, '/');
}

static const char *context_of(const struct planner_index *index, size_t i)
{
	return index->spec_contexts && index->spec_contexts[i] ? index->spec_contexts[i] : "";
}

/* Whether spec k of index was read alike in base (at base index *at). */
static int read_alike(const struct planner_index *index, size_t k, const struct planner_index *base,
		      long *at)
{
	*at = planner_index_lookup_path(base, index->specs[k].path);
	return *at >= 0 && !index->specs[k].error_transient &&
	       !base->specs[*at].error_transient && index->spec_inputs && base->spec_inputs &&
	       index->spec_inputs[k] && base->spec_inputs[*at] &&
	       !strcmp(index->spec_inputs[k], base->spec_inputs[*at]) &&
	       !strcmp(context_of(index, k), context_of(base, (size_t)*at));
}

/* Takes the own inputs of spec i (its directory's specs lo..hi) from the
 * base keys of settings when they cannot differ (planner_key_settings).
 * Returns 1 when taken. */
static int reuse_inputs(const struct planner_key_settings *settings,
			const struct planner_index *index, size_t i, size_t lo, size_t hi,
			struct planner_keys *keys)
{
	const struct planner_index *base = settings->base_index;
	const struct planner_keys *old = settings->base_keys;
	long at = -1, sibling;

	if (!base || !old || old->n != base->nspecs || strcmp(old->global, keys->global))
		return 0;
	for (size_t k = lo; k <= hi; k++)
		if (!read_alike(index, k, base, k == i ? &at : &sibling))
			return 0;
	const struct planner_spec_inputs *from = &old->inputs[at];
	struct planner_spec_inputs *in = &keys->inputs[i];
	memcpy(in->digest, from->digest, sizeof(in->digest));
	memcpy(in->metadata, from->metadata, sizeof(in->metadata));
	/* Borrowed: thousands of lists copied were megabytes of new heap. */
	in->files = from->files;
	in->borrowed = 1;
	return 1;
}

static int compute_inputs(struct gitwatch_repo *repo, const struct planner_index *index,
			  const struct planner_key_settings *settings, struct planner_keys *keys,
			  struct sy_error *err)
{
	struct listing l = { NULL, NULL, SY_STRV_INIT };
	struct sy_buf b = { NULL, 0, 0 };
	size_t *siblings = sy_xcalloc(index->nspecs + 1, sizeof(size_t));

	if (list_trees(repo, index, &l, err)) {
		listing_release(&l);
		free(siblings);
		return -1;
	}
	for (size_t i = 0; i < index->nspecs; i++) {
		/* Specs are sorted by path, so a directory's specs are adjacent. */
		const char *path = index->specs[i].path, *slash = strrchr(path, '/');
		size_t dlen = slash ? (size_t)(slash - path) : 0, lo = i, hi = i, ns = 0;
		while (lo > 0 && in_dir(index->specs[lo - 1].path, path, dlen))
			lo--;
		while (hi + 1 < index->nspecs && in_dir(index->specs[hi + 1].path, path, dlen))
			hi++;
		if (reuse_inputs(settings, index, i, lo, hi, keys))
			continue;
		for (size_t j = lo; j <= hi; j++)
			siblings[ns++] = j;
		own_inputs(index, i, listing_for(&l, path), siblings, ns, keys->global, &b,
			   &keys->inputs[i]);
	}
	listing_release(&l);
	free(siblings);
	sy_buf_release(&b);
	return 0;
}

int planner_keys_inputs(struct gitwatch_repo *repo, const struct planner_index *index,
			const struct planner_key_settings *settings, struct planner_keys *keys,
			struct sy_error *err)
{
	size_t n = index->nspecs;

	memset(keys, 0, sizeof(*keys));
	keys->n = n;
	keys->inputs = sy_xcalloc(n + 1, sizeof(*keys->inputs));
	keys->keys = sy_xcalloc(n + 1, sizeof(*keys->keys));
	global_digest(index, settings->worker_digest, keys->global);
	return compute_inputs(repo, index, settings, keys, err);
}

void planner_keys_finish(const struct planner_index *index, const struct planner_graph *graph,
			 const struct planner_key_settings *settings, struct planner_keys *keys)
{
	size_t n = index->nspecs, nparts = 0, next = 0;
	struct keyer k = { index, graph, keys, sy_xcalloc(n + 1, sizeof(*k.policy)),
			   sy_xcalloc(n + 1, 1), NULL, 0, { NULL, 0, 0 }, NULL,
			   sy_xcalloc(n + 1, sizeof(size_t)), sy_xcalloc(n + 1, sizeof(size_t)),
			   sy_xcalloc(n + 1, sizeof(size_t)), 0, 0, sy_xcalloc(n + 1, 1) };
	struct parts parts = { NULL, 0, 0 };
	pthread_t thread;
	int threaded;

	for (size_t i = 0; i < n; i++) {
		k.policy[i] = settings->policy;
		if (settings->spec_policy) {
			char *id = planner_spec_id(&index->specs[i]);
			settings->spec_policy(settings->arg, id, &k.policy[i]);
			free(id);
		}
		if (k.policy[i].layers > k.max_layers)
			k.max_layers = k.policy[i].layers;
		const size_t *deps;
		size_t ndeps;
		key_deps(&k, i, &deps, &ndeps);
		nparts += ndeps;
	}
	k.planned = sy_xmalloc((nparts + 1) * sizeof(*k.planned));
	if (k.max_layers)
		k.layer = sy_xcalloc((size_t)(k.max_layers + 1) * n + 1, sizeof(*k.layer));
	for (size_t i = 0; i < n; i++)
		if (k.state[i] == 0)
			key_of(&k, i, &next);
	/* Hashing is most of the work, and a machine has two cores at least. */
	threaded = n > 1 && pthread_create(&thread, NULL, hash_thread_main, &k) == 0;
	struct sy_sha256_reuse *h = sy_sha256_reuse_new();
	hash_keys(&k, &k.bytes, &parts, h);
	sy_sha256_reuse_free(h);
	if (threaded)
		pthread_join(thread, NULL);
	free(parts.items);
	free(k.planned);
	free(k.first);
	free(k.nplanned);
	free(k.order);
	free(k.hashed);
	free(k.layer);
	free(k.policy);
	free(k.state);
	sy_buf_release(&k.bytes);
}

int planner_keys_compute(struct gitwatch_repo *repo, const struct planner_index *index,
			 const struct planner_graph *graph,
			 const struct planner_key_settings *settings, struct planner_keys *keys,
			 struct sy_error *err)
{
	if (planner_keys_inputs(repo, index, settings, keys, err))
		return -1;
	planner_keys_finish(index, graph, settings, keys);
	return 0;
}

void planner_keys_release(struct planner_keys *keys)
{
	for (size_t i = 0; keys->inputs && i < keys->n; i++)
		if (!keys->inputs[i].borrowed)
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

void planner_inputs_diff(const struct planner_spec_inputs *a, const char *global_a,
			 const struct planner_spec_inputs *b, const char *global_b,
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
