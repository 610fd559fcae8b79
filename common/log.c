#define _GNU_SOURCE
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* -1: not decided yet (decided at the first message, from the environment). */
static int log_verbose = -1;
static int log_journal = -1;

void sy_log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

int sy_log_fd_is_journal(const char *journal_stream, int fd)
{
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	if (!journal_stream || sscanf(journal_stream, "%llu:%llu%n", &dev, &ino, &end) != 2 ||
	    journal_stream[end] != '\0')
		return 0;
	if (fstat(fd, &st))
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void sy_log_detect(void)
{
	log_journal = sy_log_fd_is_journal(getenv("JOURNAL_STREAM"), 2);
}

static int level_shown(enum sy_log_level level)
{
	if (log_verbose < 0) {
		const char *debug = getenv("SHIPYARD_DEBUG");
		log_verbose = debug && *debug ? 2 : 1;
	}
	if (level == SY_LOG_DEBUG)
		return log_verbose >= 2;
	if (level == SY_LOG_INFO)
		return log_verbose >= 1;
	return 1;
}

static const char *level_word(enum sy_log_level level)
{
	switch (level) {
	case SY_LOG_ERR:
		return "error: ";
	case SY_LOG_WARNING:
		return "warning: ";
	case SY_LOG_DEBUG:
		return "debug: ";
	default:
		return "";
	}
}

/* msg as journal records: "<N>word line\n" per line of msg. */
static void put_journal_lines(FILE *out, enum sy_log_level level, const char *msg)
{
	for (const char *line = msg;;) {
		const char *nl = strchr(line, '\n');
		int n = nl ? (int)(nl - line) : (int)strlen(line);
		fprintf(out, "<%d>%s%.*s\n", (int)level, level_word(level), n, line);
		if (!nl || !nl[1])
			break;
		line = nl + 1;
	}
}

void sy_log_message(enum sy_log_level level, const char *fmt, va_list ap)
{
	char *msg = NULL, *out = NULL;
	size_t len = 0;
	FILE *buf;

	if (!level_shown(level))
		return;
	if (log_journal < 0)
		sy_log_detect();
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	buf = open_memstream(&out, &len);
	if (!buf) {
		free(msg);
		return;
	}
	if (log_journal)
		put_journal_lines(buf, level, msg);
	else
		fprintf(buf, "shipyard: %s%s\n", level_word(level), msg);
	fclose(buf);
	/* One write per message, so that threads do not interleave lines. */
	flockfile(stderr);
	fwrite(out, 1, len, stderr);
	fflush(stderr);
	funlockfile(stderr);
	free(out);
	free(msg);
}

void sy_log_fatal(const char *msg)
{
	if (log_journal < 0)
		sy_log_detect();
	flockfile(stderr);
	fputs(log_journal ? "<3>error: " : "shipyard: error: ", stderr);
	fputs(msg, stderr);
	fputc('\n', stderr);
	fflush(stderr);
	funlockfile(stderr);
	abort();
}

#define LOG_AT(level)                              \
	do {                                       \
		va_list ap;                        \
		va_start(ap, fmt);                 \
		sy_log_message(level, fmt, ap);    \
		va_end(ap);                        \
	} while (0)

void sy_log_at(enum sy_log_level level, const char *fmt, ...)
{
	LOG_AT(level);
}

void sy_log_info(const char *fmt, ...)
{
	LOG_AT(SY_LOG_INFO);
}

void sy_log_warn(const char *fmt, ...)
{
	LOG_AT(SY_LOG_WARNING);
}

void sy_log_error(const char *fmt, ...)
{
	LOG_AT(SY_LOG_ERR);
}

void sy_log_debug(const char *fmt, ...)
{
	LOG_AT(SY_LOG_DEBUG);
}
