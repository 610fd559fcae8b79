/* libmicrohttpd (the HTTP server of `shipyard serve`), loaded on first use:
 * see common/dynlib.h. It brings GnuTLS with it. */
#include <microhttpd.h>
#include <stdarg.h>

#include "common/dynlib.h"

static struct sy_dynlib mhd = { .soname = "libmicrohttpd.so.12" };

SY_DYNLIB_FN(mhd, enum MHD_Result, MHD_add_response_header, (struct MHD_Response *a, const char *b, const char *c), (a, b, c))
SY_DYNLIB_FN(mhd, struct MHD_Response *, MHD_create_response_from_buffer, (size_t a, void *b, enum MHD_ResponseMemoryMode c), (a, b, c))
SY_DYNLIB_FN(mhd, struct MHD_Response *, MHD_create_response_from_fd, (size_t a, int b), (a, b))
SY_DYNLIB_VOID(mhd, MHD_destroy_response, (struct MHD_Response *a), (a))
SY_DYNLIB_FN(mhd, int, MHD_get_connection_values, (struct MHD_Connection *a, enum MHD_ValueKind b, MHD_KeyValueIterator c, void *d), (a, b, c, d))
SY_DYNLIB_FN(mhd, const char *, MHD_lookup_connection_value, (struct MHD_Connection *a, enum MHD_ValueKind b, const char *c), (a, b, c))
SY_DYNLIB_FN(mhd, enum MHD_Result, MHD_queue_response, (struct MHD_Connection *a, unsigned int b, struct MHD_Response *c), (a, b, c))
SY_DYNLIB_VOID(mhd, MHD_stop_daemon, (struct MHD_Daemon *a), (a))

/* The options after dh_cls go on as a va_list, to the function libmicrohttpd
 * provides for that. */
struct MHD_Daemon *MHD_start_daemon(unsigned int a, uint16_t b, MHD_AcceptPolicyCallback c, void *d,
				    MHD_AccessHandlerCallback e, void *f, ...)
{
	static struct MHD_Daemon *(*fn)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
					MHD_AccessHandlerCallback, void *, va_list);
	struct MHD_Daemon *d_out;
	va_list ap;

	if (!__atomic_load_n(&fn, __ATOMIC_ACQUIRE))
		__atomic_store_n(&fn,
				 (struct MHD_Daemon * (*)(unsigned int, uint16_t, MHD_AcceptPolicyCallback,
							  void *, MHD_AccessHandlerCallback, void *,
							  va_list))sy_dynlib_sym(&mhd, "MHD_start_daemon_va"),
				 __ATOMIC_RELEASE);
	va_start(ap, f);
	d_out = __atomic_load_n(&fn, __ATOMIC_ACQUIRE)(a, b, c, d, e, f, ap);
	va_end(ap);
	return d_out;
}

/* No MHD_DaemonInfoType shipyard asks for takes an argument. */
const union MHD_DaemonInfo *MHD_get_daemon_info(struct MHD_Daemon *a, enum MHD_DaemonInfoType b, ...)
{
	static const union MHD_DaemonInfo *(*fn)(struct MHD_Daemon *, enum MHD_DaemonInfoType, ...);

	if (!__atomic_load_n(&fn, __ATOMIC_ACQUIRE))
		__atomic_store_n(&fn,
				 (const union MHD_DaemonInfo * (*)(struct MHD_Daemon *,
								  enum MHD_DaemonInfoType, ...))
					 sy_dynlib_sym(&mhd, "MHD_get_daemon_info"),
				 __ATOMIC_RELEASE);
	return __atomic_load_n(&fn, __ATOMIC_ACQUIRE)(a, b);
}
