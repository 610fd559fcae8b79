#define _GNU_SOURCE
#include "repo-publish/repodata.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <createrepo_c/createrepo_c.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/hash.h"
#include "common/strv.h"
#include "common/util.h"

/* Changelog entries kept per package in other.xml (createrepo_c's default). */
#define REPODATA_CHANGELOG_LIMIT 10

/* The three package lists, in repomd.xml's and createrepo_c's order. */
enum list { LIST_PRIMARY, LIST_FILELISTS, LIST_OTHER, NLISTS };

static const char *const list_names[NLISTS] = { "primary", "filelists", "other" };
static const char *const db_names[NLISTS] = { "primary_db", "filelists_db", "other_db" };
/* The closing tag of each list's root element. */
static const char *const list_footers[NLISTS] = { "</metadata>", "</filelists>", "</otherdata>" };
static const cr_XmlFileType list_types[NLISTS] = { CR_XMLFILE_PRIMARY, CR_XMLFILE_FILELISTS,
						   CR_XMLFILE_OTHER };
static const cr_DatabaseType db_types[NLISTS] = { CR_DB_PRIMARY, CR_DB_FILELISTS, CR_DB_OTHER };

/* One package of a previous repository. */
struct entry {
	const char *xml[NLISTS]; /* its <package> element in each list, NUL-terminated
				  * (in the previous repository's store) */
	char pkgid[SY_SHA256_HEX_LEN + 1]; /* SHA-256 of its file */
	char *href;               /* location; NULL when not reusable (a location
				   * with escaped characters or a base URL) */
	const char *name;         /* file name: the last component of href, or "" */
	char *arch;               /* arch as primary has it */
	long long size;           /* file size (bytes) recorded */
	long long mtime;          /* file mtime (seconds) recorded */
	int ambiguous;            /* another entry has the same file name */
	int taken;                /* taken by repodata_previous_take */
};

struct repodata_previous {
	char *dir;                /* the repository directory */
	char *store[NLISTS];      /* each list's package elements, each followed by a NUL */
	struct entry *entries;    /* sorted by name */
	size_t n;
};

struct repodata_pkg {
	const struct entry *entry; /* taken: the previous entry, else NULL */
	cr_Package *pkg;           /* read: the package; taken: parsed from the entry
				    * when the databases need it, else NULL */
};

static pthread_once_t cr_once = PTHREAD_ONCE_INIT;

/* Writes into buf the repo tag our repomd.xml carries, which says how its
 * entries were made: by this libcreaterepo_c, with this changelog limit
 * and SHA-256 pkgids. Entries are kept only from a repository with the
 * same tag, so that an upgrade of the library (whose dump may change) or
 * of these settings reads every package once instead of mixing formats. */
static void entries_tag(char *buf, size_t size)
{
	snprintf(buf, size, "shipyard-entries/createrepo_c-%d.%d.%d/changelogs-%d/sha256",
		 CR_VERSION_MAJOR, CR_VERSION_MINOR, CR_VERSION_PATCH, REPODATA_CHANGELOG_LIMIT);
}

/* Drops createrepo_c's GLib log messages: its failures reach us as GErrors. */
static void cr_log_discard(const gchar *domain, GLogLevelFlags level, const gchar *msg,
			   gpointer data)
{
	(void)domain;
	(void)level;
	(void)msg;
	(void)data;
}

static void cr_init(void)
{
	g_log_set_handler("C_CREATEREPOLIB", G_LOG_LEVEL_MASK & ~G_LOG_LEVEL_ERROR,
			  cr_log_discard, NULL);
	cr_xml_dump_init();
	cr_package_parser_init();
}

static int gerror_set(struct sy_error *err, GError *gerr, const char *fmt, const char *item)
{
	char what[512];

	snprintf(what, sizeof(what), fmt, item);
	sy_error_set(err, "%s: %s", what, gerr ? gerr->message : "unknown error");
	if (gerr)
		g_error_free(gerr);
	return -1;
}

