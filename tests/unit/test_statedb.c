/* state/db: an empty file gets the latest schema; a state.db made by the
 * release before schema versions (tests/fixtures/state-db-1f6e588.sql) is
 * upgraded in place with its rows intact and readable through the modules
 * that own them; a failed migration leaves the file as it was; a newer
 * version is refused; processes opening a fresh file at once all succeed.
 * The kv store's values unused for days are collected, rows and files,
 * and a read keeps a value (its day stamp moves) without a write when it
 * was already used today. */
#include "testutil.h"

#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>

#include "common/util.h"
#include "forge/outbox.h"
#include "planner/speccache.h"
#include "server/store.h"
#include "state/db.h"
#include "state/kv.h"
#include "state/layout.h"

#define FIXTURE "tests/fixtures/state-db-1f6e588.sql"

/* The tables of STATE_DB_VERSION and what the fixture holds in each. */
static const struct {
	const char *table;
	long fixture_rows;
} tables[] = {
	{ "events", 3 }, { "pipelines", 3 }, { "jobs", 5 }, { "outbox", 7 },
	{ "outbox_final", 3 }, { "spec_cache", 6 }, { "kv", 3 }, { "rebuilds", 0 },
};

/* A fresh state directory and its state.db path. */
struct fixture {
	char *dir;
	char *db;
};

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));

	f->dir = test_tmpdir();
	f->db = state_db_path(f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sy_rm_rf(f->dir, NULL);
	free(f->dir);
	free(f->db);
	free(f);
	return 0;
}

/* Runs sql on path with a plain connection (not state_db_open): the file as
 * another program, or an older shipyard, would leave it. */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", path, msg);
	sqlite3_close(db);
}

