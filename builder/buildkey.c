#include "builder/buildkey.h"

#include <stdlib.h>
#include <string.h>

#include "builder/plan.h"

struct keyer {
	const struct builder_index *index;
	const struct builder_graph *graph;
	char (*own)[SY_SHA256_HEX_LEN + 1];  /* digest of each spec's own inputs */
	char (*keys)[SY_SHA256_HEX_LEN + 1];
	unsigned char *state;                /* 0 new, 1 in progress, 2 done */
};

static void own_inputs(struct keyer *k, size_t i, const char *tree_id, const char *worker_digest)
{
	const struct builder_index *idx = k->index;
	struct sy_sha256 *h = sy_sha256_new();

	sy_sha256_update_str(h, "shipyard build key v1");
	sy_sha256_update_str(h, idx->specs[i].path);
	sy_sha256_update_str(h, tree_id);
	sy_sha256_update_str(h, idx->macros.digest);
	sy_sha256_update_str(h, idx->macros.target_arch);
	sy_sha256_update_str(h, worker_digest);
	sy_sha256_final(h, k->own[i]);
}

static void key_of(struct keyer *k, size_t i)
{
	const struct builder_graph_node *node = &k->graph->nodes[i];
	struct sy_strv deps = SY_STRV_INIT;

	k->state[i] = 1;
	for (size_t j = 0; j < node->ninstall; j++) {
		size_t d = node->install[j].spec;
		if (d == i)
			continue;
		if (k->state[d] == 0)
			key_of(k, d);
		sy_strv_push(&deps, k->state[d] == 2 ? k->keys[d] : k->own[d]);
	}
	sy_strv_sort_unique(&deps);
	struct sy_sha256 *h = sy_sha256_new();
	sy_sha256_update_str(h, k->own[i]);
	for (size_t j = 0; j < deps.n; j++)
		sy_sha256_update_str(h, deps.items[j]);
	sy_sha256_final(h, k->keys[i]);
	sy_strv_release(&deps);
	k->state[i] = 2;
}

int builder_buildkeys_compute(struct gitwatch_repo *repo, const struct builder_index *index,
			      const struct builder_graph *graph, const char *worker_digest,
			      char (*keys)[SY_SHA256_HEX_LEN + 1], struct sy_error *err)
{
	size_t n = index->nspecs;
	struct keyer k = { index, graph, sy_xcalloc(n + 1, sizeof(*k.own)), keys,
			   sy_xcalloc(n + 1, 1) };
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		char tree[GITWATCH_OID_HEX + 1];
		char *dir = builder_path_dir(index->specs[i].path);
		rc = gitwatch_tree_id(repo, index->commit, dir, tree, err);
		free(dir);
		if (rc == 0)
			own_inputs(&k, i, tree, worker_digest);
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (k.state[i] == 0)
			key_of(&k, i);
	free(k.own);
	free(k.state);
	return rc;
}
