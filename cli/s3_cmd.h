/* `shipyard s3-sync`, and the [publish "s3"] section as every command that
 * publishes reads it (repo-publish/s3.h). */
#ifndef CLI_S3_CMD_H
#define CLI_S3_CMD_H

#include "repo-publish/s3.h"

/* Usage text of `shipyard s3-sync`. */
extern const char cli_s3_sync_usage[];

/* Reads the [publish "s3"] section of the git-config file at path into
 * *conf and checks that its credentials file is the service's alone
 * (server_check_secret_file: a regular file of mode 0600 or stricter).
 * Returns 1 when a bucket is configured, 0 when none is, -1 after printing
 * the error. Release conf with repo_s3_config_release in every case. */
int cli_s3_config_load(const char *path, struct repo_s3_config *conf);

/* Prints what an upload did, one line on stdout: "<channel>: <snapshot>
 * -> <url>: N objects, N uploaded (N bytes), N retried, N stale". */
void cli_s3_report_print(const char *channel, const struct repo_s3_report *rep);

/* Runs `shipyard s3-sync --config FILE [--state DIR] CHANNEL...` (argv[0]
 * is "s3-sync"): uploads each channel's current snapshot to the bucket.
 * Returns the exit status: 0 all uploaded, 1 some upload failed (each
 * printed), 2 a usage or configuration error. */
int cli_s3_sync_command(int argc, char **argv);

#endif
