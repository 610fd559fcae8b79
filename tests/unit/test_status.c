/* The shipyard/build status description: failed and blocked specs named
 * (a few, then "+N more"), within GitHub's 140 characters, never cut inside
 * a UTF-8 sequence; and the reporter's cut of any description. */
#include "testutil.h"

#include <string.h>

#include "pipeline/status.h"

static size_t chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static void fill(struct sy_strv *v, const char *prefix, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sy_strv_pushf(v, "%s%zu", prefix, i);
}

static void test_status_names_three_failed_then_count(void **state)
{
	struct sy_strv failed = SY_STRV_INIT, blocked = SY_STRV_INIT;
	char out[600];

	(void)state;
	fill(&failed, "lib", 5);
	sy_strv_push(&blocked, "hello");
	pipeline_status_build_text(out, sizeof(out), &failed, &blocked, "0 built, 5 failed");
	assert_string_equal(out, "failed: lib0, lib1, lib2 +2 more; blocked: hello; 0 built, "
				 "5 failed");
	sy_strv_release(&failed);
	sy_strv_release(&blocked);
}

static void test_status_without_failures_is_the_counts(void **state)
{
	struct sy_strv none = SY_STRV_INIT;
	char out[600];

	(void)state;
	pipeline_status_build_text(out, sizeof(out), &none, &none, "3 built, 1 reused");
	assert_string_equal(out, "3 built, 1 reused");
}

static void test_status_long_names_fit_140_blocked_dropped_first(void **state)
{
	struct sy_strv failed = SY_STRV_INIT, blocked = SY_STRV_INIT;
	char out[600];

	(void)state;
	fill(&failed, "a-very-long-package-name-for-the-failing-spec-", 4);
	fill(&blocked, "another-quite-long-blocked-package-name-", 9);
	pipeline_status_build_text(out, sizeof(out), &failed, &blocked,
				   "12 built, 0 reused, 0 unchanged, 4 failed, 9 blocked");
	assert_true(chars(out) <= PIPELINE_STATUS_DESCRIPTION_MAX);
	/* The blocked names go before any failed one does. */
	assert_non_null(strstr(out, "9 blocked;"));
	assert_non_null(strstr(out, "failed: a-very-long-package-name-for-the-failing-spec-0"));
	assert_non_null(strstr(out, "more"));
	sy_strv_release(&failed);
	sy_strv_release(&blocked);
}

static void test_status_counts_kept_whole_while_names_can_go(void **state)
{
	struct sy_strv failed = SY_STRV_INIT, blocked = SY_STRV_INIT;
	const char *counts = "7 built, 0 reused, 0 unchanged, 4 failed, 3 blocked";
	char out[600];

	(void)state;
	sy_strv_push(&failed, "broken");
	sy_strv_push(&failed, "failing");
	sy_strv_push(&failed, "libgreet");
	sy_strv_push(&failed, "needs-missing");
	sy_strv_push(&blocked, "greet-tools-with-a-long-name");
	sy_strv_push(&blocked, "hello-with-a-long-name");
	sy_strv_push(&blocked, "libbanner");
	pipeline_status_build_text(out, sizeof(out), &failed, &blocked, counts);
	assert_true(chars(out) <= PIPELINE_STATUS_DESCRIPTION_MAX);
	assert_non_null(strstr(out, counts));
	assert_string_equal(out, "failed: broken, failing, libgreet +1 more; 3 blocked; 7 built, 0 "
				 "reused, 0 unchanged, 4 failed, 3 blocked");
	sy_strv_release(&failed);
	sy_strv_release(&blocked);
}

static void test_status_no_name_fits_gives_counts_only(void **state)
{
	struct sy_strv failed = SY_STRV_INIT;
	char name[200], out[600];

	(void)state;
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	sy_strv_push(&failed, name);
	sy_strv_push(&failed, "b");
	pipeline_status_build_text(out, sizeof(out), &failed, NULL, "0 built");
	assert_string_equal(out, "2 failed; 0 built");
	sy_strv_release(&failed);
}

static void test_status_cut_never_splits_utf8(void **state)
{
	struct sy_strv failed = SY_STRV_INIT;
	char out[600], tail[500] = "";

	(void)state;
	sy_strv_push(&failed, "x");
	for (int i = 0; i < 200; i++)
		strcat(tail, "\xc3\xa9"); /* é */
	pipeline_status_build_text(out, sizeof(out), &failed, NULL, tail);
	assert_int_equal(chars(out), PIPELINE_STATUS_DESCRIPTION_MAX);
	assert_true(((unsigned char)out[strlen(out) - 1] & 0xC0) == 0x80);
	sy_strv_release(&failed);
}

static char reported[1024];

static void capture(struct pipeline_reporter *r, const char *context, enum forge_state state,
		    const char *description)
{
	(void)r;
	(void)context;
	(void)state;
	snprintf(reported, sizeof(reported), "%s", description);
}

static void test_status_report_cuts_by_characters(void **state)
{
	struct pipeline_reporter rep = { capture, NULL };
	char text[600] = "";

	(void)state;
	for (int i = 0; i < 150; i++)
		strcat(text, "\xc3\xa9");
	pipeline_status_report(&rep, "shipyard/build", FORGE_FAILURE, "%s\nend", text);
	assert_int_equal(chars(reported), PIPELINE_STATUS_DESCRIPTION_MAX);
	assert_int_equal(strlen(reported), 2 * PIPELINE_STATUS_DESCRIPTION_MAX);
	pipeline_status_report(&rep, "shipyard/build", FORGE_FAILURE, "a\nb");
	assert_string_equal(reported, "a b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_names_three_failed_then_count),
		cmocka_unit_test(test_status_without_failures_is_the_counts),
		cmocka_unit_test(test_status_long_names_fit_140_blocked_dropped_first),
		cmocka_unit_test(test_status_counts_kept_whole_while_names_can_go),
		cmocka_unit_test(test_status_no_name_fits_gives_counts_only),
		cmocka_unit_test(test_status_cut_never_splits_utf8),
		cmocka_unit_test(test_status_report_cuts_by_characters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
