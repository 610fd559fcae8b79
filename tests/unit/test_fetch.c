/* Source URLs: a sources.url value read into its template
 * (planner_source_url_parse) and the template filled for one Source
 * (builder_fetch_source_url). */
#include "testutil.h"

#include "builder/fetch.h"
#include "common/util.h"
#include "planner/distro.h"

#define SHA "9e107d9d372bb6826bd81d3542a419d6b2a4c9cb1b4c5f3e2f8d2b1a0c3e4f5a"

/* The URL value gives for spec "zlib", its Source file and sha256 (NULL:
 * unsigned); NULL when refused, with err set. */
static char *url_for(const char *value, const char *name, const char *file, const char *sha256,
		     struct sy_error *err)
{
	const struct builder_source_ref ref = { name, file, sha256 };
	char *template, *url;

	assert_ok(planner_source_url_parse(value, &template, err), err);
	url = builder_fetch_source_url(template, &ref, err);
	free(template);
	return url;
}

static void assert_url(const char *value, const char *name, const char *file,
		       const char *sha256, const char *want)
{
	struct sy_error err = { { 0 } };
	char *url = url_for(value, name, file, sha256, &err);

	if (!url)
		fail_msg("%s: %s", value, err.msg);
	assert_string_equal(url, want);
	free(url);
}

/* The toolkit's SOURCE_URL is a flat directory of every source: a value
 * without placeholders keeps meaning "<url>/<file>", as before templates. */
static void test_source_url_without_placeholder_is_the_toolkits_flat_layout(void **state)
{
	char *template;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_ok(planner_source_url_parse("https://src.example/sources/core", &template, &err),
		  &err);
	assert_string_equal(template, "https://src.example/sources/core/%{file}");
	free(template);
	assert_url("https://src.example/sources/core", "zlib", "zlib-1.3.tar.xz", SHA,
		   "https://src.example/sources/core/zlib-1.3.tar.xz");
	/* No signature needed for it. */
	assert_url("file:///srv/sources", "zlib", "zlib-1.3.tar.xz", NULL,
		   "file:///srv/sources/zlib-1.3.tar.xz");
}

static void test_source_url_fills_fedora_lookaside_layout(void **state)
{
	(void)state;
	assert_url("https://src.example/repo/pkgs/%{name}/%{file}/sha256/%{sha256}/%{file}",
		   "zlib", "zlib-1.3.tar.xz", SHA,
		   "https://src.example/repo/pkgs/zlib/zlib-1.3.tar.xz/sha256/" SHA
		   "/zlib-1.3.tar.xz");
	/* A content-addressed store (another shipyard's source cache); the
	 * digest is written in lowercase whatever the signatures file says. */
	assert_url("file:///var/lib/shipyard/sources/%{sha256}", "zlib", "z.tar",
		   "9E107D9D372BB6826BD81D3542A419D6B2A4C9CB1B4C5F3E2F8D2B1A0C3E4F5A",
		   "file:///var/lib/shipyard/sources/" SHA);
	/* The rest of the template is taken as written (a query, an escape). */
	assert_url("HTTPS://h:8443/a%20b/%{file}?sv=1&sig=x", "zlib", "z.tar", NULL,
		   "HTTPS://h:8443/a%20b/z.tar?sv=1&sig=x");
}

/* Every byte but RFC 3986's unreserved characters is percent-encoded, '%'
 * included, so that a decoded name is the name and not a path. */
static void test_source_url_escapes_names(void **state)
{
	(void)state;
	assert_url("https://h/p/%{name}/%{file}", "gtk+ 3", "a+b 1.0.tar", NULL,
		   "https://h/p/gtk%2B%203/a%2Bb%201.0.tar");
	assert_url("file:///srv", "zlib", "..%2Fsecret", NULL, "file:///srv/..%252Fsecret");
	assert_url("https://h/%{file}", "zlib", "x?y#z&w=1", NULL, "https://h/x%3Fy%23z%26w%3D1");
	assert_url("https://h/%{file}", "zlib", "caf\xc3\xa9.tar", NULL, "https://h/caf%C3%A9.tar");
}

