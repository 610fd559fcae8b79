#include "server/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/buf.h"
#include "common/strv.h"

struct server_httpd {
	struct MHD_Daemon *daemon;
	struct server_httpd_hooks hooks;
	char *repos_real;     /* realpath of hooks.repos_dir */
	unsigned port;
	size_t inflight;      /* body bytes buffered by all requests (atomic) */
	size_t inflight_max;
};

/* Per request: the body read so far. */
struct request {
	struct sy_buf body;
	int too_large;
	int busy;             /* the server's body budget was spent */
	size_t reserved;      /* bytes of the budget this request holds */
};

/* Takes n bytes of the body budget; 0, or -1 when it would overflow. */
static int reserve(struct server_httpd *s, size_t n)
{
	size_t now = __atomic_add_fetch(&s->inflight, n, __ATOMIC_RELAXED);

	if (now <= s->inflight_max)
		return 0;
	__atomic_sub_fetch(&s->inflight, n, __ATOMIC_RELAXED);
	return -1;
}

static const char *header_of(void *arg, const char *name)
{
	return MHD_lookup_connection_value(arg, MHD_HEADER_KIND, name);
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	struct sy_strv *v = cls;

	(void)kind;
	sy_strv_pushf(v, "%s=%s", key, value ? value : "");
	return MHD_YES;
}

/* The decoded query string, "k=v&k2=v2" (newly allocated). */
static char *query_of(struct MHD_Connection *c)
{
	struct sy_strv args = SY_STRV_INIT;
	char *q;

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &args);
	q = sy_strv_join(&args, "&");
	sy_strv_release(&args);
	return q;
}

static enum MHD_Result answer(struct MHD_Connection *c, struct server_http_response *r)
{
	struct MHD_Response *resp = NULL;
	enum MHD_Result ret;

	if (r->file_path) {
		int fd = open(r->file_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
		} else {
			if (fd >= 0)
				close(fd);
			server_http_text(r, 404, "text/plain", "not found\n");
		}
	}
	if (!resp)
		resp = MHD_create_response_from_buffer(r->len, r->body ? r->body : (char *)"",
						       MHD_RESPMEM_MUST_COPY);
	if (r->content_type)
		MHD_add_response_header(resp, "Content-Type", r->content_type);
	if (r->location)
		MHD_add_response_header(resp, "Location", r->location);
	if (r->authenticate)
		MHD_add_response_header(resp, "WWW-Authenticate", r->authenticate);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(c, (unsigned)(r->status ? r->status : 500), resp);
	MHD_destroy_response(resp);
	return ret;
}

/* /repos/<path>: a file under the repositories directory. The channel's
 * "current" is a symbolic link to a snapshot: the resolved path must stay
 * under the repositories directory. */
static void serve_repo_file(struct server_httpd *s, const char *rel,
			    struct server_http_response *r)
{
	char *path = sy_xasprintf("%s/%s", s->repos_real, rel), real[PATH_MAX];
	struct stat st;
	size_t n = strlen(s->repos_real);

	if (strstr(rel, "..") || !realpath(path, real) || strncmp(real, s->repos_real, n) ||
	    (real[n] && real[n] != '/') || stat(real, &st) < 0) {
		server_http_text(r, 404, "text/plain", "not found\n");
	} else if (S_ISDIR(st.st_mode)) {
		server_http_text(r, 403, "text/plain", "directory listing is not served\n");
	} else {
		r->status = 200;
		r->content_type = strstr(real, ".xml") ? "application/xml"
				: strstr(real, ".rpm") ? "application/x-rpm"
						       : "application/octet-stream";
		r->file_path = sy_xstrdup(real);
	}
	free(path);
}

/* 1 when rel (after /repos/) names a channel's .repo file, which the
 * router answers (it is made, not a file of the repositories). */
