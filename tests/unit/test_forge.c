/* Forge status requests: URL, headers and body per forge, checked against a
 * small libmicrohttpd server in this process; classification of the answers;
 * description truncation; the token kept out of messages; and, when
 * tests/npm/node_modules is installed, GitHub bodies validated by the fake
 * forge against the schema from GitHub's OpenAPI description. */
#include "testutil.h"

#include <jansson.h>
#include <microhttpd.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "forge/comment.h"
#include "forge/forge.h"
#include "forge/forge-private.h" /* forge_http, for the fake forge's controls */

#define SHA "0123456789abcdef0123456789abcdef01234567"
#define TOKEN "tok-SECRET-4242"

/* What the local server saw last, and what it answers. */
struct fake_server {
	struct MHD_Daemon *daemon;
	unsigned port;
	char url[512], method[16], auth[256], private_token[256], accept[128], api_version[64],
		user_agent[64], content_type[64];
	char *body;	       /* last request body (malloc'ed) */
	unsigned status;       /* answer status */
	const char *answer;    /* answer body */
	const char *hdr_name[3], *hdr_value[3]; /* extra answer headers */
};

struct upload {
	char *data;
	size_t len;
};

static void copy_header(struct MHD_Connection *c, const char *name, char *dst, size_t size)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	snprintf(dst, size, "%s", v ? v : "");
}

static enum MHD_Result respond(struct fake_server *s, struct MHD_Connection *c)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		strlen(s->answer), (void *)s->answer, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	for (int i = 0; i < 3 && s->hdr_name[i]; i++)
		MHD_add_response_header(resp, s->hdr_name[i], s->hdr_value[i]);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	rc = MHD_queue_response(c, s->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *data_size, void **con_cls)
{
	struct fake_server *s = cls;
	struct upload *u = *con_cls;

	(void)version;
	if (!u) {
		*con_cls = sy_xcalloc(1, sizeof(*u));
		return MHD_YES;
	}
	if (*data_size) {
		u->data = sy_xrealloc(u->data, u->len + *data_size + 1);
		memcpy(u->data + u->len, data, *data_size);
		u->len += *data_size;
		u->data[u->len] = '\0';
		*data_size = 0;
		return MHD_YES;
	}
	snprintf(s->url, sizeof(s->url), "%s", url);
	snprintf(s->method, sizeof(s->method), "%s", method);
	copy_header(c, "Authorization", s->auth, sizeof(s->auth));
	copy_header(c, "PRIVATE-TOKEN", s->private_token, sizeof(s->private_token));
	copy_header(c, "Accept", s->accept, sizeof(s->accept));
	copy_header(c, "X-GitHub-Api-Version", s->api_version, sizeof(s->api_version));
	copy_header(c, "User-Agent", s->user_agent, sizeof(s->user_agent));
	copy_header(c, "Content-Type", s->content_type, sizeof(s->content_type));
	free(s->body);
	s->body = u->data ? u->data : sy_xstrdup("");
	free(u);
	*con_cls = NULL;
	return respond(s, c);
}

