/* limits.c: see limits.h */
#define _GNU_SOURCE
#include "run/limits.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static void
add (struct limits *out, const char *type, uint64_t soft, uint64_t hard)
{
  if (out->n_rlimits < LIMITS_MAX_RLIMITS)
    out->rlimits[out->n_rlimits++]
        = (struct limits_rlimit){ .type = type, .soft = soft, .hard = hard };
}

static uint64_t
min_u64 (uint64_t a, uint64_t b)
{
  return a < b ? a : b;
}

/* "4G", "512M", or bytes: how the policy is usually written. */
static void
format_size (uint64_t n, char *buf, size_t size)
{
  static const char units[] = "KMGT";
  int u = -1;
  while (u < 3 && n >= 1024 && n % 1024 == 0)
    {
      n /= 1024;
      u++;
    }
  if (u < 0)
    snprintf (buf, size, "%" PRIu64, n);
  else
    snprintf (buf, size, "%" PRIu64 "%c", n, units[u]);
}

void
limits_decide (const struct limits_facts *in, struct limits *out)
{
  memset (out, 0, sizeof *out);
  add (out, "RLIMIT_CORE", 0, 0);
  uint64_t hard = min_u64 (in->nofile_hard, in->nofile);
  add (out, "RLIMIT_NOFILE", min_u64 (in->nofile_soft, hard), hard);
  bool nproc = in->own_userns && in->pids > 0;
  if (nproc)
    add (out, "RLIMIT_NPROC", in->pids, in->pids);
  if (in->cgroups && in->runner_memcg && (nproc || in->pids == 0))
    {
      out->runner_cgroup = true;
      out->runner_memory = in->memory;
      return;
    }
  if (in->cgroups)
    {
      out->cgroup_memory = in->memory;
      out->cgroup_pids = in->pids;
      return;
    }
  if (in->memory > 0)
    add (out, "RLIMIT_DATA", in->memory, in->memory);
  char mem[32];
  format_size (in->memory, mem, sizeof mem);
  char pids[96];
  if (nproc)
    snprintf (pids, sizeof pids,
              "processes are limited to %" PRIu64
              " by RLIMIT_NPROC (this container's alone)",
              in->pids);
  else
    snprintf (pids, sizeof pids, "processes are not limited");
  snprintf (out->notice, sizeof out->notice,
            "no cgroup limits here (%s, cgroups %s): %s, memory only per "
            "process (RLIMIT_DATA %s each, not their sum); the timeout "
            "still applies",
            in->rootless ? "rootless" : "root",
            in->cgroups_name ? in->cgroups_name : "none", pids, mem);
}

void
limits_probe_nofile (struct limits_facts *in)
{
  struct rlimit r;
  if (getrlimit (RLIMIT_NOFILE, &r) < 0)
    r.rlim_cur = r.rlim_max = 1024;
  in->nofile_soft = r.rlim_cur == RLIM_INFINITY ? UINT64_MAX : r.rlim_cur;
  in->nofile_hard = r.rlim_max == RLIM_INFINITY ? UINT64_MAX : r.rlim_max;
}
