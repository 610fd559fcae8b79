/* A growable byte buffer, for building encodings and digest input. */
#ifndef SY_BUF_H
#define SY_BUF_H

#include <stddef.h>
#include <stdint.h>

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

/* Appends v as an unsigned LEB128 varint (7 bits a byte, lowest first, the
 * high bit set on all but the last), the integers of the binary records
 * kept in state.db (planner/speccache.h, planner/graphcache.h). */
void sy_buf_add_varint(struct sy_buf *b, uint64_t v);

/* A reader over an encoding made with sy_buf_add*: bad is set once a read
 * ran past end, after which reads give 0. */
struct sy_bufreader {
	const unsigned char *p, *end;
	int bad;
};

/* Reads one varint written by sy_buf_add_varint and moves past it. Returns
 * it, or 0 with r->bad set when the bytes end first or it exceeds 64 bits. */
uint64_t sy_bufreader_varint(struct sy_bufreader *r);

/* Frees the bytes; leaves b empty and reusable. */
void sy_buf_release(struct sy_buf *b);

#endif
