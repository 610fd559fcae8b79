/* shipyard analyze: graph analytics of one commit of a distribution
 * repository, as the Azure Linux toolkit's graphanalytics (planner/analyze.h
 * has the rules), printed as text or JSON (planner/analyzeprint.h). Option
 * parsing only. */
#ifndef CLI_ANALYZE_CMD_H
#define CLI_ANALYZE_CMD_H

/* The command's --help text. */
extern const char cli_analyze_usage[];

/* Runs `shipyard analyze` with argv[0] = "analyze": reads the spec index and
 * dependency graph at --rev, analyses and prints to stdout. Returns the exit
 * status: 0 done, 2 usage or set-up error. */
int cli_analyze_command(int argc, char **argv);

#endif
