/* Collections (pipeline/gc.h) over a real state directory: a channel keeps
 * its newest snapshots and its current one, never one a reader holds or
 * one an rpm worker root was built from; a publication in progress is
 * waited for or skipped; image builds keep their latest, pipeline run
 * directories their newest and the running ones. Snapshots hold RPMs built
 * here with the host rpmbuild; their package lists are read back from
 * repodata (repo-publish/contents.h). */
#include "testutil.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/hash.h"
#include "pipeline/gc.h"
#include "repo-publish/contents.h"
#include "repo-publish/publish.h"
#include "repo-publish/retention.h"
#include "state/kv.h"
#include "state/layout.h"
#include "state/release.h"

static const char test_spec[] =
	"Name: greet\nVersion: 1.0\nRelease: 1\nSummary: greeting\nLicense: MIT\n"
	"BuildArch: noarch\n%description\ngreeting\n"
	"%package -n libgreet\nSummary: greeting library\nLicense: BSD-3-Clause\n"
	"%description -n libgreet\nlibrary\n"
	"%install\nmkdir -p %{buildroot}/usr/share/greet\n"
	"echo hello > %{buildroot}/usr/share/greet/hello.txt\n"
	"%files\n/usr/share/greet\n%files -n libgreet\n";

/* The RPMs, built once for every test. */
struct rpms {
	char *tmp;
	char *greet, *libgreet, *srpm;
};

static struct rpms rpms;

static int group_setup(void **state)
{
	struct sy_error err = { { 0 } };

	(void)state;
	rpms.tmp = test_tmpdir();
	char *spec = sy_xasprintf("%s/greet.spec", rpms.tmp);
	if (sy_write_file(spec, test_spec, strlen(test_spec), 0644, &err))
		fail_msg("%s", err.msg);
	char *cmd = sy_xasprintf("rpmbuild -ba --quiet --define '_topdir %s/rpmbuild' "
				 "--define '_build_id_links none' %s >/dev/null 2>&1",
				 rpms.tmp, spec);
	test_sh(cmd);
	free(cmd);
	free(spec);
	rpms.greet = sy_xasprintf("%s/rpmbuild/RPMS/noarch/greet-1.0-1.noarch.rpm", rpms.tmp);
	rpms.libgreet = sy_xasprintf("%s/rpmbuild/RPMS/noarch/libgreet-1.0-1.noarch.rpm", rpms.tmp);
	rpms.srpm = sy_xasprintf("%s/rpmbuild/SRPMS/greet-1.0-1.src.rpm", rpms.tmp);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sy_rm_rf(rpms.tmp, NULL);
	free(rpms.tmp);
	free(rpms.greet);
	free(rpms.libgreet);
	free(rpms.srpm);
	return 0;
}

/* One test's state directory. */
struct fixture {
	char *state;
	char *repos;
};

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));

	f->state = test_tmpdir();
	f->repos = state_repos_dir(f->state);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sy_rm_rf(f->state, NULL);
	free(f->state);
	free(f->repos);
	free(f);
	return 0;
}

/* Publishes a snapshot of channel holding files; returns its id. */
static char *publish(const struct fixture *f, const char *channel, const char *const *files)
{
	struct sy_error err = { { 0 } };
	char *snap = NULL;

	assert_ok(repo_publish_snapshot(f->repos, channel, files, &snap, &err), &err);
	char *id = sy_xstrdup(strrchr(snap, '/') + 1);
	free(snap);
	return id;
}

static char *snapshot_dir(const struct fixture *f, const char *channel, const char *id)
{
	return sy_xasprintf("%s/%s/snapshots/%s", f->repos, channel, id);
}

static int has_snapshot(const struct fixture *f, const char *channel, const char *id)
{
	char *dir = snapshot_dir(f, channel, id);
	int yes = sy_exists(dir);

	free(dir);
	return yes;
}

