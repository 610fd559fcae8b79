#define _GNU_SOURCE
#include "builder/buildjob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/buildjob-private.h"
#include "builder/buildlock.h"
#include "builder/buildlog.h"
#include "builder/rootfs.h"
#include "sandbox/rpminstall.h"
#include "sandbox/sandbox.h"
#include "builder/worker.h"
#include "builder/workercache.h"
#include "common/child.h"
#include "common/fs.h"

/* How often a running build's cgroup is asked whether it refused a fork. */
#define LIMIT_CHECK_MS 500
/* How much of the end of the build log is searched for why rpmbuild
 * failed. */
#define LOG_TAIL_BYTES 65536

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- in the calling process ---- */

static void job_release(struct job *job)
{
	free(job->scratch);
	free(job->layer);
	free(job->image);
	free(job->outputs);
	free(job->upper);
	free(job->work);
	free(job->root);
	free(job->lower);
	sy_strv_release(&job->deps);
	sandbox_cgroup_release(&job->cgroup);
	if (job->reason_fd >= 0)
		close(job->reason_fd);
}

/* Creates the scratch directory afresh (the caller holds its lock) with
 * the directories the build's process and pid 1 mount on; with an output
 * limit, upper, work or the extracted root are made by the build's process
 * in the layer it mounts. */
