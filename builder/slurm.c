/* The slurm executor (builder/slurm.h). */
#define _GNU_SOURCE
#include "builder/slurm.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/child.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/util.h"

/* A job without a state in squeue or sacct this long after its submission
 * is taken as lost (squeue lists a job from its submission on; the grace
 * covers a controller busy answering). */
#define LOST_AFTER_S 30.0

/* How often result files are looked at between two squeue polls: a stat
 * of a file each, cheap next to an squeue. */
#define RESULT_CHECK_MS 50

struct sjob {
	size_t id;        /* the scheduler's number */
	char *name;       /* job name */
	char *dir;        /* <jobs_dir>/<name> */
	char *jobid;      /* Slurm's id, NULL when it never was submitted */
	char *line;       /* its result line once known */
	int status;       /* 0, or 1 when it ended without result */
	int keep;         /* 1: left running for a restart; its files stay */
	double since;     /* when it was submitted or attached to */
};

struct slurm {
	struct builder_executor_config cfg; /* copied strings, owned */
	struct sy_strv options;  /* cfg.sbatch_options, owned */
	char *program;           /* the shipyard the nodes run */
	struct sjob *jobs;
	size_t n, alloc;
	pid_t ppid;              /* the scheduler's parent when made */
	int cancelled;           /* 1 once cancel scancelled the jobs */
	double last_poll;        /* sy_now_s of the last squeue */
};

int builder_slurm_state_class(const char *state)
{
	static const char *const infra[] = { "NODE_FAIL", "BOOT_FAIL", "PREEMPTED", "CANCELLED",
					     "DEADLINE", "REVOKED", NULL };
	static const char *const own[] = { "TIMEOUT", "OUT_OF_MEMORY", NULL };
	static const char *const ended[] = { "COMPLETED", "FAILED", NULL };
	size_t n = strcspn(state, " +");

	for (int i = 0; infra[i]; i++)
		if (strlen(infra[i]) == n && !strncmp(state, infra[i], n))
			return 1;
	for (int i = 0; own[i]; i++)
		if (strlen(own[i]) == n && !strncmp(state, own[i], n))
			return 2;
	for (int i = 0; ended[i]; i++)
		if (strlen(ended[i]) == n && !strncmp(state, ended[i], n))
			return 3;
	return 0;
}

void builder_slurm_time(unsigned seconds, char *buf, size_t size)
{
	unsigned minutes = (seconds + 59) / 60;

	snprintf(buf, size, "%u", minutes ? minutes : 1);
}

static char *opt_dup(const char *s)
{
	return s ? sy_xstrdup(s) : NULL;
}

void *builder_slurm_new(const struct builder_executor_config *cfg, struct sy_error *err)
{
	struct slurm *s;
	char self[PATH_MAX];
	ssize_t n;

	if (!cfg || !cfg->jobs_dir)
		return sy_error_set(err, "slurm executor: no jobs directory"), NULL;
	if (sy_mkdir_p(cfg->jobs_dir, 0755, err))
		return NULL;
	s = sy_xcalloc(1, sizeof(*s));
	s->cfg.name = "slurm";
	s->cfg.jobs_dir = sy_xstrdup(cfg->jobs_dir);
	s->cfg.partition = opt_dup(cfg->partition);
	s->cfg.account = opt_dup(cfg->account);
	s->cfg.qos = opt_dup(cfg->qos);
	s->cfg.tick_ms = cfg->tick_ms ? cfg->tick_ms : 1000;
	for (size_t i = 0; cfg->sbatch_options && cfg->sbatch_options[i]; i++)
		sy_strv_push(&s->options, cfg->sbatch_options[i]);
	if (cfg->program) {
		s->program = sy_xstrdup(cfg->program);
	} else if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		s->program = sy_xstrdup(self);
	} else {
		s->program = sy_xstrdup("shipyard");
	}
	s->ppid = getppid();
	return s;
}

/* Runs argv, its standard output in *out (caller frees) and its error
 * output in the one-line err. Returns 0 when it exited with 0. */
static int run_capture(const char *const *argv, char **out, struct sy_error *err)
{
	struct sy_child c = SY_CHILD_INIT;
	int rc;

	*out = NULL;
	c.argv = argv;
	c.capture = 1;
	c.log_fd = SY_CHILD_DEVNULL;
	c.timeout_s = 60;
	if (sy_child_run(&c, err))
		return -1;
	rc = c.status == 0 ? 0 : -1;
	if (rc)
		sy_error_set(err, "%s exited with status %d%s", argv[0], c.status,
			     c.timed_out ? " (timed out)" : "");
	*out = c.out;
	c.out = NULL;
	sy_child_release(&c);
	return rc;
}

static char *job_file(const struct sjob *j, const char *name)
{
	return sy_xasprintf("%s/%s", j->dir, name);
}

