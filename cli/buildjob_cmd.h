/* `shipyard buildjob FILE`: the build entry point a cluster node runs
 * (builder/jobdesc.h, builder/slurm.h). */
#ifndef CLI_BUILDJOB_CMD_H
#define CLI_BUILDJOB_CMD_H

extern const char cli_buildjob_usage[];

/* Runs the job described by argv[1] (argv[0] is "buildjob"). Returns 0 when
 * its result was written (built or not: the result says), 1 when it could
 * not be, 2 on a usage error. */
int cli_buildjob_command(int argc, char **argv);

#endif
