/* Unit tests of sandbox/sandbox.h: what the work sees inside a sandbox,
 * with a fresh root (as spec parsing uses it) and with an existing root
 * (as builds and image installs use it). Need root; skipped otherwise. */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <glob.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>

#include <linux/magic.h>

#include "common/child.h"
#include "sandbox/cgroup.h"
#include "sandbox/sandbox.h"
#include "sandbox/sizedfs.h"

/* Where the work writes what it saw (the test's capture pipe). */
#define REPORT_FD 3

static const struct sandbox_user nobody = { "nobody", 65534, 65534, NULL, 0 };
static const char *const work_env[] = { "PATH=/usr/bin:/bin", "HOME=/", NULL };

static int report_failure(void *arg, const struct sy_error *err)
{
	(void)arg;
	dprintf(REPORT_FD, "failed: %s\n", err->msg);
	return 9;
}

/* Writes "<name> yes|no" for a check. */
static void say(const char *name, int yes)
{
	dprintf(REPORT_FD, "%s %s\n", name, yes ? "yes" : "no");
}

/* The work in a fresh root: who and where it is. */
static int look_around_fresh(void *arg)
{
	char host[64] = "";
	int fd;

	(void)arg;
	gethostname(host, sizeof(host));
	dprintf(REPORT_FD, "pid %ld uid %ld host %s home %s secret %s\n", (long)getpid(),
		(long)getuid(), host, getenv("HOME"), getenv("SHIPYARD_TEST_SECRET") ?: "-");
	fd = open("/planted", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	say("root-writable", fd >= 0);
	say("root-read-only", fd < 0 && errno == EROFS);
	fd = open("/tmp/x", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	say("tmp-writable", fd >= 0);
	say("usr-readable", access("/usr/bin", R_OK) == 0);
	return 0;
}

static int sandbox_child(void *arg)
{
	const struct sandbox_config *cfg = arg;
	int status = sandbox_run(cfg);

	/* Its root is still the host's: the root's path is reachable. */
	if (cfg->fn_fd < 0)
		say("caller-root-kept", access(cfg->root, F_OK) == 0);
	return status;
}

/* Runs fn(arg) in a child that reports on REPORT_FD and returns the
 * report; *status is the child's status. Skips the test unless run as
 * root. */
static char *run_reporting(int (*fn)(void *), void *arg, int *status)
{
	struct sy_child c = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };
	char *out;

	if (geteuid() != 0)
		skip();
	c.child_fn = fn;
	c.child_arg = arg;
	c.capture = 1;
	c.capture_at = REPORT_FD;
	c.close_fds = 1;
	c.timeout_s = 60;
	assert_ok(sy_child_run(&c, &err), &err);
	*status = c.status;
	out = c.out;
	c.out = NULL;
	return out;
}

/* Runs cfg in a child (sandbox_run changes the caller's namespaces) and
 * returns what the work reported; *status is the child's status. */
static char *run_sandbox(struct sandbox_config *cfg, int *status)
{
	return run_reporting(sandbox_child, cfg, status);
}

/* Frees a test's output and removes its root. */
static void done(char *out, char *dir)
{
	free(out);
	sy_rm_rf(dir, NULL);
	free(dir);
}

static void test_sandbox_fresh_root_runs_work_as_user_under_pid_1(void **state)
{
	char *dir = test_tmpdir();
	struct sandbox_config cfg = {
		.namespaces = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS,
		.root = dir, .what = "the test root", .fresh_root = 1, .scratch = dir,
		.hostname = "shipyard-test", .user = &nobody, .env = work_env,
		.fn = look_around_fresh, .fn_in_child = 1, .fn_fd = REPORT_FD,
		.setup_failed = report_failure,
	};
	int status;
	char *out;

	(void)state;
	setenv("SHIPYARD_TEST_SECRET", "leaked", 1);
	out = run_sandbox(&cfg, &status);
	unsetenv("SHIPYARD_TEST_SECRET");
	assert_int_equal(status, 0);
	/* Pid 1 only reaps; the work is its child. */
	assert_non_null(strstr(out, "pid 2 uid 65534 host shipyard-test home / secret -\n"));
	assert_non_null(strstr(out, "root-writable no\nroot-read-only yes\n"));
	assert_non_null(strstr(out, "tmp-writable yes\nusr-readable yes\n"));
	done(out, dir);
}

/* The existing root's hook: a mount point of it, as pivot_root needs. */
static int bind_root(void *arg, struct sy_error *err)
{
	const char *root = arg;

	if (mount(root, root, NULL, MS_BIND, NULL) < 0)
		return sy_error_set(err, "bind %s: %s", root, strerror(errno));
	return 0;
}

/* The work as pid 1 of an existing root: /proc, /dev, capabilities. */
static int look_around_existing(void *arg)
{
	struct stat st;
	int fd;

	(void)arg;
	dprintf(REPORT_FD, "pid %ld\n", (long)getpid());
	say("proc-mounted", stat("/proc/1/status", &st) == 0);
	say("dev-null", stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) &&
			    (st.st_mode & 0666) == 0666);
	fd = open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
	say("proc-sys-writable", fd >= 0);
	say("mknod", mknod("/node", S_IFCHR | 0600, makedev(1, 3)) == 0);
	return 5;
}

