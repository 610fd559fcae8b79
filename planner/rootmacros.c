/* The worker root's macro files: which spec directories ship them, which of
 * those the manifest's packages come from, and their installed form. */
#define _GNU_SOURCE
#include "planner/rootmacros.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"

/* Length of the directory part of path ("SPECS/perl/perl.spec" -> 10). */
static size_t dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? (size_t)(slash - path) : 0;
}

/* The first entry of files at or after prefix (files sorted by path). */
static size_t lower_bound(const struct gitwatch_entries *files, const char *prefix)
{
	size_t lo = 0, hi = files->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(files->items[mid].path, prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Calls fn on every macro file of spec_path's directory until it returns
 * non-zero; returns that value or 0. */
static int each_macro_file(const char *spec_path, const struct gitwatch_entries *files,
			   const char *pattern,
			   int (*fn)(const struct gitwatch_entry *e, void *arg), void *arg)
{
	size_t dlen = dir_len(spec_path);
	char *prefix = sy_xasprintf("%.*s/", (int)dlen, spec_path);
	int rc = 0;

	for (size_t i = lower_bound(files, prefix); i < files->n && rc == 0; i++) {
		const struct gitwatch_entry *e = &files->items[i];
		const char *base = e->path + dlen + 1;

		if (strncmp(e->path, prefix, dlen + 1) != 0)
			break;
		if (!strchr(base, '/') && e->mode != 0120000 &&
		    fnmatch(pattern, base, FNM_PERIOD) == 0)
			rc = fn(e, arg);
	}
	free(prefix);
	return rc;
}

static int found(const struct gitwatch_entry *e, void *arg)
{
	(void)e;
	(void)arg;
	return 1;
}

int planner_rootmacros_is_candidate(const char *spec_path, const struct gitwatch_entries *files,
				    const char *pattern, const char *macros_dir)
{
	size_t dlen = dir_len(spec_path);

	if (!*pattern || !dlen)
		return 0;
	if (macros_dir && strlen(macros_dir) == dlen && !strncmp(spec_path, macros_dir, dlen))
		return 0;
	return each_macro_file(spec_path, files, pattern, found, NULL);
}

int planner_rootmacros_in_manifest(const struct planner_spec *spec,
				   const struct planner_manifest *m)
{
	for (size_t i = 0; i < spec->npackages; i++)
		if (planner_manifest_has(m, spec->packages[i].name))
			return 1;
	return 0;
}

struct add_state {
	struct gitwatch_repo *repo;
	const struct planner_spec *spec;
	struct planner_macro_files *out;
	struct sy_error *err;
};

static int add_one(const struct gitwatch_entry *e, void *arg)
{
	struct add_state *st = arg;
	struct planner_macro_file *f;
	char *data;
	size_t len;

	if (gitwatch_read_blob(st->repo, e->oid, &data, &len, st->err))
		return sy_error_prefix(st->err, "%s", e->path);
	st->out->items = sy_xrealloc(st->out->items, (st->out->n + 1) * sizeof(*st->out->items));
	f = &st->out->items[st->out->n++];
	f->path = sy_xstrdup(e->path);
	f->data = planner_rootmacros_installed_form(data, len, st->spec, &f->len);
	free(data);
	return 0;
}

int planner_rootmacros_add(struct gitwatch_repo *repo, const struct gitwatch_entries *files,
			   const char *pattern, const struct planner_spec *spec,
			   struct planner_macro_files *out, struct sy_error *err)
{
	struct add_state st = { repo, spec, out, err };

	return each_macro_file(spec->path, files, pattern, add_one, &st) ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Installed form.                                                           */

/* The value of placeholder key (between the '@'s) for spec, or NULL. */
static char *placeholder(const char *key, size_t klen, const struct planner_spec *spec,
			 const char *upper_name)
{
	size_t ulen = strlen(upper_name);
	char *v = NULL;

	/* "<NAME>_VERSION" is "VERSION" for the spec called name. */
	if (klen > ulen + 1 && !strncmp(key, upper_name, ulen) && key[ulen] == '_') {
		key += ulen + 1;
		klen -= ulen + 1;
	}
#define IS(k) (klen == strlen(k) && !strncmp(key, k, klen))
	if (IS("NAME"))
		v = sy_xstrdup(spec->name);
	else if (IS("EPOCH"))
		v = sy_xstrdup(spec->epoch ? spec->epoch : "0");
	else if (IS("VERSION"))
		v = sy_xstrdup(spec->version);
	else if (IS("RELEASE"))
		v = sy_xstrdup(spec->release);
	else if (IS("EVR"))
		v = spec->epoch ? sy_xasprintf("%s:%s-%s", spec->epoch, spec->version, spec->release)
				: sy_xasprintf("%s-%s", spec->version, spec->release);
	else if (IS("MAJOR_VERSION"))
		v = sy_xstrndup(spec->version, strcspn(spec->version, "."));
#undef IS
	return v;
}

/* Length of a placeholder at p ("@@KEY@@" or "@KEY@", KEY of [A-Z0-9_]),
 * its key in *key and *klen; 0 when p starts none. */
static size_t match_placeholder(const char *p, const char *end, const char **key, size_t *klen)
{
	int two = p + 1 < end && p[1] == '@';
	const char *k = p + 1 + two, *q = k;

	while (q < end && (isupper((unsigned char)*q) || isdigit((unsigned char)*q) || *q == '_'))
		q++;
	if (q == k || q >= end || *q != '@' || (two && (q + 1 >= end || q[1] != '@')))
		return 0;
	*key = k;
	*klen = (size_t)(q - k);
	return (size_t)(q - p) + 1 + two;
}

char *planner_rootmacros_installed_form(const char *text, size_t len,
					const struct planner_spec *spec, size_t *out_len)
{
	const char *p = text, *end = text + len;
	char *upper = sy_xstrdup(spec->name ? spec->name : ""), *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);

	if (!f)
		abort();
	for (char *u = upper; *u; u++)
		*u = *u == '-' ? '_' : (char)toupper((unsigned char)*u);
	while (p < end) {
		const char *key;
		size_t klen, n = *p == '@' ? match_placeholder(p, end, &key, &klen) : 0;
		char *v = n && spec->version ? placeholder(key, klen, spec, upper) : NULL;

		if (v) {
			fputs(v, f);
			free(v);
			p += n;
		} else {
			fputc(*p++, f);
		}
	}
	fclose(f);
	free(upper);
	*out_len = blen;
	return buf;
}
