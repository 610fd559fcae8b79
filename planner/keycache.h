/* The build keys of a whole commit, cached in state.db, so that the base of a
 * plan (usually the commit planned as head a push earlier) needs neither its
 * graph nor its key computation again. One row per (commit, context): the
 * context digest covers everything keys depend on besides the commit (macro
 * context, arch, worker root, learned provides, rebuild policies,
 * toolchain). */
#ifndef PLANNER_KEYCACHE_H
#define PLANNER_KEYCACHE_H

#include "planner/buildkey.h"
#include "planner/index.h"
#include "common/error.h"

/* Loads the keys stored for context into keys (released with
 * planner_keys_release) if every spec of index is there, in index order.
 * Returns 1 on a hit, 0 on a miss, -1 with err set when the database cannot
 * be read. */
int planner_keycache_get(const char *db_path, const char *context,
			 const struct planner_index *index, struct planner_keys *keys,
			 struct sy_error *err);

/* Stores keys (of the specs of index) under context. Returns 0 or -1. */
int planner_keycache_put(const char *db_path, const char *context,
			 const struct planner_index *index, const struct planner_keys *keys,
			 struct sy_error *err);

#endif
