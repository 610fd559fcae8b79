/* The service's HTTP server (libmicrohttpd): webhook deliveries under
 * /hooks/<forge>, the published repositories as static files under /repos/
 * (so that dnf can use the service directly), and everything else handed to
 * the router (the API's write endpoints, the channels' .repo files
 * /repos/<channel>.repo, then the dashboard). Handlers run on the server's
 * threads. */
#ifndef SERVER_HTTPD_H
#define SERVER_HTTPD_H

#include <stddef.h>

#include "common/error.h"
#include "forge/webhook.h"
#include "server/http.h"


/* Connections served at once; more wait in the kernel's backlog, and a
 * connection idle for 30 s is closed. */
#define SERVER_HTTPD_MAX_CONNECTIONS 64

/* Webhook body bytes all connections may hold at once, in max_body units:
 * past it a delivery gets 503 (forges retry) instead of the service
 * holding 64 bodies of 25 MiB. */
#define SERVER_HTTPD_BODIES_IN_FLIGHT 4

/* What the server calls. */
struct server_httpd_hooks {
	/* POST /hooks/<forge> ("github", "gitea", "forgejo", "gitlab") with
	 * the raw body (len bytes, NUL-terminated), at most max_body bytes;
	 * query is the decoded query string ("repo=x") or "". */
	void (*webhook)(void *arg, const char *forge, forge_header_fn header, void *header_arg,
			const char *query, const char *body, size_t len,
			struct server_http_response *resp);
	/* Every other request: returns 1 when handled (resp filled). header
	 * (with header_arg) reads the request's headers ("Authorization"),
	 * valid during the call. body (len bytes, NUL-terminated; NULL when
	 * the request had none, was over max_body or past the budget of
	 * bodies in flight) is the request's body, valid during the call. */
	int (*route)(void *arg, const char *method, const char *path, const char *query,
		     forge_header_fn header, void *header_arg, const char *body, size_t len,
		     struct server_http_response *resp);
	void *arg;
	const char *repos_dir; /* served read-only under /repos/; NULL: none */
	size_t max_body;       /* webhook bodies above it get 413 (bytes); those
				* past the budget of bodies in flight 503 */
};

struct server_httpd;

/* Listens on host:port (port 0: any free port, see server_httpd_port) and
 * serves with an internal thread pool. hooks is copied. Returns 0 and *out,
 * or -1 with err ("cannot listen on 127.0.0.1:8080: ..."). */
int server_httpd_start(const char *host, unsigned port, const struct server_httpd_hooks *hooks,
			 struct server_httpd **out, struct sy_error *err);

/* The port the server listens on. */
unsigned server_httpd_port(const struct server_httpd *s);

/* Stops accepting connections, finishes the requests in progress and frees
 * the server (NULL allowed). */
void server_httpd_stop(struct server_httpd *s);

#endif
