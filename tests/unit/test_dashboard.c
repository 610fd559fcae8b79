/* The dashboard router: which paths it takes, status codes and content
 * types, escaping of everything read from the store and from files, the
 * rebuild plan and jobs of a pipeline, a plan held for approval, the log
 * offset endpoint, the JSON API (parsed back with jansson), repositories and
 * images on disk, /metrics, and job log or artifact paths that try to leave
 * the state directory. */
#include "testutil.h"

#include <math.h>

#include <jansson.h>

#include "builder/logtimes.h"
#include "common/util.h"
#include "forge/outbox.h"
#include "server/dashboard.h"
#include "server/metrics.h"
#include "server/store.h"

#define HEAD "0123456789abcdef0123456789abcdef01234567"
#define HEAD2 "fedcba9876543210fedcba9876543210fedcba98"
#define XSS "<script>alert(1)</script>"

struct fixture {
	char *dir;
	struct server_store *store;
	struct server_metrics *metrics;
	struct server_conf conf;
	struct server_dashboard d;
	long id, id2;
	struct server_http_response resp;
};

static size_t queue_of(void *arg)
{
	(void)arg;
	return 2;
}

static long queue(struct fixture *f, const char *ref, const char *head)
{
	struct server_store_pipeline p = { .repo = "distro", .trigger = "push", .ref = (char *)ref,
					    .channel = "main", .head = (char *)head };
	struct sy_error err = { { 0 } };
	struct server_store_superseded *old = NULL;
	size_t n = 0;

	assert_int_equal(server_store_queue(f->store, NULL, &p, &old, &n, NULL, &err), 1);
	free(old);
	return p.id;
}

static void set_job(struct fixture *f, long id, const char *name, enum builder_job_state state,
		    const char *reason, const char *log)
{
	struct server_store_job j = { (char *)name, state, (char *)reason, (char *)log, 1.5 };
	struct sy_error err = { { 0 } };

	assert_ok(server_store_set_job(f->store, id, &j, &err), &err);
}

static const char plan_json[] =
	"{\"from\": null, \"to\": \"" HEAD "\", \"specs\": 3,"
	" \"files\": [{\"kind\": \"modified\", \"path\": \"SPECS/zlib/zlib.spec\"}],"
	" \"changed\": [{\"spec\": \"zlib\", \"path\": \"SPECS/zlib/zlib.spec\","
	"   \"reasons\": [\"Version changed\"]}],"
	" \"rebuild\": [{\"spec\": \"zlib\", \"path\": \"SPECS/zlib/zlib.spec\", \"why\": \"changed\","
	"   \"reasons\": [\"zlib changed\"]},"
	"  {\"spec\": \"openssl\", \"path\": \"SPECS/openssl/openssl.spec\", \"why\": \"dependency\","
	"   \"reasons\": [\"BuildRequires zlib-devel " XSS "\"]}],"
	" \"removed\": [{\"spec\": \"gone\", \"path\": \"SPECS/gone/gone.spec\", \"packages\": [\"gone\"]}],"
	" \"images\": [\"toolkit/imageconfigs/core.json\"],"
	" \"unresolved\": [{\"spec\": \"openssl\", \"dependency\": \"perl(FindBin)\"}],"
	" \"cycles\": [[\"a\", \"b\"]], \"excluded\": [], \"broken\": [], \"global\": []}\n";

static const char summary_json[] =
	"{\"commit\": \"" HEAD2 "\", \"elapsed_s\": 4.0, \"counts\": {},"
	" \"jobs\": [{\"spec\": \"bash\", \"path\": \"SPECS/bash/bash.spec\", \"state\": \"failed\","
	"   \"seconds\": 2.0, \"reason\": \"make: *** " XSS "\", \"log\": null}]}\n";

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));
	struct sy_error err = { { 0 } };

	f->dir = test_tmpdir();
	char *db = sy_xasprintf("%s/state.db", f->dir);
	assert_ok(server_store_open(db, &f->store, &err), &err);
	free(db);
	f->metrics = server_metrics_new(f->dir);
	f->conf.url = "http://ci.example";
	static struct server_repo_conf repo;
	repo.name = (char *)"distro";
	f->conf.repos = &repo;
	f->conf.nrepos = 1;
	f->d = (struct server_dashboard){ f->store, &f->conf, f->dir, f->metrics, queue_of, NULL };

	f->id = queue(f, "main", HEAD);
	char *log = sy_xasprintf("%s/pipelines/1/logs/zlib.log", f->dir);
	set_job(f, f->id, "zlib", BUILDER_JOB_BUILT, NULL, log);
	set_job(f, f->id, "openssl", BUILDER_JOB_FAILED, XSS, NULL);
	set_job(f, f->id, "evil", BUILDER_JOB_FAILED, NULL, "/etc/passwd");
	set_job(f, f->id, "image/core", BUILDER_JOB_RUNNING, NULL, NULL);
	free(log);
	test_write_file(f->dir, "pipelines/1/logs/zlib.log", "building zlib\n");
	test_write_file(f->dir, "pipelines/1/logs/openssl.log", "building openssl\n");
	test_write_file(f->dir, "pipelines/1/plan.json", plan_json);
	test_write_file(f->dir, "pipelines/1/pipeline.log", "line1\nline2\n");
	char *link = sy_xasprintf("%s/pipelines/1/logs/linked.log", f->dir);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	free(link);
	assert_ok(server_store_finish(f->store, f->id, SERVER_PIPELINE_FAILURE, "1 failed: <b>openssl</b>", &err),
		  &err);

	f->id2 = queue(f, "pr/7", HEAD2);
	test_write_file(f->dir, "pipelines/2/build-summary.json", summary_json);
	test_write_file(f->dir, "pipelines/2/logs/bash.log", "bash failed\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	server_http_response_release(&f->resp);
	server_metrics_free(f->metrics);
	server_store_close(f->store);
	sy_rm_rf(f->dir, NULL);
	free(f->dir);
	free(f);
	return 0;
}