/* Writes the batch script of j. */
static int write_script(const struct slurm *s, const struct sjob *j, struct sy_error *err)
{
	char *path = job_file(j, "job.sh"), *desc = job_file(j, "job.json");
	/* Paths are ours (jobs_dir and job names of safe characters) but
	 * quoted all the same. */
	char *text = sy_xasprintf("#!/bin/sh\n# shipyard build job %s\nexec '%s' buildjob '%s'\n",
				  j->name, s->program, desc);
	int rc = sy_write_file_atomic(path, text, strlen(text), 0755, err);

	free(text);
	free(desc);
	free(path);
	return rc;
}

/* The sbatch command line of j. */
static void sbatch_argv(const struct slurm *s, const struct sjob *j,
			const struct builder_resources *res, struct sy_strv *argv)
{
	char limit[24];

	sy_strv_push(argv, "sbatch");
	sy_strv_push(argv, "--parsable");
	sy_strv_pushf(argv, "--job-name=shipyard-%s", j->name);
	sy_strv_pushf(argv, "--output=%s/slurm.out", j->dir);
	sy_strv_pushf(argv, "--chdir=%s", j->dir);
	sy_strv_pushf(argv, "--cpus-per-task=%u", res->cpus ? res->cpus : 1);
	if (res->memory_mib)
		sy_strv_pushf(argv, "--mem=%lluM", res->memory_mib);
	if (res->tmp_mib)
		sy_strv_pushf(argv, "--tmp=%lluM", res->tmp_mib);
	if (res->time_s) {
		builder_slurm_time(res->time_s, limit, sizeof(limit));
		sy_strv_pushf(argv, "--time=%s", limit);
	}
	if (s->cfg.partition)
		sy_strv_pushf(argv, "--partition=%s", s->cfg.partition);
	if (s->cfg.account)
		sy_strv_pushf(argv, "--account=%s", s->cfg.account);
	if (s->cfg.qos)
		sy_strv_pushf(argv, "--qos=%s", s->cfg.qos);
	for (size_t i = 0; i < s->options.n; i++)
		sy_strv_push(argv, s->options.items[i]);
	sy_strv_pushf(argv, "%s/job.sh", j->dir);
}

/* Submits j; sets j->jobid and writes it to <dir>/jobid. */
static int submit(struct slurm *s, struct sjob *j, const struct builder_resources *res,
		  struct sy_error *err)
{
	struct sy_strv argv = SY_STRV_INIT;
	char *out = NULL, *path;
	int rc;

	if (write_script(s, j, err))
		return -1;
	sbatch_argv(s, j, res, &argv);
	rc = run_capture((const char *const *)argv.items, &out, err);
	sy_strv_release(&argv);
	if (rc == 0) {
		/* --parsable: "<id>" or "<id>;<cluster>". */
		size_t len = strcspn(out, ";\n");
		if (!len || strspn(out, "0123456789") != len)
			rc = sy_error_set(err, "sbatch: unexpected output '%.60s'", out);
		else
			j->jobid = sy_xstrndup(out, len);
	}
	free(out);
	if (rc)
		return -1;
	path = job_file(j, "jobid");
	rc = sy_write_file_atomic(path, j->jobid, strlen(j->jobid), 0644, err);
	free(path);
	return rc;
}

/* Reads <dir>/<name> into a newly allocated string, trailing newline
 * kept, or NULL. */
static char *read_job_file(const struct sjob *j, const char *name)
{
	char *path = job_file(j, name), *data = NULL;
	size_t len;

	if (sy_read_file(path, &data, &len, NULL))
		data = NULL;
	free(path);
	return data;
}

static void forget_job_files(const struct sjob *j)
{
	static const char *const names[] = { "jobid", "result", NULL };

	for (int i = 0; names[i]; i++) {
		char *path = job_file(j, names[i]);
		unlink(path);
		free(path);
	}
}

static int slurm_start(void *impl, const struct builder_executor_job *job, struct sy_error *err)
{
	struct slurm *s = impl;
	struct sjob *j;
	char *desc, *result, *line = NULL;
	int rc = 0;

	if (!job->describe)
		return sy_error_set(err, "job %s cannot be described for a cluster", job->name);
	if (s->n == s->alloc) {
		s->alloc = s->alloc ? s->alloc * 2 : 8;
		s->jobs = sy_xrealloc(s->jobs, s->alloc * sizeof(*s->jobs));
	}
	j = &s->jobs[s->n];
	*j = (struct sjob){ .id = job->id, .name = sy_xstrdup(job->name), .since = sy_now_s() };
	j->dir = sy_xasprintf("%s/%s", s->cfg.jobs_dir, job->name);
	if ((j->jobid = read_job_file(j, "jobid"))) {
		j->jobid[strcspn(j->jobid, "\n")] = '\0';
		sy_log_info("%s: attached to Slurm job %s", job->name, j->jobid);
		s->n++;
		return 0;
	}
	if (sy_mkdir_p(j->dir, 0755, err)) {
		free(j->name);
		free(j->dir);
		return -1;
	}
	forget_job_files(j);
	desc = job_file(j, "job.json");
	result = job_file(j, "result");
	if (job->describe(job->arg, desc, result, &line))
		j->line = line; /* ended while described: no submission */
	else
		rc = submit(s, j, &job->res, err);
	free(desc);
	free(result);
	if (rc) {
		free(j->name);
		free(j->dir);
		return -1;
	}
	s->n++;
	return 0;
}

