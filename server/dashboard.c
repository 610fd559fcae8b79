#include "server/dashboard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/strv.h"
#include "repo-publish/publish.h"
#include "state/layout.h"

#define HTML "text/html; charset=utf-8"
#define TEXT "text/plain; charset=utf-8"
#define JSON "application/json"
#define METRICS "text/plain; version=0.0.4; charset=utf-8"

/* Pipelines listed when the query gives no limit, and the most it may ask. */
#define LIST_DEFAULT 100
#define LIST_MAX 1000

/* The one stylesheet of every page (inline: no external assets). */
static const char stylesheet[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1f2328;"
	"background:#f6f8fa}"
	"header{background:#24292f;color:#fff;padding:.6em 1.2em}"
	"header a{color:#fff;margin-right:1.2em;text-decoration:none;font-weight:600}"
	"main{padding:1em 1.2em;max-width:1400px}"
	"h1{font-size:1.4em;margin:.2em 0 .6em}h2{font-size:1.15em;margin:1.4em 0 .5em}"
	"table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:1em}"
	"th,td{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:top}"
	"th{background:#eaeef2}td.num{text-align:right}"
	"table.kv{width:auto}table.kv th{width:10em}"
	"code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
	"font-size:13px}"
	"pre{background:#fff;border:1px solid #d0d7de;padding:.8em;overflow-x:auto;"
	"white-space:pre-wrap;word-break:break-all}"
	".badge{display:inline-block;padding:0 .55em;border-radius:1em;color:#fff;"
	"font-size:12px;font-weight:600;background:#6e7781}"
	".s-success,.s-built,.s-reused,.s-unchanged{background:#1a7f37}"
	".s-failure,.s-failed{background:#cf222e}.s-error{background:#82071e}"
	".s-running{background:#0969da}.s-queued{background:#8c959f}"
	".s-blocked{background:#bc4c00}"
	".s-cancelled,.s-superseded,.s-skipped{background:#57606a}"
	".muted{color:#57606a}ul.plain{margin:0;padding-left:1.2em}";

/* ---- output helpers ---- */

void server_html_escape(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
	}
}

/* Writes s percent-encoded for a URL path: everything but RFC 3986's
 * unreserved characters and '/' (then HTML-safe as well). */
static void url_escape(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~/", c))
			fputc(c, out);
		else
			fprintf(out, "%%%02X", c);
	}
}

/* "/pipelines/<id>/jobs/<name percent-encoded>/log", newly allocated. */
static char *job_log_url(long id, const char *name)
{
	char *url = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&url, &len);

	fprintf(f, "/pipelines/%ld/jobs/", id);
	url_escape(f, name);
	fputs("/log", f);
	fclose(f);
	return url;
}

/* s as a JSON string; bytes that are not valid UTF-8 make every byte above
 * 0x7f a '?' (jansson refuses invalid UTF-8). NULL gives JSON null. */
static json_t *jstr(const char *s)
{
	json_t *j;

	if (!s)
		return json_null();
	if ((j = json_string(s)))
		return j;
	char *copy = sy_xstrdup(s);
	for (char *c = copy; *c; c++)
		if ((unsigned char)*c > 0x7f)
			*c = '?';
	j = json_string(copy);
	free(copy);
	return j ? j : json_null();
}

/* The string member key of o, or NULL. */
static const char *jget(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void fmt_time(char buf[32], double t)
{
	time_t secs = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&secs, &tm))
		snprintf(buf, 32, "-");
	else
		strftime(buf, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static void fmt_duration(char buf[32], const json_t *seconds)
{
	double s = json_number_value(seconds);

	if (!json_is_number(seconds))
		snprintf(buf, 32, "-");
	else if (s < 60)
		snprintf(buf, 32, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, 32, "%dm%02ds", (int)s / 60, (int)s % 60);
	else
		snprintf(buf, 32, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

/* A coloured state badge; the class keeps only [a-z] of the state. */
static void badge(FILE *out, const char *state)
{
	fputs("<span class=\"badge s-", out);
	for (const char *c = state ? state : ""; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			fputc(*c, out);
	fputs("\">", out);
	server_html_escape(out, state ? state : "unknown");
	fputs("</span>", out);
}

/* The page head (title escaped) with the navigation; refresh_s > 0 reloads
 * the page every refresh_s seconds (a pipeline still running). */
static void page_begin(FILE *out, const char *title, int refresh_s)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
	      out);
	if (refresh_s > 0)
		fprintf(out, "<meta http-equiv=\"refresh\" content=\"%d\">", refresh_s);
	fputs("<title>", out);
	server_html_escape(out, title);
	fprintf(out, " - shipyard</title><style>%s</style></head><body>"
		     "<header><a href=\"/\">shipyard</a><a href=\"/\">Pipelines</a>"
		     "<a href=\"/repositories\">Repositories</a><a href=\"/images\">Images</a>"
		     "<a href=\"/metrics\">Metrics</a></header><main>\n",
		stylesheet);
}

static void page_end(FILE *out)
{
	fputs("</main></body></html>\n", out);
}

/* A text cell (escaped). */
static void td(FILE *out, const char *text)
{
	fputs("<td>", out);
	server_html_escape(out, text ? text : "");
	fputs("</td>", out);
}

/* The items of a JSON array of strings joined with sep, escaped. */
static void put_strings(FILE *out, const json_t *a, const char *sep)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) {
		if (i)
			fputs(sep, out);
		server_html_escape(out, json_string_value(v));
	}
}

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

/* The resolved path of path when it is a regular file strictly under root
 * once every symbolic link of both is resolved; NULL otherwise. */
static char *resolve_under(const char *root, const char *path)
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

/* 1 when name is a relative path of plain components: no "", "." or ".."
 * component, no leading '/', no backslash or control character. */
static int name_is_safe(const char *name)
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

