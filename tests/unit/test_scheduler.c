/* builder/scheduler: readiness, critical-path order, FIFO order, cycles and
 * the simulation the build bench relies on. */
#include "testutil.h"

#include "builder/scheduler.h"

/* Jobs 0 and 1 take 3 s each and need nothing; jobs 2 -> 3 -> 4 -> 5 are a
 * chain of 1 s jobs. Listed first, the long independent jobs are what FIFO
 * starts first, which delays the chain. */
static const size_t dep2[] = { 2 }, dep3[] = { 3 }, dep4[] = { 4 };
static const struct builder_sched_job chain_jobs[] = {
	{ 3, NULL, 0 }, { 3, NULL, 0 }, { 1, NULL, 0 },
	{ 1, dep2, 1 }, { 1, dep3, 1 }, { 1, dep4, 1 },
};

static void test_sched_critical_path_is_longest_chain_to_the_end(void **state)
{
	struct sy_error err = { { 0 } };
	struct builder_sched *s = builder_sched_new(chain_jobs, 6, BUILDER_SCHED_CRITICAL_PATH, &err);

	(void)state;
	assert_non_null(s);
	assert_true(builder_sched_critical_path(s, 2) == 4);
	assert_true(builder_sched_critical_path(s, 4) == 2);
	assert_true(builder_sched_critical_path(s, 0) == 3);
	/* The chain's head goes first although it is listed after 0 and 1. */
	assert_int_equal(builder_sched_next(s), 2);
	builder_sched_free(s);
}

static void test_sched_job_not_ready_before_its_dependencies_are_done(void **state)
{
	struct sy_error err = { { 0 } };
	struct builder_sched *s = builder_sched_new(chain_jobs, 6, BUILDER_SCHED_CRITICAL_PATH, &err);
	long got[3];

	(void)state;
	for (int i = 0; i < 3; i++)
		got[i] = builder_sched_next(s);
	assert_int_equal(got[0], 2);
	assert_true((got[1] == 0 && got[2] == 1) || (got[1] == 1 && got[2] == 0));
	assert_int_equal(builder_sched_next(s), -1); /* 3 waits for 2 */
	builder_sched_done(s, 2);
	assert_int_equal(builder_sched_next(s), 3);
	assert_false(builder_sched_finished(s));
	builder_sched_free(s);
}

static void test_sched_critical_path_beats_fifo_and_meets_lower_bound(void **state)
{
	struct sy_error err = { { 0 } };
	double cp = builder_sched_simulate(chain_jobs, 6, 2, BUILDER_SCHED_CRITICAL_PATH, NULL, &err);
	double fifo = builder_sched_simulate(chain_jobs, 6, 2, BUILDER_SCHED_FIFO, NULL, &err);
	double lb = builder_sched_lower_bound(chain_jobs, 6, 2, NULL, &err);

	(void)state;
	/* Work 10 s on 2 workers: bound max(4, 5) = 5. FIFO runs 0 and 1
	 * first, then the chain alone: 3 + 4 = 7. */
	assert_true(lb == 5);
	assert_true(cp == 5);
	assert_true(fifo == 7);
}

static void test_sched_cycle_is_refused_with_a_member_named(void **state)
{
	static const size_t to1[] = { 1 }, to0[] = { 0 };
	static const struct builder_sched_job cyc[] = { { 1, to1, 1 }, { 1, to0, 1 }, { 1, NULL, 0 } };
	struct sy_error err = { { 0 } };

	(void)state;
	assert_null(builder_sched_new(cyc, 3, BUILDER_SCHED_FIFO, &err));
	assert_non_null(strstr(err.msg, "dependency cycle"));
	assert_true(builder_sched_simulate(cyc, 3, 2, BUILDER_SCHED_FIFO, NULL, &err) < 0);
}

static void test_sched_retry_hands_the_job_out_again(void **state)
{
	struct sy_error err = { { 0 } };
	struct builder_sched *s = builder_sched_new(chain_jobs, 6, BUILDER_SCHED_FIFO, &err);
	double path = 0;

	(void)state;
	assert_int_equal(builder_sched_next(s), 0);
	builder_sched_retry(s, 0);
	assert_int_equal(builder_sched_next(s), 1);
	assert_int_equal(builder_sched_next(s), 2);
	assert_int_equal(builder_sched_next(s), 0);
	assert_true(builder_sched_remaining(s, &path) == 10);
	assert_true(path == 4);
	builder_sched_done(s, 0);
	assert_true(builder_sched_remaining(s, NULL) == 7);
	builder_sched_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sched_critical_path_is_longest_chain_to_the_end),
		cmocka_unit_test(test_sched_job_not_ready_before_its_dependencies_are_done),
		cmocka_unit_test(test_sched_critical_path_beats_fifo_and_meets_lower_bound),
		cmocka_unit_test(test_sched_cycle_is_refused_with_a_member_named),
		cmocka_unit_test(test_sched_retry_hands_the_job_out_again),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