/* Routes a GET of path?query; asserts it was handled with status. */
static struct server_http_response *get(struct fixture *f, const char *path, const char *query,
					 int status)
{
	server_http_response_release(&f->resp);
	assert_int_equal(server_dashboard_route(&f->d, "GET", path, query, &f->resp), 1);
	if (f->resp.status != status)
		fail_msg("GET %s: status %d, expected %d: %.*s", path, f->resp.status, status,
			 (int)f->resp.len, f->resp.body ? f->resp.body : "");
	return &f->resp;
}

/* The body as JSON (caller releases). */
static json_t *get_json(struct fixture *f, const char *path, const char *query)
{
	json_error_t jerr;
	struct server_http_response *r = get(f, path, query, 200);
	json_t *doc = json_loadb(r->body, r->len, 0, &jerr);

	assert_string_equal(r->content_type, "application/json");
	if (!doc)
		fail_msg("%s: %s", path, jerr.text);
	return doc;
}

/* No link or load from another origin: no external assets. */
static void assert_self_contained(const char *html)
{
	assert_null(strstr(html, "src=\"http"));
	assert_null(strstr(html, "href=\"http"));
	assert_null(strstr(html, "href=\"//"));
	assert_null(strstr(html, "url("));
	assert_null(strstr(html, "@import"));
	assert_null(strstr(html, "<link"));
}

static void test_dashboard_leaves_other_paths_to_the_server(void **state)
{
	struct fixture *f = *state;
	struct server_http_response r = { 0 };

	assert_int_equal(server_dashboard_route(&f->d, "POST", "/hooks/github", "", &r), 0);
	assert_int_equal(server_dashboard_route(&f->d, "GET", "/repos/main/current/x.rpm", "", &r), 0);
	assert_int_equal(server_dashboard_route(&f->d, "GET", "/favicon.ico", "", &r), 0);
	assert_int_equal(r.status, 0);
	assert_null(r.body);
}

static void test_dashboard_healthz_and_method_not_allowed(void **state)
{
	struct fixture *f = *state;
	struct server_http_response *r = get(f, "/healthz", "", 200);

	assert_string_equal(r->body, "ok\n");
	server_http_response_release(&f->resp);
	assert_int_equal(server_dashboard_route(&f->d, "POST", "/", "", &f->resp), 1);
	assert_int_equal(f->resp.status, 405);
	server_http_response_release(&f->resp);
	assert_int_equal(server_dashboard_route(&f->d, "DELETE", "/pipelines/1", "", &f->resp), 1);
	assert_int_equal(f->resp.status, 405);
}

static void test_dashboard_lists_pipelines_newest_first_escaped(void **state)
{
	struct fixture *f = *state;
	struct server_http_response *r = get(f, "/", "", 200);
	char *html = r->body;

	assert_string_equal(r->content_type, "text/html; charset=utf-8");
	assert_non_null(strstr(html, "<!DOCTYPE html>"));
	assert_non_null(strstr(html, "<meta charset=\"utf-8\">"));
	assert_self_contained(html);
	assert_non_null(strstr(html, "2 queued to run"));
	assert_non_null(strstr(html, "href=\"/pipelines/1\""));
	assert_non_null(strstr(html, "0123456789ab<"));
	assert_null(strstr(html, "0123456789abc<"));
	assert_true(strstr(html, "href=\"/pipelines/2\"") < strstr(html, "href=\"/pipelines/1\""));
	assert_non_null(strstr(html, "class=\"badge s-failure\">failure<"));
	assert_non_null(strstr(html, "1 failed: &lt;b&gt;openssl&lt;/b&gt;"));
	assert_null(strstr(html, "<b>"));
}

