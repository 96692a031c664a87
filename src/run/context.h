/* context.h: what Cargo hands a build-script runner, checked.
 *
 * Cargo runs RUNNER SCRIPT [ARGS] with cwd = package root and OUT_DIR,
 * CARGO_MANIFEST_DIR... in the environment.  This module validates that
 * (so a runner called by hand fails with one clear line) and derives the
 * paths the container needs: the build directory holding every build
 * script's output (a dependent reads its dependency's OUT_DIR through
 * DEP_* variables), Cargo's target directory above it (canonical paths
 * keep OUT_DIR's place below it), the package root, OUT_DIR.
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
  char *build_dir;  /* <target>/[<triple>/]<profile>/build when OUT_DIR has
                       Cargo's shape (context_cargo_dirs), else NULL */
  char *target_dir; /* <target> of that shape, else NULL */
  char *cwd;
  char *package; /* "name version" for messages */
};

/* Cargo's directories around an OUT_DIR of its shape (absolute,
 * normalized):
 *
 *   <target>/[<triple>/]<profile>/build/<pkg>-<hash>/out
 *
 * <triple> is there when the component above <profile> is the TARGET
 * Cargo gives the script (a cross build: Cargo puts its units under
 * <target>/<triple>/); target NULL or "" for none.  A target directory
 * named like the triple counts as the triple's directory: one more
 * component, the same on every checkout.  The target directory is never
 * "/".  Fresh strings, or both NULL when out_dir has another shape. */
int context_cargo_dirs (const char *out_dir, const char *target,
                        char **out_build_dir, char **out_target_dir,
                        ohr_error_t *err);

/* The dependencies' OUT_DIRs that the DEP_* variables of envp name (a
 * dependency's build script exported `cargo:include=...` or other
 * metadata naming its OUT_DIR): for each value that is a path below
 * build_dir, the first two components below it (`<pkg>-<hash>/out`), as
 * a host path, when it is an existing directory, each once, in envp's
 * order.  An empty list (never NULL) when there is none or build_dir is
 * NULL.  What a dependent script reads of the build directory: the
 * result cache keys on them and mounts only them (src/cache/plan.h), and
 * a statement records them as inputs (src/attest/). */
int context_dependency_dirs (const char *build_dir, char *const *envp,
                             char ***out, ohr_error_t *err);

int context_load (char *const *command, char *const *envp,
                  struct run_context *out, ohr_error_t *err);

void context_clear (struct run_context *ctx);

#endif
