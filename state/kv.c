#include "state/kv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "common/fs.h"
#include "common/hash.h"
#include "common/strv.h"
#include "state/db.h"
#include "state/layout.h"

/* Values from this size up are files, not rows: SQLite hands a value that
 * overflows its page over as a fresh copy (a page fault per page, and a
 * write of megabytes through the WAL), a mapped file in place. */
#define FILE_MIN (64u << 10)

/* Rows stamped used today, at most this many at once: the stamps wait in
 * memory to be written in one transaction (the first plan of a day reads
 * thousands of rows; a commit each would cost it more than the reads). */
#define STAMPS_MAX 256

/* Today, in days since the epoch (UTC): the unit of the used stamps. */
static long today(void)
{
	return (long)(time(NULL) / 86400);
}

/* ------------------------------------------------------------------------ */
/* Large values: files.                                                      */

/* The file of (ns, key) of the database at path (<state>/state.db), named
 * by the SHA-256 of ns and key (keys may hold any character). */
static char *value_path(const char *path, const char *ns, const char *key)
{
	const char *slash = strrchr(path, '/');
	char *state = slash ? sy_xstrndup(path, (size_t)(slash - path)) : sy_xstrdup(".");
	char hex[SY_SHA256_HEX_LEN + 1], *file;
	struct sy_sha256 *h = sy_sha256_new();

	sy_sha256_update_str(h, ns);
	sy_sha256_update(h, "", 1);
	sy_sha256_update_str(h, key);
	sy_sha256_final(h, hex);
	file = state_kv_file(state, hex);
	free(state);
	return file;
}

/* The checksum ending a value file: XXH3's 64 bits (libxxhash, inlined:
 * no library to load at start). Files are written without fsync(2),
 * caches, and one a crash left torn must read as missing, at a cost well
 * under a millisecond for the megabytes a plan maps (the byte-serial hash
 * before it cost a warm plan 2 to 3 ms). */
static uint64_t checksum(const void *p, size_t len)
{
	return XXH3_64bits(p, len);
}

/* Maps the value file whole into *map (*size bytes, checksum included):
 * 1, or 0 when there is no such file or it fails its checksum. */
static int map_file(const char *file, void **map, size_t *size)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC), rc = 0;
	struct stat st;
	uint64_t sum;

	if (fd < 0)
		return 0;
	/* Populated in one go: page by page, the faults cost more than
	 * decoding the value. */
	if (fstat(fd, &st) == 0 && (size_t)st.st_size > sizeof(sum) &&
	    (*map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd,
			 0)) != MAP_FAILED) {
		size_t len = (size_t)st.st_size - sizeof(sum);

		memcpy(&sum, (const unsigned char *)*map + len, sizeof(sum));
		*size = (size_t)st.st_size;
		rc = sum == checksum(*map, len);
		if (!rc)
			munmap(*map, *size);
		/* The file's mtime is its used stamp: moved to now at most
		 * once a day, so that a read costs no write in the common
		 * case. A failure only makes it collected sooner. */
		else if (st.st_mtime / 86400 < today())
			futimens(fd, NULL);
	}
	close(fd);
	return rc;
}

/* Maps the value file and gives it to use: what use returns, 0 when there
 * is no such file or it fails its checksum. */
static int use_file(const char *file, int (*use)(const void *, size_t, void *), void *arg)
{
	void *map;
	size_t size;
	int rc;

	if (!map_file(file, &map, &size))
		return 0;
	rc = use(map, size - sizeof(uint64_t), arg);
	munmap(map, size);
	return rc;
}

/* Writes the value file through a temporary one renamed over it: a reader
 * sees the old value or the new one. No fsync(2): a cache, and on a busy
 * disk the sync cost a plan tens of milliseconds. */
