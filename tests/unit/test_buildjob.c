/* Isolated builds on the worker root of config/worker.conf (built into
 * $SHIPYARD_WORKER_CACHE on first use, about a minute). Needs root. */
#include "testutil.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <time.h>

#include "builder/buildjob.h"
#include "builder/worker.h"

static char *worker_root;

static int group_setup(void **state)
{
	struct builder_worker_manifest m;
	struct sy_error err = { { 0 } };
	const char *cache = getenv("SHIPYARD_WORKER_CACHE");

	(void)state;
	if (!cache)
		cache = "build/worker-cache";
	if (builder_worker_manifest_read("config/worker.conf", &m, &err) ||
	    builder_worker_ensure(cache, &m, 2, &worker_root, &err)) {
		fprintf(stderr, "worker root: %s\n", err.msg);
		return -1;
	}
	builder_worker_manifest_release(&m);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	free(worker_root);
	return 0;
}

/* One test's directories: a spec directory, the scratch directory of the
 * build (under a builds directory) and the output directory. */
struct fixture {
	char *dir;
	char *spec_dir;
	char *builds;
	char *scratch;
	char *out;
	char *log;
	int log_fd;
};

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));
	struct sy_error err = { { 0 } };

	f->dir = test_tmpdir();
	f->spec_dir = sy_xasprintf("%s/SPECS/hello", f->dir);
	f->builds = sy_xasprintf("%s/builds", f->dir);
	f->scratch = sy_xasprintf("%s/builds/job-1", f->dir);
	f->out = sy_xasprintf("%s/out", f->dir);
	f->log = sy_xasprintf("%s/build.log", f->dir);
	assert_ok(sy_mkdir_p(f->spec_dir, 0755, &err), &err);
	f->log_fd = open(f->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(f->log_fd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };

	close(f->log_fd);
	sy_rm_rf(f->dir, &err);
	free(f->dir);
	free(f->spec_dir);
	free(f->builds);
	free(f->scratch);
	free(f->out);
	free(f->log);
	free(f);
	return 0;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	struct sy_error err = { { 0 } };
	char *path = sy_xasprintf("%s/%s", dir, name);

	assert_ok(sy_write_file(path, text, strlen(text), 0644, &err), &err);
	free(path);
}

/* Writes <spec_dir>/<name>.spec with Source0 hello.c, the given %build, a
 * %install that installs hello as /usr/bin/<name> and then runs install, the
 * extra %files lines files and the trailing sections tail (scriptlets), plus
 * hello.c itself. */
static void write_spec_full(struct fixture *f, const char *name, const char *build,
			    const char *install, const char *files, const char *tail)
{
	char *spec = sy_xasprintf("Name: %s\nVersion: 1.0\nRelease: 1\nSummary: Test\n"
				  "License: MIT\nSource0: hello.c\n\n"
				  "%%description\nTest package.\n\n"
				  "%%prep\n%%setup -q -c -T\ncp %%{SOURCE0} .\n\n"
				  "%%build\n%s\n\n"
				  "%%install\ninstall -D -m 755 hello %%{buildroot}/usr/bin/%s\n%s\n\n"
				  "%%files\n/usr/bin/%s\n%s\n\n%s\n",
				  name, build, name, install, name, files, tail);
	char *file = sy_xasprintf("%s.spec", name);

	write_file(f->spec_dir, file, spec);
	write_file(f->spec_dir, "hello.c",
		   "#include <stdio.h>\nint main(void)\n{\n\tputs(\"hello\");\n\treturn 0;\n}\n");
	free(file);
	free(spec);
}

/* write_spec_full with nothing extra. */
static void write_spec(struct fixture *f, const char *name, const char *build)
{
	write_spec_full(f, name, build, "", "", "");
}

