/* The spec cache in SQLite: the spec_cache table of state/db.h, rows of specs
 * in a compact binary form keyed by blob, path, macro context and arch. Each
 * row starts with its format byte; a change of the form is a migration of the
 * schema (state/db.c), as was the move from format 1 (planner_spec_to_json
 * text: decoding it was most of a warm plan's time). */
#include "planner/speccache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/buf.h"
#include "common/fs.h"
#include "state/db.h"

#define FORMAT 2

struct planner_speccache {
	sqlite3 *db;
	char *path;         /* database file, for messages */
	sqlite3_stmt *get;  /* SELECT spec ... WHERE key */
	sqlite3_stmt *put;  /* INSERT OR REPLACE */
};

/* ------------------------------------------------------------------------ */
/* Binary form.                                                              */


static void put_str(struct sy_buf *e, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	sy_buf_add_varint(e, s ? (uint64_t)n + 1 : 0);
	if (n)
		sy_buf_add(e, s, n);
}

static void put_deps(struct sy_buf *e, const struct planner_deps *deps)
{
	sy_buf_add_varint(e, deps->n);
	for (size_t i = 0; i < deps->n; i++) {
		put_str(e, deps->items[i].name);
		sy_buf_add_varint(e, (uint32_t)deps->items[i].flags);
		put_str(e, deps->items[i].evr);
	}
}

/* NULL items are left out, as the JSON form does. */
static void put_strv(struct sy_buf *e, const struct sy_strv *v)
{
	size_t n = 0;

	for (size_t i = 0; i < v->n; i++)
		n += v->items[i] != NULL;
	sy_buf_add_varint(e, n);
	for (size_t i = 0; i < v->n; i++)
		if (v->items[i])
			put_str(e, v->items[i]);
}

unsigned char *planner_speccache_encode(const struct planner_spec *spec, size_t *len)
{
	struct sy_buf e = SY_BUF_INIT;
	unsigned char head[2] = { FORMAT, spec->error ? 1 : 0 };

	sy_buf_add(&e, head, sizeof(head));
	if (spec->error) {
		put_str(&e, spec->error);
	} else {
		put_str(&e, spec->name);
		put_str(&e, spec->epoch);
		put_str(&e, spec->version);
		put_str(&e, spec->release);
		sy_buf_add_varint(&e, spec->npackages);
		for (size_t i = 0; i < spec->npackages; i++) {
			const struct planner_package *p = &spec->packages[i];

			put_str(&e, p->name);
			put_str(&e, p->evr);
			put_str(&e, p->arch);
			put_deps(&e, &p->provides);
			put_deps(&e, &p->requires);
		}
		put_deps(&e, &spec->buildrequires);
		put_strv(&e, &spec->sources);
		put_strv(&e, &spec->patches);
		put_strv(&e, &spec->exclusive_arch);
		put_strv(&e, &spec->exclude_arch);
	}
	put_strv(&e, &spec->version_refs);
	*len = e.len;
	return e.data;
}

/* A reader over an encoded record; bad is set once it ran past the end or
 * met a count that cannot be right, after which everything reads as empty. */
struct dec {
	const unsigned char *p, *end;
	int bad;
	char *arena;     /* strings are copied here, one after the other */
	size_t used;     /* bytes of arena taken */
};

static uint64_t get_varint(struct dec *d)
{
	/* Most are one byte (lengths, counts, flags): read in place, as a warm
	 * plan decodes hundreds of thousands of them. */
	if (!d->bad && d->p < d->end && *d->p < 0x80)
		return *d->p++;

	struct sy_bufreader r = { d->p, d->end, d->bad };
	uint64_t v = sy_bufreader_varint(&r);

	d->p = r.p;
	d->bad = r.bad;
	return v;
}

static char *get_str(struct dec *d)
{
	uint64_t n = get_varint(d);
	char *s;

	if (d->bad || n == 0)
		return NULL;
	if (n - 1 > (uint64_t)(d->end - d->p)) {
		d->bad = 1;
		return NULL;
	}
	/* The record holds each string's bytes after a length of at least one
	 * byte, so strings and their NULs fit in an arena of the record's size. */
	s = d->arena + d->used;
	d->used += (size_t)n;
	memcpy(s, d->p, (size_t)n - 1);
	s[n - 1] = '\0';
	d->p += n - 1;
	return s;
}

/* A count of items that take at least min_bytes each. */
static size_t get_count(struct dec *d, size_t min_bytes)
{
	uint64_t n = get_varint(d);

	if (!d->bad && n > (uint64_t)(d->end - d->p) / min_bytes)
		d->bad = 1;
	return d->bad ? 0 : (size_t)n;
}

static void get_deps(struct dec *d, struct planner_deps *deps)
{
	size_t n = get_count(d, 3);

	deps->n = 0;
	deps->items = sy_xcalloc(n + 1, sizeof(*deps->items));
	for (size_t i = 0; i < n && !d->bad; i++) {
		struct planner_dep *dep = &deps->items[deps->n++];

		dep->name = get_str(d);
		dep->flags = (int)(uint32_t)get_varint(d);
		dep->evr = get_str(d);
	}
}

/* The items are allocated exactly: a strv with alloc == n + 1 is valid. */
static void get_strv(struct dec *d, struct sy_strv *v)
{
	size_t n = get_count(d, 1);

	if (!n)
		return;
	v->items = sy_xcalloc(n + 1, sizeof(*v->items));
	v->alloc = n + 1;
	for (size_t i = 0; i < n && !d->bad; i++) {
		char *s = get_str(d);

		if (s)
			v->items[v->n++] = s;
	}
}

