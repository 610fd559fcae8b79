/* Child processes: the one way every stage starts a program or a forked
 * function (spec readers, build jobs, builds, image installs, pipeline
 * runners, the pid 1 of a sandbox), after git's run-command.h (struct
 * child_process, start_command(), finish_command()).
 *
 * A child always gets its own process group and /dev/null as stdin. It can
 * have: its stdout and stderr sent to a log, to /dev/null or inherited; one
 * pipe whose content the parent collects; one more fd of the parent at a
 * given number; every other fd closed; a death signal; a deadline after
 * which its whole process group is killed; a periodic check that may stop
 * it. One child runs with sy_child_run(); a pool starts children with
 * sy_child_start() and waits on all of them at once with
 * sy_child_wait_any(), without a loop of its own.
 *
 * Ownership of file descriptors: log_fd and extra_fd belong to the caller;
 * sy_child_start() never closes them, in the parent or on error. A caller
 * that waits for the end of file of a pipe it passed as extra_fd closes its
 * own copy of the write end right after sy_child_start(). out_fd, the read
 * end of the capture pipe, belongs to the struct: it is closed when the
 * child is reaped (sy_child_check(), sy_child_finish()) or by
 * sy_child_release(). The captured text (out) belongs to the caller once the
 * child is finished: free() it or call sy_child_release().
 *
 * Threads: between fork and exec the child makes only async-signal-safe
 * calls, so a process with threads (the service) may start programs
 * (argv set, child_fn NULL). child_fn runs arbitrary code in the child:
 * only callers without other threads may use it. */
#ifndef SY_CHILD_H
#define SY_CHILD_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* log_fd values besides an fd. */
#define SY_CHILD_DEVNULL (-1) /* stdout and stderr go to /dev/null */
#define SY_CHILD_INHERIT (-2) /* the parent's stdout and stderr */
/* capture_at: the capture pipe keeps the number it was given; child_fn
 * finds it in capture_child_fd. For a child_fn that runs in a process
 * whose fds must not be moved (libgit2's open packs). */
#define SY_CHILD_ANY_FD (-1)

/* A child process: what to run and how (set before sy_child_start), its
 * state while it runs and its results. Initialise with SY_CHILD_INIT. */
struct sy_child {
	/* What to run. */
	const char *const *argv; /* program and arguments, argv[0] searched in
				  * PATH; NULL: run child_fn only */
	const char *const *env;  /* full environment of the program, or NULL:
				  * the parent's */
	const char *cwd;         /* working directory of the child, or NULL */
	/* Runs in the child once its fds are set up: before exec, or instead
	 * of it when argv is NULL (its return value & 0xff is then the exit
	 * status). A non-zero return before exec ends the child with status
	 * 127; child_fn writes its reason to stderr itself. */
	int (*child_fn)(void *arg);
	void *child_arg;

	/* Its file descriptors. */
	int log_fd;      /* stdout and stderr: an fd of the parent,
			  * SY_CHILD_DEVNULL or SY_CHILD_INHERIT (default) */
	int capture;     /* 1: the child writes into a pipe whose content the
			  * parent collects into out */
	int capture_at;  /* the pipe's number in the child: 1 (stdout, the
			  * default), 3 and up, or SY_CHILD_ANY_FD */
	int extra_fd;    /* an fd of the parent the child gets as extra_fd_at,
			  * or -1 (default) */
	int extra_fd_at; /* its number in the child, 3 and up, not capture_at */
	/* Without exec (argv NULL), the capture pipe and extra fd are
	 * close-on-exec in the child, so that the programs child_fn runs do
	 * not inherit them; with exec they stay open for the program. */
	int close_fds;   /* 1: every other fd above 2 is closed in the child, so
			  * that nothing of the parent stays reachable */
	int death_signal; /* signal the child gets when the thread that started
			  * it ends (PR_SET_PDEATHSIG), 0: none. Also sent when
			  * the parent ended before the child could ask for it,
			  * except for the pid 1 of a new pid namespace, which
			  * cannot see its parent */

