#define _GNU_SOURCE
#include "builder/logtimes.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/strv.h"
#include "common/util.h"

static const char magic[8] = "SYLOGT1";

#define HEADER_SIZE 16
#define RECORD_SIZE 12
/* Records gathered before one write(2). */
#define BATCH 256
/* Thinned records: at most one per this many milliseconds. */
#define THIN_MS 1000

struct builder_log_times {
	int fd;                /* the sidecar, written at its end */
	int64_t start_ms;      /* the job's start, ms since the epoch */
	uint64_t pos;          /* bytes of the log taken so far */
	int at_line_start;     /* the next byte of the log starts a line */
	size_t records;        /* records in the sidecar */
	int64_t last_ms;       /* ms of the last record, -1 before the first */
};

int64_t builder_log_times_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static char *sidecar_path(const char *log_path)
{
	return sy_xasprintf("%s%s", log_path, BUILDER_LOG_TIMES_SUFFIX);
}

/* Whether the log at fd ends a line (or is empty); sets *size. */
static int log_ends_line(int fd, uint64_t *size)
{
	struct stat st;
	char last = '\n';

	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		*size = 0;
		return 1;
	}
	*size = (uint64_t)st.st_size;
	if (pread(fd, &last, 1, st.st_size - 1) != 1)
		return 1;
	return last == '\n';
}

/* Continues the sidecar at w->fd when it is one: its start, its whole
 * records (a torn one is cut), the time of its last. 0, or -1 when it is
 * not a sidecar. */
static int continue_sidecar(struct builder_log_times *w)
{
	unsigned char head[HEADER_SIZE], rec[RECORD_SIZE];
	struct stat st;

	if (fstat(w->fd, &st) < 0 || st.st_size < HEADER_SIZE ||
	    pread(w->fd, head, sizeof(head), 0) != HEADER_SIZE || memcmp(head, magic, 8))
		return -1;
	w->start_ms = (int64_t)get_le(head + 8, 8);
	w->records = (size_t)((st.st_size - HEADER_SIZE) / RECORD_SIZE);
	if (ftruncate(w->fd, HEADER_SIZE + (off_t)w->records * RECORD_SIZE) < 0)
		return -1;
	if (w->records &&
	    pread(w->fd, rec, sizeof(rec), HEADER_SIZE + (off_t)(w->records - 1) * RECORD_SIZE) ==
		    RECORD_SIZE)
		w->last_ms = (int64_t)get_le(rec + 8, 4);
	return 0;
}

static int start_sidecar(struct builder_log_times *w, int64_t now_ms)
{
	unsigned char head[HEADER_SIZE];

	memcpy(head, magic, 8);
	put_le(head + 8, (uint64_t)now_ms, 8);
	w->start_ms = now_ms;
	w->records = 0;
	w->last_ms = -1;
	if (ftruncate(w->fd, 0) < 0)
		return -1;
	return pwrite(w->fd, head, sizeof(head), 0) == HEADER_SIZE ? 0 : -1;
}

int builder_log_times_open(const char *log_path, int append, int64_t now_ms,
			   struct builder_log_times **out, struct sy_error *err)
{
	char *path = sidecar_path(log_path);
	struct builder_log_times *w = sy_xmalloc(sizeof(*w));
	int log = open(log_path, O_RDONLY | O_CLOEXEC);

	*w = (struct builder_log_times){ .fd = -1, .at_line_start = 1, .last_ms = -1 };
	if (append && log >= 0)
		w->at_line_start = log_ends_line(log, &w->pos);
	if (log >= 0)
		close(log);
	w->fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (w->fd < 0 || ((!append || continue_sidecar(w)) && start_sidecar(w, now_ms))) {
		sy_error_set(err, "%s: %s", path, strerror(errno));
		builder_log_times_close(w);
		free(path);
		return -1;
	}
	free(path);
	*out = w;
	return 0;
}

static void flush(struct builder_log_times *w, unsigned char *batch, size_t *n)
{
	size_t len = *n * RECORD_SIZE;

	/* The records go at the end: a short write leaves a torn record that
	 * readers skip and the next open cuts. */
	if (*n && pwrite(w->fd, batch, len, HEADER_SIZE + (off_t)w->records * RECORD_SIZE) ==
			  (ssize_t)len)
		w->records += *n;
	*n = 0;
}

void builder_log_times_feed(struct builder_log_times *w, const char *data, size_t n,
			    int64_t now_ms)
{
	unsigned char batch[BATCH * RECORD_SIZE];
	size_t queued = 0;
	int64_t ms = now_ms - w->start_ms;

	if (ms < 0)
		ms = 0;
	if (ms > UINT32_MAX)
		ms = UINT32_MAX;
	for (size_t i = 0; i < n; i++) {
		if (w->at_line_start &&
		    (w->records + queued < BUILDER_LOG_TIMES_FULL_RECORDS || w->last_ms < 0 ||
		     ms - w->last_ms >= THIN_MS)) {
			unsigned char *rec = batch + queued * RECORD_SIZE;
			put_le(rec, w->pos + i, 8);
			put_le(rec + 8, (uint64_t)ms, 4);
			w->last_ms = ms;
			if (++queued == BATCH)
				flush(w, batch, &queued);
		}
		w->at_line_start = data[i] == '\n';
	}
	flush(w, batch, &queued);
	w->pos += n;
}

