/* repo-publish/sign.h: packages signed as copies (the artifacts untouched),
 * the same copies found again, repomd.xml signed before a snapshot is
 * current, keys refused with one line naming the file, and nothing of the
 * key left behind. Keys are made here with gpg, packages with rpmbuild; rpm
 * and gpg check the results against the exported public key. */
#include "testutil.h"

#include <sys/stat.h>

#include "common/hash.h"
#include "common/util.h"
#include "repo-publish/publish.h"
#include "repo-publish/sign.h"

static const char test_spec[] =
	"Name: signme\nVersion: 1.0\nRelease: 1\nSummary: s\nLicense: MIT\n"
	"BuildArch: noarch\n%description\ns\n"
	"%install\nmkdir -p %{buildroot}/usr/share/signme\n"
	"echo x > %{buildroot}/usr/share/signme/x\n"
	"%files\n/usr/share/signme\n";

/* Made once for every test: keys and packages. */
struct world {
	char *tmp;
	char *key;       /* secret key without passphrase, mode 0600 */
	char *pub;       /* its public key */
	char *protected; /* a secret key with a passphrase */
	char *public_only; /* a public key in a file named like a secret one */
	char *rpm;       /* binary package */
	char *srpm;      /* source package */
};

/* One test: its own state and temporary directory. */
struct fixture {
	struct world *w;
	char *dir;
	char *state;
	char *tmpdir;   /* $TMPDIR while the test runs: where homes are made */
};

static char *sh_out(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char buf[4096];
	size_t n;

	assert_non_null(p);
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	pclose(p);
	return sy_xstrdup(buf);
}

static int group_setup(void **state)
{
	struct world *w = sy_xcalloc(1, sizeof(*w));
	struct sy_error err = { { 0 } };

	w->tmp = test_tmpdir();
	w->key = sy_xasprintf("%s/secret.asc", w->tmp);
	w->pub = sy_xasprintf("%s/public.asc", w->tmp);
	w->protected = sy_xasprintf("%s/protected.asc", w->tmp);
	w->public_only = sy_xasprintf("%s/public-only.asc", w->tmp);
	char *cmd = sy_xasprintf(
		"set -e; export GNUPGHOME=%1$s/keyhome; mkdir -m 700 $GNUPGHOME; "
		"gpg -q --batch --passphrase '' --quick-gen-key 'signer <s@t.invalid>' default "
		"default never 2>/dev/null; "
		"gpg -q --batch --armor --export-secret-keys > %2$s; chmod 600 %2$s; "
		"gpg -q --batch --armor --export > %3$s; cp %3$s %5$s; chmod 600 %5$s; "
		"export GNUPGHOME=%1$s/prothome; mkdir -m 700 $GNUPGHOME; "
		/* A small passphrase hash count: the agent's default takes
		 * seconds on a loaded machine. */
		"echo 's2k-count 65536' > $GNUPGHOME/gpg-agent.conf; "
		"gpg -q --batch --pinentry-mode loopback --passphrase secret "
		"--quick-gen-key 'locked <l@t.invalid>' ed25519 sign never 2>/dev/null; "
		"gpg -q --batch --pinentry-mode loopback --passphrase secret --armor "
		"--export-secret-keys > %4$s; chmod 600 %4$s; "
		"gpgconf --homedir %1$s/keyhome --kill all; gpgconf --homedir %1$s/prothome --kill all",
		w->tmp, w->key, w->pub, w->protected, w->public_only);
	test_sh(cmd);
	free(cmd);
	char *spec = sy_xasprintf("%s/signme.spec", w->tmp);
	if (sy_write_file(spec, test_spec, strlen(test_spec), 0644, &err))
		fail_msg("%s", err.msg);
	cmd = sy_xasprintf("rpmbuild -ba --quiet --define '_topdir %s/rpmbuild' "
			   "--define '_build_id_links none' %s >/dev/null 2>&1", w->tmp, spec);
	test_sh(cmd);
	free(cmd);
	free(spec);
	w->rpm = sy_xasprintf("%s/rpmbuild/RPMS/noarch/signme-1.0-1.noarch.rpm", w->tmp);
	w->srpm = sy_xasprintf("%s/rpmbuild/SRPMS/signme-1.0-1.src.rpm", w->tmp);
	*state = w;
	return 0;
}