static int put_file(const char *file, const void *data, size_t len, struct sy_error *err)
{
	char *tmp = sy_xasprintf("%s.tmp.%ld", file, (long)getpid());
	char *dir = sy_xstrndup(file, (size_t)(strrchr(file, '/') - file));
	uint64_t sum = checksum(data, len);
	int fd = -1, rc = -1;

	if (sy_mkdir_p(dir, 0755, err))
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || sy_write_all(fd, data, len) < 0 || sy_write_all(fd, &sum, sizeof(sum)) < 0 ||
	    close(fd) < 0 || rename(tmp, file) < 0) {
		sy_error_set(err, "%s: cannot write: %s", file, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(dir);
	free(tmp);
	return rc;
}

/* The last database opened, kept open: a plan reads a few values from the
 * same state.db, and opening it (with its version check) costs more than the
 * reads. One per process; a different path closes it first. */
static struct {
	char *path;
	sqlite3 *db;
	sqlite3_int64 stamps[STAMPS_MAX]; /* rowids read today, not stamped yet */
	size_t nstamps;
	pid_t pid; /* the process that opened db */
} open_cache;

/* Writes the pending used stamps of the open database in one transaction.
 * Best effort: a stamp lost (the database busy or read-only) makes a row
 * collected sooner, a cache miss at worst. */
static void flush_stamps(void)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = open_cache.db;

	/* A child of a fork must not write through its parent's connection
	 * (SQLite's locks are the parent's): its stamps are dropped. */
	if (!db || !open_cache.nstamps || open_cache.pid != getpid()) {
		open_cache.nstamps = 0;
		return;
	}
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
		if (sqlite3_prepare_v2(db, "UPDATE kv SET used = ?1 WHERE rowid = ?2", -1, &st,
				       NULL) == SQLITE_OK)
			for (size_t i = 0; i < open_cache.nstamps; i++) {
				sqlite3_bind_int64(st, 1, today());
				sqlite3_bind_int64(st, 2, open_cache.stamps[i]);
				sqlite3_step(st);
				sqlite3_reset(st);
			}
		sqlite3_finalize(st);
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
	open_cache.nstamps = 0;
}

/* Notes that the row rowid was read today; written by flush_stamps. */
static void stamp(sqlite3_int64 rowid)
{
	if (open_cache.nstamps == STAMPS_MAX)
		flush_stamps();
	open_cache.stamps[open_cache.nstamps++] = rowid;
}

static void close_cached(void)
{
	flush_stamps();
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
	open_cache.pid = getpid();
	return 0;
}

struct copy {
	char **data;
	size_t *len;
};

static int copy_value(const void *data, size_t len, void *arg)
{
	struct copy *c = arg;

	*c->data = sy_xmalloc(len + 1);
	memcpy(*c->data, data, len);
	(*c->data)[len] = '\0';
	*c->len = len;
	return 1;
}

int state_kv_get(const char *path, const char *ns, const char *key, char **data, size_t *len,
		 struct sy_error *err)
{
	struct copy c = { data, len };

	*data = NULL;
	*len = 0;
	return state_kv_use(path, ns, key, copy_value, &c, err);
}

/* A row's value copied into a state_kv_value. */
static int keep_row(const void *data, size_t len, void *arg)
{
	struct state_kv_value *v = arg;

	v->copy = sy_xmalloc(len + 1);
	memcpy(v->copy, data, len);
	v->data = v->copy;
	v->len = len;
	return 1;
}

int state_kv_keep(const char *path, const char *ns, const char *key, struct state_kv_value *out,
		  struct sy_error *err)
{
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (open_db(path, &db, err))
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE ns = ?1 AND key = ?2", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const void *data = sqlite3_column_blob(st, 0);

		rc = keep_row(data ? data : "", (size_t)sqlite3_column_bytes(st, 0), out);
	}
	sqlite3_finalize(st);
	if (rc == 0) {
		char *file = value_path(path, ns, key);

		if (map_file(file, &out->map, &out->map_len)) {
			out->data = out->map;
			out->len = out->map_len - sizeof(uint64_t);
			rc = 1;
		} else {
			out->map = NULL;
		}
		free(file);
	}
	return rc;
}

