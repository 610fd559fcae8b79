/* Build keys: a digest of everything that determines a build's output (the
 * spec directory's git tree, the spec path, the macro context, the target
 * arch, the worker root, and the keys of the specs whose packages go into its
 * build root). Equal key, equal build: never built twice. */
#ifndef BUILDER_BUILDKEY_H
#define BUILDER_BUILDKEY_H

#include "builder/graph.h"
#include "builder/index.h"
#include "common/error.h"
#include "common/hash.h"
#include "gitwatch/repo.h"

/* Computes the key of every spec of index into keys (index->nspecs entries of
 * SY_SHA256_HEX_LEN + 1 chars). Dependencies inside a build cycle contribute
 * their own inputs but not their keys. Specs with a parse error get the
 * digest of their inputs only. Returns 0 or -1 (tree lookup failed). */
int builder_buildkeys_compute(struct gitwatch_repo *repo, const struct builder_index *index,
			      const struct builder_graph *graph, const char *worker_digest,
			      char (*keys)[SY_SHA256_HEX_LEN + 1], struct sy_error *err);

#endif
