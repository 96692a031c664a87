/* limits.h: which resource limits a build script gets, and through what.
 *
 * Owns the decision, as a pure function of the facts (limits_decide), so
 * that unit tests can give it every host: the policy's memory, pids,
 * nofile and tmpfs sizes become cgroup limits where the runtime can write
 * cgroups, rlimits in config.json (process.rlimits) where they bound
 * enough, and a notice naming what cannot apply here.
 *
 *   RLIMIT_CORE    0, always: a crashing script leaves no core file
 *                  (core_pattern may name a host helper or path)
 *   RLIMIT_NOFILE  the runner's own soft and hard limits, capped at the
 *                  policy's nofile: never more than natively
 *   RLIMIT_NPROC   the policy's pids, when the container's processes run
 *                  in a user namespace of their own whose root is not the
 *                  host's root: the kernel counts them per user namespace
 *                  (ucounts, Linux 5.14), so the limit is the container's
 *                  alone, Cargo's processes not included.  The host's uid 0
 *                  is exempt from it, so as root without such a mapping the
 *                  pids cgroup bounds a fork bomb
 *   RLIMIT_DATA    the policy's memory, only where no memory cgroup
 *                  applies: it bounds each process, not their sum
 *
 * Where RLIMIT_NPROC bounds the pids and the runner can make the memory
 * cgroup itself (runner_memcg), the runtime is spared its cgroups: one
 * memory cgroup instead of one in every v1 hierarchy (bench/README.md).
 *
 * May call src/util/ only.
 */
#ifndef OHR_LIMITS_H
#define OHR_LIMITS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct limits_facts
{
  uint64_t memory; /* the policy's, bytes */
  uint64_t pids;
  uint64_t nofile;
  bool rootless;
  /* the runtime writes the spec's "resources" into cgroups */
  bool cgroups;
  const char *cgroups_name; /* for the notice: "v1", "hybrid", ... */
  /* the container's processes run in a user namespace of their own whose
   * root is not the host's uid 0 */
  bool own_userns;
  /* the runner can make a memory cgroup of its own for the run and the
   * runtime can do without cgroups (runtime/memcg.h: root, crun, v1) */
  bool runner_memcg;
  uint64_t nofile_soft, nofile_hard; /* the runner's own RLIMIT_NOFILE */
};

struct limits_rlimit
{
  const char *type; /* "RLIMIT_CORE", ... */
  uint64_t soft, hard;
};

#define LIMITS_MAX_RLIMITS 4

struct limits
{
  uint64_t cgroup_memory; /* 0: none in the spec */
  uint64_t cgroup_pids;
  /* the runtime makes no cgroup: the runner's memory cgroup (memcg.h) of
   * runner_memory bytes, none when 0, bounds memory, RLIMIT_NPROC pids */
  bool runner_cgroup;
  uint64_t runner_memory;
  struct limits_rlimit rlimits[LIMITS_MAX_RLIMITS];
  size_t n_rlimits;
  /* what is not bounded as the policy says (static text, or the notice
   * formatted into it); empty when everything applies */
  char notice[320];
};

/* Fill *out from the facts; cannot fail. */
void limits_decide (const struct limits_facts *in, struct limits *out);

/* The runner's own RLIMIT_NOFILE into the facts. */
void limits_probe_nofile (struct limits_facts *in);

#endif
