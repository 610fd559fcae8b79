#include "server/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"

void server_http_text(struct server_http_response *r, int status, const char *content_type,
		       const char *text)
{
	free(r->body);
	r->status = status;
	r->content_type = content_type;
	r->body = sy_xstrdup(text);
	r->len = strlen(text);
}

void server_http_response_release(struct server_http_response *r)
{
	free(r->body);
	free(r->file_path);
	free(r->location);
	memset(r, 0, sizeof(*r));
}

const char *server_http_query_get(const char *query, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);

	for (const char *p = query; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			snprintf(buf, size, "%.*s", (int)(len - klen - 1), p + klen + 1);
			return buf;
		}
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}
