#define _GNU_SOURCE
#include "imager/accounts.h"

#include <crypt.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/strv.h"

/* shadow-utils' login.defs defaults, as Azure Linux ships them. */
#define ID_MIN 1000
#define ID_MAX 60000
#define PASS_MAX_DAYS 99999
#define PASS_WARN_AGE 7
#define DEFAULT_SHELL "/bin/bash"

/* One account file as lines (without their '\n'). */
struct table {
	struct sy_strv lines;
};

static void table_load(struct table *t, const char *text)
{
	const char *p = text ? text : "";

	memset(t, 0, sizeof(*t));
	while (*p) {
		size_t n = strcspn(p, "\n");
		if (n)
			sy_strv_push_owned(&t->lines, sy_xstrndup(p, n));
		p += n + (p[n] == '\n');
	}
}

static char *table_text(const struct table *t)
{
	struct sy_strv out = SY_STRV_INIT;
	char *text;

	for (size_t i = 0; i < t->lines.n; i++)
		sy_strv_pushf(&out, "%s\n", t->lines.items[i]);
	text = sy_strv_join(&out, "");
	sy_strv_release(&out);
	return text;
}

/* The line index of the entry named name, or -1. */
static long table_find(const struct table *t, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < t->lines.n; i++)
		if (!strncmp(t->lines.items[i], name, len) && t->lines.items[i][len] == ':')
			return (long)i;
	return -1;
}

/* Field k (0-based) of line, or "" when it has fewer. Caller frees. */
static char *field(const char *line, int k)
{
	for (; k > 0 && line; k--) {
		line = strchr(line, ':');
		if (line)
			line++;
	}
	return line ? sy_xstrndup(line, strcspn(line, ":")) : sy_xstrdup("");
}

/* Replaces field k of line i (the line is padded with ':' as needed). */
static void set_field(struct table *t, size_t i, int k, const char *value)
{
	struct sy_strv parts = SY_STRV_INIT;
	const char *p = t->lines.items[i];

	for (;;) {
		size_t n = strcspn(p, ":");
		sy_strv_push_owned(&parts, sy_xstrndup(p, n));
		if (!p[n])
			break;
		p += n + 1;
	}
	while (parts.n <= (size_t)k)
		sy_strv_push(&parts, "");
	free(parts.items[k]);
	parts.items[k] = sy_xstrdup(value);
	free(t->lines.items[i]);
	t->lines.items[i] = sy_strv_join(&parts, ":");
	sy_strv_release(&parts);
}

/* 1 when some entry's id field (k) is id. */
static int id_taken(const struct table *t, int k, long id, char **owner)
{
	for (size_t i = 0; i < t->lines.n; i++) {
		char *v = field(t->lines.items[i], k), *end;
		long n = strtol(v, &end, 10);
		int same = v[0] && !*end && n == id;
		free(v);
		if (same) {
			if (owner)
				*owner = field(t->lines.items[i], 0);
			return 1;
		}
	}
	return 0;
}

/* The first free id from ID_MIN, or -1. */
static long next_free(const struct table *t, int k)
{
	for (long id = ID_MIN; id <= ID_MAX; id++)
		if (!id_taken(t, k, id, NULL))
			return id;
	return -1;
}

/* What one apply works on. */
struct apply {
	struct table passwd, shadow, group, gshadow;
	int has_gshadow;
	const char *key;
	long long epoch;
	struct sy_error *err;
};

static int fail(struct apply *a, const char *where, size_t i, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct apply *a, const char *where, size_t i, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sy_error_set(a->err, "%s[%zu]: %s", where, i, msg);
}

/* A value that can go into a field: no ':' or line break. */
static int field_safe(const char *v)
{
	return !strpbrk(v, ":\n\r");
}

