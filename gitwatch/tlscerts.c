#define _GNU_SOURCE /* RTLD_NEXT */
#include "gitwatch/tlscerts.h"

#include <dlfcn.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one parse that waits: libgit2 keeps one CA chain. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static mbedtls_x509_crt *pending_chain;
static char *pending_path;

/* mbedTLS's own definition of name (the next object's, after the
 * executable's); its absence means libgit2 was built without mbedTLS,
 * which cannot call these. */
static void *next_sym(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f) {
		fprintf(stderr, "shipyard: error: cannot find mbedTLS's %s: %s\n", name, dlerror());
		exit(1);
	}
	return f;
}

static int real_parse_file(mbedtls_x509_crt *chain, const char *path)
{
	static int (*fn)(mbedtls_x509_crt *, const char *);

	if (!__atomic_load_n(&fn, __ATOMIC_ACQUIRE))
		__atomic_store_n(&fn, (int (*)(mbedtls_x509_crt *, const char *))next_sym(
					      "mbedtls_x509_crt_parse_file"),
				 __ATOMIC_RELEASE);
	return __atomic_load_n(&fn, __ATOMIC_ACQUIRE)(chain, path);
}

int mbedtls_x509_crt_parse_file(mbedtls_x509_crt *chain, const char *path)
{
	int deferred = 0;

	pthread_mutex_lock(&lock);
	if (!pending_chain && path) {
		pending_chain = chain;
		pending_path = strdup(path);
		deferred = pending_path != NULL;
		if (!deferred)
			pending_chain = NULL;
	}
	pthread_mutex_unlock(&lock);
	return deferred ? 0 : real_parse_file(chain, path);
}

void mbedtls_x509_crt_free(mbedtls_x509_crt *crt)
{
	static void (*fn)(mbedtls_x509_crt *);

	pthread_mutex_lock(&lock);
	if (crt && crt == pending_chain) {
		pending_chain = NULL;
		free(pending_path);
		pending_path = NULL;
	}
	pthread_mutex_unlock(&lock);
	if (!__atomic_load_n(&fn, __ATOMIC_ACQUIRE))
		__atomic_store_n(&fn, (void (*)(mbedtls_x509_crt *))next_sym("mbedtls_x509_crt_free"),
				 __ATOMIC_RELEASE);
	__atomic_load_n(&fn, __ATOMIC_ACQUIRE)(crt);
}

int mbedtls_ssl_setup(mbedtls_ssl_context *ssl, const mbedtls_ssl_config *conf)
{
	static int (*fn)(mbedtls_ssl_context *, const mbedtls_ssl_config *);

	/* A failure leaves the chain short: verification then fails. */
	gitwatch_tls_certs_load();
	if (!__atomic_load_n(&fn, __ATOMIC_ACQUIRE))
		__atomic_store_n(&fn, (int (*)(mbedtls_ssl_context *, const mbedtls_ssl_config *))
					      next_sym("mbedtls_ssl_setup"),
				 __ATOMIC_RELEASE);
	return __atomic_load_n(&fn, __ATOMIC_ACQUIRE)(ssl, conf);
}

int gitwatch_tls_certs_deferred(void)
{
	int deferred;

	pthread_mutex_lock(&lock);
	deferred = pending_chain != NULL;
	pthread_mutex_unlock(&lock);
	return deferred;
}

int gitwatch_tls_certs_load(void)
{
	int rc = 0;

	/* Held while parsing: a second session waits for the certificates. */
	pthread_mutex_lock(&lock);
	if (pending_chain) {
		rc = real_parse_file(pending_chain, pending_path);
		pending_chain = NULL;
		free(pending_path);
		pending_path = NULL;
	}
	pthread_mutex_unlock(&lock);
	return rc < 0 ? rc : 0;
}
