/* Worker root manifests: builder_worker_manifest_read (builder/worker.h) on
 * the input written to a file. Checks that a manifest read has a non-empty
 * suite and variant, sorted unique lists and a digest. */
#define FUZZ_HOLD_LIBGIT2 /* fuzz.h */
#include "fuzz.h"

#include "builder/worker.h"

/* 1 when v is sorted and holds no name twice. */
static int sorted_unique(const struct sy_strv *v)
{
	for (size_t i = 1; i < v->n; i++)
		if (strcmp(v->items[i - 1], v->items[i]) >= 0)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct builder_worker_manifest m;
	struct sy_error err = { { 0 } };
	char *path = fuzz_write_file("worker.conf", data, size);

	if (builder_worker_manifest_read(path, &m, &err) == 0) {
		if (!m.suite || !m.suite[0] || !m.variant || !m.variant[0] ||
		    strlen(m.digest) != SY_SHA256_HEX_LEN || !sorted_unique(&m.packages) ||
		    !sorted_unique(&m.toolchain))
			abort();
		builder_worker_manifest_release(&m);
	} else if (!err.msg[0]) {
		abort();
	}
	free(path);
	return 0;
}
