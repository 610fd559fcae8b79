#define _GNU_SOURCE
#include "strv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void die_oom(void)
{
	sy_log_fatal("out of memory");
}

void *sy_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die_oom();
	return p;
}

void *sy_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		die_oom();
	return p;
}

void *sy_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die_oom();
	return p;
}

char *sy_xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die_oom();
	return p;
}

char *sy_xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		die_oom();
	return p;
}

char *sy_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		die_oom();
	va_end(ap);
	return s;
}

void sy_strv_push_owned(struct sy_strv *v, char *s)
{
	if (v->n + 2 > v->alloc) {
		v->alloc = v->alloc ? v->alloc * 2 : 8;
		v->items = sy_xrealloc(v->items, v->alloc * sizeof(*v->items));
	}
	v->items[v->n++] = s;
	v->items[v->n] = NULL;
}

void sy_strv_push(struct sy_strv *v, const char *s)
{
	sy_strv_push_owned(v, sy_xstrdup(s));
}

void sy_strv_pushf(struct sy_strv *v, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		die_oom();
	va_end(ap);
	sy_strv_push_owned(v, s);
}

int sy_strv_contains(const struct sy_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->items[i], s))
			return 1;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void sy_strv_sort_unique(struct sy_strv *v)
{
	size_t out = 0;

	if (!v->n)
		return;
	qsort(v->items, v->n, sizeof(*v->items), cmp_str);
	for (size_t i = 0; i < v->n; i++) {
		if (out && !strcmp(v->items[out - 1], v->items[i])) {
			free(v->items[i]);
			continue;
		}
		v->items[out++] = v->items[i];
	}
	v->n = out;
	v->items[out] = NULL;
}

char *sy_strv_join(const struct sy_strv *v, const char *sep)
{
	size_t len = 1, seplen = strlen(sep), at = 0;
	char *out;

	for (size_t i = 0; i < v->n; i++)
		len += strlen(v->items[i]) + seplen;
	out = sy_xmalloc(len);
	out[0] = '\0';
	for (size_t i = 0; i < v->n; i++) {
		size_t n = strlen(v->items[i]);
		if (i) {
			memcpy(out + at, sep, seplen);
			at += seplen;
		}
		memcpy(out + at, v->items[i], n);
		at += n;
		out[at] = '\0';
	}
	return out;
}

void sy_strv_release(struct sy_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->items[i]);
	free(v->items);
	v->items = NULL;
	v->n = v->alloc = 0;
}