void builder_log_times_close(struct builder_log_times *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

/* ---- the follower thread ---- */

struct builder_log_follower {
	pthread_t thread;
	struct builder_log_times *w;
	int log_fd;     /* the log, read from where the sidecar stopped */
	int inotify_fd; /* IN_MODIFY on the log; -1: polled */
	int stop[2];    /* a byte or end of file on stop[0] stops the thread */
	char buf[65536];
};

static void drain(struct builder_log_follower *f)
{
	ssize_t got;

	while ((got = read(f->log_fd, f->buf, sizeof(f->buf))) > 0)
		builder_log_times_feed(f->w, f->buf, (size_t)got, builder_log_times_now_ms());
}

/* Allocates nothing and takes no lock: the job's process forks children
 * while it runs. */
static void *follow(void *arg)
{
	struct builder_log_follower *f = arg;
	char events[4096];

	for (;;) {
		struct pollfd p[2] = { { f->stop[0], POLLIN, 0 }, { f->inotify_fd, POLLIN, 0 } };
		drain(f);
		/* Without inotify the log is polled often enough for the
		 * times to mean something. */
		if (poll(p, f->inotify_fd >= 0 ? 2 : 1, f->inotify_fd >= 0 ? 1000 : 100) < 0 &&
		    errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN)
			while (read(f->inotify_fd, events, sizeof(events)) > 0)
				;
	}
	drain(f);
	return NULL;
}

static void follower_free(struct builder_log_follower *f)
{
	if (f->log_fd >= 0)
		close(f->log_fd);
	if (f->inotify_fd >= 0)
		close(f->inotify_fd);
	for (int i = 0; i < 2; i++)
		if (f->stop[i] >= 0)
			close(f->stop[i]);
	builder_log_times_close(f->w);
	free(f);
}

struct builder_log_follower *builder_log_times_follow(const char *log_path, int append,
						      struct sy_error *err)
{
	struct builder_log_follower *f = sy_xmalloc(sizeof(*f));
	sigset_t all, old;
	int rc;

	f->w = NULL;
	f->inotify_fd = -1;
	f->stop[0] = f->stop[1] = -1;
	f->log_fd = open(log_path, O_RDONLY | O_CLOEXEC);
	if (f->log_fd < 0) {
		sy_error_set(err, "%s: %s", log_path, strerror(errno));
		follower_free(f);
		return NULL;
	}
	if (builder_log_times_open(log_path, append, builder_log_times_now_ms(), &f->w, err)) {
		follower_free(f);
		return NULL;
	}
	if (lseek(f->log_fd, (off_t)f->w->pos, SEEK_SET) < 0 || pipe2(f->stop, O_CLOEXEC) < 0) {
		sy_error_set(err, "%s: %s", log_path, strerror(errno));
		follower_free(f);
		return NULL;
	}
	f->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (f->inotify_fd >= 0 && inotify_add_watch(f->inotify_fd, log_path, IN_MODIFY) < 0) {
		close(f->inotify_fd);
		f->inotify_fd = -1;
	}
	/* Signals stay with the threads that handle them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&f->thread, NULL, follow, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		sy_error_set(err, "%s: cannot start a thread: %s", log_path, strerror(rc));
		follower_free(f);
		return NULL;
	}
	return f;
}

void builder_log_times_follow_stop(struct builder_log_follower *f)
{
	if (!f)
		return;
	close(f->stop[1]);
	f->stop[1] = -1;
	pthread_join(f->thread, NULL);
	follower_free(f);
}

/* ---- reading ---- */

static uint64_t offset_at(int fd, size_t i)
{
	unsigned char b[8];

	if (pread(fd, b, sizeof(b), HEADER_SIZE + (off_t)i * RECORD_SIZE) != sizeof(b))
		return UINT64_MAX;
	return get_le(b, 8);
}

int builder_log_times_read(const char *log_path, uint64_t from, size_t max,
			   struct builder_log_times_read *out, struct sy_error *err)
{
	char *path = sidecar_path(log_path);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	unsigned char head[HEADER_SIZE], *buf = NULL;
	struct stat st;
	size_t total, lo = 0, hi, n;
	int rc = -1;

	*out = (struct builder_log_times_read)BUILDER_LOG_TIMES_READ_INIT;
	if (fd < 0 && errno == ENOENT) {
		rc = 0;
		goto out;
	}
	errno = 0;
	if (fd < 0 || fstat(fd, &st) < 0 || pread(fd, head, sizeof(head), 0) != HEADER_SIZE) {
		sy_error_set(err, "%s: %s", path, fd < 0 || errno ? strerror(errno) : "too short");
		goto out;
	}
	if (memcmp(head, magic, 8)) {
		sy_error_set(err, "%s: not a log times file", path);
		goto out;
	}
	out->start_ms = (int64_t)get_le(head + 8, 8);
	total = (size_t)((st.st_size - HEADER_SIZE) / RECORD_SIZE);
	for (hi = total; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (offset_at(fd, mid) < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	n = total - lo < max ? total - lo : max;
	out->more = lo + n < total;
	buf = sy_xmalloc(n * RECORD_SIZE + 1);
	errno = 0;
	if (n && pread(fd, buf, n * RECORD_SIZE, HEADER_SIZE + (off_t)lo * RECORD_SIZE) !=
			 (ssize_t)(n * RECORD_SIZE)) {
		sy_error_set(err, "%s: %s", path, errno ? strerror(errno) : "short read");
		goto out;
	}
	out->items = sy_xmalloc((n ? n : 1) * sizeof(*out->items));
	for (size_t i = 0; i < n; i++)
		out->items[i] = (struct builder_log_time){ get_le(buf + i * RECORD_SIZE, 8),
							    (uint32_t)get_le(buf + i * RECORD_SIZE + 8, 4) };
	out->n = n;
	rc = 0;
out:
	if (rc)
		builder_log_times_read_release(out);
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	return rc;
}

void builder_log_times_read_release(struct builder_log_times_read *r)
{
	free(r->items);
	*r = (struct builder_log_times_read)BUILDER_LOG_TIMES_READ_INIT;
}
