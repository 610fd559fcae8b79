/* Isolated builds on the worker root of config/worker.conf (built into
 * $SHIPYARD_WORKER_CACHE on first use, about a minute). Needs root. */
#define _GNU_SOURCE
#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "builder/buildjob.h"
#include "builder/buildlock.h"
#include "builder/outdigest.h"
#include "builder/rootfs.h"
#include "sandbox/rpminstall.h"
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
	    builder_worker_ensure(cache, &m, NULL, 2, &worker_root, &err)) {
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
				  "%%install\n"
				  "install -D -m 755 hello %%{buildroot}/usr/bin/%s\n%s\n\n"
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
		   "cat /proc/sys/kernel/hostname | grep -Ex 'shipyard-[0-9a-f]{12}'\n"
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
	assert_string_equal(err.msg, "rpmbuild failed with status 1: %build failed: compiler says no");
	assert_int_equal(res.infrastructure, 0);
	assert_int_equal(res.rpms.n, 0);
	assert_null(res.srpm);
	assert_false(sy_exists(f->scratch));
	assert_nothing_mounted_under(f->scratch);
	assert_ok(sy_read_file(f->log, &log, NULL, &err), &err);
	assert_non_null(strstr(log, "compiler says no"));
	free(log);
}

/* A build calling a command the root lacks (as the Azure Linux macros call
 * their own scripts, which a root holding only macro files does not have)
 * fails with a reason naming the command, not rpmbuild's temporary
 * script. */
static void test_build_run_failure_reason_names_missing_command(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "nocmd.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };

	write_spec(f, "nocmd", "/usr/lib/rpm/no-such-helper.sh --run");
	assert_int_equal(builder_build_run(&req, &res, &err), -1);
	assert_non_null(strstr(err.msg, "rpmbuild failed with status 1: %build failed: "
					"/usr/lib/rpm/no-such-helper.sh: "));
	assert_non_null(strstr(err.msg, "not found"));
	assert_null(strstr(err.msg, "rpm-tmp"));
	assert_int_equal(res.infrastructure, 0);
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
	struct planner_macro_ctx ctx = { 0 };
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

/* A rebuild suffix (builder/rebuild.h) reaches the Release of the SRPM and
 * of the binary packages after the dist tag, without the spec being
 * edited, and the packages' DistURL names it. */
static void test_build_run_rebuild_suffix_follows_dist_tag(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "rel.spec");
	struct planner_macro_ctx ctx = { .dist_tag = (char *)".test1" };
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	char out[SY_SHA256_HEX_LEN + 1], *suffix;

	sy_strv_push(&ctx.defines, "dist .test1");
	req.macros = &ctx;
	req.rebuild_suffix = ".3";
	write_file(f->spec_dir, "rel.spec",
		   "Name: rel\nVersion: 1.0\nRelease: 1%{?dist}\nSummary: Test\nLicense: MIT\n"
		   "BuildArch: noarch\n%description\nTest.\n"
		   "%install\nmkdir -p %{buildroot}/usr/share/rel\n"
		   "echo %{release} > %{buildroot}/usr/share/rel/release\n"
		   "%files\n/usr/share/rel/release\n");
	print_log_on_failure(f, builder_build_run(&req, &res, &err), &err);
	assert_true(ends_with(res.srpm, "/rel-1.0-1.test1.3.src.rpm"));
	assert_int_equal(res.rpms.n, 1);
	assert_true(ends_with(res.rpms.items[0], "/rel-1.0-1.test1.3.noarch.rpm"));
	assert_ok(builder_output_digest_package(res.rpms.items[0], out, &suffix, &err), &err);
	assert_string_equal(suffix, ".3");
	free(suffix);
	builder_build_result_release(&res);
	sy_strv_release(&ctx.defines);
}