/* Runs fn on each list's job (job t at (char *)jobs + t * size): the first
 * in this thread, the others in threads of their own (in this one when a
 * thread cannot start), and returns when all are done. The lists are
 * independent, and decompressing or compressing them is most of the work
 * of an incremental generation. */
static void run_per_list(void *(*fn)(void *), void *jobs, size_t size)
{
	pthread_t threads[NLISTS];
	int started[NLISTS] = { 0 };

	for (int t = 1; t < NLISTS; t++)
		started[t] = pthread_create(&threads[t], NULL, fn, (char *)jobs + t * size) == 0;
	for (int t = 0; t < NLISTS; t++) {
		if (started[t])
			pthread_join(threads[t], NULL);
		else
			fn((char *)jobs + t * size);
	}
}

/* ---- reading a previous repository ---- */

/* Reads the whole decompressed content of one list that md names into
 * out (NUL-terminated), after checking the file's SHA-256 against md's.
 * *file receives its path (caller frees), or "<dir>/repodata/<list>". */
static int read_list(const char *dir, cr_Repomd *md, enum list t, struct sy_buf *out,
		     char **file, struct sy_error *err)
{
	cr_RepomdRecord *rec = cr_repomd_get_record(md, list_names[t]);
	char hex[SY_SHA256_HEX_LEN + 1], block[65536];
	GError *gerr = NULL;
	CR_FILE *f;
	char *path;
	int rc = 0, got;

	*file = sy_xasprintf("%s/repodata/%s", dir, list_names[t]);
	if (!rec || !rec->location_href)
		return sy_error_set(err, "%s/repodata/repomd.xml: no %s record", dir,
				    list_names[t]);
	/* Our own repomd.xml names files in repodata/; anything else is not ours. */
	if (strncmp(rec->location_href, "repodata/", 9) || strchr(rec->location_href + 9, '/') ||
	    rec->location_href[9] == '.')
		return sy_error_set(err, "%s/repodata/repomd.xml: %s location '%s' is not in "
				    "repodata/", dir, list_names[t], rec->location_href);
	free(*file);
	*file = path = sy_xasprintf("%s/%s", dir, rec->location_href);
	if (!rec->checksum_type || strcmp(rec->checksum_type, "sha256") || !rec->checksum)
		rc = sy_error_set(err, "%s: repomd.xml records no SHA-256", path);
	else if (sy_sha256_file(path, hex, err))
		rc = -1;
	else if (strcmp(hex, rec->checksum))
		rc = sy_error_set(err, "%s: checksum differs from repomd.xml", path);
	if (rc)
		return rc;
	f = cr_open(path, CR_CW_MODE_READ, CR_CW_AUTO_DETECT_COMPRESSION, &gerr);
	if (!f)
		return gerror_set(err, gerr, "%s: cannot open", path);
	while ((got = cr_read(f, block, sizeof(block), &gerr)) > 0)
		sy_buf_add(out, block, (size_t)got);
	if (got < 0) {
		rc = gerror_set(err, gerr, "%s: cannot decompress", path);
		gerr = NULL;
	}
	if (cr_close(f, rc ? NULL : &gerr) != CRE_OK && rc == 0)
		rc = gerror_set(err, gerr, "%s: cannot decompress", path);
	sy_buf_add(out, "", 1);
	if (rc == 0 && strlen((char *)out->data) != out->len - 1)
		rc = sy_error_set(err, "%s: holds a NUL byte", path);
	return rc;
}

/* Where each <package> element of a list lies in its text. */
struct spans {
	size_t n, alloc;
	size_t *start, *len;
};

static void spans_add(struct spans *s, size_t start, size_t len)
{
	if (s->n == s->alloc) {
		s->alloc = s->alloc ? 2 * s->alloc : 256;
		s->start = sy_xrealloc(s->start, s->alloc * sizeof(size_t));
		s->len = sy_xrealloc(s->len, s->alloc * sizeof(size_t));
	}
	s->start[s->n] = start;
	s->len[s->n++] = len;
}

