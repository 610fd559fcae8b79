#define _GNU_SOURCE
#include "server/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "builder/logtimes.h"
#include "common/child.h"
#include "common/fs.h"
#include "common/strv.h"
#include "gitwatch/mirror.h"
#include "state/layout.h"

#define EVENTS_FD 3

static int fetch(const struct server_runner_request *req, struct sy_error *err)
{
	const struct server_store_pipeline *p = req->pipeline;
	char *mirror = state_mirror_dir(req->state_dir, req->repo->name);
	struct gitwatch_credentials creds = { 0 };

	server_repo_credentials(req->repo, &creds);
	int rc = gitwatch_mirror_update_with(req->repo->remote, mirror, NULL, &creds, err);

	if (rc == 0 && p->pr) {
		/* Forges publish a pull request's head as refs/pull/<n>/head
		 * (GitHub, Gitea) or refs/merge-requests/<n>/head (GitLab); a
		 * plain remote has the head branch, fetched above. */
		char *spec = sy_xasprintf("+refs/%s/%ld/head:refs/pull/%ld/head",
					  req->repo->forge && !strcmp(req->repo->forge, "gitlab")
						  ? "merge-requests"
						  : "pull",
					  p->pr, p->pr);
		const char *specs[] = { spec, NULL };
		gitwatch_mirror_update_with(req->repo->remote, mirror, specs, &creds, NULL);
		free(spec);
	}
	free(mirror);
	return rc;
}

/* `shipyard run` reads the repository's settings from the configuration
 * itself (--config, --repo-name): only what differs per pipeline is passed
 * here. */
static void build_argv(const struct server_runner_request *req, struct sy_strv *argv)
{
	const struct server_store_pipeline *p = req->pipeline;

	sy_strv_push(argv, req->self);
	/* A rebuild a person asked for (`/shipyard rebuild <spec>`) is a goal:
	 * `shipyard build --rebuild`, which builds and keeps the artifacts
	 * but publishes nothing (publishing part of a plan would publish a
	 * mix); the next run of the ref publishes them. */
	sy_strv_push(argv, p->rebuild ? "build" : "run");
	sy_strv_push_owned(argv, sy_xasprintf("--config=%s", req->config));
	sy_strv_push_owned(argv, sy_xasprintf("--repo-name=%s", req->repo->name));
	sy_strv_push_owned(argv, sy_xasprintf("--to=%s", p->head));
	if (p->base) {
		sy_strv_push_owned(argv, sy_xasprintf("--from=%s", p->base));
		if (p->pr) {
			/* A pull request is built with its base branch's
			 * configuration, against their merge base, and until
			 * its own channel is published it resolves against
			 * its base branch's channel. */
			sy_strv_push(argv, "--merge-base");
			sy_strv_push_owned(argv, sy_xasprintf("--settings-from=%s", p->base));
			sy_strv_push_owned(argv, sy_xasprintf("--base-channel=%s%s",
							      req->repo->channel_prefix, p->base));
		}
	}
	/* An approval runs the held pipeline's commits again with the guard
	 * lifted (server_store_approve). */
	if (p->approves)
		sy_strv_push(argv, "--approve");
	/* `/shipyard rebuild <spec>`: the spec and what needs it, built
	 * again whatever their artifacts (planner/target.h). */
	if (p->rebuild)
		sy_strv_push_owned(argv, sy_xasprintf("--rebuild=%s", p->rebuild));
	/* A scheduled pipeline makes its dated release itself, while it
	 * still holds the snapshot and images it made (pipeline/release.c). */
	if (p->release)
		sy_strv_push_owned(argv, sy_xasprintf("--release=%s", p->release));
	sy_strv_push_owned(argv, sy_xasprintf("--channel=%s", p->channel));
	sy_strv_push_owned(argv, sy_xasprintf("--pipeline-id=%ld", p->id));
	sy_strv_push_owned(argv, sy_xasprintf("--events-fd=%d", EVENTS_FD));
	if (req->worker_cache)
		sy_strv_push_owned(argv, sy_xasprintf("--worker-cache=%s", req->worker_cache));
	if (req->worker_manifest)
		sy_strv_push_owned(argv, sy_xasprintf("--worker-manifest=%s", req->worker_manifest));
}

/* Starts argv (exec only, no child_fn: the service has threads) with
 * stdout and stderr on log_fd, events_w as EVENTS_FD and no other fd of
 * the service; it gets SIGTERM (a clean stop) when the runner's thread
 * ends. */
