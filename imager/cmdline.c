#include "imager/cmdline.h"

#include <stdlib.h>
#include <string.h>

#include "common/strv.h"

/* The partition of layout mounted at mount_point, or NULL. */
static const struct imager_disk_part *mounted_at(const struct imager_disk_layout *l,
						 const char *mount_point)
{
	for (size_t i = 0; l && i < l->nparts; i++)
		if (l->parts[i].setting && !strcmp(l->parts[i].setting->mount_point, mount_point))
			return &l->parts[i];
	return NULL;
}

/* Appends "<prefix><identifier of the partition at mount_point>". */
static void push_ident(struct sy_strv *w, const char *prefix,
		       const struct imager_disk_layout *l, const char *mount_point)
{
	const struct imager_disk_part *q = mounted_at(l, mount_point);
	char ident[IMAGER_DISK_IDENT_MAX];

	if (!q)
		return;
	imager_disk_part_ident(q, ident);
	sy_strv_pushf(w, "%s%s", prefix, ident);
}

char *imager_kernel_cmdline(const struct imager_config *cfg,
			    const struct imager_disk_layout *layout)
{
	const struct imager_kernel_cmdline *k = &cfg->systems[0].cmdline;
	struct sy_strv w = SY_STRV_INIT;
	char *text;

	push_ident(&w, "root=", layout, "/");
	sy_strv_push(&w, "ro");
	if (!k->selinux || !k->selinux[0]) {
		sy_strv_push(&w, "selinux=0");
	} else {
		sy_strv_push(&w, "security=selinux selinux=1");
		if (!strcmp(k->selinux, "force_enforcing"))
			sy_strv_push(&w, "enforcing=1");
	}
	if (k->enable_fips) {
		sy_strv_push(&w, "fips=1");
		push_ident(&w, "boot=", layout, "/boot");
	}
	if (k->cgroup && !strcmp(k->cgroup, "version_one"))
		sy_strv_push(&w, "systemd.unified_cgroup_hierarchy=0");
	else if (k->cgroup && !strcmp(k->cgroup, "version_two"))
		sy_strv_push(&w, "systemd.unified_cgroup_hierarchy=1");
	for (size_t i = 0; i < k->ima_policy.n; i++)
		sy_strv_pushf(&w, "ima_policy=%s", k->ima_policy.items[i]);
	if (k->extra && k->extra[strspn(k->extra, " \t")])
		sy_strv_push(&w, k->extra + strspn(k->extra, " \t"));
	text = sy_strv_join(&w, " ");
	sy_strv_release(&w);
	return text;
}
