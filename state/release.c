#define _GNU_SOURCE
#include "state/release.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "state/layout.h"
#include "state/record-private.h"

/* The SBOM's file name in a release directory. */
#define SBOM_FILE "sbom.spdx.json"

static const char *const state_names[STATE_RELEASE_NSTATES] = { "made", "skipped" };

const char *state_release_state_name(enum state_release_state state)
{
	return state < STATE_RELEASE_NSTATES ? state_names[state] : "unknown";
}

/* "name-[E:]V-R.arch", newly allocated. */
static char *nevra(const struct state_release_package *p)
{
	int epoch = p->epoch && strcmp(p->epoch, "0") && p->epoch[0];

	return sy_xasprintf("%s-%s%s%s-%s.%s", p->name, epoch ? p->epoch : "", epoch ? ":" : "",
			    p->version, p->release, p->arch);
}

static json_t *packages_json(const struct state_release *rec)
{
	json_t *a = json_array();

	for (size_t i = 0; i < rec->npackages; i++) {
		const struct state_release_package *p = &rec->packages[i];
		char *id = nevra(p);
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			"nevra", id, "name", p->name, "epoch", p->epoch, "version", p->version,
			"release", p->release, "arch", p->arch, "sha256", p->sha256, "license",
			p->license, "sourcerpm", p->sourcerpm, "file", p->file));
		free(id);
	}
	return a;
}

static json_t *images_json(const struct state_release *rec)
{
	json_t *a = json_array();

	for (size_t i = 0; i < rec->nimages; i++) {
		const struct state_release_image *im = &rec->images[i];
		json_t *files = json_array();
		for (size_t k = 0; k < im->nfiles; k++)
			json_array_append_new(files, json_pack("{s:s, s:s, s:I}", "name",
				im->files[k].name, "sha256", im->files[k].sha256, "bytes",
				(json_int_t)im->files[k].bytes));
		json_array_append_new(a, json_pack("{s:s, s:s, s:o}", "config", im->config, "build",
						   im->build, "files", files));
	}
	return a;
}

/* ---- the SBOM ---- */

/* 1 when text reads as an SPDX license expression: identifiers of
 * [A-Za-z0-9.+-] (LicenseRef- ones included) joined by AND, OR, WITH and
 * parentheses. RPM License tags are often free text ("GPL+ or
 * Artistic"), which SPDX does not allow there. */
static int spdx_expression(const char *text)
{
	const char *p = text;
	int words = 0, want_id = 1;

	while (*p) {
		size_t n;
		if (*p == ' ' || *p == '(' || *p == ')') {
			p++;
			continue;
		}
		n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+-:");
		if (n == 0)
			return 0;
		int op = (n == 3 && !strncmp(p, "AND", 3)) || (n == 2 && !strncmp(p, "OR", 2)) ||
			 (n == 4 && !strncmp(p, "WITH", 4));
		if (op == want_id)
			return 0;
		want_id = op;
		words++;
		p += n;
	}
	return words > 0 && !want_id;
}

/* s percent-encoded for a purl: everything but [A-Za-z0-9.-_~]. */
static char *purl_escape(const char *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr(".-_~", c))
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
	fclose(f);
	return out;
}

static char *purl(const char *repo, const struct state_release_package *p)
{
	char *ns = purl_escape(repo), *name = purl_escape(p->name), *ver = purl_escape(p->version);
	char *rel = purl_escape(p->release), *src = purl_escape(p->sourcerpm);
	char *out = sy_xasprintf("pkg:rpm/%s/%s@%s-%s?arch=%s&epoch=%s%s%s", ns, name, ver, rel,
				 p->arch, p->epoch, p->sourcerpm[0] ? "&upstream=" : "", src);

	free(ns);
	free(name);
	free(ver);
	free(rel);
	free(src);
	return out;
}

/* An SPDX element id for package i: "SPDXRef-Package-<i>-<name>", the
 * name's characters other than [A-Za-z0-9.-] made '-'. */
