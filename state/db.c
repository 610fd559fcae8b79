#include "state/db.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "common/util.h"

/* How long a connection waits for a lock held by another one. */
#define BUSY_TIMEOUT_MS 10000

/* migrations[v] takes a database from version v to v + 1; the last one
 * reaches STATE_DB_VERSION. They run in one IMMEDIATE transaction with the
 * update of user_version, so a file is at one version or the next, never in
 * between. A migration never loses rows: a format that changes is converted,
 * or its cache emptied when it can be computed again. */
static const char *const migrations[] = {
	/* 1: exactly what the modules of the unversioned release created, so
	 * that a state.db of that release (version 0, some or all of these
	 * tables present) is adopted as is and an empty file gets the same.
	 * spec_cache_v1 held the spec cache as JSON text; it was dropped on
	 * open since format 2. */
	"CREATE TABLE IF NOT EXISTS events ("
	" id INTEGER PRIMARY KEY, delivery TEXT NOT NULL UNIQUE, repo TEXT, kind TEXT,"
	" ref TEXT, sha TEXT, received REAL NOT NULL);"
	"CREATE TABLE IF NOT EXISTS pipelines ("
	" id INTEGER PRIMARY KEY, event INTEGER, repo TEXT NOT NULL, trigger TEXT NOT NULL,"
	" ref TEXT NOT NULL, channel TEXT NOT NULL, base TEXT, head TEXT NOT NULL,"
	" release TEXT, pr INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL,"
	" created REAL NOT NULL, started REAL NOT NULL DEFAULT 0,"
	" finished REAL NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, summary TEXT);"
	"CREATE INDEX IF NOT EXISTS pipelines_state ON pipelines (state, id);"
	"CREATE TABLE IF NOT EXISTS jobs ("
	" pipeline INTEGER NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,"
	" log TEXT, seconds REAL NOT NULL DEFAULT 0, seq INTEGER NOT NULL,"
	" PRIMARY KEY (pipeline, name));"
	"CREATE TABLE IF NOT EXISTS outbox_v1 ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" forge TEXT NOT NULL, sha TEXT NOT NULL, context TEXT NOT NULL, state TEXT NOT NULL,"
	" description TEXT, target_url TEXT,"
	" status TEXT NOT NULL DEFAULT 'queued',"
	" attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL DEFAULT 0,"
	" enqueued_at INTEGER NOT NULL, http_status INTEGER, message TEXT);"
	"CREATE INDEX IF NOT EXISTS outbox_v1_key ON outbox_v1 (status, forge, sha, context);"
	"CREATE TABLE IF NOT EXISTS outbox_final_v1 ("
	" forge TEXT NOT NULL, sha TEXT NOT NULL, context TEXT NOT NULL, state TEXT NOT NULL,"
	" entry INTEGER NOT NULL, accepted_at INTEGER NOT NULL,"
	" PRIMARY KEY (forge, sha, context)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS spec_cache_v2 ("
	" blob TEXT NOT NULL, path TEXT NOT NULL, context TEXT NOT NULL, arch TEXT NOT NULL,"
	" spec BLOB NOT NULL, stored INTEGER NOT NULL DEFAULT (strftime('%s','now')),"
	" PRIMARY KEY (blob, path, context, arch)) WITHOUT ROWID;"
	"DROP TABLE IF EXISTS spec_cache_v1;"
	"CREATE TABLE IF NOT EXISTS kv_v1 (ns TEXT NOT NULL, key TEXT NOT NULL, "
	"value BLOB NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID;",

	/* 2: the version is user_version now, so the table names lose theirs.
	 * RENAME keeps the rows, the indexes and the outbox's AUTOINCREMENT
	 * counter (sqlite_sequence follows the name); an index cannot be
	 * renamed, so the outbox's is made again under its new name. */
	"ALTER TABLE outbox_v1 RENAME TO outbox;"
	"DROP INDEX outbox_v1_key;"
	"CREATE INDEX outbox_key ON outbox (status, forge, sha, context);"
	"ALTER TABLE outbox_final_v1 RENAME TO outbox_final;"
	"ALTER TABLE spec_cache_v2 RENAME TO spec_cache;"
	"ALTER TABLE kv_v1 RENAME TO kv;",

	/* 3: a plan the cascade guard held can be approved through the
	 * service's API, which queues a new pipeline of the same commits with
	 * --approve. Columns with defaults: every existing pipeline reads as
	 * neither held nor approved. */
	"ALTER TABLE pipelines ADD COLUMN held TEXT;"
	"ALTER TABLE pipelines ADD COLUMN approves INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE pipelines ADD COLUMN approved_as INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE pipelines ADD COLUMN approved_by TEXT;"
	"ALTER TABLE pipelines ADD COLUMN approved_at REAL NOT NULL DEFAULT 0;",

	/* 4: builds with another key than the one that produced a published
	 * NEVRA get a Release of their own; the counter of each key is kept
	 * here so that it survives restarts and is the same for every
	 * pipeline that builds the key. A new table: nothing to convert. */
	"CREATE TABLE rebuilds ("
	" name TEXT NOT NULL, evr TEXT NOT NULL, build_key TEXT NOT NULL,"
	" counter INTEGER NOT NULL, assigned REAL NOT NULL,"
	" PRIMARY KEY (name, evr, build_key)) WITHOUT ROWID;",

	/* 5: pipelines people ask for (the API's retry and trigger, a pull
	 * request comment's /shipyard retry or rebuild) record who asked, and
	 * a rebuild the spec it names. NULL in every existing pipeline. */
	"ALTER TABLE pipelines ADD COLUMN rebuild TEXT;"
	"ALTER TABLE pipelines ADD COLUMN requested_by TEXT;",

	/* 6: the value tables become rowid tables with an index on their key.
	 * In a WITHOUT ROWID table the value is part of the key, and SQLite
	 * reads the whole payload of a cell whose payload overflows to compare
	 * keys: a lookup in kv read several values of megabytes (a warm plan's
	 * largest cost), one in spec_cache every large spec it passed. The rows
	 * are copied as they are. */
	"CREATE TABLE kv_new (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,"
	" PRIMARY KEY (ns, key));"
	"INSERT INTO kv_new (ns, key, value) SELECT ns, key, value FROM kv;"
	"DROP TABLE kv;"
	"ALTER TABLE kv_new RENAME TO kv;"
	"CREATE TABLE spec_cache_new ("
	" blob TEXT NOT NULL, path TEXT NOT NULL, context TEXT NOT NULL, arch TEXT NOT NULL,"
	" spec BLOB NOT NULL, stored INTEGER NOT NULL DEFAULT (strftime('%s','now')),"
	" PRIMARY KEY (blob, path, context, arch));"
	"INSERT INTO spec_cache_new (blob, path, context, arch, spec, stored)"
	" SELECT blob, path, context, arch, spec, stored FROM spec_cache;"
	"DROP TABLE spec_cache;"
	"ALTER TABLE spec_cache_new RENAME TO spec_cache;",

	/* 7: kv rows gain used, the day (since the epoch) they were last
	 * stored or read through state/kv.h, which collects the rows no plan
	 * used for days (state_kv_collect). The rows there are count as used
	 * today, but forge/outbox.c's pull-request comment ids: state, not a
	 * cache, they keep no stamp and are never collected. */
	"ALTER TABLE kv ADD COLUMN used INTEGER;"
	"UPDATE kv SET used = CAST(strftime('%s','now') AS INTEGER) / 86400"
	" WHERE ns <> 'forge-comment';",
};

