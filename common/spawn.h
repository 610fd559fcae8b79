/* Running child processes: the one helper every stage uses to start a program
 * or a forked function, with its output sent to a log file or captured, a
 * wall-clock timeout, and the whole process group killed on timeout. Modelled
 * on git's run-command.h. */
#ifndef SY_SPAWN_H
#define SY_SPAWN_H

#include <stddef.h>

#include "error.h"

/* What to run and how. Zero-initialise with SY_SPAWN_INIT, then set fields. */
struct sy_spawn {
	const char *const *argv; /* program and arguments; argv[0] searched in PATH */
	const char *const *env;  /* full environment, or NULL to inherit */
	const char *cwd;         /* working directory of the child, or NULL */
	int log_fd;              /* stdout and stderr go here; -1: /dev/null,
				  * -2: inherit the parent's */
	int capture;             /* if 1, stdout is captured into out/out_len and
				  * only stderr goes to log_fd */
	unsigned timeout_s;      /* wall-clock limit in seconds, 0 = none; on expiry
				  * the child's process group gets SIGKILL */
	/* Called in the child after fork and before exec (or instead of exec when
	 * argv is NULL: then its return value is the exit status). Runs with the
	 * redirections in place. A non-zero return before exec makes the child
	 * exit with status 127; child_fn writes its reason to the log itself. */
	int (*child_fn)(void *arg);
	void *child_arg;

	/* Results. */
	char *out;      /* captured stdout, NUL-terminated; caller frees */
	size_t out_len; /* bytes captured */
	int status;     /* exit status 0..255, or 128+signal when killed */
	int timed_out;  /* 1 when the timeout killed the child */

	/* Periodic check, or NULL: called in the parent about every tick_ms
	 * milliseconds (0: every 1000 ms) while the child runs, first tick_ms
	 * after the start. A non-zero return kills the child's process group
	 * with SIGKILL, as the timeout does, and sets stopped. */
	int (*tick_fn)(void *arg);
	void *tick_arg;
	unsigned tick_ms;
	int stopped;    /* result: 1 when tick_fn stopped the child */
};

#define SY_SPAWN_INIT { NULL, NULL, NULL, -2, 0, 0, NULL, NULL, NULL, 0, 0, 0, NULL, NULL, 0, 0 }

/* Runs the child and waits for it. Returns 0 when the child could be started
 * and was waited for (inspect sp->status and sp->timed_out), or -1 with err
 * set when fork or pipe failed. The child gets its own process group and
 * /dev/null as stdin; whatever is left in that group when the child exits
 * (background processes it started) is killed. */
int sy_spawn_run(struct sy_spawn *sp, struct sy_error *err);

/* Convenience: runs argv with output to log_fd and returns 0 only when it
 * exited with status 0; otherwise -1 with err naming argv[0] and the status. */
int sy_spawn_cmd(const char *const *argv, int log_fd, unsigned timeout_s, struct sy_error *err);

#endif
