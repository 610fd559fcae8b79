/* The spec cache: what reading a spec gave (planner/spec.h), kept in SQLite
 * (the state directory's state.db, docs/design.md "On disk") so that a plan
 * reads again only the specs whose text or macro context changed. A result
 * is a function of the spec's blob, its path (error messages name it), the
 * macro context it was read with and the target arch: that is the key. */
#ifndef PLANNER_SPECCACHE_H
#define PLANNER_SPECCACHE_H

#include <stddef.h>

#include "planner/spec.h"
#include "common/error.h"

/* An open cache; open with planner_speccache_open, close with
 * planner_speccache_close. Not for use across fork(). */
struct planner_speccache;

/* What a cached result is looked up by. */
struct planner_speccache_key {
	const char *blob;    /* what the spec is read from: planner_index's
			      * spec_inputs digest (hex) of its directory */
	const char *path;    /* its repository path, "SPECS/zlib/zlib.spec" */
	const char *context; /* digest (hex) of the macro context it is read with */
	const char *arch;    /* target arch, "x86_64" */
};

/* Opens the state database at path with state_db_open (creating it and its
 * directory when missing, upgrading its schema when older); the cache is its
 * table spec_cache (state/db.h), specs in the binary form of
 * planner_speccache_encode. Returns 0 and *out, or -1 with err set
 * ("<path>: <SQLite message>"). */
int planner_speccache_open(const char *path, struct planner_speccache **out,
			   struct sy_error *err);

/* Looks key up. On a hit, decodes the stored result into out (which must be
 * zeroed; out->path is set to key->path) and returns 1; returns 0 on a miss
 * (out untouched), -1 with err set when the database cannot be read or the
 * row does not decode. */
int planner_speccache_get(struct planner_speccache *cache, const struct planner_speccache_key *key,
			  struct planner_spec *out, struct sy_error *err);

/* Looks keys[i] up for i < n in one read transaction, as planner_speccache_get
 * does one key: out[i] (zeroed by the caller) is filled and hit[i] set to 1 on
 * a hit, hit[i] is 0 on a miss. Returns 0, or -1 with err set (out holds no
 * allocations then). */
int planner_speccache_get_many(struct planner_speccache *cache,
			       const struct planner_speccache_key *keys, size_t n,
			       struct planner_spec *out, unsigned char *hit, struct sy_error *err);

/* Stores specs[i] under keys[i] for i < n, in one transaction, replacing what
 * was there. Results with error_transient set are skipped. Returns 0 or -1
 * with err set (nothing stored). */
int planner_speccache_put(struct planner_speccache *cache, const struct planner_speccache_key *keys,
			  const struct planner_spec *const *specs, size_t n, struct sy_error *err);

/* Closes the database (NULL is allowed). */
void planner_speccache_close(struct planner_speccache *cache);

/* Encodes what the cache keeps of spec: the fields planner_spec_to_json
 * writes (a spec with error set: error and version_refs only; path, excluded
 * and error_transient never), in a compact binary form: a format byte (2),
 * then each field in the order of struct planner_spec, strings as a LEB128
 * varint of length + 1 (0 for NULL) and the bytes, lists as a varint count
 * and their items, a dependency as name, flags (varint of the unsigned
 * value), evr. Returns a new buffer (caller frees) and its size in *len. */
unsigned char *planner_speccache_encode(const struct planner_spec *spec, size_t *len);

/* Decodes len bytes written by planner_speccache_encode into out (zeroed, or
 * holding only path and excluded, which are kept). The decoded spec equals
 * planner_spec_from_json of planner_spec_to_json of the encoded one. Returns
 * 0, or -1 with err set ("spec record: truncated") and out as it was. */
int planner_speccache_decode(const unsigned char *data, size_t len, struct planner_spec *out,
			     struct sy_error *err);

#endif
