/* The JSON documents of the dashboard's API, read from the store and from
 * the state directory through the modules that own each part of it
 * (state/layout.h, repo-publish/publish.h, imager/images.h). The pages
 * render the same documents. */
#include "server/dashboard-private.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fs.h"
#include "common/strv.h"
#include "common/util.h"
#include "forge/outbox.h"
#include "gitwatch/repo.h"
#include "imager/images.h"
#include "repo-publish/publish.h"
#include "repo-publish/repofile.h"
#include "repo-publish/sign.h"
#include "server/html.h"
#include "server/releases.h"
#include "state/layout.h"

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

json_t *dashboard_time_json(double t)
{
	time_t secs = (time_t)t;
	char buf[40];
	struct tm tm;
	int ms = (int)((t - (double)secs) * 1000);

	if (t <= 0 || !gmtime_r(&secs, &tm))
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%03dZ", ms < 0 ? 0 : ms > 999 ? 999 : ms);
	return json_string(buf);
}

/* The base URL of links given to other programs (dnf, curl): serve.url, or
 * "". */
static const char *base_url(const struct server_dashboard *d)
{
	return d->conf && d->conf->url ? d->conf->url : "";
}

/* ---- pipelines ---- */

/* The mirrors opened while one document is made, by repository name, so
 * that a list of a hundred pipelines opens each repository once. */
struct mirrors {
	char **names;
	struct gitwatch_repo **repos; /* NULL: could not be opened */
	size_t n;
};

static struct gitwatch_repo *mirror_of(const struct server_dashboard *d, struct mirrors *m,
				       const char *name)
{
	char *dir;

	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->names[i], name))
			return m->repos[i];
	m->names = sy_xrealloc(m->names, (m->n + 1) * sizeof(*m->names));
	m->repos = sy_xrealloc(m->repos, (m->n + 1) * sizeof(*m->repos));
	m->names[m->n] = sy_xstrdup(name);
	m->repos[m->n] = NULL;
	dir = state_mirror_dir(d->state_dir, name);
	gitwatch_repo_open(dir, &m->repos[m->n], NULL);
	free(dir);
	return m->repos[m->n++];
}

static void mirrors_release(struct mirrors *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->names[i]);
		gitwatch_repo_free(m->repos[i]);
	}
	free(m->names);
	free(m->repos);
}

/* The configuration of repository name, or NULL. */
static const struct server_repo_conf *repo_conf(const struct server_dashboard *d, const char *name)
{
	for (size_t i = 0; d->conf && name && i < d->conf->nrepos; i++)
		if (!strcmp(d->conf->repos[i].name, name))
			return &d->conf->repos[i];
	return NULL;
}

/* The web address of r's project on its forge ("https://github.com/o/r"):
 * GitHub's API at api.github.com (or none given) is github.com; any other
 * API URL loses a trailing "/api/v<N>" (GitHub Enterprise's /api/v3,
 * Gitea's /api/v1, GitLab's /api/v4). NULL without forge or project. */
static char *forge_web(const struct server_repo_conf *r)
{
	const char *api = r ? r->api : NULL, *v;
	size_t len;

	if (!r || !r->forge || !r->project)
		return NULL;
	if (!api || strstr(api, "://api.github.com"))
		return !strcmp(r->forge, "github") ? sy_xasprintf("https://github.com/%s", r->project)
						   : NULL;
	len = strlen(api);
	while (len && api[len - 1] == '/')
		len--;
	v = len >= 7 ? api + len : NULL;
	while (v && v > api && v[-1] >= '0' && v[-1] <= '9')
		v--;
	if (v && v - api >= 6 && v != api + len && !strncmp(v - 6, "/api/v", 6))
		len = (size_t)(v - 6 - api);
	return sy_xasprintf("%.*s/%s", (int)len, api, r->project);
}

/* {"sha", "subject", "author", "url"} of p's head: subject and author from
 * the service's mirror (null when it cannot be read), url the commit on the
 * forge (or null); and p's "pr_url". */
