/* The slurm executor (builder/slurm.h) against a fake Slurm: sbatch,
 * squeue, scancel and sacct scripts first in PATH that log their arguments
 * and answer what the test wrote; and job descriptions (builder/jobdesc.h). */
#include "testutil.h"

#include "builder/executor.h"
#include "builder/jobdesc.h"
#include "builder/slurm.h"

struct fake {
	char *dir;     /* the fake's files: logs, answers, scripts */
	char *jobs;    /* the executor's jobs directory */
	char *old_path;
};

static void write_text(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path = sy_xasprintf("%s/%s", dir, name);

	assert_int_equal(sy_write_file(path, text, strlen(text), mode, NULL), 0);
	free(path);
}

static char *read_text(const char *dir, const char *name)
{
	char *path = sy_xasprintf("%s/%s", dir, name), *data = NULL;
	size_t len;

	if (sy_read_file(path, &data, &len, NULL))
		data = NULL;
	free(path);
	return data;
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	char *bin;

	f->dir = test_tmpdir();
	f->jobs = sy_xasprintf("%s/jobs", f->dir);
	bin = sy_xasprintf("%s/bin", f->dir);
	sy_mkdir_p(bin, 0755, NULL);
	/* sbatch logs its arguments and answers the next id, from 41. */
	char *sbatch = sy_xasprintf("#!/bin/sh\necho \"$@\" >>'%s/sbatch.log'\n"
				    "n=$(cat '%s/next' 2>/dev/null || echo 41)\necho $((n + 1)) >'%s/next'\n"
				    "echo \"$n;cluster\"\n", f->dir, f->dir, f->dir);
	char *squeue = sy_xasprintf("#!/bin/sh\necho \"$@\" >>'%s/squeue.log'\n"
				    "[ -f '%s/squeue.out' ] || exit 1\ncat '%s/squeue.out'\n",
				    f->dir, f->dir, f->dir);
	char *scancel = sy_xasprintf("#!/bin/sh\necho \"$@\" >>'%s/scancel.log'\n", f->dir);
	char *sacct = sy_xasprintf("#!/bin/sh\n[ -f '%s/sacct.out' ] || exit 1\ncat '%s/sacct.out'\n",
				   f->dir, f->dir);
	write_text(bin, "sbatch", sbatch, 0755);
	write_text(bin, "squeue", squeue, 0755);
	write_text(bin, "scancel", scancel, 0755);
	write_text(bin, "sacct", sacct, 0755);
	f->old_path = sy_xstrdup(getenv("PATH"));
	char *path = sy_xasprintf("%s:%s", bin, f->old_path);
	setenv("PATH", path, 1);
	free(path);
	free(sbatch);
	free(squeue);
	free(scancel);
	free(sacct);
	free(bin);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	setenv("PATH", f->old_path, 1);
	sy_rm_rf(f->dir, NULL);
	free(f->dir);
	free(f->jobs);
	free(f->old_path);
	free(f);
	return 0;
}

/* What describe got, for the test to look at. */
struct described {
	int calls;
	int fail;      /* 1: the job ends while described */
	char *result;  /* the result path given */
};

static int describe(void *arg, const char *desc, const char *result, char **line)
{
	struct described *d = arg;

	d->calls++;
	free(d->result);
	d->result = sy_xstrdup(result);
	if (d->fail) {
		*line = sy_xstrdup("0 0 0.000 -1\tSPECS/x/x.spec: sources missing\n");
		return -1;
	}
	return sy_write_file(desc, "{}", 2, 0644, NULL);
}

static struct builder_executor *make(struct fake *f)
{
	const char *const options[] = { "--constraint=ssd", NULL };
	struct builder_executor_config cfg = {
		.name = "slurm", .jobs_dir = f->jobs, .partition = "build", .account = "distro",
		.qos = "normal", .sbatch_options = options, .program = "/opt/shipyard",
		.tick_ms = 10,
	};
	struct sy_error err = { { 0 } };
	struct builder_executor *ex = builder_executor_new(&cfg, &err);

	assert_non_null(ex);
	return ex;
}

static void start(struct builder_executor *ex, struct described *d, size_t id, const char *name)
{
	struct builder_executor_job job = {
		.id = id, .name = name, .describe = describe, .arg = d,
		.res = { .cpus = 2, .memory_mib = 4096, .tmp_mib = 100, .time_s = 601 },
	};
	struct sy_error err = { { 0 } };

	assert_int_equal(builder_executor_start(ex, &job, &err), 0);
}