static int is_repo_file(const char *rel)
{
	size_t n = strlen(rel);

	return n > 5 && !strcmp(rel + n - 5, ".repo") && !strchr(rel, '/');
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **con_cls)
{
	struct server_httpd *s = cls;
	struct request *req = *con_cls;
	struct server_http_response r = { 0 };
	enum MHD_Result ret;

	(void)version;
	if (!req) {
		*con_cls = req = sy_xcalloc(1, sizeof(*req));
		return MHD_YES;
	}
	if (*upload_size) {
		if (req->too_large || req->busy)
			;
		else if (req->body.len + *upload_size > s->hooks.max_body)
			req->too_large = 1;
		else if (reserve(s, *upload_size))
			req->busy = 1;
		else {
			req->reserved += *upload_size;
			sy_buf_add(&req->body, upload_data, *upload_size);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	char *query = query_of(c);
	if (!strncmp(url, "/hooks/", 7) && !strchr(url + 7, '/')) {
		if (strcmp(method, "POST"))
			server_http_text(&r, 405, "text/plain", "POST only\n");
		else if (req->too_large)
			server_http_text(&r, 413, "text/plain", "body too large\n");
		else if (req->busy)
			server_http_text(&r, 503, "text/plain", "too many deliveries at once\n");
		else {
			sy_buf_add(&req->body, "", 1);
			s->hooks.webhook(s->hooks.arg, url + 7, header_of, c, query,
					 (const char *)req->body.data, req->body.len - 1, &r);
		}
	} else if (!strncmp(url, "/repos/", 7) && s->repos_real && !strcmp(method, "GET") &&
		   !is_repo_file(url + 7)) {
		serve_repo_file(s, url + 7, &r);
	} else {
		const char *body = NULL;
		size_t len = 0;

		if (req->body.len && !req->too_large && !req->busy) {
			sy_buf_add(&req->body, "", 1);
			body = (const char *)req->body.data;
			len = req->body.len - 1;
		}
		if (!s->hooks.route ||
		    !s->hooks.route(s->hooks.arg, method, url, query, header_of, c, body, len, &r))
			server_http_text(&r, 404, "text/plain", "not found\n");
	}
	ret = answer(c, &r);
	server_http_response_release(&r);
	free(query);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct server_httpd *s = cls;
	struct request *req = *con_cls;

	(void)c;
	(void)toe;
	if (req) {
		__atomic_sub_fetch(&s->inflight, req->reserved, __ATOMIC_RELAXED);
		sy_buf_release(&req->body);
		free(req);
	}
	*con_cls = NULL;
}

int server_httpd_start(const char *host, unsigned port, const struct server_httpd_hooks *hooks,
			 struct server_httpd **out, struct sy_error *err)
{
	struct server_httpd *s = sy_xcalloc(1, sizeof(*s));
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char real[PATH_MAX];

	*out = NULL;
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		free(s);
		return sy_error_set(err, "cannot listen on %s:%u: not an IPv4 address", host, port);
	}
	s->hooks = *hooks;
	s->inflight_max = hooks->max_body * SERVER_HTTPD_BODIES_IN_FLIGHT;
	if (hooks->repos_dir && realpath(hooks->repos_dir, real))
		s->repos_real = sy_xstrdup(real);
	s->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
				     NULL, handle, s, MHD_OPTION_SOCK_ADDR, &addr,
				     MHD_OPTION_NOTIFY_COMPLETED, completed, s,
				     MHD_OPTION_THREAD_POOL_SIZE, 4u, MHD_OPTION_CONNECTION_TIMEOUT,
				     30u, MHD_OPTION_CONNECTION_LIMIT,
				     (unsigned)SERVER_HTTPD_MAX_CONNECTIONS, MHD_OPTION_END);
	if (!s->daemon) {
		free(s->repos_real);
		free(s);
		return sy_error_set(err, "cannot listen on %s:%u: %s", host, port,
				    strerror(errno ? errno : EADDRINUSE));
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : port;
	*out = s;
	return 0;
}

unsigned server_httpd_port(const struct server_httpd *s)
{
	return s->port;
}

void server_httpd_stop(struct server_httpd *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->daemon);
	free(s->repos_real);
	free(s);
}
