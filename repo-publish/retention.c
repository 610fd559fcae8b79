#define _GNU_SOURCE
#include "repo-publish/retention.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "repo-publish/publish.h"
#include "state/layout.h"

/* How often repo_publish_hold_current resolves again: each retry means a
 * collection removed the snapshot current named a moment ago, which needs
 * a publication in between. */
#define HOLD_TRIES 100

int repo_publish_lock_channel(const char *state, const char *channel, int wait,
			      struct sy_error *err)
{
	char *repos = state_repos_dir(state);
	char *path = state_channel_lock_path(state, channel);
	int fd = -1, rc = 0;

	if (sy_mkdir_p(repos, 0755, err) == 0) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		while (fd >= 0 && (rc = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB))) < 0 &&
		       errno == EINTR)
			;
		if (fd < 0 || rc < 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			fd = fd >= 0 && e == EWOULDBLOCK
				     ? -2
				     : sy_error_set(err, "%s: cannot lock: %s", path, strerror(e));
		}
	}
	free(path);
	free(repos);
	return fd;
}

int repo_publish_hold_current(const char *state, const char *channel, char **snapshot,
			      struct state_holds *holds, struct sy_error *err)
{
	char *repos = state_repos_dir(state);
	int rc = 0, i;

	*snapshot = NULL;
	for (i = 0; i < HOLD_TRIES; i++) {
		char *path = repo_publish_current_path(repos, channel);
		if (!path)
			break;
		rc = state_hold_dir(path, holds, err);
		if (rc == 1)
			*snapshot = path;
		else
			free(path);
		if (rc != 0)
			break;
	}
	if (i == HOLD_TRIES)
		rc = sy_error_set(err, "channel %s: its current snapshot keeps moving away", channel);
	free(repos);
	return rc;
}

/* Why snapshot id must stay, or NULL. */
static const char *kept_by(const char *id, const char *current,
			   const struct repo_publish_keep *keep, size_t nkeep)
{
	if (current && !strcmp(id, current))
		return "the channel's current snapshot";
	for (size_t i = 0; i < nkeep; i++)
		if (!strcmp(keep[i].id, id))
			return keep[i].why;
	return NULL;
}

/* Moves the selected snapshots to the trash; the lock is held. */
static int gc_locked(const char *state, const char *repos, const char *channel,
		     const struct state_retention_limit *limit,
		     const struct repo_publish_keep *keep, size_t nkeep,
		     struct repo_publish_gc_result *res, struct sy_error *err)
{
	struct sy_strv ids = SY_STRV_INIT;
	char *current = repo_publish_current_id(repos, channel);
	struct state_retention_item *items, *bare;
	unsigned char *remove, *alone;
	time_t now = time(NULL);
	int rc = 0;

	repo_publish_list_snapshots(repos, channel, &ids);
	items = sy_xcalloc(ids.n + 1, sizeof(*items));
	bare = sy_xcalloc(ids.n + 1, sizeof(*bare));
	remove = sy_xcalloc(ids.n + 1, 1);
	alone = sy_xcalloc(ids.n + 1, 1);
	for (size_t i = 0; i < ids.n; i++) {
		items[i] = (struct state_retention_item){
			ids.items[i], 0, kept_by(ids.items[i], current, keep, nkeep),
		};
		char *dir = sy_xasprintf("%s/%s/snapshots/%s", repos, channel, ids.items[i]);
		items[i].time = state_retention_time(ids.items[i], dir);
		free(dir);
		bare[i] = items[i];
		bare[i].kept_by = NULL;
	}
	state_retention_select(items, ids.n, limit, now, remove);
	/* What the limits alone would remove: those kept say why. */
	state_retention_select(bare, ids.n, limit, now, alone);
	for (size_t i = 0; rc == 0 && i < ids.n; i++) {
		if (!remove[i]) {
			if (alone[i])
				sy_strv_pushf(&res->kept, "%s: %s", ids.items[i], items[i].kept_by);
			continue;
		}
		char *dir = sy_xasprintf("%s/%s/snapshots/%s", repos, channel, ids.items[i]);
		int moved = state_trash_move(state, dir, err);
		if (moved < 0)
			rc = -1;
		else if (moved)
			sy_strv_push(&res->removed, ids.items[i]);
		else if (sy_exists(dir))
			sy_strv_pushf(&res->kept, "%s: held by a running pipeline or release",
				      ids.items[i]);
		free(dir);
	}
	free(alone);
	free(remove);
	free(bare);
	free(items);
	free(current);
	sy_strv_release(&ids);
	return rc;
}

int repo_publish_gc_channel(const char *state, const char *channel,
			    const struct state_retention_limit *limit,
			    const struct repo_publish_keep *keep, size_t nkeep, int wait,
			    struct repo_publish_gc_result *res, struct sy_error *err)
{
	char *repos = state_repos_dir(state);
	int lock = repo_publish_lock_channel(state, channel, wait, err), rc = lock;

	if (lock >= 0) {
		/* Under the lock no publication switches current or adds a
		 * snapshot until the selected ones are in the trash. */
		rc = gc_locked(state, repos, channel, limit, keep, nkeep, res, err);
		close(lock);
	}
	if (rc == -1)
		sy_error_prefix(err, "channel %s", channel);
	free(repos);
	return rc;
}

void repo_publish_gc_result_release(struct repo_publish_gc_result *res)
{
	sy_strv_release(&res->removed);
	sy_strv_release(&res->kept);
}
