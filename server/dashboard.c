/* The dashboard's routes, and the files it serves: logs (whole, or the
 * bytes from an offset for a page that follows them) and image artifacts.
 * The documents come from dashboard_api.c, their pages from
 * dashboard_pages.c. */
#include "server/dashboard-private.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/logtimes.h"
#include "common/log.h"
#include "imager/images.h"
#include "state/layout.h"

#define HTML "text/html; charset=utf-8"
#define TEXT "text/plain; charset=utf-8"
#define JSON "application/json"
#define METRICS "text/plain; version=0.0.4; charset=utf-8"

/* Pipelines listed when the query gives no limit, and the most it may ask. */
#define LIST_DEFAULT 100
#define LIST_MAX 1000

static int ends_with(const char *s, const char *suffix, size_t *len);

/* ---- responses ---- */

static void respond_buffer(struct server_http_response *resp, int status, const char *type,
			   char *body, size_t len)
{
	free(resp->body);
	resp->status = status;
	resp->content_type = type;
	resp->body = body;
	resp->len = len;
}

/* Answers with the JSON document doc (released). */
static void respond_json(struct server_http_response *resp, int status, json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2));

	json_decref(doc);
	if (!text) {
		server_http_text(resp, 500, TEXT, "cannot encode JSON\n");
		return;
	}
	respond_buffer(resp, status, JSON, text, strlen(text));
}

static void respond_error(struct server_http_response *resp, int status, const char *msg)
{
	char *text = sy_xasprintf("%s\n", msg);

	respond_buffer(resp, status, TEXT, text, strlen(text));
}

/* A page being written into memory. */
struct page {
	FILE *out;
	char *text;
	size_t len;
};

static FILE *page_open(struct page *pg)
{
	pg->text = NULL;
	pg->len = 0;
	pg->out = open_memstream(&pg->text, &pg->len);
	if (!pg->out)
		abort(); /* out of memory, as every allocation here */
	return pg->out;
}

static void page_respond(struct page *pg, struct server_http_response *resp)
{
	fclose(pg->out);
	respond_buffer(resp, 200, HTML, pg->text, pg->len);
}

/* ---- files ---- */

const char *dashboard_content_type(const char *name)
{
	static const char *const types[][2] = {
		{ ".tar.gz", "application/gzip" }, { ".tar.xz", "application/x-xz" },
		{ ".tar", "application/x-tar" },   { ".json", JSON },
		{ ".iso", "application/x-iso9660-image" }, { ".qcow2", "application/x-qemu-disk" },
		{ ".cpio", "application/x-cpio" }, { ".log", TEXT },
	};
	size_t len;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (ends_with(name, types[i][0], &len))
			return types[i][1];
	return "application/octet-stream";
}

char *dashboard_resolve_under(const char *root, const char *path)
{
	char real_root[PATH_MAX], real[PATH_MAX];
	struct stat st;
	size_t n;

	if (!realpath(root, real_root) || !realpath(path, real))
		return NULL;
	n = strlen(real_root);
	if (strncmp(real, real_root, n) || real[n] != '/' || stat(real, &st) || !S_ISREG(st.st_mode))
		return NULL;
	return sy_xstrdup(real);
}

int dashboard_name_is_safe(const char *name)
{
	const char *c = name;

	if (!*name || *name == '/')
		return 0;
	for (; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
			return 0;
	for (const char *p = name; p;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && !strncmp(p, "..", 2)))
			return 0;
		p = slash ? slash + 1 : NULL;
	}
	return 1;
}

/* Reads up to SERVER_DASHBOARD_LOG_CHUNK bytes of path from offset. */
static void respond_chunk(struct server_http_response *resp, const char *path,
			  unsigned long long offset)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	char *buf = NULL;
	ssize_t got = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		respond_error(resp, 404, "not found");
		return;
	}
	if ((unsigned long long)st.st_size > offset) {
		unsigned long long want = (unsigned long long)st.st_size - offset;
		if (want > SERVER_DASHBOARD_LOG_CHUNK)
			want = SERVER_DASHBOARD_LOG_CHUNK;
		buf = sy_xmalloc((size_t)want + 1);
		got = pread(fd, buf, (size_t)want, (off_t)offset);
		if (got < 0)
			got = 0;
		buf[got] = '\0';
	}
	close(fd);
	respond_buffer(resp, 200, TEXT, buf ? buf : sy_xstrdup(""), (size_t)got);
}

