/* server/openapi.json, the OpenAPI description of the JSON API, built into
 * the binary (the assembler's .incbin, run from the top directory as the
 * Makefile does) so that the service answers it with no file to install.
 * The Makefile rebuilds this object when the JSON changes. */
#include "server/dashboard-private.h"

__asm__(".section .rodata\n"
	".global dashboard_openapi_json\n"
	".type dashboard_openapi_json, @object\n"
	"dashboard_openapi_json:\n"
	".incbin \"server/openapi.json\"\n"
	".byte 0\n"
	".size dashboard_openapi_json, . - dashboard_openapi_json\n"
	".previous\n");
