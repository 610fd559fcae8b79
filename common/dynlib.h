/* Shared libraries loaded on first use (dlopen) instead of at process start.
 *
 * Why: every `shipyard` process, a short `plan` included, paid for loading
 * and relocating all the libraries of every command (81 objects, about
 * 9 ms of CPU before main), though `plan` uses none of libcurl,
 * libmicrohttpd, graphviz, createrepo_c, libxml2 or libarchive.
 * Such a library is not linked; a file per library (dl-<name>.c, in the
 * stage that uses it) defines each function shipyard calls, with the
 * library's own prototype from its header, as a forwarder to the real one:
 * callers are unchanged. Linking against a library and calling it through
 * these forwarders behave alike, but for the time of the first call. */
#ifndef SY_DYNLIB_H
#define SY_DYNLIB_H

/* One library: its soname (the file the dynamic linker would have loaded,
 * as ldd shows it) and the handle once opened. Define one per library,
 * static, zero but for the soname. */
struct sy_dynlib {
	const char *soname;
	void *handle;
};

/* Returns the address of symbol name in lib, opening lib the first time.
 * Never returns NULL: a library or symbol that cannot be loaded ends the
 * process (exit status 1) after one line on stderr naming the library and
 * the dynamic linker's reason, as a missing library at start would have.
 * Thread-safe. */
void *sy_dynlib_sym(struct sy_dynlib *lib, const char *name);

/* Defines ret name params as a forwarder to the same function of lib; args
 * repeats the parameter names, parenthesised. The symbol is looked up once.
 * The library's header must be included first: the compiler then checks
 * params against the library's prototype. */
#define SY_DYNLIB_FN(lib, ret, name, params, args)                      \
	ret name params                                                 \
	{                                                               \
		static ret(*dl_fn_) params;                             \
		ret(*dl_f_) params = __atomic_load_n(&dl_fn_, __ATOMIC_ACQUIRE); \
		if (!dl_f_) {                                           \
			dl_f_ = (ret(*) params)sy_dynlib_sym(&(lib), #name); \
			__atomic_store_n(&dl_fn_, dl_f_, __ATOMIC_RELEASE); \
		}                                                       \
		return dl_f_ args;                                      \
	}

/* SY_DYNLIB_FN for a function returning void. */
#define SY_DYNLIB_VOID(lib, name, params, args)                         \
	void name params                                                \
	{                                                               \
		static void(*dl_fn_) params;                            \
		void(*dl_f_) params = __atomic_load_n(&dl_fn_, __ATOMIC_ACQUIRE); \
		if (!dl_f_) {                                           \
			dl_f_ = (void(*) params)sy_dynlib_sym(&(lib), #name); \
			__atomic_store_n(&dl_fn_, dl_f_, __ATOMIC_RELEASE); \
		}                                                       \
		dl_f_ args;                                             \
	}

#endif
