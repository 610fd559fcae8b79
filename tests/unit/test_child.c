/* Unit tests of common/child.h: starting, waiting, deadlines, signals,
 * captured output, fds and death signals of child processes. */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "common/child.h"
#include "common/util.h"

/* Waits up to 5 s for pid (a child, or an orphan given to this process as
 * a subreaper) to end; returns its wait status, or fails the test after
 * killing it. */
static int wait_gone(pid_t pid)
{
	double until = sy_now_s() + 5;
	int status = 0;

	while (sy_now_s() < until) {
		pid_t got = waitpid(pid, &status, WNOHANG);

		if (got == pid)
			return status;
		if (got < 0)
			fail_msg("waitpid %ld: %s", (long)pid, strerror(errno));
		usleep(20 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fail_msg("process %ld still runs", (long)pid);
	return 0;
}

/* Checks that the process whose pid the text holds, an orphan given to
 * this process as a subreaper, was killed with SIGKILL; ends the subreaper
 * role. */
static void assert_orphan_killed(const char *pid_text)
{
	pid_t pid = (pid_t)atol(pid_text);
	int status;

	assert_true(pid > 0);
	status = wait_gone(pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}

static void test_child_deadline_kills_child_and_its_process_group(void **state)
{
	/* The grandchild ignores SIGTERM and stays in the child's group. */
	static const char *const argv[] = {
		"sh", "-c", "(trap '' TERM; exec sleep 1000) & echo $!; wait", NULL,
	};
	struct sy_child c = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };
	double t0 = sy_now_s();

	(void)state;
	/* Orphans come to this process, so that their end can be seen. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	c.argv = argv;
	c.capture = 1;
	c.timeout_s = 1;
	assert_ok(sy_child_run(&c, &err), &err);
	assert_true(c.finished);
	assert_true(c.timed_out);
	assert_int_equal(c.signal, SIGKILL);
	assert_int_equal(c.status, 128 + SIGKILL);
	assert_true(sy_now_s() - t0 < 5);
	assert_orphan_killed(c.out);
	sy_child_release(&c);
}

static void test_child_killed_by_signal_reports_the_signal(void **state)
{
	static const char *const argv[] = { "sh", "-c", "kill -USR1 $$", NULL };
	struct sy_child c = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };

	(void)state;
	c.argv = argv;
	assert_ok(sy_child_run(&c, &err), &err);
	assert_int_equal(c.signal, SIGUSR1);
	assert_int_equal(c.status, 128 + SIGUSR1);
	assert_false(c.timed_out);
	assert_false(c.stopped);
}

static void test_child_captures_stdout_but_not_stderr(void **state)
{
	/* More than a pipe holds, so that the parent must read while it runs. */
	static const char *const argv[] = {
		"sh", "-c", "echo to-stderr >&2; head -c 300000 /dev/zero | tr '\\0' x; echo", NULL,
	};
	struct sy_child c = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };

	(void)state;
	c.argv = argv;
	c.capture = 1;
	c.log_fd = SY_CHILD_DEVNULL;
	assert_ok(sy_child_run(&c, &err), &err);
	assert_int_equal(c.status, 0);
	assert_int_equal(c.out_len, 300001);
	assert_int_equal(strspn(c.out, "x"), 300000);
	assert_null(strstr(c.out, "to-stderr"));
	assert_int_equal(c.out_fd, -1);
	sy_child_release(&c);
	assert_null(c.out);
}

static int write_and_return_42(void *arg)
{
	printf("%s from %ld", (const char *)arg, (long)getpid());
	fflush(stdout);
	return 42;
}

static void test_child_runs_function_without_exec(void **state)
{
	struct sy_child c = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };
	char *want;

	(void)state;
	c.child_fn = write_and_return_42;
	c.child_arg = "hello";
	c.capture = 1;
	assert_ok(sy_child_run(&c, &err), &err);
	assert_int_equal(c.status, 42);
	assert_int_equal(c.signal, 0);
	want = sy_xasprintf("hello from %ld", (long)c.pid);
	assert_string_equal(c.out, want);
	free(want);
	sy_child_release(&c);
}

