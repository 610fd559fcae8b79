/* A key to blob store in one SQLite table of the state database (WAL, busy
 * timeout), for caches whose values are computed from content-addressed keys
 * (tree listings by tree id, build keys by commit and context). Values are
 * opaque bytes; a key missing is not an error. The connection to the last
 * database used is kept open for the life of the process (closed at exit):
 * callers in several threads must serialise their calls. */
#ifndef SY_KVSTORE_H
#define SY_KVSTORE_H

#include <stddef.h>

#include "common/error.h"

/* Reads the value of (ns, key) from the database at path into *data
 * (malloc'ed, NUL-terminated; caller frees) and *len (bytes). Returns 1 when
 * found, 0 when not, -1 with err set when the database cannot be read. */
int sy_kv_get(const char *path, const char *ns, const char *key, char **data, size_t *len,
	      struct sy_error *err);

/* Stores len bytes of data as the value of (ns, key), replacing any. Returns
 * 0 or -1 with err set. */
int sy_kv_put(const char *path, const char *ns, const char *key, const void *data, size_t len,
	      struct sy_error *err);

#endif
