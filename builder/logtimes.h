/* When each line of a log was written, kept in a sidecar file beside it
 * ("<log>.times") so that the log users download stays the text the build
 * printed. The log's writers (rpmbuild and every child of a job, shipyard
 * itself) write to the log file directly; a follower thread watches the
 * file grow (inotify) and records the offset at which each new line starts
 * with the milliseconds since the job started.
 *
 * Sidecar format (little-endian, this module's own):
 *  - header, 16 bytes: the magic "SYLOGT1\0", then the job's start as
 *    milliseconds since the Unix epoch (int64);
 *  - records, 12 bytes each, in increasing offset: the byte offset in the
 *    log at which a line starts (uint64), the milliseconds since the start
 *    at which its first byte was seen (uint32).
 * A line without a record of its own was written at the time of the last
 * record before it. Every line gets a record up to
 * BUILDER_LOG_TIMES_FULL_RECORDS records; after that at most one a second,
 * so that the sidecar of a log of millions of lines stays bounded (by the
 * job's duration). A torn last record (a reader racing the writer) is not
 * read. */
#ifndef BUILDER_LOGTIMES_H
#define BUILDER_LOGTIMES_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Appended to a log's path to name its sidecar. */
#define BUILDER_LOG_TIMES_SUFFIX ".times"

/* Records kept one per line before they are thinned to one a second. */
#define BUILDER_LOG_TIMES_FULL_RECORDS 524288

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t builder_log_times_now_ms(void);

/* ---- writing ---- */

/* A sidecar being written (opaque). */
struct builder_log_times;

/* Opens the sidecar of the log at log_path for writing into *out. append:
 * the log is continued (a retried job): an existing sidecar keeps its start
 * and records, and what the log holds already is taken as recorded; else
 * (or when the sidecar is missing or not one) the sidecar is created anew
 * with now_ms (milliseconds since the epoch) as the job's start. Returns 0,
 * or -1 with err naming the sidecar. The caller closes *out with
 * builder_log_times_close. */
int builder_log_times_open(const char *log_path, int append, int64_t now_ms,
			   struct builder_log_times **out, struct sy_error *err);

/* Takes the n bytes that were appended to the log, seen at now_ms
 * (milliseconds since the epoch), and appends a record for each line that
 * starts in them (a line continued from an earlier call keeps the time of
 * its first byte). Allocates nothing (it runs in a thread of a process that
 * forks). Records that cannot be written are lost: their lines take the
 * time of the record before them. */
void builder_log_times_feed(struct builder_log_times *w, const char *data, size_t n,
			    int64_t now_ms);

/* Closes the sidecar and frees w (NULL: nothing). */
void builder_log_times_close(struct builder_log_times *w);

/* ---- following a log file ---- */

/* A thread recording the lines of a log as they are written (opaque). */
struct builder_log_follower;

/* Starts following the log at log_path, which the caller has just opened
 * (append as for builder_log_times_open): a thread reads what is appended
 * to it, as inotify reports its changes, and records it into the sidecar.
 * Returns the follower, or NULL with err (the log is then written without
 * times; the job goes on). Stop it with builder_log_times_follow_stop. */
struct builder_log_follower *builder_log_times_follow(const char *log_path, int append,
						      struct sy_error *err);

/* Records what the log holds by now, stops the thread and frees f (NULL:
 * nothing). */
void builder_log_times_follow_stop(struct builder_log_follower *f);

/* ---- reading ---- */

/* One record of a sidecar. */
struct builder_log_time {
	uint64_t offset; /* byte offset in the log at which a line starts */
	uint32_t ms;     /* milliseconds since the job's start it was written at */
};

/* Records read from a sidecar. */
struct builder_log_times_read {
	int64_t start_ms;              /* job start, ms since the epoch; -1: no sidecar */
	struct builder_log_time *items; /* records with offset >= the asked one */
	size_t n;                      /* number of items */
	int more;                      /* 1 when records after items were left out */
};

#define BUILDER_LOG_TIMES_READ_INIT { -1, NULL, 0, 0 }

/* Reads into *out up to max records of the sidecar of the log at log_path
 * whose offset is from or more (found by binary search). A log without
 * sidecar (written by an older release, or whose follower could not start)
 * gives start_ms -1 and no records, and returns 0. Returns -1 with err when
 * the sidecar exists but cannot be read or is not one (bad magic). The
 * caller frees out with builder_log_times_read_release. */
int builder_log_times_read(const char *log_path, uint64_t from, size_t max,
			   struct builder_log_times_read *out, struct sy_error *err);

/* Frees the records of r and resets it to BUILDER_LOG_TIMES_READ_INIT. */
void builder_log_times_read_release(struct builder_log_times_read *r);

#endif