static void test_dashboard_pipeline_page_shows_plan_and_jobs_escaped(void **state)
{
	struct fixture *f = *state;
	struct server_http_response *r = get(f, "/pipelines/1", "", 200);
	char *html = r->body;

	assert_self_contained(html);
	assert_null(strstr(html, "<script"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	/* The plan: changed specs, rebuild chain, removed, unresolved, cycles, images. */
	assert_non_null(strstr(html, "Version changed"));
	assert_non_null(strstr(html, "BuildRequires zlib-devel &lt;script&gt;"));
	assert_non_null(strstr(html, "perl(FindBin)"));
	assert_non_null(strstr(html, "toolkit/imageconfigs/core.json"));
	assert_non_null(strstr(html, "SPECS/gone/gone.spec"));
	assert_non_null(strstr(html, "a \xe2\x86\x92 b"));
	/* Jobs: from the store; logs linked only where a log exists in the run. */
	assert_non_null(strstr(html, "href=\"/pipelines/1/jobs/zlib/log\""));
	assert_non_null(strstr(html, "href=\"/pipelines/1/jobs/zlib/log.html\""));
	assert_non_null(strstr(html, "href=\"/pipelines/1/jobs/openssl/log\""));
	assert_null(strstr(html, "/jobs/evil/log"));
	assert_non_null(strstr(html, "class=\"badge s-running\">running<"));
	assert_non_null(strstr(html, "href=\"/pipelines/1/log.html\""));
	assert_non_null(strstr(html, "<th>Progress</th><td>3/4 done; running: image/core</td>"));
}

static void test_dashboard_unknown_pipeline_is_404(void **state)
{
	struct fixture *f = *state;

	get(f, "/pipelines/999", "", 404);
	get(f, "/api/pipelines/999", "", 404);
	get(f, "/pipelines/abc", "", 404);
	get(f, "/pipelines/-1", "", 404);
	get(f, "/pipelines/1/nothing", "", 404);
	get(f, "/pipelines/999/log", "", 404);
	get(f, "/pipelines/999/jobs/zlib/log", "", 404);
	get(f, "/api/nothing", "", 404);
}

static void test_dashboard_pipeline_log_whole_and_from_offset(void **state)
{
	struct fixture *f = *state;
	struct server_http_response *r = get(f, "/pipelines/1/log", "", 200);

	assert_string_equal(r->content_type, "text/plain; charset=utf-8");
	assert_non_null(r->file_path);
	assert_non_null(strstr(r->file_path, "/pipelines/1/pipeline.log"));
	r = get(f, "/pipelines/1/log", "offset=3", 200);
	assert_null(r->file_path);
	assert_int_equal(r->len, 9);
	assert_memory_equal(r->body, "e1\nline2\n", 9);
	r = get(f, "/pipelines/1/log", "x=1&offset=12", 200);
	assert_int_equal(r->len, 0);
	r = get(f, "/pipelines/1/log", "offset=4000", 200);
	assert_int_equal(r->len, 0);
	get(f, "/pipelines/1/log", "offset=-1", 400);
	get(f, "/pipelines/1/log", "offset=3x", 400);
	/* Queued, no log yet: the whole log is 404, a chunk is empty. */
	get(f, "/pipelines/2/log", "", 404);
	r = get(f, "/pipelines/2/log", "offset=0", 200);
	assert_int_equal(r->len, 0);
}

/* The times of a log's lines come from its sidecar (builder/logtimes.h),
 * from a byte offset on; a log without one (an older release's) or not
 * written yet has none. */
static void test_dashboard_log_times_from_sidecar(void **state)
{
	struct fixture *f = *state;
	struct builder_log_times *w;
	struct sy_error err = { { 0 } };
	char *log = sy_xasprintf("%s/pipelines/1/pipeline.log", f->dir);
	json_t *doc, *times;

	assert_ok(builder_log_times_open(log, 0, 1700000000000LL, &w, &err), &err);
	builder_log_times_feed(w, "line1\n", 6, 1700000000042LL);
	builder_log_times_feed(w, "line2\n", 6, 1700000061500LL);
	builder_log_times_close(w);
	doc = get_json(f, "/pipelines/1/log", "times=0");
	assert_int_equal(json_integer_value(json_object_get(doc, "start")), 1700000000000LL);
	times = json_object_get(doc, "times");
	assert_int_equal(json_array_size(times), 2);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(times, 1), 0)), 6);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(times, 1), 1)), 61500);
	assert_false(json_is_true(json_object_get(doc, "more")));
	json_decref(doc);
	doc = get_json(f, "/pipelines/1/log", "times=1");
	assert_int_equal(json_array_size(json_object_get(doc, "times")), 1);
	json_decref(doc);
	/* A job log without sidecar; a queued pipeline's log not there yet. */
	doc = get_json(f, "/pipelines/1/jobs/zlib/log", "times=0");
	assert_true(json_is_null(json_object_get(doc, "start")));
	assert_int_equal(json_array_size(json_object_get(doc, "times")), 0);
	json_decref(doc);
	doc = get_json(f, "/pipelines/2/log", "times=0");
	assert_true(json_is_null(json_object_get(doc, "start")));
	json_decref(doc);
	get(f, "/pipelines/1/log", "times=x", 400);
	get(f, "/pipelines/1/jobs/missing/log", "times=0", 404);
	/* A sidecar that is not one: an error that names no path. */
	test_write_file(f->dir, "pipelines/1/logs/zlib.log.times", "not a sidecar, not at all\n");
	struct server_http_response *r = get(f, "/pipelines/1/jobs/zlib/log", "times=0", 500);
	assert_null(strstr(r->body, f->dir));
	assert_non_null(strstr(r->body, "cannot read the times"));
	free(log);
}

static void test_dashboard_log_page_follows_with_inline_script(void **state)
{
	struct fixture *f = *state;
	struct server_http_response *r = get(f, "/pipelines/1/log.html", "", 200);

	assert_string_equal(r->content_type, "text/html; charset=utf-8");
	assert_self_contained(r->body);
	assert_non_null(strstr(r->body, "<script>"));
	assert_non_null(strstr(r->body, "data-src=\"/pipelines/1/log\""));
	assert_non_null(strstr(r->body, "data-api=\"/api/pipelines/1\""));
	assert_non_null(strstr(r->body, "'?offset='"));
	assert_non_null(strstr(r->body, "'?times='"));
	r = get(f, "/pipelines/1/jobs/zlib/log.html", "", 200);
	assert_non_null(strstr(r->body, "data-src=\"/pipelines/1/jobs/zlib/log\""));
	get(f, "/pipelines/1/jobs/unknown/log.html", "", 404);
}

