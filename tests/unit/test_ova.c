/* imager/ova: the OVF descriptor of an OVA (the tar, its manifest and
 * the VMDK are checked by tests/integration/test_image_disk.sh). */
#include "testutil.h"

#include <string.h>

#include "imager/ova.h"

static void expect_in(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("\"%s\" not in:\n%s", part, text);
}

static void test_ova_descriptor_references_the_disk_file_and_capacity(void **state)
{
	const struct imager_ova o = { .name = "core", .system = "Core", .key = "k", .epoch = 1 };
	char *ovf = imager_ova_descriptor(&o, "core-disk1.vmdk", 123456, 100663296);
	(void)state;

	expect_in(ovf, "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\"");
	expect_in(ovf, "<File ovf:id=\"file1\" ovf:href=\"core-disk1.vmdk\" ovf:size=\"123456\"/>");
	expect_in(ovf, "ovf:fileRef=\"file1\" ovf:capacity=\"100663296\"");
	expect_in(ovf, "vmdk.html#streamOptimized");
	expect_in(ovf, "<rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>");
	expect_in(ovf, "<rasd:ResourceType>3</rasd:ResourceType>\n"
		       "        <rasd:VirtualQuantity>2</rasd:VirtualQuantity>");
	expect_in(ovf, "<rasd:ResourceType>4</rasd:ResourceType>\n"
		       "        <rasd:VirtualQuantity>2048</rasd:VirtualQuantity>");
	assert_null(strstr(ovf, "firmware"));
	free(ovf);
}

static void test_ova_descriptor_escapes_names_and_asks_for_efi(void **state)
{
	const struct imager_ova o = { .name = "a&b", .system = "<x \"y\">", .efi = 1, .key = "k" };
	char *ovf = imager_ova_descriptor(&o, "a&b-disk1.vmdk", 1, 2);
	(void)state;

	expect_in(ovf, "ovf:href=\"a&amp;b-disk1.vmdk\"");
	expect_in(ovf, "<VirtualSystem ovf:id=\"a&amp;b\">");
	expect_in(ovf, "<Name>&lt;x &quot;y&quot;&gt;</Name>");
	expect_in(ovf, "vmw:key=\"firmware\" vmw:value=\"efi\"");
	free(ovf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ova_descriptor_references_the_disk_file_and_capacity),
		cmocka_unit_test(test_ova_descriptor_escapes_names_and_asks_for_efi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
