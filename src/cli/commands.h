/* commands.h: the command table's entry points (src/cmd-<name>.c).
 * Each returns the process exit code (>= 0), or -1 with *err set; main()
 * prints the error and maps its kind to an exit code. */
#ifndef OHR_COMMANDS_H
#define OHR_COMMANDS_H

#include "util/error.h"

int cmd_run (int argc, char **argv, ohr_error_t *err);
int cmd_doctor (int argc, char **argv, ohr_error_t *err);

#endif
