/* Errors that carry a message: what failed, on which file or item, and why. */
#ifndef SY_ERROR_H
#define SY_ERROR_H

#include <stddef.h>

/* A formatted, one-line error message filled by the function that failed. */
struct sy_error {
	char msg[1024]; /* NUL-terminated message; empty when no error was set */
};

/* Formats fmt into err->msg (if err is not NULL), truncated to fit, with
 * each control character (newline, tab, escape) turned into '?' so the
 * message stays one line whatever the names in it. Always returns -1, so
 * that callers can write `return sy_error_set(err, "...")`. */
int sy_error_set(struct sy_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefixes err->msg with the formatted text followed by ": ", control
 * characters turned into '?' as sy_error_set does. Returns -1. */
int sy_error_prefix(struct sy_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