static void test_dashboard_job_log_served_from_its_run_directory_only(void **state)
{
	struct fixture *f = *state;
	struct server_http_response *r = get(f, "/pipelines/1/jobs/zlib/log", "", 200);

	assert_string_equal(r->content_type, "text/plain; charset=utf-8");
	assert_non_null(strstr(r->file_path, "/pipelines/1/logs/zlib.log"));
	r = get(f, "/pipelines/1/jobs/zlib/log", "offset=9", 200);
	assert_int_equal(r->len, 5);
	assert_memory_equal(r->body, "zlib\n", 5);
	/* No recorded log file: the one named after the job. */
	r = get(f, "/pipelines/1/jobs/openssl/log", "", 200);
	assert_non_null(strstr(r->file_path, "/pipelines/1/logs/openssl.log"));
	/* A recorded log outside the run directory (another run's too), a link
	 * out of it, traversal. */
	get(f, "/pipelines/1/jobs/evil/log", "", 404);
	char *other = sy_xasprintf("%s/pipelines/2/logs/bash.log", f->dir);
	set_job(f, f->id, "other", BUILDER_JOB_FAILED, NULL, other);
	free(other);
	get(f, "/pipelines/1/jobs/other/log", "", 404);
	/* A job an older release recorded, its log under logs/<commit>/. */
	test_write_file(f->dir, "logs/0123456789ab/legacy.log", "built before\n");
	char *legacy = sy_xasprintf("%s/logs/0123456789ab/legacy.log", f->dir);
	set_job(f, f->id, "legacy", BUILDER_JOB_BUILT, NULL, legacy);
	free(legacy);
	r = get(f, "/pipelines/1/jobs/legacy/log", "", 200);
	assert_non_null(strstr(r->file_path, "/logs/0123456789ab/legacy.log"));
	get(f, "/pipelines/1/jobs/linked/log", "", 404);
	get(f, "/pipelines/1/jobs/../../../etc/passwd/log", "", 400);
	get(f, "/pipelines/1/jobs/../plan.json/log", "", 400);
	get(f, "/pipelines/1/jobs//etc/passwd/log", "", 400);
	get(f, "/pipelines/1/jobs/a\nb/log", "", 400);
	get(f, "/pipelines/1/jobs/missing/log", "", 404);
	/* A running job without a log yet: an empty chunk while following. */
	r = get(f, "/pipelines/1/jobs/image/core/log", "offset=0", 200);
	assert_int_equal(r->len, 0);
}

static void test_dashboard_api_pipelines_parse(void **state)
{
	struct fixture *f = *state;
	json_t *doc = get_json(f, "/api/pipelines", "");
	json_t *list = json_object_get(doc, "pipelines");

	assert_int_equal(json_array_size(list), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), 2);
	assert_int_equal(json_integer_value(json_object_get(doc, "queue_length")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "state")),
			    "failure");
	json_decref(doc);
	doc = get_json(f, "/api/pipelines", "limit=1");
	assert_int_equal(json_array_size(json_object_get(doc, "pipelines")), 1);
	json_decref(doc);

	doc = get_json(f, "/api/pipelines/1", "");
	assert_string_equal(json_string_value(json_object_get(doc, "head")), HEAD);
	assert_string_equal(json_string_value(json_object_get(doc, "jobs_source")), "store");
	json_t *plan = json_object_get(doc, "plan");
	json_t *rebuild = json_object_get(plan, "rebuild");
	assert_int_equal(json_array_size(rebuild), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rebuild, 1), "spec")),
			    "openssl");
	json_t *jobs = json_object_get(doc, "jobs");
	assert_int_equal(json_array_size(jobs), 4);
	json_t *zlib = json_array_get(jobs, 0), *openssl = json_array_get(jobs, 1);
	assert_string_equal(json_string_value(json_object_get(zlib, "log")),
			    "/pipelines/1/jobs/zlib/log");
	assert_null(json_object_get(zlib, "file"));
	assert_string_equal(json_string_value(json_object_get(openssl, "reason")), XSS);
	assert_true(json_is_null(json_object_get(json_array_get(jobs, 2), "log")));
	/* Progress: 3 of 4 jobs ended (the plan has 2 builds and 1 image, but
	 * 4 jobs were recorded), the image still running. */
	json_t *progress = json_object_get(doc, "progress");
	assert_int_equal(json_integer_value(json_object_get(progress, "done")), 3);
	assert_int_equal(json_integer_value(json_object_get(progress, "total")), 4);
	json_t *running = json_object_get(progress, "running");
	assert_int_equal(json_array_size(running), 1);
	assert_string_equal(json_string_value(json_array_get(running, 0)), "image/core");
	json_decref(doc);
}

/* A running pipeline shows in the list how far it has come. */
static void test_dashboard_list_shows_progress_of_running_pipelines(void **state)
{
	struct fixture *f = *state;
	struct server_store_pipeline claimed = { 0 };
	struct sy_error err = { { 0 } };

	assert_int_equal(server_store_claim(f->store, &claimed, &err), 1);
	assert_int_equal(claimed.id, f->id2);
	server_store_pipeline_release(&claimed);
	set_job(f, f->id2, "bash", BUILDER_JOB_RUNNING, NULL, NULL);
	set_job(f, f->id2, "zsh", BUILDER_JOB_BUILT, NULL, NULL);

	json_t *doc = get_json(f, "/api/pipelines", "");
	json_t *list = json_object_get(doc, "pipelines");
	json_t *running = json_array_get(list, 0), *ended = json_array_get(list, 1);
	json_t *progress = json_object_get(running, "progress");
	assert_int_equal(json_integer_value(json_object_get(progress, "done")), 1);
	assert_int_equal(json_integer_value(json_object_get(progress, "total")), 2);
	assert_null(json_object_get(ended, "progress"));
	json_decref(doc);

	struct server_http_response *r = get(f, "/pipelines", "", 200);
	assert_non_null(strstr(r->body, "<td class=\"summary\">1/2 done; running: bash</td>"));
}