static void test_snapshot_gc_keeps_the_newest_n(void **state)
{
	struct fixture *f = *state;
	const char *const one[] = { rpms.greet, NULL };
	const struct state_retention_limit limit = { 2, 0 };
	struct repo_publish_gc_result res = { SY_STRV_INIT, SY_STRV_INIT };
	struct sy_error err = { { 0 } };
	char *ids[4];

	for (int i = 0; i < 4; i++)
		ids[i] = publish(f, "main", one);
	assert_ok(repo_publish_gc_channel(f->state, "main", &limit, NULL, 0, 1, &res, &err), &err);
	assert_int_equal(res.removed.n, 2);
	assert_string_equal(res.removed.items[0], ids[0]);
	assert_string_equal(res.removed.items[1], ids[1]);
	assert_false(has_snapshot(f, "main", ids[0]));
	assert_false(has_snapshot(f, "main", ids[1]));
	assert_true(has_snapshot(f, "main", ids[2]));
	assert_true(has_snapshot(f, "main", ids[3]));
	char *current = repo_publish_current_id(f->repos, "main");
	assert_string_equal(current, ids[3]);
	free(current);
	repo_publish_gc_result_release(&res);
	for (int i = 0; i < 4; i++)
		free(ids[i]);
}

static void test_snapshot_gc_never_removes_the_current_a_kept_or_a_held_one(void **state)
{
	struct fixture *f = *state;
	const char *const one[] = { rpms.greet, NULL };
	const struct state_retention_limit limit = { 1, 0 };
	struct repo_publish_gc_result res = { SY_STRV_INIT, SY_STRV_INIT };
	struct state_holds holds = STATE_HOLDS_INIT;
	struct sy_error err = { { 0 } };
	char *ids[5];

	for (int i = 0; i < 5; i++)
		ids[i] = publish(f, "main", one);
	/* current points back at the second: a rollback. */
	char *cur = sy_xasprintf("%s/main/current", f->repos);
	char *target = sy_xasprintf("snapshots/%s", ids[1]);
	unlink(cur);
	assert_int_equal(symlink(target, cur), 0);
	/* A running pipeline reads the first. */
	char *held = snapshot_dir(f, "main", ids[0]);
	assert_int_equal(state_hold_dir(held, &holds, &err), 1);
	struct repo_publish_keep keep = { ids[2], "worker root 0123456789ab was built from it" };

	assert_ok(repo_publish_gc_channel(f->state, "main", &limit, &keep, 1, 1, &res, &err), &err);
	/* keep 1 keeps the newest (ids[4]); ids[3] alone goes. */
	assert_int_equal(res.removed.n, 1);
	assert_string_equal(res.removed.items[0], ids[3]);
	for (int i = 0; i < 5; i++)
		assert_int_equal(has_snapshot(f, "main", ids[i]), i != 3);
	char *joined = sy_strv_join(&res.kept, "\n");
	char *want = sy_xasprintf("%s: held by a running pipeline or release\n"
				  "%s: the channel's current snapshot\n"
				  "%s: worker root 0123456789ab was built from it",
				  ids[0], ids[1], ids[2]);
	assert_string_equal(joined, want);
	free(want);
	free(joined);
	/* Once the pipeline ends, the next collection takes it. */
	state_holds_release(&holds);
	repo_publish_gc_result_release(&res);
	assert_ok(repo_publish_gc_channel(f->state, "main", &limit, &keep, 1, 1, &res, &err), &err);
	assert_int_equal(res.removed.n, 1);
	assert_string_equal(res.removed.items[0], ids[0]);
	repo_publish_gc_result_release(&res);
	free(held);
	free(target);
	free(cur);
	for (int i = 0; i < 5; i++)
		free(ids[i]);
}

static void test_snapshot_gc_skips_a_channel_being_published(void **state)
{
	struct fixture *f = *state;
	const char *const one[] = { rpms.greet, NULL };
	const struct state_retention_limit limit = { 1, 0 };
	struct repo_publish_gc_result res = { SY_STRV_INIT, SY_STRV_INIT };
	struct sy_error err = { { 0 } };
	char *a = publish(f, "main", one), *b = publish(f, "main", one);
	int publisher = repo_publish_lock_channel(f->state, "main", 1, &err);

	assert_true(publisher >= 0);
	assert_int_equal(repo_publish_gc_channel(f->state, "main", &limit, NULL, 0, 0, &res, &err),
			 -2);
	assert_int_equal(res.removed.n, 0);
	assert_true(has_snapshot(f, "main", a));
	close(publisher);
	assert_ok(repo_publish_gc_channel(f->state, "main", &limit, NULL, 0, 0, &res, &err), &err);
	assert_int_equal(res.removed.n, 1);
	assert_true(has_snapshot(f, "main", b));
	repo_publish_gc_result_release(&res);
	free(a);
	free(b);
}