static void commit_fields(const struct server_dashboard *d, struct mirrors *m, json_t *o,
			  const struct server_store_pipeline *p)
{
	const struct server_repo_conf *r = repo_conf(d, p->repo);
	struct gitwatch_repo *git = p->repo && p->head && *p->head ? mirror_of(d, m, p->repo) : NULL;
	char *subject = NULL, *author = NULL, *web = forge_web(r), *url = NULL, *pr = NULL;
	int gitlab = r && r->forge && !strcmp(r->forge, "gitlab");

	if (git && gitwatch_commit_info(git, p->head, &subject, &author, NULL)) {
		subject = NULL;
		author = NULL;
	}
	if (web && p->head && *p->head)
		url = sy_xasprintf("%s%s/commit/%s", web, gitlab ? "/-" : "", p->head);
	if (web && p->pr)
		pr = sy_xasprintf("%s/%s/%ld", web,
				  gitlab ? "-/merge_requests"
				  : !strcmp(r->forge, "gitea") ? "pulls" : "pull", p->pr);
	json_object_set_new(o, "commit", json_pack("{s:o, s:o, s:o, s:o}", "sha", jstr(p->head),
						   "subject", jstr(subject), "author", jstr(author),
						   "url", jstr(url)));
	json_object_set_new(o, "pr_url", jstr(pr));
	free(subject);
	free(author);
	free(web);
	free(url);
	free(pr);
}

/* "3 built, 1 reused, 1 failed: foo" of jobs (dashboard_load_jobs), the
 * failed and blocked named (the first three, then a count); NULL when
 * there is no job. Newly allocated. */
static char *jobs_summary(const json_t *jobs)
{
	static const char *const order[] = { "built", "reused", "unchanged", "failed", "blocked",
					     "skipped", "running", "queued" };
	char *text = NULL;
	size_t len = 0, named = 0, bad = 0, i;
	FILE *f;
	const json_t *j;

	if (!json_array_size(jobs))
		return NULL;
	f = open_memstream(&text, &len);
	for (size_t k = 0, first = 1; k < sizeof(order) / sizeof(order[0]); k++) {
		size_t n = 0;
		json_array_foreach(jobs, i, j)
			n += jget(j, "state") && !strcmp(jget(j, "state"), order[k]);
		if (n)
			fprintf(f, "%s%zu %s", first ? "" : ", ", n, order[k]);
		first &= !n;
	}
	json_array_foreach(jobs, i, j) {
		const char *s = jget(j, "state");
		if (!s || (strcmp(s, "failed") && strcmp(s, "blocked")))
			continue;
		if (bad++ < 3)
			fprintf(f, "%s%s", named++ ? ", " : ": ", jget(j, "name"));
	}
	if (bad > named)
		fprintf(f, " and %zu more", bad - named);
	fclose(f);
	return text;
}

/* "/pipelines/<id><suffix>" as a JSON string. */
static json_t *pipeline_link(long id, const char *suffix)
{
	char *url = sy_xasprintf("/pipelines/%ld%s", id, suffix);
	json_t *j = json_string(url);

	free(url);
	return j;
}

/* The cascade guard's hold on p: null when it did not hold p's plan (or p
 * has not ended); else {"state": "needed", "reason": what the guard said,
 * "approve": the endpoint to POST to} or, once approved, {"state":
 * "approved", "reason", "approved_by": token name, "approved_at",
 * "pipeline": the pipeline the approval queued}. */
static json_t *approval_json(const struct server_store_pipeline *p)
{
	char *approve;
	json_t *o;

	if (!p->held || (!p->approved_as && p->state != SERVER_PIPELINE_FAILURE))
		return json_null();
	if (p->approved_as)
		return json_pack("{s:s, s:o, s:o, s:o, s:I}", "state", "approved", "reason",
				 jstr(p->held), "approved_by", jstr(p->approved_by), "approved_at",
				 dashboard_time_json(p->approved_at), "pipeline",
				 (json_int_t)p->approved_as);
	approve = sy_xasprintf("/api/pipelines/%ld/approve", p->id);
	o = json_pack("{s:s, s:o, s:s}", "state", "needed", "reason", jstr(p->held), "approve",
		      approve);
	free(approve);
	return o;
}

