/* imager/accounts, imager/rootfile, imager/cmdline and imager/customize:
 * a config's users, files and kernel command line applied to a root
 * directory (the steps that need the sandbox, scripts and RemoveRpmDb, are
 * tests/integration/test_image_config.sh's). Ownership checks need root. */
#include "testutil.h"

#include <crypt.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "imager/accounts.h"
#include "imager/cmdline.h"
#include "imager/customize.h"
#include "imager/disk.h"
#include "imager/imagevalidate.h"
#include "imager/rootfile.h"

#define KEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define EPOCH 1700000000LL

static int read_under(void *arg, const char *path, char **data, size_t *len,
		      struct sy_error *err)
{
	char *full = sy_xasprintf("%s/%s", (const char *)arg, path);
	int rc = sy_read_file(full, data, len, err);

	free(full);
	return rc;
}

/* Parses the config with the SystemConfigs[0] members sys (JSON text) and
 * loads its files from dir (NULL: not loaded). */
static int parse(const char *dir, const char *disk, const char *sys, struct imager_config *cfg,
		 struct sy_error *err)
{
	char *json = sy_xasprintf("{\"Disks\": [{%s}], \"SystemConfigs\": [{\"Name\": \"S\", "
				  "\"Packages\": [\"shadow-utils\", \"dracut-fips\", "
				  "\"selinux-policy\"]%s%s}]}",
				  disk, sys[0] ? ", " : "", sys);
	int rc = imager_config_parse("cfg/x.json", json, read_under, (void *)dir, cfg, err);

	if (rc == 0 && dir && (rc = imager_config_load_files(cfg, read_under, (void *)dir, err)))
		imager_config_release(cfg);
	free(json);
	return rc;
}

static const char rootfs_disk[] = "\"Artifacts\": [{\"Name\": \"r\", \"Compression\": \"tar.gz\"}]";

static const char base_passwd[] = "root:x:0:0:root:/root:/bin/bash\n"
				  "daemon:x:2:2:daemon:/sbin:/sbin/nologin\n";
static const char base_shadow[] = "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n";
static const char base_group[] = "root:x:0:\ndaemon:x:2:\nwheel:x:10:\n";

static void accounts_of(struct imager_accounts *acc)
{
	acc->passwd = sy_xstrdup(base_passwd);
	acc->shadow = sy_xstrdup(base_shadow);
	acc->group = sy_xstrdup(base_group);
	acc->gshadow = sy_xstrdup("root:::\nwheel:::\n");
}

static void assert_contains(const char *text, const char *line)
{
	if (!strstr(text, line))
		fail_msg("\"%s\" not in:\n%s", line, text);
}

static void test_accounts_adds_groups_and_users_with_shadow_utils_defaults(void **state)
{
	(void)state;
	struct sy_error err = { { 0 } };
	struct imager_config cfg;
	struct imager_accounts acc = { 0 };
	struct imager_account_user *users;

	assert_ok(parse("/nonexistent", rootfs_disk,
			"\"Groups\": [{\"Name\": \"staff\", \"GID\": \"1200\"}, {\"Name\": \"ops\"}], "
			"\"Users\": [{\"Name\": \"alice\", \"PasswordHashed\": true, "
			"\"Password\": \"$6$salt$hash\", \"SecondaryGroups\": [\"wheel\", \"ops\"]}, "
			"{\"Name\": \"bob\", \"UID\": \"1500\", \"PrimaryGroup\": \"staff\", "
			"\"PasswordExpiresDays\": 90, \"StartupCommand\": \"/bin/sh\", "
			"\"HomeDirectory\": \"/srv/bob\"}, {\"Name\": \"carol\"}]",
			&cfg, &err), &err);
	accounts_of(&acc);
	assert_ok(imager_accounts_apply(&acc, &cfg.systems[0], KEY, EPOCH, &users, &err), &err);
	/* ops takes the first free GID, alice the first free UID and a group
	 * of her own with the same id, bob the group he names. */
	assert_contains(acc.group, "\nstaff:x:1200:\n");
	assert_contains(acc.group, "\nops:x:1000:alice\n");
	assert_contains(acc.group, "\nwheel:x:10:alice\n");
	assert_contains(acc.group, "\nalice:x:1001:\n");
	assert_contains(acc.passwd, "\nalice:x:1000:1001::/home/alice:/bin/bash\n");
	assert_contains(acc.passwd, "\nbob:x:1500:1200::/srv/bob:/bin/sh\n");
	assert_contains(acc.passwd, "\ncarol:x:1001:1002::/home/carol:/bin/bash\n");
	assert_contains(acc.shadow, "\nalice:$6$salt$hash:19675:0:99999:7:::\n");
	assert_contains(acc.shadow, "\nbob:!:19675:0:90:7:::\n");
	assert_contains(acc.gshadow, "wheel:::alice\n");
	assert_contains(acc.gshadow, "ops:!::alice\n");
	assert_int_equal(strncmp(acc.passwd, base_passwd, strlen(base_passwd)), 0);
	assert_int_equal(users[1].uid, 1500);
	assert_int_equal(users[1].gid, 1200);
	assert_string_equal(users[1].home, "/srv/bob");
	assert_true(users[0].is_new);
	imager_account_users_free(users, cfg.systems[0].nusers);
	imager_accounts_release(&acc);
	imager_config_release(&cfg);
}

