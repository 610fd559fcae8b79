#include "repo-publish/repofile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"
#include "repo-publish/sign.h"

static int unreserved(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("_.-~", c);
}

char *repo_publish_channel_url(const char *url, const char *channel)
{
	char *path = sy_xcalloc(strlen(channel) * 3 + 1, 1), *q = path, *out;

	for (const unsigned char *c = (const unsigned char *)channel; *c; c++)
		q += unreserved((char)*c) ? sprintf(q, "%c", *c) : sprintf(q, "%%%02X", *c);
	out = sy_xasprintf("%s/repos/%s", url, path);
	free(path);
	return out;
}

char *repo_publish_repo_file(const char *url, const char *channel, const char *snapshot)
{
	char *id = sy_xstrdup(channel), *base = repo_publish_channel_url(url, channel), *text;

	for (char *c = id; *c; c++)
		if (!unreserved(*c) || *c == '~')
			*c = '-';
	if (repo_sign_snapshot_signed(snapshot))
		text = sy_xasprintf("[shipyard-%1$s]\nname=shipyard %2$s\n"
				    "baseurl=%3$s/current/\nenabled=1\n"
				    "gpgcheck=1\nrepo_gpgcheck=1\n"
				    "gpgkey=%3$s/current/" REPO_SIGN_KEY_FILE "\n",
				    id, channel, base);
	else
		text = sy_xasprintf("[shipyard-%s]\nname=shipyard %s\n"
				    "baseurl=%s/current/\nenabled=1\n"
				    "gpgcheck=0\nrepo_gpgcheck=0\n",
				    id, channel, base);
	free(base);
	free(id);
	return text;
}