json_t *dashboard_pipeline_json(const struct server_store_pipeline *p)
{
	json_t *o = json_object();
	double end = p->finished > 0 ? p->finished : sy_wall_s();

	json_object_set_new(o, "id", json_integer(p->id));
	json_object_set_new(o, "repo", jstr(p->repo));
	json_object_set_new(o, "trigger", jstr(p->trigger));
	json_object_set_new(o, "ref", jstr(p->ref));
	json_object_set_new(o, "channel", jstr(p->channel));
	json_object_set_new(o, "base", jstr(p->base));
	json_object_set_new(o, "head", jstr(p->head));
	json_object_set_new(o, "release", jstr(p->release));
	json_object_set_new(o, "pr", p->pr ? json_integer(p->pr) : json_null());
	json_object_set_new(o, "state", jstr(server_pipeline_state_name(p->state)));
	json_object_set_new(o, "created", dashboard_time_json(p->created));
	json_object_set_new(o, "started", dashboard_time_json(p->started));
	json_object_set_new(o, "finished", dashboard_time_json(p->finished));
	json_object_set_new(o, "duration",
			    p->started > 0 && (p->finished > 0 ||
					       !server_pipeline_state_is_final(p->state))
				    ? json_real(end - p->started) : json_null());
	json_object_set_new(o, "attempts", json_integer(p->attempts));
	json_object_set_new(o, "summary", jstr(p->summary));
	json_object_set_new(o, "approval", approval_json(p));
	json_object_set_new(o, "approves", p->approves ? json_integer(p->approves) : json_null());
	json_object_set_new(o, "requested_by", jstr(p->requested_by));
	json_object_set_new(o, "rebuild", jstr(p->rebuild));
	json_object_set_new(o, "url", pipeline_link(p->id, ""));
	json_object_set_new(o, "log", pipeline_link(p->id, "/log"));
	return o;
}

char *dashboard_run_dir(const struct server_dashboard *d, long id)
{
	char name[32];

	snprintf(name, sizeof(name), "%ld", id);
	return state_pipeline_dir(d->state_dir, name);
}

char *dashboard_run_file(const struct server_dashboard *d, long id, const char *name)
{
	char run[32];

	snprintf(run, sizeof(run), "%ld", id);
	return state_pipeline_file(d->state_dir, run, name);
}

/* The report name of the run of p parsed as a JSON object, or NULL. */
static json_t *load_report(const struct server_dashboard *d, const struct server_store_pipeline *p,
			   const char *name)
{
	char *path = dashboard_run_file(d, p->id, name);
	json_t *doc = json_load_file(path, 0, NULL);

	free(path);
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

json_t *dashboard_load_jobs(const struct server_dashboard *d, const struct server_store_pipeline *p,
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
		json_array_append_new(out, job_json(jobs[i].name,
						    builder_job_state_name(jobs[i].state), jobs[i].reason,
						    jobs[i].seconds, jobs[i].log));
		server_store_job_release(&jobs[i]);
	}
	free(jobs);
	if (n) {
		*source = "store";
		return out;
	}
	json_t *summary = load_report(d, p, "build-summary.json"), *job;
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

char *dashboard_job_log_file(const struct server_dashboard *d,
			     const struct server_store_pipeline *p, const json_t *job,
			     const char *name, char **root)
{
	char *real = NULL;
	const char *file = jget(job, "file");

	*root = dashboard_run_dir(d, p->id);
	if (file)
		real = dashboard_resolve_under(*root, file);
	if (!real && dashboard_name_is_safe(name)) {
		char run[32], *guess;
		snprintf(run, sizeof(run), "%ld", p->id);
		guess = state_pipeline_job_log(d->state_dir, run, name);
		real = dashboard_resolve_under(*root, guess);
		free(guess);
	}
	if (!real && file) {
		free(*root);
		*root = state_legacy_logs_dir(d->state_dir);
		real = dashboard_resolve_under(*root, file);
	}
	if (!real) {
		free(*root);
		*root = NULL;
	}
	return real;
}

char *dashboard_job_log_url(long id, const char *name)
{
	char *url = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&url, &len);

	fprintf(f, "/pipelines/%ld/jobs/", id);
	server_html_url_escape(f, name);
	fputs("/log", f);
	fclose(f);
	return url;
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
		if (dashboard_state_active(jget(job, "state")))
			json_array_append_new(running, jstr(jget(job, "name")));
		else
			done++;
	}
	if (json_array_size(jobs) > total)
		total = json_array_size(jobs);
	return json_pack("{s:I, s:I, s:o}", "done", (json_int_t)done, "total", (json_int_t)total,
			 "running", running);
}

