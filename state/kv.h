/* A key to blob store in the kv table of the state database (state/db.h),
 * for caches whose values are computed from content-addressed keys (tree
 * listings by tree id, build keys by commit and context, build durations by
 * spec). Values are opaque bytes; a key missing is not an error. Values of
 * 64 KiB and more are files beside the database (tmp/kv/<SHA-256 of ns and
 * key>), written by a rename without fsync and checked by a checksum
 * (XXH3, 64 bits), read mapped in place; smaller ones are rows of its kv
 * table. A value is a row
 * or a file, never both referring to each other: a file missing or torn
 * reads as a miss. The connection to the last database used is kept open
 * for the life of the process (closed at exit): callers in several threads
 * must serialise their calls.
 *
 * Every value carries the day it was last stored or read (a row's used
 * column, a file's mtime), moved on a read at most once a day (the stamps of
 * rows are written in batches), so that state_kv_collect can remove what no
 * plan has used for days: the keys of old commits and contexts. */
#ifndef STATE_KV_H
#define STATE_KV_H

#include <stddef.h>
#include <time.h>

#include "common/error.h"

/* Reads the value of (ns, key) from the database at path into *data
 * (malloc'ed, NUL-terminated; caller frees) and *len (bytes). Returns 1 when
 * found, 0 when not, -1 with err set when the database cannot be read. */
int state_kv_get(const char *path, const char *ns, const char *key, char **data, size_t *len,
		 struct sy_error *err);

/* Like state_kv_get, but hands the value to use(data, len, arg) in place,
 * without a copy (a value of megabytes copied is as many page faults again):
 * data is valid only during the call. Returns -1 with err set when the
 * database cannot be read, 0 when the key is missing (use not called), else
 * what use returned (which must be 1 or more, or -1 with err set). */
int state_kv_use(const char *path, const char *ns, const char *key,
		 int (*use)(const void *data, size_t len, void *arg), void *arg,
		 struct sy_error *err);

/* A value read to be kept: data (len bytes) stays readable until
 * state_kv_value_release. */
struct state_kv_value {
	const void *data;
	size_t len;
	void *map;      /* the file mapped (map_len bytes), or NULL */
	size_t map_len;
	void *copy;     /* a row's value copied, or NULL */
};

/* Like state_kv_use, but the value is kept: a value file stays mapped
 * instead of copied (what is decoded from a value of megabytes may point
 * into it), a row is copied. Returns 1 with *out set (release it with
 * state_kv_value_release), 0 when the key is missing or its file fails its
 * checksum (*out zeroed), -1 with err set when the database cannot be read. */
int state_kv_keep(const char *path, const char *ns, const char *key, struct state_kv_value *out,
		  struct sy_error *err);

/* Unmaps or frees a value of state_kv_keep; a zeroed one is left alone. */
void state_kv_value_release(struct state_kv_value *value);

/* Stores len bytes of data as the value of (ns, key), replacing any. Returns
 * 0 or -1 with err set. */
int state_kv_put(const char *path, const char *ns, const char *key, const void *data, size_t len,
		 struct sy_error *err);

/* What state_kv_collect removed. */
struct state_kv_collected {
	size_t rows;              /* rows of the kv table */
	size_t files;             /* value files (and temporary files a crash left) */
	unsigned long long bytes; /* the files' sizes */
};

/* Removes the values of the kv store of the database at path that were
 * neither stored nor read in the last days days before now (seconds since
 * the epoch; days counted in whole UTC days): the rows by their used stamp,
 * the files of tmp/kv/ by their mtime, with the temporary files older than
 * a day that a writer left. days 0 removes nothing. Rows written by others
 * (no used stamp: forge/outbox.c's pull-request comment ids) are never
 * removed. Uses a connection of its own (safe beside readers in other
 * threads or processes; a value removed under a reader is a cache miss for
 * its next read). Fills *out; returns 0, or -1 with err naming the first
 * thing that could not be removed (the others are still tried). */
int state_kv_collect(const char *path, unsigned days, time_t now, struct state_kv_collected *out,
		     struct sy_error *err);

#endif
