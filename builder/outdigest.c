#include "builder/outdigest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rpm/header.h>
#include <rpm/rpmds.h>
#include <rpm/rpmfi.h>
#include <rpm/rpmio.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmts.h>

#include "builder/rebuild.h"
#include "sandbox/rpminstall.h"
#include "common/strv.h"

/* One package's observable part, as text lines. */
struct observed {
	char *sort_key;        /* "name.arch" */
	struct sy_strv lines;
};

static const rpmTagVal dep_tags[] = { RPMTAG_PROVIDENAME, RPMTAG_REQUIRENAME,
				      RPMTAG_CONFLICTNAME, RPMTAG_OBSOLETENAME };
static const rpmTagVal script_tags[] = { RPMTAG_PREIN, RPMTAG_POSTIN, RPMTAG_PREUN,
					 RPMTAG_POSTUN, RPMTAG_PRETRANS, RPMTAG_POSTTRANS };

static void add_files(Header h, struct sy_strv *lines)
{
	rpmfi fi = rpmfiNew(NULL, h, RPMTAG_BASENAMES, RPMFI_FLAGS_QUERY);

	while (fi && rpmfiNext(fi) >= 0) {
		char *digest = rpmfiFDigestHex(fi, NULL);
		const char *link = rpmfiFLink(fi);
		sy_strv_pushf(lines, "F %s %o %s %s %x %s %s", rpmfiFN(fi), (unsigned)rpmfiFMode(fi),
			      rpmfiFUser(fi) ? rpmfiFUser(fi) : "", rpmfiFGroup(fi) ? rpmfiFGroup(fi) : "",
			      (unsigned)rpmfiFFlags(fi), digest ? digest : "-", link ? link : "");
		free(digest);
	}
	rpmfiFree(fi);
}

/* The rebuild counter's part of a package's Release (builder/rebuild.h):
 * the Release with it ("1.mdst1.2") and without ("1.mdst1"). */
struct counted {
	char *release; /* NULL when the package has none */
	char *base;
};

/* Reads what the header's DistURL says of its Release. */
static void read_counted(Header h, struct counted *c)
{
	char *disturl = headerGetAsString(h, RPMTAG_DISTURL);
	char *release = headerGetAsString(h, RPMTAG_RELEASE);
	const char *suffix = builder_rebuild_disturl_suffix(disturl);
	size_t n = release ? strlen(release) : 0, m = suffix ? strlen(suffix) : 0;

	c->release = c->base = NULL;
	if (suffix && n > m && !strcmp(release + n - m, suffix)) {
		c->release = sy_xstrdup(release);
		c->base = sy_xstrndup(release, n - m);
	}
	free(disturl);
	free(release);
}

static void counted_release(struct counted *c)
{
	free(c->release);
	free(c->base);
}

/* A dependency as rpmdsDNEVR writes it ("P zlib = 1.3-1.azl3"), with the
 * rebuild counter taken out of an EVR whose release is the package's own:
 * "name = version-release" and the subpackages' exact Requires name every
 * build's counter, and a rebuild must not differ by them alone. */
static void add_dep(struct sy_strv *lines, const char *dnevr, unsigned flags, const struct counted *c)
{
	size_t n = strlen(dnevr), m = c->release ? strlen(c->release) : 0;

	if (m && n > m && dnevr[n - m - 1] == '-' && !strcmp(dnevr + n - m, c->release))
		sy_strv_pushf(lines, "%.*s%s %x", (int)(n - m), dnevr, c->base, flags);
	else
		sy_strv_pushf(lines, "%s %x", dnevr, flags);
}

static void add_deps(Header h, const struct counted *c, struct sy_strv *lines)
{
	for (size_t t = 0; t < sizeof(dep_tags) / sizeof(dep_tags[0]); t++) {
		rpmds ds = rpmdsNew(h, dep_tags[t], 0);
		while (ds && rpmdsNext(ds) >= 0)
			add_dep(lines, rpmdsDNEVR(ds), (unsigned)rpmdsFlags(ds), c);
		rpmdsFree(ds);
	}
}

static void add_scripts(Header h, struct sy_strv *lines)
{
	for (size_t t = 0; t < sizeof(script_tags) / sizeof(script_tags[0]); t++) {
		char *text = headerGetAsString(h, script_tags[t]);
		if (text && *text)
			sy_strv_pushf(lines, "S%u %s", (unsigned)script_tags[t], text);
		free(text);
	}
}