static int start_child(struct sy_child *c, char *const *argv, int log_fd, int events_w,
		       struct sy_error *err)
{
	c->argv = (const char *const *)argv;
	c->log_fd = log_fd;
	c->extra_fd = events_w;
	c->extra_fd_at = EVENTS_FD;
	c->close_fds = 1;
	c->death_signal = SIGTERM;
	return sy_child_start(c, err);
}

/* Hands one JSON line of the child to the sink. A status whose state is no
 * forge state is an error status; a job whose state is no job state is
 * left out (the child writes only names of the tables). */
static void dispatch_line(const char *line, const struct server_runner_sink *sink)
{
	json_t *o = json_loads(line, 0, NULL);
	const char *status = json_string_value(json_object_get(o, "status"));
	const char *job = json_string_value(json_object_get(o, "job"));
	const char *state = json_string_value(json_object_get(o, "state"));
	const char *approval = json_string_value(json_object_get(o, "approval"));
	enum forge_state st = FORGE_ERROR;
	enum builder_job_state js;

	if (approval && !strcmp(approval, "needed") && sink->held) {
		sink->held(sink->arg,
			   json_string_value(json_object_get(o, "description")) ?: "approval needed");
	} else if (status && state && sink->status) {
		forge_state_parse(state, &st, NULL);
		sink->status(sink->arg, status, st,
			     json_string_value(json_object_get(o, "description")) ?: "");
	} else if (job && state && sink->job && builder_job_state_parse(state, &js) == 0) {
		sink->job(sink->arg, job, js, json_string_value(json_object_get(o, "reason")),
			  json_string_value(json_object_get(o, "log")),
			  json_number_value(json_object_get(o, "seconds")));
	}
	json_decref(o);
}

/* Reads JSON lines from fd until EOF. */
static void read_events(int fd, const struct server_runner_sink *sink)
{
	FILE *f = fdopen(fd, "r");
	char *line = NULL;
	size_t cap = 0;

	if (!f) {
		close(fd);
		return;
	}
	while (getline(&line, &cap, f) > 0)
		dispatch_line(line, sink);
	free(line);
	fclose(f);
}

int server_runner_run(const struct server_runner_request *req,
		       const struct server_runner_sink *sink, struct sy_error *err)
{
	char id[32];
	snprintf(id, sizeof(id), "%ld", req->pipeline->id);
	char *dir = state_pipeline_dir(req->state_dir, id);
	char *log_path = state_pipeline_file(req->state_dir, id, "pipeline.log");
	struct sy_strv argv = SY_STRV_INIT;
	struct sy_child child = SY_CHILD_INIT;
	int log_fd = -1, ev[2] = { -1, -1 }, rc = -1;
	struct builder_log_follower *times = NULL;

	if (sy_mkdir_p(dir, 0755, err))
		goto out;
	log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log_fd < 0) {
		sy_error_set(err, "%s: %s", log_path, strerror(errno));
		goto out;
	}
	/* An attempt after a restart continues the times of the first. */
	times = builder_log_times_follow(log_path, 1, NULL);
	dprintf(log_fd, "shipyard: pipeline %ld (attempt %d): fetching %s\n", req->pipeline->id,
		req->pipeline->attempts, req->repo->remote);
	if (fetch(req, err)) {
		dprintf(log_fd, "shipyard: %s\n", err->msg);
		goto out;
	}
	build_argv(req, &argv);
	if (pipe2(ev, O_CLOEXEC) < 0) {
		sy_error_set(err, "pipe: %s", strerror(errno));
		goto out;
	}
	rc = start_child(&child, argv.items, log_fd, ev[1], err);
	/* Its end of file comes when the child alone holds the write end. */
	close(ev[1]);
	ev[1] = -1;
	if (rc)
		goto out;
	if (req->child)
		*req->child = child.pid;
	read_events(ev[0], sink);
	ev[0] = -1;
	sy_child_finish(&child);
	if (req->child)
		*req->child = 0;
	rc = child.signal ? 3 : child.status;
	dprintf(log_fd, "shipyard: pipeline %ld: %s %d\n", req->pipeline->id,
		child.signal ? "killed by signal" : "exit status",
		child.signal ? child.signal : child.status);
out:
	if (ev[0] >= 0)
		close(ev[0]);
	if (ev[1] >= 0)
		close(ev[1]);
	builder_log_times_follow_stop(times);
	if (log_fd >= 0)
		close(log_fd);
	sy_strv_release(&argv);
	free(log_path);
	free(dir);
	return rc;
}

void server_runner_stop(pid_t child)
{
	if (child > 0)
		kill(child, SIGTERM);
}
