/* The timers of the service, run by its main thread: each repository's
 * watched branches are polled every repo.<name>.poll seconds (a new head
 * queues a pipeline; the first poll compares with the commit the channel
 * was last published from, so that a restart queues nothing new), and each
 * cron schedule queues a release pipeline of every watched branch. */
#define _GNU_SOURCE
#include "server/serve-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "gitwatch/mirror.h"
#include "state/layout.h"

int serve_check_schedules(const struct server_conf *conf, struct sy_error *err)
{
	for (size_t i = 0; i < conf->nrepos; i++)
		for (size_t k = 0; k < conf->repos[i].schedules.n; k++) {
			struct server_cron c;
			if (server_cron_parse(conf->repos[i].schedules.items[k], &c, err))
				return sy_error_prefix(err, "%s: repo.%s.schedule", conf->path,
						       conf->repos[i].name);
		}
	return 0;
}

/* The commit a channel was last published from, or NULL. */
static char *published_commit(const struct serve *s, const char *channel)
{
	struct state_published rec;
	struct sy_error err = { { 0 } };
	char *commit;

	if (state_published_read(s->conf.state_dir, channel, &rec, &err) < 0)
		sy_log_warn("%s", err.msg);
	commit = rec.commit;
	rec.commit = NULL;
	state_published_release(&rec);
	return commit;
}

/* Queues a pipeline for a branch head found by polling or a schedule. */
static void queue_branch(struct serve *s, const struct server_repo_conf *rc, const char *branch,
			 const char *head, const char *trigger, const char *release)
{
	char ref[300], channel[320];
	struct sy_error err = { { 0 } };

	snprintf(ref, sizeof(ref), "%s%s", release ? "schedule/" : "", branch);
	snprintf(channel, sizeof(channel), "%s%s", rc->channel_prefix, branch);
	struct server_store_pipeline p = { .repo = rc->name, .trigger = (char *)trigger,
					    .ref = ref, .channel = channel, .head = (char *)head,
					    .release = (char *)release };
	if (serve_queue_pipeline(s, NULL, &p, &err) == 1)
		sy_log_info("%s: repo=%s branch=%s head=%.12s pipeline=%ld%s%s", trigger, rc->name,
			    branch, head, p.id, release ? " release=" : "", release ? release : "");
	else
		sy_log_error("%s", err.msg);
}

/* Fetches the mirror; calls fn for every watched branch with its head. */
static int each_branch(struct serve *s, const struct server_repo_conf *rc,
		       void (*fn)(struct serve *, const struct server_repo_conf *, const char *,
				  const char *, void *),
		       void *arg)
{
	char *mirror = state_mirror_dir(s->conf.state_dir, rc->name);
	struct sy_strv names = SY_STRV_INIT, heads = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	struct gitwatch_credentials creds = { 0 };

	server_repo_credentials(rc, &creds);
	int rc_ = gitwatch_mirror_update_with(rc->remote, mirror, NULL, &creds, &err) ||
			  gitwatch_mirror_branches(mirror, &names, &heads, &err)
		  ? -1
		  : 0;

	if (rc_)
		sy_log_warn("poll: repo=%s: %s", rc->name, err.msg);
	for (size_t i = 0; rc_ == 0 && i < names.n; i++)
		if (serve_branch_watched(rc, names.items[i]))
			fn(s, rc, names.items[i], heads.items[i], arg);
	sy_strv_release(&names);
	sy_strv_release(&heads);
	free(mirror);
	return rc_;
}

static void poll_branch(struct serve *s, const struct server_repo_conf *rc, const char *branch,
			const char *head, void *arg)
{
	char *key = sy_xasprintf("%s/%s", rc->name, branch);
	size_t k;

	(void)arg;
	for (k = 0; k < s->seen_refs.n && strcmp(s->seen_refs.items[k], key); k++)
		;
	if (k == s->seen_refs.n) {
		char *channel = sy_xasprintf("%s%s", rc->channel_prefix, branch);
		char *published = published_commit(s, channel);
		free(channel);
		sy_strv_push(&s->seen_refs, key);
		sy_strv_push(&s->seen_heads, published ? published : "");
		free(published);
	}
	if (strcmp(s->seen_heads.items[k], head)) {
		free(s->seen_heads.items[k]);
		s->seen_heads.items[k] = sy_xstrdup(head);
		queue_branch(s, rc, branch, head, "poll", NULL);
	}
	free(key);
}

static void release_branch(struct serve *s, const struct server_repo_conf *rc, const char *branch,
			   const char *head, void *arg)
{
	char name[128];

	snprintf(name, sizeof(name), "%s-%s", branch, (const char *)arg);
	queue_branch(s, rc, branch, head, "schedule", name);
}

void serve_timers_init(struct serve *s)
{
	time_t now = time(NULL);

	s->timers = sy_xcalloc(s->conf.nrepos + 1, sizeof(*s->timers));
	for (size_t i = 0; i < s->conf.nrepos; i++) {
		const struct server_repo_conf *rc = &s->conf.repos[i];
		struct repo_timer *t = &s->timers[i];
		t->next_poll = rc->poll_s ? now : 0;
		t->crons = sy_xcalloc(rc->schedules.n + 1, sizeof(*t->crons));
		t->next_fire = sy_xcalloc(rc->schedules.n + 1, sizeof(time_t));
		for (size_t k = 0; k < rc->schedules.n; k++) {
			/* Checked when the configuration was read. */
			server_cron_parse(rc->schedules.items[k], &t->crons[k], NULL);
			t->next_fire[k] = server_cron_next(&t->crons[k], now);
		}
	}
}

void serve_timers_tick(struct serve *s)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < s->conf.nrepos; i++) {
		const struct server_repo_conf *rc = &s->conf.repos[i];
		struct repo_timer *t = &s->timers[i];
		if (rc->poll_s && now >= t->next_poll) {
			t->next_poll = now + rc->poll_s;
			each_branch(s, rc, poll_branch, NULL);
		}
		for (size_t k = 0; k < rc->schedules.n; k++) {
			if (t->next_fire[k] == (time_t)-1 || now < t->next_fire[k])
				continue;
			char stamp[32];
			struct tm tm;
			gmtime_r(&t->next_fire[k], &tm);
			strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M", &tm);
			t->next_fire[k] = server_cron_next(&t->crons[k], now);
			each_branch(s, rc, release_branch, stamp);
		}
	}
}

void serve_timers_release(struct serve *s)
{
	for (size_t i = 0; s->timers && i < s->conf.nrepos; i++) {
		free(s->timers[i].crons);
		free(s->timers[i].next_fire);
	}
	free(s->timers);
}
