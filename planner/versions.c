#define _GNU_SOURCE
#include "planner/versions.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"

static int is_ident(int c)
{
	return isalnum(c) || c == '_';
}

static int has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len > n && memcmp(s + len - n, suffix, n) == 0;
}

static int names_version_macro(const char *name, size_t len)
{
	return has_suffix(name, len, "_version") || has_suffix(name, len, "_release") ||
	       has_suffix(name, len, "_epoch");
}

void planner_versions_find_refs(const char *text, size_t len, const char *prefix,
			      struct sy_strv *refs)
{
	char *needle = sy_xasprintf("%s_", prefix);
	size_t nlen = strlen(needle);
	const char *end = text + len, *p = text;

	while ((p = memmem(p, (size_t)(end - p), needle, nlen))) {
		const char *q = p, *e = p + nlen;

		while (q > text && (q[-1] == '{' || q[-1] == '?' || q[-1] == '!'))
			q--;
		while (e < end && is_ident((unsigned char)*e))
			e++;
		if (q > text && q[-1] == '%') {
			if (names_version_macro(p, (size_t)(e - p)))
				sy_strv_push_owned(refs, strndup(p, (size_t)(e - p)));
			else if (e < end && *e == '%')
				sy_strv_push(refs, "*");
		}
		p = e;
	}
	free(needle);
	sy_strv_sort_unique(refs);
}

static int cmp_version(const void *a, const void *b)
{
	return strcmp(((const struct planner_version *)a)->name, ((const struct planner_version *)b)->name);
}

static int cmp_version_seq(const void *a, const void *b)
{
	const struct planner_version *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int valid_macro_name(const char *s)
{
	for (; *s; s++)
		if (!is_ident((unsigned char)*s))
			return 0;
	return 1;
}

/* Appends "<prefix>_<base>_<kind>" = value, unless the name is not a macro
 * name or value is empty. v->items has room (3 per spec). */
static void versions_add(struct planner_versions *v, const char *prefix, const char *base,
			const char *kind, const char *value)
{
	size_t p = strlen(prefix), b = strlen(base), k = strlen(kind);
	char *name;

	if (!value || !*value)
		return;
	name = sy_xmalloc(p + b + k + 3);
	memcpy(name, prefix, p);
	name[p] = '_';
	memcpy(name + p + 1, base, b);
	name[p + 1 + b] = '_';
	memcpy(name + p + 2 + b, kind, k + 1);
	if (!valid_macro_name(name)) {
		free(name);
		return;
	}
	v->items[v->n].name = name;
	v->items[v->n].value = sy_xstrdup(value);
	v->items[v->n].seq = v->n;
	v->n++;
}

/* The spec file's basename without ".spec", '-' replaced by '_'. */
static char *spec_macro_base(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *base = sy_xstrdup(slash ? slash + 1 : path);

	base[strlen(base) - 5] = '\0';
	for (char *p = base; *p; p++)
		if (*p == '-')
			*p = '_';
	return base;
}

static void versions_add_spec(struct planner_versions *v, const struct planner_spec *spec,
			     const struct planner_macro_ctx *ctx)
{
	char *base = spec_macro_base(spec->path);
	char *release = sy_xstrdup(spec->release);
	size_t rlen = strlen(release), dlen = strlen(ctx->dist_tag);

	if (dlen && rlen > dlen && strcmp(release + rlen - dlen, ctx->dist_tag) == 0)
		release[rlen - dlen] = '\0';
	versions_add(v, ctx->version_prefix, base, "version", spec->version);
	versions_add(v, ctx->version_prefix, base, "release", release);
	versions_add(v, ctx->version_prefix, base, "epoch", spec->epoch);
	free(release);
	free(base);
}

void planner_versions_build(struct planner_versions *v, const struct planner_index *index)
{
	size_t len = 0, k = 0, at = 0;

	memset(v, 0, sizeof(*v));
	v->items = sy_xcalloc(3 * index->nspecs + 1, sizeof(*v->items));
	for (size_t i = 0; i < index->nspecs; i++)
		if (!index->specs[i].error && index->specs[i].version && index->specs[i].release)
			versions_add_spec(v, &index->specs[i], &index->macros);
	qsort(v->items, v->n, sizeof(*v->items), cmp_version_seq);
	for (size_t i = 0; i < v->n; i++) {
		if (k > 0 && strcmp(v->items[k - 1].name, v->items[i].name) == 0) {
			free(v->items[k - 1].name);
			free(v->items[k - 1].value);
			k--;
		}
		v->items[k++] = v->items[i];
	}
	v->n = k;
	/* One "%<name> <value>\n" line per macro. */
	for (size_t i = 0; i < v->n; i++)
		len += strlen(v->items[i].name) + strlen(v->items[i].value) + 3;
	v->text = sy_xmalloc(len + 1);
	for (size_t i = 0; i < v->n; i++) {
		v->text[at++] = '%';
		at = (size_t)(stpcpy(v->text + at, v->items[i].name) - v->text);
		v->text[at++] = ' ';
		at = (size_t)(stpcpy(v->text + at, v->items[i].value) - v->text);
		v->text[at++] = '\n';
	}
	v->text[at] = '\0';
	sy_sha256_buf(v->text, at, v->digest);
}

void planner_versions_release(struct planner_versions *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->items[i].name);
		free(v->items[i].value);
	}
	free(v->items);
	free(v->text);
	memset(v, 0, sizeof(*v));
}

static const char *versions_get(const struct planner_versions *v, const char *name)
{
	struct planner_version probe = { (char *)name, NULL };
	const struct planner_version *m = bsearch(&probe, v->items, v->n, sizeof(*v->items), cmp_version);

	return m ? m->value : NULL;
}

char *planner_versions_context(const struct planner_macro_ctx *ctx, const struct planner_versions *v,
			   const struct sy_strv *refs)
{
	struct sy_sha256 *h = sy_sha256_new();
	char hex[SY_SHA256_HEX_LEN + 1];

	sy_sha256_update_str(h, "version macros 1");
	sy_sha256_update_str(h, ctx->digest);
	for (size_t i = 0; i < refs->n; i++) {
		const char *value = strcmp(refs->items[i], "*") == 0
					    ? v->digest
					    : versions_get(v, refs->items[i]);

		sy_sha256_update_str(h, refs->items[i]);
		sy_sha256_update_str(h, value ? value : "\x01undefined");
	}
	sy_sha256_final(h, hex);
	return sy_xstrdup(hex);
}

int planner_versions_install(struct planner_macro_ctx *ctx, const struct planner_versions *v,
			   struct sy_error *err)
{
	char *dir = sy_xasprintf("%s/versions-%s", ctx->dir, v->digest);
	char *file = sy_xasprintf("%s/macros.versions", dir);
	int rc = 0;

	if (!sy_exists(file))
		rc = sy_mkdir_p(dir, 0755, err) ||
		     sy_write_file_atomic(file, v->text, strlen(v->text), 0644, err) ? -1 : 0;
	if (rc == 0)
		sy_strv_push_owned(&ctx->macro_files, file);
	else
		free(file);
	free(dir);
	return rc;
}