/* The times of the lines of the log at path (NULL: none yet) that start at
 * byte from or later (builder/logtimes.h): {"start": ms since the epoch or
 * null when the log has no times, "times": [[offset, ms since start], ...],
 * "more": whether a later request has more}. */
static void respond_times(struct server_http_response *resp, const char *path,
			  unsigned long long from)
{
	struct builder_log_times_read r = BUILDER_LOG_TIMES_READ_INIT;
	struct sy_error err = { { 0 } };
	json_t *times = json_array();
	char *text;

	if (path && builder_log_times_read(path, from, SERVER_DASHBOARD_LOG_TIMES, &r, &err)) {
		/* The message names a path of the state directory: logged, not
		 * answered. */
		sy_log_warn("log times: %s", err.msg);
		json_decref(times);
		respond_error(resp, 500, "cannot read the times of this log");
		return;
	}
	for (size_t i = 0; i < r.n; i++)
		json_array_append_new(times, json_pack("[I,I]", (json_int_t)r.items[i].offset,
						       (json_int_t)r.items[i].ms));
	json_t *doc = json_pack("{s:o,s:o,s:b}", "start",
				r.start_ms >= 0 ? json_integer(r.start_ms) : json_null(), "times",
				times, "more", r.more);
	builder_log_times_read_release(&r);
	/* Compact: a page of records is a few hundred kilobytes indented. */
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!text)
		server_http_text(resp, 500, TEXT, "cannot encode JSON\n");
	else
		respond_buffer(resp, 200, JSON, text, strlen(text));
}

/* A byte count of the query's name parameter into *n: 1, 0 when absent, -1
 * (answered 400) when not a count. */
static int query_count(struct server_http_response *resp, const char *query, const char *name,
		       unsigned long long *n)
{
	char value[32], *end = NULL, *msg;
	const char *s = server_http_query_get(query, name, value, sizeof(value));

	if (!s)
		return 0;
	errno = 0;
	*n = strtoull(s, &end, 10);
	if (!*s || *end || errno || *s == '-') {
		msg = sy_xasprintf("%s: not a byte count", name);
		respond_error(resp, 400, msg);
		free(msg);
		return -1;
	}
	return 1;
}

/* Answers a log file: path resolved under root (NULL path or outside root:
 * 404, or an empty chunk when missing is allowed), the whole file, with
 * ?offset=N the bytes from N, or with ?times=N the times of its lines from
 * byte N (respond_times). */
static void respond_log(struct server_http_response *resp, const char *root, const char *path,
			const char *query, int missing_is_empty)
{
	unsigned long long offset = 0, from = 0;
	int off = query_count(resp, query, "offset", &offset);
	int times = off < 0 ? -1 : query_count(resp, query, "times", &from);
	char *real = path && times >= 0 ? dashboard_resolve_under(root, path) : NULL;

	if (off < 0 || times < 0)
		goto out;
	if (times && (real || missing_is_empty))
		respond_times(resp, real, from);
	else if (!real && off && missing_is_empty)
		server_http_text(resp, 200, TEXT, "");
	else if (!real)
		respond_error(resp, 404, "no such log");
	else if (off)
		respond_chunk(resp, real, offset);
	else {
		resp->status = 200;
		resp->content_type = TEXT;
		resp->file_path = real;
		real = NULL;
	}
out:
	free(real);
}

/* ---- routes ---- */

/* Reads pipeline id into p. Returns 1, or 0 with resp answered (404, 500). */
static int get_pipeline(const struct server_dashboard *d, long id,
			struct server_store_pipeline *p, struct server_http_response *resp)
{
	struct sy_error err = { { 0 } };
	int rc = server_store_get(d->store, id, p, &err);

	if (rc < 0)
		respond_error(resp, 500, err.msg);
	else if (rc == 0)
		respond_error(resp, 404, "no such pipeline");
	return rc > 0;
}

/* ---- the list's query ---- */

char *dashboard_cursor_encode(long id)
{
	char plain[32], *hex = sy_xmalloc(2 * sizeof(plain) + 1);
	int n = snprintf(plain, sizeof(plain), "v1:%ld", id);

	/* Hex of a versioned text: opaque to clients, free to change. */
	for (int i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", (unsigned char)plain[i]);
	return hex;
}

/* The pipeline id of a cursor, or 0 when it is not one. */
static long cursor_decode(const char *hex)
{
	char plain[32], *end;
	size_t n = strlen(hex);
	long id;

	if (n % 2 || n / 2 >= sizeof(plain))
		return 0;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			return 0;
		plain[i] = (char)v;
	}
	plain[n / 2] = '\0';
	if (strncmp(plain, "v1:", 3) || plain[3] < '1' || plain[3] > '9')
		return 0;
	errno = 0;
	id = strtol(plain + 3, &end, 10);
	return errno || *end ? 0 : id;
}