static void spans_release(struct spans *s)
{
	free(s->start);
	free(s->len);
	memset(s, 0, sizeof(*s));
}

/* Splits a list's text (as libcreaterepo_c writes it: a header whose root
 * element says packages="N", then N <package> elements each ending with
 * "</package>\n", then the footer) into its package elements. XML escapes
 * every '<' of text and attribute values, so "<package" and "</package>"
 * appear only as tags. Anything else is refused: a list that was not
 * written whole is never reused. */
static int split_list(const char *file, const char *text, enum list t, struct spans *s,
		      struct sy_error *err)
{
	const char *p = strstr(text, "<package"), *count = strstr(text, " packages=\"");
	const char *footer = list_footers[t];
	size_t want;

	if (!p)
		p = strstr(text, footer);
	if (!p || !count || count > p)
		return sy_error_set(err, "%s: no package count before the packages", file);
	want = strtoull(count + 11, NULL, 10);
	while (!strncmp(p, "<package", 8)) {
		const char *end = strstr(p, "</package>");
		if (!end)
			return sy_error_set(err, "%s: package %zu is not closed", file, s->n + 1);
		end += 10;
		if (*end == '\n')
			end++;
		spans_add(s, (size_t)(p - text), (size_t)(end - p));
		p = end;
	}
	if (strncmp(p, footer, strlen(footer)))
		return sy_error_set(err, "%s: text after package %zu is not a package", file, s->n);
	for (p += strlen(footer); *p; p++)
		if (!isspace((unsigned char)*p))
			return sy_error_set(err, "%s: text after %s", file, footer);
	if (s->n != want)
		return sy_error_set(err, "%s: %zu packages, its header says %zu", file, s->n, want);
	return 0;
}

/* Copies the spans of text into one block, each followed by a NUL, and
 * moves each span's start to where it is in the block. Returns the block. */
static char *store_spans(const char *text, struct spans *s)
{
	size_t total = 1, off = 0;
	char *store;

	for (size_t i = 0; i < s->n; i++)
		total += s->len[i] + 1;
	store = sy_xmalloc(total);
	for (size_t i = 0; i < s->n; i++) {
		memcpy(store + off, text + s->start[i], s->len[i]);
		store[off + s->len[i]] = '\0';
		s->start[i] = off;
		off += s->len[i] + 1;
	}
	store[off] = '\0';
	return store;
}

/* Copies the text after the first occurrence of prefix in xml up to stop
 * (excluded) into a new string, or returns NULL when there is none. */
static char *field(const char *xml, const char *prefix, char stop)
{
	const char *p = strstr(xml, prefix), *end;

	if (!p)
		return NULL;
	p += strlen(prefix);
	end = strchr(p, stop);
	return end ? sy_xstrndup(p, (size_t)(end - p)) : NULL;
}

static int is_hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return i == SY_SHA256_HEX_LEN;
}

/* Reads a number field of xml into *out; returns 0 or -1. */
static int number_field(const char *xml, const char *prefix, long long *out)
{
	char *text = field(xml, prefix, '"'), *end = NULL;
	int rc = -1;

	if (text && text[0]) {
		errno = 0;
		*out = strtoll(text, &end, 10);
		rc = errno || *end ? -1 : 0;
	}
	free(text);
	return rc;
}

/* Fills e from its primary element: pkgid, arch, size, mtime and, when it
 * is plain, its location. */
static int read_entry(const char *file, size_t i, struct entry *e, struct sy_error *err)
{
	const char *xml = e->xml[LIST_PRIMARY];
	char *pkgid = field(xml, "<checksum type=\"sha256\" pkgid=\"YES\">", '<');
	char *href;
	int rc = 0;

	if (!pkgid || !is_hex64(pkgid))
		rc = sy_error_set(err, "%s: package %zu: no SHA-256 pkgid", file, i + 1);
	else
		memcpy(e->pkgid, pkgid, sizeof(e->pkgid));
	free(pkgid);
	if (rc)
		return rc;
	e->arch = field(xml, "<arch>", '<');
	href = field(xml, "<location href=\"", '"');
	e->name = "";
	/* An entry whose location or numbers we cannot read back exactly is
	 * not reused: its package is read again. */
	if (!e->arch || !href || strchr(href, '&') || !href[0] ||
	    number_field(xml, "<size package=\"", &e->size) ||
	    number_field(xml, "<time file=\"", &e->mtime)) {
		free(href);
		return 0;
	}
	e->href = href;
	e->name = sy_base_name(href);
	return 0;
}