static void test_accounts_hashes_plain_password_reproducibly(void **state)
{
	(void)state;
	struct sy_error err = { { 0 } };
	char *a = imager_password_hash("s3cret", KEY, "alice", &err);
	char *b = imager_password_hash("s3cret", KEY, "alice", &err);
	char *other = imager_password_hash("s3cret", KEY, "bob", &err);
	struct crypt_data *cd = calloc(1, sizeof(*cd));

	assert_non_null(a);
	assert_string_equal(a, b);
	assert_int_equal(strncmp(a, "$6$", 3), 0);
	assert_string_not_equal(a, other);
	/* What login would compute from the password and the stored hash. */
	assert_string_equal(crypt_r("s3cret", a, cd), a);
	assert_string_not_equal(crypt_r("wrong", a, cd), a);
	free(cd);
	free(a);
	free(b);
	free(other);
}

static void test_accounts_root_gets_password_shell_and_expiry(void **state)
{
	(void)state;
	struct sy_error err = { { 0 } };
	struct imager_config cfg;
	struct imager_accounts acc = { 0 };
	struct imager_account_user *users;

	assert_ok(parse("/nonexistent", rootfs_disk,
			"\"Users\": [{\"Name\": \"root\", \"Password\": \"pw\", "
			"\"PasswordExpiresDays\": 30, \"StartupCommand\": \"/bin/zsh\"}]",
			&cfg, &err), &err);
	accounts_of(&acc);
	assert_ok(imager_accounts_apply(&acc, &cfg.systems[0], KEY, EPOCH, &users, &err), &err);
	assert_int_equal(strncmp(acc.passwd, "root:x:0:0:root:/root:/bin/zsh\n", 31), 0);
	assert_int_equal(strncmp(acc.shadow, "root:$6$", 8), 0);
	assert_contains(acc.shadow, ":19675:0:30:7:::\n");
	assert_false(users[0].is_new);
	assert_string_equal(users[0].home, "/root");
	imager_account_users_free(users, 1);
	imager_accounts_release(&acc);
	imager_config_release(&cfg);
}

