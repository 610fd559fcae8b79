/* Webhook signature checks and payload parsing: GitHub's documented test
 * vector, every push, pull_request and ping example of the npm package
 * @octokit/webhooks-examples (tests/npm), and the Gitea and GitLab fixtures
 * of tests/fixtures/webhooks. */
#include "testutil.h"

#include <ctype.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/buf.h"
#include "common/hash.h"
#include "common/util.h"
#include "forge/webhook.h"

#define OCTOKIT_INDEX \
	"tests/npm/node_modules/@octokit/webhooks-examples/api.github.com/index.json"
#define FIXTURES "tests/fixtures/webhooks"

/* Request headers of one test delivery. */
struct headers {
	struct sy_strv names;
	struct sy_strv values;
};

#define HEADERS_INIT { SY_STRV_INIT, SY_STRV_INIT }

static void headers_add(struct headers *h, const char *name, const char *value)
{
	sy_strv_push(&h->names, name);
	sy_strv_push(&h->values, value);
}

static void headers_release(struct headers *h)
{
	sy_strv_release(&h->names);
	sy_strv_release(&h->values);
}

/* forge_header_fn over struct headers; names match without regard to case. */
static const char *header_get(void *arg, const char *name)
{
	struct headers *h = arg;

	for (size_t i = 0; i < h->names.n; i++)
		if (strcasecmp(h->names.items[i], name) == 0)
			return h->values.items[i];
	return NULL;
}

/* Returns "sha256=<hex HMAC-SHA256(secret, body)>" (caller frees). */
static char *sign(const char *secret, const void *body, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, md, &md_len));
	for (unsigned int i = 0; i < md_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return sy_xasprintf("sha256=%s", hex);
}

/* ---- signatures ---- */

static const char docs_secret[] = "It's a Secret to Everybody";
static const char docs_body[] = "Hello, World!";
static const char docs_signature[] =
	"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

/* "GitHub docs: validating webhook deliveries", test values. */
static void test_verify_accepts_github_docs_test_vector(void **state)
{
	struct headers h = HEADERS_INIT;
	struct sy_error err = { { 0 } };

	(void)state;
	headers_add(&h, "X-Hub-Signature-256", docs_signature);
	assert_ok(forge_webhook_verify(FORGE_GITHUB, header_get, &h, docs_body,
					 strlen(docs_body), docs_secret, &err), &err);
	assert_ok(forge_webhook_verify(FORGE_GITEA, header_get, &h, docs_body,
					 strlen(docs_body), docs_secret, &err), &err);
	headers_release(&h);
}

static void expect_refused(enum forge_kind kind, const char *name, const char *value,
			   const char *body, const char *secret, const char *reason)
{
	struct headers h = HEADERS_INIT;
	struct sy_error err = { { 0 } };

	if (name)
		headers_add(&h, name, value);
	assert_int_equal(forge_webhook_verify(kind, header_get, &h, body, strlen(body), secret,
						&err),
			 -1);
	assert_string_equal(err.msg, reason);
	headers_release(&h);
}

static void test_verify_refuses_wrong_signature(void **state)
{
	(void)state;
	expect_refused(FORGE_GITHUB, "X-Hub-Signature-256", docs_signature,
		       "Hello, World?", docs_secret, "signature mismatch");
	expect_refused(FORGE_GITHUB, "X-Hub-Signature-256", docs_signature, docs_body,
		       "another secret", "signature mismatch");
	expect_refused(FORGE_GITHUB, "X-Hub-Signature-256",
		       "sha256=857107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
		       docs_body, docs_secret, "signature mismatch");
	expect_refused(FORGE_GITHUB, "X-Hub-Signature-256",
		       "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
		       docs_body, docs_secret, "malformed X-Hub-Signature-256");
	expect_refused(FORGE_GITHUB, "X-Hub-Signature-256",
		       "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e",
		       docs_body, docs_secret, "malformed X-Hub-Signature-256");
	expect_refused(FORGE_GITHUB, "X-Hub-Signature-256",
		       "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
		       docs_body, docs_secret, "malformed X-Hub-Signature-256");
	/* The signature is over the body, not over an empty one. */
	expect_refused(FORGE_GITHUB, "X-Hub-Signature-256", docs_signature, "",
		       docs_secret, "signature mismatch");
}

static void test_verify_refuses_missing_signature_or_secret(void **state)
{
	(void)state;
	expect_refused(FORGE_GITHUB, NULL, NULL, docs_body, docs_secret,
		       "missing X-Hub-Signature-256");
	/* GitHub does not sign in X-Gitea-Signature: only Gitea is read there. */
	expect_refused(FORGE_GITHUB, "X-Gitea-Signature", docs_signature + 7, docs_body,
		       docs_secret, "missing X-Hub-Signature-256");
	expect_refused(FORGE_GITEA, NULL, NULL, docs_body, docs_secret,
		       "missing X-Hub-Signature-256");
	expect_refused(FORGE_GITHUB, "X-Hub-Signature-256", docs_signature, docs_body,
		       "", "no webhook secret configured");
	expect_refused(FORGE_GITLAB, "X-Gitlab-Token", "", docs_body, NULL,
		       "no webhook secret configured");
}

static void test_verify_gitea_accepts_x_gitea_signature_without_prefix(void **state)
{
	struct headers h = HEADERS_INIT;
	struct sy_error err = { { 0 } };

	(void)state;
	headers_add(&h, "X-Gitea-Signature", docs_signature + strlen("sha256="));
	assert_ok(forge_webhook_verify(FORGE_GITEA, header_get, &h, docs_body,
					 strlen(docs_body), docs_secret, &err), &err);
	headers_release(&h);
	expect_refused(FORGE_GITEA, "X-Gitea-Signature", docs_signature, docs_body,
		       docs_secret, "malformed X-Gitea-Signature");
	expect_refused(FORGE_GITEA, "x-forgejo-signature",
		       "857107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
		       docs_body, docs_secret, "signature mismatch");
}

