/* state/release: the record of a release (release.json) and its SBOM
 * (sbom.spdx.json, SPDX 2.3): written and read back, a skipped release
 * recorded once with its reason, releases listed newest first, and records
 * of releases made before release directories were self-contained. */
#include "testutil.h"

#include <jansson.h>

#include "state/layout.h"
#include "state/release.h"

static struct state_release_package packages[] = {
	{ "gcc-c++", "0", "13.2", "1.azl3", "x86_64",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  "GPL-3.0-or-later WITH GCC-exception-3.1", "gcc-13.2-1.azl3.src.rpm",
	  "RPMS/x86_64/gcc-c++-13.2-1.azl3.x86_64.rpm" },
	{ "perl-Foo", "2", "1.0", "3", "noarch",
	  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	  "GPL+ or Artistic", "perl-Foo-1.0-3.src.rpm", "RPMS/noarch/perl-Foo-1.0-3.noarch.rpm" },
};

static struct state_release_file files[] = {
	{ "core.tar.gz", "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", 1234 },
};

static struct state_release_image images[] = {
	{ "core", "20261206T030000Z", files, 1 },
};

static struct state_release made(const char *name)
{
	return (struct state_release){
		.repo = "distro", .name = (char *)name, .state = STATE_RELEASE_MADE,
		.created = "2026-12-06T03:00:00Z",
		.commit = "0123456789012345678901234567890123456789", .channel = "main",
		.snapshot = "20261206T025900Z", .pipeline = "42", .packages = packages,
		.npackages = 2, .images = images, .nimages = 1,
	};
}

static json_t *load(const char *dir, const char *file)
{
	char *path = sy_xasprintf("%s/%s", dir, file);
	json_t *doc = json_load_file(path, 0, NULL);

	assert_non_null(doc);
	free(path);
	return doc;
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "(none)";
}

static void test_release_record_round_trips(void **state)
{
	(void)state;
	char *tmp = test_tmpdir(), *dir = state_release_dir(tmp, "distro", "main-20261206-0300");
	struct state_release rec = made("main-20261206-0300"), got;
	struct sy_error err = { { 0 } };

	assert_ok(state_release_write(dir, &rec, &err), &err);
	assert_int_equal(state_release_read(tmp, "distro", "main-20261206-0300", &got, &err), 1);
	assert_int_equal(got.state, STATE_RELEASE_MADE);
	assert_null(got.reason);
	assert_string_equal(got.commit, rec.commit);
	assert_string_equal(got.channel, "main");
	assert_string_equal(got.snapshot, "20261206T025900Z");
	assert_string_equal(got.pipeline, "42");
	assert_int_equal(got.npackages, 2);
	assert_string_equal(got.packages[1].epoch, "2");
	assert_string_equal(got.packages[1].sourcerpm, "perl-Foo-1.0-3.src.rpm");
	assert_int_equal(got.nimages, 1);
	assert_string_equal(got.images[0].build, "20261206T030000Z");
	assert_int_equal(got.images[0].nfiles, 1);
	assert_int_equal(got.images[0].files[0].bytes, 1234);
	state_release_release(&got);
	/* NEVRAs are in release.json for whoever reads it without us. */
	json_t *doc = load(dir, "release.json");
	json_t *p1 = json_array_get(json_object_get(doc, "packages"), 1);
	assert_string_equal(str(p1, "nevra"), "perl-Foo-2:1.0-3.noarch");
	assert_string_equal(str(json_array_get(json_object_get(doc, "packages"), 0), "nevra"),
			    "gcc-c++-13.2-1.azl3.x86_64");
	assert_string_equal(str(doc, "sbom"), "sbom.spdx.json");
	json_decref(doc);
	sy_rm_rf(tmp, NULL);
	free(dir);
	free(tmp);
}

static void test_release_sbom_is_an_spdx_document(void **state)
{
	(void)state;
	char *tmp = test_tmpdir(), *dir = sy_xasprintf("%s/r", tmp);
	struct state_release rec = made("main-20261206-0300");
	struct sy_error err = { { 0 } };

	assert_ok(state_release_write(dir, &rec, &err), &err);
	json_t *doc = load(dir, "sbom.spdx.json");
	assert_string_equal(str(doc, "spdxVersion"), "SPDX-2.3");
	assert_string_equal(str(doc, "dataLicense"), "CC0-1.0");
	assert_string_equal(str(doc, "SPDXID"), "SPDXRef-DOCUMENT");
	assert_string_equal(str(json_object_get(doc, "creationInfo"), "created"),
			    "2026-12-06T03:00:00Z");
	json_t *pkgs = json_object_get(doc, "packages");
	assert_int_equal(json_array_size(pkgs), 2);
	json_t *gcc = json_array_get(pkgs, 0), *perl = json_array_get(pkgs, 1);
	/* SPDX ids are letters, digits, '.' and '-' only. */
	assert_string_equal(str(gcc, "SPDXID"), "SPDXRef-Package-0-gcc-c--");
	assert_string_equal(str(gcc, "versionInfo"), "13.2-1.azl3");
	assert_string_equal(str(gcc, "licenseDeclared"), "GPL-3.0-or-later WITH GCC-exception-3.1");
	json_t *sum = json_array_get(json_object_get(gcc, "checksums"), 0);
	assert_string_equal(str(sum, "algorithm"), "SHA256");
	assert_string_equal(str(sum, "checksumValue"), packages[0].sha256);
	json_t *ref = json_array_get(json_object_get(gcc, "externalRefs"), 0);
	assert_string_equal(str(ref, "referenceType"), "purl");
	assert_string_equal(str(ref, "referenceLocator"),
			    "pkg:rpm/distro/gcc-c%2B%2B@13.2-1.azl3?arch=x86_64&epoch=0"
			    "&upstream=gcc-13.2-1.azl3.src.rpm");
	assert_string_equal(str(gcc, "sourceInfo"), "built from source package gcc-13.2-1.azl3.src.rpm");
	/* A License tag that is no SPDX expression is not claimed as one. */
	assert_string_equal(str(perl, "versionInfo"), "2:1.0-3");
	assert_string_equal(str(perl, "licenseDeclared"), "NOASSERTION");
	assert_string_equal(str(perl, "licenseComments"), "RPM License tag: GPL+ or Artistic");
	json_t *rels = json_object_get(doc, "relationships");
	assert_int_equal(json_array_size(rels), 2);
	assert_string_equal(str(json_array_get(rels, 1), "relationshipType"), "DESCRIBES");
	assert_string_equal(str(json_array_get(rels, 1), "relatedSpdxElement"),
			    "SPDXRef-Package-1-perl-Foo");
	json_decref(doc);
	sy_rm_rf(tmp, NULL);
	free(dir);
	free(tmp);
}

