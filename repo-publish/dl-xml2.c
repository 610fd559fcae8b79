/* libxml2 (S3's XML answers), loaded on first use: see common/dynlib.h.
 * It brings ICU with it. */
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/dynlib.h"

static struct sy_dynlib xml2 = { .soname = "libxml2.so.2" };

SY_DYNLIB_FN(xml2, xmlNodePtr, xmlDocGetRootElement, (const xmlDoc *a), (a))
SY_DYNLIB_VOID(xml2, xmlFreeDoc, (xmlDocPtr a), (a))
SY_DYNLIB_VOID(xml2, xmlInitParser, (void), ())
SY_DYNLIB_FN(xml2, xmlChar *, xmlNodeGetContent, (const xmlNode *a), (a))
SY_DYNLIB_FN(xml2, xmlDocPtr, xmlReadMemory, (const char *a, int b, const char *c, const char *d, int e), (a, b, c, d, e))

/* xmlFree is libxml2's variable holding its deallocator: this one stands
 * for it and calls the library's. */
static void free_via_libxml2(void *p)
{
	static xmlFreeFunc *real;

	if (!__atomic_load_n(&real, __ATOMIC_ACQUIRE))
		__atomic_store_n(&real, (xmlFreeFunc *)sy_dynlib_sym(&xml2, "xmlFree"),
				 __ATOMIC_RELEASE);
	(*__atomic_load_n(&real, __ATOMIC_ACQUIRE))(p);
}

xmlFreeFunc xmlFree = free_via_libxml2;
