/* Messages from the command line tools and the service to the terminal. Library
 * code returns errors instead of printing; only front ends call these. */
#ifndef SY_LOG_H
#define SY_LOG_H

/* Prints "shipyard: <message>\n" to stderr. */
void sy_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "shipyard: warning: <message>\n" to stderr. */
void sy_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "shipyard: error: <message>\n" to stderr. */
void sy_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Sets whether sy_log_info prints (1, default) or stays quiet (0). */
void sy_log_set_verbose(int verbose);

#endif
