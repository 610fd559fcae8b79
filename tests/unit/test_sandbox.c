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

#include "common/child.h"
#include "sandbox/sandbox.h"

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
	return sandbox_run(arg);
}

/* Runs cfg in a child (sandbox_run changes the caller's namespaces) and
 * returns what the work reported; *status is the child's status. Skips
 * the test unless run as root. */
static char *run_sandbox(struct sandbox_config *cfg, int *status)
{
	struct sy_child c = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };
	char *out;

	if (geteuid() != 0)
		skip();
	c.child_fn = sandbox_child;
	c.child_arg = cfg;
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
				    "proc-sys-writable no\nmknod no\n"));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox_fresh_root_runs_work_as_user_under_pid_1),
		cmocka_unit_test(test_sandbox_existing_root_has_proc_dev_and_no_mknod),
		cmocka_unit_test(test_sandbox_setup_failure_is_reported_the_callers_way),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