/* shadow-utils' default name rule: [a-z_][a-z0-9_-]*[$]?, 32 at most. */
static int name_ok(const char *n)
{
	size_t len = strlen(n);

	if (!len || len > 32 || !(n[0] == '_' || (n[0] >= 'a' && n[0] <= 'z')))
		return 0;
	for (size_t i = 1; i < len; i++) {
		char c = n[i];
		if (!(c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      (c == '$' && i == len - 1)))
			return 0;
	}
	return 1;
}

static int add_group(struct apply *a, const struct imager_group *g, size_t i)
{
	long at = table_find(&a->group, g->name);
	char *owner = NULL;
	long gid = g->gid;

	if (!name_ok(g->name))
		return fail(a, "Groups", i, "Name \"%s\" is not a valid group name", g->name);
	if (at >= 0) {
		char *have = field(a->group.lines.items[at], 2);
		int same = gid < 0 || atol(have) == gid;
		free(have);
		return same ? 0 : fail(a, "Groups", i, "group %s exists in the image with another "
				       "GID", g->name);
	}
	if (gid >= 0 && id_taken(&a->group, 2, gid, &owner)) {
		int rc = fail(a, "Groups", i, "GID %ld is taken by group %s", gid, owner);
		free(owner);
		return rc;
	}
	if (gid < 0 && (gid = next_free(&a->group, 2)) < 0)
		return fail(a, "Groups", i, "no free GID");
	sy_strv_pushf(&a->group.lines, "%s:x:%ld:", g->name, gid);
	if (a->has_gshadow)
		sy_strv_pushf(&a->gshadow.lines, "%s:!::", g->name);
	return 0;
}

/* Adds user to the member list (field k) of line at of t. */
static void add_member(struct table *t, long at, int k, const char *user)
{
	char *members = field(t->lines.items[at], k);
	struct sy_strv list = SY_STRV_INIT;
	char *save = NULL, *joined;

	for (char *m = strtok_r(members, ",", &save); m; m = strtok_r(NULL, ",", &save))
		sy_strv_push(&list, m);
	if (!sy_strv_contains(&list, user))
		sy_strv_push(&list, user);
	joined = sy_strv_join(&list, ",");
	set_field(t, (size_t)at, k, joined);
	free(joined);
	sy_strv_release(&list);
	free(members);
}

static int add_secondary(struct apply *a, const struct imager_user *u, size_t i)
{
	for (size_t k = 0; k < u->secondary_groups.n; k++) {
		const char *g = u->secondary_groups.items[k];
		long at = table_find(&a->group, g);
		if (at < 0)
			return fail(a, "Users", i, "SecondaryGroups: no group %s in the image or "
				    "Groups", g);
		add_member(&a->group, at, 3, u->name);
		long gs = a->has_gshadow ? table_find(&a->gshadow, g) : -1;
		if (gs >= 0)
			add_member(&a->gshadow, gs, 3, u->name);
	}
	return 0;
}

/* The shadow password field of u. Caller frees; NULL with a->err. */
static char *shadow_password(struct apply *a, const struct imager_user *u, size_t i)
{
	if (!u->password[0])
		return sy_xstrdup("!");
	if (u->password_hashed) {
		if (!field_safe(u->password) || u->password[0] == '\0')
			return fail(a, "Users", i, "Password: not a crypt(3) hash"), NULL;
		return sy_xstrdup(u->password);
	}
	char *hash = imager_password_hash(u->password, a->key, u->name, a->err);
	if (!hash)
		sy_error_prefix(a->err, "Users[%zu]", i);
	return hash;
}

