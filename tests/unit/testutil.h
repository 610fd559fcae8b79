/* Helpers shared by the cmocka unit tests. Tests run from the repository root. */
#ifndef SY_TESTUTIL_H
#define SY_TESTUTIL_H

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/child.h"
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

/* Starts the fake forge (tests/fakeforge/server.js) on a free port as c,
 * recording the calls it gets in the file calls, accepting token, and
 * answering its first calls as fail says ($FAKEFORGE_FAIL, "500x1,403x1";
 * NULL: none). Sets *port once it listens. Returns -1 when the npm packages
 * it needs are not installed (the caller skips), else 0; stop it with
 * test_fakeforge_stop. */
static inline int test_fakeforge_start(const char *calls, const char *token, const char *fail,
				       struct sy_child *c, unsigned *port)
{
	const char *const argv[] = { "node", "tests/fakeforge/server.js", "0", calls, token,
				     NULL };
	struct sy_error err = { { 0 } };

	if (access("tests/npm/node_modules/ajv/package.json", F_OK) != 0)
		return -1;
	*c = (struct sy_child)SY_CHILD_INIT;
	c->argv = argv;
	c->capture = 1;
	if (fail)
		setenv("FAKEFORGE_FAIL", fail, 1);
	int rc = sy_child_start(c, &err);
	unsetenv("FAKEFORGE_FAIL");
	if (rc)
		fail_msg("fake forge: %s", err.msg);
	c->argv = NULL; /* argv lives on this frame */
	for (int i = 0; i < 300 && !(c->out && strchr(c->out, '\n')); i++) {
		if (sy_child_check(c))
			break;
		usleep(20 * 1000);
	}
	if (!c->out || sscanf(c->out, "fakeforge listening on 127.0.0.1:%u", port) != 1)
		fail_msg("fake forge did not start: '%s'", c->out ? c->out : "");
	return 0;
}

/* Stops the fake forge test_fakeforge_start started. */
static inline void test_fakeforge_stop(struct sy_child *c)
{
	sy_child_kill(c, SIGTERM);
	sy_child_finish(c);
	sy_child_release(c);
}

#define assert_ok(expr, errp) \
	do { \
		if ((expr) != 0) \
			fail_msg("%s failed: %s", #expr, (errp)->msg); \
	} while (0)

#endif