static void test_hold_current_holds_the_channels_current_snapshot(void **state)
{
	struct fixture *f = *state;
	const char *const one[] = { rpms.greet, NULL };
	struct state_holds holds = STATE_HOLDS_INIT;
	struct sy_error err = { { 0 } };
	char *snap = NULL;

	assert_int_equal(repo_publish_hold_current(f->state, "main", &snap, &holds, &err), 0);
	assert_null(snap);
	char *id = publish(f, "main", one);
	assert_int_equal(repo_publish_hold_current(f->state, "main", &snap, &holds, &err), 1);
	char *dir = snapshot_dir(f, "main", id);
	assert_string_equal(snap, dir);
	assert_int_equal(state_trash_move(f->state, dir, &err), 0);
	state_holds_release(&holds);
	free(dir);
	free(snap);
	free(id);
}

static void test_snapshot_packages_come_from_the_repodata(void **state)
{
	struct fixture *f = *state;
	const char *const all[] = { rpms.greet, rpms.libgreet, rpms.srpm, NULL };
	struct repo_publish_packages pkgs = REPO_PUBLISH_PACKAGES_INIT;
	struct sy_error err = { { 0 } };
	char hex[SY_SHA256_HEX_LEN + 1];
	char *id = publish(f, "main", all), *dir = snapshot_dir(f, "main", id);

	assert_ok(repo_publish_snapshot_packages(dir, &pkgs, &err), &err);
	/* Binary packages only, sorted by name. */
	assert_int_equal(pkgs.n, 2);
	assert_string_equal(pkgs.items[0].name, "greet");
	assert_string_equal(pkgs.items[0].license, "MIT");
	assert_string_equal(pkgs.items[1].name, "libgreet");
	assert_string_equal(pkgs.items[1].epoch, "0");
	assert_string_equal(pkgs.items[1].version, "1.0");
	assert_string_equal(pkgs.items[1].release, "1");
	assert_string_equal(pkgs.items[1].arch, "noarch");
	assert_string_equal(pkgs.items[1].license, "BSD-3-Clause");
	assert_string_equal(pkgs.items[1].sourcerpm, "greet-1.0-1.src.rpm");
	assert_string_equal(pkgs.items[1].file, "RPMS/noarch/libgreet-1.0-1.noarch.rpm");
	assert_ok(sy_sha256_file(rpms.libgreet, hex, &err), &err);
	assert_string_equal(pkgs.items[1].sha256, hex);
	repo_publish_packages_release(&pkgs);
	free(dir);
	free(id);
}

/* An rpm worker root of the cache <state>/worker, built from channel:tc
 * and another repository, holding the package at rpm and one from the
 * other repository. */
static void make_worker_root(const struct fixture *f, const char *digest, const char *rpm)
{
	char hex[SY_SHA256_HEX_LEN + 1];
	struct sy_error err = { { 0 } };
	char *dir = sy_xasprintf("%s/worker/%s", f->state, digest);

	assert_ok(sy_sha256_file(rpm, hex, &err), &err);
	/* Its other package came from another repository of its manifest. */
	char *packages = sy_xasprintf("libgreet-1.0-1.noarch sha256:%s\n"
				      "zlib-1.3-1.x86_64 sha256:%064d\n", hex, 0);
	test_write_file(dir, "root/etc/os-release", "ID=test\n");
	test_write_file(dir, "manifest",
			"[worker]\n\tkind = rpm\n\trepo = channel:tc\n\trepo = /srv/other\n"
			"\tpackage = libgreet\n\tpackage = zlib\n");
	test_write_file(dir, "packages", packages);
	free(packages);
	free(dir);
}

