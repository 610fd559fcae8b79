/* imager/configsummary.h: the summaries of a commit's image configs kept in
 * the state's kv store equal those read afresh, and a record is not used
 * once a file read outside the configs directory changed. */
#include "testutil.h"

#include "common/fs.h"
#include "gitwatch/repo.h"
#include "imager/configsummary.h"
#include "state/kv.h"
#include "state/layout.h"

#define GIT "git -c user.name=t -c user.email=t@example.invalid -c init.defaultBranch=main "

/* A repository whose config cfg/img.json lists shared/list.json (outside
 * cfg/) and cfg/lists/a.json, beside a config that does not parse. */
static char *make_repo(void)
{
	char *dir = test_tmpdir();
	char *cmd = sy_xasprintf(
		"cd %s && " GIT "init -q . && mkdir -p cfg/lists shared && "
		"echo '{\"packages\": [\"zlib\"]}' > cfg/lists/a.json && "
		"echo '{\"packages\": [\"bash\"]}' > shared/list.json && "
		"echo '{\"SystemConfigs\": [{\"Name\": \"S\", \"PackageLists\": "
		"[\"lists/a.json\", \"../shared/list.json\"], \"Packages\": [\"curl\"]}]}' > cfg/img.json && "
		"echo '{' > cfg/bad.json && " GIT "add -A && " GIT "commit -q -m one",
		dir);

	test_sh(cmd);
	free(cmd);
	return dir;
}

static void assert_same(const struct imager_config_summaries *a,
			const struct imager_config_summaries *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_string_equal(a->items[i].path, b->items[i].path);
		assert_int_equal(a->items[i].error, b->items[i].error);
		assert_int_equal(a->items[i].watched.n, b->items[i].watched.n);
		for (size_t k = 0; k < a->items[i].watched.n; k++)
			assert_string_equal(a->items[i].watched.items[k], b->items[i].watched.items[k]);
		assert_int_equal(a->items[i].packages.n, b->items[i].packages.n);
		for (size_t k = 0; k < a->items[i].packages.n; k++)
			assert_string_equal(a->items[i].packages.items[k],
					    b->items[i].packages.items[k]);
	}
}

/* Loads with and without the store at head and checks both agree; returns
 * the packages of cfg/img.json joined by spaces (caller frees). */
static char *load_both(struct gitwatch_repo *repo, const char *db)
{
	struct imager_config_summaries fresh, kept;
	struct sy_error err = { { 0 } };
	char head[GITWATCH_OID_HEX + 1], *joined = sy_xstrdup("");

	assert_ok(gitwatch_resolve(repo, "HEAD", head, &err), &err);
	assert_ok(imager_config_summaries_load(repo, head, "cfg", NULL, &fresh, &err), &err);
	assert_ok(imager_config_summaries_load(repo, head, "cfg", db, &kept, &err), &err);
	assert_same(&fresh, &kept);
	assert_int_equal(kept.n, 2);
	assert_string_equal(kept.items[0].path, "cfg/bad.json");
	assert_int_equal(kept.items[0].error, 1);
	assert_string_equal(kept.items[1].path, "cfg/img.json");
	assert_int_equal(kept.items[1].error, 0);
	assert_string_equal(kept.items[1].watched.items[0], "cfg/img.json");
	for (size_t k = 0; k < kept.items[1].packages.n; k++) {
		char *next = sy_xasprintf("%s%s%s", joined, k ? " " : "", kept.items[1].packages.items[k]);
		free(joined);
		joined = next;
	}
	imager_config_summaries_release(&fresh);
	imager_config_summaries_release(&kept);
	return joined;
}

static void test_configsummary_record_equals_reading_and_follows_outside_files(void **state)
{
	char *dir = make_repo(), *statedir = test_tmpdir(), *db = state_db_path(statedir), *cmd, *pk;
	struct gitwatch_repo *repo;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_ok(gitwatch_repo_open(dir, &repo, &err), &err);
	pk = load_both(repo, db); /* stores the record */
	assert_string_equal(pk, "zlib bash curl");
	free(pk);
	pk = load_both(repo, db); /* uses it */
	assert_string_equal(pk, "zlib bash curl");
	free(pk);
	gitwatch_repo_free(repo);
	/* Only the list outside cfg/ changes: cfg/'s tree is the same. */
	cmd = sy_xasprintf("cd %s && echo '{\"packages\": [\"dash\"]}' > shared/list.json && "
			   GIT "commit -q -am two", dir);
	test_sh(cmd);
	free(cmd);
	assert_ok(gitwatch_repo_open(dir, &repo, &err), &err);
	pk = load_both(repo, db);
	assert_string_equal(pk, "zlib dash curl");
	free(pk);
	gitwatch_repo_free(repo);
	sy_rm_rf(dir, &err);
	sy_rm_rf(statedir, &err);
	free(db);
	free(statedir);
	free(dir);
}

/* A record that does not decode is not used. */
static void test_configsummary_ignores_a_damaged_record(void **state)
{
	char *dir = make_repo(), *statedir = test_tmpdir(), *db = state_db_path(statedir), *pk;
	char head[GITWATCH_OID_HEX + 1], tree[GITWATCH_OID_HEX + 1], *key;
	struct gitwatch_repo *repo;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_ok(gitwatch_repo_open(dir, &repo, &err), &err);
	assert_ok(gitwatch_resolve(repo, "HEAD", head, &err), &err);
	assert_ok(gitwatch_tree_id(repo, head, "cfg", tree, &err), &err);
	key = sy_xasprintf("%s cfg", tree);
	assert_ok(state_kv_put(db, "image-config-summaries-v1", key, "\x05zz", 3, &err), &err);
	pk = load_both(repo, db);
	assert_string_equal(pk, "zlib bash curl");
	free(pk);
	free(key);
	gitwatch_repo_free(repo);
	sy_rm_rf(dir, &err);
	sy_rm_rf(statedir, &err);
	free(db);
	free(statedir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_configsummary_record_equals_reading_and_follows_outside_files),
		cmocka_unit_test(test_configsummary_ignores_a_damaged_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
