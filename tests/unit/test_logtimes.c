/* The sidecar of a log that says when each of its lines was written:
 * the writer fed by hand (times chosen by the test), the follower thread on
 * a real file, and the reader on sidecars whole, torn, foreign or absent. */
#define _GNU_SOURCE
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "builder/logtimes.h"

#define T0 1700000000000LL /* a job's start, ms since the epoch */

struct fixture {
	char *dir;
	char *log; /* <dir>/job.log */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = test_tmpdir();
	f->log = sy_xasprintf("%s/job.log", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sy_rm_rf(f->dir, NULL);
	free(f->dir);
	free(f->log);
	free(f);
	return 0;
}

/* Appends text to the log, as a job's writers do. */
static void append(const struct fixture *f, const char *text, size_t n)
{
	int fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

/* Appends text to the log and feeds it to w at ms after T0. */
static void write_at(const struct fixture *f, struct builder_log_times *w, const char *text,
		     int64_t ms)
{
	append(f, text, strlen(text));
	builder_log_times_feed(w, text, strlen(text), T0 + ms);
}

static void read_all(const struct fixture *f, struct builder_log_times_read *r)
{
	struct sy_error err = { { 0 } };

	assert_ok(builder_log_times_read(f->log, 0, SIZE_MAX, r, &err), &err);
}

static void assert_record(const struct builder_log_times_read *r, size_t i, uint64_t offset,
			  uint32_t ms)
{
	assert_true(i < r->n);
	assert_int_equal(r->items[i].offset, offset);
	assert_int_equal(r->items[i].ms, ms);
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void test_log_times_record_each_line_start_with_ms_since_start(void **state)
{
	struct fixture *f = *state;
	struct builder_log_times *w;
	struct builder_log_times_read r;
	struct sy_error err = { { 0 } };

	assert_ok(builder_log_times_open(f->log, 0, T0, &w, &err), &err);
	write_at(f, w, "first\nsecond\n", 5);
	write_at(f, w, "third\n", 1250);
	builder_log_times_close(w);
	read_all(f, &r);
	assert_int_equal(r.start_ms, T0);
	assert_int_equal(r.n, 3);
	assert_record(&r, 0, 0, 5);
	assert_record(&r, 1, 6, 5);
	assert_record(&r, 2, 13, 1250);
	assert_false(r.more);
	builder_log_times_read_release(&r);
	/* The log itself is untouched: what the job wrote, nothing else. */
	assert_int_equal(file_size(f->log), 19);
}

/* A line written in pieces has the time of its first byte; a newline at the
 * end of one write starts the line of the next. */
static void test_log_times_partial_line_keeps_time_of_first_byte(void **state)
{
	struct fixture *f = *state;
	struct builder_log_times *w;
	struct builder_log_times_read r;
	struct sy_error err = { { 0 } };

	assert_ok(builder_log_times_open(f->log, 0, T0, &w, &err), &err);
	write_at(f, w, "checking for", 100);
	write_at(f, w, " gcc... ", 200);
	write_at(f, w, "yes\n", 300);
	write_at(f, w, "next", 400);
	write_at(f, w, "\n", 500);
	write_at(f, w, "\n", 600);
	builder_log_times_close(w);
	read_all(f, &r);
	assert_int_equal(r.n, 3);
	assert_record(&r, 0, 0, 100);
	assert_record(&r, 1, 24, 400);
	assert_record(&r, 2, 29, 600); /* an empty line is a line */
	builder_log_times_read_release(&r);
}

/* A line of several megabytes, fed in the follower's 64 KiB reads, is one
 * record; the line after it is at its real offset. */
static void test_log_times_long_line_is_one_record(void **state)
{
	struct fixture *f = *state;
	struct builder_log_times *w;
	struct builder_log_times_read r;
	struct sy_error err = { { 0 } };
	size_t len = 3 * 1024 * 1024 + 17, piece = 65536;
	char *line = malloc(len + 1);

	memset(line, 'x', len);
	line[len - 1] = '\n';
	line[len] = '\0';
	assert_ok(builder_log_times_open(f->log, 0, T0, &w, &err), &err);
	for (size_t at = 0; at < len; at += piece) {
		size_t n = len - at < piece ? len - at : piece;
		append(f, line + at, n);
		builder_log_times_feed(w, line + at, n, T0 + 10 + (int64_t)at / piece);
	}
	write_at(f, w, "after\n", 9000);
	builder_log_times_close(w);
	read_all(f, &r);
	assert_int_equal(r.n, 2);
	assert_record(&r, 0, 0, 10);
	assert_record(&r, 1, len, 9000);
	builder_log_times_read_release(&r);
	free(line);
}

/* A log written by an older release has no sidecar: no times, no error. */
static void test_log_times_log_without_sidecar_reads_as_no_times(void **state)
{
	struct fixture *f = *state;
	struct builder_log_times_read r;

	append(f, "built before times\n", 19);
	read_all(f, &r);
	assert_int_equal(r.start_ms, -1);
	assert_int_equal(r.n, 0);
	assert_false(r.more);
	builder_log_times_read_release(&r);
}

/* A sidecar that is not one (another program's file by that name) is an
 * error naming it; a torn last record (the writer racing the reader) is not
 * read. */
static void test_log_times_foreign_file_is_error_and_torn_record_skipped(void **state)
{
	struct fixture *f = *state;
	struct builder_log_times *w;
	struct builder_log_times_read r;
	struct sy_error err = { { 0 } };
	char *times = sy_xasprintf("%s%s", f->log, BUILDER_LOG_TIMES_SUFFIX);

	assert_ok(builder_log_times_open(f->log, 0, T0, &w, &err), &err);
	write_at(f, w, "one\ntwo\n", 1);
	builder_log_times_close(w);
	assert_int_equal(truncate(times, file_size(times) - 5), 0);
	read_all(f, &r);
	assert_int_equal(r.n, 1);
	assert_record(&r, 0, 0, 1);
	builder_log_times_read_release(&r);

	test_write_file(f->dir, "job.log.times", "0 12\n4 15\n9 17\n12 20\n");
	assert_int_equal(builder_log_times_read(f->log, 0, 10, &r, &err), -1);
	assert_non_null(strstr(err.msg, "job.log.times: not a log times file"));
	assert_null(r.items);
	free(times);
}

/* A retried job continues its log: the sidecar keeps its start and
 * records, cuts a torn record, and a line left open by the first attempt
 * is not a new line. Without append, it starts over. */
static void test_log_times_append_continues_sidecar(void **state)
{
	struct fixture *f = *state;
	struct builder_log_times *w;
	struct builder_log_times_read r;
	struct sy_error err = { { 0 } };
	char *times = sy_xasprintf("%s%s", f->log, BUILDER_LOG_TIMES_SUFFIX);

	assert_ok(builder_log_times_open(f->log, 0, T0, &w, &err), &err);
	write_at(f, w, "attempt 1\nunfinished", 50);
	builder_log_times_close(w);
	assert_int_equal(truncate(times, file_size(times) - 3), 0);

	assert_ok(builder_log_times_open(f->log, 1, T0 + 60000, &w, &err), &err);
	write_at(f, w, " line\nattempt 2\n", 61000);
	builder_log_times_close(w);
	read_all(f, &r);
	assert_int_equal(r.start_ms, T0);
	assert_int_equal(r.n, 2);
	assert_record(&r, 0, 0, 50);
	assert_record(&r, 1, 26, 61000);
	builder_log_times_read_release(&r);

	assert_ok(builder_log_times_open(f->log, 0, T0 + 99000, &w, &err), &err);
	builder_log_times_close(w);
	read_all(f, &r);
	assert_int_equal(r.start_ms, T0 + 99000);
	assert_int_equal(r.n, 0);
	builder_log_times_read_release(&r);
	free(times);
}

/* The reader finds the records from a byte offset and pages them. */
static void test_log_times_read_from_offset_in_pages(void **state)
{
	struct fixture *f = *state;
	struct builder_log_times *w;
	struct builder_log_times_read r;
	struct sy_error err = { { 0 } };

	assert_ok(builder_log_times_open(f->log, 0, T0, &w, &err), &err);
	for (int i = 0; i < 100; i++)
		write_at(f, w, "line\n", i); /* line i starts at 5 * i */
	builder_log_times_close(w);
	assert_ok(builder_log_times_read(f->log, 252, 10, &r, &err), &err);
	assert_int_equal(r.n, 10);
	assert_record(&r, 0, 255, 51);
	assert_record(&r, 9, 300, 60);
	assert_true(r.more);
	builder_log_times_read_release(&r);
	assert_ok(builder_log_times_read(f->log, 490, 10, &r, &err), &err);
	assert_int_equal(r.n, 2);
	assert_false(r.more);
	builder_log_times_read_release(&r);
	assert_ok(builder_log_times_read(f->log, 496, 10, &r, &err), &err);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.start_ms, T0);
	builder_log_times_read_release(&r);
}

/* Past BUILDER_LOG_TIMES_FULL_RECORDS, lines are recorded at most once a
 * second: the sidecar stays bounded by the job's duration. */
static void test_log_times_thinned_after_full_records(void **state)
{
	struct fixture *f = *state;
	struct builder_log_times *w;
	struct builder_log_times_read r;
	struct sy_error err = { { 0 } };
	size_t lines = BUILDER_LOG_TIMES_FULL_RECORDS + 1000, len = 2 * lines;
	char *text = malloc(len);

	for (size_t i = 0; i < lines; i++)
		memcpy(text + 2 * i, "x\n", 2);
	assert_ok(builder_log_times_open(f->log, 0, T0, &w, &err), &err);
	builder_log_times_feed(w, text, len, T0 + 7);
	builder_log_times_feed(w, "y\nz\n", 4, T0 + 500);
	builder_log_times_feed(w, "late\nlater\n", 11, T0 + 1007);
	builder_log_times_close(w);
	assert_ok(builder_log_times_read(f->log, 0, SIZE_MAX, &r, &err), &err);
	assert_int_equal(r.n, BUILDER_LOG_TIMES_FULL_RECORDS + 1);
	assert_record(&r, r.n - 2, 2 * (BUILDER_LOG_TIMES_FULL_RECORDS - 1), 7);
	assert_record(&r, r.n - 1, len + 4, 1007);
	builder_log_times_read_release(&r);
	free(text);
}

/* The follower records what processes write to the log file while it
 * runs, and what is there when it stops. */
static void test_log_times_follower_records_lines_written_to_file(void **state)
{
	struct fixture *f = *state;
	struct builder_log_times_read r;
	struct sy_error err = { { 0 } };
	int fd = open(f->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	int64_t before = builder_log_times_now_ms(), after;
	struct builder_log_follower *fl = builder_log_times_follow(f->log, 0, &err);

	assert_non_null(fl);
	assert_int_equal(write(fd, "a\n", 2), 2);
	usleep(300 * 1000);
	/* A child's write, through its own descriptor. */
	char *cmd = sy_xasprintf("echo 'from a child' >>'%s'", f->log);
	test_sh(cmd);
	free(cmd);
	assert_int_equal(write(fd, "bb\ncc", 5), 5);
	assert_int_equal(write(fd, "c\n", 2), 2);
	builder_log_times_follow_stop(fl);
	after = builder_log_times_now_ms();
	close(fd);

	read_all(f, &r);
	assert_true(r.start_ms >= before && r.start_ms <= after);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.items[0].offset, 0);
	assert_int_equal(r.items[1].offset, 2);
	assert_int_equal(r.items[2].offset, 15);
	assert_int_equal(r.items[3].offset, 18);
	/* The child wrote 300 ms after the first line, and it was seen then. */
	assert_true(r.items[1].ms >= r.items[0].ms + 250);
	assert_true(r.items[3].ms >= r.items[2].ms && r.items[2].ms >= r.items[1].ms);
	assert_true(r.start_ms + r.items[3].ms <= after);
	builder_log_times_read_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_log_times_record_each_line_start_with_ms_since_start),
		T(test_log_times_partial_line_keeps_time_of_first_byte),
		T(test_log_times_long_line_is_one_record),
		T(test_log_times_log_without_sidecar_reads_as_no_times),
		T(test_log_times_foreign_file_is_error_and_torn_record_skipped),
		T(test_log_times_append_continues_sidecar),
		T(test_log_times_read_from_offset_in_pages),
		T(test_log_times_thinned_after_full_records),
		T(test_log_times_follower_records_lines_written_to_file),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