static void test_dashboard_jobs_fall_back_to_build_summary(void **state)
{
	struct fixture *f = *state;
	json_t *doc = get_json(f, "/api/pipelines/2", "");

	assert_string_equal(json_string_value(json_object_get(doc, "jobs_source")), "build-summary");
	assert_true(json_is_null(json_object_get(doc, "plan")));
	json_t *bash = json_array_get(json_object_get(doc, "jobs"), 0);
	assert_string_equal(json_string_value(json_object_get(bash, "name")), "bash");
	assert_string_equal(json_string_value(json_object_get(bash, "log")),
			    "/pipelines/2/jobs/bash/log");
	json_decref(doc);
	struct server_http_response *r = get(f, "/pipelines/2", "", 200);
	assert_non_null(strstr(r->body, "make: *** &lt;script&gt;"));
	assert_non_null(strstr(r->body, "No plan recorded"));
	assert_non_null(strstr(r->body, "http-equiv=\"refresh\""));
}

static void test_dashboard_repositories_with_dnf_snippet(void **state)
{
	struct fixture *f = *state;

	test_write_file(f->dir, "repos/main/snapshots/20240101T000000Z/RPMS/x86_64/a-1-1.x86_64.rpm", "");
	test_write_file(f->dir, "repos/main/snapshots/20240101T000000Z/RPMS/noarch/b-1-1.noarch.rpm", "");
	test_write_file(f->dir, "repos/main/snapshots/20230101T000000Z/RPMS/x86_64/a-0-1.x86_64.rpm", "");
	test_write_file(f->dir, "repos/main/published.json", "{\"commit\": \"" HEAD "\"}");
	test_write_file(f->dir, "repos/pr-7/snapshots/.keep", "");
	char *link = sy_xasprintf("%s/repos/main/current", f->dir);
	assert_int_equal(symlink("snapshots/20240101T000000Z", link), 0);
	free(link);

	json_t *doc = get_json(f, "/api/repositories", "");
	json_t *repos = json_object_get(doc, "repositories"), *main = json_array_get(repos, 0);
	assert_int_equal(json_array_size(repos), 2);
	assert_string_equal(json_string_value(json_object_get(main, "channel")), "main");
	assert_string_equal(json_string_value(json_object_get(main, "current")), "20240101T000000Z");
	assert_int_equal(json_integer_value(json_object_get(main, "packages")), 2);
	assert_int_equal(json_integer_value(json_object_get(main, "snapshots")), 2);
	assert_string_equal(json_string_value(json_object_get(main, "commit")), HEAD);
	assert_true(json_is_null(json_object_get(json_array_get(repos, 1), "current")));
	json_decref(doc);

	struct server_http_response *r = get(f, "/repositories", "", 200);
	assert_non_null(strstr(r->body, "baseurl=http://ci.example/repos/main/current/"));
	assert_non_null(strstr(r->body, "[shipyard-main]"));
	assert_non_null(strstr(r->body, "[shipyard-pr-7]"));
}

static void test_dashboard_images_and_artifacts(void **state)
{
	struct fixture *f = *state;

	test_write_file(f->dir, "images/core/20240101T000000Z/core.tar.gz", "tarball");
	test_write_file(f->dir, "images/core/20240101T000000Z/manifest.json",
			"{\"name\": \"core\", \"arch\": \"x86_64\", \"packages\": [\"a\", \"b\"]}");
	test_write_file(f->dir, "images/core/20240102T000000Z.tmp/core.tar.gz", "half");
	char *link = sy_xasprintf("%s/images/core/latest", f->dir);
	assert_int_equal(symlink("20240101T000000Z", link), 0);
	free(link);
	link = sy_xasprintf("%s/images/core/20240101T000000Z/passwd", f->dir);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	free(link);

	json_t *doc = get_json(f, "/api/images", "");
	json_t *core = json_array_get(json_object_get(doc, "images"), 0);
	json_t *builds = json_object_get(core, "builds"), *b = json_array_get(builds, 0);
	assert_string_equal(json_string_value(json_object_get(core, "latest")), "20240101T000000Z");
	assert_int_equal(json_array_size(builds), 1);
	assert_int_equal(json_integer_value(json_object_get(b, "packages")), 2);
	assert_true(json_is_true(json_object_get(b, "latest")));
	assert_int_equal(json_array_size(json_object_get(b, "files")), 2);
	json_decref(doc);

	struct server_http_response *r = get(f, "/images", "", 200);
	assert_self_contained(r->body);
	assert_non_null(strstr(r->body, "href=\"/images/core/20240101T000000Z/core.tar.gz\""));
	r = get(f, "/images/core/20240101T000000Z/core.tar.gz", "", 200);
	assert_non_null(strstr(r->file_path, "/images/core/20240101T000000Z/core.tar.gz"));
	get(f, "/images/core/20240101T000000Z/passwd", "", 404);
	get(f, "/images/core/../../state.db", "", 404);
	get(f, "/images/core/latest/../../../state.db", "", 404);
}

static void test_dashboard_metrics_in_prometheus_text(void **state)
{
	struct fixture *f = *state;

	server_metrics_webhook(f->metrics, "github", 202, 0.002);
	struct server_http_response *r = get(f, "/metrics", "", 200);
	assert_string_equal(r->content_type, "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(r->body, "\nshipyard_pipelines{state=\"queued\"} 1\n"));
	assert_non_null(strstr(r->body, "\nshipyard_pipelines{state=\"failure\"} 1\n"));
	assert_non_null(strstr(r->body, "\nshipyard_queue_length 2\n"));
	assert_non_null(strstr(r->body, "\nshipyard_jobs{state=\"failed\"} 2\n"));
	assert_non_null(strstr(r->body, "shipyard_webhooks_total{forge=\"github\",status=\"202\"} 1"));
	f->d.metrics = NULL;
	get(f, "/metrics", "", 404);
}

