#include "planner/keycache.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/hash.h"
#include "common/strv.h"
#include "state/kv.h"

/* Fields of one spec in a row: "path\tdigest\tkey\tmetadata\tfiles\n" with
 * the files separated by \x1f. Paths and file lines hold no tabs, newlines
 * or \x1f (git tree names may, in theory: such rows simply miss). */
#define FILE_SEP '\x1f'

static int clean(const char *s)
{
	return !strpbrk(s, "\t\n\x1f");
}

/* Copies a 64-hex field of exactly that length into out; returns 0 or -1. */
static int hex_field(const char *f, size_t len, char out[SY_SHA256_HEX_LEN + 1])
{
	if (len != SY_SHA256_HEX_LEN)
		return -1;
	memcpy(out, f, len);
	out[len] = '\0';
	return 0;
}

/* Parses one line (len bytes, no newline) into keys entry i; returns 0 or
 * -1. */
static int parse_line(const char *line, size_t len, const struct planner_index *index, size_t i,
		      struct planner_keys *keys)
{
	const char *f[5], *end = line + len, *p = line;
	size_t flen[5];
	int nf = 0;

	while (nf < 5) {
		const char *tab = nf < 4 ? memchr(p, '\t', (size_t)(end - p)) : NULL;
		f[nf] = p;
		flen[nf] = (size_t)((tab ? tab : end) - p);
		nf++;
		if (!tab)
			break;
		p = tab + 1;
	}
	if (nf < 4 || strlen(index->specs[i].path) != flen[0] ||
	    memcmp(f[0], index->specs[i].path, flen[0]) ||
	    hex_field(f[1], flen[1], keys->inputs[i].digest) ||
	    hex_field(f[2], flen[2], keys->keys[i]) ||
	    hex_field(f[3], flen[3], keys->inputs[i].metadata))
		return -1;
	for (p = nf == 5 ? f[4] : end; p < end;) {
		const char *sep = memchr(p, FILE_SEP, (size_t)(end - p));
		size_t n = (size_t)((sep ? sep : end) - p);

		if (n)
			sy_strv_push_owned(&keys->inputs[i].files, sy_xstrndup(p, n));
		p = sep ? sep + 1 : end;
	}
	return 0;
}

/* Fills keys from a stored row; the spec count must match the index. */
static int decode(const char *data, size_t len, const struct planner_index *index,
		  struct planner_keys *keys)
{
	const char *p = data, *end = data + len;
	int rc = 0;

	keys->n = index->nspecs;
	keys->inputs = sy_xcalloc(keys->n + 1, sizeof(*keys->inputs));
	keys->keys = sy_xcalloc(keys->n + 1, sizeof(*keys->keys));
	for (size_t i = 0; rc == 0 && i <= keys->n; i++) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((eol ? eol : end) - p);

		if (p >= end)
			rc = -1;
		else if (i == 0)
			rc = hex_field(p, n, keys->global);
		else
			rc = parse_line(p, n, index, i - 1, keys);
		p = eol ? eol + 1 : end;
	}
	if (rc)
		planner_keys_release(keys);
	return rc;
}

struct get {
	const struct planner_index *index;
	struct planner_keys *keys;
};

static int use(const void *data, size_t len, void *arg)
{
	struct get *g = arg;

	return decode(data, len, g->index, g->keys) == 0 ? 1 : 2;
}

int planner_keycache_get(const char *db_path, const char *context,
			 const struct planner_index *index, struct planner_keys *keys,
			 struct sy_error *err)
{
	struct get g = { index, keys };
	int found;

	memset(keys, 0, sizeof(*keys));
	/* Used in place: a commit's keys are megabytes, a copy as many faults. */
	found = state_kv_use(db_path, "view-keys-v1", context, use, &g, err);
	return found < 0 ? -1 : found == 1;
}

static void add_str(struct sy_buf *b, const char *s)
{
	sy_buf_add(b, s, strlen(s));
}

/* The bytes encode writes for keys. */
static size_t encoded_size(const struct planner_index *index, const struct planner_keys *keys)
{
	size_t size = SY_SHA256_HEX_LEN + 1;

	for (size_t i = 0; i < keys->n; i++) {
		size += strlen(index->specs[i].path) + 4 * (SY_SHA256_HEX_LEN + 1) + 1;
		for (size_t k = 0; k < keys->inputs[i].files.n; k++)
			size += strlen(keys->inputs[i].files.items[k]) + 1;
	}
	return size;
}

/* The rows of keys, in one buffer (a commit's keys are megabytes: no
 * string per field), or NULL when a field holds a separator. */
static char *encode(const struct planner_index *index, const struct planner_keys *keys)
{
	/* Sized first: grown as it fills, it would be copied and its pages
	 * touched several times over. */
	size_t size = encoded_size(index, keys);
	struct sy_buf b = { sy_xmalloc(size), 0, size };

	add_str(&b, keys->global);
	for (size_t i = 0; i < keys->n; i++) {
		const struct planner_spec_inputs *in = &keys->inputs[i];
		int ok = clean(index->specs[i].path);
		for (size_t k = 0; ok && k < in->files.n; k++)
			ok = clean(in->files.items[k]);
		if (!ok) {
			sy_buf_release(&b);
			return NULL;
		}
		sy_buf_add(&b, "\n", 1);
		add_str(&b, index->specs[i].path);
		sy_buf_add(&b, "\t", 1);
		add_str(&b, in->digest);
		sy_buf_add(&b, "\t", 1);
		add_str(&b, keys->keys[i]);
		sy_buf_add(&b, "\t", 1);
		add_str(&b, in->metadata);
		sy_buf_add(&b, "\t", 1);
		for (size_t k = 0; k < in->files.n; k++) {
			if (k)
				sy_buf_add(&b, "\x1f", 1);
			add_str(&b, in->files.items[k]);
		}
	}
	sy_buf_add(&b, "", 1);
	return (char *)b.data;
}

int planner_keycache_put(const char *db_path, const char *context,
			 const struct planner_index *index, const struct planner_keys *keys,
			 struct sy_error *err)
{
	char *text = encode(index, keys);
	int rc = text ? state_kv_put(db_path, "view-keys-v1", context, text, strlen(text), err) : 0;

	free(text);
	return rc;
}