static void get_parsed(struct dec *d, struct planner_spec *out)
{
	size_t n;

	out->name = get_str(d);
	out->epoch = get_str(d);
	out->version = get_str(d);
	out->release = get_str(d);
	n = get_count(d, 8);
	out->packages = sy_xcalloc(n + 1, sizeof(*out->packages));
	for (size_t i = 0; i < n && !d->bad; i++) {
		struct planner_package *p = &out->packages[out->npackages++];

		p->name = get_str(d);
		p->evr = get_str(d);
		p->arch = get_str(d);
		get_deps(d, &p->provides);
		get_deps(d, &p->requires);
	}
	get_deps(d, &out->buildrequires);
	get_strv(d, &out->sources);
	get_strv(d, &out->patches);
	get_strv(d, &out->exclusive_arch);
	get_strv(d, &out->exclude_arch);
}

int planner_speccache_decode(const unsigned char *data, size_t len, struct planner_spec *out,
			     struct sy_error *err)
{
	struct dec d = { data, data + len, 0, NULL, 0 };
	char *path = out->path, *excluded = out->excluded;

	if (len < 2 || data[0] != FORMAT || data[1] > 1)
		return sy_error_set(err, "spec record: unknown format");
	d.p += 2;
	out->arena = d.arena = sy_xmalloc(len);
	out->arena_size = len;
	if (data[1]) {
		out->error = get_str(&d);
		if (!out->error)
			d.bad = 1;
	} else {
		get_parsed(&d, out);
	}
	get_strv(&d, &out->version_refs);
	if (!d.bad && d.p == d.end)
		return 0;
	out->path = NULL;
	out->excluded = NULL;
	planner_spec_release(out);
	out->path = path;
	out->excluded = excluded;
	return sy_error_set(err, "spec record: %s", d.bad ? "truncated" : "trailing bytes");
}

/* ------------------------------------------------------------------------ */
/* SQLite.                                                                   */

static int db_fail(struct planner_speccache *c, const char *what, struct sy_error *err)
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

int planner_speccache_open(const char *path, struct planner_speccache **out,
			   struct sy_error *err)
{
	struct planner_speccache *c = sy_xcalloc(1, sizeof(*c));

	*out = NULL;
	c->path = sy_xstrdup(path);
	if (make_parent(path, err) != 0)
		goto fail;
	/* mmap lets a warm plan read its few thousand rows without a read(2)
	 * and a copy per page. */
	if (state_db_open(path, STATE_DB_MMAP, &c->db, err))
		goto fail;
	if (sqlite3_prepare_v2(c->db,
			       "SELECT spec FROM spec_cache WHERE blob = ?1 AND path = ?2 AND "
			       "context = ?3 AND arch = ?4",
			       -1, &c->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db,
			       "INSERT OR REPLACE INTO spec_cache (blob, path, context, arch, "
			       "spec) VALUES (?1, ?2, ?3, ?4, ?5)",
			       -1, &c->put, NULL) != SQLITE_OK) {
		db_fail(c, "preparing statements", err);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	planner_speccache_close(c);
	return -1;
}

static void bind_key(sqlite3_stmt *st, const struct planner_speccache_key *key)
{
	sqlite3_bind_text(st, 1, key->blob, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, key->context, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, key->arch, -1, SQLITE_STATIC);
}

int planner_speccache_get(struct planner_speccache *c, const struct planner_speccache_key *key,
			  struct planner_spec *out, struct sy_error *err)
{
	int step, rc;

	bind_key(c->get, key);
	step = sqlite3_step(c->get);
	if (step == SQLITE_DONE) {
		rc = 0;
	} else if (step != SQLITE_ROW) {
		rc = db_fail(c, "reading the spec cache", err);
	} else {
		const unsigned char *data = sqlite3_column_blob(c->get, 0);
		size_t len = (size_t)sqlite3_column_bytes(c->get, 0);

		out->path = sy_xstrdup(key->path);
		rc = planner_speccache_decode(data ? data : (const unsigned char *)"", len, out,
					      err) == 0
			     ? 1
			     : -1;
		if (rc < 0) {
			sy_error_prefix(err, "%s: cached %s", c->path, key->path);
			planner_spec_release(out);
		}
	}
	sqlite3_reset(c->get);
	return rc;
}

int planner_speccache_get_many(struct planner_speccache *c,
			       const struct planner_speccache_key *keys, size_t n,
			       struct planner_spec *out, unsigned char *hit, struct sy_error *err)
{
	int rc = 0;

	/* One read transaction: one shared lock and one look at the WAL for
	 * all rows, instead of one per row. */
	if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(c, "reading the spec cache", err);
	for (size_t i = 0; i < n && rc == 0; i++) {
		int got = planner_speccache_get(c, &keys[i], &out[i], err);

		hit[i] = got > 0;
		rc = got < 0 ? -1 : 0;
	}
	sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	for (size_t i = 0; rc && i < n; i++)
		if (hit[i]) {
			planner_spec_release(&out[i]);
			hit[i] = 0;
		}
	return rc;
}

static int put_one(struct planner_speccache *c, const struct planner_speccache_key *key,
		   const struct planner_spec *spec)
{
	size_t len;
	unsigned char *data = planner_speccache_encode(spec, &len);
	int step;

	bind_key(c->put, key);
	sqlite3_bind_blob(c->put, 5, data, (int)len, free);
	step = sqlite3_step(c->put);
	sqlite3_reset(c->put);
	sqlite3_clear_bindings(c->put);
	return step == SQLITE_DONE ? 0 : -1;
}

int planner_speccache_put(struct planner_speccache *c, const struct planner_speccache_key *keys,
			  const struct planner_spec *const *specs, size_t n, struct sy_error *err)
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

void planner_speccache_close(struct planner_speccache *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->put);
	sqlite3_close(c->db);
	free(c->path);
	free(c);
}
