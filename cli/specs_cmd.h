/* shipyard specs: every spec of one commit as the planner reads it (what the
 * Azure Linux toolkit's specreader writes into specs.json): name, EVR, the
 * binary packages with their Provides and Requires, BuildRequires, Sources,
 * Patches, arches, or why it does not parse. Option parsing and printing
 * only; the index is planner/index.h's. */
#ifndef CLI_SPECS_CMD_H
#define CLI_SPECS_CMD_H

/* The command's --help text. */
extern const char cli_specs_usage[];

/* Runs `shipyard specs` with argv[0] = "specs": reads the spec index at
 * --rev (through the spec cache of --state) and prints it to stdout. Returns
 * the exit status: 0 when every spec parsed, 1 when one did not (each named
 * on stderr with its file, line and reason), 2 on a usage or set-up error. */
int cli_specs_command(int argc, char **argv);

#endif
