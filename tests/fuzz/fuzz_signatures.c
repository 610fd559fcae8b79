/* signatures.json: builder_sources_verify and builder_sources_check in
 * update mode (builder/sources.h) with the input as the signatures file of
 * a spec directory that holds a.tar.gz ("a\n", SHA-256 87428fc5...) and not
 * b.tar.gz. Checks the outcomes sources.h promises: verifying both fails
 * (b.tar.gz is missing) whatever the file says, and an update leaves a file
 * that verifies a.tar.gz. */
#include "fuzz.h"

#include "builder/sources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const both[] = { "a.tar.gz", "SPECS/x/b.tar.gz", NULL };
	static const char *const a[] = { "a.tar.gz", NULL };
	struct sy_strv sources = { (char **)both, 2 }, just_a = { (char **)a, 1 };
	struct sy_error err = { { 0 } };
	static char *src; /* written once, kept */
	char *sig = fuzz_write_file("x.signatures.json", data, size);
	int updated = 0;

	if (!src)
		src = fuzz_write_file("a.tar.gz", "a\n", 2);
	if (builder_sources_verify(fuzz_tmpdir(), sig, &sources, &err) == 0)
		abort(); /* b.tar.gz is missing */
	builder_sources_verify(fuzz_tmpdir(), sig, &just_a, &err);
	if (builder_sources_check(fuzz_tmpdir(), sig, &just_a, PLANNER_SIGNATURES_UPDATE,
				  &updated, &err) != 0 ||
	    builder_sources_verify(fuzz_tmpdir(), sig, &just_a, &err) != 0)
		abort();
	free(sig);
	return 0;
}