/* Checks that the filelists or other element i belongs to entry i (the
 * lists hold the packages in the same order). */
static int check_pkgid(const char *file, size_t i, const char *xml, const struct entry *e,
		       struct sy_error *err)
{
	static const char prefix[] = "<package pkgid=\"";

	if (strncmp(xml, prefix, sizeof(prefix) - 1) ||
	    strncmp(xml + sizeof(prefix) - 1, e->pkgid, SY_SHA256_HEX_LEN) ||
	    xml[sizeof(prefix) - 1 + SY_SHA256_HEX_LEN] != '"')
		return sy_error_set(err, "%s: package %zu is not %s's", file, i + 1, e->pkgid);
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* One list of a previous repository, read by a thread of its own. */
struct list_read {
	const char *dir;  /* the repository directory */
	cr_Repomd *md;    /* its repomd.xml */
	enum list t;      /* which list */
	char *file;       /* its path */
	char *store;      /* its package elements, each followed by a NUL */
	struct spans s;   /* where each starts in store */
	struct sy_error err;
	int rc;
};

/* Reads, checks, splits and stores one list. */
static void *list_read_run(void *arg)
{
	struct list_read *r = arg;
	struct sy_buf text = SY_BUF_INIT;

	r->rc = read_list(r->dir, r->md, r->t, &text, &r->file, &r->err);
	if (r->rc == 0)
		r->rc = split_list(r->file, (char *)text.data, r->t, &r->s, &r->err);
	if (r->rc == 0)
		r->store = store_spans((char *)text.data, &r->s);
	sy_buf_release(&text);
	return NULL;
}

/* Makes prev's entries of the lists read: one per primary element, with
 * the filelists and other elements of the same package. Takes over the
 * stores. */
static int make_entries(struct repodata_previous *prev, struct list_read *lists,
			struct sy_error *err)
{
	size_t n = lists[LIST_PRIMARY].s.n;
	int rc = 0;

