#define _GNU_SOURCE
#include "common/child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/strv.h"
#include "common/util.h"

extern char **environ;

/* How long a finished child's output is still read from writers left
 * outside its process group. */
#define DRAIN_S 1.0
/* Poll interval for a child that has no pidfd and no open pipe (kernels
 * without pidfd_open), and for a pid 1 reaping orphans. */
#define BLIND_POLL_MS 100
/* Reads per check, so that a child writing without end cannot keep its
 * parent from its deadlines. */
#define READS_PER_CHECK 64

/* ---- in the child, between fork and exec: async-signal-safe calls only ---- */

static void child_write(const char *s)
{
	ssize_t n = write(2, s, strlen(s));

	(void)n;
}

/* Writes "shipyard: <what><arg>: <reason>" to stderr and exits 127. */
static void child_die(const char *what, const char *arg, int errnum)
{
	const char *reason = strerrordesc_np(errnum);

	child_write("shipyard: ");
	child_write(what);
	child_write(arg);
	child_write(": ");
	child_write(reason ? reason : "unknown error");
	child_write("\n");
	_exit(127);
}

/* A copy of fd (when fd >= 0) numbered above, close-on-exec, so that the
 * dup2 calls onto the final numbers cannot overwrite it. */
static int lift(int fd, int above)
{
	return fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, above) : fd;
}