static void test_html_escape_escapes_markup_and_quotes(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	server_html_escape(out, "<a href=\"x\">Tom & Jerry's</a>");
	server_html_escape(out, NULL);
	fclose(out);
	assert_string_equal(text, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
	free(text);
}

/* A plan the cascade guard held: the pipeline says "approval needed" with
 * what the guard said and the curl command that approves it (the token
 * left to a variable); once approved, who approved it, when, and the
 * pipeline that builds it, which links back. */
static void test_dashboard_held_pipeline_shows_approval_and_who_gave_it(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	struct server_store_pipeline approved;
	long held = queue(f, "next", HEAD);
	char path[64], *want;

	assert_ok(server_store_set_held(f->store, held, "9 specs to build, over plan.maxrebuild 3; "
				       "biggest causes: " XSS, &err), &err);
	assert_ok(server_store_finish(f->store, held, SERVER_PIPELINE_FAILURE, NULL, &err), &err);

	snprintf(path, sizeof(path), "/api/pipelines/%ld", held);
	json_t *doc = get_json(f, path, "");
	json_t *a = json_object_get(doc, "approval");
	assert_string_equal(json_string_value(json_object_get(a, "state")), "needed");
	assert_non_null(strstr(json_string_value(json_object_get(a, "reason")), "over plan.maxrebuild 3"));
	want = sy_xasprintf("/api/pipelines/%ld/approve", held);
	assert_string_equal(json_string_value(json_object_get(a, "approve")), want);
	free(want);
	want = sy_xasprintf("curl -X POST -H \"Authorization: Bearer $SHIPYARD_TOKEN\" "
			    "http://ci.example/api/pipelines/%ld/approve", held);
	assert_string_equal(json_string_value(json_object_get(a, "command")), want);
	free(want);
	assert_true(json_is_null(json_object_get(doc, "approves")));
	json_decref(doc);

	snprintf(path, sizeof(path), "/pipelines/%ld", held);
	char *html = get(f, path, "", 200)->body;
	assert_non_null(strstr(html, "class=\"badge s-approvalneeded\">approval needed<"));
	want = sy_xasprintf("<pre>curl -X POST -H &quot;Authorization: Bearer $SHIPYARD_TOKEN&quot; "
			    "http://ci.example/api/pipelines/%ld/approve</pre>", held);
	assert_non_null(strstr(html, want));
	free(want);
	assert_non_null(strstr(html, "biggest causes: &lt;script&gt;"));
	assert_null(strstr(html, "<script>"));
	html = get(f, "/", "", 200)->body;
	assert_non_null(strstr(html, "class=\"badge s-approvalneeded\""));
	assert_non_null(strstr(html, "over plan.maxrebuild 3"));
	/* The other pipelines need no approval. */
	doc = get_json(f, "/api/pipelines/1", "");
	assert_true(json_is_null(json_object_get(doc, "approval")));
	json_decref(doc);

	assert_int_equal(server_store_approve(f->store, held, "alice", &approved, &err), 1);
	char api[64];
	snprintf(api, sizeof(api), "/api/pipelines/%ld", held);
	doc = get_json(f, api, "");
	a = json_object_get(doc, "approval");
	assert_string_equal(json_string_value(json_object_get(a, "state")), "approved");
	assert_string_equal(json_string_value(json_object_get(a, "approved_by")), "alice");
	assert_int_equal(json_integer_value(json_object_get(a, "pipeline")), approved.id);
	assert_non_null(json_string_value(json_object_get(a, "approved_at")));
	assert_true(server_html_time_parse(json_string_value(json_object_get(a, "approved_at"))) > 0);
	assert_null(json_object_get(a, "command"));
	json_decref(doc);
	html = get(f, path, "", 200)->body;
	assert_null(strstr(html, "class=\"badge s-approvalneeded\""));
	assert_null(strstr(html, "curl"));
	assert_non_null(strstr(html, "approved by alice at "));
	want = sy_xasprintf(", built by pipeline <a href=\"/pipelines/%ld\">#%ld</a>", approved.id,
			    approved.id);
	assert_non_null(strstr(html, want));
	free(want);
	snprintf(path, sizeof(path), "/pipelines/%ld", approved.id);
	html = get(f, path, "", 200)->body;
	want = sy_xasprintf("<th>Approves</th><td><a href=\"/pipelines/%ld\">#%ld</a>", held, held);
	assert_non_null(strstr(html, want));
	free(want);
	server_store_pipeline_release(&approved);
}

static void test_dashboard_api_times_are_rfc3339_utc(void **state)
{
	struct fixture *f = *state;
	json_t *doc = get_json(f, "/api/pipelines/1", "");
	const char *created = json_string_value(json_object_get(doc, "created"));

	assert_non_null(created);
	assert_int_equal(strlen(created), strlen("2026-12-07T14:55:13.042Z"));
	assert_int_equal(created[10], 'T');
	assert_int_equal(created[strlen(created) - 1], 'Z');
	assert_true(fabs(server_html_time_parse(created) - sy_wall_s()) < 60);
	json_decref(doc);
}

static void test_dashboard_api_list_pages_with_cursor(void **state)
{
	struct fixture *f = *state;
	char query[128];

	for (int i = 0; i < 3; i++)
		queue(f, "main", HEAD);
	/* 5 pipelines, 2 a page: 5 4 | 3 2 | 1, each page's next the rest. */
	json_t *doc = get_json(f, "/api/pipelines", "limit=2");
	long seen[8], n = 0;
	for (;;) {
		json_t *p;
		size_t i;
		json_array_foreach(json_object_get(doc, "pipelines"), i, p)
			seen[n++] = (long)json_integer_value(json_object_get(p, "id"));
		const char *next = json_string_value(json_object_get(doc, "next"));
		if (!next)
			break;
		assert_int_equal(strncmp(next, "/api/pipelines?", 15), 0);
		snprintf(query, sizeof(query), "%s", next + 15);
		json_decref(doc);
		assert_true(n < 6);
		doc = get_json(f, "/api/pipelines", query);
	}
	json_decref(doc);
	assert_int_equal(n, 5);
	for (long i = 0; i < n; i++)
		assert_int_equal(seen[i], 5 - i);
}

static void test_dashboard_api_list_filters_by_state_branch_repo(void **state)
{
	struct fixture *f = *state;
	json_t *doc = get_json(f, "/api/pipelines", "state=failure");
	json_t *list = json_object_get(doc, "pipelines");

	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), f->id);
	json_decref(doc);
	doc = get_json(f, "/api/pipelines", "branch=pr/7&state=");
	list = json_object_get(doc, "pipelines");
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), f->id2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "filters"),
							      "branch")), "pr/7");
	json_decref(doc);
	doc = get_json(f, "/api/pipelines", "repo=distro&state=queued");
	assert_int_equal(json_array_size(json_object_get(doc, "pipelines")), 1);
	json_decref(doc);
}