/* A BuildRequires package whose %post escapes rpm's chroot (chroot into a
 * subdirectory, climb out with "..", chroot to where it got) and writes an
 * absolute path writes into the build root, not the host: packages are
 * installed only once the host tree is detached. The second build checks
 * that the %post did run. */
static void test_build_run_installs_rpms_out_of_reach_of_the_host(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "escape.spec");
	struct builder_build_result first, second;
	struct sy_error err = { { 0 } };
	char *probe = sy_xasprintf("%s/escape-probe", f->dir);
	char *post = sy_xasprintf("%%post\nperl -e 'mkdir \"/esc\"; chroot \"/esc\"; "
				  "chdir \"..\" for 1..64; chroot \".\"; mkdir \"%s\"; "
				  "open(F, \">\", \"%s\") and print F \"escaped\"; exit 0'\n",
				  f->dir, probe);
	char *build = sy_xasprintf("test -e %s\ngcc -o hello hello.c", probe);
	int rc;

	write_spec_full(f, "escape", "gcc -o hello hello.c", "", "", post);
	print_log_on_failure(f, builder_build_run(&req, &first, &err), &err);
	const char *install[] = { first.rpms.items[0], NULL };
	req.spec_file = "user.spec";
	req.install_rpms = install;
	write_spec(f, "user", build);
	rc = builder_build_run(&req, &second, &err);
	assert_false(sy_exists(probe));
	print_log_on_failure(f, rc, &err);
	builder_build_result_release(&first);
	builder_build_result_release(&second);
	free(build);
	free(post);
	free(probe);
}

/* Files of the macro context are copied into the root before any package
 * is installed, so a package shipping /usr/lib/rpm/lua as a symlink to a
 * host directory cannot redirect the copy there. */
static void test_build_run_macro_files_not_redirected_by_packages(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "lualink.spec");
	struct planner_macro_ctx ctx = { 0 };
	struct builder_build_result first, second;
	struct sy_error err = { { 0 } };
	char *host = sy_xasprintf("%s/host-lua", f->dir);
	char *lua = sy_xasprintf("%s/lua", f->dir);
	char *copied = sy_xasprintf("%s/shipyardtest.lua", host);
	char *install = sy_xasprintf("mkdir -p %%{buildroot}/usr/lib/rpm\n"
				     "ln -s %s %%{buildroot}/usr/lib/rpm/lua", host);

	assert_ok(sy_mkdir_p(host, 0755, &err), &err);
	assert_ok(sy_mkdir_p(lua, 0755, &err), &err);
	write_file(lua, "shipyardtest.lua", "return {}\n");
	write_spec_full(f, "lualink", "gcc -o hello hello.c", install, "/usr/lib/rpm/lua", "");
	print_log_on_failure(f, builder_build_run(&req, &first, &err), &err);
	const char *rpms[] = { first.rpms.items[0], NULL };
	ctx.lua_dir = lua;
	req.macros = &ctx;
	req.spec_file = "user.spec";
	req.install_rpms = rpms;
	write_spec(f, "user", "gcc -o hello hello.c");
	if (builder_build_run(&req, &second, &err) == 0)
		builder_build_result_release(&second);
	assert_false(sy_exists(copied));
	builder_build_result_release(&first);
	free(install);
	free(copied);
	free(lua);
	free(host);
}

/* /proc/sys and /proc/sysrq-trigger cannot be opened for writing by the
 * build (the open alone is tried: nothing is written). */
static void test_build_run_proc_sys_is_read_only(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "procro.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };

	write_spec(f, "procro",
		   "test -r /proc/sys/kernel/core_pattern\n"
		   "if (exec 3>>/proc/sys/kernel/core_pattern) 2>/dev/null; then\n"
		   "  echo 'core_pattern is writable'; exit 1\nfi\n"
		   "if test -e /proc/sysrq-trigger &&\n"
		   "   (exec 3>>/proc/sysrq-trigger) 2>/dev/null; then\n"
		   "  echo 'sysrq-trigger is writable'; exit 1\nfi\n"
		   "gcc -o hello hello.c");
	print_log_on_failure(f, builder_build_run(&req, &res, &err), &err);
	assert_int_equal(res.rpms.n, 1);
	builder_build_result_release(&res);
}

