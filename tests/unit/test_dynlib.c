/* Unit tests of common/dynlib.h: libraries opened on first use, the
 * forwarders that stand for their functions, and the one-line failure when
 * a library is absent. */
#define _GNU_SOURCE
#define CURL_DISABLE_TYPECHECK
#include "testutil.h"

#include <curl/curl.h>
#include <sys/wait.h>

#include "common/dynlib.h"
#include "common/buf.h"
#include "common/fs.h"

static void test_dynlib_opens_library_on_first_lookup_only(void **state)
{
	struct sy_dynlib lib = { .soname = "libcrypt.so.1" };
	void *first, *handle;

	(void)state;
	first = sy_dynlib_sym(&lib, "crypt_r");
	assert_non_null(first);
	handle = lib.handle;
	assert_non_null(handle);
	assert_ptr_equal(sy_dynlib_sym(&lib, "crypt_r"), first);
	assert_ptr_equal(lib.handle, handle);
}

/* Runs sy_dynlib_sym(soname, name) in a child; returns its exit status and
 * its stderr in out (caller frees). */
static int lookup_in_child(const char *soname, const char *name, char **out)
{
	struct sy_buf b = SY_BUF_INIT;
	char chunk[512];
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct sy_dynlib lib = { .soname = soname };

		dup2(fds[1], 2);
		sy_dynlib_sym(&lib, name);
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], chunk, sizeof(chunk))) > 0)
		sy_buf_add(&b, chunk, (size_t)n);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	sy_buf_add(&b, "", 1);
	*out = (char *)b.data;
	return status;
}

static void test_dynlib_absent_library_exits_1_with_one_line_naming_it(void **state)
{
	char *msg;
	int status = lookup_in_child("libshipyard-absent.so.7", "absent_fn", &msg);

	(void)state;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_non_null(strstr(msg, "shipyard: error: cannot load libshipyard-absent.so.7 (for absent_fn)"));
	assert_ptr_equal(strchr(msg, '\n'), msg + strlen(msg) - 1);
	free(msg);
}

static void test_dynlib_absent_symbol_exits_1_naming_library_and_symbol(void **state)
{
	char *msg;
	int status = lookup_in_child("libcrypt.so.1", "no_such_function", &msg);

	(void)state;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_non_null(strstr(msg, "cannot load libcrypt.so.1 (for no_such_function)"));
	free(msg);
}

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
	sy_buf_add(arg, data, size * n);
	return size * n;
}

/* curl_easy_setopt and curl_easy_getinfo are variadic: their forwarders
 * must pass a long, a pointer, a callback and a curl_off_t as such. */
static void test_dynlib_curl_forwarders_pass_each_kind_of_value(void **state)
{
	char *dir = test_tmpdir(), *path = NULL, *url = NULL;
	struct sy_error err = { { 0 } };
	struct sy_buf got = SY_BUF_INIT;
	curl_off_t size = 0;
	CURL *h;

	(void)state;
	if (asprintf(&path, "%s/f", dir) < 0 || asprintf(&url, "file://%s", path) < 0)
		fail();
	assert_ok(sy_write_file(path, "hello world", 11, 0644, &err), &err);
	h = curl_easy_init();
	assert_non_null(h);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, url), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEDATA, &got), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)6), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), CURLE_OK);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	assert_int_equal(curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &size), CURLE_OK);
	assert_int_equal(size, 5);
	assert_int_equal(got.len, 5);
	assert_memory_equal(got.data, "world", 5);
	curl_easy_cleanup(h);
	sy_buf_release(&got);
	sy_rm_rf(dir, &err);
	free(url);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dynlib_opens_library_on_first_lookup_only),
		cmocka_unit_test(test_dynlib_absent_library_exits_1_with_one_line_naming_it),
		cmocka_unit_test(test_dynlib_absent_symbol_exits_1_naming_library_and_symbol),
		cmocka_unit_test(test_dynlib_curl_forwarders_pass_each_kind_of_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
