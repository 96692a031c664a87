/* memcg.h: a memory cgroup of the runner's own for one run, on cgroup v1.
 *
 * On a cgroup v1 or hybrid host crun makes and joins a cgroup in every v1
 * hierarchy for each container (nine here): the largest part of its start
 * after its own exec (bench/README.md, "Limits and speed").  As root, with
 * the container's root mapped to an unprivileged id range, the policy's
 * pids are bounded by RLIMIT_NPROC, counted for this container alone
 * (run/limits.h), so of all those cgroups only the memory one bounds
 * anything.  The runner then makes that one cgroup itself, a child of its
 * own memory cgroup named after the bundle id, writes the limit, and the
 * runtime's child joins it before it execs the runtime (runtime_io's
 * join_cgroup_fd), so that the runtime, the container and everything the
 * script starts are charged to it; the runtime is told to make no cgroups
 * (crun --cgroup-manager=disabled).  The runner itself stays where it
 * was: a memory hog can only take down what runs in the cgroup.
 *
 * After the run the cgroup is removed; a runner killed before that leaves
 * it empty, and the next run's sweep (cli/sweep.h) removes it by its
 * bundle id.  Whether the kernel's OOM killer acted inside it
 * (memory.oom_control's oom_kill count, Linux 4.13) tells the runner why
 * a script died by SIGKILL.
 *
 * May call src/util/ only.
 */
#ifndef OHR_MEMCG_H
#define OHR_MEMCG_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

struct memcg
{
  char *dir;    /* the run's cgroup directory; NULL: none made */
  int procs_fd; /* its cgroup.procs, open for writing; -1: none */
};

#define MEMCG_INIT                                                            \
  {                                                                           \
    .dir = NULL, .procs_fd = -1                                               \
  }

/* The directory of this process's cgroup in the v1 memory hierarchy
 * mounted at ROOT/memory, from /proc/self/cgroup's text; NULL when there
 * is none (cgroup v2 alone, or no memory controller on v1).  Pure, for the
 * unit tests. */
char *memcg_parent_dir (const char *proc_self_cgroup, const char *root);

/* memcg_parent_dir's directory under /sys/fs/cgroup, when it exists and
 * this process may make children in it; NULL otherwise (or for NULL). */
char *memcg_parent_usable (const char *proc_self_cgroup);

/* The same from this process's /proc/self/cgroup, read here. */
char *memcg_parent_here (void);

/* Make PARENT/NAME with memory.limit_in_bytes LIMIT (and the memory+swap
 * limit equal to it where swap accounting is on: no swapping past the
 * limit), and open its cgroup.procs.  On failure nothing is left behind. */
int memcg_create (struct memcg *m, const char *parent, const char *name,
                  uint64_t limit, ohr_error_t *err);

/* How many processes the OOM killer killed in the cgroup; 0 when unknown. */
uint64_t memcg_oom_kills (const struct memcg *m);

/* Close and remove the cgroup (no-op when none was made).  false when it
 * could not be removed (then the next sweep does). */
bool memcg_remove (struct memcg *m);

/* Remove PARENT/NAME if it is there and empty: the sweep's part for a run
 * whose runner died.  true when it was there and is gone. */
bool memcg_remove_stale (const char *parent, const char *name);

#endif
