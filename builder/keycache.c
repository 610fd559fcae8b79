#include "builder/keycache.h"

#include <stdlib.h>
#include <string.h>

#include "common/kvstore.h"
#include "common/strv.h"

/* Fields of one spec in a row: "path\tdigest\tkey\tmetadata\tfiles\n" with
 * the files separated by \x1f. Paths and file lines hold no tabs, newlines
 * or \x1f (git tree names may, in theory: such rows simply miss). */
#define FILE_SEP '\x1f'

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

/* Fills keys from a stored row; the spec count must match the index. */
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
	char *data;
	size_t len;
	int found;

	memset(keys, 0, sizeof(*keys));
	found = sy_kv_get(db_path, "view-keys-v1", context, &data, &len, err);
	if (found <= 0)
		return found;
	found = decode(data, (int)len, index, keys) == 0;
	free(data);
	return found;
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
	int rc = text ? sy_kv_put(db_path, "view-keys-v1", context, text, strlen(text), err) : 0;

	free(text);
	return rc;
}
