/* The resolved dependency graph of a commit, cached in state.db, so that
 * planning a commit again (a webhook redelivered, a status asked for, the
 * head of the last push planned as the next one's base with its graph) needs
 * no libsolv pool and no resolution: about a third of a warm plan of the
 * whole Azure Linux tree. A graph is a function of the specs read (path,
 * inputs, macro context, what they parsed to), the toolchain, the arch and
 * the published repository learnt from: the context digest covers them all.
 * One row per context, in the kv table (state/kv.h). */
#ifndef PLANNER_GRAPHCACHE_H
#define PLANNER_GRAPHCACHE_H

#include "planner/graph.h"
#include "planner/index.h"
#include "common/error.h"
#include "common/hash.h"

/* Writes into out the digest (hex) of what planner_graph_build makes of
 * index's specs with these arguments (those of planner_graph_build). The
 * specs enter by path, inputs digest, macro context digest, arch exclusion
 * and parse error: a spec read from the same inputs in the same context is
 * the same spec. learn_repo_dir enters by path: published snapshots are
 * never changed once made (repo-publish/publish.h). */
void planner_graphcache_context(const struct planner_index *index, const struct sy_strv *toolchain,
				int toolchain_first, const char *arch, const char *learn_repo_dir,
				char out[SY_SHA256_HEX_LEN + 1]);

/* Encodes graph's nodes (edges, reasons, install lists, unresolved and
 * toolchain BuildRequires) as varints and strings (common/buf.h). Returns a
 * new buffer (caller frees) and its length in *len. */
unsigned char *planner_graphcache_encode(const struct planner_graph *graph, size_t *len);

/* Decodes what planner_graphcache_encode wrote for a graph over specs into
 * graph (planner_graph_from_nodes with the other arguments). Every index is
 * checked against specs: a record that does not fit them is refused.
 * Returns 0, or -1 with err set ("graph record: ...") and graph empty. */
int planner_graphcache_decode(const unsigned char *data, size_t len,
			      const struct planner_spec *specs, size_t nspecs,
			      const struct sy_strv *toolchain, int toolchain_first, const char *arch,
			      const char *learn_repo_dir, struct planner_graph *graph,
			      struct sy_error *err);

/* Loads the graph stored under context (planner_graphcache_context of the
 * same arguments) from the state database at db_path into graph (released
 * with planner_graph_release). Returns 1 on a hit, 0 on a miss or a record
 * that does not decode (it is then made again), -1 with err set when the
 * database cannot be read. */
int planner_graphcache_get(const char *db_path, const char *context,
			   const struct planner_spec *specs, size_t nspecs,
			   const struct sy_strv *toolchain, int toolchain_first, const char *arch,
			   const char *learn_repo_dir, struct planner_graph *graph,
			   struct sy_error *err);

/* Stores graph's nodes under context. Call before anything edits the nodes
 * (a plan appends notes to unresolved BuildRequires). Returns 0 or -1 with
 * err set. */
int planner_graphcache_put(const char *db_path, const char *context,
			   const struct planner_graph *graph, struct sy_error *err);

#endif