static void test_gc_keeps_the_snapshot_a_worker_root_was_built_from(void **state)
{
	struct fixture *f = *state;
	const char *const both[] = { rpms.greet, rpms.libgreet, NULL };
	const char *const greet[] = { rpms.greet, NULL };
	struct state_retention limits = { { 1, 0 }, { 0, 0 }, { 0, 0 } };
	struct pipeline_gc_report rep = PIPELINE_GC_REPORT_INIT;
	struct sy_error err = { { 0 } };
	const char *digest = "93defe8f6eb7cbbfaa76cb8e82191a719f9e351cc39ba8e744d7cf966a4faeae";
	/* The root was built when libgreet was published; then it left. */
	char *a = publish(f, "tc", both), *b = publish(f, "tc", both);
	char *c = publish(f, "tc", greet), *d = publish(f, "tc", greet);
	make_worker_root(f, digest, rpms.libgreet);

	const struct pipeline_gc_request req = { f->state, &limits, NULL, 1 };
	assert_ok(pipeline_gc_run(&req, &rep, &err), &err);
	/* The newest snapshot holding libgreet (b) stays, and the current (d). */
	assert_true(has_snapshot(f, "tc", b));
	assert_true(has_snapshot(f, "tc", d));
	assert_false(has_snapshot(f, "tc", a));
	assert_false(has_snapshot(f, "tc", c));
	char *kept = sy_xasprintf("snapshot tc/%s: worker root 93defe8f6eb7 was built from it", b);
	assert_int_equal(rep.kept.n, 1);
	assert_string_equal(rep.kept.items[0], kept);
	free(kept);
	assert_int_equal(rep.removed.n, 2);
	/* Nothing is left in the trash. */
	char *trash = state_trash_dir(f->state);
	struct sy_strv left = SY_STRV_INIT;
	sy_list_dir(trash, &left);
	assert_int_equal(left.n, 0);
	sy_strv_release(&left);
	free(trash);
	pipeline_gc_report_release(&rep);
	free(a);
	free(b);
	free(c);
	free(d);
}

/* Sets the modification time of path to when. */
static void set_time(const char *path, time_t when)
{
	struct timeval tv[2] = { { when, 0 }, { when, 0 } };

	assert_int_equal(utimes(path, tv), 0);
}

static void test_gc_keeps_the_latest_image_build_and_running_pipelines(void **state)
{
	struct fixture *f = *state;
	struct state_retention limits = { { 0, 0 }, { 1, 0 }, { 2, 0 } };
	struct pipeline_gc_report rep = PIPELINE_GC_REPORT_INIT;
	struct state_holds holds = STATE_HOLDS_INIT;
	struct sy_error err = { { 0 } };
	const char *builds[] = { "20260101T000000Z", "20260102T000000Z", "20260103T000000Z" };
	char *images = sy_xasprintf("%s/images/core", f->state);
	time_t now = time(NULL);

	for (size_t i = 0; i < 3; i++) {
		char *file = sy_xasprintf("%s/core.tar.gz", builds[i]);
		test_write_file(images, file, "tar");
		free(file);
	}
	/* latest names the oldest build (a rollback). */
	char *latest = sy_xasprintf("%s/latest", images);
	assert_int_equal(symlink(builds[0], latest), 0);
	/* Four runs, oldest first; the oldest is still running. */
	for (int i = 1; i <= 4; i++) {
		char *id = sy_xasprintf("%d", i), *dir = state_pipeline_dir(f->state, id);
		test_write_file(dir, "pipeline.log", "log\n");
		set_time(dir, now - 1000 + i);
		if (i == 1)
			assert_int_equal(state_hold_dir(dir, &holds, &err), 1);
		free(dir);
		free(id);
	}

	const struct pipeline_gc_request req = { f->state, &limits, NULL, 1 };
	assert_ok(pipeline_gc_run(&req, &rep, &err), &err);
	char *removed = sy_strv_join(&rep.removed, "\n");
	assert_string_equal(removed, "image core/20260102T000000Z\npipeline 2");
	char *kept = sy_strv_join(&rep.kept, "\n");
	assert_string_equal(kept, "image core/20260101T000000Z: the config's latest build\n"
				  "pipeline 1: held by a running pipeline or release");
	state_holds_release(&holds);
	pipeline_gc_report_release(&rep);
	free(kept);
	free(removed);
	free(latest);
	free(images);
}