static struct builder_build_request request(struct fixture *f, const char *spec_file)
{
	struct builder_build_request req = {
		.spec_dir = f->spec_dir,
		.spec_file = spec_file,
		.worker_root = worker_root,
		.scratch_dir = f->scratch,
		.out_dir = f->out,
		.log_fd = f->log_fd,
		.timeout_s = 300,
	};
	return req;
}

/* Fails the test when the host's mount table shows anything under dir. */
static void assert_nothing_mounted_under(const char *dir)
{
	struct sy_error err = { { 0 } };
	char *table;

	assert_ok(sy_read_file("/proc/self/mountinfo", &table, NULL, &err), &err);
	if (strstr(table, dir))
		fail_msg("%s still has mounts:\n%s", dir, table);
	free(table);
}

static void print_log_on_failure(struct fixture *f, int rc, struct sy_error *err)
{
	char *log;

	if (rc == 0)
		return;
	if (sy_read_file(f->log, &log, NULL, NULL) == 0) {
		fprintf(stderr, "%s\n", log);
		free(log);
	}
	fail_msg("builder_build_run: %s", err->msg);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static void test_build_run_makes_rpm_and_srpm(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "hello.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };

	write_spec(f, "hello", "gcc -O2 -o hello hello.c");
	print_log_on_failure(f, builder_build_run(&req, &res, &err), &err);
	assert_int_equal(res.rpms.n, 1);
	assert_true(ends_with(res.rpms.items[0], "/hello-1.0-1.x86_64.rpm"));
	assert_true(strncmp(res.rpms.items[0], f->out, strlen(f->out)) == 0);
	assert_true(sy_exists(res.rpms.items[0]));
	assert_non_null(res.srpm);
	assert_true(ends_with(res.srpm, "/hello-1.0-1.src.rpm"));
	assert_true(sy_exists(res.srpm));
	assert_true(res.seconds > 0);
	assert_false(sy_exists(f->scratch));
	assert_nothing_mounted_under(f->scratch);
	builder_build_result_release(&res);
}

/* The build sees its own host name, a loopback-only network and a clean
 * environment, not the host's. */
static void test_build_run_isolates_hostname_network_and_environment(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "iso.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };

	setenv("LIBRARY_PATH", "/host/lib", 1);
	write_spec(f, "iso",
		   "test \"$(cat /proc/sys/kernel/hostname)\" = shipyard-build\n"
		   "test -z \"$LIBRARY_PATH\"\n"
		   "test \"$PATH\" = /usr/sbin:/usr/bin:/sbin:/bin\n"
		   "if grep -v -e '|' -e '^ *lo:' /proc/net/dev; then exit 1; fi\n"
		   "test ! -e /work\n"
		   "gcc -o hello hello.c");
	print_log_on_failure(f, builder_build_run(&req, &res, &err), &err);
	unsetenv("LIBRARY_PATH");
	assert_int_equal(res.rpms.n, 1);
	builder_build_result_release(&res);
}

/* A build that connects to a port listening on the host's loopback fails:
 * the build's network namespace cannot reach it. */
static void test_build_run_has_no_network(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "net.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char *build, *log;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(sock >= 0);
	assert_int_equal(bind(sock, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(sock, 1), 0);
	assert_int_equal(getsockname(sock, (struct sockaddr *)&addr, &len), 0);
	build = sy_xasprintf("bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d'\ngcc -o hello hello.c",
			     ntohs(addr.sin_port));
	write_spec(f, "net", build);
	assert_int_equal(builder_build_run(&req, &res, &err), -1);
	assert_non_null(strstr(err.msg, "rpmbuild failed with status"));
	assert_false(sy_exists(f->scratch));
	assert_ok(sy_read_file(f->log, &log, NULL, &err), &err);
	assert_non_null(strstr(log, "Network is unreachable"));
	free(log);
	close(sock);
	free(build);
}

static void test_build_run_failing_build_leaves_no_scratch_or_mounts(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "broken.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	char *log;

	write_spec(f, "broken", "echo 'compiler says no' >&2\nexit 1");
	assert_int_equal(builder_build_run(&req, &res, &err), -1);
	assert_string_equal(err.msg, "rpmbuild failed with status 1, see log");
	assert_int_equal(res.rpms.n, 0);
	assert_null(res.srpm);
	assert_false(sy_exists(f->scratch));
	assert_nothing_mounted_under(f->scratch);
	assert_ok(sy_read_file(f->log, &log, NULL, &err), &err);
	assert_non_null(strstr(log, "compiler says no"));
	free(log);
}

static void test_build_run_stops_at_timeout(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "slow.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	struct timespec t0, t1;

	req.timeout_s = 3;
	write_spec(f, "slow", "sleep 30");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(builder_build_run(&req, &res, &err), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(err.msg, "timed out after 3 s");
	assert_true(t1.tv_sec - t0.tv_sec < 15);
	assert_false(sy_exists(f->scratch));
	assert_nothing_mounted_under(f->scratch);
}

/* A package built first is installed into the root of a second build that
 * reads a file it ships. */
static void test_build_run_installs_given_rpms_first(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "greet.spec");
	struct builder_build_result first, second;
	struct sy_error err = { { 0 } };

	write_spec(f, "greet", "gcc -o hello hello.c");
	print_log_on_failure(f, builder_build_run(&req, &first, &err), &err);
	const char *install[] = { first.rpms.items[0], NULL };
	req.spec_file = "user.spec";
	req.install_rpms = install;
	write_spec(f, "user", "test \"$(/usr/bin/greet)\" = hello\ngcc -o hello hello.c");
	print_log_on_failure(f, builder_build_run(&req, &second, &err), &err);
	assert_int_equal(second.rpms.n, 1);
	assert_true(ends_with(second.rpms.items[0], "/user-1.0-1.x86_64.rpm"));
	builder_build_result_release(&first);
	builder_build_result_release(&second);
}

/* The macro context's files reach rpmbuild inside the root and its defines
 * are passed on the command line. */
static void test_build_run_uses_macro_context(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "mac.spec");
	struct builder_macro_ctx ctx = { 0 };
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	char *macro_file = sy_xasprintf("%s/macros.greeting", f->dir);

	write_file(f->dir, "macros.greeting", "%greeting hello-from-macros\n");
	sy_strv_push(&ctx.macro_files, macro_file);
	sy_strv_push(&ctx.defines, "dist .test1");
	req.macros = &ctx;
	write_spec(f, "mac", "test %{greeting} = hello-from-macros\ngcc -o hello hello.c");
	print_log_on_failure(f, builder_build_run(&req, &res, &err), &err);
	assert_int_equal(res.rpms.n, 1);
	builder_build_result_release(&res);
	sy_strv_release(&ctx.macro_files);
	sy_strv_release(&ctx.defines);
	free(macro_file);
}

static void test_build_sweep_removes_stale_scratch_but_not_running_ones(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	char *stale = sy_xasprintf("%s/stale/upper/build", f->builds);
	char *running = sy_xasprintf("%s/running", f->builds);
	int fd;

	assert_ok(sy_mkdir_p(stale, 0755, &err), &err);
	assert_ok(sy_mkdir_p(running, 0755, &err), &err);
	fd = open(running, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_ok(builder_build_sweep(f->builds, &err), &err);
	stale[strlen(f->builds) + strlen("/stale")] = '\0';
	assert_false(sy_exists(stale));
	assert_true(sy_exists(running));
	close(fd);
	assert_ok(builder_build_sweep(f->builds, &err), &err);
	assert_false(sy_exists(running));
	free(stale);
	free(running);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_build_run_makes_rpm_and_srpm, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_build_run_isolates_hostname_network_and_environment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_run_has_no_network, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_build_run_failing_build_leaves_no_scratch_or_mounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_run_stops_at_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_run_installs_given_rpms_first, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_build_run_uses_macro_context, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_build_sweep_removes_stale_scratch_but_not_running_ones, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