static int prepare_scratch(struct job *job, struct sy_error *err)
{
	const struct builder_build_request *req = job->req;
	char *reason, *base;

	job->lower = realpath(req->worker_root, NULL);
	if (!job->lower)
		return sy_error_set(err, "worker root %s: %s", req->worker_root, strerror(errno));
	if (sy_rm_rf(req->scratch_dir, err) || sy_mkdir_p(req->scratch_dir, 0700, err))
		return -1;
	job->scratch = realpath(req->scratch_dir, NULL);
	if (!job->scratch)
		return sy_error_set(err, "%s: %s", req->scratch_dir, strerror(errno));
	job->outputs = sy_xasprintf("%s/outputs", job->scratch);
	job->layer_bytes = req->output_limit_bytes;
	if (req->output_limit_bytes) {
		job->layer = sy_xasprintf("%s/fs", job->scratch);
		job->image = sy_xasprintf("%s/fs.img", job->scratch);
		if (sy_mkdir_p(job->layer, 0755, err))
			return -1;
	}
	base = job->layer ? job->layer : job->scratch;
	if (req->worker_tarball) {
		unsigned long long worker = 0;
		/* Room for the extracted files, which take about what they take
		 * in the cache, with a margin for a filesystem that rounds
		 * otherwise; what is left over is taken up once they are
		 * there (buildroot.c), so that the build can add the limit. */
		if (builder_worker_disk_usage(job->lower, &worker, err))
			return -1;
		job->layer_bytes += worker + worker / 4 + (64ULL << 20);
		job->root = sy_xasprintf("%s/root", base);
		job->upper = sy_xstrdup(job->root);
	} else {
		job->root = sy_xasprintf("%s/root", job->scratch);
		job->upper = sy_xasprintf("%s/upper", base);
		job->work = sy_xasprintf("%s/work", base);
		if (!job->layer && (sy_mkdir_p(job->upper, 0755, err) ||
				    sy_mkdir_p(job->work, 0700, err)))
			return -1;
	}
	if (!job->layer || !req->worker_tarball)
		if (sy_mkdir_p(job->root, 0755, err))
			return -1;
	reason = sy_xasprintf("%s/reason", job->scratch);
	job->reason_fd = open(reason, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	free(reason);
	if (job->reason_fd < 0)
		return sy_error_set(err, "%s/reason: %s", job->scratch, strerror(errno));
	return 0;
}

/* Size of the regular file fd, or -1 when it is not one. */
static off_t regular_size(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	return st.st_size;
}

/* Returns the cause of rpmbuild's failure the build log (the regular file
 * log_fd, written from offset since on) gives (builder/buildlog.h), newly
 * allocated, or NULL. Only the last LOG_TAIL_BYTES are read: rpmbuild ends
 * with its errors. The log is reopened for reading through /proc, as log_fd
 * may be write-only. */
static char *log_cause(int log_fd, off_t since)
{
	char *path = sy_xasprintf("/proc/self/fd/%d", log_fd);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t size = regular_size(fd), from;
	char *buf = NULL, *cause = NULL;
	ssize_t n;

	free(path);
	if (size < 0 || size <= since)
		goto out;
	from = size - since > LOG_TAIL_BYTES ? size - LOG_TAIL_BYTES : since;
	buf = sy_xmalloc(LOG_TAIL_BYTES);
	n = pread(fd, buf, (size_t)(size - from), from);
	if (n > 0)
		cause = builder_build_log_cause(buf, (size_t)n);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return cause;
}

/* Turns the build child's end into an error message; *infra tells whose
 * failure it is. log_start is the log's size when the build began. */
static int child_error(const struct job *job, const struct sy_child *c, off_t log_start,
		       int *infra, struct sy_error *err)
{
	const struct builder_build_request *req = job->req;
	char *path, *reason = NULL, *cause = NULL;

	*infra = 0;
	if (c->timed_out)
		return sy_error_set(err, "timed out after %u s", req->timeout_s);
	*infra = c->status != EXIT_PACKAGE;
	path = sy_xasprintf("%s/reason", job->scratch);
	if (sy_read_file(path, &reason, NULL, NULL) == 0 && reason[0]) {
		/* "rpmbuild failed with status 1, see log": the log says why. */
		if (!strncmp(reason, "rpmbuild", 8) && log_start >= 0)
			cause = log_cause(req->log_fd, log_start);
		if (cause)
			sy_error_set(err, "%.*s: %s", (int)strcspn(reason, ","), reason, cause);
		else
			sy_error_set(err, "%s", reason);
	} else {
		sy_error_set(err, "build exited with status %d, see log", c->status);
	}
	free(cause);
	free(reason);
	free(path);
	return -1;
}

/* Removes the scratch directory; processes of a killed build may still be
 * leaving their namespace, so a few tries. */
static int remove_scratch(const char *scratch, struct sy_error *err)
{
	for (int i = 0; i < 50; i++) {
		if (sy_rm_rf(scratch, err) == 0)
			return 0;
		usleep(100 * 1000);
	}
	return -1;
}

/* Reads the outputs the build's process listed (struct job) into res. */
static int read_outputs(const struct job *job, struct builder_build_result *res,
			struct sy_error *err)
{
	char *data, *end;
	size_t len;

	if (sy_read_file(job->outputs, &data, &len, err))
		return -1;
	end = data + len;
	for (char *p = data; p < end;) {
		char *kind = p, *path = p + strlen(p) + 1;
		if (path >= end)
			break;
		p = path + strlen(path) + 1;
		if (!strcmp(kind, "srpm") && !res->srpm)
			res->srpm = sy_xstrdup(path);
		else if (!strcmp(kind, "rpm"))
			sy_strv_push(&res->rpms, path);
	}
	free(data);
	if (!res->srpm)
		return sy_error_set(err, "%s: no SRPM listed", job->outputs);
	return 0;
}

/* The limits of the build: the request's, defaults for its zero fields
 * (builder/buildjob.h). */
static struct sandbox_limits build_limits(const struct builder_build_request *req)
{
	struct sandbox_limits l = req->limits;

	if (!l.memory_bytes)
		l.memory_bytes = sandbox_memory_share(2, BUILDER_BUILD_MEMORY_MAX);
	if (!l.pids)
		l.pids = BUILDER_BUILD_PIDS;
	if (!l.cpu_weight)
		l.cpu_weight = BUILDER_BUILD_CPU_WEIGHT;
	return l;
}

/* Makes the build's cgroup (or the fallback) and says which in the log. */
static void limit_build(struct job *job)
{
	const struct builder_build_request *req = job->req;
	struct sandbox_limits l = build_limits(req);
	const struct sandbox_cgroup *cg = &job->cgroup;

	sandbox_cgroup_create(&job->cgroup, NULL, "build", &l);
	if (req->log_fd < 0 || job->probe)
		return;
	if (cg->dir)
		dprintf(req->log_fd, "shipyard: limits: memory %llu MiB, %u tasks (cgroup %s)\n",
			l.memory_bytes >> 20, l.pids, cg->dir);
	else
		dprintf(req->log_fd, "shipyard: limits: address space %llu MiB a process, %u "
			"processes of the build user (%s)\n", l.memory_bytes >> 20, l.pids,
			cg->why_fallback);
}

/* Runs the build child of job and turns its end into 0 or -1 with err and
 * *infra. */
static int run_child(struct job *job, int *infra, struct sy_error *err)
{
	const struct builder_build_request *req = job->req;
	struct sy_child c = SY_CHILD_INIT;
	off_t log_start = regular_size(req->log_fd);
	enum sandbox_limit_hit hit;
	int rc;

	c.child_fn = builder_job_child;
	c.child_arg = job;
	c.log_fd = req->log_fd >= 0 ? req->log_fd : SY_CHILD_DEVNULL;
	c.extra_fd = job->reason_fd;
	c.extra_fd_at = REASON_FD;
	/* Nothing of the caller's open files may be reachable from the build
	 * (through /proc/1/fd). */
	c.close_fds = 1;
	/* It dies with the caller, and the build (its pid 1) with it. */
	c.death_signal = SIGKILL;
	c.timeout_s = req->timeout_s;
	limit_build(job);
	if (job->cgroup.dir && job->cgroup.limits.pids) {
		c.tick_fn = sandbox_cgroup_tick;
		c.tick_arg = &job->cgroup;
		c.tick_ms = LIMIT_CHECK_MS;
	}
	*infra = 1;
	rc = sy_child_run(&c, err);
	hit = sandbox_cgroup_hit(&job->cgroup);
	sandbox_cgroup_release(&job->cgroup);
	if (rc)
		return -1;
	if (hit) {
		*infra = 0;
		return sandbox_cgroup_hit_error(&job->cgroup, hit, err);
	}
	if (c.timed_out || c.stopped || c.status)
		return child_error(job, &c, log_start, infra, err);
	*infra = 0;
	return 0;
}

/* What the test build reported on REASON_FD: -1 not run, 0 passed, 1
 * failed. */
static int check_result(const struct job *job)
{
	char *path = sy_xasprintf("%s/reason", job->scratch), *text = NULL;
	int check = -1;

	if (!job->req->run_check || sy_read_file(path, &text, NULL, NULL) == 0) {
		if (text && !strncmp(text, "check passed", 12))
			check = 0;
		else if (text && !strncmp(text, "check failed", 12))
			check = 1;
	}
	free(text);
	free(path);
	return check;
}

/* The whole cycle of a build or a probe: lock, worker root held, scratch
 * made, child run, outputs collected (unless a probe), scratch removed. */
static int run_job(struct job *job, struct builder_build_result *res, int *infra,
		   struct sy_error *err)
{
	const struct builder_build_request *req = job->req;
	struct sy_error cleanup_err = { { 0 } };
	int lock_fd = -1, hold_fd = -2, rc = -1;

	*infra = 1;
	/* Another build holding the lock owns the scratch directory: leave it. */
	if (!req->locked && (lock_fd = builder_build_lock(req->scratch_dir, err)) < 0)
		return -1;
	hold_fd = builder_worker_hold(req->worker_root, err);
	if (hold_fd == -1 || prepare_scratch(job, err))
		goto out;
	if (run_child(job, infra, err))
		goto out;
	res->check = check_result(job);
	*infra = 1;
	rc = job->probe ? 0 : read_outputs(job, res, err);
out:
	if (remove_scratch(job->scratch ? job->scratch : req->scratch_dir, &cleanup_err) &&
	    rc == 0) {
		rc = sy_error_set(err, "%s", cleanup_err.msg);
		*infra = 1;
	}
	if (hold_fd >= 0)
		close(hold_fd);
	if (lock_fd >= 0)
		builder_build_unlock(req->scratch_dir, lock_fd);
	return rc;
}

int builder_build_run(const struct builder_build_request *req, struct builder_build_result *res,
		      struct sy_error *err)
{
	struct job job = { .req = req, .reason_fd = -1 };
	double t0 = now_s();
	int infra = 0, rc;

	memset(res, 0, sizeof(*res));
	res->check = -1;
	rc = run_job(&job, res, &infra, err);
	job_release(&job);
	if (rc)
		builder_build_result_release(res);
	res->infrastructure = rc ? infra : 0;
	res->seconds = now_s() - t0;
	return rc;
}

int builder_build_root_probe(const char *worker_root, const char *scratch_dir, double *seconds,
			     struct sy_error *err)
{
	struct builder_build_request req = {
		.worker_root = worker_root,
		.scratch_dir = scratch_dir,
		.log_fd = -1,
		.timeout_s = 60,
	};
	struct builder_build_result res = { SY_STRV_INIT, NULL, 0, 0 };
	struct job job = { .req = &req, .reason_fd = -1, .probe = 1 };
	double t0 = now_s();
	int infra, rc = run_job(&job, &res, &infra, err);

	*seconds = now_s() - t0;
	job_release(&job);
	builder_build_result_release(&res);
	return rc;
}

void builder_build_result_release(struct builder_build_result *res)
{
	sy_strv_release(&res->rpms);
	free(res->srpm);
	res->srpm = NULL;
}