static int read_header(rpmts ts, const char *path, Header *h, struct sy_error *err)
{
	FD_t fd = Fopen(path, "r.ufdio");
	rpmRC rc;

	if (!fd || Ferror(fd)) {
		int e = errno;
		if (fd)
			Fclose(fd);
		return sy_error_set(err, "%s: cannot read: %s", path, strerror(e));
	}
	rc = rpmReadPackageFile(ts, fd, path, h);
	Fclose(fd);
	if (rc != RPMRC_OK && rc != RPMRC_NOTTRUSTED && rc != RPMRC_NOKEY)
		return sy_error_set(err, "%s: %s", path,
				    rc == RPMRC_NOTFOUND ? "not an RPM package" : "damaged package");
	return 0;
}

static int cmp_observed(const void *a, const void *b)
{
	return strcmp(((const struct observed *)a)->sort_key,
		      ((const struct observed *)b)->sort_key);
}

/* builder_output_digest; *suffix (when not NULL, with n == 1) gets the
 * package's rebuild suffix. */
static int output_digest(const char *const *rpm_paths, size_t n, char out[SY_SHA256_HEX_LEN + 1],
			 char **suffix, struct sy_error *err)
{
	struct observed *pkgs = sy_xcalloc(n + 1, sizeof(*pkgs));
	rpmts ts;
	int rc = 0;

	if (sandbox_rpm_init(err)) {
		free(pkgs);
		return -1;
	}
	ts = rpmtsCreate();
	rpmtsSetVSFlags(ts, RPMVSF_MASK_NOSIGNATURES);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		Header h = NULL;
		struct counted c;
		if ((rc = read_header(ts, rpm_paths[i], &h, err)))
			break;
		char *name = headerGetAsString(h, RPMTAG_NAME), *arch = headerGetAsString(h, RPMTAG_ARCH);
		read_counted(h, &c);
		pkgs[i].sort_key = sy_xasprintf("%s.%s", name ? name : "", arch ? arch : "");
		sy_strv_pushf(&pkgs[i].lines, "P %s", pkgs[i].sort_key);
		add_files(h, &pkgs[i].lines);
		add_deps(h, &c, &pkgs[i].lines);
		add_scripts(h, &pkgs[i].lines);
		if (suffix && c.release)
			*suffix = sy_xstrdup(c.release + strlen(c.base));
		counted_release(&c);
		free(name);
		free(arch);
		headerFree(h);
	}
	rpmtsFree(ts);
	if (rc == 0) {
		struct sy_sha256 *sha = sy_sha256_new();
		qsort(pkgs, n, sizeof(*pkgs), cmp_observed);
		sy_sha256_update_str(sha, "shipyard output digest v1");
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < pkgs[i].lines.n; k++)
				sy_sha256_update_str(sha, pkgs[i].lines.items[k]);
		sy_sha256_final(sha, out);
	}
	for (size_t i = 0; i < n; i++) {
		free(pkgs[i].sort_key);
		sy_strv_release(&pkgs[i].lines);
	}
	free(pkgs);
	return rc;
}

int builder_output_digest(const char *const *rpm_paths, size_t n,
			  char out[SY_SHA256_HEX_LEN + 1], struct sy_error *err)
{
	return output_digest(rpm_paths, n, out, NULL, err);
}

int builder_output_digest_package(const char *rpm_path, char out[SY_SHA256_HEX_LEN + 1],
				  char **rebuild_suffix, struct sy_error *err)
{
	const char *const paths[] = { rpm_path };

	*rebuild_suffix = NULL;
	if (output_digest(paths, 1, out, rebuild_suffix, err) == 0)
		return 0;
	free(*rebuild_suffix);
	*rebuild_suffix = NULL;
	return -1;
}

char *builder_rpm_nevra(const char *rpm_path, struct sy_error *err)
{
	Header h = NULL;
	char *nevra = NULL, *copy = NULL;
	rpmts ts;

	if (sandbox_rpm_init(err))
		return NULL;
	ts = rpmtsCreate();
	rpmtsSetVSFlags(ts, RPMVSF_MASK_NOSIGNATURES);
	if (read_header(ts, rpm_path, &h, err) == 0) {
		nevra = headerGetAsString(h, RPMTAG_NEVRA);
		if (nevra)
			copy = sy_xstrdup(nevra);
		else
			sy_error_set(err, "%s: no NEVRA in its header", rpm_path);
		free(nevra);
		headerFree(h);
	}
	rpmtsFree(ts);
	return copy;
}