/* The member of array a whose key is value, or NULL. */
static json_t *find_by(const json_t *a, const char *key, const char *value)
{
	json_t *v;
	size_t i;

	json_array_foreach(a, i, v)
		if (jget(v, key) && value && !strcmp(jget(v, key), value))
			return v;
	return NULL;
}

/* The RPMs of a build job from its build-summary.json entry sj:
 * "artifacts" [{"file", "nevra", "bytes", "sha256"}] and "nevras". */
static void build_job_outputs(json_t *job, const json_t *sj)
{
	json_t *artifacts = json_array(), *nevras = json_array(), *a;
	size_t i;

	json_array_foreach(json_object_get(sj, "artifacts"), i, a) {
		json_array_append_new(artifacts, json_pack("{s:o, s:o, s:O, s:o}", "file",
			jstr(jget(a, "file")), "nevra", jstr(jget(a, "nevra")), "bytes",
			json_is_integer(json_object_get(a, "bytes")) ? json_object_get(a, "bytes")
								       : json_null(),
			"sha256", jstr(jget(a, "sha256"))));
		if (jget(a, "nevra"))
			json_array_append_new(nevras, jstr(jget(a, "nevra")));
	}
	json_object_set_new(job, "nevras", nevras);
	json_object_set_new(job, "artifacts", artifacts);
}

/* The files of an image job from its images.json entry ij (pipeline/
 * imagereport.h), each with its download link and content type. */
static void image_job_outputs(json_t *job, const json_t *ij)
{
	json_t *artifacts = json_array(), *a;
	const char *config = jget(ij, "config"), *build = jget(ij, "build");
	size_t i;

	json_array_foreach(json_object_get(ij, "artifacts"), i, a) {
		const char *name = jget(a, "name");
		char *url = config && build && name ? server_html_url("/images/", config, build, name)
						    : NULL;
		json_array_append_new(artifacts, json_pack("{s:o, s:O, s:o, s:o, s:s}", "file",
			jstr(name), "bytes",
			json_is_integer(json_object_get(a, "bytes")) ? json_object_get(a, "bytes")
								       : json_null(),
			"sha256", jstr(jget(a, "sha256")), "url", jstr(url), "content_type",
			dashboard_content_type(name ? name : "")));
		free(url);
	}
	json_object_set_new(job, "config", jstr(config));
	json_object_set_new(job, "build", jstr(build));
	json_object_set_new(job, "nevras", json_array());
	json_object_set_new(job, "artifacts", artifacts);
}

/* Adds to job what the run's reports say of it: "kind", "started",
 * "finished" and its outputs. */
static void job_details(json_t *job, const json_t *summary, const json_t *images)
{
	const char *name = jget(job, "name");
	int image = name && !strncmp(name, "image/", 6);
	const json_t *r = image ? find_by(json_object_get(images, "images"), "job", name)
				: find_by(json_object_get(summary, "jobs"), "spec", name);
	double ended = json_number_value(json_object_get(r, "ended"));

	json_object_set_new(job, "kind", json_string(image ? "image" : "build"));
	json_object_set_new(job, "started",
			    dashboard_time_json(json_number_value(json_object_get(r, "started"))));
	json_object_set_new(job, "finished", dashboard_time_json(ended));
	/* A job that failed or was reused reports no build time: its span is
	 * the time it took. */
	double started = json_number_value(json_object_get(r, "started"));
	if (json_number_value(json_object_get(job, "seconds")) <= 0 && started > 0 && ended > started)
		json_object_set_new(job, "seconds", json_real(ended - started));
	if (image)
		image_job_outputs(job, r);
	else
		build_job_outputs(job, r);
}

