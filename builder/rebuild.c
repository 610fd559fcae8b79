#include "builder/rebuild.h"

#include <sqlite3.h>
#include <string.h>

#include "common/util.h"
#include "state/db.h"

/* Reads the counter of (name, evr, key) into *counter. Returns 1 when
 * recorded, 0 when not, -1 on an SQLite error. */
static int recorded(sqlite3 *db, const char *name, const char *evr, const char *key,
		    unsigned *counter)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "SELECT counter FROM rebuilds WHERE name = ?1 AND evr = ?2"
				   " AND build_key = ?3", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 2, evr, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC) == SQLITE_OK) {
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW) {
			*counter = (unsigned)sqlite3_column_int64(st, 0);
			rc = 1;
		} else if (step == SQLITE_DONE) {
			rc = 0;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* Records the next counter of (name, evr) for key into *counter: 0 for the
 * first key, else the highest plus one. Returns 0 or -1. */
static int record_next(sqlite3 *db, const char *name, const char *evr, const char *key,
		       unsigned *counter)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "INSERT INTO rebuilds (name, evr, build_key, counter, assigned)"
				   " SELECT ?1, ?2, ?3, coalesce(max(counter) + 1, 0), ?4"
				   " FROM rebuilds WHERE name = ?1 AND evr = ?2"
				   " RETURNING counter", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 2, evr, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_double(st, 4, sy_wall_s()) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*counter = (unsigned)sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(st);
	return rc;
}

int builder_rebuild_counter(const char *db_path, const char *name, const char *evr,
			    const char *key, unsigned *counter, struct sy_error *err)
{
	sqlite3 *db = NULL;
	int found = -1, rc = 0;

	*counter = 0;
	if (state_db_open(db_path, 0, &db, err))
		return -1;
	/* IMMEDIATE: the write lock before the read, so that two pipelines
	 * cannot both read the same highest counter. */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
	    (found = recorded(db, name, evr, key, counter)) < 0 ||
	    (found == 0 && record_next(db, name, evr, key, counter)) ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = sy_error_set(err, "%s: rebuild counter of %s %s: %s", db_path, name, evr,
				  sqlite3_errmsg(db));
		*counter = 0;
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_close(db);
	return rc;
}

const char *builder_rebuild_disturl_suffix(const char *disturl)
{
	size_t n = strlen(BUILDER_REBUILD_DISTURL);

	if (!disturl || strncmp(disturl, BUILDER_REBUILD_DISTURL, n) || !disturl[n])
		return NULL;
	return disturl + n;
}