static void test_child_extra_fd_arrives_as_fd_3(void **state)
{
	static const char *const argv[] = { "sh", "-c", "echo via-fd-3 >&3", NULL };
	struct sy_child c = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };
	char buf[64] = { 0 };
	int p[2];

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	c.argv = argv;
	c.extra_fd = p[1];
	c.extra_fd_at = 3;
	c.close_fds = 1;
	assert_ok(sy_child_start(&c, &err), &err);
	close(p[1]);
	assert_int_equal(sy_child_finish(&c), 0);
	assert_true(read(p[0], buf, sizeof(buf) - 1) > 0);
	assert_string_equal(buf, "via-fd-3\n");
	close(p[0]);
}

static void test_child_close_fds_keeps_only_stdio_and_given_fds(void **state)
{
	struct sy_child c = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };
	int null = open("/dev/null", O_RDONLY), stray = fcntl(null, F_DUPFD, 20), p[2];
	const char *argv[] = { "sh", "-c", NULL, NULL };
	char *script;

	(void)state;
	assert_true(stray >= 20);
	close(null);
	assert_int_equal(pipe(p), 0);
	/* Above the numbers the child is given. */
	assert_int_equal(dup2(p[0], stray + 1), stray + 1);
	close(p[0]);
	p[0] = stray + 1;
	/* Neither stray nor the pipe is close-on-exec: only close_fds keeps
	 * them from the child. The capture pipe is fd 4, the extra fd 3. */
	script = sy_xasprintf("for f in %d %d 3 4; do [ -e /proc/self/fd/$f ] && echo $f; done >&4",
			      stray, p[0]);
	argv[2] = script;
	c.argv = argv;
	c.capture = 1;
	c.capture_at = 4;
	c.extra_fd = p[1];
	c.extra_fd_at = 3;
	c.close_fds = 1;
	assert_ok(sy_child_run(&c, &err), &err);
	assert_int_equal(c.status, 0);
	assert_string_equal(c.out, "3\n4\n");
	sy_child_release(&c);
	free(script);
	close(stray);
	close(p[0]);
	close(p[1]);
}

/* Starts a sleeper with a death signal, prints its pid and leaves without
 * waiting for it. */
static int start_sleeper_and_leave(void *arg)
{
	static const char *const argv[] = { "sleep", "1000", NULL };
	struct sy_child sleeper = SY_CHILD_INIT;

	(void)arg;
	sleeper.argv = argv;
	sleeper.log_fd = SY_CHILD_DEVNULL;
	sleeper.death_signal = SIGKILL;
	if (sy_child_start(&sleeper, NULL))
		return 1;
	printf("%ld\n", (long)sleeper.pid);
	fflush(stdout);
	return 0;
}

static void test_child_death_signal_kills_child_when_parent_dies(void **state)
{
	struct sy_child c = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };

	(void)state;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	c.child_fn = start_sleeper_and_leave;
	c.capture = 1;
	assert_ok(sy_child_run(&c, &err), &err);
	assert_int_equal(c.status, 0);
	assert_orphan_killed(c.out);
	sy_child_release(&c);
}

static void test_child_wait_any_returns_the_child_that_ended(void **state)
{
	static const char *const sleep_argv[] = { "sleep", "30", NULL };
	static const char *const exit_argv[] = { "sh", "-c", "sleep 0.2; exit 7", NULL };
	struct sy_child a = SY_CHILD_INIT, b = SY_CHILD_INIT, c = SY_CHILD_INIT;
	struct sy_child *all[] = { &a, &b, &c };
	struct sy_error err = { { 0 } };
	double until = sy_now_s() + 10;
	int i = -1;

	(void)state;
	a.argv = c.argv = sleep_argv;
	b.argv = exit_argv;
	for (size_t k = 0; k < LEN(all); k++)
		assert_ok(sy_child_start(all[k], &err), &err);
	while (i < 0 && sy_now_s() < until)
		i = sy_child_wait_any(all, LEN(all), 5000);
	assert_int_equal(i, 1);
	assert_int_equal(b.status, 7);
	assert_false(a.finished);
	assert_false(c.finished);
	/* Until taken out of the array, it is returned again at once. */
	assert_int_equal(sy_child_wait_any(all, LEN(all), 5000), 1);
	sy_child_release(&a);
	sy_child_release(&c);
	assert_true(a.finished);
	assert_int_equal(a.signal, SIGKILL);
}