/* The image jobs of images.json that jobs does not hold yet (a run whose
 * events did not reach the store), appended. */
static void add_image_jobs(json_t *jobs, const json_t *images)
{
	json_t *ij;
	size_t i;

	json_array_foreach(json_object_get(images, "images"), i, ij) {
		const char *name = jget(ij, "job");
		if (name && !find_by(jobs, "name", name))
			json_array_append_new(jobs, job_json(name, jget(ij, "state"), jget(ij, "text"),
				json_number_value(json_object_get(ij, "ended")) > 0
					? json_number_value(json_object_get(ij, "ended")) -
						  json_number_value(json_object_get(ij, "started"))
					: 0, jget(ij, "log")));
	}
}

/* The statuses queued for p's head on its forge (forge/outbox.h):
 * [{"context", "state", "description", "delivery": queued | sent | failed |
 * skipped | dropped, "http_status" (or null), "message", "queued_at",
 * "attempts"}]; empty when its repository reports to no forge. */
static json_t *statuses_json(const struct server_dashboard *d,
			     const struct server_store_pipeline *p)
{
	struct forge_outbox_record *r = NULL;
	size_t n = 0;
	json_t *a = json_array();
	char *db;

	if (!p->repo || !p->head || !*p->head)
		return a;
	db = state_db_path(d->state_dir);
	forge_outbox_history(db, p->repo, p->head, &r, &n, NULL);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:i}",
			"context", jstr(r[i].context), "state", jstr(r[i].state), "description",
			jstr(r[i].description), "delivery", jstr(r[i].status), "http_status",
			r[i].http_status ? json_integer(r[i].http_status) : json_null(), "message",
			jstr(r[i].message), "queued_at", dashboard_time_json((double)r[i].enqueued_at),
			"attempts", r[i].attempts));
	forge_outbox_records_free(r, n);
	free(db);
	return a;
}

/* What p's channel publishes now: {"channel", "snapshot": the current
 * snapshot's id or null, "commit" it was published from, "head": 1 when
 * that is p's head}. */
static json_t *published_json(const struct server_dashboard *d,
			      const struct server_store_pipeline *p)
{
	char *repos = state_repos_dir(d->state_dir);
	char *current = p->channel ? repo_publish_current_id(repos, p->channel) : NULL;
	struct state_published pub;
	json_t *o;

	memset(&pub, 0, sizeof(pub));
	if (p->channel)
		state_published_read(d->state_dir, p->channel, &pub, NULL);
	o = json_pack("{s:o, s:o, s:o, s:b}", "channel", jstr(p->channel), "snapshot",
		      jstr(current), "commit", jstr(pub.commit), "head",
		      pub.commit && p->head && !strcmp(pub.commit, p->head));
	state_published_release(&pub);
	free(current);
	free(repos);
	return o;
}

json_t *dashboard_pipeline_detail_json(const struct server_dashboard *d,
				       const struct server_store_pipeline *p,
				       struct sy_error *err)
{
	const char *source;
	json_t *jobs = dashboard_load_jobs(d, p, &source, err), *job, *plan, *summary, *images;
	size_t i;

