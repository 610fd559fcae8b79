/* Log lines: plain "shipyard: error: ..." on a file or terminal, journald
 * priority prefixes ("<3>" ...) only when stderr is the stream that
 * $JOURNAL_STREAM names, one prefix per line, debug only when asked. */
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/log.h"

/* A temporary file that stderr is redirected to for one test. */
struct capture {
	char *dir, *path;
	int saved_stderr;
};

static void capture_start(struct capture *c)
{
	int fd;

	c->dir = test_tmpdir();
	c->path = sy_xasprintf("%s/stderr", c->dir);
	fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	c->saved_stderr = dup(2);
	assert_true(dup2(fd, 2) == 2);
	close(fd);
}

/* Restores stderr; returns what was written (caller frees). */
static char *capture_end(struct capture *c)
{
	struct sy_error err = { { 0 } };
	char *text = NULL;

	fflush(stderr);
	dup2(c->saved_stderr, 2);
	close(c->saved_stderr);
	assert_ok(sy_read_file(c->path, &text, NULL, &err), &err);
	sy_rm_rf(c->dir, NULL);
	free(c->dir);
	free(c->path);
	return text;
}

/* JOURNAL_STREAM naming fd 2's current file. */
static void set_journal_stream_to_stderr(void)
{
	struct stat st;
	char value[64];

	assert_int_equal(fstat(2, &st), 0);
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", value, 1);
}

static void log_all_levels(void)
{
	sy_log_error("build of %s failed", "bash");
	sy_log_warn("webhook refused: %s", "bad signature");
	sy_log_info("pipeline %d: success", 7);
	sy_log_debug("detail %d", 1);
}

static void test_log_under_journal_prefixes_each_level(void **state)
{
	struct capture c;
	char *text;

	(void)state;
	capture_start(&c);
	set_journal_stream_to_stderr();
	sy_log_detect();
	sy_log_set_verbose(1);
	log_all_levels();
	text = capture_end(&c);
	assert_string_equal(text, "<3>error: build of bash failed\n"
				  "<4>warning: webhook refused: bad signature\n"
				  "<6>pipeline 7: success\n");
	free(text);
	unsetenv("JOURNAL_STREAM");
}

static void test_log_under_journal_prefixes_every_line_and_shows_debug_when_verbose(void **state)
{
	struct capture c;
	char *text;

	(void)state;
	capture_start(&c);
	set_journal_stream_to_stderr();
	sy_log_detect();
	sy_log_set_verbose(2);
	sy_log_error("first\nsecond\n");
	sy_log_debug("detail");
	sy_log_set_verbose(1);
	text = capture_end(&c);
	assert_string_equal(text, "<3>error: first\n<3>error: second\n<7>debug: detail\n");
	free(text);
	unsetenv("JOURNAL_STREAM");
}

/* A child whose stderr the service redirected to a log file inherits
 * JOURNAL_STREAM; its lines must stay plain. */
static void test_log_on_another_file_than_journal_stream_is_plain(void **state)
{
	struct capture c;
	char *text;

	(void)state;
	set_journal_stream_to_stderr(); /* the test's own stderr, not the capture */
	capture_start(&c);
	sy_log_detect();
	sy_log_set_verbose(1);
	log_all_levels();
	text = capture_end(&c);
	assert_string_equal(text, "shipyard: error: build of bash failed\n"
				  "shipyard: warning: webhook refused: bad signature\n"
				  "shipyard: pipeline 7: success\n");
	free(text);
	unsetenv("JOURNAL_STREAM");
}

static void test_log_quiet_verbosity_keeps_errors_and_warnings(void **state)
{
	struct capture c;
	char *text;

	(void)state;
	unsetenv("JOURNAL_STREAM");
	capture_start(&c);
	sy_log_detect();
	sy_log_set_verbose(0);
	log_all_levels();
	sy_log_set_verbose(1);
	text = capture_end(&c);
	assert_string_equal(text, "shipyard: error: build of bash failed\n"
				  "shipyard: warning: webhook refused: bad signature\n");
	free(text);
}

static void test_log_journal_stream_values_are_checked(void **state)
{
	struct stat st;
	char value[64];

	(void)state;
	assert_int_equal(fstat(1, &st), 0);
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	assert_int_equal(sy_log_fd_is_journal(value, 1), 1);
	assert_int_equal(sy_log_fd_is_journal(NULL, 1), 0);
	assert_int_equal(sy_log_fd_is_journal("", 1), 0);
	assert_int_equal(sy_log_fd_is_journal("12", 1), 0);
	assert_int_equal(sy_log_fd_is_journal("1:2:3", 1), 0);
	strcat(value, "x");
	assert_int_equal(sy_log_fd_is_journal(value, 1), 0);
	value[strlen(value) - 1] = '\0';
	assert_int_equal(sy_log_fd_is_journal(value, 99), 0); /* not open */
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	assert_int_equal(sy_log_fd_is_journal(value, 1), 0);
}

/* Out of memory: one line at error priority without allocating, then
 * SIGABRT. */
static void test_log_fatal_prints_an_error_line_and_aborts(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/stderr", dir), *text = NULL;
	struct sy_error err = { { 0 } };
	int status;
	pid_t pid;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		set_journal_stream_to_stderr();
		sy_log_detect();
		sy_log_fatal("out of memory");
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	assert_ok(sy_read_file(path, &text, NULL, &err), &err);
	assert_string_equal(text, "<3>error: out of memory\n");
	free(text);
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_under_journal_prefixes_each_level),
		cmocka_unit_test(test_log_under_journal_prefixes_every_line_and_shows_debug_when_verbose),
		cmocka_unit_test(test_log_on_another_file_than_journal_stream_is_plain),
		cmocka_unit_test(test_log_quiet_verbosity_keeps_errors_and_warnings),
		cmocka_unit_test(test_log_journal_stream_values_are_checked),
		cmocka_unit_test(test_log_fatal_prints_an_error_line_and_aborts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