/* Symlinks the build leaves in /build/RPMS and /build/SRPMS (to a host
 * directory, to host files) are not followed when the outputs are collected:
 * the host files stay where they are and only real outputs are taken. */
static void test_build_run_does_not_follow_symlinks_in_outputs(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "links.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	char *decoys = sy_xasprintf("%s/decoys", f->dir);
	char *decoy_rpm = sy_xasprintf("%s/decoy-1.0-1.x86_64.rpm", decoys);
	char *decoy_srpm = sy_xasprintf("%s/decoy-1.0-1.src.rpm", decoys);
	char *build = sy_xasprintf("mkdir -p /build/RPMS/x86_64\n"
				   "ln -s %s /build/RPMS/noarch\n"
				   "ln -s %s /build/RPMS/x86_64/link-1.0-1.x86_64.rpm\n"
				   "ln -s %s /build/SRPMS/link-1.0-1.src.rpm\n"
				   "gcc -o hello hello.c",
				   decoys, decoy_rpm, decoy_srpm);
	struct dirent *de;
	DIR *d;
	int n = 0;

	assert_ok(sy_mkdir_p(decoys, 0755, &err), &err);
	write_file(decoys, "decoy-1.0-1.x86_64.rpm", "decoy");
	write_file(decoys, "decoy-1.0-1.src.rpm", "decoy");
	write_spec(f, "links", build);
	print_log_on_failure(f, builder_build_run(&req, &res, &err), &err);
	assert_true(sy_exists(decoy_rpm));
	assert_true(sy_exists(decoy_srpm));
	assert_int_equal(res.rpms.n, 1);
	assert_true(ends_with(res.rpms.items[0], "/links-1.0-1.x86_64.rpm"));
	assert_true(ends_with(res.srpm, "/links-1.0-1.src.rpm"));
	d = opendir(f->out);
	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 2);
	builder_build_result_release(&res);
	free(build);
	free(decoy_srpm);
	free(decoy_rpm);
	free(decoys);
}

/* Outputs reach an output directory on another filesystem (a tmpfs) by
 * copy. */
static void test_build_run_copies_outputs_to_another_filesystem(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "xdev.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	int rc;

	assert_ok(sy_mkdir_p(f->out, 0755, &err), &err);
	assert_int_equal(mount("tmpfs", f->out, "tmpfs", 0, "size=64m"), 0);
	write_spec(f, "xdev", "gcc -o hello hello.c");
	rc = builder_build_run(&req, &res, &err);
	if (rc == 0) {
		assert_int_equal(res.rpms.n, 1);
		assert_true(ends_with(res.rpms.items[0], "/xdev-1.0-1.x86_64.rpm"));
		assert_true(sy_exists(res.rpms.items[0]));
		assert_true(sy_exists(res.srpm));
		builder_build_result_release(&res);
	}
	assert_int_equal(umount2(f->out, MNT_DETACH), 0);
	print_log_on_failure(f, rc, &err);
}

/* Runs the build request arg in a child of the test (child_fn). */
static int run_build(void *arg)
{
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	int rc = builder_build_run(arg, &res, &err);

	if (rc)
		dprintf(2, "running build: %s\n", err.msg);
	return rc ? 1 : 0;
}

/* A second build given the scratch directory of a running build fails
 * without touching it, and the running build completes. */
