/* A growable byte buffer, for building encodings and digest input. */
#ifndef SY_BUF_H
#define SY_BUF_H

#include <stddef.h>

struct sy_buf {
	unsigned char *data; /* bytes, owned; NULL while empty */
	size_t len;          /* bytes used */
	size_t alloc;        /* bytes allocated */
};

#define SY_BUF_INIT { NULL, 0, 0 }

/* Appends n bytes of data. Aborts on out-of-memory, like every allocation here. */
void sy_buf_add(struct sy_buf *b, const void *data, size_t n);

/* Appends s with its terminating NUL (NULL is appended as ""), so that
 * consecutive strings cannot run into each other. */
void sy_buf_add_str0(struct sy_buf *b, const char *s);

/* Frees the bytes; leaves b empty and reusable. */
void sy_buf_release(struct sy_buf *b);

#endif