static int group_teardown(void **state)
{
	struct world *w = *state;

	sy_rm_rf(w->tmp, NULL);
	free(w->tmp);
	free(w->key);
	free(w->pub);
	free(w->protected);
	free(w->public_only);
	free(w->rpm);
	free(w->srpm);
	free(w);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));

	f->w = *state;
	f->dir = test_tmpdir();
	f->state = sy_xasprintf("%s/state", f->dir);
	f->tmpdir = sy_xasprintf("%s/tmp", f->dir);
	assert_int_equal(sy_mkdir_p(f->state, 0755, NULL), 0);
	assert_int_equal(sy_mkdir_p(f->tmpdir, 0755, NULL), 0);
	setenv("TMPDIR", f->tmpdir, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	*state = f->w;
	unsetenv("TMPDIR");
	sy_rm_rf(f->dir, NULL);
	free(f->dir);
	free(f->state);
	free(f->tmpdir);
	free(f);
	return 0;
}

static struct repo_signer *open_signer(const struct fixture *f)
{
	struct repo_signer *s = NULL;
	struct sy_error err = { { 0 } };

	assert_ok(repo_signer_open(f->w->key, f->state, &s, &err), &err);
	return s;
}

static void digest(const char *path, char hex[SY_SHA256_HEX_LEN + 1])
{
	struct sy_error err = { { 0 } };

	assert_ok(sy_sha256_file(path, hex, &err), &err);
}

/* rpmkeys --checksig of path against the public key only, in a private
 * rpmdb: 1 when its signature verifies, 0 when not (then what rpmkeys
 * said is printed when expected says it should have verified: this check
 * failed once under load, with nothing to tell why). */
static int rpm_signature_ok(const struct fixture *f, const char *path, int expected)
{
	char *cmd = sy_xasprintf("db=%1$s/rpmdb; mkdir -p $db; "
				 "rpmkeys --dbpath $db --import %2$s && "
				 "rpmkeys --dbpath $db --checksig -v %3$s 2>&1",
				 f->dir, f->w->pub, path);
	char *out = sh_out(cmd);
	int ok = strstr(out, "Signature, key ID") && strstr(out, ": OK") &&
		 !strstr(out, "NOKEY") && !strstr(out, "BAD");

	if (!ok && expected)
		print_message("rpmkeys on %s said:\n%s\n", path, out);
	free(out);
	free(cmd);
	return ok;
}

