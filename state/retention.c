#define _GNU_SOURCE
#include "state/retention.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/strv.h"
#include "common/util.h"
#include "state/layout.h"

/* Seconds in the days of a max_age_days. */
#define DAY_S (24 * 60 * 60)

/* Newest first: the later time, then the greater name, numbers in names
 * compared as numbers (strverscmp: snapshot "...Z.10" after "...Z.9"). */
static int newer(const struct state_retention_item *a, const struct state_retention_item *b)
{
	if (a->time != b->time)
		return a->time > b->time;
	return strverscmp(a->name ? a->name : "", b->name ? b->name : "") > 0;
}

size_t state_retention_select(const struct state_retention_item *items, size_t n,
			      const struct state_retention_limit *limit, time_t now,
			      unsigned char *remove)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++) {
		/* The rank is how many are newer: quadratic, and n is a
		 * channel's snapshots or a config's builds. */
		size_t rank = 0;
		for (size_t k = 0; k < n; k++)
			rank += k != i && newer(&items[k], &items[i]);
		int over = limit->keep && rank >= limit->keep;
		int old = limit->max_age_days &&
			  now - items[i].time > (time_t)limit->max_age_days * DAY_S;
		remove[i] = (over || old) && !items[i].kept_by;
		count += remove[i];
	}
	return count;
}

time_t state_retention_time(const char *id, const char *path)
{
	struct tm tm;
	struct stat st;
	char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(id, "%Y%m%dT%H%M%SZ", &tm);
	if (end && (!*end || *end == '.'))
		return timegm(&tm);
	return stat(path, &st) == 0 ? st.st_mtime : 0;
}

int state_hold_dir(const char *path, struct state_holds *holds, struct sy_error *err)
{
	struct stat held, now;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return sy_error_set(err, "%s: cannot open: %s", path, strerror(errno));
	}
	while (flock(fd, LOCK_SH) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return sy_error_set(err, "%s: cannot lock: %s", path, strerror(e));
		}
	}
	/* A collector that moved it to the trash before the lock was ours
	 * leaves path naming nothing, or another directory. */
	if (fstat(fd, &held) < 0 || stat(path, &now) < 0 || held.st_dev != now.st_dev ||
	    held.st_ino != now.st_ino) {
		close(fd);
		return 0;
	}
	holds->fds = sy_xrealloc(holds->fds, (holds->n + 1) * sizeof(*holds->fds));
	holds->fds[holds->n++] = fd;
	return 1;
}

void state_holds_release(struct state_holds *holds)
{
	for (size_t i = 0; i < holds->n; i++)
		close(holds->fds[i]);
	free(holds->fds);
	holds->fds = NULL;
	holds->n = 0;
}

/* A name in the trash no other move takes: time, pid and a counter. */
static char *trash_name(const char *trash, const char *path)
{
	static unsigned long seq;
	unsigned long n = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);

	return sy_xasprintf("%s/%ld-%ld-%lu-%s", trash, (long)time(NULL), (long)getpid(), n,
			    sy_base_name(path));
}

int state_trash_move(const char *state, const char *path, struct sy_error *err)
{
	char *trash = state_trash_dir(state), *to = NULL;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		free(trash);
		if (errno == ENOENT)
			return 0;
		return sy_error_set(err, "%s: cannot move to the trash: %s", path, strerror(errno));
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			rc = sy_error_set(err, "%s: cannot lock: %s", path, strerror(errno));
		goto out;
	}
	if (sy_mkdir_p(trash, 0700, err)) {
		rc = -1;
		goto out;
	}
	to = trash_name(trash, path);
	if (rename(path, to) < 0) {
		rc = errno == ENOENT ? 0
				     : sy_error_set(err, "%s: cannot move to the trash: %s", path,
						    strerror(errno));
		goto out;
	}
	/* Durable before the delete begins: a crash leaves it in the trash,
	 * never back at its name half deleted. */
	sy_fsync_dir(trash, NULL);
	rc = 1;
out:
	close(fd);
	free(to);
	free(trash);
	return rc;
}

int state_trash_empty(const char *state, struct sy_error *err)
{
	char *trash = state_trash_dir(state);
	struct sy_strv names = SY_STRV_INIT;
	int rc = 0;

	sy_list_dir(trash, &names);
	for (size_t i = 0; i < names.n; i++) {
		char *path = sy_xasprintf("%s/%s", trash, names.items[i]);
		struct sy_error e = { { 0 } };
		if (sy_rm_rf(path, &e) && rc == 0) {
			rc = -1;
			sy_error_set(err, "%s: %s", path, e.msg);
		}
		free(path);
	}
	sy_strv_release(&names);
	free(trash);
	return rc;
}

int state_gc_lock(const char *state, int wait, struct sy_error *err)
{
	char *path = state_gc_lock_path(state);
	int fd = -1, rc;

	if (sy_mkdir_p(state, 0755, err)) {
		free(path);
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = sy_error_set(err, "%s: cannot open: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	while ((rc = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB))) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		int e = errno;
		close(fd);
		fd = e == EWOULDBLOCK ? -2
				      : sy_error_set(err, "%s: cannot lock: %s", path, strerror(e));
	}
	free(path);
	return fd;
}
