#include "planner/indexrecord.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/fs.h"
#include "planner/rootmacros.h"
#include "planner/speccache.h"
#include "state/kv.h"

/* The namespace names the format: a change of the form is a new namespace
 * (old records are then never read). */
#define NS "index-v1"

/* ------------------------------------------------------------------------ */
/* Key.                                                                      */

static void hash_str(struct sy_sha256 *h, const char *s)
{
	/* NULL and "" differ: a tag byte before each. */
	sy_sha256_update(h, s ? "s" : "n", 1);
	sy_sha256_update_str(h, s ? s : "");
}

static void hash_list(struct sy_sha256 *h, const char *const *v)
{
	size_t n = 0;
	char count[32];

	while (v && v[n])
		n++;
	snprintf(count, sizeof(count), "%s%zu", v ? "list " : "none ", n);
	sy_sha256_update_str(h, count);
	for (size_t i = 0; i < n; i++)
		hash_str(h, v[i]);
}

/* The RPM files under dir by name, size and mtime. */
static void hash_rpms(struct sy_sha256 *h, const char *dir)
{
	struct sy_strv rpms = SY_STRV_INIT;
	struct stat st;
	char line[96];

	hash_str(h, dir);
	if (!dir)
		return;
	planner_rootmacros_list_rpms(dir, &rpms);
	for (size_t i = 0; i < rpms.n; i++) {
		if (stat(rpms.items[i], &st))
			memset(&st, 0, sizeof(st));
		snprintf(line, sizeof(line), "%lld %lld.%09ld", (long long)st.st_size,
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		hash_str(h, rpms.items[i]);
		hash_str(h, line);
	}
	sy_strv_release(&rpms);
}

void planner_indexrecord_key(const char *commit, const struct planner_macro_settings *s,
			     const char *workdir, char out[SY_SHA256_HEX_LEN + 1])
{
	struct sy_sha256 *h = sy_sha256_new();

	hash_str(h, NS);
	hash_str(h, commit);
	hash_str(h, workdir);
	hash_str(h, s->macros_dir);
	hash_list(h, s->spec_trees);
	hash_str(h, s->target_arch);
	hash_str(h, s->dist_tag);
	hash_list(h, s->defines);
	hash_str(h, s->shipped_macros);
	hash_str(h, s->worker_manifest);
	hash_rpms(h, s->installed_rpms);
	hash_list(h, s->worker_rpms);
	hash_str(h, s->worker_digest);
	hash_str(h, s->version_prefix);
	sy_sha256_final(h, out);
}

/* ------------------------------------------------------------------------ */
/* Encoding.                                                                 */

/* sy_buf_add, in place when the bytes fit (the buffer is allocated at about
 * the record's size): a record is written in tens of thousands of pieces. */
static inline void add(struct sy_buf *b, const void *data, size_t n)
{
	if (n && b->len + n <= b->alloc) {
		memcpy(b->data + b->len, data, n);
		b->len += n;
	} else {
		sy_buf_add(b, data, n);
	}
}

/* sy_buf_add_varint, a one-byte varint (most of them) in place. */
static inline void add_varint(struct sy_buf *b, uint64_t v)
{
	if (v < 0x80 && b->len < b->alloc)
		b->data[b->len++] = (unsigned char)v;
	else
		sy_buf_add_varint(b, v);
}

static void put_str(struct sy_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	add_varint(b, s ? (uint64_t)n + 1 : 0);
	if (n)
		add(b, s, n);
}

static void put_strv(struct sy_buf *b, const struct sy_strv *v)
{
	add_varint(b, v->n);
	for (size_t i = 0; i < v->n; i++)
		put_str(b, v->items[i]);
}

/* The value of each hex digit plus one; 0 for other bytes. A table, as an
 * index record holds tens of thousands of ids. */
static const unsigned char hexval[256] = {
	['0'] = 1,   ['1'] = 2,   ['2'] = 3,   ['3'] = 4,   ['4'] = 5,   ['5'] = 6,
	['6'] = 7,   ['7'] = 8,   ['8'] = 9,   ['9'] = 10,  ['a'] = 11,  ['b'] = 12,
	['c'] = 13,  ['d'] = 14,  ['e'] = 15,  ['f'] = 16,
};

/* n hex digits as n / 2 bytes; anything else as zero bytes, and *ok 0. */
static void put_hex(struct sy_buf *b, const char *hex, size_t n, int *ok)
{
	unsigned char raw[64] = { 0 };

	for (size_t i = 0; i < n / 2; i++) {
		unsigned hi = hex ? hexval[(unsigned char)hex[2 * i]] : 0;
		unsigned lo = hi ? hexval[(unsigned char)hex[2 * i + 1]] : 0;

		if (!lo) {
			*ok = 0;
			return;
		}
		raw[i] = (unsigned char)((hi - 1) << 4 | (lo - 1));
	}
	if (hex && hex[n])
		*ok = 0;
	add(b, raw, n / 2);
}

/* Paths sorted by path share long prefixes: each is written as the length
 * it shares with the one before and the rest. */
static void put_path(struct sy_buf *b, const char *prev, const char *path)
{
	size_t same = 0;

	while (prev && prev[same] && prev[same] == path[same])
		same++;
	add_varint(b, same);
	put_str(b, path + same);
}

static void put_ctx(struct sy_buf *b, const struct planner_macro_ctx *c)
{
	put_str(b, c->dir);
	put_strv(b, &c->macro_files);
	put_str(b, c->rpmrc);
	put_str(b, c->lua_dir);
	put_strv(b, &c->defines);
	put_str(b, c->target_arch);
	put_str(b, c->dist_tag);
	put_str(b, c->version_prefix);
	put_str(b, c->macros_dir);
	put_str(b, c->manifest_path);
	add_varint(b, c->manifest.n);
	for (size_t i = 0; i < c->manifest.n; i++) {
		put_str(b, c->manifest.items[i].name);
		put_str(b, c->manifest.items[i].version);
		put_str(b, c->manifest.items[i].release);
		put_str(b, c->manifest.items[i].arch);
	}
	put_str(b, c->rpmdb);
	put_str(b, c->digest);
}

/* The record of index, or NULL when a member does not have the form the
 * record assumes (ids in hex). */
/* About the bytes the record of ix takes: allocated at once, a record of
 * megabytes is not copied from one doubling to the next. */
static size_t record_estimate(const struct planner_index *ix)
{
	size_t n = 4096 + ix->files.n * 64 + ix->nspecs * 128;

	for (size_t i = 0; ix->spec_nbytes && i < ix->nspecs; i++)
		n += ix->spec_nbytes[i];
	return n;
}

static unsigned char *encode(const struct planner_index *ix, size_t *len)
{
	struct sy_buf b = SY_BUF_INIT;
	int ok = 1;

	b.alloc = record_estimate(ix);
	b.data = sy_xmalloc(b.alloc);

	put_ctx(&b, &ix->macros);
	add_varint(&b, ix->versioned);
	add_varint(&b, ix->files.n);
	for (size_t i = 0; i < ix->files.n; i++) {
		const struct gitwatch_entry *e = &ix->files.items[i];

		put_path(&b, i ? ix->files.items[i - 1].path : NULL, e->path);
		add_varint(&b, e->mode);
		put_hex(&b, e->oid, GITWATCH_OID_HEX, &ok);
	}
	add_varint(&b, ix->nspecs);
	for (size_t i = 0; i < ix->nspecs && ok; i++) {
		/* A spec shared with an index decoded from a record is written
		 * as that record holds it: what encoding it again would give. */
		const unsigned char *kept = ix->spec_bytes ? ix->spec_bytes[i] : NULL;
		size_t n = kept ? ix->spec_nbytes[i] : 0;
		unsigned char *spec = kept ? NULL : planner_speccache_encode(&ix->specs[i], &n);
		int same = !strcmp(ix->spec_contexts[i], ix->macros.digest);

		put_path(&b, i ? ix->specs[i - 1].path : NULL, ix->specs[i].path);
		put_hex(&b, ix->spec_inputs[i], SY_SHA256_HEX_LEN, &ok);
		put_str(&b, same ? NULL : ix->spec_contexts[i]);
		add_varint(&b, n);
		add(&b, kept ? kept : spec, n);
		free(spec);
	}
	if (!ok) {
		sy_buf_release(&b);
		return NULL;
	}
	*len = b.len;
	return b.data;
}

/* ------------------------------------------------------------------------ */
/* Decoding.                                                                 */

struct dec {
	struct sy_bufreader r;
	struct planner_index *ix;
	const struct planner_index *prev; /* specs to share, or NULL */
	size_t at;                        /* where in prev the last one was */
	int keep;                         /* the record's bytes stay: specs point
					   * into them (spec_bytes) */
};

/* sy_bufreader_varint, a one-byte varint (most of them) read in place. */
static uint64_t get_varint(struct dec *d)
{
	if (!d->r.bad && d->r.p < d->r.end && *d->r.p < 0x80)
		return *d->r.p++;
	return sy_bufreader_varint(&d->r);
}

static size_t get_count(struct dec *d, size_t min_bytes)
{
	uint64_t n = get_varint(d);

	if (!d->r.bad && n > (uint64_t)(d->r.end - d->r.p) / min_bytes)
		d->r.bad = 1;
	return d->r.bad ? 0 : (size_t)n;
}

/* The bytes of a string in place (*len of them), or NULL for NULL. */
static const unsigned char *get_bytes(struct dec *d, size_t *len)
{
	uint64_t n = get_varint(d);
	const unsigned char *p = d->r.p;

	*len = 0;
	if (d->r.bad || n == 0)
		return NULL;
	if (n - 1 > (uint64_t)(d->r.end - d->r.p)) {
		d->r.bad = 1;
		return NULL;
	}
	*len = (size_t)n - 1;
	d->r.p += n - 1;
	return p;
}

static char *get_str(struct dec *d)
{
	size_t len;
	const unsigned char *p = get_bytes(d, &len);

	return p ? sy_xstrndup((const char *)p, len) : NULL;
}

static void get_strv(struct dec *d, struct sy_strv *v)
{
	size_t n = get_count(d, 1);

	for (size_t i = 0; i < n && !d->r.bad; i++) {
		char *s = get_str(d);

		if (s)
			sy_strv_push_owned(v, s);
		else
			d->r.bad = 1;
	}
}

static void get_hex(struct dec *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	if ((size_t)(d->r.end - d->r.p) < n / 2) {
		d->r.bad = 1;
		out[0] = '\0';
		return;
	}
	for (size_t i = 0; i < n / 2; i++) {
		out[2 * i] = digits[d->r.p[i] >> 4];
		out[2 * i + 1] = digits[d->r.p[i] & 15];
	}
	out[n] = '\0';
	d->r.p += n / 2;
}

/* A path front-coded against prev (NULL: the first). */
static char *get_path(struct dec *d, const char *prev)
{
	uint64_t same = get_varint(d);
	size_t plen = prev ? strlen(prev) : 0, len;
	const unsigned char *rest;
	char *path;

	if (same > plen)
		d->r.bad = 1;
	rest = get_bytes(d, &len);
	if (d->r.bad || !rest)
		return NULL;
	path = sy_xmalloc((size_t)same + len + 1);
	if (same)
		memcpy(path, prev, (size_t)same);
	memcpy(path + same, rest, len);
	path[same + len] = '\0';
	return path;
}

static void get_ctx(struct dec *d, struct planner_macro_ctx *c)
{
	char *digest;

	c->dir = get_str(d);
	get_strv(d, &c->macro_files);
	c->rpmrc = get_str(d);
	c->lua_dir = get_str(d);
	get_strv(d, &c->defines);
	c->target_arch = get_str(d);
	c->dist_tag = get_str(d);
	c->version_prefix = get_str(d);
	c->macros_dir = get_str(d);
	c->manifest_path = get_str(d);
	c->manifest.n = get_count(d, 4);
	c->manifest.items = sy_xcalloc(c->manifest.n + 1, sizeof(*c->manifest.items));
	for (size_t i = 0; i < c->manifest.n && !d->r.bad; i++) {
		c->manifest.items[i].name = get_str(d);
		c->manifest.items[i].version = get_str(d);
		c->manifest.items[i].release = get_str(d);
		c->manifest.items[i].arch = get_str(d);
	}
	c->rpmdb = get_str(d);
	digest = get_str(d);
	if (!digest || strlen(digest) != SY_SHA256_HEX_LEN || !c->dir || !c->target_arch)
		d->r.bad = 1;
	else
		memcpy(c->digest, digest, sizeof(c->digest));
	free(digest);
}

static void get_files(struct dec *d)
{
	struct gitwatch_entries *f = &d->ix->files;
	size_t n = get_count(d, 3);

	f->items = sy_xcalloc(n + 1, sizeof(*f->items));
	for (size_t i = 0; i < n && !d->r.bad; i++) {
		struct gitwatch_entry *e = &f->items[i];

		e->path = get_path(d, i ? f->items[i - 1].path : NULL);
		if (!e->path)
			break;
		f->n++;
		e->mode = (unsigned)get_varint(d);
		get_hex(d, GITWATCH_OID_HEX, e->oid);
	}
}

/* prev's spec read from the same path, inputs and context, or NULL. Both
 * indexes are sorted by path: the search goes on from where it was. */
static const struct planner_spec *shared(struct dec *d, const char *path, const char *input,
					 const char *context)
{
	const struct planner_index *prev = d->prev;

	if (!prev || strcmp(prev->macros.target_arch, d->ix->macros.target_arch))
		return NULL;
	while (d->at < prev->nspecs && strcmp(prev->specs[d->at].path, path) < 0)
		d->at++;
	if (d->at == prev->nspecs || strcmp(prev->specs[d->at].path, path) ||
	    prev->specs[d->at].error_transient || !prev->spec_inputs[d->at] ||
	    !prev->spec_contexts[d->at] || strcmp(prev->spec_inputs[d->at], input) ||
	    strcmp(prev->spec_contexts[d->at], context ? context : d->ix->macros.digest))
		return NULL;
	return &prev->specs[d->at];
}

/* Spec i: shared with prev when prev read it alike, else decoded. */
static void get_spec(struct dec *d, size_t i)
{
	struct planner_index *ix = d->ix;
	struct planner_spec *spec = &ix->specs[i];
	char hex[SY_SHA256_HEX_LEN + 1], *context, *path;
	const struct planner_spec *same;
	struct sy_error ignored;
	size_t len;

	path = get_path(d, i ? ix->specs[i - 1].path : NULL);
	get_hex(d, SY_SHA256_HEX_LEN, hex);
	context = get_str(d);
	len = get_count(d, 1);
	same = path && !d->r.bad ? shared(d, path, hex, context) : NULL;
	if (same) {
		/* Shared as planner_index_load_reusing shares: not decoded. */
		size_t at = (size_t)(same - d->prev->specs);

		free(path);
		*spec = *same;
		spec->excluded = NULL;
		ix->borrowed[i] = 1;
		ix->reused++;
		ix->spec_bytes[i] = d->prev->spec_bytes ? d->prev->spec_bytes[at] : NULL;
		ix->spec_nbytes[i] = ix->spec_bytes[i] ? d->prev->spec_nbytes[at] : 0;
	} else if (!path || d->r.bad || planner_speccache_decode(d->r.p, len, spec, &ignored)) {
		d->r.bad = 1;
		free(path);
		free(context);
		return;
	} else {
		spec->path = path;
		ix->spec_bytes[i] = d->keep ? d->r.p : NULL;
		ix->spec_nbytes[i] = d->keep ? len : 0;
	}
	d->r.p += len;
	ix->spec_inputs[i] = sy_xstrdup(hex);
	ix->spec_contexts[i] = context ? context : sy_xstrdup(ix->macros.digest);
	ix->nspecs = i + 1;
}

/* 1 when every file and directory the macro context names is still there
 * (a state's tmp/ may have been cleaned since the record was stored). */
static int ctx_on_disk(const struct planner_macro_ctx *c)
{
	if (!sy_exists(c->dir) || (c->rpmrc && !sy_exists(c->rpmrc)) ||
	    (c->lua_dir && !sy_exists(c->lua_dir)) || (c->rpmdb && !sy_exists(c->rpmdb)))
		return 0;
	for (size_t i = 0; i < c->macro_files.n; i++)
		if (!sy_exists(c->macro_files.items[i]))
			return 0;
	return 1;
}

static int decode(const void *data, size_t len, const struct dec *start)
{
	struct dec d = *start;
	struct planner_index *ix = d.ix;
	size_t n;

	d.r = (struct sy_bufreader){ data, (const unsigned char *)data + len, 0 };

	get_ctx(&d, &ix->macros);
	ix->versioned = (size_t)get_varint(&d);
	get_files(&d);
	n = get_count(&d, 2 + SY_SHA256_HEX_LEN / 2);
	ix->specs = sy_xcalloc(n + 1, sizeof(*ix->specs));
	ix->spec_inputs = sy_xcalloc(n + 1, sizeof(char *));
	ix->spec_contexts = sy_xcalloc(n + 1, sizeof(char *));
	ix->borrowed = sy_xcalloc(n + 1, 1);
	ix->spec_bytes = sy_xcalloc(n + 1, sizeof(*ix->spec_bytes));
	ix->spec_nbytes = sy_xcalloc(n + 1, sizeof(*ix->spec_nbytes));
	for (size_t i = 0; i < n && !d.r.bad; i++)
		get_spec(&d, i);
	return !d.r.bad && d.r.p == d.r.end && ctx_on_disk(&ix->macros) ? 1 : 2;
}

static int use(const void *data, size_t len, void *arg)
{
	return decode(data, len, arg);
}

/* Decodes the record kept mapped by the index read first (the base of a
 * plan): its encoded specs are what storing the record of an index sharing
 * them copies (planner_index.spec_bytes). One read sharing another's specs
 * (the head of a warm plan) is not shared from in turn: its own are then
 * encoded again. */
static int get_kept(const char *db_path, const char *key, struct dec *d, struct sy_error *err)
{
	struct state_kv_value v;
	int rc = state_kv_keep(db_path, NS, key, &v, err);

	if (rc == 1)
		rc = decode(v.data, v.len, d);
	if (rc == 1) {
		d->ix->record = sy_xmalloc(sizeof(v));
		*d->ix->record = v;
	} else {
		state_kv_value_release(&v);
	}
	return rc;
}

int planner_indexrecord_get(const char *db_path, const char *key,
			    const struct planner_index *prev, struct planner_index *ix,
			    struct sy_error *err)
{
	char commit[sizeof(ix->commit)];
	struct dec d = { .ix = ix, .prev = prev, .keep = !prev };
	int rc = 0;

	/* No database yet: nothing stored (the spec cache creates it). */
	if (!sy_exists(db_path))
		rc = 0;
	else if (d.keep)
		rc = get_kept(db_path, key, &d, err);
	else
		rc = state_kv_use(db_path, NS, key, use, &d, err);

	if (rc == 1) {
		ix->cache_hits = ix->nspecs + ix->versioned - ix->reused;
		return 1;
	}
	memcpy(commit, ix->commit, sizeof(commit));
	planner_index_release(ix);
	memcpy(ix->commit, commit, sizeof(commit));
	return rc < 0 ? -1 : 0;
}

int planner_indexrecord_put(const char *db_path, const char *key,
			    const struct planner_index *ix, struct sy_error *err)
{
	size_t len;
	unsigned char *data = encode(ix, &len);
	int rc = data ? state_kv_put(db_path, NS, key, data, len, err) : 0;

	free(data);
	return rc;
}
