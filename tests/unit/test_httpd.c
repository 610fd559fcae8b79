/* The HTTP server (server/httpd.c) on loopback, spoken to with raw sockets:
 * webhook bodies held at once are bounded, whatever the number of slow
 * senders; the router reads request headers and may answer a 401 with its
 * WWW-Authenticate challenge. */
#define _GNU_SOURCE
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "server/httpd.h"

#define MAX_BODY 1000

static void on_webhook(void *arg, const char *forge, forge_header_fn header, void *header_arg,
		       const char *query, const char *body, size_t len,
		       struct server_http_response *resp)
{
	(void)arg, (void)forge, (void)header, (void)header_arg, (void)query, (void)body;
	server_http_text(resp, len == MAX_BODY - 100 || len == MAX_BODY ? 200 : 400, "text/plain",
			 "ok\n");
}

static int connect_to(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		assert_true(n > 0);
		data += n;
		len -= (size_t)n;
	}
}

/* Starts a POST of a declared bytes and sends sent of them. */
static int start_post(unsigned port, size_t declared, size_t sent)
{
	int fd = connect_to(port);
	char head[200], *body = malloc(sent + 1);

	snprintf(head, sizeof(head),
		 "POST /hooks/github HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
		 "Content-Length: %zu\r\n\r\n", declared);
	send_all(fd, head, strlen(head));
	memset(body, 'x', sent);
	send_all(fd, body, sent);
	free(body);
	return fd;
}

/* Sends n more body bytes and returns the status of the answer. */
static int finish_post(int fd, size_t n)
{
	char buf[512] = { 0 }, *body = malloc(n + 1);
	size_t got = 0;
	ssize_t r;
	int status = 0;

	memset(body, 'x', n);
	send_all(fd, body, n);
	free(body);
	while (got < sizeof(buf) - 1 && (r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
		got += (size_t)r;
	close(fd);
	sscanf(buf, "HTTP/1.1 %d", &status);
	return status;
}

/* Four slow senders hold the budget of four bodies: a fifth delivery gets
 * 503 instead of another buffer, and once they end, deliveries go through
 * again. */
static void test_bodies_in_flight_are_bounded(void **state)
{
	struct server_httpd_hooks hooks = { .webhook = on_webhook, .max_body = MAX_BODY };
	struct server_httpd *h = NULL;
	struct sy_error err = { { 0 } };
	int slow[SERVER_HTTPD_BODIES_IN_FLIGHT];

	(void)state;
	assert_ok(server_httpd_start("127.0.0.1", 0, &hooks, &h, &err), &err);
	unsigned port = server_httpd_port(h);
	for (int i = 0; i < SERVER_HTTPD_BODIES_IN_FLIGHT; i++)
		slow[i] = start_post(port, MAX_BODY, MAX_BODY - 100);
	/* Let the server read what the slow senders sent. */
	usleep(500 * 1000);
	assert_int_equal(finish_post(start_post(port, MAX_BODY - 100, 0), MAX_BODY - 100), 503);
	for (int i = 0; i < SERVER_HTTPD_BODIES_IN_FLIGHT; i++)
		assert_int_equal(finish_post(slow[i], 100), 200);
	assert_int_equal(finish_post(start_post(port, MAX_BODY, 0), MAX_BODY), 200);
	assert_int_equal(finish_post(start_post(port, MAX_BODY + 1, 0), MAX_BODY + 1), 413);
	server_httpd_stop(h);
}

/* A router that answers POST /api/x from its Authorization header, with
 * the request's body as its answer. */
static int route(void *arg, const char *method, const char *path, const char *query,
		 forge_header_fn header, void *header_arg, const char *body, size_t len,
		 struct server_http_response *resp)
{
	const char *auth = header(header_arg, "Authorization");

	(void)arg, (void)query;
	if (strcmp(path, "/api/x"))
		return 0;
	if (strcmp(method, "POST") || !auth || strcmp(auth, "Bearer sesame")) {
		server_http_text(resp, 401, "application/json", "{}");
		resp->authenticate = "Bearer realm=\"t\"";
	} else {
		server_http_text(resp, 202, "application/json", body && strlen(body) == len ? body : "{}");
	}
	return 1;
}

/* Sends request and returns the whole answer (caller frees). */
static char *exchange(unsigned port, const char *request)
{
	int fd = connect_to(port);
	char *buf = sy_xcalloc(1, 4096);
	size_t got = 0;
	ssize_t r;

	send_all(fd, request, strlen(request));
	while (got < 4095 && (r = recv(fd, buf + got, 4095 - got, 0)) > 0)
		got += (size_t)r;
	close(fd);
	return buf;
}

static void test_router_reads_headers_and_challenges_a_401(void **state)
{
	struct server_httpd_hooks hooks = { .webhook = on_webhook, .route = route,
					    .max_body = MAX_BODY };
	struct server_httpd *h = NULL;
	struct sy_error err = { { 0 } };
	char *got;

	(void)state;
	assert_ok(server_httpd_start("127.0.0.1", 0, &hooks, &h, &err), &err);
	got = exchange(server_httpd_port(h), "POST /api/x HTTP/1.1\r\nHost: t\r\n"
					      "Connection: close\r\nContent-Length: 0\r\n\r\n");
	assert_non_null(strstr(got, "HTTP/1.1 401"));
	assert_non_null(strstr(got, "WWW-Authenticate: Bearer realm=\"t\"\r\n"));
	free(got);
	got = exchange(server_httpd_port(h), "POST /api/x HTTP/1.1\r\nHost: t\r\n"
					      "Authorization: Bearer sesame\r\n"
					      "Connection: close\r\nContent-Length: 0\r\n\r\n");
	assert_non_null(strstr(got, "HTTP/1.1 202"));
	assert_null(strstr(got, "WWW-Authenticate"));
	free(got);
	/* The body reaches the router. */
	got = exchange(server_httpd_port(h), "POST /api/x HTTP/1.1\r\nHost: t\r\n"
					      "Authorization: Bearer sesame\r\n"
					      "Connection: close\r\nContent-Length: 12\r\n\r\n"
					      "{\"branch\":1}");
	assert_non_null(strstr(got, "HTTP/1.1 202"));
	assert_non_null(strstr(got, "\r\n\r\n{\"branch\":1}"));
	free(got);
	got = exchange(server_httpd_port(h), "GET /other HTTP/1.1\r\nHost: t\r\n"
					      "Connection: close\r\n\r\n");
	assert_non_null(strstr(got, "HTTP/1.1 404"));
	free(got);
	server_httpd_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bodies_in_flight_are_bounded),
		cmocka_unit_test(test_router_reads_headers_and_challenges_a_401),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