/* Names and digests come from a spec and its signatures file: a pull
 * request's. One that would be a path of its own (or a log line) is
 * refused, whichever placeholder it fills. */
static void test_source_url_refuses_hostile_names_and_digests(void **state)
{
	static const char *const names[] = { "", ".", "..", "a/b", "..\\x", "a\nb", "a\x7f" };
	static const char *const digests[] = { "../../../etc/passwd", "abc",
					       SHA "00", "g07d9d372bb6826bd81d3542a419d6b2a4c9cb1b4c5f3e2f8d2b1a0c3e4f5a", "" };
	const char *fedora = "https://h/%{name}/%{file}/sha256/%{sha256}/%{file}";
	struct sy_error err = { { 0 } };
	char *url;

	(void)state;
	for (size_t i = 0; i < LEN(names); i++) {
		assert_null(url_for(fedora, names[i], "z.tar", SHA, &err));
		assert_non_null(strstr(err.msg, "%{name}"));
		assert_non_null(strstr(err.msg, "not a name a URL may carry"));
		assert_null(url_for(fedora, "zlib", names[i], SHA, &err));
		assert_non_null(strstr(err.msg, "%{file}"));
		assert_null(strchr(err.msg, '\n'));
	}
	for (size_t i = 0; i < LEN(digests); i++) {
		assert_null(url_for(fedora, "zlib", "z.tar", digests[i], &err));
		assert_non_null(strstr(err.msg, "not a SHA-256"));
	}
	assert_null(url_for(fedora, "zlib", "z.tar", NULL, &err));
	assert_string_equal(err.msg, "%{sha256}: no SHA-256 in the signatures file");
	/* A name only the other placeholders would carry is not looked at. */
	url = url_for("https://h/%{file}", "..", "z.tar", NULL, &err);
	assert_string_equal(url, "https://h/z.tar");
	free(url);
}

/* What shipyard.conf may give as sources.url: each refusal names the value
 * and the reason. */
static void test_source_url_parse_refuses_what_is_no_source_url(void **state)
{
	static const struct {
		const char *value, *reason;
	} bad[] = {
		{ "ftp://h/sources", "not an http, https or file URL" },
		{ "/srv/sources", "not an http, https or file URL" },
		{ "", "not an http, https or file URL" },
		{ "http://", "no host" },
		{ "https:///sources", "no host" },
		{ "file://host/srv", "a file URL is file:///<absolute path>" },
		{ "https://h/a b", "holds a space or control character" },
		{ "https://h/a\tb", "holds a space or control character" },
		{ "https://h/%{nmae}/%{file}", "unknown placeholder %{nmae}" },
		{ "https://h/%{hash}", "unknown placeholder %{hash}" },
		{ "https://h/%{file", "unknown placeholder %{file" },
		{ "https://%{name}.h/%{file}", "%{name} before the path" },
		{ "https://h?%{file}", "%{file} before the path" },
	};
	struct sy_error err = { { 0 } };
	char *template = (char *)"x";

	(void)state;
	for (size_t i = 0; i < LEN(bad); i++) {
		char *want = sy_xasprintf("'%s': %s", bad[i].value, bad[i].reason);
		assert_int_equal(planner_source_url_parse(bad[i].value, &template, &err), -1);
		assert_null(template);
		if (strncmp(err.msg, want, strlen(want)) && !strchr(bad[i].value, '\t'))
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].value, err.msg, want);
		assert_non_null(strstr(err.msg, bad[i].reason));
		free(want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_url_without_placeholder_is_the_toolkits_flat_layout),
		cmocka_unit_test(test_source_url_fills_fedora_lookaside_layout),
		cmocka_unit_test(test_source_url_escapes_names),
		cmocka_unit_test(test_source_url_refuses_hostile_names_and_digests),
		cmocka_unit_test(test_source_url_parse_refuses_what_is_no_source_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
