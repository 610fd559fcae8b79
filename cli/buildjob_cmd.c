#include "cli/buildjob_cmd.h"

#include <stdio.h>
#include <string.h>

#include "builder/jobdesc.h"
#include "cli/cli.h"
#include "common/log.h"

const char cli_buildjob_usage[] =
	"usage: shipyard buildjob FILE\n\n"
	"Builds the one spec the job description FILE names (written by the slurm\n"
	"executor of `shipyard run --executor slurm`, docs/cluster.md) into the\n"
	"artifact store it names, and writes the job's result line where FILE says.\n"
	"Run by the batch script of a cluster job, not by hand.\n";

int cli_buildjob_command(int argc, char **argv)
{
	struct sy_error err = { { 0 } };

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(cli_buildjob_usage, stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage_error(cli_buildjob_usage, "buildjob takes one job description file");
	if (builder_jobdesc_main(argv[1], &err)) {
		sy_log_error("%s", err.msg);
		return 1;
	}
	return 0;
}