	if (!jobs)
		return NULL;
	summary = load_report(d, p, "build-summary.json");
	images = load_report(d, p, "images.json");
	add_image_jobs(jobs, images);
	json_array_foreach(jobs, i, job) {
		const char *name = jget(job, "name");
		char *root, *file = dashboard_job_log_file(d, p, job, name, &root);
		char *url = file ? dashboard_job_log_url(p->id, name) : NULL;
		char *live = url ? sy_xasprintf("%s.html", url) : NULL;
		json_object_set_new(job, "log", jstr(url));
		json_object_set_new(job, "log_live", jstr(live));
		json_object_del(job, "file");
		job_details(job, summary, images);
		free(live);
		free(url);
		free(file);
		free(root);
	}
	json_decref(summary);
	json_decref(images);
	json_t *o = dashboard_pipeline_json(p);
	struct mirrors m = { 0 };
	char *counts = jobs_summary(jobs);
	commit_fields(d, &m, o, p);
	mirrors_release(&m);
	json_object_set_new(o, "jobs_summary", jstr(counts));
	free(counts);
	json_object_set_new(o, "statuses", statuses_json(d, p));
	json_object_set_new(o, "published", published_json(d, p));
	json_t *approval = json_object_get(o, "approval");
	if (jget(approval, "approve")) {
		/* The token stays with whoever holds it: the command names a
		 * variable. */
		char *command = sy_xasprintf("curl -X POST -H \"Authorization: Bearer "
					     "$SHIPYARD_TOKEN\" %s%s", base_url(d),
					     jget(approval, "approve"));
		json_object_set_new(approval, "command", jstr(command));
		free(command);
	}
	plan = load_report(d, p, "plan.json");
	json_object_set_new(o, "plan", plan ? plan : json_null());
	json_object_set_new(o, "progress", progress_json(plan, jobs));
	json_object_set_new(o, "jobs", jobs);
	json_object_set_new(o, "jobs_source", jstr(source));
	return o;
}

/* What the list shows of p beyond its fields: its commit (commit_fields),
 * "jobs_summary" (jobs_summary, or null) and, while it runs, "progress". */
static void pipeline_extras(const struct server_dashboard *d, struct mirrors *m, json_t *o,
			    const struct server_store_pipeline *p)
{
	const char *source;
	json_t *jobs = dashboard_load_jobs(d, p, &source, NULL), *plan;
	char *summary = jobs_summary(jobs);

	commit_fields(d, m, o, p);
	json_object_set_new(o, "jobs_summary", jstr(summary));
	if (jobs && p->state == SERVER_PIPELINE_RUNNING) {
		plan = load_report(d, p, "plan.json");
		json_object_set_new(o, "progress", progress_json(plan, jobs));
		json_decref(plan);
	}
	free(summary);
	json_decref(jobs);
}

/* The link to the page after a list of q ending at pipeline last:
 * path?limit=&cursor=&state=&branch=&repo= (the filters q has). */
static json_t *next_link(const char *path, const struct dashboard_list_query *q, long last)
{
	char *url = NULL, *cursor = dashboard_cursor_encode(last);
	size_t len = 0;
	FILE *f = open_memstream(&url, &len);
	const char *const keys[] = { "state", "branch", "repo" };
	const char *const values[] = { q->state, q->branch, q->repo };

	fprintf(f, "%s?limit=%zu&cursor=%s", path, q->filter.max, cursor);
	for (size_t i = 0; i < 3; i++)
		if (values[i]) {
			fprintf(f, "&%s=", keys[i]);
			server_html_url_escape(f, values[i]);
		}
	fclose(f);
	json_t *j = jstr(url);
	free(url);
	free(cursor);
	return j;
}

json_t *dashboard_pipelines_json(const struct server_dashboard *d,
				 const struct dashboard_list_query *q, const char *path,
				 struct sy_error *err)
{
	struct server_store_pipeline *list = NULL;
	struct server_store_filter f = q->filter;
	struct mirrors m = { 0 };
	size_t n = 0;
	json_t *a, *next = json_null();

	/* One more than asked says whether a next page exists. */
	f.max = q->filter.max + 1;
	if (server_store_list(d->store, &f, &list, &n, err))
		return NULL;
	a = json_array();
	for (size_t i = 0; i < n; i++) {
		if (i < q->filter.max) {
			json_t *o = dashboard_pipeline_json(&list[i]);
			pipeline_extras(d, &m, o, &list[i]);
			json_array_append_new(a, o);
		} else {
			json_decref(next);
			next = next_link(path, q, list[q->filter.max - 1].id);
		}
	}
	for (size_t i = 0; i < n; i++)
		server_store_pipeline_release(&list[i]);
	free(list);
	mirrors_release(&m);
	return json_pack("{s:I, s:o, s:o, s:{s:o, s:o, s:o}}", "queue_length",
			 (json_int_t)(d->queue_length ? d->queue_length(d->queue_arg) : 0),
			 "pipelines", a, "next", next, "filters", "state", jstr(q->state),
			 "branch", jstr(q->branch), "repo", jstr(q->repo));
}