void state_kv_value_release(struct state_kv_value *value)
{
	if (value->map)
		munmap(value->map, value->map_len);
	free(value->copy);
	memset(value, 0, sizeof(*value));
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
	if (sqlite3_prepare_v2(db, "SELECT value, used, rowid FROM kv WHERE ns = ?1 AND key = ?2",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const void *data = sqlite3_column_blob(st, 0);

		rc = use(data ? data : "", (size_t)sqlite3_column_bytes(st, 0), arg);
		/* Stamped at most once a day: no write on the common read. */
		if (rc > 0 && sqlite3_column_type(st, 1) != SQLITE_NULL &&
		    sqlite3_column_int64(st, 1) < today())
			stamp(sqlite3_column_int64(st, 2));
	}
	sqlite3_finalize(st);
	if (rc == 0) {
		char *file = value_path(path, ns, key);

		rc = use_file(file, use, arg);
		free(file);
	}
	return rc;
}

/* Deletes the row of (ns, key), if there is one. */
static int delete_row(sqlite3 *db, const char *path, const char *ns, const char *key,
		      struct sy_error *err)
{
	sqlite3_stmt *st = NULL;
	int found, rc = 0;

	found = sqlite3_prepare_v2(db, "SELECT 1 FROM kv WHERE ns = ?1 AND key = ?2", -1, &st,
				   NULL) == SQLITE_OK &&
		sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) == SQLITE_OK &&
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC) == SQLITE_OK &&
		sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	st = NULL;
	if (found &&
	    (sqlite3_prepare_v2(db, "DELETE FROM kv WHERE ns = ?1 AND key = ?2", -1, &st, NULL) !=
		     SQLITE_OK ||
	     sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) != SQLITE_OK ||
	     sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC) != SQLITE_OK ||
	     sqlite3_step(st) != SQLITE_DONE))
		rc = sy_error_set(err, "%s: cannot replace %s %s: %s", path, ns, key,
				  sqlite3_errmsg(db));
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
	flush_stamps();
	if (len >= FILE_MIN) {
		char *file = value_path(path, ns, key);

		/* A row would shadow the file: gone first. */
		rc = delete_row(db, path, ns, key, err) || put_file(file, data, len, err) ? -1 : 0;
		free(file);
		return rc;
	}
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO kv (ns, key, value, used) "
			       "VALUES (?1, ?2, ?3, ?4)", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 3, data, (int)len, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, today()) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		rc = sy_error_set(err, "%s: cannot store %s %s: %s", path, ns, key, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Collection.                                                               */

/* A value file's name: 64 hex digits; a writer's temporary one adds
 * ".tmp.<pid>" (*tmp set). Anything else in tmp/kv/ is not ours. */
static int value_name(const char *name, int *tmp)
{
	size_t n = strspn(name, "0123456789abcdef");

	*tmp = n == SY_SHA256_HEX_LEN && !strncmp(name + n, ".tmp.", 5);
	return n == SY_SHA256_HEX_LEN && (name[n] == '\0' || *tmp);
}

/* Removes the value files of dir last used before day cutoff, and the
 * temporary files older than a day (a writer that crashed before its
 * rename). A reader that has a file open or mapped keeps reading it. */
static int collect_files(const char *dir, long cutoff, time_t now,
			 struct state_kv_collected *out, struct sy_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0, tmp;

	if (!d)
		return errno == ENOENT ? 0 : sy_error_set(err, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		struct stat st;
		if (!value_name(e->d_name, &tmp) || fstatat(dirfd(d), e->d_name, &st, 0) ||
		    !S_ISREG(st.st_mode))
			continue;
		if (tmp ? st.st_mtime > now - 86400 : st.st_mtime / 86400 >= cutoff)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0) {
			out->files++;
			out->bytes += (unsigned long long)st.st_size;
		} else if (errno != ENOENT && rc == 0) {
			rc = sy_error_set(err, "%s/%s: cannot remove: %s", dir, e->d_name,
					  strerror(errno));
		}
	}
	closedir(d);
	return rc;
}

/* Deletes the rows last used before day cutoff, in one statement: a reader
 * sees a row or its absence. Rows without a stamp are not caches. */
static int collect_rows(const char *path, long cutoff, struct state_kv_collected *out,
			struct sy_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = 0;

	/* No database: nothing stored (and none made here). */
	if (!sy_exists(path))
		return 0;
	/* A connection of its own: the cached one belongs to the readers. */
	if (state_db_open(path, 0, &db, err))
		return -1;
	if (sqlite3_prepare_v2(db, "DELETE FROM kv WHERE used IS NOT NULL AND used < ?1", -1, &st,
			       NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, cutoff) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		rc = sy_error_set(err, "%s: cannot collect the kv store: %s", path,
				  sqlite3_errmsg(db));
	else
		out->rows += (size_t)sqlite3_changes(db);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

int state_kv_collect(const char *path, unsigned days, time_t now, struct state_kv_collected *out,
		     struct sy_error *err)
{
	const char *slash = strrchr(path, '/');
	char *state = slash ? sy_xstrndup(path, (size_t)(slash - path)) : sy_xstrdup(".");
	char *dir = state_kv_file(state, "");
	long cutoff = (long)(now / 86400) - (long)days;
	struct sy_error e = { { 0 } };
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (days) {
		/* Rows and files are apart (a value is one or the other): a
		 * crash between the two leaves nothing inconsistent. */
		rc = collect_rows(path, cutoff, out, err);
		dir[strlen(dir) - 1] = '\0';
		if (collect_files(dir, cutoff, now, out, &e) && rc == 0)
			rc = sy_error_set(err, "%s", e.msg);
	}
	free(dir);
	free(state);
	return rc;
}
