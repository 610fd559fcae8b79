#define _GNU_SOURCE
#include "server/releases.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "common/strv.h"
#include "server/html.h"
#include "state/layout.h"
#include "state/release.h"

#define HTML "text/html; charset=utf-8"
#define JSON "application/json"

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *release_json(const char *state_dir, const struct state_release *rel)
{
	json_t *images = json_array();
	char *url = server_html_url("/releases/", rel->repo, rel->name, NULL);
	char *record = server_html_url("/releases/", rel->repo, rel->name, "release.json");
	char *dir = state_release_dir(state_dir, rel->repo, rel->name);
	char *sbom_path = sy_xasprintf("%s/sbom.spdx.json", dir);
	/* Releases of an older shipyard have none. */
	char *sbom = sy_exists(sbom_path) ? server_html_url("/releases/", rel->repo, rel->name, "sbom.spdx.json")
					  : NULL;

	free(sbom_path);
	free(dir);

	for (size_t i = 0; i < rel->nimages; i++)
		json_array_append_new(images, json_pack("{s:s, s:s, s:I}", "config",
			rel->images[i].config, "build", rel->images[i].build, "files",
			(json_int_t)rel->images[i].nfiles));
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:s, s:s,"
			      " s:o}",
		"repo", rel->repo, "release", rel->name, "state",
		state_release_state_name(rel->state), "reason", jstr(rel->reason), "created",
		jstr(rel->created), "commit", jstr(rel->commit), "channel", jstr(rel->channel),
		"snapshot", jstr(rel->snapshot), "pipeline", jstr(rel->pipeline), "packages",
		(json_int_t)rel->npackages, "images", images, "url", url, "release_json", record,
		"sbom", jstr(sbom));
	free(sbom);
	free(record);
	free(url);
	return o;
}

json_t *server_releases_json(const char *state_dir, const char *repo)
{
	struct sy_strv repos = SY_STRV_INIT, names = SY_STRV_INIT;
	json_t *out = json_array();

	state_release_list(state_dir, &repos, &names);
	for (size_t i = 0; i < names.n; i++) {
		struct state_release rel;
		if ((repo && strcmp(repo, repos.items[i])) ||
		    state_release_read(state_dir, repos.items[i], names.items[i], &rel, NULL) != 1)
			continue;
		json_array_append_new(out, release_json(state_dir, &rel));
		state_release_release(&rel);
	}
	sy_strv_release(&repos);
	sy_strv_release(&names);
	return out;
}

/* ---- pages ---- */

static void respond(struct server_http_response *r, int status, const char *type, char *body,
		    size_t len)
{
	free(r->body);
	r->status = status;
	r->content_type = type;
	r->body = body;
	r->len = len;
}