/* Sets j's result from its result file; 1 when there is one. */
static int take_result(struct sjob *j)
{
	if (j->line || !j->jobid)
		return j->line != NULL;
	j->line = read_job_file(j, "result");
	return j->line != NULL;
}

/* Ends j without result: reason names the job and what Slurm says. */
static void end_without_result(struct slurm *s, struct sjob *j, int klass, const char *state)
{
	int infra = klass != 2;

	if (s->cancelled)
		j->line = sy_xasprintf("0 0 0.000 -1\tSlurm job %s: %s\n", j->jobid, state);
	else
		j->line = sy_xasprintf("0 %d 0.000 -1\tSlurm job %s (%s) ended without a result: "
				       "%s%s (see %s/slurm.out)\n", infra, j->jobid, j->name, state,
				       klass == 2 ? ", a limit of its resource class" : "", j->dir);
	j->status = 1;
}

/* Parses "<id>|<state>" lines into the jobs without result; marks in seen
 * the jobs listed. */
static void apply_states(struct slurm *s, const char *out, unsigned char *seen)
{
	const char *p = out;

	while (p && *p) {
		const char *nl = strchr(p, '\n'), *bar = strchr(p, '|');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (bar && bar < p + len) {
			char *id = sy_xstrndup(p, (size_t)(bar - p));
			char *state = sy_xstrndup(bar + 1, len - (size_t)(bar - p) - 1);
			for (size_t k = 0; k < s->n; k++) {
				struct sjob *j = &s->jobs[k];
				if (j->line || !j->jobid || strcmp(j->jobid, id))
					continue;
				seen[k] = 1;
				int klass = builder_slurm_state_class(state);
				/* A result may land between the poll and now. */
				if (klass && !take_result(j))
					end_without_result(s, j, klass, state);
			}
			free(state);
			free(id);
		}
		p = nl ? nl + 1 : NULL;
	}
}

/* The ids of the jobs without result, comma-separated, or NULL. */
static char *pending_ids(const struct slurm *s, const unsigned char *seen)
{
	struct sy_strv ids = SY_STRV_INIT;
	char *joined = NULL;

	for (size_t k = 0; k < s->n; k++)
		if (!s->jobs[k].line && s->jobs[k].jobid && (!seen || !seen[k]))
			sy_strv_push(&ids, s->jobs[k].jobid);
	if (ids.n)
		joined = sy_strv_join(&ids, ",");
	sy_strv_release(&ids);
	return joined;
}

/* Asks sacct about the jobs squeue did not list; the ones it does not know
 * either are lost once LOST_AFTER_S passed. */
static void ask_sacct(struct slurm *s, unsigned char *seen)
{
	char *ids = pending_ids(s, seen), *out = NULL, *list;
	struct sy_error err = { { 0 } };

	if (!ids)
		return;
	list = sy_xasprintf("--jobs=%s", ids);
	const char *argv[] = { "sacct", "--noheader", "--parsable2", "--allocations",
			       "--format=JobID,State", list, NULL };
	if (run_capture(argv, &out, &err) == 0)
		apply_states(s, out, seen);
	free(out);
	free(list);
	free(ids);
	for (size_t k = 0; k < s->n; k++) {
		struct sjob *j = &s->jobs[k];
		if (!j->line && j->jobid && !seen[k] && sy_now_s() - j->since > LOST_AFTER_S &&
		    !take_result(j))
			end_without_result(s, j, 1, "unknown to squeue and sacct");
	}
}

/* One poll of every job without a result. */
static void poll_jobs(struct slurm *s)
{
	unsigned char *seen = sy_xcalloc(s->n + 1, 1);
	char *ids, *out = NULL, *list;
	struct sy_error err = { { 0 } };
	int any_unseen = 0;

	for (size_t k = 0; k < s->n; k++)
		take_result(&s->jobs[k]);
	if (!(ids = pending_ids(s, NULL)))
		goto out;
	list = sy_xasprintf("--jobs=%s", ids);
	const char *argv[] = { "squeue", "--noheader", "--states=all", "--format=%i|%T", list, NULL };
	/* squeue fails when none of the ids is known any more. */
	if (run_capture(argv, &out, &err) == 0)
		apply_states(s, out, seen);
	free(out);
	free(list);
	free(ids);
	for (size_t k = 0; k < s->n; k++)
		any_unseen |= !s->jobs[k].line && s->jobs[k].jobid && !seen[k];
	if (any_unseen)
		ask_sacct(s, seen);
out:
	free(seen);
	s->last_poll = sy_now_s();
}