/* The value of key in a "k=v&k2=v2" query, copied into buf; NULL when absent. */
static const char *query_get(const char *query, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);

	for (const char *p = query; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			snprintf(buf, size, "%.*s", (int)(len - klen - 1), p + klen + 1);
			return buf;
		}
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
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

/* Answers a log file: path resolved under root (NULL path or outside root:
 * 404, or an empty chunk when missing is allowed), the whole file, or with
 * ?offset=N the bytes from N. */
static void respond_log(struct server_http_response *resp, const char *root, const char *path,
			const char *query, int missing_is_empty)
{
	char value[32], *end = NULL;
	const char *off = query_get(query, "offset", value, sizeof(value));
	unsigned long long offset = 0;
	char *real = path ? resolve_under(root, path) : NULL;

	if (off) {
		errno = 0;
		offset = strtoull(off, &end, 10);
		if (!*off || *end || errno || *off == '-') {
			respond_error(resp, 400, "offset: not a byte count");
			goto out;
		}
	}
	if (!real && off && missing_is_empty)
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

/* The names in dir (not starting with '.'), sorted; empty when unreadable. */
static void list_dir(const char *dir, struct sy_strv *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			sy_strv_push(out, e->d_name);
	if (d)
		closedir(d);
	sy_strv_sort_unique(out);
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- data (the JSON API; the pages render the same documents) ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int is_active(const char *state)
{
	return state && (!strcmp(state, "queued") || !strcmp(state, "running"));
}

/* "/pipelines/<id><suffix>" as a JSON string. */
static json_t *pipeline_link(long id, const char *suffix)
{
	char *url = sy_xasprintf("/pipelines/%ld%s", id, suffix);
	json_t *j = json_string(url);

	free(url);
	return j;
}

/* The fields of p, with its duration (so far, while running) and links. */
static json_t *pipeline_json(const struct server_store_pipeline *p)
{
	json_t *o = json_object();
	double end = p->finished > 0 ? p->finished : now_s();

	json_object_set_new(o, "id", json_integer(p->id));
	json_object_set_new(o, "repo", jstr(p->repo));
	json_object_set_new(o, "trigger", jstr(p->trigger));
	json_object_set_new(o, "ref", jstr(p->ref));
	json_object_set_new(o, "channel", jstr(p->channel));
	json_object_set_new(o, "base", jstr(p->base));
	json_object_set_new(o, "head", jstr(p->head));
	json_object_set_new(o, "release", jstr(p->release));
	json_object_set_new(o, "pr", p->pr ? json_integer(p->pr) : json_null());
	json_object_set_new(o, "state", jstr(p->state));
	json_object_set_new(o, "created", json_real(p->created));
	json_object_set_new(o, "started", p->started > 0 ? json_real(p->started) : json_null());
	json_object_set_new(o, "finished", p->finished > 0 ? json_real(p->finished) : json_null());
	json_object_set_new(o, "duration", p->started > 0 && (p->finished > 0 || is_active(p->state))
						   ? json_real(end - p->started) : json_null());
	json_object_set_new(o, "attempts", json_integer(p->attempts));
	json_object_set_new(o, "summary", jstr(p->summary));
	json_object_set_new(o, "url", pipeline_link(p->id, ""));
	json_object_set_new(o, "log", pipeline_link(p->id, "/log"));
	return o;
}

/* The run directory of p: <state>/pipelines/<id> (state/layout.h). */
static char *run_dir_of(const struct server_dashboard *d, long id)
{
	char name[32];

	snprintf(name, sizeof(name), "%ld", id);
	return state_pipeline_dir(d->state_dir, name);
}

/* <run directory of p>/<name>, parsed as JSON, or NULL. */

static json_t *load_logs_json(const struct server_dashboard *d,
			      const struct server_store_pipeline *p, const char *name)
{
	char *dir = run_dir_of(d, p->id), *path = sy_xasprintf("%s/%s", dir, name);
	json_t *doc = json_load_file(path, 0, NULL);

	free(path);
	free(dir);
	if (doc && !json_is_object(doc)) {
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

static json_t *job_json(const char *name, const char *state, const char *reason, double seconds,
			const char *file)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", jstr(name));
	json_object_set_new(o, "state", jstr(state));
	json_object_set_new(o, "reason", jstr(reason));
	json_object_set_new(o, "seconds", json_real(seconds));
	json_object_set_new(o, "file", jstr(file)); /* internal: removed before answering */
	return o;
}

/* The jobs of p: from the store, else from build-summary.json. *source is
 * "store", "build-summary" or NULL (none). Returns an array, or NULL with
 * err when the store cannot be read. */
static json_t *load_jobs(const struct server_dashboard *d, const struct server_store_pipeline *p,
			 const char **source, struct sy_error *err)
{
	struct server_store_job *jobs = NULL;
	size_t n = 0;
	json_t *out = json_array();

	*source = NULL;
	if (server_store_jobs(d->store, p->id, &jobs, &n, err)) {
		json_decref(out);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(out, job_json(jobs[i].name, jobs[i].state, jobs[i].reason,
						    jobs[i].seconds, jobs[i].log));
		server_store_job_release(&jobs[i]);
	}
	free(jobs);
	if (n) {
		*source = "store";
		return out;
	}
	json_t *summary = load_logs_json(d, p, "build-summary.json"), *job;
	size_t i;
	json_array_foreach(json_object_get(summary, "jobs"), i, job) {
		const char *name = jget(job, "spec");
		if (name)
			json_array_append_new(out, job_json(name, jget(job, "state"), jget(job, "reason"),
							    json_number_value(json_object_get(job, "seconds")),
							    jget(job, "log")));
	}
	if (json_array_size(out))
		*source = "build-summary";
	json_decref(summary);
	return out;
}

/* The log file of job (an element of load_jobs, or NULL) named name of p:
 * its recorded file, else <run directory of p>/logs/<name>.log, resolved
 * under the run directory of p; NULL when neither is there. */
static char *job_log_file(const struct server_dashboard *d,
			  const struct server_store_pipeline *p, const json_t *job, const char *name)
{
	char *root = run_dir_of(d, p->id), *real = NULL;
	const char *file = jget(job, "file");

	if (file)
		real = resolve_under(root, file);
	if (!real && name_is_safe(name)) {
		char *guess = sy_xasprintf("%s/logs/%s.log", root, name);
		real = resolve_under(root, guess);
		free(guess);
	}
	free(root);
	return real;
}

/* How far p has come: {"done", "total", "running": [job names]}. total is
 * the plan's builds and images, or the jobs recorded when there are more
 * (a plan not saved yet). */
static json_t *progress_json(const json_t *plan, const json_t *jobs)
{
	size_t total = json_array_size(json_object_get(plan, "rebuild")) +
		       json_array_size(json_object_get(plan, "images"));
	size_t done = 0, i;
	json_t *running = json_array(), *job;

	json_array_foreach(jobs, i, job) {
		if (is_active(jget(job, "state")))
			json_array_append_new(running, jstr(jget(job, "name")));
		else
			done++;
	}
	if (json_array_size(jobs) > total)
		total = json_array_size(jobs);
	return json_pack("{s:I, s:I, s:o}", "done", (json_int_t)done, "total", (json_int_t)total,
			 "running", running);
}

/* One pipeline with its plan (plan.json, or null), progress and jobs, each job with
 * "log" and "log_live" links when its log exists. NULL with err when the
 * store cannot be read. */
static json_t *pipeline_detail_json(const struct server_dashboard *d,
				    const struct server_store_pipeline *p, struct sy_error *err)
{
	const char *source;
	json_t *jobs = load_jobs(d, p, &source, err), *job, *plan;
	size_t i;

	if (!jobs)
		return NULL;
	json_array_foreach(jobs, i, job) {
		const char *name = jget(job, "name");
		char *file = job_log_file(d, p, job, name);
		char *url = file ? job_log_url(p->id, name) : NULL;
		char *live = url ? sy_xasprintf("%s.html", url) : NULL;
		json_object_set_new(job, "log", jstr(url));
		json_object_set_new(job, "log_live", jstr(live));
		json_object_del(job, "file");
		free(live);
		free(url);
		free(file);
	}
	json_t *o = pipeline_json(p);
	plan = load_logs_json(d, p, "plan.json");
	json_object_set_new(o, "plan", plan ? plan : json_null());
	json_object_set_new(o, "progress", progress_json(plan, jobs));
	json_object_set_new(o, "jobs", jobs);
	json_object_set_new(o, "jobs_source", jstr(source));
	return o;
}

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

/* progress_json of a running pipeline of the list; null when its jobs cannot
 * be read. */
static json_t *pipeline_progress(const struct server_dashboard *d,
				 const struct server_store_pipeline *p)
{
	const char *source;
	json_t *jobs = load_jobs(d, p, &source, NULL), *plan, *progress;

	if (!jobs)
		return json_null();
	plan = load_logs_json(d, p, "plan.json");
	progress = progress_json(plan, jobs);
	json_decref(plan);
	json_decref(jobs);
	return progress;
}

/* {"queue_length", "pipelines": [...]}, newest first, at most limit. */
static json_t *pipelines_list_json(const struct server_dashboard *d, size_t limit,
				   struct sy_error *err)
{
	struct server_store_pipeline *list = NULL;
	size_t n = 0;
	json_t *a;

	if (server_store_list(d->store, limit, &list, &n, err))
		return NULL;
	a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = pipeline_json(&list[i]);
		if (list[i].state && !strcmp(list[i].state, "running"))
			json_object_set_new(o, "progress", pipeline_progress(d, &list[i]));
		json_array_append_new(a, o);
		server_store_pipeline_release(&list[i]);
	}
	free(list);
	return json_pack("{s:I, s:o}", "queue_length",
			 (json_int_t)(d->queue_length ? d->queue_length(d->queue_arg) : 0),
			 "pipelines", a);
}

/* The base URL of links given to other programs (dnf): serve.url, or "". */
static const char *base_url(const struct server_dashboard *d)
{
	return d->conf && d->conf->url ? d->conf->url : "";
}

/* A dnf .repo file section for channel (repo id: the channel with
 * characters other than [A-Za-z0-9_.-] made '-'). */
static char *repo_snippet(const char *url, const char *channel)
{
	char *id = sy_xstrdup(channel), *text;

	for (char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("_.-", *c)))
			*c = '-';
	text = sy_xasprintf("[shipyard-%s]\nname=shipyard %s\nbaseurl=%s/repos/%s/current/\n"
			    "enabled=1\ngpgcheck=0\n", id, channel, url, channel);
	free(id);
	return text;
}

/* One channel of <state>/repos: current snapshot, snapshot count, binary
 * package count, the commit published, and the .repo snippet. */
static json_t *channel_json(const struct server_dashboard *d, const char *repos,
			    const char *channel)
{
	char *dir = state_channel_dir(d->state_dir, channel);
	char *snaps = sy_xasprintf("%s/snapshots", dir);
	char *current = repo_publish_current_path(repos, channel);
	char *snippet;
	struct sy_strv names = SY_STRV_INIT, rpms = SY_STRV_INIT;
	struct state_published published;
	json_t *o = json_object();

	list_dir(snaps, &names);
	if (current)
		repo_publish_list_current(repos, channel, &rpms, NULL);
	snippet = repo_snippet(base_url(d), channel);
	json_object_set_new(o, "channel", jstr(channel));
	json_object_set_new(o, "current", jstr(current ? strrchr(current, '/') + 1 : NULL));
	json_object_set_new(o, "snapshots", json_integer((json_int_t)names.n));
	json_object_set_new(o, "packages", json_integer((json_int_t)rpms.n));
	state_published_read(d->state_dir, channel, &published, NULL);
	json_object_set_new(o, "commit", jstr(published.commit));
	state_published_release(&published);
	char *baseurl = sy_xasprintf("%s/repos/%s/current/", base_url(d), channel);
	json_object_set_new(o, "baseurl", jstr(baseurl));
	free(baseurl);
	json_object_set_new(o, "repo_file", jstr(snippet));
	free(snippet);
	sy_strv_release(&rpms);
	sy_strv_release(&names);
	free(current);
	free(snaps);
	free(dir);
	return o;
}

/* {"repositories": [channels], "sources": [configured repositories]}. The
 * remote URLs are left out: they may carry credentials. */
static json_t *repositories_json(const struct server_dashboard *d)
{
	char *repos = state_repos_dir(d->state_dir);
	struct sy_strv names = SY_STRV_INIT;
	json_t *channels = json_array(), *sources = json_array();

	list_dir(repos, &names);
	for (size_t i = 0; i < names.n; i++) {
		char *dir = sy_xasprintf("%s/%s", repos, names.items[i]);
		if (is_dir(dir))
			json_array_append_new(channels, channel_json(d, repos, names.items[i]));
		free(dir);
	}
	for (size_t i = 0; d->conf && i < d->conf->nrepos; i++) {
		const struct server_repo_conf *r = &d->conf->repos[i];
		json_t *branches = json_array(), *schedules = json_array();
		for (size_t k = 0; k < r->branches.n; k++)
			json_array_append_new(branches, jstr(r->branches.items[k]));
		for (size_t k = 0; k < r->schedules.n; k++)
			json_array_append_new(schedules, jstr(r->schedules.items[k]));
		json_array_append_new(sources, json_pack("{s:o, s:o, s:o, s:o, s:o, s:I}", "name",
			jstr(r->name), "forge", jstr(r->forge), "project", jstr(r->project),
			"branches", branches, "schedules", schedules, "poll_s", (json_int_t)r->poll_s));
	}
	sy_strv_release(&names);
	free(repos);
	return json_pack("{s:o, s:o}", "repositories", channels, "sources", sources);
}

/* "/images/<config>/<id>/<name>", each part percent-encoded. */
static char *image_file_url(const char *config, const char *id, const char *name)
{
	char *url = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&url, &len);

	fputs("/images/", f);
	url_escape(f, config);
	fputc('/', f);
	url_escape(f, id);
	fputc('/', f);
	url_escape(f, name);
	fclose(f);
	return url;
}