_Static_assert(LEN(migrations) == STATE_DB_VERSION, "one migration per schema version");

/* A busy handler polling every 0.2 ms for the first 10 ms, then every 2 ms.
 * SQLite's own sqlite3_busy_timeout sleeps 1, 2, 5, 10 ... 100 ms between
 * tries, which puts tens of milliseconds on a webhook's answer whenever a
 * runner thread holds the write lock for a moment; the transactions on this
 * file are short, so short steps serve them in turn. */
static int busy_wait(void *arg, int count)
{
	unsigned timeout_ms = (unsigned)(uintptr_t)arg;
	unsigned step_us = count < 50 ? 200 : 2000;
	unsigned long waited_us = count < 50 ? (unsigned long)count * 200
					     : 10000UL + (unsigned long)(count - 50) * 2000;
	struct timespec ts = { 0, (long)step_us * 1000 };

	if (waited_us >= (unsigned long)timeout_ms * 1000)
		return 0;
	nanosleep(&ts, NULL);
	return 1;
}

/* Switches the file to WAL (it stays so: later opens find it done). The
 * switch needs the exclusive lock, and when two connections that both read
 * the file want it, SQLite answers BUSY at once without the busy handler
 * (either waiting for the other would deadlock); the one refused waits here
 * as the busy handler would and tries again. */