static char *spdx_id(size_t i, const char *name)
{
	char *id = sy_xasprintf("SPDXRef-Package-%zu-%s", i, name);

	for (char *c = id; *c; c++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-", *c))
			*c = '-';
	return id;
}

static json_t *spdx_package(const struct state_release *rec, size_t i, const char *id)
{
	const struct state_release_package *p = &rec->packages[i];
	int epoch = strcmp(p->epoch, "0") != 0;
	char *version = sy_xasprintf("%s%s%s-%s", epoch ? p->epoch : "", epoch ? ":" : "",
				     p->version, p->release);
	char *locator = purl(rec->repo, p);
	char *source = p->sourcerpm[0] ? sy_xasprintf("built from source package %s", p->sourcerpm)
				       : NULL;
	int valid = spdx_expression(p->license);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:[{s:s, s:s}], s:s, s:s, s:s,"
			      " s:[{s:s, s:s, s:s}]}",
		"SPDXID", id, "name", p->name, "versionInfo", version, "downloadLocation",
		"NOASSERTION", "filesAnalyzed", 0, "checksums", "algorithm", "SHA256",
		"checksumValue", p->sha256, "licenseConcluded", "NOASSERTION", "licenseDeclared",
		valid ? p->license : "NOASSERTION", "copyrightText", "NOASSERTION", "externalRefs",
		"referenceCategory", "PACKAGE-MANAGER", "referenceType", "purl",
		"referenceLocator", locator);

	if (!valid && p->license[0])
		json_object_set_new(o, "licenseComments",
				    json_sprintf("RPM License tag: %s", p->license));
	if (source)
		json_object_set_new(o, "sourceInfo", json_string(source));
	free(source);
	free(locator);
	free(version);
	return o;
}

static json_t *spdx_document(const struct state_release *rec)
{
	json_t *packages = json_array(), *relations = json_array();
	char *ns = sy_xasprintf("urn:shipyard:release:%s:%s:%s", rec->repo, rec->name,
				rec->commit ? rec->commit : "unknown");
	char *name = sy_xasprintf("%s %s", rec->repo, rec->name);

	for (size_t i = 0; i < rec->npackages; i++) {
		char *id = spdx_id(i, rec->packages[i].name);
		json_array_append_new(packages, spdx_package(rec, i, id));
		json_array_append_new(relations, json_pack("{s:s, s:s, s:s}", "spdxElementId",
			"SPDXRef-DOCUMENT", "relationshipType", "DESCRIBES", "relatedSpdxElement", id));
		free(id);
	}
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:[s]}, s:o, s:o}",
		"spdxVersion", "SPDX-2.3", "dataLicense", "CC0-1.0", "SPDXID", "SPDXRef-DOCUMENT",
		"name", name, "documentNamespace", ns, "creationInfo", "created", rec->created,
		"creators", "Tool: shipyard", "packages", packages, "relationships", relations);
	free(name);
	free(ns);
	return doc;
}

/* ---- release.json ---- */

int state_release_write(const char *dir, const struct state_release *rec, struct sy_error *err)
{
	char *path = sy_xasprintf("%s/release.json", dir);
	int made = rec->state == STATE_RELEASE_MADE, rc = 0;
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s*, s:s, s:s?, s:s?, s:s*, s:s?, s:o, s:o}",
		"release", rec->name, "repo", rec->repo, "state",
		state_release_state_name(rec->state), "reason", rec->reason, "created", rec->created,
		"commit", rec->commit, "channel", rec->channel, "snapshot", rec->snapshot,
		"pipeline", rec->pipeline, "packages", packages_json(rec), "images",
		images_json(rec));

	if (!doc) {
		rc = sy_error_set(err, "%s: cannot encode the release", path);
		free(path);
		return rc;
	}
	if (made) {
		char *sbom = sy_xasprintf("%s/" SBOM_FILE, dir);
		json_t *spdx = spdx_document(rec);
		json_object_set_new(doc, "sbom", json_string(SBOM_FILE));
		rc = spdx ? state_record_write_json(dir, sbom, spdx, err)
			  : sy_error_set(err, "%s: cannot encode the SBOM", sbom);
		json_decref(spdx);
		free(sbom);
	}
	/* Last: a release.json says the directory is complete. */
	if (rc == 0)
		rc = state_record_write_json(dir, path, doc, err);
	json_decref(doc);
	free(path);
	return rc;
}

int state_release_record_skipped(const char *state, const struct state_release *rec,
				 struct sy_error *err)
{
	char *dir = state_release_dir(state, rec->repo, rec->name);
	char *tmp = state_release_tmp_dir(state, rec->repo, rec->name);
	int rc;

	if (state_release_exists(state, rec->repo, rec->name)) {
		rc = 0;
		goto out;
	}
	sy_rm_rf(tmp, NULL);
	rc = state_release_write(tmp, rec, err);
	if (rc == 0 && rename(tmp, dir) < 0) {
		/* Someone recorded it first: theirs stands. */
		rc = errno == EEXIST || errno == ENOTEMPTY
			     ? 0
			     : sy_error_set(err, "%s: %s", dir, strerror(errno));
	} else if (rc == 0) {
		rc = 1;
	}
	sy_rm_rf(tmp, NULL);
out:
	free(tmp);
	free(dir);
	return rc;
}

int state_release_exists(const char *state, const char *repo, const char *name)
{
	char *dir = state_release_dir(state, repo, name);
	char *path = sy_xasprintf("%s/release.json", dir);
	int yes = sy_exists(path);

	free(path);
	free(dir);
	return yes;
}

static char *dup_member(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return sy_xstrdup(s ? s : "");
}

