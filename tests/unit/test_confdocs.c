/* docs/configuration.md describes every key of every configuration file:
 * each name of the known-keys tables (planner_distro_keys,
 * server_conf_keys, builder_worker_keys) appears there in backquotes, a
 * "section.*.key" as `section.<name>.key`. A key added to a table without
 * its documentation fails here. Run from the top of the source tree (as
 * tests/run-tests.sh does). */
#include "testutil.h"

#include "builder/worker.h"
#include "common/fs.h"
#include "planner/distro.h"
#include "server/serveconf.h"

/* The name as the documentation writes it: `repo.<name>.remote`. */
static char *documented_name(const char *name)
{
	const char *star = strstr(name, ".*.");

	if (!star)
		return sy_xasprintf("`%s`", name);
	return sy_xasprintf("`%.*s.<name>.%s`", (int)(star - name), name, star + 3);
}

static size_t count_missing(const char *doc, const struct sy_conf_key *keys, size_t n)
{
	size_t missing = 0;

	for (size_t i = 0; i < n; i++) {
		char *want = documented_name(keys[i].name);
		if (!strstr(doc, want)) {
			print_error("docs/configuration.md does not describe %s\n", want);
			missing++;
		}
		free(want);
	}
	return missing;
}

static void test_configuration_md_describes_every_known_key(void **state)
{
	char *doc = NULL;
	size_t len = 0, missing;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_ok(sy_read_file("docs/configuration.md", &doc, &len, &err), &err);
	missing = count_missing(doc, planner_distro_keys, planner_distro_nkeys) +
		  count_missing(doc, server_conf_keys, server_conf_nkeys) +
		  count_missing(doc, builder_worker_keys, builder_worker_nkeys);
	assert_int_equal(missing, 0);
	free(doc);
}

static void test_documented_name_spells_subsections_as_the_docs_do(void **state)
{
	char *a = documented_name("repo.*.remote"), *b = documented_name("publish.s3.bucket");

	(void)state;
	assert_string_equal(a, "`repo.<name>.remote`");
	assert_string_equal(b, "`publish.s3.bucket`");
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_configuration_md_describes_every_known_key),
		cmocka_unit_test(test_documented_name_spells_subsections_as_the_docs_do),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
