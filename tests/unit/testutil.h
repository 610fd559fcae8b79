/* Helpers shared by the cmocka unit tests. Tests run from the repository root. */
#ifndef SY_TESTUTIL_H
#define SY_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/fs.h"
#include "common/strv.h"

/* Makes a fresh temporary directory for one test; caller frees the path and
 * removes the directory with sy_rm_rf. */
static inline char *test_tmpdir(void)
{
	struct sy_error err = { { 0 } };
	char *dir = sy_mkdtemp("/tmp", "shipyard-test-", &err);

	if (!dir)
		fail_msg("%s", err.msg);
	return dir;
}

/* Returns the path of ../shared (read-only project input beside the
 * checkout), or NULL when it is absent. Overridden by $SHIPYARD_SHARED. */
static inline const char *test_shared_dir(void)
{
	const char *d = getenv("SHIPYARD_SHARED");

	if (!d)
		d = "../shared";
	return sy_exists(d) ? d : NULL;
}

/* Runs a shell command, failing the test when it exits non-zero. */
static inline void test_sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

#define assert_ok(expr, errp) \
	do { \
		if ((expr) != 0) \
			fail_msg("%s failed: %s", #expr, (errp)->msg); \
	} while (0)

#endif