/* Waits up to a second for a finished job. */
static int wait_done(struct builder_executor *ex, struct builder_executor_done *done)
{
	for (int i = 0; i < 20; i++)
		if (builder_executor_wait(ex, 50, done) == 1)
			return 1;
	return 0;
}

static void test_slurm_submits_with_resource_class_and_settings(void **state)
{
	struct fake *f = *state;
	struct builder_executor *ex = make(f);
	struct described d = { 0 };

	start(ex, &d, 7, "hello-0123456789ab");
	char *log = read_text(f->dir, "sbatch.log");
	assert_non_null(log);
	assert_non_null(strstr(log, "--parsable"));
	assert_non_null(strstr(log, "--job-name=shipyard-hello-0123456789ab"));
	assert_non_null(strstr(log, "--cpus-per-task=2 --mem=4096M --tmp=100M --time=11"));
	assert_non_null(strstr(log, "--partition=build --account=distro --qos=normal "
				    "--constraint=ssd"));
	assert_non_null(strstr(log, "/jobs/hello-0123456789ab/job.sh"));
	char *dir = sy_xasprintf("%s/hello-0123456789ab", f->jobs);
	char *jobid = read_text(dir, "jobid"), *script = read_text(dir, "job.sh");
	assert_string_equal(jobid, "41");
	assert_non_null(strstr(script, "exec '/opt/shipyard' buildjob '"));
	assert_int_equal(builder_executor_running(ex), 1);
	builder_executor_free(ex);
	free(jobid);
	free(script);
	free(dir);
	free(log);
	free(d.result);
}

static void test_slurm_result_file_finishes_the_job(void **state)
{
	struct fake *f = *state;
	struct builder_executor *ex = make(f);
	struct described d = { 0 };
	struct builder_executor_done done;

	start(ex, &d, 3, "a-1");
	write_text(f->dir, "squeue.out", "41|RUNNING\n", 0644);
	assert_int_equal(builder_executor_wait(ex, 30, &done), 0);
	assert_int_equal(sy_write_file(d.result, "1 0 2.500 -1\t\n", 14, 0644, NULL), 0);
	assert_int_equal(wait_done(ex, &done), 1);
	assert_int_equal(done.id, 3);
	assert_int_equal(done.status, 0);
	assert_string_equal(done.line, "1 0 2.500 -1\t\n");
	free(done.line);
	/* A success leaves no job directory. */
	char *dir = sy_xasprintf("%s/a-1", f->jobs);
	assert_false(sy_exists(dir));
	free(dir);
	builder_executor_free(ex);
	free(d.result);
}

static void test_slurm_node_failure_is_infrastructure_timeout_is_the_build(void **state)
{
	struct fake *f = *state;
	struct builder_executor *ex = make(f);
	struct described d1 = { 0 }, d2 = { 0 };
	struct builder_executor_done a, b;

	start(ex, &d1, 1, "a-1");
	start(ex, &d2, 2, "b-2");
	write_text(f->dir, "squeue.out", "41|NODE_FAIL\n42|TIMEOUT\n", 0644);
	assert_int_equal(wait_done(ex, &a), 1);
	assert_int_equal(wait_done(ex, &b), 1);
	if (a.id == 2) {
		struct builder_executor_done t = a;
		a = b;
		b = t;
	}
	assert_true(!strncmp(a.line, "0 1 ", 4));
	assert_non_null(strstr(a.line, "NODE_FAIL"));
	assert_true(!strncmp(b.line, "0 0 ", 4));
	assert_non_null(strstr(b.line, "TIMEOUT, a limit of its resource class"));
	/* One squeue per tick for all jobs. */
	char *log = read_text(f->dir, "squeue.log");
	assert_non_null(strstr(log, "--jobs=41,42"));
	free(log);
	free(a.line);
	free(b.line);
	builder_executor_free(ex);
	free(d1.result);
	free(d2.result);
}

