/* The pull request comment: plan summary, results failures first with log
 * links, images, the .repo URL, and text from the pull request escaped. */
#include "testutil.h"

#include <string.h>

#include <jansson.h>

#include "server/prcomment.h"

static json_t *detail(void)
{
	json_error_t e;
	json_t *d = json_loads(
		"{\"id\": 7, \"state\": \"failure\", \"pr\": 3, \"head\": "
		"\"0123456789abcdef0123456789abcdef01234567\", \"url\": \"/pipelines/7\", "
		"\"log\": \"/pipelines/7/log\", \"summary\": null,"
		"\"plan\": {\"changed\": [{\"spec\": \"libgreet\", \"reasons\": [\"Version "
		"changed\"]}], \"rebuild\": ["
		"{\"spec\": \"libgreet\", \"why\": \"changed\", \"reasons\": [\"Version changed\"]},"
		"{\"spec\": \"hello\", \"why\": \"dependency\", \"reasons\": [\"BuildRequires "
		"libgreet-devel <- libgreet\"]},"
		"{\"spec\": \"evil<script>\", \"why\": \"dependency\", \"reasons\": [\"[x](http://e)\"]}"
		"]},"
		"\"jobs\": ["
		"{\"name\": \"hello\", \"state\": \"built\", \"seconds\": 2.5, \"log\": "
		"\"/pipelines/7/jobs/hello/log\", \"reason\": null},"
		"{\"name\": \"libgreet\", \"state\": \"failed\", \"seconds\": 1.0, \"log\": "
		"\"/pipelines/7/jobs/libgreet/log\", \"reason\": \"rpmbuild failed\"}"
		"]}",
		0, &e);

	assert_non_null(d);
	return d;
}

static void test_prcomment_has_plan_results_images_and_repo(void **state)
{
	json_t *d = detail();
	json_t *images = json_loads("[{\"config\": \"minimal\", \"state\": \"failure\", "
				    "\"description\": \"needs libgreet\"}]",
				    0, NULL);
	char *text = server_pr_comment(d, images, "https://ci.example", "https://ci.example/repos/pr-3.repo");

	(void)state;
	assert_true(!strncmp(text, SERVER_PR_COMMENT_MARK "\n", strlen(SERVER_PR_COMMENT_MARK) + 1));
	assert_non_null(strstr(text, "[7](https://ci.example/pipelines/7): failure"));
	assert_non_null(strstr(text, "**Plan**: 1 changed spec (`libgreet`), 3 to rebuild, "
				     "cascade of 2."));
	assert_non_null(strstr(text, "- `hello`: BuildRequires libgreet-devel &lt;- libgreet"));
	assert_non_null(strstr(text, "[log](https://ci.example/pipelines/7/jobs/libgreet/log.html)"));
	/* Failures first. */
	assert_true(strstr(text, "| `libgreet` |") < strstr(text, "| `hello` |"));
	assert_non_null(strstr(text, "`minimal`: needs libgreet"));
	assert_non_null(strstr(text, "https://ci.example/repos/pr-3.repo"));
	free(text);
	json_decref(images);
	json_decref(d);
}

static void test_prcomment_escapes_pull_request_text(void **state)
{
	json_t *d = detail();
	char *text = server_pr_comment(d, NULL, "", NULL);

	(void)state;
	assert_null(strstr(text, "<script>"));
	assert_null(strstr(text, "[x](http://e)"));
	assert_non_null(strstr(text, "evil&lt;script&gt;"));
	assert_non_null(strstr(text, "\\[x\\]\\(http://e\\)"));
	assert_null(strstr(text, ".repo"));
	free(text);
	json_decref(d);
}

static void test_prcomment_without_plan_says_so(void **state)
{
	json_t *d = json_pack("{s:i, s:s, s:s, s:n, s:[]}", "id", 2, "state", "error", "head",
			      "abc", "plan", "jobs");
	char *text = server_pr_comment(d, NULL, "", NULL);

	(void)state;
	assert_non_null(strstr(text, "No plan was made"));
	assert_null(strstr(text, "| Spec |"));
	free(text);
	json_decref(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prcomment_has_plan_results_images_and_repo),
		cmocka_unit_test(test_prcomment_escapes_pull_request_text),
		cmocka_unit_test(test_prcomment_without_plan_says_so),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
