#include "builder/keycache.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"

/* Fields of one spec in a row: "path\tdigest\tkey\tmetadata\tfiles\n" with
 * the files separated by \x1f. Paths and file lines hold no tabs, newlines
 * or \x1f (git tree names may, in theory: such rows simply miss). */
#define FILE_SEP '\x1f'

static int open_db(const char *path, sqlite3 **db, struct sy_error *err)
{
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		sy_error_set(err, "%s: %s", path, sqlite3_errmsg(*db));
		sqlite3_close(*db);
		return -1;
	}
	sqlite3_busy_timeout(*db, 10000);
	if (sqlite3_exec(*db, "PRAGMA journal_mode=WAL;"
			      "CREATE TABLE IF NOT EXISTS view_keys_v1 (context TEXT PRIMARY KEY, "
			      "nspecs INTEGER, data BLOB)", NULL, NULL, NULL) != SQLITE_OK) {
		sy_error_set(err, "%s: %s", path, sqlite3_errmsg(*db));
		sqlite3_close(*db);
		return -1;
	}
	return 0;
}

static int clean(const char *s)
{
	return !strpbrk(s, "\t\n\x1f");
}

/* Parses one line into keys entry i; returns 0 or -1. */
static int parse_line(char *line, const struct builder_index *index, size_t i,
		      struct builder_keys *keys)
{
	char *f[5], *save = NULL;

	for (int k = 0; k < 5; k++) {
		f[k] = strtok_r(k ? NULL : line, "\t", &save);
		if (!f[k] && k < 4)
			return -1;
	}
	if (strcmp(f[0], index->specs[i].path) || strlen(f[1]) != SY_SHA256_HEX_LEN ||
	    strlen(f[2]) != SY_SHA256_HEX_LEN || strlen(f[3]) != SY_SHA256_HEX_LEN)
		return -1;
	memcpy(keys->inputs[i].digest, f[1], SY_SHA256_HEX_LEN + 1);
	memcpy(keys->keys[i], f[2], SY_SHA256_HEX_LEN + 1);
	memcpy(keys->inputs[i].metadata, f[3], SY_SHA256_HEX_LEN + 1);
	for (char *p = f[4], *next; p && *p; p = next) {
		next = strchr(p, FILE_SEP);
		if (next)
			*next++ = '\0';
		sy_strv_push(&keys->inputs[i].files, p);
	}
	return 0;
}

static int decode(const char *data, int len, const struct builder_index *index,
		  struct builder_keys *keys)
{
	char *text = sy_xmalloc((size_t)len + 1), *save = NULL, *line;
	size_t i = 0;
	int rc = 0;

	memcpy(text, data, (size_t)len);
	text[len] = '\0';
	keys->n = index->nspecs;
	keys->inputs = sy_xcalloc(keys->n + 1, sizeof(*keys->inputs));
	keys->keys = sy_xcalloc(keys->n + 1, sizeof(*keys->keys));
	line = strtok_r(text, "\n", &save);
	if (!line || strlen(line) != SY_SHA256_HEX_LEN)
		rc = -1;
	else
		memcpy(keys->global, line, SY_SHA256_HEX_LEN + 1);
	for (; rc == 0 && i < keys->n; i++) {
		line = strtok_r(NULL, "\n", &save);
		rc = line ? parse_line(line, index, i, keys) : -1;
	}
	free(text);
	if (rc)
		builder_keys_release(keys);
	return rc;
}

int builder_keycache_get(const char *db_path, const char *context,
			 const struct builder_index *index, struct builder_keys *keys,
			 struct sy_error *err)
{
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int hit = 0;

	memset(keys, 0, sizeof(*keys));
	if (open_db(db_path, &db, err))
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT nspecs, data FROM view_keys_v1 WHERE context = ?", -1,
			       &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, context, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW &&
	    (size_t)sqlite3_column_int64(st, 0) == index->nspecs)
		hit = decode(sqlite3_column_blob(st, 1), sqlite3_column_bytes(st, 1), index, keys) == 0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return hit;
}

static char *encode(const struct builder_index *index, const struct builder_keys *keys)
{
	struct sy_strv lines = SY_STRV_INIT;

	sy_strv_push(&lines, keys->global);
	for (size_t i = 0; i < keys->n; i++) {
		const struct builder_spec_inputs *in = &keys->inputs[i];
		int ok = clean(index->specs[i].path);
		for (size_t k = 0; ok && k < in->files.n; k++)
			ok = clean(in->files.items[k]);
		if (!ok) {
			sy_strv_release(&lines);
			return NULL;
		}
		char *files = sy_strv_join(&in->files, "\x1f");
		sy_strv_pushf(&lines, "%s\t%s\t%s\t%s\t%s", index->specs[i].path, in->digest,
			      keys->keys[i], in->metadata, files);
		free(files);
	}
	char *text = sy_strv_join(&lines, "\n");
	sy_strv_release(&lines);
	return text;
}

int builder_keycache_put(const char *db_path, const char *context,
			 const struct builder_index *index, const struct builder_keys *keys,
			 struct sy_error *err)
{
	char *text = encode(index, keys);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (!text)
		return 0;
	if (open_db(db_path, &db, err)) {
		free(text);
		return -1;
	}
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO view_keys_v1 VALUES (?, ?, ?)", -1, &st,
			       NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, context, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)index->nspecs) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 3, text, (int)strlen(text), SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		rc = sy_error_set(err, "%s: cannot store build keys: %s", db_path, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(text);
	return rc;
}