/* One build <state>/images/<config>/<id>/: its manifest's arch and package
 * count, and its files with sizes and download links. */
static json_t *image_build_json(const char *config_dir, const char *config, const char *id,
				const char *latest)
{
	char *dir = sy_xasprintf("%s/%s", config_dir, id), *mpath = sy_xasprintf("%s/manifest.json", dir);
	json_t *manifest = json_load_file(mpath, 0, NULL), *files = json_array();
	struct sy_strv names = SY_STRV_INIT;

	list_dir(dir, &names);
	for (size_t i = 0; i < names.n; i++) {
		char *path = sy_xasprintf("%s/%s", dir, names.items[i]);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			char *url = image_file_url(config, id, names.items[i]);
			json_array_append_new(files, json_pack("{s:o, s:I, s:o}", "name",
				jstr(names.items[i]), "bytes", (json_int_t)st.st_size, "url", jstr(url)));
			free(url);
		}
		free(path);
	}
	json_t *o = json_pack("{s:o, s:b, s:o, s:o, s:o}", "id", jstr(id), "latest",
			      latest && !strcmp(latest, id), "arch", jstr(jget(manifest, "arch")),
			      "packages", json_is_array(json_object_get(manifest, "packages"))
				      ? json_integer((json_int_t)json_array_size(
						json_object_get(manifest, "packages")))
				      : json_null(),
			      "files", files);
	json_decref(manifest);
	sy_strv_release(&names);
	free(mpath);
	free(dir);
	return o;
}

