/* crun.c: the crun backend.
 *
 * crun refuses hosts whose cgroup v2 "unified" tree holds controllers
 * beside v1 hierarchies ("cgroups in hybrid mode not supported").  As root
 * we hide that tree in a private mount namespace; rootless, the runner
 * makes the user namespace itself and hides /sys/fs/cgroup altogether
 * (rootless containers on v1 get no cgroups anyway).  select.c decides
 * which (runtime_choose); here it only means --cgroup-manager=disabled.
 * So does a run whose one cgroup the runner made itself (memcg.h).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "runtime/runtime.h"
#include "util/strv.h"

static int
crun_global_args (const struct runtime *rt, const char *log_path, char ***argv)
{
  if ((rt->prep == RUNTIME_PREP_OWN_USERNS || rt->no_cgroups)
      && strv_push (argv, "--cgroup-manager=disabled") < 0)
    return -1;
  if (rt->systemd_cgroups && strv_push (argv, "--cgroup-manager=systemd") < 0)
    return -1;
  if (log_path
      && (strv_pushf (argv, "--log=file:%s", log_path) < 0
          || strv_push (argv, "--log-format=json") < 0))
    return -1;
  return 0;
}

const struct runtime_backend runtime_backend_crun = {
  .name = "crun",
  .global_args = crun_global_args,
};