static void test_sandbox_existing_root_has_proc_dev_and_no_mknod(void **state)
{
	char *dir = test_tmpdir();
	struct sandbox_config cfg = {
		.namespaces = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS,
		.root = dir, .what = "the test root", .prepare = bind_root, .proc_dev = 1,
		.hostname = "shipyard-test", .drop_capabilities = 1,
		.fn = look_around_existing, .fn_fd = -1, .setup_failed = report_failure,
		.arg = dir,
	};
	int status;
	char *out;

	(void)state;
	out = run_sandbox(&cfg, &status);
	/* The work's status is the sandbox's. */
	assert_int_equal(status, 5);
	assert_non_null(strstr(out, "pid 1\nproc-mounted yes\ndev-null yes\n"
				    "proc-sys-writable no\nmknod no\ncaller-root-kept yes\n"));
	done(out, dir);
}

static void test_sandbox_setup_failure_is_reported_the_callers_way(void **state)
{
	static const char *const binds[] = { "/nonexistent/shipyard-dir", NULL };
	char *dir = test_tmpdir();
	struct sandbox_config cfg = {
		.namespaces = CLONE_NEWNET, .root = dir, .what = "the test root",
		.fresh_root = 1, .ro_binds = binds, .fn = look_around_fresh, .fn_in_child = 1,
		.fn_fd = REPORT_FD, .setup_failed = report_failure,
	};
	int status;
	char *out;

	(void)state;
	out = run_sandbox(&cfg, &status);
	assert_int_equal(status, 9);
	assert_string_equal(out, "failed: bind /nonexistent/shipyard-dir: "
				 "No such file or directory\n");
	done(out, dir);
}

/* What fill_sized_fs works on. */
struct sized {
	const char *dir; /* the test's directory */
	int tmpfs;       /* 1: ask for a tmpfs */
};

/* In a mount namespace of its own (the child's): a sized filesystem of
 * 16 MiB at <dir>/fs, then a file under 300 nested directories fallocated
 * and written past it. */
static int fill_sized_fs(void *arg)
{
	const struct sized *sz = arg;
	char *mnt = sy_xasprintf("%s/fs", sz->dir);
	char *image = sz->tmpfs ? NULL : sy_xasprintf("%s/fs.img", sz->dir);
	struct sandbox_sizedfs fs;
	struct sy_error err = { { 0 } };
	int fd, rc;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mkdir(mnt, 0755) < 0 || sandbox_sizedfs_mount(mnt, image, 16 << 20, 2, &fs, &err)) {
		dprintf(REPORT_FD, "failed: %s %s\n", err.msg, strerror(errno));
		return 1;
	}
	dprintf(REPORT_FD, "kind %s bytes %llu\n",
		fs.kind == SANDBOX_SIZEDFS_EXT4 ? "ext4" : "tmpfs", fs.bytes);
	fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < 300 && fd >= 0; i++) {
		int sub;

		mkdirat(fd, "d", 0755);
		sub = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = sub;
	}
	say("nested", fd >= 0);
	fd = openat(fd, "big", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	rc = fallocate(fd, 0, 0, 1LL << 30);
	say("enospc", rc < 0 && errno == ENOSPC);
	/* A tmpfs gives back what a failed fallocate took: fill it by
	 * writing. */
	{
		static char chunk[1 << 20];
		ssize_t n;

		while ((n = write(fd, chunk, sizeof(chunk))) == (ssize_t)sizeof(chunk))
			;
		say("write-enospc", n >= 0 || errno == ENOSPC);
	}
	say("full", sandbox_sizedfs_full(mnt));
	free(mnt);
	free(image);
	return 0;
}

/* 1 when a loop device is still attached to a file under dir; waits up to
 * 5 s for the kernel's detaching, which runs after the last close. */
static int loop_device_left(const char *dir)
{
	int left = 1;

	for (int tries = 0; tries < 50 && left; tries++) {
		glob_t g;
		char *backing;

		left = 0;
		if (glob("/sys/block/loop*/loop/backing_file", 0, NULL, &g) == 0) {
			for (size_t i = 0; i < g.gl_pathc; i++)
				if (sy_read_file(g.gl_pathv[i], &backing, NULL, NULL) == 0) {
					left |= strstr(backing, dir) != NULL;
					free(backing);
				}
			globfree(&g);
		}
		if (left)
			usleep(100 * 1000);
	}
	return left;
}