static void read_packages(json_t *doc, struct state_release *rec)
{
	json_t *a = json_object_get(doc, "packages"), *v;
	size_t i;

	rec->packages = sy_xcalloc(json_array_size(a) + 1, sizeof(*rec->packages));
	json_array_foreach(a, i, v) {
		struct state_release_package *p = &rec->packages[rec->npackages++];
		p->name = dup_member(v, "name");
		p->epoch = dup_member(v, "epoch");
		p->version = dup_member(v, "version");
		p->release = dup_member(v, "release");
		p->arch = dup_member(v, "arch");
		p->sha256 = dup_member(v, "sha256");
		p->license = dup_member(v, "license");
		p->sourcerpm = dup_member(v, "sourcerpm");
		p->file = dup_member(v, "file");
	}
}

static void read_images(json_t *doc, struct state_release *rec)
{
	json_t *a = json_object_get(doc, "images"), *v, *f;
	size_t i, k;

	rec->images = sy_xcalloc(json_array_size(a) + 1, sizeof(*rec->images));
	json_array_foreach(a, i, v) {
		struct state_release_image *im = &rec->images[rec->nimages++];
		json_t *files = json_object_get(v, "files");
		im->config = dup_member(v, "config");
		im->build = dup_member(v, "build");
		im->files = sy_xcalloc(json_array_size(files) + 1, sizeof(*im->files));
		json_array_foreach(files, k, f) {
			struct state_release_file *file = &im->files[im->nfiles++];
			file->name = dup_member(f, "name");
			file->sha256 = dup_member(f, "sha256");
			file->bytes = (long long)json_integer_value(json_object_get(f, "bytes"));
		}
	}
}

int state_release_read(const char *state, const char *repo, const char *name,
		       struct state_release *rec, struct sy_error *err)
{
	char *dir = state_release_dir(state, repo, name);
	char *path = sy_xasprintf("%s/release.json", dir);
	json_t *doc;
	int rc = state_record_read_json(path, &doc, err);

	memset(rec, 0, sizeof(*rec));
	if (rc == 1) {
		const char *st = json_string_value(json_object_get(doc, "state"));
		rec->repo = sy_xstrdup(repo);
		rec->name = sy_xstrdup(name);
		rec->state = st && !strcmp(st, "skipped") ? STATE_RELEASE_SKIPPED
							  : STATE_RELEASE_MADE;
		rec->reason = state_record_string(doc, "reason");
		rec->created = state_record_string(doc, "created");
		rec->commit = state_record_string(doc, "commit");
		rec->channel = state_record_string(doc, "channel");
		rec->snapshot = state_record_string(doc, "snapshot");
		rec->pipeline = state_record_string(doc, "pipeline");
		read_packages(doc, rec);
		read_images(doc, rec);
	}
	json_decref(doc);
	free(path);
	free(dir);
	return rc;
}

void state_release_list(const char *state, struct sy_strv *repos, struct sy_strv *names)
{
	char *root = state_releases_dir(state);
	struct sy_strv dirs = SY_STRV_INIT;

	sy_list_dir(root, &dirs);
	for (size_t r = 0; r < dirs.n; r++) {
		char *dir = sy_xasprintf("%s/%s", root, dirs.items[r]);
		struct sy_strv dates = SY_STRV_INIT;
		sy_list_dir(dir, &dates);
		for (size_t k = dates.n; k-- > 0;) {
			char *path = sy_xasprintf("%s/%s/release.json", dir, dates.items[k]);
			if (sy_exists(path)) {
				sy_strv_push(repos, dirs.items[r]);
				sy_strv_push(names, dates.items[k]);
			}
			free(path);
		}
		sy_strv_release(&dates);
		free(dir);
	}
	sy_strv_release(&dirs);
	free(root);
}

void state_release_package_release(struct state_release_package *p)
{
	free(p->name);
	free(p->epoch);
	free(p->version);
	free(p->release);
	free(p->arch);
	free(p->sha256);
	free(p->license);
	free(p->sourcerpm);
	free(p->file);
}

void state_release_release(struct state_release *rec)
{
	for (size_t i = 0; i < rec->npackages; i++)
		state_release_package_release(&rec->packages[i]);
	for (size_t i = 0; i < rec->nimages; i++) {
		for (size_t k = 0; k < rec->images[i].nfiles; k++) {
			free(rec->images[i].files[k].name);
			free(rec->images[i].files[k].sha256);
		}
		free(rec->images[i].files);
		free(rec->images[i].config);
		free(rec->images[i].build);
	}
	free(rec->packages);
	free(rec->images);
	free(rec->repo);
	free(rec->name);
	free(rec->reason);
	free(rec->created);
	free(rec->commit);
	free(rec->channel);
	free(rec->snapshot);
	free(rec->pipeline);
	memset(rec, 0, sizeof(*rec));
}