static void server_start(struct fake_server *s)
{
	memset(s, 0, sizeof(*s));
	s->status = 201;
	s->answer = "{\"id\":1}";
	s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
				     NULL, handle, s, MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
	assert_non_null(s->daemon);
	s->port = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void server_stop(struct fake_server *s)
{
	MHD_stop_daemon(s->daemon);
	free(s->body);
	s->body = NULL;
}

static void forge_init(struct forge *f, enum forge_kind kind, const char *api,
		       const char *project)
{
	f->kind = kind;
	f->api_url = sy_xstrdup(api);
	f->project = sy_xstrdup(project);
	f->token = sy_xstrdup(TOKEN);
}

static char *local_api(const struct fake_server *s, const char *suffix)
{
	return sy_xasprintf("http://127.0.0.1:%u%s", s->port, suffix);
}

static json_t *body_json(const struct fake_server *s)
{
	json_t *j = json_loads(s->body, 0, NULL);

	if (!j)
		fail_msg("body is not JSON: %s", s->body);
	return j;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void test_forge_github_request_has_path_headers_and_body(void **state)
{
	struct fake_server s;
	struct forge f = FORGE_INIT;
	struct forge_response out;
	struct sy_error err = { { 0 } };
	struct forge_status_request r = { SHA, "shipyard/image/vhd", FORGE_RUNNING,
					    "2/5 built", "http://ci.example/p/7" };
	char *api;
	json_t *j;

	(void)state;
	server_start(&s);
	api = local_api(&s, "/");
	forge_init(&f, FORGE_GITHUB, api, "octo/hello");
	assert_ok(forge_send(&f, &r, &out, &err), &err);
	assert_int_equal(out.result, FORGE_ACCEPTED);
	assert_int_equal(out.http_status, 201);
	assert_string_equal(s.method, "POST");
	assert_string_equal(s.url, "/repos/octo/hello/statuses/" SHA);
	assert_string_equal(s.auth, "Bearer " TOKEN);
	assert_string_equal(s.accept, "application/vnd.github+json");
	assert_string_equal(s.api_version, "2022-11-28");
	assert_string_equal(s.user_agent, "shipyard");
	assert_string_equal(s.content_type, "application/json");
	j = body_json(&s);
	assert_string_equal(jstr(j, "state"), "pending"); /* running -> pending on GitHub */
	assert_string_equal(jstr(j, "context"), "shipyard/image/vhd");
	assert_string_equal(jstr(j, "description"), "2/5 built");
	assert_string_equal(jstr(j, "target_url"), "http://ci.example/p/7");
	assert_int_equal(json_object_size(j), 4);
	json_decref(j);
	forge_release(&f);
	free(api);
	server_stop(&s);
}

static void test_forge_gitea_request_uses_api_v1_and_token_header(void **state)
{
	struct fake_server s;
	struct forge f = FORGE_INIT;
	struct forge_response out;
	struct sy_error err = { { 0 } };
	struct forge_status_request r = { SHA, "shipyard/build", FORGE_CANCELLED,
					    "superseded", NULL };
	char *api;
	json_t *j;

	(void)state;
	server_start(&s);
	api = local_api(&s, "");
	forge_init(&f, FORGE_GITEA, api, "org/distro");
	assert_ok(forge_send(&f, &r, &out, &err), &err);
	assert_string_equal(s.url, "/api/v1/repos/org/distro/statuses/" SHA);
	assert_string_equal(s.auth, "token " TOKEN);
	j = body_json(&s);
	assert_string_equal(jstr(j, "state"), "error"); /* cancelled -> error on Gitea */
	assert_string_equal(jstr(j, "context"), "shipyard/build");
	assert_null(json_object_get(j, "target_url"));
	json_decref(j);
	forge_release(&f);
	free(api);
	server_stop(&s);
}

static void test_forge_gitlab_request_encodes_project_path_and_maps_states(void **state)
{
	static const struct {
		enum forge_state state;
		const char *wire;
	} cases[] = {
		{ FORGE_PENDING, "pending" }, { FORGE_RUNNING, "running" },
		{ FORGE_SUCCESS, "success" }, { FORGE_FAILURE, "failed" },
		{ FORGE_ERROR, "failed" },    { FORGE_CANCELLED, "canceled" },
	};
	struct fake_server s;
	struct forge f = FORGE_INIT;
	struct forge_response out;
	struct sy_error err = { { 0 } };
	char *api;

	(void)state;
	server_start(&s);
	api = local_api(&s, "/api/v4/");
	forge_init(&f, FORGE_GITLAB, api, "group/sub/distro");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct forge_status_request r = { SHA, "shipyard/plan", cases[i].state, "d",
						    "http://ci/p/1" };
		json_t *j;

		assert_ok(forge_send(&f, &r, &out, &err), &err);
		/* MHD decodes %2F in the URL it hands over; the raw request is
		 * checked by the fake forge test below. */
		assert_string_equal(s.url, "/api/v4/projects/group/sub/distro/statuses/" SHA);
		assert_string_equal(s.private_token, TOKEN);
		assert_string_equal(s.auth, "");
		j = body_json(&s);
		assert_string_equal(jstr(j, "state"), cases[i].wire);
		assert_string_equal(jstr(j, "name"), "shipyard/plan");
		assert_null(json_object_get(j, "context"));
		json_decref(j);
	}
	forge_release(&f);
	free(api);
	server_stop(&s);
}

static void test_forge_gitlab_url_percent_encodes_project_path(void **state)
{
	struct forge f = FORGE_INIT;
	struct forge_status_request r = { SHA, "shipyard/plan", FORGE_PENDING, NULL,
					    NULL };
	struct sy_error err = { { 0 } };
	char *url, *body;

	(void)state;
	forge_init(&f, FORGE_GITLAB, "https://gitlab.example/api/v4", "group/distro");
	assert_ok(forge_build_request(&f, &r, &url, &body, &err), &err);
	assert_string_equal(url, "https://gitlab.example/api/v4/projects/group%2Fdistro/statuses/" SHA);
	assert_null(strstr(body, TOKEN));
	free(url);
	free(body);
	free(f.project);
	f.project = sy_xstrdup("1234");
	assert_ok(forge_build_request(&f, &r, &url, &body, &err), &err);
	assert_string_equal(url, "https://gitlab.example/api/v4/projects/1234/statuses/" SHA);
	free(url);
	free(body);
	forge_release(&f);
}

static void test_forge_rejects_malformed_project_and_sha(void **state)
{
	struct forge f = FORGE_INIT;
	struct forge_status_request r = { "../../x", "shipyard/plan", FORGE_PENDING,
					    NULL, NULL };
	struct forge_response out;
	struct sy_error err = { { 0 } };
	char *url, *body;

	(void)state;
	forge_init(&f, FORGE_GITHUB, "http://127.0.0.1:9", "octo/hello");
	assert_int_equal(forge_build_request(&f, &r, &url, &body, &err), -1);
	assert_non_null(strstr(err.msg, "../../x"));
	r.sha = SHA;
	free(f.project);
	f.project = sy_xstrdup("no-slash");
	assert_int_equal(forge_send(&f, &r, &out, &err), -1);
	assert_int_equal(out.result, FORGE_REJECTED);
	assert_non_null(strstr(err.msg, "owner/repo"));
	forge_release(&f);
}

static void test_forge_description_cut_to_140_characters_utf8_safe(void **state)
{
	struct fake_server s;
	struct forge f = FORGE_INIT;
	struct forge_response out;
	struct sy_error err = { { 0 } };
	char long_desc[1024] = "";
	struct forge_status_request r = { SHA, "shipyard/build", FORGE_FAILURE, long_desc,
					    NULL };
	char *cut, *api;
	json_t *j;

	(void)state;
	for (int i = 0; i < 150; i++)
		strcat(long_desc, "\xc3\xa9"); /* "é", 2 bytes */
	cut = forge_truncate_utf8(long_desc, 140);
	assert_int_equal(strlen(cut), 280);
	free(cut);
	cut = forge_truncate_utf8("a\xe2\x82\xac" "b", 2); /* a, euro sign, b */
	assert_string_equal(cut, "a\xe2\x82\xac");
	free(cut);
	cut = forge_truncate_utf8("short", 140);
	assert_string_equal(cut, "short");
	free(cut);

	server_start(&s);
	api = local_api(&s, "");
	forge_init(&f, FORGE_GITHUB, api, "octo/hello");
	assert_ok(forge_send(&f, &r, &out, &err), &err);
	j = body_json(&s);
	assert_int_equal(json_string_length(json_object_get(j, "description")), 280);
	assert_string_equal(jstr(j, "state"), "failure");
	json_decref(j);
	forge_release(&f);
	free(api);
	server_stop(&s);
}

/* Sends one status to a server answering status/answer/headers; returns the
 * response and leaves the error text in err. */
static void send_to(struct fake_server *s, struct forge_response *out,
		    struct sy_error *err)
{
	struct forge f = FORGE_INIT;
	struct forge_status_request r = { SHA, "shipyard/plan", FORGE_SUCCESS, "ok",
					    NULL };
	char *api = local_api(s, "");

	forge_init(&f, FORGE_GITHUB, api, "octo/hello");
	assert_int_equal(forge_send(&f, &r, out, err), -1);
	assert_null(strstr(err->msg, TOKEN));
	assert_null(strstr(out->message, TOKEN));
	forge_release(&f);
	free(api);
}

static void test_forge_classifies_5xx_and_429_as_retry(void **state)
{
	struct fake_server s;
	struct forge_response out;
	struct sy_error err = { { 0 } };

	(void)state;
	server_start(&s);
	s.status = 502;
	s.answer = "<html>bad gateway</html>";
	send_to(&s, &out, &err);
	assert_int_equal(out.result, FORGE_RETRY);
	assert_int_equal(out.http_status, 502);
	assert_int_equal(out.retry_after, -1);
	assert_non_null(strstr(err.msg, "HTTP 502"));

	s.status = 429;
	s.answer = "{\"message\":\"slow down\"}";
	s.hdr_name[0] = "Retry-After";
	s.hdr_value[0] = "17";
	send_to(&s, &out, &err);
	assert_int_equal(out.result, FORGE_RETRY);
	assert_int_equal(out.retry_after, 17);
	assert_string_equal(out.message, "slow down");
	server_stop(&s);
}

static void test_forge_403_with_rate_limit_reset_is_retry_after_reset(void **state)
{
	struct fake_server s;
	struct forge_response out;
	struct sy_error err = { { 0 } };
	char reset[32];

	(void)state;
	server_start(&s);
	snprintf(reset, sizeof(reset), "%ld", (long)time(NULL) + 120);
	s.status = 403;
	s.answer = "{\"message\":\"API rate limit exceeded\"}";
	s.hdr_name[0] = "x-ratelimit-remaining";
	s.hdr_value[0] = "0";
	s.hdr_name[1] = "x-ratelimit-reset";
	s.hdr_value[1] = reset;
	send_to(&s, &out, &err);
	assert_int_equal(out.result, FORGE_RETRY);
	assert_in_range(out.retry_after, 115, 120);

	/* A 403 without rate-limit headers is a permission problem. */
	s.hdr_name[0] = NULL;
	s.answer = "{\"message\":\"Resource not accessible by integration\"}";
	send_to(&s, &out, &err);
	assert_int_equal(out.result, FORGE_REJECTED);
	assert_non_null(strstr(err.msg, "Resource not accessible by integration"));
	server_stop(&s);
}

static void test_forge_422_is_rejected_with_forge_message(void **state)
{
	struct fake_server s;
	struct forge_response out;
	struct sy_error err = { { 0 } };

	(void)state;
	server_start(&s);
	s.status = 422;
	s.answer = "{\"message\":\"Validation Failed\",\"errors\":[{\"resource\":\"Status\","
		   "\"code\":\"custom\",\"field\":\"description\",\"message\":\"description is "
		   "too long (maximum is 140 characters)\"}]}";
	send_to(&s, &out, &err);
	assert_int_equal(out.result, FORGE_REJECTED);
	assert_int_equal(out.http_status, 422);
	assert_string_equal(out.message, "Validation Failed: description is too long (maximum is "
					 "140 characters)");
	assert_non_null(strstr(err.msg, "github octo/hello commit 0123456789ab context "
					"shipyard/plan: HTTP 422: Validation Failed"));
	server_stop(&s);
}

static void test_forge_token_echoed_by_forge_is_not_in_error(void **state)
{
	struct fake_server s;
	struct forge_response out;
	struct sy_error err = { { 0 } };

	(void)state;
	server_start(&s);
	s.status = 401;
	s.answer = "{\"message\":\"Bad credentials: Bearer " TOKEN "\"}";
	send_to(&s, &out, &err);
	assert_int_equal(out.result, FORGE_REJECTED);
	assert_non_null(strstr(out.message, "Bad credentials: Bearer ***"));
	server_stop(&s);
}

static void test_forge_network_error_is_retry(void **state)
{
	struct fake_server s;
	struct forge_response out;
	struct sy_error err = { { 0 } };

	(void)state;
	server_start(&s);
	MHD_stop_daemon(s.daemon); /* nothing listens on s.port any more */
	send_to(&s, &out, &err);
	assert_int_equal(out.result, FORGE_RETRY);
	assert_int_equal(out.http_status, 0);
	assert_true(strlen(err.msg) > 0);
}

static void test_forge_load_token_trims_newline_and_rejects_empty(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/token", dir), *token = NULL;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "token", TOKEN "\n");
	assert_ok(forge_load_token(path, &token, &err), &err);
	assert_string_equal(token, TOKEN);
	free(token);
	test_write_file(dir, "token", "  \n");
	assert_int_equal(forge_load_token(path, &token, &err), -1);
	assert_null(token);
	assert_non_null(strstr(err.msg, path));
	test_write_file(dir, "token", TOKEN "\nsecond-line\n");
	assert_int_equal(forge_load_token(path, &token, &err), -1);
	assert_null(strstr(err.msg, TOKEN));
	assert_int_equal(forge_load_token("/nonexistent/token", &token, &err), -1);
	sy_rm_rf(dir, &err);
	free(path);
	free(dir);
}

static void test_forge_state_names_round_trip(void **state)
{
	enum forge_kind kind;
	enum forge_state st;
	struct sy_error err;

	(void)state;
	for (int i = FORGE_PENDING; i <= FORGE_CANCELLED; i++) {
		assert_ok(forge_state_parse(forge_state_name(i), &st, &err), &err);
		assert_int_equal(st, i);
	}
	assert_int_equal(forge_state_parse("done", &st, &err), -1);
	assert_ok(forge_kind_parse("forgejo", &kind, &err), &err);
	assert_int_equal(kind, FORGE_GITEA);
	assert_int_equal(forge_kind_parse("bitbucket", &kind, &err), -1);
	assert_false(forge_state_is_final(FORGE_RUNNING));
	assert_true(forge_state_is_final(FORGE_CANCELLED));
}

static void test_forge_requests_pass_fake_forge_openapi_checks(void **state)
{
	static const enum forge_kind kinds[] = { FORGE_GITHUB, FORGE_GITEA,
							 FORGE_GITLAB };
	static const char *const suffix[] = { "", "", "/api/v4" };
	char *dir = test_tmpdir(), *data = NULL;
	char *calls = sy_xasprintf("%s/calls.jsonl", dir);
	struct sy_child forge;
	struct sy_error err = { { 0 } };
	size_t len, lines = 0;
	unsigned port;

	(void)state;
	if (test_fakeforge_start(calls, TOKEN, NULL, &forge, &port)) {
		sy_rm_rf(dir, &err);
		free(dir);
		free(calls);
		skip(); /* tests/npm/node_modules absent: run `npm ci --prefix tests/npm` */
	}
	for (int k = 0; k < 3; k++) {
		struct forge f = FORGE_INIT;
		char *api = sy_xasprintf("http://127.0.0.1:%u%s", port, suffix[k]);

		forge_init(&f, kinds[k], api, kinds[k] == FORGE_GITLAB ? "grp/distro" : "o/r");
		for (int st = FORGE_PENDING; st <= FORGE_CANCELLED; st++) {
			struct forge_status_request r = { SHA, "shipyard/image/base", st,
							    "desc", "http://127.0.0.1/p/1" };
			struct forge_response out;

			assert_ok(forge_send(&f, &r, &out, &err), &err);
		}
		forge_release(&f);
		free(api);
	}
	test_fakeforge_stop(&forge);
	assert_ok(sy_read_file(calls, &data, &len, &err), &err);
	for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
		json_t *call = json_loads(line, 0, NULL);

		assert_non_null(call);
		if (!json_is_true(json_object_get(call, "valid")))
			fail_msg("fake forge rejected: %s", line);
		assert_true(json_is_true(json_object_get(call, "token_matched")));
		assert_null(strstr(line, TOKEN));
		json_decref(call);
		lines++;
	}
	assert_int_equal(lines, 18);
	free(data);
	free(calls);
	sy_rm_rf(dir, &err);
	free(dir);
}

