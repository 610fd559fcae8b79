/* SHA-256 digests: a context reused for many buffers gives each buffer's
 * own digest. */
#include "testutil.h"

#include "common/hash.h"

static void test_reused_context_digests_each_buffer_alone(void **state)
{
	static const char *const texts[] = { "abc", "", "shipyard build key v2", "abc" };
	struct sy_sha256_reuse *r = sy_sha256_reuse_new();
	char once[SY_SHA256_HEX_LEN + 1], reused[SY_SHA256_HEX_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		sy_sha256_buf(texts[i], strlen(texts[i]), once);
		sy_sha256_reuse_buf(r, texts[i], strlen(texts[i]), reused);
		assert_string_equal(reused, once);
	}
	sy_sha256_reuse_buf(r, "abc", 3, reused);
	assert_string_equal(reused,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sy_sha256_reuse_free(r);
	sy_sha256_reuse_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reused_context_digests_each_buffer_alone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
