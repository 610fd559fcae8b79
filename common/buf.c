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

void sy_buf_release(struct sy_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}
