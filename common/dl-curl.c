/* libcurl (HTTP: forges, sources, S3), loaded on first use: see
 * common/dynlib.h. Used by forge/, builder/ and repo-publish/, hence here. */
#define CURL_DISABLE_TYPECHECK /* curl_easy_setopt is defined below, not a macro */
#include <curl/curl.h>
#include <stdarg.h>

#include "dynlib.h"

static struct sy_dynlib curl = { .soname = "libcurl.so.4" };

SY_DYNLIB_VOID(curl, curl_easy_cleanup, (CURL *a), (a))
SY_DYNLIB_FN(curl, char *, curl_easy_escape, (CURL *a, const char *b, int c), (a, b, c))
SY_DYNLIB_FN(curl, CURLHcode, curl_easy_header, (CURL *a, const char *b, size_t c, unsigned int d, int e, struct curl_header **f), (a, b, c, d, e, f))
SY_DYNLIB_FN(curl, CURL *, curl_easy_init, (void), ())
SY_DYNLIB_FN(curl, CURLcode, curl_easy_perform, (CURL *a), (a))
SY_DYNLIB_VOID(curl, curl_easy_reset, (CURL *a), (a))
SY_DYNLIB_FN(curl, const char *, curl_easy_strerror, (CURLcode a), (a))
SY_DYNLIB_VOID(curl, curl_free, (void *a), (a))
SY_DYNLIB_FN(curl, time_t, curl_getdate, (const char *a, const time_t *b), (a, b))
SY_DYNLIB_FN(curl, CURLcode, curl_global_init, (long int a), (a))
SY_DYNLIB_FN(curl, struct curl_slist *, curl_slist_append, (struct curl_slist *a, const char *b), (a, b))
SY_DYNLIB_VOID(curl, curl_slist_free_all, (struct curl_slist *a), (a))

/* The value's type follows from the option's number range, as libcurl
 * itself reads it (CURLOPTTYPE_*); callbacks travel as data pointers, which
 * POSIX lets them be converted to. */
CURLcode curl_easy_setopt(CURL *a, CURLoption b, ...)
{
	static CURLcode (*fn)(CURL *, CURLoption, ...);
	CURLcode (*f)(CURL *, CURLoption, ...) = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	CURLcode rc;
	va_list ap;

	if (!f) {
		f = (CURLcode(*)(CURL *, CURLoption, ...))sy_dynlib_sym(&curl, "curl_easy_setopt");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	va_start(ap, b);
	if (b < CURLOPTTYPE_OBJECTPOINT)
		rc = f(a, b, va_arg(ap, long));
	else if (b >= CURLOPTTYPE_OFF_T && b < CURLOPTTYPE_BLOB)
		rc = f(a, b, va_arg(ap, curl_off_t));
	else
		rc = f(a, b, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

/* Every CURLINFO takes one pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *a, CURLINFO b, ...)
{
	static CURLcode (*fn)(CURL *, CURLINFO, ...);
	CURLcode (*f)(CURL *, CURLINFO, ...) = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	CURLcode rc;
	va_list ap;

	if (!f) {
		f = (CURLcode(*)(CURL *, CURLINFO, ...))sy_dynlib_sym(&curl, "curl_easy_getinfo");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	va_start(ap, b);
	rc = f(a, b, va_arg(ap, void *));
	va_end(ap);
	return rc;
}
