#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

#include "common/strv.h"

void sy_buf_add(struct sy_buf *b, const void *data, size_t n)
{
	if (b->len + n > b->alloc) {
		b->alloc = (b->len + n) * 2 + 256;
		b->data = sy_xrealloc(b->data, b->alloc);
	}
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
}

void sy_buf_add_str0(struct sy_buf *b, const char *s)
{
	sy_buf_add(b, s ? s : "", s ? strlen(s) + 1 : 1);
}

void sy_buf_add_varint(struct sy_buf *b, uint64_t v)
{
	unsigned char bytes[10];
	size_t n = 0;

	do {
		bytes[n] = v & 0x7f;
		v >>= 7;
		if (v)
			bytes[n] |= 0x80;
		n++;
	} while (v);
	sy_buf_add(b, bytes, n);
}

uint64_t sy_bufreader_varint(struct sy_bufreader *r)
{
	uint64_t v = 0;

	for (unsigned shift = 0; !r->bad; shift += 7) {
		if (r->p == r->end || shift > 63) {
			r->bad = 1;
			break;
		}
		unsigned char b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	return 0;
}

void sy_buf_release(struct sy_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}