static void test_dashboard_api_list_refuses_unknown_filters(void **state)
{
	struct fixture *f = *state;
	const char *const bad[] = { "state=bogus", "branch=nope", "repo=other", "stat=failure",
				    "limit=0", "limit=x", "limit=1001", "cursor=zz", "cursor=7631" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct server_http_response *r = get(f, "/api/pipelines", bad[i], 400);
		json_t *doc = json_loadb(r->body, r->len, 0, NULL);
		assert_non_null(json_string_value(json_object_get(doc, "error")));
		json_decref(doc);
		get(f, "/", bad[i], 400);
	}
}

static const char images_json[] =
	"{\"images\": [{\"job\": \"image/core\", \"config\": \"core\", \"state\": \"built\","
	" \"text\": \"composed core.tar.gz\", \"log\": \"%s\", \"build\": \"20260101T000000Z\","
	" \"started\": 1700000000.0, \"ended\": 1700000012.5,"
	" \"artifacts\": [{\"name\": \"core.tar.gz\", \"bytes\": 3, \"sha256\": \"ab\"}]},"
	" {\"job\": \"image/<b>x</b>\", \"config\": \"<b>x</b>\", \"state\": \"failed\","
	" \"text\": \"<i>no</i>\", \"log\": null, \"build\": null, \"started\": 1700000001.0,"
	" \"ended\": 1700000002.0, \"artifacts\": []}]}\n";

static void test_dashboard_image_jobs_with_artifacts_and_logs(void **state)
{
	struct fixture *f = *state;
	char *log = sy_xasprintf("%s/pipelines/1/logs/image-core.log", f->dir);
	char *text = sy_xasprintf(images_json, log);

	test_write_file(f->dir, "pipelines/1/logs/image-core.log", "composing\n");
	test_write_file(f->dir, "images/core/20260101T000000Z/core.tar.gz", "abc");
	test_write_file(f->dir, "pipelines/1/images.json", text);
	set_job(f, f->id, "image/core", BUILDER_JOB_BUILT, "composed core.tar.gz", log);

	json_t *doc = get_json(f, "/api/pipelines/1", "");
	json_t *jobs = json_object_get(doc, "jobs"), *core = NULL, *x = NULL, *j;
	size_t i;
	json_array_foreach(jobs, i, j) {
		if (!strcmp(json_string_value(json_object_get(j, "name")), "image/core"))
			core = j;
		if (!strcmp(json_string_value(json_object_get(j, "name")), "image/<b>x</b>"))
			x = j;
	}
	assert_non_null(core);
	assert_non_null(x);
	assert_string_equal(json_string_value(json_object_get(core, "kind")), "image");
	assert_string_equal(json_string_value(json_object_get(core, "log")),
			    "/pipelines/1/jobs/image/core/log");
	json_t *a = json_array_get(json_object_get(core, "artifacts"), 0);
	assert_string_equal(json_string_value(json_object_get(a, "url")),
			    "/images/core/20260101T000000Z/core.tar.gz");
	assert_string_equal(json_string_value(json_object_get(a, "content_type")), "application/gzip");
	assert_string_equal(json_string_value(json_object_get(core, "finished")),
			    "2023-11-14T22:13:32.500Z");
	json_t *zlib = json_array_get(jobs, 0);
	assert_string_equal(json_string_value(json_object_get(zlib, "kind")), "build");
	assert_true(json_is_array(json_object_get(zlib, "nevras")));
	json_decref(doc);

	struct server_http_response *r = get(f, "/pipelines/1/jobs/image/core/log", "", 200);
	assert_non_null(r->file_path);
	r = get(f, "/images/core/20260101T000000Z/core.tar.gz", "", 200);
	assert_string_equal(r->content_type, "application/gzip");
	get(f, "/images/core/20260101T000000Z/..%2f..%2fstate.db", "", 404);
	get(f, "/images/core/../../state.db", "", 404);
	const char *html = get(f, "/pipelines/1", "", 200)->body;
	assert_non_null(strstr(html, "href=\"/images/core/20260101T000000Z/core.tar.gz\""));
	assert_null(strstr(html, "<b>x</b>"));
	assert_null(strstr(html, "<i>no</i>"));
	assert_non_null(strstr(html, "<svg class=\"timeline\" id=\"timeline\""));
	assert_non_null(strstr(html, "<div class=\"graph\" id=\"graph\"><svg"));

	doc = get_json(f, "/api/images", "");
	json_t *build = json_array_get(json_object_get(json_array_get(json_object_get(doc, "images"), 0),
						       "builds"), 0);
	assert_int_equal(json_integer_value(json_object_get(build, "pipeline")), 1);
	json_decref(doc);
	free(text);
	free(log);
}