static void test_build_run_leaves_scratch_of_running_build_alone(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "slowok.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	char *sources = sy_xasprintf("%s/upper/build/SOURCES", f->scratch);
	char *out2 = sy_xasprintf("%s/out2", f->dir);
	struct sy_child running = SY_CHILD_INIT;

	write_spec(f, "slowok", "sleep 4\ngcc -o hello hello.c");
	running.child_fn = run_build;
	running.child_arg = &req;
	assert_ok(sy_child_start(&running, &err), &err);
	for (int i = 0; i < 600 && !sy_exists(sources); i++)
		usleep(100 * 1000);
	assert_true(sy_exists(sources));
	req.out_dir = out2;
	assert_int_equal(builder_build_run(&req, &res, &err), -1);
	assert_non_null(strstr(err.msg, "in use by another build"));
	assert_true(sy_exists(sources));
	assert_int_equal(sy_child_finish(&running), 0);
	sy_child_release(&running);
	assert_false(sy_exists(f->scratch));
	free(out2);
	free(sources);
}

/* librpm checks the digests of the packages it installs: a package whose
 * header was altered (one byte of its description) is refused, the intact
 * one installs. */
static void test_rpm_install_refuses_package_with_bad_digest(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "digest.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	char *bad = sy_xasprintf("%s/bad.rpm", f->dir);
	char *bad_root = sy_xasprintf("%s/bad-root", f->dir);
	char *good_root = sy_xasprintf("%s/good-root", f->dir);
	char *installed = sy_xasprintf("%s/usr/bin/digest", good_root);
	char *data, *hit;
	size_t len;

	write_spec(f, "digest", "gcc -o hello hello.c");
	print_log_on_failure(f, builder_build_run(&req, &res, &err), &err);
	assert_ok(sy_read_file(res.rpms.items[0], &data, &len, &err), &err);
	hit = memmem(data, len, "Test package.", 13);
	assert_non_null(hit);
	hit[5] = 'P';
	assert_ok(sy_write_file(bad, data, len, 0644, &err), &err);
	const char *bad_list[] = { bad, NULL };
	const char *good_list[] = { res.rpms.items[0], NULL };
	assert_int_equal(sandbox_rpm_install(bad_root, bad_list, SANDBOX_RPMINSTALL_NODEPS |
					     SANDBOX_RPMINSTALL_NOSCRIPTS, -1, &err), -1);
	assert_ok(sandbox_rpm_install(good_root, good_list, SANDBOX_RPMINSTALL_NODEPS |
				      SANDBOX_RPMINSTALL_NOSCRIPTS, -1, &err), &err);
	assert_true(sy_exists(installed));
	builder_build_result_release(&res);
	free(data);
	free(installed);
	free(good_root);
	free(bad_root);
	free(bad);
}

/* The sweep removes scratch directories, their ".src" siblings and lock
 * files left by dead builds, and keeps those of a build whose lock is held. */
static void test_build_sweep_removes_stale_scratch_but_not_running_ones(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	char *stale = sy_xasprintf("%s/stale", f->builds);
	char *stale_upper = sy_xasprintf("%s/upper/build", stale);
	char *stale_src = sy_xasprintf("%s.src", stale);
	char *stale_lock = sy_xasprintf("%s.lock", stale);
	char *running = sy_xasprintf("%s/running", f->builds);
	char *running_src = sy_xasprintf("%s.src", running);
	char *running_lock = sy_xasprintf("%s.lock", running);
	char *unrelated = sy_xasprintf("%s/unrelated", f->builds);
	int fd;

	assert_ok(sy_mkdir_p(stale_upper, 0755, &err), &err);
	assert_ok(sy_mkdir_p(stale_src, 0755, &err), &err);
	write_file(f->builds, "stale.lock", "");
	assert_ok(sy_mkdir_p(running, 0755, &err), &err);
	assert_ok(sy_mkdir_p(running_src, 0755, &err), &err);
	write_file(f->builds, "unrelated", "kept");
	fd = builder_build_lock(running, &err);
	assert_true(fd >= 0);
	assert_int_equal(builder_build_lock(running, &err), -1);
	assert_non_null(strstr(err.msg, "in use by another build"));
	assert_ok(builder_build_sweep(f->builds, &err), &err);
	assert_false(sy_exists(stale));
	assert_false(sy_exists(stale_src));
	assert_false(sy_exists(stale_lock));
	assert_true(sy_exists(running));
	assert_true(sy_exists(running_src));
	assert_true(sy_exists(running_lock));
	builder_build_unlock(running, fd);
	assert_false(sy_exists(running_lock));
	assert_ok(builder_build_sweep(f->builds, &err), &err);
	assert_false(sy_exists(running));
	assert_false(sy_exists(running_src));
	assert_false(sy_exists(running_lock));
	assert_true(sy_exists(unrelated));
	free(unrelated);
	free(running_lock);
	free(running_src);
	free(running);
	free(stale_lock);
	free(stale_src);
	free(stale_upper);
	free(stale);
}