/* Fills a sized filesystem (ext4, or a tmpfs) in a child and checks what
 * came of it: nothing written past its size, however deep the directory
 * and however much fallocate asks for; no space of the host's beyond its
 * size; no mount or loop device left behind. */
static void check_sized_fs(int tmpfs)
{
	char *dir = test_tmpdir(), *image = sy_xasprintf("%s/fs.img", dir), *out, *mounts;
	struct sized sz = { dir, tmpfs };
	struct sy_error err = { { 0 } };
	struct stat st;
	int status;

	out = run_reporting(fill_sized_fs, &sz, &status);
	fprintf(stderr, "%s", out);
	assert_int_equal(status, 0);
	assert_non_null(strstr(out, tmpfs ? "kind tmpfs bytes 16777216\n" : "kind ext4"));
	assert_non_null(strstr(out, "nested yes\nenospc yes\nwrite-enospc yes\nfull yes\n"));
	if (!tmpfs) {
		assert_int_equal(stat(image, &st), 0);
		assert_true((unsigned long long)st.st_blocks * 512 < (20ULL << 20));
	}
	assert_ok(sy_read_file("/proc/self/mountinfo", &mounts, NULL, &err), &err);
	assert_null(strstr(mounts, dir));
	free(mounts);
	assert_false(loop_device_left(dir));
	free(image);
	done(out, dir);
}

static void test_sandbox_sized_ext4_refuses_writes_past_its_size(void **state)
{
	(void)state;
	if (access("/dev/loop-control", F_OK) != 0)
		skip(); /* no loop devices here: sizedfs makes a tmpfs */
	check_sized_fs(0);
}

static void test_sandbox_sized_tmpfs_refuses_writes_past_its_size(void **state)
{
	(void)state;
	check_sized_fs(1);
}

/* Writes 1 MiB chunks into the new file path until a write fails; returns
 * how many MiB went in. */
static int write_mib_until_full(const char *path)
{
	static char chunk[1 << 20];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644), n = 0;

	while (fd >= 0 && write(fd, chunk, sizeof(chunk)) == (ssize_t)sizeof(chunk))
		n++;
	if (fd >= 0)
		close(fd);
	return n;
}

/* In a mount namespace of its own: a sized filesystem of 64 MiB with 8 MiB
 * written, shrunk to leave 4 MiB, then filled. */
static int shrink_sized_fs(void *arg)
{
	const struct sized *sz = arg;
	char *mnt = sy_xasprintf("%s/fs", sz->dir);
	char *image = sz->tmpfs ? NULL : sy_xasprintf("%s/fs.img", sz->dir);
	char *first = sy_xasprintf("%s/first", mnt), *second = sy_xasprintf("%s/second", mnt);
	struct sandbox_sizedfs fs;
	struct sy_error err = { { 0 } };
	int fd;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mkdir(mnt, 0755) < 0 || sandbox_sizedfs_mount(mnt, image, 64 << 20, 2, &fs, &err)) {
		dprintf(REPORT_FD, "failed: %s\n", err.msg);
		return 1;
	}
	fd = open(first, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || fallocate(fd, 0, 0, 8 << 20) < 0 ||
	    sandbox_sizedfs_shrink(mnt, &fs, 4 << 20, &err)) {
		dprintf(REPORT_FD, "failed: %s %s\n", err.msg, strerror(errno));
		return 1;
	}
	close(fd);
	dprintf(REPORT_FD, "second %d MiB\n", write_mib_until_full(second));
	free(first);
	free(second);
	free(image);
	free(mnt);
	return 0;
}

/* Shrinking a sized filesystem leaves what was asked for, whatever it
 * holds. */
static void check_shrink(int tmpfs)
{
	char *dir = test_tmpdir(), *out;
	struct sized sz = { dir, tmpfs };
	int mib = -1, status;

	out = run_reporting(shrink_sized_fs, &sz, &status);
	if (status != 0 || sscanf(out, "second %d MiB", &mib) != 1)
		fail_msg("%s", out);
	assert_true(mib >= 3 && mib <= 4);
	done(out, dir);
}

static void test_sandbox_sized_ext4_shrinks_to_what_is_left(void **state)
{
	(void)state;
	if (access("/dev/loop-control", F_OK) != 0)
		skip();
	check_shrink(0);
}

static void test_sandbox_sized_tmpfs_shrinks_to_what_is_left(void **state)
{
	(void)state;
	check_shrink(1);
}

/* In the child: enters the cgroup arg and reports where it is and its
 * limits. Nothing is allocated once the limits hold: under ASan, whose
 * shadow mappings already exceed any RLIMIT_AS, a new mapping fails. */