static void test_slurm_cancelled_from_outside_is_infrastructure(void **state)
{
	struct fake *f = *state;
	struct builder_executor *ex = make(f);
	struct described d = { 0 };
	struct builder_executor_done done;

	start(ex, &d, 1, "a-1");
	write_text(f->dir, "squeue.out", "41|CANCELLED\n", 0644);
	assert_int_equal(wait_done(ex, &done), 1);
	assert_true(!strncmp(done.line, "0 1 ", 4));
	free(done.line);
	builder_executor_free(ex);
	free(d.result);
}

static void test_slurm_restart_attaches_instead_of_submitting(void **state)
{
	struct fake *f = *state;
	struct builder_executor *ex = make(f);
	struct described d = { 0 };
	struct builder_executor_done done;

	start(ex, &d, 1, "a-1");
	/* The scheduler dies: a new one starts the same job. */
	builder_executor_free(ex);
	ex = make(f);
	struct described again = { 0 };
	start(ex, &again, 1, "a-1");
	assert_int_equal(again.calls, 0);
	char *log = read_text(f->dir, "sbatch.log");
	assert_int_equal(strchr(log, '\n') - log + 1, (long)strlen(log)); /* one sbatch */
	write_text(f->dir, "squeue.out", "41|RUNNING\n", 0644);
	assert_int_equal(builder_executor_wait(ex, 30, &done), 0);
	assert_int_equal(sy_write_file(d.result, "1 0 1.000 -1\t\n", 14, 0644, NULL), 0);
	assert_int_equal(wait_done(ex, &done), 1);
	assert_string_equal(done.line, "1 0 1.000 -1\t\n");
	free(done.line);
	free(log);
	builder_executor_free(ex);
	free(d.result);
}

static void test_slurm_cancel_scancels_and_skips(void **state)
{
	struct fake *f = *state;
	struct builder_executor *ex = make(f);
	struct described d = { 0 };
	struct builder_executor_done done;

	start(ex, &d, 1, "a-1");
	builder_executor_cancel(ex);
	char *log = read_text(f->dir, "scancel.log");
	assert_non_null(log);
	assert_string_equal(log, "41\n");
	write_text(f->dir, "squeue.out", "41|CANCELLED\n", 0644);
	assert_int_equal(wait_done(ex, &done), 1);
	assert_true(!strncmp(done.line, "0 0 ", 4)); /* not retried */
	free(done.line);
	free(log);
	builder_executor_free(ex);
	free(d.result);
}

static void test_slurm_job_ended_while_described_is_not_submitted(void **state)
{
	struct fake *f = *state;
	struct builder_executor *ex = make(f);
	struct described d = { .fail = 1 };
	struct builder_executor_done done;

	start(ex, &d, 5, "x-1");
	assert_int_equal(wait_done(ex, &done), 1);
	assert_int_equal(done.id, 5);
	assert_non_null(strstr(done.line, "sources missing"));
	char *log = read_text(f->dir, "sbatch.log");
	assert_null(log);
	free(done.line);
	builder_executor_free(ex);
	free(d.result);
}

static void test_slurm_states_and_time_limits(void **state)
{
	char buf[24];

	(void)state;
	assert_int_equal(builder_slurm_state_class("PENDING"), 0);
	assert_int_equal(builder_slurm_state_class("RUNNING"), 0);
	assert_int_equal(builder_slurm_state_class("NODE_FAIL"), 1);
	assert_int_equal(builder_slurm_state_class("BOOT_FAIL"), 1);
	assert_int_equal(builder_slurm_state_class("PREEMPTED"), 1);
	assert_int_equal(builder_slurm_state_class("CANCELLED by 0"), 1);
	assert_int_equal(builder_slurm_state_class("CANCELLED+"), 1);
	assert_int_equal(builder_slurm_state_class("TIMEOUT"), 2);
	assert_int_equal(builder_slurm_state_class("OUT_OF_MEMORY"), 2);
	assert_int_equal(builder_slurm_state_class("COMPLETED"), 3);
	assert_int_equal(builder_slurm_state_class("FAILED"), 3);
	builder_slurm_time(0, buf, sizeof(buf));
	assert_string_equal(buf, "1");
	builder_slurm_time(600, buf, sizeof(buf));
	assert_string_equal(buf, "10");
	builder_slurm_time(601, buf, sizeof(buf));
	assert_string_equal(buf, "11");
}