	prev->n = n;
	prev->entries = sy_xcalloc(n + 1, sizeof(*prev->entries));
	for (int t = 0; t < NLISTS; t++) {
		prev->store[t] = lists[t].store;
		lists[t].store = NULL;
		if (lists[t].s.n != n)
			return sy_error_set(err, "%s: %zu packages, primary has %zu", lists[t].file,
					    lists[t].s.n, n);
		for (size_t i = 0; i < n; i++)
			prev->entries[i].xml[t] = prev->store[t] + lists[t].s.start[i];
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = read_entry(lists[LIST_PRIMARY].file, i, &prev->entries[i], err);
	for (int t = LIST_FILELISTS; t < NLISTS; t++)
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = check_pkgid(lists[t].file, i, prev->entries[i].xml[t],
					 &prev->entries[i], err);
	return rc;
}

/* Reads the three lists of prev's repository (run_per_list) and makes its
 * entries. */
static int load_lists(struct repodata_previous *prev, cr_Repomd *md, struct sy_error *err)
{
	struct list_read lists[NLISTS];
	int rc = 0;

	for (int t = 0; t < NLISTS; t++)
		lists[t] = (struct list_read){ .dir = prev->dir, .md = md, .t = t };
	run_per_list(list_read_run, lists, sizeof(lists[0]));
	for (int t = 0; t < NLISTS && rc == 0; t++)
		if (lists[t].rc) {
			*err = lists[t].err;
			rc = -1;
		}
	if (rc == 0)
		rc = make_entries(prev, lists, err);
	for (int t = 0; t < NLISTS; t++) {
		free(lists[t].file);
		free(lists[t].store);
		spans_release(&lists[t].s);
	}
	return rc;
}

int repodata_previous_load(const char *dir, struct repodata_previous **out, struct sy_error *err)
{
	char *repomd_path = sy_xasprintf("%s/repodata/repomd.xml", dir);
	struct repodata_previous *prev = NULL;
	cr_Repomd *md = NULL;
	GError *gerr = NULL;
	char tag[128];
	int rc = 0;

	*out = NULL;
	pthread_once(&cr_once, cr_init);
	if (!sy_exists(repomd_path))
		goto out;
	md = cr_repomd_new();
	if (cr_xml_parse_repomd(repomd_path, md, NULL, NULL, &gerr) != CRE_OK) {
		rc = gerror_set(err, gerr, "%s: cannot parse", repomd_path);
		goto out;
	}
	entries_tag(tag, sizeof(tag));
	if (!g_slist_find_custom(md->repo_tags, tag, (GCompareFunc)strcmp))
		goto out;
	prev = sy_xcalloc(1, sizeof(*prev));
	prev->dir = sy_xstrdup(dir);
	rc = load_lists(prev, md, err);
	if (rc)
		goto out;
	qsort(prev->entries, prev->n, sizeof(*prev->entries), cmp_entry);
	for (size_t i = 1; i < prev->n; i++)
		if (prev->entries[i].name[0] &&
		    !strcmp(prev->entries[i].name, prev->entries[i - 1].name))
			prev->entries[i].ambiguous = prev->entries[i - 1].ambiguous = 1;
	*out = prev;
	prev = NULL;
out:
	repodata_previous_free(prev);
	if (md)
		cr_repomd_free(md);
	free(repomd_path);
	return rc;
}

void repodata_previous_free(struct repodata_previous *prev)
{
	if (!prev)
		return;
	for (size_t i = 0; i < prev->n; i++) {
		free(prev->entries[i].href);
		free(prev->entries[i].arch);
	}
	for (int t = 0; t < NLISTS; t++)
		free(prev->store[t]);
	free(prev->entries);
	free(prev->dir);
	free(prev);
}

struct repodata_pkg *repodata_previous_take(struct repodata_previous *prev, const char *path,
					    const struct stat *st)
{
	struct entry key = { .name = sy_base_name(path) }, *e;
	struct repodata_pkg *pkg;
	struct stat old;
	char *file;
	int same;

	if (!prev || !key.name[0])
		return NULL;
	e = bsearch(&key, prev->entries, prev->n, sizeof(*e), cmp_entry);
	if (!e || e->ambiguous || e->taken || !e->href || e->size != (long long)st->st_size ||
	    e->mtime != (long long)st->st_mtime)
		return NULL;
	/* The very file the entry was made from: a snapshot's packages are
	 * hard links that nothing changes, so its entry still describes it.
	 * A kept package is usually named by its path in prev's directory. */
	file = sy_xasprintf("%s/%s", prev->dir, e->href);
	same = !strcmp(file, path) ||
	       (stat(file, &old) == 0 && S_ISREG(old.st_mode) && old.st_dev == st->st_dev &&
		old.st_ino == st->st_ino);
	free(file);
	if (!same)
		return NULL;
	e->taken = 1;
	pkg = sy_xcalloc(1, sizeof(*pkg));
	pkg->entry = e;
	return pkg;
}

/* ---- packages ---- */

struct repodata_pkg *repodata_pkg_read(const char *path, const struct stat *st,
				       struct sy_error *err)
{
	struct stat copy = *st;
	GError *gerr = NULL;
	cr_Package *p;
	struct repodata_pkg *pkg;