static void test_verify_gitlab_compares_the_token(void **state)
{
	struct headers h = HEADERS_INIT;
	struct sy_error err = { { 0 } };

	(void)state;
	headers_add(&h, "x-gitlab-token", "s3cret-token");
	assert_ok(forge_webhook_verify(FORGE_GITLAB, header_get, &h, docs_body,
					 strlen(docs_body), "s3cret-token", &err), &err);
	headers_release(&h);
	expect_refused(FORGE_GITLAB, "X-Gitlab-Token", "s3cret-tokeN", docs_body,
		       "s3cret-token", "token mismatch");
	expect_refused(FORGE_GITLAB, "X-Gitlab-Token", "s3cret", docs_body,
		       "s3cret-token", "token mismatch");
	expect_refused(FORGE_GITLAB, "X-Gitlab-Token", "s3cret-token-and-more",
		       docs_body, "s3cret-token", "token mismatch");
	expect_refused(FORGE_GITLAB, NULL, NULL, docs_body, "s3cret-token",
		       "missing X-Gitlab-Token");
	/* A GitHub-style signature is no token. */
	expect_refused(FORGE_GITLAB, "X-Hub-Signature-256", docs_signature, docs_body,
		       docs_secret, "missing X-Gitlab-Token");
}

/* ---- the octokit examples (GitHub) ---- */

/* Loads index.json of @octokit/webhooks-examples, or skips the test. */
static json_t *octokit_index(void)
{
	json_error_t jerr;
	json_t *index;

	if (!sy_exists(OCTOKIT_INDEX)) {
		print_message("skipped: %s is absent (run scripts/deps.sh, which runs npm ci in "
			      "tests/npm)\n", OCTOKIT_INDEX);
		skip();
	}
	index = json_load_file(OCTOKIT_INDEX, 0, &jerr);
	if (!index)
		fail_msg("%s: line %d: %s", OCTOKIT_INDEX, jerr.line, jerr.text);
	return index;
}

/* The examples of the event called name in the index. */
static json_t *octokit_examples(json_t *index, const char *name)
{
	size_t i;
	json_t *entry;

	json_array_foreach(index, i, entry) {
		if (strcmp(json_string_value(json_object_get(entry, "name")), name) == 0)
			return json_object_get(entry, "examples");
	}
	fail_msg("no '%s' examples in %s", name, OCTOKIT_INDEX);
	return NULL;
}

static const char *str_at(json_t *obj, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(obj, a);

	if (b)
		v = json_object_get(v, b);
	if (c)
		v = json_object_get(v, c);
	return json_string_value(v);
}

static void assert_str_or_null(const char *got, const char *want)
{
	if (want)
		assert_string_equal(got, want);
	else
		assert_null(got);
}

/* Signs example as a GitHub delivery of event, checks the signature, parses it
 * into *ev. */