/* One config of <state>/images: latest id and builds, newest first. */
static json_t *image_config_json(const char *images, const char *config)
{
	char *dir = sy_xasprintf("%s/%s", images, config), *link = sy_xasprintf("%s/latest", dir);
	char target[256];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	struct sy_strv ids = SY_STRV_INIT;
	json_t *builds = json_array();

	target[n > 0 ? n : 0] = '\0';
	list_dir(dir, &ids);
	for (size_t i = ids.n; i-- > 0;) {
		const char *id = ids.items[i];
		size_t len = strlen(id);
		char *path = sy_xasprintf("%s/%s", dir, id);
		if (strcmp(id, "latest") && !(len > 4 && !strcmp(id + len - 4, ".tmp")) && is_dir(path))
			json_array_append_new(builds, image_build_json(dir, config, id, target));
		free(path);
	}
	json_t *o = json_pack("{s:o, s:o, s:o}", "config", jstr(config), "latest",
			      jstr(n > 0 ? target : NULL), "builds", builds);
	sy_strv_release(&ids);
	free(link);
	free(dir);
	return o;
}

/* The dated releases (state_release_list), newest first per repository. */
static json_t *releases_json(const struct server_dashboard *d)
{
	struct sy_strv repos = SY_STRV_INIT, names = SY_STRV_INIT;
	json_t *out = json_array();

	state_release_list(d->state_dir, &repos, &names);
	for (size_t i = 0; i < names.n; i++) {
		struct state_release rel;
		if (state_release_read(d->state_dir, repos.items[i], names.items[i], &rel, NULL) != 1)
			continue;
		json_array_append_new(out, json_pack("{s:o, s:o, s:o, s:o}", "repo", jstr(rel.repo),
			"release", jstr(rel.name), "commit", jstr(rel.commit), "snapshot",
			jstr(rel.snapshot)));
		state_release_release(&rel);
	}
	sy_strv_release(&repos);
	sy_strv_release(&names);
	return out;
}

