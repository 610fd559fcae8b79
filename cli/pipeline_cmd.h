/* The command lines that run pipeline stages: `shipyard run` (every stage),
 * `plan`, `build`, `publish` and `image` (some of them, on a state
 * directory, without a new commit). Option parsing only: pipeline/ does the
 * work. */
#ifndef CLI_PIPELINE_CMD_H
#define CLI_PIPELINE_CMD_H

/* The commands' --help texts. */
extern const char cli_run_usage[], cli_plan_usage[], cli_build_usage[], cli_publish_usage[],
	cli_image_usage[];

/* Each runs its command with argv[0] the command's name and returns the exit
 * status: 0 all succeeded, 1 some spec or image failed (plan: the plan has
 * specs that do not parse or cycles that cannot be broken), 2 a usage or
 * set-up error (printed). */
int cli_run_command(int argc, char **argv);
int cli_plan_command(int argc, char **argv);
int cli_build_command(int argc, char **argv);
int cli_publish_command(int argc, char **argv);
int cli_image_command(int argc, char **argv);

#endif