static void test_sign_packages_signs_copies_and_leaves_the_originals(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	struct repo_signer *s = open_signer(f);
	struct sy_strv paths = SY_STRV_INIT;
	char before[SY_SHA256_HEX_LEN + 1], after[SY_SHA256_HEX_LEN + 1];
	char *cache = sy_xasprintf("%s/signed/%s/", f->state, repo_signer_fingerprint(s));

	digest(f->w->rpm, before);
	sy_strv_push(&paths, f->w->rpm);
	sy_strv_push(&paths, f->w->srpm);
	assert_ok(repo_signer_sign_packages(s, f->state, &paths, &err), &err);
	assert_int_equal(paths.n, 2);
	digest(f->w->rpm, after);
	assert_string_equal(before, after);
	assert_false(rpm_signature_ok(f, f->w->rpm, 0));
	for (size_t i = 0; i < paths.n; i++) {
		assert_memory_equal(paths.items[i], cache, strlen(cache));
		assert_true(rpm_signature_ok(f, paths.items[i], 1));
	}
	assert_string_equal(sy_base_name(paths.items[0]), "signme-1.0-1.noarch.rpm");
	assert_string_equal(sy_base_name(paths.items[1]), "signme-1.0-1.src.rpm");
	repo_signer_close(s);
	sy_strv_release(&paths);
	free(cache);
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

/* Publishing the same set again must give the same files, whether the set
 * names the artifacts or the signed files of a snapshot: else every
 * publication would make a snapshot. */
static void test_sign_packages_finds_the_same_copies_again(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	struct repo_signer *s = open_signer(f);
	struct sy_strv first = SY_STRV_INIT, second = SY_STRV_INIT, again = SY_STRV_INIT;
	char *snap_dir = sy_xasprintf("%s/snapshot", f->dir);
	char *snap_copy = sy_xasprintf("%s/signme-1.0-1.noarch.rpm", snap_dir);

	sy_strv_push(&first, f->w->rpm);
	sy_strv_push(&second, f->w->rpm);
	assert_ok(repo_signer_sign_packages(s, f->state, &first, &err), &err);
	repo_signer_close(s);
	s = open_signer(f);
	assert_ok(repo_signer_sign_packages(s, f->state, &second, &err), &err);
	assert_string_equal(first.items[0], second.items[0]);
	/* A snapshot's file is a hard link of the copy, of the same name. */
	assert_int_equal(sy_mkdir_p(snap_dir, 0755, NULL), 0);
	assert_int_equal(link(first.items[0], snap_copy), 0);
	sy_strv_push(&again, snap_copy);
	assert_ok(repo_signer_sign_packages(s, f->state, &again, &err), &err);
	assert_int_equal(inode_of(again.items[0]), inode_of(first.items[0]));
	repo_signer_close(s);
	sy_strv_release(&first);
	sy_strv_release(&second);
	sy_strv_release(&again);
	free(snap_copy);
	free(snap_dir);
}

static void test_sign_snapshot_signs_repomd_and_publishes_the_public_key(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	struct repo_signer *s = open_signer(f);
	struct sy_strv paths = SY_STRV_INIT;
	char *repos = sy_xasprintf("%s/repos", f->state), *snap = NULL, *plain = NULL;

	sy_strv_push(&paths, f->w->rpm);
	sy_strv_push(&paths, f->w->srpm);
	assert_ok(repo_signer_sign_packages(s, f->state, &paths, &err), &err);
	struct repo_publish_options opts = { .signer = s };
	assert_ok(repo_publish_snapshot_with(repos, "signed", (const char *const *)paths.items,
					     &opts, &snap, NULL, &err),
		  &err);
	repo_signer_close(s);
	assert_true(repo_sign_snapshot_signed(snap));
	char *cmd = sy_xasprintf(
		"set -e; export GNUPGHOME=%1$s/verify; mkdir -m 700 $GNUPGHOME; "
		"gpg -q --batch --import %2$s/" REPO_SIGN_KEY_FILE " 2>/dev/null; "
		"gpg -q --batch --verify %2$s/repodata/repomd.xml.asc %2$s/repodata/repomd.xml "
		"2>/dev/null; "
		"gpg -q --batch --verify %2$s/SRPMS/repodata/repomd.xml.asc "
		"%2$s/SRPMS/repodata/repomd.xml 2>/dev/null; "
		"echo '<!-- changed -->' >> %2$s/repodata/repomd.xml; "
		"! gpg -q --batch --verify %2$s/repodata/repomd.xml.asc %2$s/repodata/repomd.xml "
		"2>/dev/null; gpgconf --homedir $GNUPGHOME --kill all",
		f->dir, snap);
	test_sh(cmd);
	free(cmd);
	/* Unsigned publication: no signature, no key. */
	const char *const rpms[] = { f->w->rpm, NULL };
	assert_ok(repo_publish_snapshot(repos, "plain", rpms, &plain, &err), &err);
	assert_false(repo_sign_snapshot_signed(plain));
	assert_false(repo_sign_snapshot_signed(NULL));
	sy_strv_release(&paths);
	free(snap);
	free(plain);
	free(repos);
}

/* A signed copy stays while a snapshot (or a release, a hard link of a
 * snapshot's file) links to it, and goes with the last one: the cache must
 * not grow with every package ever signed. */
static void test_signed_collect_removes_copies_nothing_links_to(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	struct repo_signer *s = open_signer(f);
	struct sy_strv paths = SY_STRV_INIT, removed = SY_STRV_INIT;
	char *release = sy_xasprintf("%s/release.rpm", f->dir);

	sy_strv_push(&paths, f->w->rpm);
	sy_strv_push(&paths, f->w->srpm);
	assert_ok(repo_signer_sign_packages(s, f->state, &paths, &err), &err);
	char *rpm_dir = sy_xstrndup(paths.items[0], strlen(paths.items[0]) -
							 strlen(sy_base_name(paths.items[0])) - 1);
	/* A release links the binary package; nothing links the source one. */
	assert_int_equal(link(paths.items[0], release), 0);
	assert_ok(repo_signed_collect(f->state, &removed, &err), &err);
	assert_int_equal(removed.n, 1);
	char *want = sy_xasprintf("%s/signme-1.0-1.src.rpm", repo_signer_fingerprint(s));
	assert_string_equal(removed.items[0], want);
	assert_false(sy_exists(paths.items[1]));
	assert_true(sy_exists(paths.items[0]));
	/* The release goes: so does the copy, with both its cache links. */
	assert_int_equal(unlink(release), 0);
	assert_ok(repo_signed_collect(f->state, &removed, &err), &err);
	assert_int_equal(removed.n, 2);
	assert_false(sy_exists(paths.items[0]));
	assert_false(sy_exists(rpm_dir));
	char *cmd = sy_xasprintf("test -z \"$(find %s/signed -type f)\"", f->state);
	test_sh(cmd);
	repo_signer_close(s);
	sy_strv_release(&paths);
	sy_strv_release(&removed);
	free(cmd);
	free(want);
	free(rpm_dir);
	free(release);
}

/* Opening key_file fails with one line that names it and says reason. */
static void expect_refused(const struct fixture *f, const char *key_file, const char *reason)
{
	struct repo_signer *s = (struct repo_signer *)1;
	struct sy_error err = { { 0 } };

	assert_int_equal(repo_signer_open(key_file, f->state, &s, &err), -1);
	assert_null(s);
	if (!strstr(err.msg, key_file) || !strstr(err.msg, reason) || strchr(err.msg, '\n'))
		fail_msg("'%s' does not name %s and '%s'", err.msg, key_file, reason);
}

static void test_signer_open_refuses_bad_keys_naming_the_file(void **state)
{
	struct fixture *f = *state;
	char *missing = sy_xasprintf("%s/missing.asc", f->dir);
	char *garbage = sy_xasprintf("%s/garbage.asc", f->dir);
	char *inside = sy_xasprintf("%s/key.asc", f->state);
	char *cmd = sy_xasprintf("echo not a key > %s; cp %s %s", garbage, f->w->key, inside);

	test_sh(cmd);
	expect_refused(f, missing, "cannot read");
	expect_refused(f, garbage, "not an OpenPGP secret key");
	expect_refused(f, f->w->public_only, "no secret key");
	expect_refused(f, f->w->protected, "cannot sign");
	expect_refused(f, inside, "inside the state directory");
	/* Nothing is left of the homes the refused keys were imported into. */
	struct sy_strv left = SY_STRV_INIT;
	sy_list_dir(f->tmpdir, &left);
	assert_int_equal(left.n, 0);
	sy_strv_release(&left);
	free(cmd);
	free(missing);
	free(garbage);
	free(inside);
}

/* The imported key lives only in the private home, which is gone with its
 * gpg-agent once the signer is closed; the state directory never holds it. */
static void test_signer_close_removes_the_key_and_its_agent(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	struct repo_signer *s = open_signer(f);
	struct sy_strv homes = SY_STRV_INIT, paths = SY_STRV_INIT;

	sy_list_dir(f->tmpdir, &homes);
	assert_int_equal(homes.n, 1);
	char *home = sy_xasprintf("%s/%s", f->tmpdir, homes.items[0]);
	struct stat st;
	assert_int_equal(stat(home, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	sy_strv_push(&paths, f->w->rpm);
	assert_ok(repo_signer_sign_packages(s, f->state, &paths, &err), &err);
	repo_signer_close(s);
	assert_false(sy_exists(home));
	/* [g]: the pattern does not match the shell that runs pgrep. */
	char *cmd = sy_xasprintf("pgrep -f '[g]pg-agent.*%s' >/dev/null", home);
	assert_int_not_equal(system(cmd), 0);
	free(cmd);
	/* No file of the state directory holds a line of the secret key that
	 * the public key does not have too. */
	cmd = sy_xasprintf("grep -vxFf %1$s %2$s | grep -E '^.{64}$' > %3$s/secret-lines && "
			   "test -s %3$s/secret-lines && ! grep -rqFf %3$s/secret-lines %4$s",
			   f->w->pub, f->w->key, f->dir, f->state);
	test_sh(cmd);
	free(cmd);
	free(home);
	sy_strv_release(&homes);
	sy_strv_release(&paths);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sign_packages_signs_copies_and_leaves_the_originals,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_packages_finds_the_same_copies_again, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_sign_snapshot_signs_repomd_and_publishes_the_public_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signed_collect_removes_copies_nothing_links_to,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_signer_open_refuses_bad_keys_naming_the_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_signer_close_removes_the_key_and_its_agent,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