static int join_cgroup(void *arg)
{
	const struct sandbox_cgroup *cg = arg;
	struct sy_error err = { { 0 } };
	struct rlimit nproc, as;
	char self[4096], line[128];
	ssize_t n = -1;
	int fd, len;

	if (sandbox_cgroup_enter(cg, &err) || sandbox_cgroup_rlimits(cg, &err)) {
		dprintf(REPORT_FD, "failed: %s\n", err.msg);
		return 1;
	}
	getrlimit(RLIMIT_NPROC, &nproc);
	getrlimit(RLIMIT_AS, &as);
	fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, self, sizeof(self));
		close(fd);
	}
	len = snprintf(line, sizeof(line), "nproc %llu as %llu\n",
		       (unsigned long long)nproc.rlim_cur, (unsigned long long)as.rlim_cur);
	if (write(REPORT_FD, line, (size_t)len) != len ||
	    (n > 0 && write(REPORT_FD, self, (size_t)n) != n))
		return 1;
	return 0;
}

/* Runs join_cgroup on cg in a child; returns its report. */
static char *run_in_cgroup(struct sandbox_cgroup *cg)
{
	int status;
	char *out = run_reporting(join_cgroup, cg, &status);

	assert_int_equal(status, 0);
	return out;
}

/* Where no cgroup v2 hierarchy is, the limits become the process's
 * RLIMIT_NPROC and RLIMIT_AS. */
static void test_sandbox_cgroup_falls_back_to_rlimits(void **state)
{
	char *dir = test_tmpdir(), *out;
	const struct sandbox_limits limits = { 512ULL << 20, 32, 100 };
	struct sandbox_cgroup cg;
	char *why;

	(void)state;
	sandbox_cgroup_create(&cg, dir, "test", &limits);
	assert_null(cg.dir);
	why = sy_xasprintf("%s is not a cgroup v2 hierarchy", dir);
	assert_string_equal(cg.why_fallback, why);
	out = run_in_cgroup(&cg);
	assert_non_null(strstr(out, "nproc 32 as 536870912\n"));
	sandbox_cgroup_release(&cg);
	free(why);
	done(out, dir);
}

/* A cgroup v2 hierarchy's root here, or NULL. */
static const char *cgroup2_root(void)
{
	static const char *const roots[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	struct statfs fs;

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (statfs(roots[i], &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
			return roots[i];
	return NULL;
}

/* On a cgroup v2 hierarchy (with no limits, so that no controller is
 * needed): the sandbox's process joins a cgroup of its own under
 * shipyard/; a cgroup left by a run that was killed is removed when the
 * next is made; releasing removes the sandbox's. */
static void test_sandbox_cgroup_joins_its_own_and_removes_leftovers(void **state)
{
	const char *root = cgroup2_root();
	const struct sandbox_limits none = { 0, 0, 0 };
	struct sandbox_cgroup cg;
	char *subtree, *leftover, *out, *dir, *want;

	(void)state;
	if (geteuid() != 0 || !root)
		skip(); /* no cgroup v2 hierarchy here */
	subtree = sy_xasprintf("%s/shipyard", root);
	/* A pid above any pid_max: its process is gone. */
	leftover = sy_xasprintf("%s/test-2147483647-1", subtree);
	if (mkdir(subtree, 0755) < 0 && errno != EEXIST)
		skip(); /* not writable */
	assert_int_equal(mkdir(leftover, 0755), 0);
	sandbox_cgroup_create(&cg, root, "test", &none);
	if (!cg.dir)
		fail_msg("no cgroup: %s", cg.why_fallback);
	assert_false(sy_exists(leftover));
	out = run_in_cgroup(&cg);
	want = sy_xasprintf("0::%s\n", cg.dir + strlen(root));
	if (!strstr(out, want))
		fail_msg("not in %s:\n%s", cg.dir, out);
	dir = sy_xstrdup(cg.dir);
	sandbox_cgroup_release(&cg);
	assert_null(cg.dir);
	assert_false(sy_exists(dir));
	free(dir);
	free(want);
	free(out);
	free(leftover);
	free(subtree);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox_fresh_root_runs_work_as_user_under_pid_1),
		cmocka_unit_test(test_sandbox_existing_root_has_proc_dev_and_no_mknod),
		cmocka_unit_test(test_sandbox_setup_failure_is_reported_the_callers_way),
		cmocka_unit_test(test_sandbox_sized_ext4_refuses_writes_past_its_size),
		cmocka_unit_test(test_sandbox_sized_tmpfs_refuses_writes_past_its_size),
		cmocka_unit_test(test_sandbox_sized_ext4_shrinks_to_what_is_left),
		cmocka_unit_test(test_sandbox_sized_tmpfs_shrinks_to_what_is_left),
		cmocka_unit_test(test_sandbox_cgroup_falls_back_to_rlimits),
		cmocka_unit_test(test_sandbox_cgroup_joins_its_own_and_removes_leftovers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
