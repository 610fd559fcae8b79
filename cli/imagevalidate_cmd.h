/* shipyard image validate: image config files checked without any work, as
 * the Azure Linux toolkit's imageconfigvalidator does, one verdict per file
 * (imager/imageconfig.h, imager/imagevalidate.h). Option parsing and
 * printing only. */
#ifndef CLI_IMAGEVALIDATE_CMD_H
#define CLI_IMAGEVALIDATE_CMD_H

/* The command's --help text. */
extern const char cli_image_validate_usage[];

/* Runs `shipyard image validate` with argv[0] = "validate": prints
 * "<file>: <verdict>" per file to stdout. Returns the exit status: 0 every
 * file is valid and composable, 1 some is not, 2 usage error. */
int cli_image_validate_command(int argc, char **argv);

#endif