/* Hands out a finished job, if any. */
static int take_finished(struct slurm *s, struct builder_executor_done *done)
{
	for (size_t k = 0; k < s->n; k++) {
		struct sjob *j = &s->jobs[k];
		if (!j->line)
			continue;
		*done = (struct builder_executor_done){ .id = j->id, .line = j->line,
							.status = j->status };
		/* The next start of this job submits it afresh, unless it was
		 * left running for a restart to attach to. */
		if (!j->keep) {
			char *src = job_file(j, "src");
			forget_job_files(j);
			/* Kept after a failure: its description and Slurm's
			 * output say what happened. */
			sy_rm_rf(!strncmp(j->line, "1 ", 2) ? j->dir : src, NULL);
			free(src);
		}
		free(j->name);
		free(j->dir);
		free(j->jobid);
		s->jobs[k] = s->jobs[--s->n];
		return 1;
	}
	return 0;
}

static void sleep_ms(double ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
	nanosleep(&ts, NULL);
}

/* Reads the result files of the jobs without a line: a finished build is
 * seen within RESULT_CHECK_MS, without waiting for the next squeue. */
static void check_results(struct slurm *s)
{
	for (size_t k = 0; k < s->n; k++)
		take_result(&s->jobs[k]);
}

static int slurm_wait(void *impl, int timeout_ms, struct builder_executor_done *done)
{
	struct slurm *s = impl;
	double end = timeout_ms < 0 ? 0 : sy_now_s() + timeout_ms / 1000.0;

	for (;;) {
		if (take_finished(s, done))
			return 1;
		if (!s->n)
			return 0;
		double next = s->last_poll + s->cfg.tick_ms / 1000.0, now = sy_now_s();
		if (timeout_ms >= 0 && now >= end)
			return 0;
		if (next > now) {
			double until = timeout_ms >= 0 && end < next ? end : next;
			if (until > now + RESULT_CHECK_MS / 1000.0)
				until = now + RESULT_CHECK_MS / 1000.0;
			sleep_ms((until - now) * 1000);
			check_results(s);
			continue;
		}
		poll_jobs(s);
	}
}

static void slurm_cancel(void *impl)
{
	struct slurm *s = impl;
	struct sy_strv argv = SY_STRV_INIT;
	char *out = NULL;
	struct sy_error err = { { 0 } };

	if (getppid() != s->ppid) {
		/* The service that started this run died (the run got its
		 * death signal): its restart runs the pipeline again and
		 * attaches to these jobs. */
		sy_log_info("the scheduler's parent ended: Slurm jobs left running for a restart");
		for (size_t k = 0; k < s->n; k++) {
			struct sjob *j = &s->jobs[k];
			if (j->line || !j->jobid)
				continue;
			j->line = sy_xasprintf("0 0 0.000 -1\tleft running as Slurm job %s for a "
					       "restart to attach to\n", j->jobid);
			j->status = 1;
			j->keep = 1;
		}
		return;
	}
	s->cancelled = 1;
	sy_strv_push(&argv, "scancel");
	for (size_t k = 0; k < s->n; k++)
		if (s->jobs[k].jobid && !s->jobs[k].line)
			sy_strv_push(&argv, s->jobs[k].jobid);
	if (argv.n > 1 && run_capture((const char *const *)argv.items, &out, &err))
		sy_log_warn("scancel: %s", err.msg);
	free(out);
	sy_strv_release(&argv);
}

static size_t slurm_running(void *impl)
{
	return ((struct slurm *)impl)->n;
}

static void slurm_free(void *impl)
{
	struct slurm *s = impl;

	for (size_t k = 0; k < s->n; k++) {
		free(s->jobs[k].name);
		free(s->jobs[k].dir);
		free(s->jobs[k].jobid);
		free(s->jobs[k].line);
	}
	free(s->jobs);
	free((char *)s->cfg.jobs_dir);
	free((char *)s->cfg.partition);
	free((char *)s->cfg.account);
	free((char *)s->cfg.qos);
	sy_strv_release(&s->options);
	free(s->program);
	free(s);
}

const struct builder_executor_ops builder_slurm_ops = {
	"slurm", slurm_start, slurm_wait, slurm_cancel, slurm_running, slurm_free,
};