/* {"images": [configs], "releases": [...]}. */
static json_t *images_json(const struct server_dashboard *d)
{
	char *images = state_images_dir(d->state_dir);
	struct sy_strv names = SY_STRV_INIT;
	json_t *configs = json_array();

	list_dir(images, &names);
	for (size_t i = 0; i < names.n; i++) {
		char *dir = sy_xasprintf("%s/%s", images, names.items[i]);
		if (is_dir(dir))
			json_array_append_new(configs, image_config_json(images, names.items[i]));
		free(dir);
	}
	sy_strv_release(&names);
	free(images);
	return json_pack("{s:o, s:o}", "images", configs, "releases", releases_json(d));
}

/* ---- pages ---- */

/* A link to "/pipelines/<id><suffix>" with text. */
static void pipeline_anchor(FILE *out, json_int_t id, const char *suffix, const char *text)
{
	fprintf(out, "<a href=\"/pipelines/%lld%s\">", (long long)id, suffix);
	server_html_escape(out, text);
	fputs("</a>", out);
}

/* "3/9 done; running: zlib, openssl" */
static void progress_text(FILE *out, const json_t *progress)
{
	const json_t *running = json_object_get(progress, "running");

	fprintf(out, "%lld/%lld done",
		(long long)json_integer_value(json_object_get(progress, "done")),
		(long long)json_integer_value(json_object_get(progress, "total")));
	if (json_array_size(running)) {
		fputs("; running: ", out);
		put_strings(out, running, ", ");
	}
}

static void progress_row(FILE *out, const json_t *progress)
{
	if (!json_is_object(progress))
		return;
	fputs("<tr><th>Progress</th><td>", out);
	progress_text(out, progress);
	fputs("</td></tr>", out);
}

static void page_pipelines(FILE *out, const json_t *doc)
{
	const json_t *list = json_object_get(doc, "pipelines"), *p;
	size_t i;
	int active = 0;

	json_array_foreach(list, i, p)
		active |= is_active(jget(p, "state"));
	page_begin(out, "Pipelines", active ? 10 : 0);
	fprintf(out, "<h1>Pipelines</h1><p class=\"muted\">%lld queued to run.</p>\n",
		(long long)json_integer_value(json_object_get(doc, "queue_length")));
	if (!json_array_size(list)) {
		fputs("<p>No pipeline yet.</p>", out);
		page_end(out);
		return;
	}
	fputs("<table><tr><th>#</th><th>Repository</th><th>Trigger</th><th>Ref</th><th>Head</th>"
	      "<th>State</th><th>Created</th><th>Duration</th><th>Summary</th></tr>\n", out);
	json_array_foreach(list, i, p) {
		json_int_t id = json_integer_value(json_object_get(p, "id"));
		char created[32], duration[32], num[32], head[13];
		snprintf(num, sizeof(num), "%lld", (long long)id);
		snprintf(head, sizeof(head), "%.12s", jget(p, "head") ? jget(p, "head") : "");
		fmt_time(created, json_number_value(json_object_get(p, "created")));
		fmt_duration(duration, json_object_get(p, "duration"));
		fputs("<tr><td>", out);
		pipeline_anchor(out, id, "", num);
		fputs("</td>", out);
		td(out, jget(p, "repo"));
		td(out, jget(p, "trigger"));
		td(out, jget(p, "ref"));
		fputs("<td class=\"mono\">", out);
		server_html_escape(out, head);
		fputs("</td><td>", out);
		badge(out, jget(p, "state"));
		fputs("</td>", out);
		td(out, created);
		td(out, duration);
		if (json_is_object(json_object_get(p, "progress"))) {
			fputs("<td>", out);
			progress_text(out, json_object_get(p, "progress"));
			fputs("</td>", out);
		} else {
			td(out, jget(p, "summary"));
		}
		fputs("</tr>\n", out);
	}
	fputs("</table>", out);
	page_end(out);
}

/* A row "<th>name</th><td>value</td>" (escaped; "-" when NULL). */
static void kv(FILE *out, const char *name, const char *value)
{
	fprintf(out, "<tr><th>%s</th>", name);
	td(out, value ? value : "-");
	fputs("</tr>\n", out);
}

static void pipeline_fields(FILE *out, const json_t *p)
{
	char created[32], started[32], finished[32], duration[32], attempts[32], pr[32];
	json_int_t id = json_integer_value(json_object_get(p, "id"));

	fmt_time(created, json_number_value(json_object_get(p, "created")));
	fmt_time(started, json_number_value(json_object_get(p, "started")));
	fmt_time(finished, json_number_value(json_object_get(p, "finished")));
	fmt_duration(duration, json_object_get(p, "duration"));
	snprintf(attempts, sizeof(attempts), "%lld",
		 (long long)json_integer_value(json_object_get(p, "attempts")));
	snprintf(pr, sizeof(pr), "%lld", (long long)json_integer_value(json_object_get(p, "pr")));
	fprintf(out, "<h1>Pipeline #%lld ", (long long)id);
	badge(out, jget(p, "state"));
	fputs("</h1>\n<table class=\"kv\">", out);
	kv(out, "Repository", jget(p, "repo"));
	kv(out, "Trigger", jget(p, "trigger"));
	kv(out, "Ref", jget(p, "ref"));
	kv(out, "Channel", jget(p, "channel"));
	kv(out, "Base", jget(p, "base"));
	kv(out, "Head", jget(p, "head"));
	if (jget(p, "release"))
		kv(out, "Release", jget(p, "release"));
	if (json_integer_value(json_object_get(p, "pr")))
		kv(out, "Pull request", pr);
	kv(out, "Created", created);
	kv(out, "Started", started);
	kv(out, "Finished", finished);
	kv(out, "Duration", duration);
	progress_row(out, json_object_get(p, "progress"));
	kv(out, "Attempts", attempts);
	kv(out, "Summary", jget(p, "summary"));
	fputs("<tr><th>Log</th><td>", out);
	pipeline_anchor(out, id, "/log.html", "follow");
	fputs(" &middot; ", out);
	pipeline_anchor(out, id, "/log", "text");
	fputs("</td></tr></table>\n", out);
}