/* Sets the password, last change, max and warn fields of u's shadow line. */
static int set_shadow(struct apply *a, const struct imager_user *u, size_t i, int is_new)
{
	long at = table_find(&a->shadow, u->name);
	char day[32], max[32];

	if (at < 0) {
		sy_strv_pushf(&a->shadow.lines, "%s:!:::::::", u->name);
		at = (long)a->shadow.lines.n - 1;
	}
	if (is_new || u->password[0]) {
		char *pw = shadow_password(a, u, i);
		if (!pw)
			return -1;
		set_field(&a->shadow, (size_t)at, 1, pw);
		free(pw);
		snprintf(day, sizeof(day), "%lld", a->epoch / 86400);
		set_field(&a->shadow, (size_t)at, 2, day);
	}
	if (is_new) {
		set_field(&a->shadow, (size_t)at, 3, "0");
		snprintf(max, sizeof(max), "%d", PASS_MAX_DAYS);
		set_field(&a->shadow, (size_t)at, 4, max);
		snprintf(max, sizeof(max), "%d", PASS_WARN_AGE);
		set_field(&a->shadow, (size_t)at, 5, max);
	}
	if (u->password_expires_days >= 0) {
		snprintf(max, sizeof(max), "%ld", u->password_expires_days);
		set_field(&a->shadow, (size_t)at, 4, max);
	}
	return 0;
}

/* The primary group of a new user: PrimaryGroup, or a new group of the
 * user's name (GID = UID when free). */
static int primary_gid(struct apply *a, const struct imager_user *u, size_t i, long uid,
		       long *gid)
{
	long at;

	if (u->primary_group[0]) {
		at = table_find(&a->group, u->primary_group);
		if (at < 0)
			return fail(a, "Users", i, "PrimaryGroup: no group %s in the image or Groups",
				    u->primary_group);
		char *v = field(a->group.lines.items[at], 2);
		*gid = atol(v);
		free(v);
		return 0;
	}
	if (table_find(&a->group, u->name) >= 0)
		return fail(a, "Users", i, "a group %s exists: name it as PrimaryGroup", u->name);
	*gid = id_taken(&a->group, 2, uid, NULL) ? next_free(&a->group, 2) : uid;
	if (*gid < 0)
		return fail(a, "Users", i, "no free GID");
	sy_strv_pushf(&a->group.lines, "%s:x:%ld:", u->name, *gid);
	if (a->has_gshadow)
		sy_strv_pushf(&a->gshadow.lines, "%s:!::", u->name);
	return 0;
}

static int add_user(struct apply *a, const struct imager_user *u, size_t i,
		    struct imager_account_user *out)
{
	long at = table_find(&a->passwd, u->name), uid = u->uid, gid;
	char *owner = NULL;

	if (!name_ok(u->name))
		return fail(a, "Users", i, "Name \"%s\" is not a valid user name", u->name);
	if (!field_safe(u->home_directory) || !field_safe(u->startup_command) ||
	    (u->home_directory[0] && u->home_directory[0] != '/'))
		return fail(a, "Users", i, "HomeDirectory and StartupCommand must be absolute "
			    "paths without ':'");
	out->name = sy_xstrdup(u->name);
	if (at >= 0) {
		/* An existing account (root): what the toolkit changes. */
		char *have_uid = field(a->passwd.lines.items[at], 2);
		char *have_gid = field(a->passwd.lines.items[at], 3);
		out->uid = (uid_t)atol(have_uid);
		out->gid = (gid_t)atol(have_gid);
		out->home = field(a->passwd.lines.items[at], 5);
		free(have_uid);
		free(have_gid);
		if ((uid >= 0 && (uid_t)uid != out->uid) || u->primary_group[0] ||
		    (u->home_directory[0] && strcmp(u->home_directory, out->home)))
			return fail(a, "Users", i, "user %s exists in the image: UID, PrimaryGroup "
				    "and HomeDirectory cannot change", u->name);
		if (u->startup_command[0])
			set_field(&a->passwd, (size_t)at, 6, u->startup_command);
		return set_shadow(a, u, i, 0) || add_secondary(a, u, i) ? -1 : 0;
	}
	if (uid >= 0 && id_taken(&a->passwd, 2, uid, &owner)) {
		int rc = fail(a, "Users", i, "UID %ld is taken by %s", uid, owner);
		free(owner);
		return rc;
	}
	if (uid < 0 && (uid = next_free(&a->passwd, 2)) < 0)
		return fail(a, "Users", i, "no free UID");
	if (primary_gid(a, u, i, uid, &gid))
		return -1;
	out->uid = (uid_t)uid;
	out->gid = (gid_t)gid;
	out->home = u->home_directory[0] ? sy_xstrdup(u->home_directory)
					 : sy_xasprintf("/home/%s", u->name);
	out->is_new = 1;
	sy_strv_pushf(&a->passwd.lines, "%s:x:%ld:%ld::%s:%s", u->name, uid, gid, out->home,
		      u->startup_command[0] ? u->startup_command : DEFAULT_SHELL);
	return set_shadow(a, u, i, 1) || add_secondary(a, u, i) ? -1 : 0;
}

