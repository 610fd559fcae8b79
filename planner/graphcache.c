#include "planner/graphcache.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "state/kv.h"

#define NS "graph-v1"

/* Appends s and a NUL (NULL as ""), as sy_sha256_update_str hashes it. */
static void add_field(struct sy_buf *b, const char *s)
{
	sy_buf_add_str0(b, s ? s : "");
}

void planner_graphcache_context(const struct planner_index *index, const struct sy_strv *toolchain,
				int toolchain_first, const char *arch, const char *learn_repo_dir,
				char out[SY_SHA256_HEX_LEN + 1])
{
	/* Gathered, then hashed in one call: five fields a spec hashed one by
	 * one cost a call each. */
	size_t cap = 4096 + 256 * index->nspecs; /* enough for most: not regrown */
	struct sy_buf b = { sy_xmalloc(cap), 0, cap };

	add_field(&b, NS);
	add_field(&b, arch ? arch : "x86_64");
	add_field(&b, toolchain_first ? "toolchain first" : "specs first");
	add_field(&b, learn_repo_dir ? learn_repo_dir : "");
	for (size_t i = 0; toolchain && i < toolchain->n; i++)
		add_field(&b, toolchain->items[i]);
	add_field(&b, "specs");
	for (size_t i = 0; i < index->nspecs; i++) {
		const struct planner_spec *s = &index->specs[i];

		add_field(&b, s->path);
		add_field(&b, index->spec_inputs[i] ? index->spec_inputs[i] : "");
		add_field(&b, index->spec_contexts[i] ? index->spec_contexts[i] : "");
		add_field(&b, s->excluded ? s->excluded : "");
		/* A transient error is not in the spec cache: the same inputs may
		 * read fine next time, and give another graph. */
		add_field(&b, s->error ? s->error : "");
	}
	sy_sha256_buf(b.data, b.len, out);
	sy_buf_release(&b);
}

/* ------------------------------------------------------------------------ */
/* Binary form: per node, counted lists of varints and strings.              */

static void put_strv(struct sy_buf *b, const struct sy_strv *v)
{
	sy_buf_add_varint(b, v->n);
	for (size_t i = 0; i < v->n; i++) {
		size_t n = strlen(v->items[i]);
		sy_buf_add_varint(b, n);
		sy_buf_add(b, v->items[i], n);
	}
}

static void put_node(struct sy_buf *b, const struct planner_graph_node *n)
{
	sy_buf_add_varint(b, n->nbuild_deps);
	for (size_t k = 0; k < n->nbuild_deps; k++) {
		sy_buf_add_varint(b, n->build_deps[k]);
		sy_buf_add_varint(b, n->build_dep_brs[k]);
	}
	sy_buf_add_varint(b, n->nrun_deps);
	for (size_t k = 0; k < n->nrun_deps; k++) {
		sy_buf_add_varint(b, n->run_deps[k]);
		sy_buf_add_varint(b, n->run_dep_reqs[k].package);
		sy_buf_add_varint(b, n->run_dep_reqs[k].require);
	}
	sy_buf_add_varint(b, n->ninstall);
	for (size_t k = 0; k < n->ninstall; k++) {
		sy_buf_add_varint(b, n->install[k].spec);
		sy_buf_add_varint(b, n->install[k].package);
	}
	sy_buf_add_varint(b, n->nroot_specs);
	for (size_t k = 0; k < n->nroot_specs; k++)
		sy_buf_add_varint(b, n->root_specs[k]);
	put_strv(b, &n->unresolved);
	put_strv(b, &n->toolchain);
}

/* Varints of up to 5 bytes: values below 2^35, as every count and index
 * of a graph is. */
#define VARINT_MAX 5

static size_t strv_size(const struct sy_strv *v)
{
	size_t size = VARINT_MAX;

	for (size_t i = 0; i < v->n; i++)
		size += VARINT_MAX + strlen(v->items[i]);
	return size;
}