/* The first column of the first row of sql as an integer, -1 when no row. */
static long query_long(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static long schema_has(sqlite3 *db, const char *type, const char *name)
{
	char *sql = sy_xasprintf("SELECT count(*) FROM sqlite_master WHERE type = '%s' AND "
				 "name = '%s'", type, name);
	long n = query_long(db, sql);

	free(sql);
	return n;
}

static long rows(sqlite3 *db, const char *table)
{
	char *sql = sy_xasprintf("SELECT count(*) FROM %s", table);
	long n = query_long(db, sql);

	free(sql);
	return n;
}

static int version_of(sqlite3 *db)
{
	struct sy_error err = { { 0 } };
	int version = -1;

	assert_ok(state_db_version(db, &version, &err), &err);
	return version;
}

/* Checks that db holds exactly the tables of STATE_DB_VERSION. */
static void assert_latest_schema(sqlite3 *db)
{
	assert_int_equal(version_of(db), STATE_DB_VERSION);
	for (size_t i = 0; i < LEN(tables); i++)
		assert_int_equal(schema_has(db, "table", tables[i].table), 1);
	assert_int_equal(schema_has(db, "index", "pipelines_state"), 1);
	assert_int_equal(schema_has(db, "index", "outbox_key"), 1);
	assert_int_equal(query_long(db, "SELECT count(*) FROM sqlite_master"
				    " WHERE name GLOB '*_v[0-9]*'"), 0);
}

static void test_statedb_empty_file_gets_the_latest_schema(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	sqlite3 *db;

	assert_ok(state_db_open(f->db, 0, &db, &err), &err);
	assert_latest_schema(db);
	for (size_t i = 0; i < LEN(tables); i++)
		assert_int_equal(rows(db, tables[i].table), 0);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* Opening again finds it up to date; a read-only open takes it too. */
	assert_ok(state_db_open(f->db, STATE_DB_SHARED | STATE_DB_MMAP, &db, &err), &err);
	assert_latest_schema(db);
	sqlite3_close(db);
	assert_ok(state_db_open(f->db, STATE_DB_READONLY, &db, &err), &err);
	assert_latest_schema(db);
	sqlite3_close(db);
}

/* Loads the fixture into a fresh state.db, as the release left it. */
static void load_fixture(const char *path)
{
	struct sy_error err = { { 0 } };
	char *sql;
	size_t len;

	assert_ok(sy_read_file(FIXTURE, &sql, &len, &err), &err);
	raw_exec(path, sql);
	free(sql);
}

/* The rows the store, the outbox, the spec cache and the kv store read. */
static void assert_fixture_rows_readable(const char *path)
{
	struct sy_error err = { { 0 } };
	struct server_store *store;
	struct server_store_pipeline p;
	struct server_store_job *jobs;
	size_t njobs;
	char *value;
	size_t len;

	assert_ok(server_store_open(path, &store, &err), &err);
	assert_int_equal(server_store_get(store, 2, &p, &err), 1);
	assert_string_equal(p.repo, "mini");
	assert_string_equal(p.trigger, "push");
	assert_int_equal(p.state, SERVER_PIPELINE_SUCCESS);
	/* Columns of version 3: neither held nor approved. */
	assert_null(p.held);
	assert_int_equal(p.approves, 0);
	assert_int_equal(p.approved_as, 0);
	assert_null(p.approved_by);
	server_store_pipeline_release(&p);
	assert_ok(server_store_jobs(store, 1, &jobs, &njobs, &err), &err);
	assert_int_equal(njobs, 3);
	for (size_t i = 0; i < njobs; i++) {
		assert_int_equal(jobs[i].state, BUILDER_JOB_BUILT);
		server_store_job_release(&jobs[i]);
	}
	free(jobs);
	server_store_close(store);

	assert_int_equal(state_kv_get(path, "build-seconds-v1",
				      "x86_64:SPECS/filesystem/filesystem.spec", &value, &len, &err),
			 1);
	assert_true(strtod(value, NULL) > 0);
	free(value);
	assert_int_equal(state_kv_get(path, "view-keys-v1",
				      "0be881b1c96ed0ab09f02fd66373713bb789356b7e79466f8e2350ed8f24fb21",
				      &value, &len, &err),
			 1);
	assert_int_equal(len, 4827);
	free(value);
}

static void assert_spec_cache_row_decodes(const char *path, sqlite3 *db)
{
	struct sy_error err = { { 0 } };
	struct planner_speccache *cache;
	struct planner_spec spec;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT blob, path, context, arch FROM spec_cache"
						" WHERE path = 'SPECS/libgreet/libgreet.spec'",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	struct planner_speccache_key key = {
		(const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
		(const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3)
	};
	assert_ok(planner_speccache_open(path, &cache, &err), &err);
	memset(&spec, 0, sizeof(spec));
	assert_int_equal(planner_speccache_get(cache, &key, &spec, &err), 1);
	assert_string_equal(spec.name, "libgreet");
	planner_spec_release(&spec);
	planner_speccache_close(cache);
	sqlite3_finalize(st);
}

/* The outbox goes on numbering after the release's last entry (34): the
 * AUTOINCREMENT counter followed the rename. */
static void assert_outbox_numbering_goes_on(const char *path)
{
	struct sy_error err = { { 0 } };
	struct forge_status_request r = { "2f93b18ea5bc915d8670689b2103f9e8b75b44ce",
					  "shipyard/build", FORGE_PENDING, "queued", NULL };
	struct forge_outbox *ob = forge_outbox_open(path, &err);
	int64_t id;

	assert_non_null(ob);
	assert_int_equal(forge_outbox_pending_count(ob, &err), 0);
	assert_int_equal(forge_outbox_enqueue(ob, "other", &r, &id, &err), 1);
	assert_int_equal(id, 35);
	forge_outbox_close(ob);
}

static void test_statedb_release_state_dir_is_upgraded_in_place(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	sqlite3 *db;

	load_fixture(f->db);
	assert_ok(state_db_open(f->db, 0, &db, &err), &err);
	assert_latest_schema(db);
	for (size_t i = 0; i < LEN(tables); i++)
		assert_int_equal(rows(db, tables[i].table), tables[i].fixture_rows);
	assert_int_equal(query_long(db, "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'"),
			 34);
	assert_int_equal(query_long(db, "SELECT count(*) FROM outbox_final f JOIN outbox o"
					" ON o.id = f.entry AND o.status = 'sent'"),
			 3);
	assert_spec_cache_row_decodes(f->db, db);
	sqlite3_close(db);
	assert_fixture_rows_readable(f->db);
	assert_outbox_numbering_goes_on(f->db);
}

static void test_statedb_failed_migration_leaves_the_file_as_it_was(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	sqlite3 *db;

	/* A table of the next version's name already there: migration 2 cannot
	 * rename kv_v1 to kv, so nothing of 1 or 2 may stay. */
	raw_exec(f->db, "CREATE TABLE kv (x); INSERT INTO kv VALUES (1)");
	assert_int_equal(state_db_open(f->db, 0, &db, &err), -1);
	assert_null(db);
	assert_non_null(strstr(err.msg, "migrating to schema version 2"));
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(version_of(db), 0);
	assert_int_equal(schema_has(db, "table", "kv_v1"), 0);
	assert_int_equal(schema_has(db, "table", "events"), 0);
	assert_int_equal(rows(db, "kv"), 1);
	sqlite3_close(db);
}

static void test_statedb_newer_version_is_refused(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	sqlite3 *db;
	char *want = sy_xasprintf("%s is schema version %d; this shipyard knows up to %d: upgrade"
				  " shipyard", f->db, STATE_DB_VERSION + 1, STATE_DB_VERSION);
	char *future = sy_xasprintf("CREATE TABLE future (x); PRAGMA user_version = %d",
				    STATE_DB_VERSION + 1);

	raw_exec(f->db, future);
	free(future);
	assert_int_equal(state_db_open(f->db, 0, &db, &err), -1);
	assert_null(db);
	assert_string_equal(err.msg, want);
	memset(&err, 0, sizeof(err));
	assert_int_equal(state_db_open(f->db, STATE_DB_READONLY, &db, &err), -1);
	assert_string_equal(err.msg, want);
	/* Nothing was written: no table of this version appeared. */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(version_of(db), STATE_DB_VERSION + 1);
	assert_int_equal(schema_has(db, "table", "events"), 0);
	sqlite3_close(db);
	free(want);
}

static void test_statedb_read_only_open_of_an_old_file_is_refused(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	sqlite3 *db;

	load_fixture(f->db);
	assert_int_equal(state_db_open(f->db, STATE_DB_READONLY, &db, &err), -1);
	assert_non_null(strstr(err.msg, "is schema version 0, older than"));
}

/* One opener of test_statedb_processes_opening_a_fresh_file_at_once...:
 * the file and the read end of the pipe whose end of file starts it. */
struct opener_arg {
	const char *path;
	int started;   /* read end */
	int start;     /* write end: every process must close it */
};

/* Opens path once started reads EOF; exits 0 when the open succeeded and
 * found the latest version. */
static void opener(const char *path, int started)
{
	struct sy_error err = { { 0 } };
	char c;
	sqlite3 *db;

	if (read(started, &c, 1) != 0)
		_exit(2);
	if (state_db_open(path, 0, &db, &err)) {
		fprintf(stderr, "opener %d: %s\n", (int)getpid(), err.msg);
		_exit(1);
	}
	_exit(version_of(db) == STATE_DB_VERSION ? 0 : 3);
}

/* child_fn of an opener. */
static int run_opener(void *arg)
{
	const struct opener_arg *a = arg;

	close(a->start);
	opener(a->path, a->started);
	return 2;
}

static void test_statedb_processes_opening_a_fresh_file_at_once_all_succeed(void **state)
{
	struct fixture *f = *state;

	/* Several rounds: the race (one creating the tables while the other sets
	 * WAL or reads the version) is not met every time. */
	for (int round = 0; round < 10; round++) {
		char *path = sy_xasprintf("%s/race-%d.db", f->dir, round);
		struct sy_child children[3];
		struct sy_error err = { { 0 } };
		int gate[2];

		assert_int_equal(pipe(gate), 0);
		struct opener_arg arg = { path, gate[0], gate[1] };
		for (size_t i = 0; i < LEN(children); i++) {
			children[i] = (struct sy_child)SY_CHILD_INIT;
			children[i].child_fn = run_opener;
			children[i].child_arg = &arg;
			assert_ok(sy_child_start(&children[i], &err), &err);
		}
		close(gate[0]);
		close(gate[1]); /* every opener starts now */
		for (size_t i = 0; i < LEN(children); i++) {
			assert_int_equal(sy_child_finish(&children[i]), 0);
			sy_child_release(&children[i]);
		}
		free(path);
	}
}

/* Reads (ns, key) of f's kv store: 1 and *value, or 0. */
static int kv_value(struct fixture *f, const char *key, char **value, size_t *len)
{
	struct sy_error err = { { 0 } };
	int found = state_kv_get(f->db, "test-v1", key, value, len, &err);

	assert_true(found >= 0);
	return found;
}

static void test_statedb_large_kv_value_is_a_file_and_a_torn_one_is_missing(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	size_t big_len = 300000, len;
	char *big = sy_xmalloc(big_len), *value, *cmd;
	sqlite3 *db;

	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)(i * 7);
	assert_ok(state_kv_put(f->db, "test-v1", "k", "small", 5, &err), &err);
	assert_ok(state_kv_put(f->db, "test-v1", "k", big, big_len, &err), &err);
	assert_int_equal(kv_value(f, "k", &value, &len), 1);
	assert_int_equal(len, big_len);
	assert_memory_equal(value, big, big_len);
	free(value);
	/* A file, and the row it replaced gone. */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(rows(db, "kv"), 0);
	sqlite3_close(db);
	cmd = sy_xasprintf("test $(ls %s/tmp/kv | wc -l) = 1", f->dir);
	test_sh(cmd);
	free(cmd);
	/* Smaller again: a row, which is what is read. */
	assert_ok(state_kv_put(f->db, "test-v1", "k", "small", 5, &err), &err);
	assert_int_equal(kv_value(f, "k", &value, &len), 1);
	assert_int_equal(len, 5);
	free(value);
	/* A file a crash tore (written without fsync) reads as missing. */
	assert_ok(state_kv_put(f->db, "test-v1", "k2", big, big_len, &err), &err);
	cmd = sy_xasprintf("for v in %s/tmp/kv/*; do truncate -s 200000 $v; done", f->dir);
	test_sh(cmd);
	free(cmd);
	assert_int_equal(kv_value(f, "k2", &value, &len), 0);
	assert_null(value);
	free(big);
}

/* Today in the unit of kv's used stamps (days since the epoch). */
static long today(void)
{
	return (long)(time(NULL) / 86400);
}

/* The used stamp of (test-v1, key): -1 when no row, 0 when NULL. */
static long used_of(struct fixture *f, const char *key)
{
	sqlite3 *db;
	char *sql = sy_xasprintf("SELECT coalesce(used, 0) FROM kv WHERE ns = 'test-v1' AND "
				 "key = '%s'", key);
	long v;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	v = query_long(db, sql);
	sqlite3_close(db);
	free(sql);
	return v;
}

/* Puts a value of len bytes (a file from 64 KiB) under (test-v1, key). */
static void kv_put(struct fixture *f, const char *key, size_t len)
{
	struct sy_error err = { { 0 } };
	char *data = sy_xmalloc(len);

	memset(data, 'v', len);
	assert_ok(state_kv_put(f->db, "test-v1", key, data, len, &err), &err);
	free(data);
}

/* Moves the mtime of every file of f's tmp/kv/ days into the past. */
static void age_files(struct fixture *f, int days)
{
	char *cmd = sy_xasprintf("touch -d '%d days ago' %s/tmp/kv/*", days, f->dir);

	test_sh(cmd);
	free(cmd);
}

static void test_statedb_kv_values_unused_for_days_are_collected(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	struct state_kv_collected c;
	char *value, *sql, *cmd;
	size_t len;
	sqlite3 *db;

	kv_put(f, "old-row", 10);
	kv_put(f, "old-file", 100000);
	/* What a writer killed before its rename left, and a file not ours. */
	cmd = sy_xasprintf("cd %s/tmp/kv && echo x >%064d.tmp.123 && echo x >notes", f->dir, 0);
	test_sh(cmd);
	free(cmd);
	age_files(f, 20);
	sql = sy_xasprintf("UPDATE kv SET used = %ld WHERE key = 'old-row';"
			   "INSERT INTO kv (ns, key, value) VALUES ('forge-comment', 'pr/1', '7')",
			   today() - 20);
	raw_exec(f->db, sql);
	free(sql);
	kv_put(f, "new-row", 10);
	kv_put(f, "new-file", 100000);

	/* 0: never. */
	assert_ok(state_kv_collect(f->db, 0, time(NULL), &c, &err), &err);
	assert_int_equal(c.rows + c.files, 0);
	/* Not for 30 days: only the writer's leftover, older than a day. */
	assert_ok(state_kv_collect(f->db, 30, time(NULL), &c, &err), &err);
	assert_int_equal(c.rows, 0);
	assert_int_equal(c.files, 1);
	assert_ok(state_kv_collect(f->db, 14, time(NULL), &c, &err), &err);
	assert_int_equal(c.rows, 1);
	assert_int_equal(c.files, 1);
	assert_true(c.bytes >= 100000);
	/* What was collected reads as a miss; the rest as it was. */
	assert_int_equal(kv_value(f, "old-row", &value, &len), 0);
	assert_int_equal(kv_value(f, "old-file", &value, &len), 0);
	assert_int_equal(kv_value(f, "new-row", &value, &len), 1);
	assert_int_equal(len, 10);
	free(value);
	assert_int_equal(kv_value(f, "new-file", &value, &len), 1);
	assert_int_equal(len, 100000);
	free(value);
	/* The outbox's comment ids have no stamp: never collected. */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(query_long(db, "SELECT count(*) FROM kv WHERE ns = 'forge-comment'"), 1);
	sqlite3_close(db);
	cmd = sy_xasprintf("test -f %s/tmp/kv/notes && test $(ls %s/tmp/kv | wc -l) = 2", f->dir,
			   f->dir);
	test_sh(cmd);
	free(cmd);
}

static void test_statedb_kv_read_keeps_a_value_from_collection(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	struct state_kv_collected c;
	char *value, *sql;
	size_t len;

	kv_put(f, "row", 10);
	kv_put(f, "file", 100000);
	age_files(f, 20);
	sql = sy_xasprintf("UPDATE kv SET used = %ld", today() - 20);
	raw_exec(f->db, sql);
	free(sql);
	assert_int_equal(kv_value(f, "row", &value, &len), 1);
	free(value);
	assert_int_equal(kv_value(f, "file", &value, &len), 1);
	free(value);
	/* A row's stamp waits for the next write (a put here) in memory. */
	assert_int_equal(used_of(f, "row"), today() - 20);
	kv_put(f, "other", 10);
	assert_int_equal(used_of(f, "row"), today());
	assert_ok(state_kv_collect(f->db, 14, time(NULL), &c, &err), &err);
	assert_int_equal(c.rows + c.files, 0);
	assert_int_equal(kv_value(f, "row", &value, &len), 1);
	free(value);
	assert_int_equal(kv_value(f, "file", &value, &len), 1);
	free(value);
}

static void test_statedb_migration_stamps_cache_rows_but_not_comment_ids(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	sqlite3 *db;
	char *sql;

	load_fixture(f->db);
	raw_exec(f->db, "INSERT INTO kv_v1 VALUES ('forge-comment', 'github/1', '42')");
	assert_ok(state_db_open(f->db, 0, &db, &err), &err);
	sql = sy_xasprintf("SELECT count(*) FROM kv WHERE used = %ld", today());
	assert_int_equal(query_long(db, sql), 3);
	assert_int_equal(query_long(db, "SELECT count(*) FROM kv WHERE used IS NULL"
					" AND ns = 'forge-comment'"), 1);
	free(sql);
	sqlite3_close(db);
}

static void test_statedb_kept_kv_value_equals_the_value_read(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	struct state_kv_value v;
	size_t big_len = 300000;
	char *big = sy_xmalloc(big_len), *cmd;

	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)(i * 7);
	assert_ok(state_kv_put(f->db, "test-v1", "small", "value", 5, &err), &err);
	assert_ok(state_kv_put(f->db, "test-v1", "big", big, big_len, &err), &err);
	assert_int_equal(state_kv_keep(f->db, "test-v1", "small", &v, &err), 1);
	assert_int_equal(v.len, 5);
	assert_memory_equal(v.data, "value", 5);
	assert_null(v.map); /* a row: copied */
	state_kv_value_release(&v);
	assert_int_equal(state_kv_keep(f->db, "test-v1", "big", &v, &err), 1);
	assert_int_equal(v.len, big_len);
	assert_memory_equal(v.data, big, big_len);
	assert_non_null(v.map); /* a file: mapped */
	state_kv_value_release(&v);
	assert_int_equal(state_kv_keep(f->db, "test-v1", "none", &v, &err), 0);
	assert_null(v.data);
	state_kv_value_release(&v);
	cmd = sy_xasprintf("for v in %s/tmp/kv/*; do truncate -s 200000 $v; done", f->dir);
	test_sh(cmd);
	free(cmd);
	assert_int_equal(state_kv_keep(f->db, "test-v1", "big", &v, &err), 0); /* torn */
	assert_null(v.map);
	state_kv_value_release(&v);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_statedb_empty_file_gets_the_latest_schema, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_statedb_release_state_dir_is_upgraded_in_place,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_statedb_failed_migration_leaves_the_file_as_it_was, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statedb_newer_version_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_statedb_read_only_open_of_an_old_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_statedb_processes_opening_a_fresh_file_at_once_all_succeed, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_statedb_large_kv_value_is_a_file_and_a_torn_one_is_missing, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_statedb_kv_values_unused_for_days_are_collected,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_statedb_kv_read_keeps_a_value_from_collection,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_statedb_migration_stamps_cache_rows_but_not_comment_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statedb_kept_kv_value_equals_the_value_read,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