static void test_child_check_does_not_block_while_it_runs(void **state)
{
	static const char *const argv[] = { "sleep", "30", NULL };
	struct sy_child c = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };
	double t0 = sy_now_s();

	(void)state;
	c.argv = argv;
	assert_ok(sy_child_start(&c, &err), &err);
	assert_true(c.pid > 0);
	assert_int_equal(sy_child_check(&c), 0);
	assert_true(sy_now_s() - t0 < 1);
	sy_child_kill(&c, SIGTERM);
	assert_int_equal(sy_child_finish(&c), 128 + SIGTERM);
	assert_int_equal(c.signal, SIGTERM);
	assert_int_equal(sy_child_check(&c), 1);
}

static int stop_on_second_tick(void *arg)
{
	int *ticks = arg;

	return ++*ticks >= 2;
}

static void test_child_tick_stops_child(void **state)
{
	static const char *const argv[] = { "sleep", "30", NULL };
	struct sy_child c = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };
	double t0 = sy_now_s();
	int ticks = 0;

	(void)state;
	c.argv = argv;
	c.tick_fn = stop_on_second_tick;
	c.tick_arg = &ticks;
	c.tick_ms = 100;
	assert_ok(sy_child_run(&c, &err), &err);
	assert_true(c.stopped);
	assert_false(c.timed_out);
	assert_int_equal(c.signal, SIGKILL);
	assert_int_equal(ticks, 2);
	assert_true(sy_now_s() - t0 < 5);
}

static void test_child_missing_program_exits_127_with_reason(void **state)
{
	static const char *const argv[] = { "/nonexistent/shipyard-program", NULL };
	struct sy_child c = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir(), *log = sy_xasprintf("%s/log", dir), *text = NULL;
	int fd = open(log, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	(void)state;
	c.argv = argv;
	c.log_fd = fd;
	assert_ok(sy_child_run(&c, &err), &err);
	assert_int_equal(c.status, 127);
	close(fd);
	assert_ok(sy_read_file(log, &text, NULL, &err), &err);
	assert_string_equal(text, "shipyard: cannot run /nonexistent/shipyard-program: "
				  "No such file or directory\n");
	free(text);
	sy_rm_rf(dir, NULL);
	free(log);
	free(dir);
}

static void test_child_run_cmd_names_program_and_status(void **state)
{
	static const char *const ok[] = { "true", NULL };
	static const char *const bad[] = { "sh", "-c", "exit 3", NULL };
	static const char *const slow[] = { "sleep", "30", NULL };
	struct sy_error err = { { 0 } };

	(void)state;
	assert_ok(sy_child_run_cmd(ok, SY_CHILD_DEVNULL, 0, &err), &err);
	assert_int_equal(sy_child_run_cmd(bad, SY_CHILD_DEVNULL, 0, &err), -1);
	assert_string_equal(err.msg, "sh exited with status 3");
	assert_int_equal(sy_child_run_cmd(slow, SY_CHILD_DEVNULL, 1, &err), -1);
	assert_string_equal(err.msg, "sleep: timed out after 1 s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_child_deadline_kills_child_and_its_process_group),
		cmocka_unit_test(test_child_killed_by_signal_reports_the_signal),
		cmocka_unit_test(test_child_captures_stdout_but_not_stderr),
		cmocka_unit_test(test_child_runs_function_without_exec),
		cmocka_unit_test(test_child_extra_fd_arrives_as_fd_3),
		cmocka_unit_test(test_child_close_fds_keeps_only_stdio_and_given_fds),
		cmocka_unit_test(test_child_death_signal_kills_child_when_parent_dies),
		cmocka_unit_test(test_child_wait_any_returns_the_child_that_ended),
		cmocka_unit_test(test_child_check_does_not_block_while_it_runs),
		cmocka_unit_test(test_child_tick_stops_child),
		cmocka_unit_test(test_child_missing_program_exits_127_with_reason),
		cmocka_unit_test(test_child_run_cmd_names_program_and_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