/* Closes every fd above 2 except keep[0..1] (-1: none). */
static void close_others(int a, int b)
{
	int keep[2] = { a < b ? a : b, a < b ? b : a };
	unsigned from = 3;

	for (int i = 0; i < 2; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

/* Puts the child's fds in place: stdin /dev/null, stdout and stderr,
 * the capture pipe and the extra fd at their numbers. */
static void child_fds(struct sy_child *c, int pipe_r, int pipe_w)
{
	int above = 3, cloexec = c->argv ? 0 : O_CLOEXEC, log, extra, cap, devnull;

	if (c->capture_at > above)
		above = c->capture_at;
	if (c->extra_fd_at > above)
		above = c->extra_fd_at;
	above++;
	log = c->log_fd >= 0 ? lift(c->log_fd, above) : c->log_fd;
	extra = lift(c->extra_fd, above);
	cap = lift(pipe_w, above);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (pipe_r >= 0)
		close(pipe_r);
	if (pipe_w >= 0)
		close(pipe_w);
	if (devnull >= 0)
		dup2(devnull, 0);
	if (log >= 0 || (log == SY_CHILD_DEVNULL && devnull >= 0)) {
		dup2(log >= 0 ? log : devnull, 1);
		dup2(log >= 0 ? log : devnull, 2);
	}
	if (cap >= 0 && c->capture_at != SY_CHILD_ANY_FD) {
		if (c->capture_at <= 2 ? dup2(cap, c->capture_at) < 0
				       : dup3(cap, c->capture_at, cloexec) < 0)
			child_die("cannot place the capture pipe", "", errno);
		close(cap);
		cap = c->capture_at;
	}
	if (extra >= 0) {
		if (dup3(extra, c->extra_fd_at, cloexec) < 0)
			child_die("cannot place the extra fd", "", errno);
		close(extra);
	}
	c->capture_child_fd = cap;
	if (log >= 0)
		close(log);
	if (devnull >= 0)
		close(devnull);
	if (c->close_fds)
		close_others(cap > 2 ? cap : -1, c->extra_fd >= 0 ? c->extra_fd_at : -1);
}

static void __attribute__((noreturn)) child_main(struct sy_child *c, pid_t parent, int pipe_r,
						 int pipe_w)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	setpgid(0, 0);
	if (c->death_signal) {
		pid_t now;

		prctl(PR_SET_PDEATHSIG, c->death_signal);
		/* Read after the prctl: a parent that died before it is seen
		 * here (reparented), one that dies after it sends the signal.
		 * 0: pid 1 of a new pid namespace, whose parent is outside. */
		now = getppid();
		if (now != parent && now != 0) {
			kill(getpid(), c->death_signal);
			_exit(127);
		}
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	sigaction(SIGPIPE, &dfl, NULL);
	child_fds(c, pipe_r, pipe_w);
	if (c->cwd && chdir(c->cwd) < 0)
		child_die("chdir ", c->cwd, errno);
	if (c->child_fn) {
		int rc = c->child_fn(c->child_arg);

		if (!c->argv)
			_exit(rc & 0xff);
		if (rc)
			_exit(127);
	}
	execvpe(c->argv[0], (char *const *)c->argv, c->env ? (char *const *)c->env : environ);
	child_die("cannot run ", c->argv[0], errno);
	_exit(127);
}

/* ---- in the parent ---- */

int sy_child_start(struct sy_child *c, struct sy_error *err)
{
	int fds[2] = { -1, -1 };
	pid_t parent = getpid();
	double now;

	c->pid = 0;
	c->out_fd = c->pidfd = c->capture_child_fd = -1;
	c->out = NULL;
	c->out_len = c->out_alloc = 0;
	c->status = c->signal = c->timed_out = c->stopped = c->finished = 0;
	if (c->capture && pipe2(fds, O_CLOEXEC) < 0)
		return sy_error_set(err, "pipe: %s", strerror(errno));
	fflush(NULL);
	c->pid = fork();
	if (c->pid < 0) {
		int e = errno;

		if (fds[0] >= 0) {
			close(fds[0]);
			close(fds[1]);
		}
		c->pid = 0;
		return sy_error_set(err, "fork: %s", strerror(e));
	}
	if (c->pid == 0)
		child_main(c, parent, fds[0], fds[1]);
	/* Also here: the group must exist before the caller may kill it. */
	setpgid(c->pid, c->pid);
	if (fds[1] >= 0) {
		close(fds[1]);
		fcntl(fds[0], F_SETFL, O_NONBLOCK);
	}
	c->out_fd = fds[0];
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	now = sy_now_s();
	c->deadline = c->timeout_s ? now + c->timeout_s : 0;
	c->next_tick = c->tick_fn ? now + (c->tick_ms ? c->tick_ms : 1000) / 1000.0 : 0;
	return 0;
}

/* Reads what the capture pipe holds; closes it at its end of file. */
static void read_output(struct sy_child *c)
{
	for (int i = 0; c->out_fd >= 0 && i < READS_PER_CHECK; i++) {
		ssize_t n;

		if (c->out_alloc - c->out_len < 4096) {
			c->out_alloc = c->out_alloc ? c->out_alloc * 2 : 16384;
			c->out = sy_xrealloc(c->out, c->out_alloc);
		}
		n = read(c->out_fd, c->out + c->out_len, c->out_alloc - c->out_len - 1);
		if (n > 0) {
			c->out_len += (size_t)n;
			c->out[c->out_len] = '\0';
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			break;
		} else {
			close(c->out_fd);
			c->out_fd = -1;
		}
	}
}

/* Whether the child has ended (without reaping it). */
static int has_ended(const struct sy_child *c)
{
	siginfo_t info;

	info.si_pid = 0;
	if (waitid(P_PID, (id_t)c->pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno != EINTR;
	return info.si_pid == c->pid;
}

/* Reaps every ended child of the caller but c. */
static void reap_others(const struct sy_child *c)
{
	for (;;) {
		siginfo_t info;

		info.si_pid = 0;
		if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 || info.si_pid == 0 ||
		    info.si_pid == c->pid)
			return;
		waitpid(info.si_pid, NULL, 0);
	}
}

/* Collects the end of an ended child: its group killed, its output read,
 * its status taken. */
static void reap(struct sy_child *c)
{
	double until = sy_now_s() + DRAIN_S;
	int ws = 0;

	/* Not reaped yet, so its process group id cannot have been reused:
	 * end whatever it left running, which may hold the pipe. */
	kill(-c->pid, SIGKILL);
	while (c->out_fd >= 0 && sy_now_s() < until) {
		struct pollfd p = { .fd = c->out_fd, .events = POLLIN };

		if (poll(&p, 1, (int)(DRAIN_S * 1000)) <= 0)
			break;
		read_output(c);
	}
	if (c->out_fd >= 0) {
		close(c->out_fd);
		c->out_fd = -1;
	}
	while (waitpid(c->pid, &ws, 0) < 0) {
		if (errno != EINTR) {
			ws = 127 << 8;
			break;
		}
	}
	if (c->pidfd >= 0) {
		close(c->pidfd);
		c->pidfd = -1;
	}
	if (c->capture && !c->out)
		c->out = sy_xcalloc(1, 1);
	c->signal = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
	c->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + c->signal : 127;
	c->finished = 1;
}

int sy_child_check(struct sy_child *c)
{
	double now;

	if (c->finished)
		return 1;
	read_output(c);
	now = sy_now_s();
	if (c->deadline && now >= c->deadline && !c->timed_out && !c->stopped) {
		sy_child_kill(c, SIGKILL);
		c->timed_out = 1;
	}
	if (c->next_tick && now >= c->next_tick) {
		c->next_tick = now + (c->tick_ms ? c->tick_ms : 1000) / 1000.0;
		if (!c->timed_out && !c->stopped && c->tick_fn(c->tick_arg)) {
			sy_child_kill(c, SIGKILL);
			c->stopped = 1;
		}
	}
	if (c->reap_orphans)
		reap_others(c);
	if (!has_ended(c))
		return 0;
	reap(c);
	return 1;
}

/* The earlier of a wake-up time and t (0: none). */
static double earliest(double wake, double t)
{
	return t && (!wake || t < wake) ? t : wake;
}

int sy_child_wait_any(struct sy_child *const *children, size_t n, int timeout_ms)
{
	struct pollfd *pfds;
	double now = sy_now_s(), wake = timeout_ms >= 0 ? now + timeout_ms / 1000.0 : 0;
	int ms, blind = 0, found = -1;

	for (size_t i = 0; i < n; i++)
		if (children[i]->finished)
			return (int)i;
	if (n == 0)
		return -1;
	pfds = sy_xcalloc(2 * n, sizeof(*pfds));
	for (size_t i = 0; i < n; i++) {
		const struct sy_child *c = children[i];

		/* A negative fd makes poll skip the entry. */
		pfds[2 * i] = (struct pollfd){ .fd = c->out_fd, .events = POLLIN };
		pfds[2 * i + 1] = (struct pollfd){ .fd = c->pidfd, .events = POLLIN };
		blind |= c->pidfd < 0 || c->reap_orphans;
		wake = earliest(earliest(wake, c->deadline), c->next_tick);
	}
	ms = !wake ? -1 : wake > now ? (int)((wake - now) * 1000) + 1 : 0;
	if (blind && (ms < 0 || ms > BLIND_POLL_MS))
		ms = BLIND_POLL_MS;
	poll(pfds, 2 * n, ms);
	free(pfds);
	for (size_t i = 0; i < n; i++)
		if (sy_child_check(children[i]) && found < 0)
			found = (int)i;
	return found;
}

int sy_child_finish(struct sy_child *c)
{
	struct sy_child *one[1] = { c };

	while (sy_child_wait_any(one, 1, -1) < 0)
		;
	return c->status;
}

int sy_child_run(struct sy_child *c, struct sy_error *err)
{
	if (sy_child_start(c, err))
		return -1;
	sy_child_finish(c);
	return 0;
}

int sy_child_run_cmd(const char *const *argv, int log_fd, unsigned timeout_s,
		     struct sy_error *err)
{
	struct sy_child c = SY_CHILD_INIT;

	c.argv = argv;
	c.log_fd = log_fd;
	c.timeout_s = timeout_s;
	if (sy_child_run(&c, err))
		return -1;
	if (c.timed_out)
		return sy_error_set(err, "%s: timed out after %u s", argv[0], timeout_s);
	if (c.status)
		return sy_error_set(err, "%s exited with status %d", argv[0], c.status);
	return 0;
}

void sy_child_kill(struct sy_child *c, int sig)
{
	if (c->pid <= 0 || c->finished)
		return;
	kill(-c->pid, sig);
	kill(c->pid, sig);
}

void sy_child_release(struct sy_child *c)
{
	if (c->pid > 0 && !c->finished) {
		sy_child_kill(c, SIGKILL);
		sy_child_finish(c);
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_alloc = 0;
}