/* What encoding graph takes at most, so that its buffer is not grown (and
 * copied, its pages touched again) as it fills. */
static size_t encoded_size(const struct planner_graph *graph)
{
	size_t size = VARINT_MAX;

	for (size_t i = 0; i < graph->nspecs; i++) {
		const struct planner_graph_node *n = &graph->nodes[i];
		size += VARINT_MAX * (4 + 2 * n->nbuild_deps + 3 * n->nrun_deps +
				      2 * n->ninstall + n->nroot_specs) +
			strv_size(&n->unresolved) + strv_size(&n->toolchain);
	}
	return size;
}

unsigned char *planner_graphcache_encode(const struct planner_graph *graph, size_t *len)
{
	size_t size = encoded_size(graph);
	struct sy_buf b = { sy_xmalloc(size), 0, size };

	sy_buf_add_varint(&b, graph->nspecs);
	for (size_t i = 0; i < graph->nspecs; i++)
		put_node(&b, &graph->nodes[i]);
	*len = b.len;
	return b.data;
}

/* A decoder: the reader, the specs every index must fit, the graph whose
 * node arrays it makes. */
struct dec {
	struct sy_bufreader r;
	const struct planner_spec *specs;
	size_t nspecs;
	struct planner_graph *graph;
};

/* sy_bufreader_varint, inline for the values of one or two bytes that
 * most of a record is (spec indices of a distribution): millions a plan. */
