/* The index record: a whole spec index (planner/index.h) of one commit kept
 * as one value of the state's kv store (state/kv.h, namespace index-v1; a
 * file, being megabytes), so that a warm plan reads one record instead of
 * listing the spec trees, building the macro context and looking up every
 * spec in the spec cache. A commit id names the content
 * of every tree the index reads; the record's key adds everything else the
 * index is a function of (planner_indexrecord_key). */
#ifndef PLANNER_INDEXRECORD_H
#define PLANNER_INDEXRECORD_H

#include "common/error.h"
#include "common/hash.h"
#include "planner/index.h"
#include "planner/macros.h"

/* Writes into out the key (SHA-256 hex) of the index of commit (hex) read
 * with settings under workdir: the record's format, the commit, every member
 * of settings, workdir (the macro context's files live there), and for
 * settings->installed_rpms the name, size and mtime of every RPM file under
 * it (their macro files join the context). */
void planner_indexrecord_key(const char *commit, const struct planner_macro_settings *settings,
			     const char *workdir, char out[SY_SHA256_HEX_LEN + 1]);

/* Reads the record key from the kv store of the state database at db_path
 * into index (zeroed; its commit must be set), all of it but the excluded
 * reasons (computed by the caller). Specs that prev (an index read before,
 * or NULL) read from the same path, inputs, context and arch are shared with
 * it as planner_index_load_reusing shares them (borrowed, counted in
 * reused): prev must then outlive index. A record missing, one that does
 * not decode or whose macro context files are gone is a miss. Returns 1 on a
 * hit, 0 on a miss (index left zeroed but for its commit), -1 with err when
 * the database cannot be read. */
int planner_indexrecord_get(const char *db_path, const char *key,
			    const struct planner_index *prev, struct planner_index *index,
			    struct sy_error *err);

/* Stores index (fully read, no transient errors) as the record key. Returns
 * 0 or -1 with err. */
int planner_indexrecord_put(const char *db_path, const char *key,
			    const struct planner_index *index, struct sy_error *err);

#endif
