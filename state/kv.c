#include "state/kv.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"
#include "state/db.h"

/* The last database opened, kept open: a plan reads a few values from the
 * same state.db, and opening it (with its version check) costs more than the
 * reads. One per process; a different path closes it first. */
static struct {
	char *path;
	sqlite3 *db;
} open_cache;

static void close_cached(void)
{
	sqlite3_close(open_cache.db);
	free(open_cache.path);
	open_cache.db = NULL;
	open_cache.path = NULL;
}

static int open_db(const char *path, sqlite3 **db, struct sy_error *err)
{
	if (open_cache.db && !strcmp(open_cache.path, path)) {
		*db = open_cache.db;
		return 0;
	}
	if (open_cache.db)
		close_cached();
	else
		atexit(close_cached);
	/* Values are large (a spec tree's listing, a commit's keys: megabytes);
	 * mapped, their overflow pages are read without a pread(2) each. */
	if (state_db_open(path, STATE_DB_MMAP, db, err))
		return -1;
	open_cache.db = *db;
	open_cache.path = sy_xstrdup(path);
	return 0;
}

int state_kv_get(const char *path, const char *ns, const char *key, char **data, size_t *len,
		 struct sy_error *err)
{
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int found = 0;

	*data = NULL;
	*len = 0;
	if (open_db(path, &db, err))
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE ns = ?1 AND key = ?2", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*len = (size_t)sqlite3_column_bytes(st, 0);
		*data = sy_xmalloc(*len + 1);
		memcpy(*data, sqlite3_column_blob(st, 0), *len);
		(*data)[*len] = '\0';
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

int state_kv_use(const char *path, const char *ns, const char *key,
		 int (*use)(const void *data, size_t len, void *arg), void *arg,
		 struct sy_error *err)
{
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (open_db(path, &db, err))
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE ns = ?1 AND key = ?2", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const void *data = sqlite3_column_blob(st, 0);

		rc = use(data ? data : "", (size_t)sqlite3_column_bytes(st, 0), arg);
	}
	sqlite3_finalize(st);
	return rc;
}

int state_kv_put(const char *path, const char *ns, const char *key, const void *data, size_t len,
		 struct sy_error *err)
{
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (open_db(path, &db, err))
		return -1;
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO kv VALUES (?1, ?2, ?3)", -1, &st,
			       NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 3, data, (int)len, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		rc = sy_error_set(err, "%s: cannot store %s %s: %s", path, ns, key, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}
