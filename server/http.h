/* What an HTTP handler of the service answers, independent of the server
 * library (libmicrohttpd, server/httpd.c), so handlers can be tested by
 * calling them. */
#ifndef SERVER_HTTP_H
#define SERVER_HTTP_H

#include <stddef.h>

/* A response. Set either body (malloc'ed, owned by the response) or
 * file_path (a regular file the server streams; for logs and repository
 * files). */
struct server_http_response {
	int status;           /* 200, 202, 400, 401, 404, 413, ... */
	const char *content_type; /* static string, "text/html; charset=utf-8" */
	char *body;           /* malloc'ed, or NULL */
	size_t len;           /* bytes of body */
	char *file_path;      /* malloc'ed, or NULL */
	char *location;       /* for redirects (malloc'ed), or NULL */
	const char *authenticate; /* WWW-Authenticate of a 401 (static string,
			       * "Bearer realm=\"shipyard\""), or NULL */
};

/* Sets r to a body answer: status, content type, and a copy of text. */
void server_http_text(struct server_http_response *r, int status, const char *content_type,
		       const char *text);

/* Frees what r holds. */
void server_http_response_release(struct server_http_response *r);

/* The value of key in a "k=v&k2=v2" query string (undecoded), copied
 * into buf of size bytes (truncated to fit); returns buf, or NULL when the
 * query has no such key. */
const char *server_http_query_get(const char *query, const char *key, char *buf,
				  size_t size);

#endif
