#include "server/http.h"

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