static int set_wal(sqlite3 *db)
{
	int rc, count = 0;

	while ((rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL)) == SQLITE_BUSY &&
	       busy_wait((void *)(uintptr_t)BUSY_TIMEOUT_MS, count++))
		;
	return rc;
}

static int db_fail(sqlite3 *db, const char *path, const char *what, struct sy_error *err)
{
	if (what)
		return sy_error_set(err, "%s: %s: %s", path, what, sqlite3_errmsg(db));
	return sy_error_set(err, "%s: %s", path, sqlite3_errmsg(db));
}

int state_db_version(sqlite3 *db, int *version, struct sy_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*version = sqlite3_column_int(st, 0);
		rc = 0;
	} else {
		db_fail(db, sqlite3_db_filename(db, "main"), "reading the schema version", err);
	}
	sqlite3_finalize(st);
	return rc;
}

static int too_new(const char *path, int version, struct sy_error *err)
{
	return sy_error_set(err, "%s is schema version %d; this shipyard knows up to %d: "
				 "upgrade shipyard", path, version, STATE_DB_VERSION);
}

/* Runs the migrations from the version found to STATE_DB_VERSION, in the
 * caller's transaction. */
static int run_migrations(sqlite3 *db, const char *path, int from, struct sy_error *err)
{
	char sql[64];

	for (int v = from; v < STATE_DB_VERSION; v++) {
		if (sqlite3_exec(db, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
			char what[64];

			snprintf(what, sizeof(what), "migrating to schema version %d", v + 1);
			return db_fail(db, path, what, err);
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STATE_DB_VERSION);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, path, "setting the schema version", err);
	return 0;
}

/* Brings the file to STATE_DB_VERSION. The version is read first without a
 * lock, so that opening an up-to-date file (every open but the first) never
 * waits for a writer; it is read again under the write lock, since another
 * opener may have migrated the file in between. */
static int migrate(sqlite3 *db, const char *path, struct sy_error *err)
{
	int version;

	if (state_db_version(db, &version, err))
		return -1;
	if (version == STATE_DB_VERSION)
		return 0;
	if (version > STATE_DB_VERSION)
		return too_new(path, version, err);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, path, "locking for the migration", err);
	if (state_db_version(db, &version, err))
		goto fail;
	if (version > STATE_DB_VERSION) {
		too_new(path, version, err);
		goto fail;
	}
	if (run_migrations(db, path, version, err))
		goto fail;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(db, path, "committing the migration", err);
		goto fail;
	}
	return 0;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* A read-only connection cannot migrate: it takes the file as it is only at
 * the version the queries are written for. */
static int check_version(sqlite3 *db, const char *path, struct sy_error *err)
{
	int version;

	if (state_db_version(db, &version, err))
		return -1;
	if (version > STATE_DB_VERSION)
		return too_new(path, version, err);
	if (version < STATE_DB_VERSION)
		return sy_error_set(err, "%s is schema version %d, older than %d: a read-write "
					 "open upgrades it", path, version, STATE_DB_VERSION);
	return 0;
}

int state_db_open(const char *path, unsigned flags, sqlite3 **db, struct sy_error *err)
{
	int readonly = flags & STATE_DB_READONLY;
	int open_flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

	if (flags & STATE_DB_SHARED)
		open_flags |= SQLITE_OPEN_FULLMUTEX;
	*db = NULL;
	if (sqlite3_open_v2(path, db, open_flags, NULL) != SQLITE_OK) {
		if (*db)
			db_fail(*db, path, NULL, err);
		else
			sy_error_set(err, "%s: out of memory", path);
		goto fail;
	}
	sqlite3_busy_handler(*db, busy_wait, (void *)(uintptr_t)BUSY_TIMEOUT_MS);
	if (!readonly && (set_wal(*db) != SQLITE_OK ||
			  sqlite3_exec(*db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) !=
				  SQLITE_OK)) {
		db_fail(*db, path, NULL, err);
		goto fail;
	}
	if ((flags & STATE_DB_MMAP) &&
	    sqlite3_exec(*db, "PRAGMA mmap_size=268435456", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(*db, path, NULL, err);
		goto fail;
	}
	if (readonly ? check_version(*db, path, err) : migrate(*db, path, err))
		goto fail;
	return 0;
fail:
	sqlite3_close(*db);
	*db = NULL;
	return -1;
}
