#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "strv.h"

extern char **environ;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void child_setup_fds(const struct sy_spawn *sp, int out_w)
{
	int devnull = open("/dev/null", O_RDWR);

	if (devnull >= 0) {
		dup2(devnull, 0);
	}
	if (sp->log_fd >= 0) {
		dup2(sp->log_fd, 2);
		dup2(sp->log_fd, 1);
	} else if (sp->log_fd == -1 && devnull >= 0) {
		dup2(devnull, 1);
		dup2(devnull, 2);
	}
	if (out_w >= 0)
		dup2(out_w, 1);
	if (devnull > 2)
		close(devnull);
}

static void child_main(const struct sy_spawn *sp, int out_w)
{
	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	child_setup_fds(sp, out_w);
	if (sp->cwd && chdir(sp->cwd) < 0) {
		fprintf(stderr, "shipyard: chdir %s: %s\n", sp->cwd, strerror(errno));
		_exit(127);
	}
	if (sp->child_fn) {
		int rc = sp->child_fn(sp->child_arg);
		if (!sp->argv)
			_exit(rc & 0xff);
		if (rc)
			_exit(127);
	}
	execvpe(sp->argv[0], (char *const *)sp->argv,
		sp->env ? (char *const *)sp->env : environ);
	fprintf(stderr, "shipyard: cannot run %s: %s\n", sp->argv[0], strerror(errno));
	_exit(127);
}

static void read_available(int fd, struct sy_spawn *sp, size_t *alloc, int *open_)
{
	if (*alloc - sp->out_len < 4096) {
		*alloc = *alloc ? *alloc * 2 : 16384;
		sp->out = sy_xrealloc(sp->out, *alloc);
	}
	ssize_t n = read(fd, sp->out + sp->out_len, *alloc - sp->out_len - 1);
	if (n > 0)
		sp->out_len += (size_t)n;
	else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		*open_ = 0;
}

int sy_spawn_run(struct sy_spawn *sp, struct sy_error *err)
{
	int pipefd[2] = { -1, -1 };
	size_t alloc = 0;
	pid_t pid;

	sp->out = NULL;
	sp->out_len = 0;
	sp->timed_out = 0;
	if (sp->capture && pipe2(pipefd, O_CLOEXEC) < 0)
		return sy_error_set(err, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		if (sp->capture) {
			close(pipefd[0]);
			close(pipefd[1]);
		}
		return sy_error_set(err, "fork: %s", strerror(errno));
	}
	if (pid == 0)
		child_main(sp, pipefd[1]);
	setpgid(pid, pid);
	if (sp->capture)
		close(pipefd[1]);

	long long deadline = sp->timeout_s ? now_ms() + (long long)sp->timeout_s * 1000 : 0;
	long long tick_every = sp->tick_ms ? sp->tick_ms : 1000;
	long long next_tick = sp->tick_fn ? now_ms() + tick_every : 0;
	int pipe_open = sp->capture, wstatus = 0, done = 0;
	sp->stopped = 0;
	while (!done) {
		if (pipe_open) {
			struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
			if (poll(&p, 1, 100) > 0)
				read_available(pipefd[0], sp, &alloc, &pipe_open);
		}
		int flags = (pipe_open || deadline || next_tick) ? WNOHANG : 0;
		pid_t w = waitpid(pid, &wstatus, flags);
		if (w == pid) {
			done = 1;
		} else if (w < 0 && errno != EINTR) {
			done = 1;
			wstatus = 127 << 8;
		} else if (w == 0 && !pipe_open) {
			usleep(20 * 1000);
		}
		if (!done && deadline && now_ms() > deadline && !sp->timed_out) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			sp->timed_out = 1;
		}
		if (!done && next_tick && now_ms() >= next_tick) {
			next_tick = now_ms() + tick_every;
			if (!sp->stopped && !sp->timed_out && sp->tick_fn(sp->tick_arg)) {
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
				sp->stopped = 1;
			}
		}
	}
	/* A grandchild may still hold the pipe: end the process group first,
	 * then drain what was written. */
	kill(-pid, SIGKILL);
	while (pipe_open) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		if (poll(&p, 1, 1000) <= 0)
			break;
		read_available(pipefd[0], sp, &alloc, &pipe_open);
	}
	if (sp->capture) {
		close(pipefd[0]);
		if (!sp->out)
			sp->out = sy_xcalloc(1, 1);
		sp->out[sp->out_len] = '\0';
	}
	if (WIFEXITED(wstatus))
		sp->status = WEXITSTATUS(wstatus);
	else if (WIFSIGNALED(wstatus))
		sp->status = 128 + WTERMSIG(wstatus);
	else
		sp->status = 127;
	return 0;
}

int sy_spawn_cmd(const char *const *argv, int log_fd, unsigned timeout_s, struct sy_error *err)
{
	struct sy_spawn sp = SY_SPAWN_INIT;

	sp.argv = argv;
	sp.log_fd = log_fd;
	sp.timeout_s = timeout_s;
	if (sy_spawn_run(&sp, err))
		return -1;
	if (sp.timed_out)
		return sy_error_set(err, "%s: timed out after %u s", argv[0], timeout_s);
	if (sp.status)
		return sy_error_set(err, "%s exited with status %d", argv[0], sp.status);
	return 0;
}
