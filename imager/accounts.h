/* An image config's Groups and Users written into the account files of the
 * image root directly, as the toolkit's imager gets them from groupadd,
 * useradd, chpasswd and chage (Azure Linux toolkit
 * tools/imagegen/installutils: AddUsers, createUserWithPassword), without
 * running those tools: passwd(5), shadow(5), group(5) and gshadow(5) lines
 * with shadow-utils' defaults (USERGROUPS_ENAB: a new user's own group, of
 * the same id when free; ids from 1000; home /home/<name>; shell
 * /bin/bash; PASS_MAX_DAYS 99999, PASS_WARN_AGE 7).
 *
 * Passwords: PasswordHashed ones go in as given (a crypt(3) hash); plain
 * ones are hashed with libcrypt's SHA-512 crypt ("$6$") and a salt derived
 * from the image key and the user name, so that the same inputs give the
 * same image; an empty Password leaves the account locked ("!"). */
#ifndef IMAGER_ACCOUNTS_H
#define IMAGER_ACCOUNTS_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"
#include "imager/imageconfig.h"

/* The account files of a root, as text ("" when a file is missing; gshadow
 * NULL when the root has none, then it is not written). Owned. */
struct imager_accounts {
	char *passwd;
	char *shadow;
	char *group;
	char *gshadow;
};

/* A user of the config as imager_accounts_apply placed it. Owned. */
struct imager_account_user {
	char *name;
	uid_t uid;
	gid_t gid;  /* primary group */
	char *home; /* home directory */
	int is_new; /* 1: added (its home is made), 0: it existed (root) */
};

/* Applies s's Groups, then its Users, to acc (replacing its texts): groups
 * added (an existing one of the same name kept when its GID agrees), users
 * added, or an existing user (root) given the password, shell and expiry
 * the config sets; secondary groups get the user as member. key is the
 * image key (hex), epoch the image's time (the shadow "last change" day).
 * Fills *users (n = s->nusers, in config order; release with
 * imager_account_users_free). Returns 0, or -1 with err naming the item
 * ("Users[1]: UID 1000 is taken by alice", "Users[0]: SecondaryGroups:
 * no group wheel in the image"). */
int imager_accounts_apply(struct imager_accounts *acc, const struct imager_system_config *s,
			  const char *key, long long epoch, struct imager_account_user **users,
			  struct sy_error *err);

/* Hashes password with SHA-512 crypt and a 16-character salt derived from
 * key and name (libcrypt crypt_r). Returns a new string, or NULL with err. */
char *imager_password_hash(const char *password, const char *key, const char *name,
			   struct sy_error *err);

/* Frees n users and the array. */
void imager_account_users_free(struct imager_account_user *users, size_t n);

/* Frees the texts of acc. */
void imager_accounts_release(struct imager_accounts *acc);

#endif