static void test_dashboard_links_commits_to_the_forge_and_summarises_jobs(void **state)
{
	struct fixture *f = *state;
	struct server_repo_conf *r = (struct server_repo_conf *)f->conf.repos;

	r->forge = (char *)"gitlab";
	r->project = (char *)"group/distro";
	r->api = (char *)"https://git.example/api/v4/";
	json_t *doc = get_json(f, "/api/pipelines/1", "");
	json_t *c = json_object_get(doc, "commit");
	assert_string_equal(json_string_value(json_object_get(c, "url")),
			    "https://git.example/group/distro/-/commit/" HEAD);
	assert_true(json_is_null(json_object_get(c, "subject"))); /* no mirror */
	assert_string_equal(json_string_value(json_object_get(doc, "jobs_summary")),
			    "1 built, 2 failed, 1 running: openssl, evil");
	json_decref(doc);
	r->forge = (char *)"github";
	r->api = NULL;
	doc = get_json(f, "/api/pipelines", "");
	c = json_object_get(json_array_get(json_object_get(doc, "pipelines"), 1), "commit");
	assert_string_equal(json_string_value(json_object_get(c, "url")),
			    "https://github.com/group/distro/commit/" HEAD);
	json_decref(doc);
	r->forge = r->project = NULL;
}

static void test_dashboard_pipeline_shows_forge_statuses_and_published_snapshot(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	char *db = sy_xasprintf("%s/state.db", f->dir);
	struct forge_outbox *ob = forge_outbox_open(db, &err);
	struct forge_status_request r = { .sha = HEAD, .context = "shipyard/build",
					   .state = FORGE_FAILURE, .description = "1 failed: " XSS,
					   .target_url = "http://ci.example/pipelines/1" };

	assert_non_null(ob);
	assert_int_equal(forge_outbox_enqueue(ob, "distro", &r, NULL, &err), 1);
	forge_outbox_close(ob);
	free(db);
	test_write_file(f->dir, "repos/main/published.json", "{\"commit\": \"" HEAD "\"}");
	json_t *doc = get_json(f, "/api/pipelines/1", "");
	json_t *st = json_array_get(json_object_get(doc, "statuses"), 0);
	assert_string_equal(json_string_value(json_object_get(st, "context")), "shipyard/build");
	assert_string_equal(json_string_value(json_object_get(st, "state")), "failure");
	assert_string_equal(json_string_value(json_object_get(st, "delivery")), "queued");
	assert_true(json_is_true(json_object_get(json_object_get(doc, "published"), "head")));
	json_decref(doc);
	const char *html = get(f, "/pipelines/1", "", 200)->body;
	assert_non_null(strstr(html, "<tr class=\"status\"><td>shipyard/build</td>"));
	assert_non_null(strstr(html, "1 failed: &lt;script&gt;"));
	assert_null(strstr(html, XSS));
	assert_non_null(strstr(html, "<td id=\"published\">main: nothing published yet"));
}

static void test_dashboard_serves_openapi_description(void **state)
{
	struct fixture *f = *state;
	json_t *doc = get_json(f, "/api/openapi.json", "");

	assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
	assert_non_null(json_object_get(json_object_get(doc, "paths"), "/api/pipelines"));
	json_decref(doc);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_dashboard_leaves_other_paths_to_the_server),
		T(test_dashboard_healthz_and_method_not_allowed),
		T(test_dashboard_lists_pipelines_newest_first_escaped),
		T(test_dashboard_pipeline_page_shows_plan_and_jobs_escaped),
		T(test_dashboard_unknown_pipeline_is_404),
		T(test_dashboard_pipeline_log_whole_and_from_offset),
		T(test_dashboard_log_page_follows_with_inline_script),
		T(test_dashboard_log_times_from_sidecar),
		T(test_dashboard_job_log_served_from_its_run_directory_only),
		T(test_dashboard_api_pipelines_parse),
		T(test_dashboard_jobs_fall_back_to_build_summary),
		T(test_dashboard_list_shows_progress_of_running_pipelines),
		T(test_dashboard_repositories_with_dnf_snippet),
		T(test_dashboard_images_and_artifacts),
		T(test_dashboard_metrics_in_prometheus_text),
		T(test_dashboard_held_pipeline_shows_approval_and_who_gave_it),
		T(test_dashboard_api_times_are_rfc3339_utc),
		T(test_dashboard_api_list_pages_with_cursor),
		T(test_dashboard_api_list_filters_by_state_branch_repo),
		T(test_dashboard_api_list_refuses_unknown_filters),
		T(test_dashboard_image_jobs_with_artifacts_and_logs),
		T(test_dashboard_links_commits_to_the_forge_and_summarises_jobs),
		T(test_dashboard_pipeline_shows_forge_statuses_and_published_snapshot),
		T(test_dashboard_serves_openapi_description),
		cmocka_unit_test(test_html_escape_escapes_markup_and_quotes),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
