/* plan.h: the request for a run's key (key.h), from what run mode has
 * assembled: the view (container paths, environment, arguments), the
 * image, the workspace view, the policy in effect.  Run mode only: no
 * digests here.
 *
 * The inputs are the view's mounts that the script can read and that
 * are not the image's or plumbing: the package source (what the
 * workspace view hides seen as empty), the build script, the toolchains,
 * the policy's mounts, and, of the build directory, the dependencies'
 * OUT_DIRs that the DEP_* variables name (their first two components
 * below the build directory, `<pkg>-<hash>/out`). */
#ifndef OHR_CACHE_PLAN_H
#define OHR_CACHE_PLAN_H

#include "cache/key.h"
#include "image/image.h"
#include "policy/policy.h"
#include "run/context.h"
#include "run/view.h"
#include "run/wsview.h"

struct cache_plan_input
{
  const struct run_context *ctx;
  const struct view *view;
  const struct image *image;
  const struct wsview *ws; /* may be NULL */
  const struct policy_effective *eff;
  char *const *envp; /* Cargo's environment (the DEP_* host paths) */
};

int cache_plan_request (const struct cache_plan_input *in,
                        struct cache_request *out, ohr_error_t *err);

/* The dependencies' OUT_DIRs that the DEP_* variables of envp name, as
 * host paths below build_dir (existing directories, each once:
 * context_dependency_dirs): what the view mounts of the build directory
 * when the run may be cached. */
int cache_plan_dependencies (const char *build_dir, char *const *envp,
                             char ***out, ohr_error_t *err);

/* The policy settings in effect as one canonical line, for the key (the
 * mounts' sources are inputs of their own: only destinations here). */
char *cache_plan_policy_line (const struct policy_effective *eff);

#endif