	/* While it runs. */
	unsigned timeout_s; /* deadline in seconds after the start, 0: none; then
			  * the child's process group gets SIGKILL and
			  * timed_out is set */
	/* Periodic check, or NULL: called in the parent about every tick_ms
	 * milliseconds (0: 1000) while sy_child_check() or a wait runs, the
	 * first time tick_ms after the start. A non-zero return kills the
	 * child's process group with SIGKILL and sets stopped. */
	int (*tick_fn)(void *arg);
	void *tick_arg;
	unsigned tick_ms;
	int reap_orphans; /* 1: while waiting for this child, also reap any
			  * other child of the caller; for the pid 1 of a pid
			  * namespace, which inherits the orphans of its
			  * namespace and starts no other child */

	/* State, set by sy_child_start. */
	pid_t pid;        /* the child's pid, also its process group id */
	int out_fd;       /* parent: read end of the capture pipe
			  * (non-blocking), -1 when not capturing or once at its
			  * end of file */
	int capture_child_fd; /* child: the capture pipe's number there */
	int pidfd;        /* parent: pidfd of the child (readable once it
			  * exited), or -1 where the kernel has none */
	double deadline;  /* sy_now_s() time of the deadline, 0: none */
	double next_tick; /* sy_now_s() time of the next tick, 0: none */
	size_t out_alloc; /* bytes allocated for out */
	int finished;     /* 1 once the child was reaped: results are final */

	/* Results, final once finished. */
	char *out;        /* what the child wrote into the capture pipe,
			  * NUL-terminated ("" when nothing), NULL without
			  * capture; caller frees */
	size_t out_len;   /* bytes in out */
	int status;       /* exit status 0..255, or 128 + the signal that
			  * killed it */
	int signal;       /* the signal that killed it, 0 when it exited */
	int timed_out;    /* 1 when the deadline killed it */
	int stopped;      /* 1 when tick_fn stopped it */
};

#define SY_CHILD_INIT { .log_fd = SY_CHILD_INHERIT, .capture_at = 1, .extra_fd = -1, \
			.out_fd = -1, .capture_child_fd = -1, .pidfd = -1 }

/* Starts c: forks (after fflush(NULL)) and returns at once, with c->pid
 * and, when capturing, c->out_fd set; results are reset. Returns 0, or -1
 * with err ("pipe: ...", "fork: ...") when the child could not be made (no
 * fd is then left open). A program that cannot be executed still starts:
 * it writes "shipyard: cannot run <argv[0]>: <reason>" to its stderr and
 * exits with status 127. */
int sy_child_start(struct sy_child *c, struct sy_error *err);

/* Checks a started child without blocking: reads the output that is
 * available, kills it when its deadline passed or tick_fn says so, and
 * reaps it when it has ended (its process group is killed first, then the
 * rest of its output read, waiting at most a second for writers left
 * outside the group, and its fds closed). Returns 1 when c is finished
 * (now or before), 0 while it runs. */
int sy_child_check(struct sy_child *c);

/* Waits until one of the n started children has news (output, the end of
 * its output, its end, a deadline or a tick) or timeout_ms milliseconds
 * passed (-1: no limit but their deadlines), and checks each
 * (sy_child_check). Returns the index of a finished child, or -1 when none
 * is finished. A finished child is returned again by the next call: take
 * it out of the array once handled. */
int sy_child_wait_any(struct sy_child *const *children, size_t n, int timeout_ms);

/* Waits until c is finished (deadline and tick enforced, output
 * collected). Returns c->status. */
int sy_child_finish(struct sy_child *c);

/* sy_child_start, then sy_child_finish. Returns 0 when the child was
 * started and waited for (inspect status, signal, timed_out, stopped), or
 * -1 with err when it could not be started. */
int sy_child_run(struct sy_child *c, struct sy_error *err);

/* Runs argv with its output to log_fd (an fd or SY_CHILD_DEVNULL) and a
 * deadline of timeout_s seconds (0: none). Returns 0 when it exited with
 * status 0; otherwise -1 with err ("rpmbuild exited with status 1",
 * "debootstrap: timed out after 600 s"). */
int sy_child_run_cmd(const char *const *argv, int log_fd, unsigned timeout_s,
		     struct sy_error *err);

/* Sends sig to the child's process group and to the child itself, unless
 * it is finished. */
void sy_child_kill(struct sy_child *c, int sig);

/* Frees out. A child started and not finished is killed (SIGKILL) and
 * reaped first. */
void sy_child_release(struct sy_child *c);

#endif