/* ---- repositories ---- */

/* One channel of <state>/repos: current snapshot, snapshot count, binary
 * package count, the commit published, whether it is signed, and its .repo
 * file (repo-publish/repofile.h) with the URL it is served at. */
static json_t *channel_json(const struct server_dashboard *d, const char *repos,
			    const char *channel)
{
	char *current = repo_publish_current_id(repos, channel);
	char *current_path = repo_publish_current_path(repos, channel);
	char *snippet = repo_publish_repo_file(base_url(d), channel, current_path);
	char *channel_url = repo_publish_channel_url(base_url(d), channel);
	char *repo_url = sy_xasprintf("%s.repo", channel_url);
	char *baseurl = sy_xasprintf("%s/current/", channel_url);
	struct sy_strv snapshots = SY_STRV_INIT, rpms = SY_STRV_INIT;
	struct state_published published;
	json_t *o = json_object();

	repo_publish_list_snapshots(repos, channel, &snapshots);
	repo_publish_list_current(repos, channel, &rpms, NULL);
	state_published_read(d->state_dir, channel, &published, NULL);
	json_object_set_new(o, "channel", jstr(channel));
	json_object_set_new(o, "current", jstr(current));
	json_object_set_new(o, "snapshots", json_integer((json_int_t)snapshots.n));
	json_object_set_new(o, "packages", json_integer((json_int_t)rpms.n));
	json_object_set_new(o, "commit", jstr(published.commit));
	json_object_set_new(o, "baseurl", jstr(baseurl));
	json_object_set_new(o, "signed", json_boolean(repo_sign_snapshot_signed(current_path)));
	json_object_set_new(o, "repo_file", jstr(snippet));
	json_object_set_new(o, "repo_file_url", jstr(repo_url));
	state_published_release(&published);
	sy_strv_release(&rpms);
	sy_strv_release(&snapshots);
	free(baseurl);
	free(channel_url);
	free(repo_url);
	free(snippet);
	free(current_path);
	free(current);
	return o;
}

/* A configured repository, without its remote URL: it may carry
 * credentials. */
static json_t *source_json(const struct server_repo_conf *r)
{
	json_t *branches = json_array(), *schedules = json_array();

	for (size_t k = 0; k < r->branches.n; k++)
		json_array_append_new(branches, jstr(r->branches.items[k]));
	for (size_t k = 0; k < r->schedules.n; k++)
		json_array_append_new(schedules, jstr(r->schedules.items[k]));
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:I}", "name", jstr(r->name), "forge",
			 jstr(r->forge), "project", jstr(r->project), "branches", branches,
			 "schedules", schedules, "poll_s", (json_int_t)r->poll_s);
}

json_t *dashboard_repositories_json(const struct server_dashboard *d)
{
	char *repos = state_repos_dir(d->state_dir);
	struct sy_strv names = SY_STRV_INIT;
	json_t *channels = json_array(), *sources = json_array();

	/* repos/ holds the channels' directories and their lock files. */
	sy_list_dir(repos, &names);
	for (size_t i = 0; i < names.n; i++) {
		char *dir = state_channel_dir(d->state_dir, names.items[i]);
		if (sy_is_dir(dir))
			json_array_append_new(channels, channel_json(d, repos, names.items[i]));
		free(dir);
	}
	for (size_t i = 0; d->conf && i < d->conf->nrepos; i++)
		json_array_append_new(sources, source_json(&d->conf->repos[i]));
	sy_strv_release(&names);
	free(repos);
	return json_pack("{s:o, s:o}", "repositories", channels, "sources", sources);
}