	pthread_once(&cr_once, cr_init);
	p = cr_package_from_rpm(path, CR_CHECKSUM_SHA256, NULL, NULL, REPODATA_CHANGELOG_LIMIT,
				&copy, CR_HDRR_NONE, &gerr);
	if (!p) {
		gerror_set(err, gerr, "%s: cannot read header", path);
		return NULL;
	}
	pkg = sy_xcalloc(1, sizeof(*pkg));
	pkg->pkg = p;
	return pkg;
}

int repodata_pkg_read_is_source(const struct repodata_pkg *pkg)
{
	/* Binary packages name their source package; source packages do not. */
	return !pkg->entry && (!pkg->pkg->rpm_sourcerpm || !pkg->pkg->rpm_sourcerpm[0]);
}

const char *repodata_pkg_arch(const struct repodata_pkg *pkg)
{
	return pkg->entry ? pkg->entry->arch : pkg->pkg->arch;
}

const char *repodata_pkg_href(const struct repodata_pkg *pkg)
{
	return pkg->entry ? pkg->entry->href : pkg->pkg->location_href;
}

int repodata_pkg_set_href(struct repodata_pkg *pkg, const char *href, struct sy_error *err)
{
	if (pkg->entry)
		return sy_error_set(err, "%s: a reused entry keeps its location", href);
	pkg->pkg->location_href = cr_safe_string_chunk_insert(pkg->pkg->chunk, href);
	return 0;
}

int repodata_pkg_reused(const struct repodata_pkg *pkg)
{
	return pkg->entry != NULL;
}

void repodata_pkg_free(struct repodata_pkg *pkg)
{
	if (!pkg)
		return;
	if (pkg->pkg)
		cr_package_free(pkg->pkg);
	free(pkg);
}

/* ---- writing ---- */

static int fsync_path(const char *path, struct sy_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return sy_error_set(err, "%s: cannot open: %s", path, strerror(errno));
	if (fsync(fd) < 0)
		rc = sy_error_set(err, "%s: fsync: %s", path, strerror(errno));
	close(fd);
	return rc;
}

/* Writes one list of the packages to path, its content's size and
 * SHA-256 into stat. */
static int write_list(const char *path, enum list t, struct repodata_pkg *const *pkgs, size_t n,
		      cr_ContentStat *stat, struct sy_error *err)
{
	GError *gerr = NULL;
	cr_XmlFile *f = cr_xmlfile_sopen(path, list_types[t], CR_CW_GZ_COMPRESSION, stat, &gerr);
	int rc = 0;

	if (!f || cr_xmlfile_set_num_of_pkgs(f, (long)n, &gerr) != CRE_OK)
		rc = gerror_set(err, gerr, "%s: cannot write", path);
	for (size_t i = 0; i < n && rc == 0; i++) {
		int ret = pkgs[i]->entry ? cr_xmlfile_add_chunk(f, pkgs[i]->entry->xml[t], &gerr)
					 : cr_xmlfile_add_pkg(f, pkgs[i]->pkg, &gerr);
		if (ret != CRE_OK)
			rc = gerror_set(err, gerr, "%s: cannot add package",
					repodata_pkg_href(pkgs[i]));
	}
	if (f && cr_xmlfile_close(f, rc ? NULL : &gerr) != CRE_OK && rc == 0)
		rc = gerror_set(err, gerr, "%s: cannot close", path);
	return rc;
}

/* Makes the repomd record of a finished file: checksums (the content's
 * from stat when given), renamed to carry its checksum as createrepo_c
 * does, fsynced. */
static cr_RepomdRecord *make_record(const char *type, const char *path, cr_ContentStat *stat,
				    struct sy_error *err)
{
	GError *gerr = NULL;
	cr_RepomdRecord *rec = cr_repomd_record_new(type, path);