static inline uint64_t get_varint(struct dec *d)
{
	const unsigned char *p = d->r.p;

	if (d->r.end - p >= 2 && !d->r.bad) {
		if (!(p[0] & 0x80)) {
			d->r.p = p + 1;
			return p[0];
		}
		if (!(p[1] & 0x80)) {
			d->r.p = p + 2;
			return (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
		}
	}
	return sy_bufreader_varint(&d->r);
}

/* A count of items taking at least min_bytes each, or 0 with r.bad set. */
static size_t get_count(struct dec *d, size_t min_bytes)
{
	uint64_t n = get_varint(d);

	if (!d->r.bad && n > (uint64_t)(d->r.end - d->r.p) / min_bytes)
		d->r.bad = 1;
	return d->r.bad ? 0 : (size_t)n;
}

/* A varint below limit, or 0 with r.bad set. */
static size_t get_below(struct dec *d, size_t limit)
{
	uint64_t v = get_varint(d);

	if (v >= limit)
		d->r.bad = 1;
	return d->r.bad ? 0 : (size_t)v;
}

static void get_strv(struct dec *d, struct sy_strv *v)
{
	size_t n = get_count(d, 1);

	for (size_t i = 0; i < n && !d->r.bad; i++) {
		size_t len = get_below(d, (size_t)(d->r.end - d->r.p) + 1);
		if (d->r.bad)
			break;
		sy_strv_push_owned(v, sy_xstrndup((const char *)d->r.p, len));
		d->r.p += len;
	}
}

static void get_node(struct dec *d, size_t i, struct planner_graph_node *n)
{
	const struct planner_spec *s = &d->specs[i];
	struct planner_graph *g = d->graph;

	n->nbuild_deps = get_count(d, 2);
	n->build_deps = planner_graph_node_array(g, n->nbuild_deps, sizeof(size_t));
	n->build_dep_brs = planner_graph_node_array(g, n->nbuild_deps, sizeof(size_t));
	for (size_t k = 0; k < n->nbuild_deps; k++) {
		n->build_deps[k] = get_below(d, d->nspecs);
		n->build_dep_brs[k] = get_below(d, s->buildrequires.n);
	}
	n->nrun_deps = get_count(d, 3);
	n->run_deps = planner_graph_node_array(g, n->nrun_deps, sizeof(size_t));
	n->run_dep_reqs = planner_graph_node_array(g, n->nrun_deps, sizeof(*n->run_dep_reqs));
	for (size_t k = 0; k < n->nrun_deps; k++) {
		n->run_deps[k] = get_below(d, d->nspecs);
		n->run_dep_reqs[k].package = get_below(d, s->npackages);
		n->run_dep_reqs[k].require =
			get_below(d, d->r.bad ? 0 : s->packages[n->run_dep_reqs[k].package].requires.n);
	}
	n->ninstall = get_count(d, 2);
	n->install = planner_graph_node_array(g, n->ninstall, sizeof(*n->install));
	for (size_t k = 0; k < n->ninstall; k++) {
		n->install[k].spec = get_below(d, d->nspecs);
		n->install[k].package = get_below(d, d->r.bad ? 0 : d->specs[n->install[k].spec].npackages);
	}
	n->nroot_specs = get_count(d, 1);
	n->root_specs = planner_graph_node_array(g, n->nroot_specs, sizeof(size_t));
	for (size_t k = 0; k < n->nroot_specs; k++)
		n->root_specs[k] = get_below(d, d->nspecs);
	get_strv(d, &n->unresolved);
	get_strv(d, &n->toolchain);
}

int planner_graphcache_decode(const unsigned char *data, size_t len,
			      const struct planner_spec *specs, size_t nspecs,
			      const struct sy_strv *toolchain, int toolchain_first, const char *arch,
			      const char *learn_repo_dir, struct planner_graph *graph,
			      struct sy_error *err)
{
	struct dec d = { .r = { data, data + len, 0 }, .specs = specs, .nspecs = nspecs,
			 .graph = graph };
	/* Each entry of an array takes a varint (a byte at least) per 8 bytes
	 * of it, and each array one entry more: what the arrays take at most. */
	struct planner_graph_node *nodes = planner_graph_from_nodes_sized(
		specs, nspecs, toolchain, toolchain_first, arch, learn_repo_dir,
		8 * len + 64 * (nspecs + 1), graph);

	if (sy_bufreader_varint(&d.r) != nspecs)
		d.r.bad = 1;
	for (size_t i = 0; i < nspecs && !d.r.bad; i++)
		get_node(&d, i, &nodes[i]);
	if (!d.r.bad && d.r.p == d.r.end)
		return 0;
	planner_graph_release(graph);
	return sy_error_set(err, "graph record: does not fit the specs");
}

/* ------------------------------------------------------------------------ */

struct get {
	const struct planner_spec *specs;
	size_t nspecs;
	const struct sy_strv *toolchain;
	int toolchain_first;
	const char *arch, *learn_repo_dir;
	struct planner_graph *graph;
};

static int use(const void *data, size_t len, void *arg)
{
	struct get *g = arg;
	struct sy_error ignored;

	return planner_graphcache_decode(data, len, g->specs, g->nspecs, g->toolchain,
					 g->toolchain_first, g->arch, g->learn_repo_dir, g->graph,
					 &ignored) == 0
		       ? 1
		       : 2;
}

int planner_graphcache_get(const char *db_path, const char *context,
			   const struct planner_spec *specs, size_t nspecs,
			   const struct sy_strv *toolchain, int toolchain_first, const char *arch,
			   const char *learn_repo_dir, struct planner_graph *graph,
			   struct sy_error *err)
{
	struct get g = { specs, nspecs, toolchain, toolchain_first, arch, learn_repo_dir, graph };
	/* Used in place: no copy of a value of megabytes. */
	int found = state_kv_use(db_path, NS, context, use, &g, err);

	return found < 0 ? -1 : found == 1;
}

int planner_graphcache_put(const char *db_path, const char *context,
			   const struct planner_graph *graph, struct sy_error *err)
{
	size_t len;
	unsigned char *data = planner_graphcache_encode(graph, &len);
	int rc = state_kv_put(db_path, NS, context, data, len, err);

	free(data);
	return rc;
}