/* Writes a spec with the given preamble lines (BuildRequires) and %build. */
static void write_spec_preamble(struct fixture *f, const char *name, const char *preamble,
				const char *build)
{
	char *spec = sy_xasprintf("Name: %s\nVersion: 1.0\nRelease: 1\nSummary: Test\n"
				  "License: MIT\n%s\n%%description\nTest package.\n\n"
				  "%%build\n%s\n\n%%install\nmkdir -p %%{buildroot}/usr/share/%s\n"
				  "echo %s > %%{buildroot}/usr/share/%s/name\n\n"
				  "%%files\n/usr/share/%s\n",
				  name, preamble, build, name, name, name, name);
	char *file = sy_xasprintf("%s.spec", name);

	write_file(f->spec_dir, file, spec);
	free(file);
	free(spec);
}

/* The toolchain capabilities of the worker manifest are in the root's rpmdb
 * as one package, so BuildRequires on them pass rpmbuild's check (no
 * --nodeps). */
static void test_build_run_toolchain_satisfies_buildrequires(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "tc.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };

	write_spec_preamble(f, "tc", "BuildRequires: gcc\nBuildRequires: make >= 4\n"
			    "BuildRequires: rpm-build\n",
			    "rpm -q --dbpath /var/lib/rpm --whatprovides gcc | "
			    "grep '^" BUILDER_WORKER_TOOLCHAIN_PKG "-1-1'");
	print_log_on_failure(f, builder_build_run(&req, &res, &err), &err);
	assert_int_equal(res.rpms.n, 1);
	builder_build_result_release(&res);
}

/* A BuildRequires nothing in the root provides fails the build with
 * rpmbuild's own message, as a package failure. */
static void test_build_run_unmet_buildrequires_fail_with_rpmbuild_message(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "unmet.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };

	write_file(f->dir, "earlier.log", "");
	write_spec_preamble(f, "unmet", "BuildRequires: gcc\nBuildRequires: no-such-devel\n"
			    "BuildRequires: libnothing-devel >= 2\n", "true");
	assert_int_equal(builder_build_run(&req, &res, &err), -1);
	assert_non_null(strstr(err.msg, "rpmbuild failed with status"));
	assert_non_null(strstr(err.msg, "Failed build dependencies:"));
	assert_non_null(strstr(err.msg, "no-such-devel is needed by unmet-1.0-1"));
	assert_non_null(strstr(err.msg, "libnothing-devel >= 2 is needed by"));
	assert_null(strstr(err.msg, "gcc is needed"));
	assert_int_equal(res.infrastructure, 0);
	assert_false(sy_exists(f->scratch));
}

/* Both rpmbuild steps run as the build user; the packaged files still
 * belong to root (rpmbuild's default %defattr). */