/* POSTs json to the fake forge's control path (curl through forge_http
 * would add the token: a plain request is enough). */
static void fakeforge_control(unsigned port, const char *path, const char *json)
{
	struct forge f = FORGE_INIT;
	struct forge_response out;
	char *base = sy_xasprintf("http://127.0.0.1:%u", port), *url = sy_xasprintf("%s%s", base, path);

	forge_init(&f, FORGE_GITEA, base, "o/r");
	assert_int_equal(forge_http(&f, "POST", url, json, &out, NULL), 0);
	forge_release(&f);
	free(url);
	free(base);
}

static void test_forge_comments_reactions_permissions_pass_fake_forge(void **state)
{
	static const enum forge_kind kinds[] = { FORGE_GITHUB, FORGE_GITEA, FORGE_GITLAB };
	static const char *const suffix[] = { "", "", "/api/v4" };
	char *dir = test_tmpdir(), *data = NULL;
	char *calls = sy_xasprintf("%s/calls.jsonl", dir);
	struct sy_child forge;
	struct sy_error err = { { 0 } };
	size_t len, lines = 0;
	unsigned port;

	(void)state;
	if (test_fakeforge_start(calls, TOKEN, NULL, &forge, &port)) {
		sy_rm_rf(dir, &err);
		free(dir);
		free(calls);
		skip(); /* tests/npm/node_modules absent: run `npm ci --prefix tests/npm` */
	}
	fakeforge_control(port, "/__permission", "{\"user\":\"alice\",\"permission\":\"write\"}");
	fakeforge_control(port, "/__permission", "{\"user\":\"eve\",\"permission\":\"read\"}");
	fakeforge_control(port, "/__permission", "{\"user_id\":5,\"access_level\":30}");
	fakeforge_control(port, "/__permission", "{\"user_id\":6,\"access_level\":20}");
	for (int k = 0; k < 3; k++) {
		struct forge f = FORGE_INIT;
		struct forge_response out;
		char *api = sy_xasprintf("http://127.0.0.1:%u%s", port, suffix[k]);
		long long id = 0, first;
		int can = -1;

		forge_init(&f, kinds[k], api, kinds[k] == FORGE_GITLAB ? "grp/distro" : "o/r");
		assert_ok(forge_comment_put(&f, 12, &id, "first *pipeline*", &out, &err), &err);
		assert_true(id > 0);
		first = id;
		assert_ok(forge_comment_put(&f, 12, &id, "second", &out, &err), &err);
		assert_int_equal(id, first); /* edited in place */
		assert_ok(forge_reaction_put(&f, 12, id, 1, &out, &err), &err);
		assert_ok(forge_reaction_put(&f, 12, id, 0, &out, &err), &err);
		/* A comment someone deleted is made again. */
		id = 999999;
		assert_ok(forge_comment_put(&f, 12, &id, "third", &out, &err), &err);
		assert_true(id != 999999 && id > 0);
		if (kinds[k] == FORGE_GITHUB) {
			assert_int_equal(forge_permission_get(&f, "alice", 0, &can, &err), -1);
		} else {
			assert_ok(forge_permission_get(&f, "alice", 5, &can, &err), &err);
			assert_int_equal(can, 1);
			assert_ok(forge_permission_get(&f, "eve", 6, &can, &err), &err);
			assert_int_equal(can, 0);
			assert_ok(forge_permission_get(&f, "nobody", 7, &can, &err), &err);
			assert_int_equal(can, 0);
		}
		forge_release(&f);
		free(api);
	}
	test_fakeforge_stop(&forge);
	assert_ok(sy_read_file(calls, &data, &len, &err), &err);
	for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
		json_t *call = json_loads(line, 0, NULL);

		assert_non_null(call);
		if (!json_is_true(json_object_get(call, "valid")))
			fail_msg("fake forge rejected: %s", line);
		assert_true(json_is_true(json_object_get(call, "token_matched")));
		json_decref(call);
		lines++;
	}
	/* Per forge: create, edit, 2 reactions, edit 404 + create; Gitea and
	 * GitLab 3 permission calls. */
	assert_int_equal(lines, 3 * 6 + 2 * 3);
	free(data);
	free(calls);
	sy_rm_rf(dir, &err);
	free(dir);
}