static void test_gc_keeps_the_snapshot_an_old_release_links_to(void **state)
{
	struct fixture *f = *state;
	const char *const one[] = { rpms.greet, NULL };
	struct state_retention limits = { { 1, 0 }, { 0, 0 }, { 0, 0 } };
	struct pipeline_gc_report rep = PIPELINE_GC_REPORT_INIT;
	struct sy_error err = { { 0 } };
	char *a = publish(f, "main", one), *b = publish(f, "main", one), *c = publish(f, "main", one);
	/* A release of an older shipyard: release.json names the snapshot's
	 * path, repo links to it. */
	char *snap = snapshot_dir(f, "main", a), *real = realpath(snap, NULL);
	char *record = sy_xasprintf("{\"release\": \"main-20261201-0300\", \"repo\": \"distro\", "
				    "\"commit\": \"c1\", \"snapshot\": \"%s\"}", real);
	char *dir = state_release_dir(f->state, "distro", "main-20261201-0300");
	test_write_file(dir, "release.json", record);

	const struct pipeline_gc_request req = { f->state, &limits, NULL, 1 };
	assert_ok(pipeline_gc_run(&req, &rep, &err), &err);
	assert_true(has_snapshot(f, "main", a));
	assert_false(has_snapshot(f, "main", b));
	assert_true(has_snapshot(f, "main", c));
	char *kept = sy_xasprintf("snapshot main/%s: release distro/main-20261201-0300 links to it", a);
	assert_int_equal(rep.kept.n, 1);
	assert_string_equal(rep.kept.items[0], kept);
	free(kept);
	pipeline_gc_report_release(&rep);
	free(dir);
	free(record);
	free(real);
	free(snap);
	free(a);
	free(b);
	free(c);
}

static void test_gc_skips_when_another_collection_runs(void **state)
{
	struct fixture *f = *state;
	struct state_retention limits = STATE_RETENTION_DEFAULTS;
	struct pipeline_gc_report rep = PIPELINE_GC_REPORT_INIT;
	struct sy_error err = { { 0 } };
	int other = state_gc_lock(f->state, 1, &err);
	const struct pipeline_gc_request req = { f->state, &limits, NULL, 0 };

	assert_true(other >= 0);
	assert_int_equal(pipeline_gc_run(&req, &rep, &err), -2);
	close(other);
	assert_ok(pipeline_gc_run(&req, &rep, &err), &err);
	pipeline_gc_report_release(&rep);
}

static void test_gc_removes_cache_values_unused_for_cachedays(void **state)
{
	struct fixture *f = *state;
	struct state_retention limits = STATE_RETENTION_DEFAULTS;
	struct pipeline_gc_report rep = PIPELINE_GC_REPORT_INIT;
	struct sy_error err = { { 0 } };
	const struct pipeline_gc_request req = { f->state, &limits, NULL, 0 };
	char *db = state_db_path(f->state), *big = sy_xcalloc(1, 100000), *value, *cmd;
	size_t len;

	assert_ok(state_kv_put(db, "gc-test-v1", "old", big, 100000, &err), &err);
	cmd = sy_xasprintf("touch -d '30 days ago' %s/tmp/kv/*", f->state);
	test_sh(cmd);
	free(cmd);
	assert_ok(state_kv_put(db, "gc-test-v1", "new", big, 100000, &err), &err);
	assert_ok(pipeline_gc_run(&req, &rep, &err), &err);
	assert_int_equal(rep.removed.n, 1);
	assert_string_equal(rep.removed.items[0],
			    "cache values unused for 14 days: 0 rows, 1 files (0.1 MB)");
	assert_int_equal(state_kv_get(db, "gc-test-v1", "old", &value, &len, &err), 0);
	assert_int_equal(state_kv_get(db, "gc-test-v1", "new", &value, &len, &err), 1);
	free(value);
	pipeline_gc_report_release(&rep);
	free(big);
	free(db);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_snapshot_gc_keeps_the_newest_n),
		T(test_snapshot_gc_never_removes_the_current_a_kept_or_a_held_one),
		T(test_snapshot_gc_skips_a_channel_being_published),
		T(test_hold_current_holds_the_channels_current_snapshot),
		T(test_snapshot_packages_come_from_the_repodata),
		T(test_gc_keeps_the_snapshot_a_worker_root_was_built_from),
		T(test_gc_keeps_the_latest_image_build_and_running_pipelines),
		T(test_gc_keeps_the_snapshot_an_old_release_links_to),
		T(test_gc_skips_when_another_collection_runs),
		T(test_gc_removes_cache_values_unused_for_cachedays),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