/* One parameter of the list's query. */
static int list_param(const struct server_dashboard *d, const char *key, const char *value,
		      struct dashboard_list_query *q, int *internal, struct sy_error *err)
{
	enum server_pipeline_state state;
	char *end;

	if (!strcmp(key, "limit")) {
		errno = 0;
		long n = strtol(value, &end, 10);
		if (!*value || *end || errno || n < 1 || n > LIST_MAX)
			return sy_error_set(err, "limit: '%s' is not a number from 1 to %d", value,
					    LIST_MAX);
		q->filter.max = (size_t)n;
	} else if (!strcmp(key, "cursor")) {
		if (*value && !(q->filter.before = cursor_decode(value)))
			return sy_error_set(err, "cursor: '%s' is not a cursor of this list", value);
	} else if (!strcmp(key, "state")) {
		if (!*value)
			return 0;
		if (server_pipeline_state_parse(value, &state))
			return sy_error_set(err, "state: '%s' is not a pipeline state (queued, running,"
					    " success, failure, error, cancelled, superseded)", value);
		q->filter.state = (int)state;
		q->state = sy_xstrdup(value);
	} else if (!strcmp(key, "branch")) {
		if (!*value)
			return 0;
		int known = server_store_ref_known(d->store, value, err);
		if (known <= 0) {
			*internal = known < 0;
			return known < 0 ? -1 : sy_error_set(err, "branch: no pipeline of '%s'", value);
		}
		q->filter.ref = q->branch = sy_xstrdup(value);
	} else if (!strcmp(key, "repo")) {
		if (!*value)
			return 0;
		size_t i = 0;
		while (d->conf && i < d->conf->nrepos && strcmp(d->conf->repos[i].name, value))
			i++;
		if (d->conf && i == d->conf->nrepos)
			return sy_error_set(err, "repo: '%s' is not a configured repository", value);
		q->filter.repo = q->repo = sy_xstrdup(value);
	} else {
		return sy_error_set(err, "%s: unknown parameter (limit, cursor, state, branch, repo)",
				    key);
	}
	return 0;
}