static void apply_release(struct apply *a)
{
	sy_strv_release(&a->passwd.lines);
	sy_strv_release(&a->shadow.lines);
	sy_strv_release(&a->group.lines);
	sy_strv_release(&a->gshadow.lines);
}

int imager_accounts_apply(struct imager_accounts *acc, const struct imager_system_config *s,
			  const char *key, long long epoch, struct imager_account_user **users,
			  struct sy_error *err)
{
	struct apply a = { .has_gshadow = acc->gshadow != NULL, .key = key, .epoch = epoch,
			   .err = err };
	int rc = 0;

	*users = sy_xcalloc(s->nusers + 1, sizeof(**users));
	table_load(&a.passwd, acc->passwd);
	table_load(&a.shadow, acc->shadow);
	table_load(&a.group, acc->group);
	table_load(&a.gshadow, acc->gshadow);
	for (size_t i = 0; rc == 0 && i < s->ngroups; i++)
		rc = add_group(&a, &s->groups[i], i);
	for (size_t i = 0; rc == 0 && i < s->nusers; i++)
		rc = add_user(&a, &s->users[i], i, &(*users)[i]);
	if (rc == 0) {
		imager_accounts_release(acc);
		acc->passwd = table_text(&a.passwd);
		acc->shadow = table_text(&a.shadow);
		acc->group = table_text(&a.group);
		acc->gshadow = a.has_gshadow ? table_text(&a.gshadow) : NULL;
	} else {
		imager_account_users_free(*users, s->nusers);
		*users = NULL;
	}
	apply_release(&a);
	return rc;
}

char *imager_password_hash(const char *password, const char *key, const char *name,
			   struct sy_error *err)
{
	static const char alphabet[] =
		"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	struct sy_sha256 *h = sy_sha256_new();
	char hex[SY_SHA256_HEX_LEN + 1], setting[3 + 16 + 1];
	struct crypt_data *data = sy_xcalloc(1, sizeof(*data));
	char *out = NULL;

	sy_sha256_update_str(h, key);
	sy_sha256_update_str(h, "\npassword/");
	sy_sha256_update_str(h, name);
	sy_sha256_final(h, hex);
	memcpy(setting, "$6$", 3);
	for (size_t i = 0; i < 16; i++) {
		unsigned v = (unsigned)strtoul((char[]){ hex[2 * i], hex[2 * i + 1], 0 }, NULL, 16);
		setting[3 + i] = alphabet[v % 64];
	}
	setting[19] = '\0';
	const char *hash = crypt_r(password, setting, data);
	if (!hash || hash[0] == '*')
		sy_error_set(err, "cannot hash the password: %s", strerror(errno));
	else
		out = sy_xstrdup(hash);
	free(data);
	return out;
}

void imager_account_users_free(struct imager_account_user *users, size_t n)
{
	for (size_t i = 0; users && i < n; i++) {
		free(users[i].name);
		free(users[i].home);
	}
	free(users);
}

void imager_accounts_release(struct imager_accounts *acc)
{
	free(acc->passwd);
	free(acc->shadow);
	free(acc->group);
	free(acc->gshadow);
	memset(acc, 0, sizeof(*acc));
}
