/* The one-line cause of a failed rpmbuild, read from its build log. The logs
 * are what rpmbuild 4.18 and the worker root's shells print. */
#include "testutil.h"

#include "builder/buildlog.h"

static char *cause(const char *log)
{
	return builder_build_log_cause(log, strlen(log));
}

static void assert_cause(const char *log, const char *want)
{
	char *got = cause(log);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* A command missing from the root in %prep (the Azure Linux macros' own
 * script, as in a bootstrap root holding only the macro files): the cause
 * names the command dash could not find, not rpmbuild's temporary script. */
static void test_build_log_cause_names_missing_command_of_failed_section(void **state)
{
	(void)state;
	assert_cause("shipyard: running rpmbuild\n"
		     "Installing /build/SRPMS/kernel-srpm-macros-1.0-25.azl3.src.rpm\n"
		     "Executing(%prep): /bin/sh -e /var/tmp/rpm-tmp.vaVGa3\n"
		     "+ umask 022\n"
		     "+ cd /build/BUILD\n"
		     "+ /usr/lib/rpm/azl/gen-ld-script.sh kernel-srpm-macros 205-25.azl3 /build\n"
		     "/var/tmp/rpm-tmp.vaVGa3: 28: /usr/lib/rpm/azl/gen-ld-script.sh: not found\n"
		     "error: Bad exit status from /var/tmp/rpm-tmp.vaVGa3 (%prep)\n"
		     "\n"
		     "RPM build errors:\n"
		     "    Bad exit status from /var/tmp/rpm-tmp.vaVGa3 (%prep)\n"
		     "shipyard: rpmbuild failed with status 1, see log\n",
		     "%prep failed: /usr/lib/rpm/azl/gen-ld-script.sh: not found");
	/* bash says "line N" and "command not found". */
	assert_cause("Executing(%build): /bin/sh -e /var/tmp/rpm-tmp.Ab12\n"
		     "+ frobnicate --all\n"
		     "/var/tmp/rpm-tmp.Ab12: line 40: frobnicate: command not found\n"
		     "error: Bad exit status from /var/tmp/rpm-tmp.Ab12 (%build)\n",
		     "%build failed: frobnicate: command not found");
}

/* What the failing command printed last is the cause; the output of an
 * earlier section and the traces are not. */
static void test_build_log_cause_takes_last_output_of_the_failed_section(void **state)
{
	(void)state;
	assert_cause("Executing(%prep): /bin/sh -e /var/tmp/rpm-tmp.1\n"
		     "prep says hello\n"
		     "Executing(%build): /bin/sh -e /var/tmp/rpm-tmp.2\n"
		     "+ gcc -o hello hello.c\n"
		     "hello.c:1:1: error: expected ';' before '}' token\n"
		     "make: *** [Makefile:3: all] Error 1\n"
		     "+ exit 1\n"
		     "error: Bad exit status from /var/tmp/rpm-tmp.2 (%build)\n",
		     "%build failed: make: *** [Makefile:3: all] Error 1");
	/* Silent: the last command it ran. */
	assert_cause("Executing(%prep): /bin/sh -e /var/tmp/rpm-tmp.1\n"
		     "prep says hello\n"
		     "Executing(%install): /bin/sh -e /var/tmp/rpm-tmp.3\n"
		     "+ umask 022\n"
		     "++ false\n"
		     "error: Bad exit status from /var/tmp/rpm-tmp.3 (%install)\n",
		     "%install failed, last command: false");
	assert_cause("Executing(%check): /bin/sh -e /var/tmp/rpm-tmp.4\n"
		     "error: Bad exit status from /var/tmp/rpm-tmp.4 (%check)\n",
		     "%check failed");
}

/* rpmbuild's errors that list their details on the lines after them are
 * given with the details, on one line. */
static void test_build_log_cause_joins_indented_details(void **state)
{
	char *log = sy_xstrdup("error: Failed build dependencies:\n"
			       "\tno-such-devel is needed by unmet-1.0-1.x86_64\n"
			       "\tlibnothing-devel >= 2 is needed by unmet-1.0-1.x86_64\n"
			       "shipyard: rpmbuild failed with status 11, see log\n");
	char *got;

	(void)state;
	assert_cause(log, "Failed build dependencies: no-such-devel is needed by "
			  "unmet-1.0-1.x86_64; libnothing-devel >= 2 is needed by "
			  "unmet-1.0-1.x86_64");
	free(log);
	/* Many: the first ones and a count. */
	log = sy_xstrdup("error: Installed (but unpackaged) file(s) found:\n");
	for (int i = 0; i < BUILDER_BUILD_LOG_CAUSE_ITEMS + 3; i++) {
		char *more = sy_xasprintf("%s   /usr/share/doc/f%d\n", log, i);
		free(log);
		log = more;
	}
	got = cause(log);
	assert_non_null(got);
	assert_non_null(strstr(got, "Installed (but unpackaged) file(s) found: "
				    "/usr/share/doc/f0; /usr/share/doc/f1; "));
	assert_non_null(strstr(got, "; /usr/share/doc/f9; and 3 more"));
	assert_null(strstr(got, "f10"));
	free(got);
	free(log);
}

/* Any other error is given as it is, the last one winning; a log without
 * one has no cause; what is not printable does not break the line. */
static void test_build_log_cause_other_errors_and_none(void **state)
{
	char *got;

	(void)state;
	assert_cause("error: File not found: /build/BUILDROOT/a\n"
		     "error: Directory not found: /build/BUILDROOT/b\n\n"
		     "RPM build errors:\n    File not found: /build/BUILDROOT/a\n",
		     "Directory not found: /build/BUILDROOT/b");
	assert_null(cause("compiler says no\n+ exit 1\n"));
	assert_null(cause(""));
	assert_cause("Executing(%build): /bin/sh -e /var/tmp/rpm-tmp.5\n"
		     "bad\033[31m colour\r\n"
		     "error: Bad exit status from /var/tmp/rpm-tmp.5 (%build)",
		     "%build failed: bad?[31m colour?");
	/* A log cut anywhere (a tail) still gives one line. */
	got = builder_build_log_cause("error: Bad exit status from /var/tmp/x (%pr", 40);
	assert_non_null(got);
	assert_null(strchr(got, '\n'));
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_log_cause_names_missing_command_of_failed_section),
		cmocka_unit_test(test_build_log_cause_takes_last_output_of_the_failed_section),
		cmocka_unit_test(test_build_log_cause_joins_indented_details),
		cmocka_unit_test(test_build_log_cause_other_errors_and_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