static void expect_apply_error(const char *users, const char *want)
{
	struct sy_error err = { { 0 } };
	struct imager_config cfg;
	struct imager_accounts acc = { 0 };
	struct imager_account_user *out = NULL;

	assert_ok(parse("/nonexistent", rootfs_disk, users, &cfg, &err), &err);
	accounts_of(&acc);
	assert_int_equal(imager_accounts_apply(&acc, &cfg.systems[0], KEY, EPOCH, &out, &err), -1);
	if (!strstr(err.msg, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg, want);
	assert_null(out);
	/* Nothing half-applied. */
	assert_string_equal(acc.passwd, base_passwd);
	imager_accounts_release(&acc);
	imager_config_release(&cfg);
}

static void test_accounts_refuse_taken_ids_and_unknown_groups(void **state)
{
	(void)state;
	expect_apply_error("\"Users\": [{\"Name\": \"x\", \"UID\": \"2\"}]",
			   "Users[0]: UID 2 is taken by daemon");
	expect_apply_error("\"Users\": [{\"Name\": \"x\", \"SecondaryGroups\": [\"nope\"]}]",
			   "Users[0]: SecondaryGroups: no group nope");
	expect_apply_error("\"Users\": [{\"Name\": \"x\", \"PrimaryGroup\": \"nope\"}]",
			   "Users[0]: PrimaryGroup: no group nope");
	expect_apply_error("\"Groups\": [{\"Name\": \"g\", \"GID\": 10}]",
			   "Groups[0]: GID 10 is taken by group wheel");
	expect_apply_error("\"Users\": [{\"Name\": \"Bad:Name\"}]",
			   "Users[0]: Name \"Bad:Name\" is not a valid user name");
}

/* A root whose /etc is a link to "/" and with a link pointing two levels
 * above it, inside a directory that also holds a file the writes must not
 * reach. */
static char *hostile_root(char **outside)
{
	char *top = test_tmpdir();
	char *root = sy_xasprintf("%s/root", top);
	char *cmd = sy_xasprintf("mkdir -p %s/root/outside %s/outside && ln -s / %s/etc && "
				 "ln -s ../../outside %s/up && ln -s /proc/self/root %s/magic",
				 top, top, root, root, root);

	test_sh(cmd);
	free(cmd);
	*outside = sy_xasprintf("%s/outside", top);
	free(top);
	return root;
}

static void test_rootfile_writes_stay_in_the_root(void **state)
{
	(void)state;
	struct sy_error err = { { 0 } };
	const struct imager_root_meta m = { 0640, 0, 0, EPOCH };
	char *outside, *root = hostile_root(&outside);
	int fd = open(root, O_RDONLY | O_DIRECTORY);
	char *path;
	struct stat st;

	assert_true(fd >= 0);
	/* /etc -> / is followed inside the root. */
	assert_ok(imager_root_write(fd, "/etc/a", "A", 1, &m, &err), &err);
	path = sy_xasprintf("%s/a", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_mtime, EPOCH);
	free(path);
	/* ".." stops at the root: up -> ../../outside is <root>/outside. */
	assert_ok(imager_root_write(fd, "/up/b", "B", 1, &m, &err), &err);
	assert_ok(imager_root_write(fd, "/../../../c", "C", 1, &m, &err), &err);
	path = sy_xasprintf("%s/outside/b", root);
	assert_true(sy_exists(path));
	free(path);
	path = sy_xasprintf("%s/c", root);
	assert_true(sy_exists(path));
	free(path);
	path = sy_xasprintf("%s/b", outside);
	assert_false(sy_exists(path));
	free(path);
	/* A /proc magic link is refused, not followed. */
	assert_int_equal(imager_root_write(fd, "/magic/tmp/d", "D", 1, &m, &err), -1);
	/* A link at the destination is replaced, not written through. */
	path = sy_xasprintf("%s/victim", outside);
	char *cmd = sy_xasprintf("echo keep >%s && ln -s %s %s/e", path, path, root);
	test_sh(cmd);
	free(cmd);
	assert_ok(imager_root_write(fd, "/e", "E", 1, &m, &err), &err);
	char *text = NULL;
	assert_ok(sy_read_file(path, &text, NULL, &err), &err);
	assert_string_equal(text, "keep\n");
	free(text);
	free(path);
	close(fd);
	path = sy_xasprintf("%s/..", root);
	sy_rm_rf(path, &err);
	free(path);
	free(outside);
	free(root);
}

static void test_cmdline_names_root_and_kernel_options(void **state)
{
	(void)state;
	struct sy_error err = { { 0 } };
	struct imager_config cfg;
	struct imager_disk_layout l;
	char uuid[37], *line, *want;

	assert_ok(parse("/nonexistent",
			"\"PartitionTableType\": \"gpt\", \"MaxSize\": 64, "
			"\"Artifacts\": [{\"Name\": \"d\", \"Type\": \"raw\"}], "
			"\"Partitions\": [{\"ID\": \"boot\", \"Start\": 1, \"End\": 9, "
			"\"FsType\": \"ext4\"}, {\"ID\": \"root\", \"Start\": 9, \"End\": 0, "
			"\"FsType\": \"ext4\"}]",
			"\"KernelOptions\": {\"default\": \"kernel\"}, \"PartitionSettings\": ["
			"{\"ID\": \"boot\", \"MountPoint\": \"/boot\", \"MountIdentifier\": \"uuid\"}, "
			"{\"ID\": \"root\", \"MountPoint\": \"/\"}], \"KernelCommandLine\": {"
			"\"CGroup\": \"version_two\", \"ImaPolicy\": [\"tcb\"], \"EnableFIPS\": true, "
			"\"ExtraCommandLine\": \"console=ttyS0 quiet\"}",
			&cfg, &err), &err);
	assert_ok(imager_config_check_support(&cfg, &err), &err);
	assert_ok(imager_disk_layout(&cfg, KEY, &l, &err), &err);
	line = imager_kernel_cmdline(&cfg, &l);
	imager_derive_uuid(KEY, "partuuid/root", uuid);
	want = sy_xasprintf("root=PARTUUID=%s ro selinux=0 fips=1 boot=UUID=%s "
			    "systemd.unified_cgroup_hierarchy=1 ima_policy=tcb console=ttyS0 quiet",
			    uuid, l.parts[0].fs_uuid);
	assert_string_equal(line, want);
	free(want);
	free(line);
	/* Without a disk: no root=. */
	line = imager_kernel_cmdline(&cfg, NULL);
	assert_string_equal(line, "ro selinux=0 fips=1 systemd.unified_cgroup_hierarchy=1 "
				  "ima_policy=tcb console=ttyS0 quiet");
	free(line);
	imager_disk_layout_release(&l);
	imager_config_release(&cfg);
}

static void expect_support(const char *sys, const char *want)
{
	struct sy_error err = { { 0 } };
	struct imager_config cfg;
	int rc;

	assert_ok(parse(NULL, rootfs_disk, sys, &cfg, &err), &err);
	rc = imager_config_check_support(&cfg, &err);
	if (!want)
		assert_ok(rc, &err);
	else if (rc == 0 || !strstr(err.msg, want))
		fail_msg("\"%s\": %s, want \"%s\"", sys, rc ? err.msg : "accepted", want);
	imager_config_release(&cfg);
}

static void test_support_accepts_applied_fields_and_refuses_the_rest(void **state)
{
	(void)state;
	expect_support("\"Hostname\": \"box\", \"RemoveRpmDb\": true, \"DisableRpmDocs\": true, "
		       "\"Users\": [{\"Name\": \"a\"}], \"Groups\": [{\"Name\": \"g\"}], "
		       "\"KernelCommandLine\": {\"ExtraCommandLine\": \"quiet\"}", NULL);
	expect_support("\"KernelCommandLine\": {\"SELinux\": \"enforcing\"}",
		       "KernelCommandLine.SELinux: not supported");
	expect_support("\"Networks\": [{\"Device\": \"eth0\"}]", "Networks: not supported");
	expect_support("\"Encryption\": {\"Enable\": true}", "Encryption: not supported");
	expect_support("\"AdditionalFiles\": {\"f\": \"/etc/\"}", "does not name a file");
	expect_support("\"Users\": [{\"Name\": \"a\", \"PasswordHashed\": true, "
		       "\"Password\": \"x:y\"}]", "Password: not a crypt(3) hash");
}

static void test_customize_applies_hostname_users_keys_and_files(void **state)
{
	(void)state;
	struct sy_error err = { { 0 } };
	struct imager_config cfg;
	char *dir = test_tmpdir(), *root = sy_xasprintf("%s/root", dir), *text = NULL, *path;
	struct stat st;
	struct sy_strv nevras = SY_STRV_INIT;

	test_write_file(dir, "cfg/keys/a.pub", "ssh-ed25519 AAAA a@host\n");
	test_write_file(dir, "cfg/files/motd", "welcome\n");
	test_write_file(dir, "root/etc/passwd", base_passwd);
	test_write_file(dir, "root/etc/shadow", base_shadow);
	test_write_file(dir, "root/etc/group", base_group);
	test_write_file(dir, "root/etc/skel/.profile", "export PS1='$ '\n");
	assert_ok(parse(dir, rootfs_disk,
			"\"Hostname\": \"box\", \"DisableRpmDocs\": true, "
			"\"Users\": [{\"Name\": \"alice\", \"UID\": 1100, "
			"\"SSHPubKeyPaths\": [\"keys/a.pub\"], \"SSHPubKeys\": [\"ssh-rsa BBBB b\"]}], "
			"\"AdditionalFiles\": {\"files/motd\": [\"/etc/motd\", "
			"{\"Path\": \"/opt/x/motd\", \"Permissions\": \"0640\"}]}, "
			"\"KernelCommandLine\": {\"ExtraCommandLine\": \"quiet\"}",
			&cfg, &err), &err);
	const struct imager_customize c = { .cfg = &cfg, .key = KEY, .epoch = EPOCH,
					    .fstab = "/dev/sda1 / ext4 defaults 0 1\n",
					    .cmdline = "ro quiet", .nevras = &nevras, .log_fd = -1 };
	int fd = open(root, O_RDONLY | O_DIRECTORY);
	assert_ok(imager_customize_root(&c, fd, &err), &err);
	close(fd);

	path = sy_xasprintf("%s/etc/hostname", root);
	assert_ok(sy_read_file(path, &text, NULL, &err), &err);
	assert_string_equal(text, "box\n");
	free(text);
	free(path);
	path = sy_xasprintf("%s/etc/passwd", root);
	assert_ok(sy_read_file(path, &text, NULL, &err), &err);
	assert_contains(text, "alice:x:1100:1100::/home/alice:/bin/bash\n");
	free(text);
	free(path);
	path = sy_xasprintf("%s/etc/shadow", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0);
	free(path);
	path = sy_xasprintf("%s/home/alice", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_uid, 1100);
	free(path);
	path = sy_xasprintf("%s/home/alice/.profile", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 1100);
	assert_int_equal(st.st_mode & 07777, 0644);
	free(path);
	path = sy_xasprintf("%s/home/alice/.ssh", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_uid, 1100);
	assert_int_equal(st.st_gid, 1100);
	free(path);
	path = sy_xasprintf("%s/home/alice/.ssh/authorized_keys", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, 1100);
	assert_ok(sy_read_file(path, &text, NULL, &err), &err);
	assert_string_equal(text, "ssh-ed25519 AAAA a@host\nssh-rsa BBBB b\n");
	free(text);
	free(path);
	path = sy_xasprintf("%s/etc/motd", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	free(path);
	path = sy_xasprintf("%s/opt/x/motd", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_mtime, EPOCH);
	free(path);
	path = sy_xasprintf("%s/etc/kernel/cmdline", root);
	assert_ok(sy_read_file(path, &text, NULL, &err), &err);
	assert_string_equal(text, "ro quiet\n");
	free(text);
	free(path);
	path = sy_xasprintf("%s/etc/fstab", root);
	assert_true(sy_exists(path));
	free(path);
	path = sy_xasprintf("%s/etc/rpm/macros.image-nodocs", root);
	assert_ok(sy_read_file(path, &text, NULL, &err), &err);
	assert_contains(text, "%_excludedocs 1\n");
	free(text);
	free(path);
	imager_config_release(&cfg);
	sy_rm_rf(dir, &err);
	free(root);
	free(dir);
}

static void test_customize_names_missing_applied_file(void **state)
{
	(void)state;
	struct sy_error err = { { 0 } };
	struct imager_config cfg;
	char *dir = test_tmpdir();

	assert_int_equal(parse(dir, rootfs_disk, "\"PostInstallScripts\": [{\"Path\": "
				"\"scripts/none.sh\"}]", &cfg, &err), -1);
	assert_contains(err.msg, "cfg/x.json: SystemConfigs[0].PostInstallScripts[0]");
	assert_contains(err.msg, "cfg/scripts/none.sh");
	sy_rm_rf(dir, &err);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accounts_adds_groups_and_users_with_shadow_utils_defaults),
		cmocka_unit_test(test_accounts_hashes_plain_password_reproducibly),
		cmocka_unit_test(test_accounts_root_gets_password_shell_and_expiry),
		cmocka_unit_test(test_accounts_refuse_taken_ids_and_unknown_groups),
		cmocka_unit_test(test_rootfile_writes_stay_in_the_root),
		cmocka_unit_test(test_cmdline_names_root_and_kernel_options),
		cmocka_unit_test(test_support_accepts_applied_fields_and_refuses_the_rest),
		cmocka_unit_test(test_customize_applies_hostname_users_keys_and_files),
		cmocka_unit_test(test_customize_names_missing_applied_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
