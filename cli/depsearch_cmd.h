/* shipyard depsearch: what depends on some specs or packages, or what they
 * need, at one commit of a distribution repository (planner/depsearch.h has
 * the rules), printed as a list, a tree, JSON or a Graphviz digraph
 * (planner/depsearchprint.h). Option parsing only. */
#ifndef CLI_DEPSEARCH_CMD_H
#define CLI_DEPSEARCH_CMD_H

/* The command's --help text. */
extern const char cli_depsearch_usage[];

/* Runs `shipyard depsearch` with argv[0] = "depsearch": reads the spec index
 * and dependency graph at --rev, searches and prints to stdout. Returns the
 * exit status: 0 done, 2 usage or set-up error, or a name given to --specs or
 * --packages that matches nothing (the message on stderr names them all). */
int cli_depsearch_command(int argc, char **argv);

#endif
