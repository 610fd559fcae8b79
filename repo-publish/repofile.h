/* The .repo file a dnf or tdnf client installs to use a channel the service
 * serves under /repos/ (dnf.conf(5)'s repository options, which tdnf reads
 * too): one section with its baseurl and, when the channel's current
 * snapshot is signed (repo-publish/sign.h), the checks that make a client
 * refuse what the key did not sign. */
#ifndef REPO_PUBLISH_REPOFILE_H
#define REPO_PUBLISH_REPOFILE_H

/* Returns the .repo file of channel (newly allocated; caller frees):
 *
 *   [shipyard-<id>]
 *   name=shipyard <channel>
 *   baseurl=<url>/repos/<channel>/current/
 *   enabled=1
 *   gpgcheck=1, repo_gpgcheck=1 and
 *   gpgkey=<url>/repos/<channel>/current/RPM-GPG-KEY-shipyard when
 *   snapshot is signed (repo_sign_snapshot_signed), else gpgcheck=0 and
 *   repo_gpgcheck=0
 *
 * url is the service's base URL without a trailing '/'; snapshot the
 * channel's current snapshot (a path), or NULL. In URLs the channel is
 * percent-encoded (its "%2F" is "%252F"); the id is the channel with every
 * character outside [A-Za-z0-9_.-] made '-'. */
char *repo_publish_repo_file(const char *url, const char *channel, const char *snapshot);

/* Returns "<url>/repos/<channel>" with the channel percent-encoded (RFC
 * 3986 section 2.1: every octet outside [A-Za-z0-9_.~-]), where the service
 * serves the channel; its .repo file is at that URL plus ".repo", its
 * current snapshot at that URL plus "/current/". Newly allocated. */
char *repo_publish_channel_url(const char *url, const char *channel);

#endif