static void test_skipped_release_is_recorded_once_with_its_reason(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	struct state_release rec = {
		.repo = "distro", .name = "main-20261207-0300", .state = STATE_RELEASE_SKIPPED,
		.reason = "build failed: hello", .created = "2026-12-07T03:00:00Z",
		.commit = "0123456789012345678901234567890123456789", .channel = "main",
		.pipeline = "43",
	}, got;
	struct sy_error err = { { 0 } };

	assert_false(state_release_exists(tmp, "distro", rec.name));
	assert_int_equal(state_release_record_skipped(tmp, &rec, &err), 1);
	assert_true(state_release_exists(tmp, "distro", rec.name));
	rec.reason = "something else";
	assert_int_equal(state_release_record_skipped(tmp, &rec, &err), 0);
	assert_int_equal(state_release_read(tmp, "distro", rec.name, &got, &err), 1);
	assert_int_equal(got.state, STATE_RELEASE_SKIPPED);
	assert_string_equal(got.reason, "build failed: hello");
	assert_int_equal(got.npackages, 0);
	state_release_release(&got);
	/* Only release.json: no SBOM, no half-made directory left beside it. */
	char *dir = state_release_dir(tmp, "distro", rec.name);
	char *sbom = sy_xasprintf("%s/sbom.spdx.json", dir);
	assert_false(sy_exists(sbom));
	char *cmd = sy_xasprintf("test -z \"$(ls -A %s/releases/distro | grep '^\\.')\"", tmp);
	test_sh(cmd);
	free(cmd);
	free(sbom);
	free(dir);
	sy_rm_rf(tmp, NULL);
	free(tmp);
}

static void test_releases_are_listed_newest_first(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	struct sy_strv repos = SY_STRV_INIT, names = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	const char *const made_names[] = { "main-20261205-0300", "main-20261206-0300" };

	for (size_t i = 0; i < 2; i++) {
		struct state_release rec = made(made_names[i]);
		char *dir = state_release_dir(tmp, "distro", made_names[i]);
		assert_ok(state_release_write(dir, &rec, &err), &err);
		free(dir);
	}
	/* Neither a directory without release.json nor one being made is one. */
	test_write_file(tmp, "releases/distro/half-made/other", "");
	test_write_file(tmp, "releases/distro/.main-20261207-0300.tmp-1/release.json", "{}");
	state_release_list(tmp, &repos, &names);
	assert_int_equal(names.n, 2);
	assert_string_equal(names.items[0], "main-20261206-0300");
	assert_string_equal(repos.items[1], "distro");
	sy_strv_release(&repos);
	sy_strv_release(&names);
	sy_rm_rf(tmp, NULL);
	free(tmp);
}

static void test_release_of_an_older_shipyard_reads_as_made(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	struct state_release got;
	struct sy_error err = { { 0 } };

	test_write_file(tmp, "releases/distro/main-20261201-0300/release.json",
			"{\"release\": \"main-20261201-0300\", \"repo\": \"distro\", \"commit\": "
			"\"c1\", \"snapshot\": \"/s/repos/main/snapshots/1\", \"images\": \"/s/images\"}");
	assert_int_equal(state_release_read(tmp, "distro", "main-20261201-0300", &got, &err), 1);
	assert_int_equal(got.state, STATE_RELEASE_MADE);
	assert_string_equal(got.commit, "c1");
	assert_string_equal(got.snapshot, "/s/repos/main/snapshots/1");
	assert_int_equal(got.npackages, 0);
	assert_int_equal(got.nimages, 0);
	state_release_release(&got);
	assert_int_equal(state_release_read(tmp, "distro", "nope", &got, &err), 0);
	test_write_file(tmp, "releases/distro/bad/release.json", "not json");
	assert_int_equal(state_release_read(tmp, "distro", "bad", &got, &err), -1);
	assert_non_null(strstr(err.msg, "release.json"));
	sy_rm_rf(tmp, NULL);
	free(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_release_record_round_trips),
		cmocka_unit_test(test_release_sbom_is_an_spdx_document),
		cmocka_unit_test(test_skipped_release_is_recorded_once_with_its_reason),
		cmocka_unit_test(test_releases_are_listed_newest_first),
		cmocka_unit_test(test_release_of_an_older_shipyard_reads_as_made),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
