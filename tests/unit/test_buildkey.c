/* Build keys: rebuild policies and how a spec's own inputs are compared. */
#include "testutil.h"

#include "planner/buildkey.h"

static void test_policy_parse_accepts_the_four_policies(void **state)
{
	struct planner_policy p;
	struct sy_error err = { { 0 } };
	char buf[32];
	const char *texts[] = { "transitive", "direct", "local", "layers=3" };

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		assert_ok(planner_policy_parse(texts[i], &p, &err), &err);
		planner_policy_format(&p, buf, sizeof(buf));
		assert_string_equal(buf, texts[i]);
	}
	assert_int_equal(planner_policy_parse("layers=0", &p, &err), -1);
	assert_int_equal(planner_policy_parse("layers=2x", &p, &err), -1);
	assert_int_equal(planner_policy_parse("eager", &p, &err), -1);
	assert_non_null(strstr(err.msg, "rebuild policy 'eager'"));
}

static void inputs(struct planner_spec_inputs *in, const char *metadata, const char *const *files)
{
	memset(in, 0, sizeof(*in));
	for (size_t i = 0; files[i]; i++)
		sy_strv_push(&in->files, files[i]);
	strcpy(in->metadata, metadata);
}

static void test_inputs_diff_names_each_changed_file_by_role(void **state)
{
	struct planner_spec_inputs a, b;
	struct sy_strv reasons = SY_STRV_INIT;
	const char *before[] = { "file SPECS/z/README 1", "patch SPECS/z/fix.patch 2",
				 "signatures SPECS/z/z.signatures.json 3", "source SPECS/z/z.tar 4",
				 "spec SPECS/z/z.spec 5", NULL };
	const char *after[] = { "patch SPECS/z/new.patch 6", "signatures SPECS/z/z.signatures.json 3",
				"source SPECS/z/z.tar 7", "spec SPECS/z/z.spec 8", NULL };

	(void)state;
	inputs(&a, "m1", before);
	inputs(&b, "m1", after);
	planner_inputs_diff(&a, "g", &b, "g", &reasons);
	char *text = sy_strv_join(&reasons, ", ");
	assert_string_equal(text, "Patch new.patch added, Source z.tar changed, spec changed, "
				  "file README removed, Patch fix.patch removed");
	free(text);
	sy_strv_release(&reasons);

	/* Same files: only global inputs, or only the parsed metadata. */
	planner_inputs_diff(&b, "g", &b, "h", &reasons);
	assert_int_equal(reasons.n, 1);
	assert_string_equal(reasons.items[0], "macro context changed");
	sy_strv_release(&reasons);
	struct planner_spec_inputs c;
	inputs(&c, "m2", after);
	planner_inputs_diff(&b, "g", &c, "g", &reasons);
	assert_int_equal(reasons.n, 1);
	assert_string_equal(reasons.items[0], "parsed metadata changed (macros it uses)");
	sy_strv_release(&reasons);
	sy_strv_release(&a.files);
	sy_strv_release(&b.files);
	sy_strv_release(&c.files);
}

static void test_spec_id_is_the_spec_file_basename(void **state)
{
	struct planner_spec s = { 0 };
	char *id;

	(void)state;
	s.path = "SPECS/golang/golang-1.25.spec";
	id = planner_spec_id(&s);
	assert_string_equal(id, "golang-1.25");
	free(id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_parse_accepts_the_four_policies),
		cmocka_unit_test(test_inputs_diff_names_each_changed_file_by_role),
		cmocka_unit_test(test_spec_id_is_the_spec_file_basename),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