static void test_build_run_rpmbuild_runs_as_build_user(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "who.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	char *cmd, *log, *owners;

	write_spec_preamble(f, "who", "",
			    "echo \"build uid $(id -u) gid $(id -g) groups $(id -G)\"\n"
			    "test \"$HOME\" = /build\n"
			    "echo discarded > /dev/null\n"
			    "echo shared > /dev/shm/probe && rm /dev/shm/probe\n"
			    "if touch /usr/bin/escalate 2>/dev/null; then exit 1; fi");
	print_log_on_failure(f, builder_build_run(&req, &res, &err), &err);
	assert_ok(sy_read_file(f->log, &log, NULL, &err), &err);
	assert_non_null(strstr(log, "build uid 1001 gid 1001 groups 1001\n"));
	owners = sy_xasprintf("%s/owners", f->dir);
	cmd = sy_xasprintf("rpm -qp --qf '[%%{FILEUSERNAME}:%%{FILEGROUPNAME}\\n]' %s | "
			   "sort -u > %s", res.rpms.items[0], owners);
	test_sh(cmd);
	free(log);
	assert_ok(sy_read_file(owners, &log, NULL, &err), &err);
	assert_string_equal(log, "root:root\n");
	free(log);
	free(cmd);
	free(owners);
	builder_build_result_release(&res);
}

/* A build writing past its output limit is killed within seconds, fails
 * with the limit in the reason, as a package failure, and is cleaned. */
