/* The worker root's macro files: which spec directories ship them, which of
 * those the manifest's packages come from, and their installed form. */
#define _GNU_SOURCE
#include "planner/rootmacros.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmts.h>

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

/* ------------------------------------------------------------------------ */
/* Built RPMs.                                                               */

/* The largest macro file taken from an RPM. */
#define BUILT_MACRO_MAX (1u << 20)

/* Appends the *.rpm files under dir, at most 4 levels deep, to rpms. */
static void list_rpms(const char *dir, int depth, struct sy_strv *rpms)
{
	DIR *d = depth < 4 ? opendir(dir) : NULL;
	struct dirent *de;

	while (d && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char *path;

		if (de->d_name[0] == '.')
			continue;
		path = sy_xasprintf("%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR)
			list_rpms(path, depth + 1, rpms);
		else if (len > 4 && !strcmp(de->d_name + len - 4, ".rpm"))
			sy_strv_push(rpms, path);
		free(path);
	}
	if (d)
		closedir(d);
}

void planner_rootmacros_list_rpms(const char *dir, struct sy_strv *rpms)
{
	list_rpms(dir, 0, rpms);
	sy_strv_sort_unique(rpms);
}

/* 1 when the RPM file at path (by its file name) is of one of spec's
 * packages that m lists. */
static int rpm_of(const char *path, const struct planner_spec *spec,
		  const struct planner_manifest *m)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct planner_manifest one;
	struct sy_error err = { { 0 } };
	int of = 0;

	if (planner_manifest_parse("rpm", base, strlen(base), &one, &err))
		return 0;
	for (size_t i = 0; one.n == 1 && i < spec->npackages && !of; i++)
		of = !strcmp(spec->packages[i].name, one.items[0].name) &&
		     planner_manifest_has(m, one.items[0].name) && strcmp(one.items[0].arch, "src");
	planner_manifest_release(&one);
	return of;
}

/* 1 when an archive path is an installed macro file called base:
 * ".../macros.d/<base>" (rpm's %_rpmmacrodir). */
static int is_installed_macro(const char *path, const char *base)
{
	const char *slash = strrchr(path, '/');

	return slash && !strcmp(slash + 1, base) && (size_t)(slash - path) >= 9 &&
	       !strncmp(slash - 9, "/macros.d", 9);
}

/* 1 when the header of rpm lists an installed macro file called base: the
 * header is small, a payload is not read unless it holds the file. */
static int rpm_lists(const char *rpm, const char *base)
{
	rpmts ts = rpmtsCreate();
	FD_t fd = Fopen(rpm, "r.ufdio");
	Header h = NULL;
	int found = 0;

	rpmtsSetVSFlags(ts, RPMVSF_MASK_NODIGESTS | RPMVSF_MASK_NOSIGNATURES);
	if (fd && !Ferror(fd)) {
		rpmRC rc = rpmReadPackageFile(ts, fd, rpm, &h);
		rpmtd td = rpmtdNew();
		const char *fn;

		if ((rc == RPMRC_OK || rc == RPMRC_NOTTRUSTED || rc == RPMRC_NOKEY) &&
		    headerGet(h, RPMTAG_FILENAMES, td, HEADERGET_EXT)) {
			while (!found && (fn = rpmtdNextString(td)))
				found = is_installed_macro(fn, base);
			rpmtdFreeData(td);
		}
		rpmtdFree(td);
	}
	if (fd)
		Fclose(fd);
	headerFree(h);
	rpmtsFree(ts);
	return found;
}

/* Reads the file called base out of rpm's payload (libarchive's rpm filter
 * and cpio reader). Returns a new buffer of *len bytes, or NULL. */
static char *read_from_rpm(const char *rpm, const char *base, size_t *len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *data = NULL;

	archive_read_support_filter_all(a);
	archive_read_support_format_cpio(a);
	if (archive_read_open_filename(a, rpm, 65536) != ARCHIVE_OK)
		goto out;
	while (!data && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		la_int64_t size = archive_entry_size(e);

		if (archive_entry_filetype(e) != AE_IFREG || size < 0 || size > BUILT_MACRO_MAX ||
		    !is_installed_macro(archive_entry_pathname(e), base))
			continue;
		data = sy_xmalloc((size_t)size + 1);
		if (archive_read_data(a, data, (size_t)size) != size) {
			free(data);
			data = NULL;
			break;
		}
		*len = (size_t)size;
	}
out:
	archive_read_free(a);
	return data;
}

struct add_state {
	struct gitwatch_repo *repo;
	const struct planner_spec *spec;
	const struct sy_strv *rpms;
	struct planner_macro_files *out;
	struct sy_error *err;
};

static int add_one(const struct gitwatch_entry *e, void *arg)
{
	struct add_state *st = arg;
	struct planner_macro_file *f;
	const char *base = strrchr(e->path, '/') + 1;
	char *data = NULL;
	size_t len = 0;

	st->out->items = sy_xrealloc(st->out->items, (st->out->n + 1) * sizeof(*st->out->items));
	f = &st->out->items[st->out->n];
	for (size_t i = 0; !data && i < st->rpms->n; i++)
		if (rpm_lists(st->rpms->items[i], base))
			data = read_from_rpm(st->rpms->items[i], base, &len);
	if (data) {
		f->data = data;
		f->len = len;
	} else {
		if (gitwatch_read_blob(st->repo, e->oid, &data, &len, st->err))
			return sy_error_prefix(st->err, "%s", e->path);
		f->data = planner_rootmacros_installed_form(data, len, st->spec, &f->len);
		free(data);
	}
	f->path = sy_xstrdup(e->path);
	st->out->n++;
	return 0;
}

int planner_rootmacros_add(struct gitwatch_repo *repo, const struct gitwatch_entries *files,
			   const char *pattern, const struct planner_spec *spec,
			   const struct planner_manifest *m, const struct sy_strv *published,
			   struct planner_macro_files *out, struct sy_error *err)
{
	struct sy_strv rpms = SY_STRV_INIT;
	struct add_state st = { repo, spec, &rpms, out, err };
	int rc;

	for (size_t i = 0; published && i < published->n; i++)
		if (rpm_of(published->items[i], spec, m))
			sy_strv_push(&rpms, published->items[i]);
	rc = each_macro_file(spec->path, files, pattern, add_one, &st) ? -1 : 0;
	sy_strv_release(&rpms);
	return rc;
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
