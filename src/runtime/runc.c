/* runc.c: the runc backend, also used for runc-compatible binaries
 * given by path (same command line: --root, --log, run --bundle). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "runtime/runtime.h"
#include "util/strv.h"

static int
runc_global_args (const struct runtime *rt, const char *log_path, char ***argv)
{
  if (rt->systemd_cgroups && strv_push (argv, "--systemd-cgroup") < 0)
    return -1;
  if (log_path
      && (strv_push (argv, "--log") < 0 || strv_push (argv, log_path) < 0
          || strv_push (argv, "--log-format") < 0
          || strv_push (argv, "json") < 0))
    return -1;
  return 0;
}

const struct runtime_backend runtime_backend_runc = {
  .name = "runc",
  .global_args = runc_global_args,
};