/* ---- images ---- */

/* One build of config: its manifest's arch and package count, the
 * pipeline that composed it (makers[config][id], or null), and its files
 * with sizes, download links and content types; latest is the id latest
 * names. */
static json_t *image_build_json(const struct server_dashboard *d, const char *config,
				const char *id, const char *latest, const json_t *makers)
{
	struct imager_build b;
	json_t *files = json_array(), *o;

	imager_build_read(d->state_dir, config, id, &b);
	for (size_t i = 0; i < b.nfiles; i++) {
		char *url = server_html_url("/images/", config, id, b.files[i].name);
		json_array_append_new(files, json_pack("{s:o, s:I, s:o, s:s}", "name",
			jstr(b.files[i].name), "bytes", (json_int_t)b.files[i].bytes, "url", jstr(url),
			"content_type", dashboard_content_type(b.files[i].name)));
		free(url);
	}
	json_int_t made_by = json_integer_value(json_object_get(json_object_get(makers, config), id));
	o = json_pack("{s:o, s:b, s:o, s:o, s:o, s:o}", "id", jstr(id), "latest",
		      latest && !strcmp(latest, id), "arch", jstr(b.arch), "packages",
		      b.packages >= 0 ? json_integer((json_int_t)b.packages) : json_null(),
		      "pipeline", made_by ? json_integer(made_by) : json_null(), "files", files);
	imager_build_release(&b);
	return o;
}

/* One image config: the build latest names and every build, newest first. */
static json_t *image_config_json(const struct server_dashboard *d, const char *config,
				 const json_t *makers)
{
	char *latest = imager_latest_id(d->state_dir, config);
	struct sy_strv ids = SY_STRV_INIT;
	json_t *builds = json_array(), *o;

	imager_list_builds(d->state_dir, config, &ids);
	for (size_t i = 0; i < ids.n; i++)
		json_array_append_new(builds, image_build_json(d, config, ids.items[i], latest, makers));
	o = json_pack("{s:o, s:o, s:o}", "config", jstr(config), "latest", jstr(latest), "builds",
		      builds);
	sy_strv_release(&ids);
	free(latest);
	return o;
}

/* {config: {build id: pipeline id}} of the builds the runs of
 * <state>/pipelines composed (their images.json, pipeline/imagereport.h;
 * a run that found the build unchanged did not make it). */
static json_t *image_makers(const struct server_dashboard *d)
{
	char *dir = state_pipelines_dir(d->state_dir);
	struct sy_strv runs = SY_STRV_INIT;
	json_t *makers = json_object();

	sy_list_dir(dir, &runs);
	for (size_t i = 0; i < runs.n; i++) {
		char *end;
		long id = strtol(runs.items[i], &end, 10);
		if (*end || id <= 0)
			continue;
		char *path = state_pipeline_file(d->state_dir, runs.items[i], "images.json");
		json_t *doc = json_load_file(path, 0, NULL), *ij;
		size_t k;
		json_array_foreach(json_object_get(doc, "images"), k, ij) {
			const char *config = jget(ij, "config"), *build = jget(ij, "build");
			if (!config || !build || strcmp(jget(ij, "state") ? jget(ij, "state") : "", "built"))
				continue;
			if (!json_object_get(makers, config))
				json_object_set_new(makers, config, json_object());
			json_object_set_new(json_object_get(makers, config), build, json_integer(id));
		}
		json_decref(doc);
		free(path);
	}
	sy_strv_release(&runs);
	free(dir);
	return makers;
}

json_t *dashboard_images_json(const struct server_dashboard *d)
{
	struct sy_strv configs = SY_STRV_INIT;
	json_t *out = json_array(), *makers = image_makers(d);

	imager_list_configs(d->state_dir, &configs);
	for (size_t i = 0; i < configs.n; i++)
		json_array_append_new(out, image_config_json(d, configs.items[i], makers));
	json_decref(makers);
	sy_strv_release(&configs);
	return json_pack("{s:o, s:o}", "images", out, "releases",
			 server_releases_json(d->state_dir, NULL));
}