static void test_build_run_kills_build_over_output_limit(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "big.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	struct timespec t0, t1;

	req.output_limit_bytes = 16ULL << 20;
	write_spec_preamble(f, "big", "",
			    "for i in $(seq 1 600); do\n"
			    "  dd if=/dev/zero of=chunk$i bs=1M count=1 status=none\n"
			    "  sleep 0.05\ndone");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(builder_build_run(&req, &res, &err), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(err.msg, "output limit of 16 MiB exceeded");
	assert_int_equal(res.infrastructure, 0);
	assert_true(t1.tv_sec - t0.tv_sec < 20);
	assert_false(sy_exists(f->scratch));
	assert_nothing_mounted_under(f->scratch);
}

/* The attack on the output limit: a file under 300 nested directories
 * (deeper than a walk of the tree would look) fallocated far past the
 * limit. The kernel refuses it in the build (ENOSPC): the build fails with
 * the limit as a package failure, its writable layer is a filesystem of
 * about the limit's size, so nothing of it takes the host's disk beyond
 * that. In extract mode the layer holds the worker root too. */
static void check_nested_fallocate_stops_at_limit(struct fixture *f, const char *tarball)
{
	struct builder_build_request req = request(f, "deep.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	unsigned long long blocks = 0, bsize = 0;
	char *log, *layer;

	req.output_limit_bytes = 16ULL << 20;
	req.worker_tarball = tarball;
	write_spec_preamble(f, "deep", "",
			    "d=deep; for i in $(seq 1 299); do d=$d/d; done; mkdir -p $d\n"
			    "if fallocate -l 4G $d/big; then echo fallocated; exit 0; fi\n"
			    "echo \"layer $(stat -f -c '%%b %%S' $d)\"\nexit 1");
	assert_int_equal(builder_build_run(&req, &res, &err), -1);
	assert_string_equal(err.msg, "output limit of 16 MiB exceeded");
	assert_int_equal(res.infrastructure, 0);
	assert_ok(sy_read_file(f->log, &log, NULL, &err), &err);
	layer = strstr(log, "\nlayer ");
	if (!layer) {
		fprintf(stderr, "%s\n", log);
		fail_msg("no layer size in the build log");
	}
	assert_int_equal(sscanf(layer, "\nlayer %llu %llu", &blocks, &bsize), 2);
	/* The layer's size: the limit and ext4's slack (extract: the worker
	 * root's size too). */
	if (!tarball)
		assert_true(blocks * bsize < (24ULL << 20));
	else
		assert_true(blocks * bsize < (2ULL << 30));
	assert_false(sy_exists(f->scratch));
	assert_nothing_mounted_under(f->scratch);
	free(log);
}

static void test_build_run_nested_fallocate_stops_at_output_limit(void **state)
{
	check_nested_fallocate_stops_at_limit(*state, NULL);
}

static void test_build_run_extracted_root_nested_fallocate_stops_at_output_limit(void **state)
{
	struct sy_error err = { { 0 } };
	char *tar = NULL;

	assert_ok(builder_rootfs_tarball_ensure(worker_root, &tar, &err), &err);
	check_nested_fallocate_stops_at_limit(*state, tar);
	free(tar);
}

/* Sources larger than the output limit fill the layer while they are
 * copied into the root: the package's failure, not the machine's (which
 * would be retried). */
static void test_build_run_sources_past_output_limit_fail_the_package(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "bulky.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	char *cmd = sy_xasprintf("head -c 33554432 /dev/zero > %s/bulk.bin", f->spec_dir);

	req.output_limit_bytes = 16ULL << 20;
	write_spec(f, "bulky", "gcc -o hello hello.c");
	test_sh(cmd);
	assert_int_equal(builder_build_run(&req, &res, &err), -1);
	assert_string_equal(err.msg, "output limit of 16 MiB exceeded");
	assert_int_equal(res.infrastructure, 0);
	assert_false(sy_exists(f->scratch));
	free(cmd);
}

/* 1 when the build log says the build ran in a cgroup of its own (else
 * under the rlimits of the fallback, sandbox/cgroup.h). */
static int build_had_cgroup(struct fixture *f)
{
	struct sy_error err = { { 0 } };
	char *log;
	int yes;

	assert_ok(sy_read_file(f->log, &log, NULL, &err), &err);
	yes = strstr(log, "shipyard: limits: memory ") && strstr(log, " (cgroup /");
	free(log);
	return yes;
}

/* Fails the test unless the build log holds text. */
static void assert_log_has(struct fixture *f, const char *text)
{
	struct sy_error err = { { 0 } };
	char *log;

	assert_ok(sy_read_file(f->log, &log, NULL, &err), &err);
	if (!strstr(log, text)) {
		fprintf(stderr, "%s\n", log);
		fail_msg("the build log lacks \"%s\"", text);
	}
	free(log);
}

/* Runs the build name.spec with the given %build and limits, which it
 * must fail by reaching one of them long before its timeout, as a package
 * failure: with a cgroup, for the reason cgroup_reason; under the
 * fallback's rlimits, with rpmbuild failing and fallback_log in the log. */
static void check_build_stopped_by_limit(struct fixture *f, const char *name, const char *build,
					 struct sandbox_limits limits, const char *cgroup_reason,
					 const char *fallback_log)
{
	char *file = sy_xasprintf("%s.spec", name);
	struct builder_build_request req = request(f, file);
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	time_t t0 = time(NULL);

	req.limits = limits;
	write_spec_preamble(f, name, "", build);
	assert_int_equal(builder_build_run(&req, &res, &err), -1);
	assert_int_equal(res.infrastructure, 0);
	assert_true(time(NULL) - t0 < 60);
	if (build_had_cgroup(f)) {
		assert_string_equal(err.msg, cgroup_reason);
	} else {
		assert_int_equal(strncmp(err.msg, "rpmbuild failed with status 1", 29), 0);
		assert_log_has(f, fallback_log);
	}
	assert_false(sy_exists(f->scratch));
	free(file);
}

/* A build allocating far past its memory limit is stopped: with a cgroup
 * the kernel kills the whole build and the reason names the limit; under
 * the fallback's RLIMIT_AS the allocation fails in the build. */
static void test_build_run_memory_hog_stops_at_memory_limit(void **state)
{
	const struct sandbox_limits limits = { .memory_bytes = 256ULL << 20 };

	check_build_stopped_by_limit(*state, "hog",
				     "perl -e '$x = \"x\" x (3 * 1024 * 1024 * 1024); "
				     "print length($x)'",
				     limits, "killed: memory limit (256 MiB)", "Out of memory");
}

/* A fork bomb (bounded: 10 levels of two, 1024 leaves that each live two
 * seconds, about 3000 processes at once) is contained at the task limit:
 * with a cgroup it is stopped as soon as a fork is refused; under the
 * fallback's RLIMIT_NPROC the forks fail and fewer leaves than 1024 ran. */
static void test_build_run_fork_bomb_stops_at_process_limit(void **state)
{
	const struct sandbox_limits limits = { .pids = 64 };

	check_build_stopped_by_limit(
		*state, "bomb",
		"bomb() { if [ $1 -gt 0 ]; then bomb $(($1 - 1)) & bomb $(($1 - 1)) & "
		"wait; else sleep 2; echo x >> $PWD/leaves; fi; }\n"
		"bomb 10\nn=$(wc -l < leaves)\necho \"leaves: $n\"\ntest \"$n\" -eq 1024",
		limits, "killed: process limit (64)", "Cannot fork");
}

/* A build under its limit passes. */
static void test_build_run_output_limit_allows_smaller_build(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "small.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };

	req.output_limit_bytes = 64ULL << 20;
	write_spec(f, "small", "dd if=/dev/zero of=pad bs=1M count=4 status=none\n"
		   "gcc -o hello hello.c");
	print_log_on_failure(f, builder_build_run(&req, &res, &err), &err);
	assert_int_equal(res.rpms.n, 1);
	builder_build_result_release(&res);
}

/* A worker root that does not exist is the machine's failure, not the
 * package's. */
static void test_build_run_reports_missing_worker_root_as_infrastructure(void **state)
{
	struct fixture *f = *state;
	struct builder_build_request req = request(f, "hello.spec");
	struct builder_build_result res;
	struct sy_error err = { { 0 } };
	char *missing = sy_xasprintf("%s/no-worker/root", f->dir);

	write_spec(f, "hello", "gcc -o hello hello.c");
	req.worker_root = missing;
	assert_int_equal(builder_build_run(&req, &res, &err), -1);
	assert_non_null(strstr(err.msg, "no-worker"));
	assert_int_equal(res.infrastructure, 1);
	assert_false(sy_exists(f->scratch));
	free(missing);
}

/* The probe makes and removes an isolated root and times it. */
static void test_build_root_probe_makes_and_removes_root(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	double seconds = 0;

	assert_ok(builder_build_root_probe(worker_root, f->scratch, &seconds, &err), &err);
	assert_true(seconds > 0);
	assert_true(seconds < 10);
	assert_false(sy_exists(f->scratch));
	assert_nothing_mounted_under(f->scratch);
	assert_int_equal(builder_build_root_probe("/nonexistent/root", f->scratch, &seconds,
						  &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/root"));
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
		cmocka_unit_test_setup_teardown(test_build_run_failure_reason_names_missing_command,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_run_stops_at_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_run_installs_given_rpms_first, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_build_run_uses_macro_context, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_run_rebuild_suffix_follows_dist_tag, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_build_run_installs_rpms_out_of_reach_of_the_host, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_build_run_macro_files_not_redirected_by_packages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_run_proc_sys_is_read_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_build_run_does_not_follow_symlinks_in_outputs,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_run_copies_outputs_to_another_filesystem,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_build_run_leaves_scratch_of_running_build_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rpm_install_refuses_package_with_bad_digest,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_build_sweep_removes_stale_scratch_but_not_running_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_run_toolchain_satisfies_buildrequires,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_build_run_unmet_buildrequires_fail_with_rpmbuild_message, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_build_run_rpmbuild_runs_as_build_user, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_build_run_kills_build_over_output_limit,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_run_nested_fallocate_stops_at_output_limit,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_build_run_extracted_root_nested_fallocate_stops_at_output_limit, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_build_run_sources_past_output_limit_fail_the_package, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_run_memory_hog_stops_at_memory_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_build_run_fork_bomb_stops_at_process_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_build_run_output_limit_allows_smaller_build,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_build_run_reports_missing_worker_root_as_infrastructure, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_build_root_probe_makes_and_removes_root,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
