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

/* Writes text to dir/path, creating the missing directories. */
static inline void test_write_file(const char *dir, const char *path, const char *text)
{
	struct sy_error err = { { 0 } };
	char *full = sy_xasprintf("%s/%s", dir, path);
	char *parent = sy_xstrdup(full);

	*strrchr(parent, '/') = '\0';
	if (sy_mkdir_p(parent, 0755, &err) || sy_write_file(full, text, strlen(text), 0644, &err))
		fail_msg("%s", err.msg);
	free(parent);
	free(full);
}

/* Commits everything in the git work tree at dir. */
static inline void test_git_commit_all(const char *dir)
{
	char *cmd = sy_xasprintf("cd %s && git add -A && "
				 "git -c user.name=t -c user.email=t@t commit -qm c", dir);

	test_sh(cmd);
	free(cmd);
}

#define assert_ok(expr, errp) \
	do { \
		if ((expr) != 0) \
			fail_msg("%s failed: %s", #expr, (errp)->msg); \
	} while (0)

#endif
