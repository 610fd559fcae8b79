/* A growable, NULL-terminated vector of owned strings. */
#ifndef SY_STRV_H
#define SY_STRV_H

#include <stddef.h>

struct sy_strv {
	char **items; /* items[0..n-1] owned strings, items[n] == NULL when n > 0 */
	size_t n;     /* number of strings */
	size_t alloc; /* allocated slots */
};

#define SY_STRV_INIT { NULL, 0, 0 }

/* Appends a copy of s. Aborts on out-of-memory, like every allocation here. */
void sy_strv_push(struct sy_strv *v, const char *s);
/* Appends s, taking ownership of it. */
void sy_strv_push_owned(struct sy_strv *v, char *s);
/* Appends a formatted string. */
void sy_strv_pushf(struct sy_strv *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Returns 1 if an item equals s, else 0. */
int sy_strv_contains(const struct sy_strv *v, const char *s);
/* Sorts the items with strcmp and removes duplicates. */
void sy_strv_sort_unique(struct sy_strv *v);
/* Returns the items joined with sep, newly allocated ("" when empty). */
char *sy_strv_join(const struct sy_strv *v, const char *sep);
/* Frees every item and the array; leaves v empty and reusable. */
void sy_strv_release(struct sy_strv *v);

/* Allocation helpers that abort with a message on out-of-memory. */
void *sy_xmalloc(size_t n);
void *sy_xcalloc(size_t n, size_t size);
void *sy_xrealloc(void *p, size_t n);
char *sy_xstrdup(const char *s);

/* The first n bytes of s (fewer at a NUL), as a new NUL-terminated string;
 * aborts when out of memory. The caller frees it. */
char *sy_xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; the caller frees it. */
char *sy_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