/* A table of the plan's array key with the given columns: each column a
 * member name, shown as text, or as a list when the member is an array. */
static void plan_table(FILE *out, const json_t *plan, const char *key, const char *title,
		       const char *const *cols, const char *const *heads)
{
	const json_t *a = json_object_get(plan, key), *row;
	size_t i;

	if (!json_array_size(a))
		return;
	fprintf(out, "<h2>%s (%zu)</h2><table><tr>", title, json_array_size(a));
	for (size_t c = 0; cols[c]; c++)
		fprintf(out, "<th>%s</th>", heads[c]);
	fputs("</tr>\n", out);
	json_array_foreach(a, i, row) {
		fputs("<tr>", out);
		for (size_t c = 0; cols[c]; c++) {
			const json_t *v = json_object_get(row, cols[c]);
			if (json_is_array(v)) {
				fputs("<td>", out);
				put_strings(out, v, strcmp(cols[c], "reasons") ? ", " : " \xe2\x86\x90 ");
				fputs("</td>", out);
			} else if (json_is_true(v)) {
				td(out, "yes");
			} else {
				td(out, json_string_value(v));
			}
		}
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
}

/* A list of the plan's array key: strings, or arrays of strings joined by
 * sep. */
static void plan_list(FILE *out, const json_t *plan, const char *key, const char *title,
		      const char *sep)
{
	const json_t *a = json_object_get(plan, key), *v;
	size_t i;

	if (!json_array_size(a))
		return;
	fprintf(out, "<h2>%s (%zu)</h2><ul>", title, json_array_size(a));
	json_array_foreach(a, i, v) {
		fputs("<li>", out);
		if (json_is_array(v))
			put_strings(out, v, sep);
		else
			server_html_escape(out, json_string_value(v));
		fputs("</li>", out);
	}
	fputs("</ul>\n", out);
}

static void plan_section(FILE *out, const json_t *plan)
{
	static const char *const changed[] = { "spec", "path", "reasons", NULL };
	static const char *const changed_h[] = { "Spec", "Path", "Reasons" };
	static const char *const rebuild[] = { "spec", "why", "reasons", "cycle", NULL };
	static const char *const rebuild_h[] = { "Spec", "Why", "Reason chain", "In a cycle" };
	static const char *const removed[] = { "spec", "path", "packages", NULL };
	static const char *const removed_h[] = { "Spec", "Path", "Packages" };
	static const char *const unresolved[] = { "spec", "dependency", NULL };
	static const char *const unresolved_h[] = { "Spec", "Dependency" };
	static const char *const excluded[] = { "spec", "reason", NULL };
	static const char *const excluded_h[] = { "Spec", "Reason" };
	static const char *const broken[] = { "spec", "path", "error", NULL };
	static const char *const broken_h[] = { "Spec", "Path", "Error" };

	fputs("<h2>Rebuild plan</h2>", out);
	if (!json_is_object(plan)) {
		fputs("<p class=\"muted\">No plan recorded for this commit.</p>\n", out);
		return;
	}
	fputs("<p>", out);
	server_html_escape(out, jget(plan, "from") ? jget(plan, "from") : "(empty)");
	fputs(" &rarr; ", out);
	server_html_escape(out, jget(plan, "to"));
	fprintf(out, ": %zu files changed, %lld specs read, %zu to rebuild.</p>\n",
		json_array_size(json_object_get(plan, "files")),
		(long long)json_integer_value(json_object_get(plan, "specs")),
		json_array_size(json_object_get(plan, "rebuild")));
	plan_list(out, plan, "global", "Global inputs changed", ", ");
	plan_table(out, plan, "changed", "Changed specs", changed, changed_h);
	plan_table(out, plan, "rebuild", "Rebuild, in build order", rebuild, rebuild_h);
	plan_table(out, plan, "removed", "Removed specs", removed, removed_h);
	plan_table(out, plan, "unresolved", "Unresolved build dependencies", unresolved,
		   unresolved_h);
	plan_list(out, plan, "cycles", "Cycles", " \xe2\x86\x92 ");
	plan_table(out, plan, "excluded", "Excluded", excluded, excluded_h);
	plan_table(out, plan, "broken", "Specs that do not parse", broken, broken_h);
	plan_list(out, plan, "images", "Images affected", ", ");
}

static void jobs_section(FILE *out, const json_t *p)
{
	const json_t *jobs = json_object_get(p, "jobs"), *j;
	size_t i;

	fprintf(out, "<h2>Jobs (%zu)</h2>", json_array_size(jobs));
	if (!json_array_size(jobs)) {
		fputs("<p class=\"muted\">No job recorded yet.</p>\n", out);
		return;
	}
	fputs("<table><tr><th>Job</th><th>State</th><th>Time</th><th>Reason</th><th>Log</th></tr>\n",
	      out);
	json_array_foreach(jobs, i, j) {
		char duration[32];
		fmt_duration(duration, json_object_get(j, "seconds"));
		fputs("<tr>", out);
		td(out, jget(j, "name"));
		fputs("<td>", out);
		badge(out, jget(j, "state"));
		fputs("</td>", out);
		td(out, duration);
		td(out, jget(j, "reason"));
		fputs("<td>", out);
		if (jget(j, "log")) {
			fputs("<a href=\"", out);
			server_html_escape(out, jget(j, "log_live"));
			fputs("\">follow</a> &middot; <a href=\"", out);
			server_html_escape(out, jget(j, "log"));
			fputs("\">text</a>", out);
		}
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n", out);
}

static void page_pipeline(FILE *out, const json_t *p)
{
	char title[64];

	snprintf(title, sizeof(title), "Pipeline #%lld",
		 (long long)json_integer_value(json_object_get(p, "id")));
	page_begin(out, title, is_active(jget(p, "state")) ? 10 : 0);
	pipeline_fields(out, p);
	plan_section(out, json_object_get(p, "plan"));
	jobs_section(out, p);
	page_end(out);
}

/* The script of a log page: asks src?offset=N for what follows, appends it,
 * and stops once api says the pipeline ended and nothing more came. */
static const char follow_script[] =
	"(function(){\n"
	"var pre=document.getElementById('log'),st=document.getElementById('state'),\n"
	"src=pre.getAttribute('data-src'),api=pre.getAttribute('data-api'),\n"
	"off=0,last=false,dec=new TextDecoder('utf-8');\n"
	"function again(ms){setTimeout(tick,ms);}\n"
	"function tick(){\n"
	" fetch(src+'?offset='+off,{cache:'no-store'})\n"
	" .then(function(r){return r.ok?r.arrayBuffer():new ArrayBuffer(0);})\n"
	" .then(function(b){\n"
	"  if(b.byteLength){off+=b.byteLength;\n"
	"   pre.appendChild(document.createTextNode(dec.decode(b,{stream:true})));\n"
	"   window.scrollTo(0,document.body.scrollHeight);again(50);return;}\n"
	"  if(last){st.textContent+=' (log complete)';return;}\n"
	"  return fetch(api,{cache:'no-store'}).then(function(r){return r.json();})\n"
	"  .then(function(p){st.textContent=p.state;\n"
	"   last=p.state!=='queued'&&p.state!=='running';again(last?0:1000);});\n"
	" }).catch(function(){again(3000);});\n"
	"}\n"
	"tick();\n"
	"})();\n";

/* A page following the log at src (an escaped-safe URL) of pipeline p. */
static void page_follow(FILE *out, const json_t *p, const char *what, const char *src)
{
	json_int_t id = json_integer_value(json_object_get(p, "id"));
	char *title = sy_xasprintf("Pipeline #%lld: %s", (long long)id, what);

	page_begin(out, title, 0);
	fputs("<h1>", out);
	server_html_escape(out, title);
	fputs("</h1><p>State: <span id=\"state\">", out);
	server_html_escape(out, jget(p, "state"));
	fputs("</span> &middot; ", out);
	pipeline_anchor(out, id, "", "pipeline");
	fputs(" &middot; <a href=\"", out);
	server_html_escape(out, src);
	fputs("\">text</a></p>\n<pre id=\"log\" data-src=\"", out);
	server_html_escape(out, src);
	fprintf(out, "\" data-api=\"/api/pipelines/%lld\"></pre>\n<script>%s</script>\n",
		(long long)id, follow_script);
	page_end(out);
	free(title);
}

static void page_repositories(FILE *out, const json_t *doc)
{
	const json_t *list = json_object_get(doc, "repositories"), *sources, *r;
	size_t i;

	page_begin(out, "Repositories", 0);
	fputs("<h1>Repositories</h1>\n", out);
	if (!json_array_size(list))
		fputs("<p>Nothing published yet.</p>\n", out);
	json_array_foreach(list, i, r) {
		char packages[32], snapshots[32];
		snprintf(packages, sizeof(packages), "%lld",
			 (long long)json_integer_value(json_object_get(r, "packages")));
		snprintf(snapshots, sizeof(snapshots), "%lld",
			 (long long)json_integer_value(json_object_get(r, "snapshots")));
		fputs("<h2>", out);
		server_html_escape(out, jget(r, "channel"));
		fputs("</h2><table class=\"kv\">", out);
		kv(out, "Current snapshot", jget(r, "current"));
		kv(out, "Snapshots", snapshots);
		kv(out, "Packages", packages);
		kv(out, "Published from", jget(r, "commit"));
		kv(out, "Base URL", jget(r, "baseurl"));
		fputs("</table><p>/etc/yum.repos.d/shipyard.repo:</p><pre>", out);
		server_html_escape(out, jget(r, "repo_file"));
		fputs("</pre>\n", out);
	}
	sources = json_object_get(doc, "sources");
	if (!json_array_size(sources)) {
		page_end(out);
		return;
	}
	fputs("<h2>Watched repositories</h2><table><tr><th>Name</th><th>Forge</th><th>Project</th>"
	      "<th>Branches</th><th>Schedules</th><th>Poll</th></tr>\n", out);
	json_array_foreach(sources, i, r) {
		char poll[32];
		long long s = (long long)json_integer_value(json_object_get(r, "poll_s"));
		if (s)
			snprintf(poll, sizeof(poll), "every %llds", s);
		else
			snprintf(poll, sizeof(poll), "webhooks only");
		fputs("<tr>", out);
		td(out, jget(r, "name"));
		td(out, jget(r, "forge"));
		td(out, jget(r, "project"));
		fputs("<td>", out);
		put_strings(out, json_object_get(r, "branches"), ", ");
		fputs("</td><td class=\"mono\">", out);
		put_strings(out, json_object_get(r, "schedules"), "<br>");
		fputs("</td>", out);
		td(out, poll);
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
	page_end(out);
}

static void image_files(FILE *out, const json_t *files)
{
	const json_t *f;
	size_t i;

	fputs("<ul class=\"plain\">", out);
	json_array_foreach(files, i, f) {
		fputs("<li><a href=\"", out);
		server_html_escape(out, jget(f, "url"));
		fputs("\">", out);
		server_html_escape(out, jget(f, "name"));
		fprintf(out, "</a> <span class=\"muted\">(%lld bytes)</span></li>",
			(long long)json_integer_value(json_object_get(f, "bytes")));
	}
	fputs("</ul>", out);
}

static void page_images(FILE *out, const json_t *doc)
{
	const json_t *configs = json_object_get(doc, "images"), *c, *b, *releases, *r;
	size_t i, k;

	page_begin(out, "Images", 0);
	fputs("<h1>Images</h1>\n", out);
	if (!json_array_size(configs))
		fputs("<p>No image composed yet.</p>\n", out);
	json_array_foreach(configs, i, c) {
		fputs("<h2>", out);
		server_html_escape(out, jget(c, "config"));
		fputs("</h2><table><tr><th>Build</th><th>Arch</th><th>Packages</th><th>Files</th></tr>\n",
		      out);
		json_array_foreach(json_object_get(c, "builds"), k, b) {
			char packages[32] = "-";
			if (json_is_integer(json_object_get(b, "packages")))
				snprintf(packages, sizeof(packages), "%lld",
					 (long long)json_integer_value(json_object_get(b, "packages")));
			fputs("<tr><td class=\"mono\">", out);
			server_html_escape(out, jget(b, "id"));
			if (json_is_true(json_object_get(b, "latest")))
				fputs(" <span class=\"badge s-success\">latest</span>", out);
			fputs("</td>", out);
			td(out, jget(b, "arch"));
			td(out, packages);
			fputs("<td>", out);
			image_files(out, json_object_get(b, "files"));
			fputs("</td></tr>\n", out);
		}
		fputs("</table>\n", out);
	}
	releases = json_object_get(doc, "releases");
	if (json_array_size(releases)) {
		fputs("<h2>Releases</h2><table><tr><th>Repository</th><th>Release</th><th>Commit</th>"
		      "<th>Repository snapshot</th></tr>\n", out);
		json_array_foreach(releases, i, r) {
			fputs("<tr>", out);
			td(out, jget(r, "repo"));
			td(out, jget(r, "release"));
			td(out, jget(r, "commit"));
			td(out, jget(r, "snapshot"));
			fputs("</tr>\n", out);
		}
		fputs("</table>\n", out);
	}
	page_end(out);
}

/* ---- routes ---- */

/* The limit of a pipelines list from ?limit=N. */
static size_t list_limit(const char *query)
{
	char value[32];
	const char *v = query_get(query, "limit", value, sizeof(value));
	long n = v ? strtol(v, NULL, 10) : 0;

	return n <= 0 ? LIST_DEFAULT : n > LIST_MAX ? LIST_MAX : (size_t)n;
}

static void route_list(const struct server_dashboard *d, int api, const char *query,
		       struct server_http_response *resp)
{
	struct sy_error err = { { 0 } };
	json_t *doc = pipelines_list_json(d, list_limit(query), &err);
	struct page pg;

	if (!doc) {
		respond_error(resp, 500, err.msg);
	} else if (api) {
		respond_json(resp, 200, doc);
	} else {
		page_pipelines(page_open(&pg), doc);
		page_respond(&pg, resp);
		json_decref(doc);
	}
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
	json_t *doc = pipeline_detail_json(d, &p, &err);
	if (!doc) {
		respond_error(resp, 500, err.msg);
	} else if (api) {
		respond_json(resp, 200, doc);
	} else {
		page_pipeline(page_open(&pg), doc);
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
		json_t *doc = pipeline_json(&p);
		char *src = sy_xasprintf("/pipelines/%ld/log", id);
		page_follow(page_open(&pg), doc, "pipeline log", src);
		page_respond(&pg, resp);
		free(src);
		json_decref(doc);
	} else {
		char *root = run_dir_of(d, id);
		char *path = sy_xasprintf("%s/pipeline.log", root);
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

	if (!name_is_safe(name)) {
		respond_error(resp, 400, "job name: not a plain name");
		return;
	}
	memset(&p, 0, sizeof(p));
	if (!get_pipeline(d, id, &p, resp))
		return;
	json_t *jobs = load_jobs(d, &p, &source, &err), *job, *found = NULL;
	size_t i;
	json_array_foreach(jobs, i, job)
		if (!found && jget(job, "name") && !strcmp(jget(job, "name"), name))
			found = job;
	char *file = jobs ? job_log_file(d, &p, found, name) : NULL;
	char *src = job_log_url(id, name), *root = run_dir_of(d, id);
	if (!jobs) {
		respond_error(resp, 500, err.msg);
	} else if (html && (found || file)) {
		json_t *doc = pipeline_json(&p);
		char *what = sy_xasprintf("job %s", name);
		page_follow(page_open(&pg), doc, what, src);
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

/* /images/<config>/<id>/<file>. */
static void route_image_file(const struct server_dashboard *d, const char *rel,
			     struct server_http_response *resp)
{
	char *root = state_images_dir(d->state_dir), *path = sy_xasprintf("%s/%s", root, rel);
	const char *c = rel;
	int slashes = 0;
	char *real;

	for (; *c; c++)
		slashes += *c == '/';
	real = slashes == 2 && name_is_safe(rel) ? resolve_under(root, path) : NULL;
	if (!real) {
		respond_error(resp, 404, "not found");
	} else {
		size_t len;
		resp->status = 200;
		resp->content_type = ends_with(real, ".json", &len) ? JSON : "application/octet-stream";
		resp->file_path = real;
	}
	free(path);
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
	else if (starts_with(path, "/api/pipelines/") &&
		 (tail = parse_id(path + 15, &id)) && !*tail)
		route_pipeline(d, id, 1, resp);
	else if (starts_with(path, "/pipelines/"))
		route_pipelines(d, path + 11, query, resp);
	else if (!strcmp(path, "/repositories") || !strcmp(path, "/api/repositories"))
		route_doc(d, path[1] == 'a', repositories_json, page_repositories, resp);
	else if (!strcmp(path, "/images") || !strcmp(path, "/api/images"))
		route_doc(d, path[1] == 'a', images_json, page_images, resp);
	else if (starts_with(path, "/images/"))
		route_image_file(d, path + 8, resp);
	else if (!strcmp(path, "/metrics"))
		route_metrics(d, resp);
	else
		respond_error(resp, 404, "not found");
	return 1;
}