int dashboard_list_query_parse(const struct server_dashboard *d, const char *query,
			       struct dashboard_list_query *q, int *internal,
			       struct sy_error *err)
{
	memset(q, 0, sizeof(*q));
	q->filter.max = LIST_DEFAULT;
	q->filter.state = -1;
	*internal = 0;
	for (const char *p = query; p && *p;) {
		const char *amp = strchr(p, '&'), *eq;
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		char *pair = sy_xstrndup(p, len);
		int rc = 0;
		if (*pair) {
			eq = strchr(pair, '=');
			if (eq)
				pair[eq - pair] = '\0';
			rc = list_param(d, pair, eq ? pair + (eq - pair) + 1 : "", q, internal, err);
		}
		free(pair);
		if (rc) {
			dashboard_list_query_release(q);
			return -1;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

void dashboard_list_query_release(struct dashboard_list_query *q)
{
	free(q->state);
	free(q->branch);
	free(q->repo);
	memset(q, 0, sizeof(*q));
}

static void route_list(const struct server_dashboard *d, int api, const char *query,
		       struct server_http_response *resp)
{
	struct sy_error err = { { 0 } };
	struct dashboard_list_query q;
	int internal;
	json_t *doc;
	struct page pg;

	if (dashboard_list_query_parse(d, query, &q, &internal, &err)) {
		if (api)
			respond_json(resp, internal ? 500 : 400, json_pack("{s:s}", "error", err.msg));
		else
			respond_error(resp, internal ? 500 : 400, err.msg);
		return;
	}
	doc = dashboard_pipelines_json(d, &q, api ? "/api/pipelines" : "/", &err);
	if (!doc) {
		respond_error(resp, 500, err.msg);
	} else if (api) {
		respond_json(resp, 200, doc);
	} else {
		dashboard_page_pipelines(page_open(&pg), doc, d->conf);
		page_respond(&pg, resp);
		json_decref(doc);
	}
	dashboard_list_query_release(&q);
}

/* /pipelines/<id> and /api/pipelines/<id>. */
static void route_pipeline(const struct server_dashboard *d, long id, int api,
			   struct server_http_response *resp)
{
	struct server_store_pipeline p;
	struct sy_error err = { { 0 } };
	struct page pg;

	memset(&p, 0, sizeof(p));
	if (!get_pipeline(d, id, &p, resp))
		return;
	json_t *doc = dashboard_pipeline_detail_json(d, &p, &err);
	if (!doc) {
		respond_error(resp, 500, err.msg);
	} else if (api) {
		respond_json(resp, 200, doc);
	} else {
		dashboard_page_pipeline(page_open(&pg), doc);
		page_respond(&pg, resp);
		json_decref(doc);
	}
	server_store_pipeline_release(&p);
}

/* /pipelines/<id>/log[.html]. */
static void route_pipeline_log(const struct server_dashboard *d, long id, int html,
			       const char *query, struct server_http_response *resp)
{
	struct server_store_pipeline p;
	struct page pg;

	memset(&p, 0, sizeof(p));
	if (!get_pipeline(d, id, &p, resp))
		return;
	if (html) {
		json_t *doc = dashboard_pipeline_json(&p);
		char *src = sy_xasprintf("/pipelines/%ld/log", id);
		dashboard_page_follow(page_open(&pg), doc, "pipeline log", src);
		page_respond(&pg, resp);
		free(src);
		json_decref(doc);
	} else {
		char *root = dashboard_run_dir(d, id);
		char *path = dashboard_run_file(d, id, "pipeline.log");
		respond_log(resp, root, path, query, 1);
		free(path);
		free(root);
	}
	server_store_pipeline_release(&p);
}

/* /pipelines/<id>/jobs/<name>/log[.html]. */
static void route_job_log(const struct server_dashboard *d, long id, const char *name, int html,
			  const char *query, struct server_http_response *resp)
{
	struct server_store_pipeline p;
	struct sy_error err = { { 0 } };
	const char *source;
	struct page pg;

	if (!dashboard_name_is_safe(name)) {
		respond_error(resp, 400, "job name: not a plain name");
		return;
	}
	memset(&p, 0, sizeof(p));
	if (!get_pipeline(d, id, &p, resp))
		return;
	json_t *jobs = dashboard_load_jobs(d, &p, &source, &err), *job, *found = NULL;
	size_t i;
	json_array_foreach(jobs, i, job)
		if (!found && jget(job, "name") && !strcmp(jget(job, "name"), name))
			found = job;
	char *root = NULL, *file = jobs ? dashboard_job_log_file(d, &p, found, name, &root) : NULL;
	char *src = dashboard_job_log_url(id, name);

	if (!root)
		root = dashboard_run_dir(d, id);
	if (!jobs) {
		respond_error(resp, 500, err.msg);
	} else if (html && (found || file)) {
		json_t *doc = dashboard_pipeline_json(&p);
		char *what = sy_xasprintf("job %s", name);
		dashboard_page_follow(page_open(&pg), doc, what, src);
		page_respond(&pg, resp);
		free(what);
		json_decref(doc);
	} else if (html) {
		respond_error(resp, 404, "no such job");
	} else {
		respond_log(resp, root, file, query, found != NULL);
	}
	free(root);
	free(src);
	free(file);
	json_decref(jobs);
	server_store_pipeline_release(&p);
}

/* Parses "<digits>" at s into *id; returns what follows, or NULL. */
static const char *parse_id(const char *s, long *id)
{
	char *end;

	if (*s < '0' || *s > '9')
		return NULL;
	errno = 0;
	*id = strtol(s, &end, 10);
	return errno || *id <= 0 ? NULL : end;
}

/* 1 when s ends with suffix; *len gets the length before it. */
static int ends_with(const char *s, const char *suffix, size_t *len)
{
	size_t n = strlen(s), k = strlen(suffix);

	if (n < k || strcmp(s + n - k, suffix))
		return 0;
	*len = n - k;
	return 1;
}

/* Everything under /pipelines/. */
static void route_pipelines(const struct server_dashboard *d, const char *rest, const char *query,
			    struct server_http_response *resp)
{
	long id;
	const char *tail = parse_id(rest, &id);
	size_t len;

	if (!tail) {
		respond_error(resp, 404, "no such pipeline");
	} else if (!*tail || !strcmp(tail, "/")) {
		route_pipeline(d, id, 0, resp);
	} else if (!strcmp(tail, "/log") || !strcmp(tail, "/log.html")) {
		route_pipeline_log(d, id, !strcmp(tail, "/log.html"), query, resp);
	} else if (!strncmp(tail, "/jobs/", 6) &&
		   (ends_with(tail + 6, "/log.html", &len) || ends_with(tail + 6, "/log", &len))) {
		char *name = sy_xstrndup(tail + 6, len);
		route_job_log(d, id, name, ends_with(tail, ".html", &len), query, resp);
		free(name);
	} else {
		respond_error(resp, 404, "not found");
	}
}

/* /images/<config>/<id>/<file>: a file of an image build (imager/images.h),
 * resolved under <state>/images. */
static void route_image_file(const struct server_dashboard *d, const char *rel,
			     struct server_http_response *resp)
{
	const char *id = strchr(rel, '/'), *file = id ? strchr(id + 1, '/') : NULL;
	char *root = state_images_dir(d->state_dir), *real = NULL;

	if (dashboard_name_is_safe(rel) && file && !strchr(file + 1, '/')) {
		char *config = sy_xstrndup(rel, (size_t)(id - rel));
		char *build = sy_xstrndup(id + 1, (size_t)(file - id - 1));
		char *path = imager_build_file(d->state_dir, config, build, file + 1);
		real = dashboard_resolve_under(root, path);
		free(path);
		free(build);
		free(config);
	}
	if (!real) {
		respond_error(resp, 404, "not found");
	} else {
		resp->status = 200;
		resp->content_type = dashboard_content_type(real);
		resp->file_path = real;
	}
	free(root);
}

static void route_metrics(const struct server_dashboard *d, struct server_http_response *resp)
{
	struct sy_error err = { { 0 } };
	char *text = NULL;

	if (!d->metrics) {
		respond_error(resp, 404, "metrics are not collected");
	} else if (server_metrics_render(d->metrics, d->store,
					  d->queue_length ? d->queue_length(d->queue_arg) : 0, &text,
					  &err)) {
		respond_error(resp, 500, err.msg);
	} else {
		respond_buffer(resp, 200, METRICS, text, strlen(text));
	}
}

/* Answers a page or its API document, made by make, rendered by render. */
static void route_doc(const struct server_dashboard *d, int api,
		      json_t *(*make)(const struct server_dashboard *),
		      void (*render)(FILE *, const json_t *), struct server_http_response *resp)
{
	json_t *doc = make(d);
	struct page pg;

	if (api) {
		respond_json(resp, 200, doc);
		return;
	}
	render(page_open(&pg), doc);
	page_respond(&pg, resp);
	json_decref(doc);
}

static int starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* 1 when path is one of the dashboard's. */
static int is_dashboard_path(const char *path)
{
	static const char *const exact[] = { "/", "/healthz", "/metrics", "/repositories",
					     "/images", "/pipelines", "/api", NULL };

	for (size_t i = 0; exact[i]; i++)
		if (!strcmp(path, exact[i]))
			return 1;
	return starts_with(path, "/pipelines/") || starts_with(path, "/images/") ||
	       starts_with(path, "/api/");
}

int server_dashboard_route(const struct server_dashboard *d, const char *method, const char *path,
			    const char *query, struct server_http_response *resp)
{
	long id;
	const char *tail;

	if (!path || !is_dashboard_path(path))
		return 0;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		respond_error(resp, 405, "GET only");
	else if (!strcmp(path, "/healthz"))
		server_http_text(resp, 200, TEXT, "ok\n");
	else if (!strcmp(path, "/") || !strcmp(path, "/pipelines"))
		route_list(d, 0, query, resp);
	else if (!strcmp(path, "/api/pipelines"))
		route_list(d, 1, query, resp);
	else if (!strcmp(path, "/api/openapi.json"))
		server_http_text(resp, 200, JSON, dashboard_openapi_json);
	else if (starts_with(path, "/api/pipelines/") &&
		 (tail = parse_id(path + 15, &id)) && !*tail)
		route_pipeline(d, id, 1, resp);
	else if (starts_with(path, "/pipelines/"))
		route_pipelines(d, path + 11, query, resp);
	else if (!strcmp(path, "/repositories") || !strcmp(path, "/api/repositories"))
		route_doc(d, path[1] == 'a', dashboard_repositories_json, dashboard_page_repositories, resp);
	else if (!strcmp(path, "/images") || !strcmp(path, "/api/images"))
		route_doc(d, path[1] == 'a', dashboard_images_json, dashboard_page_images, resp);
	else if (starts_with(path, "/images/"))
		route_image_file(d, path + 8, resp);
	else if (!strcmp(path, "/metrics"))
		route_metrics(d, resp);
	else
		respond_error(resp, 404, "not found");
	return 1;
}
