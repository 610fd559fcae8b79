/* The spec cache in SQLite: one table, rows of spec JSON (builder_spec_to_json)
 * keyed by blob, path, macro context and arch. The table name carries the
 * format version: a change of the JSON form gets a new table. */
#include "builder/speccache.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/fs.h"

#define BUSY_TIMEOUT_MS 10000

struct builder_speccache {
	sqlite3 *db;
	char *path;         /* database file, for messages */
	sqlite3_stmt *get;  /* SELECT spec ... WHERE key */
	sqlite3_stmt *put;  /* INSERT OR REPLACE */
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS spec_cache_v1 ("
	" blob TEXT NOT NULL, path TEXT NOT NULL, context TEXT NOT NULL, arch TEXT NOT NULL,"
	" spec TEXT NOT NULL, stored INTEGER NOT NULL DEFAULT (strftime('%s','now')),"
	" PRIMARY KEY (blob, path, context, arch)) WITHOUT ROWID;";

static int db_fail(struct builder_speccache *c, const char *what, struct sy_error *err)
{
	return sy_error_set(err, "%s: %s: %s", c->path, what, sqlite3_errmsg(c->db));
}

static int make_parent(const char *path, struct sy_error *err)
{
	char *dir = sy_xstrdup(path), *slash = strrchr(dir, '/');
	int rc = 0;

	if (slash && slash != dir) {
		*slash = '\0';
		rc = sy_mkdir_p(dir, 0755, err);
	}
	free(dir);
	return rc;
}

int builder_speccache_open(const char *path, struct builder_speccache **out,
			   struct sy_error *err)
{
	struct builder_speccache *c = sy_xcalloc(1, sizeof(*c));

	*out = NULL;
	c->path = sy_xstrdup(path);
	if (make_parent(path, err) != 0)
		goto fail;
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		db_fail(c, "open", err);
		goto fail;
	}
	sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	if (sqlite3_exec(c->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(c, "creating the spec cache", err);
		goto fail;
	}
	if (sqlite3_prepare_v2(c->db,
			       "SELECT spec FROM spec_cache_v1 WHERE blob = ?1 AND path = ?2 AND "
			       "context = ?3 AND arch = ?4",
			       -1, &c->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db,
			       "INSERT OR REPLACE INTO spec_cache_v1 (blob, path, context, arch, "
			       "spec) VALUES (?1, ?2, ?3, ?4, ?5)",
			       -1, &c->put, NULL) != SQLITE_OK) {
		db_fail(c, "preparing statements", err);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	builder_speccache_close(c);
	return -1;
}

static void bind_key(sqlite3_stmt *st, const struct builder_speccache_key *key)
{
	sqlite3_bind_text(st, 1, key->blob, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, key->context, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, key->arch, -1, SQLITE_STATIC);
}

int builder_speccache_get(struct builder_speccache *c, const struct builder_speccache_key *key,
			  struct builder_spec *out, struct sy_error *err)
{
	int step, rc;

	bind_key(c->get, key);
	step = sqlite3_step(c->get);
	if (step == SQLITE_DONE) {
		rc = 0;
	} else if (step != SQLITE_ROW) {
		rc = db_fail(c, "reading the spec cache", err);
	} else {
		const char *text = (const char *)sqlite3_column_text(c->get, 0);
		size_t len = (size_t)sqlite3_column_bytes(c->get, 0);

		out->path = sy_xstrdup(key->path);
		rc = builder_spec_from_json(text ? text : "", len, out, err) == 0 ? 1 : -1;
		if (rc < 0) {
			sy_error_prefix(err, "%s: cached %s", c->path, key->path);
			builder_spec_release(out);
		}
	}
	sqlite3_reset(c->get);
	sqlite3_clear_bindings(c->get);
	return rc;
}

static int put_one(struct builder_speccache *c, const struct builder_speccache_key *key,
		   const struct builder_spec *spec)
{
	char *json = builder_spec_to_json(spec);
	int step;

	bind_key(c->put, key);
	sqlite3_bind_text(c->put, 5, json, -1, free);
	step = sqlite3_step(c->put);
	sqlite3_reset(c->put);
	sqlite3_clear_bindings(c->put);
	return step == SQLITE_DONE ? 0 : -1;
}

int builder_speccache_put(struct builder_speccache *c, const struct builder_speccache_key *keys,
			  const struct builder_spec *const *specs, size_t n, struct sy_error *err)
{
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(c, "writing the spec cache", err);
	for (size_t i = 0; i < n; i++) {
		if (specs[i]->error_transient || put_one(c, &keys[i], specs[i]) == 0)
			continue;
		db_fail(c, keys[i].path, err);
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(c, "committing the spec cache", err);
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

void builder_speccache_close(struct builder_speccache *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->put);
	sqlite3_close(c->db);
	free(c->path);
	free(c);
}
