/* context.h: what Cargo hands a build-script runner, checked.
 *
 * Cargo runs RUNNER SCRIPT [ARGS] with cwd = package root and OUT_DIR,
 * CARGO_MANIFEST_DIR... in the environment.  This module validates that
 * (so a runner called by hand fails with one clear line) and derives the
 * paths the container needs: the build directory holding every build
 * script's output (a dependent reads its dependency's OUT_DIR through
 * DEP_* variables), the package root, OUT_DIR.
 */
#ifndef OHR_CONTEXT_H
#define OHR_CONTEXT_H

#include "util/error.h"

struct run_context
{
  char *script;  /* absolute, normalized */
  char **args;   /* script arguments (without the script) */
  char *out_dir; /* absolute, normalized, existing directory */
  char *manifest_dir;
  char *build_dir; /* <target>/<profile>/build when OUT_DIR has that shape,
                      else NULL */
  char *cwd;
  char *package; /* "name version" for messages */
};

int context_load (char *const *command, char *const *envp,
                  struct run_context *out, ohr_error_t *err);

void context_clear (struct run_context *ctx);

#endif