	if (stat)
		cr_repomd_record_load_contentstat(rec, stat);
	if (cr_repomd_record_fill(rec, CR_CHECKSUM_SHA256, &gerr) != CRE_OK ||
	    cr_repomd_record_rename_file(rec, &gerr) != CRE_OK) {
		cr_repomd_record_free(rec);
		gerror_set(err, gerr, "%s: cannot make repomd record", path);
		return NULL;
	}
	if (fsync_path(rec->location_real, err)) {
		cr_repomd_record_free(rec);
		return NULL;
	}
	return rec;
}

/* Returns the package a taken entry describes, parsed from its three
 * elements, or NULL with err. */
static int newpkg_same(cr_Package **pkg, const char *pkgid, const char *name, const char *arch,
		       void *data, GError **gerr)
{
	(void)pkgid;
	(void)name;
	(void)arch;
	(void)gerr;
	*pkg = data;
	return CR_CB_RET_OK;
}

static cr_Package *parse_entry(const struct entry *e, struct sy_error *err)
{
	cr_Package *p = cr_package_new();
	GError *gerr = NULL;

	if (cr_xml_parse_primary_snippet(e->xml[LIST_PRIMARY], newpkg_same, p, NULL, NULL, NULL,
					 NULL, 0, &gerr) != CRE_OK ||
	    cr_xml_parse_filelists_snippet(e->xml[LIST_FILELISTS], newpkg_same, p, NULL, NULL,
					   NULL, NULL, &gerr) != CRE_OK ||
	    cr_xml_parse_other_snippet(e->xml[LIST_OTHER], newpkg_same, p, NULL, NULL, NULL,
				       NULL, &gerr) != CRE_OK) {
		cr_package_free(p);
		gerror_set(err, gerr, "%s: cannot parse its entry", e->href);
		return NULL;
	}
	return p;
}

/* Writes the three sqlite databases of the packages (createrepo_c's
 * schema; each records the checksum of its list, xml[t]) compressed with
 * bzip2, and adds their records to md. */
static int write_databases(const char *repodata, struct repodata_pkg *const *pkgs, size_t n,
			   cr_RepomdRecord *const xml[NLISTS], cr_Repomd *md, struct sy_error *err)
{
	cr_SqliteDb *db[NLISTS] = { NULL, NULL, NULL };
	char *paths[NLISTS] = { NULL, NULL, NULL };
	GError *gerr = NULL;
	int rc = 0;

	for (int t = 0; t < NLISTS && rc == 0; t++) {
		paths[t] = sy_xasprintf("%s/%s.sqlite", repodata, list_names[t]);
		if (!(db[t] = cr_db_open(paths[t], db_types[t], &gerr)))
			rc = gerror_set(err, gerr, "%s: cannot create", paths[t]);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct repodata_pkg *pkg = pkgs[i];
		if (!pkg->pkg && !(pkg->pkg = parse_entry(pkg->entry, err)))
			rc = -1;
		for (int t = 0; t < NLISTS && rc == 0; t++)
			if (cr_db_add_pkg(db[t], pkg->pkg, &gerr) != CRE_OK)
				rc = gerror_set(err, gerr, "%s: cannot add package", paths[t]);
	}
	for (int t = 0; t < NLISTS && rc == 0; t++)
		if (cr_db_dbinfo_update(db[t], xml[t]->checksum, &gerr) != CRE_OK)
			rc = gerror_set(err, gerr, "%s: cannot record checksum", paths[t]);
	for (int t = 0; t < NLISTS; t++)
		if (db[t] && cr_db_close(db[t], rc ? NULL : &gerr) != CRE_OK && rc == 0)
			rc = gerror_set(err, gerr, "%s: cannot close", paths[t]);
	for (int t = 0; t < NLISTS && rc == 0; t++) {
		char *bz2 = sy_xasprintf("%s.bz2", paths[t]);
		cr_ContentStat *stat = cr_contentstat_new(CR_CHECKSUM_SHA256, NULL);
		cr_RepomdRecord *rec = NULL;
		if (cr_compress_file_with_stat(paths[t], bz2, CR_CW_BZ2_COMPRESSION, stat, NULL,
					       FALSE, &gerr) != CRE_OK)
			rc = gerror_set(err, gerr, "%s: cannot compress", paths[t]);
		else if (!(rec = make_record(db_names[t], bz2, stat, err)))
			rc = -1;
		else
			cr_repomd_set_record(md, rec);
		cr_contentstat_free(stat, NULL);
		free(bz2);
	}
	for (int t = 0; t < NLISTS; t++) {
		if (paths[t])
			unlink(paths[t]);
		free(paths[t]);
	}
	return rc;
}

/* Writes repomd.xml for md, with our repo tag (entries_tag), last, under a
 * temporary name renamed into place. */
static int write_repomd(const char *repodata, cr_Repomd *md, struct sy_error *err)
{
	GError *gerr = NULL;
	char *xml, *path, tag[128];
	int rc;

	entries_tag(tag, sizeof(tag));
	cr_repomd_add_repo_tag(md, tag);
	cr_repomd_sort_records(md);
	xml = cr_xml_dump_repomd(md, &gerr);
	if (!xml)
		return gerror_set(err, gerr, "%s: cannot make repomd.xml", repodata);
	path = sy_xasprintf("%s/repomd.xml", repodata);
	rc = sy_write_file_atomic(path, xml, strlen(xml), 0644, err);
	free(path);
	free(xml);
	return rc;
}

/* One list written by a thread of its own. */
struct list_job {
	const char *repodata;             /* the repodata/ directory */
	enum list t;                      /* which list */
	struct repodata_pkg *const *pkgs; /* its packages, n of them */
	size_t n;
	cr_RepomdRecord *rec;             /* its record once written */
	struct sy_error err;              /* why not, when rc is -1 */
	int rc;
};

static void *list_job_run(void *arg)
{
	struct list_job *job = arg;
	char *path = sy_xasprintf("%s/%s.xml.gz", job->repodata, list_names[job->t]);
	cr_ContentStat *stat = cr_contentstat_new(CR_CHECKSUM_SHA256, NULL);

	job->rc = write_list(path, job->t, job->pkgs, job->n, stat, &job->err);
	if (job->rc == 0 && !(job->rec = make_record(list_names[job->t], path, stat, &job->err)))
		job->rc = -1;
	cr_contentstat_free(stat, NULL);
	free(path);
	return NULL;
}

/* Writes the three lists (run_per_list); recs receive their records. */
static int write_lists(const char *repodata, struct repodata_pkg *const *pkgs, size_t n,
		       cr_RepomdRecord *recs[NLISTS], struct sy_error *err)
{
	struct list_job jobs[NLISTS];
	int rc = 0;

	for (int t = 0; t < NLISTS; t++)
		jobs[t] = (struct list_job){ .repodata = repodata, .t = t, .pkgs = pkgs, .n = n };
	run_per_list(list_job_run, jobs, sizeof(jobs[0]));
	for (int t = 0; t < NLISTS; t++) {
		recs[t] = jobs[t].rec;
		if (jobs[t].rc && rc == 0) {
			*err = jobs[t].err;
			rc = -1;
		}
	}
	return rc;
}

int repodata_write_dir(const char *dir, struct repodata_pkg *const *pkgs, size_t n, int sqlite,
		       struct sy_error *err)
{
	char *repodata = sy_xasprintf("%s/repodata", dir);
	cr_RepomdRecord *recs[NLISTS] = { NULL, NULL, NULL };
	cr_Repomd *md = cr_repomd_new();
	int rc;

	pthread_once(&cr_once, cr_init);
	rc = sy_mkdir_p(repodata, 0755, err);
	if (rc == 0)
		rc = write_lists(repodata, pkgs, n, recs, err);
	if (rc == 0 && sqlite)
		rc = write_databases(repodata, pkgs, n, recs, md, err);
	for (int t = 0; t < NLISTS; t++) {
		if (recs[t] && rc == 0)
			cr_repomd_set_record(md, recs[t]);
		else if (recs[t])
			cr_repomd_record_free(recs[t]);
	}
	if (rc == 0)
		rc = write_repomd(repodata, md, err);
	if (rc == 0)
		rc = sy_fsync_dir(repodata, err);
	cr_repomd_free(md);
	free(repodata);
	return rc;
}