static void github_deliver(json_t *example, const char *event, struct forge_event *ev)
{
	struct headers h = HEADERS_INIT;
	struct sy_error err = { { 0 } };
	char *body = json_dumps(example, JSON_COMPACT);
	char *sig = sign("hook secret", body, strlen(body));

	headers_add(&h, "X-GitHub-Event", event);
	headers_add(&h, "X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
	headers_add(&h, "X-Hub-Signature-256", sig);
	assert_ok(forge_webhook_verify(FORGE_GITHUB, header_get, &h, body, strlen(body),
					 "hook secret", &err), &err);
	assert_ok(forge_webhook_parse(FORGE_GITHUB, header_get, &h, body, strlen(body),
					ev, &err), &err);
	assert_int_equal(ev->forge, FORGE_GITHUB);
	assert_string_equal(ev->delivery_id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
	assert_string_equal(ev->event_name, event);
	free(sig);
	free(body);
	headers_release(&h);
}

static void assert_github_repository(json_t *example, const struct forge_event *ev)
{
	json_t *repo = json_object_get(example, "repository");

	assert_str_or_null(ev->repo_full_name, str_at(repo, "full_name", NULL, NULL));
	assert_str_or_null(ev->clone_url, str_at(repo, "clone_url", NULL, NULL));
	assert_int_equal(ev->project_id, json_integer_value(json_object_get(repo, "id")));
}

static void test_parse_octokit_push_examples(void **state)
{
	json_t *index = octokit_index(), *examples, *ex;
	size_t i, branches = 0, ignored = 0;

	(void)state;
	examples = octokit_examples(index, "push");
	json_array_foreach(examples, i, ex) {
		struct forge_event ev = FORGE_EVENT_INIT;
		const char *ref = str_at(ex, "ref", NULL, NULL);

		github_deliver(ex, "push", &ev);
		assert_github_repository(ex, &ev);
		assert_string_equal(ev.ref, ref);
		assert_string_equal(ev.before, str_at(ex, "before", NULL, NULL));
		assert_string_equal(ev.after, str_at(ex, "after", NULL, NULL));
		if (strncmp(ref, "refs/tags/", 10) == 0) {
			assert_int_equal(ev.kind, FORGE_EVENT_IGNORED);
			assert_string_equal(ev.ignored_reason, "tag push");
			ignored++;
		} else if (json_is_true(json_object_get(ex, "deleted"))) {
			assert_int_equal(ev.kind, FORGE_EVENT_IGNORED);
			assert_string_equal(ev.ignored_reason, "branch deletion");
			ignored++;
		} else {
			assert_int_equal(ev.kind, FORGE_EVENT_PUSH);
			assert_null(ev.ignored_reason);
			assert_string_equal(ev.branch, ref + strlen("refs/heads/"));
			assert_int_equal(strlen(ev.after), 40);
			branches++;
		}
		forge_event_release(&ev);
	}
	assert_true(branches > 0);
	assert_true(ignored > 0);
	json_decref(index);
}

/* "payload=<body>" as an HTML form encodes it: unreserved bytes as they
 * are, spaces as '+', everything else %XX (caller frees). */
static char *form_encode(const char *body)
{
	struct sy_buf b = SY_BUF_INIT;

	sy_buf_add(&b, "payload=", 8);
	for (const unsigned char *p = (const unsigned char *)body; *p; p++) {
		char esc[4];
		if (isalnum(*p) || strchr("-._~", *p)) {
			sy_buf_add(&b, (const char *)p, 1);
		} else if (*p == ' ') {
			sy_buf_add(&b, "+", 1);
		} else {
			snprintf(esc, sizeof(esc), "%%%02X", *p);
			sy_buf_add(&b, esc, 3);
		}
	}
	sy_buf_add(&b, "&other=1", 9); /* with its NUL */
	return (char *)b.data;
}

/* GitHub hooks set to "application/x-www-form-urlencoded" carry the JSON in
 * the payload field, signed over the encoded body: every push example parses
 * to the event its JSON delivery gives. */
static void test_parse_form_encoded_octokit_push_examples(void **state)
{
	json_t *index = octokit_index(), *examples, *ex;
	size_t i;

	(void)state;
	examples = octokit_examples(index, "push");
	json_array_foreach(examples, i, ex) {
		struct forge_event want = FORGE_EVENT_INIT, got = FORGE_EVENT_INIT;
		struct headers h = HEADERS_INIT;
		struct sy_error err = { { 0 } };
		char *json = json_dumps(ex, JSON_COMPACT), *body = form_encode(json);
		char *sig = sign("hook secret", body, strlen(body));

		github_deliver(ex, "push", &want);
		headers_add(&h, "X-GitHub-Event", "push");
		headers_add(&h, "Content-Type", "application/x-www-form-urlencoded");
		headers_add(&h, "X-Hub-Signature-256", sig);
		assert_ok(forge_webhook_verify(FORGE_GITHUB, header_get, &h, body,
						 strlen(body), "hook secret", &err), &err);
		assert_ok(forge_webhook_parse(FORGE_GITHUB, header_get, &h, body,
						strlen(body), &got, &err), &err);
		assert_int_equal(got.kind, want.kind);
		assert_string_equal(got.ref, want.ref);
		assert_string_equal(got.after, want.after);
		assert_string_equal(got.repo_full_name, want.repo_full_name);
		forge_event_release(&want);
		forge_event_release(&got);
		headers_release(&h);
		free(sig);
		free(body);
		free(json);
	}
	json_decref(index);
}

static void expect_form_refused(const char *body, const char *reason)
{
	struct forge_event ev = FORGE_EVENT_INIT;
	struct headers h = HEADERS_INIT;
	struct sy_error err = { { 0 } };

	headers_add(&h, "X-GitHub-Event", "push");
	headers_add(&h, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
	assert_int_equal(forge_webhook_parse(FORGE_GITHUB, header_get, &h, body,
					       strlen(body), &ev, &err),
			 -1);
	assert_string_equal(err.msg, reason);
	assert_null(ev.event_name);
	headers_release(&h);
}

static void test_parse_refuses_form_body_without_payload(void **state)
{
	(void)state;
	expect_form_refused("zen=Keep+it+logically+awesome", "malformed form body: no 'payload' field");
	expect_form_refused("", "malformed form body: no 'payload' field");
	expect_form_refused("payload=%7B%2", "malformed form body: bad %-escape in 'payload'");
	expect_form_refused("payload=%7Bnot+json", "malformed JSON: line 1: string or '}' expected near 'not'");
}

/* The kind the test expects for a pull_request action. */
static enum forge_event_kind pr_kind(const char *action)
{
	if (!strcmp(action, "opened"))
		return FORGE_EVENT_PR_OPENED;
	if (!strcmp(action, "reopened"))
		return FORGE_EVENT_PR_REOPENED;
	if (!strcmp(action, "synchronize"))
		return FORGE_EVENT_PR_SYNCHRONIZE;
	if (!strcmp(action, "closed"))
		return FORGE_EVENT_PR_CLOSED;
	return FORGE_EVENT_IGNORED;
}

static void assert_github_pull_request(json_t *ex, const struct forge_event *ev)
{
	json_t *pr = json_object_get(ex, "pull_request");
	const char *action = str_at(ex, "action", NULL, NULL);

	assert_int_equal(ev->kind, pr_kind(action));
	assert_string_equal(ev->action, action);
	assert_github_repository(ex, ev);
	assert_int_equal(ev->pr_number, json_integer_value(json_object_get(ex, "number")));
	assert_string_equal(ev->head_sha, str_at(pr, "head", "sha", NULL));
	assert_string_equal(ev->head_ref, str_at(pr, "head", "ref", NULL));
	assert_str_or_null(ev->head_clone_url, str_at(pr, "head", "repo", "clone_url"));
	assert_string_equal(ev->base_ref, str_at(pr, "base", "ref", NULL));
	assert_string_equal(ev->base_sha, str_at(pr, "base", "sha", NULL));
	assert_string_equal(ev->branch, ev->base_ref);
	assert_true(strncmp(ev->ref, "refs/heads/", 11) == 0);
	assert_string_equal(ev->ref + 11, ev->base_ref);
	assert_int_equal(ev->merged, json_is_true(json_object_get(pr, "merged")));
	if (ev->kind == FORGE_EVENT_IGNORED)
		assert_non_null(strstr(ev->ignored_reason, action));
	else
		assert_null(ev->ignored_reason);
}

static void test_parse_octokit_pull_request_examples(void **state)
{
	json_t *index = octokit_index(), *examples, *ex;
	size_t i, seen[FORGE_EVENT_IGNORED + 1] = { 0 };

	(void)state;
	examples = octokit_examples(index, "pull_request");
	json_array_foreach(examples, i, ex) {
		struct forge_event ev = FORGE_EVENT_INIT;

		github_deliver(ex, "pull_request", &ev);
		assert_github_pull_request(ex, &ev);
		seen[ev.kind]++;
		forge_event_release(&ev);
	}
	assert_true(seen[FORGE_EVENT_PR_OPENED] > 0);
	assert_true(seen[FORGE_EVENT_PR_REOPENED] > 0);
	assert_true(seen[FORGE_EVENT_PR_SYNCHRONIZE] > 0);
	assert_true(seen[FORGE_EVENT_PR_CLOSED] > 0);
	assert_true(seen[FORGE_EVENT_IGNORED] > 0);
	json_decref(index);
}

static void test_parse_octokit_ping_examples(void **state)
{
	json_t *index = octokit_index(), *examples, *ex;
	size_t i;

	(void)state;
	examples = octokit_examples(index, "ping");
	assert_true(json_array_size(examples) > 0);
	json_array_foreach(examples, i, ex) {
		struct forge_event ev = FORGE_EVENT_INIT;

		github_deliver(ex, "ping", &ev);
		assert_int_equal(ev.kind, FORGE_EVENT_PING);
		assert_github_repository(ex, &ev);
		forge_event_release(&ev);
	}
	json_decref(index);
}

/* A merged pull request: "closed" with pull_request.merged true (GitHub docs). */
static void test_parse_octokit_merged_pull_request_is_closed_and_merged(void **state)
{
	json_t *index = octokit_index(), *ex;
	struct forge_event ev = FORGE_EVENT_INIT;

	(void)state;
	ex = json_deep_copy(json_array_get(octokit_examples(index, "pull_request"), 0));
	json_object_set_new(ex, "action", json_string("closed"));
	json_object_set_new(json_object_get(ex, "pull_request"), "merged", json_true());
	github_deliver(ex, "pull_request", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_PR_CLOSED);
	assert_int_equal(ev.merged, 1);
	forge_event_release(&ev);
	json_decref(ex);
	json_decref(index);
}

/* ---- deliveries written here ---- */

static int parse_text(enum forge_kind kind, const char *event, const char *body,
		      struct forge_event *ev, struct sy_error *err)
{
	struct headers h = HEADERS_INIT;
	int rc;

	if (event)
		headers_add(&h, kind == FORGE_GITLAB ? "X-Gitlab-Event" : "X-GitHub-Event",
			    event);
	rc = forge_webhook_parse(kind, header_get, &h, body, strlen(body), ev, err);
	headers_release(&h);
	return rc;
}

static const char branch_deletion[] =
	"{\"ref\":\"refs/heads/feature\",\"before\":\"6113728f27ae82c7b1a177c8d03f9e96e0adf246\","
	"\"after\":\"0000000000000000000000000000000000000000\",\"created\":false,"
	"\"deleted\":true,\"repository\":{\"id\":1,\"full_name\":\"o/r\","
	"\"clone_url\":\"https://example.org/o/r.git\"}}";

static void test_parse_github_branch_deletion_is_ignored(void **state)
{
	struct forge_event ev = FORGE_EVENT_INIT;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_ok(parse_text(FORGE_GITHUB, "push", branch_deletion, &ev, &err), &err);
	assert_int_equal(ev.kind, FORGE_EVENT_IGNORED);
	assert_string_equal(ev.ignored_reason, "branch deletion");
	assert_string_equal(ev.branch, "feature");
	assert_string_equal(ev.after, "0000000000000000000000000000000000000000");
	forge_event_release(&ev);

	/* Without "deleted" (Gitea), an all-zero after says the same. */
	assert_ok(parse_text(FORGE_GITEA, "push",
			     "{\"ref\":\"refs/heads/feature\",\"before\":\"6113728f27ae82c7b1a1"
			     "77c8d03f9e96e0adf246\",\"after\":\"00000000000000000000000000000000"
			     "00000000\",\"repository\":{\"full_name\":\"o/r\"}}",
			     &ev, &err),
		  &err);
	assert_int_equal(ev.kind, FORGE_EVENT_IGNORED);
	assert_string_equal(ev.ignored_reason, "branch deletion");
	forge_event_release(&ev);
}

static void test_parse_refuses_malformed_json(void **state)
{
	struct forge_event ev = FORGE_EVENT_INIT;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_int_equal(parse_text(FORGE_GITHUB, "push", "{\n\"ref\": \"refs/heads/a\",\n"
				    "\"after\": }", &ev, &err), -1);
	assert_true(strncmp(err.msg, "malformed JSON: line 3: ", 24) == 0);
	assert_null(ev.event_name);
	assert_int_equal(parse_text(FORGE_GITLAB, "Push Hook", "", &ev, &err), -1);
	assert_true(strncmp(err.msg, "malformed JSON: line ", 21) == 0);
	assert_int_equal(parse_text(FORGE_GITEA, "push", "[1, 2]", &ev, &err), -1);
	assert_string_equal(err.msg, "malformed JSON: the payload is not an object");
	assert_int_equal(parse_text(FORGE_GITHUB, "push", "{} trailing", &ev, &err), -1);
	assert_true(strncmp(err.msg, "malformed JSON: line 1: ", 24) == 0);
}

/* Checks that example (an issue_comment created on a pull request) parses
 * into a COMMENT with its id, body, author and association. */
static void assert_comment(json_t *example)
{
	struct forge_event ev = FORGE_EVENT_INIT;
	json_t *issue = json_object_get(example, "issue"), *c = json_object_get(example, "comment");

	github_deliver(example, "issue_comment", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_COMMENT);
	assert_int_equal(ev.pr_number, json_integer_value(json_object_get(issue, "number")));
	assert_int_equal(ev.comment_id, json_integer_value(json_object_get(c, "id")));
	assert_str_or_null(ev.comment_body, str_at(c, "body", NULL, NULL));
	assert_str_or_null(ev.comment_user, str_at(c, "user", "login", NULL));
	assert_str_or_null(ev.author_association, str_at(c, "author_association", NULL, NULL));
	forge_event_release(&ev);
}

/* Every issue_comment example parses: one created on a pull request is a
 * COMMENT, others (an issue's, an edit, a deletion) are ignored. The
 * examples' comments are on issues: each created one is also delivered as
 * if its issue were a pull request (GitHub adds issue.pull_request). */
static void test_parse_github_issue_comment_examples(void **state)
{
	json_t *index = octokit_index(), *example;
	size_t i, comments = 0;

	(void)state;
	json_array_foreach(octokit_examples(index, "issue_comment"), i, example) {
		struct forge_event ev = FORGE_EVENT_INIT;
		json_t *pr = json_object_get(json_object_get(example, "issue"), "pull_request");
		const char *action = json_string_value(json_object_get(example, "action"));

		if (pr && !json_is_null(pr) && !strcmp(action, "created")) {
			assert_comment(example);
			comments++;
			continue;
		}
		github_deliver(example, "issue_comment", &ev);
		assert_int_equal(ev.kind, FORGE_EVENT_IGNORED);
		forge_event_release(&ev);
		if (strcmp(action, "created"))
			continue;
		json_t *copy = json_deep_copy(example);
		json_object_set_new(json_object_get(copy, "issue"), "pull_request",
				    json_pack("{s:s}", "url", "https://api.github.com/repos/o/r/pulls/1"));
		assert_comment(copy);
		json_decref(copy);
		comments++;
	}
	assert_true(comments > 0);
	json_decref(index);
}

static void test_parse_gitea_and_gitlab_comments(void **state)
{
	struct forge_event ev = FORGE_EVENT_INIT;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_ok(parse_text(FORGE_GITEA, "issue_comment",
			     "{\"action\":\"created\",\"is_pull\":true,\"issue\":{\"number\":4,"
			     "\"pull_request\":null},\"comment\":{\"id\":77,\"body\":\"/shipyard "
			     "retry\",\"user\":{\"login\":\"alice\",\"id\":3}},\"repository\":"
			     "{\"id\":1,\"full_name\":\"o/r\",\"clone_url\":\"https://g/o/r.git\"}}",
			     &ev, &err), &err);
	assert_int_equal(ev.kind, FORGE_EVENT_COMMENT);
	assert_int_equal(ev.pr_number, 4);
	assert_int_equal(ev.comment_id, 77);
	assert_string_equal(ev.comment_user, "alice");
	assert_null(ev.author_association);
	forge_event_release(&ev);
	assert_ok(parse_text(FORGE_GITLAB, "Note Hook",
			     "{\"object_kind\":\"note\",\"user\":{\"id\":5,\"username\":\"bob\"},"
			     "\"project\":{\"id\":9,\"path_with_namespace\":\"g/p\"},"
			     "\"object_attributes\":{\"id\":1244,\"note\":\"/shipyard rebuild zlib\","
			     "\"noteable_type\":\"MergeRequest\"},\"merge_request\":{\"iid\":2}}",
			     &ev, &err), &err);
	assert_int_equal(ev.kind, FORGE_EVENT_COMMENT);
	assert_int_equal(ev.pr_number, 2);
	assert_int_equal(ev.comment_id, 1244);
	assert_int_equal(ev.comment_user_id, 5);
	assert_string_equal(ev.comment_body, "/shipyard rebuild zlib");
	forge_event_release(&ev);
	assert_ok(parse_text(FORGE_GITLAB, "Note Hook",
			     "{\"object_attributes\":{\"id\":1,\"noteable_type\":\"Commit\"},"
			     "\"project\":{\"id\":9,\"path_with_namespace\":\"g/p\"}}",
			     &ev, &err), &err);
	assert_int_equal(ev.kind, FORGE_EVENT_IGNORED);
	assert_string_equal(ev.ignored_reason, "note on a Commit");
	forge_event_release(&ev);
	/* A comment missing its body is refused. */
	assert_int_equal(parse_text(FORGE_GITLAB, "Note Hook",
				    "{\"object_attributes\":{\"id\":1,\"noteable_type\":"
				    "\"MergeRequest\"},\"user\":{\"id\":5,\"username\":\"b\"},"
				    "\"merge_request\":{\"iid\":2},\"project\":{\"id\":9,"
				    "\"path_with_namespace\":\"g/p\"}}", &ev, &err), -1);
}

static void test_parse_refuses_unknown_or_missing_event(void **state)
{
	struct forge_event ev = FORGE_EVENT_INIT;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_int_equal(parse_text(FORGE_GITHUB, "issues", "{}", &ev, &err), -1);
	assert_string_equal(err.msg, "unknown event 'issues'");
	assert_int_equal(parse_text(FORGE_GITLAB, "Wiki Page Hook", "{}", &ev, &err), -1);
	assert_string_equal(err.msg, "unknown event 'Wiki Page Hook'");
	/* GitLab names its events differently. */
	assert_int_equal(parse_text(FORGE_GITLAB, "push", "{}", &ev, &err), -1);
	assert_string_equal(err.msg, "unknown event 'push'");
	assert_int_equal(parse_text(FORGE_GITHUB, NULL, "{}", &ev, &err), -1);
	assert_string_equal(err.msg, "missing X-GitHub-Event header");
	assert_int_equal(parse_text(FORGE_GITLAB, NULL, "{}", &ev, &err), -1);
	assert_string_equal(err.msg, "missing X-Gitlab-Event header");
	assert_null(ev.delivery_id);
}

static void test_parse_refuses_push_without_after(void **state)
{
	struct forge_event ev = FORGE_EVENT_INIT;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_int_equal(parse_text(FORGE_GITHUB, "push",
				    "{\"ref\":\"refs/heads/main\",\"before\":\"6113728f27ae82c7b1a177"
				    "c8d03f9e96e0adf246\",\"repository\":{\"full_name\":\"o/r\"}}",
				    &ev, &err),
			 -1);
	assert_string_equal(err.msg, "push: missing or invalid 'after'");
	assert_int_equal(parse_text(FORGE_GITHUB, "push",
				    "{\"ref\":\"refs/heads/main\",\"before\":\"6113728f27ae82c7b1a177"
				    "c8d03f9e96e0adf246\",\"after\":\"not-a-commit\","
				    "\"repository\":{\"full_name\":\"o/r\"}}",
				    &ev, &err),
			 -1);
	assert_string_equal(err.msg, "push: missing or invalid 'after'");
	assert_int_equal(parse_text(FORGE_GITHUB, "pull_request",
				    "{\"action\":\"opened\",\"number\":\"1\"}", &ev, &err),
			 -1);
	assert_string_equal(err.msg, "pull_request: missing or invalid 'repository.full_name'");
	assert_null(ev.action);
}

static char *push_to(const char *ref)
{
	return sy_xasprintf("{\"ref\":\"%s\",\"before\":\"6113728f27ae82c7b1a177c8d03f9e96e0a"
			    "df246\",\"after\":\"7113728f27ae82c7b1a177c8d03f9e96e0adf246\","
			    "\"repository\":{\"full_name\":\"o/r\"}}", ref);
}

/* A branch becomes a ref, a channel directory and a log field: names git
 * refuses never get that far, and the error stays one line. */
static void test_parse_refuses_ref_names_git_refuses(void **state)
{
	static const char *const bad[] = {
		"refs/heads/../../etc", "refs/heads/a..b", "refs/heads/x\\ny",
		"refs/heads/x.lock", "refs/heads/", "refs/heads/a b",
	};
	struct forge_event ev = FORGE_EVENT_INIT;
	struct sy_error err = { { 0 } };

	(void)state;
	for (size_t i = 0; i < LEN(bad); i++) {
		char *body = push_to(bad[i]);
		assert_int_equal(parse_text(FORGE_GITHUB, "push", body, &ev, &err), -1);
		assert_non_null(strstr(err.msg, "not a valid git ref name"));
		assert_null(strchr(err.msg, '\n'));
		assert_null(ev.branch);
		free(body);
	}
	char *body = push_to("refs/heads/release/3.0");
	assert_ok(parse_text(FORGE_GITHUB, "push", body, &ev, &err), &err);
	assert_string_equal(ev.branch, "release/3.0");
	forge_event_release(&ev);
	free(body);

	assert_int_equal(parse_text(FORGE_GITHUB, "pull_request",
				    "{\"action\":\"opened\",\"number\":1,\"repository\":"
				    "{\"full_name\":\"o/r\"},\"pull_request\":{\"head\":"
				    "{\"sha\":\"7113728f27ae82c7b1a177c8d03f9e96e0adf246\",\"ref\":"
				    "\"fix\"},\"base\":{\"sha\":\"6113728f27ae82c7b1a177c8d03f9e96e0"
				    "adf246\",\"ref\":\"main/..\"}}}",
				    &ev, &err),
			 -1);
	assert_string_equal(err.msg, "ref 'refs/heads/main/..': not a valid git ref name");
}

/* Without a delivery header, the key is a digest of the body: the same body
 * delivered again gets the same key. */
static void test_delivery_id_falls_back_to_body_digest(void **state)
{
	struct forge_event ev = FORGE_EVENT_INIT;
	struct sy_error err = { { 0 } };
	char hex[SY_SHA256_HEX_LEN + 1];
	char *want;

	(void)state;
	sy_sha256_buf(branch_deletion, strlen(branch_deletion), hex);
	want = sy_xasprintf("body-sha256:%s", hex);
	assert_ok(parse_text(FORGE_GITHUB, "push", branch_deletion, &ev, &err), &err);
	assert_string_equal(ev.delivery_id, want);
	forge_event_release(&ev);
	free(want);
}

/* ---- Gitea and GitLab fixtures ---- */

/* Reads FIXTURES/<name>.headers ("Name: value" lines) into h and the body of
 * FIXTURES/<name>.json into *body. */
static void load_fixture(const char *name, struct headers *h, char **body, size_t *len)
{
	struct sy_error err = { { 0 } };
	char *path = sy_xasprintf(FIXTURES "/%s.headers", name);
	char *text, *line, *save = NULL;

	assert_ok(sy_read_file(path, &text, NULL, &err), &err);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		assert_non_null(colon);
		*colon = '\0';
		headers_add(h, line, colon + 1 + strspn(colon + 1, " "));
	}
	free(text);
	free(path);
	path = sy_xasprintf(FIXTURES "/%s.json", name);
	assert_ok(sy_read_file(path, body, len, &err), &err);
	free(path);
}

/* Verifies and parses fixture name of forge kind into *ev. The signature (or
 * token) is added here, as a forge would. */
static void fixture_deliver(enum forge_kind kind, const char *name,
			    struct forge_event *ev)
{
	struct headers h = HEADERS_INIT;
	struct sy_error err = { { 0 } };
	char *body, *sig;
	size_t len;

	load_fixture(name, &h, &body, &len);
	sig = sign("fixture secret", body, len);
	if (kind == FORGE_GITLAB)
		headers_add(&h, "X-Gitlab-Token", "fixture secret");
	else
		headers_add(&h, "X-Gitea-Signature", sig + strlen("sha256="));
	assert_ok(forge_webhook_verify(kind, header_get, &h, body, len, "fixture secret", &err),
		  &err);
	assert_ok(forge_webhook_parse(kind, header_get, &h, body, len, ev, &err), &err);
	assert_int_equal(ev->forge, kind);
	assert_string_equal(ev->delivery_id,
			    header_get(&h, kind == FORGE_GITLAB ? "X-Gitlab-Event-UUID"
									: "X-Gitea-Delivery"));
	free(sig);
	free(body);
	headers_release(&h);
}

/* A comment on a pull request (Gitea) and on a merge request (GitLab), as
 * the forges deliver them, is a command candidate: who wrote it (the
 * permission API needs the login or the user id), where, and its text. */
static void test_parse_comment_fixtures(void **state)
{
	struct forge_event ev = FORGE_EVENT_INIT;

	(void)state;
	fixture_deliver(FORGE_GITEA, "gitea/issue_comment_pull_created", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_COMMENT);
	assert_int_equal(ev.pr_number, 12);
	assert_int_equal(ev.comment_id, 2044);
	assert_string_equal(ev.comment_user, "bob");
	assert_string_equal(ev.comment_body, "The mirror was down.\r\n/shipyard retry");
	assert_string_equal(ev.repo_full_name, "distro/minidistro");
	assert_null(ev.author_association);
	forge_event_release(&ev);
	fixture_deliver(FORGE_GITLAB, "gitlab/note_merge_request", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_COMMENT);
	assert_int_equal(ev.pr_number, 5);
	assert_int_equal(ev.comment_id, 70311);
	assert_string_equal(ev.comment_user, "bob");
	assert_int_equal(ev.comment_user_id, 9);
	assert_int_equal(ev.project_id, 1187);
	assert_string_equal(ev.comment_body, "The mirror was down.\n/shipyard retry");
	forge_event_release(&ev);
}

static void test_parse_gitea_push_fixtures(void **state)
{
	struct forge_event ev = FORGE_EVENT_INIT;

	(void)state;
	fixture_deliver(FORGE_GITEA, "gitea/push", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_PUSH);
	assert_string_equal(ev.repo_full_name, "distro/minidistro");
	assert_int_equal(ev.project_id, 42);
	assert_string_equal(ev.clone_url, "https://git.example.org/distro/minidistro.git");
	assert_string_equal(ev.ref, "refs/heads/main");
	assert_string_equal(ev.branch, "main");
	assert_string_equal(ev.before, "9c4e1d2b3a5f6e7d8c9b0a1f2e3d4c5b6a798081");
	assert_string_equal(ev.after, "5f1b2c7e9a0d4b3c8e6f7a1b2c3d4e5f60718293");
	forge_event_release(&ev);

	fixture_deliver(FORGE_GITEA, "gitea/push_tag", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_IGNORED);
	assert_string_equal(ev.ignored_reason, "tag push");
	forge_event_release(&ev);
}

static void test_parse_gitea_pull_request_fixtures(void **state)
{
	struct forge_event ev = FORGE_EVENT_INIT;

	(void)state;
	fixture_deliver(FORGE_GITEA, "gitea/pull_request_opened", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_PR_OPENED);
	assert_int_equal(ev.pr_number, 12);
	assert_string_equal(ev.head_sha, "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678");
	assert_string_equal(ev.head_ref, "openssl-cve");
	assert_string_equal(ev.head_clone_url, "https://git.example.org/alice/minidistro.git");
	assert_string_equal(ev.base_ref, "main");
	assert_string_equal(ev.base_sha, "5f1b2c7e9a0d4b3c8e6f7a1b2c3d4e5f60718293");
	assert_string_equal(ev.clone_url, "https://git.example.org/distro/minidistro.git");
	assert_string_equal(ev.ref, "refs/heads/main");
	assert_int_equal(ev.merged, 0);
	forge_event_release(&ev);

	/* Gitea says "synchronized" where GitHub says "synchronize". */
	fixture_deliver(FORGE_GITEA, "gitea/pull_request_synchronized", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_PR_SYNCHRONIZE);
	assert_string_equal(ev.action, "synchronized");
	assert_string_equal(ev.head_sha, "b2c3d4e5f60718293a4b5c6d7e8f9012345678a1");
	forge_event_release(&ev);

	fixture_deliver(FORGE_GITEA, "gitea/pull_request_label_updated", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_IGNORED);
	assert_string_equal(ev.ignored_reason, "pull_request action 'label_updated'");
	forge_event_release(&ev);

	fixture_deliver(FORGE_GITEA, "gitea/pull_request_closed_merged", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_PR_CLOSED);
	assert_int_equal(ev.merged, 1);
	forge_event_release(&ev);
}

static void test_parse_gitlab_push_fixtures(void **state)
{
	struct forge_event ev = FORGE_EVENT_INIT;

	(void)state;
	fixture_deliver(FORGE_GITLAB, "gitlab/push", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_PUSH);
	assert_string_equal(ev.event_name, "Push Hook");
	assert_string_equal(ev.repo_full_name, "distro/minidistro");
	assert_int_equal(ev.project_id, 1187);
	assert_string_equal(ev.clone_url, "https://gitlab.example.org/distro/minidistro.git");
	assert_string_equal(ev.branch, "main");
	assert_string_equal(ev.before, "e5f60718293a4b5c6d7e8f9012345678a1b2c3d4");
	assert_string_equal(ev.after, "d4e5f60718293a4b5c6d7e8f9012345678a1b2c3");
	forge_event_release(&ev);

	fixture_deliver(FORGE_GITLAB, "gitlab/push_branch_deletion", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_IGNORED);
	assert_string_equal(ev.ignored_reason, "branch deletion");
	assert_string_equal(ev.branch, "old-feature");
	forge_event_release(&ev);

	fixture_deliver(FORGE_GITLAB, "gitlab/tag_push", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_IGNORED);
	assert_string_equal(ev.ignored_reason, "tag push");
	forge_event_release(&ev);
}

static void test_parse_gitlab_merge_request_fixtures(void **state)
{
	struct forge_event ev = FORGE_EVENT_INIT;

	(void)state;
	fixture_deliver(FORGE_GITLAB, "gitlab/merge_request_open", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_PR_OPENED);
	assert_int_equal(ev.pr_number, 5);
	assert_int_equal(ev.project_id, 1187);
	assert_string_equal(ev.head_sha, "f60718293a4b5c6d7e8f9012345678a1b2c3d4e5");
	assert_string_equal(ev.head_ref, "kernel-userns");
	assert_string_equal(ev.head_clone_url, "https://gitlab.example.org/alice/minidistro.git");
	assert_string_equal(ev.base_ref, "main");
	assert_string_equal(ev.base_sha, "d4e5f60718293a4b5c6d7e8f9012345678a1b2c3");
	assert_string_equal(ev.ref, "refs/heads/main");
	forge_event_release(&ev);

	fixture_deliver(FORGE_GITLAB, "gitlab/merge_request_update", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_PR_SYNCHRONIZE);
	assert_string_equal(ev.head_sha, "0718293a4b5c6d7e8f9012345678a1b2c3d4e5f6");
	assert_string_equal(ev.before, "f60718293a4b5c6d7e8f9012345678a1b2c3d4e5");
	assert_string_equal(ev.after, ev.head_sha);
	assert_string_equal(ev.base_sha, "");
	forge_event_release(&ev);

	fixture_deliver(FORGE_GITLAB, "gitlab/merge_request_update_title", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_IGNORED);
	assert_string_equal(ev.ignored_reason, "merge request update without new commits");
	forge_event_release(&ev);

	fixture_deliver(FORGE_GITLAB, "gitlab/merge_request_merge", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_PR_CLOSED);
	assert_int_equal(ev.merged, 1);
	forge_event_release(&ev);

	fixture_deliver(FORGE_GITLAB, "gitlab/merge_request_close", &ev);
	assert_int_equal(ev.kind, FORGE_EVENT_PR_CLOSED);
	assert_int_equal(ev.merged, 0);
	forge_event_release(&ev);
}

/* GitLab: X-Gitlab-Event-UUID first, Idempotency-Key when it is absent. */
static void test_parse_gitlab_delivery_id_headers(void **state)
{
	struct headers h = HEADERS_INIT;
	struct forge_event ev = FORGE_EVENT_INIT;
	struct sy_error err = { { 0 } };
	char *body;
	size_t len;

	(void)state;
	load_fixture("gitlab/push", &h, &body, &len);
	for (size_t i = 0; i < h.names.n; i++) {
		if (!strcasecmp(h.names.items[i], "X-Gitlab-Event-UUID"))
			h.names.items[i][0] = '-'; /* hide it */
		if (!strcasecmp(h.names.items[i], "Idempotency-Key")) {
			free(h.values.items[i]);
			h.values.items[i] = sy_xstrdup("retry-key-1");
		}
	}
	assert_ok(forge_webhook_parse(FORGE_GITLAB, header_get, &h, body, len, &ev,
					&err), &err);
	assert_string_equal(ev.delivery_id, "retry-key-1");
	forge_event_release(&ev);
	free(body);
	headers_release(&h);
}

static void test_event_kind_names(void **state)
{
	(void)state;
	assert_string_equal(forge_event_kind_name(FORGE_EVENT_PING), "ping");
	assert_string_equal(forge_event_kind_name(FORGE_EVENT_PR_SYNCHRONIZE),
			    "pr-synchronize");
	assert_string_equal(forge_event_kind_name(FORGE_EVENT_IGNORED), "ignored");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_accepts_github_docs_test_vector),
		cmocka_unit_test(test_verify_refuses_wrong_signature),
		cmocka_unit_test(test_verify_refuses_missing_signature_or_secret),
		cmocka_unit_test(test_verify_gitea_accepts_x_gitea_signature_without_prefix),
		cmocka_unit_test(test_verify_gitlab_compares_the_token),
		cmocka_unit_test(test_parse_octokit_push_examples),
		cmocka_unit_test(test_parse_octokit_pull_request_examples),
		cmocka_unit_test(test_parse_octokit_ping_examples),
		cmocka_unit_test(test_parse_octokit_merged_pull_request_is_closed_and_merged),
		cmocka_unit_test(test_parse_github_branch_deletion_is_ignored),
		cmocka_unit_test(test_parse_form_encoded_octokit_push_examples),
		cmocka_unit_test(test_parse_refuses_form_body_without_payload),
		cmocka_unit_test(test_parse_refuses_malformed_json),
		cmocka_unit_test(test_parse_refuses_unknown_or_missing_event),
		cmocka_unit_test(test_parse_github_issue_comment_examples),
		cmocka_unit_test(test_parse_gitea_and_gitlab_comments),
		cmocka_unit_test(test_parse_refuses_push_without_after),
		cmocka_unit_test(test_delivery_id_falls_back_to_body_digest),
		cmocka_unit_test(test_parse_refuses_ref_names_git_refuses),
		cmocka_unit_test(test_parse_gitea_push_fixtures),
		cmocka_unit_test(test_parse_gitea_pull_request_fixtures),
		cmocka_unit_test(test_parse_gitlab_push_fixtures),
		cmocka_unit_test(test_parse_comment_fixtures),
		cmocka_unit_test(test_parse_gitlab_merge_request_fixtures),
		cmocka_unit_test(test_parse_gitlab_delivery_id_headers),
		cmocka_unit_test(test_event_kind_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
