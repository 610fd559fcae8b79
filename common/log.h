/* Messages from the command line tools and the service to stderr, each with
 * a priority. Library code returns errors instead of printing; only front
 * ends call these.
 *
 * On a terminal or a file a line reads "shipyard: error: <message>". When
 * stderr is connected to the systemd journal (systemd.exec(5), $JOURNAL_STREAM:
 * "<device>:<inode>" of the stream the service manager connected, compared
 * with fstat(2) of stderr, so that a child whose stderr was redirected to a
 * file does not inherit the prefixes), every line instead starts with the
 * syslog priority as sd-daemon.h defines it (SD_ERR "<3>", SD_WARNING "<4>",
 * SD_INFO "<6>", SD_DEBUG "<7>") and drops "shipyard: ", which the journal
 * records as SYSLOG_IDENTIFIER: "<3>error: <message>". journald reads the
 * prefix (SyslogLevelPrefix=, on by default), so `journalctl -p err` shows
 * the errors only. A message with several lines gets the prefix on each. */
#ifndef SY_LOG_H
#define SY_LOG_H

#include <stdarg.h>

/* Priorities, with syslog(3)'s numbers (LOG_ERR, LOG_WARNING, LOG_INFO,
 * LOG_DEBUG), which the journal prefixes carry. */
enum sy_log_level {
	SY_LOG_ERR = 3,     /* something failed: a request, a pipeline, a status */
	SY_LOG_WARNING = 4, /* refused input, degraded operation, a retry */
	SY_LOG_INFO = 6,    /* what the service or command does */
	SY_LOG_DEBUG = 7,   /* detail for finding a fault */
};

/* Prints "shipyard: <message>\n" to stderr at SY_LOG_INFO. */
void sy_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "shipyard: warning: <message>\n" to stderr at SY_LOG_WARNING. */
void sy_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "shipyard: error: <message>\n" to stderr at SY_LOG_ERR. */
void sy_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "shipyard: debug: <message>\n" to stderr at SY_LOG_DEBUG, only at
 * verbosity 2 (sy_log_set_verbose, or $SHIPYARD_DEBUG set non-empty). */
void sy_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the message at level as the functions above do. */
void sy_log_at(enum sy_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same with a va_list. */
void sy_log_message(enum sy_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Prints msg as sy_log_error does but without allocating, then aborts:
 * for out of memory and other states the process cannot go on from. */
void sy_log_fatal(const char *msg) __attribute__((noreturn));

/* Sets what prints: 0 errors and warnings, 1 (default) also info, 2 also
 * debug. */
void sy_log_set_verbose(int verbose);

/* Returns 1 when journal_stream (a $JOURNAL_STREAM value, "<dev>:<ino>" in
 * decimal, may be NULL) names the file open on fd, 0 otherwise (unset,
 * malformed, another file, fd not open). systemd.exec(5), $JOURNAL_STREAM. */
int sy_log_fd_is_journal(const char *journal_stream, int fd);

/* Decides again whether stderr is the journal (sy_log_fd_is_journal of
 * $JOURNAL_STREAM and fd 2); the first message decides it otherwise. For a
 * process that redirects its stderr after logging, and for tests. */
void sy_log_detect(void);

#endif
