#include "dynlib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

/* A failure here is the one a missing library at start would have been:
 * nothing sensible can go on, and callers (the library's functions) have no
 * way to report it. */
static void dynlib_fail(const struct sy_dynlib *lib, const char *name)
{
	const char *why = dlerror();

	fprintf(stderr, "shipyard: error: cannot load %s (for %s): %s\n", lib->soname, name,
		why ? why : "unknown error");
	exit(1);
}

void *sy_dynlib_sym(struct sy_dynlib *lib, const char *name)
{
	void *h = __atomic_load_n(&lib->handle, __ATOMIC_ACQUIRE);
	void *sym;

	if (!h) {
		/* Two threads may both open it: dlopen counts references and
		 * returns the same handle. */
		h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
		if (!h)
			dynlib_fail(lib, name);
		__atomic_store_n(&lib->handle, h, __ATOMIC_RELEASE);
	}
	sym = dlsym(h, name);
	if (!sym)
		dynlib_fail(lib, name);
	return sym;
}