static void test_jobdesc_round_trip_and_unknown_member_refused(void **state)
{
	struct fake *f = *state;
	struct builder_jobdesc d = { 0 }, r;
	struct sy_error err = { { 0 } };
	char *path = sy_xasprintf("%s/job.json", f->dir);

	d.spec_path = sy_xstrdup("SPECS/hello/hello.spec");
	d.name = sy_xstrdup("hello");
	d.version = sy_xstrdup("1.0");
	d.release = sy_xstrdup("1.mdst1");
	d.key = sy_xstrdup("abc");
	d.spec_dir = sy_xstrdup("/s/src");
	d.spec_file = sy_xstrdup("hello.spec");
	d.worker_root = sy_xstrdup("/w");
	d.scratch_dir = sy_xstrdup("/b/hello-abc");
	d.artifact_dir = sy_xstrdup("/a/abc");
	d.log_path = sy_xstrdup("/l/hello.log");
	d.result_path = sy_xstrdup("/s/result");
	sy_strv_push(&d.install_rpms, "/a/x/libgreet-devel-1.0-1.x86_64.rpm");
	sy_strv_push(&d.macros.defines, "dist .mdst1");
	d.macros.dist_tag = sy_xstrdup(".mdst1");
	d.timeout_s = 3600;
	d.output_limit_bytes = 1ULL << 34;
	d.smp_ncpus_max = 4;
	d.run_check = 1;
	assert_int_equal(builder_jobdesc_write(&d, path, &err), 0);
	assert_int_equal(builder_jobdesc_read(path, &r, &err), 0);
	assert_string_equal(r.spec_path, d.spec_path);
	assert_string_equal(r.result_path, d.result_path);
	assert_null(r.worker_tarball);
	assert_null(r.keep_file);
	assert_int_equal(r.install_rpms.n, 1);
	assert_string_equal(r.install_rpms.items[0], d.install_rpms.items[0]);
	assert_string_equal(r.macros.defines.items[0], "dist .mdst1");
	assert_string_equal(r.macros.dist_tag, ".mdst1");
	assert_int_equal(r.timeout_s, 3600);
	assert_true(r.output_limit_bytes == 1ULL << 34);
	assert_int_equal(r.smp_ncpus_max, 4);
	assert_int_equal(r.run_check, 1);
	builder_jobdesc_release(&r);

	/* A member this shipyard does not know, and one missing. */
	char *text = NULL;
	size_t len;
	assert_int_equal(sy_read_file(path, &text, &len, NULL), 0);
	char *extra = sy_xasprintf("{\"network\": true, %s", text + 1);
	assert_int_equal(sy_write_file(path, extra, strlen(extra), 0644, NULL), 0);
	assert_int_equal(builder_jobdesc_read(path, &r, &err), -1);
	assert_non_null(strstr(err.msg, "unknown member 'network'"));
	assert_int_equal(sy_write_file(path, "{\"name\": \"x\"}", 13, 0644, NULL), 0);
	assert_int_equal(builder_jobdesc_read(path, &r, &err), -1);
	assert_non_null(strstr(err.msg, "missing or not"));
	free(extra);
	free(text);
	builder_jobdesc_release(&d);
	free(path);
}

static void test_executor_unknown_name_and_slurm_without_jobs_dir(void **state)
{
	struct builder_executor_config cfg = { .name = "kubernetes" };
	struct sy_error err = { { 0 } };

	(void)state;
	assert_null(builder_executor_new(&cfg, &err));
	assert_string_equal(err.msg, "unknown executor 'kubernetes' (local, slurm)");
	cfg.name = "slurm";
	assert_null(builder_executor_new(&cfg, &err));
	assert_string_equal(err.msg, "slurm executor: no jobs directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_slurm_submits_with_resource_class_and_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slurm_result_file_finishes_the_job, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slurm_node_failure_is_infrastructure_timeout_is_the_build, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slurm_cancelled_from_outside_is_infrastructure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slurm_restart_attaches_instead_of_submitting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slurm_cancel_scancels_and_skips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slurm_job_ended_while_described_is_not_submitted, setup, teardown),
		cmocka_unit_test(test_slurm_states_and_time_limits),
		cmocka_unit_test_setup_teardown(test_jobdesc_round_trip_and_unknown_member_refused, setup, teardown),
		cmocka_unit_test(test_executor_unknown_name_and_slurm_without_jobs_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