static void test_forge_comment_request_per_forge(void **state)
{
	struct forge f = FORGE_INIT;
	struct sy_error err = { { 0 } };
	char *method, *url, *json;

	(void)state;
	forge_init(&f, FORGE_GITLAB, "https://gl.example/api/v4", "grp/distro");
	assert_ok(forge_comment_request(&f, 4, 77, "x", &method, &url, &json, &err), &err);
	assert_string_equal(method, "PUT");
	assert_string_equal(url, "https://gl.example/api/v4/projects/grp%2Fdistro/merge_requests/4/notes/77");
	assert_string_equal(json, "{\"body\":\"x\"}");
	free(method);
	free(url);
	free(json);
	forge_release(&f);
	forge_init(&f, FORGE_GITEA, "https://codeberg.org/", "o/r");
	assert_ok(forge_comment_request(&f, 4, 0, "x", &method, &url, &json, &err), &err);
	assert_string_equal(method, "POST");
	assert_string_equal(url, "https://codeberg.org/api/v1/repos/o/r/issues/4/comments");
	free(method);
	free(url);
	free(json);
	forge_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forge_github_request_has_path_headers_and_body),
		cmocka_unit_test(test_forge_gitea_request_uses_api_v1_and_token_header),
		cmocka_unit_test(test_forge_gitlab_request_encodes_project_path_and_maps_states),
		cmocka_unit_test(test_forge_gitlab_url_percent_encodes_project_path),
		cmocka_unit_test(test_forge_rejects_malformed_project_and_sha),
		cmocka_unit_test(test_forge_description_cut_to_140_characters_utf8_safe),
		cmocka_unit_test(test_forge_classifies_5xx_and_429_as_retry),
		cmocka_unit_test(test_forge_403_with_rate_limit_reset_is_retry_after_reset),
		cmocka_unit_test(test_forge_422_is_rejected_with_forge_message),
		cmocka_unit_test(test_forge_token_echoed_by_forge_is_not_in_error),
		cmocka_unit_test(test_forge_network_error_is_retry),
		cmocka_unit_test(test_forge_load_token_trims_newline_and_rejects_empty),
		cmocka_unit_test(test_forge_state_names_round_trip),
		cmocka_unit_test(test_forge_requests_pass_fake_forge_openapi_checks),
		cmocka_unit_test(test_forge_comments_reactions_permissions_pass_fake_forge),
		cmocka_unit_test(test_forge_comment_request_per_forge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