static const char *jget(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

void server_releases_table(FILE *out, const json_t *list)
{
	const json_t *r;
	size_t i;

	fputs("<table><tr><th>Repository</th><th>Release</th><th>State</th><th>Commit</th>"
	      "<th>Snapshot</th><th>Packages</th><th>Images</th><th>Created</th></tr>\n", out);
	json_array_foreach(list, i, r) {
		fputs("<tr>", out);
		server_html_td(out, jget(r, "repo"));
		fputs("<td class=\"mono\"><a href=\"", out);
		server_html_escape(out, jget(r, "url"));
		fputs("\">", out);
		server_html_escape(out, jget(r, "release"));
		fputs("</a></td><td>", out);
		server_html_badge(out, jget(r, "state"));
		if (jget(r, "reason")) {
			fputs(" ", out);
			server_html_escape(out, jget(r, "reason"));
		}
		fputs("</td>", out);
		server_html_td(out, jget(r, "commit"));
		server_html_td(out, jget(r, "snapshot"));
		fprintf(out, "<td>%lld</td><td>%zu</td>",
			(long long)json_integer_value(json_object_get(r, "packages")),
			json_array_size(json_object_get(r, "images")));
		server_html_td(out, jget(r, "created"));
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
}

/* The page of the releases list. */
static void releases_page(FILE *out, const json_t *list, const char *title)
{
	server_html_page_begin(out, title, 0);
	fputs("<h1>", out);
	server_html_escape(out, title);
	fputs("</h1>\n", out);
	if (json_array_size(list))
		server_releases_table(out, list);
	else
		fputs("<p>No release yet.</p>\n", out);
	server_html_page_end(out);
}

/* A listing of the directory dir, shown as url (ends in '/'). */
static void listing_page(FILE *out, const char *dir, const char *url)
{
	struct sy_strv names = SY_STRV_INIT;

	sy_list_dir(dir, &names);
	server_html_page_begin(out, url, 0);
	fputs("<h1 class=\"mono\">", out);
	server_html_escape(out, url);
	fputs("</h1>\n<ul class=\"plain\"><li><a href=\"../\">../</a></li>", out);
	for (size_t i = 0; i < names.n; i++) {
		char *path = sy_xasprintf("%s/%s", dir, names.items[i]);
		struct stat st;
		if (lstat(path, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
			const char *slash = S_ISDIR(st.st_mode) ? "/" : "";
			fputs("<li><a href=\"", out);
			server_html_url_escape(out, names.items[i]);
			fprintf(out, "%s\">", slash);
			server_html_escape(out, names.items[i]);
			fputs(slash, out);
			fputs("</a>", out);
			if (S_ISREG(st.st_mode))
				fprintf(out, " <span class=\"muted\">(%lld bytes)</span>",
					(long long)st.st_size);
			fputs("</li>", out);
		}
		free(path);
	}
	fputs("</ul>\n", out);
	server_html_page_end(out);
	sy_strv_release(&names);
}

/* ---- routing ---- */

/* 1 when every '/'-separated component of rel is a plain name: not empty
 * (a trailing '/' aside), not starting with '.', no control character. */
static int plain_path(const char *rel)
{
	const char *p = rel;

	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 0 || p[0] == '.')
			return 0;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\')
				return 0;
		p += n;
		if (*p == '/')
			p++;
	}
	return 1;
}

static const char *content_type(const char *path)
{
	size_t n = strlen(path);
	static const struct { const char *ext, *type; } types[] = {
		{ ".json", JSON }, { ".xml", "application/xml" }, { ".rpm", "application/x-rpm" },
		{ ".gz", "application/gzip" }, { ".asc", "text/plain; charset=utf-8" },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++) {
		size_t k = strlen(types[i].ext);
		if (n > k && !strcmp(path + n - k, types[i].ext))
			return types[i].type;
	}
	return "application/octet-stream";
}

static void not_found(struct server_http_response *r)
{
	server_http_text(r, 404, "text/plain", "not found\n");
}

/* /releases/<rel>: the list of releases (rel "" or "<repo>/"), a
 * directory's listing or a file under <state>/releases. */
static void serve_path(const char *state_dir, const char *rel, struct server_http_response *r)
{
	char *root = state_releases_dir(state_dir), *path = NULL, real_root[PATH_MAX],
	     real[PATH_MAX];
	struct stat st;
	FILE *out;
	char *text = NULL;
	size_t len = 0, n;
	const char *slash = strchr(rel, '/');

	if (!plain_path(rel)) {
		not_found(r);
		goto out;
	}
	if (!*rel || (slash && !slash[1])) {
		char *repo = *rel ? sy_xstrndup(rel, (size_t)(slash - rel)) : NULL;
		json_t *list = server_releases_json(state_dir, repo);
		out = open_memstream(&text, &len);
		releases_page(out, list, repo ? repo : "Releases");
		fclose(out);
		respond(r, 200, HTML, text, len);
		json_decref(list);
		free(repo);
		goto out;
	}
	path = sy_xasprintf("%s/%s", root, rel);
	if (!realpath(root, real_root) || !realpath(path, real) || stat(real, &st) < 0) {
		not_found(r);
		goto out;
	}
	n = strlen(real_root);
	/* A link in a release (an old one's repo) must not lead out of it. */
	if (strncmp(real, real_root, n) || (real[n] && real[n] != '/')) {
		not_found(r);
	} else if (S_ISDIR(st.st_mode)) {
		if (rel[strlen(rel) - 1] != '/') {
			/* Relative links in the listing need the trailing '/'. */
			r->status = 301;
			r->location = sy_xasprintf("/releases/%s/", rel);
			server_http_text(r, 301, "text/plain", "moved\n");
			goto out;
		}
		char *url = sy_xasprintf("/releases/%s", rel);
		out = open_memstream(&text, &len);
		listing_page(out, real, url);
		fclose(out);
		respond(r, 200, HTML, text, len);
		free(url);
	} else if (S_ISREG(st.st_mode)) {
		r->status = 200;
		r->content_type = content_type(real);
		r->file_path = sy_xstrdup(real);
	} else {
		not_found(r);
	}
out:
	free(path);
	free(root);
}

int server_releases_route(const char *state_dir, const char *method, const char *path,
			  struct server_http_response *r)
{
	int api = !strcmp(path, "/api/releases");

	if (!api && strcmp(path, "/releases") && strncmp(path, "/releases/", 10))
		return 0;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		server_http_text(r, 405, "text/plain", "GET or HEAD only\n");
		return 1;
	}
	if (api) {
		json_t *doc = json_pack("{s:o}", "releases", server_releases_json(state_dir, NULL));
		char *text = json_dumps(doc, JSON_INDENT(2));
		json_decref(doc);
		respond(r, 200, JSON, text, strlen(text));
	} else if (!strcmp(path, "/releases")) {
		r->location = sy_xstrdup("/releases/");
		server_http_text(r, 301, "text/plain", "moved\n");
	} else {
		serve_path(state_dir, path + 10, r);
	}
	return 1;
}
